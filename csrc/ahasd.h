/*
 * ahasd.h -- the one public header of the ahasd C99 core.
 *
 * An analytical performance and energy model of speculative decoding on
 * mobile heterogeneous hardware (NPU + LPDDR5-PIM, GPU, CPU), with an exact
 * discrete-event simulator of the same semantics.  The design of record is
 * docs/MODEL.md; the names and units here follow it.
 *
 * Conventions (every public function):
 *   - returns AHASD_OK (0) or a negative AHASD_ERR_* code;
 *   - on error fills the caller's ahasd_error with a message that names the
 *     field, the value and what is allowed (ahasd_strerror() names the code);
 *   - never allocates behind the caller's back except through an
 *     ahasd_workspace the caller owns; no global mutable state, so distinct
 *     workspaces may be used from distinct threads at the same time;
 *   - SI units everywhere: seconds, joules, watts, bytes, bytes per second,
 *     operations per second (one multiply-accumulate = 2 operations).
 *
 * The region between the CDEF markers is read verbatim by the cffi build
 * script (ahasd/_build_ffi.py), so it holds only declarations cffi parses:
 * no function-like macros, no #include, no conditional compilation.
 */
#ifndef AHASD_H
#define AHASD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CDEF BEGIN */

/* ------------------------------------------------------------------ */
/* Limits (compile-time sizes of the flat, copyable structs below).      */
/* ------------------------------------------------------------------ */
#define AHASD_MAX_BUCKETS 16   /* entropy buckets B of a profile            */
#define AHASD_MAX_K 32         /* largest draft length k_max                */
#define AHASD_MAX_ARMS 16      /* BanditSpec arms                           */
#define AHASD_MAX_LMAX 8       /* largest look-ahead depth L_max            */
#define AHASD_EDC_BUCKETS 8    /* EDC batch-entropy buckets (3 bits)        */
#define AHASD_EDC_PHT 512      /* EDC pattern history table size (9 bits)   */
#define AHASD_MAX_SEGMENTS 64  /* context segments of an analytical run     */
#define AHASD_MSG_LEN 320      /* error message buffer                      */
#define AHASD_MAX_TREE_DEPTH 16 /* levels of a draft token tree              */
#define AHASD_MAX_TREE_NODES 1024 /* nodes of a draft token tree             */

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */
enum {
    AHASD_OK = 0,
    AHASD_ERR_NULL = -1,        /* a required pointer argument is NULL          */
    AHASD_ERR_BAD_PARAM = -2,   /* a value is NaN, infinite or out of range     */
    AHASD_ERR_NOMEM = -3,       /* allocation failed                            */
    AHASD_ERR_GSL = -4,         /* a GSL routine returned an error status       */
    AHASD_ERR_NUMERIC = -5,     /* no convergence, or a non-finite result       */
    AHASD_ERR_SCHEDULE = -6,    /* schedule impossible on this configuration    */
    AHASD_ERR_BUFFER = -7,      /* a caller-provided buffer is too small        */
    AHASD_ERR_UNKNOWN = -8,     /* unknown name or identifier                   */
    AHASD_ERR_UNSUPPORTED = -9  /* valid input this method does not support     */
};

typedef struct {
    int code;                   /* the status, repeated                         */
    char msg[AHASD_MSG_LEN];    /* NUL-terminated, names field, value, range    */
} ahasd_error;

/* The fixed description of an error code ("bad parameter", ...). */
const char *ahasd_strerror(int code);

/* Switch GSL's abort()ing default error handler off.  Call once per process
 * before any other function (the Python layer does it at import).
 * Idempotent; the only function that touches process-wide state, and only
 * GSL's. */
void ahasd_gsl_handler_off(void);

/* ------------------------------------------------------------------ */
/* Enumerations                                                         */
/* ------------------------------------------------------------------ */
enum {                          /* devices, also the accounting index   */
    AHASD_DEV_NPU = 0,
    AHASD_DEV_PIM = 1,
    AHASD_DEV_GPU = 2,
    AHASD_DEV_CPU = 3,
    AHASD_DEV_MEM = 4,          /* main-memory background power only    */
    AHASD_N_DEVICES = 5
};

