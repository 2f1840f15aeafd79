/*
 * costs.c -- layers 1 and 2 of MODEL.md: the operators of one forward pass
 * and their latency and energy on a device; the task-cost provider (plat_*)
 * every schedule uses; hardware validation; the public task-cost and
 * per-operator tables.
 *
 * Operators (layer 1).  A pass over n new positions at context L (L tokens
 * already in the KV cache; new position i = 0..n-1 attends to L + i + 1
 * keys) of a model with width d, H query heads, G key/value heads of width
 * h (q = H h, k = G h), FFN width f, vocabulary V runs, per layer:
 *
 *   attn_norm  n d elements                      (LayerNorm / RMSNorm)
 *   qkv        n d (q + 2k) MACs, d (q + 2k) weights
 *   kv_append  writes n 2k KV elements
 *   qk         q S MACs, reads the L cached keys (L k elements)
 *   softmax    H S elements
 *   pv         q S MACs, reads the L cached values
 *   o_proj     n q d MACs
 *   ffn_norm   n d elements
 *   ffn_up     n d f MACs (plain) or n d 2f (gated: gate and up together)
 *   act        n f elements (ReLU, GELU, SiLU)
 *   gate_mul   n f elementwise products (gated FFN only)
 *   ffn_down   n f d MACs
 *
 * and once: final_norm (n d elements), lm_head (n d V MACs; its V d weights
 * are read whether or not they are tied to the embedding), embed (n rows of
 * d weights).  S = n L + n (n + 1) / 2 is the number of (query, key) pairs
 * of one head.  One MAC = 2 operations.  Every quantity is linear in the
 * basis (1, n, L, S); per operator we keep its coefficients per instance.
 * Activation bytes of an operator = its inputs read + its outputs written
 * (elements x act_bytes).  Residual additions and rotary embeddings are not
 * modelled (O(n d) elementwise work, below 0.1% of a pass's bytes).
 *
 * Operations per nonlinear element, counting each elementwise arithmetic
 * operation, compare or table lookup as 1 and a transcendental (exp, tanh)
 * evaluated by lookup table plus linear interpolation as 2:
 *   LayerNorm 7   sum, subtract mean, square-accumulate (2), scale by
 *                 1/sigma, gain, bias
 *   RMSNorm   4   square-accumulate (2), scale by 1/rms, gain
 *   softmax   6   running max, subtract, exp (2), sum, scale by 1/sum
 *   ReLU      1   compare-select
 *   GELU      8   tanh form: x^2, fused (c1 x^2 + c0), times x, tanh (2),
 *                 + 1, times x, times 1/2
 *   SiLU      5   exp(-x) (2), + 1, reciprocal, times x
 *   gate mul  1   product of the activated gate and the up projection
 *
 * Device cost (layer 2).  Each operator costs, on device D,
 *   compute  t_c = ops / (rate x compute_util): matrix rate for MACs, vector
 *            rate for nonlinear and elementwise ops;
 *   memory   t_m = (weight + KV bytes [+ activation bytes if one instance's
 *            activations exceed onchip_bytes]) / (mem_bw x mem_bw_util);
 *   time     max(t_c, t_m) + count x op_overhead_s          (roofline)
 * and a pass adds pass_overhead_s.  Activations that fit on chip cost
 * on-chip energy and no time.  On the PIM: matrix ops at matrix_ops_per_s
 * (the total over its units) against its internal bandwidth; elementwise
 * products on its MAC units (bank-level PIM ALUs multiply elementwise);
 * nonlinear ops with an AAU at aau_ops_per_s (compute_util is not applied
 * to the fixed-function AAU); without one, each nonlinear operator instance
 * ships its activation bytes (inputs out, outputs back) to
 * hw.nonlinear_host_dev over the PIM's link and pays
 *   t = bytes / (link_bw x link_bw_util) + roundtrip_s
 *       + ops / (host vector rate x host compute_util),
 * serially (no overlap), with energy bytes x link energy + ops x host
 * vector energy (charged to the PIM's task; the host's busy time is not).
 *
 * Capacity.  A device with capacity_bytes > 0 (a GPU) holds, in this order,
 * the draft weights, the target weights, the draft KV cache, the target KV
 * cache, of the models the schedule runs on it: the draft on draft_dev
 * (on verify_dev for `serial`; nowhere for `autoregressive`), the target on
 * verify_dev (and on draft_dev for `ahasd`, which pre-verifies there).  A
 * pass of a model the schedule does not run on that device is costed as if
 * that model were placed there too.  The bytes of the pass's model beyond
 * capacity (weights, and the cached tokens' KV at the pass's context)
 * stream over the device's link (link_bw x link_bw_util) every pass, after
 * the on-device part and not overlapped with it (a conservative choice: no
 * double buffering), into device memory, where the kernels read them like
 * resident bytes.  plat_pass_part does not model overflow.
 *
 * Energy of a pass = sum ops x energy per op + bytes x energy per byte of
 * each path used (memory, on-chip, link) + static_w x pass time.
 *
 * Speed.  plat_init compiles each task's pass into twelve operator groups
 * (operators identical per instance merged, which is exact: the three
 * norms; qk with pv), stored as a structure of arrays of compute and memory
 * seconds as linear forms in (n, L, S), activation bytes and the on-chip
 * threshold, plus pass-level rows (shipped operators, which are linear;
 * energy; overflow).  plat_cost then evaluates the exact per-operator
 * roofline (all layers are identical, so the max per group equals the max
 * per layer instance) in a few hundred instructions, no allocation.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------------ */
/* Layer 1: the operators of a pass                                     */
/* ------------------------------------------------------------------ */
enum {                         /* operators, in execution order          */
    OPI_ATTN_NORM = 0, OPI_QKV, OPI_KV_APPEND, OPI_QK, OPI_SOFTMAX, OPI_PV, OPI_O_PROJ,
    OPI_FFN_NORM, OPI_FFN_UP, OPI_ACT, OPI_GATE_MUL, OPI_FFN_DOWN,
    OPI_FINAL_NORM, OPI_LM_HEAD, OPI_EMBED, SHAPE_N_OPS
};
enum { XC_MATRIX = 0, XC_NONLINEAR = 1, XC_ELEMWISE = 2, XC_MEMORY = 3 };

/* Ops per nonlinear element (reasons in the header comment). */
#define OPS_LAYERNORM 7.0
#define OPS_RMSNORM 4.0
#define OPS_SOFTMAX 6.0
#define OPS_RELU 1.0
#define OPS_GELU 8.0
#define OPS_SILU 5.0
#define OPS_GATE_MUL 1.0

/* One operator, per instance.  Only the structurally nonzero terms of the
 * linear forms in (1, n, L, S) are kept: at a point,
 *   ops = ops_n n + ops_s S,  weight bytes = w_c + w_n n,
 *   KV read = kvr_l L,  KV written = kvw_n n,
 *   activation bytes = act_n n + act_s S,  elements = nl_n n + nl_s S. */
typedef struct {
    const char *name;
    int kind;                   /* AHASD_OP_*                                 */
    int xclass;                 /* XC_*: which unit executes it               */
    int per_layer;              /* 1: once per layer, 0: once per pass        */
    int present;                /* 0: not in this model (gate_mul, plain FFN) */
    double ops_n, ops_s;
    double w_c, w_n;
    double kvr_l, kvw_n;
    double act_n, act_s;
    double nl_n, nl_s;
} shape_op;

static const char *const op_names[SHAPE_N_OPS] = {
    "attn_norm", "qkv", "kv_append", "qk", "softmax", "pv", "o_proj",
    "ffn_norm", "ffn_up", "act", "gate_mul", "ffn_down",
    "final_norm", "lm_head", "embed",
};

static double shape_head_dim(const ahasd_model *m)
{
    return m->head_dim > 0 ? (double)m->head_dim : (double)m->hidden / (double)m->heads;
}

/* KV-cache bytes per cached token, all layers: 2 (K and V) x layers x k. */
static double shape_kv_per_token(const ahasd_model *m)
{
    if (m->layers <= 0 || m->heads <= 0)
        return 0.0;
    return 2.0 * m->layers * m->kv_heads * shape_head_dim(m) * m->kv_bytes;
}

static void shape_op_init(shape_op *o, int i, int kind, int xclass)
{
    o->ops_n = o->ops_s = o->w_c = o->w_n = o->kvr_l = o->kvw_n = 0.0;
    o->act_n = o->act_s = o->nl_n = o->nl_s = 0.0;
    o->name = op_names[i];
    o->kind = kind;
    o->xclass = xclass;
    o->per_layer = i < OPI_FINAL_NORM;
    o->present = 1;
}

static void shape_norm(shape_op *o, int i, double d, double nw, double c_norm, double wb,
                       double ab)
{
    shape_op_init(o, i, AHASD_OP_NONLINEAR, XC_NONLINEAR);
    o->ops_n = c_norm * d;
    o->nl_n = d;
    o->w_c = nw * wb;
    o->act_n = 2.0 * d * ab;
}

static void shape_matmul(shape_op *o, int i, double din, double dout, double wb, double ab)
{
    shape_op_init(o, i, AHASD_OP_MATMUL, XC_MATRIX);
    o->ops_n = 2.0 * din * dout;
    o->w_c = din * dout * wb;
    o->act_n = (din + dout) * ab;
}

