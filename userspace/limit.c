/* SPDX-License-Identifier: MIT */
/*
 * Request limits: nginx's limit_req (a leaky bucket per key) and
 * limit_conn (requests in progress per key), with nginx 1.22's arithmetic,
 * statuses and log lines.
 *
 * This module owns the zones: one hash table per `limit_req_zone` /
 * `limit_conn_zone`, shared by every worker thread. There is no zone-wide
 * lock: a key's hash picks one of up to 64 stripes, and each stripe has its
 * own mutex, buckets, LRU list and share of the zone's bytes. An entry
 * costs RL_NODE_COST(key length) bytes of its stripe's share, so a zone of
 * SIZE holds about SIZE/64 IPv4 states, as nginx's documentation says.
 *
 * When a stripe is full, a limit_req lookup evicts as nginx does: before
 * each new entry it drops up to two stale entries from the tail of the LRU
 * list (idle a minute and fully drained); if there is still no room it
 * drops the least recently used entry by force (and up to two stale ones),
 * and if even that fails (the tail is in use by a request being checked)
 * the request is rejected and "could not allocate node" logged. A
 * limit_conn entry lives while requests hold it; a full stripe rejects
 * the request, as nginx's full slab pool does. Fullness is per stripe:
 * with keys spread by hash this is the zone's fullness within a few
 * entries.
 *
 * Zones live in a process-wide registry by name. A new configuration takes
 * the live zone of the same name, kind and size (its state carries over a
 * reload, as nginx keeps such a shared memory zone), else a fresh one; a
 * zone is freed when the last configuration using it is released.
 *
 * The per-request part (rl_preaccess) runs limit_conn then limit_req once
 * per request; the caller holds delayed requests on its event loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg-t.h"
#include "http.h"
#include "limit.h"
#include "log.h"
#include "pool.h"
#include "var.h"

#define RL_MAX_STRIPES 64
#define RL_STACK_HELD  16 /* limit_req entries checked without an allocation */

/* struct rl_node - one key's state. limit_req: the bucket; limit_conn: the
 * count of requests in progress. Protected by its stripe's lock. */
struct rl_node {
	struct rl_node *hnext;	     /* bucket chain */
	struct rl_node *prev, *next; /* stripe LRU list, most recently used first */
	uint64_t hash;		     /* hash of the key (stripe and bucket) */
	int64_t last;		     /* limit_req: ms of the last charge (0 = never) */
	int64_t excess;		     /* limit_req: milli-requests over the rate */
	uint32_t count;		     /* limit_req: requests between lookup and charge
				      * (not evictable while > 0); limit_conn: requests
				      * in progress */
	uint16_t len;		     /* key length */
	unsigned char key[];	     /* key bytes */
};

/* struct rl_stripe - one lock's share of a zone. */
struct rl_stripe {
	pthread_mutex_t lock;	  /* guards everything below and the nodes */
	struct rl_node **buckets; /* hash chains */
	uint64_t mask;		  /* buckets - 1 (a power of two) */
	struct rl_node *head;	  /* LRU: most recently used */
	struct rl_node *tail;	  /* LRU: least recently used, evicted first */
	int64_t used;		  /* bytes charged by the entries */
	int64_t budget;		  /* bytes this stripe may hold */
	long entries;		  /* count of entries */
} __attribute__((aligned(64)));

/* struct rl_zone - shared state of one zone. Immutable but for the
 * stripes (their locks) and refs (the registry lock). */
struct rl_zone {
	char *name;		   /* zone name */
	enum rl_kind kind;	   /* limit_req or limit_conn */
	int64_t size;		   /* bytes, as configured */
	char *key;		   /* key as written by the configuration that made it */
	int refs;		   /* configurations using it (registry lock) */
	bool registered;	   /* in the registry (else a test's private zone) */
	int nstripes;		   /* power of two */
	struct rl_stripe *stripes; /* nstripes stripes */
	struct rl_zone *next;	   /* registry list, newest first */
};

static pthread_mutex_t rl_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rl_zone *rl_registry; /* live zones, newest first */

/* ---- zones --------------------------------------------------------------------- */

