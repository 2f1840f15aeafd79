"""Numerical edge cases give the correct limit, not an error.

Each test pins one limit of the semantics (docs/MODEL.md):

- alpha -> 1 and alpha = 0: tokens per round k + 1 and 1, waste 0 and 1, and
  the estimate is continuous at alpha = 1;
- k = 1: one draft per round, E[tokens per round] = 1 + alpha;
- L_max = 1: the asynchronous schedules degenerate to sync (MODEL.md: "With
  L_max = 1, async equals sync");
- zero-cost tasks (free drafting, free verification, no handoff, no energy)
  are limits, and only a run that takes no time at all is refused;
- bandwidth -> infinity: throughput converges to the compute-bound limit and
  stays finite (1e300 bytes/s is accepted);
- a draft slower than the target: speculation loses to autoregressive
  decoding, by the closed form;
- the largest sizes the C core accepts (k = AHASD_MAX_K, L_max =
  AHASD_MAX_LMAX, 64 segments, gen_len = 1, prompt_len = 0).

The closed forms used (Leviathan et al., serial speculative decoding with
fixed k and i.i.d. acceptance alpha): E[tokens per round] =
(1 - alpha^(k+1)) / (1 - alpha) (k + 1 at alpha = 1), E[accepted] =
alpha (1 - alpha^k) / (1 - alpha), and a round of the serial and sync
schedules with explicit costs takes k draft_token_s + verify_base_s +
k verify_per_token_s + sync_s.
"""
from __future__ import annotations

import math

import pytest

import ahasd
from ahasd._native import lib

SCHEDULES = ("autoregressive", "serial", "sync", "partitioned", "async", "async-edc", "ahasd")
SPECULATIVE = SCHEDULES[1:]
EXPLICIT = ("autoregressive", "serial", "sync", "async", "async-edc", "ahasd")  # no operators
HW_OF = {"serial": "rtx4090-laptop", "partitioned": "specpim-gpu-pim"}  # else ahasd-npu-pim

DRAFT_S, VERIFY_S, PER_TOKEN_S = 0.1, 1.0, 0.01


def costs(**kw: float) -> ahasd.TaskCosts:
    base = dict(draft_token_s=DRAFT_S, verify_s=(VERIFY_S, PER_TOKEN_S), preverify_token_s=0.05,
                draft_token_j=0.2, verify_j=(2.0, 0.02), preverify_token_j=0.1,
                idle_w={"npu": 0.1, "pim": 0.05})
    base.update(kw)
    return ahasd.TaskCosts(**base)


def tokens_per_round(alpha: float, k: int) -> float:
    """(1 - alpha^(k+1)) / (1 - alpha), summed as 1 + alpha + ... + alpha^k (no
    cancellation near alpha = 1)."""
    return math.fsum(alpha ** j for j in range(k + 1))


def round_s(k: int, draft_s: float = DRAFT_S, verify_s: float = VERIFY_S,
            per_token_s: float = PER_TOKEN_S, sync_s: float = 0.0) -> float:
    return k * draft_s + verify_s + k * per_token_s + sync_s


# --------------------------------------------------------------------------
# alpha -> 1, alpha = 0, k = 1: the closed forms
# --------------------------------------------------------------------------
@pytest.mark.parametrize("schedule", ["serial", "sync"])
@pytest.mark.parametrize("k", [1, 2, 4, 8, 16])
@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.8, 1.0 - 1e-9, 1.0])
def test_leviathan_closed_form(schedule: str, k: int, alpha: float) -> None:
    r = ahasd.estimate(schedule=schedule, costs=costs(), alpha=alpha, k=k)
    tpr = tokens_per_round(alpha, k)
    assert r.tokens_per_round == pytest.approx(tpr, rel=1e-9)
    assert r.mean_accepted == pytest.approx(tpr - 1.0, rel=1e-9, abs=1e-12)
    assert r.acceptance_rate == pytest.approx((tpr - 1.0) / k, rel=1e-9, abs=1e-12)
    assert r.acceptance_rate + r.waste_frac == pytest.approx(1.0, abs=1e-12)
    assert r.throughput_tok_s == pytest.approx(tpr / round_s(k), rel=1e-9)


