/* SPDX-License-Identifier: MIT */
/*
 * Proxy cache, storing a response: how long it may be kept (X-Accel-Expires,
 * Cache-Control, Expires, Set-Cookie, Vary, then proxy_cache_valid), and
 * writing it into its zone.
 *
 * Writing: the response head and body are written to a temp file beside
 * the entry while they are relayed (a write is to the page cache; the
 * client's bytes leave whatever happens to the file), the header is
 * completed and the file renamed into place once the body ended. A write
 * error (ENOSPC, EIO) drops the entry only, logged once per
 * CACHE_ERR_LOG_MS per zone. A response with Vary is stored as the
 * request's variant, and a stub naming the Vary list goes to the main key.
 *
 * proxy_cache_background_update's thread fetches an expired entry again
 * and stores it the same way, off the request path.
 */
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
#include <unistd.h>

#include "cache.h"
#include "cache_int.h"
#include "cfg-t.h"
#include "cfg.h"
#include "fastcgi.h"
#include "http.h"
#include "log.h"
#include "pool.h"
#include "ups.h"
#include "uwsgi.h"
#include "var.h"
#include "worker.h"

#define CACHE_ERR_LOG_MS 10000 /* one write-error line per zone per 10 s */
#define CACHE_VARY_MAX	 128   /* nginx's NGX_HTTP_CACHE_VARY_LEN */

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

/* ---- writing an entry -------------------------------------------------------------------- */

/* write_err - drop the entry after a failed write; log once per interval. */
static void write_err(struct cache_req *cr, int err)
{
	struct cache_zone *z = cr->z;
	int64_t now = cache_wall_ms(), last = atomic_load(&z->err_logged_ms);

	cache_tmp_drop(cr);
	cr->store = false;
	cache_lock_release(cr);
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
	now = cache_wall_ms();
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
		if (!cache_variant_of(cr, cr->vary))
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
		if (cache_mkdirs(path) == 0)
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
	cache_lock_release(cr);
}

void cache_store_begin(struct conn *c, const struct h1_response *resp, bool head_only,
		       cache_hidden_fn hidden)
{
	struct cache_req *cr = c->req.cache;

	if (cr && cr->store)
		store_begin(cr, resp, head_only, hidden,
			    cache_any_set(c, cr->cl->no_cache, cr->cl->nno_cache));
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
		cache_tmp_drop(cr);
		cache_lock_release(cr);
	}
}

/* node_put - KEY's node now describes a complete file of FSIZE bytes
 * (STUB: a Vary stub); its update lock is released. false when the index
 * has no room for it. */
static bool node_put(struct cache_zone *z, const uint8_t key[16], int64_t expire_ms, uint64_t fsize,
		     int64_t now_ms, bool stub)
{
	struct cache_stripe *s = cache_stripe_of(z, key);
	struct cache_node *n;
	uint8_t ev[16];
	bool evicted, had;
	uint64_t old;

	pthread_spin_lock(&s->lock);
	n = cache_node_get(z, s, key, ev, &evicted);
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
		cache_unlink_key(z, ev);
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

	cache_zone_path_of(cr->z, cr->main_key, path, sizeof(path));
	if (!path[0])
		return;
	snprintf(tmp, sizeof(tmp), "%s.%llu.tmp", path,
		 (unsigned long long)atomic_fetch_add(&cr->z->tmp_seq, 1));
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 && errno == ENOENT) {
		*strrchr(path, '/') = '\0';
		if (cache_mkdirs(path))
			return;
		cache_zone_path_of(cr->z, cr->main_key, path, sizeof(path));
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
		cache_tmp_drop(cr);
		cache_lock_release(cr);
		return;
	}
	memcpy(h.magic, CACHE_MAGIC, 8);
	memcpy(h.key, cr->key, 16);
	h.expire_ms = cr->expire_ms;
	h.stored_ms = cache_wall_ms();
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
	cache_zone_path_of(cr->z, cr->key, path, sizeof(path));
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
	cache_lock_release(cr); /* the main key's lock, when the entry went to a variant */
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
		cache_tmp_drop(cr);
		cr->store = false;
		cache_lock_release(cr);
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
	cache_tmp_drop(cr);
	cr->store = false;
	cache_lock_release(cr);
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
	cache_lock_release(&bg->cr);
	ups_release_server(bg->srv, !ok, lbd_now_ms());
	cfg_unref(bg->cfg);
	pool_destroy(&bg->pool);
	free(bg);
	atomic_fetch_sub(&bg_running, 1);
	return NULL;
}

/* cache_bg_start - start the background update of CR's expired entry, whose
 * lock CR holds: on success the update owns the lock. false = fetch in
 * the foreground (a body, no server, too many updates running). */
bool cache_bg_start(struct cache_req *cr)
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
	bg->no_cache = cache_any_set(c, cr->cl->no_cache, cr->cl->nno_cache);
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
		struct cache_stripe *s = cache_stripe_of(cr->z, cr->lock_key);
		struct cache_node *n, *slot;

		pthread_spin_lock(&s->lock);
		n = cache_node_find(cr->z, s, cr->lock_key, &slot);
		if (n)
			n->lock_until_ms = cache_wall_ms() + l->proxy_connect_timeout +
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
