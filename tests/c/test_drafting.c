/*
 * test_drafting.c -- drafting.c: closed forms (Leviathan et al.), the exact
 * recursion against the Monte Carlo sampler for every policy, EDC detail,
 * the table cache, the bandit, and every validation error.
 */
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "check.h"
#include "internal.h"

#define NKA ((AHASD_MAX_K + 1) * (AHASD_MAX_K + 1))

/* Leviathan et al. 2023: E[tokens per round] = (1 - a^(k+1)) / (1 - a). */
static double leviathan(double a, int k)
{
    return a == 1.0 ? (double)(k + 1) : (1.0 - pow(a, k + 1)) / (1.0 - a);
}

static void policy_fixed(ahasd_policy *p, int k)
{
    memset(p, 0, sizeof *p);
    p->kind = AHASD_POLICY_FIXED;
    p->k = k;
    p->k_min = 1;
    p->k_max = AHASD_MAX_K;
}

/* Sixteen buckets, three loose regimes, decaying acceptance. */
static void profile_sixteen(ahasd_profile *p)
{
    int i, j;
    double sum, v;

    memset(p, 0, sizeof *p);
    p->buckets = 16;
    p->h_max = 8.0;
    for (i = 0; i < 16; i++) {
        p->accept[i] = 0.97 - 0.055 * i;
        sum = 0.0;
        for (j = 0; j < 16; j++) {
            v = (i / 6 == j / 6 ? 1.0 : 0.15) / (1.0 + abs(i - j));
            p->q[i * AHASD_MAX_BUCKETS + j] = v;
            sum += v;
        }
        for (j = 0; j < 16; j++)
            p->q[i * AHASD_MAX_BUCKETS + j] /= sum;
    }
    p->position_decay = 0.99;
    p->pred_scale = 0.95;
}

/* The library's default policy (ahasd_config_default's values). */
static void default_policy(ahasd_policy *p)
{
    memset(p, 0, sizeof *p);
    p->kind = AHASD_POLICY_FIXED;
    p->k = 4;
    p->k_min = 1;
    p->k_max = 16;
    p->svip_c = 0.15;
    p->svip_h = 0.4;
    p->adaedl_gamma = 0.5;
    p->adaedl_lambda = 0.5;
    p->specdecpp_tau = 0.5;
    p->specdecpp_grid = 128;
    p->n_arms = 5;
    p->arms[0] = 1;
    p->arms[1] = 2;
    p->arms[2] = 4;
    p->arms[3] = 6;
    p->arms[4] = 8;
    p->bandit_explore = 1.4142135623730951;
}

/* A six-bucket, two-regime profile: buckets 0-2 context-constrained (low
 * entropy, high acceptance), 3-5 free (high entropy, low acceptance); sticky
 * within a regime. */
static void profile_two_regime(ahasd_profile *p)
{
    static const double acc[6] = {0.95, 0.85, 0.7, 0.5, 0.35, 0.2};
    static const double q[6][6] = {
        {0.60, 0.20, 0.10, 0.05, 0.03, 0.02},
        {0.30, 0.40, 0.15, 0.07, 0.05, 0.03},
        {0.20, 0.25, 0.35, 0.10, 0.06, 0.04},
        {0.05, 0.05, 0.10, 0.40, 0.25, 0.15},
        {0.04, 0.04, 0.07, 0.25, 0.40, 0.20},
        {0.03, 0.03, 0.04, 0.20, 0.30, 0.40},
    };
    int i, j;

    memset(p, 0, sizeof *p);
    p->buckets = 6;
    p->h_max = 6.0;
    for (i = 0; i < 6; i++) {
        p->accept[i] = acc[i];
        for (j = 0; j < 6; j++)
            p->q[i * AHASD_MAX_BUCKETS + j] = q[i][j];
    }
    p->position_decay = 0.98;
    p->pred_scale = 1.05;
}

