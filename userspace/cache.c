/* SPDX-License-Identifier: MIT */
/*
 * Proxy cache: nginx's proxy_cache on disk, the request side.
 *
 * cache_start builds a request's key, looks it up in the zone's index
 * (cache_zone.c) and decides: answer from the entry (HIT, with the
 * location's filters: conditional requests, ranges, gzip, gunzip,
 * sub_filter, charset, expires), wait on the request that holds the key's
 * proxy_cache_lock, serve it stale (proxy_cache_use_stale, UPDATING, a
 * background update), or go upstream (MISS, EXPIRED, BYPASS), where the
 * response is stored (cache_store.c). Vary stubs lead to the request's
 * variant; an expired entry's validators go upstream with
 * proxy_cache_revalidate. cache_int.h holds what the files share.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "cache_int.h"
#include "cookie.h"
#include "charset.h"
#include "cfg-t.h"
#include "cfg.h"
#include "gunzip.h"
#include "gzip.h"
#include "subfilter.h"
#include "http.h"
#include "log.h"
#include "pool.h"
#include "range.h"
#include "recode.h"
#include "ratelimit.h"
#include "var.h"
#include "worker.h"

#define CACHE_LOCK_POLL	  20	/* ms between looks while waiting on a lock */
#define CACHE_FIRST_READ  16384 /* bytes read at once on a hit: small entries whole */
#define CACHE_HIT_HEADERS 100	/* stored headers gzip looks at on a hit */

/* ---- request side ------------------------------------------------------------------------ */

const char *cache_status_name(int st)
{
	static const char *const names[] = {
		[CACHE_ST_MISS] = "MISS",	  [CACHE_ST_BYPASS] = "BYPASS",
		[CACHE_ST_EXPIRED] = "EXPIRED",	  [CACHE_ST_STALE] = "STALE",
		[CACHE_ST_UPDATING] = "UPDATING", [CACHE_ST_REVALIDATED] = "REVALIDATED",
		[CACHE_ST_HIT] = "HIT",
	};

	return st > 0 && st < (int)ARRAY_SIZE(names) ? names[st] : NULL;
}

const char *cache_status_of(const struct conn *c)
{
	return c->req.cache ? cache_status_name(c->req.cache->status) : NULL;
}

static int method_bit(struct lstr m)
{
	if (lstr_eq(m, LSTR("GET")))
		return CACHE_M_GET;
	if (lstr_eq(m, LSTR("HEAD")))
		return CACHE_M_HEAD;
	if (lstr_eq(m, LSTR("POST")))
		return CACHE_M_POST;
	return 0;
}

/* cache_any_set - nginx's proxy_cache_bypass/proxy_no_cache test: some value is
 * not empty and not "0". */
bool cache_any_set(struct conn *c, const struct cval *v, int n)
{
	for (int i = 0; i < n; i++) {
		struct lstr s;

		if (cval_eval(&v[i], c, &s))
			continue;
		if (s.len && !(s.len == 1 && s.p[0] == '0'))
			return true;
	}
	return false;
}

/* cache_lock_release - give back the node's updating flag held by CR. */
void cache_lock_release(struct cache_req *cr)
{
	struct cache_stripe *s;
	struct cache_node *n, *slot;

	if (!cr->owner)
		return;
	cr->owner = false;
	s = cache_stripe_of(cr->z, cr->lock_key);
	pthread_spin_lock(&s->lock);
	n = cache_node_find(cr->z, s, cr->lock_key, &slot);
	if (n)
		n->updating = false;
	pthread_spin_unlock(&s->lock);
}

/* struct entry_view - the first bytes of an entry file, read once. */
struct entry_view {
	struct cache_fhdr h; /* its header, checked */
	const char *buf;     /* bytes [0, n) of the file (request pool) */
	size_t n;
	bool whole; /* buf holds the whole file */
};

/* hdr_of - the value of header NAME (lowercase) among H[0..N), or empty. */
static struct lstr hdr_of(const struct h1_header *h, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (h1_str_ieq(h[i].name, name))
			return (struct lstr){h[i].value.p, h[i].value.len};
	return (struct lstr){NULL, 0};
}

/* expires_drops - whether stored header NAME is left off because the
 * location's `expires` replaces it (EXP: http_expires_applies). */
static bool expires_drops(bool exp, struct h1_str name)
{
	return exp && (H1_IS(name, "expires") || H1_IS(name, "cache-control"));
}

