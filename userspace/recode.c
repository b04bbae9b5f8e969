/* SPDX-License-Identifier: MIT */
/*
 * The recoder of nginx's charset filter (ngx_http_charset_filter_module),
 * its behaviour learnt from nginx 1.22, written afresh:
 *
 * - single-byte to single-byte: a 256-byte table, one byte for one;
 * - single-byte to UTF-8: each byte becomes the 1..3 bytes the map gives;
 *   bytes >= 0x80 the map does not name become "?";
 * - UTF-8 to single-byte: each code point the map names becomes its byte,
 *   one it does not name becomes "&#N;" (decimal), an invalid sequence
 *   "?". A sequence cut at the end of one read waits in the state for the
 *   next; one still cut at the end of the body is dropped.
 *
 * nginx, finishing a held sequence with the next buffer, can drop bytes of
 * an invalid one that were held; here held bytes that the decoder did not
 * take are decoded again, so the output never depends on where the body
 * was cut (the fuzz target checks this).
 */
#include <errno.h>
#include <string.h>

#include "lbd.h"
#include "pool.h"
#include "recode.h"

#define U8_ERROR      0xffffffffu
#define U8_INCOMPLETE 0xfffffffeu

int recode_pair_init(struct recode_pair *p, bool utf8, struct pool *pool)
{
	memset(p, 0, sizeof(*p));
	p->utf8 = utf8;
	if (utf8) {
		p->fwd.kind = RECODE_TO_UTF8;
		p->back.kind = RECODE_FROM_UTF8;
		p->fwd.to8 = pool_alloc(pool, 256 * RECODE_UTF_LEN);
		p->back.from8 = pool_zalloc(pool, 256 * sizeof(uint8_t *));
		if (!p->fwd.to8 || !p->back.from8)
			return -ENOMEM;
		p->back.from8[0] = pool_zalloc(pool, 256);
		if (!p->back.from8[0])
			return -ENOMEM;
		for (int i = 0; i < 256; i++) {
			uint8_t *e = &p->fwd.to8[i * RECODE_UTF_LEN];

			e[0] = 1;
			e[1] = i < 128 ? (uint8_t)i : '?';
			e[2] = e[3] = 0;
			if (i < 128)
				p->back.from8[0][i] = (uint8_t)i;
		}
		return 0;
	}
	p->fwd.kind = p->back.kind = RECODE_SB;
	p->fwd.sb = pool_alloc(pool, 256);
	p->back.sb = pool_alloc(pool, 256);
	if (!p->fwd.sb || !p->back.sb)
		return -ENOMEM;
	for (int i = 0; i < 256; i++)
		p->fwd.sb[i] = p->back.sb[i] = i < 128 ? (uint8_t)i : '?';
	return 0;
}

/* hex - S[0..n) as nginx's ngx_hextoi reads it: 1+ hex digits. The value,
 * or -1 (none, not hex, or over 0xffff: no map value can be that). */
static long hex(const char *s, size_t n)
{
	long v = 0;

	if (!n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		int d = ch >= '0' && ch <= '9'	 ? ch - '0'
			: ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
			: ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
						 : -1;

		if (d < 0)
			return -1;
		v = v * 16 + d;
		if (v > 0xffff)
			return -1;
	}
	return v;
}

enum recode_add_rc recode_pair_add(struct recode_pair *p, const char *src, const char *dst,
				   struct pool *pool)
{
	long s = hex(src, strlen(src)), d;
	size_t dl = strlen(dst);

	if (s < 0 || s > 255)
		return RECODE_ADD_BAD_SRC;
	if (!p->utf8) {
		d = hex(dst, dl);
		if (d < 0 || d > 255)
			return RECODE_ADD_BAD_DST;
		p->fwd.sb[s] = (uint8_t)d;
		p->back.sb[d] = (uint8_t)s;
		return RECODE_ADD_OK;
	}
	/* 1..3 bytes as pairs of hex digits, one code point 0x80..0xffff */
	uint8_t b[RECODE_UTF_LEN] = {0};
	size_t nb = dl / 2;

	if (nb > RECODE_UTF_LEN - 1 || nb == 0 || dl % 2)
		return RECODE_ADD_BAD_DST;
	for (size_t i = 0; i < nb; i++) {
		d = hex(dst + 2 * i, 2);
		if (d < 0)
			return RECODE_ADD_BAD_DST;
		b[i] = (uint8_t)d;
	}
	const uint8_t *q = b;
	uint32_t u = b[0] < 0x80 ? U8_ERROR : recode_utf8_decode(&q, nb);

	if (u > 0xffff)
		return RECODE_ADD_BAD_DST;
	uint8_t *e = &p->fwd.to8[s * RECODE_UTF_LEN];

	e[0] = (uint8_t)nb;
	memcpy(e + 1, b, 3);
	if (!p->back.from8[u >> 8]) {
		p->back.from8[u >> 8] = pool_zalloc(pool, 256);
		if (!p->back.from8[u >> 8])
			return RECODE_ADD_NOMEM;
	}
	p->back.from8[u >> 8][u & 0xff] = (uint8_t)s;
	return RECODE_ADD_OK;
}

