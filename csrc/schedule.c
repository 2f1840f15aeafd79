/*
 * schedule.c -- closed forms of the schedules without look-ahead:
 * autoregressive, serial, sync and partitioned (MODEL.md "Schedule
 * semantics"), and helpers shared with the Markov chains and the simulator.
 *
 * Each of these schedules is a sequence of rounds; a round drafts a batch of
 * K tokens, verifies it, and commits A + 1 tokens.  The batch marks (K, A, E)
 * form a Markov chain through the exit bucket E (the next batch's first
 * bucket is drawn from row E of Q), whose stationary law of batch starts is
 * dd_table.stat_start.  By the renewal-reward theorem the long-run rate of
 * any additive quantity is E[quantity per round] / E[round time], with
 * expectations under that stationary law; over N tokens a segment has
 * N_seg / E[A + 1] rounds.  Task costs change with the context, so the
 * generation is split into cfg->segments equal parts, each costed at its
 * middle context, and the parts are added (exact when costs are constant,
 * which explicit task costs are: then one segment is used).
 *
 * Token trees (policy 'tree', serial and sync only): a round drafts the
 * tree level by level and verifies its kept nodes in one pass; rounds are
 * independent with the law of tree.c, so the same renewal-reward ratio
 * applies with one round's expectations (tree_segment_round).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

double sched_segment_context(const ahasd_config *cfg, int s, int S)
{
    return (double)cfg->prompt_len + ((double)s + 0.5) * (double)cfg->gen_len / (double)S;
}

double sched_contended_time(double t, double m, double c, double overlap)
{
    /* Rate model: while the PIM is busy the memory-bound share m/t of the task
     * is stretched by (1 + c), so the task progresses at rho = 1/(1 + c m/t).
     * If the PIM is busy throughout, the task takes t + c m; otherwise it
     * runs `overlap` seconds at rho and the rest at rate 1. */
    double rho, full;

    if (!(t > 0.0) || !(c > 0.0) || !(m > 0.0) || !(overlap > 0.0))
        return t;
    full = t + c * m;
    if (overlap >= full)
        return full;
    rho = 1.0 / (1.0 + c * m / t);
    return t + overlap * (1.0 - rho);
}

/* ------------------------------------------------------------------ */
/* Partitioned (SpecPIM-like) split                                    */
/* ------------------------------------------------------------------ */
/* Host = verify_dev, PIM = draft_dev.  A round with k drafts runs k DLM
 * passes of one position and one TLM pass of k + 1 positions; of each pass
 * the first n layers of the model run on the PIM and the rest, with the
 * embedding and LM head, on the host.  Both devices work on their shares
 * concurrently (MODEL.md: round time = the slower share + sync). */
/* A split's four shares, compiled once: DLM and TLM passes on the host
 * (the layers not on the PIM, with embedding and LM head) and on the PIM. */
typedef struct {
    plat_pass_coef dh, th, dp, tp;
} partition_shares;

static void partition_shares_make(const plat_t *p, const sched_split *sp, partition_shares *ps)
{
    double ld = (double)p->draft.layers, lt = (double)p->target.layers;

    plat_part_compile(p, 0, p->verify_dev, ld - sp->nd, 1, &ps->dh);
    plat_part_compile(p, 1, p->verify_dev, lt - sp->nt, 1, &ps->th);
    plat_part_compile(p, 0, p->draft_dev, (double)sp->nd, 0, &ps->dp);
    plat_part_compile(p, 1, p->draft_dev, (double)sp->nt, 0, &ps->tp);
}

