/* SPDX-License-Identifier: MIT */
/*
 * Active health-check tests: the `health_check` directive (defaults, each
 * parameter, errors with their exact text and line), status= ranges and the
 * status-line parser, the health state machine of a server (fails/passes
 * thresholds, flapping), the pick skipping an unhealthy server, and the
 * checker thread against real local sockets: a server answering 200, one
 * answering 500, one that never answers (timeout), a closed port (refused),
 * and a tcp check. Results are awaited on the server's check counter with a
 * deadline, never a guessed sleep.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "cfgtest.h"
#include "hc.h"
#include "lbd.h"
#include "ups.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the directive -------------------------------------------------------- */

static struct cfgtest ct;

static struct cfg *load_text(const char *text, char *err, size_t errlen)
{
	return cfgtest_load(&ct, text, err, errlen);
}

static void cleanup_dir(void)
{
	cfgtest_cleanup(&ct);
}

/* conf_with - a config whose upstream "app" (line 3) holds LINE (line 4). */
static void conf_with(char *buf, size_t len, const char *line)
{
	snprintf(buf, len,
		 "events {}\nhttp {\n"
		 "upstream app {\n"
		 "  %s\n"
		 "  server 127.0.0.1:3001;\n}\n"
		 "server { listen 127.0.0.1:8080; location / { proxy_pass http://app; } }\n}\n",
		 line);
}

static struct ups_group *group_of(struct cfg *c, const char *name)
{
	for (int i = 0; i < c->http->nupstreams; i++)
		if (strcmp(c->http->upstreams[i]->name, name) == 0)
			return c->http->upstreams[i];
	return NULL;
}

struct parse_case {
	char line[96]; /* the directive line */
	bool enabled;  /* hc.enabled after parsing */
	bool tcp;      /* type=tcp */
	int interval;  /* interval_ms */
	int timeout;   /* timeout_ms */
	int fails;     /* fails */
	int passes;    /* passes */
	char uri[32];  /* uri */
	int lo, hi;    /* status range */
};

static struct parse_case parse_cases[] = {
	{"", false, false, 0, 0, 0, 0, "", 0, 0},
	{"health_check;", true, false, 5000, 1000, 1, 1, "/", 200, 399},
	{"health_check interval=200ms;", true, false, 200, 1000, 1, 1, "/", 200, 399},
	{"health_check timeout=3s;", true, false, 5000, 3000, 1, 1, "/", 200, 399},
	{"health_check fails=3 passes=2;", true, false, 5000, 1000, 3, 2, "/", 200, 399},
	{"health_check uri=/health;", true, false, 5000, 1000, 1, 1, "/health", 200, 399},
	{"health_check status=200;", true, false, 5000, 1000, 1, 1, "/", 200, 200},
	{"health_check status=200-299;", true, false, 5000, 1000, 1, 1, "/", 200, 299},
	{"health_check status=3xx;", true, false, 5000, 1000, 1, 1, "/", 300, 399},
	{"health_check type=tcp;", true, true, 5000, 1000, 1, 1, "/", 200, 399},
	{"health_check type=http interval=1s timeout=100ms fails=2 passes=2 uri=/h status=204;",
	 true, false, 1000, 100, 2, 2, "/h", 204, 204},
};

ParameterizedTestParameters(hc, directive)
{
	return cr_make_param_array(struct parse_case, parse_cases, ARRAY_LEN(parse_cases));
}

ParameterizedTest(struct parse_case *pc, hc, directive, .fini = cleanup_dir)
{
	char text[512], err[1024];
	struct ups_group *g;
	struct cfg *c;

	conf_with(text, sizeof(text), pc->line);
	c = load_text(text, err, sizeof(err));
	cr_assert_not_null(c, "%s: %s", pc->line, err);
	g = group_of(c, "app");
	cr_assert_not_null(g);
	cr_expect_eq(g->hc.enabled, pc->enabled, "%s", pc->line);
	if (pc->enabled) {
		cr_expect_eq(g->hc.tcp, pc->tcp, "%s", pc->line);
		cr_expect_eq(g->hc.interval_ms, pc->interval, "%s", pc->line);
		cr_expect_eq(g->hc.timeout_ms, pc->timeout, "%s", pc->line);
		cr_expect_eq(g->hc.fails, pc->fails, "%s", pc->line);
		cr_expect_eq(g->hc.passes, pc->passes, "%s", pc->line);
		cr_expect_str_eq(g->hc.uri, pc->uri, "%s", pc->line);
		cr_expect_eq(g->hc.status_lo, pc->lo, "%s", pc->line);
		cr_expect_eq(g->hc.status_hi, pc->hi, "%s", pc->line);
	}
	cfg_unref(c);
}

