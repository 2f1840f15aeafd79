"""The functions users call: estimate, simulate, draft_distribution, draft_sample, pass_ops.

Every function takes keyword arguments only.  The design-point keywords are
those of :meth:`ahasd.Config.build`: schedule=, hardware=, draft=, target=,
policy=, k=, alpha=, workload=, costs=, prompt_len=, gen_len=, l_max=, m_max=,
k_design=, segments=, tvc_predictor=, every policy parameter by its field
name (svip_h=, arms=, ...) and dotted names ("pim.mem_bw_bytes_per_s"), or
config= (a Config, which the other keywords then change).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import presets as P
from ._native import call, ffi, lib, raise_for, workspace
from .config import Config
from .costs import TaskCosts
from .costs import DEVICE_NAMES, TASK_NAMES
from .errors import ConfigError
from .hardware import ROLE_INDEX, ROLES, Hardware
from .model import Model
from .policy import DEFAULT_KIND, FAMILY_PARAMS, POLICY_PARAMS, Policy
from .result import Result
from .workload import Workload

__all__ = ["estimate", "simulate", "draft_distribution", "draft_sample", "pass_ops",
           "DraftDistribution"]

#: Simulation runs when n_runs is not given.
DEFAULT_RUNS = 10
#: Most batches draft_sample draws in one call (two C int arrays and a
#: DataFrame of them: about 3.2 GB at this size).
MAX_SAMPLE = 100_000_000


def _config(config: Config | None, kw: dict[str, Any]) -> Config:
    if config is not None and not kw:
        if not isinstance(config, Config):
            raise ConfigError(f"config = {config!r} is not allowed: must be an ahasd.Config")
        return config
    return Config.build(config=config, **kw)


def _point(schedule: Any, hardware: Any, draft: Any, target: Any, k: Any, alpha: Any,
           policy: Any, workload: Any, prompt_len: Any, gen_len: Any, l_max: Any, m_max: Any,
           k_design: Any, segments: Any, costs: Any, params: dict[str, Any]) -> dict[str, Any]:
    kw = {"schedule": schedule, "hardware": hardware, "draft": draft, "target": target, "k": k,
          "alpha": alpha, "policy": policy, "workload": workload, "prompt_len": prompt_len,
          "gen_len": gen_len, "l_max": l_max, "m_max": m_max, "k_design": k_design,
          "segments": segments, "costs": costs}
    kw = {n: v for n, v in kw.items() if v is not None}
    kw.update(params)
    return kw


def estimate(*, schedule: str | None = None, hardware: Hardware | str | None = None,
             draft: Model | str | None = None, target: Model | str | None = None,
             k: int | None = None, alpha: float | None = None,
             policy: Policy | str | None = None, workload: Workload | str | None = None,
             prompt_len: int | None = None, gen_len: int | None = None,
             l_max: int | None = None, m_max: int | None = None, k_design: int | None = None,
             segments: int | None = None, costs: TaskCosts | None = None,
             config: Config | None = None, **params: Any) -> Result:
    """The analytical estimate of one design point.

    Closed form for autoregressive, serial, sync and partitioned; a Markov
    chain solved with GSL for async, async-edc and ahasd.

    schedule, hardware, draft, target, policy, workload: names or objects
    (defaults "ahasd", "ahasd-npu-pim", "llama2-7b", "llama2-13b", fixed
    k = 4, "alpaca"); k: draft length of the fixed policy (tokens); alpha:
    i.i.d. acceptance probability instead of a workload; prompt_len,
    gen_len (tokens); l_max (batches); m_max, k_design (tokens); segments;
    costs: explicit TaskCosts instead of the hardware model; config: a
    Config the other keywords change; ``**params``: policy parameters by
    field name (svip_h=0.5) and dotted names ("pim.mem_bw_bytes_per_s").

    Returns a :class:`Result` (SI units; ``res.method`` says which method).
    Example: ``estimate(hardware="ahasd-npu-pim", k=4, alpha=0.8).throughput_tok_s``.
    """
    kw = _point(schedule, hardware, draft, target, k, alpha, policy, workload, prompt_len,
                gen_len, l_max, m_max, k_design, segments, costs, params)
    cfg = _config(config, kw)
    res = ffi.new("ahasd_result *")
    err = ffi.new("ahasd_error *")
    code = lib.ahasd_estimate(cfg.to_c(), workspace(), res, err)
    if code < 0:
        raise_for(code, err)
    return Result(res, cfg)


# --------------------------------------------------------------------------
# Simulation and its trace
# --------------------------------------------------------------------------
def _trace_dtype() -> np.dtype:
    t = "ahasd_trace_event"
    fields = {"run": np.intc, "device": np.intc, "task": np.intc, "wasted": np.intc,
              "start_s": np.float64, "end_s": np.float64, "tokens": np.intc, "batch": np.intc}
    return np.dtype({"names": list(fields), "formats": list(fields.values()),
                     "offsets": [ffi.offsetof(t, f) for f in fields], "itemsize": ffi.sizeof(t)})


_TRACE_DTYPE = _trace_dtype()


def _trace_frame(buf: Any, n: int) -> pd.DataFrame:
    raw = np.frombuffer(ffi.buffer(buf, n * _TRACE_DTYPE.itemsize), dtype=_TRACE_DTYPE).copy()
    devices = np.array(DEVICE_NAMES, dtype=object)
    tasks = np.array(TASK_NAMES, dtype=object)
    return pd.DataFrame({
        "device": pd.Categorical(devices[raw["device"]], categories=DEVICE_NAMES),
        "task": pd.Categorical(tasks[raw["task"]], categories=TASK_NAMES),
        "start_s": raw["start_s"], "end_s": raw["end_s"],
        "tokens": raw["tokens"].astype(np.int64), "batch": raw["batch"].astype(np.int64),
        "wasted": raw["wasted"].astype(bool),
    })


def initial_trace_cap(cfg: Config) -> int:
    """Events the trace buffer holds at first; simulate() grows it once if the run needs more."""
    return 8 * cfg.gen_len + 256


def simulate(*, schedule: str | None = None, hardware: Hardware | str | None = None,
             draft: Model | str | None = None, target: Model | str | None = None,
             k: int | None = None, alpha: float | None = None,
             policy: Policy | str | None = None, workload: Workload | str | None = None,
             prompt_len: int | None = None, gen_len: int | None = None,
             l_max: int | None = None, m_max: int | None = None, k_design: int | None = None,
             segments: int | None = None, costs: TaskCosts | None = None,
             config: Config | None = None, seed: int = 0, n_runs: int = DEFAULT_RUNS,
             trace: bool = False, **params: Any) -> Result:
    """Discrete-event Monte Carlo simulation of one design point (MODEL.md semantics).

    Design-point keywords as for :func:`estimate` (``tvc_predictor="exact"``
    selects exact TVC latencies instead of the paper's moving averages).
    ``n_runs`` independent generations of gen_len tokens (seeds derived from
    ``seed``); the Result's outputs are their means and ``ci95`` the 95%
    half-widths (gap_p50_s, gap_p90_s, gap_p99_s: inter-token gap
    percentiles).  With ``trace=True`` the Result's ``trace`` is the event
    trace of the first run: a DataFrame with columns device, task, start_s,
    end_s (s), tokens, batch (-1: none) and wasted (True when the whole
    event's work was discarded by a flush; the rejected tail of a verified
    batch shares its event with accepted drafts and is not marked, so the
    marked events' time is a lower bound of ``wasted_s``).
    """
    kw = _point(schedule, hardware, draft, target, k, alpha, policy, workload, prompt_len,
                gen_len, l_max, m_max, k_design, segments, costs, params)
    cfg = _config(config, kw)
    seed = P.as_int(seed, "seed")
    if not 0 <= seed < 2 ** 64:
        raise ConfigError(f"seed = {seed} is not allowed: must be an integer in [0, 2^64)")
    opt = ffi.new("ahasd_sim_options *")
    opt.seed = seed
    opt.n_runs = P.as_cint(n_runs, "n_runs")
    buf = ffi.NULL
    if trace:
        cap = initial_trace_cap(cfg)
        buf = ffi.new("ahasd_trace_event[]", cap)
        opt.trace, opt.trace_cap = buf, cap
    res = ffi.new("ahasd_result *")
    err = ffi.new("ahasd_error *")
    ws = workspace()
    code = lib.ahasd_simulate(cfg.to_c(), opt, ws, res, err)
    if code >= 0 and trace and opt.trace_needed > opt.trace_cap:
        cap = int(opt.trace_needed)
        buf = ffi.new("ahasd_trace_event[]", cap)
        opt.trace, opt.trace_cap = buf, cap
        code = lib.ahasd_simulate(cfg.to_c(), opt, ws, res, err)
    if code < 0:
        raise_for(code, err)
    frame = None
    if trace:
        if opt.trace_needed > opt.trace_len:
            raise ConfigError(f"the simulator produced {opt.trace_needed} trace events but "
                              f"wrote {opt.trace_len} into a buffer of {opt.trace_cap}")
        frame = _trace_frame(buf, int(opt.trace_len))
    return Result(res, cfg, frame)


# --------------------------------------------------------------------------
# Drafting distributions
# --------------------------------------------------------------------------
def _start(start: str | int, workload: Workload) -> int:
    if start == "stationary":
        return lib.AHASD_START_STATIONARY
    if start == "init":
        return lib.AHASD_START_INIT
    b = P.as_cint(start, "start") if not isinstance(start, str) else None
    if b is None or not 0 <= b < workload.buckets:
        raise ConfigError(f"start = {start!r} is not allowed: must be 'stationary', 'init' or "
                          f"a bucket in [0, {workload.buckets - 1}]")
    return b


def _policy_workload(policy: Any, workload: Any, alpha: Any, params: dict[str, Any]
                     ) -> tuple[Policy, Workload]:
    bad = [k for k in params if k not in POLICY_PARAMS]
    if bad:
        raise ConfigError(f"unknown keyword '{bad[0]}'{P.close_names(bad[0], POLICY_PARAMS)}: "
                          "expected policy parameters " + ", ".join(POLICY_PARAMS))
    params = {k: v for k, v in params.items() if v is not None}
    kind = policy.kind if isinstance(policy, Policy) else (policy or DEFAULT_KIND)
    if not isinstance(policy, Policy):
        for p in params:
            owner = next((o for o, ps in FAMILY_PARAMS.items() if p in ps), None)
            if owner is not None and owner != kind:
                raise ConfigError(f"{p} is a parameter of policy '{owner}', but the policy is "
                                  f"'{kind}' (choose policy '{owner}' to use it)")
    pol = Policy.of(policy, **params)
    if alpha is not None and workload is not None:
        raise ConfigError("give either alpha (an i.i.d. acceptance profile) or workload, not both")
    if alpha is not None:
        wl = Workload.iid(alpha)
    elif isinstance(workload, Workload):
        wl = workload
    else:
        wl = Workload.preset(workload if workload is not None else "alpaca")
    return pol, wl


@dataclass(frozen=True)
class DraftDistribution:
    """The exact joint law of (K, A) of one batch, and its summary.

    ``p_ka[k, j]`` = P(K = k, A = j) for k, j in 0..k_max (NumPy array);
    ``p_k`` = P(K = k); mean_draft_len = E[K], mean_accepted = E[A],
    p_full = P(A = K), tokens_per_round = E[A + 1], acceptance_rate =
    E[A] / E[K]; bandit_arm: BanditSpec's steady arm (0 otherwise).
    """

    policy: Policy
    workload: Workload
    start: str | int
    k_max: int
    p_ka: np.ndarray
    p_k: np.ndarray
    mean_draft_len: float
    mean_accepted: float
    p_full: float
    tokens_per_round: float
    acceptance_rate: float
    bandit_arm: int

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.p_ka if dtype is None else self.p_ka.astype(dtype)

    @property
    def p_a(self) -> np.ndarray:
        """P(A = j), the marginal of the accepted count."""
        return self.p_ka.sum(axis=0)

    def to_frame(self) -> pd.DataFrame:
        """Long format: columns k, a, p for every (k, a) with a <= k."""
        k, a = np.nonzero(np.tril(np.ones_like(self.p_ka)))
        return pd.DataFrame({"k": k, "a": a, "p": self.p_ka[k, a]})

    def summary(self) -> dict[str, float]:
        return {"mean_draft_len": self.mean_draft_len, "mean_accepted": self.mean_accepted,
                "p_full": self.p_full, "tokens_per_round": self.tokens_per_round,
                "acceptance_rate": self.acceptance_rate}

    def __str__(self) -> str:
        s = ", ".join(f"{k} {v:.4g}" for k, v in self.summary().items())
        arm = f", steady arm {self.bandit_arm}" if self.policy.kind == "banditspec" else ""
        return f"P(K, A) for {self.policy} on {self.workload.name} (start {self.start}): {s}{arm}"


def draft_distribution(*, policy: Policy | str | None = None,
                       workload: Workload | str | None = None, alpha: float | None = None,
                       start: str | int = "stationary", **policy_params: Any
                       ) -> DraftDistribution:
    """The exact distribution of (draft length K, accepted A) of a batch.

    ``start``: "stationary" (long-run batch starts, each batch continuing the
    entropy chain), "init" (first batch of a generation) or a bucket index.
    Policy parameters by field name (k=, svip_h=, ...); workload= or alpha=
    (default workload "alpaca").  There are no task costs here, so
    "banditspec" needs ``bandit_cost_ratio`` > 0 (draft / verify time of one
    token; its arm choice depends on it); without it ConfigError says so.
    """
    pol, wl = _policy_workload(policy, workload, alpha, policy_params)
    s = _start(start, wl)
    cprof, cpol = wl.cstruct(), pol.cstruct()
    out = ffi.new("ahasd_draft_summary *")
    call(lib.ahasd_draft_dist, cprof, cpol, s, workspace(), out)
    km = int(out.k_max)
    stride = lib.AHASD_MAX_K + 1
    full = np.frombuffer(ffi.buffer(out.p_ka), dtype=np.float64).reshape(stride, stride)
    p_ka = full[: km + 1, : km + 1].copy()
    p_k = np.frombuffer(ffi.buffer(out.p_k), dtype=np.float64)[: km + 1].copy()
    return DraftDistribution(policy=pol, workload=wl, start=start, k_max=km, p_ka=p_ka,
                             p_k=p_k, mean_draft_len=float(out.mean_draft_len),
                             mean_accepted=float(out.mean_accepted), p_full=float(out.p_full),
                             tokens_per_round=float(out.tokens_per_round),
                             acceptance_rate=float(out.acceptance_rate),
                             bandit_arm=int(out.bandit_arm))


def draft_sample(*, policy: Policy | str | None = None, workload: Workload | str | None = None,
                 alpha: float | None = None, start: str | int = "stationary", n: int = 10000,
                 seed: int = 0, **policy_params: Any) -> pd.DataFrame:
    """Draw ``n`` batches with the simulator's own sampler: a DataFrame with
    columns k (draft length) and a (accepted tokens).  With
    start="stationary" consecutive batches are chained through their exit
    buckets.  BanditSpec draws with its steady arm here."""
    pol, wl = _policy_workload(policy, workload, alpha, policy_params)
    s = _start(start, wl)
    n = P.as_cint(n, "n", 0, MAX_SAMPLE)
    seed = P.as_int(seed, "seed")
    if not 0 <= seed < 2 ** 64:
        raise ConfigError(f"seed = {seed} is not allowed: must be an integer in [0, 2^64)")
    cprof, cpol = wl.cstruct(), pol.cstruct()
    k = ffi.new("int[]", max(n, 1))
    a = ffi.new("int[]", max(n, 1))
    call(lib.ahasd_draft_sample, cprof, cpol, s, seed, n, k, a)
    kk = np.frombuffer(ffi.buffer(k, n * ffi.sizeof("int")), dtype=np.intc).astype(np.int64)
    aa = np.frombuffer(ffi.buffer(a, n * ffi.sizeof("int")), dtype=np.intc).astype(np.int64)
    return pd.DataFrame({"k": kk, "a": aa})


# --------------------------------------------------------------------------
# Operators of one forward pass (roofline plots)
# --------------------------------------------------------------------------
_OP_KINDS = ("matmul", "attention", "nonlinear", "memory")
_OP_FIELDS = ("ops", "weight_bytes", "kv_read_bytes", "kv_write_bytes", "act_bytes",
              "path_bytes", "nonlinear_elems", "compute_s", "memory_s", "time_s", "energy_j")


def pass_ops(*, hardware: Hardware | str | None = None, model: Model | str | None = None,
             device: str | None = None, n_positions: int = 1, context: float = 128
             ) -> pd.DataFrame:
    """The operators of one forward pass of ``model`` over ``n_positions`` new
    positions at ``context`` cached tokens, costed on ``device`` of
    ``hardware`` (roofline per operator).

    Defaults: hardware "ahasd-npu-pim", model "llama2-13b", device the
    hardware's verify device.  One row per operator: name, kind (matmul,
    attention, nonlinear, memory), count (instances per pass), ops (2 per
    MAC), weight_bytes, kv_read_bytes, kv_write_bytes, act_bytes,
    path_bytes (the bytes memory_s is charged for: weights and KV, plus
    activations only when one instance's exceed the device's onchip_bytes;
    everything when the operator is shipped over the host link),
    nonlinear_elems, compute_s, memory_s, time_s, energy_j, memory_bound,
    and intensity_ops_per_byte (ops / path_bytes: the roofline's arithmetic
    intensity), all over every instance.
    """
    hw = hardware if isinstance(hardware, Hardware) else Hardware.preset(
        hardware if hardware is not None else "ahasd-npu-pim")
    m = model if isinstance(model, Model) else Model.preset(
        model if model is not None else "llama2-13b")
    dev = device if device is not None else hw.verify_dev
    P.as_choice(dev, "device", ROLES)
    if getattr(hw, dev) is None:
        raise ConfigError(f"device = {dev!r} is not allowed: hardware '{hw.name}' has no {dev}; "
                          f"present: {', '.join(hw.devices)}")
    n_pos = P.as_cint(n_positions, "n_positions")
    ctx = P.as_real(context, "context")
    chw, cm = hw.cstruct(), m.cstruct()
    n_ops = ffi.new("size_t *")
    cap = 64
    for _ in range(2):
        ops = ffi.new("ahasd_op[]", cap)
        call(lib.ahasd_pass_ops, chw, cm, ROLE_INDEX[dev], n_pos, ctx, ops, cap, n_ops)
        if n_ops[0] <= cap:
            break
        cap = int(n_ops[0])
    n = int(n_ops[0])
    rows = []
    for i in range(n):
        o = ops[i]
        row: dict[str, Any] = {"name": ffi.string(o.name).decode(), "kind": _OP_KINDS[o.kind]
                               if 0 <= o.kind < len(_OP_KINDS) else str(o.kind),
                               "count": int(o.count)}
        for f in _OP_FIELDS:
            row[f] = float(getattr(o, f))
        row["memory_bound"] = bool(o.memory_bound)
        rows.append(row)
    df = pd.DataFrame(rows, columns=["name", "kind", "count", *_OP_FIELDS, "memory_bound"])
    moved = df["path_bytes"]
    df["intensity_ops_per_byte"] = np.where(moved > 0, df["ops"] / moved.where(moved > 0, 1.0),
                                            np.nan)
    df.attrs.update(hardware=hw.name, model=m.name, device=dev, n_positions=n_pos, context=ctx)
    return df
