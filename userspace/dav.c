/* SPDX-License-Identifier: MIT */
/*
 * WebDAV, as nginx's ngx_http_dav_module: PUT, DELETE, MKCOL, COPY and
 * MOVE on the files of a location with `dav_methods` (cfg_dav.c).
 *
 * PUT: the body is read whole (reqbody_read_whole: memory, then a file
 * in client_body_temp_path, bounded by client_max_body_size), written to
 * a new file beside the target (O_EXCL, a hidden name), given the
 * dav_access mode (and the Date header's time, as nginx) and renamed over
 * the target: 201 with Location when it is new, 204 when it replaced one.
 * The parent directory is opened through static_open, so disable_symlinks
 * applies to it as to the static files; create_full_put_path makes the
 * missing directories (dav_access plus x where r is).
 * DELETE: a file or link (never followed) is unlinked; a directory (URI
 * ending in '/', Depth infinity) is removed recursively, at most
 * DAV_MAX_DEPTH levels deep. MKCOL: mkdir.
 * COPY and MOVE: the Destination header (a path, or a URL on the
 * request's host) mapped through the same location; a file copied (its
 * mode and mtime) or renamed, a collection's tree copied (at most
 * DAV_MAX_DEPTH levels) or renamed; Overwrite and Depth as nginx reads
 * them; across file systems a MOVE copies, then removes. Statuses and
 * error log lines are nginx's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cfg.h"
#include "dav.h"
#include "h1.h"
#include "http.h"
#include "log.h"
#include "pool.h"
#include "reqbody.h"
#include "worker.h"

#define DAV_MAX_DEPTH	   64 /* directory levels a DELETE or COPY descends */
#define DAV_DEPTH_INFINITY -1 /* Depth: infinity */
#define DAV_DEPTH_INVALID  -2 /* Depth: something else */

static int method_bit(const struct http_req *r)
{
	static const struct {
		const char *name;
		size_t len;
		int bit;
	} m[] = {{"PUT", 3, DAV_PUT},
		 {"DELETE", 6, DAV_DELETE},
		 {"MKCOL", 5, DAV_MKCOL},
		 {"COPY", 4, DAV_COPY},
		 {"MOVE", 4, DAV_MOVE}};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (r->method.len == m[i].len && memcmp(r->method.p, m[i].name, m[i].len) == 0)
			return m[i].bit;
	return 0;
}

static const struct h1_header *header(const struct http_req *r, const char *name)
{
	return h1_find_header(req_hdrs(r), r->h1.nheaders, name);
}

static bool has_body(const struct http_req *r)
{
	return r->body_kind == BODY_CHUNKED || (r->body_kind == BODY_LENGTH && r->content_length);
}

/* dav_error - nginx's ngx_http_dav_error: the status for ERR (NOT_FOUND
 * for the missing-path kinds), the line logged. */
static int dav_error(struct conn *c, int err, int not_found, const char *failed, const char *path)
{
	int level = LOG_ERR, rc;

	if (err == ENOENT || err == ENOTDIR || err == ENAMETOOLONG)
		rc = not_found;
	else if (err == EACCES || err == EPERM)
		rc = 403;
	else if (err == EEXIST)
		rc = 405;
	else if (err == ENOSPC)
		level = LOG_CRIT, rc = 507;
	else
		level = LOG_CRIT, rc = 500;
	http_log(c, NULL, level, "%s \"%s\" failed (%d: %s)", failed, path, err, strerror(err));
	return rc;
}

/* depth - the Depth header of R: DFLT when absent, 0, 1, infinity, or
 * DAV_DEPTH_INVALID (logged). */
static int depth(struct conn *c, int dflt)
{
	const struct h1_header *h = header(&c->req, "Depth");

	if (!h)
		return dflt;
	if (h->value.len == 1 && h->value.p[0] == '0')
		return 0;
	if (h->value.len == 1 && h->value.p[0] == '1')
		return 1;
	if (h->value.len == 8 && memcmp(h->value.p, "infinity", 8) == 0)
		return DAV_DEPTH_INFINITY;
	http_log(c, NULL, LOG_ERR, "client sent invalid \"Depth\" header: \"%.*s\"",
		 (int)h->value.len, h->value.p);
	return DAV_DEPTH_INVALID;
}

/* path_of - the file path of C's URI (pool), or NULL (500 answered). */
static char *path_of(struct conn *c)
{
	struct lstr p;

	if (static_request_filename(c, &p)) {
		http_finalize(c, 500);
		return NULL;
	}
	return (char *)p.p;
}

