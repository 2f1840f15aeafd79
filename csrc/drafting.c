/*
 * drafting.c -- layer 3 of docs/MODEL.md: the exact law of a draft batch's
 * marks (K drafted, A accepted, E exit bucket) under every drafting policy,
 * the token-by-token drafter the simulator uses, and the BanditSpec bandit.
 *
 * The model (MODEL.md "Drafting" and ahasd_profile / ahasd_policy):
 *   - the buckets b_1, b_2, ... of a batch's tokens are a Markov chain with
 *     transition matrix q (b_1 given: the batch's start bucket s);
 *   - token i (1-based) is accepted with probability
 *     acc_i(b) = accept[b] * position_decay^(i-1), independently of
 *     everything else given its bucket; A = number of tokens accepted before
 *     the first rejection;
 *   - after token i the policy stops iff  i >= k_min  and  (i >= KM or
 *     rule(b_i, x_i)), with KM the largest length the policy allows (k for
 *     fixed, the arm for a bandit batch, k_max otherwise) and
 *       svip:      rule = sqrt(svip_c H_b) > svip_h,
 *       adaedl:    rule = 1 - sqrt(adaedl_gamma H_b) < adaedl_lambda,
 *       specdecpp: rule = x_i > G, x_i = min(G + 1, sum_{m<=i} step[b_m]),
 *       fixed, banditspec: no rule (stop at KM),
 *     with H_b = (b + 1/2) h_max / B and, for SpecDec++, G = specdecpp_grid,
 *     step[b] = round(G * (-ln p_hat_b) / (-ln(1 - tau))) saturated at G + 1,
 *     p_hat_b = min(1, pred_scale accept[b]) (step G + 1 when p_hat_b = 0).
 *     Saturating x at G + 1 is exact: x never decreases and the rule only
 *     asks whether x > G.  The drafter uses the same integers, so the
 *     recursion and the sampler implement the same policy bit for bit.
 *   - E = the bucket of the first rejected token, or of token K when A = K.
 *
 * Drafting never looks at acceptance, so the path (b_i, x_i) is a Markov
 * chain by itself and acceptance is a thinning of it.  With
 *   alpha_i(b, x) = P(tokens 1..i-1 accepted, batch not stopped before i,
 *                     b_i = b, x_i = x)                       (forward)
 *   T(k | i, b, x) = P(K = k | the path is in (b, x) at position i and the
 *                     batch did not stop before i)           (backward)
 * the joint law is, for j < k and for j = k,
 *   P(K=k, A=j, E=e | s) = sum_x alpha_{j+1}(e, x) (1 - acc_{j+1}(e)) T(k | j+1, e, x)
 *   P(K=k, A=k, E=e | s) = sum_x alpha_k(e, x) acc_k(e) [stop at (k, e, x)].
 * For i >= k_min the stopping rule does not depend on the position except
 * through the cap KM, so T there is a first-passage law that depends only
 * on the distance n = k - i:
 *   F(0 | b, x) = rule(b, x),
 *   F(n | b, x) = (1 - rule(b, x)) sum_b' q[b][b'] F(n - 1 | b', x + step[b']),
 *   T(k | i, b, x) = F(k - i | b, x) for i <= k < KM,  T(KM | i, b, x) = the rest.
 * Positions i < k_min (no stop possible) get T by the backward recursion
 *   T(k | i, b, x) = sum_b' q[b][b'] T(k | i + 1, b', x + step[b']).
 * State space: positions 1..KM x buckets B x accumulator X (X = 1 except
 * SpecDec++, X = G + 2); the forward runs for all B start buckets at once
 * (the start is the fastest-varying index of alpha).  Work
 * O(KM B X (B + KM) B), storage O(B X (KM + (k_min - 1)(KM - k_min + 1))).
 *
 * EDC detail adds the sum S of the batch's buckets (H8 = dd_edc_bucket(B, K, S))
 * and the exit bucket: a forward per start s over (b, x, S) carrying the
 * vector (alive, dead with exit e = 0..B-1); a token rejected at (b, x, S)
 * moves the alive mass times (1 - acc) into "dead, e = b".  Storage
 * 2 B X ((B - 1) KM + 1)(B + 1) doubles; work that times B per position.
 *
 * Starts: start[] = init, or the stationary law of q when init is all zero;
 * stat_start[] = the stationary law of the batch-start chain
 *   M[s][s'] = sum_e P(E = e | s) q[e][s']
 * (MODEL.md: the next batch's first bucket is drawn from row E of q).  Both
 * are solved with GSL's LU on (P^T - I) with the last equation replaced by
 * the normalisation sum(pi) = 1 (Stewart, "Introduction to the Numerical
 * Solution of Markov Chains", 1994, sec. 2.3); a chain with several closed
 * classes has no unique law: stat_start then falls back to the Cesaro limit
 * from start[] (lazy power iteration), start[] is a validation error.
 *
 * Token trees (policy 'tree'): validated here (tree_validate), but a tree
 * round is not a batch of K chained tokens, so dd_table_get refuses it;
 * tree.c holds its law.  ahasd_draft_dist and ahasd_draft_sample report a
 * tree with K = its depth and A the accepted depth; dd_fixed_k_tail gives
 * tree.c the per-depth acceptance of fixed-k chains (it needs the start
 * laws below).
 *
 * BanditSpec: the analytical table is that of the steady arm, the arm with
 * the largest expected reward (A + 1)/(K c + 1), each arm's A taken under
 * that arm's own stationary start law; bandit_steady adds the UCB1 bound on
 * pulls of the other arms (Auer, Cesa-Bianchi, Fischer, Machine Learning 47,
 * 2002, Theorem 1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_permutation.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_vector.h>

#include "internal.h"

#define QS AHASD_MAX_BUCKETS          /* row stride of ahasd_profile.q          */
#define ROW_TOL 1e-9                  /* rows of q and init sum to 1 within this */
#define DD_MAX_WORK ((size_t)1 << 23) /* doubles of scratch a table may use     */
#define SAMPLE_BURN_IN 1024           /* STATIONARY sampling: batches discarded */
#define LIMIT_MAX_ITER 200000         /* Cesaro fallback: lazy power iterations */
#define DD_PI 3.14159265358979323846

/* ================================================================== */
/* Validation                                                          */
/* ================================================================== */

/* 1 if the first B entries of v are all exactly zero. */
static int all_zero(const double *v, int B)
{
    int i;

    for (i = 0; i < B; i++)
        if (v[i] != 0.0)
            return 0;
    return 1;
}

static int stationary_law(const double *P, int n, int ld, double *pi);

/* Every field over the first B buckets: B in 1..AHASD_MAX_BUCKETS, h_max > 0,
 * q entries in [0, 1] with rows summing to 1 within ROW_TOL, accept in [0, 1],
 * init all zero (then q must have a unique stationary law) or a distribution,
 * position_decay in (0, 1], pred_scale > 0; all finite.  Messages name the
 * field as "profile.<field>" (q entries as q[i][j], rows as "q row i"). */
int ahasd_profile_validate(const ahasd_profile *p, ahasd_error *err)
{
    int ret = AHASD_OK, B, i, j;
    double sum, pi[AHASD_MAX_BUCKETS];
    char name[48];

    if (p == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "profile pointer is NULL");
        goto out;
    }
    if ((ret = err_check_int(err, "profile.", "buckets", p->buckets, 1, AHASD_MAX_BUCKETS)))
        goto out;
    B = p->buckets;
    if ((ret = err_check_real(err, "profile.", "h_max", p->h_max, 0.0, INFINITY, CHK_LO_OPEN)))
        goto out;
    /* Field names are formatted only for a value that fails (validation runs
     * on every cache miss and must stay cheap). */
    for (i = 0; i < B; i++) {
        sum = 0.0;
        for (j = 0; j < B; j++) {
            if (!(p->q[i * QS + j] >= 0.0 && p->q[i * QS + j] <= 1.0)) {
                snprintf(name, sizeof name, "q[%d][%d]", i, j);
                ret = err_check_real(err, "profile.", name, p->q[i * QS + j], 0.0, 1.0, 0);
                goto out;
            }
            sum += p->q[i * QS + j];
        }
        if (!(fabs(sum - 1.0) <= ROW_TOL)) {
            ret = err_set(err, AHASD_ERR_BAD_PARAM,
                          "profile.q row %d sums to %.12g: every row of q (a transition "
                          "matrix) must sum to 1 within %g", i, sum, ROW_TOL);
            goto out;
        }
    }
    for (i = 0; i < B; i++)
        if (!(p->accept[i] >= 0.0 && p->accept[i] <= 1.0)) {
            snprintf(name, sizeof name, "accept[%d]", i);
            ret = err_check_real(err, "profile.", name, p->accept[i], 0.0, 1.0, 0);
            goto out;
        }
    sum = 0.0;
    for (i = 0; i < B; i++) {
        if (!(p->init[i] >= 0.0 && p->init[i] <= 1.0)) {
            snprintf(name, sizeof name, "init[%d]", i);
            ret = err_check_real(err, "profile.", name, p->init[i], 0.0, 1.0, 0);
            goto out;
        }
        sum += p->init[i];
    }
    if (sum != 0.0 && !(fabs(sum - 1.0) <= ROW_TOL)) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "profile.init sums to %.12g: must be all zero (the stationary law of q) "
                      "or a distribution summing to 1 within %g", sum, ROW_TOL);
        goto out;
    }
    if ((ret = err_check_real(err, "profile.", "position_decay", p->position_decay, 0.0, 1.0,
                              CHK_LO_OPEN)))
        goto out;
    if ((ret = err_check_real(err, "profile.", "pred_scale", p->pred_scale, 0.0, INFINITY,
                              CHK_LO_OPEN)))
        goto out;
    if (sum == 0.0 && stationary_law(p->q, B, QS, pi) != AHASD_OK) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "profile.init is all zero (meaning: the stationary law of q), but q has "
                      "no unique stationary law (it has several closed classes); give "
                      "profile.init or connect the classes of q");
        goto out;
    }
out:
    return ret;
}

