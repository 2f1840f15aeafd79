"""Speed benchmarks of ahasd: one command (`make bench`), a table on stdout and
benchmarks/RESULTS.md with the machine it ran on.

    python benchmarks/bench.py             # everything (< 5 minutes)
    python benchmarks/bench.py --quick     # shorter timings, smaller sweeps (a smoke run)
    python benchmarks/bench.py --profile   # also write callgrind profiles and print the
                                           # hottest functions of each profiled case

What is measured (the "Speed" issue's targets; one core unless stated):

C level, by benchmarks/c_bench.c (compiled here with the extension's flags,
-O2, against csrc/*.c), on configurations built through the Python layer and
handed over as raw ahasd_config structs, so no Python runs in the timed loop:
  - task costs of one (hardware, model pair, context): every task, k_max = 16,
    m_max = 8 (ahasd_task_costs)                                    <= 2 us
  - one closed-form point (serial, sync, partitioned; autoregressive for
    reference) including the cost model and energy                   <= 10 us
  - the (K, A) distribution of each adaptive policy, B = 8 buckets, k_max = 16,
    cache cleared before each call (cold), and from the workspace's cache
    (what every later point sharing the policy and profile pays)      <= 50 us
  - one Markov-chain point (async, async-edc, ahasd) per policy     <= 100 us
  - the simulator's generated tokens per second on async (and ahasd) >= 10^6/s
  Each case: batches of calls of at least 0.1 s, 5 batches, min and median
  per call.  Callgrind instruction counts (repeatable where seconds are not)
  for the closed-form point, the Markov points, task costs and a cold
  drafting distribution.
Python level:
  - ahasd.estimate over its C time (a prebuilt Config, and keywords)  <= 50 us
  - 10^6-point closed-form sweep through ahasd.sweep, both cores, Python
    included                                                          <= 10 s
    and its peak memory (a fresh process: its peak RSS)               < 1 GB
  - 10^5-point Markov sweep (async, async-edc, ahasd)                 <= 20 s
    (schedule x L_max 2-4 x NPU bandwidth x PIM bandwidth, SVIP; a 900-point
    pilot over the same ranges first: if the whole grid would not finish
    within --markov-budget seconds, a coarser grid over the same ranges
    runs instead and the time is extrapolated, and the table says so)
  - the plain-Python reference (benchmarks/reference.py) against the C path
    through the batched interface, one core, serial closed form     >= 100x
  - ahasd.estimate for every preset model pair on ahasd-npu-pim and every
    schedule                                                       < 1 ms each
Ratios measured in the same run are the headline; absolute times vary on
shared machines.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = ROOT / "build" / "bench"
sys.path.insert(0, str(HERE))

from _common import cpu_name, pin_build  # noqa: E402


if __name__ == "__main__":
    pin_build("bench")

import ahasd  # noqa: E402
from ahasd._native import ffi, lib  # noqa: E402

PAIRS = (("opt-1.3b", "opt-6.7b"), ("llama2-7b", "llama2-13b"), ("palm-8b", "palm-30b"),
         ("llama3.2-1b", "llama3.1-8b"), ("qwen2.5-0.5b", "qwen2.5-7b"))
SCHEDULES = ("autoregressive", "serial", "sync", "partitioned", "async", "async-edc", "ahasd")
CLOSED = ("autoregressive", "serial", "sync", "partitioned")
MARKOV = ("async", "async-edc", "ahasd")
ADAPTIVE = ("svip", "adaedl", "specdecpp", "banditspec")
POLICIES = ("fixed",) + ADAPTIVE

K_TASK, K_EST, K_DD_COLD, K_DD_WARM, K_SIM, K_EST_COLD, K_CLEAR = range(7)
KIND_NAMES = ("task costs", "estimate", "draft dist (cold)", "draft dist (cached)",
              "simulate", "estimate (cold cache)", "workspace clear")

# Anchors quoted by the issue (other tools' time per evaluation).
ANCHORS = {"GenZ (speculative-decoding evaluation)": 49e-3,
           "LLM-Viewer (roofline evaluation)": 0.1e-3,
           "Calculon": 2.4e-3}


def log(msg: str) -> None:
    print(msg, flush=True)


# ------------------------------------------------------------------ machine
def _cmd(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info() -> dict[str, str]:
    cpu = cpu_name()
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count() or 1
    gcc = _cmd(["gcc", "--version"]).splitlines()
    commit = _cmd(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = _cmd(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])
    return {"cpu": cpu, "cores": f"{os.cpu_count()} logical CPUs ({affinity} usable)",
            "os": f"{platform.system()} {platform.release()}",
            "python": f"{platform.python_implementation()} {platform.python_version()}",
            "gcc": gcc[0] if gcc else "unknown",
            "ahasd": f"{ahasd.__version__}, git {commit or '?'}"
                     f"{' (uncommitted changes)' if dirty else ''}",
            "date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


# ------------------------------------------------------------------ the C driver
def build_driver() -> Path:
    """Compile benchmarks/c_bench.c with csrc/*.c (-O2, as the extension)."""
    BUILD.mkdir(parents=True, exist_ok=True)
    exe = BUILD / "c_bench"
    srcs = sorted((ROOT / "csrc").glob("*.c")) + [HERE / "c_bench.c"]
    deps = srcs + sorted((ROOT / "csrc").glob("*.h"))
    if exe.exists() and exe.stat().st_mtime > max(p.stat().st_mtime for p in deps):
        return exe
    libs = _cmd(["gsl-config", "--libs"]).split() or ["-lgsl", "-lgslcblas", "-lm"]
    cflags = _cmd(["gsl-config", "--cflags"]).split()
    cmd = ["gcc", "-std=c99", "-O2", "-g", "-Wall", "-Wextra", "-Wno-unused-parameter",
           f"-I{ROOT / 'csrc'}", *cflags, *map(str, srcs), "-o", str(exe), *libs]
    log("building the C driver: " + " ".join(cmd[:8]) + " ...")
    subprocess.run(cmd, check=True)
    return exe


@dataclass
class CCase:
    id: str
    kind: int
    cfg: ahasd.Config
    iparam: int = 0
    dparam: float = 0.0
    group: str = ""
    note: str = ""


def write_cases(cases: list[CCase], path: Path) -> None:
    size = ffi.sizeof("ahasd_config")
    with path.open("wb") as f:
        f.write(b"AHBENCH1" + struct.pack("=II", size, len(cases)))
        for c in cases:
            f.write(c.id.encode()[:63].ljust(64, b"\0"))
            f.write(struct.pack("=iid", c.kind, c.iparam, c.dparam))
            f.write(bytes(ffi.buffer(c.cfg.to_c())))


def run_driver(exe: Path, cases: list[CCase], min_s: float) -> dict[str, dict[str, Any]]:
    path = BUILD / "cases.bin"
    write_cases(cases, path)
    out = subprocess.run([str(exe), str(path), "time", str(min_s)], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"c_bench failed: {out.stderr}")
    res: dict[str, dict[str, Any]] = {}
    for line in out.stdout.splitlines():
        cid, kind, iters, tmin, tmed, status = line.split("\t", 5)
        res[cid] = {"kind": int(kind), "iters": int(iters), "min_ns": float(tmin),
                    "median_ns": float(tmed), "status": status}
    return res


def callgrind(exe: Path, cases: list[CCase], ids: list[str], reps: dict[str, int],
              profile: bool) -> dict[str, float]:
    """Instructions per call of each case id (valgrind --tool=callgrind)."""
    if shutil.which("valgrind") is None:
        log("valgrind not found: no instruction counts")
        return {}
    path = BUILD / "cases.bin"
    write_cases(cases, path)
    index = {c.id: i for i, c in enumerate(cases)}
    counts: dict[str, float] = {}
    for cid in ids:
        n = reps.get(cid, 10)
        out = BUILD / f"callgrind.{re.sub(r'[^A-Za-z0-9_.-]', '_', cid)}.out"
        cmd = ["valgrind", "--tool=callgrind", "--toggle-collect=bench_body",
               f"--callgrind-out-file={out}", str(exe), str(path), "one", str(index[cid]), str(n)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            log(f"callgrind {cid} failed: {r.stderr[-500:]}")
            continue
        total = None
        for line in out.read_text().splitlines():
            if line.startswith("summary:") or line.startswith("totals:"):
                total = float(line.split()[1])
        if total is not None:
            counts[cid] = total / n
        if profile and shutil.which("callgrind_annotate"):
            ann = _cmd(["callgrind_annotate", "--inclusive=no", str(out)])
            top = [ln for ln in ann.splitlines()
                   if re.match(r"^\s*[\d,]+ \(", ln) and ln.rstrip().endswith("]")][:12]
            log(f"\n  callgrind {cid}: {counts.get(cid, float('nan')):,.0f} instructions/call; "
                f"hottest functions (self):")
            for ln in top:
                log("    " + ln.strip())
        elif not profile:
            out.unlink(missing_ok=True)
    return counts


# ------------------------------------------------------------------ cases
def c_cases(quick: bool) -> list[CCase]:
    base = dict(hardware="ahasd-npu-pim", draft="llama2-7b", target="llama2-13b",
                workload="alpaca")
    cs: list[CCase] = []
    cfg = ahasd.Config.build(schedule="sync", policy="fixed", k=4, **base)
    cs.append(CCase("task_costs", K_TASK, cfg, dparam=640.0, group="task",
                    note="every task, k_max 16, m_max 8, context 640"))
    cs.append(CCase("clear", K_CLEAR, cfg, group="aux"))
    for s in CLOSED:
        for pol in ("fixed", "svip"):
            kw = dict(k=4) if pol == "fixed" else {}
            c = ahasd.Config.build(schedule=s, policy=pol, **kw, **base)
            cs.append(CCase(f"closed:{s}:{pol}", K_EST, c, group="closed"))
    for pol in ADAPTIVE:
        # BanditSpec's arm choice needs the draft/verify cost ratio when no task costs
        # are at hand (ahasd_draft_dist has none): 0.1, about this platform's
        kw = dict(bandit_cost_ratio=0.1) if pol == "banditspec" else {}
        c = ahasd.Config.build(schedule="sync", policy=pol, **kw, **base)
        assert c.workload.buckets == 8 and c.policy.k_max == 16
        cs.append(CCase(f"dd_cold:{pol}", K_DD_COLD, c, group="dd_cold"))
        cs.append(CCase(f"dd_warm:{pol}", K_DD_WARM, c, group="dd_warm"))
    for s in MARKOV:
        for pol in POLICIES:
            kw = dict(k=4) if pol == "fixed" else {}
            c = ahasd.Config.build(schedule=s, policy=pol, l_max=3, **kw, **base)
            cs.append(CCase(f"markov:{s}:{pol}", K_EST, c, group="markov"))
        c = ahasd.Config.build(schedule=s, policy="svip", l_max=3, **base)
        cs.append(CCase(f"markov_cold:{s}:svip", K_EST_COLD, c, group="markov_cold"))
    runs = 10 if quick else 20
    for s, pol in (("async", "fixed"), ("async", "svip"), ("async-edc", "svip"),
                   ("ahasd", "svip")):
        kw = dict(k=4) if pol == "fixed" else {}
        c = ahasd.Config.build(schedule=s, policy=pol, l_max=3, **kw, **base)
        cs.append(CCase(f"sim:{s}:{pol}", K_SIM, c, iparam=runs, group="sim",
                        note=f"{runs} runs x {c.gen_len} tokens per call"))
    return cs


# ------------------------------------------------------------------ Python level
def time_call(fn: Callable[[], Any], min_s: float = 0.3, reps: int = 5) -> float:
    """Seconds per call: the minimum over `reps` batches of the batch mean."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_s / reps or n > 10 ** 7:
            break
        n = max(n * 2, int(n * (min_s / reps) / max(dt, 1e-9) * 1.2))
    best = dt / n
    for _ in range(reps - 1):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


_SWEEP_CHILD = r"""
import json, resource, sys, time, warnings
import numpy as np
import ahasd
spec = json.loads(sys.stdin.read())
base = ahasd.Config.build(**spec["base"])
axes = {k: (np.array(v) if isinstance(v, list) else v) for k, v in spec["axes"].items()}
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    if hasattr(ahasd, "sweep"):
        df = ahasd.sweep(base, progress=False, threads=spec.get("threads"),
                         outputs=spec.get("outputs"), **axes)
        n, failed, via = len(df), int(df.attrs.get("n_failed", 0)), "ahasd.sweep"
    else:
        raise SystemExit("ahasd.sweep is missing")
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": dt, "n": n, "failed": failed, "via": via,
                  "rss_before_kib": rss0, "peak_rss_kib": rss,
                  "df_bytes": int(df.memory_usage(deep=False).sum())}))
"""

_RAW_CHILD = r"""
import json, os, resource, sys, time
import numpy as np
import multiprocessing as mp
spec = json.loads(sys.stdin.read())

def part(args):
    lo, hi = args
    import ahasd
    from ahasd._native import ffi, lib, workspace
    base = ahasd.Config.build(**spec["base"])
    names = list(spec["axes"])
    grids = [np.asarray(spec["axes"][k], dtype=np.float64) for k in names]
    mesh = np.stack([g.ravel() for g in np.meshgrid(*grids, indexing="ij")])[:, lo:hi]
    vals = np.ascontiguousarray(mesh, dtype=np.float64)
    n = hi - lo
    pids = ffi.new("int[]", [lib.ahasd_param_find(k.encode()) for k in names])
    oids = ffi.new("int[]", [0, 2, 5, 6])
    out = np.empty(n * 4); st = np.empty(n, dtype=np.intc)
    err = ffi.new("ahasd_error *")
    rc = lib.ahasd_sweep(base.to_c(), n, len(names), pids, ffi.from_buffer("double[]", vals),
                         4, oids, 0, 0, 1, ffi.from_buffer("double[]", out),
                         ffi.from_buffer("int[]", st), workspace(), err)
    return n, int((st != 0).sum())

total = 1
for v in spec["axes"].values():
    total *= len(v)
t0 = time.perf_counter()
with mp.get_context("fork").Pool(2) as pool:
    res = pool.map(part, [(0, total // 2), (total // 2, total)])
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "n": sum(r[0] for r in res),
                  "failed": sum(r[1] for r in res), "via": "lib.ahasd_sweep x 2 processes",
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss +
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def run_sweep_child(base: dict[str, Any], axes: dict[str, Any], threads: int | None = None,
                    outputs: list[str] | None = None) -> dict[str, Any]:
    """A sweep in a fresh process: wall time and that process's peak RSS."""
    spec = {"base": base, "axes": axes, "threads": threads, "outputs": outputs}
    code = _SWEEP_CHILD if hasattr(ahasd, "sweep") else _RAW_CHILD
    r = subprocess.run([sys.executable, "-c", code], input=json.dumps(spec),
                       capture_output=True, text=True, cwd=str(BUILD))
    if r.returncode != 0:
        raise RuntimeError(f"sweep child failed: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def linspace(lo: float, hi: float, n: int) -> list[float]:
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)] if n > 1 else [lo]


# ------------------------------------------------------------------ main
@dataclass
class Row:
    target: str
    limit: str
    measured: str
    ok: bool | None
    note: str = ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter timings and sweeps")
    ap.add_argument("--profile", action="store_true",
                    help="keep callgrind profiles in build/bench and print hot functions")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--markov-budget", type=float, default=45.0,
                    help="seconds the 10^5-point Markov sweep may take before it is "
                         "subsampled and extrapolated")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    a = ap.parse_args(argv)
    t_start = time.perf_counter()
    quick = a.quick
    info = machine_info()
    log("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()))

    # ---------------------------------------------------------------- C level
    exe = build_driver()
    cases = c_cases(quick)
    min_s = 0.2 if quick else 0.5
    log(f"timing {len(cases)} C cases ({min_s:g} s each) ...")
    C = run_driver(exe, cases, min_s)
    by_id = {c.id: c for c in cases}

    def us(cid: str) -> float:
        return C[cid]["min_ns"] / 1e3 if C.get(cid, {}).get("status") == "ok" else float("nan")

    clear_us = us("clear")
    log(f"\n{'case':34s} {'min/call':>12s} {'median':>12s} {'per s':>12s}")
    for c in cases:
        r = C.get(c.id)
        if r is None or r["status"] != "ok":
            log(f"{c.id:34s} {r['status'] if r else 'missing'}")
            continue
        log(f"{c.id:34s} {r['min_ns'] / 1e3:10.3f}us {r['median_ns'] / 1e3:10.3f}us "
            f"{1e9 / r['min_ns']:12.4g}")

    cg: dict[str, float] = {}
    if not a.no_callgrind:
        ids = ["task_costs", "closed:sync:fixed", "closed:serial:svip",
               "closed:partitioned:fixed", "dd_cold:svip", "dd_cold:specdecpp",
               "markov:async:fixed", "markov:async:svip", "markov:async-edc:svip",
               "markov:ahasd:svip"]
        reps = {i: max(1, min(200, int(2e5 / max(us(i), 1e-3)))) if us(i) == us(i) else 1
                for i in ids}
        log("\ncallgrind instruction counts ...")
        cg = callgrind(exe, cases, ids, reps, a.profile)
        for i in ids:
            if i in cg:
                log(f"  {i:34s} {cg[i]:14,.0f} instructions/call")

    # ---------------------------------------------------------------- Python level
    log("\nPython level ...")
    base = dict(hardware="ahasd-npu-pim", draft="llama2-7b", target="llama2-13b",
                workload="alpaca")
    cfg_sync = ahasd.Config.build(schedule="sync", policy="fixed", k=4, **base)
    res = ffi.new("ahasd_result *")
    err = ffi.new("ahasd_error *")
    from ahasd._native import workspace
    ws = workspace()
    craw = cfg_sync.to_c()
    # interleaved, minimum of three rounds: the machine's load drifts between measurements
    py_cfg = py_kw = py_raw = float("inf")
    for _ in range(3):
        py_raw = min(py_raw, time_call(lambda: lib.ahasd_estimate(craw, ws, res, err), 0.2))
        py_cfg = min(py_cfg, time_call(lambda: ahasd.estimate(config=cfg_sync), 0.2))
        py_kw = min(py_kw, time_call(lambda: ahasd.estimate(schedule="sync", policy="fixed",
                                                            k=4, **base), 0.2))
    c_sync = us("closed:sync:fixed") * 1e-6
    log(f"  estimate(config=): {py_cfg * 1e6:.1f} us; keywords: {py_kw * 1e6:.1f} us; "
        f"raw cffi call {py_raw * 1e6:.1f} us; C alone (driver) {c_sync * 1e6:.2f} us")

    # every preset pair x schedule
    pair_times: list[tuple[float, str, str]] = []
    for d, t in PAIRS:
        for s in SCHEDULES:
            kw = dict(hardware="ahasd-npu-pim", draft=d, target=t, schedule=s)
            try:
                ahasd.estimate(**kw)
            except ahasd.AhasdError as exc:
                pair_times.append((float("nan"), f"{d}/{t}", f"{s}: {exc}"))
                continue
            ts = []
            for _ in range(3 if quick else 5):
                t0 = time.perf_counter()
                ahasd.estimate(**kw)
                ts.append(time.perf_counter() - t0)
            pair_times.append((statistics.median(ts), f"{d}/{t}", s))
    worst_pair = max((p for p in pair_times if p[0] == p[0]), key=lambda p: p[0])
    slow_pairs = [p for p in pair_times if p[0] == p[0] and p[0] >= 1e-3]
    log(f"  preset pairs x schedules: {len(pair_times)} estimates, worst "
        f"{worst_pair[0] * 1e3:.3f} ms ({worst_pair[1]}, {worst_pair[2]}); "
        f"{len(slow_pairs)} at or over 1 ms")

    # reference vs C
    import reference as R
    cfg_ser = ahasd.Config.build(schedule="serial", policy="fixed", k=4, **base)
    dist = R.draft_dist(cfg_ser.workload, cfg_ser.policy)
    t_ref = time_call(lambda: R.serial_point(cfg_ser, dist), min_s=1.0 if not quick else 0.3,
                      reps=3)
    n_ref_pts = 20000 if quick else 100000
    ref_axes = {"npu.mem_bw_bytes_per_s": linspace(2e10, 2e11, n_ref_pts)}
    sw1 = run_sweep_child(dict(schedule="serial", policy="fixed", k=4, **base), ref_axes,
                          threads=1)
    t_c_batched = sw1["seconds"] / sw1["n"]
    speedup = t_ref / t_c_batched
    log(f"  reference serial point {t_ref * 1e3:.2f} ms (draft law precomputed); C batched "
        f"{t_c_batched * 1e6:.2f} us/point over {sw1['n']} points on 1 thread "
        f"({sw1['via']}): {speedup:,.0f}x; C alone {us('closed:serial:fixed'):.2f} us")

    # 10^6 closed form sweep (both cores)
    n_axis = 100 if quick else 1000
    cf_axes = {"alpha": linspace(0.5, 0.95, 100), "k": list(range(1, 11)),
               "npu.mem_bw_bytes_per_s": linspace(2e10, 2e11, n_axis)}
    n_cf = 100 * 10 * n_axis
    log(f"  closed-form sweep of {n_cf:,} points (sync, both cores) ...")
    sw = run_sweep_child(dict(schedule="sync", **{k: v for k, v in base.items()
                                                  if k != "workload"}), cf_axes)
    cf_time_1e6 = sw["seconds"] * 1e6 / sw["n"]
    log(f"    {sw['seconds']:.2f} s for {sw['n']:,} points ({sw['via']}; "
        f"{sw['n'] / sw['seconds']:,.0f} points/s), peak RSS {sw['peak_rss_kib'] / 1024:.0f} MiB"
        f", failed {sw['failed']}")

    # 10^5 Markov sweep: a pilot on a coarse grid over the same ranges sizes the run to
    # the budget (the cost of a point depends on the hardware: sample it evenly)
    full_mk = 3 * 3 * 100 * 112
    budget = a.markov_budget if not quick else a.markov_budget / 3

    def mk_axes(n_npu: int, n_pim: int) -> dict[str, Any]:
        return {"schedule": list(MARKOV), "l_max": [2, 3, 4],
                "npu.mem_bw_bytes_per_s": linspace(2e10, 2e11, n_npu),
                "pim.mem_bw_bytes_per_s": linspace(1e11, 5e11, n_pim)}

    msw = run_sweep_child(dict(policy="svip", **base), mk_axes(10, 10))
    per_point = msw["seconds"] / msw["n"]
    side = max(10, int((budget / per_point / 9) ** 0.5))
    n_npu, n_pim = min(100, side), min(112, side)
    log(f"  Markov sweep: pilot {msw['n']:,} points in {msw['seconds']:.1f} s; running "
        f"{9 * n_npu * n_pim:,} of {full_mk:,} points (the same ranges, coarser) ...")
    if 9 * n_npu * n_pim > msw["n"]:
        msw = run_sweep_child(dict(policy="svip", **base), mk_axes(n_npu, n_pim))
    mk_time_1e5 = msw["seconds"] * 1e5 / msw["n"]
    mk_extrapolated = msw["n"] < full_mk
    log(f"    {msw['seconds']:.2f} s for {msw['n']:,} points -> "
        f"{mk_time_1e5:.1f} s per 10^5{' (extrapolated)' if mk_extrapolated else ''}; "
        f"failed {msw['failed']}")

    # ---------------------------------------------------------------- verdicts
    rows: list[Row] = []

    def add(target: str, limit: str, measured: str, ok: bool | None, note: str = "",
            ratio: float | None = None) -> None:
        """ratio: measured / limit (a miss's note says by how much)."""
        if ok is False and ratio is not None:
            note = f"{ratio:,.1f}x off the limit" + (f"; {note}" if note else "")
        rows.append(Row(target, limit, measured, ok, note))

    t_task = us("task_costs")
    add("task costs, one (hardware, pair, context), every task", "<= 2 us",
        f"{t_task:.2f} us", t_task <= 2.0,
        "k_max = 16 verifications + 8 pre-verifications + 3 passes", t_task / 2.0)
    for s in CLOSED:
        for pol in ("fixed", "svip"):
            v = us(f"closed:{s}:{pol}")
            tgt = s != "autoregressive"
            add(f"closed-form point: {s}, {pol}" + ("" if tgt else " (reference only)"),
                "<= 10 us" if tgt else "-", f"{v:.2f} us ({1e6 / v:,.0f} points/s)",
                (v <= 10.0) if tgt else None, "policy's (K, A) law from the cache; fixed k: "
                f"{us(f'closed:{s}:fixed'):.2f} us" if pol != "fixed" else "", v / 10.0)
    for pol in ADAPTIVE:
        cold = us(f"dd_cold:{pol}") - clear_us
        warm = us(f"dd_warm:{pol}")
        add(f"(K, A) law, {pol}, B = 8, k_max = 16 (cold)", "<= 50 us", f"{cold:.2f} us",
            cold <= 50.0, f"cached reuse {warm:.3f} us ({cold / warm:,.0f}x faster)", cold / 50.0)
    for s in MARKOV:
        for pol in POLICIES:
            v = us(f"markov:{s}:{pol}")
            add(f"Markov-chain point: {s}, {pol}, L_max 3", "<= 100 us", f"{v:,.1f} us",
                v <= 100.0, "", v / 100.0)
        vc = us(f"markov_cold:{s}:svip") - clear_us
        add(f"Markov-chain point: {s}, svip, cold cache (info)", "-", f"{vc:,.1f} us", None)
    for cid in ("sim:async:fixed", "sim:async:svip", "sim:async-edc:svip", "sim:ahasd:svip"):
        c = by_id[cid]
        tok_s = c.iparam * c.cfg.gen_len / (us(cid) * 1e-6)
        tgt = cid.startswith("sim:async:")
        add(f"simulator, {cid[4:].replace(':', ', ')}", ">= 1e6 tok/s" if tgt else "-",
            f"{tok_s / 1e6:.2f}e6 tok/s", (tok_s >= 1e6) if tgt else None, "", 1e6 / tok_s)
    # C time of the same call, in the same process: the raw cffi call (which itself adds
    # the cffi argument conversion, < 1 us, counted here as C time)
    over_cfg = py_cfg - py_raw
    over_kw = py_kw - py_raw
    add("ahasd.estimate over its C time (prebuilt Config)", "<= 50 us",
        f"+{over_cfg * 1e6:.1f} us ({py_cfg * 1e6:.1f} vs {py_raw * 1e6:.2f} us)",
        over_cfg <= 50e-6, "C time: the raw cffi call in the same process", over_cfg / 50e-6)
    add("ahasd.estimate over its C time (keywords, presets by name)", "<= 50 us",
        f"+{over_kw * 1e6:.1f} us ({py_kw * 1e6:.1f} us)", over_kw <= 50e-6,
        "builds and validates a Config (presets, policy, C struct) per call", over_kw / 50e-6)
    add(f"10^6-point closed-form sweep, both cores ({sw['via']})", "<= 10 s",
        f"{cf_time_1e6:.2f} s" + ("" if sw["n"] == 10 ** 6 else f" (scaled from {sw['n']:,})"),
        cf_time_1e6 <= 10.0, f"{sw['n'] / sw['seconds']:,.0f} points/s, all 28 outputs",
        cf_time_1e6 / 10.0)
    add("peak memory of the 10^6-point sweep (process peak RSS)", "< 1 GB",
        f"{sw['peak_rss_kib'] * 1024 / 1e9:.2f} GB" +
        ("" if sw["n"] == 10 ** 6 else f" (at {sw['n']:,} points)"),
        sw["peak_rss_kib"] * 1024 < 1e9 if sw["n"] == 10 ** 6 else None)
    add("10^5-point Markov sweep (async, async-edc, ahasd; svip; L_max 2-4)", "<= 20 s",
        f"{mk_time_1e5:.1f} s" + (f" (extrapolated from {msw['n']:,} points)"
                                  if mk_extrapolated else ""), mk_time_1e5 <= 20.0,
        f"{msw['n'] / msw['seconds']:,.0f} points/s; follows the Markov-point times",
        mk_time_1e5 / 20.0)
    add("C batched vs plain-Python reference, serial point, one core", ">= 100x",
        f"{speedup:,.0f}x", speedup >= 100,
        f"reference {t_ref * 1e3:.2f} ms/point, C batched {t_c_batched * 1e6:.2f} us/point",
        100.0 / speedup)
    add("ahasd.estimate, every preset pair x schedule on ahasd-npu-pim", "< 1 ms each",
        f"worst {worst_pair[0] * 1e3:.3f} ms ({worst_pair[1]}, {worst_pair[2]})",
        not slow_pairs, "" if not slow_pairs else f"{len(slow_pairs)} of {len(pair_times)} "
        f"over: " + ", ".join(sorted({p[2] for p in slow_pairs})), worst_pair[0] / 1e-3)

    total_s = time.perf_counter() - t_start
    # ---------------------------------------------------------------- print + write
    log("\n" + "=" * 100)
    log(f"{'target':64s} {'limit':>12s} {'measured':>30s}  verdict")
    for r in rows:
        v = "-" if r.ok is None else ("PASS" if r.ok else "MISS")
        log(f"{r.target[:64]:64s} {r.limit:>12s} {r.measured[:30]:>30s}  {v}")
    n_ok = sum(1 for r in rows if r.ok)
    n_miss = sum(1 for r in rows if r.ok is False)
    log(f"{n_ok} pass, {n_miss} miss; bench took {total_s:.0f} s")

    ratios = [
        ("C batched sweep vs plain-Python reference (serial point, one core)", speedup),
        ("closed-form point (sync) vs GenZ's 49 ms per evaluation",
         ANCHORS["GenZ (speculative-decoding evaluation)"] / (c_sync)),
        ("closed-form point (sync) vs LLM-Viewer's 0.1 ms per roofline evaluation",
         ANCHORS["LLM-Viewer (roofline evaluation)"] / c_sync),
        ("Markov point (ahasd, svip) vs GenZ's 49 ms",
         ANCHORS["GenZ (speculative-decoding evaluation)"] / (us("markov:ahasd:svip") * 1e-6)),
        ("Markov point (ahasd, svip) vs Calculon's 2.4 ms",
         ANCHORS["Calculon"] / (us("markov:ahasd:svip") * 1e-6)),
        ("(K, A) law: cached vs cold (svip)",
         (us("dd_cold:svip") - clear_us) / us("dd_warm:svip")),
        ("ahasd.estimate(config=) vs its raw C call", py_cfg / py_raw),
        ("Markov point vs closed-form point (ahasd svip / sync svip)",
         us("markov:ahasd:svip") / us("closed:sync:svip")),
    ]
    write_results(Path(a.out), info, rows, C, cases, cg, ratios, total_s, quick, extra={
        "estimate_raw_cffi_us": py_raw * 1e6, "pairs": pair_times,
        "cf_sweep": sw, "mk_sweep": msw, "ref_sweep": sw1, "clear_us": clear_us})
    log(f"wrote {a.out}")
    return 0


def write_results(path: Path, info: dict[str, str], rows: list[Row], C: dict, cases: list[CCase],
                  cg: dict[str, float], ratios: list[tuple[str, float]], total_s: float,
                  quick: bool, extra: dict[str, Any]) -> None:
    L: list[str] = ["# Benchmark results" + (" (quick run)" if quick else ""), ""]
    L.append(f"Generated by `python benchmarks/bench.py{' --quick' if quick else ''}` "
             f"(`make bench`) in {total_s:.0f} s.  Targets: the \"Speed\" issue; what each "
             "line measures is in the docstring of benchmarks/bench.py.")
    L.append("")
    L.append("| machine | |")
    L.append("|---|---|")
    for k, v in info.items():
        L.append(f"| {k} | {v} |")
    L.append("")
    L.append("Absolute times vary on shared machines (note the load average above); "
             "the ratios measured in the same run, and the instruction counts, are the "
             "repeatable numbers.")
    L.append("")
    L.append("## Targets")
    L.append("")
    L.append("| target | limit | measured | verdict | note |")
    L.append("|---|---|---|---|---|")
    for r in rows:
        v = "-" if r.ok is None else ("pass" if r.ok else "**MISS**")
        L.append(f"| {r.target} | {r.limit} | {r.measured} | {v} | {r.note} |")
    L.append("")
    L.append("## Ratios (same run)")
    L.append("")
    L.append("| ratio | value |")
    L.append("|---|---:|")
    for name, v in ratios:
        L.append(f"| {name} | {v:,.1f}x |")
    L.append("")
    if cg:
        L.append("## Instruction counts (callgrind, per call)")
        L.append("")
        L.append("Repeatable where seconds are not: `valgrind --tool=callgrind "
                 "--toggle-collect=bench_body build/bench/c_bench build/bench/cases.bin one I N`"
                 " (one warm-up call uncollected; total / N).  `python benchmarks/bench.py "
                 "--profile` keeps the profiles and prints the hottest functions.")
        L.append("")
        L.append("| case | instructions / call | time / call (this run) |")
        L.append("|---|---:|---:|")
        for cid, n in cg.items():
            t = C.get(cid, {}).get("min_ns", float("nan")) / 1e3
            L.append(f"| {cid} | {n:,.0f} | {t:,.2f} us |")
        L.append("")
    L.append("## Every C case")
    L.append("")
    L.append("| case | what | calls timed | min / call | median / call | per second |")
    L.append("|---|---|---:|---:|---:|---:|")
    for c in cases:
        r = C.get(c.id)
        if r is None or r["status"] != "ok":
            L.append(f"| {c.id} | {KIND_NAMES[c.kind]} | - | - | - | "
                     f"{r['status'] if r else 'missing'} |")
            continue
        note = f"{KIND_NAMES[c.kind]}" + (f"; {c.note}" if c.note else "")
        L.append(f"| {c.id} | {note} | {r['iters']:,} x 5 | {r['min_ns'] / 1e3:,.3f} us | "
                 f"{r['median_ns'] / 1e3:,.3f} us | {1e9 / r['min_ns']:,.0f} |")
    L.append("")
    L.append(f"Cold cases include `ahasd_workspace_clear` ({extra['clear_us']:.3f} us, "
             "subtracted in the targets table).  A raw cffi call of `ahasd_estimate` from "
             f"Python takes {extra['estimate_raw_cffi_us']:.2f} us.")
    L.append("")
    L.append("## Sweeps")
    L.append("")
    L.append("| sweep | points | via | seconds | points / s | peak RSS |")
    L.append("|---|---:|---|---:|---:|---:|")
    for name, key in (("closed form (sync; alpha x k x npu bandwidth), both cores", "cf_sweep"),
                      ("Markov (schedule x L_max x npu x pim bandwidth; svip), both cores",
                       "mk_sweep"),
                      ("closed form (serial), one thread (for the reference ratio)",
                       "ref_sweep")):
        s = extra[key]
        L.append(f"| {name} | {s['n']:,} | {s['via']} | {s['seconds']:.2f} | "
                 f"{s['n'] / s['seconds']:,.0f} | {s['peak_rss_kib'] / 1024:,.0f} MiB |")
    L.append("")
    L.append("## ahasd.estimate per preset pair and schedule (ahasd-npu-pim, median of calls)")
    L.append("")
    pairs = extra["pairs"]
    scheds = list(dict.fromkeys(p[2] for p in pairs if p[0] == p[0]))
    L.append("| pair | " + " | ".join(scheds) + " |")
    L.append("|---|" + "---:|" * len(scheds))
    for d, t in PAIRS:
        cells = []
        for s in scheds:
            v = [p[0] for p in pairs if p[1] == f"{d}/{t}" and p[2] == s]
            cells.append(f"{v[0] * 1e3:.3f} ms" if v else "-")
        L.append(f"| {d}/{t} | " + " | ".join(cells) + " |")
    L.append("")
    path.write_text("\n".join(L) + "\n")


if __name__ == "__main__":
    sys.exit(main())
