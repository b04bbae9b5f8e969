/* SPDX-License-Identifier: MIT */
/*
 * Request limit tests: limit_req's leaky bucket with an injected clock
 * (burst edges, nodelay, delay=N, r/m rates, several limits and the
 * uncharged earlier limit when a later one rejects), eviction from a full
 * zone, limit_conn counts, zones kept across a reload, and the directives'
 * nginx messages, defaults and inheritance.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "cfgtest.h"
#include "lbd.h"
#include "limit.h"
#include "log.h"

/* A monotonic clock well past 0, as nginx's: a never-charged entry then
 * looks idle for ages. */
#define T0 1000000000LL

/* struct zfix - a zone and its configuration side, as cfg_limit.c makes. */
struct zfix {
	struct rl_zone_conf zc;	 /* name, rate, zone */
	struct rl_req_limit lim; /* burst and delay */
};

static void zfix_init(struct zfix *f, const char *name, int64_t rate_milli, int64_t burst,
		      int64_t delay, int64_t size, int stripes)
{
	memset(f, 0, sizeof(*f));
	f->zc.name = (char *)name;
	f->zc.kind = RL_KIND_REQ;
	f->zc.rate = rate_milli;
	f->zc.zone = rl_zone_new(name, RL_KIND_REQ, size, stripes);
	cr_assert_not_null(f->zc.zone);
	f->lim.zc = &f->zc;
	f->lim.burst = burst * 1000;
	f->lim.delay = delay < 0 ? RL_NODELAY : delay * 1000;
}

static struct rl_req_verdict check1(struct zfix *f, const char *key, int64_t now)
{
	struct rl_req_verdict v;
	struct lstr k = lstr_c(key);

	cr_assert_eq(rl_req_check(&f->lim, 1, &k, false, now, &v), 0);
	return v;
}

/* ---- the leaky bucket ------------------------------------------------------------- */

Test(limit_req, burst_nodelay_40_requests)
{
	struct zfix f;
	int passed = 0, rejected = 0;

	/* rate=10r/s burst=20 nodelay: nginx serves 21 of 40 at once */
	zfix_init(&f, "one", 10000, 20, -1, 1 << 20, 0);
	for (int i = 0; i < 40; i++) {
		struct rl_req_verdict v = check1(&f, "1.2.3.4", T0);

		if (i < 21) {
			cr_expect_eq(v.status, RL_REQ_PASSED, "request %d", i);
			cr_expect_eq(v.delay_ms, 0);
			passed++;
		} else {
			cr_expect_eq(v.status, RL_REQ_REJECTED, "request %d", i);
			/* a rejected request is not charged: always 21.000 */
			cr_expect_eq(v.excess, 21000, "request %d: %lld", i, (long long)v.excess);
			rejected++;
		}
	}
	cr_expect_eq(passed, 21);
	cr_expect_eq(rejected, 19);
	/* 100 ms drain one request at 10r/s: one more passes, then not */
	cr_expect_eq(check1(&f, "1.2.3.4", T0 + 99).status, RL_REQ_REJECTED);
	cr_expect_eq(check1(&f, "1.2.3.4", T0 + 100).status, RL_REQ_PASSED);
	cr_expect_eq(check1(&f, "1.2.3.4", T0 + 100).status, RL_REQ_REJECTED);
	/* another key has its own bucket */
	cr_expect_eq(check1(&f, "5.6.7.8", T0 + 100).status, RL_REQ_PASSED);
	rl_zone_put(f.zc.zone);
}

/* struct bucket_case - requests at one instant and what each gets. */
struct bucket_case {
	char name[24];
	int64_t rate;	   /* milli-requests per second */
	int64_t burst;	   /* requests */
	int64_t delay;	   /* delay= requests, -1 nodelay, 0 none */
	int n;		   /* requests */
	int status[8];	   /* enum rl_req_status of each */
	int64_t delays[8]; /* ms each is held */
};

