/* SPDX-License-Identifier: MIT */
/*
 * Stream upstreams in the operations tools (userspace/sups.c and its use by
 * ctl.c, cfg_stream.c): the walk over http and stream groups, the
 * `stream:`/`http:` name prefixes and the bare-name rule when both kinds
 * use a name, `health_check` in a stream upstream (tcp by default), the
 * control commands on a stream group (list, set-weight moving the exact
 * round-robin share, drain, stats with session and byte counts), and the
 * carry-over of runtime changes of stream groups across a reload.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "cfgtest.h"
#include "ctl.h"
#include "lbd.h"
#include "stats.h"
#include "sups.h"
#include "ups.h"

#define CONF                                                                          \
	"events {}\n"                                                                 \
	"http {\n"                                                                    \
	"  upstream app { server 127.0.0.1:3001; server 127.0.0.1:3002; }\n"          \
	"  server { listen 127.0.0.1:8080; location / { proxy_pass http://app; } }\n" \
	"}\n"                                                                         \
	"stream {\n"                                                                  \
	"  upstream app { server 127.0.0.1:4001; server 127.0.0.1:4002; }\n"          \
	"  upstream db {\n"                                                           \
	"    health_check interval=1s fails=2;\n"                                     \
	"    server 127.0.0.1:5001 weight=3; server 127.0.0.1:5002;\n"                \
	"  }\n"                                                                       \
	"  upstream web { health_check type=http uri=/ok; server 127.0.0.1:6001; }\n" \
	"  server { listen 127.0.0.1:7001; proxy_pass app; }\n"                       \
	"  server { listen 127.0.0.1:7002; proxy_pass db; }\n"                        \
	"  server { listen 127.0.0.1:7003; proxy_pass web; }\n"                       \
	"  server { listen 127.0.0.1:7004; proxy_pass 127.0.0.1:9000; }\n"            \
	"}\n"

static struct cfgtest ct;
static struct cfg *cfg;
static struct ctl_out out;

static void setup(void)
{
	char err[512];

	cfg = cfgtest_load(&ct, CONF, err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
	ctl_out_init(&out);
}

static void teardown(void)
{
	ctl_out_free(&out);
	cfg_unref(cfg);
	cfgtest_cleanup(&ct);
}

#define FIX .init = setup, .fini = teardown

static const char *run(const char *line, enum ctl_rc want)
{
	enum ctl_rc rc;

	ctl_out_reset(&out);
	rc = ctl_exec(NULL, cfg, line, strlen(line), &out);
	cr_assert_eq(rc, want, "\"%s\" -> %d:\n%s", line, rc, out.buf ? out.buf : "");
	return out.buf ? out.buf : "";
}

/* picks - which servers of G the next N picks go to (slots released). */
static void picks(struct ups_group *g, int n, int *count)
{
	for (int i = 0; i < n; i++) {
		struct bal_ctx ctx = {.now_ms = lbd_now_ms()};
		struct ups_server *s = ups_pick(g, &ctx);

		cr_assert_not_null(s);
		count[s->index]++;
		ups_release_server(s, false, lbd_now_ms());
	}
}

Test(sups, walk_http_then_stream, FIX)
{
	const char *want[][2] = {{"app", "http"},
				 {"app", "stream"},
				 {"db", "stream"},
				 {"web", "stream"},
				 {"127.0.0.1:9000", "stream"}};

	cr_assert_eq(sups_ngroups(cfg), 5);
	for (int i = 0; i < 5; i++) {
		struct ups_group *g = sups_group_at(cfg, i);

		cr_assert_not_null(g);
		cr_assert_str_eq(g->name, want[i][0]);
		cr_assert_str_eq(sups_kind_name(g), want[i][1]);
	}
	cr_assert_null(sups_group_at(cfg, 5));
	cr_assert_null(sups_group_at(cfg, -1));
	cr_assert_eq(sups_ngroups(NULL), 0);
	cr_assert(sups_group_at(cfg, 4)->implicit);
}

struct find_case {
	char word[40]; /* arrays: criterion copies the cases into another process */
	int index;     /* in the walk; -1: not found */
};

