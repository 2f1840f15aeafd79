/*
 * internal.h -- interfaces between the modules of the C core.  Not installed,
 * not seen by cffi.  Module prefixes: err_ (error.c), plat_ (costs.c),
 * dd_/drafter_/bandit_ (drafting.c), tree_ (tree.c), acct_ (result.c),
 * sched_ (schedule.c), chain_ (chain.c), sim_ (sim.c), ws_ (workspace.c).
 */
#ifndef AHASD_INTERNAL_H
#define AHASD_INTERNAL_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>

#include "ahasd.h"

#if defined(__GNUC__)
#define AHASD_WARN_UNUSED __attribute__((warn_unused_result))
#define AHASD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define AHASD_WARN_UNUSED
#define AHASD_PRINTF(a, b)
#endif

/* ------------------------------------------------------------------ */
/* error.c                                                             */
/* ------------------------------------------------------------------ */
/* Record code and a formatted message in err (which may be NULL);
 * returns code, so callers write `return err_set(err, ...)`. */
int err_set(ahasd_error *err, int code, const char *fmt, ...) AHASD_PRINTF(3, 4);
void err_clear(ahasd_error *err);

/* Range checks that fill err naming `prefix``field`, the value and the
 * allowed range.  Bounds are inclusive unless the flag says open.  NaN and
 * infinities always fail.  Return AHASD_OK or AHASD_ERR_BAD_PARAM. */
enum { CHK_CLOSED = 0, CHK_LO_OPEN = 1, CHK_HI_OPEN = 2 };
int err_check_real(ahasd_error *err, const char *prefix, const char *field, double v,
                   double lo, double hi, int open_flags) AHASD_WARN_UNUSED;
int err_check_int(ahasd_error *err, const char *prefix, const char *field, long v,
                  long lo, long hi) AHASD_WARN_UNUSED;

/* ------------------------------------------------------------------ */
/* costs.c: the task-cost provider used by every schedule               */
/* ------------------------------------------------------------------ */
/* Which pass a cost refers to. */
enum {
    PLAT_DRAFT = 0,         /* DLM, 1 position, on draft_dev                  */
    PLAT_VERIFY = 1,        /* TLM, n drafts => n+1 positions, on verify_dev  */
    PLAT_PREVERIFY = 2,     /* TLM, n positions, on draft_dev (the PIM)       */
    PLAT_SERIAL_DRAFT = 3,  /* DLM, 1 position, on verify_dev                 */
    PLAT_N_TASKS = 4
};

/* Per (model, device) coefficients of a forward pass, aggregated once so
 * that a pass costs a few dozen flops to evaluate at any (n, context).
 * Layout is private to costs.c; other modules only hold it. */
#define PLAT_MAX_GROUPS 16
typedef struct {
    int n_groups;
    double c[PLAT_MAX_GROUPS][12];      /* costs.c's coefficient rows */
    double fixed_s;                     /* per-pass overheads         */
    int device;
} plat_pass_coef;

typedef struct {
    int explicit_costs;
    ahasd_explicit_costs ec;
    ahasd_hardware hw;
    ahasd_model draft, target;
    int draft_dev, verify_dev;
    int present[AHASD_N_DEVICES];       /* devices that draw power in this run     */
    double idle_w[AHASD_N_DEVICES];     /* power while waiting                     */
    double busy_static_w[AHASD_N_DEVICES]; /* static power while busy (cost model) */
    double sync_s, rollback_s, switch_s;
    double contention;
    int fits_in_memory;
    int overflow_streamed;              /* some weights stream over a host link    */
    double draft_weight_bytes, target_weight_bytes;
    plat_pass_coef coef[PLAT_N_TASKS];
} plat_t;

/* Compile the task costs of cfg (hardware + models, or explicit costs).
 * Validates what it reads. */
int plat_init(plat_t *p, const ahasd_config *cfg, ahasd_error *err) AHASD_WARN_UNUSED;

/* Cost of `task` with n tokens (drafts for VERIFY, tokens for PREVERIFY,
 * ignored for DRAFT) at context length ctx.  Pure; never fails on a
 * plat_init()ed p with n in 0..AHASD_MAX_K. */
void plat_cost(const plat_t *p, int task, int n, double ctx, ahasd_cost *c);

