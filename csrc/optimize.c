/*
 * optimize.c -- the best values of a few parameters of a design point for one
 * output (ahasd_optimize).
 *
 * Problem.  Parameters x_1..x_n (dotted names of the registry in sweep.c,
 * given by id) with box bounds [lo_i, hi_i]; objective y(x) = output out_id of
 * the analytical estimate at cfg with x set; minimise f(x) = y(x), or
 * f(x) = -y(x) when maximising; subject to cons_lo[c] <= output cons_ids[c]
 * <= cons_hi[c] (infinite bounds allowed: one-sided constraints).  A point
 * whose parameters cannot be set, whose estimate fails, whose objective is
 * not finite or that violates a constraint is infeasible.
 *
 * Method.
 *   - Integer parameters are enumerated over every combination of [lo, hi]
 *     (odometer order, the first parameter slowest).
 *   - For each integer combination, the real parameters (those with lo < hi;
 *     a real with lo == hi is a constant) are searched:
 *       one real: a grid of up to 9 points over [lo, hi] locates the best
 *         cell; when its best point is strictly below both neighbours, GSL's
 *         Brent minimiser (gsl_min_fminimizer_brent) refines it inside that
 *         bracket, in the scaled variable t = (x - lo) / (hi - lo) in [0, 1],
 *         to |bracket| <= 1e-6 in t.  Brent never leaves its bracket, so the
 *         bounds hold by construction.  A best grid point at a bound is the
 *         answer for a function that is monotone there.
 *       several reals: GSL's Nelder-Mead simplex
 *         (gsl_multimin_fminimizer_nmsimplex2) in unbounded variables u_i with
 *         x_i = lo_i + (hi_i - lo_i) (1 + sin u_i) / 2 (the bounded
 *         reparametrisation MINUIT uses): every trial point is inside the box,
 *         the bounds themselves are reachable, and no penalty is needed for
 *         the bounds.  Start: the configuration's own values clamped into the
 *         box (the box's middle for a value that cannot be read); initial
 *         steps 0.6 rad; converged when the simplex size is <= 1e-6 rad.
 *   - Infeasible points get a penalty instead of their objective:
 *     PEN (1 + v) for a constraint violation v = sum of violations relative
 *     to the violated bound, capped at 1e6 (so the search is pushed towards
 *     feasibility), PEN (2 + 1e6) for a point that fails or has a non-finite
 *     objective; PEN = 1e30 dominates any physical objective.  Every feasible point evaluated is a
 *     candidate: the answer is the best feasible point seen by any search
 *     (ties: the first seen), never just where a minimiser stopped.
 *   - Budget: at most max_evals estimates, the evaluation of cfg as given
 *     (start_value) included.  The budget left is shared evenly between the
 *     integer combinations not yet searched; once it is spent, the objective
 *     callback returns the penalty without evaluating, the search stops and
 *     converged is 0.  converged is 1 only if the enumeration was complete and
 *     every continuous search met its tolerance.
 *   - The start point (cfg as given) is a candidate too when its parameter
 *     values lie inside the box.
 *   - A GSL routine that reports an error while searching (e.g. no progress)
 *     ends that search (converged = 0) and keeps the best point found; an
 *     allocation failure ends the whole call with AHASD_ERR_NOMEM.
 *
 * No state outside the call: everything lives in an opt_ctx on the stack.
 */
#include <float.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_vector.h>

#include "internal.h"

#define OPT_MAX_PARAMS 16           /* parameters of one optimisation          */
#define OPT_MAX_EVALS 100000000     /* largest max_evals accepted              */
#define OPT_PEN 1e30                /* penalty scale of an infeasible point    */
#define OPT_MAX_VIOL 1e6            /* constraint violations are capped here   */
#define OPT_GRID 9                  /* grid points of a one-real search        */
#define OPT_BRENT_TOL 1e-6          /* Brent: bracket width in t = scaled x    */
#define OPT_BRENT_ITER 200
#define OPT_NM_TOL 1e-6             /* Nelder-Mead: simplex size in u (rad)    */
#define OPT_NM_STEP 0.6             /* Nelder-Mead: initial step in u (rad)    */
#define OPT_NM_ITER 2000
#define OPT_INT_SPAN 2147483647.0   /* integer bounds must fit an int          */

