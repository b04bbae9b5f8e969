/* SPDX-License-Identifier: MIT */
/*
 * nginx's autoindex: a GET or HEAD of a URI ending in '/' whose directory
 * has no index file gets the directory's listing (html, xml, json or
 * jsonp), byte for byte as nginx 1.22 writes it: names starting with '.'
 * left out, directories first, then by name (strcmp), each entry stat(2)ed
 * (lstat when the link target is gone).
 *
 * Memory: the entries must all be read before the first one can be sent
 * (they are sorted), so they live in the request pool, at most
 * AUTOINDEX_MAX_ENTRIES of them in AUTOINDEX_MAX_MEM bytes (a larger
 * directory is answered 500 with a log line rather than listed in part).
 * The body is not built whole: its length is counted first (a rendering
 * pass into a counter), then it is rendered into c->out AUTOINDEX_BATCH
 * bytes at a time as the client takes it (autoindex_next, from
 * http_flush). nginx sends the listing chunked; lbd sends the same bytes
 * with a Content-Length. The URI and callback are used by the head only,
 * rendered before autoindex_serve returns (they may point into c->in).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "autoindex.h"
#include "charset.h"
#include "gzip.h"
#include "http.h"
#include "log.h"
#include "pool.h"
#include "subfilter.h"

#define AUTOINDEX_MAX_ENTRIES 100000	  /* entries of one listing, at most */
#define AUTOINDEX_MAX_MEM     (16u << 20) /* pool bytes for them (names, array), at most */
#define AUTOINDEX_BATCH	      16384	  /* body bytes rendered per autoindex_next */
#define AUTOINDEX_NAME_LEN    50	  /* html name column, as nginx */
#define AUTOINDEX_CB_MAX      128	  /* jsonp callback name, as nginx */

/* one directory entry (pool) */
struct autoindex_ent {
	const char *name; /* NUL-terminated, in the pool */
	size_t len;	  /* name bytes */
	bool dir;	  /* a directory (after following a link) */
	bool file;	  /* a regular file */
	time_t mtime;	  /* st_mtime */
	off_t size;	  /* st_size */
};

/* a listing being sent (pool; c->req.ai while the body is pending) */
struct autoindex_run {
	struct autoindex_ent *v; /* sorted entries */
	size_t n;		 /* entries in v */
	size_t next;		 /* the next entry to render */
	enum autoindex_fmt fmt;	 /* json when jsonp has no callback */
	bool exact;		 /* autoindex_exact_size */
	bool utf8;		 /* html name widths in UTF-8 characters (charset utf-8) */
	long shift;		 /* seconds added to html dates (autoindex_localtime) */
	struct lstr uri;	 /* the request's $uri */
	struct lstr cb;		 /* jsonp callback */
};

/* where rendered bytes go: counted only, appended to c->out, or copied
 * into mem (sized by a count first) */
struct ai_out {
	struct conn *c; /* NULL: count only (or into mem) */
	size_t n;	/* bytes rendered */
	bool err;	/* c->out could not grow */
	char *mem;	/* the whole listing, for the body filters */
};

static void put(struct ai_out *o, const char *p, size_t n)
{
	if (o->mem && n)
		memcpy(o->mem + o->n, p, n);
	o->n += n;
	if (o->c && !o->err && n && http_out_append(o->c, p, n))
		o->err = true;
}

