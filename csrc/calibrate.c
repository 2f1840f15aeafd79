/*
 * calibrate.c -- fitting model parameters to observed points
 * (ahasd_calibrate): GSL's trust-region nonlinear least squares on relative
 * residuals, with bounds kept by a smooth reparametrisation.
 *
 * Problem.  Observation i is output out_ids[i] of configuration configs[i]
 * with observed value y_i > 0.  Parameters theta_1..theta_p (real fields of
 * the configuration, by their registry ids) are set in every configuration
 * and each point is evaluated by ahasd_estimate.  The residuals are relative,
 *   r_i(theta) = m_i(theta) / y_i - 1,
 * so throughputs of 3 tok/s and energies of 0.2 J weigh alike, and
 * chi2 = sum_i r_i^2 is minimised.
 *
 * Bounds.  Each parameter lives in the open interval (lo_j, hi_j) (either end
 * may be infinite) through an unconstrained u_j:
 *   both finite:  theta = lo + (hi - lo) s(u),  s(u) = 1 / (1 + e^-u)
 *   lo only:      theta = lo + e^u
 *   hi only:      theta = hi - e^u
 *   neither:      theta = u
 * (the logistic and exponential maps are the usual ones for box constraints;
 * see e.g. the MINUIT manual, James and Roos, sec. "parameter limits"; the
 * logistic form is used here because it is smooth everywhere).  A map that
 * rounds onto an end in floating point is nudged one ulp inside.
 *
 * Solver.  gsl_multifit_nlinear with the trust-region method and
 * Levenberg-Marquardt steps (GSL manual, "Nonlinear Least-Squares Fitting"),
 * the Jacobian by central finite differences in u (step h_df = 1e-5
 * relative: the model is piecewise smooth, e.g. the Markov chains
 * discretise progress, so GSL's default sqrt(eps) step would see the kinks),
 * at most CAL_MAXITER iterations, xtol = gtol = 1e-8, ftol = 1e-10.
 * A trial point where the model fails (a configuration it cannot run)
 * counts as a residual of CAL_PENALTY on every observation, so the trust
 * region rejects the step and shrinks; the starting point and the optimum
 * must evaluate.  GSL_EMAXITER and GSL_ENOPROG (no further decrease
 * possible) end the fit with converged = 0 but a result; every other
 * status is an error.
 *
 * Standard errors.  With J_u the Jacobian of r in u at the optimum,
 * cov_u = (J_u^T J_u)^-1 (gsl_multifit_nlinear_covar, epsrel 1e-12 drops
 * directions the data do not determine: their variance is reported as
 * infinite), scaled by the residual variance s^2 = chi2 / (n - p), and
 * mapped to theta by the delta method:
 *   se(theta_j) = |d theta_j / d u_j| sqrt(s^2 cov_u[j][j]).
 * NaN when n = p (no degrees of freedom).  Relative residuals make these
 * the standard errors of a fit whose observations have equal relative
 * scatter (Bates and Watts, Nonlinear Regression Analysis, 1988, sec. 2.3).
 *
 * Memory: the GSL solver's workspace and four small arrays are allocated
 * per call and freed on every path (like the gsl_rng of
 * ahasd_draft_sample); the configurations are copied one at a time on the
 * stack; ws serves the estimates' caches.
 */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>

#include "internal.h"

#define CAL_MAXITER 200
#define CAL_XTOL 1e-8
#define CAL_GTOL 1e-8
#define CAL_FTOL 1e-10
#define CAL_H_DF 1e-5
#define CAL_PENALTY 1e3
#define CAL_MAX_OBS 1000000

enum { MAP_BOTH = 0, MAP_LO = 1, MAP_HI = 2, MAP_NONE = 3 };

