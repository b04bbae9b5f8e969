/* SPDX-License-Identifier: MIT */
/*
 * Tests of the access log (userspace/alog.c): log_format compilation and
 * its messages, lines rendered exactly as nginx renders them (the guide's
 * proxy_log, combined, the three escapings, "-" for variables not found),
 * and the files: shared descriptors, buffer= and flush=, if=, reopen after
 * a rename, and the flush of a thread's buffer when the thread exits.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alog.h"

#define T_SEC	   1795842000 /* 2026-11-28T05:00:00Z */
#define T_START_US 5000000

static struct pool cfgpool;
static struct cval_ctx ctx;
static char err[256];
static char dir[64];

static const char req_guide[] = "GET /api/items?id=5 HTTP/1.1\r\n"
				"Host: yourdomain.com\r\n"
				"User-Agent: curl/8.5.0\r\n"
				"Accept: */*\r\n"
				"\r\n";

static struct conn *conn_new(const char *raw)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct http_req *r = &c->req;
	struct sockaddr_in *sin = (struct sockaddr_in *)&c->peer;
	size_t len = strlen(raw);
	const char *buf, *q;
	int rc;

	cr_assert(c);
	pool_init(&c->pool, 4096);
	buf = pool_strndup(&c->pool, raw, len);
	r->h1.headers = r->hdrs;
	rc = h1_parse_request(buf, len, NULL, &r->h1, HTTP_MAX_HEADERS);
	cr_assert_gt(rc, 0);
	r->method = (struct lstr){r->h1.method.p, r->h1.method.len};
	r->version = r->h1.version;
	r->request_line = (struct lstr){buf, strcspn(buf, "\r\n")};
	r->u.unparsed = (struct lstr){r->h1.target.p, r->h1.target.len};
	q = memchr(r->h1.target.p, '?', r->h1.target.len);
	r->u.uri =
		(struct lstr){r->h1.target.p, q ? (size_t)(q - r->h1.target.p) : r->h1.target.len};
	if (q)
		r->u.args =
			(struct lstr){q + 1, r->h1.target.len - (size_t)(q + 1 - r->h1.target.p)};
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40000);
	inet_pton(AF_INET, "127.0.0.1", &sin->sin_addr);
	c->peerlen = sizeof(*sin);
	c->requests = 1;
	r->start_us = T_START_US;
	return c;
}

static void conn_free(struct conn *c)
{
	pool_destroy(&c->pool);
	free(c);
}

static void setup(void)
{
	struct timespec now = {T_SEC, 0};

	setenv("TZ", "UTC", 1);
	tzset();
	var_time_set(&now, T_START_US + 15400);
	pool_init(&cfgpool, 4096);
	memset(&ctx, 0, sizeof(ctx));
	ctx.pool = &cfgpool;
	snprintf(dir, sizeof(dir), "/tmp/test_alog.XXXXXX");
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", dir);
	var_time_set(NULL, 0);
	pool_destroy(&cfgpool);
}

static struct log_format *fmt_new(int escape, int n, ...)
{
	struct log_format *f = pool_zalloc(&cfgpool, sizeof(*f));
	char *parts[16];
	va_list ap;

	cr_assert_leq(n, 16);
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		parts[i] = va_arg(ap, char *);
	va_end(ap);
	cr_assert_eq(alog_format_compile(&ctx, parts, n, escape, f, err, sizeof(err)), 0, "%s",
		     err);
	return f;
}

static char *line(const struct log_format *f, struct conn *c)
{
	struct lstr v;

	cr_assert_eq(alog_format_line(f, c, &v), 0);
	return pool_strndup(&c->pool, v.p, v.len);
}

/* The guide's proxy_log, string by string. */
static struct log_format *proxy_log(void)
{
	return fmt_new(0, 7, "$remote_addr - $remote_user [$time_local] ",
		       "\"$request\" $status $body_bytes_sent ",
		       "\"$http_referer\" \"$http_user_agent\" ", "upstream=$upstream_addr ",
		       "upstream_response_time=$upstream_response_time ",
		       "request_time=$request_time ", "cache=$upstream_cache_status");
}

