/*
 * model.c -- layer 1 of MODEL.md: a decoder-only LLM, its validation and its
 * size.  The operators of a forward pass live in costs.c, beside the device
 * cost model that consumes them.
 *
 * Parameter count of a model with L layers, width d, H query heads and G
 * key/value heads of width h (h = d / H unless head_dim is set), FFN width f,
 * vocabulary V:
 *
 *   per layer   attention  d (H h + 2 G h) + (H h) d      (Q, K, V, O)
 *               FFN        g d f + f d,  g = 1 plain, 2 gated (gate + up)
 *               norms      2 w_n,  w_n = d (RMSNorm gain) or 2 d (LayerNorm
 *                          gain and bias)
 *   once        final norm w_n, embedding V d, LM head V d unless tied.
 *
 * Linear-layer biases (OPT, Qwen2's QKV) and learned position embeddings
 * (OPT) are not counted: the struct has no field for them and they are at
 * most 0.35% of the parameters of a preset (OPT-1.3B: 4.6e6 of 1.316e9).
 * For LLaMA2-13B this gives 13,015,864,320 and for LLaMA2-7B 6,738,415,616,
 * the published counts.
 */
#include <string.h>

#include "internal.h"

/* Largest shape values accepted: far above any published model, small
 * enough that every product of two of them is exact in a double. */
#define MODEL_MAX_LAYERS 100000L
#define MODEL_MAX_WIDTH (1L << 20)     /* hidden, head_dim                    */
#define MODEL_MAX_HEADS 65536L
#define MODEL_MAX_FFN (1L << 24)
#define MODEL_MAX_VOCAB (1L << 24)
#define MODEL_MAX_ELEM_BYTES 64.0      /* bytes per element (FP64 = 8)        */

/* err_check_int with the passing case decided inline: validation runs on
 * every task-cost evaluation; only a failure formats a message. */
#define chk_int(err, px, field, v, lo, hi)                                          \
    ((v) >= (lo) && (v) <= (hi) ? AHASD_OK : err_check_int((err), (px), (field), (v), (lo), (hi)))

/* Per-head width: head_dim, or hidden / heads when head_dim is 0. */
static double model_head_dim(const ahasd_model *m)
{
    return m->head_dim > 0 ? (double)m->head_dim : (double)m->hidden / (double)m->heads;
}

/* Validate every field; the first violation is reported as
 * `prefix``field` = value with the allowed range. */
int ahasd_model_validate(const ahasd_model *m, const char *prefix, ahasd_error *err)
{
    int ret = AHASD_OK;
    const char *px = prefix != NULL ? prefix : "";

    if (m == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "%smodel pointer is NULL", px);
        goto out;
    }
    if ((ret = chk_int(err, px, "layers", m->layers, 1, MODEL_MAX_LAYERS)))
        goto out;
    if ((ret = chk_int(err, px, "hidden", m->hidden, 1, MODEL_MAX_WIDTH)))
        goto out;
    if ((ret = chk_int(err, px, "heads", m->heads, 1, MODEL_MAX_HEADS)))
        goto out;
    if ((ret = chk_int(err, px, "kv_heads", m->kv_heads, 1, m->heads)))
        goto out;
    if (m->heads % m->kv_heads != 0) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "%skv_heads = %d is not allowed: must divide %sheads = %d "
                      "(each key/value head serves a whole group of query heads)",
                      px, m->kv_heads, px, m->heads);
        goto out;
    }
    if ((ret = chk_int(err, px, "head_dim", m->head_dim, 0, MODEL_MAX_WIDTH)))
        goto out;
    if (m->head_dim == 0 && m->hidden % m->heads != 0) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "%sheads = %d is not allowed: must divide %shidden = %d when "
                      "%shead_dim = 0 (or set head_dim)", px, m->heads, px, m->hidden, px);
        goto out;
    }
    if ((ret = chk_int(err, px, "ffn", m->ffn, 1, MODEL_MAX_FFN)))
        goto out;
    if ((ret = chk_int(err, px, "ffn_kind", m->ffn_kind, AHASD_FFN_PLAIN,
                             AHASD_FFN_GATED)))
        goto out;
    if ((ret = chk_int(err, px, "act_kind", m->act_kind, AHASD_ACT_RELU,
                             AHASD_ACT_SILU)))
        goto out;
    if ((ret = chk_int(err, px, "norm_kind", m->norm_kind, AHASD_NORM_LAYERNORM,
                             AHASD_NORM_RMSNORM)))
        goto out;
    if ((ret = chk_int(err, px, "vocab", m->vocab, 1, MODEL_MAX_VOCAB)))
        goto out;
    if ((ret = chk_int(err, px, "tied_embeddings", m->tied_embeddings, 0, 1)))
        goto out;
    if ((ret = err_check_real(err, px, "weight_bytes", m->weight_bytes, 0.0,
                              MODEL_MAX_ELEM_BYTES, CHK_LO_OPEN)))
        goto out;
    if ((ret = err_check_real(err, px, "kv_bytes", m->kv_bytes, 0.0, MODEL_MAX_ELEM_BYTES,
                              CHK_LO_OPEN)))
        goto out;
    if ((ret = err_check_real(err, px, "act_bytes", m->act_bytes, 0.0, MODEL_MAX_ELEM_BYTES,
                              CHK_LO_OPEN)))
        goto out;
out:
    return ret;
}

/* Parameter count (formula at the top of this file) and weight bytes =
 * parameters x weight_bytes.  Either output pointer may be NULL. */
int ahasd_model_size(const ahasd_model *m, double *params, double *weight_bytes,
                     ahasd_error *err)
{
    int ret = AHASD_OK;
    double d, hd, qd, kvd, f, v, nw, g, layer, total;

    if ((ret = ahasd_model_validate(m, "", err)))
        goto out;
    d = m->hidden;
    hd = model_head_dim(m);
    qd = m->heads * hd;
    kvd = m->kv_heads * hd;
    f = m->ffn;
    v = m->vocab;
    nw = m->norm_kind == AHASD_NORM_LAYERNORM ? 2.0 * d : d;
    g = m->ffn_kind == AHASD_FFN_GATED ? 2.0 : 1.0;
    layer = d * (qd + 2.0 * kvd) + qd * d + g * d * f + f * d + 2.0 * nw;
    total = m->layers * layer + nw + v * d + (m->tied_embeddings ? 0.0 : v * d);
    if (params != NULL)
        *params = total;
    if (weight_bytes != NULL)
        *weight_bytes = total * m->weight_bytes;
out:
    return ret;
}
