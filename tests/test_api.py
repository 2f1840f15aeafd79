"""estimate, simulate, task_costs, draft_distribution, draft_sample, pass_ops and Result."""
from __future__ import annotations

import math
import timeit
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import ahasd
from ahasd import api
from ahasd._native import ffi, lib, workspace
from ahasd.errors import ConfigError, ScheduleError
from ahasd.result import OUTPUTS

def _same(a: float, b: float) -> bool:
    """Equal, counting NaN as equal to NaN (outputs a method does not compute)."""
    return a == b or (math.isnan(a) and math.isnan(b))


def _same_dicts(a: list[dict], b: list[dict]) -> bool:
    return all(x.keys() == y.keys() and all(
        _same(x[k], y[k]) if isinstance(x[k], float) else x[k] == y[k] for k in x)
        for x, y in zip(a, b, strict=True))


SPECULATIVE = ("serial", "sync", "partitioned", "async", "async-edc", "ahasd")
TWO_DEVICE = ("autoregressive", *SPECULATIVE[1:])


# --------------------------------------------------------------------------
# Result: outputs, their relations, breakdowns
# --------------------------------------------------------------------------
@pytest.mark.parametrize("schedule", ("autoregressive", *SPECULATIVE))
def test_outputs_are_attributes_and_consistent(cfg, schedule):
    res = ahasd.estimate(config=cfg, schedule=schedule)
    d = res.to_dict()
    assert list(d) == [*OUTPUTS, "method"]
    for name in OUTPUTS:
        assert _same(getattr(res, name), d[name]) and _same(res[name], d[name])
    if res.method == "markov-chain":       # MODEL.md: the async family's estimates have no gaps
        assert math.isnan(res.gap_p50_s)
    assert res.method == ("closed-form" if schedule in ("autoregressive", "serial", "sync",
                                                         "partitioned") else "markov-chain")
    assert res.throughput_tok_s * res.latency_per_token_s == pytest.approx(1.0)
    assert res.energy_per_token_j * res.tokens_per_j == pytest.approx(1.0)
    assert res.edp_js == pytest.approx(res.energy_per_token_j * res.latency_per_token_s)
    assert res.committed_tokens == pytest.approx(cfg.gen_len)
    assert res.total_time_s == pytest.approx(res.committed_tokens / res.throughput_tok_s)
    for dev in ("npu", "pim"):
        assert 0.0 <= getattr(res, f"{dev}_busy_frac") <= 1.0
    if schedule != "autoregressive":
        assert res.acceptance_rate + res.waste_frac == pytest.approx(1.0)
    # every present device's wall time splits into its tasks and idle time
    tb = res.time_breakdown
    assert list(tb.columns) == ["draft", "verify", "preverify", "overhead", "idle"]
    assert {"npu", "pim"} <= set(tb.index)
    for dev in ("npu", "pim"):
        assert tb.loc[dev].sum() == pytest.approx(res.total_time_s)
        assert tb.loc[dev, "idle"] == pytest.approx(res[f"{dev}_idle_s"])
    eb = res.energy_breakdown
    assert list(eb.columns) == ["compute", "memory", "static_busy", "static_idle", "task"]
    assert eb.to_numpy().sum() == pytest.approx(res.total_energy_j)
    assert res.ci95 == {} and res.n_runs == 0


def test_leviathan_speedup_from_explicit_costs():
    # MODEL.md: serial, fixed k = 4, i.i.d. alpha = 0.8, c = 0.1, verification =
    # one target step: E[tokens per round] = (1 - a^5)/(1 - a), speed-up 2.4.
    t = 0.1
    costs = ahasd.TaskCosts(draft_token_s=0.1 * t, verify_s=(t, 0.0))
    spec = ahasd.estimate(schedule="serial", costs=costs, k=4, alpha=0.8)
    ar = ahasd.estimate(schedule="autoregressive", costs=costs, alpha=0.8)
    a = 0.8
    assert spec.tokens_per_round == pytest.approx((1 - a ** 5) / (1 - a), rel=1e-9)
    assert ar.throughput_tok_s == pytest.approx(1 / t, rel=1e-9)
    speedup = spec.throughput_tok_s / ar.throughput_tok_s
    assert speedup == pytest.approx((1 - a ** 5) / ((1 - a) * (4 * 0.1 + 1)), rel=1e-9)
    assert round(speedup, 1) == 2.4


