/* SPDX-License-Identifier: MIT */
/*
 * Control socket tests: the dispatcher (ctl_exec) on a configuration built
 * from a temporary file — errors with their exact message, each command's
 * output, the effect of set-weight and drain/disable/enable on the
 * balancer, the protocol's framing invariant, and the carry-over of runtime
 * changes to a reloaded configuration.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl.h"
#include "hc.h"
#include "lbd.h"
#include "stats.h"
#include "ups.h"

static char dir[64];

static struct cfg *load_text(const char *text)
{
	char path[128], prefix[80], err[1024] = "";
	struct cfg_opts o;
	struct cfg *c;
	FILE *f;

	if (!dir[0]) {
		strcpy(dir, "/tmp/lbd-ctl-XXXXXX");
		cr_assert_not_null(mkdtemp(dir));
		snprintf(path, sizeof(path), "%s/logs", dir);
		cr_assert_eq(mkdir(path, 0755), 0);
	}
	snprintf(path, sizeof(path), "%s/nginx.conf", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(prefix, sizeof(prefix), "%s/", dir);
	o = (struct cfg_opts){.conf_file = path, .prefix = prefix};
	c = cfg_load(&o, err, sizeof(err));
	cr_assert_not_null(c, "cfg_load: %s", err);
	return c;
}

static void cleanup_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (dir[0] && system(cmd) != 0)
		cr_log_warn("cleanup of %s failed", dir);
	dir[0] = '\0';
}

#define CONF                                                                                  \
	"events {}\nhttp {\n"                                                                 \
	"upstream app {\n"                                                                    \
	"  server 127.0.0.1:3001;\n  server 127.0.0.1:3002 weight=2;\n"                       \
	"  server 127.0.0.1:3003 backup;\n}\n"                                                \
	"upstream other { least_conn; server 127.0.0.1:4001; server 127.0.0.1:4002 down; }\n" \
	"server { listen 127.0.0.1:8080; location / { proxy_pass http://app; }\n"             \
	"  location /o { proxy_pass http://other; }\n"                                        \
	"  location /i { proxy_pass http://127.0.0.1:5001; } }\n}\n"

static struct cfg *cfg;
static struct ctl_out out;
static int posted;

static int record_signal(int sig)
{
	posted = sig;
	return 0;
}

static const struct ctl_env env = {
	.pid = 4242,
	.start_ms = 0,
	.workers = 2,
	.post_signal = record_signal,
};

static void setup(void)
{
	cfg = load_text(CONF);
	ctl_out_init(&out);
	posted = 0;
}

static void teardown(void)
{
	ctl_out_free(&out);
	cfg_unref(cfg);
	cleanup_dir();
}

/* run - execute LINE with a fresh output; returns the output text. */
static const char *run(const char *line, enum ctl_rc want)
{
	enum ctl_rc rc;

	ctl_out_reset(&out);
	rc = ctl_exec(&env, cfg, line, strlen(line), &out);
	cr_assert_eq(rc, want, "\"%s\" -> %d:\n%s", line, rc, out.buf ? out.buf : "");
	return out.buf ? out.buf : "";
}

static struct ups_group *group(const char *name)
{
	for (int i = 0; i < cfg->http->nupstreams; i++)
		if (strcmp(cfg->http->upstreams[i]->name, name) == 0)
			return cfg->http->upstreams[i];
	cr_assert_fail("no upstream %s", name);
	return NULL;
}

/* framing - the body has no line "OK" nor one starting with "ERR", and the
 * output ends with exactly one terminating line. */
static void assert_framing(const char *o)
{
	const char *p = o, *last = NULL;

	while (*p) {
		const char *nl = strchr(p, '\n');

		cr_assert_not_null(nl, "unterminated line in:\n%s", o);
		if (nl[1] != '\0')
			cr_assert(!(nl - p == 2 && strncmp(p, "OK", 2) == 0) &&
					  strncmp(p, "ERR", 3) != 0,
				  "body line looks terminating in:\n%s", o);
		last = p;
		p = nl + 1;
	}
	cr_assert_not_null(last);
	cr_assert(strcmp(last, "OK\n") == 0 || strncmp(last, "ERR ", 4) == 0, "last line: %s",
		  last);
}

