/* SPDX-License-Identifier: MIT */
/*
 * Small definitions every module uses: string views, array sizes, clocks.
 */
#ifndef LBD_LBD_H
#define LBD_LBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define LBD_NAME "lbd"
#ifndef LBD_VERSION
#define LBD_VERSION "0.0.0"
#endif

#define ARRAY_SIZE(a)	      (sizeof(a) / sizeof((a)[0]))
#define likely(x)	      __builtin_expect(!!(x), 1)
#define unlikely(x)	      __builtin_expect(!!(x), 0)
#define container_of(p, T, m) ((T *)((char *)(p)-offsetof(T, m)))
#define LBD_MIN(a, b)	      ((a) < (b) ? (a) : (b))
#define LBD_MAX(a, b)	      ((a) > (b) ? (a) : (b))

/* struct lstr - a (pointer, length) view; never owns its bytes. */
struct lstr {
	const char *p; /* first byte, not NUL-terminated */
	size_t len;    /* bytes */
};

#define LSTR(lit) ((struct lstr){(lit), sizeof(lit) - 1})

static inline struct lstr lstr_c(const char *s)
{
	return (struct lstr){s, s ? strlen(s) : 0};
}

static inline bool lstr_eq(struct lstr a, struct lstr b)
{
	return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

bool lstr_ieq(struct lstr a, struct lstr b);

/* lbd_u64toa - decimal digits of V at P (no NUL); returns their count
 * (at most 20). For hot paths where snprintf is too slow. */
static inline size_t lbd_u64toa(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* lbd_sockaddr_eq - A and B are the same IPv4 or IPv6 address and port
 * (other families never match). */
static inline bool lbd_sockaddr_eq(const struct sockaddr_storage *a,
				   const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

/* lbd_now_ms - monotonic clock in milliseconds. */
static inline int64_t lbd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* lbd_now_us - monotonic clock in microseconds. */
static inline int64_t lbd_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