/* Host and PIM shares of a round with k drafts at ctx. */
static void partition_round(const plat_t *p, const partition_shares *ps, int k, double ctx,
                            ahasd_cost *host, ahasd_cost *pim)
{
    ahasd_cost dh, dp, th, tp;
    int e;

    plat_part_cost(&ps->dh, 1, ctx, &dh);
    plat_part_cost(&ps->dp, 1, ctx, &dp);
    plat_part_cost(&ps->th, k + 1, ctx, &th);
    plat_part_cost(&ps->tp, k + 1, ctx, &tp);
    memset(host, 0, sizeof *host);
    memset(pim, 0, sizeof *pim);
    host->device = p->verify_dev;
    pim->device = p->draft_dev;
    host->time_s = k * dh.time_s + th.time_s;
    host->compute_s = k * dh.compute_s + th.compute_s;
    host->memory_s = k * dh.memory_s + th.memory_s;
    host->overhead_s = k * dh.overhead_s + th.overhead_s;
    pim->time_s = k * dp.time_s + tp.time_s;
    pim->compute_s = k * dp.compute_s + tp.compute_s;
    pim->memory_s = k * dp.memory_s + tp.memory_s;
    pim->overhead_s = k * dp.overhead_s + tp.overhead_s;
    for (e = 0; e < AHASD_N_ECAUSES; e++) {
        host->energy_by_cause_j[e] = k * dh.energy_by_cause_j[e] + th.energy_by_cause_j[e];
        pim->energy_by_cause_j[e] = k * dp.energy_by_cause_j[e] + tp.energy_by_cause_j[e];
    }
    host->energy_j = k * dh.energy_j + th.energy_j;
    pim->energy_j = k * dp.energy_j + tp.energy_j;
}

void sched_partition_round(const plat_t *p, const sched_split *sp, int k, double ctx,
                           ahasd_cost *host, ahasd_cost *pim)
{
    partition_shares ps;

    partition_shares_make(p, sp, &ps);
    partition_round(p, &ps, k, ctx, host, pim);
}

/* Time of a pass share of n layers (with the embedding and LM head when
 * head): a pass's cost is affine in its layer count for n >= 1 (identical
 * layers, one pass overhead), so three evaluations give every n:
 * t(n) = t1 + (n - 1)(t2 - t1) for n >= 1, t(0) = the head alone (or 0). */
typedef struct {
    double t0, t1, dt;
} part_time;

static void part_time_make(const plat_t *p, int which, int device, int n_pos, double ctx,
                           int head, part_time *pt)
{
    ahasd_cost c;

    plat_pass_part(p, which, device, n_pos, ctx, 0.0, head, &c);
    pt->t0 = c.time_s;
    plat_pass_part(p, which, device, n_pos, ctx, 1.0, head, &c);
    pt->t1 = c.time_s;
    plat_pass_part(p, which, device, n_pos, ctx, 2.0, head, &c);
    pt->dt = c.time_s - pt->t1;
}

static inline double part_time_at(const part_time *pt, int n)
{
    return n <= 0 ? pt->t0 : pt->t1 + (n - 1) * pt->dt;
}

void sched_partition_split(const plat_t *p, int k_star, double ctx, sched_split *out)
{
    /* Over integer layer counts nd in 0..Ld (DLM layers on the PIM) and nt
     * in 0..Lt (TLM layers on the PIM): the round's time is max(host, pim)
     * with host = k t_dh(Ld - nd) + t_th(Lt - nt), non-increasing in nt, and
     * pim = k t_dp(nd) + t_tp(nt), non-decreasing in nt (part_time).  For
     * each nd the best nt is therefore the first nt with pim >= host (found
     * by bisection) or the one before it; the first minimum in (nd, nt)
     * order wins. */
    part_time dh, th, dp, tp;
    sched_split best;
    double best_t = INFINITY, hd, pd, t, h, pm;
    int nd, nt, lo, hi, mid, c, ld = p->draft.layers, lt = p->target.layers, k = k_star;

    part_time_make(p, 0, p->verify_dev, 1, ctx, 1, &dh);
    part_time_make(p, 1, p->verify_dev, k + 1, ctx, 1, &th);
    part_time_make(p, 0, p->draft_dev, 1, ctx, 0, &dp);
    part_time_make(p, 1, p->draft_dev, k + 1, ctx, 0, &tp);
    best.nd = 0;
    best.nt = 0;
    best.k_star = k_star;
    for (nd = 0; nd <= ld; nd++) {
        hd = k * part_time_at(&dh, ld - nd);
        pd = k * part_time_at(&dp, nd);
        /* first nt in [0, lt] with pim >= host (lt + 1 if none) */
        lo = 0;
        hi = lt + 1;
        while (lo < hi) {
            mid = (lo + hi) / 2;
            if (pd + part_time_at(&tp, mid) >= hd + part_time_at(&th, lt - mid))
                hi = mid;
            else
                lo = mid + 1;
        }
        for (c = lo - 1; c <= lo; c++) {
            nt = c;
            if (nt < 0 || nt > lt)
                continue;
            h = hd + part_time_at(&th, lt - nt);
            pm = pd + part_time_at(&tp, nt);
            t = h > pm ? h : pm;
            if (t < best_t) {
                best_t = t;
                best.nd = nd;
                best.nt = nt;
            }
        }
    }
    *out = best;
}

