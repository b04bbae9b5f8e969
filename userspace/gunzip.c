/* SPDX-License-Identifier: MIT */
/*
 * Response decompression, as nginx 1.22's gunzip filter decides and does
 * it.
 *
 * Decision: `gunzip on`, the answer's Content-Encoding is exactly "gzip"
 * (case ignored) and the client may not take gzip as ngx_http_gzip_ok()
 * reads it (Accept-Encoding, gzip_http_version, gzip_proxied with Via,
 * gzip_disable); any status, as nginx, but 204 and 304 (lbd: they have no
 * body, and nginx 1.22 closes the connection on them with "inflate()
 * returned -5 on response end"). Then Content-Encoding, Content-Length,
 * Accept-Ranges go (which also turns off byte ranges), a strong ETag is
 * made weak (nginx 1.22's ngx_http_weak_etag), and "Vary: Accept-Encoding" is due under gzip_vary. It
 * runs before sub_filter and gzip in nginx; here sub_filter leaves an
 * inflated body alone, and gzip never sees one (the client that gets it
 * is one gzip would not serve).
 *
 * Streaming: the inflater takes each span of body bytes as the proxy
 * relays it (or reads them from a file) and writes at most
 * gunzip_buffers NUM*SIZE bytes at a time, framed as chunks (HTTP/1.1)
 * or until close (HTTP/1.0). The next span is inflated only once the
 * previous one is sent, so a gzip bomb costs one output buffer whatever
 * it inflates to. Members back to back are inflated in turn, as zlib's
 * gunzip does. Bad data ends the answer as nginx does: its error line,
 * then the connection is cut.
 *
 * Inflaters (zlib stream + output buffer) come from a per-thread free
 * list, matched by output size, so a worker allocates only when its list
 * has none of the size; the list is bounded (GU_FREE_MAX).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "gunzip.h"
#include "http.h"
#include "log.h"

#define GU_PREFIX   18		/* room for a chunk-size line before the data */
#define GU_SUFFIX   8		/* "\r\n" after a chunk, then "0\r\n\r\n" */
#define GU_IN_SIZE  (16 * 1024) /* file bytes read per step */
#define GU_OUT_MIN  1024	/* output span bounds, bytes */
#define GU_OUT_MAX  (1 << 20)
#define GU_FREE_MAX 4 /* inflaters a thread keeps */

/* struct gunzip_ctx - one inflater: a zlib inflate stream (gzip wrapper)
 * and the buffer its output is framed in. */
struct gunzip_ctx {
	z_stream zs;		 /* next_in points at the caller's bytes (relay) or in */
	struct gunzip_ctx *next; /* free list */
	size_t cap;		 /* output bytes per span (out[] holds framing too) */
	bool member_end;	 /* the last inflate ended a gzip member */
	bool more;		 /* the last inflate filled the span: call again */
	bool ended;		 /* the body's end is out (the last chunk, if chunked) */
	const char *pend;	 /* file body: output not yet written */
	size_t pend_len;	 /* its length */
	char *in;		 /* file body input, GU_IN_SIZE bytes (made on first use) */
	char out[];		 /* GU_PREFIX + cap + GU_SUFFIX */
};

static __thread struct gunzip_ctx *gu_free;
static __thread int gu_nfree;

/* ---- inflaters ---------------------------------------------------------------------- */

static void ctx_destroy(struct gunzip_ctx *z)
{
	inflateEnd(&z->zs);
	free(z->in);
	free(z);
}

/* ctx_get - an inflater with CAP output bytes per span: from this
 * thread's free list (reset), else made. NULL without memory. */
static struct gunzip_ctx *ctx_get(size_t cap)
{
	struct gunzip_ctx **pp = &gu_free, *z;

