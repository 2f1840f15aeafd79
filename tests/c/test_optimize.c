/*
 * test_optimize.c -- ahasd_optimize (optimize.c) against brute force on
 * configurations whose optimum is known: explicit task costs, serial and
 * sync schedules, i.i.d. acceptance.
 */
#include <string.h>

#include "ahasd.h"
#include "check.h"
#include "fixture.h"

/* A serial/sync design point with explicit costs: a target step costs T, a
 * draft token c T (Leviathan's setting); energies proportional. */
static void cost_cfg(ahasd_config *cfg, int sched, double T, double c, int k, double alpha)
{
    const ahasd_explicit_costs costs = {
        .draft_token_s = c * T, .verify_base_s = T, .verify_per_token_s = 0.013 * T,
        .preverify_token_s = 0.5 * T, .draft_token_j = 0.37 * c * T, .verify_base_j = 2.385 * T,
        .verify_per_token_j = 0.021 * T, .preverify_token_j = 0.4 * T,
        .idle_w = {[AHASD_DEV_NPU] = 0.5, [AHASD_DEV_PIM] = 0.1}};

    fixture_config_explicit(cfg, sched, &costs, k, alpha);
}

static double out_at(const ahasd_config *base, int pid, double v, int out, ahasd_workspace *ws)
{
    ahasd_config c = *base;
    ahasd_result res;
    ahasd_error err;

    if (ahasd_param_set(&c, pid, v, &err) != AHASD_OK ||
        ahasd_estimate(&c, ws, &res, &err) != AHASD_OK)
        return NAN;
    return res.out[out];
}

static void test_best_k(ahasd_workspace *ws)
{
    /* Serial decoding, alpha = 0.8, c = 0.1: throughput over k in [1, 16]
     * peaks inside (Leviathan's speed-up (1 - a^(k+1)) / ((1 - a)(k c + 1))
     * is largest at k = 4 or 5 here); the optimiser must agree with brute
     * force for throughput (max) and energy per token (min), with and
     * without a constraint. */
    ahasd_config cfg;
    ahasd_opt_summary sum;
    ahasd_error err;
    int pk = ahasd_param_find("k"), k, bk = 0, rc, cons = AHASD_OUT_LATENCY_PER_TOKEN_S;
    double lo = 1, hi = 16, x, best = -1.0, v, lat, clo = 0.0, chi;
    double alphas[] = {0.55, 0.8, 0.93};
    size_t a;

    for (a = 0; a < sizeof alphas / sizeof alphas[0]; a++) {
        cost_cfg(&cfg, AHASD_SCHED_SERIAL, 0.021, 0.1, 3, alphas[a]);
        best = -1.0;
        for (k = 1; k <= 16; k++) {
            v = out_at(&cfg, pk, k, AHASD_OUT_THROUGHPUT_TOK_S, ws);
            if (v > best) {
                best = v;
                bk = k;
            }
        }
        rc = ahasd_optimize(&cfg, 1, &pk, &lo, &hi, AHASD_OUT_THROUGHPUT_TOK_S, 1, 0, NULL, NULL,
                            NULL, 1000, &x, &sum, ws, &err);
        CHECK(rc == AHASD_OK);
        CHECK(x == bk);
        CHECK(bk > 1 && bk < 16);           /* an interior optimum: a real test */
        CHECK_CLOSE(sum.best_value, best, 1e-15, 0.0);
        CHECK_CLOSE(sum.start_value, out_at(&cfg, pk, 3, AHASD_OUT_THROUGHPUT_TOK_S, ws),
                    1e-15, 0.0);
        CHECK(sum.n_evals == 17);           /* the start, then k = 1..16 */
        CHECK(sum.converged == 1 && sum.feasible == 1);

        /* minimise energy per token */
        best = INFINITY;
        for (k = 1; k <= 16; k++) {
            v = out_at(&cfg, pk, k, AHASD_OUT_ENERGY_PER_TOKEN_J, ws);
            if (v < best) {
                best = v;
                bk = k;
            }
        }
        rc = ahasd_optimize(&cfg, 1, &pk, &lo, &hi, AHASD_OUT_ENERGY_PER_TOKEN_J, 0, 0, NULL,
                            NULL, NULL, 1000, &x, &sum, ws, &err);
        CHECK(rc == AHASD_OK && x == bk);
        CHECK_CLOSE(sum.best_value, best, 1e-15, 0.0);

        /* maximise throughput with the latency per token capped above the
         * optimum's: the brute-force feasible best */
        lat = out_at(&cfg, pk, 2, AHASD_OUT_LATENCY_PER_TOKEN_S, ws);
        chi = lat * 1.0001;
        best = -1.0;
        for (k = 1; k <= 16; k++) {
            v = out_at(&cfg, pk, k, AHASD_OUT_THROUGHPUT_TOK_S, ws);
            if (out_at(&cfg, pk, k, cons, ws) <= chi && v > best) {
                best = v;
                bk = k;
            }
        }
        rc = ahasd_optimize(&cfg, 1, &pk, &lo, &hi, AHASD_OUT_THROUGHPUT_TOK_S, 1, 1, &cons,
                            &clo, &chi, 1000, &x, &sum, ws, &err);
        CHECK(rc == AHASD_OK && x == bk && sum.feasible == 1);
        CHECK_CLOSE(sum.best_value, best, 1e-15, 0.0);
    }
}

