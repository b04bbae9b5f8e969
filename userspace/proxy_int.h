/* SPDX-License-Identifier: MIT */
/*
 * Private to the HTTP proxy (proxy.c, proxy_req.c, proxy_resp.c,
 * proxy_relay.c, proxy_grpc.c): struct uconn, and the functions one part
 * calls in another. Each function's comment is at its definition. Not for
 * other modules: their interface to the proxy is in http.h.
 */
#ifndef LBD_PROXY_INT_H
#define LBD_PROXY_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fastcgi.h"
#include "grpc.h"
#include "http.h"
#include "log.h"
#include "ups.h"
#include "upssl.h"
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
	char *canon;	      /* FR_CHUNKED passed on with framing not nginx's (bare LF,
			       * extensions): its chunks in canonical form, the span's
			       * bytes (request pool, 2 x RELAY_BUF_SIZE), else NULL */
	const char *span;     /* body bytes to send to the client */
	size_t span_len;
	char suffix[16]; /* bytes to send after span ("\r\n", last chunk) */
	size_t suffix_len, suffix_off;
	struct uconn *next_free; /* worker free list */
	bool queued;		 /* in the worker's flush queue */
	int send_err;		 /* errno of a batched send, for up_send() to report */
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

/* up_recv - answer bytes from U's upstream: through its gRPC session,
 * its TLS session, or straight from the socket (recv's contract). */
static inline ssize_t up_recv(struct uconn *u, void *buf, size_t len)
{
	if (u->gr.s)
		return grpc_up_recv(u->gr.s, u->io.fd, u->tls, buf, len);
	return up_io_recv(u->io.fd, u->tls, buf, len);
}

/* account - per-server figures for lbd_metrics: status class and the
 * full response time of a response relayed from S. */
static inline void account(struct ups_server *s, int status, int64_t us)
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

/* proxy.c: the uconn's life, connecting and retrying */
void up_queue(struct uconn *u);
void fmt_ms(char *dst, size_t dstlen, int64_t us);
void append_str(char *dst, size_t dstlen, const char *s);
void try_bytes(struct uconn *u, bool used);
bool method_idempotent(struct lstr m);
void up_release(struct uconn *u, bool failed);
void rbody_fail(struct uconn *u, int rc);
void up_fail_final(struct uconn *u, int status);
void connect_next(struct uconn *u);
void up_next(struct uconn *u, int why);

/* proxy_req.c: the request */
void up_log(struct uconn *u, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* up_tls_error - U's TLS session failed a read or write (EPROTO): logs
 * nginx's line ("SSL_read() failed (SSL: ...) while ACTION") at nginx's
 * level; false (nothing logged) when the failure was not TLS's. */
bool up_tls_error(struct uconn *u, const char *action);
int build_request(struct uconn *u);
bool early_answer(struct uconn *u);
bool await_head(struct uconn *u);
void up_send(struct uconn *u);
int up_send_plain(const struct uconn *u, struct iovec iov[2]);
void up_send_done(struct uconn *u, int res);

/* proxy_resp.c: the response head */
void up_read_head(struct uconn *u);

/* proxy_relay.c: the body, the response's end, upgraded connections */
long fcgi_recv(struct uconn *u, char *p, size_t n);
void memc_trailer(struct uconn *u, const char *p, size_t n);
void relay(struct uconn *u);
void tunnel_begin(struct uconn *u, size_t head_len);
void tunnel_drive(struct uconn *u);
void tunnel_end(struct uconn *u);
bool tunnel_timer(struct uconn *u);

/* proxy_grpc.c: gRPC's full duplex */
void grpc_cut(struct uconn *u, bool client);
void grpc_duplex(struct uconn *u, bool answer);
void grpc_wtimeout(struct ev_loop *loop, struct ev_timer *t);
void up_send_grpc(struct uconn *u);

#endif
