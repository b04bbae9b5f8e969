/* SPDX-License-Identifier: MIT */
/*
 * Socket addresses as text (sockaddr.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "sockaddr.h"

_Static_assert(LBD_SA_TEXT_MAX >= sizeof("unix:") + sizeof(((struct sockaddr_un *)0)->sun_path) - 1,
	       "LBD_SA_TEXT_MAX holds a whole unix path");
_Static_assert(LBD_SA_TEXT_MAX >= INET6_ADDRSTRLEN + sizeof("[]:65535") - 1,
	       "LBD_SA_TEXT_MAX holds an IPv6 address and port");

unsigned lbd_sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

bool lbd_sa_any(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return false;
}

bool lbd_port_ok(const char *p, size_t len)
{
	unsigned v = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

size_t lbd_sa_text(const struct sockaddr_storage *ss, socklen_t len, unsigned flags, char *buf,
		   size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned port = lbd_sa_port(ss);
	int n;

	if (!size)
		return 0;
	buf[0] = '\0';
	switch (ss->ss_family) {
	case AF_INET: {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		if (!inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip)))
			return 0;
		n = flags & LBD_SA_PORT ? snprintf(buf, size, "%s:%u", ip, port)
					: snprintf(buf, size, "%s", ip);
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		if (!inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip)))
			return 0;
		n = flags & LBD_SA_PORT ? snprintf(buf, size, "[%s]:%u", ip, port)
					: snprintf(buf, size, "%s", ip);
		break;
	}
	case AF_UNIX: {
		/* an unnamed client's address is "unix:" */
		const struct sockaddr_un *su = (const struct sockaddr_un *)ss;
		size_t off = offsetof(struct sockaddr_un, sun_path), max = sizeof(su->sun_path);

		if (len)
			max = len > off ? (size_t)len - off : 0;
		if (max > sizeof(su->sun_path))
			max = sizeof(su->sun_path);
		n = snprintf(buf, size, "unix:%.*s", (int)strnlen(su->sun_path, max), su->sun_path);
		break;
	}
	default:
		return 0;
	}
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}