typedef struct {
    const ahasd_config *configs;
    const int *out_ids;
    const double *observed;
    const int *param_ids;
    const double *lo, *hi;
    int *map;
    size_t n, p;
    ahasd_workspace *ws;
    double *theta;              /* scratch: the current parameter values     */
    double *r;                  /* scratch: residuals of the callback        */
    int strict;                 /* 1: a model failure is an error (not a penalty) */
    int failed;                 /* a strict evaluation failed: err holds why */
    ahasd_error err;
} cal_ctx;

/* theta from u for parameter j (nudged inside (lo, hi)). */
static double to_theta(const cal_ctx *c, size_t j, double u)
{
    double lo = c->lo[j], hi = c->hi[j], t;

    switch (c->map[j]) {
    case MAP_BOTH:
        t = lo + (hi - lo) / (1.0 + exp(-u));
        break;
    case MAP_LO:
        t = lo + exp(u);
        break;
    case MAP_HI:
        t = hi - exp(u);
        break;
    default:
        return u;
    }
    if (!(t > lo))
        t = nextafter(lo, INFINITY);
    if (!(t < hi))
        t = nextafter(hi, -INFINITY);
    return t;
}

/* u from theta (theta strictly inside (lo, hi)). */
static double to_u(const cal_ctx *c, size_t j, double t)
{
    double lo = c->lo[j], hi = c->hi[j];

    switch (c->map[j]) {
    case MAP_BOTH:
        return log((t - lo) / (hi - t));
    case MAP_LO:
        return log(t - lo);
    case MAP_HI:
        return log(hi - t);
    default:
        return t;
    }
}

/* d theta / d u at u. */
static double dtheta_du(const cal_ctx *c, size_t j, double u)
{
    double s;

    switch (c->map[j]) {
    case MAP_BOTH:
        s = 1.0 / (1.0 + exp(-u));
        return (c->hi[j] - c->lo[j]) * s * (1.0 - s);
    case MAP_LO:
    case MAP_HI:
        return exp(u);
    default:
        return 1.0;
    }
}

/* r_i = m_i(theta) / y_i - 1 for every observation at theta (already in
 * c->theta).  Returns AHASD_OK, or the first failure's code with c->err set. */
static int eval_residuals(cal_ctx *c, double *r)
{
    int ret = AHASD_OK;
    size_t i, j;
    ahasd_config cfg;
    ahasd_result res;

    for (i = 0; i < c->n; i++) {
        cfg = c->configs[i];
        for (j = 0; j < c->p; j++)
            if ((ret = ahasd_param_set(&cfg, c->param_ids[j], c->theta[j], &c->err)))
                goto out;
        if ((ret = ahasd_estimate(&cfg, c->ws, &res, &c->err)))
            goto out;
        if (!isfinite(res.out[c->out_ids[i]])) {
            ret = err_set(&c->err, AHASD_ERR_NUMERIC, "output %s of observation %zu is not "
                          "finite (%g)", ahasd_output_name(c->out_ids[i]), i,
                          res.out[c->out_ids[i]]);
            goto out;
        }
        r[i] = res.out[c->out_ids[i]] / c->observed[i] - 1.0;
    }
out:
    return ret;
}

/* GSL callback: f = r(theta(u)). */
static int cal_f(const gsl_vector *u, void *params, gsl_vector *f)
{
    cal_ctx *c = (cal_ctx *)params;
    size_t i, j;
    int rc;

    if (f->size != c->n || u->size != c->p) {   /* never: GSL sizes them so */
        c->failed = 1;
        err_set(&c->err, AHASD_ERR_GSL, "GSL passed vectors of %zu and %zu elements for %zu "
                "residuals and %zu parameters", f->size, u->size, c->n, c->p);
        return GSL_EBADFUNC;
    }
    for (j = 0; j < c->p; j++)
        c->theta[j] = to_theta(c, j, gsl_vector_get(u, j));
    rc = eval_residuals(c, c->r);
    if (rc != AHASD_OK) {
        if (c->strict) {
            c->failed = 1;
            return GSL_EBADFUNC;
        }
        for (i = 0; i < c->n; i++)
            c->r[i] = CAL_PENALTY;
    }
    for (i = 0; i < c->n; i++)       /* f may be strided (finite differences) */
        gsl_vector_set(f, i, c->r[i]);
    return GSL_SUCCESS;
}

