/*
 * fuzz_common.h -- shared pieces of the libFuzzer harnesses.
 *
 * Every harness starts from a valid configuration (an AHASD-like NPU + PIM
 * platform with LLaMA-shaped models, built here in C) and applies edits read
 * from the fuzzer's bytes: each edit picks a parameter of the registry
 * (ahasd_param_*) and a value -- either one of a table of hostile values
 * (0, -0, negative, NaN, infinities, huge, tiny, the "high-entropy" 2.385)
 * or raw bits.  So the fuzzers explore every numeric input, near-valid and
 * invalid, through the same path users take.  The contract checked: no
 * crash, leak, hang or sanitizer report; a failing call returns a negative
 * status and a NUL-terminated message; a succeeding call returns finite
 * outputs.
 */
#ifndef AHASD_FUZZ_COMMON_H
#define AHASD_FUZZ_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahasd.h"

typedef struct {
    const uint8_t *p;
    size_t n;
} fz_bytes;

static uint8_t fz_u8(fz_bytes *b)
{
    uint8_t v = 0;
    if (b->n > 0) {
        v = b->p[0];
        b->p++;
        b->n--;
    }
    return v;
}

static uint32_t fz_u32(fz_bytes *b)
{
    uint32_t v = 0;
    int i;
    for (i = 0; i < 4; i++)
        v = (v << 8) | fz_u8(b);
    return v;
}

static double fz_value(fz_bytes *b)
{
    static const double hostile[] = {
        0.0, -0.0, 1.0, -1.0, 2.385, -2.385, 0.5, 1e-300, -1e-300, 1e300, -1e300,
        INFINITY, -INFINITY, NAN, 3.0, 16.0, 17.0, 33.0, 1e9, 1e12, 2147483648.0, 0.999999,
        1.000001, 1e-9, 7.0, 8.0, 9.0, 64.0, 4097.0, 1e6};
    uint8_t sel = fz_u8(b);
    if (sel < 200)
        return hostile[sel % (sizeof hostile / sizeof hostile[0])];
    if (sel < 230)
        return (double)(int32_t)fz_u32(b) / 1024.0;
    {
        uint64_t bits = ((uint64_t)fz_u32(b) << 32) | fz_u32(b);
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
}

static void fz_model(ahasd_model *m, int layers, int hidden, int heads, int ffn)
{
    memset(m, 0, sizeof *m);
    m->layers = layers;
    m->hidden = hidden;
    m->heads = heads;
    m->kv_heads = heads;
    m->ffn = ffn;
    m->ffn_kind = AHASD_FFN_GATED;
    m->act_kind = AHASD_ACT_SILU;
    m->norm_kind = AHASD_NORM_RMSNORM;
    m->vocab = 32000;
    m->weight_bytes = 1.0;
    m->kv_bytes = 1.0;
    m->act_bytes = 2.0;
}

static void fz_device(ahasd_device *d, double ops, double bw)
{
    memset(d, 0, sizeof *d);
    d->present = 1;
    d->matrix_ops_per_s = ops;
    d->vector_ops_per_s = ops / 2;
    d->compute_util = 0.8;
    d->mem_bw_bytes_per_s = bw;
    d->mem_bw_util = 0.9;
    d->link_bw_bytes_per_s = 51.2e9;
    d->link_bw_util = 0.9;
    d->onchip_bytes = 8e6;
    d->matrix_energy_per_op_j = 0.1e-12;
    d->vector_energy_per_op_j = 0.3e-12;
    d->mem_energy_per_byte_j = 4.5e-12 * 8;
    d->link_energy_per_byte_j = 4.5e-12 * 8;
    d->onchip_energy_per_byte_j = 0.1e-12 * 8;
    d->static_w = 0.5;
    d->pass_overhead_s = 10e-6;
    d->op_overhead_s = 1e-6;
}

/* A valid starting point: NPU + PIM, LLaMA-7B-like drafting for a
 * LLaMA-13B-like target (small shapes would be faster but less real). */
static void fz_config(ahasd_config *cfg)
{
    ahasd_error err;

    ahasd_config_default(cfg, &err);
    fz_device(&cfg->hw.dev[AHASD_DEV_NPU], 16e12, 51.2e9);
    fz_device(&cfg->hw.dev[AHASD_DEV_PIM], 1.6e12, 256e9);
    cfg->hw.dev[AHASD_DEV_PIM].units = 16;
    cfg->hw.dev[AHASD_DEV_PIM].has_aau = 1;
    cfg->hw.dev[AHASD_DEV_PIM].aau_ops_per_s = 40e9;
    cfg->hw.dev[AHASD_DEV_PIM].aau_energy_per_op_j = 7.4e-12;
    cfg->hw.dev[AHASD_DEV_PIM].switch_s = 1e-6;
    cfg->hw.dev[AHASD_DEV_PIM].roundtrip_s = 2e-6;
    cfg->hw.memory_capacity_bytes = 64e9;
    cfg->hw.memory_static_w = 0.3;
    cfg->hw.sync_s = 2e-6;
    cfg->hw.rollback_s = 1e-6;
    cfg->hw.draft_dev = AHASD_DEV_PIM;
    cfg->hw.verify_dev = AHASD_DEV_NPU;
    cfg->hw.nonlinear_host_dev = AHASD_DEV_NPU;
    fz_model(&cfg->draft, 32, 4096, 32, 11008);
    fz_model(&cfg->target, 40, 5120, 40, 13824);
    cfg->costs.draft_token_s = 0.03;
    cfg->costs.verify_base_s = 0.25;
    cfg->costs.verify_per_token_s = 0.002;
    cfg->costs.preverify_token_s = 0.02;
    cfg->costs.draft_token_j = 0.05;
    cfg->costs.verify_base_j = 1.0;
    cfg->costs.verify_per_token_j = 0.01;
    cfg->costs.preverify_token_j = 0.04;
    cfg->costs.idle_w[AHASD_DEV_NPU] = 0.4;
    cfg->costs.idle_w[AHASD_DEV_PIM] = 0.2;
}

/* fz_config, then the top-level choices from three bytes: the schedule, the
 * policy kind and whether explicit task costs replace the hardware model. */
static void fz_config_choose(ahasd_config *cfg, fz_bytes *b)
{
    fz_config(cfg);
    cfg->schedule = fz_u8(b) % AHASD_N_SCHEDULES;
    cfg->policy.kind = fz_u8(b) % AHASD_N_POLICIES;
    cfg->use_explicit_costs = fz_u8(b) & 1;
}

/* The harness's long-lived workspace: allocated on the first call (GSL's
 * aborting error handler switched off first), then the same one, never
 * freed (caches and scratch carry over from input to input). */
static ahasd_workspace *fz_workspace(void)
{
    static ahasd_workspace *ws;

    if (ws == NULL) {
        ahasd_gsl_handler_off();
        ws = ahasd_workspace_alloc();
    }
    return ws;
}

/* AHASD_FUZZ_VERBOSE=1 in the environment prints what an input does (to
 * turn a crashing input into a reproducer a person can read). */
static int fz_verbose(void)
{
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("AHASD_FUZZ_VERBOSE");
        v = e != NULL && e[0] != '\0' && e[0] != '0';
    }
    return v;
}

