/*
 * sim.c -- the exact discrete-event simulator of every schedule.  It is the
 * reference the analytical estimates (schedule.c, chain.c) are validated
 * against, so it implements docs/MODEL.md ("Schedule semantics" and
 * "Choices this implementation makes") literally; where that page is silent
 * the choice made here is written in the comment of the part concerned and
 * collected in the block below.
 *
 * A simulation is opt->n_runs independent generations of cfg->gen_len tokens
 * after cfg->prompt_len cached tokens, drawn from one random stream
 * (ws_rng(seed)); run r continues the stream where run r-1 stopped, so the
 * same seed gives bit-identical results.  Every task is costed by plat_cost
 * (or plat_pass_part for the partitioned shares) at the context when it
 * starts: the prompt plus every generated token before the first position
 * the task produces or checks (committed tokens and the unverified drafts
 * ahead of it).  The drafting marks (bucket, acceptance flag, stop) come
 * token by token from the real drafter (drafter_next), drawn when a token's
 * draft pass completes; BanditSpec runs the real bandit (fresh per run).
 *
 * Schedules.
 *   autoregressive  one TLM step (VERIFY with 0 drafts) per token on
 *                   verify_dev; each step is a round.
 *   serial          K draft passes (PLAT_SERIAL_DRAFT) then VERIFY(K) on
 *                   verify_dev; rollback_s (busy, verify_dev) after a
 *                   rejection.
 *   sync            K draft passes on draft_dev, sync_s handoff (both idle),
 *                   VERIFY(K) on verify_dev, rollback_s (busy, draft_dev)
 *                   after a rejection.
 *   tree policy     (serial, sync) per round the D level passes of the
 *                   token tree (tree_level_cost, each at the context of the
 *                   tokens before its depth), the handoff (sync), one
 *                   verification of the kept nodes, A from tree_sample,
 *                   rollback_s when A < D (run_tree).
 *   partitioned     per round both devices run their shares of the K DLM
 *                   passes and the TLM pass concurrently under the static
 *                   split of sched_partition_split (balanced at the design
 *                   length sched_design_k and the prompt context; the same
 *                   function the closed form uses), round time = max(host,
 *                   PIM) + sync_s, rollback_s on the PIM after a rejection.
 *   async, async-edc, ahasd
 *                   the event engine below.
 * A round commits A accepted drafts plus one target token (correction or
 * bonus) at the end of its verification; the run ends at the commit that
 * reaches gen_len, truncated to exactly gen_len.
 *
 * The event engine (async family).  Two devices, so the next event is the
 * earlier of two end times (PIM task, NPU task; NPU first on a tie) and no
 * heap is needed; nothing is allocated in the loop.  State: the pipeline, a
 * ring of batches in sequence order (drafting, queued, on the NPU, or
 * decided by pre-verification and waiting for the batches before them);
 * D is the number of its batches not decided by pre-verification (their
 * verification has not completed, MODEL.md); the PIM's task (draft token,
 * switch in, pre-verify, switch out, rollback) or wait (EDC stop, queue
 * full); the NPU's task (the sync_s handoff, then the verification of the
 * head batch).
 *   - The PIM starts a batch only while D < L_max.  After each completed
 *     batch: EDC decision (async-edc, ahasd); continue -> next batch (or wait
 *     while D = L_max); stop -> async-edc waits for the next NPU result,
 *     ahasd runs TVC.
 *   - The NPU, when free, takes the head batch if it is complete and not
 *     being pre-verified (it waits for a pre-verification in progress), does
 *     the sync_s handoff (idle on the NPU only: the PIM keeps drafting) and
 *     verifies the head's tokens that pre-verification has not decided.
 *   - Verification accepts all: commit K, plus the bonus iff no later batch
 *     exists (queued, decided or in drafting).  Rejection: commit A + 1,
 *     flush every later batch and the batch in drafting (completed tokens
 *     drafted and wasted, the partial token charged for the time it ran),
 *     interrupt a pre-verification, then the PIM switches back to the DLM if
 *     needed and rolls back (rollback_s) before drafting again from the
 *     corrected token (bucket chain continues from the rejected token).
 *   - Contention: an NPU pass with nominal time T and memory-bound time M
 *     progresses at rate T / (T + c M) while the PIM is busy (any task) and
 *     at rate 1 otherwise (the rate model of sched_contended_time); the
 *     rate changes exactly at the PIM's state changes.  The extra time draws
 *     the NPU's busy static power (acct_busy).
 *   - EDC: LEHT shift register (LEHT[0] newest), LCEHT, 512 two-bit PHT
 *     counters started at 2; index {floor(avg LEHT[4..7]), floor(avg
 *     LEHT[0..3]), min(D, 7)} with D counted after the new batch; the
 *     batch's bucket is dd_edc_bucket.  When a batch's outcome is decided
 *     final (it commits, or the NPU rejects it), its counter moves +1 (full) / -1 and
 *     LCEHT := LEHT / LEHT := LCEHT.  Discarded batches update nothing.
 *   - TVC (ahasd): on an EDC stop, and again after every pre-verification
 *     pass, left = (NPU time remaining) - (time to draft one token) and m =
 *     the most tokens with switch_s + preverify(m) <= left (moving average:
 *     floor((left - switch_s) / per-token prediction)), capped by m_max and
 *     by the undecided tokens after the NPU's batch (the NPU's batch is the
 *     head from the start of its handoff).  m >= 1: switch in (if on the
 *     DLM) and pre-verify the m earliest such tokens (they count as being
 *     pre-verified from the decision on, so the NPU waits for them); m < 1:
 *     switch out (if on the TLM) and draft, or wait while D = L_max.
 *   - Pre-verification outcome, tokens in order: accepted tokens are decided
 *     (a batch all of whose tokens are decided is "known full"); the first
 *     rejected token makes its batch "known rejected" (prefix + correction,
 *     A + 1 tokens), every later batch is discarded at once, and the PIM
 *     switches back, rolls back and drafts from the correction.  Known
 *     batches need no NPU pass and commit as soon as every batch before
 *     them has (full: K plus the bonus iff no later batch exists then).
 *
 * Choices where MODEL.md is silent (each also stated where implemented):
 *   - sync_s in the async family delays the verification on the NPU only.
 *   - Batches decided by pre-verification do not count in D (their
 *     verification has completed) although they wait in the pipeline for
 *     the batches before them to commit; the ring holds SIM_RING batches
 *     (the PIM waits if it is ever full, which needs pre-verification far
 *     cheaper than one NPU pass).
 *   - A bonus needs no later batch at all in the pipeline (decided or not).
 *   - rounds = batches that committed (an outcome decided by
 *     pre-verification and later flushed is not a round); EDC counters and
 *     the bandit are updated when the outcome is final (the batch commits,
 *     or the NPU rejects it), so a batch flushed after pre-verification
 *     decided it updates nothing; the entropy history is restored as soon
 *     as pre-verification finds a rejection (the drafts after it are gone).
 *   - A flush that arrives during a switch lets the switch finish (a mode
 *     change is atomic); one that arrives during a rollback restarts it.
 *   - A pre-verification rejection is a rejection: rollback_s follows.
 *   - drafted counts the tokens whose fate is known at the end of the run
 *     (drafted = accepted + wasted exactly); tokens still in the pipeline
 *     when the run ends, and the accepted tokens cut by the final
 *     truncation, are in flight and counted in neither.
 *   - wasted_s: draft time of every drafted token never committed, the
 *     partial token and the pre-verification time of discarded batches and
 *     of the tokens after a rejected one.  Trace events are marked wasted
 *     when a flush or a pre-verification rejection discards their batch.
 *   - Outputs pool the runs: ratios of totals (throughput = all committed
 *     tokens / all wall time), the long-run quantities the analytical
 *     estimates compute (a mean of per-run ratios is biased when runs differ
 *     a lot, e.g. under persistent entropy regimes); extensive outputs and
 *     breakdowns are per generation; ci95 is t_{0.975, n-1} sd / sqrt(n) of
 *     the per-run values.  Gap quantiles pool every committed token
 *     of every run; their ci95 uses the spread of the per-run quantiles.
 */
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "internal.h"

#define SIM_RING 128           /* the pipeline's ring (power of 2)           */
#define SIM_STATE_SLOT 3       /* ws_scratch slot of the simulator state     */
#define SIM_GAP_SLOT 5         /* ws_scratch slot of the gap array           */
#define SIM_DC_SLOT 4          /* ws_scratch slot of the draft-cost cache    */
#define SIM_DC 10              /* doubles per cached cost                    */
#define SIM_DC_MAX (1L << 20)  /* positions cached at most                   */
#define SIM_MSG 200

/* PIM states; the states from PS_DRAFT on are busy. */
enum {
    PS_NONE = 0,               /* transient: between tasks                   */
    PS_WAIT_EDC,               /* async-edc stop: wait for the next result   */
    PS_BLOCKED,                /* D = L_max: wait for D to drop              */
    PS_DRAFT,                  /* drafting one token of the tail batch       */
    PS_SWITCH_IN,              /* DLM -> TLM                                 */
    PS_PREVERIFY,              /* pre-verifying the reserved tokens          */
    PS_SWITCH_OUT,             /* TLM -> DLM                                 */
    PS_ROLLBACK                /* restoring the drafter's KV cache           */
};

enum { NS_IDLE = 0, NS_SYNC, NS_VERIFY };

