/* SPDX-License-Identifier: MIT */
/*
 * Response rate limiting types (nginx's limit_rate, limit_rate_after,
 * $limit_rate, X-Accel-Limit-Rate): what a configuration level says and
 * what one request holds. Types only; the logic is in ratelimit.c.
 */
#ifndef LBD_RATELIMIT_T_H
#define LBD_RATELIMIT_T_H

#include <stdbool.h>
#include <stdint.h>

#include "ev.h"
#include "var-t.h"

/* struct rate_loc - limit_rate and limit_rate_after of one level (NULL:
 * unset, inherited), each a size ("100k", "1m") or a string with
 * variables evaluated when the response starts (a literal is checked and
 * parsed at load time into the matching *_lit); proxy_limit_rate, a plain
 * size (inherited unless proxy_rate_set). */
struct rate_loc {
	struct cval *rate;   /* limit_rate, bytes per second; 0 = no limit */
	struct cval *after;  /* limit_rate_after, bytes sent before limiting */
	int64_t rate_lit;    /* rate's value when rate->literal */
	int64_t after_lit;   /* after's value when after->literal */
	int64_t proxy_rate;  /* proxy_limit_rate, bytes per second; 0 = no limit */
	bool proxy_rate_set; /* proxy_limit_rate given at this level */
};

/* enum rate_mode - a request's limit. Legal transitions:
 *   UNSET -> FIXED ($limit_rate set, X-Accel-Limit-Rate) -> ON | OFF
 *   UNSET -> ON | OFF (the first response write evaluates limit_rate)
 *   FIXED -> FIXED (set again before the response starts)
 * OFF is the unlimited fast path (one compare per write); ON and OFF
 * end with the request (it is cleared for the next one). */
enum rate_mode {
	RATE_UNSET = 0, /* nothing decided: limit_rate is evaluated on the first write */
	RATE_FIXED,	/* rate given by `set $limit_rate` or the upstream, not started */
	RATE_OFF,	/* no limit for this response */
	RATE_ON,	/* limiting: timer initialized */
};

/* struct rate_req - the limit of one request (cleared per request, so all
 * zero is RATE_UNSET with nothing armed). */
struct rate_req {
	uint8_t mode;	       /* enum rate_mode */
	bool waiting;	       /* the timer is armed: writes are refused until it fires */
	int64_t rate;	       /* bytes per second (FIXED, ON) */
	int64_t after;	       /* bytes sent before the limit starts (ON) */
	int64_t sent;	       /* response bytes handed to the client side (ON) */
	struct ev_timer timer; /* ends a delay (ON; initialized when it turns on) */
};

#endif
