/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, the store: nginx's proxy_store on|off|STRING and
 * proxy_store_access, and their fastcgi_, uwsgi_ and scgi_ twins (each
 * module's kept in its struct fcgi_twins, which a table entry names by
 * its offset; proxy_* at offset 0 is the location's own). nginx's checks
 * and messages: a store and a cache in one level are refused. The table
 * entries that point here are in cfg.c; store.c does the work. Also
 * client_body_in_file_only (its files are reqbody.c's).
 */
#include <stddef.h>
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"
#include "store.h"

struct store_conf *cfg_store_of(struct cfg_loc *l, const struct dir *d)
{
	return d->off ? &((struct fcgi_twins *)((char *)l + d->off))->store : &l->store;
}

/* cache_of - the cache settings of the module D's entry names. */
static const struct cache_loc *cache_of(const struct cfg_loc *l, const struct dir *d)
{
	return d->off ? &((const struct fcgi_twins *)((const char *)l + d->off))->cache : &l->cache;
}

int cfg_set_store(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct store_conf *st = cfg_store_of(s->loc, d);
	const char *a = n->args[0];
	size_t pl = strlen(n->name) - strlen("_store");

	if (st->on != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (strcmp(a, "off") == 0) {
		st->on = 0;
		return 0;
	}
	if (cache_of(s->loc, d)->on == 1)
		return cfg_fail(b, n, "\"%s\" directive is incompatible with \"%.*s_cache\"",
				n->name, (int)pl, n->name);
	st->on = 1;
	if (strcmp(a, "on") == 0)
		return 0;
	st->path = pool_zalloc(b->pool, sizeof(*st->path));
	if (!st->path)
		return cfg_fail(b, n, "out of memory");
	return cfg_compile(b, n, a, st->path);
}

/* cfg_access_mode - N's arguments (`user:rw group:r all:r`, the form of
 * *_store_access and dav_access) as a file mode in *OUT: the owner reads
 * and writes unless a user: part says otherwise, as nginx. 0, or -1 when
 * the error is set. */
int cfg_access_mode(struct build *b, struct cfg_node *n, int *out)
{
	int mode = 0600;

	for (size_t i = 0; i < n->nargs; i++)
		if (strncmp(n->args[i], "user:", 5) == 0)
			mode = 0;
	for (size_t i = 0; i < n->nargs; i++)
		if (store_access_parse(n->args[i], &mode))
			return cfg_fail(b, n, "invalid value \"%s\"", n->args[i]);
	*out = mode;
	return 0;
}

int cfg_set_store_access(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct store_conf *st = cfg_store_of(s->loc, d);

	if (st->access != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	return cfg_access_mode(b, n, &st->access);
}

int cfg_set_body_in_file(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	static const char *const names[] = {
		[BODY_FILE_OFF] = "off", [BODY_FILE_ON] = "on", [BODY_FILE_CLEAN] = "clean"};

	(void)d;
	if (s->loc->body_in_file != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	for (int i = 0; i < (int)ARRAY_SIZE(names); i++) {
		if (strcmp(n->args[0], names[i]) == 0) {
			s->loc->body_in_file = i;
			return 0;
		}
	}
	return cfg_fail(b, n, "invalid value \"%s\"", n->args[0]);
}

void cfg_store_init(struct store_conf *st)
{
	st->on = CFG_UNSET;
	st->path = NULL;
	st->access = CFG_UNSET;
}

void cfg_store_merge(struct store_conf *st, const struct store_conf *p)
{
	if (st->on == CFG_UNSET) {
		st->on = p ? p->on : 0;
		st->path = p ? p->path : NULL;
	}
	if (st->access == CFG_UNSET)
		st->access = p ? p->access : 0600;
}
