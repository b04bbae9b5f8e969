/* SPDX-License-Identifier: MIT */
/*
 * OCSP stapling (ssl_stapling, ssl_stapling_verify, ssl_stapling_file,
 * ssl_stapling_responder): for each certificate
 * of a TLS context whose server has `ssl_stapling on`, a background thread
 * asks the certificate's OCSP responder (plain http:// URL from its
 * Authority Information Access) for the certificate's status, keeps the
 * last good answer, and handshakes that ask for a status get it stapled.
 * As nginx: only a "good" answer is stapled; with ssl_stapling_verify the
 * answer must verify against ssl_trusted_certificate (or the chain); a
 * failed fetch is retried after 5 minutes, a good answer refreshed after
 * an hour (sooner when it expires first). The first handshakes after a
 * start or reload go without a staple until the first answer arrives.
 * ssl_stapling_responder replaces the certificates' URL; with
 * ssl_stapling_file nothing is asked: that file's answer is stapled as it
 * is (nginx checks nothing in it either).
 */
#ifndef LBD_OCSP_H
#define LBD_OCSP_H

#include <openssl/ssl.h>

#include "tls-t.h"

/* ocsp_ctx_setup - stapling for every certificate of CTX (built from T,
 * which has ssl_stapling on): with ssl_stapling_file, that file's answer
 * for each (read now: a reload reads it again; never fetched); else the
 * issuer and the responder URL (ssl_stapling_responder's, or the
 * certificate's) found (else a warning naming the directive's FILE:LINE,
 * as nginx words it) and fetching scheduled; the status callback
 * installed. 0, -ENOMEM, or -EINVAL when the file does not read as an
 * OCSP response: *WHAT then names the failed call (OpenSSL's errors are
 * queued for the caller's message). */
int ocsp_ctx_setup(SSL_CTX *ctx, const struct tls_conf *t, const char **what);

/* ocsp_parse_url - an OCSP responder URL (a certificate's, or one of the
 * *_responder directives) into OPENSSL_malloc'd HOST, PORT and PATH;
 * nginx 1.22 asks plain http:// responders only. NULL, or what is wrong
 * in nginx's words ("invalid URL prefix in", "invalid port in") with
 * *PART the piece of URL its message quotes. */
const char *ocsp_parse_url(const char *url, char **host, char **port, char **path,
			   const char **part);

/* ocsp_http_post - POST the DER request REQ to http://HOST:PORT/PATH
 * (HTTP/1.0, at most 10 s in all; blocking: the stapling fetcher's and
 * ssl_ocsp's threads only) and read the answer's body. The malloc'd body,
 * or NULL with *WHY. */
unsigned char *ocsp_http_post(const char *host, const char *port, const char *path,
			      const unsigned char *req, size_t reqlen, size_t *outlen,
			      const char **why);

/* ocsp_counts - how many certificates have an answer to staple now, of
 * how many are set up (for tests and lbctl status). */
void ocsp_counts(int *stapled, int *total);

#endif
