/* SPDX-License-Identifier: MIT */
/*
 * Server-side includes (see ssi.h): the commands of one answer's body
 * (the parser is ssi_parse.c): echo, set, if/elif/else/endif, config,
 * block/endblock, include (handed to embed.c as a subrequest).
 * The SSI variables (`set`, `include ... set=`, the captures of an `if`
 * regex) live in the answer's context, looked up before the request's
 * own variables, as nginx's. Memory: the context, its value storage and
 * everything the commands produce are in the request's pool.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cfg.h"
#include "gzip.h"
#include "http.h"
#include "log.h"
#include "pool.h"
#include "ssi.h"
#include "var.h"

/* ---- the commands ---------------------------------------------------------------- */

enum ssi_enc {
	SSI_ENC_NONE = 0,
	SSI_ENC_URL,
	SSI_ENC_ENTITY,
};

/* struct ssi_var - an SSI variable (set, include set=, a named capture). */
struct ssi_var {
	struct lstr name; /* lowercased */
	struct lstr value;
	struct ssi_var *next;
};

/* struct ssi_block - a `block name=` and the text up to its endblock. */
struct ssi_block {
	struct lstr name;
	char *text; /* pool, grown by doubling */
	size_t len, cap;
};

#define SSI_MAX_CAPS 10 /* $0..$9 */

struct ssi_ctx {
	struct conn *c;	   /* the request whose body this is (variables, log) */
	struct pool *pool; /* the main request's: everything kept is there */
	struct ssi_ctx *m; /* the context holding what nginx keeps in the main
				    * request's: variables, blocks, captures (itself for
				    * the first) */
	const struct ssi_loc *l;
	struct ssi_parser ps;
	struct ssi_var *vars;	  /* (m) newest first */
	struct ssi_block *blocks; /* (m) in order */
	int nblocks, capblocks;
	struct lstr errmsg;	 /* config errmsg= */
	const char *timefmt;	 /* config timefmt=, NUL-terminated */
	enum ssi_enc encoding;	 /* echo encoding=, kept for the next echoes */
	bool output;		 /* text and commands take effect (not a false branch) */
	bool output_chosen;	 /* a branch of this if was taken */
	bool in_block;		 /* between block and endblock */
	int conditional;	 /* 0, SSI_COND_IF, SSI_COND_ELSE */
	const char *cap_subject; /* the last `if` regex match's subject (pool) */
	size_t cap[2 * SSI_MAX_CAPS];
	int ncap;
	struct ssi_var *set_target; /* include set=: the variable to fill */
	const char *const *action;  /* nginx's log action of the connection (embed.c's) */
	const char *upstream;	    /* "http://PEER/URI" of a proxied answer, or NULL */
};

#define SSI_COND_IF   1
#define SSI_COND_ELSE 2

enum {
	R_OK = 0,  /* done, nothing to write */
	R_OUT,	   /* act->out filled */
	R_INCLUDE, /* act->uri filled */
	R_ERROR,   /* errmsg, unless silent */
	R_NOMEM,
};

static const char ssi_none[] = "(none)";
static const char ssi_default_errmsg[] = "[an error occurred while processing the directive]";
static const char ssi_default_timefmt[] = "%A, %d-%b-%Y %H:%M:%S %Z";

struct ssi_ctx *ssi_begin(struct conn *c, struct pool *pool, const struct ssi_loc *l,
			  struct ssi_ctx *shared)
{
	struct ssi_ctx *x = pool_zalloc(pool, sizeof(*x));
	size_t vmax = (size_t)l->value_len;
	char *store;

	if (!x)
		return NULL;
	store = pool_alloc(pool, (SSI_MAX_PARAMS + 1) * (vmax + 1));
	if (!store)
		return NULL;
	ssi_parser_init(&x->ps, store, vmax);
	x->c = c;
	x->pool = pool;
	x->m = shared ? shared->m : x;
	x->l = l;
	x->errmsg = (struct lstr){ssi_default_errmsg, sizeof(ssi_default_errmsg) - 1};
	x->timefmt = ssi_default_timefmt;
	x->encoding = SSI_ENC_ENTITY;
	x->output = true;
	return x;
}

bool ssi_applies(const struct conn *c, int status, struct lstr ct, long long length)
{
	const struct cfg_loc *l = c->req.loc;

	if (!l || l->ssi.on != 1 || c->sr_parent || length == 0)
		return false;
	if (status < 200 || status == 204 || status == 304)
		return false;
	return ssi_types_ok(&l->ssi, ct);
}