struct error_case {
	char line[64]; /* the directive line */
	char msg[96];  /* error text before " in FILE:LINE" */
};

static struct error_case error_cases[] = {
	{"health_check foo=1;", "invalid parameter \"foo=1\""},
	{"health_check mandatory;", "invalid parameter \"mandatory\""},
	{"health_check interval=abc;", "invalid value \"interval=abc\""},
	{"health_check interval=0;", "invalid value \"interval=0\""},
	{"health_check timeout=;", "invalid value \"timeout=\""},
	{"health_check fails=0;", "invalid value \"fails=0\""},
	{"health_check passes=x;", "invalid value \"passes=x\""},
	{"health_check uri=health;", "invalid value \"uri=health\""},
	{"health_check status=600;", "invalid value \"status=600\""},
	{"health_check status=399-200;", "invalid value \"status=399-200\""},
	{"health_check type=udp;", "invalid value \"type=udp\""},
	{"health_check; health_check;", "\"health_check\" directive is duplicate"},
};

ParameterizedTestParameters(hc, directive_errors)
{
	return cr_make_param_array(struct error_case, error_cases, ARRAY_LEN(error_cases));
}

ParameterizedTest(struct error_case *ec, hc, directive_errors, .fini = cleanup_dir)
{
	char text[512], err[1024], want[256];

	conf_with(text, sizeof(text), ec->line);
	cr_assert_null(load_text(text, err, sizeof(err)), "%s accepted", ec->line);
	snprintf(want, sizeof(want), "%s in %s:4", ec->msg, ct.path);
	cr_expect_str_eq(err, want);
}

Test(hc, directive_not_in_http, .fini = cleanup_dir)
{
	char err[1024];

	cr_assert_null(load_text("events {}\nhttp {\nhealth_check;\n}\n", err, sizeof(err)));
	cr_expect_not_null(strstr(err, "\"health_check\" directive is not allowed here"), "%s",
			   err);
}

/* ---- status ranges and the status line ------------------------------------ */

struct status_case {
	char text[16]; /* status= value */
	int rc;	       /* expected return */
	int lo, hi;    /* expected range when rc == 0 */
};

static struct status_case status_cases[] = {
	{"200", 0, 200, 200},	    {"200-399", 0, 200, 399}, {"2xx", 0, 200, 299},
	{"5XX", 0, 500, 599},	    {"100-599", 0, 100, 599}, {"204-204", 0, 204, 204},
	{"", -EINVAL, 0, 0},	    {"20", -EINVAL, 0, 0},    {"2000", -EINVAL, 0, 0},
	{"099", -EINVAL, 0, 0},	    {"6xx", -EINVAL, 0, 0},   {"300-200", -EINVAL, 0, 0},
	{"200-", -EINVAL, 0, 0},    {"-200", -EINVAL, 0, 0},  {"2x0", -EINVAL, 0, 0},
	{"200-3xx", -EINVAL, 0, 0},
};

ParameterizedTestParameters(hc, parse_status)
{
	return cr_make_param_array(struct status_case, status_cases, ARRAY_LEN(status_cases));
}

ParameterizedTest(struct status_case *sc, hc, parse_status)
{
	int lo = -1, hi = -1;

	cr_assert_eq(hc_parse_status(sc->text, &lo, &hi), sc->rc, "\"%s\"", sc->text);
	if (sc->rc == 0) {
		cr_expect_eq(lo, sc->lo, "\"%s\"", sc->text);
		cr_expect_eq(hi, sc->hi, "\"%s\"", sc->text);
	} else {
		cr_expect_eq(lo, -1, "\"%s\" wrote lo", sc->text);
	}
}

struct line_case {
	char text[32]; /* response bytes */
	int rc;	       /* expected return */
	int status;    /* status when rc == 1 */
};

