/* SPDX-License-Identifier: MIT */
/*
 * Proxy cache, the shared side: zones, their index and their files.
 *
 * A zone (proxy_cache_path keys_zone=NAME) is a directory of entries and an
 * index shared by every worker thread. An entry is one file named by the
 * MD5 of its key, under nginx's levels= directories; it holds a fixed
 * header (lbd's own, not nginx's binary format), the key, the response
 * head as stored (status line and headers without framing) and the body.
 *
 * The index is a fixed array of nodes (keys_zone size / CACHE_NODE_BYTES)
 * cut into CACHE_STRIPES stripes, each an open-addressed table under its
 * own spinlock: a lookup takes one stripe's lock for a few loads, never a
 * zone-wide one. When a stripe is full its least recently used entry goes.
 *
 * The manager (one thread per zone, off the request path) removes entries
 * unused for `inactive` and the least recently used ones over `max_size`.
 * At start the index is rebuilt from the files (temp files are removed).
 * Zones are shared by name across reloads (a registry of references);
 * the control socket's statistics and purge are here too. A request's use
 * of a zone is cache.c's, writing an entry cache_store.c's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cache_int.h"

#define CACHE_NODE_BYTES  128  /* keys_zone bytes per key (nginx: 1 MiB ~ 8000 keys) */
#define CACHE_MGR_TICK_MS 1000 /* manager period */

/* ---- MD5 (RFC 1321) --------------------------------------------------------------------- */

struct md5 {
	uint32_t h[4];
	uint64_t len;
	uint8_t buf[64];
};

static const uint32_t md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
	0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
	0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
	0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
	0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
	0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
	0xeb86d391,
};
static const uint8_t md5_r[64] = {
	7,  12, 17, 22, 7,  12, 17, 22, 7,  12, 17, 22, 7,  12, 17, 22, 5,  9,	14, 20, 5,  9,
	14, 20, 5,  9,	14, 20, 5,  9,	14, 20, 4,  11, 16, 23, 4,  11, 16, 23, 4,  11, 16, 23,
	4,  11, 16, 23, 6,  10, 15, 21, 6,  10, 15, 21, 6,  10, 15, 21, 6,  10, 15, 21,
};

static void md5_block(struct md5 *m, const uint8_t *p)
{
	uint32_t w[16], a = m->h[0], b = m->h[1], c = m->h[2], d = m->h[3];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[i * 4] | (uint32_t)p[i * 4 + 1] << 8 |
		       (uint32_t)p[i * 4 + 2] << 16 | (uint32_t)p[i * 4 + 3] << 24;
	for (int i = 0; i < 64; i++) {
		uint32_t f, t;
		int g;

		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) & 15;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) & 15;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) & 15;
		}
		t = d;
		d = c;
		c = b;
		f += a + md5_k[i] + w[g];
		b += (f << md5_r[i]) | (f >> (32 - md5_r[i]));
		a = t;
	}
	m->h[0] += a;
	m->h[1] += b;
	m->h[2] += c;
	m->h[3] += d;
}

void cache_md5(const void *data, size_t n, uint8_t out[16])
{
	struct md5 m = {.h = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}};
	const uint8_t *p = data;
	size_t fill;

	m.len = (uint64_t)n * 8;
	while (n >= 64) {
		md5_block(&m, p);
		p += 64;
		n -= 64;
	}
	memcpy(m.buf, p, n);
	fill = n;
	m.buf[fill++] = 0x80;
	if (fill > 56) {
		memset(m.buf + fill, 0, 64 - fill);
		md5_block(&m, m.buf);
		fill = 0;
	}
	memset(m.buf + fill, 0, 56 - fill);
	for (int i = 0; i < 8; i++)
		m.buf[56 + i] = (uint8_t)(m.len >> (8 * i));
	md5_block(&m, m.buf);
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 4; k++)
			out[i * 4 + k] = (uint8_t)(m.h[i] >> (8 * k));
}

static void hex32(char *dst, const uint8_t md5[16])
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 0; i < 16; i++) {
		dst[2 * i] = hx[md5[i] >> 4];
		dst[2 * i + 1] = hx[md5[i] & 15];
	}
	dst[32] = '\0';
}

