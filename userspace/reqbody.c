/* SPDX-License-Identifier: MIT */
/*
 * Request bodies on their way to the upstream (proxy.c drives the upstream
 * side). Read whole first (proxy_request_buffering on, nginx's default):
 * decoded into client_body_buffer_size bytes of memory, then an unnamed
 * temp file in client_body_temp_path, so a retry can resend them. Streamed (off): each read from the
 * client goes into a buffer of at most client_body_buffer_size bytes that
 * proxy.c writes upstream; while it is full the client is not read.
 *
 * Owns struct rbody (request pool) and the body spool file (closed by the
 * request cleanup in http.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "tmpdir.h"
#include "reqbody.h"
#include "store.h"
#include "worker.h"

/* spool_fallback - a named temp file in DIR, unlinked at once, for a file
 * system without O_TMPFILE. The fd, or -1 (errno set). */
static int spool_fallback(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/lbd-body-XXXXXX", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd != -1)
		unlink(path);
	return fd;
}

/* spool_open - the body's temp file, in client_body_temp_path (made when
 * missing, as pbuf.c makes proxy_temp_path: by the `user` once privileges
 * are dropped). Never named (O_TMPFILE), so a crash leaves nothing behind,
 * unless the configuration uses $request_body_file (or the location has
 * ssi on: its echo looks the variable up by name): then named as nginx
 * names it (in the path's levels) and unlinked at once, as nginx unlinks
 * it, so the variable gives the name and a crash leaves nothing either.
 * 0, or -1 with the error logged at crit (the request gets 500, as in
 * nginx). */
static int spool_open(struct conn *c)
{
	const struct cfg_loc *l = c->req.loc;
	const char *dir = l->client_body_temp_path;
	int fd;

	/* the name is asked for by the configuration's compiled variables,
	 * or by name at run time: SSI's echo var="request_body_file" in the
	 * answer of this location (nothing else looks a name up) */
	if (unlikely(l->body_in_file != BODY_FILE_OFF ||
		     ((c->cfg->http->body_file_var || l->ssi.on == 1) && !c->req.body_preread))) {
		/* named, as nginx's: client_body_in_file_only's file is kept
		 * (the application's), the others unlinked at once */
		bool keep = l->body_in_file != BODY_FILE_OFF;

		fd = store_open_temp(c, dir, l->body_temp_lv, &c->req.body_file);
		if (fd == -1) {
			http_log(c, NULL, LOG_CRIT, "open() \"%s\" failed (%d: %s)",
				 c->req.body_file ? c->req.body_file : dir, errno, strerror(errno));
			c->req.body_file = NULL;
			return -1;
		}
		if (!keep)
			unlink(c->req.body_file);
		c->req.body_file_clean = l->body_in_file == BODY_FILE_CLEAN;
		http_log(c, NULL, keep ? LOG_NOTICE : LOG_WARN,
			 "a client request body is buffered to a temporary file %s",
			 c->req.body_file);
		c->req.body_fd = fd;
		return 0;
	}
	fd = tmpdir_open(dir);
	if (fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR))
		fd = spool_fallback(dir);
	if (fd == -1) {
		http_log(c, NULL, LOG_CRIT, "open() \"%s\" failed (%d: %s)", dir, errno,
			 strerror(errno));
		return -1;
	}
	http_log(c, NULL, LOG_WARN, "a client request body is buffered to a temporary file in %s",
		 dir);
	c->req.body_fd = fd;
	return 0;
}

/* spool_write - append P[0..n) to the spool file. 0, or -1 with the error
 * logged at crit. */
