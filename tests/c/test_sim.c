/*
 * test_sim.c -- the discrete-event simulator (sim.c): exact timelines of
 * deterministic configurations, token and time accounting identities over a
 * grid of schedules and policies, reproducibility, the equivalences the
 * design states (async with L_max = 1 is sync; EDC that never stops is
 * async; TVC that never fits is async), Leviathan et al.'s closed form,
 * EDC's effect on waste, TVC's effect on the NPU, contention, the
 * partitioned split, inter-token gaps and the trace.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "check.h"
#include "fixture.h"

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */
/* ------------------------------------------------------------------ */
/* Explicit task costs: draft token d, verification V0 + k Vk, pre-verify
 * per token pv; energies in proportion; NPU and PIM draw idle power. */
static void cfg_explicit(ahasd_config *cfg, int sched, double d, double v0, double vk,
                         double pv, int k, double alpha)
{
    const ahasd_explicit_costs costs = {
        .draft_token_s = d, .verify_base_s = v0, .verify_per_token_s = vk,
        .preverify_token_s = pv, .draft_token_j = 0.7 * d, .verify_base_j = 2.385 * v0,
        .verify_per_token_j = 1.5 * vk, .preverify_token_j = 0.9 * pv,
        .idle_w = {[AHASD_DEV_NPU] = 0.5, [AHASD_DEV_PIM] = 0.125}};

    fixture_config_explicit(cfg, sched, &costs, k, alpha);
}

/* Four buckets with graded acceptance (adaptive policies see entropy). */
static void profile_graded(ahasd_profile *p)
{
    int i, j;
    static const double acc[4] = {0.97, 0.85, 0.6, 0.25};

    memset(p, 0, sizeof *p);
    p->buckets = 4;
    p->h_max = 3.0;
    for (i = 0; i < 4; i++)
        for (j = 0; j < 4; j++)
            p->q[i * AHASD_MAX_BUCKETS + j] = i == j ? 0.55 : 0.15;
    for (i = 0; i < 4; i++)
        p->accept[i] = acc[i];
    p->position_decay = 1.0;
    p->pred_scale = 1.0;
}

/* The AHASD platform with a 1.1B-class draft (TinyLlama shape) and the
 * LLaMA2-13B target, INT8; slower handoffs than the preset and the given
 * contention. */
static void cfg_hw(ahasd_config *cfg, int sched, double contention)
{
    ahasd_error err;

    ahasd_config_default(cfg, &err);
    cfg->schedule = sched;
    fixture_hardware_ahasd(&cfg->hw, 1);
    cfg->hw.sync_s = 1e-5;
    cfg->hw.rollback_s = 2e-5;
    cfg->hw.contention = contention;
    cfg->draft = fixture_model_llama2(22, 2048, 5632);
    cfg->target = fixture_model_llama2_13b();
}

static int sim(const ahasd_config *cfg, ahasd_workspace *ws, int n_runs, uint64_t seed,
               ahasd_trace_event *tr, size_t cap, ahasd_result *res, size_t *needed)
{
    ahasd_sim_options opt;
    ahasd_error err;
    int rc;

    memset(&opt, 0, sizeof opt);
    opt.seed = seed;
    opt.n_runs = n_runs;
    opt.trace = tr;
    opt.trace_cap = cap;
    rc = ahasd_simulate(cfg, &opt, ws, res, &err);
    if (rc != AHASD_OK)
        fprintf(stderr, "simulate (schedule %d, policy %d) failed: %s\n", cfg->schedule,
                cfg->policy.kind, err.msg);
    if (needed != NULL)
        *needed = opt.trace_needed;
    if (rc == AHASD_OK && tr != NULL)
        CHECK(opt.trace_len == (opt.trace_needed < cap ? opt.trace_needed : cap));
    return rc;
}

/* Device busy + idle = wall for present devices; busy fractions in [0, 1];
 * acceptance + waste = 1 for speculative schedules; committed = N. */
static void check_identities(const ahasd_config *cfg, const ahasd_result *r)
{
    int d, t;
    double busy, wall = r->out[AHASD_OUT_TOTAL_TIME_S];
    static const int bf[4] = {AHASD_OUT_NPU_BUSY_FRAC, AHASD_OUT_PIM_BUSY_FRAC,
                              AHASD_OUT_GPU_BUSY_FRAC, AHASD_OUT_CPU_BUSY_FRAC};

    CHECK(r->method == AHASD_METHOD_SIMULATION);
    CHECK_CLOSE(r->out[AHASD_OUT_COMMITTED_TOKENS], cfg->gen_len, 0.0, 0.0);
    for (d = 0; d < 4; d++) {
        CHECK(r->out[bf[d]] >= 0.0 && r->out[bf[d]] <= 1.0);
        busy = 0.0;
        for (t = 0; t < AHASD_N_TASKS; t++)
            if (t != AHASD_TASK_IDLE)
                busy += r->time_s[d][t];
        if (busy > 0.0 || r->time_s[d][AHASD_TASK_IDLE] > 0.0)
            CHECK_CLOSE(busy + r->time_s[d][AHASD_TASK_IDLE], wall, 1e-9, 0.0);
    }
    if (cfg->schedule != AHASD_SCHED_AUTOREGRESSIVE) {
        CHECK_CLOSE(r->out[AHASD_OUT_ACCEPTANCE_RATE] + r->out[AHASD_OUT_WASTE_FRAC], 1.0,
                    1e-12, 0.0);
        CHECK(r->out[AHASD_OUT_ROUNDS] >= 1.0);
        CHECK(r->out[AHASD_OUT_MEAN_ACCEPTED] >= 0.0);
    }
    CHECK(r->out[AHASD_OUT_PREVERIFY_FRAC] >= 0.0 && r->out[AHASD_OUT_PREVERIFY_FRAC] <= 1.0);
    CHECK(r->out[AHASD_OUT_SUPPRESSION_RATE] >= 0.0 &&
          r->out[AHASD_OUT_SUPPRESSION_RATE] <= 1.0);
    CHECK(r->out[AHASD_OUT_GAP_P50_S] <= r->out[AHASD_OUT_GAP_P90_S]);
    CHECK(r->out[AHASD_OUT_GAP_P90_S] <= r->out[AHASD_OUT_GAP_P99_S]);
    for (t = 0; t < AHASD_N_OUT; t++)
        CHECK(isfinite(r->out[t]) && isfinite(r->ci95[t]) && r->ci95[t] >= 0.0);
}

