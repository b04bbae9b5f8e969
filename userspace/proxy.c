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
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "charset.h"
#include "fastcgi.h"
#include "cookie.h"
#include "grpc.h"
#include "h2.h"
#include "gunzip.h"
#include "gzip.h"
#include "subfilter.h"
#include "cache.h"
#include "http.h"
#include "ksplice.h"
#include "log.h"
#include "pbuf.h"
#include "proxy_dyn.h"
#include "range.h"
#include "ratelimit.h"
#include "reqbody.h"
#include "tunnel.h"
#include "ups.h"
#include "upssl.h"
#include "upbind.h"
#include "memc.h"
#include "scgi.h"
#include "uwsgi.h"
#include "store.h"
#include "var.h"
#include "worker.h"

#define UP_MAX_HEADERS	   100
#define UP_MAX_HEADERS_ALL 2000 /* lines of an upstream head past rh: in the request pool */

enum us_state {
	US_CONNECTING = 0, /* non-blocking connect in progress */
	US_SENDING,	   /* writing the request */
	US_READ_HEAD,	   /* waiting for / parsing the response head */
	US_RELAY,	   /* relaying the response body */
	US_IDLE,	   /* in the worker's keep-alive pool */
	US_QUEUED,	   /* waiting for a usable server (`queue`), no fd */
	US_TUNNEL,	   /* after 101: bytes both ways (tunnel.c) until both FINs */
	US_HANDSHAKE,	   /* https://: TLS handshake after the connect (upssl.c) */
};

enum framing {
	FR_NONE = 0, /* no body */
	FR_LENGTH,   /* Content-Length */
	FR_CHUNKED,  /* chunked */
	FR_CLOSE,    /* until the upstream closes */
};

/* struct uconn - an upstream connection, and the proxy state of the
 * request using it. */
struct uconn {
	struct ev_io io;	/* upstream fd */
	struct ev_timer timer;	/* connect/send/read deadline, or idle keep-alive */
	struct worker *w;	/* owning worker */
	struct conn *c;		/* client, NULL while idle */
	struct ups_group *g;	/* group of srv */
	struct ups_server *srv; /* server in use (active counted while c is set) */
	enum us_state state;
	bool readable, writable; /* edge-triggered readiness */
	bool rdhup;		 /* the upstream's FIN was seen: read to EOF, a
				  * short read no longer means drained */
	bool corked;		 /* body bytes went with MSG_MORE and may be held
				  * in the client socket: push before waiting */
	bool reused;		 /* came from the idle pool */
	bool sent_any;		 /* some request byte reached the socket */
	bool early;		 /* answered before its streamed body was all sent */
	bool cblocked;		 /* the relay waits for the client to take bytes
				  * (c->timer is send_timeout) */
	uint64_t rx, tx;	 /* this try's bytes from and to the upstream */
	size_t head_bytes;	 /* ... of them the response head */
	bool conn_timed;	 /* this try's $upstream_connect_time is in */
	bool keepalive;		 /* may return to the pool after this response */
	bool sent_head;		 /* the method sent was HEAD: the answer has no body */
	int last_status;	 /* 502/504 of the last failed try, 0 before any */
	int requests;		 /* requests served on this connection */
	int64_t born_ms;	 /* when it was connected: keepalive_time */
	struct uconn *next_idle; /* worker idle list */

	/* request */
	struct bal_ctx ctx;	   /* balancer state across retries */
	int64_t start_ms;	   /* first try, for proxy_next_upstream_timeout */
	int64_t queue_until;	   /* US_QUEUED: give up at this time (ms) */
	int64_t try_us;		   /* start of the current try */
	char *head;		   /* request head (pool) */
	size_t head_len, head_off; /* bytes and bytes sent */
	size_t body_off;	   /* body bytes sent (memory or file) */

	/* response */
	char *rbuf;	      /* relay buffer (worker pool), head first */
	size_t rstart, rend;  /* unread bytes [rstart, rend) */
	enum framing fr;      /* upstream framing */
	uint64_t remaining;   /* FR_LENGTH: bytes still expected */
	struct h1_chunked ch; /* FR_CHUNKED decoder */
	bool chunk_out;	      /* we chunk-encode for the client (FR_CLOSE; FR_CHUNKED
			       * decoded and framed again for add_trailer) */
	bool dechunk;	      /* we decode chunked for an HTTP/1.0 client */
	bool done;	      /* whole upstream response read */
	bool sink;	      /* the body goes to the cache only (HEAD as GET, 304) */
	bool orphan;	      /* the client is gone: read on for proxy_store alone */
	bool rate_wait;	      /* u->timer is proxy_limit_rate's delay, not a read timeout */
	const char *span;     /* body bytes to send to the client */
	size_t span_len;
	char suffix[16]; /* bytes to send after span ("\r\n", last chunk) */
	size_t suffix_len, suffix_off;
	struct uconn *next_free; /* worker free list */
	bool queued;		 /* in the worker's flush queue */
	struct tunnel *tun;	 /* US_TUNNEL: the stream (malloc), else NULL */
	struct tls_conn *tls;	 /* https://: the TLS session on io.fd, else NULL */
	struct {
		bool on;	    /* fastcgi_pass: records both ways (fastcgi.c) */
		bool keep;	    /* fastcgi_keep_conn: FCGI_KEEP_CONN asked */
		uint64_t total;	    /* request body bytes framed as STDIN */
		struct fcgi_send s; /* this try's STDIN framing */
		struct fcgi_dec d;  /* this try's response records */
		bool caught;	    /* fastcgi_catch_stderr matched (this try's head) */
	} fc;
	struct {
		struct grpc_up *s;     /* grpc_pass: this try's HTTP/2 session, else NULL */
		struct grpc_field *f;  /* the request's fields (request pool) */
		size_t nf;	       /* their count */
		bool on;	       /* grpc_pass (grpc.c) */
		bool tx;	       /* the request still going up while the answer side
					* runs (full duplex: grpc_duplex) */
		bool wwait;	       /* tx waits for the upstream's WINDOW_UPDATE */
		bool closing;	       /* tx set c->close_after (an HTTP/1.1 client) */
		int64_t body_ms;       /* tx: when the client's body last moved
					* (client_body_timeout counts from it) */
		struct ev_timer wt;    /* tx: grpc_send_timeout while the upstream is
					* awaited (u->timer is the answer side's) */
		struct h1_chunked bch; /* the answer's chunks as written to the client:
					* $body_bytes_sent counts their data only */
	} gr;
	struct {
		bool on;    /* uwsgi_pass, scgi_pass: one packet, the answer ends at the close */
		bool known; /* this try's answer: its first bytes told HTTP from CGI */
		bool cgi;   /* a CGI head: read behind FCGI_HEAD_LINE, Status: fixed */
	} uw;
	struct {
		bool on;	 /* memcached_pass: "get KEY", the answer's line made a head */
		bool head;	 /* this try's first line was read and replaced */
		bool first;	 /* the next frame is the head's own read (nginx's
				    * message context) */
		size_t trail;	 /* bytes of "\r\nEND\r\n" seen after the value */
		struct lstr key; /* the key as sent (escaped), in the request head */
	} mc;

	/* Last: not cleared when a uconn is reused (the parser fills them). */
	struct h1_response resp;
	struct h1_header rh[UP_MAX_HEADERS];
	struct h1_header *rh_big; /* a head of more lines than rh holds (request pool), or NULL */
};

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

