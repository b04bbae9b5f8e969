/* SPDX-License-Identifier: MIT */
/*
 * userid.c and cfg_userid.c: the cookie's base64 both ways (a value nginx
 * made decodes to its words, the words encode back to it, the mark in
 * place of the first pad), nginx's decoder's refusals, new identifiers
 * for `on` and `v1` byte for byte (service, address, sequences), the
 * cookie date; the configuration: defaults, the attribute strings,
 * inheritance, exact error texts with FILE:LINE.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "cfgtest.h"
#include "userid.h"

/* nginx 1.22 on 127.0.0.1 made this one; its $uid_got showed these words */
static const char nginx_cookie[] = "fwAAAWsLur2l/wdXAwMIAg==";
static const uint32_t nginx_words[4] = {0x0100007F, 0xBDBA0B6B, 0x5707FFA5, 0x02080303};

Test(userid, decode_encode_nginx_cookie)
{
	uint32_t w[4];
	char out[USERID_B64_LEN];

	cr_assert_eq(userid_decode(nginx_cookie, strlen(nginx_cookie), w), 0);
	cr_assert(memcmp(w, nginx_words, 16) == 0, "%08X %08X %08X %08X", w[0], w[1], w[2], w[3]);
	userid_encode(w, 0, out);
	cr_assert(memcmp(out, nginx_cookie, USERID_B64_LEN) == 0, "%.24s", out);
	userid_encode(w, 'X', out);
	cr_assert(memcmp(out, "fwAAAWsLur2l/wdXAwMIAgX=", USERID_B64_LEN) == 0, "%.24s", out);
	/* 22 characters are enough; what follows is not read */
	cr_assert_eq(userid_decode("fwAAAWsLur2l/wdXAwMIAgJUNK", 26, w), 0);
	cr_assert(memcmp(w, nginx_words, 16) == 0);
}

Test(userid, decode_refusals)
{
	uint32_t w[4];

	cr_assert_eq(userid_decode("short", 5, w), -EINVAL);
	cr_assert_eq(userid_decode("fwAAAWsLur2l/wdXAwMIA", 21, w), -EINVAL);
	cr_assert_eq(userid_decode("fwAAAWsLur2l/wd*AwMIAg==", 24, w), -EILSEQ);
	cr_assert_eq(userid_decode("fwAAAWsLur2l-wdXAwMIAg==", 24, w), -EILSEQ);
}

Test(userid, make_on_and_v1)
{
	struct userid_seq s = {.start = 0x6B0BBABD, .v1 = 1, .v2 = 0x03030302};
	struct sockaddr_in in4 = {.sin_family = AF_INET};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	uint32_t w[4];
	const unsigned char *b = (const unsigned char *)w;

	inet_pton(AF_INET, "10.1.2.3", &in4.sin_addr);
	inet_pton(AF_INET6, "2001:db8::a:b0c:d0e", &in6.sin6_addr);
	/* on: network byte order; the service, else the local address */
	userid_make(w, USERID_ON, 0x01020304, (struct sockaddr *)&in4, 0x11223344, &s);
	cr_assert(memcmp(b, "\x01\x02\x03\x04\x11\x22\x33\x44\x6B\x0B\xBA\xBD\x03\x03\x03\x02",
			 16) == 0);
	userid_make(w, USERID_ON, CFG_UNSET, (struct sockaddr *)&in4, 0x11223344, &s);
	cr_assert(memcmp(b, "\x0a\x01\x02\x03", 4) == 0);
	cr_assert(memcmp(b + 12, "\x03\x03\x04\x02", 4) == 0); /* the sequence went on */
	userid_make(w, USERID_ON, CFG_UNSET, (struct sockaddr *)&in6, 0x11223344, &s);
	cr_assert(memcmp(b, "\x0b\x0c\x0d\x0e", 4) == 0); /* the 4 last bytes */
	cr_assert_eq(s.v2, 0x03030602);
	/* the sequence wraps to its start, as nginx's */
	s.v2 = 0xFFFFFF02;
	userid_make(w, USERID_ON, 1, NULL, 0, &s);
	cr_assert_eq(s.v2, 0x03030302);
	/* v1: host byte order, its own sequence */
	userid_make(w, USERID_V1, 0x01020304, NULL, 0x11223344, &s);
	cr_assert_eq(w[0], 0x01020304);
	cr_assert_eq(w[1], 0x11223344);
	cr_assert_eq(w[2], 0x6B0BBABD);
	cr_assert_eq(w[3], 1);
	userid_make(w, USERID_V1, CFG_UNSET, NULL, 0, &s);
	cr_assert_eq(w[0], 0);
	cr_assert_eq(w[3], 0x101);
}

