/* SPDX-License-Identifier: MIT */
/*
 * The response side of a client request (HTTP/1.1, and an HTTP/2 stream's
 * through h2.c): status lines, the head built in c->out (Server, Date,
 * Connection, expires, add_header, add_trailer and the trailer section),
 * nginx's built-in pages for special responses, and the writers that take
 * c->out, a file range or a caller's bytes to the client: plain, TLS or a
 * stream, under limit_rate, or diverted (an embedded answer's, a
 * subrequest's). Which response to send and when the connection goes on
 * is http.c's.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "autoindex.h"
#include "buf.h"
#include "cfg.h"
#include "charset.h"
#include "embed.h"
#include "gunzip.h"
#include "h2.h"
#include "http.h"
#include "log.h"
#include "range.h"
#include "ratelimit.h"
#include "recode.h"
#include "subfilter.h"
#include "tls.h"
#include "tls_client.h"
#include "userid.h"
#include "var.h"
#include "http_int.h"

/* ---- status lines and pages ---------------------------------------------- */

struct status_text {
	int code;
	const char *text;
};

static const struct status_text statuses[] = {
	{100, "Continue"},
	{101, "Switching Protocols"},
	{200, "OK"},
	{201, "Created"},
	{202, "Accepted"},
	{204, "No Content"},
	{206, "Partial Content"},
	{301, "Moved Permanently"},
	{302, "Moved Temporarily"},
	{303, "See Other"},
	{304, "Not Modified"},
	{307, "Temporary Redirect"},
	{308, "Permanent Redirect"},
	{400, "Bad Request"},
	{401, "Unauthorized"},
	{402, "Payment Required"},
	{403, "Forbidden"},
	{404, "Not Found"},
	{405, "Not Allowed"},
	{406, "Not Acceptable"},
	{408, "Request Time-out"},
	{409, "Conflict"},
	{410, "Gone"},
	{411, "Length Required"},
	{412, "Precondition Failed"},
	{413, "Request Entity Too Large"},
	{414, "Request-URI Too Large"},
	{415, "Unsupported Media Type"},
	{416, "Requested Range Not Satisfiable"},
	{421, "Misdirected Request"},
	{429, "Too Many Requests"},
	{500, "Internal Server Error"},
	{501, "Not Implemented"},
	{502, "Bad Gateway"},
	{503, "Service Temporarily Unavailable"},
	{504, "Gateway Time-out"},
	{505, "HTTP Version Not Supported"},
	{507, "Insufficient Storage"},
};

static const char *status_text(int code)
{
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
		if (statuses[i].code == code)
			return statuses[i].text;
	return NULL;
}

const char *http_status_line(int status)
{
	static __thread char line[64];
	static __thread int last;
	const char *t;

	if (status == last)
		return line;
	t = status_text(status);
	snprintf(line, sizeof(line), "%d %s", status, t ? t : "");
	last = status;
	return line;
}

/* http_date - the current time as an HTTP date, cached per thread per second. */
const char *http_date(void)
{
	static __thread char buf[40];
	static __thread time_t last;
	time_t now = time(NULL);

	if (now != last) {
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		last = now;
	}
	return buf;
}

/* ---- buffers and output ---------------------------------------------------- */

int http_out_append(struct conn *c, const void *p, size_t n)
{
	if (buf_reserve(&c->out, n))
		return -ENOMEM;
	memcpy(c->out.data + c->out.end, p, n);
	c->out.end += n;
	return 0;
}

int http_head_addf(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (buf_reserve(&c->out, 256))
		return -ENOMEM;
	va_start(ap, fmt);
	n = vsnprintf(c->out.data + c->out.end, c->out.cap - c->out.end, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= c->out.cap - c->out.end) {
		if (buf_reserve(&c->out, (size_t)n + 1))
			return -ENOMEM;
		va_start(ap, fmt);
		vsnprintf(c->out.data + c->out.end, c->out.cap - c->out.end, fmt, ap);
		va_end(ap);
	}
	c->out.end += (size_t)n;
	return 0;
}

