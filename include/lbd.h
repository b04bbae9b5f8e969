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

#define LBD_NAME "lbd"
#ifndef LBD_VERSION
#define LBD_VERSION "0.0.0"
#endif

#define ARRAY_SIZE(a)     (sizeof(a) / sizeof((a)[0]))
#define likely(x)         __builtin_expect(!!(x), 1)
#define unlikely(x)       __builtin_expect(!!(x), 0)
#define container_of(p, T, m) ((T *)((char *)(p)-offsetof(T, m)))
#define LBD_MIN(a, b)     ((a) < (b) ? (a) : (b))
#define LBD_MAX(a, b)     ((a) > (b) ? (a) : (b))

/* struct lstr - a (pointer, length) view; never owns its bytes. */
struct lstr {
	const char *p; /* first byte, not NUL-terminated */
	size_t len;    /* bytes */
};

#define LSTR(lit) ((struct lstr){ (lit), sizeof(lit) - 1 })

static inline struct lstr lstr_c(const char *s)
{
	return (struct lstr){ s, s ? strlen(s) : 0 };
}

static inline bool lstr_eq(struct lstr a, struct lstr b)
{
	return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

bool lstr_ieq(struct lstr a, struct lstr b);

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
