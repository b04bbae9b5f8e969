/* SPDX-License-Identifier: MIT */
/*
 * Active health checks: the checker thread, its per-server probes, and the
 * health state machine of a server. The thread owns one event loop, one
 * probe per checked server and the probes' sockets; it writes the health
 * atomics of struct ups_server, which every worker reads when it picks.
 * Nothing here runs on a worker or touches the request path.
 *
 * A probe cycles: wait interval -> connect (non-blocking) -> [https: TLS
 * handshake, verification] -> [http: send the request, read until the
 * status line, or with match= the head and up to HC_MATCH_BODY_MAX bytes of
 * the body] -> verdict -> wait interval. One timer per probe bounds the
 * whole check (connect, handshake and answer) by timeout and then paces the
 * next one, so a dead server costs one socket and one timer, never a
 * blocked thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ev.h"
#include "hc.h"
#include "lbd.h"
#include "log.h"
#include "tls.h"
#include "ups.h"
#include "upssl.h"

#define RLX memory_order_relaxed

/* enum hc_framing - how the body of a checked response ends. */
enum hc_framing {
	HC_BODY_EOF = 0, /* at the close (no length given) */
	HC_BODY_LENGTH,	 /* after Content-Length bytes */
	HC_BODY_CHUNKED, /* at the last chunk */
	HC_BODY_NONE,	 /* none (1xx, 204, 304) */
};

/* struct hc_probe - the check cycle of one server. */
struct hc_probe {
	struct hc_checker *hc;	      /* owner */
	const struct ups_group *g;    /* group of the server (settings) */
	struct ups_server *s;	      /* the checked server */
	struct ev_io io;	      /* the check's socket; fd -1 between checks */
	struct ev_timer timer;	      /* timeout while running, else next start */
	bool running;		      /* a check is in progress */
	bool connected;		      /* connect() completed */
	char *req;		      /* http request bytes (NULL for tcp) */
	size_t reqlen;		      /* length of req */
	size_t reqoff;		      /* bytes of req already sent */
	char buf[HC_STATUS_LINE_MAX]; /* response bytes read so far */
	size_t len;		      /* bytes in buf */
	struct tls_conn *tls;	      /* checks over TLS: the session, NULL between */
	bool hs_done;		      /* its handshake (and verification) passed */
	/* match=: the head, then raw body bytes as they come (HC_MATCH_HEAD_MAX),
	 * and the decoded start of the body (HC_MATCH_BODY_MAX); one allocation,
	 * made at start */
	char *mbuf;
	char *body;		   /* mbuf + HC_MATCH_HEAD_MAX */
	size_t mlen;		   /* head bytes in mbuf (until the head is parsed) */
	size_t blen;		   /* decoded body bytes in body */
	bool in_body;		   /* the head passed; the body is being read */
	enum hc_framing framing;   /* how the body ends */
	uint64_t left;		   /* HC_BODY_LENGTH: body bytes still to come */
	struct h1_chunked chunked; /* HC_BODY_CHUNKED: the decoder */
	int status;		   /* the head's status */
};

/* struct hc_checker - the checker thread and everything it owns. */
struct hc_checker {
	pthread_t tid;		 /* the thread */
	struct ev_loop loop;	 /* its event loop */
	int efd;		 /* eventfd: written by hc_stop() */
	struct ev_io eio;	 /* watches efd */
	struct hc_probe *probes; /* one per checked server */
	int nprobes;		 /* entries in probes */
};

void hc_defaults(struct ups_hc *hc)
{
	*hc = (struct ups_hc){
		.enabled = true,
		.interval_ms = HC_DEFAULT_INTERVAL_MS,
		.timeout_ms = HC_DEFAULT_TIMEOUT_MS,
		.fails = 1,
		.passes = 1,
		.uri = (char *)"/",
		.status_lo = 200,
		.status_hi = 399,
	};
}

/* parse_code - exactly three digits 100..599 at P; -1 otherwise. */
static int parse_code(const char *p, size_t n)
{
	int v = 0;

	if (n != 3)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v >= 100 && v <= 599 ? v : -1;
}

