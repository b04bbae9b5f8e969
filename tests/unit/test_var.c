/* SPDX-License-Identifier: MIT */
/*
 * Tests of variables, complex values and maps (userspace/var*.c): every
 * builtin variable on a request parsed by the real HTTP/1 parser, nginx's
 * "not found" flag, the compiler's syntax and messages, captures, and map
 * lookups (exact, regex, hostnames, default) with their config errors.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "var.h"

/* 2026-11-28T05:00:00.123Z; the request started 3.456 ms before "now". */
#define T_SEC	   1795842000
#define T_START_US 5000000
#define T_NOW_US   (T_START_US + 3456)

static struct pool cfgpool;
static struct cval_ctx ctx;
static char err[256];

static const char req_main[] = "GET /search/items?q=lbd&page=2&Q=upper&empty=&flag HTTP/1.1\r\n"
			       "Host: Example.COM:8080\r\n"
			       "User-Agent: curl/8.5.0\r\n"
			       "Referer: https://ref.example/\r\n"
			       "Cookie: sessionid=abc123; theme=dark\r\n"
			       "Cookie: lang=en\r\n"
			       "X-Forwarded-For: 203.0.113.7\r\n"
			       "X-Forwarded-For: 198.51.100.2\r\n"
			       "Authorization: Basic dXNlcjpwYXNz\r\n"
			       "Content-Type: text/plain\r\n"
			       "Content-Length: 5\r\n"
			       "X-Custom-Header: v1\r\n"
			       "X-Custom-Header: v2\r\n"
			       "X_Under: u\r\n"
			       "\r\n";

static void set_addr(struct sockaddr_storage *ss, socklen_t *len, const char *ip, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		cr_assert_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		cr_assert_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
		*len = sizeof(*s4);
	}
}

/* conn_new - a client connection with RAW parsed as the lead's request
 * code would: views into a pool copy of the bytes. */
static struct conn *conn_new(const char *raw)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct http_req *r = &c->req;
	size_t len = strlen(raw), eol;
	const char *buf, *q;
	const struct h1_header *h;
	int rc;

	cr_assert(c);
	pool_init(&c->pool, 4096);
	buf = pool_strndup(&c->pool, raw, len);
	r->h1.headers = r->hdrs;
	rc = h1_parse_request(buf, len, NULL, &r->h1, HTTP_MAX_HEADERS);
	cr_assert_gt(rc, 0, "parse: %d", rc);
	r->method = (struct lstr){r->h1.method.p, r->h1.method.len};
	r->version = r->h1.version;
	eol = strcspn(buf, "\r\n");
	r->request_line = (struct lstr){buf, eol};
	r->u.unparsed = (struct lstr){r->h1.target.p, r->h1.target.len};
	q = memchr(r->h1.target.p, '?', r->h1.target.len);
	if (q) {
		r->u.uri = (struct lstr){r->h1.target.p, (size_t)(q - r->h1.target.p)};
		r->u.args =
			(struct lstr){q + 1, r->h1.target.len - (size_t)(q + 1 - r->h1.target.p)};
	} else {
		r->u.uri = r->u.unparsed;
	}
	h = h1_find_header(r->hdrs, r->h1.nheaders, "host");
	if (h) {
		size_t n = strcspn(h->value.p, ":\r\n");
		char *lh = pool_strndup(&c->pool, h->value.p, n);

		for (size_t i = 0; i < n; i++)
			lh[i] = (char)(lh[i] >= 'A' && lh[i] <= 'Z' ? lh[i] | 0x20 : lh[i]);
		r->host = (struct lstr){lh, n};
	}
	set_addr(&c->peer, &c->peerlen, "192.0.2.10", 54321);
	set_addr(&c->local, &c->locallen, "127.0.0.1", 8080);
	c->number = 7;
	c->requests = 3;
	r->start_us = T_START_US;
	r->start_wall.tv_sec = T_SEC;
	return c;
}

static void conn_free(struct conn *c)
{
	pool_destroy(&c->pool);
	free(c);
}

static void setup(void)
{
	struct timespec now = {T_SEC, 123456789};

	setenv("TZ", "UTC", 1);
	tzset();
	var_time_set(&now, T_NOW_US);
	pool_init(&cfgpool, 4096);
	memset(&ctx, 0, sizeof(ctx));
	ctx.pool = &cfgpool;
	err[0] = '\0';
}

static void teardown(void)
{
	/* regexes are released as cfg_unref does */
	for (struct cfg_map *m = ctx.maps; m; m = m->next)
		for (int i = 0; i < m->nregex; i++)
			pcre2_code_free(m->regex[i].re);
	var_time_set(NULL, 0);
	pool_destroy(&cfgpool);
}

/* eval - compile TEXT and evaluate it on C; the value as a C string. */
static char *eval(struct conn *c, const char *text)
{
	struct cval cv;
	struct lstr v;
	int rc = cval_compile(&ctx, text, &cv, err, sizeof(err));

	cr_assert_eq(rc, 0, "compile \"%s\": %s", text, err);
	rc = cval_eval(&cv, c, &v);
	cr_assert_eq(rc, 0, "eval \"%s\": %d", text, rc);
	return pool_strndup(&c->pool, v.p, v.len);
}

