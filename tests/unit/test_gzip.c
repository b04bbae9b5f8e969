/* SPDX-License-Identifier: MIT */
/*
 * Compression tests: nginx's readings of Accept-Encoding (q-values and
 * quirks), User-Agent (msie6), Content-Type (gzip_types) and the response
 * headers gzip_proxied looks at; ETag weakening; the header filter's
 * decision on a request; the streaming compressor fed span by span
 * (decompressed and compared, chunk framing checked), its per-thread free
 * list; the directives' defaults, inheritance and nginx messages.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cfg.h"
#include "cfgtest.h"
#include "gzip.h"
#include "http.h"
#include "lbd.h"

/* ---- Accept-Encoding ------------------------------------------------------- */

struct ae_case {
	char ae[48];
	bool ok;
};

static struct ae_case ae_cases[] = {
	{"gzip", true},
	{"GZIP", true},
	{"gzip,deflate", true},
	{"gzip, deflate, br", true},
	{"deflate, gzip", true},
	{"deflate,gzip", true},
	{"br;q=1.0, gzip;q=0.8, *;q=0.1", true},
	{"gzip;q=0", false},
	{"gzip; q=0", false},
	{"gzip;q=0.0", false},
	{"gzip;q=0.000", false},
	{"gzip;q=0.0000", false}, /* more than three digits: invalid, so refused */
	{"gzip;q=0.001", true},
	{"gzip;q=0.5", true},
	{"gzip;q=1", true},
	{"gzip;q=1.000", true},
	{"gzip;q=1.5", false},
	{"gzip;q=2", false},
	{"gzip;Q=0.5", true},
	{"gzip;level=1", false},
	{"gzip;q", false}, /* "q" without "=V" */
	{"gzip;", true},
	{"gzip ;q=0", false},
	{"gzip, gzip;q=0", true}, /* the first one decides */
	{"x-gzip", false},
	{"xgzip, gzip", true},
	{"gzipx", false},
	{"gzi", false},
	{"br", false},
	{"identity", false},
	{"*", false},
	{"", false},
};

ParameterizedTestParameters(gzip, accept_encoding)
{
	return cr_make_param_array(struct ae_case, ae_cases, ARRAY_SIZE(ae_cases));
}

ParameterizedTest(struct ae_case *tc, gzip, accept_encoding)
{
	cr_expect_eq(gzip_accept_encoding(tc->ae, strlen(tc->ae)), tc->ok, "\"%s\"", tc->ae);
}

Test(gzip, accept_encoding_no_overread)
{
	/* the value ends right before an unmapped page: nothing past it is read */
	static const char *const vals[] = {"gzip;q=", "gzip;q=0.", "gzip;", "x gzip", "gzip"};
	long pg = sysconf(_SC_PAGESIZE);
	char *m = aligned_alloc((size_t)pg, (size_t)pg * 2);

	cr_assert_not_null(m);
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		size_t n = strlen(vals[i]);
		char *p = m + pg - (long)n;

		memcpy(p, vals[i], n);
		p[n] = 'Z'; /* a non-NUL byte right after: must not be looked at */
		(void)gzip_accept_encoding(p, n);
	}
	free(m);
}

/* ---- User-Agent, types, dates, ETag --------------------------------------- */

