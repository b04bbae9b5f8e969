/* SPDX-License-Identifier: MIT */
/*
 * Syslog targets (slog.c): the header formatter, the `syslog:` parameter
 * parser, and the -t errors of access_log / error_log with syslog and
 * gzip, each with nginx 1.22's text and FILE:LINE.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>
#include <sys/un.h>

#include "alog.h"
#include "cfgtest.h"
#include "lbd.h"
#include "log.h"
#include "slog.h"

Test(slog, header)
{
	struct tm tm = {.tm_mon = 10, .tm_mday = 29, .tm_hour = 4, .tm_min = 5, .tm_sec = 6};
	char buf[SLOG_HDR_MAX];
	size_t n;

	n = slog_header(buf, 190, &tm, "vm", "nginx");
	cr_assert_eq(n, strlen("<190>Nov 29 04:05:06 vm nginx: "));
	cr_assert_str_eq(buf, "<190>Nov 29 04:05:06 vm nginx: ");
	/* RFC 3164: a one-digit day is padded with a space, not a zero */
	tm.tm_mday = 3;
	tm.tm_mon = 0;
	slog_header(buf, 0, &tm, NULL, "t_1");
	cr_assert_str_eq(buf, "<0>Jan  3 04:05:06 t_1: ");
	/* an empty tag (tag=) is kept empty, as nginx does */
	slog_header(buf, 132, &tm, "h", "");
	cr_assert_str_eq(buf, "<132>Jan  3 04:05:06 h : ");
}

