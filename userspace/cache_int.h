/* SPDX-License-Identifier: MIT */
/*
 * Private to the proxy cache (cache.c, cache_zone.c, cache_store.c): the
 * layout of a zone's index and of an entry file, one request's use of the
 * cache, and the functions one part calls in another. Each function's
 * comment is at its definition. Not for other modules: their interface is
 * cache.h.
 */
#ifndef LBD_CACHE_INT_H
#define LBD_CACHE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "http.h"

#define CACHE_STRIPES  64
#define CACHE_HEAD_MAX 65536 /* bytes of a stored head */
#define CACHE_MAGIC    "LBDCACH1"
#define CACHE_F_VARY   1 /* fhdr flags: the main entry of a Vary response (a stub) */

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

/* cache_wall_ms - the wall clock in ms: entries keep their times across restarts. */
static inline int64_t cache_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* cache_stripe_of - the stripe of Z's index that holds KEY. */
static inline struct cache_stripe *cache_stripe_of(struct cache_zone *z, const uint8_t key[16])
{
	return &z->stripes[key[0] % CACHE_STRIPES];
}

/* cache_zone_path_of - the path of KEY's entry file in Z, or "" when too long. */
static inline void cache_zone_path_of(struct cache_zone *z, const uint8_t key[16], char *dst,
				      size_t len)
{
	if (cache_entry_path(dst, len, z->path, z->levels, z->nlevels, key) < 0)
		dst[0] = '\0';
}

/* cache_tmp_drop - close and remove the temp file CR is writing, if any. */
static inline void cache_tmp_drop(struct cache_req *cr)
{
	if (cr->fd >= 0) {
		close(cr->fd);
		unlink(cr->tmp);
	}
	cr->fd = -1;
}

/* cache_zone.c */
struct cache_node *cache_node_find(struct cache_zone *z, struct cache_stripe *s,
				   const uint8_t key[16], struct cache_node **slot);
struct cache_node *cache_node_get(struct cache_zone *z, struct cache_stripe *s,
				  const uint8_t key[16], uint8_t evicted[16], bool *did_evict);
void cache_unlink_key(struct cache_zone *z, const uint8_t key[16]);
int cache_mkdirs(const char *path);

/* cache.c */
void cache_lock_release(struct cache_req *cr);
bool cache_any_set(struct conn *c, const struct cval *v, int n);
bool cache_variant_of(struct cache_req *cr, struct lstr vary);

/* cache_store.c */
bool cache_bg_start(struct cache_req *cr);

#endif
