// SPDX-License-Identifier: MIT
/*
 * Response rate limiting, nginx's limit_rate: per request, a response may
 * have written by now limit_rate_after bytes, plus what the rate earned
 * since the request started, plus one quantum (a tenth of a second's
 * worth) so that a response starts at once. Writes are cut to that
 * budget; under a quantum left the write waits until a quantum is earned,
 * so a limited response wakes ~10 times a second, not once per byte.
 * (nginx lets a whole second's worth go first and then sleeps it off, so
 * its average over a short response is above the rate; lbd's stays under
 * it.) A write that must wait is refused as a full socket would refuse it,
 * and a timer on the worker's loop makes the connection writable again:
 * no sleep, no busy loop, and while that timer runs the connection's
 * send_timeout does not (conn_arm_timer asks rate_conn_arm). The limit is
 * decided on the response's first write (limit_rate may hold variables),
 * unless `set $limit_rate` or the upstream's X-Accel-Limit-Rate decided
 * it before; an unlimited response then costs one compare per write
 * (rate_cap in ratelimit.h).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>

#include "http.h"
#include "lbd.h"
#include "log.h"
#include "ratelimit.h"
#include "var.h"
#include "worker.h"

int64_t rate_parse_size(const char *s, size_t len)
{
	int64_t v = 0, mul = 1;
	size_t i = 0;

	if (len && (s[len - 1] == 'k' || s[len - 1] == 'K'))
		mul = 1024, len--;
	else if (len && (s[len - 1] == 'm' || s[len - 1] == 'M'))
		mul = 1024 * 1024, len--;
	if (!len)
		return -1;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (INT64_MAX - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > INT64_MAX / mul)
		return -1;
	return v * mul;
}

static int64_t clamp128(__int128 v)
{
	return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (int64_t)v;
}

int64_t rate_quantum(int64_t rate)
{
	return rate >= 10 ? rate / 10 : 1;
}

int64_t rate_budget(int64_t rate, int64_t after, int64_t elapsed_us, int64_t sent)
{
	__int128 earned = (__int128)rate * (elapsed_us > 0 ? elapsed_us : 0) / 1000000;

	return clamp128(earned + rate_quantum(rate) - ((__int128)sent - after));
}

int64_t rate_delay_us(int64_t rate, int64_t bytes)
{
	if (rate <= 0 || bytes <= 0)
		return 0;
	/* rounded up: waking before the bytes are earned would only wait again */
	return clamp128(((__int128)bytes * 1000000 + rate - 1) / rate);
}

int rate_iov_cap(struct iovec *iov, int n, size_t max)
{
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len >= max) {
			iov[i].iov_len = max;
			return i + 1;
		}
		max -= iov[i].iov_len;
	}
	return n;
}

size_t rate_read_cap(int64_t rate, int64_t start_us, uint64_t rx, size_t want, int64_t *delay_ms)
{
	int64_t b = rate_budget(rate, 0, lbd_now_us() - start_us, (int64_t)rx);
	int64_t need = rate_quantum(rate) < (int64_t)want ? rate_quantum(rate) : (int64_t)want;

	if (b >= need)
		return (uint64_t)b < want ? (size_t)b : want;
	*delay_ms = (rate_delay_us(rate, need - b) + 999) / 1000;
	return 0;
}

/* unlimited - the common case, decided cheaply: true when C's response
 * has no limit (then RATE_OFF from now on) or has not started (a 100
 * Continue: not limited, nothing decided). */
static inline bool unlimited(struct conn *c)
{
	struct rate_req *rs = &c->req.rate;

	if (rs->mode != RATE_UNSET)
		return false;
	if (!c->req.header_sent)
		return true;
	if (c->req.loc && c->req.loc->rate.rate)
		return false;
	rs->mode = RATE_OFF;
	return true;
}

int rate_cap_iov(struct conn *c, struct iovec *iov, int n)
{
	size_t total = 0, k;

	if (unlimited(c))
		return n;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (!total)
		return n;
	k = rate_cap_slow(c, total);
	return k ? rate_iov_cap(iov, n, k) : 0;
}

/* eval - a limit_rate / limit_rate_after value of C's location: the
 * literal parsed at load time, else the string evaluated now; 0 (no
 * limit, nothing free) when it is not a size, logged as nginx does. */
