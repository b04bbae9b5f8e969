/* SPDX-License-Identifier: MIT */
/*
 * Proxy cache types (nginx's proxy_cache_* directives): the zones a
 * configuration declares with proxy_cache_path, the cache settings of one
 * http/server/location level, and $upstream_cache_status. The shared zone
 * state (index, counters, manager) is private to the cache's files
 * (userspace/cache_int.h). Types only.
 */
#ifndef LBD_CACHE_T_H
#define LBD_CACHE_T_H

#include <stdbool.h>
#include <stdint.h>

#include "var-t.h"

struct cache_zone;
struct cache_req;

#define CACHE_MAX_LEVELS 3

/* $upstream_cache_status; CACHE_ST_NONE = the cache was not used. */
enum cache_status {
	CACHE_ST_NONE = 0,
	CACHE_ST_MISS,
	CACHE_ST_BYPASS,
	CACHE_ST_EXPIRED,
	CACHE_ST_STALE,
	CACHE_ST_UPDATING,
	CACHE_ST_REVALIDATED,
	CACHE_ST_HIT,
};

/* proxy_cache_methods bits */
enum {
	CACHE_M_GET = 1 << 0,
	CACHE_M_HEAD = 1 << 1,
	CACHE_M_POST = 1 << 2,
};

/* proxy_ignore_headers bits (the ones that change caching) */
enum {
	CACHE_IGN_X_ACCEL_EXPIRES = 1 << 0,
	CACHE_IGN_EXPIRES = 1 << 1,
	CACHE_IGN_CACHE_CONTROL = 1 << 2,
	CACHE_IGN_SET_COOKIE = 1 << 3,
	CACHE_IGN_VARY = 1 << 4,
	CACHE_IGN_OTHER = 1 << 5,	  /* X-Accel-Buffering & co: accepted, no effect here */
	CACHE_IGN_XA_REDIRECT = 1 << 6,	  /* X-Accel-Redirect passed on, not followed */
	CACHE_IGN_XA_LIMIT_RATE = 1 << 7, /* X-Accel-Limit-Rate not obeyed (ratelimit.c) */
};

/* proxy_cache_use_stale bits */
enum {
	CACHE_STALE_ERROR = 1 << 0,
	CACHE_STALE_TIMEOUT = 1 << 1,
	CACHE_STALE_UPDATING = 1 << 2,
	CACHE_STALE_500 = 1 << 3,
	CACHE_STALE_502 = 1 << 4,
	CACHE_STALE_503 = 1 << 5,
	CACHE_STALE_504 = 1 << 6,
	CACHE_STALE_403 = 1 << 7,
	CACHE_STALE_404 = 1 << 8,
	CACHE_STALE_429 = 1 << 9,
	CACHE_STALE_INVALID = 1 << 10, /* invalid_header */
	CACHE_STALE_OFF = 1 << 11,
};

/* if_modified_since (nginx's not_modified filter, on cached responses) */
enum {
	CACHE_IMS_OFF = 0,
	CACHE_IMS_EXACT,
	CACHE_IMS_BEFORE,
};

/* The module a zone belongs to: nginx's keys_zone names are global, but
 * a zone of proxy_cache_path is not usable by fastcgi_cache (nor the
 * reverse, nor uwsgi's, nor scgi's): "already declared for a different
 * use". */
enum {
	CACHE_ZONE_PROXY = 1,
	CACHE_ZONE_FASTCGI,
	CACHE_ZONE_UWSGI,
	CACHE_ZONE_SCGI,
};

/* struct cache_zone_conf - one proxy_cache_path, or a zone name that
 * proxy_cache refers to (path NULL until declared). Configuration pool
 * memory; bound to shared state when the configuration is complete. */
struct cache_zone_conf {
	char *name;		      /* keys_zone name */
	char *path;		      /* cache directory (absolute), NULL = only referenced */
	int levels[CACHE_MAX_LEVELS]; /* hex digits per directory level */
	int nlevels;		      /* 0..3 */
	int64_t keys_size;	      /* keys_zone size, bytes */
	int64_t max_size;	      /* bytes on disk, 0 = unlimited */
	int64_t inactive_ms;	      /* entries unused this long are removed */
	bool use_temp_path;	      /* accepted: temp files always go beside the entry */
	int owner;		      /* CACHE_ZONE_*: the module that named it first */
	const char *file;	      /* where referenced first, for messages */
	int line;
	struct cache_zone *zone;      /* shared state (refcounted), NULL until bound */
	struct cache_zone_conf *next; /* the configuration's list */
};

/* struct cache_valid - one proxy_cache_valid status (0 = any) and time. */
struct cache_valid {
	int status;   /* 0 for `any` */
	int64_t secs; /* validity, seconds */
};

/* struct cache_loc - the cache settings of one level. Ints are CFG_UNSET
 * until merged; arrays inherit whole when a level has none. */
struct cache_loc {
	struct cache_zone_conf *zc; /* proxy_cache NAME, NULL = off or by variable */
	int on;			    /* CFG_UNSET, 0 (off) or 1 */
	/* proxy_cache $variable: the zone named by the value, per request
	 * (NULL = a fixed zone or off); zones is where the configuration's
	 * list of zones starts (filled while parsing), zowner the module
	 * (CACHE_ZONE_*) whose zones count */
	struct cval *zvar;
	struct cache_zone_conf *const *zones;
	int zowner;
	struct cval key; /* proxy_cache_key */
	bool key_set;
	struct cache_valid *valid; /* proxy_cache_valid, in order */
	int nvalid;
	struct cval *bypass; /* proxy_cache_bypass values */
	int nbypass;
	struct cval *no_cache; /* proxy_no_cache values */
	int nno_cache;
	int methods;	       /* CACHE_M_* */
	int ignore;	       /* CACHE_IGN_* */
	int min_uses;	       /* proxy_cache_min_uses */
	int lock;	       /* proxy_cache_lock */
	int64_t lock_timeout;  /* ms */
	int64_t lock_age;      /* ms */
	int use_stale;	       /* CACHE_STALE_* */
	int background_update; /* proxy_cache_background_update */
	int revalidate;	       /* proxy_cache_revalidate */
	int convert_head;      /* proxy_cache_convert_head */
	int ims_mode;	       /* if_modified_since: CACHE_IMS_* */
	/* proxy_cache_max_range_offset, bytes; CFG_UNSET, INT64_MAX: no limit */
	int64_t max_range_offset;
};

#endif