Test(alog, guide_proxy_log_line, .init = setup, .fini = teardown)
{
	struct log_format *f = proxy_log();
	struct conn *c = conn_new(req_guide);

	c->req.status = 200;
	c->req.body_bytes_sent = 1234;
	snprintf(c->req.up_addrs, sizeof(c->req.up_addrs), "127.0.0.1:3001");
	snprintf(c->req.up_resp_time, sizeof(c->req.up_resp_time), "0.012");
	cr_expect_str_eq(line(f, c),
			 "127.0.0.1 - - [28/Nov/2026:05:00:00 +0000] \"GET /api/items?id=5 "
			 "HTTP/1.1\" 200 1234 \"-\" \"curl/8.5.0\" upstream=127.0.0.1:3001 "
			 "upstream_response_time=0.012 request_time=0.015 cache=-");
	cr_expect_eq(f->fmt.nparts, 23, "literals merge across the strings");
	conn_free(c);

	/* answered without an upstream: every upstream field is "-" */
	c = conn_new("GET /static/app.css HTTP/1.1\r\nHost: x\r\nReferer: https://x/\r\n"
		     "Authorization: Basic Ym9iOnNlY3JldA==\r\n\r\n");
	c->req.status = 304;
	cr_expect_str_eq(line(f, c), "127.0.0.1 - bob [28/Nov/2026:05:00:00 +0000] \"GET "
				     "/static/app.css HTTP/1.1\" 304 0 \"https://x/\" \"-\" "
				     "upstream=- upstream_response_time=- request_time=0.015 "
				     "cache=-");
	conn_free(c);
}

Test(alog, combined_format, .init = setup, .fini = teardown)
{
	const struct log_format *f = alog_combined();
	struct conn *c = conn_new("POST /login HTTP/1.0\r\nUser-Agent: x\r\n\r\n");

	cr_assert(f);
	cr_expect_str_eq(f->name, "combined");
	cr_expect_eq(f->escape, 0);
	c->req.status = 302;
	c->req.body_bytes_sent = 5;
	cr_expect_str_eq(line(f, c), "127.0.0.1 - - [28/Nov/2026:05:00:00 +0000] "
				     "\"POST /login HTTP/1.0\" 302 5 \"-\" \"x\"");
	cr_expect_eq(alog_combined(), f);
	conn_free(c);
}

Test(alog, escaping, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_guide);
	static const char raw[] = "a\"b\\c\x01\t\n\x7f\xc3\xa9/{}";
	struct lstr names[1] = {LSTR("v")};
	struct lstr vals[1] = {{raw, sizeof(raw) - 1}};
	struct log_format *def = fmt_new(0, 1, "\"$v\" [$http_none] [$https] \"lit\\\"\"");
	struct log_format *json = fmt_new(1, 1, "{\"v\":\"$v\",\"none\":\"$http_none\"}");
	struct log_format *none = fmt_new(2, 1, "$v|$http_none|");

	c->req.set_vars_name = names;
	c->req.set_vars_val = vals;
	c->req.nset_vars = 1;
	/* default: \xXX for '"', '\\', controls, DEL and >= 0x80; "-" when
	 * not found; found-but-empty stays empty; literals as written */
	cr_expect_str_eq(line(def, c),
			 "\"a\\x22b\\x5Cc\\x01\\x09\\x0A\\x7F\\xC3\\xA9/{}\" [-] [] \"lit\\\"\"");
	cr_expect_str_eq(line(json, c),
			 "{\"v\":\"a\\\"b\\\\c\\u0001\\t\\n\x7f\xc3\xa9/{}\",\"none\":\"\"}");
	cr_expect_str_eq(line(none, c), "a\"b\\c\x01\t\n\x7f\xc3\xa9/{}||");
	conn_free(c);
}