/* serve_304 - answer C's conditional request with 304 Not Modified from
 * an entry whose stored headers are HS[0..NH): nginx's not_modified filter
 * leaves off the body, and with it Content-Type, Content-Length,
 * Content-Encoding and Accept-Ranges. */
static bool serve_304(struct conn *c, const struct h1_header *hs, size_t nh)
{
	struct http_req *r = &c->req;

	c->out.start = c->out.end = 0;
	r->status = 304;
	r->header_sent = true;
	if (r->body_kind != BODY_NONE && !r->body_done && !http_body_discardable(c))
		c->close_after = true; /* body not read, nor to be dropped */
	if (http_out_append(c, "HTTP/1.1 304 Not Modified\r\n", 27) ||
	    http_head_server(c, r->loc->server_tokens) || http_head_date(c))
		return false;
	bool exp = http_expires_applies(c);

	for (size_t i = 0; i < nh; i++)
		if (!cache_304_drops(hs[i].name) && !expires_drops(exp, hs[i].name) &&
		    http_head_add(c, hs[i].name.p, hs[i].name.len, hs[i].value.p, hs[i].value.len))
			return false;
	if (http_head_finish(c, true))
		return false;
	http_send_body(c);
	return true;
}

/* head_has - whether the stored head HEAD (LEN bytes, a status line and
 * header lines) has a header NAME (lowercase), any case. */
static bool head_has(const char *head, size_t len, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = memchr(head, '\n', len); p && (size_t)(p - head) + 1 + nl < len;
	     p = memchr(p + 1, '\n', len - (size_t)(p + 1 - head)))
		if (p[1 + nl] == ':' && strncasecmp(p + 1, name, nl) == 0)
			return true;
	return false;
}

/* add_stored - stored header H to C's head as on a proxied answer of
 * STATUS: a Content-Type with the location's charset (charset.c),
 * proxy_redirect and proxy_cookie_* on Location, Refresh and Set-Cookie
 * (the stored headers are the upstream's, as nginx keeps them). */
static int add_stored(struct conn *c, const struct h1_header *h, int status)
{
	struct lstr v = {h->value.p, h->value.len};

	if (H1_IS(h->name, "x-accel-limit-rate"))
		return 0; /* applied (serve_file), never passed on */
	if (H1_IS(h->name, "content-type"))
		v = charset_ctype(c, c->req.loc, status, v, true);
	else if (proxy_header_value(c, h->name, &v) < 0)
		return -ENOMEM;
	return http_head_add(c, h->name.p, h->name.len, v.p, v.len);
}

/* serve_file - answer C from entry FD as described by V: a small entry
 * from memory in one write, a bigger one's body with sendfile. */
