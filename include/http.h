/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 request handling on client connections: reading and checking
 * the request, choosing the server block and location, the rewrite and
 * access phases, special responses and error_page, keep-alive.
 */
#ifndef LBD_HTTP_H
#define LBD_HTTP_H

#include <stdarg.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "http-t.h"
#include "log.h"
#include "worker.h"

/* req_hdrs - request R's header lines (r->h1.nheaders of them): the
 * inline array, or the pool's when there were more. */
static inline struct h1_header *req_hdrs(const struct http_req *r)
{
	return r->h1.headers ? r->h1.headers : (struct h1_header *)r->hdrs;
}

/* http_accept - take FD, accepted on a listener of LG, as a new connection;
 * NODELAY: it has TCP_NODELAY already (from the listening socket). */
void http_accept(struct worker *w, int fd, struct listen_group *lg,
		 const struct sockaddr_storage *peer, socklen_t peerlen, bool nodelay);

/* http_finalize - answer the current request with STATUS: error_page,
 * or nginx's built-in page. Never call twice for one request. */
void http_finalize(struct conn *c, int status);

/* http_log - an error log line about request C as nginx writes one:
 * "*N MESSAGE, client: A, server: S, request: "R"[, upstream: "U"][,
 * host: "H"][, referrer: "F"]" into the location's error_log. UPSTREAM
 * (nginx's "http://PEER/URI") may be NULL. */
void http_log(const struct conn *c, const char *upstream, enum log_level level, const char *fmt,
	      ...) __attribute__((format(printf, 4, 5)));
/* http_vlog - http_log with a va_list; http_log_wanted - whether a line
 * of LEVEL about C would be written (skip building its parts if not). */
void http_vlog(const struct conn *c, const char *upstream, enum log_level level, const char *fmt,
	       va_list ap);
bool http_log_wanted(const struct conn *c, enum log_level level);
/* http_log_ctx - that context alone (from ", client: ") into BUF. */
void http_log_ctx(const struct conn *c, const char *upstream, char *buf, size_t len);

/* http_if_test - whether the condition of an `if` (struct rw_if) holds
 * for the request on C, as nginx tests it; a regex match sets the
 * request's captures; with LOG (rewrite_log), a regex test writes nginx's
 * notice line. 1, 0, or -ENOMEM / -EINVAL (answer 500). */
struct rw_if;
int http_if_test(struct conn *c, const struct rw_if *f, bool log);

/* http_internal_redirect - restart location processing with URI (used by
 * error_page, try_files, rewrite ... last). */
void http_internal_redirect(struct conn *c, struct lstr uri, struct lstr args);
void http_named_location(struct conn *c, struct lstr name);

/* Response head helpers: start a head into c->out. */
int http_head_start(struct conn *c, int status);
/* http_continue_discarded - a content handler that answers without reading
 * the request body (a `return`, a static file) says "100 Continue" first
 * to a client that expects it, as nginx does when it discards a body.
 * False when the connection failed (closed). */
bool http_continue_discarded(struct conn *c);
/* http_send_continue - answer C's Expect: 100-continue now ("HTTP/1.1 100
 * Continue", written at once, before any answer byte): 0, or -1 when the
 * write failed (the caller closes). */
int http_send_continue(struct conn *c);
/* http_body_discardable - the request's unread body can be read and
 * dropped after the answer (the connection kept), as nginx discards one. */
bool http_body_discardable(const struct conn *c);
int http_head_server(struct conn *c, bool tokens);
int http_head_date(struct conn *c);
int http_head_add(struct conn *c, const char *name, size_t nlen, const char *val, size_t vlen);
int http_head_addf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int http_head_finish(struct conn *c, bool add_headers);
/* http_trailers_wanted - whether C's answer (its status set) will end
 * with add_trailer's section: some add_trailer line applies to the
 * status (nginx's add_header statuses, or `always`), the answer has a
 * body (not HEAD, 1xx, 204, 304, nor a subrequest's), and the client
 * is HTTP/2 or HTTP/1.1 with chunked_transfer_encoding on. A writer that
 * would pass an upstream's chunks through re-frames them then, so that
 * the last chunk is lbd's (nginx drops an upstream's trailers). */