int http_head_add(struct conn *c, const char *name, size_t nlen, const char *val, size_t vlen)
{
	if (buf_reserve(&c->out, nlen + vlen + 4))
		return -ENOMEM;
	memcpy(c->out.data + c->out.end, name, nlen);
	c->out.end += nlen;
	memcpy(c->out.data + c->out.end, ": ", 2);
	c->out.end += 2;
	memcpy(c->out.data + c->out.end, val, vlen);
	c->out.end += vlen;
	memcpy(c->out.data + c->out.end, "\r\n", 2);
	c->out.end += 2;
	return 0;
}

static bool server_tokens(const struct conn *c)
{
	const struct cfg_loc *l = c->req.loc ? c->req.loc : c->req.srv ? &c->req.srv->loc : NULL;

	return !l || l->server_tokens;
}

int http_head_server(struct conn *c, bool tokens)
{
	static const char full[] = "Server: " LBD_NAME "/" LBD_VERSION "\r\n";
	static const char bare[] = "Server: " LBD_NAME "\r\n";

	return tokens ? http_out_append(c, full, sizeof(full) - 1)
		      : http_out_append(c, bare, sizeof(bare) - 1);
}

int http_head_date(struct conn *c)
{
	const char *d = http_date();

	return http_out_append(c, "Date: ", 6) || http_out_append(c, d, strlen(d)) ||
	       http_out_append(c, "\r\n", 2);
}

int http_head_start(struct conn *c, int status)
{
	const char *sl;

	if (c->req.err_status)
		status = c->req.err_status; /* error_page's code wins */
	sl = http_status_line(status);

	c->req.status = status;
	c->req.header_sent = true;
	c->req.head_at = c->out.end;
	if (http_out_append(c, "HTTP/1.1 ", 9) || http_out_append(c, sl, strlen(sl)) ||
	    http_out_append(c, "\r\n", 2) || http_head_server(c, server_tokens(c)) ||
	    http_head_date(c))
		return -ENOMEM;
	return 0;
}

static bool add_header_applies(int status)
{
	switch (status) {
	case 200:
	case 201:
	case 204:
	case 206:
	case 301:
	case 302:
	case 303:
	case 304:
	case 307:
	case 308:
		return true;
	default:
		return false;
	}
}

/* http_head_finish - Connection, add_header, and the empty line. */
bool http_expires_applies(const struct conn *c)
{
	const struct cfg_loc *l = c->req.loc;

	return l && cfg_expires_sets(l->expires_mode) && add_header_applies(c->req.status);
}

/* head_drop - header lines NAME out of the head being built in C's
 * buffer (past its status line). */
static void head_drop(struct conn *c, const char *name)
{
	size_t nl = strlen(name);
	char *p = c->out.data + c->out.start, *end = c->out.data + c->out.end;

	p = memchr(p, '\n', (size_t)(end - p));
	while (p && ++p < end) {
		char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			break;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
			memmove(p, eol + 1, (size_t)(end - eol - 1));
			end -= eol + 1 - p;
			c->out.end -= (size_t)(eol + 1 - p);
			p--; /* look at the line now here */
			continue;
		}
		p = eol;
	}
}

/* head_line_value - the value of head line NAME (lowercase, with its ':')
 * in the head being built in C's buffer, or {NULL, 0}. */
static struct lstr head_line_value(struct conn *c, const char *name)
{
	size_t nl = strlen(name);
	const char *p = c->out.data + c->out.start, *end = c->out.data + c->out.end;

	p = memchr(p, '\n', (size_t)(end - p));
	while (p && ++p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			break;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0) {
			const char *v = p + nl, *ve = eol;

			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			return (struct lstr){v, (size_t)(ve - v)};
		}
		p = eol;
	}
	return (struct lstr){NULL, 0};
}

/* head_last_modified - the Last-Modified of the head being built in C's
 * buffer, as seconds, or -1 (none, or not a date). */
static int64_t head_last_modified(struct conn *c)
{
	struct lstr v = head_line_value(c, "last-modified:");

	return v.p ? h1_http_time(v.p, v.len) : -1;
}

/* head_expires - nginx's `expires`: Expires and Cache-Control. With
 * variables the value is read now, once the head holds what it may look
 * at ($sent_http_content_type); one that is not "off" replaces the
 * Expires and Cache-Control already there, as nginx's filter does. */
