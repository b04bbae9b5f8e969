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

	atomic_fetch_add_explicit(&lbd_stats.requests, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&lbd_stats.status[cls], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&lbd_stats.bytes_out, c->req.bytes_sent, memory_order_relaxed);
	atomic_fetch_add_explicit(&lbd_stats.bytes_in, c->req.request_length, memory_order_relaxed);
}