static void up_io(struct ev_loop *loop, struct ev_io *io, uint32_t ev);
static void up_timeout(struct ev_loop *loop, struct ev_timer *t);
static void up_next(struct uconn *u, int nu_bit);
static void up_log(struct uconn *u, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void up_send(struct uconn *u);
static void up_read_head(struct uconn *u);
static void memc_trailer(struct uconn *u, const char *p, size_t n);
static bool early_answer(struct uconn *u);
static void relay(struct uconn *u);
static void connect_next(struct uconn *u);
static int build_request(struct uconn *u);
static void up_fail_final(struct uconn *u, int status);
static void tunnel_begin(struct uconn *u, size_t head_len);
static void tunnel_drive(struct uconn *u);
static void tunnel_end(struct uconn *u);
static bool tunnel_timer(struct uconn *u);

/* up_queue - send U's pending output (request or response) after this
 * event round instead of now, so that peers woken once find many sockets
 * ready. Sends at once when the queue cannot grow. */
static void up_queue(struct uconn *u)
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
static void fmt_ms(char *dst, size_t dstlen, int64_t us)
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

static void append_str(char *dst, size_t dstlen, const char *s)
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
static void try_bytes(struct uconn *u, bool used)
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

static bool method_idempotent(struct lstr m)
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
		ev_io_stop(&u->w->loop, &u->io);
		close(u->io.fd);
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
static void up_release(struct uconn *u, bool failed)
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
static void rbody_fail(struct uconn *u, int rc)
{
	struct conn *c = u->c;

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

/* ---- request head ----------------------------------------------------------------- */

/* skip_client_header - request headers never passed as the client sent
 * them: nginx's defaults set them itself (Host, Connection,
 * Content-Length) or clear them (the hop-by-hop and Expect ones). */
static bool skip_client_header(struct h1_str n)
{
	return H1_IS(n, "host") || H1_IS(n, "connection") || H1_IS(n, "content-length") ||
	       H1_IS(n, "transfer-encoding") || H1_IS(n, "te") || H1_IS(n, "keep-alive") ||
	       H1_IS(n, "expect") || H1_IS(n, "upgrade");
}

static bool hdr_named(const struct hdr_list *hl, struct h1_str name)
{
	for (int i = 0; i < hl->n; i++)
		if (name.len == hl->v[i].namelen &&
		    strncasecmp(name.p, hl->v[i].name, name.len) == 0)
			return true;
	return false;
}

struct sbuf {
	char *p;
	size_t len, cap;
	struct pool *pool;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (b->len + n > b->cap) {
		size_t cap = (b->cap ? b->cap : 1024) * 2;
		char *d;

		while (cap < b->len + n)
			cap *= 2;
		d = pool_alloc(b->pool, cap);
		if (!d) {
			b->oom = true;
			return;
		}
		if (b->len)
			memcpy(d, b->p, b->len);
		b->p = d;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_hdr(struct sbuf *b, const char *n, size_t nl, const char *v, size_t vl)
{
	sb_add(b, n, nl);
	sb_add(b, ": ", 2);
	sb_add(b, v, vl);
	sb_add(b, "\r\n", 2);
}

/* uri_escaped - the bytes nginx 1.22's NGX_ESCAPE_URI escapes in a path
 * sent upstream: controls, space, '"', '#', '%', '<', '>', '?', '\\', '^',
 * '`', '{', '|', '}', DEL and every byte over 0x7f (one bit per byte). */
static const uint32_t uri_escaped[8] = {
	0xffffffff, 0xd000002d, 0x50000000, 0xb8000001,
	0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
};

/* sb_escaped - S into B, escaped as nginx escapes a path sent upstream. */
static void sb_escaped(struct sbuf *b, struct lstr s)
{
	static const char hexd[] = "0123456789ABCDEF";

	for (size_t i = 0; i < s.len; i++) {
		unsigned char ch = (unsigned char)s.p[i];

		if (uri_escaped[ch >> 5] & (1u << (ch & 31))) {
			char e[3] = {'%', hexd[ch >> 4], hexd[ch & 15]};

			sb_add(b, e, 3);
		} else {
			sb_add(b, (const char *)&ch, 1);
		}
	}
}

/* sb_path - the (tail of the) decoded path S into B, as nginx sends it: as
 * it is, unless the client's target had an escape or the URI is no longer
 * the client's (a rewrite, an internal redirect); then escaped. */
static void sb_path(struct sbuf *b, const struct http_req *r, struct lstr s)
{
	if (r->u.quoted || r->uri_changed || r->internal)
		sb_escaped(b, s);
	else
		sb_add(b, s.p, s.len);
}

/* sb_upstream_uri - the request target sent upstream for C, as nginx
 * builds it: proxy_pass's URI part in place of the matched location
 * prefix, else the client's unparsed URI, else the (rewritten) URI
 * escaped, with the arguments. */
static void sb_upstream_uri(struct sbuf *sb, struct conn *c)
{
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	const struct proxy_pass *pp = r->pp;

	bool fixed = pp->has_uri && !pp->dynamic && !r->uri_break;

	if (pp->dynamic && pp->has_uri) {
		/* nginx: a URL with variables is sent as evaluated */
		sb_add(sb, pp->uri, pp->urilen);
	} else if (fixed && (l->match == LOC_PREFIX || l->match == LOC_PREFIX_NOREGEX ||
			     l->match == LOC_EXACT)) {
		size_t pl = LBD_MIN(l->patlen, r->u.uri.len);

		sb_add(sb, pp->uri, pp->urilen);
		sb_path(sb, r, (struct lstr){r->u.uri.p + pl, r->u.uri.len - pl});
		if (r->u.args.len) {
			sb_add(sb, "?", 1);
			sb_add(sb, r->u.args.p, r->u.args.len);
		}
	} else if (fixed) {
		sb_add(sb, pp->uri, pp->urilen);
	} else if (!r->uri_changed && r->u.unparsed.len && r->u.unparsed.p[0] == '/') {
		sb_add(sb, r->u.unparsed.p, r->u.unparsed.len);
	} else {
		sb_path(sb, r, r->u.uri);
		if (r->u.args.len) {
			sb_add(sb, "?", 1);
			sb_add(sb, r->u.args.p, r->u.args.len);
		}
	}
}

/* up_log - an error log line about U's try, with nginx's context: the
 * request's, and the upstream as nginx names it, "http://PEER/URI". */
static void up_log(struct uconn *u, enum log_level level, const char *fmt, ...)
{
	struct sbuf b = {.pool = &u->c->pool};
	char url[1024];
	va_list ap;

	if (!http_log_wanted(u->c, level))
		return;
	/* nginx: no URI after fastcgi://, uwsgi:// or scgi:// */
	if (u->c->req.pp && !u->c->req.pp->fastcgi && !u->c->req.pp->uwsgi && !u->c->req.pp->scgi &&
	    !u->c->req.pp->memcached && !u->c->req.pp->grpc)
		sb_upstream_uri(&b, u->c);
	/* no server picked (none live): the upstream block's name */
	/* nginx separates a unix socket's path from the URI with ':' */
	snprintf(url, sizeof(url), "%s://%s%s%.*s",
		 !u->c->req.pp		   ? "http"
		 : u->c->req.pp->fastcgi   ? "fastcgi"
		 : u->c->req.pp->uwsgi	   ? "uwsgi"
		 : u->c->req.pp->scgi	   ? "scgi"
		 : u->c->req.pp->memcached ? "memcached"
		 : u->c->req.pp->grpc	   ? (u->c->req.pp->ssl ? "grpcs" : "grpc")
		 : u->c->req.pp->ssl	   ? "https"
					   : "http",
		 u->srv ? u->srv->name : u->g->name,
		 u->srv && u->srv->addr.ss_family == AF_UNIX ? ":" : "", b.oom ? 0 : (int)b.len,
		 b.p ? b.p : "");
	va_start(ap, fmt);
	http_vlog(u->c, url, level, fmt, ap);
	va_end(ap);
}

/* fcgi_request - build_request for fastcgi_pass: the records (fastcgi.c)
 * and how the body will be framed. */
static int fcgi_request(struct uconn *u)
{
	struct conn *c = u->c;
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	bool body = r->body_kind != BODY_NONE && l->proxy_pass_request_body;
	struct lstr h;

	u->fc.on = true;
	u->fc.keep = l->fcgi.keep_conn == 1;
	u->fc.total = !body		? 0
		      : r->rbody	? r->content_length
		      : r->body_fd >= 0 ? r->body_received
					: r->body_mem.end;
	u->sent_head = lstr_eq(r->method, LSTR("HEAD"));
	u->keepalive = u->fc.keep && u->g->keepalive > 0;
	if (fcgi_build_request(c, u->fc.keep, u->fc.total, &h))
		return -ENOMEM;
	u->head = (char *)h.p;
	u->head_len = h.len;
	return 0;
}

/* uwsgi_request - build_request for uwsgi_pass and scgi_pass: the packet
 * head (uwsgi.c, scgi.c); the body follows it raw, and the answer ends at
 * the close. */
static int uwsgi_request(struct uconn *u)
{
	struct conn *c = u->c;
	struct http_req *r = &c->req;
	bool body = r->body_kind != BODY_NONE && r->loc->proxy_pass_request_body;
	struct lstr h;
	size_t size = 0;
	int rc;

	u->uw.on = true;
	u->sent_head = lstr_eq(r->method, LSTR("HEAD"));
	u->keepalive = false;
	if (r->pp->scgi) {
		rc = scgi_build_request(c,
					!body		  ? 0
					: r->rbody	  ? r->content_length
					: r->body_fd >= 0 ? r->body_received
							  : r->body_mem.end,
					&h);
	} else {
		rc = uwsgi_build_request(c, &h, &size);
		if (rc == -E2BIG)
			http_log(c, NULL, LOG_ALERT, "uwsgi request is too big: %zu", size);
	}
	if (rc)
		return rc;
	u->head = (char *)h.p;
	u->head_len = h.len;
	return 0;
}

/* memc_request - build_request for memcached_pass: "get KEY" (memc.c).
 * The connection may go back to the upstream block's keepalive pool once
 * the answer was read to its end (not after a HEAD: the value is left
 * unread, as nginx leaves it). */
static int memc_request(struct uconn *u)
{
	struct conn *c = u->c;
	struct lstr h;
	int rc;

	u->mc.on = true;
	u->sent_head = lstr_eq(c->req.method, LSTR("HEAD"));
	u->keepalive = u->g->keepalive > 0 && !u->sent_head;
	rc = memc_build_request(c, &h, &u->mc.key);
	if (rc == -ENOENT)
		http_log(c, NULL, LOG_ERR, "the \"$memcached_key\" variable is not set");
	if (rc)
		return rc;
	u->head = (char *)h.p;
	u->head_len = h.len;
	return 0;
}

/* nginx's grpc_set_header defaults, under the user's: the request's
 * framing and hop-by-hop fields are not passed as the client sent them */
static const struct {
	const char *name;
	size_t len;
} grpc_defaults[] = {
	{"content-length", 14},	   {"te", 2},	       {"host", 4},   {"connection", 10},
	{"transfer-encoding", 17}, {"keep-alive", 10}, {"expect", 6}, {"upgrade", 7},
};

/* grpc_named - whether NAME is one of the fields grpc_request sets itself. */
static bool grpc_named(const struct cfg_loc *l, struct h1_str name)
{
	for (size_t i = 0; i < ARRAY_SIZE(grpc_defaults); i++)
		if (name.len == grpc_defaults[i].len &&
		    strncasecmp(name.p, grpc_defaults[i].name, name.len) == 0)
			return true;
	return hdr_named(&l->grpc.headers, name);
}

/* grpc_field_add - NAME (lowercased into the pool) and VALUE as the next
 * field of U's request. -ENOMEM. */
static int grpc_field_add(struct uconn *u, size_t cap, const char *name, size_t nl,
			  const char *value, size_t vl)
{
	char *n = pool_alloc(&u->c->pool, nl ? nl : 1);

	if (!n || u->gr.nf == cap)
		return -ENOMEM;
	for (size_t i = 0; i < nl; i++)
		n[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
	u->gr.f[u->gr.nf++] = (struct grpc_field){n, nl, value, vl};
	return 0;
}

/* grpc_request - build_request for grpc_pass: the fields of the request's
 * HEADERS (its session is made per try, in connect_next), as nginx's grpc
 * module sends them: :method, :scheme, :path (the client's URI), and
 * :authority (the grpc_pass host) unless grpc_set_header sets Host; then
 * grpc_set_header's fields over nginx's defaults, then the client's. */
static int grpc_request(struct uconn *u)
{
	struct conn *c = u->c;
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	const struct hdr_list *hl = &l->grpc.headers;
	struct sbuf b = {.pool = &c->pool};
	size_t cap = 8 + ARRAY_SIZE(grpc_defaults) + (size_t)hl->n + r->h1.nheaders;
	struct lstr m = r->method, v;
	bool te = false;
	int rc = 0;

	u->gr.on = true;
	/* kept for the next request with `keepalive` in the upstream block,
	 * as nginx (grpc_up_reusable decides at the end) */
	u->keepalive = u->g->keepalive > 0;
	u->sent_head = lstr_eq(m, LSTR("HEAD"));
	u->gr.f = pool_alloc(&c->pool, cap * sizeof(*u->gr.f));
	if (!u->gr.f)
		return -ENOMEM;
	u->gr.nf = 0;
	sb_upstream_uri(&b, c);
	if (b.oom || !b.len)
		return -ENOMEM;
	rc |= grpc_field_add(u, cap, ":method", 7, m.p, m.len);
	rc |= grpc_field_add(u, cap, ":scheme", 7, r->pp->ssl ? "https" : "http",
			     r->pp->ssl ? 5 : 4);
	rc |= grpc_field_add(u, cap, ":path", 5, b.p, b.len);
	if (!hdr_named(hl, (struct h1_str){"host", 4}))
		rc |= grpc_field_add(u, cap, ":authority", 10, r->pp->host, strlen(r->pp->host));
	/* $grpc_internal_trailers: the first TE line names trailers, in any case */
	for (size_t i = 0; i < r->h1.nheaders; i++) {
		const struct h1_header *h = &req_hdrs(r)[i];

		if (!H1_IS(h->name, "te"))
			continue;
		for (size_t k = 0; k + 8 <= h->value.len && !te; k++)
			te = strncasecmp(h->value.p + k, "trailers", 8) == 0;
		break;
	}
	/* the defaults the user did not replace: Content-Length
	 * ($content_length) and TE ($grpc_internal_trailers); the others are
	 * empty, not sent */
	if (!hdr_named(hl, (struct h1_str){"content-length", 14}) && r->body_kind == BODY_LENGTH &&
	    l->proxy_pass_request_body) {
		char *num = pool_alloc(&c->pool, 24);

		if (!num)
			return -ENOMEM;
		rc |= grpc_field_add(u, cap, "content-length", 14, num,
				     lbd_u64toa(num, r->content_length));
	}
	if (te && !hdr_named(hl, (struct h1_str){"te", 2}))
		rc |= grpc_field_add(u, cap, "te", 2, "trailers", 8);
	for (int i = 0; i < hl->n; i++) {
		if (cval_eval(&hl->v[i].value, c, &v))
			return -ENOMEM;
		if (v.len)
			rc |= grpc_field_add(u, cap, hl->v[i].name, hl->v[i].namelen, v.p, v.len);
	}
	if (l->proxy_pass_request_headers) {
		for (size_t i = 0; i < r->h1.nheaders; i++) {
			const struct h1_header *h = &req_hdrs(r)[i];

			if (h->invalid || h->symbol)
				continue;
			if (h->underscore && !r->srv->underscores_in_headers)
				continue;
			if (grpc_named(l, h->name))
				continue;
			rc |= grpc_field_add(u, cap, h->name.p, h->name.len, h->value.p,
					     h->value.len);
		}
	}
	return rc ? -ENOMEM : 0;
}

static int build_request(struct uconn *u)
{
	struct conn *c = u->c;
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	const struct proxy_pass *pp = r->pp;
	struct sbuf b = {.pool = &c->pool};
	bool conn_set = false, host_set = false;
	struct lstr v, iv, m = r->method, body = {NULL, 0};

	/* a subrequest asks with GET, as nginx's; mirror's keeps the method */
	if (unlikely(c->sr_parent) && !r->mirror)
		m = (struct lstr){"GET", 3};
	if (pp->fastcgi)
		return fcgi_request(u);
	if (pp->uwsgi || pp->scgi)
		return uwsgi_request(u);
	if (pp->memcached)
		return memc_request(u);
	if (pp->grpc)
		return grpc_request(u);
	if (cache_head_as_get(c)) /* proxy_cache_convert_head */
		m = (struct lstr){"GET", 3};
	else if (l->proxy_method && cval_eval(l->proxy_method, c, &m) < 0)
		return -ENOMEM;
	if (l->proxy_set_body && cval_eval(l->proxy_set_body, c, &body) < 0)
		return -ENOMEM;
	u->sent_head = m.len == 4 && memcmp(m.p, "HEAD", 4) == 0;
	sb_add(&b, m.p, m.len);
	sb_add(&b, " ", 1);
	sb_upstream_uri(&b, c);
	sb_add(&b, l->proxy_http_version == 11 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n", 11);
	u->keepalive = l->proxy_http_version == 11 && u->g->keepalive > 0;
	for (int i = 0; i < l->proxy_headers.n; i++) {
		const struct hdr_set *h = &l->proxy_headers.v[i];

		if (cval_eval(&h->value, c, &v))
			return -ENOMEM;
		if (h->namelen == 4 && strncasecmp(h->name, "host", 4) == 0)
			host_set = true;
		if (h->namelen == 10 && strncasecmp(h->name, "connection", 10) == 0) {
			conn_set = true;
			if (v.len && !(v.len == 10 && strncasecmp(v.p, "keep-alive", 10) == 0))
				u->keepalive = false;
		}
		if (v.len)
			sb_hdr(&b, h->name, h->namelen, v.p, v.len);
	}
	if (!host_set)
		sb_hdr(&b, "Host", 4, pp->host, strlen(pp->host));
	if (cache_validators(c, &v, &iv)) { /* proxy_cache_revalidate */
		if (v.len)
			sb_hdr(&b, "If-Modified-Since", 17, v.p, v.len);
		if (iv.len)
			sb_hdr(&b, "If-None-Match", 13, iv.p, iv.len);
	}
	if (!conn_set) {
		sb_hdr(&b, "Connection", 10, "close", 5);
		u->keepalive = false;
	}
	if (l->proxy_pass_request_headers) {
		for (size_t i = 0; i < r->h1.nheaders; i++) {
			const struct h1_header *h = &req_hdrs(r)[i];

			if (h->invalid || h->symbol)
				continue;
			if (h->underscore && !r->srv->underscores_in_headers)
				continue;
			if (skip_client_header(h->name) || hdr_named(&l->proxy_headers, h->name) ||
			    cache_skip_request_header(c, h->name))
				continue;
			sb_hdr(&b, h->name.p, h->name.len, h->value.p, h->value.len);
		}
	}
	if (l->proxy_set_body) { /* its length, and the body after the head */
		char num[24];

		sb_hdr(&b, "Content-Length", 14, num, lbd_u64toa(num, body.len));
	} else if (r->body_kind != BODY_NONE && l->proxy_pass_request_body) {
		char num[24];

		if (r->rbody && r->body_kind == BODY_CHUNKED)
			sb_hdr(&b, "Transfer-Encoding", 17, "chunked", 7);
		else
			sb_hdr(&b, "Content-Length", 14, num,
			       lbd_u64toa(num, r->rbody ? r->content_length : r->body_received));
	}
	sb_add(&b, "\r\n", 2);
	if (body.len)
		sb_add(&b, body.p, body.len);
	if (b.oom)
		return -ENOMEM;
	u->head = b.p;
	u->head_len = b.len;
	return 0;
}

/* ---- connecting ----------------------------------------------------------------------- */

static void up_fail_final(struct uconn *u, int status)
{
	struct conn *c = u->c;

	up_release(u, false);
	if (!cache_serve_stale(c, status == 504 ? CACHE_STALE_TIMEOUT : CACHE_STALE_ERROR))
		http_finalize(c, status);
}

/* connect_next - pick a server and connect (or take an idle connection). */
static void connect_next(struct uconn *u)
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
		int rc = upbind_apply(c, l->proxy_bind, fd, at, sizeof(at));

		if (rc) { /* nginx: crit, and the request fails with 500 */
			up_log(u, LOG_CRIT, "bind(%s) failed (%d: %s) while connecting to upstream",
			       at, -rc, strerror(-rc));
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
static void up_next(struct uconn *u, int why)
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

/* ---- sending ------------------------------------------------------------------------ */

/* rbody_sent - after a write round of a streamed body: true when the head
 * and the whole body are written. Else the deadline of whichever side is
 * awaited: the client (client_body_timeout) while the buffer is empty,
 * none while the upstream is (proxy_send_timeout runs then). */
static bool rbody_sent(struct uconn *u)
{
	struct conn *c = u->c;
	struct http_req *r = &c->req;
	size_t unsent = reqbody_unsent(c, NULL);

	if (r->body_done && !unsent && u->head_off == u->head_len) {
		ev_timer_stop(&c->w->loop, &c->timer);
		c->state = CS_UPSTREAM;
		return true;
	}
	if (r->body_done || unsent)
		ev_timer_stop(&c->w->loop, &c->timer);
	else if (!c->readable)
		conn_arm_timer(c, r->loc->client_body_timeout);
	return false;
}

/* early_answer - the upstream has bytes for us while a streamed body
 * (proxy_request_buffering off) is still being sent: an answer before the
 * body was read (a 413, a 401). As nginx, stop sending, read the answer
 * and pass it on; the client's connection ends after it (the rest of its
 * body is not read as requests: close_or_linger) and the upstream's is
 * not kept. False when this is not the case (the head still going, a
 * buffered body, FastCGI, a TLS upstream, or no status line to read). */
static bool early_answer(struct uconn *u)
{
	struct conn *c = u->c;
	char b[12];

	if (!c->req.rbody || u->fc.on || u->gr.on || u->tls || u->head_off < u->head_len ||
	    c->req.body_done)
		return false;
	/* a status line's start, not an interim 1xx (whose final answer
	 * comes after the body): less, an EOF or an error is the send
	 * path's to report */
	if (recv(u->io.fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT) != (ssize_t)sizeof(b) ||
	    memcmp(b, "HTTP/1.", 7) != 0 || b[9] == '1')
		return false;
	u->early = true;
	u->readable = true;
	c->close_after = true;
	ev_timer_stop(&c->w->loop, &c->timer); /* client_body_timeout */
	c->state = CS_UPSTREAM;
	u->state = US_READ_HEAD;
	u->requests++;
	ev_timer_start(&u->w->loop, &u->timer, c->req.loc->proxy_read_timeout);
	if (!u->rbuf) {
		u->rbuf = worker_relay_get(u->w);
		if (!u->rbuf) {
			up_fail_final(u, 500);
			return true;
		}
	}
	up_read_head(u);
	return true;
}

/* await_head - the request is sent: U waits for the answer's head,
 * under proxy_read_timeout, with a relay buffer to read it into. False
 * when there is none (the request failed with 500). */
static bool await_head(struct uconn *u)
{
	u->state = US_READ_HEAD;
	u->requests++;
	ev_timer_start(&u->w->loop, &u->timer, u->c->req.loc->proxy_read_timeout);
	if (!u->rbuf && !(u->rbuf = worker_relay_get(u->w))) {
		up_fail_final(u, 500);
		return false;
	}
	return true;
}

/* grpc_cut - a gRPC call whose answer is under way ends half-way: the
 * client reset its stream or timed out (CLIENT), or the upstream failed.
 * The upstream's stream is cancelled (up_release), the client's reset,
 * never ended as if whole; the log keeps the answer's status, as nginx's. */
static void grpc_cut(struct uconn *u, bool client)
{
	struct conn *c = u->c;

	fmt_ms(c->req.up_resp_time, sizeof(c->req.up_resp_time), lbd_now_us() - u->try_us);
	try_bytes(u, true);
	u->keepalive = false;
	up_release(u, !client);
	http_request_cut(c);
}

/* grpc_tx - the send side of a grpc_pass request: the body, as far as it
 * is here, offered to the session (grpc.c), which frames it within the
 * upstream's windows and writes the frames. 1 the request is all sent
 * (END_STREAM written), 0 waiting (for the client's bytes, the socket or
 * the upstream's windows; or the answer ended first: nothing more goes),
 * -1 the request failed and U is no longer the request's. */
static int grpc_tx(struct uconn *u)
{
	struct conn *c = u->c;
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	bool body = r->body_kind != BODY_NONE && l->proxy_pass_request_body;
	bool rb = r->rbody != NULL; /* streamed as it arrives */

	u->gr.wwait = false;
	while (!grpc_up_sent(u->gr.s) && !grpc_up_done(u->gr.s)) {
		struct iovec iov = {NULL, 0};
		char tmp[16384];
		bool eof = true, blocked;
		long k;

		if (rb && !reqbody_unsent(c, NULL) && !r->body_done) {
			int rc = reqbody_read(c);

			if (rc && u->state == US_RELAY) {
				/* the client reset its stream (or broke its body)
				 * with the answer under way */
				up_log(u, LOG_INFO,
				       "client canceled stream %d while sending request to upstream",
				       (int)h2_stream_id(c));
				grpc_cut(u, true);
				return -1;
			}
			if (rc) {
				rbody_fail(u, rc);
				return -1;
			}
			if (reqbody_unsent(c, NULL) || r->body_done)
				u->gr.body_ms = ev_now(&c->w->loop);
		}
		if (body && rb) {
			reqbody_unsent(c, &iov);
			eof = r->body_done;
		} else if (body && r->body_fd < 0) {
			iov = (struct iovec){r->body_mem.data + u->body_off,
					     r->body_mem.end - u->body_off};
		} else if (body) {
			size_t want = (size_t)LBD_MIN(r->body_received - u->body_off, sizeof(tmp));
			ssize_t n = pread(r->body_fd, tmp, want, (off_t)u->body_off);

			if (n != (ssize_t)want) {
				up_log(u, LOG_CRIT,
				       "pread() failed while sending request to upstream");
				if (u->state == US_RELAY)
					grpc_cut(u, false);
				else
					up_fail_final(u, 500);
				return -1;
			}
			iov = (struct iovec){tmp, want};
			eof = u->body_off + want == r->body_received;
		}
		k = grpc_up_send(u->gr.s, u->io.fd, u->tls, iov.iov_base, iov.iov_len, eof,
				 &blocked);
		if (k < 0) {
			if (k == -EPROTO)
				up_log(u, LOG_ERR, "%s while sending request to upstream",
				       grpc_up_error(u->gr.s));
			else
				up_log(u, LOG_ERR,
				       "writev() failed (%ld: %s) while sending request to upstream",
				       -k, strerror((int)-k));
			if (u->state == US_RELAY)
				grpc_cut(u, false);
			else
				up_next(u, NU_ERROR);
			return -1;
		}
		u->sent_any = true;
		u->tx += (uint64_t)k;
		if (rb)
			reqbody_sent(c, (size_t)k);
		else
			u->body_off += (size_t)k;
		if (k)
			ev_timer_stop(&u->w->loop, &u->gr.wt);
		if (blocked) {
			u->writable = false;
			ev_timer_start(&u->w->loop, &u->gr.wt, l->proxy_send_timeout);
			return 0;
		}
		if (!k && !grpc_up_sent(u->gr.s)) {
			if (rb && !iov.iov_len && !r->body_done)
				return 0; /* the client is awaited */
			/* the upstream's windows are shut: its WINDOW_UPDATE
			 * comes as a readable event, or is read by the answer
			 * side (grpc_duplex sends again then) */
			u->gr.wwait = true;
			ev_timer_start(&u->w->loop, &u->gr.wt, l->proxy_send_timeout);
			return 0;
		}
	}
	ev_timer_stop(&u->w->loop, &u->gr.wt);
	return grpc_up_sent(u->gr.s);
}

/* grpc_tx_end - the request is all sent: the client's side is the
 * answer's alone now. */
static void grpc_tx_end(struct uconn *u)
{
	struct conn *c = u->c;

	u->gr.tx = false;
	if (u->gr.closing) {
		u->gr.closing = false;
		c->close_after = false;
	}
	if (c->req.rbody) {
		c->state = CS_UPSTREAM;
		if (!u->cblocked)
			ev_timer_stop(&c->w->loop, &c->timer);
	}
}

/* grpc_client_timer - while the request still goes up (u->gr.tx), the
 * client's deadline: send_timeout while the answer waits for the client
 * to take bytes (the relay armed it), else client_body_timeout from the
 * last body bytes while they are awaited, as nginx's timer on the client
 * stream's reads; none otherwise. */
static void grpc_client_timer(struct uconn *u)
{
	struct conn *c = u->c;
	struct http_req *r = &c->req;

	if (u->cblocked)
		return;
	if (r->rbody && !r->body_done && !reqbody_unsent(c, NULL) && !grpc_up_done(u->gr.s)) {
		int64_t left = u->gr.body_ms + r->loc->client_body_timeout - ev_now(&c->w->loop);

		conn_arm_timer(c, left > 0 ? left : 0);
		return;
	}
	ev_timer_stop(&c->w->loop, &c->timer);
}

/* grpc_duplex - a grpc_pass request once its HEADERS went up: the send
 * side (grpc_tx) and the answer side (up_read_head, then the relay) run
 * side by side, as nginx's grpc module is full duplex: the upstream's
 * answer reaches the client while the client's stream still goes up
 * (bidirectional streaming). ANSWER: run the answer side too (the
 * upstream is readable, or the client writable). Either side may end the
 * request; the send side goes again when the answer side read a
 * WINDOW_UPDATE it waited for. */
static void grpc_duplex(struct uconn *u, bool answer)
{
	struct conn *c = u->c;
	int rc;

	if (u->gr.tx) {
		rc = grpc_tx(u);
		if (rc < 0)
			return;
		if (rc > 0)
			grpc_tx_end(u);
	}
	if (answer) {
		if (u->state == US_READ_HEAD && u->readable)
			up_read_head(u);
		else if (u->state == US_RELAY)
			relay(u);
		/* U may be over: its request then is too */
		if (c->req.up != u || u->c != c)
			return;
		if (u->gr.tx && u->gr.wwait) {
			rc = grpc_tx(u);
			if (rc < 0)
				return;
			if (rc > 0)
				grpc_tx_end(u);
		}
	}
	if (u->gr.tx)
		grpc_client_timer(u);
}

/* grpc_wtimeout - grpc_send_timeout passed with the upstream taking no
 * request bytes while the answer side runs. */
static void grpc_wtimeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct uconn *u = t->data;

	(void)loop;
	if (!u->c || !u->gr.tx)
		return;
	up_log(u, LOG_ERR,
	       "upstream timed out (110: Connection timed out) while sending request to upstream");
	if (u->state == US_RELAY)
		grpc_cut(u, false);
	else
		up_next(u, NU_TIMEOUT);
}

/* up_send_grpc - up_send for grpc_pass: the HEADERS and what is here of
 * the body go up, then the answer side opens at once, whether the request
 * is all sent or not (grpc_duplex). */
static void up_send_grpc(struct uconn *u)
{
	struct conn *c = u->c;
	int rc = grpc_tx(u);

	if (rc < 0)
		return;
	u->gr.tx = !rc;
	if (u->gr.tx) {
		u->gr.body_ms = ev_now(&c->w->loop);
		/* an HTTP/1.1 client's connection cannot go on after an answer
		 * that ended before its body did (grpc_tx_end undoes it) */
		if (!c->h2s && !c->close_after && !c->req.body_done) {
			u->gr.closing = true;
			c->close_after = true;
		}
	} else if (c->req.rbody) {
		c->state = CS_UPSTREAM;
		ev_timer_stop(&c->w->loop, &c->timer);
	}
	if (!await_head(u))
		return;
	u->readable = true; /* the session may hold answer bytes read meanwhile */
	grpc_duplex(u, true);
}

static void up_send(struct uconn *u)
{
	struct conn *c = u->c;
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	bool body = r->body_kind != BODY_NONE && l->proxy_pass_request_body && !l->proxy_set_body;
	bool rb = r->rbody != NULL; /* streamed (proxy_request_buffering off) */
	bool fb = u->fc.on;	    /* FastCGI: the body goes in STDIN records */

	if (u->gr.on) {
		up_send_grpc(u);
		return;
	}
	while (u->writable) {
		struct iovec iov[3];
		size_t cap = SIZE_MAX; /* body bytes the current STDIN record takes */
		int n = 0;
		ssize_t w;

		if (rb && !reqbody_unsent(c, NULL) && !r->body_done) {
			int rc = reqbody_read(c);

			if (rc) {
				rbody_fail(u, rc);
				return;
			}
		}
		if (u->head_off < u->head_len)
			iov[n++] = (struct iovec){u->head + u->head_off, u->head_len - u->head_off};
		if (fb) {
			cap = fcgi_send_next(&u->fc.s, u->body_off, u->fc.total, &iov[n]);
			if (iov[n].iov_len)
				n++;
		}
		if (rb) {
			if (cap && reqbody_unsent(c, &iov[n])) {
				iov[n].iov_len = LBD_MIN(iov[n].iov_len, cap);
				n++;
			}
		} else if (body && cap && r->body_fd < 0 && u->body_off < r->body_mem.end) {
			iov[n++] = (struct iovec){r->body_mem.data + u->body_off,
						  LBD_MIN(r->body_mem.end - u->body_off, cap)};
		}
		if (n) {
			w = up_io_writev(u->io.fd, u->tls, iov, n);
			if (w > 0)
				u->tx += (uint64_t)w;
		} else if (body && cap && r->body_fd >= 0 && u->body_off < r->body_received) {
			off_t off = (off_t)u->body_off;

			w = up_io_sendfile(u->io.fd, u->tls, r->body_fd, &off,
					   (size_t)LBD_MIN(LBD_MIN(r->body_received - u->body_off,
								   (uint64_t)1 << 20),
							   cap));
			if (w > 0) {
				u->tx += (uint64_t)w;
				u->body_off += (size_t)w;
				u->sent_any = true;
				continue;
			}
		} else {
			break;
		}
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				u->writable = false;
				ev_timer_start(&u->w->loop, &u->timer, l->proxy_send_timeout);
				if (rb) /* the upstream is awaited, not the client */
					ev_timer_stop(&c->w->loop, &c->timer);
				return;
			}
			int e = errno;

			/* an upstream that answered and closed without reading
			 * the whole streamed body: its answer goes out */
			if ((e == EPIPE || e == ECONNRESET) && early_answer(u))
				return;
			up_log(u, LOG_ERR,
			       "writev() failed (%d: %s) while sending request to upstream", e,
			       strerror(e));
			up_next(u, NU_ERROR);
			return;
		}
		if (w == 0) {
			up_next(u, NU_ERROR);
			return;
		}
		u->sent_any = true;
		size_t k = (size_t)w, h = LBD_MIN(k, u->head_len - u->head_off);

		u->head_off += h;
		k -= h;
		if (fb)
			k -= fcgi_send_sent(&u->fc.s, k);
		if (rb)
			reqbody_sent(c, k);
		if (!rb || fb)
			u->body_off += k;
	}
	if (rb && !rbody_sent(u))
		return;
	if (fb && !u->fc.s.closed)
		return;
	if (!rb && (u->head_off < u->head_len ||
		    (body && u->body_off < (r->body_fd >= 0 ? r->body_received : r->body_mem.end))))
		return;
	if (await_head(u) && u->readable)
		up_read_head(u);
}

/* ---- response head ------------------------------------------------------------------- */

/* hidden_by_default - upstream headers nginx does not pass unless
 * proxy_pass_header names them. */
static bool hidden_by_default(struct h1_str n)
{
	return H1_IS(n, "date") || H1_IS(n, "server") || H1_IS(n, "x-pad") ||
	       (n.len > 8 && strncasecmp(n.p, "x-accel-", 8) == 0 &&
		(H1_IS(n, "x-accel-expires") || H1_IS(n, "x-accel-redirect") ||
		 H1_IS(n, "x-accel-limit-rate") || H1_IS(n, "x-accel-buffering") ||
		 H1_IS(n, "x-accel-charset")));
}

static bool hidden(const struct cfg_loc *l, struct h1_str name)
{
	if (H1_IS(name, "connection") || H1_IS(name, "keep-alive") ||
	    H1_IS(name, "transfer-encoding") || H1_IS(name, "proxy-connection") ||
	    H1_IS(name, "upgrade") || H1_IS(name, "te"))
		return true;
	for (int i = 0; i < l->proxy_hide_header.n; i++)
		if (h1_str_ieq(name, l->proxy_hide_header.v[i]))
			return true;
	/* nginx's scgi module hides what its fastcgi one does */
	if (!(l->proxy && (l->proxy->fastcgi || l->proxy->scgi) ? fcgi_hidden_by_default(name)
	      : l->proxy && l->proxy->uwsgi			? uwsgi_hidden_by_default(name)
								: hidden_by_default(name)))
		return false;
	for (int k = 0; k < l->proxy_pass_header.n; k++)
		if (h1_str_ieq(name, l->proxy_pass_header.v[k]))
			return false;
	return true;
}

/* rewrite_location - proxy_redirect on the URL IN (a Location value, or
 * a Refresh's after "url="). *CHANGED tells whether a rule rewrote it. */
static struct lstr rewrite_location(struct conn *c, struct lstr in, bool *changed)
{
	const struct cfg_loc *l = c->req.loc;
	const struct proxy_pass *pp = c->req.pp;

	/* nginx: no default with variables in proxy_pass */
	if (l->redirect_mode == 1 && pp && !pp->dynamic) {
		char from[512];
		/* nginx's default is the proxy_pass URL (with "/" when it has no
		 * URI part): http://unix:PATH:URI, http://unix:PATH/ */
		int fl = pp->unix_sock
				 ? snprintf(from, sizeof(from), "http://%s%s%s", pp->addr,
					    pp->has_uri ? ":" : "", pp->has_uri ? pp->uri : "/")
				 : snprintf(from, sizeof(from), "http://%s%s", pp->host,
					    pp->has_uri ? pp->uri : "/");
		const char *to = pp->has_uri ? l->pattern : "/";

		if (l->match == LOC_NAMED || l->match == LOC_REGEX ||
		    l->match == LOC_REGEX_CASELESS)
			return in;
		if (fl > 0 && (size_t)fl <= in.len && memcmp(in.p, from, (size_t)fl) == 0) {
			size_t tl = strlen(to), n = tl + in.len - (size_t)fl;
			char *o = pool_alloc(&c->pool, n);

			if (!o)
				return in;
			memcpy(o, to, tl);
			memcpy(o + tl, in.p + fl, in.len - (size_t)fl);
			*changed = true;
			return (struct lstr){o, n};
		}
		return in;
	}
	for (int i = 0; l->redirect_mode == 2 && i < l->nredirects; i++) {
		const struct proxy_redirect *pr = &l->redirects[i];
		struct lstr from, to;

		if (pr->re) {
			/* ~ / ~*: a match replaces the whole value, $1.. from it
			 * (matched on a pool copy: the captures outlive u's buffer) */
			char *cp = pool_strndup(&c->pool, in.p, in.len);
			int rc = cp ? var_regex_exec(c, pr->re, cp, in.len) : -ENOMEM;

			if (rc < 0)
				return in;
			if (rc == 0)
				continue;
			if (cval_eval(&pr->to, c, &to))
				return in;
			*changed = true;
			return to;
		}
		if (cval_eval(&pr->from, c, &from) || cval_eval(&pr->to, c, &to))
			return in;
		if (from.len <= in.len && memcmp(in.p, from.p, from.len) == 0) {
			size_t n = to.len + in.len - from.len;
			char *o = pool_alloc(&c->pool, n);

			if (!o)
				return in;
			memcpy(o, to.p, to.len);
			memcpy(o + to.len, in.p + from.len, in.len - from.len);
			*changed = true;
			return (struct lstr){o, n};
		}
	}
	return in;
}

/* rewrite_refresh - proxy_redirect on a Refresh value: on its URL after
 * "url=" (any case), as nginx; a value without one is left alone. */
static struct lstr rewrite_refresh(struct conn *c, struct lstr in)
{
	bool changed = false;
	struct lstr url, out;
	size_t off;
	char *o;

	for (off = 0; off + 4 <= in.len; off++)
		if (strncasecmp(in.p + off, "url=", 4) == 0)
			break;
	if (off + 4 > in.len)
		return in;
	off += 4;
	url = rewrite_location(c, (struct lstr){in.p + off, in.len - off}, &changed);
	if (!changed || !(o = pool_alloc(&c->pool, off + url.len)))
		return in;
	memcpy(o, in.p, off);
	memcpy(o + off, url.p, url.len);
	out = (struct lstr){o, off + url.len};
	return out;
}

int proxy_header_value(struct conn *c, struct h1_str name, struct lstr *v)
{
	const struct cfg_loc *l = c->req.loc;
	bool changed = false;

	if (l->redirect_mode && H1_IS(name, "location")) {
		/* nginx makes a Location absolute only when a proxy_redirect
		 * rule rewrote it (absolute_redirect); an upstream's own
		 * relative one goes as it came */
		*v = rewrite_location(c, *v, &changed);
		if (changed)
			http_absolute_location(c, v);
	} else if (l->redirect_mode && H1_IS(name, "refresh")) {
		*v = rewrite_refresh(c, *v);
	} else if (cookie_active(&l->cookie) && H1_IS(name, "set-cookie")) {
		return cookie_rewrite(c, &l->cookie, *v, v) < 0 ? -ENOMEM : 0;
	}
	return 0;
}

static bool status_is_next(int status, int bits)
{
	switch (status) {
	case 500:
		return bits & NU_HTTP_500;
	case 502:
		return bits & NU_HTTP_502;
	case 503:
		return bits & NU_HTTP_503;
	case 504:
		return bits & NU_HTTP_504;
	case 403:
		return bits & NU_HTTP_403;
	case 404:
		return bits & NU_HTTP_404;
	case 429:
		return bits & NU_HTTP_429;
	default:
		return false;
	}
}

static int status_nu_bit(int status)
{
	switch (status) {
	case 500:
		return NU_HTTP_500;
	case 502:
		return NU_HTTP_502;
	case 503:
		return NU_HTTP_503;
	case 504:
		return NU_HTTP_504;
	case 403:
		return NU_HTTP_403;
	case 404:
		return NU_HTTP_404;
	case 429:
		return NU_HTTP_429;
	default:
		return 0;
	}
}

/* process_head - the response head is in rbuf[0..n). Build the client's
 * head and set up the relay. */
/* xar_kept - whether upstream header NAME goes on with an X-Accel-Redirect
 * (nginx's "redirect" headers; Content-Type is kept apart). */
static bool xar_kept(struct h1_str n)
{
	return H1_IS(n, "set-cookie") || H1_IS(n, "content-disposition") ||
	       H1_IS(n, "cache-control") || H1_IS(n, "expires") || H1_IS(n, "accept-ranges");
}

/* xar - nginx's X-Accel-Redirect: an upstream answer carrying it (any
 * status; not with proxy_ignore_headers X-Accel-Redirect) is dropped and
 * the request goes on at its URI (as GET unless HEAD; a query becomes
 * $args) or @named location (method kept), keeping the answer's
 * Content-Type and the headers xar_kept() names. True when it did. */
static bool xar(struct uconn *u)
{
	struct conn *c = u->c;
	struct http_req *r = &c->req;
	const struct h1_header *x = NULL;
	size_t nk = 0;
	struct lstr v, path, args;

	if (r->loc->cache.ignore & CACHE_IGN_XA_REDIRECT)
		return false;
	for (size_t i = 0; i < u->resp.nheaders; i++) {
		const struct h1_header *h = &u->resp.headers[i];

		if (!x && H1_IS(h->name, "x-accel-redirect"))
			x = h;
		nk += xar_kept(h->name);
	}
	if (!x)
		return false;
	v.p = pool_strndup(&c->pool, x->value.p, x->value.len);
	v.len = x->value.len;
	r->xar_hdrs = nk ? pool_alloc(&c->pool, 2 * nk * sizeof(*r->xar_hdrs)) : NULL;
	if (!v.p || (nk && !r->xar_hdrs)) {
		up_release(u, true);
		http_finalize(c, 500);
		return true;
	}
	for (size_t i = 0; i < u->resp.nheaders; i++) {
		const struct h1_header *h = &u->resp.headers[i];
		struct lstr *kv = &r->xar_hdrs[2 * r->nxar_hdrs];

		if (H1_IS(h->name, "content-type") && !r->xar_ctype.len) {
			r->xar_ctype.p = pool_strndup(&c->pool, h->value.p, h->value.len);
			r->xar_ctype.len = r->xar_ctype.p ? h->value.len : 0;
		}
		if (!xar_kept(h->name))
			continue;
		kv[0] = (struct lstr){pool_strndup(&c->pool, h->name.p, h->name.len), h->name.len};
		kv[1] = (struct lstr){pool_strndup(&c->pool, h->value.p, h->value.len),
				      h->value.len};
		if (kv[0].p && kv[1].p)
			r->nxar_hdrs++;
	}
	/* the answer's body is not read: the connection goes unless empty */
	u->keepalive = u->keepalive && u->fr == FR_NONE;
	up_release(u, false);
	if (v.len && v.p[0] == '@') {
		http_named_location(c, v);
		return true;
	}
	if (!http_unsafe_uri(c, v, &path, &args)) {
		http_log(c, NULL, LOG_ERR, "unsafe URI \"%.*s\" was detected", (int)v.len, v.p);
		http_finalize(c, 404);
		return true;
	}
	if (!r->head)
		r->method = (struct lstr){"GET", 3};
	http_internal_redirect(c, path, args);
	return true;
}

static void process_head(struct uconn *u, size_t n)
{
	struct conn *c = u->c;
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	struct h1_response *resp = &u->resp;
	struct h1_str *cl = NULL, *te = NULL;
	bool up_close = resp->version < 11;
	size_t last_ct = SIZE_MAX; /* nginx keeps the last Content-Type only */
	size_t last_cl = SIZE_MAX; /* ... and one of equal Content-Lengths */
	size_t xlr = SIZE_MAX;	   /* X-Accel-Limit-Rate (the first), applied once kept */
	char st[8];

	u->head_bytes = n;
	if (var_wants_upstream_head) {
		/* $upstream_http_* / $upstream_cookie_*: this try's head, kept
		 * past the buffer it was read into */
		char *h = pool_alloc(&c->pool, n);

		if (h) {
			memcpy(h, u->rbuf, n);
			r->up_head = (struct lstr){h, n};
		}
	}
	st[lbd_u64toa(st, (uint64_t)resp->status)] = '\0';
	append_str(r->up_status, sizeof(r->up_status), st);
	fmt_ms(r->up_hdr_time, sizeof(r->up_hdr_time), lbd_now_us() - u->try_us);
	for (size_t i = 0; i < resp->nheaders; i++) {
		struct h1_header *h = &u->resp.headers[i];

		if (H1_IS(h->name, "content-length")) {
			uint64_t v;

			if (h1_parse_content_length(h->value, &v) ||
			    (cl && (cl->len != h->value.len ||
				    memcmp(cl->p, h->value.p, cl->len) != 0))) {
				up_log(u, LOG_ERR,
				       "upstream sent invalid \"Content-Length\" header");
				up_next(u, NU_INVALID_HEADER);
				return;
			}
			cl = &h->value;
			last_cl = i;
			u->remaining = v;
		} else if (H1_IS(h->name, "transfer-encoding")) {
			te = &h->value;
		} else if (H1_IS(h->name, "content-type")) {
			last_ct = i;
		} else if (H1_IS(h->name, "connection")) {
			if (h1_list_has_token(h->value, "close"))
				up_close = true;
		} else if (H1_IS(h->name, "x-accel-limit-rate") && xlr == SIZE_MAX) {
			xlr = i;
		}
	}
	if (te && (cl || !h1_str_ieq(*te, "chunked") || resp->version < 11)) {
		up_log(u, LOG_ERR,
		       "upstream sent unknown \"Transfer-Encoding\" or both \"Content-Length\" and \"Transfer-Encoding\"");
		up_next(u, NU_INVALID_HEADER);
		return;
	}
	if (status_is_next(resp->status, l->proxy_next_upstream) &&
	    (method_idempotent(r->method) || (l->proxy_next_upstream & NU_NON_IDEMPOTENT))) {
		/* Retry only if another server may be tried. */
		bool more = !l->proxy_next_upstream_tries ||
			    u->ctx.tries < l->proxy_next_upstream_tries;

		if (more && u->ctx.tries < u->g->nservers) {
			u->keepalive = false;
			up_next(u, status_nu_bit(resp->status));
			return;
		}
	}
	u->rstart = n;
	if (resp->status == 101)
		u->keepalive = false; /* the connection becomes the tunnel */
	if (u->sent_head || resp->status == 204 || resp->status == 304 || resp->status == 101)
		u->fr = FR_NONE;
	else if (te)
		u->fr = FR_CHUNKED;
	else if (cl)
		u->fr = u->remaining ? FR_LENGTH : FR_NONE;
	else
		u->fr = FR_CLOSE;
	if ((up_close || u->fr == FR_CLOSE) && !u->fc.on) /* FastCGI: END_REQUEST ends it */
		u->keepalive = false;
	/* a short read is no proof of drained when the end is the close: the
	 * FIN may have come with the head, in the edge already consumed */
	if (u->fr == FR_CLOSE)
		u->readable = true;
	if (u->fr == FR_CHUNKED)
		h1_chunked_init(&u->ch);
	h1_chunked_init(&u->gr.bch);
	u->done = u->fr == FR_NONE;
	if (u->mc.on && resp->status == 404) {
		/* memcached's miss is always nginx's own 404 (or its error_page) */
		up_release(u, false);
		http_finalize(c, 404);
		return;
	}
	if (l->proxy_intercept_errors && resp->status >= 300 && r->loc->nerror_pages) {
		for (int i = 0; i < l->nerror_pages; i++) {
			if (l->error_pages[i].status == resp->status) {
				u->keepalive = false;
				up_release(u, false);
				http_finalize(c, resp->status);
				return;
			}
		}
	}
	if (xar(u))
		return;
	if (r->cache && cache_revalidated(c, resp)) {
		up_release(u, false);
		if (!cache_serve_revalidated(c))
			http_finalize(c, 502);
		return;
	}
	if (r->cache && cache_stale_bit(resp->status) && cache_has_stale(c, resp->status)) {
		u->keepalive = false;
		up_release(u, false);
		if (!cache_serve_stale(c, cache_stale_bit(resp->status)))
			http_finalize(c, 502);
		return;
	}
	cache_store_begin(c, resp, r->head, hidden); /* tee before any body transformation */
	int cond = cache_conditional(c, resp);	     /* 0, 304 or 412 */

	if (cond == 412) {
		u->keepalive = false;
		up_release(u, false);
		http_finalize(c, 412);
		return;
	}
	if (unlikely(l->store.on == 1)) /* proxy_store: nginx stores buffered answers only */
		store_begin(c, resp, pbuf_wanted(c, u->resp.headers, resp->nheaders));
	if (unlikely(xlr != SIZE_MAX) && !(l->cache.ignore & CACHE_IGN_XA_LIMIT_RATE))
		rate_upstream(c, (struct lstr){u->resp.headers[xlr].value.p,
					       u->resp.headers[xlr].value.len});
	u->sink = cond == 304 || (r->head && u->fr != FR_NONE);
	/* client head */
	c->out.start = c->out.end = 0;
	/* after error_page (not `=` alone) the answer goes out with its code */
	int est = cond ? 0 : r->err_status;

	r->status = cond ? cond : est ? est : resp->status;
	r->header_sent = true;
	/* gunzip's header filter, then sub_filter's, then gzip's, as in nginx */
	int gu = gunzip_begin_h1(c, r->status, u->resp.headers, resp->nheaders);
	int sf = gu < 0 ? gu : subfilter_begin_h1(c, r->status, u->resp.headers, resp->nheaders);
	int gz = sf < 0 ? sf : gzip_begin_h1(c, r->status, u->resp.headers, resp->nheaders);

	if (gz < 0)
		goto oom;
	subfilter_start(c);
	/* nginx's range filter on a 200 being cached (one range, cut from
	 * the stream) or under proxy_force_ranges (range_send.c) */
	struct range_set *rs = NULL;
	/* a HEAD to memcached knows the value's length too (nginx: ranges) */
	bool len_known = u->fr == FR_LENGTH || (u->mc.on && u->sent_head && cl);
	int rr = range_proxied(c, u->resp.headers, resp->nheaders, r->status,
			       !gz && !sf && !gu && len_known ? (int64_t)u->remaining : -1, &rs);

	if (rr == RANGE_UNSATISFIABLE) {
		cache_store_abort(c);
		u->keepalive = false;
		up_release(u, false);
		http_finalize(c, 416);
		return;
	}
	if (rs)
		r->status = 206;
	bool pass_server = false, pass_date = false;

	for (int k = 0; k < l->proxy_pass_header.n; k++) {
		pass_server |= strcasecmp(l->proxy_pass_header.v[k], "server") == 0;
		pass_date |= strcasecmp(l->proxy_pass_header.v[k], "date") == 0;
	}
	if (cond || rs ? http_out_append(c,
					 rs ? "HTTP/1.1 206 Partial Content\r\n"
					    : "HTTP/1.1 304 Not Modified\r\n",
					 rs ? 30 : 27)
	    : est      ? (http_out_append(c, "HTTP/1.1 ", 9) ||
			  http_out_append(c, http_status_line(est), strlen(http_status_line(est))) ||
			  http_out_append(c, "\r\n", 2))
	    : !resp->reason.len
		    ? (http_out_append(c, "HTTP/1.1 ", 9) ||
		       /* no reason phrase ("HTTP/1.1 404", a FastCGI "Status: 404"):
		    * the line as it came, no trailing space, as nginx */
		       http_out_append(c, st, strlen(st)) || http_out_append(c, "\r\n", 2))
		    : (http_out_append(c, "HTTP/1.1 ", 9) || http_out_append(c, st, strlen(st)) ||
		       http_out_append(c, " ", 1) ||
		       http_out_append(c, resp->reason.p, resp->reason.len) ||
		       http_out_append(c, "\r\n", 2)))
		goto oom;
	if (!pass_server && http_head_server(c, l->server_tokens))
		goto oom;
	if (!pass_date && http_head_date(c))
		goto oom;
	bool exp = http_expires_applies(c);

	for (size_t i = 0; i < resp->nheaders; i++) {
		struct h1_header *h = &u->resp.headers[i];
		int k;

		if (hidden(l, h->name) && !(resp->status == 101 && H1_IS(h->name, "upgrade")))
			continue;
		if (cond && cache_304_drops(h->name))
			continue;
		/* `expires` replaces the upstream's two headers, as nginx */
		if (exp && (H1_IS(h->name, "expires") || H1_IS(h->name, "cache-control")))
			continue;
		if (i < last_ct && last_ct != SIZE_MAX && H1_IS(h->name, "content-type"))
			continue;
		if (i < last_cl && last_cl != SIZE_MAX && H1_IS(h->name, "content-length"))
			continue;
		/* nginx's HTTP/2 header filter: a 204 has no type or length
		 * (its HTTP/1.1 one passes them on) */
		if (resp->status == 204 && c->h2s &&
		    (H1_IS(h->name, "content-type") || H1_IS(h->name, "content-length")))
			continue;
		if (rr >= 0 &&
		    (H1_IS(h->name, "accept-ranges") || (rs && H1_IS(h->name, "content-length"))))
			continue;
		if (gu && (k = gunzip_header(c, h->name, h->value)) != 0) {
			if (k < 0)
				goto oom;
			continue;
		}
		if (sf && (k = subfilter_header(c, h->name, h->value)) != 0) {
			if (k < 0)
				goto oom;
			continue;
		}
		if (gz && (k = gzip_header(c, h->name, h->value)) != 0) {
			if (k < 0)
				goto oom;
			continue;
		}
		struct lstr v = {h->value.p, h->value.len};
		struct h1_str name = h->name;

		/* nginx's header filter writes these two itself, spelled so
		 * (PHP's "Content-type" goes out as "Content-Type") */
		if (H1_IS(h->name, "content-type")) {
			v = charset_ctype(c, l, resp->status, v, true);
			name = (struct h1_str){"Content-Type", 12};
		} else if (H1_IS(h->name, "content-length")) {
			name = (struct h1_str){"Content-Length", 14};
		} else if (!u->fc.on && !u->uw.on && proxy_header_value(c, h->name, &v) < 0) {
			goto oom;
		}
		if (http_head_add(c, name.p, name.len, v.p, v.len))
			goto oom;
	}
	if (gunzip_head_add(c) || gzip_head_add(c) || subfilter_head_add(c) ||
	    (rs && range_head_add(c, rs)) ||
	    (rr == RANGE_WHOLE && http_head_addf(c, "Accept-Ranges: bytes\r\n")))
		goto oom;
	u->chunk_out = false;
	u->dechunk = false;
	if (u->sink) {
		/* no body framing for the client */
	} else if (gz || sf || gu) {
		/* gzip.c, subfilter.c or gunzip.c frames its own output */
		u->dechunk = u->fr == FR_CHUNKED;
	} else if (u->fr == FR_CHUNKED) {
		/* HTTP/2: decoded here, once, not passed on for h2.c to decode
		 * again (the end of the stream frames it); but a gRPC answer's
		 * chunks are, for h2.c to send its trailers (grpc.c) */
		if (r->version >= 11 && (!c->h2s || u->gr.on)) {
			if (http_out_append(c, "Transfer-Encoding: chunked\r\n", 28))
				goto oom;
			/* add_trailer: the chunks are ours, so that the last
			 * one carries our trailers and not the upstream's */
			if (unlikely(l->add_trailers.n) && !c->h2s && !u->sink &&
			    http_trailers_wanted(c))
				u->dechunk = u->chunk_out = true;
		} else {
			u->dechunk = true;
			c->close_after = true;
		}
	} else if (u->fr == FR_CLOSE) {
		if (r->version >= 11 && l->chunked_transfer_encoding && !c->h2s) {
			u->chunk_out = true;
			if (http_out_append(c, "Transfer-Encoding: chunked\r\n", 28))
				goto oom;
		} else {
			c->close_after = true;
		}
	}
	if (http_head_finish(c, true))
		goto oom;
	if (resp->status == 101) {
		tunnel_begin(u, n);
		return;
	}
	if (u->fr != FR_NONE && !u->sink && pbuf_wanted(c, u->resp.headers, resp->nheaders) &&
	    pbuf_begin(c))
		goto oom;
	u->state = US_RELAY;
	u->span = NULL;
	u->span_len = 0;
	u->suffix_len = u->suffix_off = 0;
	up_queue(u);
	return;
oom:
	up_release(u, false);
	conn_close(c);
}

/* log_bad_head - nginx's line for the response head it refused: a bad
 * status line, or the field line up to its bad byte. */
static void log_bad_head(struct uconn *u)
{
	const char *h = u->rbuf + u->rstart, *ls;
	size_t off = u->resp.err_off;

	if (!u->resp.err_in_fields || off >= u->rend - u->rstart) {
		up_log(u, LOG_ERR,
		       "upstream sent no valid HTTP/1.0 header while reading response header from upstream");
		return;
	}
	for (ls = h + off; ls > h && ls[-1] != '\n'; ls--)
		;
	up_log(u, LOG_ERR,
	       "upstream sent invalid header: \"%.*s\\x%02x...\" while reading response header from upstream",
	       (int)LBD_MIN((size_t)(h + off - ls), (size_t)256), ls, (unsigned char)h[off]);
}

/* fcgi_stderr - an FCGI_STDERR piece: logged as nginx logs it. */
static void fcgi_stderr(void *arg, const char *p, size_t len)
{
	struct uconn *u = arg;

	len = fcgi_stderr_trim(p, len);
	if (len)
		up_log(u, LOG_ERR, "FastCGI sent in stderr: \"%.*s\" while %s", (int)len, p,
		       u->state == US_RELAY ? "reading upstream"
					    : "reading response header from upstream");
	/* fastcgi_catch_stderr: before the head only, in the piece as logged
	 * (nginx's) */
	const struct str_list *cs = &u->c->req.loc->fcgi.catch_stderr;

	for (int i = 0; i < cs->n && u->state != US_RELAY && !u->fc.caught; i++)
		if (memmem(p, len, cs->v[i], strlen(cs->v[i])))
			u->fc.caught = true;
}

/* fcgi_recv - N bytes received at P from a FastCGI upstream: decoded in
 * place, the stdout bytes' count returned; -1 (logged) when the records
 * are broken. */
static long fcgi_recv(struct uconn *u, char *p, size_t n)
{
	long k = fcgi_decode(&u->fc.d, p, n, fcgi_stderr, u);

	if (k < 0)
		up_log(u, LOG_ERR, "upstream sent %s while reading %s",
		       k == FCGI_DEC_BAD_VERSION ? "unsupported FastCGI protocol version"
		       : k == FCGI_DEC_BAD_ID	 ? "invalid FastCGI request id"
						 : "invalid FastCGI record type",
		       u->state == US_RELAY ? "upstream" : "response header from upstream");
	return k;
}

/* memc_head - the memcached answer's first line at rbuf[rstart, rend):
 * replaced by the HTTP head it stands for (memc_head_put), the value's
 * bytes read moved behind it. 1 done, 0 more bytes needed, -1 failed
 * (logged as nginx, the next server or 502 under way). */
static int memc_head(struct uconn *u)
{
	struct conn *c = u->c;
	struct memc_line ml;
	enum memc_rc k = memc_parse_line(u->rbuf + u->rstart, u->rend - u->rstart, u->mc.key,
					 (unsigned)c->req.loc->memc.gzip_flag, &ml);
	const char *ctype;
	char head[512];
	size_t hl, tail;

	switch (k) {
	case MEMC_MORE:
		return 0;
	case MEMC_HIT:
	case MEMC_MISS:
		break;
	case MEMC_BAD_KEY:
	case MEMC_BAD_FLAGS:
	case MEMC_BAD_LENGTH:
		up_log(u, LOG_ERR,
		       "memcached sent invalid %s in response \"%.*s\" for key \"%.*s\" while reading response header from upstream",
		       k == MEMC_BAD_KEY     ? "key"
		       : k == MEMC_BAD_FLAGS ? "flags"
					     : "length",
		       (int)ml.text.len, ml.text.p, (int)u->mc.key.len, u->mc.key.p);
		up_next(u, NU_INVALID_HEADER);
		return -1;
	default:
		up_log(u, LOG_ERR,
		       "memcached sent invalid response: \"%.*s\" while reading response header from upstream",
		       (int)ml.text.len, ml.text.p);
		up_next(u, NU_INVALID_HEADER);
		return -1;
	}
	if (k == MEMC_MISS)
		up_log(u, LOG_INFO,
		       "key: \"%.*s\" was not found by memcached while reading response header from upstream",
		       (int)u->mc.key.len, u->mc.key.p);
	/* nginx's module types the answer by the URI's extension */
	ctype = k == MEMC_HIT ? static_mime_type(c->req.loc, c->req.u.uri) : NULL;
	hl = memc_head_put(head, sizeof(head), k == MEMC_MISS, ml.length,
			   ctype && *ctype ? ctype : NULL, ml.gzip);
	tail = u->rend - u->rstart - ml.len;
	/* a miss ends with its line; an empty value's trailer is all there
	 * is to read (no body follows to read it with) */
	if (k == MEMC_HIT && !ml.length) {
		u->mc.first = true;
		memc_trailer(u, u->rbuf + u->rstart + ml.len, tail);
	}
	if ((k == MEMC_MISS && tail) ||
	    (k == MEMC_HIT && !ml.length && u->mc.trail != MEMC_TRAILER_LEN))
		u->keepalive = false;
	if (!hl || hl + tail > RELAY_BUF_SIZE) {
		up_log(u, LOG_ERR,
		       "upstream sent too big header while reading response header from upstream");
		up_next(u, NU_INVALID_HEADER);
		return -1;
	}
	memmove(u->rbuf + hl, u->rbuf + u->rstart + ml.len, tail);
	memcpy(u->rbuf, head, hl);
	u->rstart = 0;
	u->rend = hl + tail;
	u->mc.head = true;
	u->mc.first = true;
	return 1;
}

/* up_recv - answer bytes from U's upstream: through its gRPC session,
 * its TLS session, or straight from the socket (recv's contract). */
static ssize_t up_recv(struct uconn *u, void *buf, size_t len)
{
	if (u->gr.s)
		return grpc_up_recv(u->gr.s, u->io.fd, u->tls, buf, len);
	return up_io_recv(u->io.fd, u->tls, buf, len);
}

static void up_read_head(struct uconn *u)
{
	struct conn *c = u->c;
	const struct cfg_loc *l = c->req.loc;
	/* FastCGI: the CGI head is read as an HTTP one, behind a status line;
	 * uwsgi: so is a CGI head, told from an HTTP one by its first bytes */
	size_t limit = (size_t)LBD_MIN(l->proxy_buffer_size +
					       (u->fc.on || u->uw.on ? FCGI_HEAD_LINE_LEN : 0),
				       (int64_t)RELAY_BUF_SIZE);

	if (u->fc.on && !u->rend) {
		memcpy(u->rbuf, FCGI_HEAD_LINE, FCGI_HEAD_LINE_LEN);
		u->rend = FCGI_HEAD_LINE_LEN;
	}
	if (u->uw.on && !u->rend) /* the status line's room, used by a CGI head */
		u->rstart = u->rend = FCGI_HEAD_LINE_LEN;
	for (;;) {
		ssize_t n;
		int rc;

		if (u->rend >= limit) {
			up_log(u, LOG_ERR,
			       "upstream sent too big header while reading response header from upstream");
			up_next(u, NU_INVALID_HEADER);
			return;
		}
		n = up_recv(u, u->rbuf + u->rend, limit - u->rend);
		if (n > 0)
			u->rx += (uint64_t)n;
		if (n == 0) {
			up_log(u, LOG_ERR,
			       "upstream prematurely closed connection while reading response header from upstream");
			up_next(u, NU_ERROR);
			return;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				u->readable = false;
				return;
			}
			if (errno == EPROTO && u->gr.s) { /* nginx: an invalid header */
				up_log(u, LOG_ERR, "%s while reading response header from upstream",
				       grpc_up_error(u->gr.s));
				up_next(u, NU_INVALID_HEADER);
				return;
			}
			up_log(u, LOG_ERR,
			       "recv() failed (%d: %s) while reading response header from upstream",
			       errno, strerror(errno));
			up_next(u, NU_ERROR);
			return;
		}
		if (u->rend + (size_t)n < limit && !u->rdhup)
			u->readable = false; /* drained */
		if (u->fc.on && ((n = fcgi_recv(u, u->rbuf + u->rend, (size_t)n)) < 0 ||
				 unlikely(u->fc.caught))) {
			up_next(u, NU_INVALID_HEADER);
			return;
		}
		u->rend += (size_t)n;
		if (u->mc.on && !u->mc.head) {
			int k = memc_head(u);

			if (k < 0)
				return;
			if (k == 0)
				continue;
		}
		if (u->uw.on && !u->uw.known) {
			enum uwsgi_head k =
				uwsgi_head_kind(u->rbuf + u->rstart, u->rend - u->rstart);

			if (k == UWSGI_HEAD_MORE)
				continue;
			u->uw.known = true;
			if (k == UWSGI_HEAD_CGI) {
				memcpy(u->rbuf, FCGI_HEAD_LINE, FCGI_HEAD_LINE_LEN);
				u->rstart = 0;
				u->uw.cgi = true;
			}
		}
		for (;;) {
			u->resp.headers = u->rh_big ? u->rh_big : u->rh;
			rc = h1_parse_response(u->rbuf + u->rstart, u->rend - u->rstart, &u->resp,
					       u->rh_big ? UP_MAX_HEADERS_ALL : UP_MAX_HEADERS);
			if (rc == H1_ERR_TOO_MANY_HEADERS && !u->rh_big &&
			    (u->rh_big = pool_alloc(&c->pool,
						    UP_MAX_HEADERS_ALL * sizeof(*u->rh_big)))) {
				/* nginx bounds a head by proxy_buffer_size only */
				u->resp.headers = u->rh_big;
				rc = h1_parse_response(u->rbuf + u->rstart, u->rend - u->rstart,
						       &u->resp, UP_MAX_HEADERS_ALL);
			}
			if (rc == H1_INCOMPLETE && u->fc.on &&
			    (u->fc.d.ended || u->fc.d.stdout_end)) {
				up_log(u, LOG_ERR,
				       "upstream prematurely closed FastCGI stdout while reading response header from upstream");
				up_next(u, NU_ERROR);
				return;
			}
			if (rc == H1_INCOMPLETE)
				break;
			if (rc < 0) {
				log_bad_head(u);
				up_next(u, NU_INVALID_HEADER);
				return;
			}
			if ((u->fc.on || u->uw.cgi) && fcgi_fix_status(&u->resp)) {
				up_log(u, LOG_ERR,
				       "upstream sent invalid status while reading response header from upstream");
				up_next(u, NU_INVALID_HEADER);
				return;
			}
			if (u->resp.status >= 100 && u->resp.status < 200 &&
			    u->resp.status != 101) {
				/* skip interim responses */
				u->rstart += (size_t)rc;
				continue;
			}
			if (u->resp.status == 101 && !c->req.hdr_upgrade.len) {
				/* only a client that asked may be switched */
				up_log(u, LOG_ERR,
				       "upstream sent 101 to a request without \"Upgrade\"");
				up_next(u, NU_INVALID_HEADER);
				return;
			}
			/* Move the head to the start so offsets are simple. */
			if (u->rstart) {
				memmove(u->rbuf, u->rbuf + u->rstart, u->rend - u->rstart);
				u->rend -= u->rstart;
				u->rstart = 0;
				u->resp.headers = u->rh_big ? u->rh_big : u->rh;
				rc = h1_parse_response(u->rbuf, u->rend, &u->resp,
						       u->rh_big ? UP_MAX_HEADERS_ALL
								 : UP_MAX_HEADERS);
			}
			ev_timer_stop(&u->w->loop, &u->timer);
			process_head(u, (size_t)rc);
			return;
		}
	}
}

/* ---- relay ------------------------------------------------------------------------------ */

/* uncork - send what MSG_MORE held in the client socket, before the relay
 * waits for the upstream (the held bytes would otherwise leave only with
 * the next ACK, or the probe timer when none is due). */
static void uncork(struct uconn *u)
{
	if (u->corked) {
		u->corked = false;
		http_push(u->c);
	}
}

/* chunk_data_len - the data bytes in P[0..N), the next bytes of a chunked
 * body decoded by ST (its framing and trailers not counted). */
static size_t chunk_data_len(struct h1_chunked *st, const char *p, size_t n)
{
	size_t sum = 0;

	while (n) {
		struct h1_str d = {0};
		size_t used = 0;

		if (h1_parse_chunked(st, p, n, &used, &d) != H1_CHUNK_DATA)
			break;
		sum += d.len;
		p += used;
		n -= used;
	}
	return sum;
}

/* write_pending - c->out, then span, then suffix. 1 all written, 0 EAGAIN,
 * -1 client error. A buffered response (pbuf.c) sends what it holds first,
 * and what the client cannot take goes to the buffers: 1 then means all
 * written or buffered, 0 that the buffers are full too. */
static int write_pending(struct uconn *u)
{
	struct conn *c = u->c;
	bool to_buf = false;
	/* More of the body follows: let the kernel fill whole segments
	 * (HAProxy sends with MSG_MORE likewise). Only on a TCP_NODELAY
	 * socket, where http_push and every ACK send what is held. */
	bool more = !u->done && u->fr != FR_NONE && c->lg && c->lg->default_srv->loc.tcp_nodelay;

	if (unlikely(u->orphan)) { /* nobody to send to: dropped */
		c->out.start = c->out.end = 0;
		u->span_len = u->suffix_len = u->suffix_off = 0;
		return 1;
	}
	if (c->req.pb) {
		int rc = pbuf_flush(c);

		if (rc < 0)
			return -1;
		to_buf = rc == 0;
	}
	for (;;) {
		struct iovec iov[3];
		int n = 0;
		size_t outl = c->out.end - c->out.start;
		ssize_t w;

		if (outl)
			iov[n++] = (struct iovec){c->out.data + c->out.start, outl};
		if (u->span_len)
			iov[n++] = (struct iovec){(void *)u->span, u->span_len};
		if (u->suffix_len > u->suffix_off)
			iov[n++] = (struct iovec){u->suffix + u->suffix_off,
						  u->suffix_len - u->suffix_off};
		if (!n) {
			c->out.start = c->out.end = 0;
			return 1;
		}
		if (to_buf) {
			w = (ssize_t)pbuf_putv(c, iov, n);
			if (!w)
				return 0;
		} else if (more) {
			w = http_writev_more(c, iov, n);
			u->corked |= w > 0;
		} else {
			w = http_writev(c, iov, n);
			u->corked &= w <= 0; /* a write without MSG_MORE pushes all */
		}
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!c->req.pb)
					return 0;
				to_buf = true;
				continue;
			}
			return -1;
		}
		size_t k = (size_t)w;

		/* buffered bytes count as sent: they leave without the relay */
		c->req.bytes_sent += k;
		size_t a = LBD_MIN(k, outl);

		c->out.start += a;
		k -= a;
		a = LBD_MIN(k, u->span_len);
		/* gRPC to HTTP/2: its messages, not lbd's chunk framing of them (h2.c
		 * sends the data alone), as nginx counts */
		c->req.body_bytes_sent +=
			unlikely(u->gr.on) && c->h2s && u->fr == FR_CHUNKED && !u->dechunk
				? chunk_data_len(&u->gr.bch, u->span, a)
				: a;
		u->span += a;
		u->span_len -= a;
		k -= a;
		u->suffix_off += k;
	}
}