ParameterizedTestParameters(sups, find)
{
	static struct find_case cases[] = {
		{"app", 0}, /* both kinds: the http one */
		{"http:app", 0},
		{"stream:app", 1},
		{"db", 2}, /* only in stream: found bare */
		{"stream:db", 2},
		{"http:db", -1},
		{"stream:127.0.0.1:9000", 4}, /* implicit groups too */
		{"127.0.0.1:9000", 4},
		{"stream:", -1},
		{"nope", -1},
		{"Stream:app", -1}, /* the prefix is case-sensitive */
	};

	return cr_make_param_array(struct find_case, cases, ARRAY_SIZE(cases));
}

ParameterizedTest(struct find_case *c, sups, find, FIX)
{
	struct ups_group *g = sups_find(cfg, c->word);

	if (c->index < 0)
		cr_assert_null(g, "%s", c->word);
	else
		cr_assert_eq(g, sups_group_at(cfg, c->index), "%s", c->word);
}

Test(sups, parse_name_and_match, FIX)
{
	enum sups_kind k;

	cr_assert_str_eq(sups_parse_name("stream:db", &k), "db");
	cr_assert_eq(k, SUPS_STREAM);
	cr_assert_str_eq(sups_parse_name("http:a:b", &k), "a:b");
	cr_assert_eq(k, SUPS_HTTP);
	cr_assert_str_eq(sups_parse_name("unix:/run/x.sock", &k), "unix:/run/x.sock");
	cr_assert_eq(k, SUPS_ANY);
	/* a bare name selects both kinds for `upstream list` */
	cr_assert(sups_match(sups_group_at(cfg, 0), "app"));
	cr_assert(sups_match(sups_group_at(cfg, 1), "app"));
	cr_assert(!sups_match(sups_group_at(cfg, 0), "stream:app"));
	cr_assert(sups_match(sups_group_at(cfg, 1), "stream:app"));
	cr_assert(!sups_match(sups_group_at(cfg, 1), "http:app"));
}

Test(sups, health_check_tcp_by_default, FIX)
{
	const struct ups_group *db = sups_find(cfg, "db"), *web = sups_find(cfg, "web");

	cr_assert(db->hc.enabled && db->hc.tcp);
	cr_assert_eq(db->hc.interval_ms, 1000);
	cr_assert_eq(db->hc.fails, 2);
	cr_assert(web->hc.enabled && !web->hc.tcp);
	cr_assert_str_eq(web->hc.uri, "/ok");
	cr_assert(!sups_find(cfg, "stream:app")->hc.enabled);
}

Test(sups, health_check_errors, FIX)
{
	static const char *const bad[][2] = {
		{"health_check type=udp;", "invalid value \"type=udp\""},
		{"health_check; health_check;", "\"health_check\" directive is duplicate"},
		{"health_check bogus;", "invalid parameter \"bogus\""},
	};
	char text[512], err[512], want[256];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cfgtest t2 = {0};
		struct cfg *c;

		snprintf(text, sizeof(text),
			 "events {}\nstream {\n  upstream u {\n    %s\n    server 127.0.0.1:1;\n"
			 "  }\n  server { listen 127.0.0.1:7001; proxy_pass u; }\n}\n",
			 bad[i][0]);
		c = cfgtest_load(&t2, text, err, sizeof(err));
		cr_assert_null(c, "%s", text);
		snprintf(want, sizeof(want), "%s in %s:4", bad[i][1], t2.path);
		cr_assert_not_null(strstr(err, want), "%s\nwant: %s", err, want);
		cfgtest_cleanup(&t2);
	}
}

Test(sups, list_shows_both_kinds, FIX)
{
	const char *o = run("upstream list", CTL_RC_OK);

	cr_assert(strncmp(o, "upstream app round-robin\n", 25) == 0, "%s", o);
	cr_assert_not_null(strstr(o, "\nstream upstream app round-robin\n"), "%s", o);
	cr_assert_not_null(strstr(o, "\nstream upstream db round-robin\n  server "), "%s", o);
	/* a stream group counts sessions and bytes; db has health checks */
	cr_assert_not_null(strstr(o, " sessions   failures         sent     received     checks "
				     "last-check\n"),
			   "%s", o);
	/* implicit groups only when named */
	cr_assert_null(strstr(o, "127.0.0.1:9000"), "%s", o);
	o = run("upstream list stream:127.0.0.1:9000", CTL_RC_OK);
	cr_assert(strncmp(o, "stream upstream 127.0.0.1:9000 round-robin implicit\n", 52) == 0,
		  "%s", o);
	/* a bare name lists both kinds, a prefix one */
	o = run("upstream list app", CTL_RC_OK);
	cr_assert_not_null(strstr(o, "127.0.0.1:3001"), "%s", o);
	cr_assert_not_null(strstr(o, "127.0.0.1:4001"), "%s", o);
	o = run("upstream list stream:app", CTL_RC_OK);
	cr_assert_null(strstr(o, "127.0.0.1:3001"), "%s", o);
	cr_assert_not_null(strstr(o, "127.0.0.1:4001"), "%s", o);
	run("upstream list http:db", CTL_RC_ERR);
	cr_assert_str_eq(out.buf, "ERR unknown upstream \"http:db\"\n");
}

