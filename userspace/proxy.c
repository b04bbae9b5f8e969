/* SPDX-License-Identifier: MIT */
/*
 * HTTP reverse proxy: reads (and spools) the client's request body, picks
 * an upstream server through the balancer, connects or reuses an idle
 * keep-alive connection, sends the request, parses the response head,
 * rewrites it for the client and relays the body with backpressure: while
 * the client cannot take more, nothing more is read from the upstream.
 * With proxy_buffering (pbuf.c) what the client cannot take goes to
 * buffers instead, and the upstream is released when its response is
 * complete; the backpressure then starts only when those are full.
 *
 * Owns struct uconn: from the pick until the response is read; then the
 * connection either goes to its worker's idle pool (keepalive N) or is
 * closed. Retries (proxy_next_upstream) reuse the same uconn object.
 *
 * This file holds the uconn's life: allocation, the idle pool, the
 * upstream queue, the request body's reading, connecting and retrying
 * (proxy_next_upstream), the upstream's events and timers, and the entry
 * points http.c calls. The other parts, sharing proxy_int.h:
 * proxy_req.c builds and sends the request, proxy_resp.c reads and
 * rewrites the response head, proxy_relay.c relays the body (and
 * upgraded connections), proxy_grpc.c runs gRPC's full duplex.
 */

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gunzip.h"
#include "subfilter.h"
#include "cache.h"
#include "pbuf.h"
#include "proxy_dyn.h"
#include "reqbody.h"
#include "stats.h"
#include "tunnel.h"
#include "upbind.h"
#include "var.h"
#include "proxy_int.h"

static void up_io(struct ev_loop *loop, struct ev_io *io, uint32_t ev);
static void up_timeout(struct ev_loop *loop, struct ev_timer *t);

#define UCONN_FREE_MAX 256 /* uconn objects a worker keeps for reuse */

/* up_alloc - a zeroed uconn (the header array excepted) from the worker's
 * free list, or malloc. */
static struct uconn *up_alloc(struct worker *w)
{
	struct uconn *u = w->uconn_free;

	if (u) {
		w->uconn_free = u->next_free;
		w->nuconn_free--;
	} else {
		u = malloc(sizeof(*u));
		if (!u)
			return NULL;
	}
	memset(u, 0, offsetof(struct uconn, resp));
	return u;
}

/* up_queue - send U's pending output (request or response) after this
 * event round instead of now, so that peers woken once find many sockets
 * ready. Sends at once when the queue cannot grow. */
void up_queue(struct uconn *u)
{
	struct worker *w = u->w;

	if (u->queued)
		return;
	if (w->nflushq == w->capflushq) {
		int cap = w->capflushq ? w->capflushq * 2 : 64;
		struct uconn **q = realloc(w->flushq, (size_t)cap * sizeof(*q));

		if (!q) {
			if (u->state == US_SENDING)
				up_send(u);
			else
				relay(u);
			return;
		}
		w->flushq = q;
		w->capflushq = cap;
	}
	u->queued = true;
	w->flushq[w->nflushq++] = u;
}

/* ---- helpers ----------------------------------------------------------------- */

/* fmt_ms - append ", " (unless first) and US as seconds with 3 decimals,
 * as $upstream_response_time shows it. */
void fmt_ms(char *dst, size_t dstlen, int64_t us)
{
	size_t l = strlen(dst);
	char *p = dst + l;
	int64_t ms;

	if (l + 32 > dstlen)
		return;
	if (us < 0)
		us = 0;
	if (l) {
		*p++ = ',';
		*p++ = ' ';
	}
	p += lbd_u64toa(p, (uint64_t)(us / 1000000));
	ms = (us / 1000) % 1000;
	*p++ = '.';
	*p++ = (char)('0' + ms / 100);
	*p++ = (char)('0' + ms / 10 % 10);
	*p++ = (char)('0' + ms % 10);
	*p = '\0';
}

void append_str(char *dst, size_t dstlen, const char *s)
{
	size_t l = strlen(dst), n = strlen(s);
	char *p = dst + l;

	if (l + n + 3 >= dstlen)
		return;
	if (l) {
		*p++ = ',';
		*p++ = ' ';
	}
	memcpy(p, s, n + 1);
}

/* try_bytes - the try's $upstream_response_length (body bytes, when USED),
 * $upstream_bytes_received and $upstream_bytes_sent, one more entry each. */
void try_bytes(struct uconn *u, bool used)
{
	struct http_req *r = &u->c->req;
	char n[24];

	/* a body counts once relayed: a try left for the next has 0 (nginx) */
	n[lbd_u64toa(n, used && u->rx > u->head_bytes ? u->rx - u->head_bytes : 0)] = '\0';
	append_str(r->up_resp_len, sizeof(r->up_resp_len), n);
	uint64_t rx = u->rx, tx = u->tx;

	if (u->gr.s) /* gRPC: the frames, as nginx counts them */
		grpc_up_bytes(u->gr.s, &rx, &tx);
	n[lbd_u64toa(n, rx)] = '\0';
	append_str(r->up_bytes_rx, sizeof(r->up_bytes_rx), n);
	n[lbd_u64toa(n, tx)] = '\0';
	append_str(r->up_bytes_tx, sizeof(r->up_bytes_tx), n);
}

bool method_idempotent(struct lstr m)
{
	return !(lstr_eq(m, LSTR("POST")) || lstr_eq(m, LSTR("LOCK")) || lstr_eq(m, LSTR("PATCH")));
}