def test_explicit_energy_is_tasks_plus_idle_power():
    costs = ahasd.TaskCosts(draft_token_s=0.01, verify_s=(0.1, 0.0), draft_token_j=0.02,
                            verify_j=(0.3, 0.0), idle_w={"npu": 0.5, "pim": 0.25})
    res = ahasd.estimate(schedule="sync", costs=costs, k=4, alpha=0.8)
    rounds = res.rounds
    task_j = rounds * (4 * 0.02 + 0.3)
    idle_j = 0.5 * res.npu_idle_s + 0.25 * res.pim_idle_s
    assert res.total_energy_j == pytest.approx(task_j + idle_j, rel=1e-9)
    assert res.energy_breakdown["task"].sum() == pytest.approx(task_j, rel=1e-9)


def test_autoregressive_respects_the_weight_streaming_bound(cfg, target, hw):
    res = ahasd.estimate(config=cfg, schedule="autoregressive")
    bound = hw.npu.mem_bw_bytes_per_s / target.weight_total_bytes
    assert res.throughput_tok_s <= bound
    # and the NPU is memory-bound here: within a factor 2 of the bound (MODEL.md's
    # "about 4 tokens/s whatever the NPU's TOPS" for 13 GB over 51.2 GB/s)
    assert res.throughput_tok_s >= 0.5 * bound
    faster = ahasd.estimate(config=cfg.replace(schedule="autoregressive",
                                               **{"npu.matrix_ops_per_s": 64e12}))
    assert faster.throughput_tok_s == pytest.approx(res.throughput_tok_s, rel=0.02)


def test_result_printing(cfg):
    res = ahasd.estimate(config=cfg)
    text = str(res)
    assert text.startswith("ahasd | test-npu-pim | tiny-7b -> tiny-13b | fixed(k=4) | test-chat")
    assert "[markov-chain]" in text
    assert " tok/s" in text and " mJ" in text
    assert "gpu_busy_frac" not in text                   # absent device hidden
    assert "approximation:" in text
    assert all(isinstance(a, str) and a for a in res.approximations)
    assert "time by device and task (s):" in res.summary()
    assert "<table>" in res._repr_html_()
    assert "tok/s" in repr(res)
    with pytest.raises(KeyError, match=r"throughput_tok_sec.*did you mean 'throughput_tok_s'"):
        res["throughput_tok_sec"]


def test_result_frame_rows_concatenate(cfg):
    rows = [ahasd.estimate(config=cfg, schedule=s).to_frame() for s in ("sync", "ahasd")]
    df = pd.concat(rows, ignore_index=True)
    assert list(df.schedule) == ["sync", "ahasd"]
    assert set(OUTPUTS) <= set(df.columns) and "method" in df.columns
    assert df.loc[1, "hardware"] == "test-npu-pim"


def test_fits_in_memory_is_reported(cfg):
    assert ahasd.estimate(config=cfg).fits_in_memory
    small = ahasd.estimate(config=cfg, memory_capacity_bytes=4e9)
    assert not small.fits_in_memory
    assert any("do not fit" in n for n in small.notes)


def test_schedule_errors_and_bad_keywords(gpu_hw, draft, target, chat, cfg):
    with pytest.raises(ScheduleError, match=r"two devices"):
        ahasd.estimate(schedule="sync", hardware=gpu_hw, draft=draft, target=target,
                       workload=chat)
    with pytest.raises(ConfigError, match=r"unknown hardware preset 'no-such-hw'"):
        ahasd.estimate(config=cfg, hardware="no-such-hw")
    with pytest.raises(ConfigError, match=r"no parameter 'kk'"):
        ahasd.estimate(config=cfg, kk=3)
    with pytest.raises(TypeError):
        ahasd.estimate(cfg)                                  # keyword-only


