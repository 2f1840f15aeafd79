/*
 * test_tree.c -- token-tree drafting (tree.c and its branches in
 * drafting.c, schedule.c, sim.c): validation naming the field; the identity
 * E[A] = sum of path products = sum_j j P(A = j) against an independent
 * recursion over the kept tree; pruning keeps a tree; a tree with every
 * branching factor 1 is exactly fixed k = depth (drafting law, closed
 * forms); the sampler against the law; the closed form against the
 * simulator; level costs and verification costs up to AHASD_MAX_TREE_NODES;
 * the schedules that refuse trees.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "check.h"
#include "fixture.h"

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */
/* ------------------------------------------------------------------ */
static void pol_tree(ahasd_policy *p, int depth, const int *branch, double prune)
{
    int d;

    memset(p, 0, sizeof *p);
    p->kind = AHASD_POLICY_TREE;
    p->k = 4;
    p->k_min = 1;
    p->k_max = 16;
    p->tree_depth = depth;
    for (d = 0; d < depth; d++)
        p->tree_branch[d] = branch[d];
    p->tree_prune = prune;
}

/* Explicit task costs, fixed k = 4 (until a test sets its tree), alpha 0.8. */
static void cfg_explicit(ahasd_config *cfg, int sched)
{
    static const ahasd_explicit_costs costs = {
        .draft_token_s = 0.0137, .verify_base_s = 0.1, .verify_per_token_s = 0.0021,
        .preverify_token_s = 0.02, .draft_token_j = 0.01, .verify_base_j = 0.2385,
        .verify_per_token_j = 0.003, .preverify_token_j = 0.01, .sync_s = 0.002,
        .rollback_s = 0.004, .idle_w = {[AHASD_DEV_NPU] = 0.5, [AHASD_DEV_PIM] = 0.125}};

    fixture_config_explicit(cfg, sched, &costs, 4, 0.8);
}

/* The AHASD platform with contention off, LLaMA2-7B drafting for
 * LLaMA2-13B. */