static void puts_(struct ai_out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* put_html - P escaped as ngx_escape_html (< > & "). */
static void put_html(struct ai_out *o, const char *p, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		const char *e = p[i] == '<'   ? "&lt;"
				: p[i] == '>' ? "&gt;"
				: p[i] == '&' ? "&amp;"
				: p[i] == '"' ? "&quot;"
					      : NULL;

		if (!e)
			continue;
		put(o, p + run, i - run);
		puts_(o, e);
		run = i + 1;
	}
	put(o, p + run, n - run);
}

/* uri_escaped - whether nginx's NGX_ESCAPE_URI_COMPONENT escapes byte C:
 * controls, space, non-ASCII, DEL and " # $ % & + , / : ; < = > ? @ [ \ ]
 * ^ ` { | } (one bit per byte). */
static bool uri_escaped(unsigned char c)
{
	static const uint32_t map[8] = {0xffffffff, 0xfc00987d, 0x78000001, 0xb8000001,
					0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};

	return map[c >> 5] & (1u << (c & 31));
}

/* num_right - V (not negative) in decimal at P, right-aligned in WIDTH
 * columns with spaces (wider when it needs); returns the end. */
static char *num_right(char *p, long long v, int width)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	for (int i = n; i < width; i++)
		*p++ = ' ';
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *two(char *p, int v)
{
	*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

static void put_uri(struct ai_out *o, const char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};

		if (!uri_escaped(ch))
			continue;
		put(o, p + run, i - run);
		put(o, e, 3);
		run = i + 1;
	}
	put(o, p + run, n - run);
}

/* put_json - P escaped as ngx_escape_json. */
static void put_json(struct ai_out *o, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		char e[6] = {'\\', (char)ch, 0, 0, 0, 0};
		size_t el = 2;

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		if (ch == '\n' || ch == '\r' || ch == '\t' || ch == '\b' || ch == '\f') {
			e[1] = ch == '\n'   ? 'n'
			       : ch == '\r' ? 'r'
			       : ch == '\t' ? 't'
			       : ch == '\b' ? 'b'
					    : 'f';
		} else if (ch < 0x20) {
			memcpy(e + 1, "u00", 3);
			e[4] = hex[ch >> 4];
			e[5] = hex[ch & 15];
			el = 6;
		}
		put(o, p + run, i - run);
		put(o, e, el);
		run = i + 1;
	}
	put(o, p + run, n - run);
}

/* utf8_char - the bytes of the UTF-8 character at P (N bytes left), or 0
 * when it is invalid (as ngx_utf8_decode: overlong forms and values past
 * U+10FFFF refused). */
static size_t utf8_char(const unsigned char *p, size_t n)
{
	uint32_t u, min;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xf0) {
		u = p[0] & 0x07, len = 4, min = 0x10000;
	} else if (p[0] >= 0xe0) {
		u = p[0] & 0x0f, len = 3, min = 0x800;
	} else if (p[0] >= 0xc2) {
		u = p[0] & 0x1f, len = 2, min = 0x80;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		u = (u << 6) | (p[i] & 0x3f);
	}
	return u < min || u > 0x10ffff ? 0 : len;
}

/* utf8_len - the characters of P (N bytes), or N when it is not valid
 * UTF-8 (ngx_utf8_length). */
static size_t utf8_len(const char *p, size_t n)
{
	size_t i = 0, k = 0;

	while (i < n) {
		size_t l = utf8_char((const unsigned char *)p + i, n - i);

		if (!l)
			return n;
		i += l, k++;
	}
	return k;
}

/* utf8_prefix - the bytes of the first K characters of P (N bytes),
 * stopping at an invalid one (ngx_utf8_cpystrn). */
static size_t utf8_prefix(const char *p, size_t n, size_t k)
{
	size_t i = 0;

	while (k-- && i < n) {
		size_t l = utf8_char((const unsigned char *)p + i, n - i);

		if (!l)
			break;
		i += l;
	}
	return i;
}

static void put_head(const struct autoindex_run *a, struct ai_out *o)
{
	switch (a->fmt) {
	case AUTOINDEX_HTML:
		puts_(o, "<html>\r\n<head><title>Index of ");
		put_html(o, a->uri.p, a->uri.len);
		puts_(o, "</title></head>\r\n<body>\r\n<h1>Index of ");
		put_html(o, a->uri.p, a->uri.len);
		puts_(o, "</h1><hr><pre><a href=\"../\">../</a>\r\n");
		break;
	case AUTOINDEX_XML:
		puts_(o, "<?xml version=\"1.0\"?>\r\n<list>\r\n");
		break;
	case AUTOINDEX_JSONP:
		puts_(o, "/* callback */\r\n");
		put(o, a->cb.p, a->cb.len);
		put(o, "(", 1);
		/* fall through */
	case AUTOINDEX_JSON:
		put(o, "[", 1);
		break;
	}
}

