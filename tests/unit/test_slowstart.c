/* SPDX-License-Identifier: MIT */
/*
 * Slow start (`server ... slow_start=TIME`): the ramp of a recovered
 * server's weight at explicit clocks (no sleeps), the share of picks it gets
 * from round robin and least_conn during the ramp, the three recoveries that
 * start it (active checks, the probe after max_fails, lbctl enable is in
 * test_ctl.c), what a sole server and a group without slow_start do, and
 * the configuration rules (nginx Plus: not with hash, ip_hash, random).
 * Also the configuration of the max_conns queue (`queue N [timeout=T]`),
 * whose behaviour tests/integ/test_slow_start.py checks.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfg.h"
#include "cfgtest.h"
#include "hc.h"
#include "ups.h"

#define MAXS	     4
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define T0	     100000 /* ms: the recovery in most tests */
#define SS	     10000  /* ms: slow_start of the ramping server */

/* struct tgroup - a group and its servers, as the config layer builds them. */
struct tgroup {
	struct ups_group g;	    /* the group under test */
	struct ups_server sv[MAXS]; /* its servers */
	char names[MAXS][32];	    /* server names */
};

/* N servers of weight WEIGHT[i]; server 1 has slow_start=SS. */
static void tg_setup(struct tgroup *t, enum ups_method m, const int *weight, int n)
{
	memset(t, 0, sizeof(*t));
	t->g.name = "u";
	t->g.method = m;
	t->g.servers = t->sv;
	t->g.nservers = n;
	for (int i = 0; i < n; i++) {
		snprintf(t->names[i], sizeof(t->names[i]), "127.0.0.1:%d", 3001 + i);
		t->sv[i].name = t->names[i];
		t->sv[i].weight = weight[i];
		t->sv[i].max_fails = 1;
		t->sv[i].fail_timeout_ms = 10000;
	}
	if (n > 1)
		t->sv[1].slow_start_ms = SS;
	cr_assert_eq(ups_group_init(&t->g), 0);
}

/* Picks at NOW, each released at once as a success; per-server counts. */
static void tg_count(struct tgroup *t, int64_t now, int picks, int *count)
{
	memset(count, 0, MAXS * sizeof(*count));
	for (int i = 0; i < picks; i++) {
		struct bal_ctx ctx = {.now_ms = now};
		struct ups_server *s = ups_pick(&t->g, &ctx);

		cr_assert_not_null(s);
		count[s->index]++;
		ups_release_server(s, false, now);
	}
}

/* ---- the ramp ------------------------------------------------------------- */

struct ramp_case {
	enum ups_method method; /* rr or least_conn */
	int64_t at;		/* ms after the recovery */
	int permille;		/* ups_server_ramp() */
	int weight_now;		/* ups_server_weight_now() of a weight-4 server */
};

static struct ramp_case ramp_cases[] = {
	{UPS_M_RR, 0, 1, 1},
	{UPS_M_RR, SS / 4, 250, 1},
	{UPS_M_RR, SS / 2, 500, 2},
	{UPS_M_RR, SS * 3 / 4, 750, 3},
	{UPS_M_RR, SS, UPS_RAMP_FULL, 4},
	{UPS_M_RR, SS * 5, UPS_RAMP_FULL, 4},
	{UPS_M_RR, -50, 1, 1}, /* a worker whose clock lags the stamp */
	{UPS_M_LEAST_CONN, 0, 1, 1},
	{UPS_M_LEAST_CONN, SS / 4, 250, 1},
	{UPS_M_LEAST_CONN, SS / 2, 500, 2},
	{UPS_M_LEAST_CONN, SS, UPS_RAMP_FULL, 4},
};

ParameterizedTestParameters(slowstart, ramp)
{
	return cr_make_param_array(struct ramp_case, ramp_cases, ARRAY_LEN(ramp_cases));
}

ParameterizedTest(struct ramp_case *c, slowstart, ramp)
{
	static const int w[] = {1, 4};
	struct tgroup t;
	struct ups_server *s;

	tg_setup(&t, c->method, w, 2);
	s = &t.sv[1];
	cr_assert(t.g.slow_start);
	/* never recovered: full weight */
	cr_assert_eq(ups_server_ramp(s, T0), UPS_RAMP_FULL);
	ups_server_recovered(s, T0);
	cr_assert_eq(ups_server_ramp(s, T0 + c->at), c->permille);
	cr_assert_eq(ups_server_weight_now(s, T0 + c->at), c->weight_now);
	cr_assert_eq(ups_server_ramp_weight(s, T0 + c->at), 4 * c->permille);
	cr_assert_eq(ups_group_ramping(&t.g, false, T0 + c->at), c->permille < UPS_RAMP_FULL);
	/* the other server never ramps */
	cr_assert_eq(ups_server_ramp(&t.sv[0], T0 + c->at), UPS_RAMP_FULL);
	ups_group_release(&t.g);
}

