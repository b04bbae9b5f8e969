/* SPDX-License-Identifier: MIT */
/*
 * Upstream server state and the pick: which servers may take a request
 * (down, admin state, active health from hc.c, max_conns, passive health
 * with max_fails / fail_timeout), failure accounting the way nginx's
 * round-robin peer code does it, group set-up and tear-down, the method ->
 * algorithm table, and ups_pick(), the one entry point the proxy calls.
 * Server state is shared by every worker thread and only touched with
 * atomics; where a check and an update must agree (the last max_conns slot,
 * the single probe of a failed server) they are one CAS.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#include "ups.h"

#define RLX memory_order_relaxed

static const struct bal_ops *const ups_ops_table[] = {
	[UPS_M_RR] = &bal_rr_ops,	    /* (default) */
	[UPS_M_LEAST_CONN] = &bal_lc_ops,   /* least_conn */
	[UPS_M_IP_HASH] = &bal_ip_hash_ops, /* ip_hash */
	[UPS_M_HASH] = &bal_hash_ops,	    /* hash KEY [consistent] */
	[UPS_M_RANDOM] = &bal_random_ops,   /* random [two [least_conn]] */
};

const struct bal_ops *ups_method_ops(enum ups_method method)
{
	if ((unsigned)method >= sizeof(ups_ops_table) / sizeof(ups_ops_table[0]))
		return NULL;
	return ups_ops_table[method];
}

int ups_group_init(struct ups_group *g)
{
	const struct bal_ops *ops;
	int i, err;

	if (!g || !g->servers || g->nservers <= 0 || g->nservers > UPS_MAX_SERVERS)
		return -EINVAL;
	ops = ups_method_ops(g->method);
	if (!ops)
		return -EINVAL;

	g->slow_start = false;
	atomic_init(&g->queued, 0);
	for (i = 0; i < g->nservers; i++) {
		struct ups_server *s = &g->servers[i];

		s->index = i;
		/* nginx's `single`: one server and no backup is never failed */
		s->sole = g->nservers == 1;
		atomic_init(&s->eff_weight, s->weight);
		atomic_init(&s->admin, UPS_ADMIN_UP);
		atomic_init(&s->active, 0);
		atomic_init(&s->fails, 0);
		atomic_init(&s->fail_ms, 0);
		atomic_init(&s->checked_ms, 0);
		atomic_init(&s->cur_weight, 0);
		atomic_init(&s->weight_debt, 0);
		atomic_init(&s->requests, 0);
		atomic_init(&s->failures, 0);
		atomic_init(&s->health, UPS_HEALTH_UP);
		atomic_init(&s->hc_fails, 0);
		atomic_init(&s->hc_passes, 0);
		atomic_init(&s->hc_last, UPS_HC_NONE);
		atomic_init(&s->hc_last_status, 0);
		atomic_init(&s->hc_last_ms, 0);
		atomic_init(&s->hc_checks, 0);
		atomic_init(&s->hc_changes, 0);
		atomic_init(&s->bytes_up, 0);
		atomic_init(&s->bytes_down, 0);
		atomic_init(&s->ramp_ms, 0);
		atomic_init(&s->ramp_hc_seen, 0);
		/* nginx Plus ignores slow_start on a single server */
		if (s->slow_start_ms > 0 && !s->sole)
			g->slow_start = true;
	}

	g->ops = ops;
	g->bal = NULL;
	g->rr = NULL;
	err = bal_rr_init(g);
	if (err)
		return err;
	err = ops->init(g);
	if (err) {
		bal_rr_release(g);
		return err;
	}
	return 0;
}

void ups_group_release(struct ups_group *g)
{
	if (!g)
		return;
	if (g->ops && g->ops->release)
		g->ops->release(g);
	g->bal = NULL;
	bal_rr_release(g);
}

/* Passive health only: failed and still inside fail_timeout of the last
 * failure or probe (nginx: now - checked <= fail_timeout). */
bool ups_server_resting(const struct ups_server *s, int64_t now_ms)
{
	if (s->max_fails <= 0 || s->sole)
		return false;
	if (atomic_load_explicit(&s->fails, RLX) < s->max_fails)
		return false;
	return now_ms - atomic_load_explicit(&s->checked_ms, RLX) <= s->fail_timeout_ms;
}

bool ups_server_usable(const struct ups_server *s, int64_t now_ms)
{
	if (s->down)
		return false;
	/* drained or disabled from the control socket */
	if (atomic_load_explicit(&s->admin, RLX) != UPS_ADMIN_UP)
		return false;
	/* failed its active health checks (always UP without health_check) */
	if (atomic_load_explicit(&s->health, RLX) != UPS_HEALTH_UP)
		return false;
	if (s->max_conns > 0 && atomic_load_explicit(&s->active, RLX) >= s->max_conns)
		return false;
	return !ups_server_resting(s, now_ms);
}