static void up_close_fd(struct uconn *u)
{
	if (u->tun) {
		tunnel_free(u->tun);
		free(u->tun);
		u->tun = NULL;
	}
	if (u->tls) {
		tls_conn_free(u->tls);
		u->tls = NULL;
	}
	if (u->gr.s) {
		grpc_up_free(u->gr.s);
		u->gr.s = NULL;
	}
	ev_timer_stop(&u->w->loop, &u->gr.wt);
	if (u->io.fd >= 0) {
		ev_io_close(&u->io);
		u->io.fd = -1;
	}
	ev_timer_stop(&u->w->loop, &u->timer);
}

static void up_free(void *arg)
{
	struct uconn *u = arg;
	struct worker *w = u->w;

	if (u->rbuf)
		worker_relay_put(w, u->rbuf);
	if (w->nuconn_free < UCONN_FREE_MAX) {
		u->next_free = w->uconn_free;
		w->uconn_free = u;
		w->nuconn_free++;
		return;
	}
	free(u);
}

static void up_destroy(struct uconn *u)
{
	up_close_fd(u);
	if (ev_defer(&u->w->loop, up_free, u))
		up_free(u);
}

/* ---- the idle pool ------------------------------------------------------------ */

static void idle_remove(struct uconn *u)
{
	struct uconn **pp = &u->w->idle;

	while (*pp && *pp != u)
		pp = &(*pp)->next_idle;
	if (*pp) {
		*pp = u->next_idle;
		u->w->nidle--;
	}
	u->next_idle = NULL;
}

static struct uconn *idle_take(struct worker *w, struct ups_server *srv, bool tls, bool grpc)
{
	for (struct uconn *u = w->idle, *next; u; u = next) {
		next = u->next_idle;
		/* an HTTP/2 (gRPC) connection serves gRPC requests only */
		if (u->srv == srv && (u->tls != NULL) == tls && (u->gr.s != NULL) == grpc) {
			idle_remove(u);
			ev_timer_stop(&w->loop, &u->timer);
			/* TLS: its close may wait behind this request's event */
			if (u->tls && !upssl_idle_ok(u->tls, u->io.fd)) {
				up_destroy(u);
				continue;
			}
			return u;
		}
	}
	return NULL;
}

static int idle_count(struct worker *w, struct ups_group *g)
{
	int n = 0;

	for (struct uconn *u = w->idle; u; u = u->next_idle)
		n += u->g == g;
	return n;
}

/* ---- the upstream queue (`queue N [timeout=T]`) ------------------------------------------- */

/*
 * A request whose first pick finds no usable server (all full at max_conns,
 * failed, unhealthy...) waits in its group's queue instead of failing, when
 * the group has `queue` and room in it. The queue is only a count shared by
 * the workers (g->queued, one CAS to enter): each waiting request retries
 * the pick on its own timer every UP_QUEUE_POLL_MS: no lock and no
 * cross-worker wake-up, but waiting requests are not served in strict
 * arrival order. Full queue or timeout: 502, as nginx Plus answers.
 */
#define UP_QUEUE_POLL_MS 10

/* queue_wait - no server for U now: (keep) waiting? False when the group has
 * no queue, the queue is full, or U's wait is over (it left the queue). */
static bool queue_wait(struct uconn *u, int64_t now)
{
	struct ups_group *g = u->g;
	int64_t left;
	int n;

	if (g->queue_max <= 0)
		return false;
	if (u->state != US_QUEUED) {
		n = atomic_load_explicit(&g->queued, memory_order_relaxed);
		do {
			if (n >= g->queue_max)
				return false;
		} while (!atomic_compare_exchange_weak_explicit(
			&g->queued, &n, n + 1, memory_order_relaxed, memory_order_relaxed));
		u->state = US_QUEUED;
		u->queue_until = now + g->queue_timeout_ms;
	}
	left = u->queue_until - now;
	if (left <= 0) {
		atomic_fetch_sub_explicit(&g->queued, 1, memory_order_relaxed);
		u->state = US_CONNECTING;
		return false;
	}
	ev_timer_start(&u->w->loop, &u->timer, left < UP_QUEUE_POLL_MS ? left : UP_QUEUE_POLL_MS);
	return true;
}

/* queue_leave - U got a server or is going away: give back its place. */
static void queue_leave(struct uconn *u)
{
	if (u->state != US_QUEUED)
		return;
	atomic_fetch_sub_explicit(&u->g->queued, 1, memory_order_relaxed);
	ev_timer_stop(&u->w->loop, &u->timer);
	u->state = US_CONNECTING;
}

/* up_release - the request is over for U: give back the server, then pool
 * or close the connection. */