def test_speedup_of_the_design_document() -> None:
    """MODEL.md: alpha = 0.8, k = 4, c = 0.1 gives a speed-up of 2.4 (serial vs AR)."""
    c = ahasd.TaskCosts(draft_token_s=0.1, verify_s=(1.0, 0.0))
    ar = ahasd.estimate(schedule="autoregressive", costs=c, alpha=0.8)
    sd = ahasd.estimate(schedule="serial", costs=c, alpha=0.8, k=4)
    assert sd.throughput_tok_s / ar.throughput_tok_s == pytest.approx(3.3616 / 1.4, rel=1e-12)
    assert ar.throughput_tok_s == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("schedule", SPECULATIVE)
def test_alpha_zero_accepts_nothing(schedule: str) -> None:
    """alpha = 0: every draft is rejected, one (target) token per round."""
    kw = {"costs": costs()} if schedule in EXPLICIT else {"hardware": HW_OF.get(schedule)}
    for r in (ahasd.estimate(schedule=schedule, alpha=0.0, k=4, **kw),
              ahasd.simulate(schedule=schedule, alpha=0.0, k=4, gen_len=64, n_runs=2, **kw)):
        assert r.acceptance_rate == 0.0
        assert r.waste_frac == 1.0
        assert r.mean_accepted == 0.0
        assert r.tokens_per_round == pytest.approx(1.0, abs=1e-12)
        assert r.drafted_tokens > 0


@pytest.mark.parametrize("schedule", SPECULATIVE)
def test_alpha_one_wastes_nothing(schedule: str) -> None:
    """alpha = 1: every draft is accepted, nothing is wasted, no flush ever."""
    kw = {"costs": costs()} if schedule in EXPLICIT else {"hardware": HW_OF.get(schedule)}
    for r in (ahasd.estimate(schedule=schedule, alpha=1.0, k=4, **kw),
              ahasd.simulate(schedule=schedule, alpha=1.0, k=4, gen_len=64, n_runs=2, **kw)):
        assert r.acceptance_rate == 1.0
        assert r.waste_frac == 0.0
        # k accepted per round, plus the bonus unless a later draft exists
        assert 4.0 - 1e-12 <= r.tokens_per_round <= 5.0 + 1e-12
        assert r.mean_accepted == pytest.approx(4.0, abs=1e-9) or r.mean_accepted <= 4.0


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_alpha_to_one_is_continuous(schedule: str) -> None:
    """The estimate at alpha = 1 - 1e-12 is within 1e-9 of the estimate at 1."""
    kw = {"costs": costs()} if schedule in EXPLICIT else {"hardware": HW_OF.get(schedule)}
    near = ahasd.estimate(schedule=schedule, alpha=1.0 - 1e-12, k=4, **kw)
    one = ahasd.estimate(schedule=schedule, alpha=1.0, k=4, **kw)
    for name in ("throughput_tok_s", "energy_per_token_j", "tokens_per_round",
                 "acceptance_rate", "npu_busy_frac", "pim_busy_frac"):
        assert near[name] == pytest.approx(one[name], rel=1e-9, abs=1e-9), name


@pytest.mark.parametrize("schedule", ["serial", "sync"])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 0.9, 1.0])
def test_k_one(schedule: str, alpha: float) -> None:
    """k = 1: one draft per round, E[tokens per round] = 1 + alpha."""
    r = ahasd.estimate(schedule=schedule, costs=costs(), alpha=alpha, k=1)
    assert r.mean_draft_len == 1.0
    assert r.tokens_per_round == pytest.approx(1.0 + alpha, rel=1e-12)
    assert r.throughput_tok_s == pytest.approx((1.0 + alpha) / round_s(1), rel=1e-12)


@pytest.mark.parametrize("schedule", SPECULATIVE)
def test_k_one_every_schedule(schedule: str) -> None:
    kw = {"costs": costs()} if schedule in EXPLICIT else {"hardware": HW_OF.get(schedule)}
    r = ahasd.estimate(schedule=schedule, alpha=0.7, k=1, **kw)
    s = ahasd.simulate(schedule=schedule, alpha=0.7, k=1, gen_len=128, n_runs=2, **kw)
    for x in (r, s):
        assert 1.0 - 1e-12 <= x.tokens_per_round <= 2.0 + 1e-12
        assert x.mean_accepted <= 1.0 + 1e-12
        assert 0.0 < x.throughput_tok_s < math.inf


