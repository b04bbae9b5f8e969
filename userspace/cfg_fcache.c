/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, FastCGI cache: nginx's fastcgi_cache and
 * fastcgi_cache_* directives. They are the proxy cache's settings kept
 * apart (nginx's fastcgi and proxy modules inherit each on its own): the
 * proxy_cache_* setters of cfg_cache.c run on the location's fcgi.cache
 * swapped into its cache field, and cfg_fastcgi_apply copies fcgi.cache
 * over the location's cache settings when its handler is fastcgi_pass, so
 * cache.c and proxy.c read one set. fastcgi_cache_path is
 * proxy_cache_path's setter (the zone remembers which module named it).
 * The table that points here is in cfg.c.
 */
#include <string.h>

#include "cache.h"
#include "cfg.h"
#include "cfg_int.h"
#include "log.h"

/* run - SET on the location's fastcgi cache settings in place of its
 * proxy cache settings. */
static int run(int (*set)(struct build *, struct cfg_node *, struct scope *, const struct dir *),
	       struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_loc *l = s->loc;
	struct cache_loc tmp = l->cache;
	int rc;

	l->cache = l->fcgi.cache;
	rc = set(b, n, s, d);
	l->fcgi.cache = l->cache;
	l->cache = tmp;
	return rc;
}

int cfg_set_fcache(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	return run(cfg_set_cache, b, n, s, d);
}

int cfg_set_fcache_key(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	return run(cfg_set_cache_key, b, n, s, d);
}

int cfg_set_fcache_valid(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	return run(cfg_set_cache_valid, b, n, s, d);
}

int cfg_set_fcache_methods(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	return run(cfg_set_cache_methods, b, n, s, d);
}

int cfg_set_fcache_cond(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	return run(cfg_set_cache_cond, b, n, s, d);
}

int cfg_set_fcache_use_stale(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d)
{
	return run(cfg_set_cache_use_stale, b, n, s, d);
}

/* cfg_set_fcache_range - fastcgi_cache_max_range_offset NUMBER: checked as
 * nginx does (an offset), then warned about (no effect yet). */
int cfg_set_fcache_range(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int64_t v;

	(void)s;
	(void)d;
	if (cfg_parse_size(n->args[0], &v))
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	cfg_warn(n, "\"%s\" is not supported by this lbd build yet and is ignored", n->name);
	return 0;
}

int cfg_fcache_check(struct build *b, struct cfg_loc *l)
{
	struct cache_loc *cl = &l->fcgi.cache;

	if (cl->on != 1 || cl->key_set)
		return 0;
	/* nginx 1.22 warns when it merges each level below http, and keys
	 * every request of the level with the empty string */
	if (!b->cfg->http || l != &b->cfg->http->loc)
		cfg_warn(&b->http_end, "no \"fastcgi_cache_key\" for \"fastcgi_cache\"");
	if (cfg_compile(b, &b->http_end, "", &cl->key))
		return -1;
	cl->key_set = true;
	return 0;
}
