/* SPDX-License-Identifier: MIT */
/*
 * nginx's geo module: networks and their values in two binary tries (one
 * for IPv4, one for IPv6), built once at configuration load into the
 * configuration's pool; a request's lookup walks the address bits from
 * the root and keeps the value of the deepest network passed (the longest
 * prefix), allocating nothing. `default` is the value of both roots, as
 * nginx's 0.0.0.0/0 and ::/0; without it the value is empty.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "http.h"
#include "pool.h"
#include "realip.h"
#include "var.h"

/* node_new - a fresh node of T (nodes may move: callers keep indices). */
static int node_new(struct geo_trie *t, struct pool *pool)
{
	if (t->nnodes == t->cap) {
		int cap = t->cap ? t->cap * 2 : 64;
		struct geo_node *n = pool_alloc(pool, sizeof(*n) * (size_t)cap);

		if (!n)
			return -1;
		if (t->nnodes)
			memcpy(n, t->nodes, sizeof(*n) * (size_t)t->nnodes);
		t->nodes = n;
		t->cap = cap;
	}
	t->nodes[t->nnodes] = (struct geo_node){{0, 0}, -1};
	return t->nnodes++;
}

int geo_init(struct geo *g, struct pool *pool)
{
	memset(g, 0, sizeof(*g));
	g->def = (struct lstr){"", 0};
	return node_new(&g->v4, pool) < 0 || node_new(&g->v6, pool) < 0 ? -ENOMEM : 0;
}

int geo_parse_net(const char *net, uint8_t addr[16], int *bits, bool *v6)
{
	char buf[64];
	const char *slash = strchr(net, '/');
	size_t alen = slash ? (size_t)(slash - net) : strlen(net);
	int max, rc = GEO_OK;

	if (!alen || alen >= sizeof(buf))
		return GEO_INVALID;
	memcpy(buf, net, alen);
	buf[alen] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*v6 = false;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*v6 = true;
		max = 128;
	} else {
		return GEO_INVALID;
	}
	*bits = max;
	if (slash) {
		char *end;
		long n;

		if (!slash[1] || slash[1] < '0' || slash[1] > '9')
			return GEO_INVALID;
		n = strtol(slash + 1, &end, 10);
		if (*end || n > max)
			return GEO_INVALID;
		*bits = (int)n;
	}
	/* nginx keeps the network and warns about the bits past the prefix */
	for (int i = *bits; i < max; i++) {
		if (addr[i / 8] & (0x80 >> (i % 8))) {
			addr[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
			rc = GEO_LOW_BITS;
		}
	}
	return rc;
}

/* value_of - the index of VALUE among G's values (added once). */
static int value_of(struct geo *g, struct pool *pool, const char *value)
{
	size_t len = strlen(value);
	char *copy;

	for (int i = 0; i < g->nvalues; i++)
		if (g->values[i].len == len && memcmp(g->values[i].p, value, len) == 0)
			return i;
	if ((g->nvalues & (g->nvalues - 1)) == 0) { /* 0, 1, 2, 4...: grow */
		struct lstr *v =
			pool_alloc(pool, sizeof(*v) * (size_t)(g->nvalues ? g->nvalues * 2 : 1));

		if (!v)
			return -1;
		if (g->nvalues)
			memcpy(v, g->values, sizeof(*v) * (size_t)g->nvalues);
		g->values = v;
	}
	copy = pool_strdup(pool, value);
	if (!copy)
		return -1;
	g->values[g->nvalues] = (struct lstr){copy, len};
	return g->nvalues++;
}

/* walk - the node of network ADDR/BITS in T, made on the way with POOL
 * (NULL: only look). Index, 0 for the root, or -1. */
static int walk(struct geo_trie *t, struct pool *pool, const uint8_t *addr, int bits)
{
	int n = 0;

	for (int i = 0; i < bits; i++) {
		int b = (addr[i / 8] >> (7 - i % 8)) & 1;
		int next = (int)t->nodes[n].child[b];

		if (!next) {
			if (!pool || (next = node_new(t, pool)) < 0)
				return -1;
			t->nodes[n].child[b] = (uint32_t)next;
		}
		n = next;
	}
	return n;
}

