/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the ClientHello pre-reader (userspace/preread.c).
 * Each input is parsed from an exact-size heap copy (ASan sees any
 * overread), and the answers must hold together: a result other than
 * AGAIN for a prefix is final (the whole input gives the same one, and
 * the same fields on OK), the strings are NUL-terminated at their lengths
 * and printable, and every prefix of an OK input is AGAIN or OK.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "preread.h"

#define fz_check(cond)           \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

static int parse(const uint8_t *data, size_t n, struct preread_info *pi)
{
	uint8_t *c = malloc(n ? n : 1);
	int rc;

	if (!c)
		abort();
	memcpy(c, data, n);
	rc = preread_parse(c, n, pi);
	free(c);
	return rc;
}

static void check_info(const struct preread_info *pi)
{
	fz_check(pi->sni_len <= PREREAD_NAME_MAX && pi->sni[pi->sni_len] == '\0');
	fz_check(strlen(pi->sni) == pi->sni_len);
	fz_check(pi->alpn_len <= PREREAD_ALPN_MAX && pi->alpn[pi->alpn_len] == '\0');
	fz_check(strlen(pi->alpn) == pi->alpn_len);
	fz_check(pi->version != NULL);
	for (size_t i = 0; i < pi->sni_len; i++)
		fz_check(pi->sni[i] > 0x20 && pi->sni[i] < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct preread_info whole, part;
	int rc = parse(data, size, &whole);

	fz_check(rc == PREREAD_OK || rc == PREREAD_AGAIN || rc == PREREAD_NOT_TLS ||
		 rc == PREREAD_BAD);
	if (rc == PREREAD_OK)
		check_info(&whole);
	/* a few prefixes: a verdict other than AGAIN never changes */
	for (size_t k = 0; k < size; k += 1 + size / 16) {
		int pr = parse(data, k, &part);

		if (pr == PREREAD_AGAIN)
			continue;
		fz_check(pr == rc);
		if (pr == PREREAD_OK)
			fz_check(strcmp(part.sni, whole.sni) == 0 &&
				 strcmp(part.alpn, whole.alpn) == 0);
	}
	return 0;
}
