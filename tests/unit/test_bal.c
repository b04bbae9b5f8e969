/* SPDX-License-Identifier: MIT */
/*
 * Balancers and upstream server state: exact nginx sequences and weights,
 * passive health (max_fails / fail_timeout with explicit clocks, no sleeps),
 * backups, max_conns, least_conn, ip_hash, hash, consistent hash (ketama
 * values), random, the tried bitmap, runtime weights, and exactness across
 * threads. Expected hash values were computed from nginx's formulas
 * independently of this code; tests/integ/bal_ketama_check.py checks the
 * same code against a running nginx.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ups.h"

#define MAXS	     8
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* struct tgroup - a group and its servers, as the config layer builds them. */
struct tgroup {
	struct ups_group g;	    /* the group under test */
	struct ups_server sv[MAXS]; /* its servers */
	char names[MAXS][32];	    /* server names */
};

/* Servers "127.0.0.1:3001".. with WEIGHTS (0 ends the list), nginx's
 * defaults max_fails=1 fail_timeout=10s; not yet initialised, so a test may
 * set down/backup/max_conns first. */
static void tg_setup(struct tgroup *t, enum ups_method m, const int *weights)
{
	int i;

	memset(t, 0, sizeof(*t));
	t->g.name = "u";
	t->g.method = m;
	t->g.servers = t->sv;
	for (i = 0; i < MAXS && weights[i]; i++) {
		snprintf(t->names[i], sizeof(t->names[i]), "127.0.0.1:%d", 3001 + i);
		t->sv[i].name = t->names[i];
		t->sv[i].weight = weights[i];
		t->sv[i].max_fails = 1;
		t->sv[i].fail_timeout_ms = 10000;
	}
	t->g.nservers = i;
}

static void tg_init(struct tgroup *t)
{
	cr_assert_eq(ups_group_init(&t->g), 0);
}

/* One request at NOW: the index picked (-1 for none); released at once as a
 * success unless KEEP. */
static int tg_pick_at(struct tgroup *t, struct bal_ctx *ctx, bool keep)
{
	struct ups_server *s = ups_pick(&t->g, ctx);

	if (!s)
		return -1;
	cr_assert(s >= t->sv && s < t->sv + t->g.nservers);
	if (!keep)
		ups_release_server(s, false, ctx->now_ms);
	return s->index;
}

static int tg_pick(struct tgroup *t, int64_t now)
{
	struct bal_ctx ctx = {.now_ms = now};

	return tg_pick_at(t, &ctx, false);
}

static int tg_pick_key(struct tgroup *t, const char *key)
{
	struct bal_ctx ctx = {.now_ms = 1, .key = key, .keylen = strlen(key)};

	return tg_pick_at(t, &ctx, false);
}

static int tg_pick_ip(struct tgroup *t, const char *ip)
{
	struct sockaddr_storage ss = {0};
	struct bal_ctx ctx = {.now_ms = 1, .client = (struct sockaddr *)&ss};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
	} else {
		cr_assert_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1, "bad ip %s", ip);
		sin6->sin6_family = AF_INET6;
	}
	return tg_pick_at(t, &ctx, false);
}

/* Picks at NOW until server WANT comes up (within 2 * nservers picks),
 * releasing the others; WANT's pick stays in flight. */
static bool tg_pick_until(struct tgroup *t, int64_t now, int want)
{
	int i, k;

	for (i = 0; i < 2 * t->g.nservers; i++) {
		struct bal_ctx ctx = {.now_ms = now};

		k = tg_pick_at(t, &ctx, true);
		if (k == want)
			return true;
		if (k >= 0)
			ups_release_server(&t->sv[k], false, now);
	}
	return false;
}

/* --- round robin --------------------------------------------------------- */

/* Parameter structs hold their strings inline: Criterion may run a test in
 * a fresh process where pointers into the parent's data are meaningless. */

/* struct seq_case - weights and the sequence nginx 1.22 produces for them
 * (checked against a running nginx by tests/integ/bal_ketama_check.py). */
struct seq_case {
	int w[MAXS];  /* weights, 0-terminated */
	char seq[32]; /* one full cycle, 'a' = first server */
};

static struct seq_case seq_cases[] = {
	{{5, 2, 1}, "abaacaba"}, /* nginx; a a b a c a b a is not it */
	{{5, 1, 1}, "aabacaa"},	 /* the example of nginx's smooth WRR commit */
	{{1, 1, 1}, "abc"},	 /* equal weights rotate */
	{{1, 2, 3}, "cbacbc"},	 /* ties go to the first server */
	{{4}, "aaaa"},		 /* one server */
};

ParameterizedTestParameters(bal, rr_nginx_sequence)
{
	return cr_make_param_array(struct seq_case, seq_cases, ARRAY_LEN(seq_cases));
}

ParameterizedTest(struct seq_case *c, bal, rr_nginx_sequence)
{
	struct tgroup t;
	size_t i, n = strlen(c->seq);
	char got[64] = {0};

	tg_setup(&t, UPS_M_RR, c->w);
	tg_init(&t);
	/* three cycles: the schedule repeats */
	for (i = 0; i < 3 * n; i++)
		got[i] = (char)('a' + tg_pick(&t, 1));
	for (i = 0; i < 3 * n; i++)
		cr_expect_eq(got[i], c->seq[i % n], "pick %zu: got %s, nginx %s", i, got, c->seq);
	ups_group_release(&t.g);
}