/* put - node N of T gets value index V; GEO_DUPLICATE if it had one. */
static int put(struct geo *g, struct geo_trie *t, int n, int v, const char **old)
{
	int rc = GEO_OK;

	if (t->nodes[n].value >= 0) {
		if (old)
			*old = g->values[t->nodes[n].value].p;
		rc = GEO_DUPLICATE;
	}
	t->nodes[n].value = v;
	return rc;
}

int geo_add(struct geo *g, struct pool *pool, const char *net, const char *value, const char **old)
{
	uint8_t addr[16];
	int bits, rc, n, v, d;
	bool v6;
	struct geo_trie *t;

	rc = geo_parse_net(net, addr, &bits, &v6);
	if (rc < 0)
		return rc;
	t = v6 ? &g->v6 : &g->v4;
	v = value_of(g, pool, value);
	if (v < 0 || (n = walk(t, pool, addr, bits)) < 0)
		return GEO_ENOMEM;
	d = put(g, t, n, v, old);
	return d | rc;
}

int geo_set_default(struct geo *g, struct pool *pool, const char *value)
{
	int v = value_of(g, pool, value);

	if (v < 0)
		return -ENOMEM;
	put(g, &g->v4, 0, v, NULL);
	put(g, &g->v6, 0, v, NULL);
	g->def = g->values[v];
	return 0;
}

int geo_del(struct geo *g, const char *net)
{
	uint8_t addr[16];
	int bits, rc, n;
	bool v6;
	struct geo_trie *t;

	rc = geo_parse_net(net, addr, &bits, &v6);
	if (rc < 0)
		return rc;
	t = v6 ? &g->v6 : &g->v4;
	n = walk(t, NULL, addr, bits);
	if (n < 0 || t->nodes[n].value < 0)
		return GEO_NOT_FOUND;
	t->nodes[n].value = -1;
	return GEO_OK;
}

/* lookup - the deepest value on ADDR's path in T (BITS of it), or -1. */
static int lookup(const struct geo_trie *t, const uint8_t *addr, int bits)
{
	int n = 0, v = t->nodes[0].value;

	for (int i = 0; i < bits; i++) {
		n = (int)t->nodes[n].child[(addr[i / 8] >> (7 - i % 8)) & 1];
		if (!n)
			break;
		if (t->nodes[n].value >= 0)
			v = t->nodes[n].value;
	}
	return v;
}

struct lstr geo_find(const struct geo *g, const char *a, size_t len)
{
	static const uint8_t none[4] = {255, 255, 255, 255};
	uint8_t addr[16];
	char buf[INET6_ADDRSTRLEN + 1];
	int v;

	if (len < sizeof(buf)) {
		memcpy(buf, a, len);
		buf[len] = '\0';
	} else {
		buf[0] = '\0';
	}
	if (buf[0] && inet_pton(AF_INET, buf, addr) == 1) {
		v = lookup(&g->v4, addr, 32);
	} else if (buf[0] && inet_pton(AF_INET6, buf, addr) == 1) {
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		v = memcmp(addr, mapped, 12) == 0 ? lookup(&g->v4, addr + 12, 32)
						  : lookup(&g->v6, addr, 128);
	} else {
		v = lookup(&g->v4, none, 32);
	}
	return v >= 0 ? g->values[v] : (struct lstr){"", 0};
}

int geo_eval(const struct cfg_map *m, struct conn *c, struct lstr *out)
{
	const struct geo *g = m->geo;
	struct lstr a;

	if (g->nproxies && g->src_default) {
		/* from a trusted proxy: the address X-Forwarded-For gives */
		struct sockaddr_storage ss;
		socklen_t sl;
		char t[INET6_ADDRSTRLEN];

		if (realip_forwarded(c, g->proxies, g->nproxies, g->proxy_recursive, &ss, &sl)) {
			const void *p =
				ss.ss_family == AF_INET
					? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
					: (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;

			if (inet_ntop(ss.ss_family, p, t, sizeof(t))) {
				*out = geo_find(g, t, strlen(t));
				return 0;
			}
		}
	}
	if (cval_eval(&m->src, c, &a))
		return -ENOMEM;
	*out = geo_find(g, a.p, a.len);
	return 0;
}