/* --- errors: exact messages ---------------------------------------------- */

struct err_case {
	char line[160]; /* request */
	char msg[160];	/* expected response: the ERR line */
};

static struct err_case err_cases[] = {
	{"", "ERR empty command (try: help)\n"},
	{"   \t ", "ERR empty command (try: help)\n"},
	{"bogus", "ERR unknown command \"bogus\" (try: help)\n"},
	{"upstream",
	 "ERR \"upstream\" needs a subcommand: list, set-weight, drain, disable, enable\n"},
	{"upstream frobnicate app",
	 "ERR unknown \"upstream\" subcommand \"frobnicate\" (try: help)\n"},
	{"status extra", "ERR usage: status\n"},
	{"upstream list a b", "ERR usage: upstream list [UPSTREAM]\n"},
	{"upstream list nope", "ERR unknown upstream \"nope\"\n"},
	{"upstream set-weight app 127.0.0.1:3001",
	 "ERR usage: upstream set-weight UPSTREAM SERVER WEIGHT\n"},
	{"upstream set-weight nope 127.0.0.1:3001 3", "ERR unknown upstream \"nope\"\n"},
	{"upstream set-weight app 127.0.0.1:9 3",
	 "ERR no server \"127.0.0.1:9\" in upstream \"app\"\n"},
	{"upstream set-weight app 127.0.0.1:3001 x", "ERR invalid weight \"x\" (0..10000)\n"},
	{"upstream set-weight app 127.0.0.1:3001 -1", "ERR invalid weight \"-1\" (0..10000)\n"},
	{"upstream set-weight app 127.0.0.1:3001 10001",
	 "ERR invalid weight \"10001\" (0..10000)\n"},
	{"upstream set-weight app 127.0.0.1:3001 3x", "ERR invalid weight \"3x\" (0..10000)\n"},
	{"upstream set-weight app 127.0.0.1:3001 99999999999999999999",
	 "ERR invalid weight \"99999999999999999999\" (0..10000)\n"},
	{"upstream drain app", "ERR usage: upstream drain UPSTREAM SERVER\n"},
	{"upstream drain app 127.0.0.1:9", "ERR no server \"127.0.0.1:9\" in upstream \"app\"\n"},
	{"upstream enable x y", "ERR unknown upstream \"x\"\n"},
	{"upstream disable app", "ERR usage: upstream disable UPSTREAM SERVER\n"},
	{"stat\x01us", "ERR invalid byte 0x01 in command\n"},
	{"a b c d e f g h i j k l m n o p q r", "ERR too many words (max 16)\n"},
};

ParameterizedTestParameters(ctl, errors)
{
	return cr_make_param_array(struct err_case, err_cases, ARRAY_SIZE(err_cases));
}

ParameterizedTest(struct err_case *c, ctl, errors, .init = setup, .fini = teardown)
{
	cr_assert_str_eq(run(c->line, CTL_RC_ERR), c->msg);
	/* an error changes nothing */
	cr_assert_eq(atomic_load(&group("app")->servers[0].eff_weight), 1);
	cr_assert_eq(atomic_load(&group("app")->servers[0].admin), UPS_ADMIN_UP);
}

Test(ctl, line_length_bound, .init = setup, .fini = teardown)
{
	char *line = malloc(CTL_LINE_MAX + 2);

	cr_assert_not_null(line);
	/* exactly CTL_LINE_MAX bytes is parsed (an unknown command) */
	memset(line, 'x', CTL_LINE_MAX);
	ctl_out_reset(&out);
	cr_assert_eq(ctl_exec(&env, cfg, line, CTL_LINE_MAX, &out), CTL_RC_ERR);
	cr_assert(strncmp(out.buf, "ERR unknown command", 19) == 0, "%s", out.buf);
	/* one more is refused before parsing */
	ctl_out_reset(&out);
	line[CTL_LINE_MAX] = 'x';
	cr_assert_eq(ctl_exec(&env, cfg, line, CTL_LINE_MAX + 1, &out), CTL_RC_ERR);
	cr_assert_str_eq(out.buf, "ERR line too long (max 4096 bytes)\n");
	free(line);
}