bool ups_server_pickable(const struct ups_server *s, const struct bal_ctx *ctx)
{
	if (ups_ctx_tried(ctx, s->index))
		return false;
	if (atomic_load_explicit(&s->eff_weight, RLX) <= 0)
		return false;
	return ups_server_usable(s, ctx->now_ms);
}

bool ups_server_fail(struct ups_server *s, int64_t now_ms)
{
	int fails;

	atomic_fetch_add_explicit(&s->failures, 1, RLX);
	if (s->sole)
		return false;
	fails = atomic_fetch_add_explicit(&s->fails, 1, RLX) + 1;
	if (s->max_fails > 0) {
		int w = atomic_load_explicit(&s->eff_weight, RLX);
		int debt = atomic_fetch_add_explicit(&s->weight_debt, w / s->max_fails, RLX);

		/* nginx clamps effective_weight at 0; a racing payback only
		 * makes the clamp a little late */
		if (debt + w / s->max_fails > w)
			atomic_store_explicit(&s->weight_debt, w, RLX);
	}
	/* last failure first: a success racing with us must not see
	 * checked_ms > fail_ms because of our own update */
	atomic_store_explicit(&s->fail_ms, now_ms, RLX);
	atomic_store_explicit(&s->checked_ms, now_ms, memory_order_release);
	return s->max_fails > 0 && fails == s->max_fails;
}

bool ups_server_success(struct ups_server *s)
{
	int64_t checked = atomic_load_explicit(&s->checked_ms, memory_order_acquire);
	int64_t failed = atomic_load_explicit(&s->fail_ms, RLX);
	int was;

	/* nginx: "mark peer live if check passed" (accessed < checked) */
	if (failed >= checked || atomic_load_explicit(&s->fails, RLX) == 0)
		return false;
	/* one winner among racing successes reports the recovery */
	was = atomic_exchange_explicit(&s->fails, 0, RLX);
	return s->max_fails > 0 && !s->sole && was >= s->max_fails;
}

/*
 * ups_server_claim - take a request slot on S, which the algorithm found
 * pickable a moment ago: another worker may have taken the last max_conns
 * slot or the probe since. Returns false (and takes nothing) then.
 */
static bool ups_server_claim(struct ups_server *s, int64_t now_ms)
{
	int64_t checked;
	int active;

	if (s->max_conns > 0) {
		active = atomic_load_explicit(&s->active, RLX);
		do {
			if (active >= s->max_conns)
				return false;
		} while (!atomic_compare_exchange_weak_explicit(&s->active, &active, active + 1,
								memory_order_acq_rel, RLX));
	} else {
		atomic_fetch_add_explicit(&s->active, 1, RLX);
	}

	/* nginx sets checked = now when it picks a server whose last check is
	 * older than fail_timeout. For a failed server that pick is the probe:
	 * exactly one worker may win it. */
	checked = atomic_load_explicit(&s->checked_ms, memory_order_acquire);
	if (s->max_fails > 0 && !s->sole && atomic_load_explicit(&s->fails, RLX) >= s->max_fails) {
		if (now_ms - checked <= s->fail_timeout_ms ||
		    !atomic_compare_exchange_strong_explicit(&s->checked_ms, &checked, now_ms,
							     memory_order_acq_rel, RLX)) {
			atomic_fetch_sub_explicit(&s->active, 1, RLX);
			return false;
		}
	} else if (now_ms - checked > s->fail_timeout_ms) {
		/* losing this race is fine: someone else recorded the check */
		atomic_compare_exchange_strong_explicit(&s->checked_ms, &checked, now_ms,
							memory_order_acq_rel, RLX);
	}
	return true;
}

struct ups_server *ups_pick(struct ups_group *g, struct bal_ctx *ctx)
{
	uint64_t raced[UPS_MAX_SERVERS / 64] = {0};
	struct ups_server *s = NULL;
	size_t i;
	int n;

	if (!g || !g->ops || !g->rr)
		return NULL;

	/* Each lost claim race hides that server for this call only, so the
	 * loop ends after at most nservers rounds. */
	for (n = 0; n <= g->nservers; n++) {
		s = g->ops->pick(g, ctx);
		/* least_conn balances its backups itself, like nginx */
		if (!s && g->method != UPS_M_LEAST_CONN)
			s = bal_rr_pick_set(g, ctx, true);
		if (!s || ups_server_claim(s, ctx->now_ms))
			break;
		raced[s->index / 64] |= UINT64_C(1) << (s->index % 64);
		ups_ctx_mark(ctx, s->index);
		s = NULL;
	}
	for (i = 0; i < UPS_MAX_SERVERS / 64; i++)
		ctx->tried[i] &= ~raced[i];
	if (!s)
		return NULL;

