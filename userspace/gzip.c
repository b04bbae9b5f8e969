/* SPDX-License-Identifier: MIT */
/*
 * Response compression, as nginx 1.22's gzip filter, gzip_static module
 * and ngx_http_gzip_ok() decide and do it.
 *
 * Decision: a response is compressed when `gzip on`, its status is 200,
 * 403 or 404, it has no Content-Encoding, a known length is at least
 * gzip_min_length, its type is in gzip_types and it has a body; then the
 * client must accept gzip (Accept-Encoding read as nginx reads it, with
 * its quirks), not be MSIE 4-6 under `gzip_disable msie6`, speak at least
 * gzip_http_version, pass gzip_proxied when it came with Via, and not
 * match a gzip_disable regex. The client's answer is computed once per
 * request, as nginx's r->gzip_tested.
 *
 * Streaming: the compressor takes each span of body bytes as the proxy
 * relays it (or as read from a static file) and its output goes out as
 * chunks (HTTP/1.1) or until close (HTTP/1.0); nothing new is read while
 * output is unsent. Compressors (zlib stream + output buffer) come from a
 * per-thread free list per window size and memLevel, so a worker allocates only when
 * its list is empty; the lists are bounded (GZ_FREE_PER_CLASS).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <unistd.h>
#include <fcntl.h>
#include <zlib.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "embed.h"
#include "gzip.h"
#include "http.h"
#include "log.h"

#define GZ_PREFIX	  12	      /* room for a chunk-size line before the data */
#define GZ_OUT_SIZE	  (16 * 1024) /* compressed bytes per output span */
#define GZ_SUFFIX	  8	      /* "\r\n" after a chunk, then "0\r\n\r\n" */
#define GZ_IN_SIZE	  (16 * 1024) /* static file bytes read per step */
#define GZ_WBITS_MIN	  9
#define GZ_WBITS_MAX	  15
#define GZ_MEMLEVEL_MAX	  9
#define GZ_CLASSES	  ((GZ_WBITS_MAX - GZ_WBITS_MIN + 1) * GZ_MEMLEVEL_MAX)
#define GZ_FREE_PER_CLASS 4 /* compressors a thread keeps per window size and memLevel */

/* struct gzip_ctx - one compressor: a zlib deflate stream (gzip wrapper)
 * and the buffer its output is framed in. */
struct gzip_ctx {
	z_stream zs;	       /* next_in points at the caller's bytes (relay) or in[] */
	struct gzip_ctx *next; /* free list */
	int wbits;	       /* windowBits (9..15) it was made with */
	int mem_level;	       /* memLevel (1..9) it was made with */
	bool finished;	       /* the gzip trailer is out of deflate */
	bool more;	       /* the last deflate filled out[]: call again */
	const char *pend;      /* static file: output not yet written */
	size_t pend_len;       /* its length */
	char out[GZ_PREFIX + GZ_OUT_SIZE + GZ_SUFFIX];
	char in[GZ_IN_SIZE]; /* static file input */
};

static __thread struct gzip_ctx *gz_free[GZ_CLASSES];
static __thread int gz_nfree[GZ_CLASSES];
static __thread pcre2_match_data *gz_md;

/* ---- parsing: nginx's readings of the headers involved ---------------------- */

static const char *find_ci(const char *p, const char *end, const char *lit, size_t n)
{
	for (; (size_t)(end - p) >= n; p++)
		if (strncasecmp(p, lit, n) == 0)
			return p;
	return NULL;
}

/* quantity - ngx_http_gzip_quantity: 0 for q=0 and for anything invalid;
 * a non-zero value otherwise (digits are summed, not scaled, as nginx). */
static unsigned quantity(const char *p, const char *last)
{
	unsigned q, n = 0;
	char ch = *p++;

	if (ch != '0' && ch != '1')
		return 0;
	q = (unsigned)(ch - '0') * 100;
	if (p == last)
		return q;
	ch = *p++;
	if (ch == ',' || ch == ' ')
		return q;
	if (ch != '.')
		return 0;
	while (p < last) {
		ch = *p++;
		if (ch == ',' || ch == ' ')
			break;
		if (ch < '0' || ch > '9')
			return 0;
		q += (unsigned)(ch - '0');
		n++;
	}
	return q > 100 || n > 3 ? 0 : q;
}