static int spool_write(struct conn *c, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(c->req.body_fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w ? errno : ENOSPC;

			http_log(c, NULL, LOG_CRIT,
				 "write() to a temporary file in \"%s\" failed (%d: %s)",
				 c->req.loc->client_body_temp_path, e, strerror(e));
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* struct rbody - a request body streamed upstream as it arrives
 * (proxy_request_buffering off): bytes read from the client and framed for
 * the upstream (a chunked body is re-chunked, as nginx does), not yet
 * written. It holds at most client_body_buffer_size bytes: while it is
 * full the client is not read, so a slow upstream slows the client down,
 * and while it is empty the upstream waits for the client. */
struct rbody {
	char *buf;	 /* request pool, cap bytes */
	size_t cap;	 /* client_body_buffer_size (at least RB_MIN) */
	size_t off, len; /* buf[off, len) is still to be written upstream */
	bool chunked;	 /* re-frame as chunks (a chunked client body) */
};

/* Room a read leaves for chunk framing: a piece of a chunk split by the
 * read at each end (hex size + two CRLF) and the last chunk. A whole chunk
 * grows by at most half: "1\nX\n" (bare LFs) becomes "1\r\nX\r\n", so a
 * chunked read takes at most two thirds of the rest of the room. */
#define RB_SLACK 48
#define RB_MIN	 1024

/* rbody_put - append N decoded body bytes (room ensured by reqbody_read;
 * checked again: -ENOMEM rather than overrun). */
static int rbody_put(struct rbody *rb, const char *p, size_t n)
{
	if (rb->cap - rb->len < n + (rb->chunked ? 20 + 5 : 0))
		return -ENOMEM;
	if (rb->chunked && n)
		rb->len += (size_t)snprintf(rb->buf + rb->len, rb->cap - rb->len, "%zx\r\n", n);
	memcpy(rb->buf + rb->len, p, n);
	rb->len += n;
	if (rb->chunked && n) {
		memcpy(rb->buf + rb->len, "\r\n", 2);
		rb->len += 2;
	}
	return 0;
}

/* reqbody_keep_rest - pipelined bytes read past the body: they are the next
 * request's. 0, or -ENOMEM. The request's head views point into c->in:
 * when it must grow, the storage they point into is kept (in_prev) until
 * the request ends, never moved by realloc() under them. */
int reqbody_keep_rest(struct conn *c, const char *p, size_t n)
{
	if (c->in.cap - c->in.end < n) {
		char *d = malloc(c->in.end + n);

		if (!d)
			return -ENOMEM;
		memcpy(d, c->in.data, c->in.end);
		if (c->req.in_prev)
			free(c->in.data); /* a copy already: no view into it */
		else
			c->req.in_prev = c->in.data;
		c->in.data = d;
		c->in.cap = c->in.end + n;
	}
	memcpy(c->in.data + c->in.end, p, n);
	c->in.end += n;
	return 0;
}

/* mem_limit - the body bytes R keeps in memory: client_body_buffer_size,
 * or, as nginx sizes its one buffer, a whole Content-Length body under a
 * quarter more than that. */
static size_t mem_limit(const struct http_req *r)
{
	size_t cbbs = (size_t)r->loc->client_body_buffer_size;

	if (r->body_kind == BODY_LENGTH && r->content_length < cbbs + cbbs / 4)
		return (size_t)r->content_length;
	return cbbs;
}

/* body_store - append decoded body bytes: memory up to mem_limit, then a
 * temporary file. */
static int body_store(struct conn *c, const char *p, size_t n)
{
	struct http_req *r = &c->req;
	struct buf *m = &r->body_mem;

	if (r->rbody)
		return rbody_put(r->rbody, p, n);
	if (r->body_fd < 0 && m->end + n <= mem_limit(r) && r->loc->body_in_file == BODY_FILE_OFF) {
		if (m->cap < m->end + n) {
			size_t cap = mem_limit(r);
			char *d = realloc(m->data, cap);

			if (!d)
				return -ENOMEM;
			m->data = d;
			m->cap = cap;
		}
		memcpy(m->data + m->end, p, n);
		m->end += n;
		return 0;
	}
	if (r->body_fd < 0) {
		if (spool_open(c) || spool_write(c, m->data, m->end))
			return -EIO;
		free(m->data);
		*m = (struct buf){0};
	}
	return spool_write(c, p, n) ? -EIO : 0;
}

/* reqbody_feed - consume body bytes from data[0..len). Returns bytes used,
 * or a negative HTTP status (400, 413, 500). */
long reqbody_feed(struct conn *c, const char *data, size_t len)
{
	struct http_req *r = &c->req;
	int64_t max = r->loc->client_max_body_size;
	size_t used = 0;

	if (r->body_kind == BODY_LENGTH) {
		uint64_t left = r->content_length - r->body_received;
		size_t n = (size_t)LBD_MIN((uint64_t)len, left);

		if (body_store(c, data, n))
			return -500;
		r->body_received += n;
		if (r->body_received == r->content_length)
			r->body_done = true;
		return (long)n;
	}
	while (used < len && !r->body_done) {
		struct h1_str d;
		size_t consumed = 0;
		int rc = h1_parse_chunked(&r->chunked, data + used, len - used, &consumed, &d);

		/* A declared chunk that would pass the limit is answered 413
		 * at once, without waiting for its data (nginx does the same). */
		if (max && r->body_received + (rc == H1_CHUNK_DATA ? d.len : 0) +
					   h1_chunked_pending(&r->chunked) >
				   (uint64_t)max)
			return -413;
		if (rc == H1_CHUNK_DATA) {
			if (max && r->body_received + d.len > (uint64_t)max)
				return -413;
			if (body_store(c, d.p, d.len))
				return -500;
			r->body_received += d.len;
			used += consumed;
		} else if (rc == H1_CHUNK_DONE) {
			used += consumed;
			r->body_done = true;
		} else if (rc == H1_INCOMPLETE) {
			used = len;
		} else {
			return -400;
		}
	}
	return (long)used;
}

/* reqbody_read - read client body bytes into the stream buffer while it has
 * room: what came with the head first, then the socket. 0 (the buffer is
 * full, the client has nothing more now, or the body is all read),
 * REQBODY_GONE, or a negative HTTP status (400 bad chunk, 413, 500). */
int reqbody_read(struct conn *c)
{
	struct http_req *r = &c->req;
	struct rbody *rb = r->rbody;
	char *tmp = NULL;
	int rc = 0;

	while (!r->body_done) {
		size_t room, want;
		ssize_t n;
		long used;
		char *dst;

		if (rb->off == rb->len) {
			rb->off = rb->len = 0;
		} else if (rb->off && rb->cap - rb->len < rb->cap / 2) {
			memmove(rb->buf, rb->buf + rb->off, rb->len - rb->off);
			rb->len -= rb->off;
			rb->off = 0;
		}
		room = rb->cap - rb->len;
		if (room <= RB_SLACK)
			break; /* full: the upstream must take some first */
		want = room - RB_SLACK;
		if (rb->chunked)
			want = want / 3 * 2;
		if (!want)
			break;
		if (c->in.end > c->in.start) {
			used = reqbody_feed(c, c->in.data + c->in.start,
					    LBD_MIN(want, c->in.end - c->in.start));
			if (used < 0) {
				rc = (int)used;
				break;
			}
			c->in.start += (size_t)used;
			r->request_length += (uint64_t)used;
			continue;
		}
		if (!c->readable)
			break;
		if (r->body_kind == BODY_LENGTH) {
			/* straight into the buffer: never past the body */
			want = (size_t)LBD_MIN((uint64_t)want,
					       r->content_length - r->body_received);
			dst = rb->buf + rb->len;
		} else {
			if (!tmp && !(tmp = worker_relay_get(c->w))) {
				rc = -500;
				break;
			}
			want = LBD_MIN(want, RELAY_BUF_SIZE);
			dst = tmp;
		}
		n = conn_recv(c, dst, want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->readable = false;
			break;
		}
		if (n <= 0) {
			r->body_errno = n ? errno : 0;
			rc = REQBODY_GONE;
			break;
		}
		/* drained: edge-triggered epoll tells us of more, but not of a
		 * FIN that came with these bytes (peer_hup: read on to it) */
		if ((size_t)n < want && !c->peer_hup)
			c->readable = false;
		if (dst != tmp) {
			rb->len += (size_t)n;
			r->body_received += (uint64_t)n;
			r->request_length += (uint64_t)n;
			r->body_done = r->body_received == r->content_length;
			continue;
		}
		used = reqbody_feed(c, tmp, (size_t)n);
		if (used < 0) {
			rc = (int)used;
			break;
		}
		r->request_length += (uint64_t)used;
		if ((size_t)used < (size_t)n &&
		    reqbody_keep_rest(c, tmp + used, (size_t)n - (size_t)used)) {
			rc = -500;
			break;
		}
	}
	if (tmp)
		worker_relay_put(c->w, tmp);
	if (!rc && r->body_done && rb->chunked) {
		memcpy(rb->buf + rb->len, "0\r\n\r\n", 5); /* RB_SLACK kept room */
		rb->len += 5;
		rb->chunked = false;
	}
	return rc;
}

/* preread_whole - whether the whole body came with the head. */
static bool preread_whole(const struct conn *c)
{
	const struct http_req *r = &c->req;
	const char *p = c->in.data + c->in.start;
	size_t len = c->in.end - c->in.start, used;
	struct h1_chunked st = r->chunked; /* a trial decode: the real one comes later */
	struct h1_str d;

	if (r->body_kind == BODY_LENGTH)
		return len >= r->content_length;
	for (;;) {
		int rc = h1_parse_chunked(&st, p, len, &used, &d);

		if (rc != H1_CHUNK_DATA)
			return rc == H1_CHUNK_DONE;
		p += used;
		len -= used;
	}
}

/* reqbody_begin - proxy_request_buffering off: whether this request's body
 * is streamed, and if so its buffer. As nginx, it is not when the body
 * goes chunked to an HTTP/1.0 upstream (it is read whole to learn its
 * length), under proxy_set_body (read whole and not sent, as nginx) or
 * when it all came with the head (it is then sent as a buffered one, and
 * may be resent to the next upstream).
 * -ENOMEM, 0 (read whole first) or 1 (streamed). */
int reqbody_begin(struct conn *c)
{
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	struct rbody *rb;

	if (l->proxy_request_buffering || l->proxy_set_body || l->body_in_file != BODY_FILE_OFF ||
	    (r->body_kind == BODY_CHUNKED && l->proxy_http_version != 11 &&
	     !(r->pp && r->pp->grpc)) ||
	    /* FastCGI, uwsgi and SCGI need CONTENT_LENGTH: a chunked body is
	     * read whole (nginx) */
	    (r->body_kind == BODY_CHUNKED && r->pp &&
	     (r->pp->fastcgi || r->pp->uwsgi || r->pp->scgi)))
		return 0;
	if (preread_whole(c)) {
		r->body_preread = true;
		return 0;
	}
	rb = pool_zalloc(&c->pool, sizeof(*rb));
	if (!rb)
		return -ENOMEM;
	rb->cap = (size_t)LBD_MAX(l->client_body_buffer_size, RB_MIN);
	rb->buf = pool_alloc(&c->pool, rb->cap);
	if (!rb->buf)
		return -ENOMEM;
	/* grpc_pass: DATA frames carry the bytes, no chunks (grpc.c) */
	rb->chunked = r->body_kind == BODY_CHUNKED && !(r->pp && r->pp->grpc);
	r->rbody = rb;
	return 1;
}

size_t reqbody_unsent(const struct conn *c, struct iovec *iov)
{
	const struct rbody *rb = c->req.rbody;

	if (!rb || rb->off == rb->len)
		return 0;
	if (iov)
		*iov = (struct iovec){rb->buf + rb->off, rb->len - rb->off};
	return rb->len - rb->off;
}

void reqbody_sent(struct conn *c, size_t n)
{
	struct rbody *rb = c->req.rbody;

	rb->off += n;
	if (rb->off == rb->len)
		rb->off = rb->len = 0;
}

int reqbody_read_whole(struct conn *c)
{
	struct http_req *r = &c->req;
	int rc = REQBODY_AGAIN;
	char *tmp;

	if (c->in.end > c->in.start && !r->body_done) {
		long n = reqbody_feed(c, c->in.data + c->in.start, c->in.end - c->in.start);

		if (n < 0)
			return (int)n;
		c->in.start += (size_t)n;
		r->request_length += (uint64_t)n;
	}
	if (r->body_done)
		return REQBODY_WHOLE;
	if (r->expect_continue && http_send_continue(c))
		return REQBODY_CLOSE;
	tmp = worker_relay_get(c->w);
	if (!tmp)
		return -500;
	while (c->readable && !r->body_done) {
		ssize_t n = conn_recv(c, tmp, RELAY_BUF_SIZE);
		long used;

		if (n == 0) {
			rc = REQBODY_GONE;
			break;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->readable = false;
				break;
			}
			/* a reset: as a FIN for nginx, 400 logged */
			r->body_errno = errno;
			rc = REQBODY_GONE;
			break;
		}
		if ((size_t)n < RELAY_BUF_SIZE && !c->peer_hup)
			c->readable = false; /* drained (as above) */
		used = reqbody_feed(c, tmp, (size_t)n);
		if (used < 0) {
			rc = (int)used;
			break;
		}
		r->request_length += (uint64_t)used;
		if ((size_t)used < (size_t)n &&
		    reqbody_keep_rest(c, tmp + used, (size_t)n - (size_t)used)) {
			rc = REQBODY_CLOSE;
			break;
		}
	}
	worker_relay_put(c->w, tmp);
	if (rc == REQBODY_AGAIN && r->body_done)
		rc = REQBODY_WHOLE;
	return rc;
}

void reqbody_log_gone(const struct conn *c, const char *upstream, const char *action)
{
	const char *w = action ? " while " : "";
	int e = c->req.body_errno;

	if (c->h2s || (e && c->tls))
		return; /* a stream's reset has its own line (h2.c); nginx names
			 * a TLS read's failure its own way (not yet) */
	if (e)
		http_log(c, upstream, LOG_INFO, "recv() failed (%d: %s)%s%s", e, strerror(e), w,
			 action ? action : "");
	else
		http_log(c, upstream, LOG_INFO, "client prematurely closed connection%s%s", w,
			 action ? action : "");
}

void reqbody_end(struct conn *c)
{
	struct http_req *r = &c->req;

	if (r->body_file && r->body_file_clean)
		unlink(r->body_file);
	r->body_file = NULL;
}