int hc_parse_status(const char *text, int *lo, int *hi)
{
	const char *dash;
	int a, b;

	if (!text)
		return -EINVAL;
	if (strlen(text) == 3 && text[0] >= '1' && text[0] <= '5' &&
	    (text[1] == 'x' || text[1] == 'X') && (text[2] == 'x' || text[2] == 'X')) {
		*lo = (text[0] - '0') * 100;
		*hi = *lo + 99;
		return 0;
	}
	dash = strchr(text, '-');
	if (!dash) {
		a = parse_code(text, strlen(text));
		if (a < 0)
			return -EINVAL;
		*lo = *hi = a;
		return 0;
	}
	a = parse_code(text, (size_t)(dash - text));
	b = parse_code(dash + 1, strlen(dash + 1));
	if (a < 0 || b < 0 || a > b)
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}

int hc_parse_status_line(const char *buf, size_t len, int *status)
{
	static const char pre[] = "HTTP/";
	/* "HTTP/" d "." d " " ddd */
	static const size_t need = 12;
	int v;

	for (size_t i = 0; i < len && i < 5; i++)
		if (buf[i] != pre[i])
			return -EBADMSG;
	for (size_t i = 5; i < len && i < need; i++) {
		bool ok = i == 6   ? buf[i] == '.'
			  : i == 8 ? buf[i] == ' '
				   : buf[i] >= '0' && buf[i] <= '9';

		if (!ok)
			return -EBADMSG;
	}
	if (len < need)
		return 0;
	v = parse_code(buf + 9, 3);
	if (v < 0)
		return -EBADMSG;
	*status = v;
	return 1;
}

const char *hc_result_text(const struct ups_server *s, char *buf, size_t len)
{
	int r = atomic_load_explicit(&s->hc_last, RLX);
	int d = atomic_load_explicit(&s->hc_last_status, RLX);

	switch (r) {
	case UPS_HC_OK:
		if (d)
			snprintf(buf, len, "HTTP %d", d);
		else
			snprintf(buf, len, "ok");
		break;
	case UPS_HC_STATUS:
		snprintf(buf, len, "HTTP %d", d);
		break;
	case UPS_HC_REFUSED:
		snprintf(buf, len, "connect() failed (%d: %s)", d, strerror(d));
		break;
	case UPS_HC_TIMEOUT:
		snprintf(buf, len, "timeout");
		break;
	case UPS_HC_BAD:
		snprintf(buf, len, "bad response");
		break;
	case UPS_HC_CLOSED:
		snprintf(buf, len, "closed");
		break;
	case UPS_HC_ERROR:
		snprintf(buf, len, "error (%d: %s)", d, strerror(d));
		break;
	case UPS_HC_TLS:
		snprintf(buf, len, "SSL handshake failed");
		break;
	case UPS_HC_VERIFY:
		if (d > 0)
			snprintf(buf, len, "SSL certificate verify error: (%d:%s)", d,
				 X509_verify_cert_error_string(d));
		else
			snprintf(buf, len, "SSL certificate does not match");
		break;
	case UPS_HC_MATCH:
		snprintf(buf, len, "HTTP %d, no match", d);
		break;
	default:
		snprintf(buf, len, "-");
		break;
	}
	return buf;
}

bool hc_report(const struct ups_group *g, struct ups_server *s, enum ups_hc_result result,
	       int detail, int64_t now_ms)
{
	return hc_report_why(g, s, result, detail, NULL, now_ms);
}

