/*
 * c_bench.c -- the C-level timing driver of benchmarks/bench.py.
 *
 * bench.py builds each benchmark case's configuration through the Python
 * layer (presets, policies, profiles) and writes the raw ahasd_config
 * structs to a binary file; this driver reads them and times the C entry
 * points with no Python in the loop.
 *
 *   c_bench CASES.bin time [MIN_SECONDS]   time every case; one line per case:
 *        id <tab> kind <tab> iterations <tab> ns/op (min of 5) <tab> ns/op (median) <tab> status
 *   c_bench CASES.bin one INDEX N          run case INDEX N times inside bench_body()
 *        (for valgrind --tool=callgrind --toggle-collect=bench_body: instructions
 *        per call are the collected total / N; one warm-up call runs outside)
 *
 * File layout (native byte order, written by bench.py with the same header):
 *   char magic[8] = "AHBENCH1"; uint32 config_size; uint32 n_cases;
 *   n_cases x { char id[64]; int32 kind; int32 iparam; double dparam;
 *               unsigned char config[config_size]; }
 *
 * Kinds:
 *   0 task costs at context dparam                    (ahasd_task_costs)
 *   1 estimate, warm workspace                        (ahasd_estimate)
 *   2 drafting distribution, cache cleared each call  (ahasd_workspace_clear + ahasd_draft_dist)
 *   3 drafting distribution, cached                   (ahasd_draft_dist)
 *   4 simulation of iparam runs, warm workspace       (ahasd_simulate); ns/op is per call
 *   5 estimate, cache cleared each call               (ahasd_workspace_clear + ahasd_estimate)
 *   6 ahasd_workspace_clear alone (to subtract from kinds 2 and 5)
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahasd.h"

typedef struct {
    char id[64];
    int32_t kind;
    int32_t iparam;
    double dparam;
    ahasd_config cfg;
} bench_case;

enum { K_TASK = 0, K_EST = 1, K_DD_COLD = 2, K_DD_WARM = 3, K_SIM = 4, K_EST_COLD = 5,
       K_CLEAR = 6 };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Results go to volatile sinks so that no call is optimised away. */
static volatile double sink;

static int run_once(const bench_case *c, ahasd_workspace *ws, ahasd_error *err)
{
    static ahasd_task_table tab;
    static ahasd_result res;
    static ahasd_draft_summary ds;
    ahasd_sim_options opt;
    int rc = AHASD_OK;

    switch (c->kind) {
    case K_TASK:
        rc = ahasd_task_costs(&c->cfg, c->dparam, &tab, err);
        sink = tab.verify[1].time_s;
        break;
    case K_EST:
        rc = ahasd_estimate(&c->cfg, ws, &res, err);
        sink = res.out[AHASD_OUT_THROUGHPUT_TOK_S];
        break;
    case K_DD_COLD:
        ahasd_workspace_clear(ws);
        rc = ahasd_draft_dist(&c->cfg.profile, &c->cfg.policy, AHASD_START_STATIONARY, ws, &ds,
                              err);
        sink = ds.mean_accepted;
        break;
    case K_DD_WARM:
        rc = ahasd_draft_dist(&c->cfg.profile, &c->cfg.policy, AHASD_START_STATIONARY, ws, &ds,
                              err);
        sink = ds.mean_accepted;
        break;
    case K_SIM:
        memset(&opt, 0, sizeof opt);
        opt.seed = 12345;
        opt.n_runs = c->iparam;
        rc = ahasd_simulate(&c->cfg, &opt, ws, &res, err);
        sink = res.out[AHASD_OUT_THROUGHPUT_TOK_S];
        break;
    case K_EST_COLD:
        ahasd_workspace_clear(ws);
        rc = ahasd_estimate(&c->cfg, ws, &res, err);
        sink = res.out[AHASD_OUT_THROUGHPUT_TOK_S];
        break;
    case K_CLEAR:
        ahasd_workspace_clear(ws);
        break;
    default:
        rc = AHASD_ERR_BAD_PARAM;
        snprintf(err->msg, sizeof err->msg, "unknown benchmark kind %d", (int)c->kind);
    }
    return rc;
}