void up_release(struct uconn *u, bool failed)
{
	struct conn *c = u->c;
	/* Only a connection of the configuration in force may be pooled: an
	 * older generation's servers are freed with it, and a new server at
	 * the same address in memory must not inherit this connection. */
	bool current = c && c->cfg == u->w->cfg;

	queue_leave(u); /* a client gone while queued */

	if (u->srv && c) {
		ups_release_server(u->srv, failed, ev_now(&u->w->loop));
		if (!failed)
			ups_server_success(u->srv);
	}
	if (c)
		c->req.up = NULL;
	u->c = NULL;
	if (u->rbuf) {
		worker_relay_put(u->w, u->rbuf);
		u->rbuf = NULL;
	}
	if (!failed && current && u->keepalive && u->done && u->io.fd >= 0 && !u->w->quitting &&
	    u->requests < u->g->keepalive_requests &&
	    ev_now(&u->w->loop) - u->born_ms < u->g->keepalive_time_ms &&
	    (!u->tls || upssl_idle_ok(u->tls, u->io.fd)) &&
	    (!u->gr.s || grpc_up_reusable(u->gr.s)) &&
	    /* the worker's whole idle count bounds the group's: no walk */
	    (u->w->nidle < u->g->keepalive || idle_count(u->w, u->g) < u->g->keepalive)) {
		u->state = US_IDLE;
		ev_timer_stop(&u->w->loop, &u->gr.wt);
		u->next_idle = u->w->idle;
		u->w->idle = u;
		u->w->nidle++;
		ev_timer_start(&u->w->loop, &u->timer, u->g->keepalive_timeout_ms);
		return;
	}
	if (u->gr.s && u->io.fd >= 0) /* a call left half-way: the server sees a cancel */
		grpc_up_cancel(u->gr.s, u->io.fd, u->tls);
	up_destroy(u);
}

/* ---- request body ---------------------------------------------------------------- */

/* body_complete - the request body is read: build the upstream request
 * (its Content-Length is now known) and make the first try. */
static void body_complete(struct conn *c)
{
	struct uconn *u = c->req.up;

	ev_timer_stop(&c->w->loop, &c->timer);
	c->state = CS_UPSTREAM;
	if (build_request(u)) {
		up_fail_final(u, 500);
		return;
	}
	connect_next(u);
}

static void read_body(struct conn *c)
{
	int rc = reqbody_read_whole(c);

	switch (rc) {
	case REQBODY_WHOLE:
		body_complete(c);
		return;
	case REQBODY_AGAIN:
		conn_arm_timer(c, c->req.loc->client_body_timeout);
		return;
	case REQBODY_GONE:
		/* client gave up mid-body: nginx logs 400 */
		reqbody_log_gone(c, NULL, NULL);
		c->req.status = 400;
		c->close_after = true;
		http_response_done(c);
		return;
	case REQBODY_CLOSE:
		conn_close(c);
		return;
	default:
		c->close_after = true;
		http_finalize(c, -rc);
	}
}

/* rbody_fail - the streamed body cannot go on (reqbody_read()'s RC): the
 * upstream connection is dropped and the client answered as nginx does:
 * nothing (logged 400) when it went away, else the error status. */
void rbody_fail(struct uconn *u, int rc)
{
	struct conn *c = u->c;

	if (rc == REQBODY_GONE && u->io.fd >= 0 && http_log_wanted(c, LOG_INFO)) {
		char url[1024];

		reqbody_log_gone(c, proxy_log_upstream(c, url, sizeof(url)) ? url : NULL,
				 "sending request to upstream");
	} else if (rc == REQBODY_GONE) {
		reqbody_log_gone(c, NULL, NULL); /* before the upstream was chosen */
	}
	u->keepalive = false;
	up_release(u, false);
	c->close_after = true;
	if (rc == REQBODY_GONE) {
		c->req.status = 400;
		http_response_done(c);
		return;
	}
	if (rc == -413)
		http_log(c, NULL, LOG_ERR,
			 "client intended to send too large chunked body: %llu+%llu bytes",
			 (unsigned long long)c->req.body_received,
			 (unsigned long long)h1_chunked_pending(&c->req.chunked));
	http_finalize(c, -rc);
}

/* ---- connecting ----------------------------------------------------------------------- */

void up_fail_final(struct uconn *u, int status)
{
	struct conn *c = u->c;

	up_release(u, false);
	if (!cache_serve_stale(c, status == 504 ? CACHE_STALE_TIMEOUT : CACHE_STALE_ERROR))
		http_finalize(c, status);
}