static struct line_case line_cases[] = {
	{"HTTP/1.1 200 OK\r\n", 1, 200},
	{"HTTP/1.0 503", 1, 503},
	{"HTTP/1.1 20", 0, 0},
	{"HTTP/", 0, 0},
	{"", 0, 0},
	{"HTTP/1.1 99 ", -EBADMSG, 0},
	{"HTTP/1.1 2000", 1, 200},
	{"SSH-2.0-OpenSSH", -EBADMSG, 0},
	{"HTTP/1x1 200", -EBADMSG, 0},
	{"HTTP/1.1-200", -EBADMSG, 0},
	{"HTTP/1.1 2a0", -EBADMSG, 0},
	{"h", -EBADMSG, 0},
};

ParameterizedTestParameters(hc, status_line)
{
	return cr_make_param_array(struct line_case, line_cases, ARRAY_LEN(line_cases));
}

ParameterizedTest(struct line_case *lc, hc, status_line)
{
	int status = 0;

	/* whole, then every prefix: a prefix never yields a wrong verdict */
	cr_assert_eq(hc_parse_status_line(lc->text, strlen(lc->text), &status), lc->rc, "\"%s\"",
		     lc->text);
	if (lc->rc == 1)
		cr_expect_eq(status, lc->status);
	for (size_t n = 0; n < strlen(lc->text); n++) {
		int rc = hc_parse_status_line(lc->text, n, &status);

		cr_expect(rc == 0 || rc == lc->rc, "\"%s\" prefix %zu: %d", lc->text, n, rc);
	}
}

/* ---- the state machine ---------------------------------------------------- */

static struct ups_server sm_servers[3];
static struct ups_group sm_group;

static void sm_setup(int fails, int passes)
{
	memset(sm_servers, 0, sizeof(sm_servers));
	memset(&sm_group, 0, sizeof(sm_group));
	for (int i = 0; i < 3; i++) {
		sm_servers[i].name = (char *)(i == 0   ? "127.0.0.1:1"
					      : i == 1 ? "127.0.0.1:2"
						       : "127.0.0.1:3");
		sm_servers[i].weight = 1;
		sm_servers[i].max_fails = 1;
		sm_servers[i].fail_timeout_ms = 10000;
	}
	sm_servers[2].backup = true;
	sm_group.name = (char *)"app";
	sm_group.servers = sm_servers;
	sm_group.nservers = 3;
	hc_defaults(&sm_group.hc);
	sm_group.hc.fails = fails;
	sm_group.hc.passes = passes;
	cr_assert_eq(ups_group_init(&sm_group), 0);
}

static void sm_teardown(void)
{
	ups_group_release(&sm_group);
}

struct sm_case {
	int fails, passes; /* thresholds */
	char seq[16];	   /* check results in order: 'P' pass, 'F' fail */
	char health[16];   /* health after each: 'U' up, 'D' down */
	int changes;	   /* transitions counted at the end */
};

static struct sm_case sm_cases[] = {
	{1, 1, "FP", "DU", 2},	       {1, 1, "PPP", "UUU", 0},
	{2, 2, "FPFPFP", "UUUUUU", 0}, /* flapping below fails= never trips */
	{2, 2, "FFPFPP", "UDDDDU", 2}, /* a failure restarts the passes */
	{3, 1, "FFFFP", "UUDDU", 2},   {1, 3, "FPPFPPP", "DDDDDDU", 2},
	{2, 1, "FFPFFP", "UDUUDU", 4},
};

ParameterizedTestParameters(hc, state_machine)
{
	return cr_make_param_array(struct sm_case, sm_cases, ARRAY_LEN(sm_cases));
}

ParameterizedTest(struct sm_case *c, hc, state_machine, .fini = sm_teardown)
{
	struct ups_server *s = &sm_servers[0];
	int changes = 0;

	sm_setup(c->fails, c->passes);
	cr_assert_eq(atomic_load(&s->health), UPS_HEALTH_UP, "a server starts healthy");
	for (size_t i = 0; c->seq[i]; i++) {
		bool pass = c->seq[i] == 'P';
		bool changed = hc_report(&sm_group, s, pass ? UPS_HC_OK : UPS_HC_STATUS,
					 pass ? 200 : 500, 1000 + (int64_t)i);
		int want = c->health[i] == 'U' ? UPS_HEALTH_UP : UPS_HEALTH_DOWN;

		changes += changed;
		cr_assert_eq(atomic_load(&s->health), want, "%s step %zu", c->seq, i);
		cr_assert_eq(ups_server_usable(s, 0), want == UPS_HEALTH_UP, "%s step %zu", c->seq,
			     i);
	}
	cr_expect_eq(changes, c->changes);
	cr_expect_eq(atomic_load(&s->hc_changes), (uint64_t)c->changes);
	cr_expect_eq(atomic_load(&s->hc_checks), strlen(c->seq));
}