typedef struct {
    const ahasd_config *base;       /* cfg as given                             */
    ahasd_workspace *ws;
    size_t n;                       /* parameters                               */
    const int *ids;
    const double *lo, *hi;
    int is_int[OPT_MAX_PARAMS];
    int out_id, maximize;
    size_t n_cons;
    const int *cons_ids;
    const double *cons_lo, *cons_hi;
    int max_evals, n_evals;
    int budget_hit;                 /* a search was cut by the budget           */
    int fatal;                      /* allocation failure inside an evaluation  */
    double x[OPT_MAX_PARAMS];       /* the point being evaluated                */
    size_t real_idx[OPT_MAX_PARAMS];/* reals searched (lo < hi)                 */
    size_t n_real;
    double x0[OPT_MAX_PARAMS];      /* start of the continuous searches         */
    int have_best;
    double best_f;
    double best_x[OPT_MAX_PARAMS];
    ahasd_config work;              /* scratch configuration                    */
} opt_ctx;

/* Penalised objective of a finished estimate (lower is better); *feasible
 * says whether the point counts as a candidate. */
static double opt_score(const opt_ctx *c, int code, const ahasd_result *res, int *feasible)
{
    double y, v, viol = 0.0, scale, f;
    size_t k;

    *feasible = 0;
    f = OPT_PEN * (2.0 + OPT_MAX_VIOL);             /* failed or non-finite */
    if (code != AHASD_OK)
        goto out;
    y = res->out[c->out_id];
    if (!isfinite(y))
        goto out;
    for (k = 0; k < c->n_cons; k++) {
        v = res->out[c->cons_ids[k]];
        if (isnan(v)) {
            viol += 1.0;
        } else if (v < c->cons_lo[k]) {
            scale = fabs(c->cons_lo[k]) > DBL_MIN ? fabs(c->cons_lo[k]) : 1.0;
            viol += (c->cons_lo[k] - v) / scale;
        } else if (v > c->cons_hi[k]) {
            scale = fabs(c->cons_hi[k]) > DBL_MIN ? fabs(c->cons_hi[k]) : 1.0;
            viol += (v - c->cons_hi[k]) / scale;
        }
    }
    if (viol > 0.0) {
        f = OPT_PEN * (1.0 + (isfinite(viol) && viol < OPT_MAX_VIOL ? viol : OPT_MAX_VIOL));
        goto out;
    }
    *feasible = 1;
    f = c->maximize ? -y : y;
out:
    return f;
}

/* Evaluate the point c->x (every parameter set on a copy of base); returns the
 * penalised objective and records the point if it is the best feasible one.
 * Past the budget: returns the penalty without evaluating. */
static double opt_eval(opt_ctx *c)
{
    ahasd_result res;
    ahasd_error perr;
    int code = AHASD_OK, feasible;
    size_t i;
    double f;

    if (c->fatal || c->n_evals >= c->max_evals) {
        c->budget_hit = 1;
        f = OPT_PEN * (4.0 + 2.0 * OPT_MAX_VIOL);
        goto out;
    }
    c->n_evals++;
    c->work = *c->base;
    for (i = 0; i < c->n && code == AHASD_OK; i++)
        code = ahasd_param_set(&c->work, c->ids[i], c->x[i], &perr);
    if (code == AHASD_OK)
        code = ahasd_estimate(&c->work, c->ws, &res, &perr);
    if (code == AHASD_ERR_NOMEM)
        c->fatal = 1;
    f = opt_score(c, code, &res, &feasible);
    if (feasible && (!c->have_best || f < c->best_f)) {
        c->have_best = 1;
        c->best_f = f;
        memcpy(c->best_x, c->x, c->n * sizeof c->x[0]);
    }
out:
    return f;
}

/* Real parameter j of the search from a scaled coordinate. */
static double opt_from_t(const opt_ctx *c, size_t j, double t)
{
    double lo = c->lo[j], hi = c->hi[j], x;

    t = t < 0.0 ? 0.0 : (t > 1.0 ? 1.0 : t);
    x = lo + t * (hi - lo);
    return x < lo ? lo : (x > hi ? hi : x);
}

static double opt_from_u(const opt_ctx *c, size_t j, double u)
{
    return opt_from_t(c, j, 0.5 * (1.0 + sin(u)));
}

