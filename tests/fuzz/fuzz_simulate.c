/* libFuzzer harness: ahasd_simulate on edited configurations, every schedule,
 * with a small trace buffer.  gen_len is capped so each input runs fast. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ahasd_workspace *ws;
    fz_bytes b = {data, size};
    ahasd_config cfg;
    ahasd_result res;
    ahasd_error err;
    ahasd_sim_options opt;
    ahasd_trace_event trace[16];
    int rc;

    if (ws == NULL) {
        ahasd_gsl_handler_off();
        ws = ahasd_workspace_alloc();
    }
    fz_config(&cfg);
    cfg.schedule = fz_u8(&b) % AHASD_N_SCHEDULES;
    cfg.policy.kind = fz_u8(&b) % AHASD_N_POLICIES;
    cfg.use_explicit_costs = fz_u8(&b) & 1;
    cfg.gen_len = 48;
    fz_edit(&cfg, &b, 8);
    if (cfg.gen_len > 96 || cfg.gen_len < -96)
        cfg.gen_len = 96;
    memset(&opt, 0, sizeof opt);
    opt.seed = fz_u8(&b);
    opt.n_runs = 1 + fz_u8(&b) % 3;
    opt.trace = trace;
    opt.trace_cap = fz_u8(&b) % 17;
    memset(&err, 0, sizeof err);
    rc = ahasd_simulate(&cfg, &opt, ws, &res, &err);
    fz_check_status(rc, &err);
    fz_check_result(rc, &res);
    if (rc == AHASD_OK && opt.trace_len > opt.trace_cap)
        abort();
    return 0;
}
