/*
 * test_schedule.c -- closed forms (schedule.c) and the async chain
 * (chain.c) against closed forms from the literature and against each other.
 */
#include <string.h>

#include "ahasd.h"
#include "check.h"
#include "fixture.h"

/* Explicit costs: a target step costs T whatever k, a draft token c T. */
static void explicit_cfg(ahasd_config *cfg, int sched, double T, double c, int k, double alpha)
{
    const ahasd_explicit_costs costs = {
        .draft_token_s = c * T, .verify_base_s = T, .preverify_token_s = 0.5 * T,
        .draft_token_j = 0.3 * c * T, .verify_base_j = 2.0 * T, .preverify_token_j = 0.4 * T,
        .idle_w = {[AHASD_DEV_NPU] = 0.5, [AHASD_DEV_PIM] = 0.1}};

    fixture_config_explicit(cfg, sched, &costs, k, alpha);
}

static double run(const ahasd_config *cfg, ahasd_workspace *ws, ahasd_result *res)
{
    ahasd_error err;
    int rc = ahasd_estimate(cfg, ws, res, &err);
    if (rc != AHASD_OK)
        fprintf(stderr, "estimate failed: %s\n", err.msg);
    CHECK(rc == AHASD_OK);
    return res->out[AHASD_OUT_THROUGHPUT_TOK_S];
}

static void test_leviathan(ahasd_workspace *ws)
{
    /* Leviathan et al.: E[tokens per round] = (1 - a^(k+1)) / (1 - a);
     * speed-up (1 - a^(k+1)) / ((1 - a)(k c + 1)); a = 0.8, k = 4, c = 0.1
     * gives 2.4011. */
    static const double alphas[] = {0.3, 0.6, 0.8, 0.95};
    static const int ks[] = {1, 2, 4, 7};
    static const double cs[] = {0.05, 0.1, 0.3};
    ahasd_config cfg;
    ahasd_result res;
    size_t i, j, l;
    double ar, sp, a, want_tpr, want_sp;
    int k;

    explicit_cfg(&cfg, AHASD_SCHED_SERIAL, 0.02, 0.1, 4, 0.8);
    sp = run(&cfg, ws, &res);
    explicit_cfg(&cfg, AHASD_SCHED_AUTOREGRESSIVE, 0.02, 0.1, 4, 0.8);
    ar = run(&cfg, ws, &res);
    CHECK_CLOSE(ar, 50.0, 1e-12, 0.0);
    CHECK_CLOSE(sp / ar, 2.4011428571428573, 1e-12, 0.0);
    for (i = 0; i < sizeof alphas / sizeof alphas[0]; i++)
        for (j = 0; j < sizeof ks / sizeof ks[0]; j++)
            for (l = 0; l < sizeof cs / sizeof cs[0]; l++) {
                a = alphas[i];
                k = ks[j];
                want_tpr = (1.0 - pow(a, k + 1)) / (1.0 - a);
                want_sp = want_tpr / (k * cs[l] + 1.0);
                explicit_cfg(&cfg, AHASD_SCHED_SERIAL, 0.013, cs[l], k, a);
                sp = run(&cfg, ws, &res);
                CHECK_CLOSE(res.out[AHASD_OUT_TOKENS_PER_ROUND], want_tpr, 1e-12, 0.0);
                CHECK_CLOSE(sp * 0.013, want_sp, 1e-12, 0.0);
                CHECK_CLOSE(res.out[AHASD_OUT_ACCEPTANCE_RATE] + res.out[AHASD_OUT_WASTE_FRAC],
                            1.0, 1e-12, 0.0);
            }
}