	ups_ctx_mark(ctx, s->index);
	ctx->tries++;
	atomic_fetch_add_explicit(&s->requests, 1, RLX);
	return s;
}

bool ups_release_server(struct ups_server *s, bool failed, int64_t now_ms)
{
	bool disabled = false;

	if (failed)
		disabled = ups_server_fail(s, now_ms);
	else if (ups_server_success(s))
		ups_server_recovered(s, now_ms);
	atomic_fetch_sub_explicit(&s->active, 1, memory_order_release);
	return disabled;
}

int ups_server_set_weight(struct ups_group *g, struct ups_server *s, int weight)
{
	int old, err;

	if (!g || !s || weight < 0 || s < g->servers || s >= g->servers + g->nservers)
		return -EINVAL;
	old = atomic_exchange_explicit(&s->eff_weight, weight, memory_order_acq_rel);
	err = bal_rr_rebuild(g);
	if (!err && g->method == UPS_M_HASH && g->hash_consistent)
		err = bal_chash_rebuild(g);
	if (err) {
		/* keep weights and published structures in agreement */
		atomic_store_explicit(&s->eff_weight, old, memory_order_release);
		bal_rr_rebuild(g);
	}
	return err;
}

int64_t ups_primary_weight(const struct ups_group *g)
{
	int64_t total = 0;
	int i;

	for (i = 0; i < g->nservers; i++) {
		if (!g->servers[i].backup)
			total += atomic_load_explicit(&g->servers[i].eff_weight, RLX);
	}
	return total;
}

struct ups_server *ups_weighted_at(struct ups_group *g, int64_t x)
{
	int i, w;

	for (i = 0; i < g->nservers; i++) {
		if (g->servers[i].backup)
			continue;
		w = atomic_load_explicit(&g->servers[i].eff_weight, RLX);
		if (x < w)
			return &g->servers[i];
		x -= w;
	}
	return NULL;
}

void ups_server_recovered(struct ups_server *s, int64_t now_ms)
{
	if (s->slow_start_ms <= 0 || s->sole)
		return;
	/* 0 means "never ramped" */
	atomic_store_explicit(&s->ramp_ms, now_ms > 0 ? now_ms : 1, memory_order_release);
}

void ups_server_ramp_notice(struct ups_server *s, int64_t now_ms)
{
	uint64_t seen, changes;

	if (s->slow_start_ms <= 0 || s->sole)
		return;
	changes = atomic_load_explicit(&s->hc_changes, memory_order_acquire);
	seen = atomic_load_explicit(&s->ramp_hc_seen, RLX);
	if (changes == seen || atomic_load_explicit(&s->health, RLX) != UPS_HEALTH_UP)
		return;
	/* the worker that records the new count starts the ramp */
	if (atomic_compare_exchange_strong_explicit(&s->ramp_hc_seen, &seen, changes, RLX, RLX))
		ups_server_recovered(s, now_ms);
}

int ups_server_ramp(const struct ups_server *s, int64_t now_ms)
{
	int64_t start, elapsed, share;

	if (s->slow_start_ms <= 0 || s->sole)
		return UPS_RAMP_FULL;
	/* healthy again but no picker has noticed yet: the ramp starts now */
	if (atomic_load_explicit(&s->health, RLX) == UPS_HEALTH_UP &&
	    atomic_load_explicit(&s->hc_changes, RLX) !=
		    atomic_load_explicit(&s->ramp_hc_seen, RLX))
		return 1;
	start = atomic_load_explicit(&s->ramp_ms, memory_order_acquire);
	if (start == 0)
		return UPS_RAMP_FULL;
	/* another worker's clock may be a little ahead of ours */
	elapsed = now_ms > start ? now_ms - start : 0;
	if (elapsed >= s->slow_start_ms)
		return UPS_RAMP_FULL;
	share = elapsed * UPS_RAMP_FULL / s->slow_start_ms;
	return share > 0 ? (int)share : 1;
}

int64_t ups_server_ramp_weight(const struct ups_server *s, int64_t now_ms)
{
	return (int64_t)atomic_load_explicit(&s->eff_weight, RLX) * ups_server_ramp(s, now_ms);
}

int ups_server_weight_now(const struct ups_server *s, int64_t now_ms)
{
	return (int)((ups_server_ramp_weight(s, now_ms) + UPS_RAMP_FULL - 1) / UPS_RAMP_FULL);
}

bool ups_group_ramping(struct ups_group *g, bool backup, int64_t now_ms)
{
	bool any = false;
	int i;

	if (!g->slow_start)
		return false;
	for (i = 0; i < g->nservers; i++) {
		struct ups_server *s = &g->servers[i];

		if (s->backup != backup || s->slow_start_ms <= 0)
			continue;
		ups_server_ramp_notice(s, now_ms);
		any |= ups_server_ramp(s, now_ms) < UPS_RAMP_FULL;
	}
	return any;
}
