/* SPDX-License-Identifier: MIT */
/*
 * random [two [least_conn]], as nginx's ngx_http_upstream_random_module:
 * a server drawn with probability proportional to its weight (`down` ones
 * keep their share of the draw and are redrawn, like failed or full ones, up
 * to 20 times, then round robin). With `two`, two distinct usable servers are
 * drawn and the one with fewer requests in flight per unit of weight wins,
 * the second drawn on a tie (least_conn is nginx's only method for two).
 *
 * The generator is per thread (xorshift64*, seeded from getrandom(2) on first
 * use), so workers never share mutable random state.
 */
#include <stdatomic.h>
#include <sys/random.h>
#include <time.h>

#include "ups.h"

#define RLX memory_order_relaxed

static _Thread_local uint64_t bal_rng;

void bal_random_seed(uint64_t seed)
{
	/* xorshift has one state it never leaves: 0 */
	bal_rng = seed ? seed : UINT64_C(0x9e3779b97f4a7c15);
}

static uint64_t bal_random_next(void)
{
	uint64_t x = bal_rng;

	if (!x) {
		struct timespec ts;

		if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != (ssize_t)sizeof(x)) {
			/* no entropy yet: the address of our TLS slot differs per thread */
			clock_gettime(CLOCK_MONOTONIC, &ts);
			x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
			    (uint64_t)(uintptr_t)&bal_rng;
		}
		bal_random_seed(x);
		x = bal_rng;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	bal_rng = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

/* One weighted draw among the primaries; NULL only if weights shrank since
 * TOTAL was taken. */
static struct ups_server *bal_random_draw(struct ups_group *g, int64_t total)
{
	return ups_weighted_at(g, (int64_t)(bal_random_next() % (uint64_t)total));
}

static struct ups_server *bal_random_one(struct ups_group *g, struct bal_ctx *ctx, int64_t total)
{
	struct ups_server *s;
	int tries;

	for (tries = 0; tries <= BAL_HASH_TRIES; tries++) {
		s = bal_random_draw(g, total);
		if (s && ups_server_pickable(s, ctx))
			return s;
	}
	return bal_rr_pick_set(g, ctx, false);
}

static struct ups_server *bal_random_two(struct ups_group *g, struct bal_ctx *ctx, int64_t total)
{
	struct ups_server *s, *prev = NULL;
	int64_t a, b;
	int tries;

	/* nginx counts the first draw as a try too */
	for (tries = 0; tries <= BAL_HASH_TRIES; tries++) {
		s = bal_random_draw(g, total);
		if (!s || s == prev || !ups_server_pickable(s, ctx))
			continue;
		if (!prev) {
			prev = s;
			continue;
		}
		/* s->active / s->weight > prev->active / prev->weight */
		a = (int64_t)atomic_load_explicit(&s->active, RLX) *
		    atomic_load_explicit(&prev->eff_weight, RLX);
		b = (int64_t)atomic_load_explicit(&prev->active, RLX) *
		    atomic_load_explicit(&s->eff_weight, RLX);
		return a > b ? prev : s;
	}
	return bal_rr_pick_set(g, ctx, false);
}

static int bal_random_init(struct ups_group *g)
{
	(void)g; /* weights are read live at each draw */
	return 0;
}

static struct ups_server *bal_random_pick(struct ups_group *g, struct bal_ctx *ctx)
{
	int64_t total = ups_primary_weight(g);
	int i, nprimary = 0;

	for (i = 0; i < g->nservers; i++)
		nprimary += !g->servers[i].backup;
	/* nginx: fewer than two servers is round robin's job */
	if (nprimary < 2 || total <= 0)
		return bal_rr_pick_set(g, ctx, false);
	return g->random_two ? bal_random_two(g, ctx, total) : bal_random_one(g, ctx, total);
}

static void bal_random_release(struct ups_group *g)
{
	(void)g;
}

const struct bal_ops bal_random_ops = {
	.name = "random",
	.init = bal_random_init,
	.pick = bal_random_pick,
	.release = bal_random_release,
};
