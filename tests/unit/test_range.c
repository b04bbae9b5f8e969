/* SPDX-License-Identifier: MIT */
/*
 * range.c: the Range parser against nginx 1.22's answers (single, suffix,
 * open, clipped, skipped, overflowing, bad syntax, overlapping, the
 * max_ranges cut), "bytes=" detection, If-Range, and the multipart
 * framing whose computed length must equal the bytes formatted.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "range.h"

struct parse_case {
	char in[64];  /* after "bytes=" */
	int64_t len;  /* entity length */
	size_t max;   /* max_ranges */
	int rc;	      /* enum range_rc */
	char out[64]; /* the parts as "S-E;" (inclusive), RANGE_PARTIAL only */
};

ParameterizedTestParameters(range, parse)
{
	static struct parse_case cases[] = {
		{"0-99", 1000, 10, RANGE_PARTIAL, "0-99;"},
		{"100-100", 1000, 10, RANGE_PARTIAL, "100-100;"},
		{"-100", 1000, 10, RANGE_PARTIAL, "900-999;"},
		{"-5000", 1000, 10, RANGE_PARTIAL, "0-999;"},
		{"990-", 1000, 10, RANGE_PARTIAL, "990-999;"},
		{"990-5000", 1000, 10, RANGE_PARTIAL, "990-999;"},
		{" 5 - 9 ", 1000, 10, RANGE_PARTIAL, "5-9;"},
		{"0-0,-1", 1000, 10, RANGE_PARTIAL, "0-0;999-999;"},
		{"0-1, 5-6,10-", 1000, 10, RANGE_PARTIAL, "0-1;5-6;10-999;"},
		{"2000-3000,5-6", 1000, 10, RANGE_PARTIAL, "5-6;"},
		{"0-9,5-14", 1000, 10, RANGE_PARTIAL, "0-9;5-14;"},
		/* nothing inside the entity */
		{"1000-", 1000, 10, RANGE_UNSATISFIABLE, ""},
		{"-0", 1000, 10, RANGE_UNSATISFIABLE, ""},
		{"5-1", 1000, 10, RANGE_UNSATISFIABLE, ""},
		{"1000-1001,2000-", 1000, 10, RANGE_UNSATISFIABLE, ""},
		/* bad syntax is a 416 too, in nginx */
		{"abc", 1000, 10, RANGE_UNSATISFIABLE, ""},
		{"1-2,", 1000, 10, RANGE_UNSATISFIABLE, ""},
		{",0-1", 1000, 10, RANGE_UNSATISFIABLE, ""},
		{"1-2 x", 1000, 10, RANGE_UNSATISFIABLE, ""},
		{"--1", 1000, 10, RANGE_UNSATISFIABLE, ""},
		{"1-2;3-4", 1000, 10, RANGE_UNSATISFIABLE, ""},
		{"1", 1000, 10, RANGE_UNSATISFIABLE, ""},
		{"1-\t2", 1000, 10, RANGE_UNSATISFIABLE, ""},
		{"", 1000, 10, RANGE_UNSATISFIABLE, ""},
		{"9223372036854775807-", 1000, 10, RANGE_UNSATISFIABLE, ""},
		{"9223372036854775808-", 1000, 10, RANGE_UNSATISFIABLE, ""},
		{"0-99999999999999999999", 1000, 10, RANGE_UNSATISFIABLE, ""},
		{"-9223372036854775807", 1000, 10, RANGE_PARTIAL, "0-999;"},
		/* the whole entity instead */
		{"0-599,400-999", 1000, 10, RANGE_WHOLE, ""},
		{"0-,0-", 1000, 10, RANGE_WHOLE, ""},
		{"0-9,20-29", 1000, 1, RANGE_WHOLE, ""},
		{"0-9,5000-", 1000, 1, RANGE_PARTIAL, "0-9;"},
		{"0-0,1-1,2-2", 1000, 2, RANGE_WHOLE, ""},
		{"0-0,1-1,2-2", 1000, 3, RANGE_PARTIAL, "0-0;1-1;2-2;"},
		/* an empty entity: a range from 0 is the whole (empty) entity */
		{"0-", 0, 10, RANGE_WHOLE, ""},
		{"-5", 0, 10, RANGE_WHOLE, ""},
		{"1-", 0, 10, RANGE_UNSATISFIABLE, ""},
	};
	return cr_make_param_array(struct parse_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct parse_case *c, range, parse)
{
	struct lstr v = {c->in, strlen(c->in)};
	size_t cap = LBD_MIN(range_count_max(v), c->max), n = 99;
	struct range_part parts[16];
	char got[64] = "";
	enum range_rc rc;

	cr_assert(cap <= 16);
	rc = range_parse(v, c->len, c->max, parts, cap, &n);
	cr_assert_eq(rc, c->rc, "\"%s\": %d, want %d", c->in, rc, c->rc);
	if (rc != RANGE_PARTIAL)
		return;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(got);

		snprintf(got + l, sizeof(got) - l, "%lld-%lld;", (long long)parts[i].start,
			 (long long)parts[i].end - 1);
	}
	cr_assert_str_eq(got, c->out, "\"%s\"", c->in);
}

Test(range, parse_never_writes_past_cap)
{
	struct range_part parts[3] = {{0}};
	struct lstr v = LSTR("0-0,1-1,2-2,3-3");
	size_t n;

	/* a caller that sized for fewer parts than asked: whole, no overrun */
	parts[2].start = 77;
	cr_assert_eq(range_parse(v, 100, 100, parts, 2, &n), RANGE_WHOLE);
	cr_assert_eq(parts[2].start, 77);
	cr_assert_eq(range_count_max(v), 4);
}