bool http_trailers_wanted(const struct conn *c);
/* http_trailers_end - the body of C's answer is all queued: queue the
 * trailer section (values evaluated now: $request_time, $bytes_sent...),
 * once. HTTP/1.1: the last chunk and the fields into c->out, for the
 * writer to send; HTTP/2: the fields for the stream's trailing HEADERS
 * (call before h2_stream_done). 0, or -ENOMEM. No-op without trailers. */
int http_trailers_end(struct conn *c);
/* http_trailers_own_end - C's chunked body must not end with the usual
 * "0\r\n\r\n": http_trailers_end writes its last chunk (gzip, sub_filter,
 * gunzip and proxy's own chunking ask). */
static inline bool http_trailers_own_end(const struct conn *c)
{
	return c->req.trl_mode == HTTP_TRL_FRAMED;
}
/* http_expires_applies - whether http_head_finish(c, true) will add the
 * location's `expires` (Expires, Cache-Control) to C's response: then a
 * proxied or cached response's own two headers are left out, as nginx
 * replaces them. */
bool http_expires_applies(const struct conn *c);
const char *http_status_line(int status);
const char *http_date(void);

/* Output: http_out_* append to c->out; http_flush writes what it can and
 * returns 1 when everything (out + file range) is written, 0 on EAGAIN,
 * negative on error (the connection is then being closed). */
int http_out_append(struct conn *c, const void *p, size_t n);
/* conn_recv, conn_peek - recv(2) (MSG_PEEK) on the client, through its
 * TLS session when it has one; http_writev likewise for writev(2). */
ssize_t conn_recv(struct conn *c, void *buf, size_t len);
ssize_t conn_peek(struct conn *c, void *buf, size_t len);
int http_flush(struct conn *c);
ssize_t http_writev(struct conn *c, struct iovec *iov, int n);
/* http_writev_more - http_writev of bytes that more will follow at once:
 * on a plain TCP client, sendmsg(2) with MSG_MORE, so that the kernel
 * builds full-sized segments across writes where TCP_NODELAY would push
 * each write's tail as a short segment. A caller that stops before the
 * rest follows calls http_push. Otherwise (TLS, HTTP/2, limit_rate) the
 * same as http_writev. */
ssize_t http_writev_more(struct conn *c, struct iovec *iov, int n);
/* http_push - send what MSG_MORE held back (setsockopt TCP_NODELAY, which
 * pushes the pending frames; only used on sockets that have it set). */
void http_push(struct conn *c);
/* http_sendfile - sendfile(2) of N bytes of FD at *OFF to the client
 * (through TLS or an HTTP/2 stream), *OFF advanced; as http_writev, a
 * response under limit_rate may be given fewer bytes or refused (-1,
 * EAGAIN) until its timer makes it writable again. EINTR is the
 * caller's. */
ssize_t http_sendfile(struct conn *c, int fd, off_t *off, size_t n);

/* http_response_done - the response is fully written: log, then keep the
 * connection alive or close it. */
void http_response_done(struct conn *c);

/* http_request_cut - the request ends half-way, its answer's head sent: it
 * is logged as it stands (its status, the bytes sent), then the connection
 * closed (an HTTP/2 stream is reset), as nginx's with a timeout or a
 * failed upstream after the head. */
void http_request_cut(struct conn *c);

/* http_send_response - queue head+body, write, then finish. */
void http_send_body(struct conn *c);

void conn_close(struct conn *c);

/* http_stream_new - the request connection of HTTP/2 stream S on client
 * connection P (see h2.h), ready to read its request head. NULL when out
 * of memory. The event loop owns it as any connection: conn_close(). */
struct conn *http_stream_new(struct conn *p, struct h2_stream *s);
/* http_sub_new - a subrequest's connection for the request on P (authreq.h):
 * no socket, its answer discarded, P's addresses and configuration; the
 * caller fills its request and runs it with http_internal_redirect(). NULL
 * when out of memory. */
