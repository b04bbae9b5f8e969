/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the charset recoder (userspace/recode.c). The
 * input's first byte picks the table (koi8-r -> windows-1251, koi8-r ->
 * utf-8, utf-8 -> koi8-r, a few lines of Debian's maps) and the output
 * buffer size of the cut run, the second the length of each piece; the
 * rest is the body. Checked: recoding the body whole and in pieces, with
 * a small output buffer, gives the same bytes; every call makes progress;
 * the output stays within RECODE_GROWTH per input byte (plus one
 * character).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fz_util.h"
#include "pool.h"
#include "recode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pool fz_pool;
static struct recode_pair koi_win, koi_utf;
static bool ready;

static void setup(void)
{
	static const char *const kw[][2] = {{"C1", "E0"}, {"E1", "C0"}, {"A3", "B8"}, {"9A", "A0"}};
	static const char *const ku[][2] = {
		{"C1", "D0B0"}, {"E1", "D090"}, {"80", "E282AC"}, {"9A", "C2A0"}, {"A3", "D191"}};

	pool_init(&fz_pool, 4096);
	fz_check(recode_pair_init(&koi_win, false, &fz_pool) == 0);
	fz_check(recode_pair_init(&koi_utf, true, &fz_pool) == 0);
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		fz_check(recode_pair_add(&koi_win, kw[i][0], kw[i][1], &fz_pool) == RECODE_ADD_OK);
	for (size_t i = 0; i < sizeof(ku) / sizeof(ku[0]); i++)
		fz_check(recode_pair_add(&koi_utf, ku[i][0], ku[i][1], &fz_pool) == RECODE_ADD_OK);
	ready = true;
}

/* run - BODY[0..n) through T in pieces of PIECE bytes (0: whole) with
 * CAP bytes of output room per call; the output length. */
static size_t run(const struct recode_table *t, const uint8_t *body, size_t n, size_t piece,
		  size_t cap, char *out)
{
	struct recode_state s = {.t = t};
	size_t from = 0, w = 0;

	while (from < n) {
		size_t to = piece ? from + piece : n;

		if (to > n)
			to = n;
		while (from < to) {
			size_t used = 0, wrote;

			wrote = recode_run(&s, (const char *)body + from, to - from, &used, out + w,
					   cap);
			fz_check(used <= to - from && wrote <= cap);
			fz_check(used > 0 || wrote > 0);
			from += used;
			w += wrote;
		}
	}
	return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct recode_table *t;
	size_t n, piece, cap, a, b;
	char *whole, *cut;

	if (size < 2)
		return 0;
	if (!ready)
		setup();
	t = data[0] % 3 == 0 ? &koi_win.fwd : data[0] % 3 == 1 ? &koi_utf.fwd : &koi_utf.back;
	cap = RECODE_UNIT_MAX + (data[0] >> 2) % 32;
	piece = data[1] % 9;
	data += 2;
	n = size - 2;
	whole = malloc(RECODE_GROWTH * n + RECODE_UNIT_MAX + 1);
	cut = malloc(RECODE_GROWTH * n + RECODE_UNIT_MAX + 1);
	if (!whole || !cut)
		goto out;
	a = run(t, data, n, 0, RECODE_GROWTH * n + RECODE_UNIT_MAX, whole);
	fz_check(a <= RECODE_GROWTH * n + RECODE_UNIT_MAX);
	b = run(t, data, n, piece, cap, cut);
	fz_check(a == b && memcmp(whole, cut, a) == 0);
out:
	free(whole);
	free(cut);
	return 0;
}
