/* SPDX-License-Identifier: MIT */
/*
 * Request limit types (nginx's limit_req and limit_conn): the zone
 * declarations of a configuration, the limits of one configuration level,
 * and what one request holds. The shared zone state itself (struct rl_zone)
 * is private to limit.c. Types only.
 */
#ifndef LBD_LIMIT_T_H
#define LBD_LIMIT_T_H

#include <stdbool.h>
#include <stdint.h>

#include "var-t.h"

struct rl_zone;
struct rl_node;

/* enum rl_kind - which module a zone belongs to: nginx refuses to use one
 * name for both ("already declared for a different use"). */
enum rl_kind {
	RL_KIND_REQ = 1, /* limit_req_zone */
	RL_KIND_CONN,	 /* limit_conn_zone */
	RL_KIND_SCONN,	 /* stream's limit_conn_zone (its own names, as nginx's stream module) */
};

/* $limit_req_status values; 0 = limit_req did not run for the request
 * (the variable is then "not found"). Set once per request. */
enum rl_req_status {
	RL_REQ_NONE = 0,
	RL_REQ_PASSED,
	RL_REQ_DELAYED,
	RL_REQ_REJECTED,
	RL_REQ_DELAYED_DRY_RUN,
	RL_REQ_REJECTED_DRY_RUN,
};

/* $limit_conn_status values; 0 = no limit_conn key applied. */
enum rl_conn_status {
	RL_CONN_NONE = 0,
	RL_CONN_PASSED,
	RL_CONN_REJECTED,
	RL_CONN_REJECTED_DRY_RUN,
};

/* `nodelay` as a delay= threshold: no excess ever reaches it. */
#define RL_NODELAY (INT64_MAX / 1000 * 1000)

/* struct rl_zone_conf - one zone name as a configuration uses it. Created
 * by the first directive naming it (limit_req may name a zone before its
 * limit_req_zone, as in nginx); bound to shared state when the
 * configuration is complete. Configuration pool memory. */
struct rl_zone_conf {
	char *name;		   /* zone name */
	enum rl_kind kind;	   /* module that declared or used it first */
	int64_t size;		   /* bytes; 0 while only referenced */
	bool bound;		   /* a *_zone directive gave it a key */
	struct cval key;	   /* key expression, evaluated per request */
	char *key_text;		   /* key as written, for messages and reloads */
	int64_t rate;		   /* limit_req: milli-requests per second */
	struct rl_zone *zone;	   /* shared state (refcounted), NULL until bound */
	struct rl_zone_conf *next; /* the configuration's list */
};

/* struct rl_req_limit - one `limit_req zone=NAME [burst=N] [nodelay|delay=N]`. */
struct rl_req_limit {
	struct rl_zone_conf *zc; /* the zone */
	int64_t burst;		 /* milli-requests allowed over the rate */
	int64_t delay;		 /* milli-requests served without delay (RL_NODELAY) */
};

/* struct rl_conn_limit - one `limit_conn NAME N`. */
struct rl_conn_limit {
	struct rl_zone_conf *zc; /* the zone */
	int conn;		 /* requests in progress allowed per key, 1..65535 */
};

/* struct rl_loc - the limit settings of one http/server/location level.
 * Arrays inherit as a whole from the enclosing level when this level has
 * none; integers are CFG_UNSET until merged. */
struct rl_loc {
	struct rl_req_limit *req;   /* limit_req entries, NULL = inherit */
	int nreq;		    /* count */
	struct rl_conn_limit *conn; /* limit_conn entries, NULL = inherit */
	int nconn;		    /* count */
	int req_status;		    /* limit_req_status, default 503 */
	int req_log_level;	    /* limit_req_log_level (enum log_level), default error */
	int req_dry_run;	    /* limit_req_dry_run */
	int conn_status;	    /* limit_conn_status, default 503 */
	int conn_log_level;	    /* limit_conn_log_level, default error */
	int conn_dry_run;	    /* limit_conn_dry_run */
};

/* struct rl_hold - one limit_conn count a request holds until it ends. */
struct rl_hold {
	struct rl_zone *zone; /* zone of the count (kept alive by the request's cfg) */
	struct rl_node *node; /* the key's entry */
};

/* struct rl_req_state - limit state of one request (cleared per request). */
struct rl_req_state {
	uint8_t req_status;    /* enum rl_req_status */
	uint8_t conn_status;   /* enum rl_conn_status */
	int saved_state;       /* connection state to resume after a delay */
	struct rl_hold *holds; /* limit_conn counts held (request pool) */
	int nholds;	       /* count */
};

#endif
