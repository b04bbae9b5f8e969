/* SPDX-License-Identifier: MIT */
/*
 * HTTPS upstreams (proxy_pass https://...): the client TLS session of one
 * upstream connection, made after its TCP connect and driven on the
 * worker's event loop (non-blocking handshake, SNI from proxy_ssl_name,
 * session resumption per upstream server, certificate and host name
 * verification after the handshake, as nginx does), and the three I/O
 * calls proxy.c makes on an upstream socket, which stay the plain
 * syscalls for http:// upstreams (one predicted branch).
 */
#ifndef LBD_UPSSL_H
#define LBD_UPSSL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "tls.h"
#include "upssl-t.h"

struct conn;
struct cfg_loc;
struct ups_server;

/* up_io_recv - recv(2) on upstream socket FD, through TLS when TLS is set
 * (tls_recv's contract: a short count means drained). */
static inline ssize_t up_io_recv(int fd, struct tls_conn *tls, void *buf, size_t len)
{
	if (__builtin_expect(tls != NULL, 0))
		return tls_recv_reset_closes(tls, buf, len); /* a reset: its close */
	return recv(fd, buf, len, 0);
}

/* up_io_writev - writev(2) on FD, or tls_writev (the same unsent bytes
 * must be presented again after EAGAIN, as the callers already do). */
static inline ssize_t up_io_writev(int fd, struct tls_conn *tls, const struct iovec *iov, int n)
{
	if (__builtin_expect(tls != NULL, 0))
		return tls_writev(tls, iov, n);
	return writev(fd, iov, n);
}

/* up_io_sendfile - sendfile(2) of IN from *OFF to FD, or through TLS. */
static inline ssize_t up_io_sendfile(int fd, struct tls_conn *tls, int in, off_t *off, size_t n)
{
	if (__builtin_expect(tls != NULL, 0))
		return tls_sendfile(tls, in, off, n);
	return sendfile(fd, in, off, n);
}

/* upssl_start - the TLS session of request C's new connection FD to
 * server SRV, by location L's proxy_ssl_* settings: SNI (when
 * proxy_ssl_server_name on and the name is not an address), the server's
 * last session to resume (proxy_ssl_session_reuse on; not with a
 * certificate chosen by variables), that certificate (evaluated for C).
 * NULL when out of memory or the certificate failed (upssl_start_error). The caller owns the result (tls_conn_free). */
struct tls_conn *upssl_start(struct conn *c, const struct cfg_loc *l, struct ups_server *srv,
			     int fd);

/* upssl_alpn_h2 - offer ALPN "h2" on T (grpcs://), before its handshake.
 * 0 or -ENOMEM. */
int upssl_alpn_h2(struct tls_conn *t);

/* upssl_handshake - advance T's handshake. TLS_HS_DONE once established
 * and, with proxy_ssl_verify on, verified (chain and name); on
 * TLS_HS_FAILED, ERR holds nginx's message for the error log (without
 * its " while ..." context). */
enum tls_hs upssl_handshake(struct tls_conn *t, struct conn *c, const struct cfg_loc *l, char *err,
			    size_t errlen);

/* upssl_start_error - after upssl_start returned NULL: nginx's message
 * when the client certificate chosen by variables could not be loaded
 * ("cannot load certificate ...": the request fails with 500, as
 * nginx), or NULL when it was out of memory. Per thread. */
const char *upssl_start_error(void);

/* upssl_idle_ok - whether T (on socket FD), its response just read, may
 * wait in the keep-alive pool: no close_notify, nothing buffered, nothing
 * (not even an EOF) on the socket. OpenSSL may have swallowed the edge
 * that would tell the idle connection's close, so this looks once. */
bool upssl_idle_ok(struct tls_conn *t, int fd);

/* upssl_client_new - a client TLS session on connected socket FD with
 * context CTX (an SSL_CTX * set up by upssl_ctx_setup), for any proxy
 * (the stream one too): SNI NAME (NULL, empty or an address: none), and
 * SRV's kept session resumed, new ones kept there (SRV NULL: no reuse).
 * NULL when out of memory; the caller owns the result. */
struct tls_conn *upssl_client_new(void *ctx, int fd, const char *sni, struct ups_server *srv);

/* upssl_client_handshake - as upssl_handshake, with CHECK (verify on)
 * checking the chain and then the certificate against NAME (NULL: no
 * name could be made, a mismatch). */
enum tls_hs upssl_client_handshake(struct tls_conn *t, bool check, const char *name, char *err,
				   size_t errlen);

/* upssl_ctx_setup - the session hooks of a new client context CTX
 * (SSL_CTX *): new sessions are kept per upstream server. */
void upssl_ctx_setup(void *ctx);

/* upssl_session_drop - forget SRV's kept session (configuration release). */
void upssl_session_drop(struct ups_server *srv);

#endif
