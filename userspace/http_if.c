/* SPDX-License-Identifier: MIT */
/*
 * The test of an `if` condition (struct rw_if, parsed by cfg_if.c) for one
 * request, as nginx's script codes make it: a variable is true unless
 * empty or "0"; = and != compare bytes; ~ and ~* match with the compiled
 * regex and make it the request's last match ($1..$9, named captures);
 * -f, -d, -e, -x stat() the path, and a missing path is false (true for
 * the ! forms). Values come from the request pool; the path is copied to
 * the stack to end it with a NUL. Nothing is allocated on the heap.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "cfg-t.h"
#include "http.h"
#include "var.h"

/* file_test - what nginx's ngx_http_script_file_code says of PATH for F. */
static int file_test(struct conn *c, const struct rw_if *f, struct lstr path)
{
	char buf[PATH_MAX];
	struct stat st;
	bool yes;

	if (path.len >= sizeof(buf) || memchr(path.p, '\0', path.len))
		return f->neg; /* ENAMETOOLONG, or a name no file has */
	memcpy(buf, path.p, path.len);
	buf[path.len] = '\0';
	if (stat(buf, &st) == -1) {
		if (errno != ENOENT && errno != ENOTDIR && errno != ENAMETOOLONG)
			http_log(c, NULL, LOG_CRIT, "stat() \"%s\" failed (%d: %s)", buf, errno,
				 strerror(errno));
		return f->neg;
	}
	switch (f->ftest) {
	case 'f':
		yes = S_ISREG(st.st_mode);
		break;
	case 'd':
		yes = S_ISDIR(st.st_mode);
		break;
	case 'e': /* nginx's is_file || is_dir || is_link */
		yes = S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode);
		break;
	default: /* 'x': ngx_is_exec, the owner's execute bit */
		yes = (st.st_mode & S_IXUSR) == S_IXUSR;
		break;
	}
	return yes != f->neg;
}

int http_if_test(struct conn *c, const struct rw_if *f, bool log)
{
	struct lstr v = {"", 0}, w = {"", 0};
	int rc;

	if (f->op == RWIF_FILE) {
		if (cval_eval(&f->val, c, &w))
			return -ENOMEM;
		return file_test(c, f, w);
	}
	rc = cval_part_eval(&f->var, c, &v);
	if (rc < 0)
		return rc;
	switch (f->op) {
	case RWIF_VAR:
		return v.len && !(v.len == 1 && v.p[0] == '0');
	case RWIF_EQ:
		if (cval_eval(&f->val, c, &w))
			return -ENOMEM;
		return (v.len == w.len && memcmp(v.p, w.p, v.len) == 0) != f->neg;
	case RWIF_RE:
		rc = var_regex_exec(c, f->re, v.p, v.len);
		if (rc < 0)
			return rc;
		if (log) /* the regex's own result, before a ! turns it */
			http_log(c, NULL, LOG_NOTICE, "\"%s\" %s \"%.*s\"", f->re_src,
				 rc == 1 ? "matches" : "does not match", (int)v.len, v.p);
		return (rc == 1) != f->neg;
	default:
		return -EINVAL;
	}
}