/* The measured region for callgrind (never inlined, so --toggle-collect finds it). */
__attribute__((noinline)) int bench_body(const bench_case *c, ahasd_workspace *ws,
                                         ahasd_error *err, long n)
{
    long i;
    int rc = AHASD_OK;

    for (i = 0; i < n && rc >= 0; i++)
        rc = run_once(c, ws, err);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static bench_case *read_cases(const char *path, uint32_t *n_out)
{
    FILE *f = fopen(path, "rb");
    char magic[8];
    uint32_t size, n, i;
    bench_case *cs = NULL;

    if (f == NULL) {
        perror(path);
        return NULL;
    }
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "AHBENCH1", 8) != 0 ||
        fread(&size, 4, 1, f) != 1 || fread(&n, 4, 1, f) != 1) {
        fprintf(stderr, "%s: not a benchmark case file\n", path);
        goto fail;
    }
    if (size != sizeof(ahasd_config)) {
        fprintf(stderr, "%s: ahasd_config is %u bytes in the file, %zu here: rebuild\n", path,
                size, sizeof(ahasd_config));
        goto fail;
    }
    cs = calloc(n ? n : 1, sizeof *cs);
    if (cs == NULL)
        goto fail;
    for (i = 0; i < n; i++) {
        if (fread(cs[i].id, 1, 64, f) != 64 || fread(&cs[i].kind, 4, 1, f) != 1 ||
            fread(&cs[i].iparam, 4, 1, f) != 1 || fread(&cs[i].dparam, 8, 1, f) != 1 ||
            fread(&cs[i].cfg, sizeof(ahasd_config), 1, f) != 1) {
            fprintf(stderr, "%s: truncated at case %u\n", path, i);
            goto fail;
        }
        cs[i].id[63] = '\0';
    }
    fclose(f);
    *n_out = n;
    return cs;
fail:
    free(cs);
    fclose(f);
    return NULL;
}

static int time_case(const bench_case *c, ahasd_workspace *ws, double min_s)
{
    ahasd_error err;
    double t0, dt, per[5];
    long n = 1;
    int rep, rc;

    memset(&err, 0, sizeof err);
    rc = run_once(c, ws, &err);                 /* warm-up: caches, page faults */
    if (rc < 0) {
        printf("%s\t%d\t0\tnan\tnan\terror %d: %s\n", c->id, (int)c->kind, rc, err.msg);
        return rc;
    }
    /* calibrate: a batch of n calls takes at least min_s / 5 */
    for (;;) {
        t0 = now_s();
        rc = bench_body(c, ws, &err, n);
        dt = now_s() - t0;
        if (rc < 0 || dt >= min_s / 5.0 || n >= (1L << 30))
            break;
        n = dt > 0 ? (long)(n * (min_s / 5.0) / dt * 1.2) + 1 : n * 10;
    }
    for (rep = 0; rep < 5 && rc >= 0; rep++) {
        t0 = now_s();
        rc = bench_body(c, ws, &err, n);
        per[rep] = (now_s() - t0) / (double)n * 1e9;
    }
    if (rc < 0) {
        printf("%s\t%d\t0\tnan\tnan\terror %d: %s\n", c->id, (int)c->kind, rc, err.msg);
        return rc;
    }
    qsort(per, 5, sizeof per[0], cmp_double);
    printf("%s\t%d\t%ld\t%.3f\t%.3f\tok\n", c->id, (int)c->kind, n, per[0], per[2]);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    uint32_t n = 0, i;
    bench_case *cs;
    ahasd_workspace *ws;
    ahasd_error err;
    int rc = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: %s CASES.bin time [MIN_SECONDS] | one INDEX N\n", argv[0]);
        return 2;
    }
    ahasd_gsl_handler_off();
    cs = read_cases(argv[1], &n);
    if (cs == NULL)
        return 1;
    ws = ahasd_workspace_alloc();
    if (ws == NULL) {
        free(cs);
        return 1;
    }
    if (strcmp(argv[2], "time") == 0) {
        double min_s = argc > 3 ? atof(argv[3]) : 0.5;
        for (i = 0; i < n; i++)
            time_case(&cs[i], ws, min_s);
    } else if (strcmp(argv[2], "one") == 0 && argc > 4) {
        long idx = atol(argv[3]), reps = atol(argv[4]);
        if (idx < 0 || (uint32_t)idx >= n || reps < 1) {
            fprintf(stderr, "index out of range\n");
            rc = 2;
        } else {
            memset(&err, 0, sizeof err);
            rc = run_once(&cs[idx], ws, &err);        /* warm-up, not collected */
            if (rc >= 0)
                rc = bench_body(&cs[idx], ws, &err, reps);
            if (rc < 0)
                fprintf(stderr, "%s: error %d: %s\n", cs[idx].id, rc, err.msg);
            rc = rc < 0;
        }
    } else {
        fprintf(stderr, "unknown mode %s\n", argv[2]);
        rc = 2;
    }
    ahasd_workspace_free(ws);
    free(cs);
    return rc;
}
