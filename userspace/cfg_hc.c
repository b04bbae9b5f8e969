/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, active health checks beyond the `health_check`
 * line itself (cfg_proxy.c parses that): the http block's `match NAME {}`
 * blocks (nginx Plus syntax: status, header, body), the resolution of
 * `health_check match=NAME` once every block is read (a match may come
 * after the upstream that names it), and the TLS settings of checks whose
 * group a `proxy_pass https://` uses: those of the location(s) proxying to
 * it, which must agree, since one checker probes each server once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cfg.h"
#include "cfg_int.h"
#include "hc-t.h"
#include "hc.h"
#include "ups.h"

/* add_ranges - the codes of `status [!] CODE|LO-HI ...` (args from I). */
static int add_ranges(struct build *b, struct cfg_node *c, size_t i, struct hc_cond *k)
{
	k->ranges = pool_zalloc(b->pool, (c->nargs - i) * sizeof(*k->ranges));
	if (!k->ranges)
		return cfg_fail(b, c, "out of memory");
	for (; i < c->nargs; i++) {
		struct hc_range *r = &k->ranges[k->nranges++];

		/* hc_parse_status takes "2xx" too; nginx Plus's match does not */
		if (strchr(c->args[i], 'x') || strchr(c->args[i], 'X') ||
		    hc_parse_status(c->args[i], &r->lo, &r->hi))
			return cfg_fail(b, c, "invalid status \"%s\"", c->args[i]);
	}
	return 0;
}

/* regex_op - "~" (0: match), "!~" (1: no match), with a "*" for caseless;
 * -1 for anything else. */
static int regex_op(const char *op, bool *caseless)
{
	bool neg = op[0] == '!';
	const char *p = op + neg;

	if (p[0] != '~' || (p[1] && (p[1] != '*' || p[2])))
		return -1;
	*caseless = p[1] == '*';
	return neg;
}

/* add_cond - one line C of a match block into K. 0 or -1. */
static int add_cond(struct build *b, struct cfg_node *c, struct hc_match *m, struct hc_cond *k)
{
	bool caseless = false;
	int neg;

	k->line = c->line;
	if (c->block)
		return cfg_fail(b, c, "\"%s\" directive has no opening \"{\"", c->name);
	if (strcmp(c->name, "status") == 0) {
		size_t i = 0;

		k->kind = HC_COND_STATUS;
		if (c->nargs && strcmp(c->args[0], "!") == 0) {
			k->neg = true;
			i = 1;
		}
		if (i >= c->nargs)
			return cfg_fail(b, c,
					"invalid number of arguments in \"status\" directive");
		return add_ranges(b, c, i, k);
	}
	if (strcmp(c->name, "header") == 0) {
		const char *name;

		k->kind = HC_COND_HEADER;
		if (c->nargs == 2 && strcmp(c->args[0], "!") == 0) {
			k->op = HC_HDR_ABSENT;
			name = c->args[1];
		} else if (c->nargs == 1) {
			k->op = HC_HDR_EXISTS;
			name = c->args[0];
		} else if (c->nargs == 3) {
			const char *op = c->args[1];

			name = c->args[0];
			if (strcmp(op, "=") == 0) {
				k->op = HC_HDR_EQ;
			} else if (strcmp(op, "!=") == 0) {
				k->op = HC_HDR_NE;
			} else if ((neg = regex_op(op, &caseless)) >= 0) {
				k->op = neg ? HC_HDR_NRE : HC_HDR_RE;
				k->re = cfg_compile_re(b, c, c->args[2], caseless);
				if (!k->re)
					return -1;
			} else {
				return cfg_fail(b, c, "invalid parameter \"%s\"", op);
			}
			if (k->op == HC_HDR_EQ || k->op == HC_HDR_NE) {
				k->value = pool_strdup(b->pool, c->args[2]);
				if (!k->value)
					return cfg_fail(b, c, "out of memory");
			}
		} else {
			return cfg_fail(b, c,
					"invalid number of arguments in \"header\" directive");
		}
		if (!*name || strpbrk(name, " \t\r\n:"))
			return cfg_fail(b, c, "invalid header name \"%s\"", name);
		k->name = pool_strdup(b->pool, name);
		return k->name ? 0 : cfg_fail(b, c, "out of memory");
	}
	if (strcmp(c->name, "body") == 0) {
		k->kind = HC_COND_BODY;
		if (c->nargs != 2)
			return cfg_fail(b, c, "invalid number of arguments in \"body\" directive");
		neg = regex_op(c->args[0], &caseless);
		if (neg < 0)
			return cfg_fail(b, c, "invalid parameter \"%s\"", c->args[0]);
		k->neg = neg;
		k->re = cfg_compile_re(b, c, c->args[1], caseless);
		m->body = true;
		return k->re ? 0 : -1;
	}
	if (strcmp(c->name, "require") == 0)
		return cfg_fail(b, c, "\"require\" in \"match\" is not supported by lbd");
	if (strcmp(c->name, "send") == 0 || strcmp(c->name, "expect") == 0)
		return cfg_fail(b, c,
				"\"%s\" in \"match\" is for stream checks, which lbd "
				"does not support",
				c->name);
	return cfg_fail(b, c, "unknown directive \"%s\"", c->name);
}