Test(slowstart, off_and_sole)
{
	static const int w[] = {3, 3};
	struct tgroup t;

	/* no slow_start: a recovery changes nothing */
	tg_setup(&t, UPS_M_RR, w, 2);
	t.sv[1].slow_start_ms = 0;
	ups_group_release(&t.g);
	cr_assert_eq(ups_group_init(&t.g), 0);
	cr_assert_not(t.g.slow_start);
	ups_server_recovered(&t.sv[1], T0);
	cr_assert_eq(ups_server_ramp(&t.sv[1], T0), UPS_RAMP_FULL);
	cr_assert_eq(ups_server_weight_now(&t.sv[1], T0), 3);
	ups_group_release(&t.g);

	/* nginx Plus ignores slow_start on a single server */
	tg_setup(&t, UPS_M_RR, w, 1);
	t.sv[0].slow_start_ms = SS;
	ups_group_release(&t.g);
	cr_assert_eq(ups_group_init(&t.g), 0);
	cr_assert_not(t.g.slow_start);
	ups_server_recovered(&t.sv[0], T0);
	cr_assert_eq(ups_server_ramp(&t.sv[0], T0), UPS_RAMP_FULL);
	ups_group_release(&t.g);
}

/* ---- the share of picks during the ramp ---------------------------------- */

struct share_case {
	enum ups_method method; /* rr or least_conn */
	int64_t at;		/* ms after the recovery */
	int picks;		/* requests made at that instant */
	int want1;		/* picks of the ramping server */
};

/* Two servers of weight 1: the ramping one gets p / (1000 + p) of the
 * picks (smooth WRR on 1000 vs p is exact over each cycle of picks). */
static struct share_case share_cases[] = {
	{UPS_M_RR, SS / 4, 1000, 200}, /* 250 vs 1000: 1 in 5 */
	{UPS_M_RR, SS / 2, 900, 300},  /* 500 vs 1000: 1 in 3 */
	{UPS_M_RR, SS, 1000, 500},     /* over: the exact schedule, 1 in 2 */
	{UPS_M_RR, 0, 1001, 1},	       /* 1 vs 1000 */
	{UPS_M_LEAST_CONN, SS / 4, 1000, 200},
	{UPS_M_LEAST_CONN, SS / 2, 900, 300},
	{UPS_M_LEAST_CONN, SS, 1000, 500},
};

ParameterizedTestParameters(slowstart, share)
{
	return cr_make_param_array(struct share_case, share_cases, ARRAY_LEN(share_cases));
}

ParameterizedTest(struct share_case *c, slowstart, share)
{
	static const int w[] = {1, 1};
	struct tgroup t;
	int count[MAXS];

	tg_setup(&t, c->method, w, 2);
	ups_server_recovered(&t.sv[1], T0);
	tg_count(&t, T0 + c->at, c->picks, count);
	cr_assert_eq(count[1], c->want1, "got %d/%d", count[1], c->picks);
	cr_assert_eq(count[0], c->picks - c->want1);
	ups_group_release(&t.g);
}

/* The share grows over the ramp: 100 picks in each tenth of it. */
Test(slowstart, share_rises)
{
	static const int w[] = {2, 2};
	struct tgroup t;
	int count[MAXS], prev = -1;

	tg_setup(&t, UPS_M_RR, w, 2);
	ups_server_recovered(&t.sv[1], T0);
	for (int k = 0; k <= 10; k++) {
		tg_count(&t, T0 + (int64_t)k * SS / 10, 100, count);
		cr_assert_gt(count[1], prev, "tenth %d: %d after %d", k, count[1], prev);
		prev = count[1];
	}
	cr_assert_eq(prev, 50);
	ups_group_release(&t.g);
}

/* A ramping server that cannot be picked leaves all picks to the others,
 * and a ramping backup is balanced on its ramp too. */
Test(slowstart, unusable_and_backup)
{
	static const int w[] = {1, 1, 1};
	struct tgroup t;
	int count[MAXS];

	tg_setup(&t, UPS_M_RR, w, 3);
	ups_server_recovered(&t.sv[1], T0);
	atomic_store(&t.sv[1].admin, UPS_ADMIN_DISABLED);
	tg_count(&t, T0 + SS / 2, 100, count);
	cr_assert_eq(count[1], 0);
	cr_assert_eq(count[0], 50);
	ups_group_release(&t.g);

	/* primaries 0 (down); backups 1 (ramping) and 2 */
	tg_setup(&t, UPS_M_RR, w, 3);
	ups_group_release(&t.g);
	t.sv[0].down = true;
	t.sv[1].backup = true;
	t.sv[2].backup = true;
	cr_assert_eq(ups_group_init(&t.g), 0);
	ups_server_recovered(&t.sv[1], T0);
	tg_count(&t, T0 + SS / 4, 1000, count);
	cr_assert_eq(count[1], 200);
	cr_assert_eq(count[2], 800);
	ups_group_release(&t.g);
}

