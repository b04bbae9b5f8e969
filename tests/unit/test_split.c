/* SPDX-License-Identifier: MIT */
/*
 * split_clients (split.c): nginx's MurmurHash2, its reading of
 * percentages, and the pick among cumulative bounds. The hash values are
 * those of nginx 1.22: tests/integ/test_split_clients.py checks 400 keys
 * against a running nginx with the same function in Python, which gave
 * these numbers (every tail length 0..3, and the words of a 37-byte run).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "split.h"

struct vec {
	const char *s;
	size_t len;
	uint32_t h;
};

Test(split, murmur2_as_nginx)
{
	static char run[37];
	const struct vec v[] = {
		{"", 0, 0x0},
		{"a", 1, 0x92685f5e},
		{"ab", 2, 0x1aa14063},
		{"abc", 3, 0x13577c9b},
		{"abcd", 4, 0x26873021},
		{"abcde", 5, 0x5f09a8de},
		{"127.0.0.1", 9, 0xb6131d91},
		{"user7919%40example.com", 22, 0xed341169}, /* nginx: not in the lower 50% */
		{"hello world", 11, 0x44a81419},
		{run, sizeof(run), 0x32e3b971},
	};

	for (size_t i = 0; i < sizeof(run); i++)
		run[i] = (char)i;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		cr_assert_eq(split_murmur2(v[i].s, v[i].len), v[i].h, "%zu: %08x", i,
			     split_murmur2(v[i].s, v[i].len));
}

Test(split, percent_as_ngx_atofp)
{
	cr_assert_eq(split_percent("10%"), 1000);
	cr_assert_eq(split_percent("20.5%"), 2050);
	cr_assert_eq(split_percent("0.01%"), 1);
	cr_assert_eq(split_percent("33.33%"), 3333);
	cr_assert_eq(split_percent("100.00%"), 10000);
	cr_assert_eq(split_percent(".5%"), 50);
	cr_assert_eq(split_percent("5.%"), 500);
	const char *bad[] = {"10",     "10.555%", "0.001%", "0%",  "-1%", "+1%",
			     "1.2.3%", "%",	  "a%",	    "1 %", "",	  "99999999999%"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(split_percent(bad[i]), -1, "%s", bad[i]);
}

Test(split, pick_by_bounds)
{
	struct split_part parts[] = {
		{1000u * 0xffffffffULL / 10000, {"a", 1}},
		{(uint32_t)(3000u * 0xffffffffULL / 10000), {"b", 1}},
		{0, {"rest", 4}},
	};
	struct split s = {parts, 3}, two = {parts, 2};

	cr_assert_str_eq(split_pick(&s, 0).p, "a");
	cr_assert_str_eq(split_pick(&s, parts[0].upto - 1).p, "a");
	cr_assert_str_eq(split_pick(&s, parts[0].upto).p, "b");
	cr_assert_str_eq(split_pick(&s, parts[1].upto).p, "rest");
	cr_assert_str_eq(split_pick(&s, 0xffffffffu).p, "rest");
	cr_assert_eq(split_pick(&two, 0xffffffffu).len, 0); /* under 100%: the rest is empty */
}