static void test_sync_and_l1(ahasd_workspace *ws)
{
    /* sync = serial when the handoff is free; async with L_max = 1 equals
     * sync for every policy, including adaptive ones on a Markov profile;
     * async-edc with L_max = 1 too (a stop changes nothing when the PIM is
     * blocked anyway). */
    ahasd_config cfg, c2;
    ahasd_result r1, r2;
    int pol, o;
    double q[2][2] = {{0.9, 0.1}, {0.3, 0.7}};

    explicit_cfg(&cfg, AHASD_SCHED_SYNC, 0.02, 0.2, 5, 0.7);
    run(&cfg, ws, &r1);
    c2 = cfg;
    c2.schedule = AHASD_SCHED_SERIAL;
    run(&c2, ws, &r2);
    CHECK_CLOSE(r1.out[AHASD_OUT_THROUGHPUT_TOK_S], r2.out[AHASD_OUT_THROUGHPUT_TOK_S], 1e-12, 0.0);

    for (pol = 0; pol < 4; pol++) {
        explicit_cfg(&cfg, AHASD_SCHED_SYNC, 0.02, 0.15, 4, 0.7);
        cfg.costs.sync_s = 0.0013;
        cfg.costs.rollback_s = 0.0007;
        cfg.costs.verify_per_token_s = 0.001;
        cfg.profile.buckets = 2;
        cfg.profile.h_max = 4.0;
        memcpy(cfg.profile.q, q[0], 2 * sizeof(double));
        memcpy(cfg.profile.q + AHASD_MAX_BUCKETS, q[1], 2 * sizeof(double));
        cfg.profile.accept[0] = 0.9;
        cfg.profile.accept[1] = 0.35;
        cfg.policy.kind = pol;
        cfg.policy.k_max = 8;
        cfg.policy.svip_h = 0.45;
        cfg.policy.adaedl_lambda = 0.3;
        run(&cfg, ws, &r1);
        c2 = cfg;
        c2.schedule = AHASD_SCHED_ASYNC;
        c2.l_max = 1;
        run(&c2, ws, &r2);
        for (o = 0; o < AHASD_N_OUT; o++) {
            if (o >= AHASD_OUT_GAP_P50_S)
                continue;
            CHECK_CLOSE(r2.out[o], r1.out[o], 1e-9, 1e-12);
        }
        c2.schedule = AHASD_SCHED_ASYNC_EDC;
        run(&c2, ws, &r2);
        for (o = 0; o <= AHASD_OUT_TOKENS_PER_ROUND; o++)
            CHECK_CLOSE(r2.out[o], r1.out[o], 1e-9, 1e-12);
        CHECK(r2.out[AHASD_OUT_SUPPRESSION_RATE] >= 0.0 && r2.out[AHASD_OUT_SUPPRESSION_RATE] <= 1.0);
        /* i.i.d.: the chain itself is exact at L_max = 1 */
        explicit_cfg(&c2, AHASD_SCHED_SYNC, 0.02, 0.15, 4, 0.7);
        c2.costs.sync_s = 0.0013;
        c2.costs.rollback_s = 0.0007;
        c2.policy.kind = pol;
        c2.policy.k_max = 8;
        run(&c2, ws, &r1);
        c2.schedule = AHASD_SCHED_ASYNC_EDC;
        c2.l_max = 1;
        run(&c2, ws, &r2);
        for (o = 0; o <= AHASD_OUT_TOKENS_PER_ROUND; o++)
            CHECK_CLOSE(r2.out[o], r1.out[o], 1e-9, 1e-12);
    }
}

static void test_async_bounds(ahasd_workspace *ws)
{
    /* Throughput never exceeds the verification-bound rate: at most k + 1
     * tokens per verification of length sync + V(k); waste grows with
     * L_max for i.i.d. acceptance; busy fractions in [0, 1]. */
    ahasd_config cfg;
    ahasd_result res;
    int L, sched;
    double prev_waste = -1.0, bound;

    for (sched = AHASD_SCHED_ASYNC; sched <= AHASD_SCHED_AHASD; sched++)
        for (L = 1; L <= 6; L++) {
            explicit_cfg(&cfg, sched, 0.25, 0.11, 4, 0.8);
            cfg.costs.verify_per_token_s = 0.002;
            cfg.costs.sync_s = 1e-4;
            cfg.l_max = L;
            run(&cfg, ws, &res);
            bound = 5.0 / (1e-4 + 0.25 + 4 * 0.002);
            CHECK(res.out[AHASD_OUT_THROUGHPUT_TOK_S] <= bound * (1.0 + 1e-12));
            CHECK(res.out[AHASD_OUT_NPU_BUSY_FRAC] >= 0.0 && res.out[AHASD_OUT_NPU_BUSY_FRAC] <= 1.0);
            CHECK(res.out[AHASD_OUT_PIM_BUSY_FRAC] >= 0.0 && res.out[AHASD_OUT_PIM_BUSY_FRAC] <= 1.0);
            CHECK_CLOSE(res.out[AHASD_OUT_ACCEPTANCE_RATE] + res.out[AHASD_OUT_WASTE_FRAC], 1.0,
                        1e-9, 0.0);
            if (sched == AHASD_SCHED_ASYNC) {
                CHECK(res.out[AHASD_OUT_WASTE_FRAC] >= prev_waste - 1e-9);
                prev_waste = res.out[AHASD_OUT_WASTE_FRAC];
            }
        }
}

void test_schedule(void)
{
    ahasd_workspace *ws = ahasd_workspace_alloc();

    CHECK(ws != NULL);
    test_leviathan(ws);
    test_sync_and_l1(ws);
    test_async_bounds(ws);
    ahasd_workspace_free(ws);
}
