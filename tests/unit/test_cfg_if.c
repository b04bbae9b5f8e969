/* SPDX-License-Identifier: MIT */
/*
 * `if (CONDITION) { ... }` in the configuration (cfg_if.c): nginx's
 * reading of the parenthesised words, each operator, its errors with
 * nginx 1.22's exact text and line, the contexts, and the block built as
 * nginx's nameless location (merged from the enclosing one).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "lbd.h"
#include "cfgtest.h"

#define HEAD "events {}\nhttp {\nserver {\nlisten 127.0.0.1:8080;\n"

static struct cfgtest ct;

static struct cfg *load(const char *text, char *err, size_t errlen)
{
	return cfgtest_load(&ct, text, err, errlen);
}

/* Strings inline: Criterion runs each parameter in a new process. */
struct if_err {
	char text[240];
	char msg[240]; /* without " in FILE:LINE" */
	int line;      /* 0: nginx names none */
};

static struct if_err errs[] = {
	{HEAD "if () { }\n}\n}\n", "invalid condition \")\"", 5},
	{HEAD "if ( ) { }\n}\n}\n", "invalid condition \")\"", 5},
	{HEAD "if ( { }\n}\n}\n", "invalid condition \"(\"", 5},
	{HEAD "if ($a { }\n}\n}\n", "invalid condition \"$a\"", 5},
	{HEAD "if a) { }\n}\n}\n", "invalid condition \"a)\"", 5},
	{HEAD "if ($) { }\n}\n}\n", "invalid condition \"$\"", 5},
	{HEAD "if ($host = ) { }\n}\n}\n", "invalid condition \"$host\"", 5},
	{HEAD "if ($host = a b) { }\n}\n}\n", "invalid condition \"$host\"", 5},
	{HEAD "if ($host foo b) { }\n}\n}\n", "unexpected \"foo\" in condition", 5},
	{HEAD "if ($host == b) { }\n}\n}\n", "unexpected \"==\" in condition", 5},
	{HEAD "if (-q /x) { }\n}\n}\n", "invalid condition \"-q\"", 5},
	{HEAD "if (-f /x /y) { }\n}\n}\n", "invalid condition \"-f\"", 5},
	{HEAD "if (!-z /x) { }\n}\n}\n", "invalid condition \"!-z\"", 5},
	{HEAD "if (!f /x) { }\n}\n}\n", "invalid condition \"!f\"", 5},
	{HEAD "if ($host ~ \"^x(y\") { }\n}\n}\n",
	 "pcre2_compile() failed: missing closing parenthesis in \"^x(y\"", 5},
	{HEAD "if ($host) { add_header X 1; }\n}\n}\n",
	 "\"add_header\" directive is not allowed here", 5},
	{HEAD "if ($host) { proxy_pass http://127.0.0.1:1; }\n}\n}\n",
	 "\"proxy_pass\" directive is not allowed here", 5},
	{HEAD "if ($host) {\nif ($uri) { return 200; }\n}\n}\n}\n",
	 "\"if\" directive is not allowed here", 6},
	{HEAD "location / {\nif ($host) { proxy_set_header A b; }\n}\n}\n}\n",
	 "\"proxy_set_header\" directive is not allowed here", 6},
	{HEAD "location / {\nif ($host) { proxy_pass http://127.0.0.1:1/x; }\n}\n}\n}\n",
	 "\"proxy_pass\" cannot have URI part in location given by regular expression, or inside "
	 "named location, or inside \"if\" statement, or inside \"limit_except\" block",
	 6},
	{HEAD "location / {\nif ($host) { location /x { } }\n}\n}\n}\n",
	 "\"location\" directive is not allowed here", 6},
	{HEAD "if ($host);\n}\n}\n", "directive \"if\" has no opening \"{\"", 5},
	{"events {}\nhttp {\nif ($host) { }\n}\n", "\"if\" directive is not allowed here", 3},
	{HEAD "if ($nosuch) { }\n}\n}\n", "unknown \"nosuch\" variable", 0},
};

ParameterizedTestParameters(cfg_if, errors)
{
	return cr_make_param_array(struct if_err, errs, ARRAY_SIZE(errs));
}

ParameterizedTest(struct if_err *tc, cfg_if, errors)
{
	char err[1024], want[1024];
	struct cfg *c = load(tc->text, err, sizeof(err));

	cr_assert_null(c, "accepted:\n%s", tc->text);
	if (tc->line)
		snprintf(want, sizeof(want), "%s in %s:%d", tc->msg, ct.path, tc->line);
	else
		snprintf(want, sizeof(want), "%s", tc->msg);
	cr_expect_str_eq(err, want);
	cfgtest_cleanup(&ct);
}

