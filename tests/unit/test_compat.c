/* SPDX-License-Identifier: MIT */
/*
 * The nginx 1.22 compatibility sweep: browser.c's User-Agent verdicts
 * (each modern_browser rule's marker, offset and version compare,
 * `unlisted`, netscape4, the ancient substrings, $msie), the merge of the
 * browser settings (Opera added and first, values inherited, `unlisted`
 * not), and the -t errors and merges of the other directives: gzip_window
 * and gzip_hash as zlib's parameters, rewrite_log, auth_delay,
 * max_headers, worker_rlimit_core, working_directory, epoll_events.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "browser.h"
#include "cfgtest.h"

/* ---- browser.c ------------------------------------------------------------------- */

struct ua_case {
	char ua[112];  /* the User-Agent; "-" for none (parameters are copied: no pointers) */
	bool modern;   /* under the rules of rules_conf() */
	bool unlisted; /* with `modern_browser unlisted` too */
	bool msie;     /* $msie */
};

static struct browser_conf rules_conf(bool unlisted)
{
	static struct browser_modern rules[] = {
		{BROWSER_OPERA, 9800000},     /* opera 9.80 */
		{BROWSER_MSIE, 9000000},      /* msie 9.0 */
		{BROWSER_GECKO, 1090000},     /* gecko 1.9 */
		{BROWSER_SAFARI, 530000000},  /* safari 530 */
		{BROWSER_KONQUEROR, 3050000}, /* konqueror 3.5 */
	};
	static const char *ancient[] = {"Lynx", "Links"};

	return (struct browser_conf){.modern = rules,
				     .nmodern = 5,
				     .ancient = ancient,
				     .nancient = 2,
				     .unlisted = unlisted,
				     .netscape4 = true,
				     .modern_value = "1",
				     .ancient_value = "1"};
}

