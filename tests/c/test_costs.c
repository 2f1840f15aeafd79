/*
 * test_costs.c -- layer 2: hardware validation, the per-operator roofline,
 * the compiled task costs (plat_*), the public task and operator tables.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"
#include "check.h"
#include "fixture.h"

/* ------------------------------------------------------------------ */
/* Fixtures: a GPU platform (NPU, PIM and models: fixture.h)           */
/* ------------------------------------------------------------------ */
static void dev_gpu(ahasd_device *v)
{
    memset(v, 0, sizeof *v);
    v->present = 1;
    v->matrix_ops_per_s = 303.5e12;
    v->vector_ops_per_s = 37.94e12;
    v->compute_util = 0.7;
    v->mem_bw_bytes_per_s = 576e9;
    v->mem_bw_util = 0.8;
    v->capacity_bytes = 16106127360.0;
    v->link_bw_bytes_per_s = 31.5e9;
    v->link_bw_util = 0.8;
    v->onchip_bytes = 67108864.0;
    v->matrix_energy_per_op_j = 2.31e-13;
    v->vector_energy_per_op_j = 1.85e-12;
    v->mem_energy_per_byte_j = 6e-11;
    v->link_energy_per_byte_j = 1e-10;
    v->onchip_energy_per_byte_j = 2.5e-12;
    v->static_w = 20.0;
    v->pass_overhead_s = 1e-5;
    v->op_overhead_s = 3e-6;
}

static void hw_gpu(ahasd_hardware *hw)
{
    memset(hw, 0, sizeof *hw);
    dev_gpu(&hw->dev[AHASD_DEV_GPU]);
    hw->memory_capacity_bytes = 16106127360.0;
    hw->rollback_s = 5e-6;
    hw->draft_dev = AHASD_DEV_GPU;
    hw->verify_dev = AHASD_DEV_GPU;
    hw->nonlinear_host_dev = AHASD_DEV_GPU;
}

/* A configuration without config.c: only what plat_init reads. */
static void cfg_make(ahasd_config *cfg, const ahasd_hardware *hw, int sched)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->schedule = sched;
    cfg->hw = *hw;
    cfg->draft = fixture_model_llama2_7b();
    cfg->target = fixture_model_llama2_13b();
    cfg->policy.k_max = 16;
    cfg->prompt_len = 128;
    cfg->gen_len = 1024;
    cfg->m_max = 8;
}

static void check_energy_sums(const ahasd_cost *c)
{
    double s = 0.0;
    int e;

    for (e = 0; e < AHASD_N_ECAUSES; e++) {
        CHECK(c->energy_by_cause_j[e] >= 0.0);
        s += c->energy_by_cause_j[e];
    }
    CHECK_CLOSE(c->energy_j, s, 1e-12, 0.0);
    CHECK_CLOSE(c->time_s, c->compute_s + c->memory_s + c->overhead_s, 1e-12, 0.0);
}

/* Sum of ahasd_pass_ops rows. */
static void sum_rows(const ahasd_hardware *hw, const ahasd_model *m, int dev, int npos,
                     double ctx, double *t, double *e)
{
    ahasd_op ops[32];
    ahasd_error err;
    size_t n = 0, i;

    *t = 0.0;
    *e = 0.0;
    CHECK(ahasd_pass_ops(hw, m, dev, npos, ctx, ops, 32, &n, &err) == AHASD_OK);
    for (i = 0; i < n; i++) {
        *t += ops[i].time_s;
        *e += ops[i].energy_j;
    }
}