static bool serve_file(struct conn *c, int fd, const struct entry_view *v)
{
	const struct cache_fhdr *h = &v->h;
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	const char *head;
	char num[24];
	size_t eol, hoff = sizeof(*h) + h->key_len;
	off_t body = (off_t)(hoff + h->head_len);

	if (hoff + h->head_len <= v->n) {
		head = v->buf + hoff;
	} else {
		char *p = pool_alloc(&c->pool, h->head_len);

		if (!p || pread(fd, p, h->head_len, (off_t)hoff) != (ssize_t)h->head_len)
			return false;
		head = p;
	}
	for (eol = 0; eol + 1 < h->head_len && head[eol] != '\r'; eol++)
		;
	if (eol + 1 >= h->head_len || head[eol + 1] != '\n')
		return false;
	num[lbd_u64toa(num, h->body_len)] = '\0';
	/* the stored headers, for gzip's decision (hits are compressed as
	 * the response they were stored from would have been) and the
	 * client's conditions */
	struct h1_header hs[CACHE_HIT_HEADERS];
	size_t nh = 0;
	int gz = 0;
	bool cond = r->cache && r->cache->has_cond && h->status == 200;
	/* nginx's range filter on a cached 200 (range_send.c): looked at
	 * when asked for, or when the Accept-Ranges sent differs from the
	 * stored one (max_ranges 0, proxy_force_ranges) */
	bool rng = h->status == 200 && (l->max_ranges == 0 || l->proxy_force_ranges ||
					hdr_of(req_hdrs(r), r->h1.nheaders, "range").len);

	/* `expires` replaces the stored Expires and Cache-Control */
	bool exp = cfg_expires_sets(l->expires_mode);
	/* `charset` may name one in the stored Content-Type (charset.c) */
	bool cs = l->charset.charset && l->charset.charset[0];
	/* proxy_redirect / proxy_cookie_* apply to hits too: a head with a
	 * header they rewrite goes one header at a time (add_stored) */
	bool rw = (l->redirect_mode && (head_has(head, h->head_len, "location") ||
					head_has(head, h->head_len, "refresh"))) ||
		  (cookie_active(&l->cookie) && head_has(head, h->head_len, "set-cookie"));

	/* an upstream's X-Accel-Limit-Rate is applied, never sent */
	bool xr = head_has(head, h->head_len, "x-accel-limit-rate");

	if (l->gzip.enable || l->gzip.gunzip == 1 || cond || rng || exp || cs || rw || xr ||
	    l->subf.set) {
		for (size_t i = eol + 2; i < h->head_len && nh < CACHE_HIT_HEADERS;) {
			const char *ln = head + i, *end = memchr(ln, '\n', h->head_len - i), *colon;
			size_t len = end ? (size_t)(end - ln) : h->head_len - i;

			i += len + 1;
			if (len && ln[len - 1] == '\r')
				len--;
			if (!len || !(colon = memchr(ln, ':', len)))
				continue;
			hs[nh].name = (struct h1_str){ln, (size_t)(colon - ln)};
			for (colon++; colon < ln + len && (*colon == ' ' || *colon == '\t');
			     colon++)
				;
			hs[nh].value = (struct h1_str){colon, (size_t)(ln + len - colon)};
			nh++;
		}
	}
	if (cond) {
		int k = cache_cond_eval(&r->cache->cond, 200, hdr_of(hs, nh, "etag"),
					hdr_of(hs, nh, "last-modified"), r->cache->cl->ims_mode);

		if (k == 412) {
			close(fd);
			http_finalize(c, 412);
			return true;
		}
		if (k == 304) {
			if (!serve_304(c, hs, nh))
				return false;
			close(fd);
			return true;
		}
	}
	c->out.start = c->out.end = 0;
	r->status = h->status;
	r->header_sent = true;
	if (r->body_kind != BODY_NONE && !r->body_done && !http_body_discardable(c))
		c->close_after = true; /* body not read, nor to be dropped */
	if (unlikely(xr) && !(l->cache.ignore & CACHE_IGN_XA_LIMIT_RATE))
		rate_upstream(c, hdr_of(hs, nh, "x-accel-limit-rate"));
	/* gunzip's header filter, sub_filter's, then gzip's, as in nginx */
	int gu = gunzip_begin_h1(c, h->status, hs, nh);

	if (gu < 0)
		return false;
	r->rc_sb = NULL; /* nothing of an answer before an internal redirect */
	int sf = (l->subf.set || l->charset.charset) && h->body_len
			 ? subfilter_begin_stored(c, h->status, hs, nh, (int64_t)h->body_len)
			 : 0;

	if (sf < 0 || (l->gzip.enable && (gz = gzip_begin_h1(c, h->status, hs, nh)) < 0))
		return false;
	/* single-byte recoding alone keeps the length (and ranges): the
	 * body's bytes are recoded on their way out (http_flush) */
	if (sf && !gz && !gu && (r->rc_sb = subfilter_take_sb(c)))
		sf = 0;
	subfilter_start(c);

	struct range_set *rs = NULL;
	enum range_rc rr = RANGE_OFF;
	struct lstr ctype = {NULL, 0};
	bool ct_done = false;

	rng = rng && !gz && !sf && !gu;
	/* nginx: ranges for a cached answer that came with Accept-Ranges */
	if (rng && (l->proxy_force_ranges || hdr_of(hs, nh, "accept-ranges").p)) {
		struct lstr lm = hdr_of(hs, nh, "last-modified");

		/* the parts' type is the one sent, "; charset=" and all (nginx's
		 * charset header filter runs before its range filter) */
		ctype = hdr_of(hs, nh, "content-type");
		if (cs && ctype.p) {
			ctype = charset_ctype(c, l, h->status, ctype, true);
			ct_done = true;
		}
		rr = range_start(c, (int64_t)h->body_len, hdr_of(hs, nh, "etag"),
				 lm.len ? h1_http_time(lm.p, lm.len) : -1, ctype, false, &rs);
		if (rr == RANGE_UNSATISFIABLE) {
			close(fd);
			http_finalize(c, 416);
			return true;
		}
		if (rs)
			r->status = 206;
	}
	exp = exp && http_expires_applies(c); /* and the status is one it applies to */
	if (http_out_append(c, "HTTP/1.1 ", 9) ||
	    (rs ? http_out_append(c, "206 Partial Content\r\n", 21)
		: http_out_append(c, head, eol + 2)) ||
	    http_head_server(c, l->server_tokens) || http_head_date(c))
		return false;
	if (rng) {
		/* the stored headers but Accept-Ranges (and the entity's type
		 * for multipart), then the lengths */
		for (size_t i = 0; i < nh; i++) {
			if (H1_IS(hs[i].name, "accept-ranges") ||
			    (rs && rs->n > 1 && H1_IS(hs[i].name, "content-type")) ||
			    expires_drops(exp, hs[i].name))
				continue;
			/* the first type as worked out for the ranges (once) */
			if (ct_done && H1_IS(hs[i].name, "content-type")) {
				if (http_head_add(c, hs[i].name.p, hs[i].name.len, ctype.p,
						  ctype.len))
					return false;
				ct_done = false;
				continue;
			}
			if (add_stored(c, &hs[i], h->status))
				return false;
		}
		if (rs ? range_head_add(c, rs)
		       : http_head_add(c, "Content-Length", 14, num, strlen(num)))
			return false;
		if (rr == RANGE_WHOLE && http_head_addf(c, "Accept-Ranges: bytes\r\n"))
			return false;
	} else if (!gz && !exp && !cs && !rw && !xr && !sf && !gu) {
		if (http_out_append(c, head + eol + 2, h->head_len - eol - 2) ||
		    http_head_add(c, "Content-Length", 14, num, strlen(num)))
			return false;
	} else {
		for (size_t i = 0; i < nh; i++) {
			int k = gu ? gunzip_header(c, hs[i].name, hs[i].value) : 0;

			/* a filtered body has no length: nginx sends no
			 * Accept-Ranges then (its range filter adds it) */
			if ((gz || sf || gu) && H1_IS(hs[i].name, "accept-ranges"))
				continue;

			if (!k && sf)
				k = subfilter_header(c, hs[i].name, hs[i].value);

			if (!k && gz)
				k = gzip_header(c, hs[i].name, hs[i].value);

			if (k < 0 || (k == 0 && !expires_drops(exp, hs[i].name) &&
				      add_stored(c, &hs[i], h->status)))
				return false;
		}
		if (!gz && !sf && !gu && http_head_add(c, "Content-Length", 14, num, strlen(num)))
			return false;
	}
	if (gunzip_head_add(c) || gzip_head_add(c) || subfilter_head_add(c) ||
	    http_head_finish(c, true))
		return false;
	if (rs && !r->head) {
		range_body(c, rs, fd, body);
	} else if (!r->head && h->body_len && v->whole && c->req.gz.ctx && !c->req.sf.ctx) {
		size_t sent = 0;

		if (gzip_mem(c, v->buf + body, h->body_len, &sent))
			return false;
		r->body_bytes_sent = sent;
		close(fd);
	} else if (!r->head && h->body_len && v->whole && !c->req.sf.ctx && !c->req.gu.ctx) {
		if (http_out_append(c, v->buf + body, h->body_len))
			return false;
		if (r->rc_sb)
			recode_sb(r->rc_sb, c->out.data + c->out.end - h->body_len, h->body_len);
		/* http_flush counts c->out as head bytes: $body_bytes_sent here */
		r->body_bytes_sent = h->body_len;
		close(fd);
	} else if (!r->head && h->body_len) {
		c->file_fd = fd;
		c->file_off = body;
		c->file_end = body + (off_t)h->body_len;
	} else {
		close(fd);
	}
	http_send_body(c);
	return true;
}

