/* SPDX-License-Identifier: MIT */
/*
 * memc.c and cfg_memc.c: the key escape byte for byte, the answer's first
 * line (hit, miss, each malformed form nginx names, fed whole and cut at
 * every byte), the head put in its place, the trailer check; the
 * configuration: the memcached_* twins applied to a memcached_pass
 * location only, what the module fixes, memcached_gzip_flag's
 * inheritance, exact error texts with FILE:LINE.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgtest.h"
#include "memc.h"

/* ---- the key ------------------------------------------------------------------------- */

Test(memc, key_escape)
{
	static const char in[] = "/a b%c\x01\x1f\x7f\xff~?x=1";
	char out[64];
	size_t n = memc_key_escape(NULL, in, sizeof(in) - 1);

	cr_assert_eq(n, memc_key_escape(out, in, sizeof(in) - 1));
	out[n] = '\0';
	/* ' ', '%' and controls escaped, upper-case hex; DEL and 8-bit kept */
	cr_assert_str_eq(out, "/a%20b%25c%01%1F\x7f\xff~?x=1");
	cr_assert_eq(memc_key_escape(NULL, "", 0), 0);
}

/* ---- the first line ------------------------------------------------------------------ */

/* Criterion runs each case in a new process: the strings are inline. */
struct line_case {
	char in[48];	 /* the answer's first bytes */
	unsigned gzip;	 /* memcached_gzip_flag */
	enum memc_rc rc; /* want */
	char text[40];	 /* the line for messages ("": not checked) */
	uint64_t length; /* MEMC_HIT */
	bool gz;	 /* MEMC_HIT */
};

static struct line_case lines[] = {
	{"VALUE /k 0 5\r\nhello\r\nEND\r\n", 0, MEMC_HIT, "VALUE /k 0 5", 5, false},
	{"VALUE /k 2 0\r\n\r\nEND\r\n", 2, MEMC_HIT, "", 0, true},
	{"VALUE /k 3 7\r\n", 4, MEMC_HIT, "", 7, false},
	{"VALUE /k zz 7\r\n", 0, MEMC_HIT, "", 7, false}, /* flags not read */
	{"VALUE /k zz 7\r\n", 1, MEMC_BAD_FLAGS, "VALUE /k zz 7", 0, false},
	{"VALUE /k  7\r\n", 1, MEMC_BAD_FLAGS, "", 0, false},
	{"END\r\n", 0, MEMC_MISS, "END", 0, false},
	{"END\n", 0, MEMC_BAD, "END", 0, false},
	{"\n", 0, MEMC_BAD, "", 0, false},
	{"ENDX\r\n", 0, MEMC_BAD, "ENDX", 0, false},
	{"SERVER_ERROR out of memory\r\n", 0, MEMC_BAD, "SERVER_ERROR out of memory", 0, false},
	{"VALUE /x 0 5\r\n", 0, MEMC_BAD_KEY, "VALUE /x 0 5", 0, false},
	{"VALUE /\r\n", 0, MEMC_BAD_KEY, "", 0, false},
	{"VALUE /kk 0 5\r\n", 0, MEMC_BAD, "", 0, false}, /* a longer key */
	{"VALUE /k 0\r\n", 0, MEMC_BAD, "", 0, false},	  /* no length */
	{"VALUE /k 0 x5\r\n", 0, MEMC_BAD_LENGTH, "VALUE /k 0 x5", 0, false},
	{"VALUE /k 0 5 99\r\n", 0, MEMC_BAD_LENGTH, "", 0, false}, /* a cas */
	{"VALUE /k 0 \r\n", 0, MEMC_BAD_LENGTH, "", 0, false},
	{"VALUE /k 0 99999999999999999999\r\n", 0, MEMC_BAD_LENGTH, "", 0, false},
};

ParameterizedTestParameters(memc, first_line)
{
	return cr_make_param_array(struct line_case, lines, sizeof(lines) / sizeof(lines[0]));
}

ParameterizedTest(struct line_case *c, memc, first_line)
{
	struct lstr key = {"/k", 2};
	size_t n = strlen(c->in);
	const char *lf = strchr(c->in, '\n');
	struct memc_line ml;

	cr_assert_eq(memc_parse_line(c->in, n, key, c->gzip, &ml), c->rc, "%s", c->in);
	cr_expect_eq(ml.len, (size_t)(lf - c->in) + 1);
	if (c->text[0]) {
		cr_expect_eq(ml.text.len, strlen(c->text));
		cr_expect(memcmp(ml.text.p, c->text, ml.text.len) == 0, "%s", c->in);
	}
	if (c->rc == MEMC_HIT) {
		cr_expect_eq(ml.length, c->length);
		cr_expect_eq(ml.gzip, c->gz);
	}
	/* every cut before the LF wants more */
	for (size_t k = 0; k < (size_t)(lf - c->in); k++) {
		char *p = malloc(k + 1); /* exact size: an overread trips ASan */

		memcpy(p, c->in, k);
		cr_expect_eq(memc_parse_line(p, k, key, c->gzip, &ml), MEMC_MORE, "%s cut %zu",
			     c->in, k);
		free(p);
	}
}

