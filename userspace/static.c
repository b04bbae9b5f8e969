/* SPDX-License-Identifier: MIT */
/*
 * Static files: root/alias mapping, index, try_files, MIME types, the
 * validators (Last-Modified, ETag; 304 and 412 by cache_cond.c's
 * not_modified filter), expires, byte ranges (range_send.c), and the body
 * sent with sendfile(2) from the open file. Paths come from the normalized $uri
 * (no dot segments), and an alias join that would climb out of the alias
 * directory is refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "autoindex.h"
#include "cache.h"
#include "charset.h"
#include "emptygif.h"
#include "mp4.h"
#include "gunzip.h"
#include "gzip.h"
#include "subfilter.h"
#include "http.h"
#include "log.h"
#include "range.h"
#include "var.h"

static int cmp_ext(const void *key, const void *elem)
{
	const struct lstr *k = key;
	const struct mime_type *m = elem;
	size_t ml = strlen(m->ext);
	int r = strncasecmp(k->p, m->ext, LBD_MIN(k->len, ml));

	if (r)
		return r;
	return k->len < ml ? -1 : k->len > ml ? 1 : 0;
}

const char *static_mime_type(const struct cfg_loc *l, struct lstr path)
{
	struct lstr ext = {NULL, 0};
	const struct mime_type *m;

	for (size_t i = path.len; i > 0; i--) {
		if (path.p[i - 1] == '/')
			break;
		if (path.p[i - 1] == '.') {
			ext = (struct lstr){path.p + i, path.len - i};
			break;
		}
	}
	if (!ext.len || !l->types)
		return l->default_type;
	m = bsearch(&ext, l->types->v, (size_t)l->types->n, sizeof(*m), cmp_ext);
	return m ? m->type : l->default_type;
}

/* ---- disable_symlinks ------------------------------------------------------------------- */

/* walk_open - PATH relative to directory DIRFD (AT_FDCWD: PATH is
 * absolute), component by component: a symbolic link is refused (ELOOP)
 * under disable_symlinks on, and under if_not_owner unless it and what it
 * points to have one owner. The last component is opened with FLAGS. A
 * component that is no link is opened with O_NOFOLLOW, so one swapped for
 * a link meanwhile fails too. */
static int walk_open(int dirfd, const char *path, int mode, int flags)
{
	char comp[NAME_MAX + 1];
	const char *p = path;
	int dfd = dirfd, fd, e;

	if (*p == '/') {
		dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd == -1)
			return -1;
	}
	for (;;) {
		struct stat ls, ts;
		const char *s;
		size_t n;
		bool last, link;

		p += strspn(p, "/");
		s = strchr(p, '/');
		n = s ? (size_t)(s - p) : strlen(p);
		last = !s || !s[strspn(s, "/")];
		if (n > NAME_MAX) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memcpy(comp, n ? p : ".", n ? n : 1);
		comp[n ? n : 1] = '\0';
		if (fstatat(dfd, comp, &ls, AT_SYMLINK_NOFOLLOW) == -1)
			goto fail;
		link = S_ISLNK(ls.st_mode);
		if (link && mode == CFG_SYMLINKS_ON) {
			/* nginx opens a directory O_DIRECTORY|O_NOFOLLOW: a
			 * link there is ENOTDIR (404), the file's ELOOP (403) */
			errno = last ? ELOOP : ENOTDIR;
			goto fail;
		}
		if (link) {
			if (fstatat(dfd, comp, &ts, 0) == -1)
				goto fail;
			if (ts.st_uid != ls.st_uid) {
				errno = ELOOP;
				goto fail;
			}
		}
		fd = openat(dfd, comp,
			    (last ? flags : O_PATH | O_DIRECTORY | O_CLOEXEC) |
				    (link ? 0 : O_NOFOLLOW));
		if (fd == -1)
			goto fail;
		if (dfd != dirfd)
			close(dfd);
		if (last)
			return fd;
		dfd = fd;
		p += n;
	}