bool gzip_accept_encoding(const char *s, size_t len)
{
	const char *start = s, *last = s + len, *p;

	if (len < 4)
		return false;
	if (len >= 5 && memcmp(s, "gzip,", 5) == 0)
		return true;
	/* the first "gzip" at the start of a search or after ',' or ' ' */
	for (;;) {
		p = find_ci(start, last, "gzip", 4);
		if (!p)
			return false;
		if (p == start || p[-1] == ',' || p[-1] == ' ')
			break;
		start = p + 4;
	}
	p += 4;
	while (p < last) {
		switch (*p++) {
		case ',':
			return true;
		case ';':
			goto params;
		case ' ':
			continue;
		default:
			return false;
		}
	}
	return true;
params:
	while (p < last) {
		switch (*p++) {
		case 'q':
		case 'Q':
			if (p + 2 > last || *p++ != '=')
				return false;
			return quantity(p, last) != 0;
		case ' ':
			continue;
		default:
			return false;
		}
	}
	return true;
}

bool gzip_msie6(const char *ua, size_t len)
{
	const char *end = ua + len, *m;

	if (memmem(ua, len, "Opera", 5))
		return false;
	m = memmem(ua, len, "MSIE ", 5);
	if (!m || m + 7 >= end || m[6] != '.')
		return false;
	switch (m[5]) {
	case '4':
	case '5':
		return true;
	case '6':
		return !memmem(m + 8, (size_t)(end - (m + 8)), "SV1", 3);
	default:
		return false;
	}
}

bool gzip_proxied_ok(int bits, bool auth, const struct gzip_resp *resp, time_t now)
{
	if (bits & GZ_PROXIED_OFF)
		return false;
	if (bits & GZ_PROXIED_ANY)
		return true;
	if (auth && (bits & GZ_PROXIED_AUTH))
		return true;
	if (resp->has_expires) {
		int64_t e;

		if (!(bits & GZ_PROXIED_EXPIRED))
			return false;
		e = h1_http_time(resp->expires.p, resp->expires.len);
		return e != -1 && e < (int64_t)now;
	}
	if (resp->has_cache_control) {
		struct h1_str cc = {resp->cache_control.p, resp->cache_control.len};

		return ((bits & GZ_PROXIED_NO_CACHE) && h1_list_has_token(cc, "no-cache")) ||
		       ((bits & GZ_PROXIED_NO_STORE) && h1_list_has_token(cc, "no-store")) ||
		       ((bits & GZ_PROXIED_PRIVATE) && h1_list_has_token(cc, "private"));
	}
	if ((bits & GZ_PROXIED_NO_LM) && resp->last_modified)
		return false;
	if ((bits & GZ_PROXIED_NO_ETAG) && resp->etag)
		return false;
	return true;
}

bool gzip_types_match(bool any, char *const *types, int ntypes, struct lstr ct)
{
	size_t n = ct.len;

	if (any)
		return true;
	/* nginx compares the type without a "; charset=..." parameter only */
	for (size_t i = 0; i < ct.len; i++) {
		size_t k = i + 1;

		if (ct.p[i] != ';')
			continue;
		while (k < ct.len && ct.p[k] == ' ')
			k++;
		if (ct.len - k >= 8 && strncasecmp(ct.p + k, "charset=", 8) == 0) {
			n = i;
			break;
		}
	}
	if (!n)
		return false;
	if (n == 9 && strncasecmp(ct.p, "text/html", 9) == 0)
		return true;
	for (int i = 0; i < ntypes; i++)
		if (strlen(types[i]) == n && strncasecmp(types[i], ct.p, n) == 0)
			return true;
	return false;
}

bool gzip_type_ok(const struct gzip_loc *g, struct lstr ct)
{
	return gzip_types_match(g->types_any, g->types, g->ntypes, ct);
}

void gzip_weak_etag(struct lstr v, char *buf, size_t cap, struct lstr *out)
{
	if (v.len > 2 && v.p[0] == 'W' && v.p[1] == '/') {
		*out = v;
		return;
	}
	if (v.len && v.p[0] == '"' && v.len + 2 <= cap) {
		buf[0] = 'W';
		buf[1] = '/';
		memcpy(buf + 2, v.p, v.len);
		*out = (struct lstr){buf, v.len + 2};
		return;
	}
	*out = (struct lstr){NULL, 0};
}

