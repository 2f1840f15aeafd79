/*
 * test_calibrate.c -- ahasd_calibrate (calibrate.c): recovery of known
 * parameters from points the model itself produced (exactly, and with
 * relative noise, where the standard errors must cover the truth), held-out
 * prediction, bounds honoured, no degrees of freedom, and every argument
 * error naming its field.
 */
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "ahasd.h"
#include "check.h"
#include "fixture.h"

#define NOBS 8

/* Observations: throughput and energy per token of autoregressive and
 * sync (k = 2, 4, 6) points of the AHASD platform (contention off, 256
 * tokens) generated at the true utilisations, times (1 + noise_i). */
static void make_obs(ahasd_workspace *ws, const double *truth, const int *pid, double noise,
                     ahasd_config *cfgs, int *outs, double *obs)
{
    static const int scheds[NOBS / 2] = {AHASD_SCHED_AUTOREGRESSIVE, AHASD_SCHED_SYNC,
                                         AHASD_SCHED_SYNC, AHASD_SCHED_SYNC};
    static const int ks[NOBS / 2] = {4, 2, 4, 6};
    ahasd_config c;
    ahasd_result res;
    ahasd_error err;
    int i, o, j;

    for (i = 0; i < NOBS / 2; i++)
        for (o = 0; o < 2; o++) {
            j = 2 * i + o;
            fixture_config_ahasd(&cfgs[j], scheds[i]);
            cfgs[j].hw.contention = 0.0;
            cfgs[j].policy.k = ks[i];
            cfgs[j].gen_len = 256;
            c = cfgs[j];
            CHECK(ahasd_param_set(&c, pid[0], truth[0], &err) == AHASD_OK);
            CHECK(ahasd_param_set(&c, pid[1], truth[1], &err) == AHASD_OK);
            CHECK(ahasd_estimate(&c, ws, &res, &err) == AHASD_OK);
            outs[j] = o ? AHASD_OUT_ENERGY_PER_TOKEN_J : AHASD_OUT_THROUGHPUT_TOK_S;
            obs[j] = res.out[outs[j]] * (1.0 + noise * sin(2.385 * (j + 1)));
        }
}

static void test_recover(void)
{
    ahasd_workspace *ws = ahasd_workspace_alloc();
    ahasd_config cfgs[NOBS];
    ahasd_fit_summary sum;
    ahasd_error err;
    int outs[NOBS], pid[2], rc;
    double obs[NOBS], truth[2] = {0.63, 0.77}, x[2], se[2];
    static const double lo[2] = {0.0, 0.0}, hi[2] = {1.0, 1.0};

    pid[0] = ahasd_param_find("npu.mem_bw_util");
    pid[1] = ahasd_param_find("pim.mem_bw_util");
    CHECK(pid[0] >= 0 && pid[1] >= 0);
    /* exact observations: the truth to 1e-6, chi2 ~ 0 */
    make_obs(ws, truth, pid, 0.0, cfgs, outs, obs);
    x[0] = 0.9;
    x[1] = 0.9;
    rc = ahasd_calibrate(cfgs, NOBS, outs, obs, 2, pid, x, lo, hi, se, &sum, ws, &err);
    if (rc != AHASD_OK)
        fprintf(stderr, "calibrate: %s\n", err.msg);
    CHECK(rc == AHASD_OK);
    CHECK_CLOSE(x[0], truth[0], 1e-6, 0.0);
    CHECK_CLOSE(x[1], truth[1], 1e-6, 0.0);
    CHECK(sum.chi2 < 1e-14);
    CHECK(sum.dof == NOBS - 2);
    CHECK(sum.n_iter >= 1);
    CHECK(se[0] >= 0.0 && se[0] < 1e-5 && se[1] >= 0.0 && se[1] < 1e-5);
    /* 1.5% Gaussian relative noise, 40 realisations: the standard errors
     * must cover the truth about as often as they claim (1.96 se: 95%
     * for a linear model; at least 80% asked of this nonlinear one) */
    {
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_taus2);
        int rep, nrep = check_quick ? 10 : 40, cover[2] = {0, 0}, ok = 0, j;
        double clean[NOBS];

        gsl_rng_set(rng, 2385);
        make_obs(ws, truth, pid, 0.0, cfgs, outs, clean);
        for (rep = 0; rep < nrep; rep++) {
            for (j = 0; j < NOBS; j++)
                obs[j] = clean[j] * (1.0 + gsl_ran_gaussian(rng, 0.015));
            x[0] = 0.5;
            x[1] = 0.95;
            rc = ahasd_calibrate(cfgs, NOBS, outs, obs, 2, pid, x, lo, hi, se, &sum, ws, &err);
            ok += rc == AHASD_OK && sum.converged == 1 && se[0] > 1e-4 && se[0] < 0.1 &&
                  se[1] > 1e-4 && se[1] < 0.3;
            cover[0] += fabs(x[0] - truth[0]) < 1.96 * se[0];
            cover[1] += fabs(x[1] - truth[1]) < 1.96 * se[1];
        }
        CHECK(ok == nrep);
        CHECK(cover[0] >= 0.8 * nrep);
        CHECK(cover[1] >= 0.8 * nrep);
        CHECK(sum.rms_rel_residual > 0.002 && sum.rms_rel_residual < 0.04);
        CHECK_CLOSE(sum.rms_rel_residual, sqrt(sum.chi2 / NOBS), 1e-12, 0.0);
        gsl_rng_free(rng);
    }
    /* bounds are honoured: truth outside (0.8, 1) -> the fit stays inside */
    {
        double lo2[2] = {0.8, 0.0}, hi2[2] = {1.0, 1.0};
        make_obs(ws, truth, pid, 0.0, cfgs, outs, obs);
        x[0] = 0.9;
        x[1] = 0.5;
        CHECK(ahasd_calibrate(cfgs, NOBS, outs, obs, 2, pid, x, lo2, hi2, se, &sum, ws, &err) ==
              AHASD_OK);
        CHECK(x[0] > 0.8 && x[0] < 0.8 + 1e-3);
        CHECK(sum.chi2 > 1e-6);
    }
    ahasd_workspace_free(ws);
}