Test(memc, head_put)
{
	char buf[256];
	size_t n = memc_head_put(buf, sizeof(buf), false, 1048576, "text/html", true);
	const char *want = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
			   "Content-Length: 1048576\r\nContent-Encoding: gzip\r\n\r\n";

	cr_assert_eq(n, strlen(want));
	cr_assert(memcmp(buf, want, n) == 0);
	n = memc_head_put(buf, sizeof(buf), false, 0, NULL, false);
	want = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	cr_assert_eq(n, strlen(want));
	cr_assert(memcmp(buf, want, n) == 0);
	n = memc_head_put(buf, sizeof(buf), true, 0, NULL, false);
	want = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	cr_assert_eq(n, strlen(want));
	cr_assert(memcmp(buf, want, n) == 0);
	cr_assert_eq(memc_head_put(buf, 20, false, 5, "text/html", false), 0);
}

Test(memc, trailer)
{
	cr_assert(memc_trailer_ok("\r\nEND\r\n", 7, 0));
	cr_assert(memc_trailer_ok("\r\nE", 3, 0));
	cr_assert(memc_trailer_ok("ND\r\n", 4, 3));
	cr_assert(!memc_trailer_ok("\r\nEND\r\nX", 8, 0));
	cr_assert(!memc_trailer_ok("XXX", 3, 0));
	cr_assert(!memc_trailer_ok("\r", 1, 7));
}

/* ---- configuration -------------------------------------------------------------------- */

#define HEAD "events {}\nhttp {\n"

Test(memc, cfg_twins_and_fixed)
{
	struct cfgtest t = {0};
	char err[1024];
	struct cfg *c =
		cfgtest_load(&t,
			     HEAD "memcached_read_timeout 5s;\n"
				  "memcached_gzip_flag 8;\n"
				  "proxy_buffering on;\n"
				  "server {\nlisten 127.0.0.1:8080;\n"
				  "set $memcached_key $uri;\n"
				  "location /m { memcached_next_upstream not_found;\n"
				  "  memcached_pass 127.0.0.1:11211; }\n"
				  "location /g { memcached_gzip_flag 0; memcached_pass m; }\n"
				  "location /px { proxy_pass http://127.0.0.1:9; }\n"
				  "}\nupstream m { server 127.0.0.1:11211; }\n}\n",
			     err, sizeof(err));
	struct cfg_loc *m, *g, *px;

	cr_assert_not_null(c, "%s", err);
	m = cfgtest_prefix_loc(c, "/m");
	g = cfgtest_prefix_loc(c, "/g");
	px = cfgtest_prefix_loc(c, "/px");
	cr_assert(m && g && px);
	cr_expect(m->proxy->memcached && !px->proxy->memcached);
	cr_expect_not_null(m->memc.key);
	cr_expect_eq(m->memc.gzip_flag, 8);
	cr_expect_eq(g->memc.gzip_flag, 0);
	cr_expect_eq(m->proxy_read_timeout, 5000);
	cr_expect_eq(px->proxy_read_timeout, 60000);
	cr_expect_eq(m->proxy_next_upstream, NU_HTTP_404);
	cr_expect_eq(g->proxy_next_upstream, NU_ERROR | NU_TIMEOUT);
	/* what nginx's module fixes */
	cr_expect_eq(m->proxy_buffering, 0);
	cr_expect_eq(px->proxy_buffering, 1);
	cr_expect_eq(m->proxy_intercept_errors, 1);
	cr_expect_eq(m->proxy_pass_request_body, 0);
	cr_expect_eq(m->proxy_force_ranges, 1);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

struct err_case {
	char body[112]; /* in a server block: line 4 */
	char msg[64];
	int line; /* 0: no FILE:LINE checked */
};

static struct err_case errs[] = {
	{"location / { set $memcached_key 1; memcached_pass 127.0.0.1:1; memcached_pass 127.0.0.1:2; }",
	 "\"memcached_pass\" directive is duplicate", 4},
	{"location / { set $memcached_key 1; memcached_pass http://127.0.0.1:1; }",
	 "invalid host in upstream \"http://127.0.0.1:1\"", 4},
	{"location / { set $memcached_key 1; memcached_pass $v; }", "no port in upstream \"$v\"",
	 4},
	{"location / { set $memcached_key 1; memcached_pass $v:1; }",
	 "host not found in upstream \"$v\"", 4},
	{"location / { set $memcached_key 1; memcached_pass localhost; }",
	 "no port in upstream \"localhost\"", 4},
	{"location / { set $memcached_key 1; memcached_gzip_flag -1; memcached_pass 127.0.0.1:1; }",
	 "\"memcached_gzip_flag\" directive invalid number", 4},
	{"location / { memcached_next_upstream not_found bogus; }", "invalid value \"bogus\"", 4},
	{"location / { memcached_next_upstream off error; }", "invalid value \"off\"", 4},
	{"location / { memcached_next_upstream off; memcached_next_upstream error; }",
	 "\"memcached_next_upstream\" directive is duplicate", 4},
	{"memcached_pass 127.0.0.1:1;", "\"memcached_pass\" directive is not allowed here", 4},
	{"location / { memcached_pass 127.0.0.1:1; }", "unknown \"memcached_key\" variable", 0},
};

ParameterizedTestParameters(memc, cfg_errors)
{
	return cr_make_param_array(struct err_case, errs, sizeof(errs) / sizeof(errs[0]));
}

ParameterizedTest(struct err_case *e, memc, cfg_errors)
{
	cfgtest_server_error(e->body, e->msg, e->line);
}
