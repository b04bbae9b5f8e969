/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, substitution: the directives of nginx's sub
 * filter (sub_filter, sub_filter_once, sub_filter_last_modified,
 * sub_filter_types) with nginx's contexts, defaults and messages, and the
 * merge down the levels: a level with sub_filter of its own replaces the
 * list of the level around it, as in nginx. The search tables are built
 * once per list (subfilter.c), or per response for a list with variables
 * in a search string; the replacement may hold variables too. The table
 * that points here is in cfg.c.
 */
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"
#include "subfilter.h"

void cfg_subfilter_init(struct subf_loc *g)
{
	memset(g, 0, sizeof(*g));
	g->once = CFG_UNSET;
	g->last_modified = CFG_UNSET;
}

int cfg_set_sub_filter(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct subf_loc *g = &s->loc->subf;
	const char *m = n->args[0];
	struct subf_pat *p;
	struct cval cv;
	size_t len = strlen(m);

	(void)d;
	if (!len)
		return cfg_fail(b, n, "empty search pattern");
	if (!g->set_here) {
		g->set = pool_alloc(b->pool, sizeof(*g->set));
		if (!g->set)
			return cfg_fail(b, n, "out of memory");
		memset(g->set, 0, sizeof(*g->set));
		g->set_here = true;
	}
	if (g->set->n == SUBF_MAX_PATTERNS)
		return cfg_fail(b, n, "number of search patterns exceeds 255");
	if (cfg_compile(b, n, m, &cv))
		return -1;
	if (len > SUBF_MAX_LEN)
		return cfg_fail(b, n,
				"a \"sub_filter\" search string over %d bytes is not supported",
				SUBF_MAX_LEN);
	p = PUSH(b, g->set->pats, g->set->n);
	if (!p)
		return cfg_fail(b, n, "out of memory");
	if (!cv.literal && cv.nparts) {
		/* evaluated for each response (subfilter.c) */
		p->dyn = true;
		p->match = cv;
		g->set->dyn = true;
		return cfg_compile(b, n, n->args[1], &p->repl);
	}
	p->s = pool_strdup(b->pool, m);
	if (!p->s)
		return cfg_fail(b, n, "out of memory");
	p->len = len;
	for (size_t i = 0; i < len; i++)
		if (p->s[i] >= 'A' && p->s[i] <= 'Z')
			p->s[i] = (char)(p->s[i] - 'A' + 'a');
	return cfg_compile(b, n, n->args[1], &p->repl);
}

int cfg_set_sub_filter_types(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d)
{
	struct subf_loc *g = &s->loc->subf;

	(void)d;
	g->types_set = true;
	return cfg_types_list(b, n, &g->types, &g->ntypes, &g->types_any);
}

void cfg_subfilter_merge(struct subf_loc *g, const struct subf_loc *p)
{
	if (g->once == CFG_UNSET)
		g->once = p ? p->once : 1;
	if (g->last_modified == CFG_UNSET)
		g->last_modified = p ? p->last_modified : 0;
	if (!g->types_set && p) {
		g->types = p->types;
		g->ntypes = p->ntypes;
		g->types_any = p->types_any;
	}
	if (!g->set_here && p)
		g->set = p->set;
	if (g->set && !g->set->built && !g->set->dyn)
		subf_tables_build(g->set);
}
