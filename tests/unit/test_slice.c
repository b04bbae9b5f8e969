/* SPDX-License-Identifier: MIT */
/*
 * The slice module's pure pieces (slice.c): the start a Range asks for
 * (nginx's ngx_http_slice_get_start), a slice answer's Content-Range, and
 * the configuration of `slice` (levels, 0, errors).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "cfgtest.h"
#include "slice.h"

static struct lstr S(const char *s) {
	return (struct lstr){s, strlen(s)};
}

/* The cases hold their strings (Criterion hands a copy of each case to
 * the test's process, where the parent's pointers do not lead). */
struct start_case {
	char range[48]; /* "": no header */
	bool if_range;
	long long want;
};

static struct start_case start_cases[] = {
	{"", false, 0},
	{"bytes=0-", false, 0},
	{"bytes=1500-2000", false, 1500},
	{"BYTES=1500-", false, 1500},		   /* the unit in any case */
	{"bytes=  77-", false, 77},		   /* blanks before the number */
	{"bytes=1500-2000", true, 0},		   /* If-Range: from 0 */
	{"bytes=-500", false, 0},		   /* a suffix */
	{"bytes=10-20,30-40", false, 0},	   /* several ranges */
	{"bytes=", false, 0},			   /* shorter than 7 bytes */
	{"items=5-9", false, 0},		   /* another unit */
	{"bytes=abc", false, 0},		   /* no number */
	{"bytes=99999999999999999999-", false, 0}, /* overflows */
	{"bytes=9223372036854775807-", false, 9223372036854775807LL},
};

ParameterizedTestParameters(slice, req_start)
{
	return cr_make_param_array(struct start_case, start_cases,
				   sizeof(start_cases) / sizeof(start_cases[0]));
}

ParameterizedTest(struct start_case *c, slice, req_start)
{
	struct lstr v = c->range[0] ? S(c->range) : (struct lstr){NULL, 0};

	cr_expect_eq(slice_req_start(v, c->if_range), c->want, "%s", c->range);
}

struct cr_case {
	char v[48];
	enum slice_cr rc;
	long long start, end, total; /* end exclusive */
};

static struct cr_case cr_cases[] = {
	{"bytes 0-999/3500", SLICE_CR_OK, 0, 1000, 3500},
	{"bytes 3000-3499/3500", SLICE_CR_OK, 3000, 3500, 3500},
	{"bytes  1 - 2 / 3 ", SLICE_CR_OK, 1, 3, 3},
	{"bytes 0-999/*", SLICE_CR_NO_TOTAL, 0, 1000, -1},
	{"bytes */3500", SLICE_CR_INVALID, 0, 0, 0},
	{"Bytes 0-1/2", SLICE_CR_INVALID, 0, 0, 0}, /* nginx: exact case */
	{"bytes 0-1", SLICE_CR_INVALID, 0, 0, 0},
	{"bytes 0-1/2x", SLICE_CR_INVALID, 0, 0, 0},
	{"bytes -1/2", SLICE_CR_INVALID, 0, 0, 0},
	{"bytes 99999999999999999999-1/2", SLICE_CR_INVALID, 0, 0, 0},
	{"", SLICE_CR_INVALID, 0, 0, 0},
};

ParameterizedTestParameters(slice, content_range)
{
	return cr_make_param_array(struct cr_case, cr_cases,
				   sizeof(cr_cases) / sizeof(cr_cases[0]));
}

ParameterizedTest(struct cr_case *c, slice, content_range)
{
	int64_t s = 0, e = 0, t = 0;
	enum slice_cr rc = slice_content_range(S(c->v), &s, &e, &t);

	cr_expect_eq(rc, c->rc, "%s", c->v);
	if (rc != SLICE_CR_INVALID)
		cr_expect(s == c->start && e == c->end && t == c->total, "%s: %lld %lld %lld", c->v,
			  (long long)s, (long long)e, (long long)t);
}

Test(slice, config_levels)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *c = cfgtest_load(&t,
				     "events {}\nhttp {\n slice 1m;\n"
				     " server { listen 127.0.0.1:1;\n"
				     "  location /in/ { }\n"
				     "  location /own/ { slice 512k; }\n"
				     "  location /off/ { slice 0; }\n"
				     " }\n}\n",
				     err, sizeof(err));
	const struct cfg_loc *l;

	cr_assert_not_null(c, "%s", err);
	l = cfgtest_prefix_loc(c, "/in/");
	cr_assert(l && l->slice == 1024 * 1024);
	l = cfgtest_prefix_loc(c, "/own/");
	cr_assert(l && l->slice == 512 * 1024);
	l = cfgtest_prefix_loc(c, "/off/");
	cr_assert(l && l->slice == 0);
	cfg_unref(c);
	c = cfgtest_load(&t,
			 "events {}\nhttp {\n server { listen 127.0.0.1:1;\n"
			 "  location /d/ { }\n }\n}\n",
			 err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	l = cfgtest_prefix_loc(c, "/d/");
	cr_assert(l && l->slice == 0); /* nginx's default: off */
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(slice, config_errors)
{
	cfgtest_location_error("slice;", "invalid number of arguments in \"slice\" directive");
	cfgtest_location_error("slice 1 2;", "invalid number of arguments in \"slice\" directive");
	cfgtest_location_error("slice 1x;", "\"slice\" directive invalid value");
	cfgtest_location_error("slice -1;", "\"slice\" directive invalid value");
	cfgtest_location_error("slice 1k; slice 2k;", "\"slice\" directive is duplicate");
	cfgtest_location_error("if ($arg_x) { slice 1k; }",
			       "\"slice\" directive is not allowed here");
}