/* ------------------------------------------------------------------ */
/* Hardware validation                                                  */
/* ------------------------------------------------------------------ */
static void test_hw_validate(void)
{
    ahasd_hardware hw, good;
    ahasd_error err;
    size_t i;
    static const struct { size_t off; const char *name; } fields[] = {
        {offsetof(ahasd_device, matrix_ops_per_s), "matrix_ops_per_s"},
        {offsetof(ahasd_device, vector_ops_per_s), "vector_ops_per_s"},
        {offsetof(ahasd_device, compute_util), "compute_util"},
        {offsetof(ahasd_device, mem_bw_bytes_per_s), "mem_bw_bytes_per_s"},
        {offsetof(ahasd_device, mem_bw_util), "mem_bw_util"},
        {offsetof(ahasd_device, capacity_bytes), "capacity_bytes"},
        {offsetof(ahasd_device, link_bw_bytes_per_s), "link_bw_bytes_per_s"},
        {offsetof(ahasd_device, link_bw_util), "link_bw_util"},
        {offsetof(ahasd_device, onchip_bytes), "onchip_bytes"},
        {offsetof(ahasd_device, matrix_energy_per_op_j), "matrix_energy_per_op_j"},
        {offsetof(ahasd_device, vector_energy_per_op_j), "vector_energy_per_op_j"},
        {offsetof(ahasd_device, mem_energy_per_byte_j), "mem_energy_per_byte_j"},
        {offsetof(ahasd_device, link_energy_per_byte_j), "link_energy_per_byte_j"},
        {offsetof(ahasd_device, onchip_energy_per_byte_j), "onchip_energy_per_byte_j"},
        {offsetof(ahasd_device, static_w), "static_w"},
        {offsetof(ahasd_device, pass_overhead_s), "pass_overhead_s"},
        {offsetof(ahasd_device, op_overhead_s), "op_overhead_s"},
        {offsetof(ahasd_device, units), "units"},
        {offsetof(ahasd_device, aau_ops_per_s), "aau_ops_per_s"},
        {offsetof(ahasd_device, aau_energy_per_op_j), "aau_energy_per_op_j"},
        {offsetof(ahasd_device, switch_s), "switch_s"},
        {offsetof(ahasd_device, roundtrip_s), "roundtrip_s"},
    };
    static const double bad[3] = {-2.385, NAN, INFINITY};
    char want[64];
    int b;

    fixture_hardware_ahasd(&good, 1);
    CHECK(ahasd_hardware_validate(&good, &err) == AHASD_OK);
    fixture_hardware_ahasd(&hw, 0);
    CHECK(ahasd_hardware_validate(&hw, &err) == AHASD_OK);
    hw_gpu(&hw);
    CHECK(ahasd_hardware_validate(&hw, &err) == AHASD_OK);
    fixture_hardware_npu(&hw);
    CHECK(ahasd_hardware_validate(&hw, &err) == AHASD_OK);
    CHECK_ERR(ahasd_hardware_validate(NULL, &err), AHASD_ERR_NULL, "hardware");

    /* Every real field of the PIM rejects negative, NaN and infinite. */
    for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        for (b = 0; b < 3; b++) {
            hw = good;
            *(double *)((char *)&hw.dev[AHASD_DEV_PIM] + fields[i].off) = bad[b];
            snprintf(want, sizeof want, "pim.%s", fields[i].name);
            CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, want);
        }
    }
    /* ... and of the NPU (PIM-only fields must be 0 there). */
    for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        hw = good;
        *(double *)((char *)&hw.dev[AHASD_DEV_NPU] + fields[i].off) = -2.385;
        snprintf(want, sizeof want, "npu.%s", fields[i].name);
        CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, want);
    }
    hw = good;
    hw.dev[AHASD_DEV_NPU].switch_s = 2.385e-6;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "npu.switch_s");
    CHECK(strstr(err.msg, "PIM-only") != NULL);
    hw = good;
    hw.dev[AHASD_DEV_GPU].has_aau = 1;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "gpu.has_aau");

    /* Rates of a present device must be positive, utilisations in (0, 1]. */
    hw = good;
    hw.dev[AHASD_DEV_NPU].matrix_ops_per_s = 0.0;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "npu.matrix_ops_per_s");
    hw = good;
    hw.dev[AHASD_DEV_NPU].compute_util = 1.5;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "npu.compute_util");
    hw = good;
    hw.dev[AHASD_DEV_NPU].mem_bw_util = 0.0;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "npu.mem_bw_util");
    hw = good;
    hw.dev[AHASD_DEV_PIM].link_bw_util = 0.0;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "pim.link_bw_util");
    hw = good;
    hw.dev[AHASD_DEV_PIM].has_aau = 2;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "pim.has_aau");
    hw = good;
    hw.dev[AHASD_DEV_PIM].aau_ops_per_s = 0.0;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "pim.aau_ops_per_s");
    hw = good;
    hw.dev[AHASD_DEV_PIM].present = 3;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "pim.present");
    /* A PIM without an AAU needs a link and a host other than itself. */
    fixture_hardware_ahasd(&hw, 0);
    hw.dev[AHASD_DEV_PIM].link_bw_bytes_per_s = 0.0;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM,
              "pim.link_bw_bytes_per_s");
    fixture_hardware_ahasd(&hw, 0);
    hw.nonlinear_host_dev = AHASD_DEV_PIM;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "hw.nonlinear_host_dev");
    fixture_hardware_ahasd(&hw, 0);
    hw.nonlinear_host_dev = AHASD_DEV_CPU;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "hw.nonlinear_host_dev");
    hw = good;
    hw.nonlinear_host_dev = 7;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "hw.nonlinear_host_dev");
    /* A capacity limit needs a link to stream over. */
    hw_gpu(&hw);
    hw.dev[AHASD_DEV_GPU].link_bw_bytes_per_s = 0.0;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM,
              "gpu.link_bw_bytes_per_s");
    /* Roles name present devices. */
    hw = good;
    hw.verify_dev = AHASD_DEV_GPU;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "hw.verify_dev");
    hw = good;
    hw.draft_dev = -1;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "hw.draft_dev");
    /* Platform fields. */
    hw = good;
    hw.memory_capacity_bytes = NAN;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM,
              "hw.memory_capacity_bytes");
    hw = good;
    hw.memory_static_w = -2.385;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "hw.memory_static_w");
    hw = good;
    hw.contention = INFINITY;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "hw.contention");
    hw = good;
    hw.sync_s = -2.385e-6;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "hw.sync_s");
    hw = good;
    hw.rollback_s = NAN;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "hw.rollback_s");
    /* An absent device is not read beyond finiteness and sign. */
    hw = good;
    hw.dev[AHASD_DEV_CPU].mem_bw_bytes_per_s = 2.385e9;
    CHECK(ahasd_hardware_validate(&hw, &err) == AHASD_OK);
    hw.dev[AHASD_DEV_CPU].static_w = NAN;
    CHECK_ERR(ahasd_hardware_validate(&hw, &err), AHASD_ERR_BAD_PARAM, "cpu.static_w");
}

/* ------------------------------------------------------------------ */
/* Physics of the cost model                                            */
/* ------------------------------------------------------------------ */
static void test_autoregressive_bound(void)
{
    ahasd_hardware hw;
    ahasd_config cfg;
    ahasd_task_table tt;
    ahasd_error err;
    double wbytes = 0.0, bw;

    fixture_hardware_npu(&hw);
    cfg_make(&cfg, &hw, AHASD_SCHED_AUTOREGRESSIVE);
    CHECK(ahasd_model_size(&cfg.target, NULL, &wbytes, &err) == AHASD_OK);
    CHECK(ahasd_task_costs(&cfg, 128.0, &tt, &err) == AHASD_OK);
    bw = hw.dev[AHASD_DEV_NPU].mem_bw_bytes_per_s * hw.dev[AHASD_DEV_NPU].mem_bw_util;
    /* About 13 GB over 46 GB/s: 0.28 s, within 10% of weight bytes / bandwidth. */
    CHECK_CLOSE(tt.ar_step.time_s, wbytes / bw, 0.10, 0.0);
    CHECK(tt.ar_step.time_s > 0.25 && tt.ar_step.time_s < 0.32);
    /* Never faster than streaming the pass's weights at peak bandwidth. */
    CHECK(tt.ar_step.time_s >= (wbytes - 32000.0 * 5120.0) / hw.dev[0].mem_bw_bytes_per_s);
    CHECK(tt.ar_step.device == AHASD_DEV_NPU);
    CHECK(tt.verify[0].time_s == tt.ar_step.time_s);
    check_energy_sums(&tt.ar_step);
    CHECK_CLOSE(tt.ar_step.energy_by_cause_j[AHASD_E_STATIC_BUSY],
                hw.dev[AHASD_DEV_NPU].static_w * tt.ar_step.time_s, 1e-12, 0.0);
    /* Memory energy is dominated by 13 GB x 36 pJ/B = 0.47 J. */
    CHECK_CLOSE(tt.ar_step.energy_by_cause_j[AHASD_E_MEMORY], wbytes * 3.6e-11, 0.05, 0.0);
    /* The autoregressive schedule places no draft model. */
    CHECK(tt.fits_in_memory == 1);
    CHECK_CLOSE(tt.target_weight_bytes, 13015864320.0, 0.0, 1.0);
    CHECK_CLOSE(tt.kv_bytes_at_context, 128.0 * (2.0 * 40 * 5120 + 2.0 * 32 * 4096), 1e-12,
                0.0);
}

