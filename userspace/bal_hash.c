/* SPDX-License-Identifier: MIT */
/*
 * Hash balancers, bit-compatible with nginx 1.22 so that a client or key
 * lands on the same backend behind lbd as behind nginx:
 *
 * - ip_hash: the first three octets of an IPv4 client (a /24 sticks
 *   together) or all 16 bytes of an IPv6 one; hash = 89, then
 *   hash = (hash * 113 + byte) % 6271 per byte; the server is found by
 *   walking the weight line to hash % total_weight. An unusable server means
 *   "hash the same bytes again", up to 20 times, then round robin.
 * - hash KEY: Cache::Memcached compatible: crc32 of the key (from the
 *   second try on, prefixed by the try number in decimal), high 15 bits
 *   added to a running sum, same weight walk and retries.
 * - hash KEY consistent: ketama as Cache::Memcached::Fast: each server has
 *   160 points per unit of weight, point k = crc32(HOST "\0" PORT prev),
 *   prev being point k-1 as 4 little-endian bytes (0 first), HOST and PORT
 *   split from the server name as written; a key goes to the first point at
 *   or after crc32(key), wrapping, and walks on to the next points while the
 *   server there cannot be picked (20 times, then round robin). Servers that
 *   share a name (one name resolving to several addresses) share points and
 *   take turns in smooth weighted round robin, as in nginx.
 *
 * `down` servers keep their weight in the totals and their points on the
 * ring: marking one down moves only the clients that were on it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <zlib.h>

#include "ups.h"

#define RLX memory_order_relaxed

#define BAL_CHASH_POINTS     160   /* ketama points per unit of weight */
#define BAL_CHASH_MAX_WEIGHT 65536 /* ring of at most 10.5M points (84 MB) */

/* --- ip_hash ------------------------------------------------------------- */

static struct ups_server *bal_ip_hash_pick(struct ups_group *g, struct bal_ctx *ctx)
{
	/* nginx's stand-in for clients without an IP (unix sockets) */
	static const uint8_t pseudo[3];
	const uint8_t *addr = pseudo;
	struct ups_server *s;
	size_t i, alen = sizeof(pseudo);
	unsigned hash = 89;
	int64_t total;
	int tries;

	if (ctx->client && ctx->client->sa_family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)ctx->client)->sin_addr;
		alen = 3;
	} else if (ctx->client && ctx->client->sa_family == AF_INET6) {
		addr = ((const struct sockaddr_in6 *)ctx->client)->sin6_addr.s6_addr;
		alen = 16;
	}

	total = ups_primary_weight(g);
	for (tries = 0; total > 0 && tries <= BAL_HASH_TRIES; tries++) {
		for (i = 0; i < alen; i++)
			hash = (hash * 113 + addr[i]) % 6271;
		s = ups_weighted_at(g, (int64_t)(hash % (uint64_t)total));
		if (s && ups_server_pickable(s, ctx))
			return s;
	}
	return bal_rr_pick_set(g, ctx, false);
}

static int bal_noop_init(struct ups_group *g)
{
	(void)g; /* ip_hash reads weights live, nothing to build */
	return 0;
}

static void bal_noop_release(struct ups_group *g)
{
	(void)g;
}

const struct bal_ops bal_ip_hash_ops = {
	.name = "ip_hash",
	.init = bal_noop_init,
	.pick = bal_ip_hash_pick,
	.release = bal_noop_release,
};

/* --- hash KEY ------------------------------------------------------------ */

static struct ups_server *bal_hash_pick_plain(struct ups_group *g, struct bal_ctx *ctx)
{
	const unsigned char *key = (const unsigned char *)(ctx->key ? ctx->key : "");
	size_t keylen = ctx->key ? ctx->keylen : 0;
	struct ups_server *s;
	uint32_t crc, sum = 0;
	int64_t total;
	char num[16];
	int rehash, n;

	total = ups_primary_weight(g);
	for (rehash = 0; total > 0 && rehash <= BAL_HASH_TRIES; rehash++) {
		crc = crc32_z(0L, Z_NULL, 0);
		if (rehash > 0) {
			n = snprintf(num, sizeof(num), "%d", rehash);
			crc = crc32_z(crc, (const unsigned char *)num, (size_t)n);
		}
		crc = crc32_z(crc, key, keylen);
		sum += (crc >> 16) & 0x7fff;
		s = ups_weighted_at(g, (int64_t)(sum % (uint64_t)total));
		if (s && ups_server_pickable(s, ctx))
			return s;
	}
	return bal_rr_pick_set(g, ctx, false);
}

/* --- hash KEY consistent ------------------------------------------------- */

/* struct bal_chash_point - one ketama point. */
struct bal_chash_point {
	uint32_t hash;	 /* position on the ring */
	uint16_t server; /* first server (config order) bearing the point's name */
};