static void test_budget_and_infeasible(ahasd_workspace *ws)
{
    ahasd_config cfg;
    ahasd_opt_summary sum;
    ahasd_error err;
    int pk = ahasd_param_find("k"), pa = ahasd_param_find("alpha"), rc;
    int cons = AHASD_OUT_THROUGHPUT_TOK_S, ids[2];
    double lo = 1, hi = 16, x, clo = 1e9, chi = INFINITY, v, best = -1.0;
    double los[2], his[2], xs[2];
    int k;

    cost_cfg(&cfg, AHASD_SCHED_SERIAL, 0.021, 0.1, 20, 0.8);   /* start outside [1, 16] */
    /* 5 evaluations: the start and k = 1..4; the start is not a candidate */
    rc = ahasd_optimize(&cfg, 1, &pk, &lo, &hi, AHASD_OUT_THROUGHPUT_TOK_S, 1, 0, NULL, NULL,
                        NULL, 5, &x, &sum, ws, &err);
    for (k = 1; k <= 4; k++)
        if ((v = out_at(&cfg, pk, k, AHASD_OUT_THROUGHPUT_TOK_S, ws)) > best)
            best = v;
    CHECK(rc == AHASD_OK && sum.n_evals == 5 && sum.converged == 0 && sum.feasible == 1);
    CHECK(x >= 1 && x <= 4);
    CHECK_CLOSE(sum.best_value, best, 1e-15, 0.0);

    /* nothing reaches 1e9 tokens/s: infeasible, NaN optimum, still OK */
    rc = ahasd_optimize(&cfg, 1, &pk, &lo, &hi, AHASD_OUT_ENERGY_PER_TOKEN_J, 0, 1, &cons, &clo,
                        &chi, 100, &x, &sum, ws, &err);
    CHECK(rc == AHASD_OK && sum.feasible == 0 && isnan(x) && isnan(sum.best_value));
    CHECK(isnan(sum.start_value) && sum.n_evals == 17);

    /* a budget smaller than a simplex: never more evaluations than allowed */
    ids[0] = pa;
    ids[1] = ahasd_param_find("costs.draft_token_s");
    los[0] = 0.3;
    his[0] = 0.97;
    los[1] = 0.0005;
    his[1] = 0.01;
    for (k = 1; k <= 12; k++) {
        rc = ahasd_optimize(&cfg, 2, ids, los, his, AHASD_OUT_THROUGHPUT_TOK_S, 1, 0, NULL, NULL,
                            NULL, k, xs, &sum, ws, &err);
        CHECK(rc == AHASD_OK && sum.n_evals <= k && sum.converged == 0);
    }
    /* failing points are infeasible, not errors: k beyond k_max fails */
    lo = 30;
    hi = 31;
    rc = ahasd_optimize(&cfg, 1, &pk, &lo, &hi, AHASD_OUT_THROUGHPUT_TOK_S, 1, 0, NULL, NULL,
                        NULL, 10, &x, &sum, ws, &err);
    CHECK(rc == AHASD_OK && sum.feasible == 0 && sum.n_evals == 3);
}