struct conn *http_sub_new(struct conn *p);
/* http_sub_release - subrequest C, closed and kept by embed.c (see
 * embed_sub_closed), is freed after the loop's batch. */
void http_sub_release(struct conn *c);

/* http_sock_writev - IOV[0..N) to C's client as they are (socket, TLS or
 * HTTP/2 stream), for embed.c: bytes written, or -1 with errno (EAGAIN:
 * c->writable cleared). No rate limit, no counting. */
ssize_t http_sock_writev(struct conn *c, struct iovec *iov, int n);
/* http_content - the content handler of C's request in its location (after
 * the access phase and mirror's step: mirror.c resumes here). */
void http_content(struct conn *c);
/* http_set_var - `set $NAME VAL` on C's request (NAME: NUL-terminated,
 * lives as long as the configuration). 0 or -ENOMEM. */
int http_set_var(struct conn *c, const char *name, struct lstr val);

/* http_stream_request - the request of an HTTP/2 stream's connection C,
 * mapped by h2.c straight into c->req.h1 (method, target, version 11,
 * headers in c->req.hdrs) as the HTTP/1 parser would have filled it from
 * the request as HTTP/1.1 text, N that text's size (or the negative enum
 * h1_rc the parser would have returned for it), LINE its request line as
 * $request says it ("... HTTP/2.0"). Runs the request as
 * http_process_request() (http_head.c) does after the parse. */
void http_stream_request(struct conn *c, int n, struct lstr line);

/* http_stream_cut - the client ended C's HTTP/2 stream under its request
 * (RST_STREAM, or the end of the whole connection): the request code sees
 * a client gone (a read finds the end, a write fails) and finishes as it
 * does then (499 while it waits on an upstream, the status and the bytes
 * so far while it answers); a request it leaves open is logged here as
 * nginx logs it (499 before the answer's head, else its status), or by
 * conn_close() once its mirrors are cut. C is closed on return, but for
 * a request that goes on without the client (proxy_ignore_client_abort
 * while it waits on its upstream, as nginx's; h2_stream_can_outlive()). */
void http_stream_cut(struct conn *c);

/* http_worker_free - at the end of a worker thread: free the request
 * connections it kept for reuse. */
void http_worker_free(void);
const struct sockaddr_storage *conn_local(struct conn *c);
void conn_arm_timer(struct conn *c, int64_t ms);
void http_conn_run(struct conn *c);

/* http_find_server - the server block for the request's Host on its
 * listening address (exact, leading wildcard, trailing wildcard, regex,
 * then the default server). http_find_location - nginx's location order
 * at LEVEL; *final is set when no regex may override the result. Both
 * record regex captures in c->req.cap. */
struct cfg_srv *http_find_server(struct conn *c);
#define HTTP_LOC_AUTO_REDIRECT ((struct cfg_loc *)1) /* answer 301 to $uri/ */
struct cfg_loc *http_find_location(struct conn *c, struct cfg_loc *level, struct lstr uri,
				   bool *final);

/* http_unsafe_uri - nginx's ngx_http_parse_unsafe_uri on a URI V that a
 * header names (X-Accel-Redirect, WebDAV's Destination): its path
 * percent-decoded into C's pool, the arguments after '?'. False when
 * unsafe: not absolute, a NUL, a bad escape, a ".." segment. */
bool http_unsafe_uri(struct conn *c, struct lstr v, struct lstr *path, struct lstr *args);

/* http_absolute_location - make a Location starting with '/' absolute
 * (nginx's absolute_redirect with port_in_redirect). */
void http_absolute_location(struct conn *c, struct lstr *v);

/* Called from the worker on shutdown/reload. */
void http_close_idle(struct worker *w);

/* http_reclaim - worker_connections are all in use: close up to MAX
 * connections that hold no request (idle keep-alive, or open and silent
 * since accept), oldest first, as nginx reuses connections. Returns how
 * many were closed. */
int http_reclaim(struct worker *w, int max);