static int head_expires(struct conn *c, const struct cfg_loc *l)
{
	int mode = l->expires_mode;
	int64_t secs = l->expires;
	char date[40];
	struct tm tm;
	time_t t;

	if (mode == 5) {
		struct lstr v;
		char *z;

		if (cval_eval(l->expires_var, c, &v) || !(z = pool_strndup(&c->pool, v.p, v.len)))
			return -ENOMEM;
		if (cfg_expires_parse(z, &mode, &secs)) {
			http_log(c, NULL, LOG_ERR, "invalid value \"%s\" in \"expires\"", z);
			return 0;
		}
		if (!cfg_expires_sets(mode) || !add_header_applies(c->req.status))
			return 0;
		head_drop(c, "expires");
		head_drop(c, "cache-control");
	}
	switch (mode) {
	case 1:
	case 6:
	case 7: {
		time_t now = time(NULL);
		int64_t lm = mode == 6 ? head_last_modified(c) : -1, max_age = secs;

		if (mode == 7) {
			/* nginx's ngx_next_time: that time of day, local time,
			 * today or else tomorrow */
			localtime_r(&now, &tm);
			tm.tm_hour = (int)(secs / 3600);
			tm.tm_min = (int)(secs % 3600 / 60);
			tm.tm_sec = (int)(secs % 60);
			tm.tm_isdst = -1;
			t = mktime(&tm);
			if (t <= now) {
				tm.tm_mday++;
				tm.tm_isdst = -1;
				t = mktime(&tm);
			}
			max_age = (int64_t)(t - now);
		} else if (lm != -1) {
			/* `modified`: from the answer's Last-Modified */
			t = (time_t)(lm + secs);
			max_age = (int64_t)(t - now);
		} else {
			t = now + secs;
		}
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (secs < 0 || max_age < 0)
			return http_head_addf(c, "Expires: %s\r\nCache-Control: no-cache\r\n",
					      date);
		return http_head_addf(c, "Expires: %s\r\nCache-Control: max-age=%lld\r\n", date,
				      (long long)max_age);
	}
	case 2:
		return http_head_addf(c, "Expires: Thu, 01 Jan 1970 00:00:01 GMT\r\n"
					 "Cache-Control: no-cache\r\n");
	case 3:
		return http_head_addf(c, "Expires: Thu, 31 Dec 2037 23:55:55 GMT\r\n"
					 "Cache-Control: max-age=315360000\r\n");
	default:
		return 0;
	}
}

bool http_trailers_wanted(const struct conn *c)
{
	const struct cfg_loc *l = c->req.loc ? c->req.loc : c->req.srv ? &c->req.srv->loc : NULL;
	int st = c->req.status;
	bool ok;

	/* an answer with additions (embed.c) is re-framed there: no trailers */
	if (!l || !l->add_trailers.n || c->req.head || c->sr_parent || c->req.emb || st < 200 ||
	    st == 204 || st == 304)
		return false;
	/* nginx's chunked filter: no chunks, no trailers (HTTP/1.0 clients,
	 * chunked_transfer_encoding off); HTTP/2 frames them itself */
	if (!c->h2s && (c->req.version < 11 || !l->chunked_transfer_encoding))
		return false;
	ok = add_header_applies(st);
	for (int i = 0; i < l->add_trailers.n; i++)
		if (ok || l->add_trailers.v[i].always)
			return true;
	return false;
}

/* trailer_head - nginx's headers filter sets r->expect_trailers and its
 * chunked filter sends the answer chunked even when its length is known
 * (Content-Length removed) so that the trailer section can follow the
 * last chunk. Here a known length becomes one chunk: its size line goes
 * right after the head (http_head_finish), the body's bytes leave as
 * they would have (sendfile included), and http_trailers_end closes the
 * chunk. An answer already chunked by its writer is left to it. One with
 * neither (ends with the connection) gets no trailers. */