static struct bucket_case bucket_cases[] = {
	/* no burst: the second at the same instant is refused */
	{"burst0", 1000, 0, 0, 2, {RL_REQ_PASSED, RL_REQ_REJECTED}, {0, 0}},
	/* burst=3 without nodelay: queued 0.5 s apart at 2r/s */
	{"queue",
	 2000,
	 3,
	 0,
	 5,
	 {RL_REQ_PASSED, RL_REQ_DELAYED, RL_REQ_DELAYED, RL_REQ_DELAYED, RL_REQ_REJECTED},
	 {0, 500, 1000, 1500, 0}},
	/* delay=2: the first two excess requests go at once */
	{"delay2",
	 1000,
	 5,
	 2,
	 7,
	 {RL_REQ_PASSED, RL_REQ_PASSED, RL_REQ_PASSED, RL_REQ_DELAYED, RL_REQ_DELAYED,
	  RL_REQ_DELAYED, RL_REQ_REJECTED},
	 {0, 0, 0, 1000, 2000, 3000, 0}},
	/* nodelay: burst served at once */
	{"nodelay",
	 1000,
	 2,
	 -1,
	 4,
	 {RL_REQ_PASSED, RL_REQ_PASSED, RL_REQ_PASSED, RL_REQ_REJECTED},
	 {0, 0, 0, 0}},
	/* 30r/m = 500 milli-requests per second: one request every 2 s */
	{"per_minute",
	 500,
	 1,
	 0,
	 3,
	 {RL_REQ_PASSED, RL_REQ_DELAYED, RL_REQ_REJECTED},
	 {0, 2000, 0}},
};

ParameterizedTestParameters(limit_req, bucket)
{
	return cr_make_param_array(struct bucket_case, bucket_cases, ARRAY_SIZE(bucket_cases));
}

ParameterizedTest(struct bucket_case *tc, limit_req, bucket)
{
	struct zfix f;

	zfix_init(&f, "z", tc->rate, tc->burst, tc->delay, 1 << 20, 0);
	for (int i = 0; i < tc->n; i++) {
		struct rl_req_verdict v = check1(&f, "k", T0);

		cr_expect_eq(v.status, tc->status[i], "%s: request %d got %d", tc->name, i,
			     v.status);
		cr_expect_eq(v.delay_ms, tc->delays[i], "%s: request %d held %lld ms", tc->name, i,
			     (long long)v.delay_ms);
	}
	rl_zone_put(f.zc.zone);
}

Test(limit_req, per_minute_rate_edge)
{
	struct zfix f;

	/* rate=6r/m (100 milli-requests/s), no burst: 10 s between requests */
	zfix_init(&f, "m", 6 * 1000 / 60, 0, 0, 1 << 20, 0);
	cr_expect_eq(check1(&f, "k", T0).status, RL_REQ_PASSED);
	cr_expect_eq(check1(&f, "k", T0 + 9999).status, RL_REQ_REJECTED);
	cr_expect_eq(check1(&f, "k", T0 + 9999).excess, 1);
	cr_expect_eq(check1(&f, "k", T0 + 10000).status, RL_REQ_PASSED);
	rl_zone_put(f.zc.zone);
}

Test(limit_req, dry_run_never_holds_or_rejects)
{
	struct zfix f;
	struct rl_req_verdict v;
	struct lstr k = LSTR("k");

	zfix_init(&f, "d", 1000, 1, 0, 1 << 20, 0);
	cr_assert_eq(rl_req_check(&f.lim, 1, &k, true, T0, &v), 0);
	cr_expect_eq(v.status, RL_REQ_PASSED);
	cr_assert_eq(rl_req_check(&f.lim, 1, &k, true, T0, &v), 0);
	cr_expect_eq(v.status, RL_REQ_DELAYED_DRY_RUN);
	cr_expect_eq(v.delay_ms, 0);
	cr_assert_eq(rl_req_check(&f.lim, 1, &k, true, T0, &v), 0);
	cr_expect_eq(v.status, RL_REQ_REJECTED_DRY_RUN);
	rl_zone_put(f.zc.zone);
}