int sched_design_k(const ahasd_config *cfg, const dd_table *tab)
{
    int s, k, j, KM = tab->kmax, B = tab->B, ks;
    double mk = 0.0;
    const double *pa;

    if (cfg->k_design > 0)
        return cfg->k_design;
    for (s = 0; s < B; s++) {
        if (tab->stat_start[s] <= 0.0)
            continue;
        for (k = 1; k <= KM; k++) {
            pa = tab->pka + (size_t)(s * (KM + 1) + k) * (KM + 1);
            for (j = 0; j <= k; j++)
                mk += tab->stat_start[s] * pa[j] * k;
        }
    }
    ks = (int)floor(mk + 0.5);
    return ks < 1 ? 1 : ks;
}

/* ------------------------------------------------------------------ */
/* Round laws                                                          */
/* ------------------------------------------------------------------ */
/* The stationary joint law of a round's (K, A) and of whether the round
 * before it was rejected (for the rollback that opens a round, which only
 * the inter-token gap needs):
 *   pka[k][j]      = sum_s stat_start[s] P(K=k, A=j | s)
 *   pfk[f][k]      = P(previous round rejected = f, K = k)
 * pfk uses pi(e, f), the stationary law of the previous round's exit bucket
 * and rejection, and the next start s ~ Q[e, :]. */
typedef struct {
    int kmax;
    double pka[AHASD_MAX_K + 1][AHASD_MAX_K + 1];
    double pfk[2][AHASD_MAX_K + 1];
} round_law;

static void round_law_build(const dd_table *tab, const ahasd_profile *prof, round_law *rl)
{
    int s, s2, k, j, e, f, KM = tab->kmax, B = tab->B;
    double q, ss, pief[AHASD_MAX_BUCKETS][2], pk_s[AHASD_MAX_BUCKETS][AHASD_MAX_K + 1];
    const double *pa;

    memset(rl, 0, sizeof *rl);
    memset(pief, 0, sizeof pief);
    memset(pk_s, 0, sizeof pk_s);
    rl->kmax = KM;
    for (s = 0; s < B; s++) {
        ss = tab->stat_start[s];
        /* P(K = k | s) and the stationary (K, A) law from the e-summed pka */
        for (k = 1; k <= KM; k++) {
            pa = tab->pka + (size_t)(s * (KM + 1) + k) * (KM + 1);
            for (j = 0; j <= k; j++) {
                pk_s[s][k] += pa[j];
                if (ss > 0.0)
                    rl->pka[k][j] += ss * pa[j];
            }
        }
        if (!(ss > 0.0))
            continue;
        /* the exit bucket's law by fate (rejected or not), from the table */
        for (e = 0; e < B; e++) {
            pief[e][0] += ss * tab->exit_fate[s][e][0];
            pief[e][1] += ss * tab->exit_fate[s][e][1];
        }
    }
    for (e = 0; e < B; e++)
        for (f = 0; f < 2; f++) {
            if (pief[e][f] <= 0.0)
                continue;
            for (s2 = 0; s2 < B; s2++) {
                q = prof->q[e * AHASD_MAX_BUCKETS + s2];
                if (q <= 0.0)
                    continue;
                for (k = 1; k <= KM; k++)
                    rl->pfk[f][k] += pief[e][f] * q * pk_s[s2][k];
            }
        }
}

/* Inter-token gap atoms: value and token weight. */
typedef struct {
    double v, w;
} gap_atom;

static int gap_cmp(const void *a, const void *b)
{
    double x = ((const gap_atom *)a)->v, y = ((const gap_atom *)b)->v;
    return (x > y) - (x < y);
}

/* Weighted quantile of atoms: the smallest value whose cumulative token
 * weight reaches q of the total. */
static double gap_quantile(const gap_atom *g, int n, double total, double q)
{
    int i;
    double c = 0.0;

    for (i = 0; i < n; i++) {
        c += g[i].w;
        if (c >= q * total * (1.0 - 1e-12))
            return g[i].v;
    }
    return n > 0 ? g[n - 1].v : 0.0;
}