/* ---- the request's side -------------------------------------------------------- */

/* loc_of - the configuration level of the response: the location, or the
 * server's for answers given before one was chosen; NULL without either. */
static const struct cfg_loc *loc_of(const struct conn *c)
{
	return c->req.loc ? c->req.loc : c->req.srv ? &c->req.srv->loc : NULL;
}

/* req_hdr - the first request header NAME; false when absent. */
static bool req_hdr(const struct conn *c, const char *name, struct lstr *v)
{
	for (size_t i = 0; i < c->req.h1.nheaders; i++) {
		const struct h1_header *h = &req_hdrs(&c->req)[i];

		if (h1_str_ieq(h->name, name)) {
			*v = (struct lstr){h->value.p ? h->value.p : "", h->value.len};
			return true;
		}
	}
	*v = (struct lstr){"", 0};
	return false;
}

static bool disabled_by_regex(const struct gzip_loc *g, struct lstr ua)
{
	if (!gz_md) {
		gz_md = pcre2_match_data_create(1, NULL);
		if (!gz_md)
			return false;
	}
	for (int i = 0; i < g->ndisable; i++)
		if (pcre2_match(g->disable[i], (PCRE2_SPTR)ua.p, ua.len, 0, 0, gz_md, NULL) >= 0)
			return true;
	return false;
}

/* client_ok - ngx_http_gzip_ok: may this client get gzip (RESP: the
 * response so far, for gzip_proxied; NULL before there is one). */
static bool client_ok(struct conn *c, const struct gzip_resp *resp)
{
	struct http_req *r = &c->req;
	const struct gzip_loc *g = &loc_of(c)->gzip;
	static const struct gzip_resp none = {.length = -1};
	struct lstr ae, ua, via, auth;
	bool has_ua;

	if (r->gz.tested)
		return r->gz.ok;
	r->gz.tested = true;
	if (!req_hdr(c, "accept-encoding", &ae) || !gzip_accept_encoding(ae.p, ae.len))
		return false;
	has_ua = req_hdr(c, "user-agent", &ua);
	if (g->msie6 == 1 && has_ua && gzip_msie6(ua.p, ua.len))
		return false;
	if (r->version < g->http_version)
		return false;
	if (req_hdr(c, "via", &via) &&
	    !gzip_proxied_ok(g->proxied, req_hdr(c, "authorization", &auth), resp ? resp : &none,
			     time(NULL)))
		return false;
	if (g->ndisable && has_ua && disabled_by_regex(g, ua))
		return false;
	r->gz.ok = true;
	return true;
}

/* ---- compressors ------------------------------------------------------------------ */

static void ctx_destroy(struct gzip_ctx *z)
{
	deflateEnd(&z->zs);
	free(z);
}

/* ctx_class - the free list of compressors made with WBITS and MEM_LEVEL. */
static int ctx_class(int wbits, int mem_level)
{
	return (wbits - GZ_WBITS_MIN) * GZ_MEMLEVEL_MAX + mem_level - 1;
}

/* ctx_get - a compressor with window WBITS and memLevel MEM_LEVEL at
 * LEVEL: from this thread's free list (reset), else made. NULL without
 * memory. */
static struct gzip_ctx *ctx_get(int wbits, int mem_level, int level)
{
	int k = ctx_class(wbits, mem_level);
	struct gzip_ctx *z = gz_free[k];

	if (z) {
		gz_free[k] = z->next;
		gz_nfree[k]--;
		if (deflateReset(&z->zs) != Z_OK ||
		    deflateParams(&z->zs, level, Z_DEFAULT_STRATEGY) != Z_OK) {
			ctx_destroy(z);
			z = NULL;
		}
	}
	if (!z) {
		z = malloc(sizeof(*z));
		if (!z)
			return NULL;
		memset(&z->zs, 0, sizeof(z->zs));
		if (deflateInit2(&z->zs, level, Z_DEFLATED, wbits + 16, mem_level,
				 Z_DEFAULT_STRATEGY) != Z_OK) {
			free(z);
			return NULL;
		}
	}
	z->wbits = wbits;
	z->mem_level = mem_level;
	z->next = NULL;
	z->finished = z->more = false;
	z->pend = NULL;
	z->pend_len = 0;
	return z;
}

