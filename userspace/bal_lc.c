/* SPDX-License-Identifier: MIT */
/*
 * least_conn, as nginx's ngx_http_upstream_least_conn_module: the pickable
 * server with the fewest requests in flight per unit of weight (compared as
 * active_a * weight_b < active_b * weight_a, no division); servers tied for
 * the least are taken in smooth weighted round robin on their shared
 * cur_weight, so equal loads rotate by weight. Backups are balanced the same
 * way when no primary can be picked, and when nothing at all can be, every
 * server's failure count is cleared ("mark them as live for quick recovery"),
 * as nginx does. Active counts are shared by all workers, so the comparison
 * sees the whole process's load; it may be a moment stale, never locked.
 * While a server of the set is in slow start, the comparison and the
 * tie-break use the ramped weights (ups_server_ramp_weight) of every server.
 */
#include <stdatomic.h>

#include "ups.h"

#define RLX memory_order_relaxed

/* The weight S balances on: ramped while some server of its set ramps. */
static int64_t bal_lc_weight(const struct ups_server *s, bool ramp, int64_t now_ms)
{
	if (ramp)
		return ups_server_ramp_weight(s, now_ms);
	return atomic_load_explicit(&s->eff_weight, RLX);
}

/* The least loaded pickable server of one set (primaries or backups). */
static struct ups_server *bal_lc_pick_set(struct ups_group *g, struct bal_ctx *ctx, bool backup)
{
	struct ups_server *cand[UPS_MAX_SERVERS];
	int64_t cw[UPS_MAX_SERVERS];
	struct ups_server *best = NULL;
	int64_t best_active = 0, best_w = 0;
	int i, first = 0, n = 0;
	bool many = false;
	bool ramp = ups_group_ramping(g, backup, ctx->now_ms);

	for (i = 0; i < g->nservers; i++) {
		struct ups_server *s = &g->servers[i];
		int64_t a, w;

		if (s->backup != backup || !ups_server_pickable(s, ctx))
			continue;
		a = atomic_load_explicit(&s->active, RLX);
		w = bal_lc_weight(s, ramp, ctx->now_ms);
		if (w <= 0)
			continue;
		if (!best || a * best_w < best_active * w) {
			best = s;
			best_active = a;
			best_w = w;
			first = i;
			many = false;
		} else if (a * best_w == best_active * w) {
			many = true;
		}
	}
	if (!best || !many)
		return best;

	/* nginx walks again from the first of the tied servers */
	for (i = first; i < g->nservers; i++) {
		struct ups_server *s = &g->servers[i];
		int64_t a, w;

		if (s->backup != backup || !ups_server_pickable(s, ctx))
			continue;
		a = atomic_load_explicit(&s->active, RLX);
		w = bal_lc_weight(s, ramp, ctx->now_ms);
		if (w > 0 && a * best_w == best_active * w) {
			cw[n] = w;
			cand[n++] = s;
		}
	}
	/* loads moved under us: the first least one is still a fine answer */
	return n ? bal_swrr_choose_w(cand, cw, n) : best;
}

static int bal_lc_init(struct ups_group *g)
{
	(void)g; /* all state lives in the servers */
	return 0;
}

static struct ups_server *bal_lc_pick(struct ups_group *g, struct bal_ctx *ctx)
{
	struct ups_server *s;
	int i;

	s = bal_lc_pick_set(g, ctx, false);
	if (!s)
		s = bal_lc_pick_set(g, ctx, true);
	if (s)
		return s;
	for (i = 0; i < g->nservers; i++)
		atomic_store_explicit(&g->servers[i].fails, 0, RLX);
	return NULL;
}

static void bal_lc_release(struct ups_group *g)
{
	(void)g;
}

const struct bal_ops bal_lc_ops = {
	.name = "least_conn",
	.init = bal_lc_init,
	.pick = bal_lc_pick,
	.release = bal_lc_release,
};