static void test_roofline(void)
{
    ahasd_hardware hw;
    ahasd_config cfg;
    ahasd_task_table tt;
    ahasd_error err;
    ahasd_model m = fixture_model_llama2_13b();
    ahasd_op ops[32], big[32];
    size_t n = 0, i;
    int k;

    fixture_hardware_npu(&hw);
    cfg_make(&cfg, &hw, AHASD_SCHED_SERIAL);
    CHECK(ahasd_task_costs(&cfg, 512.0, &tt, &err) == AHASD_OK);
    /* One position: memory-bound. */
    CHECK(tt.verify[0].memory_s > 100.0 * tt.verify[0].compute_s);
    /* Compute time grows with the positions; memory time barely. */
    for (k = 1; k <= tt.k_max; k++) {
        CHECK(tt.verify[k].compute_s > tt.verify[k - 1].compute_s ||
              tt.verify[k].memory_s > tt.verify[k - 1].memory_s);
        CHECK(tt.verify[k].time_s > tt.verify[k - 1].time_s);
        check_energy_sums(&tt.verify[k]);
    }
    CHECK(tt.verify[16].time_s < 1.05 * tt.verify[0].time_s);
    CHECK(tt.verify[16].energy_by_cause_j[AHASD_E_COMPUTE] >
          10.0 * tt.verify[0].energy_by_cause_j[AHASD_E_COMPUTE]);

    /* Per operator: every weight matmul is memory-bound at n = 1 and its
     * compute time is linear in n; at 4096 positions they turn
     * compute-bound (crossover at 2 n bw = rate: n ~ 139). */
    CHECK(ahasd_pass_ops(&hw, &m, AHASD_DEV_NPU, 1, 512.0, ops, 32, &n, &err) == AHASD_OK);
    CHECK(n == 16);
    CHECK(ahasd_pass_ops(&hw, &m, AHASD_DEV_NPU, 4096, 512.0, big, 32, &n, &err) == AHASD_OK);
    for (i = 0; i + 1 < n; i++) {
        if (ops[i].kind != AHASD_OP_MATMUL)
            continue;
        CHECK(ops[i].memory_bound == 1);
        CHECK(big[i].memory_bound == 0);
        CHECK_CLOSE(big[i].compute_s, 4096.0 * ops[i].compute_s, 1e-12, 0.0);
        CHECK_CLOSE(ops[i].compute_s, ops[i].ops / (16e12 * 0.8), 1e-12, 0.0);
        CHECK_CLOSE(ops[i].memory_s, ops[i].weight_bytes / (51.2e9 * 0.9), 1e-12, 0.0);
        CHECK_CLOSE(ops[i].time_s, ops[i].memory_s + ops[i].count * 2e-7, 1e-12, 0.0);
    }
    /* The shapes of a few operators. */
    CHECK(strcmp(ops[1].name, "qkv") == 0);
    CHECK_CLOSE(ops[1].ops, 40.0 * 2.0 * 5120.0 * 3.0 * 5120.0, 1e-15, 0.0);
    CHECK(strcmp(ops[3].name, "qk") == 0);
    CHECK_CLOSE(ops[3].ops, 40.0 * 2.0 * 5120.0 * 513.0, 1e-15, 0.0);
    CHECK_CLOSE(ops[3].kv_read_bytes, 40.0 * 5120.0 * 512.0, 1e-15, 0.0);
    CHECK(strcmp(ops[4].name, "softmax") == 0);
    CHECK_CLOSE(ops[4].nonlinear_elems, 40.0 * 40.0 * 513.0, 1e-15, 0.0);
    CHECK_CLOSE(ops[4].ops, 6.0 * 40.0 * 40.0 * 513.0, 1e-15, 0.0);
    CHECK(strcmp(ops[2].name, "kv_append") == 0);
    CHECK_CLOSE(ops[2].kv_write_bytes, 40.0 * 2.0 * 5120.0, 1e-15, 0.0);
    CHECK(strcmp(ops[13].name, "lm_head") == 0);
    CHECK_CLOSE(ops[13].weight_bytes, 32000.0 * 5120.0, 1e-15, 0.0);
    CHECK(strcmp(ops[14].name, "embed") == 0);
    CHECK_CLOSE(ops[14].weight_bytes, 5120.0, 1e-15, 0.0);
    CHECK(strcmp(ops[15].name, "pass") == 0);
    /* Position i of n attends to L + i + 1 keys: S = n L + n (n + 1) / 2. */
    CHECK_CLOSE(big[3].ops, 40.0 * 2.0 * 5120.0 * (4096.0 * 512.0 + 4096.0 * 4097.0 / 2.0),
                1e-12, 0.0);
}