bool ssi_types_ok(const struct ssi_loc *l, struct lstr ct)
{
	return ct.p && gzip_types_match(l->types_any, l->types, l->ntypes, ct);
}

void ssi_rebind(struct ssi_ctx *x, struct conn *c)
{
	x->c = c;
}

void ssi_log_context(struct ssi_ctx *x, const char *const *action, const char *upstream)
{
	x->action = action;
	x->upstream = upstream;
}

void ssi_log(const struct ssi_ctx *x, enum log_level level, const char *fmt, ...)
{
	const char *act = x->action ? *x->action : NULL;
	char msg[1024];
	va_list ap;

	if (!http_log_wanted(x->c, level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (act)
		http_log(x->c, x->upstream, level, "%s while %s", msg, act);
	else
		http_log(x->c, x->upstream, level, "%s", msg);
}

struct lstr ssi_error_out(const struct ssi_ctx *x)
{
	return x->l->silent_errors == 1 ? (struct lstr){"", 0} : x->errmsg;
}

static struct pool *xpool(struct ssi_ctx *x)
{
	return x->pool;
}

static char *xdup(struct ssi_ctx *x, const char *p, size_t n)
{
	char *d = pool_alloc(xpool(x), n + 1);

	if (d) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

static struct ssi_var *var_find(struct ssi_ctx *x, const char *name, size_t len)
{
	for (struct ssi_var *v = x->m->vars; v; v = v->next)
		if (v->name.len == len && memcmp(v->name.p, name, len) == 0)
			return v;
	return NULL;
}

/* var_put - NAME (lowercased here) = V in the SSI variables. */
static struct ssi_var *var_put(struct ssi_ctx *x, const char *name, size_t len, struct lstr v)
{
	struct ssi_var *e;
	char low[SSI_PARAM_LEN + 256];

	if (len > sizeof(low))
		len = sizeof(low);
	for (size_t i = 0; i < len; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	e = var_find(x, low, len);
	if (e) {
		e->value = v;
		return e;
	}
	e = pool_alloc(xpool(x), sizeof(*e));
	if (!e)
		return NULL;
	e->name.p = xdup(x, low, len);
	if (!e->name.p)
		return NULL;
	e->name.len = len;
	e->value = v;
	e->next = x->m->vars;
	x->m->vars = e;
	return e;
}

/* date_var - $date_local, $date_gmt with the timefmt. */
static int date_var(struct ssi_ctx *x, bool gmt, struct lstr *out)
{
	char buf[2048];
	time_t now = time(NULL);
	struct tm tm;
	size_t n;
	char *d;

	if (strcmp(x->timefmt, "%s") == 0) {
		n = (size_t)snprintf(buf, sizeof(buf), "%lld", (long long)now);
	} else {
		if (gmt)
			gmtime_r(&now, &tm);
		else
			localtime_r(&now, &tm);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral" /* the page's timefmt, as nginx */
		n = strftime(buf, sizeof(buf), x->timefmt, &tm);
#pragma GCC diagnostic pop
	}
	d = xdup(x, buf, n);
	if (!d)
		return -ENOMEM;
	*out = (struct lstr){d, n};
	return 0;
}

/* get_var - variable NAME[0..LEN) as an SSI command sees it: a capture of
 * the last `if` regex ($0..$9), an SSI variable, $date_local/$date_gmt,
 * or the request's. 0 found, VAR_NOT_FOUND, -ENOMEM. */
static int get_var(struct ssi_ctx *x, const char *name, size_t len, struct lstr *out)
{
	char low[128];
	struct ssi_var *v;
	struct cval_part part = {.kind = CVAL_VAR};
	size_t off;
	int rc;

	if (len >= sizeof(low))
		return VAR_NOT_FOUND;
	for (size_t i = 0; i < len; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[len] = '\0';
	if (len == 1 && low[0] >= '0' && low[0] <= '9' && low[0] - '0' < x->m->ncap) {
		const struct ssi_ctx *m = x->m;
		int k = 2 * (low[0] - '0');

		*out = (struct lstr){m->cap_subject + m->cap[k], m->cap[k + 1] - m->cap[k]};
		return 0;
	}
	v = var_find(x, low, len);
	if (v) {
		*out = v->value;
		return 0;
	}
	if (strcmp(low, "date_local") == 0 || strcmp(low, "date_gmt") == 0)
		return date_var(x, low[5] == 'g', out);
	part.idx = var_builtin_index(low, len);
	if (part.idx < 0) {
		const struct cfg_map *m =
			x->c->cfg && x->c->cfg->http ? x->c->cfg->http->maps : NULL;

		for (; m; m = m->next)
			if (m->name && strlen(m->name) == len && strcmp(m->name, low) == 0)
				return map_eval(m, x->c, out) < 0 ? -ENOMEM : 0;
		part.idx = var_prefix_index(low, len, &off);
		if (part.idx >= 0) {
			part.kind = CVAL_PREFIX;
			part.str = low + off;
			part.len = len - off;
		} else {
			part.kind = CVAL_NAMED;
			part.str = low;
			part.len = len;
		}
	}
	rc = cval_part_eval(&part, x->c, out);
	if (rc == VAR_NOT_FOUND || (rc == 0 && part.kind == CVAL_NAMED && !out->p))
		return VAR_NOT_FOUND;
	return rc < 0 ? -ENOMEM : 0;
}

/* unquote - nginx's backslash rule in SSI strings: \\ \' \" \$ lose the
 * backslash, any other escaped byte keeps it. S[0..N) into D; length. */
static size_t unquote(char *d, const char *s, size_t n, bool stop_at_dollar, size_t *consumed)
{
	size_t w = 0, i = 0;
	bool quoted = false;

	for (; i < n; i++) {
		char ch = s[i];

		if (!quoted) {
			if (ch == '\\') {
				quoted = true;
				continue;
			}
			if (ch == '$' && stop_at_dollar)
				break;
		} else {
			quoted = false;
			if (ch != '\\' && ch != '\'' && ch != '"' && ch != '$')
				d[w++] = '\\';
		}
		d[w++] = ch;
	}
	if (consumed)
		*consumed = i;
	return w;
}

#define EVAL_PREFIX 1 /* a relative result gets the main URI's directory */

/* eval - nginx's ngx_http_ssi_evaluate_string: T with its $name and
 * ${name} replaced (an unknown one by nothing) and backslashes undone,
 * into *OUT (pool, NUL-terminated). R_OK, R_ERROR (logged), R_NOMEM. */
static int eval(struct ssi_ctx *x, const char *t, size_t n, int flags, struct lstr *out)
{
	size_t cap = n + 64, len = 0;
	char *buf = pool_alloc(xpool(x), cap + 1);
	size_t i = 0;
	struct lstr uri = x->c->req.u.uri;

	if (!buf)
		return R_NOMEM;
	while (i < n) {
		struct lstr part;
		char *tmp = NULL;

		if (t[i] == '$') {
			const char *name;
			size_t nlen = 0;
			bool bracket = false;
			int rc;

			if (++i == n)
				goto invalid;
			if (t[i] == '{') {
				bracket = true;
				if (++i == n)
					goto invalid;
			}
			name = t + i;
			for (; i < n; i++, nlen++) {
				char ch = t[i];

				if (ch == '}' && bracket) {
					i++;
					bracket = false;
					break;
				}
				if (!isalnum((unsigned char)ch) && ch != '_')
					break;
			}
			if (bracket) {
				ssi_log(x, LOG_ERR,
					"the closing bracket in \"%.*s\" variable is missing",
					(int)nlen, name);
				return R_ERROR;
			}
			if (!nlen)
				goto invalid;
			rc = get_var(x, name, nlen, &part);
			if (rc < 0)
				return R_NOMEM;
			if (rc == VAR_NOT_FOUND)
				continue;
		} else {
			size_t used;

			tmp = pool_alloc(xpool(x), n - i + 1);
			if (!tmp)
				return R_NOMEM;
			part.len = unquote(tmp, t + i, n - i, true, &used);
			part.p = tmp;
			i += used;
		}
		if (len + part.len > cap) {
			char *nb;

			cap = (len + part.len) * 2;
			nb = pool_alloc(xpool(x), cap + 1);
			if (!nb)
				return R_NOMEM;
			memcpy(nb, buf, len);
			buf = nb;
		}
		memcpy(buf + len, part.p, part.len);
		len += part.len;
	}
	if ((flags & EVAL_PREFIX) && len && buf[0] != '/') {
		size_t pre = uri.len;
		char *nb;

		while (pre && uri.p[pre - 1] != '/')
			pre--;
		if (pre) {
			nb = pool_alloc(xpool(x), pre + len + 1);
			if (!nb)
				return R_NOMEM;
			memcpy(nb, uri.p, pre);
			memcpy(nb + pre, buf, len);
			buf = nb;
			len += pre;
		}
	}
	buf[len] = '\0';
	*out = (struct lstr){buf, len};
	return R_OK;
invalid:
	ssi_log(x, LOG_ERR, "invalid variable name in \"%.*s\"", (int)n, t);
	return R_ERROR;
}

/* struct ssi_cmd - one command: its handler, parameters (a NULL-ended
 * list; a leading '!' marks a mandatory one) and context rules. */
struct ssi_cmd {
	const char *name;
	int (*fn)(struct ssi_ctx *x, struct lstr *const *pv, struct ssi_action *act);
	const char *params[6];
	int conditional; /* SSI_COND_IF: only inside an if; SSI_COND_ELSE: an if or else */
	bool block;	 /* runs while text is not output (endblock) */
};

enum { P0, P1, P2, P3, P4 };

static const char hexd[] = "0123456789ABCDEF";

/* url_esc - echo's encoding="url" escapes CH (nginx 1.22's table: the
 * controls, space, '"', '#', '%', '\'', '<', '>', DEL and above). */
static bool url_esc(unsigned char ch)
{
	return ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '#' || ch == '%' || ch == '\'' ||
	       ch == '<' || ch == '>';
}

/* encode - V as echo writes it with X's encoding, into *OUT. */
static int encode(struct ssi_ctx *x, struct lstr v, struct lstr *out)
{
	size_t extra = 0;
	char *d, *w;

	if (x->encoding == SSI_ENC_NONE) {
		*out = v;
		return R_OK;
	}
	for (size_t i = 0; i < v.len; i++) {
		unsigned char ch = (unsigned char)v.p[i];

		if (x->encoding == SSI_ENC_URL)
			extra += url_esc(ch) ? 2 : 0;
		else
			extra += ch == '<' || ch == '>' ? 3 : ch == '&' ? 4 : ch == '"' ? 5 : 0;
	}
	if (!extra) {
		*out = v;
		return R_OK;
	}
	d = pool_alloc(xpool(x), v.len + extra);
	if (!d)
		return R_NOMEM;
	w = d;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char ch = (unsigned char)v.p[i];
		const char *rep = NULL;

		if (x->encoding == SSI_ENC_URL) {
			if (url_esc(ch)) {
				*w++ = '%';
				*w++ = hexd[ch >> 4];
				*w++ = hexd[ch & 15];
				continue;
			}
		} else {
			rep = ch == '<'	  ? "&lt;"
			      : ch == '>' ? "&gt;"
			      : ch == '&' ? "&amp;"
			      : ch == '"' ? "&quot;"
					  : NULL;
		}
		if (rep) {
			memcpy(w, rep, strlen(rep));
			w += strlen(rep);
		} else {
			*w++ = (char)ch;
		}
	}
	*out = (struct lstr){d, (size_t)(w - d)};
	return R_OK;
}

static int cmd_echo(struct ssi_ctx *x, struct lstr *const *pv, struct ssi_action *act)
{
	const struct lstr *name = pv[P0], *def = pv[P1], *enc = pv[P2];
	struct lstr v;
	int rc = get_var(x, name->p, name->len, &v);
	bool found = rc == 0;

	if (rc < 0)
		return R_NOMEM;
	if (enc) {
		if (enc->len == 4 && memcmp(enc->p, "none", 4) == 0)
			x->encoding = SSI_ENC_NONE;
		else if (enc->len == 3 && memcmp(enc->p, "url", 3) == 0)
			x->encoding = SSI_ENC_URL;
		else if (enc->len == 6 && memcmp(enc->p, "entity", 6) == 0)
			x->encoding = SSI_ENC_ENTITY;
		else
			ssi_log(x, LOG_ERR, "unknown encoding \"%.*s\" in the \"echo\" command",
				(int)enc->len, enc->p);
	}
	if (!found)
		v = def ? *def : (struct lstr){ssi_none, sizeof(ssi_none) - 1};
	if (!v.len)
		return R_OK;
	if (found && x->c->sr_parent) {
		/* a subrequest's variable: its memory goes with it, the output
		 * may be written later */
		char *d = xdup(x, v.p, v.len);

		if (!d)
			return R_NOMEM;
		v.p = d;
	}
	if (encode(x, v, &act->out))
		return R_NOMEM;
	return R_OUT;
}

static int cmd_config(struct ssi_ctx *x, struct lstr *const *pv, struct ssi_action *act)
{
	(void)act;
	if (pv[P1]) {
		x->timefmt = xdup(x, pv[P1]->p, pv[P1]->len);
		if (!x->timefmt)
			return R_NOMEM;
	}
	if (pv[P0]) {
		char *m = xdup(x, pv[P0]->p, pv[P0]->len);

		if (!m)
			return R_NOMEM;
		x->errmsg = (struct lstr){m, pv[P0]->len};
	}
	return R_OK;
}

static int cmd_set(struct ssi_ctx *x, struct lstr *const *pv, struct ssi_action *act)
{
	struct lstr v;
	int rc = eval(x, pv[P1]->p, pv[P1]->len, 0, &v);

	(void)act;
	if (rc != R_OK)
		return rc;
	return var_put(x, pv[P0]->p, pv[P0]->len, v) ? R_OK : R_NOMEM;
}

/* regex_match - RE against S (pool): 0 match (captures kept), 1 none,
 * R_ERROR (logged), or -ENOMEM. */
static int regex_match(struct ssi_ctx *x, const char *re, struct lstr s)
{
	char err[512];
	void *code = NULL;
	pcre2_match_data *md;
	int rc = var_regex_compile(re, false, &code, err, sizeof(err));

	if (rc == -ENOMEM)
		return -ENOMEM;
	if (rc) {
		ssi_log(x, LOG_ERR, "%s", err);
		return R_ERROR;
	}
	md = pcre2_match_data_create_from_pattern(code, NULL);
	if (!md) {
		pcre2_code_free(code);
		return -ENOMEM;
	}
	rc = pcre2_match(code, (PCRE2_SPTR)s.p, s.len, 0, 0, md, NULL);
	if (rc >= 0) {
		const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		uint32_t count = 0, esize = 0;
		PCRE2_SPTR tab = NULL;

		if (rc == 0 || rc > SSI_MAX_CAPS)
			rc = SSI_MAX_CAPS;
		x->m->ncap = rc;
		x->m->cap_subject = s.p;
		for (int i = 0; i < 2 * rc; i++)
			x->m->cap[i] = ov[i] == PCRE2_UNSET ? 0 : ov[i];
		/* named groups become SSI variables */
		pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count);
		pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &esize);
		pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &tab);
		for (uint32_t k = 0; k < count; k++) {
			const unsigned char *e = tab + (size_t)k * esize;
			int g = (e[0] << 8) | e[1];
			const char *nm = (const char *)e + 2;
			struct lstr val = {s.p, 0};

			if (ov[2 * g] != PCRE2_UNSET)
				val = (struct lstr){s.p + ov[2 * g], ov[2 * g + 1] - ov[2 * g]};
			if (!var_put(x, nm, strlen(nm), val)) {
				rc = -ENOMEM;
				break;
			}
		}
		rc = rc < 0 ? rc : 0;
	} else if (rc == PCRE2_ERROR_NOMATCH) {
		rc = 1;
	} else {
		ssi_log(x, LOG_ALERT, "pcre2_match() failed: %d on \"%.*s\" using \"%s\"", rc,
			(int)s.len, s.p, re);
		rc = R_ERROR;
	}
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	return rc;
}

static int cmd_if(struct ssi_ctx *x, struct lstr *const *pv, struct ssi_action *act)
{
	const struct lstr *expr = pv[P0];
	char *e, *p, *last;
	struct lstr left, right;
	bool negative = false, noregex = true;
	int rc;

	(void)act;
	if (x->ps.command_len == 2 && x->conditional) {
		ssi_log(x, LOG_ERR, "the \"if\" command inside the \"if\" command");
		return R_ERROR;
	}
	if (x->output_chosen) {
		x->output = false;
		return R_OK;
	}
	e = xdup(x, expr->p, expr->len);
	if (!e)
		return R_NOMEM;
	last = e + expr->len;
	for (p = e; p < last; p++) {
		if (*p >= 'A' && *p <= 'Z') {
			*p |= 0x20;
			continue;
		}
		if (isalnum((unsigned char)*p) || *p == '$' || *p == '{' || *p == '}' ||
		    *p == '_' || *p == '"' || *p == '\'')
			continue;
		break;
	}
	rc = eval(x, e, (size_t)(p - e), 0, &left);
	if (rc != R_OK)
		return rc;
	while (p < last && *p == ' ')
		p++;
	if (p == last) {
		x->output = left.len > 0;
		x->output_chosen = x->output;
		x->conditional = SSI_COND_IF;
		return R_OK;
	}
	if (*p == '=') {
		p++;
	} else if (p + 1 < last && p[0] == '!' && p[1] == '=') {
		negative = true;
		p += 2;
	} else {
		goto invalid;
	}
	while (p < last && *p == ' ')
		p++;
	if (p < last - 1 && *p == '/') {
		if (last[-1] != '/')
			goto invalid;
		noregex = false;
		last--;
		p++;
	} else if (p < last - 1 && p[0] == '\\' && p[1] == '/') {
		p++;
	}
	rc = eval(x, p, (size_t)(last - p), 0, &right);
	if (rc != R_OK)
		return rc;
	if (noregex) {
		rc = left.len == right.len && memcmp(left.p, right.p, left.len) == 0 ? 0 : 1;
	} else {
		rc = regex_match(x, right.p, left);
		if (rc == -ENOMEM)
			return R_NOMEM;
		if (rc == R_ERROR)
			return R_ERROR;
	}
	x->output = (rc == 0) != negative;
	x->output_chosen = x->output;
	x->conditional = SSI_COND_IF;
	return R_OK;
invalid:
	ssi_log(x, LOG_ERR, "invalid expression in \"%.*s\"", (int)expr->len, expr->p);
	return R_ERROR;
}

static int cmd_else(struct ssi_ctx *x, struct lstr *const *pv, struct ssi_action *act)
{
	(void)pv, (void)act;
	x->output = !x->output_chosen;
	x->conditional = SSI_COND_ELSE;
	return R_OK;
}

static int cmd_endif(struct ssi_ctx *x, struct lstr *const *pv, struct ssi_action *act)
{
	(void)pv, (void)act;
	x->output = true;
	x->output_chosen = false;
	x->conditional = 0;
	return R_OK;
}

static int cmd_block(struct ssi_ctx *cx, struct lstr *const *pv, struct ssi_action *act)
{
	struct ssi_ctx *x = cx->m;
	struct ssi_block *b;

	(void)act;
	if (x->nblocks == x->capblocks) {
		int cap = x->capblocks ? x->capblocks * 2 : 4;
		struct ssi_block *nb = pool_zalloc(xpool(x), (size_t)cap * sizeof(*nb));

		if (!nb)
			return R_NOMEM;
		if (x->nblocks)
			memcpy(nb, x->blocks, (size_t)x->nblocks * sizeof(*nb));
		x->blocks = nb;
		x->capblocks = cap;
	}
	b = &x->blocks[x->nblocks++];
	b->name.p = xdup(x, pv[P0]->p, pv[P0]->len);
	if (!b->name.p)
		return R_NOMEM;
	b->name.len = pv[P0]->len;
	cx->output = false;
	cx->in_block = true;
	return R_OK;
}

static int cmd_endblock(struct ssi_ctx *x, struct lstr *const *pv, struct ssi_action *act)
{
	(void)pv, (void)act;
	x->output = true;
	x->in_block = false;
	return R_OK;
}

/* safe_uri - nginx's ngx_http_parse_unsafe_uri: U split at '?' into the
 * path and *ARGS; a ".." segment (or a NUL) is refused. */
static bool safe_uri(struct ssi_ctx *x, struct lstr *u, struct lstr *args)
{
	const char *q = memchr(u->p, '?', u->len);
	size_t n = q ? (size_t)(q - u->p) : u->len;

	*args = (struct lstr){"", 0};
	if (memchr(u->p, '\0', u->len))
		goto unsafe;
	for (size_t i = 0; i < n; i++) {
		bool seg_start = i == 0 || u->p[i - 1] == '/';

		if (seg_start && u->p[i] == '.' && i + 1 < n && u->p[i + 1] == '.' &&
		    (i + 2 == n || u->p[i + 2] == '/'))
			goto unsafe;
	}
	if (q)
		*args = (struct lstr){q + 1, u->len - n - 1};
	u->len = n;
	return true;
unsafe:
	ssi_log(x, LOG_ERR, "unsafe URI \"%.*s\" was detected", (int)u->len, u->p);
	return false;
}

static int cmd_include(struct ssi_ctx *x, struct lstr *const *pv, struct ssi_action *act)
{
	const struct lstr *virt = pv[P0], *file = pv[P1], *wait = pv[P2], *set = pv[P3],
			  *stub = pv[P4];
	struct lstr uri;
	int rc;

	if (virt && file) {
		ssi_log(x, LOG_ERR, "inclusion may be either virtual=\"%.*s\" or file=\"%.*s\"",
			(int)virt->len, virt->p, (int)file->len, file->p);
		return R_ERROR;
	}
	if (!virt && !file) {
		ssi_log(x, LOG_ERR, "no parameter in \"include\" SSI command");
		return R_ERROR;
	}
	if (set && stub) {
		ssi_log(x, LOG_ERR,
			"\"set\" and \"stub\" cannot be used together in \"include\" SSI command");
		return R_ERROR;
	}
	if (wait) {
		if (!virt) {
			ssi_log(x, LOG_ERR, "\"wait\" cannot be used with file=\"%.*s\"",
				(int)file->len, file->p);
			return R_ERROR;
		}
		if (!((wait->len == 2 && strncasecmp(wait->p, "no", 2) == 0) ||
		      (wait->len == 3 && strncasecmp(wait->p, "yes", 3) == 0))) {
			ssi_log(x, LOG_ERR, "invalid value \"%.*s\" in the \"wait\" parameter",
				(int)wait->len, wait->p);
			return R_ERROR;
		}
	}
	if (!virt)
		virt = file;
	rc = eval(x, virt->p, virt->len, EVAL_PREFIX, &uri);
	if (rc != R_OK)
		return rc;
	if (!safe_uri(x, &uri, &act->args))
		return R_ERROR;
	act->stub = -1;
	if (stub) {
		for (int i = 0; i < x->m->nblocks; i++)
			if (x->m->blocks[i].name.len == stub->len &&
			    memcmp(x->m->blocks[i].name.p, stub->p, stub->len) == 0)
				act->stub = i;
		if (act->stub < 0) {
			ssi_log(x, LOG_ERR, "\"stub\"=\"%.*s\" for \"include\" not found",
				(int)stub->len, stub->p);
			return R_ERROR;
		}
	}
	act->set = false;
	if (set) {
		x->set_target = var_put(x, set->p, set->len, (struct lstr){"", 0});
		if (!x->set_target)
			return R_NOMEM;
		act->set = true;
	}
	act->uri = uri;
	return R_INCLUDE;
}

static const struct ssi_cmd ssi_cmds[] = {
	{"include", cmd_include, {"virtual", "file", "wait", "set", "stub", NULL}, 0, false},
	{"echo", cmd_echo, {"!var", "default", "encoding", NULL}, 0, false},
	{"config", cmd_config, {"errmsg", "timefmt", NULL}, 0, false},
	{"set", cmd_set, {"!var", "!value", NULL}, 0, false},
	{"if", cmd_if, {"!expr", NULL}, 0, false},
	{"elif", cmd_if, {"!expr", NULL}, SSI_COND_IF, false},
	{"else", cmd_else, {NULL}, SSI_COND_IF, false},
	{"endif", cmd_endif, {NULL}, SSI_COND_ELSE, false},
	{"block", cmd_block, {"!name", NULL}, 0, false},
	{"endblock", cmd_endblock, {NULL}, 0, true},
};

/* block_add - P[0..N) onto the block being recorded. */
static int block_add(struct ssi_ctx *x, const char *p, size_t n)
{
	struct ssi_block *b = &x->m->blocks[x->m->nblocks - 1];

	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2 + 64;
		char *t = pool_alloc(xpool(x), cap);

		if (!t)
			return R_NOMEM;
		if (b->len)
			memcpy(t, b->text, b->len);
		b->text = t;
		b->cap = cap;
	}
	memcpy(b->text + b->len, p, n);
	b->len += n;
	return R_OK;
}