/* Trace of a single run against its result: events of a device do not
 * overlap, their durations add up to the device's busy time, drafted
 * tokens are at least the resolved ones, wasted draft events hold no more
 * than the waste. */
static void check_trace(const ahasd_result *r, const ahasd_trace_event *tr, size_t n)
{
    size_t i;
    int d;
    double busy[4] = {0, 0, 0, 0}, last_end[4] = {0, 0, 0, 0}, want, wall;
    double drafted = 0.0, wasted_tok = 0.0;

    wall = r->out[AHASD_OUT_TOTAL_TIME_S];
    for (i = 0; i < n; i++) {
        d = tr[i].device;
        CHECK(d >= 0 && d < 4);
        if (d < 0 || d >= 4)
            continue;
        CHECK(tr[i].end_s >= tr[i].start_s);
        CHECK(tr[i].start_s >= last_end[d] - 1e-9 * wall);
        CHECK(tr[i].end_s <= wall * (1.0 + 1e-12));
        last_end[d] = tr[i].end_s;
        busy[d] += tr[i].end_s - tr[i].start_s;
        if (tr[i].task == AHASD_TASK_DRAFT) {
            drafted += tr[i].tokens;
            if (tr[i].wasted)
                wasted_tok += tr[i].tokens;
        }
    }
    for (d = 0; d < 2; d++) {
        want = 0.0;
        for (i = 0; i < AHASD_N_TASKS; i++)
            if (i != AHASD_TASK_IDLE)
                want += r->time_s[d][i];
        CHECK_CLOSE(busy[d], want, 1e-9, 1e-15);
    }
    CHECK(drafted >= r->out[AHASD_OUT_DRAFTED_TOKENS]);
    CHECK(wasted_tok <= r->out[AHASD_OUT_DRAFTED_TOKENS] * r->out[AHASD_OUT_WASTE_FRAC] + 0.5);
}

/* ------------------------------------------------------------------ */
/* Deterministic timelines                                             */
/* ------------------------------------------------------------------ */
static void test_exact_sync(ahasd_workspace *ws)
{
    /* alpha = 1, k = 4: every round drafts 4 (d each), hands off (sync),
     * verifies (V0 + 4 Vk) and commits 5; N = 1024 = 204 x 5 + 4, so 205
     * rounds, the last truncated to 4 tokens. */
    ahasd_config cfg;
    ahasd_result r;
    const double d = 0.013, v0 = 0.21, vk = 0.007, sy = 0.0031;
    double round = 4 * d + sy + v0 + 4 * vk, wall = 205 * round, e;

    cfg_explicit(&cfg, AHASD_SCHED_SYNC, d, v0, vk, 0.05, 4, 1.0);
    cfg.costs.sync_s = sy;
    cfg.costs.rollback_s = 0.002;
    CHECK(sim(&cfg, ws, 3, 7, NULL, 0, &r, NULL) == AHASD_OK);
    check_identities(&cfg, &r);
    CHECK_CLOSE(r.out[AHASD_OUT_TOTAL_TIME_S], wall, 1e-12, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_THROUGHPUT_TOK_S], 1024.0 / wall, 1e-12, 0.0);
    CHECK(r.ci95[AHASD_OUT_THROUGHPUT_TOK_S] == 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_NPU_IDLE_S], 205 * (4 * d + sy), 1e-12, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_PIM_IDLE_S], 205 * (sy + v0 + 4 * vk), 1e-12, 0.0);
    e = 205 * (4 * 0.7 * d + 2.385 * v0 + 4 * 1.5 * vk) + 0.5 * 205 * (4 * d + sy) +
        0.125 * 205 * (sy + v0 + 4 * vk);
    CHECK_CLOSE(r.out[AHASD_OUT_TOTAL_ENERGY_J], e, 1e-12, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_ROUNDS], 205, 0.0, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_DRAFTED_TOKENS], 204 * 4 + 4, 0.0, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_ACCEPTANCE_RATE], 1.0, 0.0, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_MEAN_DRAFT_LEN], 4.0, 0.0, 0.0);
    /* gaps: per round one gap of `round` and four of 0 */
    CHECK(r.out[AHASD_OUT_GAP_P50_S] == 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_GAP_P90_S], round, 1e-12, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_GAP_P99_S], round, 1e-12, 0.0);

    /* autoregressive: one step V0 per token, every gap V0 */
    cfg.schedule = AHASD_SCHED_AUTOREGRESSIVE;
    CHECK(sim(&cfg, ws, 2, 7, NULL, 0, &r, NULL) == AHASD_OK);
    check_identities(&cfg, &r);
    CHECK_CLOSE(r.out[AHASD_OUT_THROUGHPUT_TOK_S], 1.0 / v0, 1e-12, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_GAP_P50_S], v0, 1e-12, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_GAP_P99_S], v0, 1e-12, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_TOKENS_PER_ROUND], 1.0, 0.0, 0.0);
    CHECK(r.out[AHASD_OUT_DRAFTED_TOKENS] == 0.0);
}

