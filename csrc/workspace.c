/*
 * workspace.c -- the caller-owned workspace: drafting-table cache, scratch
 * arrays and the simulator's random number generator.  One workspace per
 * thread; nothing in it is shared.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

ahasd_workspace *ahasd_workspace_alloc(void)
{
    /* calloc: every pointer NULL, so ahasd_workspace_free is always safe. */
    return calloc(1, sizeof(ahasd_workspace));
}

void ahasd_workspace_clear(ahasd_workspace *ws)
{
    int i;

    if (ws == NULL)
        return;
    for (i = 0; i < WS_DD_CACHE; i++) {
        free(ws->dd[i].table.pkae);
        free(ws->dd[i].table.pkfeh);
        free(ws->dd[i].table.pkal);
        memset(&ws->dd[i], 0, sizeof ws->dd[i]);
    }
}

void ahasd_workspace_free(ahasd_workspace *ws)
{
    int i;

    if (ws == NULL)
        return;
    ahasd_workspace_clear(ws);
    for (i = 0; i < WS_SLOTS; i++)
        free(ws->scratch[i]);
    if (ws->rng != NULL)
        gsl_rng_free(ws->rng);
    free(ws);
}

double *ws_scratch(ahasd_workspace *ws, int slot, size_t n, int zero)
{
    double *p;

    if (ws == NULL || slot < 0 || slot >= WS_SLOTS)
        return NULL;
    if (n == 0)
        n = 1;
    if (ws->scratch_n[slot] < n) {
        p = realloc(ws->scratch[slot], n * sizeof(double));
        if (p == NULL)
            return NULL;
        ws->scratch[slot] = p;
        ws->scratch_n[slot] = n;
    }
    if (zero)
        memset(ws->scratch[slot], 0, n * sizeof(double));
    return ws->scratch[slot];
}

gsl_rng *ws_rng(ahasd_workspace *ws, uint64_t seed)
{
    if (ws == NULL)
        return NULL;
    if (ws->rng == NULL) {
        /* Tausworthe (taus2): fast, maximally equidistributed, period 2^88. */
        ws->rng = gsl_rng_alloc(gsl_rng_taus2);
        if (ws->rng == NULL)
            return NULL;
    }
    rng_seed(ws->rng, seed);
    return ws->rng;
}

void rng_seed(gsl_rng *rng, uint64_t seed)
{
    /* taus2 seeds from an unsigned long; fold the 64-bit seed so that
     * distinct seeds give distinct streams on 32-bit longs too. */
    gsl_rng_set(rng, (unsigned long)(seed ^ (seed >> 32)) + (unsigned long)(seed >> 32) * 2654435761UL);
}

gsl_rng *rng_alloc_seeded(uint64_t seed, ahasd_error *err)
{
    /* Tausworthe (taus2), as ws_rng */
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_taus2);

    if (rng == NULL)
        err_set(err, AHASD_ERR_NOMEM, "cannot allocate a random number generator");
    else
        rng_seed(rng, seed);
    return rng;
}
