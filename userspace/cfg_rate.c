// SPDX-License-Identifier: MIT
/*
 * Configuration builder, response rate: limit_rate and limit_rate_after
 * (http, server, location, if in location), nginx 1.22's complex sizes,
 * and proxy_limit_rate (a plain size; http, server, location):
 * a literal is checked here ("... directive invalid value", k/m suffixes
 * only), a value with variables at run time (ratelimit.c). The table that
 * points here is in cfg.c.
 */
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"
#include "ratelimit.h"

/* set_size - limit_rate or limit_rate_after of N into *F / *LIT. */
static int set_size(struct build *b, struct cfg_node *n, struct cval **f, int64_t *lit)
{
	const char *a = n->args[0];

	if (*f)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	*f = pool_zalloc(b->pool, sizeof(**f));
	if (!*f)
		return cfg_fail(b, n, "out of memory");
	if (cfg_compile(b, n, a, *f))
		return -1;
	if (!(*f)->literal)
		return 0;
	*lit = rate_parse_size(a, strlen(a));
	if (*lit < 0)
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	return 0;
}

int cfg_set_limit_rate(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	return set_size(b, n, &s->loc->rate.rate, &s->loc->rate.rate_lit);
}

int cfg_set_limit_rate_after(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d)
{
	(void)d;
	return set_size(b, n, &s->loc->rate.after, &s->loc->rate.after_lit);
}

int cfg_set_proxy_limit_rate(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d)
{
	struct rate_loc *r = &s->loc->rate;

	(void)d;
	if (r->proxy_rate_set)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	r->proxy_rate = rate_parse_size(n->args[0], strlen(n->args[0]));
	if (r->proxy_rate < 0)
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	r->proxy_rate_set = true;
	return 0;
}

void cfg_rate_merge(struct rate_loc *r, const struct rate_loc *p)
{
	if (!p)
		return;
	if (!r->proxy_rate_set) {
		r->proxy_rate = p->proxy_rate;
		r->proxy_rate_set = p->proxy_rate_set;
	}
	if (!r->rate) {
		r->rate = p->rate;
		r->rate_lit = p->rate_lit;
	}
	if (!r->after) {
		r->after = p->after;
		r->after_lit = p->after_lit;
	}
}