Test(slog, parse_defaults_and_params)
{
	struct slog_peer p;
	char err[256];
	struct sockaddr_in *in = (struct sockaddr_in *)&p.addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&p.addr;
	struct sockaddr_un *un = (struct sockaddr_un *)&p.addr;

	cr_assert_eq(slog_parse("server=127.0.0.1", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(in->sin_family, AF_INET);
	cr_assert_eq(ntohs(in->sin_port), 514);
	cr_assert_eq(p.facility, 23);
	cr_assert_eq(p.severity, 6);
	cr_assert_str_eq(p.tag, "nginx");
	cr_assert_not(p.nohostname);
	cr_assert_eq(p.fd, -1);

	cr_assert_eq(slog_parse("server=[::1]:5514,facility=local0,severity=warn,tag=My_tag1,"
				"nohostname",
				&p, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(in6->sin6_family, AF_INET6);
	cr_assert_eq(ntohs(in6->sin6_port), 5514);
	cr_assert_eq(p.facility, 16);
	cr_assert_eq(p.severity, 4);
	cr_assert_str_eq(p.tag, "My_tag1");
	cr_assert(p.nohostname);

	cr_assert_eq(slog_parse("tag=,server=unix:/dev/log", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(un->sun_family, AF_UNIX);
	cr_assert_str_eq(un->sun_path, "/dev/log");
	cr_assert_str_eq(p.tag, "");
	cr_assert_str_eq(p.server, "unix:/dev/log");
}

/* Strings inline: Criterion runs each parameter in a new process. */
struct slog_err_case {
	char spec[80]; /* after "syslog:" */
	char msg[120];
};

static struct slog_err_case slog_err_cases[] = {
	{"facility=local7", "no syslog server specified"},
	{"", "unknown syslog parameter \"\""},
	{"server=127.0.0.1,", "unknown syslog parameter \"\""},
	{"server=127.0.0.1,bogus=1", "unknown syslog parameter \"bogus=1\""},
	{"server=127.0.0.1,nohostname=1", "unknown syslog parameter \"nohostname=1\""},
	{"server=127.0.0.1,server=127.0.0.2", "duplicate syslog \"server\""},
	{"server=127.0.0.1,facility=local0,facility=local1", "duplicate syslog \"facility\""},
	{"server=127.0.0.1,severity=info,severity=info", "duplicate syslog \"severity\""},
	{"server=127.0.0.1,tag=a,tag=b", "duplicate syslog \"tag\""},
	{"server=127.0.0.1,facility=foo", "unknown syslog facility \"foo\""},
	{"server=127.0.0.1,severity=err", "unknown syslog severity \"err\""},
	{"server=127.0.0.1,tag=a-b",
	 "syslog \"tag\" only allows alphanumeric characters and underscore"},
	{"server=127.0.0.1,tag=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "syslog tag length exceeds 32"},
	{"server=127.0.0.1:99999", "invalid port in syslog server \"127.0.0.1:99999\""},
	{"server=127.0.0.1:0", "invalid port in syslog server \"127.0.0.1:0\""},
	{"server=", "no host in syslog server \"\""},
	{"server=unix:", "no path in the unix domain socket in syslog server \"unix:\""},
	{"server=nosuchhost.invalid", "host not found in syslog server \"nosuchhost.invalid\""},
};

ParameterizedTestParameters(slog, parse_errors)
{
	return cr_make_param_array(struct slog_err_case, slog_err_cases,
				   ARRAY_SIZE(slog_err_cases));
}

ParameterizedTest(struct slog_err_case *tc, slog, parse_errors)
{
	struct slog_peer p;
	char err[256] = "";

	cr_assert_neq(slog_parse(tc->spec, &p, err, sizeof(err)), 0, "accepted %s", tc->spec);
	cr_assert_str_eq(err, tc->msg, "for %s", tc->spec);
}

/* -t errors: the directive alone in a location (line 6). */
struct slog_cfg_case {
	char body[120];
	char msg[160];
};

static struct slog_cfg_case slog_cfg_cases[] = {
	{"access_log syslog:server=127.0.0.1:5514 combined buffer=4k;",
	 "logs to syslog cannot be buffered"},
	{"access_log syslog:server=127.0.0.1:5514 combined gzip;",
	 "logs to syslog cannot be buffered"},
	{"access_log syslog:server=127.0.0.1:5514 combined flush=1s;",
	 "no buffer is defined for access_log \"syslog:server=127.0.0.1:5514\""},
	{"access_log syslog:facility=local7 combined;", "no syslog server specified"},
	{"access_log syslog:server=127.0.0.1,tag=a-b;",
	 "syslog \"tag\" only allows alphanumeric characters and underscore"},
	{"access_log logs/a.gz combined gzip=0;", "invalid compression level \"0\""},
	{"access_log logs/a.gz combined gzip=10;", "invalid compression level \"10\""},
	{"access_log logs/a.gz combined gzip=;", "invalid compression level \"\""},
	{"access_log logs/a.gz combined gzipx;", "invalid parameter \"gzipx\""},
	{"access_log logs/a.gz gzip;", "unknown log format \"gzip\""},
	{"access_log logs/a.gz combined gzip;\naccess_log logs/a.gz combined gzip=2;",
	 "access_log \"logs/a.gz\" already defined with conflicting parameters"},
	{"error_log syslog:server=127.0.0.1:5514,facility=bad;", "unknown syslog facility \"bad\""},
	{"error_log syslog:tag=x;", "no syslog server specified"},
};

ParameterizedTestParameters(slog, cfg_errors)
{
	return cr_make_param_array(struct slog_cfg_case, slog_cfg_cases,
				   ARRAY_SIZE(slog_cfg_cases));
}

ParameterizedTest(struct slog_cfg_case *tc, slog, cfg_errors)
{
	struct cfgtest t = {0};
	char text[512], err[1024], want[512];
	struct cfg *c;
	int line = strchr(tc->body, '\n') ? 7 : 6;

	snprintf(text, sizeof(text),
		 "events {}\nhttp {\nserver {\nlisten 127.0.0.1:8080;\nlocation / {\n%s\n}\n}\n}\n",
		 tc->body);
	c = cfgtest_load(&t, text, err, sizeof(err));
	cr_expect_null(c, "%s", tc->body);
	snprintf(want, sizeof(want), "%s in %s:%d", tc->msg, t.path, line);
	cr_expect_str_eq(err, want, "%s", tc->body);
	if (c)
		cfg_unref(c);
	cfgtest_cleanup(&t);
}

/* Accepted: syslog with if=, several logs at once, gzip with its
 * defaults (level 1, a 64k buffer) and with buffer= first. */
Test(slog, cfg_accepts)
{
	struct cfgtest t = {0};
	char err[1024];
	struct cfg *c;
	struct cfg_loc *l;

	c = cfgtest_load(&t,
			 "events {}\nerror_log syslog:server=127.0.0.1:5514 info;\n"
			 "error_log logs/error.log;\nhttp {\nserver {\nlisten 127.0.0.1:8080;\n"
			 "location /a {\naccess_log syslog:server=unix:/dev/null/x,tag=t "
			 "combined if=$arg_x;\naccess_log logs/a.log;\n"
			 "access_log logs/b.gz combined gzip;\n"
			 "access_log logs/c.gz combined buffer=8k gzip=9 flush=1m;\n}\n}\n}\n",
			 err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	l = cfgtest_prefix_loc(c, "/a");
	cr_assert_not_null(l);
	cr_assert_eq(l->nalogs, 4);
	cr_assert_not_null(l->alogs[0]->cond);
	cr_assert_eq(l->alogs[0]->buffer, 0);
	cr_assert_eq(l->alogs[2]->gzip, 1);
	cr_assert_eq(l->alogs[2]->buffer, 64 * 1024);
	cr_assert_eq(l->alogs[3]->gzip, 9);
	cr_assert_eq(l->alogs[3]->buffer, 8 * 1024);
	cr_assert_eq(l->alogs[3]->flush_ms, 60000);
	/* two main error_logs: one target writing to both */
	cr_assert_not_null(c->error_log);
	cr_assert_not_null(c->error_log->fan[0]);
	cr_assert_not_null(c->error_log->fan[0]->sl);
	cr_assert_eq(c->error_log->fan[0]->level, LOG_INFO);
	cr_assert_null(c->error_log->fan[1]->sl);
	cr_assert_eq(c->error_log->level, LOG_INFO);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}
