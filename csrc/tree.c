/*
 * tree.c -- token-tree drafting (AHASD_POLICY_TREE): the tree of one round,
 * the law of its accepted depth, draft token pruning, the sampler the
 * simulator uses, and the cost of a drafting level.
 *
 * The round (docs/MODEL.md, "Tree drafting").  The drafter grows a tree of
 * D = tree_depth levels from the last committed token (the root): level d
 * gives each of the n_{d-1} nodes at depth d - 1 its b_d = tree_branch[d-1]
 * most likely continuations, so depth d holds n_d = b_1 ... b_d nodes
 * (n_0 = 1) and the tree N = n_1 + ... + n_D.  Level d is ONE DLM pass over
 * the n_{d-1} positions of depth d - 1 (their distributions give the
 * children); the nodes of depth D are never fed to the DLM, as the last
 * token of a chain batch is not.  Pruning then removes
 * floor(tree_prune N) nodes, lowest path probability first (below), and
 * the target verifies the M = N - floor(tree_prune N) kept nodes in one TLM
 * pass over M + 1 positions (the root and the kept nodes, under a tree
 * attention mask; the cost model's causal triangle over the M + 1
 * positions over-counts the attention pairs among new positions, which
 * matters only when M is comparable to the context).
 *
 * Acceptance (the model; Sequoia's positional acceptance, Chen et al.,
 * arXiv:2402.12374, sec. 3.1, with a geometric acceptance vector).  The
 * target walks down from the root: at an accepted node of depth d - 1 it
 * tries that node's kept children in rank order, accepting each with
 * probability a_d independently (the trial succeeds or the next sibling is
 * tried), and stops at the first node none of whose kept children is
 * accepted.  A = the depth of that node; the round commits A + 1 tokens (the
 * accepted path and the target's token after it).  So the child of rank r
 * is the accepted one with probability
 *   p_{d,r} = a_d (1 - a_d)^(r - 1)           (Sequoia's acceptance vector,
 *                                              p_1 >= p_2 >= ..., sum <= 1)
 * which is what independent per-candidate acceptance gives, e.g. candidates
 * verified one after another by multi-draft speculative sampling when each
 * passes with the same probability (SpecInfer, Miao et al., ASPLOS 2024).
 * The choice needs no parameter beyond the workload's acceptance, and with
 * every b_d = 1 the tree is a chain of D drafts and the law of A is exactly
 * that of fixed k = D (below).  Sampling without replacement raises p_2,
 * p_3 above this geometric vector (Sequoia sec. 3.2): the model is
 * conservative for wide trees under low-temperature sampling.
 *
 * Per-depth acceptance.  The workload's entropy buckets are summarised per
 * depth: a_d = P(A >= d) / P(A >= d - 1) of fixed-k = D chain batches under
 * the long-run law of batch starts (dd_fixed_k_tail), i.e. the stationary
 * acceptance of the d-th draft given the d - 1 before it were accepted; the
 * path's bucket correlation enters through a_d, sibling candidates share
 * their depth's a_d, and successive rounds are independent (the entropy
 * chain's memory across rounds is dropped).
 *
 * Path products.  Node v of depth d whose path from the root has ranks
 * r_1..r_d is on the accepted path with probability
 *   f(v) = prod_{i=1..d} p_{i, r_i}
 * (the trials along the path are independent).  The nodes of one depth are
 * disjoint events, so P(A >= d) = sum_{v at depth d, kept} f(v) and
 *   E[A] = sum_{d >= 1} P(A >= d) = sum_{kept v} f(v)          (Sequoia's F(T)).
 * Independently, the walk stops at an accepted node v of depth d with
 * k_v kept children with probability f(v) (1 - a_{d+1})^(k_v) (f = 1 at the
 * root), so
 *   P(A = d) = sum_{v at depth d} f(v) (1 - a_{d+1})^(k_v)
 * and sum_d d P(A = d) must equal sum_v f(v): tree_build checks this
 * identity to 1e-12, and the tests check both against tree_sample.
 *
 * Pruning ("lowest path probability first").  Nodes are removed in the
 * order (f ascending, depth descending, index descending).  A descendant
 * has f no larger than its ancestor and a larger depth and index, so it is
 * always removed first: any prefix of this order leaves a tree, and the
 * kept children of a node are a prefix of its ranks (p_{d,r} decreases in
 * r).  tree_build checks both.  With floor(), some node always stays
 * (tree_prune < 1).
 *
 * Storage: the nodes breadth-first (N <= AHASD_MAX_TREE_NODES), all in the
 * caller's tree_t; the sort key array is on the stack (16 KB).
 */
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "internal.h"