int cache_entry_path(char *dst, size_t dstlen, const char *root, const int *levels, int nlevels,
		     const uint8_t md5[16])
{
	char hex[33];
	size_t len = strlen(root), end = 32;

	hex32(hex, md5);
	if (len + 1 + 32 + (size_t)nlevels * 3 + 1 > dstlen)
		return -ENAMETOOLONG;
	memcpy(dst, root, len);
	/* nginx: levels=1:2 -> ROOT/c/29/b7f5...029c (digits from the end) */
	for (int i = 0; i < nlevels; i++) {
		dst[len++] = '/';
		end -= (size_t)levels[i];
		memcpy(dst + len, hex + end, (size_t)levels[i]);
		len += (size_t)levels[i];
	}
	dst[len++] = '/';
	memcpy(dst + len, hex, 32);
	len += 32;
	dst[len] = '\0';
	return (int)len;
}

/* ---- zones and the index -------------------------------------------------------------- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_zone *registry;

/* cache_node_find - KEY's node in stripe S (locked), or NULL; *slot = a free or
 * dead slot to insert at (NULL when the stripe is full). */
struct cache_node *cache_node_find(struct cache_zone *z, struct cache_stripe *s,
				   const uint8_t key[16], struct cache_node **slot)
{
	uint32_t h = ((uint32_t)key[1] | (uint32_t)key[2] << 8 | (uint32_t)key[3] << 16 |
		      (uint32_t)key[4] << 24) %
		     z->per;

	*slot = NULL;
	for (uint32_t i = 0; i < z->per; i++) {
		struct cache_node *n = &s->nodes[(h + i) % z->per];

		if (n->state == NODE_FREE) {
			if (!*slot)
				*slot = n;
			return NULL;
		}
		if (n->state == NODE_DEAD) {
			if (!*slot)
				*slot = n;
			continue;
		}
		if (memcmp(n->key, key, 16) == 0)
			return n;
	}
	return NULL;
}

/* node_drop - forget N (stripe locked); its file is the caller's to unlink. */
static void node_drop(struct cache_zone *z, struct cache_node *n)
{
	if (n->exists) {
		atomic_fetch_sub(&z->size, (int64_t)n->fsize);
		atomic_fetch_sub(&z->entries, 1);
	}
	memset(n, 0, sizeof(*n));
	n->state = NODE_DEAD;
}

/* cache_node_get - KEY's node, created when missing (stripe locked). A full
 * stripe gives up its least recently used entry not being updated; its
 * key is copied to EVICTED (so its file can be removed after unlock). */
struct cache_node *cache_node_get(struct cache_zone *z, struct cache_stripe *s,
				  const uint8_t key[16], uint8_t evicted[16], bool *did_evict)
{
	struct cache_node *slot, *n = cache_node_find(z, s, key, &slot);

	*did_evict = false;
	if (n)
		return n;
	if (!slot) {
		struct cache_node *old = NULL;

		for (uint32_t i = 0; i < z->per; i++) {
			struct cache_node *m = &s->nodes[i];

			if (m->state == NODE_USED && !m->updating &&
			    (!old || m->access_ms < old->access_ms))
				old = m;
		}
		if (!old)
			return NULL;
		if (old->exists) {
			memcpy(evicted, old->key, 16);
			*did_evict = true;
		}
		node_drop(z, old);
		/* the probe sequence may now reach the freed slot */
		n = cache_node_find(z, s, key, &slot);
		if (!slot)
			return NULL;
	}
	memset(slot, 0, sizeof(*slot));
	slot->state = NODE_USED;
	memcpy(slot->key, key, 16);
	slot->access_ms = cache_wall_ms();
	return slot;
}

void cache_unlink_key(struct cache_zone *z, const uint8_t key[16])
{
	char path[PATH_MAX];

	cache_zone_path_of(z, key, path, sizeof(path));
	if (path[0])
		unlink(path);
}

/* read_fhdr - the header of entry file FD, checked. 0 or -1. */
static int read_fhdr(int fd, struct cache_fhdr *h, struct stat *st)
{
	if (pread(fd, h, sizeof(*h), 0) != (ssize_t)sizeof(*h))
		return -1;
	if (memcmp(h->magic, CACHE_MAGIC, 8) != 0 || h->head_len > CACHE_HEAD_MAX ||
	    fstat(fd, st) == -1 ||
	    (uint64_t)st->st_size != sizeof(*h) + h->key_len + h->head_len + h->body_len)
		return -1;
	return 0;
}

static bool hexname(const char *s)
{
	if (strlen(s) != 32)
		return false;
	for (int i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* walk_fn - called for every entry file found under a zone's path. */
typedef void (*walk_fn)(struct cache_zone *z, const char *path, int fd, void *arg);

/* walk - visit DIR's tree DEPTH levels deep and pass entry files to FN;
 * with CLEAN (at start only) temp files (names with a '.') are removed. */
static void walk(struct cache_zone *z, const char *dir, int depth, bool clean, walk_fn fn,
		 void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' &&
		    (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= sizeof(p))
			continue;
		if (depth > 0) {
			if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN)
				walk(z, p, depth - 1, clean, fn, arg);
			continue;
		}
		if (strchr(e->d_name, '.')) {
			if (clean)
				unlink(p); /* half-written temp file of a stopped process */
			continue;
		}
		if (!hexname(e->d_name))
			continue;
		int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (fd == -1)
			continue;
		fn(z, p, fd, arg);
		close(fd);
	}
	closedir(d);
}