static void test_exact_async(ahasd_workspace *ws)
{
    /* alpha = 1, k = 4, L_max = 2, d = 1, V = 2.5, sync 0.25: the PIM never
     * stops; batch j is verified over [4j + 0.25, 4j + 2.75] while batch
     * j + 1 is drafted, so no bonus is ever committed: 256 commits of 4,
     * the last at 4 x 256 + 2.75. */
    ahasd_config cfg;
    ahasd_result r;
    ahasd_trace_event tr[4096];
    size_t needed;
    const int N = 1024;
    double wall = 4.0 * 256 + 2.75, e;

    cfg_explicit(&cfg, AHASD_SCHED_ASYNC, 1.0, 2.5, 0.0, 0.5, 4, 1.0);
    cfg.costs.sync_s = 0.25;
    cfg.costs.rollback_s = 0.125;
    cfg.l_max = 2;
    cfg.gen_len = N;
    CHECK(sim(&cfg, ws, 1, 3, tr, 4096, &r, &needed) == AHASD_OK);
    check_identities(&cfg, &r);
    check_trace(&r, tr, needed < 4096 ? needed : 4096);
    CHECK_CLOSE(r.out[AHASD_OUT_TOTAL_TIME_S], wall, 1e-12, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_PIM_BUSY_FRAC], 1.0, 1e-12, 0.0);
    CHECK_CLOSE(r.time_s[AHASD_DEV_NPU][AHASD_TASK_VERIFY], 2.5 * 256, 1e-12, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_TOKENS_PER_ROUND], 4.0, 0.0, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_DRAFTED_TOKENS], N, 0.0, 0.0);
    /* draft energy: the PIM drafted for the whole run (the last token
     * charged for the 0.75 it ran) */
    e = 0.7 * wall + 2.385 * 2.5 * 256 + 0.5 * (wall - 2.5 * 256);
    CHECK_CLOSE(r.out[AHASD_OUT_TOTAL_ENERGY_J], e, 1e-12, 0.0);
    CHECK(needed == 257 + 256);     /* 257 draft batches, 256 verifications */

    /* alpha = 0: every verification rejects at the first token.  Batch 1
     * [0, 4]; verify [4, 6.5] (sync 0) while batch 2 drafts 2 tokens and
     * half of a third; flush, rollback [6.5, 6.75]; the cycle is 6.75 long
     * and commits one correction.  Commit i at 6.5 + 6.75 (i - 1). */
    cfg_explicit(&cfg, AHASD_SCHED_ASYNC, 1.0, 2.5, 0.0, 0.5, 4, 0.0);
    cfg.costs.rollback_s = 0.25;
    cfg.l_max = 2;
    cfg.gen_len = 100;
    CHECK(sim(&cfg, ws, 1, 3, tr, 4096, &r, &needed) == AHASD_OK);
    check_identities(&cfg, &r);
    check_trace(&r, tr, needed);
    wall = 6.5 + 6.75 * 99;
    CHECK_CLOSE(r.out[AHASD_OUT_TOTAL_TIME_S], wall, 1e-12, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_PIM_BUSY_FRAC], 1.0, 1e-12, 0.0);
    CHECK_CLOSE(r.time_s[AHASD_DEV_PIM][AHASD_TASK_OVERHEAD], 0.25 * 99, 1e-12, 0.0);
    CHECK_CLOSE(r.time_s[AHASD_DEV_PIM][AHASD_TASK_DRAFT], wall - 0.25 * 99, 1e-12, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_DRAFTED_TOKENS], 4 * 100 + 2 * 99, 0.0, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_WASTE_FRAC], 1.0, 0.0, 0.0);
    CHECK_CLOSE(r.out[AHASD_OUT_TOKENS_PER_ROUND], 1.0, 0.0, 0.0);
    CHECK_CLOSE(r.wasted_s[AHASD_DEV_PIM], 4 * 100 + 2.5 * 99, 1e-12, 0.0);
    /* explicit costs: switch and rollback draw busy_static_w = 0 */
    e = 0.7 * (wall - 0.25 * 99) + 2.385 * 2.5 * 100 + 0.5 * (wall - 2.5 * 100);
    CHECK_CLOSE(r.out[AHASD_OUT_TOTAL_ENERGY_J], e, 1e-12, 0.0);
    {
        /* the interrupted batches' draft events are marked wasted */
        size_t i, nw = 0;
        for (i = 0; i < needed; i++)
            if (tr[i].task == AHASD_TASK_DRAFT && tr[i].wasted) {
                nw++;
                CHECK(tr[i].tokens == 2);
                CHECK_CLOSE(tr[i].end_s - tr[i].start_s, 2.5, 1e-12, 0.0);
            }
        CHECK(nw == 99);
    }
}

