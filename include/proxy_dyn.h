/* SPDX-License-Identifier: MIT */
/*
 * proxy_pass with variables: the URL evaluated per request (proxy_dyn.c).
 */
#ifndef LBD_PROXY_DYN_H
#define LBD_PROXY_DYN_H

#include "cfg-t.h"
#include "http-t.h"

struct worker;

#define PROXY_DYN_WAIT (-1) /* the host is being resolved */

/* proxy_dyn_resolve - evaluate TPL (a proxy_pass with variables) for C
 * into *OUT, from C's pool: the group, $proxy_host and URI part. 0, or
 * the status to answer (500: a bad URL, 502: no upstream for its host),
 * with the error logged, or PROXY_DYN_WAIT: the host is a name the
 * location's `resolver` is asked for; proxy_start runs again with the
 * answer (nothing else of the request moves meanwhile). */
int proxy_dyn_resolve(struct conn *c, const struct proxy_pass *tpl, const struct proxy_pass **out);

/* proxy_dyn_group - W's one-server group for the literal address ADDR
 * ("ip:port", "[v6]:port" or unix:PATH; the caller checked it is no
 * name), made on first use and kept for the worker's life; NULL past
 * DYN_MAX or when it cannot be made. Stream's proxy_pass uses it too. */
struct ups_group *proxy_dyn_group(struct worker *w, const char *addr);

struct dns_addrs;

/* proxy_dyn_resolved_group - W's group for NAME ("host:port") over the
 * addresses A it resolved to, on PORT: round robin with failover; made on
 * first use of that address set and kept (at most DYN_MAX groups per
 * worker). NULL past that. stream's proxy_pass uses it too. */
struct ups_group *proxy_dyn_resolved_group(struct worker *w, const char *name,
					   const struct dns_addrs *a, int port);

/* proxy_dyn_worker_free - the worker's literal-address groups, at exit. */
void proxy_dyn_worker_free(struct worker *w);

#endif