/* Fill the per-instance operator table of a validated model (formulas in
 * the header comment). */
static void shape_build(const ahasd_model *m, shape_op *sh)
{
    double d = m->hidden, hd = shape_head_dim(m), H = m->heads;
    double q = m->heads * hd, k = m->kv_heads * hd, f = m->ffn, V = m->vocab;
    double wb = m->weight_bytes, kb = m->kv_bytes, ab = m->act_bytes;
    double g = m->ffn_kind == AHASD_FFN_GATED ? 2.0 : 1.0;
    double nw = m->norm_kind == AHASD_NORM_LAYERNORM ? 2.0 * d : d;
    double c_norm = m->norm_kind == AHASD_NORM_LAYERNORM ? OPS_LAYERNORM : OPS_RMSNORM;
    double c_act = m->act_kind == AHASD_ACT_RELU ? OPS_RELU
                   : m->act_kind == AHASD_ACT_GELU ? OPS_GELU : OPS_SILU;
    shape_op *o;

    shape_norm(&sh[OPI_ATTN_NORM], OPI_ATTN_NORM, d, nw, c_norm, wb, ab);
    shape_matmul(&sh[OPI_QKV], OPI_QKV, d, q + 2.0 * k, wb, ab);

    o = &sh[OPI_KV_APPEND];
    shape_op_init(o, OPI_KV_APPEND, AHASD_OP_MEMORY, XC_MEMORY);
    o->kvw_n = 2.0 * k * kb;
    o->act_n = 2.0 * k * ab;

    o = &sh[OPI_QK];
    shape_op_init(o, OPI_QK, AHASD_OP_ATTENTION, XC_MATRIX);
    o->ops_s = 2.0 * q;
    o->kvr_l = k * kb;
    o->act_n = (q + k) * ab;           /* queries, the new keys             */
    o->act_s = H * ab;                 /* scores written                    */

    o = &sh[OPI_SOFTMAX];
    shape_op_init(o, OPI_SOFTMAX, AHASD_OP_NONLINEAR, XC_NONLINEAR);
    o->ops_s = OPS_SOFTMAX * H;
    o->nl_s = H;
    o->act_s = 2.0 * H * ab;

    o = &sh[OPI_PV];
    shape_op_init(o, OPI_PV, AHASD_OP_ATTENTION, XC_MATRIX);
    o->ops_s = 2.0 * q;
    o->kvr_l = k * kb;
    o->act_n = (k + q) * ab;           /* the new values, outputs           */
    o->act_s = H * ab;                 /* probabilities read                */

    shape_matmul(&sh[OPI_O_PROJ], OPI_O_PROJ, q, d, wb, ab);
    shape_norm(&sh[OPI_FFN_NORM], OPI_FFN_NORM, d, nw, c_norm, wb, ab);
    shape_matmul(&sh[OPI_FFN_UP], OPI_FFN_UP, d, g * f, wb, ab);

    o = &sh[OPI_ACT];
    shape_op_init(o, OPI_ACT, AHASD_OP_NONLINEAR, XC_NONLINEAR);
    o->ops_n = c_act * f;
    o->nl_n = f;
    o->act_n = 2.0 * f * ab;

    o = &sh[OPI_GATE_MUL];
    shape_op_init(o, OPI_GATE_MUL, AHASD_OP_NONLINEAR, XC_ELEMWISE);
    o->present = m->ffn_kind == AHASD_FFN_GATED;
    o->ops_n = OPS_GATE_MUL * f;
    o->nl_n = f;
    o->act_n = 3.0 * f * ab;

    shape_matmul(&sh[OPI_FFN_DOWN], OPI_FFN_DOWN, f, d, wb, ab);
    shape_norm(&sh[OPI_FINAL_NORM], OPI_FINAL_NORM, d, nw, c_norm, wb, ab);
    shape_matmul(&sh[OPI_LM_HEAD], OPI_LM_HEAD, d, V, wb, ab);

    o = &sh[OPI_EMBED];
    shape_op_init(o, OPI_EMBED, AHASD_OP_MEMORY, XC_MEMORY);
    o->w_n = d * wb;                   /* n rows of the embedding           */
    o->act_n = d * ab;
}

/* Weight bytes of a model from its operator table: the constant weight
 * bytes of every operator (what a pass reads besides n embedding rows) and,
 * for the whole model, the untied embedding too (the formula of model.c). */
static void shape_weights(const ahasd_model *m, const shape_op *sh, double *model_w,
                          double *pass_w)
{
    double w = 0.0;
    int i;

    for (i = 0; i < SHAPE_N_OPS; i++)
        if (sh[i].present)
            w += (sh[i].per_layer ? (double)m->layers : 1.0) * sh[i].w_c;
    *pass_w = w;
    *model_w = w + (m->tied_embeddings ? 0.0 : (double)m->vocab * m->hidden * m->weight_bytes);
}

/* ------------------------------------------------------------------ */
/* Layer 2: a device's rates and energies                               */
/* ------------------------------------------------------------------ */
typedef struct {
    int dev;
    double inv_mat, e_mat;      /* s and J per matrix operation                 */
    double inv_nl, e_nl;        /* per nonlinear op: vector unit, AAU or host   */
    double inv_ew, e_ew;        /* per elementwise op                           */
    int ship;                   /* 1: nonlinear ops are shipped to the host     */
    double inv_bw, e_mem;       /* memory path: s and J per byte                */
    double e_onchip, onchip;    /* on-chip: J per byte, capacity                */
    double inv_link, e_link;    /* link: s and J per byte                       */
    double roundtrip;           /* per shipped operator instance                */
    double op_overhead, pass_overhead, static_w;
} dev_ctx;

static double inv_or_zero(double rate)
{
    return rate > 0.0 ? 1.0 / rate : 0.0;
}

/* Rates of device `dev` of a validated hardware description. */
static void dev_ctx_make(const ahasd_hardware *hw, int dev, dev_ctx *x)
{
    const ahasd_device *v = &hw->dev[dev], *host;

    x->dev = dev;
    x->inv_mat = inv_or_zero(v->matrix_ops_per_s * v->compute_util);
    x->e_mat = v->matrix_energy_per_op_j;
    x->inv_nl = inv_or_zero(v->vector_ops_per_s * v->compute_util);
    x->e_nl = v->vector_energy_per_op_j;
    x->inv_ew = x->inv_nl;
    x->e_ew = x->e_nl;
    x->ship = 0;
    x->inv_bw = inv_or_zero(v->mem_bw_bytes_per_s * v->mem_bw_util);
    x->e_mem = v->mem_energy_per_byte_j;
    x->e_onchip = v->onchip_energy_per_byte_j;
    x->onchip = v->onchip_bytes;
    x->inv_link = inv_or_zero(v->link_bw_bytes_per_s * v->link_bw_util);
    x->e_link = v->link_energy_per_byte_j;
    x->roundtrip = 0.0;
    x->op_overhead = v->op_overhead_s;
    x->pass_overhead = v->pass_overhead_s;
    x->static_w = v->static_w;
    if (dev == AHASD_DEV_PIM) {
        x->inv_ew = x->inv_mat;
        x->e_ew = x->e_mat;
        if (v->has_aau) {
            x->inv_nl = inv_or_zero(v->aau_ops_per_s);
            x->e_nl = v->aau_energy_per_op_j;
        } else {
            host = &hw->dev[hw->nonlinear_host_dev];
            x->ship = 1;
            x->inv_nl = inv_or_zero(host->vector_ops_per_s * host->compute_util);
            x->e_nl = host->vector_energy_per_op_j;
            x->roundtrip = v->roundtrip_s;
        }
    }
}

static double op_inv_rate(const dev_ctx *x, int xclass)
{
    return xclass == XC_MATRIX ? x->inv_mat : xclass == XC_NONLINEAR ? x->inv_nl : x->inv_ew;
}

static double op_energy(const dev_ctx *x, int xclass)
{
    return xclass == XC_MATRIX ? x->e_mat : xclass == XC_NONLINEAR ? x->e_nl : x->e_ew;
}

/* Cost of `count` instances of one operator at (n, L, S) on device x: the
 * reference evaluation (the per-operator table and partial passes use it;
 * the compiled passes reproduce it).  count may be fractional (a linear
 * share of a model's layers). */
typedef struct {
    double ops, wb, kvr, kvw, act, nl;
    double path;                /* bytes over the memory path (or the link)   */
    double compute_s, memory_s, overhead_s, time_s;
    double e_compute, e_memory;
    int memory_bound, shipped;
} op_cost_t;

