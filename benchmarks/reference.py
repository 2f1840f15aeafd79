"""A plain-Python reference of the cost model and of the serial closed form.

Written from docs/MODEL.md ("Layers", "Schedule semantics", "Choices this
implementation makes") and the documented operator list and costing rules
(the header comment of csrc/costs.c and the field comments of csrc/ahasd.h),
in plain Python (floats, lists, dicts: no NumPy, no C).  It exists for two
reasons:

- correctness: tests/test_reference.py checks the C core against it
  (``ahasd.pass_ops``, ``ahasd.task_costs``, ``ahasd.draft_distribution``,
  ``ahasd.estimate`` for the serial and autoregressive schedules) to 1e-9;
- speed: benchmarks/bench.py reports the C path's speed-up over it.

What it covers:

1. ``pass_operators(model, n, L)``: the operators of one forward pass of a
   decoder-only LLM over n new positions at context L (L tokens cached), per
   layer: attn_norm, qkv, kv_append, qk, softmax, pv, o_proj, ffn_norm,
   ffn_up, act, gate_mul (gated FFN), ffn_down; once: final_norm, lm_head,
   embed.  New position i (0-based) attends to L + i + 1 keys, so one head
   scores S = n L + n (n + 1) / 2 (query, key) pairs.  One MAC = 2 ops.
2. ``pass_cost(hw, model, device, n, L)``: roofline per operator on one device
   (max of compute and memory time, plus a per-instance dispatch overhead),
   a per-pass overhead, and energy = ops x energy/op + bytes x energy/byte of
   the path + static power x time.  PIM specifics: matrix and elementwise
   ops on its MAC units at its total rate; nonlinear ops on the AAU (no
   utilisation factor), or, without an AAU, shipped with everything they touch
   over the PIM's link to the nonlinear host and computed there, serially.
   A device with a capacity (a GPU) streams the bytes of the models it holds
   beyond capacity over its link every pass, after the on-device part.
3. ``task_costs(cfg, context)``: the draft token, verification of k drafts
   (k + 1 positions), pre-verification of m tokens, the autoregressive step
   and the serial draft token, at one context.
4. ``draft_dist(profile, policy)``: the exact joint law of (K, A) of a batch
   for the fixed, SVIP and AdaEDL policies (stop rules that depend on the
   current token's entropy bucket only) by a forward recursion over
   (position, current bucket, accepted count, exit bucket), with batch starts
   at their stationary law (each batch continues the entropy chain from the
   previous batch's exit bucket).  ``leviathan(alpha, k)`` is the closed form
   for fixed k and i.i.d. acceptance.
5. ``serial_point(cfg)`` and ``autoregressive_point(cfg)``: the closed forms
   (renewal reward per context segment, segments costed at their middle
   context) with throughput, energy per token, busy fractions, acceptance
   and waste.

Inputs are the package's dataclasses (ahasd.Model, ahasd.Hardware,
ahasd.Workload, ahasd.Policy, ahasd.Config), read field by field.
"""
from __future__ import annotations

import math
from typing import Any

__all__ = ["pass_operators", "pass_cost", "task_costs", "draft_dist", "leviathan",
           "serial_point", "autoregressive_point", "model_weight_bytes", "kv_bytes_per_token"]

# Operations per nonlinear element (each elementwise arithmetic op, compare
# or lookup = 1; a transcendental by table + interpolation = 2).
OPS_PER_ELEM = {"layernorm": 7.0, "rmsnorm": 4.0, "softmax": 6.0, "relu": 1.0, "gelu": 8.0,
                "silu": 5.0, "gate_mul": 1.0}

ROLES = ("npu", "pim", "gpu", "cpu")


# ---------------------------------------------------------------- layer 1
def _dims(m: Any) -> dict[str, float]:
    hd = m.head_dim if m.head_dim > 0 else m.hidden / m.heads
    return {"L": m.layers, "d": float(m.hidden), "H": float(m.heads), "hd": float(hd),
            "q": m.heads * hd, "k": m.kv_heads * hd, "f": float(m.ffn), "V": float(m.vocab),
            "wb": m.weight_bytes, "kb": m.kv_bytes, "ab": m.act_bytes}


def kv_bytes_per_token(m: Any) -> float:
    """KV-cache bytes per cached token over all layers (K and V)."""
    x = _dims(m)
    return 2.0 * x["L"] * x["k"] * x["kb"]