static void test_validation(void)
{
    ahasd_error err;
    ahasd_profile p, good;
    ahasd_policy pol, gpol;
    ahasd_workspace *ws = ahasd_workspace_alloc();
    ahasd_draft_summary sum;
    int k[4], a[4];

    profile_two_regime(&good);
    CHECK(ahasd_profile_validate(&good, &err) == AHASD_OK);
    CHECK_ERR(ahasd_profile_validate(NULL, &err), AHASD_ERR_NULL, "profile");

    p = good; p.buckets = 0;
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.buckets");
    p = good; p.buckets = AHASD_MAX_BUCKETS + 1;
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.buckets");
    p = good; p.h_max = -2.385;
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.h_max");
    p = good; p.h_max = INFINITY;
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.h_max");
    p = good; p.q[2 * AHASD_MAX_BUCKETS + 3] = NAN;
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.q[2][3]");
    p = good; p.q[1 * AHASD_MAX_BUCKETS + 4] = -2.385;
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.q[1][4]");
    p = good; p.q[4 * AHASD_MAX_BUCKETS + 0] -= 0.03;   /* row 4 sums to 0.97 */
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.q row 4");
    CHECK(strstr(err.msg, "0.97") != NULL);
    p = good; p.accept[5] = 2.385;
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.accept[5]");
    p = good; p.accept[0] = NAN;
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.accept[0]");
    p = good; p.init[1] = -0.2385;
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.init[1]");
    p = good; p.init[1] = 0.97;
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.init");
    CHECK(strstr(err.msg, "0.97") != NULL);
    p = good; p.position_decay = 0.0;
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.position_decay");
    p = good; p.position_decay = 1.2385;
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.position_decay");
    p = good; p.pred_scale = -2.385;
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.pred_scale");
    p = good; p.pred_scale = INFINITY;
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.pred_scale");
    /* Two closed classes and init all zero: no stationary law to start from. */
    memset(&p, 0, sizeof p);
    p.buckets = 2;
    p.h_max = 1.0;
    p.q[0] = 1.0;
    p.q[AHASD_MAX_BUCKETS + 1] = 1.0;
    p.accept[0] = 0.5;
    p.accept[1] = 0.5;
    p.position_decay = 1.0;
    p.pred_scale = 1.0;
    CHECK_ERR(ahasd_profile_validate(&p, &err), AHASD_ERR_BAD_PARAM, "profile.init");
    p.init[0] = 1.0;
    CHECK(ahasd_profile_validate(&p, &err) == AHASD_OK);

    CHECK_ERR(ahasd_profile_iid(&p, -2.385, &err), AHASD_ERR_BAD_PARAM, "alpha");
    CHECK_ERR(ahasd_profile_iid(&p, NAN, &err), AHASD_ERR_BAD_PARAM, "alpha");
    CHECK_ERR(ahasd_profile_iid(NULL, 0.5, &err), AHASD_ERR_NULL, "profile");

    default_policy(&gpol);
    CHECK(ahasd_policy_validate(&gpol, &err) == AHASD_OK);
    CHECK_ERR(ahasd_policy_validate(NULL, &err), AHASD_ERR_NULL, "policy");
    pol = gpol; pol.kind = 7;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.kind");
    pol = gpol; pol.k_min = 0;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.k_min");
    pol = gpol; pol.k_max = AHASD_MAX_K + 1;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.k_max");
    pol = gpol; pol.k_min = 5; pol.k_max = 4; pol.k = 4;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.k_max");
    pol = gpol; pol.k = 17;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.k");
    pol = gpol; pol.kind = AHASD_POLICY_SVIP; pol.svip_c = -2.385;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.svip_c");
    pol = gpol; pol.kind = AHASD_POLICY_SVIP; pol.svip_h = NAN;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.svip_h");
    pol = gpol; pol.kind = AHASD_POLICY_ADAEDL; pol.adaedl_gamma = 0.0;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.adaedl_gamma");
    pol = gpol; pol.kind = AHASD_POLICY_ADAEDL; pol.adaedl_lambda = 2.385;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.adaedl_lambda");
    pol = gpol; pol.kind = AHASD_POLICY_SPECDECPP; pol.specdecpp_tau = 1.0;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.specdecpp_tau");
    pol = gpol; pol.kind = AHASD_POLICY_SPECDECPP; pol.specdecpp_tau = INFINITY;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.specdecpp_tau");
    pol = gpol; pol.kind = AHASD_POLICY_SPECDECPP; pol.specdecpp_grid = 7;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.specdecpp_grid");
    pol = gpol; pol.kind = AHASD_POLICY_SPECDECPP; pol.specdecpp_grid = 4097;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.specdecpp_grid");
    pol = gpol; pol.kind = AHASD_POLICY_BANDITSPEC; pol.n_arms = 0;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.n_arms");
    pol = gpol; pol.kind = AHASD_POLICY_BANDITSPEC; pol.n_arms = AHASD_MAX_ARMS + 1;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.n_arms");
    pol = gpol; pol.kind = AHASD_POLICY_BANDITSPEC; pol.arms[3] = 17;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.arms[3]");
    pol = gpol; pol.kind = AHASD_POLICY_BANDITSPEC; pol.bandit_explore = -2.385;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM, "policy.bandit_explore");
    pol = gpol; pol.kind = AHASD_POLICY_BANDITSPEC; pol.bandit_cost_ratio = NAN;
    CHECK_ERR(ahasd_policy_validate(&pol, &err), AHASD_ERR_BAD_PARAM,
              "policy.bandit_cost_ratio");
    /* Fields another kind reads are not checked. */
    pol = gpol; pol.svip_c = NAN;
    CHECK(ahasd_policy_validate(&pol, &err) == AHASD_OK);

    /* Banditspec without a cost ratio: the public functions have no task costs. */
    pol = gpol; pol.kind = AHASD_POLICY_BANDITSPEC; pol.bandit_cost_ratio = 0.0;
    CHECK_ERR(ahasd_draft_dist(&good, &pol, AHASD_START_INIT, ws, &sum, &err),
              AHASD_ERR_BAD_PARAM, "bandit_cost_ratio");
    CHECK_ERR(ahasd_draft_sample(&good, &pol, AHASD_START_INIT, 1, 4, k, a, &err),
              AHASD_ERR_BAD_PARAM, "bandit_cost_ratio");
    pol = gpol;
    CHECK_ERR(ahasd_draft_dist(&good, &pol, 6, ws, &sum, &err), AHASD_ERR_BAD_PARAM,
              "start_bucket");
    CHECK_ERR(ahasd_draft_dist(&good, &pol, -3, ws, &sum, &err), AHASD_ERR_BAD_PARAM,
              "start_bucket");
    CHECK_ERR(ahasd_draft_sample(&good, &pol, 6, 1, 4, k, a, &err), AHASD_ERR_BAD_PARAM,
              "start_bucket");
    CHECK_ERR(ahasd_draft_dist(&good, &pol, 0, NULL, &sum, &err), AHASD_ERR_NULL, "NULL");
    CHECK_ERR(ahasd_draft_sample(&good, &pol, 0, 1, 4, NULL, a, &err), AHASD_ERR_NULL, "NULL");
    CHECK(ahasd_draft_sample(&good, &pol, 0, 1, 0, NULL, NULL, &err) == AHASD_OK);
    p = good; p.accept[2] = 2.385;
    CHECK_ERR(ahasd_draft_dist(&p, &pol, 0, ws, &sum, &err), AHASD_ERR_BAD_PARAM,
              "profile.accept[2]");
    CHECK_ERR(ahasd_draft_sample(&p, &pol, 0, 1, 4, k, a, &err), AHASD_ERR_BAD_PARAM,
              "profile.accept[2]");
    pol.k = 0;
    CHECK_ERR(ahasd_draft_dist(&good, &pol, 0, ws, &sum, &err), AHASD_ERR_BAD_PARAM,
              "policy.k");

    /* A state space too large for the exact table is refused, not attempted. */
    {
        const dd_table *t = NULL;
        ahasd_profile big;
        int i, j;
        memset(&big, 0, sizeof big);
        big.buckets = AHASD_MAX_BUCKETS;
        big.h_max = 8.0;
        for (i = 0; i < AHASD_MAX_BUCKETS; i++) {
            big.accept[i] = 0.999 - 0.01 * i;
            for (j = 0; j < AHASD_MAX_BUCKETS; j++)
                big.q[i * AHASD_MAX_BUCKETS + j] = 1.0 / AHASD_MAX_BUCKETS;
        }
        big.position_decay = 1.0;
        big.pred_scale = 1.0;
        pol = gpol;
        pol.kind = AHASD_POLICY_SPECDECPP;
        pol.k_max = AHASD_MAX_K;
        pol.specdecpp_grid = 4096;
        CHECK_ERR(dd_table_get(ws, &big, &pol, 0.0, 1, &t, &err), AHASD_ERR_UNSUPPORTED,
                  "specdecpp_grid");
        CHECK(t == NULL);
    }
    ahasd_workspace_free(ws);
}

