/* SPDX-License-Identifier: MIT */
/*
 * embed.c and cfg_addition.c: the chunk-size line, nginx's addition head
 * edits on head texts (Content-Length and Accept-Ranges dropped, the ETag
 * made weak once, Transfer-Encoding added unless there), and the
 * add_before_body / add_after_body / addition_types configuration: merge
 * down the levels, "" as none, -t errors with nginx's texts.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "cfgtest.h"
#include "embed.h"

Test(embed, chunk_head)
{
	char b[24];
	size_t n;

	n = embed_chunk_head(b, 1);
	cr_assert(n == 3 && memcmp(b, "1\r\n", 3) == 0);
	n = embed_chunk_head(b, 16384);
	cr_assert(n == 6 && memcmp(b, "4000\r\n", 6) == 0);
	n = embed_chunk_head(b, 0xabcdef);
	cr_assert(n == 8 && memcmp(b, "abcdef\r\n", 8) == 0);
}

struct edit_case {
	char in[160];
	bool chunk;
	char want[160];
	bool chunked; /* the body as produced is chunked */
};

static struct edit_case edit_cases[] = {
	{"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n"
	 "ETag: \"ab-5\"\r\nAccept-Ranges: bytes\r\n",
	 true,
	 "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: W/\"ab-5\"\r\n"
	 "Transfer-Encoding: chunked\r\n",
	 false},
	/* already weak, already chunked (a proxied chunked body), case ignored */
	{"HTTP/1.1 200 OK\r\netag: W/\"x\"\r\ntransfer-encoding: chunked\r\n"
	 "CONTENT-LENGTH: 9\r\n",
	 true, "HTTP/1.1 200 OK\r\netag: W/\"x\"\r\ntransfer-encoding: chunked\r\n", true},
	/* HTTP/1.0 (no chunks): the lines dropped only */
	{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Content-Length: 1\r\n", false,
	 "HTTP/1.1 200 OK\r\nX-Content-Length: 1\r\n", false},
	/* the status line is never a header */
	{"HTTP/1.1 200 Content-Length: ok\r\n", false, "HTTP/1.1 200 Content-Length: ok\r\n",
	 false},
};

ParameterizedTestParameters(embed, head_edit)
{
	return cr_make_param_array(struct edit_case, edit_cases,
				   sizeof(edit_cases) / sizeof(edit_cases[0]));
}

ParameterizedTest(const struct edit_case *tc, embed, head_edit)
{
	char buf[512];
	size_t len = strlen(tc->in);
	bool chunked = !tc->chunked;

	memcpy(buf, tc->in, len);
	cr_assert_eq(embed_head_edit(buf, &len, sizeof(buf), tc->chunk, &chunked), 0);
	cr_assert(len == strlen(tc->want) && memcmp(buf, tc->want, len) == 0, "got \"%.*s\"",
		  (int)len, buf);
	cr_assert_eq(chunked, tc->chunked);
}

Test(embed, head_edit_no_room)
{
	char buf[64] = "HTTP/1.1 200 OK\r\nETag: \"0123456789\"\r\n";
	size_t len = strlen(buf);
	bool chunked;

	cr_assert_eq(embed_head_edit(buf, &len, len + 4, true, &chunked), -ENOSPC);
}

Test(embed, config_merge)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *c =
		cfgtest_load(&t,
			     "events {}\nhttp {\n add_after_body /a.html;\n"
			     " addition_types text/plain;\n"
			     " server { listen 127.0.0.1:1;\n"
			     "  location /in/ { }\n"
			     "  location /own/ { add_before_body /b.html; addition_types *; }\n"
			     "  location /off/ { add_after_body \"\"; }\n"
			     " }\n}\n",
			     err, sizeof(err));
	const struct cfg_loc *l;

	cr_assert_not_null(c, "%s", err);
	l = cfgtest_prefix_loc(c, "/in/");
	cr_assert(l && l->add.on && strcmp(l->add.after, "/a.html") == 0 && !l->add.before[0]);
	cr_assert(l->add.ntypes == 1 && strcmp(l->add.types[0], "text/plain") == 0);
	l = cfgtest_prefix_loc(c, "/own/");
	cr_assert(l && strcmp(l->add.before, "/b.html") == 0 &&
		  strcmp(l->add.after, "/a.html") == 0 && l->add.types_any);
	l = cfgtest_prefix_loc(c, "/off/");
	cr_assert(l && !l->add.on && !l->add.after[0]);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(embed, config_errors)
{
	cfgtest_location_error("add_before_body;",
			       "invalid number of arguments in \"add_before_body\" directive");
	cfgtest_location_error("add_after_body /a /b;",
			       "invalid number of arguments in \"add_after_body\" directive");
	cfgtest_location_error("add_before_body /a; add_before_body /b;",
			       "\"add_before_body\" directive is duplicate");
	cfgtest_location_error("addition_types;",
			       "invalid number of arguments in \"addition_types\" directive");
	cfgtest_location_error("if ($arg_x) { add_after_body /x; }",
			       "\"add_after_body\" directive is not allowed here");
}
