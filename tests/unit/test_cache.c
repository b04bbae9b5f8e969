/* SPDX-License-Identifier: MIT */
/*
 * Proxy cache tests: MD5 against RFC 1321's suite, nginx's levels= file
 * layout, Cache-Control parsing, the validity decision (X-Accel-Expires,
 * Cache-Control, Expires, Set-Cookie, Vary, proxy_ignore_headers,
 * proxy_cache_valid per status and `any`), the directives' nginx messages,
 * defaults and inheritance, a zone's start over an existing directory
 * (temp files of a stopped process removed, junk files dropped), HTTP
 * dates, entity-tag lists, nginx's not_modified decision and Vary variant
 * keys.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "cfg.h"
#include "cfgtest.h"
#include "lbd.h"

static void hex(const uint8_t *d, char *out)
{
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* Criterion hands the cases to a re-executed child: arrays, not pointers. */
struct md5_case {
	char in[100];
	char out[33];
};

static struct md5_case md5_rfc1321_cases[] = {
	{"", "d41d8cd98f00b204e9800998ecf8427e"},
	{"a", "0cc175b9c0f1b6a831c399e269772661"},
	{"abc", "900150983cd24fb0d6963f7d28e17f72"},
	{"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
	{"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
	{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	 "d174ab98d277d9f5a5611c2c9f419d9f"},
	{"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
	 "57edf4a22be3c955ac49da2e2107b67a"},
	/* 55, 56 and 64 bytes: the padding edges */
	{"0123456789012345678901234567890123456789012345678901234",
	 "6e7a4fc92eb1c3f6e652425bcc8d44b5"},
	{"01234567890123456789012345678901234567890123456789012345",
	 "8af270b2847610e742b0791b53648c09"},
	{"0123456789012345678901234567890123456789012345678901234567890123",
	 "7f7bfd348709deeaace19e3f535f8c54"},
};

ParameterizedTestParameters(cache, md5_rfc1321)
{
	return cr_make_param_array(struct md5_case, md5_rfc1321_cases,
				   ARRAY_SIZE(md5_rfc1321_cases));
}

ParameterizedTest(struct md5_case *c, cache, md5_rfc1321)
{
	uint8_t d[16];
	char h[33];

	cache_md5(c->in, strlen(c->in), d);
	hex(d, h);
	cr_expect_str_eq(h, c->out, "md5(\"%s\")", c->in);
}

Test(cache, entry_path_levels)
{
	char p[256];
	uint8_t d[16];
	int l12[] = {1, 2}, l2[] = {2}, l122[] = {1, 2, 2};

	/* nginx's documented example: levels=1:2 -> /c/29/b7f5...029c */
	cache_md5("http://127.0.0.1:8080/a", 23, d);
	cr_assert_gt(cache_entry_path(p, sizeof(p), "/data/c", l12, 2, d), 0);
	char h[33];

	hex(d, h);
	char want[128];

	snprintf(want, sizeof(want), "/data/c/%c/%.2s/%s", h[31], h + 29, h);
	cr_expect_str_eq(p, want);
	cr_assert_gt(cache_entry_path(p, sizeof(p), "/x", l2, 1, d), 0);
	snprintf(want, sizeof(want), "/x/%.2s/%s", h + 30, h);
	cr_expect_str_eq(p, want);
	cr_assert_gt(cache_entry_path(p, sizeof(p), "/x", l122, 3, d), 0);
	snprintf(want, sizeof(want), "/x/%c/%.2s/%.2s/%s", h[31], h + 29, h + 27, h);
	cr_expect_str_eq(p, want);
	cr_assert_gt(cache_entry_path(p, sizeof(p), "/x", NULL, 0, d), 0);
	snprintf(want, sizeof(want), "/x/%s", h);
	cr_expect_str_eq(p, want);
	cr_expect_eq(cache_entry_path(p, 20, "/x", l12, 2, d), -ENAMETOOLONG);
}

struct cc_case {
	char v[64];
	bool no_store;
	int64_t maxage;
};

static struct cc_case cache_control_cases[] = {
	{"", false, -1},
	{"public", false, -1},
	{"max-age=60", false, 60},
	{"public, max-age=60", false, 60},
	{"max-age=\"60\"", true, -1}, /* nginx 1.22 takes no quotes */
	{"max-age=60, s-maxage=5", false, 5},
	{"s-maxage=5, max-age=60", false, 5},
	{"MAX-AGE=7", false, 7},
	{"max-age=0", false, 0},
	{"max-age=abc", true, -1},
	{"private", true, -1},
	{"no-cache", true, -1},
	{"no-store", true, -1},
	{"private=\"Set-Cookie\"", true, -1},
	{"public,no-cache ,max-age=60", true, 60},
	{"must-revalidate, max-age=30", false, 30},
};

ParameterizedTestParameters(cache, cache_control)
{
	return cr_make_param_array(struct cc_case, cache_control_cases,
				   ARRAY_SIZE(cache_control_cases));
}

ParameterizedTest(struct cc_case *c, cache, cache_control)
{
	struct cache_cc cc = {.maxage = -1};

	cache_parse_cc(c->v, strlen(c->v), &cc);
	cr_expect_eq(cc.no_store, c->no_store, "\"%s\" no_store", c->v);
	cr_expect_eq(cc.maxage, c->maxage, "\"%s\" maxage %lld", c->v, (long long)cc.maxage);
}

/* validity: headers "Name: value" lines joined by '\n'. */
struct valid_case {
	int status;
	char headers[200];
	int ignore;
	int64_t want;
};

#define NOW 1700000000LL /* Tue, 14 Nov 2023 22:13:20 GMT */

static struct valid_case validity_cases[] = {
	/* proxy_cache_valid 200 302 10m; 404 1m (below) */
	{200, "", 0, 600},
	{302, "", 0, 600},
	{404, "", 0, 60},
	{500, "", 0, -1},
	{200, "Cache-Control: max-age=5", 0, 5},
	{200, "Cache-Control: private", 0, -1},
	{200, "Cache-Control: no-store", 0, -1},
	{200, "Cache-Control: max-age=0", 0, -1},
	{200, "Cache-Control: private", CACHE_IGN_CACHE_CONTROL, 600},
	{200, "Set-Cookie: a=b", 0, -1},
	{200, "Set-Cookie: a=b", CACHE_IGN_SET_COOKIE, 600},
	{200, "Vary: *", 0, -1},
	{200, "Vary: Accept-Encoding", 0, 600}, /* stored per variant */
	{200, "Vary: Accept-Encoding, *", 0, -1},
	{200,
	 "Vary: Accept-Encoding, Accept-Language, User-Agent, Cookie, Origin, "
	 "Authorization, X-Forwarded-Proto, X-Requested-With, X-Long-Header-Name-1",
	 0, -1}, /* over 128 bytes: nginx does not cache it */
	{200, "Vary: Accept-Encoding", CACHE_IGN_VARY, 600},
	{200, "X-Accel-Expires: 30\nCache-Control: max-age=5", 0, 30},
	{200, "X-Accel-Expires: 0", 0, -1},
	{200, "X-Accel-Expires: 30", CACHE_IGN_X_ACCEL_EXPIRES, 600},
	{200, "X-Accel-Expires: @1700000100", 0, 100},
	{200, "Expires: Tue, 14 Nov 2023 22:14:20 GMT", 0, 60},
	{200, "Expires: Tue, 14 Nov 2023 22:13:00 GMT", 0, -1},
	{200, "Expires: garbage", 0, -1},
	/* any of the three HTTP date forms, as nginx (lbd read IMF-fixdate only) */
	{200, "Expires: Tuesday, 14-Nov-23 22:14:20 GMT", 0, 60},
	{200, "Expires: Tue Nov 14 22:14:20 2023", 0, 60},
	{200, "Expires: Tue, 14 Nov 2023 22:14:20 GMT", CACHE_IGN_EXPIRES, 600},
	{200, "Cache-Control: max-age=9\nExpires: Tue, 14 Nov 2023 22:14:20 GMT", 0, 9},
	/* 500 has no proxy_cache_valid, but the upstream may say */
	{500, "Cache-Control: max-age=9", 0, 9},
};

ParameterizedTestParameters(cache, validity)
{
	return cr_make_param_array(struct valid_case, validity_cases, ARRAY_SIZE(validity_cases));
}

ParameterizedTest(struct valid_case *c, cache, validity)
{
	struct cache_valid valid[] = {{200, 600}, {302, 600}, {404, 60}};
	struct cache_loc cl = {.valid = valid, .nvalid = 3, .ignore = c->ignore};
	struct h1_header h[8];
	struct h1_response r = {.version = 11, .status = c->status, .headers = h};
	char buf[512];
	char *save, *line;

	snprintf(buf, sizeof(buf), "%s", c->headers);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		h[r.nheaders].name = (struct h1_str){line, (size_t)(colon - line)};
		h[r.nheaders].value = (struct h1_str){colon + 2, strlen(colon + 2)};
		r.nheaders++;
	}
	cr_expect_eq(cache_validity(&cl, &r, NOW), c->want, "%d \"%s\": %lld", c->status,
		     c->headers, (long long)cache_validity(&cl, &r, NOW));
}

Test(cache, validity_any)
{
	struct cache_valid valid[] = {{404, 60}, {0, 5}};
	struct cache_loc cl = {.valid = valid, .nvalid = 2};
	struct h1_response r = {.version = 11, .status = 503};

	cr_expect_eq(cache_validity(&cl, &r, NOW), 5);
	r.status = 404;
	cr_expect_eq(cache_validity(&cl, &r, NOW), 60);
}

#define HEAD "events {}\nhttp {\n"

struct err_case {
	char conf[200];
	char msg[120];
};

static struct err_case config_errors_cases[] = {
	{"proxy_cache_path /tmp/x levels=1:2;\n", "\"proxy_cache_path\" must have "
						  "\"keys_zone\" parameter in"},
	{"proxy_cache_path /tmp/x levels=3 keys_zone=a:1m;\n",
	 "invalid \"levels\" \"levels=3\" in"},
	{"proxy_cache_path /tmp/x levels=1:2:2:2 keys_zone=a:1m;\n",
	 "invalid \"levels\" \"levels=1:2:2:2\" in"},
	{"proxy_cache_path /tmp/x keys_zone=a;\n", "invalid keys zone size \"keys_zone=a\""},
	{"proxy_cache_path /tmp/x keys_zone=a:1k;\n", "zone \"a\" is too small"},
	{"proxy_cache_path /tmp/x keys_zone=a:1m inactive=x;\n", "invalid inactive value"},
	{"proxy_cache_path /tmp/x keys_zone=a:1m use_temp_path=x;\n",
	 "invalid use_temp_path value \"x\", it must be \"on\" or \"off\""},
	{"proxy_cache_path /tmp/x keys_zone=a:1m bogus=1;\n", "invalid parameter \"bogus=1\""},
	{"server { listen 127.0.0.1:8080; location / { proxy_cache nope; } }\n",
	 "\"proxy_cache\" zone \"nope\" is unknown"},
	{"proxy_cache_valid 200 abc;\n", "invalid time value \"abc\""},
	{"proxy_cache_valid 99 1m;\n", "invalid status \"99\""},
	{"proxy_cache_methods GET PUT;\n", "invalid value \"PUT\""},
	{"proxy_cache_use_stale error off;\n", "invalid value \"off\""},
	{"proxy_ignore_headers Bogus;\n", "invalid value \"Bogus\""},
	{"proxy_cache_lock maybe;\n", "invalid value \"maybe\""},
	{"proxy_cache off; proxy_cache off;\n", "\"proxy_cache\" directive is duplicate"},
};

ParameterizedTestParameters(cache, config_errors)
{
	return cr_make_param_array(struct err_case, config_errors_cases,
				   ARRAY_SIZE(config_errors_cases));
}

ParameterizedTest(struct err_case *e, cache, config_errors)
{
	struct cfgtest t = {0};
	char conf[1024], err[512];
	struct cfg *c;

	snprintf(conf, sizeof(conf), HEAD "%s}\n", e->conf);
	c = cfgtest_load(&t, conf, err, sizeof(err));
	cr_expect_null(c, "accepted: %s", e->conf);
	cr_expect(strstr(err, e->msg) != NULL, "\"%s\" not in \"%s\"", e->msg, err);
	if (c)
		cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(cache, defaults_and_inheritance)
{
	struct cfgtest t = {0};
	char err[512], conf[1024], dir[64] = "/tmp/lbd-cache-ut-XXXXXX";
	struct cfg *c;
	struct cfg_srv *srv;
	struct cfg_loc *a, *b;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf),
		 HEAD "proxy_cache_path %s/c levels=1:2 keys_zone=one:1m max_size=1m inactive=2m;\n"
		      "proxy_cache one;\n"
		      "proxy_cache_valid 200 5m;\n"
		      "proxy_cache_valid 404 1m;\n"
		      "server {\nlisten 127.0.0.1:8080;\n"
		      "location /a { proxy_pass http://127.0.0.1:9; }\n"
		      "location /b { proxy_pass http://127.0.0.1:9; proxy_cache off; "
		      "proxy_cache_methods POST; proxy_cache_lock on; proxy_cache_min_uses 3; "
		      "proxy_cache_use_stale error http_502; proxy_ignore_headers Set-Cookie; "
		      "proxy_cache_revalidate on; proxy_cache_convert_head off; "
		      "if_modified_since before; proxy_cache_background_update on; }\n"
		      "}\n}\n",
		 dir);
	c = cfgtest_load(&t, conf, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	srv = c->http->servers[0];
	cr_assert_eq(srv->loc.nprefix, 2);
	a = srv->loc.prefix[0]->pattern[1] == 'a' ? srv->loc.prefix[0] : srv->loc.prefix[1];
	b = a == srv->loc.prefix[0] ? srv->loc.prefix[1] : srv->loc.prefix[0];
	cr_assert_not_null(a->cache.zc);
	cr_expect_str_eq(a->cache.zc->name, "one");
	cr_expect_eq(a->cache.zc->nlevels, 2);
	cr_expect_eq(a->cache.zc->max_size, 1 << 20);
	cr_expect_eq(a->cache.zc->inactive_ms, 120000);
	cr_expect_not_null(a->cache.zc->zone);
	cr_expect_eq(a->cache.nvalid, 2);
	cr_expect_eq(a->cache.methods, CACHE_M_GET | CACHE_M_HEAD);
	cr_expect_eq(a->cache.min_uses, 1);
	cr_expect_eq(a->cache.lock, 0);
	cr_expect_eq(a->cache.lock_timeout, 5000);
	cr_expect_eq(a->cache.use_stale, 0);
	cr_expect_eq(a->cache.revalidate, 0);
	cr_expect_eq(a->cache.background_update, 0);
	cr_expect_eq(a->cache.convert_head, 1);
	cr_expect_eq(a->cache.ims_mode, CACHE_IMS_EXACT);
	cr_expect_null(b->cache.zc);
	cr_expect_eq(b->cache.methods, CACHE_M_GET | CACHE_M_HEAD | CACHE_M_POST);
	cr_expect_eq(b->cache.lock, 1);
	cr_expect_eq(b->cache.min_uses, 3);
	cr_expect_eq(b->cache.use_stale, CACHE_STALE_ERROR | CACHE_STALE_502);
	cr_expect_eq(b->cache.ignore, CACHE_IGN_SET_COOKIE);
	cr_expect_eq(b->cache.revalidate, 1);
	cr_expect_eq(b->cache.convert_head, 0);
	cr_expect_eq(b->cache.ims_mode, CACHE_IMS_BEFORE);
	cr_expect_eq(b->cache.background_update, 1);
	cfg_unref(c);
	cfgtest_cleanup(&t);
	snprintf(conf, sizeof(conf), "rm -rf %s", dir);
	cr_expect_eq(system(conf), 0);
}

/* A zone starting over a directory left by a stopped process: its temp
 * files go, files that are not entries go, the count starts at 0; a
 * reload keeps the zone (and its counters). */
Test(cache, zone_start_cleans_dir)
{
	char dir[64] = "/tmp/lbd-cache-ut-XXXXXX", p[256];
	struct cache_zone_conf zc = {.name = "ut",
				     .keys_size = 1 << 20,
				     .nlevels = 1,
				     .levels = {1},
				     .inactive_ms = 600000};
	struct cache_zone *z, *z2;
	struct cache_stats st;
	FILE *f;
	char err[256];

	cr_assert_not_null(mkdtemp(dir));
	zc.path = dir;
	snprintf(p, sizeof(p), "%s/a", dir);
	cr_assert_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/a/0123456789abcdef0123456789abcdea.3.tmp", dir);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs("half", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/a/0123456789abcdef0123456789abcdea", dir);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs("not an entry", f);
	fclose(f);
	cr_assert_eq(cache_zone_get(&zc, &z, err, sizeof(err)), 0, "%s", err);
	snprintf(p, sizeof(p), "%s/a/0123456789abcdef0123456789abcdea.3.tmp", dir);
	cr_expect_neq(access(p, F_OK), 0, "temp file kept");
	snprintf(p, sizeof(p), "%s/a/0123456789abcdef0123456789abcdea", dir);
	cr_expect_neq(access(p, F_OK), 0, "junk file kept");
	cr_assert_eq(cache_zone_stats("ut", &st), 0);
	cr_expect_eq(st.entries, 0);
	cr_expect_eq(st.size, 0);
	cr_expect_geq(st.slots, (1 << 20) / 128);
	cr_assert_eq(cache_zone_get(&zc, &z2, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(z, z2, "a reload gets the running zone");
	cr_expect_eq(cache_purge("ut", "nothing", 7, false), 0);
	cr_expect_eq(cache_purge("ut", "no", 2, true), 0);
	cr_expect_eq(cache_purge("other", "x", 1, false), -ENOENT);
	cache_zone_put(z2);
	cache_zone_put(z);
	cr_expect_eq(cache_zone_stats("ut", &st), -ENOENT);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	cr_expect_eq(system(p), 0);
}

/* ---- conditions (nginx's not_modified filter) and variants ---- */

static struct lstr ls(const char *s)
{
	return (struct lstr){s, strlen(s)};
}

Test(cache, etag_match)
{
	cr_expect(cache_etag_match(ls("\"a\""), ls("\"a\""), false));
	cr_expect(cache_etag_match(ls("*"), ls(""), false));
	cr_expect(cache_etag_match(ls("\"x\", \"a\""), ls("\"a\""), false));
	cr_expect(cache_etag_match(ls("\"x\",\"a\" "), ls("\"a\""), false));
	cr_expect_not(cache_etag_match(ls("\"ab\""), ls("\"a\""), false));
	cr_expect_not(cache_etag_match(ls("\"a\"b"), ls("\"a\""), false));
	cr_expect_not(cache_etag_match(ls("\"a\""), ls(""), false));
	/* weak comparison (If-None-Match) ignores W/ on either side */
	cr_expect(cache_etag_match(ls("W/\"a\""), ls("\"a\""), true));
	cr_expect(cache_etag_match(ls("\"a\""), ls("W/\"a\""), true));
	cr_expect(cache_etag_match(ls("\"x\", W/\"a\""), ls("W/\"a\""), true));
	/* strong comparison (If-Match) does not */
	cr_expect_not(cache_etag_match(ls("W/\"a\""), ls("\"a\""), false));
	cr_expect_not(cache_etag_match(ls("\"a\""), ls("W/\"a\""), false));
}

Test(cache, cond_eval)
{
	const char *lm = "Tue, 14 Nov 2023 22:13:20 GMT";
	const char *before = "Mon, 13 Nov 2023 22:13:20 GMT";
	const char *after = "Wed, 15 Nov 2023 22:13:20 GMT";
	struct lstr et = ls("\"v1\""), l = ls(lm), none = {NULL, 0};
	struct cache_cond q;

#define EVAL(st, e, m, mode) cache_cond_eval(&q, st, e, m, mode)
	memset(&q, 0, sizeof(q));
	cr_expect_eq(EVAL(200, et, l, CACHE_IMS_EXACT), 0);
	q.inm = ls("\"v1\"");
	cr_expect_eq(EVAL(200, et, l, CACHE_IMS_EXACT), 304);
	cr_expect_eq(EVAL(404, et, l, CACHE_IMS_EXACT), 0); /* 200s only */
	cr_expect_eq(EVAL(200, none, l, CACHE_IMS_EXACT), 0);
	q.inm = ls("\"v2\"");
	cr_expect_eq(EVAL(200, et, l, CACHE_IMS_EXACT), 0);
	/* If-Modified-Since: exact, before, off */
	memset(&q, 0, sizeof(q));
	q.ims = ls(lm);
	cr_expect_eq(EVAL(200, et, l, CACHE_IMS_EXACT), 304);
	cr_expect_eq(EVAL(200, et, l, CACHE_IMS_OFF), 0);
	cr_expect_eq(EVAL(200, et, none, CACHE_IMS_EXACT), 0);
	q.ims = ls(after);
	cr_expect_eq(EVAL(200, et, l, CACHE_IMS_EXACT), 0);
	cr_expect_eq(EVAL(200, et, l, CACHE_IMS_BEFORE), 304);
	q.ims = ls(before);
	cr_expect_eq(EVAL(200, et, l, CACHE_IMS_BEFORE), 0);
	/* both: each must say "not modified" */
	q.ims = ls(lm);
	q.inm = ls("\"v2\"");
	cr_expect_eq(EVAL(200, et, l, CACHE_IMS_EXACT), 0);
	q.inm = ls("\"v1\"");
	cr_expect_eq(EVAL(200, et, l, CACHE_IMS_EXACT), 304);
	/* If-Match, If-Unmodified-Since: 412 */
	memset(&q, 0, sizeof(q));
	q.im = ls("\"x\"");
	cr_expect_eq(EVAL(200, et, l, CACHE_IMS_EXACT), 412);
	q.im = ls("\"v1\"");
	cr_expect_eq(EVAL(200, et, l, CACHE_IMS_EXACT), 0);
	q.im = ls("*");
	cr_expect_eq(EVAL(200, none, l, CACHE_IMS_EXACT), 0);
	memset(&q, 0, sizeof(q));
	q.ius = ls(before);
	cr_expect_eq(EVAL(200, et, l, CACHE_IMS_EXACT), 412);
	q.ius = ls(lm);
	cr_expect_eq(EVAL(200, et, l, CACHE_IMS_EXACT), 0);
	cr_expect_eq(EVAL(200, et, none, CACHE_IMS_EXACT), 412);
	cr_expect_eq(EVAL(404, et, l, CACHE_IMS_EXACT), 0);
#undef EVAL
}

Test(cache, cond_of_request)
{
	struct h1_header h[] = {
		{.name = {"Host", 4}, .value = {"a", 1}},
		{.name = {"if-none-match", 13}, .value = {"\"x\"", 3}},
		{.name = {"If-Modified-Since", 17}, .value = {"d", 1}},
		{.name = {"If-Range", 8}, .value = {"r", 1}},
	};
	struct cache_cond q;

	cache_cond_of(h, ARRAY_SIZE(h), &q);
	cr_expect_eq(q.inm.len, 3);
	cr_expect_eq(q.ims.len, 1);
	cr_expect_eq(q.im.len, 0);
	cr_expect_eq(q.ius.len, 0);
}

Test(cache, variant_key)
{
	uint8_t main[16], k1[16], k2[16], k3[16], k4[16], k5[16];
	char scratch[512];
	struct h1_header gz[] = {
		{.name = {"Host", 4}, .value = {"a", 1}},
		{.name = {"accept-encoding", 15}, .value = {"gzip", 4}},
	};
	struct h1_header plain[] = {{.name = {"Host", 4}, .value = {"a", 1}}};
	struct h1_header other_host[] = {
		{.name = {"Host", 4}, .value = {"b", 1}},
		{.name = {"Accept-Encoding", 15}, .value = {"gzip", 4}},
	};

	cache_md5("k", 1, main);
	cr_assert_eq(
		cache_variant_key(main, ls("Accept-Encoding"), gz, 2, scratch, sizeof(scratch), k1),
		0);
	cr_assert_eq(cache_variant_key(main, ls("Accept-Encoding"), plain, 1, scratch,
				       sizeof(scratch), k2),
		     0);
	/* a header not named in Vary does not count; names match any case */
	cr_assert_eq(cache_variant_key(main, ls("accept-encoding"), other_host, 2, scratch,
				       sizeof(scratch), k3),
		     0);
	cr_expect_neq(memcmp(k1, k2, 16), 0);
	cr_expect_eq(memcmp(k1, k3, 16), 0);
	cr_expect_neq(memcmp(k1, main, 16), 0);
	/* a second header in the list makes another key */
	cr_assert_eq(cache_variant_key(main, ls("Accept-Encoding, Host"), gz, 2, scratch,
				       sizeof(scratch), k4),
		     0);
	cr_expect_neq(memcmp(k1, k4, 16), 0);
	/* another main key, another variant */
	cache_md5("j", 1, k5);
	cr_assert_eq(
		cache_variant_key(k5, ls("Accept-Encoding"), gz, 2, scratch, sizeof(scratch), k5),
		0);
	cr_expect_neq(memcmp(k1, k5, 16), 0);
	/* "*" and lists that do not fit */
	cr_expect_eq(cache_variant_key(main, ls("*"), gz, 2, scratch, sizeof(scratch), k5), -1);
	cr_expect_eq(cache_variant_key(main, ls("Accept-Encoding"), gz, 2, scratch, 20, k5), -1);
}