Test(limit_req, empty_or_huge_key_is_not_limited)
{
	struct zfix f;
	static char big[RL_REQ_KEY_MAX + 2];
	struct lstr empty = LSTR(""), huge = {big, sizeof(big) - 1};
	struct rl_req_verdict v;

	memset(big, 'a', sizeof(big) - 1);
	zfix_init(&f, "e", 1000, 0, 0, 1 << 20, 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(rl_req_check(&f.lim, 1, &empty, false, T0, &v), 0);
		cr_expect_eq(v.status, RL_REQ_NONE);
		cr_assert_eq(rl_req_check(&f.lim, 1, &huge, false, T0, &v), 0);
		cr_expect_eq(v.status, RL_REQ_NONE);
	}
	cr_expect_eq(rl_zone_entries(f.zc.zone), 0);
	rl_zone_put(f.zc.zone);
}

Test(limit_req, later_rejection_leaves_earlier_limit_uncharged)
{
	struct zfix a, b;
	struct rl_req_limit lims[2];
	struct lstr keys[2] = {LSTR("client"), LSTR("user")};
	struct lstr only_a[2] = {LSTR("client"), LSTR("")};
	struct rl_req_verdict v;

	/* a: 1r/s burst=5 (queues); b: 1r/s no burst (refuses) */
	zfix_init(&a, "a", 1000, 5, 0, 1 << 20, 0);
	zfix_init(&b, "b", 1000, 0, 0, 1 << 20, 0);
	lims[0] = a.lim;
	lims[1] = b.lim;
	cr_assert_eq(rl_req_check(lims, 2, keys, false, T0, &v), 0);
	cr_expect_eq(v.status, RL_REQ_PASSED);
	/* b refuses: a was looked at (excess 1) but must not be charged */
	cr_assert_eq(rl_req_check(lims, 2, keys, false, T0, &v), 0);
	cr_expect_eq(v.status, RL_REQ_REJECTED);
	cr_expect_eq(v.limit, 1);
	cr_expect_eq(v.excess, 1000);
	cr_assert_eq(rl_req_check(lims, 2, keys, false, T0, &v), 0);
	cr_expect_eq(v.status, RL_REQ_REJECTED);
	/* with b out of the way (empty key) a is charged once: excess 1, 1 s */
	cr_assert_eq(rl_req_check(lims, 2, only_a, false, T0, &v), 0);
	cr_expect_eq(v.status, RL_REQ_DELAYED);
	cr_expect_eq(v.limit, 0);
	cr_expect_eq(v.excess, 1000);
	cr_expect_eq(v.delay_ms, 1000);
	rl_zone_put(a.zc.zone);
	rl_zone_put(b.zc.zone);
}

Test(limit_req, longest_delay_of_several_limits_wins)
{
	struct zfix a, b;
	struct rl_req_limit lims[2];
	struct lstr keys[2] = {LSTR("k"), LSTR("k")};
	struct rl_req_verdict v;

	/* a drains at 1r/s, b at 4r/s: after two requests a asks 1000 ms */
	zfix_init(&a, "a", 1000, 5, 0, 1 << 20, 0);
	zfix_init(&b, "b", 4000, 5, 0, 1 << 20, 0);
	lims[0] = a.lim;
	lims[1] = b.lim;
	cr_assert_eq(rl_req_check(lims, 2, keys, false, T0, &v), 0);
	cr_expect_eq(v.status, RL_REQ_PASSED);
	cr_assert_eq(rl_req_check(lims, 2, keys, false, T0, &v), 0);
	cr_expect_eq(v.status, RL_REQ_DELAYED);
	cr_expect_eq(v.limit, 0);
	cr_expect_eq(v.delay_ms, 1000);
	rl_zone_put(a.zc.zone);
	rl_zone_put(b.zc.zone);
}

/* ---- a full zone ----------------------------------------------------------------- */

static void key_of(char *buf, int i)
{
	buf[0] = (char)(i >> 24), buf[1] = (char)(i >> 16), buf[2] = (char)(i >> 8),
	buf[3] = (char)i;
}

static struct rl_req_verdict check_i(struct zfix *f, int i, int64_t now)
{
	char k[4];
	struct lstr key = {k, 4};
	struct rl_req_verdict v;

	key_of(k, i);
	cr_assert_eq(rl_req_check(&f->lim, 1, &key, false, now, &v), 0);
	return v;
}