Test(sups, list_json, FIX)
{
	struct ups_group *g = sups_find(cfg, "stream:app");
	const char *o;

	sups_session_open();
	atomic_store(&g->servers[0].requests, 1);
	sups_session_close(&g->servers[0], 10, 2000);
	o = run("upstream --json list stream:app", CTL_RC_OK);
	cr_assert_str_eq(
		o,
		"{\"upstreams\":[{\"upstream\":\"app\",\"kind\":\"stream\",\"method\":\"round-robin\","
		"\"implicit\":false,\"servers\":[{\"name\":\"127.0.0.1:4001\",\"weight\":1,"
		"\"config_weight\":1,\"state\":\"up\",\"backup\":false,\"active\":0,\"requests\":1,"
		"\"failures\":0,\"bytes_sent\":10,\"bytes_received\":2000},"
		"{\"name\":\"127.0.0.1:4002\",\"weight\":1,\"config_weight\":1,\"state\":\"up\","
		"\"backup\":false,\"active\":0,\"requests\":0,\"failures\":0,\"bytes_sent\":0,"
		"\"bytes_received\":0}]}]}\nOK\n");
}

Test(sups, set_weight_moves_the_share, FIX)
{
	struct ups_group *sg = sups_find(cfg, "stream:app"), *hg = sups_find(cfg, "http:app");
	int count[2] = {0, 0};

	/* a bare name is the http group; the stream one needs its prefix */
	run("upstream set-weight app 127.0.0.1:4001 3", CTL_RC_ERR);
	cr_assert_str_eq(out.buf, "ERR no server \"127.0.0.1:4001\" in upstream \"app\"\n");
	run("upstream set-weight stream:app 127.0.0.1:3001 3", CTL_RC_ERR);
	cr_assert_str_eq(out.buf, "ERR no server \"127.0.0.1:3001\" in stream upstream \"app\"\n");
	run("upstream set-weight stream:app 127.0.0.1:4001 3", CTL_RC_OK);
	cr_assert_eq(atomic_load(&sg->servers[0].eff_weight), 3);
	cr_assert_eq(atomic_load(&hg->servers[0].eff_weight), 1);
	picks(sg, 40, count);
	cr_assert_eq(count[0], 30, "%d:%d", count[0], count[1]);
	cr_assert_eq(count[1], 10);
	/* a stream-only name needs no prefix */
	run("upstream set-weight db 127.0.0.1:5002 3", CTL_RC_OK);
	cr_assert_eq(atomic_load(&sups_find(cfg, "db")->servers[1].eff_weight), 3);
}

Test(sups, drain_and_enable, FIX)
{
	struct ups_group *g = sups_find(cfg, "stream:app");
	struct bal_ctx ctx = {.now_ms = lbd_now_ms()};
	struct ups_server *held;
	int count[2] = {0, 0};

	/* one session open on 4002 while it is drained */
	do {
		held = ups_pick(g, &ctx);
		ctx = (struct bal_ctx){.now_ms = lbd_now_ms()};
		if (held->index != 1)
			ups_release_server(held, false, lbd_now_ms());
	} while (held->index != 1);
	run("upstream drain stream:app 127.0.0.1:4002", CTL_RC_OK);
	cr_assert_not_null(strstr(run("upstream list stream:app", CTL_RC_OK), " draining "), "%s",
			   out.buf);
	picks(g, 10, count);
	cr_assert_eq(count[1], 0);
	ups_release_server(held, false, lbd_now_ms());
	cr_assert_not_null(strstr(run("upstream list stream:app", CTL_RC_OK), " drained "), "%s",
			   out.buf);
	run("upstream enable stream:app 127.0.0.1:4002", CTL_RC_OK);
	picks(g, 10, count);
	cr_assert_eq(count[1], 5);
}