/* link_refusal - whether static_open's error E on directory DIR is
 * disable_symlinks refusing a link: ELOOP, EACCES, or ENOTDIR where DIR
 * is a directory after all (a link on its way). */
static bool link_refusal(const char *dir, int e)
{
	struct stat st;

	return e == ELOOP || e == EACCES ||
	       (e == ENOTDIR && stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
}

/* links_refused - under disable_symlinks, whether PATH's directory (its
 * last '/' cut; PATH itself when it ends in '/') is refused as the
 * static files refuse it: then 403 answered and true. nginx's dav module
 * does not look (lbd: DELETE and MKCOL do not go through a refused link). */
static bool links_refused(struct conn *c, char *path)
{
	char *slash = strrchr(path, '/');
	bool refused;
	int fd, e;

	if (c->req.loc->disable_symlinks <= CFG_SYMLINKS_OFF || !slash || slash == path)
		return false;
	*slash = '\0';
	fd = static_open(c, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	e = errno;
	if (fd >= 0)
		close(fd);
	refused = fd < 0 && link_refusal(path, e);
	if (refused)
		http_log(c, NULL, LOG_ERR, "openat() \"%s\" failed (%d: %s)", path, e, strerror(e));
	*slash = '/';
	if (refused)
		http_finalize(c, 403);
	return refused;
}

/* created - answer 201 with the URI as Location (absolute, as nginx's
 * header filter makes it). */
static void created(struct conn *c)
{
	struct http_req *r = &c->req;

	r->resp_location = r->u.uri;
	http_absolute_location(c, &r->resp_location);
	http_finalize(c, 201);
}

/* ---- MKCOL ----------------------------------------------------------------- */

static int dir_mode(int access)
{
	return access | (access & 0444) >> 2;
}

static void mkcol(struct conn *c)
{
	struct http_req *r = &c->req;
	char *path;
	size_t n;

	if (has_body(r)) {
		http_log(c, NULL, LOG_ERR, "MKCOL with body is unsupported");
		http_finalize(c, 415);
		return;
	}
	if (!r->u.uri.len || r->u.uri.p[r->u.uri.len - 1] != '/') {
		http_log(c, NULL, LOG_ERR, "MKCOL can create a collection only");
		http_finalize(c, 409);
		return;
	}
	if (!(path = path_of(c)))
		return;
	n = strlen(path);
	if (n > 1 && path[n - 1] == '/')
		path[n - 1] = '\0';
	if (links_refused(c, path))
		return;
	/* the umask applies to directories, as nginx's mkdir() */
	if (mkdir(path, (mode_t)dir_mode(r->loc->dav.access)) == 0) {
		created(c);
		return;
	}
	http_finalize(c, dav_error(c, errno, 409, "mkdir()", path));
}

/* ---- DELETE ---------------------------------------------------------------- */

/* rm_tree - remove what directory DFD holds, LEVEL deep; closes DFD.
 * PATH[0..len) names it for the log (one PATH_MAX buffer for the whole
 * walk, a name that does not fit is logged cut). Entries are never
 * followed (links are unlinked). A failed unlink or rmdir is logged and
 * the walk goes on, as nginx's; 0, or -1 when the walk itself failed
 * (logged). */
static int rm_tree(struct conn *c, int dfd, char *path, size_t len, int level)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;
	int rc = 0;

	if (!d) {
		http_log(c, NULL, LOG_CRIT, "opendir() \"%s\" failed (%d: %s)", path, errno,
			 strerror(errno));
		close(dfd);
		return -1;
	}
	while ((errno = 0, e = readdir(d))) {
		bool dir;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path + len, PATH_MAX - len, "/%s", e->d_name);
		if (e->d_type == DT_UNKNOWN) {
			struct stat st;

			dir = fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			      S_ISDIR(st.st_mode);
		} else {
			dir = e->d_type == DT_DIR;
		}
		if (dir) {
			int fd;

			if (level >= DAV_MAX_DEPTH) {
				http_log(c, NULL, LOG_CRIT,
					 "\"%s\" is more than %d directories deep, not removed",
					 path, DAV_MAX_DEPTH);
				rc = -1;
				break;
			}
			fd = openat(dirfd(d), e->d_name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd == -1) {
				http_log(c, NULL, LOG_CRIT, "opendir() \"%s\" failed (%d: %s)",
					 path, errno, strerror(errno));
				rc = -1;
				break;
			}
			if (rm_tree(c, fd, path, strnlen(path, PATH_MAX - 1), level + 1)) {
				rc = -1;
				break;
			}
			snprintf(path + len, PATH_MAX - len, "/%s", e->d_name);
			if (unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR))
				http_log(c, NULL, LOG_CRIT, "rmdir() \"%s\" failed (%d: %s)", path,
					 errno, strerror(errno));
		} else if (unlinkat(dirfd(d), e->d_name, 0)) {
			http_log(c, NULL, LOG_CRIT, "unlink() \"%s\" failed (%d: %s)", path, errno,
				 strerror(errno));
		}
	}
	if (!e && errno && !rc) {
		path[len] = '\0';
		http_log(c, NULL, LOG_CRIT, "readdir() \"%s\" failed (%d: %s)", path, errno,
			 strerror(errno));
		rc = -1;
	}
	path[len] = '\0';
	closedir(d);
	return rc;
}

