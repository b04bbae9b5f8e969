/* SPDX-License-Identifier: MIT */
/*
 * fastcgi_rec.c: name-value pairs with 1- and 4-byte lengths (the 127/128
 * boundary, as the FastCGI spec and php-fpm read them), record headers, the
 * STDIN framing of bodies around record boundaries, the response decoder
 * fed whole and split at every byte (stdout compacted in place, stderr
 * pieces, padding, END_REQUEST and what follows it, broken headers), and
 * the CGI status (Status:, Location, neither).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastcgi.h"

/* ---- name-value pairs ------------------------------------------------------------ */

struct pair_case {
	size_t nl, vl; /* name and value lengths */
	size_t hdr;    /* bytes of the two lengths */
};

ParameterizedTestParameters(fastcgi, param_lengths)
{
	static struct pair_case cases[] = {
		{1, 0, 2},     {1, 1, 2},    {127, 127, 2}, {128, 1, 5},   {1, 128, 5},
		{128, 128, 8}, {11, 300, 5}, {5, 70000, 5}, {70000, 3, 5}, {200, 65536, 8},
	};
	return cr_make_param_array(struct pair_case, cases, sizeof(cases) / sizeof(cases[0]));
}

/* dec_len - a length as php-fpm reads it (fpm_fastcgi: the top bit of the
 * first byte says 4 bytes). */
static size_t dec_len(const unsigned char **p)
{
	const unsigned char *q = *p;

	if (q[0] & 0x80) {
		*p += 4;
		return ((size_t)(q[0] & 0x7f) << 24) | ((size_t)q[1] << 16) | ((size_t)q[2] << 8) |
		       q[3];
	}
	*p += 1;
	return q[0];
}

ParameterizedTest(struct pair_case *pc, fastcgi, param_lengths)
{
	char *n = malloc(pc->nl), *v = malloc(pc->vl + 1);
	size_t len = fcgi_param_len(pc->nl, pc->vl);
	unsigned char *buf = malloc(len);
	const unsigned char *p = buf;

	memset(n, 'N', pc->nl);
	memset(v, 'v', pc->vl);
	n[0] = 'A';
	cr_assert_eq(len, pc->hdr + pc->nl + pc->vl);
	cr_assert_eq(fcgi_param_put((char *)buf, n, pc->nl, v, pc->vl), len);
	cr_assert_eq(dec_len(&p), pc->nl);
	cr_assert_eq(dec_len(&p), pc->vl);
	cr_assert_eq((size_t)(p - buf), pc->hdr);
	cr_assert(memcmp(p, n, pc->nl) == 0);
	cr_assert(memcmp(p + pc->nl, v, pc->vl) == 0);
	free(n);
	free(v);
	free(buf);
}

Test(fastcgi, param_bytes)
{
	char b[16];

	/* 1-byte lengths */
	cr_assert_eq(fcgi_param_put(b, "AB", 2, "xyz", 3), 7);
	cr_assert(memcmp(b,
			 "\x02\x03"
			 "ABxyz",
			 7) == 0);
	/* a 4-byte value length: 0x80000000 | 300 */
	char *v = calloc(1, 300);

	char *big = malloc(fcgi_param_len(1, 300));
	cr_assert_eq(fcgi_param_put(big, "K", 1, v, 300), 1 + 4 + 1 + 300);
	cr_assert(memcmp(big,
			 "\x01\x80\x00\x01\x2c"
			 "K",
			 6) == 0);
	free(v);
	free(big);
}

Test(fastcgi, record_header)
{
	uint8_t h[8];

	fcgi_record_header(h, FCGI_STDIN, 0x1234);
	cr_assert(memcmp(h, "\x01\x05\x00\x01\x12\x34\x00\x00", 8) == 0);
	fcgi_record_header(h, FCGI_PARAMS, 0);
	cr_assert(memcmp(h, "\x01\x04\x00\x01\x00\x00\x00\x00", 8) == 0);
}

/* ---- STDIN framing ---------------------------------------------------------------- */

/* frame_body - run the framing as proxy.c does, writing at most CHUNK
 * bytes per "writev"; returns the framed stream (malloc) and its length. */
