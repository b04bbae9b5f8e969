/* SPDX-License-Identifier: MIT */
/*
 * authreq: the verdict on a subrequest's status as nginx's (2xx in, 401
 * and 403 as they are, anything else 500), and auth_request /
 * auth_request_set in the configuration: inheritance (the URI, `off`
 * below, the set list inherited whole only by a level without one), the
 * variables they declare, and the -t errors with FILE:LINE.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "auth.h"
#include "authreq.h"
#include "cfgtest.h"

struct verdict_case {
	int status, want;
};

static struct verdict_case verdict_cases[] = {
	{200, AUTHREQ_OK}, {201, AUTHREQ_OK}, {204, AUTHREQ_OK}, {299, AUTHREQ_OK}, {401, 401},
	{403, 403},	   {300, 500},	      {302, 500},	 {304, 500},	    {400, 500},
	{404, 500},	   {500, 500},	      {502, 500},	 {504, 500},	    {0, 500},
	{100, 500},	   {199, 500},
};

ParameterizedTestParameters(authreq, verdict)
{
	return cr_make_param_array(struct verdict_case, verdict_cases,
				   sizeof(verdict_cases) / sizeof(verdict_cases[0]));
}

ParameterizedTest(struct verdict_case *tc, authreq, verdict)
{
	cr_assert_eq(authreq_verdict(tc->status), tc->want, "status %d", tc->status);
}

Test(authreq, directives_merge)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *cfg = cfgtest_load(&t,
				       "events {}\nhttp {\n"
				       " auth_request /auth;\n"
				       " auth_request_set $u $upstream_http_x_user;\n"
				       " server {\n listen 127.0.0.1:1;\n"
				       "  location /a/ {\n"
				       "   auth_request_set $v $upstream_http_x_v;\n"
				       "   auth_request_set $w \"$v-$u\";\n"
				       "   location /a/b/ { auth_request off; }\n"
				       "  }\n"
				       "  location /c/ { return 200 $u; }\n"
				       " }\n}\n",
				       err, sizeof(err));
	const struct cfg_loc *s, *a, *b, *c;

	cr_assert_not_null(cfg, "%s", err);
	s = &cfg->http->servers[0]->loc;
	cr_assert_str_eq(s->auth.req_uri, "/auth");
	cr_assert_eq(s->auth.nreq_sets, 1);
	cr_assert_str_eq(s->auth.req_sets[0].name, "u");
	a = s->prefix[0];
	c = s->prefix[1];
	cr_assert_str_eq(a->auth.req_uri, "/auth");
	cr_assert_eq(a->auth.nreq_sets, 2, "its own list replaces the inherited one");
	cr_assert_str_eq(a->auth.req_sets[1].name, "w");
	b = a->prefix[0];
	cr_assert_str_eq(b->auth.req_uri, "", "off");
	cr_assert_eq(b->auth.req_sets, a->auth.req_sets);
	cr_assert_eq(c->auth.req_sets, s->auth.req_sets);
	cfg_unref(cfg);
	cfgtest_cleanup(&t);
}

struct err_case {
	char body[96], msg[96];
	int line;
};

static struct err_case err_cases[] = {
	{"auth_request /a;\n  auth_request /b;", "\"auth_request\" directive is duplicate", 5},
	{"auth_request_set u $x;", "invalid variable name \"u\"", 4},
	{"auth_request_set $uri $x;", "the duplicate \"uri\" variable", 4},
	{"auth_request_set $a $nosuch;", "unknown \"nosuch\" variable", 0},
	{"location / { limit_except GET { auth_request /a; } }",
	 "\"auth_request\" directive is not allowed here", 4},
};

ParameterizedTestParameters(authreq, config_errors)
{
	return cr_make_param_array(struct err_case, err_cases,
				   sizeof(err_cases) / sizeof(err_cases[0]));
}

ParameterizedTest(struct err_case *tc, authreq, config_errors)
{
	cfgtest_server_error(tc->body, tc->msg, tc->line);
}
