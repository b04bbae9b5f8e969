/* SPDX-License-Identifier: MIT */
/*
 * Traffic counters: one process-wide set of relaxed atomics, bumped by the
 * workers at connection open/close and once per answered request.
 */
#include "stats.h"
#include "http-t.h"

struct lbd_stats lbd_stats;

void stats_conn_opened(void)
{
	atomic_fetch_add_explicit(&lbd_stats.accepted, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&lbd_stats.handled, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&lbd_stats.active, 1, memory_order_relaxed);
}

void stats_conn_closed(void)
{
	atomic_fetch_sub_explicit(&lbd_stats.active, 1, memory_order_relaxed);
}

void stats_request_done(const struct conn *c)
{
	int st = c->req.status, cls = st >= 100 && st < 600 ? st / 100 : 0;

	atomic_fetch_add_explicit(&lbd_stats.status[cls], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&lbd_stats.bytes_out, c->req.bytes_sent, memory_order_relaxed);
	atomic_fetch_add_explicit(&lbd_stats.bytes_in, c->req.request_length, memory_order_relaxed);
}

void stats_request_start(void)
{
	atomic_fetch_add_explicit(&lbd_stats.requests, 1, memory_order_relaxed);
}

static _Atomic int64_t *state_counter(int st)
{
	return st == STATS_READING   ? &lbd_stats.reading
	       : st == STATS_WRITING ? &lbd_stats.writing
				     : NULL;
}

void stats_conn_state(int from, int to)
{
	_Atomic int64_t *f = state_counter(from), *t = state_counter(to);

	if (from == to)
		return;
	if (f)
		atomic_fetch_sub_explicit(f, 1, memory_order_relaxed);
	if (t)
		atomic_fetch_add_explicit(t, 1, memory_order_relaxed);
}