Test(userid, cookie_time)
{
	char out[40];

	cr_assert_eq(userid_cookie_time(out, 0), 27);
	cr_assert_str_eq(out, "Thu, 01-Jan-70 00:00:00 GMT");
	userid_cookie_time(out, 2145916555);
	cr_assert_str_eq(out, "Thu, 31-Dec-37 23:55:55 GMT");
	userid_cookie_time(out, 2147483648LL); /* 2038: four digits */
	cr_assert_str_eq(out, "Tue, 19-Jan-2038 03:14:08 GMT");
}

/* ---- configuration -------------------------------------------------------------------- */

#define HEAD "events {}\nhttp {\n"

Test(userid, cfg_defaults_and_inheritance)
{
	struct cfgtest t = {0};
	char err[1024];
	struct cfg *c = cfgtest_load(
		&t,
		HEAD "userid v1;\nuserid_domain example.com;\n"
		     "userid_flags secure;\n"
		     "server {\nlisten 127.0.0.1:8080;\n"
		     "location /a { userid_path /x; userid_expires max; }\n"
		     "location /b { userid on; userid_domain none; userid_p3p none;\n"
		     "  userid_mark =; userid_flags samesite=lax; userid_flags httponly;\n"
		     "  userid_expires 2d; userid_service 7; userid_name sid; }\n"
		     "}\n}\n",
		err, sizeof(err));
	struct cfg_loc *a, *b;

	cr_assert_not_null(c, "%s", err);
	a = cfgtest_prefix_loc(c, "/a");
	b = cfgtest_prefix_loc(c, "/b");
	cr_assert(a && b);
	cr_expect_eq(a->userid.enable, USERID_V1);
	cr_expect_str_eq(a->userid.name, "uid");
	cr_expect_str_eq(a->userid.domain, "; domain=example.com");
	cr_expect_str_eq(a->userid.path, "; path=/x");
	cr_expect_str_eq(a->userid.p3p, "");
	cr_expect_eq(a->userid.expires, USERID_MAX_EXPIRES);
	cr_expect_eq(a->userid.service, CFG_UNSET);
	cr_expect_eq(a->userid.mark, 0);
	cr_expect_eq(a->userid.flags, USERID_F_SET | USERID_F_SECURE);
	cr_expect_eq(b->userid.enable, USERID_ON);
	cr_expect_str_eq(b->userid.name, "sid");
	cr_expect_str_eq(b->userid.domain, "");
	cr_expect_str_eq(b->userid.path, "; path=/");
	cr_expect_eq(b->userid.expires, 2 * 86400);
	cr_expect_eq(b->userid.service, 7);
	cr_expect_eq(b->userid.mark, '=');
	/* a level's flags replace the outer ones; its directives add up */
	cr_expect_eq(b->userid.flags, USERID_F_SET | USERID_F_SAMESITE_LAX | USERID_F_HTTPONLY);
	cr_expect_eq(c->http->servers[0]->loc.userid.enable, USERID_V1);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

struct err_case {
	char body[80]; /* in a server block: line 4 */
	char msg[96];
};

static struct err_case errs[] = {
	{"userid maybe;", "invalid value \"maybe\""},
	{"userid on; userid off;", "\"userid\" directive is duplicate"},
	{"userid_service x;", "\"userid_service\" directive invalid number"},
	{"userid_service 1; userid_service 2;", "\"userid_service\" directive is duplicate"},
	{"userid_expires 1x;", "\"userid_expires\" directive invalid value"},
	{"userid_expires 10ms;", "\"userid_expires\" directive invalid value"},
	{"userid_mark ab;",
	 "\"userid_mark\" directive value must be \"off\" or a single letter, digit or \"=\""},
	{"userid_mark off; userid_mark X;", "\"userid_mark\" directive is duplicate"},
	{"userid_flags secure lax;", "invalid value \"lax\""},
	{"userid_domain a; userid_domain b;", "\"userid_domain\" directive is duplicate"},
	{"location / { if ($args) { userid on; } }", "\"userid\" directive is not allowed here"},
};

ParameterizedTestParameters(userid, cfg_errors)
{
	return cr_make_param_array(struct err_case, errs, sizeof(errs) / sizeof(errs[0]));
}

ParameterizedTest(struct err_case *e, userid, cfg_errors)
{
	cfgtest_server_error(e->body, e->msg, 4);
}