/* entry_read - open the entry file of CR's key and read its first
 * CACHE_FIRST_READ bytes into V, checked; the fd, or -1 if gone or bad. */
static int entry_read(struct cache_req *cr, struct entry_view *v)
{
	char path[PATH_MAX], *buf;
	struct stat st;
	ssize_t n;
	uint64_t total;
	int fd;

	cache_zone_path_of(cr->z, cr->key, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return -1;
	buf = pool_alloc(&cr->c->pool, CACHE_FIRST_READ);
	if (!buf)
		goto bad;
	n = pread(fd, buf, CACHE_FIRST_READ, 0);
	if (n < (ssize_t)sizeof(v->h))
		goto bad;
	memcpy(&v->h, buf, sizeof(v->h));
	if (memcmp(v->h.magic, CACHE_MAGIC, 8) != 0 || memcmp(v->h.key, cr->key, 16) != 0 ||
	    v->h.head_len > CACHE_HEAD_MAX)
		goto bad;
	total = sizeof(v->h) + v->h.key_len + v->h.head_len + v->h.body_len;
	v->buf = buf;
	v->n = (size_t)n;
	v->whole = (uint64_t)n == total;
	/* a short read is the whole file: it must be the size the header says */
	if (!v->whole &&
	    (n < CACHE_FIRST_READ || fstat(fd, &st) == -1 || (uint64_t)st.st_size != total))
		goto bad;
	return fd;
bad:
	close(fd);
	return -1;
}

/* try_serve - answer from the entry on disk as STATUS; false if unreadable. */
static bool try_serve(struct cache_req *cr, int status)
{
	struct entry_view v;
	int fd = entry_read(cr, &v);

	if (fd == -1)
		return false;
	if (v.h.flags & CACHE_F_VARY) { /* a stub is no answer */
		close(fd);
		return false;
	}
	cr->status = status;
	cr->store = false;
	cache_lock_release(cr);
	if (status != CACHE_ST_STALE) /* a STALE answer was counted a miss */
		atomic_fetch_add_explicit(&cr->z->hits, 1, memory_order_relaxed);
	if (!serve_file(cr->c, fd, &v)) {
		close(fd);
		cr->c->close_after = true;
		conn_close(cr->c);
	}
	return true;
}

/* load_validators - Last-Modified and ETag of CR's expired entry, sent
 * upstream as If-Modified-Since / If-None-Match (proxy_cache_revalidate). */
static void load_validators(struct cache_req *cr)
{
	struct entry_view v;
	const char *head, *p, *end;
	size_t hoff;
	int fd = entry_read(cr, &v);

	if (fd == -1)
		return;
	if (v.h.flags & CACHE_F_VARY) {
		close(fd);
		return;
	}
	hoff = sizeof(v.h) + v.h.key_len;
	if (hoff + v.h.head_len <= v.n) {
		head = v.buf + hoff;
	} else {
		char *b = pool_alloc(&cr->c->pool, v.h.head_len);

		if (!b || pread(fd, b, v.h.head_len, (off_t)hoff) != (ssize_t)v.h.head_len) {
			close(fd);
			return;
		}
		head = b;
	}
	close(fd);
	cr->entry_status = v.h.status;
	end = head + v.h.head_len;
	p = memchr(head, '\n', v.h.head_len); /* past the status line */
	while (p && ++p < end) {
		const char *eol = memchr(p, '\r', (size_t)(end - p)), *colon;

		if (!eol)
			break;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon && colon + 2 <= eol) {
			struct h1_str n = {p, (size_t)(colon - p)};
			struct lstr val = {colon + 2, (size_t)(eol - colon - 2)};

			if (H1_IS(n, "last-modified"))
				cr->ims = val;
			else if (H1_IS(n, "etag"))
				cr->inm = val;
		}
		p = eol + 1;
	}
	/* the values point into pool memory of this request: stable */
}

