/* SPDX-License-Identifier: MIT */
/*
 * nginx's random_index: a URI ending in '/' in a location with
 * `random_index on` goes (internal redirect, query string kept) to one of
 * the regular files of its directory picked at random, names starting
 * with '.' left out, before the index module is asked. The names are
 * counted in one pass and the pick found in a second (no list kept); the
 * directory scan is bounded by RANDINDEX_MAX entries. The generator is
 * per thread (xorshift64*, seeded from getrandom(2)).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "emptygif.h"
#include "http.h"
#include "log.h"

#define RANDINDEX_MAX 100000 /* directory entries looked at, at most */

static __thread uint64_t randindex_state;

static uint64_t randindex_next(void)
{
	uint64_t x = randindex_state;

	if (!x) {
		if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != (ssize_t)sizeof(x))
			x = (uint64_t)(uintptr_t)&x ^ 0x9e3779b97f4a7c15ULL;
		if (!x)
			x = 1;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	randindex_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* is_file - whether entry E of directory DIRFD is a regular file, as
 * nginx's ngx_de_is_file: by d_type, stat only when the type is unknown. */
static bool is_file(DIR *d, const struct dirent *e)
{
	struct stat st;

	if (e->d_type != DT_UNKNOWN)
		return e->d_type == DT_REG;
	return fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISREG(st.st_mode);
}

/* pick - the name of the K-th file of D (in readdir order), or the count
 * of files when K is -1 (*COUNT). */
static const char *scan(DIR *d, long k, long *count)
{
	struct dirent *e;
	long n = 0, seen = 0;

	rewinddir(d);
	while ((e = readdir(d)) && seen++ < RANDINDEX_MAX) {
		if (e->d_name[0] == '.' || !is_file(d, e))
			continue;
		if (n++ == k)
			return e->d_name;
	}
	*count = n;
	return NULL;
}

bool randindex_serve(struct conn *c, const char *dir)
{
	struct http_req *r = &c->req;
	struct lstr uri = r->u.uri;
	const char *name;
	long n = 0;
	DIR *d;

	if (!dir)
		return false;
	d = opendir(dir);
	if (!d) {
		int e = errno, st = e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG ? 404
				    : e == EACCES				     ? 403
										     : 500;

		http_log(c, NULL, st == 500 ? LOG_CRIT : LOG_ERR,
			 "opendir() \"%s\" failed (%d: %s)", dir, e, strerror(e));
		http_finalize(c, st);
		return true;
	}
	scan(d, -1, &n);
	name = n ? scan(d, (long)(randindex_next() % (uint64_t)n), &n) : NULL;
	if (!name) {
		closedir(d);
		return false;
	}
	size_t nl = strlen(name);
	char *nu = pool_alloc(&c->pool, uri.len + nl);

	if (!nu) {
		closedir(d);
		http_finalize(c, 500);
		return true;
	}
	memcpy(nu, uri.p, uri.len);
	memcpy(nu + uri.len, name, nl);
	closedir(d);
	http_internal_redirect(c, (struct lstr){nu, uri.len + nl}, r->u.args);
	return true;
}
