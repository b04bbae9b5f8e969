/* SPDX-License-Identifier: MIT */
/*
 * Complex values: the compiler that turns "$scheme://$host$request_uri"
 * into parts at configuration time, and their evaluation on the request
 * path, with the variables that are resolved by name at run time: the
 * prefix variables ($http_NAME from the request headers nginx keeps,
 * $cookie_NAME, $arg_NAME, $sent_http_NAME, $upstream_http_NAME,
 * $upstream_cookie_NAME), `set` variables, and the captures of the
 * request's last regex match ($1..$9, named groups). Builtin variables are
 * var.c's table, maps var_map.c's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "var.h"
#include "var_int.h"

#define VAR_STACK_PARTS 16 /* parts evaluated without a pool array */

/* ------------------------------------------------------------------ */
/* prefixes                                                             */

/* Prefixes, indexed by enum var_prefix. */
static const struct {
	const char *name; /* with its '_' */
	size_t len;	  /* length */
	bool supported;	  /* false: refused at configuration time */
} var_prefixes[] = {
	[VAR_PFX_HTTP] = {"http_", 5, true},
	[VAR_PFX_ARG] = {"arg_", 4, true},
	[VAR_PFX_COOKIE] = {"cookie_", 7, true},
	[VAR_PFX_SENT_HTTP] = {"sent_http_", 10, true},
	[VAR_PFX_UPSTREAM_HTTP] = {"upstream_http_", 14, true},
	[VAR_PFX_UPSTREAM_COOKIE] = {"upstream_cookie_", 16, true},
	[VAR_PFX_UPSTREAM_TRAILER] = {"upstream_trailer_", 17, false},
};

