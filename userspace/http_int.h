/* SPDX-License-Identifier: MIT */
/*
 * Private to the HTTP client side (http.c, http_head.c, http_route.c,
 * http_out.c): nginx's internal status codes, the request's limits, and
 * the functions one part calls in another. Each function's comment is at
 * its definition. Not for other modules: their interface is http.h.
 */
#ifndef LBD_HTTP_INT_H
#define LBD_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <strings.h>
#include <sys/types.h>

#include "http.h"
#include "stats.h"

#define HTTP_STATUS_REQ_HEADER_TOO_LARGE 494 /* nginx's internal code, sent as 400 */
#define HTTP_STATUS_TO_HTTPS		 497 /* nginx's: plain HTTP to a TLS port, sent as 400 */
#define HTTP_MAX_URI_CHANGES		 10
#define HTTP_IN_INITIAL			 4096

enum rw_result { RWR_CONTINUE = 0, RWR_DONE, RWR_LAST, RWR_BREAK };

/* conn_stat - what the connection is doing, for stub_status. */
static inline void conn_stat(struct conn *c, int st)
{
	stats_conn_state(c->stat_state, st);
	c->stat_state = st;
}

/* req_header - request header NAME (NLEN bytes, any case) of R, or NULL. */
static inline const struct h1_header *req_header(const struct http_req *r, const char *name,
						 size_t nlen)
{
	for (size_t i = 0; i < r->h1.nheaders; i++) {
		const struct h1_header *h = &r->h1.headers[i];

		if (h->name.len == nlen && strncasecmp(h->name.p, name, nlen) == 0)
			return h;
	}
	return NULL;
}

/* http.c */
void http_log_phase(struct conn *c);
bool http_keepalive_ok(struct conn *c);
void http_run_content(struct conn *c);
void http_head_gone(struct conn *c, ssize_t n, int err);

/* http_head.c */
void http_read_head(struct conn *c);
void http_process_request(struct conn *c);
const char *http_head_ctx(struct conn *c);

/* http_route.c */
struct cfg_srv *http_find_server_host(struct conn *c, struct lstr host);
void http_find_config(struct conn *c);
enum rw_result http_run_rewrites(struct conn *c, const struct cfg_loc *l);

/* http_out.c */
void http_lowat(struct conn *c, int v);
void http_builtin_page(struct conn *c, int status);

#endif
