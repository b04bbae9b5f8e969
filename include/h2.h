/* SPDX-License-Identifier: MIT */
/*
 * HTTP/2 to clients through nghttp2: one server session per client
 * connection, each stream turned into a request connection of its own that
 * the HTTP/1.1 request code (routing, rewrite, limits, proxy, static files,
 * access log) runs unchanged.
 *
 * The seam is the client I/O of struct conn. A stream's request is put
 * straight into its connection's struct http_req (h2.c's map_request():
 * what the HTTP/1 parser would have made of it as HTTP/1.1 text, with the
 * same limits and checks: pseudo-headers to the request line and Host,
 * cookies joined) and run from there (http_stream_request()); the
 * connection (its c->h2s is set) then reads, through conn_recv(), the
 * DATA as a body (chunked when no content-length was sent); what it writes through http_writev() is an HTTP/1.1 response whose
 * head becomes HEADERS and whose body (de-chunked) becomes DATA frames.
 * The request code never learns it is not talking HTTP/1.1 except through
 * $server_protocol and $request, which say HTTP/2.0 as nginx does.
 *
 * Flow control both ways: request DATA is given back to the client's
 * windows only as the request connection reads it (no automatic
 * WINDOW_UPDATE), and a response body is buffered at most H2_TX_MAX per
 * stream: beyond that the writer gets EAGAIN, so the proxy stops reading its
 * upstream until the client's windows let the bytes out.
 */
#ifndef LBD_H2_H
#define LBD_H2_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct conn;
struct h2_conn;
struct h2_stream;

#define H2_PREFACE     "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24

/* h2_preface_match - how buf[0..len) compares with the client preface:
 * 1 it starts with the whole preface, 0 it is a proper prefix of it (wait
 * for more), -1 it is something else (HTTP/1.x). */
int h2_preface_match(const char *buf, size_t len);

/* h2_conn_start - make client connection C an HTTP/2 connection (ALPN
 * chose h2, or the prior-knowledge preface arrived). Bytes already read
 * into c->in are fed to the session. The connection then belongs to
 * h2.c: c->state is CS_H2 until it closes. Returns 0, or -ENOMEM with C
 * closed. */
int h2_conn_start(struct conn *c);

/* h2_conn_run - readiness on an HTTP/2 client connection (c->readable /
 * c->writable set by the event callback). */
void h2_conn_run(struct conn *c);

/* h2_conn_timeout - C's timer fired: idle, header or send timeout. */
void h2_conn_timeout(struct conn *c);

/* h2_conn_shutdown - graceful end (reload, quit): GOAWAY; the connection
 * closes once its streams are done. */
void h2_conn_shutdown(struct conn *c);

/* h2_conn_closed - C is being closed (conn_close): every stream's
 * request connection is closed, the session freed after the event round. */
void h2_conn_closed(struct conn *c);

/* h2_worker_free - at the end of a worker thread, after its connections
 * are freed: the memory kept for its sessions. */
void h2_worker_free(void);

/* Stream request connections: conn_recv/conn_peek (the request body)
 * and http_writev and the file path of http_flush come here when c->h2s
 * is set. Same contracts. */
ssize_t h2_recv(struct conn *c, void *buf, size_t len, bool peek);
ssize_t h2_writev(struct conn *c, const struct iovec *iov, int n);
ssize_t h2_sendfile(struct conn *c, int fd, off_t *off, size_t n);

/* h2_trailers_add - "name: value\r\n" lines (P, LEN) for the trailing
 * HEADERS that end stream connection C's answer (add_trailer), after
 * the trailer section of its chunked body if it had one (grpc_pass).
 * Before h2_stream_done. 0 or -ENOMEM. */
int h2_trailers_add(struct conn *c, const char *p, size_t len);
/* h2_stream_done - the whole response was written: end the stream. */
void h2_stream_done(struct conn *c);

/* h2_stream_closed - the stream's request connection is being closed
 * (conn_close): a response not ended is reset. */
void h2_stream_closed(struct conn *c);

/* h2_stream_can_outlive - whether stream connection C's request may go
 * on without its client (proxy_ignore_client_abort, http_stream_cut()):
 * true unless its HTTP/2 connection is being torn down (conn_close), when
 * every stream's request ends with it. */
bool h2_stream_can_outlive(const struct conn *c);

/* h2_stream_id - the stream id of stream connection C (its log lines
 * name it, as nginx's), 0 when C is no stream. */
int32_t h2_stream_id(const struct conn *c);

/* h2_stream_fd - the client socket under stream connection C (for
 * $tcpinfo_*), or -1 once its session is gone. */
int h2_stream_fd(const struct conn *c);

#endif