enum { KNOWN_NO = 0, KNOWN_FULL = 1, KNOWN_REJ = 2 };

/* A 4-entry moving average (the paper's NVCT/PDCT/PVCT tables). */
typedef struct {
    double v[4];
} ma4_t;

static void ma4_seed(ma4_t *m, double x)
{
    m->v[0] = m->v[1] = m->v[2] = m->v[3] = x;
}

static void ma4_push(ma4_t *m, double x)
{
    m->v[3] = m->v[2];
    m->v[2] = m->v[1];
    m->v[1] = m->v[0];
    m->v[0] = x;
}

static double ma4_avg(const ma4_t *m)
{
    return 0.25 * (m->v[0] + m->v[1] + m->v[2] + m->v[3]);
}

/* One draft batch.  Token i (0-based) has bucket[i], took draft_s[i] on the
 * PIM and pv_s[i] of pre-verification time; first_rej is the first token
 * whose acceptance flag is 0 (-1: none so far), so A = first_rej or k.
 * Tokens [0, pv) are decided accepted by pre-verification, [pv, pv + resv)
 * are being pre-verified. */
typedef struct {
    int id;                    /* sequence number in the run                 */
    int k;                     /* completed tokens                           */
    int complete;              /* drafting finished (k is the policy's K)    */
    int first_rej;
    int pv, resv;
    int known;                 /* KNOWN_*                                    */
    int arm;                   /* bandit arm (-1: none)                      */
    int edc_idx;               /* PHT index of the decision after it (-1)    */
    int bsum;                  /* sum of the buckets (EDC)                   */
    long off;                  /* generated tokens before its first token    */
    long tr_draft;             /* trace event of its drafting (-1: none)     */
    int n_tr_pv;
    long tr_pv[AHASD_MAX_K];   /* pre-verification events starting in it     */
    unsigned char bucket[AHASD_MAX_K];
    double draft_s[AHASD_MAX_K];
    double pv_s[AHASD_MAX_K];
} batch_t;

typedef struct {
    /* fixed for the whole simulation */
    const ahasd_config *cfg;
    const plat_t *p;
    ahasd_sim_options *opt;
    gsl_rng *rng;
    drafter_t dr;
    sched_split split;
    int sched, edc, tvc, exact, bandit_on;
    int lmax, m_max, kd;
    long N;
    double P;
    int pim, npu;              /* draft_dev and verify_dev                   */
    int wdev;                  /* device that drafts (serial: verify_dev)    */
    double sync_s, rollback_s, switch_s, contention, cost_ratio;
    ahasd_cost seed_draft, seed_verify, seed_pv;
    int dtask;                 /* PLAT_DRAFT (PLAT_SERIAL_DRAFT for serial)  */
    double *dcache;            /* draft-token costs by position, lazily      */
    long dcache_n;
    int dcache_dev;            /* the device of every draft token            */
    /* per run */
    int tracing;
    acct_t a;
    bandit_t bandit;
    double now, t_prev;        /* current time, time of the previous commit  */
    double *gap;               /* this run's N inter-token gaps              */
    long gap_n;
    long committed, accepted, corrections, bonuses, ar_tokens;
    long drafted_all, wasted, inflight;
    int done, bad;
    char msg[SIM_MSG];
    int chain_prev;            /* bucket the next draft token's row is from  */
    int next_id;
    batch_t ring[SIM_RING];
    int head, count;           /* pipeline: ring[head], ... (count batches)  */
    int n_known;               /* of which decided by pre-verification       */
    /* PIM */
    int ps, tlm, need_rb, pv_m;
    double p_start, p_end;
    ahasd_cost p_cost;
    long p_tr;
    /* NPU */
    int ns;
    double n_start, n_end, n_work, n_last, n_rate, n_T, n_M;
    ahasd_cost n_cost;
    int n_tok;
    long n_tr;
    int n_wait_pv;             /* waiting for a pre-verification             */
    double n_wait_since, n_wait_pv_s;
    /* EDC */
    int leht[8], lceht[8];
    unsigned char pht[AHASD_EDC_PHT];
    /* TVC predictors */
    ma4_t nvct, pdct, pvct;
    /* bandit statistics */
    double arm_pulls[AHASD_MAX_ARMS];
    /* token tree (policy 'tree', serial and sync) */
    int is_tree;
    tree_t tree;
} sim_t;

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */
static void sim_fail(sim_t *s, const char *what)
{
    if (!s->bad)
        snprintf(s->msg, sizeof s->msg, "%s", what);
    s->bad = 1;
    s->done = 1;
}

static batch_t *bat(sim_t *s, int i)
{
    return &s->ring[(s->head + i) & (SIM_RING - 1)];
}

static int pim_busy(const sim_t *s)
{
    return s->ps >= PS_DRAFT;
}

/* D: the batches drafted or in drafting whose verification has not
 * completed (MODEL.md), i.e. the pipeline without the batches that
 * pre-verification decided and that wait for the batches before them. */
static int depth(const sim_t *s)
{
    return s->count - s->n_known;
}

/* The PIM may start a batch: D < L_max (and the ring has room, a storage
 * bound no realistic configuration reaches: known batches pile up only
 * while one NPU pass lasts). */
static int may_draft(const sim_t *s)
{
    return depth(s) < s->lmax && s->count < SIM_RING;
}

/* Trace of run 0: an event is appended when its task starts (so the buffer
 * is ordered by start time) and closed when it ends; events beyond the
 * buffer are counted in trace_needed only.  Idle time (sync handoffs and
 * waits) and zero-length tasks are not recorded. */
static long tr_open(sim_t *s, int dev, int task, double start, int batch)
{
    ahasd_trace_event *e;
    size_t idx;

    if (!s->tracing)
        return -1;
    idx = s->opt->trace_needed++;
    if (idx >= s->opt->trace_cap)
        return -1;
    e = &s->opt->trace[idx];
    e->run = 0;
    e->device = dev;
    e->task = task;
    e->wasted = 0;
    e->start_s = start;
    e->end_s = start;
    e->tokens = 0;
    e->batch = batch;
    s->opt->trace_len = idx + 1;
    return (long)idx;
}

static void tr_close(sim_t *s, long idx, double end, int tokens)
{
    if (idx < 0)
        return;
    s->opt->trace[idx].end_s = end;
    s->opt->trace[idx].tokens = tokens;
}

static void tr_waste(sim_t *s, long idx)
{
    if (idx >= 0)
        s->opt->trace[idx].wasted = 1;
}

/* A task whose elapsed time exceeds its nominal time (contention): the
 * nominal cost times w plus the extra time at the device's busy static
 * power. */
static void charge_stretched(sim_t *s, const ahasd_cost *c, int task, double w, double extra)
{
    acct_task(&s->a, c, task, w, 0);
    if (extra > 0.0)
        acct_busy(&s->a, s->p, c->device, task, extra, 1.0);
}

static void bandit_note(sim_t *s, const batch_t *b, int A)
{
    if (!s->bandit_on || b->arm < 0)
        return;
    bandit_update(&s->bandit, b->arm,
                  bandit_reward(&s->cfg->policy, s->cost_ratio, b->k, A));
}

/* The cost of the draft token at generated position pos (context P + pos):
 * plat_cost is pure, so each position's cost is computed once per
 * simulation and kept in the cache (SIM_DC doubles per position, time NaN
 * until filled). */
static void draft_cost(sim_t *s, long pos, ahasd_cost *c)
{
    double *e;
    int i;

    if (s->dcache == NULL || pos < 0 || pos >= s->dcache_n) {
        plat_cost(s->p, s->dtask, 0, s->P + (double)pos, c);
        return;
    }
    e = s->dcache + pos * SIM_DC;
    if (isnan(e[0])) {
        plat_cost(s->p, s->dtask, 0, s->P + (double)pos, c);
        e[0] = c->time_s;
        e[1] = c->compute_s;
        e[2] = c->memory_s;
        e[3] = c->overhead_s;
        e[4] = c->energy_j;
        for (i = 0; i < AHASD_N_ECAUSES; i++)
            e[5 + i] = c->energy_by_cause_j[i];
        return;
    }
    c->device = s->dcache_dev;
    c->time_s = e[0];
    c->compute_s = e[1];
    c->memory_s = e[2];
    c->overhead_s = e[3];
    c->energy_j = e[4];
    for (i = 0; i < AHASD_N_ECAUSES; i++)
        c->energy_by_cause_j[i] = e[5 + i];
}

/* ------------------------------------------------------------------ */
/* Commits and waste                                                   */
/* ------------------------------------------------------------------ */
/* Record a commit event of c tokens at s->now: one gap since the previous
 * commit and c - 1 gaps of 0; the run ends when N tokens are committed. */
static void commit_record(sim_t *s, long c)
{
    long i;

    if (s->gap_n + c > s->N) {
        sim_fail(s, "commit beyond gen_len");
        return;
    }
    s->gap[s->gap_n++] = s->now - s->t_prev;
    for (i = 1; i < c; i++)
        s->gap[s->gap_n++] = 0.0;
    s->committed += c;
    s->a.rounds += 1.0;
    s->t_prev = s->now;
    if (s->committed >= s->N)
        s->done = 1;
}