bool hc_report_why(const struct ups_group *g, struct ups_server *s, enum ups_hc_result result,
		   int detail, const char *why, int64_t now_ms)
{
	int health = atomic_load_explicit(&s->health, RLX);
	char text[160];
	int n;

	atomic_store_explicit(&s->hc_last, (int)result, RLX);
	atomic_store_explicit(&s->hc_last_status, detail, RLX);
	atomic_store_explicit(&s->hc_last_ms, now_ms, RLX);
	atomic_fetch_add_explicit(&s->hc_checks, 1, RLX);
	if (result == UPS_HC_OK) {
		n = atomic_fetch_add_explicit(&s->hc_passes, 1, RLX) + 1;
		atomic_store_explicit(&s->hc_fails, 0, RLX);
		if (health == UPS_HEALTH_UP || n < g->hc.passes)
			return false;
		/* failures the requests counted while it was down are stale:
		 * without this reset max_fails would keep a recovered server
		 * out for another fail_timeout */
		atomic_store_explicit(&s->fails, 0, RLX);
		atomic_store_explicit(&s->health, UPS_HEALTH_UP, memory_order_release);
		atomic_fetch_add_explicit(&s->hc_changes, 1, RLX);
		ups_server_recovered(s, now_ms); /* slow_start ramps from here */
		log_warn("upstream server %s of %s\"%s\" is healthy again", s->name,
			 g->stream ? "stream upstream " : "", g->name);
		return true;
	}
	n = atomic_fetch_add_explicit(&s->hc_fails, 1, RLX) + 1;
	atomic_store_explicit(&s->hc_passes, 0, RLX);
	if (health == UPS_HEALTH_DOWN || n < g->hc.fails)
		return false;
	atomic_store_explicit(&s->health, UPS_HEALTH_DOWN, memory_order_release);
	atomic_fetch_add_explicit(&s->hc_changes, 1, RLX);
	log_warn("upstream server %s of %s\"%s\" is unhealthy: %s", s->name,
		 g->stream ? "stream upstream " : "", g->name,
		 why ? why : hc_result_text(s, text, sizeof(text)));
	return true;
}

void hc_carry_server(struct ups_server *new_s, const struct ups_server *old_s)
{
	atomic_store(&new_s->health, atomic_load(&old_s->health));
	atomic_store(&new_s->hc_fails, atomic_load(&old_s->hc_fails));
	atomic_store(&new_s->hc_passes, atomic_load(&old_s->hc_passes));
	atomic_store(&new_s->hc_last, atomic_load(&old_s->hc_last));
	atomic_store(&new_s->hc_last_status, atomic_load(&old_s->hc_last_status));
	atomic_store(&new_s->hc_last_ms, atomic_load(&old_s->hc_last_ms));
	atomic_store(&new_s->hc_checks, atomic_load(&old_s->hc_checks));
	atomic_store(&new_s->hc_changes, atomic_load(&old_s->hc_changes));
}

/* ---- the probe cycle ------------------------------------------------------ */

static void probe_timer_cb(struct ev_loop *loop, struct ev_timer *t);
static void probe_io_cb(struct ev_loop *loop, struct ev_io *io, uint32_t revents);
static void probe_recv(struct ev_loop *loop, struct hc_probe *p);

/* probe_finish - end the running check with a verdict (WHY: the reason
 * the log gives, NULL for the result's own words) and pace the next. */
static void probe_finish(struct ev_loop *loop, struct hc_probe *p, enum ups_hc_result r, int detail,
			 const char *why)
{
	if (p->tls) {
		tls_conn_free(p->tls);
		p->tls = NULL;
		ERR_clear_error();
	}
	if (p->io.fd >= 0) {
		ev_io_stop(loop, &p->io);
		close(p->io.fd);
		p->io.fd = -1;
	}
	p->running = false;
	ev_timer_stop(loop, &p->timer);
	hc_report_why(p->g, p->s, r, detail, why, lbd_now_ms());
	/* a failed re-arm leaves the server unchecked: say so, once */
	if (ev_timer_start(loop, &p->timer, p->g->hc.interval_ms))
		log_err("health checks of upstream server %s of \"%s\" stopped: out of memory",
			p->s->name, p->g->name);
}

/* probe_begin - open the socket and start connecting; a synchronous
 * failure is the check's verdict. */