/* memc_trailer - the N bytes at P read after a memcached value: nginx
 * logs what does not go on "\r\nEND\r\n" (the value is sent whole all
 * the same). */
static void memc_trailer(struct uconn *u, const char *p, size_t n)
{
	bool first = u->mc.first;

	u->mc.first = false;
	if (!n || u->mc.trail > MEMC_TRAILER_LEN)
		return;
	if (memc_trailer_ok(p, n, u->mc.trail)) {
		u->mc.trail += n;
		return;
	}
	u->mc.trail = MEMC_TRAILER_LEN + 1; /* said once */
	up_log(u, LOG_ERR, "memcached sent invalid trailer while reading %s",
	       first ? "response header from upstream" : "upstream");
}

/* chunk_wrap - the span goes out as one chunk of ours: its size line
 * into c->out (written before the span), its CRLF as the suffix. */
static int chunk_wrap(struct uconn *u)
{
	static const char hexd[] = "0123456789abcdef";
	size_t n = u->span_len;
	char pre[24];
	int k = 0;

	if (!n)
		return 0;
	for (int sh = 60; sh >= 0; sh -= 4)
		if ((n >> sh) || k || sh == 0)
			pre[k++] = hexd[(n >> sh) & 15];
	pre[k++] = '\r';
	pre[k++] = '\n';
	if (http_out_append(u->c, pre, (size_t)k))
		return -1;
	memcpy(u->suffix, "\r\n", 2);
	u->suffix_len = 2;
	return 0;
}