/* Commit batch b's outcome: nacc accepted drafts plus `extra` (0 or 1)
 * target tokens (the correction when nacc < k, the bonus when nacc = k).
 * The drafts after the accepted ones are the rejected tail: wasted, with
 * their draft time and the pre-verification time of tokens after the
 * rejected one.  The commit that reaches N is truncated to exactly N; the
 * batch's tokens beyond the cut are in flight (neither accepted nor
 * wasted). */
static void commit_batch(sim_t *s, batch_t *b, int nacc, int extra)
{
    long rem = s->N - s->committed, c = nacc + extra, acc = nacc, ext = extra;
    int i;
    double w = 0.0;

    if (b->off != s->committed) {
        sim_fail(s, "batch offset does not follow the committed tokens");
        return;
    }
    if (c > rem) {
        acc = nacc < rem ? nacc : rem;
        ext = rem - acc;
        c = rem;
        s->inflight += b->k - acc;
    } else {
        s->wasted += b->k - nacc;
        for (i = nacc; i < b->k; i++)
            w += b->draft_s[i] + (i > nacc ? b->pv_s[i] : 0.0);
        s->a.wasted_s[s->wdev] += w;
    }
    s->accepted += acc;
    if (nacc < b->k)
        s->corrections += ext;
    else
        s->bonuses += ext;
    commit_record(s, c);
}

/* Discard batch b (flush or pre-verification rejection before it): every
 * completed token is wasted, with its draft and pre-verification time; its
 * trace events are marked.  A batch still being drafted has its event
 * closed here. */
static void batch_discard(sim_t *s, batch_t *b)
{
    int i;
    double w = 0.0;

    s->wasted += b->k;
    for (i = 0; i < b->k; i++)
        w += b->draft_s[i] + b->pv_s[i];
    s->a.wasted_s[s->pim] += w;
    if (!b->complete)
        tr_close(s, b->tr_draft, s->now, b->k);
    tr_waste(s, b->tr_draft);
    for (i = 0; i < b->n_tr_pv; i++)
        tr_waste(s, b->tr_pv[i]);
}

/* ------------------------------------------------------------------ */
/* Batches and drafting                                                */
/* ------------------------------------------------------------------ */
/* Start batch b at offset off: the bandit picks its arm (BanditSpec) and
 * the drafter begins a batch. */
static void batch_begin(sim_t *s, batch_t *b, long off)
{
    int kk = s->cfg->policy.k;

    b->id = s->next_id++;
    b->k = 0;
    b->complete = 0;
    b->first_rej = -1;
    b->pv = 0;
    b->resv = 0;
    b->known = KNOWN_NO;
    b->arm = -1;
    b->edc_idx = -1;
    b->bsum = 0;
    b->off = off;
    b->tr_draft = -1;
    b->n_tr_pv = 0;
    if (s->bandit_on) {
        b->arm = bandit_choose(&s->bandit);
        kk = s->bandit.arms[b->arm];
        s->arm_pulls[b->arm] += 1.0;
    }
    drafter_begin(&s->dr, kk);
}

/* A draft token of batch b completed after dur seconds: draw its marks
 * (bucket from the row of chain_prev, acceptance flag, policy stop).
 * Returns 1 if the batch ends with it. */
static int token_draw(sim_t *s, batch_t *b, double dur)
{
    int acc = 0, stop = 0, bucket;

    bucket = drafter_next(&s->dr, s->rng, s->chain_prev, &acc, &stop);
    b->bucket[b->k] = (unsigned char)bucket;
    b->draft_s[b->k] = dur;
    b->pv_s[b->k] = 0.0;
    if (!acc && b->first_rej < 0)
        b->first_rej = b->k;
    b->bsum += bucket;
    b->k++;
    s->drafted_all++;
    s->chain_prev = bucket;
    return stop || b->k >= AHASD_MAX_K;
}

static void batch_completed(sim_t *s, batch_t *b)
{
    b->complete = 1;
    s->a.batches += 1.0;
    s->a.batch_tokens += b->k;
    tr_close(s, b->tr_draft, s->now, b->k);
}

/* ------------------------------------------------------------------ */
/* Round-based schedules: autoregressive, serial, sync, partitioned     */
/* ------------------------------------------------------------------ */
/* Draft batch b token by token (s->dtask) from s->now, each token at the
 * context of its position; advances s->now. */
static void simple_draft(sim_t *s, batch_t *b, int dev)
{
    ahasd_cost c;
    int stop = 0;

    batch_begin(s, b, s->committed);
    b->tr_draft = tr_open(s, dev, AHASD_TASK_DRAFT, s->now, b->id);
    while (!stop) {
        draft_cost(s, b->off + b->k, &c);
        s->now += c.time_s;
        acct_task(&s->a, &c, AHASD_TASK_DRAFT, 1.0, 0);
        stop = token_draw(s, b, c.time_s);
    }
    batch_completed(s, b);
}

/* After the verification of b with A accepted: commit, then the rollback
 * (busy on rb_dev) when rejected and the run goes on. */
static void simple_outcome(sim_t *s, batch_t *b, int A, int rb_dev)
{
    long tr;

    bandit_note(s, b, A);
    if (A == b->k) {
        commit_batch(s, b, A, 1);
        return;
    }
    s->chain_prev = b->bucket[A];
    commit_batch(s, b, A, 1);
    if (s->done || !(s->rollback_s > 0.0))
        return;
    tr = tr_open(s, rb_dev, AHASD_TASK_OVERHEAD, s->now, -1);
    acct_busy(&s->a, s->p, rb_dev, AHASD_TASK_OVERHEAD, s->rollback_s, 1.0);
    s->now += s->rollback_s;
    tr_close(s, tr, s->now, 0);
}

static void run_autoregressive(sim_t *s)
{
    ahasd_cost c;
    long tr;

    while (!s->done) {
        plat_cost(s->p, PLAT_VERIFY, 0, s->P + (double)s->committed, &c);
        tr = tr_open(s, c.device, AHASD_TASK_VERIFY, s->now, -1);
        s->now += c.time_s;
        acct_task(&s->a, &c, AHASD_TASK_VERIFY, 1.0, 0);
        tr_close(s, tr, s->now, 0);
        s->ar_tokens++;
        commit_record(s, 1);
    }
}

/* Commit a tree round that accepted A of its depth D: A + 1 tokens (the
 * correction when A < D, the bonus when A = D), truncated at N; the tree's
 * other N_total - A nodes are wasted (in flight when cut by the
 * truncation), with the round's draft time pro rata. */
static void tree_commit(sim_t *s, int A, double t_draft)
{
    const tree_t *t = &s->tree;
    long rem = s->N - s->committed, c = A + 1, acc = A, ext = 1;

    if (c > rem) {
        acc = A < rem ? A : rem;
        ext = rem - acc;
        c = rem;
        s->inflight += t->n_total - acc;
    } else {
        s->wasted += t->n_total - A;
        s->a.wasted_s[s->wdev] += t_draft * (double)(t->n_total - A) / (double)t->n_total;
    }
    s->accepted += acc;
    if (A < t->depth)
        s->corrections += ext;
    else
        s->bonuses += ext;
    commit_record(s, c);
}

/* Token trees (serial, sync): per round the D level passes, each at the
 * context of the tokens before its depth (P + committed + d - 1), on
 * verify_dev for serial; the sync_s handoff (sync); the verification of the
 * kept nodes at the round's context; A drawn by tree_sample; the commit;
 * rollback_s (busy on the drafting device) when A < D.  A round is one
 * batch of N_total drafted tokens. */
static void run_tree(sim_t *s)
{
    const tree_t *t = &s->tree;
    int serial = s->sched == AHASD_SCHED_SERIAL, d, A, dev = serial ? s->npu : s->pim;
    ahasd_cost c;
    long tr, off, id;
    double t_draft;

    while (!s->done) {
        off = s->committed;
        id = s->next_id++;
        t_draft = 0.0;
        tr = tr_open(s, dev, AHASD_TASK_DRAFT, s->now, (int)id);
        for (d = 1; d <= t->depth; d++) {
            tree_level_cost(s->p, s->dtask, t->level_pos[d - 1], s->P + (double)(off + d - 1),
                            &c);
            s->now += c.time_s;
            t_draft += c.time_s;
            acct_task(&s->a, &c, AHASD_TASK_DRAFT, 1.0, 0);
        }
        tr_close(s, tr, s->now, t->n_total);
        s->drafted_all += t->n_total;
        s->a.batches += 1.0;
        s->a.batch_tokens += t->n_total;
        if (!serial)
            s->now += s->sync_s;
        plat_cost(s->p, PLAT_VERIFY, t->n_kept, s->P + (double)off, &c);
        tr = tr_open(s, c.device, AHASD_TASK_VERIFY, s->now, (int)id);
        s->now += c.time_s;
        acct_task(&s->a, &c, AHASD_TASK_VERIFY, 1.0, 0);
        tr_close(s, tr, s->now, t->n_kept);
        A = tree_sample(t, s->rng);
        tree_commit(s, A, t_draft);
        if (s->done || A == t->depth || !(s->rollback_s > 0.0))
            continue;
        tr = tr_open(s, dev, AHASD_TASK_OVERHEAD, s->now, -1);
        acct_busy(&s->a, s->p, dev, AHASD_TASK_OVERHEAD, s->rollback_s, 1.0);
        s->now += s->rollback_s;
        tr_close(s, tr, s->now, 0);
    }
}