Test(limit_req, full_zone_evicts_least_recently_used)
{
	struct zfix f;
	long cap = RL_ZONE_MIN_SIZE / RL_NODE_COST(4);

	/* one stripe, burst=0: a key still known is refused a second time */
	zfix_init(&f, "full", 1000, 0, 0, RL_ZONE_MIN_SIZE, 1);
	for (int i = 0; i < cap; i++)
		cr_assert_eq(check_i(&f, i, T0).status, RL_REQ_PASSED);
	cr_expect_eq(rl_zone_entries(f.zc.zone), cap);
	/* no room: the oldest (key 0) goes to make room for a new key */
	cr_expect_eq(check_i(&f, (int)cap, T0).status, RL_REQ_PASSED);
	cr_expect_eq(rl_zone_entries(f.zc.zone), cap);
	/* key 0 was forgotten: it passes again (evicting key 1) ... */
	cr_expect_eq(check_i(&f, 0, T0).status, RL_REQ_PASSED);
	/* ... while key 2 is still known and refused */
	cr_expect_eq(check_i(&f, 2, T0).status, RL_REQ_REJECTED);
	cr_expect_eq(check_i(&f, (int)cap, T0).status, RL_REQ_REJECTED);
	rl_zone_put(f.zc.zone);
}

Test(limit_req, stale_entries_expire_two_at_a_time)
{
	struct zfix f;

	zfix_init(&f, "stale", 1000, 0, 0, RL_ZONE_MIN_SIZE, 1);
	for (int i = 0; i < 10; i++)
		check_i(&f, i, T0);
	/* under a minute idle: nothing goes */
	check_i(&f, 100, T0 + 59999);
	cr_expect_eq(rl_zone_entries(f.zc.zone), 11);
	/* a minute idle and drained: each new entry takes two old ones out */
	check_i(&f, 101, T0 + 60000);
	cr_expect_eq(rl_zone_entries(f.zc.zone), 10);
	check_i(&f, 102, T0 + 60000);
	cr_expect_eq(rl_zone_entries(f.zc.zone), 9);
	rl_zone_put(f.zc.zone);
}

/* ---- limit_conn --------------------------------------------------------------------- */

Test(limit_conn, counts_in_progress)
{
	struct rl_zone *z = rl_zone_new("addr", RL_KIND_CONN, 1 << 20, 0);
	struct rl_node *n1, *n2, *n3;

	cr_assert_not_null(z);
	cr_expect_eq(rl_conn_acquire(z, "k", 1, 2, &n1), 0);
	cr_expect_eq(rl_conn_acquire(z, "k", 1, 2, &n2), 0);
	cr_expect_eq(rl_conn_count(z, "k", 1), 2);
	cr_expect_eq(rl_conn_acquire(z, "k", 1, 2, &n3), -EBUSY);
	cr_expect_null(n3);
	cr_expect_eq(rl_conn_acquire(z, "other", 5, 2, &n3), 0);
	rl_conn_release(z, n1);
	cr_expect_eq(rl_conn_acquire(z, "k", 1, 2, &n1), 0);
	rl_conn_release(z, n1);
	rl_conn_release(z, n2);
	rl_conn_release(z, n3);
	/* entries go with their last request */
	cr_expect_eq(rl_conn_count(z, "k", 1), 0);
	cr_expect_eq(rl_zone_entries(z), 0);
	rl_zone_put(z);
}

Test(limit_conn, full_zone_refuses)
{
	struct rl_zone *z = rl_zone_new("tiny", RL_KIND_CONN, RL_ZONE_MIN_SIZE, 1);
	long cap = RL_ZONE_MIN_SIZE / RL_NODE_COST(4);
	struct rl_node *n;
	char k[4];

	for (int i = 0; i < cap; i++) {
		key_of(k, i);
		cr_assert_eq(rl_conn_acquire(z, k, 4, 1, &n), 0);
	}
	key_of(k, (int)cap);
	cr_expect_eq(rl_conn_acquire(z, k, 4, 1, &n), -ENOMEM);
	rl_zone_put(z); /* frees the entries still counted */
}

/* ---- threads ------------------------------------------------------------------------ */

