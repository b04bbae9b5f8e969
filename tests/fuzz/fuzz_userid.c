/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the userid cookie (userspace/userid.c): the input
 * is a cookie value as a client sends it. Checked: a value decodes only
 * when it has at least 22 characters; what decodes encodes back to the
 * same 22 characters when they are canonical base64 (the last one's low
 * bits zero), and any decoded id encodes and decodes to itself, with or
 * without a mark in place of the first pad character.
 */
#include <stdlib.h>
#include <string.h>

#include "fz_util.h"
#include "userid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_strdup(data, size), out[USERID_B64_LEN];
	uint32_t uid[4], again[4];
	int rc = userid_decode(s, size, uid);

	if (size < 22 && rc == 0)
		abort();
	if (rc == 0) {
		for (int mark = 0; mark < 2; mark++) {
			userid_encode(uid, mark ? 'A' : 0, out);
			if (userid_decode(out, sizeof(out), again) ||
			    memcmp(uid, again, sizeof(uid)))
				abort();
			if (mark && out[22] != 'A')
				abort();
		}
	}
	free(s);
	return 0;
}