	while (*pp && (*pp)->cap != cap)
		pp = &(*pp)->next;
	z = *pp;
	if (z) {
		*pp = z->next;
		gu_nfree--;
		if (inflateReset(&z->zs) != Z_OK) {
			ctx_destroy(z);
			z = NULL;
		}
	}
	if (!z) {
		z = malloc(sizeof(*z) + GU_PREFIX + cap + GU_SUFFIX);
		if (!z)
			return NULL;
		memset(&z->zs, 0, sizeof(z->zs));
		z->in = NULL;
		/* windowBits + 16: a gzip wrapper, its header and trailer checked */
		if (inflateInit2(&z->zs, MAX_WBITS + 16) != Z_OK) {
			free(z);
			return NULL;
		}
	}
	z->cap = cap;
	z->next = NULL;
	z->member_end = z->more = z->ended = false;
	z->pend = NULL;
	z->pend_len = 0;
	return z;
}

static void ctx_put(struct gunzip_ctx *z)
{
	if (gu_nfree >= GU_FREE_MAX) {
		/* the oldest goes: sizes in use now are the ones worth keeping */
		struct gunzip_ctx **pp = &gu_free;

		while ((*pp)->next)
			pp = &(*pp)->next;
		ctx_destroy(*pp);
		*pp = NULL;
		gu_nfree--;
	}
	z->zs.next_in = NULL;
	z->zs.avail_in = 0;
	z->next = gu_free;
	gu_free = z;
	gu_nfree++;
}

void gunzip_worker_free(void)
{
	while (gu_free) {
		struct gunzip_ctx *z = gu_free;

		gu_free = z->next;
		ctx_destroy(z);
	}
	gu_nfree = 0;
}

void gunzip_req_end(struct conn *c)
{
	if (c->req.gu.ctx)
		ctx_put(c->req.gu.ctx);
	c->req.gu.ctx = NULL;
}

/* ---- header filter ---------------------------------------------------------------------- */

static const struct cfg_loc *loc_of(const struct conn *c)
{
	return c->req.loc ? c->req.loc : c->req.srv ? &c->req.srv->loc : NULL;
}

int gunzip_begin(struct conn *c, int status, struct lstr ce, const struct gzip_resp *resp)
{
	struct http_req *r = &c->req;
	const struct cfg_loc *l = loc_of(c);
	int64_t cap;

	if (!l || l->gzip.gunzip != 1 || ce.len != 4 || strncasecmp(ce.p, "gzip", 4) != 0 ||
	    status == 204 || status == 304 || status < 200)
		return 0;
	r->gz.vary = true;
	if (gzip_client_ok(c, resp))
		return 0;
	r->gu.active = true;
	if (r->head)
		return 1;
	cap = (int64_t)l->gzip.gunzip_num * l->gzip.gunzip_size;
	cap = LBD_MAX(GU_OUT_MIN, LBD_MIN(cap, GU_OUT_MAX));
	if (!r->gu.ctx) /* a second head for one request keeps the first inflater */
		r->gu.ctx = ctx_get((size_t)cap);
	if (!r->gu.ctx)
		return -ENOMEM;
	r->gu.chunked = r->version >= 11 && l->chunked_transfer_encoding;
	if (!r->gu.chunked)
		c->close_after = true; /* the end of the body is the close */
	return 1;
}

int gunzip_begin_h1(struct conn *c, int status, const struct h1_header *h, size_t n)
{
	struct gzip_resp resp;

	if (!c->req.loc || c->req.loc->gzip.gunzip != 1)
		return 0;
	gzip_resp_h1(&resp, status, h, n);
	return gunzip_begin(c, status, resp.content_encoding, &resp);
}

int gunzip_header(struct conn *c, struct h1_str name, struct h1_str value)
{
	if (H1_IS(name, "etag")) /* sub_filter's edit follows (dropped or weak) */
		return c->req.sf.active ? 0 : gzip_head_weak_etag(c, name, value);
	return H1_IS(name, "content-encoding") || H1_IS(name, "content-length") ||
	       H1_IS(name, "accept-ranges");
}

int gunzip_head_add(struct conn *c)
{
	if (c->req.gu.ctx && c->req.gu.chunked &&
	    http_out_append(c, "Transfer-Encoding: chunked\r\n", 28))
		return -ENOMEM;
	return 0;
}