static void probe_begin(struct ev_loop *loop, struct hc_probe *p)
{
	const struct ups_server *s = p->s;
	int fd, err;

	p->running = true;
	p->connected = false;
	p->hs_done = false;
	p->reqoff = 0;
	p->len = 0;
	p->mlen = 0;
	p->blen = 0;
	p->in_body = false;
	fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		probe_finish(loop, p, UPS_HC_ERROR, errno, NULL);
		return;
	}
	ev_io_init(&p->io, fd, probe_io_cb, p);
	if (p->g->hc.tls && s->addr.ss_family != AF_UNIX) {
		int one = 1;

		/* the request follows the client's last handshake flight as a
		 * second small write: without this, Nagle holds it for the
		 * server's delayed ACK (40 ms) on every resumed handshake */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (connect(fd, (const struct sockaddr *)&s->addr, s->addrlen) == -1 &&
	    errno != EINPROGRESS) {
		probe_finish(loop, p, UPS_HC_REFUSED, errno, NULL);
		return;
	}
	err = ev_io_start(loop, &p->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
	if (err) {
		probe_finish(loop, p, UPS_HC_ERROR, -err, NULL);
		return;
	}
	if (ev_timer_start(loop, &p->timer, p->g->hc.timeout_ms))
		probe_finish(loop, p, UPS_HC_ERROR, ENOMEM, NULL);
}

static void probe_timer_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct hc_probe *p = t->data;

	if (p->running)
		probe_finish(loop, p, UPS_HC_TIMEOUT, 0, NULL);
	else
		probe_begin(loop, p);
}

/* p_recv, p_send - the socket's I/O, through TLS for checks over https. */
static ssize_t p_recv(struct hc_probe *p, void *buf, size_t len)
{
	if (p->tls)
		return tls_recv(p->tls, buf, len);
	return recv(p->io.fd, buf, len, 0);
}

static ssize_t p_send(struct hc_probe *p, const void *buf, size_t len)
{
	if (p->tls) {
		struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};

		return tls_writev(p->tls, &iov, 1);
	}
	return send(p->io.fd, buf, len, MSG_NOSIGNAL);
}

/* probe_send - push the request out; false when the check ended. */
static bool probe_send(struct ev_loop *loop, struct hc_probe *p)
{
	while (p->reqoff < p->reqlen) {
		ssize_t n = p_send(p, p->req + p->reqoff, p->reqlen - p->reqoff);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return true;
			/* a server may answer (an error status, say) and
			 * close before reading the request: its status
			 * line is the verdict */
			probe_recv(loop, p);
			if (p->running)
				probe_finish(loop, p, UPS_HC_CLOSED, 0, NULL);
			return false;
		}
		p->reqoff += (size_t)n;
	}
	return true;
}

/* body_take - keep what fits of N decoded body bytes at D. */
static void body_take(struct hc_probe *p, const char *d, size_t n)
{
	size_t k = LBD_MIN(n, (size_t)HC_MATCH_BODY_MAX - p->blen);

	memcpy(p->body + p->blen, d, k);
	p->blen += k;
}

/* body_feed - N raw body bytes at D: 1 when the verdict can be given (the
 * body ended or the bytes the conditions see are in), 0 for more, -1 for
 * a malformed chunked body. */
static int body_feed(struct hc_probe *p, const char *d, size_t n)
{
	switch (p->framing) {
	case HC_BODY_NONE:
		return 1;
	case HC_BODY_LENGTH: {
		size_t k = (size_t)LBD_MIN((uint64_t)n, p->left);

		body_take(p, d, k);
		p->left -= k;
		break;
	}
	case HC_BODY_CHUNKED:
		while (n && p->blen < HC_MATCH_BODY_MAX) {
			struct h1_str data;
			size_t used = 0;
			int rc = h1_parse_chunked(&p->chunked, d, n, &used, &data);

			if (rc == H1_CHUNK_DONE)
				return 1;
			if (rc == H1_INCOMPLETE)
				break;
			if (rc < 0)
				return -1;
			body_take(p, data.p, data.len);
			d += used;
			n -= used;
		}
		break;
	case HC_BODY_EOF:
		body_take(p, d, n);
		break;
	}
	return p->blen >= HC_MATCH_BODY_MAX || (p->framing == HC_BODY_LENGTH && !p->left);
}

/* probe_head - the head at mbuf parsed (HEAD bytes) into R: its verdict
 * when the body is not needed or already complete, else ready to read it.
 * false when the check ended. */
