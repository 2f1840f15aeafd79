"""Bad input, everywhere: it never crashes, never hangs, never returns a silent
NaN, and always says what was wrong.

- The C boundary (called through cffi, as any C caller would): every public
  entry point refuses NULL pointers, unknown identifiers and every hostile
  value of every parameter of the registry (NaN, infinities, negative, zero,
  tiny, huge, non-integral) with a negative status and a message that names
  the field, the value and the allowed range.
- The Python layer raises ``ahasd.ConfigError`` (a ``ValueError``) with the
  same text: bad keywords, values, types, names, array dtypes and shapes,
  TOML files with missing, extra, misspelled or mistyped fields (generated
  for every field of every fixture file), Markov matrices whose rows do not
  sum to 1.
- The command line prints one "ahasd: error: ..." line and exits 2, never a
  traceback.
- Sweeps report each bad point in the ``error`` column and count them.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ahasd
from ahasd import ConfigError, cli
from ahasd._native import ffi, lib

NAN, INF = float("nan"), float("inf")
HOSTILE = (NAN, INF, -INF, -1.0, -0.0, 0.0, 1e-300, 1e300, 2.385, 2.0 ** 31, 0.5)
ROOT = Path(__file__).resolve().parent.parent


def c_str(p: Any) -> str:
    return ffi.string(p).decode() if p != ffi.NULL else ""


def msg(err: Any) -> str:
    return ffi.string(err.msg).decode()


@pytest.fixture(scope="module")
def ws() -> Any:
    w = lib.ahasd_workspace_alloc()
    yield w
    lib.ahasd_workspace_free(w)


@pytest.fixture(scope="module")
def base_c() -> Any:
    """A valid ahasd_config (the AHASD schedule on the default platform)."""
    return ahasd.Config.build(schedule="ahasd", gen_len=64).to_c()


def copy_cfg(base: Any) -> Any:
    return ffi.new("ahasd_config *", base[0])


def fmt6g(v: float) -> str:
    """A value as the C messages print it (%.6g)."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "-inf" if v < 0 else "inf"
    return "%.6g" % v


def check_error(code: int, err: Any, *words: str) -> str:
    """A failed call: a known negative code, err->code repeats it, and the
    message is non-empty and contains every word."""
    assert code < 0, "the call succeeded"
    assert code >= lib.AHASD_ERR_UNSUPPORTED, code
    assert err.code == code
    text = msg(err)
    assert text and c_str(lib.ahasd_strerror(code)) != "unknown error code"
    for w in words:
        assert w in text, (w, text)
    return text


# --------------------------------------------------------------------------
# The build under test
# --------------------------------------------------------------------------
def test_the_native_variant_asked_for_is_loaded() -> None:
    """AHASD_NATIVE=asan (make pytest-asan) loads the sanitizer build, with the
    ASan runtime really in the process (preloaded); otherwise the plain one."""
    import ctypes

    from ahasd import _native
    if os.environ.get("AHASD_NATIVE") == "asan":
        assert _native._mod.__name__ == "ahasd._ahasd_cffi_asan"
        assert hasattr(ctypes.CDLL(None), "__asan_init")
    else:
        assert _native._mod.__name__ == "ahasd._ahasd_cffi"


# --------------------------------------------------------------------------
# C: NULL pointers and unknown identifiers
# --------------------------------------------------------------------------
def _null_calls(base: Any, ws: Any) -> list[tuple[str, Any]]:
    """(name, call(err) -> status) for every public entry point with a NULL
    where a pointer is required."""
    N = ffi.NULL
    cfg = copy_cfg(base)
    res = ffi.new("ahasd_result *")
    opt = ffi.new("ahasd_sim_options *", {"n_runs": 1})
    tab = ffi.new("ahasd_task_table *")
    dsum = ffi.new("ahasd_draft_summary *")
    ops = ffi.new("ahasd_op[]", 4)
    n_ops = ffi.new("size_t *")
    v = ffi.new("double *")
    ks, as_ = ffi.new("int[]", 4), ffi.new("int[]", 4)
    ids, vals = ffi.new("int[]", [0]), ffi.new("double[]", [1.0])
    out, st = ffi.new("double[]", 4), ffi.new("int[]", 4)
    return [
        ("config_default(NULL)", lambda e: lib.ahasd_config_default(N, e)),
        ("config_validate(NULL)", lambda e: lib.ahasd_config_validate(N, e)),
        ("model_validate(NULL)", lambda e: lib.ahasd_model_validate(N, b"x.", e)),
        ("model_size(NULL)", lambda e: lib.ahasd_model_size(N, v, v, e)),
        ("hardware_validate(NULL)", lambda e: lib.ahasd_hardware_validate(N, e)),
        ("profile_validate(NULL)", lambda e: lib.ahasd_profile_validate(N, e)),
        ("profile_iid(NULL)", lambda e: lib.ahasd_profile_iid(N, 0.5, e)),
        ("policy_validate(NULL)", lambda e: lib.ahasd_policy_validate(N, e)),
        ("estimate(cfg NULL)", lambda e: lib.ahasd_estimate(N, ws, res, e)),
        ("estimate(ws NULL)", lambda e: lib.ahasd_estimate(cfg, N, res, e)),
        ("estimate(res NULL)", lambda e: lib.ahasd_estimate(cfg, ws, N, e)),
        ("simulate(cfg NULL)", lambda e: lib.ahasd_simulate(N, opt, ws, res, e)),
        ("simulate(opt NULL)", lambda e: lib.ahasd_simulate(cfg, N, ws, res, e)),
        ("simulate(ws NULL)", lambda e: lib.ahasd_simulate(cfg, opt, N, res, e)),
        ("simulate(res NULL)", lambda e: lib.ahasd_simulate(cfg, opt, ws, N, e)),
        ("simulate(trace NULL, cap 8)",
         lambda e: lib.ahasd_simulate(cfg, ffi.new("ahasd_sim_options *",
                                                   {"n_runs": 1, "trace_cap": 8}), ws, res, e)),
        ("task_costs(cfg NULL)", lambda e: lib.ahasd_task_costs(N, 0.0, tab, e)),
        ("task_costs(out NULL)", lambda e: lib.ahasd_task_costs(cfg, 0.0, N, e)),
        ("pass_ops(hw NULL)", lambda e: lib.ahasd_pass_ops(N, ffi.addressof(cfg.target), 0, 1,
                                                           0.0, ops, 4, n_ops, e)),
        ("pass_ops(model NULL)", lambda e: lib.ahasd_pass_ops(ffi.addressof(cfg.hw), N, 0, 1,
                                                              0.0, ops, 4, n_ops, e)),
        ("pass_ops(ops NULL, cap 4)",
         lambda e: lib.ahasd_pass_ops(ffi.addressof(cfg.hw), ffi.addressof(cfg.target), 0, 1,
                                      0.0, N, 4, n_ops, e)),
        ("pass_ops(n_ops NULL)",
         lambda e: lib.ahasd_pass_ops(ffi.addressof(cfg.hw), ffi.addressof(cfg.target), 0, 1,
                                      0.0, ops, 4, N, e)),
        ("draft_dist(profile NULL)",
         lambda e: lib.ahasd_draft_dist(N, ffi.addressof(cfg.policy), -2, ws, dsum, e)),
        ("draft_dist(policy NULL)",
         lambda e: lib.ahasd_draft_dist(ffi.addressof(cfg.profile), N, -2, ws, dsum, e)),
        ("draft_dist(ws NULL)",
         lambda e: lib.ahasd_draft_dist(ffi.addressof(cfg.profile),
                                        ffi.addressof(cfg.policy), -2, N, dsum, e)),
        ("draft_dist(out NULL)",
         lambda e: lib.ahasd_draft_dist(ffi.addressof(cfg.profile),
                                        ffi.addressof(cfg.policy), -2, ws, N, e)),
        ("draft_sample(profile NULL)",
         lambda e: lib.ahasd_draft_sample(N, ffi.addressof(cfg.policy), -2, 1, 4, ks, as_, e)),
        ("draft_sample(k_out NULL)",
         lambda e: lib.ahasd_draft_sample(ffi.addressof(cfg.profile),
                                          ffi.addressof(cfg.policy), -2, 1, 4, N, as_, e)),
        ("draft_sample(a_out NULL)",
         lambda e: lib.ahasd_draft_sample(ffi.addressof(cfg.profile),
                                          ffi.addressof(cfg.policy), -2, 1, 4, ks, N, e)),
        ("param_set(NULL)", lambda e: lib.ahasd_param_set(N, 0, 1.0, e)),
        ("param_get(cfg NULL)", lambda e: lib.ahasd_param_get(N, 0, v, e)),
        ("param_get(value NULL)", lambda e: lib.ahasd_param_get(cfg, 0, N, e)),
        ("sweep(base NULL)", lambda e: lib.ahasd_sweep(N, 1, 1, ids, vals, 1, ids, 0, 0, 1,
                                                       out, st, ws, e)),
        ("sweep(ws NULL)", lambda e: lib.ahasd_sweep(cfg, 1, 1, ids, vals, 1, ids, 0, 0, 1,
                                                     out, st, N, e)),
        ("sweep(status NULL)", lambda e: lib.ahasd_sweep(cfg, 1, 1, ids, vals, 1, ids, 0, 0, 1,
                                                         out, N, ws, e)),
        ("sweep(param_ids NULL)", lambda e: lib.ahasd_sweep(cfg, 1, 1, N, vals, 1, ids, 0, 0,
                                                            1, out, st, ws, e)),
        ("sweep(values NULL)", lambda e: lib.ahasd_sweep(cfg, 1, 1, ids, N, 1, ids, 0, 0, 1,
                                                         out, st, ws, e)),
        ("sweep(out NULL)", lambda e: lib.ahasd_sweep(cfg, 1, 1, ids, vals, 1, ids, 0, 0, 1,
                                                      N, st, ws, e)),
        ("sweep(out_ids NULL)", lambda e: lib.ahasd_sweep(cfg, 1, 1, ids, vals, 1, N, 0, 0, 1,
                                                          out, st, ws, e)),
    ] + _null_calls_opt(cfg, ws)