Test(sups, stats_stream_part, FIX)
{
	struct ups_group *g = sups_find(cfg, "db");
	uint64_t acc0 = atomic_load(&sups_totals.accepted);
	int64_t act0 = atomic_load(&sups_totals.active);
	char want[256];
	const char *o;

	sups_session_open();
	sups_session_open();
	atomic_store(&g->servers[0].requests, 2);
	atomic_store(&g->servers[0].failures, 1);
	sups_session_close(&g->servers[0], 100, 5000);
	sups_session_close(NULL, 0, 0); /* a session that never reached a server */
	atomic_store(&g->servers[1].health, UPS_HEALTH_DOWN);
	o = run("stats", CTL_RC_OK);
	snprintf(want, sizeof(want), "\nstream: sessions accepted %llu active %lld\n",
		 (unsigned long long)acc0 + 2, (long long)act0);
	cr_assert_not_null(strstr(o, want), "%s", o);
	cr_assert_not_null(strstr(o,
				  "\nstream upstream db: servers 2 usable 1 active 0 sessions 2 "
				  "failures 1 sent 100 received 5000\n"
				  "  server 127.0.0.1:5001: weight 3 state up up yes healthy yes "
				  "active 0 sessions 2 failures 1 sent 100 received 5000\n"
				  "  server 127.0.0.1:5002: weight 1 state unhealthy up no healthy "
				  "no active 0 sessions 0 failures 0 sent 0 received 0\n"),
			   "%s", o);
	cr_assert_not_null(strstr(o, "\nstream upstream 127.0.0.1:9000 (implicit): servers 1"),
			   "%s", o);
	/* http lines as before */
	cr_assert_not_null(strstr(o, "\nupstream app: servers 2 usable 2 active 0 requests 0 "
				     "failures 0\n"),
			   "%s", o);
	o = run("stats --json", CTL_RC_OK);
	cr_assert_not_null(strstr(o, ",{\"upstream\":\"db\",\"kind\":\"stream\",\"implicit\":false,"
				     "\"servers\":2,\"usable\":1,\"active\":0,\"sessions\":2,"
				     "\"failures\":1,\"bytes_sent\":100,\"bytes_received\":5000,"
				     "\"per_server\":[{\"name\":\"127.0.0.1:5001\",\"weight\":3,"
				     "\"state\":\"up\",\"up\":true,\"healthy\":true,\"active\":0,"
				     "\"sessions\":2,\"failures\":1,\"bytes_sent\":100,"
				     "\"bytes_received\":5000},"),
			   "%s", o);
	snprintf(want, sizeof(want), ",\"stream\":{\"accepted\":%llu,\"active\":%lld},\"tls\":{",
		 (unsigned long long)acc0 + 2, (long long)act0);
	cr_assert_not_null(strstr(o, want), "%s", o);
}

Test(sups, carry_over_stream_changes, FIX)
{
	char err[512];
	struct cfg *n;
	struct ups_group *ng, *nh;

	run("upstream set-weight stream:app 127.0.0.1:4001 4", CTL_RC_OK);
	run("upstream disable stream:app 127.0.0.1:4002", CTL_RC_OK);
	run("upstream set-weight db 127.0.0.1:5001 7", CTL_RC_OK);
	atomic_store(&sups_find(cfg, "db")->servers[1].health, UPS_HEALTH_DOWN);
	n = cfgtest_load(&ct, CONF, err, sizeof(err));
	cr_assert_not_null(n, "%s", err);
	cr_assert_eq(ctl_carry_over(cfg, n), 4);
	ng = sups_find(n, "stream:app");
	nh = sups_find(n, "http:app");
	cr_assert_eq(atomic_load(&ng->servers[0].eff_weight), 4);
	cr_assert_eq(atomic_load(&ng->servers[1].admin), UPS_ADMIN_DISABLED);
	/* the http group of the same name is left alone */
	cr_assert_eq(atomic_load(&nh->servers[0].eff_weight), 1);
	cr_assert_eq(atomic_load(&nh->servers[1].admin), UPS_ADMIN_UP);
	cr_assert_eq(atomic_load(&sups_find(n, "db")->servers[0].eff_weight), 7);
	cr_assert_eq(atomic_load(&sups_find(n, "db")->servers[1].health), UPS_HEALTH_DOWN);
	cfg_unref(n);
}
