/* SPDX-License-Identifier: MIT */
/*
 * gRPC upstreams (grpc_pass): an HTTP/2 client session (nghttp2) on one
 * upstream socket, carrying one request. It stands between proxy.c and the
 * socket as the TLS layer does: the proxy offers body bytes and reads an
 * HTTP/1.1 answer made from the upstream's frames (see grpc.c), both at
 * once when it likes (bidirectional streaming).
 */
#ifndef LBD_GRPC_H
#define LBD_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct grpc_up;
struct tls_conn;

/* struct grpc_field - one request field for grpc_up_new: name (lowercase)
 * and value, views that need to live only through that call. */
struct grpc_field {
	const char *name;
	size_t namelen;
	const char *value;
	size_t valuelen;
};

/* grpc_up_new - a session whose first bytes (preface, SETTINGS, the
 * request's HEADERS of fields F[0..N), pseudo-fields first) are ready to
 * go. BODY: DATA follows (offered by grpc_up_send), else the HEADERS end
 * the stream. NULL when out of memory. The caller owns the result. */
struct grpc_up *grpc_up_new(const struct grpc_field *f, size_t n, bool body);

/* grpc_up_reusable - whether G, its exchange complete, may carry another
 * request (upstream keepalive): nothing pending, no error, no GOAWAY. */
bool grpc_up_reusable(const struct grpc_up *g);

/* grpc_up_next - the next request (as grpc_up_new's) on reusable G: its
 * HEADERS ready to go on the next stream. 0 or -ENOMEM. */
int grpc_up_next(struct grpc_up *g, const struct grpc_field *f, size_t n, bool body);

/* grpc_up_free - the session and its buffers. NULL is fine. */
void grpc_up_free(struct grpc_up *g);

/* grpc_up_send - offer body bytes P[0..N) (EOF: none follow them) and write
 * what the session has to socket FD (through TLS, when not NULL: grpcs://). Returns the body bytes taken (they
 * are in frames, sent or pending); *BLOCKED is set when FD would block. A
 * return of 0 without *BLOCKED means the upstream's windows are shut: wait
 * until FD is readable. -EPIPE etc. on a socket error, -EPROTO on a
 * session one (grpc_up_error). */
long grpc_up_send(struct grpc_up *g, int fd, struct tls_conn *tls, const char *p, size_t n,
		  bool eof, bool *blocked);

/* grpc_up_sent - the request's END_STREAM is written to the socket. */
bool grpc_up_sent(const struct grpc_up *g);

/* grpc_up_cancel - G's stream is abandoned half-way (the client reset its
 * own, or went away): RST_STREAM CANCEL is written to FD as far as it
 * takes it, as nginx's grpc module does, so that the server sees the call
 * cancelled. Nothing when the exchange is over either way. */
void grpc_up_cancel(struct grpc_up *g, int fd, struct tls_conn *tls);

/* grpc_up_recv - recv(2) of the answer as HTTP/1.1 bytes: the head (status
 * line and fields), then the body chunk-encoded with the upstream's
 * trailers in the last chunk (a HEADERS that ends the stream: the head
 * with Content-Length: 0). Reads FD as it needs to and writes what the
 * session owes (SETTINGS ACK, WINDOW_UPDATE, PING ACK). A count short of
 * LEN means FD is drained, as tls_recv's; 0 once the answer is all read
 * or FD closed before (grpc_up_done tells); -1 with errno set, EPROTO when
 * the upstream reset the stream or broke the protocol (grpc_up_error). */
ssize_t grpc_up_recv(struct grpc_up *g, int fd, struct tls_conn *tls, char *buf, size_t len);

/* grpc_up_bytes - the bytes G read from and wrote to its socket for the
 * current request (frames: nginx's $upstream_bytes_received and _sent). */
void grpc_up_bytes(const struct grpc_up *g, uint64_t *rx, uint64_t *tx);

/* grpc_up_done - the answer's END_STREAM was received. */
bool grpc_up_done(const struct grpc_up *g);

/* grpc_up_error - what went wrong, as nginx's log says it, or NULL. */
const char *grpc_up_error(const struct grpc_up *g);

#endif
