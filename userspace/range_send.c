/* SPDX-License-Identifier: MIT */
/*
 * Byte ranges on the wire, for static files and proxy cache hits: nginx's
 * range header filter (which 200s take a Range, If-Range, max_ranges)
 * and its body filter done with sendfile from the open file: one range
 * is the file's slice, several are multipart/byteranges whose part
 * headers are queued between slices as http_flush reaches them
 * (range_next; small parts are read into c->out with their headers). The
 * plan lives in the request pool.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "embed.h"
#include "h1.h"
#include "http.h"
#include "range.h"
#include "recode.h"

/* Parts of a multipart answer up to this size are read into c->out with
 * their headers (and the next ones while the batch stays under it), so a
 * few small parts leave in one write instead of a write and a sendfile
 * each: 3 parts of 4 KiB took 1.3x nginx's CPU per request that way
 * (bench/ranges.sh). Bigger parts go out with sendfile. */
#define RANGE_INLINE (16 * 1024)

/* hdr - the value of request header NAME, or empty. */
static struct lstr hdr(const struct conn *c, const char *name)
{
	for (size_t i = 0; i < c->req.h1.nheaders; i++)
		if (h1_str_ieq(req_hdrs(&c->req)[i].name, name))
			return (struct lstr){req_hdrs(&c->req)[i].value.p,
					     req_hdrs(&c->req)[i].value.len};
	return (struct lstr){NULL, 0};
}

enum range_rc range_start(struct conn *c, int64_t len, struct lstr etag, int64_t lm_time,
			  struct lstr ctype, bool single, struct range_set **out)
{
	const struct cfg_loc *l = c->req.loc;
	struct lstr v, ir;
	struct range_set *s;
	size_t cap, max;
	enum range_rc rc;

	*out = NULL;
	if (!l || l->max_ranges == 0)
		return RANGE_OFF;
	/* nginx: no ranges of a subrequest, nor of an answer with additions */
	if (unlikely(c->sr_parent || l->add.on || l->ssi.on == 1) &&
	    (c->sr_parent || embed_applies(c, 200, ctype)))
		return RANGE_OFF;
	v = range_value(hdr(c, "range"));
	if (!v.len)
		return RANGE_WHOLE;
	ir = hdr(c, "if-range");
	if (ir.p && !range_if_range(ir, etag, lm_time))
		return RANGE_WHOLE;
	max = single ? 1 : (size_t)l->max_ranges;
	cap = LBD_MIN(range_count_max(v), max);
	s = pool_zalloc(&c->pool, sizeof(*s));
	if (!s || !(s->v = pool_alloc(&c->pool, cap * sizeof(*s->v))))
		return RANGE_WHOLE; /* no memory: the whole entity still answers */
	rc = range_parse(v, len, max, s->v, cap, &s->n);
	if (rc != RANGE_PARTIAL) {
		if (rc == RANGE_UNSATISFIABLE) {
			char *cr = pool_alloc(&c->pool, 32);

			if (cr) {
				int k = snprintf(cr, 32, "bytes */%lld", (long long)len);

				c->req.resp_content_range = (struct lstr){cr, (size_t)k};
			}
		}
		return rc;
	}
	s->len = len;
	s->ctype = ctype;
	/* the longest part header (its fixed text, three numbers, the type)
	 * and a part small enough to go out from memory with it */
	s->scratch_len = ctype.len + 128 + RANGE_INLINE;
	if (s->n > 1 && !(s->scratch = pool_alloc(&c->pool, s->scratch_len)))
		return RANGE_WHOLE;
	if (s->n == 1) {
		s->body_len = s->v[0].end - s->v[0].start;
	} else {
		range_boundary(s->boundary);
		s->body_len = range_multipart_len(s);
	}
	*out = s;
	return RANGE_PARTIAL;
}

int range_head_add(struct conn *c, const struct range_set *s)
{
	if (s->n == 1)
		return http_head_addf(
			c, "Content-Length: %lld\r\nContent-Range: bytes %lld-%lld/%lld\r\n",
			(long long)s->body_len, (long long)s->v[0].start,
			(long long)s->v[0].end - 1, (long long)s->len);
	return http_head_addf(
		c, "Content-Type: multipart/byteranges; boundary=%s\r\nContent-Length: %lld\r\n",
		s->boundary, (long long)s->body_len);
}