/* Fixed k, i.i.d. acceptance: Leviathan et al.'s formula to 1e-12. */
static void test_leviathan(void)
{
    ahasd_error err;
    ahasd_profile p;
    ahasd_policy pol;
    ahasd_draft_summary s;
    ahasd_workspace *ws = ahasd_workspace_alloc();
    static const double alphas[] = {0.0, 0.3, 0.6, 0.8, 0.9, 0.99, 1.0};
    static const int ks[] = {1, 2, 4, 7, 16, 32};
    int ia, ik, st, j;
    double tot;

    for (ia = 0; ia < (int)(sizeof alphas / sizeof alphas[0]); ia++)
        for (ik = 0; ik < (int)(sizeof ks / sizeof ks[0]); ik++) {
            CHECK(ahasd_profile_iid(&p, alphas[ia], &err) == AHASD_OK);
            policy_fixed(&pol, ks[ik]);
            for (st = -2; st <= 0; st++) {
                CHECK(ahasd_draft_dist(&p, &pol, st, ws, &s, &err) == AHASD_OK);
                CHECK_CLOSE(s.tokens_per_round, leviathan(alphas[ia], ks[ik]), 1e-12, 1e-12);
                CHECK_CLOSE(s.mean_draft_len, ks[ik], 0, 1e-12);
                CHECK_CLOSE(s.p_k[ks[ik]], 1.0, 0, 1e-12);
                CHECK_CLOSE(s.p_full, pow(alphas[ia], ks[ik]), 1e-12, 1e-15);
                CHECK(s.k_max == ks[ik]);
                tot = 0.0;
                for (j = 0; j <= ks[ik]; j++)
                    tot += s.p_ka[ks[ik] * (AHASD_MAX_K + 1) + j];
                CHECK_CLOSE(tot, 1.0, 0, 1e-12);
            }
        }
    /* limits */
    CHECK(ahasd_profile_iid(&p, 0.0, &err) == AHASD_OK);
    policy_fixed(&pol, 5);
    CHECK(ahasd_draft_dist(&p, &pol, AHASD_START_INIT, ws, &s, &err) == AHASD_OK);
    CHECK_CLOSE(s.tokens_per_round, 1.0, 0, 1e-15);
    CHECK_CLOSE(s.acceptance_rate, 0.0, 0, 1e-15);
    CHECK(ahasd_profile_iid(&p, 1.0, &err) == AHASD_OK);
    CHECK(ahasd_draft_dist(&p, &pol, AHASD_START_INIT, ws, &s, &err) == AHASD_OK);
    CHECK_CLOSE(s.tokens_per_round, 6.0, 0, 1e-15);
    CHECK_CLOSE(s.acceptance_rate, 1.0, 0, 1e-15);
    CHECK_CLOSE(s.p_full, 1.0, 0, 1e-15);
    /* MODEL.md's worked number: alpha 0.8, k 4, c 0.1 gives a 2.4x speed-up. */
    CHECK(ahasd_profile_iid(&p, 0.8, &err) == AHASD_OK);
    policy_fixed(&pol, 4);
    CHECK(ahasd_draft_dist(&p, &pol, AHASD_START_INIT, ws, &s, &err) == AHASD_OK);
    CHECK_CLOSE(s.tokens_per_round / (4 * 0.1 + 1), 2.4, 0, 0.005);
    ahasd_workspace_free(ws);
}

/* Two regimes with equal acceptance reduce to Leviathan's formula; position
 * decay against a hand computation. */