#define MAX_GAP_ATOMS (AHASD_MAX_SEGMENTS * (2 * AHASD_MAX_K + 3))

/* ------------------------------------------------------------------ */
/* One segment of a round-based schedule                               */
/* ------------------------------------------------------------------ */
/* Expected totals of ONE round at context ctx under the round law, into
 * `round`; inter-token gap atoms of the segment (weights per round) appended
 * to g.  The round of each schedule:
 *   autoregressive: one TLM step, commits 1;
 *   serial:  K DLM passes and the verification on verify_dev, then rollback
 *            on a rejection (busy on verify_dev);
 *   sync:    K DLM passes on draft_dev, sync_s handoff (both idle), the
 *            verification on verify_dev, rollback on draft_dev on rejection;
 *   partitioned: both devices run their shares concurrently; round time =
 *            max(host share, PIM share) + sync_s, rollback on the PIM.
 * A round that opens after a rejection starts with the rollback, which is
 * what the gap of its first committed token sees. */
static void segment_round(const ahasd_config *cfg, const plat_t *p, const round_law *rl,
                          const sched_split *sp, double ctx, acct_t *round, gap_atom *g,
                          int *ng)
{
    ahasd_cost dc, vc, hc, pc;
    partition_shares ps;
    int k, j, f, sched = cfg->schedule, KM = rl->kmax;
    double pk, prej = 0.0, rt, t_host, t_pim, r = p->rollback_s, wk[AHASD_MAX_K + 1];

    memset(wk, 0, sizeof wk);
    acct_zero(round);
    if (sched == AHASD_SCHED_AUTOREGRESSIVE) {
        plat_cost(p, PLAT_VERIFY, 0, ctx, &vc);
        acct_task(round, &vc, AHASD_TASK_VERIFY, 1.0, 0);
        round->wall_s = vc.time_s;
        round->committed = 1.0;
        round->rounds = 1.0;
        g[*ng].v = vc.time_s;
        g[*ng].w = 1.0;
        (*ng)++;
        return;
    }
    plat_cost(p, sched == AHASD_SCHED_SERIAL ? PLAT_SERIAL_DRAFT : PLAT_DRAFT, 1, ctx, &dc);
    if (sched == AHASD_SCHED_PARTITIONED)
        partition_shares_make(p, sp, &ps);
    for (k = 1; k <= KM; k++) {
        pk = 0.0;
        for (j = 0; j <= k; j++)
            pk += rl->pka[k][j];
        if (pk <= 0.0)
            continue;
        for (j = 0; j < k; j++)
            prej += rl->pka[k][j];
        round->drafted += pk * k;
        round->batch_tokens += pk * k;
        round->batches += pk;
        for (j = 0; j <= k; j++) {
            round->accepted += rl->pka[k][j] * j;
            round->committed += rl->pka[k][j] * (j + 1);
        }
        if (sched == AHASD_SCHED_PARTITIONED) {
            partition_round(p, &ps, k, ctx, &hc, &pc);
            /* The host's memory-bound time is stretched while the PIM works
             * (contention); the PIM's share is not. */
            t_pim = pc.time_s;
            t_host = sched_contended_time(hc.time_s, hc.memory_s, p->contention, t_pim);
            if (hc.time_s > 0.0)
                hc.energy_by_cause_j[AHASD_E_STATIC_BUSY] *= t_host / hc.time_s;
            hc.time_s = t_host;
            acct_task(round, &hc, AHASD_TASK_VERIFY, pk, 0);
            acct_task(round, &pc, AHASD_TASK_DRAFT, pk, 0);
            rt = (t_host > t_pim ? t_host : t_pim) + p->sync_s;
        } else {
            plat_cost(p, PLAT_VERIFY, k, ctx, &vc);
            acct_task(round, &dc, AHASD_TASK_DRAFT, pk * k, 0);
            acct_task(round, &vc, AHASD_TASK_VERIFY, pk, 0);
            rt = k * dc.time_s + vc.time_s + (sched == AHASD_SCHED_SYNC ? p->sync_s : 0.0);
        }
        round->wall_s += pk * rt;
        wk[k] = rt;
    }
    /* rollback after each rejected round */
    round->wall_s += prej * r;
    acct_busy(round, p, sched == AHASD_SCHED_SERIAL ? p->verify_dev : p->draft_dev,
              AHASD_TASK_OVERHEAD, r, prej);
    round->rounds = 1.0;
    /* Gaps: per round, the first committed token waits rollback (if the
     * previous round was rejected) + the round; the other A tokens wait 0. */
    for (f = 0; f < 2; f++)
        for (k = 1; k <= KM; k++) {
            if (rl->pfk[f][k] <= 0.0)
                continue;
            g[*ng].v = wk[k] + (f ? r : 0.0);
            g[*ng].w = rl->pfk[f][k];
            (*ng)++;
        }
    g[*ng].v = 0.0;
    g[*ng].w = round->accepted;
    (*ng)++;
}

