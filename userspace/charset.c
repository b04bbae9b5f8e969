/* SPDX-License-Identifier: MIT */
/*
 * nginx's charset filter, the header half: the destination charset (the
 * location's `charset`, a constant or a variable's value), the source
 * charset (the upstream answer's "charset=" parameter under
 * override_charset on, else source_charset), and from them what nginx
 * 1.22 does: append "; charset=NAME", leave the type alone, or recode the
 * body with a charset_map's table (which subfilter.c's body stage runs,
 * before gzip, as nginx's filter order has it).
 */
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "charset.h"
#include "http.h"
#include "log.h"
#include "pool.h"
#include "var.h"

/* nginx's default charset_types */
static const char *const default_types[] = {
	"text/html",
	"text/xml",
	"text/plain",
	"text/vnd.wap.wml",
	"application/javascript",
	"application/rss+xml",
};

/* upstream_charset - nginx's upstream module reading a type: after a ";"
 * and spaces, "charset=" (any case) starts the charset, which runs to the
 * end of the value (quotes off). *tlen: where the type ends for the
 * charset filter (the ";" before the charset, else the last ";", else the
 * whole). True when a charset is named. */
static bool upstream_charset(struct lstr ct, size_t *tlen, struct lstr *cs)
{
	size_t last = ct.len;

	for (size_t i = 0; i < ct.len; i++) {
		size_t k = i + 1;

		if (ct.p[i] != ';')
			continue;
		last = i;
		while (k < ct.len && ct.p[k] == ' ')
			k++;
		if (k == ct.len)
			break;
		if (ct.len - k >= 8 && strncasecmp(ct.p + k, "charset=", 8) == 0) {
			size_t a = k + 8, z = ct.len;

			if (a < z && ct.p[a] == '"')
				a++;
			if (z > a && ct.p[z - 1] == '"')
				z--;
			*tlen = i;
			*cs = (struct lstr){ct.p + a, z - a};
			return true;
		}
		i = k; /* nginx's loop resumes after the first byte past the spaces */
	}
	*tlen = last;
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

/* lookup - the charset named N in M (case ignored), NULL when the
 * configuration names no such charset. */
static const char *lookup(const struct charset_main *m, struct lstr n)
{
	for (int i = 0; m && i < m->nnames; i++)
		if (strlen(m->names[i]) == n.len && strncasecmp(m->names[i], n.p, n.len) == 0)
			return m->names[i];
	return NULL;
}

/* name_of - a charset setting's name for this response: the constant, or
 * the variable's value (an empty one names no charset). A variable that
 * is not found (nginx's not_found: $http_X without the header) fails the
 * request, as nginx's header filter returns an error then: *FAIL is set
 * and the name is empty. */
static struct lstr name_of(struct conn *c, const char *name, const struct cval *v, bool *fail)
{
	struct lstr out = {"", 0};
	int rc;

	if (!v)
		return lstr_c(name);
	/* "$name" is one variable; only then is "not found" known */
	rc = v->nparts == 1 && !v->literal ? cval_part_eval(&v->parts[0], c, &out)
					   : cval_eval(v, c, &out);
	if (rc == VAR_NOT_FOUND)
		*fail = true;
	if (rc || !out.p)
		return (struct lstr){"", 0};
	return out;
}

/* struct decision - what the filter does to one response. */
struct decision {
	bool touch;		       /* the type changes (else it goes as it came) */
	size_t tlen;		       /* the type's bytes kept before "; charset=" */
	struct lstr dst;	       /* the charset appended (empty: none) */
	const struct recode_table *rt; /* recode the body with this, or NULL */
	bool keep_encoded;	       /* recoding needed, but the answer is encoded */
};

/* decide - nginx's charset header filter for a response of STATUS typed
 * CT under L. LOG: write nginx's error when no charset_map joins the two
 * charsets. */
static void decide(struct conn *c, const struct cfg_loc *l, int status, struct lstr ct,
		   bool from_upstream, bool encoded, bool log, struct decision *d)
{
	const struct charset_loc *g;
	const struct charset_main *m;
	struct lstr up = {NULL, 0}, dst, src;
	const char *di, *si;
	size_t tlen = ct.len;
	bool has;

	memset(d, 0, sizeof(*d));
	if (!l || !ct.len)
		return;
	g = &l->charset;
	if (!g->charset || !g->charset[0])
		return;
	has = from_upstream && upstream_charset(ct, &tlen, &up);
	if (has ? !g->override_on : !type_listed(g, ct))
		return;
	m = c->cfg && c->cfg->http ? c->cfg->http->cs : NULL;
	dst = name_of(c, g->charset, g->charset_v, &c->req.cs_fail);
	if (c->req.cs_fail)
		return;
	di = lookup(m, dst);
	d->tlen = from_upstream ? tlen : ct.len;
	/* nginx names no charset on a redirect, for browsers that kept it for
	 * the next page */
	d->dst = status == 301 || status == 302 ? (struct lstr){"", 0} : dst;
	if (!has && (!g->source || !g->source[0])) {
		/* no source charset: the name goes after a type that has no
		 * parameters left over (nginx's header filter) */
		d->touch = d->tlen == ct.len;
		return;
	}
	src = has ? up : name_of(c, g->source, g->source_v, &c->req.cs_fail);
	if (c->req.cs_fail) {
		memset(d, 0, sizeof(*d));
		return;
	}
	si = lookup(m, src);
	if (!di || !si) {
		if (di != si || dst.len > src.len || strncasecmp(dst.p, src.p, dst.len) != 0)
			goto no_map;
		d->touch = !has && d->tlen == ct.len;
		return;
	}
	if (si == di) {
		d->touch = true;
		return;
	}
	if (encoded) {
		d->keep_encoded = true;
		return;
	}
	d->rt = charset_table(m, si, di);
	if (!d->rt)
		goto no_map;
	d->touch = true;
	return;
no_map:
	if (log)
		http_log(c, NULL, LOG_ERR,
			 "no \"charset_map\" between the charsets \"%.*s\" and \"%.*s\"",
			 (int)src.len, src.p, (int)dst.len, dst.p);
}

const struct recode_table *charset_recoder(struct conn *c, const struct cfg_loc *l, int status,
					   struct lstr ct, bool from_upstream, bool encoded)
{
	struct decision d;

	decide(c, l, status, ct, from_upstream, encoded, false, &d);
	if (from_upstream)
		c->req.cs_keep_type = d.keep_encoded;
	return d.rt;
}

/* ctype - charset_ctype, with ENCODED: the body has a Content-Encoding. */
static struct lstr ctype(struct conn *c, const struct cfg_loc *l, int status, struct lstr ct,
			 bool from_upstream, bool encoded)
{
	struct decision d;
	size_t n;
	char *out;

	if (from_upstream && c->req.cs_keep_type)
		return ct;
	decide(c, l, status, ct, from_upstream, encoded, true, &d);
	if (!d.touch)
		return ct;
	if (!d.dst.len)
		return (struct lstr){ct.p, d.tlen};
	n = d.tlen + 10 + d.dst.len;
	out = pool_alloc(&c->pool, n);
	if (!out)
		return ct;
	memcpy(out, ct.p, d.tlen);
	memcpy(out + d.tlen, "; charset=", 10);
	memcpy(out + d.tlen + 10, d.dst.p, d.dst.len);
	return (struct lstr){out, n};
}

struct lstr charset_ctype(struct conn *c, const struct cfg_loc *l, int status, struct lstr ct,
			  bool from_upstream)
{
	return ctype(c, l, status, ct, from_upstream, false);
}

struct lstr charset_ctype_encoded(struct conn *c, const struct cfg_loc *l, int status,
				  struct lstr ct)
{
	return ctype(c, l, status, ct, false, true);
}
