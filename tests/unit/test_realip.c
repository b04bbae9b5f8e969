/* SPDX-License-Identifier: MIT */
/*
 * realip: address parsing (nginx's ngx_parse_addr_port), the trust
 * decision (set_real_ip_from CIDRs, IPv6, IPv4-mapped peers), the walk of
 * X-Forwarded-For from the right with and without real_ip_recursive over
 * one or several headers, malformed values ignored, and the directives
 * (errors, warnings, inheritance).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>
#include <sys/socket.h>

#include "cfgtest.h"
#include "realip.h"

/* addr - S ("1.2.3.4", "::1") as a socket address (port 0). */
static struct sockaddr_storage addr(const char *s, socklen_t *sl)
{
	struct sockaddr_storage ss;
	socklen_t l;

	cr_assert(realip_parse_addr(s, strlen(s), &ss, &l), "bad test address %s", s);
	if (sl)
		*sl = l;
	return ss;
}

/* text - SS as "ADDR" or "ADDR:PORT" ("[v6]:PORT"). */
static void text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	unsigned port;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
		if (port)
			snprintf(buf, len, "%s:%u", a, port);
		else
			snprintf(buf, len, "%s", a);
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
		if (port)
			snprintf(buf, len, "[%s]:%u", a, port);
		else
			snprintf(buf, len, "%s", a);
	}
}

/* ---- addresses ----------------------------------------------------------------- */

struct parse_case {
	char in[48];
	char out[48]; /* "" = refused */
};

ParameterizedTestParameters(realip, parse)
{
	static struct parse_case cases[] = {
		{"1.2.3.4", "1.2.3.4"},
		{"1.2.3.4:8080", "1.2.3.4:8080"},
		{"::1", "::1"},
		{"[::1]:443", "[::1]:443"},
		{"2001:db8::7", "2001:db8::7"},
		{"::ffff:10.0.0.1", "::ffff:10.0.0.1"},
		{"001.002.003.004", "1.2.3.4"}, /* ngx_inet_addr reads leading zeros */
		{"1.2.3.", "1.2.3.0"},		/* and an empty last octet as 0 */
		{"1.2.3.256", ""},
		{"1.2.3", ""},
		{"1.2.3.4.5", ""},
		{"255.255.255.255", ""}, /* INADDR_NONE in nginx */
		{"unknown", ""},
		{"", ""},
		{"1.2.3.4:0", ""},
		{"1.2.3.4:65536", ""},
		{"1.2.3.4:", ""},
		{"1.2.3.4:8x", ""},
		{"[::1]", ""},
		{"[::1]x80", ""},
		{"::1]:80", ""},
		{"fe80::1%eth0", ""},
		{"1.2.3.4 ", ""},
		{"example.com", ""},
		{"1.2.3.4\x00", ""},
	};
	return cr_make_param_array(struct parse_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct parse_case *tc, realip, parse)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	/* "1.2.3.4" refused: the NUL case, the byte after it is part of the value */
	size_t len = strlen(tc->in) + (strcmp(tc->in, "1.2.3.4") == 0 && !tc->out[0]);
	bool ok;
	char got[64];

	ok = realip_parse_addr(tc->in, len, &ss, &sl);
	if (!tc->out[0]) {
		cr_assert_not(ok, "\"%s\" accepted", tc->in);
		return;
	}
	cr_assert(ok, "\"%s\" refused", tc->in);
	text(&ss, got, sizeof(got));
	cr_assert_str_eq(got, tc->out);
	cr_assert_eq(sl, ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						 : sizeof(struct sockaddr_in6));
}

/* ---- trust ------------------------------------------------------------------------ */

static struct realip_cidr cidr(const char *s)
{
	struct realip_cidr c = {0};
	const char *slash = strchr(s, '/');
	char a[64];
	struct sockaddr_storage ss;
	int bits;