static double opt_f1(double t, void *params)
{
    opt_ctx *c = params;

    c->x[c->real_idx[0]] = opt_from_t(c, c->real_idx[0], t);
    return opt_eval(c);
}

static double opt_fn(const gsl_vector *u, void *params)
{
    opt_ctx *c = params;
    size_t r;

    for (r = 0; r < c->n_real; r++)
        c->x[c->real_idx[r]] = opt_from_u(c, c->real_idx[r], gsl_vector_get(u, r));
    return opt_eval(c);
}

/* One real parameter: grid, then Brent inside the best bracket.  budget:
 * evaluations allowed for this search.  *converged = 0 when the search was
 * cut or did not meet its tolerance. */
static int AHASD_WARN_UNUSED opt_search_1d(opt_ctx *c, int budget, int *converged,
                                           ahasd_error *err)
{
    int ret = AHASD_OK, ng, g, gb, status, iter, stop;
    size_t j;
    double tg[OPT_GRID], fg[OPT_GRID], a, b;
    gsl_min_fminimizer *s = NULL;
    gsl_function F;

    ng = budget < OPT_GRID ? budget : OPT_GRID;
    if (ng < 1) {
        *converged = 0;
        goto out;
    }
    if (ng < 3) {           /* too little budget for a bracket: probe and stop */
        j = c->real_idx[0];
        if (ng == 1)
            (void)opt_f1((c->x0[j] - c->lo[j]) / (c->hi[j] - c->lo[j]), c);
        else
            for (g = 0; g < ng; g++)
                (void)opt_f1((double)g, c);
        *converged = 0;
        goto out;
    }
    gb = 0;
    for (g = 0; g < ng; g++) {
        tg[g] = (double)g / (double)(ng - 1);
        fg[g] = opt_f1(tg[g], c);
        if (fg[g] < fg[gb])
            gb = g;
    }
    if (c->fatal || c->budget_hit) {
        *converged = 0;
        goto out;
    }
    /* Brent needs f(middle) below both ends; a minimum at a bound, a flat
     * stretch or an all-infeasible grid leaves the grid's answer. */
    if (gb == 0 || gb == ng - 1 || fg[gb] >= OPT_PEN || !(fg[gb] < fg[gb - 1]) ||
        !(fg[gb] < fg[gb + 1]))
        goto out;
    s = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
    if (s == NULL) {
        ret = err_set(err, AHASD_ERR_NOMEM, "ahasd_optimize: gsl_min_fminimizer_alloc failed");
        goto out;
    }
    F.function = opt_f1;
    F.params = c;
    status = gsl_min_fminimizer_set_with_values(s, &F, tg[gb], fg[gb], tg[gb - 1], fg[gb - 1],
                                                tg[gb + 1], fg[gb + 1]);
    if (status != GSL_SUCCESS) {
        *converged = 0;
        goto out;
    }
    stop = 0;
    for (iter = 0; iter < OPT_BRENT_ITER && !stop; iter++) {
        if (c->n_evals >= c->max_evals || budget - ng - iter <= 0) {
            c->budget_hit = 1;
            *converged = 0;
            goto out;
        }
        status = gsl_min_fminimizer_iterate(s);
        if (status != GSL_SUCCESS || c->fatal) {
            *converged = 0;
            goto out;
        }
        a = gsl_min_fminimizer_x_lower(s);
        b = gsl_min_fminimizer_x_upper(s);
        status = gsl_min_test_interval(a, b, OPT_BRENT_TOL, 0.0);
        if (status == GSL_SUCCESS)
            stop = 1;
        else if (status != GSL_CONTINUE) {
            *converged = 0;
            goto out;
        }
    }
    if (!stop)
        *converged = 0;
out:
    if (s != NULL)
        gsl_min_fminimizer_free(s);
    return ret;
}