/* connect_next - pick a server and connect (or take an idle connection). */
void connect_next(struct uconn *u)
{
	struct conn *c = u->c;
	const struct cfg_loc *l = c->req.loc;
	bool body = c->req.body_kind != BODY_NONE && l->proxy_pass_request_body; /* grpc */
	struct ups_server *s;
	int fd, one = 1;

	u->ctx.now_ms = ev_now(&u->w->loop);
	s = ups_pick(u->g, &u->ctx);
	/* only a first try waits, as in nginx Plus; retries fail over at once */
	if (!s && !u->last_status && queue_wait(u, u->ctx.now_ms))
		return;
	queue_leave(u);
	if (!s) {
		/* logged, and a try of its own in the $upstream_* lists (the
		 * block's name, 502, no times), on any try, as nginx */
		struct http_req *r = &c->req;

		up_log(u, LOG_ERR, "no live upstreams while connecting to upstream");
		append_str(r->up_addrs, sizeof(r->up_addrs), u->g->name);
		append_str(r->up_status, sizeof(r->up_status), "502");
		append_str(r->up_resp_time, sizeof(r->up_resp_time), "0.000");
		append_str(r->up_conn_time, sizeof(r->up_conn_time), "-");
		append_str(r->up_hdr_time, sizeof(r->up_hdr_time), "-");
		append_str(r->up_resp_len, sizeof(r->up_resp_len), "0");
		append_str(r->up_bytes_rx, sizeof(r->up_bytes_rx), "0");
		append_str(r->up_bytes_tx, sizeof(r->up_bytes_tx), "0");
		up_fail_final(u, u->last_status ? u->last_status : 502);
		return;
	}
	u->srv = s;
	u->try_us = lbd_now_us();
	u->rx = u->tx = 0;
	u->head_bytes = 0;
	u->conn_timed = false;
	u->head_off = 0;
	u->body_off = 0;
	u->sent_any = false;
	u->rstart = u->rend = 0;
	u->rh_big = NULL;
	if (u->fc.on) { /* the records start afresh on each try */
		u->fc.s = (struct fcgi_send){.closed = !u->fc.total};
		u->fc.d = (struct fcgi_dec){0};
		u->fc.caught = false;
	}
	u->uw.known = u->uw.cgi = false;
	u->gr.tx = u->gr.wwait = false;
	u->mc.head = false;
	u->mc.trail = 0;
	append_str(c->req.up_addrs, sizeof(c->req.up_addrs), s->name);
	if (u->gr.on) { /* this try's session: a kept one (below) or a fresh one */
		grpc_up_free(u->gr.s);
		u->gr.s = NULL;
	}
	if (u->g->keepalive > 0 && !u->uw.on) { /* uwsgi: a connection per request */
		struct uconn *idle = idle_take(u->w, s, c->req.pp->ssl, u->gr.on);

		/* gRPC: the request goes as the kept session's next stream */
		if (idle && u->gr.on && grpc_up_next(idle->gr.s, u->gr.f, u->gr.nf, body)) {
			up_destroy(idle);
			idle = NULL;
		}
		if (idle) {
			/* The request moves into the idle connection's uconn, whose
			 * fd stays registered with epoll: no epoll_ctl per request. */
			idle->c = u->c;
			idle->g = u->g;
			idle->srv = s;
			idle->ctx = u->ctx;
			idle->start_ms = u->start_ms;
			idle->try_us = u->try_us;
			idle->head = u->head;
			idle->head_len = u->head_len;
			idle->head_off = 0;
			idle->body_off = 0;
			idle->sent_any = false;
			idle->last_status = u->last_status;
			idle->keepalive = u->keepalive;
			idle->sent_head = u->sent_head;
			idle->rstart = idle->rend = 0;
			idle->rh_big = NULL;
			idle->done = false;
			idle->fc.on = u->fc.on;
			if (u->fc.on) /* its FastCGI state, fresh for this try */
				idle->fc = u->fc;
			idle->mc = u->mc; /* memcached's, fresh likewise */
			idle->gr.f = u->gr.f;
			idle->gr.nf = u->gr.nf;
			idle->gr.tx = idle->gr.wwait = false;
			idle->gr.closing = u->gr.closing;
			idle->cblocked = false;
			if (!idle->rbuf) {
				idle->rbuf = u->rbuf;
				u->rbuf = NULL;
			}
			c->req.up = idle;
			u->c = NULL;
			up_destroy(u);
			u = idle;
			u->reused = true;
			u->writable = true;
			u->state = US_SENDING;
			u->rx = u->tx = 0;
			u->head_bytes = 0;
			u->conn_timed = true;
			fmt_ms(c->req.up_conn_time, sizeof(c->req.up_conn_time), 0);
			up_queue(u);
			return;
		}
	}
	if (u->gr.on) { /* a new connection: a new session, its first frames ready */
		u->gr.s = grpc_up_new(u->gr.f, u->gr.nf, body);
		if (!u->gr.s) {
			up_fail_final(u, 500);
			return;
		}
	}
	u->reused = false;
	u->requests = 0;
	u->born_ms = ev_now(&u->w->loop);
	fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		up_next(u, NU_ERROR);
		return;
	}
	if (s->addr.ss_family != AF_UNIX) /* TCP only */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (l->proxy_socket_keepalive == 1)
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (l->proxy_bind) {
		char at[INET6_ADDRSTRLEN + 16];
		const char *opt;
		int rc = upbind_apply(c, l->proxy_bind, fd, at, sizeof(at), &opt);

		if (rc) { /* nginx: crit (alert for the option), the request fails with 500 */
			if (opt)
				up_log(u, LOG_ALERT,
				       "%s failed (%d: %s) while connecting to upstream", opt, -rc,
				       strerror(-rc));
			else
				up_log(u, LOG_CRIT,
				       "bind(%s) failed (%d: %s) while connecting to upstream", at,
				       -rc, strerror(-rc));
			close(fd);
			up_fail_final(u, 500);
			return;
		}
	}
	ev_io_init(&u->io, fd, up_io, u);
	if (ev_io_start(&u->w->loop, &u->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
		close(fd);
		u->io.fd = -1;
		up_next(u, NU_ERROR);
		return;
	}
	u->state = US_CONNECTING;
	u->readable = u->writable = u->rdhup = u->corked = false;
	if (connect(fd, (struct sockaddr *)&s->addr, s->addrlen) == -1 && errno != EINPROGRESS) {
		up_log(u, LOG_ERR, "connect() failed (%d: %s) while connecting to upstream", errno,
		       strerror(errno));
		up_next(u, NU_ERROR);
		return;
	}
	ev_timer_start(&u->w->loop, &u->timer, l->proxy_connect_timeout);
}

/* up_next - the try failed (NU_ERROR / NU_TIMEOUT / NU_INVALID_HEADER /
 * NU_HTTP_*): count the failure, then retry on the next server if allowed,
 * else answer 502/504. */
