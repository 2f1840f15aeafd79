"""ahasd.pareto, best, sensitivity and optimize."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import ahasd
from ahasd.errors import ConfigError

T, C, ALPHA = 0.02, 0.1, 0.8          # target step (s), draft/target cost ratio, acceptance


def costs(sync_s: float = 0.0) -> ahasd.TaskCosts:
    return ahasd.TaskCosts(draft_token_s=C * T, verify_s=(T, 0.0005), preverify_token_s=0.5 * T,
                           draft_token_j=0.3 * C * T, verify_j=(2.0 * T, 0.001),
                           preverify_token_j=0.4 * T, sync_s=sync_s,
                           idle_w={"npu": 0.5, "pim": 0.1})


# --------------------------------------------------------------------------- pareto / best
def frame() -> pd.DataFrame:
    # throughput (max), energy (min); rows 0, 1, 3 (and its duplicate 6) are the front
    return pd.DataFrame({
        "name": ["a", "b", "c", "d", "e", "f", "d2", "g", "err"],
        "throughput_tok_s": [10.0, 8.0, 7.0, 5.0, 4.0, 9.0, 5.0, 50.0, 100.0],
        "energy_per_token_j": [0.5, 0.4, 0.45, 0.2, 0.3, 0.5, 0.2, np.nan, 0.01],
        "error": [None] * 8 + ["failed"],
    })


def test_pareto_hand_made() -> None:
    df = frame()
    front = ahasd.pareto(df, maximize="throughput_tok_s", minimize=["energy_per_token_j"])
    # sorted by throughput (best first); f (9, 0.5) is dominated by a (10, 0.5);
    # c by b; e by d; equal rows d and d2 both stay; g (NaN energy) and the
    # error row are ignored
    assert list(front["name"]) == ["a", "b", "d", "d2"]
    assert list(front.index) == [0, 1, 3, 6]
    # one objective: the best rows only (ties kept)
    assert list(ahasd.pareto(df, minimize="energy_per_token_j")["name"]) == ["d", "d2"]
    # three objectives: a third column that favours e brings it back
    df["x"] = [0, 0, 0, 0, 1, 0, 0, 0, 0]
    front3 = ahasd.pareto(df, maximize=["throughput_tok_s", "x"], minimize="energy_per_token_j")
    assert set(front3["name"]) == {"a", "b", "d", "d2", "e"}


@pytest.mark.parametrize("cols", [["v"], ["v", "w"]])
def test_pareto_random_against_brute_force(cols: list[str]) -> None:
    # small integer values: many ties and duplicates
    rng = np.random.default_rng(3)
    df = pd.DataFrame(rng.integers(0, 6, size=(300, 3)).astype(float), columns=["u", "v", "w"])
    front = ahasd.pareto(df, maximize=["u"], minimize=cols)
    c = np.column_stack([-df.u] + [df[x] for x in cols])
    want = [i for i in range(len(c))
            if not any((c[j] <= c[i]).all() and (c[j] < c[i]).any() for j in range(len(c)))]
    assert sorted(front.index) == want
    first = front["u"].to_numpy()
    assert (np.diff(first) <= 0).all()                  # best first


def test_best_directions() -> None:
    df = frame()
    # the error row (100 tok/s) is ignored; g's NaN energy does not matter here
    assert ahasd.best(df, by="throughput_tok_s")["name"].item() == "g"
    assert list(ahasd.best(df, by="energy_per_token_j", n=2)["name"]) == ["d", "d2"]
    assert ahasd.best(df, by="energy_per_token_j", maximize=True)["name"].item() == "a"
    with pytest.raises(ConfigError, match="maximize"):
        ahasd.best(df.rename(columns={"throughput_tok_s": "npu_busy_frac"}), by="npu_busy_frac")
    with pytest.raises(ConfigError, match="not in the frame"):
        ahasd.best(df, by="throughput")


# --------------------------------------------------------------------------- sensitivity
def test_sensitivity_memory_bound_autoregressive() -> None:
    # Autoregressive decoding of LLaMA2-13B INT8 on the NPU streams ~13 GB of
    # weights per token over 51.2 GB/s: ~0.25 s of memory time against well
    # under 1 ms of fixed overheads and compute (16 TOPS), so time per token
    # is ~ bytes / bandwidth and throughput ~ bandwidth^1: elasticity ~ 1,
    # latency -1, and the NPU's peak compute does not matter (elasticity 0).
    s = ahasd.sensitivity(schedule="autoregressive",
                          params=["npu.mem_bw_bytes_per_s", "npu.matrix_ops_per_s"])
    assert s.loc["npu.mem_bw_bytes_per_s", "throughput_tok_s"] == pytest.approx(1.0, abs=0.01)
    assert s.loc["npu.mem_bw_bytes_per_s", "latency_per_token_s"] == pytest.approx(-1.0, abs=0.01)
    assert abs(s.loc["npu.matrix_ops_per_s", "throughput_tok_s"]) < 1e-3
    assert (s["measure"] == "elasticity").all()
    assert s.attrs["base"]["throughput_tok_s"] == ahasd.estimate(
        schedule="autoregressive").throughput_tok_s


def test_sensitivity_closed_form_with_explicit_costs() -> None:
    # Serial decoding, fixed k: throughput = E[A + 1] / (k d + V(k)) with
    # V(k) = V0 + k v.  Elasticity to V0: -V0 / (k d + V0 + k v); to alpha:
    # alpha d ln E[A+1] / d alpha with E[A+1] = (1 - a^(k+1)) / (1 - a).
    k = 4
    s = ahasd.sensitivity(schedule="serial", costs=costs(), k=k, alpha=ALPHA,
                          params=["costs.verify_base_s", "alpha", "k"], rel_step=1e-5)
    round_s = k * C * T + T + k * 0.0005
    assert s.loc["costs.verify_base_s", "throughput_tok_s"] == pytest.approx(-T / round_s,
                                                                            rel=1e-7)
    a = ALPHA
    tpr = (1 - a ** (k + 1)) / (1 - a)
    dtpr = (-(k + 1) * a ** k * (1 - a) + (1 - a ** (k + 1))) / (1 - a) ** 2
    assert s.loc["alpha", "throughput_tok_s"] == pytest.approx(a * dtpr / tpr, rel=1e-7)
    assert "integer: +/-1 steps" in s.loc["k", "note"]
    assert s.loc["k", "step"] == 1 and s.loc["k", "value"] == 4


def test_sensitivity_at_zero_and_one_sided() -> None:
    # sync_s = 0 in explicit costs: the derivative, not an elasticity
    # (d throughput / d sync_s = -E[A+1] / round^2 for the sync schedule),
    # and the step below 0 fails (negative time), so it is one-sided.
    k = 3
    s = ahasd.sensitivity(schedule="sync", costs=costs(0.0), k=k, alpha=ALPHA,
                          params=["sync_s"], rel_step=1e-6)
    row = s.loc["sync_s"]
    assert row["measure"] == "derivative" and "value is 0" in row["note"]
    assert "one-sided" in row["note"]
    tpr = (1 - ALPHA ** (k + 1)) / (1 - ALPHA)
    round_s = k * C * T + T + k * 0.0005
    assert row["throughput_tok_s"] == pytest.approx(-tpr / round_s ** 2, rel=1e-4)


def test_sensitivity_errors() -> None:
    with pytest.raises(ConfigError, match="did you mean"):
        ahasd.sensitivity(schedule="sync", params=["npu.mem_bw_bytes_per_sec"])
    with pytest.raises(ConfigError, match="alpha"):
        ahasd.sensitivity(schedule="sync", workload="alpaca", params=["alpha"])
    with pytest.raises(ConfigError, match="rel_step"):
        ahasd.sensitivity(schedule="sync", params=["k"], rel_step=0)


# --------------------------------------------------------------------------- optimize
def serial_config(k: int = 2) -> ahasd.Config:
    return ahasd.Config.build(schedule="serial", costs=costs(), k=k, alpha=ALPHA)


def test_optimize_best_k_equals_brute_force() -> None:
    cfg = serial_config()
    df = ahasd.sweep(cfg, k=range(1, 17), progress=False)
    bk = int(df.loc[df["throughput_tok_s"].idxmax(), "k"])
    assert 1 < bk < 16                                # an interior optimum
    r = ahasd.optimize(cfg, over={"k": (1, 16)}, objective="throughput_tok_s")
    assert r.optimum == {"k": bk} and isinstance(r.optimum["k"], int)
    assert r.value == df["throughput_tok_s"].max()
    assert r.start_value == ahasd.estimate(config=cfg).throughput_tok_s
    assert r.improvement == pytest.approx(r.value / r.start_value) and r.improvement > 1
    assert r.maximize and r.feasible and r.converged and r.n_evals == 17
    assert ahasd.estimate(config=r.config).throughput_tok_s == r.value

    # minimise energy per token under a latency cap, against brute force
    cap = float(df["latency_per_token_s"].quantile(0.3))
    ok = df[df["latency_per_token_s"] <= cap]
    want = ok.loc[ok["energy_per_token_j"].idxmin()]
    r2 = ahasd.optimize(cfg, over={"k": (1, 16)}, objective="energy_per_token_j",
                        constraints={"latency_per_token_s": (None, cap)})
    assert not r2.maximize
    assert r2.optimum["k"] == want["k"] and r2.value == want["energy_per_token_j"]
    assert r2.improvement == pytest.approx(r2.start_value / r2.value)


def test_optimize_real_and_categorical() -> None:
    # alpha is monotone: the best throughput is at its upper bound, for the
    # best k at that alpha; categorical schedules enumerated around the C call.
    cfg = serial_config()
    r = ahasd.optimize(cfg, over={"schedule": ["serial", "sync"], "k": (1, 12),
                                  "alpha": (0.5, 0.9)}, max_evals=4000)
    df = ahasd.sweep(cfg, schedule=["serial", "sync"], k=range(1, 13), alpha=[0.9],
                     progress=False)
    want = df.loc[df["throughput_tok_s"].idxmax()]
    assert r.optimum["schedule"] == want["schedule"] and r.optimum["k"] == want["k"]
    assert r.optimum["alpha"] == 0.9
    assert r.value == want["throughput_tok_s"]
    # an explicit direction: the slowest k
    r_min = ahasd.optimize(cfg, over={"k": (1, 12)}, objective=("throughput_tok_s", "min"))
    slow = ahasd.sweep(cfg, k=range(1, 13), progress=False)
    assert not r_min.maximize
    assert r_min.value == slow["throughput_tok_s"].min()
    assert r_min.optimum["k"] == slow.loc[slow["throughput_tok_s"].idxmin(), "k"]


def test_optimize_infeasible_and_errors() -> None:
    cfg = serial_config()
    r = ahasd.optimize(cfg, over={"k": (1, 8)}, constraints={"throughput_tok_s": (1e9, None)})
    assert not r.feasible and math.isnan(r.value) and r.config is None
    assert "no feasible point" in str(r)
    with pytest.raises(ConfigError, match="integer"):
        ahasd.optimize(cfg, over={"k": (1.5, 8)})
    with pytest.raises(ConfigError, match="did you mean"):
        ahasd.optimize(cfg, over={"kk": (1, 8)})
    with pytest.raises(ConfigError, match="direction"):
        ahasd.optimize(cfg, over={"k": (1, 8)}, objective="npu_busy_frac")
    with pytest.raises(ConfigError, match="lo must be <= hi"):
        ahasd.optimize(cfg, over={"k": (1, 8)}, constraints={"edp_js": (1.0, 0.5)})
    with pytest.raises(ConfigError, match="policy"):
        ahasd.optimize(cfg, over={"policy": ["svipp"], "k": (1, 4)})
    with pytest.raises(ConfigError, match="same field"):
        ahasd.optimize(config=ahasd.Config.build(schedule="sync"),
                       over={"pim.internal_bw": (1e11, 2e11),
                             "pim.mem_bw_bytes_per_s": (1e11, 2e11)})