static unsigned char *frame_body(const unsigned char *body, size_t total, size_t chunk,
				 size_t *outlen)
{
	struct fcgi_send s = {0};
	unsigned char *out = malloc(total + (total / FCGI_STDIN_REC + 2) * 8);
	size_t o = 0, off = 0;
	int guard = 0;

	while (!s.closed && guard++ < 1000000) {
		struct iovec h;
		size_t cap = fcgi_send_next(&s, off, total, &h), want, k, f;

		want = LBD_MIN(chunk, h.iov_len + LBD_MIN(cap, total - off));
		cr_assert(want > 0, "no progress at %zu", off);
		/* what one writev of [h][body] of WANT bytes would put out */
		k = LBD_MIN(want, h.iov_len);
		memcpy(out + o, h.iov_base, k);
		o += k;
		f = fcgi_send_sent(&s, want);
		cr_assert_eq(f, k);
		memcpy(out + o, body + off, want - k);
		o += want - k;
		off += want - k;
	}
	*outlen = o;
	return out;
}

Test(fastcgi, stdin_framing)
{
	static const size_t totals[] = {1,
					7,
					FCGI_STDIN_REC - 1,
					FCGI_STDIN_REC,
					FCGI_STDIN_REC + 1,
					3 * FCGI_STDIN_REC + 17};
	static const size_t chunks[] = {1, 3, 8, 9, 4096, 1 << 20};

	for (size_t ti = 0; ti < sizeof(totals) / sizeof(totals[0]); ti++) {
		size_t total = totals[ti];
		unsigned char *body = malloc(total);

		for (size_t i = 0; i < total; i++)
			body[i] = (unsigned char)(i * 31 + 7);
		for (size_t ci = 0; ci < sizeof(chunks) / sizeof(chunks[0]); ci++) {
			size_t len, p = 0, got = 0;
			unsigned char *s = frame_body(body, total, chunks[ci], &len);
			bool closed = false;

			/* parse the records back */
			while (p < len) {
				cr_assert(len - p >= 8);
				cr_assert_eq(s[p], 1);
				cr_assert_eq(s[p + 1], FCGI_STDIN);
				size_t cl = (size_t)s[p + 4] << 8 | s[p + 5];

				cr_assert(!closed, "bytes after the empty record");
				cr_assert(cl <= FCGI_STDIN_REC);
				cr_assert(memcmp(s + p + 8, body + got, cl) == 0);
				got += cl;
				closed = cl == 0;
				p += 8 + cl;
			}
			cr_assert(closed, "total %zu chunk %zu: no empty record", total,
				  chunks[ci]);
			cr_assert_eq(got, total);
			free(s);
		}
		free(body);
	}
}

/* ---- decoding ---------------------------------------------------------------------- */

static size_t rec(unsigned char *d, int type, const char *c, size_t n, size_t pad)
{
	fcgi_record_header(d, type, n);
	d[6] = (uint8_t)pad;
	memcpy(d + 8, c, n);
	memset(d + 8 + n, 0xee, pad);
	return 8 + n + pad;
}

struct errs {
	char buf[256];
	size_t n;
	int calls;
};

static void on_err(void *arg, const char *p, size_t len)
{
	struct errs *e = arg;

	memcpy(e->buf + e->n, p, len);
	e->n += len;
	e->calls++;
}

/* a response: stderr, stdout in two records (one padded), the empty
 * stdout record, END_REQUEST (appStatus 3), then bytes that must be
 * ignored */
static size_t sample(unsigned char *s)
{
	size_t n = 0;

	n += rec(s + n, FCGI_STDERR, "PHP message: x\n", 15, 1);
	n += rec(s + n, FCGI_STDOUT, "Status: 404 Not Found\r\n\r\nab", 27, 5);
	n += rec(s + n, FCGI_STDOUT, "cdef", 4, 0);
	n += rec(s + n, FCGI_STDOUT, "", 0, 0);
	n += rec(s + n, FCGI_END_REQUEST, "\0\0\0\3\0\0\0\0", 8, 0);
	memcpy(s + n, "junk", 4);
	return n + 4;
}

