/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, charsets: the directives of nginx's charset
 * filter (charset, source_charset, charset_types, override_charset,
 * charset_map) with nginx's contexts, checks and messages, and the merge
 * down the levels. lbd names a charset in Content-Type and never recodes,
 * so what would make nginx recode is an error here rather than a body
 * sent unconverted: charset_map, override_charset on, a source_charset
 * other than the charset, and charsets from variables. The table that
 * points here is in cfg.c.
 */
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "cfg_int.h"

/* intern - NAME as first written in this configuration (any case): nginx
 * keeps one spelling per charset and sends that one. */
static const char *intern(struct build *b, const char *name)
{
	const char **slot;

	for (int i = 0; i < b->ncharsets; i++)
		if (strcasecmp(b->charsets[i], name) == 0)
			return b->charsets[i];
	slot = PUSH(b, b->charsets, b->ncharsets);
	if (!slot)
		return NULL;
	*slot = pool_strdup(b->pool, name);
	return *slot;
}

/* set_name - charset or source_charset into *F: "off" or a name. */
static int set_name(struct build *b, struct cfg_node *n, const char **f)
{
	const char *a = n->args[0];

	if (*f)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (strcmp(a, "off") == 0) {
		*f = "";
		return 0;
	}
	if (a[0] == '$')
		return cfg_fail(b, n, "\"%s\" with a variable is not supported", n->name);
	*f = intern(b, a);
	return *f ? 0 : cfg_fail(b, n, "out of memory");
}

int cfg_set_charset(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	return set_name(b, n, &s->loc->charset.charset);
}

int cfg_set_source_charset(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	struct charset_loc *g = &s->loc->charset;

	(void)d;
	g->src_file = n->file;
	g->src_line = n->end_line ? n->end_line : n->line;
	return set_name(b, n, &g->source);
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
	if (strcasecmp(n->args[0], "on") == 0)
		return cfg_fail(b, n,
				"\"override_charset on\" is not supported (lbd does not recode)");
	return cfg_fail(b, n,
			"invalid value \"%s\" in \"%s\" directive, it must be \"on\" or \"off\"",
			n->args[0], n->name);
}

int cfg_set_charset_map(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)s, (void)d;
	return cfg_fail(b, n, "\"charset_map\" is not supported (lbd does not recode)");
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
	if (!g->charset)
		g->charset = p->charset;
	if (!g->source) {
		g->source = p->source;
		g->src_file = p->src_file;
		g->src_line = p->src_line;
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
	/* nginx's message (it names no line); lbd adds where source_charset is */
	return cfg_fail(b, &(struct cfg_node){.file = g->src_file, .line = g->src_line},
			"no \"charset_map\" between the charsets \"%s\" and \"%s\"", g->source,
			g->charset);
}