Test(ctl, nul_byte_refused, .init = setup, .fini = teardown)
{
	ctl_out_reset(&out);
	cr_assert_eq(ctl_exec(&env, cfg, "status\0x", 8, &out), CTL_RC_ERR);
	cr_assert_str_eq(out.buf, "ERR invalid byte 0x00 in command\n");
}

Test(ctl, crlf_tolerated, .init = setup, .fini = teardown)
{
	const char *o = run("upstream list app\r", CTL_RC_OK);

	cr_assert(strncmp(o, "upstream app round-robin\n", 25) == 0, "%s", o);
}

/* --- commands ------------------------------------------------------------ */

Test(ctl, help_lists_every_command, .init = setup, .fini = teardown)
{
	static const char *const want[] = {
		"  help ",
		"  status ",
		"  upstream list [UPSTREAM] ",
		"  upstream set-weight UPSTREAM SERVER WEIGHT ",
		"  upstream drain UPSTREAM SERVER ",
		"  upstream disable UPSTREAM SERVER ",
		"  upstream enable UPSTREAM SERVER ",
		"  stats ",
		"  reload ",
		"  reopen ",
	};
	const char *o = run("help", CTL_RC_OK);

	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		cr_assert_not_null(strstr(o, want[i]), "missing %s in:\n%s", want[i], o);
	assert_framing(o);
}

Test(ctl, status, .init = setup, .fini = teardown)
{
	const char *o = run("status", CTL_RC_OK);
	char conf[200];

	cr_assert(strncmp(o, "version: lbd/", 13) == 0, "%s", o);
	cr_assert_not_null(strstr(o, "\npid: 4242\n"), "%s", o);
	cr_assert_not_null(strstr(o, "\nworkers: 2\n"), "%s", o);
	cr_assert_not_null(strstr(o, "\nfeatures: unknown\n"), "%s", o);
	snprintf(conf, sizeof(conf), "\nconfig: %s/nginx.conf\n", dir);
	cr_assert_not_null(strstr(o, conf), "%s", o);
	assert_framing(o);
	o = run("status --json", CTL_RC_OK);
	cr_assert(strncmp(o, "{\"version\":\"", 12) == 0, "%s", o);
	cr_assert_not_null(strstr(o, "\"pid\":4242,"), "%s", o);
	cr_assert_not_null(strstr(o, "\"features\":null}\nOK\n"), "%s", o);
}

Test(ctl, upstream_list_table, .init = setup, .fini = teardown)
{
	const char *o = run("upstream list", CTL_RC_OK);

	cr_assert_str_eq(
		o,
		"upstream app round-robin\n"
		"  server                       weight state     backup   active   requests   failures\n"
		"  127.0.0.1:3001                    1 up            no        0          0          0\n"
		"  127.0.0.1:3002                    2 up            no        0          0          0\n"
		"  127.0.0.1:3003                    1 backup       yes        0          0          0\n"
		"upstream other least_conn\n"
		"  server                       weight state     backup   active   requests   failures\n"
		"  127.0.0.1:4001                    1 up            no        0          0          0\n"
		"  127.0.0.1:4002                    1 down          no        0          0          0\n"
		"OK\n");
	/* the implicit group of `proxy_pass http://ADDR` only when named */
	o = run("upstream list 127.0.0.1:5001", CTL_RC_OK);
	cr_assert(strncmp(o, "upstream 127.0.0.1:5001 round-robin implicit\n", 45) == 0, "%s", o);
}

