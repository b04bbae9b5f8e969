/* SPDX-License-Identifier: MIT */
/*
 * Tests of the HTTP/1.x codec (userspace/h1.c). Every head is parsed whole
 * and as each of its prefixes, and always copied so that its last byte sits
 * right before a PROT_NONE page: a prefix must give H1_INCOMPLETE or the
 * result of the whole input, and any read past the input crashes. Chunked
 * bodies are decoded whole and one byte per call, each piece again against
 * the guard page, and both runs must yield the same bytes and end.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "h1.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* IN - an input literal with its exact length (it may hold NUL bytes). */
#define IN(lit) .in = (lit), .len = sizeof(lit) - 1

/* Guarded area: inputs are copied to end at guard_end, a PROT_NONE page. */
#define GUARD_ROOM (128 * 1024)
static char *guard_end;

static void guard_setup(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *base;

	if (guard_end)
		return;
	base = mmap(NULL, GUARD_ROOM + (size_t)page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(base, MAP_FAILED);
	cr_assert_eq(mprotect(base + GUARD_ROOM, (size_t)page, PROT_NONE), 0);
	guard_end = base + GUARD_ROOM;
}

/* guarded - a copy of in[0..len) whose end touches the guard page. */
static const char *guarded(const char *in, size_t len)
{
	guard_setup();
	cr_assert_leq(len, (size_t)GUARD_ROOM);
	memmove(guard_end - len, in, len);
	return guard_end - len;
}

/* A head parser under test: request or response, with its options. */
struct head_ctx {
	bool response;		     /* parse a response instead of a request */
	const struct h1_limits *lim; /* request limits (NULL: defaults) */
	size_t cap;		     /* header array capacity */
	struct h1_header hdrs[128];  /* the array */
	struct h1_request req;	     /* request result */
	struct h1_response resp;     /* response result */
};

static struct head_ctx *ctx_new(void)
{
	struct head_ctx *c = calloc(1, sizeof(*c));

	cr_assert_not_null(c);
	return c;
}

static int head_parse(struct head_ctx *c, const char *buf, size_t len)
{
	if (c->response) {
		c->resp.headers = c->hdrs;
		return h1_parse_response(buf, len, &c->resp, c->cap);
	}
	c->req.headers = c->hdrs;
	return h1_parse_request(buf, len, c->lim, &c->req, c->cap);
}

/*
 * head_check - parse in[0..len) whole and as prefixes, all guarded, and
 * check that prefixes agree with the whole; return the whole's result, with
 * c's views pointing into the guarded copy. Big inputs sample prefixes.
 */
static int head_check(struct head_ctx *c, const char *in, size_t len, const char *name)
{
	int whole, rc, seen_err = 0;
	size_t k;

	whole = head_parse(c, guarded(in, len), len);
	for (k = 0; k < len; k++) {
		if (len > 4096 && k > 512 && k + 512 < len && k % 61)
			continue;
		rc = head_parse(c, guarded(in, k), k);
		if (whole > 0) {
			cr_assert_eq(rc, (size_t)whole <= k ? whole : H1_INCOMPLETE,
				     "%s: prefix %zu gave %d, whole %d", name, k, rc, whole);
		} else {
			cr_assert(rc == H1_INCOMPLETE || rc == whole,
				  "%s: prefix %zu gave %d, whole %d", name, k, rc, whole);
			cr_assert(!seen_err || rc == whole, "%s: error at %zu went away", name, k);
			seen_err |= rc == whole;
		}
	}
	/* the views must point into the last copy: parse it again */
	rc = head_parse(c, guarded(in, len), len);
	cr_assert_eq(rc, whole, "%s: not repeatable", name);
	return rc;
}

static void expect_view(struct h1_str v, const char *want, const char *what, const char *name)
{
	size_t n = strlen(want);

	cr_assert(v.len == n && (n == 0 || memcmp(v.p, want, n) == 0),
		  "%s: %s is \"%.*s\", want \"%s\"", name, what, (int)v.len, v.p ? v.p : "", want);
	if (n)
		cr_assert(v.p >= guard_end - GUARD_ROOM && v.p + v.len <= guard_end,
			  "%s: %s does not point into the input", name, what);
}

/*
 * case_indexes - Criterion parameters 0..n-1. Tests run in a re-executed
 * process where the case tables' string pointers would not hold, so the
 * parameter is an index into the table and the test reads its own copy.
 */
static struct criterion_test_params case_indexes(size_t n)
{
	static size_t idx[256];
	size_t i;

	cr_assert_leq(n, ARRAY_LEN(idx));
	for (i = 0; i < n; i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, n);
}

/* Header expectations. */
enum { F_I = 1, F_U = 2, F_S = 4 };

struct exp_hdr {
	const char *name;  /* expected name */
	const char *value; /* expected value */
	unsigned flags;	   /* F_I invalid, F_U underscore, F_S symbol */
};

static void expect_headers(const struct h1_header *h, size_t n, const struct exp_hdr *want,
			   size_t nwant, const char *name)
{
	size_t i;

	cr_assert_eq(n, nwant, "%s: %zu headers, want %zu", name, n, nwant);
	for (i = 0; i < n; i++) {
		unsigned f = (h[i].invalid ? F_I : 0) | (h[i].underscore ? F_U : 0) |
			     (h[i].symbol ? F_S : 0);

		expect_view(h[i].name, want[i].name, "header name", name);
		expect_view(h[i].value, want[i].value, "header value", name);
		cr_assert_eq(f, want[i].flags, "%s: header %zu flags %u, want %u", name, i, f,
			     want[i].flags);
	}
}

/* ---------------------------------------------------------------------- */
/* Requests */

struct req_case {
	const char *name;     /* for failure messages */
	const char *in;	      /* input */
	size_t len;	      /* its length */
	int rc;		      /* expected result: 0 means "len" (whole input is the head) */
	struct h1_limits lim; /* limits; all zero means the defaults */
	size_t cap;	      /* header capacity; 0 means 16 */
	const char *method;   /* expected on success */
	const char *target;   /* expected on success */
	int version;	      /* expected on success and on H1_ERR_VERSION */
	size_t nh;	      /* expected header count on success */
	struct exp_hdr h[6];  /* expected headers */
};

#define GET_HOST "GET / HTTP/1.1\r\nHost: a\r\n\r\n"

static struct req_case req_cases[] = {
	/* valid */
	{"simple", IN(GET_HOST), 0, .method = "GET", .target = "/", .version = 11, .nh = 1,
	 .h = {{"Host", "a", 0}}},
	{"no headers", IN("GET / HTTP/1.1\r\n\r\n"), 0, .method = "GET", .target = "/",
	 .version = 11},
	{"bare LF", IN("GET /x HTTP/1.1\nHost: a\nAccept: */*\n\n"), 0, .method = "GET",
	 .target = "/x", .version = 11, .nh = 2, .h = {{"Host", "a", 0}, {"Accept", "*/*", 0}}},
	{"mixed line ends", IN("GET / HTTP/1.1\r\nA: 1\nB: 2\r\n\n"), 0, .method = "GET",
	 .target = "/", .version = 11, .nh = 2, .h = {{"A", "1", 0}, {"B", "2", 0}}},
	{"leading empty lines", IN("\r\n\n\r\nGET / HTTP/1.1\r\n\r\n"), 0, .method = "GET",
	 .target = "/", .version = 11},
	/* nginx skips any CR or LF before the request line, a lone CR too */
	{"lone CR before request line", IN("\rGET / HTTP/1.1\r\n\r\n"), 0, .method = "GET",
	 .target = "/", .version = 11},
	{"CRs and LFs before request line", IN("\r\r\n\rGET / HTTP/1.1\r\n\r\n"), 0,
	 .method = "GET", .target = "/", .version = 11},
	{"HTTP/1.0", IN("GET / HTTP/1.0\r\n\r\n"), 0, .method = "GET", .target = "/",
	 .version = 10},
	{"HTTP/1.9 is 1.1", IN("GET / HTTP/1.9\r\n\r\n"), 0, .method = "GET", .target = "/",
	 .version = 11},
	/* nginx takes more than one SP between the parts and after the version,
	 * and one- or two-digit minors (1.01 is 1.1, 1.00 is 1.0) */
	{"two spaces after method", IN("GET  / HTTP/1.1\r\n\r\n"), 0, .method = "GET",
	 .target = "/", .version = 11},
	{"two spaces before version", IN("GET /a  HTTP/1.1\r\n\r\n"), 0, .method = "GET",
	 .target = "/a", .version = 11},
	{"spaces after version", IN("GET / HTTP/1.0  \r\n\r\n"), 0, .method = "GET", .target = "/",
	 .version = 10},
	{"two-digit minor", IN("GET / HTTP/1.10\r\n\r\n"), 0, .method = "GET", .target = "/",
	 .version = 11},
	{"HTTP/1.01", IN("GET / HTTP/1.01\r\n\r\n"), 0, .method = "GET", .target = "/",
	 .version = 11},
	{"HTTP/1.00", IN("GET / HTTP/1.00\r\n\r\n"), 0, .method = "GET", .target = "/",
	 .version = 10},
	{"method with - and _", IN("M-SEARCH_X * HTTP/1.1\r\n\r\n"), 0, .method = "M-SEARCH_X",
	 .target = "*", .version = 11},
	{"method of 32", IN("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF / HTTP/1.1\r\n\r\n"), 0,
	 .method = "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF", .target = "/", .version = 11},
	{"absolute target, obs-text, #", IN("CONNECT http://h/\xc3\xa9?a=b#f HTTP/1.1\r\n\r\n"), 0,
	 .method = "CONNECT", .target = "http://h/\xc3\xa9?a=b#f", .version = 11},
	{"long target (vector path)",
	 IN("GET /0123456789abcdef0123456789abcdef0123456789abcdef?q=0123456789 HTTP/1.1\r\n\r\n"),
	 0, .method = "GET",
	 .target = "/0123456789abcdef0123456789abcdef0123456789abcdef?q=0123456789", .version = 11},
	{"value OWS trimmed", IN("GET / HTTP/1.1\r\nA: \t x y \t \r\nB:\r\nC:   \r\nD:\tv\n\r\n"),
	 0, .method = "GET", .target = "/", .version = 11, .nh = 4,
	 .h = {{"A", "x y", 0}, {"B", "", 0}, {"C", "", 0}, {"D", "v", 0}}},
	{"value with HTAB, obs-text, long",
	 IN("GET / HTTP/1.1\r\nUser-Agent: Mozilla/5.0 (X11;\tLinux) \xe2\x82\xac Gecko/20100101 "
	    "Firefox/115.0\r\n\r\n"),
	 0, .method = "GET", .target = "/", .version = 11, .nh = 1,
	 .h = {{"User-Agent", "Mozilla/5.0 (X11;\tLinux) \xe2\x82\xac Gecko/20100101 Firefox/115.0",
		0}}},
	{"odd names flagged",
	 IN("GET / HTTP/1.1\r\nX@Y: 1\r\nX_Y: 2\r\nX.Y: 3\r\n\xc3\xa9: 4\r\n!#$%&'*+^`|~-: 5\r\n"
	    "a/b_c.d: 6\r\n\r\n"),
	 0, .method = "GET", .target = "/", .version = 11, .nh = 6,
	 .h = {{"X@Y", "1", F_I},
	       {"X_Y", "2", F_U},
	       {"X.Y", "3", F_S},
	       {"\xc3\xa9", "4", F_I},
	       {"!#$%&'*+^`|~-", "5", F_S},
	       {"a/b_c.d", "6", F_I | F_U | F_S}}},
	{"value with colon", IN("GET / HTTP/1.1\r\nHost: a:80\r\n\r\n"), 0, .method = "GET",
	 .target = "/", .version = 11, .nh = 1, .h = {{"Host", "a:80", 0}}},
	{"pipelined: head ends before input", IN(GET_HOST "GET /2 HTTP/1.1\r\n"),
	 sizeof(GET_HOST) - 1, .method = "GET", .target = "/", .version = 11, .nh = 1,
	 .h = {{"Host", "a", 0}}},
	{"body bytes after head", IN("POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"), 39,
	 .method = "POST", .target = "/p", .version = 11, .nh = 1,
	 .h = {{"Content-Length", "3", 0}}},
	{"request line exactly at limit", IN("GET /abcdefgh HTTP/1.1\r\n\r\n"), 0,
	 .lim = {.max_request_line = 24}, .method = "GET", .target = "/abcdefgh", .version = 11},
	{"header line exactly at limit", IN("GET / HTTP/1.1\r\nX: 1234567\r\n\r\n"), 0,
	 .lim = {.max_header_line = 12}, .method = "GET", .target = "/", .version = 11, .nh = 1,
	 .h = {{"X", "1234567", 0}}},
	{"head exactly at total limit", IN("GET / HTTP/1.1\r\nX: 1\r\n\r\n"), 0,
	 .lim = {.max_total = 24}, .method = "GET", .target = "/", .version = 11, .nh = 1,
	 .h = {{"X", "1", 0}}},
	{"headers exactly at capacity", IN("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n"), 0, .cap = 2,
	 .method = "GET", .target = "/", .version = 11, .nh = 2,
	 .h = {{"A", "1", 0}, {"B", "2", 0}}},

	/* a field line with no colon is a name with an empty value (nginx) */
	{"no colon", IN("GET / HTTP/1.1\r\nHost: a\r\nNoColonHere\r\n\r\n"), 0, .method = "GET",
	 .target = "/", .version = 11, .nh = 2, .h = {{"Host", "a", 0}, {"NoColonHere", "", 0}}},
	{"no colon, bare LF", IN("GET / HTTP/1.1\nNoColon\nHost: a\n\n"), 0, .method = "GET",
	 .target = "/", .version = 11, .nh = 2, .h = {{"NoColon", "", 0}, {"Host", "a", 0}}},
	{"no colon, one byte", IN("GET / HTTP/1.1\r\nX\r\n\r\n"), 0, .method = "GET", .target = "/",
	 .version = 11, .nh = 1, .h = {{"X", "", 0}}},
	{"no colon, odd names flagged",
	 IN("GET / HTTP/1.1\r\nNo@Colon\r\nNo_Colon\r\nNo.Colon\r\nNo\xc3\xa9\r\n\r\n"), 0,
	 .method = "GET", .target = "/", .version = 11, .nh = 4,
	 .h = {{"No@Colon", "", F_I},
	       {"No_Colon", "", F_U},
	       {"No.Colon", "", F_S},
	       {"No\xc3\xa9", "", F_I}}},
	{"no colon, exactly at line limit", IN("GET / HTTP/1.1\r\nABCDEFGHIJ\r\n\r\n"), 0,
	 .lim = {.max_header_line = 12}, .method = "GET", .target = "/", .version = 11, .nh = 1,
	 .h = {{"ABCDEFGHIJ", "", 0}}},

	/* method */
	{"lowercase method", IN("get / HTTP/1.1\r\n\r\n"), H1_ERR_METHOD},
	{"method of 33", IN("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG / HTTP/1.1\r\n\r\n"), H1_ERR_METHOD},
	{"method with @", IN("G@T / HTTP/1.1\r\n\r\n"), H1_ERR_METHOD},
	{"method with digit", IN("GET2 / HTTP/1.1\r\n\r\n"), H1_ERR_METHOD},
	{"TLS on plain port", IN("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), H1_ERR_METHOD},
	{"space before method", IN(" GET / HTTP/1.1\r\n\r\n"), H1_ERR_METHOD},
	{"tab after method", IN("GET\t/ HTTP/1.1\r\n\r\n"), H1_ERR_METHOD},
	{"NUL in method", IN("GE\0T / HTTP/1.1\r\n\r\n"), H1_ERR_METHOD},

	/* request line */
	{"method only", IN("GET\r\n\r\n"), H1_ERR_BAD},
	{"lowercase version", IN("GET / http/1.1\r\n\r\n"), H1_ERR_BAD},
	{"four-digit minor", IN("GET / HTTP/1.1000\r\n\r\n"), H1_ERR_BAD},
	{"major with a leading 0", IN("GET / HTTP/01.1\r\n\r\n"), H1_ERR_BAD},
	{"tab before version", IN("GET /\tHTTP/1.1\r\n\r\n"), H1_ERR_BAD},
	{"space inside target", IN("GET /a b HTTP/1.1\r\n\r\n"), H1_ERR_BAD},
	{"no minor", IN("GET / HTTP/1.\r\n\r\n"), H1_ERR_BAD},
	{"no dot", IN("GET / HTTP/1\r\n\r\n"), H1_ERR_BAD},
	{"junk version", IN("GET / FOO/1.1\r\n\r\n"), H1_ERR_BAD},
	{"CTL in target", IN("GET /a\x01 HTTP/1.1\r\n\r\n"), H1_ERR_BAD},
	{"DEL in target", IN("GET /a\x7f HTTP/1.1\r\n\r\n"), H1_ERR_BAD},
	{"NUL in target", IN("GET /a\0b HTTP/1.1\r\n\r\n"), H1_ERR_BAD},
	{"HTAB in target", IN("GET /a\tb HTTP/1.1\r\n\r\n"), H1_ERR_BAD},
	{"bare CR in target", IN("GET /a\rb HTTP/1.1\r\n\r\n"), H1_ERR_BAD},
	{"bare CR in long target", IN("GET /0123456789abcdef0123456789\rb HTTP/1.1\r\n\r\n"),
	 H1_ERR_BAD},
	{"bare CR after version", IN("GET / HTTP/1.1\rHost: a\r\n\r\n"), H1_ERR_BAD},
	{"bare CR ending the head", IN("GET / HTTP/1.1\r\nHost: a\r\n\rX"), H1_ERR_BAD},

	/* version */
	{"HTTP/2.0", IN("GET / HTTP/2.0\r\n\r\n"), H1_ERR_VERSION, .version = 20},
	{"h2 preface", IN("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), H1_ERR_VERSION, .version = 20},
	{"HTTP/3.0", IN("GET / HTTP/3.0\r\n\r\n"), H1_ERR_VERSION, .version = 30},
	{"two-digit major", IN("GET / HTTP/11.1\r\n\r\n"), H1_ERR_VERSION, .version = 90},
	{"HTTP/0.9 spelled (nginx: 400)", IN("GET / HTTP/0.9\r\n\r\n"), H1_ERR_BAD},
	{"HTTP/0.9 request", IN("GET /index.html\r\n"), H1_ERR_VERSION, .version = 9},
	{"HTTP/0.9 request, LF", IN("GET /\n"), H1_ERR_VERSION, .version = 9},

	/* header fields */
	{"NUL in name", IN("GET / HTTP/1.1\r\nA\0B: 1\r\n\r\n"), H1_ERR_BAD},
	{"NUL in value", IN("GET / HTTP/1.1\r\nA: 1\0 2\r\n\r\n"), H1_ERR_BAD},
	{"NUL in long value", IN("GET / HTTP/1.1\r\nA: 0123456789abcdef0123\0 2\r\n\r\n"),
	 H1_ERR_BAD},
	{"bare CR in value", IN("GET / HTTP/1.1\r\nA: 1\r2\r\n\r\n"), H1_ERR_BAD},
	{"bare CR before colon", IN("GET / HTTP/1.1\r\nA\r: 1\r\n\r\n"), H1_ERR_BAD},
	{"CTL in value", IN("GET / HTTP/1.1\r\nA: 1\x0b\r\n\r\n"), H1_ERR_BAD},
	{"DEL in value", IN("GET / HTTP/1.1\r\nA: 1\x7f\r\n\r\n"), H1_ERR_BAD},
	{"ESC in long value", IN("GET / HTTP/1.1\r\nA: 0123456789abcdef0123456789\x1b\r\n\r\n"),
	 H1_ERR_BAD},
	{"space before colon", IN("GET / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n"),
	 H1_ERR_BAD},
	{"tab before colon", IN("GET / HTTP/1.1\r\nContent-Length\t: 5\r\n\r\n"), H1_ERR_BAD},
	{"space inside name", IN("GET / HTTP/1.1\r\nX Y: 5\r\n\r\n"), H1_ERR_BAD},
	{"DEL in name", IN("GET / HTTP/1.1\r\nX\x7fY: 5\r\n\r\n"), H1_ERR_BAD},
	{"empty name", IN("GET / HTTP/1.1\r\n: v\r\n\r\n"), H1_ERR_BAD},
	{"no colon, space inside", IN("GET / HTTP/1.1\r\nNo Colon\r\n\r\n"), H1_ERR_BAD},
	{"no colon, trailing space", IN("GET / HTTP/1.1\r\nNoColon \r\n\r\n"), H1_ERR_BAD},
	{"no colon, trailing tab", IN("GET / HTTP/1.1\r\nNoColon\t\r\n\r\n"), H1_ERR_BAD},
	{"no colon, NUL", IN("GET / HTTP/1.1\r\nNo\0Colon\r\n\r\n"), H1_ERR_BAD},
	{"no colon, DEL", IN("GET / HTTP/1.1\r\nNoColon\x7f\r\n\r\n"), H1_ERR_BAD},
	{"no colon, bare CR", IN("GET / HTTP/1.1\r\nNoColon\rX: 1\r\n\r\n"), H1_ERR_BAD},
	{"no colon, request line inside", IN("GET / HTTP/1.1\r\nGET /smuggled HTTP/1.1\r\n\r\n"),
	 H1_ERR_BAD},
	{"no colon, obs-fold after it", IN("GET / HTTP/1.1\r\nNoColon\r\n x\r\n\r\n"), H1_ERR_BAD},
	{"obs-fold", IN("GET / HTTP/1.1\r\nA: 1\r\n 2\r\n\r\n"), H1_ERR_BAD},
	{"obs-fold with HTAB", IN("GET / HTTP/1.1\r\nA: 1\r\n\t2\r\n\r\n"), H1_ERR_BAD},
	{"space before first field", IN("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), H1_ERR_BAD},

	/* limits */
	{"request line over limit", IN("GET /abcdefghi HTTP/1.1\r\n\r\n"), H1_ERR_URI_TOO_LONG,
	 .lim = {.max_request_line = 24}},
	{"bare-LF request line over limit", IN("GET /abcdefghij HTTP/1.1\n\n"), H1_ERR_URI_TOO_LONG,
	 .lim = {.max_request_line = 24}},
	{"empty lines count toward request line", IN("\r\nGET /abcdefgh HTTP/1.1\r\n\r\n"),
	 H1_ERR_URI_TOO_LONG, .lim = {.max_request_line = 24}},
	{"header line over limit", IN("GET / HTTP/1.1\r\nX: 12345678\r\n\r\n"),
	 H1_ERR_HEADER_TOO_LARGE, .lim = {.max_header_line = 12}},
	{"no-colon line over limit", IN("GET / HTTP/1.1\r\nABCDEFGHIJK\r\n\r\n"),
	 H1_ERR_HEADER_TOO_LARGE, .lim = {.max_header_line = 12}},
	{"head over total limit", IN("GET / HTTP/1.1\r\nX: 1\r\n\r\n"), H1_ERR_HEADER_TOO_LARGE,
	 .lim = {.max_total = 23}},
	{"over capacity", IN("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
	 H1_ERR_TOO_MANY_HEADERS, .cap = 2},
	{"over max_headers", IN("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n"), H1_ERR_TOO_MANY_HEADERS,
	 .lim = {.max_headers = 1}},
};

ParameterizedTestParameters(h1, request)
{
	return case_indexes(ARRAY_LEN(req_cases));
}

ParameterizedTest(size_t *idx, h1, request)
{
	const struct req_case *tc = &req_cases[*idx];
	static const struct h1_limits zero;
	struct head_ctx *c = ctx_new();
	int want = tc->rc ? tc->rc : (int)tc->len;
	int rc;

	c->lim = memcmp(&tc->lim, &zero, sizeof(zero)) ? &tc->lim : NULL;
	c->cap = tc->cap ? tc->cap : 16;
	rc = head_check(c, tc->in, tc->len, tc->name);
	cr_assert_eq(rc, want, "%s: got %d (%s), want %d", tc->name, rc, h1_strerror(rc), want);
	if (rc == H1_ERR_VERSION)
		cr_assert_eq(c->req.version, tc->version, "%s: version %d", tc->name,
			     c->req.version);
	if (rc > 0) {
		expect_view(c->req.method, tc->method, "method", tc->name);
		expect_view(c->req.target, tc->target, "target", tc->name);
		cr_assert_eq(c->req.version, tc->version, "%s: version %d", tc->name,
			     c->req.version);
		expect_headers(c->req.headers, c->req.nheaders, tc->h, tc->nh, tc->name);
	}
	free(c);
}

/* big_request - "GET /aaa... HTTP/1.1\r\n" of total request line size rl. */
static char *big_request(size_t rl, const char *rest)
{
	size_t n = rl + strlen(rest);
	char *b = malloc(n + 1);

	cr_assert_not_null(b);
	memcpy(b, "GET /", 5);
	memset(b + 5, 'a', rl - 5 - 11);
	memcpy(b + rl - 11, " HTTP/1.1\r\n", 11);
	strcpy(b + rl, rest);
	return b;
}

/* The default limits are nginx's 8k lines; an over-long line fails early. */
Test(h1, default_request_line_limit)
{
	struct head_ctx *c = ctx_new();
	char *ok = big_request(8192, "\r\n"), *bad = big_request(8193, "\r\n");

	c->cap = 16;
	cr_assert_eq(head_check(c, ok, strlen(ok), "8192"), 8194);
	cr_assert_eq(c->req.target.len, 8192 - 5 - 10);
	cr_assert_eq(head_check(c, bad, strlen(bad), "8193"), H1_ERR_URI_TOO_LONG);
	/* 8192 bytes without a line end are enough to know */
	cr_assert_eq(head_parse(c, guarded(bad, 8192), 8192), H1_ERR_URI_TOO_LONG);
	cr_assert_eq(head_parse(c, guarded(bad, 8191), 8191), H1_INCOMPLETE);
	free(ok);
	free(bad);
	free(c);
}

Test(h1, default_header_line_limit)
{
	struct head_ctx *c = ctx_new();
	const char *rl = "GET / HTTP/1.1\r\n";
	size_t n = strlen(rl);
	char *b = malloc(n + 8200 + 3);
	int rc;

	cr_assert_not_null(b);
	c->cap = 16;
	memcpy(b, rl, n);
	memcpy(b + n, "Cookie: ", 8);
	memset(b + n + 8, 'c', 8192 - 8 - 2);
	memcpy(b + n + 8190, "\r\n\r\n", 5);
	rc = head_check(c, b, n + 8194, "cookie 8192");
	cr_assert_eq(rc, (int)(n + 8194));
	cr_assert_eq(c->req.headers[0].value.len, 8192 - 10);

	b[n + 8190] = 'c';
	memcpy(b + n + 8191, "\r\n\r\n", 5);
	cr_assert_eq(head_check(c, b, n + 8195, "cookie 8193"), H1_ERR_HEADER_TOO_LARGE);
	cr_assert_eq(head_parse(c, guarded(b, n + 8192), n + 8192), H1_ERR_HEADER_TOO_LARGE);
	free(b);
	free(c);
}

Test(h1, default_total_and_count_limits)
{
	struct head_ctx *c = ctx_new();
	char *b = malloc(48000), *p = b;
	int i;

	cr_assert_not_null(b);
	c->cap = 128;
	p += sprintf(p, "GET / HTTP/1.1\r\n");
	for (i = 0; i < 100; i++)
		p += sprintf(p, "X-%03d: v\r\n", i);
	p += sprintf(p, "\r\n");
	cr_assert_eq(head_check(c, b, (size_t)(p - b), "100 headers"), (int)(p - b));
	cr_assert_eq(c->req.nheaders, 100);
	p -= 2;
	p += sprintf(p, "X-100: v\r\n\r\n");
	cr_assert_eq(head_check(c, b, (size_t)(p - b), "101 headers"), H1_ERR_TOO_MANY_HEADERS);

	/* five 8000-byte lines pass 32k in total */
	p = b + sprintf(b, "GET / HTTP/1.1\r\n");
	for (i = 0; i < 5; i++) {
		p += sprintf(p, "X-%d: ", i);
		memset(p, 'v', 7990);
		p += 7990;
		p += sprintf(p, "\r\n");
	}
	p += sprintf(p, "\r\n");
	cr_assert_eq(head_check(c, b, (size_t)(p - b), "40k"), H1_ERR_HEADER_TOO_LARGE);
	cr_assert_eq(head_parse(c, guarded(b, 32768), 32768), H1_ERR_HEADER_TOO_LARGE);
	cr_assert_eq(head_parse(c, guarded(b, 32767), 32767), H1_INCOMPLETE);
	free(b);
	free(c);
}

/* Every single byte value, alone in a target, a name and a value. */
Test(h1, every_byte)
{
	struct head_ctx *c = ctx_new();
	char b[64];
	int ch, rc, n;

	c->cap = 4;
	for (ch = 0; ch < 256; ch++) {
		bool ctl = ch < 0x20 || ch == 0x7f;

		n = snprintf(b, sizeof(b), "GET /%c HTTP/1.1\r\n\r\n", 'x');
		b[5] = (char)ch;
		rc = head_check(c, b, (size_t)n, "target byte");
		/* "GET /\n" is a whole HTTP/0.9 request line; "GET /  HTTP/1.1"
		 * has target "/" and two spaces, which nginx takes */
		cr_assert_eq(rc,
			     ch == '\n' ? H1_ERR_VERSION
			     : ctl	? H1_ERR_BAD
					: n,
			     "target byte %#x: %d", ch, rc);

		n = snprintf(b, sizeof(b), "GET / HTTP/1.1\r\nA: %cz\r\n\r\n", 'x');
		b[19] = (char)ch;
		rc = head_check(c, b, (size_t)n, "value byte");
		/* LF ends "A: " and leaves "z", a field with no colon */
		cr_assert_eq(rc, ctl && ch != '\t' && ch != '\n' ? H1_ERR_BAD : n,
			     "value byte %#x: %d", ch, rc);
		if (ch == '\n')
			cr_assert_eq(c->req.nheaders, 2, "value byte LF");

		n = snprintf(b, sizeof(b), "GET / HTTP/1.1\r\nA%c: z\r\n\r\n", 'x');
		b[17] = (char)ch;
		rc = head_check(c, b, (size_t)n, "name byte");
		if (ctl || ch == ' ') {
			cr_assert_eq(rc, H1_ERR_BAD, "name byte %#x: %d", ch, rc);
		} else {
			cr_assert_eq(rc, n, "name byte %#x: %d", ch, rc);
			cr_assert_eq(c->req.headers[0].invalid,
				     ch >= 0x80 || strchr("\"(),/;<=>?@[\\]{}", ch) != NULL,
				     "name byte %#x", ch);
		}

		/* the same byte ending a line with no colon */
		n = snprintf(b, sizeof(b), "GET / HTTP/1.1\r\nA%c\r\n\r\n", 'x');
		b[17] = (char)ch;
		rc = head_check(c, b, (size_t)n, "no-colon byte");
		if (ch == '\n') {
			/* "A" then the empty line "\r\n": the head ends early */
			cr_assert_eq(rc, n - 2, "no-colon byte %#x: %d", ch, rc);
			expect_view(c->req.headers[0].name, "A", "header name", "no-colon LF");
		} else if (ctl || ch == ' ') {
			cr_assert_eq(rc, H1_ERR_BAD, "no-colon byte %#x: %d", ch, rc);
		} else {
			cr_assert_eq(rc, n, "no-colon byte %#x: %d", ch, rc);
			cr_assert_eq(c->req.nheaders, 1);
			cr_assert_eq(c->req.headers[0].name.len, ch == ':' ? 1 : 2,
				     "no-colon byte %#x", ch);
			cr_assert_eq(c->req.headers[0].value.len, 0, "no-colon byte %#x", ch);
		}
	}
	free(c);
}

/* ---------------------------------------------------------------------- */
/* Responses */

struct resp_case {
	const char *name;    /* for failure messages */
	const char *in;	     /* input */
	size_t len;	     /* its length */
	int rc;		     /* expected result: 0 means "len" */
	size_t cap;	     /* header capacity; 0 means 16 */
	int version;	     /* expected */
	int status;	     /* expected */
	const char *reason;  /* expected */
	size_t nh;	     /* expected header count */
	struct exp_hdr h[4]; /* expected headers */
};

static struct resp_case resp_cases[] = {
	{"200", IN("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\n"), 0, .version = 11,
	 .status = 200, .reason = "OK", .nh = 2,
	 .h = {{"Content-Length", "5", 0}, {"X-A", "b", 0}}},
	{"1.0", IN("HTTP/1.0 200 OK\r\n\r\n"), 0, .version = 10, .status = 200, .reason = "OK"},
	{"no reason, no SP", IN("HTTP/1.1 204\r\n\r\n"), 0, .version = 11, .status = 204,
	 .reason = ""},
	{"empty reason", IN("HTTP/1.1 304 \r\nETag: \"x\"\r\n\r\n"), 0, .version = 11,
	 .status = 304, .reason = "", .nh = 1, .h = {{"ETag", "\"x\"", 0}}},
	{"reason with spaces and obs-text", IN("HTTP/1.1 404 Not \xc3\xa9 Found\n\n"), 0,
	 .version = 11, .status = 404, .reason = "Not \xc3\xa9 Found"},
	{"status 999", IN("HTTP/1.1 999 X\r\n\r\n"), 0, .version = 11, .status = 999,
	 .reason = "X"},
	{"100 then body bytes", IN("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), 25,
	 .version = 11, .status = 100, .reason = "Continue"},
	{"odd name flagged", IN("HTTP/1.1 200 OK\r\nX_Y: 1\r\n\r\n"), 0, .version = 11,
	 .status = 200, .reason = "OK", .nh = 1, .h = {{"X_Y", "1", F_U}}},
	{"no colon", IN("HTTP/1.1 200 OK\r\nNoColon\r\nA: 1\r\n\r\n"), 0, .version = 11,
	 .status = 200, .reason = "OK", .nh = 2, .h = {{"NoColon", "", 0}, {"A", "1", 0}}},

	{"two-digit status", IN("HTTP/1.1 20 OK\r\n\r\n"), H1_ERR_BAD},
	{"four-digit status", IN("HTTP/1.1 2000 OK\r\n\r\n"), H1_ERR_BAD},
	{"status below 100", IN("HTTP/1.1 099 X\r\n\r\n"), H1_ERR_BAD},
	{"letters in status", IN("HTTP/1.1 2x0 OK\r\n\r\n"), H1_ERR_BAD},
	{"two spaces before status", IN("HTTP/1.1  200 OK\r\n\r\n"), H1_ERR_BAD},
	{"no status", IN("HTTP/1.1\r\n\r\n"), H1_ERR_BAD},
	{"lowercase", IN("http/1.1 200 OK\r\n\r\n"), H1_ERR_BAD},
	{"leading empty line", IN("\r\nHTTP/1.1 200 OK\r\n\r\n"), H1_ERR_BAD},
	{"HTTP/0.9 body", IN("<html>"), H1_ERR_BAD},
	{"CTL in reason", IN("HTTP/1.1 200 O\x01K\r\n\r\n"), H1_ERR_BAD},
	{"bare CR in reason", IN("HTTP/1.1 200 O\rK\r\n\r\n"), H1_ERR_BAD},
	{"space before colon", IN("HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n"), H1_ERR_BAD},
	{"no colon, space inside", IN("HTTP/1.1 200 OK\r\nNo Colon\r\n\r\n"), H1_ERR_BAD},
	{"obs-fold", IN("HTTP/1.1 200 OK\r\nA: 1\r\n 2\r\n\r\n"), H1_ERR_BAD},
	{"NUL in value", IN("HTTP/1.1 200 OK\r\nA: \0\r\n\r\n"), H1_ERR_BAD},
	{"HTTP/2", IN("HTTP/2 200\r\n\r\n"), H1_ERR_VERSION, .version = 20},
	{"HTTP/0.9", IN("HTTP/0.9 200 OK\r\n\r\n"), H1_ERR_VERSION, .version = 9},
	{"over capacity", IN("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n"), H1_ERR_TOO_MANY_HEADERS,
	 .cap = 1},
};

ParameterizedTestParameters(h1, response)
{
	return case_indexes(ARRAY_LEN(resp_cases));
}

ParameterizedTest(size_t *idx, h1, response)
{
	const struct resp_case *tc = &resp_cases[*idx];
	struct head_ctx *c = ctx_new();
	int want = tc->rc ? tc->rc : (int)tc->len;
	int rc;

	c->response = true;
	c->cap = tc->cap ? tc->cap : 16;
	rc = head_check(c, tc->in, tc->len, tc->name);
	cr_assert_eq(rc, want, "%s: got %d (%s), want %d", tc->name, rc, h1_strerror(rc), want);
	if (rc == H1_ERR_VERSION)
		cr_assert_eq(c->resp.version, tc->version, "%s: version %d", tc->name,
			     c->resp.version);
	if (rc > 0) {
		cr_assert_eq(c->resp.version, tc->version, "%s", tc->name);
		cr_assert_eq(c->resp.status, tc->status, "%s: status %d", tc->name, c->resp.status);
		expect_view(c->resp.reason, tc->reason, "reason", tc->name);
		expect_headers(c->resp.headers, c->resp.nheaders, tc->h, tc->nh, tc->name);
	}
	free(c);
}

/* ---------------------------------------------------------------------- */
/* Chunked bodies */

/* struct chunk_run - what decoding an input produced. */
struct chunk_run {
	int rc;		/* last result: DONE, an error, or H1_INCOMPLETE */
	size_t off;	/* input offset where it ended (DONE: end of body, error: bad byte) */
	char *data;	/* body bytes, concatenated */
	size_t datalen; /* their count */
};

static void chunk_append(struct chunk_run *r, struct h1_str d)
{
	cr_assert_gt(d.len, 0, "empty data span");
	r->data = realloc(r->data, r->datalen + d.len);
	cr_assert_not_null(r->data);
	memcpy(r->data + r->datalen, d.p, d.len);
	r->datalen += d.len;
}

/*
 * chunk_feed - decode in[0..len) in pieces of at most step bytes (each
 * piece guarded), until DONE or an error.
 */
static void chunk_feed(const char *in, size_t len, size_t step, struct chunk_run *r)
{
	struct h1_chunked st;
	size_t off = 0;

	h1_chunked_init(&st);
	memset(r, 0, sizeof(*r));
	r->rc = H1_INCOMPLETE;
	while (off < len) {
		size_t n = len - off < step ? len - off : step, used = 0;
		const char *p = guarded(in + off, n);

		for (;;) {
			struct h1_str d = {0};
			size_t c = SIZE_MAX;

			r->rc = h1_parse_chunked(&st, p + used, n - used, &c, &d);
			cr_assert_leq(c, n - used);
			used += c;
			if (r->rc != H1_CHUNK_DATA)
				break;
			cr_assert(d.p + d.len == p + used, "span does not end where consumed does");
			chunk_append(r, d);
			if (used == n)
				break;
		}
		off += used;
		if (r->rc != H1_INCOMPLETE && r->rc != H1_CHUNK_DATA)
			break;
		cr_assert_eq(used, n, "bytes left unconsumed");
	}
	r->off = off;
	if (r->rc == H1_CHUNK_DATA)
		r->rc = H1_INCOMPLETE;
	/* the end is sticky */
	if (r->rc != H1_INCOMPLETE) {
		size_t c = 1;
		struct h1_str d;

		cr_assert_eq(h1_parse_chunked(&st, "0\r\n", 3, &c, &d), r->rc);
		cr_assert_eq(c, 0);
		cr_assert_eq(h1_chunked_done(&st), r->rc == H1_CHUNK_DONE);
	}
}

#define END (-1L)

struct chunk_case {
	const char *name; /* for failure messages */
	const char *in;	  /* input */
	size_t len;	  /* its length */
	int rc;		  /* expected end */
	long off;	  /* expected offset of the end; END means len */
	const char *data; /* expected body bytes */
};

static struct chunk_case chunk_cases[] = {
	{"one chunk", IN("5\r\nhello\r\n0\r\n\r\n"), H1_CHUNK_DONE, END, "hello"},
	{"several chunks, hex cases",
	 IN("a\r\n0123456789\r\nA\r\nabcdefghij\r\n1\r\n!\r\n0\r\n\r\n"), H1_CHUNK_DONE, END,
	 "0123456789abcdefghij!"},
	{"leading zeros", IN("0005\r\nhello\r\n000\r\n\r\n"), H1_CHUNK_DONE, END, "hello"},
	{"many leading zeros", IN("00000000000000000000000001\r\nx\r\n0\r\n\r\n"), H1_CHUNK_DONE,
	 END, "x"},
	{"extensions", IN("5;foo=bar;baz\r\nhello\r\n0;last=\"a b\\\"c\"\t\r\n\r\n"), H1_CHUNK_DONE,
	 END, "hello"},
	{"trailers", IN("3\r\nabc\r\n0\r\nX-Sum: 12 34\r\nY:\r\n\r\n"), H1_CHUNK_DONE, END, "abc"},
	{"empty body", IN("0\r\n\r\n"), H1_CHUNK_DONE, END, ""},
	{"next message follows", IN("1\r\nz\r\n0\r\n\r\nGET / HTTP/1.1\r\n"), H1_CHUNK_DONE, 11,
	 "z"},
	{"CRLF in data", IN("4\r\n\r\n\r\n\r\n0\r\n\r\n"), H1_CHUNK_DONE, END, "\r\n\r\n"},
	{"LF and CR in data", IN("3\n\n\r\n\n0\n\n"), H1_CHUNK_DONE, END, "\n\r\n"},
	{"incomplete data", IN("5\r\nhel"), H1_INCOMPLETE, END, "hel"},
	{"incomplete trailers", IN("0\r\nX: 1\r\n"), H1_INCOMPLETE, END, ""},
	{"incomplete bare-LF trailers", IN("0\nX: 1\n"), H1_INCOMPLETE, END, ""},
	{"largest size", IN("3fffffffffffffff\r\nab"), H1_INCOMPLETE, END, "ab"},
	{"largest size, bare LF", IN("3fffffffffffffff\nab"), H1_INCOMPLETE, END, "ab"},

	/* bare LF ends any line of the framing, as in nginx */
	{"bare LF everywhere", IN("5\nhello\n0\n\n"), H1_CHUNK_DONE, END, "hello"},
	{"bare LF after size", IN("5\nhello\r\n0\r\n\r\n"), H1_CHUNK_DONE, END, "hello"},
	{"bare LF after extension", IN("5;a\nhello\r\n0\r\n\r\n"), H1_CHUNK_DONE, END, "hello"},
	{"bare LF after data", IN("5\r\nhello\n0\r\n\r\n"), H1_CHUNK_DONE, END, "hello"},
	{"bare LF after last chunk", IN("5\r\nhello\r\n0\n\r\n"), H1_CHUNK_DONE, END, "hello"},
	{"bare LF after last extension", IN("0;a=b\n\n"), H1_CHUNK_DONE, END, ""},
	{"bare LF ending body", IN("0\r\n\n"), H1_CHUNK_DONE, END, ""},
	{"bare LF ending body, next message follows", IN("1\nz\n0\n\nGET / HTTP/1.1\r\n"),
	 H1_CHUNK_DONE, 7, "z"},
	{"bare LF ending trailers", IN("0\nX: 1\nY: 2\r\n\n"), H1_CHUNK_DONE, END, ""},
	{"bare LF, several chunks", IN("2\nab\n3;x\ncde\r\n1\nf\n0\n\n"), H1_CHUNK_DONE, END,
	 "abcdef"},
	/* the data ate the CR; the LF left ends the data (nginx agrees) */
	{"data one byte short, LF left", IN("6\r\nhello\r\n0\r\n\r\n"), H1_CHUNK_DONE, END,
	 "hello\r"},

	/* trailer lines are skipped, not parsed, as in nginx */
	{"request in trailer", IN("5\r\nhello\r\n0\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"),
	 H1_CHUNK_DONE, END, "hello"},
	{"request in trailer, next message follows",
	 IN("0\r\nGET /smuggled HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n"), H1_CHUNK_DONE, 29, ""},
	{"space before trailer colon", IN("0\r\nX : 1\r\n\r\n"), H1_CHUNK_DONE, END, ""},
	{"trailer without colon", IN("0\r\nX\r\n\r\n"), H1_CHUNK_DONE, END, ""},
	{"empty trailer name", IN("0\r\n: 1\r\n\r\n"), H1_CHUNK_DONE, END, ""},
	{"trailer obs-fold", IN("0\r\nX: 1\r\n 2\r\n\r\n"), H1_CHUNK_DONE, END, ""},
	{"CTL in trailer", IN("0\r\nX: \x01\x7f\r\n\r\n"), H1_CHUNK_DONE, END, ""},
	{"NUL in trailer", IN("0\r\nX: a\0b\r\n\0\r\n\r\n"), H1_CHUNK_DONE, END, ""},
	{"bare LF in trailer", IN("0\r\nX: 1\n\r\n"), H1_CHUNK_DONE, END, ""},

	/* size line */
	{"0x prefix", IN("0x5\r\nhello\r\n0\r\n\r\n"), H1_ERR_CHUNK_SIZE, 1, ""},
	{"space before size", IN(" 5\r\nhello\r\n0\r\n\r\n"), H1_ERR_CHUNK_SIZE, 0, ""},
	/* whitespace after the size starts the extension, as in nginx */
	{"space after size", IN("5 \r\nhello\r\n0\r\n\r\n"), H1_CHUNK_DONE, END, "hello"},
	{"tab before extension", IN("5\t;a\r\nhello\r\n0\r\n\r\n"), H1_CHUNK_DONE, END, "hello"},
	{"space before extension, last chunk", IN("0 ;a\r\n\r\n"), H1_CHUNK_DONE, END, ""},
	{"space then CTL", IN("5 \x01\r\nhello\r\n0\r\n\r\n"), H1_ERR_CHUNK_EXT, 2, ""},
	{"negative size", IN("-5\r\nhello\r\n0\r\n\r\n"), H1_ERR_CHUNK_SIZE, 0, ""},
	{"plus sign", IN("+5\r\nhello\r\n0\r\n\r\n"), H1_ERR_CHUNK_SIZE, 0, ""},
	{"non-hex", IN("5g\r\nhello\r\n0\r\n\r\n"), H1_ERR_CHUNK_SIZE, 1, ""},
	{"NUL after size", IN("5\0\r\nhello\r\n0\r\n\r\n"), H1_ERR_CHUNK_SIZE, 1, ""},
	{"empty size", IN("\r\nhello\r\n0\r\n\r\n"), H1_ERR_CHUNK_SIZE, 0, ""},
	{"empty size, bare LF", IN("\nhello\n0\n\n"), H1_ERR_CHUNK_SIZE, 0, ""},
	{"no last chunk, EOF-style", IN("5\r\nhello\r\n\r\n"), H1_ERR_CHUNK_SIZE, 10, "hello"},
	{"empty line after bare LF after data", IN("5\r\nhello\n\r\n0\r\n\r\n"), H1_ERR_CHUNK_SIZE,
	 9, "hello"},
	{"size 2^62", IN("4000000000000000\r\n"), H1_ERR_CHUNK_OVERFLOW, 15, ""},
	{"size 2^62, bare LF", IN("4000000000000000\n"), H1_ERR_CHUNK_OVERFLOW, 15, ""},
	{"size 2^64 wraps", IN("10000000000000005\r\nhello"), H1_ERR_CHUNK_OVERFLOW, 16, ""},
	{"size of 20 hex digits", IN("ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
	 H1_ERR_CHUNK_OVERFLOW, 15, ""},
	{"CTL in extension", IN("5;a\x01\r\nhello\r\n0\r\n\r\n"), H1_ERR_CHUNK_EXT, 3, ""},
	{"NUL in extension", IN("5;\0\r\nhello\r\n0\r\n\r\n"), H1_ERR_CHUNK_EXT, 2, ""},
	{"NUL in last extension", IN("0;\0\n\n"), H1_ERR_CHUNK_EXT, 2, ""},

	/* a CR must be followed by LF */
	{"CR without LF after size", IN("5\rhello\r\n0\r\n\r\n"), H1_ERR_CHUNK_CRLF, 2, ""},
	{"CR CR LF after size", IN("5\r\r\nhello\r\n0\r\n\r\n"), H1_ERR_CHUNK_CRLF, 2, ""},
	{"bare CR in extension", IN("5;a\rb\r\nhello\r\n0\r\n\r\n"), H1_ERR_CHUNK_CRLF, 4, ""},
	{"bare CR after data", IN("5\r\nhello\r0\r\n\r\n"), H1_ERR_CHUNK_CRLF, 9, "hello"},
	{"CR CR LF after data", IN("5\r\nhello\r\r\n0\r\n\r\n"), H1_ERR_CHUNK_CRLF, 9, "hello"},
	{"CR without LF ending body", IN("0\r\n\rX"), H1_ERR_CHUNK_CRLF, 4, ""},
	{"CR without LF ending body after bare LF", IN("0\n\rX"), H1_ERR_CHUNK_CRLF, 3, ""},
	{"bare CR in trailer", IN("0\r\nX: 1\rZ\r\n\r\n"), H1_ERR_CHUNK_CRLF, 8, ""},
	{"CR CR LF in trailer", IN("0\r\nX: 1\r\r\n\r\n"), H1_ERR_CHUNK_CRLF, 8, ""},
	{"bare CR in request in trailer", IN("0\r\nGET / HTTP/1.1\r\nHost: x\r\r\n\r\n"),
	 H1_ERR_CHUNK_CRLF, 27, ""},

	/* the data must end where its size says */
	{"data longer than size", IN("5\r\nhelloX\r\n0\r\n\r\n"), H1_ERR_CHUNK_CRLF, 8, "hello"},
	{"data two bytes short", IN("7\r\nhello\r\n0\r\n\r\n"), H1_ERR_CHUNK_CRLF, 10, "hello\r\n"},
	{"data longer than size, bare LF", IN("5\nhelloXX\n0\n\n"), H1_ERR_CHUNK_CRLF, 7, "hello"},
};

ParameterizedTestParameters(h1, chunked)
{
	return case_indexes(ARRAY_LEN(chunk_cases));
}

static void chunk_expect(const struct chunk_run *r, int rc, size_t off, const char *data,
			 size_t datalen, const char *name, const char *how)
{
	cr_assert_eq(r->rc, rc, "%s (%s): rc %d (%s), want %d", name, how, r->rc,
		     h1_strerror(r->rc), rc);
	cr_assert_eq(r->off, off, "%s (%s): ended at %zu, want %zu", name, how, r->off, off);
	cr_assert(r->datalen == datalen && (!datalen || memcmp(r->data, data, datalen) == 0),
		  "%s (%s): data \"%.*s\"", name, how, (int)r->datalen, r->data ? r->data : "");
}

ParameterizedTest(size_t *idx, h1, chunked)
{
	const struct chunk_case *tc = &chunk_cases[*idx];
	size_t off = tc->off == END ? tc->len : (size_t)tc->off;
	size_t steps[] = {tc->len, 1, 2, 3, 7};
	struct chunk_run r;
	size_t i;

	for (i = 0; i < ARRAY_LEN(steps); i++) {
		char how[32];

		snprintf(how, sizeof(how), "pieces of %zu", steps[i]);
		chunk_feed(tc->in, tc->len, steps[i], &r);
		chunk_expect(&r, tc->rc, off, tc->data, strlen(tc->data), tc->name, how);
		free(r.data);
	}
}

/* Limits that need long inputs. */
Test(h1, chunked_limits)
{
	size_t n = 3 * H1_CHUNK_TRAILER_MAX;
	char *b = malloc(n);
	struct chunk_run r;

	cr_assert_not_null(b);
	/* a size line of exactly 4096 bytes is fine, 4097 is not */
	memset(b, '0', n);
	memcpy(b + H1_CHUNK_EXT_MAX - 1, "1\r\nx\r\n0\r\n\r\n", 11);
	chunk_feed(b, H1_CHUNK_EXT_MAX + 10, H1_CHUNK_EXT_MAX + 10, &r);
	chunk_expect(&r, H1_CHUNK_DONE, H1_CHUNK_EXT_MAX + 10, "x", 1, "4096 zeros", "whole");
	free(r.data);
	memset(b, '0', n);
	memcpy(b + H1_CHUNK_EXT_MAX, "1\r\nx\r\n0\r\n\r\n", 11);
	chunk_feed(b, H1_CHUNK_EXT_MAX + 11, 1, &r);
	chunk_expect(&r, H1_ERR_CHUNK_SIZE, H1_CHUNK_EXT_MAX, "", 0, "4097 zeros", "bytes");

	memset(b, 'x', n);
	memcpy(b, "1;", 2);
	memcpy(b + H1_CHUNK_EXT_MAX, "\r\nx\r\n0\r\n\r\n", 10);
	chunk_feed(b, H1_CHUNK_EXT_MAX + 10, 5, &r);
	chunk_expect(&r, H1_CHUNK_DONE, H1_CHUNK_EXT_MAX + 10, "x", 1, "ext 4096", "5");
	free(r.data);
	memset(b, 'x', n);
	memcpy(b, "1;", 2);
	memcpy(b + H1_CHUNK_EXT_MAX + 1, "\r\nx\r\n0\r\n\r\n", 10);
	chunk_feed(b, H1_CHUNK_EXT_MAX + 11, 5, &r);
	chunk_expect(&r, H1_ERR_CHUNK_EXT, H1_CHUNK_EXT_MAX, "", 0, "ext 4097", "5");

	/* trailer section of exactly 8192 bytes (final CRLF included) */
	memset(b, 'v', n);
	memcpy(b, "0\r\nX: ", 6);
	memcpy(b + 3 + H1_CHUNK_TRAILER_MAX - 4, "\r\n\r\n", 4);
	chunk_feed(b, 3 + H1_CHUNK_TRAILER_MAX, 1000, &r);
	chunk_expect(&r, H1_CHUNK_DONE, 3 + H1_CHUNK_TRAILER_MAX, "", 0, "trailer 8192", "1000");
	memset(b, 'v', n);
	memcpy(b, "0\r\nX: ", 6);
	memcpy(b + 3 + H1_CHUNK_TRAILER_MAX - 3, "\r\n\r\n", 4);
	chunk_feed(b, 4 + H1_CHUNK_TRAILER_MAX, 1000, &r);
	chunk_expect(&r, H1_ERR_CHUNK_TRAILER, 3 + H1_CHUNK_TRAILER_MAX, "", 0, "trailer 8193",
		     "1000");

	/* the same with bare LF line ends: the bound counts every byte */
	memset(b, 'v', n);
	memcpy(b, "0\nX: ", 5);
	memcpy(b + 2 + H1_CHUNK_TRAILER_MAX - 2, "\n\n", 2);
	chunk_feed(b, 2 + H1_CHUNK_TRAILER_MAX, 1, &r);
	chunk_expect(&r, H1_CHUNK_DONE, 2 + H1_CHUNK_TRAILER_MAX, "", 0, "LF trailer 8192", "1");
	memset(b, 'v', n);
	memcpy(b, "0\nX: ", 5);
	memcpy(b + 2 + H1_CHUNK_TRAILER_MAX - 1, "\n\n", 2);
	chunk_feed(b, 3 + H1_CHUNK_TRAILER_MAX, 1000, &r);
	chunk_expect(&r, H1_ERR_CHUNK_TRAILER, 2 + H1_CHUNK_TRAILER_MAX, "", 0, "LF trailer 8193",
		     "1000");

	/* skipped lines are bounded too: 4096 lines of "a\n" fill the section */
	memcpy(b, "0\n", 2);
	for (size_t k = 0; k < H1_CHUNK_TRAILER_MAX / 2; k++)
		memcpy(b + 2 + 2 * k, "a\n", 2);
	b[2 + H1_CHUNK_TRAILER_MAX] = '\n';
	chunk_feed(b, 3 + H1_CHUNK_TRAILER_MAX, 7, &r);
	chunk_expect(&r, H1_ERR_CHUNK_TRAILER, 2 + H1_CHUNK_TRAILER_MAX, "", 0, "4096 lines", "7");
	/* one line fewer and the empty line fits */
	b[H1_CHUNK_TRAILER_MAX] = '\n';
	chunk_feed(b, 1 + H1_CHUNK_TRAILER_MAX, 7, &r);
	chunk_expect(&r, H1_CHUNK_DONE, 1 + H1_CHUNK_TRAILER_MAX, "", 0, "4095 lines", "7");

	/* a smuggled request repeated past the bound is still refused */
	memcpy(b, "0\r\n", 3);
	for (size_t k = 3; k + 16 <= n; k += 16)
		memcpy(b + k, "GET / HTTP/1.1\r\n", 16);
	chunk_feed(b, n, 4096, &r);
	chunk_expect(&r, H1_ERR_CHUNK_TRAILER, 3 + H1_CHUNK_TRAILER_MAX, "", 0, "many requests",
		     "4096");
	free(b);
}

/* A chunk split over calls yields its bytes as they come, never more. */
Test(h1, chunked_spans)
{
	struct h1_chunked st;
	struct h1_str d;
	size_t c;

	h1_chunked_init(&st);
	cr_assert_eq(h1_parse_chunked(&st, "8\r\nabc", 6, &c, &d), H1_CHUNK_DATA);
	cr_assert_eq(c, 6);
	cr_assert_eq(d.len, 3);
	cr_assert_eq(h1_parse_chunked(&st, "", 0, &c, &d), H1_INCOMPLETE);
	cr_assert_eq(c, 0);
	cr_assert_eq(h1_parse_chunked(&st, "defgh\r\n2\r\nij", 12, &c, &d), H1_CHUNK_DATA);
	cr_assert_eq(c, 5);
	cr_assert_eq(memcmp(d.p, "defgh", 5), 0);
	cr_assert_eq(h1_parse_chunked(&st, "\r\n2\r\nij", 7, &c, &d), H1_CHUNK_DATA);
	cr_assert_eq(c, 7);
	cr_assert_eq(memcmp(d.p, "ij", 2), 0);
	cr_assert_not(h1_chunked_done(&st));
}

/*
 * pending_feed - decode in[0..len) in pieces of step bytes, each guarded,
 * and write h1_chunked_pending() after every call into got[], one entry per
 * input byte (the value once that byte has been given). Returns the end.
 */
static int pending_feed(const char *in, size_t len, size_t step, uint64_t *got)
{
	struct h1_chunked st;
	size_t off = 0;
	int rc = H1_INCOMPLETE;

	h1_chunked_init(&st);
	cr_assert_eq(h1_chunked_pending(&st), 0);
	while (off < len) {
		size_t n = len - off < step ? len - off : step, used = 0, k;
		const char *p = guarded(in + off, n);

		while (used < n) {
			struct h1_str d;
			size_t c = 0;

			rc = h1_parse_chunked(&st, p + used, n - used, &c, &d);
			used += c;
			if (rc != H1_CHUNK_DATA)
				break;
		}
		for (k = off; k < off + n; k++)
			got[k] = h1_chunked_pending(&st);
		off += n;
		if (rc != H1_INCOMPLETE && rc != H1_CHUNK_DATA)
			break;
	}
	for (; off < len; off++)
		got[off] = h1_chunked_pending(&st);
	return rc == H1_CHUNK_DATA ? H1_INCOMPLETE : rc;
}

/* struct pending_case - h1_chunked_pending() after each byte of an input. */
struct pending_case {
	const char *name;  /* for failure messages */
	const char *in;	   /* input */
	size_t len;	   /* its length */
	int rc;		   /* expected end */
	uint64_t want[48]; /* pending once in[0..k] was given, fed byte by byte */
};

static struct pending_case pending_cases[] = {
	/* a half-read size ("1" of "10") is never reported */
	{"two chunks",
	 IN("3;x\nabc\r\n10\r\n0123456789abcdef\n0\r\n\r\n"),
	 H1_CHUNK_DONE,
	 {0,  0, 0, 3, 2, 1, 0, 0, 0, 0, 0, 0, 16, 15, 14, 13, 12, 11,
	  10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0,  0,  0,  0,  0}},
	{"last chunk and trailers", IN("0;a\r\nX: 1\n\r\n"), H1_CHUNK_DONE, {0}},
	{"size overflowing", IN("ffffffffffffffffff\r\n"), H1_ERR_CHUNK_OVERFLOW, {0}},
	{"bad byte after the size", IN("5x\r\nhello"), H1_ERR_CHUNK_SIZE, {0}},
	{"bare CR after the size", IN("5\rhello"), H1_ERR_CHUNK_CRLF, {0}},
	{"largest size",
	 IN("3fffffffffffffff\nab"),
	 H1_INCOMPLETE,
	 {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x3fffffffffffffff, 0x3ffffffffffffffe,
	  0x3ffffffffffffffd}},
};

ParameterizedTestParameters(h1, chunked_pending)
{
	return case_indexes(ARRAY_LEN(pending_cases));
}

/*
 * Byte by byte, pending must follow the table exactly. Fed in bigger pieces
 * it must agree with the table wherever a piece ends (the decoder has then
 * seen the same bytes).
 */
ParameterizedTest(size_t *idx, h1, chunked_pending)
{
	const struct pending_case *tc = &pending_cases[*idx];
	size_t steps[] = {1, 2, 3, 5, tc->len};
	uint64_t got[64];
	size_t i, k;

	cr_assert_leq(tc->len, ARRAY_LEN(tc->want));
	for (i = 0; i < ARRAY_LEN(steps); i++) {
		int rc = pending_feed(tc->in, tc->len, steps[i], got);

		cr_assert_eq(rc, tc->rc, "%s (pieces of %zu): rc %d", tc->name, steps[i], rc);
		for (k = 0; k < tc->len; k++) {
			if (steps[i] != 1 && (k + 1) % steps[i] && k + 1 != tc->len)
				continue;
			cr_assert_eq(got[k], tc->want[k],
				     "%s (pieces of %zu): pending %llu after byte %zu, want %llu",
				     tc->name, steps[i], (unsigned long long)got[k], k,
				     (unsigned long long)tc->want[k]);
		}
	}
}

/* What the proxy relies on to answer 413 before a big chunk's data comes. */
Test(h1, chunked_pending_whole)
{
	struct h1_chunked st;
	struct h1_str d;
	size_t c;

	h1_chunked_init(&st);
	cr_assert_eq(h1_parse_chunked(&st, guarded("200000\r\n", 8), 8, &c, &d), H1_INCOMPLETE);
	cr_assert_eq(c, 8);
	cr_assert_eq(h1_chunked_pending(&st), 0x200000);
	cr_assert_eq(h1_parse_chunked(&st, guarded("hello", 5), 5, &c, &d), H1_CHUNK_DATA);
	cr_assert_eq(h1_chunked_pending(&st), 0x200000 - 5);

	/* data in the same call: pending is what follows the span */
	h1_chunked_init(&st);
	cr_assert_eq(h1_parse_chunked(&st, guarded("8\r\nabc", 6), 6, &c, &d), H1_CHUNK_DATA);
	cr_assert_eq(d.len, 3);
	cr_assert_eq(h1_chunked_pending(&st), 5);
	cr_assert_eq(h1_parse_chunked(&st, guarded("defgh\n", 6), 6, &c, &d), H1_CHUNK_DATA);
	cr_assert_eq(c, 5);
	cr_assert_eq(h1_chunked_pending(&st), 0);

	/* the size line is not complete until its line end */
	h1_chunked_init(&st);
	cr_assert_eq(h1_parse_chunked(&st, guarded("10", 2), 2, &c, &d), H1_INCOMPLETE);
	cr_assert_eq(h1_chunked_pending(&st), 0);
	cr_assert_eq(h1_parse_chunked(&st, guarded(";ext=1", 6), 6, &c, &d), H1_INCOMPLETE);
	cr_assert_eq(h1_chunked_pending(&st), 0);
	cr_assert_eq(h1_parse_chunked(&st, guarded("\r", 1), 1, &c, &d), H1_INCOMPLETE);
	cr_assert_eq(h1_chunked_pending(&st), 0);
	cr_assert_eq(h1_parse_chunked(&st, guarded("\n", 1), 1, &c, &d), H1_INCOMPLETE);
	cr_assert_eq(h1_chunked_pending(&st), 16);

	/* after the end and after an error there is nothing pending */
	h1_chunked_init(&st);
	cr_assert_eq(h1_parse_chunked(&st, guarded("0\n\n", 3), 3, &c, &d), H1_CHUNK_DONE);
	cr_assert_eq(h1_chunked_pending(&st), 0);
	h1_chunked_init(&st);
	cr_assert_eq(h1_parse_chunked(&st, guarded("7fffffffffffffff\r\n", 18), 18, &c, &d),
		     H1_ERR_CHUNK_OVERFLOW);
	cr_assert_eq(h1_chunked_pending(&st), 0);
}

/* ---------------------------------------------------------------------- */
/* Field-value helpers */

struct cl_case {
	const char *in; /* value */
	int rc;		/* expected */
	uint64_t v;	/* expected value */
};

Test(h1, content_length)
{
	static const struct cl_case cases[] = {
		{"0", 0, 0},
		{"42", 0, 42},
		{"007", 0, 7},
		{"9223372036854775807", 0, INT64_MAX},
		{"9223372036854775808", H1_ERR_BAD, 0},
		{"18446744073709551616", H1_ERR_BAD, 0},
		{"99999999999999999999999", H1_ERR_BAD, 0},
		{"", H1_ERR_BAD, 0},
		{"+1", H1_ERR_BAD, 0},
		{"-1", H1_ERR_BAD, 0},
		{" 1", H1_ERR_BAD, 0},
		{"1 ", H1_ERR_BAD, 0},
		{"1 2", H1_ERR_BAD, 0},
		{"5, 5", H1_ERR_BAD, 0},
		{"0x10", H1_ERR_BAD, 0},
		{"1e3", H1_ERR_BAD, 0},
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		size_t n = strlen(cases[i].in);
		uint64_t v = 12345;
		int rc = h1_parse_content_length((struct h1_str){guarded(cases[i].in, n), n}, &v);

		cr_assert_eq(rc, cases[i].rc, "\"%s\": %d", cases[i].in, rc);
		if (!rc)
			cr_assert_eq(v, cases[i].v, "\"%s\": %llu", cases[i].in,
				     (unsigned long long)v);
	}
}

struct tok_case {
	const char *v;	 /* field value */
	const char *tok; /* token looked for (list) */
	bool list;	 /* expected h1_list_has_token */
	bool chunked;	 /* expected h1_te_is_chunked */
};

Test(h1, token_lists)
{
	static const struct tok_case cases[] = {
		{"chunked", "chunked", true, true},
		{"Chunked", "chunked", true, true},
		{"gzip, chunked", "gzip", true, true},
		{"gzip,chunked , ", "chunked", true, true},
		{" \tchunked\t ", "chunked", true, true},
		{"chunked, gzip", "chunked", true, false},
		{"chunked, chunked", "chunked", true, false},
		{"chunked;a=b", "chunked", false, false},
		{"xchunked", "chunked", false, false},
		{"chunkedx", "chunked", false, false},
		{"identity", "chunked", false, false},
		{"", "chunked", false, false},
		{",,", "chunked", false, false},
		{"keep-alive, Upgrade", "upgrade", true, false},
		{"close", "keep-alive", false, false},
		{"Close", "close", true, false},
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		size_t n = strlen(cases[i].v);
		struct h1_str v = {guarded(cases[i].v, n), n};

		cr_assert_eq(h1_list_has_token(v, cases[i].tok), cases[i].list, "\"%s\" has %s",
			     cases[i].v, cases[i].tok);
		cr_assert_eq(h1_te_is_chunked(v), cases[i].chunked, "\"%s\" chunked", cases[i].v);
	}
}

Test(h1, str_ieq_and_find)
{
	struct h1_header h[3] = {
		{.name = {"X@Host", 6}, .value = {"bad", 3}, .invalid = 1},
		{.name = {"hOsT", 4}, .value = {"a", 1}},
		{.name = {"Host", 4}, .value = {"b", 1}},
	};

	cr_assert(h1_str_ieq((struct h1_str){"Content-LENGTH", 14}, "content-length"));
	cr_assert_not(h1_str_ieq((struct h1_str){"Content-Lengt", 13}, "content-length"));
	cr_assert_not(h1_str_ieq((struct h1_str){"Content-Lengthh", 15}, "content-length"));
	/* '@' | 0x20 is '`': case folding must be for letters only */
	cr_assert_not(h1_str_ieq((struct h1_str){"@", 1}, "`"));
	cr_assert(h1_str_ieq((struct h1_str){NULL, 0}, ""));
	cr_assert_eq(h1_find_header(h, 3, "host"), &h[1]);
	cr_assert_null(h1_find_header(h, 3, "x@host"));
	cr_assert_null(h1_find_header(h, 0, "host"));
}

Test(h1, strerror_names_every_code)
{
	int rc;

	for (rc = H1_ERR_CHUNK_TRAILER; rc <= H1_INCOMPLETE; rc++)
		cr_assert_str_neq(h1_strerror(rc), "unknown error", "%d", rc);
	cr_assert_str_eq(h1_strerror(-100), "unknown error");
}

Test(h1, http_time)
{
	/* the three forms of RFC 9110, as ngx_parse_http_time reads them
	 * (1700000000 is Tue, 14 Nov 2023 22:13:20 GMT) */
	cr_expect_eq(h1_http_time("Tue, 14 Nov 2023 22:13:20 GMT", 29), 1700000000);
	cr_expect_eq(h1_http_time("Tuesday, 14-Nov-23 22:13:20 GMT", 31), 1700000000);
	cr_expect_eq(h1_http_time("Tue Nov 14 22:13:20 2023", 24), 1700000000);
	cr_expect_eq(h1_http_time("Sunday, 06-Nov-94 08:49:37 GMT", 30), 784111777);
	cr_expect_eq(h1_http_time("Sun Nov  6 08:49:37 1994", 24), 784111777);
	cr_expect_eq(h1_http_time("Sun, 06 Nov 1994 08:49:37 GMT", 29), 784111777);
	cr_expect_eq(h1_http_time("Thu, 01 Jan 1970 00:00:00 GMT", 29), 0);
	cr_expect_eq(h1_http_time("Thu, 01 Jan 1970 00:00:01 GMT", 29), 1);
	cr_expect_eq(h1_http_time("Thu, 29 Feb 2024 00:00:00 GMT", 29), 1709164800);
	/* nginx skips the weekday: a wrong one does not matter */
	cr_expect_eq(h1_http_time("Mon, 14 Nov 2023 22:13:20 GMT", 29), 1700000000);
	cr_expect_eq(h1_http_time("garbage", 7), -1);
	cr_expect_eq(h1_http_time("0", 1), -1);
	cr_expect_eq(h1_http_time("Tue, 14 Foo 2023 22:13:20 GMT", 29), -1);
	cr_expect_eq(h1_http_time("Tue, 14 Nov 2023 25:13:20 GMT", 29), -1);
	cr_expect_eq(h1_http_time("Tue, 14 Nov 2023 22:13", 22), -1);
	cr_expect_eq(h1_http_time("", 0), -1);
}

/* The helpers h2.c checks a mapped HTTP/2 request with agree with the
 * parser, byte by byte: method bytes, name flags, value bytes. */
Test(h1, mapped_head_helpers_agree_with_parser)
{
	struct h1_header hv[4];
	struct h1_request req = {.headers = hv};
	char buf[64];

	for (int b = 0; b < 256; b++) {
		char m[3] = {'G', (char)b, 'T'}, v[3] = {'a', (char)b, 'b'};
		struct h1_header h = {.name = {buf + 16, 3}};
		int n, rc;

		/* method */
		memcpy(buf, m, 3);
		memcpy(buf + 3, " / HTTP/1.1\r\nHost: x\r\n\r\n", 24);
		rc = h1_parse_request(buf, 27, NULL, &req, 4);
		cr_assert_eq(rc > 0, h1_method_span(m, 3) == 3, "method byte %d: %d", b, rc);
		/* name: "x?y: v" */
		n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nx%cy: v\r\n\r\n", b ? b : '!');
		buf[17] = (char)b;
		rc = h1_parse_request(buf, (size_t)n, NULL, &req, 4);
		if (h1_name_flags(&h)) {
			cr_assert_gt(rc, 0, "name byte %d", b);
			cr_assert_eq(hv[0].invalid, h.invalid, "name byte %d", b);
			cr_assert_eq(hv[0].underscore, h.underscore, "name byte %d", b);
			cr_assert_eq(hv[0].symbol, h.symbol, "name byte %d", b);
		} else {
			cr_assert(rc < 0 || hv[0].name.len != 3, "name byte %d", b);
		}
		/* value: "x: a?b" (CR and LF end the line: not a value byte) */
		if (b == '\r' || b == '\n')
			continue;
		n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nx: a%cb\r\n\r\n", b ? b : '!');
		buf[20] = (char)b;
		rc = h1_parse_request(buf, (size_t)n, NULL, &req, 4);
		cr_assert_eq(rc > 0, h1_value_span(v, 3) == 3, "value byte %d: %d", b, rc);
	}
}

/* h1_chunked_trailer: false through the data and the last chunk's size
 * line, true from the first byte after it (a trailer line or the final
 * empty line) to the end; fed one byte at a time, as proxy.c's
 * trailer_start does to find where an upstream's trailer fields start. */
Test(h1, chunked_trailer_state)
{
	static const struct {
		const char *body;
		size_t first; /* offset of the first byte read in the trailer state */
	} cases[] = {
		{"5\r\nhello\r\n0\r\nX-A: 1\r\n\r\n", 13},
		{"5\r\nhello\r\n0\r\n\r\n", 13},
		{"3\nabc\n0\nX-B: 2\n\n", 8},
		{"0;ext=1\r\n\r\n", 9},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct h1_chunked st;
		const char *b = cases[i].body;
		size_t n = strlen(b), at = SIZE_MAX;

		h1_chunked_init(&st);
		for (size_t k = 0; k < n; k++) {
			struct h1_str d;
			size_t used = 0;

			cr_assert_eq(h1_chunked_trailer(&st), at != SIZE_MAX, "%s at %zu", b, k);
			h1_parse_chunked(&st, b + k, 1, &used, &d);
			if (at == SIZE_MAX && h1_chunked_trailer(&st))
				at = k + 1;
		}
		cr_expect_eq(at, cases[i].first, "%s: %zu", b, at);
		cr_expect(h1_chunked_done(&st) && h1_chunked_trailer(&st), "%s", b);
	}
}

/* head_fill - a head in a static buffer: the request line, then N field
 * lines of SIZE bytes (line end included), no final empty line. */
static size_t head_fill(char *b, size_t cap, const char *rl, int n, size_t size)
{
	size_t k = (size_t)snprintf(b, cap, "%s", rl);

	for (int i = 0; i < n; i++) {
		int w = snprintf(b + k, cap - k, "X-%d: ", i);

		memset(b + k + (size_t)w, 'v', size - (size_t)w - 2);
		memcpy(b + k + size - 2, "\r\n", 2);
		k += size;
	}
	return k;
}

/* h1_head_fit against what nginx 1.22 answers for the same bytes (1k first
 * buffer, 4 x 8k): a prefix that fits gives 0, the byte where the last
 * buffer fills gives the error, wherever the head's end would come. */
Test(h1, head_fit_nginx_buffers)
{
	static char b[64 * 1024];
	const struct h1_bufs bf = {.first = 1024, .large = 8192, .num = 4};
	size_t n, at = 0, line = 0;

	/* five 5000-byte lines: one per large buffer, the fifth has none */
	n = head_fill(b, sizeof(b), "GET / HTTP/1.1\r\n", 5, 5000);
	cr_assert_eq(h1_head_fit(b, n, &bf, &at, &line), H1_ERR_HEADER_TOO_LARGE);
	cr_expect_eq(line, 16 + 4 * 5000); /* the fifth line */
	cr_expect_eq(at, 16 + 3 * 5000 + 8192);
	for (size_t k = 0; k < at; k += 97)
		cr_expect_eq(h1_head_fit(b, k, &bf, &at, &line), 0, "%zu", k);
	/* four fit, whole or not */
	n = head_fill(b, sizeof(b), "GET / HTTP/1.1\r\n", 4, 5000);
	cr_expect_eq(h1_head_fit(b, n, &bf, &at, &line), 0);
	memcpy(b + n, "\r\n", 2);
	cr_expect_eq(h1_head_fit(b, n + 2, &bf, &at, &line), 0);
	/* seven 4000-byte lines: two per buffer */
	n = head_fill(b, sizeof(b), "GET / HTTP/1.1\r\n", 7, 4000);
	memcpy(b + n, "\r\n", 2);
	cr_expect_eq(h1_head_fit(b, n + 2, &bf, &at, &line), 0);
	/* a request line is refused when it fills a large buffer */
	memcpy(b, "GET /", 5);
	memset(b + 5, 'a', 8187);
	cr_expect_eq(h1_head_fit(b, 8191, &bf, &at, &line), 0);
	cr_assert_eq(h1_head_fit(b, 8192, &bf, &at, &line), H1_ERR_URI_TOO_LONG);
	cr_expect(at == 8192 && line == 0);
	/* empty lines before it are not part of it */
	memcpy(b, "\r\n\r\nGET /", 9);
	memset(b + 9, 'a', 8187);
	cr_expect_eq(h1_head_fit(b, 8195, &bf, &at, &line), 0);
	cr_assert_eq(h1_head_fit(b, 8196, &bf, &at, &line), H1_ERR_URI_TOO_LONG);
	cr_expect(at == 8196 && line == 4);
	/* one field line of 8k without its end */
	n = head_fill(b, sizeof(b), "GET / HTTP/1.1\r\n", 0, 0);
	memcpy(b + n, "X: ", 3);
	memset(b + n + 3, 'v', 8189);
	cr_expect_eq(h1_head_fit(b, n + 8191, &bf, &at, &line), 0);
	cr_assert_eq(h1_head_fit(b, n + 8192, &bf, &at, &line), H1_ERR_HEADER_TOO_LARGE);
	cr_expect_eq(line, n);
}

/* The buffers filling exactly at a line end: nothing to move, but no
 * buffer left; the line named is the last one begun (none: SIZE_MAX). */
Test(h1, head_fit_full_at_line_end)
{
	static char b[8192];
	const struct h1_bufs bf = {.first = 1024, .large = 2048, .num = 1};
	size_t at = 0, line = 0;

	memcpy(b, "GET /", 5);
	memset(b + 5, 'a', 2032);
	memcpy(b + 2037, " HTTP/1.1\r\n", 11);
	cr_expect_eq(h1_head_fit(b, 2047, &bf, &at, &line), 0);
	cr_assert_eq(h1_head_fit(b, 2048, &bf, &at, &line), H1_ERR_HEADER_TOO_LARGE);
	cr_expect(at == 2048 && line == SIZE_MAX);
	/* a field line ends where the large buffer does */
	memcpy(b, "GET / HTTP/1.1\r\nX-A: ", 21);
	memset(b + 21, 'a', 1002);
	memcpy(b + 1023, "\r\nX-B: ", 7);
	memset(b + 1030, 'b', 1032);
	memcpy(b + 2062, "\r\n", 2);
	/* X-A moved to the large buffer from its start (16): it ends at 2064 */
	cr_expect_eq(h1_head_fit(b, 2063, &bf, &at, &line), 0);
	cr_assert_eq(h1_head_fit(b, 2064, &bf, &at, &line), H1_ERR_HEADER_TOO_LARGE);
	cr_expect(at == 2064 && line == 1025, "%zu %zu", at, line);
	/* with the head's end there instead, it fits */
	memcpy(b + 1025, "\r\n", 2);
	cr_expect_eq(h1_head_fit(b, 1027, &bf, &at, &line), 0);
}

/* The Host server's buffers (bf.sw: past its Host line): a buffer that
 * fills from there on is counted with its SIZE and NUM, the busy count
 * going on; one that filled before the Host line with the default's. */
Test(h1, head_fit_host_server)
{
	static char b[64 * 1024];
	struct h1_bufs bf = {.first = 1024, .large = 2048, .num = 1};
	size_t n, at = 0, line = 0;

	/* two 5000-byte lines after "Host: y": x's 1 x 2k refuses the first */
	n = head_fill(b, sizeof(b), "GET / HTTP/1.1\r\nHost: y\r\n", 2, 5000);
	cr_assert_eq(h1_head_fit(b, n, &bf, &at, &line), H1_ERR_HEADER_TOO_LARGE);
	cr_expect(at == 25 + 2048 && line == 25, "%zu %zu", at, line);
	/* y's 4 x 8k hold them */
	bf.sw = 25;
	bf.large2 = 8192;
	bf.num2 = 4;
	cr_expect_eq(h1_head_fit(b, n, &bf, &at, &line), 0);
	memcpy(b + n, "\r\n", 2);
	cr_expect_eq(h1_head_fit(b, n + 2, &bf, &at, &line), 0);
	/* five of them do not: the fifth finds no buffer */
	n = head_fill(b, sizeof(b), "GET / HTTP/1.1\r\nHost: y\r\n", 5, 5000);
	cr_assert_eq(h1_head_fit(b, n, &bf, &at, &line), H1_ERR_HEADER_TOO_LARGE);
	cr_expect_eq(line, 25 + 4 * 5000);
	/* the switch comes when the Host line is parsed: a buffer that
	 * filled before it (in the middle of a line before Host) is the
	 * default's: a 3000-byte line before Host does not fit 1 x 2k */
	n = head_fill(b, sizeof(b), "GET / HTTP/1.1\r\n", 1, 3000);
	memcpy(b + n, "Host: y\r\n", 9);
	bf.sw = n + 9;
	cr_assert_eq(h1_head_fit(b, n + 9, &bf, &at, &line), H1_ERR_HEADER_TOO_LARGE);
	cr_expect(at == 16 + 2048 && line == 16, "%zu %zu", at, line);
	/* smaller buffers after Host: y's 1 x 2k, the default's 4 x 8k */
	bf = (struct h1_bufs){
		.first = 1024, .large = 8192, .num = 4, .sw = 25, .large2 = 2048, .num2 = 1};
	n = head_fill(b, sizeof(b), "GET / HTTP/1.1\r\nHost: y\r\n", 1, 3000);
	cr_expect_eq(h1_head_fit(b, 25 + 2047, &bf, &at, &line), 0);
	cr_assert_eq(h1_head_fit(b, n, &bf, &at, &line), H1_ERR_HEADER_TOO_LARGE);
	cr_expect(at == 25 + 2048 && line == 25, "%zu %zu", at, line);
	/* a busy count already past the new NUM: no buffer left */
	bf = (struct h1_bufs){
		.first = 1024, .large = 4096, .num = 4, .sw = 0, .large2 = 8192, .num2 = 1};
	n = head_fill(b, sizeof(b), "GET / HTTP/1.1\r\n", 2, 3000);
	memcpy(b + n, "Host: y\r\n", 9);
	bf.sw = n + 9;
	n = n + 9 + head_fill(b + n + 9, sizeof(b) - n - 9, "", 1, 3000);
	memcpy(b + n, "\r\n", 2);
	cr_assert_eq(h1_head_fit(b, n + 2, &bf, &at, &line), H1_ERR_HEADER_TOO_LARGE);
	bf.num2 = 3;
	cr_expect_eq(h1_head_fit(b, n + 2, &bf, &at, &line), 0);
}

/* A pipelined request in the buffer the one before it ended in: its room,
 * the busy one, the free ones taken before a new one; h1_head_end says
 * where a head ended. */
Test(h1, head_fit_pipelined)
{
	static char b[16 * 1024];
	struct h1_bufs bf = {.first = 1024, .large = 2048, .num = 1};
	size_t n, end = 0, busy = 0, at = 0, line = 0;

	/* a head that spills into the large buffer ends in it */
	n = head_fill(b, sizeof(b), "GET / HTTP/1.1\r\nHost: x\r\n", 1, 2045);
	memcpy(b + n, "\r\n", 2);
	h1_head_end(b, n + 2, &bf, &end, &busy);
	cr_expect(end == 25 + 2048 && busy == 1, "%zu %zu", end, busy);
	/* one that ends in the first buffer */
	h1_head_end(b, 27, &bf, &end, &busy);
	cr_expect(end == 1024 && busy == 0, "%zu %zu", end, busy);
	/* the next request line in the 2 bytes left of the busy large one:
	 * no buffer to move it to */
	bf = (struct h1_bufs){.first = 2, .large = 2048, .num = 1, .busy0 = 1};
	memcpy(b, "GET / HTTP/1.1\r\n\r\n", 18);
	cr_assert_eq(h1_head_fit(b, 18, &bf, &at, &line), H1_ERR_URI_TOO_LONG);
	cr_expect(at == 2 && line == 0, "%zu %zu", at, line);
	/* a free one is taken first, whatever NUM says */
	bf.nfree = 1;
	bf.free_size = 2048;
	cr_expect_eq(h1_head_fit(b, 18, &bf, &at, &line), 0);
}

/* h1_chunked_canon: the same chunks in nginx's framing, whole or split at
 * any byte after a start framed as it came; odd says which inputs need it. */
Test(h1, chunked_canon)
{
	static const struct {
		const char *in, *out;
		bool odd;
	} cases[] = {
		{"5\r\nhello\r\n0\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n", false},
		{"5\nhello\n6\n world\n0\n\n", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", true},
		{"5;a=b\r\nhello\r\n0;z\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n", true},
		{"5 \r\nhello\r\n0\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n", true},
		{"5\r\nhello\n0\r\nX-T: 1\nY: 2\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n", true},
		{"A\r\n0123456789\r\n0\r\n\n", "A\r\n0123456789\r\n0\r\n\r\n", false},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const char *in = cases[i].in;
		size_t n = strlen(in);

		for (size_t k = 0; k < n; k++) {
			/* in[0..k) as it came, the rest in canonical form */
			struct h1_chunked st;
			char out[256];
			size_t used = 0, olen = 0, skip = 0;
			struct h1_str d;
			int rc;

			h1_chunked_init(&st);
			while (skip < k) {
				size_t u = 0;

				rc = h1_parse_chunked(&st, in + skip, k - skip, &u, &d);
				skip += u;
				if (rc != H1_CHUNK_DATA)
					break;
			}
			memcpy(out, in, k);
			rc = h1_chunked_canon(&st, in + k, n - k, &used, out + k, &olen);
			cr_assert_eq(rc, H1_CHUNK_DONE, "%s at %zu: %d", in, k, rc);
			cr_expect_eq(k + used, n, "%s at %zu", in, k);
			if (k == 0) {
				cr_expect(olen == strlen(cases[i].out) &&
						  !memcmp(out, cases[i].out, olen),
					  "%s: %.*s", in, (int)olen, out);
				cr_expect_eq(!!st.odd, cases[i].odd, "%s", in);
			}
		}
	}
}