/* ------------------------------------------------------------------ */
/* Token trees (policy 'tree', serial and sync)                        */
/* ------------------------------------------------------------------ */
/* One round of a tree policy at context ctx (tree.c states the tree and
 * its law; rounds are independent, so the renewal-reward ratio needs only
 * one round's expectations): the D level passes (tree_level_cost, on
 * verify_dev for serial), the sync_s handoff (sync), the verification of
 * the M kept nodes (one TLM pass over M + 1 positions), and rollback_s when
 * the accepted path stops short of the depth (A < D; busy on the drafting
 * device).  Per round: drafted = N nodes, accepted = E[A], committed =
 * E[A] + 1.  Gaps: the first committed token waits the round (plus the
 * rollback if the round before stopped short, probability P(A < D)), the
 * other E[A] tokens wait 0. */
static void tree_segment_round(const ahasd_config *cfg, const plat_t *p, const tree_t *t,
                               double ctx, acct_t *round, gap_atom *g, int *ng)
{
    ahasd_cost dc, vc;
    int d, serial = cfg->schedule == AHASD_SCHED_SERIAL;
    double rt = 0.0, prej = 1.0 - t->p_ge[t->depth], r = p->rollback_s;

    acct_zero(round);
    if (prej < 0.0)
        prej = 0.0;
    for (d = 1; d <= t->depth; d++) {
        tree_level_cost(p, serial ? PLAT_SERIAL_DRAFT : PLAT_DRAFT, t->level_pos[d - 1], ctx,
                        &dc);
        acct_task(round, &dc, AHASD_TASK_DRAFT, 1.0, 0);
        rt += dc.time_s;
    }
    plat_cost(p, PLAT_VERIFY, t->n_kept, ctx, &vc);
    acct_task(round, &vc, AHASD_TASK_VERIFY, 1.0, 0);
    rt += vc.time_s + (serial ? 0.0 : p->sync_s);
    round->drafted = t->n_total;
    round->batch_tokens = t->n_total;
    round->batches = 1.0;
    round->accepted = t->mean_accepted;
    round->committed = t->mean_accepted + 1.0;
    round->rounds = 1.0;
    round->wall_s = rt + prej * r;
    acct_busy(round, p, serial ? p->verify_dev : p->draft_dev, AHASD_TASK_OVERHEAD, r, prej);
    g[*ng].v = rt;
    g[*ng].w = 1.0 - prej;
    (*ng)++;
    g[*ng].v = rt + r;
    g[*ng].w = prej;
    (*ng)++;
    g[*ng].v = 0.0;
    g[*ng].w = t->mean_accepted;
    (*ng)++;
}