def pass_operators(m: Any, n: int, L: float) -> list[dict[str, Any]]:
    """Operators of one pass: one dict per operator with every instance summed.

    Keys: name, kind (matmul, attention, nonlinear, memory), unit (matrix,
    nonlinear, elementwise, memory: what executes it), count, ops,
    weight_bytes, kv_read_bytes, kv_write_bytes, act_bytes, nonlinear_elems,
    act_per_instance (bytes of one instance's activations, for the on-chip
    test).
    """
    x = _dims(m)
    d, H, q, k, f, V = x["d"], x["H"], x["q"], x["k"], x["f"], x["V"]
    wb, kb, ab = x["wb"], x["kb"], x["ab"]
    S = n * L + n * (n + 1) / 2.0
    layernorm = m.norm_kind == "layernorm"
    norm_w = (2.0 if layernorm else 1.0) * d          # gain (and bias)
    norm_ops = OPS_PER_ELEM["layernorm" if layernorm else "rmsnorm"]
    gated = m.ffn_kind == "gated"
    up_out = (2.0 if gated else 1.0) * f

    ops: list[dict[str, Any]] = []

    def add(name: str, kind: str, unit: str, count: int, *, macs: float = 0.0,
            elem_ops: float = 0.0, w: float = 0.0, kvr: float = 0.0, kvw: float = 0.0,
            act_elems: float = 0.0, nl: float = 0.0) -> None:
        one = {"ops": 2.0 * macs + elem_ops, "weight_bytes": w * wb, "kv_read_bytes": kvr * kb,
               "kv_write_bytes": kvw * kb, "act_bytes": act_elems * ab, "nonlinear_elems": nl}
        row = {"name": name, "kind": kind, "unit": unit, "count": count,
               "act_per_instance": one["act_bytes"]}
        row.update({key: count * v for key, v in one.items()})
        ops.append(row)

    Ly = int(x["L"])
    # per layer
    add("attn_norm", "nonlinear", "nonlinear", Ly, elem_ops=norm_ops * n * d, w=norm_w,
        act_elems=2 * n * d, nl=n * d)
    add("qkv", "matmul", "matrix", Ly, macs=n * d * (q + 2 * k), w=d * (q + 2 * k),
        act_elems=n * d + n * (q + 2 * k))
    add("kv_append", "memory", "memory", Ly, kvw=2 * n * k, act_elems=2 * n * k)
    # scores: read queries and the new keys, write H S scores; cached keys from the KV cache
    add("qk", "attention", "matrix", Ly, macs=q * S, kvr=L * k, act_elems=n * q + n * k + H * S)
    add("softmax", "nonlinear", "nonlinear", Ly, elem_ops=OPS_PER_ELEM["softmax"] * H * S,
        act_elems=2 * H * S, nl=H * S)
    # read probabilities and the new values, write n q outputs
    add("pv", "attention", "matrix", Ly, macs=q * S, kvr=L * k, act_elems=H * S + n * k + n * q)
    add("o_proj", "matmul", "matrix", Ly, macs=n * q * d, w=q * d, act_elems=n * q + n * d)
    add("ffn_norm", "nonlinear", "nonlinear", Ly, elem_ops=norm_ops * n * d, w=norm_w,
        act_elems=2 * n * d, nl=n * d)
    add("ffn_up", "matmul", "matrix", Ly, macs=n * d * up_out, w=d * up_out,
        act_elems=n * d + n * up_out)
    add("act", "nonlinear", "nonlinear", Ly, elem_ops=OPS_PER_ELEM[m.act_kind] * n * f,
        act_elems=2 * n * f, nl=n * f)
    if gated:
        add("gate_mul", "nonlinear", "elementwise", Ly, elem_ops=OPS_PER_ELEM["gate_mul"] * n * f,
            act_elems=3 * n * f, nl=n * f)
    add("ffn_down", "matmul", "matrix", Ly, macs=n * f * d, w=f * d, act_elems=n * f + n * d)
    # once per pass
    add("final_norm", "nonlinear", "nonlinear", 1, elem_ops=norm_ops * n * d, w=norm_w,
        act_elems=2 * n * d, nl=n * d)
    add("lm_head", "matmul", "matrix", 1, macs=n * d * V, w=d * V, act_elems=n * d + n * V)
    add("embed", "memory", "memory", 1, w=n * d, act_elems=n * d)
    return ops