static void test_compiled_equals_reference(void)
{
    ahasd_hardware hw;
    ahasd_config cfg;
    plat_t p;
    ahasd_cost c, part;
    ahasd_error err;
    double t, e;
    int aau, pos, spill;
    static const double ctxs[4] = {0.0, 127.0, 2385.0, 70000.0};
    int ci;

    /* Across devices, AAU or not, activations on chip or spilled, the
     * compiled pass equals the sum of the per-operator table, and a partial
     * pass over every layer with the head equals the whole pass. */
    for (spill = 0; spill < 2; spill++) {
        for (aau = 0; aau < 2; aau++) {
            fixture_hardware_ahasd(&hw, aau);
            if (spill) {
                hw.dev[AHASD_DEV_NPU].onchip_bytes = 20000.0;
                hw.dev[AHASD_DEV_PIM].onchip_bytes = 3000.0;
            }
            cfg_make(&cfg, &hw, AHASD_SCHED_AHASD);
            cfg.draft = fixture_model_opt_1_3b();
            CHECK(plat_init(&p, &cfg, &err) == AHASD_OK);
            for (ci = 0; ci < 4; ci++) {
                for (pos = 1; pos <= 33; pos += 8) {
                    plat_cost(&p, PLAT_VERIFY, pos - 1, ctxs[ci], &c);
                    sum_rows(&hw, &cfg.target, AHASD_DEV_NPU, pos, ctxs[ci], &t, &e);
                    CHECK_CLOSE(c.time_s, t, 1e-11, 0.0);
                    CHECK_CLOSE(c.energy_j, e, 1e-11, 0.0);
                    check_energy_sums(&c);
                    plat_pass_part(&p, 1, AHASD_DEV_NPU, pos, ctxs[ci], 40.0, 1, &part);
                    CHECK_CLOSE(part.time_s, c.time_s, 1e-11, 0.0);
                    CHECK_CLOSE(part.energy_j, c.energy_j, 1e-11, 0.0);
                    CHECK_CLOSE(part.memory_s, c.memory_s, 1e-11, 1e-15);
                    CHECK_CLOSE(part.compute_s, c.compute_s, 1e-11, 1e-15);

                    plat_cost(&p, PLAT_PREVERIFY, pos, ctxs[ci], &c);
                    sum_rows(&hw, &cfg.target, AHASD_DEV_PIM, pos, ctxs[ci], &t, &e);
                    CHECK_CLOSE(c.time_s, t, 1e-11, 0.0);
                    CHECK_CLOSE(c.energy_j, e, 1e-11, 0.0);
                    check_energy_sums(&c);
                }
                plat_cost(&p, PLAT_DRAFT, 0, ctxs[ci], &c);
                sum_rows(&hw, &cfg.draft, AHASD_DEV_PIM, 1, ctxs[ci], &t, &e);
                CHECK_CLOSE(c.time_s, t, 1e-11, 0.0);
                CHECK_CLOSE(c.energy_j, e, 1e-11, 0.0);
                CHECK(c.device == AHASD_DEV_PIM);
                plat_cost(&p, PLAT_SERIAL_DRAFT, 0, ctxs[ci], &c);
                sum_rows(&hw, &cfg.draft, AHASD_DEV_NPU, 1, ctxs[ci], &t, &e);
                CHECK_CLOSE(c.time_s, t, 1e-11, 0.0);
                CHECK(c.device == AHASD_DEV_NPU);
            }
            /* Half the layers without the head: less than half a pass. */
            plat_pass_part(&p, 1, AHASD_DEV_NPU, 5, 300.0, 20.0, 0, &part);
            plat_cost(&p, PLAT_VERIFY, 4, 300.0, &c);
            CHECK(part.time_s < 0.5 * c.time_s && part.time_s > 0.4 * c.time_s);
            plat_pass_part(&p, 1, AHASD_DEV_NPU, 5, 300.0, 0.0, 0, &part);
            CHECK(part.time_s == 0.0 && part.device == AHASD_DEV_NPU);
        }
    }
}

/* The same equality on a GPU (no overflow: capacity 0) and a CPU, with a
 * plain-FFN target (no gate_mul group) and GELU/LayerNorm. */
static void test_compiled_other_devices(void)
{
    ahasd_hardware hw;
    ahasd_config cfg;
    plat_t p;
    ahasd_cost c;
    ahasd_error err;
    double t, e;
    int pos;

    hw_gpu(&hw);
    hw.dev[AHASD_DEV_GPU].capacity_bytes = 0.0;
    hw.dev[AHASD_DEV_CPU] = hw.dev[AHASD_DEV_GPU];
    hw.dev[AHASD_DEV_CPU].onchip_bytes = 4096.0;        /* spills */
    hw.dev[AHASD_DEV_CPU].mem_bw_bytes_per_s = 25.6e9;
    hw.verify_dev = AHASD_DEV_CPU;
    cfg_make(&cfg, &hw, AHASD_SCHED_SYNC);
    cfg.target = fixture_model_opt_1_3b();
    cfg.target.act_kind = AHASD_ACT_GELU;
    CHECK(plat_init(&p, &cfg, &err) == AHASD_OK);
    for (pos = 1; pos <= 17; pos += 4) {
        plat_cost(&p, PLAT_VERIFY, pos - 1, 333.0, &c);
        sum_rows(&hw, &cfg.target, AHASD_DEV_CPU, pos, 333.0, &t, &e);
        CHECK_CLOSE(c.time_s, t, 1e-11, 0.0);
        CHECK_CLOSE(c.energy_j, e, 1e-11, 0.0);
        check_energy_sums(&c);
    }
    plat_cost(&p, PLAT_DRAFT, 0, 333.0, &c);
    sum_rows(&hw, &cfg.draft, AHASD_DEV_GPU, 1, 333.0, &t, &e);
    CHECK_CLOSE(c.time_s, t, 1e-11, 0.0);
    CHECK_CLOSE(c.energy_j, e, 1e-11, 0.0);
    /* GPU launch overheads: 3 us per operator instance (12 per layer, 3
     * per pass), far below the weight streaming of a 7B model. */
    CHECK(c.overhead_s > 32 * 11 * 3e-6 && c.overhead_s < 0.1 * c.time_s);
}

