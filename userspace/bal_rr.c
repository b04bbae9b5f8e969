/* SPDX-License-Identifier: MIT */
/*
 * Smooth weighted round robin, nginx's default balancer, exact across worker
 * threads without a lock.
 *
 * nginx runs the smooth-WRR step (every server gains its weight, the largest
 * wins and loses the total) under a lock on each pick. Over sum-of-weights
 * picks the step returns to its start, so the sequence is periodic: we run it
 * once at configuration time into a schedule of server indexes, and a pick
 * is one atomic fetch_add on a shared position counter. All workers together
 * then walk nginx's sequence, and every full cycle gives each server exactly
 * its weight. A position whose server cannot be picked (down, failed, full,
 * already tried) is passed over and the picker takes the next position, so
 * the remaining servers keep their relative weights.
 *
 * A cycle longer than BAL_RR_SCHED_MAX is not listed: position p maps to
 * point (p * stride) mod total of the weight line, stride coprime with total,
 * which still gives exact weights per cycle, well interleaved.
 *
 * Weight changes build a new schedule and publish it with an atomic pointer
 * swap; the old one goes on a retire list (pickers may still be reading it)
 * that is freed with the group.
 *
 * Slow start changes weights continuously, which no schedule can follow:
 * while a server of the set ramps, picks leave the schedule for nginx's
 * smooth-WRR step run live on the servers' shared cur_weight, over the
 * ramped weights (ups_server_ramp_weight). Once every ramp is over the
 * schedule, untouched meanwhile, is exact again.
 *
 * Around a failing server nginx's step leaves servers out (already tried by
 * the request, resting after max_fails) and weighs a failed one less
 * (weight_debt), so its sequence leaves the cycle. Round robin follows it:
 * a pick that meets such a server switches the set (SCHED -> SEEDING ->
 * LIVE, one CAS winner) to nginx's step run live on cur_weight, seeded with
 * the running weights the schedule had reached at its position. The set
 * goes back to the schedule, at the start of the next cycle, when nothing
 * is left out, nobody owes weight and every running weight is 0 again.
 * Drained, unhealthy and full servers keep having their positions passed
 * over (the exact per-cycle shares of the others stay).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ups.h"

#define RLX memory_order_relaxed

enum { BAL_SET_PRIMARY = 0, BAL_SET_BACKUP = 1, BAL_NSETS = 2 };

/* struct bal_rr_sched - one set's cycle; immutable once published. */
struct bal_rr_sched {
	uint64_t total;			   /* sum of member weights: cycle length */
	uint32_t len;			   /* entries in slot[]; 0 = spread mode */
	uint64_t stride;		   /* spread mode: coprime with total */
	int nmembers;			   /* servers of the set with weight > 0 */
	uint16_t *member;		   /* their indexes in group->servers */
	uint64_t *upto;			   /* spread mode: weight line end of member k */
	uint16_t *slot;			   /* listed mode: server index per position */
	struct bal_rr_sched *retired_next; /* link on bal_rr.retired */
};

/* A set's picks: the schedule, or nginx's step run live (bal_rr_pick_live)
 * while some member is left out or owes weight. SEEDING: one picker is
 * writing the running weights the schedule had reached. */
enum { BAL_MODE_SCHED = 0, BAL_MODE_SEEDING = 1, BAL_MODE_LIVE = 2 };

/* struct bal_rr - group->rr. */
struct bal_rr {
	_Atomic(struct bal_rr_sched *) sched[BAL_NSETS]; /* published schedules */
	_Atomic int mode[BAL_NSETS];			 /* BAL_MODE_* */
	_Atomic(struct bal_rr_sched *) retired;		 /* replaced, freed at release */
	/* the counters are bumped by every pick: keep them off the line the
	 * schedule pointers are read from */
	_Alignas(64) _Atomic uint64_t next[BAL_NSETS]; /* next cycle position */
};

static void bal_rr_sched_free(struct bal_rr_sched *sc)
{
	if (!sc)
		return;
	free(sc->member);
	free(sc->upto);
	free(sc->slot);
	free(sc);
}