void up_next(struct uconn *u, int why)
{
	struct conn *c = u->c;
	const struct cfg_loc *l = c->req.loc;
	int64_t now = ev_now(&u->w->loop);
	int status = why == NU_TIMEOUT ? 504 : 502;
	bool stale_keepalive = u->reused && !u->sent_any && why == NU_ERROR;
	bool retry;

	/* the try's entries in the $upstream_* lists, as nginx's: a try
	 * without an answer has 502/504 and "-" for the times it lacks */
	if (!u->head_bytes) {
		append_str(c->req.up_status, sizeof(c->req.up_status),
			   why == NU_TIMEOUT ? "504" : "502");
		append_str(c->req.up_hdr_time, sizeof(c->req.up_hdr_time), "-");
	}
	if (!u->conn_timed)
		append_str(c->req.up_conn_time, sizeof(c->req.up_conn_time), "-");
	fmt_ms(c->req.up_resp_time, sizeof(c->req.up_resp_time), lbd_now_us() - u->try_us);
	try_bytes(u, false);
	up_close_fd(u);
	if (u->srv) {
		/* A cached connection the upstream had closed is not the
		 * server's fault (nginx retries it too). */
		/* nor are http_403 and http_404 (nginx: never unsuccessful) */
		if (ups_release_server(u->srv,
				       !stale_keepalive && why != NU_HTTP_403 && why != NU_HTTP_404,
				       now))
			up_log(u, LOG_WARN, "upstream server temporarily disabled while %s",
			       u->state == US_CONNECTING || u->state == US_HANDSHAKE
				       ? "connecting to upstream"
			       : u->state == US_SENDING	  ? "sending request to upstream"
			       : u->state == US_READ_HEAD ? "reading response header from upstream"
							  : "reading upstream");
		if (stale_keepalive) {
			/* let the same server be picked again on a new connection */
			u->ctx.tried[u->srv->index / 64] &= ~(UINT64_C(1) << (u->srv->index % 64));
			u->ctx.tries--;
		}
		u->srv = NULL;
	}
	retry = (l->proxy_next_upstream & why) && !(l->proxy_next_upstream & NU_OFF);
	if (u->sent_any && !method_idempotent(c->req.method) &&
	    !(l->proxy_next_upstream & NU_NON_IDEMPOTENT))
		retry = false;
	if (u->sent_any && c->req.rbody) /* the body sent is gone: nginx does not retry */
		retry = false;
	/* every server tried (nginx's peer.tries = the servers): no retry */
	if (u->ctx.tries >= u->g->nservers)
		retry = false;
	if (stale_keepalive)
		retry = true;
	if (l->proxy_next_upstream_tries && u->ctx.tries >= l->proxy_next_upstream_tries)
		retry = false;
	if (l->proxy_next_upstream_timeout && now - u->start_ms >= l->proxy_next_upstream_timeout)
		retry = false;
	if (retry) {
		u->last_status = status;
		connect_next(u);
		return;
	}
	c->req.up = NULL;
	u->c = NULL;
	up_destroy(u);
	/* no more tries: a stale cache entry if proxy_cache_use_stale says */
	if (!cache_serve_stale(c, status == 504 ? CACHE_STALE_TIMEOUT : CACHE_STALE_ERROR))
		http_finalize(c, status);
}

/* ---- events --------------------------------------------------------------------------- */

static void idle_event(struct uconn *u)
{
	char b;

	/* An edge left over from the response just read (its last bytes
	 * came after the last epoll_wait): nothing there, keep it. */
	if (recv(u->io.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == -1 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK)) {
		u->readable = false;
		return;
	}
	/* An idle connection that becomes readable was closed by the
	 * upstream (or sent garbage): drop it. */
	idle_remove(u);
	up_destroy(u);
}

/* up_connected - the connection (and its TLS session) is up: account the
 * connect time and send the request. */
static void up_connected(struct uconn *u)
{
	u->conn_timed = true;
	fmt_ms(u->c->req.up_conn_time, sizeof(u->c->req.up_conn_time), lbd_now_us() - u->try_us);
	ev_timer_stop(&u->w->loop, &u->timer);
	u->state = US_SENDING;
	up_send(u);
}

/* up_handshake - https://: start or advance the TLS handshake (upssl.c);
 * a failure is an `error` for proxy_next_upstream. */
static void up_handshake(struct uconn *u)
{
	const struct cfg_loc *l = u->c->req.loc;
	char err[512];
	enum tls_hs hs;

	if (!u->tls) {
		u->state = US_HANDSHAKE;
		u->tls = upssl_start(u->c, l, u->srv, u->io.fd);
		if (u->tls && u->gr.on && upssl_alpn_h2(u->tls)) { /* grpcs:// */
			tls_conn_free(u->tls);
			u->tls = NULL;
		}
		if (!u->tls && upssl_start_error()) {
			/* proxy_ssl_certificate with variables: nginx's 500 */
			up_log(u, LOG_ERR, "%s while connecting to upstream", upssl_start_error());
			up_fail_final(u, 500);
			return;
		}
		if (!u->tls) {
			up_log(u, LOG_ERR, "cannot start SSL while SSL handshaking to upstream");
			up_next(u, NU_ERROR);
			return;
		}
	}
	hs = upssl_handshake(u->tls, u->c, l, err, sizeof(err));
	if (hs == TLS_HS_FAILED) {
		up_log(u, LOG_ERR, "%s while SSL handshaking to upstream", err);
		up_next(u, NU_ERROR);
		return;
	}
	if (hs != TLS_HS_DONE)
		return; /* edge-triggered: the next event on either side drives it */
	u->readable = u->writable = true;
	up_connected(u);
}

