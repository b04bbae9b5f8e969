/* SPDX-License-Identifier: MIT */
/*
 * Socket addresses as nginx prints them in variables and log lines:
 * "1.2.3.4", "::1", "unix:/path", and with the port "1.2.3.4:80",
 * "[::1]:80" (a unix address has no port).
 */
#ifndef LBD_SOCKADDR_H
#define LBD_SOCKADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Room for any address lbd_sa_text writes: "unix:" and a whole sun_path,
 * or "[" INET6_ADDRSTRLEN "]:65535", and the NUL. */
#define LBD_SA_TEXT_MAX 120

enum {
	LBD_SA_PORT = 1, /* append ":PORT" (an IPv6 address goes in brackets) */
};

/* lbd_sa_text - SS (of LEN bytes; 0: the whole structure) as text into
 * BUF of SIZE bytes, cut to fit and NUL-terminated; FLAGS: LBD_SA_PORT.
 * Returns the length written, 0 (an empty string) for a family with no
 * text. */
size_t lbd_sa_text(const struct sockaddr_storage *ss, socklen_t len, unsigned flags, char *buf,
		   size_t size);

/* lbd_sa_port - the port of an IPv4 or IPv6 address, 0 for others. */
unsigned lbd_sa_port(const struct sockaddr_storage *ss);

/* lbd_sa_any - whether SS is the IPv4 or IPv6 wildcard address (0.0.0.0,
 * [::]), whatever its port. */
bool lbd_sa_any(const struct sockaddr_storage *ss);

/* lbd_port_ok - whether the LEN bytes at P are a port as nginx's URL
 * parser takes one: digits only, 1..65535. */
bool lbd_port_ok(const char *p, size_t len);

#endif