static void cfg_hw(ahasd_config *cfg, int sched)
{
    fixture_config_ahasd(cfg, sched);
    cfg->hw.contention = 0.0;
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */
/* ------------------------------------------------------------------ */
static void test_validate(void)
{
    ahasd_policy p;
    ahasd_error err;
    static const int b3[] = {3, 2, 2};
    static const int b_big[] = {32, 32, 2};
    static const int b_zero[] = {2, 0, 2};
    int b16[AHASD_MAX_TREE_DEPTH], d;

    pol_tree(&p, 3, b3, 0.25);
    CHECK(ahasd_policy_validate(&p, &err) == AHASD_OK);
    p.tree_depth = 0;
    CHECK_ERR(ahasd_policy_validate(&p, &err), AHASD_ERR_BAD_PARAM, "policy.tree_depth");
    p.tree_depth = AHASD_MAX_TREE_DEPTH + 1;
    CHECK_ERR(ahasd_policy_validate(&p, &err), AHASD_ERR_BAD_PARAM, "policy.tree_depth");
    pol_tree(&p, 3, b_zero, 0.0);
    CHECK_ERR(ahasd_policy_validate(&p, &err), AHASD_ERR_BAD_PARAM, "policy.tree_branch[1]");
    pol_tree(&p, 3, b_big, 0.0);      /* 32 + 1024 + 2048 nodes */
    CHECK_ERR(ahasd_policy_validate(&p, &err), AHASD_ERR_BAD_PARAM, "policy.tree_branch");
    CHECK(strstr(err.msg, "1024") != NULL);
    for (d = 0; d < AHASD_MAX_TREE_DEPTH; d++)
        b16[d] = 1;
    pol_tree(&p, AHASD_MAX_TREE_DEPTH, b16, 0.0);
    CHECK(ahasd_policy_validate(&p, &err) == AHASD_OK);
    b16[0] = 1024;                    /* 1024 x 16 levels: too many */
    pol_tree(&p, 2, b16, 0.0);
    CHECK_ERR(ahasd_policy_validate(&p, &err), AHASD_ERR_BAD_PARAM, "policy.tree_branch");
    pol_tree(&p, 1, b16, 0.0);        /* exactly 1024 nodes */
    CHECK(ahasd_policy_validate(&p, &err) == AHASD_OK);
    pol_tree(&p, 3, b3, 1.0);
    CHECK_ERR(ahasd_policy_validate(&p, &err), AHASD_ERR_BAD_PARAM, "policy.tree_prune");
    p.tree_prune = -0.125;
    CHECK_ERR(ahasd_policy_validate(&p, &err), AHASD_ERR_BAD_PARAM, "policy.tree_prune");
    p.tree_prune = NAN;
    CHECK_ERR(ahasd_policy_validate(&p, &err), AHASD_ERR_BAD_PARAM, "policy.tree_prune");
    /* fields of another kind are not read */
    pol_tree(&p, 3, b3, 0.0);
    p.kind = AHASD_POLICY_FIXED;
    p.tree_depth = -7;
    CHECK(ahasd_policy_validate(&p, &err) == AHASD_OK);
}

/* ------------------------------------------------------------------ */
/* The law of A                                                        */
/* ------------------------------------------------------------------ */
/* E[A | node v accepted] - depth(v), by recursion over the kept tree:
 * E(v) = sum over kept children c of rank r of p_r (1 + E(c)). */
static double rec_mean(const tree_t *t, int v, int d)
{
    int first = v < 0 ? 0 : t->first_child[v], nk = v < 0 ? t->root_kept : t->kept_children[v];
    int r;
    double a, e = 0.0, pr;

    if (d >= t->depth)
        return 0.0;
    a = t->acc[d + 1];
    for (r = 0; r < nk; r++) {
        pr = a * pow(1.0 - a, (double)r);
        e += pr * (1.0 + rec_mean(t, first + r, d + 1));
    }
    return e;
}

static void check_tree(const ahasd_profile *prof, int depth, const int *branch, double prune)
{
    static tree_t t;    /* 30 KB: off the stack */
    ahasd_policy p;
    ahasd_error err;
    int i, j, n = 0, kept = 0, nd = 1, d, orphans = 0;
    double cum, min_kept = INFINITY, max_removed = -INFINITY;

    pol_tree(&p, depth, branch, prune);
    CHECK(tree_build(prof, &p, &t, &err) == AHASD_OK);
    for (d = 0; d < depth; d++) {
        nd *= branch[d];
        n += nd;
        CHECK(t.level_nodes[d + 1] == nd);
        CHECK(t.level_pos[d] == (d == 0 ? 1 : nd / branch[d]));
    }
    CHECK(t.n_total == n);
    CHECK(t.n_kept == n - (int)floor(prune * n));
    /* the identity, three ways */
    CHECK_CLOSE(t.mean_accepted, t.mean_accepted_rec, 1e-12, 1e-15);
    CHECK_CLOSE(t.mean_accepted, rec_mean(&t, -1, 0), 1e-12, 1e-15);
    /* P(A >= j) from P(A = j) */
    for (j = 0; j <= depth; j++) {
        cum = 0.0;
        for (i = j; i <= depth; i++)
            cum += t.p_a[i];
        CHECK_CLOSE(cum, t.p_ge[j], 1e-12, 1e-15);
    }
    /* pruning keeps a tree and the highest path products */
    for (i = 0; i < n; i++) {
        kept += t.kept[i];
        if (t.kept[i] && t.node_parent[i] >= 0 && !t.kept[t.node_parent[i]])
            orphans++;
        if (t.kept[i])
            min_kept = t.f[i] < min_kept ? t.f[i] : min_kept;
        else
            max_removed = t.f[i] > max_removed ? t.f[i] : max_removed;
    }
    CHECK(orphans == 0);
    CHECK(min_kept >= max_removed);
    CHECK(kept == t.n_kept);
}

static void test_identity(void)
{
    ahasd_profile iid, reg;
    ahasd_error err;
    static const int b1[] = {4, 2, 2, 1};
    static const int b2[] = {2, 2, 2, 2, 2, 2};
    static const int b3[] = {8, 1, 1, 1, 1};
    static const int b4[] = {1, 3, 1, 3};
    static const int b5[] = {1024};
    static const double prunes[] = {0.0, 0.2, 0.5, 0.9, 0.999};
    size_t i;

    ahasd_profile_iid(&iid, 0.7, &err);
    fixture_profile_regimes(&reg, 0.8);
    for (i = 0; i < sizeof prunes / sizeof prunes[0]; i++) {
        check_tree(&iid, 4, b1, prunes[i]);
        check_tree(&reg, 6, b2, prunes[i]);
        check_tree(&reg, 5, b3, prunes[i]);
        check_tree(&iid, 4, b4, prunes[i]);
        check_tree(&iid, 1, b5, prunes[i]);
    }
    /* hand values: iid a = 0.5, depth 2, branching (2, 1), no pruning:
     * f = 0.5, 0.25 (depth 1); 0.25, 0.125 (depth 2): E[A] = 1.125 */
    {
        static tree_t t;
        ahasd_policy p;
        static const int b[] = {2, 1};

        ahasd_profile_iid(&iid, 0.5, &err);
        pol_tree(&p, 2, b, 0.0);
        CHECK(tree_build(&iid, &p, &t, &err) == AHASD_OK);
        CHECK_CLOSE(t.mean_accepted, 1.125, 1e-15, 0.0);
        CHECK_CLOSE(t.p_a[0], 0.25, 1e-15, 0.0);
        CHECK_CLOSE(t.p_a[1], 0.375, 1e-15, 0.0);
        CHECK_CLOSE(t.p_a[2], 0.375, 1e-15, 0.0);
        /* prune 0.5 of 4 nodes: the two depth-2 ... f = 0.125 and 0.25
         * (depth 2 before depth 1 at equal f): keeps 0.5 and 0.25 of depth 1 */
        pol_tree(&p, 2, b, 0.5);
        CHECK(tree_build(&iid, &p, &t, &err) == AHASD_OK);
        CHECK(t.n_kept == 2 && t.level_kept[1] == 2 && t.level_kept[2] == 0);
        CHECK_CLOSE(t.mean_accepted, 0.75, 1e-15, 0.0);
    }
}

/* A tree with every branching factor 1 is fixed k = depth. */
static void test_chain_reduces(void)
{
    ahasd_workspace *ws = ahasd_workspace_alloc();
    ahasd_profile prof[2];
    ahasd_policy tp, fp;
    ahasd_draft_summary st, sf;
    ahasd_error err;
    static const int ones[AHASD_MAX_TREE_DEPTH] = {1, 1, 1, 1, 1, 1, 1, 1,
                                                   1, 1, 1, 1, 1, 1, 1, 1};
    static const int depths[] = {1, 3, 5, 16};
    int i, j, di, D;

    ahasd_profile_iid(&prof[0], 0.77, &err);
    fixture_profile_regimes(&prof[1], 0.85);
    for (i = 0; i < 2; i++)
        for (di = 0; di < 4; di++) {
            D = depths[di];
            pol_tree(&tp, D, ones, 0.0);
            fp = tp;
            fp.kind = AHASD_POLICY_FIXED;
            fp.k = D;
            fp.k_max = 16;
            CHECK(ahasd_draft_dist(&prof[i], &tp, AHASD_START_STATIONARY, ws, &st, &err) ==
                  AHASD_OK);
            CHECK(ahasd_draft_dist(&prof[i], &fp, AHASD_START_STATIONARY, ws, &sf, &err) ==
                  AHASD_OK);
            CHECK(st.k_max == sf.k_max);
            for (j = 0; j <= D; j++)
                CHECK_CLOSE(st.p_ka[D * (AHASD_MAX_K + 1) + j],
                            sf.p_ka[D * (AHASD_MAX_K + 1) + j], 1e-12, 1e-15);
            CHECK_CLOSE(st.mean_accepted, sf.mean_accepted, 1e-12, 0.0);
            CHECK_CLOSE(st.p_full, sf.p_full, 1e-12, 1e-15);
        }
    /* the tree law needs no table: dd_table_get refuses trees */
    {
        const dd_table *tab;
        pol_tree(&tp, 3, ones, 0.0);
        CHECK_ERR(dd_table_get(ws, &prof[0], &tp, -1.0, 0, &tab, &err), AHASD_ERR_UNSUPPORTED,
                  "tree");
    }
    /* bad start bucket is still an error */
    pol_tree(&tp, 3, ones, 0.0);
    CHECK_ERR(ahasd_draft_dist(&prof[1], &tp, 5, ws, &st, &err), AHASD_ERR_BAD_PARAM,
              "start_bucket");
    ahasd_workspace_free(ws);
}

/* Closed forms: tree(1, ..., 1) equals fixed k = D on serial and sync, with
 * explicit costs and with the hardware cost model. */
static void test_schedule_chain_equal(void)
{
    ahasd_workspace *ws = ahasd_workspace_alloc();
    ahasd_config ct, cf;
    ahasd_result rt, rf;
    ahasd_error err;
    static const int ones[AHASD_MAX_TREE_DEPTH] = {1, 1, 1, 1, 1, 1, 1, 1,
                                                   1, 1, 1, 1, 1, 1, 1, 1};
    static const int scheds[] = {AHASD_SCHED_SERIAL, AHASD_SCHED_SYNC};
    static const int outs[] = {AHASD_OUT_THROUGHPUT_TOK_S, AHASD_OUT_ENERGY_PER_TOKEN_J,
                               AHASD_OUT_NPU_BUSY_FRAC, AHASD_OUT_PIM_BUSY_FRAC,
                               AHASD_OUT_ACCEPTANCE_RATE, AHASD_OUT_WASTE_FRAC,
                               AHASD_OUT_MEAN_DRAFT_LEN, AHASD_OUT_TOKENS_PER_ROUND};
    int s, h, o, D = 5, pr;

    for (h = 0; h < 2; h++)
        for (s = 0; s < 2; s++)
            for (pr = 0; pr < 2; pr++) {
                if (h)
                    cfg_hw(&ct, scheds[s]);
                else
                    cfg_explicit(&ct, scheds[s]);
                if (pr)
                    fixture_profile_regimes(&ct.profile, 0.9);
                cf = ct;
                pol_tree(&ct.policy, D, ones, 0.0);
                cf.policy.kind = AHASD_POLICY_FIXED;
                cf.policy.k = D;
                CHECK(ahasd_estimate(&ct, ws, &rt, &err) == AHASD_OK);
                CHECK(ahasd_estimate(&cf, ws, &rf, &err) == AHASD_OK);
                for (o = 0; o < (int)(sizeof outs / sizeof outs[0]); o++)
                    CHECK_CLOSE(rt.out[outs[o]], rf.out[outs[o]], 1e-11, 1e-15);
            }
    ahasd_workspace_free(ws);
}

/* The sampler draws the law of tree_build. */
static void test_sampler(void)
{
    static tree_t t;
    ahasd_profile reg;
    ahasd_policy p;
    ahasd_error err;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_taus2);
    static const int b[] = {3, 2, 2, 1};
    long cnt[AHASD_MAX_TREE_DEPTH + 1], n = check_quick ? 20000 : 200000, i, bad = 0;
    int j, A;
    double mean = 0.0, m2 = 0.0, se, ph;

    fixture_profile_regimes(&reg, 0.8);
    pol_tree(&p, 4, b, 0.3);
    CHECK(tree_build(&reg, &p, &t, &err) == AHASD_OK);
    memset(cnt, 0, sizeof cnt);
    gsl_rng_set(rng, 2385);
    for (i = 0; i < n; i++) {
        A = tree_sample(&t, rng);
        if (A < 0 || A > 4) {
            bad++;
            continue;
        }
        cnt[A]++;
        mean += A;
        m2 += (double)A * A;
    }
    CHECK(bad == 0);
    mean /= n;
    se = sqrt((m2 / n - mean * mean) / n);
    CHECK(fabs(mean - t.mean_accepted) < 4.5 * se);
    for (j = 0; j <= 4; j++) {
        ph = (double)cnt[j] / n;
        CHECK(fabs(ph - t.p_a[j]) < 4.5 * sqrt(t.p_a[j] * (1 - t.p_a[j]) / n) + 1e-12);
    }
    /* the public sampler too */
    {
        int *k = malloc(sizeof(int) * 20000), *a = malloc(sizeof(int) * 20000);
        double s = 0.0;
        CHECK(ahasd_draft_sample(&reg, &p, AHASD_START_STATIONARY, 7, 20000, k, a, &err) ==
              AHASD_OK);
        for (i = 0; i < 20000; i++) {
            CHECK(k[i] == 4);
            s += a[i];
        }
        CHECK(fabs(s / 20000 - t.mean_accepted) < 0.03);
        free(k);
        free(a);
    }
    gsl_rng_free(rng);
}