/* block_command - the command just parsed, written back as text into the
 * block (nginx rebuilds it: `<!--#cmd key="value" -->`). */
static int block_command(struct ssi_ctx *x)
{
	const struct ssi_parser *p = &x->ps;
	int rc = block_add(x, "<!--#", 5) || block_add(x, p->command, p->command_len);

	for (int i = 0; i < p->nparams && !rc; i++)
		rc = block_add(x, " ", 1) || block_add(x, p->params[i].key, p->params[i].key_len) ||
		     block_add(x, "=\"", 2) ||
		     block_add(x, p->params[i].value, p->params[i].value_len) ||
		     block_add(x, "\"", 1);
	if (!rc)
		rc = block_add(x, " -->", 4);
	return rc ? R_NOMEM : R_OK;
}

/* run - the command in x->ps. */
static int run(struct ssi_ctx *x, struct ssi_action *act)
{
	struct ssi_parser *p = &x->ps;
	const struct ssi_cmd *cmd = NULL;
	struct lstr vals[SSI_MAX_PARAMS + 1];
	struct lstr *pv[6] = {NULL};

	for (size_t i = 0; i < sizeof(ssi_cmds) / sizeof(ssi_cmds[0]); i++)
		if (strcmp(ssi_cmds[i].name, p->command) == 0)
			cmd = &ssi_cmds[i];
	if (!cmd) {
		if (!x->output)
			return R_OK;
		ssi_log(x, LOG_ERR, "invalid SSI command: \"%s\"", p->command);
		return R_ERROR;
	}
	if (!x->output && !cmd->block) {
		if (x->in_block)
			return block_command(x);
		if (!cmd->conditional)
			return R_OK;
	}
	if (cmd->conditional && (!x->conditional || x->conditional > cmd->conditional)) {
		ssi_log(x, LOG_ERR, "invalid context of SSI command: \"%s\"", p->command);
		return R_ERROR;
	}
	if (p->nparams > SSI_MAX_PARAMS) {
		ssi_log(x, LOG_ERR, "too many SSI command parameters: \"%s\"", p->command);
		return R_ERROR;
	}
	for (int i = 0; i < p->nparams; i++) {
		const struct ssi_param *a = &p->params[i];
		int k = 0;

		for (; cmd->params[k]; k++) {
			const char *nm = cmd->params[k] + (cmd->params[k][0] == '!');

			if (strcmp(nm, a->key) == 0)
				break;
		}
		if (!cmd->params[k]) {
			ssi_log(x, LOG_ERR, "invalid parameter name: \"%s\" in \"%s\" SSI command",
				a->key, p->command);
			return R_ERROR;
		}
		if (pv[k]) {
			ssi_log(x, LOG_ERR, "duplicate \"%s\" parameter in \"%s\" SSI command",
				a->key, p->command);
			return R_ERROR;
		}
		vals[i] = (struct lstr){a->value, a->value_len};
		pv[k] = &vals[i];
	}
	for (int k = 0; cmd->params[k]; k++) {
		if (cmd->params[k][0] == '!' && !pv[k]) {
			ssi_log(x, LOG_ERR,
				"mandatory \"%s\" parameter is absent in \"%s\" SSI command",
				cmd->params[k] + 1, p->command);
			return R_ERROR;
		}
	}
	/* values are reused by the next command: the handlers copy what they keep */
	return cmd->fn(x, pv, act);
}

