/* SPDX-License-Identifier: MIT */
/*
 * The TLS session variables nginx's ssl module has beyond $ssl_protocol,
 * $ssl_cipher, $ssl_server_name and the $ssl_client_* of tls_client.h:
 * the session's reuse and id, what the client offered (ciphers, curves),
 * and the client certificate itself (PEM, escaped, validity).
 */
#ifndef LBD_TLS_VARS_H
#define LBD_TLS_VARS_H

struct tls_conn;
struct pool;

/* enum tls_var - the variables, nginx's formats. */
enum tls_var {
	TLS_V_SESSION_REUSED,	   /* "r" or "." */
	TLS_V_SESSION_ID,	   /* hex */
	TLS_V_CIPHERS,		   /* the client's, "NAME:NAME:0x00ff" */
	TLS_V_CURVES,		   /* the client's, "X25519:prime256v1:0x001d" */
	TLS_V_CLIENT_RAW_CERT,	   /* PEM */
	TLS_V_CLIENT_CERT,	   /* PEM, a tab after each line end but the last */
	TLS_V_CLIENT_ESCAPED_CERT, /* PEM, URI-component escaped */
	TLS_V_CLIENT_V_START,	   /* notBefore, "Nov 28 21:00:00 2026 GMT" */
	TLS_V_CLIENT_V_END,	   /* notAfter */
	TLS_V_CLIENT_V_REMAIN,	   /* whole days to notAfter, 0 when past */
};

/* tls_var - the value of variable WHICH in memory of POOL: its length with
 * *OUT set, or -1 when not found (plaintext, no certificate, an empty
 * value: nginx logs "-" for those). */
int tls_var(struct tls_conn *tls, enum tls_var which, struct pool *pool, const char **out);

/* tls_escape_component - nginx's URI-component escape of SRC[0, N) into
 * DST (NULL: count only): the length. */
size_t tls_escape_component(const unsigned char *src, size_t n, char *dst);

#endif
