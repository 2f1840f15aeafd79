/* libFuzzer harness: ahasd_estimate on edited configurations, every schedule,
 * computed twice: in a long-lived workspace (its caches and scratch hold
 * whatever earlier inputs left) and in a new workspace with poisoned
 * scratch; the two results must be identical, bit for bit. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ahasd_workspace *ws;
    fz_bytes b = {data, size};
    ahasd_config cfg;
    ahasd_result res, res2;
    ahasd_error err;
    ahasd_workspace *fresh;
    int rc, rc2;

    if (ws == NULL) {
        ahasd_gsl_handler_off();
        ws = ahasd_workspace_alloc();
    }
    fz_config(&cfg);
    cfg.schedule = fz_u8(&b) % AHASD_N_SCHEDULES;
    cfg.policy.kind = fz_u8(&b) % AHASD_N_POLICIES;
    cfg.use_explicit_costs = fz_u8(&b) & 1;
    fz_edit(&cfg, &b, 8);
    fz_show(&cfg);
    memset(&err, 0, sizeof err);
    rc = ahasd_estimate(&cfg, ws, &res, &err);
    fz_check_status(rc, &err);
    fz_check_result(rc, &res);
    fresh = fz_poisoned_workspace();
    FZ_REQUIRE(fresh != NULL);
    rc2 = ahasd_estimate(&cfg, fresh, &res2, &err);
    ahasd_workspace_free(fresh);
    FZ_REQUIRE(rc2 == rc);
    if (rc == AHASD_OK)
        FZ_REQUIRE(memcmp(&res, &res2, sizeof res) == 0);
    return 0;
}