static uint64_t bal_gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* Listed mode: run nginx's smooth-WRR step total times. All members are in
 * play (nginx's picture when every server is healthy). */
static int bal_rr_fill_slots(struct bal_rr_sched *sc, const int *w)
{
	int64_t *cur;
	uint64_t i;
	int k, best;

	sc->slot = malloc(sc->total * sizeof(*sc->slot));
	cur = calloc(sc->nmembers, sizeof(*cur));
	if (!sc->slot || !cur) {
		free(cur);
		return -ENOMEM;
	}
	for (i = 0; i < sc->total; i++) {
		best = 0;
		for (k = 0; k < sc->nmembers; k++) {
			cur[k] += w[k];
			if (cur[k] > cur[best])
				best = k;
		}
		cur[best] -= (int64_t)sc->total;
		sc->slot[i] = sc->member[best];
	}
	sc->len = (uint32_t)sc->total;
	free(cur);
	return 0;
}

/* Spread mode: cumulative weights and a stride near total / golden ratio. */
static int bal_rr_fill_spread(struct bal_rr_sched *sc, const int *w)
{
	uint64_t acc = 0;
	int k;

	sc->upto = malloc(sc->nmembers * sizeof(*sc->upto));
	if (!sc->upto)
		return -ENOMEM;
	for (k = 0; k < sc->nmembers; k++) {
		acc += (uint64_t)w[k];
		sc->upto[k] = acc;
	}
	sc->stride = sc->total * 618 / 1000;
	while (sc->stride > 1 && bal_gcd(sc->stride, sc->total) != 1)
		sc->stride--;
	if (sc->stride == 0)
		sc->stride = 1;
	return 0;
}

static struct bal_rr_sched *bal_rr_build(const struct ups_group *g, bool backup)
{
	struct bal_rr_sched *sc;
	int *w = NULL;
	int i, n = 0, err;

	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return NULL;
	sc->member = malloc(g->nservers * sizeof(*sc->member));
	w = malloc(g->nservers * sizeof(*w));
	if (!sc->member || !w)
		goto fail;
	for (i = 0; i < g->nservers; i++) {
		int wi = atomic_load_explicit(&g->servers[i].eff_weight, RLX);

		if (g->servers[i].backup != backup || wi <= 0)
			continue;
		sc->member[n] = (uint16_t)i;
		w[n++] = wi;
		sc->total += (uint64_t)wi;
	}
	sc->nmembers = n;
	if (sc->total == 0)
		err = 0;
	else if (sc->total <= BAL_RR_SCHED_MAX)
		err = bal_rr_fill_slots(sc, w);
	else
		err = bal_rr_fill_spread(sc, w);
	if (err)
		goto fail;
	free(w);
	return sc;
fail:
	free(w);
	bal_rr_sched_free(sc);
	return NULL;
}

/* The server index at cycle position POS. */
static int bal_rr_slot(const struct bal_rr_sched *sc, uint64_t pos)
{
	uint64_t x;
	int lo, hi;

	if (sc->len)
		return sc->slot[pos % sc->len];
	/* total < 2^40 (256 servers x INT_MAX), so the product needs 128 bits */
	x = (uint64_t)((unsigned __int128)(pos % sc->total) * sc->stride % sc->total);
	lo = 0;
	hi = sc->nmembers - 1;
	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (x < sc->upto[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return sc->member[lo];
}

static void bal_rr_retire(struct bal_rr *rr, struct bal_rr_sched *sc)
{
	struct bal_rr_sched *head;

	if (!sc)
		return;
	head = atomic_load_explicit(&rr->retired, RLX);
	do {
		sc->retired_next = head;
	} while (!atomic_compare_exchange_weak_explicit(&rr->retired, &head, sc,
							memory_order_release, RLX));
}

int bal_rr_init(struct ups_group *g)
{
	struct bal_rr *rr;
	int set;

	rr = aligned_alloc(_Alignof(struct bal_rr), sizeof(*rr));
	if (!rr)
		return -ENOMEM;
	memset(rr, 0, sizeof(*rr));
	atomic_init(&rr->retired, NULL);
	for (set = 0; set < BAL_NSETS; set++) {
		struct bal_rr_sched *sc = bal_rr_build(g, set == BAL_SET_BACKUP);

		atomic_init(&rr->next[set], 0);
		atomic_init(&rr->mode[set], BAL_MODE_SCHED);
		atomic_init(&rr->sched[set], sc);
		if (!sc) {
			g->rr = rr;
			bal_rr_release(g);
			return -ENOMEM;
		}
	}
	g->rr = rr;
	return 0;
}

void bal_rr_release(struct ups_group *g)
{
	struct bal_rr *rr = g->rr;
	struct bal_rr_sched *sc, *next;
	int set;

	if (!rr)
		return;
	for (set = 0; set < BAL_NSETS; set++)
		bal_rr_sched_free(atomic_load_explicit(&rr->sched[set], RLX));
	for (sc = atomic_load_explicit(&rr->retired, RLX); sc; sc = next) {
		next = sc->retired_next;
		bal_rr_sched_free(sc);
	}
	free(rr);
	g->rr = NULL;
}

int bal_rr_rebuild(struct ups_group *g)
{
	struct bal_rr_sched *fresh[BAL_NSETS];
	int set;

	if (!g->rr)
		return -EINVAL;
	/* build both before publishing either: all or nothing */
	for (set = 0; set < BAL_NSETS; set++) {
		fresh[set] = bal_rr_build(g, set == BAL_SET_BACKUP);
		if (!fresh[set]) {
			while (set-- > 0)
				bal_rr_sched_free(fresh[set]);
			return -ENOMEM;
		}
	}
	for (set = 0; set < BAL_NSETS; set++) {
		struct bal_rr_sched *old = atomic_exchange_explicit(&g->rr->sched[set], fresh[set],
								    memory_order_acq_rel);

		bal_rr_retire(g->rr, old);
	}
	return 0;
}

/* Slow start: the smooth-WRR step over the pickable servers of the set, on
 * their ramped weights. */
static struct ups_server *bal_rr_pick_ramp(struct ups_group *g, struct bal_ctx *ctx, bool backup)
{
	struct ups_server *cand[UPS_MAX_SERVERS];
	int64_t w[UPS_MAX_SERVERS];
	int i, n = 0;

	for (i = 0; i < g->nservers; i++) {
		struct ups_server *s = &g->servers[i];

		if (s->backup != backup || !ups_server_pickable(s, ctx))
			continue;
		cand[n] = s;
		w[n++] = ups_server_ramp_weight(s, ctx->now_ms);
	}
	return n ? bal_swrr_choose_w(cand, w, n) : NULL;
}

/* Seed the members' running weights with the ones nginx's step has after
 * the schedule positions before POS: for r = POS mod len, member i has
 * gained r * weight_i and lost total once per pick in slot[0, r). */
static void bal_rr_seed(struct ups_group *g, const struct bal_rr_sched *sc, uint64_t pos)
{
	uint32_t r = sc->len ? (uint32_t)(pos % sc->len) : 0;
	uint32_t j;
	int k;

	for (k = 0; k < sc->nmembers; k++) {
		struct ups_server *s = &g->servers[sc->member[k]];

		atomic_store_explicit(&s->cur_weight,
				      (int64_t)r * atomic_load_explicit(&s->eff_weight, RLX), RLX);
	}
	for (j = 0; j < r; j++)
		atomic_fetch_sub_explicit(&g->servers[sc->slot[j]].cur_weight, (int64_t)sc->total,
					  RLX);
}

/* Leave the schedule for the live step (SCHED -> SEEDING -> LIVE), seeded
 * at POS; a picker that loses the race finds the set SEEDING or LIVE. */
__attribute__((noinline, cold)) static bool
bal_rr_go_live(struct ups_group *g, const struct bal_rr_sched *sc, int set, uint64_t pos)
{
	int mode = BAL_MODE_SCHED;

	/* round robin only: the other methods' fallbacks and tie-breaks
	 * (cur_weight) keep the schedule */
	if (g->method != UPS_M_RR)
		return false;
	if (!atomic_compare_exchange_strong_explicit(&g->rr->mode[set], &mode, BAL_MODE_SEEDING,
						     memory_order_acquire, RLX))
		return mode == BAL_MODE_LIVE;
	bal_rr_seed(g, sc, pos);
	atomic_store_explicit(&g->rr->mode[set], BAL_MODE_LIVE, memory_order_release);
	return true;
}

/* Live: the schedule can come back once nothing is left out, nobody owes
 * weight and the running weights are back at the start of a cycle. Moves
 * the position to the start of the next cycle then. */
__attribute__((noinline, cold)) static bool bal_rr_back_to_sched(struct ups_group *g,
								 const struct bal_rr_sched *sc,
								 int set, const struct bal_ctx *ctx)
{
	uint64_t len = sc->len ? sc->len : sc->total;
	uint64_t pos;
	int mode = BAL_MODE_LIVE;
	int k;

	for (k = 0; k < sc->nmembers; k++) {
		struct ups_server *s = &g->servers[sc->member[k]];

		if (ups_ctx_tried(ctx, s->index) || ups_server_resting(s, ctx->now_ms) ||
		    atomic_load_explicit(&s->weight_debt, RLX) > 0 ||
		    atomic_load_explicit(&s->cur_weight, RLX) != 0)
			return false;
	}
	if (!atomic_compare_exchange_strong_explicit(&g->rr->mode[set], &mode, BAL_MODE_SCHED,
						     memory_order_acq_rel, RLX))
		return mode == BAL_MODE_SCHED;
	pos = atomic_load_explicit(&g->rr->next[set], RLX);
	if (pos % len)
		atomic_compare_exchange_strong_explicit(&g->rr->next[set], &pos,
							(pos / len + 1) * len, RLX, RLX);
	return true;
}

/* nginx's ngx_http_upstream_get_peer over the pickable members: each
 * weighs its weight less its debt (and pays 1 of the debt back). */
__attribute__((noinline, cold)) static struct ups_server *
bal_rr_pick_live(struct ups_group *g, const struct bal_rr_sched *sc, struct bal_ctx *ctx)
{
	struct ups_server *cand[UPS_MAX_SERVERS];
	int64_t w[UPS_MAX_SERVERS];
	int k, n = 0;

	for (k = 0; k < sc->nmembers; k++) {
		struct ups_server *s = &g->servers[sc->member[k]];
		int debt, eff;

		if (!ups_server_pickable(s, ctx))
			continue;
		eff = atomic_load_explicit(&s->eff_weight, RLX);
		debt = atomic_load_explicit(&s->weight_debt, RLX);
		while (debt > 0 && !atomic_compare_exchange_weak_explicit(&s->weight_debt, &debt,
									  debt - 1, RLX, RLX))
			;
		cand[n] = s;
		w[n++] = debt > eff ? 0 : eff - (debt > 0 ? debt : 0);
	}
	return n ? bal_swrr_choose_w(cand, w, n) : NULL;
}

/* A retry leaves out this request's tried members of the set. */
__attribute__((noinline, cold)) static bool bal_rr_tried_any(const struct ups_group *g,
							     const struct bal_rr_sched *sc,
							     const struct bal_ctx *ctx)
{
	int k;

	for (k = 0; k < sc->nmembers; k++) {
		if (ups_ctx_tried(ctx, g->servers[sc->member[k]].index))
			return true;
	}
	return false;
}

/* A set off the schedule or a retry: nginx's live step while the set is
 * LIVE (unless it can go back to the schedule) or when this retry leaves a
 * tried member out. NULL: take the schedule. */
__attribute__((noinline, cold)) static struct ups_server *
bal_rr_pick_off(struct ups_group *g, const struct bal_rr_sched *sc, int set, struct bal_ctx *ctx)
{
	int mode = atomic_load_explicit(&g->rr->mode[set], memory_order_acquire);

	if (g->method != UPS_M_RR)
		return NULL;
	if (mode == BAL_MODE_LIVE) {
		if (!bal_rr_back_to_sched(g, sc, set, ctx))
			return bal_rr_pick_live(g, sc, ctx);
		mode = BAL_MODE_SCHED;
	}
	if (mode == BAL_MODE_SCHED && ctx->tries > 0 && bal_rr_tried_any(g, sc, ctx) &&
	    bal_rr_go_live(g, sc, set, atomic_load_explicit(&g->rr->next[set], RLX)))
		return bal_rr_pick_live(g, sc, ctx);
	return NULL;
}

struct ups_server *bal_rr_pick_set(struct ups_group *g, struct bal_ctx *ctx, bool backup)
{
	struct bal_rr *rr = g->rr;
	struct bal_rr_sched *sc;
	struct ups_server *s;
	uint64_t pos = 0, i, limit;
	int set = backup ? BAL_SET_BACKUP : BAL_SET_PRIMARY;
	int k, any = -1, mode;

	if (!rr)
		return NULL;
	sc = atomic_load_explicit(&rr->sched[set], memory_order_acquire);
	if (!sc || sc->total == 0)
		return NULL;
	if (ups_group_ramping(g, backup, ctx->now_ms))
		return bal_rr_pick_ramp(g, ctx, backup);

	/* Checking the members first (nginx scans all of them on every pick)
	 * keeps "nothing usable" from burning a whole cycle of positions. */
	for (k = 0; k < sc->nmembers && any < 0; k++) {
		if (ups_server_pickable(&g->servers[sc->member[k]], ctx))
			any = k;
	}
	if (any < 0)
		return NULL;

	/* off the schedule, or a retry: see whether nginx's live step runs */
	mode = atomic_load_explicit(&rr->mode[set], memory_order_acquire);
	if (__builtin_expect(mode != BAL_MODE_SCHED || ctx->tries > 0, 0)) {
		s = bal_rr_pick_off(g, sc, set, ctx);
		if (s)
			return s;
	}

	limit = sc->len ? sc->len : sc->total;
	if (limit > BAL_RR_SCHED_MAX)
		limit = BAL_RR_SCHED_MAX;
	for (i = 0; i < limit; i++) {
		pos = atomic_fetch_add_explicit(&rr->next[set], 1, RLX);
		s = &g->servers[bal_rr_slot(sc, pos)];
		if (ups_server_pickable(s, ctx)) {
			if (__builtin_expect(atomic_load_explicit(&s->weight_debt, RLX) > 0, 0) &&
			    bal_rr_go_live(g, sc, set, pos))
				return bal_rr_pick_live(g, sc, ctx);
			return s;
		}
		/* left out by nginx's step too: leave the schedule */
		if ((ups_ctx_tried(ctx, s->index) || ups_server_resting(s, ctx->now_ms)) &&
		    bal_rr_go_live(g, sc, set, pos))
			return bal_rr_pick_live(g, sc, ctx);
	}

	/* Other workers kept taking the positions we needed: any pickable
	 * member, starting from a rotating point. */
	for (k = 0; k < sc->nmembers; k++) {
		s = &g->servers[sc->member[(pos + (uint64_t)k) % (uint64_t)sc->nmembers]];
		if (ups_server_pickable(s, ctx))
			return s;
	}
	return NULL;
}

struct ups_server *bal_swrr_choose(struct ups_server *const *cand, int n)
{
	int64_t w[UPS_MAX_SERVERS];
	int k;

	for (k = 0; k < n; k++)
		w[k] = atomic_load_explicit(&cand[k]->eff_weight, RLX);
	return bal_swrr_choose_w(cand, w, n);
}

struct ups_server *bal_swrr_choose_w(struct ups_server *const *cand, const int64_t *w, int n)
{
	struct ups_server *best = NULL;
	int64_t total = 0, best_cur = 0;
	int k;

	for (k = 0; k < n; k++) {
		int64_t cur = atomic_fetch_add_explicit(&cand[k]->cur_weight, w[k], RLX) + w[k];

		total += w[k];
		if (!best || cur > best_cur) {
			best = cand[k];
			best_cur = cur;
		}
	}
	if (best)
		atomic_fetch_sub_explicit(&best->cur_weight, total, RLX);
	return best;
}

static int bal_rr_ops_init(struct ups_group *g)
{
	(void)g; /* the schedules in g->rr are all round robin needs */
	return 0;
}

static struct ups_server *bal_rr_ops_pick(struct ups_group *g, struct bal_ctx *ctx)
{
	return bal_rr_pick_set(g, ctx, false);
}

static void bal_rr_ops_release(struct ups_group *g)
{
	(void)g;
}

const struct bal_ops bal_rr_ops = {
	.name = "round_robin",
	.init = bal_rr_ops_init,
	.pick = bal_rr_ops_pick,
	.release = bal_rr_ops_release,
};