/* proxy.c */
void proxy_start(struct conn *c);
/* http_file_read - the next bytes (at most CAP) of C's file body into BUF
 * for a filter (gzip, sub_filter), file_off advanced: their count, or
 * -errno (-EIO: the file shrank). */
ssize_t http_file_read(struct conn *c, char *buf, size_t cap);
/* http_send_pending - body bytes *P (*LEN of them) a filter produced for a
 * file answer, written to C as far as it takes them (counted in
 * $bytes_sent and $body_bytes_sent; *P and *LEN advance). 1 all written,
 * 0 the client is full, or -errno. */
int http_send_pending(struct conn *c, const char **p, size_t *len);
/* http_sent_head - the response head of C's request as sent (or as built
 * so far), for $sent_http_*; {NULL, 0} before one. */
struct lstr http_sent_head(const struct conn *c);
/* proxy_header_value - what an upstream's header NAME (from a proxied
 * answer or a cache hit) goes out with, in *V: proxy_redirect on Location
 * and Refresh, proxy_cookie_* on Set-Cookie; others unchanged. 0 or
 * -ENOMEM. */
int proxy_header_value(struct conn *c, struct h1_str name, struct lstr *v);
/* proxy_request_head - the head proxy_start would send upstream for C's
 * request (C's pool): the cache's background update sends it. 0 or -ENOMEM. */
int proxy_request_head(struct conn *c, struct lstr *out);
/* proxy_upstream_uri - the request target proxy_start sends upstream for
 * C's request (nginx's default proxy_cache_key uses it), from C's pool. */
int proxy_upstream_uri(struct conn *c, struct lstr *out);
/* proxy_log_upstream - the "upstream" of C's error-log lines (nginx's
 * "http://PEER/URI") into BUF (CAP bytes); false when C is not proxied. */
bool proxy_log_upstream(struct conn *c, char *buf, size_t cap);
/* proxy_header_hidden - whether the proxy leaves upstream header NAME out
 * of what the client gets (and the cache stores) in location L. */
bool proxy_header_hidden(const struct cfg_loc *l, struct h1_str name);
void proxy_on_client_event(struct conn *c);
void proxy_client_timeout(struct conn *c);
void proxy_abort(struct conn *c);
void proxy_worker_cleanup(struct worker *w);
void proxy_worker_init(struct worker *w); /* its io_uring send batch */
void proxy_worker_free(struct worker *w);
void proxy_flush(struct ev_loop *loop);

/* static.c */
void static_handle(struct conn *c);
/* static_map_path - the file path for URI in the current location, in
 * the request pool. NULL on a refused alias join or no memory. */
char *static_map_path(struct conn *c, struct lstr uri);
/* struct static_variant - the validators and type of an answer cut from a
 * static file (flv, mp4): nginx's mtime-length ETag of the cut. */
struct static_variant {
	char lm[40];	    /* Last-Modified text */
	char etag[64];	    /* ETag text */
	struct lstr etag_l; /* the ETag, or empty with `etag off` */
	struct lstr ctype;  /* Content-Type, with the charset */
};
/* static_variant_cond - fills V for the LEN-byte answer cut from file PATH
 * (modified at MTIME) and answers a conditional request (412, or 304
 * with the validators): true when answered (the caller closes its file). */
bool static_variant_cond(struct conn *c, const char *path, time_t mtime, int64_t len,
			 struct static_variant *v);
/* static_open - a file PATH of the request's location opened with FLAGS
 * (or stat(2)ed) under its disable_symlinks: fd (0), or -1 with errno
 * (ELOOP: a symbolic link it refuses, nginx's 403). */
int static_open(struct conn *c, const char *path, int flags);
int static_stat(struct conn *c, const char *path, struct stat *st);
int static_try_files(struct conn *c);
/* static_request_filename - $request_filename: the current URI mapped
 * through the location's root or alias (a pool string), or VAR_NOT_FOUND. */
int static_request_filename(struct conn *c, struct lstr *out);
const char *static_mime_type(const struct cfg_loc *l, struct lstr path);

#endif