/* Several real parameters: Nelder-Mead in the sin-reparametrised variables. */
static int AHASD_WARN_UNUSED opt_search_nd(opt_ctx *c, int budget, int *converged,
                                           ahasd_error *err)
{
    int ret = AHASD_OK, status, iter, stop, start_evals = c->n_evals;
    size_t r, j, nr = c->n_real;
    double z;
    gsl_multimin_fminimizer *s = NULL;
    gsl_vector *u0 = NULL, *step = NULL;
    gsl_multimin_function F;

    if (budget < (int)nr + 1) {
        *converged = 0;
        c->budget_hit = 1;
        goto out;
    }
    u0 = gsl_vector_alloc(nr);
    step = gsl_vector_alloc(nr);
    s = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, nr);
    if (u0 == NULL || step == NULL || s == NULL) {
        ret = err_set(err, AHASD_ERR_NOMEM, "ahasd_optimize: GSL allocation of the simplex "
                                            "(%zu real parameters) failed", nr);
        goto out;
    }
    for (r = 0; r < nr; r++) {
        j = c->real_idx[r];
        z = 2.0 * (c->x0[j] - c->lo[j]) / (c->hi[j] - c->lo[j]) - 1.0;
        z = z < -1.0 ? -1.0 : (z > 1.0 ? 1.0 : z);
        gsl_vector_set(u0, r, asin(z));
        gsl_vector_set(step, r, OPT_NM_STEP);
    }
    F.n = nr;
    F.f = opt_fn;
    F.params = c;
    status = gsl_multimin_fminimizer_set(s, &F, u0, step);
    if (status != GSL_SUCCESS || c->fatal) {
        *converged = 0;
        goto out;
    }
    stop = 0;
    for (iter = 0; iter < OPT_NM_ITER && !stop; iter++) {
        if (c->n_evals >= c->max_evals || c->n_evals - start_evals >= budget) {
            c->budget_hit = 1;
            *converged = 0;
            goto out;
        }
        status = gsl_multimin_fminimizer_iterate(s);
        if (status != GSL_SUCCESS || c->fatal) {
            *converged = 0;
            goto out;
        }
        status = gsl_multimin_test_size(gsl_multimin_fminimizer_size(s), OPT_NM_TOL);
        if (status == GSL_SUCCESS)
            stop = 1;
        else if (status != GSL_CONTINUE) {
            *converged = 0;
            goto out;
        }
    }
    if (!stop)
        *converged = 0;
out:
    if (s != NULL)
        gsl_multimin_fminimizer_free(s);
    if (step != NULL)
        gsl_vector_free(step);
    if (u0 != NULL)
        gsl_vector_free(u0);
    return ret;
}

static const char *pname(int id)
{
    const char *s = ahasd_param_name(id);
    return s != NULL ? s : "?";
}

/* 1 if setting parameter a changes parameter b (two names of one field). */
static int opt_alias(const ahasd_config *cfg, int a, int b)
{
    ahasd_config tmp = *cfg;
    ahasd_error e;
    double va, vb0, vb1;
    int alias = 0;

    if (ahasd_param_get(&tmp, a, &va, &e) != AHASD_OK ||
        ahasd_param_get(&tmp, b, &vb0, &e) != AHASD_OK)
        goto out;
    va = ahasd_param_is_int(a) == 1 ? (va < 1e9 ? va + 1.0 : va - 1.0) : 2.0 * va + 1.0;
    if (ahasd_param_set(&tmp, a, va, &e) != AHASD_OK ||
        ahasd_param_get(&tmp, b, &vb1, &e) != AHASD_OK)
        goto out;
    alias = vb1 != vb0;
out:
    return alias;
}