static bool probe_head(struct ev_loop *loop, struct hc_probe *p, const struct h1_response *r,
		       size_t head)
{
	const struct hc_match *m = p->g->hc.match;
	const struct h1_header *te, *cl;
	uint64_t len = 0;
	int rc;

	p->status = r->status;
	if (!hc_match_head(m, r->status, r->headers, r->nheaders)) {
		probe_finish(loop, p, UPS_HC_MATCH, r->status, NULL);
		return false;
	}
	if (!m->body) {
		probe_finish(loop, p, UPS_HC_OK, r->status, NULL);
		return false;
	}
	te = h1_find_header(r->headers, r->nheaders, "Transfer-Encoding");
	cl = h1_find_header(r->headers, r->nheaders, "Content-Length");
	if (r->status < 200 || r->status == 204 || r->status == 304) {
		p->framing = HC_BODY_NONE;
	} else if (te) {
		if (!h1_te_is_chunked(te->value)) {
			probe_finish(loop, p, UPS_HC_BAD, 0, NULL);
			return false;
		}
		p->framing = HC_BODY_CHUNKED;
		h1_chunked_init(&p->chunked);
	} else if (cl) {
		if (h1_parse_content_length(cl->value, &len)) {
			probe_finish(loop, p, UPS_HC_BAD, 0, NULL);
			return false;
		}
		p->framing = HC_BODY_LENGTH;
		p->left = len;
	} else {
		p->framing = HC_BODY_EOF;
	}
	p->in_body = true;
	rc = p->framing == HC_BODY_NONE || (p->framing == HC_BODY_LENGTH && !len)
		     ? 1
		     : body_feed(p, p->mbuf + head, p->mlen - head);
	if (rc == 0)
		return true;
	if (rc < 0)
		probe_finish(loop, p, UPS_HC_BAD, 0, NULL);
	else
		probe_finish(loop, p, hc_match_body(m, p->body, p->blen) ? UPS_HC_OK : UPS_HC_MATCH,
			     p->status, NULL);
	return false;
}

/* probe_recv_match - with match=: read the head (at most HC_MATCH_HEAD_MAX
 * bytes, HC_MATCH_HEADERS_MAX fields), then, when a condition reads the
 * body, its first HC_MATCH_BODY_MAX bytes, decoded. */
static void probe_recv_match(struct ev_loop *loop, struct hc_probe *p)
{
	const struct hc_match *m = p->g->hc.match;

	for (;;) {
		char *dst = p->in_body ? p->mbuf : p->mbuf + p->mlen;
		size_t room = p->in_body ? HC_MATCH_HEAD_MAX : HC_MATCH_HEAD_MAX - p->mlen;
		struct h1_header hdrs[HC_MATCH_HEADERS_MAX];
		struct h1_response r = {.headers = hdrs};
		ssize_t n;
		int rc;

		if (!room) {
			probe_finish(loop, p, UPS_HC_BAD, 0, NULL); /* head too large */
			return;
		}
		n = p_recv(p, dst, room);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				probe_finish(loop, p, UPS_HC_CLOSED, 0, NULL);
			return;
		}
		if (p->in_body) {
			if (n == 0 && p->framing != HC_BODY_EOF) {
				probe_finish(loop, p, UPS_HC_CLOSED, 0, NULL);
				return;
			}
			rc = n == 0 ? 1 : body_feed(p, dst, (size_t)n);
			if (rc == 0)
				continue;
			if (rc < 0)
				probe_finish(loop, p, UPS_HC_BAD, 0, NULL);
			else
				probe_finish(loop, p,
					     hc_match_body(m, p->body, p->blen) ? UPS_HC_OK
										: UPS_HC_MATCH,
					     p->status, NULL);
			return;
		}
		if (n == 0) {
			probe_finish(loop, p, UPS_HC_CLOSED, 0, NULL);
			return;
		}
		p->mlen += (size_t)n;
		rc = h1_parse_response(p->mbuf, p->mlen, &r, HC_MATCH_HEADERS_MAX);
		if (rc == H1_INCOMPLETE)
			continue;
		if (rc < 0) {
			probe_finish(loop, p, UPS_HC_BAD, 0, NULL);
			return;
		}
		if (!probe_head(loop, p, &r, (size_t)rc))
			return;
	}
}

