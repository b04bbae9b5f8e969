/* SPDX-License-Identifier: MIT */
/*
 * proxy_bind (upbind.c): the local address of upstream connections, as
 * nginx's ngx_http_upstream_bind_set_slot and ngx_http_upstream_set_local.
 */
#ifndef LBD_UPBIND_H
#define LBD_UPBIND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "var-t.h"

struct conn;

/* struct upbind - one level's proxy_bind. */
struct upbind {
	bool off;		      /* proxy_bind off: no bind (overrides a parent's) */
	struct cval *var;	      /* an address with variables, evaluated per request */
	struct sockaddr_storage addr; /* else the address, port 0 = any */
	socklen_t addrlen;
	char *text;	  /* as written (messages) */
	bool transparent; /* `transparent`: IP_TRANSPARENT before the bind, so that
			   * the address may be another host's (the client's) */
};

/* upbind_parse - nginx's ngx_parse_addr_port for proxy_bind (realip's
 * parser): "A.B.C.D", "A.B.C.D:PORT", an IPv6 address without brackets,
 * or "[IPV6]:PORT"; PORT 1-65535. 0 with *SS / *SL, or -1. */
int upbind_parse(const char *s, size_t len, struct sockaddr_storage *ss, socklen_t *sl);

/* upbind_apply - bind FD (a new upstream socket) as B says for request C:
 * nothing for `off` or a variable that evaluates empty or to no address
 * (that one logged, as nginx); IP_BIND_ADDRESS_NO_PORT when the port is
 * any; IP_TRANSPARENT (IPV6_TRANSPARENT) first with `transparent`. 0, or
 * -errno of a failed bind with the address in TXT (*OPT NULL), or of the
 * failed transparent option *OPT names. */
int upbind_apply(struct conn *c, const struct upbind *b, int fd, char *txt, size_t txtlen,
		 const char **opt);

/* upbind_transparent - IP_TRANSPARENT on FD for a bind to an address of
 * FAMILY (IPV6_TRANSPARENT for AF_INET6), as nginx's
 * ngx_event_connect_set_transparent: it needs CAP_NET_RAW or
 * CAP_NET_ADMIN. 0, or -errno with *WHAT the failed call's name
 * ("setsockopt(IP_TRANSPARENT)") for nginx's alert. */
int upbind_transparent(int fd, int family, const char **what);

#endif
