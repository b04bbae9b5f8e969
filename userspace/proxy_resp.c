/* SPDX-License-Identifier: MIT */
/*
 * The proxy's response head (part of proxy.c's module, see there):
 * reading and parsing the upstream's head (HTTP/1, FastCGI, uwsgi/SCGI,
 * memcached), deciding on proxy_next_upstream and X-Accel-Redirect,
 * rewriting it for the client (hidden headers, proxy_redirect,
 * proxy_cookie_*) and setting up the body's relay, cache and store.
 */

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#include "charset.h"
#include "cookie.h"
#include "gunzip.h"
#include "subfilter.h"
#include "cache.h"
#include "pbuf.h"
#include "range.h"
#include "ratelimit.h"
#include "memc.h"
#include "uwsgi.h"
#include "store.h"
#include "var.h"
#include "proxy_int.h"

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

/* process_head - the response head is in rbuf[0..n). Build the client's
 * head and set up the relay. */
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
	u->canon = NULL;
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
	/* a HEAD to memcached knows the value's length too (nginx: ranges),
	 * and so does an empty answer (Content-Length: 0, framed as FR_NONE) */
	bool len_known = u->fr == FR_LENGTH || (u->mc.on && u->sent_head && cl) ||
			 (cl && !u->sent_head && u->fr == FR_NONE && u->remaining == 0);
	int rr = range_proxied(
		c, u->resp.headers, resp->nheaders, r->status,
		!gz && (!sf || c->req.sf.sb) && !gu && len_known ? (int64_t)u->remaining : -1, &rs);

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

void up_read_head(struct uconn *u)
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
			if (errno == EPROTO &&
			    up_tls_error(u, "reading response header from upstream")) {
				up_next(u, NU_ERROR);
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

bool proxy_header_hidden(const struct cfg_loc *l, struct h1_str name)
{
	return hidden(l, name);
}
