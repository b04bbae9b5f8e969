/* SPDX-License-Identifier: MIT */
/*
 * Tests of the DNS messages of the resolver (userspace/dns.c): the query
 * bytes, answers read whole (A, AAAA, several records, CNAME + A with
 * compressed names, NXDOMAIN), and every way an answer is refused (not
 * ours, wrong question, truncated, short at every length, a pointer
 * forwards, a record of the wrong type or size). Parses read exact-size
 * heap copies so ASan sees any overread.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

static size_t put_name(uint8_t *p, const char *name)
{
	size_t o = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		p[o++] = (uint8_t)l;
		memcpy(p + o, name, l);
		o += l;
		name += l + (dot ? 1 : 0);
	}
	p[o++] = 0;
	return o;
}

static size_t put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

/* answer - a message: header (ID, FLAGS, 1 question, NAN answers), the
 * question NAME/QTYPE, then the records RR (RRLEN bytes) as given. */
static size_t answer(uint8_t *m, unsigned id, unsigned flags, const char *name, unsigned qtype,
		     unsigned nan, const uint8_t *rr, size_t rrlen)
{
	size_t o = 0;

	o += put16(m + o, id);
	o += put16(m + o, flags);
	o += put16(m + o, 1);
	o += put16(m + o, nan);
	o += put16(m + o, 0);
	o += put16(m + o, 0);
	o += put_name(m + o, name);
	o += put16(m + o, qtype);
	o += put16(m + o, 1);
	if (rrlen)
		memcpy(m + o, rr, rrlen);
	return o + rrlen;
}

/* rr_a - an A (or AAAA) record, owner a pointer to the question's name. */
static size_t rr_addr(uint8_t *p, unsigned type, uint32_t ttl, const void *addr, size_t alen)
{
	size_t o = 0;

	o += put16(p + o, 0xc00c);
	o += put16(p + o, type);
	o += put16(p + o, 1);
	o += put16(p + o, ttl >> 16);
	o += put16(p + o, ttl & 0xffff);
	o += put16(p + o, (unsigned)alen);
	memcpy(p + o, addr, alen);
	return o + alen;
}

static int parse_copy(const uint8_t *m, size_t n, unsigned id, const char *name, unsigned qtype,
		      struct dns_answer *a, const char **why)
{
	uint8_t *c = malloc(n ? n : 1);
	int rc;

	cr_assert(c);
	memcpy(c, m, n);
	rc = dns_parse(c, n, (uint16_t)id, name, strlen(name), (uint16_t)qtype, a, why);
	free(c);
	return rc;
}

Test(dns, query_bytes)
{
	uint8_t b[512];
	static const uint8_t want[] = {0x12, 0x34, 0x01, 0x00, 0,   1,	 0,   0,   0, 0, 0,  0, 3,
				       'a',  'p',  'p',	 4,    't', 'e', 's', 't', 0, 0, 28, 0, 1};
	int n = dns_query(b, sizeof(b), 0x1234, "app.test.", 9, DNS_AAAA);

	cr_assert_eq(n, (int)sizeof(want));
	cr_assert_arr_eq(b, want, sizeof(want));
	cr_assert_eq(dns_query(b, 20, 1, "app.test", 8, DNS_A), -1, "too small a buffer");
	cr_assert_eq(dns_query(b, sizeof(b), 1, "a..b", 4, DNS_A), -1);
	cr_assert_eq(dns_query(b, sizeof(b), 1, "a b", 3, DNS_A), -1);
	cr_assert_eq(dns_query(b, sizeof(b), 1, "", 0, DNS_A), -1);
}

Test(dns, name_rules)
{
	char big[300];

	cr_assert(dns_name_ok("my_app-1.internal", 17));
	cr_assert(!dns_name_ok(".a", 2));
	memset(big, 'a', 64);
	cr_assert(!dns_name_ok(big, 64), "a 64-byte label");
	cr_assert(dns_name_ok(big, 63));
	for (int i = 0; i < 255; i++)
		big[i] = i % 2 ? '.' : 'a';
	cr_assert(!dns_name_ok(big, 255));
}