/* trailer_start - where the trailer section of a chunked body starts in
 * P..P+N, which decoder state WAS read into the trailer section (or to
 * its end): OFF + its offset, or OFF when WAS was in it already. Once a
 * body, so the bytes are fed again one at a time. */
static size_t trailer_start(const struct h1_chunked *was, const char *p, size_t n, size_t off)
{
	struct h1_chunked st = *was;

	for (size_t i = 0; i < n && !h1_chunked_trailer(&st); i++) {
		struct h1_str d;
		size_t used = 0;

		h1_parse_chunked(&st, p + i, 1, &used, &d);
		if (h1_chunked_trailer(&st))
			return off + i + 1;
	}
	return off;
}

/* frame - turn bytes [rstart, rend) of rbuf into the next span. */
static int frame(struct uconn *u)
{
	size_t avail = u->rend - u->rstart;
	const char *p = u->rbuf + u->rstart;

	u->suffix_len = u->suffix_off = 0;
	switch (u->fr) {
	case FR_NONE:
		u->rstart = u->rend;
		return 0;
	case FR_LENGTH: {
		size_t n = (size_t)LBD_MIN((uint64_t)avail, u->remaining);

		u->span = p;
		u->span_len = n;
		u->remaining -= n;
		if (unlikely(u->mc.on))
			memc_trailer(u, p + n, avail - n);
		u->rstart = u->rend; /* bytes past Content-Length are discarded */
		if (u->remaining == 0)
			u->done = true;
		/* memcached: reusable once its trailer was read, exactly */
		if (unlikely(u->mc.on) ? u->remaining == 0 && u->mc.trail != MEMC_TRAILER_LEN
				       : avail > n)
			u->keepalive = false;
		return 0;
	}
	case FR_CLOSE:
		u->span = p;
		u->span_len = avail;
		u->rstart = u->rend;
		return u->chunk_out ? chunk_wrap(u) : 0;
	case FR_CHUNKED: {
		size_t off = 0;

		if (!u->dechunk) {
			/* pass the framing through, up to the end of the message */
			size_t cut = SIZE_MAX; /* where the upstream's trailer fields start */
			/* gRPC: h2.c sends them as its trailers; else nginx drops them */
			bool drop = !u->gr.on;

			while (off < avail) {
				struct h1_str d;
				size_t consumed = 0;
				struct h1_chunked was = u->ch;
				int rc = h1_parse_chunked(&u->ch, p + off, avail - off, &consumed,
							  &d);

				if (rc != H1_CHUNK_DATA && rc != H1_CHUNK_DONE &&
				    rc != H1_INCOMPLETE)
					return -1;
				if (drop && rc != H1_CHUNK_DATA && cut == SIZE_MAX &&
				    h1_chunked_trailer(&u->ch))
					cut = trailer_start(&was, p + off, consumed, off);
				off = rc == H1_INCOMPLETE ? avail : off + consumed;
				if (rc == H1_CHUNK_DONE) {
					u->done = true;
					break;
				}
			}
			u->span = p;
			u->span_len = LBD_MIN(off, cut);
			if (cut != SIZE_MAX && u->done) {
				/* the empty line alone ends the body */
				memcpy(u->suffix, "\r\n", 2);
				u->suffix_len = 2;
			}
			if (off < avail)
				u->keepalive = false;
			u->rstart = u->rend;
			return 0;
		}
		/* HTTP/1.0 client: one decoded span at a time */
		for (;;) {
			struct h1_str d;
			size_t consumed = 0;
			int rc = h1_parse_chunked(&u->ch, p, avail, &consumed, &d);

			if (rc == H1_CHUNK_DATA) {
				u->span = d.p;
				u->span_len = d.len;
				u->rstart += consumed;
				return u->chunk_out ? chunk_wrap(u) : 0;
			}
			if (rc == H1_CHUNK_DONE) {
				u->done = true;
				u->rstart = u->rend;
				return 0;
			}
			if (rc == H1_INCOMPLETE) {
				u->rstart = u->rend;
				return 0;
			}
			return -1;
		}
	}
	}
	return -1;
}