enum ssi_act ssi_next(struct ssi_ctx *x, const char *in, size_t n, size_t *used,
		      struct ssi_action *act)
{
	size_t tot = 0;

	for (;;) {
		struct lstr text;
		size_t u = 0;
		enum ssi_ev ev = ssi_parse(&x->ps, in + tot, n - tot, &u, &text);
		int rc = R_OK;

		tot += u;
		*used = tot;
		if (x->ps.err[0]) {
			ssi_log(x, LOG_ERR, "%s", x->ps.err);
			x->ps.err[0] = '\0';
		}
		switch (ev) {
		case SSI_EV_MORE:
			return SSI_ACT_MORE;
		case SSI_EV_TEXT:
			if (x->output) {
				act->out = text;
				return SSI_ACT_OUT;
			}
			if (x->in_block && block_add(x, text.p, text.len))
				return SSI_ACT_NOMEM;
			continue;
		case SSI_EV_CMD:
			rc = run(x, act);
			break;
		case SSI_EV_ERR:
			rc = R_ERROR;
			break;
		}
		switch (rc) {
		case R_OUT:
			return SSI_ACT_OUT;
		case R_INCLUDE:
			return SSI_ACT_INCLUDE;
		case R_NOMEM:
			return SSI_ACT_NOMEM;
		case R_ERROR:
			if (x->l->silent_errors == 1)
				continue;
			act->out = x->errmsg;
			return SSI_ACT_OUT;
		default:
			continue;
		}
	}
}

struct lstr ssi_stub(const struct ssi_ctx *x, int k)
{
	const struct ssi_ctx *m = x->m;

	if (k < 0 || k >= m->nblocks)
		return (struct lstr){"", 0};
	return (struct lstr){m->blocks[k].text ? m->blocks[k].text : "", m->blocks[k].len};
}

void ssi_set_value(struct ssi_ctx *x, struct lstr v)
{
	if (x->set_target)
		x->set_target->value = v;
	x->set_target = NULL;
}

void ssi_parser_reset(struct ssi_ctx *x)
{
	x->ps.state = SSI_ST_START;
	x->ps.looked = 0;
}
