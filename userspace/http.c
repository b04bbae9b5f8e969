/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 client connections: reading and checking each request (strict,
 * as nginx 1.22 answers), choosing the server block and the location,
 * running the rewrite and access phases, and writing special responses,
 * redirects and error pages. Owns struct conn from accept to close; the
 * proxy (proxy.c) and static files (static.c) produce content for it.
 *
 * Connections are freed only through ev_defer(), never inside their own
 * callbacks (see ev.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "alog.h"
#include "auth.h"
#include "authreq.h"
#include "dav.h"
#include "mirror.h"
#include "autoindex.h"
#include "cache.h"
#include "ban.h"
#include "charset.h"
#include "emptygif.h"
#include "f2b.h"
#include "h2.h"
#include "cfg.h"
#include "gunzip.h"
#include "embed.h"
#include "gzip.h"
#include "subfilter.h"
#include "http.h"
#include "limit.h"
#include "log.h"
#include "resolver.h"
#include "pbuf.h"
#include "ocsp_client.h"
#include "pproto.h"
#include "range.h"
#include "recode.h"
#include "ratelimit.h"
#include "realip.h"
#include "sockaddr.h"
#include "stats.h"
#include "status.h"
#include "steer.h"
#include "tls.h"
#include "tls_client.h"
#include "userid.h"
#include "var.h"
#include "reqbody.h"
#include "store.h"
#include "worker.h"

#define HTTP_STATUS_REQ_HEADER_TOO_LARGE 494 /* nginx's internal code, sent as 400 */
#define HTTP_STATUS_TO_HTTPS		 497 /* nginx's: plain HTTP to a TLS port, sent as 400 */
#define HTTP_MAX_URI_CHANGES		 10
#define HTTP_IN_INITIAL			 4096

static void read_head(struct conn *c);
static const struct tls_conf *http_sni(void *arg, const char *name, size_t len);
static int http_tls_eval(void *arg, const void *val, const char **p, size_t *len);
static void linger_read(struct conn *c);
static void discard_read(struct conn *c);
static void discard_pump(struct conn *c, bool writing);
static void next_request(struct conn *c);
static void process_request(struct conn *c);
static void find_config(struct conn *c);
static void ip_release(struct rl_node *slot);
static void log_phase(struct conn *c);
static void run_access(struct conn *c);
static void delay_client_closed(struct conn *c);

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

static int buf_reserve(struct buf *b, size_t need)
{
	char *d;
	size_t cap;

	if (b->cap - b->end >= need)
		return 0;
	if (b->start > 0 && b->cap - (b->end - b->start) >= need) {
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
		return 0;
	}
	cap = b->cap ? b->cap : 1024;
	while (cap - (b->end - b->start) < need)
		cap *= 2;
	d = realloc(b->data, cap);
	if (!d)
		return -ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

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

static bool keepalive_ok(struct conn *c)
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
		log_phase(c);
		return -ECANCELED;
	}
	/* add_before_body / add_after_body: the head's edits (embed.c) */
	if (unlikely((l && (l->add.on || l->ssi.on == 1 || c->req.slice_set)) || c->sr_parent) &&
	    embed_head(c))
		return -ENOMEM;
	if (!keepalive_ok(c))
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

ssize_t http_writev_more(struct conn *c, struct iovec *iov, int n)
{
	if (unlikely(c->h2s || c->tls || c->req.rate.mode != RATE_OFF || c->req.emb ||
		     c->sr_parent))
		return http_writev(c, iov, n);

	struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
	ssize_t w;

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

/* A big file (static, cache hit) goes out with the socket's unsent bytes
 * kept under HTTP_LOWAT (TCP_NOTSENT_LOWAT): sendfile(2) then queues only
 * what the peer's window takes soon, and lbd's own writes transmit it.
 * Without it one sendfile queues up to the whole send buffer (MiBs), the
 * receiver's window closes, and the rest is transmitted from the
 * receiver's ACKs, in softirq on the client's CPU: on loopback that made
 * 1 MiB cache hits 0.8-0.96x nginx's rate (nginx writes 32 KiB at a time),
 * 1.4-2.0x with it (bench/README.md, Proxy cache hits). Reset when the
 * response ends: proxied responses keep the default. */
#define HTTP_LOWAT_FILE (64 * 1024) /* remaining file bytes that turn it on */
#define HTTP_LOWAT	(16 * 1024)

static void file_lowat(struct conn *c, int v)
{
	if (setsockopt(c->io.fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof(v)) == 0)
		c->lowat = v != 0;
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
		file_lowat(c, HTTP_LOWAT);
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

/* conn_stat - what the connection is doing, for stub_status. */
static void conn_stat(struct conn *c, int st)
{
	stats_conn_state(c->stat_state, st);
	c->stat_state = st;
}

/* ---- connection life ----------------------------------------------------------- */

/* log_phase - nginx's log phase of a finished request: the access log,
 * the counters, and fail2ban (which may ban the client). */
static void log_phase(struct conn *c)
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
		file_lowat(c, 0); /* 0: the system's default again */
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
		log_phase(c);
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
	ev_io_stop(&w->loop, &c->io);
	/* before close(): once the peer sees the close, the load is down */
	steer_conn_closed(w->id);
	tls_conn_free(c->tls);
	c->tls = NULL;
	close(c->io.fd);
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
			log_phase(c);
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
 * it is for other families). */
static void peer_text(const struct conn *c, char *buf, size_t len)
{
	if (c->peer.ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&c->peer)->sin_addr, buf,
			  (socklen_t)len);
	else if (c->peer.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&c->peer)->sin6_addr, buf,
			  (socklen_t)len);
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

static const char *head_ctx(struct conn *c);

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
			 head_ctx(c));
	else
		http_log(c, NULL, (enum log_level)level, "%s", msg);
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
			read_head(c);
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
			read_head(c);
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
			read_head(c);
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
		 const struct sockaddr_storage *peer, socklen_t peerlen)
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
	if (lg->default_srv->loc.tcp_nodelay)
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

/* ---- request head ------------------------------------------------------------- */

/* head_limit - the most bytes a request head can take in nginx's buffers
 * (h1_head_fit()): the first one and all the large ones, of whichever
 * server Host names. */
static size_t head_limit(const struct conn *c)
{
	return c->lg->head_max;
}

static void bad_request(struct conn *c, int status)
{
	c->close_after = true;
	c->req.keepalive = false;
	http_finalize(c, status);
}

static void head_gone(struct conn *c, ssize_t n, int err);

static void read_head(struct conn *c)
{
	size_t limit = head_limit(c) + 1024;

again:
	for (;;) {
		ssize_t n;

		if (c->in.cap - c->in.end == 0) {
			size_t want = c->in.cap ? c->in.cap * 2 : HTTP_IN_INITIAL;

			if (c->in.cap >= limit)
				break; /* the parser has already refused it */
			if (want > limit)
				want = limit;
			char *d = realloc(c->in.data, want);

			if (!d) {
				conn_close(c);
				return;
			}
			c->in.data = d;
			c->in.cap = want;
		}
		n = conn_recv(c, c->in.data + c->in.end, c->in.cap - c->in.end);
		if (n == 0) {
			c->peer_closed = true;
			head_gone(c, 0, 0);
			return;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->readable = false;
				break;
			}
			head_gone(c, -1, errno);
			return;
		}
		c->in.end += (size_t)n;
		if (c->stat_state == STATS_WAITING)
			conn_stat(c, STATS_READING);
		/* A short read drained the socket: with edge-triggered epoll the
		 * next bytes raise a new event, so don't recv() again for EAGAIN.
		 * Not once the client's FIN was reported (it may have come with
		 * these bytes): the next read finds the end, and a keep-alive
		 * connection is closed then instead of idling to its timeout. */
		if (c->in.end < c->in.cap && !c->peer_hup)
			c->readable = false;
		if (c->state == CS_KEEPALIVE) {
			c->state = CS_READ_HEAD;
			conn_arm_timer(c, c->lg->default_srv->client_header_timeout);
		}
		if (c->in.end < c->in.cap)
			break; /* drained the socket (likely); parse what we have */
	}
	/* `listen ... http2` without ssl: HTTP/2 by prior knowledge */
	if (unlikely(c->lg->http2) && !c->tls && c->requests == 0 && !c->h2s) {
		int m = h2_preface_match(c->in.data + c->in.start, c->in.end - c->in.start);

		if (m > 0) {
			conn_stat(c, STATS_WAITING); /* its streams count as requests */
			h2_conn_start(c);
			return;
		}
		if (m == 0)
			return; /* a prefix of the preface: wait for the rest */
	}
	if (c->in.end > c->in.start)
		process_request(c);
	/* An unfinished head that left the socket unread: the buffer was
	 * full and empty lines were dropped from it (head_blank), or the
	 * client's FIN (or close_notify) came with its last bytes. Read on
	 * now: edge-triggered epoll raises no new event for what waits. */
	if (c->state == CS_READ_HEAD && !c->dead &&
	    unlikely((c->readable && (c->in.end < c->in.cap || c->peer_hup)) ||
		     (c->tls && tls_conn_peer_closed(c->tls)))) {
		c->readable = true;
		goto again;
	}
}