@pytest.mark.parametrize("schedule", SPECULATIVE)
@pytest.mark.parametrize("k", [1, 4])
def test_estimate_mean_draft_len_is_k_for_fixed_policy(schedule: str, k: int) -> None:
    """MODEL.md, Outputs: mean_draft_len is tokens per completed batch (the
    policy's K), so exactly k under the fixed policy, whatever the schedule.

    The simulator gives k; the async family's Markov-chain estimates gave
    0.625 (k = 1) and 1.59 (k = 4) for async at alpha = 0.7 (csrc/chain.c)."""
    kw = {"costs": costs()} if schedule in EXPLICIT else {"hardware": HW_OF.get(schedule)}
    s = ahasd.simulate(schedule=schedule, alpha=0.7, k=k, gen_len=128, n_runs=2, **kw)
    assert s.mean_draft_len == k
    r = ahasd.estimate(schedule=schedule, alpha=0.7, k=k, **kw)
    assert r.mean_draft_len == pytest.approx(k, rel=1e-9)


# --------------------------------------------------------------------------
# L_max = 1
# --------------------------------------------------------------------------
@pytest.mark.parametrize("schedule", ["async", "async-edc", "ahasd"])
@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_lmax_one_is_sync(schedule: str, alpha: float) -> None:
    """With L_max = 1 the PIM never drafts ahead, so EDC has nothing to stop and
    TVC nothing to pre-verify: the schedule is sync, estimate and simulation."""
    c = costs(sync_s=0.001, rollback_s=0.002)
    sync = ahasd.estimate(schedule="sync", costs=c, alpha=alpha, k=4)
    r = ahasd.estimate(schedule=schedule, costs=c, alpha=alpha, k=4, l_max=1)
    assert r.throughput_tok_s == pytest.approx(sync.throughput_tok_s, rel=1e-12)
    assert r.energy_per_token_j == pytest.approx(sync.energy_per_token_j, rel=1e-12)
    ssync = ahasd.simulate(schedule="sync", costs=c, alpha=alpha, k=4, gen_len=200, seed=5,
                           n_runs=2)
    s = ahasd.simulate(schedule=schedule, costs=c, alpha=alpha, k=4, l_max=1, gen_len=200,
                       seed=5, n_runs=2)
    assert s.throughput_tok_s == pytest.approx(ssync.throughput_tok_s, rel=1e-12)
    assert s.waste_frac == pytest.approx(ssync.waste_frac, abs=1e-12)


# --------------------------------------------------------------------------
# Zero-cost tasks
# --------------------------------------------------------------------------
@pytest.mark.parametrize("schedule", ["serial", "sync"])
def test_free_drafting(schedule: str) -> None:
    r = ahasd.estimate(schedule=schedule, costs=costs(draft_token_s=0.0), alpha=0.8, k=4)
    assert r.throughput_tok_s == pytest.approx(tokens_per_round(0.8, 4) / round_s(4, 0.0),
                                               rel=1e-12)


@pytest.mark.parametrize("schedule", ["serial", "sync"])
def test_free_verification(schedule: str) -> None:
    r = ahasd.estimate(schedule=schedule, costs=costs(verify_s=(0.0, 0.0)), alpha=0.8, k=4)
    assert r.throughput_tok_s == pytest.approx(
        tokens_per_round(0.8, 4) / round_s(4, verify_s=0.0, per_token_s=0.0), rel=1e-12)


@pytest.mark.parametrize("schedule", EXPLICIT)
def test_zero_energy_and_free_handoffs(schedule: str) -> None:
    """No energy anywhere: energy per token and EDP are exactly 0; free
    sync, rollback, switch and pre-verification change nothing but time."""
    c = ahasd.TaskCosts(draft_token_s=0.03, verify_s=(0.25, 0.001))
    for r in (ahasd.estimate(schedule=schedule, costs=c, alpha=0.8, k=4),
              ahasd.simulate(schedule=schedule, costs=c, alpha=0.8, k=4, gen_len=100,
                             n_runs=2)):
        assert r.energy_per_token_j == 0.0
        assert r.edp_js == 0.0
        assert r.total_energy_j == 0.0
        assert 0.0 < r.throughput_tok_s < math.inf