Test(ctl, upstream_list_json, .init = setup, .fini = teardown)
{
	const char *o = run("upstream --json list other", CTL_RC_OK);

	cr_assert_str_eq(
		o,
		"{\"upstreams\":[{\"upstream\":\"other\",\"kind\":\"http\",\"method\":\"least_conn\","
		"\"implicit\":false,"
		"\"servers\":[{\"name\":\"127.0.0.1:4001\",\"weight\":1,\"config_weight\":1,"
		"\"state\":\"up\",\"backup\":false,\"active\":0,\"requests\":0,\"failures\":0},"
		"{\"name\":\"127.0.0.1:4002\",\"weight\":1,\"config_weight\":1,\"state\":\"down\","
		"\"backup\":false,\"active\":0,\"requests\":0,\"failures\":0}]}]}\nOK\n");
}

/* picks - which servers of G the next N picks go to (slots released). */
static void picks(struct ups_group *g, int n, int *count)
{
	for (int i = 0; i < n; i++) {
		struct bal_ctx ctx = {.now_ms = lbd_now_ms()};
		struct ups_server *s = ups_pick(g, &ctx);

		cr_assert_not_null(s);
		count[s->index]++;
		ups_release_server(s, false, ctx.now_ms);
	}
}

Test(ctl, set_weight_changes_the_schedule, .init = setup, .fini = teardown)
{
	struct ups_group *g = group("app");
	int count[3] = {0};

	run("upstream set-weight app 127.0.0.1:3001 5", CTL_RC_OK);
	cr_assert_eq(atomic_load(&g->servers[0].eff_weight), 5);
	cr_assert_eq(g->servers[0].weight, 1, "the configured weight stays");
	picks(g, 70, count); /* weights 5:2 over 70 picks */
	cr_assert_eq(count[0], 50);
	cr_assert_eq(count[1], 20);
	cr_assert_eq(count[2], 0);
	cr_assert_not_null(strstr(run("upstream list app", CTL_RC_OK),
				  "  127.0.0.1:3001                    5 up "));
	/* weight 0: no new requests */
	run("upstream set-weight app 127.0.0.1:3001 0", CTL_RC_OK);
	memset(count, 0, sizeof(count));
	picks(g, 10, count);
	cr_assert_eq(count[0], 0);
	cr_assert_eq(count[1], 10);
}

struct admin_case {
	char cmd[16];  /* drain, disable */
	int admin;     /* expected admin state */
	char idle[16]; /* state shown with no request in flight */
	char busy[16]; /* state shown with one in flight */
};

static struct admin_case admin_cases[] = {
	{"drain", UPS_ADMIN_DRAIN, "drained", "draining"},
	{"disable", UPS_ADMIN_DISABLED, "disabled", "disabled"},
};

ParameterizedTestParameters(ctl, admin)
{
	return cr_make_param_array(struct admin_case, admin_cases, ARRAY_SIZE(admin_cases));
}

ParameterizedTest(struct admin_case *c, ctl, admin, .init = setup, .fini = teardown)
{
	struct ups_group *g = group("app");
	struct ups_server *s2 = &g->servers[1];
	int count[3] = {0};
	char line[80], want[80];

	snprintf(line, sizeof(line), "upstream %s app 127.0.0.1:3002", c->cmd);
	run(line, CTL_RC_OK);
	cr_assert_eq(atomic_load(&s2->admin), c->admin);
	cr_assert_not(ups_server_usable(s2, lbd_now_ms()));
	picks(g, 12, count);
	cr_assert_eq(count[1], 0, "no request to a %s server", c->idle);
	cr_assert_eq(count[0], 12);

	snprintf(want, sizeof(want), "  127.0.0.1:3002                    2 %-9s ", c->idle);
	cr_assert_not_null(strstr(run("upstream list app", CTL_RC_OK), want), "%s", out.buf);
	atomic_store(&s2->active, 1); /* a request still in flight */
	snprintf(want, sizeof(want), "  127.0.0.1:3002                    2 %-9s ", c->busy);
	cr_assert_not_null(strstr(run("upstream list app", CTL_RC_OK), want), "%s", out.buf);
	atomic_store(&s2->active, 0);

	run("upstream enable app 127.0.0.1:3002", CTL_RC_OK);
	cr_assert_eq(atomic_load(&s2->admin), UPS_ADMIN_UP);
	memset(count, 0, sizeof(count));
	picks(g, 30, count);
	cr_assert_eq(count[1], 20, "weight 2 of 3 again");
}