static void ctx_put(struct gzip_ctx *z)
{
	int k = ctx_class(z->wbits, z->mem_level);

	if (gz_nfree[k] >= GZ_FREE_PER_CLASS) {
		ctx_destroy(z);
		return;
	}
	z->zs.next_in = NULL;
	z->zs.avail_in = 0;
	z->next = gz_free[k];
	gz_free[k] = z;
	gz_nfree[k]++;
}

void gzip_worker_free(void)
{
	for (int k = 0; k < GZ_CLASSES; k++) {
		while (gz_free[k]) {
			struct gzip_ctx *z = gz_free[k];

			gz_free[k] = z->next;
			ctx_destroy(z);
		}
		gz_nfree[k] = 0;
	}
	pcre2_match_data_free(gz_md);
	gz_md = NULL;
}

void gzip_req_end(struct conn *c)
{
	if (c->req.gz.ctx)
		ctx_put(c->req.gz.ctx);
	c->req.gz.ctx = NULL;
}

/* ---- header filter ------------------------------------------------------------------ */

/* begin - gzip_begin into GR; EMBED: for the assembled answer of an
 * embed run (embed.c), which frames the output itself. */
static int begin(struct conn *c, const struct gzip_resp *resp, struct gzip_req *gr, bool embed)
{
	struct http_req *r = &c->req;
	const struct cfg_loc *l = loc_of(c);
	const struct gzip_loc *g = l ? &l->gzip : NULL;
	int wbits, mem_level;

	if (!g || !g->enable ||
	    (resp->status != 200 && resp->status != 403 && resp->status != 404) ||
	    resp->content_encoding.len || (resp->length != -1 && resp->length < g->min_length) ||
	    !gzip_type_ok(g, resp->content_type) ||
	    (!embed && unlikely(embed_applies(c, resp->status, resp->content_type))))
		return 0;
	r->gz.vary = true;
	if (!client_ok(c, resp) || r->gz.encoded)
		return 0;
	r->gz.encoded = true;
	/* HEAD: nginx decides before it drops the body: the same head, no
	 * framing, nothing to compress */
	if (r->head)
		return 1;
	/* gzip_window and gzip_hash; a smaller window (and hash, step for
	 * step, as nginx) for a short body; zlib's usable window is 262
	 * bytes short of its size */
	wbits = g->wbits;
	mem_level = g->mem_level;
	if (resp->length > 0)
		while (wbits > GZ_WBITS_MIN && resp->length < (1 << (wbits - 1)) - 262) {
			wbits--;
			mem_level--;
		}
	gr->ctx = ctx_get(wbits, LBD_MAX(1, mem_level), g->comp_level);
	if (!gr->ctx)
		return -ENOMEM;
	gr->in = gr->out = 0;
	if (embed) {
		gr->chunked = false; /* the run frames the output */
		return 1;
	}
	gr->chunked = r->version >= 11 && l->chunked_transfer_encoding;
	if (!gr->chunked)
		c->close_after = true; /* the end of the body is the close */
	return 1;
}

int gzip_begin(struct conn *c, const struct gzip_resp *resp)
{
	return begin(c, resp, &c->req.gz, false);
}

int gzip_embed_begin(struct conn *c, const struct gzip_resp *resp, struct gzip_req *gr)
{
	return begin(c, resp, gr, true);
}

bool gzip_client_ok(struct conn *c, const struct gzip_resp *resp)
{
	return client_ok(c, resp);
}

void gzip_resp_h1(struct gzip_resp *resp, int status, const struct h1_header *h, size_t n)
{
	*resp = (struct gzip_resp){.status = status, .length = -1};
	for (size_t i = 0; i < n; i++) {
		struct lstr v = {h[i].value.p ? h[i].value.p : "", h[i].value.len};
		uint64_t cl;

		if (H1_IS(h[i].name, "content-length")) {
			if (h1_parse_content_length(h[i].value, &cl) == 0 && cl <= INT64_MAX)
				resp->length = (int64_t)cl;
		} else if (H1_IS(h[i].name, "content-type")) {
			resp->content_type = v;
		} else if (H1_IS(h[i].name, "content-encoding")) {
			resp->content_encoding = v;
		} else if (H1_IS(h[i].name, "expires") && !resp->has_expires) {
			resp->expires = v;
			resp->has_expires = true;
		} else if (H1_IS(h[i].name, "cache-control") && !resp->has_cache_control) {
			resp->cache_control = v;
			resp->has_cache_control = true;
		} else if (H1_IS(h[i].name, "last-modified")) {
			resp->last_modified = true;
		} else if (H1_IS(h[i].name, "etag")) {
			resp->etag = true;
		}
	}
}

