/*
 * config.c -- defaults and whole-configuration validation.
 *
 * Validation is layered: each module validates its own struct
 * (ahasd_model_validate, ahasd_hardware_validate, ahasd_profile_validate,
 * ahasd_policy_validate); this file checks the run parameters and that the
 * schedule can run on the configured devices.
 */
#include <string.h>

#include "internal.h"

int ahasd_config_default(ahasd_config *cfg, ahasd_error *err)
{
    int ret = AHASD_OK;

    if (cfg == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "config pointer is NULL");
        goto out;
    }
    memset(cfg, 0, sizeof *cfg);
    cfg->schedule = AHASD_SCHED_SYNC;
    cfg->hw.draft_dev = AHASD_DEV_PIM;
    cfg->hw.verify_dev = AHASD_DEV_NPU;
    cfg->hw.nonlinear_host_dev = AHASD_DEV_NPU;
    cfg->policy.kind = AHASD_POLICY_FIXED;
    cfg->policy.k = 4;
    cfg->policy.k_min = 1;
    cfg->policy.k_max = 16;
    cfg->policy.svip_c = 0.15;
    cfg->policy.svip_h = 0.4;
    cfg->policy.adaedl_gamma = 0.5;
    cfg->policy.adaedl_lambda = 0.5;
    cfg->policy.specdecpp_tau = 0.5;
    cfg->policy.specdecpp_grid = 128;
    cfg->policy.n_arms = 5;
    cfg->policy.arms[0] = 1;
    cfg->policy.arms[1] = 2;
    cfg->policy.arms[2] = 4;
    cfg->policy.arms[3] = 6;
    cfg->policy.arms[4] = 8;
    cfg->policy.bandit_explore = 1.4142135623730951;
    cfg->policy.bandit_cost_ratio = 0.0;
    /* a binary token tree of depth 4 (30 nodes), no pruning */
    cfg->policy.tree_depth = 4;
    for (int d = 0; d < AHASD_MAX_TREE_DEPTH; d++)
        cfg->policy.tree_branch[d] = d < 4 ? 2 : 1;
    cfg->policy.tree_prune = 0.0;
    ret = ahasd_profile_iid(&cfg->profile, 0.8, err);
    if (ret != AHASD_OK)
        goto out;
    cfg->prompt_len = 128;
    cfg->gen_len = 1024;
    cfg->l_max = 3;
    cfg->m_max = 8;
    cfg->k_design = 0;
    cfg->segments = 2;
    cfg->tvc_predictor = AHASD_TVC_MOVING_AVERAGE;
out:
    return ret;
}

static int two_devices(int s)
{
    return s == AHASD_SCHED_SYNC || s == AHASD_SCHED_PARTITIONED || s == AHASD_SCHED_ASYNC ||
           s == AHASD_SCHED_ASYNC_EDC || s == AHASD_SCHED_AHASD;
}

int ahasd_config_validate(const ahasd_config *cfg, ahasd_error *err)
{
    int ret = AHASD_OK;
    const char *sname;

    if (cfg == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "config pointer is NULL");
        goto out;
    }
    if ((ret = err_check_int(err, "", "schedule", cfg->schedule, 0, AHASD_N_SCHEDULES - 1)))
        goto out;
    sname = ahasd_schedule_name(cfg->schedule);
    if ((ret = err_check_int(err, "", "prompt_len", cfg->prompt_len, 0, 1L << 24)))
        goto out;
    if ((ret = err_check_int(err, "", "gen_len", cfg->gen_len, 1, 1L << 24)))
        goto out;
    if ((ret = err_check_int(err, "", "l_max", cfg->l_max, 1, AHASD_MAX_LMAX)))
        goto out;
    if ((ret = err_check_int(err, "", "m_max", cfg->m_max, 1, AHASD_MAX_K)))
        goto out;
    if ((ret = err_check_int(err, "", "k_design", cfg->k_design, 0, AHASD_MAX_K)))
        goto out;
    if ((ret = err_check_int(err, "", "segments", cfg->segments, 1, AHASD_MAX_SEGMENTS)))
        goto out;
    if ((ret = err_check_int(err, "", "tvc_predictor", cfg->tvc_predictor, 0, 1)))
        goto out;
    if ((ret = err_check_int(err, "", "use_explicit_costs", cfg->use_explicit_costs, 0, 1)))
        goto out;
    if ((ret = ahasd_profile_validate(&cfg->profile, err)))
        goto out;
    if ((ret = ahasd_policy_validate(&cfg->policy, err)))
        goto out;
    if (cfg->policy.kind == AHASD_POLICY_TREE && cfg->schedule != AHASD_SCHED_AUTOREGRESSIVE &&
        cfg->schedule != AHASD_SCHED_SERIAL && cfg->schedule != AHASD_SCHED_SYNC) {
        ret = err_set(err, AHASD_ERR_UNSUPPORTED,
                      "policy 'tree' is supported by autoregressive/serial/sync; schedule '%s' "
                      "drafts chains of tokens only (use policy 'fixed' or an adaptive one, or "
                      "schedule 'sync' for token trees)", sname);
        goto out;
    }
    if ((ret = err_check_int(err, "hw.", "draft_dev", cfg->hw.draft_dev, 0, 3)))
        goto out;
    if ((ret = err_check_int(err, "hw.", "verify_dev", cfg->hw.verify_dev, 0, 3)))
        goto out;
    if (two_devices(cfg->schedule) && cfg->hw.draft_dev == cfg->hw.verify_dev) {
        ret = err_set(err, AHASD_ERR_SCHEDULE,
                      "schedule '%s' needs two devices, but the hardware drafts and verifies "
                      "on the same one (hw.draft_dev = hw.verify_dev = %d, %s); use 'serial' "
                      "or a two-device platform", sname, cfg->hw.draft_dev,
                      ahasd_device_name(cfg->hw.draft_dev));
        goto out;
    }
    if (cfg->schedule == AHASD_SCHED_PARTITIONED && cfg->use_explicit_costs) {
        ret = err_set(err, AHASD_ERR_SCHEDULE,
                      "schedule 'partitioned' splits operators between devices and needs the "
                      "hardware cost model; explicit task costs have no operators");
        goto out;
    }
    if (cfg->use_explicit_costs)
        goto out;  /* plat_init validates the explicit costs */
    if ((ret = ahasd_hardware_validate(&cfg->hw, err)))
        goto out;
    if ((ret = ahasd_model_validate(&cfg->target, "target.", err)))
        goto out;
    if (cfg->schedule != AHASD_SCHED_AUTOREGRESSIVE &&
        (ret = ahasd_model_validate(&cfg->draft, "draft.", err)))
        goto out;
    if (cfg->schedule == AHASD_SCHED_PARTITIONED && cfg->hw.draft_dev != AHASD_DEV_PIM) {
        ret = err_set(err, AHASD_ERR_SCHEDULE,
                      "schedule 'partitioned' splits operators between a host and a PIM; the "
                      "hardware's draft device (%d) is not the PIM", cfg->hw.draft_dev);
        goto out;
    }
out:
    return ret;
}