static void put_tail(const struct autoindex_run *a, struct ai_out *o)
{
	switch (a->fmt) {
	case AUTOINDEX_HTML:
		puts_(o, "</pre><hr></body>\r\n</html>\r\n");
		break;
	case AUTOINDEX_XML:
		puts_(o, "</list>\r\n");
		break;
	case AUTOINDEX_JSON:
		puts_(o, "\r\n]");
		break;
	case AUTOINDEX_JSONP:
		puts_(o, "\r\n]);");
		break;
	}
}

/* put_html_size - the html size column (19 wide exact, else 7 wide with
 * K/M/G rounded at the half as nginx). */
static void put_html_size(const struct autoindex_run *a, const struct autoindex_ent *e,
			  struct ai_out *o)
{
	char buf[32];
	long long len = (long long)e->size, sz;
	char scale = 0;

	if (a->exact) {
		if (e->dir)
			puts_(o, "                  -");
		else
			put(o, buf, (size_t)(num_right(buf, len, 19) - buf));
		return;
	}
	if (e->dir) {
		puts_(o, "      -");
		return;
	}
	if (len >= 1024LL * 1024 * 1024) {
		sz = len / (1024LL * 1024 * 1024) +
		     (len % (1024LL * 1024 * 1024) >= 512LL * 1024 * 1024);
		scale = 'G';
	} else if (len >= 1024 * 1024) {
		sz = len / (1024 * 1024) + (len % (1024 * 1024) >= 512 * 1024);
		scale = 'M';
	} else if (len > 9999) {
		sz = len / 1024 + (len % 1024 > 511);
		scale = 'K';
	} else {
		sz = len;
	}
	if (scale) {
		char *p = num_right(buf, sz, 6);

		*p++ = scale;
		put(o, buf, (size_t)(p - buf));
	} else {
		buf[0] = ' ';
		put(o, buf, (size_t)(num_right(buf + 1, sz, 6) - buf));
	}
}

static void put_html_entry(const struct autoindex_run *a, const struct autoindex_ent *e,
			   struct ai_out *o)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	size_t chars = a->utf8 ? utf8_len(e->name, e->len) : e->len;
	size_t shown;
	time_t t = e->mtime + a->shift;
	struct tm tm;
	char buf[64], *p;

	puts_(o, "<a href=\"");
	put_uri(o, e->name, e->len);
	puts_(o, e->dir ? "/\">" : "\">");
	/* a name past the column is cut to 47 characters and "..>" */
	shown = chars > AUTOINDEX_NAME_LEN ? AUTOINDEX_NAME_LEN - 3 : chars;
	if (chars != e->len)
		shown = utf8_prefix(e->name, e->len, shown);
	put_html(o, e->name, shown);
	if (chars > AUTOINDEX_NAME_LEN) {
		puts_(o, "..&gt;</a>");
	} else {
		if (e->dir && chars < AUTOINDEX_NAME_LEN) {
			put(o, "/", 1);
			chars++;
		}
		puts_(o, "</a>");
		for (; chars < AUTOINDEX_NAME_LEN; chars++)
			put(o, " ", 1);
	}
	gmtime_r(&t, &tm);
	/* " %02d-%s-%d %02d:%02d " */
	p = buf;
	*p++ = ' ';
	p = two(p, tm.tm_mday);
	*p++ = '-';
	memcpy(p, months[tm.tm_mon], 3);
	p[3] = '-';
	p = num_right(p + 4, tm.tm_year + 1900 < 0 ? 0 : tm.tm_year + 1900, 0);
	*p++ = ' ';
	p = two(p, tm.tm_hour);
	*p++ = ':';
	p = two(p, tm.tm_min);
	*p++ = ' ';
	put(o, buf, (size_t)(p - buf));
	put_html_size(a, e, o);
	put(o, "\r\n", 2);
}