fail:
	e = errno;
	if (dfd != dirfd)
		close(dfd);
	errno = e;
	return -1;
}

int static_open(struct conn *c, const char *path, int flags)
{
	const struct cfg_loc *l = c->req.loc ? c->req.loc : &c->req.srv->loc;
	size_t plen = strlen(path);
	struct lstr from = {NULL, 0};
	int dfd, fd, e;
	char *pre;

	if (l->disable_symlinks <= CFG_SYMLINKS_OFF)
		return open(path, flags);
	/* from=PART: the path up to it is not checked (when it is a prefix
	 * of the path; all of it is, else), as nginx */
	if (l->disable_symlinks_from && cval_eval(l->disable_symlinks_from, c, &from) < 0)
		from = (struct lstr){NULL, 0};
	if (!from.len || from.len > plen || memcmp(path, from.p, from.len) != 0)
		return walk_open(AT_FDCWD, path, l->disable_symlinks, flags);
	if (from.len == plen)
		return open(path, flags);
	pre = pool_strndup(&c->pool, path, from.len);
	if (!pre)
		return -1;
	dfd = open(pre, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		return -1;
	fd = walk_open(dfd, path + from.len + strspn(path + from.len, "/"), l->disable_symlinks,
		       flags);
	e = errno;
	close(dfd);
	errno = e;
	return fd;
}

int static_stat(struct conn *c, const char *path, struct stat *st)
{
	const struct cfg_loc *l = c->req.loc ? c->req.loc : &c->req.srv->loc;
	int fd, rc;

	if (l->disable_symlinks <= CFG_SYMLINKS_OFF)
		return stat(path, st);
	fd = static_open(c, path, O_PATH | O_CLOEXEC);
	if (fd == -1)
		return -1;
	rc = fstat(fd, st);
	close(fd);
	return rc;
}

char *static_map_path(struct conn *c, struct lstr uri)
{
	const struct cfg_loc *l = c->req.loc;
	struct lstr root, rest = uri;
	char *p;

	if (cval_eval(l->root, c, &root))
		return NULL;
	if (l->root_is_alias == 1 && l->match != LOC_REGEX && l->match != LOC_REGEX_CASELESS) {
		size_t pl = LBD_MIN(l->patlen, uri.len);

		rest = (struct lstr){uri.p + pl, uri.len - pl};
		/* location /static { alias /srv/static/; } must not serve
		 * /static../secret as /srv/static/../secret */
		if (rest.len >= 2 && rest.p[0] == '.' && rest.p[1] == '.' &&
		    (rest.len == 2 || rest.p[2] == '/'))
			return NULL;
	} else if (l->root_is_alias == 1) {
		rest = (struct lstr){"", 0};
	}
	p = pool_alloc(&c->pool, root.len + rest.len + 1);
	if (!p)
		return NULL;
	memcpy(p, root.p, root.len);
	memcpy(p + root.len, rest.p, rest.len);
	p[root.len + rest.len] = '\0';
	return p;
}

int static_request_filename(struct conn *c, struct lstr *out)
{
	char *p = c->req.loc && c->req.loc->root ? static_map_path(c, c->req.u.uri) : NULL;

	if (!p)
		return VAR_NOT_FOUND;
	*out = (struct lstr){p, strlen(p)};
	return 0;
}

static void dir_redirect(struct conn *c)
{
	struct http_req *r = &c->req;
	size_t n = r->u.uri.len + 1 + (r->u.args.len ? r->u.args.len + 1 : 0);
	char *loc = pool_alloc(&c->pool, n + 1);

	if (!loc) {
		http_finalize(c, 500);
		return;
	}
	snprintf(loc, n + 1, "%.*s/%s%.*s", (int)r->u.uri.len, r->u.uri.p, r->u.args.len ? "?" : "",
		 (int)r->u.args.len, r->u.args.p);
	r->resp_location = (struct lstr){loc, n};
	http_absolute_location(c, &r->resp_location);
	http_finalize(c, 301);
}

static void serve_index(struct conn *c)
{
	const struct cfg_loc *l = c->req.loc;
	struct lstr uri = c->req.u.uri;
	char *dir = static_map_path(c, uri);
	struct stat st;

	if (!dir) {
		http_finalize(c, 404);
		return;
	}
	for (int i = 0; i < l->index.n; i++) {
		const char *ix = l->index.v[i];
		size_t dl = strlen(dir), il = strlen(ix);
		char *p = pool_alloc(&c->pool, dl + il + 1);

		if (!p)
			break;
		memcpy(p, dir, dl);
		memcpy(p + dl, ix, il + 1);
		if (static_stat(c, p, &st) == 0 && !S_ISDIR(st.st_mode)) {
			char *nu = pool_alloc(&c->pool, uri.len + il);

			if (!nu)
				break;
			memcpy(nu, uri.p, uri.len);
			memcpy(nu + uri.len, ix, il);
			http_internal_redirect(c, (struct lstr){nu, uri.len + il}, c->req.u.args);
			return;
		}
	}
	if (static_stat(c, dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* nginx's autoindex runs after index, for GET and HEAD only */
		if (l->autoindex == 1 &&
		    (c->req.head ||
		     (c->req.method.len == 3 && memcmp(c->req.method.p, "GET", 3) == 0))) {
			autoindex_serve(c, dir);
			return;
		}
		http_log(c, NULL, LOG_ERR, "directory index of \"%s\" is forbidden", dir);
		http_finalize(c, 403);
		return;
	}
	if (l->log_not_found)
		http_log(c, NULL, LOG_ERR, "\"%s\" is not found (2: No such file or directory)",
			 dir);
	http_finalize(c, 404);
}

void static_handle(struct conn *c)
{
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	char *path, lm[40], etag[64];
	struct stat st;
	struct tm tm;
	int fd, status, gz = 0;
	bool gz_static;

	/* nginx's static module: POST is looked up (404 when missing) and
	 * refused only for a file found; any other method but GET/HEAD 405 */
	bool post = r->method.len == 4 && memcmp(r->method.p, "POST", 4) == 0;

	if (l->flv && flv_handle(c))
		return;
	if (l->mp4 && mp4_handle(c))
		return;
	if (!(r->method.len == 3 && memcmp(r->method.p, "GET", 3) == 0) && !r->head && !post) {
		http_finalize(c, 405);
		return;
	}
	if (r->u.uri.len && r->u.uri.p[r->u.uri.len - 1] == '/') {
		if (l->random_index == 1 && randindex_serve(c, static_map_path(c, r->u.uri)))
			return;
		serve_index(c);
		return;
	}
	path = static_map_path(c, r->u.uri);
	if (!path) {
		http_finalize(c, 404);
		return;
	}
	fd = gzip_static_open(c, path, &st);
	gz_static = fd >= 0;
	if (!gz_static)
		fd = static_open(c, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		status = errno == EACCES || errno == ELOOP     ? 403
			 : errno == ENOENT || errno == ENOTDIR ? 404
							       : 500;
		if (status != 404 || l->log_not_found) {
			int e = errno;

			http_log(c, NULL, LOG_ERR, "%s \"%s\" failed (%d: %s)",
				 l->disable_symlinks > CFG_SYMLINKS_OFF ? "openat()" : "open()",
				 path, e, strerror(e));
		}
		http_finalize(c, status);
		return;
	}
	if (fstat(fd, &st) == -1) {
		close(fd);
		http_finalize(c, 500);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		dir_redirect(c);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		http_finalize(c, 404);
		return;
	}
	if (post) {
		close(fd);
		http_finalize(c, 405);
		return;
	}
	if (!http_continue_discarded(c)) {
		close(fd);
		return;
	}
	r->static_file = true;
	gmtime_r(&st.st_mtime, &tm);
	strftime(lm, sizeof(lm), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)st.st_mtime,
		 (unsigned long long)st.st_size);
	status = r->err_status ? r->err_status : 200; /* error_page's code, or 200 */
	/* etag off: no tag, so only "*" matches If-Match and If-None-Match
	 * (cache_etag_match, as nginx) and a tag in If-Range never does */
	struct lstr etag_l = l->etag ? lstr_c(etag) : (struct lstr){NULL, 0};

	if (status == 200 && !c->sr_parent) {
		/* nginx's not_modified filter, as on cache hits (a
		 * subrequest's answer is never 304: nginx's filter skips them) */
		struct cache_cond q;
		int k;

		cache_cond_of(req_hdrs(r), r->h1.nheaders, &q);
		k = cache_cond_eval(&q, 200, etag_l, lstr_c(lm), l->cache.ims_mode);
		if (k == 412) {
			close(fd);
			http_finalize(c, 412);
			return;
		}
		if (k == 304) {
			close(fd);
			if (http_head_start(c, 304) ||
			    http_head_addf(c, "Last-Modified: %s\r\n", lm) ||
			    (etag_l.len && http_head_addf(c, "ETag: %s\r\n", etag)))
				goto fail;
			if (http_head_finish(c, true))
				goto fail;
			http_send_body(c);
			return;
		}
	}
	/* after X-Accel-Redirect the upstream's type stays (nginx); the
	 * charset filter's "; charset=" is in the multipart parts' type too */
	struct lstr rawtype =
		r->xar_ctype.len ? r->xar_ctype
				 : lstr_c(static_mime_type(l, (struct lstr){path, strlen(path)}));
	/* gunzip first, for a gzip_static file (`always`) going to a client
	 * that may not take gzip (gunzip.c) */
	struct gzip_resp gur = {.status = status,
				.length = st.st_size,
				.content_type = rawtype,
				.last_modified = status == 200,
				.etag = etag_l.len != 0};
	int gu = gz_static ? gunzip_begin(c, status, lstr_c("gzip"), &gur) : 0;

	if (gu < 0)
		goto fail_fd;
	/* a file that stays gzip'd keeps its type where nginx's charset
	 * filter would recode it (it recodes no encoded body) */
	struct lstr ctype = gz_static && !gu ? charset_ctype_encoded(c, l, status, rawtype)
					     : charset_ctype(c, l, status, rawtype, false);
	/* sub_filter before gzip (subfilter.c); it may take the validators */
	r->rc_sb = NULL; /* nothing of an answer before an internal redirect */
	int sf = subfilter_begin_len(c, status, rawtype, st.st_size, gz_static);
	bool lm_ok = !subfilter_drops_validators(c);

	if (sf < 0)
		goto fail_fd;
	if (!gz_static) {
		struct gzip_resp gr = {.status = status,
				       .length = sf && !c->req.sf.sb ? -1 : st.st_size,
				       .content_type = ctype,
				       .last_modified = status == 200 && lm_ok,
				       .etag = etag_l.len != 0 && lm_ok};

		gz = gzip_begin(c, &gr);
		if (gz < 0)
			goto fail_fd;
	}
	/* single-byte recoding alone keeps the length: the file's bytes
	 * are recoded on their way out, ranges and all (http_flush) */
	if (sf && !gz && !gu && (r->rc_sb = subfilter_take_sb(c)))
		sf = 0;
	subfilter_start(c);
	/* nginx's range filter: after gzip, which leaves no length to cut;
	 * nginx's gzip_static handler does not allow ranges, so its file goes
	 * out whole, without Accept-Ranges */
	struct range_set *rs = NULL;
	enum range_rc rr = RANGE_OFF;

	if (status == 200 && !gz && !sf && !gu && !gz_static) {
		rr = range_start(c, st.st_size, etag_l, st.st_mtime, ctype, false, &rs);
		if (rr == RANGE_UNSATISFIABLE) {
			close(fd);
			http_finalize(c, 416);
			return;
		}
	}
	if (http_head_start(c, rs ? 206 : status) ||
	    ((!rs || rs->n == 1) &&
	     http_head_addf(c, "Content-Type: %.*s\r\n", (int)ctype.len, ctype.p)) ||
	    (rs && range_head_add(c, rs)) ||
	    (!gz && !sf && !gu && !rs &&
	     http_head_addf(c, "Content-Length: %lld\r\n", (long long)st.st_size)) ||
	    /* nginx's header filter keeps Last-Modified on 200/206/304 only
	     * (an error_page file answers 404 without it); ETag stays */
	    (status == 200 && lm_ok && http_head_addf(c, "Last-Modified: %s\r\n", lm)) ||
	    (gz_static && !gu && http_head_addf(c, "Content-Encoding: gzip\r\n")))
		goto fail_fd;
	if (etag_l.len && lm_ok &&
	    http_head_addf(
		    c, gz || gu || (sf && !c->req.sf.cs_only) ? "ETag: W/%s\r\n" : "ETag: %s\r\n",
		    etag))
		goto fail_fd;
	if (rr == RANGE_WHOLE && http_head_addf(c, "Accept-Ranges: bytes\r\n"))
		goto fail_fd;
	if (gunzip_head_add(c) || gzip_head_add(c) || subfilter_head_add(c) ||
	    http_head_finish(c, true))
		goto fail_fd;
	if (r->head || (st.st_size == 0 && !gz && !gu && !sf)) {
		close(fd);
	} else if (rs) {
		range_body(c, rs, fd, 0);
	} else {
		c->file_fd = fd;
		c->file_off = 0;
		c->file_end = st.st_size;
	}
	http_send_body(c);
	return;
fail_fd:
	close(fd);
fail:
	conn_close(c);
}

/* static_try_files - try_files A B ... LAST. */
int static_try_files(struct conn *c)
{
	const struct cfg_loc *l = c->req.loc;
	struct stat st;

	for (int i = 0; i < l->ntry_files - 1; i++) {
		struct lstr v;
		bool want_dir;
		char *path;

		const char *raw = l->try_files[i].raw;

		if (cval_eval(&l->try_files[i], c, &v)) {
			http_finalize(c, 500);
			return 0;
		}
		/* nginx: an entry written with a trailing slash tests for a
		 * directory, without that slash */
		want_dir = raw && raw[0] && raw[strlen(raw) - 1] == '/';
		if (want_dir && v.len > 1)
			v.len--;
		path = static_map_path(c, v);
		if (!path)
			continue;
		if (static_stat(c, path, &st) == -1) {
			int e = errno;

			/* nginx: a failure other than "not there" is worth a line */
			if (e != ENOENT && e != ENOTDIR && e != ENAMETOOLONG)
				http_log(c, NULL, LOG_CRIT, "%s \"%s\" failed (%d: %s)",
					 l->disable_symlinks > CFG_SYMLINKS_OFF ? "openat()"
										: "stat()",
					 path, e, strerror(e));
			continue;
		}
		if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
			continue;
		const char *q = memchr(v.p, '?', v.len);

		c->req.u.uri = q ? (struct lstr){v.p, (size_t)(q - v.p)} : v;
		if (l->proxy) /* proxy_pass / fastcgi_pass after try_files (http.c) */
			proxy_start(c);
		else
			static_handle(c);
		return 0;
	}
	struct lstr last;

	if (cval_eval(&l->try_files[l->ntry_files - 1], c, &last)) {
		http_finalize(c, 500);
		return 0;
	}
	if (last.len > 1 && last.p[0] == '=') {
		http_finalize(c, atoi(last.p + 1));
		return 0;
	}
	if (last.len && last.p[0] == '@') {
		http_named_location(c, last);
		return 0;
	}
	const char *q = memchr(last.p, '?', last.len);

	if (q)
		http_internal_redirect(c, (struct lstr){last.p, (size_t)(q - last.p)},
				       (struct lstr){q + 1, last.len - (size_t)(q - last.p) - 1});
	else
		http_internal_redirect(c, last, c->req.u.args);
	return 0;
}
