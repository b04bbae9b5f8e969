/* SPDX-License-Identifier: MIT */
/*
 * nginx's flv module: `flv` in a location serves FLV files from a time
 * offset for players that seek by asking `?start=BYTE`. The answer is the
 * 13-byte FLV file header followed by the file from that byte on, a 200
 * whose ETag counts that length (nginx's etag is the answer's length) and
 * whose Last-Modified is the file's; ranges apply to this answer, as
 * nginx's range filter cuts it. Without a usable `start` (missing, not a
 * decimal number, 0, or at or past the end) the file goes as a static
 * file does, which is what nginx's handler then sends too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "charset.h"
#include "emptygif.h"
#include "http.h"
#include "range.h"

/* "FLV", version 1, audio and video, header size 9, then the first
 * PreviousTagSize (0) */
static const unsigned char flv_header[] = {'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0};

#define FLV_HDR ((int64_t)sizeof(flv_header))

int64_t flv_start_arg(struct lstr args)
{
	const char *p = args.p, *end = args.p + args.len;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *e = amp ? amp : end;

		/* nginx's ngx_http_arg: the first "start=", its name without case */
		if (e - p >= 6 && strncasecmp(p, "start", 5) == 0 && p[5] == '=') {
			int64_t v = 0;

			if (e == p + 6)
				return 0;
			for (const char *q = p + 6; q < e; q++) {
				int d = *q - '0';

				if (d < 0 || d > 9 || v > (INT64_MAX - d) / 10)
					return 0; /* ngx_atoof's error: no offset */
				v = v * 10 + d;
			}
			return v;
		}
		p = e + 1;
	}
	return 0;
}

/* send_body - what of the answer (flv_header, then file FD from START)
 * range set RS (NULL: all of it) asks for. */
static void send_body(struct conn *c, int fd, int64_t start, int64_t size, struct range_set *rs)
{
	int64_t a = 0, b = FLV_HDR + size - start;

	if (rs && rs->n > 1) {
		range_body(c, rs, fd, start - FLV_HDR); /* every part is past the header */
		return;
	}
	if (rs) {
		a = rs->v[0].start;
		b = rs->v[0].end;
	}
	if (a < FLV_HDR && http_out_append(c, flv_header + a, (size_t)(LBD_MIN(b, FLV_HDR) - a))) {
		close(fd);
		conn_close(c);
		return;
	}
	c->req.body_bytes_sent += LBD_MIN(b, FLV_HDR) > a ? LBD_MIN(b, FLV_HDR) - a : 0;
	if (b <= FLV_HDR) {
		close(fd);
		return;
	}
	c->file_fd = fd;
	c->file_off = start + LBD_MAX(a, FLV_HDR) - FLV_HDR;
	c->file_end = start + b - FLV_HDR;
}

bool static_variant_cond(struct conn *c, const char *path, time_t mtime, int64_t len,
			 struct static_variant *v)
{
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	struct cache_cond q;
	struct tm tm;
	int k;

	gmtime_r(&mtime, &tm);
	strftime(v->lm, sizeof(v->lm), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(v->etag, sizeof(v->etag), "\"%llx-%llx\"", (unsigned long long)mtime,
		 (unsigned long long)len);
	v->etag_l = l->etag ? lstr_c(v->etag) : (struct lstr){NULL, 0};
	v->ctype = charset_ctype(
		c, l, 200, lstr_c(static_mime_type(l, (struct lstr){path, strlen(path)})), false);
	cache_cond_of(req_hdrs(r), r->h1.nheaders, &q);
	k = cache_cond_eval(&q, 200, v->etag_l, lstr_c(v->lm), l->cache.ims_mode);
	if (k != 412 && k != 304)
		return false;
	if (k == 412)
		http_finalize(c, 412);
	else if (http_head_start(c, 304) || http_head_addf(c, "Last-Modified: %s\r\n", v->lm) ||
		 (v->etag_l.len && http_head_addf(c, "ETag: %s\r\n", v->etag)) ||
		 http_head_finish(c, true))
		conn_close(c);
	else
		http_send_body(c);
	return true;
}

bool flv_handle(struct conn *c)
{
	struct http_req *r = &c->req;
	int64_t start = flv_start_arg(r->u.args), len;
	struct static_variant v;
	char *path;
	struct range_set *rs = NULL;
	enum range_rc rr;
	struct stat st;
	int fd;

	if (!r->head && !(r->method.len == 3 && memcmp(r->method.p, "GET", 3) == 0)) {
		http_finalize(c, 405); /* nginx's flv handler: before it looks */
		return true;
	}
	if (start <= 0 || !r->u.uri.len || r->u.uri.p[r->u.uri.len - 1] == '/')
		return false;
	path = static_map_path(c, r->u.uri);
	fd = path ? static_open(c, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) : -1;
	if (fd == -1)
		return false; /* the static path opens it again and says why */
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || start >= st.st_size) {
		close(fd);
		return false; /* a directory's redirect, or the whole file */
	}
	if (!http_continue_discarded(c)) {
		close(fd);
		return true;
	}
	len = FLV_HDR + st.st_size - start;
	if (static_variant_cond(c, path, st.st_mtime, len, &v)) {
		close(fd);
		return true;
	}
	rr = range_start(c, len, v.etag_l, st.st_mtime, v.ctype, false, &rs);
	if (rr == RANGE_UNSATISFIABLE) {
		close(fd);
		http_finalize(c, 416);
		return true;
	}
	for (size_t i = 0; rs && rs->n > 1 && i < rs->n; i++)
		if (rs->v[i].start < FLV_HDR) {
			rs = NULL; /* several parts, one in the header: the whole answer */
			rr = RANGE_WHOLE;
			break;
		}
	if (http_head_start(c, rs ? 206 : 200) ||
	    ((!rs || rs->n == 1) &&
	     http_head_addf(c, "Content-Type: %.*s\r\n", (int)v.ctype.len, v.ctype.p)) ||
	    (rs ? range_head_add(c, rs)
		: http_head_addf(c, "Content-Length: %lld\r\n", (long long)len)) ||
	    http_head_addf(c, "Last-Modified: %s\r\n", v.lm) ||
	    (v.etag_l.len && http_head_addf(c, "ETag: %s\r\n", v.etag)) ||
	    (rr == RANGE_WHOLE && http_head_addf(c, "Accept-Ranges: bytes\r\n")) ||
	    http_head_finish(c, true)) {
		close(fd);
		conn_close(c);
		return true;
	}
	if (r->head)
		close(fd);
	else
		send_body(c, fd, start, st.st_size, rs);
	http_send_body(c);
	return true;
}