static void test_regimes_and_decay(void)
{
    ahasd_error err;
    ahasd_profile p;
    ahasd_policy pol;
    ahasd_draft_summary s;
    ahasd_workspace *ws = ahasd_workspace_alloc();
    int i, j, k, st;
    double a = 0.73, d = 0.9, want;

    memset(&p, 0, sizeof p);
    p.buckets = 4;
    p.h_max = 4.0;
    for (i = 0; i < 4; i++) {
        p.accept[i] = a;
        for (j = 0; j < 4; j++)    /* blocks {0,1} and {2,3}, sticky */
            p.q[i * AHASD_MAX_BUCKETS + j] = (i / 2 == j / 2) ? 0.45 : 0.05;
    }
    p.position_decay = 1.0;
    p.pred_scale = 1.0;
    for (k = 1; k <= 12; k += 3) {
        policy_fixed(&pol, k);
        for (st = -2; st < 4; st++) {
            CHECK(ahasd_draft_dist(&p, &pol, st, ws, &s, &err) == AHASD_OK);
            CHECK_CLOSE(s.tokens_per_round, leviathan(a, k), 1e-12, 0);
        }
    }
    /* Position decay, k = 3, i.i.d.: E[A] = a + a^2 d + a^3 d^3. */
    CHECK(ahasd_profile_iid(&p, a, &err) == AHASD_OK);
    p.position_decay = d;
    policy_fixed(&pol, 3);
    CHECK(ahasd_draft_dist(&p, &pol, AHASD_START_INIT, ws, &s, &err) == AHASD_OK);
    want = a + a * a * d + a * a * a * d * d * d;
    CHECK_CLOSE(s.mean_accepted, want, 1e-14, 0);
    CHECK_CLOSE(s.p_ka[3 * (AHASD_MAX_K + 1) + 0], 1 - a, 1e-14, 0);
    CHECK_CLOSE(s.p_ka[3 * (AHASD_MAX_K + 1) + 1], a * (1 - a * d), 1e-14, 0);
    CHECK_CLOSE(s.p_ka[3 * (AHASD_MAX_K + 1) + 3], a * a * d * a * d * d, 1e-14, 0);
    ahasd_workspace_free(ws);
}

/* A hand-checkable SVIP case: two buckets, the rule stops after bucket 1
 * only.  Start in 0, q = [[0.5, 0.5], [0.5, 0.5]], k_max = 2:
 *   K = 1 iff b_1 = 1 (not here, b_1 = 0), so K = 2 always;
 *   P(A=0) = 1 - a0; P(A=1) = a0 (1 - a_{b2}) averaged; P(A=2) = a0 (a0 + a1)/2. */
static void test_svip_hand(void)
{
    ahasd_error err;
    ahasd_profile p;
    ahasd_policy pol;
    ahasd_draft_summary s;
    ahasd_workspace *ws = ahasd_workspace_alloc();
    double a0 = 0.9, a1 = 0.4;

    memset(&p, 0, sizeof p);
    p.buckets = 2;
    p.h_max = 2.0;               /* H_0 = 0.5, H_1 = 1.5 */
    p.q[0] = p.q[1] = p.q[AHASD_MAX_BUCKETS] = p.q[AHASD_MAX_BUCKETS + 1] = 0.5;
    p.accept[0] = a0;
    p.accept[1] = a1;
    p.position_decay = 1.0;
    p.pred_scale = 1.0;
    memset(&pol, 0, sizeof pol);
    pol.kind = AHASD_POLICY_SVIP;
    pol.k_min = 1;
    pol.k_max = 3;
    pol.svip_c = 0.15;
    pol.svip_h = 0.3;            /* sqrt(.15 * .5) = .27 < .3 < sqrt(.15 * 1.5) = .47 */
    CHECK(ahasd_draft_dist(&p, &pol, 1, ws, &s, &err) == AHASD_OK);
    CHECK_CLOSE(s.p_k[1], 1.0, 0, 1e-15);
    CHECK_CLOSE(s.p_ka[1 * (AHASD_MAX_K + 1) + 1], a1, 0, 1e-15);
    CHECK(ahasd_draft_dist(&p, &pol, 0, ws, &s, &err) == AHASD_OK);
    /* from 0: K=2 if b_2 = 1 (1/2), K=3 otherwise (b_3 any, stop at k_max) */
    CHECK_CLOSE(s.p_k[2], 0.5, 0, 1e-15);
    CHECK_CLOSE(s.p_k[3], 0.5, 0, 1e-15);
    CHECK_CLOSE(s.p_ka[2 * (AHASD_MAX_K + 1) + 2], 0.5 * a0 * a1, 0, 1e-15);
    CHECK_CLOSE(s.p_ka[3 * (AHASD_MAX_K + 1) + 3], 0.5 * a0 * a0 * (a0 + a1) / 2, 0, 1e-15);
    CHECK_CLOSE(s.p_ka[3 * (AHASD_MAX_K + 1) + 0], 0.5 * (1 - a0), 0, 1e-15);
    /* k_min = 2: the stop after b_1 = 1 is not allowed. */
    pol.k_min = 2;
    CHECK(ahasd_draft_dist(&p, &pol, 1, ws, &s, &err) == AHASD_OK);
    CHECK_CLOSE(s.p_k[1], 0.0, 0, 1e-15);
    CHECK_CLOSE(s.p_k[2], 0.5, 0, 1e-15);
    ahasd_workspace_free(ws);
}