/* serial (one device) and sync (draft_dev, handoff, verify_dev). */
static void run_serial_sync(sim_t *s)
{
    batch_t *b = &s->ring[0];
    int serial = s->sched == AHASD_SCHED_SERIAL, A;
    ahasd_cost c;
    long tr;

    if (s->is_tree) {
        run_tree(s);
        return;
    }
    while (!s->done) {
        simple_draft(s, b, serial ? s->npu : s->pim);
        if (!serial)
            s->now += s->sync_s;
        plat_cost(s->p, PLAT_VERIFY, b->k, s->P + (double)b->off, &c);
        tr = tr_open(s, c.device, AHASD_TASK_VERIFY, s->now, b->id);
        s->now += c.time_s;
        acct_task(&s->a, &c, AHASD_TASK_VERIFY, 1.0, 0);
        tr_close(s, tr, s->now, b->k);
        A = b->first_rej < 0 ? b->k : b->first_rej;
        simple_outcome(s, b, A, serial ? s->npu : s->pim);
    }
}

/* partitioned: the drafter draws the batch's marks, then both devices run
 * their shares concurrently.  Shares (the convention of
 * sched_partition_round): of each DLM pass (1 position, at the context of
 * its token) and of the TLM pass (K + 1 positions at the round's context)
 * the first split.nd / split.nt layers run on the PIM, the rest with the
 * embeddings and LM heads on the host (verify_dev).  The host's share is
 * stretched by contention while the PIM's share runs
 * (sched_contended_time over the host's whole share).  Round time =
 * max(host, PIM) + sync_s; the commit is at the end of the round.  Busy
 * time is labelled by model: DLM parts as DRAFT, TLM parts as VERIFY. */
static void run_partitioned(sim_t *s)
{
    batch_t *b = &s->ring[0];
    const plat_t *p = s->p;
    ahasd_cost c, hd, pd, hv, pv;
    double ld = (double)p->draft.layers, lt = (double)p->target.layers;
    double t0, th, tp, th_act, sc, ctx;
    int stop = 0, e, A;
    long tr;

    while (!s->done) {
        t0 = s->now;
        batch_begin(s, b, s->committed);
        memset(&hd, 0, sizeof hd);
        memset(&pd, 0, sizeof pd);
        hd.device = s->npu;
        pd.device = s->pim;
        stop = 0;
        while (!stop) {
            ctx = s->P + (double)(b->off + b->k);
            plat_pass_part(p, 0, s->npu, 1, ctx, ld - s->split.nd, 1, &c);
            hd.time_s += c.time_s;
            hd.memory_s += c.memory_s;
            hd.compute_s += c.compute_s;
            hd.overhead_s += c.overhead_s;
            hd.energy_j += c.energy_j;
            for (e = 0; e < AHASD_N_ECAUSES; e++)
                hd.energy_by_cause_j[e] += c.energy_by_cause_j[e];
            plat_pass_part(p, 0, s->pim, 1, ctx, (double)s->split.nd, 0, &c);
            pd.time_s += c.time_s;
            pd.memory_s += c.memory_s;
            pd.compute_s += c.compute_s;
            pd.overhead_s += c.overhead_s;
            pd.energy_j += c.energy_j;
            for (e = 0; e < AHASD_N_ECAUSES; e++)
                pd.energy_by_cause_j[e] += c.energy_by_cause_j[e];
            stop = token_draw(s, b, c.time_s);
        }
        ctx = s->P + (double)b->off;
        plat_pass_part(p, 1, s->npu, b->k + 1, ctx, lt - s->split.nt, 1, &hv);
        plat_pass_part(p, 1, s->pim, b->k + 1, ctx, (double)s->split.nt, 0, &pv);
        th = hd.time_s + hv.time_s;
        tp = pd.time_s + pv.time_s;
        th_act = sched_contended_time(th, hd.memory_s + hv.memory_s, s->contention, tp);
        sc = th > 0.0 ? th_act / th : 1.0;
        charge_stretched(s, &hd, AHASD_TASK_DRAFT, 1.0, hd.time_s * (sc - 1.0));
        charge_stretched(s, &hv, AHASD_TASK_VERIFY, 1.0, hv.time_s * (sc - 1.0));
        acct_task(&s->a, &pd, AHASD_TASK_DRAFT, 1.0, 0);
        acct_task(&s->a, &pv, AHASD_TASK_VERIFY, 1.0, 0);
        /* draft time of each token on the PIM was recorded by token_draw;
         * the host's draft share of the rejected tail is added below */
        A = b->first_rej < 0 ? b->k : b->first_rej;
        if (A < b->k && b->k > 0)
            s->a.wasted_s[s->npu] += hd.time_s * sc * (double)(b->k - A) / b->k;
        if (s->tracing) {
            /* appended in order of start time */
            tr = tr_open(s, s->npu, AHASD_TASK_DRAFT, t0, b->id);
            tr_close(s, tr, t0 + hd.time_s * sc, b->k);
            tr = tr_open(s, s->pim, AHASD_TASK_DRAFT, t0, b->id);
            tr_close(s, tr, t0 + pd.time_s, b->k);
            for (e = 0; e < 2; e++) {
                if ((e == 0) == (hd.time_s * sc <= pd.time_s)) {
                    tr = tr_open(s, s->npu, AHASD_TASK_VERIFY, t0 + hd.time_s * sc, b->id);
                    tr_close(s, tr, t0 + th_act, b->k);
                } else {
                    tr = tr_open(s, s->pim, AHASD_TASK_VERIFY, t0 + pd.time_s, b->id);
                    tr_close(s, tr, t0 + tp, b->k);
                }
            }
        }
        s->now = t0 + (th_act > tp ? th_act : tp) + s->sync_s;
        batch_completed(s, b);
        simple_outcome(s, b, A, s->pim);
    }
}

/* ------------------------------------------------------------------ */
/* The event engine: PIM side                                          */
/* ------------------------------------------------------------------ */
static void start_task(sim_t *s, int state, double dur)
{
    s->ps = state;
    s->p_start = s->now;
    s->p_end = s->now + dur;
}

static void start_token(sim_t *s)
{
    batch_t *b = bat(s, s->count - 1);

    draft_cost(s, b->off + b->k, &s->p_cost);
    start_task(s, PS_DRAFT, s->p_cost.time_s);
}

/* Offset of the next batch: after the tail's tokens (a known-rejected tail
 * ends with its correction), or the committed tokens. */
static long next_offset(sim_t *s)
{
    batch_t *t;

    if (s->count == 0)
        return s->committed;
    t = bat(s, s->count - 1);
    return t->off + (t->known == KNOWN_REJ ? t->first_rej + 1 : t->k);
}

static void begin_batch(sim_t *s)
{
    long off = next_offset(s);
    batch_t *b;

    if (s->count >= SIM_RING) {
        sim_fail(s, "pipeline ring overflow");
        return;
    }
    b = bat(s, s->count);
    s->count++;
    batch_begin(s, b, off);
    b->tr_draft = tr_open(s, s->pim, AHASD_TASK_DRAFT, s->now, b->id);
    start_token(s);
}

/* The PIM is free on the DLM: draft the next batch while D < L_max. */
static void pim_resume(sim_t *s)
{
    if (may_draft(s))
        begin_batch(s);
    else
        s->ps = PS_BLOCKED;
}

static void start_overhead(sim_t *s, int state, double dur)
{
    start_task(s, state, dur);
    s->p_tr = dur > 0.0 ? tr_open(s, s->pim, AHASD_TASK_OVERHEAD, s->now, -1) : -1;
}

static void start_rollback(sim_t *s)
{
    s->need_rb = 0;
    start_overhead(s, PS_ROLLBACK, s->rollback_s);
}

/* The first batch of the pipeline holding reserved tokens. */
static batch_t *first_reserved(sim_t *s)
{
    int i;

    for (i = 0; i < s->count; i++)
        if (bat(s, i)->resv > 0)
            return bat(s, i);
    return NULL;
}

static void start_preverify(sim_t *s)
{
    batch_t *b = first_reserved(s);

    if (b == NULL) {
        sim_fail(s, "pre-verification without reserved tokens");
        return;
    }
    plat_cost(s->p, PLAT_PREVERIFY, s->pv_m, s->P + (double)(b->off + b->pv), &s->p_cost);
    start_task(s, PS_PREVERIFY, s->p_cost.time_s);
    s->p_tr = s->p_cost.time_s > 0.0
                  ? tr_open(s, s->pim, AHASD_TASK_PREVERIFY, s->now, b->id)
                  : -1;
    if (s->p_tr >= 0 && b->n_tr_pv < AHASD_MAX_K)
        b->tr_pv[b->n_tr_pv++] = s->p_tr;
}

/* EDC decision after batch b completed (b is the tail, counted in D).
 * Returns 1 to continue drafting. */
static int edc_decide(sim_t *s, batch_t *b)
{
    int i, h8, old, nw, d, idx;

    h8 = dd_edc_bucket(s->cfg->profile.buckets, b->k, b->bsum);
    for (i = 7; i > 0; i--)
        s->leht[i] = s->leht[i - 1];
    s->leht[0] = h8;
    old = (s->leht[4] + s->leht[5] + s->leht[6] + s->leht[7]) / 4;
    nw = (s->leht[0] + s->leht[1] + s->leht[2] + s->leht[3]) / 4;
    d = depth(s) < 7 ? depth(s) : 7;
    idx = (old << 6) | (nw << 3) | d;
    b->edc_idx = idx;
    s->a.decisions += 1.0;
    if (s->pht[idx] >= 2)
        return 1;
    s->a.stops += 1.0;
    return 0;
}

