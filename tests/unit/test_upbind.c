/* SPDX-License-Identifier: MIT */
/*
 * upbind.c: proxy_bind addresses as nginx's ngx_parse_addr_port takes
 * them (IPv4 with and without a port, IPv6 bare or bracketed with a port;
 * ports 1-65535; names, empty ports and bare brackets refused);
 * `transparent`: the socket option per family, and the configuration's
 * flags (the level's, and the one that keeps CAP_NET_RAW).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "cfgtest.h"
#include "stream.h"
#include "upbind.h"

struct bind_case {
	char in[48];
	int rc;
	int family;
	int port;
};

ParameterizedTestParameters(upbind, parse)
{
	static struct bind_case cases[] = {
		{"127.0.0.2", 0, AF_INET, 0},
		{"127.0.0.2:5555", 0, AF_INET, 5555},
		{"10.1.2.3:65535", 0, AF_INET, 65535},
		{"::1", 0, AF_INET6, 0},
		{"2001:db8::7", 0, AF_INET6, 0},
		{"[::1]:80", 0, AF_INET6, 80},
		{"[::1]", -1, 0, 0},
		{"[::1]:", -1, 0, 0},
		{"127.0.0.1:", -1, 0, 0},
		{"127.0.0.1:0", -1, 0, 0},
		{"127.0.0.1:65536", -1, 0, 0},
		{"127.0.0.1:99999", -1, 0, 0},
		{"1.2.3.256", -1, 0, 0},
		{"localhost", -1, 0, 0},
		{"", -1, 0, 0},
		{"x", -1, 0, 0},
	};
	return cr_make_param_array(struct bind_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bind_case *tc, upbind, parse)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	int rc = upbind_parse(tc->in, strlen(tc->in), &ss, &sl);

	cr_assert_eq(rc, tc->rc, "%s", tc->in);
	if (rc)
		return;
	cr_assert_eq(ss.ss_family, tc->family, "%s", tc->in);
	if (tc->family == AF_INET) {
		cr_assert_eq(sl, sizeof(struct sockaddr_in));
		cr_assert_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), tc->port, "%s", tc->in);
	} else {
		cr_assert_eq(sl, sizeof(struct sockaddr_in6));
		cr_assert_eq(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), tc->port, "%s",
			     tc->in);
	}
}

/* IP_TRANSPARENT for an IPv4 bind, IPV6_TRANSPARENT for an IPv6 one: set
 * when privileged, else -EPERM; the call named either way. */
Test(upbind, transparent_option)
{
	static const struct {
		int family, level, opt;
		const char *what;
	} cases[] = {
		{AF_INET, IPPROTO_IP, IP_TRANSPARENT, "setsockopt(IP_TRANSPARENT)"},
		{AF_INET6, IPPROTO_IPV6, IPV6_TRANSPARENT, "setsockopt(IPV6_TRANSPARENT)"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = socket(cases[i].family, SOCK_STREAM, 0), v = 0;
		socklen_t vl = sizeof(v);
		const char *what = NULL;
		int rc;

		cr_assert(fd >= 0);
		rc = upbind_transparent(fd, cases[i].family, &what);
		cr_expect_str_eq(what, cases[i].what);
		if (geteuid() == 0) {
			cr_expect_eq(rc, 0);
			cr_expect_eq(getsockopt(fd, cases[i].level, cases[i].opt, &v, &vl), 0);
			cr_expect_eq(v, 1, "%s", cases[i].what);
		} else {
			cr_expect(rc == -EPERM || rc == 0, "%d", rc);
		}
		close(fd);
	}
}

/* `transparent` on a level (http twins and stream too) marks it and the
 * configuration; none written, neither. */
Test(upbind, cfg_transparent)
{
	struct cfgtest t = {0};
	char err[1024];
	struct cfg *c = cfgtest_load(
		&t,
		"events {}\nhttp {\nserver {\nlisten 127.0.0.1:8080;\n"
		"location /t { proxy_bind $remote_addr transparent; proxy_pass http://127.0.0.1:9; }\n"
		"location /f { fastcgi_bind 127.0.0.2 transparent; fastcgi_pass 127.0.0.1:9; }\n"
		"location /p { proxy_bind 127.0.0.2; proxy_pass http://127.0.0.1:9; }\n"
		"}\n}\n"
		"stream {\nserver { listen 127.0.0.1:8081; proxy_pass 127.0.0.1:9;\n"
		"proxy_bind $remote_addr transparent; }\n}\n",
		err, sizeof(err));
	struct cfg_loc *tl, *fl, *pl;

	cr_assert_not_null(c, "%s", err);
	tl = cfgtest_prefix_loc(c, "/t");
	fl = cfgtest_prefix_loc(c, "/f");
	pl = cfgtest_prefix_loc(c, "/p");
	cr_assert(tl && fl && pl);
	cr_expect(tl->proxy_bind->transparent && tl->proxy_bind->var);
	cr_expect(fl->proxy_bind->transparent);
	cr_expect(!pl->proxy_bind->transparent);
	cr_expect(c->stream->servers[0]->bind->transparent);
	cr_expect(c->bind_transparent);
	cfg_unref(c);
	c = cfgtest_load(&t,
			 "events {}\nhttp {\nserver {\nlisten 127.0.0.1:8080;\n"
			 "location / { proxy_bind 127.0.0.2; proxy_pass http://127.0.0.1:9; }\n"
			 "}\n}\n",
			 err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect(!c->bind_transparent);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}
