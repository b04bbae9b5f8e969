/* SPDX-License-Identifier: MIT */
/*
 * Request limits (nginx's limit_req and limit_conn): zones shared by all
 * worker threads and kept across reloads, the leaky bucket, the count of
 * requests in progress, and the preaccess phase of a request.
 */
#ifndef LBD_LIMIT_H
#define LBD_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "http-t.h"
#include "lbd.h"
#include "limit-t.h"

/* Bytes a zone entry costs: a 4-byte key ($binary_remote_addr of IPv4)
 * costs 64, so one megabyte keeps about 16 thousand, as nginx documents. */
#define RL_NODE_COST(keylen) (((keylen) + 48 + 63) / 64 * 64)
#define RL_ZONE_MIN_SIZE     (8 * 4096) /* nginx: 8 pages */
#define RL_REQ_KEY_MAX	     65535	/* longer limit_req keys are not limited */
#define RL_CONN_KEY_MAX	     255	/* longer limit_conn keys are not limited */

/* rl_zone_get - the shared zone NAME of KIND and SIZE bytes for a new
 * configuration, with one reference: the live zone of that name, kind and
 * size when there is one (its state carries over a reload, as nginx keeps
 * a shared memory zone whose name and size did not change), else a new
 * empty one. KEY is the key as written: reusing a zone with another key is
 * refused, as nginx does, with its message in err. Returns 0, -EINVAL or
 * -ENOMEM. */
int rl_zone_get(const char *name, enum rl_kind kind, int64_t size, const char *key,
		struct rl_zone **out, char *err, size_t errlen);
/* rl_zone_new - a zone outside the registry with NSTRIPES lock stripes
 * (a power of two, 1..64; 0 picks from the size). Tests use it to make
 * eviction deterministic. One reference. */
struct rl_zone *rl_zone_new(const char *name, enum rl_kind kind, int64_t size, int nstripes);
/* rl_zone_put - drop a reference; the last one frees the zone. */
void rl_zone_put(struct rl_zone *z);
/* rl_zone_entries - entries a zone holds now (tests, status). */
long rl_zone_entries(struct rl_zone *z);

/* struct rl_req_verdict - what limit_req decided for one request. */
struct rl_req_verdict {
	enum rl_req_status status; /* RL_REQ_NONE when every key was empty */
	int64_t delay_ms;	   /* RL_REQ_DELAYED: how long to hold the request */
	int64_t excess;		   /* milli-requests, for the log line */
	int limit;		   /* index of the limit that rejected or delays */
	bool nomem;		   /* rejected because the zone had no room */
};

/* rl_req_check - nginx's limit_req decision for one request at NOW (ms,
 * monotonic): LIMITS[0..n) with their evaluated KEYS (empty or longer than
 * RL_REQ_KEY_MAX = not limited). Every limit is checked; the last one with
 * a key is charged as it is looked up, earlier ones only once all passed,
 * so a rejection by a later limit leaves the earlier ones uncharged. The
 * longest delay of the limits wins. With DRY_RUN nothing is rejected or
 * delayed, the status says what would have happened. Returns 0 or -ENOMEM
 * (more than 16 limits and no memory). */
int rl_req_check(const struct rl_req_limit *limits, int n, const struct lstr *keys, bool dry_run,
		 int64_t now_ms, struct rl_req_verdict *v);

/* rl_conn_acquire - count one more request in progress for KEY in Z, up to
 * MAX. Returns 0 with *node to give back to rl_conn_release, -EBUSY when
 * MAX are in progress, -ENOMEM when the zone is full. */
int rl_conn_acquire(struct rl_zone *z, const char *key, size_t len, int max, struct rl_node **node);
void rl_conn_release(struct rl_zone *z, struct rl_node *node);
/* rl_conn_count - requests in progress for KEY (tests). */
int rl_conn_count(struct rl_zone *z, const char *key, size_t len);

/* rl_preaccess - the preaccess phase of the request on C (limit_conn, then
 * limit_req, each once per request as nginx: internal redirects skip
 * them). Returns 0 to go on (after *delay_ms when it is > 0), or the status
 * to finalize the request with. */
int rl_preaccess(struct conn *c, int64_t *delay_ms);
/* rl_release - give back the limit_conn counts the request holds; called
 * when the request ends, however it ends. Idempotent. */
void rl_release(struct conn *c);

/* rl_req_status_name / rl_conn_status_name - $limit_req_status and
 * $limit_conn_status text, NULL for "not set". */
const char *rl_req_status_name(int st);
const char *rl_conn_status_name(int st);

/* rl_on_reject - called once for each request that limit_req rejects
 * because its client went over a limit (not in dry run, not when the zone
 * is full). ZONE is the zone that rejected it. Marks the request for
 * fail2ban's `limit_req` jails. */
void rl_on_reject(struct conn *c, const char *zone);

#endif
