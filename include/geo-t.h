/* SPDX-License-Identifier: MIT */
/*
 * nginx's geo module: a variable whose value is chosen by the longest
 * network (IPv4 or IPv6 CIDR) holding an address. Types only.
 */
#ifndef LBD_GEO_T_H
#define LBD_GEO_T_H

#include <stdbool.h>
#include <stdint.h>

#include "lbd.h"

struct realip_cidr;

/* struct geo_node - one node of a binary trie over address bits: bit 0
 * of the next address bit goes to child[0]. Indices into geo_trie.nodes
 * (0 = none: the root is never a child). */
struct geo_node {
	uint32_t child[2];
	int32_t value; /* index into geo.values, -1 = no network ends here */
};

/* struct geo_trie - the networks of one family, built at load, read-only
 * after: a lookup walks at most 32 (IPv4) or 128 (IPv6) nodes, no memory. */
struct geo_trie {
	struct geo_node *nodes; /* nodes[0] is the root (/0) */
	int nnodes, cap;
};

/* struct geo - one `geo` block's networks and values. */
struct geo {
	struct geo_trie v4, v6;
	struct lstr *values; /* distinct value strings, NUL-terminated, in the config's pool */
	int nvalues;
	struct lstr def; /* `default` ("" when not given) */
	bool ranges;	 /* `ranges`: IPv4 lines are START-END ranges */
	int nnets;	 /* lines that added or deleted a network or range */
	/* `proxy CIDR` (http, the address being $remote_addr): from such a
	 * peer the address is X-Forwarded-For's, `proxy_recursive` walking on */
	struct realip_cidr *proxies;
	int nproxies;
	bool proxy_recursive;
	bool src_default; /* no source variable given: $remote_addr */
};

#endif
