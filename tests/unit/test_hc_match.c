/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: health-check `match` blocks (cfg_hc.c, hc_match.c). Blocks
 * are built with the real configuration parser; their verdicts are taken
 * on responses parsed by the real HTTP/1 parser; bad lines must fail with
 * nginx-style messages naming FILE:LINE.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "cfgtest.h"
#include "h1.h"
#include "hc.h"
#include "ups.h"

static struct cfgtest ct;

static void teardown(void)
{
	cfgtest_cleanup(&ct);
}

#define HEAD "events {}\nhttp {\n"
#define TAIL                                                                       \
	"upstream u { server 127.0.0.1:9; health_check match=m; }\n"               \
	"server { listen 127.0.0.1:18001; location / { proxy_pass http://u; } }\n" \
	"}\n"

/* load - a configuration whose match block m has BODY; NULL and ERR set on
 * failure. */
static struct cfg *load(const char *body, char *err, size_t errlen)
{
	char text[2048];

	snprintf(text, sizeof(text), HEAD "match m {\n%s\n}\n" TAIL, body);
	return cfgtest_load(&ct, text, err, errlen);
}

/* verdict - match M on RESP (a whole response): head, then body as the
 * checker gives it (the bytes after the head; these tests use no chunked
 * framing). */
static bool verdict(const struct hc_match *m, const char *resp)
{
	struct h1_header hdrs[HC_MATCH_HEADERS_MAX];
	struct h1_response r = {.headers = hdrs};
	int n = h1_parse_response(resp, strlen(resp), &r, HC_MATCH_HEADERS_MAX);

	cr_assert_gt(n, 0, "%s", resp);
	if (!hc_match_head(m, r.status, r.headers, r.nheaders))
		return false;
	return hc_match_body(m, resp + n, strlen(resp) - (size_t)n);
}

/* (criterion copies parameters into each test's process: arrays, not pointers) */
struct mcase {
	char block[80]; /* lines of match m */
	char resp[160]; /* the response */
	bool pass;	/* expected verdict */
};

#define R200  "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nX-A: 1\r\nX-A: 2\r\n\r\n"
#define R503  "HTTP/1.1 503 Busy\r\nContent-Type: text/plain\r\n\r\n"
#define R302  "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n"
#define RBODY "HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\nstatus: all is ok\n"

static struct mcase mcases[] = {
	{"status 200;", R200, true},
	{"status 200;", R503, false},
	{"status ! 500;", R503, true},
	{"status ! 503;", R503, false},
	{"status 200-399;", R302, true},
	{"status 200 204 300-302;", R302, true},
	{"status 200 204;", R302, false},
	{"status ! 400-599;", R200, true},
	{"status ! 400-599;", R503, false},
	{"status ! 301 302;", R302, false},
	{"header Content-Type = \"text/html; charset=utf-8\";", R200, true},
	{"header content-type = text/html;", R200, false},
	{"header Content-Type != text/plain;", R200, true},
	{"header Content-Type != text/plain;", R503, false},
	{"header Content-Type ~ ^text/html;", R200, true},
	{"header Content-Type ~ ^TEXT;", R200, false},
	{"header Content-Type ~* ^TEXT;", R200, true},
	{"header Content-Type !~ html;", R200, false},
	{"header Content-Type !~ html;", R503, true},
	{"header X-A = 2;", R200, true},   /* any field of the name */
	{"header X-A != 2;", R200, false}, /* none may have it */
	{"header X-Missing != v;", R200, true},
	{"header Location;", R302, true},
	{"header Location;", R200, false},
	{"header ! Location;", R200, true},
	{"header ! location;", R302, false},
	{"body ~ \"all is ok\";", RBODY, true},
	{"body ~ \"^status: all\";", RBODY, true},
	{"body ~ \"ALL\";", RBODY, false},
	{"body ~* \"ALL\";", RBODY, true},
	{"body !~ \"error\";", RBODY, true},
	{"body !~ \"ok\";", RBODY, false},
	{"body ~ \"x\";", R200, false}, /* an empty body */
	{"body !~ \"x\";", R200, true},
	{"status 200; header X-A; body ~ ok;", RBODY, false},
	{"status 200; header Content-Length = 18; body ~ ok;", RBODY, true},
	{"", R503, true}, /* no condition: any response */
};

ParameterizedTestParameters(hc_match, verdicts)
{
	return cr_make_param_array(struct mcase, mcases, sizeof(mcases) / sizeof(mcases[0]));
}

ParameterizedTest(struct mcase *mc, hc_match, verdicts, .fini = teardown)
{
	char err[512];
	struct cfg *c = load(mc->block, err, sizeof(err));
	const struct hc_match *m;

	cr_assert_not_null(c, "%s: %s", mc->block, err);
	m = c->http->upstreams[0]->hc.match;
	cr_assert_not_null(m);
	cr_expect_str_eq(m->name, "m");
	cr_expect_eq(verdict(m, mc->resp), mc->pass, "%s on %s", mc->block, mc->resp);
	cfg_unref(c);
}

struct ecase {
	char block[48]; /* lines of match m, the bad one on the block's LINE */
	char msg[80];	/* expected in the error */
	int line;	/* line in nginx.conf (0: not checked) */
};