void range_body(struct conn *c, struct range_set *s, int fd, int64_t base)
{
	s->base = base;
	c->file_fd = fd;
	if (s->n == 1) {
		c->file_off = base + s->v[0].start;
		c->file_end = base + s->v[0].end;
		return;
	}
	c->file_off = c->file_end = 0;
	c->req.rng = s;
	range_next(c);
}

bool range_next(struct conn *c)
{
	struct range_set *s = c->req.rng;

	if (!s || s->n == 1 || s->finished)
		return false;
	for (;;) {
		size_t i = s->next, hl = range_format_head(s, i, s->scratch, s->scratch_len);
		size_t pending = c->out.end - c->out.start;
		int64_t plen;

		if (!hl)
			goto cut;
		/* nginx's charset filter comes after its range filter: the
		 * boundaries and part headers are recoded too */
		if (c->req.rc_sb)
			recode_sb(c->req.rc_sb, s->scratch, hl);
		if (i == s->n) { /* the closing boundary */
			if (http_out_append(c, s->scratch, hl))
				goto cut;
			c->req.body_bytes_sent += hl;
			s->finished = true;
			c->file_off = c->file_end = 0;
			return true;
		}
		s->next++;
		plen = s->v[i].end - s->v[i].start;
		if (plen <= RANGE_INLINE && pending + hl + (size_t)plen <= RANGE_INLINE) {
			/* a small part goes into c->out with its header */
			ssize_t k = pread(c->file_fd, s->scratch + hl, (size_t)plen,
					  s->base + s->v[i].start);

			if (k != plen)
				goto cut;
			if (c->req.rc_sb) /* the charset filter's, the length kept */
				recode_sb(c->req.rc_sb, s->scratch + hl, (size_t)plen);
			if (http_out_append(c, s->scratch, hl + (size_t)plen))
				goto cut;
			c->req.body_bytes_sent += hl + (size_t)plen;
			continue;
		}
		if (http_out_append(c, s->scratch, hl))
			goto cut;
		c->req.body_bytes_sent += hl;
		c->file_off = s->base + s->v[i].start;
		c->file_end = s->base + s->v[i].end;
		return true;
	}
cut:
	/* no memory for c->out, or the file shrank: the response is cut,
	 * as a write error would cut it */
	s->finished = true;
	c->close_after = true;
	c->file_off = c->file_end = 0;
	return false;
}

int range_proxied(struct conn *c, const struct h1_header *h, size_t n, int status, int64_t len,
		  struct range_set **out)
{
	struct lstr etag = {NULL, 0}, lm = {NULL, 0}, ctype = {NULL, 0};
	bool ar = false;
	enum range_rc rc;

	*out = NULL;
	/* the common case, a proxied answer without a cache: untouched */
	if (!c->req.cache && !c->req.loc->proxy_force_ranges)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct lstr v = {h[i].value.p, h[i].value.len};

		if (H1_IS(h[i].name, "accept-ranges"))
			ar = true;
		else if (!etag.p && H1_IS(h[i].name, "etag"))
			etag = v;
		else if (!lm.p && H1_IS(h[i].name, "last-modified"))
			lm = v;
		else if (!ctype.p && H1_IS(h[i].name, "content-type"))
			ctype = v;
	}
	/* nginx: a cacheable answer that says Accept-Ranges, or any answer
	 * under proxy_force_ranges; the upstream's Accept-Ranges is then
	 * not passed, the filter adds its own */
	if (!c->req.loc->proxy_force_ranges && !(ar && cache_storing(c)))
		return -1;
	if (status != 200 || len < 0)
		return RANGE_OFF;
	rc = range_start(c, len, etag, lm.len ? h1_http_time(lm.p, lm.len) : -1, ctype, true, out);
	if (*out)
		c->req.rng = *out;
	return rc;
}

void range_clip(struct range_set *s, const char **p, size_t *n)
{
	int64_t a = s->seen, b = a + (int64_t)*n;
	int64_t lo = LBD_MAX(a, s->v[0].start), hi = LBD_MIN(b, s->v[0].end);

	s->seen = b;
	if (lo >= hi) {
		*n = 0;
		return;
	}
	*p += lo - a;
	*n = (size_t)(hi - lo);
}