int ahasd_profile_iid(ahasd_profile *p, double alpha, ahasd_error *err)
{
    int ret = AHASD_OK;

    if (p == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "profile pointer is NULL");
        goto out;
    }
    if ((ret = err_check_real(err, "", "alpha", alpha, 0.0, 1.0, 0)))
        goto out;
    memset(p, 0, sizeof *p);
    p->buckets = 1;
    p->h_max = 1.0;         /* one bucket: entropy h_max / 2 for every token */
    p->q[0] = 1.0;
    p->accept[0] = alpha;
    p->init[0] = 1.0;
    p->position_decay = 1.0;
    p->pred_scale = 1.0;
out:
    return ret;
}

/* The tree fields: tree_depth in 1..AHASD_MAX_TREE_DEPTH, tree_branch[d]
 * >= 1 for d < tree_depth, n_1 + ... + n_D <= AHASD_MAX_TREE_NODES nodes
 * (n_d = tree_branch[0] ... tree_branch[d-1]), tree_prune in [0, 1). */
static int tree_validate(const ahasd_policy *p, ahasd_error *err)
{
    int ret = AHASD_OK, d;
    long nd = 1, total = 0;
    char name[40];

    if ((ret = err_check_int(err, "policy.", "tree_depth", p->tree_depth, 1,
                             AHASD_MAX_TREE_DEPTH)))
        goto out;
    for (d = 0; d < p->tree_depth; d++) {
        if (p->tree_branch[d] < 1 || p->tree_branch[d] > AHASD_MAX_TREE_NODES) {
            snprintf(name, sizeof name, "tree_branch[%d]", d);
            ret = err_check_int(err, "policy.", name, p->tree_branch[d], 1,
                                AHASD_MAX_TREE_NODES);
            goto out;
        }
        nd *= p->tree_branch[d];          /* <= 1024^2 before the check below */
        total += nd;
        if (total > AHASD_MAX_TREE_NODES) {
            ret = err_set(err, AHASD_ERR_BAD_PARAM,
                          "policy.tree_branch = [%d, ...] with tree_depth = %d gives more than "
                          "%d nodes (%ld by depth %d): the tree (sum over depths of the "
                          "products of the branching factors) must have at most "
                          "AHASD_MAX_TREE_NODES = %d nodes", p->tree_branch[0], p->tree_depth,
                          AHASD_MAX_TREE_NODES, total, d + 1, AHASD_MAX_TREE_NODES);
            goto out;
        }
    }
    ret = err_check_real(err, "policy.", "tree_prune", p->tree_prune, 0.0, 1.0, CHK_HI_OPEN);
out:
    return ret;
}

/* kind, k_min >= 1, k_min <= k_max <= AHASD_MAX_K, then the kind's own
 * fields: fixed k in [k_min, k_max]; svip_c > 0, svip_h >= 0; adaedl_gamma > 0,
 * adaedl_lambda in [0, 1]; specdecpp_tau in (0, 1), specdecpp_grid in
 * 8..4096; banditspec 1..AHASD_MAX_ARMS arms in [k_min, k_max], explore >= 0,
 * bandit_cost_ratio finite; tree as tree_validate.  Messages name
 * "policy.<field>". */
int ahasd_policy_validate(const ahasd_policy *p, ahasd_error *err)
{
    int ret = AHASD_OK, i;
    char name[32];

    if (p == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "policy pointer is NULL");
        goto out;
    }
    if ((ret = err_check_int(err, "policy.", "kind", p->kind, 0, AHASD_N_POLICIES - 1)))
        goto out;
    if ((ret = err_check_int(err, "policy.", "k_min", p->k_min, 1, AHASD_MAX_K)))
        goto out;
    if ((ret = err_check_int(err, "policy.", "k_max", p->k_max, p->k_min, AHASD_MAX_K)))
        goto out;
    /* Only the fields the kind reads are checked (the others may hold
     * anything, and never change a result). */
    switch (p->kind) {
    case AHASD_POLICY_FIXED:
        ret = err_check_int(err, "policy.", "k", p->k, p->k_min, p->k_max);
        break;
    case AHASD_POLICY_SVIP:
        if ((ret = err_check_real(err, "policy.", "svip_c", p->svip_c, 0.0, INFINITY,
                                  CHK_LO_OPEN)))
            break;
        ret = err_check_real(err, "policy.", "svip_h", p->svip_h, 0.0, INFINITY, 0);
        break;
    case AHASD_POLICY_ADAEDL:
        if ((ret = err_check_real(err, "policy.", "adaedl_gamma", p->adaedl_gamma, 0.0,
                                  INFINITY, CHK_LO_OPEN)))
            break;
        ret = err_check_real(err, "policy.", "adaedl_lambda", p->adaedl_lambda, 0.0, 1.0, 0);
        break;
    case AHASD_POLICY_SPECDECPP:
        if ((ret = err_check_real(err, "policy.", "specdecpp_tau", p->specdecpp_tau, 0.0, 1.0,
                                  CHK_LO_OPEN | CHK_HI_OPEN)))
            break;
        ret = err_check_int(err, "policy.", "specdecpp_grid", p->specdecpp_grid, 8, 4096);
        break;
    case AHASD_POLICY_TREE:
        ret = tree_validate(p, err);
        break;
    default: /* AHASD_POLICY_BANDITSPEC */
        if ((ret = err_check_int(err, "policy.", "n_arms", p->n_arms, 1, AHASD_MAX_ARMS)))
            break;
        for (i = 0; i < p->n_arms; i++)
            if (p->arms[i] < p->k_min || p->arms[i] > p->k_max) {
                snprintf(name, sizeof name, "arms[%d]", i);
                ret = err_check_int(err, "policy.", name, p->arms[i], p->k_min, p->k_max);
                break;
            }
        if (ret)
            break;
        if ((ret = err_check_real(err, "policy.", "bandit_explore", p->bandit_explore, 0.0,
                                  INFINITY, 0)))
            break;
        ret = err_check_real(err, "policy.", "bandit_cost_ratio", p->bandit_cost_ratio,
                             -INFINITY, INFINITY, 0);
        break;
    }
out:
    return ret;
}

/* ================================================================== */
/* Stationary laws                                                     */
/* ================================================================== */

/* Stationary law pi of the n-state row-stochastic matrix P (row i at
 * P + i*ld): pi P = pi, sum pi = 1.  Solves A pi = e_n where A = P^T - I with
 * its last row replaced by ones (the normalisation), by GSL's LU with partial
 * pivoting, all on the stack (n <= AHASD_MAX_BUCKETS).  Returns
 * AHASD_ERR_NUMERIC if A is singular (several closed classes: no unique law),
 * a GSL routine fails, or the solution is not a probability vector with
 * balance residual |pi P - pi|_1 <= 1e-9. */
static int stationary_law(const double *P, int n, int ld, double *pi)
{
    int ret = AHASD_OK, i, j, signum = 0;
    double a[AHASD_MAX_BUCKETS * AHASD_MAX_BUCKETS], rhs[AHASD_MAX_BUCKETS];
    double x[AHASD_MAX_BUCKETS], sum, res, r, umax = 0.0;
    size_t pdata[AHASD_MAX_BUCKETS];
    gsl_permutation perm;
    gsl_matrix_view av;
    gsl_vector_view bv, xv;

    if (n == 1) {
        pi[0] = 1.0;
        goto out;
    }
    for (i = 0; i < n; i++) {
        for (j = 0; j < n; j++)
            a[i * n + j] = P[j * ld + i] - (i == j ? 1.0 : 0.0);
        rhs[i] = 0.0;
    }
    for (j = 0; j < n; j++)
        a[(n - 1) * n + j] = 1.0;
    rhs[n - 1] = 1.0;
    perm.size = (size_t)n;
    perm.data = pdata;
    av = gsl_matrix_view_array(a, (size_t)n, (size_t)n);
    bv = gsl_vector_view_array(rhs, (size_t)n);
    xv = gsl_vector_view_array(x, (size_t)n);
    if (gsl_linalg_LU_decomp(&av.matrix, &perm, &signum) != GSL_SUCCESS) {
        ret = AHASD_ERR_NUMERIC;
        goto out;
    }
    for (i = 0; i < n * n; i++)
        umax = fmax(umax, fabs(a[i]));
    for (i = 0; i < n; i++)
        if (!(fabs(a[i * n + i]) > 1e-13 * umax)) {
            ret = AHASD_ERR_NUMERIC;   /* singular: no unique stationary law */
            goto out;
        }
    if (gsl_linalg_LU_solve(&av.matrix, &perm, &bv.vector, &xv.vector) != GSL_SUCCESS) {
        ret = AHASD_ERR_NUMERIC;
        goto out;
    }
    sum = 0.0;
    for (i = 0; i < n; i++) {
        if (!(x[i] >= -1e-10)) {
            ret = AHASD_ERR_NUMERIC;
            goto out;
        }
        x[i] = x[i] < 0.0 ? 0.0 : x[i];
        sum += x[i];
    }
    if (!(sum > 0.0)) {
        ret = AHASD_ERR_NUMERIC;
        goto out;
    }
    for (i = 0; i < n; i++)
        pi[i] = x[i] / sum;
    res = 0.0;
    for (j = 0; j < n; j++) {
        r = -pi[j];
        for (i = 0; i < n; i++)
            r += pi[i] * P[i * ld + j];
        res += fabs(r);
    }
    if (!(res <= 1e-9))
        ret = AHASD_ERR_NUMERIC;
out:
    return ret;
}

/* The Cesaro limit of x0 P^t (the long-run law from x0), for chains with
 * several closed classes: iterate the lazy chain x <- (x + x P)/2, which has
 * the same stationary laws and no periodicity, until |dx|_1 <= 1e-15. */
static int limit_law(const double *P, int n, int ld, const double *x0, double *pi)
{
    int ret = AHASD_ERR_NUMERIC, it, i, j;
    double x[AHASD_MAX_BUCKETS], y[AHASD_MAX_BUCKETS], d;

    memcpy(x, x0, (size_t)n * sizeof x[0]);
    for (it = 0; it < LIMIT_MAX_ITER; it++) {
        d = 0.0;
        for (j = 0; j < n; j++) {
            y[j] = 0.5 * x[j];
            for (i = 0; i < n; i++)
                y[j] += 0.5 * x[i] * P[i * ld + j];
        }
        for (j = 0; j < n; j++) {
            d += fabs(y[j] - x[j]);
            x[j] = y[j];
        }
        if (d <= 1e-15) {
            ret = AHASD_OK;
            break;
        }
    }
    memcpy(pi, x, (size_t)n * sizeof x[0]);
    return ret;
}

