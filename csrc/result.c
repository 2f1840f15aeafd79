/*
 * result.c -- accounting shared by the closed forms, the Markov chains and
 * the simulator, and the canonical output names.
 *
 * A run is summarised by totals (acct_t): busy time per device and task, the
 * energy of the tasks, token counts.  acct_finish() turns them into the
 * canonical outputs of MODEL.md.  Idle time of a present device is the wall
 * time minus its busy time; it draws the device's idle power.  Main memory
 * (AHASD_DEV_MEM) draws its background power for the whole wall time.
 */
#include <string.h>

#include "internal.h"

static const char *const output_names[AHASD_N_OUT] = {
    "throughput_tok_s", "latency_per_token_s", "energy_per_token_j", "tokens_per_j", "edp_js",
    "npu_busy_frac", "pim_busy_frac", "gpu_busy_frac", "cpu_busy_frac",
    "npu_idle_s", "pim_idle_s", "gpu_idle_s", "cpu_idle_s",
    "acceptance_rate", "waste_frac", "mean_draft_len", "mean_accepted", "tokens_per_round",
    "preverify_frac", "suppression_rate", "total_time_s", "total_energy_j",
    "drafted_tokens", "committed_tokens", "rounds", "gap_p50_s", "gap_p90_s", "gap_p99_s",
};

const char *ahasd_output_name(int i)
{
    if (i < 0 || i >= AHASD_N_OUT)
        return NULL;
    return output_names[i];
}

void acct_zero(acct_t *a)
{
    memset(a, 0, sizeof *a);
}

void acct_task(acct_t *a, const ahasd_cost *c, int task, double w, int wasted)
{
    int e, d = c->device;

    if (d < 0 || d >= AHASD_N_DEVICES || w == 0.0)
        return;
    a->busy_s[d][task] += w * c->time_s;
    for (e = 0; e < AHASD_N_ECAUSES; e++)
        a->energy_j[d][e] += w * c->energy_by_cause_j[e];
    if (wasted)
        a->wasted_s[d] += w * c->time_s;
}

void acct_busy(acct_t *a, const plat_t *p, int dev, int task, double t, double w)
{
    if (dev < 0 || dev >= AHASD_N_DEVICES || w == 0.0 || t == 0.0)
        return;
    a->busy_s[dev][task] += w * t;
    /* A bare interval (switch, rollback) has no operations or traffic of
     * its own; the device draws its static power while busy. */
    a->energy_j[dev][p->explicit_costs ? AHASD_E_TASK : AHASD_E_STATIC_BUSY] +=
        w * t * p->busy_static_w[dev];
}

void acct_add(acct_t *dst, const acct_t *src, double w)
{
    int d, t;

    dst->wall_s += w * src->wall_s;
    for (d = 0; d < AHASD_N_DEVICES; d++) {
        for (t = 0; t < AHASD_N_TASKS; t++)
            dst->busy_s[d][t] += w * src->busy_s[d][t];
        for (t = 0; t < AHASD_N_ECAUSES; t++)
            dst->energy_j[d][t] += w * src->energy_j[d][t];
        dst->wasted_s[d] += w * src->wasted_s[d];
    }
    dst->committed += w * src->committed;
    dst->drafted += w * src->drafted;
    dst->accepted += w * src->accepted;
    dst->batches += w * src->batches;
    dst->batch_tokens += w * src->batch_tokens;
    dst->rounds += w * src->rounds;
    dst->decisions += w * src->decisions;
    dst->stops += w * src->stops;
    dst->preverify_s += w * src->preverify_s;
    dst->pim_time_s += w * src->pim_time_s;
}

static double ratio(double num, double den)
{
    return den > 0.0 ? num / den : 0.0;
}