uint32_t recode_utf8_decode(const uint8_t **p, size_t n)
{
	uint32_t u = **p, least;
	size_t more;

	if (u >= 0xf0) {
		u &= 0x07;
		least = 0x10000;
		more = 3;
	} else if (u >= 0xe0) {
		u &= 0x0f;
		least = 0x800;
		more = 2;
	} else if (u >= 0xc2) {
		u &= 0x1f;
		least = 0x80;
		more = 1;
	} else {
		(*p)++;
		return U8_ERROR;
	}
	if (n - 1 < more)
		return U8_INCOMPLETE;
	(*p)++;
	while (more--) {
		uint32_t b = *(*p)++;

		if (b < 0x80)
			return U8_ERROR; /* nginx takes this byte with the sequence */
		u = u << 6 | (b & 0x3f);
	}
	return u >= least ? u : U8_ERROR;
}

/* entity - "&#N;" at O; the bytes written (at most RECODE_UNIT_MAX). */
static size_t entity(uint8_t *o, uint32_t n)
{
	char d[10];
	size_t k = 0, w = 0;

	do
		d[k++] = (char)('0' + n % 10);
	while (n /= 10);
	o[w++] = '&';
	o[w++] = '#';
	while (k)
		o[w++] = (uint8_t)d[--k];
	o[w++] = ';';
	return w;
}

/* one - the character at *q (AVAIL bytes there) into *o: false when it is
 * a sequence cut short (nothing taken), else true with *q and *o moved. */
static bool one(const struct recode_table *t, const uint8_t **q, size_t avail, uint8_t **o)
{
	uint32_t n;

	if (**q < 0x80) {
		*(*o)++ = *(*q)++;
		return true;
	}
	n = recode_utf8_decode(q, avail);
	if (n == U8_INCOMPLETE)
		return false;
	if (n < 0x10000) {
		const uint8_t *page = t->from8[n >> 8];

		if (page && page[n & 0xff]) {
			*(*o)++ = page[n & 0xff];
			return true;
		}
	} else if (n > 0x10ffff) {
		*(*o)++ = '?';
		return true;
	}
	*o += entity(*o, n);
	return true;
}

/* from_utf8 - recode_run for RECODE_FROM_UTF8. */
static size_t from_utf8(struct recode_state *s, const uint8_t *p, size_t n, size_t *used,
			uint8_t *out, size_t cap)
{
	const uint8_t *start = p, *end = p + n;
	uint8_t *o = out, *oend = out + cap;

	/* held bytes first, with the new ones joined behind them */
	while (s->nsaved) {
		uint8_t tmp[2 * RECODE_UTF_LEN];
		size_t k = LBD_MIN((size_t)(end - p), (size_t)RECODE_UTF_LEN), took;
		const uint8_t *q = tmp;

		if ((size_t)(oend - o) < RECODE_UNIT_MAX)
			goto done;
		memcpy(tmp, s->saved, s->nsaved);
		memcpy(tmp + s->nsaved, p, k);
		if (!one(s->t, &q, s->nsaved + k, &o)) {
			/* still cut: every new byte joins the held ones */
			memcpy(s->saved + s->nsaved, p, k);
			s->nsaved = (uint8_t)(s->nsaved + k);
			p += k;
			goto done;
		}
		took = (size_t)(q - tmp);
		if (took >= s->nsaved) {
			p += took - s->nsaved;
			s->nsaved = 0;
		} else {
			memmove(s->saved, s->saved + took, s->nsaved - took);
			s->nsaved = (uint8_t)(s->nsaved - took);
		}
	}
	while (p < end) {
		const uint8_t *q = p;

		if (*p < 0x80) {
			if (o == oend)
				break;
			*o++ = *p++;
			continue;
		}
		if ((size_t)(oend - o) < RECODE_UNIT_MAX)
			break;
		if (!one(s->t, &q, (size_t)(end - p), &o)) {
			memcpy(s->saved, p, (size_t)(end - p));
			s->nsaved = (uint8_t)(end - p);
			p = end;
			break;
		}
		p = q;
	}
done:
	*used = (size_t)(p - start);
	return (size_t)(o - out);
}

size_t recode_run(struct recode_state *s, const char *in, size_t n, size_t *used, char *out,
		  size_t cap)
{
	const uint8_t *p = (const uint8_t *)in;
	uint8_t *o = (uint8_t *)out;
	const struct recode_table *t = s->t;
	size_t i = 0, w = 0;

	switch (t->kind) {
	case RECODE_SB:
		for (i = 0; i < n && i < cap; i++)
			o[i] = t->sb[p[i]];
		*used = i;
		return i;
	case RECODE_TO_UTF8:
		for (i = 0; i < n; i++) {
			const uint8_t *e = &t->to8[p[i] * RECODE_UTF_LEN];

			if (cap - w < e[0])
				break;
			memcpy(o + w, e + 1, e[0]);
			w += e[0];
		}
		*used = i;
		return w;
	case RECODE_FROM_UTF8:
		return from_utf8(s, p, n, used, o, cap);
	}
	*used = 0;
	return 0;
}

void recode_sb(const struct recode_table *t, char *p, size_t n)
{
	uint8_t *u = (uint8_t *)p;

	for (size_t i = 0; i < n; i++)
		u[i] = t->sb[u[i]];
}