Test(ctl, drain_every_primary_falls_back_to_backup, .init = setup, .fini = teardown)
{
	struct ups_group *g = group("app");
	int count[3] = {0};

	run("upstream drain app 127.0.0.1:3001", CTL_RC_OK);
	run("upstream disable app 127.0.0.1:3002", CTL_RC_OK);
	picks(g, 4, count);
	cr_assert_eq(count[2], 4);
}

Test(ctl, stats, .init = setup, .fini = teardown)
{
	struct ups_group *g = group("app");
	const char *o;

	atomic_store(&lbd_stats.requests, 7);
	atomic_store(&lbd_stats.status[2], 6);
	atomic_store(&lbd_stats.status[5], 1);
	atomic_store(&g->servers[0].requests, 4);
	atomic_store(&g->servers[1].requests, 3);
	atomic_store(&g->servers[1].failures, 1);
	atomic_store(&g->servers[0].resp_class[2], 5);
	atomic_store(&g->servers[1].resp_class[5], 1);
	atomic_store(&g->servers[0].lat_hist[0], 1);
	atomic_store(&g->servers[1].lat_hist[3], 1);
	atomic_store(&g->servers[0].lat_sum_us, 1000000);
	atomic_store(&g->servers[1].lat_sum_us, 2000000);
	o = run("stats", CTL_RC_OK);
	cr_assert_not_null(strstr(o, "\nupstream app responses: 1xx 0 2xx 5 3xx 0 4xx 0 5xx 1 "
				     "other 0; response time: count 2 avg 1.500 s\n"),
			   "%s", o);
	cr_assert_not_null(strstr(o, "\nrequests: 7\n"), "%s", o);
	cr_assert_not_null(strstr(o, "\ntls: early data accepted 0 rejected 0 requests 0\n"), "%s",
			   o);
	cr_assert_not_null(strstr(o, "\nresponses: 1xx 0 2xx 6 3xx 0 4xx 0 5xx 1 other 0\n"), "%s",
			   o);
	cr_assert_not_null(
		strstr(o, "\nupstream app: servers 3 usable 3 active 0 requests 7 failures 1\n"),
		"%s", o);
	cr_assert_not_null(strstr(o, "\nupstream 127.0.0.1:5001 (implicit): servers 1"), "%s", o);
	assert_framing(o);
	o = run("stats --json", CTL_RC_OK);
	cr_assert_not_null(strstr(o, "\"requests\":7,"), "%s", o);
	cr_assert_not_null(
		strstr(o,
		       "{\"upstream\":\"app\",\"kind\":\"http\",\"implicit\":false,\"servers\":3,"
		       "\"usable\":3,\"active\":0,\"requests\":7,\"failures\":1,"),
		"%s", o);
	cr_assert_not_null(strstr(o, "\"responses\":{\"1xx\":0,\"2xx\":5,\"3xx\":0,\"4xx\":0,"
				     "\"5xx\":1,\"other\":0},\"response_time\":{\"count\":2,"
				     "\"sum_us\":3000000}}"),
			   "%s", o);
	/* no worker threads and no steering in this process */
	cr_assert_not_null(strstr(o, "}}],\"workers\":[],\"steering\":{\"on\":false,"
				     "\"picked\":0,\"no_slot\":0,\"no_socket\":0,"
				     "\"why\":\"not started\"},\"stream\":{\"accepted\":0,"
				     "\"active\":0},\"tls\":{\"early_data\":{\"accepted\":0,"
				     "\"rejected\":0,\"requests\":0}},"
				     "\"batched_sends\":{\"sends\":0,\"calls\":0}}\n"),
			   "%s", o);
	o = run("stats", CTL_RC_OK);
	cr_assert_not_null(
		strstr(o, "\nsteering: off (not started): the kernel's reuseport hash\n"), "%s", o);
}

struct sig_case {
	char cmd[16]; /* command */
	int sig;      /* signal it posts */
};