/* probe_recv - read until the status line gives a verdict, the peer closes
 * or the socket runs dry. */
static void probe_recv(struct ev_loop *loop, struct hc_probe *p)
{
	const struct ups_hc *hc = &p->g->hc;
	int status, rc;

	if (hc->match) {
		probe_recv_match(loop, p);
		return;
	}
	for (;;) {
		ssize_t n = p_recv(p, p->buf + p->len, sizeof(p->buf) - p->len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				probe_finish(loop, p, UPS_HC_CLOSED, 0, NULL);
			return;
		}
		p->len += (size_t)n;
		rc = hc_parse_status_line(p->buf, p->len, &status);
		if (rc < 0) {
			probe_finish(loop, p, UPS_HC_BAD, 0, NULL);
		} else if (rc > 0) {
			bool ok = status >= hc->status_lo && status <= hc->status_hi;

			probe_finish(loop, p, ok ? UPS_HC_OK : UPS_HC_STATUS, status, NULL);
		} else if (n == 0) {
			probe_finish(loop, p, UPS_HC_CLOSED, 0, NULL);
		} else {
			/* a status line is 12 bytes: the buffer cannot fill first */
			continue;
		}
		return;
	}
}

/* probe_tls_failed - the handshake or the verification failed with ERR
 * (nginx's words): a verification failure keeps its X509 code for lbctl. */
static void probe_tls_failed(struct ev_loop *loop, struct hc_probe *p, const char *err)
{
	const struct hc_tls *t = p->g->hc.tls;
	SSL *ssl = tls_conn_ssl(p->tls);
	long rc = SSL_get_verify_result(ssl);
	char why[320];

	snprintf(why, sizeof(why), "%s while SSL handshaking", err);
	if (t->verify && rc != X509_V_OK)
		probe_finish(loop, p, UPS_HC_VERIFY, (int)rc, why);
	else if (t->verify && SSL_is_init_finished(ssl))
		probe_finish(loop, p, UPS_HC_VERIFY, -1, why);
	else
		probe_finish(loop, p, UPS_HC_TLS, 0, why);
}

/* probe_handshake - start or advance the TLS handshake; true once it is
 * done (the request may go), false while it waits or when it ended. */
static bool probe_handshake(struct ev_loop *loop, struct hc_probe *p)
{
	const struct hc_tls *t = p->g->hc.tls;
	char err[256] = "";
	enum tls_hs hs;

	if (!p->tls) {
		p->tls = upssl_client_new(t->ctx, p->io.fd, t->sni, t->reuse ? p->s : NULL);
		if (!p->tls) {
			probe_finish(loop, p, UPS_HC_ERROR, ENOMEM, NULL);
			return false;
		}
	}
	hs = upssl_client_handshake(p->tls, t->verify, t->vname, err, sizeof(err));
	if (hs == TLS_HS_FAILED) {
		probe_tls_failed(loop, p, err);
		return false;
	}
	if (hs != TLS_HS_DONE)
		return false;
	p->hs_done = true;
	return true;
}

