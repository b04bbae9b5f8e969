/* SPDX-License-Identifier: MIT */
/*
 * Response buffering, as nginx's `proxy_buffering on`: when the client
 * would block, the relay (proxy.c) hands the bytes it could not send here
 * instead of stopping to read the upstream. They go to a ring of
 * proxy_buffers NUM*SIZE bytes and, once that is full, to a temp file in
 * proxy_temp_path of at most proxy_max_temp_file_size bytes (0: none);
 * only when both are full does the relay stop reading (backpressure, as
 * with buffering off). When the upstream response is complete the relay
 * releases the upstream connection (to the keep-alive pool) and this
 * module sends the rest as the client drains, then ends the request.
 *
 * Order: the ring's bytes always come before the file's. A byte goes to
 * the ring only while the file holds nothing unsent; the sender empties
 * the ring, then sends the file with sendfile(2) (TLS and HTTP/2 streams
 * through their own sendfile, as static files). As in nginx, the file only
 * grows, up to proxy_max_temp_file_size for the whole response: it is
 * never rewritten (pages given to sendfile(2) may still sit in a socket
 * queue); past that, the ring alone buffers.
 *
 * The proxy_buffers memory is split as nginx uses it when a temp file may
 * be written: proxy_busy_buffers_size bytes (the ring) wait for the
 * client, the rest stages bytes for the file, written
 * proxy_temp_file_write_size bytes at a time (nginx writes its full
 * buffers to the file in such batches while the busy ones are sent). So
 * the order is ring, file, stage: a staged byte is sent from memory when
 * the file has nothing unsent before it, else written once the stage is
 * full. Without a temp file (proxy_max_temp_file_size 0) all of the memory
 * is ring, as all of nginx's buffers then wait for the client.
 *
 * Owns struct pbuf (request pool) and its temp file (O_TMPFILE: never has
 * a name, so nothing is left behind whatever happens; nginx unlinks its
 * file right after creating it). The ring and the stage come from the
 * request pool on first use: a response whose client keeps up allocates
 * nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h2.h"
#include "http.h"
#include "log.h"
#include "tmpdir.h"
#include "pbuf.h"
#include "tls.h"
#include "worker.h"

/* struct pbuf - the buffered part of one response. */
struct pbuf {
	char *mem;	   /* ring storage (request pool), NULL until first use */
	size_t cap;	   /* ring size: proxy_buffers NUM*SIZE */
	size_t head;	   /* offset of the oldest buffered byte in mem */
	size_t len;	   /* bytes in the ring */
	int fd;		   /* temp file, -1 until the ring first overflows */
	off_t frd, fwr;	   /* file bytes [frd, fwr) are buffered (after the ring's) */
	off_t fmax;	   /* proxy_max_temp_file_size: fwr never passes it */
	bool no_file;	   /* the temp file failed (logged once): memory only */
	char *stage;	   /* bytes after the file's, not written yet (pool) */
	size_t scap;	   /* stage size: one temp file write; 0: write as bytes come */
	size_t soff, slen; /* stage bytes [soff, slen) are buffered */
};

bool pbuf_wanted(const struct conn *c, const struct h1_header *h, size_t n)
{
	bool on = c->req.loc->proxy_buffering;

	/* nginx honours the upstream's X-Accel-Buffering yes|no */
	for (size_t i = 0; i < n; i++) {
		if (!H1_IS(h[i].name, "x-accel-buffering"))
			continue;
		if (h1_str_ieq(h[i].value, "yes"))
			on = true;
		else if (h1_str_ieq(h[i].value, "no"))
			on = false;
	}
	return on;
}