	snprintf(a, sizeof(a), "%.*s", slash ? (int)(slash - s) : (int)strlen(s), s);
	ss = addr(a, NULL);
	if (ss.ss_family == AF_INET) {
		c.family = AF_INET;
		c.addr[10] = c.addr[11] = 0xff;
		memcpy(c.addr + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		bits = slash ? atoi(slash + 1) : 32;
		c.plen = (uint8_t)(96 + bits);
	} else {
		c.family = AF_INET6;
		memcpy(c.addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		c.plen = (uint8_t)(slash ? atoi(slash + 1) : 128);
	}
	return c;
}

Test(realip, trusted)
{
	struct realip_cidr f[] = {cidr("10.0.0.0/8"), cidr("192.0.2.7"), cidr("2001:db8::/32")};
	struct sockaddr_storage v4m;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&v4m;

	cr_assert(realip_trusted(&(struct sockaddr_storage){0}, f, 0) == false);
	v4m = addr("10.200.0.1", NULL);
	cr_assert(realip_trusted(&v4m, f, 3));
	v4m = addr("11.0.0.1", NULL);
	cr_assert_not(realip_trusted(&v4m, f, 3));
	v4m = addr("192.0.2.7", NULL);
	cr_assert(realip_trusted(&v4m, f, 3));
	v4m = addr("192.0.2.8", NULL);
	cr_assert_not(realip_trusted(&v4m, f, 3));
	v4m = addr("2001:db8:ffff::1", NULL);
	cr_assert(realip_trusted(&v4m, f, 3));
	v4m = addr("2001:db9::1", NULL);
	cr_assert_not(realip_trusted(&v4m, f, 3));
	/* an IPv4 client on an IPv6 socket (::ffff:10.1.2.3) meets IPv4 networks */
	memset(&v4m, 0, sizeof(v4m));
	s6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &s6->sin6_addr);
	cr_assert(realip_trusted(&v4m, f, 3));
	/* ::/0 trusts every IPv6 peer but no IPv4 socket (families differ) */
	{
		struct realip_cidr all6 = cidr("::/0");

		v4m = addr("10.1.2.3", NULL);
		cr_assert_not(realip_trusted(&v4m, &all6, 1));
		v4m = addr("::1", NULL);
		cr_assert(realip_trusted(&v4m, &all6, 1));
	}
}

/* ---- the walk ------------------------------------------------------------------- */

struct walk_case { /* arrays, not pointers: criterion may run a case in a new process */
	char peer[40];
	char hdr[3][48]; /* header values in order received ("" ends, except the first) */
	bool recursive;
	char want[48]; /* resulting address, or "": not applied */
};

/* trusted: 10.0.0.0/8 and 2001:db8::/32 */
ParameterizedTestParameters(realip, walk)
{
	static struct walk_case cases[] = {
		/* untrusted peer: the header is never looked at */
		{"203.0.113.5", {"1.1.1.1"}, false, ""},
		{"203.0.113.5", {"1.1.1.1"}, true, ""},
		/* trusted peer: the rightmost entry */
		{"10.0.0.1", {"1.1.1.1"}, false, "1.1.1.1"},
		{"10.0.0.1", {"6.6.6.6, 1.1.1.1"}, false, "1.1.1.1"},
		{"10.0.0.1", {"6.6.6.6,1.1.1.1"}, false, "1.1.1.1"},
		{"10.0.0.1", {"6.6.6.6, 1.1.1.1, "}, false, "1.1.1.1"},
		/* not recursive: a trusted rightmost entry is taken as it is */
		{"10.0.0.1", {"1.1.1.1, 10.0.0.2"}, false, "10.0.0.2"},
		/* recursive: skip trusted hops, stop at the first untrusted */
		{"10.0.0.1", {"1.1.1.1, 10.0.0.2"}, true, "1.1.1.1"},
		{"10.0.0.1", {"6.6.6.6, 1.1.1.1, 10.0.0.3, 10.0.0.2"}, true, "1.1.1.1"},
		/* all trusted: the leftmost */
		{"10.0.0.1", {"10.0.0.9, 10.0.0.2"}, true, "10.0.0.9"},
		/* a spoofed left part stays on the left of the real client */
		{"10.0.0.1", {"127.0.0.1, 9.9.9.9"}, true, "9.9.9.9"},
		/* malformed rightmost: nothing applied */
		{"10.0.0.1", {"1.1.1.1, garbage"}, false, ""},
		{"10.0.0.1", {"1.1.1.1, garbage"}, true, ""},
		{"10.0.0.1", {"unknown"}, false, ""},
		{"10.0.0.1", {""}, false, ""},
		{"10.0.0.1", {", ,"}, false, ""},
		{"10.0.0.1", {"1.1.1.1;2.2.2.2"}, false, ""},
		/* malformed entry left of a trusted hop: the walk stops at the hop */
		{"10.0.0.1", {"garbage, 10.0.0.2"}, true, "10.0.0.2"},
		/* ports and IPv6 */
		{"10.0.0.1", {"1.1.1.1:5555"}, false, "1.1.1.1:5555"},
		{"10.0.0.1", {"[2001:db9::1]:80"}, false, "[2001:db9::1]:80"},
		{"2001:db8::1", {"2001:db9::5, 2001:db8::2"}, true, "2001:db9::5"},
		{"2001:db8::1", {"192.0.2.1, 2001:db8::2"}, true, "192.0.2.1"},
		{"2001:db9::1", {"192.0.2.1"}, true, ""},
		/* several headers: the last one first, on to earlier ones when recursive */
		{"10.0.0.1", {"1.1.1.1", "2.2.2.2"}, false, "2.2.2.2"},
		{"10.0.0.1", {"1.1.1.1", "10.0.0.5"}, false, "10.0.0.5"},
		{"10.0.0.1", {"1.1.1.1", "10.0.0.5"}, true, "1.1.1.1"},
		{"10.0.0.1", {"3.3.3.3, 1.1.1.1", "10.0.0.5, 10.0.0.6"}, true, "1.1.1.1"},
		{"10.0.0.1", {"junk", "10.0.0.5"}, true, "10.0.0.5"},
	};
	return cr_make_param_array(struct walk_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct walk_case *tc, realip, walk)
{
	struct realip_cidr f[] = {cidr("10.0.0.0/8"), cidr("2001:db8::/32")};
	struct lstr vals[3];
	int n = 0;
	socklen_t sl;
	struct sockaddr_storage ss = addr(tc->peer, &sl), before = ss;
	char got[64];
	bool ok;

	while (n < 3 && (n == 0 || tc->hdr[n][0])) {
		vals[n] = (struct lstr){tc->hdr[n], strlen(tc->hdr[n])};
		n++;
	}
	ok = realip_find(&ss, &sl, vals, n, f, 2, tc->recursive);
	if (!tc->want[0]) {
		cr_assert_not(ok, "%s: applied", tc->hdr[0]);
		cr_assert(memcmp(&ss, &before, sizeof(ss)) == 0, "peer changed though declined");
		return;
	}
	cr_assert(ok, "%s (%s): not applied", tc->hdr[0], tc->recursive ? "recursive" : "plain");
	text(&ss, got, sizeof(got));
	cr_assert_str_eq(got, tc->want, "%s (%s)", tc->hdr[0],
			 tc->recursive ? "recursive" : "plain");
}

/* ---- directives -------------------------------------------------------------- */

struct conf_case {
	char http[200];
	char err[120]; /* "" = accepted */
};

ParameterizedTestParameters(realip, directives)
{
	static struct conf_case cases[] = {
		{"set_real_ip_from 10.0.0.0/8; real_ip_header X-Forwarded-For; real_ip_recursive on;",
		 ""},
		{"set_real_ip_from unix:; set_real_ip_from ::1; set_real_ip_from 2001:db8::/32;",
		 ""},
		{"set_real_ip_from 10.1.2.3/8;", ""}, /* a warning, as nginx */
		{"real_ip_header CF-Connecting-IP;", ""},
		{"real_ip_header proxy_protocol;", ""},
		{"set_real_ip_from 10.0.0.0/33;",
		 "host not found in set_real_ip_from \"10.0.0.0/33\""},
		{"set_real_ip_from 10.0.0.0/x;",
		 "host not found in set_real_ip_from \"10.0.0.0/x\""},
		{"set_real_ip_from ::/129;", "host not found in set_real_ip_from \"::/129\""},
		{"set_real_ip_from garbage;", "host not found in set_real_ip_from \"garbage\""},
		{"set_real_ip_from 10.0.0.0/8 10.0.0.0/16;",
		 "invalid number of arguments in \"set_real_ip_from\" directive"},
		{"real_ip_recursive maybe;",
		 "invalid value \"maybe\" in \"real_ip_recursive\" directive, it must be \"on\" or "
		 "\"off\""},
		{"real_ip_recursive on; real_ip_recursive off;",
		 "\"real_ip_recursive\" directive is duplicate"},
	};
	return cr_make_param_array(struct conf_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct conf_case *c, realip, directives)
{
	struct cfgtest t = {0};
	char conf[512], err[512];
	struct cfg *cfg;

	snprintf(conf, sizeof(conf), "events {}\nhttp {\n%s\nserver { listen 127.0.0.1:1; }\n}\n",
		 c->http);
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

Test(realip, inheritance_and_masking)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *cfg;
	struct cfg_srv *s;
	struct cfg_loc *a = NULL, *b = NULL;

	cfg = cfgtest_load(&t,
			   "events {}\nhttp {\n"
			   "set_real_ip_from 10.1.2.3/8;\n"
			   "real_ip_header X-Forwarded-For;\n"
			   "server { listen 127.0.0.1:1;\n"
			   "  real_ip_recursive on;\n"
			   "  location /a { }\n"
			   "  location /b { set_real_ip_from 192.0.2.0/24; real_ip_header X-Client;"
			   " real_ip_recursive off; } }\n}\n",
			   err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
	s = cfg->http->servers[0];
	cr_assert_eq(cfg->http->loc.realip.type, REALIP_XFF);
	cr_assert_eq(cfg->http->loc.realip.recursive, 0, "default off");
	cr_assert_eq(s->loc.realip.nfrom, 1);
	cr_assert_eq(s->loc.realip.recursive, 1);
	for (int i = 0; i < s->loc.nprefix; i++) {
		if (strcmp(s->loc.prefix[i]->pattern, "/a") == 0)
			a = s->loc.prefix[i];
		else
			b = s->loc.prefix[i];
	}
	cr_assert(a && b);
	cr_assert_eq(a->realip.nfrom, 1, "inherited");
	cr_assert_eq(a->realip.from[0].plen, 96 + 8);
	cr_assert_eq(a->realip.from[0].addr[12], 10);
	cr_assert_eq(a->realip.from[0].addr[13], 0, "host bits masked");
	cr_assert_eq(a->realip.type, REALIP_XFF);
	cr_assert_eq(a->realip.recursive, 1);
	cr_assert_eq(b->realip.nfrom, 1, "its own list replaces the inherited one");
	cr_assert_eq(b->realip.from[0].addr[12], 192);
	cr_assert_eq(b->realip.type, REALIP_HEADER);
	cr_assert_eq(b->realip.header_len, strlen("X-Client"));
	cr_assert_eq(b->realip.recursive, 0);
	cfg_unref(cfg);
	cfgtest_cleanup(&t);
}

Test(realip, default_header_is_x_real_ip)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *cfg;

	cfg = cfgtest_load(&t,
			   "events {}\nhttp { set_real_ip_from 127.0.0.1;\n"
			   "server { listen 127.0.0.1:1; } }\n",
			   err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
	cr_assert_eq(cfg->http->servers[0]->loc.realip.type, REALIP_X_REAL_IP);
	cfg_unref(cfg);
	cfgtest_cleanup(&t);
}
