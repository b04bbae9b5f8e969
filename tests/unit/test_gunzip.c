/* SPDX-License-Identifier: MIT */
/*
 * Decompression tests: the inflate step fed whole, byte by byte and in
 * odd pieces with small and large output spans (all the same output),
 * members back to back, bad, truncated and trailing data refused; the
 * header filter's decision on a request (client, coding, status, HEAD);
 * the relay's chunk framing and its bound on each output span; the
 * directives' defaults, inheritance and nginx messages.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cfg.h"
#include "cfgtest.h"
#include "gunzip.h"
#include "http.h"
#include "lbd.h"

/* gz - N bytes at P as one gzip member (level 6) into a malloc'ed buffer. */
static unsigned char *gz(const void *p, size_t n, size_t *outn)
{
	z_stream zs = {0};
	size_t cap = compressBound(n) + 64;
	unsigned char *out = malloc(cap);

	cr_assert_not_null(out);
	cr_assert_eq(deflateInit2(&zs, 6, Z_DEFLATED, MAX_WBITS + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*outn = zs.total_out;
	deflateEnd(&zs);
	return out;
}

static void fill_text(unsigned char *b, size_t n)
{
	uint32_t x = 12345;

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245 + 12345;
		/* mostly words, some noise: compressible, not trivially */
		b[i] = (x >> 16) % 7 ? "abcdefgh ij\n"[(x >> 8) % 12] : (unsigned char)(x >> 24);
	}
}

/* ---- the inflate step -------------------------------------------------------- */

struct piece_case {
	size_t piece; /* input bytes per feed */
	size_t span;  /* output bytes per span */
};

static struct piece_case piece_cases[] = {
	{1 << 30, 1 << 20}, {1, 1024},	     {1, 4096},	   {7, 1024},
	{4096, 1024},	    {65536, 131072}, {3, 1 << 20},
};

ParameterizedTestParameters(gunzip, pieces)
{
	return cr_make_param_array(struct piece_case, piece_cases, ARRAY_SIZE(piece_cases));
}

ParameterizedTest(struct piece_case *tc, gunzip, pieces)
{
	size_t n = 300000, zn;
	unsigned char *plain = malloc(n), *out = malloc(n + 16), *z;

	cr_assert(plain && out);
	fill_text(plain, n);
	z = gz(plain, n, &zn);
	cr_assert_eq(gunzip_inflate(z, zn, tc->piece, out, n + 16, tc->span), (int64_t)n,
		     "piece %zu span %zu", tc->piece, tc->span);
	cr_expect(memcmp(out, plain, n) == 0, "piece %zu span %zu", tc->piece, tc->span);
	free(z);
	free(plain);
	free(out);
}

Test(gunzip, whole_equals_byte_by_byte)
{
	/* zeros inflate a thousand-fold: many spans per input byte */
	size_t n = 4 << 20, zn;
	unsigned char *plain = calloc(1, n), *a = malloc(n), *b = malloc(n), *z;

	cr_assert(plain && a && b);
	z = gz(plain, n, &zn);
	cr_assert_lt(zn, n / 500);
	cr_assert_eq(gunzip_inflate(z, zn, zn, a, n, 4096), (int64_t)n);
	cr_assert_eq(gunzip_inflate(z, zn, 1, b, n, 4096), (int64_t)n);
	cr_expect(memcmp(a, plain, n) == 0 && memcmp(b, plain, n) == 0);
	/* an output past the room given is refused, not overrun */
	cr_expect_eq(gunzip_inflate(z, zn, 1, b, n - 1, 4096), -1);
	free(z);
	free(plain);
	free(a);
	free(b);
}

Test(gunzip, members_back_to_back)
{
	static const char one[] = "first member\n", two[] = "and the second one\n";
	size_t n1, n2, out_n = sizeof(one) + sizeof(two);
	unsigned char *z1 = gz(one, sizeof(one) - 1, &n1), *z2 = gz(two, sizeof(two) - 1, &n2);
	unsigned char *both = malloc(n1 + n2);
	char out[64];

	memcpy(both, z1, n1);
	memcpy(both + n1, z2, n2);
	for (size_t piece = 1; piece <= n1 + n2; piece++) {
		memset(out, 0, sizeof(out));
		cr_assert_eq(gunzip_inflate(both, n1 + n2, piece, out, sizeof(out), 1024),
			     (int64_t)(out_n - 2), "piece %zu", piece);
		cr_expect_str_eq(out, "first member\nand the second one\n");
	}
	free(z1);
	free(z2);
	free(both);
}

Test(gunzip, bad_input_refused)
{
	static const char text[] = "some text to pack, some text to pack, some text to pack\n";
	size_t zn;
	unsigned char *z = gz(text, sizeof(text) - 1, &zn), *bad = malloc(zn + 8);
	char out[256];

	/* damaged deflate data, a damaged trailer (CRC), truncated at every
	 * length, trailing garbage, nothing at all, plain text */
	for (size_t piece = 1; piece <= zn; piece *= 3) {
		memcpy(bad, z, zn);
		bad[12] ^= 0x55;
		cr_expect_eq(gunzip_inflate(bad, zn, piece, out, sizeof(out), 1024), -1);
		memcpy(bad, z, zn);
		bad[zn - 6] ^= 1;
		cr_expect_eq(gunzip_inflate(bad, zn, piece, out, sizeof(out), 1024), -1);
		memcpy(bad, z, zn);
		memcpy(bad + zn, "garbage!", 8);
		cr_expect_eq(gunzip_inflate(bad, zn + 8, piece, out, sizeof(out), 1024), -1);
	}
	for (size_t k = 0; k < zn; k++)
		cr_expect_eq(gunzip_inflate(z, k, 1, out, sizeof(out), 1024), -1, "cut at %zu", k);
	cr_expect_eq(gunzip_inflate(text, sizeof(text) - 1, 5, out, sizeof(out), 1024), -1);
	cr_expect_eq(gunzip_inflate(z, zn, 1, out, sizeof(out), 1024), (int64_t)sizeof(text) - 1);
	free(z);
	free(bad);
	gunzip_worker_free();
}

/* ---- a request ---------------------------------------------------------------- */

/* struct rig - a client connection as far as gunzip.c looks at it. */
struct rig {
	struct conn *c;
	struct cfg_loc loc;
};

static void rig_init(struct rig *g, const char *ae, int version)
{
	memset(g, 0, sizeof(*g));
	g->c = calloc(1, sizeof(*g->c));
	cr_assert_not_null(g->c);
	g->c->file_fd = -1;
	pool_init(&g->c->pool, 4096);
	g->loc.gzip = (struct gzip_loc){.proxied = GZ_PROXIED_OFF,
					.http_version = 11,
					.msie6 = 0,
					.vary = 1,
					.gunzip = 1,
					.gunzip_num = 4,
					.gunzip_size = 1024};
	g->loc.chunked_transfer_encoding = 1;
	g->c->req.loc = &g->loc;
	g->c->req.version = version;
	g->c->req.hdrs[0] =
		(struct h1_header){.name = {"Accept-Encoding", 15}, .value = {ae, strlen(ae)}};
	g->c->req.h1.nheaders = ae[0] ? 1 : 0;
}

static void rig_free(struct rig *g)
{
	gunzip_req_end(g->c);
	pool_destroy(&g->c->pool);
	free(g->c->out.data);
	free(g->c);
}

static int begin(struct conn *c, int status, const char *ce)
{
	struct gzip_resp r = {.status = status, .length = -1, .content_encoding = lstr_c(ce)};

	return gunzip_begin(c, status, r.content_encoding, &r);
}

Test(gunzip, decision)
{
	struct rig g;

	rig_init(&g, "gzip, br", 11); /* takes gzip: left alone, Vary due */
	cr_expect_eq(begin(g.c, 200, "gzip"), 0);
	cr_expect(g.c->req.gz.vary && !g.c->req.gu.active && !g.c->req.gu.ctx);
	rig_free(&g);
	rig_init(&g, "", 11);
	cr_expect_eq(begin(g.c, 200, "br"), 0, "another coding");
	cr_expect_eq(begin(g.c, 200, "gzip, br"), 0, "two codings");
	cr_expect_eq(begin(g.c, 200, ""), 0, "no coding");
	cr_expect_eq(g.c->req.gz.vary, false);
	cr_expect_eq(begin(g.c, 204, "gzip"), 0, "no body");
	cr_expect_eq(begin(g.c, 304, "gzip"), 0, "no body");
	g.loc.gzip.gunzip = 0;
	cr_expect_eq(begin(g.c, 200, "gzip"), 0, "gunzip off");
	g.loc.gzip.gunzip = 1;
	cr_expect_eq(begin(g.c, 404, "GZip"), 1, "any status, case ignored");
	cr_expect(g.c->req.gu.active && g.c->req.gu.ctx && g.c->req.gu.chunked);
	cr_expect(!g.c->close_after);
	rig_free(&g);
	rig_init(&g, "gzip", 10); /* gzip_http_version 1.1: a 1.0 client gets it plain */
	cr_expect_eq(begin(g.c, 200, "gzip"), 1);
	cr_expect(!g.c->req.gu.chunked && g.c->close_after);
	rig_free(&g);
	rig_init(&g, "gzip;q=0", 11);
	g.c->req.head = true; /* HEAD: the head edited, nothing to inflate */
	cr_expect_eq(begin(g.c, 200, "gzip"), 1);
	cr_expect(g.c->req.gu.active && !g.c->req.gu.ctx);
	rig_free(&g);
}

Test(gunzip, head_edits)
{
	struct rig g;
	struct h1_str v = {"x", 1};

	rig_init(&g, "", 11);
	cr_assert_eq(begin(g.c, 200, "gzip"), 1);
	cr_expect_eq(gunzip_header(g.c, (struct h1_str){"Content-Encoding", 16}, v), 1);
	cr_expect_eq(gunzip_header(g.c, (struct h1_str){"content-length", 14}, v), 1);
	cr_expect_eq(gunzip_header(g.c, (struct h1_str){"Accept-Ranges", 13}, v), 1);
	cr_expect_eq(gunzip_header(g.c, (struct h1_str){"Content-Type", 12}, v), 0);
	cr_expect_eq(gunzip_header(g.c, (struct h1_str){"ETag", 4}, (struct h1_str){"\"t\"", 3}),
		     1);
	cr_expect_eq(gunzip_head_add(g.c), 0);
	g.c->out.data[g.c->out.end] = '\0';
	cr_expect_str_eq(g.c->out.data, "ETag: W/\"t\"\r\nTransfer-Encoding: chunked\r\n");
	rig_free(&g);
}

/* dechunk - the chunked body IN (ending in the last chunk) into OUT;
 * *maxc: the largest chunk seen. */
static size_t dechunk(const unsigned char *in, size_t n, unsigned char *out, size_t *maxc)
{
	size_t i = 0, o = 0;

	*maxc = 0;
	for (;;) {
		char *end;
		unsigned long len = strtoul((const char *)in + i, &end, 16);

		i = (size_t)((const unsigned char *)end - in);
		cr_assert(i + 2 <= n && in[i] == '\r' && in[i + 1] == '\n');
		i += 2;
		if (!len)
			break;
		*maxc = LBD_MAX(*maxc, len);
		memcpy(out + o, in + i, len);
		o += len;
		i += len;
		cr_assert(in[i] == '\r' && in[i + 1] == '\n');
		i += 2;
	}
	cr_assert_eq(i + 2, n, "bytes after the last chunk");
	return o;
}

Test(gunzip, relay_framing)
{
	size_t n = 200000, zn, got = 0, maxc;
	unsigned char *plain = calloc(1, n), *wire = malloc(2 * n), *back = malloc(n), *z;
	struct rig g;

	cr_assert(plain && wire && back);
	fill_text(plain, n / 2); /* half text, half zeros */
	z = gz(plain, n, &zn);
	rig_init(&g, "", 11);
	cr_assert_eq(begin(g.c, 200, "gzip"), 1);
	for (size_t off = 0; off < zn;) {
		size_t k = LBD_MIN((size_t)1000, zn - off);
		const char *span = (const char *)z + off;
		size_t len = k;
		bool last = off + k == zn;

		off += k;
		/* as proxy.c: the span is sent (len back to 0) before the next call */
		do {
			cr_assert_eq(gunzip_relay(g.c, &span, &len, last), 0);
			cr_assert_leq(len, 4096 + 16, "a span past gunzip_buffers");
			memcpy(wire + got, span, len);
			got += len;
			len = 0;
		} while (gunzip_busy(g.c, last));
	}
	cr_assert_eq(dechunk(wire, got, back, &maxc), n);
	cr_expect(memcmp(back, plain, n) == 0);
	cr_expect_eq(maxc, 4096, "spans of NUM*SIZE");
	rig_free(&g);
	free(z);
	free(plain);
	free(wire);
	free(back);
	gunzip_worker_free();
}

/* ---- configuration ------------------------------------------------------------- */

#define HEAD	 "events {}\nhttp {\n"
#define LOC_OPEN "server {\nlisten 127.0.0.1:8080;\nlocation / {\n"

Test(gunzip_cfg, defaults_and_inheritance)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *c = cfgtest_load(&t,
				     HEAD "gunzip on;\n"
					  "server {\nlisten 127.0.0.1:8080;\n"
					  "location /a { }\n"
					  "location /b { gunzip off; gunzip_buffers 16 8k; }\n"
					  "}\n}\n",
				     err, sizeof(err));
	struct cfg_loc *a, *b;

	cr_assert_not_null(c, "%s", err);
	a = c->http->servers[0]->loc.prefix[0];
	b = c->http->servers[0]->loc.prefix[1];
	if (a->pattern[1] != 'a') {
		struct cfg_loc *x = a;

		a = b;
		b = x;
	}
	cr_expect_eq(a->gzip.gunzip, 1);
	cr_expect_eq(a->gzip.gunzip_num, 32);
	cr_expect_eq(a->gzip.gunzip_size, 4096);
	cr_expect_eq(b->gzip.gunzip, 0);
	cr_expect_eq(b->gzip.gunzip_num, 16);
	cr_expect_eq(b->gzip.gunzip_size, 8192);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

struct gu_err_case {
	char text[64];
	char msg[96];
};

static struct gu_err_case gu_err_cases[] = {
	{"gunzip yes;",
	 "invalid value \"yes\" in \"gunzip\" directive, it must be \"on\" or \"off\""},
	{"gunzip on; gunzip on;", "\"gunzip\" directive is duplicate"},
	{"gunzip_buffers 0 4k;", "\"gunzip_buffers\" directive invalid value"},
	{"gunzip_buffers 4 x;", "\"gunzip_buffers\" directive invalid value"},
	{"gunzip_buffers 4;", "invalid number of arguments in \"gunzip_buffers\" directive"},
	{"gunzip_buffers 4 4k; gunzip_buffers 2 4k;", "\"gunzip_buffers\" directive is duplicate"},
};

ParameterizedTestParameters(gunzip_cfg, errors)
{
	return cr_make_param_array(struct gu_err_case, gu_err_cases, ARRAY_SIZE(gu_err_cases));
}

ParameterizedTest(struct gu_err_case *tc, gunzip_cfg, errors)
{
	char text[256], err[1024], want[1024];
	struct cfgtest t = {0};

	snprintf(text, sizeof(text), HEAD LOC_OPEN "%s\n}\n}\n}\n", tc->text);
	cr_assert_null(cfgtest_load(&t, text, err, sizeof(err)), "%s", tc->text);
	snprintf(want, sizeof(want), "%s in %s:6", tc->msg, t.path);
	cr_expect_str_eq(err, want);
	cfgtest_cleanup(&t);
}
