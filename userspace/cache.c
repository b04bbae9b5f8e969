/* SPDX-License-Identifier: MIT */
/*
 * Proxy cache: nginx's proxy_cache on disk.
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
 * Writing: the response head and body are written to a temp file beside
 * the entry while they are relayed (a write is to the page cache; the
 * client's bytes leave whatever happens to the file), the header is
 * completed and the file renamed into place once the body ended. A write
 * error (ENOSPC, EIO) drops the entry only, logged once per
 * CACHE_ERR_LOG_MS per zone.
 *
 * The manager (one thread per zone, off the request path) removes entries
 * unused for `inactive` and the least recently used ones over `max_size`.
 * At start the index is rebuilt from the files (temp files are removed).
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
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cookie.h"
#include "charset.h"
#include "cfg-t.h"
#include "cfg.h"
#include "fastcgi.h"
#include "gunzip.h"
#include "gzip.h"
#include "subfilter.h"
#include "http.h"
#include "log.h"
#include "pool.h"
#include "range.h"
#include "recode.h"
#include "ratelimit.h"
#include "ups.h"
#include "uwsgi.h"
#include "var.h"
#include "worker.h"

#define CACHE_STRIPES	  64
#define CACHE_NODE_BYTES  128	/* keys_zone bytes per key (nginx: 1 MiB ~ 8000 keys) */
#define CACHE_ERR_LOG_MS  10000 /* one write-error line per zone per 10 s */
#define CACHE_LOCK_POLL	  20	/* ms between looks while waiting on a lock */
#define CACHE_HEAD_MAX	  65536 /* bytes of a stored head */
#define CACHE_MGR_TICK_MS 1000	/* manager period */
#define CACHE_MAGIC	  "LBDCACH1"
#define CACHE_FIRST_READ  16384 /* bytes read at once on a hit: small entries whole */
#define CACHE_HIT_HEADERS 100	/* stored headers gzip looks at on a hit */
#define CACHE_VARY_MAX	  128	/* nginx's NGX_HTTP_CACHE_VARY_LEN */
#define CACHE_F_VARY	  1	/* fhdr flags: the main entry of a Vary response (a stub) */

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

/* ---- validity ----------------------------------------------------------------------------- */

static bool tok_is(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(p, lit, n) == 0;
}