static uint64_t rl_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	/* FNV alone leaves the high bits (the stripe) poorly mixed for short
	 * keys such as IPv4 addresses: finish with a 64-bit mixer. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static struct rl_stripe *stripe_of(struct rl_zone *z, uint64_t h)
{
	return &z->stripes[(h >> 40) & (uint64_t)(z->nstripes - 1)];
}

static void zone_free(struct rl_zone *z)
{
	for (int i = 0; z->stripes && i < z->nstripes; i++) {
		struct rl_stripe *s = &z->stripes[i];
		struct rl_node *n = s->head;

		while (n) {
			struct rl_node *next = n->next;

			free(n);
			n = next;
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(z->stripes);
	free(z->name);
	free(z->key);
	free(z);
}

struct rl_zone *rl_zone_new(const char *name, enum rl_kind kind, int64_t size, int nstripes)
{
	struct rl_zone *z = calloc(1, sizeof(*z));
	int64_t capacity = size / RL_NODE_COST(4);
	uint64_t nb;
	void *mem = NULL;

	if (!z)
		return NULL;
	if (nstripes <= 0) {
		/* Enough stripes to spread the lock, each big enough (64
		 * entries or more) for its LRU order to mean something. */
		nstripes = RL_MAX_STRIPES;
		while (nstripes > 1 && capacity / nstripes < 64)
			nstripes /= 2;
	}
	z->name = strdup(name);
	z->key = strdup("");
	z->kind = kind;
	z->size = size;
	z->refs = 1;
	z->nstripes = nstripes;
	if (!z->name || !z->key ||
	    posix_memalign(&mem, 64, sizeof(struct rl_stripe) * (size_t)nstripes))
		goto fail;
	memset(mem, 0, sizeof(struct rl_stripe) * (size_t)nstripes);
	z->stripes = mem;
	nb = 8;
	while ((int64_t)nb < capacity / nstripes)
		nb *= 2;
	for (int i = 0; i < nstripes; i++) {
		struct rl_stripe *s = &z->stripes[i];

		pthread_mutex_init(&s->lock, NULL);
		s->budget = size / nstripes;
		s->mask = nb - 1;
		s->buckets = calloc(nb, sizeof(*s->buckets));
		if (!s->buckets) {
			z->nstripes = i + 1;
			goto fail;
		}
	}
	return z;
fail:
	zone_free(z);
	return NULL;
}

int rl_zone_get(const char *name, enum rl_kind kind, int64_t size, const char *key,
		struct rl_zone **out, char *err, size_t errlen)
{
	struct rl_zone *z;
	int rc = 0;

	pthread_mutex_lock(&rl_registry_lock);
	for (z = rl_registry; z; z = z->next) {
		if (z->kind != kind || strcmp(z->name, name) != 0)
			continue;
		/* Only the newest zone of a name counts: older ones belong
		 * to configurations on their way out. */
		if (z->size != size) {
			z = NULL;
			break;
		}
		if (strcmp(z->key, key) != 0) {
			snprintf(
				err, errlen,
				"%s \"%s\" uses the \"%s\" key while previously it used the \"%s\" key",
				kind == RL_KIND_REQ ? "limit_req" : "limit_conn_zone", name, key,
				z->key);
			rc = -EINVAL;
			goto out;
		}
		z->refs++;
		*out = z;
		goto out;
	}
	z = rl_zone_new(name, kind, size, 0);
	if (z) {
		free(z->key);
		z->key = strdup(key);
	}
	if (!z || !z->key) {
		if (z)
			zone_free(z);
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	z->registered = true;
	z->next = rl_registry;
	rl_registry = z;
	*out = z;
out:
	pthread_mutex_unlock(&rl_registry_lock);
	return rc;
}

void rl_zone_put(struct rl_zone *z)
{
	bool last;

	if (!z)
		return;
	pthread_mutex_lock(&rl_registry_lock);
	last = --z->refs == 0;
	if (last && z->registered) {
		struct rl_zone **pp = &rl_registry;

		while (*pp && *pp != z)
			pp = &(*pp)->next;
		if (*pp)
			*pp = z->next;
	}
	pthread_mutex_unlock(&rl_registry_lock);
	if (last)
		zone_free(z);
}

long rl_zone_entries(struct rl_zone *z)
{
	long n = 0;

	for (int i = 0; i < z->nstripes; i++) {
		pthread_mutex_lock(&z->stripes[i].lock);
		n += z->stripes[i].entries;
		pthread_mutex_unlock(&z->stripes[i].lock);
	}
	return n;
}

/* ---- entries (stripe lock held) ---------------------------------------------------- */

static struct rl_node *node_find(struct rl_stripe *s, uint64_t h, const char *key, size_t len)
{
	for (struct rl_node *n = s->buckets[h & s->mask]; n; n = n->hnext)
		if (n->hash == h && n->len == len && memcmp(n->key, key, len) == 0)
			return n;
	return NULL;
}

static void lru_unlink(struct rl_stripe *s, struct rl_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		s->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		s->tail = n->prev;
	n->prev = n->next = NULL;
}

static void lru_push(struct rl_stripe *s, struct rl_node *n)
{
	n->prev = NULL;
	n->next = s->head;
	if (s->head)
		s->head->prev = n;
	else
		s->tail = n;
	s->head = n;
}

/* node_new - a zeroed entry for KEY linked in its bucket and at the head of
 * the LRU list, or NULL when the stripe's bytes are spent (or no memory). */
static struct rl_node *node_new(struct rl_stripe *s, uint64_t h, const char *key, size_t len)
{
	int64_t cost = RL_NODE_COST((int64_t)len);
	struct rl_node *n;

