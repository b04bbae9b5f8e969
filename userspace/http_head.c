/* SPDX-License-Identifier: MIT */
/*
 * Reading an HTTP/1.1 request head and checking it as nginx 1.22 does: the
 * socket reads into c->in, nginx's header buffers (client_header_buffer_size,
 * large_client_header_buffers) and max_headers counted as nginx counts
 * them, line by line, with the server the head names so far; the request
 * target (absolute form, percent-decoding, dot segments), Host and the
 * header checks; then the start of the request (TRACE, ssl_verify_client,
 * realip and the server's rewrites) up to the location lookup
 * (http_route.c). An HTTP/2 stream's request enters at http_stream_request.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "h1.h"
#include "h2.h"
#include "http.h"
#include "log.h"
#include "realip.h"
#include "stats.h"
#include "tls.h"
#include "tls_client.h"
#include "http_int.h"

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

void http_read_head(struct conn *c)
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
			http_head_gone(c, 0, 0);
			return;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->readable = false;
				break;
			}
			http_head_gone(c, -1, errno);
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
		http_process_request(c);
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
	if (http_run_rewrites(c, &r->srv->loc) == RWR_DONE)
		return;
	r->loc = NULL;
	http_find_config(c);
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
		r->head_srv = http_find_server_host(c, r->host);
		r->head_bad = HEAD_BAD_NONE;
	} else {
		r->head_srv = c->lg->default_srv;
	}
	r->head_sw = (size_t)(lf + 1 - b);
	r->host = keep; /* set again with the whole head */
	r->cap.n = 0;
	return r->head_srv;
}

/* http_head_ctx - a head being read, for nginx's lines about it: the default
 * server's (or the one its Host line named), its request text from the first byte past the empty lines
 * before it to the end of that line or of the bytes, and the field lines
 * complete so far (for the "host:" part). Returns nginx's action's end:
 * "request headers" once the request line is complete, else "request
 * line" ("pipelined request line" for a pipelined request). */
const char *http_head_ctx(struct conn *c)
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

void http_process_request(struct conn *c)
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
