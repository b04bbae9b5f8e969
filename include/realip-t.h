/* SPDX-License-Identifier: MIT */
/*
 * realip configuration types (nginx's ngx_http_realip_module):
 * set_real_ip_from, real_ip_header, real_ip_recursive as one level of the
 * configuration holds them. Types only.
 */
#ifndef LBD_REALIP_T_H
#define LBD_REALIP_T_H

#include <stddef.h>
#include <stdint.h>

/* struct realip_cidr - one set_real_ip_from entry. */
struct realip_cidr {
	uint8_t addr[16]; /* network, IPv4 mapped (::ffff:a.b.c.d) as ban_cidr */
	uint8_t plen;	  /* prefix length in the 128-bit form (IPv4: 96..128) */
	int family;	  /* AF_INET, AF_INET6 (as written) or AF_UNIX ("unix:") */
};

/* Where the client address comes from (real_ip_header). */
enum realip_type {
	REALIP_UNSET = 0, /* not set at this level: inherited, X-Real-IP at the top */
	REALIP_X_REAL_IP, /* "X-Real-IP" (exact spelling, as nginx): the first such header */
	REALIP_XFF,	  /* "X-Forwarded-For" (exact spelling): every such header, last first */
	REALIP_PROXY_PROTO, /* "proxy_protocol": the client a `listen ... proxy_protocol` header names */
	REALIP_HEADER,	    /* any other name: the first header of that name */
};

/* struct realip_conf - the realip settings of one level. A level with its
 * own set_real_ip_from list does not inherit the enclosing one. */
struct realip_conf {
	struct realip_cidr *from; /* trusted peers; NULL: realip off here */
	int nfrom;		  /* entries in from */
	enum realip_type type;	  /* real_ip_header */
	const char *header;	  /* REALIP_HEADER: the name as written */
	size_t header_len;	  /* its length */
	int recursive;		  /* real_ip_recursive: 1, 0, or CFG_UNSET */
};

#endif
