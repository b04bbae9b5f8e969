/* SPDX-License-Identifier: MIT */
/*
 * recode.c: the map lines nginx accepts and refuses, the three kinds of
 * recoding against outputs taken from nginx 1.22 (koi8-r/utf-8 letters,
 * unmapped code points as "&#N;", invalid UTF-8 as "?", a sequence cut at
 * the end dropped), and every input fed whole, cut at every place and byte
 * by byte with the same output; a small output buffer; the in-place
 * single-byte recoder on any slice.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "pool.h"
#include "recode.h"

static struct pool pool;
static struct recode_pair koi_utf, koi_win;

static void setup(void)
{
	pool_init(&pool, 4096);
	cr_assert_eq(recode_pair_init(&koi_utf, true, &pool), 0);
	/* a few lines of Debian's /etc/nginx/koi-utf */
	cr_assert_eq(recode_pair_add(&koi_utf, "C1", "D0B0", &pool), RECODE_ADD_OK);   /* а */
	cr_assert_eq(recode_pair_add(&koi_utf, "C2", "D0B1", &pool), RECODE_ADD_OK);   /* б */
	cr_assert_eq(recode_pair_add(&koi_utf, "E1", "D090", &pool), RECODE_ADD_OK);   /* А */
	cr_assert_eq(recode_pair_add(&koi_utf, "80", "E282AC", &pool), RECODE_ADD_OK); /* € */
	cr_assert_eq(recode_pair_add(&koi_utf, "9A", "C2A0", &pool), RECODE_ADD_OK);
	cr_assert_eq(recode_pair_init(&koi_win, false, &pool), 0);
	cr_assert_eq(recode_pair_add(&koi_win, "C1", "E0", &pool), RECODE_ADD_OK);
	cr_assert_eq(recode_pair_add(&koi_win, "e1", "c0", &pool), RECODE_ADD_OK);
}

static void teardown(void)
{
	pool_destroy(&pool);
}

TestSuite(recode, .init = setup, .fini = teardown);

/* run - IN through table T cut at CUTS (sorted places, n of them) with an
 * output buffer of CAP per call; the output in OUT, its length returned. */
static size_t run(const struct recode_table *t, const char *in, size_t n, const size_t *cuts,
		  int ncuts, size_t cap, char *out)
{
	struct recode_state s = {.t = t};
	size_t from = 0, w = 0;

	for (int k = 0; k <= ncuts; k++) {
		size_t to = k < ncuts ? cuts[k] : n;

		while (from < to) {
			size_t used = 0, wrote;

			wrote = recode_run(&s, in + from, to - from, &used, out + w, cap);
			cr_assert(used > 0 || wrote > 0, "no progress");
			w += wrote;
			from += used;
		}
	}
	return w;
}

/* check - IN recoded whole is WANT; cut at every place, at every pair of
 * places, byte by byte, and with a 10-byte output buffer: the same. */
static void check(const struct recode_table *t, const char *in, size_t n, const char *want,
		  size_t wn)
{
	static char out[4096];
	size_t cuts[4096];
	size_t got = run(t, in, n, NULL, 0, sizeof(out), out);

	cr_assert_eq(got, wn, "length %zu, want %zu", got, wn);
	cr_assert(memcmp(out, want, wn) == 0);
	for (size_t i = 0; i <= n; i++) {
		cuts[0] = i;
		cr_assert_eq(run(t, in, n, cuts, 1, sizeof(out), out), wn, "cut at %zu", i);
		cr_assert(memcmp(out, want, wn) == 0, "cut at %zu", i);
		for (size_t j = i; j <= n; j++) {
			cuts[1] = j;
			cr_assert_eq(run(t, in, n, cuts, 2, sizeof(out), out), wn);
			cr_assert(memcmp(out, want, wn) == 0, "cuts at %zu %zu", i, j);
		}
	}
	for (size_t i = 0; i < n; i++)
		cuts[i] = i + 1;
	cr_assert_eq(run(t, in, n, cuts, (int)n, sizeof(out), out), wn, "byte by byte");
	cr_assert(memcmp(out, want, wn) == 0, "byte by byte");
	cr_assert_eq(run(t, in, n, NULL, 0, RECODE_UNIT_MAX, out), wn, "small output");
	cr_assert(memcmp(out, want, wn) == 0, "small output");
}

#define CHECK(t, in, want) check(t, in, sizeof(in) - 1, want, sizeof(want) - 1)

Test(recode, single_byte)
{
	CHECK(&koi_win.fwd, "a\xC1\xE1\xFF-", "a\xE0\xC0?-");
	CHECK(&koi_win.back, "a\xE0\xC0\xC1-", "a\xC1\xE1?-");
}

/* recode_sb: in place, any slice alone gives that slice of the whole
 * (a byte range of a file is recoded by itself), and it agrees with
 * recode_run */
