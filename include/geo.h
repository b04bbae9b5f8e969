/* SPDX-License-Identifier: MIT */
/*
 * The geo module: building the tries (at configuration load) and looking
 * an address up (per request, without allocating).
 */
#ifndef LBD_GEO_H
#define LBD_GEO_H

#include <stdbool.h>
#include <stddef.h>

#include "geo-t.h"

struct pool;
struct conn;
struct cfg_map;

/* enum geo_rc - what geo_add and geo_del report besides success. */
enum geo_rc {
	GEO_OK = 0,
	GEO_ENOMEM = -1,
	GEO_INVALID = -2,  /* not a network nginx reads */
	GEO_DUPLICATE = 1, /* the network had a value: replaced (nginx warns) */
	GEO_LOW_BITS = 2,  /* host bits set: cleared (nginx warns) */
	GEO_NOT_FOUND = 3, /* geo_del: no such network (nginx warns) */
};

/* geo_init - an empty geo, its memory from POOL (for the geo's life).
 * 0 or -ENOMEM. */
int geo_init(struct geo *g, struct pool *pool);

/* geo_parse_net - NET ("a.b.c.d[/n]", "x::y[/n]", "255.255.255.255") into
 * the address bytes ADDR (4 or 16, network order), the prefix BITS and
 * V6. GEO_OK, GEO_LOW_BITS (masked) or GEO_INVALID. */
int geo_parse_net(const char *net, uint8_t addr[16], int *bits, bool *v6);

/* geo_add - NET gets VALUE (copied into POOL, shared with equal values);
 * OLD (may be NULL) gets the value replaced on GEO_DUPLICATE. Returns
 * GEO_ENOMEM, GEO_INVALID, or GEO_OK with the bits GEO_DUPLICATE and
 * GEO_LOW_BITS for nginx's warnings. */
int geo_add(struct geo *g, struct pool *pool, const char *net, const char *value, const char **old);
/* geo_del - `delete NET`: NET no longer has a value of its own. */
int geo_del(struct geo *g, const char *net);
/* geo_set_default - `default VALUE`. 0 or -ENOMEM. */
int geo_set_default(struct geo *g, struct pool *pool, const char *value);

/* geo_find - the value for address text A[0..LEN) (IPv4, IPv6,
 * IPv4-mapped IPv6 looked up as IPv4); text that is no address is looked
 * up as 255.255.255.255, as nginx does. Never NULL. */
struct lstr geo_find(const struct geo *g, const char *a, size_t len);

/* geo_eval - the value of geo variable M for C (its source: the given
 * variable, or $remote_addr). 0 or -ENOMEM. */
int geo_eval(const struct cfg_map *m, struct conn *c, struct lstr *out);

#endif