static struct sig_case sig_cases[] = {
	{"reload", SIGHUP},
	{"reopen", SIGUSR1},
};

ParameterizedTestParameters(ctl, signals)
{
	return cr_make_param_array(struct sig_case, sig_cases, ARRAY_SIZE(sig_cases));
}

ParameterizedTest(struct sig_case *c, ctl, signals, .init = setup, .fini = teardown)
{
	char want[80];

	snprintf(want, sizeof(want), "%s: started (see the error log for the outcome)\nOK\n",
		 c->cmd);
	cr_assert_str_eq(run(c->cmd, CTL_RC_OK), want);
	cr_assert_eq(posted, c->sig);
	/* without a daemon behind it (no env) the command is refused */
	ctl_out_reset(&out);
	cr_assert_eq(ctl_exec(NULL, cfg, c->cmd, strlen(c->cmd), &out), CTL_RC_ERR);
	snprintf(want, sizeof(want), "ERR %s is not available here\n", c->cmd);
	cr_assert_str_eq(out.buf, want);
}

Test(ctl, framing_of_every_command, .init = setup, .fini = teardown)
{
	static const char *const lines[] = {
		"help",
		"help --json",
		"status",
		"upstream list",
		"upstream list --json",
		"stats",
		"stats --json",
		"upstream drain app 127.0.0.1:3001",
		"reload",
	};

	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		assert_framing(run(lines[i], CTL_RC_OK));
}

/* --- reload carry-over --------------------------------------------------- */

Test(ctl, carry_over_to_new_generation, .init = setup, .fini = teardown)
{
	struct cfg *n;
	struct ups_group *ng;

	run("upstream set-weight app 127.0.0.1:3002 7", CTL_RC_OK);
	run("upstream drain app 127.0.0.1:3001", CTL_RC_OK);
	run("upstream disable other 127.0.0.1:4001", CTL_RC_OK);
	/* the new configuration drops 3003, reorders, changes 3001's weight */
	n = load_text(
		"events {}\nhttp {\n"
		"upstream app { server 127.0.0.1:3002 weight=3; server 127.0.0.1:3001 weight=4; }\n"
		"upstream other { server 127.0.0.1:4001; }\n"
		"server { listen 127.0.0.1:8080; location / { proxy_pass http://app; }\n"
		"  location /o { proxy_pass http://other; } }\n}\n");
	cr_assert_eq(ctl_carry_over(cfg, n), 3);
	ng = n->http->upstreams[0];
	cr_assert_str_eq(ng->name, "app");
	cr_assert_eq(atomic_load(&ng->servers[0].eff_weight), 7, "runtime weight kept");
	cr_assert_eq(atomic_load(&ng->servers[0].admin), UPS_ADMIN_UP);
	cr_assert_eq(atomic_load(&ng->servers[1].eff_weight), 4, "new configured weight");
	cr_assert_eq(atomic_load(&ng->servers[1].admin), UPS_ADMIN_DRAIN);
	cr_assert_eq(atomic_load(&n->http->upstreams[1]->servers[0].admin), UPS_ADMIN_DISABLED);
	cfg_unref(n);
}

/* --- active health checks ------------------------------------------------ */

#define HC_CONF                                               \
	"events {}\nhttp {\n"                                 \
	"upstream app { health_check fails=1 passes=2;\n"     \
	"  server 127.0.0.1:3001; server 127.0.0.1:3002; }\n" \
	"server { listen 127.0.0.1:8080; location / { proxy_pass http://app; } }\n}\n"