static void count_picks(struct tgroup *t, int n, int64_t now, int *cnt)
{
	int i, k;

	for (i = 0; i < n; i++) {
		k = tg_pick(t, now);
		cr_assert_geq(k, 0);
		cnt[k]++;
	}
}

/* struct retry_case - round robin with server 'b' failing every try, each
 * request retried on the next server: the servers each request went to,
 * as nginx 1.22 sends them (tests/integ/test_rr_retry.py checks the same
 * sequences against a running nginx). */
struct retry_case {
	int w[MAXS];	 /* weights, 0-terminated */
	int max_fails;	 /* of every server */
	char seq[2][48]; /* requests at t=1 s, then at t=20 s (past fail_timeout) */
};

static struct retry_case retry_cases[] = {
	/* the request after a retried one goes to a (the step skipped b) */
	{{1, 1}, 0, {"a ba a ba a ba a ba", ""}},
	{{1, 1}, 3, {"a ba a ba a ba a a a a", ""}},
	/* b rests after one failure; past fail_timeout its effective weight
	 * is 0 and comes back by one per pick: probed on the third request */
	{{1, 1}, 1, {"a ba a", "a a ba a a a a a"}},
	{{3, 2, 1}, 0, {"a ba c a ba a c a ba a ba c", ""}},
};

ParameterizedTestParameters(bal, rr_retry_sequence)
{
	return cr_make_param_array(struct retry_case, retry_cases, ARRAY_LEN(retry_cases));
}

/* The tries of one request at NOW into OUT: letters, then a space. */
static void tg_request_retried(struct tgroup *t, int64_t now, int failing, char *out, size_t *len)
{
	struct bal_ctx ctx = {.now_ms = now};
	struct ups_server *s;
	int tries;

	for (tries = 0; tries < MAXS; tries++) {
		s = ups_pick(&t->g, &ctx);
		cr_assert_not_null(s);
		out[(*len)++] = (char)('a' + s->index);
		ups_release_server(s, s->index == failing, now);
		if (s->index != failing)
			break;
	}
	out[(*len)++] = ' ';
	out[*len] = '\0';
}

ParameterizedTest(struct retry_case *c, bal, rr_retry_sequence)
{
	struct tgroup t;
	char got[64];
	size_t len;
	int part, i, k;

	tg_setup(&t, UPS_M_RR, c->w);
	for (k = 0; k < t.g.nservers; k++)
		t.sv[k].max_fails = c->max_fails;
	tg_init(&t);
	for (part = 0; part < 2; part++) {
		int n = c->seq[part][0] ? 1 : 0;

		for (i = 0; c->seq[part][i]; i++)
			n += c->seq[part][i] == ' ';
		len = 0;
		got[0] = '\0';
		for (i = 0; i < n; i++)
			tg_request_retried(&t, part ? 20000 : 1000, 1, got, &len);
		if (len)
			got[len - 1] = '\0';
		cr_expect_str_eq(got, c->seq[part], "part %d", part);
	}
	ups_group_release(&t.g);
}

Test(bal, rr_exact_weights)
{
	struct tgroup t;
	int cnt[MAXS] = {0};

	tg_setup(&t, UPS_M_RR, (int[]){5, 2, 1, 0});
	tg_init(&t);
	count_picks(&t, 800, 1, cnt);
	cr_expect_eq(cnt[0], 500);
	cr_expect_eq(cnt[1], 200);
	cr_expect_eq(cnt[2], 100);
	cr_expect_eq(atomic_load(&t.sv[0].requests), 500);
	cr_expect_eq(atomic_load(&t.sv[0].active), 0);
	ups_group_release(&t.g);
}

Test(bal, rr_down_server_skipped)
{
	struct tgroup t;
	int cnt[MAXS] = {0};

	tg_setup(&t, UPS_M_RR, (int[]){5, 2, 1, 0});
	t.sv[1].down = true;
	tg_init(&t);
	/* b's positions pass on: the others keep 5:1 exactly */
	count_picks(&t, 600, 1, cnt);
	cr_expect_eq(cnt[0], 500);
	cr_expect_eq(cnt[1], 0);
	cr_expect_eq(cnt[2], 100);
	ups_group_release(&t.g);
}

Test(bal, rr_large_weights_spread_mode)
{
	struct tgroup t;
	int cnt[MAXS] = {0};

	/* 70001 > BAL_RR_SCHED_MAX: no listed schedule, still exact per cycle */
	tg_setup(&t, UPS_M_RR, (int[]){40000, 30000, 1, 0});
	tg_init(&t);
	count_picks(&t, 70001, 1, cnt);
	cr_expect_eq(cnt[0], 40000);
	cr_expect_eq(cnt[1], 30000);
	cr_expect_eq(cnt[2], 1);
	ups_group_release(&t.g);
}

