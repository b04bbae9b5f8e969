/* SPDX-License-Identifier: MIT */
/*
 * OCSP stapling (ssl_stapling, ssl_stapling_verify): for each certificate
 * of a TLS context whose server has `ssl_stapling on`, a background thread
 * asks the certificate's OCSP responder (plain http:// URL from its
 * Authority Information Access) for the certificate's status, keeps the
 * last good answer, and handshakes that ask for a status get it stapled.
 * As nginx: only a "good" answer is stapled; with ssl_stapling_verify the
 * answer must verify against ssl_trusted_certificate (or the chain); a
 * failed fetch is retried after 5 minutes, a good answer refreshed after
 * an hour (sooner when it expires first). The first handshakes after a
 * start or reload go without a staple until the first answer arrives.
 */
#ifndef LBD_OCSP_H
#define LBD_OCSP_H

#include <openssl/ssl.h>

#include "tls-t.h"

/* ocsp_ctx_setup - stapling for every certificate of CTX (built from T,
 * which has ssl_stapling on): responder URL and issuer found (else a
 * warning naming the directive's FILE:LINE, as nginx words it), fetching
 * scheduled, the status callback installed. 0, or -ENOMEM. */
int ocsp_ctx_setup(SSL_CTX *ctx, const struct tls_conf *t);

/* ocsp_stapled - how many certificates have an answer to staple now, of
 * how many are set up (for tests and lbctl status). */
void ocsp_counts(int *stapled, int *total);

#endif