Test(dns, a_records_whole)
{
	uint8_t m[512], rr[128];
	struct dns_answer a;
	const char *why;
	struct in_addr x, y;
	size_t l = 0, n;

	inet_pton(AF_INET, "10.0.0.1", &x);
	inet_pton(AF_INET, "10.0.0.2", &y);
	l += rr_addr(rr + l, DNS_A, 60, &x, 4);
	l += rr_addr(rr + l, DNS_A, 30, &y, 4);
	n = answer(m, 7, 0x8180, "App.Test", DNS_A, 2, rr, l);
	cr_assert_eq(parse_copy(m, n, 7, "app.test", DNS_A, &a, &why), 0, "%s", why);
	cr_assert_eq(a.rcode, 0);
	cr_assert_eq(a.naddrs, 2);
	cr_assert_eq(a.ttl, 30);
	cr_assert_arr_eq(a.addrs[0], &x, 4);
	cr_assert_arr_eq(a.addrs[1], &y, 4);
	/* every prefix is refused, never read past */
	for (size_t k = 0; k < n; k++)
		cr_assert_eq(parse_copy(m, k, 7, "app.test", DNS_A, &a, &why), -1, "prefix %zu", k);
}

Test(dns, aaaa_and_cname)
{
	uint8_t m[512], rr[256];
	struct dns_answer a;
	const char *why;
	struct in6_addr v6;
	size_t l = 0, n;

	/* CNAME app.test -> real.test (compressed: "real" + pointer to .test) */
	l += put16(rr + l, 0xc00c);
	l += put16(rr + l, DNS_CNAME);
	l += put16(rr + l, 1);
	l += put16(rr + l, 0);
	l += put16(rr + l, 5);
	l += put16(rr + l, 7);
	rr[l++] = 4;
	memcpy(rr + l, "real", 4);
	l += 4;
	l += put16(rr + l, 0xc010); /* ".test" in the question */
	inet_pton(AF_INET6, "2001:db8::5", &v6);
	/* its owner is the CNAME's target, itself a pointer */
	{
		size_t at = 12 + 10 + 4 + 12; /* header, question, CNAME's fixed part */

		rr[l++] = 0xc0;
		rr[l++] = (uint8_t)at;
		l += put16(rr + l, DNS_AAAA);
		l += put16(rr + l, 1);
		l += put16(rr + l, 0);
		l += put16(rr + l, 100);
		l += put16(rr + l, 16);
		memcpy(rr + l, &v6, 16);
		l += 16;
	}
	n = answer(m, 9, 0x8180, "app.test", DNS_AAAA, 2, rr, l);
	cr_assert_eq(parse_copy(m, n, 9, "app.test", DNS_AAAA, &a, &why), 0, "%s", why);
	cr_assert_eq(a.naddrs, 1);
	cr_assert_eq(a.ncname, 1);
	cr_assert_eq(a.ttl, 5);
	cr_assert_arr_eq(a.addrs[0], &v6, 16);
	/* the alias's target, decompressed (what the resolver asks next when
	 * an answer has no address) */
	cr_assert_eq(a.cname_len, 9);
	cr_assert(memcmp(a.cname, "real.test", 9) == 0, "%.*s", (int)a.cname_len, a.cname);
	/* a target whose name runs past its record is refused */
	rr[11] = 3; /* the CNAME's rdlength: 7 -> 3, its name then overruns it */
	n = answer(m, 9, 0x8180, "app.test", DNS_AAAA, 2, rr, l);
	cr_assert_eq(parse_copy(m, n, 9, "app.test", DNS_AAAA, &a, &why), -1);
}

