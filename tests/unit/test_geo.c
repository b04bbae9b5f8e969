/* SPDX-License-Identifier: MIT */
/*
 * The geo tries (geo.c): nginx's reading of networks (host bits, single
 * addresses, 255.255.255.255), longest-prefix lookups over IPv4 and IPv6,
 * IPv4-mapped addresses, text that is no address, `default`, `delete`,
 * duplicates; and a cross-check of the trie against a linear scan for
 * random networks and addresses.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "pool.h"

static struct pool pool;
static struct geo g;

static void setup(void)
{
	pool_init(&pool, 4096);
	cr_assert_eq(geo_init(&g, &pool), 0);
}

static void teardown(void)
{
	pool_destroy(&pool);
}

static const char *find(const char *a)
{
	static char out[64];
	struct lstr v = geo_find(&g, a, strlen(a));

	snprintf(out, sizeof(out), "%.*s", (int)v.len, v.p);
	return out;
}

TestSuite(geo, .init = setup, .fini = teardown);

Test(geo, parse_net)
{
	uint8_t a[16];
	int bits;
	bool v6;

	cr_assert_eq(geo_parse_net("10.0.0.0/8", a, &bits, &v6), GEO_OK);
	cr_assert(bits == 8 && !v6 && a[0] == 10);
	cr_assert_eq(geo_parse_net("10.1.2.3", a, &bits, &v6), GEO_OK);
	cr_assert_eq(bits, 32);
	cr_assert_eq(geo_parse_net("10.1.2.3/8", a, &bits, &v6), GEO_LOW_BITS);
	cr_assert(a[0] == 10 && a[1] == 0 && a[3] == 0);
	cr_assert_eq(geo_parse_net("255.255.255.255", a, &bits, &v6), GEO_OK);
	cr_assert(bits == 32 && a[3] == 255);
	cr_assert_eq(geo_parse_net("2001:db8::/32", a, &bits, &v6), GEO_OK);
	cr_assert(bits == 32 && v6 && a[0] == 0x20 && a[1] == 0x01);
	cr_assert_eq(geo_parse_net("::1", a, &bits, &v6), GEO_OK);
	cr_assert(bits == 128 && v6 && a[15] == 1);
	cr_assert_eq(geo_parse_net("0.0.0.0/0", a, &bits, &v6), GEO_OK);
	cr_assert_eq(bits, 0);
	const char *bad[] = {"10.0.0.0/33", "::/129",	   "10.0.0.256",  "1.2.3",
			     "10.0.0.0/",   "10.0.0.0/-1", "10.0.0.0/8x", "",
			     "/8",	    "x",	   "default"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(geo_parse_net(bad[i], a, &bits, &v6), GEO_INVALID, "%s", bad[i]);
}

Test(geo, longest_prefix_both_families)
{
	const char *old = NULL;

	cr_assert_str_eq(find("1.2.3.4"), ""); /* no default: empty */
	cr_assert_eq(geo_set_default(&g, &pool, "def"), 0);
	cr_assert_eq(geo_add(&g, &pool, "10.0.0.0/8", "ten", NULL), GEO_OK);
	cr_assert_eq(geo_add(&g, &pool, "10.1.0.0/16", "ten1", NULL), GEO_OK);
	cr_assert_eq(geo_add(&g, &pool, "10.1.2.3", "host", NULL), GEO_OK);
	cr_assert_eq(geo_add(&g, &pool, "2001:db8::/32", "doc", NULL), GEO_OK);
	cr_assert_eq(geo_add(&g, &pool, "2001:db8:1::/48", "doc1", NULL), GEO_OK);
	cr_assert_eq(geo_add(&g, &pool, "255.255.255.255", "none", NULL), GEO_OK);
	cr_assert_str_eq(find("10.9.9.9"), "ten");
	cr_assert_str_eq(find("10.1.9.9"), "ten1");
	cr_assert_str_eq(find("10.1.2.3"), "host");
	cr_assert_str_eq(find("10.1.2.4"), "ten1");
	cr_assert_str_eq(find("11.0.0.0"), "def");
	cr_assert_str_eq(find("2001:db8::1"), "doc");
	cr_assert_str_eq(find("2001:db8:1:ffff::1"), "doc1");
	cr_assert_str_eq(find("2001:db9::1"), "def");
	cr_assert_str_eq(find("::ffff:10.1.2.3"), "host"); /* IPv4-mapped: the IPv4 trie */
	cr_assert_str_eq(find("garbage"), "none");	   /* as 255.255.255.255 */
	cr_assert_str_eq(find(""), "none");
	/* duplicate: replaced, the old value reported */
	cr_assert_eq(geo_add(&g, &pool, "10.1.0.0/16", "again", &old), GEO_DUPLICATE);
	cr_assert_str_eq(old, "ten1");
	cr_assert_str_eq(find("10.1.9.9"), "again");
	cr_assert_eq(geo_add(&g, &pool, "10.1.0.1/16", "x", &old), GEO_DUPLICATE | GEO_LOW_BITS);
	/* delete: the network's own value goes, the shorter one shows again */
	cr_assert_eq(geo_del(&g, "10.1.0.0/16"), GEO_OK);
	cr_assert_str_eq(find("10.1.9.9"), "ten");
	cr_assert_str_eq(find("10.1.2.3"), "host");
	cr_assert_eq(geo_del(&g, "10.1.0.0/16"), GEO_NOT_FOUND);
	cr_assert_eq(geo_del(&g, "12.0.0.0/8"), GEO_NOT_FOUND);
	cr_assert_eq(geo_del(&g, "12.0.0/8"), GEO_INVALID);
	/* values are shared: equal strings stored once */
	cr_assert_eq(geo_add(&g, &pool, "20.0.0.0/8", "ten", NULL), GEO_OK);
	cr_assert_eq(g.nvalues, 9);
}