enum {                          /* schedules (MODEL.md semantics)       */
    AHASD_SCHED_AUTOREGRESSIVE = 0,
    AHASD_SCHED_SERIAL = 1,
    AHASD_SCHED_SYNC = 2,
    AHASD_SCHED_PARTITIONED = 3,
    AHASD_SCHED_ASYNC = 4,
    AHASD_SCHED_ASYNC_EDC = 5,
    AHASD_SCHED_AHASD = 6,
    AHASD_N_SCHEDULES = 7
};

enum {                          /* drafting policies                    */
    AHASD_POLICY_FIXED = 0,
    AHASD_POLICY_SVIP = 1,
    AHASD_POLICY_ADAEDL = 2,
    AHASD_POLICY_SPECDECPP = 3,
    AHASD_POLICY_BANDITSPEC = 4,
    AHASD_POLICY_TREE = 5,      /* token-tree drafting (Sequoia/LP-Spec style)  */
    AHASD_N_POLICIES = 6
};

enum {                          /* model FFN and activation kinds       */
    AHASD_FFN_PLAIN = 0,        /* up, activation, down                 */
    AHASD_FFN_GATED = 1,        /* gate, up, activation x up, down      */
    AHASD_ACT_RELU = 0,
    AHASD_ACT_GELU = 1,
    AHASD_ACT_SILU = 2,
    AHASD_NORM_LAYERNORM = 0,
    AHASD_NORM_RMSNORM = 1
};

enum {                          /* tasks: what a device spends time on  */
    AHASD_TASK_DRAFT = 0,       /* DLM forward pass, one new position   */
    AHASD_TASK_VERIFY = 1,      /* TLM pass over k drafts (k+1 posns)   */
    AHASD_TASK_PREVERIFY = 2,   /* TLM pass over m drafts on the PIM    */
    AHASD_TASK_OVERHEAD = 3,    /* task switch, KV rollback             */
    AHASD_TASK_IDLE = 4,        /* waiting (includes sync handoffs)     */
    AHASD_N_TASKS = 5
};

enum {                          /* causes of energy                     */
    AHASD_E_COMPUTE = 0,        /* operations x energy per operation    */
    AHASD_E_MEMORY = 1,         /* bytes x energy per byte of the path  */
    AHASD_E_STATIC_BUSY = 2,    /* static power while executing a task  */
    AHASD_E_STATIC_IDLE = 3,    /* static (idle) power while waiting    */
    AHASD_E_TASK = 4,           /* explicit task energy (not split)     */
    AHASD_N_ECAUSES = 5
};

enum {                          /* how a result was produced            */
    AHASD_METHOD_CLOSED_FORM = 0,
    AHASD_METHOD_MARKOV_CHAIN = 1,
    AHASD_METHOD_SIMULATION = 2
};

enum {                          /* result flags (bit set): approximations and notes */
    AHASD_FLAG_EXACT_PREDICTIONS = 1,   /* TVC latencies assumed known exactly     */
    AHASD_FLAG_BANDIT_STEADY = 2,       /* BanditSpec at its best arm (no transient) */
    AHASD_FLAG_EDC_MEAN_FIELD = 4,      /* EDC counters by their mean-field law    */
    AHASD_FLAG_LEAD_APPROX = 8,         /* L_max > 2 queue summarised by its lead  */
    AHASD_FLAG_CONTENTION_MEAN = 16,    /* contention applied with mean overlap    */
    AHASD_FLAG_OVERFLOW_STREAMED = 32,  /* weights beyond capacity streamed        */
    AHASD_FLAG_SEGMENTED = 64           /* costs taken per context segment         */
};

enum {                          /* TVC latency predictor of the simulator */
    AHASD_TVC_MOVING_AVERAGE = 0,   /* the paper's 4-entry NVCT/PDCT/PVCT tables */
    AHASD_TVC_EXACT = 1             /* exact latencies (upper bound on TVC)      */
};

