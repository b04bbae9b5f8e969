/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for sub_filter's streaming matcher (userspace/
 * subfilter.c). Input: one byte (bits 0-1: 1..4 strings, bit 2:
 * sub_filter_once), then per string a length byte (1..8), its bytes and a
 * byte picking its replacement; a byte giving 0..7 cuts, two bytes per
 * cut; the rest is the body. The body goes through subfilter_relay in the
 * pieces the cuts make, and the output must equal a plain reference of
 * nginx's rule (tests/fuzz/sf_drive.h) fed the body whole.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sf_drive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CAP (1 << 18)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const reps[] = {"", "r", "<replacement>", "Z"};
	static char got[FZ_CAP], want[FZ_CAP];
	const char *s[SFD_MAX_PATS], *r[SFD_MAX_PATS];
	size_t sl[SFD_MAX_PATS], rl[SFD_MAX_PATS], cuts[8], p = 1, blen, gl, wl;
	struct sfd d;
	bool once;
	int n, nc;

	if (size < 1 || size > 16384)
		return 0;
	n = 1 + (data[0] & 3);
	once = data[0] & 4;
	for (int i = 0; i < n; i++) {
		if (p >= size)
			return 0;
		sl[i] = 1 + data[p++] % 8;
		if (p + sl[i] + 1 > size)
			return 0;
		s[i] = (const char *)data + p;
		p += sl[i];
		r[i] = reps[data[p++] % 4];
		rl[i] = strlen(r[i]);
	}
	if (p >= size)
		return 0;
	nc = data[p++] % 8;
	if (p + 2 * (size_t)nc > size)
		return 0;
	blen = size - p - 2 * (size_t)nc;
	for (int k = 0; k < nc; k++) {
		size_t v = (size_t)data[p + 2 * k] << 8 | data[p + 2 * k + 1];

		cuts[k] = blen > 1 ? 1 + v % (blen - 1) : 0;
	}
	if (blen < 2)
		nc = 0;
	for (int k = 1; k < nc; k++)
		for (int j = k; j > 0 && cuts[j - 1] > cuts[j]; j--) {
			size_t t = cuts[j];

			cuts[j] = cuts[j - 1];
			cuts[j - 1] = t;
		}
	p += 2 * (size_t)nc;
	sfd_init(&d, n, s, sl, r, rl, once);
	wl = sfd_ref(&d, (const char *)data + p, blen, once, want, FZ_CAP);
	gl = sfd_run(&d, (const char *)data + p, blen, cuts, nc, got, FZ_CAP);
	if (wl != (size_t)-1 && (gl != wl || memcmp(got, want, wl) != 0))
		abort();
	sfd_free(&d);
	return 0;
}