Test(bal, set_weight_rebuilds_schedule)
{
	struct tgroup t;
	int cnt[MAXS] = {0};

	tg_setup(&t, UPS_M_RR, (int[]){1, 1, 0});
	tg_init(&t);
	cr_assert_eq(ups_server_set_weight(&t.g, &t.sv[0], 3), 0);
	count_picks(&t, 400, 1, cnt);
	cr_expect_eq(cnt[0], 300);
	cr_expect_eq(cnt[1], 100);

	/* weight 0: no new requests; twice, so a retired schedule exists */
	cr_assert_eq(ups_server_set_weight(&t.g, &t.sv[1], 0), 0);
	memset(cnt, 0, sizeof(cnt));
	count_picks(&t, 50, 1, cnt);
	cr_expect_eq(cnt[0], 50);
	cr_expect_eq(ups_server_set_weight(&t.g, &t.sv[1], -1), -EINVAL);
	cr_expect_eq(ups_server_set_weight(&t.g, &t.sv[5], 1), -EINVAL);
	ups_group_release(&t.g);
}

/* --- passive health ------------------------------------------------------ */

Test(bal, max_fails_then_fail_timeout)
{
	struct tgroup t;
	struct ups_server *a;
	int i;

	tg_setup(&t, UPS_M_RR, (int[]){1, 1, 0});
	t.sv[0].max_fails = 2;
	tg_init(&t);
	a = &t.sv[0];

	cr_expect_not(ups_server_fail(a, 1000));
	cr_expect(ups_server_usable(a, 1000), "one failure of max_fails=2");
	cr_expect(ups_server_fail(a, 1000), "second failure disables");
	cr_expect_not(ups_server_usable(a, 1000));
	for (i = 0; i < 10; i++)
		cr_expect_eq(tg_pick(&t, 5000), 1, "a is resting");
	/* nginx: skipped while now - checked <= fail_timeout */
	cr_expect_not(ups_server_usable(a, 11000));
	cr_expect(ups_server_usable(a, 11001));

	/* after fail_timeout exactly one request probes a */
	cr_assert(tg_pick_until(&t, 11001, 0));
	for (i = 0; i < 10; i++)
		cr_expect_eq(tg_pick(&t, 11002), 1, "only one probe at a time");
	/* the probe fails: another full fail_timeout of rest */
	ups_release_server(a, true, 11005);
	cr_expect_eq(atomic_load(&a->fails), 3);
	cr_expect_not(ups_server_usable(a, 21005));
	cr_expect(ups_server_usable(a, 21006));

	/* next probe succeeds: failures forgotten, a back in rotation */
	cr_assert(tg_pick_until(&t, 21006, 0));
	ups_release_server(a, false, 21010);
	cr_expect_eq(atomic_load(&a->fails), 0);
	cr_expect_eq(tg_pick(&t, 21011) + tg_pick(&t, 21011), 1, "a and b alternate");
	cr_expect_eq(atomic_load(&a->failures), 3);
	ups_group_release(&t.g);
}

Test(bal, failures_accumulate_until_a_probe_succeeds)
{
	struct tgroup t;
	struct ups_server *a;

	tg_setup(&t, UPS_M_RR, (int[]){1, 1, 0});
	t.sv[0].max_fails = 2;
	tg_init(&t);
	a = &t.sv[0];

	/* nginx: a success inside the window (no probe since the failure)
	 * does not clear the count */
	ups_server_fail(a, 0);
	ups_server_success(a);
	ups_server_fail(a, 2);
	cr_expect_not(ups_server_usable(a, 3));
	ups_group_release(&t.g);

	/* once a pick comes after fail_timeout, its success clears it */
	tg_setup(&t, UPS_M_RR, (int[]){1, 1, 0});
	t.sv[0].max_fails = 2;
	tg_init(&t);
	a = &t.sv[0];
	ups_server_fail(a, 0);
	cr_expect_eq(tg_pick(&t, 20000), 0); /* checked = 20000, then success */
	cr_expect_eq(atomic_load(&a->fails), 0);
	ups_server_fail(a, 20001);
	cr_expect(ups_server_usable(a, 20002), "count restarted at 0");
	ups_group_release(&t.g);
}

Test(bal, max_fails_zero_and_sole_server_never_rest)
{
	struct tgroup t;
	int i;

	tg_setup(&t, UPS_M_RR, (int[]){1, 1, 0});
	t.sv[0].max_fails = 0;
	tg_init(&t);
	for (i = 0; i < 10; i++)
		ups_server_fail(&t.sv[0], 100);
	cr_expect(ups_server_usable(&t.sv[0], 100));
	ups_group_release(&t.g);

	/* nginx never marks a group's single server failed */
	tg_setup(&t, UPS_M_RR, (int[]){1, 0});
	tg_init(&t);
	cr_expect(t.sv[0].sole);
	for (i = 0; i < 10; i++) {
		atomic_fetch_add(&t.sv[0].active, 1);
		ups_release_server(&t.sv[0], true, 100);
	}
	cr_expect_eq(tg_pick(&t, 100), 0);
	cr_expect_eq(atomic_load(&t.sv[0].failures), 10);
	ups_group_release(&t.g);
}