def _null_calls_opt(cfg: Any, ws: Any) -> list[tuple[str, Any]]:
    """ahasd_optimize and ahasd_calibrate with each required pointer NULL."""
    N = ffi.NULL
    pid = lib.ahasd_param_find(b"pim.mem_bw_util")
    ids = ffi.new("int[]", [pid])
    lo, hi, x = ffi.new("double[]", [0.1]), ffi.new("double[]", [1.0]), ffi.new("double[]", 1)
    osum, fsum = ffi.new("ahasd_opt_summary *"), ffi.new("ahasd_fit_summary *")
    obs, oid = ffi.new("double[]", [5.0]), ffi.new("int[]", [0])
    x0, se = ffi.new("double[]", [0.5]), ffi.new("double[]", 1)

    def opt(**kw: Any) -> Any:
        a = {"cfg": cfg, "ids": ids, "lo": lo, "hi": hi, "x": x, "sum": osum, "ws": ws, **kw}
        return lambda e: lib.ahasd_optimize(a["cfg"], 1, a["ids"], a["lo"], a["hi"], 0, 1, 0,
                                            N, N, N, 4, a["x"], a["sum"], a["ws"], e)

    def cal(**kw: Any) -> Any:
        a = {"cfg": cfg, "oid": oid, "obs": obs, "ids": ids, "x0": x0, "lo": lo, "hi": hi,
             "se": se, "sum": fsum, "ws": ws, **kw}
        return lambda e: lib.ahasd_calibrate(a["cfg"], 1, a["oid"], a["obs"], 1, a["ids"],
                                             a["x0"], a["lo"], a["hi"], a["se"], a["sum"],
                                             a["ws"], e)

    out = [(f"optimize({k} NULL)", opt(**{k: N})) for k in
           ("cfg", "ids", "lo", "hi", "x", "sum", "ws")]
    out += [(f"calibrate({k} NULL)", cal(**{k: N})) for k in
            ("cfg", "oid", "obs", "ids", "x0", "lo", "hi", "se", "sum", "ws")]
    return out


def test_null_pointers_are_refused(base_c, ws) -> None:
    calls = _null_calls(base_c, ws)
    for name, call in calls:
        err = ffi.new("ahasd_error *")
        code = call(err)
        check_error(code, err)
        assert code == lib.AHASD_ERR_NULL, (name, code, msg(err))
        # the same call without an error struct fails the same way, quietly
        assert call(ffi.NULL) == code, name


def test_free_and_clear_accept_null() -> None:
    lib.ahasd_workspace_free(ffi.NULL)
    lib.ahasd_workspace_clear(ffi.NULL)


def test_unknown_identifiers(base_c, ws) -> None:
    n = lib.ahasd_param_count()
    for i in (-1, n, n + 1, 2 ** 31 - 1, -(2 ** 31)):
        assert lib.ahasd_param_name(i) == ffi.NULL
        assert lib.ahasd_param_doc(i) == ffi.NULL
        assert lib.ahasd_param_is_int(i) < 0
        err = ffi.new("ahasd_error *")
        check_error(lib.ahasd_param_set(copy_cfg(base_c), i, 1.0, err), err, str(i))
        check_error(lib.ahasd_param_get(base_c, i, ffi.new("double *"), err), err, str(i))
    for name in (ffi.NULL, b"", b"k ", b"K", b"pim", b"pim.", b".k", b"alpha.x", b"x" * 4096,
                 "pim.bandwidth\u00e9".encode()):
        assert lib.ahasd_param_find(name) == lib.AHASD_ERR_UNKNOWN, name
    for i in (-1, lib.AHASD_N_OUT, 10 ** 6):
        assert lib.ahasd_output_name(i) == ffi.NULL
    for fn, n_ok in ((lib.ahasd_schedule_name, lib.AHASD_N_SCHEDULES),
                     (lib.ahasd_policy_name, lib.AHASD_N_POLICIES),
                     (lib.ahasd_device_name, lib.AHASD_N_DEVICES),
                     (lib.ahasd_task_name, lib.AHASD_N_TASKS),
                     (lib.ahasd_ecause_name, lib.AHASD_N_ECAUSES)):
        assert all(fn(i) != ffi.NULL for i in range(n_ok))
        assert fn(-1) == ffi.NULL and fn(n_ok) == ffi.NULL
    for code in (1, -10, -(2 ** 31), 2 ** 31 - 1):
        assert c_str(lib.ahasd_strerror(code)) == "unknown error code"
    # sweep: unknown parameter and output ids, and n_runs out of range
    cfg = copy_cfg(base_c)
    out, st = ffi.new("double[]", 4), ffi.new("int[]", 4)
    vals = ffi.new("double[]", [1.0])
    for pid, oid, sim, runs, word in ((n, 0, 0, 1, "unknown id"), (-1, 0, 0, 1, "unknown id"),
                                      (0, lib.AHASD_N_OUT, 0, 1, "unknown id"),
                                      (0, -1, 0, 1, "unknown id"), (0, 0, 1, 0, "n_runs = 0"),
                                      (0, 0, 1, 2 ** 31 - 1, "n_runs")):
        err = ffi.new("ahasd_error *")
        code = lib.ahasd_sweep(cfg, 1, 1, ffi.new("int[]", [pid]), vals, 1,
                               ffi.new("int[]", [oid]), sim, 0, runs, out, st, ws, err)
        check_error(code, err, word)


# --------------------------------------------------------------------------
# C: every parameter of the registry, every hostile value
# --------------------------------------------------------------------------
_ALIAS_OF = {"pim.internal_bw_bytes_per_s": "pim.mem_bw_bytes_per_s",
             "pim.internal_bw": "pim.mem_bw_bytes_per_s",
             "pim.internal_bw_util": "pim.mem_bw_util",
             "npu.offchip_bw_bytes_per_s": "npu.mem_bw_bytes_per_s",
             "npu.offchip_bw_util": "npu.mem_bw_util"}


def _registry() -> list[tuple[int, str, bool]]:
    return [(i, c_str(lib.ahasd_param_name(i)), bool(lib.ahasd_param_is_int(i)))
            for i in range(lib.ahasd_param_count())]


def _point_outcome(base: Any, pid: int, value: float, ws: Any) -> tuple[str, int, str, Any]:
    """Set one parameter, then validate and estimate: (stage, code, message, result)."""
    cfg = copy_cfg(base)
    err = ffi.new("ahasd_error *")
    code = lib.ahasd_param_set(cfg, pid, value, err)
    if code < 0:
        return "set", code, msg(err), None
    code = lib.ahasd_config_validate(cfg, err)
    if code < 0:
        return "validate", code, msg(err), None
    res = ffi.new("ahasd_result *")
    code = lib.ahasd_estimate(cfg, ws, res, err)
    return "estimate", code, msg(err) if code < 0 else "", res