/* part_rc - cval_part_eval's result for a one-variable TEXT. */
static int part_rc(struct conn *c, const char *text)
{
	struct cval cv;
	struct lstr v;

	cr_assert_eq(cval_compile(&ctx, text, &cv, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cv.nparts, 1);
	return cval_part_eval(&cv.parts[0], c, &v);
}

/* ------------------------------------------------------------------ */

/* Parameters are copied into each test's process: arrays, not pointers. */
struct vcase {
	char expr[96];	/* complex value */
	char want[128]; /* its value on req_main */
};

static struct vcase main_cases[] = {
	{"$host", "example.com"},
	{"$HOST", "example.com"},
	{"$remote_addr", "192.0.2.10"},
	{"$remote_port", "54321"},
	{"$server_addr", "127.0.0.1"},
	{"$server_port", "8080"},
	{"$scheme", "http"},
	{"$https", ""},
	{"$request", "GET /search/items?q=lbd&page=2&Q=upper&empty=&flag HTTP/1.1"},
	{"$request_method", "GET"},
	{"$request_uri", "/search/items?q=lbd&page=2&Q=upper&empty=&flag"},
	{"$uri", "/search/items"},
	{"$document_uri", "/search/items"},
	{"$args", "q=lbd&page=2&Q=upper&empty=&flag"},
	{"$query_string", "q=lbd&page=2&Q=upper&empty=&flag"},
	{"$is_args", "?"},
	{"$arg_q", "lbd"},
	{"$arg_Q", "lbd"},
	{"$arg_page", "2"},
	{"$arg_age", ""},
	{"$arg_empty", ""},
	{"$arg_flag", ""},
	{"$arg_missing", ""},
	{"$http_user_agent", "curl/8.5.0"},
	{"$http_referer", "https://ref.example/"},
	{"$http_host", "Example.COM:8080"},
	{"$http_x_custom_header", "v1"},
	{"$http_x_under", ""},
	{"$http_cookie", "sessionid=abc123; theme=dark; lang=en"},
	{"$http_x_forwarded_for", "203.0.113.7, 198.51.100.2"},
	{"$proxy_add_x_forwarded_for", "203.0.113.7, 198.51.100.2, 192.0.2.10"},
	{"$cookie_sessionid", "abc123"},
	{"$cookie_theme", "dark"},
	{"$cookie_lang", "en"},
	{"$cookie_session", ""},
	{"$cookie_nope", ""},
	{"$content_type", "text/plain"},
	{"$content_length", "5"},
	{"$remote_user", "user"},
	{"$status", "000"},
	{"$body_bytes_sent", "0"},
	{"$request_time", "0.003"},
	{"$msec", "1795842000.123"},
	{"$time_local", "28/Nov/2026:05:00:00 +0000"},
	{"$time_iso8601", "2026-11-28T05:00:00+00:00"},
	{"$server_protocol", "HTTP/1.1"},
	{"$connection", "7"},
	{"$connection_requests", "3"},
	{"$nginx_version", LBD_VERSION},
	{"$server_name", ""},
	{"$upstream_addr", ""},
	{"$upstream_status", ""},
	{"$upstream_response_time", ""},
	{"$upstream_connect_time", ""},
	{"$upstream_header_time", ""},
	{"$upstream_cache_status", ""},
	{"$proxy_host", ""},
	{"$proxy_port", ""},
	{"$document_root", "html"},
	{"${host}foo", "example.comfoo"},
	{"$scheme://$host$request_uri",
	 "http://example.com/search/items?q=lbd&page=2&Q=upper&empty=&flag"},
	{"[$remote_addr]:$remote_port-$arg_q$is_args", "[192.0.2.10]:54321-lbd?"},
	{"literal only", "literal only"},
	{"", ""},
	{"$1$2", ""},
};

ParameterizedTestParameters(var, builtin)
{
	return cr_make_param_array(struct vcase, main_cases, ARRAY_SIZE(main_cases));
}

ParameterizedTest(struct vcase *tc, var, builtin, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_main);

	cr_expect_str_eq(eval(c, tc->expr), tc->want, "%s", tc->expr);
	conn_free(c);
}

/* nginx's not_found flag: what the access log prints as "-". */
struct nfcase {
	const char *expr; /* one variable */
	int rc;		  /* 0 found, VAR_NOT_FOUND */
};

static struct nfcase nf_cases[] = {
	{"$http_referer", 0},
	{"$http_x_nope", VAR_NOT_FOUND},
	{"$remote_user", 0},
	{"$arg_flag", VAR_NOT_FOUND},
	{"$arg_empty", 0},
	{"$cookie_nope", VAR_NOT_FOUND},
	{"$args", 0},
	{"$is_args", 0},
	{"$https", 0},
	{"$upstream_addr", VAR_NOT_FOUND},
	{"$upstream_cache_status", VAR_NOT_FOUND},
	{"$proxy_host", VAR_NOT_FOUND},
	{"$status", 0},
	{"$host", 0},
	{"$undefined_named", VAR_NOT_FOUND},
};

