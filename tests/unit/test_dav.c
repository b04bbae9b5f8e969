/* SPDX-License-Identifier: MIT */
/*
 * WebDAV in the configuration (cfg_dav.c): dav_methods bits (a second
 * line adds, `off`), dav_access modes as nginx computes them (user:rw
 * implied unless given), create_full_put_path and min_delete_depth, the
 * defaults and inheritance, and the -t errors with FILE:LINE.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "cfgtest.h"

Test(dav, directives_merge)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *cfg =
		cfgtest_load(&t,
			     "events {}\nhttp {\n"
			     " dav_access group:rw all:r;\n"
			     " server {\n listen 127.0.0.1:1;\n"
			     "  dav_methods PUT;\n"
			     "  location /a/ {\n"
			     "   dav_methods delete;\n"
			     "   dav_methods MKCOL put;\n"
			     "   create_full_put_path on;\n"
			     "   min_delete_depth 2;\n"
			     "   location /a/b/ { dav_methods off; dav_access user:r; }\n"
			     "   location /a/c/ { dav_access all:rw; dav_methods copy MOVE; }\n"
			     "  }\n"
			     "  location /d/ { }\n"
			     " }\n"
			     " server { listen 127.0.0.1:2; }\n"
			     "}\n",
			     err, sizeof(err));
	const struct cfg_loc *s, *a, *b, *c, *d, *s2;

	cr_assert_not_null(cfg, "%s", err);
	s = &cfg->http->servers[0]->loc;
	cr_assert_eq(s->dav.methods, DAV_PUT);
	cr_assert_eq(s->dav.access, 0664, "%o", s->dav.access);
	a = s->prefix[0];
	d = s->prefix[1];
	cr_assert_eq(a->dav.methods, DAV_PUT | DAV_DELETE | DAV_MKCOL, "a second line adds");
	cr_assert_eq(a->dav.create_full_put_path, 1);
	cr_assert_eq(a->dav.min_delete_depth, 2);
	b = a->prefix[0];
	c = a->prefix[1];
	cr_assert_eq(b->dav.methods, 0, "off");
	cr_assert_eq(b->dav.access, 0400, "user: given replaces the implied rw");
	cr_assert_eq(b->dav.create_full_put_path, 1, "inherited");
	cr_assert_eq(b->dav.min_delete_depth, 2, "inherited");
	cr_assert_eq(c->dav.access, 0606, "user:rw implied: %o", c->dav.access);
	cr_assert_eq(c->dav.methods, DAV_COPY | DAV_MOVE, "its own line, case-blind");
	cr_assert_eq(d->dav.methods, DAV_PUT);
	cr_assert_eq(d->dav.create_full_put_path, 0);
	s2 = &cfg->http->servers[1]->loc;
	cr_assert_eq(s2->dav.methods, 0, "nginx's default: off");
	cr_assert_eq(s2->dav.access, 0664, "inherited from http");
	cr_assert_eq(s2->dav.min_delete_depth, 0);
	cfg_unref(cfg);
	cfgtest_cleanup(&t);
}

struct err_case {
	char body[96], msg[96];
	int line;
};

static struct err_case err_cases[] = {
	{"dav_methods GET;", "invalid value \"GET\"", 4},
	{"dav_methods PUT COPY PATCH;", "invalid value \"PATCH\"", 4},
	{"dav_methods;", "invalid number of arguments in \"dav_methods\" directive", 4},
	{"dav_access user:x;", "invalid value \"user:x\"", 4},
	{"dav_access other:r;", "invalid value \"other:r\"", 4},
	{"dav_access all:r all:r all:r all:r;",
	 "invalid number of arguments in \"dav_access\" directive", 4},
	{"dav_access all:r;\n  dav_access all:r;", "\"dav_access\" directive is duplicate", 5},
	{"create_full_put_path x;",
	 "invalid value \"x\" in \"create_full_put_path\" directive, it must be \"on\" or \"off\"",
	 4},
	{"min_delete_depth -1;", "\"min_delete_depth\" directive invalid number", 4},
	{"min_delete_depth 1;\n  min_delete_depth 2;",
	 "\"min_delete_depth\" directive is duplicate", 5},
	{"location / { if ($args) { dav_methods PUT; } }",
	 "\"dav_methods\" directive is not allowed here", 4},
};

ParameterizedTestParameters(dav, config_errors)
{
	return cr_make_param_array(struct err_case, err_cases,
				   sizeof(err_cases) / sizeof(err_cases[0]));
}

ParameterizedTest(struct err_case *tc, dav, config_errors)
{
	cfgtest_server_error(tc->body, tc->msg, tc->line);
}
