/* SPDX-License-Identifier: MIT */
/*
 * memcached requests and answers (memcached_pass): the "get" line built
 * from $memcached_key, the answer's first line read as nginx's memcached
 * module reads it, and the HTTP head proxy.c relays in its place. proxy.c
 * drives the connection; the value is relayed as a Content-Length body.
 *
 * Owns nothing beyond the request pool.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cfg-t.h"
#include "http.h"
#include "memc.h"
#include "pool.h"
#include "var.h"

static const char trailer[] = "\r\nEND\r\n";

/* escaped - whether nginx's memcached key escape takes byte CH. */
static bool escaped(unsigned char ch)
{
	return ch <= ' ' || ch == '%';
}

size_t memc_key_escape(char *dst, const char *key, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)key[i];

		if (!escaped(ch)) {
			if (dst)
				dst[len] = (char)ch;
			len++;
			continue;
		}
		if (dst) {
			dst[len] = '%';
			dst[len + 1] = hex[ch >> 4];
			dst[len + 2] = hex[ch & 15];
		}
		len += 3;
	}
	return len;
}

int memc_build_request(struct conn *c, struct lstr *out, struct lstr *key)
{
	const struct memc_loc *m = &c->req.loc->memc;
	struct lstr v = {NULL, 0};
	size_t kl;
	char *buf;

	if (m->key && cval_eval(m->key, c, &v))
		return -ENOMEM;
	if (!v.len)
		return -ENOENT;
	kl = memc_key_escape(NULL, v.p, v.len);
	buf = pool_alloc(&c->pool, 4 + kl + 2);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, "get ", 4);
	memc_key_escape(buf + 4, v.p, v.len);
	memcpy(buf + 4 + kl, "\r\n", 2);
	*out = (struct lstr){buf, 4 + kl + 2};
	*key = (struct lstr){buf + 4, kl};
	return 0;
}

/* number - the decimal digits [P, E) as nginx's ngx_atoof reads them: at
 * least one, nothing else, no overflow. */
static bool number(const char *p, const char *e, uint64_t *out)
{
	uint64_t v = 0;

	if (p == e)
		return false;
	for (; p < e; p++) {
		if (*p < '0' || *p > '9')
			return false;
		if (v > (INT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return true;
}

enum memc_rc memc_parse_line(const char *p, size_t n, struct lstr key, unsigned gzip_flag,
			     struct memc_line *out)
{
	const char *lf = memchr(p, '\n', n), *e, *q, *sp;
	uint64_t flags;

	if (!lf)
		return MEMC_MORE;
	*out = (struct memc_line){.len = (size_t)(lf - p) + 1, .text = {p, (size_t)(lf - p)}};
	if (lf == p || lf[-1] != '\r')
		return MEMC_BAD;
	out->text.len--;
	e = lf - 1; /* the CR */
	if (out->text.len >= 6 && memcmp(p, "VALUE ", 6) == 0) {
		q = p + 6;
		if ((size_t)(lf - q) < key.len || memcmp(q, key.p, key.len) != 0)
			return MEMC_BAD_KEY;
		q += key.len;
		if (*q++ != ' ')
			return MEMC_BAD;
		/* the flags end at the next space; nginx reads the line as a C
		 * string, so a NUL ends it */
		for (sp = q; sp < lf && *sp != ' ' && *sp != '\0'; sp++)
			;
		if (sp == lf || *sp != ' ')
			return MEMC_BAD;
		if (gzip_flag) {
			if (!number(q, sp, &flags))
				return MEMC_BAD_FLAGS;
			out->gzip = (flags & gzip_flag) != 0;
		}
		if (!number(sp + 1, e, &out->length))
			return MEMC_BAD_LENGTH;
		return MEMC_HIT;
	}
	if (out->text.len == 3 && memcmp(p, "END", 3) == 0)
		return MEMC_MISS;
	return MEMC_BAD;
}

size_t memc_head_put(char *dst, size_t cap, bool miss, uint64_t length, const char *ctype,
		     bool gzip)
{
	int k;

	if (miss)
		k = snprintf(dst, cap, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	else
		k = snprintf(dst, cap, "HTTP/1.1 200 OK\r\n%s%s%sContent-Length: %llu\r\n%s\r\n",
			     ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
			     (unsigned long long)length, gzip ? "Content-Encoding: gzip\r\n" : "");
	return k < 0 || (size_t)k >= cap ? 0 : (size_t)k;
}

bool memc_trailer_ok(const char *p, size_t n, size_t off)
{
	return off <= MEMC_TRAILER_LEN && n <= MEMC_TRAILER_LEN - off &&
	       memcmp(p, trailer + off, n) == 0;
}