Test(hc, pick_skips_unhealthy_then_backup, .fini = sm_teardown)
{
	struct bal_ctx ctx;
	struct ups_server *s;

	sm_setup(1, 1);
	hc_report(&sm_group, &sm_servers[0], UPS_HC_TIMEOUT, 0, 1);
	for (int i = 0; i < 10; i++) {
		ctx = (struct bal_ctx){.now_ms = 10};
		s = ups_pick(&sm_group, &ctx);
		cr_assert_eq(s, &sm_servers[1], "pick %d", i);
		ups_release_server(s, false, 10);
	}
	/* every primary unhealthy: the backup takes over */
	hc_report(&sm_group, &sm_servers[1], UPS_HC_REFUSED, ECONNREFUSED, 2);
	ctx = (struct bal_ctx){.now_ms = 10};
	s = ups_pick(&sm_group, &ctx);
	cr_assert_eq(s, &sm_servers[2]);
	ups_release_server(s, false, 10);
	/* and the primary is back after its passes, passive failures
	 * counted while it was down forgotten */
	ups_server_fail(&sm_servers[0], 5);
	cr_assert_not(ups_server_usable(&sm_servers[0], 6));
	hc_report(&sm_group, &sm_servers[0], UPS_HC_OK, 200, 3);
	cr_assert_eq(atomic_load(&sm_servers[0].fails), 0);
	ctx = (struct bal_ctx){.now_ms = 10};
	s = ups_pick(&sm_group, &ctx);
	cr_assert_eq(s, &sm_servers[0]);
	ups_release_server(s, false, 10);
}

Test(hc, result_text_and_carry, .fini = sm_teardown)
{
	struct ups_server *s = &sm_servers[0], *t = &sm_servers[1];
	char buf[128];

	sm_setup(1, 2);
	cr_expect_str_eq(hc_result_text(s, buf, sizeof(buf)), "-");
	hc_report(&sm_group, s, UPS_HC_STATUS, 500, 5);
	cr_expect_str_eq(hc_result_text(s, buf, sizeof(buf)), "HTTP 500");
	hc_report(&sm_group, s, UPS_HC_REFUSED, ECONNREFUSED, 6);
	cr_expect_str_eq(hc_result_text(s, buf, sizeof(buf)),
			 "connect() failed (111: Connection refused)");
	hc_report(&sm_group, s, UPS_HC_TIMEOUT, 0, 7);
	cr_expect_str_eq(hc_result_text(s, buf, sizeof(buf)), "timeout");
	hc_report(&sm_group, s, UPS_HC_OK, 0, 8);
	cr_expect_str_eq(hc_result_text(s, buf, sizeof(buf)), "ok");
	cr_assert_eq(atomic_load(&s->health), UPS_HEALTH_DOWN, "1 of 2 passes");
	hc_carry_server(t, s);
	cr_expect_eq(atomic_load(&t->health), UPS_HEALTH_DOWN);
	cr_expect_eq(atomic_load(&t->hc_passes), 1);
	cr_expect_eq(atomic_load(&t->hc_checks), 4);
	cr_expect_eq(atomic_load(&t->hc_last_ms), 8);
	/* the carried pass counts toward the threshold */
	hc_report(&sm_group, t, UPS_HC_OK, 0, 9);
	cr_expect_eq(atomic_load(&t->health), UPS_HEALTH_UP);
}

/* ---- the checker against real sockets ------------------------------------- */

enum fake_mode {
	FAKE_200,    /* answers every connection "HTTP/1.1 200 OK" */
	FAKE_500,    /* answers 500 */
	FAKE_SILENT, /* accepts and never answers */
	FAKE_CLOSE,  /* accepts and closes at once */
	FAKE_SSH,    /* answers with something that is not HTTP */
};