static void test_exact_tvc(ahasd_workspace *ws)
{
    /* ahasd with alpha = 1: counters start at 2 and full acceptance only
     * raises them, so EDC never stops, TVC never runs and ahasd is async
     * exactly. */
    ahasd_config cfg;
    ahasd_result a, b;

    cfg_explicit(&cfg, AHASD_SCHED_ASYNC, 1.0, 10.0, 0.0, 1.0, 4, 1.0);
    cfg.l_max = 2;
    cfg.gen_len = 200;
    CHECK(sim(&cfg, ws, 1, 5, NULL, 0, &a, NULL) == AHASD_OK);
    cfg.schedule = AHASD_SCHED_AHASD;
    CHECK(sim(&cfg, ws, 1, 5, NULL, 0, &b, NULL) == AHASD_OK);
    CHECK(b.out[AHASD_OUT_SUPPRESSION_RATE] == 0.0);
    CHECK(b.out[AHASD_OUT_PREVERIFY_FRAC] == 0.0);
    CHECK_CLOSE(b.out[AHASD_OUT_TOTAL_TIME_S], a.out[AHASD_OUT_TOTAL_TIME_S], 0.0, 0.0);

    /* alpha = 0.5 with a 3-batch queue: rejected batches lower their
     * counters, EDC stops behind a batch on the NPU and TVC pre-verifies
     * the queued tokens while the NPU verifies (left = 10 - 1 s covers up
     * to m_max tokens at 1 s each). */
    cfg_explicit(&cfg, AHASD_SCHED_AHASD, 1.0, 10.0, 0.0, 1.0, 4, 0.5);
    cfg.l_max = 3;
    cfg.gen_len = 300;
    cfg.tvc_predictor = AHASD_TVC_EXACT;
    CHECK(sim(&cfg, ws, 2, 5, NULL, 0, &b, NULL) == AHASD_OK);
    check_identities(&cfg, &b);
    CHECK(b.out[AHASD_OUT_SUPPRESSION_RATE] > 0.0);
    CHECK(b.out[AHASD_OUT_PREVERIFY_FRAC] > 0.0);
    CHECK(b.flags & AHASD_FLAG_EXACT_PREDICTIONS);
}

/* ------------------------------------------------------------------ */
/* Identities over a grid                                              */
/* ------------------------------------------------------------------ */
static void test_grid(ahasd_workspace *ws)
{
    static const int scheds[] = {AHASD_SCHED_AUTOREGRESSIVE, AHASD_SCHED_SERIAL,
                                 AHASD_SCHED_SYNC, AHASD_SCHED_ASYNC, AHASD_SCHED_ASYNC_EDC,
                                 AHASD_SCHED_AHASD};
    static const int lmaxes[] = {1, 2, 3, 6};
    ahasd_config cfg;
    ahasd_result r;
    ahasd_trace_event *tr;
    size_t needed, cap = 20000;
    int si, pk, li, tv, prof, n_runs = check_quick ? 2 : 4;

    tr = malloc(cap * sizeof *tr);
    CHECK(tr != NULL);
    if (tr == NULL)
        return;
    for (si = 0; si < (int)(sizeof scheds / sizeof scheds[0]); si++)
        for (pk = 0; pk < AHASD_N_POLICIES; pk++)
            for (li = 0; li < 4; li++)
                for (tv = 0; tv < 2; tv++)
                    for (prof = 0; prof < 2; prof++) {
                        if (scheds[si] < AHASD_SCHED_ASYNC && li > 0)
                            continue;
                        /* token trees run on the round schedules only */
                        if (pk == AHASD_POLICY_TREE && (scheds[si] >= AHASD_SCHED_PARTITIONED))
                            continue;
                        if (scheds[si] != AHASD_SCHED_AHASD && tv > 0)
                            continue;
                        if (check_quick && (prof > 0 || li == 2))
                            continue;
                        cfg_explicit(&cfg, scheds[si], 0.011, 0.083, 0.0021, 0.0063, 4, 0.8);
                        cfg.costs.sync_s = 0.0007;
                        cfg.costs.rollback_s = 0.0011;
                        cfg.costs.switch_s = 0.0005;
                        cfg.policy.kind = pk;
                        cfg.policy.svip_h = 0.5;
                        cfg.policy.adaedl_lambda = 0.3;
                        cfg.policy.specdecpp_tau = 0.6;
                        cfg.policy.k_max = 12;
                        cfg.l_max = lmaxes[li];
                        cfg.tvc_predictor = tv ? AHASD_TVC_EXACT : AHASD_TVC_MOVING_AVERAGE;
                        cfg.gen_len = 700;
                        if (prof)
                            fixture_profile_regimes(&cfg.profile, 0.9);
                        else
                            profile_graded(&cfg.profile);
                        if (sim(&cfg, ws, n_runs, 11 + si, NULL, 0, &r, NULL) != AHASD_OK) {
                            CHECK(0);
                            continue;
                        }
                        check_identities(&cfg, &r);
                        if (sim(&cfg, ws, 1, 99, tr, cap, &r, &needed) != AHASD_OK) {
                            CHECK(0);
                            continue;
                        }
                        CHECK(needed <= cap);
                        check_trace(&r, tr, needed < cap ? needed : cap);
                        if (cfg.schedule == AHASD_SCHED_AHASD)
                            CHECK(r.out[AHASD_OUT_PREVERIFY_FRAC] < 1.0);
                    }
    free(tr);
}