/* Cost of part of a forward pass for the partitioned schedule: n_layers of
 * `which` model (0 draft, 1 target) over n_pos positions at ctx on `device`,
 * plus the embedding and LM head when with_head.  n_layers may be
 * fractional only in the sense of a linear share (used by balancing). */
void plat_pass_part(const plat_t *p, int which, int device, int n_pos, double ctx,
                    double n_layers, int with_head, ahasd_cost *c);
/* The same in two steps, for a share evaluated at many (n_pos, ctx):
 * compile it once (no capacity overflow), then cost it (exactly what
 * plat_pass_part returns). */
void plat_part_compile(const plat_t *p, int which, int device, double n_layers, int with_head,
                       plat_pass_coef *k);
void plat_part_cost(const plat_pass_coef *k, int n_pos, double ctx, ahasd_cost *c);

/* Weight and KV bytes, for capacity and the weight-streaming bound. */
double plat_kv_bytes(const plat_t *p, int which, double ctx);

/* ------------------------------------------------------------------ */
/* drafting.c: distributions of batch marks and the token sampler       */
/* ------------------------------------------------------------------ */
/* Joint law of one batch's marks given its start bucket s (the bucket of
 * its first token):
 *   pkae[((s*(KM+1) + k)*(KM+1) + j)*B + e] = P(K=k, A=j, E=e | b_1 = s)
 * with KM = kmax, E the exit bucket (the first rejected token's bucket, or
 * the last token's when A = K).  When built with EDC detail,
 *   pkfeh[(((s*(KM+1) + k)*2 + f)*B + e)*AHASD_EDC_BUCKETS + h]
 * is P(K=k, full=f, E=e, H8=h | b_1 = s) with H8 the EDC bucket of the
 * batch's mean entropy (dd_edc_bucket).  When built with the last-token detail,
 *   pkal[((s*(KM+1) + k)*(KM+1) + j)*B + l] = P(K=k, A=j, L=l | b_1 = s)
 * with L the bucket of the batch's last drafted token: the drafter does not
 * see rejections, so after a rejected token the batch continues the bucket
 * chain (and the next batch starts from row L of q); L = E when j = k.
 * start[] is the law of b_1 of the
 * first batch of a generation; stat_start[] the long-run law of batch starts.
 * kmax is the largest K the policy can produce: k for fixed, the steady arm
 * for banditspec, k_max otherwise.  Entries with k < 1 or j > k are zero. */
typedef struct {
    int B, kmax;
    int has_edc;
    int has_last;                        /* pkal filled                        */
    double *pkae;
    double *pkfeh;
    double *pkal;
    double *pka;                         /* sum over e of pkae:
                                            pka[(s*(KM+1) + k)*(KM+1) + j]; points
                                            into pkae's allocation (never freed
                                            on its own)                       */
    double exit_fate[AHASD_MAX_BUCKETS][AHASD_MAX_BUCKETS][2]; /* P(E = e, A < K = f
                                            | b_1 = s) at [s][e][f]            */
    double start[AHASD_MAX_BUCKETS];
    double stat_start[AHASD_MAX_BUCKETS];
    double entropy[AHASD_MAX_BUCKETS];   /* representative entropy per bucket */
    int bandit_arm;                      /* banditspec: arm used for the table */
} dd_table;

/* Build (or fetch from ws's cache) the table for (prof, pol).  For
 * banditspec the caller passes cost_ratio (draft / verify time) used when
 * pol->bandit_cost_ratio <= 0; the table is that of the steady arm. The
 * pointer stays valid until the next dd_table_get on ws or ws is freed.
 * detail: DD_DETAIL_EDC for pkfeh (has_edc), DD_DETAIL_LAST for pkal
 * (has_last; left 0 when its state space would not fit the work limit, and
 * the caller does without).
 * Uses ws_scratch slots DD_SCRATCH_SLOT0 and DD_SCRATCH_SLOT1 (their contents
 * do not survive a call).  AHASD_ERR_UNSUPPORTED when SpecDec++'s exact state
 * space (specdecpp_grid too fine) would need more than 2^23 doubles of work. */
#define DD_SCRATCH_SLOT0 6
#define DD_SCRATCH_SLOT1 7
#define DD_DETAIL_EDC 1
#define DD_DETAIL_LAST 2
int dd_table_get(ahasd_workspace *ws, const ahasd_profile *prof, const ahasd_policy *pol,
                 double cost_ratio, int detail, const dd_table **out,
                 ahasd_error *err) AHASD_WARN_UNUSED;

