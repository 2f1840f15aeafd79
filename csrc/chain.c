/*
 * chain.c -- analytical estimates of the asynchronous family: async,
 * async-edc and ahasd (MODEL.md "Schedule semantics" and the choices at the
 * end of docs/MODEL.md).
 *
 * Renewal structure.  A flush (the NPU rejects a batch) leaves a known
 * state: the queue is empty and the PIM starts drafting from the corrected
 * token after the rollback.  The estimate is therefore a renewal-reward
 * ratio, E[reward per cycle] / E[time per cycle], over cycles that end at
 * flushes; each expectation is a sum over the batches of a cycle of a
 * small state's law (a transient Markov chain on a discretised continuous
 * variable, absorbed at the flush), obtained as the expected visits of each
 * state by one sparse linear solve (chain_direct).
 *
 * Timing recursion.  Number the batches of a cycle j = 1, 2, ...; S_j and
 * F_j are the times the PIM starts and finishes drafting batch j, C_j the
 * time its verification completes (C_0 = the cycle's start).  With X_j =
 * K_j t_d and Y_j = sync_s + V(K_j) the NPU occupancy,
 *     F_j = S_j + X_j,        C_j = max(F_j, C_{j-1}) + Y_j,
 * and the PIM starts the next batch after a delay w_j >= 0 that the
 * schedule decides (blocking at L_max, an EDC stop, TVC's pre-verification):
 *     S_{j+1} = F_j + w_j.
 * The state carried from batch to batch is
 *     beta_j = S_{j+1} - C_j   (<= 0: how far ahead of the NPU the PIM is),
 * since a_{j+1} = F_{j+1} - C_j = beta_j + X_{j+1},
 *     C_{j+1} - C_j = max(a_{j+1}, 0) + Y_{j+1},
 *     beta_{j+1} = min(a_{j+1}, 0) - Y_{j+1} + w_{j+1}.
 * A fully accepted batch commits its bonus exactly when no later draft
 * exists at its completion, i.e. when beta_{j+1} >= 0.
 *
 * What the delay needs.  After batch j+1 is drafted the PIM must know D
 * (unverified batches, itself included) and when the oldest unverified batch
 * completes.  For L_max <= 2 both follow exactly from a_{j+1}: if a >= 0 the
 * NPU is idle and takes batch j+1 (D = 1); otherwise the NPU is busy with
 * batch j, which completes -a later (D = 2).  For L_max >= 3 the batches
 * queued between them are summarised by the mean NPU occupancy Ybar: the
 * unverified batches before j+1 number n = min(L_max - 1, ceil(-a / Ybar))
 * and the oldest completes at R = -a - (n - 1) Ybar (flag
 * AHASD_FLAG_LEAD_APPROX).  This is exact when the NPU occupancy does not
 * depend on K (memory-bound verification) and the NPU runs back to back.
 *
 * Start classes.  Batch marks (K, A) depend on the bucket the batch starts
 * in.  The chain keeps whether a batch follows an accepted batch (class 0:
 * start law nu_acc, the quasi-stationary law of starts along a run of
 * acceptances) or a rejection (class 1: nu_rej, the law after a rejected
 * token).  Within a class consecutive batches are taken as independent
 * (exact for i.i.d. profiles).
 *
 * Drafting control.  async-edc: after each batch the PIM continues with
 * probability c(H8, D) -- EDC's mean-field law: each PHT counter is a
 * saturating four-state birth-death chain moved up by fully accepted
 * batches, started weakly taken, visited a Poisson number of times in a
 * generation; the recent LEHT entries follow the lineage of the batches the
 * LCEHT save/restore keeps (full batches, and rejected ones decided at
 * D >= 2), the older ones are independent kept entries (edc_build; flag
 * AHASD_FLAG_EDC_MEAN_FIELD).  A stop waits for
 * the next verification result.  ahasd: a stop triggers TVC with exact
 * latency predictions (flag AHASD_FLAG_EXACT_PREDICTIONS): the PIM
 * pre-verifies the first tokens of the newest batch in chunks that fit the
 * NPU's remaining time; a rejection found there makes the batch known (the
 * NPU skips it, no flush) and the PIM restarts from the correction.  TVC
 * pre-verifies the oldest queued batch: the newest one at D = 2; at D >= 3
 * an older one, which the chain knows was accepted (costing PIM time only).
 * A batch the NPU would reject gets one more chance (rescue()): the first
 * decision after it becomes the oldest queued batch may pre-verify it and
 * find the rejection before the NPU reaches it.
 *
 * The flush tail.  When the NPU rejects batch J the PIM has been drafting
 * since S_{J+1} = F_J + w_J; the tokens completed by C_J (at most L_max - 1
 * batches, each continuing with the EDC law) are wasted, the partial token's
 * time is charged to the PIM.
 *
 * Discretisation.  beta lives on a uniform grid of CH_G points over
 * [-(L_max - 1) Y_max, 0]; a value between grid points is split between its
 * neighbours so that the mean is kept.  With fixed k and i.i.d. acceptance
 * the continuous recursion is deterministic within a cycle and the grid is
 * the only approximation.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_permutation.h>

#include "internal.h"

#define CH_G 64            /* capacity of the lead grid (points)          */
#define CH_G_NEG 44        /* grid points at or below 0                   */
#define CH_G_POS 8         /* grid points above 0 (ahasd: PIM still busy) */
#define CH_G_SPECIAL 16    /* exact lead values of deterministic timings  */
#define CH_GS_SWEEPS 200 /* Gauss-Seidel sweeps before chain_direct falls back to LU */
#define CH_GLUT 256  /* bins of grid_locate's index (grid cells found in O(1)) */
#define CH_RMAX 4    /* regime classes: exit buckets lumped by their row of Q   */
#define CH_CLS (CH_RMAX + 2) /* + mixture slots: after a rejected token (R),
                                after a doomed batch's last token (R + 1)     */
#define CH_ST (2 * CH_RMAX)  /* state classes: regime class x "older queued
                                batches all decided" bit; state index
                                (cls * 2 + u) * G + i                          */
#define ST(cls, u) ((cls) * 2 + (u))
#define CH_MAXD (AHASD_MAX_LMAX + 1)
#define CH_KM (AHASD_MAX_K + 1)
/* Draft lengths less likely than this are skipped: adaptive policies have
 * long thin tails of K whose mass changes no output in its 6th digit. */
#define CH_PK_NEGLIGIBLE 1e-8

/* Expected events of a cycle (or of one batch step), in counts. */
typedef struct {
    double wall, committed, accepted, drafted, rounds, batches, batch_tokens;
    double decisions, stops, preverify_s;
    double draft_tokens;          /* PIM draft passes (busy), fractional in tails */
    double draft_wasted;          /* of which discarded                           */
    double verify[CH_KM];         /* NPU verifications of k drafts                */
    double pv[CH_KM];             /* pre-verifications of m tokens                */
    double pv_wasted;             /* pre-verification seconds later discarded     */
    double switches, rollbacks;
    double dmass[CH_MAXD];        /* decisions by depth D (main path: they update)  */
    double dtail[CH_MAXD];        /* decisions whose batch is flushed or discarded */
    double tailmass[CH_RMAX][CH_G]; /* flushes by the class of the PIM's next batch
                                     and its lead at the flush, on the grid; each
                                     is worth the tail value there                */
} ch_count;

/* Work of a flush tail (all of it discarded). */
typedef struct {
    /* async */
    double drafted;               /* draft tokens completed                       */
    double busy_tokens;           /* PIM drafting time, in draft-token units      */
    double batches, batch_tokens; /* completed batches and their tokens           */
    /* + EDC */
    double decisions, stops;
    double ddec[CH_MAXD];         /* decisions by depth (their batches are flushed) */
    /* + TVC */
    double switches, rollbacks;
    double preverify_s;
    double pv[CH_KM];             /* pre-verifications of m tokens                */
} ch_tail;
/* The fields a schedule uses come first: tail_add works on the first
 * tail_n doubles (ch_tail_len). */

typedef struct {
    int sched, L, KM, mmax, G, edc, tvc;
    int PM;                       /* max(KM, mmax): largest pre-verification chunk */
    int tail_n;                   /* doubles of ch_tail the schedule uses          */
    double td, sync, rb, sw;
    double ybar, ymax;
    double V[CH_KM];              /* NPU verification time of k drafts            */
    double PV[CH_KM];             /* PIM pre-verification time of m tokens        */
    double gx[CH_G];              /* grid of the lead beta, ascending; gx[i0] = 0 */
    int i0;
    /* grid_locate's index: bin j of CH_GLUT equal bins over [gx[0],
     * gx[G-1]) starts in grid cell gbin[j] (gbin_scale = CH_GLUT / width) */
    double gbin_scale;
    unsigned char gbin[CH_GLUT];
    /* Marks, per start class c, depth D and branch b (0 continue, 1 stop):
     *   pf[c][D][b][k]      = P(K = k, full, b)
     *   pn[c][D][b][k][m]   = P(K = k, A < m, b)          (m = 0..k)
     *   an[c][D][b][k][m]   = E[A; K = k, A < m, b]                       */
    double pf[CH_CLS][CH_MAXD][2][CH_KM];
    double pn[CH_CLS][CH_MAXD][2][CH_KM][CH_KM + 1];
    double an[CH_CLS][CH_MAXD][2][CH_KM][CH_KM + 1];
    double pk[CH_CLS][CH_KM];     /* P(K = k) per class (any D, any branch)       */
    int R, nst, mix, tmix;        /* regime classes, state classes, mixture slots */
    double xf[CH_CLS][CH_KM][CH_RMAX]; /* exit class law | k, fully accepted      */
    double xr[CH_CLS][CH_KM][CH_RMAX]; /* exit class law | k, rejected            */
    /* last-token class of rejected batches, P(K = k, A < m, class c2) at
     * [c][k][m][c2]: the marks' table (ch_marks.xl), not copied */
    const double (*xl)[CH_KM][CH_KM + 1][CH_RMAX];
    double start_mix[CH_RMAX];    /* class after a rejection (stationary)         */
    double occ[CH_RMAX];          /* class of batch starts (stationary)           */
    int kq;                       /* mean draft length, rounded (queued batches)  */
    /* The flush tail: expected (wasted) work of the PIM between the start of
     * a batch tau seconds before a flush and the flush, with t undecided
     * batches already drafted after the doomed one and the batch in regime
     * class c: tail[c][t][i] at grid point i of tau (the same grid as
     * beta).                                                               */
    ch_tail tail[CH_RMAX][CH_MAXD][CH_G];
} ch_ctx;

/* Marks per regime class (and the mixture slot R), hardware independent. */
typedef struct {
    int KM, B, R;
    int rc[AHASD_MAX_BUCKETS];                /* regime class of each bucket */
    int clustered;                            /* 1: rows lumped approximately */
    double pfull[CH_CLS][CH_KM];              /* P(K=k, full)                */
    double pkj[CH_CLS][CH_KM][CH_KM];         /* P(K=k, A=j), j < k          */
    double hfull[CH_CLS][CH_KM][AHASD_EDC_BUCKETS];  /* P(K=k, full, H8=h)   */
    double hnf[CH_CLS][CH_KM][AHASD_EDC_BUCKETS];    /* P(K=k, not full, H8=h) */
    double xf[CH_CLS][CH_KM][CH_RMAX];        /* exit class | k, full        */
    double xr[CH_CLS][CH_KM][CH_RMAX];        /* exit class | k, rejected    */
    double start_mix[CH_RMAX];
    double tail_mix[CH_RMAX];                 /* class after a doomed batch's last token */
    double occ[CH_RMAX];
    /* class of the last drafted token of rejected batches, cumulative in A:
     * xl[c][k][m][c2] = P(K = k, A < m, last token in class c2), m <= k
     * (last: only the entries k <= KM are zeroed and used) */
    double xl[CH_CLS][CH_KM][CH_KM + 1][CH_RMAX];
} ch_marks;

/* EDC continue probabilities c(h, f, D): after a batch with entropy bucket
 * h and fate f (1 fully accepted), decided at depth D. */
typedef struct {
    double c[AHASD_EDC_BUCKETS][2][CH_MAXD];
} ch_edc;

/* ------------------------------------------------------------------ */
/* Start laws and marks                                                */
/* ------------------------------------------------------------------ */
static int dcmp(const void *a, const void *b)
{
    double x = ((const double *)a)[0], y = ((const double *)b)[0];
    return (x > y) - (x < y);
}

/* Regime classes.  The next batch starts from the row of Q of the previous
 * batch's exit bucket, so buckets with identical rows are one state for the
 * chain: up to CH_RMAX distinct rows are kept exactly (every shipped
 * profile has two regimes).  With more, rows are ranked by the acceptance
 * of the token they lead to and lumped into CH_RMAX groups of equal
 * stationary mass (approximate; mk->clustered).  Per class c (start law:
 * its rows averaged by the exit-bucket law) the marks are the joint laws of
 * (K, A) with the exit bucket's class, the joint law of (K, A) with the
 * class of the last drafted token for rejected batches (the drafter does
 * not see rejections: the tokens after a rejected one, and the next batch,
 * continue the bucket chain from it; tab->pkal), and the EDC entropy
 * detail; slot R is the mixture of classes after a rejected token
 * (start_mix), slot R + 1 that after a doomed batch's last token
 * (tail_mix, where its look-ahead batch starts); occ is the class law of
 * batch starts.  Without tab->pkal (its state space too large) the last
 * token of a rejected batch is given the class law of a full batch's last
 * token (a proxy biased towards high-acceptance regimes). */