/* Each accepted form: the operator and flags it gives. */
Test(cfg_if, conditions)
{
	static const struct {
		const char *cond;
		enum rw_if_op op;
		bool neg;
		char ftest;
	} cases[] = {
		{"($host)", RWIF_VAR, false, 0},
		{"( $host )", RWIF_VAR, false, 0},
		{"($host )", RWIF_VAR, false, 0},
		{"( $host)", RWIF_VAR, false, 0},
		{"($host = a)", RWIF_EQ, false, 0},
		{"($host = \"a b\")", RWIF_EQ, false, 0},
		{"($host != \"\")", RWIF_EQ, true, 0},
		{"($host ~ ^x(y)$)", RWIF_RE, false, 0},
		{"($host ~* \"^x(y)$\")", RWIF_RE, false, 0},
		{"($host !~ x)", RWIF_RE, true, 0},
		{"($host !~* x)", RWIF_RE, true, 0},
		{"(-f $request_filename)", RWIF_FILE, false, 'f'},
		{"(!-f $request_filename)", RWIF_FILE, true, 'f'},
		{"(-d /tmp)", RWIF_FILE, false, 'd'},
		{"(!-d /tmp)", RWIF_FILE, true, 'd'},
		{"(-e /tmp)", RWIF_FILE, false, 'e'},
		{"( !-e \"/tmp\" )", RWIF_FILE, true, 'e'},
		{"(-x /tmp)", RWIF_FILE, false, 'x'},
		{"(!-x /tmp)", RWIF_FILE, true, 'x'},
	};
	char text[512], err[1024];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cfg *c;
		const struct rewrite *r;

		snprintf(text, sizeof(text), HEAD "if %s{ return 204; }\n}\n}\n", cases[i].cond);
		c = load(text, err, sizeof(err));
		cr_assert_not_null(c, "%s: %s", cases[i].cond, err);
		r = &c->http->servers[0]->loc.rewrites[0];
		cr_assert_eq(r->kind, RW_IF, "%s", cases[i].cond);
		cr_expect_eq(r->cond->op, cases[i].op, "%s", cases[i].cond);
		cr_expect_eq(r->cond->neg, cases[i].neg, "%s", cases[i].cond);
		cr_expect_eq(r->cond->ftest, cases[i].ftest, "%s", cases[i].cond);
		cr_expect_eq(r->cond->re != NULL, cases[i].op == RWIF_RE, "%s", cases[i].cond);
		cr_expect_eq(r->cond->body->nrewrites, 1, "%s", cases[i].cond);
		cr_expect_eq(r->cond->body->rewrites[0].code, 204, "%s", cases[i].cond);
		cfg_unref(c);
	}
	cfgtest_cleanup(&ct);
}

/* certbot's block: a server-level if, which keeps the server's settings. */
Test(cfg_if, certbot_server_block)
{
	char err[1024];
	struct cfg *c = load("events {}\nhttp {\nserver {\n"
			     "    if ($host = www.example.com) {\n"
			     "        return 301 https://$host$request_uri;\n"
			     "    } # managed by Certbot\n\n\n"
			     "    listen 127.0.0.1:8080;\n"
			     "    server_name www.example.com;\n"
			     "    return 404; # managed by Certbot\n\n\n}\n}\n",
			     err, sizeof(err));
	const struct cfg_loc *s;
	const struct rw_if *f;

	cr_assert_not_null(c, "%s", err);
	s = &c->http->servers[0]->loc;
	cr_assert_eq(s->nrewrites, 2);
	cr_assert_eq(s->rewrites[0].kind, RW_IF);
	f = s->rewrites[0].cond;
	cr_expect_eq(f->op, RWIF_EQ);
	cr_expect_not(f->in_location);
	cr_expect_str_eq(f->val.raw, "www.example.com");
	cr_expect_eq(f->body->nrewrites, 1);
	cr_expect_eq(f->body->rewrites[0].kind, RW_RETURN);
	cr_expect_eq(f->body->rewrites[0].code, 301);
	cr_expect_eq(s->rewrites[1].kind, RW_RETURN);
	cr_expect_eq(s->rewrites[1].code, 404);
	cfg_unref(c);
	cfgtest_cleanup(&ct);
}

/* A location's if is nginx's nameless location: it inherits what it does
 * not set, its own add_header replaces the location's list, and the
 * location's proxy_pass stays its content handler. */
Test(cfg_if, location_block_merged)
{
	char err[1024];
	struct cfg *c = load(HEAD "location /api/ {\n"
				  "    add_header X-Loc 1;\n"
				  "    proxy_read_timeout 7s;\n"
				  "    proxy_pass http://127.0.0.1:9/;\n"
				  "    if ($arg_a) { add_header X-If 1; set $v 1; }\n"
				  "    if ($arg_b) { root /srv; }\n"
				  "}\n}\n}\n",
			     err, sizeof(err));
	const struct cfg_loc *l, *a, *b;

	cr_assert_not_null(c, "%s", err);
	l = c->http->servers[0]->loc.prefix[0];
	cr_assert_eq(l->nrewrites, 2);
	a = l->rewrites[0].cond->body;
	b = l->rewrites[1].cond->body;
	cr_expect(l->rewrites[0].cond->in_location);
	cr_expect_eq(a->parent, l);
	cr_expect_str_eq(a->pattern, "/api/");
	cr_expect_eq(a->match, l->match);
	cr_expect_eq(a->proxy, l->proxy, "the location's proxy_pass is kept");
	cr_expect_eq(a->proxy_read_timeout, 7000);
	cr_expect_eq(a->add_headers.n, 1);
	cr_expect_str_eq(a->add_headers.v[0].name, "X-If");
	cr_expect_eq(a->nrewrites, 1);
	cr_expect_eq(b->add_headers.n, 1);
	cr_expect_str_eq(b->add_headers.v[0].name, "X-Loc");
	cr_expect_str_eq(b->root->raw, "/srv");
	cr_expect_str_neq(l->root->raw, "/srv");
	cfg_unref(c);
	cfgtest_cleanup(&ct);
}

/* A `set` inside an if and a named capture of an if's regex define
 * variables for the whole configuration, as in nginx. */
Test(cfg_if, variables_defined_inside)
{
	char err[1024];
	struct cfg *c = load(HEAD "if ($host ~ ^(?<sub>[a-z]+)\\.) { set $site $sub; }\n"
				  "location / { return 200 \"$site $sub\"; }\n}\n}\n",
			     err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	cfg_unref(c);
	cfgtest_cleanup(&ct);
}