static void op_cost(const dev_ctx *x, const shape_op *s, double count, double n, double L,
                    double S, op_cost_t *o)
{
    double act1 = s->act_n * n + s->act_s * S, path;

    o->ops = count * (s->ops_n * n + s->ops_s * S);
    o->wb = count * (s->w_c + s->w_n * n);
    o->kvr = count * s->kvr_l * L;
    o->kvw = count * s->kvw_n * n;
    o->act = count * act1;
    o->nl = count * (s->nl_n * n + s->nl_s * S);
    o->shipped = x->ship && s->xclass == XC_NONLINEAR;
    o->compute_s = o->ops * op_inv_rate(x, s->xclass);
    o->e_compute = o->ops * op_energy(x, s->xclass);
    o->overhead_s = count * x->op_overhead;
    if (o->shipped) {
        /* Everything the operator touches crosses the link, serially. */
        path = o->act + o->wb + o->kvr + o->kvw;
        o->memory_s = path * x->inv_link;
        o->e_memory = path * x->e_link;
        o->overhead_s += count * x->roundtrip;
        o->time_s = o->compute_s + o->memory_s + o->overhead_s;
    } else {
        path = o->wb + o->kvr + o->kvw;
        o->e_memory = path * x->e_mem;
        if (act1 > x->onchip) {
            path += o->act;
            o->e_memory += o->act * x->e_mem;
        } else {
            o->e_memory += o->act * x->e_onchip;
        }
        o->memory_s = path * x->inv_bw;
        o->time_s = (o->compute_s > o->memory_s ? o->compute_s : o->memory_s) + o->overhead_s;
    }
    o->path = path;
    o->memory_bound = o->memory_s >= o->compute_s;
}

static void cost_zero(ahasd_cost *c, int device)
{
    memset(c, 0, sizeof *c);
    c->device = device;
}

/* ------------------------------------------------------------------ */
/* Capacity overflow                                                    */
/* ------------------------------------------------------------------ */
/* Streamed bytes of one model's pass on a device of capacity C holding, in
 * order, draft weights W_d, target weights W_t, draft KV k_d L, target KV
 * k_t L (those placed):
 *   weights: clamp(prior_w + W - C, 0, min(W, pass weight bytes))  (constant)
 *   KV:      min(max(a0 + b L, 0), k L)
 * with prior_w the weights placed before this model's, a0 = all placed
 * weights - C, b = KV per token placed up to and including this model's,
 * k this model's KV per token. */
typedef struct {
    double w_stream, a0, b, k;
    int on;                     /* capacity limited                           */
} ovf_t;

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void ovf_make(double capacity, int draft_placed, int target_placed, int which,
                     const double w[2], const double kv[2], double pass_w, ovf_t *o)
{
    double wd = draft_placed ? w[0] : 0.0, wt = target_placed ? w[1] : 0.0;
    double prior_w = which == 0 ? 0.0 : wd;

    memset(o, 0, sizeof *o);
    o->on = capacity > 0.0;
    if (!o->on)
        goto out;
    o->w_stream = clampd(prior_w + w[which] - capacity, 0.0, w[which]);
    if (o->w_stream > pass_w)
        o->w_stream = pass_w;
    o->a0 = wd + wt - capacity;
    o->b = which == 0 ? kv[0] : (draft_placed ? kv[0] : 0.0) + kv[1];
    o->k = kv[which];
out:
    return;
}

static double ovf_bytes(const ovf_t *o, double L)
{
    if (!o->on)
        return 0.0;
    return o->w_stream + clampd(o->a0 + o->b * L, 0.0, o->k * L);
}

/* ------------------------------------------------------------------ */
/* Compiled passes                                                      */
/* ------------------------------------------------------------------ */
/* Operators identical per instance are merged into one group, which is
 * exact (same per-instance roofline and on-chip test, counts added): the
 * three norms, and qk with pv.  Twelve groups: */
enum {
    G_NORM = 0, G_QKV, G_KV_APPEND, G_ATTN, G_SOFTMAX, G_O_PROJ, G_FFN_UP, G_ACT,
    G_GATE_MUL, G_FFN_DOWN, G_LM_HEAD, G_EMBED, N_GROUPS
};
static const int group_ops[N_GROUPS][3] = {    /* members, -1: none */
    {OPI_ATTN_NORM, OPI_FFN_NORM, OPI_FINAL_NORM}, {OPI_QKV, -1, -1}, {OPI_KV_APPEND, -1, -1},
    {OPI_QK, OPI_PV, -1}, {OPI_SOFTMAX, -1, -1}, {OPI_O_PROJ, -1, -1}, {OPI_FFN_UP, -1, -1},
    {OPI_ACT, -1, -1}, {OPI_GATE_MUL, -1, -1}, {OPI_FFN_DOWN, -1, -1}, {OPI_LM_HEAD, -1, -1},
    {OPI_EMBED, -1, -1},
};
/* Layout of plat_pass_coef.c: one row per coefficient, one column per
 * group (structure of arrays: evaluation runs along contiguous rows), then
 * three pass-level rows.  Shipped operators are serial sums, linear in
 * (1, n, L, S): they go to ROW_L and leave their group's column zero. */
enum {
    C_CN = 0, C_CS,             /* compute seconds per n, per S                   */
    C_M0, C_MN, C_ML,           /* memory seconds: constant, per n, per L         */
    C_AN, C_AS,                 /* activation bytes per n, per S                  */
    C_THR,                      /* spill threshold: count x onchip_bytes          */
    ROW_L,                      /* pass row: shipped operators, linear            */
    ROW_E,                      /* pass row: energy                               */
    ROW_O                       /* pass row: capacity overflow and link           */
};
enum { L_CN = 0, L_CS, L_M0, L_MN, L_ML, L_MS };
enum { E_CN = 0, E_CS, E_M0, E_MN, E_ML, E_MS, E_SPILL, E_STATIC, E_SPT };
enum { O_ON = 0, O_W, O_A, O_B, O_K, O_INV_LINK, O_E_LINK };
typedef char costs_layout_fits[(N_GROUPS <= 12 && ROW_O < PLAT_MAX_GROUPS) ? 1 : -1];

/* Device-independent sums of a group over its members and instances:
 * totals of the linear forms (ops, weight + KV-write bytes per n, ...),
 * and the instance count (for the on-chip threshold and overheads).  A
 * group's members share their execution class. */
typedef struct {
    int xclass;
    double count;
    double ops_n, ops_s;
    double w_c, mem_n, kvr_l;   /* mem_n = embedding rows + KV written      */
    double act_n, act_s;
} group_sum;

/* Group sums with the per-layer operators counted `layers` times and the
 * others (embedding, final norm, LM head) `others` times (1 for a whole
 * pass). */
static void shape_groups(const shape_op *sh, double layers, double others, group_sum *gs)
{
    const shape_op *s;
    double cnt, count, ops_n, ops_s, w_c, mem_n, kvr_l, act_n, act_s;
    int g, j;

    /* Local accumulators, one store per field: no reads of fresh stores. */
    for (g = 0; g < N_GROUPS; g++) {
        count = ops_n = ops_s = w_c = mem_n = kvr_l = act_n = act_s = 0.0;
        for (j = 0; j < 3 && group_ops[g][j] >= 0; j++) {
            s = &sh[group_ops[g][j]];
            if (!s->present)
                continue;
            cnt = s->per_layer ? layers : others;
            if (cnt == 0.0)
                continue;
            count += cnt;
            ops_n += cnt * s->ops_n;
            ops_s += cnt * s->ops_s;
            w_c += cnt * s->w_c;
            mem_n += cnt * (s->w_n + s->kvw_n);
            kvr_l += cnt * s->kvr_l;
            act_n += cnt * s->act_n;
            act_s += cnt * s->act_s;
        }
        gs[g].xclass = sh[group_ops[g][0]].xclass;
        gs[g].count = count;
        gs[g].ops_n = ops_n;
        gs[g].ops_s = ops_s;
        gs[g].w_c = w_c;
        gs[g].mem_n = mem_n;
        gs[g].kvr_l = kvr_l;
        gs[g].act_n = act_n;
        gs[g].act_s = act_s;
    }
}

/* Compile a pass (group sums gs of one model) on device x with overflow
 * parameters ov into k (layout above): compute seconds = ops / rate,
 * memory seconds = bytes / bandwidth of the path.  Every used cell is
 * assigned once (no clearing: this runs on every ahasd_task_costs call);
 * cells the layout does not name are left unset and never read. */