static void marks_build(const dd_table *tab, const ahasd_profile *prof, int with_h,
                        ch_marks *mk)
{
    int s, s2 = 0, e, e2, k, j, h, c, c2, f, B = tab->B, KM = tab->kmax, R = 0, m;
    double w, pe[AHASD_MAX_BUCKETS], nu[CH_RMAX][AHASD_MAX_BUCKETS], tot, mass[CH_RMAX];
    double key[AHASD_MAX_BUCKETS][2];

    memset(mk, 0, offsetof(ch_marks, xl));
    for (c = 0; c < CH_CLS; c++)
        for (k = 0; k <= KM; k++)
            memset(mk->xl[c][k], 0, (size_t)(k + 1) * sizeof mk->xl[c][k][0]);
    mk->KM = KM;
    mk->B = B;
    /* exit-bucket law under the long-run start law */
    memset(pe, 0, sizeof pe);
    for (s = 0; s < B; s++)
        for (k = 1; k <= KM; k++)
            for (j = 0; j <= k; j++)
                for (e = 0; e < B; e++)
                    pe[e] += tab->stat_start[s] * tab->pkae[((s * (KM + 1) + k) * (KM + 1) + j) * B + e];
    /* classes by identical rows */
    for (e = 0; e < B; e++) {
        mk->rc[e] = -1;
        for (e2 = 0; e2 < e && mk->rc[e] < 0; e2++) {
            int same = 1;
            for (s = 0; s < B && same; s++)
                same = fabs(prof->q[e * AHASD_MAX_BUCKETS + s] - prof->q[e2 * AHASD_MAX_BUCKETS + s]) <= 1e-12;
            if (same)
                mk->rc[e] = mk->rc[e2];
        }
        if (mk->rc[e] < 0)
            mk->rc[e] = R++;
    }
    if (R > CH_RMAX) {
        /* lump: rank buckets by the acceptance of the token their row leads
         * to, cut into CH_RMAX groups of equal exit mass */
        double cum = 0.0;
        for (e = 0; e < B; e++) {
            key[e][0] = 0.0;
            for (s = 0; s < B; s++)
                key[e][0] += prof->q[e * AHASD_MAX_BUCKETS + s] * prof->accept[s];
            key[e][1] = e;
        }
        qsort(key, (size_t)B, sizeof key[0], dcmp);
        tot = 0.0;
        for (e = 0; e < B; e++)
            tot += pe[e];
        for (m = 0; m < B; m++) {
            e = (int)key[m][1];
            c = tot > 0.0 ? (int)(CH_RMAX * cum / tot) : m * CH_RMAX / B;
            mk->rc[e] = c < CH_RMAX ? c : CH_RMAX - 1;
            cum += pe[e];
        }
        R = CH_RMAX;
        mk->clustered = 1;
    }
    mk->R = R;
    /* start law of each class */
    memset(nu, 0, sizeof nu);
    memset(mass, 0, sizeof mass);
    for (e = 0; e < B; e++) {
        double we = pe[e] > 0.0 ? pe[e] : 1e-300;
        c = mk->rc[e];
        mass[c] += we;
        for (s = 0; s < B; s++)
            nu[c][s] += we * prof->q[e * AHASD_MAX_BUCKETS + s];
    }
    for (c = 0; c < R; c++)
        for (s = 0; s < B; s++)
            nu[c][s] = mass[c] > 0.0 ? nu[c][s] / mass[c] : tab->stat_start[s];
    /* marks per class */
    for (c = 0; c < R; c++)
        for (s = 0; s < B; s++) {
            if (nu[c][s] <= 0.0)
                continue;
            for (k = 1; k <= KM; k++) {
                for (j = 0; j <= k; j++)
                    for (e = 0; e < B; e++) {
                        w = nu[c][s] * tab->pkae[((s * (KM + 1) + k) * (KM + 1) + j) * B + e];
                        if (j == k) {
                            mk->pfull[c][k] += w;
                            mk->xf[c][k][mk->rc[e]] += w;
                        } else {
                            mk->pkj[c][k][j] += w;
                            mk->xr[c][k][mk->rc[e]] += w;
                        }
                    }
                if (!with_h)
                    continue;
                for (f = 0; f < 2; f++)
                    for (e = 0; e < B; e++)
                        for (h = 0; h < AHASD_EDC_BUCKETS; h++) {
                            w = nu[c][s] *
                                tab->pkfeh[(((s * (KM + 1) + k) * 2 + f) * B + e) *
                                               AHASD_EDC_BUCKETS + h];
                            if (f)
                                mk->hfull[c][k][h] += w;
                            else
                                mk->hnf[c][k][h] += w;
                        }
            }
        }
    /* the last token's class of rejected batches, per A (stored at m = A + 1,
     * summed over m below) */
    for (c = 0; c < R; c++)
        for (k = 1; k <= KM; k++) {
            double sf = 0.0;
            for (c2 = 0; c2 < R; c2++)
                sf += mk->xf[c][k][c2];
            for (j = 0; j < k; j++) {
                if (tab->has_last) {
                    for (s = 0; s < B; s++) {
                        if (nu[c][s] <= 0.0)
                            continue;
                        for (e = 0; e < B; e++)
                            mk->xl[c][k][j + 1][mk->rc[e]] +=
                                nu[c][s] * tab->pkal[((s * (KM + 1) + k) * (KM + 1) + j) * B + e];
                    }
                    continue;
                }
                for (c2 = 0; c2 < R; c2++)   /* proxy: the full batch's law */
                    mk->xl[c][k][j + 1][c2] =
                        mk->pkj[c][k][j] * (sf > 0.0 ? mk->xf[c][k][c2] / sf : (c2 == 0));
            }
        }
    /* class after a rejection, and of batch starts, in the long run */
    tot = 0.0;
    for (s = 0; s < B; s++)
        for (k = 1; k <= KM; k++)
            for (j = 0; j < k; j++)
                for (e = 0; e < B; e++) {
                    w = tab->stat_start[s] * tab->pkae[((s * (KM + 1) + k) * (KM + 1) + j) * B + e];
                    mk->start_mix[mk->rc[e]] += w;
                    tot += w;
                }
    for (c = 0; c < R; c++)
        mk->start_mix[c] = tot > 0.0 ? mk->start_mix[c] / tot : (c == 0);
    tot = 0.0;
    for (e = 0; e < B; e++)
        tot += pe[e];
    for (e = 0; e < B; e++)
        mk->occ[mk->rc[e]] += tot > 0.0 ? pe[e] / tot : 1.0 / B;
    /* the class after a doomed batch's last drafted token (where a
     * look-ahead batch starts): P(last token in c2 | rejected) over batch
     * starts */
    tot = 0.0;
    for (c = 0; c < R; c++)
        for (k = 1; k <= KM; k++)
            for (j = 0; j < k; j++)
                for (c2 = 0; c2 < R; c2++) {
                    mk->tail_mix[c2] += mk->occ[c] * mk->xl[c][k][j + 1][c2];
                    tot += mk->occ[c] * mk->xl[c][k][j + 1][c2];
                }
    for (c = 0; c < R; c++)
        mk->tail_mix[c] = tot > 0.0 ? mk->tail_mix[c] / tot : mk->start_mix[c];
    /* the mixture slots R (after a rejected token) and R + 1 (after a
     * doomed batch's last token) */
    for (c = 0; c < R; c++) {
        w = mk->start_mix[c];
        for (k = 1; k <= KM; k++) {
            mk->pfull[R][k] += w * mk->pfull[c][k];
            for (j = 0; j < k; j++)
                mk->pkj[R][k][j] += w * mk->pkj[c][k][j];
            for (h = 0; h < AHASD_EDC_BUCKETS; h++) {
                mk->hfull[R][k][h] += w * mk->hfull[c][k][h];
                mk->hnf[R][k][h] += w * mk->hnf[c][k][h];
            }
            for (c2 = 0; c2 < R; c2++) {
                mk->xf[R][k][c2] += w * mk->xf[c][k][c2];
                mk->xr[R][k][c2] += w * mk->xr[c][k][c2];
                for (j = 0; j < k; j++)
                    mk->xl[R][k][j + 1][c2] += w * mk->xl[c][k][j + 1][c2];
            }
        }
    }
    for (c = 0; c < R; c++) {
        w = mk->tail_mix[c];
        for (k = 1; k <= KM; k++) {
            mk->pfull[R + 1][k] += w * mk->pfull[c][k];
            for (j = 0; j < k; j++)
                mk->pkj[R + 1][k][j] += w * mk->pkj[c][k][j];
            for (h = 0; h < AHASD_EDC_BUCKETS; h++) {
                mk->hfull[R + 1][k][h] += w * mk->hfull[c][k][h];
                mk->hnf[R + 1][k][h] += w * mk->hnf[c][k][h];
            }
            for (c2 = 0; c2 < R; c2++) {
                mk->xf[R + 1][k][c2] += w * mk->xf[c][k][c2];
                mk->xr[R + 1][k][c2] += w * mk->xr[c][k][c2];
                for (j = 0; j < k; j++)
                    mk->xl[R + 1][k][j + 1][c2] += w * mk->xl[c][k][j + 1][c2];
            }
        }
    }
    /* exit class laws, conditional on (k, fate) */
    for (c = 0; c <= R + 1; c++)
        for (k = 1; k <= KM; k++) {
            double sf = 0.0, sr = 0.0;
            for (c2 = 0; c2 < R; c2++) {
                sf += mk->xf[c][k][c2];
                sr += mk->xr[c][k][c2];
            }
            for (c2 = 0; c2 < R; c2++) {
                mk->xf[c][k][c2] = sf > 0.0 ? mk->xf[c][k][c2] / sf : (c2 == 0);
                mk->xr[c][k][c2] = sr > 0.0 ? mk->xr[c][k][c2] / sr : (c2 == 0);
                for (j = 1; j <= k; j++)
                    mk->xl[c][k][j][c2] += mk->xl[c][k][j - 1][c2];
            }
        }
    (void)s2;
}

/* ------------------------------------------------------------------ */
/* EDC mean field                                                      */
/* ------------------------------------------------------------------ */
/* Expected number of "continue" decisions among a Poisson(lambda) number of
 * visits to a counter moved up with probability f per update, started at 2
 * (weakly taken), divided by lambda: the per-visit continue probability
 * (lambda -> 0 gives 1, the initial state; lambda -> inf the stationary
 * P(counter >= 2)).  A visit's batch updates the counter before the next
 * visit with probability q: batches decided deep in the pipeline are often
 * flushed or discarded first, and their counters stay near the start. */
static double edc_counter_continue(double f, double lambda, double q)
{
    double pi[4] = {0.0, 0.0, 1.0, 0.0}, nx[4], sum = 0.0, acc = 0.0, surv, pmf, rho, z, pst;
    unsigned int v;

    if (f < 0.0)
        f = 0.0;
    if (f > 1.0)
        f = 1.0;
    /* stationary law of the birth-death chain: pi_n ~ rho^n, rho = f/(1-f) */
    if (f >= 1.0 - 1e-15)
        pst = 1.0;
    else if (f <= 1e-15)
        pst = 0.0;
    else {
        rho = f / (1.0 - f);
        z = 1.0 + rho + rho * rho + rho * rho * rho;
        pst = (rho * rho + rho * rho * rho) / z;
    }
    if (!(lambda > 1e-12))
        return 1.0;
    if (!isfinite(lambda) || lambda > 700.0)
        return pst;   /* hundreds of visits: the start is negligible (and e^-lambda underflows) */
    /* Visit v (from 0) happens when N > v and sees the counter after v
     * updates: E[continues] = sum_v P(N > v) P(counter_v >= 2).  P(N > v) by
     * the pmf recursion p_v = p_{v-1} lambda / v; once the counter's law is
     * within 1e-10 of stationary the rest is pst * sum_{v' >= v} P(N > v'). */
    pmf = exp(-lambda);
    surv = 1.0 - pmf;                     /* P(N > 0) */
    for (v = 0; v < 1000000u; v++) {
        if (!(q > 0.0) || fabs(pi[2] + pi[3] - pst) < 1e-10) {
            if (!(q > 0.0)) {
                /* never updated: every visit sees the start state */
                sum += pi[2] + pi[3] > 0.5 ? lambda - acc : 0.0;
                break;
            }
            sum += pst * (lambda - acc);
            break;
        }
        if (surv < 1e-15)
            break;
        sum += (pi[2] + pi[3]) * surv;
        acc += surv;
        /* a visit's batch updates the counter with probability q (the
         * others are flushed or discarded first): lazy steps */
        nx[0] = (1.0 - q) * pi[0] + q * (1.0 - f) * (pi[0] + pi[1]);
        nx[1] = (1.0 - q) * pi[1] + q * (f * pi[0] + (1.0 - f) * pi[2]);
        nx[2] = (1.0 - q) * pi[2] + q * (f * pi[1] + (1.0 - f) * pi[3]);
        nx[3] = (1.0 - q) * pi[3] + q * f * (pi[2] + pi[3]);
        memcpy(pi, nx, sizeof pi);
        pmf *= lambda / (double)(v + 1);  /* P(N = v + 1) */
        surv -= pmf;                      /* P(N > v + 1) */
        if (surv < 0.0)
            surv = 0.0;
    }
    return sum / lambda;
}