/* Apply up to max_edits edits from the bytes.  Most edits go through the
 * parameter registry (the path users take); one in eight overwrites 1 to 8
 * raw bytes of the struct at a fuzzed offset, which reaches what the
 * registry cannot: enum and count fields (policy arms, n_arms, tree
 * branching, device roles) with any bit pattern.  ahasd_config holds no
 * pointers, so any bytes are memory-safe for the caller to pass. */
static void fz_edit(ahasd_config *cfg, fz_bytes *b, int max_edits)
{
    int i, rc, n = ahasd_param_count(), edits = fz_u8(b) % (max_edits + 1);
    ahasd_error err;

    for (i = 0; i < edits && b->n > 0; i++) {
        uint8_t op = fz_u8(b);
        if (op >= 224) {
            size_t off = (((size_t)fz_u8(b) << 8) | fz_u8(b)) % sizeof *cfg;
            size_t len = 1 + fz_u8(b) % 8, j;
            if (len > sizeof *cfg - off)
                len = sizeof *cfg - off;
            for (j = 0; j < len && b->n > 0; j++)
                ((unsigned char *)cfg)[off + j] = fz_u8(b);
            if (fz_verbose())
                fprintf(stderr, "fuzz edit: %zu raw bytes at offset %zu\n", j, off);
            continue;
        }
        {
            int id = (int)(((unsigned)op << 8 | fz_u8(b)) % (unsigned)n);
            double v = fz_value(b);
            rc = ahasd_param_set(cfg, id, v, &err);
            if (fz_verbose())
                fprintf(stderr, "fuzz edit: %s = %.17g%s\n", ahasd_param_name(id), v,
                        rc == AHASD_OK ? "" : " (refused)");
        }
    }
}

/* A new workspace whose scratch arrays are already large and filled with
 * NaN bits: a result computed in it must equal, bit for bit, the result
 * computed in a long-lived workspace (results never depend on what a
 * workspace held before; a read of scratch the code did not write shows up
 * as a difference).  White-box: uses workspace.c's ws_scratch. */