@pytest.mark.parametrize("schedule", ["async", "async-edc", "ahasd"])
def test_free_drafting_async_terminates(schedule: str) -> None:
    """Free drafting and free pre-verification: simulated time still advances
    (the NPU's verifications take time) and the run ends."""
    c = costs(draft_token_s=0.0, preverify_token_s=0.0, draft_token_j=0.0)
    r = ahasd.estimate(schedule=schedule, costs=c, alpha=0.8, k=4)
    s = ahasd.simulate(schedule=schedule, costs=c, alpha=0.8, k=4, gen_len=200, n_runs=2)
    assert 0.0 < r.throughput_tok_s < math.inf
    assert s.committed_tokens == 200.0
    assert 0.0 < s.throughput_tok_s < math.inf


@pytest.mark.parametrize("schedule", EXPLICIT)
def test_a_run_that_takes_no_time_is_refused(schedule: str) -> None:
    c = ahasd.TaskCosts(draft_token_s=0.0, verify_s=(0.0, 0.0))
    with pytest.raises(ahasd.ConfigError, match=r"costs\..*(0 s|> 0)"):
        ahasd.estimate(schedule=schedule, costs=c, alpha=0.8, k=4)


# --------------------------------------------------------------------------
# Bandwidth -> infinity, tiny and huge rates
# --------------------------------------------------------------------------
def _bw_point(schedule: str, bw: float) -> ahasd.Result:
    hw = HW_OF.get(schedule, "ahasd-npu-pim")
    devs = {"rtx4090-laptop": ("gpu",), "specpim-gpu-pim": ("gpu", "pim")}.get(hw, ("npu", "pim"))
    return ahasd.estimate(schedule=schedule, hardware=hw, alpha=0.8, k=4,
                          **{f"{d}.mem_bw_bytes_per_s": bw for d in devs})


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_bandwidth_to_infinity_converges(schedule: str) -> None:
    """At 1e30 bytes/s every pass is compute- and overhead-bound: 1e300 adds
    nothing, and throughput increases towards that limit."""
    vals = [_bw_point(schedule, bw).throughput_tok_s for bw in (1e11, 1e14, 1e20, 1e30, 1e300)]
    assert all(0.0 < v < math.inf for v in vals)
    assert vals == sorted(vals) or all(b >= a * (1 - 1e-12) for a, b in zip(vals, vals[1:]))
    assert vals[-1] == pytest.approx(vals[-2], rel=1e-12)
    assert vals[-2] == pytest.approx(vals[-3], rel=1e-6)


def test_rates_whose_reciprocal_overflows_are_refused() -> None:
    with pytest.raises(ahasd.ConfigError, match=r"npu\.matrix_ops_per_s = 1e-300"):
        ahasd.estimate(schedule="sync", **{"npu.matrix_ops_per_s": 1e-300})
    with pytest.raises(ahasd.ConfigError, match=r"pim\.mem_bw_bytes_per_s"):
        ahasd.estimate(schedule="sync", **{"pim.mem_bw_bytes_per_s": 1e-300})


def test_underflowing_achievable_rate_is_refused() -> None:
    """1e-300 ops/s at utilisation 1e-10 underflows to 0 ops/s, which the cost
    model would otherwise take as free work."""
    with pytest.raises(ahasd.ConfigError, match=r"npu\.matrix_ops_per_s.*underflow"):
        ahasd.estimate(schedule="sync", **{"npu.matrix_ops_per_s": 1e-300,
                                          "npu.compute_util": 1e-10})