static void test_pim_aau(void)
{
    ahasd_hardware hw;
    ahasd_config cfg;
    ahasd_task_table with, without;
    ahasd_error err;
    ahasd_model m = fixture_model_llama2_7b();
    ahasd_op a[32], s[32];
    size_t n = 0, i;
    double nl_instances = 0.0, host_j = 0.0, aau_j = 0.0;

    fixture_hardware_ahasd(&hw, 1);
    cfg_make(&cfg, &hw, AHASD_SCHED_AHASD);
    CHECK(ahasd_task_costs(&cfg, 640.0, &with, &err) == AHASD_OK);
    cfg.hw.dev[AHASD_DEV_PIM].has_aau = 0;
    CHECK(ahasd_task_costs(&cfg, 640.0, &without, &err) == AHASD_OK);
    CHECK(with.draft_token.device == AHASD_DEV_PIM);
    CHECK(without.draft_token.device == AHASD_DEV_PIM);
    /* The NPU's verification does not change. */
    CHECK(with.verify[4].time_s == without.verify[4].time_s);

    CHECK(ahasd_pass_ops(&hw, &m, AHASD_DEV_PIM, 1, 640.0, a, 32, &n, &err) == AHASD_OK);
    hw.dev[AHASD_DEV_PIM].has_aau = 0;
    CHECK(ahasd_pass_ops(&hw, &m, AHASD_DEV_PIM, 1, 640.0, s, 32, &n, &err) == AHASD_OK);
    for (i = 0; i < n; i++) {
        if (a[i].kind != AHASD_OP_NONLINEAR || strcmp(a[i].name, "gate_mul") == 0) {
            /* Matrix, elementwise and memory operators stay in the PIM. */
            CHECK(a[i].time_s == s[i].time_s);
            continue;
        }
        nl_instances += a[i].count;
        /* With the AAU: in memory at the AAU's rate and energy. */
        CHECK_CLOSE(a[i].compute_s, a[i].ops / (16 * 2.5e9), 1e-12, 0.0);
        aau_j += a[i].ops * 18.5e-3 / 2.5e9;
        /* Without: activations out and back over the 51.2 GB/s bus, a
         * round trip per instance, the NPU's vector unit, serially. */
        CHECK_CLOSE(s[i].memory_s, (s[i].act_bytes + s[i].weight_bytes) / (51.2e9 * 0.9), 1e-12,
                    0.0);
        CHECK_CLOSE(s[i].compute_s, s[i].ops / (8.2e12 * 0.8), 1e-12, 0.0);
        CHECK_CLOSE(s[i].time_s,
                    s[i].compute_s + s[i].memory_s + s[i].count * (1e-6 + 1e-7), 1e-12, 0.0);
        host_j += s[i].ops * 2.35e-13;
    }
    CHECK(nl_instances == 32.0 * 4.0 + 1.0);   /* 2 norms, softmax, SiLU per layer; final norm */
    CHECK_CLOSE(without.draft_token.overhead_s - with.draft_token.overhead_s,
                nl_instances * 1e-6, 1e-9, 0.0);
    CHECK(without.draft_token.time_s != with.draft_token.time_s);
    CHECK_CLOSE(with.draft_token.energy_by_cause_j[AHASD_E_COMPUTE] -
                without.draft_token.energy_by_cause_j[AHASD_E_COMPUTE], aau_j - host_j, 1e-9,
                0.0);
    CHECK(without.draft_token.energy_by_cause_j[AHASD_E_MEMORY] >
          with.draft_token.energy_by_cause_j[AHASD_E_MEMORY]);
    check_energy_sums(&with.draft_token);
    check_energy_sums(&without.draft_token);

    /* The worked number of MODEL.md: a 7B draft token on the PIM is
     * bandwidth-bound at 256 GB/s under the per-unit reading (~0.03 s) and
     * compute-bound at ~0.13 s if 102.4 GOPS were the total. */
    CHECK(with.draft_token.time_s > 0.025 && with.draft_token.time_s < 0.035);
    CHECK(with.draft_token.memory_s > with.draft_token.compute_s);
    cfg.hw.dev[AHASD_DEV_PIM].has_aau = 1;
    cfg.hw.dev[AHASD_DEV_PIM].matrix_ops_per_s = 102.4e9;
    CHECK(ahasd_task_costs(&cfg, 640.0, &with, &err) == AHASD_OK);
    CHECK(with.draft_token.time_s > 0.12 && with.draft_token.time_s < 0.15);
    CHECK(with.draft_token.compute_s > with.draft_token.memory_s);
    /* Pre-verification is the target on the PIM: m positions. */
    CHECK(with.preverify[0].time_s == 0.0 && with.preverify[0].device == AHASD_DEV_PIM);
    CHECK(with.preverify[1].time_s > 0.0 && with.preverify[8].time_s > with.preverify[1].time_s);
    CHECK(with.preverify[9].time_s == 0.0);
    CHECK(with.switch_s == 5e-7 && with.sync_s == 1e-6 && with.rollback_s == 1e-6);
}