/* Total-variation distance between the analytical law and n samples. */
static double tv_distance(const ahasd_draft_summary *s, const int *k, const int *a, size_t n,
                          double *mk, double *ma)
{
    double *cnt = calloc(NKA, sizeof(double)), tv = 0.0;
    size_t i;
    int c;

    *mk = *ma = 0.0;
    if (cnt == NULL)
        return 1.0;
    for (i = 0; i < n; i++) {
        cnt[k[i] * (AHASD_MAX_K + 1) + a[i]] += 1.0;
        *mk += k[i];
        *ma += a[i];
    }
    *mk /= (double)n;
    *ma /= (double)n;
    for (c = 0; c < NKA; c++)
        tv += fabs(cnt[c] / (double)n - s->p_ka[c]);
    free(cnt);
    return 0.5 * tv;
}

static void set_policy(ahasd_policy *pol, int which)
{
    memset(pol, 0, sizeof *pol);
    pol->k_min = 1;
    pol->k_max = 12;
    switch (which) {
    case 0:
        pol->kind = AHASD_POLICY_FIXED;
        pol->k = 5;
        break;
    case 1:
        pol->kind = AHASD_POLICY_SVIP;
        pol->svip_c = 0.15;
        pol->svip_h = 0.5;
        break;
    case 2:
        pol->kind = AHASD_POLICY_ADAEDL;
        pol->adaedl_gamma = 0.3;
        pol->adaedl_lambda = 0.2;
        pol->k_min = 2;
        break;
    case 3:
        pol->kind = AHASD_POLICY_SPECDECPP;
        pol->specdecpp_tau = 0.6;
        pol->specdecpp_grid = 64;
        break;
    case 4:
        pol->kind = AHASD_POLICY_SPECDECPP;
        pol->specdecpp_tau = 0.8;
        pol->specdecpp_grid = 100;
        pol->k_min = 3;
        pol->k_max = 10;
        break;
    default:
        pol->kind = AHASD_POLICY_BANDITSPEC;
        pol->n_arms = 4;
        pol->arms[0] = 2;
        pol->arms[1] = 4;
        pol->arms[2] = 6;
        pol->arms[3] = 9;
        pol->bandit_explore = 1.4142135623730951;
        pol->bandit_cost_ratio = 0.1;
        break;
    }
}

/* Every policy, four kinds of start: exact law against the sampler. */
static void test_against_sampler(void)
{
    ahasd_error err;
    ahasd_profile p;
    ahasd_policy pol;
    ahasd_draft_summary s;
    ahasd_workspace *ws = ahasd_workspace_alloc();
    size_t n = check_quick ? 20000 : 1000000;
    double tv_tol = check_quick ? 0.05 : 0.01, m_tol = check_quick ? 0.03 : 0.005;
    int *k = malloc(n * sizeof(int)), *a = malloc(n * sizeof(int));
    static const int starts[] = {0, 4, AHASD_START_INIT, AHASD_START_STATIONARY};
    int which, st, c;
    double tv, mk, ma, tot;

    if (k == NULL || a == NULL) {
        CHECK(0);
        goto out;
    }
    profile_two_regime(&p);
    for (which = 0; which < 6; which++) {
        set_policy(&pol, which);
        for (st = 0; st < 4; st++) {
            CHECK(ahasd_draft_dist(&p, &pol, starts[st], ws, &s, &err) == AHASD_OK);
            tot = 0.0;
            for (c = 0; c < NKA; c++)
                tot += s.p_ka[c];
            CHECK_CLOSE(tot, 1.0, 0, 1e-12);
            tot = 0.0;
            for (c = 0; c <= AHASD_MAX_K; c++)
                tot += s.p_k[c];
            CHECK_CLOSE(tot, 1.0, 0, 1e-12);
            CHECK(ahasd_draft_sample(&p, &pol, starts[st], 1234 + 17 * which + st, n, k, a,
                                     &err) == AHASD_OK);
            tv = tv_distance(&s, k, a, n, &mk, &ma);
            if (!(tv < tv_tol) || getenv("DD_VERBOSE"))
                fprintf(stderr, "policy %d start %d: TV %.4g, E[K] %.5g/%.5g, E[A] %.5g/%.5g\n",
                        which, starts[st], tv, mk, s.mean_draft_len, ma, s.mean_accepted);
            CHECK(tv < tv_tol);
            CHECK_CLOSE(mk, s.mean_draft_len, m_tol, 0);
            CHECK_CLOSE(ma, s.mean_accepted, m_tol, 0);
        }
    }
    /* The bandit's steady arm: reward (A+1)/(K c + 1) is largest there. */
    set_policy(&pol, 5);
    CHECK(ahasd_draft_dist(&p, &pol, AHASD_START_STATIONARY, ws, &s, &err) == AHASD_OK);
    {
        double best = s.tokens_per_round / (s.bandit_arm * 0.1 + 1), r;
        ahasd_draft_summary sf;
        ahasd_policy fp;
        CHECK(s.bandit_arm == s.k_max);
        for (c = 0; c < pol.n_arms; c++) {
            policy_fixed(&fp, pol.arms[c]);
            CHECK(ahasd_draft_dist(&p, &fp, AHASD_START_STATIONARY, ws, &sf, &err) == AHASD_OK);
            r = sf.tokens_per_round / (pol.arms[c] * 0.1 + 1);
            CHECK(r <= best + 1e-12);
        }
    }
out:
    free(k);
    free(a);
    ahasd_workspace_free(ws);
}

/* EDC detail: consistent with pkae, sums to 1, and matches a Monte Carlo of
 * the drafter with H8 computed from the batch's buckets. */