/* start[] of a profile: init, or the stationary law of q if init is all
 * zero (a validated profile has one). */
static int start_law(const ahasd_profile *p, double *start, ahasd_error *err)
{
    int ret = AHASD_OK, B = p->buckets;

    if (!all_zero(p->init, B)) {
        memcpy(start, p->init, (size_t)B * sizeof start[0]);
        goto out;
    }
    if (stationary_law(p->q, B, QS, start) != AHASD_OK)
        ret = err_set(err, AHASD_ERR_NUMERIC,
                      "profile.init is all zero but q has no unique stationary law; give "
                      "profile.init");
out:
    return ret;
}

/* stat: the long-run law of batch starts given PE[s*B + e] = P(E = e | s):
 * the stationary law of M = PE q, or its Cesaro limit from start[] when M has
 * several closed classes. */
static int batch_start_law(const ahasd_profile *p, const double *PE, const double *start,
                           double *stat, ahasd_error *err)
{
    int ret = AHASD_OK, B = p->buckets, s, e, t;
    double M[AHASD_MAX_BUCKETS * AHASD_MAX_BUCKETS];

    memset(M, 0, sizeof M);
    for (s = 0; s < B; s++)
        for (e = 0; e < B; e++)
            if (PE[s * B + e] != 0.0)
                for (t = 0; t < B; t++)
                    M[s * B + t] += PE[s * B + e] * p->q[e * QS + t];
    if (stationary_law(M, B, B, stat) == AHASD_OK)
        goto out;
    if (limit_law(M, B, B, start, stat) != AHASD_OK)
        ret = err_set(err, AHASD_ERR_NUMERIC,
                      "the batch-start chain of this profile and policy has no unique "
                      "stationary law and the long-run law from the start did not converge "
                      "in %d iterations", LIMIT_MAX_ITER);
out:
    return ret;
}

/* ================================================================== */
/* The policy's rule, shared by the recursion and the drafter           */
/* ================================================================== */

/* svip / adaedl: 1 if the rule stops after a token of bucket b. */
static int bucket_rule(const ahasd_profile *p, const ahasd_policy *pol, int b)
{
    double H = ((double)b + 0.5) * p->h_max / (double)p->buckets;

    if (pol->kind == AHASD_POLICY_SVIP)
        return sqrt(pol->svip_c * H) > pol->svip_h;
    if (pol->kind == AHASD_POLICY_ADAEDL)
        return 1.0 - sqrt(pol->adaedl_gamma * H) < pol->adaedl_lambda;
    return 0;
}

/* SpecDec++ fixed-point step of bucket b: round(G (-ln p_hat) / (-ln(1-tau)))
 * in 0..G+1 (G + 1 = "stops at once"). */
static int specdec_step(const ahasd_profile *p, const ahasd_policy *pol, int b)
{
    int G = pol->specdecpp_grid;
    double ph = p->pred_scale * p->accept[b], v;

    if (ph >= 1.0)
        return 0;
    if (!(ph > 0.0))
        return G + 1;
    v = (double)G * (-log(ph)) / (-log1p(-pol->specdecpp_tau));
    if (!(v < (double)G + 1.0))
        return G + 1;
    return (int)floor(v + 0.5);
}

/* The largest K of a policy (bandit: the given arm). */
static int policy_kmax(const ahasd_policy *pol, int arm_k)
{
    if (pol->kind == AHASD_POLICY_FIXED)
        return pol->k;
    if (pol->kind == AHASD_POLICY_BANDITSPEC)
        return arm_k;
    return pol->k_max;
}

/* Everything the recursion needs about (profile, policy, KM). */
typedef struct {
    int kind, B, KM, kmin, G, X;
    int rule_b[AHASD_MAX_BUCKETS];
    int step[AHASD_MAX_BUCKETS];
    double acc[AHASD_MAX_K + 1][AHASD_MAX_BUCKETS];   /* acc[i][b], i = 1..KM */
} rules_t;

static void rules_init(rules_t *r, const ahasd_profile *p, const ahasd_policy *pol, int KM)
{
    int b, i;

    memset(r, 0, sizeof *r);
    r->kind = pol->kind;
    r->B = p->buckets;
    r->KM = KM;
    r->kmin = pol->k_min < KM ? pol->k_min : KM;
    r->G = pol->kind == AHASD_POLICY_SPECDECPP ? pol->specdecpp_grid : 0;
    r->X = pol->kind == AHASD_POLICY_SPECDECPP ? r->G + 2 : 1;
    for (b = 0; b < r->B; b++) {
        r->rule_b[b] = bucket_rule(p, pol, b);
        r->step[b] = pol->kind == AHASD_POLICY_SPECDECPP ? specdec_step(p, pol, b) : 0;
    }
    for (i = 1; i <= KM; i++) {
        double dp = pow(p->position_decay, (double)(i - 1));   /* as drafter.decay_pow[i] */
        for (b = 0; b < r->B; b++)
            r->acc[i][b] = p->accept[b] * dp;
    }
}

static int rule_at(const rules_t *r, int b, int x)
{
    if (r->kind == AHASD_POLICY_SVIP || r->kind == AHASD_POLICY_ADAEDL)
        return r->rule_b[b];
    if (r->kind == AHASD_POLICY_SPECDECPP)
        return x > r->G;
    return 0;
}

static int stop_at(const rules_t *r, int i, int b, int x)
{
    return i >= r->kmin && (i >= r->KM || rule_at(r, b, x));
}

/* The accumulator after adding bucket b's step to x (saturating at G + 1). */
static int x_next(const rules_t *r, int x, int b)
{
    int y = x + r->step[b];

    return y > r->G + 1 ? r->G + 1 : y;
}

/* ================================================================== */
/* The recursion: P(K, A, E | s)                                        */
/* ================================================================== */

/* Scratch layout (slot DD_SCRATCH_SLOT0), for X accumulator values:
 *   F[(n*B + b)*X + x],  n = 0..NF-1, NF = KM - kmin        first passage
 *   TL[(((i-1)*B + b)*X + x)*NK + (k - kmin)],  i = 1..kmin, NK = KM-kmin+1
 *                                                  (only when kmin >= 2)
 * slot DD_SCRATCH_SLOT1: two layers alpha[(b*X + x)*B + s]. */
typedef struct {
    const rules_t *r;
    const double *F, *TL;
    int NF, NK;
} tback_t;

/* tv[k - kmin] = T(k | i, b, x) for k = kmin..KM (zero for k < i). */
static void t_vector(const tback_t *t, int i, int b, int x, double *tv)
{
    const rules_t *r = t->r;
    int k, B = r->B, X = r->X, kmin = r->kmin, KM = r->KM;
    double sum = 0.0, f;

    if (i < kmin) {
        memcpy(tv, t->TL + ((size_t)((i - 1) * B + b) * X + x) * t->NK,
               (size_t)t->NK * sizeof tv[0]);
        return;
    }
    memset(tv, 0, (size_t)t->NK * sizeof tv[0]);
    for (k = i; k < KM; k++) {
        f = t->F[((size_t)(k - i) * B + b) * X + x];
        tv[k - kmin] = f;
        sum += f;
    }
    tv[KM - kmin] = sum < 1.0 ? 1.0 - sum : 0.0;
}

/* Work size in doubles of build_pkae for r. */
static size_t pkae_work(const rules_t *r, size_t *n0, size_t *n1)
{
    size_t B = (size_t)r->B, X = (size_t)r->X, NF = (size_t)(r->KM - r->kmin);
    size_t NK = (size_t)(r->KM - r->kmin + 1), nTL = r->kmin >= 2 ? (size_t)r->kmin : 0;

    *n0 = NF * B * X + nTL * B * X * NK + NK;
    *n1 = 2 * B * X * B;
    return *n0 + *n1;
}

/* Fill pkae (zeroed by the caller) for every start s.  Layout
 * pkae[((s*(KM+1) + k)*(KM+1) + j)*B + e]. */