static void test_overflow(void)
{
    ahasd_hardware hw;
    ahasd_config cfg;
    plat_t p, q;
    ahasd_cost c, d;
    ahasd_error err;
    double wd = 0.0, wt = 0.0, cap, stream, ctx = 1000.0, kvt = 2.0 * 40 * 5120;

    hw_gpu(&hw);
    cfg_make(&cfg, &hw, AHASD_SCHED_SERIAL);
    CHECK(ahasd_model_size(&cfg.draft, NULL, &wd, &err) == AHASD_OK);
    CHECK(ahasd_model_size(&cfg.target, NULL, &wt, &err) == AHASD_OK);
    cap = hw.dev[AHASD_DEV_GPU].capacity_bytes;
    /* 6.7 GB draft + 13.0 GB target > 16.1 GB: the target's tail streams. */
    CHECK(plat_init(&p, &cfg, &err) == AHASD_OK);
    CHECK(p.overflow_streamed == 1);
    CHECK(p.fits_in_memory == 0);
    cfg.hw.dev[AHASD_DEV_GPU].capacity_bytes = 0.0;
    CHECK(plat_init(&q, &cfg, &err) == AHASD_OK);
    CHECK(q.overflow_streamed == 0);
    plat_cost(&p, PLAT_VERIFY, 3, ctx, &c);
    plat_cost(&q, PLAT_VERIFY, 3, ctx, &d);
    /* Streamed: the target's weights beyond capacity and its whole KV cache
     * (the draft's KV is placed before it). */
    stream = (wd + wt - cap) + kvt * ctx;
    CHECK_CLOSE(c.time_s - d.time_s, stream / (31.5e9 * 0.8), 1e-9, 0.0);
    CHECK_CLOSE(c.memory_s - d.memory_s, stream / (31.5e9 * 0.8), 1e-9, 0.0);
    CHECK_CLOSE(c.energy_by_cause_j[AHASD_E_MEMORY] - d.energy_by_cause_j[AHASD_E_MEMORY],
                stream * 1e-10, 1e-9, 0.0);
    check_energy_sums(&c);
    /* The draft's weights, placed first, fit; its KV cache, placed after
     * both models' weights, does not. */
    plat_cost(&p, PLAT_SERIAL_DRAFT, 0, ctx, &c);
    plat_cost(&q, PLAT_SERIAL_DRAFT, 0, ctx, &d);
    CHECK_CLOSE(c.time_s - d.time_s, 2.0 * 32 * 4096 * ctx / (31.5e9 * 0.8), 1e-9, 0.0);

    /* Autoregressive: the target alone fits in 16.1 GB. */
    cfg_make(&cfg, &hw, AHASD_SCHED_AUTOREGRESSIVE);
    CHECK(plat_init(&p, &cfg, &err) == AHASD_OK);
    CHECK(p.overflow_streamed == 0);
    CHECK(p.fits_in_memory == 1);
    CHECK(p.draft_weight_bytes == wd);
    /* ... until its KV cache does not: at 8e6 tokens of context. */
    plat_cost(&p, PLAT_VERIFY, 0, 8e6, &c);
    stream = wt + kvt * 8e6 - cap;
    cfg.hw.dev[AHASD_DEV_GPU].capacity_bytes = 0.0;
    CHECK(plat_init(&q, &cfg, &err) == AHASD_OK);
    plat_cost(&q, PLAT_VERIFY, 0, 8e6, &d);
    CHECK_CLOSE(c.time_s - d.time_s, stream / (31.5e9 * 0.8), 1e-9, 0.0);
    /* An autoregressive run with an unset draft model is fine. */
    memset(&cfg.draft, 0, sizeof cfg.draft);
    CHECK(plat_init(&p, &cfg, &err) == AHASD_OK);
    plat_cost(&p, PLAT_DRAFT, 0, 100.0, &c);
    CHECK(c.time_s == 0.0 && c.energy_j == 0.0);
    CHECK(p.draft_weight_bytes == 0.0 && plat_kv_bytes(&p, 0, 100.0) == 0.0);

    /* The per-operator table places the model alone: 13 GB fits in a
     * 10 GB-capacity GPU only partly. */
    hw.dev[AHASD_DEV_GPU].capacity_bytes = 10e9;
    {
        ahasd_op ops[32];
        size_t n = 0;
        ahasd_model m = fixture_model_llama2_13b();
        CHECK(ahasd_pass_ops(&hw, &m, AHASD_DEV_GPU, 1, 100.0, ops, 32, &n, &err) == AHASD_OK);
        CHECK_CLOSE(ops[n - 1].weight_bytes, wt - 10e9, 1e-12, 0.0);
        CHECK_CLOSE(ops[n - 1].kv_read_bytes, kvt * 100.0, 1e-12, 0.0);
        CHECK_CLOSE(ops[n - 1].memory_s, (wt - 10e9 + kvt * 100.0) / (31.5e9 * 0.8), 1e-12, 0.0);
    }
}

