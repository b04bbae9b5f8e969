/* SPDX-License-Identifier: MIT */
/*
 * TLS client certificates, as nginx's ssl_verify_client: the context asks
 * for a certificate (listing the ssl_client_certificate CAs), OpenSSL
 * verifies it against those and ssl_trusted_certificate (and ssl_crl) to
 * ssl_verify_depth, and the verify callback lets every handshake finish:
 * the verdict is the request's, so that nginx's 495/496 pages and
 * error_page apply. Variables are formatted into the request's pool (no
 * malloc per request): RFC 2253 names, hex serial and SHA-1 fingerprint.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "lbd.h"
#include "log.h"
#include "ocsp_client.h"
#include "pool.h"
#include "tls.h"
#include "tls_client.h"

/* fail - ERR = MSG " (SSL: ...)" " in FILE:LINE"; empties the queue. */
static int fail(char *err, size_t errlen, const struct tls_where *at, const char *what,
		const char *file)
{
	char ssl[256] = "";
	unsigned long e = ERR_get_error();

	if (e) {
		memcpy(ssl, " (SSL: ", 7);
		ERR_error_string_n(e, ssl + 7, sizeof(ssl) - 9);
		strcat(ssl, ")");
	}
	snprintf(err, errlen, "%s(\"%s\") failed%s in %s:%d", what, file, ssl,
		 at->file ? at->file : "command line", at->line);
	ERR_clear_error();
	return -EINVAL;
}

/* verify_cb - every chain is accepted here; tls_client_check decides. */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
	(void)ok, (void)x;
	return 1;
}

/* set_sid_ctx - the session id context: required by OpenSSL to resume a
 * session with client verification, and different for servers whose
 * verification differs, so no session skips another server's check. */
static int set_sid_ctx(SSL_CTX *ctx, const struct tls_conf *t)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = m && EVP_DigestInit_ex(m, EVP_sha1(), NULL);

	for (int i = 0; ok && i < t->ncerts; i++)
		ok = EVP_DigestUpdate(m, t->certs[i], strlen(t->certs[i]) + 1);
	if (ok && t->client_ca)
		ok = EVP_DigestUpdate(m, t->client_ca, strlen(t->client_ca) + 1);
	if (ok && t->trusted)
		ok = EVP_DigestUpdate(m, t->trusted, strlen(t->trusted) + 1);
	if (ok)
		ok = EVP_DigestUpdate(m, &t->verify_client, sizeof(t->verify_client)) &&
		     EVP_DigestUpdate(m, &t->verify_depth, sizeof(t->verify_depth)) &&
		     EVP_DigestFinal_ex(m, md, &n);
	EVP_MD_CTX_free(m);
	if (n > SSL_MAX_SID_CTX_LENGTH)
		n = SSL_MAX_SID_CTX_LENGTH;
	return ok && SSL_CTX_set_session_id_context(ctx, md, n) ? 0 : -1;
}

int tls_client_setup(void *vctx, const struct tls_conf *t, char *err, size_t errlen)
{
	SSL_CTX *ctx = vctx;

	if (t->verify_client <= TLS_VERIFY_OFF)
		return 0;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	SSL_CTX_set_verify_depth(ctx, t->verify_depth);
	if (t->client_ca) {
		STACK_OF(X509_NAME) * names;

		if (!SSL_CTX_load_verify_locations(ctx, t->client_ca, NULL))
			return fail(err, errlen, &t->client_ca_at, "SSL_CTX_load_verify_locations",
				    t->client_ca);
		names = SSL_load_client_CA_file(t->client_ca);
		if (!names)
			return fail(err, errlen, &t->client_ca_at, "SSL_load_client_CA_file",
				    t->client_ca);
		SSL_CTX_set_client_CA_list(ctx, names);
	}
	if (t->crl && !tls_load_crl(ctx, t->crl))
		return fail(err, errlen, &t->crl_at, "X509_LOOKUP_load_file", t->crl);
	if (set_sid_ctx(ctx, t))
		return fail(err, errlen, &t->verify_at, "SSL_CTX_set_session_id_context",
			    "ssl_verify_client");
	return 0;
}

