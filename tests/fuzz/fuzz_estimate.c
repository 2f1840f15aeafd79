/* libFuzzer harness: ahasd_estimate on edited configurations, every schedule. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ahasd_workspace *ws;
    fz_bytes b = {data, size};
    ahasd_config cfg;
    ahasd_result res;
    ahasd_error err;
    int rc;

    if (ws == NULL) {
        ahasd_gsl_handler_off();
        ws = ahasd_workspace_alloc();
    }
    fz_config(&cfg);
    cfg.schedule = fz_u8(&b) % AHASD_N_SCHEDULES;
    cfg.policy.kind = fz_u8(&b) % AHASD_N_POLICIES;
    cfg.use_explicit_costs = fz_u8(&b) & 1;
    fz_edit(&cfg, &b, 8);
    memset(&err, 0, sizeof err);
    rc = ahasd_estimate(&cfg, ws, &res, &err);
    fz_check_status(rc, &err);
    fz_check_result(rc, &res);
    return 0;
}