enum decide { D_UPSTREAM, D_SERVED, D_WAIT, D_VARY };

/* decide - look the key up and choose: HIT, wait on a lock, or upstream. */
static enum decide decide(struct cache_req *cr)
{
	struct cache_zone *z = cr->z;
	const struct cache_loc *cl = cr->cl;
	struct cache_stripe *s = cache_stripe_of(z, cr->key);
	struct cache_node *n;
	uint8_t ev[16];
	bool evicted, exists, fresh, locked;
	int64_t now = cache_wall_ms();

	pthread_spin_lock(&s->lock);
	n = cache_node_get(z, s, cr->key, ev, &evicted);
	if (!n) {
		pthread_spin_unlock(&s->lock);
		cr->status = CACHE_ST_MISS;
		cr->store = false;
		return D_UPSTREAM;
	}
	n->access_ms = now;
	if (n->vary && n->exists && !cr->variant) {
		/* a Vary stub: the request's variant is another key */
		pthread_spin_unlock(&s->lock);
		if (evicted)
			cache_unlink_key(z, ev);
		return D_VARY;
	}
	if (!cr->wait_until && n->uses < UINT32_MAX) /* a lock wait's polls count once */
		n->uses++;
	exists = n->exists;
	fresh = exists && n->expire_ms > now;
	locked = n->updating && n->lock_until_ms > now;
	if (!fresh && !locked && cr->store && (int)n->uses >= cl->min_uses) {
		n->updating = true;
		n->lock_until_ms = now + (cl->lock ? cl->lock_age : 5000);
		cr->owner = true;
		memcpy(cr->lock_key, cr->key, 16);
	}
	if ((int)n->uses < cl->min_uses)
		cr->store = false;
	pthread_spin_unlock(&s->lock);
	if (evicted)
		cache_unlink_key(z, ev);

