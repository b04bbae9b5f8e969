/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the DNS answer reader (userspace/dns.c). The
 * input is a message, parsed from an exact-size heap copy (ASan sees any
 * overread) as the answer to an A and to an AAAA query for the name its
 * question would need: the reader must never read past it, never report
 * more addresses than it holds, and give the same result twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

#define fz_check(cond)           \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static const char *names[] = {"app.test", "a", "x.example.com"};
	uint8_t *c = malloc(n ? n : 1);
	int id;

	if (!c)
		abort();
	memcpy(c, data, n);
	id = dns_answer_id(c, n);
	fz_check((id < 0) == (n < 12));
	for (int t = 0; t < 2; t++)
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			struct dns_answer a, b;
			const char *why = NULL, *why2 = NULL;
			int r1 = dns_parse(c, n, (uint16_t)(id < 0 ? 0 : id), names[k],
					   strlen(names[k]), t ? DNS_AAAA : DNS_A, &a, &why);
			int r2 = dns_parse(c, n, (uint16_t)(id < 0 ? 0 : id), names[k],
					   strlen(names[k]), t ? DNS_AAAA : DNS_A, &b, &why2);

			fz_check(r1 == r2);
			fz_check(r1 == 0 || (why && why == why2));
			if (r1 == 0) {
				fz_check(a.naddrs >= 0 && a.naddrs <= DNS_MAX_ADDR);
				fz_check(memcmp(&a, &b, sizeof(a)) == 0);
				fz_check(a.rcode >= 0 && a.rcode <= 15);
			}
		}
	free(c);
	return 0;
}
