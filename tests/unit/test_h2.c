/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the HTTP/2 pieces that stand alone: the prior-knowledge
 * preface check (whole, prefix, other), and the HTTP/2 directives through
 * the real configuration parser (which addresses serve h2, the limits and
 * their defaults, inheritance from http{}, errors with FILE:LINE). The
 * protocol itself runs against real clients in tests/integ/test_h2.py and
 * under libFuzzer in tests/fuzz/fuzz_h2.c.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "h2.h"
#include "lbd.h"

#include "cfgtest.h"

struct preface_case {
	char in[40]; /* bytes the client sent (inline: parameters are copied) */
	size_t len;  /* how many, 0: strlen */
	int want;    /* h2_preface_match */
};

static struct preface_case preface_cases[] = {
	{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0, 1},
	{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04", 28, 1},
	{"PRI * HTTP/2.0\r\n", 0, 0},
	{"P", 0, 0},
	{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r", 0, 0},
	{"POST / HTTP/1.1\r\n", 0, -1},
	{"PRI * HTTP/1.1\r\n\r\n", 0, -1},
	{"GET / HTTP/1.1\r\n\r\n", 0, -1},
	{"PRI * HTTP/2.0\r\n\r\nSN\r\n\r\n", 0, -1},
};

ParameterizedTestParameters(h2, preface)
{
	return cr_make_param_array(struct preface_case, preface_cases, ARRAY_SIZE(preface_cases));
}

ParameterizedTest(struct preface_case *tc, h2, preface)
{
	size_t n = tc->len ? tc->len : strlen(tc->in);

	cr_assert_eq(h2_preface_match(tc->in, n), tc->want, "%s", tc->in);
}

#define HEAD "error_log stderr crit;\nevents {}\nhttp {\n    access_log off;\n"

static const struct listen_group *group(const struct cfg *c, int i)
{
	cr_assert_lt(i, c->http->nlgroups);
	return &c->http->lgroups[i];
}

Test(h2_cfg, listen_parameter_and_defaults)
{
	struct cfgtest t = {0};
	char err[1024];
	struct cfg *c = cfgtest_load(&t,
				     HEAD "    server { listen 127.0.0.1:8081 http2; }\n"
					  "    server { listen 127.0.0.1:8082; }\n}\n",
				     err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	cr_assert(group(c, 0)->http2);
	cr_assert_not(group(c, 1)->http2);
	const struct cfg_srv *s = c->http->servers[0];

	cr_assert_eq(s->h2_max_streams, 128);
	cr_assert_eq(s->h2_max_field, CFG_UNSET); /* large_client_header_buffers decides */
	cr_assert_eq(s->h2_max_header, CFG_UNSET);
	cr_assert_eq(s->h2_idle_timeout, CFG_UNSET); /* keepalive_timeout decides */
	cr_assert_eq(s->h2_recv_timeout, CFG_UNSET); /* client_header_timeout decides */
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(h2_cfg, http2_on_and_inheritance)
{
	struct cfgtest t = {0};
	char err[1024];
	struct cfg *c = cfgtest_load(&t,
				     HEAD "    http2_max_concurrent_streams 7;\n"
					  "    http2_max_field_size 2k;\n"
					  "    server { listen 127.0.0.1:8081; http2 on;\n"
					  "             http2_max_header_size 20k; }\n"
					  "    server { listen 127.0.0.1:8082; http2 off; }\n}\n",
				     err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	cr_assert(group(c, 0)->http2);
	cr_assert_not(group(c, 1)->http2);
	cr_assert_eq(c->http->servers[0]->h2_max_streams, 7);
	cr_assert_eq(c->http->servers[1]->h2_max_streams, 7);
	cr_assert_eq(c->http->servers[0]->h2_max_field, 2048);
	cr_assert_eq(c->http->servers[0]->h2_max_header, 20480);
	cr_assert_eq(c->http->servers[1]->h2_max_header, CFG_UNSET);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

struct err_case {
	char body[64]; /* the server block's inside */
	char msg[96];  /* the message before " in FILE:LINE" */
};

static struct err_case err_cases[] = {
	{"http2 maybe;",
	 "invalid value \"maybe\" in \"http2\" directive, it must be \"on\" or \"off\""},
	{"http2 on; http2 off;", "\"http2\" directive is duplicate"},
	{"http2_max_concurrent_streams x;",
	 "invalid number \"x\" in \"http2_max_concurrent_streams\" directive"},
	{"location / { http2_max_concurrent_streams 5; }",
	 "\"http2_max_concurrent_streams\" directive is not allowed here"},
	{"http2_idle_timeout forever;",
	 "invalid value \"forever\" in \"http2_idle_timeout\" directive"},
};

ParameterizedTestParameters(h2_cfg, errors)
{
	return cr_make_param_array(struct err_case, err_cases, ARRAY_SIZE(err_cases));
}

ParameterizedTest(struct err_case *tc, h2_cfg, errors)
{
	struct cfgtest t = {0};
	char text[1024], err[1024], want[1024];
	struct cfg *c;

	snprintf(text, sizeof(text), HEAD "    server { listen 127.0.0.1:8081;\n%s\n}\n}\n",
		 tc->body);
	c = cfgtest_load(&t, text, err, sizeof(err));
	cr_assert_null(c, "expected an error for %s", tc->body);
	snprintf(want, sizeof(want), "%s in %s:6", tc->msg, t.path);
	cr_assert_str_eq(err, want);
	cfgtest_cleanup(&t);
}
