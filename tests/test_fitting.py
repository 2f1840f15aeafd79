"""ahasd.fitting: fitting the profile family, trace loading and estimation,
and the consistency of the shipped workload profiles with the C core."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ahasd.errors import ConfigError
from ahasd.fitting import (DEFAULTS, fit_profile, load_trace, profile_arrays,
                           profile_from_trace, profile_statistic)
from ahasd.workload import Workload

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ROOT / "data" / "workloads"
TRACE = ROOT / "data" / "traces" / "code-synthetic.csv"
NAMES = ("alpaca", "code", "summarization", "translation")


def _workload(params: dict, **fam) -> Workload:
    q, acc, dec = profile_arrays(params, **fam)
    return Workload(buckets=len(acc), h_max=fam.get("h_max", 4.0), q=q.tolist(),
                    accept=acc.tolist(), position_decay=dec)


# --------------------------------------------------------------- statistics
@pytest.mark.parametrize("alpha,k", [(0.8, 4), (0.6, 1), (0.9, 9), (0.0, 3), (1.0, 5)])
def test_leviathan_tokens_per_round(alpha: float, k: int) -> None:
    w = Workload.iid(alpha)
    want = k + 1.0 if alpha == 1.0 else (1 - alpha ** (k + 1)) / (1 - alpha)
    got = profile_statistic(w, {"statistic": "tokens_per_round", "policy": "fixed", "k": k})
    assert got == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert profile_statistic(w, {"statistic": "alpha"}) == pytest.approx(alpha, abs=1e-15)


def test_alpha_is_stationary_mean_acceptance() -> None:
    w = _workload({"a0": 1.05, "lam": 0.8})
    assert profile_statistic(w, {"statistic": "alpha"}) == pytest.approx(
        float(w.stationary @ w.accept_array), rel=1e-12)


def test_unbounded_tokens_per_round_is_one_over_one_minus_alpha() -> None:
    # Renewal identity of the model: with an unbounded draft length every
    # round ends at a rejection, so E[A + 1] = 1/(1 - alpha) whatever the
    # correlation; k = 32 is close to unbounded at alpha ~ 0.6.
    for lam in (0.0, 0.5, 0.9):
        w = _workload({"a0": 0.95, "lam": lam})
        a = profile_statistic(w, {"statistic": "alpha"})
        t = profile_statistic(w, {"statistic": "tokens_per_round", "policy": "fixed",
                                  "k": 32})
        assert t == pytest.approx(1 / (1 - a), rel=1e-3)


def test_correlation_lowers_tokens_per_round_at_finite_k() -> None:
    t = [profile_statistic(_workload({"a0": 1.1, "lam": lam, "g": 0.4}),
                           {"statistic": "tokens_per_round", "policy": "fixed", "k": 4})
         for lam in (0.0, 0.9)]
    assert t[1] < t[0]


def test_adaptive_gain_is_nonnegative_with_best_tau() -> None:
    w = _workload({"a0": 1.2, "g": 0.3, "lam": 0.8})
    gain = profile_statistic(w, {"statistic": "adaptive_gain", "policy": "specdecpp",
                                 "k_min": 1, "k_max": 16, "cost_ratio": 0.1})
    assert gain > -0.05    # a threshold policy is close to or above the best fixed k
    with pytest.raises(ConfigError, match="cost_ratio"):
        profile_statistic(w, {"statistic": "adaptive_gain", "policy": "specdecpp"})


# --------------------------------------------------------------- the family
def test_profile_arrays_is_a_valid_profile() -> None:
    for regimes in (1, 2):
        q, acc, dec = profile_arrays({"lam": 0.7, "pi_low": 0.4}, buckets=6, regimes=regimes)
        assert q.shape == (6, 6)
        assert np.allclose(q.sum(axis=1), 1.0, atol=1e-14)
        assert np.all(q >= 0) and np.all((acc >= 0) & (acc <= 1))
    # the regime share is the stationary mass of the low block
    w = _workload({"pi_low": 0.3, "lam": 0.5})
    assert w.stationary[:4].sum() == pytest.approx(0.3, abs=1e-12)
    with pytest.raises(ConfigError, match="unknown profile parameter 'alpha'"):
        profile_arrays({"alpha": 0.8})
    with pytest.raises(ConfigError, match="regimes"):
        profile_arrays({}, regimes=3)
    with pytest.raises(ConfigError, match="split"):
        profile_arrays({}, buckets=8, split=8)
    with pytest.raises(ConfigError, match="h_max"):
        profile_arrays({}, h_max=float("nan"))


def test_fit_recovers_known_parameters() -> None:
    truth = {"a0": 1.1, "lam": 0.75}
    w = _workload(truth)
    targets = [
        {"statistic": "alpha", "source": "synthetic",
         "value": profile_statistic(w, {"statistic": "alpha"})},
        {"statistic": "tokens_per_round", "policy": "fixed", "k": 6, "source": "synthetic",
         "value": profile_statistic(w, {"statistic": "tokens_per_round", "policy": "fixed",
                                        "k": 6})},
    ]
    fit = fit_profile(targets, free=("a0", "lam"), diff_step=1e-4)
    assert max(abs(r) for r in fit.fit["residuals"]) < 1e-6
    assert fit.accept_array == pytest.approx(w.accept_array, abs=1e-4)
    assert fit.q_array == pytest.approx(w.q_array, abs=1e-3)
    assert fit.fit["targets"][0]["source"] == "synthetic"
    assert fit.sources["q"].startswith("source:")
    assert fit.sources["init"].startswith("assumption:")


def test_fit_errors_name_the_problem() -> None:
    good = {"statistic": "alpha", "value": 0.7, "source": "x"}
    with pytest.raises(ConfigError, match="at least one target"):
        fit_profile([])
    with pytest.raises(ConfigError, match="statistic"):
        fit_profile([dict(good, statistic="speedup")])
    with pytest.raises(ConfigError, match="value"):
        fit_profile([dict(good, value=float("nan"))])
    with pytest.raises(ConfigError, match="source"):
        fit_profile([dict(good, source="")])
    with pytest.raises(ConfigError, match="unknown key 'alpah'"):
        fit_profile([dict(good, alpah=1)])
    with pytest.raises(ConfigError, match="free parameter 'alpha'"):
        fit_profile([good], free=("alpha",))
    with pytest.raises(ConfigError, match="bounds"):
        fit_profile([good], bounds={"lam": (0.9, 0.1)})
    with pytest.raises(ConfigError, match="policy"):
        fit_profile([dict(good, statistic="tokens_per_round", policy="medusa")])
    with pytest.raises(ConfigError, match="buckets"):
        fit_profile([good], buckets=17)


# --------------------------------------------------------------- traces
def test_load_trace_reads_the_shipped_trace() -> None:
    df = load_trace(TRACE)
    assert list(df.columns) == ["batch", "position", "entropy", "accepted"]
    assert len(df) == 1500
    assert df["entropy"].dtype == np.float64 and df["accepted"].dtype == np.int64
    assert set(df["accepted"].unique()) <= {0, 1}
    assert (TRACE.with_suffix(".md")).exists()


@pytest.mark.parametrize("text,match", [
    ("entropy\n0.5\n0.7\n", "'accepted' is missing"),
    ("entropy,accepted,logit\n0.5,1,2\n0.1,0,3\n", "unknown trace column 'logit'"),
    ("entropy,accepted\n0.5,1\nnan,0\n", "column 'entropy' row 1"),
    ("entropy,accepted\n0.5,1\n-2.385,0\n", "entropies are >= 0"),
    ("entropy,accepted\n0.5,1\n0.2,2\n", "must be 0 or 1"),
    ("entropy,accepted,position\n0.5,1,1\n0.2,0,0\n", "must be >= 1"),
    ("entropy,accepted,batch\n0.5,1,0\n0.2,0,0.5\n", "must be an integer"),
    ("entropy,accepted\n0.5,1\n", "at least 2 tokens"),
])
def test_load_trace_errors(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_trace(p)


def _draw_trace(w: Workload, batches: int, k: int, seed: int):
    import pandas as pd

    rng = np.random.default_rng(seed)
    q, acc, B = w.q_array, w.accept_array, w.buckets
    rows = []
    b = int(rng.choice(B, p=w.stationary))
    for n in range(batches):
        alive, exit_b = True, None
        for i in range(1, k + 1):
            if i > 1:
                b = int(rng.choice(B, p=q[b]))
            ok = alive and rng.random() < acc[b]
            if alive and not ok:
                alive, exit_b = False, b
            rows.append((n, i, (b + rng.random()) * w.h_max / B, int(ok)))
        b = int(rng.choice(B, p=q[b if exit_b is None else exit_b]))
    return pd.DataFrame(rows, columns=["batch", "position", "entropy", "accepted"])


def test_profile_from_trace_recovers_the_generating_profile() -> None:
    truth = _workload({"a0": 1.1, "lam": 0.8, "s_high": 0.0})
    df = _draw_trace(truth, batches=8000, k=5, seed=7)
    w = profile_from_trace(df, buckets=8, h_max=4.0, smoothing=0.5)
    assert w.buckets == 8 and w.h_max == 4.0
    # acceptance per bucket over decided tokens, q rows by transition counts
    n = np.bincount(np.minimum(7, (df["entropy"] * 2).astype(int)), minlength=8)
    for b in range(8):
        if n[b] > 2000:
            assert w.accept_array[b] == pytest.approx(truth.accept_array[b], abs=0.04)
    assert np.abs(w.stationary - truth.stationary).max() < 0.02
    assert w.q_array[0] == pytest.approx(truth.q_array[0], abs=0.03)
    # without batch information every consecutive pair is a transition
    w2 = profile_from_trace(df[["entropy", "accepted"]], buckets=8, h_max=4.0)
    assert np.allclose(w2.q_array.sum(axis=1), 1.0)


def test_profile_from_trace_file_and_defaults() -> None:
    w = profile_from_trace(TRACE)
    df = load_trace(TRACE)
    assert w.h_max == pytest.approx(float(df["entropy"].max()))
    assert np.all(w.init_array == 0.0)
    assert w.position_decay == 1.0 and w.pred_scale == 1.0
    assert "code-synthetic.csv" in w.sources["q"]
    with pytest.raises(ConfigError, match="smoothing"):
        profile_from_trace(TRACE, smoothing=0.0)
    with pytest.raises(ConfigError, match="buckets"):
        profile_from_trace(TRACE, buckets=0)


# --------------------------------------------------------------- shipped profiles
@pytest.mark.parametrize("name", NAMES)
def test_shipped_profile_residuals_match_the_c_core(name: str) -> None:
    w = Workload.from_toml(WORKLOADS / f"{name}.toml")
    assert w.name == name and w.buckets == 8
    targets, residuals = w.fit["targets"], w.fit["residuals"]
    assert targets and len(residuals) == len(targets)
    for t, r in zip(targets, residuals):
        assert t["source"].strip()
        model = profile_statistic(w, {k: v for k, v in t.items()
                                      if k not in ("value", "weight", "note")})
        assert model - t["value"] == pytest.approx(r, abs=1e-9)
        assert abs(r) <= 0.06 * abs(t["value"])     # the fits stay within 6%


def test_shipped_profiles_differ_as_the_tasks_do() -> None:
    ws = {n: Workload.from_toml(WORKLOADS / f"{n}.toml") for n in NAMES}
    alpha = {n: profile_statistic(w, {"statistic": "alpha"}) for n, w in ws.items()}
    assert alpha["summarization"] < alpha["translation"]      # Leviathan et al. Table 3
    assert alpha["code"] > alpha["alpaca"] - 1e-9
    assert all(math.isfinite(a) and 0 < a < 1 for a in alpha.values())
    assert set(DEFAULTS) >= {"a0", "g", "lam", "pi_low"}