static void probe_io_cb(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct hc_probe *p = io->data;

	if (!p->connected) {
		int err = 0;
		socklen_t elen = sizeof(err);

		if (!(revents & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
			err = errno;
		if (err) {
			probe_finish(loop, p, UPS_HC_REFUSED, err, NULL);
			return;
		}
		p->connected = true;
		if (p->g->hc.tcp) {
			probe_finish(loop, p, UPS_HC_OK, 0, NULL);
			return;
		}
	}
	if (p->g->hc.tls && !p->hs_done) {
		if (!probe_handshake(loop, p))
			return;
		/* the socket's edges went to the handshake: go on at once */
		if (probe_send(loop, p))
			probe_recv(loop, p);
		return;
	}
	if ((revents & EPOLLOUT) && !probe_send(loop, p))
		return;
	if (revents & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		probe_recv(loop, p);
}

/* ---- the thread ----------------------------------------------------------- */

static void hc_wake_cb(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	(void)io, (void)revents;
	loop->stop = true;
}

static void *hc_thread(void *arg)
{
	struct hc_checker *c = arg;
	int err = ev_run(&c->loop);

	if (err)
		log_err("health-check loop failed (%d: %s): checks stopped", -err, strerror(-err));
	return NULL;
}

/* hc_build_request - the GET of an http check, or NULL on OOM. */
static char *hc_build_request(const struct ups_group *g, const struct ups_server *s, size_t *len)
{
	char *req = NULL;
	int n = asprintf(&req,
			 "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
			 "User-Agent: lbd-health-check\r\n\r\n",
			 g->hc.uri ? g->hc.uri : "/",
			 /* nginx's Host for a unix socket: "unix:/x" is no valid host */
			 s->addr.ss_family == AF_UNIX ? "localhost" : s->name);

	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return req;
}

static void hc_free(struct hc_checker *c)
{
	for (int i = 0; i < c->nprobes; i++) {
		tls_conn_free(c->probes[i].tls);
		if (c->probes[i].io.fd >= 0)
			close(c->probes[i].io.fd);
		free(c->probes[i].req);
		free(c->probes[i].mbuf);
	}
	free(c->probes);
	if (c->efd >= 0)
		close(c->efd);
	ev_loop_fini(&c->loop);
	free(c);
}

int hc_start(struct ups_group *const *groups, int ngroups, struct hc_checker **out)
{
	struct hc_checker *c;
	int n = 0, err;

	*out = NULL;
	for (int i = 0; i < ngroups; i++)
		if (groups[i]->hc.enabled)
			for (int j = 0; j < groups[i]->nservers; j++)
				n += !groups[i]->servers[j].down;
	if (n == 0)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->efd = -1;
	err = ev_loop_init(&c->loop);
	if (err) {
		free(c);
		return err;
	}
	c->probes = calloc((size_t)n, sizeof(*c->probes));
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!c->probes || c->efd == -1) {
		err = c->probes ? -errno : -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < ngroups; i++) {
		struct ups_group *g = groups[i];

		if (!g->hc.enabled)
			continue;
		for (int j = 0; j < g->nservers; j++) {
			struct hc_probe *p = &c->probes[c->nprobes];

			if (g->servers[j].down)
				continue;
			c->nprobes++;
			p->hc = c;
			p->g = g;
			p->s = &g->servers[j];
			ev_io_init(&p->io, -1, probe_io_cb, p);
			ev_timer_init(&p->timer, probe_timer_cb, p);
			if (!g->hc.tcp) {
				p->req = hc_build_request(g, p->s, &p->reqlen);
				if (!p->req) {
					err = -ENOMEM;
					goto fail;
				}
			}
			if (!g->hc.tcp && g->hc.match) {
				p->mbuf = malloc(HC_MATCH_HEAD_MAX + HC_MATCH_BODY_MAX);
				if (!p->mbuf) {
					err = -ENOMEM;
					goto fail;
				}
				p->body = p->mbuf + HC_MATCH_HEAD_MAX;
			}
			/* the first check runs at once, as nginx Plus does */
			if (ev_timer_start(&c->loop, &p->timer, 0)) {
				err = -ENOMEM;
				goto fail;
			}
		}
	}
	ev_io_init(&c->eio, c->efd, hc_wake_cb, c);
	err = ev_io_start(&c->loop, &c->eio, EPOLLIN | EPOLLET);
	if (err)
		goto fail;
	err = -pthread_create(&c->tid, NULL, hc_thread, c);
	if (err)
		goto fail;
	*out = c;
	return 0;
fail:
	hc_free(c);
	return err;
}

void hc_stop(struct hc_checker *c)
{
	uint64_t one = 1;

	if (!c)
		return;
	/* an eventfd write of 1 cannot block or fail short */
	if (write(c->efd, &one, sizeof(one)) != sizeof(one))
		log_err("health-check thread wake-up failed (%d: %s)", errno, strerror(errno));
	pthread_join(c->tid, NULL);
	hc_free(c);
}