static void put_entry(const struct autoindex_run *a, size_t i, struct ai_out *o)
{
	const struct autoindex_ent *e = &a->v[i];
	const char *type = e->dir ? "directory" : e->file ? "file" : "other";
	struct tm tm;
	char buf[64];

	switch (a->fmt) {
	case AUTOINDEX_HTML:
		put_html_entry(a, e, o);
		break;
	case AUTOINDEX_XML:
		gmtime_r(&e->mtime, &tm);
		put(o, "<", 1);
		puts_(o, type);
		put(o, buf,
		    (size_t)snprintf(buf, sizeof(buf), " mtime=\"%4d-%02d-%02dT%02d:%02d:%02dZ\"",
				     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				     tm.tm_min, tm.tm_sec));
		if (e->file)
			put(o, buf,
			    (size_t)snprintf(buf, sizeof(buf), " size=\"%lld\"",
					     (long long)e->size));
		put(o, ">", 1);
		put_html(o, e->name, e->len);
		put(o, "</", 2);
		puts_(o, type);
		put(o, ">\r\n", 3);
		break;
	case AUTOINDEX_JSON:
	case AUTOINDEX_JSONP:
		gmtime_r(&e->mtime, &tm);
		puts_(o, i ? ",\r\n{ \"name\":\"" : "\r\n{ \"name\":\"");
		put_json(o, e->name, e->len);
		puts_(o, "\", \"type\":\"");
		puts_(o, type);
		puts_(o, "\", \"mtime\":\"");
		put(o, buf, strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm));
		if (e->file)
			put(o, buf,
			    (size_t)snprintf(buf, sizeof(buf), "\", \"size\":%lld",
					     (long long)e->size));
		else
			put(o, "\"", 1);
		puts_(o, " }");
		break;
	}
}

