/* SPDX-License-Identifier: MIT */
/*
 * TLS client certificates (nginx's ssl_verify_client family): asking for
 * and verifying a client's certificate against ssl_client_certificate /
 * ssl_trusted_certificate (and ssl_crl), the per-request check that turns
 * a missing or bad certificate into nginx's 496 / 495, and the
 * $ssl_client_* variables. The handshake always completes (as in nginx:
 * the verdict is given to the request, so error_page 495/496 apply).
 */
#ifndef LBD_TLS_CLIENT_H
#define LBD_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "tls-t.h"

struct tls_conn;
struct pool;

/* nginx's internal codes, sent as 400 with their own pages. */
#define HTTP_STATUS_CERT_ERROR 495 /* "The SSL certificate error" */
#define HTTP_STATUS_NO_CERT    496 /* "No required SSL certificate was sent" */

/* tls_client_setup - on context CTX (an SSL_CTX *) built from T: the CA
 * list sent to clients, the verify store's extra CAs and CRLs, the mode
 * and depth. 0, or -EINVAL with nginx's message and " in FILE:LINE" in ERR. */
int tls_client_setup(void *ctx, const struct tls_conf *t, char *err, size_t errlen);

/* tls_client_follow - after the SNI switch to context CTX: take its
 * verify mode and depth for the session SSL (both SSL *). */
void tls_client_follow(void *ssl, void *ctx);

/* tls_client_check - the request's verdict for server settings T: 0 when
 * it may go on, HTTP_STATUS_CERT_ERROR or HTTP_STATUS_NO_CERT (logged at
 * info with CLIENT, as nginx does). TLS may be NULL (plain connection). */
int tls_client_check(struct tls_conn *tls, const struct tls_conf *t, const char *client);

/* tls_client_optional_error - whether verify result RC is one that
 * optional_no_ca lets through (nginx's ngx_ssl_verify_error_optional):
 * the chain does not reach a known CA. */
bool tls_client_optional_error(long rc);

/* enum tls_client_var - the $ssl_client_* variables. */
enum tls_client_var {
	TLS_CV_VERIFY,	    /* NONE, SUCCESS, FAILED:reason */
	TLS_CV_S_DN,	    /* subject, RFC 2253 */
	TLS_CV_I_DN,	    /* issuer, RFC 2253 */
	TLS_CV_SERIAL,	    /* serial number, hex */
	TLS_CV_FINGERPRINT, /* SHA-1 of the DER certificate, hex */
};

/* tls_client_var - the value of variable WHICH in memory of POOL (the
 * request's): its length, with *OUT set; -1 when not found (no TLS, no
 * certificate; $ssl_client_verify is "NONE" then). */
int tls_client_var(struct tls_conn *tls, enum tls_client_var which, struct pool *pool,
		   const char **out);

#endif