/* account - per-server figures for lbd_metrics: status class and the
 * full response time of a response relayed from S. */
static void account(struct ups_server *s, int status, int64_t us)
{
	static const int64_t bounds[] = UPS_LAT_BOUNDS_US;
	int cls = status >= 100 && status < 600 ? status / 100 : 0, b = 0;

	while (b < (int)ARRAY_SIZE(bounds) && us > bounds[b])
		b++;
	atomic_fetch_add_explicit(&s->resp_class[cls], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->lat_hist[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->lat_sum_us, (uint64_t)(us > 0 ? us : 0),
				  memory_order_relaxed);
}

/* frame_tee - frame, and give the body bytes to the cache as received
 * (before any transformation on the way to the client). */
static int frame_tee(struct uconn *u)
{
	int rc = frame(u);

	if (!rc && u->c->req.cache)
		cache_tee(u->c, u->span, u->span_len, u->fr == FR_CHUNKED && !u->dechunk);
	if (!rc && unlikely(u->c->req.store))
		store_tee(u->c, u->span, u->span_len, u->fr == FR_CHUNKED && !u->dechunk);
	if (u->sink)
		u->span_len = u->suffix_len = 0;
	else if (unlikely(u->c->req.rng))
		range_clip(u->c->req.rng, &u->span, &u->span_len);
	return rc;
}

static void finish(struct uconn *u)
{
	struct conn *c = u->c;
	int64_t us = lbd_now_us() - u->try_us;

	if (u->fc.on && !u->fc.d.ended)
		u->keepalive = false; /* its END_REQUEST would be read by the next request */
	if (u->gr.tx) {
		/* answered whole before the client's stream ended: the rest of
		 * its body is not read (an HTTP/2 stream is reset with
		 * NO_ERROR after the answer, h2.c; an HTTP/1.1 connection
		 * closes) */
		u->gr.tx = false;
		u->early = true;
		c->close_after = true;
	}
	if (u->early)
		u->keepalive = false; /* the request's body never all went */
	cache_store_end(c, true);
	if (unlikely(c->req.store))
		store_end(c);
	if (!c->req.trl_queued) /* else taken when the trailers were */
		fmt_ms(c->req.up_resp_time, sizeof(c->req.up_resp_time), us);
	try_bytes(u, true);
	if (u->srv)
		account(u->srv, u->resp.status, us);
	uncork(u);
	up_release(u, false);
	ev_timer_stop(&c->w->loop, &c->timer);
	pbuf_finish(c); /* the client may still drain buffered bytes */
}

/* filters_busy - sub_filter or gzip still holds bytes or owes its end. */
static bool filters_busy(const struct conn *c, bool done)
{
	return subfilter_busy(c, done) || gzip_busy(c, done) || gunzip_busy(c, done);
}

/* next_span - frame the buffered bytes into the next span; the body
 * filters take them in turn (sub_filter, then gzip) and the span is the
 * last one's output. While a filter still holds input, nothing new is
 * framed for it. */
static int next_span(struct uconn *u)
{
	struct conn *c = u->c;
	bool sf = c->req.sf.ctx, gz = c->req.gz.ctx;

	if (c->req.gu.ctx) {
		/* the inflater alone (nginx's sub_filter and gzip find nothing
		 * to do on its answers here) */
		if (!gunzip_busy(c, false) && u->rstart < u->rend && !u->done && frame_tee(u))
			return -1;
		return gunzip_relay(c, &u->span, &u->span_len, u->done);
	}
	if (gz && gzip_busy(c, false)) /* the compressor first: it may hold sub_filter's output */
		return gzip_relay(c, &u->span, &u->span_len, u->done && !subfilter_busy(c, true));
	if (!subfilter_busy(c, false) && u->rstart < u->rend && !u->done && frame_tee(u))
		return -1;
	if (sf && subfilter_relay(c, &u->span, &u->span_len, u->done))
		return -1;
	return gz ? gzip_relay(c, &u->span, &u->span_len, u->done && !subfilter_busy(c, true)) : 0;
}

/* relay - move the response body from upstream to client until one side
 * would block. Backpressure: nothing is read while a span is unsent. */
static void relay(struct uconn *u)
{
	struct conn *c = u->c;
	const struct cfg_loc *l = c->req.loc;

	for (;;) {
		int rc;

		/* Frame what is buffered first, so the head and the first body
		 * bytes leave in one writev. */
		if (!u->span_len && next_span(u))
			goto bad;
		rc = write_pending(u);
		if (rc < 0 && unlikely(c->req.store) && !u->orphan && store_active(c)) {
			/* proxy_store: the answer is read to its end for the
			 * file, as nginx reads it once the client is gone */
			pbuf_free(c);
			c->out.start = c->out.end = 0;
			u->span_len = u->suffix_len = u->suffix_off = 0;
			u->sink = u->orphan = true;
			c->close_after = true;
			continue;
		}
		if (rc < 0) {
			/* client gone: abandon the upstream connection */
			c->close_after = true;
			u->keepalive = false;
			up_release(u, false);
			http_response_done(c);
			return;
		}
		if (rc == 0) {
			u->cblocked = true;
			conn_arm_timer(c, l->send_timeout);
			return;
		}
		u->cblocked = false;
		ev_timer_stop(&c->w->loop, &c->timer);
		if ((u->rstart < u->rend && !u->done) || filters_busy(c, u->done)) {
			if (next_span(u))
				goto bad;
			continue;
		}
		if (u->done) {
			if (unlikely(c->req.trl) && !c->req.trl_queued && !u->sink) {
				/* the last chunk and add_trailer's fields, which may
				 * read $upstream_response_time (nginx's is set by now) */
				fmt_ms(c->req.up_resp_time, sizeof(c->req.up_resp_time),
				       lbd_now_us() - u->try_us);
				if (http_trailers_end(c))
					goto bad;
				continue;
			}
			finish(u);
			return;
		}
		if (u->fc.on && u->fc.d.ended)
			u->readable = true; /* nothing more to wait for: see the recv */
		if (!u->readable) {
			uncork(u);
			ev_timer_start(&u->w->loop, &u->timer, l->proxy_read_timeout);
			return;
		}
		size_t want = RELAY_BUF_SIZE;

		if (unlikely(l->rate.proxy_rate) && c->req.pb) {
			/* proxy_limit_rate (buffered answers only, as nginx) */
			int64_t ms;

			want = rate_read_cap(l->rate.proxy_rate, u->try_us, u->rx, want, &ms);
			u->rate_wait = !want;
			if (!want) {
				uncork(u);
				ev_timer_start(&u->w->loop, &u->timer, ms);
				return;
			}
		}
		/* FastCGI: END_REQUEST read ends the response as a close would */
		ssize_t n = u->fc.on && u->fc.d.ended ? 0 : up_recv(u, u->rbuf, want);

		if (n > 0)
			u->rx += (uint64_t)n;

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				u->readable = false;
				uncork(u);
				ev_timer_start(&u->w->loop, &u->timer, l->proxy_read_timeout);
				return;
			}
			if (errno == EPROTO && u->gr.s)
				up_log(u, LOG_ERR, "%s while reading upstream",
				       grpc_up_error(u->gr.s));
			goto bad;
		}
		if (n == 0) {
			if (u->fc.on ? u->fc.d.ended && (u->fr != FR_LENGTH || !u->remaining)
				     : u->fr == FR_CLOSE) {
				u->done = true;
				if (u->chunk_out && !http_trailers_own_end(c) &&
				    http_out_append(c, "0\r\n\r\n", 5))
					goto bad;
				u->span_len = 0;
				continue;
			}
			up_log(u, LOG_ERR,
			       "upstream prematurely closed connection while reading upstream");
			goto bad;
		}
		if ((size_t)n < want && u->fr != FR_CLOSE && !u->rdhup)
			u->readable = false; /* drained (FR_CLOSE or a FIN seen: read on
					      * to EOF/EAGAIN) */
		if (u->fc.on && (n = fcgi_recv(u, u->rbuf, (size_t)n)) < 0)
			goto bad;
		u->rstart = 0;
		u->rend = (size_t)n;
	}
