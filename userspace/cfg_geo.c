/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, geo: `geo [$address] $variable { ... }` in http,
 * read as nginx's geo module reads it: `default`, `NETWORK VALUE;` (IPv4
 * and IPv6 CIDRs or single addresses), `delete NETWORK;`, with nginx's
 * warnings (duplicate networks, host bits) and errors; `include` was
 * expanded in place by cfg_ast.c. `ranges`, `proxy` and `proxy_recursive`
 * are refused for now. The
 * variable itself was made by the maps' pre-pass (cfg_prepass_maps), so
 * uses before the block compile; geo.c builds and looks up the tries.
 */
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"
#include "geo.h"

/* geo_line - one line C of the block into G. 0 or -1. */
static int geo_line(struct build *b, struct cfg_node *c, struct geo *g)
{
	const char *old = NULL;
	int rc;

	if (c->block)
		return cfg_fail(b, c, "invalid number of the geo parameters");
	if (c->nargs == 0 &&
	    (strcmp(c->name, "ranges") == 0 || strcmp(c->name, "proxy_recursive") == 0))
		return cfg_fail(b, c, "\"%s\" inside \"geo\" is not supported yet", c->name);
	if (strcmp(c->name, "proxy") == 0)
		return cfg_fail(b, c, "\"%s\" inside \"geo\" is not supported yet", c->name);
	if (c->nargs != 1)
		return cfg_fail(b, c, "invalid number of the geo parameters");
	if (strcmp(c->name, "default") == 0)
		return geo_set_default(g, b->pool, c->args[0]) ? cfg_fail(b, c, "out of memory")
							       : 0;
	if (strcmp(c->name, "delete") == 0) {
		rc = geo_del(g, c->args[0]);
		if (rc == GEO_INVALID)
			return cfg_fail(b, c, "invalid network \"%s\"", c->args[0]);
		if (rc == GEO_NOT_FOUND)
			cfg_warn(c, "no network \"%s\" to delete", c->args[0]);
		return 0;
	}
	rc = geo_add(g, b->pool, c->name, c->args[0], &old);
	if (rc == GEO_INVALID)
		return cfg_fail(b, c, "invalid network \"%s\"", c->name);
	if (rc == GEO_ENOMEM)
		return cfg_fail(b, c, "out of memory");
	if (rc & GEO_LOW_BITS)
		cfg_warn(c, "low address bits of %s are meaningless", c->name);
	if (rc & GEO_DUPLICATE)
		cfg_warn(c, "duplicate network \"%s\", value: \"%s\", old value: \"%s\"", c->name,
			 c->args[0], old ? old : "");
	return 0;
}

/* cfg_geo_block - the lines of geo block N into a new geo *OUT (http's
 * and stream's geo alike). 0 or -1. */
int cfg_geo_block(struct build *b, struct cfg_node *n, struct geo **out)
{
	struct geo *g = pool_zalloc(b->pool, sizeof(*g));

	if (!g || geo_init(g, b->pool))
		return cfg_fail(b, n, "out of memory");
	for (size_t i = 0; i < n->nchildren; i++)
		if (geo_line(b, &n->children[i], g))
			return -1;
	*out = g;
	return 0;
}

int cfg_set_geo(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	const char *var = n->args[n->nargs - 1];
	struct cfg_map *m;

	(void)d;
	m = cfg_map_declared(b, n, s, var);
	if (!m)
		return -1;
	if (n->nargs == 2 && n->args[0][0] != '$')
		return cfg_fail(b, n, "invalid variable name \"%s\"", n->args[0]);
	if (cfg_compile(b, n, n->nargs == 2 ? n->args[0] : "$remote_addr", &m->src))
		return -1;
	return cfg_geo_block(b, n, &m->geo);
}
