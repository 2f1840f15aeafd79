"""ahasd.sweep: grids and point lists evaluated by the C core in chunks."""
from __future__ import annotations

import importlib
import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import ahasd
from ahasd.errors import ConfigError

sweep_mod = importlib.import_module("ahasd.sweep")   # ahasd.sweep is the function
OUTPUTS = list(sweep_mod.OUTPUTS)


def _row_equals(row: pd.Series, res: ahasd.Result) -> None:
    for name in OUTPUTS:
        got, want = row[name], res[name]
        assert (math.isnan(got) and math.isnan(want)) or got == want, (name, got, want)


@pytest.fixture(scope="module")
def base() -> ahasd.Config:
    return ahasd.Config.build(schedule="sync", k=4, alpha=0.8, gen_len=256)


def test_grid_shape_order_and_columns(base: ahasd.Config) -> None:
    df = ahasd.sweep(base, schedule=["sync", "serial"], k=[2, 3, 5], alpha="0.6:0.9:4",
                     progress=False)
    assert len(df) == 2 * 3 * 4
    assert list(df.columns) == ["schedule", "k", "alpha", *OUTPUTS, "method", "error"]
    want = list(itertools.product(["sync", "serial"], [2, 3, 5], np.linspace(0.6, 0.9, 4)))
    got = list(zip(df["schedule"], df["k"], df["alpha"]))
    assert got == want                                   # last axis fastest
    assert df["k"].dtype == np.int64 and df["alpha"].dtype == np.float64
    assert set(df["method"]) == {"closed-form"}
    assert df["error"].isna().all() and df.attrs["n_failed"] == 0
    assert (df["throughput_tok_s"] > 0).all()


def test_rows_equal_estimate_exactly(base: ahasd.Config) -> None:
    axes = {"pim.internal_bw": [128e9, 256e9], "k": [3, 6], "contention": [0.0, 0.25],
            "alpha": [0.7, 0.9]}
    df = ahasd.sweep(base, schedule=["sync", "async"], progress=False, **axes)
    assert len(df) == 2 * 16
    for _, row in df.iterrows():
        changes = {n: (int(row[n]) if n == "k" else float(row[n])) for n in axes}
        res = ahasd.estimate(config=base.replace(schedule=row["schedule"], **changes))
        _row_equals(row, res)
        assert row["method"] == res.method


def test_categorical_axes_equal_estimate(base: ahasd.Config) -> None:
    pairs = [("llama2-7b", "llama2-13b"), ("opt-1.3b", "opt-6.7b")]
    df = ahasd.sweep(base, pair=pairs, policy=["fixed", "svip"], workload=["alpaca", "code"],
                     hardware=["ahasd-npu-pim", "specpim-gpu-pim"], progress=False)
    assert len(df) == 16
    assert list(df.columns[:5]) == ["draft", "target", "policy", "workload", "hardware"]
    for _, row in df.iterrows():
        cfg = base.replace(draft=row["draft"], target=row["target"],
                           policy=base.policy.replace(kind=row["policy"]),
                           workload=row["workload"], hardware=row["hardware"])
        _row_equals(row, ahasd.estimate(config=cfg))


def test_explicit_points_crossed_with_axis(base: ahasd.Config) -> None:
    pts = [{"k": 2, "alpha": 0.6}, {"k": 7, "alpha": 0.85}, {"k": 4, "alpha": 0.75}]
    df = ahasd.sweep(base, points=pts, schedule=["sync", "serial"], progress=False)
    assert len(df) == 6
    assert list(df["k"]) == [2, 2, 7, 7, 4, 4]
    assert list(df["schedule"]) == ["sync", "serial"] * 3
    for _, row in df.iterrows():
        res = ahasd.estimate(config=base.replace(schedule=row["schedule"], k=int(row["k"]),
                                                 alpha=float(row["alpha"])))
        _row_equals(row, res)
    # the same points as a DataFrame or a dict of columns
    df2 = ahasd.sweep(base, points=pd.DataFrame(pts), schedule=["sync", "serial"],
                      progress=False)
    df3 = ahasd.sweep(base, points={"k": [2, 7, 4], "alpha": [0.6, 0.85, 0.75]},
                      schedule=["sync", "serial"], progress=False)
    pd.testing.assert_frame_equal(df, df2)
    pd.testing.assert_frame_equal(df, df3)