void tls_client_follow(void *vssl, void *vctx)
{
	SSL *ssl = vssl;
	SSL_CTX *ctx = vctx;

	SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx), SSL_CTX_get_verify_callback(ctx));
	SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx));
}

bool tls_client_optional_error(long rc)
{
	return rc == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
	       rc == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
	       rc == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	       rc == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	       rc == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

int tls_client_check(struct tls_conn *tls, const struct tls_conf *t, const char *client)
{
	SSL *ssl;
	long rc;

	if (!tls || t->verify_client <= TLS_VERIFY_OFF)
		return 0;
	ssl = tls_conn_ssl(tls);
	rc = SSL_get_verify_result(ssl);
	if (rc != X509_V_OK &&
	    (t->verify_client != TLS_VERIFY_OPTIONAL_NO_CA || !tls_client_optional_error(rc))) {
		log_info("client SSL certificate verify error: (%ld:%s) while reading client "
			 "request headers, client: %s",
			 rc, X509_verify_cert_error_string(rc), client);
		/* a resumed session must not bring the bad certificate back */
		SSL_CTX_remove_session(SSL_get_SSL_CTX(ssl), SSL_get0_session(ssl));
		return HTTP_STATUS_CERT_ERROR;
	}
	/* ssl_ocsp's verdict (ocsp_client.c), in nginx's words */
	if (rc == X509_V_OK && unlikely(t->ocsp.mode != TLS_OCSP_OFF)) {
		const char *why = ocsp_client_error(ssl);

		if (why) {
			log_info("client SSL certificate verify error: %s while reading client "
				 "request headers, client: %s",
				 why, client);
			SSL_CTX_remove_session(SSL_get_SSL_CTX(ssl), SSL_get0_session(ssl));
			return HTTP_STATUS_CERT_ERROR;
		}
	}
	if (t->verify_client == TLS_VERIFY_ON && !SSL_get0_peer_certificate(ssl)) {
		log_info("client sent no required SSL certificate while reading client request "
			 "headers, client: %s",
			 client);
		return HTTP_STATUS_NO_CERT;
	}
	return 0;
}

/* ---- variables ------------------------------------------------------------------- */

static const char hexu[] = "0123456789ABCDEF";
static const char hexl[] = "0123456789abcdef";

/* esc_value - one attribute value, RFC 2253 escaping as OpenSSL's
 * XN_FLAG_RFC2253: specials with a backslash, a leading '#' or space and a
 * trailing space likewise, control and non-ASCII bytes as \XX. Writes to
 * OUT (NULL: only counts); returns the length. */
static size_t esc_value(const unsigned char *v, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = v[i];

		if (ch < 0x20 || ch >= 0x7f) {
			if (out) {
				out[o] = '\\';
				out[o + 1] = hexu[ch >> 4];
				out[o + 2] = hexu[ch & 15];
			}
			o += 3;
			continue;
		}
		if (strchr(",+\"\\<>;", ch) || (i == 0 && (ch == '#' || ch == ' ')) ||
		    (i == n - 1 && ch == ' ')) {
			if (out)
				out[o] = '\\';
			o++;
		}
		if (out)
			out[o] = (char)ch;
		o++;
	}
	return o;
}

/* fmt_dn - NM as RFC 2253 (last RDN first, ',' between RDNs and '+'
 * inside one) into OUT (NULL: only counts); returns the length. */