int var_prefix_index(const char *name, size_t len, size_t *suffix_off)
{
	for (size_t i = 0; i < ARRAY_SIZE(var_prefixes); i++) {
		if (len >= var_prefixes[i].len &&
		    strncasecmp(name, var_prefixes[i].name, var_prefixes[i].len) == 0) {
			*suffix_off = var_prefixes[i].len;
			return (int)i;
		}
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* request headers                                                      */

static const struct h1_header *var_hdrs(const struct conn *c, size_t *n)
{
	*n = c->req.h1.nheaders;
	return req_hdrs(&c->req);
}

/* var_hdr_ok - whether nginx keeps header H (ignore_invalid_headers, on by
 * default, drops names outside [A-Za-z0-9-], and '_' unless
 * underscores_in_headers is on). */
static bool var_hdr_ok(const struct conn *c, const struct h1_header *h)
{
	const struct cfg_srv *s = c->req.srv;

	if (s && s->ignore_invalid_headers == 0)
		return true;
	if (h->invalid || h->symbol)
		return false;
	return !h->underscore || (s && s->underscores_in_headers == 1);
}

/* var_hdr_next - the next kept header at or after *i named NAME (case
 * ignored), or NULL. */
const struct h1_header *var_hdr_next(const struct conn *c, size_t *i, const char *name)
{
	size_t n;
	const struct h1_header *h = var_hdrs(c, &n);

	for (; *i < n; (*i)++) {
		if (h1_str_ieq(h[*i].name, name) && var_hdr_ok(c, &h[*i]))
			return &h[(*i)++];
	}
	return NULL;
}

/* var_hdr_joined - every NAME header joined by "SEP " (nginx's
 * ngx_http_variable_headers_internal: Cookie and X-Forwarded-For). */
int var_hdr_joined(struct conn *c, struct lstr *out, const char *name, char sep)
{
	const struct h1_header *h, *first = NULL;
	size_t i = 0, len = 0, count = 0;
	char *p, *q;

	while ((h = var_hdr_next(c, &i, name))) {
		if (!first)
			first = h;
		len += h->value.len + 2;
		count++;
	}
	if (!count)
		return VAR_NOT_FOUND;
	if (count == 1) {
		*out = var_h1(first->value);
		return VAR_FOUND;
	}
	len -= 2;
	p = pool_alloc(&c->pool, len);
	if (!p)
		return -ENOMEM;
	q = p;
	i = 0;
	while ((h = var_hdr_next(c, &i, name))) {
		if (q != p) {
			*q++ = sep;
			*q++ = ' ';
		}
		if (h->value.len)
			memcpy(q, h->value.p, h->value.len);
		q += h->value.len;
	}
	return var_set(out, p, len);
}

/* var_http_prefix - $http_NAME: the first kept header whose name, lowercased
 * and with '-' read as '_', equals NAME (already lowercase). */
static int var_http_prefix(struct conn *c, const char *name, size_t len, struct lstr *out)
{
	size_t n;
	const struct h1_header *h = var_hdrs(c, &n);

	for (size_t i = 0; i < n; i++) {
		size_t k;

		if (h[i].name.len != len || !var_hdr_ok(c, &h[i]))
			continue;
		for (k = 0; k < len; k++) {
			char ch = var_lower(h[i].name.p[k]);

			if (ch == '-')
				ch = '_';
			if (ch != name[k])
				break;
		}
		if (k == len) {
			*out = var_h1(h[i].value);
			return VAR_FOUND;
		}
	}
	return VAR_NOT_FOUND;
}

bool var_wants_sent_head;
bool var_wants_upstream_head;

/* var_name_eq - whether header name N (LEN bytes) is NAME (lowercase,
 * '_' for '-'), as the prefix variables compare them. */
static bool var_name_eq(const char *n, const char *name, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		char ch = var_lower(n[k]);

		if ((ch == '-' ? '_' : ch) != name[k])
			return false;
	}
	return true;
}

/* var_head_field - in HEAD (a status line and header lines as sent or
 * received), the value of the first header NAME ($sent_http_NAME,
 * $upstream_http_NAME); with COOKIE, the value of cookie NAME in the
 * first Set-Cookie that sets it ($upstream_cookie_NAME). */
static int var_head_field(struct lstr head, const char *name, size_t len, bool cookie,
			  struct lstr *out)
{
	const char *p = head.p, *end = head.p + head.len;

	if (!p)
		return VAR_NOT_FOUND;
	p = memchr(p, '\n', head.len); /* past the status line */
	while (p && ++p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *colon, *v, *ve;

		if (!eol || eol == p || (eol == p + 1 && *p == '\r'))
			break; /* the empty line */
		ve = eol[-1] == '\r' ? eol - 1 : eol;
		colon = memchr(p, ':', (size_t)(ve - p));
		if (colon) {
			for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++)
				;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if (!cookie && (size_t)(colon - p) == len && var_name_eq(p, name, len)) {
				*out = (struct lstr){v, (size_t)(ve - v)};
				return VAR_FOUND;
			}
			if (cookie && colon - p == 10 && strncasecmp(p, "set-cookie", 10) == 0 &&
			    (size_t)(ve - v) > len && v[len] == '=' &&
			    strncasecmp(v, name, len) == 0) {
				const char *s = v + len + 1, *e = memchr(s, ';', (size_t)(ve - s));

				*out = (struct lstr){s, (size_t)((e ? e : ve) - s)};
				return VAR_FOUND;
			}
		}
		p = eol;
	}
	return VAR_NOT_FOUND;
}

/* var_cookie_scan - ngx_http_parse_multi_header_lines on one Cookie value,
 * quirks included (a name followed by neither '=' nor spaces then '='
 * swallows the next cookie). */
static bool var_cookie_scan(const char *s, const char *end, const char *name, size_t nlen,
			    struct lstr *out)
{
	while (s < end) {
		if ((size_t)(end - s) >= nlen && strncasecmp(s, name, nlen) == 0) {
			s += nlen;
			while (s < end && *s == ' ')
				s++;
			if (s < end && *s++ == '=') {
				const char *last;

				while (s < end && *s == ' ')
					s++;
				for (last = s; last < end && *last != ';'; last++)
					;
				out->p = s;
				out->len = (size_t)(last - s);
				return true;
			}
		}
		while (s < end) {
			char ch = *s++;

			if (ch == ';' || ch == ',')
				break;
		}
		while (s < end && *s == ' ')
			s++;
	}
	return false;
}