static int64_t parse_secs(const char *p, size_t n)
{
	int64_t v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

void cache_parse_cc(const char *p, size_t n, struct cache_cc *out)
{
	size_t i = 0;
	int64_t smax = -1, max = -1;

	while (i < n) {
		size_t s, e, eq;

		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
			i++;
		s = i;
		while (i < n && p[i] != ',')
			i++;
		e = i;
		while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
			e--;
		if (e == s)
			continue;
		for (eq = s; eq < e && p[eq] != '='; eq++)
			;
		if (tok_is(p + s, eq - s, "no-cache") || tok_is(p + s, eq - s, "no-store") ||
		    tok_is(p + s, eq - s, "private")) {
			out->no_store = true;
		} else if (eq < e && (tok_is(p + s, eq - s, "max-age") ||
				      tok_is(p + s, eq - s, "s-maxage"))) {
			const char *v = p + eq + 1;
			size_t vl = e - eq - 1;
			int64_t secs;

			secs = parse_secs(v, vl);
			if (secs < 0) /* nginx: invalid (even quoted) max-age, not cacheable */
				out->no_store = true;
			else if (tok_is(p + s, eq - s, "s-maxage"))
				smax = secs;
			else
				max = secs;
		}
	}
	if (smax >= 0)
		out->maxage = smax;
	else if (max >= 0 && out->maxage < 0)
		out->maxage = max;
}

int64_t cache_validity(const struct cache_loc *cl, const struct h1_response *resp, int64_t now)
{
	struct cache_cc cc = {.maxage = -1};
	int64_t accel = -1, expires = -2;
	bool have_cc = false;

	for (size_t i = 0; i < resp->nheaders; i++) {
		const struct h1_header *h = &resp->headers[i];
		const char *v = h->value.p;
		size_t vl = h->value.len;

		if (H1_IS(h->name, "x-accel-expires") &&
		    !(cl->ignore & CACHE_IGN_X_ACCEL_EXPIRES)) {
			if (vl && v[0] == '@') {
				int64_t at = parse_secs(v + 1, vl - 1);

				accel = at < 0 ? -1 : at > now ? at - now : 0;
			} else {
				accel = parse_secs(v, vl);
			}
			if (accel == 0)
				return -1;
		} else if (H1_IS(h->name, "cache-control") &&
			   !(cl->ignore & CACHE_IGN_CACHE_CONTROL)) {
			have_cc = true;
			cache_parse_cc(v, vl, &cc);
		} else if (H1_IS(h->name, "expires") && !(cl->ignore & CACHE_IGN_EXPIRES)) {
			int64_t t = h1_http_time(v, vl);

			expires = t < 0 || t <= now ? -1 : t - now;
		} else if (H1_IS(h->name, "set-cookie") && !(cl->ignore & CACHE_IGN_SET_COOKIE)) {
			return -1;
		} else if (H1_IS(h->name, "vary") && !(cl->ignore & CACHE_IGN_VARY) &&
			   (vl > CACHE_VARY_MAX || cache_vary_star((struct lstr){v, vl}))) {
			/* nginx: "Vary: *" and a list over 128 bytes are not
			 * cached; any other list is stored per variant */
			return -1;
		}
	}
	if (accel > 0)
		return accel;
	if (have_cc) {
		if (cc.no_store)
			return -1;
		if (cc.maxage == 0)
			return -1;
		if (cc.maxage > 0)
			return cc.maxage;
	}
	if (expires == -1)
		return -1;
	if (expires > 0)
		return expires;
	for (int i = 0; i < cl->nvalid; i++)
		if (cl->valid[i].status == resp->status || cl->valid[i].status == 0)
			return cl->valid[i].secs > 0 ? cl->valid[i].secs : -1;
	return -1;
}

/* ---- zones and the index -------------------------------------------------------------- */

enum { NODE_FREE = 0, NODE_USED, NODE_DEAD };

/* struct cache_node - one key in the index. */
struct cache_node {
	uint8_t key[16];       /* MD5 of the key */
	uint8_t state;	       /* NODE_* */
	bool exists;	       /* a complete file is on disk */
	bool updating;	       /* a request fetches it (proxy_cache_lock owner) */
	bool vary;	       /* the file is a Vary stub: look up the request's variant */
	uint32_t uses;	       /* requests seen (proxy_cache_min_uses) */
	int64_t expire_ms;     /* wall clock: fresh until */
	int64_t access_ms;     /* wall clock: last use (inactive, LRU) */
	int64_t lock_until_ms; /* updating: the lock lapses then (proxy_cache_lock_age) */
	uint64_t fsize;	       /* bytes of the file */
};

/* struct cache_stripe - a slice of the index under one spinlock. */
struct cache_stripe {
	pthread_spinlock_t lock;
	struct cache_node *nodes; /* zone->per nodes */
};

struct cache_zone {
	char *name, *path;	      /* keys_zone name, directory */
	int levels[CACHE_MAX_LEVELS]; /* levels= */
	int nlevels;
	/* set again by a reload while the manager reads them */
	_Atomic int64_t max_size;    /* bytes, 0 = unlimited */
	_Atomic int64_t inactive_ms; /* unused entries go after this */
	int64_t keys_size;	     /* keys_zone size */
	uint32_t per;		     /* nodes per stripe */
	struct cache_stripe stripes[CACHE_STRIPES];
	_Atomic int64_t size;	       /* bytes of complete entries */
	_Atomic int64_t entries;       /* complete entries */
	_Atomic uint64_t hits, misses; /* answers */
	_Atomic uint64_t stores, store_err;
	_Atomic int64_t err_logged_ms; /* last write-error line (wall ms) */
	_Atomic uint64_t tmp_seq;      /* temp file names */
	int refs;		       /* configurations using it (registry lock) */
	struct cache_zone *next;       /* registry */
	pthread_t mgr;		       /* manager thread */
	bool mgr_on;
	pthread_mutex_t mgr_mu;
	pthread_cond_t mgr_cv;
	bool mgr_stop; /* under mgr_mu */
};

/* struct cache_fhdr - the head of an entry file. */
struct cache_fhdr {
	char magic[8];	   /* CACHE_MAGIC */
	uint8_t key[16];   /* MD5 of the key */
	int64_t expire_ms; /* wall clock: fresh until */
	int64_t stored_ms; /* wall clock: written */
	uint32_t key_len;  /* bytes of key text after this header */
	uint32_t head_len; /* bytes of stored head after the key */
	uint64_t body_len; /* bytes of body after the head */
	uint16_t status;   /* response status */
	uint16_t flags;	   /* CACHE_F_* */
	uint16_t pad[2];
};

/* struct cache_req - one request's use of the cache (request pool). */
struct cache_req {
	struct conn *c; /* the client's request; NULL for a background update */
	struct cache_zone *z;
	const struct cache_loc *cl;
	const struct cfg_loc *l;      /* its location (error_log, hidden headers) */
	struct pool *pool;	      /* memory for the request's life */
	const struct h1_header *hdrs; /* the request's headers (Vary) */
	size_t nhdrs;
	uint8_t key[16];
	struct lstr keytext;
	uint8_t main_key[16]; /* the key before a switch to a variant */
	uint8_t lock_key[16]; /* the node whose updating flag this request holds */
	bool variant;	      /* key is a variant of main_key (Vary) */
	struct lstr vary; /* the stored response's Vary (request pool): a stub goes to main_key */
	struct cache_cond cond; /* the client's conditional headers */
	bool has_cond;		/* some of them present */
	bool head_get;		/* a HEAD sent upstream as GET (proxy_cache_convert_head) */
	int status;		/* enum cache_status */
	bool store;		/* the response may be stored */
	bool owner;		/* holds the node's updating lock */
	bool stale;		/* an expired entry is on disk */
	bool range_pass;	/* a miss past proxy_cache_max_range_offset: the
				 * client's Range goes upstream, nothing stored */
	struct lstr ims;	/* proxy_cache_revalidate: its Last-Modified, */
	struct lstr inm;	/* and ETag (request pool) */
	int entry_status;	/* its status */
	int fd;			/* temp file being written, -1 */
	char *tmp;		/* its path */
	uint64_t written;	/* body bytes written */
	uint32_t head_len;
	int64_t expire_ms;
	int resp_status;
	bool chunked_init;
	struct h1_chunked ch;  /* decoder for a chunked upstream body */
	struct ev_timer timer; /* proxy_cache_lock wait */
	int64_t wait_until;    /* wall ms: lock_timeout */
	void (*resume)(struct conn *c);
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_zone *registry;

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct cache_stripe *stripe_of(struct cache_zone *z, const uint8_t key[16])
{
	return &z->stripes[key[0] % CACHE_STRIPES];
}

/* node_find - KEY's node in stripe S (locked), or NULL; *slot = a free or
 * dead slot to insert at (NULL when the stripe is full). */
static struct cache_node *node_find(struct cache_zone *z, struct cache_stripe *s,
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

static void zone_path_of(struct cache_zone *z, const uint8_t key[16], char *dst, size_t len)
{
	if (cache_entry_path(dst, len, z->path, z->levels, z->nlevels, key) < 0)
		dst[0] = '\0';
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

/* node_get - KEY's node, created when missing (stripe locked). A full
 * stripe gives up its least recently used entry not being updated; its
 * key is copied to EVICTED (so its file can be removed after unlock). */
static struct cache_node *node_get(struct cache_zone *z, struct cache_stripe *s,
				   const uint8_t key[16], uint8_t evicted[16], bool *did_evict)
{
	struct cache_node *slot, *n = node_find(z, s, key, &slot);

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
		n = node_find(z, s, key, &slot);
		if (!slot)
			return NULL;
	}
	memset(slot, 0, sizeof(*slot));
	slot->state = NODE_USED;
	memcpy(slot->key, key, 16);
	slot->access_ms = wall_ms();
	return slot;
}

static void unlink_key(struct cache_zone *z, const uint8_t key[16])
{
	char path[PATH_MAX];

	zone_path_of(z, key, path, sizeof(path));
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
	s = stripe_of(z, h.key);
	pthread_spin_lock(&s->lock);
	n = node_get(z, s, h.key, ev, &evicted);
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
		unlink_key(z, ev);
}

/* mgr_pass - one manager round: inactive entries, then max_size (LRU). */
static void mgr_pass(struct cache_zone *z)
{
	int64_t now = wall_ms();

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
				unlink_key(z, key);
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
			unlink_key(z, key);
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

static int mkdirs(const char *path)
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
	rc = mkdirs(z->path);
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

/* ---- request side ------------------------------------------------------------------------ */

const char *cache_status_name(int st)
{
	static const char *const names[] = {
		[CACHE_ST_MISS] = "MISS",	  [CACHE_ST_BYPASS] = "BYPASS",
		[CACHE_ST_EXPIRED] = "EXPIRED",	  [CACHE_ST_STALE] = "STALE",
		[CACHE_ST_UPDATING] = "UPDATING", [CACHE_ST_REVALIDATED] = "REVALIDATED",
		[CACHE_ST_HIT] = "HIT",
	};

	return st > 0 && st < (int)ARRAY_SIZE(names) ? names[st] : NULL;
}

const char *cache_status_of(const struct conn *c)
{
	return c->req.cache ? cache_status_name(c->req.cache->status) : NULL;
}

static int method_bit(struct lstr m)
{
	if (lstr_eq(m, LSTR("GET")))
		return CACHE_M_GET;
	if (lstr_eq(m, LSTR("HEAD")))
		return CACHE_M_HEAD;
	if (lstr_eq(m, LSTR("POST")))
		return CACHE_M_POST;
	return 0;
}

/* any_set - nginx's proxy_cache_bypass/proxy_no_cache test: some value is
 * not empty and not "0". */
static bool any_set(struct conn *c, const struct cval *v, int n)
{
	for (int i = 0; i < n; i++) {
		struct lstr s;

		if (cval_eval(&v[i], c, &s))
			continue;
		if (s.len && !(s.len == 1 && s.p[0] == '0'))
			return true;
	}
	return false;
}

/* lock_release - give back the node's updating flag held by CR. */
static void lock_release(struct cache_req *cr)
{
	struct cache_stripe *s;
	struct cache_node *n, *slot;

	if (!cr->owner)
		return;
	cr->owner = false;
	s = stripe_of(cr->z, cr->lock_key);
	pthread_spin_lock(&s->lock);
	n = node_find(cr->z, s, cr->lock_key, &slot);
	if (n)
		n->updating = false;
	pthread_spin_unlock(&s->lock);
}

/* struct entry_view - the first bytes of an entry file, read once. */
struct entry_view {
	struct cache_fhdr h; /* its header, checked */
	const char *buf;     /* bytes [0, n) of the file (request pool) */
	size_t n;
	bool whole; /* buf holds the whole file */
};

/* hdr_of - the value of header NAME (lowercase) among H[0..N), or empty. */
static struct lstr hdr_of(const struct h1_header *h, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (h1_str_ieq(h[i].name, name))
			return (struct lstr){h[i].value.p, h[i].value.len};
	return (struct lstr){NULL, 0};
}

/* expires_drops - whether stored header NAME is left off because the
 * location's `expires` replaces it (EXP: http_expires_applies). */
static bool expires_drops(bool exp, struct h1_str name)
{
	return exp && (H1_IS(name, "expires") || H1_IS(name, "cache-control"));
}

/* serve_304 - answer C's conditional request with 304 Not Modified from
 * an entry whose stored headers are HS[0..NH): nginx's not_modified filter
 * leaves off the body, and with it Content-Type, Content-Length,
 * Content-Encoding and Accept-Ranges. */
static bool serve_304(struct conn *c, const struct h1_header *hs, size_t nh)
{
	struct http_req *r = &c->req;

	c->out.start = c->out.end = 0;
	r->status = 304;
	r->header_sent = true;
	if (r->body_kind != BODY_NONE && !r->body_done && !http_body_discardable(c))
		c->close_after = true; /* body not read, nor to be dropped */
	if (http_out_append(c, "HTTP/1.1 304 Not Modified\r\n", 27) ||
	    http_head_server(c, r->loc->server_tokens) || http_head_date(c))
		return false;
	bool exp = http_expires_applies(c);

	for (size_t i = 0; i < nh; i++)
		if (!cache_304_drops(hs[i].name) && !expires_drops(exp, hs[i].name) &&
		    http_head_add(c, hs[i].name.p, hs[i].name.len, hs[i].value.p, hs[i].value.len))
			return false;
	if (http_head_finish(c, true))
		return false;
	http_send_body(c);
	return true;
}

/* head_has - whether the stored head HEAD (LEN bytes, a status line and
 * header lines) has a header NAME (lowercase), any case. */
static bool head_has(const char *head, size_t len, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = memchr(head, '\n', len); p && (size_t)(p - head) + 1 + nl < len;
	     p = memchr(p + 1, '\n', len - (size_t)(p + 1 - head)))
		if (p[1 + nl] == ':' && strncasecmp(p + 1, name, nl) == 0)
			return true;
	return false;
}

/* add_stored - stored header H to C's head as on a proxied answer of
 * STATUS: a Content-Type with the location's charset (charset.c),
 * proxy_redirect and proxy_cookie_* on Location, Refresh and Set-Cookie
 * (the stored headers are the upstream's, as nginx keeps them). */
static int add_stored(struct conn *c, const struct h1_header *h, int status)
{
	struct lstr v = {h->value.p, h->value.len};

	if (H1_IS(h->name, "x-accel-limit-rate"))
		return 0; /* applied (serve_file), never passed on */
	if (H1_IS(h->name, "content-type"))
		v = charset_ctype(c, c->req.loc, status, v, true);
	else if (proxy_header_value(c, h->name, &v) < 0)
		return -ENOMEM;
	return http_head_add(c, h->name.p, h->name.len, v.p, v.len);
}

/* serve_file - answer C from entry FD as described by V: a small entry
 * from memory in one write, a bigger one's body with sendfile. */
static bool serve_file(struct conn *c, int fd, const struct entry_view *v)
{
	const struct cache_fhdr *h = &v->h;
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	const char *head;
	char num[24];
	size_t eol, hoff = sizeof(*h) + h->key_len;
	off_t body = (off_t)(hoff + h->head_len);

	if (hoff + h->head_len <= v->n) {
		head = v->buf + hoff;
	} else {
		char *p = pool_alloc(&c->pool, h->head_len);

		if (!p || pread(fd, p, h->head_len, (off_t)hoff) != (ssize_t)h->head_len)
			return false;
		head = p;
	}
	for (eol = 0; eol + 1 < h->head_len && head[eol] != '\r'; eol++)
		;
	if (eol + 1 >= h->head_len || head[eol + 1] != '\n')
		return false;
	num[lbd_u64toa(num, h->body_len)] = '\0';
	/* the stored headers, for gzip's decision (hits are compressed as
	 * the response they were stored from would have been) and the
	 * client's conditions */
	struct h1_header hs[CACHE_HIT_HEADERS];
	size_t nh = 0;
	int gz = 0;
	bool cond = r->cache && r->cache->has_cond && h->status == 200;
	/* nginx's range filter on a cached 200 (range_send.c): looked at
	 * when asked for, or when the Accept-Ranges sent differs from the
	 * stored one (max_ranges 0, proxy_force_ranges) */
	bool rng = h->status == 200 && (l->max_ranges == 0 || l->proxy_force_ranges ||
					hdr_of(req_hdrs(r), r->h1.nheaders, "range").len);

	/* `expires` replaces the stored Expires and Cache-Control */
	bool exp = cfg_expires_sets(l->expires_mode);
	/* `charset` may name one in the stored Content-Type (charset.c) */
	bool cs = l->charset.charset && l->charset.charset[0];
	/* proxy_redirect / proxy_cookie_* apply to hits too: a head with a
	 * header they rewrite goes one header at a time (add_stored) */
	bool rw = (l->redirect_mode && (head_has(head, h->head_len, "location") ||
					head_has(head, h->head_len, "refresh"))) ||
		  (cookie_active(&l->cookie) && head_has(head, h->head_len, "set-cookie"));

	/* an upstream's X-Accel-Limit-Rate is applied, never sent */
	bool xr = head_has(head, h->head_len, "x-accel-limit-rate");

	if (l->gzip.enable || l->gzip.gunzip == 1 || cond || rng || exp || cs || rw || xr ||
	    l->subf.set) {
		for (size_t i = eol + 2; i < h->head_len && nh < CACHE_HIT_HEADERS;) {
			const char *ln = head + i, *end = memchr(ln, '\n', h->head_len - i), *colon;
			size_t len = end ? (size_t)(end - ln) : h->head_len - i;

			i += len + 1;
			if (len && ln[len - 1] == '\r')
				len--;
			if (!len || !(colon = memchr(ln, ':', len)))
				continue;
			hs[nh].name = (struct h1_str){ln, (size_t)(colon - ln)};
			for (colon++; colon < ln + len && (*colon == ' ' || *colon == '\t');
			     colon++)
				;
			hs[nh].value = (struct h1_str){colon, (size_t)(ln + len - colon)};
			nh++;
		}
	}
	if (cond) {
		int k = cache_cond_eval(&r->cache->cond, 200, hdr_of(hs, nh, "etag"),
					hdr_of(hs, nh, "last-modified"), r->cache->cl->ims_mode);

		if (k == 412) {
			close(fd);
			http_finalize(c, 412);
			return true;
		}
		if (k == 304) {
			if (!serve_304(c, hs, nh))
				return false;
			close(fd);
			return true;
		}
	}
	c->out.start = c->out.end = 0;
	r->status = h->status;
	r->header_sent = true;
	if (r->body_kind != BODY_NONE && !r->body_done && !http_body_discardable(c))
		c->close_after = true; /* body not read, nor to be dropped */
	if (unlikely(xr) && !(l->cache.ignore & CACHE_IGN_XA_LIMIT_RATE))
		rate_upstream(c, hdr_of(hs, nh, "x-accel-limit-rate"));
	/* gunzip's header filter, sub_filter's, then gzip's, as in nginx */
	int gu = gunzip_begin_h1(c, h->status, hs, nh);

	if (gu < 0)
		return false;
	r->rc_sb = NULL; /* nothing of an answer before an internal redirect */
	int sf = (l->subf.set || l->charset.charset) && h->body_len
			 ? subfilter_begin_stored(c, h->status, hs, nh, (int64_t)h->body_len)
			 : 0;

	if (sf < 0 || (l->gzip.enable && (gz = gzip_begin_h1(c, h->status, hs, nh)) < 0))
		return false;
	/* single-byte recoding alone keeps the length (and ranges): the
	 * body's bytes are recoded on their way out (http_flush) */
	if (sf && !gz && !gu && (r->rc_sb = subfilter_take_sb(c)))
		sf = 0;
	subfilter_start(c);

	struct range_set *rs = NULL;
	enum range_rc rr = RANGE_OFF;
	struct lstr ctype = {NULL, 0};
	bool ct_done = false;

	rng = rng && !gz && !sf && !gu;
	/* nginx: ranges for a cached answer that came with Accept-Ranges */
	if (rng && (l->proxy_force_ranges || hdr_of(hs, nh, "accept-ranges").p)) {
		struct lstr lm = hdr_of(hs, nh, "last-modified");

		/* the parts' type is the one sent, "; charset=" and all (nginx's
		 * charset header filter runs before its range filter) */
		ctype = hdr_of(hs, nh, "content-type");
		if (cs && ctype.p) {
			ctype = charset_ctype(c, l, h->status, ctype, true);
			ct_done = true;
		}
		rr = range_start(c, (int64_t)h->body_len, hdr_of(hs, nh, "etag"),
				 lm.len ? h1_http_time(lm.p, lm.len) : -1, ctype, false, &rs);
		if (rr == RANGE_UNSATISFIABLE) {
			close(fd);
			http_finalize(c, 416);
			return true;
		}
		if (rs)
			r->status = 206;
	}
	exp = exp && http_expires_applies(c); /* and the status is one it applies to */
	if (http_out_append(c, "HTTP/1.1 ", 9) ||
	    (rs ? http_out_append(c, "206 Partial Content\r\n", 21)
		: http_out_append(c, head, eol + 2)) ||
	    http_head_server(c, l->server_tokens) || http_head_date(c))
		return false;
	if (rng) {
		/* the stored headers but Accept-Ranges (and the entity's type
		 * for multipart), then the lengths */
		for (size_t i = 0; i < nh; i++) {
			if (H1_IS(hs[i].name, "accept-ranges") ||
			    (rs && rs->n > 1 && H1_IS(hs[i].name, "content-type")) ||
			    expires_drops(exp, hs[i].name))
				continue;
			/* the first type as worked out for the ranges (once) */
			if (ct_done && H1_IS(hs[i].name, "content-type")) {
				if (http_head_add(c, hs[i].name.p, hs[i].name.len, ctype.p,
						  ctype.len))
					return false;
				ct_done = false;
				continue;
			}
			if (add_stored(c, &hs[i], h->status))
				return false;
		}
		if (rs ? range_head_add(c, rs)
		       : http_head_add(c, "Content-Length", 14, num, strlen(num)))
			return false;
		if (rr == RANGE_WHOLE && http_head_addf(c, "Accept-Ranges: bytes\r\n"))
			return false;
	} else if (!gz && !exp && !cs && !rw && !xr && !sf && !gu) {
		if (http_out_append(c, head + eol + 2, h->head_len - eol - 2) ||
		    http_head_add(c, "Content-Length", 14, num, strlen(num)))
			return false;
	} else {
		for (size_t i = 0; i < nh; i++) {
			int k = gu ? gunzip_header(c, hs[i].name, hs[i].value) : 0;

			/* a filtered body has no length: nginx sends no
			 * Accept-Ranges then (its range filter adds it) */
			if ((gz || sf || gu) && H1_IS(hs[i].name, "accept-ranges"))
				continue;

			if (!k && sf)
				k = subfilter_header(c, hs[i].name, hs[i].value);

			if (!k && gz)
				k = gzip_header(c, hs[i].name, hs[i].value);

			if (k < 0 || (k == 0 && !expires_drops(exp, hs[i].name) &&
				      add_stored(c, &hs[i], h->status)))
				return false;
		}
		if (!gz && !sf && !gu && http_head_add(c, "Content-Length", 14, num, strlen(num)))
			return false;
	}
	if (gunzip_head_add(c) || gzip_head_add(c) || subfilter_head_add(c) ||
	    http_head_finish(c, true))
		return false;
	if (rs && !r->head) {
		range_body(c, rs, fd, body);
	} else if (!r->head && h->body_len && v->whole && c->req.gz.ctx && !c->req.sf.ctx) {
		size_t sent = 0;

		if (gzip_mem(c, v->buf + body, h->body_len, &sent))
			return false;
		r->body_bytes_sent = sent;
		close(fd);
	} else if (!r->head && h->body_len && v->whole && !c->req.sf.ctx && !c->req.gu.ctx) {
		if (http_out_append(c, v->buf + body, h->body_len))
			return false;
		if (r->rc_sb)
			recode_sb(r->rc_sb, c->out.data + c->out.end - h->body_len, h->body_len);
		/* http_flush counts c->out as head bytes: $body_bytes_sent here */
		r->body_bytes_sent = h->body_len;
		close(fd);
	} else if (!r->head && h->body_len) {
		c->file_fd = fd;
		c->file_off = body;
		c->file_end = body + (off_t)h->body_len;
	} else {
		close(fd);
	}
	http_send_body(c);
	return true;
}

/* entry_read - open the entry file of CR's key and read its first
 * CACHE_FIRST_READ bytes into V, checked; the fd, or -1 if gone or bad. */
static int entry_read(struct cache_req *cr, struct entry_view *v)
{
	char path[PATH_MAX], *buf;
	struct stat st;
	ssize_t n;
	uint64_t total;
	int fd;

	zone_path_of(cr->z, cr->key, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return -1;
	buf = pool_alloc(&cr->c->pool, CACHE_FIRST_READ);
	if (!buf)
		goto bad;
	n = pread(fd, buf, CACHE_FIRST_READ, 0);
	if (n < (ssize_t)sizeof(v->h))
		goto bad;
	memcpy(&v->h, buf, sizeof(v->h));
	if (memcmp(v->h.magic, CACHE_MAGIC, 8) != 0 || memcmp(v->h.key, cr->key, 16) != 0 ||
	    v->h.head_len > CACHE_HEAD_MAX)
		goto bad;
	total = sizeof(v->h) + v->h.key_len + v->h.head_len + v->h.body_len;
	v->buf = buf;
	v->n = (size_t)n;
	v->whole = (uint64_t)n == total;
	/* a short read is the whole file: it must be the size the header says */
	if (!v->whole &&
	    (n < CACHE_FIRST_READ || fstat(fd, &st) == -1 || (uint64_t)st.st_size != total))
		goto bad;
	return fd;
bad:
	close(fd);
	return -1;
}

/* open_entry - the entry file of CR's key, checked; -1 if gone or bad. */
static int open_entry(struct cache_req *cr, struct cache_fhdr *h)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	zone_path_of(cr->z, cr->key, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return -1;
	if (read_fhdr(fd, h, &st) || memcmp(h->key, cr->key, 16) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* try_serve - answer from the entry on disk as STATUS; false if unreadable. */
static bool try_serve(struct cache_req *cr, int status)
{
	struct entry_view v;
	int fd = entry_read(cr, &v);

	if (fd == -1)
		return false;
	if (v.h.flags & CACHE_F_VARY) { /* a stub is no answer */
		close(fd);
		return false;
	}
	cr->status = status;
	cr->store = false;
	lock_release(cr);
	if (status != CACHE_ST_STALE) /* a STALE answer was counted a miss */
		atomic_fetch_add_explicit(&cr->z->hits, 1, memory_order_relaxed);
	if (!serve_file(cr->c, fd, &v)) {
		close(fd);
		cr->c->close_after = true;
		conn_close(cr->c);
	}
	return true;
}

/* load_validators - Last-Modified and ETag of CR's expired entry, sent
 * upstream as If-Modified-Since / If-None-Match (proxy_cache_revalidate). */
static void load_validators(struct cache_req *cr)
{
	struct entry_view v;
	const char *head, *p, *end;
	size_t hoff;
	int fd = entry_read(cr, &v);

	if (fd == -1)
		return;
	if (v.h.flags & CACHE_F_VARY) {
		close(fd);
		return;
	}
	hoff = sizeof(v.h) + v.h.key_len;
	if (hoff + v.h.head_len <= v.n) {
		head = v.buf + hoff;
	} else {
		char *b = pool_alloc(&cr->c->pool, v.h.head_len);

		if (!b || pread(fd, b, v.h.head_len, (off_t)hoff) != (ssize_t)v.h.head_len) {
			close(fd);
			return;
		}
		head = b;
	}
	close(fd);
	cr->entry_status = v.h.status;
	end = head + v.h.head_len;
	p = memchr(head, '\n', v.h.head_len); /* past the status line */
	while (p && ++p < end) {
		const char *eol = memchr(p, '\r', (size_t)(end - p)), *colon;

		if (!eol)
			break;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon && colon + 2 <= eol) {
			struct h1_str n = {p, (size_t)(colon - p)};
			struct lstr val = {colon + 2, (size_t)(eol - colon - 2)};

			if (H1_IS(n, "last-modified"))
				cr->ims = val;
			else if (H1_IS(n, "etag"))
				cr->inm = val;
		}
		p = eol + 1;
	}
	/* the values point into pool memory of this request: stable */
}

enum decide { D_UPSTREAM, D_SERVED, D_WAIT, D_VARY };

static bool bg_start(struct cache_req *cr);

/* decide - look the key up and choose: HIT, wait on a lock, or upstream. */
static enum decide decide(struct cache_req *cr)
{
	struct cache_zone *z = cr->z;
	const struct cache_loc *cl = cr->cl;
	struct cache_stripe *s = stripe_of(z, cr->key);
	struct cache_node *n;
	uint8_t ev[16];
	bool evicted, exists, fresh, locked;
	int64_t now = wall_ms();

	pthread_spin_lock(&s->lock);
	n = node_get(z, s, cr->key, ev, &evicted);
	if (!n) {
		pthread_spin_unlock(&s->lock);
		cr->status = CACHE_ST_MISS;
		cr->store = false;
		return D_UPSTREAM;
	}
	n->access_ms = now;
	if (n->vary && n->exists && !cr->variant) {
		/* a Vary stub: the request's variant is another key */
		pthread_spin_unlock(&s->lock);
		if (evicted)
			unlink_key(z, ev);
		return D_VARY;
	}
	if (!cr->wait_until && n->uses < UINT32_MAX) /* a lock wait's polls count once */
		n->uses++;
	exists = n->exists;
	fresh = exists && n->expire_ms > now;
	locked = n->updating && n->lock_until_ms > now;
	if (!fresh && !locked && cr->store && (int)n->uses >= cl->min_uses) {
		n->updating = true;
		n->lock_until_ms = now + (cl->lock ? cl->lock_age : 5000);
		cr->owner = true;
		memcpy(cr->lock_key, cr->key, 16);
	}
	if ((int)n->uses < cl->min_uses)
		cr->store = false;
	pthread_spin_unlock(&s->lock);
	if (evicted)
		unlink_key(z, ev);

	if (fresh) {
		if (try_serve(cr, CACHE_ST_HIT))
			return D_SERVED;
		exists = false; /* removed under us */
	}
	cr->stale = exists;
	cr->status = exists ? CACHE_ST_EXPIRED : CACHE_ST_MISS;
	if (cr->owner && exists && (cl->use_stale & CACHE_STALE_UPDATING) &&
	    cl->background_update && bg_start(cr)) {
		/* proxy_cache_background_update: the entry is fetched on its
		 * own, this request gets the expired one (nginx: STALE) */
		atomic_fetch_add_explicit(&z->misses, 1, memory_order_relaxed);
		if (try_serve(cr, CACHE_ST_STALE))
			return D_SERVED;
		cr->store = false; /* gone meanwhile: fetch it, the update stores */
		return D_UPSTREAM;
	}
	if (locked && exists && (cl->use_stale & CACHE_STALE_UPDATING) &&
	    try_serve(cr, CACHE_ST_UPDATING))
		return D_SERVED;
	if (locked && cl->lock) {
		if (!cr->wait_until)
			cr->wait_until = now + cl->lock_timeout;
		if (now < cr->wait_until)
			return D_WAIT;
		cr->store = false; /* nginx: after lock_timeout, not cached */
	}
	if (cr->stale && cl->revalidate)
		load_validators(cr);
	return D_UPSTREAM;
}

/* variant_of - CR's key becomes the variant of its main key for Vary list
 * VARY and the request's headers. false when it cannot be made. */
static bool variant_of(struct cache_req *cr, struct lstr vary)
{
	size_t cap = 16 + vary.len * 2 + 64;
	uint8_t v[16];
	char *scratch;

	for (size_t i = 0; i < cr->nhdrs; i++)
		cap += cr->hdrs[i].value.len + 1;
	scratch = pool_alloc(cr->pool, cap);
	if (!scratch || cache_variant_key(cr->variant ? cr->main_key : cr->key, vary, cr->hdrs,
					  cr->nhdrs, scratch, cap, v))
		return false;
	if (!cr->variant)
		memcpy(cr->main_key, cr->key, 16);
	memcpy(cr->key, v, 16);
	cr->variant = true;
	return true;
}

/* decide_vary - decide(), and when the key holds a Vary stub, decide()
 * again on the request's variant named by the stub. */
static enum decide decide_vary(struct cache_req *cr)
{
	enum decide d = decide(cr);
	struct entry_view v;
	int fd;

	if (d != D_VARY)
		return d;
	fd = entry_read(cr, &v);
	if (fd >= 0) {
		close(fd);
		if (v.whole && (v.h.flags & CACHE_F_VARY) &&
		    variant_of(cr,
			       (struct lstr){v.buf + sizeof(v.h) + v.h.key_len, v.h.head_len})) {
			d = decide(cr);
			if (d != D_VARY)
				return d;
		}
	}
	/* the stub went away or is unreadable: fetch, do not store */
	cr->status = CACHE_ST_MISS;
	cr->store = false;
	return D_UPSTREAM;
}

static void wait_tick(struct ev_loop *loop, struct ev_timer *t)
{
	struct cache_req *cr = t->data;
	struct conn *c = cr->c;
	enum decide d;

	(void)loop;
	d = decide_vary(cr);
	if (d == D_WAIT) {
		ev_timer_start(&c->w->loop, &cr->timer, CACHE_LOCK_POLL);
		return;
	}
	if (d == D_UPSTREAM) {
		atomic_fetch_add_explicit(&cr->z->misses, 1, memory_order_relaxed);
		cr->resume(c);
	}
}

/* default_key - proxy_cache_key, or nginx's default: documented as
 * $scheme$proxy_host$request_uri, built by nginx from the upstream's
 * scheme with its "://" and the URI it sends upstream (proxy_pass's URI
 * part in place of the location prefix): "http://127.0.0.1:8080/a". */
static int default_key(struct conn *c, const struct cache_loc *cl, struct lstr *out)
{
	struct lstr v[3] = {LSTR("http://")};
	size_t len = v[0].len;
	char *p;

	if (cl->key_set)
		return cval_eval(&cl->key, c, out);
	if (var_get_by_name(c, "proxy_host", 10, &v[1]))
		v[1] = (struct lstr){"", 0};
	if (!c->req.loc->proxy || proxy_upstream_uri(c, &v[2]))
		v[2] = (struct lstr){"", 0};
	len += v[1].len + v[2].len;
	p = pool_alloc(&c->pool, len + 1);
	if (!p)
		return -ENOMEM;
	out->p = p;
	out->len = len;
	for (int i = 0; i < 3; i++) {
		memcpy(p, v[i].p, v[i].len);
		p += v[i].len;
	}
	return 0;
}

/* range_declined - nginx's check of a miss's Range against
 * proxy_cache_max_range_offset: a first offset at or past it, a suffix
 * range, or any range when it is 0. */
static bool range_declined(const struct cache_req *cr)
{
	int64_t max = cr->cl->max_range_offset, off = 0;
	struct lstr v = hdr_of(cr->hdrs, cr->nhdrs, "range");
	const char *p, *end;

	if (!v.p || max == INT64_MAX)
		return false;
	if (max == 0)
		return true;
	if (v.len < 7 || strncasecmp(v.p, "bytes=", 6) != 0)
		return false;
	p = v.p + 6;
	end = v.p + v.len;
	while (p < end && *p == ' ')
		p++;
	if (p < end && *p == '-')
		return true;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (off > (INT64_MAX - 9) / 10)
			return true;
		off = off * 10 + (*p - '0');
	}
	return off >= max;
}

/* zone_by_var - proxy_cache $variable: the zone of CL's module that the
 * value names for the request on C into *OUT (NULL: the value is empty or
 * "off", no caching, as nginx). -1 when no zone has that name: logged as
 * nginx logs it, the request then fails with 500. */
static int zone_by_var(struct conn *c, const struct cache_loc *cl,
		       const struct cache_zone_conf **out)
{
	struct lstr v;

	*out = NULL;
	if (cval_eval(cl->zvar, c, &v))
		return -1;
	if (v.len == 0 || lstr_eq(v, LSTR("off")))
		return 0;
	for (const struct cache_zone_conf *z = *cl->zones; z; z = z->next) {
		if (z->owner == cl->zowner && strlen(z->name) == v.len &&
		    memcmp(z->name, v.p, v.len) == 0) {
			*out = z;
			return 0;
		}
	}
	http_log(c, NULL, LOG_ERR, "cache \"%.*s\" not found", (int)v.len, v.p);
	return -1;
}

bool cache_start(struct conn *c, void (*resume)(struct conn *c))
{
	struct http_req *r = &c->req;
	const struct cache_loc *cl = &r->loc->cache;
	const struct cache_zone_conf *zc = cl->zc;
	struct cache_req *cr = r->cache;
	struct lstr k;
	enum decide d;

	if (cr) /* resumed after a lock wait: decided */
		return false;
	if (!(method_bit(r->method) & cl->methods))
		return false;
	/* nginx looks the zone up after the method check, before bypass */
	if (unlikely(!zc) && cl->zvar && zone_by_var(c, cl, &zc)) {
		http_finalize(c, 500);
		return true;
	}
	if (!zc || !zc->zone)
		return false;
	cr = pool_zalloc(&c->pool, sizeof(*cr));
	if (!cr || default_key(c, cl, &k))
		return false;
	cr->c = c;
	cr->z = zc->zone;
	cr->cl = cl;
	cr->l = r->loc;
	cr->pool = &c->pool;
	cr->hdrs = req_hdrs(r);
	cr->nhdrs = r->h1.nheaders;
	cr->fd = -1;
	cr->keytext = k;
	cr->resume = resume;
	cache_md5(k.p, k.len, cr->key);
	ev_timer_init(&cr->timer, wait_tick, cr);
	r->cache = cr;
	/* HEAD is answered from a stored GET; a miss goes upstream as GET
	 * (proxy_cache_convert_head on) and is stored, else as HEAD and is
	 * not stored */
	cr->head_get = r->head && cl->convert_head;
	cr->store = !r->head || cr->head_get;
	cache_cond_of(req_hdrs(r), r->h1.nheaders, &cr->cond);
	cr->has_cond = cr->cond.inm.len || cr->cond.ims.len || cr->cond.im.len || cr->cond.ius.len;
	if (any_set(c, cl->bypass, cl->nbypass)) {
		cr->status = CACHE_ST_BYPASS;
		atomic_fetch_add_explicit(&cr->z->misses, 1, memory_order_relaxed);
		return false;
	}
	d = decide_vary(cr);
	if (d == D_WAIT) {
		/* as waiting on an upstream: the connection reads nothing more */
		c->state = CS_UPSTREAM;
		ev_timer_start(&c->w->loop, &cr->timer, CACHE_LOCK_POLL);
		return true;
	}
	if (d == D_UPSTREAM) {
		atomic_fetch_add_explicit(&cr->z->misses, 1, memory_order_relaxed);
		if (unlikely(cr->cl->max_range_offset != INT64_MAX) && range_declined(cr)) {
			/* as nginx: the request goes as if not cached */
			cr->range_pass = true;
			cr->store = false;
			cr->ims = cr->inm = (struct lstr){NULL, 0};
			lock_release(cr);
		}
	}
	return d == D_SERVED;
}

static void tmp_drop(struct cache_req *cr)
{
	if (cr->fd >= 0) {
		close(cr->fd);
		unlink(cr->tmp);
	}
	cr->fd = -1;
}

void cache_req_cleanup(struct conn *c)
{
	struct cache_req *cr = c->req.cache;

	if (!cr)
		return;
	ev_timer_stop(&c->w->loop, &cr->timer);
	tmp_drop(cr);
	lock_release(cr);
}

/* write_err - drop the entry after a failed write; log once per interval. */
static void write_err(struct cache_req *cr, int err)
{
	struct cache_zone *z = cr->z;
	int64_t now = wall_ms(), last = atomic_load(&z->err_logged_ms);

	tmp_drop(cr);
	cr->store = false;
	lock_release(cr);
	atomic_fetch_add_explicit(&z->store_err, 1, memory_order_relaxed);
	if (now - last >= CACHE_ERR_LOG_MS &&
	    atomic_compare_exchange_strong(&z->err_logged_ms, &last, now))
		log_emit(
			cr->l->error_log, LOG_CRIT,
			"write() to cache file of zone \"%s\" failed (%d: %s), the response is not cached",
			z->name, err, strerror(err));
}

int cache_write_all(int fd, const void *p, size_t n)
{
	const char *b = p;

	while (n) {
		ssize_t w = write(fd, b, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (w == 0)
			return ENOSPC;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int cache_body_tee(int fd, struct h1_chunked *ch, const char *p, size_t n, bool chunked,
		   uint64_t *written)
{
	int err;

	if (!chunked) {
		err = cache_write_all(fd, p, n);
		if (!err)
			*written += n;
		return err;
	}
	while (n) {
		struct h1_str d;
		size_t used = 0;
		int rc = h1_parse_chunked(ch, p, n, &used, &d);

		if (rc == H1_CHUNK_DATA) {
			err = cache_write_all(fd, d.p, d.len);
			if (err)
				return err;
			*written += d.len;
		} else if (rc != H1_CHUNK_DONE && rc != H1_INCOMPLETE) {
			return -1;
		}
		if (rc == H1_CHUNK_DONE || rc == H1_INCOMPLETE || used == 0)
			break;
		p += used;
		n -= used;
	}
	return 0;
}

/* stored_header - whether upstream header NAME goes into the entry. */
static bool stored_header(struct h1_str n)
{
	static const char *const skip[] = {
		"content-length", "transfer-encoding", "connection", "keep-alive", "date", "server",
		"x-pad",	  "proxy-connection",  "upgrade",
	};

	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (h1_str_ieq(n, skip[i]))
			return false;
	return !(n.len > 8 && strncasecmp(n.p, "x-accel-", 8) == 0);
}

/* store_begin - cache_store_begin for CR (a client's request or a
 * background update); NO_CACHE: proxy_no_cache said so. */
static void store_begin(struct cache_req *cr, const struct h1_response *resp, bool head_only,
			cache_hidden_fn hidden, bool no_cache)
{
	const struct cfg_loc *l = cr->l;
	struct cache_fhdr h = {0};
	char path[PATH_MAX], st[8];
	struct sbuf_lite {
		char *p;
		size_t len, cap;
	} b = {0};
	int64_t secs, now;
	int err;

	if (!cr->store)
		return;
	cr->store = false;
	/* a 206 only as a slice (slice.h: its key has $slice_range) */
	if ((head_only && !cr->head_get) || resp->status == 101 ||
	    (resp->status == 206 && !(cr->c && cr->c->req.slice_set)))
		goto no;
	now = wall_ms();
	secs = cache_validity(cr->cl, resp, now / 1000);
	if (secs <= 0 || no_cache)
		goto no;
	/* Vary (cache_validity let through only lists to store): the entry
	 * goes to the request's variant, a stub naming the list to the main
	 * key */
	cr->vary = (struct lstr){NULL, 0};
	for (size_t i = 0; i < resp->nheaders && !(cr->cl->ignore & CACHE_IGN_VARY); i++) {
		const struct h1_header *hv = &resp->headers[i];
		char *copy;

		if (!H1_IS(hv->name, "vary") || !hv->value.len)
			continue;
		copy = pool_alloc(cr->pool, hv->value.len);
		if (!copy)
			goto no;
		memcpy(copy, hv->value.p, hv->value.len);
		cr->vary = (struct lstr){copy, hv->value.len};
		if (!variant_of(cr, cr->vary))
			goto no;
		break;
	}
	/* the stored head: "STATUS REASON\r\n" and the kept headers */
	b.cap = 256;
	for (size_t i = 0; i < resp->nheaders; i++)
		b.cap += resp->headers[i].name.len + resp->headers[i].value.len + 4;
	if (b.cap > CACHE_HEAD_MAX)
		goto no;
	b.p = pool_alloc(cr->pool, b.cap);
	if (!b.p)
		goto no;
	st[lbd_u64toa(st, (uint64_t)resp->status)] = '\0';
	b.len = (size_t)snprintf(b.p, b.cap, "%s %.*s\r\n", st, (int)resp->reason.len,
				 resp->reason.p);
	for (size_t i = 0; i < resp->nheaders; i++) {
		const struct h1_header *hh = &resp->headers[i];

		/* X-Accel-Limit-Rate is kept (never sent): a hit applies it
		 * again, as nginx reads the stored upstream head */
		if (!H1_IS(hh->name, "x-accel-limit-rate") &&
		    (!stored_header(hh->name) || (hidden && hidden(l, hh->name))))
			continue;
		/* as it goes out (proxy.c): nginx's spelling of this one */
		memcpy(b.p + b.len, H1_IS(hh->name, "content-type") ? "Content-Type" : hh->name.p,
		       hh->name.len);
		b.len += hh->name.len;
		memcpy(b.p + b.len, ": ", 2);
		b.len += 2;
		memcpy(b.p + b.len, hh->value.p, hh->value.len);
		b.len += hh->value.len;
		memcpy(b.p + b.len, "\r\n", 2);
		b.len += 2;
	}
	if (cache_entry_path(path, sizeof(path) - 32, cr->z->path, cr->z->levels, cr->z->nlevels,
			     cr->key) < 0)
		goto no;
	cr->tmp = pool_alloc(cr->pool, strlen(path) + 32);
	if (!cr->tmp)
		goto no;
	snprintf(cr->tmp, strlen(path) + 32, "%s.%llu.tmp", path,
		 (unsigned long long)atomic_fetch_add(&cr->z->tmp_seq, 1));
	cr->fd = open(cr->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (cr->fd == -1 && errno == ENOENT) {
		*strrchr(path, '/') = '\0';
		if (mkdirs(path) == 0)
			cr->fd = open(cr->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (cr->fd == -1) {
		write_err(cr, errno);
		return;
	}
	cr->store = true;
	cr->expire_ms = now + secs * 1000;
	cr->head_len = (uint32_t)b.len;
	cr->resp_status = resp->status;
	cr->written = 0;
	cr->chunked_init = false;
	err = cache_write_all(cr->fd, &h, sizeof(h));
	if (!err)
		err = cache_write_all(cr->fd, cr->keytext.p, cr->keytext.len);
	if (!err)
		err = cache_write_all(cr->fd, b.p, b.len);
	if (err)
		write_err(cr, err);
	return;
no:
	lock_release(cr);
}

void cache_store_begin(struct conn *c, const struct h1_response *resp, bool head_only,
		       cache_hidden_fn hidden)
{
	struct cache_req *cr = c->req.cache;

	if (cr && cr->store)
		store_begin(cr, resp, head_only, hidden,
			    any_set(c, cr->cl->no_cache, cr->cl->nno_cache));
}

/* tee_body - cache_tee for CR. */
static void tee_body(struct cache_req *cr, const char *p, size_t n, bool raw_chunked)
{
	int err;

	if (cr->fd < 0 || !n)
		return;
	if (raw_chunked && !cr->chunked_init) {
		h1_chunked_init(&cr->ch);
		cr->chunked_init = true;
	}
	err = cache_body_tee(cr->fd, &cr->ch, p, n, raw_chunked, &cr->written);
	if (err > 0) {
		write_err(cr, err);
	} else if (err < 0) {
		tmp_drop(cr);
		lock_release(cr);
	}
}

/* node_put - KEY's node now describes a complete file of FSIZE bytes
 * (STUB: a Vary stub); its update lock is released. false when the index
 * has no room for it. */
static bool node_put(struct cache_zone *z, const uint8_t key[16], int64_t expire_ms, uint64_t fsize,
		     int64_t now_ms, bool stub)
{
	struct cache_stripe *s = stripe_of(z, key);
	struct cache_node *n;
	uint8_t ev[16];
	bool evicted, had;
	uint64_t old;

	pthread_spin_lock(&s->lock);
	n = node_get(z, s, key, ev, &evicted);
	if (n) {
		had = n->exists;
		old = n->fsize;
		n->exists = true;
		n->vary = stub;
		n->expire_ms = expire_ms;
		n->fsize = fsize;
		n->updating = false;
		n->access_ms = now_ms;
		atomic_fetch_add(&z->size, (int64_t)fsize - (had ? (int64_t)old : 0));
		if (!had)
			atomic_fetch_add(&z->entries, 1);
	}
	pthread_spin_unlock(&s->lock);
	if (evicted)
		unlink_key(z, ev);
	return n != NULL;
}

/* write_stub - the main key's file of a response stored as a variant: a
 * header flagged CACHE_F_VARY, the key and the Vary list, renamed into
 * place as entries are. A failure leaves the main key as it was (the
 * variant is then found only once a later stub names it). */
static void write_stub(struct cache_req *cr, int64_t now_ms)
{
	struct cache_fhdr h = {0};
	char path[PATH_MAX], tmp[PATH_MAX + 48];
	int fd, err;

	zone_path_of(cr->z, cr->main_key, path, sizeof(path));
	if (!path[0])
		return;
	snprintf(tmp, sizeof(tmp), "%s.%llu.tmp", path,
		 (unsigned long long)atomic_fetch_add(&cr->z->tmp_seq, 1));
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 && errno == ENOENT) {
		*strrchr(path, '/') = '\0';
		if (mkdirs(path))
			return;
		zone_path_of(cr->z, cr->main_key, path, sizeof(path));
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (fd == -1)
		return;
	memcpy(h.magic, CACHE_MAGIC, 8);
	memcpy(h.key, cr->main_key, 16);
	h.expire_ms = cr->expire_ms;
	h.stored_ms = now_ms;
	h.key_len = (uint32_t)cr->keytext.len;
	h.head_len = (uint32_t)cr->vary.len;
	h.status = (uint16_t)cr->resp_status;
	h.flags = CACHE_F_VARY;
	err = cache_write_all(fd, &h, sizeof(h));
	if (!err)
		err = cache_write_all(fd, cr->keytext.p, cr->keytext.len);
	if (!err)
		err = cache_write_all(fd, cr->vary.p, cr->vary.len);
	close(fd);
	if (err || rename(tmp, path) == -1) {
		unlink(tmp);
		return;
	}
	if (!node_put(cr->z, cr->main_key, cr->expire_ms,
		      sizeof(h) + cr->keytext.len + cr->vary.len, now_ms, true))
		unlink(path);
}

void cache_tee(struct conn *c, const char *p, size_t n, bool raw_chunked)
{
	if (c->req.cache)
		tee_body(c->req.cache, p, n, raw_chunked);
}

/* store_end - cache_store_end for CR. */
static void store_end(struct cache_req *cr, bool complete)
{
	struct cache_fhdr h = {0};
	char path[PATH_MAX];
	uint64_t fsize;

	if (cr->fd < 0)
		return;
	if (!complete) {
		tmp_drop(cr);
		lock_release(cr);
		return;
	}
	memcpy(h.magic, CACHE_MAGIC, 8);
	memcpy(h.key, cr->key, 16);
	h.expire_ms = cr->expire_ms;
	h.stored_ms = wall_ms();
	h.key_len = (uint32_t)cr->keytext.len;
	h.head_len = cr->head_len;
	h.body_len = cr->written;
	h.status = (uint16_t)cr->resp_status;
	if (pwrite(cr->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		write_err(cr, errno ? errno : EIO);
		return;
	}
	fsize = sizeof(h) + h.key_len + h.head_len + h.body_len;
	close(cr->fd);
	cr->fd = -1;
	zone_path_of(cr->z, cr->key, path, sizeof(path));
	if (!path[0] || rename(cr->tmp, path) == -1) {
		int e = errno;

		unlink(cr->tmp);
		write_err(cr, e);
		return;
	}
	atomic_fetch_add_explicit(&cr->z->stores, 1, memory_order_relaxed);
	if (!node_put(cr->z, cr->key, cr->expire_ms, fsize, h.stored_ms, false))
		unlink(path); /* no room in the index */
	else if (cr->vary.len)
		write_stub(cr, h.stored_ms);
	lock_release(cr); /* the main key's lock, when the entry went to a variant */
}

void cache_store_end(struct conn *c, bool complete)
{
	if (c->req.cache)
		store_end(c->req.cache, complete);
}

int cache_conditional(struct conn *c, const struct h1_response *resp)
{
	struct cache_req *cr = c->req.cache;
	struct lstr etag = {NULL, 0}, lm = {NULL, 0};
	int k;

	/* nginx applies its not_modified filter to what it caches only */
	if (!cr || !cr->has_cond || cr->fd < 0 || resp->status != 200)
		return 0;
	for (size_t i = 0; i < resp->nheaders; i++) {
		const struct h1_header *h = &resp->headers[i];

		if (!etag.len && H1_IS(h->name, "etag"))
			etag = (struct lstr){h->value.p, h->value.len};
		else if (!lm.len && H1_IS(h->name, "last-modified"))
			lm = (struct lstr){h->value.p, h->value.len};
	}
	k = cache_cond_eval(&cr->cond, 200, etag, lm, cr->cl->ims_mode);
	if (k == 412) { /* nginx ends the upstream request: nothing stored */
		tmp_drop(cr);
		cr->store = false;
		lock_release(cr);
	}
	return k;
}

bool cache_storing(const struct conn *c)
{
	return c->req.cache && c->req.cache->fd >= 0;
}

void cache_store_abort(struct conn *c)
{
	struct cache_req *cr = c->req.cache;

	if (!cr || cr->fd < 0)
		return;
	tmp_drop(cr);
	cr->store = false;
	lock_release(cr);
}

bool cache_head_as_get(const struct conn *c)
{
	return c->req.cache && c->req.cache->head_get;
}

int cache_stale_bit(int status)
{
	switch (status) {
	case 500:
		return CACHE_STALE_500;
	case 502:
		return CACHE_STALE_502;
	case 503:
		return CACHE_STALE_503;
	case 504:
		return CACHE_STALE_504;
	case 403:
		return CACHE_STALE_403;
	case 404:
		return CACHE_STALE_404;
	case 429:
		return CACHE_STALE_429;
	default:
		return 0;
	}
}

bool cache_has_stale(const struct conn *c, int status)
{
	const struct cache_req *cr = c->req.cache;

	return cr && cr->stale && (cr->cl->use_stale & cache_stale_bit(status));
}

bool cache_validators(const struct conn *c, struct lstr *ims, struct lstr *inm)
{
	const struct cache_req *cr = c->req.cache;

	if (!cr || (!cr->ims.len && !cr->inm.len))
		return false;
	*ims = cr->ims;
	*inm = cr->inm;
	return true;
}

bool cache_skip_request_header(const struct conn *c, struct h1_str n)
{
	/* nginx's header set with proxy_cache: the client's conditions and
	 * ranges would make the upstream answer something not storable */
	const struct cache_req *cr = c->req.cache;

	/* with proxy_cache $variable only a request the cache took (nginx's
	 * u->cacheable): an empty value passes them on */
	return (c->req.loc->cache.zc || (c->req.loc->cache.zvar && cr)) &&
	       !(cr && cr->range_pass) &&
	       (H1_IS(n, "if-modified-since") || H1_IS(n, "if-unmodified-since") ||
		H1_IS(n, "if-none-match") || H1_IS(n, "if-match") || H1_IS(n, "range") ||
		H1_IS(n, "if-range"));
}

bool cache_revalidated(struct conn *c, const struct h1_response *resp)
{
	struct cache_req *cr = c->req.cache;
	struct h1_response r2;
	int64_t now = wall_ms(), secs;
	char path[PATH_MAX];
	struct cache_stripe *s;
	struct cache_node *n, *slot;

	if (!cr || resp->status != 304 || (!cr->ims.len && !cr->inm.len))
		return false;
	/* the 304's own headers may set the validity; else proxy_cache_valid
	 * of the stored status */
	r2 = *resp;
	r2.status = cr->entry_status;
	secs = cache_validity(cr->cl, &r2, now / 1000);
	if (secs > 0) {
		int64_t exp = now + secs * 1000;
		int fd;

		zone_path_of(cr->z, cr->key, path, sizeof(path));
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			if (pwrite(fd, &exp, sizeof(exp), offsetof(struct cache_fhdr, expire_ms)) ==
			    (ssize_t)sizeof(exp)) {
				s = stripe_of(cr->z, cr->key);
				pthread_spin_lock(&s->lock);
				n = node_find(cr->z, s, cr->key, &slot);
				if (n)
					n->expire_ms = exp;
				pthread_spin_unlock(&s->lock);
			}
			close(fd);
		}
	}
	cr->stale = true;
	return true;
}

bool cache_serve_revalidated(struct conn *c)
{
	struct cache_req *cr = c->req.cache;

	tmp_drop(cr);
	return try_serve(cr, CACHE_ST_REVALIDATED);
}

bool cache_serve_stale(struct conn *c, int bit)
{
	struct cache_req *cr = c->req.cache;

	if (!cr || !cr->stale || !(cr->cl->use_stale & bit))
		return false;
	tmp_drop(cr);
	return try_serve(cr, CACHE_ST_STALE);
}

/* ---- control socket ---------------------------------------------------------------------- */

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
	struct cache_stripe *s = stripe_of(z, key);
	struct cache_node *n, *slot;
	bool had = false;

	pthread_spin_lock(&s->lock);
	n = node_find(z, s, key, &slot);
	if (n) {
		had = n->exists;
		node_drop(z, n);
	}
	pthread_spin_unlock(&s->lock);
	unlink_key(z, key);
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

/* ---- proxy_cache_background_update -------------------------------------------------------- */

#define CACHE_BG_MAX	 16    /* updates at once (process-wide); more fetch in the foreground */
#define CACHE_BG_BUF	 65536 /* receive buffer of an update */
#define CACHE_BG_HEADERS 100   /* upstream response headers read */

static _Atomic int bg_running;

/* struct cache_bg - one background update: the expired entry is fetched
 * again by a thread of its own (blocking I/O under the location's proxy
 * timeouts), off every worker's loop, while the entry's lock is held so
 * that other requests get it as UPDATING. */
struct cache_bg {
	struct cache_req cr;	/* its cache use (cr.c NULL, owner of the lock) */
	struct pool pool;	/* its memory */
	struct cfg *cfg;	/* a reference: cr.cl, cr.l, the group and the zone live in it */
	struct ups_server *srv; /* the server asked (ups_pick's slot) */
	struct lstr head;	/* the request head to send */
	bool no_cache;		/* proxy_no_cache, as the client's request said */
};

static void bg_timeouts(int fd, int64_t snd_ms, int64_t rcv_ms)
{
	struct timeval s = {snd_ms / 1000, (snd_ms % 1000) * 1000};
	struct timeval r = {rcv_ms / 1000, (rcv_ms % 1000) * 1000};

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &s, sizeof(s));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &r, sizeof(r));
}

/* bg_body - give body bytes [P, P+N) to the entry as framed by MODE
 * (0 none, 1 Content-Length with *REMAINING, 2 chunked with CH, 3 up to
 * the close). 1 = the body is complete, 0 = more to read, -1 = bad. */
static int bg_body(struct cache_req *cr, int mode, const char *p, size_t n, uint64_t *remaining,
		   struct h1_chunked *ch)
{
	if (mode == 1) {
		size_t k = (size_t)LBD_MIN((uint64_t)n, *remaining);

		tee_body(cr, p, k, false);
		*remaining -= k;
		return *remaining == 0;
	}
	if (mode == 3) {
		tee_body(cr, p, n, false);
		return 0;
	}
	while (n) {
		struct h1_str d;
		size_t used = 0;
		int rc = h1_parse_chunked(ch, p, n, &used, &d);

		if (rc == H1_CHUNK_DONE)
			return 1;
		if (rc == H1_INCOMPLETE)
			return 0;
		if (rc != H1_CHUNK_DATA || used == 0)
			return -1;
		tee_body(cr, d.p, d.len, false);
		p += used;
		n -= used;
	}
	return 0;
}

/* bg_recv - recv into P (CAP bytes) for an update; from a FastCGI server
 * (D not NULL) the records are decoded in place: the stdout bytes' count,
 * 0 at the end of stdout. -1 on an error or a broken stream. */
static ssize_t bg_recv(int fd, char *p, size_t cap, struct fcgi_dec *d)
{
	for (;;) {
		ssize_t n;
		long k;

		if (d && (d->ended || d->stdout_end))
			return 0;
		n = recv(fd, p, cap, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (!d || n <= 0)
			return n == 0 && d ? -1 : n; /* FastCGI: a close before its end */
		k = fcgi_decode(d, p, (size_t)n, NULL, NULL);
		if (k < 0)
			return -1;
		if (k > 0 || d->ended || d->stdout_end)
			return k;
	}
}

/* bg_fetch - the update's exchange with its server (HTTP; FastCGI for a
 * fastcgi_pass location, its CGI head read behind FCGI_HEAD_LINE as
 * proxy.c reads it; uwsgi or SCGI, whose answer is an HTTP head or a CGI
 * one, told apart by its first bytes): true when a response was read
 * whole (stored when it may be). */
static bool bg_fetch(struct cache_bg *bg)
{
	struct cache_req *cr = &bg->cr;
	const struct cfg_loc *l = cr->l;
	struct h1_header rh[CACHE_BG_HEADERS];
	struct h1_response resp = {0};
	struct h1_chunked ch;
	struct fcgi_dec fdec = {0}, *fd_dec = l->proxy && l->proxy->fastcgi ? &fdec : NULL;
	/* uwsgi, SCGI: the head's kind is not known yet */
	bool uw = l->proxy && (l->proxy->uwsgi || l->proxy->scgi), cgi = fd_dec != NULL;
	char *buf = pool_alloc(&bg->pool, CACHE_BG_BUF);
	size_t len = 0, limit = (size_t)LBD_MIN(l->proxy_buffer_size, (int64_t)CACHE_BG_BUF);
	uint64_t remaining = 0;
	int fd, rc = H1_INCOMPLETE, mode = 3, done = 0;
	const char *p = bg->head.p;
	size_t left = bg->head.len;

	if (!buf)
		return false;
	if (fd_dec || uw) { /* the status line's room (uwsgi: used by a CGI head) */
		memcpy(buf, FCGI_HEAD_LINE, FCGI_HEAD_LINE_LEN);
		len = FCGI_HEAD_LINE_LEN;
		limit = (size_t)LBD_MIN(l->proxy_buffer_size + FCGI_HEAD_LINE_LEN,
					(int64_t)CACHE_BG_BUF);
	}
	fd = socket(bg->srv->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return false;
	bg_timeouts(fd, l->proxy_connect_timeout, l->proxy_read_timeout);
	if (connect(fd, (struct sockaddr *)&bg->srv->addr, bg->srv->addrlen) == -1)
		goto fail;
	bg_timeouts(fd, l->proxy_send_timeout, l->proxy_read_timeout);
	while (left) {
		ssize_t w = send(fd, p, left, MSG_NOSIGNAL);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		p += w;
		left -= (size_t)w;
	}
	while (rc == H1_INCOMPLETE) {
		ssize_t n;

		if (len >= limit)
			goto fail; /* too big header */
		n = bg_recv(fd, buf + len, limit - len, fd_dec);
		if (n <= 0)
			goto fail;
		len += (size_t)n;
		if (uw) {
			enum uwsgi_head k =
				uwsgi_head_kind(buf + FCGI_HEAD_LINE_LEN, len - FCGI_HEAD_LINE_LEN);

			if (k == UWSGI_HEAD_MORE)
				continue;
			uw = false;
			cgi = k == UWSGI_HEAD_CGI;
			if (!cgi) { /* an HTTP head: the room goes */
				memmove(buf, buf + FCGI_HEAD_LINE_LEN, len - FCGI_HEAD_LINE_LEN);
				len -= FCGI_HEAD_LINE_LEN;
			}
		}
		for (;;) {
			resp.headers = rh;
			rc = h1_parse_response(buf, len, &resp, CACHE_BG_HEADERS);
			if (rc > 0 && cgi && fcgi_fix_status(&resp))
				goto fail;
			if (rc <= 0 || resp.status >= 200 || resp.status == 101)
				break;
			memmove(buf, buf + rc, len - (size_t)rc); /* an interim response */
			len -= (size_t)rc;
		}
		if (rc < 0 && rc != H1_INCOMPLETE)
			goto fail;
	}
	if (resp.status == 101)
		goto fail;
	for (size_t i = 0; i < resp.nheaders; i++) {
		if (H1_IS(rh[i].name, "transfer-encoding") && h1_te_is_chunked(rh[i].value))
			mode = 2;
		else if (mode != 2 && H1_IS(rh[i].name, "content-length") &&
			 h1_parse_content_length(rh[i].value, &remaining) == 0)
			mode = 1;
	}
	if (resp.status == 204 || resp.status == 304 || (mode == 1 && remaining == 0))
		mode = 0;
	if (mode == 2)
		h1_chunked_init(&ch);
	store_begin(cr, &resp, false, proxy_header_hidden, bg->no_cache);
	done = mode == 0 ? 1 : bg_body(cr, mode, buf + rc, len - (size_t)rc, &remaining, &ch);
	while (!done) {
		ssize_t n = bg_recv(fd, buf, CACHE_BG_BUF, fd_dec);

		if (n == 0 && mode == 3)
			done = 1;
		if (n <= 0)
			break;
		done = bg_body(cr, mode, buf, (size_t)n, &remaining, &ch);
	}
	close(fd);
	store_end(cr, done == 1);
	return done == 1;
fail:
	close(fd);
	return false;
}

static void *bg_main(void *arg)
{
	struct cache_bg *bg = arg;
	bool ok = bg_fetch(bg);

	if (!ok)
		log_emit(bg->cr.l->error_log, LOG_ERR,
			 "background cache update failed, upstream: \"%s\", key: \"%.*s\"",
			 bg->srv->name, (int)LBD_MIN(bg->cr.keytext.len, 256), bg->cr.keytext.p);
	if (bg->cr.fd >= 0)
		store_end(&bg->cr, false);
	lock_release(&bg->cr);
	ups_release_server(bg->srv, !ok, lbd_now_ms());
	cfg_unref(bg->cfg);
	pool_destroy(&bg->pool);
	free(bg);
	atomic_fetch_sub(&bg_running, 1);
	return NULL;
}

/* bg_start - start the background update of CR's expired entry, whose
 * lock CR holds: on success the update owns the lock. false = fetch in
 * the foreground (a body, no server, too many updates running). */
static bool bg_start(struct cache_req *cr)
{
	struct conn *c = cr->c;
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	struct ups_group *g;
	struct bal_ctx ctx = {0};
	struct cache_bg *bg = NULL;
	struct h1_header *hs;
	struct lstr head, k;
	pthread_attr_t at;
	pthread_t th;
	sigset_t all, old;
	char *m;
	int rc;

	if (!r->pp || !r->pp->group || r->body_kind != BODY_NONE || (r->head && !cr->head_get))
		return false;
	if (atomic_fetch_add(&bg_running, 1) >= CACHE_BG_MAX)
		goto fail;
	bg = calloc(1, sizeof(*bg));
	if (!bg)
		goto fail;
	pool_init(&bg->pool, 4096);
	if (proxy_request_head(c, &head))
		goto fail;
	/* what the thread needs of the request, copied: the client's
	 * request goes on (or away) meanwhile */
	m = pool_alloc(&bg->pool, head.len + cr->keytext.len + 1);
	hs = pool_alloc(&bg->pool, (r->h1.nheaders + 1) * sizeof(*hs));
	if (!m || !hs)
		goto fail;
	memcpy(m, head.p, head.len);
	bg->head = (struct lstr){m, head.len};
	memcpy(m + head.len, cr->keytext.p, cr->keytext.len);
	bg->cr.keytext = (struct lstr){m + head.len, cr->keytext.len};
	for (size_t i = 0; i < r->h1.nheaders; i++) {
		const struct h1_header *h = &req_hdrs(r)[i];
		char *n = pool_strndup(&bg->pool, h->name.p, h->name.len);
		char *v = pool_strndup(&bg->pool, h->value.p, h->value.len);

		if (!n || !v)
			goto fail;
		hs[i] = (struct h1_header){.name = {n, h->name.len}, .value = {v, h->value.len}};
	}
	bg->cr.z = cr->z;
	bg->cr.cl = cr->cl;
	bg->cr.l = l;
	bg->cr.pool = &bg->pool;
	bg->cr.hdrs = hs;
	bg->cr.nhdrs = r->h1.nheaders;
	bg->cr.fd = -1;
	bg->cr.store = true;
	bg->cr.owner = true;
	bg->cr.variant = cr->variant;
	bg->cr.status = CACHE_ST_EXPIRED;
	memcpy(bg->cr.key, cr->key, 16);
	memcpy(bg->cr.main_key, cr->main_key, 16);
	memcpy(bg->cr.lock_key, cr->lock_key, 16);
	bg->no_cache = any_set(c, cr->cl->no_cache, cr->cl->nno_cache);
	g = r->pp->group;
	ctx.client = (const struct sockaddr *)&c->peer;
	ctx.now_ms = lbd_now_ms();
	if (g->hash_key && cval_eval(g->hash_key, c, &k) == 0) {
		ctx.key = k.p;
		ctx.keylen = k.len;
	}
	bg->srv = ups_pick(g, &ctx);
	if (!bg->srv)
		goto fail;
	/* the lock lasts as long as the update may */
	{
		struct cache_stripe *s = stripe_of(cr->z, cr->lock_key);
		struct cache_node *n, *slot;

		pthread_spin_lock(&s->lock);
		n = node_find(cr->z, s, cr->lock_key, &slot);
		if (n)
			n->lock_until_ms = wall_ms() + l->proxy_connect_timeout +
					   l->proxy_send_timeout + l->proxy_read_timeout;
		pthread_spin_unlock(&s->lock);
	}
	bg->cfg = c->cfg;
	cfg_ref(bg->cfg);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	sigfillset(&all); /* the process's signals stay with its main thread */
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&th, &at, bg_main, bg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&at);
	if (rc) {
		ups_release_server(bg->srv, false, lbd_now_ms());
		cfg_unref(bg->cfg);
		goto fail;
	}
	cr->owner = false; /* the update holds the lock now */
	return true;
fail:
	if (bg) {
		pool_destroy(&bg->pool);
		free(bg);
	}
	atomic_fetch_sub(&bg_running, 1);
	return false;
}
