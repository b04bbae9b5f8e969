/* SPDX-License-Identifier: MIT */
/*
 * lbd_sa_text: addresses as nginx prints them, with and without the port,
 * unix paths bounded by the address length, and cuts to the buffer;
 * lbd_sa_any: the wildcard addresses.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "sockaddr.h"

static struct sockaddr_storage in4(const char *ip, unsigned port)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;

	s->sin_family = AF_INET;
	s->sin_port = htons((uint16_t)port);
	cr_assert_eq(inet_pton(AF_INET, ip, &s->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage in6(const char *ip, unsigned port)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

	s->sin6_family = AF_INET6;
	s->sin6_port = htons((uint16_t)port);
	cr_assert_eq(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
	return ss;
}

static struct sockaddr_storage un(const char *path)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_un *s = (struct sockaddr_un *)&ss;

	s->sun_family = AF_UNIX;
	memcpy(s->sun_path, path, strlen(path));
	return ss;
}

Test(sockaddr, ipv4_with_and_without_port)
{
	struct sockaddr_storage ss = in4("127.0.0.1", 8080);
	char b[LBD_SA_TEXT_MAX];

	cr_expect_eq(lbd_sa_text(&ss, sizeof(struct sockaddr_in), 0, b, sizeof(b)), 9);
	cr_expect_str_eq(b, "127.0.0.1");
	cr_expect_eq(lbd_sa_text(&ss, 0, LBD_SA_PORT, b, sizeof(b)), 14);
	cr_expect_str_eq(b, "127.0.0.1:8080");
	cr_expect_eq(lbd_sa_port(&ss), 8080);
}

Test(sockaddr, ipv6_port_in_brackets)
{
	struct sockaddr_storage ss = in6("::1", 443);
	char b[LBD_SA_TEXT_MAX];

	lbd_sa_text(&ss, 0, 0, b, sizeof(b));
	cr_expect_str_eq(b, "::1");
	lbd_sa_text(&ss, 0, LBD_SA_PORT, b, sizeof(b));
	cr_expect_str_eq(b, "[::1]:443");
	cr_expect_eq(lbd_sa_port(&ss), 443);
	ss = in6("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 65535);
	size_t n = lbd_sa_text(&ss, 0, LBD_SA_PORT, b, sizeof(b));
	cr_expect_eq(n, strlen(b));
	cr_expect_str_eq(b, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

Test(sockaddr, unix_path_no_port_bounded_by_length)
{
	struct sockaddr_storage ss = un("/run/app.sock");
	size_t off = offsetof(struct sockaddr_un, sun_path);
	char b[LBD_SA_TEXT_MAX];

	lbd_sa_text(&ss, 0, LBD_SA_PORT, b, sizeof(b));
	cr_expect_str_eq(b, "unix:/run/app.sock");
	cr_expect_eq(lbd_sa_port(&ss), 0);
	/* the address length bounds the path (accept's length for a peer) */
	lbd_sa_text(&ss, (socklen_t)(off + 4), 0, b, sizeof(b));
	cr_expect_str_eq(b, "unix:/run");
	/* an unnamed client: only the family */
	cr_expect_eq(lbd_sa_text(&ss, (socklen_t)sizeof(sa_family_t), 0, b, sizeof(b)), 5);
	cr_expect_str_eq(b, "unix:");
	/* a path that fills sun_path with no NUL still ends in the buffer */
	struct sockaddr_un *s = (struct sockaddr_un *)&ss;

	memset(s->sun_path, 'a', sizeof(s->sun_path));
	cr_expect_eq(lbd_sa_text(&ss, 0, 0, b, sizeof(b)), 5 + sizeof(s->sun_path));
	cr_expect_eq(strlen(b), 5 + sizeof(s->sun_path));
}

Test(sockaddr, cut_to_the_buffer_and_unknown_family)
{
	struct sockaddr_storage ss = in4("192.168.100.200", 65535);
	char b[8];

	cr_expect_eq(lbd_sa_text(&ss, 0, LBD_SA_PORT, b, sizeof(b)), 7);
	cr_expect_str_eq(b, "192.168");
	ss.ss_family = AF_PACKET;
	memset(b, 'x', sizeof(b));
	cr_expect_eq(lbd_sa_text(&ss, 0, LBD_SA_PORT, b, sizeof(b)), 0);
	cr_expect_str_eq(b, "");
	cr_expect_eq(lbd_sa_text(&ss, 0, 0, b, 0), 0);
}

/* The forms http.c's peer_text (address only, into an INET6_ADDRSTRLEN
 * buffer) and tunnel.c's client text (address and port, into struct
 * tunnel's 64 bytes) take from lbd_sa_text: the longest addresses whole,
 * an IPv4-mapped one as inet_ntop prints it, port 0 printed. */
Test(sockaddr, log_and_tunnel_client_forms)
{
	static const struct {
		int v6;
		const char *ip;
		unsigned port;
		const char *bare, *with_port;
	} cases[] = {
		{0, "127.0.0.1", 0, "127.0.0.1", "127.0.0.1:0"},
		{0, "255.255.255.255", 65535, "255.255.255.255", "255.255.255.255:65535"},
		{1, "::ffff:127.0.0.1", 80, "::ffff:127.0.0.1", "[::ffff:127.0.0.1]:80"},
		{1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535,
		 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
		 "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss = cases[i].v6 ? in6(cases[i].ip, cases[i].port)
							 : in4(cases[i].ip, cases[i].port);
		char bare[INET6_ADDRSTRLEN], with_port[64];

		cr_expect_eq(lbd_sa_text(&ss, 0, 0, bare, sizeof(bare)), strlen(cases[i].bare));
		cr_expect_str_eq(bare, cases[i].bare);
		cr_expect_eq(lbd_sa_text(&ss, 0, LBD_SA_PORT, with_port, sizeof(with_port)),
			     strlen(cases[i].with_port));
		cr_expect_str_eq(with_port, cases[i].with_port);
	}
}

Test(sockaddr, wildcard_addresses)
{
	struct sockaddr_storage a4 = in4("0.0.0.0", 80), a6 = in6("::", 80);
	struct sockaddr_storage l4 = in4("127.0.0.1", 80), l6 = in6("::1", 80);
	struct sockaddr_storage m6 = in6("::ffff:0.0.0.0", 80), u = un("/x");

	cr_expect(lbd_sa_any(&a4));
	cr_expect(lbd_sa_any(&a6));
	cr_expect_not(lbd_sa_any(&l4));
	cr_expect_not(lbd_sa_any(&l6));
	cr_expect_not(lbd_sa_any(&m6)); /* a mapped address is not [::] */
	cr_expect_not(lbd_sa_any(&u));
}