/* ------------------------------------------------------------------ */
/* Reproducibility and equivalences                                     */
/* ------------------------------------------------------------------ */
static void test_seed(ahasd_workspace *ws)
{
    ahasd_config cfg;
    ahasd_result a, b;
    int s;

    for (s = AHASD_SCHED_SERIAL; s < AHASD_N_SCHEDULES; s++) {
        if (s == AHASD_SCHED_PARTITIONED)
            continue;
        cfg_explicit(&cfg, s, 0.011, 0.083, 0.0021, 0.0063, 4, 0.8);
        cfg.policy.kind = AHASD_POLICY_BANDITSPEC;
        fixture_profile_regimes(&cfg.profile, 0.9);
        cfg.gen_len = 500;
        CHECK(sim(&cfg, ws, 3, 2385, NULL, 0, &a, NULL) == AHASD_OK);
        CHECK(sim(&cfg, ws, 3, 2385, NULL, 0, &b, NULL) == AHASD_OK);
        CHECK(memcmp(&a, &b, sizeof a) == 0);
        CHECK(sim(&cfg, ws, 3, 2386, NULL, 0, &b, NULL) == AHASD_OK);
        CHECK(a.out[AHASD_OUT_TOTAL_TIME_S] != b.out[AHASD_OUT_TOTAL_TIME_S]);
    }
}

static void check_same(const ahasd_result *a, const ahasd_result *b, double rtol)
{
    int i;

    for (i = 0; i < AHASD_N_OUT; i++) {
        if (i == AHASD_OUT_SUPPRESSION_RATE)
            continue;
        CHECK_CLOSE(a->out[i], b->out[i], rtol, 1e-15);
    }
}

static void test_equivalences(ahasd_workspace *ws)
{
    ahasd_config cfg;
    ahasd_result a, b;
    int pk, n_runs = check_quick ? 4 : 20, i;

    /* async with L_max = 1 is sync: here even the random streams line up,
     * so the results agree to rounding; and the means agree within CI */
    for (pk = 0; pk < AHASD_POLICY_TREE; pk++) {   /* trees have no async schedule */
        cfg_explicit(&cfg, AHASD_SCHED_SYNC, 0.011, 0.083, 0.0021, 0.0063, 4, 0.8);
        cfg.costs.sync_s = 0.0007;
        cfg.costs.rollback_s = 0.0011;
        cfg.policy.kind = pk;
        cfg.policy.k_max = 10;
        profile_graded(&cfg.profile);
        CHECK(sim(&cfg, ws, n_runs, 17, NULL, 0, &a, NULL) == AHASD_OK);
        cfg.schedule = AHASD_SCHED_ASYNC;
        cfg.l_max = 1;
        CHECK(sim(&cfg, ws, n_runs, 17, NULL, 0, &b, NULL) == AHASD_OK);
        check_same(&a, &b, 1e-9);
        CHECK(sim(&cfg, ws, n_runs, 18, NULL, 0, &b, NULL) == AHASD_OK);
        for (i = 0; i < AHASD_N_OUT; i++)
            if (i <= AHASD_OUT_TOKENS_PER_ROUND)
                CHECK(fabs(a.out[i] - b.out[i]) <=
                      2.0 * (a.ci95[i] + b.ci95[i]) + 1e-12 * fabs(a.out[i]));
    }
    /* EDC that never stops (every batch accepted) is async; TVC that can
     * never fit a token (pre-verification dearer than any NPU pass) keeps
     * drafting after a stop, which is async too */
    cfg_explicit(&cfg, AHASD_SCHED_ASYNC, 0.011, 0.083, 0.0021, 0.0063, 4, 1.0);
    cfg.l_max = 3;
    CHECK(sim(&cfg, ws, 3, 5, NULL, 0, &a, NULL) == AHASD_OK);
    cfg.schedule = AHASD_SCHED_ASYNC_EDC;
    CHECK(sim(&cfg, ws, 3, 5, NULL, 0, &b, NULL) == AHASD_OK);
    CHECK(b.out[AHASD_OUT_SUPPRESSION_RATE] == 0.0);
    check_same(&a, &b, 0.0);
    for (i = 0; i < 2; i++) {
        cfg_explicit(&cfg, AHASD_SCHED_ASYNC, 0.011, 0.083, 0.0021, 50.0, 4, 0.7);
        cfg.costs.rollback_s = 0.0011;
        cfg.costs.switch_s = 0.0005;
        cfg.l_max = 4;
        fixture_profile_regimes(&cfg.profile, 0.8);
        cfg.tvc_predictor = i ? AHASD_TVC_EXACT : AHASD_TVC_MOVING_AVERAGE;
        CHECK(sim(&cfg, ws, 3, 5, NULL, 0, &a, NULL) == AHASD_OK);
        cfg.schedule = AHASD_SCHED_AHASD;
        CHECK(sim(&cfg, ws, 3, 5, NULL, 0, &b, NULL) == AHASD_OK);
        CHECK(b.out[AHASD_OUT_SUPPRESSION_RATE] > 0.0);
        CHECK(b.out[AHASD_OUT_PREVERIFY_FRAC] == 0.0);
        check_same(&a, &b, 0.0);
    }
}

