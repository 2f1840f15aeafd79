/* libFuzzer harness: parameter names from bytes, get/set round trips, and a
 * small batched sweep with fuzzed ids and values. */
#include <stdio.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ahasd_workspace *ws;
    fz_bytes b = {data, size};
    ahasd_config cfg;
    ahasd_error err;
    char name[48];
    size_t len, i;
    int id, ids[3], status[4], outs[3] = {0, 2, 13};
    double v, vals[12], out[12];

    if (ws == NULL) {
        ahasd_gsl_handler_off();
        ws = ahasd_workspace_alloc();
    }
    fz_config(&cfg);
    len = fz_u8(&b) % (sizeof name);
    for (i = 0; i < len; i++)
        name[i] = (char)fz_u8(&b);
    name[len] = '\0';
    id = ahasd_param_find(name);
    if (id >= 0 && ahasd_param_name(id) == NULL)
        abort();
    id = (int)fz_u32(&b) % (ahasd_param_count() + 2) - 1;
    memset(&err, 0, sizeof err);
    fz_check_status(ahasd_param_set(&cfg, id, fz_value(&b), &err), &err);
    fz_check_status(ahasd_param_get(&cfg, id, &v, &err), &err);
    for (i = 0; i < 3; i++)
        ids[i] = (int)(fz_u32(&b) % (unsigned)ahasd_param_count());
    for (i = 0; i < 12; i++)
        vals[i] = fz_value(&b);
    cfg.schedule = fz_u8(&b) % AHASD_N_SCHEDULES;
    fz_check_status(ahasd_sweep(&cfg, 4, 3, ids, vals, 3, outs, 0, 1, 1, out, status, ws, &err),
                    &err);
    return 0;
}