static int64_t eval(struct conn *c, const struct cval *cv, int64_t lit)
{
	struct lstr v;
	int64_t n;

	if (!cv)
		return 0;
	if (cv->literal)
		return lit;
	if (cval_eval(cv, c, &v))
		return 0;
	n = rate_parse_size(v.p, v.len);
	if (n < 0) {
		http_log(c, NULL, LOG_ERR, "invalid size \"%.*s\"", (int)v.len, v.p);
		return 0;
	}
	return n;
}

static void timer_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct conn *c = t->data;

	(void)loop;
	c->req.rate.waiting = false;
	/* as an EPOLLOUT: a socket still full only refuses again, and then
	 * its own edge comes */
	c->writable = true;
	http_conn_run(c);
}

/* start - decide the limit of C's response at its first write: true when
 * there is none (RATE_OFF), false when it is now RATE_ON. */
static bool start(struct conn *c)
{
	struct rate_req *rs = &c->req.rate;
	const struct cfg_loc *l = c->req.loc;

	if (rs->mode == RATE_UNSET)
		rs->rate = l ? eval(c, l->rate.rate, l->rate.rate_lit) : 0;
	if (rs->rate <= 0) {
		rs->mode = RATE_OFF;
		return true;
	}
	rs->after = l ? eval(c, l->rate.after, l->rate.after_lit) : 0;
	rs->sent = 0;
	rs->waiting = false;
	ev_timer_init(&rs->timer, timer_cb, c);
	rs->mode = RATE_ON;
	return false;
}

size_t rate_cap_slow(struct conn *c, size_t want)
{
	struct rate_req *rs = &c->req.rate;
	int64_t delay, b, need;

	/* before the response head (a 100 Continue) nothing is limited */
	if (rs->mode != RATE_ON && (!c->req.header_sent || unlimited(c) || start(c)))
		return want;
	if (rs->waiting)
		goto refuse;
	b = rate_budget(rs->rate, rs->after, lbd_now_us() - c->req.start_us, rs->sent);
	need = (uint64_t)rate_quantum(rs->rate) < want ? rate_quantum(rs->rate) : (int64_t)want;
	if (b >= need)
		return (uint64_t)b < want ? (size_t)b : want;
	delay = rate_delay_us(rs->rate, need - b);
	if (ev_timer_start(&c->w->loop, &rs->timer, (delay + 999) / 1000))
		return want; /* no memory for the timer: unlimited rather than stuck */
	rs->waiting = true;
	ev_timer_stop(&c->w->loop, &c->timer); /* no send_timeout while we delay */
refuse:
	c->writable = false;
	errno = EAGAIN;
	return 0;
}

void rate_sent_slow(struct conn *c, size_t n)
{
	c->req.rate.sent += (int64_t)n;
}

void rate_set_var(struct conn *c, struct lstr v)
{
	struct rate_req *rs = &c->req.rate;
	int64_t n = rate_parse_size(v.p, v.len);

	if (n < 0) {
		http_log(c, NULL, LOG_ERR, "invalid $limit_rate \"%.*s\"", (int)v.len, v.p);
		return;
	}
	if (rs->mode == RATE_ON || rs->mode == RATE_OFF)
		return; /* the response is under way: too late */
	rs->rate = n;
	rs->mode = RATE_FIXED;
}

int64_t rate_parse_accel(const char *s, size_t len)
{
	int64_t n = 0;

	if (len == 3 && strncasecmp(s, "off", 3) == 0)
		return 0;
	if (!len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || n > (INT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	return n;
}

void rate_upstream(struct conn *c, struct lstr v)
{
	struct rate_req *rs = &c->req.rate;
	int64_t n = rate_parse_accel(v.p, v.len);

	if (n < 0 || rs->mode == RATE_ON || rs->mode == RATE_OFF)
		return;
	rs->rate = n;
	rs->mode = RATE_FIXED;
}

int64_t rate_value(const struct conn *c)
{
	const struct rate_req *rs = &c->req.rate;

	return rs->mode == RATE_FIXED || rs->mode == RATE_ON ? rs->rate : 0;
}

void rate_req_end(struct conn *c)
{
	struct rate_req *rs = &c->req.rate;

	if (rs->mode == RATE_ON && rs->waiting)
		ev_timer_stop(&c->w->loop, &rs->timer);
	rs->waiting = false;
}