def model_weight_bytes(m: Any) -> tuple[float, float]:
    """(weights of the whole model, weights one pass reads besides its embedding rows)."""
    per_pass = sum(o["weight_bytes"] for o in pass_operators(m, 0, 0.0))
    untied = 0.0 if m.tied_embeddings else m.vocab * m.hidden * m.weight_bytes
    return per_pass + untied, per_pass


# ---------------------------------------------------------------- layer 2
def _unit_rate(hw: Any, dev: str, unit: str) -> tuple[float, float, bool]:
    """(ops per second, J per op, shipped to the nonlinear host) of a unit."""
    v = getattr(hw, dev)
    matrix = (v.matrix_ops_per_s * v.compute_util, v.matrix_energy_per_op_j, False)
    vector = (v.vector_ops_per_s * v.compute_util, v.vector_energy_per_op_j, False)
    if unit == "matrix":
        return matrix
    if unit == "memory":                # no arithmetic: pure data movement
        return (0.0, 0.0, False)
    if dev != "pim":
        return vector
    if unit == "elementwise":           # the PIM's MAC units multiply elementwise
        return matrix
    if v.has_aau:                       # fixed function: no utilisation factor
        return (v.aau_ops_per_s, v.aau_energy_per_op_j, False)
    host = getattr(hw, hw.nonlinear_host_dev)
    return (host.vector_ops_per_s * host.compute_util, host.vector_energy_per_op_j, True)


def _secs(amount: float, rate: float) -> float:
    return amount / rate if rate > 0 else 0.0


def pass_cost(hw: Any, m: Any, dev: str, n: int, L: float, *,
              streamed_bytes: float = 0.0) -> dict[str, Any]:
    """Latency and energy of one pass of ``m`` on device ``dev`` of ``hw``.

    Returns a dict: time_s, compute_s (time of compute-bound and shipped
    operators' compute), memory_s, overhead_s, energy_j, energy_compute_j,
    energy_memory_j, energy_static_j, and ``ops``: the operator rows with
    compute_s, memory_s, time_s, energy_j and memory_bound added.
    """
    v = getattr(hw, dev)
    bw = v.mem_bw_bytes_per_s * v.mem_bw_util
    link = v.link_bw_bytes_per_s * v.link_bw_util
    rows = pass_operators(m, n, L)
    tot = {"time_s": 0.0, "compute_s": 0.0, "memory_s": 0.0, "overhead_s": 0.0,
           "energy_compute_j": 0.0, "energy_memory_j": 0.0}
    for r in rows:
        rate, e_op, shipped = _unit_rate(hw, dev, r["unit"])
        t_c = _secs(r["ops"], rate)
        e_c = r["ops"] * e_op
        over = r["count"] * v.op_overhead_s
        direct = r["weight_bytes"] + r["kv_read_bytes"] + r["kv_write_bytes"]
        if shipped:
            moved = direct + r["act_bytes"]
            t_m = _secs(moved, link)
            e_m = moved * v.link_energy_per_byte_j
            over += r["count"] * v.roundtrip_s
            t = t_c + t_m + over        # out, compute on the host, back: no overlap
        else:
            e_m = direct * v.mem_energy_per_byte_j
            if r["act_per_instance"] > v.onchip_bytes:      # spills to memory
                direct += r["act_bytes"]
                e_m += r["act_bytes"] * v.mem_energy_per_byte_j
            else:
                e_m += r["act_bytes"] * v.onchip_energy_per_byte_j
            t_m = _secs(direct, bw)
            t = max(t_c, t_m) + over
        r.update(compute_s=t_c, memory_s=t_m, time_s=t, memory_bound=t_m >= t_c,
                 energy_j=e_c + e_m + v.static_w * t)
        if shipped:
            tot["compute_s"] += t_c
            tot["memory_s"] += t_m
        elif t_m >= t_c:
            tot["memory_s"] += t_m
        else:
            tot["compute_s"] += t_c
        tot["overhead_s"] += over
        tot["time_s"] += t
        tot["energy_compute_j"] += e_c
        tot["energy_memory_j"] += e_m
    t_link = _secs(streamed_bytes, link)
    tot["memory_s"] += t_link
    tot["time_s"] += t_link + v.pass_overhead_s
    tot["overhead_s"] += v.pass_overhead_s
    tot["energy_memory_j"] += streamed_bytes * v.link_energy_per_byte_j
    tot["energy_static_j"] = v.static_w * tot["time_s"]
    tot["energy_j"] = tot["energy_compute_j"] + tot["energy_memory_j"] + tot["energy_static_j"]
    tot["ops"] = rows
    return tot