static void up_io(struct ev_loop *loop, struct ev_io *io, uint32_t ev)
{
	struct uconn *u = io->data;

	(void)loop;
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		u->readable = true;
	if (ev & (EPOLLRDHUP | EPOLLHUP))
		u->rdhup = true;
	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		u->writable = true;
	switch (u->state) {
	case US_QUEUED: /* no fd while queued */
		break;
	case US_IDLE:
		if (u->readable)
			idle_event(u);
		break;
	case US_CONNECTING: {
		int err = 0;
		socklen_t el = sizeof(err);

		if (!u->writable && !(ev & (EPOLLERR | EPOLLHUP)))
			break;
		getsockopt(u->io.fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err) {
			up_log(u, LOG_ERR, "connect() failed (%d: %s) while connecting to upstream",
			       err, strerror(err));
			up_next(u, NU_ERROR);
			break;
		}
		if (u->c->req.pp->ssl) {
			/* the connect timer runs on over the handshake, as nginx */
			up_handshake(u);
			break;
		}
		up_connected(u);
		break;
	}
	case US_HANDSHAKE:
		up_handshake(u);
		break;
	case US_SENDING:
		if (u->readable && early_answer(u))
			break;
		if (u->writable)
			up_send(u);
		else if (ev & (EPOLLERR | EPOLLHUP))
			up_next(u, NU_ERROR);
		break;
	case US_READ_HEAD:
		if (u->gr.tx)
			grpc_duplex(u, u->readable);
		else if (u->readable)
			up_read_head(u);
		break;
	case US_RELAY:
		if (u->gr.tx)
			grpc_duplex(u, u->readable);
		else if (u->readable)
			relay(u);
		break;
	case US_TUNNEL:
		tunnel_drive(u);
		break;
	}
}

static void up_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct uconn *u = t->data;
	struct conn *c = u->c;

	(void)loop;
	if (u->state == US_IDLE) {
		idle_remove(u);
		up_destroy(u);
		return;
	}
	if (u->state == US_QUEUED) {
		connect_next(u); /* pick again, or wait on, or give up */
		return;
	}
	const char *what = u->state == US_CONNECTING  ? "connecting to upstream"
			   : u->state == US_HANDSHAKE ? "SSL handshaking to upstream"
			   : u->state == US_SENDING   ? "sending request to upstream"
						      : "reading response header from upstream";

	if (u->state == US_TUNNEL) {
		if (tunnel_timer(u))
			return;
		/* proxy_read_timeout with no byte either way: nginx's message */
		up_log(u, LOG_ERR,
		       "upstream timed out (110: Connection timed out) while proxying upgraded connection");
		tunnel_end(u);
		return;
	}
	if (u->state == US_RELAY && u->rate_wait) {
		u->rate_wait = false; /* proxy_limit_rate's delay is over */
		relay(u);
		return;
	}
	if (u->state == US_RELAY) {
		up_log(u, LOG_ERR,
		       "upstream timed out (110: Connection timed out) while reading upstream");
		u->keepalive = false;
		up_release(u, true);
		http_request_cut(c); /* logged with the answer's status, as nginx's */
		return;
	}
	up_log(u, LOG_ERR, "upstream timed out (110: Connection timed out) while %s", what);
	up_next(u, NU_TIMEOUT);
}

/* ---- entry points ----------------------------------------------------------------------- */

/* rbody_start - a streamed body (proxy_request_buffering off): answer
 * Expect: 100-continue, take what came with the head, and connect at once;
 * the client stays in CS_READ_BODY until its last body byte is read. */
static void rbody_start(struct uconn *u)
{
	struct conn *c = u->c;
	struct http_req *r = &c->req;
	int rc;

	if (r->expect_continue && c->in.end == c->in.start && http_send_continue(c)) {
		conn_close(c);
		return;
	}
	rc = reqbody_read(c);
	if (rc) {
		rbody_fail(u, rc);
		return;
	}
	conn_arm_timer(c, r->loc->client_body_timeout);
	connect_next(u);
}

/* client_gone - C's client closed (or reset: ERR, -1 to ask the socket)
 * its connection while U is still being connected or awaited: nginx's
 * info line, the upstream connection closed, 499 logged. nginx's action
 * stays "sending request" until a byte of the answer came. */
