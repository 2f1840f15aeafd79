"""Analytical estimates against the simulator: a fast subset of the validation
battery (benchmarks/validate.py, whose full table is benchmarks/VALIDATION.md)
and the sanity properties every schedule must have.

Tolerances.  The battery's targets are 3% median and 8% worst relative error
with simulations whose 95% intervals are under 0.5%.  Here simulations are
shorter, so each comparison allows the model tolerance plus the simulation's
own 95% half-width:  |analytical - simulated| <= tol x |simulated| + ci95,
with tol = 8% (the battery's worst-case target) for the Markov chains and 2%
for the closed forms (exact in steady state: what remains is the finite
1024-token horizon and the context segments).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

import ahasd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import validate as V  # noqa: E402

RUNS = 300
SEED = 7
CLOSED_TOL, CHAIN_TOL = 0.02, 0.08

# A handful of battery cases: one per closed-form schedule, and the async family
# with fixed and adaptive drafting, on the modelled platform and explicit costs.
FAST = ("C02", "C08", "C13", "A03", "E02", "H03", "H05", "X09", "X12")
_BATTERY = {c.id: c for c in V.battery()}


def _check(est: ahasd.Result, sim: ahasd.Result, tol: float) -> list[str]:
    bad = []
    for m in V.TARGETS:
        a, s, h = est[m], sim[m], sim.ci95[m]
        if a == 0.0 and s == 0.0:
            continue
        if abs(a - s) > tol * abs(s) + h:
            bad.append(f"{m}: analytical {a:.6g}, simulated {s:.6g} ± {h:.2g} "
                       f"({100 * (a - s) / s:+.2f}%, allowed {100 * tol:g}% + CI)")
    return bad


def test_battery_is_as_documented() -> None:
    """At least 50 cases; every schedule, policy and workload; L_max 1..4; both
    hardware presets; the three explicit-cost regimes; contention off and on."""
    cases = V.battery()
    assert len(cases) >= 50
    assert len({c.id for c in cases}) == len(cases)
    kws = [c.kw for c in cases]
    assert {k["schedule"] for k in kws} == set(ahasd.config.SCHEDULES)
    assert {k.get("policy", "fixed") for k in kws} >= {"fixed", "svip", "adaedl", "specdecpp",
                                                        "banditspec"}
    assert {k.get("workload") for k in kws} >= {"alpaca", "code", "summarization",
                                                 "translation"}
    assert {k.get("l_max") for k in kws} >= {1, 2, 3, 4}
    assert {k.get("hardware", "ahasd-npu-pim") for k in kws if not any(
        c.regime for c in cases if c.kw is k)} >= {"ahasd-npu-pim", "npu-lpddr5"}
    assert {c.regime for c in cases} >= {"npu-bound", "pim-bound", "balanced"}
    assert {k.get("contention") for k in kws} >= {0.0, 0.3, None}


@pytest.mark.parametrize("case_id", FAST)
def test_fast_subset_matches_simulator(case_id: str) -> None:
    case = _BATTERY[case_id]
    kw = V._kw(case)
    est = ahasd.estimate(**kw)
    skw = dict(kw, tvc_predictor="exact") if kw["schedule"] == "ahasd" else kw
    sim = ahasd.simulate(n_runs=RUNS, seed=SEED, **skw)
    tol = CHAIN_TOL if est.method == "markov-chain" else CLOSED_TOL
    bad = _check(est, sim, tol)
    assert not bad, f"{case_id} ({case.label}): " + "; ".join(bad)


def test_banditspec_steady_state_is_its_best_arm() -> None:
    """The BanditSpec estimate equals the fixed policy at its steady arm, and the
    simulator running that arm agrees with it (the bandit's transient is reported
    by the battery, not asserted)."""
    kw = dict(schedule="sync", policy="banditspec", workload="translation")
    est = ahasd.estimate(**kw)
    arm = est.bandit_arm
    assert arm in ahasd.Policy.of("banditspec").arms
    fixed = ahasd.estimate(schedule="sync", policy="fixed", k=arm, workload="translation")
    assert est.throughput_tok_s == pytest.approx(fixed.throughput_tok_s, rel=1e-9)
    sim = ahasd.simulate(schedule="sync", policy="fixed", k=arm, workload="translation",
                         n_runs=RUNS, seed=SEED)
    assert not _check(est, sim, CLOSED_TOL)


# ------------------------------------------------------------------ sanity properties
COSTS = {name: ahasd.TaskCosts(**V.REGIMES[name], **V.REGIME_COMMON) for name in V.REGIMES}
SANITY_POINTS = [
    dict(hardware="ahasd-npu-pim", policy="fixed", k=4, workload="alpaca"),
    dict(hardware="ahasd-npu-pim", policy="svip", workload="code"),
    dict(costs=COSTS["balanced"], policy="adaedl", workload="summarization"),
    dict(costs=COSTS["npu-bound"], policy="fixed", k=5, alpha=0.8),
    dict(costs=COSTS["pim-bound"], policy="specdecpp", workload="translation"),
]


@pytest.mark.parametrize("point", range(len(SANITY_POINTS)))
def test_async_with_lmax_1_equals_sync(point: int) -> None:
    kw = SANITY_POINTS[point]
    a = ahasd.estimate(schedule="async", l_max=1, **kw)
    s = ahasd.estimate(schedule="sync", **kw)
    for m in V.TARGETS + ("waste_frac", "tokens_per_round"):
        assert a[m] == pytest.approx(s[m], rel=1e-9, abs=1e-12), m
    sa = ahasd.simulate(schedule="async", l_max=1, n_runs=RUNS, seed=SEED, **kw)
    ss = ahasd.simulate(schedule="sync", n_runs=RUNS, seed=SEED + 1, **kw)
    for m in V.TARGETS:
        h = 1.5 * (sa.ci95[m] ** 2 + ss.ci95[m] ** 2) ** 0.5
        assert abs(sa[m] - ss[m]) <= h + 1e-12, (m, sa[m], ss[m], h)


def _npu_bound(kw: dict, ctx_kw: dict) -> float:
    """Verification-bound rate: committed tokens per verification (at most E[A + 1])
    over the time of a verification and its handoff, at the cheapest (prompt) context."""
    cfg = ahasd.Config.build(schedule="sync", **kw, **ctx_kw)
    d = ahasd.draft_distribution(policy=cfg.policy, workload=cfg.workload)
    if cfg.costs is not None:
        c = cfg.costs
        t = sum(p * (c.verify_s[0] + c.verify_s[1] * k) for k, p in enumerate(d.p_k)) + c.sync_s
    else:
        tab = ahasd.task_costs(config=cfg, context=cfg.prompt_len)
        t = sum(p * tab.verify_s(k) for k, p in enumerate(d.p_k) if p > 0) + tab.sync_s
    return d.tokens_per_round / t


@pytest.mark.parametrize("l_max", (2, 3, 4))
@pytest.mark.parametrize("point", (0, 3, 4))
def test_async_never_exceeds_verification_bound(point: int, l_max: int) -> None:
    kw = SANITY_POINTS[point]
    bound = _npu_bound(kw, {})
    est = ahasd.estimate(schedule="async", l_max=l_max, **kw)
    assert est.throughput_tok_s <= bound * (1 + 1e-9)
    sim = ahasd.simulate(schedule="async", l_max=l_max, n_runs=RUNS, seed=SEED, **kw)
    assert sim.throughput_tok_s <= bound + sim.ci95["throughput_tok_s"]
    for r in (est, sim):
        assert 0.0 <= r.npu_busy_frac <= 1.0 + 1e-12 and 0.0 <= r.pim_busy_frac <= 1.0 + 1e-12


@pytest.mark.parametrize("l_max", (2, 3, 4))
@pytest.mark.parametrize("point", (0, 1, 2))
def test_edc_reduces_waste(point: int, l_max: int) -> None:
    kw = SANITY_POINTS[point]
    a = ahasd.estimate(schedule="async", l_max=l_max, **kw)
    e = ahasd.estimate(schedule="async-edc", l_max=l_max, **kw)
    assert e.waste_frac < a.waste_frac
    sa = ahasd.simulate(schedule="async", l_max=l_max, n_runs=RUNS, seed=SEED, **kw)
    se = ahasd.simulate(schedule="async-edc", l_max=l_max, n_runs=RUNS, seed=SEED, **kw)
    assert se.waste_frac + se.ci95["waste_frac"] < sa.waste_frac - sa.ci95["waste_frac"]


def _no_preverification(kw: dict) -> dict:
    """The same point with pre-verification impossible: a DLM <-> TLM switch that never
    fits TVC's window, so m < 1 at every EDC stop (ahasd then behaves exactly as
    it does whenever pre-verification does not fit: the PIM keeps drafting)."""
    return {"switch_s": 1e6} if "costs" in kw else {"pim.switch_s": 1e6}


@pytest.mark.parametrize("l_max", (2, 3, 4))
@pytest.mark.parametrize("point", range(len(SANITY_POINTS)))
def test_preverification_never_idles_the_npu_more(point: int, l_max: int) -> None:
    """Simulator, exact-prediction TVC: ahasd with pre-verification never leaves the NPU
    idle longer over a generation than the same ahasd with pre-verification disabled.

    "Without it" is ahasd with pre-verification disabled, not async-edc: ahasd also
    differs from async-edc when TVC's window is too short (the PIM keeps drafting
    after an EDC stop, MODEL.md), which is not pre-verification."""
    kw = SANITY_POINTS[point]
    h = ahasd.simulate(schedule="ahasd", l_max=l_max, tvc_predictor="exact", n_runs=RUNS,
                       seed=SEED, **kw)
    off = ahasd.simulate(schedule="ahasd", l_max=l_max, tvc_predictor="exact", n_runs=RUNS,
                         seed=SEED, **kw, **_no_preverification(kw))
    assert off.preverify_frac == 0.0
    slack = (h.ci95["npu_idle_s"] ** 2 + off.ci95["npu_idle_s"] ** 2) ** 0.5
    assert h.npu_idle_s <= off.npu_idle_s + slack, (h.npu_idle_s, off.npu_idle_s, slack)


def test_analytical_ahasd_states_exact_predictions() -> None:
    r = ahasd.estimate(schedule="ahasd", policy="svip")
    assert r.flags & ahasd._native.lib.AHASD_FLAG_EXACT_PREDICTIONS
    assert any("exact" in a for a in r.approximations)


def test_report_summary_logic() -> None:
    """The battery's summary: median and worst over applicable cases, pass/fail at 3%/8%."""
    rows = [{"id": f"Z{i}", **{f"{m}.rel_err": e for m in V.METRICS}}
            for i, e in enumerate((0.01, -0.02, 0.05, float("nan")))]
    s = V.summarize(rows)
    assert s["throughput_tok_s"]["n"] == 3
    assert s["throughput_tok_s"]["median"] == pytest.approx(0.02)
    assert s["throughput_tok_s"]["worst"] == pytest.approx(0.05)
    assert s["throughput_tok_s"]["pass"]
    rows[0]["throughput_tok_s.rel_err"] = 0.09
    assert not V.summarize(rows)["throughput_tok_s"]["pass"]
    assert V.rel_err(0.0, 0.0) != V.rel_err(0.0, 0.0)      # NaN: not applicable


def test_battery_runner_writes_its_report(tmp_path: Path) -> None:
    """One cheap case and one BanditSpec case through the battery's runner and report."""
    rows = [V.run_case(_BATTERY[i], ci=0.05, n0=50, max_runs=400, seed=1)
            for i in ("C07", "C11", "H01")]
    md, csv_path = tmp_path / "V.md", tmp_path / "v.csv"
    V.write_report(rows, md, csv_path, quick=True, ci=0.05, max_runs=400, wall_s=1.0, jobs=1)
    text = md.read_text()
    for i in ("C07", "C11", "H01"):
        assert f"| {i} |" in text
    assert "## BanditSpec" in text and "## ahasd: the paper's moving-average" in text
    assert rows[1]["bandit.arm"] == ahasd.estimate(**V._kw(_BATTERY["C11"])).bandit_arm
    assert csv_path.read_text().count("\n") == 4