static void test_edc(void)
{
    ahasd_error err;
    ahasd_profile p;
    ahasd_policy pol;
    ahasd_workspace *ws = ahasd_workspace_alloc();
    const dd_table *t = NULL, *t2 = NULL;
    drafter_t d;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_taus2);
    size_t n = check_quick ? 20000 : 400000, i;
    int which, s, k, j, e, f, h, B, KM, nK, acc, stop, b, kk, alive, ex, sumb, last;
    double *emp = NULL, tv, m1, m2;

    profile_two_regime(&p);
    B = p.buckets;
    /* dd_edc_bucket at the boundaries: B = 8, mean bucket exactly 1 -> 1. */
    CHECK(dd_edc_bucket(8, 2, 1) == 1);
    CHECK(dd_edc_bucket(8, 1, 0) == 0);
    CHECK(dd_edc_bucket(8, 1, 7) == 7);
    CHECK(dd_edc_bucket(16, 3, 45) == 7);
    CHECK(dd_edc_bucket(16, 4, 4) == 0);   /* mean bucket 1 of 16 -> H8 0.75 -> 0 */
    CHECK(dd_edc_bucket(6, 2, 3) == 2);    /* 8 * (2*3+2)/(2*6*2) = 2.67 */
    for (which = 0; which < 7; which++) {
        set_policy(&pol, which);
        if (which == 6) {
            /* B = 16 with SpecDec++: the exit buckets go in groups (memory) */
            profile_sixteen(&p);
            pol.kind = AHASD_POLICY_SPECDECPP;
            pol.specdecpp_tau = 0.5;
            pol.specdecpp_grid = 128;
            pol.k_max = 16;
        }
        B = p.buckets;
        CHECK(dd_table_get(ws, &p, &pol, 0.1, 1, &t, &err) == AHASD_OK);
        if (t == NULL)
            continue;
        CHECK(t->has_edc == 1);
        KM = t->kmax;
        nK = KM + 1;
        for (s = 0; s < B; s++) {
            double tot = 0.0;
            for (k = 1; k <= KM; k++)
                for (e = 0; e < B; e++)
                    for (f = 0; f < 2; f++) {
                        double a1 = 0.0, a2 = 0.0;
                        for (h = 0; h < 8; h++)
                            a1 += t->pkfeh[((((size_t)s * nK + k) * 2 + f) * B + e) * 8 + h];
                        if (f == 1)
                            a2 = t->pkae[(((size_t)s * nK + k) * nK + k) * B + e];
                        else
                            for (j = 0; j < k; j++)
                                a2 += t->pkae[(((size_t)s * nK + k) * nK + j) * B + e];
                        CHECK_CLOSE(a1, a2, 0, 1e-13);
                        tot += a1;
                    }
            CHECK_CLOSE(tot, 1.0, 0, 1e-12);
        }
        /* Monte Carlo from start 2 */
        emp = calloc((size_t)nK * 2 * B * 8, sizeof(double));
        CHECK(drafter_init(&d, &p, &pol, &err) == AHASD_OK);
        gsl_rng_set(rng, 99 + which);
        for (i = 0; i < n && emp != NULL; i++) {
            drafter_begin(&d, t->bandit_arm);
            kk = 0;
            alive = 1;
            ex = -1;
            sumb = 0;
            last = 2;
            do {
                b = kk == 0 ? drafter_token(&d, rng, 2, &acc, &stop)
                            : drafter_next(&d, rng, last, &acc, &stop);
                kk++;
                sumb += b;
                if (alive && !acc) {
                    alive = 0;
                    ex = b;
                }
                last = b;
            } while (!stop);
            if (alive)
                ex = last;
            emp[(((size_t)kk * 2 + alive) * B + ex) * 8 + dd_edc_bucket(B, kk, sumb)] += 1.0;
        }
        tv = 0.0;
        m1 = m2 = 0.0;
        for (k = 1; k <= KM && emp != NULL; k++)
            for (f = 0; f < 2; f++)
                for (e = 0; e < B; e++)
                    for (h = 0; h < 8; h++) {
                        double pe = emp[(((size_t)k * 2 + f) * B + e) * 8 + h] / (double)n;
                        double pa = t->pkfeh[((((size_t)2 * nK + k) * 2 + f) * B + e) * 8 + h];
                        tv += 0.5 * fabs(pe - pa);
                        m1 += pe * h;
                        m2 += pa * h;
                    }
        if (!(tv < (check_quick ? 0.08 : 0.02)) || getenv("DD_VERBOSE"))
            fprintf(stderr, "EDC policy %d: TV %.4g\n", which, tv);
        CHECK(tv < (check_quick ? 0.08 : 0.02));
        CHECK_CLOSE(m1, m2, check_quick ? 0.05 : 0.01, 0);
        free(emp);
        emp = NULL;
        /* cache: the same request is a hit (same pointer); without EDC too */
        CHECK(dd_table_get(ws, &p, &pol, 0.1, 1, &t2, &err) == AHASD_OK);
        CHECK(t2 == t);
        CHECK(dd_table_get(ws, &p, &pol, 0.1, 0, &t2, &err) == AHASD_OK);
        CHECK(t2 == t);
    }
    gsl_rng_free(rng);
    ahasd_workspace_free(ws);
}

/* The cache: hits, misses on any changed value, EDC upgrade in place, LRU
 * replacement, and results that never depend on it. */
