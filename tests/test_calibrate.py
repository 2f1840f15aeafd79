"""ahasd.calibrate: recovering known parameters, standard errors, held-out
prediction, observations as dicts or DataFrames, and the errors."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import ahasd
from ahasd.calibrate import CalibrationResult, calibrate, default_bounds
from ahasd.errors import ConfigError

PARAMS = ["npu.mem_bw_util", "pim.mem_bw_util"]
TRUTH = {"npu.mem_bw_util": 0.63, "pim.mem_bw_util": 0.77}
POINTS = [{"schedule": "autoregressive", "output": "throughput_tok_s"},
          {"schedule": "autoregressive", "output": "energy_per_token_j"},
          {"schedule": "sync", "k": 2, "output": "throughput_tok_s"},
          {"schedule": "sync", "k": 4, "output": "throughput_tok_s"},
          {"schedule": "sync", "k": 4, "output": "energy_per_token_j"},
          {"schedule": "sync", "k": 6, "output": "throughput_tok_s"},
          {"schedule": "sync", "k": 6, "output": "energy_per_token_j"}]


@pytest.fixture(scope="module")
def base() -> ahasd.Config:
    return ahasd.Config.build(hardware="ahasd-npu-pim", workload="alpaca", gen_len=256,
                              schedule="sync")


def observe(cfg, points, noise=None):
    truth = cfg.replace(**TRUTH)
    out = []
    for i, p in enumerate(points):
        kw = {k: v for k, v in p.items() if k != "output"}
        v = getattr(ahasd.estimate(config=truth.replace(**kw)), p["output"])
        out.append({**p, "value": v * (1.0 + (noise[i] if noise is not None else 0.0))})
    return out


def test_recovers_exact_parameters(base):
    fit = calibrate(base, observe(base, POINTS[:5]), params=PARAMS)
    assert isinstance(fit, CalibrationResult)
    for p in PARAMS:
        assert fit.values[p] == pytest.approx(TRUTH[p], rel=1e-6)
        assert 0 <= fit.stderr[p] < 1e-5
        assert fit.x0[p] == pytest.approx(0.9)
    assert fit.chi2 < 1e-14 and fit.dof == 3 and fit.converged
    assert list(fit.residuals.columns) == ["output", "fitted", "observed", "rel_residual"]
    assert fit.residuals["rel_residual"].abs().max() < 1e-6
    assert fit.fitted_config().get("npu.mem_bw_util") == pytest.approx(0.63, rel=1e-6)
    assert "npu.mem_bw_util" in str(fit)
    assert list(fit.to_frame()["param"]) == PARAMS


def test_noisy_fit_and_held_out_prediction(base):
    rng = np.random.default_rng(2385)
    noise = rng.normal(0.0, 0.01, len(POINTS))
    obs = observe(base, POINTS, noise)
    fit = calibrate(base, obs[:5], params=PARAMS)
    for p in PARAMS:
        assert 0 < fit.stderr[p] < 0.2
        assert abs(fit.values[p] - TRUTH[p]) < 4 * fit.stderr[p]
    assert fit.rms_rel_residual == pytest.approx(math.sqrt(fit.chi2 / 5))
    held = fit.predict(obs[5:])
    assert list(held.columns) == ["output", "predicted", "observed", "rel_error"]
    assert held["rel_error"].abs().max() < 0.05
    # predict without observed values, with labels
    pr = fit.predict([{"schedule": "sync", "k": 3, "label": "k3"}])
    assert list(pr.columns) == ["label", "output", "predicted"] and pr["predicted"][0] > 0


def test_dataframe_observations_with_missing_cells(base):
    obs = pd.DataFrame(observe(base, POINTS[:5]))       # k is NaN for autoregressive rows
    assert obs["k"].isna().any()
    fit = calibrate(base, obs, params=["npu.mem_bw_util"], bounds={"npu.mem_bw_util": (0.1, 1)})
    assert fit.bounds["npu.mem_bw_util"] == (0.1, 1.0)
    assert fit.values["npu.mem_bw_util"] == pytest.approx(0.63, rel=2e-2)


def test_bounds_and_starting_values(base):
    obs = observe(base, POINTS[:5])
    fit = calibrate(base, obs, params=PARAMS, bounds={"npu.mem_bw_util": (0.8, 1.0)},
                    x0={"pim.mem_bw_util": 0.5})
    assert 0.8 < fit.values["npu.mem_bw_util"] < 0.801
    assert fit.x0["pim.mem_bw_util"] == 0.5
    assert default_bounds("npu.mem_bw_util", 0.9) == (0.0, 1.0)
    assert default_bounds("pim.switch_s", 5e-7) == (0.0, math.inf)
    assert default_bounds("x", -1.0) == (-math.inf, 0.0)
    assert default_bounds("x", 0.0) == (-math.inf, math.inf)
    # a start on the bound is nudged inside (compute_util = 1 on the PIM)
    f2 = calibrate(base, obs[2:4], params=["pim.compute_util"])
    assert 0 < f2.values["pim.compute_util"] < 1


@pytest.mark.parametrize("kw, match", [
    ({"params": ["nope.mem_bw_util"]}, "unknown parameter 'nope.mem_bw_util'"),
    ({"params": ["k"]}, "integer"),
    ({"params": []}, "params is empty"),
    ({"params": PARAMS * 2}, "repeats"),
    ({"params": PARAMS, "bounds": {"npu.mem_bw_util": (1.0, 0.5)}}, "lo < hi"),
    ({"params": PARAMS, "bounds": {"gpu.static_w": (0, 1)}}, "not among params"),
])
def test_errors(base, kw, match):
    obs = observe(base, POINTS[:5])
    with pytest.raises(ConfigError, match=match):
        calibrate(base, obs, **kw)


def test_observation_errors(base):
    obs = observe(base, POINTS[:3])
    with pytest.raises(ConfigError, match="observation 1: value"):
        calibrate(base, [obs[0], {**obs[1], "value": 0.0}, obs[2]], params=PARAMS)
    with pytest.raises(ConfigError, match="observation 0: no 'value'"):
        calibrate(base, [{"output": "throughput_tok_s"}] + obs, params=PARAMS)
    with pytest.raises(ConfigError, match="not a canonical output"):
        calibrate(base, [{**obs[0], "output": "speed"}] + obs, params=PARAMS)
    with pytest.raises(ConfigError, match="observation 0: Config has no parameter 'warp'"):
        calibrate(base, [{**obs[0], "warp": 9}] + obs, params=PARAMS)
    with pytest.raises(ConfigError, match="n_obs"):     # the C core: fewer points than params
        calibrate(base, obs[:1], params=PARAMS)
    with pytest.raises(ConfigError, match="single dict"):
        calibrate(base, obs[0], params=PARAMS)
