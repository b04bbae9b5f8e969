/* SPDX-License-Identifier: MIT */
/*
 * The access phase (see auth.h): allow/deny, then auth_basic, combined as
 * nginx's ngx_http_core_access_phase does: under `satisfy all` the first
 * refusal answers; under `satisfy any` the first check that lets the
 * request in ends the phase, and when none did the answer is 401 if any
 * check asked for a password, else 403 (a check with nothing configured,
 * or allow/deny with no matching rule, does not count).
 *
 * The user file is opened and read on every request, as nginx does: a
 * changed file applies to the next request without a reload. It is read
 * in fixed chunks through a small state machine (no allocation per line,
 * any number of users); a password field is cut at AUTH_LINE_MAX bytes as
 * nginx's buffer cuts it. Hashing runs on the worker thread, as nginx
 * runs it on its worker: an expensive crypt(3) scheme (bcrypt, yescrypt)
 * holds the worker for its cost (README, "Basic authentication").
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth.h"
#include "authreq.h"
#include "cfg.h"
#include "http.h"
#include "pool.h"
#include "var.h"

/* ---- base64 ------------------------------------------------------------------ */

static int b64_val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

bool auth_b64_decode(const char *s, size_t len, unsigned char *dst, size_t *outlen)
{
	unsigned char *d = dst;
	size_t n = 0;

	while (n < len && s[n] != '=') {
		if (b64_val((unsigned char)s[n]) < 0)
			return false;
		n++;
	}
	if (n % 4 == 1)
		return false;
	for (; n > 3; n -= 4, s += 4) {
		int a = b64_val((unsigned char)s[0]), b = b64_val((unsigned char)s[1]);
		int e = b64_val((unsigned char)s[2]), f = b64_val((unsigned char)s[3]);

		*d++ = (unsigned char)(a << 2 | b >> 4);
		*d++ = (unsigned char)(b << 4 | e >> 2);
		*d++ = (unsigned char)(e << 6 | f);
	}
	if (n > 1)
		*d++ = (unsigned char)(b64_val((unsigned char)s[0]) << 2 |
				       b64_val((unsigned char)s[1]) >> 4);
	if (n > 2)
		*d++ = (unsigned char)(b64_val((unsigned char)s[1]) << 4 |
				       b64_val((unsigned char)s[2]) >> 2);
	*outlen = (size_t)(d - dst);
	return true;
}

/* ---- password schemes ------------------------------------------------------------ */

static const char crypt64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* to64 - N characters of crypt's base64 of V, low bits first. */
static char *to64(char *p, unsigned long v, int n)
{
	while (n-- > 0) {
		*p++ = crypt64[v & 0x3f];
		v >>= 6;
	}
	return p;
}

static int md5_of(EVP_MD_CTX *m, const void *parts[], const size_t lens[], int n,
		  unsigned char out[16])
{
	if (!EVP_DigestInit_ex(m, EVP_md5(), NULL))
		return -1;
	for (int i = 0; i < n; i++)
		if (lens[i] && !EVP_DigestUpdate(m, parts[i], lens[i]))
			return -1;
	return EVP_DigestFinal_ex(m, out, NULL) ? 0 : -1;
}

/* auth_apr1 - the MD5-based crypt of FreeBSD as Apache names it "$apr1$":
 * a digest of key, magic and salt, stirred with a digest of key+salt+key
 * and the key's length bits, then 1000 rounds alternating key, salt and
 * the previous digest; printed as 22 characters of crypt's base64 with
 * the bytes taken in crypt's order. */