/* Fit on some configurations, predict the others. */
static void test_holdout(void)
{
    ahasd_workspace *ws = ahasd_workspace_alloc();
    ahasd_config cfgs[NOBS], c;
    ahasd_fit_summary sum;
    ahasd_result res;
    ahasd_error err;
    int outs[NOBS], pid[2], i;
    double obs[NOBS], truth[2] = {0.55, 0.7}, x[2] = {0.9, 0.9}, se[2], worst = 0.0;
    static const double lo[2] = {0.0, 0.0}, hi[2] = {1.0, 1.0};

    pid[0] = ahasd_param_find("npu.mem_bw_util");
    pid[1] = ahasd_param_find("pim.mem_bw_util");
    make_obs(ws, truth, pid, 0.01, cfgs, outs, obs);
    /* fit on the first 6 (AR and sync k = 2, 4), predict sync k = 6 */
    CHECK(ahasd_calibrate(cfgs, 6, outs, obs, 2, pid, x, lo, hi, se, &sum, ws, &err) ==
          AHASD_OK);
    for (i = 6; i < NOBS; i++) {
        c = cfgs[i];
        CHECK(ahasd_param_set(&c, pid[0], x[0], &err) == AHASD_OK);
        CHECK(ahasd_param_set(&c, pid[1], x[1], &err) == AHASD_OK);
        CHECK(ahasd_estimate(&c, ws, &res, &err) == AHASD_OK);
        worst = fmax(worst, fabs(res.out[outs[i]] / obs[i] - 1.0));
    }
    CHECK(worst < 0.03);
    ahasd_workspace_free(ws);
}