/* G = sum_{n >= 0} M^n for a B x B substochastic M (row-major, stride
 * AHASD_MAX_BUCKETS), by doubling: G = (I + M)(I + M^2)(I + M^4)...  After
 * n doublings G_n = sum_{m < 2^n} M^m and the rest is G_n P (I - P)^-1 with
 * P = M^(2^n): the loop stops once P's entries are below 1e-18 (the rest
 * is then below double precision), else after CH_NEUMANN_DOUBLINGS, where
 * it is of the order of rho(M)^(2^CH_NEUMANN_DOUBLINGS), negligible unless
 * a closed regime keeps (almost) nothing; the caller renormalises the law
 * it builds with G. */
#define CH_NEUMANN_DOUBLINGS 16
static void neumann_sum(int B, const double *M, double *G)
{
    enum { N = AHASD_MAX_BUCKETS };
    double P[N * N], Q[N * N], X[N * N], pmax;
    int i, j, l, n;

    memcpy(P, M, sizeof P);
    memset(G, 0, sizeof(double) * N * N);
    for (i = 0; i < B; i++)
        G[i * N + i] = 1.0;
    for (n = 0; n < CH_NEUMANN_DOUBLINGS; n++) {
        /* G := G (I + P), P := P^2 (P = M^(2^n)) */
        for (i = 0; i < B; i++)
            for (j = 0; j < B; j++) {
                double g = G[i * N + j], p2 = 0.0;
                for (l = 0; l < B; l++) {
                    g += G[i * N + l] * P[l * N + j];
                    p2 += P[i * N + l] * P[l * N + j];
                }
                X[i * N + j] = g;
                Q[i * N + j] = p2;
            }
        pmax = 0.0;
        for (i = 0; i < B; i++)
            for (j = 0; j < B; j++) {
                G[i * N + j] = X[i * N + j];
                P[i * N + j] = Q[i * N + j];
                if (Q[i * N + j] > pmax)
                    pmax = Q[i * N + j];
            }
        /* the terms left are at most B pmax / (1 - ...) per entry: stop once
         * they are below double precision of G (whose diagonal is >= 1) */
        if (!(pmax > 1e-18))
            break;
    }
}

/* The EDC index of a decision is {o, r, min(D, 7)} with r = floor((h + s3) / 4)
 * the average over the newest four LEHT entries (this batch's h and the
 * sum s3 of the three before it) and o the average of the four older ones.
 *
 * Which batches the history holds.  LEHT gets every decided batch's H8,
 * LCEHT := LEHT when a batch is verified fully accepted and LEHT := LCEHT
 * when one is rejected, so a rejection erases every entry pushed since the
 * last full acceptance.  For a batch on the main path (all batches before
 * it in its cycle are, or will be, fully accepted: the batches whose
 * counters move) the entries before it are therefore, newest first, its
 * unverified and verified predecessors of the cycle (all full), then the
 * entries previous cycles kept: their full batches and their rejected
 * batch J iff J was decided before batch J - 1's verification completed
 * (a look-ahead decision, D >= 2: the LCEHT saved at that completion holds
 * it); a rejected batch decided at D = 1 is erased, and so is the batch
 * J + 1 drafted after it (flushed).  Along the committed lineage (each batch
 * starting from the row of Q of the previous one's exit bucket: the last
 * token if full, the rejected token if not) a batch is thus kept with
 * probability kappa(f) = 1 if full, p_kr (the share of main-path decisions
 * at D >= 2, taken independent of the batch's fate) if rejected, and
 * dropped otherwise.  Flushed batches decided at D >= 3 before the
 * verification of J - 1 completed are kept as well; their entries are
 * ignored.
 *
 * The recent entries are correlated with the current batch through the
 * entropy regime, so their joint law
 *     J[s3][h][f] = P(s3, H8 of this batch = h, this batch fully accepted = f)
 * is computed exactly under that lineage: summing over the lineage position
 * of the third most recent kept batch (the start law there is the long-run
 * batch start law), the path is kept batch, (dropped batches, kept batch)
 * twice, dropped batches, the current batch, with the runs of dropped
 * batches summed in closed form, G = (I - Dr)^-1 for Dr[e][e2] = P(dropped,
 * exit e2 | previous exit e) (neumann_sum).  The older average o is taken
 * independent, its law that of four independent kept entries.  Then:
 *   f(r) = P(full | r), the up-probability of the counters with recent
 *          average r (LLR does not change a batch's acceptance);
 *   cont(o, r, D) = per-visit continue probability of that counter, with a
 *          Poisson(n_dec P(o) P(r) P(D)) number of visits in a generation,
 *          of which a share qD[D] updates it (the others' batches are
 *          flushed or discarded first) (edc_counter_continue; pD NULL: the
 *          stationary law);
 *   c(h, f, D) = E[cont(o, r, D) | h, f] under J and the law of o.
 * Decisions of batches later flushed see the same law (their history holds
 * the doomed batch instead; flag AHASD_FLAG_EDC_MEAN_FIELD). */
static void edc_build(const dd_table *tab, const ahasd_profile *prof, int L, const double *pD,
                      const double *qD, double n_dec, double p_kr, ch_edc *ed)
{
    enum { H = AHASD_EDC_BUCKETS, S3 = 3 * (H - 1) + 1, S4 = 4 * (H - 1) + 1,
           NB = AHASD_MAX_BUCKETS };
    int B = tab->B, KM = tab->kmax, s, e, e2, k, f, h, i, t, n, o, r, d, dl, j;
    double T[AHASD_MAX_BUCKETS][H][AHASD_MAX_BUCKETS], hs[AHASD_MAX_BUCKETS][H][AHASD_MAX_BUCKETS][2];
    double w[AHASD_MAX_BUCKETS][S3], w2[AHASD_MAX_BUCKETS][S3], J[S3][H][2];
    double Dr[NB * NB], G[NB * NB], hf[AHASD_MAX_BUCKETS][H][2];
    double ph[H], t4[S4], tmp[S4], po[H], pr[H], fr_num[H], fr_den[H], fr[H];
    double cont[H][H][CH_MAXD], tot, x;

    if (!(p_kr > 0.0))
        p_kr = 0.0;
    if (p_kr > 1.0)
        p_kr = 1.0;
    /* hs[s][h][e][f] = P(H8 = h, exit = e, full = f | start s) */
    memset(hs, 0, sizeof hs);
    for (s = 0; s < B; s++)
        for (k = 1; k <= KM; k++)
            for (f = 0; f < 2; f++)
                for (e = 0; e < B; e++)
                    for (h = 0; h < H; h++)
                        hs[s][h][e][f] += tab->pkfeh[(((s * (KM + 1) + k) * 2 + f) * B + e) * H + h];
    /* T[e][h][e2] = P(next batch kept, with H8 = h and exit e2 | previous
     * exit e); Dr[e][e2] = P(next batch dropped, exit e2 | previous exit e) */
    memset(T, 0, sizeof T);
    memset(Dr, 0, sizeof Dr);
    for (e = 0; e < B; e++)
        for (s = 0; s < B; s++) {
            double q = prof->q[e * AHASD_MAX_BUCKETS + s];
            if (q <= 0.0)
                continue;
            for (h = 0; h < H; h++)
                for (e2 = 0; e2 < B; e2++) {
                    T[e][h][e2] += q * (hs[s][h][e2][1] + p_kr * hs[s][h][e2][0]);
                    Dr[e * NB + e2] += q * (1.0 - p_kr) * hs[s][h][e2][0];
                }
        }
    neumann_sum(B, Dr, G);
    /* three previous kept batches: state (exit bucket, sum of their H8);
     * the oldest starts from the long-run batch start law, each is followed
     * by a run of dropped batches */
    memset(w, 0, sizeof w);
    memset(ph, 0, sizeof ph);
    for (s = 0; s < B; s++)
        for (h = 0; h < H; h++)
            for (e = 0; e < B; e++) {
                x = tab->stat_start[s] * (hs[s][h][e][1] + p_kr * hs[s][h][e][0]);
                w[e][h] += x;
                ph[h] += x;
            }
    for (n = 0; n < 3; n++) {
        if (n > 0) {
            memset(w2, 0, sizeof w2);
            for (e = 0; e < B; e++)
                for (t = 0; t < S3; t++) {
                    if (!(w[e][t] > 0.0))
                        continue;
                    for (h = 0; h < H && t + h < S3; h++)
                        for (e2 = 0; e2 < B; e2++)
                            w2[e2][t + h] += w[e][t] * T[e][h][e2];
                }
            memcpy(w, w2, sizeof w);
        }
        /* the dropped batches after it */
        memset(w2, 0, sizeof w2);
        for (e = 0; e < B; e++)
            for (t = 0; t < S3; t++) {
                if (!(w[e][t] > 0.0))
                    continue;
                for (e2 = 0; e2 < B; e2++)
                    w2[e2][t] += w[e][t] * G[e * NB + e2];
            }
        memcpy(w, w2, sizeof w);
    }
    /* law of a kept entry's H8 (for the older average) */
    tot = 0.0;
    for (h = 0; h < H; h++)
        tot += ph[h];
    for (h = 0; h < H; h++)
        ph[h] = tot > 0.0 ? ph[h] / tot : (h == 0);
    /* the current batch: J[t][h][f] = sum_e w[e][t] hf[e][h][f] with
     * hf[e][h][f] = sum_s q[e][s] sum_e2 hs[s][h][e2][f] (its exit summed
     * out) */
    memset(hf, 0, sizeof hf);
    for (e = 0; e < B; e++)
        for (s = 0; s < B; s++) {
            double q = prof->q[e * AHASD_MAX_BUCKETS + s];
            if (q <= 0.0)
                continue;
            for (h = 0; h < H; h++)
                for (e2 = 0; e2 < B; e2++)
                    for (f = 0; f < 2; f++)
                        hf[e][h][f] += q * hs[s][h][e2][f];
        }
    memset(J, 0, sizeof J);
    for (e = 0; e < B; e++)
        for (t = 0; t < S3; t++) {
            if (!(w[e][t] > 0.0))
                continue;
            for (h = 0; h < H; h++)
                for (f = 0; f < 2; f++)
                    J[t][h][f] += w[e][t] * hf[e][h][f];
        }
    tot = 0.0;
    for (t = 0; t < S3; t++)
        for (h = 0; h < H; h++)
            for (f = 0; f < 2; f++)
                tot += J[t][h][f];
    /* older average: four independent kept entries */
    memset(t4, 0, sizeof t4);
    t4[0] = 1.0;
    for (n = 1; n <= 4; n++) {
        memset(tmp, 0, sizeof tmp);
        for (i = 0; i <= (n - 1) * (H - 1); i++)
            for (h = 0; h < H; h++)
                tmp[i + h] += t4[i] * ph[h];
        memcpy(t4, tmp, sizeof tmp);
    }
    memset(po, 0, sizeof po);
    for (i = 0; i < S4; i++)
        po[i / 4] += t4[i];
    memset(pr, 0, sizeof pr);
    memset(fr_num, 0, sizeof fr_num);
    memset(fr_den, 0, sizeof fr_den);
    for (t = 0; t < S3; t++)
        for (h = 0; h < H; h++) {
            r = (t + h) / 4;
            x = (J[t][h][0] + J[t][h][1]) / (tot > 0.0 ? tot : 1.0);
            pr[r] += x;
            fr_num[r] += J[t][h][1];
            fr_den[r] += J[t][h][0] + J[t][h][1];
        }
    for (r = 0; r < H; r++)
        fr[r] = fr_den[r] > 0.0 ? fr_num[r] / fr_den[r] : 0.5;
    /* LLR saturates at 7: depths 7 and 8 share counters and their visits. */
    for (o = 0; o < H; o++)
        for (r = 0; r < H; r++)
            for (d = 1; d <= L; d++) {
                double lam, pdl = 0.0;
                dl = d > 7 ? 7 : d;
                if (pD != NULL)
                    for (j = 1; j <= L; j++)
                        if ((j > 7 ? 7 : j) == dl)
                            pdl += pD[j];
                lam = pD == NULL ? INFINITY : n_dec * po[o] * pr[r] * pdl;
                cont[o][r][d] = edc_counter_continue(fr[r], lam, qD == NULL ? 1.0 : qD[d]);
            }
    for (h = 0; h < H; h++)
        for (f = 0; f < 2; f++)
            for (d = 1; d <= L; d++) {
                double num = 0.0, den = 0.0;
                for (t = 0; t < S3; t++) {
                    if (!(J[t][h][f] > 0.0))
                        continue;
                    r = (t + h) / 4;
                    x = 0.0;
                    for (o = 0; o < H; o++)
                        x += po[o] * cont[o][r][d];
                    num += J[t][h][f] * x;
                    den += J[t][h][f];
                }
                ed->c[h][f][d] = den > 0.0 ? num / den : 1.0;
            }
}

/* ------------------------------------------------------------------ */
/* Per-segment context                                                 */
/* ------------------------------------------------------------------ */
/* Fill the marks tables of cx for the schedule: plain async has a single
 * "continue" branch; EDC splits each outcome by c(h, D). */