/* ------------------------------------------------------------------ */
/* Layer 1: a decoder-only LLM                                          */
/* ------------------------------------------------------------------ */
typedef struct {
    int layers;                 /* decoder blocks                                */
    int hidden;                 /* model width d                                 */
    int heads;                  /* attention (query) heads                       */
    int kv_heads;               /* key/value heads (GQA when < heads)            */
    int head_dim;               /* per-head width; 0 means hidden / heads        */
    int ffn;                    /* FFN inner width                               */
    int ffn_kind;               /* AHASD_FFN_PLAIN or AHASD_FFN_GATED            */
    int act_kind;               /* AHASD_ACT_*                                   */
    int norm_kind;              /* AHASD_NORM_*                                  */
    int vocab;                  /* vocabulary size                               */
    int tied_embeddings;        /* 1 if the LM head reuses the embedding matrix  */
    double weight_bytes;        /* bytes per weight (1 INT8, 0.5 INT4, 2 FP16)   */
    double kv_bytes;            /* bytes per KV-cache element                    */
    double act_bytes;           /* bytes per activation element                  */
} ahasd_model;

/* Validate a model; field names in messages are prefixed with `prefix`
 * (e.g. "target."). */
int ahasd_model_validate(const ahasd_model *m, const char *prefix, ahasd_error *err);

/* Parameters (number of weights) and weight bytes of a model. */
int ahasd_model_size(const ahasd_model *m, double *params, double *weight_bytes,
                     ahasd_error *err);

/* ------------------------------------------------------------------ */
/* Layer 2: devices and the platform                                    */
/* ------------------------------------------------------------------ */
/* One device.  Every field is used by every device kind unless marked;
 * a field a device does not have is 0.  The PIM's "memory path" is its
 * internal (bank-level) bandwidth; its "link" is the off-chip bus it ships
 * nonlinear activations over when it has no AAU. */
typedef struct {
    int present;                        /* 1 if the platform has this device        */
    double matrix_ops_per_s;            /* peak dense matrix throughput (ops/s)     */
    double vector_ops_per_s;            /* peak vector/nonlinear throughput (ops/s) */
    double compute_util;                /* achievable fraction of peak, (0, 1]      */
    double mem_bw_bytes_per_s;          /* peak bandwidth of the path to its weights*/
    double mem_bw_util;                 /* achievable fraction of mem_bw, (0, 1]    */
    double capacity_bytes;              /* weights+KV held on its memory (0: unlimited) */
    double link_bw_bytes_per_s;         /* overflow / host link peak bandwidth      */
    double link_bw_util;                /* achievable fraction of link_bw           */
    double onchip_bytes;                /* scratchpad / SRAM for activations        */
    double matrix_energy_per_op_j;      /* energy per matrix operation              */
    double vector_energy_per_op_j;      /* energy per vector operation              */
    double mem_energy_per_byte_j;       /* energy per byte over its memory path     */
    double link_energy_per_byte_j;      /* energy per byte over its link            */
    double onchip_energy_per_byte_j;    /* energy per byte of scratchpad traffic    */
    double static_w;                    /* static power, drawn busy or idle (W)     */
    double pass_overhead_s;             /* fixed cost per forward pass (dispatch)   */
    double op_overhead_s;               /* fixed cost per operator (launch)         */
    /* PIM only */
    double units;                       /* PIM units (for reporting; ops are total) */
    int has_aau;                        /* 1: nonlinear ops in memory (AAU)         */
    double aau_ops_per_s;               /* total AAU throughput                     */
    double aau_energy_per_op_j;         /* AAU energy per operation                 */
    double switch_s;                    /* DLM <-> TLM task switch latency          */
    double roundtrip_s;                 /* latency per nonlinear op shipped to host */
} ahasd_device;

typedef struct {
    ahasd_device dev[4];                /* indexed by AHASD_DEV_NPU..AHASD_DEV_CPU  */
    double memory_capacity_bytes;       /* platform memory holding both models      */
    double memory_static_w;             /* main-memory background power (W)         */
    double contention;                  /* NPU memory-time slowdown while the PIM is
                                           active on the same LPDDR5: x (1 + c); 0 = independent */
    double sync_s;                      /* handoff per verification (two devices)   */
    double rollback_s;                  /* KV rollback after a rejection            */
    int draft_dev;                      /* device that drafts (two-device schedules)*/
    int verify_dev;                     /* device that verifies; serial and AR run here */
    int nonlinear_host_dev;             /* where a PIM without AAU ships nonlinear ops */
} ahasd_hardware;

int ahasd_hardware_validate(const ahasd_hardware *hw, ahasd_error *err);