int gzip_begin_h1(struct conn *c, int status, const struct h1_header *h, size_t n)
{
	struct gzip_resp resp;

	if (!c->req.loc->gzip.enable)
		return 0;
	gzip_resp_h1(&resp, status, h, n);
	if (c->req.sf.active) {
		/* sub_filter ran first: no length, and its Last-Modified and
		 * ETag edits, as nginx's gzip filter sees them */
		resp.length = -1;
		if (!c->req.sf.keep_lm)
			resp.last_modified = resp.etag = false;
	}
	return gzip_begin(c, &resp);
}

int gzip_header(struct conn *c, struct h1_str name, struct h1_str value)
{
	if (H1_IS(name, "content-length") || H1_IS(name, "accept-ranges"))
		return 1;
	if (!H1_IS(name, "etag"))
		return 0;
	return gzip_head_weak_etag(c, name, value);
}

int gzip_head_weak_etag(struct conn *c, struct h1_str name, struct h1_str value)
{
	char *buf;
	struct lstr w;

	buf = pool_alloc(&c->pool, value.len + 2);
	if (!buf)
		return -ENOMEM;
	gzip_weak_etag((struct lstr){value.p, value.len}, buf, value.len + 2, &w);
	if (w.len && http_head_add(c, name.p, name.len, w.p, w.len))
		return -ENOMEM;
	return 1;
}

int gzip_head_add(struct conn *c)
{
	const struct http_req *r = &c->req;
	int rc = 0;

	if (r->gz.encoded) {
		rc = http_out_append(c, "Content-Encoding: gzip\r\n", 24);
		if (!rc && r->gz.chunked)
			rc = http_out_append(c, "Transfer-Encoding: chunked\r\n", 28);
	}
	if (!rc && r->gz.vary && loc_of(c)->gzip.vary == 1)
		rc = http_out_append(c, "Vary: Accept-Encoding\r\n", 23);
	return rc ? -ENOMEM : 0;
}

/* ---- body ------------------------------------------------------------------------- */

/* step - one deflate call into out[]; *o and *olen: what came out, framed.
 * LAST finishes the stream once the input is taken. OWN_END: the last
 * chunk is left to http_trailers_end (add_trailer). 0, or -1. */
static int step(struct gzip_req *gr, bool last, bool own_end, const char **o, size_t *olen)
{
	static const char hexd[] = "0123456789abcdef";
	struct gzip_ctx *z = gr->ctx;
	char *data = z->out + GZ_PREFIX, *start = data, *end;
	uInt in0 = z->zs.avail_in;
	size_t n;
	int rc;

	z->zs.next_out = (Bytef *)data;
	z->zs.avail_out = GZ_OUT_SIZE;
	rc = deflate(&z->zs, last ? Z_FINISH : Z_NO_FLUSH);
	if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
		return -1;
	n = GZ_OUT_SIZE - z->zs.avail_out;
	gr->in += in0 - z->zs.avail_in;
	gr->out += n;
	z->more = z->zs.avail_out == 0;
	z->finished = rc == Z_STREAM_END;
	end = data + n;
	if (gr->chunked) {
		if (n) {
			size_t v = n;

			*--start = '\n';
			*--start = '\r';
			do
				*--start = hexd[v & 15];
			while (v >>= 4);
			*end++ = '\r';
			*end++ = '\n';
		}
		if (z->finished && !own_end) {
			memcpy(end, "0\r\n\r\n", 5);
			end += 5;
		}
	}
	*o = start;
	*olen = (size_t)(end - start);
	return 0;
}

bool gzip_busy(const struct conn *c, bool last)
{
	const struct gzip_ctx *z = c->req.gz.ctx;

	return z && !z->finished && (z->zs.avail_in || z->more || last);
}

