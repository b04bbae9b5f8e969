/* SPDX-License-Identifier: MIT */
/*
 * Traffic counters for `lbctl stats`, stub_status and metrics: connections,
 * requests, responses by status class, bytes. Updated from every worker
 * with relaxed atomics (no lock); read by the control thread.
 */
#ifndef LBD_STATS_H
#define LBD_STATS_H

#include <stdatomic.h>
#include <stdint.h>

struct conn;

/* struct lbd_stats - process-wide totals since start. */
struct lbd_stats {
	_Atomic uint64_t accepted;    /* client connections accepted */
	_Atomic uint64_t handled;     /* accepted and not refused */
	_Atomic int64_t active;	      /* open client connections */
	_Atomic uint64_t requests;    /* requests answered (logged) */
	_Atomic uint64_t status[6];   /* by class: [1]=1xx ... [5]=5xx, [0]=other */
	_Atomic uint64_t bytes_out;   /* bytes sent to clients */
	_Atomic uint64_t bytes_in;    /* request bytes read (heads and bodies) */
	_Atomic int64_t reading;      /* connections reading a request head */
	_Atomic int64_t writing;      /* connections with a request in progress */
	_Atomic uint64_t batch_sends; /* upstream requests sent in a batch (io_uring) */
	_Atomic uint64_t batch_calls; /* the system calls that sent them */
};

/* What a client connection is doing, for stub_status (nginx's Reading /
 * Writing / Waiting; waiting = active - reading - writing). */
enum stats_conn_state {
	STATS_WAITING = 0, /* idle: no request bytes yet, or keep-alive */
	STATS_READING,	   /* reading a request head */
	STATS_WRITING,	   /* request read, response in progress */
};

extern struct lbd_stats lbd_stats;

/* stats_ld / stats_lds - a counter read by the control thread or a status
 * page: relaxed, a figure not a synchronisation point. */
static inline uint64_t stats_ld(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static inline int64_t stats_lds(_Atomic int64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

void stats_conn_opened(void);
void stats_conn_closed(void);
void stats_request_done(const struct conn *c);
/* stats_request_start - a complete request head was read (nginx counts
 * requests there, so the one being served shows in stub_status). */
void stats_request_start(void);
/* stats_conn_state - move a connection from state FROM to TO. */
void stats_conn_state(int from, int to);

#endif
