/* SPDX-License-Identifier: MIT */
/*
 * The proxy's upstream request (part of proxy.c's module, see there):
 * the head as proxy_pass, fastcgi_pass, uwsgi_pass, scgi_pass,
 * memcached_pass and grpc_pass send it (headers passed, set and hidden,
 * the upstream URI), and sending it with the request body, streamed or
 * spooled; also up_log, the upstream's error log line, which names the
 * upstream by that URI.
 */

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "cache.h"
#include "ratelimit.h"
#include "reqbody.h"
#include "memc.h"
#include "scgi.h"
#include "uwsgi.h"
#include "var.h"
#include "proxy_int.h"

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

/* up_url - nginx's "upstream" of a log line about U into URL (CAP). */
static void up_url(struct uconn *u, char *url, size_t cap)
{
	struct sbuf b = {.pool = &u->c->pool};

	/* nginx: no URI after fastcgi://, uwsgi:// or scgi:// */
	if (u->c->req.pp && !u->c->req.pp->fastcgi && !u->c->req.pp->uwsgi && !u->c->req.pp->scgi &&
	    !u->c->req.pp->memcached && !u->c->req.pp->grpc)
		sb_upstream_uri(&b, u->c);
	/* no server picked (none live): the upstream block's name */
	/* nginx separates a unix socket's path from the URI with ':' */
	snprintf(url, cap, "%s://%s%s%.*s",
		 !u->c->req.pp		   ? "http"
		 : u->c->req.pp->fastcgi   ? "fastcgi"
		 : u->c->req.pp->uwsgi	   ? (u->c->req.pp->ssl ? "suwsgi" : "uwsgi")
		 : u->c->req.pp->scgi	   ? "scgi"
		 : u->c->req.pp->memcached ? "memcached"
		 : u->c->req.pp->grpc	   ? (u->c->req.pp->ssl ? "grpcs" : "grpc")
		 : u->c->req.pp->ssl	   ? "https"
					   : "http",
		 u->srv ? u->srv->name : u->g->name,
		 u->srv && u->srv->addr.ss_family == AF_UNIX ? ":" : "", b.oom ? 0 : (int)b.len,
		 b.p ? b.p : "");
}

/* up_log - an error log line about U's try, with nginx's context: the
 * request's, and the upstream as nginx names it, "http://PEER/URI". */
void up_log(struct uconn *u, enum log_level level, const char *fmt, ...)
{
	char url[1024];
	va_list ap;

	if (!http_log_wanted(u->c, level))
		return;
	up_url(u, url, sizeof(url));
	va_start(ap, fmt);
	http_vlog(u->c, url, level, fmt, ap);
	va_end(ap);
}

bool proxy_log_upstream(struct conn *c, char *buf, size_t cap)
{
	if (!c->req.up || c->req.up->c != c || (!c->req.up->srv && !c->req.up->g))
		return false;
	up_url(c->req.up, buf, cap);
	return true;
}

bool up_tls_error(struct uconn *u, const char *action)
{
	int level;
	const char *e = tls_conn_error(u->tls, &level);

	if (!e)
		return false;
	up_log(u, (enum log_level)level, "%s while %s", e, action);
	return true;
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

int build_request(struct uconn *u)
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
bool early_answer(struct uconn *u)
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
bool await_head(struct uconn *u)
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

/* send_error - sending U's request failed with errno E (not EAGAIN):
 * the answer that came early goes out, else the next server is tried. */
static void send_error(struct uconn *u, int e)
{
	/* an upstream that answered and closed without reading the whole
	 * streamed body: its answer goes out */
	if ((e == EPIPE || e == ECONNRESET) && early_answer(u))
		return;
	if (e == EPROTO && up_tls_error(u, "sending request to upstream")) {
		up_next(u, NU_ERROR);
		return;
	}
	up_log(u, LOG_ERR, "writev() failed (%d: %s) while sending request to upstream", e,
	       strerror(e));
	up_next(u, NU_ERROR);
}

/* up_send_plain - U's unsent request when it is only bytes in memory (its
 * head, and a body read whole) on a plain TCP upstream: into IOV, their
 * number; 0 when it is anything else (TLS, gRPC, FastCGI records, a
 * streamed or spooled body) or nothing is left to send. */
int up_send_plain(const struct uconn *u, struct iovec iov[2])
{
	const struct http_req *r = &u->c->req;
	const struct cfg_loc *l = r->loc;
	bool body = r->body_kind != BODY_NONE && l->proxy_pass_request_body && !l->proxy_set_body;
	int n = 0;

	if (u->tls || u->gr.on || u->fc.on || r->rbody || !u->writable || u->send_err ||
	    (body && r->body_fd >= 0))
		return 0;
	if (u->head_off < u->head_len)
		iov[n++] = (struct iovec){u->head + u->head_off, u->head_len - u->head_off};
	if (body && u->body_off < r->body_mem.end)
		iov[n++] = (struct iovec){r->body_mem.data + u->body_off,
					  r->body_mem.end - u->body_off};
	return n;
}

/* up_send_done - a batched send of up_send_plain()'s bytes returned RES
 * (bytes, or -errno); up_send() goes on from there in the same round. */
void up_send_done(struct uconn *u, int res)
{
	size_t k, h;

	if (res == 0 || res == -EAGAIN || res == -ECANCELED || res == -EINTR)
		return; /* nothing went: up_send() writes, and waits if need be */
	if (res < 0) {
		u->send_err = -res;
		return;
	}
	u->tx += (uint64_t)res;
	u->sent_any = true;
	k = (size_t)res;
	h = LBD_MIN(k, u->head_len - u->head_off);
	u->head_off += h;
	u->body_off += k - h;
}

void up_send(struct uconn *u)
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
	if (unlikely(u->send_err)) { /* from the round's batch (proxy_flush) */
		int e = u->send_err;

		u->send_err = 0;
		send_error(u, e);
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
			send_error(u, errno);
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
