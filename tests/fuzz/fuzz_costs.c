/* libFuzzer harness: task costs and per-operator tables of edited hardware
 * and models, at fuzzed context lengths and positions. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_bytes b = {data, size};
    ahasd_config cfg;
    ahasd_task_table tab;
    ahasd_op ops[8];
    ahasd_error err;
    size_t n_ops = 0;
    double ctx;
    int rc, dev, npos;
    static int init;

    if (!init) {
        ahasd_gsl_handler_off();
        init = 1;
    }
    fz_config(&cfg);
    cfg.use_explicit_costs = fz_u8(&b) & 1;
    fz_edit(&cfg, &b, 10);
    ctx = fz_value(&b);
    memset(&err, 0, sizeof err);
    rc = ahasd_task_costs(&cfg, ctx, &tab, &err);
    fz_check_status(rc, &err);
    if (rc == AHASD_OK && !(isfinite(tab.verify[0].time_s) && tab.verify[0].time_s >= 0.0))
        abort();
    dev = (int)(fz_u8(&b) % 6) - 1;
    npos = (int)(fz_u32(&b) % 70) - 3;
    rc = ahasd_pass_ops(&cfg.hw, &cfg.target, dev, npos, fz_value(&b), ops,
                        fz_u8(&b) % 9, &n_ops, &err);
    fz_check_status(rc, &err);
    return 0;
}