static void ctx_marks(ch_ctx *cx, const ch_marks *mk, const ch_edc *ed)
{
    int c, d, k, j, h, KM = cx->KM;
    double cf, cn, nf, w;

    cx->R = mk->R;
    cx->nst = 2 * mk->R;
    cx->mix = mk->R;
    cx->tmix = mk->R + 1;
    memcpy(cx->xf, mk->xf, sizeof cx->xf);
    memcpy(cx->xr, mk->xr, sizeof cx->xr);
    cx->xl = (const double (*)[CH_KM][CH_KM + 1][CH_RMAX])mk->xl;
    memcpy(cx->start_mix, mk->start_mix, sizeof cx->start_mix);
    memcpy(cx->occ, mk->occ, sizeof cx->occ);
    /* every entry read (D <= L, k <= KM, m <= k, class <= R) is written below */
    for (c = 0; c <= mk->R + 1; c++)
        for (d = 1; d <= cx->L; d++)
            for (k = 1; k <= KM; k++) {
                /* share of continue among full / not-full batches of length k */
                cf = 1.0;
                cn = 1.0;
                if (cx->edc) {
                    double sf = 0.0, sn = 0.0, tf = 0.0, tn = 0.0;
                    for (h = 0; h < AHASD_EDC_BUCKETS; h++) {
                        sf += mk->hfull[c][k][h] * ed->c[h][1][d];
                        tf += mk->hfull[c][k][h];
                        sn += mk->hnf[c][k][h] * ed->c[h][0][d];
                        tn += mk->hnf[c][k][h];
                    }
                    cf = tf > 0.0 ? sf / tf : 1.0;
                    cn = tn > 0.0 ? sn / tn : 1.0;
                }
                if (d == 1) {
                    cx->pk[c][k] = mk->pfull[c][k];
                    for (j = 0; j < k; j++)
                        cx->pk[c][k] += mk->pkj[c][k][j];
                }
                cx->pf[c][d][0][k] = mk->pfull[c][k] * cf;
                cx->pf[c][d][1][k] = mk->pfull[c][k] * (1.0 - cf);
                for (int b = 0; b < 2; b++) {
                    double cb = b == 0 ? cn : 1.0 - cn;
                    cx->pn[c][d][b][k][0] = 0.0;
                    cx->an[c][d][b][k][0] = 0.0;
                    for (j = 0; j < k; j++) {
                        w = mk->pkj[c][k][j] * cb;
                        cx->pn[c][d][b][k][j + 1] = cx->pn[c][d][b][k][j] + w;
                        cx->an[c][d][b][k][j + 1] = cx->an[c][d][b][k][j] + w * j;
                    }
                }
                (void)nf;
            }
}

/* n = ceil(-a / ybar), the number of unverified batches a lead of a < 0
 * covers, clamped to [1, nmax] in floating point before the conversion (a
 * lead of 1e10 drafts must not overflow int); nmax < 1 gives nmax. */
static int ch_queue_depth(double a, double ybar, int nmax)
{
    double q = ceil(-a / ybar - 1e-12);
    int n = 1;

    if (q > 1.0)
        n = q < (double)nmax ? (int)q : nmax;
    return n > nmax ? nmax : n;
}

/* Where the NPU is when batch j+1 finishes drafting, from a = F_{j+1} - C_j:
 * D (unverified batches including j+1) and R (time until the oldest of them
 * completes).  a >= 0: the NPU is idle and takes batch j+1 (D = 1, R is its
 * own verification, filled by the caller).  See the header comment. */
static void npu_state(const ch_ctx *cx, double a, int *D, double *R)
{
    int n;

    if (a >= 0.0 || cx->L == 1) {
        *D = 1;
        *R = 0.0;
        return;
    }
    n = ch_queue_depth(a, cx->ybar, cx->L - 1);
    *D = 1 + n;
    *R = -a - (n - 1) * cx->ybar;
    if (*R < 0.0)
        *R = 0.0;
}

/* TVC with exact predictions, on the newest batch of k tokens when the
 * NPU's current verification has R seconds left: chunks of pre-verification
 * while switch (on entry) + preverify(m) fits in left = R - t_d, each at most
 * m_max tokens.  Fills the cumulative token counts M[i], the chunk sizes
 * mm[i], the time T[i] at which chunk i ends (from the decision), the
 * number of chunks, and returns it. */
static int tvc_chunks(const ch_ctx *cx, double R, int k, int *M, int *mm, double *T)
{
    int nch = 0, avail = k, mc = 0, q, mode_dlm = 1;
    double left = R - cx->td, tt = 0.0, budget;

    while (R > 0.0 && avail > 0 && nch < CH_KM) {   /* M, mm, T hold CH_KM chunks */
        budget = left - tt - (mode_dlm ? cx->sw : 0.0);
        q = avail < cx->mmax ? avail : cx->mmax;
        while (q >= 1 && !(cx->PV[q] <= budget))
            q--;
        if (q < 1)
            break;
        tt += (mode_dlm ? cx->sw : 0.0) + cx->PV[q];
        mode_dlm = 0;
        mc += q;
        avail -= q;
        M[nch] = mc;
        mm[nch] = q;
        T[nch] = tt;
        nch++;
    }
    return nch;
}

/* The number of leading ch_tail fields a schedule's tail uses: the
 * drafting counts (async), the decisions (EDC), and the pre-verification
 * up to chunks of pm tokens (TVC). */
static int ch_tail_len(int edc, int tvc, int pm)
{
    size_t n = offsetof(ch_tail, decisions);

    if (tvc)
        n = offsetof(ch_tail, pv) + ((size_t)pm + 1) * sizeof(double);
    else if (edc)
        n = offsetof(ch_tail, switches);
    return (int)(n / sizeof(double));
}

/* dst += w src over the first n doubles (the rest stays 0). */
static void tail_add(ch_tail *dst, const ch_tail *src, double w, int n)
{
    const double *s = (const double *)src;
    double *d = (double *)dst;
    int i;

    for (i = 0; i < n; i++)
        d[i] += w * s[i];
}

/* Where x falls on the grid: gx[*i] <= x <= gx[*i + 1] with weight *fr on
 * the upper point (x outside the grid is clamped to its ends). */
static void grid_locate(const ch_ctx *cx, double x, int *i, double *fr)
{
    int lo = 0, hi = cx->G - 1, mid;

    if (cx->G == 1 || x <= cx->gx[0]) {
        *i = 0;
        *fr = 0.0;
        return;
    }
    if (x >= cx->gx[hi]) {
        *i = hi - 1;
        *fr = 1.0;
        return;
    }
    /* the largest lo <= G - 2 with gx[lo] <= x: start from x's bin, then
     * walk (rounding of the bin can put it one cell off either way) */
    mid = (int)((x - cx->gx[0]) * cx->gbin_scale);
    lo = cx->gbin[mid < 0 ? 0 : (mid >= CH_GLUT ? CH_GLUT - 1 : mid)];
    while (lo > 0 && cx->gx[lo] > x)
        lo--;
    while (lo < hi - 1 && cx->gx[lo + 1] <= x)
        lo++;
    *i = lo;
    *fr = (x - cx->gx[lo]) / (cx->gx[lo + 1] - cx->gx[lo]);
}

/* Accumulate w x sum_c law[c] V[c][t](tau) into acc, interpolating on the
 * grid (law: the next batch's regime class, R entries).  Points at or
 * beyond the flush (tau >= 0) are worth nothing.  Weight that falls on the
 * cell being computed (grid point i_self of row t_self, any class) is not
 * added: it goes to self[c] (the caller solves for those cells). */
static void tail_interp(const ch_ctx *cx, int t, double tau, double w, const double *law,
                        ch_tail *acc, int i_self, int t_self, double *self)
{
    double fr, wc;
    int i0, c;

    if (!(tau < 0.0) || cx->G == 1 || !(w > 0.0))
        return;
    grid_locate(cx, tau, &i0, &fr);
    for (c = 0; c < cx->R; c++) {
        wc = w * law[c];
        if (!(wc > 0.0))
            continue;
        if (i0 == i_self && t == t_self)
            self[c] += wc * (1.0 - fr);
        else
            tail_add(acc, &cx->tail[c][t][i0], wc * (1.0 - fr), cx->tail_n);
        tail_add(acc, &cx->tail[c][t][i0 + 1], wc * fr, cx->tail_n);
    }
}

/* Solve V[c] = acc[c] + sum_c2 S[c][c2] V[c2] (c, c2 < R) for the tail
 * values of one cell, V = (I - S)^{-1} acc by Gauss-Jordan elimination on
 * the R x R system (R <= CH_RMAX; I - S is diagonally dominant when the
 * self weights are probabilities of staying put, sum_c2 S[c][c2] < 1); a
 * (numerically) singular system keeps acc. */
static void tail_solve(ch_ctx *cx, double S[CH_RMAX][CH_RMAX], ch_tail *acc, int t, int i)
{
    double M[CH_RMAX][CH_RMAX], f;
    double *row[CH_RMAX];
    int R = cx->R, c, c2, r, j, n = cx->tail_n;

    for (c = 0; c < R; c++) {
        for (c2 = 0; c2 < R; c2++)
            M[c][c2] = (c == c2 ? 1.0 : 0.0) - S[c][c2];
        row[c] = (double *)(void *)&acc[c];
    }
    for (c = 0; c < R; c++) {
        if (!(fabs(M[c][c]) > 1e-12))
            goto store;
        for (r = 0; r < R; r++) {
            if (r == c || M[r][c] == 0.0)
                continue;
            f = M[r][c] / M[c][c];
            for (c2 = 0; c2 < R; c2++)
                M[r][c2] -= f * M[c][c2];
            for (j = 0; j < n; j++)
                row[r][j] -= f * row[c][j];
        }
    }
    for (c = 0; c < R; c++) {
        f = 1.0 / M[c][c];
        for (j = 0; j < n; j++)
            row[c][j] *= f;
    }
store:
    for (c = 0; c < R; c++) {
        memset(&cx->tail[c][t][i], 0, sizeof(ch_tail));
        tail_add(&cx->tail[c][t][i], &acc[c], 1.0, cx->tail_n);
    }
}

/* The class law of the batch drafted after one of start class c and k
 * tokens, given its outcome: fully accepted with weight wf or rejected with
 * A in [lo, k) with weight wr (weights as in pf and pn: an EDC branch scales
 * each fate by a factor that depends on neither A nor the last token, so
 * within a fate the tables' laws hold).  The next batch starts from the row
 * of the last drafted token: law xf after a full batch, xl after a rejected
 * one (the drafter goes on past the rejected token).  law: R entries,
 * summing to 1 (all zero when wf + wr = 0). */
static void next_law(const ch_ctx *cx, int c, int k, double wf, double wr, int lo, double *law)
{
    double sr = 0.0, tot = wf + wr;
    int c2;

    for (c2 = 0; c2 < cx->R; c2++)
        sr += cx->xl[c][k][k][c2] - cx->xl[c][k][lo][c2];
    if (!(sr > 0.0)) {
        wr = 0.0;
        tot = wf;
    }
    for (c2 = 0; c2 < cx->R; c2++) {
        law[c2] = wf * cx->xf[c][k][c2];
        if (wr > 0.0)
            law[c2] += wr * (cx->xl[c][k][k][c2] - cx->xl[c][k][lo][c2]) / sr;
        law[c2] = tot > 0.0 ? law[c2] / tot : 0.0;
    }
}

/* The flush tail by backward recursion on the grid.  A tail state is a
 * batch start tau < 0 seconds before the flush with t undecided batches
 * already drafted after the doomed one, in regime class c (one value
 * function per class).  The PIM drafts a batch with the marks of its
 * class; if the flush comes first the completed
 * tokens and the partial token's time are wasted and the tail ends.
 * Otherwise it decides as on the main path, with D and the oldest pending
 * completion R from npu_state measured against the flush: continue (start
 * the next batch, or wait while D = L_max), an async-edc stop (wait for the
 * next result), or ahasd's TVC (pre-verify; a rejection found makes the
 * batch decided, the PIM rolls back and drafts again).  Each step moves the
 * PIM forward in time, so values come from grid points at larger tau. */
