/* SPDX-License-Identifier: MIT */
/*
 * TLS in stream {} sessions (nginx 1.22's ngx_stream_ssl_module and the
 * stream proxy's proxy_ssl*): the server-side session of a `listen ...
 * ssl` client (handshake, then nginx's client certificate verdict), the
 * client-side session to an upstream with `proxy_ssl on` (SNI, resumption
 * per upstream server and verification through upssl.c), and the
 * $ssl_* stream variables. stream.c drives both from its event callbacks;
 * once established, the bytes go through tunnel.c's copy path (a TLS leg
 * is never spliced: no kTLS here, and sockmap cannot carry it).
 */
#ifndef LBD_STREAM_SSL_H
#define LBD_STREAM_SSL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lbd.h"
#include "tls.h"

struct stream_srv;
struct ups_server;

/* stream_ssl_accept - a server TLS session on client socket FD with SRV's
 * context; CLIENT (copied) names the peer in log lines. NULL when out of
 * memory. The caller owns the result (tls_conn_free). */
struct tls_conn *stream_ssl_accept(const struct stream_srv *srv, int fd, const char *client);

/* stream_ssl_handshake - advance T's handshake; once done, nginx's
 * ssl_verify_client verdict (a bad or missing certificate fails it,
 * logged at info as nginx with NUM, CLIENT and SERVER). */
enum tls_hs stream_ssl_handshake(const struct stream_srv *srv, struct tls_conn *t, uint64_t num,
				 const char *client, const char *server);

/* stream_ssl_ctx_setup - on SRV's built server context: ALPN as nginx's
 * stream module answers it, the first of ssl_alpn's protocols the client
 * offers (none in common: a fatal alert), or no answer without ssl_alpn
 * (tls.c's http/1.1 choice is the http servers'). */
void stream_ssl_ctx_setup(struct stream_srv *srv);

/* stream_ssl_connect - the client TLS session on upstream socket FD to US
 * by SRV's proxy_ssl_* settings: SNI NAME (with proxy_ssl_server_name
 * on), US's session resumed (proxy_ssl_session_reuse on). NULL when out
 * of memory. */
struct tls_conn *stream_ssl_connect(const struct stream_srv *srv, int fd, struct ups_server *us,
				    const char *name);

/* stream_ssl_up_handshake - advance T; with proxy_ssl_verify on, the chain
 * and NAME are checked once it is done. On TLS_HS_FAILED, ERR holds
 * nginx's message (without its " while ..." context). */
enum tls_hs stream_ssl_up_handshake(const struct stream_srv *srv, struct tls_conn *t,
				    const char *name, char *err, size_t errlen);

/* stream_ssl_host - NAME (LEN bytes) without its ":port" (an [IPv6]
 * address keeps its brackets), NUL-terminated into OUT (CAP bytes, cut). */
void stream_ssl_host(const char *name, size_t len, char *out, size_t cap);

/* Which $ssl_* variable (stream_ssl_var). */
enum stream_ssl_var {
	STREAM_SSL_PROTOCOL = 0,   /* TLSv1.3 */
	STREAM_SSL_CIPHER,	   /* TLS_AES_256_GCM_SHA384 */
	STREAM_SSL_SERVER_NAME,	   /* the client's SNI */
	STREAM_SSL_SESSION_REUSED, /* "r" resumed, "." not */
	STREAM_SSL_ALPN_PROTOCOL,  /* the protocol ALPN selected (ssl_alpn) */
};

/* stream_ssl_var - variable WHICH of client session T (NULL: a plain
 * session) into OUT; false when not found (logged as "-"), as nginx. */
bool stream_ssl_var(const struct tls_conn *t, enum stream_ssl_var which, struct lstr *out);

#endif