static int opt_validate(const ahasd_config *cfg, size_t n_params, const int *param_ids,
                        const double *lo, const double *hi, int out_id, int maximize,
                        size_t n_cons, const int *cons_ids, const double *cons_lo,
                        const double *cons_hi, int max_evals, ahasd_error *err)
{
    int ret = AHASD_OK, n_out = AHASD_N_OUT, np = ahasd_param_count(), kind;
    size_t i, j;

    if (n_params < 1 || n_params > OPT_MAX_PARAMS) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM, "n_params = %zu is not allowed: must be an "
                      "integer in [1, %d]", n_params, OPT_MAX_PARAMS);
        goto out;
    }
    for (i = 0; i < n_params; i++) {
        kind = ahasd_param_is_int(param_ids[i]);
        if (kind < 0) {
            ret = err_set(err, AHASD_ERR_UNKNOWN, "param_ids[%zu] = %d is not a parameter id: "
                          "must be in [0, %d]", i, param_ids[i], np - 1);
            goto out;
        }
        if (!isfinite(lo[i]) || !isfinite(hi[i]) || lo[i] > hi[i]) {
            ret = err_set(err, AHASD_ERR_BAD_PARAM, "bounds of %s (param %zu): lo = %g, hi = %g "
                          "are not allowed: must be finite with lo <= hi", pname(param_ids[i]),
                          i, lo[i], hi[i]);
            goto out;
        }
        if (kind == 1 && (lo[i] != floor(lo[i]) || hi[i] != floor(hi[i]) ||
                          lo[i] < -OPT_INT_SPAN || hi[i] > OPT_INT_SPAN)) {
            ret = err_set(err, AHASD_ERR_BAD_PARAM, "bounds of integer parameter %s (param %zu): "
                          "lo = %g, hi = %g are not allowed: must be integers in [%.0f, %.0f]",
                          pname(param_ids[i]), i, lo[i], hi[i], -OPT_INT_SPAN, OPT_INT_SPAN);
            goto out;
        }
        for (j = 0; j < i; j++)
            if (param_ids[j] == param_ids[i] || opt_alias(cfg, param_ids[j], param_ids[i])) {
                ret = err_set(err, AHASD_ERR_BAD_PARAM, "parameters %zu (%s) and %zu (%s) set "
                              "the same field: give each field once", j, pname(param_ids[j]),
                              i, pname(param_ids[i]));
                goto out;
            }
    }
    if (out_id < 0 || out_id >= n_out) {
        ret = err_set(err, AHASD_ERR_UNKNOWN, "out_id = %d is not allowed: must be an output "
                      "index in [0, %d]", out_id, n_out - 1);
        goto out;
    }
    if (maximize != 0 && maximize != 1) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM, "maximize = %d is not allowed: must be 0 "
                      "(minimise) or 1 (maximise)", maximize);
        goto out;
    }
    if (n_cons > (size_t)n_out * 4) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM, "n_cons = %zu is not allowed: must be in "
                      "[0, %d]", n_cons, n_out * 4);
        goto out;
    }
    for (i = 0; i < n_cons; i++) {
        if (cons_ids[i] < 0 || cons_ids[i] >= n_out) {
            ret = err_set(err, AHASD_ERR_UNKNOWN, "cons_ids[%zu] = %d is not allowed: must be "
                          "an output index in [0, %d]", i, cons_ids[i], n_out - 1);
            goto out;
        }
        if (isnan(cons_lo[i]) || isnan(cons_hi[i]) || cons_lo[i] > cons_hi[i]) {
            ret = err_set(err, AHASD_ERR_BAD_PARAM, "constraint %zu on %s: cons_lo = %g, "
                          "cons_hi = %g are not allowed: must not be NaN, with lo <= hi "
                          "(use -inf/inf for one side)", i, ahasd_output_name(cons_ids[i]),
                          cons_lo[i], cons_hi[i]);
            goto out;
        }
    }
    if (max_evals < 1 || max_evals > OPT_MAX_EVALS) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM, "max_evals = %d is not allowed: must be an "
                      "integer in [1, %d]", max_evals, OPT_MAX_EVALS);
        goto out;
    }
out:
    return ret;
}