static void test_reals(ahasd_workspace *ws)
{
    /* One real, constrained: energy per token falls and throughput rises
     * with alpha, so minimising energy subject to throughput <= its value at
     * alpha = 0.7 has its optimum at alpha = 0.7 exactly (the constraint's
     * edge, inside Brent's bracket). */
    ahasd_config cfg;
    ahasd_opt_summary sum;
    ahasd_error err;
    int pa = ahasd_param_find("alpha"), pd = ahasd_param_find("costs.draft_token_s");
    int pk = ahasd_param_find("k"), cons = AHASD_OUT_THROUGHPUT_TOK_S, ids[3], rc, k, bk = 0;
    double lo = 0.3, hi = 0.99, x, clo = -INFINITY, chi, los[3], his[3], xs[3], v, best;
    int i, j;

    cost_cfg(&cfg, AHASD_SCHED_SYNC, 0.021, 0.1, 4, 0.5);
    chi = out_at(&cfg, pa, 0.7, AHASD_OUT_THROUGHPUT_TOK_S, ws);
    rc = ahasd_optimize(&cfg, 1, &pa, &lo, &hi, AHASD_OUT_ENERGY_PER_TOKEN_J, 0, 1, &cons, &clo,
                        &chi, 500, &x, &sum, ws, &err);
    CHECK(rc == AHASD_OK && sum.feasible == 1 && sum.converged == 1);
    CHECK_CLOSE(x, 0.7, 0.0, 2e-6);
    CHECK(x <= 0.7 + 1e-15);
    CHECK_CLOSE(sum.best_value, out_at(&cfg, pa, x, AHASD_OUT_ENERGY_PER_TOKEN_J, ws), 1e-15, 0.0);
    CHECK(sum.n_evals < 100);

    /* One real, monotone: the optimum is the bound itself. */
    rc = ahasd_optimize(&cfg, 1, &pa, &lo, &hi, AHASD_OUT_THROUGHPUT_TOK_S, 1, 0, NULL, NULL,
                        NULL, 500, &x, &sum, ws, &err);
    CHECK(rc == AHASD_OK && x == hi && sum.converged == 1);

    /* Two reals (Nelder-Mead in the sin reparametrisation): throughput is
     * largest at the corner (alpha high, draft cheap); the bounds are
     * reached, never crossed. */
    ids[0] = pa;
    ids[1] = pd;
    los[0] = 0.3;
    his[0] = 0.97;
    los[1] = 0.0005;
    his[1] = 0.01;
    rc = ahasd_optimize(&cfg, 2, ids, los, his, AHASD_OUT_THROUGHPUT_TOK_S, 1, 0, NULL, NULL,
                        NULL, 2000, xs, &sum, ws, &err);
    CHECK(rc == AHASD_OK && sum.feasible == 1 && sum.converged == 1);
    CHECK(xs[0] <= his[0] && xs[0] >= los[0] && xs[1] >= los[1] && xs[1] <= his[1]);
    CHECK_CLOSE(xs[0], 0.97, 1e-6, 0.0);
    CHECK_CLOSE(xs[1], 0.0005, 1e-5, 0.0);

    /* Two reals with a constraint: at least as good as a 41 x 41 grid's
     * best feasible point (within 0.1%), and feasible. */
    chi = 0.8 * out_at(&cfg, pa, 0.97, AHASD_OUT_THROUGHPUT_TOK_S, ws);
    cons = AHASD_OUT_THROUGHPUT_TOK_S;
    rc = ahasd_optimize(&cfg, 2, ids, los, his, AHASD_OUT_ENERGY_PER_TOKEN_J, 0, 1, &cons, &clo,
                        &chi, 3000, xs, &sum, ws, &err);
    CHECK(rc == AHASD_OK && sum.feasible == 1);
    best = INFINITY;
    for (i = 0; i <= 40; i++)
        for (j = 0; j <= 40; j++) {
            ahasd_config c = cfg;
            ahasd_result res;
            if (ahasd_param_set(&c, pa, los[0] + (his[0] - los[0]) * i / 40.0, &err) ||
                ahasd_param_set(&c, pd, los[1] + (his[1] - los[1]) * j / 40.0, &err) ||
                ahasd_estimate(&c, ws, &res, &err))
                continue;
            if (res.out[AHASD_OUT_THROUGHPUT_TOK_S] <= chi &&
                res.out[AHASD_OUT_ENERGY_PER_TOKEN_J] < best)
                best = res.out[AHASD_OUT_ENERGY_PER_TOKEN_J];
        }
    CHECK(sum.best_value <= best * (1.0 + 1e-3));
    {
        ahasd_config c = cfg;
        ahasd_result res;
        CHECK(ahasd_param_set(&c, pa, xs[0], &err) == AHASD_OK);
        CHECK(ahasd_param_set(&c, pd, xs[1], &err) == AHASD_OK);
        CHECK(ahasd_estimate(&c, ws, &res, &err) == AHASD_OK);
        CHECK(res.out[AHASD_OUT_THROUGHPUT_TOK_S] <= chi);
        CHECK_CLOSE(res.out[AHASD_OUT_ENERGY_PER_TOKEN_J], sum.best_value, 1e-15, 0.0);
    }

    /* Integer and real together: k enumerated, alpha searched per k; the
     * best throughput is at alpha's upper bound for every k, so brute force
     * over k at that alpha is the answer. */
    ids[0] = pk;
    ids[1] = pa;
    los[0] = 1;
    his[0] = 12;
    los[1] = 0.3;
    his[1] = 0.9;
    rc = ahasd_optimize(&cfg, 2, ids, los, his, AHASD_OUT_THROUGHPUT_TOK_S, 1, 0, NULL, NULL,
                        NULL, 5000, xs, &sum, ws, &err);
    best = -1.0;
    for (k = 1; k <= 12; k++) {
        ahasd_config c = cfg;
        c.policy.k = k;
        if ((v = out_at(&c, pa, 0.9, AHASD_OUT_THROUGHPUT_TOK_S, ws)) > best) {
            best = v;
            bk = k;
        }
    }
    CHECK(rc == AHASD_OK && sum.converged == 1 && xs[0] == bk && xs[1] == 0.9);
    CHECK_CLOSE(sum.best_value, best, 1e-15, 0.0);
    (void)xs[2];
    (void)los[2];
    (void)his[2];
}