Test(var, not_found_flag, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_main);
	struct conn *bare = conn_new("GET / HTTP/1.0\r\n\r\n");

	for (size_t i = 0; i < ARRAY_SIZE(nf_cases); i++)
		cr_expect_eq(part_rc(c, nf_cases[i].expr), nf_cases[i].rc, "%s", nf_cases[i].expr);
	/* no query string at all: $args not found, $is_args empty but found */
	cr_expect_eq(part_rc(bare, "$args"), VAR_NOT_FOUND);
	cr_expect_eq(part_rc(bare, "$is_args"), 0);
	cr_expect_eq(part_rc(bare, "$remote_user"), VAR_NOT_FOUND);
	cr_expect_eq(part_rc(bare, "$content_length"), VAR_NOT_FOUND);
	cr_expect_eq(part_rc(bare, "$http_cookie"), VAR_NOT_FOUND);
	cr_expect_str_eq(eval(bare, "$server_protocol"), "HTTP/1.0");
	conn_free(bare);
	conn_free(c);
}

Test(var, response_and_upstream_fields, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_main);

	c->req.status = 200;
	c->req.body_bytes_sent = 1234;
	c->req.bytes_sent = 1500;
	c->req.request_length = 345;
	snprintf(c->req.up_addrs, sizeof(c->req.up_addrs), "127.0.0.1:3001, 127.0.0.1:3003");
	snprintf(c->req.up_status, sizeof(c->req.up_status), "502, 200");
	snprintf(c->req.up_resp_time, sizeof(c->req.up_resp_time), "0.001, 0.012");
	snprintf(c->req.up_conn_time, sizeof(c->req.up_conn_time), "0.000");
	snprintf(c->req.up_hdr_time, sizeof(c->req.up_hdr_time), "0.010");
	cr_expect_str_eq(eval(c, "$status $body_bytes_sent $bytes_sent $request_length"),
			 "200 1234 1500 345");
	cr_expect_str_eq(eval(c, "$upstream_addr|$upstream_status|$upstream_response_time"),
			 "127.0.0.1:3001, 127.0.0.1:3003|502, 200|0.001, 0.012");
	cr_expect_str_eq(eval(c, "$upstream_connect_time $upstream_header_time"), "0.000 0.010");
	c->req.status = 9;
	cr_expect_str_eq(eval(c, "$status"), "009");
	conn_free(c);
}

Test(var, ipv6_and_binary_addresses, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	struct cval cv;
	struct lstr v;
	static const unsigned char v4[4] = {192, 0, 2, 10};
	static const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					     0,	   0,	 0,    0,    0, 0, 0, 1};

	cr_assert_eq(cval_compile(&ctx, "$binary_remote_addr", &cv, err, sizeof(err)), 0);
	cr_assert_eq(cval_eval(&cv, c, &v), 0);
	cr_expect_eq(v.len, 4);
	cr_expect_eq(memcmp(v.p, v4, 4), 0);

	set_addr(&c->peer, &c->peerlen, "2001:db8::1", 443);
	set_addr(&c->local, &c->locallen, "::1", 8443);
	cr_expect_str_eq(eval(c, "$remote_addr $remote_port $server_addr $server_port"),
			 "2001:db8::1 443 ::1 8443");
	cr_expect_str_eq(eval(c, "$proxy_add_x_forwarded_for"), "2001:db8::1");
	cr_assert_eq(cval_eval(&cv, c, &v), 0);
	cr_expect_eq(v.len, 16);
	cr_expect_eq(memcmp(v.p, v6, 16), 0);

	set_addr(&c->peer, &c->peerlen, "::ffff:10.0.0.1", 1);
	cr_expect_str_eq(eval(c, "$remote_addr"), "::ffff:10.0.0.1");
	conn_free(c);
}

Test(var, host_falls_back_to_server_name, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new("GET / HTTP/1.0\r\n\r\n");
	struct server_name names[2] = {{"example.org", 11, 0, NULL},
				       {"www.example.org", 15, 0, NULL}};
	struct cfg_srv srv = {.names = names, .nnames = 2};
	struct server_name dot = {".example.net", 12, 1, NULL};
	struct server_name re = {"^www\\d+$", 8, 3, NULL};

	cr_expect_str_eq(eval(c, "[$host]"), "[]");
	c->req.srv = &srv;
	cr_expect_str_eq(eval(c, "$host $server_name"), "example.org example.org");
	srv.names = &dot;
	srv.nnames = 1;
	cr_expect_str_eq(eval(c, "$host"), "example.net");
	srv.names = &re;
	cr_expect_str_eq(eval(c, "$server_name"), "~^www\\d+$");
	conn_free(c);
}

