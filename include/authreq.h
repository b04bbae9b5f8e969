/* SPDX-License-Identifier: MIT */
/*
 * auth_request (nginx's ngx_http_auth_request_module): the access phase
 * asks a subrequest to the configured URI whether the request may go on.
 *
 * The subrequest is a struct conn of its own without a socket (as an
 * HTTP/2 stream's request connection, from the same per-thread cache),
 * that shares the main request's header views, variables (copied) and
 * connection data, and runs the normal phases from location matching on:
 * an `internal` location's proxy_pass (the upstream code, its balancers,
 * keepalive pool and proxy_*_timeouts as for any request), a `return`, a
 * static file. Its response is written nowhere (http_out.c drops the bytes)
 * and it writes no access log line. When it closes, the status and what
 * the main request needs from it (auth_request_set values, evaluated in
 * its context, and a 401's WWW-Authenticate) are copied into the main
 * request's pool, and the main request's timer is armed at 0: the access
 * phase runs again from the next loop round, never from inside the
 * subrequest's own callbacks.
 */
#ifndef LBD_AUTHREQ_H
#define LBD_AUTHREQ_H

#include <stdbool.h>

struct conn;
struct cfg_loc;

/* struct authreq - the exchange of one main request (its pool). */
struct authreq {
	struct conn *sub;	   /* the subrequest in flight, NULL once done/aborted */
	const struct cfg_loc *loc; /* the access-phase configuration that asked */
	int uri_changes;	   /* the request's budget then: an internal redirect
				    * since makes the exchange stale (nginx clears
				    * module contexts on a redirect) */
	int code;		   /* satisfy any: the refusal collected before it */
	int saved_state;	   /* enum conn_state the main request left */
	int status;		   /* the subrequest's status, once done */
	bool done;		   /* status is known */
	bool upstream;		   /* the subrequest went to an upstream (log text) */
};

/* authreq_check - the auth_request step of the access phase of the request
 * on C with the settings of L (auth.c calls it after allow/deny and
 * auth_basic; CODE is the refusal collected so far, kept for the resume).
 * Returns AUTHREQ_DECLINED (no auth_request here), AUTHREQ_OK, 401 (C's
 * WWW-Authenticate set from the subrequest's), 403, 500, or AUTHREQ_AGAIN:
 * the subrequest started, C is in CS_AUTH, and the access phase runs
 * again once it is done (authreq_resume). */
enum {
	AUTHREQ_DECLINED = 0,
	AUTHREQ_OK = 1,
	AUTHREQ_AGAIN = 2,
};
int authreq_check(struct conn *c, const struct cfg_loc *l, int code);

/* authreq_resuming - whether the access phase of C in L runs again after
 * its subrequest finished (then *CODE is the refusal collected before). */
bool authreq_resuming(const struct conn *c, const struct cfg_loc *l, int *code);

/* authreq_resume - C's timer fired in CS_AUTH: when its subrequest is
 * done, back to the state it left and true (the caller runs the access
 * phase again); false while it still runs. */
bool authreq_resume(struct conn *c);

/* authreq_sub_closed - the subrequest connection SC is closing: hand its
 * outcome to its main request, if that still waits for it. */
void authreq_sub_closed(struct conn *sc);

/* authreq_abort - C's request ends (or C closes) while its subrequest may
 * still run: the subrequest is closed without telling C. */
void authreq_abort(struct conn *c);

/* authreq_sub_init - the request of subrequest SC (http_sub_new()) as
 * its main request P's: the header views (shared: P outlives SC), method,
 * version, host, request line, $request_uri, server block, start time and
 * a copy of the variables set so far. Also mirror.c's. 0 or -ENOMEM. */
int authreq_sub_init(struct conn *sc, struct conn *p);

/* authreq_verdict - the main request's verdict on subrequest STATUS as
 * nginx's: AUTHREQ_OK for 2xx, 401/403 as they are, 500 for anything else.
 * Pure, for unit tests. */
int authreq_verdict(int status);

#endif