static void load_one(struct cache_zone *z, const char *path, int fd, void *arg)
{
	struct cache_fhdr h;
	struct stat st;
	struct cache_node *n;
	uint8_t ev[16];
	bool evicted;
	struct cache_stripe *s;

	(void)arg;
	if (read_fhdr(fd, &h, &st)) {
		unlink(path);
		return;
	}
	s = cache_stripe_of(z, h.key);
	pthread_spin_lock(&s->lock);
	n = cache_node_get(z, s, h.key, ev, &evicted);
	if (n && !n->exists) {
		n->exists = true;
		n->vary = h.flags & CACHE_F_VARY;
		n->expire_ms = h.expire_ms;
		n->fsize = (uint64_t)st.st_size;
		atomic_fetch_add(&z->size, (int64_t)n->fsize);
		atomic_fetch_add(&z->entries, 1);
	}
	pthread_spin_unlock(&s->lock);
	if (evicted)
		cache_unlink_key(z, ev);
}

/* mgr_pass - one manager round: inactive entries, then max_size (LRU). */
static void mgr_pass(struct cache_zone *z)
{
	int64_t now = cache_wall_ms();

	for (int i = 0; i < CACHE_STRIPES; i++) {
		struct cache_stripe *s = &z->stripes[i];

		for (uint32_t k = 0; k < z->per; k++) {
			uint8_t key[16];
			bool file;

			pthread_spin_lock(&s->lock);
			struct cache_node *n = &s->nodes[k];

			if (n->state != NODE_USED || n->updating ||
			    n->access_ms + z->inactive_ms > now) {
				pthread_spin_unlock(&s->lock);
				continue;
			}
			file = n->exists;
			memcpy(key, n->key, 16);
			node_drop(z, n);
			pthread_spin_unlock(&s->lock);
			if (file)
				cache_unlink_key(z, key);
		}
	}
	/* max_size: least recently used first; bounded rounds per tick */
	for (int round = 0; round < 4096 && z->max_size && atomic_load(&z->size) > z->max_size;
	     round++) {
		int bs = -1;
		uint32_t bk = 0;
		int64_t best = INT64_MAX;
		uint8_t key[16];

		for (int i = 0; i < CACHE_STRIPES; i++) {
			struct cache_stripe *s = &z->stripes[i];

			pthread_spin_lock(&s->lock);
			for (uint32_t k = 0; k < z->per; k++) {
				struct cache_node *n = &s->nodes[k];

				if (n->state == NODE_USED && n->exists && !n->updating &&
				    n->access_ms < best) {
					best = n->access_ms;
					bs = i;
					bk = k;
				}
			}
			pthread_spin_unlock(&s->lock);
		}
		if (bs < 0)
			break;
		struct cache_stripe *s = &z->stripes[bs];
		bool file = false;

		pthread_spin_lock(&s->lock);
		struct cache_node *n = &s->nodes[bk];

		if (n->state == NODE_USED && n->exists && !n->updating) {
			file = true;
			memcpy(key, n->key, 16);
			node_drop(z, n);
		}
		pthread_spin_unlock(&s->lock);
		if (file)
			cache_unlink_key(z, key);
	}
}

static void *mgr_main(void *arg)
{
	struct cache_zone *z = arg;

	pthread_mutex_lock(&z->mgr_mu);
	while (!z->mgr_stop) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += CACHE_MGR_TICK_MS / 1000;
		pthread_cond_timedwait(&z->mgr_cv, &z->mgr_mu, &ts);
		if (z->mgr_stop)
			break;
		pthread_mutex_unlock(&z->mgr_mu);
		mgr_pass(z);
		pthread_mutex_lock(&z->mgr_mu);
	}
	pthread_mutex_unlock(&z->mgr_mu);
	return NULL;
}

static void zone_free(struct cache_zone *z)
{
	if (z->mgr_on) {
		pthread_mutex_lock(&z->mgr_mu);
		z->mgr_stop = true;
		pthread_cond_signal(&z->mgr_cv);
		pthread_mutex_unlock(&z->mgr_mu);
		pthread_join(z->mgr, NULL);
	}
	for (int i = 0; i < CACHE_STRIPES; i++) {
		free(z->stripes[i].nodes);
		pthread_spin_destroy(&z->stripes[i].lock);
	}
	pthread_cond_destroy(&z->mgr_cv);
	pthread_mutex_destroy(&z->mgr_mu);
	free(z->name);
	free(z->path);
	free(z);
}