	if (s->used + cost > s->budget)
		return NULL;
	n = calloc(1, sizeof(*n) + len);
	if (!n)
		return NULL;
	n->hash = h;
	n->len = (uint16_t)len;
	memcpy(n->key, key, len);
	n->hnext = s->buckets[h & s->mask];
	s->buckets[h & s->mask] = n;
	lru_push(s, n);
	s->used += cost;
	s->entries++;
	return n;
}

static void node_delete(struct rl_stripe *s, struct rl_node *n)
{
	struct rl_node **pp = &s->buckets[n->hash & s->mask];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	lru_unlink(s, n);
	s->used -= RL_NODE_COST((int64_t)n->len);
	s->entries--;
	free(n);
}

/* ---- limit_req: the leaky bucket ------------------------------------------------------- */

/* leak - milli-requests drained in MS at RATE milli-requests per second. */
static int64_t leak(int64_t rate, int64_t ms)
{
	__int128 v = (__int128)rate * ms / 1000;

	return v > INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)v;
}

/* delay_ms - how long EXCESS milli-requests take to drain at RATE. */
static int64_t delay_ms(int64_t excess, int64_t rate)
{
	__int128 v = (__int128)excess * 1000 / rate;

	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* elapsed - ms since LAST, as nginx bounds it: a clock gone back a little
 * counts as no time, a long way back as one ms. */
static int64_t elapsed(int64_t now, int64_t last)
{
	int64_t ms = now - last;

	if (ms < -60000)
		return 1;
	return ms < 0 ? 0 : ms;
}

/* drained - the bucket of N after one more request at NOW. */
static int64_t drained(const struct rl_node *n, int64_t rate, int64_t ms)
{
	int64_t e = n->excess - leak(rate, ms) + 1000;

	return e < 0 ? 0 : e;
}

/* expire - nginx's cleanup before a new entry: FORCE drops the least
 * recently used entry whatever its state; then up to two more (or two)
 * entries from the tail go if they were idle a minute and drained. Stops
 * at an entry a request is checking: entries are bumped on lookup, so
 * looking further is pointless. */
static void expire(struct rl_stripe *s, int64_t rate, bool force, int64_t now)
{
	for (int n = force ? 0 : 1; n < 3; n++) {
		struct rl_node *t = s->tail;

		if (!t || t->count)
			return;
		if (n != 0) {
			int64_t ms = now - t->last;

			if (ms < 0)
				ms = -ms;
			if (ms < 60000 || t->excess - leak(rate, ms) > 0)
				return;
		}
		node_delete(s, t);
	}
}

enum rl_lookup {
	RL_LOOKUP_NONE = 0, /* no limit had a key */
	RL_LOOKUP_AGAIN,    /* within the limit, held for charging later */
	RL_LOOKUP_OK,	    /* within the limit and charged */
	RL_LOOKUP_BUSY,	    /* over the burst */
	RL_LOOKUP_NOMEM,    /* no room for a new entry */
};

/* req_lookup - check one limit for KEY; charge it now when ACCOUNT, else
 * hold its entry (*held) for req_account. *ep gets the excess it would
 * have. */
static enum rl_lookup req_lookup(const struct rl_req_limit *lim, const struct lstr *key,
				 bool account, int64_t now, int64_t *ep, struct rl_node **held)
{
	struct rl_zone *z = lim->zc->zone;
	int64_t rate = lim->zc->rate;
	uint64_t h = rl_hash(key->p, key->len);
	struct rl_stripe *s = stripe_of(z, h);
	enum rl_lookup rc;
	struct rl_node *n;

	pthread_mutex_lock(&s->lock);
	n = node_find(s, h, key->p, key->len);
	if (n) {
		int64_t ms = elapsed(now, n->last), e = drained(n, rate, ms);

		lru_unlink(s, n);
		lru_push(s, n);
		*ep = e;
		if (e > lim->burst) {
			rc = RL_LOOKUP_BUSY;
		} else if (account) {
			n->excess = e;
			if (ms)
				n->last = now;
			rc = RL_LOOKUP_OK;
		} else {
			n->count++;
			*held = n;
			rc = RL_LOOKUP_AGAIN;
		}
		goto out;
	}
	*ep = 0;
	expire(s, rate, false, now);
	n = node_new(s, h, key->p, key->len);
	if (!n) {
		expire(s, rate, true, now);
		n = node_new(s, h, key->p, key->len);
	}
	if (!n) {
		rc = RL_LOOKUP_NOMEM;
	} else if (account) {
		n->last = now;
		rc = RL_LOOKUP_OK;
	} else {
		/* last = 0: charged later as a long-idle key, i.e. from empty */
		n->count = 1;
		*held = n;
		rc = RL_LOOKUP_AGAIN;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* req_unhold - give back the entries held for limits [0, n) uncharged. */
static void req_unhold(const struct rl_req_limit *limits, int n, struct rl_node **held)
{
	while (n--) {
		struct rl_stripe *s;

		if (!held[n])
			continue;
		s = stripe_of(limits[n].zc->zone, held[n]->hash);
		pthread_mutex_lock(&s->lock);
		held[n]->count--;
		pthread_mutex_unlock(&s->lock);
		held[n] = NULL;
	}
}

/* req_account - charge the held entries of limits [0, n) and return the
 * longest delay among all limits; *ep and *which name the limit that
 * imposes it (they come in naming the last limit checked). */
static int64_t req_account(const struct rl_req_limit *limits, int n, struct rl_node **held,
			   int64_t now, int64_t *ep, int *which)
{
	const struct rl_req_limit *lim = &limits[*which];
	int64_t max = *ep <= lim->delay ? 0 : delay_ms(*ep - lim->delay, lim->zc->rate);

	while (n--) {
		struct rl_node *nd = held[n];
		int64_t rate = limits[n].zc->rate, ms, e, d;
		struct rl_stripe *s;

		if (!nd)
			continue;
		s = stripe_of(limits[n].zc->zone, nd->hash);
		pthread_mutex_lock(&s->lock);
		ms = elapsed(now, nd->last);
		e = drained(nd, rate, ms);
		if (ms)
			nd->last = now;
		nd->excess = e;
		nd->count--;
		pthread_mutex_unlock(&s->lock);
		held[n] = NULL;
		if (e <= limits[n].delay)
			continue;
		d = delay_ms(e - limits[n].delay, rate);
		if (d > max) {
			max = d;
			*ep = e;
			*which = n;
		}
	}
	return max;
}

int rl_req_check(const struct rl_req_limit *limits, int n, const struct lstr *keys, bool dry_run,
		 int64_t now_ms, struct rl_req_verdict *v)
{
	struct rl_node *stack[RL_STACK_HELD] = {0}, **held = stack;
	enum rl_lookup rc = RL_LOOKUP_NONE;
	int64_t excess = 0, delay;
	int i, which = 0;

	memset(v, 0, sizeof(*v));
	if (n > RL_STACK_HELD) {
		held = calloc((size_t)n, sizeof(*held));
		if (!held)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		which = i;
		if (keys[i].len == 0 || keys[i].len > RL_REQ_KEY_MAX)
			continue;
		rc = req_lookup(&limits[i], &keys[i], i == n - 1, now_ms, &excess, &held[i]);
		if (rc != RL_LOOKUP_AGAIN)
			break;
	}
	if (rc == RL_LOOKUP_NONE)
		goto out;
	if (rc == RL_LOOKUP_BUSY || rc == RL_LOOKUP_NOMEM) {
		req_unhold(limits, i, held);
		v->status = dry_run ? RL_REQ_REJECTED_DRY_RUN : RL_REQ_REJECTED;
		v->excess = excess;
		v->limit = i;
		v->nomem = rc == RL_LOOKUP_NOMEM;
		goto out;
	}
	if (rc == RL_LOOKUP_AGAIN)
		excess = 0;
	delay = req_account(limits, i, held, now_ms, &excess, &which);
	v->excess = excess;
	v->limit = which;
	if (!delay)
		v->status = RL_REQ_PASSED;
	else if (dry_run)
		v->status = RL_REQ_DELAYED_DRY_RUN;
	else {
		v->status = RL_REQ_DELAYED;
		v->delay_ms = delay;
	}
out:
	if (held != stack)
		free(held);
	return 0;
}

/* ---- limit_conn: requests in progress ------------------------------------------------------ */

int rl_conn_acquire(struct rl_zone *z, const char *key, size_t len, int max, struct rl_node **node)
{
	uint64_t h = rl_hash(key, len);
	struct rl_stripe *s = stripe_of(z, h);
	struct rl_node *n;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	n = node_find(s, h, key, len);
	if (!n) {
		n = node_new(s, h, key, len);
		if (n)
			n->count = 1;
		else
			rc = -ENOMEM;
	} else if (n->count >= (uint32_t)max) {
		rc = -EBUSY;
	} else {
		n->count++;
	}
	pthread_mutex_unlock(&s->lock);
	*node = rc ? NULL : n;
	return rc;
}

void rl_conn_release(struct rl_zone *z, struct rl_node *node)
{
	struct rl_stripe *s = stripe_of(z, node->hash);

	pthread_mutex_lock(&s->lock);
	if (--node->count == 0)
		node_delete(s, node);
	pthread_mutex_unlock(&s->lock);
}

int rl_conn_count(struct rl_zone *z, const char *key, size_t len)
{
	uint64_t h = rl_hash(key, len);
	struct rl_stripe *s = stripe_of(z, h);
	struct rl_node *n;
	int count;

	pthread_mutex_lock(&s->lock);
	n = node_find(s, h, key, len);
	count = n ? (int)n->count : 0;
	pthread_mutex_unlock(&s->lock);
	return count;
}

/* ---- the request path ---------------------------------------------------------------- */

static const char *const rl_req_names[] = {
	[RL_REQ_PASSED] = "PASSED",
	[RL_REQ_DELAYED] = "DELAYED",
	[RL_REQ_REJECTED] = "REJECTED",
	[RL_REQ_DELAYED_DRY_RUN] = "DELAYED_DRY_RUN",
	[RL_REQ_REJECTED_DRY_RUN] = "REJECTED_DRY_RUN",
};

static const char *const rl_conn_names[] = {
	[RL_CONN_PASSED] = "PASSED",
	[RL_CONN_REJECTED] = "REJECTED",
	[RL_CONN_REJECTED_DRY_RUN] = "REJECTED_DRY_RUN",
};

const char *rl_req_status_name(int st)
{
	return st > 0 && st < (int)ARRAY_SIZE(rl_req_names) ? rl_req_names[st] : NULL;
}

const char *rl_conn_status_name(int st)
{
	return st > 0 && st < (int)ARRAY_SIZE(rl_conn_names) ? rl_conn_names[st] : NULL;
}

void rl_on_reject(struct conn *c, const char *zone)
{
	/* fail2ban counts it when the request ends (f2b_request_done) */
	(void)zone;
	c->req.limit_req_rejected = true;
}

/* conn_unhold - give back the counts taken so far (a later limit refused). */
static void conn_unhold(struct http_req *r)
{
	for (int i = 0; i < r->rl.nholds; i++)
		rl_conn_release(r->rl.holds[i].zone, r->rl.holds[i].node);
	r->rl.nholds = 0;
}

void rl_release(struct conn *c)
{
	conn_unhold(&c->req);
}

/* limit_conn_phase - ngx_http_limit_conn_handler. */
static int limit_conn_phase(struct conn *c, const struct rl_loc *l)
{
	struct http_req *r = &c->req;

	if (r->rl.conn_status || !l->nconn)
		return 0;
	for (int i = 0; i < l->nconn; i++) {
		const struct rl_conn_limit *lim = &l->conn[i];
		struct rl_node *node;
		struct lstr key;
		int rc;

		if (cval_eval(&lim->zc->key, c, &key))
			return 500;
		if (key.len == 0)
			continue;
		if (key.len > RL_CONN_KEY_MAX) {
			http_log(c, NULL, LOG_ERR,
				 "the value of the \"%s\" key is more than %d bytes: \"%.*s\"",
				 lim->zc->key_text, RL_CONN_KEY_MAX, (int)key.len, key.p);
			continue;
		}
		r->rl.conn_status = RL_CONN_PASSED;
		if (!r->rl.holds) {
			r->rl.holds = pool_alloc(&c->pool, sizeof(*r->rl.holds) * (size_t)l->nconn);
			if (!r->rl.holds)
				return 500;
		}
		rc = rl_conn_acquire(lim->zc->zone, key.p, key.len, lim->conn, &node);
		if (rc == 0) {
			r->rl.holds[r->rl.nholds++] = (struct rl_hold){lim->zc->zone, node};
			continue;
		}
		if (rc == -EBUSY) {
			http_log(c, NULL, (enum log_level)l->conn_log_level,
				 "limiting connections%s by zone \"%s\"",
				 l->conn_dry_run ? ", dry run," : "", lim->zc->name);
		} else {
			/* a full zone: nginx's slab allocator logs it at crit */
			log_emit(NULL, LOG_CRIT,
				 "could not allocate node in limit_conn_zone \"%s\"",
				 lim->zc->name);
		}
		conn_unhold(r);
		if (l->conn_dry_run) {
			r->rl.conn_status = RL_CONN_REJECTED_DRY_RUN;
			return 0;
		}
		r->rl.conn_status = RL_CONN_REJECTED;
		return l->conn_status;
	}
	return 0;
}

/* req_reject - the one place a request is refused by limit_req: records
 * the status, tells the offence hook (a client over its rate; a full zone
 * is not the client's doing) and returns the status to answer with. */
static int req_reject(struct conn *c, const struct rl_loc *l, const struct rl_zone_conf *zc,
		      bool nomem)
{
	c->req.rl.req_status = RL_REQ_REJECTED;
	if (!nomem)
		rl_on_reject(c, zc->name);
	return l->req_status;
}

/* limit_req_phase - ngx_http_limit_req_handler. */
static int limit_req_phase(struct conn *c, const struct rl_loc *l, int64_t *delay)
{
	struct http_req *r = &c->req;
	struct rl_req_verdict v;
	const struct rl_zone_conf *zc;
	struct lstr *keys;
	bool dry = l->req_dry_run == 1;
	enum log_level dlevel;

	if (r->rl.req_status || !l->nreq)
		return 0;
	keys = pool_alloc(&c->pool, sizeof(*keys) * (size_t)l->nreq);
	if (!keys)
		return 500;
	for (int i = 0; i < l->nreq; i++) {
		zc = l->req[i].zc;
		if (cval_eval(&zc->key, c, &keys[i]))
			return 500;
		if (keys[i].len > RL_REQ_KEY_MAX) {
			http_log(c, NULL, LOG_ERR,
				 "the value of the \"%s\" key is more than %d bytes: \"%.*s\"",
				 zc->key_text, RL_REQ_KEY_MAX, (int)keys[i].len, keys[i].p);
		}
	}
	if (rl_req_check(l->req, l->nreq, keys, dry, lbd_now_ms(), &v))
		return 500;
	if (v.status == RL_REQ_NONE)
		return 0;
	zc = l->req[v.limit].zc;
	/* delays are logged one level below rejections (info stays info) */
	dlevel = l->req_log_level == LOG_INFO ? LOG_INFO : (enum log_level)(l->req_log_level + 1);
	switch (v.status) {
	case RL_REQ_REJECTED:
	case RL_REQ_REJECTED_DRY_RUN:
		if (v.nomem)
			log_emit(NULL, LOG_ALERT,
				 "could not allocate node in limit_req zone \"%s\"", zc->name);
		else
			http_log(c, NULL, (enum log_level)l->req_log_level,
				 "limiting requests%s, excess: %lld.%03lld by zone \"%s\"",
				 dry ? ", dry run" : "", (long long)(v.excess / 1000),
				 (long long)(v.excess % 1000), zc->name);
		if (v.status == RL_REQ_REJECTED)
			return req_reject(c, l, zc, v.nomem);
		break;
	case RL_REQ_DELAYED:
	case RL_REQ_DELAYED_DRY_RUN:
		http_log(c, NULL, dlevel, "delaying request%s, excess: %lld.%03lld, by zone \"%s\"",
			 dry ? ", dry run" : "", (long long)(v.excess / 1000),
			 (long long)(v.excess % 1000), zc->name);
		*delay = v.delay_ms;
		break;
	default:
		break;
	}
	r->rl.req_status = (uint8_t)v.status;
	return 0;
}

int rl_preaccess(struct conn *c, int64_t *delay_ms)
{
	const struct rl_loc *l = &c->req.loc->rl;
	int st;

	*delay_ms = 0;
	st = limit_conn_phase(c, l);
	if (st)
		return st;
	return limit_req_phase(c, l, delay_ms);
}
