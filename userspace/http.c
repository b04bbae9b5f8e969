/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 client connections: accept (client_conns_per_ip), the
 * connection's events and timer, the TLS handshake step, the phases after
 * the location is chosen (preaccess, access, content), a request's end
 * (error_page, keep-alive or close, a body nobody read discarded, lingering
 * close), the error log's context for a connection, and reclaiming
 * connections when worker_connections run out. Owns struct conn from
 * accept to close. The request head is read and checked in http_head.c,
 * the server block and location are chosen in http_route.c, the response
 * head is built and written in http_out.c; the proxy (proxy.c) and static
 * files (static.c) produce content.
 *
 * Connections are freed only through ev_defer(), never inside their own
 * callbacks (see ev.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alog.h"
#include "auth.h"
#include "authreq.h"
#include "ban.h"
#include "cache.h"
#include "cfg.h"
#include "dav.h"
#include "embed.h"
#include "emptygif.h"
#include "f2b.h"
#include "gunzip.h"
#include "h2.h"
#include "http.h"
#include "limit.h"
#include "log.h"
#include "mirror.h"
#include "ocsp_client.h"
#include "pbuf.h"
#include "pproto.h"
#include "ratelimit.h"
#include "realip.h"
#include "reqbody.h"
#include "resolver.h"
#include "sockaddr.h"
#include "stats.h"
#include "status.h"
#include "steer.h"
#include "store.h"
#include "subfilter.h"
#include "tls.h"
#include "tls_client.h"
#include "worker.h"
#include "http_int.h"

static void linger_read(struct conn *c);
static void discard_read(struct conn *c);
static void discard_pump(struct conn *c, bool writing);
static void next_request(struct conn *c);
static void ip_release(struct rl_node *slot);
static void run_access(struct conn *c);
static void delay_client_closed(struct conn *c);

/* ---- an unread request body: 100-continue, discarding, keep-alive -------------- */

/* whole_unread_body - the length of request C's body when nobody has read
 * a byte of it and all of it is in the buffer (it came with its head, a
 * chunked one up to its last chunk and trailers), else -1. */
static ssize_t whole_unread_body(const struct conn *c)
{
	const struct http_req *r = &c->req;
	size_t have = c->in.end - c->in.start, off = 0, used;
	struct h1_chunked st;
	struct h1_str data;
	int rc;

	if (r->body_received)
		return -1;
	if (r->body_kind == BODY_LENGTH)
		return have >= r->content_length ? (ssize_t)r->content_length : -1;
	if (r->body_kind != BODY_CHUNKED || !h1_chunked_fresh(&r->chunked))
		return -1;
	h1_chunked_init(&st);
	do {
		rc = h1_parse_chunked(&st, c->in.data + c->in.start + off, have - off, &used,
				      &data);
		off += used;
	} while (rc == H1_CHUNK_DATA);
	return rc == H1_CHUNK_DONE ? (ssize_t)off : -1;
}

/* body_left_unread - request C has a body nobody will read that is not
 * all in the buffer yet: after the response it is read and dropped
 * (discardable) or the connection ends (http_response_done); its bytes
 * are never read as a request. */
static bool body_left_unread(const struct conn *c)
{
	const struct http_req *r = &c->req;

	return r->body_kind != BODY_NONE && !r->body_done && whole_unread_body(c) < 0;
}

int http_send_continue(struct conn *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct iovec iov = {(void *)cont, sizeof(cont) - 1};

	c->req.expect_continue = false;
	return http_writev(c, &iov, 1) == (ssize_t)iov.iov_len ? 0 : -1;
}

bool http_continue_discarded(struct conn *c)
{
	struct http_req *r = &c->req;

	if (!r->expect_continue || c->h2s || c->sr_parent || r->body_kind == BODY_NONE ||
	    r->body_received || r->body_done)
		return true;
	if (http_send_continue(c)) {
		conn_close(c);
		return false;
	}
	return true;
}

/* http_body_discardable - the unread body of request C can be read to its end and
 * dropped after the response, as nginx discards one, and the connection
 * kept: an HTTP/1 body nobody has taken a byte of. */
bool http_body_discardable(const struct conn *c)
{
	const struct http_req *r = &c->req;

	if (c->h2s || r->body_kind == BODY_NONE || r->body_done)
		return false;
	if (r->body_kind == BODY_LENGTH)
		return true; /* body_received counts what discard_feed dropped */
	return r->body_kind == BODY_CHUNKED && (r->discarding || h1_chunked_fresh(&r->chunked));
}

/* discard_span - drop the unread body's bytes at P (LEN of them): how many
 * of them were the body's (fewer once its end is passed: r->body_done),
 * or -1 for a chunked framing error. */
static long discard_span(struct conn *c, const char *p, size_t len)
{
	struct http_req *r = &c->req;
	size_t off = 0;

	r->discarding = true;
	if (r->body_kind == BODY_LENGTH) {
		uint64_t left = r->content_length - r->body_received;
		size_t take = len < left ? len : (size_t)left;

		r->body_received += take;
		r->body_done = r->body_received == r->content_length;
		return (long)take;
	}
	for (;;) {
		struct h1_str data;
		size_t used;
		int rc = h1_parse_chunked(&r->chunked, p + off, len - off, &used, &data);

		off += used;
		if (rc == H1_CHUNK_DATA) {
			r->body_received += data.len;
			continue;
		}
		if (rc == H1_CHUNK_DONE) {
			r->body_done = true;
			return (long)off;
		}
		return rc == H1_INCOMPLETE ? (long)off : -1;
	}
}

/* discard_feed - discard_span over the bytes in c->in (from c->in.start
 * on): 1 once the body's end is passed (c->in.start is then at the next
 * request's first byte), 0 when more must come, -1 for a framing error. */
static int discard_feed(struct conn *c)
{
	long n = discard_span(c, c->in.data + c->in.start, c->in.end - c->in.start);

	if (n < 0)
		return -1;
	c->in.start += (size_t)n;
	return c->req.body_done;
}

bool http_keepalive_ok(struct conn *c)
{
	const struct cfg_loc *l = c->req.loc ? c->req.loc : c->req.srv ? &c->req.srv->loc : NULL;

	if (!c->req.keepalive || c->close_after || c->w->quitting || !l)
		return false;
	if (!c->req.up && body_left_unread(c) && !http_body_discardable(c))
		return false; /* say so: the connection ends after this response */
	if (l->keepalive_timeout == 0 || c->requests >= l->keepalive_requests)
		return false;
	return true;
}

/* ---- connection life ----------------------------------------------------------- */

/* http_log_phase - nginx's log phase of a finished request: the access log,
 * the counters, and fail2ban (which may ban the client). */
void http_log_phase(struct conn *c)
{
	if (unlikely(c->sr_parent))
		return; /* nginx's log_subrequest off */
	alog_write(c);
	stats_request_done(c);
	f2b_request_done(c);
}

/* HTTP/2 request connections of this worker thread kept for the next
 * stream (with their buffers and pool): a stream is one request, and a
 * struct conn is a 5.7 KiB allocation. Sized for a few clients with many
 * streams in flight each (h2load -c 50 -m 10 keeps 500 open): 512 entries
 * hold some 7 MiB at most. */
#define HTTP_STREAM_CACHE 512
static __thread struct conn *stream_cache;
static __thread int nstream_cache;

static void conn_free(void *arg)
{
	struct conn *c = arg;

	if ((c->h2s || c->sr_parent) && nstream_cache < HTTP_STREAM_CACHE &&
	    c->in.cap <= HTTP_IN_INITIAL && c->out.cap <= 4 * HTTP_IN_INITIAL) {
		if (c->cfg)
			cfg_unref(c->cfg);
		pool_reset(&c->pool);
		c->next = stream_cache;
		stream_cache = c;
		nstream_cache++;
		return;
	}
	free(c->in.data);
	free(c->out.data);
	pool_destroy(&c->pool);
	if (c->cfg)
		cfg_unref(c->cfg);
	if (!c->h2s && !c->sr_parent)
		free(c->pp);
	free(c);
}

static void req_cleanup(struct conn *c)
{
	struct http_req *r = &c->req;

	if (unlikely(r->authreq))
		authreq_abort(c);
	if (unlikely(r->emb))
		embed_req_end(c);
	if (unlikely(r->mirror))
		mirror_req_end(c); /* before the body it may share is closed */
	if (unlikely(r->dns))
		resolver_cancel(r->dns);
	if (r->up)
		proxy_abort(c);
	cache_req_cleanup(c);
	store_cleanup(c);
	pbuf_free(c);
	rl_release(c);
	if (unlikely(r->rate.mode == RATE_ON))
		rate_req_end(c);
	if (r->body_fd >= 0)
		close(r->body_fd);
	r->body_fd = -1;
	if (unlikely(r->body_file))
		reqbody_end(c);
	free(r->body_mem.data);
	r->body_mem = (struct buf){0};
	free(r->in_prev);
	r->in_prev = NULL;
	if (c->file_fd >= 0)
		close(c->file_fd);
	c->file_fd = -1;
	if (unlikely(c->lowat))
		http_lowat(c, 0); /* 0: the system's default again */
	gzip_req_end(c);
	gunzip_req_end(c);
	subfilter_req_end(c);
}

void conn_close(struct conn *c)
{
	struct worker *w = c->w;

	if (c->dead)
		return;
	c->dead = true;
	/* answered, its mirrors still running: the end of its connection (an
	 * HTTP/2 client's, a stop) ends them, and its log line is due now */
	if (unlikely(c->req.mirror) && mirror_waiting(c))
		http_log_phase(c);
	c->state = CS_CLOSING;
	if (unlikely(c->sr_parent)) {
		/* a subrequest: its outcome to the main request (auth_request),
		 * or the main answer goes on past its body (embed.c, which may
		 * keep it for an SSI stub: http_sub_release frees it then) */
		bool kept;

		authreq_sub_closed(c);
		kept = embed_sub_closed(c);
		req_cleanup(c);
		ev_timer_stop(&w->loop, &c->timer);
		c->tls = NULL; /* borrowed */
		if (!kept && ev_defer(&w->loop, conn_free, c))
			conn_free(c);
		return;
	}
	conn_stat(c, STATS_WAITING);
	if (unlikely(c->h2s)) {
		/* an HTTP/2 stream: no socket, not on the worker's list */
		req_cleanup(c);
		ev_timer_stop(&w->loop, &c->timer);
		h2_stream_closed(c);
		c->tls = NULL; /* borrowed */
		if (ev_defer(&w->loop, conn_free, c))
			conn_free(c);
		return;
	}
	if (c->h2)
		h2_conn_closed(c); /* closes the streams' connections first */
	stats_conn_closed();
	ip_release(c->ip_slot);
	c->ip_slot = NULL;
	req_cleanup(c);
	ev_timer_stop(&w->loop, &c->timer);
	/* before close(): once the peer sees the close, the load is down */
	steer_conn_closed(w->id);
	tls_conn_free(c->tls);
	c->tls = NULL;
	ev_io_close(&c->io);
	worker_fd_freed(w);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	if (ev_defer(&w->loop, conn_free, c))
		conn_free(c); /* no memory to defer: the event batch holds no ref */
}

/* conn_local - the local address ($server_addr, redirects), looked up
 * on first use: most requests never need it. */
const struct sockaddr_storage *conn_local(struct conn *c)
{
	if (!c->locallen) {
		c->locallen = sizeof(c->local);
		if (getsockname(c->io.fd, (struct sockaddr *)&c->local, &c->locallen) == -1)
			c->locallen = 0;
	}
	return &c->local;
}

static void conn_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct conn *c = t->data;

	(void)loop;
	switch (c->state) {
	case CS_READ_HEAD:
		/* nginx: 408 is logged, nothing sent, connection closed. */
		if (c->in.end > c->in.start) {
			c->req.status = 408;
			http_log_phase(c);
		}
		conn_close(c);
		break;
	case CS_READ_BODY:
	case CS_UPSTREAM:
		proxy_client_timeout(c);
		break;
	case CS_H2:
		h2_conn_timeout(c);
		break;
	case CS_DELAY:
		/* limit_req's delay is over: on to the access phase; or
		 * auth_delay's: the 401 goes out */
		c->state = (enum conn_state)c->req.rl.saved_state;
		if (c->req.auth_delayed)
			http_finalize(c, 401);
		else
			run_access(c);
		break;
	case CS_AUTH:
		/* auth_request's subrequest is done: the access phase again */
		if (authreq_resume(c))
			run_access(c);
		break;
	case CS_MIRROR:
		mirror_timer(c);
		break;
	case CS_EMBED:
		embed_timer(c);
		break;
	case CS_DAV:
		dav_timer(c);
		break;
	default:
		conn_close(c);
	}
}