static int cmp_ent(const void *x, const void *y)
{
	const struct autoindex_ent *a = x, *b = y;

	if (a->dir != b->dir)
		return a->dir ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* jsonp_callback - ngx_http_arg "callback" of C's query string in *CB
 * (empty when absent); -1 (logged at info) when too long or not made of
 * letters, digits, '_' and '.'. */
static int jsonp_callback(struct conn *c, struct lstr *cb)
{
	struct lstr a = c->req.u.args;

	*cb = (struct lstr){"", 0};
	for (size_t i = 0; a.p && i + 9 <= a.len; i++) {
		if ((i && a.p[i - 1] != '&') || strncasecmp(a.p + i, "callback=", 9))
			continue;
		const char *v = a.p + i + 9, *end = memchr(v, '&', a.len - i - 9);

		*cb = (struct lstr){v, end ? (size_t)(end - v) : a.len - i - 9};
		break;
	}
	if (cb->len > AUTOINDEX_CB_MAX) {
		http_log(c, NULL, LOG_INFO, "client sent too long callback name: \"%.*s\"",
			 (int)cb->len, cb->p);
		return -1;
	}
	for (size_t i = 0; i < cb->len; i++) {
		char ch = cb->p[i], l = (char)(ch | 0x20);

		if ((l >= 'a' && l <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.')
			continue;
		http_log(c, NULL, LOG_INFO, "client sent invalid callback name: \"%.*s\"",
			 (int)cb->len, cb->p);
		return -1;
	}
	return 0;
}

/* read_dir - the entries of directory D (path PATH) but dot files into
 * A->v, in C's pool. Returns the status to answer on failure (logged as
 * nginx), or 0. */
static int read_dir(struct conn *c, DIR *d, const char *path, struct autoindex_run *a)
{
	size_t cap = 0, mem = 0;
	struct dirent *de;
	struct stat st;

	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				http_log(c, NULL, LOG_CRIT, "readdir() \"%s\" failed (%d: %s)",
					 path, errno, strerror(errno));
				return 500;
			}
			return 0;
		}
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) == -1) {
			int e = errno;

			if (e != ENOENT && e != ELOOP) {
				http_log(c, NULL, LOG_CRIT, "stat() \"%s/%s\" failed (%d: %s)",
					 path, de->d_name, e, strerror(e));
				if (e == EACCES)
					continue;
				return 500;
			}
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
				e = errno;
				http_log(c, NULL, LOG_CRIT, "lstat() \"%s/%s\" failed (%d: %s)",
					 path, de->d_name, e, strerror(e));
				return 500;
			}
		}
		size_t nl = strlen(de->d_name);

		if (a->n == cap) {
			/* the old array stays in the pool: at most as much again */
			struct autoindex_ent *v;

			cap = cap ? cap * 2 : 64;
			mem += cap * sizeof(*v);
			if (a->n < AUTOINDEX_MAX_ENTRIES && mem <= AUTOINDEX_MAX_MEM) {
				cap = LBD_MIN(cap, (size_t)AUTOINDEX_MAX_ENTRIES);
				v = pool_alloc(&c->pool, cap * sizeof(*v));
				if (!v)
					return 500;
				if (a->n)
					memcpy(v, a->v, a->n * sizeof(*v));
				a->v = v;
			}
		}
		mem += (nl + 16) & ~(size_t)15; /* pool_strndup's share */
		if (a->n == AUTOINDEX_MAX_ENTRIES || mem > AUTOINDEX_MAX_MEM) {
			http_log(c, NULL, LOG_ERR,
				 "directory \"%s\" is too large to list (more than %d entries or "
				 "%u bytes)",
				 path, AUTOINDEX_MAX_ENTRIES, AUTOINDEX_MAX_MEM);
			return 500;
		}
		struct autoindex_ent *e = &a->v[a->n];

		e->len = nl;
		e->name = pool_strndup(&c->pool, de->d_name, nl);
		if (!e->name)
			return 500;
		e->dir = S_ISDIR(st.st_mode);
		e->file = S_ISREG(st.st_mode);
		e->mtime = st.st_mtime;
		e->size = st.st_size;
		a->n++;
	}
}

/* ends_utf8 - whether content type CT has the parameter charset=utf-8. */
static bool ends_utf8(struct lstr ct)
{
	return ct.len >= 13 && strncasecmp(ct.p + ct.len - 13, "charset=utf-8", 13) == 0;
}

