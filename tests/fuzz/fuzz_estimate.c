/* libFuzzer harness: ahasd_estimate on edited configurations, every schedule,
 * computed twice: in a long-lived workspace (its caches and scratch hold
 * whatever earlier inputs left) and in a new workspace with poisoned
 * scratch; the two results must be identical, bit for bit. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ahasd_workspace *ws = fz_workspace();
    fz_bytes b = {data, size};
    ahasd_config cfg;
    ahasd_result res, res2;
    ahasd_error err;
    ahasd_workspace *fresh;
    int rc, rc2;

    fz_config_choose(&cfg, &b);
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