/* ------------------------------------------------------------------ */
/* Literature and design claims                                        */
/* ------------------------------------------------------------------ */
static void test_leviathan(ahasd_workspace *ws)
{
    /* serial, fixed k = 4, i.i.d. alpha = 0.8, verification = one target
     * step T, a draft token c T with c = 0.1: E[tokens per round] =
     * (1 - a^5) / (1 - a) = 3.3616, speed-up over autoregressive 2.4011.
     * A long generation makes the truncation of the last round negligible
     * against the interval (bias about 1.7 tokens per run). */
    ahasd_config cfg;
    ahasd_result r, ar;
    const double T = 0.02;
    double tpr = (1.0 - pow(0.8, 5)) / 0.2, sp = tpr / 1.4;
    int n_runs = check_quick ? 8 : 40;

    cfg_explicit(&cfg, AHASD_SCHED_SERIAL, 0.1 * T, T, 0.0, 0.5 * T, 4, 0.8);
    cfg.gen_len = check_quick ? 20000 : 50000;
    CHECK(sim(&cfg, ws, n_runs, 42, NULL, 0, &r, NULL) == AHASD_OK);
    cfg.schedule = AHASD_SCHED_AUTOREGRESSIVE;
    CHECK(sim(&cfg, ws, 2, 42, NULL, 0, &ar, NULL) == AHASD_OK);
    CHECK_CLOSE(ar.out[AHASD_OUT_THROUGHPUT_TOK_S], 1.0 / T, 1e-12, 0.0);
    CHECK(fabs(r.out[AHASD_OUT_TOKENS_PER_ROUND] - tpr) <= r.ci95[AHASD_OUT_TOKENS_PER_ROUND]);
    CHECK(fabs(r.out[AHASD_OUT_THROUGHPUT_TOK_S] * T - sp) <=
          r.ci95[AHASD_OUT_THROUGHPUT_TOK_S] * T);
    CHECK(r.ci95[AHASD_OUT_TOKENS_PER_ROUND] < 0.02 * tpr);
    CHECK(fabs(r.out[AHASD_OUT_ACCEPTANCE_RATE] -
               (tpr - 1.0) / 4.0) <= r.ci95[AHASD_OUT_ACCEPTANCE_RATE]);
}

static void test_edc_waste(ahasd_workspace *ws)
{
    /* Sticky regimes: in the high-entropy regime most batches are rejected
     * and the look-ahead batches drafted on top of them are flushed; EDC
     * learns to stop there, so less is wasted per committed token. */
    ahasd_config cfg;
    ahasd_result a, e;
    int n_runs = check_quick ? 6 : 30;
    double wa, we;

    cfg_explicit(&cfg, AHASD_SCHED_ASYNC, 0.011, 0.04, 0.001, 0.0063, 4, 0.8);
    cfg.costs.rollback_s = 0.0011;
    cfg.l_max = 4;
    fixture_profile_regimes(&cfg.profile, 0.97);
    CHECK(sim(&cfg, ws, n_runs, 9, NULL, 0, &a, NULL) == AHASD_OK);
    cfg.schedule = AHASD_SCHED_ASYNC_EDC;
    CHECK(sim(&cfg, ws, n_runs, 9, NULL, 0, &e, NULL) == AHASD_OK);
    CHECK(e.out[AHASD_OUT_SUPPRESSION_RATE] > 0.05);
    CHECK(e.out[AHASD_OUT_WASTE_FRAC] + e.ci95[AHASD_OUT_WASTE_FRAC] <
          a.out[AHASD_OUT_WASTE_FRAC] - a.ci95[AHASD_OUT_WASTE_FRAC]);
    wa = a.out[AHASD_OUT_DRAFTED_TOKENS] * a.out[AHASD_OUT_WASTE_FRAC];
    we = e.out[AHASD_OUT_DRAFTED_TOKENS] * e.out[AHASD_OUT_WASTE_FRAC];
    CHECK(we < wa);
    CHECK(e.out[AHASD_OUT_PIM_BUSY_FRAC] < a.out[AHASD_OUT_PIM_BUSY_FRAC]);
}