/* The EDC bucket of a batch of k tokens whose buckets sum to bucket_sum:
 * min(7, floor(8 * mean entropy / h_max)) with bucket b at (b + 1/2) h_max / B,
 * computed in integers as (8 (2 sum + k)) / (2 B k) so that every module gets
 * the same bucket at the boundaries.  The simulator should use it too. */
int dd_edc_bucket(int buckets, int k, int bucket_sum);

/* BanditSpec's analytical summary: the steady arm (argmax of the expected
 * reward) and the UCB1 bound on rounds spent off it in n_rounds rounds.
 * Does not touch ws's table cache. */
int bandit_steady(const ahasd_profile *prof, const ahasd_policy *pol, double cost_ratio,
                  double n_rounds, int *arm_k, double *transient_rounds,
                  ahasd_workspace *ws, ahasd_error *err) AHASD_WARN_UNUSED;

/* Token-by-token drafter for the simulator and ahasd_draft_sample. */
typedef struct {
    const ahasd_profile *prof;
    const ahasd_policy *pol;
    double cum_q[AHASD_MAX_BUCKETS][AHASD_MAX_BUCKETS]; /* cumulative rows        */
    double cum_init[AHASD_MAX_BUCKETS];
    int specdec_step[AHASD_MAX_BUCKETS];  /* fixed-point -ln p_hat per bucket      */
    int specdec_limit;
    int stop_bucket[AHASD_MAX_BUCKETS];   /* svip/adaedl: 1 if the rule stops here */
    int pos;                              /* tokens drafted in the current batch   */
    int acc;                              /* accumulator (specdecpp)               */
    int k_batch;                          /* fixed/bandit: this batch's length     */
    int kind, k_min;                      /* copies of pol->kind, pol->k_min       */
    double decay_pow[AHASD_MAX_K + 1];    /* position_decay^(i-1) at [i]           */
} drafter_t;

int drafter_init(drafter_t *d, const ahasd_profile *prof, const ahasd_policy *pol,
                 ahasd_error *err) AHASD_WARN_UNUSED;
/* Start a batch; k is the length for fixed (ignored) and banditspec (the arm). */
void drafter_begin(drafter_t *d, int k);
/* Draw the next token after a token in bucket prev (prev < 0: from init).
 * Returns its bucket; *accepted is its acceptance flag (position decay
 * applied); *stop is 1 if the policy ends the batch after it. */
int drafter_next(drafter_t *d, gsl_rng *rng, int prev, int *accepted, int *stop);
/* The same with the token's bucket b given (a batch forced to start in b). */
int drafter_token(drafter_t *d, gsl_rng *rng, int b, int *accepted, int *stop);

/* UCB bandit over pol->arms for the simulator. */
typedef struct {
    int n_arms;
    int arms[AHASD_MAX_ARMS];
    double sum[AHASD_MAX_ARMS];
    double n[AHASD_MAX_ARMS];
    double total;
    double explore;
} bandit_t;

void bandit_init(bandit_t *b, const ahasd_policy *pol);
int bandit_choose(const bandit_t *b);                  /* arm index              */
void bandit_update(bandit_t *b, int arm, double reward01);
/* Reward of a round in [0, 1] for the bandit (see ahasd_policy). */
double bandit_reward(const ahasd_policy *pol, double cost_ratio, int k, int a);

/* ------------------------------------------------------------------ */
/* tree.c: token-tree drafting (AHASD_POLICY_TREE)                      */
/* ------------------------------------------------------------------ */
/* One round's token tree and the law of its accepted depth A (the model is
 * stated above tree_build in tree.c).  Nodes are numbered breadth-first,
 * children of a node in rank order; node arrays hold n_total entries. */