bad:
	/* The head is out: the only honest signal left is to cut the client
	 * (logged with the answer's status, as nginx's). */
	u->keepalive = false;
	up_release(u, true);
	http_request_cut(c);
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

/* ---- upgraded connections -------------------------------------------------------------- */

/* tunnel_end - the stream is over (both FINs, a reset — then both sockets
 * already carry SO_LINGER 0 — or the idle timeout): account it as the 101
 * response it was, log it, close both. */
static void tunnel_end(struct uconn *u)
{
	struct conn *c = u->c;
	struct http_req *r = &c->req;

	if (u->tun) {
		uint64_t moved[2] = {0, 0};

		tunnel_kernel_bytes(u->tun, moved); /* the program's counts */
		r->bytes_sent += u->tun->bytes[TUN_DOWN] + moved[TUN_DOWN];
		r->body_bytes_sent += u->tun->bytes[TUN_DOWN] + moved[TUN_DOWN];
		r->request_length += u->tun->bytes[TUN_UP] + moved[TUN_UP];
		if (u->tun->kernel) {
			struct lb_stream st;

			if (ksplice_get(u->tun->kid, &st) == 0)
				log_emit(
					c->req.loc->error_log, LOG_DEBUG,
					"sockmap stream done: down %llu by lbd, %llu redirected, %llu passed, %llu repeated; up %llu by lbd, %llu redirected, %llu passed, %llu repeated",
					(unsigned long long)u->tun->bytes[TUN_DOWN],
					(unsigned long long)st.redirected[TUN_DOWN],
					(unsigned long long)st.passed[TUN_DOWN],
					(unsigned long long)u->tun->cut_bytes[TUN_DOWN],
					(unsigned long long)u->tun->bytes[TUN_UP],
					(unsigned long long)st.redirected[TUN_UP],
					(unsigned long long)st.passed[TUN_UP],
					(unsigned long long)u->tun->cut_bytes[TUN_UP]);
		}
	}
	c->close_after = true;
	c->in.start = c->in.end = 0; /* consumed by the tunnel: nothing to linger for */
	finish(u);
}

