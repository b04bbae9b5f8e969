/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, Set-Cookie rewrites: proxy_cookie_flags (a cookie
 * name or `~` regex and up to seven flags), proxy_cookie_domain and
 * proxy_cookie_path with nginx's forms (`off`, a string, `~` regex; `~*`
 * for paths; domains always compared without case, their leading dots
 * dropped from both sides of the string form), its checks and messages,
 * and the merge (a level's list replaces the enclosing one's). The table
 * that points here is in cfg.c; cookie.c applies them.
 */
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"

int cfg_set_proxy_cookie(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cookie_loc *k = &s->loc->cookie;
	bool domain = strcmp(n->name, "proxy_cookie_domain") == 0;
	enum cookie_mode *mode = domain ? &k->domain_mode : &k->path_mode;
	struct cookie_rewrite *rw;
	const char *from = n->args[0], *to;

	(void)d;
	if (*mode == COOKIE_OFF)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (n->nargs == 1) {
		if (strcmp(from, "off") != 0)
			return cfg_fail(b, n, "invalid parameter \"%s\"", from);
		if (*mode == COOKIE_LIST)
			return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
		*mode = COOKIE_OFF;
		return 0;
	}
	*mode = COOKIE_LIST;
	rw = domain ? PUSH(b, k->domains, k->ndomains) : PUSH(b, k->paths, k->npaths);
	if (!rw)
		return cfg_fail(b, n, "out of memory");
	to = n->args[1];
	if (from[0] == '~') {
		bool ci = domain;

		from++;
		if (!domain && from[0] == '*') {
			from++;
			ci = true;
		}
		rw->re = cfg_compile_re(b, n, from, ci);
		if (!rw->re)
			return -1;
	} else {
		if (domain && from[0] == '.')
			from++;
		if (domain && to[0] == '.')
			to++;
		if (cfg_compile(b, n, from, &rw->from))
			return -1;
	}
	return cfg_compile(b, n, to, &rw->to);
}

int cfg_set_proxy_cookie_flags(struct build *b, struct cfg_node *n, struct scope *s,
			       const struct dir *d)
{
	struct cookie_loc *k = &s->loc->cookie;
	struct cookie_flags *r;
	const char *name = n->args[0];

	(void)d;
	if (k->flags_mode == COOKIE_OFF)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (n->nargs == 1) {
		if (strcmp(name, "off") != 0)
			return cfg_fail(b, n, "invalid parameter \"%s\"", name);
		if (k->flags_mode == COOKIE_LIST)
			return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
		k->flags_mode = COOKIE_OFF;
		return 0;
	}
	k->flags_mode = COOKIE_LIST;
	r = PUSH(b, k->flags, k->nflags);
	if (!r)
		return cfg_fail(b, n, "out of memory");
	if (name[0] == '~') {
		r->re = cfg_compile_re(b, n, name + 1, true); /* nginx: without case */
		if (!r->re)
			return -1;
	} else if (cfg_compile(b, n, name, &r->name)) {
		return -1;
	}
	for (size_t i = 1; i < n->nargs; i++) {
		struct cval *f = PUSH(b, r->flags, r->nflags);

		if (!f)
			return cfg_fail(b, n, "out of memory");
		if (cfg_compile(b, n, n->args[i], f))
			return -1;
	}
	return 0;
}

void cfg_cookie_merge(struct cookie_loc *k, const struct cookie_loc *p)
{
	if (!p)
		return;
	if (k->domain_mode == COOKIE_UNSET) {
		k->domains = p->domains;
		k->ndomains = p->ndomains;
		k->domain_mode = p->domain_mode;
	}
	if (k->path_mode == COOKIE_UNSET) {
		k->paths = p->paths;
		k->npaths = p->npaths;
		k->path_mode = p->path_mode;
	}
	if (k->flags_mode == COOKIE_UNSET) {
		k->flags = p->flags;
		k->nflags = p->nflags;
		k->flags_mode = p->flags_mode;
	}
}