/* Closed form against the simulator (explicit costs: exact in the mean up
 * to the end of the run; hardware: segments against the exact contexts). */
static void test_sim_matches(void)
{
    ahasd_workspace *ws = ahasd_workspace_alloc();
    ahasd_config cfg;
    ahasd_result ra, rs;
    ahasd_sim_options opt;
    ahasd_error err;
    static const int b[] = {4, 2, 2, 1};
    static const int scheds[] = {AHASD_SCHED_SERIAL, AHASD_SCHED_SYNC};
    static const int outs[] = {AHASD_OUT_THROUGHPUT_TOK_S, AHASD_OUT_ENERGY_PER_TOKEN_J,
                               AHASD_OUT_ACCEPTANCE_RATE, AHASD_OUT_TOKENS_PER_ROUND,
                               AHASD_OUT_NPU_BUSY_FRAC, AHASD_OUT_MEAN_DRAFT_LEN};
    int s, h, o, rc;
    double tol;

    for (h = 0; h < 2; h++)
        for (s = 0; s < 2; s++) {
            if (h)
                cfg_hw(&cfg, scheds[s]);
            else
                cfg_explicit(&cfg, scheds[s]);
            cfg.gen_len = 512;
            cfg.segments = 8;
            fixture_profile_regimes(&cfg.profile, 0.8);
            pol_tree(&cfg.policy, 4, b, 0.25);
            CHECK(ahasd_estimate(&cfg, ws, &ra, &err) == AHASD_OK);
            memset(&opt, 0, sizeof opt);
            opt.seed = 11;
            opt.n_runs = check_quick ? 20 : 200;
            rc = ahasd_simulate(&cfg, &opt, ws, &rs, &err);
            if (rc != AHASD_OK)
                fprintf(stderr, "simulate: %s\n", err.msg);
            CHECK(rc == AHASD_OK);
            for (o = 0; o < (int)(sizeof outs / sizeof outs[0]); o++) {
                /* 4 half-widths of the 95% interval, plus the end-of-run
                 * truncation (one round in about 150) */
                tol = 2.5 * rs.ci95[outs[o]] + 0.01 * fabs(ra.out[outs[o]]);
                if (!(fabs(ra.out[outs[o]] - rs.out[outs[o]]) <= tol))
                    fprintf(stderr, "tree sim h=%d s=%d out %s: analytic %.6g sim %.6g "
                            "+- %.3g\n", h, s, ahasd_output_name(outs[o]), ra.out[outs[o]],
                            rs.out[outs[o]], rs.ci95[outs[o]]);
                CHECK(fabs(ra.out[outs[o]] - rs.out[outs[o]]) <= tol);
            }
            /* accounting identities of a tree run */
            CHECK_CLOSE(rs.out[AHASD_OUT_ACCEPTANCE_RATE] + rs.out[AHASD_OUT_WASTE_FRAC], 1.0,
                        1e-9, 0.0);
            CHECK_CLOSE(ra.out[AHASD_OUT_ACCEPTANCE_RATE] + ra.out[AHASD_OUT_WASTE_FRAC], 1.0,
                        1e-12, 0.0);
            CHECK_CLOSE(ra.out[AHASD_OUT_MEAN_DRAFT_LEN], 4 + 8 + 16 + 16, 1e-12, 0.0);
        }
    ahasd_workspace_free(ws);
}