int sched_closed_form(const ahasd_config *cfg, const plat_t *p, ahasd_workspace *ws,
                      ahasd_result *res, ahasd_error *err)
{
    int ret = AHASD_OK, S, s, ng = 0, flags = 0, arm = 0;
    const dd_table *tab = NULL;
    round_law rl;
    sched_split sp;
    acct_t total, round;
    ahasd_cost dc, vc;
    double ctx, seg_tokens, seg_rounds, gtot = 0.0, cost_ratio, transient = 0.0;
    gap_atom *g = NULL;
    tree_t tree;
    int is_tree = cfg->schedule != AHASD_SCHED_AUTOREGRESSIVE &&
                  cfg->policy.kind == AHASD_POLICY_TREE;

    memset(&rl, 0, sizeof rl);
    memset(&sp, 0, sizeof sp);
    acct_zero(&total);
    g = (gap_atom *)(void *)ws_scratch(ws, 0, 2 * MAX_GAP_ATOMS, 0);
    if (g == NULL) {
        ret = err_set(err, AHASD_ERR_NOMEM, "cannot allocate %d gap atoms", MAX_GAP_ATOMS);
        goto out;
    }
    S = p->explicit_costs ? 1 : cfg->segments;
    if (is_tree) {
        if (cfg->schedule != AHASD_SCHED_SERIAL && cfg->schedule != AHASD_SCHED_SYNC) {
            ret = err_set(err, AHASD_ERR_UNSUPPORTED, "policy 'tree' is supported by the "
                          "autoregressive, serial and sync schedules, not '%s'",
                          ahasd_schedule_name(cfg->schedule));
            goto out;
        }
        if ((ret = tree_build(&cfg->profile, &cfg->policy, &tree, err)))
            goto out;
    } else if (cfg->schedule != AHASD_SCHED_AUTOREGRESSIVE) {
        /* BanditSpec's reward weighs a draft token against a verification
         * at the prompt context; the serial schedule drafts on verify_dev. */
        plat_cost(p, cfg->schedule == AHASD_SCHED_SERIAL ? PLAT_SERIAL_DRAFT : PLAT_DRAFT, 1,
                  (double)cfg->prompt_len, &dc);
        plat_cost(p, PLAT_VERIFY, 0, (double)cfg->prompt_len, &vc);
        cost_ratio = vc.time_s > 0.0 ? dc.time_s / vc.time_s : 0.0;
        if ((ret = dd_table_get(ws, &cfg->profile, &cfg->policy, cost_ratio, 0, &tab, err)))
            goto out;
        round_law_build(tab, &cfg->profile, &rl);
        if (cfg->policy.kind == AHASD_POLICY_BANDITSPEC) {
            double tpr = 0.0;
            int k, j;
            for (k = 1; k <= rl.kmax; k++)
                for (j = 0; j <= k; j++)
                    tpr += rl.pka[k][j] * (j + 1);
            if ((ret = bandit_steady(&cfg->profile, &cfg->policy, cost_ratio,
                                     cfg->gen_len / (tpr > 0.0 ? tpr : 1.0), &arm, &transient,
                                     ws, err)))
                goto out;
            /* bandit_steady may have replaced the cached table; fetch again. */
            if ((ret = dd_table_get(ws, &cfg->profile, &cfg->policy, cost_ratio, 0, &tab, err)))
                goto out;
            flags |= AHASD_FLAG_BANDIT_STEADY;
        }
        if (cfg->schedule == AHASD_SCHED_PARTITIONED)
            sched_partition_split(p, sched_design_k(cfg, tab), (double)cfg->prompt_len, &sp);
    }
    if (S > 1)
        flags |= AHASD_FLAG_SEGMENTED;
    if (cfg->schedule == AHASD_SCHED_PARTITIONED && p->contention > 0.0)
        flags |= AHASD_FLAG_CONTENTION_MEAN;
    for (s = 0; s < S; s++) {
        int i, ng0 = ng;
        ctx = sched_segment_context(cfg, s, S);
        seg_tokens = (double)cfg->gen_len / S;
        if (is_tree)
            tree_segment_round(cfg, p, &tree, ctx, &round, g, &ng);
        else
            segment_round(cfg, p, &rl, &sp, ctx, &round, g, &ng);
        /* rounds of this segment = its tokens / E[committed per round] */
        seg_rounds = seg_tokens / round.committed;
        acct_add(&total, &round, seg_rounds);
        for (i = ng0; i < ng; i++) {
            g[i].w *= seg_rounds;
            gtot += g[i].w;
        }
    }
    if ((ret = acct_finish(&total, p, AHASD_METHOD_CLOSED_FORM, flags, res, err)))
        goto out;
    res->bandit_arm = arm;
    res->bandit_transient_rounds = transient;
    qsort(g, (size_t)ng, sizeof *g, gap_cmp);
    res->out[AHASD_OUT_GAP_P50_S] = gap_quantile(g, ng, gtot, 0.50);
    res->out[AHASD_OUT_GAP_P90_S] = gap_quantile(g, ng, gtot, 0.90);
    res->out[AHASD_OUT_GAP_P99_S] = gap_quantile(g, ng, gtot, 0.99);
out:
    return ret;
}