int acct_finish(const acct_t *a, const plat_t *p, int method, int flags,
                ahasd_result *res, ahasd_error *err)
{
    int d, t, ret = AHASD_OK;
    double busy, idle, e_total = 0.0, wall = a->wall_s;
    static const int busy_out[4] = {AHASD_OUT_NPU_BUSY_FRAC, AHASD_OUT_PIM_BUSY_FRAC,
                                    AHASD_OUT_GPU_BUSY_FRAC, AHASD_OUT_CPU_BUSY_FRAC};
    static const int idle_out[4] = {AHASD_OUT_NPU_IDLE_S, AHASD_OUT_PIM_IDLE_S,
                                    AHASD_OUT_GPU_IDLE_S, AHASD_OUT_CPU_IDLE_S};

    memset(res->time_s, 0, sizeof res->time_s);
    memset(res->energy_j, 0, sizeof res->energy_j);
    memset(res->out, 0, sizeof res->out);
    memset(res->ci95, 0, sizeof res->ci95);
    if (!(wall > 0.0) || !isfinite(wall) || !(a->committed > 0.0)) {
        ret = err_set(err, AHASD_ERR_NUMERIC,
                      "run produced wall time %.6g s and %.6g committed tokens; both must be "
                      "positive and finite (are all task costs zero?)", wall, a->committed);
        goto out;
    }
    for (d = 0; d < AHASD_N_DEVICES; d++) {
        for (t = 0; t < AHASD_N_ECAUSES; t++)
            res->energy_j[d][t] = a->energy_j[d][t];
        if (d == AHASD_DEV_MEM) {
            if (p->present[d]) {
                res->time_s[d][AHASD_TASK_IDLE] = wall;
                res->energy_j[d][AHASD_E_STATIC_IDLE] += p->idle_w[d] * wall;
            }
            continue;
        }
        busy = 0.0;
        for (t = 0; t < AHASD_N_TASKS; t++) {
            if (t == AHASD_TASK_IDLE)
                continue;
            res->time_s[d][t] = a->busy_s[d][t];
            busy += a->busy_s[d][t];
        }
        if (busy > wall * (1.0 + 1e-9) + 1e-15) {
            ret = err_set(err, AHASD_ERR_NUMERIC,
                          "device %d busy %.9g s exceeds the wall time %.9g s "
                          "(internal accounting error)", d, busy, wall);
            goto out;
        }
        if (busy > wall)
            busy = wall;
        idle = p->present[d] ? wall - busy : 0.0;
        res->time_s[d][AHASD_TASK_IDLE] = idle;
        res->energy_j[d][AHASD_E_STATIC_IDLE] += p->idle_w[d] * idle;
        res->wasted_s[d] = a->wasted_s[d];
        res->out[busy_out[d]] = busy / wall;
        res->out[idle_out[d]] = idle;
    }
    for (d = 0; d < AHASD_N_DEVICES; d++)
        for (t = 0; t < AHASD_N_ECAUSES; t++)
            e_total += res->energy_j[d][t];
    /* Tiny but positive totals (latencies or energies near the smallest
     * doubles) make the per-token ratios overflow: say which is too small. */
    if (!(a->committed / wall < INFINITY)) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "the run of %.6g tokens took %.6g s: throughput_tok_s overflows; task "
                      "latencies this small (below about 1e-290 s) are not supported",
                      a->committed, wall);
        goto out;
    }
    if (e_total > 0.0 && !(a->committed / e_total < INFINITY)) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "the run of %.6g tokens used %.6g J: tokens_per_j overflows; energies "
                      "this small (below about 1e-290 J) are not supported, use 0 for none",
                      a->committed, e_total);
        goto out;
    }

    res->out[AHASD_OUT_THROUGHPUT_TOK_S] = a->committed / wall;
    res->out[AHASD_OUT_LATENCY_PER_TOKEN_S] = wall / a->committed;
    res->out[AHASD_OUT_ENERGY_PER_TOKEN_J] = e_total / a->committed;
    res->out[AHASD_OUT_TOKENS_PER_J] = ratio(a->committed, e_total);
    res->out[AHASD_OUT_EDP_JS] = (e_total / a->committed) * (wall / a->committed);
    res->out[AHASD_OUT_ACCEPTANCE_RATE] = ratio(a->accepted, a->drafted);
    res->out[AHASD_OUT_WASTE_FRAC] = ratio(a->drafted - a->accepted, a->drafted);
    res->out[AHASD_OUT_MEAN_DRAFT_LEN] = ratio(a->batch_tokens, a->batches);
    res->out[AHASD_OUT_MEAN_ACCEPTED] = ratio(a->accepted, a->rounds);
    res->out[AHASD_OUT_TOKENS_PER_ROUND] = ratio(a->committed, a->rounds);
    res->out[AHASD_OUT_PREVERIFY_FRAC] = ratio(a->preverify_s, a->pim_time_s);
    res->out[AHASD_OUT_SUPPRESSION_RATE] = ratio(a->stops, a->decisions);
    res->out[AHASD_OUT_TOTAL_TIME_S] = wall;
    res->out[AHASD_OUT_TOTAL_ENERGY_J] = e_total;
    res->out[AHASD_OUT_DRAFTED_TOKENS] = a->drafted;
    res->out[AHASD_OUT_COMMITTED_TOKENS] = a->committed;
    res->out[AHASD_OUT_ROUNDS] = a->rounds;
    /* Inter-token gaps are filled by the methods that compute them. */
    res->out[AHASD_OUT_GAP_P50_S] = NAN;
    res->out[AHASD_OUT_GAP_P90_S] = NAN;
    res->out[AHASD_OUT_GAP_P99_S] = NAN;
    res->method = method;
    res->flags = flags | (p->overflow_streamed ? AHASD_FLAG_OVERFLOW_STREAMED : 0);
    res->fits_in_memory = p->fits_in_memory;
    for (t = 0; t < AHASD_N_OUT; t++) {
        if (t >= AHASD_OUT_GAP_P50_S && t <= AHASD_OUT_GAP_P99_S)
            continue;
        if (!isfinite(res->out[t])) {
            ret = err_set(err, AHASD_ERR_NUMERIC, "output %s is not finite (%g)",
                          output_names[t], res->out[t]);
            goto out;
        }
    }
