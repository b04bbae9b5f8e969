/* SPDX-License-Identifier: MIT */
/*
 * TLS session variables (include/tls_vars.h), in nginx 1.22's formats.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "pool.h"
#include "tls.h"
#include "tls_vars.h"

static const char hexl[] = "0123456789abcdef";
static const char hexu[] = "0123456789ABCDEF";

/* esc_component - whether nginx's URI-component escape takes byte C:
 * controls, space, !"#$%&'()*+, / :;<=>? @ [\]^ ` {|} DEL and above. */
static bool esc_component(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return true;
	return strchr("!\"#$%&'()*+,/:;<=>?@[\\]^`{|}", c) != NULL;
}

size_t tls_escape_component(const unsigned char *src, size_t n, char *dst)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (!esc_component(src[i])) {
			if (dst)
				dst[o] = (char)src[i];
			o++;
			continue;
		}
		if (dst) {
			dst[o] = '%';
			dst[o + 1] = hexu[src[i] >> 4];
			dst[o + 2] = hexu[src[i] & 15];
		}
		o += 3;
	}
	return o;
}

/* bio_out - what a memory BIO B was written (OK: the writes worked),
 * copied into POOL; B is freed. Its length, or -1. */
static int bio_out(BIO *b, int ok, struct pool *pool, const char **out)
{
	char *data, *p;
	long n;

	if (!ok || (n = BIO_get_mem_data(b, &data)) <= 0 || !(p = pool_alloc(pool, (size_t)n))) {
		BIO_free(b);
		ERR_clear_error();
		return -1;
	}
	memcpy(p, data, (size_t)n);
	BIO_free(b);
	*out = p;
	return (int)n;
}

/* pem_of - certificate X as PEM in POOL. */
static int pem_of(X509 *x, struct pool *pool, const char **out)
{
	BIO *b = BIO_new(BIO_s_mem());

	return b ? bio_out(b, PEM_write_bio_X509(b, x), pool, out) : -1;
}

/* asn1_time_of - T as ASN1_TIME_print writes it, in POOL. */
static int asn1_time_of(const ASN1_TIME *t, struct pool *pool, const char **out)
{
	BIO *b = BIO_new(BIO_s_mem());

	return b ? bio_out(b, ASN1_TIME_print(b, t), pool, out) : -1;
}

static int client_cert_var(SSL *ssl, enum tls_var which, struct pool *pool, const char **out)
{
	X509 *x = SSL_get0_peer_certificate(ssl);
	const char *pem;
	char *p;
	int n, days = 0, secs = 0;
	size_t o = 0;

	if (!x)
		return -1;
	switch (which) {
	case TLS_V_CLIENT_RAW_CERT:
		return pem_of(x, pool, out);
	case TLS_V_CLIENT_CERT:
		/* the PEM without its last line end, a tab after the others */
		if ((n = pem_of(x, pool, &pem)) <= 1)
			return -1;
		n--;
		if (!(p = pool_alloc(pool, (size_t)n * 2)))
			return -1;
		for (int i = 0; i < n; i++) {
			p[o++] = pem[i];
			if (pem[i] == '\n')
				p[o++] = '\t';
		}
		*out = p;
		return (int)o;
	case TLS_V_CLIENT_ESCAPED_CERT:
		if ((n = pem_of(x, pool, &pem)) <= 0)
			return -1;
		o = tls_escape_component((const unsigned char *)pem, (size_t)n, NULL);
		if (!(p = pool_alloc(pool, o)))
			return -1;
		tls_escape_component((const unsigned char *)pem, (size_t)n, p);
		*out = p;
		return (int)o;
	case TLS_V_CLIENT_V_START:
		return asn1_time_of(X509_get0_notBefore(x), pool, out);
	case TLS_V_CLIENT_V_END:
		return asn1_time_of(X509_get0_notAfter(x), pool, out);
	case TLS_V_CLIENT_V_REMAIN: {
		char buf[24];

		if (!ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x))) {
			ERR_clear_error();
			return -1;
		}
		if (days < 0 || (days == 0 && secs < 0))
			days = 0;
		n = snprintf(buf, sizeof(buf), "%d", days);
		if (!(p = pool_alloc(pool, (size_t)n)))
			return -1;
		memcpy(p, buf, (size_t)n);
		*out = p;
		return n;
	}
	default:
		return -1;
	}
}