/* Explicit task costs: the quick what-if, no hardware needed.  Drafting runs
 * on draft_dev and verification on verify_dev of the config's hardware roles
 * (for explicit costs: PIM and NPU unless the caller sets other roles). */
typedef struct {
    double draft_token_s;               /* one draft token                          */
    double verify_base_s;               /* verification: base ...                   */
    double verify_per_token_s;          /* ... + per draft token (k drafts)         */
    double preverify_token_s;           /* pre-verification, per token              */
    double draft_token_j;               /* energies: all of a task's energy,        */
    double verify_base_j;               /*   static power while busy included       */
    double verify_per_token_j;
    double preverify_token_j;
    double sync_s;                      /* handoff per verification                 */
    double rollback_s;                  /* after a rejection                        */
    double switch_s;                    /* PIM DLM <-> TLM switch                   */
    double idle_w[AHASD_N_DEVICES];     /* power while waiting, per device (W)      */
} ahasd_explicit_costs;

/* ------------------------------------------------------------------ */
/* Layer 3: entropy profile and drafting policy                         */
/* ------------------------------------------------------------------ */
/* Token entropy process: the bucket b of successive draft tokens is a Markov
 * chain on 0..buckets-1 with row-stochastic transition matrix q (row-major,
 * q[i*AHASD_MAX_BUCKETS + j] = P(next = j | current = i)).  Bucket b stands
 * for entropy (b + 1/2) h_max / buckets.  A draft token in bucket b at
 * position i (1-based within its batch) is accepted with probability
 * accept[b] * position_decay^(i-1); tokens are accepted in order until the
 * first rejection.  init is the bucket distribution of the first token of a
 * generation (all zero: the stationary law of q).  pred_scale scales the
 * acceptance a SpecDec++-style predictor reports: p_hat[b] =
 * min(1, pred_scale * accept[b]) (1 = a calibrated predictor). */
typedef struct {
    int buckets;
    double h_max;                       /* entropy upper bound (nats)               */
    double q[AHASD_MAX_BUCKETS * AHASD_MAX_BUCKETS];
    double accept[AHASD_MAX_BUCKETS];
    double init[AHASD_MAX_BUCKETS];
    double position_decay;              /* in (0, 1]                                */
    double pred_scale;                  /* > 0                                      */
} ahasd_profile;

int ahasd_profile_validate(const ahasd_profile *p, ahasd_error *err);

/* Fill an i.i.d. profile with acceptance alpha (B = 1). */
int ahasd_profile_iid(ahasd_profile *p, double alpha, ahasd_error *err);

/* Drafting policies: after each drafted token the policy decides whether
 * the batch ends; never before k_min tokens, always at k_max.
 *   fixed:      K = k.
 *   svip:       stop when sqrt(svip_c * H) > svip_h.
 *   adaedl:     stop when 1 - sqrt(adaedl_gamma * H) < adaedl_lambda.
 *   specdecpp:  stop when 1 - prod_i p_hat_i > specdecpp_tau.  The product is
 *               accumulated as sum -ln p_hat in fixed point with
 *               specdecpp_grid steps per threshold -ln(1 - tau) (the same
 *               arithmetic in the analytical recursion and the sampler).
 *   banditspec: before each batch, UCB1 picks a draft length from arms[];
 *               reward of a round = (A + 1) / (K c + 1) / r_max with
 *               c = bandit_cost_ratio (draft / verify cost; <= 0: taken from
 *               the task costs) and r_max the largest possible reward. */
typedef struct {
    int kind;                           /* AHASD_POLICY_*                           */
    int k;                              /* fixed draft length                       */
    int k_min, k_max;
    double svip_h, svip_c;
    double adaedl_gamma, adaedl_lambda;
    double specdecpp_tau;
    int specdecpp_grid;
    int n_arms;
    int arms[AHASD_MAX_ARMS];
    double bandit_explore;              /* UCB exploration constant (sqrt(2) = UCB1) */
    double bandit_cost_ratio;
    /* tree: a token tree of tree_depth levels, tree_branch[d] children per
     * node at depth d (d = 0 is the root's children); tree_prune is the
     * fraction of the drafted nodes removed before verification (draft
     * token pruning, lowest path probability first). */
    int tree_depth;
    int tree_branch[AHASD_MAX_TREE_DEPTH];
    double tree_prune;
} ahasd_policy;

