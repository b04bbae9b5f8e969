/* SPDX-License-Identifier: MIT */
/*
 * mirror in the configuration (cfg_mirror.c): several lines in order, the
 * list inherited whole only by a level without its own (`off` included),
 * mirror_request_body's default (on) and inheritance, and the -t errors
 * with FILE:LINE as nginx words them.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "cfgtest.h"

Test(mirror, directives_merge)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *cfg = cfgtest_load(&t,
				       "events {}\nhttp {\n"
				       " mirror /m1;\n"
				       " server {\n listen 127.0.0.1:1;\n"
				       "  mirror_request_body off;\n"
				       "  location /a/ {\n"
				       "   mirror /m2;\n"
				       "   mirror /m3;\n"
				       "   location /a/b/ { mirror off; mirror_request_body on; }\n"
				       "   location /a/c/ { }\n"
				       "  }\n"
				       "  location /d/ { }\n"
				       " }\n"
				       " server { listen 127.0.0.1:2; mirror off; }\n"
				       "}\n",
				       err, sizeof(err));
	const struct cfg_loc *s, *a, *b, *c, *d, *s2;

	cr_assert_not_null(cfg, "%s", err);
	s = &cfg->http->servers[0]->loc;
	cr_assert_eq(s->mirror.nuris, 1);
	cr_assert_str_eq(s->mirror.uris[0], "/m1");
	cr_assert_eq(s->mirror.request_body, 0);
	a = s->prefix[0];
	d = s->prefix[1];
	cr_assert_eq(a->mirror.nuris, 2, "its own list replaces the inherited one");
	cr_assert_str_eq(a->mirror.uris[0], "/m2");
	cr_assert_str_eq(a->mirror.uris[1], "/m3");
	cr_assert_eq(a->mirror.request_body, 0, "inherited off");
	b = a->prefix[0];
	c = a->prefix[1];
	cr_assert_eq(b->mirror.nuris, 0, "off");
	cr_assert_eq(b->mirror.request_body, 1);
	cr_assert_eq(c->mirror.uris, a->mirror.uris);
	cr_assert_eq(c->mirror.nuris, 2);
	cr_assert_eq(d->mirror.uris, s->mirror.uris);
	s2 = &cfg->http->servers[1]->loc;
	cr_assert_eq(s2->mirror.nuris, 0);
	cr_assert_eq(s2->mirror.request_body, 1, "nginx's default: on");
	cfg_unref(cfg);
	cfgtest_cleanup(&t);
}

struct err_case {
	char body[96], msg[96];
	int line;
};

static struct err_case err_cases[] = {
	{"mirror /a;\n  mirror off;", "\"mirror\" directive is duplicate", 5},
	{"mirror off;\n  mirror /a;", "\"mirror\" directive is duplicate", 5},
	{"mirror off;\n  mirror off;", "\"mirror\" directive is duplicate", 5},
	{"mirror /a /b;", "invalid number of arguments in \"mirror\" directive", 4},
	{"mirror_request_body on;\n  mirror_request_body off;",
	 "\"mirror_request_body\" directive is duplicate", 5},
	{"mirror_request_body maybe;",
	 "invalid value \"maybe\" in \"mirror_request_body\" directive, it must be \"on\" or \"off\"",
	 4},
	{"location / { if ($args) { mirror /a; } }", "\"mirror\" directive is not allowed here", 4},
	{"location / { limit_except GET { mirror /a; } }",
	 "\"mirror\" directive is not allowed here", 4},
};

ParameterizedTestParameters(mirror, config_errors)
{
	return cr_make_param_array(struct err_case, err_cases,
				   sizeof(err_cases) / sizeof(err_cases[0]));
}

ParameterizedTest(struct err_case *tc, mirror, config_errors)
{
	cfgtest_server_error(tc->body, tc->msg, tc->line);
}
