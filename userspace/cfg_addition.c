/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, additions (nginx's ngx_http_addition_module):
 * add_before_body and add_after_body (a URI each, a literal; "" is none,
 * the default; one per level, "is duplicate" as nginx's string slot),
 * addition_types (text/html always matches, `*` any) and their merge
 * down the levels. The request side is embed.c.
 */
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"

void cfg_addition_init(struct add_loc *a)
{
	memset(a, 0, sizeof(*a));
}

int cfg_set_addition_uri(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct add_loc *a = &s->loc->add;
	const char **slot = strcmp(n->name, "add_before_body") == 0 ? &a->before : &a->after;

	(void)d;
	if (*slot)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	*slot = pool_strdup(b->pool, n->args[0]);
	if (!*slot)
		return cfg_fail(b, n, "out of memory");
	return 0;
}

int cfg_set_addition_types(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	struct add_loc *a = &s->loc->add;

	(void)d;
	a->types_set = true; /* a second line adds to the list, as nginx */
	return cfg_types_list(b, n, &a->types, &a->ntypes, &a->types_any);
}

void cfg_addition_merge(struct add_loc *a, const struct add_loc *p)
{
	if (!a->before)
		a->before = p ? p->before : "";
	if (!a->after)
		a->after = p ? p->after : "";
	if (!a->types_set && p) {
		a->types = p->types;
		a->ntypes = p->ntypes;
		a->types_any = p->types_any;
	}
	a->on = a->before[0] || a->after[0];
}