out:
    return ret;
}

/* ------------------------------------------------------------------ */
/* Names of the enumerations                                           */
/* ------------------------------------------------------------------ */
static const char *const schedule_names[AHASD_N_SCHEDULES] = {
    "autoregressive", "serial", "sync", "partitioned", "async", "async-edc", "ahasd",
};
static const char *const policy_names[AHASD_N_POLICIES] = {
    "fixed", "svip", "adaedl", "specdecpp", "banditspec", "tree",
};
static const char *const device_names[AHASD_N_DEVICES] = {"npu", "pim", "gpu", "cpu", "mem"};
static const char *const task_names[AHASD_N_TASKS] = {
    "draft", "verify", "preverify", "overhead", "idle",
};
static const char *const ecause_names[AHASD_N_ECAUSES] = {
    "compute", "memory", "static_busy", "static_idle", "task",
};
static const char *const method_names[3] = {"closed-form", "markov-chain", "simulation"};
static const char *const flag_names[] = {
    "TVC latency predictions assumed exact",
    "BanditSpec at its steady arm (transient reported separately)",
    "EDC counters by their mean-field law (with their transient)",
    "look-ahead queue with L_max > 2 summarised by the PIM's lead",
    "NPU/PIM contention applied with the mean overlap",
    "weights beyond device capacity streamed over the host link",
    "task costs taken at the middle context of each segment",
};

#define NAME_AT(tab, i) ((i) >= 0 && (size_t)(i) < sizeof(tab) / sizeof((tab)[0]) ? (tab)[i] : NULL)

const char *ahasd_schedule_name(int i) { return NAME_AT(schedule_names, i); }
const char *ahasd_policy_name(int i) { return NAME_AT(policy_names, i); }
const char *ahasd_device_name(int i) { return NAME_AT(device_names, i); }
const char *ahasd_task_name(int i) { return NAME_AT(task_names, i); }
const char *ahasd_ecause_name(int i) { return NAME_AT(ecause_names, i); }
const char *ahasd_method_name(int i) { return NAME_AT(method_names, i); }
const char *ahasd_flag_name(int bit) { return NAME_AT(flag_names, bit); }