# --------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------
def test_simulation_has_confidence_intervals_and_agrees_with_closed_form(cfg):
    c = cfg.replace(schedule="sync", alpha=0.8)
    est = ahasd.estimate(config=c)
    sim = ahasd.simulate(config=c, n_runs=30, seed=7)
    assert sim.method == "simulation" and sim.n_runs == 30
    assert set(sim.ci95) == set(OUTPUTS)
    half = sim.ci95["throughput_tok_s"]
    assert 0 < half < 0.05 * sim.throughput_tok_s
    assert abs(sim.throughput_tok_s - est.throughput_tok_s) <= max(4 * half,
                                                                   0.03 * est.throughput_tok_s)
    # accepted / drafted: E[A] / k = (a + a^2 + a^3 + a^4) / 4 for fixed k = 4
    assert est.acceptance_rate == pytest.approx(sum(0.8 ** i for i in range(1, 5)) / 4)
    assert sim.acceptance_rate == pytest.approx(est.acceptance_rate, abs=0.03)
    assert not math.isnan(sim.gap_p90_s)
    df = sim.to_frame()
    assert "throughput_tok_s_ci95" in df.columns


def test_simulation_is_reproducible_by_seed(cfg):
    a = ahasd.simulate(config=cfg, seed=3, n_runs=3)
    b = ahasd.simulate(config=cfg, seed=3, n_runs=3)
    c = ahasd.simulate(config=cfg, seed=4, n_runs=3)
    assert _same_dicts([a.to_dict()], [b.to_dict()])
    assert a.total_time_s != c.total_time_s


def test_trace_frame_matches_the_time_breakdown(cfg):
    res = ahasd.simulate(config=cfg, n_runs=1, trace=True)
    tr = res.trace
    assert list(tr.columns) == ["device", "task", "start_s", "end_s", "tokens", "batch",
                                "wasted"]
    assert len(tr) > 100
    assert (tr.end_s >= tr.start_s).all() and tr.wasted.dtype == bool
    assert set(tr.device.astype(str)) <= {"npu", "pim"}
    assert "idle" not in set(tr.task.astype(str))
    busy = (tr.end_s - tr.start_s).groupby([tr.device.astype(str), tr.task.astype(str)]).sum()
    tb = res.time_breakdown
    for (dev, task), seconds in busy.items():
        assert seconds == pytest.approx(tb.loc[dev, task], rel=1e-9)
    assert tr.end_s.max() == pytest.approx(res.total_time_s, rel=1e-9)


def test_trace_buffer_grows_when_the_first_guess_is_short(cfg, monkeypatch):
    full = ahasd.simulate(config=cfg, n_runs=1, trace=True, seed=11).trace
    monkeypatch.setattr(api, "initial_trace_cap", lambda c: 1)
    small = ahasd.simulate(config=cfg, n_runs=1, trace=True, seed=11).trace
    pd.testing.assert_frame_equal(full, small)


def test_simulate_rejects_bad_options(cfg):
    with pytest.raises(ConfigError, match=r"n_runs"):
        ahasd.simulate(config=cfg, n_runs=0)
    with pytest.raises(ConfigError, match=r"seed = -1"):
        ahasd.simulate(config=cfg, seed=-1)


# --------------------------------------------------------------------------
# Task costs
# --------------------------------------------------------------------------
def test_task_costs_table(cfg):
    t = ahasd.task_costs(config=cfg)
    f = t.to_frame()
    ver = f[f.task == "verify"]
    assert list(ver.n) == list(range(cfg.policy.k_max + 1))
    assert (np.diff(ver.time_s.to_numpy()) >= 0).all()        # more drafts never cheaper
    assert list(f[f.task == "preverify"].n) == list(range(1, cfg.m_max + 1))
    assert t.ar_step_s == pytest.approx(t.verify_s(0))
    assert (f.device[f.task == "draft"] == "pim").all()
    assert (ver.device == "npu").all()
    assert f.energy_j.to_numpy() == pytest.approx(
        f[["compute_j", "memory_j", "static_busy_j", "static_idle_j", "task_j"]].sum(axis=1))
    assert t.context == cfg.prompt_len and t.fits_in_memory
    assert "draft" in str(t) and "verify" in str(t)