/* the block's first line is nginx.conf:4 */
static struct ecase ecases[] = {
	{"status;", "invalid number of arguments in \"status\" directive", 4},
	{"status !;", "invalid number of arguments in \"status\" directive", 4},
	{"status 200;\nstatus 2xx;", "invalid status \"2xx\"", 5},
	{"status 99;", "invalid status \"99\"", 4},
	{"status 300-200;", "invalid status \"300-200\"", 4},
	{"status !200;", "invalid status \"!200\"", 4},
	{"header;", "invalid number of arguments in \"header\" directive", 4},
	{"header A B;", "invalid number of arguments in \"header\" directive", 4},
	{"header A == b;", "invalid parameter \"==\"", 4},
	{"header A ~ \"(\";", "pcre2_compile() failed: missing closing parenthesis", 4},
	{"header \"A:\" = b;", "invalid header name \"A:\"", 4},
	{"body \"ok\";", "invalid number of arguments in \"body\" directive", 4},
	{"body = ok;", "invalid parameter \"=\"", 4},
	{"body ~ \"[\";", "pcre2_compile() failed", 4},
	{"require $x;", "\"require\" in \"match\" is not supported by lbd", 4},
	{"send \"x\";", "\"send\" in \"match\" is for stream checks", 4},
	{"colour red;", "unknown directive \"colour\"", 4},
	/* a regex compiled before the bad line is freed with the rest */
	{"body ~ ok;\ncolour red;", "unknown directive \"colour\"", 5},
	{"status 200 { }", "\"status\" directive has no opening \"{\"", 0},
};

ParameterizedTestParameters(hc_match, errors)
{
	return cr_make_param_array(struct ecase, ecases, sizeof(ecases) / sizeof(ecases[0]));
}

ParameterizedTest(struct ecase *ec, hc_match, errors, .fini = teardown)
{
	char err[512], at[32];
	struct cfg *c = load(ec->block, err, sizeof(err));

	cr_expect_null(c, "%s loaded", ec->block);
	if (c)
		cfg_unref(c);
	cr_expect(strstr(err, ec->msg) != NULL, "%s: %s", ec->block, err);
	if (ec->line) {
		snprintf(at, sizeof(at), "nginx.conf:%d", ec->line);
		cr_expect(strstr(err, at) != NULL, "%s: %s", ec->block, err);
	}
}

Test(hc_match, names, .fini = teardown)
{
	char err[512];
	struct cfg *c;

	/* a match may come after the upstream that names it */
	c = cfgtest_load(&ct, HEAD TAIL "", err, sizeof(err));
	cr_expect_null(c);
	cr_expect(strstr(err, "match \"m\" not found in") != NULL && strstr(err, "nginx.conf:3"),
		  "%s", err);
	c = cfgtest_load(&ct,
			 HEAD
			 "upstream u { server 127.0.0.1:9; health_check match=m; }\n"
			 "server { listen 127.0.0.1:18001; location / { proxy_pass http://u; } }\n"
			 "match m { status 204; }\n"
			 "}\n",
			 err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(c->http->upstreams[0]->hc.match->conds[0].ranges[0].lo, 204);
	cfg_unref(c);
	c = cfgtest_load(&ct, HEAD "match m { }\nmatch m { }\n" TAIL, err, sizeof(err));
	cr_expect_null(c);
	cr_expect(strstr(err, "duplicate match \"m\" in") != NULL && strstr(err, "nginx.conf:4"),
		  "%s", err);
	c = cfgtest_load(&ct,
			 HEAD
			 "upstream u { server 127.0.0.1:9; health_check match=; }\n"
			 "server { listen 127.0.0.1:18001; location / { proxy_pass http://u; } }\n"
			 "}\n",
			 err, sizeof(err));
	cr_expect_null(c);
	cr_expect(strstr(err, "invalid value \"match=\"") != NULL, "%s", err);
	c = cfgtest_load(&ct,
			 "events {}\nstream {\nupstream s { server 127.0.0.1:9; "
			 "health_check match=m; }\n}\n",
			 err, sizeof(err));
	cr_expect_null(c);
	cr_expect(strstr(err, "\"match=\" is not supported in stream") != NULL, "%s", err);
}

/* the words lbctl shows for the results of checks over TLS and match=,
 * and hc_report_why's reason replacing them in the transition only */
Test(hc_match, result_text)
{
	static struct ups_server s = {.name = (char *)"127.0.0.1:1"};
	static struct ups_group g = {.name = (char *)"app", .servers = &s, .nservers = 1};
	char buf[160];

	g.hc.fails = g.hc.passes = 1;
	cr_expect(hc_report_why(&g, &s, UPS_HC_VERIFY, 20, "upstream SSL certificate verify error",
				1));
	cr_expect_eq(atomic_load(&s.health), UPS_HEALTH_DOWN);
	cr_expect_str_eq(
		hc_result_text(&s, buf, sizeof(buf)),
		"SSL certificate verify error: (20:unable to get local issuer certificate)");
	hc_report_why(&g, &s, UPS_HC_VERIFY, -1, NULL, 2);
	cr_expect_str_eq(hc_result_text(&s, buf, sizeof(buf)), "SSL certificate does not match");
	hc_report_why(&g, &s, UPS_HC_TLS, 0, NULL, 3);
	cr_expect_str_eq(hc_result_text(&s, buf, sizeof(buf)), "SSL handshake failed");
	hc_report(&g, &s, UPS_HC_MATCH, 200, 4);
	cr_expect_str_eq(hc_result_text(&s, buf, sizeof(buf)), "HTTP 200, no match");
	cr_expect(hc_report(&g, &s, UPS_HC_OK, 200, 5));
	cr_expect_eq(atomic_load(&s.health), UPS_HEALTH_UP);
}