Test(var, scheme_https_follows_the_tls_session, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_main);
	struct cfg_listen l = {.ssl = true};
	struct listen_group lg = {.listen = &l, .ssl = true};
	static char session; /* stands for a TLS session: only its presence is read */

	/* plain HTTP on a TLS address (answered 400) is still "http" */
	c->lg = &lg;
	cr_expect_str_eq(eval(c, "$scheme [$https] [$ssl_protocol]"), "http [] []");
	c->tls = (struct tls_conn *)&session;
	cr_expect_str_eq(eval(c, "$scheme $https"), "https on");
	c->tls = NULL;
	conn_free(c);
}

Test(var, header_filtering_follows_server_settings, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_main);
	struct cfg_srv srv = {.underscores_in_headers = 1, .ignore_invalid_headers = 1};

	cr_expect_str_eq(eval(c, "[$http_x_under]"), "[]");
	c->req.srv = &srv;
	cr_expect_str_eq(eval(c, "[$http_x_under]"), "[u]");
	srv.underscores_in_headers = 0;
	srv.ignore_invalid_headers = 0;
	cr_expect_str_eq(eval(c, "[$http_x_under]"), "[u]");
	conn_free(c);
}

/* ------------------------------------------------------------------ */

struct ccase {
	char req[128]; /* request head */
	char expr[48]; /* complex value */
	char want[32]; /* its value */
};

static struct ccase edge_cases[] = {
	/* cookies: nginx's parser, quirks included */
	{"GET / HTTP/1.1\r\nCookie: a=1;b=2\r\n\r\n", "$cookie_b", "2"},
	{"GET / HTTP/1.1\r\nCookie: A = x ;b=2\r\n\r\n", "[$cookie_a]", "[x ]"},
	{"GET / HTTP/1.1\r\nCookie: ab=1; a=2\r\n\r\n", "$cookie_a", "2"},
	{"GET / HTTP/1.1\r\nCookie: a=1, b=2\r\n\r\n", "$cookie_b", "2"},
	{"GET / HTTP/1.1\r\nCookie: foo;foo=1\r\n\r\n", "[$cookie_foo]", "[]"},
	{"GET / HTTP/1.1\r\nCookie: x=1\r\nCookie: x=2\r\n\r\n", "$cookie_x", "1"},
	{"GET / HTTP/1.1\r\nCookie: =v\r\n\r\n", "[$cookie_x]", "[]"},
	/* arguments: first match, case ignored, after '&' or at the start */
	{"GET /?a=1&a=2 HTTP/1.1\r\n\r\n", "$arg_a", "1"},
	{"GET /?ba=1&a=2 HTTP/1.1\r\n\r\n", "$arg_a", "2"},
	{"GET /?A=up HTTP/1.1\r\n\r\n", "$arg_a", "up"},
	{"GET /?x=1&a HTTP/1.1\r\n\r\n", "[$arg_a]", "[]"},
	{"GET /?a= HTTP/1.1\r\n\r\n", "[$arg_a]", "[]"},
	{"GET /?a=%20b+c HTTP/1.1\r\n\r\n", "$arg_a", "%20b+c"},
	{"GET /? HTTP/1.1\r\n\r\n", "[$args][$is_args]", "[][]"},
	/* $proxy_add_x_forwarded_for: an empty header still gets its ", " */
	{"GET / HTTP/1.1\r\nX-Forwarded-For:\r\n\r\n", "$proxy_add_x_forwarded_for",
	 ", 192.0.2.10"},
	{"GET / HTTP/1.1\r\n\r\n", "$proxy_add_x_forwarded_for", "192.0.2.10"},
	/* $remote_user: Basic only, user before ':' */
	{"GET / HTTP/1.1\r\nAuthorization: basic   YWxpY2U6\r\n\r\n", "$remote_user", "alice"},
	{"GET / HTTP/1.1\r\nAuthorization: Basic YWxpY2U=\r\n\r\n", "[$remote_user]", "[]"},
	{"GET / HTTP/1.1\r\nAuthorization: Basic Ojpw\r\n\r\n", "[$remote_user]", "[]"},
	{"GET / HTTP/1.1\r\nAuthorization: Bearer dXNlcjpwYXNz\r\n\r\n", "[$remote_user]", "[]"},
	{"GET / HTTP/1.1\r\nAuthorization: Basic dX*lcjpwYXNz\r\n\r\n", "[$remote_user]", "[]"},
	/* $http_: '-' read as '_', first header wins */
	{"GET / HTTP/1.1\r\nX-A-B: 1\r\nx-a-b: 2\r\n\r\n", "$http_x_a_b", "1"},
	{"GET / HTTP/1.1\r\nX-Real-IP: 1.2.3.4\r\n\r\n", "$Http_X_Real_IP", "1.2.3.4"},
};

ParameterizedTestParameters(var, edge)
{
	return cr_make_param_array(struct ccase, edge_cases, ARRAY_SIZE(edge_cases));
}

ParameterizedTest(struct ccase *tc, var, edge, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(tc->req);

	cr_expect_str_eq(eval(c, tc->expr), tc->want, "%s on %s", tc->expr, tc->req);
	conn_free(c);
}

/* ------------------------------------------------------------------ */

struct ecase {
	const char *text; /* bad complex value */
	const char *msg;  /* nginx's message */
};