typedef struct {
    int depth;                                  /* D                                  */
    int n_total;                                /* nodes drafted per round            */
    int n_kept;                                 /* nodes verified (after pruning)     */
    int level_pos[AHASD_MAX_TREE_DEPTH];        /* positions of the DLM pass that
                                                   drafts depth d + 1 (n_d, n_0 = 1)  */
    int level_nodes[AHASD_MAX_TREE_DEPTH + 1];  /* nodes at depth d (d = 1..D)        */
    int level_kept[AHASD_MAX_TREE_DEPTH + 1];   /* of which kept                      */
    double acc[AHASD_MAX_TREE_DEPTH + 1];       /* a_d: per-trial acceptance, d=1..D  */
    double p_ge[AHASD_MAX_TREE_DEPTH + 1];      /* P(A >= d) = sum of path products   */
    double p_a[AHASD_MAX_TREE_DEPTH + 1];       /* P(A = j) by the stopping recursion */
    double mean_accepted;                       /* E[A] = sum over kept nodes of f(v) */
    double mean_accepted_rec;                   /* E[A] = sum_j j P(A = j)            */
    int root_kept;                              /* kept children of the root          */
    int node_depth[AHASD_MAX_TREE_NODES];
    int node_rank[AHASD_MAX_TREE_NODES];        /* 1-based rank among its siblings    */
    int node_parent[AHASD_MAX_TREE_NODES];      /* -1: the root (last committed)      */
    int first_child[AHASD_MAX_TREE_NODES];
    int kept_children[AHASD_MAX_TREE_NODES];    /* a rank prefix of its children      */
    unsigned char kept[AHASD_MAX_TREE_NODES];
    double f[AHASD_MAX_TREE_NODES];             /* path product: P(node accepted)     */
} tree_t;

/* Build the tree of pol (kind AHASD_POLICY_TREE) under prof: per-depth
 * acceptance, nodes, pruning, P(A), E[A] (checking the identity
 * sum_v f(v) = sum_j j P(A = j)).  Stack only.  tree_t is about 30 KB:
 * callers keep it off small stacks. */
int tree_build(const ahasd_profile *prof, const ahasd_policy *pol, tree_t *t,
               ahasd_error *err) AHASD_WARN_UNUSED;
/* Draw A for one round: the kept children of the accepted node are tried
 * in rank order, each accepted with a_d (one uniform per trial). */
int tree_sample(const tree_t *t, gsl_rng *rng);
/* Cost of the DLM pass over n_pos positions that drafts one level, for
 * task PLAT_DRAFT or PLAT_SERIAL_DRAFT at context ctx: the single-position
 * cost plat_cost gives, plus the extra cost of n_pos - 1 positions from the
 * per-operator model (plat_pass_part); with explicit task costs one pass
 * costs draft_token_s / _j whatever n_pos. */
void tree_level_cost(const plat_t *p, int task, int n_pos, double ctx, ahasd_cost *c);
/* P(A >= d), d = 0..k, of fixed-length-k chain batches under the long-run
 * law of batch starts (defined in drafting.c, which owns the start laws). */
int dd_fixed_k_tail(const ahasd_profile *prof, int k, double *p_ge,
                    ahasd_error *err) AHASD_WARN_UNUSED;

/* ------------------------------------------------------------------ */
/* result.c: accounting shared by closed forms, chains and the simulator */
/* ------------------------------------------------------------------ */
typedef struct {
    double wall_s;                                     /* elapsed time            */
    double busy_s[AHASD_N_DEVICES][AHASD_N_TASKS];     /* [.][AHASD_TASK_IDLE] unused */
    double energy_j[AHASD_N_DEVICES][AHASD_N_ECAUSES]; /* of tasks only           */
    double wasted_s[AHASD_N_DEVICES];
    double committed;          /* tokens committed                                 */
    double drafted;            /* draft tokens drafted (completed, incl. wasted)   */
    double accepted;           /* drafted tokens committed                         */
    double batches;            /* batches whose drafting completed                 */
    double batch_tokens;       /* tokens in those batches                          */
    double rounds;             /* batches whose outcome was decided                */
    double decisions, stops;   /* EDC decisions and stop decisions                 */
    double preverify_s;        /* PIM time in pre-verification (incl. switches)    */
    double pim_time_s;         /* PIM busy time, denominator of preverify_frac     */
} acct_t;

void acct_zero(acct_t *a);
/* Add w times a task's cost (its busy time and energies) to device c->device. */
void acct_task(acct_t *a, const ahasd_cost *c, int task, double w, int wasted);
/* Add w times a plain busy interval of t seconds on dev (switch, rollback)
 * drawing the device's busy static power. */
void acct_busy(acct_t *a, const plat_t *p, int dev, int task, double t, double w);
/* dst += w * src */
void acct_add(acct_t *dst, const acct_t *src, double w);
/* Turn totals into a result: idle time per present device = wall - busy,
 * idle energy, memory background, canonical outputs.  Sets method/flags
 * from the arguments. */
