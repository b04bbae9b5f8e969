/* SPDX-License-Identifier: MIT */
/*
 * The store (nginx's proxy_store, fastcgi_store, uwsgi_store,
 * scgi_store): the body of a 200 answer is written, as proxy.c relays it,
 * to a temp file in the location's temp path (proxy_temp_path or the
 * module's twin), and when the answer came whole the file gets the mode
 * of *_store_access, the upstream's Last-Modified as its mtime, and is
 * renamed to the store's name: the STRING of `*_store STRING` (variables
 * evaluated then) or the location's root/alias + URI ($request_filename).
 * Missing directories on the way are made (nginx's create_full_path:
 * *_store_access with x where r, under the umask); a name on another file
 * system gets a copy. An answer cut short, not a 200, unbuffered or to a
 * HEAD leaves nothing (the temp file is removed when the request ends).
 * The state lives in the request pool; the file is written with plain
 * blocking writes, as the cache writes its entries (cache_store.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cfg-t.h"
#include "h1.h"
#include "http.h"
#include "pool.h"
#include "store.h"
#include "var.h"

/* struct store_req - one answer being stored. */
struct store_req {
	/* the location it began in: an answer that ends after an internal
	 * redirect is not its */
	const struct cfg_loc *loc;
	int fd;		      /* the temp file, -1 once closed */
	char *tmp;	      /* its name (request pool) */
	int64_t mtime;	      /* the upstream's Last-Modified (s), -1: none */
	int64_t expect;	      /* its Content-Length, -1: none */
	uint64_t written;     /* body bytes in the file */
	struct h1_chunked ch; /* decoder of a still chunked body */
	bool failed;	      /* a write failed: nothing is stored */
};

/* the last temp file number given (nginx's ngx_temp_number, shared by the
 * workers): names of ten digits, from 0000000001 */
static _Atomic uint32_t seq;

int store_access_parse(const char *arg, int *mode)
{
	int shift, right;

	if (strncmp(arg, "user:", 5) == 0)
		shift = 6, arg += 5;
	else if (strncmp(arg, "group:", 6) == 0)
		shift = 3, arg += 6;
	else if (strncmp(arg, "all:", 4) == 0)
		shift = 0, arg += 4;
	else
		return -1;
	if (strcmp(arg, "rw") == 0)
		right = 6;
	else if (strcmp(arg, "r") == 0)
		right = 4;
	else
		return -1;
	*mode |= right << shift;
	return 0;
}

/* temp_number - the next temp file number, as nginx counts them: one up,
 * or after a name that was taken (COLLISION) a jump of this process's own,
 * so that two processes sharing a directory soon part ways. */
static uint32_t temp_number(bool collision)
{
	uint32_t add = 1;

	if (collision)
		add = ((uint32_t)time(NULL) << 16) + (uint32_t)getpid();
	return atomic_fetch_add(&seq, add) + add;
}

/* make_levels - DIR and the level directories of the file name P (DIRLEN:
 * where DIR ends in P), mode 0700, as nginx makes them on the first file
 * in a new one. 0, or -1 with errno. */
static int make_levels(char *p, size_t dirlen)
{
	char *sl = p + dirlen;
	int rc;

	do {
		*sl = '\0';
		rc = mkdir(p, 0700);
		*sl = '/';
		if (rc == -1 && errno != EEXIST)
			return -1;
	} while ((sl = strchr(sl + 1, '/')));
	return 0;
}

int store_open_temp(struct conn *c, const char *dir, const uint8_t *levels, char **name)
{
	size_t dl = strlen(dir), n = dl + 32; /* '/', levels (10 digits, 3 '/'), '/', 10 digits */
	char *p = pool_alloc(&c->pool, n);
	bool collision = false, made = false;
	int fd = -1;

	if (!p) {
		errno = ENOMEM;
		return -1;
	}
	for (int i = 0; i < 16; i++) {
		char num[16];
		size_t at = dl, end = 10;

		snprintf(num, sizeof(num), "%010u", temp_number(collision));
		memcpy(p, dir, dl);
		/* nginx's hashed name: each level takes the digits before
		 * the last level's, from the end (levels 1 2: 0000000123 is
		 * in 3/12/) */
		for (int k = 0; levels && k < 3 && levels[k] && levels[k] <= end; k++) {
			p[at++] = '/';
			memcpy(p + at, num + end - levels[k], levels[k]);
			at += levels[k];
			end -= levels[k];
		}
		snprintf(p + at, n - at, "/%s", num);
		fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd == -1 && errno == ENOENT && !made) {
			made = true;
			if (make_levels(p, dl) == -1)
				break;
			fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		}
		collision = fd == -1 && errno == EEXIST;
		if (!collision)
			break;
	}
	*name = p;
	return fd;
}

void store_begin(struct conn *c, const struct h1_response *resp, bool buffered)
{
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	struct store_req *s;

	if (unlikely(r->store)) /* one begun for an answer that was not sent */
		store_cleanup(c);
	if (l->store.on != 1 || resp->status != 200 || r->head || !buffered)
		return;
	s = pool_zalloc(&c->pool, sizeof(*s));
	if (!s)
		return;
	s->loc = l;
	s->mtime = s->expect = -1;
	for (size_t i = 0; i < resp->nheaders; i++) {
		const struct h1_header *h = &resp->headers[i];
		uint64_t v;

		if (H1_IS(h->name, "last-modified") && s->mtime == -1)
			s->mtime = h1_http_time(h->value.p, h->value.len);
		else if (H1_IS(h->name, "content-length") && !h1_parse_content_length(h->value, &v))
			s->expect = (int64_t)v;
	}
	s->fd = store_open_temp(c, l->proxy_temp_path, NULL, &s->tmp);
	if (s->fd == -1) {
		http_log(c, NULL, LOG_CRIT, "open() \"%s\" failed (%d: %s)", s->tmp ? s->tmp : "",
			 errno, strerror(errno));
		return;
	}
	h1_chunked_init(&s->ch);
	r->store = s;
}