int ahasd_policy_validate(const ahasd_policy *p, ahasd_error *err);

/* ------------------------------------------------------------------ */
/* The full configuration of one design point                           */
/* ------------------------------------------------------------------ */
typedef struct {
    int schedule;                       /* AHASD_SCHED_*                            */
    ahasd_hardware hw;
    ahasd_model draft, target;
    int use_explicit_costs;             /* 1: take costs, ignore hw devices/models  */
    ahasd_explicit_costs costs;
    ahasd_profile profile;
    ahasd_policy policy;
    int prompt_len;                     /* P tokens already in the KV caches        */
    int gen_len;                        /* N tokens generated                       */
    int l_max;                          /* async queue capacity in batches, >= 1    */
    int m_max;                          /* TVC: most tokens per pre-verification    */
    int k_design;                       /* partitioned: design draft length k*
                                           (0: the policy's mean, rounded)          */
    int segments;                       /* context segments of an analytical run    */
    int tvc_predictor;                  /* AHASD_TVC_* (simulator)                  */
} ahasd_config;

/* Fill a configuration with the library defaults (no hardware: every device
 * absent; the caller sets hw, models and profile).  Defaults: schedule sync,
 * fixed k = 4, k_min 1, k_max 16, i.i.d. profile alpha = 0.8, tree depth 4
 * with 2 children per node and no pruning, P = 128,
 * N = 1024, l_max = 3, m_max = 8, k_design 0, segments 2, moving-average TVC. */
int ahasd_config_default(ahasd_config *cfg, ahasd_error *err);

/* Validate everything a schedule will read. */
int ahasd_config_validate(const ahasd_config *cfg, ahasd_error *err);

/* ------------------------------------------------------------------ */
/* Workspace: caches and scratch, owned by the caller, one per thread   */
/* ------------------------------------------------------------------ */
typedef struct ahasd_workspace ahasd_workspace;

ahasd_workspace *ahasd_workspace_alloc(void);
void ahasd_workspace_free(ahasd_workspace *ws);       /* NULL-safe */
/* Forget cached drafting distributions (results never depend on the cache). */
void ahasd_workspace_clear(ahasd_workspace *ws);

/* ------------------------------------------------------------------ */
/* Costs of tasks                                                       */
/* ------------------------------------------------------------------ */
typedef struct {
    int device;                         /* AHASD_DEV_* that runs the task           */
    double time_s;                      /* latency                                  */
    double compute_s;                   /* part spent in compute-bound operators    */
    double memory_s;                    /* part spent in memory-bound operators     */
    double overhead_s;                  /* fixed overheads and host round trips     */
    double energy_j;                    /* total = sum of energy_by_cause_j         */
    double energy_by_cause_j[AHASD_N_ECAUSES];
} ahasd_cost;

/* Costs of every task at one context length (tokens already cached). */
typedef struct {
    double context;
    int k_max;                                  /* verify[] filled for 0..k_max     */
    int m_max;                                  /* preverify[] filled for 1..m_max  */
    ahasd_cost draft_token;                     /* DLM, 1 position, draft_dev       */
    ahasd_cost verify[AHASD_MAX_K + 1];         /* TLM, k+1 positions, verify_dev   */
    ahasd_cost preverify[AHASD_MAX_K + 1];      /* TLM, m positions, draft_dev (PIM)*/
    ahasd_cost ar_step;                         /* TLM, 1 position, verify_dev      */
    ahasd_cost serial_draft_token;              /* DLM, 1 position, verify_dev      */
    double sync_s, rollback_s, switch_s;
    int fits_in_memory;                         /* both models + KV caches fit      */
    double draft_weight_bytes, target_weight_bytes;
    double kv_bytes_at_context;                 /* both models' KV at this context  */
} ahasd_task_table;

int ahasd_task_costs(const ahasd_config *cfg, double context, ahasd_task_table *out,
                     ahasd_error *err);

/* The operators of one forward pass of `model` over n new positions at
 * context length `context`, costed on `device` of `hw` (roofline per
 * operator).  Writes at most cap rows; *n_ops receives the count needed. */