static void test_plat_fields(void)
{
    ahasd_hardware hw;
    ahasd_config cfg;
    plat_t p;
    ahasd_error err;

    fixture_hardware_ahasd(&hw, 1);
    cfg_make(&cfg, &hw, AHASD_SCHED_ASYNC);
    CHECK(plat_init(&p, &cfg, &err) == AHASD_OK);
    CHECK(p.explicit_costs == 0);
    CHECK(p.present[AHASD_DEV_NPU] && p.present[AHASD_DEV_PIM] && p.present[AHASD_DEV_MEM]);
    CHECK(!p.present[AHASD_DEV_GPU] && !p.present[AHASD_DEV_CPU]);
    CHECK(p.idle_w[AHASD_DEV_NPU] == 0.3 && p.busy_static_w[AHASD_DEV_NPU] == 0.3);
    CHECK(p.idle_w[AHASD_DEV_PIM] == 0.16 && p.busy_static_w[AHASD_DEV_PIM] == 0.16);
    CHECK(p.idle_w[AHASD_DEV_MEM] == 0.4 && p.busy_static_w[AHASD_DEV_MEM] == 0.0);
    CHECK(p.idle_w[AHASD_DEV_GPU] == 0.0);
    CHECK(p.sync_s == 1e-6 && p.rollback_s == 1e-6 && p.switch_s == 5e-7);
    CHECK(p.contention == 0.1);
    CHECK(p.draft_dev == AHASD_DEV_PIM && p.verify_dev == AHASD_DEV_NPU);
    CHECK(p.fits_in_memory == 1 && p.overflow_streamed == 0);
    CHECK_CLOSE(p.draft_weight_bytes, 6738415616.0, 0.0, 1.0);
    CHECK_CLOSE(plat_kv_bytes(&p, 1, 1000.0), 2.0 * 40 * 5120 * 1000.0, 1e-15, 0.0);
    CHECK_CLOSE(plat_kv_bytes(&p, 0, 1000.0), 2.0 * 32 * 4096 * 1000.0, 1e-15, 0.0);
    CHECK(plat_kv_bytes(&p, 1, -2.385) == 0.0);
    /* Memory too small for both models and caches. */
    cfg.hw.memory_capacity_bytes = 19e9;
    CHECK(plat_init(&p, &cfg, &err) == AHASD_OK);
    CHECK(p.fits_in_memory == 0);
    /* No memory background power: MEM absent. */
    cfg.hw.memory_static_w = 0.0;
    CHECK(plat_init(&p, &cfg, &err) == AHASD_OK);
    CHECK(!p.present[AHASD_DEV_MEM]);
    /* Out-of-range tasks and positions never crash. */
    {
        ahasd_cost c;
        plat_cost(&p, 7, 3, 10.0, &c);
        CHECK(c.time_s == 0.0 && c.device == -1);
        plat_cost(&p, PLAT_VERIFY, -4, 10.0, &c);
        CHECK(c.time_s > 0.0);
    }

    /* plat_init validates what it reads. */
    cfg_make(&cfg, &hw, AHASD_SCHED_SYNC);
    cfg.draft.kv_heads = 5;
    CHECK_ERR(plat_init(&p, &cfg, &err), AHASD_ERR_BAD_PARAM, "draft.kv_heads");
    cfg_make(&cfg, &hw, AHASD_SCHED_SYNC);
    cfg.target.act_bytes = NAN;
    CHECK_ERR(plat_init(&p, &cfg, &err), AHASD_ERR_BAD_PARAM, "target.act_bytes");
    cfg_make(&cfg, &hw, AHASD_SCHED_SYNC);
    cfg.hw.dev[AHASD_DEV_PIM].mem_bw_bytes_per_s = -2.385;
    CHECK_ERR(plat_init(&p, &cfg, &err), AHASD_ERR_BAD_PARAM, "pim.mem_bw_bytes_per_s");
    cfg_make(&cfg, &hw, 9);
    CHECK_ERR(plat_init(&p, &cfg, &err), AHASD_ERR_BAD_PARAM, "schedule");
    cfg_make(&cfg, &hw, AHASD_SCHED_SYNC);
    cfg.gen_len = 0;
    CHECK_ERR(plat_init(&p, &cfg, &err), AHASD_ERR_BAD_PARAM, "gen_len");
    cfg_make(&cfg, &hw, AHASD_SCHED_SYNC);
    cfg.prompt_len = -1;
    CHECK_ERR(plat_init(&p, &cfg, &err), AHASD_ERR_BAD_PARAM, "prompt_len");
    cfg_make(&cfg, &hw, AHASD_SCHED_SYNC);
    cfg.use_explicit_costs = 2;
    CHECK_ERR(plat_init(&p, &cfg, &err), AHASD_ERR_BAD_PARAM, "use_explicit_costs");
    CHECK_ERR(plat_init(NULL, &cfg, &err), AHASD_ERR_NULL, "NULL");
}

static void test_explicit(void)
{
    ahasd_hardware hw;
    ahasd_config cfg;
    plat_t p;
    ahasd_cost c;
    ahasd_task_table tt;
    ahasd_error err;
    int d;

    memset(&hw, 0, sizeof hw);
    hw.draft_dev = AHASD_DEV_PIM;
    hw.verify_dev = AHASD_DEV_NPU;
    cfg_make(&cfg, &hw, AHASD_SCHED_AHASD);
    memset(&cfg.draft, 0, sizeof cfg.draft);     /* not read */
    memset(&cfg.target, 0, sizeof cfg.target);
    cfg.use_explicit_costs = 1;
    cfg.costs.draft_token_s = 0.011;
    cfg.costs.verify_base_s = 0.25;
    cfg.costs.verify_per_token_s = 0.002;
    cfg.costs.preverify_token_s = 0.021;
    cfg.costs.draft_token_j = 0.05;
    cfg.costs.verify_base_j = 0.9;
    cfg.costs.verify_per_token_j = 0.01;
    cfg.costs.preverify_token_j = 0.07;
    cfg.costs.sync_s = 2e-6;
    cfg.costs.rollback_s = 3e-6;
    cfg.costs.switch_s = 4e-7;
    cfg.costs.idle_w[AHASD_DEV_CPU] = 0.25;
    CHECK(plat_init(&p, &cfg, &err) == AHASD_OK);
    CHECK(p.explicit_costs == 1);
    CHECK(p.present[AHASD_DEV_PIM] && p.present[AHASD_DEV_NPU] && p.present[AHASD_DEV_CPU]);
    CHECK(!p.present[AHASD_DEV_GPU] && !p.present[AHASD_DEV_MEM]);
    for (d = 0; d < AHASD_N_DEVICES; d++)
        CHECK(p.busy_static_w[d] == 0.0);
    CHECK(p.idle_w[AHASD_DEV_CPU] == 0.25);
    CHECK(p.sync_s == 2e-6 && p.rollback_s == 3e-6 && p.switch_s == 4e-7);
    plat_cost(&p, PLAT_VERIFY, 4, 1e4, &c);
    CHECK_CLOSE(c.time_s, 0.25 + 4 * 0.002, 1e-15, 0.0);
    CHECK_CLOSE(c.energy_j, 0.9 + 4 * 0.01, 1e-15, 0.0);
    CHECK(c.energy_by_cause_j[AHASD_E_TASK] == c.energy_j);
    CHECK(c.device == AHASD_DEV_NPU);
    check_energy_sums(&c);
    plat_cost(&p, PLAT_PREVERIFY, 3, 0.0, &c);
    CHECK_CLOSE(c.time_s, 3 * 0.021, 1e-15, 0.0);
    CHECK(c.device == AHASD_DEV_PIM);
    plat_cost(&p, PLAT_DRAFT, 9, 0.0, &c);
    CHECK(c.time_s == 0.011 && c.energy_j == 0.05 && c.device == AHASD_DEV_PIM);
    plat_cost(&p, PLAT_SERIAL_DRAFT, 0, 0.0, &c);
    CHECK(c.time_s == 0.011 && c.device == AHASD_DEV_NPU);
    CHECK(ahasd_task_costs(&cfg, 300.0, &tt, &err) == AHASD_OK);
    CHECK(tt.verify[16].time_s == 0.25 + 16 * 0.002);
    CHECK(tt.kv_bytes_at_context == 0.0 && tt.fits_in_memory == 1);

    cfg.costs.verify_base_s = -2.385;
    CHECK_ERR(plat_init(&p, &cfg, &err), AHASD_ERR_BAD_PARAM, "costs.verify_base_s");
    cfg.costs.verify_base_s = 0.25;
    cfg.costs.preverify_token_j = NAN;
    CHECK_ERR(plat_init(&p, &cfg, &err), AHASD_ERR_BAD_PARAM, "costs.preverify_token_j");
    cfg.costs.preverify_token_j = 0.07;
    cfg.costs.idle_w[3] = INFINITY;
    CHECK_ERR(plat_init(&p, &cfg, &err), AHASD_ERR_BAD_PARAM, "costs.idle_w[3]");
    cfg.costs.idle_w[3] = 0.0;
    cfg.hw.verify_dev = 4;
    CHECK_ERR(plat_init(&p, &cfg, &err), AHASD_ERR_BAD_PARAM, "hw.verify_dev");
}

