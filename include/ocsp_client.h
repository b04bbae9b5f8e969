/* SPDX-License-Identifier: MIT */
/*
 * OCSP checks of client certificates (ssl_ocsp, ssl_ocsp_responder,
 * ssl_ocsp_cache), as nginx 1.22's: after a handshake whose client
 * certificate verified, the status of that certificate (`leaf`) or of
 * every certificate of its chain but the root (`on`) is asked of its
 * responder (the certificate's Authority Information Access URL, or
 * ssl_ocsp_responder), and the connection reads no request until the
 * answers are in. A "revoked" or "unknown" status, or a failed request,
 * fails the requests of that connection as a certificate that does not
 * verify does: nginx's 400 page "The SSL certificate error" (495 for
 * error_page), `$ssl_client_verify` "FAILED:certificate revoked". Good
 * and revoked answers are kept in the ssl_ocsp_cache zone until their
 * nextUpdate (an hour without one).
 *
 * The requests run in a short-lived thread each (a blocking HTTP/1.0
 * POST, 10 s at most); the worker's loop is woken through an eventfd.
 * A resumed session is checked again (its chain verified anew), as a
 * session ticket may outlive a revocation.
 */
#ifndef LBD_OCSP_CLIENT_H
#define LBD_OCSP_CLIENT_H

#include "ev.h"
#include "tls-t.h"

/* ocsp_client_setup - on context CTX (an SSL_CTX *) built from T: with
 * ssl_ocsp on|leaf and ssl_verify_client on|optional, what the checks
 * need (the responder, the cache zone, the context's CA store). 0, or
 * -ENOMEM. */
int ocsp_client_setup(void *ctx, const struct tls_conf *t);

/* ocsp_client_wait - SSL (an SSL *) has finished its handshake: 0 when
 * its requests may be read now (nothing to check, or every status known:
 * see ocsp_client_error), 1 when a status is being asked: CB(ARG) runs
 * from LOOP once it is in, and the caller asks again then. The check
 * belongs to SSL: freeing SSL cancels it. */
int ocsp_client_wait(void *ssl, struct ev_loop *loop, void (*cb)(void *arg), void *arg);

/* ocsp_client_error - why SSL's client certificate failed its OCSP check,
 * in nginx's words ("certificate revoked", "certificate status unknown",
 * "certificate status request failed"), or NULL. */
const char *ocsp_client_error(const void *ssl);

#endif