def test_explicit_costs_from_the_table_reproduce_the_model(cfg):
    # With the costs taken at the run's middle context, the explicit what-if
    # reproduces the hardware model's sync estimate (no contention here).
    c = cfg.replace(schedule="sync", segments=1)
    table = ahasd.task_costs(config=c, context=c.prompt_len + c.gen_len / 2)
    ex = table.explicit()
    assert ex.draft_token_s == pytest.approx(table.draft_token_s)
    model = ahasd.estimate(config=c)
    what_if = ahasd.estimate(config=c, costs=ex)
    assert what_if.throughput_tok_s == pytest.approx(model.throughput_tok_s, rel=1e-3)
    assert what_if.energy_per_token_j == pytest.approx(model.energy_per_token_j, rel=1e-3)


def test_task_costs_keywords_pick_a_runnable_schedule(gpu_hw, draft, target, chat):
    t = ahasd.task_costs(hardware=gpu_hw, draft=draft, target=target, workload=chat,
                         context=512)
    assert t.context == 512 and set(t.to_frame().device) == {"gpu"}


# --------------------------------------------------------------------------
# Drafting distributions
# --------------------------------------------------------------------------
def test_fixed_iid_distribution_is_truncated_geometric():
    d = ahasd.draft_distribution(k=4, alpha=0.8)
    assert d.p_ka.shape == (d.k_max + 1, d.k_max + 1)
    assert d.p_k[4] == pytest.approx(1.0)
    expected = [0.2, 0.8 * 0.2, 0.64 * 0.2, 0.512 * 0.2, 0.8 ** 4]
    assert d.p_ka[4, :5] == pytest.approx(expected)
    assert d.p_ka.sum() == pytest.approx(1.0)
    assert d.tokens_per_round == pytest.approx((1 - 0.8 ** 5) / 0.2)
    assert d.mean_accepted == pytest.approx(d.tokens_per_round - 1)
    assert np.asarray(d).shape == d.p_ka.shape
    assert d.to_frame().p.sum() == pytest.approx(1.0)
    assert "tokens_per_round 3.362" in str(d)


def test_adaptive_distribution_and_sampler_agree(chat):
    d = ahasd.draft_distribution(policy="svip", svip_h=0.5, workload=chat)
    assert d.p_ka.sum() == pytest.approx(1.0)
    assert d.policy.k_min <= d.mean_draft_len <= d.policy.k_max
    s = ahasd.draft_sample(policy="svip", svip_h=0.5, workload=chat, n=40000, seed=5)
    assert list(s.columns) == ["k", "a"] and len(s) == 40000
    assert (s.a <= s.k).all()
    se_k = s.k.std() / math.sqrt(len(s))
    se_a = s.a.std() / math.sqrt(len(s))
    # consecutive batches are correlated through the entropy chain: allow 6 se
    assert abs(s.k.mean() - d.mean_draft_len) < 6 * se_k + 1e-9
    assert abs(s.a.mean() - d.mean_accepted) < 6 * se_a + 1e-9


