/* SPDX-License-Identifier: MIT */
/*
 * Proxy cache: shared zones with their on-disk entries, the cache manager
 * (inactive, max_size) and what lbctl asks (cache_zone.c); the
 * request-side decisions (HIT, MISS, BYPASS, EXPIRED, STALE, UPDATING,
 * proxy_cache_lock; cache.c); the response-side tee into a temp file
 * renamed into place (cache_store.c); conditions and Vary (cache_cond.c).
 */
#ifndef LBD_CACHE_H
#define LBD_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cache-t.h"
#include "h1.h"
#include "lbd.h"

struct conn;
struct cfg_loc;

/* ---- zones (configuration time, main thread) ---- */

/* cache_zone_get - the shared zone for ZC: the one of that name already
 * running (a reload keeps the index warm) or a new one, whose index is
 * rebuilt from the files under its path and whose manager thread starts.
 * 0, or -errno with a message in ERR. */
int cache_zone_get(const struct cache_zone_conf *zc, struct cache_zone **out, char *err,
		   size_t errlen);
/* cache_zone_put - drop a reference; the last one stops the manager. */
void cache_zone_put(struct cache_zone *z);
/* cache_chown_all - give every zone's directory tree to UID:GID (before the
 * privilege drop). 0 or -errno of the first failure. */
int cache_chown_all(uid_t uid, gid_t gid);

/* ---- request path (worker threads) ---- */

/* cache_start - run the cache for a request to a proxy_cache location:
 * false = go to the upstream (c->req.cache says whether to store), true =
 * answered from the cache, or waiting on proxy_cache_lock (RESUME(c) is
 * called when the wait ends, the cache then decided), or finalized with
 * 500 (proxy_cache $variable naming no zone). */
bool cache_start(struct conn *c, void (*resume)(struct conn *c));
/* cache_req_cleanup - the request is going away: stop a wait, drop a
 * half-written entry, give the lock back. */
void cache_req_cleanup(struct conn *c);
/* cache_status_name - $upstream_cache_status text, NULL for none. */
const char *cache_status_name(int status);
/* cache_status_of - C's $upstream_cache_status, NULL when not cached. */
const char *cache_status_of(const struct conn *c);

/* cache_hidden_fn - whether the proxy hides response header NAME. */
typedef bool (*cache_hidden_fn)(const struct cfg_loc *l, struct h1_str name);
/* cache_store_begin - the upstream response head arrived: decide whether
 * it may be stored (status, validity headers, proxy_no_cache) and if so
 * open the temp file holding the head. Never fails the request. */
void cache_store_begin(struct conn *c, const struct h1_response *resp, bool head_only,
		       cache_hidden_fn hidden);
/* cache_tee - body bytes as relayed to the client; RAW_CHUNKED: still in
 * chunked framing (decoded here). A write error drops the entry only. */
void cache_tee(struct conn *c, const char *p, size_t n, bool raw_chunked);

/* cache_write_all - N bytes at P written to FD whole: 0 or write(2)'s errno
 * (ENOSPC for a write of nothing). */
int cache_write_all(int fd, const void *p, size_t n);

/* cache_body_tee - N bytes at P of an upstream body written to FD, decoded
 * first when CHUNKED (CH: the decoder's state across calls); *WRITTEN
 * counts the body bytes written. 0, write(2)'s errno, or -1 for a
 * framing error. (The cache's files and proxy_store's.) */
int cache_body_tee(int fd, struct h1_chunked *ch, const char *p, size_t n, bool chunked,
		   uint64_t *written);
/* cache_store_end - the response ended: COMPLETE renames the entry into
 * place, else it is dropped. */
void cache_store_end(struct conn *c, bool complete);
/* cache_serve_stale - the upstream failed (STALE_BIT, a CACHE_STALE_* bit):
 * answer from the expired entry when proxy_cache_use_stale allows it. true
 * = answered. */
bool cache_serve_stale(struct conn *c, int stale_bit);
/* cache_validators - proxy_cache_revalidate: the If-Modified-Since and
 * If-None-Match values (either may be empty) to send for C's expired
 * entry; false when there are none. */
bool cache_validators(const struct conn *c, struct lstr *ims, struct lstr *inm);
/* cache_skip_request_header - whether client header NAME is not passed
 * upstream because C's location caches (conditions and ranges). */
bool cache_skip_request_header(const struct conn *c, struct h1_str name);
/* cache_revalidated - RESP is the upstream's 304 to C's revalidation: the
 * entry's validity is renewed; true = answer with cache_serve_revalidated()
 * once the upstream is released. */
bool cache_revalidated(struct conn *c, const struct h1_response *resp);
/* cache_serve_revalidated - answer C from its entry as REVALIDATED. */
bool cache_serve_revalidated(struct conn *c);
/* cache_conditional - the upstream's RESP is being stored for C: nginx's
 * not_modified filter against the client's conditions. 0 = send it, 304 =
 * send the head as a 304 (the body still goes to the cache, not to the
 * client), 412 = answer 412 (the entry is dropped). */
int cache_conditional(struct conn *c, const struct h1_response *resp);
/* cache_storing - whether C's upstream answer is being written to the
 * cache (nginx's u->cacheable, as the range filter asks it). */
