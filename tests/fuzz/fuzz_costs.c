/* libFuzzer harness: task costs and per-operator tables of edited hardware
 * and models, at fuzzed context lengths and positions. */
#include "fuzz_common.h"

static void fz_check_cost(const ahasd_cost *c)
{
    double e = 0.0;
    int i;

    FZ_REQUIRE(isfinite(c->time_s) && c->time_s >= 0.0);
    FZ_REQUIRE(isfinite(c->energy_j) && c->energy_j >= 0.0);
    for (i = 0; i < AHASD_N_ECAUSES; i++) {
        FZ_REQUIRE(isfinite(c->energy_by_cause_j[i]) && c->energy_by_cause_j[i] >= 0.0);
        e += c->energy_by_cause_j[i];
    }
    FZ_REQUIRE(fabs(e - c->energy_j) <= 1e-9 * (e > 1.0 ? e : 1.0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_bytes b = {data, size};
    ahasd_config cfg;
    ahasd_task_table tab;
    ahasd_op ops[20];
    ahasd_error err;
    size_t n_ops = 0, cap;
    double ctx;
    int rc, dev, npos, k;
    static int init;

    if (!init) {
        ahasd_gsl_handler_off();
        init = 1;
    }
    fz_config(&cfg);
    cfg.use_explicit_costs = fz_u8(&b) & 1;
    fz_edit(&cfg, &b, 10);
    ctx = fz_value(&b);
    if (fz_verbose())
        fprintf(stderr, "fuzz: explicit %d, context %.17g\n", cfg.use_explicit_costs, ctx);
    fz_show(&cfg);
    memset(&err, 0, sizeof err);
    rc = ahasd_task_costs(&cfg, ctx, &tab, &err);
    fz_check_status(rc, &err);
    if (rc == AHASD_OK) {
        /* every entry of the table: finite, non-negative, energy = its causes */
        fz_check_cost(&tab.draft_token);
        fz_check_cost(&tab.ar_step);
        fz_check_cost(&tab.serial_draft_token);
        for (k = 0; k <= tab.k_max; k++)
            fz_check_cost(&tab.verify[k]);
        for (k = 1; k <= tab.m_max; k++)
            fz_check_cost(&tab.preverify[k]);
        for (k = 1; k <= tab.k_max; k++)       /* more drafts never verify faster */
            FZ_REQUIRE(tab.verify[k].time_s >= tab.verify[k - 1].time_s);
        FZ_REQUIRE(isfinite(tab.target_weight_bytes) && tab.target_weight_bytes >= 0.0);
    }
    dev = (int)(fz_u8(&b) % 6) - 1;
    npos = (int)(fz_u32(&b) % 70) - 3;
    cap = fz_u8(&b) % 20;
    rc = ahasd_pass_ops(&cfg.hw, &cfg.target, dev, npos, fz_value(&b), ops, cap, &n_ops, &err);
    fz_check_status(rc, &err);
    if (rc == AHASD_OK || rc == AHASD_ERR_BUFFER)
        for (k = 0; k < (int)(n_ops < cap ? n_ops : cap); k++) {
            FZ_REQUIRE(memchr(ops[k].name, '\0', sizeof ops[k].name) != NULL);
            FZ_REQUIRE(isfinite(ops[k].time_s) && ops[k].time_s >= 0.0);
            FZ_REQUIRE(isfinite(ops[k].energy_j) && ops[k].energy_j >= 0.0);
        }
    return 0;
}
