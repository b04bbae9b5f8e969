/* SPDX-License-Identifier: MIT */
/*
 * subfilter.c: the matcher's decisions (subf_find) and the streaming
 * substitution against a plain reference, with the body cut at every
 * place (one cut and two), fed byte by byte, and over random strings and
 * bodies of a small alphabet (overlaps, shared prefixes, matches at the
 * end); outputs larger than one output buffer; sub_filter_once.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "../fuzz/sf_drive.h"

#define CAP (1 << 20)

static char got[CAP], want[CAP];

static void setup_pats(struct sfd *d, const char *const *s, const char *const *r, int n, bool once)
{
	size_t sl[SFD_MAX_PATS], rl[SFD_MAX_PATS];

	for (int i = 0; i < n; i++) {
		sl[i] = strlen(s[i]);
		rl[i] = strlen(r[i]);
	}
	sfd_init(d, n, s, sl, r, rl, once);
}

/* check_cuts - BODY whole, cut once at every place, cut twice at every
 * pair of places, and byte by byte: each output is the reference's. */
static void check_cuts(struct sfd *d, const char *body, bool once)
{
	size_t n = strlen(body), wl = sfd_ref(d, body, n, once, want, CAP), gl;
	size_t cuts[4096];

	cr_assert_neq(wl, (size_t)-1);
	gl = sfd_run(d, body, n, NULL, 0, got, CAP);
	cr_assert(gl == wl && memcmp(got, want, wl) == 0, "whole: \"%.*s\" want \"%.*s\"", (int)gl,
		  got, (int)wl, want);
	for (size_t a = 1; a < n; a++) {
		cuts[0] = a;
		gl = sfd_run(d, body, n, cuts, 1, got, CAP);
		cr_assert(gl == wl && memcmp(got, want, wl) == 0,
			  "cut at %zu: \"%.*s\" want \"%.*s\"", a, (int)gl, got, (int)wl, want);
		for (size_t b = a + 1; b < n && n < 200; b++) {
			cuts[1] = b;
			gl = sfd_run(d, body, n, cuts, 2, got, CAP);
			cr_assert(gl == wl && memcmp(got, want, wl) == 0, "cuts %zu %zu", a, b);
		}
	}
	if (n > 1 && n - 1 <= sizeof(cuts) / sizeof(cuts[0])) {
		for (size_t a = 1; a < n; a++)
			cuts[a - 1] = a;
		gl = sfd_run(d, body, n, cuts, (int)(n - 1), got, CAP);
		cr_assert(gl == wl && memcmp(got, want, wl) == 0, "byte by byte");
	}
}

Test(subfilter, find_decisions)
{
	static const char *const s[] = {"abcd", "bc", "Q"};
	static const char *const r[] = {"1", "2", "3"};
	struct sfd d;
	size_t at = 0;
	int w = -1;

	setup_pats(&d, s, r, 3, false);
	cr_assert_eq(d.set.min, 1);
	cr_assert_eq(d.set.max, 4);
	/* the leftmost start wins; at one start, configuration order */
	cr_assert_eq(subf_find(&d.set, NULL, "xxABCDbc", 8, 0, &at, &w), SUBF_MATCH);
	cr_assert(at == 2 && w == 0);
	cr_assert_eq(subf_find(&d.set, NULL, "xxabcxbc", 8, 0, &at, &w), SUBF_MATCH);
	cr_assert(at == 3 && w == 1, "at %zu w %d", at, w);
	cr_assert_eq(subf_find(&d.set, NULL, "zzq", 3, 0, &at, &w), SUBF_MATCH);
	cr_assert(at == 2 && w == 2);
	/* a start matching up to the end: held there */
	cr_assert_eq(subf_find(&d.set, NULL, "xxab", 4, 0, &at, &w), SUBF_HOLD);
	cr_assert_eq(at, 2);
	/* nothing: no start is undecided with min 1 */
	cr_assert_eq(subf_find(&d.set, NULL, "xyz", 3, 0, &at, &w), SUBF_HOLD);
	cr_assert_eq(at, 3);
	/* applied strings are skipped (sub_filter_once) */
	uint64_t applied[4] = {1, 0, 0, 0};

	cr_assert_eq(subf_find(&d.set, applied, "xxabcd", 6, 0, &at, &w), SUBF_MATCH);
	cr_assert(at == 3 && w == 1);
	sfd_free(&d);
}