/* struct fake - a listening socket served by a thread. */
struct fake {
	int fd;		     /* listener */
	int port;	     /* its port */
	enum fake_mode mode; /* how it answers */
	int stop[2];	     /* pipe: closing the write end stops the thread */
	pthread_t tid;	     /* the serving thread */
	char req[512];	     /* the first request seen (NUL-terminated) */
	_Atomic int nreq;    /* requests read */
	int held[64];	     /* silent mode: accepted fds kept open */
	int nheld;	     /* entries in held */
};

static void *fake_thread(void *arg)
{
	struct fake *f = arg;

	for (;;) {
		struct pollfd p[2] = {{.fd = f->fd, .events = POLLIN},
				      {.fd = f->stop[0], .events = POLLIN}};
		char buf[512];
		ssize_t n;
		int c;

		if (poll(p, 2, 5000) <= 0 || p[1].revents)
			break;
		c = accept(f->fd, NULL, NULL);
		if (c == -1)
			continue;
		if (f->mode == FAKE_CLOSE) {
			close(c);
			continue;
		}
		if (f->mode == FAKE_SSH) {
			(void)!write(c, "SSH-2.0-OpenSSH_9.2\r\n", 21);
			close(c);
			continue;
		}
		if (f->mode == FAKE_SILENT) {
			if (f->nheld < (int)ARRAY_LEN(f->held))
				f->held[f->nheld++] = c;
			else
				close(c);
			continue;
		}
		n = recv(c, buf, sizeof(buf) - 1, 0);
		if (n > 0 && atomic_load(&f->nreq) == 0) {
			buf[n] = '\0';
			memcpy(f->req, buf, (size_t)n + 1);
		}
		atomic_fetch_add(&f->nreq, 1);
		if (f->mode == FAKE_200)
			(void)!write(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38);
		else
			(void)!write(c, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", 40);
		close(c);
	}
	return NULL;
}

static void fake_start(struct fake *f, enum fake_mode mode)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_neq(f->fd, -1);
	cr_assert_eq(bind(f->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(f->fd, 64), 0);
	cr_assert_eq(getsockname(f->fd, (struct sockaddr *)&a, &alen), 0);
	f->port = ntohs(a.sin_port);
	cr_assert_eq(pipe(f->stop), 0);
	cr_assert_eq(pthread_create(&f->tid, NULL, fake_thread, f), 0);
}

static void fake_stop(struct fake *f)
{
	close(f->stop[1]);
	pthread_join(f->tid, NULL);
	close(f->stop[0]);
	close(f->fd);
	for (int i = 0; i < f->nheld; i++)
		close(f->held[i]);
}

/* a port nothing listens on: bound, then closed */
static int closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static char live_names[8][32];
static struct ups_server live[8];
static struct ups_group live_group;

static void live_setup(const int *ports, int n, bool tcp)
{
	memset(live, 0, sizeof(live));
	memset(&live_group, 0, sizeof(live_group));
	for (int i = 0; i < n; i++) {
		struct sockaddr_in *a = (struct sockaddr_in *)&live[i].addr;

		snprintf(live_names[i], sizeof(live_names[i]), "127.0.0.1:%d", ports[i]);
		live[i].name = live_names[i];
		live[i].weight = 1;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)ports[i]);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		live[i].addrlen = sizeof(*a);
	}
	live_group.name = (char *)"live";
	live_group.servers = live;
	live_group.nservers = n;
	hc_defaults(&live_group.hc);
	live_group.hc.tcp = tcp;
	live_group.hc.interval_ms = 20;
	live_group.hc.timeout_ms = 400; /* slack for a loaded machine */
	live_group.hc.uri = (char *)"/health";
	cr_assert_eq(ups_group_init(&live_group), 0);
}

/* wait_checks - until every server has N finished checks or 5 s pass. */
static bool wait_checks(int nservers, uint64_t n)
{
	int64_t deadline = lbd_now_ms() + 5000;

	while (lbd_now_ms() < deadline) {
		int done = 0;

		for (int i = 0; i < nservers; i++)
			done += atomic_load(&live[i].hc_checks) >= n;
		if (done == nservers)
			return true;
		poll(NULL, 0, 5);
	}
	return false;
}

