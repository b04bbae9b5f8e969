/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, the cache of the FastCGI, uwsgi and SCGI
 * modules: nginx's fastcgi_cache*, uwsgi_cache* and scgi_cache*
 * directives (and *_no_cache). Each module's are the proxy cache's
 * settings kept apart (nginx's modules inherit each on its own), in the
 * cache field of the module's struct fcgi_twins, which a table entry
 * names by its offset: the proxy_cache_* setters of cfg_cache.c run on
 * that cache swapped into the location's, and cfg_twins_apply copies it
 * over the location's cache settings when its handler is the module's
 * *_pass, so cache.c and proxy.c read one set. *_cache_path is
 * proxy_cache_path's setter (the zone remembers which module named it).
 * The table entries that point here are made by cfg.c's TWIN_CACHE_DIRS.
 */
#include <stddef.h>
#include <string.h>

#include "cache.h"
#include "cfg.h"
#include "cfg_int.h"
#include "log.h"

/* run - SET on the cache settings of the struct fcgi_twins at D's offset
 * in place of the location's proxy cache settings. */
static int run(int (*set)(struct build *, struct cfg_node *, struct scope *, const struct dir *),
	       struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_loc *l = s->loc;
	struct cache_loc *own = &((struct fcgi_twins *)((char *)l + d->off))->cache;
	struct cache_loc tmp = l->cache;
	int rc;

	l->cache = *own;
	rc = set(b, n, s, d);
	*own = l->cache;
	l->cache = tmp;
	return rc;
}

int cfg_set_twin_cache(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	return run(cfg_set_cache, b, n, s, d);
}

int cfg_set_twin_cache_key(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	return run(cfg_set_cache_key, b, n, s, d);
}

int cfg_set_twin_cache_valid(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d)
{
	return run(cfg_set_cache_valid, b, n, s, d);
}

int cfg_set_twin_cache_methods(struct build *b, struct cfg_node *n, struct scope *s,
			       const struct dir *d)
{
	return run(cfg_set_cache_methods, b, n, s, d);
}

int cfg_set_twin_cache_cond(struct build *b, struct cfg_node *n, struct scope *s,
			    const struct dir *d)
{
	return run(cfg_set_cache_cond, b, n, s, d);
}

int cfg_set_twin_cache_use_stale(struct build *b, struct cfg_node *n, struct scope *s,
				 const struct dir *d)
{
	return run(cfg_set_cache_use_stale, b, n, s, d);
}

int cfg_set_twin_cache_range(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d)
{
	return run(cfg_set_cache_range, b, n, s, d);
}

int cfg_twin_cache_check(struct build *b, struct cfg_loc *l)
{
	/* in nginx's module order, the order of its warnings */
	static const struct {
		size_t off;	  /* the module's struct fcgi_twins in struct cfg_loc */
		const char *name; /* the module's directive prefix */
	} mods[] = {
		{offsetof(struct cfg_loc, fcgi.t), "fastcgi"},
		{offsetof(struct cfg_loc, uwsgi.t), "uwsgi"},
		{offsetof(struct cfg_loc, scgi.t), "scgi"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(mods); i++) {
		struct cache_loc *cl = &((struct fcgi_twins *)((char *)l + mods[i].off))->cache;

		if (cl->on != 1 || cl->key_set)
			continue;
		/* nginx 1.22 warns when it merges each level below http, and
		 * keys every request of the level with the empty string */
		if (!b->cfg->http || l != &b->cfg->http->loc)
			cfg_warn(&b->http_end, "no \"%s_cache_key\" for \"%s_cache\"", mods[i].name,
				 mods[i].name);
		if (cfg_compile(b, &b->http_end, "", &cl->key))
			return -1;
		cl->key_set = true;
	}
	return 0;
}