/* Validate the arguments, naming the offending field. */
static int cal_validate(const ahasd_config *configs, size_t n_obs, const int *out_ids,
                        const double *observed, size_t n_params, const int *param_ids,
                        const double *x, const double *lo, const double *hi,
                        ahasd_error *err)
{
    int ret = AHASD_OK, np = ahasd_param_count();
    size_t i, j;
    char name[48];

    if (configs == NULL || out_ids == NULL || observed == NULL || param_ids == NULL ||
        x == NULL || lo == NULL || hi == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "ahasd_calibrate: configs, out_ids, observed, "
                      "param_ids, x, lo and hi must not be NULL");
        goto out;
    }
    if (n_params < 1 || n_params > 64) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM, "n_params = %zu is not allowed: must be in "
                      "[1, 64]", n_params);
        goto out;
    }
    if (n_obs < n_params || n_obs > CAL_MAX_OBS) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM, "n_obs = %zu is not allowed: must be at least "
                      "n_params = %zu (and at most %d)", n_obs, n_params, CAL_MAX_OBS);
        goto out;
    }
    for (i = 0; i < n_obs; i++) {
        if (out_ids[i] < 0 || out_ids[i] >= AHASD_N_OUT) {
            snprintf(name, sizeof name, "out_ids[%zu]", i);
            ret = err_check_int(err, "", name, out_ids[i], 0, AHASD_N_OUT - 1);
            goto out;
        }
        if (!(isfinite(observed[i]) && observed[i] > 0.0)) {
            snprintf(name, sizeof name, "observed[%zu]", i);
            ret = err_check_real(err, "", name, observed[i], 0.0, INFINITY, CHK_LO_OPEN);
            goto out;
        }
    }
    for (j = 0; j < n_params; j++) {
        snprintf(name, sizeof name, "param_ids[%zu]", j);
        if (param_ids[j] < 0 || param_ids[j] >= np) {
            ret = err_set(err, AHASD_ERR_UNKNOWN, "%s = %d is not a parameter id: must be in "
                          "[0, %d] (see ahasd_param_find)", name, param_ids[j], np - 1);
            goto out;
        }
        if (ahasd_param_is_int(param_ids[j]) != 0) {
            ret = err_set(err, AHASD_ERR_BAD_PARAM, "%s = %d (%s) is an integer parameter: "
                          "calibration fits real parameters only", name, param_ids[j],
                          ahasd_param_name(param_ids[j]));
            goto out;
        }
        for (i = 0; i < j; i++)
            if (param_ids[i] == param_ids[j]) {
                ret = err_set(err, AHASD_ERR_BAD_PARAM, "%s = %d (%s) repeats param_ids[%zu]: "
                              "each parameter may be fitted once", name, param_ids[j],
                              ahasd_param_name(param_ids[j]), i);
                goto out;
            }
        if (isnan(lo[j]) || isnan(hi[j]) || !(lo[j] < hi[j]) || lo[j] == INFINITY ||
            hi[j] == -INFINITY) {
            ret = err_set(err, AHASD_ERR_BAD_PARAM, "bounds of %s are (lo[%zu], hi[%zu]) = "
                          "(%g, %g): need lo < hi (either may be infinite)",
                          ahasd_param_name(param_ids[j]), j, j, lo[j], hi[j]);
            goto out;
        }
        if (!(isfinite(x[j]) && x[j] > lo[j] && x[j] < hi[j])) {
            snprintf(name, sizeof name, "x[%zu]", j);
            ret = err_set(err, AHASD_ERR_BAD_PARAM, "%s = %g (start of %s) is not allowed: "
                          "must be finite and strictly inside (%g, %g)", name, x[j],
                          ahasd_param_name(param_ids[j]), lo[j], hi[j]);
            goto out;
        }
    }
