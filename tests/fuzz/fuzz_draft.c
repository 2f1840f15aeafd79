/* libFuzzer harness: the drafting distributions and sampler on raw profiles
 * and policies (every field straight from the bytes). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ahasd_workspace *ws;
    fz_bytes b = {data, size};
    ahasd_config cfg;
    ahasd_draft_summary sum;
    ahasd_error err;
    int rc, start, i, j, B, ks[64], as[64];
    size_t n;

    if (ws == NULL) {
        ahasd_gsl_handler_off();
        ws = ahasd_workspace_alloc();
    }
    fz_config(&cfg);
    cfg.policy.kind = fz_u8(&b) % (AHASD_N_POLICIES + 1);
    B = 1 + fz_u8(&b) % AHASD_MAX_BUCKETS;
    if (fz_u8(&b) & 1) {
        /* a raw profile: rows normalised or not, as the bytes say */
        cfg.profile.buckets = B;
        cfg.profile.h_max = 1.0 + fz_u8(&b) % 10;
        for (i = 0; i < B; i++) {
            double s = 0.0;
            for (j = 0; j < B; j++) {
                cfg.profile.q[i * AHASD_MAX_BUCKETS + j] = fz_u8(&b);
                s += cfg.profile.q[i * AHASD_MAX_BUCKETS + j];
            }
            for (j = 0; j < B && (fz_u8(&b) & 3); j++)
                cfg.profile.q[i * AHASD_MAX_BUCKETS + j] /= s > 0.0 ? s : 1.0;
            cfg.profile.accept[i] = fz_u8(&b) / 250.0;
        }
    }
    fz_edit(&cfg, &b, 6);
    start = (int)(fz_u8(&b) % (B + 3)) - 2;
    memset(&err, 0, sizeof err);
    rc = ahasd_draft_dist(&cfg.profile, &cfg.policy, start, ws, &sum, &err);
    fz_check_status(rc, &err);
    if (rc == AHASD_OK && !(isfinite(sum.mean_draft_len) && sum.p_full >= -1e-12 && sum.p_full <= 1.0 + 1e-9))
        abort();
    n = fz_u8(&b) % 64;
    rc = ahasd_draft_sample(&cfg.profile, &cfg.policy, start, fz_u8(&b), n, ks, as, &err);
    fz_check_status(rc, &err);
    if (rc == AHASD_OK)
        for (i = 0; i < (int)n; i++)
            if (as[i] < 0 || as[i] > ks[i] || ks[i] < 1 || ks[i] > AHASD_MAX_K)
                abort();
    return 0;
}