typedef struct {
    double f;
    int depth, idx;
} prune_key;

/* Removal order: f ascending, then depth descending, then index descending. */
static int prune_cmp(const void *a, const void *b)
{
    const prune_key *x = (const prune_key *)a, *y = (const prune_key *)b;

    if (x->f != y->f)
        return x->f < y->f ? -1 : 1;
    if (x->depth != y->depth)
        return x->depth > y->depth ? -1 : 1;
    return x->idx > y->idx ? -1 : x->idx < y->idx ? 1 : 0;
}

int tree_build(const ahasd_profile *prof, const ahasd_policy *pol, tree_t *t,
               ahasd_error *err)
{
    int ret = AHASD_OK, D, d, i, j, r, n, lo, hi, nrem, par, k;
    double chain_ge[AHASD_MAX_TREE_DEPTH + 1], a, stop, sum_f, sum_j;
    prune_key key[AHASD_MAX_TREE_NODES];

    if (prof == NULL || pol == NULL || t == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "tree_build: a required pointer is NULL");
        goto out;
    }
    memset(t, 0, sizeof *t);
    if ((ret = ahasd_policy_validate(pol, err)))
        goto out;
    if (pol->kind != AHASD_POLICY_TREE) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM, "policy.kind = %d is not tree (%d): "
                      "tree_build needs a tree policy", pol->kind, AHASD_POLICY_TREE);
        goto out;
    }
    D = pol->tree_depth;
    t->depth = D;
    /* per-depth acceptance from the fixed-k = D chain */
    if ((ret = dd_fixed_k_tail(prof, D, chain_ge, err)))
        goto out;
    for (d = 1; d <= D; d++)
        t->acc[d] = chain_ge[d - 1] > 0.0 ? chain_ge[d] / chain_ge[d - 1] : 0.0;
    for (d = 1; d <= D; d++)
        t->acc[d] = t->acc[d] < 0.0 ? 0.0 : t->acc[d] > 1.0 ? 1.0 : t->acc[d];
    /* nodes, breadth-first: depth d occupies [lo, lo + n_d) */
    n = 0;
    lo = 0;
    t->level_pos[0] = 1;
    for (d = 1; d <= D; d++) {
        int parents = d == 1 ? 1 : t->level_nodes[d - 1], b = pol->tree_branch[d - 1];
        if (d > 1)
            t->level_pos[d - 1] = parents;
        for (par = 0; par < parents; par++)
            for (r = 1; r <= b; r++) {
                i = n++;
                t->node_depth[i] = d;
                t->node_rank[i] = r;
                t->node_parent[i] = d == 1 ? -1 : lo + par;
                t->first_child[i] = -1;
                a = t->acc[d];
                t->f[i] = (d == 1 ? 1.0 : t->f[lo + par]) * a * pow(1.0 - a, (double)(r - 1));
                if (r == 1 && d > 1)
                    t->first_child[lo + par] = i;
            }
        t->level_nodes[d] = parents * b;
        if (d > 1)
            lo += t->level_nodes[d - 1];
    }
    t->n_total = n;
    /* pruning */
    nrem = (int)floor(pol->tree_prune * (double)n);
    if (nrem > n - 1)
        nrem = n - 1;
    for (i = 0; i < n; i++) {
        key[i].f = t->f[i];
        key[i].depth = t->node_depth[i];
        key[i].idx = i;
        t->kept[i] = 1;
    }
    qsort(key, (size_t)n, sizeof key[0], prune_cmp);
    for (i = 0; i < nrem; i++)
        t->kept[key[i].idx] = 0;
    t->n_kept = n - nrem;
    /* kept children (a rank prefix) and the tree property */
    for (i = 0; i < n; i++) {
        par = t->node_parent[i];
        if (t->kept[i] && par >= 0 && !t->kept[par]) {
            ret = err_set(err, AHASD_ERR_NUMERIC, "tree pruning kept node %d but removed its "
                          "parent %d (internal error)", i, par);
            goto out;
        }
        if (!t->kept[i])
            continue;
        t->level_kept[t->node_depth[i]]++;
        k = par < 0 ? ++t->root_kept : ++t->kept_children[par];
        if (k != t->node_rank[i]) {
            ret = err_set(err, AHASD_ERR_NUMERIC, "tree pruning kept rank %d of a node without "
                          "all lower ranks (internal error)", t->node_rank[i]);
            goto out;
        }
    }
    /* P(A >= d) and E[A] by path products */
    t->p_ge[0] = 1.0;
    sum_f = 0.0;
    for (i = 0; i < n; i++)
        if (t->kept[i]) {
            t->p_ge[t->node_depth[i]] += t->f[i];
            sum_f += t->f[i];
        }
    t->mean_accepted = sum_f;
    /* P(A = d) by the stopping recursion */
    t->p_a[0] = D >= 1 ? pow(1.0 - t->acc[1], (double)t->root_kept) : 1.0;
    for (i = 0; i < n; i++) {
        if (!t->kept[i])
            continue;
        d = t->node_depth[i];
        stop = d < D ? pow(1.0 - t->acc[d + 1], (double)t->kept_children[i]) : 1.0;
        t->p_a[d] += t->f[i] * stop;
    }
    sum_j = 0.0;
    a = 0.0;
    for (j = 0; j <= D; j++) {
        sum_j += (double)j * t->p_a[j];
        a += t->p_a[j];
    }
    t->mean_accepted_rec = sum_j;
    if (!(fabs(a - 1.0) <= 1e-12) || !(fabs(sum_j - sum_f) <= 1e-12 * (1.0 + sum_f))) {
        ret = err_set(err, AHASD_ERR_NUMERIC, "tree acceptance law inconsistent: P(A) sums "
                      "to %.15g, E[A] = %.15g by the stopping recursion and %.15g by path "
                      "products (internal error)", a, sum_j, sum_f);
        goto out;
    }
    hi = 0;
    for (d = 1; d <= D; d++)
        hi += t->level_kept[d];
    if (hi != t->n_kept) {
        ret = err_set(err, AHASD_ERR_NUMERIC, "tree node count inconsistent (internal error)");
        goto out;
    }