int auth_apr1(const char *key, const char *setting, char *out, size_t outlen)
{
	static const char magic[] = "$apr1$";
	const size_t ml = sizeof(magic) - 1, kl = strlen(key);
	const char *salt = setting + ml;
	unsigned char fin[16], alt[16];
	EVP_MD_CTX *m;
	size_t sl = 0;
	char *p;
	int rc = -EINVAL;

	if (strncmp(setting, magic, ml) != 0)
		return -EINVAL;
	while (sl < 8 && salt[sl] && salt[sl] != '$')
		sl++;
	if (outlen < ml + sl + 1 + 22 + 1)
		return -EINVAL;
	m = EVP_MD_CTX_new();
	if (!m)
		return -ENOMEM;
	if (md5_of(m, (const void *[]){key, salt, key}, (size_t[]){kl, sl, kl}, 3, alt))
		goto out;
	if (!EVP_DigestInit_ex(m, EVP_md5(), NULL) || !EVP_DigestUpdate(m, key, kl) ||
	    !EVP_DigestUpdate(m, magic, ml) || !EVP_DigestUpdate(m, salt, sl))
		goto out;
	for (size_t left = kl; left > 0; left -= left > 16 ? 16 : left)
		if (!EVP_DigestUpdate(m, alt, left > 16 ? 16 : left))
			goto out;
	for (size_t i = kl; i; i >>= 1)
		if (!EVP_DigestUpdate(m, (i & 1) ? "" : key, 1))
			goto out;
	if (!EVP_DigestFinal_ex(m, fin, NULL))
		goto out;
	for (int i = 0; i < 1000; i++) {
		const void *parts[4];
		size_t lens[4];
		int k = 0;

		parts[k] = (i & 1) ? (const void *)key : fin;
		lens[k++] = (i & 1) ? kl : 16;
		if (i % 3)
			parts[k] = salt, lens[k++] = sl;
		if (i % 7)
			parts[k] = key, lens[k++] = kl;
		parts[k] = (i & 1) ? (const void *)fin : key;
		lens[k++] = (i & 1) ? 16 : kl;
		if (md5_of(m, parts, lens, k, fin))
			goto out;
	}
	memcpy(out, magic, ml);
	memcpy(out + ml, salt, sl);
	p = out + ml + sl;
	*p++ = '$';
	p = to64(p, (unsigned long)fin[0] << 16 | fin[6] << 8 | fin[12], 4);
	p = to64(p, (unsigned long)fin[1] << 16 | fin[7] << 8 | fin[13], 4);
	p = to64(p, (unsigned long)fin[2] << 16 | fin[8] << 8 | fin[14], 4);
	p = to64(p, (unsigned long)fin[3] << 16 | fin[9] << 8 | fin[15], 4);
	p = to64(p, (unsigned long)fin[4] << 16 | fin[10] << 8 | fin[5], 4);
	p = to64(p, fin[11], 2);
	*p = '\0';
	rc = 0;
out:
	OPENSSL_cleanse(fin, sizeof(fin));
	OPENSSL_cleanse(alt, sizeof(alt));
	EVP_MD_CTX_free(m);
	return rc;
}

/* ct_equal - A and B (NUL-terminated) equal, in time independent of where
 * they differ (the length is not secret: every scheme's is public). */
static bool ct_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

/* sha_check - {SHA}: base64 of SHA-1(key); {SSHA}: base64 of SHA-1(key +
 * salt) followed by the salt. The stored value is decoded and the digest
 * compared, which is what comparing nginx's re-encoded string amounts to. */
static int sha_check(const char *key, const char *b64, bool salted)
{
	unsigned char raw[AUTH_LINE_MAX], md[EVP_MAX_MD_SIZE];
	size_t rl, bl = strlen(b64);
	unsigned int mdl = 0;
	EVP_MD_CTX *m;
	int ok = 0;

	if (bl > AUTH_LINE_MAX || !auth_b64_decode(b64, bl, raw, &rl))
		return 0;
	if (rl < 20 || (!salted && rl != 20))
		return 0;
	m = EVP_MD_CTX_new();
	if (!m)
		return -ENOMEM;
	if (EVP_DigestInit_ex(m, EVP_sha1(), NULL) && EVP_DigestUpdate(m, key, strlen(key)) &&
	    (!salted || EVP_DigestUpdate(m, raw + 20, rl - 20)) &&
	    EVP_DigestFinal_ex(m, md, &mdl) && mdl == 20)
		ok = CRYPTO_memcmp(md, raw, 20) == 0;
	EVP_MD_CTX_free(m);
	return ok;
}

int auth_check_password(const char *key, const char *hash)
{
	if (strncmp(hash, "$apr1$", 6) == 0) {
		char out[128];
		int rc = auth_apr1(key, hash, out, sizeof(out));

		return rc ? rc : ct_equal(out, hash);
	}
	if (strncmp(hash, "{PLAIN}", 7) == 0)
		return ct_equal(key, hash + 7);
	if (strncmp(hash, "{SSHA}", 6) == 0)
		return sha_check(key, hash + 6, true);
	if (strncmp(hash, "{SHA}", 5) == 0)
		return sha_check(key, hash + 5, false);
	/* crypt(3): 32 KiB of scratch state per worker thread, not per call */
	static __thread struct crypt_data cd;
	const char *e = crypt_r(key, hash, &cd);

	if (!e)
		return -EINVAL;
	return ct_equal(e, hash); /* a failure token ("*0") never equals a hash */
}

/* ---- the request side ---------------------------------------------------------- */

enum {
	AC_DECLINED = 0, /* nothing configured, or no rule matched */
	AC_OK = 1,	 /* let in */
};