static struct ecase err_cases[] = {
	{"$", "invalid variable name"},
	{"abc$", "invalid variable name"},
	{"${", "invalid variable name"},
	{"${}", "invalid variable name"},
	{"a$-b", "invalid variable name"},
	{"$ host", "invalid variable name"},
	{"${host", "the closing bracket in \"host\" variable is missing"},
	{"${ho st}", "the closing bracket in \"ho\" variable is missing"},
	{"$upstream_trailer_x", "variable \"$upstream_trailer_x\" is not supported yet"},
};

Test(var, compile_errors, .init = setup, .fini = teardown)
{
	for (size_t i = 0; i < ARRAY_SIZE(err_cases); i++) {
		struct cval cv;

		err[0] = '\0';
		cr_expect_eq(cval_compile(&ctx, err_cases[i].text, &cv, err, sizeof(err)), -EINVAL,
			     "%s", err_cases[i].text);
		cr_expect_str_eq(err, err_cases[i].msg, "%s", err_cases[i].text);
	}
}

Test(var, compile_shapes, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_main);
	struct cval cv;
	struct lstr v;

	/* literal: one part, returned as is, no allocation */
	cr_assert_eq(cval_compile(&ctx, "no vars here", &cv, err, sizeof(err)), 0);
	cr_expect(cv.literal);
	cr_expect_eq(cv.nparts, 1);
	cr_assert_eq(cval_eval(&cv, c, &v), 0);
	cr_expect_eq(v.p, cv.parts[0].str);
	cr_assert_eq(cval_compile(&ctx, "", &cv, err, sizeof(err)), 0);
	cr_expect(cv.literal);
	cr_expect_eq(cv.nparts, 0);
	cr_assert_eq(cval_eval(&cv, c, &v), 0);
	cr_expect_eq(v.len, 0);

	/* $10 is $1 then "0"; ${1} is not a capture but a name */
	cr_assert_eq(cval_compile(&ctx, "a$10${x}b", &cv, err, sizeof(err)), 0);
	cr_assert_eq(cv.nparts, 5);
	cr_expect_eq(cv.parts[0].kind, CVAL_LIT);
	cr_expect_eq(cv.parts[1].kind, CVAL_CAPTURE);
	cr_expect_eq(cv.parts[1].idx, 1);
	cr_expect_eq(cv.parts[2].kind, CVAL_LIT);
	cr_expect_eq(cv.parts[2].len, 1);
	cr_expect_eq(cv.parts[3].kind, CVAL_NAMED);
	cr_expect_eq(cv.parts[4].kind, CVAL_LIT);
	cr_expect_not(cv.literal);
	cr_expect_str_eq(cv.raw, "a$10${x}b");

	/* kinds: builtin, prefix (suffix kept lowercase), named recorded */
	ctx.nunresolved = 0;
	cr_assert_eq(cval_compile(&ctx, "$Uri$HTTP_X_Y$Foo$bar", &cv, err, sizeof(err)), 0);
	cr_assert_eq(cv.nparts, 4);
	cr_expect_eq(cv.parts[0].kind, CVAL_VAR);
	cr_expect_eq(cv.parts[0].idx, var_builtin_index("uri", 3));
	cr_expect_eq(cv.parts[1].kind, CVAL_PREFIX);
	cr_expect_eq(cv.parts[1].idx, VAR_PFX_HTTP);
	cr_expect_eq(cv.parts[1].len, 3);
	cr_expect_eq(memcmp(cv.parts[1].str, "x_y", 3), 0);
	cr_expect_eq(cv.parts[2].kind, CVAL_NAMED);
	cr_expect_str_eq(cv.parts[2].str, "foo");
	cr_assert_eq(ctx.nunresolved, 2);
	cr_expect_eq(ctx.unresolved[0], &cv.parts[2]);
	cr_expect_eq(ctx.unresolved[1], &cv.parts[3]);

	/* many parts: more than the evaluator keeps on its stack */
	cr_expect_str_eq(eval(c, "$arg_q-$arg_q-$arg_q-$arg_q-$arg_q-$arg_q-$arg_q-$arg_q-"
				 "$arg_q-$arg_q-$arg_q-$arg_q"),
			 "lbd-lbd-lbd-lbd-lbd-lbd-lbd-lbd-lbd-lbd-lbd-lbd");
	conn_free(c);
}

Test(var, index_lookups)
{
	size_t off = 0;

	cr_expect_geq(var_builtin_index("remote_addr", 11), 0);
	cr_expect_geq(var_builtin_index("REMOTE_ADDR", 11), 0);
	cr_expect_eq(var_builtin_index("remote_add", 10), -1);
	cr_expect_eq(var_prefix_index("cookie_sid", 10, &off), VAR_PFX_COOKIE);
	cr_expect_eq(off, 7);
	cr_expect_eq(var_prefix_index("arg_x", 5, &off), VAR_PFX_ARG);
	cr_expect_eq(off, 4);
	cr_expect_eq(var_prefix_index("sent_http_x", 11, &off), VAR_PFX_SENT_HTTP);
	cr_expect_eq(var_prefix_index("host", 4, &off), -1);
}

