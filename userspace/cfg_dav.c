/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, WebDAV (nginx's ngx_http_dav_module):
 * `dav_methods off | METHOD...`, `dav_access`, and the merge of
 * struct dav_loc; create_full_put_path and min_delete_depth go through
 * the table in cfg.c. As nginx: a second dav_methods line in one level
 * adds its methods, a second dav_access is "is duplicate", a method
 * named twice is a warning, a word
 * that is not a method (or not user:/group:/all: with r or rw) is
 * "invalid value". The request side is dav.c.
 */
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "cfg_int.h"

void cfg_dav_init(struct dav_loc *d)
{
	d->methods = CFG_UNSET;
	d->create_full_put_path = CFG_UNSET;
	d->access = CFG_UNSET;
	d->min_delete_depth = CFG_UNSET;
}

void cfg_dav_merge(struct dav_loc *d, const struct dav_loc *p)
{
	if (d->methods == CFG_UNSET)
		d->methods = p ? p->methods : 0;
	if (d->create_full_put_path == CFG_UNSET)
		d->create_full_put_path = p ? p->create_full_put_path : 0;
	if (d->access == CFG_UNSET)
		d->access = p ? p->access : 0600;
	if (d->min_delete_depth == CFG_UNSET)
		d->min_delete_depth = p ? p->min_delete_depth : 0;
}

int cfg_set_dav_methods(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	static const struct {
		const char *name;
		int bit;
	} names[] = {{"off", 0},	   {"put", DAV_PUT},   {"delete", DAV_DELETE},
		     {"mkcol", DAV_MKCOL}, {"copy", DAV_COPY}, {"move", DAV_MOVE}};
	struct dav_loc *dl = &s->loc->dav;
	int m = 0;
	bool off = false;

	(void)d;
	/* nginx's bitmask slot: a second line adds to the first */
	if (dl->methods != CFG_UNSET)
		m = dl->methods;
	for (size_t i = 0; i < n->nargs; i++) {
		size_t k;

		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strcasecmp(n->args[i], names[k].name) == 0)
				break;
		if (k == sizeof(names) / sizeof(names[0]))
			return cfg_fail(b, n, "invalid value \"%s\"", n->args[i]);
		if ((!names[k].bit && off) || (m & names[k].bit))
			cfg_warn(n, "duplicate value \"%s\"", n->args[i]);
		off |= !names[k].bit;
		m |= names[k].bit;
	}
	dl->methods = m;
	return 0;
}

int cfg_set_dav_access(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct dav_loc *dl = &s->loc->dav;

	(void)d;
	if (dl->access != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	return cfg_access_mode(b, n, &dl->access);
}