def _streamed(hw: Any, dev: str, schedule: str, which: str, draft: Any, target: Any,
              m: Any, n: int, L: float) -> float:
    """Bytes of model ``which`` ("draft" or "target") streamed over the link per pass.

    A device with a capacity holds, in order, draft weights, target weights,
    draft KV, target KV of the models the schedule places on it; a pass of a
    model not placed there is costed as if it were placed too.  Whatever of
    the pass's model falls beyond capacity streams every pass.
    """
    cap = getattr(hw, dev).capacity_bytes
    if not cap > 0:
        return 0.0
    place_draft = {"autoregressive": False, "serial": dev == hw.verify_dev}.get(
        schedule, dev == hw.draft_dev)
    place_target = dev == hw.verify_dev or (schedule == "ahasd" and dev == hw.draft_dev)
    place_draft = place_draft or which == "draft"
    place_target = place_target or which == "target"
    wd, pass_wd = model_weight_bytes(draft)
    wt, pass_wt = model_weight_bytes(target)
    w_self, pass_w = (wd, pass_wd) if which == "draft" else (wt, pass_wt)
    prior = 0.0 if which == "draft" else (wd if place_draft else 0.0)
    w_stream = min(max(prior + w_self - cap, 0.0), w_self, pass_w)
    # KV: of the cached tokens; each model's KV lies after every placed weight
    placed_w = (wd if place_draft else 0.0) + (wt if place_target else 0.0)
    kd, kt = kv_bytes_per_token(draft), kv_bytes_per_token(target)
    if which == "draft":
        before_end = kd * L                     # draft KV is first
        mine = kd * L
    else:
        before_end = (kd * L if place_draft else 0.0) + kt * L
        mine = kt * L
    kv_stream = min(max(placed_w + before_end - cap, 0.0), mine)
    return w_stream + kv_stream


def streamed_alone(hw: Any, dev: str, m: Any, L: float) -> tuple[float, float]:
    """(weight, KV) bytes one pass of ``m`` streams when ``m`` is the only model on
    ``dev`` (what the per-operator table of ahasd.pass_ops shows in its "pass" row)."""
    cap = getattr(hw, dev).capacity_bytes
    if not cap > 0:
        return 0.0, 0.0
    w, pass_w = model_weight_bytes(m)
    kv = kv_bytes_per_token(m) * L
    return min(max(w - cap, 0.0), w, pass_w), min(max(w + kv - cap, 0.0), kv)


# ---------------------------------------------------------------- task costs
def task_costs(cfg: Any, context: float) -> dict[str, Any]:
    """Every task's cost at ``context`` tokens cached (a configuration with hardware).

    Keys: draft (one DLM token on draft_dev), verify[k] (k + 1 positions on
    verify_dev, k = 0..k_max), preverify[m] (m positions on the PIM / draft
    device, m = 1..m_max), ar_step (one TLM position on verify_dev),
    serial_draft (one DLM token on verify_dev); each a pass_cost dict.
    """
    hw, dr, tg = cfg.hardware, cfg.draft, cfg.target
    sched = cfg.schedule

    def cost(which: str, dev: str, n: int) -> dict[str, Any]:
        m = dr if which == "draft" else tg
        s = _streamed(hw, dev, sched, which, dr, tg, m, n, context)
        return pass_cost(hw, m, dev, n, context, streamed_bytes=s)

    k_max = max(cfg.policy.k_max, cfg.policy.k)
    out = {"draft": cost("draft", hw.draft_dev, 1),
           "verify": [cost("target", hw.verify_dev, k + 1) for k in range(k_max + 1)],
           "preverify": [None] + [cost("target", hw.draft_dev, mm)
                                  for mm in range(1, cfg.m_max + 1)],
           "ar_step": cost("target", hw.verify_dev, 1),
           "serial_draft": cost("draft", hw.verify_dev, 1)}
    return out


# ---------------------------------------------------------------- drafting
def leviathan(alpha: float, k: int) -> dict[str, float]:
    """Fixed k, i.i.d. acceptance alpha: E[A + 1] = (1 - alpha^(k+1)) / (1 - alpha)."""
    tpr = (k + 1.0) if alpha == 1.0 else (1.0 - alpha ** (k + 1)) / (1.0 - alpha)
    return {"tokens_per_round": tpr, "mean_accepted": tpr - 1.0, "mean_draft_len": float(k),
            "p_full": alpha ** k, "acceptance_rate": (tpr - 1.0) / k}