def test_failed_rows_carry_messages_and_count(base: ahasd.Config) -> None:
    with pytest.warns(sweep_mod.SweepWarning, match="5 of 9 points failed"):
        df = ahasd.sweep(base, k=[4, 40, 5], alpha=[0.5, 1.5, 0.7], progress=False)
    assert df.attrs["n_failed"] == 5
    bad = df["error"].notna()
    assert list(bad) == [False, True, False, True, True, True, False, True, False]
    assert df.loc[bad, OUTPUTS[:5]].isna().all().all()
    assert df.loc[~bad, "throughput_tok_s"].notna().all()
    # messages name the field and value (from the C core)
    assert "alpha" in df.loc[1, "error"] and "1.5" in df.loc[1, "error"]
    assert "40" in df.loc[3, "error"]


def test_impossible_group_fails_its_rows_only(base: ahasd.Config) -> None:
    # npu-lpddr5 has one device: a two-device schedule cannot run there
    with pytest.warns(sweep_mod.SweepWarning, match="2 of 4"):
        df = ahasd.sweep(base, hardware=["ahasd-npu-pim", "npu-lpddr5"], k=[3, 4],
                         progress=False)
    assert df["error"].notna().tolist() == [False, False, True, True]
    assert "two devices" in df.loc[2, "error"]
    assert df.loc[2:, "throughput_tok_s"].isna().all()


def test_message_cap(base: ahasd.Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweep_mod, "MAX_MESSAGES", 2)
    with pytest.warns(sweep_mod.SweepWarning, match="5 of 5"):
        df = ahasd.sweep(base, alpha=[1.1, 1.2, 1.3, 1.4, 1.5], progress=False)
    assert "alpha" in df.loc[0, "error"] and "alpha" in df.loc[1, "error"]
    for i in (2, 3, 4):
        assert "parameter is out of range" in df.loc[i, "error"]
        assert "first 2 failures" in df.loc[i, "error"]


def test_threads_and_chunks_do_not_change_results(base: ahasd.Config) -> None:
    axes = {"schedule": ["sync", "async"], "npu.mem_bw_bytes_per_s": "30e9:90e9:7",
            "k": [2, 5], "alpha": [0.6, 0.8, 0.95]}
    one = ahasd.sweep(base, threads=1, progress=False, **axes)
    many = ahasd.sweep(base, threads=3, chunk_size=5, progress=False, **axes)
    pd.testing.assert_frame_equal(one, many, check_exact=True)


def test_simulation_seeds_match_simulate(base: ahasd.Config) -> None:
    df = ahasd.sweep(base.replace(gen_len=64), simulate=True, n_runs=2, seed=5,
                     schedule=["sync", "async"], k=[2, 4, 6], progress=False)
    assert set(df["method"]) == {"simulation"}
    for sched in ("sync", "async"):
        sub = df[df["schedule"] == sched].reset_index(drop=True)
        for j, row in sub.iterrows():
            res = ahasd.simulate(config=base.replace(gen_len=64, schedule=sched, k=int(row["k"])),
                                 seed=5 + j, n_runs=2)
            _row_equals(row, res)


def test_outputs_subset_and_defaults() -> None:
    df = ahasd.sweep(None, k=[2, 4], outputs=["throughput_tok_s", "edp_js"], progress=False)
    assert list(df.columns) == ["k", "throughput_tok_s", "edp_js", "method", "error"]
    df1 = ahasd.sweep({"schedule": "sync", "alpha": 0.8}, progress=False)   # base only
    assert len(df1) == 1
    assert df1.loc[0, "throughput_tok_s"] == ahasd.estimate(schedule="sync",
                                                            alpha=0.8).throughput_tok_s