Test(var, set_variables_and_captures, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_main);
	struct lstr names[2] = {LSTR("foo"), LSTR("Foo")};
	struct lstr vals[2] = {LSTR("old"), LSTR("new")};
	void *re, *re2;

	c->req.set_vars_name = names;
	c->req.set_vars_val = vals;
	c->req.nset_vars = 2;
	cr_expect_str_eq(eval(c, "$foo/$FOO"), "new/new");

	cr_assert_eq(var_regex_compile("^/user/(?<ID>\\d+)/(\\w+)$", false, &re, err, sizeof(err)),
		     0, "%s", err);
	cr_expect(var_regex_has_name(re, "id", 2));
	cr_expect_not(var_regex_has_name(re, "name", 4));
	cr_assert_eq(var_regex_exec(c, re, "/user/42/profile", 16), 1);
	cr_expect_str_eq(eval(c, "$1|$2|[$3]|$id|$Id"), "42|profile|[]|42|42");
	/* no match: the last match stays */
	cr_assert_eq(var_regex_exec(c, re, "/users", 6), 0);
	cr_expect_str_eq(eval(c, "$1"), "42");
	/* a group that took no part is empty */
	cr_assert_eq(var_regex_compile("^(a)?(b)$", true, &re2, err, sizeof(err)), 0);
	cr_assert_eq(var_regex_exec(c, re2, "B", 1), 1);
	cr_expect_str_eq(eval(c, "[$1][$2][$id]"), "[][B][]");
	pcre2_code_free(re2);
	pcre2_code_free(re);
	conn_free(c);
}

Test(var, regex_compile_error, .init = setup, .fini = teardown)
{
	void *re;

	cr_expect_eq(var_regex_compile("(abc", false, &re, err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "pcre2_compile() failed: missing closing parenthesis in \"(abc\"");
	cr_expect_eq(var_regex_compile("a)b", false, &re, err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "pcre2_compile() failed: unmatched closing parenthesis in \"a)b\" "
			      "at \")b\"");
}

Test(var, proxy_document_root_request_id, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_main);
	struct proxy_pass pp = {.host = "127.0.0.1:3001"};
	struct cfg_loc loc = {.proxy = &pp};
	struct cfg cfg = {.prefix = "/usr/local/lbd/"};
	struct cval root;
	char *id1, *id2;

	c->req.loc = &loc;
	cr_assert_eq(cval_compile(&ctx, "http://127.0.0.1:3001", &pp.url, err, sizeof(err)), 0);
	cr_expect_str_eq(eval(c, "$proxy_host $proxy_port"), "127.0.0.1:3001 3001");
	pp.host = "app_backends";
	cr_assert_eq(cval_compile(&ctx, "http://app_backends", &pp.url, err, sizeof(err)), 0);
	cr_expect_str_eq(eval(c, "$proxy_host $proxy_port"), "app_backends 80");
	pp.host = "[::1]";
	cr_assert_eq(cval_compile(&ctx, "https://[::1]", &pp.url, err, sizeof(err)), 0);
	cr_expect_str_eq(eval(c, "$proxy_host $proxy_port"), "[::1] 443");
	pp.host = "[::1]:8443";
	cr_expect_str_eq(eval(c, "$proxy_port"), "8443");

	c->cfg = &cfg;
	cr_expect_str_eq(eval(c, "$document_root"), "/usr/local/lbd/html");
	cr_assert_eq(cval_compile(&ctx, "/srv/$host", &root, err, sizeof(err)), 0);
	loc.root = &root;
	cr_expect_str_eq(eval(c, "$document_root"), "/srv/example.com");
	cr_assert_eq(cval_compile(&ctx, "/tmp/../tmp", &root, err, sizeof(err)), 0);
	cr_expect_str_eq(eval(c, "$realpath_root"), "/tmp");

	id1 = eval(c, "$request_id");
	cr_expect_eq(strlen(id1), 32);
	cr_expect_eq(strspn(id1, "0123456789abcdef"), 32);
	id2 = eval(c, "$request_id");
	cr_expect_str_eq(id1, id2, "stable within a request");
	c->requests++;
	id2 = eval(c, "$request_id");
	cr_expect_str_neq(id1, id2, "new for the next request");
	conn_free(c);
}

Test(var, misc_process_values, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_main);
	char host[256] = "", want[64];

	snprintf(want, sizeof(want), "%d", (int)getpid());
	cr_expect_str_eq(eval(c, "$pid"), want);
	gethostname(host, sizeof(host) - 1);
	for (char *p = host; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p | 0x20 : *p);
	cr_expect_str_eq(eval(c, "$hostname"), host);
	conn_free(c);
}

Test(var, time_local_offset, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_main);
	struct timespec t = {T_SEC + 1, 5000000};

	setenv("TZ", "XYZ-5:30", 1);
	tzset();
	var_time_set(&t, T_START_US + 62005000);
	cr_expect_str_eq(eval(c, "$time_local|$time_iso8601|$msec|$request_time"),
			 "28/Nov/2026:10:30:01 +0530|2026-11-28T10:30:01+05:30|1795842001.005|"
			 "62.005");
	setenv("TZ", "ABC+3", 1);
	tzset();
	t.tv_sec += 1;
	var_time_set(&t, T_START_US - 5); /* a clock before the start: 0.000 */
	cr_expect_str_eq(eval(c, "$time_local|$request_time"), "28/Nov/2026:02:00:02 -0300|0.000");
	conn_free(c);
}