@pytest.mark.parametrize("schedule", ["sync", "ahasd"])
def test_every_parameter_every_hostile_value(schedule: str, ws) -> None:
    """Each point either succeeds with finite outputs, or fails with a message
    that names the parameter (or the field it depends on) and its value."""
    base = ahasd.Config.build(schedule=schedule, gen_len=64, segments=1).to_c()
    reg = _registry()
    tried = failed = 0
    for pid, name, is_int in reg:
        for value in HOSTILE:
            tried += 1
            stage, code, text, res = _point_outcome(base, pid, value, ws)
            if code == 0:
                outs = [res.out[o] for o in range(lib.AHASD_N_OUT)
                        if not lib.AHASD_OUT_GAP_P50_S <= o <= lib.AHASD_OUT_GAP_P99_S]
                assert all(math.isfinite(x) for x in outs), (name, value)
                assert 0.0 <= res.out[lib.AHASD_OUT_ACCEPTANCE_RATE] <= 1.0
                continue
            failed += 1
            assert text, (name, value, stage)
            if stage == "set":
                assert name in text and ("finite" in text or "integer" in text), text
                if name != "alpha":
                    assert not (math.isfinite(value) and (not is_int or value == int(value)
                                                          and abs(value) < 2 ** 31)), text
                continue
            if code in (lib.AHASD_ERR_NUMERIC, lib.AHASD_ERR_GSL):
                continue    # a method that failed says so (messages checked above)
            # A range error names a field and the value the C core saw; it is
            # the parameter set, or (a dependent check) a field it constrains.
            assert "is not allowed" in text or "must" in text or "cannot" in text or \
                "needs" in text, (name, value, text)
    assert failed > tried // 3      # most hostile values are refused
    assert tried == len(reg) * len(HOSTILE)


def test_parameter_errors_name_field_value_and_range(base_c, ws) -> None:
    """The direct validation errors name the dotted field, the value and the range."""
    cases = [
        ("k", 0.0, ["policy.k", "= 0", "[1,"]),
        ("k_max", 33.0, ["k_max = 33", "32"]),
        ("l_max", 9.0, ["l_max = 9", "[1, 8]"]),
        ("gen_len", 0.0, ["gen_len = 0", "[1, 16777216]"]),
        ("prompt_len", -1.0, ["prompt_len = -1", "[0, 16777216]"]),
        ("segments", 65.0, ["segments = 65", "[1, 64]"]),
        ("m_max", 0.0, ["m_max = 0"]),
        ("schedule", 7.0, ["schedule = 7", "[0, 6]"]),
        ("pim.mem_bw_bytes_per_s", -1.0, ["pim.mem_bw_bytes_per_s = -1", "(0, inf)"]),
        ("npu.compute_util", 1.5, ["npu.compute_util = 1.5", "(0, 1]"]),
        ("npu.static_w", -0.5, ["npu.static_w = -0.5", "[0, inf)"]),
        ("contention", -1.0, ["contention = -1"]),
        ("target.layers", 0.0, ["target.layers = 0", "[1, 100000]"]),
        ("draft.kv_heads", 0.0, ["draft.kv_heads = 0"]),
        ("target.weight_bytes", 0.0, ["target.weight_bytes = 0", "(0, 64]"]),
        ("position_decay", 0.0, ["position_decay = 0"]),
        ("pred_scale", -1.0, ["pred_scale = -1"]),
        ("h_max", 0.0, ["h_max = 0"]),
        ("alpha", 1.5, ["alpha = 1.5", "[0, 1]"]),
        ("alpha", NAN, ["alpha = nan"]),
        ("npu.matrix_ops_per_s", 1e-300, ["npu.matrix_ops_per_s = 1e-300"]),
    ]
    for name, value, words in cases:
        pid = lib.ahasd_param_find(name.encode())
        assert pid >= 0, name
        stage, code, text, _ = _point_outcome(base_c, pid, value, ws)
        assert code < 0, (name, value)
        for w in words:
            assert w in text, (name, w, text)


def test_profile_and_policy_structs_from_raw_values(base_c) -> None:
    """Fields the registry cannot reach (matrix rows, arms, counts), set raw."""
    B = lib.AHASD_MAX_BUCKETS
    cases: list[tuple[str, Any, list[str]]] = []

    def prof(**kw: Any) -> Any:
        c = copy_cfg(base_c)
        p = c.profile
        lib.ahasd_profile_iid(ffi.addressof(p), 0.8, ffi.NULL)
        for k, v in kw.items():
            if k == "q":
                for (i, j), x in v.items():
                    p.q[i * B + j] = x
            elif isinstance(v, dict):
                arr = getattr(p, k)
                for i, x in v.items():
                    arr[i] = x
            else:
                setattr(p, k, v)
        return c

    two = {(0, 0): 0.5, (0, 1): 0.5, (1, 0): 0.5, (1, 1): 0.5}
    cases += [
        ("rows not summing to 1", prof(buckets=2, q={**two, (1, 1): 0.6},
                                       accept={0: 0.5, 1: 0.5}), ["q", "row 1", "sum"]),
        ("row summing to 0", prof(buckets=2, q={**two, (0, 0): 0.0, (0, 1): 0.0},
                                  accept={0: 0.5, 1: 0.5}), ["q", "row 0"]),
        ("negative entry", prof(buckets=2, q={**two, (0, 0): -0.5, (0, 1): 1.5},
                                accept={0: 0.5, 1: 0.5}), ["q"]),
        ("NaN entry", prof(buckets=2, q={**two, (0, 0): NAN}, accept={0: 0.5, 1: 0.5}), ["q"]),
        ("acceptance > 1", prof(accept={0: 1.5}), ["accept", "1.5"]),
        ("acceptance NaN", prof(accept={0: NAN}), ["accept", "nan"]),
        ("buckets 0", prof(buckets=0), ["buckets = 0"]),
        ("buckets 17", prof(buckets=B + 1), [f"buckets = {B + 1}"]),
        ("init not a law", prof(buckets=2, q=two, accept={0: 0.5, 1: 0.5},
                                init={0: 0.2, 1: 0.2}), ["init"]),
        ("init negative", prof(buckets=2, q=two, accept={0: 0.5, 1: 0.5},
                               init={0: -0.5, 1: 1.5}), ["init"]),
        ("decay > 1", prof(position_decay=1.5), ["position_decay = 1.5"]),
    ]

    def pol(kind: int, **kw: Any) -> Any:
        c = copy_cfg(base_c)
        c.policy.kind = kind
        for k, v in kw.items():
            if k == "arms":
                c.policy.arms = v + [0] * (lib.AHASD_MAX_ARMS - len(v))
            else:
                setattr(c.policy, k, v)
        return c

    P = lib
    cases += [
        ("kind -1", pol(-1), ["kind = -1"]),
        ("kind 99", pol(99), ["kind = 99"]),
        ("k_min > k_max", pol(P.AHASD_POLICY_SVIP, k_min=8, k_max=4), ["k_max = 4", "[8,"]),
        ("n_arms 0", pol(P.AHASD_POLICY_BANDITSPEC, n_arms=0), ["n_arms = 0"]),
        ("n_arms 17", pol(P.AHASD_POLICY_BANDITSPEC, n_arms=17), ["n_arms = 17"]),
        ("arm 0", pol(P.AHASD_POLICY_BANDITSPEC, n_arms=2, arms=[0, 4]), ["arms", "0"]),
        ("arm 33", pol(P.AHASD_POLICY_BANDITSPEC, n_arms=2, arms=[2, 33]), ["arms", "33"]),
        ("tau 1.5", pol(P.AHASD_POLICY_SPECDECPP, specdecpp_tau=1.5), ["specdecpp_tau = 1.5"]),
        ("grid 0", pol(P.AHASD_POLICY_SPECDECPP, specdecpp_grid=0), ["specdecpp_grid = 0"]),
        ("svip_h NaN", pol(P.AHASD_POLICY_SVIP, svip_h=NAN), ["svip_h = nan"]),
        ("explore -1", pol(P.AHASD_POLICY_BANDITSPEC, bandit_explore=-1.0),
         ["bandit_explore = -1"]),
    ]
    for label, c, words in cases:
        err = ffi.new("ahasd_error *")
        code = lib.ahasd_config_validate(c, err)
        check_error(code, err, *words)


def test_simulate_options_and_trace_buffers(base_c, ws) -> None:
    res = ffi.new("ahasd_result *")
    for n_runs in (0, -1, 1_000_001, 2 ** 31 - 1, -(2 ** 31)):
        err = ffi.new("ahasd_error *")
        opt = ffi.new("ahasd_sim_options *", {"n_runs": n_runs})
        check_error(lib.ahasd_simulate(base_c, opt, ws, res, err), err, f"n_runs = {n_runs}")
    # a small trace buffer is filled up to its capacity and never beyond
    for cap in (1, 2, 7):
        buf = ffi.new("ahasd_trace_event[]", cap + 1)
        buf[cap].run = 12345                       # a canary after the buffer
        opt = ffi.new("ahasd_sim_options *", {"n_runs": 1, "trace": buf, "trace_cap": cap})
        err = ffi.new("ahasd_error *")
        assert lib.ahasd_simulate(base_c, opt, ws, res, err) == 0, msg(err)
        assert opt.trace_len == cap < opt.trace_needed
        assert buf[cap].run == 12345


