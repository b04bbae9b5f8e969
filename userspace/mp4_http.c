/* SPDX-License-Identifier: MIT */
/*
 * nginx's mp4 content handler (the cutting is mp4.c): `?start=` and/or
 * `?end=` on a regular file answer the cut MP4 as a 200 whose ETag and
 * Content-Length are the answer's, Last-Modified the file's; a Range
 * applies to that answer (one range: nginx's single_range, several get
 * the whole answer). A file nginx would fail on is a 500 with nginx's
 * error log line. Without start/end, or a moov atom before mdat with
 * start=0 and no end, the file goes as a static file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "charset.h"
#include "http.h"
#include "mp4.h"
#include "range.h"

static ssize_t fd_pread(void *ctx, void *buf, size_t len, int64_t off)
{
	ssize_t n;

	do
		n = pread(*(int *)ctx, buf, len, (off_t)off);
	while (n == -1 && errno == EINTR);
	return n;
}

/* send_body - what of the answer (HEAD in memory, then the file's
 * [DATA_START, DATA_END)) range set RS (NULL: all of it) asks for. */
static void send_body(struct conn *c, int fd, const struct mp4_result *m, struct range_set *rs)
{
	int64_t hl = (int64_t)m->head_len, a = 0, b = hl + m->data_end - m->data_start;

	if (rs) {
		a = rs->v[0].start;
		b = rs->v[0].end;
	}
	if (a < hl && http_out_append(c, m->head + a, (size_t)(LBD_MIN(b, hl) - a))) {
		close(fd);
		conn_close(c);
		return;
	}
	c->req.body_bytes_sent += LBD_MIN(b, hl) > a ? LBD_MIN(b, hl) - a : 0;
	if (b <= hl) {
		close(fd);
		return;
	}
	c->file_fd = fd;
	c->file_off = m->data_start + LBD_MAX(a, hl) - hl;
	c->file_end = m->data_start + b - hl;
}

bool mp4_handle(struct conn *c)
{
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	struct static_variant v;
	char *path;
	struct range_set *rs = NULL;
	struct mp4_result m;
	struct mp4_conf cf;
	struct mp4_io io;
	enum range_rc rr;
	uint64_t length;
	int64_t start, len;
	struct stat st;
	int fd;

	if (!r->head && !(r->method.len == 3 && memcmp(r->method.p, "GET", 3) == 0)) {
		http_finalize(c, 405); /* nginx's mp4 handler: before it looks */
		return true;
	}
	if (!r->u.uri.len || r->u.uri.p[r->u.uri.len - 1] == '/')
		return false;
	mp4_times(r->u.args, &start, &length);
	if (start < 0)
		return false; /* the file as it is: the static path does it */
	path = static_map_path(c, r->u.uri);
	fd = path ? static_open(c, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) : -1;
	if (fd == -1)
		return false; /* the static path opens it again and says why */
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return false; /* a directory's redirect */
	}
	if (!http_continue_discarded(c)) {
		close(fd);
		return true;
	}
	cf = (struct mp4_conf){l->mp4_buffer_size, l->mp4_max_buffer_size,
			       l->mp4_start_key_frame == 1};
	io = (struct mp4_io){fd_pread, &fd};
	switch (mp4_rebuild(&io, st.st_size, path, (uint64_t)start, length, &cf, &m)) {
	case MP4_DECLINED:
		close(fd);
		return false;
	case MP4_ERROR:
		close(fd);
		http_log(c, NULL, LOG_ERR, "%s", m.err);
		http_finalize(c, 500);
		return true;
	case MP4_OK:
		break;
	}
	len = (int64_t)m.head_len + m.data_end - m.data_start;
	if (static_variant_cond(c, path, st.st_mtime, len, &v)) {
		close(fd);
		mp4_result_free(&m);
		return true;
	}
	rr = range_start(c, len, v.etag_l, st.st_mtime, v.ctype, true, &rs);
	if (rr == RANGE_UNSATISFIABLE) {
		close(fd);
		mp4_result_free(&m);
		http_finalize(c, 416);
		return true;
	}
	if (rs && rs->n > 1) {
		rs = NULL; /* single_range: never several parts */
		rr = RANGE_WHOLE;
	}
	if (http_head_start(c, rs ? 206 : 200) ||
	    http_head_addf(c, "Content-Type: %.*s\r\n", (int)v.ctype.len, v.ctype.p) ||
	    (rs ? range_head_add(c, rs)
		: http_head_addf(c, "Content-Length: %lld\r\n", (long long)len)) ||
	    http_head_addf(c, "Last-Modified: %s\r\n", v.lm) ||
	    (v.etag_l.len && http_head_addf(c, "ETag: %s\r\n", v.etag)) ||
	    (rr == RANGE_WHOLE && http_head_addf(c, "Accept-Ranges: bytes\r\n")) ||
	    http_head_finish(c, true)) {
		close(fd);
		mp4_result_free(&m);
		conn_close(c);
		return true;
	}
	if (r->head)
		close(fd);
	else
		send_body(c, fd, &m, rs);
	mp4_result_free(&m);
	http_send_body(c);
	return true;
}
