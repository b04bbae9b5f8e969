/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, charsets: the directives of nginx's charset
 * filter (charset, source_charset, charset_types, override_charset,
 * charset_map) with nginx's contexts, checks and messages, the merge down
 * the levels, and the http level's list of charsets with the recoding
 * tables of each charset_map (recode.c). The table that points here is in
 * cfg.c.
 */
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "cfg_int.h"
#include "charset.h"
#include "var.h"

/* main_of - the http block's charsets, made on first use. NULL: no memory. */
static struct charset_main *main_of(struct build *b)
{
	struct cfg_http *h = b->cfg->http;

	if (!h->cs)
		h->cs = pool_zalloc(b->pool, sizeof(*h->cs));
	return h->cs;
}

/* intern - NAME as first written in this configuration (any case): nginx
 * keeps one spelling per charset and sends that one. */
static const char *intern(struct build *b, const char *name)
{
	struct charset_main *m = main_of(b);
	const char **slot;

	if (!m)
		return NULL;
	for (int i = 0; i < m->nnames; i++)
		if (strcasecmp(m->names[i], name) == 0)
			return m->names[i];
	slot = PUSH(b, m->names, m->nnames);
	if (!slot)
		return NULL;
	*slot = pool_strdup(b->pool, name);
	return *slot;
}

/* set_name - charset or source_charset into *F (and *V for a variable):
 * a name, or a $variable whose value names one per response; OFF_OK:
 * "off" turns it off (nginx: for charset only; "source_charset off" names
 * a charset "off", which no charset_map joins to another). */
static int set_name(struct build *b, struct cfg_node *n, const char **f, const struct cval **v,
		    bool off_ok)
{
	const char *a = n->args[0];

	if (*f)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (off_ok && strcmp(a, "off") == 0) {
		*f = "";
		return 0;
	}
	if (a[0] == '$') {
		struct cval *cv = pool_zalloc(b->pool, sizeof(*cv));

		if (!cv)
			return cfg_fail(b, n, "out of memory");
		if (cfg_compile(b, n, a, cv))
			return -1;
		*v = cv;
		*f = pool_strdup(b->pool, a);
		return *f ? 0 : cfg_fail(b, n, "out of memory");
	}
	*f = intern(b, a);
	return *f ? 0 : cfg_fail(b, n, "out of memory");
}

int cfg_set_charset(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct charset_loc *g = &s->loc->charset;

	(void)d;
	return set_name(b, n, &g->charset, &g->charset_v, true);
}

int cfg_set_source_charset(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	struct charset_loc *g = &s->loc->charset;

	(void)d;
	g->src_file = n->file;
	g->src_line = n->end_line ? n->end_line : n->line;
	return set_name(b, n, &g->source, &g->source_v, false);
}

int cfg_set_override_charset(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d)
{
	struct charset_loc *g = &s->loc->charset;

	(void)d;
	if (g->override_seen)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	g->override_seen = true;
	if (strcasecmp(n->args[0], "off") == 0)
		return 0;
	if (strcasecmp(n->args[0], "on") == 0) {
		g->override_on = true;
		return 0;
	}
	return cfg_fail(b, n,
			"invalid value \"%s\" in \"%s\" directive, it must be \"on\" or \"off\"",
			n->args[0], n->name);
}

int cfg_set_charset_map(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct charset_main *m;
	struct charset_map *map;
	const char *a, *z;

	(void)s, (void)d;
	a = intern(b, n->args[0]);
	z = intern(b, n->args[1]);
	m = main_of(b);
	if (!a || !z || !m)
		return cfg_fail(b, n, "out of memory");
	if (a == z)
		return cfg_fail(b, n, "\"charset_map\" between the same charsets \"%s\" and \"%s\"",
				n->args[0], n->args[1]);
	for (int i = 0; i < m->nmaps; i++)
		if ((m->maps[i].a == a && m->maps[i].b == z) ||
		    (m->maps[i].a == z && m->maps[i].b == a))
			return cfg_fail(b, n, "duplicate \"charset_map\" between \"%s\" and \"%s\"",
					n->args[0], n->args[1]);
	/* nginx takes a map from utf-8 as a single-byte one and then recodes
	 * with the wrong table; lbd refuses it */
	if (strcasecmp(a, "utf-8") == 0)
		return cfg_fail(b, n,
				"\"charset_map\" from \"utf-8\" is not supported, write it as "
				"\"charset_map %s %s\"",
				n->args[1], n->args[0]);
	map = PUSH(b, m->maps, m->nmaps);
	if (!map)
		return cfg_fail(b, n, "out of memory");
	map->a = a;
	map->b = z;
	if (recode_pair_init(&map->pair, strcasecmp(z, "utf-8") == 0, b->pool))
		return cfg_fail(b, n, "out of memory");
	for (size_t i = 0; i < n->nchildren; i++) {
		struct cfg_node *c = &n->children[i];

		if (c->block)
			return cfg_fail(b, c, "unexpected \"{\"");
		if (c->nargs != 1)
			return cfg_fail(b, c, "invalid parameters number");
		switch (recode_pair_add(&map->pair, c->name, c->args[0], b->pool)) {
		case RECODE_ADD_OK:
			break;
		case RECODE_ADD_BAD_SRC:
			return cfg_fail(b, c, "invalid value \"%s\"", c->name);
		case RECODE_ADD_BAD_DST:
			return cfg_fail(b, c, "invalid value \"%s\"", c->args[0]);
		case RECODE_ADD_NOMEM:
			return cfg_fail(b, c, "out of memory");
		}
	}
	return 0;
}

int cfg_set_charset_types(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct charset_loc *g = &s->loc->charset;

	(void)d;
	g->types_set = true;
	return cfg_types_list(b, n, &g->types, &g->ntypes, &g->types_any);
}

void cfg_charset_merge(struct charset_loc *g, const struct charset_loc *p)
{
	if (!p)
		return;
	if (!g->charset) {
		g->charset = p->charset;
		g->charset_v = p->charset_v;
	}
	if (!g->source) {
		g->source = p->source;
		g->source_v = p->source_v;
		g->src_file = p->src_file;
		g->src_line = p->src_line;
	}
	if (!g->override_seen) {
		g->override_on = p->override_on;
		g->override_seen = p->override_seen;
	}
	if (!g->types_set) {
		g->types = p->types;
		g->ntypes = p->ntypes;
		g->types_any = p->types_any;
		g->types_set = p->types_set;
	}
}

int cfg_charset_check(struct build *b, const struct charset_loc *g)
{
	if (!g->charset || !g->charset[0] || !g->source || !g->source[0] || g->charset == g->source)
		return 0;
	if (g->charset_v || g->source_v) /* nginx checks these per response */
		return 0;
	if (charset_table(b->cfg->http->cs, g->source, g->charset))
		return 0;
	/* nginx's message (it names no line); lbd adds where source_charset is */
	return cfg_fail(b, &(struct cfg_node){.file = g->src_file, .line = g->src_line},
			"no \"charset_map\" between the charsets \"%s\" and \"%s\"", g->source,
			g->charset);
}
