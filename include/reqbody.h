/* SPDX-License-Identifier: MIT */
/*
 * Request bodies for the proxy: read whole and spooled before the upstream
 * is contacted (proxy_request_buffering on), or streamed to it as they
 * arrive (off). See reqbody.c.
 */
#ifndef LBD_REQBODY_H
#define LBD_REQBODY_H

#include <stddef.h>
#include <sys/uio.h>

struct conn;

#define REQBODY_GONE  (-1) /* the client closed or failed mid-body (body_errno) */
#define REQBODY_CLOSE (-2) /* reqbody_read_whole: a failure of ours, close */
#define REQBODY_AGAIN 0	   /* reqbody_read_whole: more to come */
#define REQBODY_WHOLE 1	   /* reqbody_read_whole: the body is read */

/* reqbody_feed - consume body bytes from DATA[0..len): decode (chunked),
 * check client_max_body_size, store (memory, spool file, or the stream
 * buffer). Returns the bytes used (less than LEN once the body is
 * complete: the rest is the next request), or a negative HTTP status
 * (400 bad framing, 413, 500). */
long reqbody_feed(struct conn *c, const char *data, size_t len);

/* reqbody_read_whole - read C's body whole (memory, then the spool file)
 * as far as the client has sent it: the bytes behind the head, a
 * "100 Continue" when asked, then the socket until it would block.
 * REQBODY_WHOLE, REQBODY_AGAIN (wait: client_body_timeout), REQBODY_GONE
 * (the client closed or reset mid-body: nginx logs 400), REQBODY_CLOSE, or a
 * negative HTTP status to answer (400 bad framing, 413, 500). */
int reqbody_read_whole(struct conn *c);

/* reqbody_log_gone - nginx's info line for C's client gone mid-body
 * (REQBODY_GONE): "client prematurely closed connection" at its FIN,
 * "recv() failed (E: ...)" at an error, with " while ACTION" and
 * UPSTREAM's URL when given (a streamed body: the upstream was reached),
 * else bare (a body read whole first: nginx has no action then). */
void reqbody_log_gone(const struct conn *c, const char *upstream, const char *action);

/* reqbody_keep_rest - bytes read past the body (pipelining) go back to the
 * connection input for the next request. 0, or -ENOMEM. */
int reqbody_keep_rest(struct conn *c, const char *p, size_t n);

/* reqbody_begin - for proxy_request_buffering off: whether C's body is
 * streamed, and if so its buffer (request pool). As nginx, it is not when
 * it would go chunked to an HTTP/1.0 upstream or came whole with the head.
 * -ENOMEM, 0 (read whole first) or 1 (streamed: c->req.rbody is set). */
int reqbody_begin(struct conn *c);

/* reqbody_read - read C's body into the stream buffer while it has room:
 * the bytes that came with the head first, then the socket. 0 (full, no
 * more for now, or the body is all read: the last chunk is framed),
 * REQBODY_GONE, or a negative HTTP status (400, 413, 500). */
int reqbody_read(struct conn *c);

/* reqbody_unsent - the streamed bytes not yet written upstream: IOV (may
 * be NULL) gets them; returns their count (0 when C does not stream). */
size_t reqbody_unsent(const struct conn *c, struct iovec *iov);

/* reqbody_sent - N of the unsent bytes were written upstream. */
void reqbody_sent(struct conn *c, size_t n);

/* reqbody_end - the request ends: a client_body_in_file_only clean file
 * is removed (an `on` one stays, as nginx's). */
void reqbody_end(struct conn *c);

#endif