/* --- backups and max_conns ----------------------------------------------- */

Test(bal, backup_only_when_all_primaries_unusable)
{
	struct tgroup t;
	int cnt[MAXS] = {0};
	int i;

	tg_setup(&t, UPS_M_RR, (int[]){1, 1, 2, 1, 0});
	t.sv[2].backup = true;
	t.sv[3].backup = true;
	tg_init(&t);
	count_picks(&t, 100, 1, cnt);
	cr_expect_eq(cnt[0] + cnt[1], 100, "backups idle while primaries serve");

	t.sv[0].down = true;
	ups_server_fail(&t.sv[1], 1);
	memset(cnt, 0, sizeof(cnt));
	count_picks(&t, 300, 2, cnt);
	cr_expect_eq(cnt[2], 200, "backups share by weight");
	cr_expect_eq(cnt[3], 100);

	/* b's fail_timeout is over: back to primaries */
	for (i = 0; i < 10; i++)
		cr_expect_eq(tg_pick(&t, 20000), 1);
	ups_group_release(&t.g);
}

Test(bal, max_conns_respected)
{
	struct tgroup t;
	struct bal_ctx ctx = {.now_ms = 1};
	int i;

	tg_setup(&t, UPS_M_RR, (int[]){1, 1, 1, 0});
	t.sv[0].max_conns = 1;
	t.sv[1].max_conns = 2;
	t.sv[2].backup = true;
	tg_init(&t);
	cr_expect_eq(tg_pick_at(&t, &ctx, true), 0);
	for (i = 0; i < 2; i++) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.now_ms = 1;
		cr_expect_eq(tg_pick_at(&t, &ctx, true), 1, "a is full");
	}
	cr_expect_eq(tg_pick(&t, 1), 2, "every primary full: backup");
	cr_expect_eq(atomic_load(&t.sv[0].active), 1);
	cr_expect_eq(atomic_load(&t.sv[1].active), 2);

	ups_release_server(&t.sv[0], false, 1);
	cr_expect_eq(tg_pick(&t, 1), 0);
	ups_group_release(&t.g);
}

/* --- tried bitmap (proxy_next_upstream) ---------------------------------- */

/* struct tried_case - a method whose retries must skip tried servers. */
struct tried_case {
	enum ups_method m; /* method under test */
	bool consistent;   /* hash KEY consistent */
	bool two;	   /* random two */
};

static struct tried_case tried_cases[] = {
	{UPS_M_RR, false, false},	  /* round robin */
	{UPS_M_LEAST_CONN, false, false}, /* least_conn */
	{UPS_M_IP_HASH, false, false},	  /* ip_hash */
	{UPS_M_HASH, false, false},	  /* hash KEY */
	{UPS_M_HASH, true, false},	  /* hash KEY consistent */
	{UPS_M_RANDOM, false, false},	  /* random */
	{UPS_M_RANDOM, false, true},	  /* random two */
};

ParameterizedTestParameters(bal, tried_bitmap_excludes)
{
	return cr_make_param_array(struct tried_case, tried_cases, ARRAY_LEN(tried_cases));
}

ParameterizedTest(struct tried_case *c, bal, tried_bitmap_excludes)
{
	struct tgroup t;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a000001)};
	struct bal_ctx ctx = {
		.now_ms = 1, .key = "k", .keylen = 1, .client = (struct sockaddr *)&sin};
	bool seen[MAXS] = {false};
	int i, k;

	tg_setup(&t, c->m, (int[]){1, 1, 1, 0});
	t.g.hash_consistent = c->consistent;
	t.g.random_two = c->two;
	tg_init(&t);
	/* one request retried: each try a server not tried yet, then none */
	for (i = 0; i < 3; i++) {
		k = tg_pick_at(&t, &ctx, false);
		cr_assert_geq(k, 0, "try %d", i);
		cr_expect_not(seen[k], "server %d picked twice", k);
		seen[k] = true;
		cr_expect_eq(ctx.tries, i + 1);
	}
	cr_expect_eq(tg_pick_at(&t, &ctx, false), -1);
	ups_group_release(&t.g);
}

/* --- least_conn ---------------------------------------------------------- */

/* struct lc_case - weights, hand-set active counts and the expected pick. */
struct lc_case {
	int w[MAXS];	  /* weights, 0-terminated */
	int active[MAXS]; /* requests in flight */
	int want;	  /* index least_conn must pick */
};

static struct lc_case lc_cases[] = {
	{{1, 1, 1}, {3, 1, 2}, 1}, /* plain least */
	{{1, 1, 1}, {0, 5, 5}, 0}, /* idle one */
	{{2, 1, 1}, {3, 2, 4}, 0}, /* 3/2 < 2/1 */
	{{1, 3, 1}, {1, 2, 1}, 1}, /* 2/3 < 1/1 */
	{{1, 1, 1}, {4, 4, 3}, 2}, /* last one */
};

ParameterizedTestParameters(bal, least_conn_picks_least_loaded)
{
	return cr_make_param_array(struct lc_case, lc_cases, ARRAY_LEN(lc_cases));
}