static int build_pkae(const rules_t *r, const ahasd_profile *p, double *pkae,
                      ahasd_workspace *ws, ahasd_error *err)
{
    int ret = AHASD_OK, B = r->B, KM = r->KM, kmin = r->kmin, X = r->X, nK = KM + 1;
    int NF = KM - kmin, NK = KM - kmin + 1, i, n, b, b2, x, s, k, any;
    size_t n0, n1, layer = (size_t)B * X * B;
    double *w0, *w1, *F, *TL = NULL, *tv, *cur, *nxt, *tmp, *v, *u, a, w;
    const double *q = p->q;
    tback_t tb;

    pkae_work(r, &n0, &n1);
    w0 = ws_scratch(ws, DD_SCRATCH_SLOT0, n0, 0);
    w1 = ws_scratch(ws, DD_SCRATCH_SLOT1, n1, 1);
    if (w0 == NULL || w1 == NULL) {
        ret = err_set(err, AHASD_ERR_NOMEM, "cannot allocate %zu doubles of drafting scratch",
                      n0 + n1);
        goto out;
    }
    F = w0;
    if (kmin >= 2)
        TL = F + (size_t)NF * B * X;
    tv = w0 + n0 - NK;
    /* First passage F(n | b, x), n = 0..NF-1. */
    for (n = 0; n < NF; n++)
        for (b = 0; b < B; b++)
            for (x = 0; x < X; x++) {
                double *f = F + ((size_t)n * B + b) * X + x;
                if (rule_at(r, b, x)) {
                    *f = n == 0 ? 1.0 : 0.0;
                    continue;
                }
                *f = 0.0;
                if (n == 0)
                    continue;
                for (b2 = 0; b2 < B; b2++)
                    if (q[b * QS + b2] != 0.0)
                        *f += q[b * QS + b2] * F[((size_t)(n - 1) * B + b2) * X + x_next(r, x, b2)];
            }
    tb.r = r;
    tb.F = F;
    tb.TL = TL;
    tb.NF = NF;
    tb.NK = NK;
    /* Below k_min: T(. | kmin) from F, then backwards to position 1. */
    if (kmin >= 2) {
        for (b = 0; b < B; b++)
            for (x = 0; x < X; x++) {
                tb.TL = NULL;
                t_vector(&tb, kmin, b, x, TL + ((size_t)((kmin - 1) * B + b) * X + x) * NK);
            }
        tb.TL = TL;
        for (i = kmin - 1; i >= 1; i--)
            for (b = 0; b < B; b++)
                for (x = 0; x < X; x++) {
                    double *t = TL + ((size_t)((i - 1) * B + b) * X + x) * NK;
                    memset(t, 0, (size_t)NK * sizeof t[0]);
                    for (b2 = 0; b2 < B; b2++) {
                        const double *t2;
                        w = q[b * QS + b2];
                        if (w == 0.0)
                            continue;
                        t2 = TL + ((size_t)(i * B + b2) * X + x_next(r, x, b2)) * NK;
                        for (k = 0; k < NK; k++)
                            t[k] += w * t2[k];
                    }
                }
    }
    /* Forward for all starts at once. */
    cur = w1;
    nxt = w1 + layer;
    for (s = 0; s < B; s++)
        cur[((size_t)s * X + x_next(r, 0, s)) * B + s] = 1.0;
    for (i = 1; i <= KM; i++) {
        if (i < KM)
            memset(nxt, 0, layer * sizeof nxt[0]);
        for (b = 0; b < B; b++)
            for (x = 0; x < X; x++) {
                v = cur + ((size_t)b * X + x) * B;
                any = 0;
                for (s = 0; s < B; s++)
                    any |= v[s] != 0.0;
                if (!any)
                    continue;
                a = r->acc[i][b];
                if (a < 1.0) {  /* token i rejected: A = i - 1, E = b */
                    t_vector(&tb, i, b, x, tv);
                    for (k = i > kmin ? i : kmin; k <= KM; k++) {
                        w = (1.0 - a) * tv[k - kmin];
                        if (w == 0.0)
                            continue;
                        u = pkae + ((size_t)k * nK + (i - 1)) * B + b;
                        for (s = 0; s < B; s++)
                            u[(size_t)s * nK * nK * B] += w * v[s];
                    }
                }
                if (!(a > 0.0))
                    continue;
                if (stop_at(r, i, b, x)) {  /* accepted and the batch ends: A = K = i */
                    u = pkae + ((size_t)i * nK + i) * B + b;
                    for (s = 0; s < B; s++)
                        u[(size_t)s * nK * nK * B] += a * v[s];
                    continue;
                }
                for (b2 = 0; b2 < B; b2++) {
                    w = a * q[b * QS + b2];
                    if (w == 0.0)
                        continue;
                    u = nxt + ((size_t)b2 * X + x_next(r, x, b2)) * B;
                    for (s = 0; s < B; s++)
                        u[s] += w * v[s];
                }
            }
        tmp = cur;
        cur = nxt;
        nxt = tmp;
    }
out:
    return ret;
}

/* ================================================================== */
/* Last-token detail: P(K, A, L | s)                                    */
/* ================================================================== */

/* Dead tags tracked per pass of build_pkal when a layer holds g of them:
 * the most that fit in DD_MAX_WORK (0: not even one). */
static int last_group(const rules_t *r)
{
    size_t per = 2 * (size_t)r->B * r->X * r->B;   /* two layers, one tag */
    size_t g = DD_MAX_WORK / per;

    g = g > 1 ? g - 1 : 0;                          /* one slot is the alive mass */
    return g > (size_t)r->KM ? r->KM : (int)g;
}

/* Fill pkal (zeroed by the caller), layout pkal[((s*(KM+1) + k)*(KM+1) + j)*B + l]
 * = P(K = k, A = j, L = l | b_1 = s), L the bucket of the batch's LAST drafted
 * token (for j = k it is the exit bucket E of pkae).  The drafter does not
 * know which token the target rejects: after the first rejected token the
 * batch goes on along the bucket chain under the same stopping rule, so the
 * tokens after it (and the next batch, drawn from the row of L) continue
 * the chain from the rejected token.  A forward over (b, x) for all starts
 * at once, each state holding W = g + 1 mass vectors over s: w = 0 alive
 * (every token so far accepted) and w = 1 + j - j0 dead since token j + 1
 * (A = j), for the g values j0..j0+g-1 of A this pass tracks (g = KM when
 * memory allows: one pass; the alive mass is recomputed by every pass):
 *   layer[((b*X + x)*W + w)*B + s]   (slot DD_SCRATCH_SLOT0, two layers).
 * At position i the token in (b, x) is accepted with acc_i(b): alive mass
 * times (1 - acc) becomes dead with A = i - 1; then the batch stops (every
 * tag recorded at k = i, L = b; full batches by the first pass only) or
 * moves to (b', x + step) with q[b][b'].  Work per pass ~ KM B X W B B. */
static int build_pkal(const rules_t *r, const ahasd_profile *p, double *pkal,
                      ahasd_workspace *ws, ahasd_error *err)
{
    int ret = AHASD_OK, B = r->B, KM = r->KM, X = r->X, nK = KM + 1, g = last_group(r), W;
    int i, b, b2, x, s, w, wn, j0, st, any;
    size_t cell, layer;
    double *w0, *lay[2], *u, *dst, a, qw;
    const double *q = p->q;

    if (g < 1) {
        ret = err_set(err, AHASD_ERR_UNSUPPORTED, "last-token drafting table too large");
        goto out;
    }
    W = g + 1;
    cell = (size_t)W * B;
    layer = (size_t)B * X * cell;
    w0 = ws_scratch(ws, DD_SCRATCH_SLOT0, 2 * layer, 1);
    if (w0 == NULL) {
        ret = err_set(err, AHASD_ERR_NOMEM, "cannot allocate %zu doubles of last-token scratch",
                      2 * layer);
        goto out;
    }
    for (j0 = 0; j0 < KM; j0 += g) {
        int cl = 0;
        lay[0] = w0;
        lay[1] = w0 + layer;
        for (s = 0; s < B; s++)
            lay[0][((size_t)s * X + x_next(r, 0, s)) * cell + s] = 1.0;
        for (i = 1; i <= KM; i++) {
            /* tags in use after token i: alive and A = j0 .. min(i - 1, j0 + g - 1) */
            wn = i - j0 < g ? i - j0 : g;
            wn = wn < 0 ? 1 : wn + 1;
            for (b = 0; b < B; b++) {
                a = r->acc[i][b];
                for (x = 0; x < X; x++) {
                    u = lay[cl] + ((size_t)b * X + x) * cell;
                    any = 0;
                    for (w = 0; w < wn * B && !any; w++)
                        any = u[w] != 0.0;
                    if (!any)
                        continue;
                    /* token i: rejected -> dead with A = i - 1 (if tracked) */
                    if (i - 1 >= j0 && i - 1 < j0 + g)
                        for (s = 0; s < B; s++)
                            u[(size_t)(i - j0) * B + s] += (1.0 - a) * u[s];
                    for (s = 0; s < B; s++)
                        u[s] *= a;
                    st = stop_at(r, i, b, x);
                    if (st) {
                        for (w = j0 == 0 ? 0 : 1; w < wn; w++) {
                            int j = w == 0 ? i : j0 + w - 1;
                            double *o = pkal + ((size_t)i * nK + j) * B + b;
                            for (s = 0; s < B; s++)
                                o[(size_t)s * nK * nK * B] += u[(size_t)w * B + s];
                        }
                    } else {
                        for (b2 = 0; b2 < B; b2++) {
                            qw = q[b * QS + b2];
                            if (qw == 0.0)
                                continue;
                            dst = lay[1 - cl] + ((size_t)b2 * X + x_next(r, x, b2)) * cell;
                            for (w = 0; w < wn * B; w++)
                                dst[w] += qw * u[w];
                        }
                    }
                    memset(u, 0, (size_t)wn * B * sizeof u[0]);   /* consumed */
                }
            }
            cl = 1 - cl;
        }
    }
out:
    return ret;
}

/* ================================================================== */
/* EDC detail: P(K, full, E, H8 | s)                                    */
/* ================================================================== */

int dd_edc_bucket(int buckets, int k, int bucket_sum)
{
    long h;

    if (buckets < 1 || k < 1 || bucket_sum < 0)
        return 0;
    h = (8L * (2L * bucket_sum + k)) / (2L * buckets * k);
    return h > AHASD_EDC_BUCKETS - 1 ? AHASD_EDC_BUCKETS - 1 : (int)h;
}

/* Work (doubles) of build_pkfeh when it tracks g exit buckets at a time. */
static size_t edc_work(const rules_t *r, int g)
{
    size_t NS = (size_t)(r->B - 1) * r->KM + 1, nbx = (size_t)r->B * r->X;

    return 2 * nbx * NS * (size_t)(g + 1) + 4 * nbx;
}

/* The most exit buckets per pass that fit in DD_MAX_WORK (0: none). */
static int edc_group(const rules_t *r)
{
    int g = r->B;

    while (g > 0 && edc_work(r, g) > DD_MAX_WORK)
        g--;
    return g;
}

/* Fill pkfeh (zeroed by the caller), layout
 * pkfeh[(((s*(KM+1) + k)*2 + f)*B + e)*8 + h].  Per start s and per group of
 * g exit buckets e0..e0+g-1 (g = B when memory allows: one pass), a forward
 * over (b, x, S) with S the bucket sum so far (0..(B-1) i at position i),
 * each state holding W = g + 1 masses, u[0] = alive and u[1 + e - e0] = dead
 * with exit e:
 *   layer[((b*X + x)*NS + S)*W + w]   (slot DD_SCRATCH_SLOT0, two layers)
 * and, per (b, x), the band [lo, hi] of S holding mass (slot
 * DD_SCRATCH_SLOT1, as doubles); x and S grow together, so bands are narrow
 * for SpecDec++.  Invariant: a layer is zero outside its bands; a row is
 * zeroed as soon as it is consumed.
 * At position i the token in (b, x, S) is accepted with acc_i(b): alive mass
 * times (1 - acc) moves to dead e = b (dropped when b is not in the group:
 * another pass tracks it); then the batch stops (masses recorded at k = i,
 * h = dd_edc_bucket(B, i, S); full batches by the first group only) or moves
 * to (b', x + step, S + b').  Work per pass ~ (reachable states) x B x W. */