static void test_cache(void)
{
    ahasd_error err;
    ahasd_profile p, p2;
    ahasd_policy pol, pol2;
    ahasd_workspace *ws = ahasd_workspace_alloc();
    const dd_table *t1 = NULL, *t2 = NULL;
    ahasd_draft_summary s1, s2;
    int i;

    profile_two_regime(&p);
    set_policy(&pol, 1);
    CHECK(dd_table_get(ws, &p, &pol, 0.0, 0, &t1, &err) == AHASD_OK);
    CHECK(t1 != NULL && t1->has_edc == 0);
    CHECK(dd_table_get(ws, &p, &pol, 0.0, 0, &t2, &err) == AHASD_OK);
    CHECK(t1 == t2);
    /* unused fields do not matter; entries beyond B do not matter */
    pol2 = pol;
    pol2.adaedl_gamma = 123.0;
    p2 = p;
    p2.q[7] = 0.25;
    p2.accept[10] = 0.5;
    CHECK(dd_table_get(ws, &p2, &pol2, 0.0, 0, &t2, &err) == AHASD_OK);
    CHECK(t1 == t2);
    /* a value that matters is a miss */
    p2 = p;
    p2.accept[3] = 0.51;
    CHECK(dd_table_get(ws, &p2, &pol, 0.0, 0, &t2, &err) == AHASD_OK);
    CHECK(t1 != t2);
    /* EDC request upgrades the entry in place */
    CHECK(dd_table_get(ws, &p, &pol, 0.0, 1, &t2, &err) == AHASD_OK);
    CHECK(t1 == t2 && t2->has_edc == 1);
    /* fill the cache past its size: results never change */
    CHECK(ahasd_draft_dist(&p, &pol, AHASD_START_STATIONARY, ws, &s1, &err) == AHASD_OK);
    for (i = 0; i < 2 * WS_DD_CACHE; i++) {
        pol2 = pol;
        pol2.svip_h = 0.3 + 0.01 * i;
        CHECK(dd_table_get(ws, &p, &pol2, 0.0, 0, &t2, &err) == AHASD_OK);
    }
    CHECK(ahasd_draft_dist(&p, &pol, AHASD_START_STATIONARY, ws, &s2, &err) == AHASD_OK);
    CHECK(memcmp(&s1, &s2, sizeof s1) == 0);
    ahasd_workspace_clear(ws);
    CHECK(ahasd_draft_dist(&p, &pol, AHASD_START_STATIONARY, ws, &s2, &err) == AHASD_OK);
    CHECK(memcmp(&s1, &s2, sizeof s1) == 0);
    /* banditspec: the task-cost ratio is part of the key only when used */
    set_policy(&pol, 5);
    pol.bandit_cost_ratio = 0.0;
    CHECK(dd_table_get(ws, &p, &pol, 0.1, 0, &t1, &err) == AHASD_OK);
    CHECK(dd_table_get(ws, &p, &pol, 0.1, 0, &t2, &err) == AHASD_OK);
    CHECK(t1 == t2);
    CHECK(dd_table_get(ws, &p, &pol, 2.0, 0, &t2, &err) == AHASD_OK);
    CHECK(t1 != t2);
    CHECK(t2->bandit_arm == 2);    /* drafting expensive: the shortest arm */
    CHECK_ERR(dd_table_get(ws, &p, &pol, -1.0, 0, &t2, &err), AHASD_ERR_BAD_PARAM,
              "bandit_cost_ratio");
    CHECK_ERR(dd_table_get(ws, &p, &pol, NAN, 0, &t2, &err), AHASD_ERR_BAD_PARAM,
              "bandit_cost_ratio");
    CHECK_ERR(dd_table_get(NULL, &p, &pol, 0.1, 0, &t2, &err), AHASD_ERR_NULL, "NULL");
    ahasd_workspace_free(ws);
}

/* Stationary starts: the batch-start law is invariant under M = P(E|s) q;
 * init is honoured; a reducible chain with init falls back to the long-run
 * law from init. */
static void test_starts(void)
{
    ahasd_error err;
    ahasd_profile p;
    ahasd_policy pol;
    ahasd_workspace *ws = ahasd_workspace_alloc();
    const dd_table *t = NULL;
    int B, KM, nK, s, s2, k, j, e;
    double M[AHASD_MAX_BUCKETS][AHASD_MAX_BUCKETS], v, tot;

    profile_two_regime(&p);
    set_policy(&pol, 1);
    CHECK(dd_table_get(ws, &p, &pol, 0.0, 0, &t, &err) == AHASD_OK);
    B = t->B;
    KM = t->kmax;
    nK = KM + 1;
    memset(M, 0, sizeof M);
    for (s = 0; s < B; s++)
        for (k = 1; k <= KM; k++)
            for (j = 0; j <= k; j++)
                for (e = 0; e < B; e++)
                    for (s2 = 0; s2 < B; s2++)
                        M[s][s2] += t->pkae[(((size_t)s * nK + k) * nK + j) * B + e] *
                                    p.q[e * AHASD_MAX_BUCKETS + s2];
    tot = 0.0;
    for (s2 = 0; s2 < B; s2++) {
        v = 0.0;
        for (s = 0; s < B; s++)
            v += t->stat_start[s] * M[s][s2];
        CHECK_CLOSE(v, t->stat_start[s2], 0, 1e-12);
        tot += t->stat_start[s2];
        /* start = stationary law of q (init all zero) */
        v = 0.0;
        for (s = 0; s < B; s++)
            v += t->start[s] * p.q[s * AHASD_MAX_BUCKETS + s2];
        CHECK_CLOSE(v, t->start[s2], 0, 1e-12);
        CHECK_CLOSE(t->entropy[s2], (s2 + 0.5) * p.h_max / B, 1e-15, 0);
    }
    CHECK_CLOSE(tot, 1.0, 0, 1e-12);
    p.init[3] = 1.0;
    CHECK(dd_table_get(ws, &p, &pol, 0.0, 0, &t, &err) == AHASD_OK);
    CHECK(t->start[3] == 1.0 && t->start[0] == 0.0);
    /* reducible: two absorbing blocks, start in block {0,1} */
    memset(&p, 0, sizeof p);
    p.buckets = 4;
    p.h_max = 4.0;
    p.q[0] = p.q[1] = p.q[AHASD_MAX_BUCKETS] = p.q[AHASD_MAX_BUCKETS + 1] = 0.5;
    p.q[2 * AHASD_MAX_BUCKETS + 2] = p.q[2 * AHASD_MAX_BUCKETS + 3] = 0.5;
    p.q[3 * AHASD_MAX_BUCKETS + 2] = p.q[3 * AHASD_MAX_BUCKETS + 3] = 0.5;
    p.accept[0] = 0.9;
    p.accept[1] = 0.6;
    p.accept[2] = 0.5;
    p.accept[3] = 0.2;
    p.init[0] = 1.0;
    p.position_decay = 1.0;
    p.pred_scale = 1.0;
    policy_fixed(&pol, 3);
    CHECK(dd_table_get(ws, &p, &pol, 0.0, 0, &t, &err) == AHASD_OK);
    CHECK_CLOSE(t->stat_start[0] + t->stat_start[1], 1.0, 0, 1e-12);
    CHECK_CLOSE(t->stat_start[0], 0.5, 0, 1e-12);
    ahasd_workspace_free(ws);
}