int cache_mkdirs(const char *path)
{
	char p[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) == -1 && errno != EEXIST)
			return -errno;
		p[i] = path[i];
	}
	return 0;
}

static struct cache_zone *zone_new(const struct cache_zone_conf *zc, char *err, size_t errlen)
{
	struct cache_zone *z = calloc(1, sizeof(*z));
	uint64_t nodes;
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc;

	if (!z)
		goto oom;
	z->name = strdup(zc->name);
	z->path = strdup(zc->path);
	if (!z->name || !z->path)
		goto oom;
	memcpy(z->levels, zc->levels, sizeof(z->levels));
	z->nlevels = zc->nlevels;
	z->max_size = zc->max_size;
	z->inactive_ms = zc->inactive_ms;
	z->keys_size = zc->keys_size;
	nodes = (uint64_t)zc->keys_size / CACHE_NODE_BYTES;
	z->per = (uint32_t)LBD_MIN(nodes / CACHE_STRIPES + 1, (uint64_t)1 << 24);
	if (z->per < 8)
		z->per = 8;
	for (int i = 0; i < CACHE_STRIPES; i++) {
		pthread_spin_init(&z->stripes[i].lock, PTHREAD_PROCESS_PRIVATE);
		z->stripes[i].nodes = calloc(z->per, sizeof(struct cache_node));
		if (!z->stripes[i].nodes)
			goto oom;
	}
	pthread_mutex_init(&z->mgr_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&z->mgr_cv, &ca);
	pthread_condattr_destroy(&ca);
	rc = cache_mkdirs(z->path);
	if (rc) {
		snprintf(err, errlen, "mkdir() \"%s\" failed (%d: %s)", z->path, -rc,
			 strerror(-rc));
		zone_free(z);
		return NULL;
	}
	walk(z, z->path, z->nlevels, true, load_one, NULL);
	/* The zone is made while the configuration is read, before the main
	 * thread blocks the signals it takes from its signalfd: a manager
	 * that did not block them too would be where the kernel delivers a
	 * SIGHUP or SIGQUIT, and their default action ends the process. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&z->mgr, NULL, mgr_main, z);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		snprintf(err, errlen, "cannot start the cache manager (%d: %s)", rc, strerror(rc));
		zone_free(z);
		return NULL;
	}
	z->mgr_on = true;
	return z;
oom:
	snprintf(err, errlen, "out of memory");
	if (z) {
		for (int i = 0; i < CACHE_STRIPES; i++)
			free(z->stripes[i].nodes);
		free(z->name);
		free(z->path);
		free(z);
	}
	return NULL;
}

int cache_zone_get(const struct cache_zone_conf *zc, struct cache_zone **out, char *err,
		   size_t errlen)
{
	struct cache_zone *z;
	int rc = 0;

	pthread_mutex_lock(&registry_lock);
	for (z = registry; z; z = z->next) {
		if (strcmp(z->name, zc->name) != 0)
			continue;
		if (strcmp(z->path, zc->path) != 0 || z->keys_size != zc->keys_size ||
		    z->nlevels != zc->nlevels ||
		    memcmp(z->levels, zc->levels, sizeof(z->levels)) != 0) {
			z = NULL; /* changed: a new zone (the old one leaves with its config) */
			break;
		}
		/* limits may change on reload: the manager reads them each pass */
		z->max_size = zc->max_size;
		z->inactive_ms = zc->inactive_ms;
		z->refs++;
		*out = z;
		goto out;
	}
	z = zone_new(zc, err, errlen);
	if (!z) {
		rc = -ENOMEM;
		goto out;
	}
	z->refs = 1;
	z->next = registry;
	registry = z;
	*out = z;
out:
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

void cache_zone_put(struct cache_zone *z)
{
	bool last;

	if (!z)
		return;
	pthread_mutex_lock(&registry_lock);
	last = --z->refs == 0;
	if (last) {
		for (struct cache_zone **pp = &registry; *pp; pp = &(*pp)->next) {
			if (*pp == z) {
				*pp = z->next;
				break;
			}
		}
	}
	pthread_mutex_unlock(&registry_lock);
	if (last)
		zone_free(z);
}

