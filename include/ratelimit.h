/* SPDX-License-Identifier: MIT */
/*
 * Response rate limiting (nginx's limit_rate), per request. Every byte of
 * a response to the client goes through http_writev() or one of the
 * sendfile(2) loops (http_flush, pbuf.c); each asks rate_cap() how much it
 * may write now and tells rate_sent() what it wrote. A refused write looks
 * to its caller like a full socket (-1/EAGAIN, c->writable false), so every
 * path already knows what to do: a static file or cache hit waits, the
 * proxy relay stops reading its upstream (or buffers, with
 * proxy_buffering on, as nginx does). A timer on the worker's loop then
 * makes the connection writable again. send_timeout does not run while
 * lbd itself delays.
 */
#ifndef LBD_RATELIMIT_H
#define LBD_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "http-t.h"
#include "lbd.h"
#include "ratelimit-t.h"

/* rate_parse_size - nginx's ngx_parse_size of S[0..len): digits with an
 * optional k/K (x1024) or m/M (x1048576) suffix (no "g" in nginx 1.22).
 * The value, or -1 for anything else (empty, sign, spaces, overflow). */
int64_t rate_parse_size(const char *s, size_t len);

/* rate_parse_accel - an X-Accel-Limit-Rate value S[0..len): decimal bytes
 * per second (nginx's ngx_atoi: no suffix, no sign), "off" (any case) is
 * 0; -1 for anything else (nginx ignores the header then). */
int64_t rate_parse_accel(const char *s, size_t len);

/* rate_quantum - the least a limited write waits for (unless the write
 * is smaller): a tenth of a second's worth of RATE, at least 1 byte. */
int64_t rate_quantum(int64_t rate);

/* rate_budget - bytes a response limited to RATE bytes/s may write now,
 * ELAPSED_US after its request started, SENT bytes written so far and
 * the first AFTER free: RATE * ELAPSED + one quantum - (SENT - AFTER).
 * Zero or negative when nothing may go (then -result is the excess). */
int64_t rate_budget(int64_t rate, int64_t after, int64_t elapsed_us, int64_t sent);

/* rate_delay_us - time for RATE bytes/s to earn BYTES, rounded up (0 for
 * BYTES <= 0). */
int64_t rate_delay_us(int64_t rate, int64_t bytes);

/* rate_cap_slow - rate_cap's work when a limit may apply. */
size_t rate_cap_slow(struct conn *c, size_t want);
void rate_sent_slow(struct conn *c, size_t n);

/* rate_cap - how many of WANT bytes of response C may write now: WANT
 * when unlimited, 0 when it must wait (errno is then EAGAIN, c->writable
 * false and the timer armed: the caller handles it as a full socket). */
static inline size_t rate_cap(struct conn *c, size_t want)
{
	if (likely(c->req.rate.mode == RATE_OFF))
		return want;
	return rate_cap_slow(c, want);
}

/* rate_sent - C wrote N response bytes (after rate_cap allowed them). */
static inline void rate_sent(struct conn *c, size_t n)
{
	if (unlikely(c->req.rate.mode == RATE_ON))
		rate_sent_slow(c, n);
}

/* rate_iov_cap - trim IOV[0..n) to at most MAX bytes in all; the count
 * of entries left (the last one shortened). */
int rate_iov_cap(struct iovec *iov, int n, size_t max);

/* rate_cap_iov - rate_cap for a writev of IOV[0..n): the entries left
 * after trimming to what may be written now, 0 when refused (EAGAIN). */
int rate_cap_iov(struct conn *c, struct iovec *iov, int n);

/* rate_set_var - `set $limit_rate V`: the request's rate from now on
 * (nginx: an invalid size is logged and ignored). */
void rate_set_var(struct conn *c, struct lstr v);

/* rate_upstream - the upstream's X-Accel-Limit-Rate value V: a number of
 * bytes per second or "off" (nginx: anything else is ignored). */
void rate_upstream(struct conn *c, struct lstr v);

/* rate_value - $limit_rate: the request's rate in bytes/s, 0 before the
 * response evaluates limit_rate (as nginx) or when unlimited. */
int64_t rate_value(const struct conn *c);

/* rate_read_cap - proxy_limit_rate: of WANT bytes, how many an upstream
 * answer read at RATE bytes/s since START_US (RX bytes read so far) may
 * read now; 0 when it must wait, *DELAY_MS then says how long. */
size_t rate_read_cap(int64_t rate, int64_t start_us, uint64_t rx, size_t want, int64_t *delay_ms);

/* rate_conn_arm - whether C's send timer may be armed now: false while
 * lbd itself delays the response (send_timeout must not run then). */
static inline bool rate_conn_arm(const struct conn *c)
{
	return likely(!c->req.rate.waiting);
}

/* rate_req_end - stop the request's timer (request cleanup). */
void rate_req_end(struct conn *c);

#endif