/* ---- body ------------------------------------------------------------------------------- */

enum step_rc {
	STEP_OK = 0,
	STEP_BAD,      /* inflate() failed on the data */
	STEP_SHORT,    /* the body ended inside a member */
	STEP_INTERNAL, /* inflateReset() failed */
};

/* step - one inflate call into out[]; *o and *olen: what came out,
 * framed (CHUNKED; OWN_END: but for the last chunk, which
 * http_trailers_end writes). LAST: the body is complete, so once the
 * input is taken and the output drained, the end is written. *zrc:
 * zlib's code. */
static enum step_rc step(struct gunzip_ctx *z, bool chunked, bool own_end, bool last,
			 const char **o, size_t *olen, int *zrc)
{
	static const char hexd[] = "0123456789abcdef";
	char *data = z->out + GU_PREFIX, *start = data, *end;
	size_t n = 0;

	*zrc = Z_OK;
	if (z->zs.avail_in && z->member_end) {
		/* another member follows: nginx (and gzip -d) go on */
		if (inflateReset(&z->zs) != Z_OK)
			return STEP_INTERNAL;
		z->member_end = false;
	}
	if (z->zs.avail_in || z->more) {
		int rc;

		z->zs.next_out = (Bytef *)data;
		z->zs.avail_out = (uInt)z->cap;
		rc = inflate(&z->zs, Z_NO_FLUSH);
		*zrc = rc;
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
			return STEP_BAD;
		n = z->cap - z->zs.avail_out;
		z->more = z->zs.avail_out == 0 && rc != Z_STREAM_END;
		if (rc == Z_STREAM_END)
			z->member_end = true;
	}
	if (last && !z->zs.avail_in && !z->more && !n) {
		if (!z->member_end) {
			*zrc = Z_BUF_ERROR; /* what nginx's Z_FINISH call returns here */
			return STEP_SHORT;
		}
		z->ended = true;
	}
	end = data + n;
	if (chunked) {
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
		if (z->ended && !own_end) {
			memcpy(end, "0\r\n\r\n", 5);
			end += 5;
		}
	}
	*o = start;
	*olen = (size_t)(end - start);
	return STEP_OK;
}

/* step_log - nginx's line for a failed step RC (zlib code ZRC). */
static void step_log(const struct conn *c, enum step_rc rc, int zrc)
{
	switch (rc) {
	case STEP_BAD:
		http_log(c, NULL, LOG_ERR, "inflate() failed: %d, %d while sending to client",
			 Z_NO_FLUSH, zrc);
		break;
	case STEP_SHORT:
		http_log(c, NULL, LOG_ERR,
			 "inflate() returned %d on response end while sending to client", zrc);
		break;
	case STEP_INTERNAL:
		http_log(c, NULL, LOG_ALERT, "inflateReset() failed while sending to client");
		break;
	case STEP_OK:
		break;
	}
}

static bool ctx_busy(const struct gunzip_ctx *z, bool last)
{
	return z && !z->ended && (z->zs.avail_in || z->more || last);
}

bool gunzip_busy(const struct conn *c, bool last)
{
	return ctx_busy(c->req.gu.ctx, last);
}

/* feed - gunzip_relay on Z alone: the span in (taken), the next output
 * out. STEP_OK, or the failure (*zrc: zlib's code). An inflate that moves
 * nothing while input waits fails too: the relay would spin on it. */
static enum step_rc feed(struct gunzip_ctx *z, bool chunked, bool own_end, const char **span,
			 size_t *len, bool last, int *zrc)
{
	*zrc = Z_OK;
	if (*len) {
		z->zs.next_in = (Bytef *)(uintptr_t)*span;
		z->zs.avail_in = (uInt)*len;
		*len = 0;
	}
	while (ctx_busy(z, last)) {
		uInt in0 = z->zs.avail_in;
		bool ended0 = z->ended, end0 = z->member_end;
		enum step_rc rc = step(z, chunked, own_end, last, span, len, zrc);

		if (rc != STEP_OK || *len)
			return rc;
		if (z->zs.avail_in == in0 && z->ended == ended0 && z->member_end == end0) {
			if (z->zs.avail_in)
				return STEP_BAD;
			if (last)
				return STEP_SHORT;
			break; /* zlib wants more input than there is */
		}
	}
	return STEP_OK;
}