ParameterizedTestParameters(browser, verdicts)
{
	static struct ua_case cases[] = {
		{"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", true,
		 true, false},
		{"Mozilla/5.0 (Windows; U; en-US; rv:1.9.0.19) Gecko/2010031422", true, true,
		 false},
		/* too old for its rule: ancient; with `unlisted` the rules failing
		 * leave it to the ancient tests (nginx), which pass it */
		{"Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.8.1.20) Gecko/20081217", false, true,
		 false},
		/* a part past the rule's decides at once: 1.10 > 1.9 */
		{"Mozilla/5.0 (X11; rv:1.10) Gecko/1", true, true, false},
		{"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", false, false, true},
		{"Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)", true, true,
		 true},
		/* the marker is searched past the offset only */
		{"MSIE 9.0 Mozilla/4.0 (compatible; x)", false, true, true},
		/* Opera first, at its own version; its MSIE is not MSIE */
		{"Mozilla/4.0 (compatible; MSIE 9.0; Windows NT 5.0; en) Opera 8.0", true, true,
		 false},
		{"Opera/9.64 (Windows NT 5.1; U; en) Presto/2.1.1", false, true, false},
		{"Opera/9.80 (X11; Linux x86_64; U; en) Presto/2.12.388 Version/12.16", true, true,
		 false},
		{"Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15",
		 true, true, false},
		{"Mozilla/5.0 (Macintosh; U; PPC Mac OS X; en) AppleWebKit/418 Safari/417.9.3",
		 false, true, false},
		{"Mozilla/5.0 (compatible; Konqueror/3.5; Linux) KHTML/3.5.10", true, true, false},
		{"Mozilla/5.0 (compatible; Konqueror/3.1; Linux)", false, true, false},
		/* no rule matches: ancient, unless unlisted (then the ancient tests) */
		{"curl/8.5.0", false, true, false},
		{"Lynx/2.8.9rel.1 libwww-FM/2.14", false, false, false},
		{"Mozilla/4.72 [en] (X11; U; Linux 2.2.14 i686)", false, false, false},
		{"Mozilla/5.0 (compatible; Googlebot/2.1)", false, true, false},
		{"MSIE 6", false, true, false},
		{"", false, true, false},
		{"-", false, true, false},
	};
	return cr_make_param_array(struct ua_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct ua_case *tc, browser, verdicts)
{
	struct browser_conf plain = rules_conf(false), unl = rules_conf(true);
	const char *ua = strcmp(tc->ua, "-") ? tc->ua : NULL;
	size_t len = ua ? strlen(ua) : 0;

	cr_expect_eq(browser_is_modern(&plain, ua, len), tc->modern, "%s", tc->ua);
	cr_expect_eq(browser_is_modern(&unl, ua, len), tc->unlisted, "unlisted %s", tc->ua);
	if (ua)
		cr_expect_eq(browser_msie(ua, len), tc->msie, "msie %s", tc->ua);
	/* the values go with the verdict */
	cr_expect_str_eq(browser_value(&plain, true, ua, len), tc->modern ? "1" : "");
	cr_expect_str_eq(browser_value(&plain, false, ua, len), tc->modern ? "" : "1");
}

Test(browser, no_rules_everything_ancient)
{
	struct browser_conf none = {.modern_value = "1", .ancient_value = "old"};

	cr_expect_not(browser_is_modern(&none, "Mozilla/5.0 (X11; rv:121.0) Gecko/1", 35));
	cr_expect_str_eq(browser_value(&none, false, "x", 1), "old");
	none.unlisted = true;
	cr_expect(browser_is_modern(&none, NULL, 0));
	/* a value is bounded by its length, not a NUL */
	none.unlisted = false;
	{
		static struct browser_modern gecko = {BROWSER_GECKO, 1000000};

		none.modern = &gecko;
		none.nmodern = 1;
		cr_expect_not(browser_is_modern(&none, "Mozilla/5.0 (rv:2.0", 16));
		cr_expect(browser_is_modern(&none, "Mozilla/5.0 (rv:2.0", 19));
	}
}

Test(browser, versions)
{
	uint64_t v;

	cr_expect_eq(browser_version_parse("9", &v), 0);
	cr_expect_eq(v, 9000000);
	cr_expect_eq(browser_version_parse("1.9.0.19", &v), 0);
	cr_expect_eq(v, 1090019);
	cr_expect_eq(browser_version_parse("4000.99.99.99", &v), 0);
	cr_expect_eq(v, 4000999999ULL);
	cr_expect_eq(browser_version_parse("1a", &v), -1);
	cr_expect_eq(browser_kind_of("MSIE"), BROWSER_MSIE);
	cr_expect_eq(browser_kind_of("Konqueror"), BROWSER_KONQUEROR);
	cr_expect_eq(browser_kind_of("chrome"), -1);
}

/* ---- configuration ------------------------------------------------------------------- */

static struct cfg *load_ok(struct cfgtest *t, const char *text)
{
	char err[1024];
	struct cfg *c = cfgtest_load(t, text, err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	return c;
}

Test(compat_cfg, browser_merge)
{
	struct cfgtest t = {0};
	struct cfg *c =
		load_ok(&t, "events {}\nhttp {\n"
			    " modern_browser unlisted;\n"
			    " ancient_browser_value old;\n"
			    " server { listen 127.0.0.1:1;\n"
			    "  modern_browser konqueror 3.5;\n"
			    "  modern_browser msie 9.0;\n"
			    "  location /a { modern_browser_value new; }\n"
			    "  location /b { modern_browser gecko 2; modern_browser opera 10; }\n"
			    " }\n}\n");
	struct cfg_srv *s = c->http->servers[0];
	struct cfg_loc *a = cfgtest_prefix_loc(c, "/a"), *b = cfgtest_prefix_loc(c, "/b");

	cr_assert(a && b);
	/* the server's rules, Opera added first at a version never reached */
	cr_assert_eq(s->loc.browser.nmodern, 3);
	cr_expect_eq(s->loc.browser.modern[0].kind, BROWSER_OPERA);
	cr_expect_eq(s->loc.browser.modern[0].version, BROWSER_VERSION_NEVER);
	cr_expect_eq(s->loc.browser.modern[1].kind, BROWSER_MSIE);
	cr_expect_eq(s->loc.browser.modern[2].kind, BROWSER_KONQUEROR);
	cr_expect_eq(a->browser.modern, s->loc.browser.modern);
	cr_expect_str_eq(a->browser.modern_value, "new");
	cr_expect_str_eq(a->browser.ancient_value, "old");
	cr_expect_str_eq(s->loc.browser.modern_value, "1");
	/* `unlisted` stays where it is written (nginx) */
	cr_expect(c->http->loc.browser.unlisted);
	cr_expect_not(s->loc.browser.unlisted);
	/* Opera named: not added again, sorted first */
	cr_assert_eq(b->browser.nmodern, 2);
	cr_expect_eq(b->browser.modern[0].kind, BROWSER_OPERA);
	cr_expect_eq(b->browser.modern[0].version, 10000000);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(compat_cfg, merges)
{
	struct cfgtest t = {0};
	struct cfg *c =
		load_ok(&t, "worker_rlimit_core 4m;\nworking_directory /tmp;\n"
			    "events { epoll_events 32; debug_connection 10.1.2.3/8;\n"
			    " debug_connection ::1; debug_connection unix:; }\nhttp {\n"
			    " rewrite_log on;\n auth_delay 2s;\n max_headers 50;\n"
			    " gzip_window 4k;\n"
			    " server { listen 127.0.0.1:1;\n"
			    "  location /a { rewrite_log off; gzip_hash 1k; auth_delay 0; }\n"
			    "  location /b { }\n"
			    " }\n"
			    " server { listen 127.0.0.1:2; max_headers 7; }\n}\n");
	struct cfg_loc *a = cfgtest_prefix_loc(c, "/a"), *b = cfgtest_prefix_loc(c, "/b");

	cr_assert(a && b);
	cr_expect_eq(c->worker_rlimit_core, 4 << 20);
	cr_expect_str_eq(c->working_directory, "/tmp");
	cr_expect_eq(c->epoll_events, 32);
	/* 10.0.0.0/8 (host bits cleared) as IPv4-mapped, ::1/128, unix: */
	cr_assert_eq(c->ndebug_conns, 2);
	cr_expect_eq(c->debug_conns[0].plen, 104);
	cr_expect_eq(c->debug_conns[0].addr[12], 10);
	cr_expect_eq(c->debug_conns[0].addr[13], 0);
	cr_expect_eq(c->debug_conns[1].plen, 128);
	cr_expect_eq(c->debug_conns[1].addr[15], 1);
	cr_expect(c->debug_conn_unix);
	cr_expect_eq(a->rewrite_log, 0);
	cr_expect_eq(b->rewrite_log, 1);
	cr_expect_eq(a->auth_delay, 0);
	cr_expect_eq(b->auth_delay, 2000);
	cr_expect_eq(a->gzip.wbits, 12);
	cr_expect_eq(a->gzip.mem_level, 2);
	cr_expect_eq(b->gzip.mem_level, 8);
	cr_expect_eq(c->http->servers[0]->max_headers, 50);
	cr_expect_eq(c->http->servers[1]->max_headers, 7);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(compat_cfg, defaults)
{
	struct cfgtest t = {0};
	struct cfg *c = load_ok(
		&t, "events {}\nhttp {\n server { listen 127.0.0.1:1; location /a { } }\n}\n");
	struct cfg_loc *a = cfgtest_prefix_loc(c, "/a");

	cr_assert_not_null(a);
	cr_expect_eq(a->rewrite_log, 0);
	cr_expect_eq(a->auth_delay, 0);
	cr_expect_eq(a->gzip.wbits, 15);
	cr_expect_eq(a->gzip.mem_level, 8);
	cr_expect_eq(c->http->servers[0]->max_headers, 1000);
	cr_expect_eq(c->worker_rlimit_core, CFG_UNSET);
	cr_expect_null(c->working_directory);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

struct err_case {
	char body[80];
	char msg[120];
};

ParameterizedTestParameters(compat_cfg, location_errors)
{
	static struct err_case cases[] = {
		{"gzip_window 64k;",
		 "\"gzip_window\" directive must be 512, 1k, 2k, 4k, 8k, 16k, or 32k"},
		{"gzip_hash 3k;",
		 "\"gzip_hash\" directive must be 512, 1k, 2k, 4k, 8k, 16k, 32k, 64k, or 128k"},
		{"gzip_hash 1k; gzip_hash 2k;", "\"gzip_hash\" directive is duplicate"},
		{"auth_delay x;", "\"auth_delay\" directive invalid value"},
		{"rewrite_log 1;",
		 "invalid value \"1\" in \"rewrite_log\" directive, it must be \"on\" or \"off\""},
		{"max_headers 5;", "\"max_headers\" directive is not allowed here"},
		{"modern_browser chrome 1;", "unknown browser name \"chrome\""},
		{"modern_browser msie 1a;", "invalid browser version \"1a\""},
		{"modern_browser msie;",
		 "invalid parameter \"msie\" in \"modern_browser\" directive, it must be "
		 "\"unlisted\" or a browser and its version"},
		{"aio_write yes;",
		 "invalid value \"yes\" in \"aio_write\" directive, it must be \"on\" or \"off\""},
		{"read_ahead 1q;", "\"read_ahead\" directive invalid value"},
		{"proxy_send_lowat 1q;", "\"proxy_send_lowat\" directive invalid value"},
		{"http2_pool_size 4k;", "\"http2_pool_size\" directive is not allowed here"},
		{"epoll_events 1;", "\"epoll_events\" directive is not allowed here"},
	};
	return cr_make_param_array(struct err_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct err_case *tc, compat_cfg, location_errors)
{
	cfgtest_location_error(tc->body, tc->msg);
}