static int var_cookie(struct conn *c, const char *name, size_t len, struct lstr *out)
{
	const struct h1_header *h;
	size_t i = 0;

	while ((h = var_hdr_next(c, &i, "cookie"))) {
		if (len > h->value.len)
			continue;
		if (var_cookie_scan(h->value.p, h->value.p + h->value.len, name, len, out))
			return VAR_FOUND;
	}
	return VAR_NOT_FOUND;
}

int var_cookie_line(struct conn *c, const char *name, size_t len, struct lstr *out,
		    struct lstr *line)
{
	const struct h1_header *h;
	size_t i = 0;

	while ((h = var_hdr_next(c, &i, "cookie"))) {
		if (len > h->value.len)
			continue;
		if (var_cookie_scan(h->value.p, h->value.p + h->value.len, name, len, out)) {
			*line = (struct lstr){h->value.p, h->value.len};
			return VAR_FOUND;
		}
	}
	return VAR_NOT_FOUND;
}

/* var_arg - ngx_http_arg: the first NAME=VALUE of the query string where
 * NAME (case ignored) starts the string or follows '&'. */
static int var_arg(struct conn *c, const char *name, size_t len, struct lstr *out)
{
	struct lstr a = c->req.u.args;

	if (a.len == 0 || len == 0 || !a.p)
		return VAR_NOT_FOUND;
	for (size_t q = 0; q + len < a.len; q++) {
		const char *amp;

		if (var_lower(a.p[q]) != name[0] || strncasecmp(a.p + q, name, len) != 0)
			continue;
		if ((q != 0 && a.p[q - 1] != '&') || a.p[q + len] != '=')
			continue;
		amp = memchr(a.p + q + len + 1, '&', a.len - q - len - 1);
		out->p = a.p + q + len + 1;
		out->len = amp ? (size_t)(amp - out->p) : a.len - q - len - 1;
		return VAR_FOUND;
	}
	return VAR_NOT_FOUND;
}

/* ------------------------------------------------------------------ */
/* regexes and captures                                                 */

int var_regex_compile(const char *pattern, bool caseless, void **out, char *err, size_t errlen)
{
	pcre2_code *code;
	PCRE2_SIZE off;
	PCRE2_UCHAR msg[256];
	size_t plen = strlen(pattern);
	int ec;

	code = pcre2_compile((PCRE2_SPTR)pattern, plen, caseless ? PCRE2_CASELESS : 0, &ec, &off,
			     NULL);
	if (!code) {
		if (ec == PCRE2_ERROR_NOMEMORY || ec == PCRE2_ERROR_HEAPLIMIT)
			return -ENOMEM;
		pcre2_get_error_message(ec, msg, sizeof(msg));
		if (off >= plen)
			snprintf(err, errlen, "pcre2_compile() failed: %s in \"%s\"", (char *)msg,
				 pattern);
		else
			snprintf(err, errlen, "pcre2_compile() failed: %s in \"%s\" at \"%s\"",
				 (char *)msg, pattern, pattern + off);
		return -EINVAL;
	}
	/* Not every build has a JIT; the interpreter gives the same answers. */
	pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	*out = code;
	return 0;
}

static pthread_key_t var_md_key;
static pthread_once_t var_md_once = PTHREAD_ONCE_INIT;
static __thread pcre2_match_data *var_md;

static void var_md_free(void *md)
{
	pcre2_match_data_free(md);
}

static void var_md_init(void)
{
	pthread_key_create(&var_md_key, var_md_free);
}

/* var_match_data - this thread's match block ($0..$9), freed at exit. */
pcre2_match_data *var_match_data(void)
{
	if (!var_md) {
		pthread_once(&var_md_once, var_md_init);
		var_md = pcre2_match_data_create(HTTP_MAX_CAPTURES, NULL);
		if (var_md)
			pthread_setspecific(var_md_key, var_md);
	}
	return var_md;
}