static int build_pkfeh(const rules_t *r, const ahasd_profile *p, double *pkfeh,
                       ahasd_workspace *ws, ahasd_error *err)
{
    int ret = AHASD_OK, B = r->B, KM = r->KM, X = r->X, nK = KM + 1, g = edc_group(r), W;
    int NS = (B - 1) * KM + 1, s, i, b, b2, x, xn, S, Sn, lo, hi, t, h, e, e0, any, cl, st;
    size_t nbx = (size_t)B * X, layer, row;
    double *w0, *band, *lay[2], *u, *dst, v[AHASD_MAX_BUCKETS + 1], a, w, *clo, *chi, *nlo,
        *nhi, *fk;
    const double *q = p->q;

    if (g < 1) {
        ret = err_set(err, AHASD_ERR_UNSUPPORTED, "EDC drafting table too large");
        goto out;
    }
    W = g + 1;
    layer = nbx * NS * W;
    w0 = ws_scratch(ws, DD_SCRATCH_SLOT0, 2 * layer, 1);
    band = ws_scratch(ws, DD_SCRATCH_SLOT1, 4 * nbx, 0);
    if (w0 == NULL || band == NULL) {
        ret = err_set(err, AHASD_ERR_NOMEM, "cannot allocate %zu doubles of EDC scratch",
                      2 * layer + 4 * nbx);
        goto out;
    }
    lay[0] = w0;
    lay[1] = w0 + layer;
    for (row = 0; row < 2 * nbx; row++) {   /* every band empty */
        band[row] = (double)NS;
        band[2 * nbx + row] = -1.0;
    }
    for (s = 0; s < B; s++)
        for (e0 = 0; e0 < B; e0 += g) {
            cl = 0;
            x = x_next(r, 0, s);
            lay[cl][(((size_t)s * X + x) * NS + s) * W] = 1.0;
            band[(size_t)s * X + x] = band[2 * nbx + (size_t)s * X + x] = (double)s;
            for (i = 1; i <= KM; i++) {
                clo = band + (size_t)cl * nbx;
                chi = band + 2 * nbx + (size_t)cl * nbx;
                nlo = band + (size_t)(1 - cl) * nbx;
                nhi = band + 2 * nbx + (size_t)(1 - cl) * nbx;
                fk = pkfeh + ((size_t)s * nK + i) * 2 * B * 8;
                for (b = 0; b < B; b++) {
                    a = r->acc[i][b];
                    for (x = 0; x < X; x++) {
                        row = (size_t)b * X + x;
                        lo = (int)clo[row];
                        hi = (int)chi[row];
                        if (hi < lo)
                            continue;
                        st = stop_at(r, i, b, x);
                        for (S = lo; S <= hi; S++) {
                            u = lay[cl] + (row * NS + S) * W;
                            any = 0;
                            for (t = 0; t < W; t++)
                                any |= u[t] != 0.0;
                            if (!any)
                                continue;
                            memcpy(v, u, (size_t)W * sizeof v[0]);
                            v[0] = a * u[0];
                            if (b >= e0 && b < e0 + g)
                                v[1 + b - e0] += (1.0 - a) * u[0];
                            if (st) {
                                h = dd_edc_bucket(B, i, S);
                                if (e0 == 0)
                                    fk[(B + b) * 8 + h] += v[0];    /* f = 1, e = b */
                                for (e = e0; e < e0 + g && e < B; e++)
                                    fk[e * 8 + h] += v[1 + e - e0]; /* f = 0 */
                                continue;
                            }
                            for (b2 = 0; b2 < B; b2++) {
                                w = q[b * QS + b2];
                                if (w == 0.0)
                                    continue;
                                xn = x_next(r, x, b2);
                                Sn = S + b2;
                                dst = lay[1 - cl] + (((size_t)b2 * X + xn) * NS + Sn) * W;
                                for (t = 0; t < W; t++)
                                    dst[t] += w * v[t];
                                if (Sn < nlo[b2 * X + xn])
                                    nlo[b2 * X + xn] = (double)Sn;
                                if (Sn > nhi[b2 * X + xn])
                                    nhi[b2 * X + xn] = (double)Sn;
                            }
                        }
                        /* consumed: restore the invariant */
                        memset(lay[cl] + (row * NS + lo) * W, 0,
                               (size_t)(hi - lo + 1) * W * sizeof(double));
                        clo[row] = (double)NS;
                        chi[row] = -1.0;
                    }
                }
                cl = 1 - cl;
            }
        }
out:
    return ret;
}

/* ================================================================== */
/* BanditSpec steady state                                              */
/* ================================================================== */

/* The effective draft/verify cost ratio of a banditspec policy. */
static int bandit_cost(const ahasd_policy *pol, double cost_ratio, double *c,
                       ahasd_error *err)
{
    int ret = AHASD_OK;

    *c = pol->bandit_cost_ratio > 0.0 ? pol->bandit_cost_ratio : cost_ratio;
    if (!(isfinite(*c) && *c >= 0.0))
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "policy.bandit_cost_ratio = %.6g and the task-cost ratio is %.6g: "
                      "banditspec needs bandit_cost_ratio > 0 (draft / verify time) or a "
                      "finite cost ratio >= 0 from the task costs (ahasd_draft_dist and "
                      "ahasd_draft_sample have no task costs)",
                      pol->bandit_cost_ratio, cost_ratio);
    return ret;
}

/* Largest reward of a round over the arms: max_k (k + 1)/(k c + 1). */
static double bandit_rmax(const ahasd_policy *pol, double c)
{
    int i;
    double r, m = 0.0;

    for (i = 0; i < pol->n_arms && i < AHASD_MAX_ARMS; i++) {
        r = ((double)pol->arms[i] + 1.0) / ((double)pol->arms[i] * c + 1.0);
        m = r > m ? r : m;
    }
    return m > 0.0 ? m : 1.0;
}

/* E[A] of fixed length k when batches chain through their exit buckets,
 * under that chain's long-run law of starts (stack only: an alive forward
 * over buckets per start gives P(E | s) and E[A | s]). */
static int fixed_k_mean_accepted(const ahasd_profile *p, int k, const double *start,
                                 double *ea, ahasd_error *err)
{
    int ret = AHASD_OK, B = p->buckets, s, i, b, b2;
    double PE[AHASD_MAX_BUCKETS * AHASD_MAX_BUCKETS], EA[AHASD_MAX_BUCKETS];
    double al[AHASD_MAX_BUCKETS], nx[AHASD_MAX_BUCKETS], stat[AHASD_MAX_BUCKETS], a, m;

    memset(PE, 0, sizeof PE);
    memset(EA, 0, sizeof EA);
    for (s = 0; s < B; s++) {
        memset(al, 0, sizeof al);
        al[s] = 1.0;
        for (i = 1; i <= k; i++) {
            double dp = pow(p->position_decay, (double)(i - 1));
            memset(nx, 0, sizeof nx);
            for (b = 0; b < B; b++) {
                if (al[b] == 0.0)
                    continue;
                a = p->accept[b] * dp;
                m = al[b] * (1.0 - a);
                PE[s * B + b] += m;
                EA[s] += (double)(i - 1) * m;
                m = al[b] * a;
                if (i == k) {
                    PE[s * B + b] += m;
                    EA[s] += (double)k * m;
                    continue;
                }
                for (b2 = 0; b2 < B; b2++)
                    nx[b2] += m * p->q[b * QS + b2];
            }
            memcpy(al, nx, sizeof al);
        }
    }
    if ((ret = batch_start_law(p, PE, start, stat, err)))
        goto out;
    *ea = 0.0;
    for (s = 0; s < B; s++)
        *ea += stat[s] * EA[s];
out:
    return ret;
}

/* P(A >= d | fixed k, long-run starts), d = 0..k (tree.c's per-depth
 * acceptance): the alive forward of fixed_k_mean_accepted per start s gives
 * P(E | s) and surv[s][d] = P(tokens 1..d accepted | s); the long-run start
 * law of that batch chain weighs them.  Stack only. */
int dd_fixed_k_tail(const ahasd_profile *p, int k, double *p_ge, ahasd_error *err)
{
    int ret = AHASD_OK, B, s, i, b, b2;
    double PE[AHASD_MAX_BUCKETS * AHASD_MAX_BUCKETS];
    double surv[AHASD_MAX_BUCKETS][AHASD_MAX_K + 1];
    double al[AHASD_MAX_BUCKETS], nx[AHASD_MAX_BUCKETS], stat[AHASD_MAX_BUCKETS];
    double start[AHASD_MAX_BUCKETS], a, m, dp;

    if (p == NULL || p_ge == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "dd_fixed_k_tail: a required pointer is NULL");
        goto out;
    }
    if ((ret = err_check_int(err, "", "k", k, 1, AHASD_MAX_K)))
        goto out;
    if ((ret = ahasd_profile_validate(p, err)))
        goto out;
    B = p->buckets;
    memset(PE, 0, sizeof PE);
    memset(surv, 0, sizeof surv);
    for (s = 0; s < B; s++) {
        memset(al, 0, sizeof al);
        al[s] = 1.0;
        for (i = 1; i <= k; i++) {
            dp = pow(p->position_decay, (double)(i - 1));
            memset(nx, 0, sizeof nx);
            for (b = 0; b < B; b++) {
                if (al[b] == 0.0)
                    continue;
                a = p->accept[b] * dp;
                PE[s * B + b] += al[b] * (1.0 - a);
                m = al[b] * a;
                surv[s][i] += m;
                if (i == k) {
                    PE[s * B + b] += m;
                    continue;
                }
                for (b2 = 0; b2 < B; b2++)
                    nx[b2] += m * p->q[b * QS + b2];
            }
            memcpy(al, nx, sizeof al);
        }
    }
    if ((ret = start_law(p, start, err)))
        goto out;
    if ((ret = batch_start_law(p, PE, start, stat, err)))
        goto out;
    p_ge[0] = 1.0;
    for (i = 1; i <= k; i++) {
        p_ge[i] = 0.0;
        for (s = 0; s < B; s++)
            p_ge[i] += stat[s] * surv[s][i];
    }
out:
    return ret;
}

/* mu[a] = E[reward]/r_max of each arm, and the best arm's index (the first
 * of equal maxima). */