static void coef_compile(const group_sum *gs, const dev_ctx *x, const ovf_t *ov,
                         plat_pass_coef *k)
{
    double (*c)[12] = k->c, *l = k->c[ROW_L], *e = k->c[ROW_E], *o = k->c[ROW_O];
    double r, eo, mn, fixed = x->pass_overhead;
    double ecn = 0.0, ecs = 0.0, em0 = 0.0, emn = 0.0, eml = 0.0, ems = 0.0;
    double lcn = 0.0, lcs = 0.0, lm0 = 0.0, lmn = 0.0, lml = 0.0, lms = 0.0;
    const group_sum *s;
    int g;

    for (g = 0; g < N_GROUPS; g++) {
        s = &gs[g];
        r = op_inv_rate(x, s->xclass);
        eo = op_energy(x, s->xclass);
        ecn += s->ops_n * eo;
        ecs += s->ops_s * eo;
        fixed += s->count * x->op_overhead;
        if (x->ship && s->xclass == XC_NONLINEAR) {
            /* Shipped: everything crosses the link; time = compute +
             * transfer, a linear term; the group's column stays zero. */
            mn = s->mem_n + s->act_n;
            lcn += s->ops_n * r;
            lcs += s->ops_s * r;
            lm0 += s->w_c * x->inv_link;
            lmn += mn * x->inv_link;
            lml += s->kvr_l * x->inv_link;
            lms += s->act_s * x->inv_link;
            em0 += s->w_c * x->e_link;
            emn += mn * x->e_link;
            eml += s->kvr_l * x->e_link;
            ems += s->act_s * x->e_link;
            fixed += s->count * x->roundtrip;
            c[C_CN][g] = c[C_CS][g] = c[C_M0][g] = c[C_MN][g] = c[C_ML][g] = 0.0;
            c[C_AN][g] = c[C_AS][g] = c[C_THR][g] = 0.0;
            continue;
        }
        c[C_CN][g] = s->ops_n * r;
        c[C_CS][g] = s->ops_s * r;
        c[C_M0][g] = s->w_c * x->inv_bw;
        c[C_MN][g] = s->mem_n * x->inv_bw;
        c[C_ML][g] = s->kvr_l * x->inv_bw;
        /* Activations: on chip (energy only) unless they spill. */
        c[C_AN][g] = s->act_n;
        c[C_AS][g] = s->act_s;
        c[C_THR][g] = s->count * x->onchip;
        em0 += s->w_c * x->e_mem;
        emn += s->mem_n * x->e_mem + s->act_n * x->e_onchip;
        eml += s->kvr_l * x->e_mem;
        ems += s->act_s * x->e_onchip;
    }
    k->device = x->dev;
    k->n_groups = N_GROUPS;
    k->fixed_s = fixed;
    l[L_CN] = lcn;
    l[L_CS] = lcs;
    l[L_M0] = lm0;
    l[L_MN] = lmn;
    l[L_ML] = lml;
    l[L_MS] = lms;
    e[E_CN] = ecn;
    e[E_CS] = ecs;
    e[E_M0] = em0;
    e[E_MN] = emn;
    e[E_ML] = eml;
    e[E_MS] = ems;
    e[E_SPILL] = x->e_mem - x->e_onchip;
    e[E_STATIC] = x->static_w;
    e[E_SPT] = x->inv_bw;
    o[O_ON] = ov->on;
    o[O_W] = ov->w_stream;
    o[O_A] = ov->a0;
    o[O_B] = ov->b;
    o[O_K] = ov->k;
    o[O_INV_LINK] = x->inv_link;
    o[O_E_LINK] = x->e_link;
}

/* Overflow bytes a compiled pass streams at context L (ovf_bytes). */
static double coef_stream_bytes(const plat_pass_coef *k, double L)
{
    const double *o = k->c[ROW_O];

    if (o[O_ON] == 0.0)
        return 0.0;
    return o[O_W] + clampd(o[O_A] + o[O_B] * L, 0.0, o[O_K] * L);
}

/* Evaluate a compiled pass over npos positions at context L:
 *   S = npos L + npos (npos + 1) / 2;
 *   per group: t_c = CN n + CS S, t_m = M0 + MN n + ML L, activation
 *   bytes a = AN n + AS S spill (t_m += a / bw) when a > THR, and the
 *   group takes max(t_c, t_m) (memory-bound on ties);
 * plus the shipped operators' linear row, fixed_s and the streamed
 * overflow; energy from the energy row. */
static void coef_eval(const plat_pass_coef *k, double npos, double L, ahasd_cost *c)
{
    const double *cn = k->c[C_CN], *cs = k->c[C_CS], *m0 = k->c[C_M0], *mn = k->c[C_MN];
    const double *ml = k->c[C_ML], *an = k->c[C_AN], *as = k->c[C_AS], *thr = k->c[C_THR];
    const double *l = k->c[ROW_L], *e = k->c[ROW_E], *o = k->c[ROW_O];
    double S = npos * L + 0.5 * npos * (npos + 1.0), spt = e[E_SPT];
    double a, sp, tc, tm, comp, mem, spill, stream = 0.0, t_link;
    double cv[N_GROUPS], mv[N_GROUPS], sv[N_GROUPS];
    int g;

    /* Element-wise over the groups first (vectorisable, branch-free),
     * then the sums in group order. */
    for (g = 0; g < N_GROUPS; g++) {
        a = an[g] * npos + as[g] * S;
        sp = a > thr[g] ? a : 0.0;
        tc = cn[g] * npos + cs[g] * S;
        tm = m0[g] + mn[g] * npos + ml[g] * L + sp * spt;
        cv[g] = tc > tm ? tc : 0.0;
        mv[g] = tc > tm ? 0.0 : tm;
        sv[g] = sp;
    }
    comp = l[L_CN] * npos + l[L_CS] * S;
    mem = l[L_M0] + l[L_MN] * npos + l[L_ML] * L + l[L_MS] * S;
    spill = 0.0;
    for (g = 0; g < N_GROUPS; g++) {
        comp += cv[g];
        mem += mv[g];
        spill += sv[g];
    }
    if (o[O_ON] != 0.0)
        stream = o[O_W] + clampd(o[O_A] + o[O_B] * L, 0.0, o[O_K] * L);
    t_link = stream * o[O_INV_LINK];
    c->device = k->device;
    c->compute_s = comp;
    c->memory_s = mem + t_link;
    c->overhead_s = k->fixed_s;
    c->time_s = comp + mem + t_link + k->fixed_s;
    c->energy_by_cause_j[AHASD_E_COMPUTE] = e[E_CN] * npos + e[E_CS] * S;
    c->energy_by_cause_j[AHASD_E_MEMORY] = e[E_M0] + e[E_MN] * npos + e[E_ML] * L +
                                           e[E_MS] * S + spill * e[E_SPILL] +
                                           stream * o[O_E_LINK];
    /* Spilled bytes move from on-chip to memory energy (E_SPILL = e_mem -
     * e_onchip, negative when memory is the cheaper path); the exact sum is
     * >= 0, but when every activation spills it can round to -1e-21. */
    if (c->energy_by_cause_j[AHASD_E_MEMORY] < 0.0)
        c->energy_by_cause_j[AHASD_E_MEMORY] = 0.0;
    c->energy_by_cause_j[AHASD_E_STATIC_BUSY] = e[E_STATIC] * c->time_s;
    c->energy_by_cause_j[AHASD_E_STATIC_IDLE] = 0.0;
    c->energy_by_cause_j[AHASD_E_TASK] = 0.0;
    c->energy_j = c->energy_by_cause_j[AHASD_E_COMPUTE] + c->energy_by_cause_j[AHASD_E_MEMORY] +
                  c->energy_by_cause_j[AHASD_E_STATIC_BUSY];
}

/* ------------------------------------------------------------------ */
/* Hardware validation                                                  */
/* ------------------------------------------------------------------ */
/* err_check_real with the passing case decided inline (validation runs on
 * every ahasd_task_costs call): chk_pass is the same test (v - v == 0
 * rejects NaN and infinities); only a failure formats a message.  The
 * macro evaluates its arguments more than once: pass plain values. */
static int chk_pass(double v, double lo, double hi, int flags)
{
    return ((flags & CHK_LO_OPEN) ? v > lo : v >= lo) &&
           ((flags & CHK_HI_OPEN) ? v < hi : v <= hi) && v - v == 0.0;
}

#define chk_real(err, px, field, v, lo, hi, flags)                                  \
    (chk_pass((v), (lo), (hi), (flags))                                             \
         ? AHASD_OK                                                                 \
         : err_check_real((err), (px), (field), (v), (lo), (hi), (flags)))

static const char *const dev_names[4] = {"npu", "pim", "gpu", "cpu"};
static const char *const dev_prefix[4] = {"npu.", "pim.", "gpu.", "cpu."};

/* A present device's achievable rate = peak x utilisation must be a
 * positive number whose reciprocal (seconds per op or byte) is finite:
 * 1e-300 ops/s at 1e-10 utilisation underflows to 0, which would make the
 * work free.  Skipped when the peak itself is 0 (an optional path). */
static int hw_check_rate(const char *px, const char *peak_name, double peak,
                         const char *util_name, double util, ahasd_error *err)
{
    double r = peak * util;

    if (peak == 0.0 || (r > 0.0 && 1.0 / r - 1.0 / r == 0.0))
        return AHASD_OK;
    return err_set(err, AHASD_ERR_BAD_PARAM,
                   "%s%s = %.6g is not allowed: %s%s x %s%s = %.6g must be a positive number "
                   "whose reciprocal is finite (the achievable rate underflows)",
                   px, peak_name, peak, px, peak_name, px, util_name, r);
}

/* Check one device.  A present device needs positive rates and bandwidth
 * and utilisations in (0, 1]; an absent one only finite, non-negative
 * values (they are not read).  PIM-only fields must be 0 elsewhere. */