/* struct hammer - one thread's share of a concurrent run. */
struct hammer {
	struct zfix *f;	      /* limit_req zone (or NULL) */
	struct rl_zone *conn; /* limit_conn zone (or NULL) */
	int id;		      /* thread number, for its private keys */
	int passed;	      /* limit_req: requests let through on the shared key */
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;

	for (int i = 0; i < 2000; i++) {
		if (h->f) {
			/* the shared key, then a key of this thread's own */
			if (check1(h->f, "shared", T0).status == RL_REQ_PASSED)
				h->passed++;
			check_i(h->f, h->id * 100000 + i, T0);
		} else {
			struct rl_node *n;

			if (rl_conn_acquire(h->conn, "shared", 6, 1000, &n) == 0)
				rl_conn_release(h->conn, n);
		}
	}
	return NULL;
}

Test(limit_req, threads_share_one_bucket)
{
	struct zfix f;
	struct hammer h[4];
	pthread_t th[4];
	int passed = 0;

	/* frozen clock, burst=99 nodelay: exactly 100 pass, whoever asks */
	zfix_init(&f, "threads", 1000, 99, -1, 10 << 20, 0);
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){.f = &f, .id = i + 1};
		cr_assert_eq(pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		passed += h[i].passed;
	}
	cr_expect_eq(passed, 100);
	cr_expect_eq(rl_zone_entries(f.zc.zone), 1 + 4 * 2000);
	rl_zone_put(f.zc.zone);
}

Test(limit_conn, threads_give_back_every_count)
{
	struct rl_zone *z = rl_zone_new("threads", RL_KIND_CONN, 1 << 20, 0);
	struct hammer h[4];
	pthread_t th[4];

	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){.conn = z, .id = i + 1};
		cr_assert_eq(pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	cr_expect_eq(rl_conn_count(z, "shared", 6), 0);
	cr_expect_eq(rl_zone_entries(z), 0);
	rl_zone_put(z);
}

/* ---- configuration ---------------------------------------------------------------- */

#define HEAD "events {}\nhttp {\n"

static struct rl_zone_conf *zone_named(struct cfg *c, const char *name)
{
	for (struct rl_zone_conf *z = c->http->rl_zones; z; z = z->next)
		if (strcmp(z->name, name) == 0)
			return z;
	return NULL;
}