static void client_gone(struct conn *c, struct uconn *u, int err)
{
	/* (an HTTP/2 stream's end is h2.c's to log) */
	if (!c->h2s && http_log_wanted(c, LOG_INFO)) {
		const char *action = u->state == US_CONNECTING	? "connecting to upstream"
				     : u->state == US_HANDSHAKE ? "SSL handshaking to upstream"
				     : u->state == US_READ_HEAD && u->rx
					     ? "reading response header from upstream"
					     : "sending request to upstream";
		char url[1024], e[80] = "";
		socklen_t len = sizeof(err);

		/* nginx reads the socket's error (a reset) for the line */
		if (err < 0 && getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = 0;
		if (err > 0)
			snprintf(e, sizeof(e), " (%d: %s)", err, strerror(err));
		http_log(c, proxy_log_upstream(c, url, sizeof(url)) ? url : NULL, LOG_INFO,
			 "epoll_wait() reported that client prematurely closed connection, so "
			 "upstream connection is closed too%s while %s",
			 e, action);
	}
	c->req.status = 499;
	u->keepalive = false;
	up_release(u, false);
	c->close_after = true;
	http_response_done(c);
}

/* rbody_client_event - client readiness while its body is streamed: read
 * it into the buffer (as far as the buffer takes) and pass it on. While
 * the upstream is being connected, as nginx, nothing is read: the body
 * waits in the socket, and a client that goes away meanwhile (its FIN or
 * reset reported, unread bytes or not) ends the request with 499. */
static void rbody_client_event(struct uconn *u)
{
	struct conn *c = u->c;
	int rc;

	if (((u->state == US_CONNECTING && u->io.fd >= 0) || u->state == US_HANDSHAKE) && !c->h2s &&
	    !u->gr.tx) {
		if (c->peer_hup && !c->req.loc->proxy_ignore_client_abort)
			client_gone(c, u, -1);
		return;
	}

	if (u->gr.tx) { /* gRPC: the body goes up, the answer comes down */
		grpc_duplex(u, u->state == US_RELAY && u->c->writable);
		return;
	}
	if (u->state == US_SENDING) {
		up_send(u);
		return;
	}
	rc = reqbody_read(u->c); /* connecting or queued: fill the buffer */
	if (rc)
		rbody_fail(u, rc);
}

void proxy_start(struct conn *c)
{
	struct http_req *r = &c->req;
	struct uconn *u;

	if (unlikely(r->loc->proxy->dynamic)) {
		int st = proxy_dyn_resolve(c, r->loc->proxy, &r->pp);

		if (st == PROXY_DYN_WAIT) {
			/* as waiting on an upstream: the connection reads nothing more */
			r->pp = NULL;
			c->state = CS_UPSTREAM;
			return;
		}
		if (st) {
			r->pp = NULL;
			http_finalize(c, st);
			return;
		}
	} else {
		r->pp = r->loc->proxy;
	}
	/* nginx's memcached module answers GET and HEAD only */
	if (unlikely(r->pp->memcached) && !lstr_eq(r->method, LSTR("GET")) &&
	    !lstr_eq(r->method, LSTR("HEAD"))) {
		r->pp = NULL;
		http_finalize(c, 405);
		return;
	}
	if ((r->loc->cache.zc || r->loc->cache.zvar) && cache_start(c, proxy_start))
		return; /* answered from the cache, or waiting on proxy_cache_lock */
	u = up_alloc(c->w);
	if (!u) {
		http_finalize(c, 500);
		return;
	}
	u->w = c->w;
	u->c = c;
	u->g = r->pp->group;
	u->io.fd = -1;
	ev_timer_init(&u->timer, up_timeout, u);
	ev_timer_init(&u->gr.wt, grpc_wtimeout, u);
	u->start_ms = ev_now(&c->w->loop);
	u->ctx.client = (const struct sockaddr *)&c->peer;
	if (u->g->hash_key) {
		struct lstr k;

		if (cval_eval(u->g->hash_key, c, &k) == 0) {
			u->ctx.key = k.p;
			u->ctx.keylen = k.len;
		}
	}
	r->up = u;
	c->state = CS_READ_BODY;
	/* client_body_in_file_only: read (into its file) even when not
	 * passed on, as nginx reads it */
	bool read = r->loc->proxy_pass_request_body || r->loc->body_in_file != BODY_FILE_OFF;

	if (r->body_kind != BODY_NONE && read && !r->body_done) {
		int rc = reqbody_begin(c);

		if (rc < 0 || (rc > 0 && build_request(u))) {
			r->up = NULL;
			u->c = NULL;
			up_destroy(u);
			http_finalize(c, 500);
			return;
		}
		if (rc > 0) {
			rbody_start(u);
			return;
		}
	}
	if (r->body_kind == BODY_NONE || !read) {
		r->body_done = true;
		if (build_request(u)) {
			r->up = NULL;
			u->next_free = c->w->uconn_free;
			c->w->uconn_free = u;
			c->w->nuconn_free++;
			http_finalize(c, 500);
			return;
		}
		c->state = CS_UPSTREAM;
		connect_next(u);
		return;
	}
	read_body(c);
}

/* proxy_client_timeout - the client's deadline passed: client_body_timeout
 * while reading the body (408 logged), send_timeout while relaying (close). */
void proxy_client_timeout(struct conn *c)
{
	struct uconn *u = c->req.up;

	if (c->state == CS_READ_BODY && u && u->gr.tx && u->state == US_RELAY) {
		/* gRPC, its answer under way: client_body_timeout or
		 * send_timeout cut the call; the log keeps the answer's
		 * status, as nginx's */
		if (u->cblocked) /* nginx says nothing of client_body_timeout here */
			http_log(
				c, NULL, LOG_INFO,
				"client timed out (110: Connection timed out) while sending to client");
		grpc_cut(u, true);
		return;
	}
	if (c->state == CS_READ_BODY) {
		/* nginx logs 408 and closes, answering nothing */
		c->close_after = true;
		if (u) { /* connected when the body is streamed */
			u->keepalive = false;
			up_release(u, false);
		}
		c->req.status = 408;
		http_response_done(c);
		return;
	}
	if (u) {
		u->keepalive = false;
		up_release(u, false);
	}
	c->close_after = true;
	conn_close(c);
}

void proxy_on_client_event(struct conn *c)
{
	struct uconn *u = c->req.up;

	if (c->state == CS_READ_BODY) {
		if (u && c->req.rbody)
			rbody_client_event(u);
		else if (u && c->readable)
			read_body(c);
		return;
	}
	if (!u) {
		if (c->req.pb) /* upstream released, buffered bytes left */
			pbuf_finish(c);
		return;
	}
	if (u->state == US_TUNNEL) {
		tunnel_drive(u);
		return;
	}
	if (u->state == US_RELAY && c->writable) {
		if (u->gr.tx) /* a body not from the client's stream still going up */
			grpc_duplex(u, true);
		else
			relay(u);
		return;
	}
	if (c->peer_hup && u->state != US_RELAY) {
		char b;
		ssize_t n = conn_peek(c, &b, 1);

		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			/* client closed while we wait on the upstream: 499 */
			if (c->req.loc->proxy_ignore_client_abort)
				return;
			client_gone(c, u, n == -1 ? errno : -1);
			return;
		}
		if (n == -1)
			c->readable = false;
		c->peer_hup = false;
	}
}

