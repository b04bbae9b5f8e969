/* SPDX-License-Identifier: MIT */
/*
 * mirror: the background subrequests of a main request (see mirror.h).
 * Owns struct mirror_run (the main request's pool), the reading of the
 * whole body before the subrequests start, and the main request's wait
 * for them at its end.
 *
 * Memory: a main request has at most one subrequest per `mirror` line in
 * flight, and its connection takes no other request while they run (as
 * nginx), so a mirror backend slower than the clients holds one struct
 * conn per mirror line per client connection, never a queue; each
 * subrequest is bounded by the mirror location's proxy_*_timeouts.
 */
#include <errno.h>
#include <string.h>

#include "authreq.h"
#include "cfg.h"
#include "h2.h"
#include "http.h"
#include "log.h"
#include "mirror.h"
#include "pool.h"
#include "reqbody.h"
#include "worker.h"

/* struct mirror_sub - one subrequest started (main request's pool). */
struct mirror_sub {
	struct conn *c;		 /* running, NULL once it ended */
	struct mirror_sub *next; /* the run's list */
	bool action;		 /* post_action's: its $uri, $args, $status are logged */
};

/* struct mirror_run - the mirror state of one main request (its pool). */
struct mirror_run {
	struct mirror_sub *subs;   /* every subrequest started, newest first */
	int pending;		   /* those still running */
	const struct cfg_loc *loc; /* the location pass that started them: after an
				    * internal redirect another one starts its own */
	int uri_changes;	   /* ... with the request's budget then */
	int saved_state;	   /* enum conn_state left for CS_MIRROR's body read */
	bool body;		   /* CS_MIRROR: reading the body */
	bool waiting;		   /* CS_MIRROR: the answer is done, pending > 0 */
	bool aborting;		   /* the main request ends: no more wake-ups */
};

/* sub_start - one subrequest of main request C to URI. 0, or -ENOMEM
 * (nothing started). */
static int sub_start(struct conn *c, struct mirror_run *m, const char *uri, bool body,
		     struct lstr args, bool action)
{
	const struct http_req *r = &c->req;
	struct mirror_sub *s = pool_zalloc(&c->pool, sizeof(*s));
	struct conn *sc = s ? http_sub_new(c) : NULL;
	struct http_req *sr;

	if (!sc)
		return -ENOMEM;
	sr = &sc->req;
	/* the head's views stay valid while C lives, which outlives SC (also
	 * when C's input grows under mirror_request_body off: in_prev) */
	if (authreq_sub_init(sc, c)) {
		conn_close(sc);
		return -ENOMEM;
	}
	/* nginx's subrequest keeps the method; the body is the one read,
	 * sent with its length (a chunked one too), or none */
	if (body && r->body_kind != BODY_NONE) {
		sr->body_kind = BODY_LENGTH;
		sr->content_length = r->body_received;
		sr->body_received = r->body_received;
		sr->body_mem = r->body_mem;
		sr->body_fd = r->body_fd;
	}
	sr->body_done = true;
	sr->head = r->head;
	sr->mirror = m;
	s->c = sc;
	s->action = action;
	s->next = m->subs;
	m->subs = s;
	m->pending++;
	/* it may end right here (a `return`): mirror_req_end() then */
	if (uri[0] == '@') {
		/* a named location: the request's own URI and arguments */
		sr->u = r->u;
		sr->u.args = args;
		http_named_location(sc, (struct lstr){uri, strlen(uri)});
	} else {
		http_internal_redirect(sc, (struct lstr){uri, strlen(uri)}, args);
	}
	return 0;
}

/* launch - every subrequest of C's location; false when C was answered
 * 500 instead (nginx: the subrequest could not be made). */
static bool launch(struct conn *c, struct mirror_run *m)
{
	const struct mirror_loc *ml = &c->req.loc->mirror;

	for (int i = 0; i < ml->nuris; i++) {
		if (sub_start(c, m, ml->uris[i], ml->request_body, c->req.u.args, false)) {
			http_finalize(c, 500);
			return false;
		}
	}
	return true;
}

/* body_stop - C no longer reads its body for mirror: back to the state
 * it left (the answer, an error's or the content handler's, goes on from
 * there). */
static void body_stop(struct conn *c, struct mirror_run *m)
{
	ev_timer_stop(&c->w->loop, &c->timer);
	m->body = false;
	c->state = (enum conn_state)m->saved_state;
}

/* body_done - C's whole body is read: the subrequests, then the content
 * handler. */
static void body_done(struct conn *c, struct mirror_run *m)
{
	body_stop(c, m);
	if (launch(c, m))
		http_content(c);
}

/* body_read - read C's body whole (reqbody_feed: memory, then the temp
 * file), as proxy.c reads it for proxy_request_buffering on: the bytes
 * behind the head first, a 100 Continue when asked, then the socket until
 * EAGAIN. Errors as nginx: 400 logged when the client goes away, the
 * decoder's status (400, 413, 500) answered. */
static void body_read(struct conn *c, struct mirror_run *m)
{
	int rc = reqbody_read_whole(c);

	switch (rc) {
	case REQBODY_WHOLE:
		body_done(c, m);
		return;
	case REQBODY_AGAIN:
		conn_arm_timer(c, c->req.loc->client_body_timeout);
		return;
	case REQBODY_CLOSE:
		conn_close(c);
		return;
	}
	body_stop(c, m);
	c->close_after = true;
	if (rc == REQBODY_GONE) {
		/* the client gave up mid-body: nginx logs 400 */
		reqbody_log_gone(c, NULL, NULL);
		c->req.status = 400;
		http_response_done(c);
		return;
	}
	http_finalize(c, -rc);
}

