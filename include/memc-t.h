/* SPDX-License-Identifier: MIT */
/*
 * memcached types (memc.c, cfg_memc.c): the location's memcached_*
 * settings. Their twins of proxy_* settings are a struct fcgi_twins, as
 * the FastCGI and uwsgi modules'. Types only.
 */
#ifndef LBD_MEMC_T_H
#define LBD_MEMC_T_H

#include <stdbool.h>
#include <stddef.h>

#include "fastcgi-t.h"

struct cval;

/* struct memc_loc - a level's memcached settings. */
struct memc_loc {
	struct cval *key;    /* $memcached_key, compiled by memcached_pass (the
			       * location that holds it), NULL elsewhere */
	int gzip_flag;	     /* memcached_gzip_flag: flag bits meaning gzip, 0 off,
			       * CFG_UNSET */
	struct fcgi_twins t; /* the proxy_* twins (timeouts, retries, bind...) */
};

#endif