static int hw_check_device(const ahasd_hardware *hw, int d, ahasd_error *err)
{
    const ahasd_device *v = &hw->dev[d];
    const int is_pim = d == AHASD_DEV_PIM;
    int ret = AHASD_OK, on, lo_open, k;
    const char *px = dev_prefix[d];
    static const char *const pim_only[6] = {"units", "has_aau", "aau_ops_per_s",
                                            "aau_energy_per_op_j", "switch_s", "roundtrip_s"};
    double pim_vals[6];

    if ((ret = err_check_int(err, px, "present", v->present, 0, 1)))
        goto out;
    on = v->present;
    lo_open = on ? CHK_LO_OPEN : CHK_CLOSED;
    if ((ret = chk_real(err, px, "matrix_ops_per_s", v->matrix_ops_per_s, 0.0, INFINITY,
                              lo_open)))
        goto out;
    if ((ret = chk_real(err, px, "vector_ops_per_s", v->vector_ops_per_s, 0.0, INFINITY,
                              is_pim ? CHK_CLOSED : lo_open)))
        goto out;
    if ((ret = chk_real(err, px, "compute_util", v->compute_util, 0.0, 1.0, lo_open)))
        goto out;
    if ((ret = chk_real(err, px, "mem_bw_bytes_per_s", v->mem_bw_bytes_per_s, 0.0,
                              INFINITY, lo_open)))
        goto out;
    if ((ret = chk_real(err, px, "mem_bw_util", v->mem_bw_util, 0.0, 1.0, lo_open)))
        goto out;
    if ((ret = chk_real(err, px, "capacity_bytes", v->capacity_bytes, 0.0, INFINITY,
                              CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, px, "link_bw_bytes_per_s", v->link_bw_bytes_per_s, 0.0,
                              INFINITY, CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, px, "link_bw_util", v->link_bw_util, 0.0, 1.0,
                              on && v->link_bw_bytes_per_s > 0.0 ? CHK_LO_OPEN : CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, px, "onchip_bytes", v->onchip_bytes, 0.0, INFINITY,
                              CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, px, "matrix_energy_per_op_j", v->matrix_energy_per_op_j, 0.0,
                              INFINITY, CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, px, "vector_energy_per_op_j", v->vector_energy_per_op_j, 0.0,
                              INFINITY, CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, px, "mem_energy_per_byte_j", v->mem_energy_per_byte_j, 0.0,
                              INFINITY, CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, px, "link_energy_per_byte_j", v->link_energy_per_byte_j, 0.0,
                              INFINITY, CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, px, "onchip_energy_per_byte_j", v->onchip_energy_per_byte_j,
                              0.0, INFINITY, CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, px, "static_w", v->static_w, 0.0, INFINITY, CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, px, "pass_overhead_s", v->pass_overhead_s, 0.0, INFINITY,
                              CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, px, "op_overhead_s", v->op_overhead_s, 0.0, INFINITY,
                              CHK_CLOSED)))
        goto out;
    if (on && ((ret = hw_check_rate(px, "matrix_ops_per_s", v->matrix_ops_per_s,
                                    "compute_util", v->compute_util, err)) ||
               (ret = hw_check_rate(px, "vector_ops_per_s", v->vector_ops_per_s,
                                    "compute_util", v->compute_util, err)) ||
               (ret = hw_check_rate(px, "mem_bw_bytes_per_s", v->mem_bw_bytes_per_s,
                                    "mem_bw_util", v->mem_bw_util, err)) ||
               (ret = hw_check_rate(px, "link_bw_bytes_per_s", v->link_bw_bytes_per_s,
                                    "link_bw_util", v->link_bw_util, err))))
        goto out;
    if (on && v->capacity_bytes > 0.0 && !(v->link_bw_bytes_per_s > 0.0)) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "%slink_bw_bytes_per_s = %.6g is not allowed: must be > 0 when "
                      "%scapacity_bytes = %.6g > 0 (bytes beyond capacity stream over the link)",
                      px, v->link_bw_bytes_per_s, px, v->capacity_bytes);
        goto out;
    }
    if (!is_pim) {
        pim_vals[0] = v->units;
        pim_vals[1] = v->has_aau;
        pim_vals[2] = v->aau_ops_per_s;
        pim_vals[3] = v->aau_energy_per_op_j;
        pim_vals[4] = v->switch_s;
        pim_vals[5] = v->roundtrip_s;
        for (k = 0; k < 6; k++) {
            if (pim_vals[k] != 0.0) {
                ret = err_set(err, AHASD_ERR_BAD_PARAM,
                              "%s%s = %.6g is not allowed: a PIM-only field must be 0 on the %s",
                              px, pim_only[k], pim_vals[k], dev_names[d]);
                goto out;
            }
        }
        goto out;
    }
    if ((ret = chk_real(err, px, "units", v->units, on ? 1.0 : 0.0, 1e9, CHK_CLOSED)))
        goto out;
    if ((ret = err_check_int(err, px, "has_aau", v->has_aau, 0, 1)))
        goto out;
    if ((ret = chk_real(err, px, "aau_ops_per_s", v->aau_ops_per_s, 0.0, INFINITY,
                              on && v->has_aau ? CHK_LO_OPEN : CHK_CLOSED)))
        goto out;
    if (on && v->has_aau && v->aau_ops_per_s > 0.0 && !(1.0 / v->aau_ops_per_s < INFINITY)) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "pim.aau_ops_per_s = %.6g is not allowed: its reciprocal (seconds per "
                      "op) must be finite", v->aau_ops_per_s);
        goto out;
    }
    if ((ret = chk_real(err, px, "aau_energy_per_op_j", v->aau_energy_per_op_j, 0.0,
                              INFINITY, CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, px, "switch_s", v->switch_s, 0.0, INFINITY, CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, px, "roundtrip_s", v->roundtrip_s, 0.0, INFINITY,
                              CHK_CLOSED)))
        goto out;
    if (on && !v->has_aau && !(v->link_bw_bytes_per_s > 0.0)) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "pim.link_bw_bytes_per_s = %.6g is not allowed: must be > 0 when "
                      "pim.has_aau = 0 (nonlinear ops are shipped to the host over the link)",
                      v->link_bw_bytes_per_s);
        goto out;
    }
out:
    return ret;
}

static int hw_check_role(const ahasd_hardware *hw, const char *field, int dev,
                         ahasd_error *err)
{
    int ret;

    if ((ret = err_check_int(err, "hw.", field, dev, 0, 3)))
        goto out;
    if (!hw->dev[dev].present)
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "hw.%s = %d (%s) is not allowed: that device is absent "
                      "(%s.present = 0)", field, dev, dev_names[dev], dev_names[dev]);
out:
    return ret;
}

int ahasd_hardware_validate(const ahasd_hardware *hw, ahasd_error *err)
{
    int ret = AHASD_OK, d;
    const ahasd_device *pim;

    if (hw == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "hardware pointer is NULL");
        goto out;
    }
    for (d = 0; d < 4; d++)
        if ((ret = hw_check_device(hw, d, err)))
            goto out;
    if ((ret = chk_real(err, "hw.", "memory_capacity_bytes", hw->memory_capacity_bytes,
                              0.0, INFINITY, CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, "hw.", "memory_static_w", hw->memory_static_w, 0.0,
                              INFINITY, CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, "hw.", "contention", hw->contention, 0.0, INFINITY,
                              CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, "hw.", "sync_s", hw->sync_s, 0.0, INFINITY, CHK_CLOSED)))
        goto out;
    if ((ret = chk_real(err, "hw.", "rollback_s", hw->rollback_s, 0.0, INFINITY,
                              CHK_CLOSED)))
        goto out;
    if ((ret = hw_check_role(hw, "draft_dev", hw->draft_dev, err)))
        goto out;
    if ((ret = hw_check_role(hw, "verify_dev", hw->verify_dev, err)))
        goto out;
    if ((ret = err_check_int(err, "hw.", "nonlinear_host_dev", hw->nonlinear_host_dev, 0, 3)))
        goto out;
    pim = &hw->dev[AHASD_DEV_PIM];
    if (pim->present && !pim->has_aau) {
        /* The host runs the PIM's nonlinear ops: it must exist and not be
         * the PIM itself. */
        if ((ret = hw_check_role(hw, "nonlinear_host_dev", hw->nonlinear_host_dev, err)))
            goto out;
        if (hw->nonlinear_host_dev == AHASD_DEV_PIM) {
            ret = err_set(err, AHASD_ERR_BAD_PARAM,
                          "hw.nonlinear_host_dev = 1 (pim) is not allowed: a PIM without an "
                          "AAU (pim.has_aau = 0) ships its nonlinear ops to another device");
            goto out;
        }
    }
out:
    return ret;
}

/* ------------------------------------------------------------------ */
/* plat_t                                                               */
/* ------------------------------------------------------------------ */
/* Which models a schedule runs on a device (for placement). */
static int sched_draft_on(int sched, const ahasd_hardware *hw, int dev)
{
    if (sched == AHASD_SCHED_AUTOREGRESSIVE)
        return 0;
    return sched == AHASD_SCHED_SERIAL ? dev == hw->verify_dev : dev == hw->draft_dev;
}

static int sched_target_on(int sched, const ahasd_hardware *hw, int dev)
{
    return dev == hw->verify_dev || (sched == AHASD_SCHED_AHASD && dev == hw->draft_dev);
}