def test_draft_sample_is_reproducible_and_checks_input():
    a = ahasd.draft_sample(k=4, alpha=0.8, n=1000, seed=1)
    b = ahasd.draft_sample(k=4, alpha=0.8, n=1000, seed=1)
    c = ahasd.draft_sample(k=4, alpha=0.8, n=1000, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert (a.k == 4).all() and a.k.dtype == np.int64
    with pytest.raises(ConfigError, match=r"start = 5"):
        ahasd.draft_distribution(alpha=0.8, start=5)
    with pytest.raises(ConfigError, match=r"svip_h is a parameter of policy 'svip'"):
        ahasd.draft_distribution(alpha=0.8, svip_h=0.3)
    with pytest.raises(ConfigError, match=r"unknown keyword 'kk'"):
        ahasd.draft_distribution(alpha=0.8, kk=3)


# --------------------------------------------------------------------------
# Operators of a pass
# --------------------------------------------------------------------------
def test_pass_ops_frame(hw, target):
    one = ahasd.pass_ops(hardware=hw, model=target, n_positions=1, context=512)
    eight = ahasd.pass_ops(hardware=hw, model=target, n_positions=8, context=512)
    assert {"name", "kind", "count", "ops", "weight_bytes", "time_s", "memory_bound",
            "intensity_ops_per_byte"} <= set(one.columns)
    assert set(one.kind) <= {"matmul", "attention", "nonlinear", "memory"}
    assert (one.time_s >= 0).all() and one.memory_bound.dtype == bool
    mm1 = one[one.kind == "matmul"].ops.sum()
    mm8 = eight[eight.kind == "matmul"].ops.sum()
    assert mm8 == pytest.approx(8 * mm1, rel=0.01)            # ops scale with positions
    # weights are read once per pass, whatever the positions (but one embedding row each)
    assert eight.weight_bytes.sum() == pytest.approx(one.weight_bytes.sum(), rel=1e-5)
    assert one.weight_bytes.sum() == pytest.approx(target.weight_total_bytes, rel=0.02)
    assert one.attrs["device"] == "npu"
    pim = ahasd.pass_ops(hardware=hw, model=target, device="pim")
    assert pim.time_s.sum() != one.time_s.sum()
    # the roofline's bytes: activations count only when one instance's spill
    # out of on-chip memory; memory time is those bytes over the bandwidth
    core = ["weight_bytes", "kv_read_bytes", "kv_write_bytes"]
    for onchip in (1e15, 0.0):
        h = hw.replace(**{"npu.onchip_bytes": onchip})
        f = ahasd.pass_ops(hardware=h, model=target, n_positions=1, context=512)
        want = f[core].sum(axis=1) + (f.act_bytes if onchip == 0.0 else 0.0)
        assert np.allclose(f.path_bytes, want, rtol=1e-12)
        bw = h.npu.mem_bw_bytes_per_s * h.npu.mem_bw_util
        moved = f.path_bytes > 0
        assert np.allclose(f.memory_s[moved], f.path_bytes[moved] / bw, rtol=1e-9)
        assert np.allclose(f.intensity_ops_per_byte[moved], f.ops[moved] / f.path_bytes[moved])
    with pytest.raises(ConfigError, match=r"has no gpu"):
        ahasd.pass_ops(hardware=hw, model=target, device="gpu")


# --------------------------------------------------------------------------
# Threads and overhead
# --------------------------------------------------------------------------
def test_concurrent_estimates_match_serial_ones(cfg):
    configs = [cfg.replace(schedule=s, k=k) for s in ("sync", "async", "ahasd")
               for k in (2, 4, 6)]
    serial = [ahasd.estimate(config=c).to_dict() for c in configs]
    sims = [ahasd.simulate(config=c, n_runs=2, seed=1).to_dict() for c in configs[:3]]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            par = list(pool.map(lambda c: ahasd.estimate(config=c).to_dict(), configs))
            assert _same_dicts(par, serial)
            psim = list(pool.map(lambda c: ahasd.simulate(config=c, n_runs=2, seed=1).to_dict(),
                                 configs[:3]))
            assert _same_dicts(psim, sims)


def test_estimate_overhead_over_the_c_call_is_small(cfg):
    c = cfg.replace(schedule="sync")
    cc, ws = c.to_c(), workspace()
    res, err = ffi.new("ahasd_result *"), ffi.new("ahasd_error *")

    def best(fn, n=300):
        return min(timeit.repeat(fn, number=n, repeat=7)) / n

    t_c = best(lambda: lib.ahasd_estimate(cc, ws, res, err))
    t_py = best(lambda: ahasd.estimate(config=c))
    assert t_py - t_c <= 50e-6
    t_kw = best(lambda: ahasd.estimate(config=c, k=5))
    assert t_kw - t_c <= 150e-6     # building a changed Config: validated by Python and C


def test_results_pickle_for_worker_processes(cfg):
    import pickle
    res = ahasd.simulate(config=cfg, n_runs=2, trace=True)
    back = pickle.loads(pickle.dumps(res))
    assert _same_dicts([back.to_dict()], [res.to_dict()])
    assert back.ci95 == res.ci95 and back.config == res.config
    pd.testing.assert_frame_equal(back.trace, res.trace)
    pd.testing.assert_frame_equal(back.energy_breakdown, res.energy_breakdown)