Test(var, get_by_name, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_main);
	struct lstr v;

	cr_assert_eq(var_get_by_name(c, "Remote_Addr", 11, &v), 0);
	cr_expect_eq(v.len, 10);
	cr_expect_eq(memcmp(v.p, "192.0.2.10", 10), 0);
	cr_assert_eq(var_get_by_name(c, "cookie_theme", 12, &v), 0);
	cr_expect_eq(memcmp(v.p, "dark", 4), 0);
	cr_expect_eq(var_get_by_name(c, "no_such_thing", 13, &v), -ENOENT);
	cr_expect_eq(var_get_by_name(c, "http_nope", 9, &v), 0);
	cr_expect_eq(v.len, 0);
	conn_free(c);
}

/* ------------------------------------------------------------------ */
/* maps                                                                 */

static struct cfg_map *map_new(const char *name, const char *src, bool hostnames)
{
	struct cfg_map *m = pool_zalloc(&cfgpool, sizeof(*m));

	m->name = pool_strdup(&cfgpool, name);
	m->hostnames = hostnames;
	cr_assert_eq(cval_compile(&ctx, src, &m->src, err, sizeof(err)), 0, "%s", err);
	m->next = ctx.maps;
	ctx.maps = m;
	return m;
}

static void map_add(struct cfg_map *m, const char *key, const char *value)
{
	cr_assert_eq(map_add_entry(&ctx, m, key, value, err, sizeof(err)), 0, "%s %s: %s", key,
		     value, err);
}

Test(var, map_exact_regex_default, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_main);
	struct cfg_map *m = map_new("ua_kind", "$http_user_agent", false);
	struct cfg_map *u = map_new("section", "$uri", false);
	struct cfg_map *e = map_new("empty_src", "$arg_missing", false);
	struct cfg_map *nd = map_new("no_default", "$uri", false);
	struct cfg_map *t = map_new("tmap", "$arg_t", false);
	struct cval cv;

	map_add(m, "default", "other");
	map_add(m, "~*firefox", "ff");
	map_add(m, "CURL/8.5.0", "curl-exact");
	map_add(m, "~^curl", "curl-re");
	cr_expect_str_eq(eval(c, "$ua_kind"), "curl-exact", "exact keys first, case ignored");

	map_add(u, "~^/(?<top>[a-z]+)/(.+)$", "$top:$2:$1");
	map_add(u, "~^/search", "never: the first regex wins");
	map_add(u, "default", "none");
	cr_expect_str_eq(eval(c, "<$section>"), "<search:items:search>");
	cr_expect_str_eq(eval(c, "$1"), "search", "a map match sets the captures");

	/* regexes never see an empty value */
	map_add(e, "~.*", "matched");
	map_add(e, "default", "dflt");
	cr_expect_str_eq(eval(c, "$empty_src"), "dflt");
	map_add(e, "", "empty-key");
	cr_expect_str_eq(eval(c, "$empty_src"), "empty-key");

	map_add(t, "\\~tilde", "escaped");
	map_add(t, "\\\\x", "backslash");
	map_add(nd, "/nope", "x");
	cr_expect_str_eq(eval(c, "[$no_default]"), "[]");
	cr_assert_eq(cval_compile(&ctx, "$no_default", &cv, err, sizeof(err)), 0);
	cr_expect_eq(cv.parts[0].kind, CVAL_MAP);
	cr_expect_eq(cval_part_eval(&cv.parts[0], c, &(struct lstr){0}), 0,
		     "a map is always found");
	conn_free(c);

	c = conn_new("GET /?t=~tilde HTTP/1.1\r\nUser-Agent: Mozilla Firefox/1\r\n\r\n");
	cr_expect_str_eq(eval(c, "$section $ua_kind $tmap"), "none ff escaped");
	conn_free(c);
	c = conn_new("GET /?t=\\x HTTP/1.1\r\n\r\n");
	cr_expect_str_eq(eval(c, "[$tmap]"), "[backslash]");
	conn_free(c);
	c = conn_new("GET / HTTP/1.1\r\nUser-Agent: curl/7\r\n\r\n");
	cr_expect_str_eq(eval(c, "$section $ua_kind"), "none curl-re");
	conn_free(c);
	c = conn_new("GET / HTTP/1.1\r\nUser-Agent: wget\r\n\r\n");
	cr_expect_str_eq(eval(c, "$ua_kind"), "other");
	conn_free(c);
}

struct hcase {
	const char *host; /* $arg_h */
	const char *want; /* $hmap */
};