def test_task_costs_and_pass_ops_arguments(base_c) -> None:
    tab = ffi.new("ahasd_task_table *")
    for ctx in (NAN, INF, -1.0, -1e-300, 1e10, 1e300):
        err = ffi.new("ahasd_error *")
        check_error(lib.ahasd_task_costs(base_c, ctx, tab, err), err, "context")
    hw, m = ffi.addressof(base_c.hw), ffi.addressof(base_c.target)
    n_ops = ffi.new("size_t *")
    ops = ffi.new("ahasd_op[]", 64)
    for dev, npos, ctx, words in ((-1, 1, 0.0, ["device = -1"]), (4, 1, 0.0, ["device = 4"]),
                                  (2, 1, 0.0, ["absent"]), (0, 0, 0.0, ["n_positions = 0"]),
                                  (0, -5, 0.0, ["n_positions = -5"]),
                                  (0, 2 ** 31 - 1, 0.0, ["n_positions"]),
                                  (0, 1, NAN, ["context = nan"]), (0, 1, -1.0, ["context = -1"]),
                                  (0, 1, INF, ["context = inf"])):
        err = ffi.new("ahasd_error *")
        check_error(lib.ahasd_pass_ops(hw, m, dev, npos, ctx, ops, 64, n_ops, err), err, *words)
    # a short buffer: the count needed, cap rows written, a buffer error
    err = ffi.new("ahasd_error *")
    code = lib.ahasd_pass_ops(hw, m, 0, 1, 0.0, ops, 3, n_ops, err)
    check_error(code, err, "cap = 3")
    assert code == lib.AHASD_ERR_BUFFER and n_ops[0] > 3
    assert lib.ahasd_pass_ops(hw, m, 0, 1, 0.0, ffi.NULL, 0, n_ops, err) == 0 and n_ops[0] > 3


def test_draft_functions_arguments(base_c, ws) -> None:
    prof, pol = ffi.addressof(base_c.profile), ffi.addressof(base_c.policy)
    out = ffi.new("ahasd_draft_summary *")
    B = base_c.profile.buckets
    for start in (-3, -100, B, 16, 2 ** 31 - 1, -(2 ** 31)):
        err = ffi.new("ahasd_error *")
        check_error(lib.ahasd_draft_dist(prof, pol, start, ws, out, err), err, "start")
        ks, as_ = ffi.new("int[]", 2), ffi.new("int[]", 2)
        check_error(lib.ahasd_draft_sample(prof, pol, start, 0, 2, ks, as_, err), err, "start")
    # n = 0 with NULL outputs is a valid empty draw
    err = ffi.new("ahasd_error *")
    assert lib.ahasd_draft_sample(prof, pol, -2, 0, 0, ffi.NULL, ffi.NULL, err) == 0, msg(err)


def test_size_overflow_in_sweep_arguments(base_c, ws) -> None:
    """n_points x n_out and n_params x n_points that overflow size_t are refused
    before any array is touched."""
    big = 2 ** 63
    ids, vals = ffi.new("int[]", [0]), ffi.new("double[]", [1.0])
    oids, out, st = ffi.new("int[]", [0, 1]), ffi.new("double[]", 2), ffi.new("int[]", 1)
    for n_points, n_params, n_out in ((big, 1, 2), (big, 2, 1), (2 ** 64 - 1, 1, 1)):
        err = ffi.new("ahasd_error *")
        code = lib.ahasd_sweep(base_c, n_points, n_params, ids, vals, n_out, oids, 0, 0, 1,
                               out, st, ws, err)
        check_error(code, err, "overflow")


# --------------------------------------------------------------------------
# Python: values, types, names
# --------------------------------------------------------------------------
ESTIMATE_CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"alpha": NAN}, ["alpha", "nan"]), ({"alpha": INF}, ["alpha", "inf"]),
    ({"alpha": -0.1}, ["alpha = -0.1", "[0, 1]"]), ({"alpha": 1.5}, ["alpha = 1.5"]),
    ({"alpha": "0.5"}, ["alpha", "'0.5'"]), ({"alpha": True}, ["alpha", "True"]),
    ({"alpha": [0.5]}, ["alpha"]), ({"alpha": np.float64("nan")}, ["alpha", "nan"]),
    ({"k": 0}, ["k = 0"]), ({"k": -1}, ["k = -1"]), ({"k": 33}, ["k"]), ({"k": 2.5}, ["k", "2.5"]),
    ({"k": NAN}, ["k", "nan"]), ({"k": "4"}, ["k", "'4'"]), ({"k": None, "k_min": 0}, ["k_min"]),
    ({"gen_len": 0}, ["gen_len = 0"]), ({"gen_len": -5}, ["gen_len = -5"]),
    ({"gen_len": 2 ** 40}, ["gen_len", str(2 ** 40)]), ({"gen_len": 1.5}, ["gen_len", "1.5"]),
    ({"prompt_len": -1}, ["prompt_len = -1"]), ({"l_max": 0}, ["l_max = 0"]),
    ({"l_max": 9}, ["l_max = 9"]), ({"m_max": 0}, ["m_max = 0"]),
    ({"segments": 0}, ["segments = 0"]), ({"segments": 10 ** 6}, ["segments"]),
    ({"k_design": -1}, ["k_design = -1"]),
    ({"schedule": "bogus"}, ["schedule", "'bogus'", "autoregressive"]),
    ({"schedule": "Sync"}, ["schedule", "did you mean 'sync'"]), ({"schedule": 7}, ["schedule"]),
    ({"schedule": -1}, ["schedule"]), ({"schedule": 2.5}, ["schedule"]),
    ({"policy": "bogus"}, ["kind", "'bogus'", "banditspec"]), ({"policy": 3.5}, ["kind", "3.5"]),
    ({"policy": ["svip"]}, ["policy"]),
    ({"workload": "nope"}, ["workload", "'nope'", "alpaca"]),
    ({"workload": ""}, ["workload", "non-empty"]), ({"workload": 5}, ["workload"]),
    ({"hardware": "nope"}, ["hardware", "'nope'"]), ({"hardware": "/nonexistent.toml"},
                                                     ["does not exist"]),
    ({"draft": "nope"}, ["model", "'nope'"]), ({"target": ""}, ["non-empty"]),
    ({"target": str(ROOT)}, ["model preset", str(ROOT)]),
    ({"tvc_predictor": "x"}, ["tvc_predictor", "moving-average"]),
    ({"policy": "svip", "svip_h": NAN}, ["svip_h", "nan"]),
    ({"policy": "svip", "svip_h": -1.0}, ["svip_h = -1"]),
    ({"policy": "svip", "k_min": 0}, ["k_min = 0"]), ({"policy": "svip", "k_max": 100},
                                                      ["k_max = 100"]),
    ({"policy": "banditspec", "arms": []}, ["arms", "0 arms"]),
    ({"policy": "banditspec", "arms": [0]}, ["arms"]),
    ({"policy": "banditspec", "arms": [40]}, ["arms", "40"]),
    ({"policy": "banditspec", "arms": list(range(1, 20))}, ["arms", "19"]),
    ({"policy": "banditspec", "arms": "1,2"}, ["arms"]),
    ({"policy": "banditspec", "arms": [1.5]}, ["arms", "1.5"]),
    ({"policy": "specdecpp", "specdecpp_tau": 1.5}, ["specdecpp_tau = 1.5"]),
    ({"policy": "specdecpp", "specdecpp_grid": 0}, ["specdecpp_grid = 0"]),
    ({"policy": "banditspec", "bandit_explore": -1.0}, ["bandit_explore = -1"]),
    ({"policy": "fixed", "svip_h": 1.0}, ["svip_h", "'svip'"]),
    ({"alpha": 0.5, "workload": "alpaca"}, ["alpha", "workload", "not both"]),
    ({"pim.mem_bw_bytes_per_s": 0}, ["pim.mem_bw_bytes_per_s"]),
    ({"pim.mem_bw_bytes_per_s": -1}, ["pim.mem_bw_bytes_per_s", "-1"]),
    ({"pim.mem_bw_bytes_per_s": NAN}, ["pim.mem_bw_bytes_per_s", "nan"]),
    ({"pim.mem_bw_bytes_per_s": INF}, ["pim.mem_bw_bytes_per_s", "inf"]),
    ({"pim.internal_bw": -2.0}, ["pim.mem_bw_bytes_per_s", "-2"]),
    ({"npu.compute_util": 1.5}, ["npu.compute_util", "1.5"]),
    ({"npu.compute_util": 0}, ["npu.compute_util"]), ({"contention": -1}, ["contention"]),
    ({"sync_s": -1e-9}, ["sync_s"]), ({"rollback_s": NAN}, ["rollback_s"]),
    ({"target.layers": 0}, ["target.layers = 0"]),
    ({"target.layers": 2 ** 31}, ["target.layers", str(2 ** 31)]),
    ({"target.weight_bytes": 0}, ["target.weight_bytes"]),
    ({"target.heads": 7}, ["kv_heads"]), ({"draft.kv_heads": 0}, ["draft.kv_heads"]),
    ({"target.ffn_kind": "moe"}, ["ffn_kind", "'moe'"]),
    ({"workload.position_decay": 0}, ["position_decay"]),
    ({"workload.position_decay": 1.1}, ["position_decay = 1.1"]),
    ({"workload.pred_scale": 0}, ["pred_scale"]), ({"workload.h_max": -1}, ["h_max"]),
    ({"npu.matrix_ops_per_s": 1e-300}, ["npu.matrix_ops_per_s = 1e-300"]),
    ({"pim.bogus": 1}, ["bogus"]), ({"bogus": 1}, ["'bogus'"]), ({"alhpa": 0.5}, ["alpha"]),
    ({"costs.draft_token_s": 1.0}, ["costs", "no explicit task costs"]),
    ({"npu.has_aau": True}, ["has_aau"]), ({"pim.has_aau": 2}, ["has_aau"]),
    ({"draft_dev": "gpu"}, ["draft_dev", "gpu"]), ({"verify_dev": "tpu"}, ["verify_dev", "'tpu'"]),
    ({"draft_dev": "npu"}, ["needs two devices"]),
    ({"config": 5}, ["config", "ahasd.Config"]),
]