ParameterizedTest(struct lc_case *c, bal, least_conn_picks_least_loaded)
{
	struct tgroup t;
	int i;

	tg_setup(&t, UPS_M_LEAST_CONN, c->w);
	tg_init(&t);
	for (i = 0; i < t.g.nservers; i++)
		atomic_store(&t.sv[i].active, c->active[i]);
	cr_expect_eq(tg_pick(&t, 1), c->want);
	ups_group_release(&t.g);
}

Test(bal, least_conn_ties_follow_smooth_wrr)
{
	struct tgroup t;
	char got[17] = {0};
	int i;

	/* every pick is released at once: all tied, so nginx's WRR order */
	tg_setup(&t, UPS_M_LEAST_CONN, (int[]){5, 2, 1, 0});
	tg_init(&t);
	for (i = 0; i < 16; i++)
		got[i] = (char)('a' + tg_pick(&t, 1));
	cr_expect_str_eq(got, "abaacabaabaacaba");
	ups_group_release(&t.g);
}

Test(bal, least_conn_backups_and_quick_recovery)
{
	struct tgroup t;

	tg_setup(&t, UPS_M_LEAST_CONN, (int[]){1, 1, 1, 1, 0});
	t.sv[2].backup = true;
	t.sv[3].backup = true;
	tg_init(&t);
	atomic_store(&t.sv[2].active, 3);
	ups_server_fail(&t.sv[0], 1);
	ups_server_fail(&t.sv[1], 1);
	cr_expect_eq(tg_pick(&t, 2), 3, "least loaded backup");

	/* nothing usable: nginx's least_conn clears every failure count */
	t.sv[2].down = true;
	t.sv[3].down = true;
	cr_expect_eq(tg_pick(&t, 2), -1);
	cr_expect_eq(atomic_load(&t.sv[0].fails), 0);
	cr_expect_geq(tg_pick(&t, 3), 0);
	ups_group_release(&t.g);
}

/* --- ip_hash ------------------------------------------------------------- */

/* struct ip_case - a client and where nginx's ip_hash sends it. */
struct ip_case {
	char ip[48]; /* client address */
	int w111;    /* server for weights 1,1,1 */
	int w211;    /* server for weights 2,1,1 */
	int moved;   /* server for 1,1,1 once w111 is down */
};

static struct ip_case ip_cases[] = {
	{"192.168.1.10", 1, 1, 2},  /* private /24 ... */
	{"192.168.1.200", 1, 1, 2}, /* ... and its neighbour */
	{"10.0.0.1", 0, 0, 1},	    /* first server */
	{"172.16.5.4", 1, 1, 2},    /* moves to the last */
	{"8.8.8.8", 2, 2, 1},	    /* moves backwards */
	{"1.2.3.4", 1, 2, 2},	    /* weights change the answer */
	{"203.0.113.7", 0, 0, 2},   /* rehash passes over b */
	{"2001:db8::1", 2, 0, 0},   /* IPv6: all 16 bytes */
	{"::1", 2, 0, 0},	    /* IPv6 loopback */
};

ParameterizedTestParameters(bal, ip_hash_nginx_values)
{
	return cr_make_param_array(struct ip_case, ip_cases, ARRAY_LEN(ip_cases));
}

ParameterizedTest(struct ip_case *c, bal, ip_hash_nginx_values)
{
	struct tgroup t;

	tg_setup(&t, UPS_M_IP_HASH, (int[]){1, 1, 1, 0});
	tg_init(&t);
	cr_expect_eq(tg_pick_ip(&t, c->ip), c->w111, "%s", c->ip);
	t.sv[c->w111].down = true;
	cr_expect_eq(tg_pick_ip(&t, c->ip), c->moved, "%s rehashed", c->ip);
	ups_group_release(&t.g);

	tg_setup(&t, UPS_M_IP_HASH, (int[]){2, 1, 1, 0});
	tg_init(&t);
	cr_expect_eq(tg_pick_ip(&t, c->ip), c->w211, "%s weighted", c->ip);
	ups_group_release(&t.g);
}

Test(bal, ip_hash_sticky_per_slash24_and_weighted)
{
	struct tgroup t;
	int cnt[MAXS] = {0};
	char ip[32];
	int i, k, first;

	tg_setup(&t, UPS_M_IP_HASH, (int[]){2, 1, 1, 0});
	tg_init(&t);
	for (i = 0; i < 2000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 250, i % 250);
		first = tg_pick_ip(&t, ip);
		cnt[first]++;
		/* the same client, and its /24 neighbours, always land together */
		for (k = 2; k < 255; k += 84) {
			snprintf(ip, sizeof(ip), "10.%d.%d.%d", i / 250, i % 250, k);
			cr_assert_eq(tg_pick_ip(&t, ip), first, "%s", ip);
		}
	}
	/* weights 2:1:1 over 2000 /24s */
	cr_expect(cnt[0] > 900 && cnt[0] < 1100, "%d", cnt[0]);
	cr_expect(cnt[1] > 400 && cnt[1] < 600, "%d", cnt[1]);
	cr_expect(cnt[2] > 400 && cnt[2] < 600, "%d", cnt[2]);
	ups_group_release(&t.g);
}