/* The outcome of batch b is final (it commits, or the NPU rejects it): move
 * the counter that decided after it and save or restore the entropy
 * history.  A batch flushed before that updates nothing (MODEL.md), also
 * when pre-verification had already decided it. */
static void edc_update(sim_t *s, batch_t *b, int full)
{
    if (!s->edc || b->edc_idx < 0)
        return;
    if (full) {
        if (s->pht[b->edc_idx] < 3)
            s->pht[b->edc_idx]++;
        memcpy(s->lceht, s->leht, sizeof s->leht);
    } else {
        if (s->pht[b->edc_idx] > 0)
            s->pht[b->edc_idx]--;
        memcpy(s->leht, s->lceht, sizeof s->leht);
    }
}

/* Pre-verification found a rejection in b: every draft after it is
 * discarded, so the entropy history they entered is restored now; the
 * counter moves when b commits. */
static void edc_restore(sim_t *s)
{
    if (s->edc)
        memcpy(s->leht, s->lceht, sizeof s->leht);
}

/* Pipeline index where the tokens TVC may pre-verify start: after the
 * NPU's batch (the head, from the start of its handoff). */
static int tvc_first(const sim_t *s)
{
    return s->ns == NS_IDLE ? 0 : 1;
}

/* TVC: choose m and either pre-verify (switching in if needed) or return
 * to drafting (switching out if needed).  Predictions: the moving averages
 * (NVCT per verified position, PDCT per draft token, PVCT per pre-verified
 * token) or, in exact mode, the costs themselves; the exact NPU remaining
 * time assumes the PIM stays busy until then (it does while it switches
 * and pre-verifies), so in exact mode a pre-verification never makes the
 * NPU wait.  The switch term of MODEL.md's rule switch + pre-verify(m) <=
 * left is kept on every application (on the first it is the switch to the
 * TLM, on later ones it reserves the switch back). */
static void tvc_apply(sim_t *s)
{
    int i, first = tvc_first(s), cap = 0, m = 0, n, take, mm;
    double rem, draft1, left, per, x, ctx_pv = 0.0, rate;
    batch_t *b, *h;
    ahasd_cost c;

    for (i = first; i < s->count; i++) {
        b = bat(s, i);
        if (!b->complete)
            break;
        if (b->known)
            continue;
        if (cap == 0)
            ctx_pv = s->P + (double)(b->off + b->pv);
        cap += b->k - b->pv;
    }
    if (cap > s->m_max)
        cap = s->m_max;
    if (cap > 0 && s->ns != NS_IDLE) {
        h = bat(s, 0);
        n = h->k - h->pv;
        if (!s->exact) {
            per = ma4_avg(&s->nvct) * (double)(n + 1);
            rem = s->ns == NS_SYNC ? (s->n_end - s->now) + per : per - (s->now - s->n_start);
            draft1 = ma4_avg(&s->pdct);
        } else {
            if (s->ns == NS_SYNC) {
                plat_cost(s->p, PLAT_VERIFY, n, s->P + (double)(h->off + h->pv), &c);
                rem = (s->n_end - s->now) + c.time_s + s->contention * c.memory_s;
            } else {
                rate = 1.0;
                if (s->contention > 0.0 && s->n_T > 0.0)
                    rate = s->n_T / (s->n_T + s->contention * s->n_M);
                rem = s->n_work / rate;
            }
            draft_cost(s, next_offset(s), &c);
            draft1 = c.time_s;
        }
        if (rem < 0.0)
            rem = 0.0;
        left = rem - draft1;
        if (s->exact) {
            for (mm = 1; mm <= cap; mm++) {
                plat_cost(s->p, PLAT_PREVERIFY, mm, ctx_pv, &c);
                if (s->switch_s + c.time_s > left)
                    break;
                m = mm;
            }
        } else {
            per = ma4_avg(&s->pvct);
            if (per > 0.0) {
                x = (left - s->switch_s) / per;
                m = x >= (double)cap ? cap : x >= 1.0 ? (int)floor(x) : 0;
            } else {
                m = left - s->switch_s >= 0.0 ? cap : 0;
            }
        }
    }
    if (m >= 1) {
        /* reserve the m earliest undecided tokens after the NPU's batch */
        s->pv_m = m;
        for (i = first; i < s->count && m > 0; i++) {
            b = bat(s, i);
            if (!b->complete)
                break;
            if (b->known)
                continue;
            take = b->k - b->pv < m ? b->k - b->pv : m;
            b->resv = take;
            m -= take;
        }
        if (s->tlm)
            start_preverify(s);
        else
            start_overhead(s, PS_SWITCH_IN, s->switch_s);
    } else if (s->tlm) {
        start_overhead(s, PS_SWITCH_OUT, s->switch_s);
    } else {
        pim_resume(s);
    }
}

static void npu_kick(sim_t *s);
static void commit_ready(sim_t *s);

/* Discard the batches from pipeline index i0 on. */
static void discard_from(sim_t *s, int i0)
{
    int i;

    for (i = i0; i < s->count; i++) {
        if (bat(s, i)->known)
            s->n_known--;
        batch_discard(s, bat(s, i));
    }
    if (i0 < s->count)
        s->count = i0;
}

/* A draft token completed. */
static void token_done(sim_t *s)
{
    batch_t *b = bat(s, s->count - 1);
    double dur = s->p_cost.time_s;

    acct_task(&s->a, &s->p_cost, AHASD_TASK_DRAFT, 1.0, 0);
    if (s->tvc)
        ma4_push(&s->pdct, dur);
    if (!token_draw(s, b, dur)) {
        start_token(s);
        return;
    }
    batch_completed(s, b);
    s->ps = PS_NONE;
    /* the NPU sees the new batch before EDC/TVC look at the NPU's state */
    npu_kick(s);
    if (s->done)
        return;
    if (!s->edc || edc_decide(s, b))
        pim_resume(s);
    else if (s->sched == AHASD_SCHED_ASYNC_EDC)
        s->ps = PS_WAIT_EDC;
    else
        tvc_apply(s);
}

/* A pre-verification pass completed: decide its tokens in order. */
static void preverify_done(sim_t *s)
{
    double dur = s->p_cost.time_s, share;
    int i, j, r, m = s->pv_m, rej_i = -1;
    batch_t *b;

    acct_task(&s->a, &s->p_cost, AHASD_TASK_PREVERIFY, 1.0, 0);
    s->a.preverify_s += dur;
    if (s->tvc && !s->exact)
        ma4_push(&s->pvct, dur / m);
    tr_close(s, s->p_tr, s->now, m);
    s->ps = PS_NONE;
    share = dur / m;
    for (i = 0; i < s->count; i++) {
        b = bat(s, i);
        r = b->resv;
        if (r == 0)
            continue;
        b->resv = 0;
        for (j = b->pv; j < b->pv + r; j++)
            b->pv_s[j] += share;
        if (rej_i >= 0)
            continue;
        if (b->first_rej >= 0 && b->first_rej < b->pv + r) {
            b->known = KNOWN_REJ;
            s->n_known++;
            rej_i = i;
            edc_restore(s);
            s->chain_prev = b->bucket[b->first_rej];
            s->need_rb = 1;
        } else {
            b->pv += r;
            if (b->pv == b->k) {
                b->known = KNOWN_FULL;
                s->n_known++;
            }
        }
    }
    if (rej_i >= 0)
        discard_from(s, rej_i + 1);
    if (s->n_wait_pv) {
        s->n_wait_pv = 0;
        s->n_wait_pv_s += s->now - s->n_wait_since;
    }
    commit_ready(s);
    if (s->done)
        return;
    npu_kick(s);
    if (s->done)
        return;
    tvc_apply(s);
}

static void pim_event(sim_t *s)
{
    switch (s->ps) {
    case PS_DRAFT:
        token_done(s);
        break;
    case PS_SWITCH_IN:
    case PS_SWITCH_OUT:
        acct_busy(&s->a, s->p, s->pim, AHASD_TASK_OVERHEAD, s->switch_s, 1.0);
        s->a.preverify_s += s->switch_s;
        tr_close(s, s->p_tr, s->now, 0);
        if (s->ps == PS_SWITCH_IN) {
            s->tlm = 1;
            if (s->need_rb)
                start_overhead(s, PS_SWITCH_OUT, s->switch_s);
            else
                start_preverify(s);
        } else {
            s->tlm = 0;
            if (s->need_rb)
                start_rollback(s);
            else
                pim_resume(s);
        }
        break;
    case PS_PREVERIFY:
        preverify_done(s);
        break;
    case PS_ROLLBACK:
        acct_busy(&s->a, s->p, s->pim, AHASD_TASK_OVERHEAD, s->rollback_s, 1.0);
        tr_close(s, s->p_tr, s->now, 0);
        pim_resume(s);
        break;
    default:
        sim_fail(s, "PIM event in a waiting state");
        break;
    }
}

/* The NPU rejected its batch: interrupt the PIM (the partial draft token
 * and a pre-verification in progress are charged for the time they ran and
 * wasted), discard every remaining batch, and have the PIM roll back
 * (switching back to the DLM first if it is on the TLM). */