enum {
    AHASD_OP_MATMUL = 0,        /* weight x activation (GEMV / skinny GEMM) */
    AHASD_OP_ATTENTION = 1,     /* QK^T or PV against the KV cache          */
    AHASD_OP_NONLINEAR = 2,     /* softmax, activation, norm                */
    AHASD_OP_MEMORY = 3         /* embedding lookup, KV append              */
};
typedef struct {
    char name[24];
    int kind;                   /* AHASD_OP_*                               */
    int count;                  /* instances per pass (e.g. layers)         */
    double ops;                 /* operations (2 per MAC), all instances    */
    double weight_bytes;
    double kv_read_bytes, kv_write_bytes;
    double act_bytes;
    double path_bytes;          /* bytes the memory time is charged for:
                                   weights + KV, plus activations only when
                                   one instance's exceed onchip_bytes (all of
                                   it when shipped over the host link)       */
    double nonlinear_elems;
    double compute_s, memory_s, time_s, energy_j;
    int memory_bound;           /* 1 if memory time >= compute time         */
} ahasd_op;

int ahasd_pass_ops(const ahasd_hardware *hw, const ahasd_model *m, int device,
                   int n_positions, double context, ahasd_op *ops, size_t cap,
                   size_t *n_ops, ahasd_error *err);

/* ------------------------------------------------------------------ */
/* Drafting distributions                                               */
/* ------------------------------------------------------------------ */
/* start_bucket >= 0: the batch's first token is in that bucket;
 * AHASD_START_INIT: first bucket ~ profile.init (generation start);
 * AHASD_START_STATIONARY: the long-run law of batch starts when each batch
 * continues the chain from the previous batch's exit bucket (the rejected
 * token, or the last token when all are accepted). */
#define AHASD_START_INIT -1
#define AHASD_START_STATIONARY -2

typedef struct {
    int k_max;
    double p_ka[(AHASD_MAX_K + 1) * (AHASD_MAX_K + 1)];  /* P(K=k, A=j) at k*(MAX_K+1)+j */
    double p_k[AHASD_MAX_K + 1];                          /* P(K = k)                   */
    double mean_draft_len;                                /* E[K]                       */
    double mean_accepted;                                 /* E[A]                       */
    double p_full;                                        /* P(A = K)                   */
    double tokens_per_round;                              /* E[A + 1]                   */
    double acceptance_rate;                               /* E[A] / E[K]                */
    int bandit_arm;                                       /* banditspec: the steady arm */
} ahasd_draft_summary;

int ahasd_draft_dist(const ahasd_profile *prof, const ahasd_policy *pol, int start_bucket,
                     ahasd_workspace *ws, ahasd_draft_summary *out, ahasd_error *err);

/* Draw n batches by Monte Carlo (the simulator's own sampler), each batch
 * starting as start_bucket says (AHASD_START_STATIONARY: consecutive batches
 * chained through exit buckets).  k_out and a_out have n elements.
 * BanditSpec draws with its steady arm here (the simulator runs the bandit). */
int ahasd_draft_sample(const ahasd_profile *prof, const ahasd_policy *pol, int start_bucket,
                       uint64_t seed, size_t n, int *k_out, int *a_out,
                       ahasd_error *err);

/* ------------------------------------------------------------------ */
/* Results                                                              */
/* ------------------------------------------------------------------ */
enum {                          /* canonical outputs, flat index        */
    AHASD_OUT_THROUGHPUT_TOK_S = 0,
    AHASD_OUT_LATENCY_PER_TOKEN_S,
    AHASD_OUT_ENERGY_PER_TOKEN_J,
    AHASD_OUT_TOKENS_PER_J,
    AHASD_OUT_EDP_JS,
    AHASD_OUT_NPU_BUSY_FRAC,
    AHASD_OUT_PIM_BUSY_FRAC,
    AHASD_OUT_GPU_BUSY_FRAC,
    AHASD_OUT_CPU_BUSY_FRAC,
    AHASD_OUT_NPU_IDLE_S,
    AHASD_OUT_PIM_IDLE_S,
    AHASD_OUT_GPU_IDLE_S,
    AHASD_OUT_CPU_IDLE_S,
    AHASD_OUT_ACCEPTANCE_RATE,
    AHASD_OUT_WASTE_FRAC,
    AHASD_OUT_MEAN_DRAFT_LEN,
    AHASD_OUT_MEAN_ACCEPTED,
    AHASD_OUT_TOKENS_PER_ROUND,
    AHASD_OUT_PREVERIFY_FRAC,
    AHASD_OUT_SUPPRESSION_RATE,
    AHASD_OUT_TOTAL_TIME_S,
    AHASD_OUT_TOTAL_ENERGY_J,
    AHASD_OUT_DRAFTED_TOKENS,
    AHASD_OUT_COMMITTED_TOKENS,
    AHASD_OUT_ROUNDS,
    AHASD_OUT_GAP_P50_S,
    AHASD_OUT_GAP_P90_S,
    AHASD_OUT_GAP_P99_S,
    AHASD_N_OUT
};