static int trailer_head(struct conn *c, const struct cfg_loc *l)
{
	struct lstr cl;
	uint64_t n = 0;

	c->req.trl = NULL; /* decided for this head alone */
	c->req.trl_mode = HTTP_TRL_NONE;
	if (!http_trailers_wanted(c))
		return 0;
	c->req.trl = &l->add_trailers;
	if (c->h2s) {
		c->req.trl_mode = HTTP_TRL_H2; /* content-length kept, as nginx */
		return 0;
	}
	if (head_line_value(c, "transfer-encoding:").p) {
		c->req.trl_mode = HTTP_TRL_FRAMED;
		return 0;
	}
	cl = head_line_value(c, "content-length:");
	if (!cl.p || !cl.len) {
		c->req.trl = NULL;
		return 0;
	}
	for (size_t i = 0; i < cl.len; i++) {
		if (cl.p[i] < '0' || cl.p[i] > '9' || n > (UINT64_MAX - 9) / 10) {
			c->req.trl = NULL;
			return 0;
		}
		n = n * 10 + (uint64_t)(cl.p[i] - '0');
	}
	head_drop(c, "content-length");
	c->req.trl_mode = n ? HTTP_TRL_CHUNK : HTTP_TRL_FRAMED;
	c->req.trl_chunk = n;
	return http_out_append(c, "Transfer-Encoding: chunked\r\n", 28);
}

int http_trailers_end(struct conn *c)
{
	const struct hdr_list *t = c->req.trl;
	size_t mark = c->out.end;
	bool ok;
	int rc = 0;

	if (!t || c->req.trl_queued)
		return 0;
	c->req.trl_queued = true;
	if (c->req.trl_mode == HTTP_TRL_CHUNK)
		rc = http_out_append(c, "\r\n0\r\n", 5);
	else if (c->req.trl_mode == HTTP_TRL_FRAMED)
		rc = http_out_append(c, "0\r\n", 3);
	ok = add_header_applies(c->req.status);
	for (int i = 0; i < t->n && !rc; i++) {
		const struct hdr_set *h = &t->v[i];
		struct lstr v;

		if (!ok && !h->always)
			continue;
		if (cval_eval(&h->value, c, &v))
			return -ENOMEM;
		if (v.len) /* an empty value: not sent, as nginx */
			rc = http_head_add(c, h->name, h->namelen, v.p, v.len);
	}
	if (rc)
		return rc;
	if (c->req.trl_mode == HTTP_TRL_H2) {
		/* the fields only, out of c->out into the stream's trailers */
		rc = h2_trailers_add(c, c->out.data + mark, c->out.end - mark);
		c->out.end = mark;
		return rc;
	}
	return http_out_append(c, "\r\n", 2);
}

int http_head_finish(struct conn *c, bool add_headers)
{
	const struct cfg_loc *l = c->req.loc ? c->req.loc : c->req.srv ? &c->req.srv->loc : NULL;
	int rc;

	if (unlikely(c->req.cs_fail)) {
		/* nginx's charset filter failed the head (`charset $x`, $x not
		 * found): nothing is sent, the caller closes the connection;
		 * the log line has the status and no body bytes */
		c->req.body_bytes_sent = 0;
		http_log_phase(c);
		return -ECANCELED;
	}
	/* add_before_body / add_after_body: the head's edits (embed.c) */
	if (unlikely((l && (l->add.on || l->ssi.on == 1 || c->req.slice_set)) || c->sr_parent) &&
	    embed_head(c))
		return -ENOMEM;
	if (!http_keepalive_ok(c))
		c->close_after = true;
	if (c->req.status == 101) /* the connection becomes a tunnel */
		rc = http_out_append(c, "Connection: upgrade\r\n", 21);
	else if (c->close_after)
		rc = http_out_append(c, "Connection: close\r\n", 19);
	else
		rc = http_out_append(c, "Connection: keep-alive\r\n", 24);
	/* X-Accel-Redirect: the upstream's headers nginx keeps */
	for (int i = 0; i < c->req.nxar_hdrs && !rc; i++)
		rc = http_head_add(c, c->req.xar_hdrs[2 * i].p, c->req.xar_hdrs[2 * i].len,
				   c->req.xar_hdrs[2 * i + 1].p, c->req.xar_hdrs[2 * i + 1].len);
	/* auth_basic's or auth_request's challenge: in nginx's headers_out
	 * from then on, so also on what an error_page for the 401 answers */
	if (!rc && c->req.resp_www_auth.len)
		rc = http_head_add(c, "WWW-Authenticate", 16, c->req.resp_www_auth.p,
				   c->req.resp_www_auth.len);
	if (add_headers && !rc &&
	    (http_expires_applies(c) || (c->req.loc && c->req.loc->expires_mode == 5)))
		rc = head_expires(c, c->req.loc);
	if (add_headers && l) {
		bool ok = add_header_applies(c->req.status);

		for (int i = 0; i < l->add_headers.n && !rc; i++) {
			const struct hdr_set *h = &l->add_headers.v[i];
			struct lstr v;

			if (!ok && !h->always)
				continue;
			if (cval_eval(&h->value, c, &v))
				return -ENOMEM;
			if (v.len)
				rc = http_head_add(c, h->name, h->namelen, v.p, v.len);
		}
	}
	/* nginx's userid filter runs after the headers one: its Set-Cookie
	 * and P3P follow add_header's */
	if (!rc && l && unlikely(l->userid.enable >= USERID_V1))
		rc = userid_head(c);
	if (add_headers && !rc && l && unlikely(l->add_trailers.n))
		rc = trailer_head(c, l);
	rc = rc ? rc : http_out_append(c, "\r\n", 2);
	if (!rc && (var_wants_sent_head || unlikely(c->sr_parent))) {
		/* $sent_http_*: the head outlives the buffer it is sent from */
		size_t n = c->out.end - c->out.start;
		char *h = pool_alloc(&c->pool, n);

		if (!h)
			return -ENOMEM;
		memcpy(h, c->out.data + c->out.start, n);
		c->req.sent_head = (struct lstr){h, n};
	}
	if (!rc && unlikely(c->req.trl_mode == HTTP_TRL_CHUNK))
		rc = http_head_addf(c, "%llx\r\n", (unsigned long long)c->req.trl_chunk);
	return rc;
}

