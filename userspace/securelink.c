/* SPDX-License-Identifier: MIT */
/*
 * Secure links: nginx's ngx_http_secure_link_module. Owns $secure_link and
 * $secure_link_expires. With `secure_link EXPR` and `secure_link_md5
 * EXPR`, EXPR evaluates to "HASH[,EXPIRES]": HASH is the base64url MD5 of
 * the md5 expression (22 characters, or 24 with "=="), EXPIRES epoch
 * seconds; the value is "1" (valid), "0" (valid but past EXPIRES) or not
 * found (empty). With `secure_link_secret WORD` the request URI is
 * "/PREFIX/HEX/LINK" with HEX the hex MD5 of LINK followed by WORD, and
 * the value is LINK. The MD5 context is one per thread, made once.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "http.h"
#include "securelink.h"
#include "var.h"

/* one MD5 context per thread, freed when the thread exits */
static __thread EVP_MD_CTX *securelink_ctx;
static pthread_key_t securelink_key;
static pthread_once_t securelink_once = PTHREAD_ONCE_INIT;

static void securelink_ctx_free(void *m)
{
	EVP_MD_CTX_free(m);
}

static void securelink_key_init(void)
{
	pthread_key_create(&securelink_key, securelink_ctx_free);
}

int securelink_b64url(const char *src, size_t len, unsigned char *out)
{
	uint32_t acc = 0;
	int bits = 0, n = 0;
	size_t i;

	for (i = 0; i < len && src[i] != '='; i++) {
		unsigned char ch = (unsigned char)src[i];
		int v;

		if (ch >= 'A' && ch <= 'Z')
			v = ch - 'A';
		else if (ch >= 'a' && ch <= 'z')
			v = ch - 'a' + 26;
		else if (ch >= '0' && ch <= '9')
			v = ch - '0' + 52;
		else if (ch == '-')
			v = 62;
		else if (ch == '_')
			v = 63;
		else
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return i % 4 == 1 ? -1 : n;
}

int64_t securelink_time(const char *p, size_t len)
{
	int64_t v = 0;

	if (!len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (v > (INT64_MAX - (p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

int securelink_md5(const void *a, size_t alen, const void *b, size_t blen, unsigned char out[16])
{
	EVP_MD_CTX *m = securelink_ctx;

	if (!m) {
		pthread_once(&securelink_once, securelink_key_init);
		m = securelink_ctx = EVP_MD_CTX_new();
		if (!m)
			return -1;
		pthread_setspecific(securelink_key, m);
	}
	if (!EVP_DigestInit_ex(m, EVP_md5(), NULL) || (alen && !EVP_DigestUpdate(m, a, alen)) ||
	    (blen && !EVP_DigestUpdate(m, b, blen)) || !EVP_DigestFinal_ex(m, out, NULL))
		return -1;
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)(ch | 0x20);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

bool securelink_secret_link(const char *uri, size_t len, const char *secret, size_t slen,
			    struct lstr *link)
{
	const char *p = uri + 1, *last = uri + len, *start, *end;
	unsigned char md[16];

	if (len < 1)
		return false;
	while (p < last && *p != '/') /* skip the prefix */
		p++;
	if (p >= last)
		return false;
	start = ++p;
	while (p < last && *p != '/')
		p++;
	if (p >= last)
		return false;
	end = p++;
	if (end - start != 32 || p == last)
		return false;
	if (securelink_md5(p, (size_t)(last - p), secret, slen, md))
		return false;
	for (int i = 0; i < 16; i++) {
		int hi = hexval(start[2 * i]), lo = hexval(start[2 * i + 1]);

		if (hi < 0 || lo < 0 || (hi << 4 | lo) != md[i])
			return false;
	}
	*link = (struct lstr){p, (size_t)(last - p)};
	return true;
}

int securelink_var(struct conn *c, struct lstr *out)
{
	const struct securelink_loc *sl = c->req.loc ? &c->req.loc->seclink : NULL;
	unsigned char hash[18], md[16];
	struct lstr v, m;
	int64_t expires = 0;
	const char *comma;
	int rc;

	if (!sl)
		return VAR_NOT_FOUND;
	if (sl->secret) {
		struct lstr uri = c->req.u.unparsed;

		if (!securelink_secret_link(uri.p, uri.len, sl->secret, sl->secretlen, out))
			return VAR_NOT_FOUND;
		return 0; /* found */
	}
	if (!sl->link || !sl->md5)
		return VAR_NOT_FOUND;
	rc = cval_eval(sl->link, c, &v);
	if (rc < 0)
		return rc;
	comma = v.len ? memchr(v.p, ',', v.len) : NULL;
	if (comma) {
		struct lstr e = {comma + 1, v.len - (size_t)(comma + 1 - v.p)};

		v.len = (size_t)(comma - v.p);
		expires = securelink_time(e.p, e.len);
		if (expires <= 0)
			return VAR_NOT_FOUND;
		c->req.seclink_expires = e;
	}
	if (v.len > 24 || securelink_b64url(v.p, v.len, hash) != 16)
		return VAR_NOT_FOUND;
	rc = cval_eval(sl->md5, c, &m);
	if (rc < 0)
		return rc;
	if (securelink_md5(m.p, m.len, NULL, 0, md) || memcmp(hash, md, 16) != 0)
		return VAR_NOT_FOUND;
	out->p = expires && expires < (int64_t)time(NULL) ? "0" : "1";
	out->len = 1;
	return 0; /* found */
}

int securelink_expires_var(struct conn *c, struct lstr *out)
{
	struct http_req *r = &c->req;

	/* the first read's answer stands for the request, as nginx's
	 * cached variable; what $secure_link parsed goes with an internal
	 * redirect (http_internal_redirect), as nginx's module context */
	if (!r->seclink_exp_done) {
		r->seclink_exp_done = true;
		r->seclink_exp_read = r->seclink_expires;
	}
	if (!r->seclink_exp_read.p)
		return VAR_NOT_FOUND;
	*out = r->seclink_exp_read;
	return 0; /* found */
}