int var_regex_exec(struct conn *c, void *re, const char *s, size_t len)
{
	struct http_captures *cap = &c->req.cap;
	pcre2_match_data *md = var_match_data();
	const PCRE2_SIZE *ov;
	int rc;

	if (!md)
		return -ENOMEM;
	rc = pcre2_match(re, (PCRE2_SPTR)(s ? s : ""), len, 0, 0, md, NULL);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return rc == PCRE2_ERROR_NOMEMORY ? -ENOMEM : -EINVAL;
	/* 0: more groups than the block holds; the first ten are set. */
	if (rc == 0 || rc > HTTP_MAX_CAPTURES)
		rc = HTTP_MAX_CAPTURES;
	ov = pcre2_get_ovector_pointer(md);
	for (int i = 0; i < 2 * rc; i++)
		cap->ovec[i] = ov[i];
	cap->n = rc;
	cap->subject = s ? s : "";
	cap->re = re;
	return 1;
}

/* var_regex_group - the group number of named group NAME (case ignored),
 * or -1. */
static int var_regex_group(const void *re, const char *name, size_t len)
{
	uint32_t count = 0, esize = 0;
	PCRE2_SPTR table = NULL;

	if (pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &count) != 0 || count == 0 ||
	    pcre2_pattern_info(re, PCRE2_INFO_NAMEENTRYSIZE, &esize) != 0 ||
	    pcre2_pattern_info(re, PCRE2_INFO_NAMETABLE, &table) != 0)
		return -1;
	for (uint32_t i = 0; i < count; i++, table += esize) {
		const char *gname = (const char *)table + 2;

		if (strlen(gname) == len && strncasecmp(gname, name, len) == 0)
			return table[0] << 8 | table[1];
	}
	return -1;
}

bool var_regex_has_name(const void *re, const char *name, size_t len)
{
	return var_regex_group(re, name, len) >= 0;
}

/* var_capture - group N of the last match; "" when it did not take part. */
static int var_capture(const struct conn *c, int n, struct lstr *out)
{
	const struct http_captures *cap = &c->req.cap;
	size_t s, e;

	*out = var_empty;
	if (n < 0 || n >= HTTP_MAX_CAPTURES || n >= cap->n || !cap->subject)
		return VAR_FOUND;
	s = cap->ovec[2 * n];
	e = cap->ovec[2 * n + 1];
	if (s == PCRE2_UNSET || e == PCRE2_UNSET || e < s)
		return VAR_FOUND;
	return var_set(out, cap->subject + s, e - s);
}

/* var_named - a `set` variable (the latest assignment wins), else a named
 * group of the last regex match. */
static int var_named(struct conn *c, const char *name, size_t len, struct lstr *out)
{
	const struct http_req *r = &c->req;
	int g;

	for (int i = r->nset_vars - 1; i >= 0; i--) {
		const struct lstr *n = &r->set_vars_name[i];

		if (n->len == len && strncasecmp(n->p, name, len) == 0) {
			*out = r->set_vars_val[i];
			if (!out->p)
				*out = var_empty;
			return VAR_FOUND;
		}
	}
	if (r->cap.re && (g = var_regex_group(r->cap.re, name, len)) >= 0)
		return var_capture(c, g, out);
	return VAR_NOT_FOUND;
}

/* ------------------------------------------------------------------ */
/* compile and evaluate                                                 */

static int var_prefix_get(struct conn *c, int kind, const char *name, size_t len, struct lstr *out)
{
	switch (kind) {
	case VAR_PFX_HTTP:
		return var_http_prefix(c, name, len, out);
	case VAR_PFX_ARG:
		return var_arg(c, name, len, out);
	case VAR_PFX_COOKIE:
		return var_cookie(c, name, len, out);
	case VAR_PFX_SENT_HTTP:
		return var_head_field(http_sent_head(c), name, len, false, out);
	case VAR_PFX_UPSTREAM_HTTP:
		return var_head_field(c->req.up_head, name, len, false, out);
	case VAR_PFX_UPSTREAM_COOKIE:
		return var_head_field(c->req.up_head, name, len, true, out);
	default:
		return VAR_NOT_FOUND;
	}
}