static int bandit_arm_values(const ahasd_profile *p, const ahasd_policy *pol, double c,
                             double *mu, int *best, ahasd_error *err)
{
    int ret = AHASD_OK, i;
    double start[AHASD_MAX_BUCKETS], ea, rmax = bandit_rmax(pol, c);

    if ((ret = start_law(p, start, err)))
        goto out;
    *best = 0;
    for (i = 0; i < pol->n_arms; i++) {
        if ((ret = fixed_k_mean_accepted(p, pol->arms[i], start, &ea, err)))
            goto out;
        mu[i] = (ea + 1.0) / ((double)pol->arms[i] * c + 1.0) / rmax;
        if (mu[i] > mu[*best])
            *best = i;
    }
out:
    return ret;
}

/* The steady arm: argmax over arms of mu_a = E[(A + 1)/(k_a c + 1)] / r_max,
 * A under the arm's own long-run start law (fixed_k_mean_accepted); ties go
 * to the first arm.  *transient_rounds is a BOUND (UCB1, Auer et al. 2002,
 * Thm 1) on the expected pulls of the other arms in n_rounds rounds, not an
 * estimate of them.  Stack only: ws and its cache are not touched. */
int bandit_steady(const ahasd_profile *prof, const ahasd_policy *pol, double cost_ratio,
                  double n_rounds, int *arm_k, double *transient_rounds,
                  ahasd_workspace *ws, ahasd_error *err)
{
    int ret = AHASD_OK, best = 0, i;
    double c, mu[AHASD_MAX_ARMS], d, bound = 0.0, ln_n;

    if (prof == NULL || pol == NULL || arm_k == NULL || transient_rounds == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "bandit_steady: a required pointer is NULL");
        goto out;
    }
    if ((ret = ahasd_profile_validate(prof, err)) || (ret = ahasd_policy_validate(pol, err)))
        goto out;
    if (pol->kind != AHASD_POLICY_BANDITSPEC) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "policy.kind = %d is not banditspec (%d): bandit_steady needs a bandit",
                      pol->kind, AHASD_POLICY_BANDITSPEC);
        goto out;
    }
    if ((ret = err_check_real(err, "", "n_rounds", n_rounds, 0.0, INFINITY, 0)))
        goto out;
    if ((ret = bandit_cost(pol, cost_ratio, &c, err)))
        goto out;
    if ((ret = bandit_arm_values(prof, pol, c, mu, &best, err)))
        goto out;
    /* UCB1 (Auer et al. 2002, Thm 1): E[pulls of arm a in n rounds] <=
     * 8 ln n / Delta_a^2 + 1 + pi^2/3, rewards in [0, 1].  Arms within 1e-12
     * of the best are ties (they count as optimal).  The bound is UCB1's
     * (bandit_explore = sqrt 2) and assumes i.i.d. rewards per arm; capped at
     * n_rounds. */
    ln_n = log(n_rounds > 1.0 ? n_rounds : 1.0);
    for (i = 0; i < pol->n_arms; i++) {
        d = mu[best] - mu[i];
        if (d <= 1e-12)
            continue;
        bound += 8.0 * ln_n / (d * d) + 1.0 + DD_PI * DD_PI / 3.0;
    }
    *arm_k = pol->arms[best];
    *transient_rounds = bound < n_rounds ? bound : n_rounds;
out:
    return ret;
}

/* ================================================================== */
/* The table cache                                                     */
/* ================================================================== */

static int profile_equal(const ahasd_profile *a, const ahasd_profile *b)
{
    int B = a->buckets, i, j;

    if (a->buckets != b->buckets || a->h_max != b->h_max ||
        a->position_decay != b->position_decay || a->pred_scale != b->pred_scale)
        return 0;
    for (i = 0; i < B; i++) {
        if (a->accept[i] != b->accept[i] || a->init[i] != b->init[i])
            return 0;
        for (j = 0; j < B; j++)
            if (a->q[i * QS + j] != b->q[i * QS + j])
                return 0;
    }
    return 1;
}

/* Equal in every field the table depends on (the kind's own fields). */
static int policy_equal(const ahasd_policy *a, const ahasd_policy *b)
{
    int i;

    if (a->kind != b->kind || a->k_min != b->k_min || a->k_max != b->k_max)
        return 0;
    switch (a->kind) {
    case AHASD_POLICY_FIXED:
        return a->k == b->k;
    case AHASD_POLICY_SVIP:
        return a->svip_h == b->svip_h && a->svip_c == b->svip_c;
    case AHASD_POLICY_ADAEDL:
        return a->adaedl_gamma == b->adaedl_gamma && a->adaedl_lambda == b->adaedl_lambda;
    case AHASD_POLICY_SPECDECPP:
        return a->specdecpp_tau == b->specdecpp_tau && a->specdecpp_grid == b->specdecpp_grid;
    case AHASD_POLICY_TREE:
        if (a->tree_depth != b->tree_depth || a->tree_prune != b->tree_prune)
            return 0;
        for (i = 0; i < a->tree_depth && i < AHASD_MAX_TREE_DEPTH; i++)
            if (a->tree_branch[i] != b->tree_branch[i])
                return 0;
        return 1;
    default:
        if (a->n_arms != b->n_arms)
            return 0;
        for (i = 0; i < a->n_arms; i++)
            if (a->arms[i] != b->arms[i])
                return 0;
        return 1;   /* the cost ratio is compared by the caller */
    }
}

/* Build the table of (prof, pol) into entry en (arrays grown as needed). */
static int table_build(ws_dd_entry *en, ahasd_workspace *ws, const ahasd_profile *prof,
                       const ahasd_policy *pol, double c, int detail, ahasd_error *err)
{
    int with_edc = (detail & DD_DETAIL_EDC) != 0;
    int ret = AHASD_OK, B = prof->buckets, KM, arm_k = 0, best, s, k, j, e, nK;
    size_t n_pkae, n_pka, n_edc, n0, n1;
    double mu[AHASD_MAX_ARMS], PE[AHASD_MAX_BUCKETS * AHASD_MAX_BUCKETS], *pk, sum;
    rules_t r;
    dd_table *t = &en->table;

    if (pol->kind == AHASD_POLICY_BANDITSPEC) {
        if ((ret = bandit_arm_values(prof, pol, c, mu, &best, err)))
            goto out;
        arm_k = pol->arms[best];
    }
    KM = policy_kmax(pol, arm_k);
    rules_init(&r, prof, pol, KM);
    nK = KM + 1;
    if (pkae_work(&r, &n0, &n1) > DD_MAX_WORK || (with_edc && edc_group(&r) < 1)) {
        ret = err_set(err, AHASD_ERR_UNSUPPORTED,
                      "policy.specdecpp_grid = %d is too fine for an exact drafting table with "
                      "B = %d buckets, k_max = %d, k_min = %d%s: the recursion would need "
                      "%zu doubles of work (limit %zu); use a coarser specdecpp_grid",
                      pol->specdecpp_grid, B, KM, r.kmin, with_edc ? " and EDC detail" : "",
                      with_edc && edc_work(&r, 1) > n0 + n1 ? edc_work(&r, 1) : n0 + n1,
                      DD_MAX_WORK);
        goto out;
    }
    n_pkae = (size_t)B * nK * nK * B;
    n_pka = (size_t)B * nK * nK;
    if (en->cap_pkae < n_pkae + n_pka) {
        pk = realloc(t->pkae, (n_pkae + n_pka) * sizeof pk[0]);
        if (pk == NULL) {
            ret = err_set(err, AHASD_ERR_NOMEM, "cannot allocate a drafting table of %zu "
                          "doubles", n_pkae + n_pka);
            goto out;
        }
        t->pkae = pk;
        en->cap_pkae = n_pkae + n_pka;
    }
    t->pka = t->pkae + n_pkae;
    t->B = B;
    t->kmax = KM;
    t->has_edc = 0;
    t->has_last = 0;
    t->bandit_arm = arm_k;
    memset(t->pkae, 0, n_pkae * sizeof t->pkae[0]);
    if ((ret = build_pkae(&r, prof, t->pkae, ws, err)))
        goto out;
    /* One pass over the non-zero part (1 <= k, j <= k): the e-marginal pka,
     * P(E | s), P(E, fate | s), and the check that each start's law sums
     * to 1. */
    memset(PE, 0, sizeof PE);
    memset(t->exit_fate, 0, sizeof t->exit_fate);
    memset(t->pka, 0, n_pka * sizeof t->pka[0]);
    for (s = 0; s < B; s++) {
        double tot = 0.0, *pe = PE + s * B;
        for (k = 1; k <= KM; k++)
            for (j = 0; j <= k; j++) {
                const double *src = t->pkae + (((size_t)s * nK + k) * nK + j) * B;
                sum = 0.0;
                for (e = 0; e < B; e++) {
                    sum += src[e];
                    pe[e] += src[e];
                    t->exit_fate[s][e][j < k] += src[e];
                }
                t->pka[((size_t)s * nK + k) * nK + j] = sum;
                tot += sum;
            }
        if (!(fabs(tot - 1.0) <= 1e-9)) {
            ret = err_set(err, AHASD_ERR_NUMERIC,
                          "drafting recursion lost mass: start bucket %d sums to %.15g", s, tot);
            goto out;
        }
    }
    if ((ret = start_law(prof, t->start, err)))
        goto out;
    if ((ret = batch_start_law(prof, PE, t->start, t->stat_start, err)))
        goto out;
    for (s = 0; s < B; s++)
        t->entropy[s] = ((double)s + 0.5) * prof->h_max / (double)B;
    for (s = B; s < AHASD_MAX_BUCKETS; s++)
        t->start[s] = t->stat_start[s] = t->entropy[s] = 0.0;
    if (with_edc) {
        n_edc = (size_t)B * nK * 2 * B * AHASD_EDC_BUCKETS;
        if (en->cap_pkfeh < n_edc) {
            pk = realloc(t->pkfeh, n_edc * sizeof pk[0]);
            if (pk == NULL) {
                ret = err_set(err, AHASD_ERR_NOMEM, "cannot allocate an EDC drafting table "
                              "of %zu doubles", n_edc);
                goto out;
            }
            t->pkfeh = pk;
            en->cap_pkfeh = n_edc;
        }
        memset(t->pkfeh, 0, n_edc * sizeof t->pkfeh[0]);
        if ((ret = build_pkfeh(&r, prof, t->pkfeh, ws, err)))
            goto out;
        t->has_edc = 1;
    }
    /* the last-token detail when asked for and the state space allows it
     * (else has_last stays 0 and the caller does without) */
    if ((detail & DD_DETAIL_LAST) && last_group(&r) >= 1) {
        if (en->cap_pkal < n_pkae) {
            pk = realloc(t->pkal, n_pkae * sizeof pk[0]);
            if (pk == NULL) {
                ret = err_set(err, AHASD_ERR_NOMEM, "cannot allocate a last-token drafting "
                              "table of %zu doubles", n_pkae);
                goto out;
            }
            t->pkal = pk;
            en->cap_pkal = n_pkae;
        }
        memset(t->pkal, 0, n_pkae * sizeof t->pkal[0]);
        if ((ret = build_pkal(&r, prof, t->pkal, ws, err)))
            goto out;
        /* its (K, A) marginal is pka's */
        for (s = 0; s < B; s++)
            for (k = 1; k <= KM; k++)
                for (j = 0; j <= k; j++) {
                    const double *src = t->pkal + (((size_t)s * nK + k) * nK + j) * B;
                    double ref = t->pka[((size_t)s * nK + k) * nK + j];
                    sum = 0.0;
                    for (e = 0; e < B; e++)
                        sum += src[e];
                    if (!(fabs(sum - ref) <= 1e-9)) {
                        ret = err_set(err, AHASD_ERR_NUMERIC, "last-token recursion disagrees "
                                      "with the exit recursion at s = %d, k = %d, j = %d: "
                                      "%.15g against %.15g", s, k, j, sum, ref);
                        goto out;
                    }
                }
        t->has_last = 1;
    }
out:
    return ret;
}