static bool deep_enough(const struct http_req *r, int min)
{
	int d = 0;

	for (size_t i = 0; i < r->u.uri.len;)
		if (r->u.uri.p[i++] == '/' && ++d >= min && i < r->u.uri.len)
			return true;
	return false;
}

static void del(struct conn *c)
{
	struct http_req *r = &c->req;
	int min = r->loc->dav.min_delete_depth, dp, fd;
	struct stat st;
	char *path, *walk;
	size_t n;

	if (has_body(r)) {
		http_log(c, NULL, LOG_ERR, "DELETE with body is unsupported");
		http_finalize(c, 415);
		return;
	}
	if (min && !deep_enough(r, min)) {
		int d = 0;

		for (size_t i = 0; i < r->u.uri.len; i++)
			d += r->u.uri.p[i] == '/';
		http_log(c, NULL, LOG_ERR, "insufficient URI depth:%d to DELETE", d);
		http_finalize(c, 409);
		return;
	}
	if (!(path = path_of(c)) || links_refused(c, path))
		return;
	if (lstat(path, &st)) {
		int e = errno;

		http_finalize(c, dav_error(c, e, e == ENOTDIR ? 409 : 404, "lstat()", path));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		dp = depth(c, 0);
		if (dp != 0 && dp != DAV_DEPTH_INFINITY) {
			http_log(c, NULL, LOG_ERR, "\"Depth\" header must be 0 or infinity");
			http_finalize(c, 400);
			return;
		}
		if (unlink(path)) {
			http_finalize(c, dav_error(c, errno, 404, "unlink()", path));
			return;
		}
		http_finalize(c, 204);
		return;
	}
	if (r->u.uri.p[r->u.uri.len - 1] != '/') {
		http_log(c, NULL, LOG_ERR, "DELETE \"%s\" failed (%d: %s)", path, EISDIR,
			 strerror(EISDIR));
		http_finalize(c, 409);
		return;
	}
	dp = depth(c, DAV_DEPTH_INFINITY);
	if (dp != DAV_DEPTH_INFINITY) {
		http_log(c, NULL, LOG_ERR, "\"Depth\" header must be infinity");
		http_finalize(c, 400);
		return;
	}
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	if (n >= PATH_MAX || !(walk = pool_alloc(&c->pool, PATH_MAX))) {
		http_finalize(c, 500);
		return;
	}
	memcpy(walk, path, n + 1);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || rm_tree(c, fd, walk, n, 1)) {
		if (fd == -1)
			http_log(c, NULL, LOG_CRIT, "opendir() \"%s\" failed (%d: %s)", path, errno,
				 strerror(errno));
		http_finalize(c, 500);
		return;
	}
	if (rmdir(path)) {
		http_finalize(c, dav_error(c, errno, 404, "rmdir()", path));
		return;
	}
	http_finalize(c, 204);
}

/* ---- PUT ------------------------------------------------------------------- */

/* mkdir_p - make the missing directories of PATH's parent, nginx's
 * ngx_create_full_path: each component in turn, an existing one is fine. */
static int mkdir_p(char *path, int mode)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, (mode_t)mode) && errno != EEXIST) {
			int e = errno;

			*p = '/';
			errno = e;
			return -1;
		}
		*p = '/';
	}
	return 0;
}

/* copy_fd - LEN bytes of IN from offset 0 into OUT (at its offset 0);
 * 0 or -1 (errno). */