static int plat_init_explicit(plat_t *p, const ahasd_config *cfg, ahasd_error *err)
{
    const ahasd_explicit_costs *ec = &cfg->costs;
    int ret = AHASD_OK, d, t;
    char field[24];
    const struct { const char *name; double v; } f[] = {
        {"draft_token_s", ec->draft_token_s}, {"verify_base_s", ec->verify_base_s},
        {"verify_per_token_s", ec->verify_per_token_s},
        {"preverify_token_s", ec->preverify_token_s}, {"draft_token_j", ec->draft_token_j},
        {"verify_base_j", ec->verify_base_j}, {"verify_per_token_j", ec->verify_per_token_j},
        {"preverify_token_j", ec->preverify_token_j}, {"sync_s", ec->sync_s},
        {"rollback_s", ec->rollback_s}, {"switch_s", ec->switch_s},
    };

    for (t = 0; t < (int)(sizeof f / sizeof f[0]); t++)
        if ((ret = chk_real(err, "costs.", f[t].name, f[t].v, 0.0, INFINITY, CHK_CLOSED)))
            goto out;
    for (d = 0; d < AHASD_N_DEVICES; d++) {
        snprintf(field, sizeof field, "idle_w[%d]", d);
        if ((ret = chk_real(err, "costs.", field, ec->idle_w[d], 0.0, INFINITY,
                                  CHK_CLOSED)))
            goto out;
    }
    /* Some task must take time, or the throughput is unbounded: the
     * autoregressive step (verify_base_s), or a round (k >= 1 drafts and
     * their verification). */
    if (cfg->schedule == AHASD_SCHED_AUTOREGRESSIVE && !(ec->verify_base_s > 0.0)) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "costs.verify_base_s = %.6g is not allowed: an autoregressive step (a "
                      "verification of 0 drafts) must take some time (> 0), or the throughput "
                      "is unbounded", ec->verify_base_s);
        goto out;
    }
    if (!(ec->draft_token_s + ec->verify_base_s + ec->verify_per_token_s > 0.0)) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "costs.draft_token_s, costs.verify_base_s and costs.verify_per_token_s "
                      "are all 0 s: a round must take some time, or the throughput is "
                      "unbounded; give one of them a positive latency");
        goto out;
    }
    if ((ret = err_check_int(err, "hw.", "draft_dev", cfg->hw.draft_dev, 0, 3)))
        goto out;
    if ((ret = err_check_int(err, "hw.", "verify_dev", cfg->hw.verify_dev, 0, 3)))
        goto out;
    p->explicit_costs = 1;
    p->ec = *ec;
    p->draft_dev = cfg->hw.draft_dev;
    p->verify_dev = cfg->hw.verify_dev;
    for (d = 0; d < AHASD_N_DEVICES; d++) {
        p->idle_w[d] = ec->idle_w[d];
        p->busy_static_w[d] = 0.0;     /* task energies are whole */
        p->present[d] = d == p->draft_dev || d == p->verify_dev || ec->idle_w[d] > 0.0;
    }
    p->sync_s = ec->sync_s;
    p->rollback_s = ec->rollback_s;
    p->switch_s = ec->switch_s;
    p->contention = 0.0;               /* no memory time to stretch */
    p->fits_in_memory = 1;
    memset(p->coef, 0, sizeof p->coef);
    p->coef[PLAT_DRAFT].device = p->draft_dev;
    p->coef[PLAT_VERIFY].device = p->verify_dev;
    p->coef[PLAT_PREVERIFY].device = p->draft_dev;
    p->coef[PLAT_SERIAL_DRAFT].device = p->verify_dev;
out:
    return ret;
}

static int plat_init_model(plat_t *p, const ahasd_config *cfg, ahasd_error *err)
{
    const ahasd_hardware *hw = &cfg->hw;
    int ret = AHASD_OK, d, t, m, g, sched = cfg->schedule, has_draft;
    double w[2] = {0.0, 0.0}, kv[2] = {0.0, 0.0}, pw[2] = {0.0, 0.0}, ctx_end, need;
    shape_op sh[SHAPE_N_OPS];
    group_sum gs[2][N_GROUPS];
    const ahasd_model *mod;
    dev_ctx x[4];
    ovf_t ov;
    static const int task_model[PLAT_N_TASKS] = {0, 1, 1, 0};
    int task_dev[PLAT_N_TASKS], used[PLAT_N_TASKS];

    if ((ret = ahasd_hardware_validate(hw, err)))
        goto out;
    if ((ret = ahasd_model_validate(&cfg->target, "target.", err)))
        goto out;
    /* The autoregressive schedule never reads the draft model: it is then
     * optional (costed if valid, zero if not) and never placed. */
    has_draft = 1;
    if (sched == AHASD_SCHED_AUTOREGRESSIVE)
        has_draft = ahasd_model_validate(&cfg->draft, "draft.", NULL) == AHASD_OK;
    else if ((ret = ahasd_model_validate(&cfg->draft, "draft.", err)))
        goto out;
    p->explicit_costs = 0;
    p->hw = *hw;
    p->target = cfg->target;
    if (has_draft)
        p->draft = cfg->draft;
    p->draft_dev = hw->draft_dev;
    p->verify_dev = hw->verify_dev;
    for (d = 0; d < 4; d++) {
        p->present[d] = hw->dev[d].present;
        p->idle_w[d] = hw->dev[d].present ? hw->dev[d].static_w : 0.0;
        p->busy_static_w[d] = p->idle_w[d];
    }
    p->present[AHASD_DEV_MEM] = hw->memory_static_w > 0.0;
    p->idle_w[AHASD_DEV_MEM] = hw->memory_static_w;
    p->busy_static_w[AHASD_DEV_MEM] = 0.0;
    p->sync_s = hw->sync_s;
    p->rollback_s = hw->rollback_s;
    p->switch_s = hw->dev[AHASD_DEV_PIM].present ? hw->dev[AHASD_DEV_PIM].switch_s : 0.0;
    p->contention = hw->contention;

    for (m = has_draft ? 0 : 1; m < 2; m++) {
        mod = m ? &p->target : &p->draft;
        shape_build(mod, sh);
        shape_groups(sh, (double)mod->layers, 1.0, gs[m]);
        for (g = 0; g < N_GROUPS; g++)
            pw[m] += gs[m][g].w_c;
        w[m] = pw[m] + (mod->tied_embeddings ? 0.0
                        : (double)mod->vocab * mod->hidden * mod->weight_bytes);
        kv[m] = shape_kv_per_token(mod);
    }
    p->draft_weight_bytes = w[0];
    p->target_weight_bytes = w[1];

    /* Platform memory: both models and both KV caches at the end of the
     * generation (0: not checked). */
    ctx_end = (double)cfg->prompt_len + (double)cfg->gen_len;
    need = (sched == AHASD_SCHED_AUTOREGRESSIVE ? 0.0 : w[0] + kv[0] * ctx_end) + w[1] +
           kv[1] * ctx_end;
    p->fits_in_memory = !(hw->memory_capacity_bytes > 0.0) || need <= hw->memory_capacity_bytes;

    task_dev[PLAT_DRAFT] = hw->draft_dev;
    task_dev[PLAT_VERIFY] = hw->verify_dev;
    task_dev[PLAT_PREVERIFY] = hw->draft_dev;
    task_dev[PLAT_SERIAL_DRAFT] = hw->verify_dev;
    used[PLAT_VERIFY] = 1;
    used[PLAT_SERIAL_DRAFT] = sched == AHASD_SCHED_SERIAL;
    used[PLAT_DRAFT] = sched != AHASD_SCHED_AUTOREGRESSIVE && sched != AHASD_SCHED_SERIAL;
    used[PLAT_PREVERIFY] = sched == AHASD_SCHED_AHASD;
    dev_ctx_make(hw, hw->draft_dev, &x[hw->draft_dev]);
    if (hw->verify_dev != hw->draft_dev)
        dev_ctx_make(hw, hw->verify_dev, &x[hw->verify_dev]);
    p->overflow_streamed = 0;
    for (t = 0; t < PLAT_N_TASKS; t++) {
        d = task_dev[t];
        m = task_model[t];
        if (m == 0 && !has_draft) {
            memset(&p->coef[t], 0, sizeof p->coef[t]);
            p->coef[t].device = d;
            continue;
        }
        if (t == PLAT_SERIAL_DRAFT && hw->verify_dev == hw->draft_dev) {
            p->coef[t] = p->coef[PLAT_DRAFT];   /* the same pass */
        } else {
            ovf_make(hw->dev[d].capacity_bytes,
                     (has_draft && sched_draft_on(sched, hw, d)) || m == 0,
                     sched_target_on(sched, hw, d) || m == 1, m, w, kv, pw[m], &ov);
            coef_compile(gs[m], &x[d], &ov, &p->coef[t]);
        }
        if (used[t] && coef_stream_bytes(&p->coef[t], ctx_end) > 0.0)
            p->overflow_streamed = 1;
    }
out:
    return ret;
}

/* Largest latency (s) or energy (J) of one task the model accepts.  Every
 * cost is a sum of non-negative terms growing with the positions and the
 * context, so a task that stays below this at the largest positions and
 * context of a run stays below it everywhere, and sums over a whole run
 * (at most 2^24 tokens, a few passes each) stay finite with a margin of
 * 10^50. */
#define PLAT_COST_MAX 1e250

/* Check one cost; on failure name the task, the device, the values and the
 * inputs that drive it. */