/* tunnel_arm - the stream's one timer: soon when a direction waits for
 * redirected bytes to land, else proxy_read_timeout after the last byte. */
static void tunnel_arm(struct uconn *u)
{
	int64_t idle = u->c->req.loc->proxy_read_timeout, left;

	if (u->tun->retry) {
		ev_timer_start(&u->w->loop, &u->timer, 1);
		return;
	}
	left = idle - (lbd_now_ms() - u->tun->last_ms);
	ev_timer_start(&u->w->loop, &u->timer, left > 0 ? left : 1);
}

/* tunnel_drive - readiness on either socket: move bytes, re-arm the timer,
 * end the stream when it is over. */
static void tunnel_drive(struct uconn *u)
{
	bool moved;
	int rc = tunnel_run(u->tun, &moved);

	if (rc == TUN_OPEN) {
		if (moved)
			u->tun->last_ms = lbd_now_ms();
		tunnel_arm(u);
		return;
	}
	if (rc == TUN_RESET)
		up_log(u, LOG_INFO, "upgraded connection reset (%d: %s)", u->tun->err,
		       strerror(u->tun->err));
	tunnel_end(u);
}

/* tunnel_timer - a retry, or maybe the idle timeout: bytes the kernel
 * moved (sockmap) count as activity though lbd saw none. */