int gunzip_relay(struct conn *c, const char **span, size_t *len, bool last)
{
	int zrc;
	enum step_rc rc = feed(c->req.gu.ctx, c->req.gu.chunked, http_trailers_own_end(c), span,
			       len, last, &zrc);

	if (rc == STEP_OK)
		return 0;
	step_log(c, rc, zrc);
	return -1;
}

/* file_feed - the inflater's next input from the file, when it has taken
 * the last and the file has more. 0 or -errno. */
static int file_feed(struct conn *c, struct gunzip_ctx *z)
{
	ssize_t n;

	if (z->zs.avail_in || z->more || c->file_off >= c->file_end)
		return 0;
	if (!z->in && !(z->in = malloc(GU_IN_SIZE)))
		return -ENOMEM;
	n = http_file_read(c, z->in, GU_IN_SIZE);
	if (n < 0)
		return (int)n;
	z->zs.next_in = (Bytef *)z->in;
	z->zs.avail_in = (uInt)n;
	return 0;
}

int gunzip_send_file(struct conn *c)
{
	struct gunzip_req *gr = &c->req.gu;
	struct gunzip_ctx *z = gr->ctx;

	for (;;) {
		enum step_rc rc;
		int zrc, rc0;

		if (z->pend_len) {
			int w = http_send_pending(c, &z->pend, &z->pend_len);

			if (w <= 0)
				return w;
		}
		if (z->ended)
			return 1;
		if ((rc0 = file_feed(c, z)) != 0)
			return rc0;
		rc = step(z, gr->chunked, http_trailers_own_end(c), c->file_off >= c->file_end,
			  &z->pend, &z->pend_len, &zrc);
		if (rc != STEP_OK) {
			step_log(c, rc, zrc);
			return -EIO;
		}
	}
}

void gunzip_feeds_filter(struct conn *c)
{
	c->req.gu.chunked = false; /* sub_filter frames what comes out of here */
}

int gunzip_file_span(struct conn *c, const char **span, size_t *len)
{
	struct gunzip_ctx *z = c->req.gu.ctx;

	*len = 0;
	while (!*len && !z->ended) {
		enum step_rc rc;
		int zrc, rc0;

		if ((rc0 = file_feed(c, z)) != 0)
			return rc0;
		rc = feed(z, false, false, span, len, c->file_off >= c->file_end, &zrc);
		if (rc != STEP_OK) {
			step_log(c, rc, zrc);
			return -EIO;
		}
	}
	return 0;
}

int64_t gunzip_inflate(const void *in, size_t n, size_t piece, void *out, size_t cap, size_t span)
{
	struct gunzip_ctx *z = ctx_get(LBD_MAX(span, 1));
	const char *p = in, *end = p + n;
	int64_t total = 0;

	if (!z)
		return -1;
	piece = LBD_MAX(piece, 1);
	do {
		size_t k = LBD_MIN(piece, (size_t)(end - p));
		const char *o = p;
		size_t ol = k;
		bool last = p + k == end;
		int zrc;

		p += k;
		/* as the relay: the piece stays put while the inflater is busy */
		do {
			if (feed(z, false, false, &o, &ol, last, &zrc) != STEP_OK ||
			    (size_t)total + ol > cap) {
				total = -1;
				goto out;
			}
			if (!ol)
				break; /* the piece is taken: the next one */
			memcpy((char *)out + total, o, ol);
			total += (int64_t)ol;
			ol = 0;
		} while (ctx_busy(z, last));
	} while (p < end);
	if (!z->ended)
		total = -1;
out:
	ctx_put(z);
	return total;
}
