/* SPDX-License-Identifier: MIT */
/*
 * TLS through OpenSSL 3: building one server context per configuration
 * level from its ssl_* settings (certificates, protocols, ciphers, session
 * cache and tickets, DH parameters, curves), and the TLS session of one
 * client connection (non-blocking handshake, SNI, reads and writes with
 * the recv(2)/writev(2)/sendfile(2) contracts the HTTP code already
 * follows). Knows nothing of HTTP: the server block an SNI name selects is
 * asked of the caller through a callback.
 */
#ifndef LBD_TLS_H
#define LBD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "tls-t.h"

struct tls_conn;

/* tls_sni_fn - the settings of the server block named NAME (LEN bytes,
 * lowercased) on the connection's listening address, or NULL to keep the
 * default server's. ARG is what tls_conn_new was given. */
typedef const struct tls_conf *(*tls_sni_fn)(void *arg, const char *name, size_t len);

/* tls_eval_fn - evaluate VAL, a compiled value of the configuration
 * (tls_conf.cert_vals: struct cval * in http, struct stream_val * in
 * stream), for the connection ARG: *P, *LEN valid until the handshake
 * step returns. 0, or -1 (out of memory). */
typedef int (*tls_eval_fn)(void *arg, const void *val, const char **p, size_t *len);

/* tls_ctx_build - build t->ctx from the merged settings T: every
 * certificate/key pair (several key types share the one context), the
 * protocols, ciphers, session cache, tickets, DH parameters, curves and
 * trusted certificates. On failure returns -EINVAL (-ENOMEM) and writes
 * nginx's message, with the OpenSSL errors in "(SSL: ...)" and " in
 * FILE:LINE" of the directive at fault, to ERR; t->ctx stays NULL. */
int tls_ctx_build(struct tls_conf *t, char *err, size_t errlen);

/* tls_ctx_build_client - t->ctx as a client (upstream) context from T:
 * protocols, ciphers, verify_client (TLS_VERIFY_ON: verify, the result
 * read after the handshake), verify_depth, trusted, crl, and certs[0] /
 * keys[0] (with password_file) when ncerts is 1. 0, or -EINVAL with
 * nginx's message and " in FILE:LINE" in ERR. */
int tls_ctx_build_client(struct tls_conf *t, char *err, size_t errlen);

/* tls_ctx_share - DST serves with SRC's built context (one more ref). */
/* tls_load_crl - CRLs from FILE (PEM) into the SSL_CTX CTX's store,
 * checked for the whole chain (ssl_crl, proxy_ssl_crl). False on a bad
 * file (OpenSSL's error left queued). */
bool tls_load_crl(void *ctx, const char *file);
void tls_ctx_share(struct tls_conf *dst, const struct tls_conf *src);

/* tls_ctx_release - drop t->ctx (connections still using it hold their
 * own references). Safe on an unbuilt conf. */
void tls_ctx_release(struct tls_conf *t);

/* tls_parse_protocol - the enum tls_proto bit of NAME as ssl_protocols
 * spells it (case-insensitive), or 0 when unknown. */
int tls_parse_protocol(const char *name);

/* tls_looks_like_handshake - whether FIRST, the first byte a client sent,
 * starts a TLS (or SSLv2-style) ClientHello rather than plain HTTP. */
static inline bool tls_looks_like_handshake(unsigned char first)
{
	return first == 0x16 || (first & 0x80);
}

/* tls_conn_new - a server-side TLS session on socket FD with T's context
 * (the listening address's default server); SNI asks SNI(ARG, name).
 * CLIENT (copied) names the peer in log lines. NULL when out of memory.
 * The caller owns the result. */
struct tls_conn *tls_conn_new(const struct tls_conf *t, int fd, tls_sni_fn sni, void *arg,
			      const char *client);

/* tls_conn_new_client - a client-side TLS session on connected socket FD
 * with context CTX (an SSL_CTX *), for an upstream. Quiet: tls_handshake
 * returns TLS_HS_FAILED without logging, leaving errno and OpenSSL's
 * error queue to the caller (which must empty it); read and write errors
 * are not logged either. NULL when out of memory. */
struct tls_conn *tls_conn_new_client(void *ctx, int fd);

/* tls_conn_set_eval - how T's handshake evaluates certificates chosen by
 * variables (ssl_certificate with $...): FN(ARG, value). Without it such
 * a handshake fails. */
void tls_conn_set_eval(struct tls_conn *t, tls_eval_fn fn, void *arg);

/* tls_conn_use_pair - the client certificate of upstream session T
 * chosen by variables (proxy_ssl_certificate with $... or data:): CVAL
 * (NULL: CTEXT as written) and KVAL / KTEXT evaluated by FN(ARG), relative
 * paths under PREFIX, encrypted keys opened with the passwords its
 * context kept. An empty certificate sends none (nginx). Before the
 * handshake. 0, or <0 with nginx's message ("cannot load certificate
 * ...") in ERR. */
int tls_conn_use_pair(struct tls_conn *t, tls_eval_fn fn, void *arg, const void *cval,
		      const char *ctext, const void *kval, const char *ktext, const char *prefix,
		      char *err, size_t errlen);

/* tls_conn_offer_h2 - whether ALPN may select h2 on this session (the
 * listening address serves HTTP/2); http/1.1 is always offered.
 * tls_conn_is_h2 - after the handshake: the client and ALPN chose h2. */
void tls_conn_offer_h2(struct tls_conn *t, bool on);
bool tls_conn_is_h2(const struct tls_conn *t);

/* tls_conn_free - end the session: a close_notify is sent (best effort,
 * never blocking) when the handshake completed and no error was seen.
 * Does not close the socket. NULL is a no-op. */
