/* SPDX-License-Identifier: MIT */
/*
 * gRPC types (grpc.c, cfg_grpc.c): the location's grpc_* settings. Their
 * twins of proxy_* settings are a struct fcgi_twins, as the FastCGI and
 * uwsgi modules' are. Types only.
 */
#ifndef LBD_GRPC_T_H
#define LBD_GRPC_T_H

#include <stdbool.h>

#include "fastcgi-t.h"
#include "upssl-t.h"

/* Included by cfg-t.h after struct hdr_list. */

/* struct grpc_loc - a level's grpc_* settings (nginx's inheritance: a
 * level with any grpc_set_header replaces the outer list whole). */
struct grpc_loc {
	struct hdr_list headers; /* grpc_set_header, in order (on top of nginx's
				  * defaults: see grpc_default_header) */
	struct fcgi_twins t;	 /* the proxy_* twins */
	struct upssl_conf ssl;	 /* grpc_ssl_* (grpcs://): the proxy_ssl_* twins,
				  * copied over them by cfg_grpc_apply */
};

#endif
