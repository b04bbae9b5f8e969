/* SPDX-License-Identifier: MIT */
/*
 * Byte ranges, the pure part: the Range parser as nginx 1.22 reads it
 * (ngx_http_range_parse), If-Range, and the multipart/byteranges framing
 * (part headers and lengths). No allocation: the caller sizes the part
 * array with range_count_max. The HTTP side is range_send.c.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "h1.h"
#include "range.h"

size_t range_count_max(struct lstr v)
{
	size_t n = 1;

	for (size_t i = 0; i < v.len; i++)
		n += v.p[i] == ',';
	return n;
}

struct lstr range_value(struct lstr range)
{
	if (range.len < 7 || strncasecmp(range.p, "bytes=", 6) != 0)
		return (struct lstr){NULL, 0};
	return (struct lstr){range.p + 6, range.len - 6};
}

/* num - digits at *P (before E) into *OUT; false on none or on overflow
 * past INT64_MAX (nginx: 416). */
static bool num(const char **p, const char *e, int64_t *out)
{
	const char *s = *p;
	int64_t v = 0;

	if (s == e || *s < '0' || *s > '9')
		return false;
	for (; s < e && *s >= '0' && *s <= '9'; s++) {
		int d = *s - '0';

		if (v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return true;
}

static const char *spaces(const char *p, const char *e)
{
	while (p < e && *p == ' ')
		p++;
	return p;
}

enum range_rc range_parse(struct lstr v, int64_t len, size_t max, struct range_part *out,
			  size_t cap, size_t *n)
{
	const char *p = v.p, *e = v.p + v.len;
	int64_t size = 0;

	*n = 0;
	for (;;) {
		int64_t start = 0, end = 0;

		p = spaces(p, e);
		if (p < e && *p == '-') {
			/* -N: the last N bytes */
			p++;
			if (!num(&p, e, &end))
				return RANGE_UNSATISFIABLE;
			p = spaces(p, e);
			if (p < e && *p != ',')
				return RANGE_UNSATISFIABLE;
			start = end < len ? len - end : 0;
			end = len;
		} else {
			if (!num(&p, e, &start))
				return RANGE_UNSATISFIABLE;
			p = spaces(p, e);
			if (p == e || *p++ != '-')
				return RANGE_UNSATISFIABLE;
			p = spaces(p, e);
			if (p == e || *p == ',') {
				end = len; /* S-: to the end */
			} else {
				if (!num(&p, e, &end))
					return RANGE_UNSATISFIABLE;
				p = spaces(p, e);
				if (p < e && *p != ',')
					return RANGE_UNSATISFIABLE;
				/* inclusive end, clipped to the entity */
				end = end >= len ? len : end + 1;
			}
		}
		if (start < end) {
			if (size > INT64_MAX - (end - start))
				return RANGE_UNSATISFIABLE;
			size += end - start;
			/* one more than max_ranges: the whole entity */
			if (*n == max || *n == cap)
				return RANGE_WHOLE;
			out[*n].start = start;
			out[*n].end = end;
			(*n)++;
		} else if (start == 0) {
			return RANGE_WHOLE;
		}
		if (p == e)
			break;
		p++; /* the ',' */
	}
	if (!*n)
		return RANGE_UNSATISFIABLE;
	/* overlapping ranges asking for more than the entity: send it once */
	return size > len ? RANGE_WHOLE : RANGE_PARTIAL;
}

bool range_if_range(struct lstr ir, struct lstr etag, int64_t lm_time)
{
	if (ir.len >= 2 && ir.p[ir.len - 1] == '"')
		return etag.len && etag.len == ir.len && memcmp(etag.p, ir.p, ir.len) == 0;
	return lm_time != -1 && h1_http_time(ir.p, ir.len) == lm_time;
}

/* Framing: each part is preceded by
 *   CRLF "--" BOUNDARY CRLF ["Content-Type: " TYPE CRLF]
 *   "Content-Range: bytes " S "-" E "/" LEN CRLF CRLF
 * and the body ends with CRLF "--" BOUNDARY "--" CRLF. */
size_t range_format_head(const struct range_set *s, size_t i, char *dst, size_t cap)
{
	int k;

	if (i == s->n)
		k = snprintf(dst, cap, "\r\n--%s--\r\n", s->boundary);
	else if (s->ctype.len)
		k = snprintf(dst, cap,
			     "\r\n--%s\r\nContent-Type: %.*s\r\n"
			     "Content-Range: bytes %lld-%lld/%lld\r\n\r\n",
			     s->boundary, (int)s->ctype.len, s->ctype.p, (long long)s->v[i].start,
			     (long long)s->v[i].end - 1, (long long)s->len);
	else
		k = snprintf(dst, cap, "\r\n--%s\r\nContent-Range: bytes %lld-%lld/%lld\r\n\r\n",
			     s->boundary, (long long)s->v[i].start, (long long)s->v[i].end - 1,
			     (long long)s->len);
	return k < 0 || (size_t)k >= cap ? 0 : (size_t)k;
}

static size_t dec_len(int64_t v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

int64_t range_multipart_len(const struct range_set *s)
{
	/* CRLF "--" B CRLF ... "Content-Range: bytes " ... "-" ... "/" ... CRLF CRLF */
	int64_t fixed = 2 + 2 + RANGE_BOUNDARY_LEN + 2 + 21 + 1 + 1 + 4, n;

	if (s->ctype.len)
		fixed += 14 + (int64_t)s->ctype.len + 2; /* "Content-Type: " TYPE CRLF */
	n = 2 + 2 + RANGE_BOUNDARY_LEN + 2 + 2;		 /* the closing boundary */
	for (size_t i = 0; i < s->n; i++)
		n += fixed +
		     (int64_t)(dec_len(s->v[i].start) + dec_len(s->v[i].end - 1) +
			       dec_len(s->len)) +
		     (s->v[i].end - s->v[i].start);
	return n;
}

void range_boundary(char dst[RANGE_BOUNDARY_LEN + 1])
{
	static __thread uint64_t next;

	if (!next) {
		uint32_t r = 0;

		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r = 1;
		next = (uint64_t)(r % 100000000u) + 1;
	}
	snprintf(dst, RANGE_BOUNDARY_LEN + 1, "%020llu", (unsigned long long)next++);
}