Test(alog, json_control_bytes, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_guide);
	static const char raw[] = "\x00\x08\x0c\r\x1f\x10";
	struct lstr names[1] = {LSTR("v")};
	struct lstr vals[1] = {{raw, sizeof(raw) - 1}};
	struct log_format *json = fmt_new(1, 1, "$v");

	c->req.set_vars_name = names;
	c->req.set_vars_val = vals;
	c->req.nset_vars = 1;
	cr_expect_str_eq(line(json, c), "\\u0000\\b\\f\\r\\u001f\\u0010");
	conn_free(c);
}

struct fecase {
	const char *s1, *s2; /* format strings (s2 may be NULL) */
	const char *msg;     /* nginx's message */
};

static const struct fecase fmt_errs[] = {
	{"abc $", NULL, "invalid parameter \"$\""},
	{"$ x", NULL, "invalid parameter \"$ x\""},
	{"a$", "host", "invalid parameter \"$\""},
	{"${", NULL, "invalid parameter \"${\""},
	{"x ${}y", NULL, "invalid parameter \"${}y\""},
	{"${status", NULL, "the closing bracket in \"status\" variable is missing"},
	{"$upstream_trailer_x", NULL, "variable \"$upstream_trailer_x\" is not supported yet"},
};

Test(alog, format_errors, .init = setup, .fini = teardown)
{
	for (size_t i = 0; i < ARRAY_SIZE(fmt_errs); i++) {
		char *parts[2] = {(char *)fmt_errs[i].s1, (char *)fmt_errs[i].s2};
		struct log_format f;

		err[0] = '\0';
		cr_expect_eq(alog_format_compile(&ctx, parts, fmt_errs[i].s2 ? 2 : 1, 0, &f, err,
						 sizeof(err)),
			     -EINVAL);
		cr_expect_str_eq(err, fmt_errs[i].msg);
	}
}

Test(alog, format_shapes, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_guide);
	struct log_format *f;

	/* "$1" is a variable named "1" in a format, left for the config to
	 * report; ${name} is allowed */
	ctx.nunresolved = 0;
	f = fmt_new(0, 2, "$1 ${status}x", "-${request_method}");
	cr_expect_eq(ctx.nunresolved, 1);
	cr_expect_eq(f->fmt.parts[0].kind, CVAL_NAMED);
	cr_expect_str_eq(line(f, c), "- 000x-GET");
	f = fmt_new(0, 2, "only ", "text");
	cr_expect(f->fmt.literal);
	cr_expect_eq(f->fmt.nparts, 1);
	cr_expect_str_eq(f->fmt.raw, "only text");
	cr_expect_str_eq(line(f, c), "only text");
	conn_free(c);
}

/* ------------------------------------------------------------------ */
/* files                                                                */

static char *path_in_dir(const char *name)
{
	char *p = pool_alloc(&cfgpool, strlen(dir) + strlen(name) + 2);

	sprintf(p, "%s/%s", dir, name);
	return p;
}

static char *slurp(const char *path)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd == -1)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* one_log - a location whose only access_log is A. */
static void one_log(struct conn *c, struct cfg_loc *loc, struct alog **ap)
{
	memset(loc, 0, sizeof(*loc));
	loc->alogs = ap;
	loc->nalogs = 1;
	c->req.loc = loc;
}

Test(alog, unbuffered_writes_each_line, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_guide);
	struct alog a = {.path = path_in_dir("access.log"),
			 .fmt = fmt_new(0, 1, "n=$connection_requests")};
	struct alog *ap = &a;
	struct cfg_loc loc;

	cr_assert_eq(alog_open(&a), 0);
	cr_expect_eq(a.index, -1);
	one_log(c, &loc, &ap);
	alog_write(c);
	cr_expect_str_eq(slurp(a.path), "n=1\n");
	c->requests = 2;
	alog_write(c);
	cr_expect_str_eq(slurp(a.path), "n=1\nn=2\n");
	loc.alog_off = true;
	alog_write(c);
	cr_expect_str_eq(slurp(a.path), "n=1\nn=2\n");
	alog_close(&a);
	conn_free(c);
}