Test(subfilter, find_short_tail_held)
{
	static const char *const s[] = {"hello", "world!"};
	static const char *const r[] = {"", ""};
	struct sfd d;
	size_t at = 0;
	int w = -1;

	setup_pats(&d, s, r, 2, false);
	/* fewer than min (5) bytes left at the end: undecided */
	cr_assert_eq(subf_find(&d.set, NULL, "say hi to", 9, 0, &at, &w), SUBF_HOLD);
	cr_assert_geq(at, 5);
	cr_assert_leq(at, 9);
	sfd_free(&d);
}

Test(subfilter, every_cut_fixed_cases)
{
	static const char *const s[] = {"abcdef", "bcd", "cdXY", "zz", "q"};
	static const char *const r[] = {"[6]", "[3]", "<4>", "", "QQQQQQQQ"};
	static const char *const bodies[] = {
		"..abcdefg abcdeX bcd cdxy ABCDEF zzz q Q abcdabcdef zz abcde",
		"abcdef",
		"abcde",
		"ab",
		"q",
		"zzzzzzzzz",
		"cdxcdxycdxY bcbcbcd",
		"",
	};
	struct sfd d;

	for (int once = 0; once < 2; once++) {
		setup_pats(&d, s, r, 5, once);
		for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
			check_cuts(&d, bodies[i], once);
		sfd_free(&d);
	}
}

Test(subfilter, output_beyond_one_buffer)
{
	/* replacements far longer than the output buffer and many matches */
	static char big[40000], body[20000];
	const char *s[] = {"x", "yy"};
	const char *r[] = {big, "-"};
	struct sfd d;
	size_t cuts[3] = {1, 9999, 10001}, wl, gl;

	memset(big, 'R', sizeof(big) - 1);
	for (size_t i = 0; i < sizeof(body) - 1; i++)
		body[i] = "xyya"[i % 4];
	setup_pats(&d, s, r, 2, true);
	wl = sfd_ref(&d, body, strlen(body), true, want, CAP);
	gl = sfd_run(&d, body, strlen(body), cuts, 3, got, CAP);
	cr_assert(gl == wl && memcmp(got, want, wl) == 0);
	sfd_free(&d);
	r[0] = "<x>";
	setup_pats(&d, s, r, 2, false);
	wl = sfd_ref(&d, body, strlen(body), false, want, CAP);
	gl = sfd_run(&d, body, strlen(body), cuts, 3, got, CAP);
	cr_assert(gl == wl && memcmp(got, want, wl) == 0);
	cr_assert_gt(gl, strlen(body));
	sfd_free(&d);
}

Test(subfilter, random_against_reference)
{
	unsigned seed = 12345;
	char body[300], pat[SFD_MAX_PATS][8];
	const char *s[SFD_MAX_PATS], *r[SFD_MAX_PATS];
	static const char *const reps[] = {"", "1", "22", "<long replacement>"};
	struct sfd d;

	for (int round = 0; round < 300; round++) {
		int n = 1 + (int)(rand_r(&seed) % 5);
		size_t blen = (size_t)(rand_r(&seed) % sizeof(body));
		size_t cuts[8], wl, gl;
		int nc = (int)(rand_r(&seed) % 8);
		bool once = rand_r(&seed) & 1;

		for (int i = 0; i < n; i++) {
			int l = 1 + (int)(rand_r(&seed) % 6);

			for (int k = 0; k < l; k++)
				pat[i][k] = "abAB"[rand_r(&seed) % 4];
			pat[i][l] = '\0';
			s[i] = pat[i];
			r[i] = reps[rand_r(&seed) % 4];
		}
		for (size_t k = 0; k < blen; k++)
			body[k] = "abcAB"[rand_r(&seed) % 5];
		setup_pats(&d, s, r, n, once);
		if (blen < 2)
			nc = 0;
		for (int k = 0; k < nc; k++)
			cuts[k] = 1 + rand_r(&seed) % (blen - 1);
		for (int k = 1; k < nc; k++) /* ascending, duplicates allowed */
			for (int j = k; j > 0 && cuts[j - 1] > cuts[j]; j--) {
				size_t tmp = cuts[j];

				cuts[j] = cuts[j - 1];
				cuts[j - 1] = tmp;
			}
		wl = sfd_ref(&d, body, blen, once, want, CAP);
		gl = sfd_run(&d, body, blen, cuts, nc, got, CAP);
		cr_assert(gl == wl && memcmp(got, want, wl) == 0, "round %d", round);
		sfd_free(&d);
	}
}