/* struct bal_chash_ring - immutable once published. */
struct bal_chash_ring {
	uint32_t npoints;		     /* entries in points */
	struct bal_chash_ring *retired_next; /* link on bal_chash.retired */
	struct bal_chash_point points[];     /* sorted by hash, hashes distinct */
};

/* struct bal_chash - group->bal for `hash KEY consistent`. */
struct bal_chash {
	_Atomic(struct bal_chash_ring *) ring;	  /* published ring */
	_Atomic(struct bal_chash_ring *) retired; /* replaced rings, freed at release */
	int nservers;				  /* entries in canon and twin */
	uint16_t *canon;			  /* per server: first server of its name */
	int16_t *twin;				  /* per server: next one of its name, or -1 */
};

static int bal_chash_point_cmp(const void *a, const void *b)
{
	const struct bal_chash_point *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return (int)x->server - (int)y->server;
}

/* nginx's split of a server name: "unix:PATH" is all host; otherwise the
 * digits after the last ':' are the port, if that ':' is there. */
static void bal_chash_split(const char *name, const char **host, size_t *hlen, const char **port,
			    size_t *plen)
{
	size_t len = strlen(name), j;

	*host = name;
	*hlen = len;
	*port = "";
	*plen = 0;
	if (len >= 5 && strncasecmp(name, "unix:", 5) == 0) {
		*host = name + 5;
		*hlen = len - 5;
		return;
	}
	for (j = 0; j < len; j++) {
		char c = name[len - j - 1];

		if (c == ':') {
			*hlen = len - j - 1;
			*port = name + len - j;
			*plen = j;
			return;
		}
		if (c < '0' || c > '9')
			return;
	}
}

static int bal_weight(const struct ups_server *s)
{
	int w = atomic_load_explicit(&s->eff_weight, RLX);

	return w > 0 ? w : 0;
}

/* bal_chash_build - a new ring from the weights in force into *OUT.
 * 0, -E2BIG (primaries weigh more than BAL_CHASH_MAX_WEIGHT) or -ENOMEM. */
static int bal_chash_build(const struct ups_group *g, const struct bal_chash *ch,
			   struct bal_chash_ring **out)
{
	struct bal_chash_ring *ring;
	uint64_t npoints = 0;
	uint32_t i, j;
	int k;

	for (k = 0; k < g->nservers; k++) {
		if (!g->servers[k].backup)
			npoints += (uint64_t)bal_weight(&g->servers[k]);
	}
	if (npoints > BAL_CHASH_MAX_WEIGHT)
		return -E2BIG;
	npoints *= BAL_CHASH_POINTS;

	ring = malloc(sizeof(*ring) + npoints * sizeof(ring->points[0]));
	if (!ring)
		return -ENOMEM;
	ring->npoints = 0;
	ring->retired_next = NULL;

	for (k = 0; k < g->nservers; k++) {
		const struct ups_server *s = &g->servers[k];
		const char *host, *port;
		size_t hlen, plen;
		uint32_t base, hash;
		unsigned char prev[4] = {0, 0, 0, 0};
		int64_t n;

		if (s->backup)
			continue;
		n = (int64_t)bal_weight(s) * BAL_CHASH_POINTS;
		bal_chash_split(s->name ? s->name : "", &host, &hlen, &port, &plen);
		base = crc32_z(0L, (const unsigned char *)host, hlen);
		base = crc32_z(base, (const unsigned char *)"", 1);
		base = crc32_z(base, (const unsigned char *)port, plen);
		for (; n > 0; n--) {
			hash = crc32_z(base, prev, 4);
			ring->points[ring->npoints].hash = hash;
			ring->points[ring->npoints].server = ch->canon[k];
			ring->npoints++;
			prev[0] = (unsigned char)hash;
			prev[1] = (unsigned char)(hash >> 8);
			prev[2] = (unsigned char)(hash >> 16);
			prev[3] = (unsigned char)(hash >> 24);
		}
	}

	qsort(ring->points, ring->npoints, sizeof(ring->points[0]), bal_chash_point_cmp);
	/* equal hashes: the first one stays (nginx keeps one, too) */
	for (i = 0, j = 1; j < ring->npoints; j++) {
		if (ring->points[i].hash != ring->points[j].hash)
			ring->points[++i] = ring->points[j];
	}
	if (ring->npoints)
		ring->npoints = i + 1;
	*out = ring;
	return 0;
}

static void bal_chash_free(struct bal_chash *ch)
{
	struct bal_chash_ring *r, *next;

	if (!ch)
		return;
	free(atomic_load_explicit(&ch->ring, RLX));
	for (r = atomic_load_explicit(&ch->retired, RLX); r; r = next) {
		next = r->retired_next;
		free(r);
	}
	free(ch->canon);
	free(ch->twin);
	free(ch);
}