out:
    return ret;
}

/* Map a GSL status of the fit to an error (AHASD_OK when acceptable). */
static int gsl_fail(ahasd_error *err, int status, const char *what)
{
    return err_set(err, AHASD_ERR_GSL, "%s failed: %s (GSL status %d)", what,
                   gsl_strerror(status), status);
}

int ahasd_calibrate(const ahasd_config *configs, size_t n_obs, const int *out_ids,
                    const double *observed, size_t n_params, const int *param_ids,
                    double *x, const double *lo, const double *hi, double *stderr_out,
                    ahasd_fit_summary *sum, ahasd_workspace *ws, ahasd_error *err)
{
    int ret = AHASD_OK, status, info = 0;
    size_t i, j, n = n_obs, p = n_params;
    cal_ctx c;
    gsl_multifit_nlinear_fdf fdf;
    gsl_multifit_nlinear_parameters fp;
    gsl_multifit_nlinear_workspace *w = NULL;
    gsl_matrix *covar = NULL;
    gsl_vector *u0 = NULL;
    double *theta = NULL, *r = NULL, *rcb = NULL, chi2 = 0.0, s2, v, d;
    int *map = NULL;
    const gsl_vector *uf, *ff;
    const gsl_matrix *J;

    memset(&c, 0, sizeof c);
    if (sum != NULL)
        memset(sum, 0, sizeof *sum);
    if (ws == NULL || sum == NULL || stderr_out == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "ahasd_calibrate: stderr_out, sum and ws must not "
                      "be NULL");
        goto out;
    }
    if ((ret = cal_validate(configs, n_obs, out_ids, observed, n_params, param_ids, x, lo, hi,
                            err)))
        goto out;
    theta = malloc(p * sizeof theta[0]);
    r = malloc(n * sizeof r[0]);
    rcb = malloc(n * sizeof rcb[0]);
    map = malloc(p * sizeof map[0]);
    u0 = gsl_vector_alloc(p);
    covar = gsl_matrix_alloc(p, p);
    if (theta == NULL || r == NULL || rcb == NULL || map == NULL || u0 == NULL ||
        covar == NULL) {
        ret = err_set(err, AHASD_ERR_NOMEM, "cannot allocate calibration arrays (%zu "
                      "observations, %zu parameters)", n, p);
        goto out;
    }
    c.configs = configs;
    c.out_ids = out_ids;
    c.observed = observed;
    c.param_ids = param_ids;
    c.lo = lo;
    c.hi = hi;
    c.map = map;
    c.n = n;
    c.p = p;
    c.ws = ws;
    c.theta = theta;
    c.r = rcb;
    for (j = 0; j < p; j++) {
        map[j] = isfinite(lo[j]) ? (isfinite(hi[j]) ? MAP_BOTH : MAP_LO)
                                 : (isfinite(hi[j]) ? MAP_HI : MAP_NONE);
        gsl_vector_set(u0, j, to_u(&c, j, x[j]));
        if (!isfinite(gsl_vector_get(u0, j))) {
            ret = err_set(err, AHASD_ERR_NUMERIC, "x[%zu] = %g of %s is too close to its bound "
                          "to be reparametrised", j, x[j], ahasd_param_name(param_ids[j]));
            goto out;
        }
    }
    /* The starting point must evaluate (its failure is the user's to see). */
    for (j = 0; j < p; j++)
        theta[j] = to_theta(&c, j, gsl_vector_get(u0, j));
    if ((ret = eval_residuals(&c, r))) {
        err_set(err, ret, "at the starting point: %s", c.err.msg);
        goto out;
    }
    fdf.f = cal_f;
    fdf.df = NULL;                      /* finite differences */
    fdf.fvv = NULL;
    fdf.n = n;
    fdf.p = p;
    fdf.params = &c;
    fp = gsl_multifit_nlinear_default_parameters();
    fp.trs = gsl_multifit_nlinear_trs_lm;
    fp.fdtype = GSL_MULTIFIT_NLINEAR_CTRDIFF;
    fp.h_df = CAL_H_DF;
    w = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &fp, n, p);
    if (w == NULL) {
        ret = err_set(err, AHASD_ERR_NOMEM, "cannot allocate the GSL least-squares workspace");
        goto out;
    }
    c.strict = 1;   /* the initial evaluation inside init must succeed */
    status = gsl_multifit_nlinear_init(u0, &fdf, w);
    if (status != GSL_SUCCESS) {
        ret = c.failed ? err_set(err, c.err.code ? c.err.code : AHASD_ERR_NUMERIC,
                                 "at the starting point: %s", c.err.msg)
                       : gsl_fail(err, status, "gsl_multifit_nlinear_init");
        goto out;
    }
    c.strict = 0;
    status = gsl_multifit_nlinear_driver(CAL_MAXITER, CAL_XTOL, CAL_GTOL, CAL_FTOL, NULL, NULL,
                                         &info, w);
    if (status != GSL_SUCCESS && status != GSL_EMAXITER && status != GSL_ENOPROG) {
        ret = c.failed ? err_set(err, c.err.code ? c.err.code : AHASD_ERR_NUMERIC, "%s",
                                 c.err.msg)
                       : gsl_fail(err, status, "gsl_multifit_nlinear_driver");
        goto out;
    }
    sum->converged = status == GSL_SUCCESS;
    sum->n_iter = (int)gsl_multifit_nlinear_niter(w);
    uf = gsl_multifit_nlinear_position(w);
    ff = gsl_multifit_nlinear_residual(w);
    J = gsl_multifit_nlinear_jac(w);
    /* The optimum must evaluate (a penalty point is never accepted unless
     * the start was one; then this says so). */
    for (j = 0; j < p; j++)
        theta[j] = to_theta(&c, j, gsl_vector_get(uf, j));
    if ((ret = eval_residuals(&c, r))) {
        err_set(err, ret, "at the fitted point: %s", c.err.msg);
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (!(fabs(r[i] - gsl_vector_get(ff, i)) <= 1e-9 * (1.0 + fabs(r[i])))) {
            ret = err_set(err, AHASD_ERR_NUMERIC, "residual %zu at the optimum is %.12g but "
                          "the solver holds %.12g (model not deterministic?)", i, r[i],
                          gsl_vector_get(ff, i));
            goto out;
        }
        chi2 += r[i] * r[i];
    }
    status = gsl_multifit_nlinear_covar(J, 1e-12, covar);
    if (status != GSL_SUCCESS) {
        ret = gsl_fail(err, status, "gsl_multifit_nlinear_covar");
        goto out;
    }
    s2 = n > p ? chi2 / (double)(n - p) : NAN;
    for (j = 0; j < p; j++) {
        v = gsl_matrix_get(covar, j, j);
        d = dtheta_du(&c, j, gsl_vector_get(uf, j));
        /* a direction dropped by epsrel has zero covariance: not determined */
        stderr_out[j] = n > p ? (v > 0.0 ? fabs(d) * sqrt(s2 * v) : INFINITY) : NAN;
        x[j] = theta[j];
    }
    sum->chi2 = chi2;
    sum->dof = (int)(n - p);
    sum->rms_rel_residual = sqrt(chi2 / (double)n);
out:
    if (w != NULL)
        gsl_multifit_nlinear_free(w);
    if (covar != NULL)
        gsl_matrix_free(covar);
    if (u0 != NULL)
        gsl_vector_free(u0);
    free(theta);
    free(r);
    free(rcb);
    free(map);
    return ret;
}