static int hex(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

bool http_unsafe_uri(struct conn *c, struct lstr v, struct lstr *path, struct lstr *args)
{
	const char *q = memchr(v.p, '?', v.len);
	size_t plen = q ? (size_t)(q - v.p) : v.len, o = 0;
	char *out = pool_alloc(&c->pool, plen + 1);

	if (!out || !plen || v.p[0] != '/')
		return false;
	for (size_t i = 0; i < plen; i++) {
		int ch = (unsigned char)v.p[i];

		if (ch == '%') {
			int hi = i + 2 < plen ? hex(v.p[i + 1]) : -1;
			int lo = i + 2 < plen ? hex(v.p[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return false;
			ch = hi * 16 + lo;
			i += 2;
		}
		if (ch == 0)
			return false;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	/* a ".." segment anywhere */
	for (size_t i = 0; i + 1 < o; i++)
		if (out[i] == '.' && out[i + 1] == '.' && (i == 0 || out[i - 1] == '/') &&
		    (i + 2 == o || out[i + 2] == '/'))
			return false;
	*path = (struct lstr){out, o};
	*args = q ? (struct lstr){q + 1, v.len - plen - 1} : (struct lstr){"", 0};
	return true;
}

/* parse_uri - split the target into path and args, percent-decode the path
 * and normalize it ("//", "/./", "/../"), as nginx does. A '#' ends both
 * (a fragment is no part of $uri or $args; $request_uri keeps it, and a
 * '?' after it starts no arguments). 0, or 400. */
static int parse_uri_in(struct conn *c, const char *t, size_t len, bool merge_slashes);

static int parse_uri(struct conn *c, const char *t, size_t len, bool merge_slashes)
{
	int rc = parse_uri_in(c, t, len, merge_slashes);

	/* a target that does not decode (a bad %XX, "/../" past the root):
	 * nginx has set $uri's storage and logs it empty, $args not found */
	if (rc == 400 && !c->req.u.uri.p) {
		c->req.u.uri = (struct lstr){"", 0};
		c->req.u.args = (struct lstr){NULL, 0};
	}
	return rc;
}

static int parse_uri_in(struct conn *c, const char *t, size_t len, bool merge_slashes)
{
	struct http_req *r = &c->req;
	const char *frag = memchr(t, '#', len);
	size_t flen = frag ? (size_t)(frag - t) : len;
	const char *q = memchr(t, '?', flen);
	size_t plen = q ? (size_t)(q - t) : flen;
	char *out = pool_alloc(&c->pool, plen + 1);
	size_t o = 0;

	if (!out)
		return 500;
	if (plen == 0 || t[0] != '/')
		return 400;
	for (size_t i = 0; i < plen; i++) {
		int ch = (unsigned char)t[i];

		if (ch == '%') {
			int h1, h2;

			if (i + 2 >= plen)
				return 400;
			h1 = hex((unsigned char)t[i + 1]);
			h2 = hex((unsigned char)t[i + 2]);
			if (h1 < 0 || h2 < 0)
				return 400;
			ch = h1 * 16 + h2;
			if (ch == 0)
				return 400;
			i += 2;
		}
		if (ch == '/' && merge_slashes && o > 0 && out[o - 1] == '/')
			continue;
		out[o++] = (char)ch;
		/* Resolve dot segments once a segment ends. */
		if (ch == '/' || i + 1 == plen) {
			size_t end = ch == '/' ? o - 1 : o;
			size_t segstart = end;

			while (segstart > 0 && out[segstart - 1] != '/')
				segstart--;
			size_t seglen = end - segstart;

			if (seglen == 1 && out[segstart] == '.') {
				o = segstart;
			} else if (seglen == 2 && out[segstart] == '.' &&
				   out[segstart + 1] == '.') {
				size_t prev;

				if (segstart < 2)
					return 400;
				prev = segstart - 1;
				while (prev > 0 && out[prev - 1] != '/')
					prev--;
				o = prev;
			}
		}
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	r->u.uri = (struct lstr){out, o};
	r->u.args = q ? (struct lstr){q + 1, flen - plen - 1} : (struct lstr){"", 0};
	r->u.unparsed = (struct lstr){t, len};
	r->u.quoted = memchr(t, '%', plen) != NULL;
	return 0;
}

static int validate_host(struct conn *c, const char *h, size_t len)
{
	char *out;
	size_t dots = 0, o = 0, end = len;
	bool v6 = len && h[0] == '[';

	/* strip a trailing dot and the port */
	for (size_t i = 0; i < len; i++) {
		if (h[i] == ':' && !v6) {
			end = i;
			break;
		}
		if (h[i] == ']' && v6) {
			end = i + 1;
			break;
		}
	}
	if (end && h[end - 1] == '.')
		end--;
	out = pool_alloc(&c->pool, end + 1);
	if (!out)
		return -1;
	for (size_t i = 0; i < end; i++) {
		unsigned char ch = (unsigned char)h[i];

		if (ch == '.') {
			if (dots)
				return -1; /* ".." */
			dots = 1;
		} else {
			dots = 0;
		}
		if (ch == '/' || ch == '\\' || ch == '\0' || ch <= 0x20 || ch == 0x7f)
			return -1;
		out[o++] = (char)tolower(ch);
	}
	if (o == 0)
		return -1;
	if (out[0] == '.')
		return -1;
	out[o] = '\0';
	c->req.host = (struct lstr){out, o};
	return 0;
}

/* enum head_bad - a host named in a head being read that nginx refuses
 * the moment it parses its line (r->head_bad). */
enum head_bad {
	HEAD_BAD_NONE = 0,
	HEAD_BAD_HOST,	    /* the Host line's */
	HEAD_BAD_LINE_HOST, /* the request line's ("http://a..b/") */
	HEAD_BAD_REQUEST,   /* userinfo in the request line's ("http://u@b/") */
};

/* head_bad_log - nginx's line for a host it refuses (enum head_bad B),
 * with the request's context as nginx has it then: a request line's
 * error comes before any field line. */
static void head_bad_log(struct conn *c, int b)
{
	if (b == HEAD_BAD_HOST) {
		http_log(c, NULL, LOG_INFO,
			 "client sent invalid host header while reading client request headers");
		return;
	}
	c->req.h1.nheaders = 0;
	http_log(c, NULL, LOG_INFO, "client sent invalid %s while reading client %srequest line",
		 b == HEAD_BAD_REQUEST ? "request" : "host in request line",
		 c->req.pipelined ? "pipelined " : "");
}

/* process_headers - nginx's header checks. 0 or a status to answer. */
static int process_headers(struct conn *c)
{
	struct http_req *r = &c->req;
	const struct cfg_srv *ds = c->lg->default_srv;
	struct h1_str *cl = NULL, *te = NULL, *host = NULL;

	for (size_t i = 0; i < r->h1.nheaders; i++) {
		struct h1_header *h = &req_hdrs(r)[i];

		if (ds->ignore_invalid_headers &&
		    (h->invalid || h->symbol || (h->underscore && !ds->underscores_in_headers))) {
			continue;
		}
		if (H1_IS(h->name, "host")) {
			if (host)
				return 400;
			host = &h->value;
		} else if (H1_IS(h->name, "content-length")) {
			if (cl)
				return 400;
			cl = &h->value;
		} else if (H1_IS(h->name, "transfer-encoding")) {
			if (te)
				return 400;
			te = &h->value;
		} else if (H1_IS(h->name, "connection")) {
			r->hdr_connection = (struct lstr){h->value.p, h->value.len};
		} else if (H1_IS(h->name, "expect")) {
			r->hdr_expect = (struct lstr){h->value.p, h->value.len};
		} else if (H1_IS(h->name, "upgrade")) {
			r->hdr_upgrade = (struct lstr){h->value.p, h->value.len};
		}
	}
	/* HTTP/1.1 needs the header even with an absolute target (nginx) */
	if (!host && r->version == 11)
		return 400;
	if (!r->host.len && host && validate_host(c, host->p, host->len)) {
		head_bad_log(c, HEAD_BAD_HOST);
		return 400;
	}
	if (r->version == 11)
		r->keepalive = !(r->hdr_connection.len &&
				 h1_list_has_token((struct h1_str){r->hdr_connection.p,
								   r->hdr_connection.len},
						   "close"));
	else
		r->keepalive = r->hdr_connection.len &&
			       h1_list_has_token(
				       (struct h1_str){r->hdr_connection.p, r->hdr_connection.len},
				       "keep-alive");
	if (te) {
		if (r->version < 11)
			return 400;
		if (!h1_str_ieq(*te, "chunked"))
			return 501; /* nginx checks the coding before the conflict */
		if (cl)
			return 400;
		r->body_kind = BODY_CHUNKED;
		h1_chunked_init(&r->chunked);
	} else if (cl) {
		if (h1_parse_content_length(*cl, &r->content_length))
			return 400;
		r->body_kind = r->content_length ? BODY_LENGTH : BODY_NONE;
	}
	if (r->version == 11 && r->hdr_expect.len &&
	    h1_str_ieq((struct h1_str){r->hdr_expect.p, r->hdr_expect.len}, "100-continue"))
		r->expect_continue = true;
	return 0;
}

/* target_host - the host part of an absolute-form request target T (LEN
 * bytes): any alphabetic scheme, as nginx, "://", then up to the first '/'
 * (*H, *HL). False for any other form. */
static bool target_host(const char *t, size_t len, const char **h, size_t *hl)
{
	size_t k = 0;
	const char *slash;

	while (k < len && isalpha((unsigned char)t[k]))
		k++;
	if (!k || len - k <= 3 || memcmp(t + k, "://", 3) != 0)
		return false;
	k += 3;
	*h = t + k;
	slash = memchr(*h, '/', len - k);
	*hl = slash ? (size_t)(slash - *h) : len - k;
	return true;
}

static int parse_target(struct conn *c)
{
	struct http_req *r = &c->req;
	const char *t = r->h1.target.p, *h;
	size_t len = r->h1.target.len, hl;

	/* absolute-form (the scheme is not used: the request is served as
	 * for its path) */
	if (target_host(t, len, &h, &hl)) {
		const char *slash = h + hl;
		bool userinfo;

		if (hl == 0)
			return 400;
		/* userinfo ("user@host") is refused as nginx does: the Host
		 * it would yield is ambiguous to whatever reads it next */
		userinfo = memchr(h, '@', hl) != NULL;
		if (userinfo || validate_host(c, h, hl)) {
			head_bad_log(c, userinfo ? HEAD_BAD_REQUEST : HEAD_BAD_LINE_HOST);
			return 400;
		}
		if (slash == t + len)
			return parse_uri(c, "/", 1, true);
		len -= (size_t)(slash - t);
		t = slash;
	}
	if (len == 1 && t[0] == '*')
		return 400;
	return parse_uri(c, t, len, c->lg->default_srv->merge_slashes);
}

/* ---- server and location -------------------------------------------------------- */

static bool name_match(const struct server_name *sn, struct lstr host, struct conn *c)
{
	switch (sn->kind) {
	case 0:
		return host.len == sn->len && memcmp(host.p, sn->name, sn->len) == 0;
	case 1: /* ".example.com" from "*.example.com": needs a label before */
		return host.len > sn->len &&
		       memcmp(host.p + host.len - sn->len, sn->name, sn->len) == 0;
	case 2: /* "www.example." */
		return host.len > sn->len && memcmp(host.p, sn->name, sn->len) == 0;
	case 4: /* ".example.com": the name itself or any subdomain */
		if (host.len == sn->len - 1 && memcmp(host.p, sn->name + 1, sn->len - 1) == 0)
			return true;
		return host.len > sn->len &&
		       memcmp(host.p + host.len - sn->len, sn->name, sn->len) == 0;
	case 3:
		/* the host is pool memory: valid for the whole request */
		return var_regex_exec(c, sn->re, host.p, host.len) == 1;
	}
	return false;
}

/* find_server - the server block named HOST (lowercased) on the
 * connection's address. */
static struct cfg_srv *find_server(struct conn *c, struct lstr host)
{
	struct listen_group *lg = c->lg;
	int kinds[] = {0, 4, 1, 2, 3};

	if (!host.len)
		return lg->default_srv;
	/* nginx order: exact, longest leading wildcard, trailing wildcard,
	 * then regexes in order. Leading wildcards: longest wins. */
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		struct cfg_srv *best = NULL;
		size_t bestlen = 0;

		for (int i = 0; i < lg->nservers; i++) {
			struct cfg_srv *s = lg->servers[i];

			for (int j = 0; j < s->nnames; j++) {
				const struct server_name *sn = &s->names[j];

				if (sn->kind != kinds[k] || !name_match(sn, host, c))
					continue;
				if (kinds[k] == 3 || kinds[k] == 0)
					return s;
				if (!best || sn->len > bestlen) {
					best = s;
					bestlen = sn->len;
				}
			}
		}
		if (best)
			return best;
	}
	return lg->default_srv;
}

struct cfg_srv *http_find_server(struct conn *c)
{
	return find_server(c, c->req.host);
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
	struct cfg_srv *s = find_server(c, (struct lstr){name, len});

	c->req.cap.n = 0;
	return &s->tls;
}

static bool regex_loc_match(struct conn *c, struct cfg_loc *l, struct lstr uri)
{
	return var_regex_exec(c, l->re, uri.p, uri.len) == 1;
}

/* find_location - nginx's order: exact; else the longest prefix, searched
 * further inside it; then (unless exact or ^~) regexes in order. *final is
 * set when no regex may override the result. */
struct cfg_loc *http_find_location(struct conn *c, struct cfg_loc *level, struct lstr uri,
				   bool *final)
{
	struct cfg_loc *best = NULL;

	*final = false;
	for (int i = 0; i < level->nexact; i++) {
		struct cfg_loc *l = level->exact[i];

		if (l->patlen == uri.len && memcmp(l->pattern, uri.p, uri.len) == 0) {
			*final = true;
			return l;
		}
	}
	/* nginx's auto_redirect: "/api" for a proxied "location /api/" is
	 * answered 301 to "/api/". */
	for (int i = 0; i < level->nprefix; i++) {
		struct cfg_loc *l = level->prefix[i];

		if (l->proxy && l->patlen == uri.len + 1 && l->pattern[uri.len] == '/' &&
		    memcmp(l->pattern, uri.p, uri.len) == 0) {
			*final = true;
			return HTTP_LOC_AUTO_REDIRECT;
		}
	}
	for (int i = 0; i < level->nprefix; i++) {
		struct cfg_loc *l = level->prefix[i];

		if (l->patlen <= uri.len && memcmp(l->pattern, uri.p, l->patlen) == 0) {
			best = l;
			break;
		}
	}
	if (best) {
		bool inner_final = false;
		struct cfg_loc *inner = NULL;

		if (best->nexact || best->nprefix || best->nregex)
			inner = http_find_location(c, best, uri, &inner_final);
		if (inner == HTTP_LOC_AUTO_REDIRECT)
			return inner;
		if (inner) {
			if (inner_final || inner->match == LOC_REGEX ||
			    inner->match == LOC_REGEX_CASELESS) {
				*final = true;
				return inner;
			}
			if (inner->match == LOC_PREFIX_NOREGEX) {
				*final = true;
				return inner;
			}
			best = inner;
		}
		if (best->match == LOC_PREFIX_NOREGEX) {
			*final = true;
			return best;
		}
	}
	for (int i = 0; i < level->nregex; i++)
		if (regex_loc_match(c, level->regex[i], uri))
			return level->regex[i];
	return best;
}

static struct cfg_loc *find_named(struct cfg_srv *s, struct lstr name)
{
	for (int i = 0; i < s->loc.nnamed; i++) {
		struct cfg_loc *l = s->loc.named[i];

		if (l->patlen == name.len && memcmp(l->pattern, name.p, name.len) == 0)
			return l;
	}
	return NULL;
}

/* ---- rewrite phase ---------------------------------------------------------------- */

enum rw_result { RWR_CONTINUE = 0, RWR_DONE, RWR_LAST, RWR_BREAK };

void http_absolute_location(struct conn *c, struct lstr *v)
{
	const struct cfg_loc *l = c->req.loc ? c->req.loc : c->req.srv ? &c->req.srv->loc : NULL;
	char port[16] = "";
	struct lstr host = c->req.host;
	unsigned p;
	char *out;
	size_t n;

	if (!v->len || v->p[0] != '/' || (l && !l->absolute_redirect))
		return;
	if (!host.len || (l && l->server_name_in_redirect))
		host = c->req.srv && c->req.srv->nnames ? lstr_c(c->req.srv->names[0].name)
							: LSTR("localhost");
	p = lbd_sa_port(conn_local(c));
	if (p && p != (c->tls ? 443 : 80) && (!l || l->port_in_redirect))
		snprintf(port, sizeof(port), ":%u", p);
	n = (c->tls ? 8 : 7) + host.len + strlen(port) + v->len;
	out = pool_alloc(&c->pool, n + 1);
	if (!out)
		return;
	snprintf(out, n + 1, "%s://%.*s%s%.*s", c->tls ? "https" : "http", (int)host.len, host.p,
		 port, (int)v->len, v->p);
	*v = (struct lstr){out, n};
}

static void send_redirect(struct conn *c, int code, struct lstr loc)
{
	http_absolute_location(c, &loc);
	c->req.resp_location = loc;
	http_finalize(c, code);
}

/* text_not_modified - nginx's not_modified filter on a `return` text with
 * status 200: it has no validators, so "If-None-Match: *" is a 304, a failed
 * If-Match or any If-Unmodified-Since a 412. Whether it answered. */
static bool text_not_modified(struct conn *c, const struct cfg_loc *l)
{
	struct cache_cond q;
	int k;

	cache_cond_of(req_hdrs(&c->req), c->req.h1.nheaders, &q);
	k = cache_cond_eval(&q, 200, (struct lstr){NULL, 0}, (struct lstr){NULL, 0},
			    l->cache.ims_mode);
	if (k == 412) {
		http_finalize(c, 412);
	} else if (k == 304) {
		if (http_head_start(c, 304) || http_head_finish(c, true))
			conn_close(c);
		else
			http_send_body(c);
	}
	return k != 0;
}

static void respond_text(struct conn *c, int code, struct lstr text)
{
	const struct cfg_loc *l = c->req.loc ? c->req.loc : &c->req.srv->loc;

	if (code == 200 && !c->req.xar_ctype.len && !c->sr_parent && text_not_modified(c, l))
		return;
	/* after X-Accel-Redirect the upstream's type stays; else the type of
	 * $uri's extension, as nginx types a `return` text (so a location
	 * "= /robots.txt" or "= /x.json" answers with its file's type) */
	struct lstr ctype =
		c->req.xar_ctype.len ? c->req.xar_ctype : lstr_c(static_mime_type(l, c->req.u.uri));
	int sf = subfilter_begin_len(c, code, ctype, (int64_t)text.len, false); /* before gzip */
	struct gzip_resp gr = {
		.status = code,
		.length = sf && !c->req.sf.sb ? -1 : (int64_t)text.len, /* sb: the length stays */
		.content_type = ctype};
	int gz = sf < 0 ? sf : gzip_begin(c, &gr);
	size_t sent = text.len;
	struct lstr ct = charset_ctype(c, l, code, gr.content_type, false);

	subfilter_start(c);
	if (gz < 0 || http_head_start(c, code) ||
	    http_head_addf(c, "Content-Type: %.*s\r\n", (int)ct.len, ct.p) ||
	    (!gz && (!sf || c->req.sf.sb) &&
	     http_head_addf(c, "Content-Length: %zu\r\n", text.len)) ||
	    gzip_head_add(c) || subfilter_head_add(c) || http_head_finish(c, true) ||
	    (!c->req.head && (c->req.sf.ctx   ? subfilter_mem(c, text.p, text.len, &sent)
			      : c->req.gz.ctx ? gzip_mem(c, text.p, text.len, &sent)
					      : http_out_append(c, text.p, text.len)))) {
		conn_close(c);
		return;
	}
	if (!c->req.head)
		c->req.body_bytes_sent = sent;
	http_send_body(c);
}

/* set_plain - `set $NAME VAL` of a variable that is no map's: $limit_rate
 * or a `set` variable of the request. */
static int set_plain(struct conn *c, const char *name, size_t nl, struct lstr val)
{
	struct http_req *r = &c->req;

	if (unlikely(nl == 10 && memcmp(name, "limit_rate", 10) == 0)) {
		rate_set_var(c, val); /* $limit_rate is the request's own */
		return 0;
	}
	for (int i = 0; i < r->nset_vars; i++) {
		if (r->set_vars_name[i].len == nl && memcmp(r->set_vars_name[i].p, name, nl) == 0) {
			r->set_vars_val[i] = val;
			return 0;
		}
	}
	if ((r->nset_vars & 7) == 0) {
		struct lstr *n = pool_alloc(&c->pool, (size_t)(r->nset_vars + 8) * sizeof(*n));
		struct lstr *v = pool_alloc(&c->pool, (size_t)(r->nset_vars + 8) * sizeof(*v));

		if (!n || !v)
			return -ENOMEM;
		if (r->nset_vars) {
			memcpy(n, r->set_vars_name, (size_t)r->nset_vars * sizeof(*n));
			memcpy(v, r->set_vars_val, (size_t)r->nset_vars * sizeof(*v));
		}
		r->set_vars_name = n;
		r->set_vars_val = v;
	}
	r->set_vars_name[r->nset_vars] = (struct lstr){name, nl};
	r->set_vars_val[r->nset_vars++] = val;
	return 0;
}

int http_set_var(struct conn *c, const char *name, struct lstr val)
{
	size_t nl = strlen(name);
	bool limit_rate = nl == 10 && memcmp(name, "limit_rate", 10) == 0;

	if (!limit_rate && c->cfg && c->cfg->http && c->cfg->http->nmaps &&
	    map_set(c, name, nl, val))
		return 0;
	return set_plain(c, name, nl, val);
}

/* set_rw - the `set` step RW with value VAL: its map's (found at load),
 * else a plain variable's (a map value that cannot be kept, out of
 * memory, goes there as http_set_var's does). */
static int set_rw(struct conn *c, const struct rewrite *rw, struct lstr val)
{
	if (rw->map && map_set_value(c, rw->map, val))
		return 0;
	return set_plain(c, rw->repl.raw, strlen(rw->repl.raw), val);
}

static void set_uri_from(struct conn *c, struct lstr v, bool keep_args)
{
	const char *q = memchr(v.p, '?', v.len);
	struct lstr old_args = c->req.u.args;

	if (!q) {
		c->req.u.uri = v;
		return;
	}
	c->req.u.uri = (struct lstr){v.p, (size_t)(q - v.p)};
	struct lstr na = {q + 1, v.len - (size_t)(q - v.p) - 1};

	if (keep_args && old_args.len && na.len) {
		char *m = pool_alloc(&c->pool, na.len + 1 + old_args.len);

		if (m) {
			memcpy(m, na.p, na.len);
			m[na.len] = '&';
			memcpy(m + na.len + 1, old_args.p, old_args.len);
			na = (struct lstr){m, na.len + 1 + old_args.len};
		}
	} else if (keep_args && !na.len) {
		na = old_args;
	}
	c->req.u.args = na;
}

/* run_rewrites_log - the rewrite steps of L; LOG: rewrite_log's notice
 * lines (nginx's texts) for each regex tried and each rewritten URI. */
static enum rw_result run_rewrites_log(struct conn *c, const struct cfg_loc *l, bool log)
{
	for (int i = 0; i < l->nrewrites; i++) {
		const struct rewrite *rw = &l->rewrites[i];
		struct lstr v = {"", 0};
		bool text;

		switch (rw->kind) {
		case RW_BREAK:
			return RWR_BREAK;
		case RW_SET:
			if (cval_eval(&rw->repl, c, &v) || set_rw(c, rw, v)) {
				http_finalize(c, 500);
				return RWR_DONE;
			}
			break;
		case RW_RETURN:
			/* nginx: a text written empty ("") is none (a code from
			 * 400 gets its page); one of variables is a text even
			 * when it comes out empty */
			text = rw->repl.raw && (rw->repl.raw[0] || !rw->repl.literal);
			/* $status in the text is the code it goes out with */
			if (rw->repl.raw && rw->code >= 200 && rw->code < 300)
				c->req.status = c->req.err_status ? c->req.err_status : rw->code;
			if (rw->repl.raw && cval_eval(&rw->repl, c, &v)) {
				http_finalize(c, 500);
				return RWR_DONE;
			}
			if (rw->code == 444) {
				http_finalize(c, 444); /* logged, then closed, as nginx */
				return RWR_DONE;
			}
			/* nginx's send_response (text, or a code under 400)
			 * discards the body, answering Expect first */
			if ((text || rw->code < 400) && !http_continue_discarded(c))
				return RWR_DONE;
			/* ... and sets the status before any page of its own */
			c->req.status_first = rw->code < 400;
			if (rw->code == 301 || rw->code == 302 || rw->code == 303 ||
			    rw->code == 307 || rw->code == 308) {
				send_redirect(c, rw->code, v);
			} else if (text) {
				respond_text(c, rw->code, v);
			} else if (rw->code >= 200 && rw->code < 400 && rw->code != 204 &&
				   rw->code != 304) {
				/* nginx: a code under 400 without text is an empty
				 * answer of the usual type, not a built-in page */
				respond_text(c, rw->code, (struct lstr){"", 0});
			} else {
				http_finalize(c, rw->code);
			}
			return RWR_DONE;
		case RW_REWRITE: {
			struct lstr uri = c->req.u.uri;

			bool hit = regex_loc_match(c, &(struct cfg_loc){.re = rw->re}, uri);

			if (log)
				http_log(c, NULL, LOG_NOTICE, "\"%s\" %s \"%.*s\"", rw->re_src,
					 hit ? "matches" : "does not match", (int)uri.len, uri.p);
			if (!hit)
				break;
			if (cval_eval(&rw->repl, c, &v)) {
				http_finalize(c, 500);
				return RWR_DONE;
			}
			bool ends_q = v.len && v.p[v.len - 1] == '?';
			bool absolute = (v.len > 7 && strncmp(v.p, "http://", 7) == 0) ||
					(v.len > 8 && strncmp(v.p, "https://", 8) == 0) ||
					(v.len > 1 && v.p[0] == '$');

			if (ends_q)
				v.len--;
			if (absolute || rw->flag == RW_F_REDIRECT || rw->flag == RW_F_PERMANENT) {
				if (!ends_q && c->req.u.args.len) {
					size_t n = v.len + 1 + c->req.u.args.len;
					char *m = pool_alloc(&c->pool, n);

					if (m) {
						memcpy(m, v.p, v.len);
						m[v.len] = memchr(v.p, '?', v.len) ? '&' : '?';
						memcpy(m + v.len + 1, c->req.u.args.p,
						       c->req.u.args.len);
						v = (struct lstr){m, n};
					}
				}
				if (log)
					http_log(c, NULL, LOG_NOTICE,
						 "rewritten redirect: \"%.*s\"", (int)v.len, v.p);
				send_redirect(c, rw->flag == RW_F_PERMANENT ? 301 : 302, v);
				return RWR_DONE;
			}
			set_uri_from(c, v, !ends_q);
			c->req.uri_changed = true;
			c->req.loc_rewrote = true;
			if (ends_q && !memchr(v.p, '?', v.len))
				c->req.u.args = (struct lstr){"", 0};
			if (log)
				http_log(c, NULL, LOG_NOTICE,
					 "rewritten data: \"%.*s\", args: \"%.*s\"",
					 (int)c->req.u.uri.len, c->req.u.uri.p,
					 (int)c->req.u.args.len, c->req.u.args.p);
			if (rw->flag == RW_F_LAST)
				return RWR_LAST;
			if (rw->flag == RW_F_BREAK)
				return RWR_BREAK;
			break;
		}
		case RW_IF: {
			/* the block's steps run here; in a location the request
			 * takes the block's configuration (nginx's nameless
			 * location), and the steps after the block still run */
			const struct cfg_loc *in = rw->cond->body;
			bool in_log = in->rewrite_log == CFG_UNSET ? log : in->rewrite_log == 1;
			int t = http_if_test(c, rw->cond, log);

			if (t < 0) {
				http_finalize(c, 500);
				return RWR_DONE;
			}
			if (!t)
				break;
			if (rw->cond->in_location)
				c->req.loc = rw->cond->body;
			enum rw_result rr = run_rewrites_log(c, in, in_log);

			if (rr != RWR_CONTINUE)
				return rr;
			break;
		}
		}
	}
	return RWR_CONTINUE;
}

static enum rw_result run_rewrites(struct conn *c, const struct cfg_loc *l)
{
	return run_rewrites_log(c, l, l->rewrite_log == 1);
}

/* ---- phases ---------------------------------------------------------------------- */

/* delay_client_closed - the client went away while limit_req held its
 * request: nginx logs it and finishes the request with 499. */
static void delay_client_closed(struct conn *c)
{
	c->req.status = 499;
	http_log(c, NULL, LOG_INFO, "client prematurely closed connection");
	log_phase(c);
	conn_close(c);
}

/* run_content - the preaccess phase (limit_conn, limit_req), which may
 * answer or hold the request for a while, then run_access. */
static void run_content(struct conn *c)
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

static void auto_redirect(struct conn *c)
{
	struct http_req *r = &c->req;
	size_t n = r->u.uri.len + 1 + (r->u.args.len ? 1 + r->u.args.len : 0);
	char *v = pool_alloc(&c->pool, n);

	if (!v) {
		http_finalize(c, 500);
		return;
	}
	memcpy(v, r->u.uri.p, r->u.uri.len);
	v[r->u.uri.len] = '/';
	if (r->u.args.len) {
		v[r->u.uri.len + 1] = '?';
		memcpy(v + r->u.uri.len + 2, r->u.args.p, r->u.args.len);
	}
	send_redirect(c, 301, (struct lstr){v, n});
}

/* find_config - location lookup, location rewrites, then content. Runs
 * again after `rewrite ... last` and internal redirects. */
static void find_config(struct conn *c)
{
	struct http_req *r = &c->req;
	bool final;

	for (;;) {
		struct cfg_loc *l;

		if (r->uri_changes-- <= 0) {
			http_log(c, NULL, LOG_ERR,
				 "rewrite or internal redirection cycle while processing \"%.*s\"",
				 (int)r->u.uri.len, r->u.uri.p);
			http_finalize(c, 500);
			return;
		}
		l = http_find_location(c, &r->srv->loc, r->u.uri, &final);
		if (l == HTTP_LOC_AUTO_REDIRECT) {
			r->loc = &r->srv->loc;
			auto_redirect(c);
			return;
		}
		if (!l)
			l = &r->srv->loc; /* no location matched: the server's own settings */
		r->loc = l;
		if (l->internal && !r->internal) {
			http_finalize(c, 404);
			return;
		}
		if (l->client_max_body_size && r->body_kind == BODY_LENGTH &&
		    r->content_length > (uint64_t)l->client_max_body_size) {
			http_log(c, NULL, LOG_ERR,
				 "client intended to send too large body: %llu bytes",
				 (unsigned long long)r->content_length);
			c->close_after = true;
			http_finalize(c, 413);
			return;
		}
		r->loc_rewrote = false;
		enum rw_result rr = run_rewrites(c, l);

		if (rr == RWR_DONE)
			return;
		/* `last`, or a rewrite without a flag that changed $uri:
		 * the location is searched again (nginx's post-rewrite
		 * phase); `break` keeps this one */
		if (rr == RWR_LAST || (rr == RWR_CONTINUE && r->loc_rewrote))
			continue;
		r->uri_break = rr == RWR_BREAK && r->loc_rewrote;
		break;
	}
	run_content(c);
}

void http_internal_redirect(struct conn *c, struct lstr uri, struct lstr args)
{
	struct http_req *r = &c->req;

	r->internal = true;
	r->uri_changed = true;
	r->u.uri = uri;
	r->u.args = args;
	r->cap.n = 0;
	r->seclink_expires = (struct lstr){NULL, 0}; /* nginx clears module state */
	find_config(c);
}

void http_named_location(struct conn *c, struct lstr name)
{
	struct http_req *r = &c->req;
	struct cfg_loc *l = find_named(r->srv, name);

	if (!l) {
		http_log(c, NULL, LOG_ERR, "could not find named location \"%.*s\"", (int)name.len,
			 name.p);
		http_finalize(c, 500);
		return;
	}
	if (r->uri_changes-- <= 0) {
		http_finalize(c, 500);
		return;
	}
	r->internal = true;
	r->loc = l;
	r->seclink_expires = (struct lstr){NULL, 0}; /* nginx clears module state */
	if (run_rewrites(c, l) == RWR_DONE)
		return;
	run_content(c);
}

/* max_headers_over - whether a request has more header lines than
 * max_headers allows, as nginx counts them line by line: the lines up to
 * and with Host against the default server's limit, the lines after it
 * against the limit of the server Host names (all of them against that
 * one when the request line names the host). Inlined: its first test
 * is all most requests pay. */
__attribute__((always_inline)) static inline bool max_headers_over(const struct conn *c)
{
	const struct http_req *r = &c->req;
	size_t n = r->h1.nheaders, k = n;
	size_t d = (size_t)c->lg->default_srv->max_headers, s = (size_t)r->srv->max_headers;

	if (r->version >= 20) {
		/* HTTP/2: the client's fields; :authority (first) names the
		 * server before them all, a host field after itself */
		n = r->h2_fields;
		k = r->h2_named_at;
		return k > d || (n > k && n > s);
	}
	if (n <= d && n <= s)
		return false;
	if (r->h1.target.len && r->h1.target.p[0] != '/')
		return n > s; /* absolute-form: its host is the server's from the start */
	for (size_t i = 0; i < n; i++)
		if (H1_IS(req_hdrs(r)[i].name, "host")) {
			k = i + 1;
			break;
		}
	return k > d || (n > k && n > s);
}

static struct cfg_srv *head_named(struct conn *c);

/* max_headers_early - whether the complete lines of a head still being
 * read pass max_headers as nginx counts them line by line (the default
 * server's up to Host, then the server Host names: max_headers_over()):
 * nginx answers at that line, not at the end of the head. Sets r->srv to
 * the server of the line's answer. */
static bool max_headers_early(struct conn *c)
{
	struct http_req *r = &c->req;
	size_t n = r->h1.nheaders;

	if (!n)
		return false;
	r->srv = head_named(c);
	if (!r->srv)
		r->srv = c->lg->default_srv; /* all its lines are the default's */
	if (!max_headers_over(c)) {
		r->srv = NULL;
		return false;
	}
	return true;
}

static void start_request(struct conn *c)
{
	struct http_req *r = &c->req;
	int st;

	st = process_headers(c);
	if (st) {
		bad_request(c, st);
		return;
	}
	r->srv = http_find_server(c);
	if (unlikely(max_headers_over(c))) {
		http_log(c, NULL, LOG_INFO,
			 "client sent too many header lines while reading client request headers");
		bad_request(c, HTTP_STATUS_REQ_HEADER_TOO_LARGE);
		return;
	}
	if (unlikely(c->plain_on_tls)) {
		http_log(c, NULL, LOG_INFO,
			 "client sent plain HTTP request to HTTPS port while reading client "
			 "request headers");
		bad_request(c, HTTP_STATUS_TO_HTTPS);
		return;
	}
	/* nginx refuses TRACE once the server is known (its error_page
	 * applies), before any phase, and closes the connection */
	if (unlikely(lstr_eq(r->method, LSTR("TRACE")))) {
		http_log(c, NULL, LOG_INFO, "client sent TRACE method");
		bad_request(c, 405);
		return;
	}
	/* ssl_verify_client: nginx's verdict before the post-read phase */
	if (c->tls && unlikely(r->srv->tls.verify_client > 0)) {
		st = tls_client_check(c->tls, &r->srv->tls, tls_conn_client(c->tls));
		if (st) {
			bad_request(c, st);
			return;
		}
	}
	/* nginx's post-read phase: realip with the server's settings */
	r->loc = &r->srv->loc;
	if (realip_apply(c, r->loc))
		return;
	/* Server-level rewrite phase; `last` acts as `break` here. */
	if (run_rewrites(c, &r->srv->loc) == RWR_DONE)
		return;
	r->loc = NULL;
	find_config(c);
}

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

static inline void set_request_line(struct conn *c);
static void head_part_len(struct conn *c);

/* HEAD_TOO_LARGE_LOGGED - for head_begin(): 400 "Request Header Or Cookie
 * Too Large" whose log line is written already (no enum h1_rc is this) */
#define HEAD_TOO_LARGE_LOGGED (-100)
/* HEAD_BAD_HOST_LOGGED - for head_begin(): 400 for the host a head being
 * read named (r->head_bad), logged there */
#define HEAD_BAD_HOST_LOGGED (-101)

/* head_begin - what every parsed head starts with (N: its size, or a
 * negative enum h1_rc from the parser, answered here). True when the
 * request goes on: r->h1 is then set and taken over. */
static bool head_begin(struct conn *c, int n)
{
	struct http_req *r = &c->req;
	int st;

	ev_timer_stop(&c->w->loop, &c->timer);
	stats_request_start();
	if (c->tls)
		tls_note_request(c->tls); /* 0-RTT requests, for lbctl stats */
	conn_stat(c, STATS_WRITING);
	r->start_us = lbd_now_us();
	clock_gettime(CLOCK_REALTIME, &r->start_wall);
	r->uri_changes = HTTP_MAX_URI_CHANGES + 1;
	c->requests++;
	c->state = CS_READ_BODY;
	if (n < 0) {
		/* a head refused as its buffers or max_headers ran out may be
		 * its Host server's already (head_overflow, max_headers_early) */
		if (!r->srv || (n != HEAD_TOO_LARGE_LOGGED && n != H1_ERR_TOO_MANY_HEADERS))
			r->srv = c->lg->default_srv;
		r->version = 10;
		switch (n) {
		case H1_ERR_URI_TOO_LONG:
			st = 414;
			break;
		case H1_ERR_HEADER_TOO_LARGE:
		case H1_ERR_TOO_MANY_HEADERS: /* max_headers: the same page in nginx */
			http_log(c, NULL, LOG_INFO,
				 "client sent too many header lines while reading client request "
				 "headers");
			/* fall through */
		case HEAD_TOO_LARGE_LOGGED:
			st = HTTP_STATUS_REQ_HEADER_TOO_LARGE;
			break;
		case HEAD_BAD_HOST_LOGGED:
			set_request_line(c);
			head_part_len(c);
			head_bad_log(c, r->head_bad);
			st = 400;
			break;
		case H1_ERR_VERSION:
			st = 505;
			break;
		default:
			st = 400;
			break;
		}
		bad_request(c, st);
		return false;
	}
	r->srv = c->lg->default_srv; /* until Host is known; errors are logged here */
	r->header_len = (size_t)n;
	r->request_length = (uint64_t)n;
	r->version = r->h1.version;
	r->method = (struct lstr){r->h1.method.p, r->h1.method.len};
	r->head = r->method.len == 4 && memcmp(r->method.p, "HEAD", 4) == 0;
	return true;
}

/* head_end - the target and the headers of a begun request, then its
 * phases. */
static void head_end(struct conn *c)
{
	int st = parse_target(c);

	if (st) {
		bad_request(c, st);
		return;
	}
	start_request(c);
}

/* set_request_line - r->request_line from the parsed method on. */
static inline void set_request_line(struct conn *c)
{
	struct http_req *r = &c->req;
	const char *ls = r->h1.method.p;
	const char *le = memchr(ls, '\n', (size_t)(c->in.data + c->in.end - ls));
	size_t ll = le ? (size_t)(le - ls) : 0;

	if (ll && ls[ll - 1] == '\r')
		ll--;
	r->request_line = (struct lstr){ls, ll};
}

/* head_part_len - $request_length of a head refused before its end:
 * nginx's, the bytes of the lines it had parsed (request line and field
 * lines in r->h1, none of the empty lines before them). */
static void head_part_len(struct conn *c)
{
	struct http_req *r = &c->req;
	const char *e = c->in.data + c->in.end, *p, *lf;

	if (!r->h1.method.p)
		return;
	p = r->h1.nheaders ? r->h1.headers[r->h1.nheaders - 1].value.p +
				     r->h1.headers[r->h1.nheaders - 1].value.len
			   : r->h1.method.p;
	lf = p < e ? memchr(p, '\n', (size_t)(e - p)) : NULL;
	if (lf)
		r->request_length = (uint64_t)(lf + 1 - r->h1.method.p);
}

/* head_room - the room C's head has in the buffer it starts in: what a
 * pipelined one's buffer has left (c->hb_room), else a fresh first buffer
 * of the default server's client_header_buffer_size. */
static inline size_t head_room(const struct conn *c)
{
	return c->hb_room ? c->hb_room : (size_t)c->lg->default_srv->client_header_buffer_size;
}

/* head_bufs - nginx's buffers for C's head into *BF: the default
 * server's, where it starts (c->hb_*), and from the line naming server
 * HS on (if not NULL), HS's large ones. */
static void head_bufs(const struct conn *c, const struct cfg_srv *hs, struct h1_bufs *bf)
{
	const struct cfg_srv *ds = c->lg->default_srv;

	*bf = (struct h1_bufs){
		.first = head_room(c),
		.large = (size_t)ds->large_header_size,
		.num = (size_t)ds->large_header_num,
		.busy0 = c->hb_busy0,
		.nfree = c->hb_nfree,
		.free_size = c->hb_free_size,
	};
	if (hs && hs != ds) {
		/* nginx's buffers from the Host line on are its server's */
		bf->sw = c->req.head_sw;
		bf->large2 = (size_t)hs->large_header_size;
		bf->num2 = (size_t)hs->large_header_num;
	}
}

/* head_overflow - a head that did not end in the first buffer, or failed
 * (*N from the parser under LIM): whether nginx's buffers ran out before
 * its end or its error (h1_head_fit()). If they did, it is answered as
 * nginx answers at that byte (414, or 400 "Request Header Or Cookie Too
 * Large", with nginx's log line) and true is returned; else *N may become
 * an error the parser finds before that point. Nothing waits for the rest
 * of the head: the answer goes at the byte that fills the last buffer. */
static bool head_overflow(struct conn *c, const struct h1_limits *lim, int *n)
{
	struct http_req *r = &c->req;
	const struct cfg_srv *hs = head_named(c);
	struct h1_bufs bf;
	const char *buf = c->in.data + c->in.start;
	size_t at, line;
	int f, p;

	head_bufs(c, hs, &bf);
	f = h1_head_fit(buf, c->in.end - c->in.start, &bf, &at, &line);
	if (!f || (r->head_bad && r->head_sw <= at))
		return false; /* (a bad host's line came first: head_bad_log) */
	/* a syntax error before the point the buffers ran out comes first */
	p = h1_parse_request(buf, at, lim, &r->h1, lim->max_headers);
	if (p != H1_INCOMPLETE) {
		*n = p;
		return false;
	}
	/* the server nginx had switched to when its buffers ran out */
	r->srv = hs && r->head_sw <= at ? r->head_srv : c->lg->default_srv;
	head_part_len(c);
	if (f == H1_ERR_URI_TOO_LONG) {
		/* nginx's request line is what its buffer holds */
		r->request_line = (struct lstr){buf + line, at - line};
		http_log(c, NULL, LOG_INFO,
			 "client sent too long URI while reading client %srequest line",
			 r->pipelined ? "pipelined " : "");
	} else {
		set_request_line(c);
		if (line == SIZE_MAX)
			http_log(c, NULL, LOG_INFO,
				 "client sent too large request while reading client request "
				 "headers");
		else /* nginx's NGX_MAX_ERROR_STR - 300 bytes at most */
			http_log(c, NULL, LOG_INFO,
				 "client sent too long header line: \"%.*s...\" while reading "
				 "client request headers",
				 (int)LBD_MIN(at - line, (size_t)1748), buf + line);
	}
	head_begin(c, f == H1_ERR_URI_TOO_LONG ? f : HEAD_TOO_LARGE_LOGGED);
	return true;
}

/* head_named - the server a head still being read has named so far, as
 * nginx switches to it the moment it parses the line (a host in the
 * request line, else the Host line); NULL before. r->h1 must hold the
 * parse of the bytes read. Kept in r->head_srv, with r->head_sw. */
static const struct h1_header *req_header(const struct http_req *r, const char *name, size_t nlen);

static struct cfg_srv *head_named(struct conn *c)
{
	struct http_req *r = &c->req;
	const char *b = c->in.data + c->in.start, *e = c->in.data + c->in.end, *t, *h = NULL;
	const char *lf;
	size_t hl = 0;
	struct lstr keep = r->host;

	if (r->head_srv)
		return r->head_srv;
	for (t = b; t < e && (*t == '\r' || *t == '\n'); t++)
		;
	lf = memchr(t, '\n', (size_t)(e - t));
	if (!lf || !r->h1.target.p)
		return NULL; /* no request line yet */
	if (target_host(r->h1.target.p, r->h1.target.len, &h, &hl)) {
		if (hl && memchr(h, '@', hl))
			r->head_bad = HEAD_BAD_REQUEST;
		if (!hl || r->head_bad)
			hl = 0; /* refused (the userinfo at once, as nginx) */
		else
			r->head_bad = HEAD_BAD_LINE_HOST; /* if it does not validate */
	} else {
		const struct h1_header *f = req_header(r, "host", 4);

		if (f) {
			h = f->value.p;
			hl = f->value.len;
			r->head_bad = HEAD_BAD_HOST; /* if it does not validate */
			lf = memchr(h + hl, '\n', (size_t)(e - (h + hl)));
		}
	}
	if (!h || !lf)
		return NULL;
	/* a host that does not validate keeps the default server (it is
	 * answered at once: head_bad_log()); kept, so as not to allocate
	 * again */
	if (!validate_host(c, h, hl)) {
		r->head_srv = find_server(c, r->host);
		r->head_bad = HEAD_BAD_NONE;
	} else {
		r->head_srv = c->lg->default_srv;
	}
	r->head_sw = (size_t)(lf + 1 - b);
	r->host = keep; /* set again with the whole head */
	r->cap.n = 0;
	return r->head_srv;
}

/* head_ctx - a head being read, for nginx's lines about it: the default
 * server's (or the one its Host line named), its request text from the first byte past the empty lines
 * before it to the end of that line or of the bytes, and the field lines
 * complete so far (for the "host:" part). Returns nginx's action's end:
 * "request headers" once the request line is complete, else "request
 * line" ("pipelined request line" for a pipelined request). */
static const char *head_ctx(struct conn *c)
{
	struct http_req *r = &c->req;
	const char *b = c->in.data + c->in.start, *e = c->in.data + c->in.end, *p;
	struct h1_limits lim = {.max_headers = HTTP_MAX_HEADERS};

	r->srv = c->lg->default_srv;
	r->loc = &r->srv->loc;
	while (b < e && (*b == '\r' || *b == '\n'))
		b++;
	for (p = b; p < e && *p != '\r' && *p != '\n'; p++)
		;
	r->request_line = (struct lstr){b, (size_t)(p - b)};
	if (p == e)
		return r->pipelined ? "pipelined request line" : "request line";
	r->h1.headers = r->hdrs;
	h1_parse_request(c->in.data + c->in.start, c->in.end - c->in.start, &lim, &r->h1,
			 HTTP_MAX_HEADERS);
	if (head_named(c)) {
		r->srv = r->head_srv;
		r->loc = &r->srv->loc;
	}
	return "request headers";
}

/* head_gone - the client's side ended (N 0) or failed (N -1, ERR) while a
 * head was awaited or read. Nothing is sent. Without a byte of a request,
 * nginx's info line of the idle connection (a failed TLS read was logged
 * by the TLS layer); else, as nginx, the line with the request's context
 * and its 400 in the access log. */
static void head_gone(struct conn *c, ssize_t n, int err)
{
	struct http_req *r = &c->req;
	const char *what;

	if (c->in.end <= c->in.start) {
		/* every idle connection ends here: nothing is formatted unless
		 * its line is written */
		const struct log_target *el = c->lg->default_srv->loc.error_log;

		if (n == -1 && c->tls) {
			/* the TLS layer's line, if any */
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
	what = head_ctx(c);
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
	log_phase(c);
	conn_close(c);
}

/* head_blank - nginx takes any number of empty lines before a request
 * line: when they fill its first buffer it reads on into it from its
 * start, so only those in the buffer the request line starts in take
 * room there. Drops the whole first buffers of them from c->in; whether
 * it did (the head is parsed again then). */
static bool head_blank(struct conn *c)
{
	char *b = c->in.data + c->in.start;
	size_t len = c->in.end - c->in.start, m = 0, k = 0;
	size_t first = (size_t)c->lg->default_srv->client_header_buffer_size;

	while (m < len && (b[m] == '\r' || b[m] == '\n'))
		m++;
	if (m < head_room(c))
		return false;
	if (c->hb_room) {
		/* the rest of the buffer it started in */
		k = c->hb_room;
		c->hb_room = 0;
	}
	k += (m - k) - (m - k) % first;
	memmove(b, b + k, len - k);
	c->in.end -= k;
	c->req.head_srv = NULL; /* its offsets moved */
	return true;
}

static void process_request(struct conn *c)
{
	struct http_req *r = &c->req;
	const struct cfg_srv *ds = c->lg->default_srv;
	/* max_headers (1000): the parser stops past the largest of the
	 * address's servers (which one applies is known from Host:
	 * max_headers_over()) and past what the head can hold (a line has 3
	 * bytes at least), so the array never outgrows the request; the
	 * same on every call while the head is incomplete */
	size_t cap = LBD_MIN((size_t)c->lg->max_headers, head_limit(c) / 3 + 1);
	/* the line limits are nginx's buffers' (head_overflow()) */
	struct h1_limits lim = {
		.max_request_line = head_limit(c),
		.max_header_line = head_limit(c),
		.max_headers = LBD_MIN(cap, (size_t)HTTP_MAX_HEADERS),
		.max_total = head_limit(c),
	};
	int n;

parse:
	if (r->hdrs_big)
		lim.max_headers = cap;
	r->h1.headers = r->hdrs_big ? r->hdrs_big : r->hdrs;
	n = h1_parse_request(c->in.data + c->in.start, c->in.end - c->in.start, &lim, &r->h1,
			     lim.max_headers);
	if (n == H1_ERR_TOO_MANY_HEADERS && !r->hdrs_big && cap > HTTP_MAX_HEADERS &&
	    (r->hdrs_big = pool_alloc(&c->pool, cap * sizeof(*r->hdrs_big)))) {
		/* more lines than the request holds: up to max_headers */
		lim.max_headers = cap;
		r->h1.headers = r->hdrs_big;
		n = h1_parse_request(c->in.data + c->in.start, c->in.end - c->in.start, &lim,
				     &r->h1, cap);
	}
	/* (a head that starts in less than a whole first buffer is counted
	 * here too: h1_head_fit() says whether it fits the room it has) */
	if (unlikely(n < 0 || n > (int)ds->client_header_buffer_size || c->hb_room)) {
		/* not a whole head in the first buffer */
		if (head_blank(c))
			goto parse;
		if (head_overflow(c, &lim, &n))
			return;
		if (n == H1_INCOMPLETE && r->head_bad && head_named(c)) {
			/* refused at its line, as nginx */
			head_begin(c, HEAD_BAD_HOST_LOGGED);
			return;
		}
		if (n == H1_INCOMPLETE && max_headers_early(c))
			n = H1_ERR_TOO_MANY_HEADERS;
		if (n == H1_ERR_TOO_MANY_HEADERS) {
			set_request_line(c); /* for the log line, as nginx's */
			head_part_len(c);
		}
	}
	if (n == H1_INCOMPLETE || !head_begin(c, n))
		return;
	if (unlikely(c->in.end - c->in.start > (size_t)n)) {
		/* bytes after the head (a body, a pipelined request): where
		 * nginx's buffers stood at its end, for next_request() */
		struct h1_bufs bf;
		size_t end, busy;

		/* (a head that ended in the buffer it began in, most with a
		 * body after them, switched to no other server's buffers, and
		 * h1_head_end takes no walk over it) */
		head_bufs(c, (size_t)n > head_room(c) ? head_named(c) : NULL, &bf);
		h1_head_end(c->in.data + c->in.start, (size_t)n, &bf, &end, &busy);
		c->hb_end = (uint32_t)end;
		c->hb_busy = (uint16_t)busy;
		c->hb_base = (uint32_t)c->in.start;
		c->hb_inend = (uint32_t)c->in.end;
	}
	if (unlikely(r->h1.method.p != c->in.data + c->in.start)) {
		/* empty lines before the request line: not in $request_length
		 * (nginx starts the request at its line) */
		size_t lead = (size_t)(r->h1.method.p - (c->in.data + c->in.start));

		r->header_len -= lead;
		r->request_length -= lead;
	}
	c->in.start += (size_t)n; /* views stay valid: c->in is not moved until the next request */
	set_request_line(c);
	head_end(c);
}

void http_stream_request(struct conn *c, int n, struct lstr line)
{
	struct http_req *r = &c->req;

	if (!head_begin(c, n))
		return;
	r->version = 20;
	r->request_line = line;
	head_end(c);
}

/* ---- finishing ---------------------------------------------------------------------- */

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
	log_phase(c);
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
	/* still open: waiting (auth_request, an SSI stub, a write timer);
	 * one answered whose mirrors run is logged by conn_close() */
	if (!(c->req.mirror && mirror_waiting(c))) {
		if (!c->req.header_sent)
			c->req.status = 499;
		log_phase(c);
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
	log_phase(c);
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
			read_head(c);
		return;
	}
	memmove(c->in.data, c->in.data + c->in.start, c->in.end - c->in.start);
	c->in.end -= c->in.start;
	c->in.start = 0;
	c->req.pipelined = true; /* nginx's $pipe: bytes of the next request wait */
	c->state = CS_READ_HEAD;
	conn_arm_timer(c, c->lg->default_srv->client_header_timeout);
	process_request(c);
	if (!c->dead && c->state == CS_READ_HEAD && c->readable)
		read_head(c);
}

static const struct error_page *find_error_page(const struct cfg_loc *l, int status)
{
	for (int i = 0; l && i < l->nerror_pages; i++)
		if (l->error_pages[i].status == status)
			return &l->error_pages[i];
	return NULL;
}

static void builtin_page(struct conn *c, int status)
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

/* http_finalize - answer with STATUS, through error_page if configured. */
/* req_header - request header NAME (NLEN bytes, any case) of R, or NULL. */
static const struct h1_header *req_header(const struct http_req *r, const char *name, size_t nlen)
{
	for (size_t i = 0; i < r->h1.nheaders; i++) {
		const struct h1_header *h = &r->h1.headers[i];

		if (h->name.len == nlen && strncasecmp(h->name.p, name, nlen) == 0)
			return h;
	}
	return NULL;
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
		log_phase(c);
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
			builtin_page(c, 500);
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
			builtin_page(c, ep->overwrite > 0 && ep->overwrite >= 300 &&
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
	builtin_page(c, status);
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
