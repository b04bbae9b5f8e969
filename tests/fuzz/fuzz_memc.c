/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for memcached's answer reading (userspace/memc.c): the
 * input's first line is the key (escaped here as memc_build_request
 * escapes it), its first byte after that the memcached_gzip_flag, the
 * rest an answer's start. Checked: a parsed line lies inside the input
 * and ends with its LF; a hit's head renders within its buffer and says
 * the value's length; the escape's length is what it promised; the
 * trailer check accepts exactly the prefixes of "\r\nEND\r\n".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "fz_util.h"
#include "memc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t klen = nl ? (size_t)(nl - (const char *)data) : size, rest;
	char *ans, *key, want[32], head[512];
	struct memc_line ml;
	enum memc_rc k;
	unsigned flag;

	if (klen > 250 || !nl || klen + 2 > size)
		return 0;
	key = malloc(memc_key_escape(NULL, (const char *)data, klen) + 1);
	if (!key)
		return 0;
	size_t kl = memc_key_escape(key, (const char *)data, klen);

	if (kl != memc_key_escape(NULL, (const char *)data, klen) || kl < klen)
		abort();
	for (size_t i = 0; i < kl; i++)
		if (key[i] == ' ' || (unsigned char)key[i] < 0x20)
			abort(); /* escaped away */
	flag = data[klen + 1];
	rest = size - klen - 2;
	ans = fz_strdup(data + klen + 2, rest); /* exact size: ASan sees overreads */
	k = memc_parse_line(ans, rest, (struct lstr){key, kl}, flag, &ml);
	if (k != MEMC_MORE) {
		if (ml.len == 0 || ml.len > rest || ans[ml.len - 1] != '\n')
			abort();
		if (ml.text.len && (ml.text.p < ans || ml.text.p + ml.text.len > ans + rest))
			abort();
	}
	if (k == MEMC_HIT) {
		size_t hl =
			memc_head_put(head, sizeof(head), false, ml.length, "text/plain", ml.gzip);

		snprintf(want, sizeof(want), "Content-Length: %llu\r\n",
			 (unsigned long long)ml.length);
		if (!hl || hl > sizeof(head) || !memmem(head, hl, want, strlen(want)))
			abort();
	}
	/* the trailer: each split of the input at OFF, as reads would cut it */
	for (size_t off = 0; off <= MEMC_TRAILER_LEN && off <= rest; off++) {
		size_t n =
			rest - off < MEMC_TRAILER_LEN - off ? rest - off : MEMC_TRAILER_LEN - off;
		bool ok = memc_trailer_ok(ans + off, n, off);

		if (ok != (memcmp(ans + off, &"\r\nEND\r\n"[off], n) == 0))
			abort();
	}
	free(ans);
	free(key);
	return 0;
}