static void tail_build(ch_ctx *cx)
{
    /* The batch's regime class c is part of the tail state: in persistent
     * regimes the batches after a doomed one stay in its regime (short
     * batches where entropy is high, long ones where it is low), and how
     * many of them fit before the flush depends on it.  The next batch
     * starts after this one's last token, whatever this one's fate (nobody
     * verifies it before the flush): class law next_law over both fates,
     * restricted to A >= m when pre-verification accepted the first m
     * tokens; or, after a rejection found by pre-verification, after the
     * rejected token (xr[c][k]). */
    int i, t, k, b, D, n, nch, c, cl, M[CH_KM], mm[CH_KM], L = cx->L, tmax = L - 2, older, rest;
    double tau, a, R, wblock, pk, pb, T[CH_KM], w, S[CH_RMAX][CH_RMAX], law[CH_RMAX];
    ch_tail acc[CH_RMAX];

    if (cx->G == 1 || tmax < 0)
        return;
    /* only rows t <= tmax are used; at and above tau = 0 (the flush) the
     * tail is empty */
    for (cl = 0; cl < cx->R; cl++)
        for (t = 0; t <= tmax; t++)
            for (i = cx->i0; i < cx->G; i++)
                memset(&cx->tail[cl][t][i], 0, sizeof(ch_tail));
    for (i = cx->i0 - 1; i >= 0; i--) {
        tau = cx->gx[i];
        for (t = tmax; t >= 0; t--) {
            memset(acc, 0, sizeof acc);
            memset(S, 0, sizeof S);
            for (cl = 0; cl < cx->R; cl++) {
                ch_tail *ac = &acc[cl];
                double *self = S[cl];
                for (k = 1; k <= cx->KM; k++) {
                    if (!(cx->pk[cl][k] > 0.0))
                        continue;
                    a = tau + k * cx->td;
                    /* D for the decision: the pending batches up to the
                     * doomed one (at least it), the t undecided tail
                     * batches, this one */
                    n = ch_queue_depth(a, cx->ybar, L - 1 - t);
                    D = n + t + 1;
                    R = -a - (n - 1) * cx->ybar;
                    pk = 0.0;
                    for (b = 0; b < 2; b++)
                        pk += cx->pf[cl][D < 1 ? 1 : D][b][k] +
                              cx->pn[cl][D < 1 ? 1 : D][b][k][k];
                    if (!(pk > 0.0))
                        continue;
                    if (a >= 0.0) {
                        /* the flush interrupts this batch */
                        ac->drafted += pk * floor(-tau / cx->td);
                        ac->busy_tokens += pk * (-tau / cx->td);
                        continue;
                    }
                    if (R < 0.0)
                        R = 0.0;
                    ac->drafted += pk * k;
                    ac->busy_tokens += pk * k;
                    ac->batches += pk;
                    ac->batch_tokens += pk * k;
                    wblock = D >= L ? R : 0.0;
                    if (cx->edc) {
                        ac->decisions += pk;
                        ac->stops += cx->pf[cl][D][1][k] + cx->pn[cl][D][1][k][k];
                        ac->ddec[D] += pk;
                    }
                    for (b = 0; b < 2; b++) {
                        pb = cx->pf[cl][D][b][k] + cx->pn[cl][D][b][k][k];
                        if (!(pb > 0.0))
                            continue;
                        next_law(cx, cl, k, cx->pf[cl][D][b][k], cx->pn[cl][D][b][k][k], 0, law);
                        if (b == 0 || !cx->edc) {
                            tail_interp(cx, t + 1, a + wblock, pb, law, ac, i, t, self);
                            continue;
                        }
                        if (!cx->tvc) {
                            tail_interp(cx, t + 1, a + (R > wblock ? R : wblock), pb, law, ac,
                                        i, t, self);
                            continue;
                        }
                        /* TVC takes the earliest undecided tokens after
                         * the NPU's batch: those of the n - 1 batches queued
                         * behind it up to the doomed one (accepted, or the
                         * doomed one's prefix: a rejection TVC finds there
                         * is a rescue, not a flush: none found), then those
                         * of the t undecided tail batches before this one
                         * (kq tokens each, of this batch's class, each
                         * rejecting its m-token prefix with probability
                         * F(m) = P(A < m | K = kq)), then this batch's first
                         * `rest` tokens.  A rejection found in chunk c
                         * makes its batch decided; the later ones are
                         * discarded and the PIM rolls back and drafts from
                         * the correction. */
                        older = n - 1 + t;
                        nch = tvc_chunks(cx, R, older * cx->kq + k, M, mm, T);
                        if (nch == 0) {
                            tail_interp(cx, t + 1, a + wblock, pb, law, ac, i, t, self);
                            continue;
                        }
                        rest = M[nch - 1] - older * cx->kq;
                        rest = rest < 0 ? 0 : (rest > k ? k : rest);
                        /* surv: P(no rejection found so far) */
                        double surv = 1.0, fq = 0.0, pkq = 0.0;
                        int kq = cx->kq, base = (n - 1) * kq;
                        for (c = 0; c < 2; c++)
                            pkq += cx->pf[cl][D][c][kq] + cx->pn[cl][D][c][kq][kq];
                        /* Work the flush interrupts is charged only up to
                         * the flush (-a ahead): a share cut = min(1, -a /
                         * length) of each pre-verification, switch and
                         * rollback. */
                        for (c = 0; c < nch; c++) {
                            int lo = c == 0 ? 0 : M[c - 1], hi = M[c], c2, u;
                            double pc = 0.0, len = T[c] + cx->sw + cx->rb;
                            double cut = len > -a ? -a / len : 1.0;
                            /* older tail batches u = 0..t-1 over [base + u kq, base + (u+1) kq) */
                            for (u = 0; u < t && pkq > 0.0; u++) {
                                int b0 = base + u * kq, l2 = lo > b0 ? lo - b0 : 0;
                                int h2 = hi - b0 < kq ? hi - b0 : kq;
                                double f0, f1;
                                if (h2 <= l2)
                                    continue;
                                f0 = (cx->pn[cl][D][0][kq][l2] + cx->pn[cl][D][1][kq][l2]) / pkq;
                                f1 = (cx->pn[cl][D][0][kq][h2] + cx->pn[cl][D][1][kq][h2]) / pkq;
                                /* P(first rejection of batch u in [l2, h2) | none before) */
                                fq = 1.0 - f0 > 1e-300 ? (f1 - f0) / (1.0 - f0) : 0.0;
                                pc += surv * fq;
                                surv *= 1.0 - fq;
                            }
                            pc *= pb;
                            {   /* this batch's tokens [lo2, hi2) */
                                int lo2 = lo - older * kq, hi2 = hi - older * kq;
                                lo2 = lo2 < 0 ? 0 : lo2;
                                hi2 = hi2 > rest ? rest : hi2;
                                if (hi2 > lo2)
                                    pc += surv * (cx->pn[cl][D][b][k][hi2] - cx->pn[cl][D][b][k][lo2]);
                            }
                            if (!(pc > 0.0))
                                continue;
                            for (c2 = 0; c2 <= c; c2++)
                                ac->pv[mm[c2]] += pc * cut;
                            ac->switches += 2.0 * pc * cut;
                            ac->rollbacks += pc * cut;
                            ac->preverify_s += pc * cut * (T[c] + cx->sw);
                            /* decided: the PIM rolls back and drafts again */
                            tail_interp(cx, t, a + len, pc, cx->xr[cl][k], ac, i, t, self);
                        }
                        w = surv * (pb - cx->pn[cl][D][b][k][rest]);
                        if (w > 0.0) {
                            double len = T[nch - 1] + cx->sw, cut = len > -a ? -a / len : 1.0;
                            double tend = T[nch - 1] + cx->sw;
                            int decided = rest >= k;
                            for (c = 0; c < nch; c++)
                                ac->pv[mm[c]] += w * cut;
                            ac->switches += 2.0 * w * cut;
                            ac->preverify_s += w * cut * (T[nch - 1] + cx->sw);
                            next_law(cx, cl, k, cx->pf[cl][D][b][k],
                                     pb - cx->pn[cl][D][b][k][rest] - cx->pf[cl][D][b][k], rest,
                                     law);
                            tail_interp(cx, decided ? t : t + 1,
                                        a + (decided || tend > wblock ? tend : wblock), w,
                                        law, ac, i, t, self);
                        }
                    }
                }
            }
            /* V[c] = acc[c] + sum_c2 S[c][c2] V[c2] */
            tail_solve(cx, S, acc, t, i);
        }
    }
}

/* Add mass m at lead beta (clamped to the grid) in class cls, splitting it
 * between the two neighbouring grid points so that the mean is kept. */
static void push(const ch_ctx *cx, double *nxt, int st, double beta, double m)
{
    double fr;
    int i, G = cx->G;

    if (G == 1) {
        nxt[st] += m;
        return;
    }
    grid_locate(cx, beta, &i, &fr);
    nxt[st * G + i] += m * (1.0 - fr);
    nxt[st * G + i + 1] += m * fr;
}

/* Mass m at lead beta, split over the next batch's regime class by law x. */
static void push_split(const ch_ctx *cx, double *nxt, const double *x, int u, double beta,
                       double m)
{
    int c;

    for (c = 0; c < cx->R; c++)
        if (x[c] > 0.0)
            push(cx, nxt, ST(c, u), beta, m * x[c]);
}

/* A batch of k drafts of which kv are left for the NPU (kv = 0: skipped),
 * with PIM delay w after it: outcomes "fully accepted" (mass mf, next start
 * class 0 with bit u_next) and "rejected by the NPU" (mass mn, A >= lo,
 * E[A; .] = asum, ends the cycle). */
static void verified_outcome(const ch_ctx *cx, ch_count *it, double *nxt, int cls, double a,
                             int k, int kv, double w, double mf, double mn, double asum,
                             int lo, int u_next)
{
    double y = kv > 0 ? cx->sync + cx->V[kv] : 0.0;
    double inc = (a > 0.0 ? a : 0.0) + y;
    double beta = (a < 0.0 ? a : 0.0) - y + w;
    int bonus = 0;

    if (beta >= -1e-12 * (1.0 + fabs(y))) {
        /* the PIM has not started a later draft when this result comes (it
         * waited for it, or is still pre-verifying or rolling back) */
        bonus = kv > 0;
        if (beta < 0.0)
            beta = 0.0;
    }
    if (mf > 0.0) {
        it->wall += mf * inc;
        if (kv > 0)
            it->verify[kv] += mf;
        it->accepted += mf * k;
        it->committed += mf * (k + bonus);
        it->rounds += mf;
        push_split(cx, nxt, cx->xf[cls][k], u_next, beta, mf);
    }
    if (mn > 0.0) {
        /* the flush at C_{j+1}; then the rollback */
        it->wall += mn * (inc + cx->rb);
        if (kv > 0)
            it->verify[kv] += mn;
        it->accepted += asum;
        it->committed += asum + mn;
        it->rounds += mn;
        it->rollbacks += mn;
        /* the PIM's work from its next batch start until the flush is
         * wasted: the tail value at tau = S_{J+1} - C_J = beta */
        if (beta < 0.0 && cx->G > 1) {
            double fr, law[CH_RMAX];
            int i0, c;
            grid_locate(cx, beta, &i0, &fr);
            /* that batch starts after this one's last token, drafted past
             * the rejected one */
            next_law(cx, cls, k, 0.0, 1.0, lo, law);
            for (c = 0; c < cx->R; c++) {
                it->tailmass[c][i0] += mn * law[c] * (1.0 - fr);
                it->tailmass[c][i0 + 1] += mn * law[c] * fr;
            }
        }
    }
}

/* ahasd with L_max >= 3: a batch J that the NPU will reject can still be
 * rescued while it waits in the queue.  After J (at F_J, with the NPU's
 * batch before it completing -a later) the PIM waits w; the first batch it
 * starts once J is the oldest queued one (at once if D = 2 at J's decision,
 * else when the NPU takes the batch before J, about -a - Ybar after F_J)
 * has K' tokens (marks of the after-rejection class: it starts after J's
 * last token); if it is done while the NPU is still on the batch before J
 * (0 < R' <= Ybar, R' the time left until the NPU reaches J; D = 3 taken for
 * its decision), an EDC stop there runs TVC on J's tokens not yet
 * pre-verified (the first p are): a rejection found in chunk c makes J
 * known (the NPU skips it, so C_J = C_{J-1}), J+1 is discarded and the PIM
 * rolls back and restarts from J's correction at
 * beta' = -R' + T_c + switch + rollback -- no flush.  Records the rescued
 * outcomes (mass m times the joint probabilities of the tables) and returns
 * the rescued mass of A in [p, k) with *asum_out its E[A; .]. */
static double rescue(const ch_ctx *cx, ch_count *it, double *nxt, int cls, int D, int b, int k,
                     double a, double w, int p, double m, double *asum_out)
{
    int k2, c, c2, nch, M[CH_KM], mm[CH_KM], d2;
    double T[CH_KM], Rr, pstop, pr, ar, mass, total = 0.0;

    *asum_out = 0.0;
    if (!cx->tvc || cx->L < 3 || !(a < 0.0) || p >= k)
        return 0.0;
    d2 = 3;
    for (k2 = 1; k2 <= cx->KM; k2++) {
        if (!(cx->pk[cx->tmix][k2] > CH_PK_NEGLIGIBLE))
            continue;
        /* the first batch the PIM starts once J is the oldest queued one:
         * right after J (D = 2), or once the NPU takes the batch before J,
         * about -a - Ybar after F_J (D >= 3) */
        Rr = -a - ((D <= 2 ? w : (w > -a - cx->ybar ? w : -a - cx->ybar)) + k2 * cx->td);
        if (!(Rr > 0.0) || Rr > cx->ybar)
            continue;
        pstop = cx->pf[cx->tmix][d2][1][k2] + cx->pn[cx->tmix][d2][1][k2][k2];
        if (!(pstop > 0.0))
            continue;
        nch = tvc_chunks(cx, Rr, k - p, M, mm, T);
        for (c = 0; c < nch; c++) {
            int lo = p + (c == 0 ? 0 : M[c - 1]), hi = p + M[c];
            pr = cx->pn[cls][D][b][k][hi] - cx->pn[cls][D][b][k][lo];
            ar = cx->an[cls][D][b][k][hi] - cx->an[cls][D][b][k][lo];
            mass = m * pstop * pr;
            if (!(mass > 0.0))
                continue;
            it->accepted += m * pstop * ar;
            it->committed += m * pstop * ar + mass;
            it->rounds += mass;
            /* J+1: drafted, decided (stop), discarded */
            it->drafted += mass * k2;
            it->draft_tokens += mass * k2;
            it->draft_wasted += mass * k2;
            it->batches += mass;
            it->batch_tokens += mass * k2;
            it->decisions += mass;
            it->stops += mass;
            it->dtail[d2] += mass;
            for (c2 = 0; c2 <= c; c2++)
                it->pv[mm[c2]] += mass;
            it->switches += 2.0 * mass;
            it->rollbacks += mass;
            it->preverify_s += mass * (T[c] + cx->sw);
            {
                push_split(cx, nxt, cx->xr[cls][k], 1, -Rr + T[c] + cx->sw + cx->rb, mass);
            }
            total += mass;
            *asum_out += m * pstop * ar;
        }
    }
    return total;
}

