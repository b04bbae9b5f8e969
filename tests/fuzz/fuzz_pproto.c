/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the PROXY protocol parser (userspace/pproto.c). The
 * input is what a peer sent first, in an exact-size heap copy (ASan sees
 * any read past it). A header accepted must be a whole one: no longer than
 * the input or its version's limit, accepted again alone with the same
 * length and addresses, every shorter prefix of it "more is needed"; its
 * addresses must read back with inet_pton(3). A refusal must be final:
 * more bytes after it never turn it into an acceptance. The error text of
 * every refusal is built (bounded, NUL-terminated).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fz_util.h"
#include "pproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *in = malloc(size ? size : 1), bin[16];
	struct pproto_info pi, again;
	size_t used, used2;
	enum pproto_rc rc;
	char msg[256];

	if (!in)
		return 0;
	memcpy(in, data, size);
	rc = pproto_parse(in, size, &pi, &used);
	if (rc == PPROTO_OK) {
		fz_check(used > 0 && used <= size && used <= PPROTO_MAX);
		fz_check(pi.version == 1 || pi.version == 2);
		fz_check(pi.version == 2 || used <= PPROTO_V1_MAX);
		if (pi.has_addr) {
			int af = strchr(pi.src, ':') ? AF_INET6 : AF_INET;

			fz_check(strlen(pi.src) == pi.src_len && strlen(pi.dst) == pi.dst_len);
			fz_check(inet_pton(af, pi.src, bin) == 1 &&
				 inet_pton(af, pi.dst, bin) == 1);
		}
		fz_check(pproto_parse(in, used, &again, &used2) == PPROTO_OK && used2 == used);
		fz_check(again.has_addr == pi.has_addr && strcmp(again.src, pi.src) == 0 &&
			 again.src_port == pi.src_port && again.dst_port == pi.dst_port);
		fz_check(pproto_parse(in, used - 1, &again, &used2) == PPROTO_AGAIN);
		fz_check(pproto_parse(in, used / 2, &again, &used2) == PPROTO_AGAIN);
	} else if (rc != PPROTO_AGAIN) {
		/* a verdict on a prefix stands for the whole */
		for (size_t n = size; n > 0; n--) {
			enum pproto_rc r = pproto_parse(in, n, &again, &used2);

			if (r == PPROTO_AGAIN)
				break;
			fz_check(r != PPROTO_OK);
		}
		pproto_describe(rc, in, size, msg, sizeof(msg));
		fz_check(memchr(msg, '\0', sizeof(msg)) != NULL);
	}
	free(in);
	return 0;
}