/* ciphers_of - the client's cipher list as nginx prints it. */
static int ciphers_of(SSL *ssl, struct pool *pool, const char **out)
{
	const unsigned char *raw;
	int bytes = SSL_get0_raw_cipherlist(ssl, NULL);
	int n = SSL_get0_raw_cipherlist(ssl, &raw);
	size_t len = 0, o = 0;
	char *p;

	if (n <= 0 || bytes <= 0)
		return -1;
	n /= bytes;
	for (int i = 0; i < n; i++) {
		const SSL_CIPHER *ci = SSL_CIPHER_find(ssl, raw + i * bytes);

		len += (ci ? strlen(SSL_CIPHER_get_name(ci)) : 2 + (size_t)bytes * 2) + 1;
	}
	if (!(p = pool_alloc(pool, len)))
		return -1;
	for (int i = 0; i < n; i++) {
		const unsigned char *c = raw + i * bytes;
		const SSL_CIPHER *ci = SSL_CIPHER_find(ssl, c);

		if (ci) {
			size_t l = strlen(SSL_CIPHER_get_name(ci));

			memcpy(p + o, SSL_CIPHER_get_name(ci), l);
			o += l;
		} else {
			p[o++] = '0';
			p[o++] = 'x';
			for (int j = 0; j < bytes; j++) {
				p[o++] = hexl[c[j] >> 4];
				p[o++] = hexl[c[j] & 15];
			}
		}
		p[o++] = ':';
	}
	*out = p;
	return (int)o - 1;
}

/* curves_of - the client's supported groups as nginx prints them. */
static int curves_of(SSL *ssl, struct pool *pool, const char **out)
{
	int n = SSL_get1_curves(ssl, NULL), *nids;
	size_t len = 0, o = 0;
	char *p;

	if (n <= 0 || !(nids = pool_alloc(pool, (size_t)n * sizeof(*nids))))
		return -1;
	n = SSL_get1_curves(ssl, nids);
	for (int i = 0; i < n; i++) {
		const char *sn = nids[i] & TLSEXT_nid_unknown ? NULL : OBJ_nid2sn(nids[i]);

		len += (sn ? strlen(sn) : 6) + 1;
	}
	if (!n || !(p = pool_alloc(pool, len + 1)))
		return -1;
	for (int i = 0; i < n; i++) {
		const char *sn = nids[i] & TLSEXT_nid_unknown ? NULL : OBJ_nid2sn(nids[i]);

		if (sn) {
			memcpy(p + o, sn, strlen(sn));
			o += strlen(sn);
		} else {
			o += (size_t)snprintf(p + o, len + 1 - o, "0x%04x", nids[i] & 0xffff);
		}
		p[o++] = ':';
	}
	*out = p;
	return (int)o - 1;
}

int tls_var(struct tls_conn *tls, enum tls_var which, struct pool *pool, const char **out)
{
	SSL *ssl = tls && tls_conn_protocol(tls) ? tls_conn_ssl(tls) : NULL;

	if (!ssl)
		return -1;
	switch (which) {
	case TLS_V_SESSION_REUSED:
		*out = SSL_session_reused(ssl) ? "r" : ".";
		return 1;
	case TLS_V_SESSION_ID: {
		const SSL_SESSION *s = SSL_get_session(ssl);
		unsigned int n = 0;
		const unsigned char *id = s ? SSL_SESSION_get_id(s, &n) : NULL;
		char *p;

		if (!n || !(p = pool_alloc(pool, (size_t)n * 2)))
			return -1;
		for (unsigned int i = 0; i < n; i++) {
			p[2 * i] = hexl[id[i] >> 4];
			p[2 * i + 1] = hexl[id[i] & 15];
		}
		*out = p;
		return (int)n * 2;
	}
	case TLS_V_CIPHERS:
		return ciphers_of(ssl, pool, out);
	case TLS_V_CURVES:
		return curves_of(ssl, pool, out);
	default:
		return client_cert_var(ssl, which, pool, out);
	}
}
