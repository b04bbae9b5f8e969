/* SPDX-License-Identifier: MIT */
/*
 * securelink.c: nginx's base64url decoding (alphabet, '=' ends it, a lone
 * last character refused), ngx_atotm's expiry numbers, the MD5 of two
 * parts, and secure_link_secret's /PREFIX/HEX/LINK check.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "securelink.h"

Test(securelink, b64url)
{
	unsigned char out[32];

	cr_assert_eq(securelink_b64url("TWFu", 4, out), 3);
	cr_assert(memcmp(out, "Man", 3) == 0);
	cr_assert_eq(securelink_b64url("-_8", 3, out), 2);
	cr_assert_eq(out[0], 0xfb);
	cr_assert_eq(out[1], 0xff);
	cr_assert_eq(securelink_b64url("TWE=", 4, out), 2);
	cr_assert_eq(securelink_b64url("TWE=!!", 6, out), 2); /* '=' ends it */
	cr_assert_eq(securelink_b64url("TWFuT", 5, out), -1); /* a lone character */
	cr_assert_eq(securelink_b64url("TW+u", 4, out), -1);  /* not url-safe */
	cr_assert_eq(securelink_b64url("TW/u", 4, out), -1);
	cr_assert_eq(securelink_b64url("", 0, out), 0);
}

Test(securelink, time)
{
	cr_assert_eq(securelink_time("2147483648", 10), 2147483648LL);
	cr_assert_eq(securelink_time("0", 1), 0);
	cr_assert_eq(securelink_time("", 0), -1);
	cr_assert_eq(securelink_time("12a", 3), -1);
	cr_assert_eq(securelink_time("-1", 2), -1);
	cr_assert_eq(securelink_time("9223372036854775807", 19), INT64_MAX);
	cr_assert_eq(securelink_time("9223372036854775808", 19), -1);
}

Test(securelink, md5)
{
	unsigned char md[16];

	/* RFC 1321: MD5("abc") = 900150983cd24fb0d6963f7d28e17f72, split anywhere */
	cr_assert_eq(securelink_md5("a", 1, "bc", 2, md), 0);
	cr_assert_eq(md[0], 0x90);
	cr_assert_eq(md[15], 0x72);
	cr_assert_eq(securelink_md5("abc", 3, NULL, 0, md), 0);
	cr_assert_eq(md[0], 0x90);
}

Test(securelink, secret_link)
{
	unsigned char md[16];
	char uri[128], hex[33];
	struct lstr link;

	cr_assert_eq(securelink_md5("dir/f.txt", 9, "S", 1, md), 0);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02X", md[i]);
	snprintf(uri, sizeof(uri), "/p/%s/dir/f.txt", hex);
	cr_assert(securelink_secret_link(uri, strlen(uri), "S", 1, &link));
	cr_assert_eq(link.len, 9);
	cr_assert(memcmp(link.p, "dir/f.txt", 9) == 0);
	cr_assert(!securelink_secret_link(uri, strlen(uri), "T", 1, &link));
	cr_assert(!securelink_secret_link(uri, strlen(uri) - 1, "S", 1, &link));
	snprintf(uri, sizeof(uri), "/p/%s/", hex);
	cr_assert(!securelink_secret_link(uri, strlen(uri), "S", 1, &link)); /* no link */
	snprintf(uri, sizeof(uri), "/p/%.31s/dir/f.txt", hex);
	cr_assert(!securelink_secret_link(uri, strlen(uri), "S", 1, &link));
	cr_assert(!securelink_secret_link("/p", 2, "S", 1, &link));
	cr_assert(!securelink_secret_link("/", 1, "S", 1, &link));
}