static void fail(struct conn *c, struct store_req *s, int err)
{
	http_log(c, NULL, LOG_CRIT, "write() \"%s\" failed (%d: %s)", s->tmp, err, strerror(err));
	s->failed = true;
}

void store_tee(struct conn *c, const char *p, size_t n, bool chunked)
{
	struct store_req *s = c->req.store;
	int err;

	if (!s || s->failed || !n || s->loc != c->req.loc)
		return;
	err = cache_body_tee(s->fd, &s->ch, p, n, chunked, &s->written);
	if (err > 0)
		fail(c, s, err);
	else if (err < 0)
		s->failed = true; /* the relay ends the answer too */
}

/* make_dirs - every missing directory on the way to file PATH, with MODE
 * (under the umask), as nginx's ngx_create_full_path; one that cannot be
 * made is logged as nginx does. 0 or an errno. */
static int make_dirs(struct conn *c, char *path, mode_t mode)
{
	if (!path[0]) /* `proxy_store ""`: no name at all */
		return ENOENT;
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		int rc = mkdir(path, mode);
		int e = errno;

		if (rc == -1 && e != EEXIST)
			http_log(c, NULL, LOG_CRIT, "mkdir() \"%s\" failed (%d: %s)", path, e,
				 strerror(e));
		*p = '/';
		if (rc == -1 && e != EEXIST)
			return e;
	}
	return 0;
}

/* copy_to - the temp file FROM copied to PATH (another file system), by
 * way of a name beside it renamed into place; MODE and MTIME as the
 * rename would have given. 0 or an errno. */
static int copy_to(struct conn *c, const char *from, const char *path, mode_t mode, int64_t mtime)
{
	size_t n = strlen(path) + 16;
	char *tmp = pool_alloc(&c->pool, n), buf[65536];
	int in, out, err = 0;

	if (!tmp)
		return ENOMEM;
	snprintf(tmp, n, "%s.%010u", path, atomic_fetch_add(&seq, 1) % 1000000000u);
	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in == -1)
		return errno;
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (out == -1) {
		err = errno;
		close(in);
		return err;
	}
	for (;;) {
		ssize_t k = read(in, buf, sizeof(buf));

		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0) {
			err = k ? errno : 0;
			break;
		}
		err = cache_write_all(out, buf, (size_t)k);
		if (err)
			break;
	}
	if (!err && fchmod(out, mode) == -1)
		err = errno;
	if (!err && mtime >= 0) {
		struct timespec ts[2] = {{.tv_sec = (time_t)mtime}, {.tv_sec = (time_t)mtime}};

		if (futimens(out, ts) == -1)
			err = errno;
	}
	close(in);
	close(out);
	if (!err && rename(tmp, path) == -1)
		err = errno;
	if (err)
		unlink(tmp);
	return err;
}

bool store_active(const struct conn *c)
{
	const struct store_req *s = c->req.store;

	return s && s->fd >= 0 && !s->failed && s->loc == c->req.loc;
}

void store_end(struct conn *c)
{
	struct store_req *s = c->req.store;
	const struct cfg_loc *l = c->req.loc;
	mode_t mode = (mode_t)l->store.access;
	struct lstr name;
	char *path;
	int err;

	if (!s || s->fd < 0 || s->loc != l)
		return;
	/* nginx: stored only when the length the upstream promised came */
	if (s->failed || (s->expect >= 0 && (uint64_t)s->expect != s->written))
		return;
	if (l->store.path ? cval_eval(l->store.path, c, &name) : static_request_filename(c, &name))
		return;
	path = pool_alloc(&c->pool, name.len + 1);
	if (!path)
		return;
	memcpy(path, name.p, name.len);
	path[name.len] = '\0';
	if (fchmod(s->fd, mode) == -1)
		http_log(c, NULL, LOG_CRIT, "fchmod() \"%s\" failed (%d: %s)", s->tmp, errno,
			 strerror(errno));
	if (s->mtime >= 0) {
		struct timespec ts[2] = {{.tv_sec = (time_t)s->mtime},
					 {.tv_sec = (time_t)s->mtime}};

		if (futimens(s->fd, ts) == -1)
			http_log(c, NULL, LOG_CRIT, "utimes() \"%s\" failed (%d: %s)", s->tmp,
				 errno, strerror(errno));
	}
	close(s->fd);
	s->fd = -1;
	if (rename(s->tmp, path) == 0)
		goto done;
	err = errno;
	if (err == ENOENT) {
		/* nginx's directories: the file's mode with x where r */
		bool made = !make_dirs(c, path, mode | (mode & 0444) >> 2);

		err = rename(s->tmp, path) == 0 ? 0 : errno;
		if (err && !made) { /* nginx: the mkdir() line alone */
			unlink(s->tmp);
			goto done;
		}
	}
	if (err == EXDEV) {
		err = copy_to(c, s->tmp, path, mode, s->mtime);
		if (!err)
			unlink(s->tmp);
	}
	if (err) {
		http_log(c, NULL, LOG_CRIT, "rename() \"%s\" to \"%s\" failed (%d: %s)", s->tmp,
			 path, err, strerror(err));
		unlink(s->tmp);
	}
done:
	c->req.store = NULL;
}

void store_cleanup(struct conn *c)
{
	struct store_req *s = c->req.store;

	if (!s)
		return;
	if (s->fd >= 0) {
		close(s->fd);
		unlink(s->tmp);
	}
	c->req.store = NULL;
}