Test(alog, default_format_is_combined, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_guide);
	struct alog a = {.path = path_in_dir("c.log")};
	struct alog *ap = &a;
	struct cfg_loc loc;

	cr_assert_eq(alog_open(&a), 0);
	one_log(c, &loc, &ap);
	c->req.status = 200;
	alog_write(c);
	cr_expect_str_eq(slurp(a.path), "127.0.0.1 - - [28/Nov/2026:05:00:00 +0000] \"GET "
					"/api/items?id=5 HTTP/1.1\" 200 0 \"-\" \"curl/8.5.0\"\n");
	alog_close(&a);
	conn_free(c);
}

Test(alog, buffer_holds_lines_until_full_or_flush, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_guide);
	/* "line-N\n" is 7 bytes: two fit in 16, the third does not */
	struct alog a = {.path = path_in_dir("buf.log"),
			 .fmt = fmt_new(0, 1, "line-$connection_requests"),
			 .buffer = 16};
	struct alog *ap = &a;
	struct cfg_loc loc;

	cr_assert_eq(alog_open(&a), 0);
	cr_expect_geq(a.index, 0);
	one_log(c, &loc, &ap);
	alog_write(c);
	c->requests = 2;
	alog_write(c);
	cr_expect_str_eq(slurp(a.path), "", "nothing written before the buffer fills");
	c->requests = 3;
	alog_write(c);
	cr_expect_str_eq(slurp(a.path), "line-1\nline-2\n", "full buffer written out");
	alog_flush_thread();
	cr_expect_str_eq(slurp(a.path), "line-1\nline-2\nline-3\n");
	alog_flush_thread();
	cr_expect_str_eq(slurp(a.path), "line-1\nline-2\nline-3\n", "a flush empties");
	alog_close(&a);
	conn_free(c);
}

Test(alog, line_larger_than_buffer_goes_direct, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_guide);
	struct alog a = {.path = path_in_dir("big.log"),
			 .fmt = fmt_new(0, 1, "a fairly long line of text"),
			 .buffer = 8};
	struct alog *ap = &a;
	struct cfg_loc loc;

	cr_assert_eq(alog_open(&a), 0);
	one_log(c, &loc, &ap);
	alog_write(c);
	cr_expect_str_eq(slurp(a.path), "a fairly long line of text\n");
	alog_close(&a);
	conn_free(c);
}

Test(alog, flush_time, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_guide);
	struct alog a = {.path = path_in_dir("flush.log"),
			 .fmt = fmt_new(0, 1, "x"),
			 .buffer = 4096,
			 .flush_ms = 3600 * 1000};
	struct alog *ap = &a;
	struct cfg_loc loc;
	int64_t left;

	cr_assert_eq(alog_open(&a), 0);
	one_log(c, &loc, &ap);
	alog_write(c);
	left = alog_flush_expired(lbd_now_ms());
	cr_expect_gt(left, 0);
	cr_expect_leq(left, 3600 * 1000);
	cr_expect_str_eq(slurp(a.path), "");
	cr_expect_eq(alog_flush_expired(lbd_now_ms() + 2 * 3600 * 1000), -1);
	cr_expect_str_eq(slurp(a.path), "x\n");
	alog_close(&a);
	conn_free(c);
}

Test(alog, if_condition, .init = setup, .fini = teardown)
{
	struct cval cond;
	struct alog a = {
		.path = path_in_dir("if.log"), .fmt = fmt_new(0, 1, "$args"), .cond = &cond};
	struct alog *ap = &a;
	struct cfg_loc loc;
	static const char *const reqs[] = {
		"GET / HTTP/1.1\r\n\r\n",	 "GET /?log=0 HTTP/1.1\r\n\r\n",
		"GET /?log= HTTP/1.1\r\n\r\n",	 "GET /?log=1 HTTP/1.1\r\n\r\n",
		"GET /?log=00 HTTP/1.1\r\n\r\n",
	};

	cr_assert_eq(cval_compile(&ctx, "$arg_log", &cond, err, sizeof(err)), 0);
	cr_assert_eq(alog_open(&a), 0);
	for (size_t i = 0; i < ARRAY_SIZE(reqs); i++) {
		struct conn *c = conn_new(reqs[i]);

		one_log(c, &loc, &ap);
		alog_write(c);
		conn_free(c);
	}
	cr_expect_str_eq(slurp(a.path), "log=1\nlog=00\n");
	alog_close(&a);
}