	if (fresh) {
		if (try_serve(cr, CACHE_ST_HIT))
			return D_SERVED;
		exists = false; /* removed under us */
	}
	cr->stale = exists;
	cr->status = exists ? CACHE_ST_EXPIRED : CACHE_ST_MISS;
	if (cr->owner && exists && (cl->use_stale & CACHE_STALE_UPDATING) &&
	    cl->background_update && cache_bg_start(cr)) {
		/* proxy_cache_background_update: the entry is fetched on its
		 * own, this request gets the expired one (nginx: STALE) */
		atomic_fetch_add_explicit(&z->misses, 1, memory_order_relaxed);
		if (try_serve(cr, CACHE_ST_STALE))
			return D_SERVED;
		cr->store = false; /* gone meanwhile: fetch it, the update stores */
		return D_UPSTREAM;
	}
	if (locked && exists && (cl->use_stale & CACHE_STALE_UPDATING) &&
	    try_serve(cr, CACHE_ST_UPDATING))
		return D_SERVED;
	if (locked && cl->lock) {
		if (!cr->wait_until)
			cr->wait_until = now + cl->lock_timeout;
		if (now < cr->wait_until)
			return D_WAIT;
		cr->store = false; /* nginx: after lock_timeout, not cached */
	}
	if (cr->stale && cl->revalidate)
		load_validators(cr);
	return D_UPSTREAM;
}

/* cache_variant_of - CR's key becomes the variant of its main key for Vary list
 * VARY and the request's headers. false when it cannot be made. */
bool cache_variant_of(struct cache_req *cr, struct lstr vary)
{
	size_t cap = 16 + vary.len * 2 + 64;
	uint8_t v[16];
	char *scratch;

	for (size_t i = 0; i < cr->nhdrs; i++)
		cap += cr->hdrs[i].value.len + 1;
	scratch = pool_alloc(cr->pool, cap);
	if (!scratch || cache_variant_key(cr->variant ? cr->main_key : cr->key, vary, cr->hdrs,
					  cr->nhdrs, scratch, cap, v))
		return false;
	if (!cr->variant)
		memcpy(cr->main_key, cr->key, 16);
	memcpy(cr->key, v, 16);
	cr->variant = true;
	return true;
}

/* decide_vary - decide(), and when the key holds a Vary stub, decide()
 * again on the request's variant named by the stub. */
static enum decide decide_vary(struct cache_req *cr)
{
	enum decide d = decide(cr);
	struct entry_view v;
	int fd;

	if (d != D_VARY)
		return d;
	fd = entry_read(cr, &v);
	if (fd >= 0) {
		close(fd);
		if (v.whole && (v.h.flags & CACHE_F_VARY) &&
		    cache_variant_of(
			    cr, (struct lstr){v.buf + sizeof(v.h) + v.h.key_len, v.h.head_len})) {
			d = decide(cr);
			if (d != D_VARY)
				return d;
		}
	}
	/* the stub went away or is unreadable: fetch, do not store */
	cr->status = CACHE_ST_MISS;
	cr->store = false;
	return D_UPSTREAM;
}

static void wait_tick(struct ev_loop *loop, struct ev_timer *t)
{
	struct cache_req *cr = t->data;
	struct conn *c = cr->c;
	enum decide d;

	(void)loop;
	d = decide_vary(cr);
	if (d == D_WAIT) {
		ev_timer_start(&c->w->loop, &cr->timer, CACHE_LOCK_POLL);
		return;
	}
	if (d == D_UPSTREAM) {
		atomic_fetch_add_explicit(&cr->z->misses, 1, memory_order_relaxed);
		cr->resume(c);
	}
}

/* default_key - proxy_cache_key, or nginx's default: documented as
 * $scheme$proxy_host$request_uri, built by nginx from the upstream's
 * scheme with its "://" and the URI it sends upstream (proxy_pass's URI
 * part in place of the location prefix): "http://127.0.0.1:8080/a". */
static int default_key(struct conn *c, const struct cache_loc *cl, struct lstr *out)
{
	struct lstr v[3] = {LSTR("http://")};
	size_t len = v[0].len;
	char *p;

	if (cl->key_set)
		return cval_eval(&cl->key, c, out);
	if (var_get_by_name(c, "proxy_host", 10, &v[1]))
		v[1] = (struct lstr){"", 0};
	if (!c->req.loc->proxy || proxy_upstream_uri(c, &v[2]))
		v[2] = (struct lstr){"", 0};
	len += v[1].len + v[2].len;
	p = pool_alloc(&c->pool, len + 1);
	if (!p)
		return -ENOMEM;
	out->p = p;
	out->len = len;
	for (int i = 0; i < 3; i++) {
		memcpy(p, v[i].p, v[i].len);
		p += v[i].len;
	}
	return 0;
}

