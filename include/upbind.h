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
	char *text; /* as written (messages) */
};

/* upbind_parse - nginx's ngx_parse_addr_port for proxy_bind (realip's
 * parser): "A.B.C.D", "A.B.C.D:PORT", an IPv6 address without brackets,
 * or "[IPV6]:PORT"; PORT 1-65535. 0 with *SS / *SL, or -1. */
int upbind_parse(const char *s, size_t len, struct sockaddr_storage *ss, socklen_t *sl);

/* upbind_apply - bind FD (a new upstream socket) as B says for request C:
 * nothing for `off` or a variable that evaluates empty or to no address
 * (that one logged, as nginx); IP_BIND_ADDRESS_NO_PORT when the port is
 * any. 0, or -errno of a failed bind with the address in TXT. */
int upbind_apply(struct conn *c, const struct upbind *b, int fd, char *txt, size_t txtlen);

#endif