Test(dns, errors_and_refusals)
{
	uint8_t m[512], rr[64];
	struct dns_answer a;
	const char *why;
	struct in_addr x;
	size_t n;

	inet_pton(AF_INET, "10.0.0.1", &x);
	n = answer(m, 3, 0x8183, "nx.test", DNS_A, 0, NULL, 0);
	cr_assert_eq(parse_copy(m, n, 3, "nx.test", DNS_A, &a, &why), 0);
	cr_assert_eq(a.rcode, DNS_NXDOMAIN);
	cr_assert_str_eq(dns_strerror(a.rcode), "Host not found");
	cr_assert_str_eq(dns_strerror(110), "Operation timed out");
	/* not ours: another ID, another name or type, a query not an answer */
	cr_assert_eq(parse_copy(m, n, 4, "nx.test", DNS_A, &a, &why), -1);
	cr_assert_str_eq(why, "wrong ident");
	cr_assert_eq(parse_copy(m, n, 3, "ny.test", DNS_A, &a, &why), -1);
	cr_assert_str_eq(why, "unexpected response");
	cr_assert_eq(parse_copy(m, n, 3, "nx.test", DNS_AAAA, &a, &why), -1);
	n = answer(m, 3, 0x0100, "nx.test", DNS_A, 0, NULL, 0);
	cr_assert_eq(parse_copy(m, n, 3, "nx.test", DNS_A, &a, &why), -1);
	/* truncated */
	n = answer(m, 3, 0x8380, "nx.test", DNS_A, 0, NULL, 0);
	cr_assert_eq(parse_copy(m, n, 3, "nx.test", DNS_A, &a, &why), -1);
	cr_assert_str_eq(why, "truncated DNS response");
	/* an AAAA record in an A answer, an A record of 5 bytes */
	n = answer(m, 3, 0x8180, "a.test", DNS_A, 1, rr,
		   rr_addr(rr, DNS_AAAA, 1, "0123456789abcdef", 16));
	cr_assert_eq(parse_copy(m, n, 3, "a.test", DNS_A, &a, &why), -1);
	cr_assert_str_eq(why, "unexpected AAAA record in DNS response");
	n = answer(m, 3, 0x8180, "a.test", DNS_A, 1, rr, rr_addr(rr, DNS_A, 1, "12345", 5));
	cr_assert_eq(parse_copy(m, n, 3, "a.test", DNS_A, &a, &why), -1);
	cr_assert_str_eq(why, "invalid A record in DNS response");
	/* more answers announced than there are */
	n = answer(m, 3, 0x8180, "a.test", DNS_A, 2, rr, rr_addr(rr, DNS_A, 1, &x, 4));
	cr_assert_eq(parse_copy(m, n, 3, "a.test", DNS_A, &a, &why), -1);
	/* a pointer forwards (could loop) */
	n = answer(m, 3, 0x8180, "a.test", DNS_A, 1, rr, rr_addr(rr, DNS_A, 1, &x, 4));
	m[12 + 8 + 4] = 0xc0;
	m[12 + 8 + 4 + 1] = 0xff;
	cr_assert_eq(parse_copy(m, n, 3, "a.test", DNS_A, &a, &why), -1);
	/* a TTL with its top bit set counts as 0 */
	n = answer(m, 3, 0x8180, "a.test", DNS_A, 1, rr, rr_addr(rr, DNS_A, 0x80000000u, &x, 4));
	cr_assert_eq(parse_copy(m, n, 3, "a.test", DNS_A, &a, &why), 0);
	cr_assert_eq(a.ttl, 0);
}

Test(dns, many_addresses_kept_to_the_bound)
{
	uint8_t m[1024], rr[900];
	struct dns_answer a;
	const char *why;
	size_t l = 0, n;

	for (int i = 0; i < 40; i++) {
		uint8_t ip[4] = {10, 0, 0, (uint8_t)i};

		l += rr_addr(rr + l, DNS_A, 9, ip, 4);
	}
	n = answer(m, 1, 0x8180, "many.test", DNS_A, 40, rr, l);
	cr_assert_eq(parse_copy(m, n, 1, "many.test", DNS_A, &a, &why), 0);
	cr_assert_eq(a.naddrs, DNS_MAX_ADDR);
}