static void test_tvc_npu(ahasd_workspace *ws)
{
    /* With exact predictions TVC only uses PIM time that ends before the NPU
     * needs its next batch, so the NPU never waits for a pre-verification
     * (sim.c fails a run where it does).  The fair comparison: ahasd
     * against the same ahasd whose pre-verification never fits (same EDC,
     * keep drafting after a stop): pre-verification must not leave the NPU
     * idle more per committed token. */
    ahasd_config cfg;
    ahasd_result with, without;
    int n_runs = check_quick ? 6 : 30, c;
    static const double pv[3] = {0.002, 0.004, 0.0008};
    static const double vk[3] = {0.001, 0.004, 0.0};

    for (c = 0; c < 3; c++) {
        cfg_explicit(&cfg, AHASD_SCHED_AHASD, 0.011, 0.06, vk[c], pv[c], 4, 0.8);
        cfg.costs.rollback_s = 0.0011;
        cfg.costs.switch_s = 0.0005;
        cfg.costs.sync_s = 0.0004;
        cfg.l_max = 3;
        cfg.tvc_predictor = AHASD_TVC_EXACT;
        fixture_profile_regimes(&cfg.profile, 0.9);
        CHECK(sim(&cfg, ws, n_runs, 21, NULL, 0, &with, NULL) == AHASD_OK);
        CHECK(with.out[AHASD_OUT_PREVERIFY_FRAC] > 0.0);
        cfg.costs.preverify_token_s = 1e3;
        CHECK(sim(&cfg, ws, n_runs, 21, NULL, 0, &without, NULL) == AHASD_OK);
        CHECK(without.out[AHASD_OUT_PREVERIFY_FRAC] == 0.0);
        CHECK(with.out[AHASD_OUT_NPU_IDLE_S] <=
              without.out[AHASD_OUT_NPU_IDLE_S] + with.ci95[AHASD_OUT_NPU_IDLE_S] +
                  without.ci95[AHASD_OUT_NPU_IDLE_S]);
        CHECK(with.out[AHASD_OUT_THROUGHPUT_TOK_S] + with.ci95[AHASD_OUT_THROUGHPUT_TOK_S] >=
              without.out[AHASD_OUT_THROUGHPUT_TOK_S] -
                  without.ci95[AHASD_OUT_THROUGHPUT_TOK_S]);
    }
}

/* ------------------------------------------------------------------ */
/* The hardware cost model: contention, partitioned, AHASD              */
/* ------------------------------------------------------------------ */
static void test_hardware(ahasd_workspace *ws)
{
    ahasd_config cfg;
    ahasd_result a, b, e;
    ahasd_trace_event tr[8192];
    ahasd_error err;
    plat_t p;
    sched_split sp;
    ahasd_cost h, pm;
    size_t needed;
    int s, n_runs = check_quick ? 2 : 6;

    /* every schedule runs and keeps the identities */
    for (s = 0; s < AHASD_N_SCHEDULES; s++) {
        cfg_hw(&cfg, s, 0.2);
        cfg.gen_len = 256;
        if (s == AHASD_SCHED_SERIAL) {
            cfg.hw.draft_dev = AHASD_DEV_NPU;
        }
        CHECK(sim(&cfg, ws, n_runs, 4, NULL, 0, &a, NULL) == AHASD_OK);
        check_identities(&cfg, &a);
        CHECK(sim(&cfg, ws, 1, 4, tr, 8192, &a, &needed) == AHASD_OK);
        check_trace(&a, tr, needed < 8192 ? needed : 8192);
        CHECK(a.out[AHASD_OUT_TOTAL_ENERGY_J] > 0.0);
    }
    /* contention slows the NPU in async (the PIM drafts while it
     * verifies), not in sync (the devices never overlap) */
    cfg_hw(&cfg, AHASD_SCHED_ASYNC, 0.0);
    CHECK(sim(&cfg, ws, n_runs, 4, NULL, 0, &a, NULL) == AHASD_OK);
    cfg.hw.contention = 0.5;
    CHECK(sim(&cfg, ws, n_runs, 4, NULL, 0, &b, NULL) == AHASD_OK);
    CHECK(b.time_s[AHASD_DEV_NPU][AHASD_TASK_VERIFY] / b.out[AHASD_OUT_ROUNDS] >
          1.01 * a.time_s[AHASD_DEV_NPU][AHASD_TASK_VERIFY] / a.out[AHASD_OUT_ROUNDS]);
    cfg.schedule = AHASD_SCHED_SYNC;
    CHECK(sim(&cfg, ws, n_runs, 4, NULL, 0, &b, NULL) == AHASD_OK);
    cfg.hw.contention = 0.0;
    CHECK(sim(&cfg, ws, n_runs, 4, NULL, 0, &e, NULL) == AHASD_OK);
    check_same(&b, &e, 0.0);

    /* the exact overlap: alpha = 1, k = 4, the PIM always ahead (no bonus,
     * batch j starts at position 4 j); each verification of nominal time T
     * and memory time M that overlaps PIM work for o seconds lasts
     * T + o (1 - T / (T + c M)) */
    cfg_hw(&cfg, AHASD_SCHED_ASYNC, 0.7);
    ahasd_profile_iid(&cfg.profile, 1.0, &err);
    cfg.gen_len = 200;
    CHECK(plat_init(&p, &cfg, &err) == AHASD_OK);
    CHECK(sim(&cfg, ws, 1, 4, tr, 8192, &a, &needed) == AHASD_OK);
    CHECK_CLOSE(a.out[AHASD_OUT_TOKENS_PER_ROUND], 4.0, 0.0, 0.0);
    {
        size_t i, j, nv = 0;
        double o, lo, hi, T, M, want;
        ahasd_cost vc;

        for (i = 0; i < needed && i < 8192; i++) {
            if (tr[i].device != AHASD_DEV_NPU)
                continue;
            o = 0.0;
            for (j = 0; j < needed && j < 8192; j++) {
                if (tr[j].device != AHASD_DEV_PIM)
                    continue;
                lo = tr[j].start_s > tr[i].start_s ? tr[j].start_s : tr[i].start_s;
                hi = tr[j].end_s < tr[i].end_s ? tr[j].end_s : tr[i].end_s;
                if (hi > lo)
                    o += hi - lo;
            }
            plat_cost(&p, PLAT_VERIFY, 4, cfg.prompt_len + 4.0 * tr[i].batch, &vc);
            T = vc.time_s;
            M = vc.memory_s;
            want = T + o * (1.0 - T / (T + 0.7 * M));
            CHECK_CLOSE(tr[i].end_s - tr[i].start_s, want, 1e-9, 0.0);
            if (o > 0.0)
                nv++;
        }
        CHECK(nv > 10);
    }

    /* partitioned, alpha = 1, fixed k = k*: every round is max(host, PIM)
     * of the shared split + sync; compare a round with sched_partition_round
     * at the prompt context on a one-round generation */
    cfg_hw(&cfg, AHASD_SCHED_PARTITIONED, 0.0);
    ahasd_profile_iid(&cfg.profile, 1.0, &err);
    cfg.policy.k = 4;
    cfg.gen_len = 5;
    CHECK(plat_init(&p, &cfg, &err) == AHASD_OK);
    sched_partition_split(&p, 4, cfg.prompt_len, &sp);
    CHECK(sim(&cfg, ws, 1, 4, NULL, 0, &a, NULL) == AHASD_OK);
    sched_partition_round(&p, &sp, 4, cfg.prompt_len, &h, &pm);
    /* the simulator costs draft pass i at context P + i: slightly more */
    CHECK_CLOSE(a.out[AHASD_OUT_TOTAL_TIME_S],
                (h.time_s > pm.time_s ? h.time_s : pm.time_s) + cfg.hw.sync_s, 1e-3, 0.0);
    CHECK(a.out[AHASD_OUT_TOTAL_TIME_S] >=
          (h.time_s > pm.time_s ? h.time_s : pm.time_s) + cfg.hw.sync_s);
    CHECK(a.out[AHASD_OUT_NPU_BUSY_FRAC] > 0.3 && a.out[AHASD_OUT_PIM_BUSY_FRAC] > 0.3);

    /* ahasd on the platform: pre-verification happens, predictions of both
     * kinds run */
    cfg_hw(&cfg, AHASD_SCHED_AHASD, 0.1);
    fixture_profile_regimes(&cfg.profile, 0.9);
    cfg.l_max = 3;
    CHECK(sim(&cfg, ws, n_runs, 4, NULL, 0, &a, NULL) == AHASD_OK);
    check_identities(&cfg, &a);
    cfg.tvc_predictor = AHASD_TVC_EXACT;
    CHECK(sim(&cfg, ws, n_runs, 4, NULL, 0, &b, NULL) == AHASD_OK);
    check_identities(&cfg, &b);
}