static int bal_chash_init(struct ups_group *g)
{
	struct bal_chash_ring *ring;
	struct bal_chash *ch;
	int i, j, err;

	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->nservers = g->nservers;
	ch->canon = malloc(g->nservers * sizeof(*ch->canon));
	ch->twin = malloc(g->nservers * sizeof(*ch->twin));
	if (!ch->canon || !ch->twin) {
		bal_chash_free(ch);
		return -ENOMEM;
	}
	for (i = 0; i < g->nservers; i++) {
		const char *ni = g->servers[i].name ? g->servers[i].name : "";

		ch->canon[i] = (uint16_t)i;
		ch->twin[i] = -1;
		for (j = 0; j < i; j++) {
			const char *nj = g->servers[j].name ? g->servers[j].name : "";

			if (!g->servers[j].backup && !g->servers[i].backup && !strcmp(ni, nj)) {
				ch->canon[i] = ch->canon[j];
				break;
			}
		}
		/* append i to its name's chain */
		if (ch->canon[i] != i) {
			j = ch->canon[i];
			while (ch->twin[j] >= 0)
				j = ch->twin[j];
			ch->twin[j] = (int16_t)i;
		}
	}
	err = bal_chash_build(g, ch, &ring);
	if (err) {
		bal_chash_free(ch);
		return err;
	}
	atomic_init(&ch->ring, ring);
	atomic_init(&ch->retired, NULL);
	g->bal = ch;
	return 0;
}

int bal_chash_rebuild(struct ups_group *g)
{
	struct bal_chash *ch = g->bal;
	struct bal_chash_ring *ring, *old, *head;
	int err;

	if (g->method != UPS_M_HASH || !g->hash_consistent || !ch)
		return 0;
	err = bal_chash_build(g, ch, &ring);
	if (err)
		return err;
	old = atomic_exchange_explicit(&ch->ring, ring, memory_order_acq_rel);
	head = atomic_load_explicit(&ch->retired, RLX);
	do {
		old->retired_next = head;
	} while (!atomic_compare_exchange_weak_explicit(&ch->retired, &head, old,
							memory_order_release, RLX));
	return 0;
}

/* The server for the point naming server CANON: it, or, when several
 * servers share the name, one of them in smooth weighted round robin. */
static struct ups_server *bal_chash_server(struct ups_group *g, const struct bal_chash *ch,
					   int canon, const struct bal_ctx *ctx)
{
	struct ups_server *cand[UPS_MAX_SERVERS];
	int i, n = 0;

	if (ch->twin[canon] < 0)
		return ups_server_pickable(&g->servers[canon], ctx) ? &g->servers[canon] : NULL;
	for (i = canon; i >= 0; i = ch->twin[i]) {
		if (ups_server_pickable(&g->servers[i], ctx))
			cand[n++] = &g->servers[i];
	}
	return n ? bal_swrr_choose(cand, n) : NULL;
}

static struct ups_server *bal_chash_pick(struct ups_group *g, struct bal_ctx *ctx)
{
	const struct bal_chash *ch = g->bal;
	const struct bal_chash_ring *ring;
	struct ups_server *s;
	uint32_t hash, lo, hi;
	int tries;

	ring = ch ? atomic_load_explicit(&ch->ring, memory_order_acquire) : NULL;
	if (!ring || ring->npoints == 0)
		return bal_rr_pick_set(g, ctx, false);

	hash = crc32_z(0L, (const unsigned char *)(ctx->key ? ctx->key : ""),
		       ctx->key ? ctx->keylen : 0);
	/* first point >= hash; npoints means "wrap to the first" */
	lo = 0;
	hi = ring->npoints;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ring->points[mid].hash < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (tries = 0; tries <= BAL_HASH_TRIES; tries++, lo++) {
		s = bal_chash_server(g, ch, ring->points[lo % ring->npoints].server, ctx);
		if (s)
			return s;
	}
	return bal_rr_pick_set(g, ctx, false);
}

/* --- hash ops ------------------------------------------------------------ */

static int bal_hash_init(struct ups_group *g)
{
	return g->hash_consistent ? bal_chash_init(g) : 0;
}

static struct ups_server *bal_hash_pick(struct ups_group *g, struct bal_ctx *ctx)
{
	return g->hash_consistent ? bal_chash_pick(g, ctx) : bal_hash_pick_plain(g, ctx);
}

static void bal_hash_release(struct ups_group *g)
{
	if (g->hash_consistent)
		bal_chash_free(g->bal);
	g->bal = NULL;
}

const struct bal_ops bal_hash_ops = {
	.name = "hash",
	.init = bal_hash_init,
	.pick = bal_hash_pick,
	.release = bal_hash_release,
};