struct lstr http_sent_head(const struct conn *c)
{
	if (c->req.sent_head.p)
		return c->req.sent_head;
	/* being built (add_header, expires): what is in the buffer so far */
	if (c->out.data && c->out.end > c->out.start)
		return (struct lstr){c->out.data + c->out.start, c->out.end - c->out.start};
	return (struct lstr){NULL, 0};
}

/* ---- client I/O: plaintext or TLS, same contracts ------------------------------ */

ssize_t conn_recv(struct conn *c, void *buf, size_t len)
{
	if (unlikely(c->h2s))
		return h2_recv(c, buf, len, false);
	if (unlikely(c->tls))
		return tls_recv(c->tls, buf, len);
	return recv(c->io.fd, buf, len, 0);
}

ssize_t conn_peek(struct conn *c, void *buf, size_t len)
{
	if (unlikely(c->h2s))
		return h2_recv(c, buf, len, true);
	if (unlikely(c->tls))
		return tls_peek(c->tls, buf, len);
	return recv(c->io.fd, buf, len, MSG_PEEK);
}

ssize_t http_sock_writev(struct conn *c, struct iovec *iov, int n)
{
	ssize_t w;

	do {
		if (unlikely(c->h2s))
			w = h2_writev(c, iov, n);
		else
			w = unlikely(c->tls) ? tls_writev(c->tls, iov, n)
					     : writev(c->io.fd, iov, n);
	} while (w == -1 && errno == EINTR);
	if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		c->writable = false;
	return w;
}

static ssize_t writev_raw(struct conn *c, struct iovec *iov, int n)
{
	ssize_t w;

	if (unlikely(c->req.emb))
		return embed_writev(c, iov, n); /* into the main answer (embed.h) */
	if (unlikely(c->sr_parent)) {
		/* a subrequest's answer goes nowhere (authreq.h) */
		w = 0;
		for (int i = 0; i < n; i++)
			w += (ssize_t)iov[i].iov_len;
		return w;
	}
	return http_sock_writev(c, iov, n);
}

ssize_t http_writev(struct conn *c, struct iovec *iov, int n)
{
	ssize_t w;

	if (likely(c->req.rate.mode == RATE_OFF)) {
		w = writev_raw(c, iov, n);
	} else {
		/* limit_rate, or not decided yet (ratelimit.c) */
		n = rate_cap_iov(c, iov, n);
		if (!n)
			return -1;
		w = writev_raw(c, iov, n);
		if (w > 0)
			rate_sent(c, (size_t)w);
	}
	if (unlikely(w < 0) && errno != EAGAIN && errno != EINTR)
		c->req.send_failed = true; /* $request_completion */
	return w;
}