/* proxy_abort - the client connection is going away mid-request. */
void proxy_abort(struct conn *c)
{
	struct uconn *u = c->req.up;

	if (!u)
		return;
	u->keepalive = false;
	up_release(u, false);
}

void proxy_worker_cleanup(struct worker *w)
{
	while (w->idle) {
		struct uconn *u = w->idle;

		idle_remove(u);
		up_destroy(u);
	}
}

static void batch_done(void *arg, uint64_t tag, int res)
{
	struct worker *w = arg;

	up_send_done(w->flushq[tag], res);
}

/* batch_send - the round's plain upstream requests in one system call
 * (uring.c): the backend, woken by the first, finds all of them at once,
 * and a backend that shares the core preempts the worker once per round
 * instead of once per request. What a send did not finish, up_send() in
 * the loop below goes on with, as after its own writev. */
static void batch_send(struct worker *w)
{
	int n = 0;

	for (int i = 0; i < w->nflushq; i++) {
		struct uconn *u = w->flushq[i];
		int k;

		if (!uring_room(&w->ur)) /* the rest go one writev each */
			break;
		if (!u->c || u->io.fd < 0 || u->state != US_SENDING)
			continue;
		k = up_send_plain(u, w->ur_iov[n]);
		if (!k)
			continue;
		w->ur_msg[n] = (struct msghdr){.msg_iov = w->ur_iov[n], .msg_iovlen = (size_t)k};
		if (!uring_send(&w->ur, u->io.fd, &w->ur_msg[n], (uint64_t)i))
			break;
		n++;
	}
	/* one alone gains nothing over writev */
	if (n > 1 && uring_submit(&w->ur, batch_done, w) == 0) {
		atomic_fetch_add_explicit(&lbd_stats.batch_sends, (uint64_t)n,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&lbd_stats.batch_calls, 1, memory_order_relaxed);
	} else if (n == 1)
		uring_drop(&w->ur);
}

/* proxy_flush - the worker loop's end-of-round hook: send what up_queue()
 * held back. Entries whose request is gone are skipped (their memory is
 * freed only by deferred calls, which run after this). */
void proxy_flush(struct ev_loop *loop)
{
	struct worker *w = loop->data;

	if (w->nflushq > 1 && uring_ok(&w->ur))
		batch_send(w);

	for (int i = 0; i < w->nflushq; i++) {
		struct uconn *u = w->flushq[i];

		u->queued = false;
		if (!u->c || u->io.fd < 0)
			continue;
		if (u->state == US_SENDING)
			up_send(u);
		else if (u->state == US_RELAY && u->gr.tx)
			grpc_duplex(u, true);
		else if (u->state == US_RELAY)
			relay(u);
	}
	w->nflushq = 0;
}

/* proxy_worker_init - W's send batch; without io_uring (an old kernel, a
 * seccomp policy, io_uring_disabled) requests go one writev each. */
void proxy_worker_init(struct worker *w)
{
	int rc = uring_init(&w->ur, 256);

	if (!rc) {
		w->ur_msg = calloc(w->ur.entries, sizeof(*w->ur_msg));
		w->ur_iov = calloc(w->ur.entries, sizeof(*w->ur_iov));
		if (w->ur_msg && w->ur_iov)
			return;
		rc = -ENOMEM;
	}
	free(w->ur_msg);
	free(w->ur_iov);
	w->ur_msg = NULL;
	w->ur_iov = NULL;
	uring_fini(&w->ur);
	if (w->id == 0)
		log_info("io_uring not available (%d: %s): upstream requests are sent one "
			 "system call each",
			 -rc, strerror(-rc));
}

void proxy_worker_free(struct worker *w)
{
	uring_fini(&w->ur);
	free(w->ur_msg);
	free(w->ur_iov);
	w->ur_msg = NULL;
	w->ur_iov = NULL;
	while (w->uconn_free) {
		struct uconn *u = w->uconn_free;

		w->uconn_free = u->next_free;
		free(u);
	}
	w->nuconn_free = 0;
	gzip_worker_free();
	gunzip_worker_free();
	proxy_dyn_worker_free(w);
	subfilter_worker_free();
}