static int copy_fd(int in_fd, int out_fd, uint64_t len)
{
	off_t in = 0, out = 0;
	uint64_t left = len;

	while (left) {
		ssize_t k = copy_file_range(in_fd, &in, out_fd, &out,
					    left > (1u << 30) ? (1u << 30) : left, 0);

		if (k < 0 && in == 0 &&
		    (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
			break; /* not between these files: read and write */
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		left -= (uint64_t)k;
	}
	while (left) {
		char b[16384];
		ssize_t k = pread(in_fd, b, left < sizeof(b) ? left : sizeof(b), in);

		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		in += k;
		left -= (uint64_t)k;
		for (ssize_t o = 0; o < k;) {
			ssize_t w = pwrite(out_fd, b + o, (size_t)(k - o), out);

			if (w < 0)
				return -1;
			o += w;
			out += w;
		}
	}
	return 0;
}

/* put_write - the body of R into FD; 0 or -1 (errno). */
static int put_write(const struct http_req *r, int fd)
{
	if (r->body_fd >= 0)
		return copy_fd(r->body_fd, fd, r->body_received);
	for (size_t off = r->body_mem.start; off < r->body_mem.end;) {
		ssize_t k = write(fd, r->body_mem.data + off, r->body_mem.end - off);

		if (k < 0)
			return -1;
		off += (size_t)k;
	}
	return 0;
}

static void put_finish(struct conn *c)
{
	static _Thread_local unsigned seq;
	struct http_req *r = &c->req;
	const struct dav_loc *dl = &r->loc->dav;
	const struct h1_header *date = header(r, "Date");
	char *path, *slash, tmp[64];
	const char *base;
	struct stat st;
	int dfd, fd = -1, status;

	if (!(path = path_of(c)))
		return;
	slash = strrchr(path, '/');
	if (!slash || !slash[1]) {
		http_finalize(c, 409);
		return;
	}
	*slash = '\0';
	base = slash + 1;
	dfd = static_open(c, slash == path ? "/" : path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 && errno == ENOENT && dl->create_full_put_path) {
		*slash = '/';
		if (mkdir_p(path, dir_mode(dl->access))) {
			http_log(c, NULL, LOG_CRIT, "mkdir() \"%s\" failed (%d: %s)", path, errno,
				 strerror(errno));
			http_finalize(c, 500);
			return;
		}
		*slash = '\0';
		dfd = static_open(c, slash == path ? "/" : path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (dfd == -1) {
		int e = errno;

		if (r->loc->disable_symlinks > CFG_SYMLINKS_OFF && link_refusal(path, e)) {
			http_log(c, NULL, LOG_ERR, "openat() \"%s\" failed (%d: %s)", path, e,
				 strerror(e));
			http_finalize(c, 403);
			return;
		}
		*slash = '/';
		http_log(c, NULL, LOG_CRIT, "rename() to \"%s\" failed (%d: %s)", path, e,
			 strerror(e));
		http_finalize(c, 500);
		return;
	}
	*slash = '/';
	if (fstatat(dfd, base, &st, 0) == -1) {
		status = 201;
	} else if (S_ISDIR(st.st_mode)) {
		http_log(c, NULL, LOG_ERR, "\"%s\" could not be created (%d: %s)", path, EISDIR,
			 strerror(EISDIR));
		close(dfd);
		http_finalize(c, 409);
		return;
	} else {
		status = 204;
	}
	for (int i = 0; i < 8 && fd == -1; i++) {
		snprintf(tmp, sizeof(tmp), ".lbd-put.%d.%u", (int)gettid(), seq++);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd == -1 && errno != EEXIST)
			break;
	}
	if (fd == -1 || put_write(r, fd) || fchmod(fd, (mode_t)dl->access)) {
		int e = errno;

		http_log(c, NULL, LOG_CRIT, "writing \"%s\" failed (%d: %s)", path, e, strerror(e));
		if (fd != -1) {
			close(fd);
			unlinkat(dfd, tmp, 0);
		}
		close(dfd);
		http_finalize(c, e == ENOSPC ? 507 : 500);
		return;
	}
	if (date) {
		int64_t t = h1_http_time(date->value.p, date->value.len);

		if (t >= 0) {
			struct timespec ts[2] = {{.tv_sec = t}, {.tv_sec = t}};

			futimens(fd, ts);
		}
	}
	close(fd);
	if (renameat(dfd, tmp, dfd, base)) {
		int e = errno;

		http_log(c, NULL, LOG_CRIT, "rename() \"%s\" to \"%s\" failed (%d: %s)", tmp, path,
			 e, strerror(e));
		unlinkat(dfd, tmp, 0);
		close(dfd);
		http_finalize(c, 500);
		return;
	}
	close(dfd);
	if (status == 201)
		created(c);
	else
		http_finalize(c, 204);
}

/* body_read - read C's PUT body whole, then put_finish; errors as
 * mirror.c's (the client gone: 400 logged; 413, 400, 500 answered). */
static void body_read(struct conn *c)
{
	int rc = reqbody_read_whole(c);

	switch (rc) {
	case REQBODY_WHOLE:
		ev_timer_stop(&c->w->loop, &c->timer);
		c->state = (enum conn_state)c->req.dav_state;
		put_finish(c);
		return;
	case REQBODY_AGAIN:
		conn_arm_timer(c, c->req.loc->client_body_timeout);
		return;
	case REQBODY_CLOSE:
		conn_close(c);
		return;
	}
	ev_timer_stop(&c->w->loop, &c->timer);
	c->state = (enum conn_state)c->req.dav_state;
	c->close_after = true;
	if (rc == REQBODY_GONE) {
		reqbody_log_gone(c, NULL, NULL);
		c->req.status = 400;
		http_response_done(c);
		return;
	}
	http_finalize(c, -rc);
}

static void put(struct conn *c)
{
	struct http_req *r = &c->req;

	if (!r->u.uri.len || r->u.uri.p[r->u.uri.len - 1] == '/') {
		http_log(c, NULL, LOG_ERR, "cannot PUT to a collection");
		http_finalize(c, 409);
		return;
	}
	if (header(r, "Content-Range")) {
		http_log(c, NULL, LOG_ERR, "PUT with range is unsupported");
		http_finalize(c, 501);
		return;
	}
	if (r->body_kind == BODY_NONE && !header(r, "Content-Length")) {
		/* nginx: no Content-Length nor chunked (Content-Length: 0 is fine) */
		http_log(c, NULL, LOG_ERR, "PUT request body must be in a file");
		http_finalize(c, 500);
		return;
	}
	if (r->body_kind == BODY_NONE || r->body_done) {
		put_finish(c);
		return;
	}
	r->dav_state = (int)c->state;
	c->state = CS_DAV;
	body_read(c);
}

/* ---- COPY and MOVE --------------------------------------------------------- */

/* destination - the Destination header of C as nginx takes it: a path, or
 * an http:// (https:// over TLS) URL whose host starts with the request's
 * Host (nginx compares that prefix only), its path percent-decoded and
 * checked as an X-Accel-Redirect's (http_unsafe_uri). *LAST: the header's
 * last byte (nginx's collection test). False when answered (400). */
static bool destination(struct conn *c, struct lstr *out, char *last)
{
	struct http_req *r = &c->req;
	const struct h1_header *h = header(r, "Destination");
	const char *scheme = c->tls ? "https://" : "http://";
	size_t sl = strlen(scheme);
	struct lstr v, p, args;

	if (!h) {
		http_log(c, NULL, LOG_ERR, "client sent no \"Destination\" header");
		http_finalize(c, 400);
		return false;
	}
	v = (struct lstr){h->value.p, h->value.len};
	p = v;
	if (!v.len || v.p[0] != '/') {
		const char *host = v.p + sl, *slash;

		if (!r->host.len) {
			http_log(c, NULL, LOG_ERR, "client sent no \"Host\" header");
			http_finalize(c, 400);
			return false;
		}
		if (v.len < sl || memcmp(v.p, scheme, sl) != 0)
			goto invalid;
		if (v.len - sl < r->host.len || memcmp(host, r->host.p, r->host.len) != 0) {
			http_log(c, NULL, LOG_ERR,
				 "\"Destination\" URI \"%.*s\" is handled by different repository "
				 "than the source URI",
				 (int)v.len, v.p);
			http_finalize(c, 400);
			return false;
		}
		slash = memchr(host + r->host.len, '/', v.len - sl - r->host.len);
		if (!slash)
			goto invalid;
		p = (struct lstr){slash, v.len - (size_t)(slash - v.p)};
	}
	if (!http_unsafe_uri(c, p, out, &args)) {
		http_log(c, NULL, LOG_ERR, "unsafe URI \"%.*s\" was detected", (int)p.len, p.p);
		goto invalid;
	}
	*last = v.p[v.len - 1];
	return true;
invalid:
	http_log(c, NULL, LOG_ERR, "client sent invalid \"Destination\" header: \"%.*s\"",
		 (int)v.len, v.p);
	http_finalize(c, 400);
	return false;
}

/* overwrite - the Overwrite header: 1 (T, or none), 0 (F), -1 answered. */
static int overwrite(struct conn *c)
{
	const struct h1_header *h = header(&c->req, "Overwrite");

	if (!h)
		return 1;
	if (h->value.len == 1 && (h->value.p[0] | 0x20) == 't')
		return 1;
	if (h->value.len == 1 && (h->value.p[0] | 0x20) == 'f')
		return 0;
	http_log(c, NULL, LOG_ERR, "client sent invalid \"Overwrite\" header: \"%.*s\"",
		 (int)h->value.len, h->value.p);
	http_finalize(c, 400);
	return -1;
}

/* dest_path - the file path of URI (pool) in C's location, as the request
 * URI's is mapped; NULL when it has none. */
static char *dest_path(struct conn *c, struct lstr uri)
{
	struct http_req *r = &c->req;
	struct lstr keep = r->u.uri, p;
	int rc;

	r->u.uri = uri;
	rc = static_request_filename(c, &p);
	r->u.uri = keep;
	return rc ? NULL : (char *)p.p;
}

/* remove_path - remove PATH, a directory tree when DIR (rm_tree), else a
 * file; logged as DELETE's. 0, or the status to answer. */
static int remove_path(struct conn *c, const char *path, bool dir)
{
	char *walk;
	size_t n = strlen(path);
	int fd;

	if (!dir)
		return unlink(path) ? dav_error(c, errno, 404, "unlink()", path) : 0;
	if (n >= PATH_MAX || !(walk = pool_alloc(&c->pool, PATH_MAX)))
		return 500;
	memcpy(walk, path, n + 1);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		http_log(c, NULL, LOG_CRIT, "opendir() \"%s\" failed (%d: %s)", path, errno,
			 strerror(errno));
		return 500;
	}
	if (rm_tree(c, fd, walk, n, 1))
		return 500;
	return rmdir(path) ? dav_error(c, errno, 404, "rmdir()", path) : 0;
}

/* copy_file - SRC (whose stat is ST) into DST, created with SRC's mode or
 * truncated when it exists (its mode kept, as nginx's ngx_copy_file), with
 * SRC's mtime. 0 or -1 (logged). */
static int copy_file(struct conn *c, int sdir, const char *sname, int ddir, const char *dname,
		     const struct stat *st, const char *dst_log)
{
	struct timespec ts[2] = {st->st_mtim, st->st_mtim};
	int in = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -1, rc = -1;

	if (in == -1) {
		http_log(c, NULL, LOG_CRIT, "open() \"%s\" failed (%d: %s)", sname, errno,
			 strerror(errno));
		return -1;
	}
	out = openat(ddir, dname, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st->st_mode & 07777);
	if (out == -1)
		http_log(c, NULL, LOG_CRIT, "open() \"%s\" failed (%d: %s)", dst_log, errno,
			 strerror(errno));
	else if (copy_fd(in, out, (uint64_t)st->st_size))
		http_log(c, NULL, LOG_CRIT, "copying to \"%s\" failed (%d: %s)", dst_log, errno,
			 strerror(errno));
	else {
		futimens(out, ts); /* the time is best effort, as nginx's */
		rc = 0;
	}
	if (out != -1)
		close(out);
	close(in);
	return rc;
}

/* copy_tree - what directory SFD holds into directory DFD, LEVEL deep
 * (nginx's walk: directories made with their source's mode, regular files
 * copied, anything else left out; each directory gets its source's mtime
 * once filled). DST[0..len) names DFD for the log. 0 or -1 (logged). */
static int copy_tree(struct conn *c, int sfd, int dfd, char *dst, size_t len, int level)
{
	DIR *d = fdopendir(sfd);
	struct dirent *e;
	int rc = 0;

	if (!d) {
		http_log(c, NULL, LOG_CRIT, "opendir() failed (%d: %s)", errno, strerror(errno));
		close(sfd);
		return -1;
	}
	while (!rc && (errno = 0, e = readdir(d))) {
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(dst + len, PATH_MAX - len, "/%s", e->d_name);
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (S_ISREG(st.st_mode)) {
			rc = copy_file(c, dirfd(d), e->d_name, dfd, e->d_name, &st, dst);
		} else if (S_ISDIR(st.st_mode)) {
			struct timespec ts[2] = {st.st_mtim, st.st_mtim};
			int s2, d2;

			if (level >= DAV_MAX_DEPTH) {
				http_log(c, NULL, LOG_CRIT,
					 "\"%s\" is more than %d directories deep, not copied", dst,
					 DAV_MAX_DEPTH);
				rc = -1;
				break;
			}
			if (mkdirat(dfd, e->d_name, st.st_mode & 07777) && errno != EEXIST) {
				http_log(c, NULL, LOG_CRIT, "mkdir() \"%s\" failed (%d: %s)", dst,
					 errno, strerror(errno));
				rc = -1;
				break;
			}
			s2 = openat(dirfd(d), e->d_name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			d2 = openat(dfd, e->d_name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 == -1 || d2 == -1) {
				http_log(c, NULL, LOG_CRIT, "opendir() \"%s\" failed (%d: %s)", dst,
					 errno, strerror(errno));
				if (s2 != -1)
					close(s2);
				if (d2 != -1)
					close(d2);
				rc = -1;
				break;
			}
			rc = copy_tree(c, s2, d2, dst, strnlen(dst, PATH_MAX - 1), level + 1);
			if (!rc)
				futimens(d2, ts);
			close(d2);
		}
	}
	if (!rc && !e && errno) {
		http_log(c, NULL, LOG_CRIT, "readdir() failed (%d: %s)", errno, strerror(errno));
		rc = -1;
	}
	dst[len] = '\0';
	closedir(d);
	return rc;
}

/* copy_dir - the tree at SRC (whose stat is ST) as DST (made with its
 * mode). 0, or the status to answer. */
static int copy_dir(struct conn *c, const char *src, const char *dst, const struct stat *st)
{
	struct timespec ts[2] = {st->st_mtim, st->st_mtim};
	size_t n = strlen(dst);
	char *walk;
	int sfd, dfd, rc;

	if (mkdir(dst, st->st_mode & 07777))
		return dav_error(c, errno, 404, "mkdir()", dst);
	if (n >= PATH_MAX || !(walk = pool_alloc(&c->pool, PATH_MAX)))
		return 500;
	memcpy(walk, dst, n + 1);
	sfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	dfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd == -1 || dfd == -1) {
		http_log(c, NULL, LOG_CRIT, "opendir() \"%s\" failed (%d: %s)",
			 sfd == -1 ? src : dst, errno, strerror(errno));
		if (sfd != -1)
			close(sfd);
		if (dfd != -1)
			close(dfd);
		return 500;
	}
	rc = copy_tree(c, sfd, dfd, walk, n, 1);
	if (!rc)
		futimens(dfd, ts);
	close(dfd);
	return rc ? 500 : 0;
}

/* move_file - rename SRC to DST as nginx's ngx_ext_rename_file: the
 * missing directories of DST made (dav_access, x where r), a copy and an
 * unlink across file systems. 204, or the status to answer (500). */
static int move_file(struct conn *c, char *src, char *dst, const struct stat *st)
{
	int e;

	if (rename(src, dst) == 0)
		return 204;
	e = errno;
	if (e == ENOENT || e == ENOTDIR) {
		if (mkdir_p(dst, dir_mode(c->req.loc->dav.access))) {
			http_log(c, NULL, LOG_CRIT, "mkdir() \"%s\" failed (%d: %s)", dst, errno,
				 strerror(errno));
			return 500;
		}
		if (rename(src, dst) == 0)
			return 204;
		e = errno;
	}
	if (e == EXDEV) {
		if (copy_file(c, AT_FDCWD, src, AT_FDCWD, dst, st, dst))
			return 500;
		if (unlink(src))
			http_log(c, NULL, LOG_CRIT, "unlink() \"%s\" failed (%d: %s)", src, errno,
				 strerror(errno));
		return 204;
	}
	http_log(c, NULL, LOG_CRIT, "rename() \"%s\" to \"%s\" failed (%d: %s)", src, dst, e,
		 strerror(e));
	return 500;
}

/* copy_move - COPY and MOVE as nginx's dav module: checks in its order,
 * then a file copied (204; MOVE: renamed) or a collection's tree copied
 * (201; MOVE: renamed, or else copied and removed); an existing
 * destination is removed first when it is a directory and Overwrite
 * allows (a file is overwritten in place). */
static void copy_move(struct conn *c, bool move)
{
	struct http_req *r = &c->req;
	struct lstr duri;
	struct stat st, dst_st = {0};
	char last, *src, *dst;
	bool slash, dir = false, src_slash = r->u.uri.len && r->u.uri.p[r->u.uri.len - 1] == '/';
	int ow, dp, rc;
	size_t n;

	if (has_body(r)) {
		http_log(c, NULL, LOG_ERR, "COPY and MOVE with body are unsupported");
		http_finalize(c, 415);
		return;
	}
	if (!destination(c, &duri, &last))
		return;
	if (src_slash != (last == '/')) {
		http_log(c, NULL, LOG_ERR,
			 "both URI \"%.*s\" and \"Destination\" URI \"%.*s\" should be either "
			 "collections or non-collections",
			 (int)r->u.uri.len, r->u.uri.p, (int)duri.len, duri.p);
		http_finalize(c, 409);
		return;
	}
	dp = depth(c, DAV_DEPTH_INFINITY);
	if (dp != DAV_DEPTH_INFINITY && (move || dp != 0)) {
		http_log(c, NULL, LOG_ERR,
			 move ? "\"Depth\" header must be infinity"
			      : "\"Depth\" header must be 0 or infinity");
		http_finalize(c, 400);
		return;
	}
	if ((ow = overwrite(c)) < 0)
		return;
	if (!(src = path_of(c)))
		return;
	if (!(dst = dest_path(c, duri))) {
		http_finalize(c, 500);
		return;
	}
	n = strlen(dst);
	slash = n > 1 && dst[n - 1] == '/';
	if (slash)
		dst[n - 1] = '\0';
	if (stat(dst, &dst_st)) {
		if (errno != ENOENT) {
			http_finalize(c, dav_error(c, errno, 404, "stat()", dst));
			return;
		}
		ow = 0; /* nothing to overwrite */
	} else {
		if (S_ISDIR(dst_st.st_mode) && !slash) {
			http_log(c, NULL, LOG_ERR,
				 "\"%.*s\" could not be %.*sed to collection \"%.*s\"",
				 (int)r->u.uri.len, r->u.uri.p, (int)r->method.len, r->method.p,
				 (int)duri.len, duri.p);
			http_finalize(c, 409);
			return;
		}
		if (!ow) {
			http_log(c, NULL, LOG_ERR, "\"%s\" could not be created (%d: %s)", dst,
				 EEXIST, strerror(EEXIST));
			http_finalize(c, 412);
			return;
		}
		dir = S_ISDIR(dst_st.st_mode);
	}
	if (lstat(src, &st)) {
		http_finalize(c, dav_error(c, errno, 404, "lstat()", src));
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		if (!src_slash) {
			http_log(c, NULL, LOG_ERR, "\"%.*s\" is collection", (int)r->u.uri.len,
				 r->u.uri.p);
			http_finalize(c, 400);
			return;
		}
		n = strlen(src);
		if (n > 1 && src[n - 1] == '/')
			src[n - 1] = '\0';
		if (ow && (rc = remove_path(c, dst, dir))) {
			http_finalize(c, rc);
			return;
		}
		/* nginx: a MOVE that cannot rename (another file system, a
		 * missing parent...) copies, then removes */
		if (move && rename(src, dst) == 0) {
			http_finalize(c, 201);
			return;
		}
		if ((rc = copy_dir(c, src, dst, &st)) ||
		    (move && (rc = remove_path(c, src, true)))) {
			http_finalize(c, rc);
			return;
		}
		http_finalize(c, 201);
		return;
	}
	if (src_slash) {
		http_log(c, NULL, LOG_ERR, "\"%.*s\" is not a collection", (int)r->u.uri.len,
			 r->u.uri.p);
		http_finalize(c, 409);
		return;
	}
	if (ow && dir && (rc = remove_path(c, dst, true))) {
		http_finalize(c, rc);
		return;
	}
	if (move) {
		http_finalize(c, move_file(c, src, dst, &st));
		return;
	}
	if (dst_st.st_ino && dst_st.st_ino == st.st_ino && dst_st.st_dev == st.st_dev) {
		/* nginx truncates the file and answers 500; lbd keeps it */
		http_log(c, NULL, LOG_ERR, "\"%s\" could not be copied onto itself", src);
		http_finalize(c, 500);
		return;
	}
	http_finalize(c, copy_file(c, AT_FDCWD, src, AT_FDCWD, dst, &st, dst) ? 500 : 204);
}

bool dav_handle(struct conn *c)
{
	int m = method_bit(&c->req);

	if (!(m & c->req.loc->dav.methods))
		return false;
	switch (m) {
	case DAV_PUT:
		put(c);
		break;
	case DAV_DELETE:
		del(c);
		break;
	case DAV_MKCOL:
		mkcol(c);
		break;
	default:
		copy_move(c, m == DAV_MOVE);
		break;
	}
	return true;
}

void dav_client_event(struct conn *c)
{
	if (c->readable)
		body_read(c);
}

void dav_timer(struct conn *c)
{
	/* client_body_timeout: nginx logs 408 and closes, answering nothing */
	c->state = (enum conn_state)c->req.dav_state;
	c->close_after = true;
	c->req.status = 408;
	http_response_done(c);
}