out:
    return ret;
}

int tree_sample(const tree_t *t, gsl_rng *rng)
{
    int d = 0, v = -1, first, nk, r;

    while (d < t->depth) {
        first = v < 0 ? 0 : t->first_child[v];
        nk = v < 0 ? t->root_kept : t->kept_children[v];
        for (r = 0; r < nk; r++)
            if (gsl_rng_uniform(rng) < t->acc[d + 1])
                break;
        if (r == nk)
            break;
        v = first + r;
        d++;
    }
    return d;
}

void tree_level_cost(const plat_t *p, int task, int n_pos, double ctx, ahasd_cost *c)
{
    ahasd_cost pn, p1;
    int e;

    plat_cost(p, task, 0, ctx, c);
    if (n_pos <= 1 || p->explicit_costs)
        return;
    plat_pass_part(p, 0, c->device, n_pos, ctx, (double)p->draft.layers, 1, &pn);
    plat_pass_part(p, 0, c->device, 1, ctx, (double)p->draft.layers, 1, &p1);
    c->time_s += pn.time_s - p1.time_s;
    c->compute_s += pn.compute_s - p1.compute_s;
    c->memory_s += pn.memory_s - p1.memory_s;
    c->overhead_s += pn.overhead_s - p1.overhead_s;
    c->energy_j = 0.0;
    for (e = 0; e < AHASD_N_ECAUSES; e++) {
        c->energy_by_cause_j[e] += pn.energy_by_cause_j[e] - p1.energy_by_cause_j[e];
        c->energy_j += c->energy_by_cause_j[e];
    }
}