void tls_conn_free(struct tls_conn *t);

/* tls_conn_shutdown - send the close_notify now (once, best effort): before
 * a half-close, so the client sees a clean end of the TLS stream. */
void tls_conn_shutdown(struct tls_conn *t);

/* enum tls_hs - the state of a handshake step. */
enum tls_hs {
	TLS_HS_DONE = 0,   /* established: application data may flow */
	TLS_HS_WANT_READ,  /* call again when the socket is readable */
	TLS_HS_WANT_WRITE, /* call again when the socket is writable */
	TLS_HS_FAILED,	   /* refused or broken: close the connection */
};

/* tls_handshake - advance the handshake. On TLS_HS_FAILED the reason is
 * logged at info level, as nginx does for client errors. */
enum tls_hs tls_handshake(struct tls_conn *t);

/* tls_recv - read decrypted bytes with recv(2)'s contract: >0 bytes, 0 at
 * the peer's close, -1 with errno (EAGAIN when nothing is ready). A count
 * below LEN means the socket is drained (OpenSSL holds nothing more), so
 * edge-triggered callers may wait for the next event. */
ssize_t tls_recv(struct tls_conn *t, void *buf, size_t len);

/* tls_peek - at most LEN bytes without consuming them; recv(2) contract. */
ssize_t tls_peek(struct tls_conn *t, void *buf, size_t len);

/* tls_writev - encrypt and send with writev(2)'s contract: the bytes
 * taken (>0), or -1 with errno (EAGAIN when the socket is full). After
 * EAGAIN or a short count the caller must present the same unsent bytes
 * again first (as with writev); it may append more. */
ssize_t tls_writev(struct tls_conn *t, const struct iovec *iov, int n);

/* tls_sendfile - send up to N bytes of file FD from *OFF, advancing it:
 * sendfile(2)'s contract (0 when the file ended early). The file is read
 * into a buffer and encrypted: this kernel has no kTLS. */
ssize_t tls_sendfile(struct tls_conn *t, int fd, off_t *off, size_t n);

/* For $ssl_protocol, $ssl_cipher and $ssl_server_name: NULL when not
 * established (or no SNI was sent). Valid while the session lives. */
const char *tls_conn_protocol(const struct tls_conn *t);
const char *tls_conn_cipher(const struct tls_conn *t);
const char *tls_conn_server_name(const struct tls_conn *t);

/* tls_conn_in_early - $ssl_early_data: the session took TLS 1.3 early
 * data and its handshake is not complete yet (what is read now may be a
 * replay), as nginx's "1". False for NULL. */
bool tls_conn_in_early(const struct tls_conn *t);

/* tls_conn_error - after a read or write of an upstream session
 * (tls_conn_new_client) failed with EPROTO: nginx's text of it,
 * "SSL_read() failed (SSL: error:...)", and in *LEVEL (if not NULL) the
 * enum log_level nginx logs it at (error when the peer's bytes were bad,
 * crit otherwise). NULL when the session has no such failure. */
const char *tls_conn_error(const struct tls_conn *t, int *level);

/* tls_recv_reset_closes - tls_recv, with a read that failed at the socket
 * (a reset) with no OpenSSL error queued returning 0, the peer's close:
 * what nginx's SSL_read takes it for ("peer shutdown SSL cleanly"). For
 * the legs nginx reads so: upstreams, stream tunnels. */
ssize_t tls_recv_reset_closes(struct tls_conn *t, void *buf, size_t len);

/* tls_conn_peer_closed - the peer's close_notify has been read (perhaps
 * with the last bytes a read returned: the next read returns 0). */
bool tls_conn_peer_closed(const struct tls_conn *t);

/* tls_conn_log_ctx - how a client session's own log lines name it, as
 * nginx's before a request: "*NUMBER MSG while ACTION, client: A, server:
 * SERVER" (SERVER: the listening address's text, copied). */
void tls_conn_log_ctx(struct tls_conn *t, unsigned long long number, const char *server);

/* tls_log_fn - logs MSG ("SSL_read() failed (SSL: ...)") at LEVEL (an
 * enum log_level: info when the client's bytes were bad, crit otherwise,
 * as nginx) with the owner's context. */
typedef void (*tls_log_fn)(void *arg, int level, const char *msg);

/* tls_conn_set_log - client session T's failed reads and writes after
 * the handshake go to FN(ARG, ...) instead of tls.c's own line. */
void tls_conn_set_log(struct tls_conn *t, tls_log_fn fn, void *arg);

/* struct tls_early_stats - TLS 1.3 0-RTT since start, all threads. */
struct tls_early_stats {
	uint64_t accepted; /* handshakes whose early data was taken */
	uint64_t rejected; /* handshakes whose early data was skipped (ssl_early_data
			    * off, a ticket used before with a session cache) */
	uint64_t requests; /* requests begun while in early data ($ssl_early_data 1) */
};

/* tls_early_stats - the counters summed over the threads' own slots (a
 * relaxed snapshot, for `lbctl stats` and lbd_metrics). */
void tls_early_stats(struct tls_early_stats *out);

/* tls_note_request - a request begins on T (not NULL): counted when it
 * came as early data. Touches only this thread's counters. */
void tls_note_request(const struct tls_conn *t);

/* tls_conn_ssl - the session's SSL * (for tls_client.c).
 * tls_conn_client - the peer's address text given to tls_conn_new. */
void *tls_conn_ssl(const struct tls_conn *t);
const char *tls_conn_client(const struct tls_conn *t);

/* tls_conn_session_ctx - the context the session started with (the
 * default server's): OpenSSL keeps its session cache and ticket keys for
 * the whole handshake, whatever SNI selects. */
void *tls_conn_session_ctx(const struct tls_conn *t);

#endif
