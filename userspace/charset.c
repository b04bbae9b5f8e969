/* SPDX-License-Identifier: MIT */
/*
 * nginx's charset filter, the part that names a charset: a response whose
 * Content-Type is one of charset_types and says no charset of its own gets
 * "; charset=NAME" from the location's `charset`. What nginx would recode
 * (a different source_charset, charset_map, override_charset) is refused
 * by cfg_charset.c, so nothing here changes a body.
 */
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "charset.h"
#include "http.h"
#include "pool.h"

/* nginx's default charset_types */
static const char *const default_types[] = {
	"text/html",
	"text/xml",
	"text/plain",
	"text/vnd.wap.wml",
	"application/javascript",
	"application/rss+xml",
};

/* has_charset_param - whether an upstream's type names a charset: nginx's
 * upstream module looks for ";", spaces, then "charset=" (any case), and
 * stops at the end of the value. */
static bool has_charset_param(struct lstr ct)
{
	for (size_t i = 0; i < ct.len; i++) {
		size_t k = i + 1;

		if (ct.p[i] != ';')
			continue;
		while (k < ct.len && ct.p[k] == ' ')
			k++;
		if (k == ct.len)
			return false;
		if (ct.len - k >= 8 && strncasecmp(ct.p + k, "charset=", 8) == 0)
			return true;
		i = k; /* nginx's loop resumes after the first byte past the spaces */
	}
	return false;
}

/* type_listed - whether the whole of CT (case ignored) is one of G's
 * types: nginx looks the type up with its parameters, so
 * "text/html; q=1" is no "text/html". A charset_types list always has
 * text/html too (nginx's types slot seeds it with its first default). */
static bool type_listed(const struct charset_loc *g, struct lstr ct)
{
	if (g->types_any)
		return true;
	if (!g->types_set) {
		for (size_t i = 0; i < sizeof(default_types) / sizeof(default_types[0]); i++)
			if (strlen(default_types[i]) == ct.len &&
			    strncasecmp(default_types[i], ct.p, ct.len) == 0)
				return true;
		return false;
	}
	/* nginx's charset_types list starts with text/html, whatever it says */
	if (ct.len == 9 && strncasecmp(ct.p, "text/html", 9) == 0)
		return true;
	for (int i = 0; i < g->ntypes; i++)
		if (strlen(g->types[i]) == ct.len && strncasecmp(g->types[i], ct.p, ct.len) == 0)
			return true;
	return false;
}

const char *charset_pick(const struct cfg_loc *l, int status, struct lstr ct, bool from_upstream)
{
	const struct charset_loc *g;

	if (!l)
		return NULL;
	g = &l->charset;
	if (!g->charset || !g->charset[0] || !ct.len)
		return NULL;
	if (from_upstream && has_charset_param(ct))
		return NULL; /* override_charset off */
	if (!type_listed(g, ct))
		return NULL;
	/* nginx: no charset on a redirect, for browsers that kept it for the
	 * next page */
	if (status == 301 || status == 302)
		return NULL;
	return g->charset;
}

struct lstr charset_ctype(struct conn *c, const struct cfg_loc *l, int status, struct lstr ct,
			  bool from_upstream)
{
	const char *cs = charset_pick(l, status, ct, from_upstream);
	size_t n;
	char *out;

	if (!cs)
		return ct;
	n = ct.len + 10 + strlen(cs);
	out = pool_alloc(&c->pool, n);
	if (!out)
		return ct;
	memcpy(out, ct.p, ct.len);
	memcpy(out + ct.len, "; charset=", 10);
	memcpy(out + ct.len + 10, cs, strlen(cs));
	return (struct lstr){out, n};
}