static void test_errors(void)
{
    ahasd_workspace *ws = ahasd_workspace_alloc();
    ahasd_config cfgs[NOBS];
    ahasd_fit_summary sum;
    ahasd_error err;
    int outs[NOBS], pid[2], ipid[1], dup[2];
    double obs[NOBS], truth[2] = {0.6, 0.8}, x[2], se[2], bad;
    double lo[2] = {0.0, 0.0}, hi[2] = {1.0, 1.0};

    pid[0] = ahasd_param_find("npu.mem_bw_util");
    pid[1] = ahasd_param_find("pim.mem_bw_util");
    make_obs(ws, truth, pid, 0.0, cfgs, outs, obs);
    x[0] = x[1] = 0.9;
    CHECK_ERR(ahasd_calibrate(NULL, NOBS, outs, obs, 2, pid, x, lo, hi, se, &sum, ws, &err),
              AHASD_ERR_NULL, "configs");
    CHECK_ERR(ahasd_calibrate(cfgs, NOBS, outs, obs, 2, pid, x, lo, hi, se, &sum, NULL, &err),
              AHASD_ERR_NULL, "ws");
    CHECK_ERR(ahasd_calibrate(cfgs, 1, outs, obs, 2, pid, x, lo, hi, se, &sum, ws, &err),
              AHASD_ERR_BAD_PARAM, "n_obs");
    CHECK_ERR(ahasd_calibrate(cfgs, NOBS, outs, obs, 0, pid, x, lo, hi, se, &sum, ws, &err),
              AHASD_ERR_BAD_PARAM, "n_params");
    bad = obs[3];
    obs[3] = 0.0;
    CHECK_ERR(ahasd_calibrate(cfgs, NOBS, outs, obs, 2, pid, x, lo, hi, se, &sum, ws, &err),
              AHASD_ERR_BAD_PARAM, "observed[3]");
    obs[3] = NAN;
    CHECK_ERR(ahasd_calibrate(cfgs, NOBS, outs, obs, 2, pid, x, lo, hi, se, &sum, ws, &err),
              AHASD_ERR_BAD_PARAM, "observed[3]");
    obs[3] = bad;
    outs[2] = AHASD_N_OUT;
    CHECK_ERR(ahasd_calibrate(cfgs, NOBS, outs, obs, 2, pid, x, lo, hi, se, &sum, ws, &err),
              AHASD_ERR_BAD_PARAM, "out_ids[2]");
    outs[2] = AHASD_OUT_THROUGHPUT_TOK_S;
    ipid[0] = ahasd_param_find("k");
    CHECK_ERR(ahasd_calibrate(cfgs, NOBS, outs, obs, 1, ipid, x, lo, hi, se, &sum, ws, &err),
              AHASD_ERR_BAD_PARAM, "param_ids[0]");
    ipid[0] = 100000;
    CHECK_ERR(ahasd_calibrate(cfgs, NOBS, outs, obs, 1, ipid, x, lo, hi, se, &sum, ws, &err),
              AHASD_ERR_UNKNOWN, "param_ids[0]");
    dup[0] = dup[1] = pid[0];
    CHECK_ERR(ahasd_calibrate(cfgs, NOBS, outs, obs, 2, dup, x, lo, hi, se, &sum, ws, &err),
              AHASD_ERR_BAD_PARAM, "param_ids[1]");
    x[1] = 1.0;
    CHECK_ERR(ahasd_calibrate(cfgs, NOBS, outs, obs, 2, pid, x, lo, hi, se, &sum, ws, &err),
              AHASD_ERR_BAD_PARAM, "x[1]");
    x[1] = 0.9;
    lo[0] = 1.0;
    CHECK_ERR(ahasd_calibrate(cfgs, NOBS, outs, obs, 2, pid, x, lo, hi, se, &sum, ws, &err),
              AHASD_ERR_BAD_PARAM, "lo[0]");
    lo[0] = 0.0;
    /* a starting point the model refuses: named with the model's message */
    {
        double lo3[1] = {-1.0}, hi3[1] = {1.0}, x3[1] = {-0.5}, se3[1];
        CHECK_ERR(ahasd_calibrate(cfgs, NOBS, outs, obs, 1, pid, x3, lo3, hi3, se3, &sum, ws,
                                  &err), AHASD_ERR_BAD_PARAM, "starting point");
        CHECK(strstr(err.msg, "mem_bw_util") != NULL);
    }
    /* no degrees of freedom: standard errors NaN, fit still exact */
    {
        double x1[1] = {0.9}, se1[1], lo1[1] = {0.0}, hi1[1] = {1.0};
        int o1[1] = {AHASD_OUT_THROUGHPUT_TOK_S};
        CHECK(ahasd_calibrate(cfgs, 1, o1, obs, 1, pid, x1, lo1, hi1, se1, &sum, ws, &err) ==
              AHASD_OK);
        CHECK(isnan(se1[0]));
        CHECK(sum.dof == 0);
        CHECK_CLOSE(x1[0], truth[0], 1e-6, 0.0);
    }
    /* one-sided and unbounded reparametrisations */
    {
        double x1[1], se1[1], lo1[1], hi1[1];
        x1[0] = 0.3;
        lo1[0] = 0.0;
        hi1[0] = INFINITY;
        CHECK(ahasd_calibrate(cfgs, 2, outs, obs, 1, pid, x1, lo1, hi1, se1, &sum, ws, &err) ==
              AHASD_OK);
        CHECK_CLOSE(x1[0], truth[0], 1e-6, 0.0);
        x1[0] = 0.3;
        lo1[0] = -INFINITY;
        hi1[0] = 1.0;
        CHECK(ahasd_calibrate(cfgs, 2, outs, obs, 1, pid, x1, lo1, hi1, se1, &sum, ws, &err) ==
              AHASD_OK);
        CHECK_CLOSE(x1[0], truth[0], 1e-6, 0.0);
    }
    ahasd_workspace_free(ws);
}

void test_calibrate(void)
{
    test_recover();
    test_holdout();
    test_errors();
}