/* --- hash KEY ------------------------------------------------------------ */

/* struct key_case - a key and where nginx's hash sends it. */
struct key_case {
	char key[32]; /* evaluated hash key */
	int w111;     /* server for weights 1,1,1 */
	int w121;     /* server for weights 1,2,1 */
	int moved;    /* server for 1,1,1 once w111 is down */
};

static struct key_case key_cases[] = {
	{"", 0, 0, 1},		  /* empty key: crc32 0 */
	{"a", 2, 2, 1},		  /* one byte */
	{"key1", 1, 0, 2},	  /* weights change the answer */
	{"key2", 0, 1, 2},	  /* ... the other way */
	{"/index.html", 2, 1, 0}, /* a $request_uri */
	{"user42", 0, 2, 2},	  /* rehash lands on the last */
	{"hello world", 0, 1, 1}, /* space in the key */
};

ParameterizedTestParameters(bal, hash_nginx_values)
{
	return cr_make_param_array(struct key_case, key_cases, ARRAY_LEN(key_cases));
}

ParameterizedTest(struct key_case *c, bal, hash_nginx_values)
{
	struct tgroup t;

	tg_setup(&t, UPS_M_HASH, (int[]){1, 1, 1, 0});
	tg_init(&t);
	cr_expect_eq(tg_pick_key(&t, c->key), c->w111, "'%s'", c->key);
	t.sv[c->w111].down = true;
	cr_expect_eq(tg_pick_key(&t, c->key), c->moved, "'%s' rehashed", c->key);
	ups_group_release(&t.g);

	tg_setup(&t, UPS_M_HASH, (int[]){1, 2, 1, 0});
	tg_init(&t);
	cr_expect_eq(tg_pick_key(&t, c->key), c->w121, "'%s' weighted", c->key);
	ups_group_release(&t.g);
}

/* --- hash KEY consistent (ketama) ---------------------------------------- */

/* struct ketama_case - a key and its server on the ring of
 * 127.0.0.1:3001, :3003, :3004 (weight 1 each). */
struct ketama_case {
	char key[32]; /* evaluated hash key */
	int server;   /* its server */
	int next;     /* where it walks on when that server is down */
};

static struct ketama_case ketama_cases[] = {
	{"key1", 1, 2},	 /* crc32 0x2c5c6450 */
	{"key2", 0, 2},	 /* crc32 0xb55535ea */
	{"key3", 2, 1},	 /* crc32 0xc252057c */
	{"key4", 0, 1},	 /* crc32 0x5c3690df */
	{"key5", 2, 1},	 /* crc32 0x2b31a049 */
	{"", 2, 1},	 /* crc32 0: the first point */
	{"/a", 1, 0},	 /* crc32 0x69707b5c */
	{"/b", 1, 0},	 /* crc32 0xf0792ae6 */
	{"user1", 0, 1}, /* crc32 0x8c518555 */
	{"user2", 2, 0}, /* crc32 0x1558d4ef */
};

ParameterizedTestParameters(bal, chash_ketama_values)
{
	return cr_make_param_array(struct ketama_case, ketama_cases, ARRAY_LEN(ketama_cases));
}

ParameterizedTest(struct ketama_case *c, bal, chash_ketama_values)
{
	struct tgroup t;

	tg_setup(&t, UPS_M_HASH, (int[]){1, 1, 1, 0});
	strcpy(t.names[1], "127.0.0.1:3003");
	strcpy(t.names[2], "127.0.0.1:3004");
	t.g.hash_consistent = true;
	tg_init(&t);
	cr_expect_eq(tg_pick_key(&t, c->key), c->server, "'%s'", c->key);
	t.sv[c->server].down = true;
	cr_expect_eq(tg_pick_key(&t, c->key), c->next, "'%s' walked on", c->key);
	ups_group_release(&t.g);
}

Test(bal, chash_removal_only_remaps_its_keys)
{
	static int before[10000];
	struct tgroup t4, t3;
	char key[32];
	int i, k, moved = 0, stayed = 0;

	tg_setup(&t4, UPS_M_HASH, (int[]){1, 1, 1, 1, 0});
	t4.g.hash_consistent = true;
	tg_init(&t4);
	/* the same servers without the third one (names, not positions, matter) */
	tg_setup(&t3, UPS_M_HASH, (int[]){1, 1, 1, 0});
	strcpy(t3.names[2], t4.names[3]);
	t3.g.hash_consistent = true;
	tg_init(&t3);

	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "/item/%d", i);
		before[i] = tg_pick_key(&t4, key);
		k = tg_pick_key(&t3, key);
		if (before[i] == 2) {
			moved++;
			continue;
		}
		cr_assert_str_eq(t3.names[k], t4.names[before[i]], "key %s moved", key);
		stayed++;
	}
	cr_expect(moved > 1500 && moved < 3500, "removed server held %d keys", moved);
	cr_expect_eq(moved + stayed, 10000);
	ups_group_release(&t4.g);
	ups_group_release(&t3.g);
}