bool cache_storing(const struct conn *c);
/* cache_store_abort - C's answer will not be sent (a 416): the entry being
 * written is dropped, as for a 412. */
void cache_store_abort(struct conn *c);
/* cache_head_as_get - whether C's HEAD goes upstream as GET
 * (proxy_cache_convert_head): the body goes to the cache only. */
bool cache_head_as_get(const struct conn *c);
/* cache_stale_bit - the CACHE_STALE_* bit of an upstream STATUS, or 0. */
int cache_stale_bit(int status);
/* cache_has_stale - whether a response of STATUS would be replaced by an
 * expired entry (proxy_cache_use_stale http_NNN, entry on disk). */
bool cache_has_stale(const struct conn *c, int status);

/* ---- control socket (main thread) ---- */

/* struct cache_stats - one zone's figures for `lbctl cache list`. */
struct cache_stats {
	char path[256];	    /* directory */
	uint64_t size;	    /* bytes on disk in entries */
	uint64_t max_size;  /* 0 = unlimited */
	uint64_t entries;   /* complete entries */
	uint64_t slots;	    /* index capacity (keys_zone) */
	uint64_t hits;	    /* HIT, UPDATING answers */
	uint64_t misses;    /* MISS, EXPIRED, BYPASS (and STALE: the upstream was tried) */
	uint64_t stores;    /* entries written */
	uint64_t store_err; /* entries dropped on a write error */
};

/* cache_zone_stats - figures of zone NAME. 0, or -ENOENT. */
int cache_zone_stats(const char *name, struct cache_stats *out);
/* cache_zone_names - call FN for each running zone (newest first). */
void cache_zone_names(void (*fn)(const char *name, void *arg), void *arg);
/* cache_purge - remove the entry of KEY from zone NAME, or every entry
 * whose key starts with KEY when PREFIX. Returns entries removed, or
 * -ENOENT for an unknown zone. */
long cache_purge(const char *name, const char *key, size_t keylen, bool prefix);

/* ---- pieces, exported for the unit tests ---- */

/* cache_md5 - RFC 1321 MD5 of [P, P+N). */
void cache_md5(const void *p, size_t n, uint8_t out[16]);
/* cache_entry_path - nginx's layout: ROOT/<levels taken from the end of the
 * hex digest>/<hex>. Bytes written (without NUL), or -ENAMETOOLONG. */
int cache_entry_path(char *dst, size_t dstlen, const char *root, const int *levels, int nlevels,
		     const uint8_t md5[16]);

/* struct cache_cc - what Cache-Control says about storing. */
struct cache_cc {
	bool no_store;	/* no-cache, no-store or private */
	int64_t maxage; /* s-maxage, else max-age; -1 = none */
};
/* cache_parse_cc - parse a Cache-Control value into OUT (accumulates). */
void cache_parse_cc(const char *p, size_t n, struct cache_cc *out);
/* cache_validity - seconds to keep a response: from X-Accel-Expires,
 * Cache-Control, Expires (unless ignored), else proxy_cache_valid. -1 =
 * do not store. NOW is wall-clock seconds. */
int64_t cache_validity(const struct cache_loc *cl, const struct h1_response *resp, int64_t now);

/* ---- conditions and variants (cache_cond.c) ---- */

/* struct cache_cond - a request's conditional headers (len 0 = absent). */
struct cache_cond {
	struct lstr inm; /* If-None-Match */
	struct lstr ims; /* If-Modified-Since */
	struct lstr im;	 /* If-Match */
	struct lstr ius; /* If-Unmodified-Since */
};

/* cache_cond_of - the conditional headers among request headers H[0..N). */
void cache_cond_of(const struct h1_header *h, size_t n, struct cache_cond *q);
/* cache_etag_match - whether entity tag ETAG is in LIST (an If-Match or
 * If-None-Match value: "*" or a comma list); WEAK ignores W/ on both. */
bool cache_etag_match(struct lstr list, struct lstr etag, bool weak);
/* cache_cond_eval - nginx's not_modified filter: a response of STATUS with
 * ETAG and LAST_MODIFIED (either may be empty) to a request with
 * conditions Q: 0 = send it as is, 304, or 412. IMS_MODE: CACHE_IMS_*. */
int cache_cond_eval(const struct cache_cond *q, int status, struct lstr etag, struct lstr lm,
		    int ims_mode);
/* cache_304_drops - whether a response header NAME is left off a 304. */
bool cache_304_drops(struct h1_str name);
/* cache_vary_star - whether a Vary value contains "*" (never stored). */
bool cache_vary_star(struct lstr vary);
/* cache_variant_key - the key of one variant: MD5 of the main key MAIN,
 * then each header named in VARY (lowercased) with the request's values of
 * it (REQ[0..NREQ), all of them in order, absent = empty). SCRATCH holds
 * CAP bytes of work space. 0, or -1 for "*" or a variant too long. */
int cache_variant_key(const uint8_t main[16], struct lstr vary, const struct h1_header *req,
		      size_t nreq, char *scratch, size_t cap, uint8_t out[16]);

#endif
