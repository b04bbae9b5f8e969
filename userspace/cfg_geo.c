/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, geo: `geo [$address] $variable { ... }` in http,
 * read as nginx's geo module reads it: `default`, `NETWORK VALUE;` (IPv4
 * and IPv6 CIDRs or single addresses), `delete NETWORK;`, with nginx's
 * warnings (duplicate networks, host bits) and errors; `include` was
 * expanded in place by cfg_ast.c; `ranges` (IPv4 START-END lines, each put
 * into the trie as the CIDR blocks that cover it exactly: a range inside
 * another then wins there, as nginx splits the outer one); in http,
 * `proxy CIDR` and `proxy_recursive` (realip's X-Forwarded-For walk). The
 * variable itself was made by the maps' pre-pass (cfg_prepass_maps), so
 * uses before the block compile; geo.c builds and looks up the tries.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"
#include "geo.h"
#include "realip-t.h"

/* parse_range - "A.B.C.D-E.F.G.H" into host-order START and END. */
static int parse_range(const char *t, uint32_t *start, uint32_t *end)
{
	const char *dash = strchr(t, '-');
	char a[INET_ADDRSTRLEN];
	struct in_addr x, y;
	size_t n;

	if (!dash || (n = (size_t)(dash - t)) == 0 || n >= sizeof(a))
		return -1;
	memcpy(a, t, n);
	a[n] = '\0';
	if (inet_pton(AF_INET, a, &x) != 1 || inet_pton(AF_INET, dash + 1, &y) != 1)
		return -1;
	*start = ntohl(x.s_addr);
	*end = ntohl(y.s_addr);
	/* nginx's address reader answers INADDR_NONE for 255.255.255.255 */
	if (*start == UINT32_MAX || *end == UINT32_MAX)
		return -1;
	return *start <= *end ? 0 : -1;
}

/* range_line - a `ranges` line C (RANGE VALUE, or `delete RANGE`) into G:
 * each CIDR block of the range (the largest aligned block that starts at
 * the next address and stays inside) is a network of the trie. */
static int range_line(struct build *b, struct cfg_node *c, struct geo *g, bool del)
{
	const char *net = del ? c->args[0] : c->name, *old = NULL, *first_old = NULL;
	uint32_t start, end;
	uint64_t at;
	int pieces = 0, dups = 0, missing = 0;

	if (parse_range(net, &start, &end))
		return cfg_fail(b, c, "invalid range \"%s\"", net);
	for (at = start; at <= end;) {
		char cidr[INET_ADDRSTRLEN + 4];
		struct in_addr ia = {htonl((uint32_t)at)};
		int bits = 32, rc;

		/* grow the block while it stays aligned and inside the range */
		while (bits > 0 && (at & ((1ull << (33 - bits)) - 1)) == 0 &&
		       at + (1ull << (33 - bits)) - 1 <= end)
			bits--;
		inet_ntop(AF_INET, &ia, cidr, INET_ADDRSTRLEN);
		snprintf(cidr + strlen(cidr), 5, "/%d", bits);
		if (del) {
			missing += geo_del(g, cidr) == GEO_NOT_FOUND;
		} else {
			rc = geo_add(g, b->pool, cidr, c->args[0], &old);
			if (rc == GEO_ENOMEM || rc == GEO_INVALID)
				return cfg_fail(b, c, "out of memory");
			if (rc & GEO_DUPLICATE) {
				dups++;
				if (!first_old)
					first_old = old;
			}
		}
		pieces++;
		at += 1ull << (32 - bits);
	}
	if (del && missing)
		cfg_warn(c, "no address range \"%s\" to delete", net);
	if (!del && dups == pieces)
		cfg_warn(c, "duplicate range \"%s\", value: \"%s\", old value: \"%s\"", net,
			 c->args[0], first_old ? first_old : "");
	g->nnets++;
	return 0;
}

/* geo_line - one line C of the block into G (an http block when HTTP:
 * `proxy` and `proxy_recursive` are http's). 0 or -1. */
static int geo_line(struct build *b, struct cfg_node *c, struct geo *g, bool http)
{
	const char *old = NULL;
	int rc;

	if (c->block)
		return cfg_fail(b, c, "invalid number of the geo parameters");
	if (c->nargs == 0 && strcmp(c->name, "ranges") == 0) {
		if (g->nnets)
			return cfg_fail(
				b, c,
				"the \"ranges\" directive must be the first directive inside "
				"\"geo\" block");
		g->ranges = true;
		return 0;
	}
	if (c->nargs == 0 && strcmp(c->name, "proxy_recursive") == 0 && http) {
		g->proxy_recursive = true;
		return 0;
	}
	if (strcmp(c->name, "proxy") == 0 && c->nargs == 1 && http) {
		struct realip_conf pc = {.from = g->proxies, .nfrom = g->nproxies};
		uint8_t a[16];
		int bits;
		bool v6;

		if (geo_parse_net(c->args[0], a, &bits, &v6) == GEO_INVALID)
			return cfg_fail(b, c, "invalid network \"%s\"", c->args[0]);
		if (cfg_realip_from(b, c, &pc))
			return -1;
		g->proxies = pc.from;
		g->nproxies = pc.nfrom;
		return 0;
	}
	/* stream's geo has neither: `proxy ADDR` is then a network named
	 * "proxy" (below), `proxy_recursive` a line of one word */
	if (c->nargs != 1)
		return cfg_fail(b, c, "invalid number of the geo parameters");
	if (strcmp(c->name, "default") == 0)
		return geo_set_default(g, b->pool, c->args[0]) ? cfg_fail(b, c, "out of memory")
							       : 0;
	if (g->ranges)
		return range_line(b, c, g, strcmp(c->name, "delete") == 0);
	g->nnets++;
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
int cfg_geo_block(struct build *b, struct cfg_node *n, struct geo **out, bool http)
{
	struct geo *g = pool_zalloc(b->pool, sizeof(*g));

	if (!g || geo_init(g, b->pool))
		return cfg_fail(b, n, "out of memory");
	g->src_default = n->nargs == 1;
	for (size_t i = 0; i < n->nchildren; i++)
		if (geo_line(b, &n->children[i], g, http))
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
	return cfg_geo_block(b, n, &m->geo, true);
}