/* range_declined - nginx's check of a miss's Range against
 * proxy_cache_max_range_offset: a first offset at or past it, a suffix
 * range, or any range when it is 0. */
static bool range_declined(const struct cache_req *cr)
{
	int64_t max = cr->cl->max_range_offset, off = 0;
	struct lstr v = hdr_of(cr->hdrs, cr->nhdrs, "range");
	const char *p, *end;

	if (!v.p || max == INT64_MAX)
		return false;
	if (max == 0)
		return true;
	if (v.len < 7 || strncasecmp(v.p, "bytes=", 6) != 0)
		return false;
	p = v.p + 6;
	end = v.p + v.len;
	while (p < end && *p == ' ')
		p++;
	if (p < end && *p == '-')
		return true;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (off > (INT64_MAX - 9) / 10)
			return true;
		off = off * 10 + (*p - '0');
	}
	return off >= max;
}

/* zone_by_var - proxy_cache $variable: the zone of CL's module that the
 * value names for the request on C into *OUT (NULL: the value is empty or
 * "off", no caching, as nginx). -1 when no zone has that name: logged as
 * nginx logs it, the request then fails with 500. */
static int zone_by_var(struct conn *c, const struct cache_loc *cl,
		       const struct cache_zone_conf **out)
{
	struct lstr v;

	*out = NULL;
	if (cval_eval(cl->zvar, c, &v))
		return -1;
	if (v.len == 0 || lstr_eq(v, LSTR("off")))
		return 0;
	for (const struct cache_zone_conf *z = *cl->zones; z; z = z->next) {
		if (z->owner == cl->zowner && strlen(z->name) == v.len &&
		    memcmp(z->name, v.p, v.len) == 0) {
			*out = z;
			return 0;
		}
	}
	http_log(c, NULL, LOG_ERR, "cache \"%.*s\" not found", (int)v.len, v.p);
	return -1;
}

bool cache_start(struct conn *c, void (*resume)(struct conn *c))
{
	struct http_req *r = &c->req;
	const struct cache_loc *cl = &r->loc->cache;
	const struct cache_zone_conf *zc = cl->zc;
	struct cache_req *cr = r->cache;
	struct lstr k;
	enum decide d;

	if (cr) /* resumed after a lock wait: decided */
		return false;
	if (!(method_bit(r->method) & cl->methods))
		return false;
	/* nginx looks the zone up after the method check, before bypass */
	if (unlikely(!zc) && cl->zvar && zone_by_var(c, cl, &zc)) {
		http_finalize(c, 500);
		return true;
	}
	if (!zc || !zc->zone)
		return false;
	cr = pool_zalloc(&c->pool, sizeof(*cr));
	if (!cr || default_key(c, cl, &k))
		return false;
	cr->c = c;
	cr->z = zc->zone;
	cr->cl = cl;
	cr->l = r->loc;
	cr->pool = &c->pool;
	cr->hdrs = req_hdrs(r);
	cr->nhdrs = r->h1.nheaders;
	cr->fd = -1;
	cr->keytext = k;
	cr->resume = resume;
	cache_md5(k.p, k.len, cr->key);
	ev_timer_init(&cr->timer, wait_tick, cr);
	r->cache = cr;
	/* HEAD is answered from a stored GET; a miss goes upstream as GET
	 * (proxy_cache_convert_head on) and is stored, else as HEAD and is
	 * not stored */
	cr->head_get = r->head && cl->convert_head;
	cr->store = !r->head || cr->head_get;
	cache_cond_of(req_hdrs(r), r->h1.nheaders, &cr->cond);
	cr->has_cond = cr->cond.inm.len || cr->cond.ims.len || cr->cond.im.len || cr->cond.ius.len;
	if (cache_any_set(c, cl->bypass, cl->nbypass)) {
		cr->status = CACHE_ST_BYPASS;
		atomic_fetch_add_explicit(&cr->z->misses, 1, memory_order_relaxed);
		return false;
	}
	d = decide_vary(cr);
	if (d == D_WAIT) {
		/* as waiting on an upstream: the connection reads nothing more */
		c->state = CS_UPSTREAM;
		ev_timer_start(&c->w->loop, &cr->timer, CACHE_LOCK_POLL);
		return true;
	}
	if (d == D_UPSTREAM) {
		atomic_fetch_add_explicit(&cr->z->misses, 1, memory_order_relaxed);
		if (unlikely(cr->cl->max_range_offset != INT64_MAX) && range_declined(cr)) {
			/* as nginx: the request goes as if not cached */
			cr->range_pass = true;
			cr->store = false;
			cr->ims = cr->inm = (struct lstr){NULL, 0};
			cache_lock_release(cr);
		}
	}
	return d == D_SERVED;
}

