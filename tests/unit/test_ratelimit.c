/* SPDX-License-Identifier: MIT */
/*
 * Response rate limiting (ratelimit.c): nginx's sizes for limit_rate and
 * $limit_rate, X-Accel-Limit-Rate values, the budget and the delays, and
 * the trimming of a writev to the budget.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/uio.h>

#include "ratelimit.h"

static int64_t size_of(const char *s)
{
	return rate_parse_size(s, strlen(s));
}

Test(ratelimit, parse_size_as_nginx_1_22)
{
	cr_assert_eq(size_of("0"), 0);
	cr_assert_eq(size_of("100"), 100);
	cr_assert_eq(size_of("100k"), 102400);
	cr_assert_eq(size_of("100K"), 102400);
	cr_assert_eq(size_of("2m"), 2097152);
	cr_assert_eq(size_of("2M"), 2097152);
	cr_assert_eq(size_of("007k"), 7168);
	/* nginx 1.22's ngx_parse_size has no "g" (nginx -t: invalid value) */
	cr_assert_eq(size_of("1g"), -1);
	cr_assert_eq(size_of(""), -1);
	cr_assert_eq(size_of("k"), -1);
	cr_assert_eq(size_of("-1"), -1);
	cr_assert_eq(size_of("+1"), -1);
	cr_assert_eq(size_of(" 1"), -1);
	cr_assert_eq(size_of("1 "), -1);
	cr_assert_eq(size_of("1kk"), -1);
	cr_assert_eq(size_of("1.5k"), -1);
	cr_assert_eq(size_of("9223372036854775807"), INT64_MAX);
	cr_assert_eq(size_of("9223372036854775808"), -1);
	cr_assert_eq(size_of("9007199254740992k"), -1); /* 2^53 KiB: past 2^63 */
	/* a length, not a NUL, ends the value */
	cr_assert_eq(rate_parse_size("12kXYZ", 3), 12288);
}

Test(ratelimit, parse_accel)
{
	cr_assert_eq(rate_parse_accel("off", 3), 0);
	cr_assert_eq(rate_parse_accel("OFF", 3), 0);
	cr_assert_eq(rate_parse_accel("0", 1), 0);
	cr_assert_eq(rate_parse_accel("102400", 6), 102400);
	cr_assert_eq(rate_parse_accel("10k", 3), -1); /* ngx_atoi: digits only */
	cr_assert_eq(rate_parse_accel("", 0), -1);
	cr_assert_eq(rate_parse_accel("-5", 2), -1);
	cr_assert_eq(rate_parse_accel("99999999999999999999", 20), -1);
}

Test(ratelimit, quantum)
{
	cr_assert_eq(rate_quantum(102400), 10240);
	cr_assert_eq(rate_quantum(10), 1);
	cr_assert_eq(rate_quantum(9), 1);
	cr_assert_eq(rate_quantum(1), 1);
}

Test(ratelimit, budget)
{
	const int64_t r = 102400, q = 10240;

	/* at the start: one quantum */
	cr_assert_eq(rate_budget(r, 0, 0, 0), q);
	/* a second later: the rate more */
	cr_assert_eq(rate_budget(r, 0, 1000000, 0), r + q);
	cr_assert_eq(rate_budget(r, 0, 500000, 51200), q);
	/* over: negative, the excess */
	cr_assert_eq(rate_budget(r, 0, 0, q + 100), -100);
	/* limit_rate_after: free bytes first */
	cr_assert_eq(rate_budget(r, 204800, 0, 0), 204800 + q);
	cr_assert_eq(rate_budget(r, 204800, 0, 204800), q);
	/* a clock going back counts as no time */
	cr_assert_eq(rate_budget(r, 0, -5000, 0), q);
	/* no overflow at the ends */
	cr_assert_eq(rate_budget(INT64_MAX, INT64_MAX, INT64_MAX, 0), INT64_MAX);
	cr_assert_eq(rate_budget(1, 0, 0, INT64_MAX), 1 - INT64_MAX);
	/* the bound: SENT never passes AFTER + quantum + RATE * ELAPSED */
	for (int64_t us = 0; us <= 3000000; us += 12345) {
		int64_t sent = 4096, b = rate_budget(r, 0, us, sent);

		cr_assert_leq(sent + b, q + r * us / 1000000);
	}
}

Test(ratelimit, delay)
{
	cr_assert_eq(rate_delay_us(102400, 102400), 1000000);
	cr_assert_eq(rate_delay_us(102400, 0), 0);
	cr_assert_eq(rate_delay_us(102400, -5), 0);
	cr_assert_eq(rate_delay_us(0, 100), 0);
	/* rounded up: never wake before the bytes are earned */
	cr_assert_eq(rate_delay_us(3, 1), 333334);
	cr_assert_eq(rate_delay_us(1000000, 1), 1);
	cr_assert_eq(rate_delay_us(1, INT64_MAX), INT64_MAX);
}

Test(ratelimit, iov_cap)
{
	char a[10], b[20], c[30];
	struct iovec iov[3] = {{a, 10}, {b, 20}, {c, 30}};

	cr_assert_eq(rate_iov_cap(iov, 3, 100), 3);
	cr_assert_eq(iov[2].iov_len, 30);
	cr_assert_eq(rate_iov_cap(iov, 3, 60), 3);
	cr_assert_eq(iov[2].iov_len, 30);
	cr_assert_eq(rate_iov_cap(iov, 3, 25), 2);
	cr_assert_eq(iov[0].iov_len, 10);
	cr_assert_eq(iov[1].iov_len, 15);
	cr_assert_eq(rate_iov_cap(iov, 3, 10), 1);
	cr_assert_eq(iov[0].iov_len, 10);
	cr_assert_eq(rate_iov_cap(iov, 1, 4), 1);
	cr_assert_eq(iov[0].iov_len, 4);
}

Test(ratelimit, read_cap)
{
	int64_t now = lbd_now_us(), ms = -1;

	/* a second in at 100k with nothing read: a whole buffer */
	cr_assert_eq(rate_read_cap(102400, now - 1000000, 0, 16384, &ms), 16384);
	cr_assert_eq(ms, -1);
	/* at the start: one quantum */
	cr_assert_eq(rate_read_cap(102400, now + 1000000, 0, 16384, &ms), 10240);
	/* over budget: wait until a quantum (10240) is earned: ~0.1 s */
	ms = -1;
	cr_assert_eq(rate_read_cap(102400, now, 10240, 16384, &ms), 0);
	cr_assert(ms >= 90 && ms <= 101, "%lld", (long long)ms);
	/* a read smaller than the quantum waits only for itself */
	ms = -1;
	cr_assert_eq(rate_read_cap(102400, now, 10240, 1024, &ms), 0);
	cr_assert(ms >= 1 && ms <= 11, "%lld", (long long)ms);
}