/* One batch drafted from lead beta in state class st, carrying mass m.
 * The bit u of st says whether every queued batch older than this one is
 * already decided (pre-verified): then TVC starts on this batch; if not, on
 * the D - 2 older queued batches first.  The bit after this batch (for the
 * next one) is 1 when this batch is decided or went straight to an idle NPU
 * (and u was 1 or there were no older queued batches). */
static void step_state(const ch_ctx *cx, int st, double beta, double m, ch_count *it,
                       double *nxt)
{
    int k, b, D, KM = cx->KM, cls = st >> 1, u = st & 1;
    double a, R, y, wblock, pk, pfull, pnf, anf;

    for (k = 1; k <= KM; k++) {
        int older, u_undec;
        if (!(cx->pk[cls][k] > CH_PK_NEGLIGIBLE))
            continue;
        a = beta + k * cx->td;
        npu_state(cx, a, &D, &R);
        y = cx->sync + cx->V[k];
        /* undecided queued batches older than this one: none at D <= 2 */
        older = (D >= 3 && !u) ? D - 2 : 0;
        /* the bit for the next batch when this one stays undecided */
        u_undec = (a >= 0.0 && older == 0) ? 1 : 0;
        /* blocked at D = L_max until the oldest unverified batch completes
         * (for L_max = 1 that is this batch itself) */
        wblock = D >= cx->L ? (a >= 0.0 ? y : R) : 0.0;
        pk = cx->pf[cls][D][0][k] + cx->pf[cls][D][1][k] + cx->pn[cls][D][0][k][k] +
             cx->pn[cls][D][1][k][k];
        if (!(pk > 0.0))
            continue;
        it->draft_tokens += m * pk * k;
        it->drafted += m * pk * k;
        it->batches += m * pk;
        it->batch_tokens += m * pk * k;
        if (cx->edc) {
            it->decisions += m * pk;
            it->stops += m * (cx->pf[cls][D][1][k] + cx->pn[cls][D][1][k][k]);
            it->dmass[D] += m * pk;
        }
        for (b = 0; b < 2; b++) {
            int M[CH_KM], mm[CH_KM], nch = 0, i, nskip = 0, rest, Dn;
            double T[CH_KM], tend, shift = 0.0, a2, wb2, ra, rm;

            pfull = cx->pf[cls][D][b][k];
            pnf = cx->pn[cls][D][b][k][k];
            anf = cx->an[cls][D][b][k][k];
            if (!(pfull + pnf > 0.0))
                continue;
            if (b == 0) {
                rm = rescue(cx, it, nxt, cls, D, b, k, a, wblock, 0, m, &ra);
                verified_outcome(cx, it, nxt, cls, a, k, k, wblock, m * pfull, m * pnf - rm,
                                 m * anf - ra, 0, u_undec);
                continue;
            }
            if (!cx->tvc) {
                /* async-edc stop: wait for the next verification result */
                double wstop = a >= 0.0 ? y : R;
                verified_outcome(cx, it, nxt, cls, a, k, k, wstop > wblock ? wstop : wblock,
                                 m * pfull, m * pnf, m * anf, 0, u_undec);
                continue;
            }
            /* ahasd stop: TVC with exact predictions.  Pre-verification
             * covers the undecided older queued batches first (the chain
             * knows they were accepted; each one covered whole is skipped by
             * the NPU: the completions after it come one mean NPU occupancy
             * earlier, so the lead grows by that and the wall and the
             * verification are taken back, and D drops), then this batch. */
            if (a < 0.0)
                nch = tvc_chunks(cx, R, older * cx->kq + k, M, mm, T);
            if (nch == 0) {
                /* m < 1: the PIM keeps drafting */
                rm = rescue(cx, it, nxt, cls, D, b, k, a, wblock, 0, m, &ra);
                verified_outcome(cx, it, nxt, cls, a, k, k, wblock, m * pfull, m * pnf - rm,
                                 m * anf - ra, 0, u_undec);
                continue;
            }
            tend = T[nch - 1] + cx->sw;
            if (older > 0) {
                nskip = M[nch - 1] / cx->kq;
                if (nskip > older)
                    nskip = older;
            }
            rest = nskip == older ? M[nch - 1] - older * cx->kq : 0;
            if (rest > k)
                rest = k;
            shift = nskip * cx->ybar;
            a2 = a + shift;
            Dn = D - nskip;
            wb2 = Dn >= cx->L ? R : 0.0;
            {
                double mass = m * (pfull + pnf);
                for (i = 0; i < nch; i++)
                    it->pv[mm[i]] += mass;
                it->switches += 2.0 * mass;
                it->preverify_s += mass * tend;
                if (nskip > 0) {
                    it->wall -= mass * shift;
                    it->verify[cx->kq] -= mass * nskip;
                }
            }
            /* a rejection in this batch's first `rest` tokens: the batch is
             * decided (prefix and correction), the NPU skips it, every draft
             * after it is discarded and the PIM rolls back and drafts; the
             * catch comes in the chunk that holds the rejected token (its
             * time approximated by the end of the pre-verification when
             * older batches came first) */
            for (i = 0; i < nch && rest > 0; i++) {
                int lo, hi;
                double pc, ac, w, mcm;
                if (older > 0) {
                    if (i > 0)
                        break;
                    lo = 0;
                    hi = rest;
                    w = tend;
                } else {
                    lo = i == 0 ? 0 : M[i - 1];
                    hi = M[i] < rest ? M[i] : rest;
                    w = T[i] + cx->sw;
                    if (hi <= lo)
                        continue;
                }
                pc = cx->pn[cls][D][b][k][hi] - cx->pn[cls][D][b][k][lo];
                ac = cx->an[cls][D][b][k][hi] - cx->an[cls][D][b][k][lo];
                mcm = m * pc;
                if (!(mcm > 0.0))
                    continue;
                it->rollbacks += mcm;
                it->accepted += m * ac;
                it->committed += m * ac + mcm;
                it->rounds += mcm;
                push_split(cx, nxt, cx->xr[cls][k], 1, a2 + w + cx->rb, mcm);
            }
            /* no rejection in the pre-verified prefix of this batch */
            {
                double pnc = pnf - cx->pn[cls][D][b][k][rest];
                double anc = anf - cx->an[cls][D][b][k][rest];
                if (rest >= k) {
                    /* every token pre-verified and accepted: decided, skipped */
                    verified_outcome(cx, it, nxt, cls, a2, k, 0, tend, m * pfull, 0.0, 0.0, k, 1);
                } else {
                    double wj = tend > wb2 ? tend : wb2;
                    rm = rescue(cx, it, nxt, cls, D, b, k, a2, wj, rest, m, &ra);
                    verified_outcome(cx, it, nxt, cls, a2, k, k - rest, wj, m * pfull,
                                     m * pnc - rm, m * anc - ra, rest, 0);
                }
            }
        }
    }
}

static void count_add(ch_count *dst, const ch_count *src, double w)
{
    const double *s = (const double *)src;
    double *d = (double *)dst;
    size_t i, n = sizeof(ch_count) / sizeof(double);

    for (i = 0; i < n; i++)
        d[i] += w * s[i];
}

/* Expected counts of one cycle (flush to flush) from the law v of the
 * first batch's state, by one linear solve.  With P[s][s'] the probability
 * of moving from state s to s' in one batch (rows sum to one minus the
 * flush probability) and R[s] the expected counts of one batch from s, the
 * cycle adds x R with x = v (I - P)^{-1}, the expected visits of each
 * state: (I - P)^T x = v, solved by Gauss-Seidel sweeps over the sparse
 * columns of P (flushes make the iteration contract; it stops when a sweep
 * changes no visit by more than 1e-15 of the largest), or, when that has not
 * settled in CH_GS_SWEEPS sweeps, by dense LU (GSL).  If nothing ever
 * flushes, I - P is singular and the cycle never ends: the stationary law pi
 * of P (a normalisation row replacing one balance equation, by LU) gives
 * the per-batch regime pi R, returned alone (only ratios are used).
 *
 * Only states reachable from the support of v take part, found breadth
 * first: each is stepped once (step_state is the expensive part) and its
 * row of P kept sparse, from which *resid = max_s |(x (I - P) - v)_s| /
 * max_s x_s, the balance residual of the solve, is computed.  work holds
 * n*n doubles (the dense m x m system, or the sparse columns), 3n doubles,
 * n ch_count, n size_t, n*n doubles and 3n + n*n + 1 ints (positions, the
 * sparse rows). */
static int chain_direct(const ch_ctx *cx, const double *v, double *work, ch_count *tot,
                        double *resid, ahasd_error *err)
{
    int ret = AHASD_OK, n = cx->G * cx->nst, s, t, a, b, m = 0, signum, status, ok, flushes = 0;
    int nnz, solved;
    double *A = work, *x = A + (size_t)n * n, *nx = x + n, *rhs = nx + n, rowsum, r, xmax;
    ch_count *R = (ch_count *)(void *)(rhs + n);
    size_t *pdata = (size_t *)(void *)(R + n);
    double *pval = (double *)(void *)(pdata + n);
    int *idx = (int *)(void *)(pval + (size_t)n * n), *pos = idx + n, *pcol = pos + n;
    int *prow = pcol + (size_t)n * n;   /* n + 1 row starts into pcol/pval */
    gsl_permutation perm;
    gsl_matrix_view Am;
    gsl_vector_view xv, bv;

    for (s = 0; s < n; s++) {
        pos[s] = -1;
        nx[s] = 0.0;
    }
    for (s = 0; s < n; s++)
        if (v[s] > 0.0) {
            pos[s] = m;
            idx[m++] = s;
        }
    /* discover: step each listed state once, list what it reaches, keep its
     * row of P (columns are positions in idx) */
    prow[0] = 0;
    for (a = 0; a < m; a++) {
        s = idx[a];
        memset(&R[a], 0, sizeof R[a]);
        step_state(cx, s / cx->G, cx->gx[s % cx->G], 1.0, &R[a], nx);
        prow[a + 1] = prow[a];
        rowsum = 0.0;
        for (t = 0; t < n; t++) {
            if (!(nx[t] > 0.0))
                continue;
            if (pos[t] < 0) {
                pos[t] = m;
                idx[m++] = t;
            }
            pcol[prow[a + 1]] = pos[t];
            pval[prow[a + 1]++] = nx[t];
            rowsum += nx[t];
            nx[t] = 0.0;
        }
        if (rowsum < 1.0 - 1e-12)
            flushes = 1;
    }
    for (a = 0; a < m; a++)
        rhs[a] = v[idx[a]] > 0.0 ? v[idx[a]] : 0.0;
    /* Gauss-Seidel on x_b (1 - P[b][b]) = v_b + sum_{a != b} x_a P[a][b]
     * over the columns of P (built in A's space when they fit): the
     * iteration matrix is substochastic when flushes end cycles, and the
     * visits converge geometrically; a slow or stationary case goes to LU. */
    nnz = prow[m];
    solved = 0;
    if (flushes && (size_t)nnz * (sizeof(double) + sizeof(int)) + (size_t)(m + 1) * sizeof(int) <=
                       (size_t)n * n * sizeof(double)) {
        double *cval = A;
        int *crow = (int *)(void *)(A + nnz), *cst = crow + nnz;
        double dx, diag, acc;
        int sweep;

        for (b = 0; b <= m; b++)
            cst[b] = 0;
        for (t = 0; t < nnz; t++)
            cst[pcol[t] + 1]++;
        for (b = 0; b < m; b++)
            cst[b + 1] += cst[b];
        for (a = 0; a < m; a++)
            for (t = prow[a]; t < prow[a + 1]; t++) {
                b = pcol[t];
                crow[cst[b]] = a;
                cval[cst[b]++] = pval[t];
            }
        for (b = m; b > 0; b--)     /* shift the starts back */
            cst[b] = cst[b - 1];
        cst[0] = 0;
        for (a = 0; a < m; a++)
            x[a] = rhs[a];
        for (sweep = 0; sweep < CH_GS_SWEEPS && !solved; sweep++) {
            dx = 0.0;
            xmax = 0.0;
            for (b = 0; b < m; b++) {
                acc = rhs[b];
                diag = 0.0;
                for (t = cst[b]; t < cst[b + 1]; t++) {
                    if (crow[t] == b)
                        diag += cval[t];
                    else
                        acc += cval[t] * x[crow[t]];
                }
                acc /= 1.0 - diag;
                if (fabs(acc - x[b]) > dx)
                    dx = fabs(acc - x[b]);
                x[b] = acc;
                if (acc > xmax)
                    xmax = acc;
            }
            solved = dx <= 1e-15 * xmax;
        }
    }
    if (!solved) {
        /* (I - P)^T densely, m x m, row-major: A[b*m + a] = [a == b] - P[a][b] */
        for (a = 0; a < m * m; a++)
            A[a] = 0.0;
        for (a = 0; a < m; a++) {
            A[(size_t)a * m + a] = 1.0;
            for (t = prow[a]; t < prow[a + 1]; t++)
                A[(size_t)pcol[t] * m + a] -= pval[t];
        }
        if (!flushes) {
            /* stationary regime: pi (I - P) = 0, sum pi = 1 (replace row 0) */
            for (b = 0; b < m; b++)
                A[b] = 1.0;
            for (a = 0; a < m; a++)
                rhs[a] = a == 0 ? 1.0 : 0.0;
        }
        perm.size = (size_t)m;
        perm.data = pdata;
        Am = gsl_matrix_view_array(A, (size_t)m, (size_t)m);
        xv = gsl_vector_view_array(x, (size_t)m);
        bv = gsl_vector_view_array(nx, (size_t)m);
        for (a = 0; a < m; a++)
            nx[a] = rhs[a];
        status = gsl_linalg_LU_decomp(&Am.matrix, &perm, &signum);
        if (status == GSL_SUCCESS)
            status = gsl_linalg_LU_solve(&Am.matrix, &perm, &bv.vector, &xv.vector);
        ok = status == GSL_SUCCESS;
        for (a = 0; ok && a < m; a++)
            ok = isfinite(x[a]) && x[a] > -1e-9;
        if (!ok) {
            ret = err_set(err, AHASD_ERR_GSL,
                          "async chain: the linear solve for a cycle failed (%s)",
                          status == GSL_SUCCESS ? "non-finite or negative visits"
                                                : gsl_strerror(status));
            goto out;
        }
    }
    /* balance residual from the sparse rows: r = x - x P - v (stationary:
     * x - x P, with sum x = 1) */
    for (a = 0; a < m; a++)
        nx[a] = x[a] - (flushes ? rhs[a] : 0.0);
    for (a = 0; a < m; a++)
        for (t = prow[a]; t < prow[a + 1]; t++)
            nx[pcol[t]] -= x[a] * pval[t];
    r = 0.0;
    xmax = 0.0;
    for (a = 0; a < m; a++) {
        if (fabs(nx[a]) > r)
            r = fabs(nx[a]);
        if (fabs(x[a]) > xmax)
            xmax = fabs(x[a]);
        nx[a] = 0.0;
    }
    *resid = xmax > 0.0 ? r / xmax : r;
    if (!flushes)
        memset(tot, 0, sizeof *tot);
    for (a = 0; a < m; a++)
        if (x[a] > 0.0)
            count_add(tot, &R[a], x[a]);
out:
    return ret;
}