Test(ctl, health_in_list_and_carry_over, .init = setup, .fini = teardown)
{
	struct cfg *n;
	struct ups_group *g, *ng;
	const char *o;

	cfg_unref(cfg);
	cfg = load_text(HC_CONF);
	g = group("app");
	hc_report(g, &g->servers[0], UPS_HC_STATUS, 503, lbd_now_ms());
	hc_report(g, &g->servers[1], UPS_HC_OK, 200, lbd_now_ms());
	o = run("upstream list app", CTL_RC_OK);
	cr_assert_str_eq(
		o,
		"upstream app round-robin\n"
		"  server                       weight state     backup   active   requests   failures"
		"     checks last-check\n"
		"  127.0.0.1:3001                    1 unhealthy     no        0          0          0"
		"          1 HTTP 503\n"
		"  127.0.0.1:3002                    1 up            no        0          0          0"
		"          1 HTTP 200\n"
		"OK\n");
	o = run("upstream list app --json", CTL_RC_OK);
	cr_assert_not_null(strstr(o, "\"state\":\"unhealthy\",\"backup\":false,\"active\":0,"
				     "\"requests\":0,\"failures\":0,\"health\":\"unhealthy\","
				     "\"checks\":1,\"health_changes\":1,\"check_fails\":1,"
				     "\"check_passes\":0,\"last_check\":\"HTTP 503\","
				     "\"last_check_age_ms\":"),
			   "%s", o);
	/* stats counts the unhealthy server out */
	cr_assert_not_null(strstr(run("stats", CTL_RC_OK), "upstream app: servers 2 usable 1 "));

	/* a reload keeps what the checks learned; a group that drops
	 * health_check starts healthy */
	hc_report(g, &g->servers[0], UPS_HC_OK, 200, lbd_now_ms());
	n = load_text(HC_CONF);
	cr_assert_eq(ctl_carry_over(cfg, n), 1, "only the unhealthy server counts");
	ng = n->http->upstreams[0];
	cr_assert_eq(atomic_load(&ng->servers[0].health), UPS_HEALTH_DOWN);
	cr_assert_eq(atomic_load(&ng->servers[0].hc_passes), 1);
	cr_assert_eq(atomic_load(&ng->servers[0].hc_checks), 2);
	hc_report(ng, &ng->servers[0], UPS_HC_OK, 200, lbd_now_ms());
	cr_assert_eq(atomic_load(&ng->servers[0].health), UPS_HEALTH_UP, "second pass");
	cfg_unref(n);
	n = load_text(CONF);
	cr_assert_eq(ctl_carry_over(cfg, n), 0);
	cr_assert_eq(atomic_load(&n->http->upstreams[0]->servers[0].health), UPS_HEALTH_UP);
	cfg_unref(n);
}

/* --- the control_socket directive ---------------------------------------- */

Test(ctl, directive_default_and_values, .init = setup, .fini = teardown)
{
	char want[128];
	struct cfg *c;

	snprintf(want, sizeof(want), "%s/logs/lbd.sock", dir);
	cr_assert_str_eq(cfg->ctl_socket, want);
	cr_assert_eq(cfg->ctl_socket_mode, 0600);
	cr_assert_not(cfg->ctl_socket_set);
	c = load_text("control_socket run/x.sock mode=0660 group=adm;\nevents {}\n");
	snprintf(want, sizeof(want), "%s/run/x.sock", dir);
	cr_assert_str_eq(c->ctl_socket, want);
	cr_assert_eq(c->ctl_socket_mode, 0660);
	cr_assert_str_eq(c->ctl_socket_group, "adm");
	cfg_unref(c);
	c = load_text("control_socket off;\nevents {}\n");
	cr_assert_null(c->ctl_socket);
	cfg_unref(c);
}

struct dir_case {
	char text[96]; /* main-context line */
	char msg[96];  /* start of the error */
};

static struct dir_case dir_cases[] = {
	{"control_socket /tmp/x mode=0440;",
	 "invalid mode \"0440\" in \"control_socket\" directive"},
	{"control_socket /tmp/x mode=9;", "invalid mode \"9\" in \"control_socket\" directive"},
	{"control_socket /tmp/x user=a;", "invalid parameter \"user=a\""},
	{"control_socket off mode=0600;", "invalid parameter \"mode=0600\""},
};

ParameterizedTestParameters(ctl, directive_errors)
{
	return cr_make_param_array(struct dir_case, dir_cases, ARRAY_SIZE(dir_cases));
}