/* ---- what starts the ramp ------------------------------------------------- */

Test(slowstart, from_active_checks)
{
	static const int w[] = {1, 1};
	struct tgroup t;
	struct ups_server *s;
	int count[MAXS];

	tg_setup(&t, UPS_M_RR, w, 2);
	t.g.hc.enabled = true;
	t.g.hc.fails = 1;
	t.g.hc.passes = 1;
	s = &t.sv[1];
	cr_assert(hc_report(&t.g, s, UPS_HC_REFUSED, 111, T0 - 5000));
	cr_assert_eq(ups_server_ramp(s, T0 - 4000), UPS_RAMP_FULL); /* down, not ramping */
	tg_count(&t, T0 - 4000, 10, count);
	cr_assert_eq(count[1], 0);
	cr_assert(hc_report(&t.g, s, UPS_HC_OK, 200, T0 - 1000));
	/* healthy again: a ramp at its start until a picker stamps it */
	cr_assert_eq(ups_server_ramp(s, T0), 1);
	tg_count(&t, T0, 1, count);
	cr_assert_eq(atomic_load(&s->ramp_ms), T0);
	cr_assert_eq(ups_server_ramp(s, T0 + SS / 2), 500);
	tg_count(&t, T0 + SS / 2, 900, count);
	cr_assert_eq(count[1], 300);
	/* further passes are no new recovery */
	cr_assert_not(hc_report(&t.g, s, UPS_HC_OK, 200, T0 + SS));
	tg_count(&t, T0 + SS, 10, count);
	cr_assert_eq(atomic_load(&s->ramp_ms), T0);
	cr_assert_eq(ups_server_ramp(s, T0 + SS), UPS_RAMP_FULL);
	ups_group_release(&t.g);
}

Test(slowstart, from_passive_recovery)
{
	static const int w[] = {1, 1};
	struct tgroup t;
	struct ups_server *s;
	struct bal_ctx ctx;
	int64_t probe = T0 + 10001;
	int count[MAXS];

	tg_setup(&t, UPS_M_RR, w, 2);
	s = &t.sv[1];
	/* failures below max_fails cleared by a success: no recovery */
	s->max_fails = 2;
	atomic_store(&s->fails, 1);
	atomic_store(&s->fail_ms, T0 - 100);
	atomic_store(&s->checked_ms, T0 - 50);
	atomic_fetch_add(&s->active, 1);
	ups_release_server(s, false, T0 - 50);
	cr_assert_eq(atomic_load(&s->fails), 0);
	cr_assert_eq(atomic_load(&s->ramp_ms), 0);
	s->max_fails = 1;

	/* max_fails reached: resting for fail_timeout */
	atomic_fetch_add(&s->active, 1);
	ups_release_server(s, true, T0);
	tg_count(&t, T0 + 5000, 10, count);
	cr_assert_eq(count[1], 0);
	/* after fail_timeout one probe goes to it; its success recovers it */
	for (int i = 0; i < 4; i++) {
		ctx = (struct bal_ctx){.now_ms = probe};
		struct ups_server *p = ups_pick(&t.g, &ctx);

		cr_assert_not_null(p);
		ups_release_server(p, false, probe);
		if (p == s)
			break;
	}
	cr_assert_eq(atomic_load(&s->ramp_ms), probe);
	cr_assert_eq(ups_server_ramp(s, probe + SS / 4), 250);
	tg_count(&t, probe + SS / 4, 1000, count);
	cr_assert_eq(count[1], 200);
	ups_group_release(&t.g);
}

/* ---- configuration -------------------------------------------------------- */

static struct cfgtest ct;

static struct cfg *load_text(const char *text, char *err, size_t errlen)
{
	return cfgtest_load(&ct, text, err, errlen);
}

static void cleanup_dir(void)
{
	cfgtest_cleanup(&ct);
}

#define CONF_HEAD "events {}\nhttp {\nupstream u {\n"
#define CONF_TAIL "}\nserver { listen 127.0.0.1:8080; location / { proxy_pass http://u; } }\n}\n"

struct cfg_case {
	char body[160]; /* the upstream block's lines (the first is line 4) */
	char msg[96];	/* start of the error, "" when the config loads */
	int line;	/* line the error names */
};