/* Expected counts of one cycle (flush to flush): a cycle starts after a
 * flush, in class "after rejection" (mixed over the regime classes), with
 * the PIM starting to draft at the (idle) NPU's last completion, beta = 0;
 * chain_direct gives the batches' counts, to which the flush tails add the
 * PIM's discarded work after each flush.  v: n doubles of scratch. */
static int chain_cycle(const ch_ctx *cx, double *v, double *dwork, ch_count *tot, double *resid,
                       ahasd_error *err)
{
    int ret = AHASD_OK, n = cx->G * cx->nst, i;

    memset(tot, 0, sizeof *tot);
    memset(v, 0, n * sizeof *v);
    for (i = 0; i < cx->R; i++)
        v[ST(i, 1) * cx->G + cx->i0] = cx->start_mix[i];
    *resid = 0.0;
    if ((ret = chain_direct(cx, v, dwork, tot, resid, err)))
        goto out;
    /* the flush tails: mass at each (class, lead) times the tail value there */
    for (i = 0; i < cx->R * cx->G; i++) {
        const ch_tail *tl = &cx->tail[i / cx->G][0][i % cx->G];
        double w = tot->tailmass[i / cx->G][i % cx->G];
        int m2;
        if (!(w > 0.0))
            continue;
        tot->drafted += w * tl->drafted;
        tot->draft_tokens += w * tl->busy_tokens;
        tot->draft_wasted += w * tl->busy_tokens;
        tot->batches += w * tl->batches;
        tot->batch_tokens += w * tl->batch_tokens;
        tot->decisions += w * tl->decisions;
        tot->stops += w * tl->stops;
        for (m2 = 0; m2 < CH_MAXD; m2++)
            tot->dtail[m2] += w * tl->ddec[m2];
        for (m2 = 1; m2 <= cx->PM; m2++)
            tot->pv[m2] += w * tl->pv[m2];
        tot->pv_wasted += w * tl->preverify_s;
        tot->switches += w * tl->switches;
        tot->rollbacks += w * tl->rollbacks;
        tot->preverify_s += w * tl->preverify_s;
    }
out:
    return ret;
}

/* ------------------------------------------------------------------ */
/* Costs of a segment                                                  */
/* ------------------------------------------------------------------ */
typedef struct {
    ahasd_cost dc;                /* draft token                                   */
    ahasd_cost vc[CH_KM];         /* verification of k drafts, contention applied  */
    ahasd_cost pv[CH_KM];         /* pre-verification of m tokens                  */
} ch_costs;

/* Task costs at context ctx.  Contention: while the PIM is busy the NPU's
 * memory-bound time stretches by (1 + contention); the PIM is taken busy
 * during a fraction `overlap` of each verification (the mean overlap). */
static void costs_setup(const ahasd_config *cfg, const plat_t *p, double ctx, double overlap,
                        ch_costs *cc)
{
    int k, KM = cfg->policy.k_max, mmax = cfg->m_max, e;
    double t;

    plat_cost(p, PLAT_DRAFT, 1, ctx, &cc->dc);
    for (k = 0; k <= KM; k++) {
        plat_cost(p, PLAT_VERIFY, k, ctx, &cc->vc[k]);
        if (p->contention > 0.0 && overlap > 0.0) {
            t = sched_contended_time(cc->vc[k].time_s, cc->vc[k].memory_s, p->contention,
                                     overlap * cc->vc[k].time_s);
            /* static power is drawn for the longer time */
            if (cc->vc[k].time_s > 0.0) {
                double f = t / cc->vc[k].time_s;
                cc->vc[k].energy_j -= cc->vc[k].energy_by_cause_j[AHASD_E_STATIC_BUSY];
                cc->vc[k].energy_by_cause_j[AHASD_E_STATIC_BUSY] *= f;
                cc->vc[k].energy_j += cc->vc[k].energy_by_cause_j[AHASD_E_STATIC_BUSY];
            }
            cc->vc[k].memory_s += t - cc->vc[k].time_s;
            cc->vc[k].time_s = t;
        }
    }
    /* chunks of up to m_max tokens: TVC can pre-verify older queued batches
     * together with the newest, so m can exceed k_max */
    memset(&cc->pv[0], 0, sizeof cc->pv[0]);
    for (k = 1; k <= (KM > mmax ? KM : mmax); k++) {
        if (k <= mmax && cfg->schedule == AHASD_SCHED_AHASD)
            plat_cost(p, PLAT_PREVERIFY, k, ctx, &cc->pv[k]);
        else
            memset(&cc->pv[k], 0, sizeof cc->pv[k]);
    }
    (void)e;
}