static void test_arguments(ahasd_workspace *ws)
{
    ahasd_config cfg;
    ahasd_opt_summary sum;
    ahasd_error err;
    int pk = ahasd_param_find("k"), ids[2], cons = 0;
    double lo = 1, hi = 8, x[2], los[2] = {1, 1e9}, his[2] = {8, 2e9}, clo = 1.0, chi = 0.5;
    double nan = NAN;

    cost_cfg(&cfg, AHASD_SCHED_SERIAL, 0.021, 0.1, 4, 0.8);
    CHECK_ERR(ahasd_optimize(NULL, 1, &pk, &lo, &hi, 0, 1, 0, NULL, NULL, NULL, 10, x, &sum, ws,
                             &err), AHASD_ERR_NULL, "NULL");
    CHECK_ERR(ahasd_optimize(&cfg, 1, &pk, &lo, &hi, 0, 1, 0, NULL, NULL, NULL, 10, x, &sum,
                             NULL, &err), AHASD_ERR_NULL, "ws");
    CHECK_ERR(ahasd_optimize(&cfg, 1, &pk, &lo, &hi, 0, 1, 1, NULL, NULL, NULL, 10, x, &sum, ws,
                             &err), AHASD_ERR_NULL, "n_cons");
    CHECK_ERR(ahasd_optimize(&cfg, 0, &pk, &lo, &hi, 0, 1, 0, NULL, NULL, NULL, 10, x, &sum, ws,
                             &err), AHASD_ERR_BAD_PARAM, "n_params = 0");
    CHECK_ERR(ahasd_optimize(&cfg, 17, &pk, &lo, &hi, 0, 1, 0, NULL, NULL, NULL, 10, x, &sum, ws,
                             &err), AHASD_ERR_BAD_PARAM, "[1, 16]");
    ids[0] = 99999;
    CHECK_ERR(ahasd_optimize(&cfg, 1, ids, &lo, &hi, 0, 1, 0, NULL, NULL, NULL, 10, x, &sum, ws,
                             &err), AHASD_ERR_UNKNOWN, "param_ids[0] = 99999");
    CHECK_ERR(ahasd_optimize(&cfg, 1, &pk, &hi, &lo, 0, 1, 0, NULL, NULL, NULL, 10, x, &sum, ws,
                             &err), AHASD_ERR_BAD_PARAM, "bounds of k");
    los[0] = 1.5;
    CHECK_ERR(ahasd_optimize(&cfg, 1, &pk, los, his, 0, 1, 0, NULL, NULL, NULL, 10, x, &sum, ws,
                             &err), AHASD_ERR_BAD_PARAM, "integer parameter k");
    CHECK_ERR(ahasd_optimize(&cfg, 1, &pk, &nan, &hi, 0, 1, 0, NULL, NULL, NULL, 10, x, &sum, ws,
                             &err), AHASD_ERR_BAD_PARAM, "finite");
    ids[0] = pk;
    ids[1] = pk;
    los[0] = 1;
    los[1] = 1;
    his[1] = 8;
    CHECK_ERR(ahasd_optimize(&cfg, 2, ids, los, his, 0, 1, 0, NULL, NULL, NULL, 10, x, &sum, ws,
                             &err), AHASD_ERR_BAD_PARAM, "same field");
    ids[0] = ahasd_param_find("pim.internal_bw");
    ids[1] = ahasd_param_find("pim.mem_bw_bytes_per_s");
    los[0] = 1e9;
    his[0] = 2e9;
    los[1] = 1e9;
    his[1] = 2e9;
    CHECK_ERR(ahasd_optimize(&cfg, 2, ids, los, his, 0, 1, 0, NULL, NULL, NULL, 10, x, &sum, ws,
                             &err), AHASD_ERR_BAD_PARAM, "pim.mem_bw_bytes_per_s");
    CHECK_ERR(ahasd_optimize(&cfg, 1, &pk, &lo, &hi, AHASD_N_OUT, 1, 0, NULL, NULL, NULL, 10, x,
                             &sum, ws, &err), AHASD_ERR_UNKNOWN, "out_id");
    CHECK_ERR(ahasd_optimize(&cfg, 1, &pk, &lo, &hi, 0, 2, 0, NULL, NULL, NULL, 10, x, &sum, ws,
                             &err), AHASD_ERR_BAD_PARAM, "maximize = 2");
    CHECK_ERR(ahasd_optimize(&cfg, 1, &pk, &lo, &hi, 0, 1, 1, &cons, &clo, &chi, 10, x, &sum, ws,
                             &err), AHASD_ERR_BAD_PARAM, "throughput_tok_s");
    CHECK_ERR(ahasd_optimize(&cfg, 1, &pk, &lo, &hi, 0, 1, 1, &cons, &nan, &chi, 10, x, &sum, ws,
                             &err), AHASD_ERR_BAD_PARAM, "NaN");
    cons = -1;
    CHECK_ERR(ahasd_optimize(&cfg, 1, &pk, &lo, &hi, 0, 1, 1, &cons, &clo, &chi, 10, x, &sum, ws,
                             &err), AHASD_ERR_UNKNOWN, "cons_ids[0] = -1");
    CHECK_ERR(ahasd_optimize(&cfg, 1, &pk, &lo, &hi, 0, 1, 0, NULL, NULL, NULL, 0, x, &sum, ws,
                             &err), AHASD_ERR_BAD_PARAM, "max_evals = 0");
    CHECK(sum.n_evals == 0 && isnan(sum.best_value));
}

void test_optimize(void)
{
    ahasd_workspace *ws = ahasd_workspace_alloc();

    CHECK(ws != NULL);
    test_best_k(ws);
    test_budget_and_infeasible(ws);
    test_reals(ws);
    test_arguments(ws);
    ahasd_workspace_free(ws);
}