Test(bal, chash_spreads_per_weight)
{
	struct tgroup t;
	int cnt[MAXS] = {0};
	char key[32];
	int i;

	tg_setup(&t, UPS_M_HASH, (int[]){1, 1, 2, 0});
	t.g.hash_consistent = true;
	tg_init(&t);
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "session-%d", i);
		cnt[tg_pick_key(&t, key)]++;
	}
	cr_expect(cnt[0] > 2000 && cnt[0] < 3000, "%d", cnt[0]);
	cr_expect(cnt[1] > 2000 && cnt[1] < 3000, "%d", cnt[1]);
	cr_expect(cnt[2] > 4500 && cnt[2] < 5500, "%d", cnt[2]);

	/* a runtime weight change rebuilds the ring */
	cr_assert_eq(ups_server_set_weight(&t.g, &t.sv[2], 0), 0);
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "session-%d", i);
		cr_expect_neq(tg_pick_key(&t, key), 2);
	}
	ups_group_release(&t.g);
}

Test(bal, chash_servers_sharing_a_name_take_turns)
{
	struct tgroup t;
	int cnt[MAXS] = {0};
	int i;

	/* one name resolved to two addresses: one set of points, two servers */
	tg_setup(&t, UPS_M_HASH, (int[]){1, 1, 0});
	strcpy(t.names[1], t.names[0]);
	t.g.hash_consistent = true;
	tg_init(&t);
	for (i = 0; i < 10; i++)
		cnt[tg_pick_key(&t, "k")]++;
	cr_expect_eq(cnt[0], 5);
	cr_expect_eq(cnt[1], 5);
	ups_group_release(&t.g);
}

/* --- random -------------------------------------------------------------- */

Test(bal, random_weighted)
{
	struct tgroup t;
	int cnt[MAXS] = {0};

	bal_random_seed(42);
	tg_setup(&t, UPS_M_RANDOM, (int[]){3, 1, 0});
	tg_init(&t);
	count_picks(&t, 40000, 1, cnt);
	cr_expect(cnt[0] > 29000 && cnt[0] < 31000, "%d", cnt[0]);
	ups_group_release(&t.g);
}

Test(bal, random_two_prefers_less_loaded)
{
	struct tgroup t;
	int cnt[MAXS] = {0};
	int i;

	bal_random_seed(7);
	tg_setup(&t, UPS_M_RANDOM, (int[]){1, 1, 0});
	t.g.random_two = true;
	tg_init(&t);
	atomic_store(&t.sv[0].active, 4);
	for (i = 0; i < 200; i++)
		cr_expect_eq(tg_pick(&t, 1), 1, "both drawn: the idle one wins");
	ups_group_release(&t.g);

	/* a idle, b and c busy: a wins whenever it is one of the two (2/3),
	 * where plain random gives it 1/3 */
	tg_setup(&t, UPS_M_RANDOM, (int[]){1, 1, 1, 0});
	t.g.random_two = true;
	tg_init(&t);
	atomic_store(&t.sv[1].active, 10);
	atomic_store(&t.sv[2].active, 10);
	count_picks(&t, 3000, 1, cnt);
	cr_expect(cnt[0] > 1850 && cnt[0] < 2150, "%d", cnt[0]);
	ups_group_release(&t.g);

	memset(cnt, 0, sizeof(cnt));
	tg_setup(&t, UPS_M_RANDOM, (int[]){1, 1, 1, 0});
	tg_init(&t);
	atomic_store(&t.sv[1].active, 10);
	atomic_store(&t.sv[2].active, 10);
	count_picks(&t, 3000, 1, cnt);
	cr_expect(cnt[0] > 850 && cnt[0] < 1150, "%d", cnt[0]);
	ups_group_release(&t.g);
}

/* --- group set-up -------------------------------------------------------- */

Test(bal, group_init_rejects)
{
	struct tgroup t;

	tg_setup(&t, UPS_M_RR, (int[]){0});
	cr_expect_eq(ups_group_init(&t.g), -EINVAL, "no servers");
	tg_setup(&t, (enum ups_method)42, (int[]){1, 0});
	cr_expect_eq(ups_group_init(&t.g), -EINVAL, "unknown method");
	cr_expect_null(ups_method_ops((enum ups_method)42));
	cr_expect_str_eq(ups_method_ops(UPS_M_LEAST_CONN)->name, "least_conn");

	tg_setup(&t, UPS_M_HASH, (int[]){60000, 10000, 0});
	t.g.hash_consistent = true;
	cr_expect_eq(ups_group_init(&t.g), -E2BIG, "ring too large");
	cr_expect_null(t.g.rr, "nothing left allocated");
}

/* --- threads ------------------------------------------------------------- */

#define THREAD_PICKS 100000

/* struct thread_arg - one worker's share of a concurrent test. */
struct thread_arg {
	struct tgroup *t; /* shared group */
	int64_t now;	  /* clock for every pick */
	int keep;	  /* index whose picks are not released (-1 none) */
	int counts[MAXS]; /* this worker's picks per server */
};