int auth_access_match(const struct access_rule *rules, int nrules,
		      const struct sockaddr_storage *peer)
{
	const uint8_t *a = NULL;
	int fam = peer->ss_family, alen = 0;
	uint8_t mapped[4];

	if (fam == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
		alen = 4;
	} else if (fam == AF_INET6) {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)peer)->sin6_addr;
		alen = 16;
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a)) {
			memcpy(mapped, a + 12, 4);
			a = mapped;
			alen = 4;
			fam = AF_INET;
		}
	}
	for (int i = 0; i < nrules; i++) {
		const struct access_rule *r = &rules[i];
		bool m = r->all || (r->family == AF_UNIX && fam == AF_UNIX);

		if (!m && r->family == fam && a) {
			m = true;
			for (int k = 0; k < alen; k++)
				if ((a[k] & r->mask[k]) != r->addr[k])
					m = false;
		}
		if (m)
			return r->deny ? 1 : 0;
	}
	return -1;
}

/* access_rules - allow/deny of L for the client address: AC_OK, 403, or
 * AC_DECLINED when no rule matched. */
static int access_rules(struct conn *c, const struct cfg_loc *l)
{
	int rc = auth_access_match(l->access, l->naccess, &c->peer);

	if (rc < 0)
		return AC_DECLINED;
	if (rc == 0)
		return AC_OK;
	/* nginx logs the refusal only when it is final */
	if (l->auth.satisfy == AUTH_SATISFY_ALL)
		http_log(c, NULL, LOG_ERR, "access forbidden by rule");
	return 403;
}

/* basic_credentials - nginx's ngx_http_auth_basic_user: the user and
 * password of "Authorization: Basic B64" (user non-empty, split at the
 * first ':'), as NUL-terminated copies in C's pool. false when there is
 * none usable. */
static bool basic_credentials(struct conn *c, struct lstr *user, char **pass)
{
	struct lstr h;
	const char *s;
	size_t len, dlen, u;
	unsigned char *d;

	if (var_get_by_name(c, "http_authorization", 18, &h) || !h.p || h.len < 6 ||
	    strncasecmp(h.p, "Basic ", 6) != 0)
		return false;
	s = h.p + 6;
	len = h.len - 6;
	while (len && *s == ' ') {
		s++;
		len--;
	}
	if (len == 0)
		return false;
	d = pool_alloc(&c->pool, (len + 3) / 4 * 3 + 2);
	if (!d || !auth_b64_decode(s, len, d, &dlen))
		return false;
	for (u = 0; u < dlen && d[u] != ':'; u++)
		;
	if (u == 0 || u == dlen)
		return false;
	d[dlen] = '\0';
	*user = (struct lstr){(const char *)d, u};
	*pass = (char *)d + u + 1;
	return true;
}

/* set_realm - the 401 with `WWW-Authenticate: Basic realm="REALM"` (the
 * realm as evaluated, not escaped: nginx 1.22 does not). */
static int set_realm(struct conn *c, struct lstr realm)
{
	static const char pre[] = "Basic realm=\"";
	char *v = pool_alloc(&c->pool, sizeof(pre) + realm.len + 1);

	if (!v)
		return 500;
	memcpy(v, pre, sizeof(pre) - 1);
	memcpy(v + sizeof(pre) - 1, realm.p, realm.len);
	v[sizeof(pre) - 1 + realm.len] = '"';
	c->req.resp_www_auth = (struct lstr){v, sizeof(pre) + realm.len};
	return 401;
}

/* struct uf_scan - the user file parser, nginx's sw_login/sw_passwd/sw_skip
 * byte for byte: a line starting with '#' or CR is skipped; a byte that
 * does not continue "USER:" skips up to the next LF (so a LF inside a
 * login also skips the line after it, as in nginx); the password field
 * ends at LF, CR or ':' (extra htpasswd fields), or at the end of file. */
struct uf_scan {
	enum { UF_LOGIN, UF_PASSWD, UF_SKIP } st;
	size_t login;		    /* bytes of the line's login matched so far */
	size_t plen;		    /* bytes in pw */
	char pw[AUTH_LINE_MAX + 1]; /* the found user's password field */
};

/* uf_feed - N bytes of the file. true when the user's line is complete. */
static bool uf_feed(struct uf_scan *u, const char *b, size_t n, struct lstr user)
{
	for (size_t i = 0; i < n; i++) {
		char ch = b[i];

		switch (u->st) {
		case UF_LOGIN:
			if (u->login == 0 && (ch == '#' || ch == '\r')) {
				u->st = UF_SKIP;
				break;
			}
			if (u->login == 0 && ch == '\n')
				break;
			if (ch != (u->login < user.len ? user.p[u->login] : ':')) {
				u->st = UF_SKIP;
				break;
			}
			if (u->login == user.len) {
				u->st = UF_PASSWD;
				u->plen = 0;
				break;
			}
			u->login++;
			break;
		case UF_PASSWD:
			if (ch == '\r' || ch == '\n' || ch == ':')
				return true;
			if (u->plen < AUTH_LINE_MAX)
				u->pw[u->plen++] = ch;
			break;
		case UF_SKIP:
			if (ch == '\n') {
				u->st = UF_LOGIN;
				u->login = 0;
			}
			break;
		}
	}
	return false;
}