static void flush(sim_t *s)
{
    double el = s->now - s->p_start, dur = s->p_cost.time_s;

    switch (s->ps) {
    case PS_DRAFT:
        if (dur > 0.0)
            acct_task(&s->a, &s->p_cost, AHASD_TASK_DRAFT, el / dur, 0);
        s->a.wasted_s[s->pim] += el;
        discard_from(s, 0);
        start_rollback(s);
        break;
    case PS_PREVERIFY:
        if (dur > 0.0)
            acct_task(&s->a, &s->p_cost, AHASD_TASK_PREVERIFY, el / dur, 0);
        s->a.preverify_s += el;
        s->a.wasted_s[s->pim] += el;
        tr_close(s, s->p_tr, s->now, s->pv_m);
        tr_waste(s, s->p_tr);
        discard_from(s, 0);
        s->need_rb = 1;
        start_overhead(s, PS_SWITCH_OUT, s->switch_s);
        break;
    case PS_SWITCH_IN:
    case PS_SWITCH_OUT:
        /* a mode change is atomic: it finishes, then the PIM switches back
         * (if it went to the TLM) and rolls back */
        discard_from(s, 0);
        s->need_rb = 1;
        break;
    case PS_ROLLBACK:
        acct_busy(&s->a, s->p, s->pim, AHASD_TASK_OVERHEAD, el, 1.0);
        tr_close(s, s->p_tr, s->now, 0);
        discard_from(s, 0);
        start_rollback(s);
        break;
    default:
        discard_from(s, 0);
        if (s->tlm) {
            s->need_rb = 1;
            start_overhead(s, PS_SWITCH_OUT, s->switch_s);
        } else {
            start_rollback(s);
        }
        break;
    }
}

/* ------------------------------------------------------------------ */
/* The event engine: NPU side                                          */
/* ------------------------------------------------------------------ */
static void pop_head(sim_t *s)
{
    s->head = (s->head + 1) & (SIM_RING - 1);
    s->count--;
}

/* Commit the known batches at the head: their predecessors have all
 * committed.  The bonus of a known-full batch needs no later batch. */
static void commit_ready(sim_t *s)
{
    batch_t *h;

    while (s->count > 0 && !s->done) {
        h = bat(s, 0);
        if (h->known == KNOWN_FULL) {
            edc_update(s, h, 1);
            bandit_note(s, h, h->k);
            commit_batch(s, h, h->k, s->count == 1 ? 1 : 0);
        } else if (h->known == KNOWN_REJ) {
            /* the history was restored when the rejection was found */
            if (s->edc && h->edc_idx >= 0 && s->pht[h->edc_idx] > 0)
                s->pht[h->edc_idx]--;
            bandit_note(s, h, h->first_rej);
            commit_batch(s, h, h->first_rej, 1);
        }
        else
            break;
        s->n_known--;
        pop_head(s);
    }
}

/* The NPU is free: take the head batch if it is complete and not being
 * pre-verified, and start the sync_s handoff. */
static void npu_kick(sim_t *s)
{
    batch_t *h;

    if (s->ns != NS_IDLE || s->done)
        return;
    commit_ready(s);
    if (s->done || s->count == 0)
        return;
    h = bat(s, 0);
    if (!h->complete)
        return;
    if (h->resv > 0) {
        if (!s->n_wait_pv) {
            s->n_wait_pv = 1;
            s->n_wait_since = s->now;
        }
        return;
    }
    s->ns = NS_SYNC;
    s->n_start = s->now;
    s->n_end = s->now + s->sync_s;
}

static double npu_rate(const sim_t *s)
{
    if (s->contention > 0.0 && pim_busy(s) && s->n_T > 0.0)
        return s->n_T / (s->n_T + s->contention * s->n_M);
    return 1.0;
}

static void start_verify(sim_t *s)
{
    batch_t *h = bat(s, 0);

    s->n_tok = h->k - h->pv;
    plat_cost(s->p, PLAT_VERIFY, s->n_tok, s->P + (double)(h->off + h->pv), &s->n_cost);
    s->n_T = s->n_cost.time_s;
    s->n_M = s->n_cost.memory_s;
    s->ns = NS_VERIFY;
    s->n_start = s->now;
    s->n_last = s->now;
    s->n_work = s->n_T;
    s->n_rate = npu_rate(s);
    s->n_end = s->now + s->n_work / s->n_rate;
    s->n_tr = tr_open(s, s->npu, AHASD_TASK_VERIFY, s->now, h->id);
}

/* The NPU finished verifying the head batch. */
static void verify_done(sim_t *s)
{
    batch_t *h = bat(s, 0);
    double el = s->now - s->n_start;
    int A = h->first_rej < 0 ? h->k : h->first_rej;

    charge_stretched(s, &s->n_cost, AHASD_TASK_VERIFY, 1.0, el - s->n_T);
    tr_close(s, s->n_tr, s->now, s->n_tok);
    if (s->tvc)
        ma4_push(&s->nvct, el / (double)(s->n_tok + 1));
    s->ns = NS_IDLE;
    bandit_note(s, h, A);
    if (A == h->k) {
        edc_update(s, h, 1);
        commit_batch(s, h, A, s->count == 1 ? 1 : 0);
        pop_head(s);
        if (s->done)
            return;
        commit_ready(s);
        if (s->done)
            return;
        if (s->ps == PS_WAIT_EDC)
            pim_resume(s);
    } else {
        edc_update(s, h, 0);
        s->chain_prev = h->bucket[A];
        commit_batch(s, h, A, 1);
        pop_head(s);
        if (s->done)
            return;
        flush(s);
    }
}

static void npu_event(sim_t *s)
{
    if (s->ns == NS_SYNC) {
        start_verify(s);
    } else if (s->ns == NS_VERIFY) {
        s->n_work = 0.0;
        verify_done(s);
    } else {
        sim_fail(s, "NPU event while idle");
    }
}

/* Advance the clock to t: the NPU's pass progresses at its current rate. */
static void advance(sim_t *s, double t)
{
    if (s->ns == NS_VERIFY) {
        s->n_work -= (t - s->n_last) * s->n_rate;
        if (s->n_work < 0.0)
            s->n_work = 0.0;
        s->n_last = t;
    }
    s->now = t;
}

/* The PIM's busy state may have changed: re-time the NPU's pass. */
static void rate_update(sim_t *s)
{
    double r;

    if (s->ns != NS_VERIFY)
        return;
    r = npu_rate(s);
    if (r != s->n_rate) {
        s->n_rate = r;
        s->n_end = s->now + s->n_work / r;
    }
}

/* At the end of the run: charge the tasks in progress for the part that
 * ran and close their trace events; count the tokens still in flight. */
static void engine_finish(sim_t *s)
{
    double el = s->now - s->p_start, dur = s->p_cost.time_s, done_w;
    int i;

    switch (s->ps) {
    case PS_DRAFT:
        if (dur > 0.0)
            acct_task(&s->a, &s->p_cost, AHASD_TASK_DRAFT, el / dur, 0);
        break;
    case PS_PREVERIFY:
        if (dur > 0.0)
            acct_task(&s->a, &s->p_cost, AHASD_TASK_PREVERIFY, el / dur, 0);
        s->a.preverify_s += el;
        tr_close(s, s->p_tr, s->now, s->pv_m);
        break;
    case PS_SWITCH_IN:
    case PS_SWITCH_OUT:
        acct_busy(&s->a, s->p, s->pim, AHASD_TASK_OVERHEAD, el, 1.0);
        s->a.preverify_s += el;
        tr_close(s, s->p_tr, s->now, 0);
        break;
    case PS_ROLLBACK:
        acct_busy(&s->a, s->p, s->pim, AHASD_TASK_OVERHEAD, el, 1.0);
        tr_close(s, s->p_tr, s->now, 0);
        break;
    default:
        break;
    }
    if (s->ns == NS_VERIFY) {
        done_w = s->n_T - s->n_work;
        el = s->now - s->n_start;
        if (s->n_T > 0.0)
            charge_stretched(s, &s->n_cost, AHASD_TASK_VERIFY, done_w / s->n_T, el - done_w);
        tr_close(s, s->n_tr, s->now, s->n_tok);
    }
    for (i = 0; i < s->count; i++) {
        s->inflight += bat(s, i)->k;
        if (!bat(s, i)->complete)
            tr_close(s, bat(s, i)->tr_draft, s->now, bat(s, i)->k);
    }
}

static void run_engine(sim_t *s)
{
    double tp, tn;

    pim_resume(s);
    while (!s->done) {
        tp = pim_busy(s) ? s->p_end : INFINITY;
        tn = s->ns != NS_IDLE ? s->n_end : INFINITY;
        if (tp == INFINITY && tn == INFINITY) {
            sim_fail(s, "both devices wait (deadlock)");
            break;
        }
        if (tn <= tp) {
            advance(s, tn);
            npu_event(s);
        } else {
            advance(s, tp);
            pim_event(s);
        }
        if (s->done)
            break;
        npu_kick(s);
        if (s->done)
            break;
        if (s->ps == PS_BLOCKED && may_draft(s))
            begin_batch(s);
        rate_update(s);
    }
    engine_finish(s);
}

