/*
 * fixture.c -- the shared test configurations declared in fixture.h.
 */
#include <string.h>

#include "fixture.h"

void fixture_device_npu(ahasd_device *v)
{
    memset(v, 0, sizeof *v);
    v->present = 1;
    v->matrix_ops_per_s = 16e12;
    v->vector_ops_per_s = 8.2e12;
    v->compute_util = 0.8;
    v->mem_bw_bytes_per_s = 51.2e9;
    v->mem_bw_util = 0.9;
    v->onchip_bytes = 8388608.0;
    v->matrix_energy_per_op_j = 8.63e-14;
    v->vector_energy_per_op_j = 2.35e-13;
    v->mem_energy_per_byte_j = 3.6e-11;
    v->onchip_energy_per_byte_j = 6e-13;
    v->static_w = 0.3;
    v->pass_overhead_s = 1e-6;
    v->op_overhead_s = 2e-7;
}

void fixture_device_pim(ahasd_device *v, int aau)
{
    memset(v, 0, sizeof *v);
    v->present = 1;
    v->matrix_ops_per_s = 16 * 102.4e9;
    v->compute_util = 1.0;
    v->mem_bw_bytes_per_s = 256e9;
    v->mem_bw_util = 0.9;
    v->link_bw_bytes_per_s = 51.2e9;
    v->link_bw_util = 0.9;
    v->onchip_bytes = 524288.0;
    v->matrix_energy_per_op_j = 5e-13;
    v->mem_energy_per_byte_j = 4.4e-12;
    v->link_energy_per_byte_j = 3.6e-11;
    v->onchip_energy_per_byte_j = 2e-13;
    v->static_w = 0.16;
    v->pass_overhead_s = 1e-6;
    v->op_overhead_s = 1e-7;
    v->units = 16;
    v->has_aau = aau;
    v->aau_ops_per_s = 16 * 2.5e9;
    v->aau_energy_per_op_j = 18.5e-3 / 2.5e9;
    v->switch_s = 5e-7;
    v->roundtrip_s = 1e-6;
}

void fixture_hardware_npu(ahasd_hardware *hw)
{
    memset(hw, 0, sizeof *hw);
    fixture_device_npu(&hw->dev[AHASD_DEV_NPU]);
    hw->memory_capacity_bytes = 68719476736.0;
    hw->memory_static_w = 0.4;
    hw->sync_s = 1e-6;
    hw->rollback_s = 1e-6;
    hw->draft_dev = AHASD_DEV_NPU;
    hw->verify_dev = AHASD_DEV_NPU;
    hw->nonlinear_host_dev = AHASD_DEV_NPU;
}

void fixture_hardware_ahasd(ahasd_hardware *hw, int aau)
{
    fixture_hardware_npu(hw);
    fixture_device_pim(&hw->dev[AHASD_DEV_PIM], aau);
    hw->contention = 0.1;
    hw->draft_dev = AHASD_DEV_PIM;
}

ahasd_model fixture_model_llama2(int layers, int hidden, int ffn)
{
    ahasd_model m;

    memset(&m, 0, sizeof m);
    m.layers = layers;
    m.hidden = hidden;
    m.heads = hidden / 128;
    m.kv_heads = m.heads;
    m.ffn = ffn;
    m.ffn_kind = AHASD_FFN_GATED;
    m.act_kind = AHASD_ACT_SILU;
    m.norm_kind = AHASD_NORM_RMSNORM;
    m.vocab = 32000;
    m.weight_bytes = 1.0;
    m.kv_bytes = 1.0;
    m.act_bytes = 1.0;
    return m;
}

ahasd_model fixture_model_llama2_7b(void)
{
    return fixture_model_llama2(32, 4096, 11008);
}

ahasd_model fixture_model_llama2_13b(void)
{
    return fixture_model_llama2(40, 5120, 13824);
}

ahasd_model fixture_model_opt_1_3b(void)
{
    ahasd_model m;

    memset(&m, 0, sizeof m);
    m.layers = 24;
    m.hidden = 2048;
    m.heads = 32;
    m.kv_heads = 32;
    m.ffn = 8192;
    m.ffn_kind = AHASD_FFN_PLAIN;
    m.act_kind = AHASD_ACT_RELU;
    m.norm_kind = AHASD_NORM_LAYERNORM;
    m.vocab = 50272;
    m.tied_embeddings = 1;
    m.weight_bytes = 1.0;
    m.kv_bytes = 1.0;
    m.act_bytes = 1.0;
    return m;
}

void fixture_config_ahasd(ahasd_config *cfg, int sched)
{
    ahasd_error err;

    ahasd_config_default(cfg, &err);
    cfg->schedule = sched;
    fixture_hardware_ahasd(&cfg->hw, 1);
    cfg->draft = fixture_model_llama2_7b();
    cfg->target = fixture_model_llama2_13b();
    ahasd_profile_iid(&cfg->profile, 0.75, &err);
}

void fixture_config_explicit(ahasd_config *cfg, int sched, const ahasd_explicit_costs *costs,
                             int k, double alpha)
{
    ahasd_error err;

    ahasd_config_default(cfg, &err);
    cfg->schedule = sched;
    cfg->use_explicit_costs = 1;
    cfg->costs = *costs;
    cfg->policy.kind = AHASD_POLICY_FIXED;
    cfg->policy.k = k;
    ahasd_profile_iid(&cfg->profile, alpha, &err);
}

void fixture_profile_regimes(ahasd_profile *p, double stay)
{
    memset(p, 0, sizeof *p);
    p->buckets = 2;
    p->h_max = 4.0;
    p->q[0] = stay;
    p->q[1] = 1.0 - stay;
    p->q[AHASD_MAX_BUCKETS] = 1.0 - stay;
    p->q[AHASD_MAX_BUCKETS + 1] = stay;
    p->accept[0] = 0.95;
    p->accept[1] = 0.3;
    p->position_decay = 0.98;
    p->pred_scale = 1.0;
}