static int plat_check_cost(const plat_t *p, int task, int n, double ctx, const ahasd_cost *c,
                           ahasd_error *err)
{
    int d = c->device;
    char what[64];
    const ahasd_device *v;

    if (c->time_s - c->time_s == 0.0 && c->energy_j - c->energy_j == 0.0 &&
        c->time_s <= PLAT_COST_MAX && c->energy_j <= PLAT_COST_MAX)
        return AHASD_OK;
    if (task == PLAT_VERIFY)
        snprintf(what, sizeof what, "verification of %d drafts", n);
    else if (task == PLAT_PREVERIFY)
        snprintf(what, sizeof what, "pre-verification of %d tokens", n);
    else
        snprintf(what, sizeof what, "%sdraft token", task == PLAT_SERIAL_DRAFT ? "serial " : "");
    if (p->explicit_costs || d < 0 || d > 3)
        return err_set(err, AHASD_ERR_BAD_PARAM,
                       "the explicit task costs give a %s a latency of %.6g s and an energy "
                       "of %.6g J: both must be finite and at most %.6g (costs.* too large)",
                       what, c->time_s, c->energy_j, PLAT_COST_MAX);
    v = &p->hw.dev[d];
    return err_set(err, AHASD_ERR_BAD_PARAM,
                   "the cost model gives a %s at context %.6g on the %s a latency of %.6g s "
                   "and an energy of %.6g J: both must be finite and at most %.6g; check "
                   "%s.matrix_ops_per_s = %.6g, %s.vector_ops_per_s = %.6g, "
                   "%s.mem_bw_bytes_per_s = %.6g and the energies per op and byte",
                   what, ctx, dev_names[d], c->time_s, c->energy_j, PLAT_COST_MAX,
                   dev_names[d], v->matrix_ops_per_s, dev_names[d], v->vector_ops_per_s,
                   dev_names[d], v->mem_bw_bytes_per_s);
}

/* The tasks a schedule runs stay finite over the whole run: checked at the
 * largest batch (AHASD_MAX_K drafts, or tokens pre-verified) and the
 * largest context a run can reach (prompt, generation and a full
 * look-ahead queue).  The partitioned schedule runs shares of both models
 * on both devices, bounded by the four whole passes. */
static int plat_check_run(const plat_t *p, const ahasd_config *cfg, ahasd_error *err)
{
    int ret = AHASD_OK, t, s = cfg->schedule, used[PLAT_N_TASKS];
    static const int n_hi[PLAT_N_TASKS] = {0, AHASD_MAX_K, AHASD_MAX_K, 0};
    double ctx = (double)cfg->prompt_len + (double)cfg->gen_len +
                 (double)(AHASD_MAX_LMAX + 1) * (AHASD_MAX_K + 1);
    ahasd_cost c;

    used[PLAT_VERIFY] = 1;
    used[PLAT_DRAFT] = s != AHASD_SCHED_AUTOREGRESSIVE && s != AHASD_SCHED_SERIAL;
    used[PLAT_PREVERIFY] = s == AHASD_SCHED_AHASD || s == AHASD_SCHED_PARTITIONED;
    used[PLAT_SERIAL_DRAFT] = s == AHASD_SCHED_SERIAL || s == AHASD_SCHED_PARTITIONED;
    for (t = 0; t < PLAT_N_TASKS; t++) {
        if (!used[t])
            continue;
        plat_cost(p, t, n_hi[t], ctx, &c);
        if ((ret = plat_check_cost(p, t, n_hi[t], ctx, &c, err)))
            goto out;
    }
    /* Bare intervals accumulate over every round too. */
    if (!(p->sync_s + p->rollback_s + p->switch_s <= PLAT_COST_MAX))
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "sync_s + rollback_s + switch_s = %.6g s is not allowed: must be at most "
                      "%.6g", p->sync_s + p->rollback_s + p->switch_s, PLAT_COST_MAX);
out:
    return ret;
}

int plat_init(plat_t *p, const ahasd_config *cfg, ahasd_error *err)
{
    int ret = AHASD_OK;

    if (p == NULL || cfg == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "plat_init: platform and config must not be NULL");
        goto out;
    }
    /* The compiled rows are written by the initialisers below. */
    memset(p, 0, offsetof(plat_t, coef));
    if ((ret = err_check_int(err, "", "use_explicit_costs", cfg->use_explicit_costs, 0, 1)))
        goto out;
    if ((ret = err_check_int(err, "", "schedule", cfg->schedule, 0, AHASD_N_SCHEDULES - 1)))
        goto out;
    if ((ret = err_check_int(err, "", "prompt_len", cfg->prompt_len, 0, 1L << 24)))
        goto out;
    if ((ret = err_check_int(err, "", "gen_len", cfg->gen_len, 1, 1L << 24)))
        goto out;
    if (cfg->use_explicit_costs)
        ret = plat_init_explicit(p, cfg, err);
    else
        ret = plat_init_model(p, cfg, err);
    if (ret == AHASD_OK)
        ret = plat_check_run(p, cfg, err);
out:
    return ret;
}

/* Explicit costs: DRAFT and SERIAL_DRAFT = draft_token; VERIFY n =
 * base + n per_token; PREVERIFY n = n preverify_token; energy whole
 * (AHASD_E_TASK), time reported as compute_s. */
static void plat_cost_explicit(const plat_t *p, int task, int n, ahasd_cost *c)
{
    const ahasd_explicit_costs *ec = &p->ec;
    double t = 0.0, e = 0.0;

    cost_zero(c, p->coef[task].device);
    switch (task) {
    case PLAT_DRAFT:
    case PLAT_SERIAL_DRAFT:
        t = ec->draft_token_s;
        e = ec->draft_token_j;
        break;
    case PLAT_VERIFY:
        t = ec->verify_base_s + n * ec->verify_per_token_s;
        e = ec->verify_base_j + n * ec->verify_per_token_j;
        break;
    default:
        t = n * ec->preverify_token_s;
        e = n * ec->preverify_token_j;
        break;
    }
    c->time_s = t;
    c->compute_s = t;
    c->energy_by_cause_j[AHASD_E_TASK] = e;
    c->energy_j = e;
}

void plat_cost(const plat_t *p, int task, int n, double ctx, ahasd_cost *c)
{
    double npos;

    if (task < 0 || task >= PLAT_N_TASKS) {
        cost_zero(c, -1);
        goto out;
    }
    if (n < 0)
        n = 0;
    if (p->explicit_costs) {
        plat_cost_explicit(p, task, n, c);
        goto out;
    }
    npos = task == PLAT_VERIFY ? n + 1.0 : task == PLAT_PREVERIFY ? (double)n : 1.0;
    if (npos <= 0.0 || p->coef[task].n_groups == 0) {
        cost_zero(c, p->coef[task].device);
        goto out;
    }
    coef_eval(&p->coef[task], npos, ctx > 0.0 ? ctx : 0.0, c);
out:
    return;
}

/* Partial pass for the partitioned schedule: n_layers (a linear share) of
 * the per-layer operators, plus the final norm, LM head and embedding when
 * with_head, on `device`, with the device's pass overhead once.  Capacity
 * overflow is not modelled for shares (the partitioned schedule spreads
 * each model over two devices). */
void plat_part_compile(const plat_t *p, int which, int device, double n_layers, int with_head,
                       plat_pass_coef *k)
{
    const ahasd_model *m = which ? &p->target : &p->draft;
    shape_op sh[SHAPE_N_OPS];
    group_sum gs[N_GROUPS];
    dev_ctx x;
    ovf_t none;

    memset(k, 0, sizeof *k);    /* n_groups = 0: the share costs nothing */
    k->device = device;
    if (p->explicit_costs || device < 0 || device > 3 || !p->hw.dev[device].present ||
        m->layers <= 0 || !(n_layers > 0.0 || with_head))
        goto out;
    if (!(n_layers > 0.0))
        n_layers = 0.0;
    shape_build(m, sh);
    /* per-layer operators n_layers times, the others (embedding, final
     * norm, LM head) once with the head, else not at all */
    shape_groups(sh, n_layers, with_head ? 1.0 : 0.0, gs);
    dev_ctx_make(&p->hw, device, &x);
    memset(&none, 0, sizeof none);
    coef_compile(gs, &x, &none, k);
out:
    return;
}

void plat_part_cost(const plat_pass_coef *k, int n_pos, double ctx, ahasd_cost *c)
{
    if (k->n_groups == 0 || n_pos <= 0) {
        cost_zero(c, k->device);
        return;
    }
    coef_eval(k, (double)n_pos, ctx > 0.0 ? ctx : 0.0, c);
}

void plat_pass_part(const plat_t *p, int which, int device, int n_pos, double ctx,
                    double n_layers, int with_head, ahasd_cost *c)
{
    plat_pass_coef k;

    plat_part_compile(p, which, device, n_layers, with_head, &k);
    plat_part_cost(&k, n_pos, ctx, c);
}

double plat_kv_bytes(const plat_t *p, int which, double ctx)
{
    if (p->explicit_costs || !(ctx > 0.0))
        return 0.0;
    return shape_kv_per_token(which ? &p->target : &p->draft) * ctx;
}