static bool tunnel_timer(struct uconn *u)
{
	uint64_t k;

	if (u->tun->retry) {
		tunnel_drive(u);
		return true;
	}
	k = tunnel_kernel_moved(u->tun);
	if (k != u->tun->seen_kbytes) {
		u->tun->seen_kbytes = k;
		u->tun->last_ms = lbd_now_ms();
	}
	if (lbd_now_ms() - u->tun->last_ms < u->c->req.loc->proxy_read_timeout) {
		tunnel_arm(u);
		return true;
	}
	return false;
}

/* tunnel_begin - the upstream answered 101 (its head is HEAD_LEN bytes of
 * u->rbuf, the client's head is in c->out): from now on the connection is
 * a byte stream both ways. What each side sent beyond its head goes first. */
static void tunnel_begin(struct uconn *u, size_t head_len)
{
	struct conn *c = u->c;
	struct tunnel_side cs = {c->io.fd, &c->readable, &c->writable, c->tls};
	struct tunnel_side us = {u->io.fd, &u->readable, &u->writable, u->tls};
	size_t down_len = c->out.end - c->out.start + (u->rend - head_len);
	char *down = malloc(down_len ? down_len : 1);
	int rc = -ENOMEM;

	u->tun = malloc(sizeof(*u->tun));
	if (down && u->tun) {
		/* the client's 101 head, then the upstream's first bytes */
		memcpy(down, c->out.data + c->out.start, c->out.end - c->out.start);
		memcpy(down + (c->out.end - c->out.start), u->rbuf + head_len, u->rend - head_len);
		rc = -ENOTSUP;
		if (c->tls || u->tls) /* TLS legs: neither sockmap nor splice(2), lbd relays */
			rc = tunnel_init_copy(u->tun, cs, us, c->in.data + c->in.start,
					      c->in.end - c->in.start, down, down_len);
		else if (c->req.loc->kernel_splice && ksplice_ready() &&
			 u->srv->addr.ss_family != AF_UNIX &&
			 c->peer.ss_family != AF_UNIX) { /* TCP only: see stream.c */
			rc = tunnel_init_kernel(u->tun, cs, us, c->in.data + c->in.start,
						c->in.end - c->in.start, down, down_len);
			if (rc > 0) {
				log_emit(
					c->req.loc->error_log, LOG_INFO,
					"stream too busy to move to sockmap: relaying with splice(2)");
				rc = 0;
			} else if (rc)
				log_emit(
					c->req.loc->error_log, LOG_WARN,
					"sockmap splicing refused (%d: %s): relaying with splice(2)",
					-rc, strerror(-rc));
		}
		if (rc && !c->tls && !u->tls)
			rc = tunnel_init(u->tun, cs, us, c->in.data + c->in.start,
					 c->in.end - c->in.start, down, down_len);
	}
	free(down);
	if (rc) {
		free(u->tun);
		u->tun = NULL;
		up_log(u, LOG_ERR, "cannot start the upgraded connection (%d: %s)", -rc,
		       strerror(-rc));
		u->keepalive = false;
		up_release(u, false);
		conn_close(c);
		return;
	}
	c->out.start = c->out.end = 0;
	c->in.start = c->in.end = 0;
	/* the head is parsed and copied: the tunnel needs no 64 KiB relay buffer */
	worker_relay_put(u->w, u->rbuf);
	u->rbuf = NULL;
	tunnel_register(u->tun, &c->peer, u->srv->name, c->w->id);
	u->tun->last_ms = lbd_now_ms();
	u->state = US_TUNNEL;
	ev_timer_stop(&c->w->loop, &c->timer); /* the stream's timer is u->timer */
	tunnel_drive(u);
}

/* ---- entry points ----------------------------------------------------------------------- */

int proxy_request_head(struct conn *c, struct lstr *out)
{
	struct uconn tmp = {.c = c, .w = c->w, .g = c->req.pp->group};

	if (build_request(&tmp))
		return -ENOMEM;
	*out = (struct lstr){tmp.head, tmp.head_len};
	return 0;
}

int proxy_upstream_uri(struct conn *c, struct lstr *out)
{
	struct sbuf b = {.pool = &c->pool};

	sb_upstream_uri(&b, c);
	if (b.oom)
		return -ENOMEM;
	*out = (struct lstr){b.p ? b.p : "", b.len};
	return 0;
}

bool proxy_header_hidden(const struct cfg_loc *l, struct h1_str name)
{
	return hidden(l, name);
}

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

/* rbody_client_event - client readiness while its body is streamed: read
 * it into the buffer (as far as the buffer takes) and pass it on. */
static void rbody_client_event(struct uconn *u)
{
	int rc;

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
	if (r->loc->cache.zc && cache_start(c, proxy_start))
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
			c->req.status = 499;
			u->keepalive = false;
			up_release(u, false);
			c->close_after = true;
			http_response_done(c);
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

/* proxy_flush - the worker loop's end-of-round hook: send what up_queue()
 * held back. Entries whose request is gone are skipped (their memory is
 * freed only by deferred calls, which run after this). */
void proxy_flush(struct ev_loop *loop)
{
	struct worker *w = loop->data;

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

void proxy_worker_free(struct worker *w)
{
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