/* Long-run P(K = k): the classes weighted by how often batches start in them. */
static double pk_longrun(const ch_marks *mk, int k)
{
    int c, j;
    double x = 0.0, y;

    for (c = 0; c < mk->R; c++) {
        y = mk->pfull[c][k];
        for (j = 0; j < k; j++)
            y += mk->pkj[c][k][j];
        x += mk->occ[c] * y;
    }
    return x;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The grid of the lead beta.  Deterministic timings put beta exactly on
 * values such as -Y(k) (the NPU is the bottleneck, the PIM not blocked) or
 * -Y(k) - n Ybar (blocked behind n more batches), and interpolating such a
 * point mass across the kink at a = beta + X = 0 would create look-ahead
 * that does not exist.  So the grid holds 0, those values for the most
 * likely k, a uniform fill of [-(L_max - 1) Y_max - 2 switch, 0], and, for
 * ahasd, points above 0 up to rollback + 2 switch + preverify(m_max) (the
 * PIM may still be busy when the NPU completes). */
static void grid_build(ch_ctx *cx, const ch_marks *mk)
{
    double pts[3 * CH_G], lo, hi, best, tol;
    int n = 0, i, j, k, used[CH_KM], ns = 0, nb, m;

    if (cx->L == 1 || !(cx->ymax > 0.0)) {
        cx->G = 1;
        cx->gx[0] = 0.0;
        cx->i0 = 0;
        cx->gbin_scale = 0.0;
        memset(cx->gbin, 0, sizeof cx->gbin);
        return;
    }
    lo = -((cx->L - 1) * cx->ymax + 2.0 * cx->sw);
    hi = cx->tvc ? cx->rb + 2.0 * cx->sw + cx->PV[cx->mmax] : 0.0;
    tol = 1e-9 * (-lo);
    pts[n++] = lo;
    pts[n++] = 0.0;
    /* special values, most likely k first */
    memset(used, 0, sizeof used);
    while (ns < CH_G_SPECIAL) {
        best = 0.0;
        nb = 0;
        for (k = 1; k <= cx->KM; k++)
            if (!used[k] && pk_longrun(mk, k) > best) {
                best = pk_longrun(mk, k);
                nb = k;
            }
        if (nb == 0)
            break;
        used[nb] = 1;
        for (m = 0; m <= cx->L - 2 && ns < CH_G_SPECIAL; m++) {
            double v = -(cx->sync + cx->V[nb]) - m * cx->ybar;
            if (v > lo) {
                pts[n++] = v;
                ns++;
            }
        }
    }
    for (i = 1; i < CH_G_NEG - ns - 1; i++)
        pts[n++] = lo * (1.0 - (double)i / (CH_G_NEG - ns - 1));
    if (hi > tol)
        for (i = 1; i <= CH_G_POS; i++)
            pts[n++] = hi * (double)i / CH_G_POS;
    qsort(pts, (size_t)n, sizeof pts[0], dbl_cmp);
    /* merge points closer than tol (keep 0 exact) */
    for (i = 0, j = 0; i < n; i++) {
        if (j > 0 && pts[i] - cx->gx[j - 1] <= tol) {
            if (pts[i] == 0.0)
                cx->gx[j - 1] = 0.0;
            continue;
        }
        if (j < CH_G)
            cx->gx[j++] = pts[i];
    }
    cx->G = j;
    cx->i0 = 0;
    for (i = 0; i < cx->G; i++)
        if (cx->gx[i] == 0.0)
            cx->i0 = i;
    /* grid_locate's index: the cell holding each bin's left edge */
    cx->gbin_scale = cx->G > 1 ? CH_GLUT / (cx->gx[cx->G - 1] - cx->gx[0]) : 0.0;
    for (j = 0, i = 0; j < CH_GLUT; j++) {
        double e = cx->gx[0] + j / cx->gbin_scale;
        while (i < cx->G - 2 && cx->gx[i + 1] <= e)
            i++;
        cx->gbin[j] = (unsigned char)i;
    }
}

static void ctx_setup(ch_ctx *cx, const ahasd_config *cfg, const plat_t *p, const ch_costs *cc,
                      const ch_marks *mk, const ch_edc *ed)
{
    int k;
    double pk, tot = 0.0, ysum = 0.0;

    cx->sched = cfg->schedule;
    cx->L = cfg->l_max;
    cx->KM = cfg->policy.k_max;
    cx->mmax = cfg->m_max;
    cx->edc = cfg->schedule != AHASD_SCHED_ASYNC;
    cx->tvc = cfg->schedule == AHASD_SCHED_AHASD;
    cx->td = cc->dc.time_s;
    cx->sync = p->sync_s;
    cx->rb = p->rollback_s;
    cx->sw = p->switch_s;
    cx->PM = cx->KM > cx->mmax ? cx->KM : cx->mmax;
    cx->tail_n = ch_tail_len(cx->edc, cx->tvc, cx->PM);
    for (k = 0; k <= cx->KM; k++)
        cx->V[k] = cc->vc[k].time_s;
    for (k = 0; k <= cx->PM; k++)
        cx->PV[k] = cc->pv[k].time_s;
    for (k = 1; k <= cx->KM; k++) {
        pk = pk_longrun(mk, k);
        tot += pk;
        ysum += pk * (cx->sync + cx->V[k]);
    }
    cx->ybar = tot > 0.0 ? ysum / tot : cx->sync + cx->V[1];
    {
        double ks = 0.0;
        for (k = 1; k <= cx->KM; k++)
            ks += pk_longrun(mk, k) * k;
        cx->kq = tot > 0.0 ? (int)floor(ks / tot + 0.5) : 1;
        if (cx->kq < 1)
            cx->kq = 1;
    }
    if (!(cx->ybar > 0.0))
        cx->ybar = 1e-300;
    cx->ymax = cx->sync + cx->V[cx->KM];
    ctx_marks(cx, mk, ed);      /* before the grid: it ranks k by cx->pk */
    grid_build(cx, mk);
    tail_build(cx);
}

/* Expected counts of a cycle -> accounting totals (per cycle). */
static void counts_to_acct(const ch_count *c, const ch_costs *cc, const plat_t *p, int KM,
                           int PM, acct_t *a)
{
    int k;

    acct_zero(a);
    a->wall_s = c->wall;
    a->committed = c->committed;
    a->accepted = c->accepted;
    a->drafted = c->drafted;
    a->rounds = c->rounds;
    a->batches = c->batches;
    a->batch_tokens = c->batch_tokens;
    a->decisions = c->decisions;
    a->stops = c->stops;
    a->preverify_s = c->preverify_s;
    acct_task(a, &cc->dc, AHASD_TASK_DRAFT, c->draft_tokens - c->draft_wasted, 0);
    acct_task(a, &cc->dc, AHASD_TASK_DRAFT, c->draft_wasted, 1);
    for (k = 0; k <= KM; k++)
        acct_task(a, &cc->vc[k], AHASD_TASK_VERIFY, c->verify[k], 0);
    for (k = 1; k <= PM; k++)
        acct_task(a, &cc->pv[k], AHASD_TASK_PREVERIFY, c->pv[k], 0);
    acct_busy(a, p, p->draft_dev, AHASD_TASK_OVERHEAD, p->switch_s, c->switches);
    acct_busy(a, p, p->draft_dev, AHASD_TASK_OVERHEAD, p->rollback_s, c->rollbacks);
    a->pim_time_s = a->busy_s[p->draft_dev][AHASD_TASK_DRAFT] +
                    a->busy_s[p->draft_dev][AHASD_TASK_PREVERIFY] +
                    a->busy_s[p->draft_dev][AHASD_TASK_OVERHEAD];
    /* The wall time of a cycle is at least each device's busy time.  The
     * chain's approximations (the grid of the lead, the mean NPU occupancy
     * behind the queue, skip credits) can leave a device that is busy almost
     * all the time a hair above the wall (seen: 1e-5 relative when the PIM
     * drafts as long as the NPU verifies); the physical bound wins. */
    {
        int d, t;
        for (d = 0; d < AHASD_N_DEVICES; d++) {
            double busy = 0.0;
            for (t = 0; t < AHASD_N_TASKS; t++)
                if (t != AHASD_TASK_IDLE)
                    busy += a->busy_s[d][t];
            if (busy > a->wall_s)
                a->wall_s = busy;
        }
    }
}

/* L_max = 1: the PIM never looks ahead (it is blocked until each result), a
 * stop changes nothing and TVC never finds the NPU busy, so every variant is
 * the sync schedule, whose closed form is exact.  EDC still decides after
 * every batch (at D = 1); its suppression rate follows from the mean-field
 * counters visited gen_len / tokens_per_round times. */
static int chain_as_sync(const ahasd_config *cfg, const plat_t *p, ahasd_workspace *ws,
                         ahasd_result *res, ahasd_error *err)
{
    int ret = AHASD_OK, k, h, c;
    ahasd_config sync_cfg = *cfg;
    const dd_table *tab = NULL;
    ahasd_cost dc, vc;
    ch_marks *mk;
    ch_edc ed;
    double pD[CH_MAXD], w, stop = 0.0, tot = 0.0, cost_ratio;

    sync_cfg.schedule = AHASD_SCHED_SYNC;
    if ((ret = sched_closed_form(&sync_cfg, p, ws, res, err)))
        goto out;
    if (cfg->schedule == AHASD_SCHED_ASYNC)
        goto out;
    plat_cost(p, PLAT_DRAFT, 1, (double)cfg->prompt_len, &dc);
    plat_cost(p, PLAT_VERIFY, 0, (double)cfg->prompt_len, &vc);
    cost_ratio = vc.time_s > 0.0 ? dc.time_s / vc.time_s : 0.0;
    if ((ret = dd_table_get(ws, &cfg->profile, &cfg->policy, cost_ratio, DD_DETAIL_EDC, &tab,
                            err)))
        goto out;
    /* the marks (a few hundred kB) live in the workspace, not on the stack */
    mk = (ch_marks *)(void *)ws_scratch(ws, 1, sizeof(ch_marks) / sizeof(double) + 1, 0);
    if (mk == NULL) {
        ret = err_set(err, AHASD_ERR_NOMEM, "cannot allocate the chain's marks");
        goto out;
    }
    marks_build(tab, &cfg->profile, 1, mk);
    memset(pD, 0, sizeof pD);
    pD[1] = 1.0;
    edc_build(tab, &cfg->profile, 1, pD, NULL, res->out[AHASD_OUT_ROUNDS], 0.0, &ed);
    for (c = 0; c < mk->R; c++)
        for (k = 1; k <= mk->KM; k++)
            for (h = 0; h < AHASD_EDC_BUCKETS; h++) {
                w = mk->occ[c] * (mk->hfull[c][k][h] * (1.0 - ed.c[h][1][1]) +
                                  mk->hnf[c][k][h] * (1.0 - ed.c[h][0][1]));
                stop += w;
                tot += mk->occ[c] * (mk->hfull[c][k][h] + mk->hnf[c][k][h]);
            }
    res->out[AHASD_OUT_SUPPRESSION_RATE] = tot > 0.0 ? stop / tot : 0.0;
    res->edc_continue_prob = 1.0 - res->out[AHASD_OUT_SUPPRESSION_RATE];
    res->flags |= AHASD_FLAG_EDC_MEAN_FIELD;
out:
    return ret;
}

int chain_estimate(const ahasd_config *cfg, const plat_t *p, ahasd_workspace *ws,
                   ahasd_result *res, ahasd_error *err)
{
    int ret = AHASD_OK, S, s, d, edc = cfg->schedule != AHASD_SCHED_ASYNC, flags = 0;
    int arm = 0, pass, n = CH_G * CH_ST;
    int pm = cfg->policy.k_max > cfg->m_max ? cfg->policy.k_max : cfg->m_max;
    const dd_table *tab = NULL;
    ch_marks *mk;
    ch_edc ed;
    ch_count cyc;
    ch_costs cc;
    ch_ctx *cx;
    acct_t total, seg;
    ahasd_cost dc, vc;
    double *buf, *dwork, cost_ratio, resid = 0.0, transient = 0.0, overlap = 0.0, ctx, pD[CH_MAXD];
    double dsum, n_dec, p_kr, qD[CH_MAXD];

    acct_zero(&total);
    memset(&ed, 0, sizeof ed);
    if (cfg->l_max == 1) {
        ret = chain_as_sync(cfg, p, ws, res, err);
        goto out;
    }
    /* slot 1: the context, the chain's start vector (n doubles), the marks */
    buf = ws_scratch(ws, 1, sizeof(ch_ctx) / sizeof(double) + 1 + (size_t)n +
                                sizeof(ch_marks) / sizeof(double) + 1, 0);
    if (buf == NULL) {
        ret = err_set(err, AHASD_ERR_NOMEM, "cannot allocate the chain's workspace");
        goto out;
    }
    cx = (ch_ctx *)(void *)buf;
    mk = (ch_marks *)(void *)(buf + sizeof(ch_ctx) / sizeof(double) + 1 + (size_t)n);

    /* chain_direct: dense system, 3 vectors, counts and permutation per
     * state, sparse values, and the ints (positions, columns, row starts) */
    dwork = ws_scratch(ws, 2, 2 * (size_t)n * n + 3 * (size_t)n +
                                  (size_t)n * (sizeof(ch_count) / sizeof(double) + 1) +
                                  (size_t)n * sizeof(size_t) / sizeof(double) + 1 +
                                  ((size_t)n * n + 3 * (size_t)n + 1) * sizeof(int) /
                                      sizeof(double) + 1, 0);
    if (dwork == NULL) {
        ret = err_set(err, AHASD_ERR_NOMEM, "cannot allocate the chain's linear-solve workspace");
        goto out;
    }
    plat_cost(p, PLAT_DRAFT, 1, (double)cfg->prompt_len, &dc);
    plat_cost(p, PLAT_VERIFY, 0, (double)cfg->prompt_len, &vc);
    cost_ratio = vc.time_s > 0.0 ? dc.time_s / vc.time_s : 0.0;
    if (cfg->policy.kind == AHASD_POLICY_BANDITSPEC) {
        /* steady arm; the rounds of a generation bound its transient */
        if ((ret = bandit_steady(&cfg->profile, &cfg->policy, cost_ratio, (double)cfg->gen_len,
                                 &arm, &transient, ws, err)))
            goto out;
        flags |= AHASD_FLAG_BANDIT_STEADY;
    }
    if ((ret = dd_table_get(ws, &cfg->profile, &cfg->policy, cost_ratio,
                            (edc ? DD_DETAIL_EDC : 0) | DD_DETAIL_LAST, &tab, err)))
        goto out;
    marks_build(tab, &cfg->profile, edc, mk);
    if (cfg->l_max >= 3)
        flags |= AHASD_FLAG_LEAD_APPROX;
    if (edc) {
        flags |= AHASD_FLAG_EDC_MEAN_FIELD;
        edc_build(tab, &cfg->profile, cfg->l_max, NULL, NULL, 0.0, 0.0, &ed);
    }
    if (cfg->schedule == AHASD_SCHED_AHASD)
        flags |= AHASD_FLAG_EXACT_PREDICTIONS;
    S = p->explicit_costs ? 1 : cfg->segments;
    if (S > 1)
        flags |= AHASD_FLAG_SEGMENTED;

    /* One fixed-point step on the middle segment: the EDC counters' visits
     * depend on the law of D and on the number of decisions in a generation,
     * which a first solve (with the counters at their stationary laws)
     * provides; the contention stretch depends on the PIM's busy share of
     * NPU time, which the same solve provides.  (A second step changes the
     * outputs by < 0.1% on the validation battery.) */
    ctx = sched_segment_context(cfg, S / 2, S);
    for (pass = 0; pass < 1; pass++) {
        if (!edc && !(p->contention > 0.0))
            break;
        costs_setup(cfg, p, ctx, overlap, &cc);
        ctx_setup(cx, cfg, p, &cc, mk, &ed);
        if ((ret = chain_cycle(cx, buf + sizeof(ch_ctx) / sizeof(double) + 1, dwork, &cyc,
                               &resid, err)))
            goto out;
        if (edc && cyc.committed > 0.0) {
            /* every decision visits a counter; only those of batches that
             * reach a final outcome update it */
            dsum = 0.0;
            for (d = 0; d < CH_MAXD; d++)
                dsum += cyc.dmass[d] + cyc.dtail[d];
            for (d = 0; d < CH_MAXD; d++) {
                pD[d] = dsum > 0.0 ? (cyc.dmass[d] + cyc.dtail[d]) / dsum : 0.0;
                qD[d] = cyc.dmass[d] + cyc.dtail[d] > 0.0
                            ? cyc.dmass[d] / (cyc.dmass[d] + cyc.dtail[d]) : 1.0;
            }
            n_dec = (double)cfg->gen_len * cyc.decisions / cyc.committed;
            /* a rejected batch stays in the history iff it was decided at
             * D >= 2 (edc_build): that share among main-path decisions */
            dsum = 0.0;
            p_kr = 0.0;
            for (d = 1; d < CH_MAXD; d++) {
                dsum += cyc.dmass[d];
                if (d >= 2)
                    p_kr += cyc.dmass[d];
            }
            p_kr = dsum > 0.0 ? p_kr / dsum : 0.0;
            edc_build(tab, &cfg->profile, cfg->l_max, pD, qD, n_dec, p_kr, &ed);
        }
        if (p->contention > 0.0 && cyc.wall > 0.0) {
            counts_to_acct(&cyc, &cc, p, cfg->policy.k_max, pm, &seg);
            overlap = seg.pim_time_s / cyc.wall;
            if (overlap > 1.0)
                overlap = 1.0;
            flags |= AHASD_FLAG_CONTENTION_MEAN;
        }
    }
    for (s = 0; s < S; s++) {
        ctx = sched_segment_context(cfg, s, S);
        costs_setup(cfg, p, ctx, overlap, &cc);
        ctx_setup(cx, cfg, p, &cc, mk, &ed);
        if ((ret = chain_cycle(cx, buf + sizeof(ch_ctx) / sizeof(double) + 1, dwork, &cyc,
                               &resid, err)))
            goto out;
        if (!(cyc.committed > 0.0) || !(cyc.wall > 0.0)) {
            ret = err_set(err, AHASD_ERR_NUMERIC,
                          "async chain: a cycle commits %.3g tokens in %.3g s at context %.0f",
                          cyc.committed, cyc.wall, ctx);
            goto out;
        }
        counts_to_acct(&cyc, &cc, p, cfg->policy.k_max, pm, &seg);
        acct_add(&total, &seg, ((double)cfg->gen_len / S) / cyc.committed);
    }
    if ((ret = acct_finish(&total, p, AHASD_METHOD_MARKOV_CHAIN, flags, res, err)))
        goto out;
    res->bandit_arm = arm;
    res->bandit_transient_rounds = transient;
    res->edc_continue_prob = total.decisions > 0.0 ? 1.0 - total.stops / total.decisions : 1.0;
    res->chain_residual = resid;
    res->chain_states = cx->G * cx->nst;
out:
    return ret;
}
