/* libFuzzer harness: the drafting distributions and sampler on raw profiles
 * and policies (every field straight from the bytes). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ahasd_workspace *ws = fz_workspace();
    fz_bytes b = {data, size};
    ahasd_config cfg;
    ahasd_draft_summary sum, sum2;
    ahasd_workspace *fresh;
    ahasd_error err;
    int rc, rc2, start, i, j, B, ks[64], as[64];
    size_t n;

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
    fz_show(&cfg);
    memset(&err, 0, sizeof err);
    rc = ahasd_draft_dist(&cfg.profile, &cfg.policy, start, ws, &sum, &err);
    fz_check_status(rc, &err);
    if (rc == AHASD_OK) {
        double tot = 0.0;
        FZ_REQUIRE(isfinite(sum.mean_draft_len) && sum.p_full >= -1e-12 && sum.p_full <= 1.0 + 1e-9);
        FZ_REQUIRE(sum.k_max >= 0 && sum.k_max <= AHASD_MAX_K);
        for (i = 0; i <= sum.k_max; i++)
            for (j = 0; j <= sum.k_max; j++) {
                double p = sum.p_ka[i * (AHASD_MAX_K + 1) + j];
                FZ_REQUIRE(isfinite(p) && p >= -1e-12 && (j <= i || p == 0.0));
                tot += p;
            }
        FZ_REQUIRE(fabs(tot - 1.0) <= 1e-6);
        FZ_REQUIRE(sum.acceptance_rate >= -1e-12 && sum.acceptance_rate <= 1.0 + 1e-9);
        /* the same law from a new, poisoned workspace (no cached tables) */
        fresh = fz_poisoned_workspace();
        FZ_REQUIRE(fresh != NULL);
        rc2 = ahasd_draft_dist(&cfg.profile, &cfg.policy, start, fresh, &sum2, &err);
        ahasd_workspace_free(fresh);
        if (rc2 != rc || memcmp(&sum, &sum2, sizeof sum) != 0)
            fprintf(stderr, "draft_dist differs in a new workspace: kind %d k %d k_min %d "
                    "k_max %d buckets %d start %d: rc %d/%d, E[K] %.17g/%.17g, E[A] "
                    "%.17g/%.17g, arm %d/%d\n", cfg.policy.kind, cfg.policy.k,
                    cfg.policy.k_min, cfg.policy.k_max, cfg.profile.buckets, start, rc, rc2,
                    sum.mean_draft_len, sum2.mean_draft_len, sum.mean_accepted,
                    sum2.mean_accepted, sum.bandit_arm, sum2.bandit_arm);
        FZ_REQUIRE(rc2 == rc && memcmp(&sum, &sum2, sizeof sum) == 0);
    }
    n = fz_u8(&b) % 64;
    rc = ahasd_draft_sample(&cfg.profile, &cfg.policy, start, fz_u8(&b), n, ks, as, &err);
    fz_check_status(rc, &err);
    if (rc == AHASD_OK)
        for (i = 0; i < (int)n; i++)
            if (as[i] < 0 || as[i] > ks[i] || ks[i] < 1 || ks[i] > AHASD_MAX_K)
                abort();
    return 0;
}