int pbuf_begin(struct conn *c)
{
	const struct cfg_loc *l = c->req.loc;
	struct pbuf *b = pool_zalloc(&c->pool, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->cap = (size_t)l->proxy_buffers_num * (size_t)l->proxy_buffers_size;
	b->fd = -1;
	b->fmax = (off_t)l->proxy_max_temp_file_size;
	if (b->fmax > 0 && l->proxy_busy_buffers_size > 0 &&
	    (size_t)l->proxy_busy_buffers_size < b->cap) {
		b->scap = b->cap - (size_t)l->proxy_busy_buffers_size;
		b->cap = (size_t)l->proxy_busy_buffers_size;
		if (l->proxy_temp_file_write_size > 0)
			b->scap = LBD_MIN(b->scap, (size_t)l->proxy_temp_file_write_size);
	}
	c->req.pb = b;
	return 0;
}

void pbuf_free(struct conn *c)
{
	struct pbuf *b = c->req.pb;

	if (b && b->fd >= 0) {
		close(b->fd);
		b->fd = -1;
	}
	c->req.pb = NULL;
}

/* ring_put - copy what fits of P[0..n) to the ring's tail; bytes taken. */
static size_t ring_put(struct conn *c, struct pbuf *b, const char *p, size_t n)
{
	size_t k, tail, first;

	if (!b->mem) {
		b->mem = pool_alloc(&c->pool, b->cap);
		if (!b->mem)
			return 0;
	}
	k = LBD_MIN(n, b->cap - b->len);
	tail = (b->head + b->len) % b->cap;
	first = LBD_MIN(k, b->cap - tail);
	memcpy(b->mem + tail, p, first);
	memcpy(b->mem, p + first, k - first);
	b->len += k;
	return k;
}

/* temp_open - the temp file, in proxy_temp_path (made when missing, as
 * nginx makes its temp paths). 0, or -1 with the error logged. */
static int temp_open(struct conn *c, struct pbuf *b)
{
	const struct cfg_loc *l = c->req.loc;
	const char *dir = l->proxy_temp_path;
	int fd = tmpdir_open(dir);

	if (fd == -1) {
		http_log(
			c, NULL, LOG_CRIT,
			"open() \"%s\" failed (%d: %s) while reading upstream: buffering in memory only",
			dir, errno, strerror(errno));
		b->no_file = true;
		return -1;
	}
	http_log(
		c, NULL, LOG_WARN,
		"an upstream response is buffered to a temporary file in %s while reading upstream",
		dir);
	b->fd = fd;
	return 0;
}

/* file_write - append P[0..n) to the temp file; bytes written (short
 * only on an error, logged once: memory only from then on). */
static size_t file_write(struct conn *c, struct pbuf *b, const char *p, size_t n)
{
	size_t done = 0;
	ssize_t w;

	if (b->no_file || (b->fd < 0 && temp_open(c, b)))
		return 0;
	while (done < n) {
		do
			w = pwrite(b->fd, p + done, n - done, b->fwr);
		while (w == -1 && errno == EINTR);
		if (w <= 0) {
			http_log(
				c, NULL, LOG_CRIT,
				"pwrite() to a temporary file in \"%s\" failed (%d: %s): buffering in memory only",
				c->req.loc->proxy_temp_path, w ? errno : ENOSPC,
				strerror(w ? errno : ENOSPC));
			b->no_file = true;
			break;
		}
		b->fwr += w;
		done += (size_t)w;
	}
	return done;
}

/* stage_write - the stage is full: write its unsent bytes to the file.
 * 0, or -1 (the bytes stay staged, sent from memory). */
static int stage_write(struct conn *c, struct pbuf *b)
{
	size_t w = file_write(c, b, b->stage + b->soff, b->slen - b->soff);

	b->soff += w;
	if (b->soff < b->slen)
		return -1;
	b->soff = b->slen = 0;
	return 0;
}

/* file_put - append what the file (with the stage before it) may still
 * take of P[0..n); bytes taken. With a stage, writes are of exactly its
 * size: from P when the stage is empty, else from the stage once full. */
static size_t file_put(struct conn *c, struct pbuf *b, const char *p, size_t n)
{
	off_t room = b->fmax - b->fwr - (off_t)(b->slen - b->soff);
	size_t taken = 0;

	if (b->no_file || room <= 0)
		return 0;
	n = (size_t)LBD_MIN((off_t)n, room);
	if (!b->scap)
		return file_write(c, b, p, n);
	if (!b->stage && !(b->stage = pool_alloc(&c->pool, b->scap)))
		return 0;
	while (taken < n) {
		size_t k;

		if (b->soff == b->slen && n - taken >= b->scap) {
			k = file_write(c, b, p + taken, b->scap);
			taken += k;
			if (k < b->scap)
				break;
			continue;
		}
		if (b->soff == b->slen)
			b->soff = b->slen = 0;
		k = LBD_MIN(n - taken, b->scap - b->slen);
		memcpy(b->stage + b->slen, p + taken, k);
		b->slen += k;
		taken += k;
		if (b->slen == b->scap && stage_write(c, b))
			break;
	}
	return taken;
}

size_t pbuf_putv(struct conn *c, const struct iovec *iov, int n)
{
	struct pbuf *b = c->req.pb;
	size_t total = 0;

	for (int i = 0; b && i < n; i++) {
		const char *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;

		while (len) {
			size_t k = 0;

			if (b->frd == b->fwr && b->soff == b->slen) /* nothing after the ring */
				k = ring_put(c, b, p, len);
			if (!k && b->mem)
				k = file_put(c, b, p, len);
			if (!k)
				return total;
			p += k;
			len -= k;
			total += k;
		}
	}
	return total;
}

/* uncount - the client is gone: the relay counted the buffered bytes as
 * sent ($bytes_sent, $body_bytes_sent), take back those that were not. The
 * head goes out first, so what is left is body (chunk framing aside). */
static int uncount(struct conn *c, struct pbuf *b)
{
	uint64_t left = b->len + (uint64_t)(b->fwr - b->frd) + (b->slen - b->soff);

	c->req.bytes_sent -= LBD_MIN(left, c->req.bytes_sent);
	c->req.body_bytes_sent -= LBD_MIN(left, c->req.body_bytes_sent);
	b->len = 0;
	b->frd = b->fwr;
	b->soff = b->slen = 0;
	return -1;
}

/* file_send - send from the temp file (the ring is empty): the bytes
 * [frd, fwr) with sendfile(2), through TLS or an HTTP/2 stream as
 * http_flush() sends a static file. Bytes sent, or -1 with errno. */
static ssize_t file_send(struct conn *c, struct pbuf *b)
{
	size_t n = (size_t)LBD_MIN(b->fwr - b->frd, (off_t)(1 << 20));
	ssize_t w;

	do
		w = http_sendfile(c, b->fd, &b->frd, n);
	while (w == -1 && errno == EINTR);
	if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		c->writable = false;
	if (w == 0) {
		errno = EIO; /* the file shrank under us */
		return -1;
	}
	return w;
}

int pbuf_flush(struct conn *c)
{
	struct pbuf *b = c->req.pb;

	if (!b)
		return 1;
	for (;;) {
		struct iovec iov[2];
		int n = 0;
		ssize_t w;

		if (!b->len && b->frd < b->fwr) {
			if (file_send(c, b) == -1)
				return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : uncount(c, b);
			continue;
		}
		if (!b->len && b->soff < b->slen) { /* staged: straight from memory */
			iov[0] = (struct iovec){b->stage + b->soff, b->slen - b->soff};
			w = http_writev(c, iov, 1);
			if (w == -1)
				return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : uncount(c, b);
			b->soff += (size_t)w;
			if (b->soff == b->slen)
				b->soff = b->slen = 0;
			continue;
		}
		if (!b->len) {
			/* All sent. The file does not start over: sendfile(2)
			 * pages may still wait in socket queues, and rewriting
			 * them would change bytes not yet delivered. */
			b->head = 0;
			return 1;
		}
		iov[n++] = (struct iovec){b->mem + b->head, LBD_MIN(b->len, b->cap - b->head)};
		if (iov[0].iov_len < b->len)
			iov[n++] = (struct iovec){b->mem, b->len - iov[0].iov_len};
		w = http_writev(c, iov, n);
		if (w == -1)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : uncount(c, b);
		b->head = (b->head + (size_t)w) % b->cap;
		b->len -= (size_t)w;
	}
}

void pbuf_finish(struct conn *c)
{
	int rc = pbuf_flush(c);

	if (rc == 0) {
		conn_arm_timer(c, c->req.loc->send_timeout);
		return;
	}
	ev_timer_stop(&c->w->loop, &c->timer);
	if (rc < 0)
		c->close_after = true;
	http_response_done(c);
}