Test(gzip, msie6)
{
	static const struct {
		const char *ua;
		bool msie6;
	} cases[] = {
		{"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)", true},
		{"Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)", true},
		{"Mozilla/4.0 (compatible; MSIE 4.01; Windows 95)", true},
		{"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", false},
		{"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)", false},
		{"Mozilla/4.0 (compatible; MSIE 6.0; Opera 9)", false},
		{"MSIE 6.", false}, /* too short: nginx wants a byte after "6." */
		{"curl/8.0", false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		cr_expect_eq(gzip_msie6(cases[i].ua, strlen(cases[i].ua)), cases[i].msie6, "%s",
			     cases[i].ua);
}

Test(gzip, types)
{
	char *types[] = {"text/plain", "application/json"};
	struct gzip_loc g = {.types = types, .ntypes = 2};

	cr_expect(gzip_type_ok(&g, LSTR("text/plain")));
	cr_expect(gzip_type_ok(&g, LSTR("Text/Plain")));
	cr_expect(gzip_type_ok(&g, LSTR("text/plain; charset=utf-8")));
	cr_expect(gzip_type_ok(&g, LSTR("text/html"))); /* always */
	cr_expect(gzip_type_ok(&g, LSTR("application/json;  charset=x")));
	cr_expect_not(gzip_type_ok(&g, LSTR("text/plain; format=flowed")));
	cr_expect_not(gzip_type_ok(&g, LSTR("text/css")));
	cr_expect_not(gzip_type_ok(&g, LSTR("text/plai")));
	cr_expect_not(gzip_type_ok(&g, LSTR("")));
	g.types_any = true;
	cr_expect(gzip_type_ok(&g, LSTR("image/png")));
	cr_expect(gzip_type_ok(&g, LSTR(""))); /* `*` takes even no type */
}

Test(gzip, weak_etag)
{
	char buf[64];
	struct lstr w;

	gzip_weak_etag(LSTR("\"abc\""), buf, sizeof(buf), &w);
	cr_expect(w.len == 7 && memcmp(w.p, "W/\"abc\"", 7) == 0);
	gzip_weak_etag(LSTR("W/\"abc\""), buf, sizeof(buf), &w);
	cr_expect(w.len == 7 && memcmp(w.p, "W/\"abc\"", 7) == 0);
	gzip_weak_etag(LSTR("abc"), buf, sizeof(buf), &w); /* not a tag: dropped */
	cr_expect_eq(w.len, 0);
}

/* ---- gzip_proxied ----------------------------------------------------------- */

struct proxied_case {
	int bits;
	bool auth;
	char expires[40];
	char cc[40];
	bool lm, etag;
	bool ok;
};

#define PAST   "Thu, 01 Jan 1970 00:00:01 GMT"
#define FUTURE "Thu, 31 Dec 2037 23:55:55 GMT"

static struct proxied_case proxied_cases[] = {
	{GZ_PROXIED_OFF, false, "", "", false, false, false},
	{GZ_PROXIED_OFF | GZ_PROXIED_ANY, false, "", "", false, false, false},
	{GZ_PROXIED_ANY, false, FUTURE, "no-store", true, true, true},
	{GZ_PROXIED_AUTH, true, FUTURE, "", false, false, true},
	{GZ_PROXIED_AUTH, false, "", "", false, false, true}, /* nothing says no */
	{GZ_PROXIED_EXPIRED, false, PAST, "", false, false, true},
	{GZ_PROXIED_EXPIRED, false, FUTURE, "", false, false, false},
	{GZ_PROXIED_EXPIRED, false, "0", "", false, false, false},
	{GZ_PROXIED_NO_CACHE, false, PAST, "", false, false, false}, /* Expires decides */
	{GZ_PROXIED_NO_CACHE, false, "", "no-cache", false, false, true},
	{GZ_PROXIED_NO_CACHE, false, "", "private, No-Cache", false, false, true},
	{GZ_PROXIED_NO_CACHE, false, "", "no-cache=\"x\"", false, false, false},
	{GZ_PROXIED_NO_CACHE, false, "", "max-age=0", false, false, false},
	{GZ_PROXIED_NO_STORE, false, "", "no-store", false, false, true},
	{GZ_PROXIED_PRIVATE, false, "", "private", false, false, true},
	{GZ_PROXIED_PRIVATE, false, "", "public", false, false, false},
	{GZ_PROXIED_NO_LM, false, "", "", true, false, false},
	{GZ_PROXIED_NO_LM, false, "", "", false, true, true},
	{GZ_PROXIED_NO_ETAG, false, "", "", false, true, false},
	{GZ_PROXIED_NO_ETAG | GZ_PROXIED_NO_LM, false, "", "", false, false, true},
};

ParameterizedTestParameters(gzip, proxied)
{
	return cr_make_param_array(struct proxied_case, proxied_cases, ARRAY_SIZE(proxied_cases));
}

ParameterizedTest(struct proxied_case *tc, gzip, proxied)
{
	struct gzip_resp r = {
		.status = 200,
		.length = -1,
		.expires = {tc->expires, strlen(tc->expires)},
		.has_expires = tc->expires[0] != '\0',
		.cache_control = {tc->cc, strlen(tc->cc)},
		.has_cache_control = tc->cc[0] != '\0',
		.last_modified = tc->lm,
		.etag = tc->etag,
	};

	cr_expect_eq(gzip_proxied_ok(tc->bits, tc->auth, &r, 1000000000), tc->ok,
		     "bits %#x expires \"%s\" cc \"%s\"", tc->bits, tc->expires, tc->cc);
}

/* ---- a request and the streaming compressor -------------------------------- */

/* struct rig - a client connection as far as gzip.c looks at it. */
struct rig {
	struct conn *c;
	struct cfg_loc loc;
	struct h1_header hdr[4];
};

static void rig_init(struct rig *g, const char *ae, int version)
{
	memset(g, 0, sizeof(*g));
	g->c = calloc(1, sizeof(*g->c));
	cr_assert_not_null(g->c);
	g->c->file_fd = -1;
	pool_init(&g->c->pool, 4096);
	g->loc.gzip = (struct gzip_loc){.enable = 1,
					.comp_level = 1,
					.vary = 1,
					.proxied = GZ_PROXIED_OFF,
					.http_version = 11,
					.min_length = 20,
					.wbits = 15,
					.mem_level = 8,
					.msie6 = 0};
	g->loc.chunked_transfer_encoding = 1;
	g->c->req.loc = &g->loc;
	g->c->req.version = version;
	g->c->req.hdrs[0] =
		(struct h1_header){.name = {"Accept-Encoding", 15}, .value = {ae, strlen(ae)}};
	g->c->req.h1.nheaders = 1;
}

static void rig_free(struct rig *g)
{
	gzip_req_end(g->c);
	pool_destroy(&g->c->pool);
	free(g->c->out.data);
	free(g->c);
}

/* begin_html - gzip_begin for a 200 text/html response of LEN bytes. */
static int begin_html(struct conn *c, int64_t len)
{
	struct gzip_resp r = {.status = 200, .length = len, .content_type = LSTR("text/html")};

	return gzip_begin(c, &r);
}

/* dechunk - the chunked body in IN (ending in the last chunk) into OUT. */
static size_t dechunk(const unsigned char *in, size_t n, unsigned char *out)
{
	size_t i = 0, o = 0;

	for (;;) {
		size_t sz = 0;

		while (i < n && in[i] != '\r') {
			int ch = in[i++];

			sz = sz * 16 + (size_t)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
		}
		cr_assert(i + 2 <= n && in[i] == '\r' && in[i + 1] == '\n', "bad chunk line");
		i += 2;
		if (sz == 0) {
			cr_assert_eq(n - i, 2, "bytes after the last chunk");
			return o;
		}
		cr_assert(i + sz + 2 <= n);
		memcpy(out + o, in + i, sz);
		o += sz;
		i += sz;
		cr_assert(in[i] == '\r' && in[i + 1] == '\n', "chunk data not followed by CRLF");
		i += 2;
	}
}

static void fill_text(unsigned char *b, size_t n)
{
	size_t k = 0;

	for (unsigned i = 0; k < n; i++) {
		char line[64];
		int l = snprintf(line, sizeof(line), "row %u value %u of the table\n", i,
				 i * 2654435761u % 977);

		for (int j = 0; j < l && k < n; j++)
			b[k++] = (unsigned char)line[j];
	}
}

/* relay_all - feed BODY to the compressor in spans of STEP bytes as the
 * proxy does, collecting every output span into OUT; returns its length. */
static size_t relay_all(struct conn *c, const unsigned char *body, size_t n, size_t step,
			unsigned char *out)
{
	size_t off = 0, o = 0;
	int guard = 0;

	for (;;) {
		bool last = off >= n;
		const char *span = (const char *)body + off;
		size_t len = 0;

		if (!gzip_busy(c, false) && off < n) {
			len = LBD_MIN(step, n - off);
			off += len;
			last = off >= n;
		}
		cr_assert_eq(gzip_relay(c, &span, &len, last), 0);
		memcpy(out + o, span, len);
		o += len;
		if (last && !gzip_busy(c, true))
			return o;
		cr_assert(++guard < 1000000, "no progress");
	}
}

/* roundtrip_z - N bytes of text through the compressor in STEP spans
 * with gzip_window WBITS and gzip_hash MEM (zlib's values), checked to
 * inflate to the same bytes; the gzip stream (malloc'd) in *GZ_OUT and its
 * length returned when GZ_OUT is not NULL. */
static size_t roundtrip_z(size_t n, size_t step, int wbits, int mem, unsigned char **gz_out)
{
	struct rig g;
	unsigned char *body = malloc(n + 1), *wire = malloc(n + 65536), *gz = malloc(n + 65536),
		      *back = malloc(n + 1);
	uInt backlen = (uInt)n + 1;
	z_stream zs = {0};

	rig_init(&g, "gzip", 11);
	g.loc.gzip.wbits = wbits;
	g.loc.gzip.mem_level = mem;
	fill_text(body, n);
	cr_assert_eq(gzip_begin(g.c, &(struct gzip_resp){.status = 200,
							 .length = -1,
							 .content_type = LSTR("text/html")}),
		     1);
	size_t wl = relay_all(g.c, body, n, step, wire);
	size_t gl = dechunk(wire, wl, gz);

	cr_assert_eq(inflateInit2(&zs, 16 + 15), Z_OK);
	zs.next_in = gz;
	zs.avail_in = (uInt)gl;
	zs.next_out = back;
	zs.avail_out = (uInt)backlen;
	cr_assert_eq(inflate(&zs, Z_FINISH), Z_STREAM_END, "not one whole gzip stream");
	cr_assert_eq(zs.total_out, n);
	cr_assert_eq(zs.avail_in, 0, "bytes after the gzip trailer");
	cr_assert(memcmp(back, body, n) == 0, "decompressed body differs");
	inflateEnd(&zs);
	cr_expect_eq(g.c->req.gz.in, n);
	cr_expect_eq(g.c->req.gz.out, gl);
	rig_free(&g);
	free(body);
	free(wire);
	if (gz_out)
		*gz_out = gz;
	else
		free(gz);
	free(back);
	return gl;
}

static void roundtrip(size_t n, size_t step)
{
	roundtrip_z(n, step, 15, 8, NULL);
}

/* gzip_window and gzip_hash reach zlib: a 512-byte window, and the least
 * memory, each give another stream of the same bytes */
Test(gzip, window_and_hash)
{
	unsigned char *a, *b, *c;
	size_t la = roundtrip_z(200000, 4096, 15, 8, &a);
	size_t lb = roundtrip_z(200000, 4096, 9, 1, &b);
	size_t lc = roundtrip_z(200000, 4096, 15, 1, &c);

	cr_expect(la != lb || memcmp(a, b, la) != 0, "a 512-byte window gave 32k's stream");
	cr_expect(la != lc || memcmp(a, c, la) != 0, "memLevel 1 gave memLevel 8's stream");
	free(a);
	free(b);
	free(c);
}

Test(gzip, roundtrip_spans)
{
	roundtrip(0, 1);
	roundtrip(1, 1);
	roundtrip(1000, 1);
	roundtrip(100000, 7);
	roundtrip(300000, 4096);
	roundtrip(1 << 20, 65536);
}

Test(gzip, roundtrip_incompressible)
{
	/* output larger than the input span: several output spans per input */
	struct rig g;
	size_t n = 200000;
	unsigned char *body = malloc(n), *wire = malloc(n * 2), *gz = malloc(n * 2),
		      *back = malloc(n);
	uInt bl = (uInt)n;
	unsigned x = 12345;

	for (size_t i = 0; i < n; i++)
		body[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
	rig_init(&g, "gzip", 11);
	cr_assert_eq(gzip_begin(g.c, &(struct gzip_resp){.status = 200,
							 .length = (int64_t)n,
							 .content_type = LSTR("text/html")}),
		     1);
	size_t wl = relay_all(g.c, body, n, 65536, wire);
	size_t gl = dechunk(wire, wl, gz);
	z_stream zs = {0};

	cr_assert_eq(inflateInit2(&zs, 31), Z_OK);
	zs.next_in = gz;
	zs.avail_in = (uInt)gl;
	zs.next_out = back;
	zs.avail_out = (uInt)bl;
	cr_assert_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
	cr_assert(zs.total_out == n && memcmp(back, body, n) == 0);
	inflateEnd(&zs);
	rig_free(&g);
	free(body);
	free(wire);
	free(gz);
	free(back);
}

Test(gzip, embed_feed_roundtrip)
{
	/* the assembled answer of an SSI/additions run: no length, the
	 * compressor in the run's own gzip_req, output unframed, several
	 * outputs per 16 KiB input piece when it does not compress */
	struct rig g;
	struct gzip_req gr = {0};
	size_t n = 200000, ol, gl = 0;
	unsigned char *body = malloc(n), *gz = malloc(n * 2), *back = malloc(n);
	unsigned x = 777;
	const char *o;
	int more, outs = 0;

	for (size_t i = 0; i < n; i++)
		body[i] = i < n / 2 ? 'a' : (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
	rig_init(&g, "gzip", 11);
	cr_assert_eq(gzip_embed_begin(g.c,
				      &(struct gzip_resp){.status = 200,
							  .length = -1,
							  .content_type = LSTR("text/html")},
				      &gr),
		     1);
	cr_assert_null(g.c->req.gz.ctx, "the request's own compressor is not taken");
	cr_assert(g.c->req.gz.encoded && g.c->req.gz.vary);
	cr_assert_not_null(gr.ctx);
	/* the pieces, then the end (no input, LAST) */
	for (size_t off = 0; off <= n; off += 16384) {
		size_t m = off < n ? (n - off < 16384 ? n - off : 16384) : 0;
		bool last = !m;

		do {
			more = gzip_feed(&gr, (const char *)body + off, m, last, &o, &ol);
			cr_assert_geq(more, 0);
			m = 0;
			memcpy(gz + gl, o, ol);
			gl += ol;
			outs += ol > 0;
		} while (more);
		if (off < n && off + 16384 > n)
			off = n - 16384; /* the next round is the end */
	}
	cr_assert_gt(outs, 3);
	z_stream zs = {0};

	cr_assert_eq(inflateInit2(&zs, 31), Z_OK);
	zs.next_in = gz;
	zs.avail_in = (uInt)gl;
	zs.next_out = back;
	zs.avail_out = (uInt)n;
	cr_assert_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
	cr_assert(zs.total_out == n && memcmp(back, body, n) == 0);
	inflateEnd(&zs);
	cr_assert_eq(gr.in, n);
	cr_assert_eq(gr.out, gl);
	gzip_gr_end(&gr);
	cr_assert_null(gr.ctx);
	rig_free(&g);
	free(body);
	free(gz);
	free(back);
}

Test(gzip, embed_head_only)
{
	struct rig g;
	struct gzip_req gr = {0};

	rig_init(&g, "gzip", 11);
	g.c->req.head = true;
	cr_assert_eq(gzip_embed_begin(g.c,
				      &(struct gzip_resp){.status = 200,
							  .length = -1,
							  .content_type = LSTR("text/html")},
				      &gr),
		     1);
	cr_assert_null(gr.ctx, "HEAD: the head says gzip, nothing to compress");
	rig_free(&g);
	rig_init(&g, "identity", 11);
	cr_assert_eq(gzip_embed_begin(g.c,
				      &(struct gzip_resp){.status = 200,
							  .length = -1,
							  .content_type = LSTR("text/html")},
				      &gr),
		     0);
	cr_assert(g.c->req.gz.vary, "Vary is due all the same");
	rig_free(&g);
}

Test(gzip, http10_close_delimited)
{
	struct rig g;
	static unsigned char body[5000], wire[8000], back[5001];

	rig_init(&g, "gzip", 10);
	g.loc.gzip.http_version = 10;
	fill_text(body, sizeof(body));
	cr_assert_eq(gzip_begin(g.c, &(struct gzip_resp){.status = 200,
							 .length = -1,
							 .content_type = LSTR("text/html")}),
		     1);
	cr_expect(g.c->close_after, "the close ends an HTTP/1.0 body");
	cr_expect_not(g.c->req.gz.chunked);
	size_t wl = relay_all(g.c, body, sizeof(body), 1000, wire);

	/* no chunk framing: the bytes are the gzip stream itself */
	z_stream zs = {0};

	cr_assert_eq(inflateInit2(&zs, 31), Z_OK);
	zs.next_in = wire;
	zs.avail_in = (uInt)wl;
	zs.next_out = back;
	zs.avail_out = sizeof(back);
	cr_assert_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
	cr_assert(zs.total_out == sizeof(body) && memcmp(back, body, sizeof(body)) == 0);
	inflateEnd(&zs);
	rig_free(&g);
}

Test(gzip, decision)
{
	struct rig g;

	rig_init(&g, "gzip", 11);
	cr_expect_eq(begin_html(g.c, 19), 0, "below gzip_min_length");
	cr_expect_eq(g.c->req.gz.vary, false);
	gzip_req_end(g.c);
	memset(&g.c->req.gz, 0, sizeof(g.c->req.gz));
	struct gzip_resp r = {.status = 200, .length = 100, .content_type = LSTR("text/html")};

	r.status = 500;
	cr_expect_eq(gzip_begin(g.c, &r), 0, "500 is not compressed");
	r.status = 404;
	r.content_encoding = LSTR("br");
	cr_expect_eq(gzip_begin(g.c, &r), 0, "already encoded");
	r.content_encoding = LSTR("");
	r.content_type = LSTR("image/png");
	cr_expect_eq(gzip_begin(g.c, &r), 0, "type not listed");
	cr_expect_eq(g.c->req.gz.vary, false);
	r.content_type = LSTR("text/html");
	cr_expect_eq(gzip_begin(g.c, &r), 1, "404 text/html");
	cr_expect(g.c->req.gz.vary && g.c->req.gz.encoded && g.c->req.gz.chunked);
	rig_free(&g);

	/* the client side: no gzip, but Vary all the same */
	rig_init(&g, "br", 11);
	cr_expect_eq(begin_html(g.c, 100), 0);
	cr_expect(g.c->req.gz.vary);
	rig_free(&g);
	rig_init(&g, "gzip", 10); /* gzip_http_version 1.1 */
	cr_expect_eq(begin_html(g.c, 100), 0);
	rig_free(&g);
	rig_init(&g, "gzip", 11); /* Via with gzip_proxied off */
	g.c->req.hdrs[1] = (struct h1_header){.name = {"Via", 3}, .value = {"1.1 x", 5}};
	g.c->req.h1.nheaders = 2;
	cr_expect_eq(begin_html(g.c, 100), 0);
	rig_free(&g);
	rig_init(&g, "gzip", 11); /* HEAD: the head says gzip, nothing to compress */
	g.c->req.head = true;
	cr_expect_eq(begin_html(g.c, 100), 1);
	cr_expect(g.c->req.gz.encoded && !g.c->req.gz.ctx && !g.c->req.gz.chunked);
	rig_free(&g);
}

Test(gzip, head_edits)
{
	struct rig g;
	struct h1_str cl = {"Content-Length", 14}, et = {"ETag", 4}, ct = {"Content-Type", 12};

	rig_init(&g, "gzip", 11);
	cr_assert_eq(begin_html(g.c, 100), 1);
	cr_expect_eq(gzip_header(g.c, cl, (struct h1_str){"100", 3}), 1);
	cr_expect_eq(
		gzip_header(g.c, (struct h1_str){"Accept-Ranges", 13}, (struct h1_str){"bytes", 5}),
		1);
	cr_expect_eq(gzip_header(g.c, ct, (struct h1_str){"text/html", 9}), 0);
	cr_expect_eq(gzip_header(g.c, et, (struct h1_str){"\"v1\"", 4}), 1);
	cr_expect_eq(gzip_head_add(g.c), 0);
	g.c->out.data[g.c->out.end] = '\0';
	cr_expect_str_eq(g.c->out.data, "ETag: W/\"v1\"\r\nContent-Encoding: gzip\r\n"
					"Transfer-Encoding: chunked\r\nVary: Accept-Encoding\r\n");
	rig_free(&g);
}

Test(gzip, free_list_reuse)
{
	struct rig g;
	struct gzip_ctx *first, *small;

	rig_init(&g, "gzip", 11);
	cr_assert_eq(begin_html(g.c, 1 << 20), 1);
	first = g.c->req.gz.ctx;
	gzip_req_end(g.c);
	memset(&g.c->req.gz, 0, sizeof(g.c->req.gz));
	g.loc.gzip.comp_level = 9; /* another level: the same stream, re-leveled */
	cr_assert_eq(begin_html(g.c, -1), 1);
	cr_expect_eq(g.c->req.gz.ctx, first, "a response took a new compressor");
	gzip_req_end(g.c);
	memset(&g.c->req.gz, 0, sizeof(g.c->req.gz));
	/* a short body takes a small window: another class */
	cr_assert_eq(begin_html(g.c, 300), 1);
	small = g.c->req.gz.ctx;
	cr_expect_neq(small, first);
	rig_free(&g);
	gzip_worker_free();
}

/* ---- configuration --------------------------------------------------------- */

#define HEAD	 "events {}\nhttp {\n"
#define LOC_OPEN "server {\nlisten 127.0.0.1:8080;\nlocation / {\n"

Test(gzip_cfg, defaults_and_inheritance)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *c =
		cfgtest_load(&t,
			     HEAD "gzip on;\ngzip_types text/css;\ngzip_disable msie6 \"^x\";\n"
				  "gzip_proxied expired auth;\n"
				  "server {\nlisten 127.0.0.1:8080;\n"
				  "location /a { }\n"
				  "location /b { gzip off; gzip_types *; gzip_comp_level 9; "
				  "gzip_disable \"^y\"; gzip_static always; gzip_vary on; "
				  "gzip_http_version 1.0; gzip_min_length 1k; }\n"
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
	cr_expect_eq(a->gzip.enable, 1);
	cr_expect_eq(a->gzip.comp_level, 1);
	cr_expect_eq(a->gzip.vary, 0);
	cr_expect_eq(a->gzip.http_version, 11);
	cr_expect_eq(a->gzip.min_length, 20);
	cr_expect_eq(a->gzip.static_mode, GZ_STATIC_OFF);
	cr_expect_eq(a->gzip.proxied, GZ_PROXIED_EXPIRED | GZ_PROXIED_AUTH);
	cr_expect_eq(a->gzip.ntypes, 1);
	cr_expect_eq(a->gzip.msie6, 1);
	cr_expect_eq(a->gzip.ndisable, 1);
	cr_expect_eq(b->gzip.enable, 0);
	cr_expect(b->gzip.types_any);
	cr_expect_eq(b->gzip.comp_level, 9);
	cr_expect_eq(b->gzip.ndisable, 1);
	cr_expect_neq(b->gzip.disable, a->gzip.disable);
	cr_expect_eq(b->gzip.msie6, 1, "msie6 inherits apart from the regexes");
	cr_expect_eq(b->gzip.static_mode, GZ_STATIC_ALWAYS);
	cr_expect_eq(b->gzip.vary, 1);
	cr_expect_eq(b->gzip.http_version, 10);
	cr_expect_eq(b->gzip.min_length, 1024);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

struct gz_err_case {
	char text[200];
	char msg[120];
	int line;
};

static struct gz_err_case gz_err_cases[] = {
	{HEAD LOC_OPEN "gzip_comp_level 10;\n}}}\n", "value must be between 1 and 9", 6},
	{HEAD LOC_OPEN "gzip_comp_level 1x;\n}}}\n", "\"gzip_comp_level\" directive invalid number",
	 6},
	{HEAD LOC_OPEN "gzip_comp_level 1;\ngzip_comp_level 2;\n}}}\n",
	 "\"gzip_comp_level\" directive is duplicate", 7},
	{HEAD LOC_OPEN "gzip_http_version 2.0;\n}}}\n", "invalid value \"2.0\"", 6},
	{HEAD LOC_OPEN "gzip_proxied any sometimes;\n}}}\n", "invalid value \"sometimes\"", 6},
	{HEAD LOC_OPEN "gzip_static yes;\n}}}\n", "invalid value \"yes\"", 6},
	{HEAD LOC_OPEN "gzip_buffers 0 4k;\n}}}\n", "\"gzip_buffers\" directive invalid value", 6},
	{HEAD LOC_OPEN "gzip_min_length -1;\n}}}\n", "\"gzip_min_length\" directive invalid value",
	 6},
	{HEAD LOC_OPEN "gzip yes;\n}}}\n",
	 "invalid value \"yes\" in \"gzip\" directive, it must be \"on\" or \"off\"", 6},
	{HEAD LOC_OPEN "gzip_disable \"(\";\n}}}\n",
	 "pcre2_compile() failed: missing closing parenthesis in \"(\"", 6},
	{HEAD "gzip_vary on;\ngzip_vary off;\n}\n", "\"gzip_vary\" directive is duplicate", 4},
	{"events {}\ngzip on;\n", "\"gzip\" directive is not allowed here", 2},
};

ParameterizedTestParameters(gzip_cfg, errors)
{
	return cr_make_param_array(struct gz_err_case, gz_err_cases, ARRAY_SIZE(gz_err_cases));
}

ParameterizedTest(struct gz_err_case *tc, gzip_cfg, errors)
{
	struct cfgtest t = {0};
	char err[1024], want[1024];
	struct cfg *c = cfgtest_load(&t, tc->text, err, sizeof(err));

	cr_assert_null(c, "expected an error for:\n%s", tc->text);
	snprintf(want, sizeof(want), "%s in %s:%d", tc->msg, t.path, tc->line);
	cr_expect_str_eq(err, want);
	cfgtest_cleanup(&t);
}