# --------------------------------------------------------------------------
# A draft slower than the target
# --------------------------------------------------------------------------
@pytest.mark.parametrize("schedule", ["serial", "sync"])
@pytest.mark.parametrize("alpha", [0.0, 0.8, 1.0])
def test_draft_slower_than_target(schedule: str, alpha: float) -> None:
    c = costs(draft_token_s=2.0)
    ar = ahasd.estimate(schedule="autoregressive", costs=c)
    r = ahasd.estimate(schedule=schedule, costs=c, alpha=alpha, k=4)
    assert r.throughput_tok_s == pytest.approx(tokens_per_round(alpha, 4) / round_s(4, 2.0),
                                               rel=1e-12)
    assert r.throughput_tok_s < ar.throughput_tok_s


@pytest.mark.parametrize("schedule", ["serial", "sync", "async", "async-edc", "ahasd"])
def test_draft_much_slower_than_target_on_hardware(schedule: str) -> None:
    """A drafting device at 2.385 ops/s drafts a token in about 1e10 s: every
    schedule that drafts there still returns a finite result, slower than
    autoregressive decoding on the same platform (the analytical estimate and
    the simulator agree within 15%).  (partitioned is left out: its static
    split moves the DLM's layers off a slow PIM.)"""
    hw = HW_OF.get(schedule, "ahasd-npu-pim")
    slow = {"pim.matrix_ops_per_s": 2.385} if hw != "rtx4090-laptop" else \
        {"gpu.matrix_ops_per_s": 2.385}
    ar = ahasd.estimate(schedule="autoregressive", hardware=hw, alpha=0.8, k=4)
    r = ahasd.estimate(schedule=schedule, hardware=hw, alpha=0.8, k=4, gen_len=64, **slow)
    s = ahasd.simulate(schedule=schedule, hardware=hw, alpha=0.8, k=4, gen_len=64, n_runs=2,
                       **slow)
    assert 0.0 < r.throughput_tok_s < ar.throughput_tok_s
    assert 0.0 < s.throughput_tok_s < ar.throughput_tok_s
    assert r.throughput_tok_s == pytest.approx(s.throughput_tok_s, rel=0.15)


# --------------------------------------------------------------------------
# The largest and smallest sizes accepted
# --------------------------------------------------------------------------
@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("kw", [
    {"gen_len": 1, "prompt_len": 0},
    {"k": 16, "policy": "fixed"},
    {"policy": "fixed", "k": lib.AHASD_MAX_K, "k_max": lib.AHASD_MAX_K},
    {"l_max": lib.AHASD_MAX_LMAX},
    {"segments": 1}, {"segments": lib.AHASD_MAX_SEGMENTS},
    {"m_max": lib.AHASD_MAX_K},
], ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_extreme_sizes(schedule: str, kw: dict) -> None:
    hw = HW_OF.get(schedule, "ahasd-npu-pim")
    r = ahasd.estimate(schedule=schedule, hardware=hw, alpha=0.8, **kw)
    s = ahasd.simulate(schedule=schedule, hardware=hw, alpha=0.8, n_runs=2,
                       **{**kw, "gen_len": min(kw.get("gen_len", 64), 64)})
    for x in (r, s):
        assert 0.0 < x.throughput_tok_s < math.inf
        assert 0.0 <= x.acceptance_rate <= 1.0
    assert s.committed_tokens == min(kw.get("gen_len", 64), 64)


def test_gen_len_one_commits_one_token() -> None:
    s = ahasd.simulate(schedule="sync", alpha=1.0, k=8, gen_len=1, prompt_len=0, n_runs=3)
    assert s.committed_tokens == 1.0
    assert s.rounds == 1.0


def test_zero_memory_energy_is_zero_not_negative() -> None:
    """Memory at 0 J/byte with every activation spilling off chip: the memory
    energy of each pass is exactly 0 (it rounded to -1.7e-21 J before)."""
    t = ahasd.task_costs(schedule="sync", context=0.0,
                         **{"npu.mem_energy_per_byte_j": 0.0, "npu.onchip_bytes": 0.0,
                            "pim.mem_energy_per_byte_j": 0.0, "pim.onchip_bytes": 0.0}
                         ).to_frame()
    for col in ("compute_j", "memory_j", "static_busy_j", "static_idle_j", "task_j", "energy_j"):
        assert (t[col] >= 0.0).all(), col