/* Level costs; verification costs up to AHASD_MAX_TREE_NODES. */
static void test_costs(void)
{
    ahasd_config cfg;
    ahasd_error err;
    plat_t p;
    ahasd_cost c1, cl, prev, pp;
    int n, task, bad;

    cfg_hw(&cfg, AHASD_SCHED_SYNC);
    CHECK(plat_init(&p, &cfg, &err) == AHASD_OK);
    for (task = PLAT_DRAFT; task <= PLAT_SERIAL_DRAFT; task += PLAT_SERIAL_DRAFT - PLAT_DRAFT) {
        plat_cost(&p, task, 0, 600.0, &c1);
        tree_level_cost(&p, task, 1, 600.0, &cl);
        CHECK(c1.device == cl.device && c1.time_s == cl.time_s &&
              c1.energy_j == cl.energy_j && c1.memory_s == cl.memory_s);
        /* the single-position part pass agrees with the compiled pass */
        plat_pass_part(&p, 0, c1.device, 1, 600.0, (double)p.draft.layers, 1, &pp);
        CHECK_CLOSE(pp.time_s, c1.time_s, 1e-9, 0.0);
        CHECK_CLOSE(pp.energy_j, c1.energy_j, 1e-9, 0.0);
        prev = c1;
        for (n = 2; n <= AHASD_MAX_TREE_NODES; n *= 2) {
            tree_level_cost(&p, task, n, 600.0, &cl);
            CHECK(cl.time_s >= prev.time_s && cl.energy_j >= prev.energy_j);
            CHECK_CLOSE(cl.energy_j, cl.energy_by_cause_j[0] + cl.energy_by_cause_j[1] +
                        cl.energy_by_cause_j[2] + cl.energy_by_cause_j[3] +
                        cl.energy_by_cause_j[4], 1e-12, 0.0);
            prev = cl;
        }
    }
    /* memory-bound decoding: 16 positions cost far less than 16 passes */
    tree_level_cost(&p, PLAT_DRAFT, 16, 600.0, &cl);
    CHECK(cl.time_s < 2.0 * c1.time_s);
    /* verification over up to 1024 + 1 positions: finite, increasing */
    plat_cost(&p, PLAT_VERIFY, 0, 600.0, &prev);
    for (n = 1, bad = 0; n <= AHASD_MAX_TREE_NODES; n++) {
        plat_cost(&p, PLAT_VERIFY, n, 600.0, &cl);
        bad += !(isfinite(cl.time_s) && cl.time_s >= prev.time_s && isfinite(cl.energy_j));
        prev = cl;
    }
    CHECK(bad == 0);
    CHECK(prev.time_s > c1.time_s);
    /* explicit costs: a level is one pass */
    cfg_explicit(&cfg, AHASD_SCHED_SYNC);
    CHECK(plat_init(&p, &cfg, &err) == AHASD_OK);
    tree_level_cost(&p, PLAT_DRAFT, 64, 0.0, &cl);
    CHECK_CLOSE(cl.time_s, 0.0137, 1e-15, 0.0);
    plat_cost(&p, PLAT_VERIFY, 1000, 0.0, &cl);
    CHECK_CLOSE(cl.time_s, 0.1 + 1000 * 0.0021, 1e-12, 0.0);
}