void conn_arm_timer(struct conn *c, int64_t ms)
{
	if (unlikely(!rate_conn_arm(c)))
		return; /* limit_rate's own delay: no send_timeout meanwhile */
	ev_timer_start(&c->w->loop, &c->timer, ms);
}

static void conn_io(struct ev_loop *loop, struct ev_io *io, uint32_t ev)
{
	struct conn *c = io->data;

	(void)loop;
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->readable = true;
	if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->peer_hup = true;
	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		c->writable = true;
	http_conn_run(c);
}

/* peer_text - the client's address as text, for log lines (BUF is left as
 * it is for other families: the caller's "?"). */
static void peer_text(const struct conn *c, char *buf, size_t len)
{
	/* a unix-socket client is "unix:" (unnamed), as nginx's lines */
	if (c->peer.ss_family == AF_INET || c->peer.ss_family == AF_INET6 ||
	    c->peer.ss_family == AF_UNIX)
		lbd_sa_text(&c->peer, c->peerlen, 0, buf, len);
}

/* conn_line - nginx's line about C outside a request, at LEVEL to EL
 * (NULL: the default log): "*N MSG while ACTION, client: A, server:
 * LISTEN". Nothing is formatted unless the line is written. */
static void conn_line(const struct conn *c, const struct log_target *el, enum log_level level,
		      const char *action, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void conn_line(const struct conn *c, const struct log_target *el, enum log_level level,
		      const char *action, const char *fmt, ...)
{
	char client[INET6_ADDRSTRLEN] = "?", msg[512];
	va_list ap;

	if (!log_wants(el, level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	peer_text(c, client, sizeof(client));
	log_emit(el, level, "*%llu %s while %s, client: %s, server: %s",
		 (unsigned long long)c->number, msg, action, client, c->lg->text);
}

/* http_tls_log - the line of a failed SSL_read or SSL_write on C's
 * session after the handshake, with nginx's action and context for what
 * C was doing: waiting for its first request, in keep-alive or an HTTP/2
 * connection (the listening address as the server), reading a head, or
 * inside a request (its context, no action, as nginx's). */
static void http_tls_log(void *arg, int level, const char *msg)
{
	struct conn *c = arg;
	const char *action = NULL;

	if (c->h2)
		action = "processing HTTP/2 connection";
	else if (c->state == CS_KEEPALIVE)
		action = "keepalive";
	else if (c->state == CS_READ_HEAD && c->in.start >= c->in.end)
		action = "waiting for request";
	if (action) {
		conn_line(c, NULL, (enum log_level)level, action, "%s", msg);
		return;
	}
	if (c->state == CS_READ_HEAD)
		http_log(c, NULL, (enum log_level)level, "%s while reading client %s", msg,
			 http_head_ctx(c));
	else
		http_log(c, NULL, (enum log_level)level, "%s", msg);
}

/* http_head_gone - the client's side ended (N 0) or failed (N -1, ERR) while a
 * head was awaited or read. Nothing is sent. Without a byte of a request,
 * nginx's info line of the idle connection (a failed TLS read was logged
 * by the TLS layer); else, as nginx, the line with the request's context
 * and its 400 in the access log. */
void http_head_gone(struct conn *c, ssize_t n, int err)
{
	struct http_req *r = &c->req;
	const char *what;

	if (c->in.end <= c->in.start) {
		/* every idle connection ends here: nothing is formatted unless
		 * its line is written */
		const struct log_target *el = c->lg->default_srv->loc.error_log;

		if (n == -1 && c->tls) {
			/* the TLS layer's line, if any */
		} else if (unlikely(c->lg->http2) && !c->tls && c->requests == 0) {
			/* an h2c listener: nginx's HTTP/2 from the first byte,
			 * silent at a close before it, a failure its own line */
			if (n == -1)
				conn_line(c, el, LOG_INFO, "processing HTTP/2 connection",
					  "recv() failed (%d: %s)", err, strerror(err));
		} else if (c->state == CS_KEEPALIVE) {
			char client[INET6_ADDRSTRLEN] = "?", e[64] = "";

			if (log_wants(el, LOG_INFO)) {
				peer_text(c, client, sizeof(client));
				if (err)
					snprintf(e, sizeof(e), " (%d: %s)", err, strerror(err));
				log_emit(el, LOG_INFO,
					 "*%llu client %s closed keepalive connection%s",
					 (unsigned long long)c->number, client, e);
			}
		} else if (n == 0) {
			conn_line(c, el, LOG_INFO, "waiting for request",
				  "client closed connection");
		} else {
			conn_line(c, el, LOG_INFO, "waiting for request", "recv() failed (%d: %s)",
				  err, strerror(err));
		}
		conn_close(c);
		return;
	}
	what = http_head_ctx(c);
	if (n == 0)
		http_log(c, NULL, LOG_INFO,
			 "client prematurely closed connection while reading client %s", what);
	else if (!c->tls)
		http_log(c, NULL, LOG_INFO, "recv() failed (%d: %s) while reading client %s", err,
			 strerror(err), what);
	stats_request_start();
	r->start_us = lbd_now_us();
	clock_gettime(CLOCK_REALTIME, &r->start_wall);
	c->requests++;
	r->version = 10;
	r->status = 400;
	http_log_phase(c);
	conn_close(c);
}

/* http_tls_eval - tls_eval_fn of a connection ARG's handshake: a
 * certificate's struct cval (ssl_certificate with variables) into the
 * connection's pool; no request yet, so $ssl_server_name, $remote_addr,
 * $server_port, maps and geo over them are what mean something. */
static int http_tls_eval(void *arg, const void *val, const char **p, size_t *len)
{
	struct lstr v;

	if (cval_eval(val, arg, &v))
		return -1;
	*p = v.p;
	*len = v.len;
	return 0;
}

/* http_sni - the TLS settings of the server block the SNI name selects,
 * by server_name as for Host. Regex captures of that match mean nothing
 * to the request that follows (nginx neither keeps them). */
static const struct tls_conf *http_sni(void *arg, const char *name, size_t len)
{
	struct conn *c = arg;
	struct cfg_srv *s = http_find_server_host(c, (struct lstr){name, len});

	c->req.cap.n = 0;
	return &s->tls;
}

static void tls_step(struct conn *c);

/* ocsp_answered - ssl_ocsp's answer for C's client certificate is in:
 * on with the request (or the request's 495). */
static void ocsp_answered(void *arg)
{
	tls_step(arg);
}

/* tls_step - the handshake state of a `listen ... ssl` address. The first
 * byte tells a ClientHello from plain HTTP, which nginx reads as a request
 * to answer 400 ("The plain HTTP request was sent to HTTPS port"). The
 * client_header_timeout armed at accept bounds the whole handshake. */
static void tls_step(struct conn *c)
{
	if (!c->tls) {
		unsigned char first;
		ssize_t n = recv(c->io.fd, &first, 1, MSG_PEEK);

		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			c->readable = false;
			return;
		}
		if (n <= 0) {
			int err = errno;

			/* nginx peeks too, and says so at info */
			if (n == 0)
				conn_line(c, NULL, LOG_INFO, "SSL handshaking",
					  "client closed connection");
			else
				conn_line(c, NULL, LOG_INFO, "SSL handshaking",
					  "recv() failed (%d: %s)", err, strerror(err));
			conn_close(c);
			return;
		}
		if (!tls_looks_like_handshake(first)) {
			c->plain_on_tls = true;
			c->state = CS_READ_HEAD;
			http_read_head(c);
			return;
		}
		char client[INET6_ADDRSTRLEN] = "?";

		peer_text(c, client, sizeof(client));
		c->tls = tls_conn_new(&c->lg->default_srv->tls, c->io.fd, http_sni, c, client);
		if (!c->tls) {
			conn_close(c);
			return;
		}
		tls_conn_log_ctx(c->tls, (unsigned long long)c->number, c->lg->text);
		tls_conn_set_log(c->tls, http_tls_log, c);
		tls_conn_offer_h2(c->tls, c->lg->http2);
		tls_conn_set_eval(c->tls, http_tls_eval, c);
	}
	switch (tls_handshake(c->tls)) {
	case TLS_HS_DONE:
		/* ssl_ocsp: no request is read before the client certificate's
		 * status is in (tls_step runs again then, from ocsp_answered) */
		if (unlikely(ocsp_client_wait(tls_conn_ssl(c->tls), &c->w->loop, ocsp_answered, c)))
			break;
		if (c->lg->http2 && tls_conn_is_h2(c->tls)) {
			conn_stat(c, STATS_WAITING); /* its streams count as requests */
			h2_conn_start(c);
			break;
		}
		c->state = CS_READ_HEAD;
		conn_arm_timer(c, c->lg->default_srv->client_header_timeout);
		/* the request may have come with the client's Finished */
		if (c->readable)
			http_read_head(c);
		break;
	case TLS_HS_WANT_READ:
		c->readable = false;
		break;
	case TLS_HS_WANT_WRITE:
		c->writable = false;
		break;
	case TLS_HS_FAILED:
		conn_close(c);
		break;
	}
}

void http_conn_run(struct conn *c)
{
	if (unlikely(c->req.emb) && c->writable && !c->sr_parent)
		embed_writable(c);
	switch (c->state) {
	case CS_PROXY_PROTO:
		if (c->readable && pproto_http_read(c)) {
			c->state = c->lg->ssl ? CS_TLS_HANDSHAKE : CS_READ_HEAD;
			http_conn_run(c);
		}
		break;
	case CS_TLS_HANDSHAKE:
		if (c->readable || c->writable)
			tls_step(c);
		break;
	case CS_READ_HEAD:
	case CS_KEEPALIVE:
		if (c->readable)
			http_read_head(c);
		break;
	case CS_READ_BODY:
	case CS_UPSTREAM:
		proxy_on_client_event(c);
		break;
	case CS_WRITE:
		if (c->writable)
			http_send_body(c);
		/* an unread body still coming is dropped meanwhile, as nginx */
		if (!c->dead && c->state == CS_WRITE && c->readable && !c->close_after &&
		    c->req.body_kind != BODY_NONE && !c->req.body_done && http_body_discardable(c))
			discard_pump(c, true);
		break;
	case CS_LINGER:
		if (c->readable)
			linger_read(c);
		break;
	case CS_DISCARD:
		if (c->readable)
			discard_read(c);
		break;
	case CS_DELAY:
		if (c->peer_hup)
			delay_client_closed(c);
		break;
	case CS_H2:
		h2_conn_run(c);
		break;
	case CS_MIRROR:
		mirror_client_event(c);
		break;
	case CS_DAV:
		dav_client_event(c);
		break;
	case CS_EMBED: /* embed_writable did it */
	case CS_AUTH:  /* waits for the subrequest; the client's bytes stay queued */
	case CS_CLOSING:
		break;
	}
}

/* ---- client_conns_per_ip ---------------------------------------------------- */

static struct rl_zone *ip_zone; /* open connections per client address */
static pthread_once_t ip_zone_once = PTHREAD_ONCE_INIT;
static _Atomic int64_t ip_refused_logged; /* second of the last "refused" line */

static void ip_zone_make(void)
{
	/* 16 MiB: some 250,000 addresses with connections open at once */
	ip_zone = rl_zone_new("client_conns_per_ip", RL_KIND_CONN, 16 << 20, 64);
}

/* ip_admit - count one more connection of PEER's address against
 * client_conns_per_ip. False: over the cap (refused, logged once a
 * second). A full table admits (the cap is protection, not accounting). */
static bool ip_admit(struct worker *w, const struct sockaddr_storage *peer, struct rl_node **slot)
{
	int max = w->cfg->conns_per_ip, rc;
	struct ban_cidr a; /* the address, IPv4 mapped: one key form for both */

	*slot = NULL;
	if (max <= 0 || !ban_cidr_of(peer, &a))
		return true;
	pthread_once(&ip_zone_once, ip_zone_make);
	if (!ip_zone)
		return true;
	rc = rl_conn_acquire(ip_zone, (const char *)a.addr, sizeof(a.addr), max, slot);
	if (rc == -EBUSY) {
		int64_t now = lbd_now_ms() / 1000;
		char text[64];

		if (atomic_exchange(&ip_refused_logged, now) != now) {
			ban_cidr_format(&a, text, sizeof(text));
			log_warn(
				"client %s has %d connections open (client_conns_per_ip): more are refused",
				text, max);
		}
		return false;
	}
	if (rc)
		*slot = NULL;
	return true;
}

static void ip_release(struct rl_node *slot)
{
	if (slot)
		rl_conn_release(ip_zone, slot);
}

void http_accept(struct worker *w, int fd, struct listen_group *lg,
		 const struct sockaddr_storage *peer, socklen_t peerlen, bool nodelay)
{
	struct rl_node *slot;
	struct conn *c;
	int one = 1;

	/* The ban list at accept time: for what XDP did not see (loopback,
	 * interfaces without xdp_attach, no BPF). A reset, not a FIN: the
	 * client learns nothing and we keep no TIME_WAIT. */
	if (ban_blocked(peer) || !ip_admit(w, peer, &slot)) {
		struct linger rst = {.l_onoff = 1, .l_linger = 0};

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		ip_release(slot);
		close(fd);
		return;
	}
	c->ip_slot = slot;
	/* At accept, not at the first keep-alive as nginx: a response whose
	 * last segment is short must not wait for a delayed ACK. */
	if (!nodelay && lg->default_srv->loc.tcp_nodelay)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev_io_init(&c->io, fd, conn_io, c);
	ev_timer_init(&c->timer, conn_timeout, c);
	c->w = w;
	c->cfg = w->cfg;
	cfg_ref(c->cfg);
	c->lg = lg;
	memcpy(&c->peer, peer, peerlen);
	c->peerlen = peerlen;
	c->number = atomic_fetch_add_explicit(&lbd_conn_counter, 1, memory_order_relaxed) + 1;
	stats_conn_opened();
	c->file_fd = -1;
	c->req.body_fd = -1;
	pool_init(&c->pool, 4096);
	c->state = lg->ssl ? CS_TLS_HANDSHAKE : CS_READ_HEAD;
	if (unlikely(lg->proxy_protocol))
		c->state = CS_PROXY_PROTO;
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	steer_conn_opened(w->id);
	if (ev_io_start(&w->loop, &c->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
		conn_close(c);
		return;
	}
	conn_arm_timer(c, lg->default_srv->client_header_timeout);
}

void http_worker_free(void)
{
	while (stream_cache) {
		struct conn *c = stream_cache;

		stream_cache = c->next;
		free(c->in.data);
		free(c->out.data);
		pool_destroy(&c->pool);
		free(c);
	}
	nstream_cache = 0;
	h2_worker_free();
}

/* conn_borrow - a request connection without a socket for a request of
 * P's client (an HTTP/2 stream's, a subrequest's): from the thread's
 * cache or new, with P's addresses and configuration. */
static struct conn *conn_borrow(struct conn *p)
{
	struct conn *c = stream_cache;

	if (c) {
		/* as new, with the buffers and pool it had */
		struct buf in = c->in, out = c->out;
		struct pool pool = c->pool;

		stream_cache = c->next;
		nstream_cache--;
		/* zeroed but for the request's header views and $upstream_*
		 * strings (4.5 of its 5.7 KiB): filled before they are read,
		 * as on a keep-alive connection (reset_request()) */
		memset(c, 0, offsetof(struct conn, req) + offsetof(struct http_req, up_addrs));
		memset(&c->req + 1, 0, sizeof(*c) - offsetof(struct conn, req) - sizeof(c->req));
		c->req.up_addrs[0] = c->req.up_status[0] = c->req.up_resp_time[0] =
			c->req.up_conn_time[0] = c->req.up_hdr_time[0] = c->req.up_resp_len[0] =
				c->req.up_bytes_rx[0] = c->req.up_bytes_tx[0] = '\0';
		c->in = (struct buf){.data = in.data, .cap = in.cap};
		c->out = (struct buf){.data = out.data, .cap = out.cap};
		c->pool = pool;
	} else {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		pool_init(&c->pool, 4096);
	}
	ev_io_init(&c->io, -1, conn_io, c);
	ev_timer_init(&c->timer, conn_timeout, c);
	c->w = p->w;
	c->cfg = p->cfg;
	cfg_ref(c->cfg);
	c->lg = p->lg;
	c->peer = p->peer;
	c->peerlen = p->peerlen;
	c->pp = p->pp; /* borrowed: the connection outlives its streams */
	conn_local(p);
	c->local = p->local;
	c->locallen = p->locallen;
	c->number = p->number;
	c->file_fd = -1;
	c->req.body_fd = -1;
	c->state = CS_READ_HEAD;
	c->tls = p->tls;
	c->writable = true;
	return c;
}

struct conn *http_stream_new(struct conn *p, struct h2_stream *s)
{
	struct conn *c = conn_borrow(p);

	if (c) {
		c->requests = ++p->requests;
		c->h2s = s;
	}
	return c;
}

void http_sub_release(struct conn *c)
{
	if (ev_defer(&c->w->loop, conn_free, c))
		conn_free(c);
}

struct conn *http_sub_new(struct conn *p)
{
	struct conn *c = conn_borrow(p);

	if (c) {
		c->requests = p->requests;
		c->sr_parent = p;
		c->req.uri_changes = HTTP_MAX_URI_CHANGES + 1;
		c->state = CS_READ_BODY; /* its head is the main request's */
	}
	return c;
}

/* ---- phases ---------------------------------------------------------------------- */

/* delay_client_closed - the client went away while limit_req held its
 * request: nginx logs it and finishes the request with 499. */
static void delay_client_closed(struct conn *c)
{
	c->req.status = 499;
	http_log(c, NULL, LOG_INFO, "client prematurely closed connection");
	http_log_phase(c);
	conn_close(c);
}

/* http_run_content - the preaccess phase (limit_conn, limit_req), which may
 * answer or hold the request for a while, then run_access. */
void http_run_content(struct conn *c)
{
	int64_t delay;
	int st;

	/* realip first, as in nginx's preaccess phase (location settings) */
	if (realip_apply(c, c->req.loc))
		return;
	st = rl_preaccess(c, &delay);
	if (st) {
		http_finalize(c, st);
		return;
	}
	if (delay > 0) {
		c->req.rl.saved_state = (int)c->state;
		c->state = CS_DELAY;
		conn_arm_timer(c, delay);
		return;
	}
	run_access(c);
}

/* run_access - the access phase (allow/deny), then the content handler. */
static void run_access(struct conn *c)
{
	struct http_req *r = &c->req;
	struct cfg_loc *l = r->loc;

	int st = auth_access(c, l); /* allow/deny, auth_basic, satisfy (auth.c) */

	if (st == AUTH_AGAIN)
		return; /* auth_request's subrequest runs (authreq.c) */
	if (st) {
		/* nginx discards the body and keeps the connection: a body
		 * not all here yet is read and dropped after the answer
		 * (http_response_done) */
		if (r->body_kind != BODY_NONE && !r->body_done) {
			ssize_t skip = c->h2s ? -1 : whole_unread_body(c);

			if (skip >= 0) {
				c->in.start += (size_t)skip;
				r->body_done = true;
			} else if (!http_body_discardable(c)) {
				c->close_after = true;
			}
		}
		/* auth_delay: a 401 of the access phase (auth_basic,
		 * auth_request) waits on the connection's timer */
		if (st == 401 && l->auth_delay > 0) {
			http_log(c, NULL, LOG_INFO, "delaying unauthorized request");
			r->auth_delayed = true;
			r->rl.saved_state = (int)c->state;
			c->state = CS_DELAY;
			conn_arm_timer(c, l->auth_delay);
			return;
		}
		http_finalize(c, st);
		return;
	}
	/* nginx's precontent phase: mirror (its body read first, mirror.c) */
	if (unlikely(l->mirror.nuris) && mirror_start(c))
		return;
	http_content(c);
}

void http_content(struct conn *c)
{
	struct cfg_loc *l = c->req.loc;

	if (l->empty_gif) {
		emptygif_handle(c);
		return;
	}
	if (l->proxy && l->try_files) {
		/* try_files runs before proxy_pass / fastcgi_pass (nginx's
		 * phases): a file found makes it $uri and the request goes on
		 * to the upstream, the last argument is the fallback */
		static_try_files(c);
		return;
	}
	if (l->proxy) {
		proxy_start(c);
		return;
	}
	if (l->stub_status) {
		status_stub(c);
		return;
	}
	if (l->lbd_metrics) {
		status_metrics(c);
		return;
	}
	/* PUT/DELETE/MKCOL of dav_methods before the static files (nginx's
	 * content phase order) */
	if (l->dav.methods && dav_handle(c))
		return;
	/* a body is not read here: http_response_done skips or closes */
	if (l->try_files) {
		static_try_files(c);
		return;
	}
	static_handle(c);
}

/* ---- finishing ---------------------------------------------------------------------- */

static void reset_request(struct conn *c)
{
	struct http_req *r = &c->req;

	req_cleanup(c);
	realip_restore(c); /* its state is in the pool */
	pool_reset(&c->pool);
	memset(r, 0, offsetof(struct http_req, up_addrs));
	r->up_addrs[0] = r->up_status[0] = r->up_resp_time[0] = r->up_conn_time[0] =
		r->up_hdr_time[0] = r->up_resp_len[0] = r->up_bytes_rx[0] = r->up_bytes_tx[0] =
			'\0';
	r->body_fd = -1;
	r->uri_changes = HTTP_MAX_URI_CHANGES + 1;
	c->close_after = false;
	c->out.start = c->out.end = 0;
}

/* linger_wait - wait for the client's next bytes while lingering or
 * discarding a body: lingering_timeout for each read, lingering_time in
 * all (then the connection ends, as nginx's). */
static void linger_wait(struct conn *c)
{
	const struct cfg_loc *l = c->req.loc;
	int64_t all = l ? l->lingering_time : 30000, each = l ? l->lingering_timeout : 5000;
	int64_t left = c->linger_start_ms + all - lbd_now_ms();

	if (left <= 0) {
		conn_close(c);
		return;
	}
	conn_arm_timer(c, each < left ? each : left);
}

/* linger_read - drop what the client still sends after our last response
 * (an unread body): closing with unread bytes would make the kernel send a
 * RST, and the client could lose the response. Ends on EOF, error, or the
 * deadlines (lingering_timeout per read, 30 s in all, as nginx's
 * lingering_time). */
static void linger_read(struct conn *c)
{
	char drop[4096];

	for (;;) {
		ssize_t n = conn_recv(c, drop, sizeof(drop));

		if (n > 0)
			continue;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->readable = false;
			linger_wait(c);
			return;
		}
		conn_close(c);
		return;
	}
}

/* close_or_linger - close now, or half-close and linger when the client
 * may still be sending a body we did not read. */
static void close_or_linger(struct conn *c)
{
	struct http_req *r = &c->req;
	bool unread = (r->body_kind != BODY_NONE && !r->body_done) || c->in.end > c->in.start;

	if (c->tls && !c->peer_closed && !c->peer_hup)
		tls_conn_shutdown(c->tls); /* close_notify before the FIN */
	if (!unread || c->peer_closed || c->peer_hup || shutdown(c->io.fd, SHUT_WR) == -1) {
		conn_close(c);
		return;
	}
	c->state = CS_LINGER;
	c->linger_start_ms = lbd_now_ms();
	c->in.start = c->in.end = 0;
	linger_read(c);
}

void http_request_cut(struct conn *c)
{
	if (c->dead)
		return;
	c->close_after = true;
	http_log_phase(c);
	conn_close(c);
}

void http_stream_cut(struct conn *c)
{
	if (c->dead)
		return;
	c->peer_hup = true;
	c->readable = true;
	c->writable = true;
	http_conn_run(c);
	if (c->dead)
		return;
	/* proxy_ignore_client_abort (and fastcgi_, uwsgi_, scgi_; grpc_pass
	 * has none in nginx): a request that waits on its upstream goes on
	 * without the client, as nginx's does (it sets no broken-connection
	 * check then); its answer's head finds the stream gone (its status
	 * logged, nothing sent) while h2.c keeps the stream */
	if (c->state == CS_UPSTREAM && !c->req.header_sent && c->req.loc &&
	    c->req.loc->proxy_ignore_client_abort &&
	    !(c->req.loc->proxy && c->req.loc->proxy->grpc) && h2_stream_can_outlive(c))
		return;
	/* still open: waiting (auth_request, an SSI stub, a write timer);
	 * one answered whose mirrors run is logged by conn_close() */
	if (!(c->req.mirror && mirror_waiting(c))) {
		if (!c->req.header_sent)
			c->req.status = 499;
		http_log_phase(c);
	}
	conn_close(c);
}

void http_response_done(struct conn *c)
{
	if (c->dead)
		return;
	if (unlikely(c->sr_parent)) {
		c->req.completed = true;
		conn_close(c); /* hands the outcome over (authreq.c) */
		return;
	}
	bool routed = c->req.loc; /* post_action: only a request that got a location */

	if (!c->req.loc && c->req.srv)
		c->req.loc = &c->req.srv->loc;
	c->req.completed = true;
	/* a stream's trailers go before its end (mirror_wait ends it too) */
	if (unlikely(c->h2s && c->req.trl) && http_trailers_end(c))
		c->req.send_failed = true; /* no memory: the stream ends without them */
	if (unlikely(c->req.emb) && embed_wait(c))
		return; /* the subrequests' bytes first (add_after_body) */
	if (unlikely(routed && c->req.loc->mirror.post_action && *c->req.loc->mirror.post_action))
		mirror_post_action(c); /* one more subrequest, waited for below */
	if (unlikely(c->req.mirror) && mirror_wait(c))
		return; /* the log and what follows once the subrequests end */
	http_log_phase(c);
	conn_stat(c, STATS_WAITING);
	if (unlikely(c->h2s)) {
		/* a stream carries one request: end it, free its connection */
		h2_stream_done(c);
		conn_close(c);
		return;
	}
	if (c->close_after || c->peer_closed) {
		close_or_linger(c);
		return;
	}
	/* A body nobody read (return, a static file, an error page): its
	 * bytes in the buffer are dropped, and the rest is read and dropped
	 * as it comes (CS_DISCARD, as nginx discards a body) before the next
	 * request; one that cannot be (partly taken) ends the connection
	 * (lingering). Its bytes are never read as a request. */
	if (c->req.body_kind != BODY_NONE && !c->req.body_done) {
		int rc = http_body_discardable(c) ? discard_feed(c) : -1;

		if (rc < 0) {
			c->close_after = true;
			close_or_linger(c);
			return;
		}
		if (rc == 0) {
			c->state = CS_DISCARD;
			c->linger_start_ms = lbd_now_ms();
			c->in.start = c->in.end = 0;
			linger_wait(c);
			if (!c->dead && c->readable)
				discard_read(c);
			return;
		}
	}
	next_request(c);
}

/* discard_pump - read and drop what comes of an unread request body;
 * the request after it, if it came along, stays in c->in. After the
 * response (CS_DISCARD) the end of the body leads to the next request;
 * while the response is still written (WRITING, as nginx reads a
 * discarded body meanwhile: a client that sends its whole body before it
 * reads is not left stuck behind a big answer) it only stops reading, and
 * the end of the connection or a framing error wait for the response's
 * end (close_or_linger). */
static void discard_pump(struct conn *c, bool writing)
{
	char *tmp;

	/* the bytes already here first (the head's read may have brought
	 * the body's start), in place; then the socket, through a relay
	 * buffer: c->in holds the request's head, which its variables and
	 * the log still read while the answer is written */
	if (c->in.start < c->in.end && discard_feed(c) < 0)
		goto bad;
	if (c->req.body_done)
		goto done;
	tmp = worker_relay_get(c->w);
	if (!tmp) {
		conn_close(c);
		return;
	}
	while (!c->req.body_done) {
		ssize_t n = conn_recv(c, tmp, RELAY_BUF_SIZE);
		long used;

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			worker_relay_put(c->w, tmp);
			c->readable = false;
			if (!writing)
				linger_wait(c);
			return;
		}
		if (n <= 0) {
			worker_relay_put(c->w, tmp);
			c->peer_closed = n == 0;
			if (writing) {
				c->readable = false;
				c->close_after = true;
			} else {
				conn_close(c);
			}
			return;
		}
		used = discard_span(c, tmp, (size_t)n);
		if (used < 0) {
			worker_relay_put(c->w, tmp);
			goto bad;
		}
		/* what follows the body is the next request's */
		if ((size_t)used < (size_t)n &&
		    reqbody_keep_rest(c, tmp + used, (size_t)n - (size_t)used)) {
			worker_relay_put(c->w, tmp);
			conn_close(c);
			return;
		}
	}
	worker_relay_put(c->w, tmp);
done:
	if (!writing) {
		ev_timer_stop(&c->w->loop, &c->timer);
		next_request(c);
	}
	return;
bad:
	http_log(c, NULL, LOG_INFO, "client sent invalid chunked body");
	if (writing) {
		c->readable = false;
		c->close_after = true;
		return;
	}
	conn_close(c);
}

static void discard_read(struct conn *c)
{
	discard_pump(c, false);
}

/* next_bufs - nginx's buffers for the next request on C, after a head
 * bytes followed (c->hb_end) or one that did not start in a whole first
 * buffer: a pipelined request starts where the one before it ended, in
 * that buffer, when its bytes came with that head (c->in as it was then:
 * nothing read or moved since; bytes past the buffer's end were not read
 * into it: a fresh one), and the other large buffers are free; anything
 * else starts in a fresh first buffer. */
__attribute__((noinline, cold)) static void next_bufs(struct conn *c)
{
	uint32_t end = c->hb_end;

	c->hb_room = c->hb_busy0 = c->hb_nfree = 0;
	c->hb_end = 0;
	if (c->in.start >= c->in.end || !end || c->in.end != c->hb_inend ||
	    c->in.start < c->hb_base || c->in.start - c->hb_base >= end)
		return;
	c->hb_room = end - (uint32_t)(c->in.start - c->hb_base);
	c->hb_busy0 = c->hb_busy ? 1 : 0;
	c->hb_nfree = c->hb_busy ? (uint16_t)(c->hb_busy - 1) : 0;
	c->hb_free_size = (uint32_t)c->lg->default_srv->large_header_size;
}

/* next_request - the response and the request's body are done: on to the
 * next request on this connection (pipelined bytes in c->in, or wait). */
static void next_request(struct conn *c)
{
	/* Bytes left in c->in (the head was consumed when parsed, a body by
	 * the proxy or discard_feed) are the next pipelined request. */
	reset_request(c);
	/* (hb_busy0 and hb_nfree are set with hb_room only) */
	if (unlikely(c->hb_room | c->hb_end))
		next_bufs(c);
	if (c->in.start >= c->in.end) {
		c->in.start = c->in.end = 0;
		c->state = CS_KEEPALIVE;
		/* Idle keep-alive: give the header buffer back if it grew. */
		if (c->in.cap > HTTP_IN_INITIAL) {
			free(c->in.data);
			c->in.data = NULL;
			c->in.cap = 0;
		}
		conn_arm_timer(c, c->cfg->http ? c->lg->default_srv->loc.keepalive_timeout : 75000);
		if (c->readable)
			http_read_head(c);
		return;
	}
	memmove(c->in.data, c->in.data + c->in.start, c->in.end - c->in.start);
	c->in.end -= c->in.start;
	c->in.start = 0;
	c->req.pipelined = true; /* nginx's $pipe: bytes of the next request wait */
	c->state = CS_READ_HEAD;
	conn_arm_timer(c, c->lg->default_srv->client_header_timeout);
	http_process_request(c);
	if (!c->dead && c->state == CS_READ_HEAD && c->readable)
		http_read_head(c);
}

void http_log_ctx(const struct conn *c, const char *upstream, char *buf, size_t len)
{
	const struct http_req *r = &c->req;
	char addr[INET6_ADDRSTRLEN] = "unix:";
	const char *server = r->srv && r->srv->nnames ? r->srv->names[0].name : "";
	const struct h1_header *h;
	size_t k = 0;
	int n;

	peer_text(c, addr, sizeof(addr));
	n = snprintf(buf, len, ", client: %s, server: %s", addr, server);
	if (n > 0)
		k = LBD_MIN((size_t)n, len - 1);
	if (r->request_line.len && k < len) {
		n = snprintf(buf + k, len - k, ", request: \"%.*s\"", (int)r->request_line.len,
			     r->request_line.p);
		if (n > 0)
			k = LBD_MIN(k + (size_t)n, len - 1);
	}
	if (unlikely(c->sr_parent) && k < len) {
		n = snprintf(buf + k, len - k, ", subrequest: \"%.*s\"", (int)r->u.uri.len,
			     r->u.uri.p);
		if (n > 0)
			k = LBD_MIN(k + (size_t)n, len - 1);
	}
	if (upstream && k < len) {
		n = snprintf(buf + k, len - k, ", upstream: \"%s\"", upstream);
		if (n > 0)
			k = LBD_MIN(k + (size_t)n, len - 1);
	}
	if ((h = req_header(r, "host", 4)) && k < len) {
		n = snprintf(buf + k, len - k, ", host: \"%.*s\"", (int)h->value.len, h->value.p);
		if (n > 0)
			k = LBD_MIN(k + (size_t)n, len - 1);
	}
	if ((h = req_header(r, "referer", 7)) && k < len)
		snprintf(buf + k, len - k, ", referrer: \"%.*s\"", (int)h->value.len, h->value.p);
}

/* debug_conn - whether C's client is one of debug_connection's: its
 * lines are written whatever the error_log's level, as nginx's debug log
 * of that connection. */
static bool debug_conn(const struct conn *c)
{
	const struct cfg *g = c->cfg;
	struct ban_cidr h;

	if (c->peer.ss_family == AF_UNIX)
		return g->debug_conn_unix;
	if (!ban_cidr_of(&c->peer, &h))
		return false;
	for (int i = 0; i < g->ndebug_conns; i++) {
		const struct ban_cidr *n = &g->debug_conns[i];
		int full = n->plen / 8, rest = n->plen % 8;

		if (memcmp(h.addr, n->addr, (size_t)full) == 0 &&
		    (!rest || ((h.addr[full] ^ n->addr[full]) & (0xff00 >> rest)) == 0))
			return true;
	}
	return false;
}

bool http_log_wanted(const struct conn *c, enum log_level level)
{
	const struct log_target *t = c->req.loc ? c->req.loc->error_log : NULL;

	if (level <= (t ? t : log_default())->level)
		return true;
	return unlikely(c->cfg && (c->cfg->ndebug_conns || c->cfg->debug_conn_unix)) &&
	       debug_conn(c);
}

void http_vlog(const struct conn *c, const char *upstream, enum log_level level, const char *fmt,
	       va_list ap)
{
	char msg[2048], ctx[1024]; /* the line is cut at 2048 bytes, as nginx's */

	if (!http_log_wanted(c, level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	http_log_ctx(c, upstream, ctx, sizeof(ctx));
	/* http_log_wanted decided (debug_connection's clients pass any level) */
	log_emit_any(c->req.loc ? c->req.loc->error_log : NULL, level, "*%llu %s%s",
		     (unsigned long long)c->number, msg, ctx);
}

void http_log(const struct conn *c, const char *upstream, enum log_level level, const char *fmt,
	      ...)
{
	va_list ap;

	va_start(ap, fmt);
	http_vlog(c, upstream, level, fmt, ap);
	va_end(ap);
}

static const struct error_page *find_error_page(const struct cfg_loc *l, int status)
{
	for (int i = 0; l && i < l->nerror_pages; i++)
		if (l->error_pages[i].status == status)
			return &l->error_pages[i];
	return NULL;
}

/* http_finalize - answer with STATUS, through error_page if configured. */
void http_finalize(struct conn *c, int status)
{
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc ? r->loc : r->srv ? &r->srv->loc : NULL;
	const struct error_page *ep;

	if (c->dead)
		return;
	if (status == 444 || status == 499 || status == 408) {
		/* nginx closes without an answer for these (499: "client
		 * closed request", 408: a timeout; `return 499/408` too) */
		r->status = status;
		http_log_phase(c);
		conn_close(c);
		return;
	}
	switch (status) {
	case 400:
	case 413:
	case 414:
	case HTTP_STATUS_REQ_HEADER_TOO_LARGE:
	case HTTP_STATUS_TO_HTTPS:
	case HTTP_STATUS_CERT_ERROR:
	case HTTP_STATUS_NO_CERT:
	case 500:
	case 501:
	case 505:
		c->close_after = true;
		break;
	}
	c->out.start = c->out.end = 0;
	ep = (!r->error_page_done || (l && l->recursive_error_pages)) && r->srv
		     ? find_error_page(l, status)
		     : NULL;
	if (ep) {
		struct lstr uri;

		r->error_page_done = true;
		if (cval_eval(&ep->uri, c, &uri)) {
			r->err_status = 0;
			http_builtin_page(c, 500);
			return;
		}
		r->status = ep->overwrite > 0 ? ep->overwrite : status;
		/* the answer's code: the error's, or =CODE's; `=` alone lets
		 * the page's handler choose */
		r->err_status = ep->overwrite > 0 ? ep->overwrite : ep->overwrite == 0 ? status : 0;
		if (uri.len && uri.p[0] == '@') {
			http_named_location(c, uri);
			return;
		}
		if ((uri.len > 7 && strncmp(uri.p, "http://", 7) == 0) ||
		    (uri.len > 8 && strncmp(uri.p, "https://", 8) == 0)) {
			r->resp_location = uri;
			r->err_status = 0; /* a redirect: its own code */
			http_builtin_page(c, ep->overwrite > 0 && ep->overwrite >= 300 &&
							     ep->overwrite < 400
						     ? ep->overwrite
						     : 302);
			return;
		}
		if (!r->head)
			r->method = LSTR("GET");
		const char *q = memchr(uri.p, '?', uri.len);
		struct lstr path = q ? (struct lstr){uri.p, (size_t)(q - uri.p)} : uri;
		struct lstr args = q ? (struct lstr){q + 1, uri.len - (size_t)(q - uri.p) - 1}
				     : (struct lstr){"", 0};

		http_internal_redirect(c, path, args);
		return;
	}
	r->err_status = 0; /* a page of its own: this code (nginx's special response) */
	/* `return 204|304`: nginx sends that head itself, not a page */
	r->code_page = !(r->status_first && (status == 204 || status == 304));
	http_builtin_page(c, status);
}

/* reclaim_slow_heads - the second pass of http_reclaim, when nothing idle
 * is left: connections that have been sending their request head (or TLS
 * handshake) for more than HTTP_SLOW_HEAD_MS, oldest first. Slowloris
 * from many addresses fills worker_connections with such heads, under
 * every per-address cap, for up to client_header_timeout (60 s); nginx
 * then stops serving anyone (tests/reliability, "slow-many"). Only under
 * this pressure: a full worker with nothing idle. */
#define HTTP_SLOW_HEAD_MS 1000
/* A connection accepted a moment ago has not been read yet: its bytes
 * may be waiting in the socket. Only one silent for longer is idle. */
#define HTTP_SILENT_MIN_MS 100

/* head_age - ms since C started its request head (or TLS handshake): the
 * client_header_timeout deadline is armed then and never moved. */
static int64_t head_age(const struct conn *c, int64_t now)
{
	if (c->timer.heap_idx < 0)
		return 0;
	return now - (c->timer.when - c->lg->default_srv->client_header_timeout);
}

static int reclaim_slow_heads(struct worker *w, int max)
{
	int64_t now = ev_now(&w->loop);
	struct conn *c = w->conns, *prev;
	int n = 0;

	while (c && c->next)
		c = c->next;
	for (; c && n < max; c = prev) {
		prev = c->prev;
		if (c->state != CS_READ_HEAD && c->state != CS_TLS_HANDSHAKE &&
		    c->state != CS_PROXY_PROTO)
			continue;
		if (head_age(c, now) < HTTP_SLOW_HEAD_MS)
			continue;
		conn_close(c);
		n++;
	}
	if (n)
		log_warn("%d worker_connections are not enough, closed %d connections "
			 "slow to send their request head",
			 w->cfg->worker_connections, n);
	return n;
}

int http_reclaim(struct worker *w, int max)
{
	int64_t now = ev_now(&w->loop);
	struct conn *c = w->conns, *prev;
	int n = 0;

	/* new connections are pushed at the head: the oldest is the tail */
	while (c && c->next)
		c = c->next;
	for (; c && n < max; c = prev) {
		prev = c->prev;
		/*
		 * A silent new connection or an idle keep-alive one has nothing
		 * in flight: closing it loses no request, and it is what an idle
		 * flood is made of. A client in the middle of its head is not
		 * reusable (nginx neither): client_header_timeout bounds it.
		 */
		if (c->state == CS_KEEPALIVE ||
		    (c->state == CS_READ_HEAD && c->requests == 0 && c->in.end == 0 &&
		     head_age(c, now) >= HTTP_SILENT_MIN_MS)) {
			conn_close(c);
			n++;
		}
	}
	if (!n)
		n = reclaim_slow_heads(w, max);
	return n;
}

void http_close_idle(struct worker *w)
{
	struct conn *c = w->conns;

	while (c) {
		struct conn *next = c->next;

		if (c->state == CS_KEEPALIVE)
			conn_close(c);
		else if (c->state == CS_H2)
			h2_conn_shutdown(c);
		c = next;
	}
}
