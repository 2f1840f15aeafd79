/* libFuzzer harness: the entry points that take parameters by id or name:
 * ahasd_param_find/name/doc/is_int/set/get (names from bytes, set/get round
 * trips), ahasd_sweep (a small batch with fuzzed ids, values and outputs),
 * and, for one input in four, ahasd_optimize or ahasd_calibrate with fuzzed
 * ids, bounds, observations and starting points (a few evaluations each). */
#include <stdio.h>

#include "fuzz_common.h"

/* A parameter id of the registry, or one past either end (-1 or the count). */
static int fz_param_id(fz_bytes *b)
{
    return (int)(fz_u32(b) % (unsigned)(ahasd_param_count() + 2)) - 1;
}

/* An output id, or one past either end (-1 or AHASD_N_OUT). */
static int fz_out_id(fz_bytes *b)
{
    return (int)(fz_u8(b) % (AHASD_N_OUT + 2)) - 1;
}

static void fz_optimize(const ahasd_config *cfg, fz_bytes *b, ahasd_workspace *ws)
{
    int ids[3], cons[2], rc;
    double lo[3], hi[3], clo[2], chi[2], x[3];
    size_t i, np = fz_u8(b) % 4, nc = fz_u8(b) % 3;
    ahasd_opt_summary sum;
    ahasd_error err;

    for (i = 0; i < 3; i++) {
        ids[i] = fz_param_id(b);
        lo[i] = fz_value(b);
        hi[i] = fz_value(b);
    }
    for (i = 0; i < 2; i++) {
        cons[i] = fz_out_id(b);
        clo[i] = fz_value(b);
        chi[i] = fz_value(b);
    }
    memset(&err, 0, sizeof err);
    rc = ahasd_optimize(cfg, np, ids, lo, hi, fz_out_id(b),
                        (int)(fz_u8(b) % 3), nc, cons, clo, chi, 1 + fz_u8(b) % 12, x, &sum,
                        ws, &err);
    fz_check_status(rc, &err);
    if (rc == AHASD_OK && sum.feasible) {
        FZ_REQUIRE(sum.n_evals >= 1 && sum.n_evals <= 12 + 2);
        for (i = 0; i < np; i++)
            FZ_REQUIRE(isfinite(x[i]) && x[i] >= lo[i] - 1e-9 * fabs(lo[i]) &&
                       x[i] <= hi[i] + 1e-9 * fabs(hi[i]));
        FZ_REQUIRE(isfinite(sum.best_value));
    }
}

static void fz_calibrate(const ahasd_config *cfg, fz_bytes *b, ahasd_workspace *ws)
{
    ahasd_config cfgs[3];
    int ids[2], outs[3], rc;
    double obs[3], x[2], lo[2], hi[2], se[2];
    size_t i, nobs = fz_u8(b) % 4, np = fz_u8(b) % 3;
    ahasd_fit_summary sum;
    ahasd_error err;

    for (i = 0; i < 3; i++) {
        cfgs[i] = *cfg;
        cfgs[i].gen_len = 32;
        cfgs[i].schedule = fz_u8(b) % AHASD_N_SCHEDULES;
        outs[i] = fz_out_id(b);
        obs[i] = fz_value(b);
    }
    for (i = 0; i < 2; i++) {
        ids[i] = fz_param_id(b);
        x[i] = fz_value(b);
        lo[i] = fz_value(b);
        hi[i] = fz_value(b);
    }
    memset(&err, 0, sizeof err);
    rc = ahasd_calibrate(cfgs, nobs, outs, obs, np, ids, x, lo, hi, se, &sum, ws, &err);
    fz_check_status(rc, &err);
    if (rc == AHASD_OK)
        for (i = 0; i < np; i++)
            FZ_REQUIRE(isfinite(x[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ahasd_workspace *ws = fz_workspace();
    fz_bytes b = {data, size};
    ahasd_config cfg, before;
    ahasd_error err;
    char name[48];
    size_t len, i, o;
    int id, rc, ids[3], status[4], outs[3], n = ahasd_param_count();
    double v, w, vals[12], out[12];

    fz_config(&cfg);
    len = fz_u8(&b) % (sizeof name);
    for (i = 0; i < len; i++)
        name[i] = (char)fz_u8(&b);
    name[len] = '\0';
    id = ahasd_param_find(name);
    FZ_REQUIRE(id == AHASD_ERR_UNKNOWN || (id >= 0 && id < n));
    if (id >= 0) {
        FZ_REQUIRE(ahasd_param_name(id) != NULL && strcmp(ahasd_param_name(id), name) == 0);
        FZ_REQUIRE(ahasd_param_doc(id) != NULL && ahasd_param_is_int(id) >= 0);
    }
    /* set then get: a refused value leaves the config unchanged; an accepted
     * one reads back (alpha: as the i.i.d. acceptance) */
    id = fz_param_id(&b);
    v = fz_value(&b);
    before = cfg;
    memset(&err, 0, sizeof err);
    rc = ahasd_param_set(&cfg, id, v, &err);
    fz_check_status(rc, &err);
    if (rc < 0)
        FZ_REQUIRE(memcmp(&before, &cfg, sizeof cfg) == 0);
    rc = ahasd_param_get(&cfg, id, &w, &err);
    fz_check_status(rc, &err);
    if (rc == AHASD_OK && memcmp(&before, &cfg, sizeof cfg) != 0 &&
        ahasd_param_is_int(id) == 0)
        FZ_REQUIRE(w == v);
    fz_edit(&cfg, &b, 4);
    for (i = 0; i < 3; i++) {
        ids[i] = (int)(fz_u32(&b) % (unsigned)n);
        outs[i] = (int)(fz_u8(&b) % AHASD_N_OUT);
    }
    for (i = 0; i < 12; i++)
        vals[i] = fz_value(&b);
    cfg.schedule = fz_u8(&b) % AHASD_N_SCHEDULES;
    fz_show(&cfg);
    rc = ahasd_sweep(&cfg, 4, 3, ids, vals, 3, outs, 0, 1, 1, out, status, ws, &err);
    fz_check_status(rc, &err);
    if (rc == AHASD_OK)
        for (i = 0; i < 4; i++) {
            FZ_REQUIRE(status[i] <= AHASD_OK && status[i] >= AHASD_ERR_UNSUPPORTED);
            for (o = 0; o < 3; o++) {
                v = out[i * 3 + o];
                if (status[i] != AHASD_OK)
                    FZ_REQUIRE(isnan(v));
                else if (outs[o] < AHASD_OUT_GAP_P50_S)
                    FZ_REQUIRE(isfinite(v));
            }
        }
    switch (fz_u8(&b) & 7) {
    case 0:
        fz_optimize(&cfg, &b, ws);
        break;
    case 1:
        fz_calibrate(&cfg, &b, ws);
        break;
    default:
        break;
    }
    return 0;
}