int gzip_relay(struct conn *c, const char **span, size_t *len, bool last)
{
	struct gzip_req *gr = &c->req.gz;
	struct gzip_ctx *z = gr->ctx;

	if (*len) {
		z->zs.next_in = (Bytef *)(uintptr_t)*span;
		z->zs.avail_in = (uInt)*len;
		*len = 0;
	}
	while (gzip_busy(c, last)) {
		uLong before = z->zs.total_in + z->zs.total_out;

		if (step(gr, last, http_trailers_own_end(c), span, len)) {
			log_emit(c->req.loc->error_log, LOG_ERR, "deflate() failed");
			return -1;
		}
		if (*len)
			return 0;
		if (z->zs.total_in + z->zs.total_out == before && !z->finished) {
			if (last)
				return -1; /* Z_FINISH with room always progresses */
			break;
		}
	}
	return 0;
}

int gzip_feed(struct gzip_req *gr, const char *p, size_t n, bool last, const char **o, size_t *olen)
{
	struct gzip_ctx *z = gr->ctx;

	*olen = 0;
	if (n) {
		z->zs.next_in = (Bytef *)(uintptr_t)p;
		z->zs.avail_in = (uInt)n;
	}
	if (z->finished || (!z->zs.avail_in && !z->more && !last))
		return 0;
	if (step(gr, last, true, o, olen))
		return -1;
	return !z->finished && (z->zs.avail_in || z->more || last) ? 1 : 0;
}

void gzip_gr_end(struct gzip_req *gr)
{
	if (gr->ctx)
		ctx_put(gr->ctx);
	gr->ctx = NULL;
}

int gzip_mem(struct conn *c, const char *p, size_t n, size_t *wrote)
{
	struct gzip_req *gr = &c->req.gz;
	struct gzip_ctx *z = gr->ctx;

	*wrote = 0;
	z->zs.next_in = (Bytef *)(uintptr_t)p;
	z->zs.avail_in = (uInt)n;
	while (!z->finished) {
		const char *o;
		size_t ol;

		if (step(gr, true, http_trailers_own_end(c), &o, &ol) || http_out_append(c, o, ol))
			return -1;
		*wrote += ol;
	}
	return 0;
}

int gzip_send_file(struct conn *c)
{
	struct gzip_req *gr = &c->req.gz;
	struct gzip_ctx *z = gr->ctx;

	for (;;) {
		if (z->pend_len) {
			int rc = http_send_pending(c, &z->pend, &z->pend_len);

			if (rc <= 0)
				return rc;
		}
		if (z->finished)
			return 1;
		if (!z->zs.avail_in && !z->more && c->file_off < c->file_end) {
			ssize_t n = http_file_read(c, z->in, GZ_IN_SIZE);

			if (n < 0)
				return (int)n;
			z->zs.next_in = (Bytef *)z->in;
			z->zs.avail_in = (uInt)n;
		}
		if (step(gr, c->file_off >= c->file_end, http_trailers_own_end(c), &z->pend,
			 &z->pend_len)) {
			log_emit(c->req.loc->error_log, LOG_ERR, "deflate() failed");
			return -EIO;
		}
	}
}

/* ---- gzip_static ------------------------------------------------------------------ */

int gzip_static_open(struct conn *c, const char *path, struct stat *st)
{
	const struct cfg_loc *l = c->req.loc;
	size_t n = strlen(path);
	bool ok;
	char *gz;
	int fd;

	if (l->gzip.static_mode == GZ_STATIC_OFF)
		return -1;
	ok = l->gzip.static_mode == GZ_STATIC_ALWAYS || client_ok(c, NULL);
	if (!ok && l->gzip.vary != 1)
		return -1;
	gz = pool_alloc(&c->pool, n + 4);
	if (!gz)
		return -1;
	memcpy(gz, path, n);
	memcpy(gz + n, ".gz", 4);
	fd = static_open(c, gz, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return -1;
	c->req.gz.vary = true;
	if (!ok || fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

size_t gzip_ratio(const struct conn *c, char *buf, size_t cap)
{
	const struct gzip_req *gr = &c->req.gz;
	uint64_t v;
	int n;

	if (!gr->out)
		return 0;
	/* hundredths, rounded as nginx does */
	v = (gr->in * 1000 / gr->out + 5) / 10;
	n = snprintf(buf, cap, "%llu.%02llu", (unsigned long long)(v / 100),
		     (unsigned long long)(v % 100));
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