static struct hcase host_cases[] = {
	{"a.example.com", "head"},	{"x.y.example.com", "head"},
	{"example.com", "dflt"},	{"x.b.example.com", "deeper"},
	{"b.example.com", "head"},	{"example.org", "dot"},
	{"www.example.org", "dot"},	{"www.example.io", "tail"},
	{"www.example.co.uk", "tail"},	{"www.example", "tailw"},
	{"www.examplefoo.io", "tailw"}, {"EXAMPLE.NET.", "exact"},
	{"example.net..", "dflt"},	{"api.example.net", "dflt"},
	{"www.a.example.io", "tail2"},	{"", "dflt"},
	{"www.other.io", "tailw"},
};

Test(var, map_hostnames, .init = setup, .fini = teardown)
{
	struct cfg_map *m = map_new("hmap", "$arg_h", true);

	map_add(m, "*.example.com", "head");
	map_add(m, "*.b.example.com", "deeper");
	map_add(m, ".example.org", "dot");
	map_add(m, "www.example.*", "tail");
	map_add(m, "www.a.example.*", "tail2");
	map_add(m, "www.*", "tailw");
	map_add(m, "Example.NET", "exact");
	map_add(m, "default", "dflt");
	for (size_t i = 0; i < ARRAY_SIZE(host_cases); i++) {
		char req[256];
		struct conn *c;

		snprintf(req, sizeof(req), "GET /?h=%s HTTP/1.1\r\n\r\n", host_cases[i].host);
		c = conn_new(req);
		cr_expect_str_eq(eval(c, "$hmap"), host_cases[i].want, "%s", host_cases[i].host);
		conn_free(c);
	}
}

struct mecase {
	bool hostnames;	 /* map flag */
	const char *k1;	 /* first key, accepted */
	const char *k2;	 /* second key, refused */
	const char *msg; /* message for k2 */
};

static struct mecase map_err_cases[] = {
	{false, "default", "default", "duplicate default map parameter"},
	{false, "Abc", "aBC", "conflicting parameter \"abc\""},
	{false, "x", "~(x", "pcre2_compile() failed: missing closing parenthesis in \"(x\""},
	{true, "example.com", ".example.com", "conflicting parameter \".example.com\""},
	{true, ".example.com", "example.com", "conflicting parameter \"example.com\""},
	{true, ".example.com", "*.example.com", "conflicting parameter \"*.example.com\""},
	{true, "*.example.com", "*.Example.com", "conflicting parameter \"*.example.com\""},
	{true, "www.x.*", "www.x.*", "conflicting parameter \"www.x.*\""},
	{true, "x", "a.*.com", "invalid hostname or wildcard \"a.*.com\""},
	{true, "x", "*.*.com", "invalid hostname or wildcard \"*.*.com\""},
	{true, "x", "a..com", "invalid hostname or wildcard \"a..com\""},
	{true, "x", "*", "invalid hostname or wildcard \"*\""},
	{false, "x", "${bad", "the closing bracket in \"bad\" variable is missing"},
};

Test(var, map_errors, .init = setup, .fini = teardown)
{
	for (size_t i = 0; i < ARRAY_SIZE(map_err_cases); i++) {
		const struct mecase *tc = &map_err_cases[i];
		struct cfg_map *m = map_new("m", "$uri", tc->hostnames);
		const char *value = strchr(tc->k2, '$') ? tc->k2 : "v";
		const char *key = strchr(tc->k2, '$') ? "k" : tc->k2;

		map_add(m, tc->k1, "v");
		err[0] = '\0';
		cr_expect_eq(map_add_entry(&ctx, m, key, value, err, sizeof(err)), -EINVAL, "%s",
			     tc->k2);
		cr_expect_str_eq(err, tc->msg, "%s after %s", tc->k2, tc->k1);
	}
	/* without `hostnames`, wildcards are plain keys and never clash */
	{
		struct cfg_map *m = map_new("plain", "$uri", false);

		map_add(m, ".example.com", "a");
		map_add(m, "example.com", "b");
		map_add(m, "*.example.com", "c");
	}
}

Test(var, map_in_complex_value_and_by_name, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_main);
	struct cfg_map *m = map_new("Backend", "$cookie_theme", false);
	struct cfg_http http = {.maps = NULL};
	struct cfg cfg = {.http = &http};
	struct lstr v;

	map_add(m, "dark", "b-$arg_page");
	map_add(m, "default", "b-light");
	cr_expect_str_eq(eval(c, "http://$backend/x"), "http://b-2/x");
	http.maps = m;
	c->cfg = &cfg;
	cr_assert_eq(var_get_by_name(c, "backend", 7, &v), 0);
	cr_expect_eq(v.len, 3);
	cr_expect_eq(memcmp(v.p, "b-2", 3), 0);
	conn_free(c);
}

Test(var, map_loop_is_bounded, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_main);
	struct cfg_map *m = pool_zalloc(&cfgpool, sizeof(*m));

	/* map $loop $loop: the source refers to the map itself */
	m->name = "loop";
	ctx.maps = m;
	cr_assert_eq(cval_compile(&ctx, "x$loop", &m->src, err, sizeof(err)), 0);
	map_add(m, "default", "d");
	cr_expect_str_eq(eval(c, "$loop"), "d");
	conn_free(c);
}