/* ------------------------------------------------------------------ */
/* One run                                                             */
/* ------------------------------------------------------------------ */
static void run_reset(sim_t *s, int run, double *gap)
{
    int i;

    acct_zero(&s->a);
    /* run 0 counts its events (trace_needed) even without a buffer */
    s->tracing = run == 0;
    if (s->bandit_on)
        bandit_init(&s->bandit, &s->cfg->policy);
    s->now = 0.0;
    s->t_prev = 0.0;
    s->gap = gap;
    s->gap_n = 0;
    s->committed = s->accepted = s->corrections = s->bonuses = s->ar_tokens = 0;
    s->drafted_all = s->wasted = s->inflight = 0;
    s->done = 0;
    s->chain_prev = -1;
    s->next_id = 0;
    s->head = 0;
    s->count = 0;
    s->n_known = 0;
    s->ps = PS_NONE;
    s->tlm = 0;
    s->need_rb = 0;
    s->pv_m = 0;
    s->p_start = s->p_end = 0.0;
    memset(&s->p_cost, 0, sizeof s->p_cost);
    s->p_tr = -1;
    s->ns = NS_IDLE;
    s->n_start = s->n_end = s->n_work = s->n_last = s->n_T = s->n_M = 0.0;
    s->n_rate = 1.0;
    s->n_tok = 0;
    s->n_tr = -1;
    s->n_wait_pv = 0;
    s->n_wait_since = s->n_wait_pv_s = 0.0;
    for (i = 0; i < 8; i++)
        s->leht[i] = s->lceht[i] = 0;
    memset(s->pht, 2, sizeof s->pht);
    ma4_seed(&s->nvct, s->seed_verify.time_s / (double)(s->kd + 1));
    ma4_seed(&s->pdct, s->seed_draft.time_s);
    ma4_seed(&s->pvct, s->seed_pv.time_s);
}

/* Run one generation and fill acct; checks the token identities
 *   drafted (completed) = accepted + wasted + in flight,
 *   committed = N = accepted + corrections + bonuses (+ AR steps),
 * and, with exact TVC predictions, that the NPU never waited for a
 * pre-verification. */
static int run_one(sim_t *s, int run, double *gap, ahasd_error *err)
{
    int ret = AHASD_OK, d, t;
    double busy;

    run_reset(s, run, gap);
    switch (s->sched) {
    case AHASD_SCHED_AUTOREGRESSIVE:
        run_autoregressive(s);
        break;
    case AHASD_SCHED_SERIAL:
    case AHASD_SCHED_SYNC:
        run_serial_sync(s);
        break;
    case AHASD_SCHED_PARTITIONED:
        run_partitioned(s);
        break;
    default:
        run_engine(s);
        break;
    }
    if (s->bad) {
        ret = err_set(err, AHASD_ERR_NUMERIC, "simulator run %d: internal error: %s", run,
                      s->msg);
        goto out;
    }
    if (s->committed != s->N || s->gap_n != s->N ||
        s->drafted_all != s->accepted + s->wasted + s->inflight ||
        s->committed != s->accepted + s->corrections + s->bonuses + s->ar_tokens) {
        ret = err_set(err, AHASD_ERR_NUMERIC,
                      "simulator run %d: token accounting broken (committed %ld of %ld, "
                      "drafted %ld, accepted %ld, wasted %ld, in flight %ld, corrections "
                      "%ld, bonuses %ld)", run, s->committed, s->N, s->drafted_all,
                      s->accepted, s->wasted, s->inflight, s->corrections, s->bonuses);
        goto out;
    }
    if (s->exact && s->n_wait_pv_s > 1e-9 * (s->now > 1.0 ? s->now : 1.0)) {
        ret = err_set(err, AHASD_ERR_NUMERIC,
                      "simulator run %d: with exact TVC predictions the NPU waited %.6g s "
                      "for pre-verification (internal error)", run, s->n_wait_pv_s);
        goto out;
    }
    s->a.wall_s = s->now;
    s->a.committed = (double)s->committed;
    s->a.accepted = (double)s->accepted;
    s->a.drafted = (double)(s->accepted + s->wasted);
    busy = 0.0;
    for (t = 0; t < AHASD_N_TASKS; t++)
        busy += s->a.busy_s[s->pim][t];
    s->a.pim_time_s = busy;
    for (d = 0; d < AHASD_N_DEVICES; d++)
        if (s->a.wasted_s[d] < 0.0)
            s->a.wasted_s[d] = 0.0;
out:
    return ret;
}

/* ------------------------------------------------------------------ */
/* Setup and aggregation                                               */
/* ------------------------------------------------------------------ */
static int sim_setup(sim_t *s, const ahasd_config *cfg, const plat_t *p,
                     ahasd_sim_options *opt, ahasd_workspace *ws, ahasd_error *err)
{
    int ret = AHASD_OK, need_tab;
    const dd_table *tab = NULL;
    ahasd_cost dc, vc;
    const ahasd_policy *pol = &cfg->policy;

    s->cfg = cfg;
    s->p = p;
    s->opt = opt;
    s->sched = cfg->schedule;
    s->edc = s->sched == AHASD_SCHED_ASYNC_EDC || s->sched == AHASD_SCHED_AHASD;
    s->tvc = s->sched == AHASD_SCHED_AHASD;
    s->exact = s->tvc && cfg->tvc_predictor == AHASD_TVC_EXACT;
    s->bandit_on = pol->kind == AHASD_POLICY_BANDITSPEC &&
                   s->sched != AHASD_SCHED_AUTOREGRESSIVE;
    s->lmax = cfg->l_max;
    s->m_max = cfg->m_max < AHASD_MAX_K ? cfg->m_max : AHASD_MAX_K;
    s->N = cfg->gen_len;
    s->P = (double)cfg->prompt_len;
    s->pim = p->draft_dev;
    s->npu = p->verify_dev;
    s->wdev = s->sched == AHASD_SCHED_SERIAL ? s->npu : s->pim;
    s->dtask = s->sched == AHASD_SCHED_SERIAL ? PLAT_SERIAL_DRAFT : PLAT_DRAFT;
    s->sync_s = p->sync_s;
    s->rollback_s = p->rollback_s;
    s->switch_s = p->switch_s;
    s->contention = p->contention > 0.0 ? p->contention : 0.0;
    if ((ret = drafter_init(&s->dr, &cfg->profile, pol, err)))
        goto out;
    s->is_tree = pol->kind == AHASD_POLICY_TREE && s->sched != AHASD_SCHED_AUTOREGRESSIVE;
    if (s->is_tree) {
        if (s->sched != AHASD_SCHED_SERIAL && s->sched != AHASD_SCHED_SYNC) {
            ret = err_set(err, AHASD_ERR_UNSUPPORTED, "policy 'tree' is supported by the "
                          "autoregressive, serial and sync schedules, not '%s'",
                          ahasd_schedule_name(s->sched));
            goto out;
        }
        if ((ret = tree_build(&cfg->profile, pol, &s->tree, err)))
            goto out;
    }
    /* BanditSpec's cost ratio: a draft token against a verification at the
     * prompt context (serial drafts on verify_dev), as the estimates use. */
    plat_cost(p, s->dtask, 0, s->P, &dc);
    s->dcache_dev = dc.device;
    plat_cost(p, PLAT_VERIFY, 0, s->P, &vc);
    s->cost_ratio = pol->bandit_cost_ratio > 0.0
                        ? pol->bandit_cost_ratio
                        : (vc.time_s > 0.0 ? dc.time_s / vc.time_s : 0.0);
    /* The design length k* (partitioned split, NVCT seed). */
    s->kd = cfg->k_design > 0 ? cfg->k_design : (pol->kind == AHASD_POLICY_FIXED ? pol->k : 1);
    need_tab = cfg->k_design == 0 && pol->kind != AHASD_POLICY_FIXED &&
               (s->sched == AHASD_SCHED_PARTITIONED || s->tvc);
    if (need_tab) {
        if ((ret = dd_table_get(ws, &cfg->profile, pol, s->cost_ratio, 0, &tab, err)))
            goto out;
        s->kd = sched_design_k(cfg, tab);
    }
    if (s->kd > AHASD_MAX_K)
        s->kd = AHASD_MAX_K;
    if (s->sched == AHASD_SCHED_PARTITIONED)
        sched_partition_split(p, s->kd, s->P, &s->split);
    /* TVC predictors start from the cost model at the prompt context:
     * NPU time per verified position of a design-length batch, a draft
     * token, and pre-verifying one token. */
    if (s->tvc) {
        plat_cost(p, PLAT_DRAFT, 0, s->P, &s->seed_draft);
        plat_cost(p, PLAT_VERIFY, s->kd, s->P, &s->seed_verify);
        plat_cost(p, PLAT_PREVERIFY, 1, s->P, &s->seed_pv);
    }
    s->rng = ws_rng(ws, opt->seed);
    if (s->rng == NULL) {
        ret = err_set(err, AHASD_ERR_NOMEM, "cannot allocate the random number generator");
        goto out;
    }
out:
    return ret;
}

/* Welford accumulators of per-run values. */
typedef struct {
    double n, mean[AHASD_N_OUT], m2[AHASD_N_OUT];
} welford_t;

static void welford_add(welford_t *w, int i, double x)
{
    double d = x - w->mean[i];

    w->mean[i] += d / w->n;
    w->m2[i] += d * (x - w->mean[i]);
}