double *ws_scratch(ahasd_workspace *ws, int slot, size_t n, int zero);
#define FZ_POISON_DOUBLES ((size_t)1 << 15)
static ahasd_workspace *fz_poisoned_workspace(void)
{
    ahasd_workspace *ws = ahasd_workspace_alloc();
    int slot;
    double *p;

    for (slot = 0; ws != NULL && slot < 8; slot++) {
        p = ws_scratch(ws, slot, FZ_POISON_DOUBLES, 0);
        if (p != NULL)
            memset(p, 0xff, FZ_POISON_DOUBLES * sizeof(double));
    }
    return ws;
}

/* With AHASD_FUZZ_VERBOSE, the top-level choices of a configuration. */
static void fz_show(const ahasd_config *cfg)
{
    if (fz_verbose())
        fprintf(stderr, "fuzz config: schedule %d, policy %d, explicit costs %d, gen_len %d, "
                "prompt_len %d, l_max %d\n", cfg->schedule, cfg->policy.kind,
                cfg->use_explicit_costs, cfg->gen_len, cfg->prompt_len, cfg->l_max);
}

/* A broken invariant: say which, then abort (libFuzzer keeps the input). */
#define FZ_REQUIRE(cond)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__,    \
                    __LINE__);                                                        \
            abort();                                                                  \
        }                                                                             \
    } while (0)

/* The contract on a returned status: OK or a known negative code, and an
 * error comes with a NUL-terminated, non-empty message. */
static void fz_check_status(int rc, const ahasd_error *err)
{
    if (fz_verbose())
        fprintf(stderr, "fuzz status: %d %s\n", rc, rc < 0 ? err->msg : "");
    FZ_REQUIRE(rc <= AHASD_OK && rc >= AHASD_ERR_UNSUPPORTED);
    if (rc < 0) {
        FZ_REQUIRE(memchr(err->msg, '\0', sizeof err->msg) != NULL);
        FZ_REQUIRE(err->msg[0] != '\0');
        FZ_REQUIRE(err->code == rc);
        FZ_REQUIRE(ahasd_strerror(rc) != NULL);
    }
}

/* The contract on a successful result (MODEL.md's outputs): finite outputs
 * (the gap percentiles may be NaN: "not computed"), fractions in [0, 1] (acceptance_rate <= 1:
 * accepted <= drafted),
 * and per present device busy + idle = wall time. */
static void fz_check_result(int rc, const ahasd_result *res)
{
    const double tol = 1e-9;
    double wall, e_total = 0.0, t_dev;
    int o, d, t;

    if (rc != AHASD_OK)
        return;
    for (o = 0; o < AHASD_N_OUT; o++) {
        if (o >= AHASD_OUT_GAP_P50_S && o <= AHASD_OUT_GAP_P99_S) {
            FZ_REQUIRE(isnan(res->out[o]) || res->out[o] >= 0.0);
            continue;
        }
        FZ_REQUIRE(isfinite(res->out[o]));
        FZ_REQUIRE(res->out[o] >= 0.0);
    }
    for (o = AHASD_OUT_NPU_BUSY_FRAC; o <= AHASD_OUT_CPU_BUSY_FRAC; o++)
        FZ_REQUIRE(res->out[o] <= 1.0 + tol);
    FZ_REQUIRE(res->out[AHASD_OUT_ACCEPTANCE_RATE] <= 1.0 + tol);
    FZ_REQUIRE(res->out[AHASD_OUT_WASTE_FRAC] <= 1.0 + tol);
    FZ_REQUIRE(res->out[AHASD_OUT_PREVERIFY_FRAC] <= 1.0 + tol);
    FZ_REQUIRE(res->out[AHASD_OUT_SUPPRESSION_RATE] <= 1.0 + tol);
    FZ_REQUIRE(res->out[AHASD_OUT_THROUGHPUT_TOK_S] > 0.0);
    FZ_REQUIRE(res->out[AHASD_OUT_COMMITTED_TOKENS] > 0.0);
    wall = res->out[AHASD_OUT_TOTAL_TIME_S];
    FZ_REQUIRE(wall > 0.0);
    for (d = 0; d < AHASD_N_DEVICES; d++) {
        t_dev = 0.0;
        for (t = 0; t < AHASD_N_TASKS; t++) {
            FZ_REQUIRE(isfinite(res->time_s[d][t]) && res->time_s[d][t] >= 0.0);
            t_dev += res->time_s[d][t];
        }
        FZ_REQUIRE(t_dev == 0.0 || fabs(t_dev - wall) <= 1e-6 * wall);
        for (t = 0; t < AHASD_N_ECAUSES; t++) {
            FZ_REQUIRE(isfinite(res->energy_j[d][t]) && res->energy_j[d][t] >= 0.0);
            e_total += res->energy_j[d][t];
        }
    }
    FZ_REQUIRE(fabs(e_total - res->out[AHASD_OUT_TOTAL_ENERGY_J]) <=
               1e-9 * (e_total > 1.0 ? e_total : 1.0) + 1e-300);
}

#endif