Test(recode, single_byte_in_place)
{
	char all[256], part[256], ref[256];
	size_t used = 0;
	struct recode_state s = {.t = &koi_win.fwd};

	for (int i = 0; i < 256; i++)
		all[i] = ref[i] = (char)i;
	cr_assert_eq(recode_run(&s, ref, 256, &used, part, sizeof(part)), 256);
	memcpy(ref, part, 256);
	recode_sb(&koi_win.fwd, all, 256);
	cr_assert(memcmp(all, ref, 256) == 0);
	cr_assert_eq((uint8_t)all[0xC1], 0xE0);
	cr_assert_eq(all['a'], 'a');
	cr_assert_eq(all[0xFF], '?');
	for (size_t a = 0; a < 256; a += 37)
		for (size_t b = a; b <= 256; b += 29) {
			for (size_t i = a; i < b; i++)
				part[i] = (char)i;
			recode_sb(&koi_win.fwd, part + a, b - a);
			cr_assert(memcmp(part + a, ref + a, b - a) == 0, "%zu-%zu", a, b);
		}
	recode_sb(&koi_win.fwd, all, 0); /* nothing: nothing touched */
	cr_assert(memcmp(all, ref, 256) == 0);
}

Test(recode, to_utf8)
{
	CHECK(&koi_utf.fwd, "x\xC1\xC2\xE1\x80\x9A\xFF",
	      "x\xD0\xB0\xD0\xB1\xD0\x90\xE2\x82\xAC\xC2\xA0?");
}

Test(recode, from_utf8)
{
	/* mapped letters, an unmapped 2-byte, 3-byte and 4-byte code point */
	CHECK(&koi_utf.back, "x\xD0\xB0\xD0\x90\xE2\x82\xAC\xC2\xA0y", "x\xC1\xE1\x80\x9Ay");
	CHECK(&koi_utf.back, "\xD0\xAF|\xE4\xB8\xAD|\xF0\x9F\x98\x80",
	      "&#1071;|&#20013;|&#128512;");
	/* invalid: a stray continuation byte, C0/C1 leads, an overlong
	 * sequence, a lead followed by ASCII (the ASCII byte goes too, as in
	 * nginx), beyond U+10FFFF */
	CHECK(&koi_utf.back,
	      "a\x80"
	      "b\xC0\xAF"
	      "c",
	      "a?b??c");
	CHECK(&koi_utf.back, "\xE0\x80\xAF|\xD0Q|\xF4\x90\x80\x80|", "?|?|?|");
	/* cut at the end of the body: dropped */
	CHECK(&koi_utf.back, "ab\xE2\x82", "ab");
	CHECK(&koi_utf.back, "ab\xF0", "ab");
	/* an error inside held bytes: what the decoder did not take is decoded
	 * again (a lead then ASCII then more) */
	CHECK(&koi_utf.back, "\xF0\x41\x42\xD0\xB0", "?B\xC1");
}

Test(recode, decode)
{
	const uint8_t a[] = {0xE2, 0x82, 0xAC}, *p = a;

	cr_assert_eq(recode_utf8_decode(&p, 3), 0x20AC);
	cr_assert_eq(p, a + 3);
	p = a;
	cr_assert_eq(recode_utf8_decode(&p, 2), 0xfffffffe);
	cr_assert_eq(p, a);
}

struct line_case {
	bool utf8;
	char src[8], dst[12]; /* arrays: Criterion passes the cases to another process */
	enum recode_add_rc rc;
};

ParameterizedTestParameters(recode, lines)
{
	static struct line_case cases[] = {
		{false, "C1", "E0", RECODE_ADD_OK},
		{false, "00c1", "0E0", RECODE_ADD_OK},
		{false, "100", "E0", RECODE_ADD_BAD_SRC},
		{false, "G1", "E0", RECODE_ADD_BAD_SRC},
		{false, "C1", "1E0", RECODE_ADD_BAD_DST},
		{false, "C1", "", RECODE_ADD_BAD_DST},
		{true, "C1", "D0B0", RECODE_ADD_OK},
		{true, "C1", "C280", RECODE_ADD_OK},
		{true, "C1", "EFBFBF", RECODE_ADD_OK},
		{true, "C1", "41", RECODE_ADD_BAD_DST},	      /* ASCII: no code point >= 0x80 */
		{true, "C1", "D0", RECODE_ADD_BAD_DST},	      /* cut */
		{true, "C1", "D0B", RECODE_ADD_BAD_DST},      /* odd */
		{true, "C1", "F09F9880", RECODE_ADD_BAD_DST}, /* 4 bytes */
		{true, "C1", "C0AF", RECODE_ADD_BAD_DST},     /* overlong */
		{true, "C1", "D0ZZ", RECODE_ADD_BAD_DST},
		{true, "1C1", "D0B0", RECODE_ADD_BAD_SRC},
	};
	return cr_make_param_array(struct line_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct line_case *c, recode, lines)
{
	struct recode_pair p;

	cr_assert_eq(recode_pair_init(&p, c->utf8, &pool), 0);
	cr_assert_eq(recode_pair_add(&p, c->src, c->dst, &pool), c->rc, "%s %s", c->src, c->dst);
}