void autoindex_serve(struct conn *c, const char *dir)
{
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	struct autoindex_run *a;
	struct ai_out cnt = {NULL, 0, false, NULL}, o = {c, 0, false, NULL};
	struct lstr ct, type;
	size_t pl = strlen(dir);
	char *path;
	DIR *d;
	int st;

	a = pool_zalloc(&c->pool, sizeof(*a));
	path = pool_strndup(&c->pool, dir, pl);
	if (!a || !path) {
		http_finalize(c, 500);
		return;
	}
	if (pl > 1 && path[pl - 1] == '/')
		path[--pl] = '\0';
	a->fmt = (enum autoindex_fmt)l->autoindex_format;
	if (a->fmt == AUTOINDEX_JSONP) {
		if (jsonp_callback(c, &a->cb)) {
			http_finalize(c, 400);
			return;
		}
		if (!a->cb.len)
			a->fmt = AUTOINDEX_JSON;
	}
	d = opendir(path);
	if (!d) {
		int e = errno;

		st = e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG ? 404
		     : e == EACCES				      ? 403
								      : 500;
		http_log(c, NULL, st == 500 ? LOG_CRIT : LOG_ERR,
			 "opendir() \"%s\" failed (%d: %s)", path, e, strerror(e));
		http_finalize(c, st);
		return;
	}
	st = r->head ? 0 : read_dir(c, d, path, a);
	closedir(d);
	if (st) {
		http_finalize(c, st);
		return;
	}
	if (a->n > 1)
		qsort(a->v, a->n, sizeof(*a->v), cmp_ent);
	switch (a->fmt) {
	case AUTOINDEX_JSON:
		type = LSTR("application/json");
		break;
	case AUTOINDEX_JSONP:
		type = LSTR("application/javascript");
		break;
	case AUTOINDEX_XML:
		type = LSTR("text/xml");
		break;
	default:
		type = LSTR("text/html");
		break;
	}
	ct = a->fmt == AUTOINDEX_XML ? LSTR("text/xml; charset=utf-8")
				     : charset_ctype(c, l, 200, type, false);
	a->utf8 = ends_utf8(ct);
	a->exact = l->autoindex_exact_size != 0;
	if (l->autoindex_localtime == 1) {
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		a->shift = tm.tm_gmtoff / 60 * 60; /* nginx keeps minutes */
	}
	a->uri = r->u.uri;
	if (!r->head) {
		put_head(a, &cnt);
		for (size_t i = 0; i < a->n; i++)
			put_entry(a, i, &cnt);
		put_tail(a, &cnt);
	}
	/* sub_filter and gzip take the listing as any page of lbd's own
	 * (nginx's body filters see autoindex's buffer too) */
	int sf = subfilter_begin(c, 200, type, r->head ? -1 : (int64_t)cnt.n, false);
	struct gzip_resp gr = {
		.status = 200, .length = sf || r->head ? -1 : (int64_t)cnt.n, .content_type = type};
	int gz = sf < 0 ? sf : gzip_begin(c, &gr);

	subfilter_start(c);
	if (gz < 0 || http_head_start(c, 200) ||
	    http_head_addf(c, "Content-Type: %.*s\r\n", (int)ct.len, ct.p) ||
	    (!r->head && !gz && !sf && http_head_addf(c, "Content-Length: %zu\r\n", cnt.n)) ||
	    gzip_head_add(c) || subfilter_head_add(c) || http_head_finish(c, true)) {
		conn_close(c);
		return;
	}
	if (!r->head && (r->sf.ctx || r->gz.ctx)) {
		/* the filters take a page whole: rendered into memory once (nginx
		 * renders every listing so) */
		struct ai_out m = {NULL, 0, false, pool_alloc(&c->pool, cnt.n ? cnt.n : 1)};
		size_t sent = 0;

		if (!m.mem) {
			conn_close(c);
			return;
		}
		put_head(a, &m);
		for (size_t i = 0; i < a->n; i++)
			put_entry(a, i, &m);
		put_tail(a, &m);
		if (r->sf.ctx ? subfilter_mem(c, m.mem, m.n, &sent)
			      : gzip_mem(c, m.mem, m.n, &sent)) {
			conn_close(c);
			return;
		}
		r->body_bytes_sent = sent;
	} else if (!r->head) {
		put_head(a, &o);
		if (o.err) {
			conn_close(c);
			return;
		}
		r->body_bytes_sent += o.n;
		r->ai = a;
	}
	http_send_body(c);
}

bool autoindex_next(struct conn *c)
{
	struct autoindex_run *a = c->req.ai;
	struct ai_out o = {c, 0, false, NULL};

	if (!a)
		return false;
	while (a->next < a->n && o.n < AUTOINDEX_BATCH)
		put_entry(a, a->next++, &o);
	if (a->next == a->n) {
		put_tail(a, &o);
		c->req.ai = NULL;
	}
	if (o.err) {
		/* the body promised cannot be sent whole: end the connection */
		c->req.ai = NULL;
		c->close_after = true;
		c->out.start = c->out.end = 0;
		return false;
	}
	c->req.body_bytes_sent += o.n;
	return o.n != 0;
}