Test(alog, shared_file_and_reopen, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_guide);
	char *path = path_in_dir("shared.log"), *old = path_in_dir("shared.log.1");
	struct alog a1 = {.path = path, .fmt = fmt_new(0, 1, "one")};
	struct alog a2 = {.path = path, .fmt = fmt_new(0, 1, "two")};
	struct alog *both[2] = {&a1, &a2};
	struct cfg_loc loc = {.alogs = both, .nalogs = 2};

	cr_assert_eq(alog_open(&a1), 0);
	cr_assert_eq(alog_open(&a2), 0);
	cr_expect_eq(a1.file, a2.file, "one open file per path");
	c->req.loc = &loc;
	alog_write(c);
	cr_expect_str_eq(slurp(path), "one\ntwo\n");

	cr_assert_eq(rename(path, old), 0);
	alog_write(c);
	cr_expect_str_eq(slurp(old), "one\ntwo\none\ntwo\n", "still the renamed file");
	cr_assert_eq(alog_reopen_all(), 0);
	alog_write(c);
	cr_expect_str_eq(slurp(path), "one\ntwo\n", "the new file after reopen");
	cr_expect_str_eq(slurp(old), "one\ntwo\none\ntwo\n");

	alog_close(&a1);
	loc.alogs = &both[1];
	loc.nalogs = 1;
	alog_write(c);
	cr_expect_str_eq(slurp(path), "one\ntwo\ntwo\n", "the file outlives one user");
	alog_close(&a2);
	conn_free(c);
}

Test(alog, reused_slot_flushes_to_the_old_file, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_guide);
	struct alog a1 = {
		.path = path_in_dir("old.log"), .fmt = fmt_new(0, 1, "old"), .buffer = 1024};
	struct alog a2 = {
		.path = path_in_dir("new.log"), .fmt = fmt_new(0, 1, "new"), .buffer = 512};
	struct alog *ap = &a1;
	struct cfg_loc loc;

	cr_assert_eq(alog_open(&a1), 0);
	one_log(c, &loc, &ap);
	alog_write(c);
	/* a configuration release while this thread still holds a line */
	alog_close(&a1);
	cr_assert_eq(alog_open(&a2), 0);
	cr_expect_eq(a2.index, 0);
	ap = &a2;
	alog_write(c);
	cr_expect_str_eq(slurp(a1.path), "old\n", "the old file got its line");
	cr_expect_str_eq(slurp(a2.path), "");
	alog_flush_thread();
	cr_expect_str_eq(slurp(a2.path), "new\n");
	alog_close(&a2);
	conn_free(c);
}

static void *writer(void *arg)
{
	struct conn *c = arg;

	alog_write(c);
	return NULL;
}

Test(alog, thread_exit_flushes_its_buffer, .init = setup, .fini = teardown)
{
	struct conn *c = conn_new(req_guide);
	struct alog a = {.path = path_in_dir("thr.log"),
			 .fmt = fmt_new(0, 1, "from-thread"),
			 .buffer = 4096};
	struct alog *ap = &a;
	struct cfg_loc loc;
	pthread_t t;

	cr_assert_eq(alog_open(&a), 0);
	one_log(c, &loc, &ap);
	cr_assert_eq(pthread_create(&t, NULL, writer, c), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_expect_str_eq(slurp(a.path), "from-thread\n");
	alog_close(&a);
	conn_free(c);
}

Test(alog, open_errors, .init = setup, .fini = teardown)
{
	struct alog a = {.path = path_in_dir("no/such/dir/x.log")};
	struct alog b = {.path = NULL};

	cr_expect_eq(alog_open(&a), -ENOENT);
	cr_expect_null(a.file);
	cr_expect_eq(alog_open(&b), -EINVAL);
}