/* Canonical name of output i ("throughput_tok_s", ...); NULL if out of range. */
const char *ahasd_output_name(int i);

/* Names of the enumerations, as users type them; NULL if out of range.
 * ahasd_flag_name takes a bit index (flag 1 << i). */
const char *ahasd_schedule_name(int i);     /* "autoregressive", ..., "ahasd"      */
const char *ahasd_policy_name(int i);       /* "fixed", "svip", ..., "tree"        */
const char *ahasd_device_name(int i);       /* "npu", "pim", "gpu", "cpu", "mem"   */
const char *ahasd_task_name(int i);         /* "draft", "verify", ..., "idle"      */
const char *ahasd_ecause_name(int i);       /* "compute", ..., "task"              */
const char *ahasd_method_name(int i);       /* "closed-form", ...                  */
const char *ahasd_flag_name(int bit);       /* short description of a flag        */

typedef struct {
    double out[AHASD_N_OUT];                        /* canonical outputs           */
    double ci95[AHASD_N_OUT];                       /* simulation: 95% half-widths */
    double time_s[AHASD_N_DEVICES][AHASD_N_TASKS];  /* wall time split per device  */
    double energy_j[AHASD_N_DEVICES][AHASD_N_ECAUSES];
    double wasted_s[AHASD_N_DEVICES];               /* busy time on discarded work */
    int method;                                     /* AHASD_METHOD_*              */
    int flags;                                      /* AHASD_FLAG_* bit set        */
    int fits_in_memory;
    int n_runs;                                     /* simulation runs (0: analytical) */
    int bandit_arm;                                 /* banditspec steady arm (k)   */
    double bandit_transient_rounds;                 /* UCB1 bound on rounds off the best arm */
    double edc_continue_prob;                       /* async-edc/ahasd: mean P(continue) */
    double chain_residual;                          /* Markov chain: balance residual */
    int chain_states;                               /* Markov chain: states solved */
} ahasd_result;

/* The analytical estimate of cfg: closed form (autoregressive, serial, sync,
 * partitioned) or Markov chain (async, async-edc, ahasd). */
int ahasd_estimate(const ahasd_config *cfg, ahasd_workspace *ws, ahasd_result *res,
                   ahasd_error *err);

/* ------------------------------------------------------------------ */
/* Simulator                                                            */
/* ------------------------------------------------------------------ */
typedef struct {
    int run;                    /* always 0: the trace is of the first run  */
    int device;                 /* AHASD_DEV_*                              */
    int task;                   /* AHASD_TASK_* (idle is not recorded)      */
    int wasted;                 /* 1 if the whole event's work was discarded
                                   by a flush.  The rejected tail of a batch
                                   that was verified is not marked here (its
                                   event holds accepted drafts too), while
                                   ahasd_result.wasted_s counts it: the sum of
                                   marked events is a lower bound of wasted_s */
    double start_s, end_s;
    int tokens;                 /* tokens drafted / verified / pre-verified */
    int batch;                  /* batch sequence number (-1: none)         */
} ahasd_trace_event;

typedef struct {
    uint64_t seed;
    int n_runs;                         /* independent generations (>= 1)          */
    ahasd_trace_event *trace;           /* optional buffer for run 0's events      */
    size_t trace_cap;
    size_t trace_len;                   /* out: events written                     */
    size_t trace_needed;                /* out: events run 0 produced              */
} ahasd_sim_options;

int ahasd_simulate(const ahasd_config *cfg, ahasd_sim_options *opt, ahasd_workspace *ws,
                   ahasd_result *res, ahasd_error *err);