def _entropy(profile: Any, b: int) -> float:
    return (b + 0.5) * profile.h_max / profile.buckets


def _stops(policy: Any, profile: Any, b: int, i: int) -> bool:
    """Does the policy end the batch after its i-th token, drafted in bucket b?"""
    if policy.kind == "fixed":
        return i >= policy.k
    if i >= policy.k_max:
        return True
    if i < policy.k_min:
        return False
    h = _entropy(profile, b)
    if policy.kind == "svip":
        return math.sqrt(policy.svip_c * h) > policy.svip_h
    if policy.kind == "adaedl":
        return 1.0 - math.sqrt(policy.adaedl_gamma * h) < policy.adaedl_lambda
    raise ValueError(f"the reference covers fixed, svip and adaedl, not {policy.kind}")


def _stationary(q: list[list[float]]) -> list[float]:
    """Stationary law of a row-stochastic matrix (power iteration, then normalised)."""
    n = len(q)
    p = [1.0 / n] * n
    for _ in range(100000):
        nxt = [sum(p[i] * q[i][j] for i in range(n)) for j in range(n)]
        if max(abs(a - b) for a, b in zip(nxt, p)) < 1e-16:
            p = nxt
            break
        p = nxt
    s = sum(p)
    return [v / s for v in p]


def _batch_law(profile: Any, policy: Any, first: list[float]) -> tuple[dict, list[float]]:
    """P(K = k, A = j) of one batch whose first token's bucket has law ``first``,
    and the law of its exit bucket (the first rejected token, else the last).

    Forward recursion over drafted positions.  State after token i, before the
    policy's decision: (current bucket b, A so far, exit bucket e or -1 while
    every token so far is accepted) -> probability.
    """
    B = profile.buckets
    q, acc, decay = profile.q, profile.accept, profile.position_decay
    law: dict[tuple[int, int], float] = {}
    exit_law = [0.0] * B
    # token 1
    states: dict[tuple[int, int, int], float] = {}
    pending = {b: first[b] for b in range(B) if first[b] > 0}
    i = 1
    prev_states: dict[tuple[int, int, int], float] = {}
    while True:
        states = {}
        a_pos = decay ** (i - 1)
        # draw bucket of token i: from `pending` (first token) or via q from prev states
        if i == 1:
            for b, p in pending.items():
                pa = acc[b] * a_pos
                states[(b, 1, -1)] = states.get((b, 1, -1), 0.0) + p * pa
                states[(b, 0, b)] = states.get((b, 0, b), 0.0) + p * (1.0 - pa)
        else:
            for (bp, a, e), p in prev_states.items():
                for b in range(B):
                    pt = p * q[bp][b]
                    if pt == 0.0:
                        continue
                    if e < 0:
                        pa = acc[b] * a_pos
                        states[(b, a + 1, -1)] = states.get((b, a + 1, -1), 0.0) + pt * pa
                        states[(b, a, b)] = states.get((b, a, b), 0.0) + pt * (1.0 - pa)
                    else:
                        states[(b, a, e)] = states.get((b, a, e), 0.0) + pt
        prev_states = {}
        for (b, a, e), p in states.items():
            if _stops(policy, profile, b, i):
                law[(i, a)] = law.get((i, a), 0.0) + p
                exit_law[b if e < 0 else e] += p
            else:
                prev_states[(b, a, e)] = p
        if not prev_states:
            break
        i += 1
    return law, exit_law


def draft_dist(profile: Any, policy: Any) -> dict[str, Any]:
    """Exact (K, A) law of a batch at the stationary law of batch starts.

    The first bucket of a batch is drawn from row E of Q, E the previous
    batch's exit bucket; the start law is the fixed point of that map.
    Returns p_ka (dict (k, j) -> probability) and the summary statistics.
    """
    B = profile.buckets
    q = [list(profile.q[i][:B]) for i in range(B)]
    # one-step map: start law -> exit law -> next start law
    exits = []
    for b in range(B):
        first = [1.0 if j == b else 0.0 for j in range(B)]
        exits.append(_batch_law(profile, policy, first)[1])
    trans = [[sum(exits[b][e] * q[e][j] for e in range(B)) for j in range(B)] for b in range(B)]
    start = _stationary(trans)
    law, _ = _batch_law(profile, policy, start)
    ek = sum(k * p for (k, _), p in law.items())
    ea = sum(j * p for (_, j), p in law.items())
    return {"p_ka": law, "mean_draft_len": ek, "mean_accepted": ea,
            "p_full": sum(p for (k, j), p in law.items() if j == k),
            "tokens_per_round": ea + 1.0, "acceptance_rate": ea / ek, "start": start}