def test_range_strings() -> None:
    assert np.array_equal(sweep_mod.parse_values("x", "1:3:5"), np.linspace(1, 3, 5))
    assert np.allclose(sweep_mod.parse_values("x", "1e9:1e11:3:log"), [1e9, 1e10, 1e11])
    for bad in ("1:2", "a:b:3", "1:2:0", "0:1:3:log", "1:2:2.5"):
        with pytest.raises(ConfigError):
            sweep_mod.parse_values("x", bad)


def test_bad_inputs_raise_naming_them(base: ahasd.Config) -> None:
    with pytest.raises(ConfigError, match="pim.internal_bw"):
        ahasd.sweep(base, **{"pim.internal_bwx": [1e9]})
    with pytest.raises(ConfigError, match="svip_h is a parameter of policy 'svip'"):
        ahasd.sweep(base, svip_h=[0.3, 0.5])
    with pytest.raises(ConfigError, match="same parameter"):
        ahasd.sweep(base, **{"pim.internal_bw": [1e9], "pim.mem_bw_bytes_per_s": [2e9]})
    with pytest.raises(ConfigError, match="hardware"):
        ahasd.sweep(base, hardware=["ahasd-npu-pm"])
    with pytest.raises(ConfigError, match="schedule"):
        ahasd.sweep(base, schedule=["synch"])
    with pytest.raises(ConfigError, match="given twice"):
        ahasd.sweep(base, points=[{"k": 3}], k=[4])
    with pytest.raises(ConfigError, match="numbers"):
        ahasd.sweep(base, k=[[1, 2], [3, 4]])


def test_policy_axis_keeps_base_parameters() -> None:
    cfg = ahasd.Config.build(schedule="sync", policy="svip", svip_h=0.41, k_max=9)
    df = ahasd.sweep(cfg, policy=["svip", "adaedl"], svip_h=[0.3, 0.5], progress=False)
    assert len(df) == 4
    res = ahasd.estimate(config=cfg.replace(svip_h=0.5))
    _row_equals(df.iloc[1], res)


def test_progress_bar(base: ahasd.Config, capsys: pytest.CaptureFixture[str]) -> None:
    ahasd.sweep(base, k=[2, 3], progress=False)
    assert "ahasd.sweep" not in capsys.readouterr().err
    ahasd.sweep(base, k=[2, 3], progress=True)
    assert "ahasd.sweep" in capsys.readouterr().err
    ahasd.sweep(base, k=[2, 3])                # fast: no bar by default
    assert "ahasd.sweep" not in capsys.readouterr().err


def test_large_closed_form_sweep_completes(base: ahasd.Config) -> None:
    df = ahasd.sweep(base, progress=False, outputs=["throughput_tok_s", "energy_per_token_j"],
                     **{"pim.internal_bw": "64e9:512e9:400", "npu.mem_bw_bytes_per_s":
                        "25e9:100e9:250"})
    assert len(df) == 100_000 and df.attrs["n_failed"] == 0
    assert df["throughput_tok_s"].notna().all()
    # more off-chip bandwidth never slows the verifier down
    t = df["throughput_tok_s"].to_numpy().reshape(400, 250)
    assert (np.diff(t, axis=1) >= -1e-12 * t[:, 1:]).all()


def test_dask_local_cluster_equals_local(base: ahasd.Config) -> None:
    distributed = pytest.importorskip("distributed")
    axes = {"schedule": ["sync", "async"], "k": [2, 4, 6], "alpha": [0.6, 0.8, 1.7]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sweep_mod.SweepWarning)
        local = ahasd.sweep(base, progress=False, **axes)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            remote = ahasd.sweep(base, client=client, chunk_size=4, progress=False, **axes)
    assert local.attrs["n_failed"] == remote.attrs["n_failed"] == 6
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
