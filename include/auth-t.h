/* SPDX-License-Identifier: MIT */
/*
 * Access-phase configuration types (nginx's ngx_http_auth_basic_module,
 * `satisfy` and `limit_except` of ngx_http_core_module) as one level of
 * the configuration holds them. Types only.
 */
#ifndef LBD_AUTH_T_H
#define LBD_AUTH_T_H

#include <stdint.h>

struct cval;
struct cfg_loc;

/* struct authreq_set - one `auth_request_set $NAME VALUE` (authreq.c). */
struct authreq_set {
	const char *name;   /* variable name without '$' (configuration memory) */
	struct cval *value; /* evaluated in the subrequest once it is done */
};

/* satisfy all|any */
enum auth_satisfy {
	AUTH_SATISFY_ALL = 0, /* every access check must let the request in */
	AUTH_SATISFY_ANY = 1, /* one is enough (401 wins over 403 otherwise) */
};

/* Method bits of limit_except (nginx's NGX_HTTP_* method bits). A method
 * lbd does not know (and TRACE) is AUTH_M_UNKNOWN: never listed. */
enum auth_method {
	AUTH_M_UNKNOWN = 1u << 0,
	AUTH_M_GET = 1u << 1,
	AUTH_M_HEAD = 1u << 2,
	AUTH_M_POST = 1u << 3,
	AUTH_M_PUT = 1u << 4,
	AUTH_M_DELETE = 1u << 5,
	AUTH_M_MKCOL = 1u << 6,
	AUTH_M_COPY = 1u << 7,
	AUTH_M_MOVE = 1u << 8,
	AUTH_M_OPTIONS = 1u << 9,
	AUTH_M_PROPFIND = 1u << 10,
	AUTH_M_PROPPATCH = 1u << 11,
	AUTH_M_LOCK = 1u << 12,
	AUTH_M_UNLOCK = 1u << 13,
	AUTH_M_PATCH = 1u << 14,
};

/* struct auth_loc - the access-phase settings of one level. */
struct auth_loc {
	struct cval *realm;	      /* auth_basic; NULL unset; "off" (also as a value) = off */
	struct cval *user_file;	      /* auth_basic_user_file; NULL unset */
	int satisfy;		      /* enum auth_satisfy, or CFG_UNSET */
	uint32_t lmt_methods;	      /* limit_except: methods listed (AUTH_M_*); 0 = none.
				 * Not inherited: the location's own block only */
	struct cfg_loc *lmt;	      /* limit_except's block: applies to the other methods */
	const char *req_uri;	      /* auth_request URI; NULL unset, "" = off (authreq.c) */
	struct authreq_set *req_sets; /* auth_request_set list, inherited whole as nginx's
				       * array when a level has none; NULL none */
	int nreq_sets;		      /* entries in req_sets */
};

#endif