/* ------------------------------------------------------------------ */
/* Parameters by name, for sweeps, sensitivity, calibration             */
/* ------------------------------------------------------------------ */
/* Every numeric input of ahasd_config has a dotted name ("npu.mem_bw_bytes_per_s",
 * "pim.internal_bw_bytes_per_s" (alias), "k", "l_max", "alpha", ...). */
int ahasd_param_count(void);
const char *ahasd_param_name(int id);               /* NULL if out of range      */
const char *ahasd_param_doc(int id);                /* unit and meaning          */
int ahasd_param_is_int(int id);                     /* 1 integer, 0 real, <0 bad */
int ahasd_param_find(const char *name);             /* id or AHASD_ERR_UNKNOWN   */
int ahasd_param_set(ahasd_config *cfg, int id, double value, ahasd_error *err);
int ahasd_param_get(const ahasd_config *cfg, int id, double *value, ahasd_error *err);

/* Evaluate n_points design points: point i is base with params[p] set to
 * values[p * n_points + i].  Writes out[i * n_out + o] = output out_ids[o]
 * (NaN for a failed point) and status[i] (AHASD_OK or the point's error
 * code).  simulate != 0 runs the simulator with seed + i and n_runs runs
 * instead of the analytical estimate.  Returns AHASD_OK even when some points
 * fail; an error only for bad arguments. */
int ahasd_sweep(const ahasd_config *base, size_t n_points, size_t n_params,
                const int *param_ids, const double *values, size_t n_out,
                const int *out_ids, int simulate, uint64_t seed, int n_runs,
                double *out, int *status, ahasd_workspace *ws, ahasd_error *err);

/* ------------------------------------------------------------------ */
/* Optimisation and calibration (GSL minimisers and least squares)      */
/* ------------------------------------------------------------------ */
/* The best values of n_params parameters of cfg for one output: minimise
 * (maximize = 0) or maximise output out_id.  Integer parameters are
 * enumerated over [lo, hi]; real ones are searched within [lo, hi] by GSL's
 * Brent minimiser (one real parameter) or Nelder-Mead simplex (several), for
 * each integer combination.  A point that fails, or whose outputs cons_ids[c]
 * fall outside [cons_lo[c], cons_hi[c]], is infeasible.  At most max_evals
 * evaluations.  x_best receives the optimum (n_params values). */
typedef struct {
    double best_value;          /* objective at the optimum                    */
    double start_value;         /* objective at cfg as given (NaN: infeasible) */
    int n_evals;                /* model evaluations used                      */
    int converged;              /* 1 if every continuous search converged      */
    int feasible;               /* 1 if a feasible point was found             */
} ahasd_opt_summary;

int ahasd_optimize(const ahasd_config *cfg, size_t n_params, const int *param_ids,
                   const double *lo, const double *hi, int out_id, int maximize,
                   size_t n_cons, const int *cons_ids, const double *cons_lo,
                   const double *cons_hi, int max_evals, double *x_best,
                   ahasd_opt_summary *sum, ahasd_workspace *ws, ahasd_error *err);

/* Fit n_params parameters to observations: observation i is output
 * out_ids[i] of configs[i] (a full configuration each) with observed value
 * observed[i] > 0.  Minimises the sum of squared relative residuals
 * (model / observed - 1) with GSL's trust-region nonlinear least squares,
 * starting from x (in/out), keeping each parameter inside (lo, hi) by a
 * smooth reparametrisation.  stderr_out receives standard errors from the
 * Jacobian at the optimum scaled by the residual variance (NaN when there
 * are no degrees of freedom). */
typedef struct {
    double chi2;                /* sum of squared relative residuals           */
    int dof;                    /* n_obs - n_params                            */
    int n_iter;
    int converged;
    double rms_rel_residual;
} ahasd_fit_summary;

int ahasd_calibrate(const ahasd_config *configs, size_t n_obs, const int *out_ids,
                    const double *observed, size_t n_params, const int *param_ids,
                    double *x, const double *lo, const double *hi, double *stderr_out,
                    ahasd_fit_summary *sum, ahasd_workspace *ws, ahasd_error *err);

/* CDEF END */

#ifdef __cplusplus
}
#endif

#endif /* AHASD_H */