/* bandit_steady and the simulator's bandit. */
static void test_bandit(void)
{
    ahasd_error err;
    ahasd_profile p;
    ahasd_policy pol;
    ahasd_workspace *ws = ahasd_workspace_alloc();
    bandit_t bd;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_taus2);
    int arm = -1, i, c, pulls[AHASD_MAX_ARMS];
    double tr = -1.0, tr2, mu[3] = {0.3, 0.7, 0.5};

    CHECK(ahasd_profile_iid(&p, 0.8, &err) == AHASD_OK);
    set_policy(&pol, 5);
    /* i.i.d. 0.8, c = 0.1: (1 - .8^(k+1))/(.2 (0.1 k + 1)) over {2,4,6,9} is
     * 2.033, 2.401, 2.470, 2.349: largest at k = 6 */
    CHECK(bandit_steady(&p, &pol, 0.0, 1000.0, &arm, &tr, ws, &err) == AHASD_OK);
    CHECK(arm == 6);
    CHECK(tr > 0.0 && tr <= 1000.0);
    CHECK(bandit_steady(&p, &pol, 0.0, 1e9, &arm, &tr2, ws, &err) == AHASD_OK);
    CHECK(tr2 > tr && tr2 < 1e9);
    CHECK(bandit_steady(&p, &pol, 0.0, 0.0, &arm, &tr, ws, &err) == AHASD_OK);
    CHECK(tr == 0.0);
    CHECK_ERR(bandit_steady(&p, &pol, 0.0, -2.385, &arm, &tr, ws, &err), AHASD_ERR_BAD_PARAM,
              "n_rounds");
    pol.bandit_cost_ratio = 0.0;
    CHECK_ERR(bandit_steady(&p, &pol, INFINITY, 10.0, &arm, &tr, ws, &err),
              AHASD_ERR_BAD_PARAM, "bandit_cost_ratio");
    CHECK(bandit_steady(&p, &pol, 1.0, 10.0, &arm, &tr, ws, &err) == AHASD_OK);
    CHECK(arm == 2);
    policy_fixed(&pol, 3);
    CHECK_ERR(bandit_steady(&p, &pol, 0.1, 10.0, &arm, &tr, ws, &err), AHASD_ERR_BAD_PARAM,
              "banditspec");
    /* rewards */
    set_policy(&pol, 5);
    CHECK_CLOSE(bandit_reward(&pol, 0.0, 9, 9), 1.0, 0, 1e-15);   /* c = 0.1: k=9 is r_max */
    CHECK_CLOSE(bandit_reward(&pol, 0.0, 2, 0), (1 / 1.2) / (10 / 1.9), 1e-14, 0);
    pol.bandit_cost_ratio = 0.0;
    CHECK_CLOSE(bandit_reward(&pol, 1.0, 2, 2), 1.0, 0, 1e-15);   /* c = 1: every full batch is 1 */
    /* UCB: every arm first, then mostly the best arm */
    pol.n_arms = 3;
    bandit_init(&bd, &pol);
    memset(pulls, 0, sizeof pulls);
    for (i = 0; i < 3; i++) {
        c = bandit_choose(&bd);
        CHECK(c == i);
        bandit_update(&bd, c, gsl_rng_uniform(rng) < mu[c]);
    }
    for (i = 0; i < 20000; i++) {
        c = bandit_choose(&bd);
        pulls[c]++;
        bandit_update(&bd, c, gsl_rng_uniform(rng) < mu[c] ? 1.0 : 0.0);
    }
    CHECK(pulls[1] > 15000);
    bandit_update(&bd, 7, 1.0);   /* out of range: ignored */
    CHECK(bd.total == 20003.0);
    gsl_rng_free(rng);
    ahasd_workspace_free(ws);
}

void test_drafting(void)
{
    test_validation();
    test_leviathan();
    test_regimes_and_decay();
    test_svip_hand();
    test_cache();
    test_starts();
    test_bandit();
    test_edc();
    test_against_sampler();
}