static void *thread_picks(void *p)
{
	struct thread_arg *a = p;
	int i, k;

	for (i = 0; i < THREAD_PICKS; i++) {
		struct bal_ctx ctx = {.now_ms = a->now};
		struct ups_server *s = ups_pick(&a->t->g, &ctx);

		if (!s)
			continue;
		k = s->index;
		a->counts[k]++;
		if (k != a->keep)
			ups_release_server(s, false, a->now);
	}
	return NULL;
}

static void run_threads(struct tgroup *t, int64_t now, int keep, int *total)
{
	struct thread_arg args[2];
	pthread_t th[2];
	int i, k;

	for (i = 0; i < 2; i++) {
		memset(&args[i], 0, sizeof(args[i]));
		args[i].t = t;
		args[i].now = now;
		args[i].keep = keep;
		cr_assert_eq(pthread_create(&th[i], NULL, thread_picks, &args[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		for (k = 0; k < MAXS; k++)
			total[k] += args[i].counts[k];
	}
}

Test(bal, rr_exact_across_threads)
{
	struct tgroup t;
	int total[MAXS] = {0};

	tg_setup(&t, UPS_M_RR, (int[]){5, 2, 1, 0});
	tg_init(&t);
	run_threads(&t, 1, -1, total);
	cr_expect_eq(total[0], 2 * THREAD_PICKS / 8 * 5);
	cr_expect_eq(total[1], 2 * THREAD_PICKS / 8 * 2);
	cr_expect_eq(total[2], 2 * THREAD_PICKS / 8 * 1);
	cr_expect_eq(atomic_load(&t.sv[0].active), 0);
	ups_group_release(&t.g);
}

#define SLOT_ROUNDS 20000

/* struct spin_barrier - both workers leave within nanoseconds of each other
 * (a sleeping pthread barrier wakes them microseconds apart, far wider than
 * the race being tested). */
struct spin_barrier {
	_Atomic int arrived; /* workers waiting in this phase */
	_Atomic int phase;   /* bumped by the last to arrive */
};

static void spin_wait(struct spin_barrier *b)
{
	int phase = atomic_load(&b->phase);
	int spins;

	if (atomic_fetch_add(&b->arrived, 1) == 1) {
		atomic_store(&b->arrived, 0);
		atomic_fetch_add(&b->phase, 1);
		return;
	}
	/* spin a little, then let the other worker run if it shares our CPU */
	for (spins = 0; atomic_load(&b->phase) == phase; spins++) {
		if (spins > 20000)
			sched_yield();
	}
}

/* struct slot_arg - a worker contending for one max_conns=1 server. */
struct slot_arg {
	struct tgroup *t;	      /* shared group */
	struct spin_barrier *barrier; /* starts both picks of a round together */
	_Atomic int *winners;	      /* picks that got the server this round */
	bool overbooked;	      /* a round with two winners */
	int got;		      /* rounds won */
};

static void *thread_slot(void *p)
{
	struct slot_arg *a = p;
	struct ups_server *s;
	int i;

	for (i = 0; i < SLOT_ROUNDS; i++) {
		struct bal_ctx ctx = {.now_ms = 1};

		spin_wait(a->barrier);
		s = ups_pick(&a->t->g, &ctx);
		if (s) {
			a->got++;
			atomic_fetch_add(a->winners, 1);
		}
		spin_wait(a->barrier);
		if (atomic_load(a->winners) > 1)
			a->overbooked = true;
		spin_wait(a->barrier);
		/* one thread resets the round, after both have looked */
		if (s) {
			ups_release_server(s, false, 1);
			atomic_store(a->winners, 0);
		}
	}
	return NULL;
}

Test(bal, max_conns_holds_across_threads)
{
	struct tgroup t;
	struct slot_arg args[2];
	struct spin_barrier barrier = {0};
	_Atomic int winners = 0;
	pthread_t th[2];
	int i;

	tg_setup(&t, UPS_M_RR, (int[]){1, 0});
	t.sv[0].max_conns = 1;
	tg_init(&t);
	for (i = 0; i < 2; i++) {
		args[i] = (struct slot_arg){.t = &t, .barrier = &barrier, .winners = &winners};
		cr_assert_eq(pthread_create(&th[i], NULL, thread_slot, &args[i]), 0);
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	cr_expect_not(args[0].overbooked || args[1].overbooked, "two requests on max_conns=1");
	cr_expect_eq(args[0].got + args[1].got, SLOT_ROUNDS, "one winner every round");
	cr_expect_eq(atomic_load(&t.sv[0].active), 0);
	ups_group_release(&t.g);
}

Test(bal, single_probe_across_threads)
{
	struct tgroup t;
	int total[MAXS] = {0};

	tg_setup(&t, UPS_M_RR, (int[]){1, 1, 0});
	tg_init(&t);
	ups_server_fail(&t.sv[0], 0);
	/* past fail_timeout; picks of a are kept in flight: only one worker
	 * may have been given the probe */
	run_threads(&t, 10001, 0, total);
	cr_expect_eq(total[0], 1);
	cr_expect_eq(total[1], 2 * THREAD_PICKS - 1);
	ups_group_release(&t.g);
}