static int chown_tree(const char *dir, int depth, uid_t uid, gid_t gid)
{
	DIR *d;
	struct dirent *e;
	char p[PATH_MAX];
	int rc = 0;

	if (chown(dir, uid, gid) == -1)
		return -errno;
	if (depth <= 0 || !(d = opendir(dir)))
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= sizeof(p))
			continue;
		if (e->d_type == DT_DIR)
			rc = rc ? rc : chown_tree(p, depth - 1, uid, gid);
		else if (chown(p, uid, gid) == -1 && !rc)
			rc = -errno;
	}
	closedir(d);
	return rc;
}

int cache_chown_all(uid_t uid, gid_t gid)
{
	int rc = 0;

	pthread_mutex_lock(&registry_lock);
	for (struct cache_zone *z = registry; z; z = z->next) {
		int r = chown_tree(z->path, z->nlevels, uid, gid);

		rc = rc ? rc : r;
	}
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

/* ---- control socket ---------------------------------------------------------------------- */

/* open_entry - the entry file of CR's key, checked; -1 if gone or bad. */
static int open_entry(struct cache_req *cr, struct cache_fhdr *h)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	cache_zone_path_of(cr->z, cr->key, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return -1;
	if (read_fhdr(fd, h, &st) || memcmp(h->key, cr->key, 16) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* zone_ref - zone NAME with a reference, or NULL. */
static struct cache_zone *zone_ref(const char *name)
{
	struct cache_zone *z;

	pthread_mutex_lock(&registry_lock);
	for (z = registry; z; z = z->next)
		if (strcmp(z->name, name) == 0)
			break;
	if (z)
		z->refs++;
	pthread_mutex_unlock(&registry_lock);
	return z;
}

int cache_zone_stats(const char *name, struct cache_stats *o)
{
	struct cache_zone *z = zone_ref(name);

	if (!z)
		return -ENOENT;
	memset(o, 0, sizeof(*o));
	snprintf(o->path, sizeof(o->path), "%s", z->path);
	o->size = (uint64_t)LBD_MAX(atomic_load(&z->size), 0);
	o->max_size = (uint64_t)z->max_size;
	o->entries = (uint64_t)LBD_MAX(atomic_load(&z->entries), 0);
	o->slots = (uint64_t)z->per * CACHE_STRIPES;
	o->hits = atomic_load(&z->hits);
	o->misses = atomic_load(&z->misses);
	o->stores = atomic_load(&z->stores);
	o->store_err = atomic_load(&z->store_err);
	cache_zone_put(z);
	return 0;
}

void cache_zone_names(void (*fn)(const char *name, void *arg), void *arg)
{
	pthread_mutex_lock(&registry_lock);
	for (struct cache_zone *z = registry; z; z = z->next)
		fn(z->name, arg);
	pthread_mutex_unlock(&registry_lock);
}

/* forget - drop KEY's node and file. */
static bool forget(struct cache_zone *z, const uint8_t key[16])
{
	struct cache_stripe *s = cache_stripe_of(z, key);
	struct cache_node *n, *slot;
	bool had = false;

	pthread_spin_lock(&s->lock);
	n = cache_node_find(z, s, key, &slot);
	if (n) {
		had = n->exists;
		node_drop(z, n);
	}
	pthread_spin_unlock(&s->lock);
	cache_unlink_key(z, key);
	return had;
}

struct purge_arg {
	const char *prefix;
	size_t len;
	long n;
};

static void purge_one(struct cache_zone *z, const char *path, int fd, void *arg)
{
	struct purge_arg *pa = arg;
	struct cache_fhdr h;
	struct stat st;
	char buf[4096];

	(void)path;
	if (read_fhdr(fd, &h, &st) || h.key_len < pa->len || pa->len > sizeof(buf) ||
	    pread(fd, buf, pa->len, sizeof(h)) != (ssize_t)pa->len ||
	    memcmp(buf, pa->prefix, pa->len) != 0)
		return;
	forget(z, h.key);
	pa->n++;
}

long cache_purge(const char *name, const char *key, size_t keylen, bool prefix)
{
	struct cache_zone *z = zone_ref(name);
	long n = 0;

	if (!z)
		return -ENOENT;
	if (prefix) {
		struct purge_arg pa = {key, keylen, 0};

		walk(z, z->path, z->nlevels, false, purge_one, &pa);
		n = pa.n;
	} else {
		uint8_t md5[16];
		struct cache_fhdr h;
		struct cache_req cr = {.z = z};

		cache_md5(key, keylen, md5);
		memcpy(cr.key, md5, 16);
		int fd = open_entry(&cr, &h);

		if (fd >= 0)
			close(fd);
		if (forget(z, md5) || fd >= 0)
			n = 1;
	}
	cache_zone_put(z);
	return n;
}
