"""Concurrency: the C core keeps no global mutable state (every cache and
scratch array lives in a caller-owned workspace, one per Python thread), and
cffi releases the GIL during C calls, so threads really run in parallel.

8 threads calling estimate, simulate, draft_distribution, task_costs and
sweep on different configurations give results identical, bit for bit, to
the same calls made serially.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np

import ahasd
from ahasd._native import ffi, lib, workspace

N_THREADS = 8
SCHEDULES = ("autoregressive", "serial", "sync", "partitioned", "async", "async-edc", "ahasd")
HW_OF = {"serial": "rtx4090-laptop", "partitioned": "specpim-gpu-pim"}


def _points() -> list[dict[str, Any]]:
    """Different configurations: every schedule x policy x profile mix, on
    hardware and on explicit costs (the drafting tables differ, so threads
    fill their caches differently)."""
    pts: list[dict[str, Any]] = []
    costs = ahasd.TaskCosts(draft_token_s=0.03, verify_s=(0.25, 0.002), preverify_token_s=0.02,
                            draft_token_j=0.05, verify_j=(1.0, 0.01), idle_w={"npu": 0.3})
    policies = ({"policy": "fixed", "k": 3}, {"policy": "svip"}, {"policy": "adaedl"},
                {"policy": "specdecpp"}, {"policy": "banditspec"})
    for i, s in enumerate(SCHEDULES):
        for j, pol in enumerate(policies):
            wl = ("alpaca", "code", "summarization", "translation")[(i + j) % 4]
            pts.append({"schedule": s, "hardware": HW_OF.get(s, "ahasd-npu-pim"),
                        "workload": wl, **pol})
            if s != "partitioned":
                pts.append({"schedule": s, "costs": costs, "alpha": 0.5 + 0.07 * j, **pol})
    return pts


POINTS = _points()


def raw(r: ahasd.Result) -> bytes:
    return bytes(ffi.buffer(r._r))


def _compare_parallel(calls: list[Callable[[], bytes]], rounds: int = 3) -> None:
    """Run every call serially, then all of them `rounds` times from 8 threads
    (in a different order per round, released together by a barrier), and
    compare the bytes."""
    serial = [c() for c in calls]
    barrier = threading.Barrier(N_THREADS)

    def worker(t: int) -> list[tuple[int, bytes]]:
        barrier.wait()
        out = []
        for r in range(rounds):
            order = np.random.default_rng(1000 * t + r).permutation(len(calls))
            for i in order[t::N_THREADS] if r == 0 else order:
                out.append((int(i), calls[i]()))
        return out

    with ThreadPoolExecutor(N_THREADS) as ex:
        results = list(ex.map(worker, range(N_THREADS)))
    n = 0
    for got in results:
        for i, b in got:
            assert b == serial[i], f"call {i} differs from its serial result"
            n += 1
    assert n >= len(calls) * (1 + (rounds - 1) * N_THREADS)


def test_estimates_from_8_threads_match_serial_results() -> None:
    calls = [lambda p=p: raw(ahasd.estimate(**p)) for p in POINTS]
    _compare_parallel(calls)


def test_simulations_from_8_threads_match_serial_results() -> None:
    calls = [lambda p=p, i=i: raw(ahasd.simulate(**p, gen_len=96, n_runs=2, seed=i))
             for i, p in enumerate(POINTS)]
    _compare_parallel(calls, rounds=2)


def test_traces_and_distributions_from_8_threads() -> None:
    def trace(p: dict[str, Any], i: int) -> bytes:
        r = ahasd.simulate(**p, gen_len=64, n_runs=1, seed=i, trace=True)
        return raw(r) + r.trace.to_csv(index=False, float_format="%.17g").encode()

    def dist(p: dict[str, Any]) -> bytes:
        kw = {k: v for k, v in p.items() if k not in ("schedule", "hardware", "costs")}
        if kw.get("policy") == "banditspec":
            kw["bandit_cost_ratio"] = 0.12      # no task costs here to take it from
        return ahasd.draft_distribution(**kw).p_ka.tobytes()

    def table(p: dict[str, Any]) -> bytes:
        if "costs" in p:
            return b""
        t = ahasd.task_costs(hardware=p["hardware"], schedule=p["schedule"], context=300)
        return t.to_frame().to_csv(index=False, float_format="%.17g").encode()

    calls: list[Callable[[], bytes]] = []
    for i, p in enumerate(POINTS[::3]):
        calls += [lambda p=p, i=i: trace(p, i), lambda p=p: dist(p), lambda p=p: table(p)]
    _compare_parallel(calls, rounds=2)


def test_sweeps_from_8_threads_match_serial_results() -> None:
    from ahasd.sweep import sweep

    def run(i: int) -> bytes:
        df = sweep({"schedule": SCHEDULES[i % len(SCHEDULES)],
                    "hardware": HW_OF.get(SCHEDULES[i % len(SCHEDULES)], "ahasd-npu-pim")},
                   alpha=np.linspace(0.1, 0.95, 6), k=[1, 2, 4], progress=False, threads=2,
                   simulate=i % 3 == 0, n_runs=2, seed=i)
        return df.select_dtypes("number").to_numpy().tobytes()

    _compare_parallel([lambda i=i: run(i) for i in range(2 * N_THREADS)], rounds=1)


def test_sweep_threads_do_not_change_results() -> None:
    from ahasd.sweep import sweep
    axes = {"alpha": np.linspace(0.0, 1.0, 17), "k": [1, 3, 6],
            "pim.mem_bw_bytes_per_s": [1e11, 2.56e11]}
    one = sweep({"schedule": "ahasd"}, progress=False, threads=1, chunk_size=7, **axes)
    many = sweep({"schedule": "ahasd"}, progress=False, threads=N_THREADS, chunk_size=7, **axes)
    num = one.select_dtypes("number").columns
    assert one[num].to_numpy().tobytes() == many[num].to_numpy().tobytes()


def test_each_thread_has_its_own_workspace() -> None:
    """Workspaces are per thread (never shared while cffi has released the GIL)."""
    seen: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(N_THREADS)

    def work() -> None:
        barrier.wait()
        ws = workspace()
        assert workspace() == ws                 # stable within the thread
        with lock:
            seen.append(int(ffi.cast("uintptr_t", ws)))

    threads = [threading.Thread(target=work) for _ in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == N_THREADS


def test_c_calls_release_the_gil() -> None:
    """A long C call on one thread does not stop Python on another: a ticker
    thread keeps counting while the simulation runs."""
    ticks = [0]
    done = threading.Event()

    def ticker() -> None:
        while not done.is_set():
            ticks[0] += 1
            done.wait(0.0005)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        before = ticks[0]
        ahasd.simulate(schedule="ahasd", gen_len=16384, n_runs=16, seed=1)
        during = ticks[0] - before
    finally:
        done.set()
        t.join()
    assert during > 10


def test_explicit_workspaces_from_raw_threads() -> None:
    """The C API directly: one workspace per thread, concurrent ahasd_estimate
    and ahasd_simulate on shared read-only configs."""
    cfgs = [ahasd.Config.build(**p).to_c() for p in POINTS[:16]]

    def c_run(cfg: Any, sim: bool, ws: Any) -> bytes:
        res = ffi.new("ahasd_result *")
        err = ffi.new("ahasd_error *")
        if sim:
            opt = ffi.new("ahasd_sim_options *", {"seed": 5, "n_runs": 1})
            code = lib.ahasd_simulate(cfg, opt, ws, res, err)
        else:
            code = lib.ahasd_estimate(cfg, ws, res, err)
        assert code == 0, ffi.string(err.msg)
        return bytes(ffi.buffer(res))

    ws0 = lib.ahasd_workspace_alloc()
    serial = [(c_run(c, False, ws0), c_run(c, True, ws0)) for c in cfgs]
    lib.ahasd_workspace_free(ws0)

    def worker(t: int) -> None:
        ws = lib.ahasd_workspace_alloc()
        try:
            for i in list(range(len(cfgs)))[t:] + list(range(len(cfgs)))[:t]:
                assert c_run(cfgs[i], False, ws) == serial[i][0]
                assert c_run(cfgs[i], True, ws) == serial[i][1]
        finally:
            lib.ahasd_workspace_free(ws)

    with ThreadPoolExecutor(N_THREADS) as ex:
        list(ex.map(worker, range(N_THREADS)))