Test(hc, checker_http_verdicts)
{
	struct fake ok, bad, silent, closing, ssh;
	struct ups_group *gp = &live_group;
	struct hc_checker *hc;
	int ports[6];

	fake_start(&ok, FAKE_200);
	fake_start(&bad, FAKE_500);
	fake_start(&silent, FAKE_SILENT);
	ports[0] = ok.port;
	ports[1] = bad.port;
	ports[2] = silent.port;
	ports[3] = closed_port();
	fake_start(&closing, FAKE_CLOSE);
	fake_start(&ssh, FAKE_SSH);
	ports[4] = closing.port;
	ports[5] = ssh.port;
	live_setup(ports, 6, false);

	cr_assert_eq(hc_start(&gp, 1, &hc), 0);
	cr_assert_not_null(hc);
	/* two rounds: the silent server times out each time */
	cr_assert(wait_checks(6, 2), "checks did not finish in time");
	hc_stop(hc);

	cr_expect_eq(atomic_load(&live[0].hc_last), UPS_HC_OK);
	cr_expect_eq(atomic_load(&live[0].hc_last_status), 200);
	cr_expect_eq(atomic_load(&live[0].health), UPS_HEALTH_UP);
	cr_expect_eq(atomic_load(&live[1].hc_last), UPS_HC_STATUS);
	cr_expect_eq(atomic_load(&live[1].hc_last_status), 500);
	cr_expect_eq(atomic_load(&live[1].health), UPS_HEALTH_DOWN);
	cr_expect_eq(atomic_load(&live[2].hc_last), UPS_HC_TIMEOUT);
	cr_expect_eq(atomic_load(&live[2].health), UPS_HEALTH_DOWN);
	cr_expect_eq(atomic_load(&live[3].hc_last), UPS_HC_REFUSED);
	cr_expect_eq(atomic_load(&live[3].hc_last_status), ECONNREFUSED);
	cr_expect_eq(atomic_load(&live[3].health), UPS_HEALTH_DOWN);
	cr_expect_eq(atomic_load(&live[4].hc_last), UPS_HC_CLOSED);
	cr_expect_eq(atomic_load(&live[4].health), UPS_HEALTH_DOWN);
	cr_expect_eq(atomic_load(&live[5].hc_last), UPS_HC_BAD);
	cr_expect_eq(atomic_load(&live[5].health), UPS_HEALTH_DOWN);

	/* the request the checker sent, byte for byte */
	fake_stop(&ok);
	{
		char want[256];

		snprintf(want, sizeof(want),
			 "GET /health HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
			 "User-Agent: lbd-health-check\r\n\r\n",
			 ports[0]);
		cr_expect_str_eq(ok.req, want);
	}
	fake_stop(&bad);
	fake_stop(&silent);
	fake_stop(&closing);
	fake_stop(&ssh);
	ups_group_release(&live_group);
}

Test(hc, checker_tcp_and_recovery)
{
	struct fake silent;
	struct ups_group *gp = &live_group;
	struct hc_checker *hc;
	int ports[2];

	/* tcp: a connect is enough, even to a server that never answers */
	fake_start(&silent, FAKE_SILENT);
	ports[0] = silent.port;
	ports[1] = closed_port();
	live_setup(ports, 2, true);
	live_group.hc.passes = 2;
	/* start the refused one unhealthy: it must stay so */
	atomic_store(&live[1].health, UPS_HEALTH_DOWN);
	atomic_store(&live[0].health, UPS_HEALTH_DOWN);
	cr_assert_eq(hc_start(&gp, 1, &hc), 0);
	cr_assert(wait_checks(2, 3), "checks did not finish in time");
	hc_stop(hc);
	cr_expect_eq(atomic_load(&live[0].hc_last), UPS_HC_OK);
	cr_expect_eq(atomic_load(&live[0].health), UPS_HEALTH_UP, "healthy after 2 passes");
	cr_expect_eq(atomic_load(&live[0].hc_changes), 1);
	cr_expect_eq(atomic_load(&live[1].hc_last), UPS_HC_REFUSED);
	cr_expect_eq(atomic_load(&live[1].health), UPS_HEALTH_DOWN);
	fake_stop(&silent);
	ups_group_release(&live_group);
}

Test(hc, start_without_checks)
{
	struct ups_group *gp = &live_group;
	struct hc_checker *hc = (struct hc_checker *)&gp;
	int port = 1;

	live_setup(&port, 1, false);
	live_group.hc.enabled = false;
	cr_assert_eq(hc_start(&gp, 1, &hc), 0);
	cr_assert_null(hc, "no thread for groups without health_check");
	hc_stop(NULL);
	ups_group_release(&live_group);
}