/* auth_basic - the auth_basic check of L: AC_OK, AC_DECLINED, 401, 403
 * (no such file, as nginx) or 500. */
static int auth_basic(struct conn *c, const struct cfg_loc *l)
{
	const struct auth_loc *a = &l->auth;
	struct lstr realm, path, user;
	struct uf_scan *u;
	char buf[4096], *fpath, *pass;
	bool done = false;
	int fd, rc;

	if (!a->realm || !a->user_file)
		return AC_DECLINED;
	if (cval_eval(a->realm, c, &realm))
		return 500;
	if (realm.len == 3 && memcmp(realm.p, "off", 3) == 0)
		return AC_DECLINED;
	if (!basic_credentials(c, &user, &pass)) {
		http_log(c, NULL, LOG_INFO,
			 "no user/password was provided for basic authentication");
		return set_realm(c, realm);
	}
	if (cval_eval(a->user_file, c, &path))
		return 500;
	fpath = pool_alloc(&c->pool, path.len + 1);
	u = pool_alloc(&c->pool, sizeof(*u));
	if (!fpath || !u)
		return 500;
	memcpy(fpath, path.p, path.len);
	fpath[path.len] = '\0';
	fd = open(fpath, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1) {
		int e = errno;

		http_log(c, NULL, e == ENOENT ? LOG_ERR : LOG_CRIT, "open() \"%s\" failed (%d: %s)",
			 fpath, e, strerror(e));
		return e == ENOENT ? 403 : 500;
	}
	u->st = UF_LOGIN;
	u->login = 0;
	u->plen = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			int e = errno;

			http_log(c, NULL, LOG_CRIT, "pread() \"%s\" failed (%d: %s)", fpath, e,
				 strerror(e));
			close(fd);
			return 500;
		}
		if (n == 0)
			break;
		if (uf_feed(u, buf, (size_t)n, user)) {
			done = true;
			break;
		}
	}
	close(fd);
	if (!done && u->st != UF_PASSWD) {
		http_log(c, NULL, LOG_ERR, "user \"%.*s\" was not found in \"%s\"", (int)user.len,
			 user.p, fpath);
		return set_realm(c, realm);
	}
	u->pw[u->plen] = '\0';
	rc = auth_check_password(pass, u->pw);
	OPENSSL_cleanse(u->pw, u->plen);
	if (rc < 0) {
		http_log(c, NULL, LOG_CRIT, "crypt_r() failed");
		return 500;
	}
	if (rc == 1)
		return AC_OK;
	http_log(c, NULL, LOG_ERR, "user \"%.*s\": password mismatch", (int)user.len, user.p);
	return set_realm(c, realm);
}

int auth_access(struct conn *c, const struct cfg_loc *l)
{
	const struct cfg_loc *al = l;
	int (*const checks[])(struct conn *, const struct cfg_loc *) = {access_rules, auth_basic};
	size_t n = sizeof(checks) / sizeof(checks[0]), i = 0;
	int code = 0;

	/* nginx skips the access phase of subrequests */
	if (unlikely(c->sr_parent))
		return 0;
	/* limit_except: its block's settings for the methods it does not list */
	if (l->auth.lmt &&
	    !(auth_method_bit(c->req.method.p, c->req.method.len) & l->auth.lmt_methods))
		al = l->auth.lmt;
	/* back from auth_request's subrequest: on from its step (authreq.c) */
	if (unlikely(c->req.authreq) && authreq_resuming(c, al, &code))
		i = n;
	for (; i <= n; i++) {
		/* auth_request comes last, as nginx's module order runs it */
		int rc = i < n ? checks[i](c, al) : authreq_check(c, al, code);

		if (rc == AC_DECLINED)
			continue;
		if (i == n && rc == AUTHREQ_AGAIN)
			return AUTH_AGAIN;
		if (al->auth.satisfy == AUTH_SATISFY_ALL) {
			if (rc != AC_OK)
				return rc;
			continue;
		}
		if (rc == AC_OK) {
			/* nginx drops a challenge an earlier check set */
			c->req.resp_www_auth = (struct lstr){NULL, 0};
			return 0;
		}
		if (rc == 401 || rc == 403) {
			if (code != 401)
				code = rc;
			continue;
		}
		return rc;
	}
	if (code == 401)
		return 401;
	if (code == 403) /* satisfy any: logged once the refusal is final */
		http_log(c, NULL, LOG_ERR, "access forbidden by rule");
	return code;
}