int ahasd_optimize(const ahasd_config *cfg, size_t n_params, const int *param_ids,
                   const double *lo, const double *hi, int out_id, int maximize,
                   size_t n_cons, const int *cons_ids, const double *cons_lo,
                   const double *cons_hi, int max_evals, double *x_best,
                   ahasd_opt_summary *sum, ahasd_workspace *ws, ahasd_error *err)
{
    int ret = AHASD_OK, code, feasible, in_box, converged = 1, more;
    size_t i, n_int = 0, int_idx[OPT_MAX_PARAMS];
    double combos = 1.0, done = 0.0, f, v, left;
    ahasd_result res;
    ahasd_error perr;
    opt_ctx c;

    if (sum != NULL) {
        memset(sum, 0, sizeof *sum);
        sum->best_value = NAN;
        sum->start_value = NAN;
    }
    if (cfg == NULL || ws == NULL || sum == NULL || x_best == NULL || param_ids == NULL ||
        lo == NULL || hi == NULL || (n_cons > 0 && (cons_ids == NULL || cons_lo == NULL ||
                                                    cons_hi == NULL))) {
        ret = err_set(err, AHASD_ERR_NULL, "ahasd_optimize: cfg, param_ids, lo, hi, x_best, "
                      "sum and ws must not be NULL (nor the constraint arrays when n_cons > 0)");
        goto out;
    }
    if ((ret = opt_validate(cfg, n_params, param_ids, lo, hi, out_id, maximize, n_cons,
                            cons_ids, cons_lo, cons_hi, max_evals, err)))
        goto out;
    for (i = 0; i < n_params; i++)
        x_best[i] = NAN;
    memset(&c, 0, sizeof c);
    c.base = cfg;
    c.ws = ws;
    c.n = n_params;
    c.ids = param_ids;
    c.lo = lo;
    c.hi = hi;
    c.out_id = out_id;
    c.maximize = maximize;
    c.n_cons = n_cons;
    c.cons_ids = cons_ids;
    c.cons_lo = cons_lo;
    c.cons_hi = cons_hi;
    c.max_evals = max_evals;

    /* The start: cfg as given, and each parameter's value there. */
    in_box = 1;
    for (i = 0; i < n_params; i++) {
        c.is_int[i] = ahasd_param_is_int(param_ids[i]) == 1;
        if (ahasd_param_get(cfg, param_ids[i], &v, &perr) != AHASD_OK || !isfinite(v)) {
            v = 0.5 * (lo[i] + hi[i]);
            in_box = 0;
        } else if (v < lo[i] || v > hi[i]) {
            in_box = 0;
        }
        c.x[i] = v;
        c.x0[i] = v < lo[i] ? lo[i] : (v > hi[i] ? hi[i] : v);
        if (c.is_int[i]) {
            int_idx[n_int++] = i;
            combos *= hi[i] - lo[i] + 1.0;
        } else if (lo[i] < hi[i]) {
            c.real_idx[c.n_real++] = i;
        }
    }
    c.n_evals = 1;
    code = ahasd_estimate(cfg, ws, &res, &perr);
    if (code == AHASD_ERR_NOMEM) {
        ret = err_set(err, AHASD_ERR_NOMEM, "ahasd_optimize: out of memory evaluating the start");
        goto out;
    }
    f = opt_score(&c, code, &res, &feasible);
    if (feasible) {
        sum->start_value = res.out[out_id];
        if (in_box) {
            c.have_best = 1;
            c.best_f = f;
            memcpy(c.best_x, c.x, n_params * sizeof c.x[0]);
        }
    }

    /* Enumerate the integer combinations (odometer), searching the reals in each. */
    for (i = 0; i < n_params; i++)
        c.x[i] = c.is_int[i] ? lo[i] : c.x0[i];
    more = 1;
    while (more) {
        left = (double)(c.max_evals - c.n_evals);
        if (left < 1.0) {
            converged = 0;
            break;
        }
        for (i = 0; i < n_params; i++)          /* reals restart from x0 */
            if (!c.is_int[i])
                c.x[i] = c.x0[i];
        if (c.n_real == 0) {
            (void)opt_eval(&c);
        } else {
            double share = floor(left / (combos - done));
            int budget = share < 1.0 ? 1 : (share > (double)OPT_MAX_EVALS ? OPT_MAX_EVALS
                                                                           : (int)share);
            if (c.n_real == 1)
                ret = opt_search_1d(&c, budget, &converged, err);
            else
                ret = opt_search_nd(&c, budget, &converged, err);
            if (ret != AHASD_OK)
                goto out;
        }
        if (c.fatal) {
            ret = err_set(err, AHASD_ERR_NOMEM, "ahasd_optimize: out of memory in an estimate");
            goto out;
        }
        done += 1.0;
        /* next combination: the last integer parameter fastest */
        more = 0;
        for (i = n_int; i-- > 0;) {
            size_t j = int_idx[i];
            if (c.x[j] < hi[j]) {
                c.x[j] += 1.0;
                more = 1;
                break;
            }
            c.x[j] = lo[j];
        }
    }
    if (c.budget_hit)
        converged = 0;

    sum->n_evals = c.n_evals;
    sum->converged = converged;
    sum->feasible = c.have_best;
    if (c.have_best) {
        memcpy(x_best, c.best_x, n_params * sizeof c.best_x[0]);
        sum->best_value = c.maximize ? -c.best_f : c.best_f;
    }
out:
    if (sum != NULL && ret != AHASD_OK)
        sum->n_evals = 0;
    return ret;
}