Test(range, value)
{
	struct lstr v;

	v = range_value(LSTR("bytes=0-1"));
	cr_assert(v.len == 3 && memcmp(v.p, "0-1", 3) == 0);
	v = range_value(LSTR("BYTES=5-"));
	cr_assert(v.len == 2 && memcmp(v.p, "5-", 2) == 0);
	cr_assert_eq(range_value(LSTR("bytes=")).len, 0);
	cr_assert_eq(range_value(LSTR("items=0-1")).len, 0);
	cr_assert_eq(range_value(LSTR("bytes 0-1")).len, 0);
	cr_assert_eq(range_value((struct lstr){NULL, 0}).len, 0);
}

Test(range, if_range)
{
	struct lstr etag = LSTR("\"655432d0-3e8\"");
	int64_t lm = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */

	cr_assert(range_if_range(LSTR("\"655432d0-3e8\""), etag, lm));
	cr_assert(!range_if_range(LSTR("W/\"655432d0-3e8\""), etag, lm));
	cr_assert(!range_if_range(LSTR("\"other\""), etag, lm));
	cr_assert(!range_if_range(LSTR("\"655432d0-3e8\""), (struct lstr){NULL, 0}, lm));
	cr_assert(range_if_range(LSTR("Tue, 14 Nov 2023 22:13:20 GMT"), etag, lm));
	cr_assert(range_if_range(LSTR("Tuesday, 14-Nov-23 22:13:20 GMT"), etag, lm));
	cr_assert(!range_if_range(LSTR("Tue, 14 Nov 2023 22:13:21 GMT"), etag, lm));
	cr_assert(!range_if_range(LSTR("Tue, 14 Nov 2023 22:13:20 GMT"), etag, -1));
	cr_assert(!range_if_range(LSTR("garbage"), etag, lm));
	/* a lone quote is an entity tag (nginx: len >= 2 only) */
	cr_assert(!range_if_range(LSTR("\""), etag, lm));
}

/* framed - the multipart body of S over an entity of bytes 'a' + i % 26. */
static size_t framed(const struct range_set *s, char *out, size_t cap)
{
	char head[256];
	size_t len = 0;

	for (size_t i = 0; i <= s->n; i++) {
		size_t k = range_format_head(s, i, head, sizeof(head));

		cr_assert(k > 0 && len + k <= cap);
		memcpy(out + len, head, k);
		len += k;
		if (i == s->n)
			break;
		for (int64_t b = s->v[i].start; b < s->v[i].end; b++) {
			cr_assert(len < cap);
			out[len++] = (char)('a' + b % 26);
		}
	}
	return len;
}

Test(range, multipart_framing)
{
	struct range_part v[] = {{0, 1}, {999, 1000}, {10, 20}};
	struct range_set s = {.v = v, .n = 3, .len = 1000, .ctype = LSTR("text/plain")};
	char out[1024];
	size_t n;
	const char *want = "\r\n--00000000000000000042\r\nContent-Type: text/plain\r\n"
			   "Content-Range: bytes 0-0/1000\r\n\r\na"
			   "\r\n--00000000000000000042\r\nContent-Type: text/plain\r\n"
			   "Content-Range: bytes 999-999/1000\r\n\r\nl"
			   "\r\n--00000000000000000042\r\nContent-Type: text/plain\r\n"
			   "Content-Range: bytes 10-19/1000\r\n\r\nklmnopqrst"
			   "\r\n--00000000000000000042--\r\n";

	strcpy(s.boundary, "00000000000000000042");
	n = framed(&s, out, sizeof(out));
	cr_assert_eq(n, strlen(want));
	cr_assert(memcmp(out, want, n) == 0, "%.*s", (int)n, out);
	cr_assert_eq(range_multipart_len(&s), (int64_t)n);
	/* without a type: no Content-Type lines */
	s.ctype = (struct lstr){NULL, 0};
	n = framed(&s, out, sizeof(out));
	cr_assert_eq(range_multipart_len(&s), (int64_t)n);
	cr_assert_null(memmem(out, n, "Content-Type", 12));
	/* a header that does not fit: 0 */
	cr_assert_eq(range_format_head(&s, 0, out, 10), 0);
}

Test(range, multipart_len_big_numbers)
{
	struct range_part v[] = {{0, 1}, {9999999999LL, 10000000000LL}, {123456, 1234567}};
	struct range_set s = {
		.v = v, .n = 3, .len = 10000000000LL, .ctype = LSTR("application/octet-stream")};
	char head[256];
	int64_t sum = 0;

	range_boundary(s.boundary);
	cr_assert_eq(strlen(s.boundary), RANGE_BOUNDARY_LEN);
	for (size_t i = 0; i <= s.n; i++) {
		sum += (int64_t)range_format_head(&s, i, head, sizeof(head));
		if (i < s.n)
			sum += v[i].end - v[i].start;
	}
	cr_assert_eq(range_multipart_len(&s), sum);
}

Test(range, boundaries_differ)
{
	char a[RANGE_BOUNDARY_LEN + 1], b[RANGE_BOUNDARY_LEN + 1];

	range_boundary(a);
	range_boundary(b);
	cr_assert_str_neq(a, b);
	for (int i = 0; i < RANGE_BOUNDARY_LEN; i++)
		cr_assert(a[i] >= '0' && a[i] <= '9');
}