static void test_public_errors(void)
{
    ahasd_hardware hw;
    ahasd_config cfg;
    ahasd_task_table tt;
    ahasd_error err;
    ahasd_model m = fixture_model_opt_1_3b();
    ahasd_op ops[32];
    size_t n = 99;

    fixture_hardware_ahasd(&hw, 1);
    cfg_make(&cfg, &hw, AHASD_SCHED_AHASD);
    CHECK_ERR(ahasd_task_costs(NULL, 1.0, &tt, &err), AHASD_ERR_NULL, "NULL");
    CHECK_ERR(ahasd_task_costs(&cfg, 1.0, NULL, &err), AHASD_ERR_NULL, "NULL");
    CHECK_ERR(ahasd_task_costs(&cfg, NAN, &tt, &err), AHASD_ERR_BAD_PARAM, "context");
    CHECK_ERR(ahasd_task_costs(&cfg, -2.385, &tt, &err), AHASD_ERR_BAD_PARAM, "context");
    cfg.policy.k_max = 0;
    CHECK_ERR(ahasd_task_costs(&cfg, 1.0, &tt, &err), AHASD_ERR_BAD_PARAM, "policy.k_max");
    cfg.policy.k_max = 33;
    CHECK_ERR(ahasd_task_costs(&cfg, 1.0, &tt, &err), AHASD_ERR_BAD_PARAM, "policy.k_max");
    cfg.policy.k_max = 32;
    cfg.m_max = 33;
    CHECK_ERR(ahasd_task_costs(&cfg, 1.0, &tt, &err), AHASD_ERR_BAD_PARAM, "m_max");
    cfg.m_max = 32;
    CHECK(ahasd_task_costs(&cfg, 1.0, &tt, &err) == AHASD_OK);
    CHECK(tt.k_max == 32 && tt.m_max == 32 && tt.verify[32].time_s > 0.0);
    CHECK(tt.preverify[32].time_s > 0.0);

    /* Operator table: size query, short buffer, bad arguments. */
    CHECK(ahasd_pass_ops(&hw, &m, AHASD_DEV_NPU, 1, 10.0, NULL, 0, &n, &err) == AHASD_OK);
    CHECK(n == 15);                   /* plain FFN: no gate_mul, plus "pass" */
    memset(ops, 0, sizeof ops);
    CHECK_ERR(ahasd_pass_ops(&hw, &m, AHASD_DEV_NPU, 1, 10.0, ops, 3, &n, &err),
              AHASD_ERR_BUFFER, "cap");
    CHECK(n == 15 && strcmp(ops[2].name, "kv_append") == 0 && ops[3].name[0] == '\0');
    CHECK_ERR(ahasd_pass_ops(&hw, &m, AHASD_DEV_NPU, 1, 10.0, NULL, 3, &n, &err), AHASD_ERR_NULL,
              "NULL");
    CHECK_ERR(ahasd_pass_ops(&hw, NULL, AHASD_DEV_NPU, 1, 10.0, ops, 32, &n, &err),
              AHASD_ERR_NULL, "NULL");
    CHECK_ERR(ahasd_pass_ops(&hw, &m, AHASD_DEV_GPU, 1, 10.0, ops, 32, &n, &err),
              AHASD_ERR_BAD_PARAM, "device");
    CHECK_ERR(ahasd_pass_ops(&hw, &m, 5, 1, 10.0, ops, 32, &n, &err), AHASD_ERR_BAD_PARAM,
              "device");
    CHECK_ERR(ahasd_pass_ops(&hw, &m, AHASD_DEV_NPU, 0, 10.0, ops, 32, &n, &err),
              AHASD_ERR_BAD_PARAM, "n_positions");
    CHECK_ERR(ahasd_pass_ops(&hw, &m, AHASD_DEV_NPU, 1, INFINITY, ops, 32, &n, &err),
              AHASD_ERR_BAD_PARAM, "context");
    m.vocab = 0;
    CHECK_ERR(ahasd_pass_ops(&hw, &m, AHASD_DEV_NPU, 1, 10.0, ops, 32, &n, &err),
              AHASD_ERR_BAD_PARAM, "model.vocab");
    hw.dev[AHASD_DEV_NPU].op_overhead_s = NAN;
    m = fixture_model_opt_1_3b();
    CHECK_ERR(ahasd_pass_ops(&hw, &m, AHASD_DEV_NPU, 1, 10.0, ops, 32, &n, &err),
              AHASD_ERR_BAD_PARAM, "npu.op_overhead_s");
}

void test_costs(void)
{
    test_hw_validate();
    test_autoregressive_bound();
    test_roofline();
    test_compiled_equals_reference();
    test_compiled_other_devices();
    test_pim_aau();
    test_overflow();
    test_plat_fields();
    test_explicit();
    test_public_errors();
}