/* struct net - a network for the linear cross-check. */
struct net {
	uint32_t addr;
	int bits;
	int value;
};

/* rnd - a small LCG: the same networks and addresses on every run. */
static uint32_t rnd(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 1;
}

/* addr - a random address with few top bits, so networks nest and overlap. */
static uint32_t addr(uint32_t *seed)
{
	uint32_t top = rnd(seed) & 0x3, mid = rnd(seed) & 0xff, low = rnd(seed) & 0xffff;

	return top << 30 | mid << 16 | low;
}

Test(geo, trie_matches_linear_scan)
{
	static struct net nets[400];
	char text[32], val[16];
	uint32_t seed = 12345;

	for (int i = 0; i < 400; i++) {
		uint32_t a = addr(&seed);
		int bits = (int)(rnd(&seed) % 33);
		uint32_t mask = bits ? ~0u << (32 - bits) : 0;

		nets[i] = (struct net){a & mask, bits, i};
		snprintf(text, sizeof(text), "%u.%u.%u.%u/%d", (a & mask) >> 24,
			 (a & mask) >> 16 & 255, (a & mask) >> 8 & 255, (a & mask) & 255, bits);
		snprintf(val, sizeof(val), "v%d", i);
		cr_assert_geq(geo_add(&g, &pool, text, val, NULL), 0);
	}
	for (int k = 0; k < 5000; k++) {
		uint32_t a = addr(&seed);
		int best = -1, bestbits = -1;
		char want[16] = "";

		for (int i = 0; i < 400; i++) {
			uint32_t mask = nets[i].bits ? ~0u << (32 - nets[i].bits) : 0;

			/* a later equal network replaced an earlier one: >= */
			if ((a & mask) == nets[i].addr && nets[i].bits >= bestbits) {
				best = i;
				bestbits = nets[i].bits;
			}
		}
		if (best >= 0)
			snprintf(want, sizeof(want), "v%d", best);
		snprintf(text, sizeof(text), "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255,
			 a & 255);
		cr_assert_str_eq(find(text), want, "%s", text);
	}
}