static size_t fmt_dn(const X509_NAME *nm, char *out)
{
	int cnt = X509_NAME_entry_count(nm), prev_set = -1;
	size_t o = 0;

	for (int i = cnt - 1; i >= 0; i--) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(nm, i);
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
		char oid[80];
		size_t l;

		if (!sn) {
			OBJ_obj2txt(oid, sizeof(oid), X509_NAME_ENTRY_get_object(e), 1);
			sn = oid;
		}
		if (i != cnt - 1) {
			if (out)
				out[o] = X509_NAME_ENTRY_set(e) == prev_set ? '+' : ',';
			o++;
		}
		prev_set = X509_NAME_ENTRY_set(e);
		l = strlen(sn);
		if (out) {
			memcpy(out + o, sn, l);
			out[o + l] = '=';
		}
		o += l + 1;
		o += esc_value(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v),
			       out ? out + o : NULL);
	}
	return o;
}

static int put(struct pool *pool, const char *s, size_t n, const char **out)
{
	char *p = pool_alloc(pool, n ? n : 1);

	if (!p)
		return -1;
	memcpy(p, s, n);
	*out = p;
	return (int)n;
}

int tls_client_var(struct tls_conn *tls, enum tls_client_var which, struct pool *pool,
		   const char **out)
{
	SSL *ssl = tls ? tls_conn_ssl(tls) : NULL;
	X509 *x = ssl && tls_conn_protocol(tls) ? SSL_get0_peer_certificate(ssl) : NULL;

	if (which == TLS_CV_VERIFY) {
		char buf[160];
		long rc;

		if (!ssl || !tls_conn_protocol(tls))
			return -1;
		if (!x)
			return put(pool, "NONE", 4, out);
		rc = SSL_get_verify_result(ssl);
		if (rc == X509_V_OK && ocsp_client_error(ssl))
			return put(pool, buf,
				   (size_t)snprintf(buf, sizeof(buf), "FAILED:%s",
						    ocsp_client_error(ssl)),
				   out);
		if (rc == X509_V_OK)
			return put(pool, "SUCCESS", 7, out);
		return put(pool, buf,
			   (size_t)snprintf(buf, sizeof(buf), "FAILED:%.150s",
					    X509_verify_cert_error_string(rc)),
			   out);
	}
	if (!x)
		return -1;
	switch (which) {
	case TLS_CV_S_DN:
	case TLS_CV_I_DN: {
		const X509_NAME *nm =
			which == TLS_CV_S_DN ? X509_get_subject_name(x) : X509_get_issuer_name(x);
		size_t n = fmt_dn(nm, NULL);
		char *p = pool_alloc(pool, n ? n : 1);

		if (!p)
			return -1;
		fmt_dn(nm, p);
		*out = p;
		return (int)n;
	}
	case TLS_CV_SERIAL: {
		const ASN1_INTEGER *s = X509_get0_serialNumber(x);
		const unsigned char *d = ASN1_STRING_get0_data(s);
		int len = ASN1_STRING_length(s);
		bool neg = ASN1_STRING_type(s) == V_ASN1_NEG_INTEGER;
		char *p = pool_alloc(pool, (size_t)(len ? len * 2 : 2) + 1);
		size_t o = 0;

		if (!p)
			return -1;
		if (neg)
			p[o++] = '-';
		if (!len) {
			p[o++] = '0';
			p[o++] = '0';
		}
		for (int i = 0; i < len; i++) {
			p[o++] = hexu[d[i] >> 4];
			p[o++] = hexu[d[i] & 15];
		}
		*out = p;
		return (int)o;
	}
	case TLS_CV_FINGERPRINT: {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int n = 0;
		char *p;

		if (!X509_digest(x, EVP_sha1(), md, &n)) {
			ERR_clear_error();
			return -1;
		}
		p = pool_alloc(pool, n * 2);
		if (!p)
			return -1;
		for (unsigned int i = 0; i < n; i++) {
			p[2 * i] = hexl[md[i] >> 4];
			p[2 * i + 1] = hexl[md[i] & 15];
		}
		*out = p;
		return (int)(n * 2);
	}
	default:
		return -1;
	}
}
