/* SPDX-License-Identifier: MIT */
/*
 * upbind.c: proxy_bind addresses as nginx's ngx_parse_addr_port takes
 * them (IPv4 with and without a port, IPv6 bare or bracketed with a port;
 * ports 1-65535; names, empty ports and bare brackets refused).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <netinet/in.h>
#include <string.h>

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
