/* SPDX-License-Identifier: MIT */
/*
 * Built-in fail2ban (userspace/f2b.c): offences counted per client within
 * findtime, the ban fired at maxretry, windows that end, tables shared by
 * name and kept across a reload, bounded tables under an address spray,
 * and the fail2ban_jail / fail2ban directives.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "cfgtest.h"
#include "f2b.h"

static struct f2b_jail jail(const char *name, int maxretry, int64_t findtime_ms)
{
	struct f2b_jail j = {.maxretry = maxretry, .findtime_ms = findtime_ms};

	j.name = (char *)name;
	j.table = f2b_table_get(name);
	cr_assert_not_null(j.table);
	return j;
}

static void addr_of(uint8_t a[16], uint32_t n)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = 10;
	a[13] = (uint8_t)(n >> 16);
	a[14] = (uint8_t)(n >> 8);
	a[15] = (uint8_t)n;
}

Test(f2b, fires_at_maxretry_within_findtime)
{
	struct f2b_jail j = jail("t-fire", 3, 1000);
	uint8_t a[16], b[16];

	addr_of(a, 1);
	addr_of(b, 2);
	cr_assert_not(f2b_offence(&j, a, 10000));
	cr_assert_not(f2b_offence(&j, b, 10001), "another client has its own count");
	cr_assert_not(f2b_offence(&j, a, 10500));
	cr_assert(f2b_offence(&j, a, 10999), "third offence within 1 s");
	/* counted out: the next offence starts a new window */
	cr_assert_not(f2b_offence(&j, a, 11000));
	cr_assert_not(f2b_offence(&j, b, 11000));
	cr_assert(f2b_offence(&j, b, 11001), "b's third within its window");
}

Test(f2b, window_ends)
{
	struct f2b_jail j = jail("t-window", 3, 1000);
	uint8_t a[16];

	addr_of(a, 7);
	cr_assert_not(f2b_offence(&j, a, 5000));
	cr_assert_not(f2b_offence(&j, a, 5500));
	/* 1.5 s after the first: that window is over, this one counts 1 */
	cr_assert_not(f2b_offence(&j, a, 6500));
	cr_assert_not(f2b_offence(&j, a, 6600));
	cr_assert(f2b_offence(&j, a, 6700));
}

Test(f2b, tables_shared_by_name)
{
	struct f2b_jail j1 = jail("t-shared", 2, 60000), j2 = jail("t-shared", 2, 60000);
	uint8_t a[16];

	cr_assert_eq(j1.table, j2.table, "a reload finds the same counters");
	addr_of(a, 9);
	cr_assert_not(f2b_offence(&j1, a, 1000));
	cr_assert(f2b_offence(&j2, a, 1001));
	cr_assert_neq(f2b_table_get("t-other"), j1.table);
}

Test(f2b, spray_is_bounded_and_recent_clients_still_fire)
{
	struct f2b_jail j = jail("t-spray", 2, 60000);
	uint8_t a[16], target[16];

	addr_of(target, 0xabcdef);
	cr_assert_not(f2b_offence(&j, target, 1000));
	/* 200k other addresses in the table of 16384: memory does not grow;
	 * slots are reused, oldest window first */
	for (uint32_t i = 0; i < 200000; i++) {
		addr_of(a, i);
		f2b_offence(&j, a, 2000 + i / 1000);
	}
	/* a client whose offences are close together is still caught */
	addr_of(a, 0x99999);
	cr_assert_not(f2b_offence(&j, a, 5000));
	cr_assert(f2b_offence(&j, a, 5001));
}

Test(f2b, statuses)
{
	struct f2b_jail j = {0};

	f2b_status_set(&j, 404);
	f2b_status_set(&j, 444);
	f2b_status_set(&j, 599);
	f2b_status_set(&j, 99);	 /* ignored */
	f2b_status_set(&j, 600); /* ignored */
	cr_assert(f2b_status_is(&j, 404));
	cr_assert(f2b_status_is(&j, 444));
	cr_assert(f2b_status_is(&j, 599));
	cr_assert_not(f2b_status_is(&j, 403));
	cr_assert_not(f2b_status_is(&j, 200));
	cr_assert_not(f2b_status_is(&j, 0));
}

