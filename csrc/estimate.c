/*
 * estimate.c -- the two public entry points that run a design point:
 * ahasd_estimate (analytical) and ahasd_simulate (discrete-event).
 */
#include <string.h>

#include "internal.h"

int ahasd_estimate(const ahasd_config *cfg, ahasd_workspace *ws, ahasd_result *res,
                   ahasd_error *err)
{
    int ret = AHASD_OK;
    plat_t plat;

    if (cfg == NULL || ws == NULL || res == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "ahasd_estimate: config, workspace and result "
                                           "must not be NULL");
        goto out;
    }
    memset(res, 0, sizeof *res);
    if ((ret = ahasd_config_validate(cfg, err)))
        goto out;
    if ((ret = plat_init(&plat, cfg, err)))
        goto out;
    switch (cfg->schedule) {
    case AHASD_SCHED_ASYNC:
    case AHASD_SCHED_ASYNC_EDC:
    case AHASD_SCHED_AHASD:
        ret = chain_estimate(cfg, &plat, ws, res, err);
        break;
    default:
        ret = sched_closed_form(cfg, &plat, ws, res, err);
        break;
    }
out:
    return ret;
}

int ahasd_simulate(const ahasd_config *cfg, ahasd_sim_options *opt, ahasd_workspace *ws,
                   ahasd_result *res, ahasd_error *err)
{
    int ret = AHASD_OK;
    plat_t plat;

    if (cfg == NULL || opt == NULL || ws == NULL || res == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "ahasd_simulate: config, options, workspace and "
                                           "result must not be NULL");
        goto out;
    }
    memset(res, 0, sizeof *res);
    if ((ret = sim_options_check(opt, err)))
        goto out;
    if ((ret = ahasd_config_validate(cfg, err)))
        goto out;
    if ((ret = plat_init(&plat, cfg, err)))
        goto out;
    ret = sim_run(cfg, &plat, opt, ws, res, err);
out:
    return ret;
}