int cval_part_eval(const struct cval_part *p, struct conn *c, struct lstr *out)
{
	int rc;

	*out = var_empty;
	switch (p->kind) {
	case CVAL_LIT:
		return var_set(out, p->str, p->len);
	case CVAL_VAR:
		if ((unsigned)p->idx >= VAR_NBUILTINS)
			return VAR_NOT_FOUND;
		rc = var_builtins[p->idx].get(c, out);
		break;
	case CVAL_PREFIX:
		rc = var_prefix_get(c, p->idx, p->str, p->len, out);
		break;
	case CVAL_MAP:
		return map_eval(p->map, c, out);
	case CVAL_CAPTURE:
		return var_capture(c, p->idx, out);
	case CVAL_NAMED:
		rc = var_named(c, p->str, p->len, out);
		break;
	default:
		return VAR_NOT_FOUND;
	}
	if (rc == VAR_NOT_FOUND)
		*out = var_empty;
	return rc;
}

int cval_eval(const struct cval *cv, struct conn *c, struct lstr *out)
{
	struct lstr stackv[VAR_STACK_PARTS], *v = stackv;
	size_t total = 0;
	char *buf, *q;
	int rc;

	if (cv->nparts == 0) {
		*out = var_empty;
		return 0;
	}
	if (cv->literal)
		return var_set(out, cv->parts[0].str, cv->parts[0].len);
	if (cv->nparts == 1) {
		rc = cval_part_eval(&cv->parts[0], c, out);
		return rc < 0 ? rc : 0;
	}
	if (cv->nparts > VAR_STACK_PARTS) {
		v = pool_alloc(&c->pool, (size_t)cv->nparts * sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	for (int i = 0; i < cv->nparts; i++) {
		rc = cval_part_eval(&cv->parts[i], c, &v[i]);
		if (rc < 0)
			return rc;
		total += v[i].len;
	}
	buf = pool_alloc(&c->pool, total ? total : 1);
	if (!buf)
		return -ENOMEM;
	q = buf;
	for (int i = 0; i < cv->nparts; i++) {
		if (v[i].len)
			memcpy(q, v[i].p, v[i].len);
		q += v[i].len;
	}
	return var_set(out, buf, total);
}

static int var_unresolved_push(struct cval_ctx *ctx, struct cval_part *p)
{
	if (ctx->nunresolved >= ctx->capunresolved) {
		int cap = ctx->capunresolved ? ctx->capunresolved * 2 : 8;
		struct cval_part **a = pool_alloc(ctx->pool, (size_t)cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		if (ctx->nunresolved)
			memcpy(a, ctx->unresolved, (size_t)ctx->nunresolved * sizeof(*a));
		ctx->unresolved = a;
		ctx->capunresolved = cap;
	}
	ctx->unresolved[ctx->nunresolved++] = p;
	return 0;
}

int cval_resolve(struct cval_ctx *ctx, const char *name, size_t len, struct cval_part *p, char *err,
		 size_t errlen)
{
	char *low = pool_alloc(ctx->pool, len + 1);
	size_t off;
	int idx;

	if (!low)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++)
		low[i] = var_lower(name[i]);
	low[len] = '\0';
	memset(p, 0, sizeof(*p));
	p->str = low;
	p->len = len;
	idx = var_builtin_index(low, len);
	if (idx >= 0) {
		p->kind = CVAL_VAR;
		p->idx = idx;
		if (len == 17 && memcmp(low, "request_body_file", 17) == 0)
			ctx->body_file_used = true;
		return 0;
	}
	for (struct cfg_map *m = ctx->maps; m; m = m->next) {
		if (m->name && strlen(m->name) == len && strncasecmp(m->name, low, len) == 0) {
			p->kind = CVAL_MAP;
			p->map = m;
			return 0;
		}
	}
	idx = var_prefix_index(low, len, &off);
	if (idx >= 0) {
		if (!var_prefixes[idx].supported) {
			snprintf(err, errlen, "variable \"$%.*s\" is not supported yet", (int)len,
				 name);
			return -EINVAL;
		}
		if (idx == VAR_PFX_SENT_HTTP)
			var_wants_sent_head = true;
		else if (idx == VAR_PFX_UPSTREAM_HTTP || idx == VAR_PFX_UPSTREAM_COOKIE)
			var_wants_upstream_head = true;
		p->kind = CVAL_PREFIX;
		p->idx = idx;
		p->str = low + off;
		p->len = len - off;
		return 0;
	}
	p->kind = CVAL_NAMED;
	return var_unresolved_push(ctx, p);
}

int cval_compile(struct cval_ctx *ctx, const char *text, struct cval *out, char *err, size_t errlen)
{
	size_t len = strlen(text), ndollar = 0, i = 0;
	struct cval_part *parts;
	int n = 0, rc;

	memset(out, 0, sizeof(*out));
	out->raw = pool_strndup(ctx->pool, text, len);
	if (!out->raw)
		return -ENOMEM;
	for (size_t k = 0; k < len; k++)
		ndollar += text[k] == '$';
	if (ndollar == 0) {
		out->literal = true;
		if (len == 0)
			return 0;
		parts = pool_zalloc(ctx->pool, sizeof(*parts));
		if (!parts)
			return -ENOMEM;
		parts[0] = (struct cval_part){.kind = CVAL_LIT, .str = out->raw, .len = len};
		out->parts = parts;
		out->nparts = 1;
		return 0;
	}
	parts = pool_zalloc(ctx->pool, (2 * ndollar + 1) * sizeof(*parts));
	if (!parts)
		return -ENOMEM;
	while (i < len) {
		size_t start, nlen = 0;
		bool bracket;

		if (text[i] != '$') {
			start = i;
			while (i < len && text[i] != '$')
				i++;
			parts[n++] = (struct cval_part){
				.kind = CVAL_LIT, .str = out->raw + start, .len = i - start};
			continue;
		}
		if (++i == len)
			goto invalid;
		if (text[i] >= '1' && text[i] <= '9') {
			parts[n++] = (struct cval_part){.kind = CVAL_CAPTURE,
							.idx = text[i] - '0',
							.str = out->raw + i,
							.len = 1};
			i++;
			continue;
		}
		bracket = text[i] == '{';
		if (bracket && ++i == len)
			goto invalid;
		start = i;
		for (; i < len; i++, nlen++) {
			if (text[i] == '}' && bracket) {
				i++;
				bracket = false;
				break;
			}
			if (!var_name_char(text[i]))
				break;
		}
		if (bracket) {
			snprintf(err, errlen, "the closing bracket in \"%.*s\" variable is missing",
				 (int)nlen, text + start);
			return -EINVAL;
		}
		if (nlen == 0)
			goto invalid;
		rc = cval_resolve(ctx, text + start, nlen, &parts[n], err, errlen);
		if (rc)
			return rc;
		n++;
	}
	out->parts = parts;
	out->nparts = n;
	return 0;

invalid:
	snprintf(err, errlen, "invalid variable name");
	return -EINVAL;
}

int var_get_by_name(struct conn *c, const char *name, size_t len, struct lstr *out)
{
	struct cval_part p = {.kind = CVAL_VAR};
	char low[128];
	size_t off;
	int rc;

	*out = var_empty;
	if (len >= sizeof(low))
		return -ENOENT;
	for (size_t i = 0; i < len; i++)
		low[i] = var_lower(name[i]);
	low[len] = '\0';
	p.idx = var_builtin_index(low, len);
	if (p.idx < 0) {
		const struct cfg_map *m = c->cfg && c->cfg->http ? c->cfg->http->maps : NULL;

		for (; m; m = m->next) {
			if (m->name && strlen(m->name) == len &&
			    strncasecmp(m->name, low, len) == 0)
				return map_eval(m, c, out);
		}
		p.idx = var_prefix_index(low, len, &off);
		if (p.idx >= 0) {
			p.kind = CVAL_PREFIX;
			p.str = low + off;
			p.len = len - off;
		} else {
			p.kind = CVAL_NAMED;
			p.str = low;
			p.len = len;
		}
	}
	rc = cval_part_eval(&p, c, out);
	if (rc == VAR_NOT_FOUND && p.kind == CVAL_NAMED)
		return -ENOENT;
	return rc < 0 ? rc : 0;
}