@pytest.mark.parametrize("kw,words", ESTIMATE_CASES,
                         ids=[",".join(f"{k}={v!r:.20}" for k, v in c[0].items())
                              for c in ESTIMATE_CASES])
def test_estimate_refuses(kw: dict[str, Any], words: list[str]) -> None:
    kw = {k: v for k, v in kw.items() if v is not None}
    with pytest.raises(ConfigError) as exc:
        ahasd.estimate(**kw)
    assert isinstance(exc.value, ValueError)
    for w in words:
        assert w in str(exc.value), (w, str(exc.value))


@pytest.mark.parametrize("fn,kw,words", [
    ("simulate", {"n_runs": 0}, ["n_runs = 0"]), ("simulate", {"n_runs": -1}, ["n_runs"]),
    ("simulate", {"n_runs": 1.5}, ["n_runs", "1.5"]),
    ("simulate", {"n_runs": 10 ** 7}, ["n_runs", "1000000"]),
    ("simulate", {"n_runs": 2 ** 40}, ["n_runs"]), ("simulate", {"n_runs": "3"}, ["n_runs"]),
    ("simulate", {"seed": -1}, ["seed = -1"]), ("simulate", {"seed": 2 ** 64}, ["seed"]),
    ("simulate", {"seed": NAN}, ["seed"]), ("simulate", {"seed": "1"}, ["seed"]),
    ("simulate", {"seed": 1.5}, ["seed"]), ("simulate", {"tvc_predictor": "psychic"},
                                            ["tvc_predictor"]),
    ("draft_distribution", {"start": 99}, ["start = 99"]),
    ("draft_distribution", {"start": "x"}, ["start", "'x'"]),
    ("draft_distribution", {"start": -5}, ["start"]),
    ("draft_distribution", {"start": 2 ** 40}, ["start"]),
    ("draft_distribution", {"policy": "svip", "svip_h": NAN}, ["svip_h"]),
    ("draft_distribution", {"bogus": 1}, ["'bogus'"]),
    ("draft_distribution", {"alpha": 2.0}, ["alpha = 2"]),
    ("draft_sample", {"n": -1}, ["n = -1"]), ("draft_sample", {"n": 2 ** 62}, ["n"]),
    ("draft_sample", {"n": 1.5}, ["n", "1.5"]), ("draft_sample", {"seed": -1}, ["seed"]),
    ("pass_ops", {"n_positions": 0}, ["n_positions = 0"]),
    ("pass_ops", {"n_positions": 2 ** 40}, ["n_positions"]),
    ("pass_ops", {"context": -1}, ["context = -1"]),
    ("pass_ops", {"context": NAN}, ["context", "nan"]),
    ("pass_ops", {"device": "tpu"}, ["device", "'tpu'"]),
    ("pass_ops", {"device": "gpu"}, ["device", "no gpu"]),
    ("pass_ops", {"model": "nope"}, ["'nope'"]),
    ("task_costs", {"context": -1}, ["context = -1"]),
    ("task_costs", {"context": 1e300}, ["context"]),
    ("task_costs", {"context": "x"}, ["context"]),
])
def test_api_functions_refuse(fn: str, kw: dict[str, Any], words: list[str]) -> None:
    if fn == "simulate":
        kw = {"gen_len": 16, **kw}
    with pytest.raises(ConfigError) as exc:
        getattr(ahasd, fn)(**kw)
    for w in words:
        assert w in str(exc.value), (w, str(exc.value))


