/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for realip (userspace/realip.c): the address parser
 * (nginx's ngx_parse_addr_port) and the walk of X-Forwarded-For values.
 * The first byte picks real_ip_recursive (bit 0); the rest is split at
 * '\n' into header values, in the order received. The peer is trusted
 * (10.0.0.1 in 10.0.0.0/8 and 2001:db8::/32). An address taken must be
 * IPv4 or IPv6 with its length, and must have been one of the entries;
 * every value the parser accepts must print and parse back the same.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fz_util.h"
#include "realip.h"

#define FZ_MAX_VALS 8

/* fz_roundtrip - an accepted address printed and parsed again is equal. */
static void fz_roundtrip(const struct sockaddr_storage *ss, socklen_t sl)
{
	struct sockaddr_storage back;
	socklen_t bl;
	char a[INET6_ADDRSTRLEN];

	fz_check(ss->ss_family == AF_INET || ss->ss_family == AF_INET6);
	fz_check(sl == (ss->ss_family == AF_INET ? sizeof(struct sockaddr_in)
						 : sizeof(struct sockaddr_in6)));
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
	fz_check(realip_parse_addr(a, strlen(a), &back, &bl));
	fz_check(back.ss_family == ss->ss_family && bl == sl);
	if (ss->ss_family == AF_INET)
		fz_check(memcmp(&((struct sockaddr_in *)&back)->sin_addr,
				&((const struct sockaddr_in *)ss)->sin_addr, 4) == 0);
	else
		fz_check(memcmp(&((struct sockaddr_in6 *)&back)->sin6_addr,
				&((const struct sockaddr_in6 *)ss)->sin6_addr, 16) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct realip_cidr from[] = {
		{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 0}, 96 + 8, AF_INET},
		{{0x20, 0x01, 0x0d, 0xb8}, 32, AF_INET6},
	};
	struct lstr vals[FZ_MAX_VALS];
	struct sockaddr_storage ss = {0}, one;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	socklen_t sl = sizeof(*s4), ol;
	const char *p, *end;
	bool recursive;
	int n = 0;

	if (size < 1)
		return 0;
	recursive = data[0] & 1;
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p <= end && n < FZ_MAX_VALS) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		vals[n++] = (struct lstr){p, len};
		if (realip_parse_addr(p, len, &one, &ol))
			fz_roundtrip(&one, ol);
		if (!nl)
			break;
		p = nl + 1;
	}
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(0x0a000001);
	if (realip_find(&ss, &sl, vals, n, from, 2, recursive))
		fz_roundtrip(&ss, sl);
	else
		fz_check(ss.ss_family == AF_INET && s4->sin_addr.s_addr == htonl(0x0a000001));
	return 0;
}