/* ------------------------------------------------------------------ */
/* Trace buffer and arguments                                           */
/* ------------------------------------------------------------------ */
static void test_trace_and_errors(ahasd_workspace *ws)
{
    ahasd_config cfg;
    ahasd_result r;
    ahasd_trace_event tr[16];
    ahasd_sim_options opt;
    ahasd_error err;
    size_t needed, needed2;
    plat_t p;

    cfg_explicit(&cfg, AHASD_SCHED_AHASD, 0.011, 0.083, 0.0021, 0.0063, 4, 0.8);
    fixture_profile_regimes(&cfg.profile, 0.9);
    cfg.gen_len = 300;
    /* a small buffer truncates silently; trace_needed says how many */
    CHECK(sim(&cfg, ws, 2, 1, tr, 16, &r, &needed) == AHASD_OK);
    CHECK(needed > 16);
    CHECK(sim(&cfg, ws, 2, 1, NULL, 0, &r, &needed2) == AHASD_OK);
    CHECK(needed2 == needed);
    CHECK(tr[0].start_s == 0.0 && tr[0].device == AHASD_DEV_PIM &&
          tr[0].task == AHASD_TASK_DRAFT && tr[0].batch == 0 && tr[0].run == 0);

    memset(&opt, 0, sizeof opt);
    opt.n_runs = 0;
    CHECK_ERR(ahasd_simulate(&cfg, &opt, ws, &r, &err), AHASD_ERR_BAD_PARAM, "n_runs");
    opt.n_runs = 1;
    opt.trace_cap = 3;
    CHECK_ERR(ahasd_simulate(&cfg, &opt, ws, &r, &err), AHASD_ERR_NULL, "trace");
    CHECK_ERR(ahasd_simulate(NULL, &opt, ws, &r, &err), AHASD_ERR_NULL, "NULL");
    opt.trace_cap = 0;
    CHECK(plat_init(&p, &cfg, &err) == AHASD_OK);
    CHECK_ERR(sim_run(&cfg, &p, NULL, ws, &r, &err), AHASD_ERR_NULL, "NULL");
    opt.n_runs = -2;
    CHECK_ERR(sim_run(&cfg, &p, &opt, ws, &r, &err), AHASD_ERR_BAD_PARAM, "n_runs");
}

void test_sim(void)
{
    ahasd_workspace *ws = ahasd_workspace_alloc();

    CHECK(ws != NULL);
    if (ws == NULL)
        return;
    test_exact_sync(ws);
    test_exact_async(ws);
    test_exact_tvc(ws);
    test_grid(ws);
    test_seed(ws);
    test_equivalences(ws);
    test_leviathan(ws);
    test_edc_waste(ws);
    test_tvc_npu(ws);
    test_hardware(ws);
    test_trace_and_errors(ws);
    ahasd_workspace_free(ws);
}
