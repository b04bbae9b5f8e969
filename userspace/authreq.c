/* SPDX-License-Identifier: MIT */
/*
 * auth_request: the subrequest of the access phase (see authreq.h for the
 * mechanism). What the subrequest shares with its main request, as
 * nginx's ngx_http_subrequest: the request line, method ($request_method;
 * proxy.c still sends GET), headers, $request_uri, the server block, the
 * variables set so far (copied: what the subrequest sets stays its own);
 * its URI is auth_request's, without arguments, internal. It has no body.
 *
 * The verdict is nginx's: 2xx lets the request in, 401 (with the
 * subrequest's WWW-Authenticate) and 403 are answered, anything else is a
 * 500 with "auth request unexpected status: N". auth_request_set values
 * are evaluated in the subrequest and copied into the main request, for
 * every status, before the verdict (nginx: "to make sure they will be
 * available after internal redirects").
 */
#include <errno.h>
#include <string.h>

#include "auth.h"
#include "authreq.h"
#include "cfg.h"
#include "http.h"
#include "log.h"
#include "pool.h"
#include "var.h"
#include "worker.h"

int authreq_verdict(int status)
{
	if (status == 401 || status == 403)
		return status;
	if (status >= 200 && status < 300)
		return AUTHREQ_OK;
	return 500;
}

/* copy - S into C's pool (the subrequest's memory goes with it). */
static int copy(struct conn *c, struct lstr s, struct lstr *out)
{
	char *d;

	if (!s.len) {
		*out = (struct lstr){"", 0};
		return 0;
	}
	d = pool_alloc(&c->pool, s.len);
	if (!d)
		return -ENOMEM;
	memcpy(d, s.p, s.len);
	*out = (struct lstr){d, s.len};
	return 0;
}

bool authreq_resuming(const struct conn *c, const struct cfg_loc *l, int *code)
{
	const struct authreq *ar = c->req.authreq;

	if (!ar->done || ar->loc != l || ar->uri_changes != c->req.uri_changes)
		return false;
	*code = ar->code;
	return true;
}

int authreq_sub_init(struct conn *sc, struct conn *p)
{
	struct http_req *r = &sc->req;
	const struct http_req *pr = &p->req;
	int n = pr->nset_vars;

	/* the main request's header views, shared: it outlives the
	 * subrequest, and may hold more lines than r->hdrs (hdrs_big) */
	r->h1 = pr->h1;
	r->method = pr->method;
	r->version = pr->version;
	r->host = pr->host;
	r->request_line = pr->request_line;
	r->u.unparsed = pr->u.unparsed;
	r->hdr_cookie = pr->hdr_cookie;
	r->hdr_connection = pr->hdr_connection;
	r->srv = pr->srv;
	r->start_us = lbd_now_us();
	r->start_wall = pr->start_wall;
	if (n) {
		/* room for http_set_var's growth rule: a multiple of 8 */
		size_t cap = (size_t)(n + 7) / 8 * 8;

		r->set_vars_name = pool_alloc(&sc->pool, cap * sizeof(struct lstr));
		r->set_vars_val = pool_alloc(&sc->pool, cap * sizeof(struct lstr));
		if (!r->set_vars_name || !r->set_vars_val)
			return -ENOMEM;
		memcpy(r->set_vars_name, pr->set_vars_name, (size_t)n * sizeof(struct lstr));
		memcpy(r->set_vars_val, pr->set_vars_val, (size_t)n * sizeof(struct lstr));
		r->nset_vars = n;
	}
	return 0;
}

int authreq_check(struct conn *c, const struct cfg_loc *l, int code)
{
	struct http_req *r = &c->req;
	const char *uri = l->auth.req_uri;
	struct authreq *ar = r->authreq;
	struct conn *sc;
	int v;

	if (!uri || !uri[0])
		return AUTHREQ_DECLINED;
	if (ar && ar->done && ar->loc == l && ar->uri_changes == r->uri_changes) {
		if (ar->status == 444 || ar->status == 499)
			return ar->status; /* http_finalize closes without an answer */
		v = authreq_verdict(ar->status);
		/* nginx's line has the action its upstream code left set */
		if (v == 500)
			http_log(c, NULL, LOG_ERR, "auth request unexpected status: %d%s",
				 ar->status, ar->upstream ? " while sending to client" : "");
		return v;
	}
	ar = pool_zalloc(&c->pool, sizeof(*ar));
	sc = ar ? http_sub_new(c) : NULL;
	if (!sc)
		return 500;
	ar->loc = l;
	ar->uri_changes = r->uri_changes;
	ar->code = code;
	ar->saved_state = (int)c->state;
	ar->sub = sc;
	r->authreq = ar;
	c->state = CS_AUTH;
	if (authreq_sub_init(sc, c)) {
		conn_close(sc); /* status 0: a 500 once resumed */
		return AUTHREQ_AGAIN;
	}
	http_internal_redirect(sc, (struct lstr){uri, strlen(uri)}, (struct lstr){"", 0});
	return AUTHREQ_AGAIN;
}

/* sub_outcome - what main request P keeps of its finished subrequest SC:
 * the auth_request_set values and a 401's challenge. 0 or -ENOMEM. */
static int sub_outcome(struct conn *sc, struct conn *p, const struct authreq *ar)
{
	const struct auth_loc *a = &ar->loc->auth;
	struct lstr v;

	for (int i = 0; i < a->nreq_sets; i++) {
		if (cval_eval(a->req_sets[i].value, sc, &v) || copy(p, v, &v) ||
		    http_set_var(p, a->req_sets[i].name, v))
			return -ENOMEM;
	}
	if (sc->req.status == 401 &&
	    var_get_by_name(sc, "sent_http_www_authenticate", 26, &v) == 0 && v.p && v.len) {
		if (copy(p, v, &p->req.resp_www_auth))
			return -ENOMEM;
	}
	return 0;
}

void authreq_sub_closed(struct conn *sc)
{
	struct conn *p = sc->sr_parent;
	struct authreq *ar = p->req.authreq;

	if (!ar || ar->sub != sc)
		return; /* aborted: the main request is gone or going */
	ar->sub = NULL;
	ar->done = true;
	/* a subrequest closed before its answer (out of memory): 500; one
	 * that closed the connection on purpose (444, 499) ends the main
	 * request the same way, as nginx terminates it */
	ar->status = sc->req.completed || sc->req.status == 444 || sc->req.status == 499
			     ? sc->req.status
			     : 0;
	ar->upstream = sc->req.pp != NULL;
	if (sub_outcome(sc, p, ar))
		ar->status = 0;
	/* the access phase runs again from the loop, not from this stack */
	ev_timer_start(&p->w->loop, &p->timer, 0);
}

bool authreq_resume(struct conn *c)
{
	const struct authreq *ar = c->req.authreq;

	if (!ar || !ar->done)
		return false; /* not this exchange's wake-up: it still waits */
	c->state = (enum conn_state)ar->saved_state;
	return true;
}

void authreq_abort(struct conn *c)
{
	struct authreq *ar = c->req.authreq;
	struct conn *sc = ar->sub;

	c->req.authreq = NULL;
	if (sc) {
		ar->sub = NULL;
		conn_close(sc);
	}
}