@pytest.mark.parametrize("cls,kw,words", [
    ("Config", {"bogus": 1}, ["Config has no field 'bogus'"]),
    ("Config", {"schedul": "sync"}, ["did you mean 'schedule'"]),
    ("TaskCosts", {"draft_token_s": 1, "verify_s": 1, "bogus": 1}, ["no field 'bogus'"]),
    ("TaskCosts", {"verify_s": 1}, ["draft_token_s"]),
    ("TaskCosts", {"draft_token_s": -1, "verify_s": 1}, ["draft_token_s = -1"]),
    ("TaskCosts", {"draft_token_s": NAN, "verify_s": 1}, ["draft_token_s", "nan"]),
    ("TaskCosts", {"draft_token_s": 1, "verify_s": (1, 2, 3)}, ["verify_s"]),
    ("TaskCosts", {"draft_token_s": 1, "verify_s": "1"}, ["verify_s"]),
    ("TaskCosts", {"draft_token_s": 1, "verify_s": (INF, 0)}, ["verify_s"]),
    ("TaskCosts", {"draft_token_s": 1, "verify_s": (-1, 0)}, ["verify_s"]),
    ("TaskCosts", {"draft_token_s": 1, "verify_s": 1, "idle_w": {"tpu": 1}}, ["'tpu'"]),
    ("TaskCosts", {"draft_token_s": 1, "verify_s": 1, "idle_w": [1]}, ["idle_w"]),
    ("TaskCosts", {"draft_token_s": 1, "verify_s": 1, "idle_w": {"npu": -1}}, ["idle_w"]),
    ("Model", {"layers": 2, "hidden": 64, "heads": 4, "ffn": 8, "vocab": 10, "bogus": 1},
     ["Model has no field 'bogus'"]),
    ("Model", {"layers": 2, "hidden": 64, "heads": 4, "ffn": 8}, ["vocab"]),
    ("Model", {"layers": 2 ** 40, "hidden": 64, "heads": 4, "ffn": 8, "vocab": 10},
     ["layers"]),
    ("Model", {"layers": 2, "hidden": 64, "heads": 5, "ffn": 8, "vocab": 10}, ["heads"]),
    ("Device", {"matrix_ops_per_s": 1, "vector_ops_per_s": 1, "mem_bw_bytes_per_s": 1,
                "mem_bw": 1}, ["did you mean"]),
    ("Device", {"matrix_ops_per_s": -1, "vector_ops_per_s": 1, "mem_bw_bytes_per_s": 1},
     ["matrix_ops_per_s = -1"]),
    ("Hardware", {"npu": 5}, ["npu"]), ("Hardware", {"tpu": None}, ["no field 'tpu'"]),
    ("Hardware", {"draft_dev": "tpu"}, ["draft_dev"]),
    ("Workload", {"buckets": 1, "h_max": 1, "q": [[1.0]], "accept": [0.5], "bogus": 1},
     ["no field 'bogus'"]),
    ("Workload", {"buckets": 1, "h_max": 1, "q": [[1.0]]}, ["accept"]),
    ("Policy", {"kind": "svip", "svip_h": NAN}, ["svip_h"]),
    ("Policy", {"kind": "bogus"}, ["'bogus'"]),
    ("Policy", {"kind": None}, ["kind"]),
])
def test_constructors_refuse(cls: str, kw: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(ConfigError) as exc:
        getattr(ahasd, cls)(**kw)
    for w in words:
        assert w in str(exc.value), (w, str(exc.value))


def test_policy_with_huge_integers_raises_config_error() -> None:
    """An integer too large for a C int is bad input, not an OverflowError
    (ahasd/policy.py fills the C struct from unchecked Python ints)."""
    for kw in ({"kind": "fixed", "k": 10 ** 30}, {"kind": "svip", "k_max": 2 ** 31},
               {"kind": "banditspec", "arms": (2 ** 40,)},
               {"kind": "specdecpp", "specdecpp_grid": -(2 ** 33)}):
        with pytest.raises(ConfigError):
            ahasd.Policy(**kw)
    with pytest.raises(ConfigError):
        ahasd.estimate(k=10 ** 30)


def test_type_errors_inside_constructors_are_not_masked() -> None:
    """strict_init converts only errors of argument binding."""
    with pytest.raises(ConfigError, match="positional"):
        ahasd.TaskCosts(1.0, 2.0)   # keyword-only: a binding error, converted
    # a valid call still builds
    assert ahasd.TaskCosts(draft_token_s=1.0, verify_s=2.0).verify_s == (2.0, 0.0)


# --------------------------------------------------------------------------
# Python: arrays (dtypes, shapes, contiguity)
# --------------------------------------------------------------------------
Q2 = np.array([[0.9, 0.1], [0.3, 0.7]])


def _wl(**kw: Any) -> ahasd.Workload:
    base = {"buckets": 2, "h_max": 4.0, "q": Q2, "accept": np.array([0.9, 0.4])}
    base.update(kw)
    return ahasd.Workload(**base)


@pytest.mark.parametrize("kw,words", [
    ({"q": np.array([[0.5, 0.5], [0.5, 0.6]])}, ["row 1", "sum"]),
    ({"q": np.array([[0.5, 0.5], [0.0, 0.0]])}, ["row 1"]),
    ({"q": np.array([[1.5, -0.5], [0.5, 0.5]])}, ["q"]),
    ({"q": np.array([[NAN, 1.0], [0.5, 0.5]])}, ["q", "nan"]),
    ({"q": np.array([[INF, 1.0], [0.5, 0.5]])}, ["q", "inf"]),
    ({"q": np.array([[0.5, 0.5]])}, ["q", "1 rows", "2 x 2"]),
    ({"q": np.ones((2, 3)) / 3}, ["q[0]", "3 elements"]),
    ({"q": np.ones((2, 2, 2))}, ["q"]),
    ({"q": [[0.5, 0.5], "ab"]}, ["q[1]"]),
    ({"q": np.array([["a", "b"], ["c", "d"]])}, ["q"]),
    ({"q": np.array([[0.5 + 1j, 0.5], [0.5, 0.5]])}, ["q"]),
    ({"q": np.array([[True, False], [False, True]])}, ["q"]),
    ({"q": np.array([[0.5, 0.5], [0.5, 0.5]], dtype=object)[:, :1]}, ["q"]),
    ({"accept": np.array([0.5])}, ["accept", "1 elements", "2"]),
    ({"accept": np.array([0.5, 1.2])}, ["accept", "1.2"]),
    ({"accept": np.array([0.5, -0.1])}, ["accept", "-0.1"]),
    ({"accept": np.array(["a", "b"])}, ["accept"]),
    ({"accept": np.array([[0.5, 0.5]])}, ["accept"]),
    ({"accept": 0.5}, ["accept"]),
    ({"accept": {"a": 1}}, ["accept"]),
    ({"init": np.array([0.2, 0.2])}, ["init"]),
    ({"init": np.array([0.5, 0.5, 0.0])}, ["init", "3 elements"]),
    ({"buckets": 0, "q": np.zeros((0, 0)), "accept": np.zeros(0)}, ["buckets = 0"]),
    ({"buckets": 17, "q": np.ones((17, 17)) / 17, "accept": np.full(17, 0.5)}, ["buckets = 17"]),
    ({"buckets": 2.5}, ["buckets"]), ({"h_max": "4"}, ["h_max"]),
])
def test_workload_arrays_refused(kw: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(ConfigError) as exc:
        _wl(**kw)
    for w in words:
        assert w in str(exc.value), (w, str(exc.value))


def test_workload_arrays_of_any_layout_mean_the_same() -> None:
    """Integer dtypes, float32, Fortran order, strided views and lists give the
    same profile, and the same estimate, as the plain float64 array."""
    ref = ahasd.estimate(workload=_wl(), schedule="sync")
    big = np.zeros((4, 4))
    big[::2, ::2] = Q2
    for q in (Q2.tolist(), np.asfortranarray(Q2), big[::2, ::2], Q2.T.copy().T,
              np.array(Q2, dtype=object)):
        wl = _wl(q=q)
        assert wl.q == _wl().q
        r = ahasd.estimate(workload=wl, schedule="sync")
        assert r.throughput_tok_s == ref.throughput_tok_s
    wl = _wl(q=np.array([[1, 0], [0, 1]], dtype=np.int64)[::-1, ::-1],
             init=np.array([1, 0], dtype=np.int32))
    assert wl.q == ((1.0, 0.0), (0.0, 1.0))
    acc = np.array([0.9, 0.0, 0.4, 0.0])[::2]         # non-contiguous 1-D
    assert _wl(accept=acc).accept == (0.9, 0.4)
    # float32 rows do not sum to 1 within 1e-9: refused, saying so
    with pytest.raises(ConfigError, match=r"row 0 sums to 0\.99999"):
        _wl(q=Q2.astype(np.float32))


def test_policy_and_cost_arrays() -> None:
    arms = np.array([1, 0, 2, 0, 4], dtype=np.int64)[::2]
    assert ahasd.Policy("banditspec", arms=arms).arms == (1, 2, 4)
    assert ahasd.Policy("banditspec", arms=np.array([1.0, 3.0])).arms == (1, 3)
    for bad in (np.array([1.5]), np.array(["1"]), np.array([[1, 2]]), np.array([], dtype=int)):
        with pytest.raises(ConfigError):
            ahasd.Policy("banditspec", arms=bad)
    c = ahasd.TaskCosts(draft_token_s=np.float32(0.5), verify_s=np.array([1.0, 0.1])[::-1])
    assert c.verify_s == (0.1, 1.0)
    for bad in (np.array([1.0, NAN]), np.array(["1", "2"]), np.array([[1.0, 2.0]])):
        with pytest.raises(ConfigError):
            ahasd.TaskCosts(draft_token_s=1.0, verify_s=bad)


# --------------------------------------------------------------------------
# Python: TOML files (generated mutations of every field of every fixture)
# --------------------------------------------------------------------------
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def dump_toml(doc: dict[str, Any]) -> str:
    """Our preset schema as TOML: top-level scalars and inline tables, then
    [sections] whose values are inline tables, arrays or scalars."""
    head, tables = [], []
    for k, v in doc.items():
        if isinstance(v, dict) and not ("value" in v or "source" in v or "assumption" in v) \
                and any(isinstance(x, dict) or not isinstance(x, dict) for x in v.values()) \
                and k not in ("q",):
            tables.append((k, v))
        else:
            head.append(f"{k} = {_toml_value(v)}")
    out = "\n".join(head) + "\n"
    for k, t in tables:
        out += f"\n[{k}]\n" + "".join(f"{f} = {_toml_value(x)}\n" for f, x in t.items())
    return out


FIXTURES = {"models": "tiny-7b", "hardware": "test-npu-pim", "workloads": "test-chat"}
LOADERS = {"models": ahasd.Model.from_toml, "hardware": ahasd.Hardware.from_toml,
           "workloads": ahasd.Workload.from_toml}


def _fields(doc: dict[str, Any]) -> list[tuple[str | None, str]]:
    """(section or None, field) of every sourced field of a preset document."""
    out: list[tuple[str | None, str]] = []
    for k, v in doc.items():
        if isinstance(v, dict) and "value" in v:
            out.append((None, k))
        elif isinstance(v, dict) and k != "fit":
            out += [(k, f) for f, x in v.items() if isinstance(x, dict) and "value" in x]
    return out


def _mistype(v: Any) -> list[Any]:
    if isinstance(v, bool):
        return [1, "yes"]
    if isinstance(v, (int, float)):
        return ["1", True, [v], {"x": 1}]
    if isinstance(v, str):
        return [1, ["npu"], True]
    if isinstance(v, list):
        return ["[1]", 1.0, [["x"]] if not isinstance(v[0], list) else [[1.0], "x"]]
    return [None]


def _mutations(kind: str, data_dir: Path) -> list[tuple[str, dict[str, Any], list[str]]]:
    name = FIXTURES[kind]
    doc = tomllib.loads((data_dir / kind / f"{name}.toml").read_text())
    muts: list[tuple[str, dict[str, Any], list[str]]] = []

    def at(d: dict[str, Any], sec: str | None) -> dict[str, Any]:
        return d if sec is None else d[sec]

    import copy
    for sec, f in _fields(doc):
        d = copy.deepcopy(doc)
        del at(d, sec)[f]
        muts.append((f"missing {sec}.{f}", d, [f, "missing"]))
        d = copy.deepcopy(doc)
        t = at(d, sec)
        t[f[:-1] + ("x" if f[-1] != "x" else "y")] = t.pop(f)
        muts.append((f"misspelled {sec}.{f}", d, [f[:-1]]))
        for bad in _mistype(at(doc, sec)[f]["value"]):
            d = copy.deepcopy(doc)
            at(d, sec)[f]["value"] = bad
            muts.append((f"mistyped {sec}.{f} = {bad!r}", d, [f]))
        d = copy.deepcopy(doc)
        at(d, sec)[f] = at(d, sec)[f]["value"]
        muts.append((f"bare value {sec}.{f}", d, [f, "inline table"]))
        d = copy.deepcopy(doc)
        at(d, sec)[f]["sourse"] = "x"
        muts.append((f"unknown key in {sec}.{f}", d, [f, "sourse"]))
        d = copy.deepcopy(doc)
        at(d, sec)[f].pop("source", None)
        at(d, sec)[f].pop("assumption", None)
        muts.append((f"no source {sec}.{f}", d, [f, "source"]))
        d = copy.deepcopy(doc)
        at(d, sec)[f]["source"] = "a"
        at(d, sec)[f]["assumption"] = "b"
        muts.append((f"both source and assumption {sec}.{f}", d, [f, "both"]))
    sections = {sec for sec, _ in _fields(doc) if sec is not None} | {None}
    for sec in sections:
        d = copy.deepcopy(doc)
        at(d, sec)["extra_field"] = {"value": 1, "source": "x"}
        muts.append((f"extra field in {sec}", d, ["extra_field"]))
    for k in ("name", "description"):
        d = copy.deepcopy(doc)
        del d[k]
        muts.append((f"missing {k}", d, [k]))
    d = copy.deepcopy(doc)
    d["name"] = "other"
    muts.append(("name differs from the file", d, ["name", "other"]))
    return muts


@pytest.mark.parametrize("kind", list(FIXTURES))
def test_every_field_mutation_of_every_fixture_is_refused(kind: str, data_dir: Path,
                                                          tmp_path: Path) -> None:
    name = FIXTURES[kind]
    good = tmp_path / f"{name}.toml"
    good.write_text(dump_toml(tomllib.loads((data_dir / kind / f"{name}.toml").read_text())))
    LOADERS[kind](good)                                  # the serializer round-trips
    muts = _mutations(kind, data_dir)
    assert len(muts) > 50
    for i, (label, doc, words) in enumerate(muts):
        sub = tmp_path / f"m{i}"
        sub.mkdir()
        path = sub / f"{name}.toml"
        path.write_text(dump_toml(doc))
        with pytest.raises(ConfigError) as exc:
            LOADERS[kind](path)
        text = str(exc.value)
        assert str(path) in text, (label, text)
        for w in words:
            assert w in text, (label, w, text)


@pytest.mark.parametrize("content,words", [
    ("name = ", ["not valid TOML"]),
    ("[[[", ["not valid TOML"]),
    ("", ["missing"]),
    ("name = 'x'\ndescription = 'y'\n", ["name"]),
    (b"\xff\xfe\x00name = 1", ["not UTF-8"]),
    ("name = \"tiny-7b\"\nname = \"tiny-7b\"\n", ["not valid TOML"]),
])
def test_malformed_files(tmp_path: Path, content: str | bytes, words: list[str]) -> None:
    path = tmp_path / "tiny-7b.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    for load in (ahasd.Model.from_toml, ahasd.Model.preset):
        with pytest.raises(ConfigError) as exc:
            load(str(path))
        for w in words:
            assert w in str(exc.value), (w, str(exc.value))


def test_paths_that_are_not_files(tmp_path: Path) -> None:
    d = tmp_path / "dir.toml"
    d.mkdir()
    for path in (str(d), str(tmp_path / "missing.toml"), str(tmp_path)):
        with pytest.raises(ConfigError):
            ahasd.Model.preset(path)
        with pytest.raises(ConfigError):
            ahasd.estimate(hardware=path)
    if os.geteuid() != 0:                               # root reads anything
        p = tmp_path / "locked.toml"
        p.write_text("name = 'locked'")
        p.chmod(0)
        with pytest.raises(ConfigError, match="cannot read"):
            ahasd.Model.from_toml(p)


# --------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------
CLI_CASES = [
    ["estimate", "--alpha", "nan"], ["estimate", "--alpha", "2"], ["estimate", "--alpha", "x"],
    ["estimate", "--k", "0"], ["estimate", "--k", "4.5"], ["estimate", "--gen-len", "0"],
    ["estimate", "--gen-len", "99999999999"], ["estimate", "--prompt-len", "-1"],
    ["estimate", "--l-max", "0"], ["estimate", "--schedule", "bogus"],
    ["estimate", "--policy", "bogus"], ["estimate", "--workload", "nope"],
    ["estimate", "--workload", ""], ["estimate", "--hardware", "/nonexistent.toml"],
    ["estimate", "--hardware", "/"], ["estimate", "--draft", "nope"],
    ["estimate", "--set", "bogus=1"], ["estimate", "--set", "k"],
    ["estimate", "--set", "pim.mem_bw_bytes_per_s=-1"],
    ["estimate", "--set", "pim.mem_bw_bytes_per_s=nan"],
    ["estimate", "--set", "pim.mem_bw_bytes_per_s=inf"],
    ["estimate", "--set", "target.layers=99999999999"],
    ["estimate", "--set", "npu.matrix_ops_per_s=1e-300"],
    ["estimate", "--set", "pim.has_aau=7"], ["estimate", "--set", "alpha=abc"],
    ["estimate", "--set", "costs.draft_token_s=1"], ["estimate", "--set", "draft_dev=npu"],
    ["estimate", "--policy", "banditspec", "--arms", ",,"],
    ["estimate", "--policy", "banditspec", "--arms", "0,40"],
    ["estimate", "--policy", "svip", "--svip-h", "-1"],
    ["estimate", "--policy", "specdecpp", "--specdecpp-tau", "1.5"],
    ["estimate", "--alpha", "0.5", "--workload", "alpaca"],
    ["estimate", "--k", "3", "--set", "k=4"],
    ["simulate", "--runs", "0"], ["simulate", "--runs", "99999999999"],
    ["simulate", "--seed", "-1"], ["simulate", "--seed", "x"],
    ["simulate", "--tvc-predictor", "psychic"],
    ["compare", "--schedules", "bogus"], ["compare", "--set", "bogus=1"],
    ["presets", "bogus"], ["presets", "--show", "nope"], ["bogus-command"], ["estimate", "--nope"],
]


@pytest.mark.parametrize("argv", CLI_CASES, ids=[" ".join(a) for a in CLI_CASES])
def test_cli_bad_input_is_one_line_and_exit_2(argv: list[str], capsys) -> None:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (argv, out, err)
    assert err.startswith("ahasd: error: "), err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_cli_policy_overflow_is_one_line_and_exit_2(capsys) -> None:
    """--k 99999999999999 reaches ahasd/policy.py, which raised OverflowError."""
    code = cli.main(["estimate", "--k", "99999999999999"])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("ahasd: error: ") and "Traceback" not in err


def test_cli_in_a_subprocess_never_prints_a_traceback() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for argv in (["estimate", "--set", "npu.matrix_ops_per_s=1e-300"],):
        p = subprocess.run([sys.executable, "-m", "ahasd", *argv], capture_output=True,
                           text=True, env=env, timeout=120)
        assert p.returncode == 2, (argv, p.stderr)
        assert "Traceback" not in p.stderr and p.stderr.startswith("ahasd: error: ")


# --------------------------------------------------------------------------
# Sweeps: bad points are reported per row and counted
# --------------------------------------------------------------------------
def test_sweep_reports_bad_points_per_row() -> None:
    from ahasd.sweep import sweep
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        df = sweep(alpha=[0.5, 1.5, NAN, 0.8], k=[1, 2], progress=False)
    assert len(df) == 8
    bad = df["alpha"].isna() | (df["alpha"] > 1)
    assert df.loc[bad, "error"].map(lambda e: isinstance(e, str) and "alpha" in e).all()
    assert df.loc[~bad, "error"].isna().all()
    assert df.loc[bad, "throughput_tok_s"].isna().all()
    assert np.isfinite(df.loc[~bad, "throughput_tok_s"]).all()
    assert df.attrs["n_failed"] == 4 and df.attrs["n_points"] == 8
    assert any("4 of 8 points failed" in str(x.message) for x in w)


def test_sweep_hostile_values_of_a_hardware_field() -> None:
    from ahasd.sweep import sweep
    vals = [0.0, -1.0, 1e11, 1e-300, INF, NAN, 1e300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = sweep(**{"pim.mem_bw_bytes_per_s": vals}, progress=False)
    ok = df["error"].isna()
    assert list(ok) == [False, False, True, False, False, False, True]
    assert df.loc[~ok, "error"].str.contains("pim.mem_bw_bytes_per_s").all()
    assert np.isfinite(df.loc[ok, "throughput_tok_s"]).all()
    assert df.attrs["n_failed"] == 5


def test_sweep_refuses_bad_arguments() -> None:
    from ahasd.sweep import sweep
    for kw in ({"bogus": [1, 2]}, {"k": "a:b:c"}, {"alpha": [0.5], "seed": -1},
               {"alpha": [0.5], "n_runs": 0, "simulate": True}, {"alpha": [0.5], "threads": 0},
               {"alpha": [0.5], "chunk_size": 0}, {"alpha": [0.5], "outputs": ["bogus"]},
               {"schedule": ["bogus"]}):
        with pytest.raises(ConfigError):
            sweep(progress=False, **kw)


def test_sweep_axis_dtypes() -> None:
    """Integer, float32, reversed and strided axes are values; strings, bools,
    objects, dates and 2-D arrays are refused."""
    from ahasd.sweep import sweep
    base = sweep(alpha=np.array([0.25, 0.5, 0.75]), progress=False)
    for alpha in (np.array([0.75, 0.5, 0.25])[::-1], np.linspace(0, 1, 5)[1:4],
                  [0.25, 0.5, 0.75], np.array([0.25, 0.5, 0.75], dtype=np.float32)):
        df = sweep(alpha=alpha, progress=False)
        assert df["throughput_tok_s"].to_numpy() == pytest.approx(
            base["throughput_tok_s"].to_numpy(), rel=1e-6)
    ks = sweep(k=np.array([1, 4], dtype=np.int64), progress=False)
    assert list(ks["k"]) == [1, 4]
    for bad in (np.array(["0.5"]), np.array([True]), np.array([0.5, None], dtype=object),
                np.ones((2, 2)) * 0.5, np.array(["2020-01-01"], dtype="datetime64[D]")):
        with pytest.raises(ConfigError, match="alpha"):
            sweep(alpha=bad, progress=False)


def test_sweep_refuses_complex_values() -> None:
    """A complex axis is a wrong dtype: refused, not silently cut to its real
    part (ahasd/sweep.py kept 0.5 of 0.5+1j, with only a numpy ComplexWarning)."""
    from ahasd.sweep import sweep
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ConfigError, match="alpha"):
            sweep(alpha=np.array([0.5 + 1j]), progress=False)


def test_sweep_refuses_a_range_too_large_to_allocate() -> None:
    """'0:1:1e12' asks for 10^12 points (7 TiB): a ConfigError saying so, not
    a MemoryError from numpy (ahasd/sweep.py)."""
    from ahasd.sweep import sweep
    with pytest.raises(ConfigError, match="alpha"):
        sweep(alpha="0:1:1e12", progress=False)


def test_optimize_refuses_max_evals_beyond_a_c_int() -> None:
    """max_evals = 2^40 is bad input: a ConfigError, not cffi's OverflowError
    (ahasd/explore.py passes it to ahasd_optimize's int unchecked; P.as_cint
    gives the message)."""
    with pytest.raises(ConfigError, match="max_evals"):
        ahasd.optimize(over={"k": (1, 2)}, max_evals=2 ** 40)


def test_pass_ops_refuses_rates_that_overflow() -> None:
    """Operator rows of infinite latency or energy are an error naming the
    operator and the device (they were returned as success)."""
    hw = ahasd.Hardware.preset("ahasd-npu-pim")
    with pytest.raises(ConfigError, match=r"operator .* on the npu .*npu\.vector_ops_per_s"):
        ahasd.pass_ops(hardware=hw.replace(**{"npu.vector_ops_per_s": 1e-300}), device="npu")
    with pytest.raises(ConfigError, match=r"on the npu"):
        ahasd.pass_ops(hardware=hw.replace(**{"npu.onchip_energy_per_byte_j": 1e300}),
                       device="npu")
    df = ahasd.pass_ops(hardware=hw.replace(**{"npu.mem_bw_bytes_per_s": 1e300}), device="npu")
    assert np.isfinite(df[["time_s", "energy_j"]].to_numpy()).all()


def test_optimize_and_calibrate_bad_values(base_c, ws) -> None:
    bw = lib.ahasd_param_find(b"pim.mem_bw_util")
    k = lib.ahasd_param_find(b"k")
    osum, fsum = ffi.new("ahasd_opt_summary *"), ffi.new("ahasd_fit_summary *")
    x, se = ffi.new("double[]", 2), ffi.new("double[]", 2)

    def opt(n=1, ids=(bw,), lo=(0.1,), hi=(1.0,), out_id=0, maximize=1, n_cons=0,
            cons=(0,), clo=(0.0,), chi=(1.0,), evals=4):
        err = ffi.new("ahasd_error *")
        code = lib.ahasd_optimize(base_c, n, ffi.new("int[]", list(ids)),
                                  ffi.new("double[]", list(lo)), ffi.new("double[]", list(hi)),
                                  out_id, maximize, n_cons, ffi.new("int[]", list(cons)),
                                  ffi.new("double[]", list(clo)), ffi.new("double[]", list(chi)),
                                  evals, x, osum, ws, err)
        return code, err

    for kw, words in (({"n": 0}, ["n_params = 0"]), ({"n": 17}, ["n_params = 17"]),
                      ({"n": 2 ** 63}, ["n_params"]), ({"ids": (-1,)}, ["param_ids[0] = -1"]),
                      ({"ids": (10 ** 6,)}, ["param_ids[0]"]),
                      ({"lo": (NAN,)}, ["lo = nan"]), ({"hi": (INF,)}, ["hi = inf"]),
                      ({"lo": (1.0,), "hi": (0.5,)}, ["lo <= hi"]),
                      ({"ids": (k,), "lo": (1.5,), "hi": (4.0,)}, ["integer"]),
                      ({"n": 2, "ids": (bw, bw), "lo": (0.1, 0.1), "hi": (1, 1)}, ["same field"]),
                      ({"out_id": -1}, ["out_id = -1"]), ({"out_id": lib.AHASD_N_OUT}, ["out_id"]),
                      ({"maximize": 2}, ["maximize = 2"]), ({"n_cons": 10 ** 6}, ["n_cons"]),
                      ({"n_cons": 1, "cons": (-1,)}, ["cons_ids[0] = -1"]),
                      ({"n_cons": 1, "clo": (NAN,)}, ["nan"]), ({"evals": 0}, ["max_evals"]),
                      ({"evals": -5}, ["max_evals"])):
        code, err = opt(**kw)
        check_error(code, err, *words)

    cfgs = ffi.new("ahasd_config[]", [base_c[0], base_c[0]])

    def cal(n_obs=2, outs=(0, 0), obs=(5.0, 6.0), n=1, ids=(bw,), x0=(0.5,), lo=(0.1,),
            hi=(1.0,)):
        err = ffi.new("ahasd_error *")
        code = lib.ahasd_calibrate(cfgs, n_obs, ffi.new("int[]", list(outs)),
                                   ffi.new("double[]", list(obs)), n, ffi.new("int[]", list(ids)),
                                   ffi.new("double[]", list(x0)), ffi.new("double[]", list(lo)),
                                   ffi.new("double[]", list(hi)), se, fsum, ws, err)
        return code, err

    for kw, words in (({"n": 0}, ["n_params = 0"]), ({"n_obs": 0}, ["n_obs = 0"]),
                      ({"n_obs": 2 ** 63}, ["n_obs"]), ({"outs": (-1, 0)}, ["out_ids[0]"]),
                      ({"outs": (0, lib.AHASD_N_OUT)}, ["out_ids[1]"]),
                      ({"obs": (0.0, 1.0)}, ["observed[0] = 0"]),
                      ({"obs": (1.0, NAN)}, ["observed[1] = nan"]),
                      ({"obs": (-1.0, 1.0)}, ["observed[0] = -1"]),
                      ({"ids": (k,)}, ["integer parameter"]), ({"ids": (-3,)}, ["param_ids[0]"]),
                      ({"x0": (NAN,)}, ["nan"]), ({"lo": (1.0,), "hi": (0.1,)}, ["lo"])):
        code, err = cal(**kw)
        check_error(code, err, *words)


def test_draft_dist_validates_even_when_the_table_is_cached(base_c) -> None:
    """A workspace caches drafting tables by the fields that define them; a
    cached table must not let an invalid policy through.

    Found by fuzz_draft's determinism check: after a valid banditspec call,
    the same policy with bandit_explore = -1 hit the cache in
    csrc/drafting.c's dd_table_get (policy_equal compares the arms, not
    bandit_explore, which validation reads) and returned success; in a new
    workspace it is refused."""
    c = ahasd.Config.build(schedule="sync", policy="banditspec", alpha=0.8,
                           bandit_cost_ratio=0.1).to_c()
    out = ffi.new("ahasd_draft_summary *")
    for ws_first in (True, False):
        ws = lib.ahasd_workspace_alloc()
        try:
            err = ffi.new("ahasd_error *")
            if ws_first:
                assert lib.ahasd_draft_dist(ffi.addressof(c.profile), ffi.addressof(c.policy),
                                            -2, ws, out, err) == 0
            bad = ffi.new("ahasd_config *", c[0])
            bad.policy.bandit_explore = -1.0
            code = lib.ahasd_draft_dist(ffi.addressof(bad.profile), ffi.addressof(bad.policy),
                                        -2, ws, out, err)
            check_error(code, err, "bandit_explore = -1")
        finally:
            lib.ahasd_workspace_free(ws)