int sim_options_check(ahasd_sim_options *opt, ahasd_error *err)
{
    int ret;

    opt->trace_len = 0;
    opt->trace_needed = 0;
    if ((ret = err_check_int(err, "", "n_runs", opt->n_runs, 1, 1000000)))
        goto out;
    if (opt->trace_cap > 0 && opt->trace == NULL)
        ret = err_set(err, AHASD_ERR_NULL, "trace_cap = %zu but the trace buffer is NULL",
                      opt->trace_cap);
out:
    return ret;
}

/* Sort n gaps (>= 0) and take p50/p90/p99.  Most gaps are 0 (every token
 * of a commit event but the first), so the nonzero ones are moved to the
 * back first and only they are sorted. */
static int gap_quantiles(double *g, size_t n, double q[3])
{
    int ret = AHASD_OK;
    size_t i, w = n;
    double t;

    for (i = n; i-- > 0;) {
        if (g[i] != 0.0) {
            w--;
            t = g[w];
            g[w] = g[i];
            g[i] = t;
        }
    }
    gsl_sort(g + w, 1, n - w);
    q[0] = gsl_stats_quantile_from_sorted_data(g, 1, n, 0.50);
    q[1] = gsl_stats_quantile_from_sorted_data(g, 1, n, 0.90);
    q[2] = gsl_stats_quantile_from_sorted_data(g, 1, n, 0.99);
    if (!isfinite(q[0]) || !isfinite(q[1]) || !isfinite(q[2]))
        ret = AHASD_ERR_NUMERIC;
    return ret;
}

int sim_run(const ahasd_config *cfg, const plat_t *p, ahasd_sim_options *opt,
            ahasd_workspace *ws, ahasd_result *res, ahasd_error *err)
{
    int ret = AHASD_OK, run, i, d, t, flags = 0, best;
    sim_t *s = NULL;
    ahasd_result one;
    welford_t wf;
    acct_t pooled;
    double *gaps = NULL, q[3], tq = 0.0, sd, total_pulls;
    size_t n_gaps;
    static const int gap_out[3] = {AHASD_OUT_GAP_P50_S, AHASD_OUT_GAP_P90_S,
                                   AHASD_OUT_GAP_P99_S};

    if (cfg == NULL || p == NULL || opt == NULL || ws == NULL || res == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "sim_run: a required pointer is NULL");
        goto out;
    }
    memset(res, 0, sizeof *res);
    if ((ret = sim_options_check(opt, err)))
        goto out;
    if ((ret = err_check_int(err, "", "gen_len", cfg->gen_len, 1, 1L << 24)))
        goto out;
    if ((ret = err_check_int(err, "", "l_max", cfg->l_max, 1, AHASD_MAX_LMAX)))
        goto out;
    /* the state (a ring of batches) lives in the workspace, not the stack */
    s = (sim_t *)(void *)ws_scratch(ws, SIM_STATE_SLOT,
                                    (sizeof(sim_t) + sizeof(double) - 1) / sizeof(double), 1);
    if (s == NULL) {
        ret = err_set(err, AHASD_ERR_NOMEM, "cannot allocate the simulator state (%zu bytes)",
                      sizeof(sim_t));
        goto out;
    }
    if ((ret = sim_setup(s, cfg, p, opt, ws, err)))
        goto out;
    /* every committed token of every run has a gap: n_runs x gen_len */
    if ((size_t)opt->n_runs > ((size_t)-1 / sizeof(double)) / (size_t)cfg->gen_len) {
        ret = err_set(err, AHASD_ERR_NOMEM, "n_runs = %d x gen_len = %d gaps overflow",
                      opt->n_runs, cfg->gen_len);
        goto out;
    }
    n_gaps = (size_t)opt->n_runs * (size_t)cfg->gen_len;
    gaps = ws_scratch(ws, SIM_GAP_SLOT, n_gaps, 0);
    if (gaps == NULL) {
        ret = err_set(err, AHASD_ERR_NOMEM,
                      "cannot allocate %zu inter-token gaps (n_runs x gen_len doubles)",
                      n_gaps);
        goto out;
    }
    /* draft costs by position: every position a draft can reach */
    s->dcache_n = (long)cfg->gen_len + (long)AHASD_MAX_LMAX * AHASD_MAX_K + 2;
    if (s->dcache_n > SIM_DC_MAX)
        s->dcache_n = SIM_DC_MAX;
    s->dcache = ws_scratch(ws, SIM_DC_SLOT, (size_t)s->dcache_n * SIM_DC, 0);
    if (s->dcache == NULL) {
        ret = err_set(err, AHASD_ERR_NOMEM, "cannot allocate the draft-cost cache (%ld "
                      "positions)", s->dcache_n);
        goto out;
    }
    for (i = 0; i < (int)s->dcache_n; i++)
        s->dcache[(size_t)i * SIM_DC] = NAN;
    memset(&wf, 0, sizeof wf);
    acct_zero(&pooled);
    for (run = 0; run < opt->n_runs; run++) {
        double *g = gaps + (size_t)run * (size_t)cfg->gen_len;

        if ((ret = run_one(s, run, g, err)))
            goto out;
        acct_add(&pooled, &s->a, 1.0);
        /* acct_finish leaves some fields (wasted_s of main memory) alone */
        memset(&one, 0, sizeof one);
        if ((ret = acct_finish(&s->a, p, AHASD_METHOD_SIMULATION, 0, &one, err)))
            goto out;
        /* per-run gap quantiles, for the spread only (sorts this run's
         * segment in place; the pooled quantiles sort everything below) */
        if (gap_quantiles(g, (size_t)cfg->gen_len, q)) {
            ret = err_set(err, AHASD_ERR_NUMERIC, "run %d: inter-token gap quantile is not "
                          "finite", run);
            goto out;
        }
        for (i = 0; i < 3; i++)
            one.out[gap_out[i]] = q[i];
        wf.n += 1.0;
        for (i = 0; i < AHASD_N_OUT; i++)
            welford_add(&wf, i, one.out[i]);
        res->fits_in_memory = one.fits_in_memory;
        flags = one.flags;
    }
    if (opt->n_runs > 1) {
        tq = gsl_cdf_tdist_Pinv(0.975, (double)(opt->n_runs - 1));
        if (!isfinite(tq)) {
            ret = err_set(err, AHASD_ERR_GSL, "gsl_cdf_tdist_Pinv(0.975, %d) failed",
                          opt->n_runs - 1);
            goto out;
        }
    }
    /* Outputs pool the runs: ratios of totals over every run (tokens per
     * second = all tokens / all time, ...), the long-run quantities the
     * analytical estimates compute; extensive outputs and breakdowns are per
     * generation (totals / n_runs).  The 95% half-widths come from the
     * spread of the per-run values (the delta method to first order: every
     * run commits gen_len tokens). */
    {
        int fits = res->fits_in_memory;
        double inv = 1.0 / (double)opt->n_runs;
        static const int extensive[] = {
            AHASD_OUT_NPU_IDLE_S, AHASD_OUT_PIM_IDLE_S, AHASD_OUT_GPU_IDLE_S,
            AHASD_OUT_CPU_IDLE_S, AHASD_OUT_TOTAL_TIME_S, AHASD_OUT_TOTAL_ENERGY_J,
            AHASD_OUT_DRAFTED_TOKENS, AHASD_OUT_COMMITTED_TOKENS, AHASD_OUT_ROUNDS};

        if ((ret = acct_finish(&pooled, p, AHASD_METHOD_SIMULATION, 0, res, err)))
            goto out;
        res->fits_in_memory = fits;
        for (i = 0; i < (int)(sizeof extensive / sizeof extensive[0]); i++)
            res->out[extensive[i]] *= inv;
        for (d = 0; d < AHASD_N_DEVICES; d++) {
            for (t = 0; t < AHASD_N_TASKS; t++)
                res->time_s[d][t] *= inv;
            for (t = 0; t < AHASD_N_ECAUSES; t++)
                res->energy_j[d][t] *= inv;
            res->wasted_s[d] *= inv;
        }
    }
    for (i = 0; i < AHASD_N_OUT; i++) {
        sd = opt->n_runs > 1 ? sqrt(wf.m2[i] / (double)(opt->n_runs - 1)) : 0.0;
        res->ci95[i] = opt->n_runs > 1 ? tq * sd / sqrt((double)opt->n_runs) : 0.0;
    }
    if (gap_quantiles(gaps, n_gaps, q)) {
        ret = err_set(err, AHASD_ERR_NUMERIC, "inter-token gap quantile is not finite");
        goto out;
    }
    for (i = 0; i < 3; i++)
        res->out[gap_out[i]] = q[i];
    if (s->exact)
        flags |= AHASD_FLAG_EXACT_PREDICTIONS;
    res->method = AHASD_METHOD_SIMULATION;
    res->flags = flags;
    res->n_runs = opt->n_runs;
    if (s->edc)
        res->edc_continue_prob = 1.0 - res->out[AHASD_OUT_SUPPRESSION_RATE];
    if (s->bandit_on) {
        /* the arm pulled most, and the mean rounds per run spent elsewhere */
        best = 0;
        total_pulls = 0.0;
        for (i = 0; i < s->bandit.n_arms; i++) {
            total_pulls += s->arm_pulls[i];
            if (s->arm_pulls[i] > s->arm_pulls[best])
                best = i;
        }
        res->bandit_arm = s->bandit.arms[best];
        res->bandit_transient_rounds = (total_pulls - s->arm_pulls[best]) / opt->n_runs;
    }
out:
    return ret;
}