void cache_req_cleanup(struct conn *c)
{
	struct cache_req *cr = c->req.cache;

	if (!cr)
		return;
	ev_timer_stop(&c->w->loop, &cr->timer);
	cache_tmp_drop(cr);
	cache_lock_release(cr);
}

/* ---- what the upstream side asks --------------------------------------------------------- */

bool cache_head_as_get(const struct conn *c)
{
	return c->req.cache && c->req.cache->head_get;
}

int cache_stale_bit(int status)
{
	switch (status) {
	case 500:
		return CACHE_STALE_500;
	case 502:
		return CACHE_STALE_502;
	case 503:
		return CACHE_STALE_503;
	case 504:
		return CACHE_STALE_504;
	case 403:
		return CACHE_STALE_403;
	case 404:
		return CACHE_STALE_404;
	case 429:
		return CACHE_STALE_429;
	default:
		return 0;
	}
}

bool cache_has_stale(const struct conn *c, int status)
{
	const struct cache_req *cr = c->req.cache;

	return cr && cr->stale && (cr->cl->use_stale & cache_stale_bit(status));
}

bool cache_validators(const struct conn *c, struct lstr *ims, struct lstr *inm)
{
	const struct cache_req *cr = c->req.cache;

	if (!cr || (!cr->ims.len && !cr->inm.len))
		return false;
	*ims = cr->ims;
	*inm = cr->inm;
	return true;
}

bool cache_skip_request_header(const struct conn *c, struct h1_str n)
{
	/* nginx's header set with proxy_cache: the client's conditions and
	 * ranges would make the upstream answer something not storable */
	const struct cache_req *cr = c->req.cache;

	/* with proxy_cache $variable only a request the cache took (nginx's
	 * u->cacheable): an empty value passes them on */
	return (c->req.loc->cache.zc || (c->req.loc->cache.zvar && cr)) &&
	       !(cr && cr->range_pass) &&
	       (H1_IS(n, "if-modified-since") || H1_IS(n, "if-unmodified-since") ||
		H1_IS(n, "if-none-match") || H1_IS(n, "if-match") || H1_IS(n, "range") ||
		H1_IS(n, "if-range"));
}

bool cache_revalidated(struct conn *c, const struct h1_response *resp)
{
	struct cache_req *cr = c->req.cache;
	struct h1_response r2;
	int64_t now = cache_wall_ms(), secs;
	char path[PATH_MAX];
	struct cache_stripe *s;
	struct cache_node *n, *slot;

	if (!cr || resp->status != 304 || (!cr->ims.len && !cr->inm.len))
		return false;
	/* the 304's own headers may set the validity; else proxy_cache_valid
	 * of the stored status */
	r2 = *resp;
	r2.status = cr->entry_status;
	secs = cache_validity(cr->cl, &r2, now / 1000);
	if (secs > 0) {
		int64_t exp = now + secs * 1000;
		int fd;

		cache_zone_path_of(cr->z, cr->key, path, sizeof(path));
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			if (pwrite(fd, &exp, sizeof(exp), offsetof(struct cache_fhdr, expire_ms)) ==
			    (ssize_t)sizeof(exp)) {
				s = cache_stripe_of(cr->z, cr->key);
				pthread_spin_lock(&s->lock);
				n = cache_node_find(cr->z, s, cr->key, &slot);
				if (n)
					n->expire_ms = exp;
				pthread_spin_unlock(&s->lock);
			}
			close(fd);
		}
	}
	cr->stale = true;
	return true;
}

bool cache_serve_revalidated(struct conn *c)
{
	struct cache_req *cr = c->req.cache;

	cache_tmp_drop(cr);
	return try_serve(cr, CACHE_ST_REVALIDATED);
}

bool cache_serve_stale(struct conn *c, int bit)
{
	struct cache_req *cr = c->req.cache;

	if (!cr || !cr->stale || !(cr->cl->use_stale & bit))
		return false;
	cache_tmp_drop(cr);
	return try_serve(cr, CACHE_ST_STALE);
}