/* Cache policy: WS_DD_CACHE entries keyed by the values a table depends on
 * (profile over its first B buckets, the policy's kind, k_min, k_max and own
 * fields, the effective bandit cost ratio), compared field by field; an entry
 * with a detail (EDC, last token) serves requests without it, a request for a
 * detail it lacks upgrades a matching entry in place (keeping the others); a miss takes a free entry or the least
 * recently used one, reusing its arrays. */
int dd_table_get(ahasd_workspace *ws, const ahasd_profile *prof, const ahasd_policy *pol,
                 double cost_ratio, int detail, const dd_table **out, ahasd_error *err)
{
    int ret = AHASD_OK, i, hit = -1, slot = -1;
    double c = 0.0;
    ws_dd_entry *en;

    if (ws == NULL || prof == NULL || pol == NULL || out == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "dd_table_get: a required pointer is NULL");
        goto out;
    }
    *out = NULL;
    if (pol->kind == AHASD_POLICY_TREE) {
        ret = err_set(err, AHASD_ERR_UNSUPPORTED,
                      "policy 'tree' has no per-batch (K, A) table: a tree round is described "
                      "by tree_build (tree.c), which the serial and sync schedules use");
        goto out;
    }
    /* The policy is validated on hits too: its validation reads fields the
     * key leaves out (bandit_explore), so a cached key does not vouch for
     * them.  The profile's validation reads only key fields (and NaN equals
     * nothing), so a hit vouches for it: it is validated on misses. */
    if ((ret = ahasd_policy_validate(pol, err)))
        goto out;
    if (pol->kind == AHASD_POLICY_BANDITSPEC && (ret = bandit_cost(pol, cost_ratio, &c, err)))
        goto out;
    detail &= DD_DETAIL_EDC | DD_DETAIL_LAST;
    for (i = 0; i < WS_DD_CACHE; i++) {
        en = &ws->dd[i];
        if (en->used && en->cost_ratio == c && profile_equal(&en->prof, prof) &&
            policy_equal(&en->pol, pol)) {
            hit = i;
            break;
        }
    }
    if (hit >= 0 && (ws->dd[hit].detail & detail) == detail) {
        en = &ws->dd[hit];
        en->stamp = ++ws->clock;
        *out = &en->table;
        goto out;
    }
    /* Miss (or a hit without the EDC detail, rebuilt in place): the entry
     * is marked unused until its table is complete. */
    if ((ret = ahasd_profile_validate(prof, err)))
        goto out;
    slot = hit;
    for (i = 0; slot < 0 && i < WS_DD_CACHE; i++)
        if (!ws->dd[i].used)
            slot = i;
    if (slot < 0) {     /* all used: replace the least recently used */
        slot = 0;
        for (i = 1; i < WS_DD_CACHE; i++)
            if (ws->dd[i].stamp < ws->dd[slot].stamp)
                slot = i;
    }
    en = &ws->dd[slot];
    en->used = 0;
    if (hit >= 0)
        detail |= en->detail;   /* an upgrade keeps the detail it had */
    if ((ret = table_build(en, ws, prof, pol, c, detail, err)))
        goto out;
    en->prof = *prof;
    en->pol = *pol;
    en->cost_ratio = c;
    en->detail = detail;
    en->used = 1;
    en->stamp = ++ws->clock;
    *out = &en->table;
out:
    return ret;
}

/* ================================================================== */
/* Public summaries                                                    */
/* ================================================================== */

/* The start_bucket argument of the public drafting functions. */
static int check_start(const ahasd_profile *prof, int start_bucket, ahasd_error *err)
{
    if (start_bucket != AHASD_START_INIT && start_bucket != AHASD_START_STATIONARY &&
        (start_bucket < 0 || start_bucket >= prof->buckets))
        return err_set(err, AHASD_ERR_BAD_PARAM,
                       "start_bucket = %d is not allowed: must be a bucket in [0, %d], "
                       "AHASD_START_INIT (-1) or AHASD_START_STATIONARY (-2)",
                       start_bucket, prof->buckets - 1);
    return AHASD_OK;
}

/* The tree policy's summary: K is the tree's depth D (the length of the
 * speculated path, so that every tree_branch = 1 gives exactly fixed k = D)
 * and A the accepted depth; the per-depth acceptance is the stationary one
 * (tree.c), so start_bucket only has to be valid.  The tree's node counts
 * (drafted, verified) are not part of this summary. */
static int tree_summary(const ahasd_profile *prof, const ahasd_policy *pol, int start_bucket,
                        ahasd_draft_summary *out, ahasd_error *err)
{
    int ret = AHASD_OK, D, j;
    tree_t t;

    if ((ret = tree_build(prof, pol, &t, err)))
        goto out;
    if ((ret = check_start(prof, start_bucket, err)))
        goto out;
    D = t.depth;
    out->k_max = D;
    out->p_k[D] = 1.0;
    for (j = 0; j <= D; j++)
        out->p_ka[D * (AHASD_MAX_K + 1) + j] = t.p_a[j];
    out->mean_draft_len = D;
    out->mean_accepted = t.mean_accepted;
    out->p_full = t.p_a[D];
    out->tokens_per_round = t.mean_accepted + 1.0;
    out->acceptance_rate = t.mean_accepted / D;
out:
    return ret;
}

/* The summary of P(K, A) for a start (bucket s, start[] or stat_start[])
 * from the cached table: p_ka[k][j] = sum_s w_s pka[s][k][j] and its moments.
 * BanditSpec uses its steady arm, which needs pol->bandit_cost_ratio > 0
 * here (no task costs): AHASD_ERR_BAD_PARAM otherwise. */
int ahasd_draft_dist(const ahasd_profile *prof, const ahasd_policy *pol, int start_bucket,
                     ahasd_workspace *ws, ahasd_draft_summary *out, ahasd_error *err)
{
    int ret = AHASD_OK, s, k, j, KM, nK, B;
    const dd_table *t = NULL;
    double w[AHASD_MAX_BUCKETS], p, ek = 0.0, ea = 0.0;
    const double *src;

    if (prof == NULL || pol == NULL || ws == NULL || out == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "ahasd_draft_dist: a required pointer is NULL");
        goto out;
    }
    memset(out, 0, sizeof *out);
    if (pol->kind == AHASD_POLICY_TREE) {
        ret = tree_summary(prof, pol, start_bucket, out, err);
        goto out;
    }
    if ((ret = dd_table_get(ws, prof, pol, -1.0, 0, &t, err)))
        goto out;
    if ((ret = check_start(prof, start_bucket, err)))
        goto out;
    B = t->B;
    KM = t->kmax;
    nK = KM + 1;
    for (s = 0; s < B; s++)
        w[s] = start_bucket >= 0 ? (s == start_bucket ? 1.0 : 0.0)
             : start_bucket == AHASD_START_INIT ? t->start[s] : t->stat_start[s];
    for (s = 0; s < B; s++) {
        if (w[s] == 0.0)
            continue;
        for (k = 1; k <= KM; k++) {
            src = t->pka + ((size_t)s * nK + k) * nK;
            for (j = 0; j <= k; j++)
                out->p_ka[k * (AHASD_MAX_K + 1) + j] += w[s] * src[j];
        }
    }
    out->k_max = KM;
    for (k = 1; k <= KM; k++)
        for (j = 0; j <= k; j++) {
            p = out->p_ka[k * (AHASD_MAX_K + 1) + j];
            out->p_k[k] += p;
            ek += p * k;
            ea += p * j;
            if (j == k)
                out->p_full += p;
        }
    out->mean_draft_len = ek;
    out->mean_accepted = ea;
    out->tokens_per_round = ea + 1.0;
    out->acceptance_rate = ek > 0.0 ? ea / ek : 0.0;
    out->bandit_arm = t->bandit_arm;
out:
    return ret;
}

/* ================================================================== */
/* The drafter (simulator and ahasd_draft_sample)                       */
/* ================================================================== */

/* Cumulative row for inverse-transform sampling: out[j] = P(<= j), exactly
 * 1 from the last bucket of positive probability on, so that u in [0, 1)
 * never selects a bucket of probability 0. */
static void cum_row(const double *row, int B, double *out)
{
    int j, last = 0;
    double tot = 0.0, c = 0.0;

    for (j = 0; j < B; j++) {
        tot += row[j];
        if (row[j] > 0.0)
            last = j;
    }
    for (j = 0; j < B; j++) {
        c += row[j];
        out[j] = j >= last ? 1.0 : c / tot;
    }
}

static int draw_bucket(const double *cum, int B, double u)
{
    int j;

    for (j = 0; j < B - 1; j++)
        if (u < cum[j])
            return j;
    return B - 1;
}

