"""Token-tree drafting (policy 'tree'): the Python Policy fields, the law of the
accepted depth against its sampler, reduction to fixed k, closed form against
the simulator, pruning, and the schedules that refuse trees."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ahasd
from ahasd.errors import ConfigError


def test_policy_fields_and_broadcast():
    p = ahasd.Policy("tree", tree_depth=3, tree_branch=(4, 2, 1), tree_prune=0.25)
    assert p.tree_branch == (4, 2, 1)
    assert p.tree_nodes == 4 + 8 + 8
    assert p.tree_kept == 20 - math.floor(0.25 * 20)
    assert set(p.params) == {"tree_depth", "tree_branch", "tree_prune"}
    assert "tree_branch=(4,2,1)" in str(p)
    # one factor means every depth; a uniform tree follows its depth
    q = ahasd.Policy("tree", tree_depth=5, tree_branch=2)
    assert q.tree_branch == (2,) * 5 and q.tree_nodes == 62
    assert q.replace(tree_depth=3).tree_branch == (2, 2, 2)
    # the C struct carries the fields
    c = p.cstruct()
    assert c.tree_depth == 3 and list(c.tree_branch)[:3] == [4, 2, 1] and c.tree_prune == 0.25


@pytest.mark.parametrize("kw, field", [
    ({"tree_depth": 3, "tree_branch": (4, 2)}, "tree_branch"),
    ({"tree_depth": 0}, "tree_depth"),
    ({"tree_depth": 17}, "tree_depth"),
    ({"tree_depth": 2, "tree_branch": (64, 32)}, "tree_branch"),
    ({"tree_depth": 2, "tree_branch": (2, 0)}, "tree_branch[1]"),
    ({"tree_prune": 1.0}, "tree_prune"),
    ({"tree_prune": -0.2385}, "tree_prune"),
    ({"tree_branch": "22"}, "tree_branch"),
])
def test_policy_errors_name_the_field(kw, field):
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        ahasd.Policy("tree", **kw)


def test_other_kinds_ignore_tree_fields():
    # the tree fields are only read for kind 'tree'
    p = ahasd.Policy("fixed", k=3, tree_depth=3, tree_branch=(4, 2, 1))
    assert p.params == {"k": 3}
    with pytest.raises(ConfigError, match="tree_depth is a parameter of policy 'tree'"):
        ahasd.Config.build(policy="fixed", tree_depth=3)


@pytest.mark.parametrize("workload", ["alpaca", "code"])
@pytest.mark.parametrize("depth", [1, 3, 6])
def test_chain_tree_is_fixed_k(workload, depth):
    t = ahasd.draft_distribution(policy="tree", tree_depth=depth, tree_branch=1,
                                 workload=workload)
    f = ahasd.draft_distribution(policy="fixed", k=depth, workload=workload)
    np.testing.assert_allclose(t.p_ka[depth], f.p_ka[depth], rtol=1e-12, atol=1e-15)
    for sched in ("serial", "sync"):
        a = ahasd.estimate(schedule=sched, workload=workload, policy="tree", tree_depth=depth,
                           tree_branch=1)
        b = ahasd.estimate(schedule=sched, workload=workload, policy="fixed", k=depth)
        for o in ("throughput_tok_s", "energy_per_token_j", "acceptance_rate",
                  "npu_busy_frac", "pim_busy_frac"):
            assert getattr(a, o) == pytest.approx(getattr(b, o), rel=1e-11)


def test_law_against_sampler():
    kw = dict(policy="tree", tree_depth=4, tree_branch=(3, 2, 2, 1), tree_prune=0.3,
              workload="alpaca")
    d = ahasd.draft_distribution(**kw)
    s = ahasd.draft_sample(n=100_000, seed=2385, **kw)
    assert (s["k"] == 4).all()
    se = s["a"].std() / math.sqrt(len(s))
    assert abs(s["a"].mean() - d.mean_accepted) < 4.5 * se
    freq = s["a"].value_counts(normalize=True).reindex(range(5), fill_value=0.0).to_numpy()
    p = d.p_ka[4]
    assert np.all(np.abs(freq - p) < 4.5 * np.sqrt(p * (1 - p) / len(s)) + 1e-9)
    assert d.tokens_per_round == pytest.approx(d.mean_accepted + 1)


def test_wider_trees_accept_more_and_pruning_less():
    ea = [ahasd.draft_distribution(policy="tree", tree_depth=4, tree_branch=(b, 1, 1, 1),
                                   alpha=0.6).mean_accepted for b in (1, 2, 4, 8)]
    assert all(x < y for x, y in zip(ea, ea[1:]))
    pr = [ahasd.draft_distribution(policy="tree", tree_depth=4, tree_branch=(4, 2, 2, 1),
                                   tree_prune=f, alpha=0.6).mean_accepted
          for f in (0.0, 0.25, 0.5, 0.75, 0.95)]
    assert all(x >= y for x, y in zip(pr, pr[1:]))
    # i.i.d. alpha, one level of b candidates: E[A] = 1 - (1 - a)^b
    for b in (1, 3, 7):
        d = ahasd.draft_distribution(policy="tree", tree_depth=1, tree_branch=b, alpha=0.6)
        assert d.mean_accepted == pytest.approx(1 - 0.4 ** b, rel=1e-12)


def test_verification_costs_the_kept_nodes():
    kw = dict(schedule="sync", hardware="lp-spec-npu-pim", draft="llama-68m",
              target="llama2-7b", workload="alpaca", policy="tree", tree_depth=4,
              tree_branch=(4, 2, 2, 1), **{"pim.matrix_ops_per_s": 1.6384e12})
    t = [ahasd.estimate(tree_prune=f, **kw) for f in (0.0, 0.5, 0.9)]
    verify = [r.time_breakdown.loc["pim", "verify"] / r.rounds for r in t]
    assert verify[0] > verify[1] > verify[2]      # compute-bound PIM: fewer nodes, faster
    for r in t:
        assert r.mean_draft_len == pytest.approx(44)          # drafted nodes per round
        assert r.acceptance_rate + r.waste_frac == pytest.approx(1.0)


@pytest.mark.parametrize("point", [
    dict(schedule="sync", hardware="lp-spec-npu-pim", draft="llama-68m", target="llama2-7b",
         workload="alpaca", policy="tree", tree_depth=4, tree_branch=(4, 2, 2, 1),
         tree_prune=0.5),
    dict(schedule="serial", hardware="phone-sd8gen3", draft="qwen2.5-0.5b",
         target="qwen2.5-7b", workload="summarization", policy="tree", tree_depth=4,
         tree_branch=(2, 2, 1, 1)),
])
def test_closed_form_against_simulator(point):
    a = ahasd.estimate(gen_len=512, **point)
    s = ahasd.simulate(gen_len=512, n_runs=60, seed=11, **point)
    for o in ("throughput_tok_s", "energy_per_token_j", "tokens_per_round",
              "acceptance_rate"):
        # 3 half-widths plus the truncation of the last round (about 0.5%)
        tol = 3 * s.ci95[o] + 0.006 * abs(getattr(a, o))
        assert abs(getattr(a, o) - getattr(s, o)) <= tol, o


@pytest.mark.parametrize("schedule", ["async", "async-edc", "ahasd", "partitioned"])
def test_schedules_without_trees(schedule):
    with pytest.raises(ConfigError, match=f"policy 'tree' is supported by "
                                          f"autoregressive/serial/sync; schedule '{schedule}'"):
        ahasd.estimate(schedule=schedule, policy="tree")


def test_autoregressive_ignores_the_tree():
    a = ahasd.estimate(schedule="autoregressive", policy="tree")
    b = ahasd.estimate(schedule="autoregressive")
    assert a.throughput_tok_s == b.throughput_tok_s
