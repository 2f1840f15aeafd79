/*
 * test_model.c -- layer 1: model validation and parameter counts.
 */
#include <math.h>
#include <string.h>

#include "ahasd.h"
#include "check.h"
#include "fixture.h"

static void test_counts(void)
{
    ahasd_model m = fixture_model_llama2_13b();
    ahasd_error err;
    double params = 0.0, wbytes = 0.0;

    /* LLaMA2-13B: 40 (4 d^2 + 3 d f + 2 d) + d + 2 V d, the published count. */
    CHECK(ahasd_model_size(&m, &params, &wbytes, &err) == AHASD_OK);
    CHECK_CLOSE(params, 13015864320.0, 0.0, 0.5);
    CHECK_CLOSE(wbytes, 13015864320.0, 0.0, 0.5);
    CHECK_CLOSE(params, 13.0e9, 0.002, 0.0);

    /* LLaMA2-7B: 6,738,415,616. */
    m = fixture_model_llama2_7b();
    CHECK(ahasd_model_size(&m, &params, NULL, &err) == AHASD_OK);
    CHECK_CLOSE(params, 6738415616.0, 0.0, 0.5);
    CHECK_CLOSE(params, 6.74e9, 0.001, 0.0);

    /* INT4 weights halve the bytes, not the parameters. */
    m.weight_bytes = 0.5;
    CHECK(ahasd_model_size(&m, &params, &wbytes, &err) == AHASD_OK);
    CHECK_CLOSE(wbytes, 0.5 * 6738415616.0, 0.0, 0.5);

    /* Qwen2.5-0.5B (GQA 14/2, tied): 494,005,120 without the QKV biases
     * (27,648), i.e. the published 494,032,768 less those. */
    m.layers = 24;
    m.hidden = 896;
    m.heads = 14;
    m.kv_heads = 2;
    m.ffn = 4864;
    m.vocab = 151936;
    m.tied_embeddings = 1;
    m.weight_bytes = 1.0;
    CHECK(ahasd_model_size(&m, &params, NULL, &err) == AHASD_OK);
    CHECK_CLOSE(params, 494005120.0, 0.0, 0.5);

    /* OPT-1.3B (LayerNorm, plain ReLU FFN, tied): 1,311,117,312; the
     * published 1,315,758,080 adds biases and learned positions (0.35%). */
    m = fixture_model_opt_1_3b();
    CHECK(ahasd_model_size(&m, &params, NULL, &err) == AHASD_OK);
    CHECK_CLOSE(params, 1311117312.0, 0.0, 0.5);
    CHECK_CLOSE(params, 1315758080.0, 0.005, 0.0);

    /* head_dim set: PaLM-8B style multi-query attention, 16 heads of 256. */
    m = fixture_model_llama2_13b();
    m.hidden = 4096;
    m.heads = 16;
    m.kv_heads = 1;
    m.head_dim = 256;
    CHECK(ahasd_model_validate(&m, "", &err) == AHASD_OK);
    /* head_dim lets heads not divide hidden. */
    m.heads = 24;
    m.kv_heads = 3;
    m.head_dim = 128;
    CHECK(ahasd_model_validate(&m, "", &err) == AHASD_OK);
}

static void test_validate(void)
{
    ahasd_model m, good = fixture_model_llama2_13b();
    ahasd_error err;

    CHECK(ahasd_model_validate(&good, "target.", &err) == AHASD_OK);
    CHECK(ahasd_model_validate(&good, NULL, &err) == AHASD_OK);
    CHECK_ERR(ahasd_model_validate(NULL, "draft.", &err), AHASD_ERR_NULL, "draft.");
    CHECK_ERR(ahasd_model_size(NULL, NULL, NULL, &err), AHASD_ERR_NULL, "model");

#define BAD(stmt, field)                                                          \
    do {                                                                          \
        m = good;                                                                 \
        stmt;                                                                     \
        CHECK_ERR(ahasd_model_validate(&m, "target.", &err), AHASD_ERR_BAD_PARAM, \
                  "target." field);                                               \
    } while (0)

    BAD(m.layers = 0, "layers");
    BAD(m.layers = -7, "layers");
    BAD(m.hidden = -3, "hidden");
    BAD(m.hidden = 5121, "heads");              /* 40 does not divide 5121 */
    BAD(m.heads = 0, "heads");
    BAD(m.kv_heads = 0, "kv_heads");
    BAD(m.kv_heads = 41, "kv_heads");
    BAD(m.kv_heads = 3, "kv_heads");            /* does not divide 40 */
    BAD(m.head_dim = -1, "head_dim");
    BAD(m.ffn = 0, "ffn");
    BAD(m.ffn_kind = 2, "ffn_kind");
    BAD(m.act_kind = 7, "act_kind");
    BAD(m.act_kind = -1, "act_kind");
    BAD(m.norm_kind = -1, "norm_kind");
    BAD(m.vocab = 0, "vocab");
    BAD(m.tied_embeddings = 2, "tied_embeddings");
    BAD(m.weight_bytes = -2.385, "weight_bytes");
    BAD(m.weight_bytes = 0.0, "weight_bytes");
    BAD(m.weight_bytes = NAN, "weight_bytes");
    BAD(m.weight_bytes = INFINITY, "weight_bytes");
    BAD(m.kv_bytes = NAN, "kv_bytes");
    BAD(m.kv_bytes = -2.385, "kv_bytes");
    BAD(m.act_bytes = INFINITY, "act_bytes");
    BAD(m.act_bytes = 1e300, "act_bytes");
#undef BAD
    /* The message gives the value and the allowed range. */
    m = good;
    m.weight_bytes = -2.385;
    (void)ahasd_model_validate(&m, "draft.", &err);
    CHECK(strstr(err.msg, "-2.385") != NULL);
    CHECK(strstr(err.msg, "(0, 64]") != NULL);
    CHECK(err.code == AHASD_ERR_BAD_PARAM);
    m = good;
    m.kv_heads = 3;
    (void)ahasd_model_validate(&m, "draft.", &err);
    CHECK(strstr(err.msg, "draft.heads = 40") != NULL);
}

void test_model(void)
{
    test_counts();
    test_validate();
}
