/* SPDX-License-Identifier: MIT */
/*
 * nginx's `resolver`: names in a proxy_pass (fastcgi_pass) with variables
 * looked up on the request path, asynchronously, through the configured
 * DNS servers, per worker, with a cache (resolver.c).
 */
#ifndef LBD_RESOLVER_H
#define LBD_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns.h"

struct worker;

#define RESOLVER_MAX_SERVERS 8

/* struct resolver_conf - one `resolver` directive. */
struct resolver_conf {
	struct sockaddr_storage addr[RESOLVER_MAX_SERVERS]; /* DNS servers (port 53 default) */
	socklen_t addrlen[RESOLVER_MAX_SERVERS];
	int naddr;
	int64_t valid_ms; /* `valid=`: cache answers this long (0: their TTL) */
	bool ipv4, ipv6;  /* `ipv4=`, `ipv6=` (both on by default) */
};

/* struct dns_addrs - the addresses a name resolved to. */
struct dns_addrs {
	struct sockaddr_storage addr[DNS_MAX_ADDR]; /* port 0 */
	socklen_t addrlen[DNS_MAX_ADDR];
	int n;
};

/* struct dns_waiter - a request waiting for a name (in its pool). */
struct dns_waiter {
	struct dns_waiter *next, *prev;	   /* the name's waiters */
	struct dns_ent *ent;		   /* NULL once answered or cancelled */
	void (*cb)(struct dns_waiter *wt); /* the answer is in (code, addrs) */
	void *data;			   /* the caller's */
	int code;			   /* 0, a DNS_* code, or 110 (timed out) */
	struct dns_addrs addrs;		   /* the answer, when code is 0 */
};

/* resolver_lookup - NAME (LEN bytes) through RC, waiting at most
 * TIMEOUT_MS. 0: answered now (*OUT filled, or WT->code set for an
 * error); 1: asked, WT->cb will be called from the worker's loop;
 * -errno: the query could not be sent. */
int resolver_lookup(struct worker *w, const struct resolver_conf *rc, int64_t timeout_ms,
		    const char *name, size_t len, struct dns_waiter *wt);

/* resolver_cancel - WT no longer waits (its request went away). */
void resolver_cancel(struct dns_waiter *wt);

/* resolver_worker_free - the worker's resolver, at its exit. */
void resolver_worker_free(struct worker *w);

#endif