bool mirror_start(struct conn *c)
{
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	struct mirror_run *m = r->mirror;

	/* nginx: subrequests do not mirror */
	if (c->sr_parent || !l->mirror.nuris)
		return false;
	if (m && m->loc == l && m->uri_changes == r->uri_changes)
		return false; /* this location pass mirrored already */
	if (!m) {
		m = pool_zalloc(&c->pool, sizeof(*m));
		if (!m) {
			http_finalize(c, 500);
			return true;
		}
		r->mirror = m;
	}
	m->loc = l;
	m->uri_changes = r->uri_changes;
	if (l->mirror.request_body && r->body_kind != BODY_NONE && !r->body_done) {
		m->body = true;
		m->saved_state = (int)c->state;
		c->state = CS_MIRROR;
		body_read(c, m);
		return true;
	}
	return !launch(c, m);
}

void mirror_post_action(struct conn *c)
{
	struct http_req *r = &c->req;
	const char *uri = r->loc ? r->loc->mirror.post_action : NULL;
	struct mirror_run *m = r->mirror;
	bool body;

	if (c->sr_parent || !uri || !*uri || r->post_action_done)
		return;
	r->post_action_done = true;
	if (!m) {
		m = pool_zalloc(&c->pool, sizeof(*m));
		if (!m)
			return; /* no memory: the answer is out, only the action is lost */
		r->mirror = m;
	}
	/* the body goes along when the request holds it whole (read into
	 * memory or its temp file), as nginx's request still has it */
	body = r->body_kind != BODY_NONE && r->body_done && !r->rbody &&
	       (r->body_mem.data || r->body_fd >= 0);
	/* nginx redirects the request itself: a URI drops the arguments, a
	 * named location keeps $uri and them */
	if (sub_start(c, m, uri, body, uri[0] == '@' ? r->u.args : (struct lstr){"", 0}, true))
		http_log(c, NULL, LOG_ERR, "post_action \"%s\" not started: out of memory", uri);
}

bool mirror_wait(struct conn *c)
{
	struct mirror_run *m = c->req.mirror;

	if (!m->pending)
		return false;
	/* An HTTP/2 stream's answer is not held either: its END_STREAM goes
	 * now, and its request connection stays (counted among the
	 * connection's streams, as nginx counts it) until the subrequests
	 * end; h2.c leaves a closed stream's connection alone meanwhile. */
	if (c->h2s)
		h2_stream_done(c);
	m->waiting = true;
	c->state = CS_MIRROR;
	ev_timer_stop(&c->w->loop, &c->timer);
	return true;
}

bool mirror_waiting(const struct conn *c)
{
	return c->state == CS_MIRROR && c->req.mirror && c->req.mirror->waiting;
}

void mirror_client_event(struct conn *c)
{
	struct mirror_run *m = c->req.mirror;

	/* waiting: the client's bytes stay queued until the subrequests end */
	if (m && m->body && c->readable)
		body_read(c, m);
}

void mirror_timer(struct conn *c)
{
	struct mirror_run *m = c->req.mirror;

	if (m && m->body) {
		/* client_body_timeout: nginx logs 408 and closes, answering nothing */
		body_stop(c, m);
		c->close_after = true;
		c->req.status = 408;
		http_response_done(c);
		return;
	}
	if (m && m->waiting && !m->pending) {
		m->waiting = false;
		c->state = CS_WRITE;
		http_response_done(c);
	}
}

/* action_logged - main request P logs what its post_action subrequest C
 * did, as nginx's request redirected there: $uri, $args and $status (its
 * body bytes and $request stay P's). Copied: C's pool goes with it. */
static void action_logged(struct conn *p, const struct conn *c)
{
	struct http_req *r = &p->req;
	const struct http_uri *u = &c->req.u;
	char *uri = pool_strndup(&p->pool, u->uri.p ? u->uri.p : "", u->uri.len);
	char *args = pool_strndup(&p->pool, u->args.p ? u->args.p : "", u->args.len);

	if (!uri || !args)
		return; /* no memory: the request's own are logged */
	r->u.uri = (struct lstr){uri, u->uri.len};
	r->u.args = (struct lstr){args, u->args.len};
	if (c->req.status)
		r->status = c->req.status;
}

void mirror_req_end(struct conn *c)
{
	struct mirror_run *m = c->req.mirror;
	struct conn *p = c->sr_parent;

	c->req.mirror = NULL;
	if (p) {
		/* the main request's body: its to close and free */
		c->req.body_fd = -1;
		c->req.body_mem = (struct buf){0};
		for (struct mirror_sub *s = m->subs; s; s = s->next) {
			if (s->c == c) {
				s->c = NULL;
				m->pending--;
				if (s->action)
					action_logged(p, c);
				break;
			}
		}
		/* the main request goes on from the loop, not from this stack */
		if (m->waiting && !m->pending && !m->aborting)
			ev_timer_start(&p->w->loop, &p->timer, 0);
		return;
	}
	m->aborting = true;
	for (struct mirror_sub *s = m->subs; s; s = s->next) {
		struct conn *sc = s->c;

		if (sc) {
			s->c = NULL;
			m->pending--;
			conn_close(sc);
		}
	}
}
