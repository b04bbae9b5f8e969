/* SPDX-License-Identifier: MIT */
/*
 * proxy_cookie_domain and proxy_cookie_path at run time: an upstream's
 * Set-Cookie split into its attributes as nginx splits it (at ";", spaces
 * around names and values trimmed, "=" optional), the Domain and Path
 * values rewritten by the first matching rule, and the cookie joined
 * again with "; ". All memory is the request's pool.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "cookie.h"
#include "http.h"
#include "pool.h"
#include "var.h"

/* struct attr - one "key=value" or "flag" of a cookie; val.p NULL: no "=". */
struct attr {
	struct lstr key;
	struct lstr val;
};

/* parse - split S into A (room for every ";" + 1); returns the count. */
static int parse(struct lstr s, struct attr *a)
{
	const char *start = s.p, *end = s.p + s.len;
	int n = 0;

	for (;;) {
		const char *last = memchr(start, ';', (size_t)(end - start)), *p;

		if (!last)
			last = end;
		while (start < last && *start == ' ')
			start++;
		for (p = start; p < last && *p != '='; p++)
			;
		a[n].key = (struct lstr){start, (size_t)(p - start)};
		while (a[n].key.len && start[a[n].key.len - 1] == ' ')
			a[n].key.len--;
		if (p < last) {
			for (p++; p < last && *p == ' '; p++)
				;
			a[n].val = (struct lstr){p, (size_t)(last - p)};
			while (a[n].val.len && p[a[n].val.len - 1] == ' ')
				a[n].val.len--;
		} else {
			a[n].val = (struct lstr){NULL, 0};
		}
		n++;
		if (last == end)
			return n;
		start = last + 1;
	}
}

/* splice - V with LEN bytes at OFF replaced by R, from C's pool. */
static int splice_val(struct conn *c, struct lstr *v, size_t off, size_t len, struct lstr r)
{
	size_t n = v->len - len + r.len;
	char *o = pool_alloc(&c->pool, n ? n : 1);

	if (!o)
		return -ENOMEM;
	memcpy(o, v->p, off);
	memcpy(o + off, r.p, r.len);
	memcpy(o + off + r.len, v->p + off + len, v->len - off - len);
	*v = (struct lstr){o, n};
	return 1;
}

/* apply - the first of RW[0..N) that matches *V replaces it (DOMAIN: the
 * domain rules, a leading dot kept and not compared). 1, 0 or -errno. */
static int apply(struct conn *c, const struct cookie_rewrite *rw, int n, bool domain,
		 struct lstr *v)
{
	for (int i = 0; i < n; i++) {
		struct lstr from, to;
		int m;

		if (rw[i].re) {
			/* the value lives in the pool, as the captures must */
			m = var_regex_exec(c, rw[i].re, v->p, v->len);
			if (m < 0)
				return m;
			if (!m)
				continue;
			if (cval_eval(&rw[i].to, c, &to))
				return -ENOMEM;
			return splice_val(c, v, 0, v->len, to);
		}
		if (cval_eval(&rw[i].from, c, &from))
			return -ENOMEM;
		if (domain) {
			size_t dot = v->len && v->p[0] == '.';

			if (from.len != v->len - dot || strncasecmp(from.p, v->p + dot, from.len))
				continue;
			if (cval_eval(&rw[i].to, c, &to))
				return -ENOMEM;
			return splice_val(c, v, dot, from.len, to);
		}
		if (from.len > v->len || memcmp(from.p, v->p, from.len))
			continue;
		if (cval_eval(&rw[i].to, c, &to))
			return -ENOMEM;
		return splice_val(c, v, 0, from.len, to);
	}
	return 0;
}

/* proxy_cookie_flags bits, as nginx's masks */
enum {
	CF_SECURE_ON = 1 << 0,
	CF_SECURE_OFF = 1 << 1,
	CF_HTTPONLY_ON = 1 << 2,
	CF_HTTPONLY_OFF = 1 << 3,
	CF_SAMESITE_STRICT = 1 << 4,
	CF_SAMESITE_LAX = 1 << 5,
	CF_SAMESITE_NONE = 1 << 6,
	CF_SAMESITE_OFF = 1 << 7,
};

static const struct {
	const char *name;
	int bit;
} cf_names[] = {
	{"secure", CF_SECURE_ON},
	{"nosecure", CF_SECURE_OFF},
	{"httponly", CF_HTTPONLY_ON},
	{"nohttponly", CF_HTTPONLY_OFF},
	{"samesite=strict", CF_SAMESITE_STRICT},
	{"samesite=lax", CF_SAMESITE_LAX},
	{"samesite=none", CF_SAMESITE_NONE},
	{"nosamesite", CF_SAMESITE_OFF},
};

static bool is(struct lstr s, const char *word)
{
	return s.len == strlen(word) && strncasecmp(s.p, word, s.len) == 0;
}

/* flag_bits - the bits of the first rule of K naming cookie NAME (0: none
 * applies, or its flags name nothing known). -errno on failure. */