int acct_finish(const acct_t *a, const plat_t *p, int method, int flags,
                ahasd_result *res, ahasd_error *err) AHASD_WARN_UNUSED;

/* ------------------------------------------------------------------ */
/* workspace.c                                                         */
/* ------------------------------------------------------------------ */
/* The workspace: caches and scratch owned by one caller (one thread). */
/* Scratch slots: 0 closed forms, 1-2 chains, 3-5 simulator, 6-7 drafting
 * tables. */
#define WS_SLOTS 8
#define WS_DD_CACHE 8
typedef struct {
    int used;
    unsigned long stamp;                /* last use, for replacement          */
    ahasd_profile prof;                 /* key: the values that define table  */
    ahasd_policy pol;
    double cost_ratio;
    int detail;                         /* DD_DETAIL_* the table was built with */
    dd_table table;                     /* arrays owned by the entry          */
    size_t cap_pkae, cap_pkfeh, cap_pkal; /* allocated lengths (doubles)      */
} ws_dd_entry;

struct ahasd_workspace {
    ws_dd_entry dd[WS_DD_CACHE];        /* drafting.c owns the policy of use  */
    unsigned long clock;
    double *scratch[WS_SLOTS];
    size_t scratch_n[WS_SLOTS];
    gsl_rng *rng;
};

/* Scratch of at least n doubles in slot `slot` (0..WS_SLOTS-1), zeroed when
 * zero != 0; NULL on allocation failure.  Valid until the next call with the
 * same slot. */
double *ws_scratch(ahasd_workspace *ws, int slot, size_t n, int zero);
gsl_rng *ws_rng(ahasd_workspace *ws, uint64_t seed);   /* reseeded generator */
/* Seed a generator as ws_rng does (the 64-bit seed folded to unsigned long). */
void rng_seed(gsl_rng *rng, uint64_t seed);
/* A new taus2 generator seeded as ws_rng, or NULL with AHASD_ERR_NOMEM in
 * err; the caller frees it with gsl_rng_free. */
gsl_rng *rng_alloc_seeded(uint64_t seed, ahasd_error *err);

/* ------------------------------------------------------------------ */
/* Schedules                                                           */
/* ------------------------------------------------------------------ */
/* Context of segment s of S for a run: tokens cached at the segment's middle. */
double sched_segment_context(const ahasd_config *cfg, int s, int S);
/* Partitioned schedule: the static layer split (nd DLM layers and nt TLM
 * layers on the PIM; the rest, embeddings and LM heads on the host
 * verify_dev) that minimises max(host share, PIM share) of a round with
 * k_star drafts at context ctx.  Shared by the estimate and the simulator. */
typedef struct {
    int nd, nt;             /* layers of draft / target on the PIM              */
    int k_star;             /* design draft length the split is balanced for    */
} sched_split;
void sched_partition_split(const plat_t *p, int k_star, double ctx, sched_split *out);
/* Host and PIM shares of a round with k drafts under split sp at ctx. */
void sched_partition_round(const plat_t *p, const sched_split *sp, int k, double ctx,
                           ahasd_cost *host, ahasd_cost *pim);
/* The design draft length of cfg for the partitioned schedule: cfg->k_design,
 * or the policy's mean draft length rounded (at least 1) when 0. */
int sched_design_k(const ahasd_config *cfg, const dd_table *tab);
/* Stretch of an NPU task of length t with memory-bound part m when the PIM is
 * busy during its first `overlap` seconds: the task progresses at rate
 * 1 / (1 + c m / t) while the PIM is busy, at rate 1 otherwise. */
double sched_contended_time(double t, double m, double c, double overlap);
int sched_closed_form(const ahasd_config *cfg, const plat_t *p, ahasd_workspace *ws,
                      ahasd_result *res, ahasd_error *err) AHASD_WARN_UNUSED;
int chain_estimate(const ahasd_config *cfg, const plat_t *p, ahasd_workspace *ws,
                   ahasd_result *res, ahasd_error *err) AHASD_WARN_UNUSED;
/* Reset opt's trace counters and check n_runs and the trace buffer. */
int sim_options_check(ahasd_sim_options *opt, ahasd_error *err) AHASD_WARN_UNUSED;
int sim_run(const ahasd_config *cfg, const plat_t *p, ahasd_sim_options *opt,
            ahasd_workspace *ws, ahasd_result *res, ahasd_error *err) AHASD_WARN_UNUSED;

#endif /* AHASD_INTERNAL_H */