/* Validates prof and pol and precomputes what a token draw needs: cumulative
 * rows of q and of the first-token law (init, or the stationary law of q),
 * the svip/adaedl stop per bucket and SpecDec++'s fixed-point steps (the same
 * functions the recursion uses), decay powers.  d keeps pointers to prof and
 * pol: both must outlive it. */
int drafter_init(drafter_t *d, const ahasd_profile *prof, const ahasd_policy *pol,
                 ahasd_error *err)
{
    int ret = AHASD_OK, B, i;
    double start[AHASD_MAX_BUCKETS];

    if (d == NULL || prof == NULL || pol == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "drafter_init: a required pointer is NULL");
        goto out;
    }
    memset(d, 0, sizeof *d);
    if ((ret = ahasd_profile_validate(prof, err)) || (ret = ahasd_policy_validate(pol, err)))
        goto out;
    B = prof->buckets;
    d->prof = prof;
    d->pol = pol;
    d->kind = pol->kind;
    d->k_min = pol->k_min;
    for (i = 0; i < B; i++) {
        cum_row(prof->q + i * QS, B, d->cum_q[i]);
        d->stop_bucket[i] = bucket_rule(prof, pol, i);
        d->specdec_step[i] = pol->kind == AHASD_POLICY_SPECDECPP ? specdec_step(prof, pol, i)
                                                                 : 0;
    }
    if ((ret = start_law(prof, start, err)))
        goto out;
    cum_row(start, B, d->cum_init);
    d->specdec_limit = pol->kind == AHASD_POLICY_SPECDECPP ? pol->specdecpp_grid : 0;
    for (i = 1; i <= AHASD_MAX_K; i++)
        d->decay_pow[i] = pow(prof->position_decay, (double)(i - 1));
    drafter_begin(d, policy_kmax(pol, pol->k_max));
out:
    return ret;
}

void drafter_begin(drafter_t *d, int k)
{
    d->pos = 0;
    d->acc = 0;
    if (d->kind == AHASD_POLICY_FIXED)
        k = d->pol->k;
    else if (d->kind != AHASD_POLICY_BANDITSPEC)
        k = d->pol->k_max;
    d->k_batch = k < 1 ? 1 : k > AHASD_MAX_K ? AHASD_MAX_K : k;
}

/* One drafted token in bucket b: position + 1, SpecDec++ accumulator
 * (saturating at grid + 1), acceptance flag ~ Bernoulli(accept[b] decay^(i-1))
 * (one uniform), stop = i >= min(k_min, k_batch) and (i >= k_batch or rule),
 * always at AHASD_MAX_K. */
int drafter_token(drafter_t *d, gsl_rng *rng, int b, int *accepted, int *stop)
{
    int rule = 0, kmin = d->k_min < d->k_batch ? d->k_min : d->k_batch;
    double a;

    d->pos++;
    if (d->kind == AHASD_POLICY_SPECDECPP) {
        d->acc += d->specdec_step[b];
        if (d->acc > d->specdec_limit + 1)
            d->acc = d->specdec_limit + 1;
        rule = d->acc > d->specdec_limit;
    } else if (d->kind == AHASD_POLICY_SVIP || d->kind == AHASD_POLICY_ADAEDL) {
        rule = d->stop_bucket[b];
    }
    a = d->prof->accept[b] * (d->pos <= AHASD_MAX_K ? d->decay_pow[d->pos]
                              : pow(d->prof->position_decay, (double)(d->pos - 1)));
    *accepted = gsl_rng_uniform(rng) < a;
    *stop = d->pos >= AHASD_MAX_K || (d->pos >= kmin && (d->pos >= d->k_batch || rule));
    return b;
}

/* Draws the bucket (one uniform, inverse transform on row prev of q, or on
 * the first-token law when prev < 0), then drafter_token. */
int drafter_next(drafter_t *d, gsl_rng *rng, int prev, int *accepted, int *stop)
{
    const double *cum = prev < 0 ? d->cum_init : d->cum_q[prev];

    return drafter_token(d, rng, draw_bucket(cum, d->prof->buckets, gsl_rng_uniform(rng)),
                         accepted, stop);
}

/* Trees: n rounds of tree_sample (K = the depth, A the accepted depth),
 * rounds independent (tree.c), the generator seeded as ws_rng seeds. */
static int tree_draw(const ahasd_profile *prof, const ahasd_policy *pol, uint64_t seed,
                     size_t n, int *k_out, int *a_out, ahasd_error *err)
{
    int ret = AHASD_OK;
    size_t i;
    tree_t t;
    gsl_rng *rng = NULL;

    if ((ret = tree_build(prof, pol, &t, err)))
        goto out;
    if ((rng = rng_alloc_seeded(seed, err)) == NULL) {
        ret = AHASD_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        k_out[i] = t.depth;
        a_out[i] = tree_sample(&t, rng);
    }
out:
    if (rng != NULL)
        gsl_rng_free(rng);
    return ret;
}

/* Monte Carlo with the simulator's drafter (trees: tree_draw).
 * start_bucket >= 0: every batch's first token is in that bucket;
 * AHASD_START_INIT: every batch's first token ~ init (or the stationary law
 * of q); AHASD_START_STATIONARY: one chain
 * of batches, each starting from row E of q of the batch before, the first
 * from the first-token law, after SAMPLE_BURN_IN discarded batches (so the
 * sample follows the long-run law up to a burn-in bias that decays
 * geometrically with the chain's mixing).  BanditSpec drafts with its steady
 * arm (needs bandit_cost_ratio > 0).  The only allocation is the gsl_rng
 * (taus2, seeded as ws_rng seeds), freed on every path. */
int ahasd_draft_sample(const ahasd_profile *prof, const ahasd_policy *pol, int start_bucket,
                       uint64_t seed, size_t n, int *k_out, int *a_out, ahasd_error *err)
{
    int ret = AHASD_OK, arm_k = 0, best, b, prev = -1, last, exitb, k, a, alive, acc, stop;
    size_t t, burn;
    double c, mu[AHASD_MAX_ARMS];
    drafter_t d;
    gsl_rng *rng = NULL;

    if (prof == NULL || pol == NULL || (n > 0 && (k_out == NULL || a_out == NULL))) {
        ret = err_set(err, AHASD_ERR_NULL, "ahasd_draft_sample: a required pointer is NULL");
        goto out;
    }
    if ((ret = drafter_init(&d, prof, pol, err)))
        goto out;
    if ((ret = check_start(prof, start_bucket, err)))
        goto out;
    if (pol->kind == AHASD_POLICY_TREE) {
        ret = tree_draw(prof, pol, seed, n, k_out, a_out, err);
        goto out;
    }
    if (pol->kind == AHASD_POLICY_BANDITSPEC) {
        if ((ret = bandit_cost(pol, -1.0, &c, err)))
            goto out;
        if ((ret = bandit_arm_values(prof, pol, c, mu, &best, err)))
            goto out;
        arm_k = pol->arms[best];
    }
    if ((rng = rng_alloc_seeded(seed, err)) == NULL) {
        ret = AHASD_ERR_NOMEM;
        goto out;
    }
    burn = start_bucket == AHASD_START_STATIONARY ? SAMPLE_BURN_IN : 0;
    for (t = 0; t < burn + n; t++) {
        drafter_begin(&d, arm_k);
        k = a = 0;
        alive = 1;
        last = exitb = -1;
        do {
            if (k == 0 && start_bucket >= 0)
                b = drafter_token(&d, rng, start_bucket, &acc, &stop);
            else
                b = drafter_next(&d, rng, k > 0 ? last : prev, &acc, &stop);
            k++;
            if (alive && acc) {
                a++;
            } else if (alive) {
                alive = 0;
                exitb = b;
            }
            last = b;
        } while (!stop);
        if (alive)
            exitb = last;
        /* STATIONARY chains batches through exit buckets; INIT restarts. */
        prev = start_bucket == AHASD_START_STATIONARY ? exitb : -1;
        if (t >= burn) {
            k_out[t - burn] = k;
            a_out[t - burn] = a;
        }
    }
out:
    if (rng != NULL)
        gsl_rng_free(rng);
    return ret;
}

/* ================================================================== */
/* The bandit (simulator)                                              */
/* ================================================================== */

/* A fresh bandit over pol->arms (no pulls). */
void bandit_init(bandit_t *b, const ahasd_policy *pol)
{
    int i;

    memset(b, 0, sizeof *b);
    b->n_arms = pol->n_arms < 0 ? 0 : pol->n_arms > AHASD_MAX_ARMS ? AHASD_MAX_ARMS
                                                                     : pol->n_arms;
    for (i = 0; i < b->n_arms; i++)
        b->arms[i] = pol->arms[i];
    b->explore = pol->bandit_explore;
}

/* UCB: an arm never pulled first (lowest index), else the arm maximising
 * mean + explore sqrt(ln total / n) (lowest index among equals). */
int bandit_choose(const bandit_t *b)
{
    int i, best = 0;
    double v, bv = -INFINITY, lt;

    for (i = 0; i < b->n_arms; i++)
        if (b->n[i] <= 0.0)
            return i;
    lt = log(b->total > 1.0 ? b->total : 1.0);
    for (i = 0; i < b->n_arms; i++) {
        v = b->sum[i] / b->n[i] + b->explore * sqrt(lt / b->n[i]);
        if (v > bv) {
            bv = v;
            best = i;
        }
    }
    return best;
}

void bandit_update(bandit_t *b, int arm, double reward01)
{
    if (arm < 0 || arm >= b->n_arms)
        return;
    b->sum[arm] += reward01;
    b->n[arm] += 1.0;
    b->total += 1.0;
}

/* (a + 1)/(k c + 1) / r_max in [0, 1], c = bandit_cost_ratio if > 0 else
 * cost_ratio (non-finite or negative: 0), r_max = max over arms of
 * (k + 1)/(k c + 1). */
double bandit_reward(const ahasd_policy *pol, double cost_ratio, int k, int a)
{
    double c = pol->bandit_cost_ratio > 0.0 ? pol->bandit_cost_ratio : cost_ratio, r;

    if (!(isfinite(c) && c >= 0.0))
        c = 0.0;
    r = ((double)a + 1.0) / ((double)k * c + 1.0) / bandit_rmax(pol, c);
    return r < 0.0 ? 0.0 : r > 1.0 ? 1.0 : r;
}