/* A big file (static, cache hit) goes out with the socket's unsent bytes
 * kept under HTTP_LOWAT (TCP_NOTSENT_LOWAT): sendfile(2) then queues only
 * what the peer's window takes soon, and lbd's own writes transmit it.
 * Without it one sendfile queues up to the whole send buffer (MiBs), the
 * receiver's window closes, and the rest is transmitted from the
 * receiver's ACKs, in softirq on the client's CPU: on loopback that made
 * 1 MiB cache hits 0.8-0.96x nginx's rate (nginx writes 32 KiB at a time),
 * 1.4-2.0x with it (bench/README.md, Proxy cache hits). A proxied body
 * that goes on (http_writev_more) likewise, under HTTP_LOWAT_RELAY: with
 * MiBs queued, each window the client opened was filled at once from its
 * own ACK, on its CPU, and its window kept closing (bench/README.md,
 * "An unsent cap on proxied bodies"). What the socket does not take goes
 * to the proxy buffers and temp file, as nginx's buffering does once the
 * socket is full. Reset when the response ends. */
#define HTTP_LOWAT_FILE	 (64 * 1024) /* remaining file bytes that turn it on */
#define HTTP_LOWAT	 (16 * 1024)
#define HTTP_LOWAT_RELAY (64 * 1024)

/* http_lowat - TCP_NOTSENT_LOWAT V on the client socket (0: the system's
 * default again); c->lowat says it is set. */
void http_lowat(struct conn *c, int v)
{
	if (setsockopt(c->io.fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof(v)) == 0)
		c->lowat = v != 0;
}

ssize_t http_writev_more(struct conn *c, struct iovec *iov, int n)
{
	if (unlikely(c->h2s || c->tls || c->req.rate.mode != RATE_OFF || c->req.emb ||
		     c->sr_parent))
		return http_writev(c, iov, n);

	struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
	ssize_t w;

	/* a body that goes on: the socket's unsent bytes kept under
	 * HTTP_LOWAT_RELAY (see above) */
	if (unlikely(!c->lowat))
		http_lowat(c, HTTP_LOWAT_RELAY);
	do
		w = sendmsg(c->io.fd, &m, MSG_MORE);
	while (w == -1 && errno == EINTR);
	if (w == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			c->writable = false;
		else
			c->req.send_failed = true;
	}
	return w;
}