static struct cfg_case cfg_cases[] = {
	{"server 127.0.0.1:1 slow_start=30s;\nserver 127.0.0.1:2;\n", "", 0},
	{"least_conn;\nserver 127.0.0.1:1;\nserver 127.0.0.1:2 slow_start=1m;\n", "", 0},
	{"server 127.0.0.1:1 slow_start=0;\nserver 127.0.0.1:2;\n", "", 0},
	{"server 127.0.0.1:1 slow_start=abc;\nserver 127.0.0.1:2;\n",
	 "invalid parameter \"slow_start=abc\"", 4},
	{"server 127.0.0.1:1 slow_start=;\n", "invalid parameter \"slow_start=\"", 4},
	{"ip_hash;\nserver 127.0.0.1:1;\nserver 127.0.0.1:2 slow_start=10s;\n",
	 "invalid parameter \"slow_start=10s\"", 6},
	{"server 127.0.0.1:1 slow_start=10s;\nserver 127.0.0.1:2;\nhash $uri;\n",
	 "invalid parameter \"slow_start=10s\"", 4},
	{"hash $uri consistent;\nserver 127.0.0.1:1 slow_start=5s;\n",
	 "invalid parameter \"slow_start=5s\"", 5},
	{"random two;\nserver 127.0.0.1:1;\nserver 127.0.0.1:2 slow_start=2s;\n",
	 "invalid parameter \"slow_start=2s\"", 6},
	/* the max_conns queue */
	{"server 127.0.0.1:1 max_conns=1;\nqueue 10;\n", "", 0},
	{"server 127.0.0.1:1;\nqueue 0;\n", "invalid value \"0\" in \"queue\" directive", 5},
	{"server 127.0.0.1:1;\nqueue x;\n", "invalid value \"x\" in \"queue\" directive", 5},
	{"server 127.0.0.1:1;\nqueue 5 timeout=abc;\n", "invalid parameter \"timeout=abc\"", 5},
	{"server 127.0.0.1:1;\nqueue 5 wait=1s;\n", "invalid parameter \"wait=1s\"", 5},
	{"server 127.0.0.1:1;\nqueue 5;\nqueue 6;\n", "\"queue\" directive is duplicate", 6},
	{"server 127.0.0.1:1;\nqueue 1 2 3;\n", "invalid number of arguments in \"queue\"", 5},
};

ParameterizedTestParameters(slowstart, config)
{
	return cr_make_param_array(struct cfg_case, cfg_cases, ARRAY_LEN(cfg_cases));
}

ParameterizedTest(struct cfg_case *c, slowstart, config, .fini = cleanup_dir)
{
	char text[512], err[512], where[32];
	struct cfg *cf;

	snprintf(text, sizeof(text), "%s%s%s", CONF_HEAD, c->body, CONF_TAIL);
	cf = load_text(text, err, sizeof(err));
	if (!c->msg[0]) {
		cr_assert_not_null(cf, "%s", err);
		cfg_unref(cf);
		return;
	}
	cr_assert_null(cf);
	cr_assert(strncmp(err, c->msg, strlen(c->msg)) == 0, "got: %s", err);
	snprintf(where, sizeof(where), "nginx.conf:%d", c->line);
	cr_assert_not_null(strstr(err, where), "got: %s", err);
}

/* The parsed value reaches the server and the group. */
Test(slowstart, config_value, .fini = cleanup_dir)
{
	char err[512];
	struct cfg *cf =
		load_text(CONF_HEAD "server 127.0.0.1:1;\n"
				    "server 127.0.0.1:2 weight=3 slow_start=1500ms;\n" CONF_TAIL,
			  err, sizeof(err));
	struct ups_group *g;

	cr_assert_not_null(cf, "%s", err);
	g = cf->http->upstreams[0];
	cr_assert_eq(g->servers[0].slow_start_ms, 0);
	cr_assert_eq(g->servers[1].slow_start_ms, 1500);
	cr_assert(g->slow_start);
	cr_assert_eq(g->queue_max, 0, "no queue unless configured");
	cfg_unref(cf);
	cleanup_dir();

	cf = load_text(CONF_HEAD "server 127.0.0.1:1;\nqueue 7;\n" CONF_TAIL, err, sizeof(err));
	cr_assert_not_null(cf, "%s", err);
	g = cf->http->upstreams[0];
	cr_assert_eq(g->queue_max, 7);
	cr_assert_eq(g->queue_timeout_ms, 60000, "nginx Plus's default");
	cfg_unref(cf);
	cleanup_dir();

	cf = load_text(CONF_HEAD "server 127.0.0.1:1;\nqueue 3 timeout=1500ms;\n" CONF_TAIL, err,
		       sizeof(err));
	cr_assert_not_null(cf, "%s", err);
	g = cf->http->upstreams[0];
	cr_assert_eq(g->queue_max, 3);
	cr_assert_eq(g->queue_timeout_ms, 1500);
	cfg_unref(cf);
}