/* Schedules that refuse trees, by name. */
static void test_unsupported(void)
{
    ahasd_workspace *ws = ahasd_workspace_alloc();
    ahasd_config cfg;
    ahasd_result res;
    ahasd_sim_options opt;
    ahasd_error err;
    static const int b[] = {2, 2};
    static const int scheds[] = {AHASD_SCHED_ASYNC, AHASD_SCHED_ASYNC_EDC, AHASD_SCHED_AHASD,
                                 AHASD_SCHED_PARTITIONED};
    int s;

    for (s = 0; s < 4; s++) {
        cfg_hw(&cfg, scheds[s]);
        pol_tree(&cfg.policy, 2, b, 0.0);
        CHECK_ERR(ahasd_estimate(&cfg, ws, &res, &err), AHASD_ERR_UNSUPPORTED, "policy 'tree'");
        CHECK(strstr(err.msg, ahasd_schedule_name(scheds[s])) != NULL);
        memset(&opt, 0, sizeof opt);
        opt.n_runs = 1;
        CHECK_ERR(ahasd_simulate(&cfg, &opt, ws, &res, &err), AHASD_ERR_UNSUPPORTED,
                  "policy 'tree'");
    }
    /* autoregressive ignores the policy */
    cfg_hw(&cfg, AHASD_SCHED_AUTOREGRESSIVE);
    pol_tree(&cfg.policy, 2, b, 0.0);
    CHECK(ahasd_estimate(&cfg, ws, &res, &err) == AHASD_OK);
    ahasd_workspace_free(ws);
}

void test_tree(void)
{
    test_validate();
    test_identity();
    test_chain_reduces();
    test_schedule_chain_equal();
    test_sampler();
    test_sim_matches();
    test_costs();
    test_unsupported();
}
