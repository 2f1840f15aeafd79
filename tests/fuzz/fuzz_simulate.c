/* libFuzzer harness: ahasd_simulate on edited configurations, every schedule,
 * with a small trace buffer, run twice with the same seed (a long-lived and a
 * new, poisoned workspace): identical results and traces.  gen_len is capped
 * so each input runs fast. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ahasd_workspace *ws = fz_workspace();
    fz_bytes b = {data, size};
    ahasd_config cfg;
    ahasd_result res, res2;
    ahasd_error err;
    ahasd_sim_options opt, opt2;
    ahasd_trace_event trace[16], trace2[16];
    ahasd_workspace *fresh;
    int rc, rc2;

    fz_config_choose(&cfg, &b);
    cfg.gen_len = 48;
    fz_edit(&cfg, &b, 8);
    if (cfg.gen_len > 96 || cfg.gen_len < -96)
        cfg.gen_len = 96;
    memset(&opt, 0, sizeof opt);
    opt.seed = fz_u8(&b);
    opt.n_runs = 1 + fz_u8(&b) % 3;
    opt.trace = trace;
    opt.trace_cap = fz_u8(&b) % 17;
    fz_show(&cfg);
    memset(&err, 0, sizeof err);
    rc = ahasd_simulate(&cfg, &opt, ws, &res, &err);
    fz_check_status(rc, &err);
    fz_check_result(rc, &res);
    if (rc == AHASD_OK)
        FZ_REQUIRE(opt.trace_len <= opt.trace_cap && opt.trace_len <= opt.trace_needed);
    /* the same seed in a new, poisoned workspace: the same result and trace */
    opt2 = opt;
    opt2.trace = trace2;
    fresh = fz_poisoned_workspace();
    FZ_REQUIRE(fresh != NULL);
    rc2 = ahasd_simulate(&cfg, &opt2, fresh, &res2, &err);
    ahasd_workspace_free(fresh);
    FZ_REQUIRE(rc2 == rc);
    if (rc == AHASD_OK) {
        FZ_REQUIRE(memcmp(&res, &res2, sizeof res) == 0);
        FZ_REQUIRE(opt2.trace_len == opt.trace_len && opt2.trace_needed == opt.trace_needed);
        FZ_REQUIRE(memcmp(trace, trace2, opt.trace_len * sizeof trace[0]) == 0);
    }
    return 0;
}
