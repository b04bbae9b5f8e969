/* SPDX-License-Identifier: MIT */
/*
 * uwsgi and SCGI types (uwsgi.c, scgi.c, cfg_uwsgi.c): the location's
 * uwsgi_* and scgi_* settings. Their twins of proxy_* settings are a
 * struct fcgi_twins, their params struct fcgi_param, as the FastCGI
 * module's. Types only.
 */
#ifndef LBD_UWSGI_T_H
#define LBD_UWSGI_T_H

#include <stdbool.h>
#include <stddef.h>

#include "fastcgi-t.h"
#include "upssl-t.h"

/* struct uwsgi_loc - a level's uwsgi settings (inherited as nginx: a level
 * with any uwsgi_param replaces the outer list whole). */
struct uwsgi_loc {
	struct fcgi_param *params; /* uwsgi_param, in order */
	int nparams;		   /* count */
	bool params_set;	   /* some uwsgi_param at this level */
	bool http_params;	   /* some name starts with "HTTP_": those client
				    * headers are not sent again */
	int modifier1, modifier2;  /* uwsgi_modifier1/2: 0..255, CFG_UNSET */
	char *string;		   /* uwsgi_string: raw bytes after the vars, NULL unset */
	struct fcgi_twins t;	   /* the proxy_* twins */
	struct upssl_conf ssl;	   /* uwsgi_ssl_* (suwsgi://): the proxy_ssl_* twins,
				    * copied over them by cfg_uwsgi_apply */
};

/* struct scgi_loc - a level's SCGI settings (scgi_pass, scgi.c): params
 * inherited as uwsgi_param's. */
struct scgi_loc {
	struct fcgi_param *params; /* scgi_param, in order */
	int nparams;		   /* count */
	bool params_set;	   /* some scgi_param at this level */
	bool http_params;	   /* some name starts with "HTTP_" */
	struct fcgi_twins t;	   /* the proxy_* twins */
};

#endif