void http_push(struct conn *c)
{
	int one = 1;

	if (!c->h2s && !c->tls)
		setsockopt(c->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static ssize_t sendfile_raw(struct conn *c, int fd, off_t *off, size_t n)
{
	if (unlikely(c->req.emb))
		return embed_sendfile(c, fd, off, n);
	if (unlikely(c->sr_parent)) {
		*off += (off_t)n; /* a subrequest's answer goes nowhere */
		return (ssize_t)n;
	}
	return unlikely(c->h2s)	  ? h2_sendfile(c, fd, off, n)
	       : unlikely(c->tls) ? tls_sendfile(c->tls, fd, off, n)
				  : sendfile(c->io.fd, fd, off, n);
}

ssize_t http_sendfile(struct conn *c, int fd, off_t *off, size_t n)
{
	ssize_t w;

	if (likely(c->req.rate.mode == RATE_OFF)) {
		w = sendfile_raw(c, fd, off, n);
	} else {
		n = rate_cap(c, n);
		if (!n)
			return -1;
		w = sendfile_raw(c, fd, off, n);
		if (w > 0)
			rate_sent(c, (size_t)w);
	}
	if (unlikely(w < 0) && errno != EAGAIN && errno != EINTR)
		c->req.send_failed = true; /* $request_completion */
	return w;
}

/* http_flush_out - write c->out only: 1 done, 0 again later, -errno. */
static int http_flush_out(struct conn *c)
{
	while (c->out.end > c->out.start) {
		struct iovec iov = {c->out.data + c->out.start, c->out.end - c->out.start};
		ssize_t w = http_writev(c, &iov, 1);

		if (w == -1)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		c->out.start += (size_t)w;
		c->req.bytes_sent += (uint64_t)w;
	}
	c->out.start = c->out.end = 0;
	return 1;
}

/* Bytes of a file read into c->out at a time when they are recoded. */
#define HTTP_RECODE_PIECE (16 * 1024)

/* file_recoded - the next piece of the file range into c->out, recoded
 * in place through c->req.rc_sb (nginx's charset filter recodes a
 * single-byte body in memory, the length kept). 0 or -errno. */
static int file_recoded(struct conn *c)
{
	size_t want = (size_t)LBD_MIN(c->file_end - c->file_off, (off_t)HTTP_RECODE_PIECE);
	ssize_t n;

	if (buf_reserve(&c->out, want))
		return -ENOMEM;
	n = http_file_read(c, c->out.data + c->out.end, want);
	if (n < 0)
		return (int)n;
	recode_sb(c->req.rc_sb, c->out.data + c->out.end, (size_t)n);
	c->out.end += (size_t)n;
	c->req.body_bytes_sent += (uint64_t)n;
	return 0;
}

/* http_flush - write c->out, then the file range. 1 done, 0 again later,
 * -errno when the client is gone. */
int http_flush(struct conn *c)
{
	int rc;

again:
	rc = http_flush_out(c);
	if (rc != 1)
		return rc;
	if (unlikely(c->req.ai) && autoindex_next(c))
		goto again;
	if (unlikely(c->req.rc_sb) && c->file_fd >= 0 && c->file_off < c->file_end) {
		rc = file_recoded(c);
		if (rc)
			return rc;
		goto again;
	}
	if (unlikely(c->req.sf.ctx) && c->file_fd >= 0)
		return subfilter_send_file(c); /* gzip too, after it */
	if (unlikely(c->req.gz.ctx) && c->file_fd >= 0)
		return gzip_send_file(c);
	if (unlikely(c->req.gu.ctx) && c->file_fd >= 0)
		return gunzip_send_file(c);
	if (!c->h2s && !c->tls && !c->lowat && c->file_fd >= 0 &&
	    c->file_end - c->file_off >= HTTP_LOWAT_FILE)
		http_lowat(c, HTTP_LOWAT);
	while (c->file_fd >= 0 && c->file_off < c->file_end) {
		size_t n = (size_t)LBD_MIN(c->file_end - c->file_off, (off_t)(1 << 20));
		ssize_t w = http_sendfile(c, c->file_fd, &c->file_off, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				c->writable = false;
				return 0;
			}
			return -errno;
		}
		if (w == 0)
			return -EIO; /* file shrank under us */
		c->req.bytes_sent += (uint64_t)w;
		c->req.body_bytes_sent += (uint64_t)w;
	}
	/* multipart byteranges: the next part's header and slice */
	if (unlikely(c->req.rng) && range_next(c))
		goto again;
	return 1;
}

ssize_t http_file_read(struct conn *c, char *buf, size_t cap)
{
	size_t want = (size_t)LBD_MIN(c->file_end - c->file_off, (off_t)cap);
	ssize_t n;

	do
		n = pread(c->file_fd, buf, want, c->file_off);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -errno;
	if (n == 0)
		return -EIO; /* the file shrank under us */
	c->file_off += n;
	return n;
}

int http_send_pending(struct conn *c, const char **p, size_t *len)
{
	while (*len) {
		struct iovec iov = {(void *)(uintptr_t)*p, *len};
		ssize_t w = http_writev(c, &iov, 1);

		if (w == -1)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		*p += w;
		*len -= (size_t)w;
		c->req.bytes_sent += (uint64_t)w;
		c->req.body_bytes_sent += (uint64_t)w;
	}
	return 1;
}

/* http_send_body - flush the queued response; finish when written. */
void http_send_body(struct conn *c)
{
	int rc;

	c->state = CS_WRITE;
	if (unlikely(c->req.trl_queued))
		rc = http_flush_out(c); /* the trailer section, after the body */
	else
		rc = http_flush(c);
	if (rc == 1 && unlikely(c->req.trl) && !c->req.trl_queued) {
		/* the body is out: the last chunk and the trailers */
		rc = http_trailers_end(c) ? -ENOMEM : http_flush_out(c);
	}
	if (rc < 0) {
		c->close_after = true;
		http_response_done(c);
		return;
	}
	if (rc == 0) {
		conn_arm_timer(c, c->req.loc ? c->req.loc->send_timeout : 60000);
		return;
	}
	http_response_done(c);
}

void http_builtin_page(struct conn *c, int status)
{
	const char *t, *title;
	char body[512];
	int blen = 0, wire = status;
	const char *sig = server_tokens(c) ? LBD_NAME "/" LBD_VERSION : LBD_NAME;

	/* nginx's internal codes go out as 400 */
	if (status == HTTP_STATUS_REQ_HEADER_TOO_LARGE || status == HTTP_STATUS_TO_HTTPS ||
	    status == HTTP_STATUS_CERT_ERROR || status == HTTP_STATUS_NO_CERT)
		wire = 400;
	t = status_text(wire);
	/* nginx's pages name two codes unlike its status lines */
	title = wire == 401 ? "Authorization Required" : wire == 302 ? "Found" : t ? t : "";
	if (status == HTTP_STATUS_REQ_HEADER_TOO_LARGE)
		blen = snprintf(
			body, sizeof(body),
			"<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n"
			"<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n"
			"<center>Request Header Or Cookie Too Large</center>\r\n"
			"<hr><center>%s</center>\r\n</body>\r\n</html>\r\n",
			sig);
	else if (status == HTTP_STATUS_TO_HTTPS || status == HTTP_STATUS_CERT_ERROR ||
		 status == HTTP_STATUS_NO_CERT) {
		const char *why = status == HTTP_STATUS_TO_HTTPS
					  ? "The plain HTTP request was sent to HTTPS port"
				  : status == HTTP_STATUS_CERT_ERROR
					  ? "The SSL certificate error"
					  : "No required SSL certificate was sent";

		blen = snprintf(body, sizeof(body),
				"<html>\r\n<head><title>400 %s</title></head>\r\n"
				"<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n"
				"<center>%s</center>\r\n"
				"<hr><center>%s</center>\r\n</body>\r\n</html>\r\n",
				why, why, sig);
	} else if (status >= 300 && status != 304 && t) /* nginx has no page for others */
		blen = snprintf(body, sizeof(body),
				"<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
				"<center><h1>%d %s</h1></center>\r\n<hr><center>%s</center>\r\n"
				"</body>\r\n</html>\r\n",
				wire, title, wire, title, sig);
	/* sub_filter before gzip (subfilter.c) */
	int sf = blen > 0 ? subfilter_begin_len(c, wire, LSTR("text/html"), blen, false) : 0;
	struct gzip_resp gr = {.status = wire,
			       .length = sf && !c->req.sf.sb ? -1 : blen, /* sb: the length stays */
			       .content_type = LSTR("text/html")};
	int gz = sf < 0 ? sf : blen > 0 ? gzip_begin(c, &gr) : 0;
	size_t sent = (size_t)blen;

	subfilter_start(c);
	if (gz < 0 || http_head_start(c, wire))
		goto fail;
	struct lstr ct = charset_ctype(c,
				       c->req.loc   ? c->req.loc
				       : c->req.srv ? &c->req.srv->loc
						    : NULL,
				       wire, LSTR("text/html"), false);

	if (blen > 0 &&
	    (http_head_addf(c, "Content-Type: %.*s\r\n", (int)ct.len, ct.p) ||
	     (!gz && (!sf || c->req.sf.sb) && http_head_addf(c, "Content-Length: %d\r\n", blen))))
		goto fail;
	/* no page: an empty body, said so (else keep-alive clients wait) */
	if (blen == 0 && wire >= 200 && wire != 204 && wire != 304 &&
	    http_head_addf(c, "Content-Length: 0\r\n"))
		goto fail;
	if (c->req.resp_location.len &&
	    http_head_add(c, "Location", 8, c->req.resp_location.p, c->req.resp_location.len))
		goto fail;
	if (c->req.resp_content_range.len &&
	    http_head_add(c, "Content-Range", 13, c->req.resp_content_range.p,
			  c->req.resp_content_range.len))
		goto fail;
	if (gzip_head_add(c) || subfilter_head_add(c) || http_head_finish(c, true))
		goto fail;
	if (blen > 0 && !c->req.head) {
		if (c->req.sf.ctx   ? subfilter_mem(c, body, (size_t)blen, &sent)
		    : c->req.gz.ctx ? gzip_mem(c, body, (size_t)blen, &sent)
				    : http_out_append(c, body, (size_t)blen))
			goto fail;
		c->req.body_bytes_sent = sent;
	}
	http_send_body(c);
	return;
fail:
	conn_close(c);
}