struct dir_case {
	char http[200]; /* http block body */
	char err[120];	/* expected message start, "" = accepted */
};

ParameterizedTestParameters(f2b, directives)
{
	static struct dir_case cases[] = {
		{"fail2ban_jail bots status=404,444 maxretry=10 findtime=1m bantime=1h;\n"
		 "server { listen 127.0.0.1:1; fail2ban bots; location /x { fail2ban off; } }",
		 ""},
		{"fail2ban_jail flood limit_req;\nfail2ban flood;", ""},
		{"fail2ban_jail a status=404;\nfail2ban_jail a status=403;",
		 "duplicate fail2ban_jail \"a\""},
		{"fail2ban_jail a maxretry=3;", "fail2ban_jail \"a\" counts nothing"},
		{"fail2ban_jail a status=40;", "invalid status list \"status=40\""},
		{"fail2ban_jail a status=404,;", "invalid status list"},
		{"fail2ban_jail a status=404 maxretry=0;", "invalid maxretry \"maxretry=0\""},
		{"fail2ban_jail a status=404 bantime=10ms;", "invalid bantime \"bantime=10ms\""},
		{"fail2ban_jail a status=404 findtime=soon;", "invalid findtime"},
		{"fail2ban_jail a status=404 jail=x;", "invalid parameter \"jail=x\""},
		{"fail2ban nope;", "unknown fail2ban_jail \"nope\""},
		{"fail2ban_jail a status=404;\nfail2ban a;\nfail2ban a;",
		 "\"fail2ban\" directive is duplicate"},
		{"server { fail2ban_jail a status=404; }",
		 "\"fail2ban_jail\" directive is not allowed here"},
	};

	return cr_make_param_array(struct dir_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct dir_case *c, f2b, directives)
{
	struct cfgtest t = {0};
	char conf[512], err[512];
	struct cfg *cfg;

	snprintf(conf, sizeof(conf), "events {}\nhttp {\n%s\n}\n", c->http);
	cfg = cfgtest_load(&t, conf, err, sizeof(err));
	if (!c->err[0]) {
		cr_assert_not_null(cfg, "%s: %s", c->http, err);
		cfg_unref(cfg);
	} else {
		cr_assert_null(cfg, "%s accepted", c->http);
		cr_assert(strncmp(err, c->err, strlen(c->err)) == 0, "%s: got \"%s\"", c->http,
			  err);
		cr_assert(strstr(err, " in /tmp/lbd-cfgtest-"), "no file:line in \"%s\"", err);
	}
	cfgtest_cleanup(&t);
}

Test(f2b, inheritance)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *cfg;
	struct cfg_srv *s;

	cfg = cfgtest_load(&t,
			   "events {}\nhttp {\n"
			   "fail2ban_jail bots status=404 maxretry=7;\n"
			   "fail2ban_jail flood limit_req;\n"
			   "fail2ban bots;\n"
			   "server { listen 127.0.0.1:1;\n"
			   "  location /a { }\n"
			   "  location /b { fail2ban flood bots; }\n"
			   "  location /c { fail2ban off; } }\n}\n",
			   err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
	s = cfg->http->servers[0];
	cr_assert_eq(s->loc.nprefix, 3);
	for (int i = 0; i < 3; i++) {
		struct cfg_loc *l = s->loc.prefix[i];

		if (strcmp(l->pattern, "/a") == 0) {
			cr_assert_eq(l->nf2b, 1, "inherited from http");
			cr_assert_str_eq(l->f2b[0]->name, "bots");
			cr_assert_eq(l->f2b[0]->maxretry, 7);
			cr_assert(f2b_status_is(l->f2b[0], 404));
		} else if (strcmp(l->pattern, "/b") == 0) {
			cr_assert_eq(l->nf2b, 2, "its own list replaces the inherited one");
			cr_assert(l->f2b[0]->on_limit_req);
		} else {
			cr_assert_eq(l->nf2b, 0, "off");
		}
	}
	cfg_unref(cfg);
	cfgtest_cleanup(&t);
}
