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

/* Apply up to max_edits edits from the bytes. */
static void fz_edit(ahasd_config *cfg, fz_bytes *b, int max_edits)
{
    int i, n = ahasd_param_count(), edits = fz_u8(b) % (max_edits + 1);
    ahasd_error err;

    for (i = 0; i < edits && b->n > 0; i++) {
        int id = (int)(((unsigned)fz_u8(b) << 8 | fz_u8(b)) % (unsigned)n);
        (void)ahasd_param_set(cfg, id, fz_value(b), &err);
    }
}

/* The contract on a returned status. */
static void fz_check_status(int rc, const ahasd_error *err)
{
    if (rc < 0) {
        if (memchr(err->msg, '\0', sizeof err->msg) == NULL || err->msg[0] == '\0')
            abort();  /* an error must come with a message */
        if (ahasd_strerror(rc) == NULL)
            abort();
    }
}

static void fz_check_result(int rc, const ahasd_result *res)
{
    int o;
    if (rc != AHASD_OK)
        return;
    for (o = 0; o < AHASD_N_OUT; o++) {
        if (o >= AHASD_OUT_GAP_P50_S && o <= AHASD_OUT_GAP_P99_S)
            continue;  /* NaN documents "not computed" there */
        if (!isfinite(res->out[o]))
            abort();
    }
    if (res->out[AHASD_OUT_NPU_BUSY_FRAC] < 0.0 || res->out[AHASD_OUT_NPU_BUSY_FRAC] > 1.0 + 1e-9 ||
        res->out[AHASD_OUT_PIM_BUSY_FRAC] < 0.0 || res->out[AHASD_OUT_PIM_BUSY_FRAC] > 1.0 + 1e-9)
        abort();
}

#endif