# ---------------------------------------------------------------- closed forms
def _segments(cfg: Any) -> list[float]:
    S = cfg.segments
    return [cfg.prompt_len + (s + 0.5) * cfg.gen_len / S for s in range(S)]


def _present(hw: Any) -> list[str]:
    return [r for r in ROLES if getattr(hw, r) is not None]


def _finish(cfg: Any, T: float, E_tasks: float, busy: dict[str, float], drafted: float,
            accepted: float, rounds: float) -> dict[str, float]:
    """Add idle power of every present device and memory, then the outputs."""
    hw = cfg.hardware
    N = float(cfg.gen_len)
    E = E_tasks + hw.memory_static_w * T
    for r in _present(hw):
        E += getattr(hw, r).static_w * (T - busy.get(r, 0.0))
    out = {"throughput_tok_s": N / T, "latency_per_token_s": T / N,
           "energy_per_token_j": E / N, "tokens_per_j": N / E, "edp_js": (E / N) * (T / N),
           "total_time_s": T, "total_energy_j": E}
    for r in ROLES:
        out[f"{r}_busy_frac"] = busy.get(r, 0.0) / T if getattr(hw, r) is not None else 0.0
        out[f"{r}_idle_s"] = T - busy.get(r, 0.0) if getattr(hw, r) is not None else 0.0
    if drafted > 0:
        out["acceptance_rate"] = accepted / drafted
        out["waste_frac"] = 1.0 - accepted / drafted
        out["mean_draft_len"] = drafted / rounds
        out["mean_accepted"] = accepted / rounds
        out["tokens_per_round"] = N / rounds
    return out


def autoregressive_point(cfg: Any) -> dict[str, float]:
    """One target pass per token on verify_dev, costed per context segment."""
    S = cfg.segments
    T = E = 0.0
    for ctx in _segments(cfg):
        c = task_costs(cfg, ctx)["ar_step"]
        T += cfg.gen_len / S * c["time_s"]
        E += cfg.gen_len / S * c["energy_j"]
    return _finish(cfg, T, E, {cfg.hardware.verify_dev: T}, 0.0, 0.0, float(cfg.gen_len))


def serial_point(cfg: Any, dist: dict[str, Any] | None = None) -> dict[str, float]:
    """Serial speculative decoding: K draft tokens then the verification, both
    on verify_dev; after a rejection the drafter's KV rollback (busy).

    Per segment of N/S tokens (costs at its middle context), N/S / E[A + 1]
    rounds, each taking E[K] draft tokens + E[verify(K)] + P(A < K) rollback
    (renewal reward).  ``dist``: a (K, A) law as draft_dist returns (default:
    computed here for fixed/svip/adaedl).
    """
    hw = cfg.hardware
    dev = hw.verify_dev
    if dist is None:
        dist = draft_dist(cfg.workload, cfg.policy)
    p_ka = dist["p_ka"]
    p_k: dict[int, float] = {}
    for (k, _), p in p_ka.items():
        p_k[k] = p_k.get(k, 0.0) + p
    p_rej = sum(p for (k, j), p in p_ka.items() if j < k)
    ek, ea = dist["mean_draft_len"], dist["mean_accepted"]
    S = cfg.segments
    T = E = 0.0
    rounds = 0.0
    for ctx in _segments(cfg):
        tc = task_costs(cfg, ctx)
        r = cfg.gen_len / S / (ea + 1.0)
        t_round = (ek * tc["serial_draft"]["time_s"]
                   + sum(p * tc["verify"][k]["time_s"] for k, p in p_k.items())
                   + p_rej * hw.rollback_s)
        e_round = (ek * tc["serial_draft"]["energy_j"]
                   + sum(p * tc["verify"][k]["energy_j"] for k, p in p_k.items())
                   + p_rej * hw.rollback_s * getattr(hw, dev).static_w)
        T += r * t_round
        E += r * e_round
        rounds += r
    return _finish(cfg, T, E, {dev: T}, rounds * ek, rounds * ea, rounds)