/* ------------------------------------------------------------------ */
/* Public tables                                                        */
/* ------------------------------------------------------------------ */
#define CTX_MAX 1e9   /* largest context accepted by the public tables */

int ahasd_task_costs(const ahasd_config *cfg, double context, ahasd_task_table *out,
                     ahasd_error *err)
{
    int ret = AHASD_OK, k;
    plat_t p;

    if (cfg == NULL || out == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "ahasd_task_costs: config and table must not be NULL");
        goto out;
    }
    if ((ret = chk_real(err, "", "context", context, 0.0, CTX_MAX, CHK_CLOSED)))
        goto out;
    if ((ret = err_check_int(err, "policy.", "k_max", cfg->policy.k_max, 1, AHASD_MAX_K)))
        goto out;
    if ((ret = err_check_int(err, "", "m_max", cfg->m_max, 1, AHASD_MAX_K)))
        goto out;
    if ((ret = plat_init(&p, cfg, err)))
        goto out;
    out->context = context;
    out->k_max = cfg->policy.k_max;
    out->m_max = cfg->m_max;
    plat_cost(&p, PLAT_DRAFT, 0, context, &out->draft_token);
    for (k = 0; k <= out->k_max; k++)
        plat_cost(&p, PLAT_VERIFY, k, context, &out->verify[k]);
    for (k = 0; k <= out->m_max; k++)
        plat_cost(&p, PLAT_PREVERIFY, k, context, &out->preverify[k]);
    out->ar_step = out->verify[0];
    plat_cost(&p, PLAT_SERIAL_DRAFT, 0, context, &out->serial_draft_token);
    /* Every entry finite (the run check above covers the run's contexts;
     * the table may be asked for a larger one). */
    if ((ret = plat_check_cost(&p, PLAT_DRAFT, 1, context, &out->draft_token, err)) ||
        (ret = plat_check_cost(&p, PLAT_VERIFY, out->k_max, context, &out->verify[out->k_max],
                               err)) ||
        (ret = plat_check_cost(&p, PLAT_PREVERIFY, out->m_max, context,
                               &out->preverify[out->m_max], err)) ||
        (ret = plat_check_cost(&p, PLAT_SERIAL_DRAFT, 1, context, &out->serial_draft_token,
                               err)))
        goto out;
    out->sync_s = p.sync_s;
    out->rollback_s = p.rollback_s;
    out->switch_s = p.switch_s;
    out->fits_in_memory = p.fits_in_memory;
    out->draft_weight_bytes = p.draft_weight_bytes;
    out->target_weight_bytes = p.target_weight_bytes;
    out->kv_bytes_at_context = plat_kv_bytes(&p, 0, context) + plat_kv_bytes(&p, 1, context);
out:
    /* Entries not filled are zero (all of them on error). */
    if (out != NULL && ret != AHASD_OK) {
        memset(out, 0, sizeof *out);
    } else if (out != NULL) {
        k = out->k_max + 1;
        memset(&out->verify[k], 0, (AHASD_MAX_K + 1 - k) * sizeof out->verify[0]);
        k = out->m_max + 1;
        memset(&out->preverify[k], 0, (AHASD_MAX_K + 1 - k) * sizeof out->preverify[0]);
    }
    return ret;
}

static void op_row(ahasd_op *r, const shape_op *s, double count, const op_cost_t *o,
                   double static_w)
{
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", s->name);
    r->kind = s->kind;
    r->count = (int)count;
    r->ops = o->ops;
    r->weight_bytes = o->wb;
    r->kv_read_bytes = o->kvr;
    r->kv_write_bytes = o->kvw;
    r->act_bytes = o->act;
    r->path_bytes = o->path;
    r->nonlinear_elems = o->nl;
    r->compute_s = o->compute_s;
    r->memory_s = o->memory_s;
    r->time_s = o->time_s;
    r->energy_j = o->e_compute + o->e_memory + static_w * o->time_s;
    r->memory_bound = o->memory_bound;
}

/* A row's latency and energy must be finite (and at most PLAT_COST_MAX), or
 * the device's rates are too small for this model: say which. */
static int pass_ops_check(const ahasd_op *r, const ahasd_hardware *hw, int d,
                          ahasd_error *err)
{
    const ahasd_device *v = &hw->dev[d];

    if (r->time_s - r->time_s == 0.0 && r->energy_j - r->energy_j == 0.0 &&
        r->time_s <= PLAT_COST_MAX && r->energy_j <= PLAT_COST_MAX)
        return AHASD_OK;
    return err_set(err, AHASD_ERR_BAD_PARAM,
                   "operator %s on the %s takes %.6g s and %.6g J: both must be finite and at "
                   "most %.6g; check %s.matrix_ops_per_s = %.6g, %s.vector_ops_per_s = %.6g, "
                   "%s.mem_bw_bytes_per_s = %.6g and the energies per op and byte", r->name,
                   dev_names[d], r->time_s, r->energy_j, PLAT_COST_MAX, dev_names[d],
                   v->matrix_ops_per_s, dev_names[d], v->vector_ops_per_s, dev_names[d],
                   v->mem_bw_bytes_per_s);
}

/* Rows: the operators of the model in execution order (14 for a plain FFN,
 * 15 for a gated one), then one row "pass" holding the pass overhead and
 * any capacity overflow streamed over the link (its weight_bytes and
 * kv_read_bytes are the streamed bytes, memory_s their link time).  The
 * model alone is placed on the device (weights, then its KV cache).  Rows
 * sum to the pass's time and energy (each row's energy includes static
 * power over its time).  cap == 0 asks for the count only (ops may be
 * NULL); 0 < cap < count writes cap rows and returns AHASD_ERR_BUFFER; in
 * every case *n_ops is the count. */
int ahasd_pass_ops(const ahasd_hardware *hw, const ahasd_model *m, int device,
                   int n_positions, double context, ahasd_op *ops, size_t cap,
                   size_t *n_ops, ahasd_error *err)
{
    int ret = AHASD_OK, i;
    size_t need = 0, row = 0;
    shape_op sh[SHAPE_N_OPS];
    dev_ctx x;
    op_cost_t o;
    ovf_t ov;
    double S, cnt, w[2], kv[2], pw, streamed, wst, t_link;
    ahasd_op *r;

    if (hw == NULL || m == NULL || n_ops == NULL || (ops == NULL && cap > 0)) {
        ret = err_set(err, AHASD_ERR_NULL, "ahasd_pass_ops: hardware, model and n_ops must not "
                                           "be NULL, nor ops when cap > 0");
        goto out;
    }
    *n_ops = 0;
    if ((ret = ahasd_hardware_validate(hw, err)))
        goto out;
    if ((ret = ahasd_model_validate(m, "model.", err)))
        goto out;
    if ((ret = err_check_int(err, "", "device", device, 0, 3)))
        goto out;
    if (!hw->dev[device].present) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM, "device = %d (%s) is not allowed: that device "
                      "is absent (%s.present = 0)", device, dev_names[device], dev_names[device]);
        goto out;
    }
    if ((ret = err_check_int(err, "", "n_positions", n_positions, 1, 1L << 20)))
        goto out;
    if ((ret = chk_real(err, "", "context", context, 0.0, CTX_MAX, CHK_CLOSED)))
        goto out;
    shape_build(m, sh);
    for (i = 0; i < SHAPE_N_OPS; i++)
        need += sh[i].present ? 1 : 0;
    need += 1;   /* the "pass" row */
    *n_ops = need;
    if (cap == 0)
        goto out;
    dev_ctx_make(hw, device, &x);
    S = n_positions * context + 0.5 * n_positions * (n_positions + 1.0);
    for (i = 0; i < SHAPE_N_OPS && row < cap; i++) {
        if (!sh[i].present)
            continue;
        cnt = sh[i].per_layer ? (double)m->layers : 1.0;
        op_cost(&x, &sh[i], cnt, n_positions, context, S, &o);
        op_row(&ops[row], &sh[i], cnt, &o, x.static_w);
        if ((ret = pass_ops_check(&ops[row], hw, device, err)))
            goto out;
        row++;
    }
    if (row < cap) {
        w[0] = 0.0;
        kv[0] = 0.0;
        shape_weights(m, sh, &w[1], &pw);
        kv[1] = shape_kv_per_token(m);
        ovf_make(hw->dev[device].capacity_bytes, 0, 1, 1, w, kv, pw, &ov);
        streamed = ovf_bytes(&ov, context);
        wst = ov.on ? ov.w_stream : 0.0;
        t_link = streamed * x.inv_link;
        r = &ops[row++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "pass");
        r->kind = AHASD_OP_MEMORY;
        r->count = 1;
        r->weight_bytes = wst;
        r->kv_read_bytes = streamed - wst;
        r->memory_s = t_link;
        r->time_s = t_link + x.pass_overhead;
        r->energy_j = streamed * x.e_link + x.static_w * r->time_s;
        r->memory_bound = 1;
        if ((ret = pass_ops_check(r, hw, device, err)))
            goto out;
    }
    if (cap < need)
        ret = err_set(err, AHASD_ERR_BUFFER, "ahasd_pass_ops: cap = %zu rows is too small: the "
                      "pass has %zu rows (%zu written)", cap, need, row);
out:
    return ret;
}