/* `match NAME { ... }` (http level): the conditions of a health check. */
int cfg_set_hc_match(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_http *h = s->http;
	struct hc_match *m;

	(void)d;
	for (m = h->hc_matches; m; m = m->next)
		if (strcmp(m->name, n->args[0]) == 0)
			return cfg_fail(b, n, "duplicate match \"%s\"", n->args[0]);
	m = pool_zalloc(b->pool, sizeof(*m));
	if (!m)
		return cfg_fail(b, n, "out of memory");
	m->name = pool_strdup(b->pool, n->args[0]);
	m->file = n->file;
	m->line = n->line;
	if (!m->name)
		return cfg_fail(b, n, "out of memory");
	/* on the list first, so that the regexes compiled so far are freed
	 * with the configuration whatever happens next */
	m->conds = pool_zalloc(b->pool, (n->nchildren ? n->nchildren : 1) * sizeof(*m->conds));
	if (!m->conds)
		return cfg_fail(b, n, "out of memory");
	m->next = h->hc_matches;
	h->hc_matches = m;
	for (size_t i = 0; i < n->nchildren; i++)
		if (add_cond(b, &n->children[i], m, &m->conds[m->nconds++]))
			return -1;
	return 0;
}

/* loc_name - the name checks of L send as SNI and verify against: a
 * literal proxy_ssl_name, else $proxy_host, port stripped (upssl.c's
 * ssl_name without a request). NULL with b->err set when it has
 * variables; "" when there is none. */
static char *loc_name(struct build *b, const struct cfg_loc *l, const struct ups_group *g)
{
	const struct upssl_conf *u = &l->upssl;
	struct cfg_node at = {.file = l->file, .line = l->line};
	const char *v = l->proxy->host ? l->proxy->host : "", *p;
	size_t len;
	char *out;

	if (u->name) {
		if (!u->name->literal) {
			cfg_fail(b, &at,
				 "\"proxy_ssl_name\" with variables cannot name the health checks "
				 "of upstream \"%s\"",
				 g->name);
			return NULL;
		}
		v = u->name->nparts ? u->name->parts[0].str : "";
	}
	len = strlen(v);
	p = v;
	if (*p == '[') {
		p = strchr(p, ']');
		if (!p)
			p = v;
	}
	p = strchr(p, ':');
	if (p)
		len = (size_t)(p - v);
	out = pool_alloc(b->pool, len + 1);
	if (!out) {
		cfg_fail(b, &at, "out of memory");
		return NULL;
	}
	memcpy(out, v, len);
	out[len] = '\0';
	return out;
}

static bool same_name(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

int cfg_hc_note_loc(struct build *b, struct cfg_loc *l)
{
	struct ups_group *g = l->proxy && !l->proxy->dynamic ? l->proxy->group : NULL;
	struct cfg_node at = {.file = l->file, .line = l->line};
	const struct hc_tls *seen;
	struct hc_tls *t;
	char *name;

	if (!g || !g->hc.enabled || g->hc.tcp || l->proxy->fastcgi)
		return 0;
	seen = g->hc.tls;
	if (!l->proxy->ssl) {
		if (seen && seen->ctx)
			goto mixed;
		if (!seen) {
			/* a mark without a context: "a plain proxy_pass uses it" */
			t = pool_zalloc(b->pool, sizeof(*t));
			if (!t)
				return cfg_fail(b, &at, "out of memory");
			t->file = l->file;
			t->line = l->line;
			g->hc.tls = t;
		}
		return 0;
	}
	if (seen && !seen->ctx)
		goto mixed;
	name = loc_name(b, l, g);
	if (!name)
		return -1;
	t = pool_zalloc(b->pool, sizeof(*t));
	if (!t)
		return cfg_fail(b, &at, "out of memory");
	*t = (struct hc_tls){
		.ctx = l->upssl.ctx,
		.sni = l->upssl.server_name == 1 && *name ? name : NULL,
		.vname = l->upssl.verify == 1 && *name ? name : NULL,
		.verify = l->upssl.verify == 1,
		.reuse = l->upssl.session_reuse == 1,
		.file = l->file,
		.line = l->line,
	};
	if (!seen) {
		g->hc.tls = t;
		return 0;
	}
	if (seen->ctx == t->ctx && same_name(seen->sni, t->sni) &&
	    same_name(seen->vname, t->vname) && seen->verify == t->verify &&
	    seen->reuse == t->reuse)
		return 0;
	return cfg_fail(b, &at,
			"upstream \"%s\" with \"health_check\" is used by \"proxy_pass https://\" "
			"with other proxy_ssl_* settings in %s:%d: its checks can follow only one",
			g->name, seen->file ? seen->file : "command line", seen->line);
mixed:
	return cfg_fail(b, &at,
			"upstream \"%s\" with \"health_check\" is used by both \"proxy_pass "
			"http://\" and \"proxy_pass https://\" (also in %s:%d): its checks can "
			"speak only one (use \"type=tcp\")",
			g->name, seen->file ? seen->file : "command line", seen->line);
}

int cfg_hc_finish(struct build *b, struct cfg_http *h)
{
	for (int i = 0; i < b->ngroups; i++) {
		struct ups_hc *hc = &b->groups[i]->hc;
		struct cfg_node at = {.file = hc->file, .line = hc->line};
		const struct hc_match *m;

		if (!hc->enabled)
			continue;
		if (hc->tls && !hc->tls->ctx)
			hc->tls = NULL; /* the plain mark of cfg_hc_note_loc */
		if (!hc->match_name)
			continue;
		if (hc->tcp)
			return cfg_fail(b, &at, "\"match=\" needs \"type=http\"");
		for (m = h->hc_matches; m; m = m->next)
			if (strcmp(m->name, hc->match_name) == 0)
				break;
		if (!m)
			return cfg_fail(b, &at, "match \"%s\" not found", hc->match_name);
		hc->match = m;
	}
	return 0;
}

void cfg_hc_release(struct cfg_http *h)
{
	for (struct hc_match *m = h->hc_matches; m; m = m->next)
		for (int i = 0; i < m->nconds; i++) {
			pcre2_code_free(m->conds[i].re);
			m->conds[i].re = NULL;
		}
	h->hc_matches = NULL;
}