static int flag_bits(struct conn *c, const struct cookie_loc *k, struct lstr name)
{
	const struct cookie_flags *r = NULL;
	int f = 0;

	for (int i = 0; i < k->nflags && !r; i++) {
		struct lstr pat;
		int m;

		if (k->flags[i].re) {
			m = var_regex_exec(c, k->flags[i].re, name.p, name.len);
			if (m < 0)
				return m;
		} else {
			if (cval_eval(&k->flags[i].name, c, &pat))
				return -ENOMEM;
			m = pat.len == name.len && strncasecmp(pat.p, name.p, name.len) == 0;
		}
		if (m)
			r = &k->flags[i];
	}
	for (int i = 0; r && i < r->nflags; i++) {
		struct lstr v;

		if (cval_eval(&r->flags[i], c, &v))
			return -ENOMEM;
		for (size_t m = 0; v.len && m < sizeof(cf_names) / sizeof(cf_names[0]); m++)
			if (is(v, cf_names[m].name)) {
				f |= cf_names[m].bit;
				break;
			}
	}
	return f;
}

/* set_samesite - attribute A becomes "SameSite=WANT" unless it says WANT. */
static void set_samesite(struct attr *a, const char *want)
{
	if (!is(a->val, want)) {
		a->key = LSTR("SameSite");
		a->val = lstr_c(want);
	}
}

/* edit_flags - nginx's edit of the flags F on A[1..*N): present ones kept
 * or dropped (key.p NULL), SameSite values normalised, missing ones
 * appended (room for three). */
static void edit_flags(struct attr *a, int *n, int f)
{
	for (int i = 1; i < *n; i++) {
		if (is(a[i].key, "secure")) {
			if (f & CF_SECURE_ON)
				f &= ~CF_SECURE_ON;
			else if (f & CF_SECURE_OFF)
				a[i].key.p = NULL;
		} else if (is(a[i].key, "httponly")) {
			if (f & CF_HTTPONLY_ON)
				f &= ~CF_HTTPONLY_ON;
			else if (f & CF_HTTPONLY_OFF)
				a[i].key.p = NULL;
		} else if (is(a[i].key, "samesite")) {
			if (f & CF_SAMESITE_STRICT) {
				f &= ~CF_SAMESITE_STRICT;
				set_samesite(&a[i], "Strict");
			} else if (f & CF_SAMESITE_LAX) {
				f &= ~CF_SAMESITE_LAX;
				set_samesite(&a[i], "Lax");
			} else if (f & CF_SAMESITE_NONE) {
				f &= ~CF_SAMESITE_NONE;
				set_samesite(&a[i], "None");
			} else if (f & CF_SAMESITE_OFF) {
				a[i].key.p = NULL;
			}
		}
	}
	if (f & CF_SECURE_ON)
		a[(*n)++] = (struct attr){LSTR("Secure"), {NULL, 0}};
	if (f & CF_HTTPONLY_ON)
		a[(*n)++] = (struct attr){LSTR("HttpOnly"), {NULL, 0}};
	if (f & (CF_SAMESITE_STRICT | CF_SAMESITE_LAX | CF_SAMESITE_NONE))
		a[(*n)++] = (struct attr){LSTR("SameSite"), f & CF_SAMESITE_STRICT ? LSTR("Strict")
							    : f & CF_SAMESITE_LAX  ? LSTR("Lax")
										   : LSTR("None")};
}

int cookie_rewrite(struct conn *c, const struct cookie_loc *k, struct lstr in, struct lstr *out)
{
	struct attr *a;
	char *copy, *o;
	size_t len = 0;
	int n = 1, rv = 0;

	*out = in;
	for (size_t i = 0; i < in.len; i++)
		n += in.p[i] == ';';
	a = pool_alloc(&c->pool, sizeof(*a) * (size_t)(n + 3)); /* + appended flags */
	copy = pool_alloc(&c->pool, in.len ? in.len : 1);
	if (!a || !copy)
		return -ENOMEM;
	memcpy(copy, in.p, in.len);
	n = parse((struct lstr){copy, in.len}, a);
	if (!a[0].val.p)
		return 0;
	for (int i = 1; i < n; i++) {
		int r = 0;

		if (!a[i].val.p)
			continue;
		if (k->ndomains && a[i].key.len == 6 && strncasecmp(a[i].key.p, "domain", 6) == 0)
			r = apply(c, k->domains, k->ndomains, true, &a[i].val);
		if (r < 0)
			return r;
		rv |= r;
		r = 0;
		if (k->npaths && a[i].key.len == 4 && strncasecmp(a[i].key.p, "path", 4) == 0)
			r = apply(c, k->paths, k->npaths, false, &a[i].val);
		if (r < 0)
			return r;
		rv |= r;
	}
	if (k->nflags) {
		int f = flag_bits(c, k, a[0].key);

		if (f < 0)
			return f;
		if (f) {
			edit_flags(a, &n, f);
			rv = 1;
		}
	}
	if (!rv)
		return 0;
	for (int i = 0; i < n; i++)
		if (a[i].key.p)
			len += (i ? 2 : 0) + a[i].key.len + (a[i].val.p ? 1 + a[i].val.len : 0);
	o = pool_alloc(&c->pool, len ? len : 1);
	if (!o)
		return -ENOMEM;
	out->p = o;
	out->len = len;
	for (int i = 0; i < n; i++) {
		if (!a[i].key.p)
			continue; /* dropped by a flag */
		if (i) {
			memcpy(o, "; ", 2);
			o += 2;
		}
		memcpy(o, a[i].key.p, a[i].key.len);
		o += a[i].key.len;
		if (a[i].val.p) {
			*o++ = '=';
			memcpy(o, a[i].val.p, a[i].val.len);
			o += a[i].val.len;
		}
	}
	return 1;
}