Test(fastcgi, decode_whole_and_split_at_every_byte)
{
	unsigned char s[512];
	size_t n = sample(s);
	const char *want = "Status: 404 Not Found\r\n\r\nabcdef";

	for (size_t cut = 0; cut <= n; cut++) {
		struct fcgi_dec d = {0};
		struct errs e = {0};
		char a[512], out[512];
		size_t o = 0;
		long k;

		memcpy(a, s, n);
		/* the first piece, then the rest: both decoded in place */
		k = fcgi_decode(&d, a, cut, on_err, &e);
		cr_assert(k >= 0 && (size_t)k <= cut);
		memcpy(out, a, (size_t)k);
		o = (size_t)k;
		k = fcgi_decode(&d, a + cut, n - cut, on_err, &e);
		cr_assert(k >= 0, "cut %zu: %ld", cut, k);
		memcpy(out + o, a + cut, (size_t)k);
		o += (size_t)k;
		cr_assert_eq(o, strlen(want), "cut %zu", cut);
		cr_assert(memcmp(out, want, o) == 0, "cut %zu", cut);
		cr_assert_eq(e.n, 15);
		cr_assert(memcmp(e.buf, "PHP message: x\n", 15) == 0);
		cr_assert(d.ended && d.stdout_end);
		cr_assert_eq(d.app_status, 3);
	}
	/* byte by byte */
	struct fcgi_dec d = {0};
	struct errs e = {0};
	char out[512];
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char b = (char)s[i];
		long k = fcgi_decode(&d, &b, 1, on_err, &e);

		cr_assert(k == 0 || k == 1);
		if (k)
			out[o++] = b;
	}
	cr_assert_eq(o, strlen(want));
	cr_assert(memcmp(out, want, o) == 0);
	cr_assert_eq(e.calls, 15); /* one piece per byte */
	cr_assert(d.ended);
}

Test(fastcgi, decode_errors)
{
	unsigned char s[64];
	struct fcgi_dec d = {0};

	rec(s, FCGI_STDOUT, "x", 1, 0);
	s[0] = 2;
	cr_assert_eq(fcgi_decode(&d, (char *)s, 9, NULL, NULL), FCGI_DEC_BAD_VERSION);
	memset(&d, 0, sizeof(d));
	rec(s, FCGI_STDIN, "x", 1, 0);
	cr_assert_eq(fcgi_decode(&d, (char *)s, 9, NULL, NULL), FCGI_DEC_BAD_TYPE);
	memset(&d, 0, sizeof(d));
	rec(s, FCGI_STDOUT, "x", 1, 0);
	s[3] = 2;
	cr_assert_eq(fcgi_decode(&d, (char *)s, 9, NULL, NULL), FCGI_DEC_BAD_ID);
	/* a header cut short is no error: more may come */
	memset(&d, 0, sizeof(d));
	rec(s, FCGI_STDOUT, "x", 1, 0);
	cr_assert_eq(fcgi_decode(&d, (char *)s, 5, NULL, NULL), 0);
	cr_assert(!d.ended);
}

Test(fastcgi, stderr_trim)
{
	cr_assert_eq(fcgi_stderr_trim("abc. \r\n", 7), 3);
	cr_assert_eq(fcgi_stderr_trim("\n\n", 2), 0);
	cr_assert_eq(fcgi_stderr_trim("a b", 3), 3);
}

/* ---- the CGI status ---------------------------------------------------------------- */

static int status_of(const char *name, const char *value, struct h1_response *r,
		     struct h1_header *h)
{
	memset(r, 0, sizeof(*r));
	r->status = 200;
	r->headers = h;
	r->nheaders = 0;
	if (name) {
		h[0] = (struct h1_header){.name = {name, strlen(name)},
					  .value = {value, strlen(value)}};
		r->nheaders = 1;
	}
	return fcgi_fix_status(r);
}

Test(fastcgi, fix_status)
{
	struct h1_response r;
	struct h1_header h[1];

	cr_assert_eq(status_of("Status", "404 Not Found", &r, h), 0);
	cr_assert_eq(r.status, 404);
	cr_assert_eq(r.reason.len, 9);
	cr_assert(memcmp(r.reason.p, "Not Found", 9) == 0);
	cr_assert_eq(status_of("status", "503", &r, h), 0);
	cr_assert_eq(r.status, 503);
	cr_assert_eq(r.reason.len, 0);
	cr_assert_eq(status_of("Location", "/x", &r, h), 0);
	cr_assert_eq(r.status, 302);
	cr_assert_eq(status_of("X-Other", "1", &r, h), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(status_of(NULL, NULL, &r, h), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(status_of("Status", "abc", &r, h), -1);
	cr_assert_eq(status_of("Status", "20", &r, h), -1);
	cr_assert_eq(status_of("Status", "099 x", &r, h), -1);
}

Test(fastcgi, hidden_by_default)
{
	cr_assert(fcgi_hidden_by_default((struct h1_str){"Status", 6}));
	cr_assert(fcgi_hidden_by_default((struct h1_str){"X-Accel-Redirect", 16}));
	cr_assert(!fcgi_hidden_by_default((struct h1_str){"Server", 6}));
	cr_assert(!fcgi_hidden_by_default((struct h1_str){"X-Powered-By", 12}));
}