ParameterizedTest(struct dir_case *c, ctl, directive_errors, .fini = cleanup_dir)
{
	char path[128], prefix[80], err[512] = "", text[160];
	struct cfg_opts o;
	FILE *f;

	strcpy(dir, "/tmp/lbd-ctl-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nginx.conf", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	snprintf(text, sizeof(text), "%s\nevents {}\n", c->text);
	fputs(text, f);
	fclose(f);
	snprintf(prefix, sizeof(prefix), "%s/", dir);
	o = (struct cfg_opts){.conf_file = path, .prefix = prefix};
	cr_assert_null(cfg_load(&o, err, sizeof(err)));
	cr_assert(strncmp(err, c->msg, strlen(c->msg)) == 0, "got: %s", err);
	cr_assert_not_null(strstr(err, "nginx.conf:1"), "got: %s", err);
}

/* enable after drain or disable starts a slow start: shown as "slow-start"
 * with the ramped weight; enabling a server that is up starts nothing. */
Test(ctl, enable_starts_slow_start, .init = setup, .fini = teardown)
{
	const char *o;

	cfg_unref(cfg);
	cfg = load_text(
		"events {}\nhttp {\nupstream ss {\n  server 127.0.0.1:3001;\n"
		"  server 127.0.0.1:3002 weight=8 slow_start=1h;\n}\n"
		"server { listen 127.0.0.1:8080; location / { proxy_pass http://ss; } }\n}\n");
	run("upstream enable ss 127.0.0.1:3002", CTL_RC_OK);
	cr_assert_eq(atomic_load(&group("ss")->servers[1].ramp_ms), 0);
	run("upstream disable ss 127.0.0.1:3002", CTL_RC_OK);
	run("upstream enable ss 127.0.0.1:3002", CTL_RC_OK);
	cr_assert_neq(atomic_load(&group("ss")->servers[1].ramp_ms), 0);
	o = run("upstream list ss", CTL_RC_OK);
	cr_assert_str_eq(
		o,
		"upstream ss round-robin\n"
		"  server                       weight state     backup   active   requests   failures\n"
		"  127.0.0.1:3001                    1 up            no        0          0          0\n"
		"  127.0.0.1:3002                    1 slow-start     no        0          0          0\n"
		"OK\n");
	o = run("upstream --json list ss", CTL_RC_OK);
	cr_assert_not_null(strstr(o, "\"weight\":1,\"config_weight\":8,\"state\":\"slow-start\""),
			   "%s", o);
	/* drain: the state an operator set wins over the ramp */
	run("upstream drain ss 127.0.0.1:3002", CTL_RC_OK);
	o = run("upstream list ss", CTL_RC_OK);
	cr_assert_not_null(strstr(o, "127.0.0.1:3002                    1 drained "), "%s", o);
}

/* a reload keeps a slow start in progress, and the health transitions the
 * old generation counted are no new recovery for the new one */
Test(ctl, carry_over_slow_start, .init = setup, .fini = teardown)
{
	static const char text[] =
		"events {}\nhttp {\nupstream ss { health_check fails=1 passes=1;\n"
		"  server 127.0.0.1:3001; server 127.0.0.1:3002 slow_start=1h; }\n"
		"server { listen 127.0.0.1:8080; location / { proxy_pass http://ss; } }\n}\n";
	struct ups_server *os, *ns;
	struct cfg *n;

	cfg_unref(cfg);
	cfg = load_text(text);
	os = &group("ss")->servers[1];
	/* went down and came back (2 transitions), ramping since 5000 */
	atomic_store(&os->hc_changes, 2);
	atomic_store(&os->ramp_hc_seen, 2);
	atomic_store(&os->ramp_ms, 5000);
	n = load_text(text);
	cr_assert_eq(ctl_carry_over(cfg, n), 0);
	ns = &n->http->upstreams[0]->servers[1];
	cr_assert_eq(atomic_load(&ns->ramp_ms), 5000);
	cr_assert_eq(ups_server_ramp(ns, 5000 + 1800000), 500);
	ups_server_ramp_notice(ns, 9000);
	cr_assert_eq(atomic_load(&ns->ramp_ms), 5000, "no new ramp after the reload");
	cfg_unref(n);
}