Test(limit_cfg, zone_kept_across_reload_when_name_and_size_match)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *a, *b, *c;
	struct rl_zone_conf *za, *zb, *zc;
	struct rl_req_verdict v;
	struct rl_req_limit lim;
	struct lstr k = LSTR("k");

	a = cfgtest_load(&t, HEAD "limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s;\n}\n",
			 err, sizeof(err));
	cr_assert_not_null(a, "%s", err);
	za = zone_named(a, "one");
	cr_assert_not_null(za->zone);
	lim = (struct rl_req_limit){za, 0, 0};
	rl_req_check(&lim, 1, &k, false, T0, &v);
	cr_expect_eq(v.status, RL_REQ_PASSED);

	/* same name and size, another rate: same state */
	b = cfgtest_load(&t, HEAD "limit_req_zone $binary_remote_addr zone=one:1m rate=5r/s;\n}\n",
			 err, sizeof(err));
	cr_assert_not_null(b, "%s", err);
	zb = zone_named(b, "one");
	cr_expect_eq(zb->zone, za->zone);
	cr_expect_eq(zb->rate, 5000);
	lim.zc = zb;
	rl_req_check(&lim, 1, &k, false, T0, &v);
	cr_expect_eq(v.status, RL_REQ_REJECTED, "the bucket was kept");

	/* another key for the same zone: refused as nginx does on reload */
	c = cfgtest_load(&t, HEAD "limit_req_zone $remote_addr zone=one:1m rate=1r/s;\n}\n", err,
			 sizeof(err));
	cr_expect_null(c);
	cr_expect_str_eq(err, "limit_req \"one\" uses the \"$remote_addr\" key while previously "
			      "it used the \"$binary_remote_addr\" key");

	/* another size: a new, empty zone */
	c = cfgtest_load(&t, HEAD "limit_req_zone $remote_addr zone=one:2m rate=1r/s;\n}\n", err,
			 sizeof(err));
	cr_assert_not_null(c, "%s", err);
	zc = zone_named(c, "one");
	cr_expect_neq(zc->zone, za->zone);
	lim.zc = zc;
	rl_req_check(&lim, 1, &k, false, T0, &v);
	cr_expect_eq(v.status, RL_REQ_PASSED);
	cfg_unref(a);
	cfg_unref(b);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(limit_cfg, defaults_and_inheritance)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *c;
	struct cfg_srv *srv;
	struct cfg_loc *inherit, *own;

	c = cfgtest_load(&t,
			 HEAD "limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s;\n"
			      "limit_req_zone $uri zone=two:1m rate=30r/m;\n"
			      "limit_conn_zone $binary_remote_addr zone=addr:1m;\n"
			      "limit_req zone=one burst=5;\n"
			      "limit_conn addr 3;\n"
			      "limit_req_status 429;\n"
			      "server {\nlisten 127.0.0.1:8080;\n"
			      "location /a { }\n"
			      "location /b { limit_req zone=two nodelay; limit_req_log_level info; "
			      "limit_conn_dry_run on; }\n"
			      "}\n}\n",
			 err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	srv = c->http->servers[0];
	cr_assert_eq(srv->loc.nprefix, 2);
	inherit = srv->loc.prefix[0]->pattern[1] == 'a' ? srv->loc.prefix[0] : srv->loc.prefix[1];
	own = inherit == srv->loc.prefix[0] ? srv->loc.prefix[1] : srv->loc.prefix[0];
	/* /a has none of its own: http's whole list */
	cr_assert_eq(inherit->rl.nreq, 1);
	cr_expect_str_eq(inherit->rl.req[0].zc->name, "one");
	cr_expect_eq(inherit->rl.req[0].burst, 5000);
	cr_expect_eq(inherit->rl.req[0].delay, 0);
	cr_expect_eq(inherit->rl.req_status, 429);
	cr_expect_eq(inherit->rl.req_log_level, LOG_ERR);
	cr_expect_eq(inherit->rl.req_dry_run, 0);
	cr_expect_eq(inherit->rl.conn_status, 503);
	cr_expect_eq(inherit->rl.conn_log_level, LOG_ERR);
	cr_assert_eq(inherit->rl.nconn, 1);
	cr_expect_eq(inherit->rl.conn[0].conn, 3);
	/* /b has its own limit_req: http's is not added */
	cr_assert_eq(own->rl.nreq, 1);
	cr_expect_str_eq(own->rl.req[0].zc->name, "two");
	cr_expect_eq(own->rl.req[0].zc->rate, 500);
	cr_expect_eq(own->rl.req[0].delay, RL_NODELAY);
	cr_expect_eq(own->rl.req_log_level, LOG_INFO);
	cr_expect_eq(own->rl.conn_dry_run, 1);
	cr_expect_eq(own->rl.nconn, 1);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

/* Strings inline: Criterion runs each parameter in a new process. */
struct cfg_err_case {
	char text[300];
	char msg[160]; /* message without " in FILE:LINE" */
	int line;      /* 0: nginx gives no FILE:LINE */
};

#define RZ	  "limit_req_zone $binary_remote_addr zone=one:10m rate=1r/s;\n"
#define CZ	  "limit_conn_zone $binary_remote_addr zone=addr:10m;\n"
#define LOC_OPEN  "server {\nlisten 127.0.0.1:8080;\nlocation / {\n"
#define LOC_CLOSE "}\n}\n}\n"

static struct cfg_err_case cfg_err_cases[] = {
	{HEAD RZ LOC_OPEN "limit_req zone=two;\n" LOC_CLOSE, "zero size shared memory zone \"two\"",
	 0},
	{HEAD "limit_req_zone $binary_remote_addr zone=one:10m rate=10x/s;\n}\n",
	 "invalid rate \"rate=10x/s\"", 3},
	{HEAD "limit_req_zone $binary_remote_addr zone=one:10m rate=0r/s;\n}\n",
	 "invalid rate \"rate=0r/s\"", 3},
	{HEAD "limit_req_zone $binary_remote_addr zone=one:10m rate=r/s;\n}\n",
	 "invalid rate \"rate=r/s\"", 3},
	{HEAD "limit_req_zone $binary_remote_addr zone=one rate=1r/s;\n}\n",
	 "invalid zone size \"zone=one\"", 3},
	{HEAD "limit_req_zone $binary_remote_addr zone=one:10q rate=1r/s;\n}\n",
	 "invalid zone size \"zone=one:10q\"", 3},
	{HEAD "limit_req_zone $binary_remote_addr zone=one:31k rate=1r/s;\n}\n",
	 "zone \"zone=one:31k\" is too small", 3},
	{HEAD "limit_req_zone $binary_remote_addr zone=:10m rate=1r/s;\n}\n",
	 "\"limit_req_zone\" must have \"zone\" parameter", 3},
	{HEAD "limit_req_zone $binary_remote_addr zone=one:10m;\n}\n",
	 "invalid number of arguments in \"limit_req_zone\" directive", 3},
	{HEAD "limit_req_zone $binary_remote_addr zone=one:10m foo=1;\n}\n",
	 "invalid parameter \"foo=1\"", 3},
	{HEAD RZ "limit_req_zone $remote_addr zone=one:10m rate=1r/s;\n}\n",
	 "limit_req_zone \"one\" is already bound to key \"$binary_remote_addr\"", 4},
	{HEAD RZ "limit_req_zone $remote_addr zone=one:20m rate=1r/s;\n}\n",
	 "the size 20971520 of shared memory zone \"one\" conflicts with already declared size "
	 "10485760",
	 4},
	{HEAD RZ "limit_conn_zone $remote_addr zone=one:10m;\n}\n",
	 "the shared memory zone \"one\" is already declared for a different use", 4},
	{HEAD RZ LOC_OPEN "limit_req zone=one burst=0;\n" LOC_CLOSE,
	 "invalid burst value \"burst=0\"", 7},
	{HEAD RZ LOC_OPEN "limit_req zone=one delay=x;\n" LOC_CLOSE,
	 "invalid delay value \"delay=x\"", 7},
	{HEAD RZ LOC_OPEN "limit_req zone=one foo;\n" LOC_CLOSE, "invalid parameter \"foo\"", 7},
	{HEAD RZ LOC_OPEN "limit_req burst=5;\n" LOC_CLOSE,
	 "\"limit_req\" must have \"zone\" parameter", 7},
	{HEAD RZ LOC_OPEN "limit_req zone=one;\nlimit_req zone=one burst=2;\n" LOC_CLOSE,
	 "\"limit_req\" directive is duplicate", 8},
	{HEAD RZ LOC_OPEN "limit_req_status 399;\n" LOC_CLOSE, "value must be between 400 and 599",
	 7},
	{HEAD RZ LOC_OPEN "limit_req_status abc;\n" LOC_CLOSE,
	 "\"limit_req_status\" directive invalid number", 7},
	{HEAD RZ LOC_OPEN "limit_req_status 429;\nlimit_req_status 429;\n" LOC_CLOSE,
	 "\"limit_req_status\" directive is duplicate", 8},
	{HEAD LOC_OPEN "limit_req_log_level debug;\n" LOC_CLOSE, "invalid value \"debug\"", 6},
	{HEAD LOC_OPEN "limit_req_dry_run maybe;\n" LOC_CLOSE,
	 "invalid value \"maybe\" in \"limit_req_dry_run\" directive, it must be \"on\" or "
	 "\"off\"",
	 6},
	{HEAD LOC_OPEN "limit_req_zone $uri zone=x:1m rate=1r/s;\n" LOC_CLOSE,
	 "\"limit_req_zone\" directive is not allowed here", 6},
	{HEAD "upstream u {\nserver 127.0.0.1:1;\nlimit_req zone=one;\n}\n}\n",
	 "\"limit_req\" directive is not allowed here", 5},
	{HEAD CZ "limit_req zone=addr;\n}\n",
	 "the shared memory zone \"addr\" is already declared for a different use", 4},
	{HEAD CZ LOC_OPEN "limit_conn addr 0;\n" LOC_CLOSE, "invalid number of connections \"0\"",
	 7},
	{HEAD CZ LOC_OPEN "limit_conn addr 65536;\n" LOC_CLOSE,
	 "connection limit must be less 65536", 7},
	{HEAD CZ LOC_OPEN "limit_conn addr 1;\nlimit_conn addr 2;\n" LOC_CLOSE,
	 "\"limit_conn\" directive is duplicate", 8},
	{HEAD CZ LOC_OPEN "limit_conn nosuch 1;\n" LOC_CLOSE,
	 "zero size shared memory zone \"nosuch\"", 0},
	{HEAD "limit_conn_zone $binary_remote_addr foo=addr:10m;\n}\n",
	 "invalid parameter \"foo=addr:10m\"", 3},
	{HEAD CZ "limit_conn_zone $remote_addr zone=addr:10m;\n}\n",
	 "limit_conn_zone \"addr\" is already bound to key \"$binary_remote_addr\"", 4},
	{HEAD CZ LOC_OPEN "limit_conn_status 600;\n" LOC_CLOSE, "value must be between 400 and 599",
	 7},
	{HEAD CZ LOC_OPEN "limit_conn_log_level crit;\n" LOC_CLOSE, "invalid value \"crit\"", 7},
	{HEAD "limit_req_zone $nosuch zone=one:10m rate=1r/s;\n}\n", "unknown \"nosuch\" variable",
	 0},
};

ParameterizedTestParameters(limit_cfg, errors)
{
	return cr_make_param_array(struct cfg_err_case, cfg_err_cases, ARRAY_SIZE(cfg_err_cases));
}

ParameterizedTest(struct cfg_err_case *tc, limit_cfg, errors)
{
	struct cfgtest t = {0};
	char err[1024], want[1024];
	struct cfg *c = cfgtest_load(&t, tc->text, err, sizeof(err));

	cr_assert_null(c, "expected an error for:\n%s", tc->text);
	if (tc->line)
		snprintf(want, sizeof(want), "%s in %s:%d", tc->msg, t.path, tc->line);
	else
		snprintf(want, sizeof(want), "%s", tc->msg);
	cr_expect_str_eq(err, want);
	cfgtest_cleanup(&t);
}

Test(limit_cfg, good_forms_accepted)
{
	static const char *const texts[] = {
		/* limit_req before its zone is declared */
		HEAD LOC_OPEN "limit_req zone=one burst=1 nodelay;\n}\n}\n" RZ "}\n",
		/* a rate without unit, an empty key, the smallest zone, 65535 */
		HEAD "limit_req_zone \"\" zone=e:1m rate=5;\nlimit_conn_zone $uri zone=u:32k;\n"
		     "limit_req zone=e;\nlimit_conn u 65535;\n}\n",
	};
	struct cfgtest t = {0};
	char err[512];

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		struct cfg *c = cfgtest_load(&t, texts[i], err, sizeof(err));

		cr_expect_not_null(c, "%s: %s", texts[i], err);
		cfg_unref(c);
	}
	cfgtest_cleanup(&t);
}

Test(limit, status_names)
{
	cr_expect_null(rl_req_status_name(RL_REQ_NONE));
	cr_expect_str_eq(rl_req_status_name(RL_REQ_PASSED), "PASSED");
	cr_expect_str_eq(rl_req_status_name(RL_REQ_DELAYED), "DELAYED");
	cr_expect_str_eq(rl_req_status_name(RL_REQ_REJECTED), "REJECTED");
	cr_expect_str_eq(rl_req_status_name(RL_REQ_DELAYED_DRY_RUN), "DELAYED_DRY_RUN");
	cr_expect_str_eq(rl_req_status_name(RL_REQ_REJECTED_DRY_RUN), "REJECTED_DRY_RUN");
	cr_expect_null(rl_conn_status_name(RL_CONN_NONE));
	cr_expect_str_eq(rl_conn_status_name(RL_CONN_PASSED), "PASSED");
	cr_expect_str_eq(rl_conn_status_name(RL_CONN_REJECTED), "REJECTED");
	cr_expect_str_eq(rl_conn_status_name(RL_CONN_REJECTED_DRY_RUN), "REJECTED_DRY_RUN");
}
