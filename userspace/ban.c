/* SPDX-License-Identifier: MIT */
/*
 * The ban list (see include/ban.h): CIDR parsing, the ban_list file, the
 * store (the XDP guard's pinned LPM tries, or lbd's own table without
 * BPF) and the snapshot that workers check at accept time.
 *
 * The snapshot is an immutable array sorted by prefix length (longest
 * first) and address, so a lookup is one binary search per distinct
 * prefix length. Writers build a new snapshot under `mu` and swap the
 * pointer; readers announce themselves in `readers` around their lookup,
 * and a writer frees the old snapshot only once it has seen no reader
 * after the swap (a reader that came after the swap sees the new one).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "ban.h"
#include "log.h"

/* struct snap_ent - one entry of a snapshot. */
struct snap_ent {
	struct ban_cidr c;	   /* network (host bits zero) */
	struct lb_ban_val v;	   /* mirror of the map value (no live XDP hits) */
	_Atomic uint64_t acc_hits; /* connections refused at accept time */
};

/* struct snap - an immutable, sorted set of entries. */
struct snap {
	struct snap_ent *v; /* sorted: plen descending, then address */
	int n;		    /* entries */
	int ngroups;	    /* distinct prefix lengths */
	uint8_t glen[129];  /* prefix length of each group */
	int gstart[130];    /* first entry of each group; gstart[ngroups] = n */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* writers */
static _Atomic(struct snap *) cur_bans;		       /* bans in force */
static _Atomic(struct snap *) cur_allow;	       /* xdp_allow */
static _Atomic int readers;			       /* workers inside a lookup */
static _Atomic bool any_bans;			       /* cur_bans is not empty */
static int map4 = -1, map6 = -1;		       /* the XDP tries, or -1 */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- CIDRs ------------------------------------------------------------------ */

static void mask_addr(uint8_t *a, int plen)
{
	for (int i = 0; i < 16; i++) {
		int bits = plen - i * 8;

		if (bits >= 8)
			continue;
		a[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int ban_cidr_parse(const char *s, struct ban_cidr *out, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	struct ban_cidr c = {0};
	uint8_t check[16];
	long plen = -1;

	if (hl == 0 || hl >= sizeof(host))
		goto bad;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (slash) {
		char *end;

		if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
			goto bad;
		plen = strtol(slash + 1, &end, 10);
		if (*end)
			goto bad;
	}
	if (inet_pton(AF_INET, host, c.addr + 12) == 1) {
		memcpy(c.addr, v4mapped, 12);
		if (plen > 32)
			goto bad;
		c.plen = (uint8_t)(96 + (plen < 0 ? 32 : plen));
		c.v4 = true;
	} else if (inet_pton(AF_INET6, host, c.addr) == 1) {
		if (plen > 128)
			goto bad;
		c.plen = (uint8_t)(plen < 0 ? 128 : plen);
		/* ::ffff:a.b.c.d/N (N >= 96) is the IPv4 network it maps */
		c.v4 = memcmp(c.addr, v4mapped, 12) == 0 && c.plen >= 96;
	} else {
		goto bad;
	}
	memcpy(check, c.addr, 16);
	mask_addr(check, c.plen);
	if (memcmp(check, c.addr, 16) != 0) {
		struct ban_cidr m = c;
		char want[64];

		memcpy(m.addr, check, 16);
		ban_cidr_format(&m, want, sizeof(want));
		snprintf(err, errlen, "\"%s\" has host bits set (the network is %s%s)", s, want,
			 strchr(want, '/') ? "" : (m.v4 ? "/32" : "/128"));
		return -EINVAL;
	}
	*out = c;
	return 0;
bad:
	snprintf(err, errlen, "invalid address or CIDR \"%s\"", s);
	return -EINVAL;
}

void ban_cidr_format(const struct ban_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (c->v4) {
		inet_ntop(AF_INET, c->addr + 12, a, sizeof(a));
		if (c->plen == 128)
			snprintf(buf, len, "%s", a);
		else
			snprintf(buf, len, "%s/%d", a, c->plen - 96);
		return;
	}
	inet_ntop(AF_INET6, c->addr, a, sizeof(a));
	if (c->plen == 128)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%d", a, c->plen);
}

bool ban_cidr_of(const struct sockaddr_storage *ss, struct ban_cidr *out)
{
	memset(out, 0, sizeof(*out));
	out->plen = 128;
	if (ss->ss_family == AF_INET) {
		memcpy(out->addr, v4mapped, 12);
		memcpy(out->addr + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		out->v4 = true;
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		memcpy(out->addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		out->v4 = memcmp(out->addr, v4mapped, 12) == 0;
		return true;
	}
	return false;
}

const char *ban_origin_name(uint32_t origin)
{
	switch (origin) {
	case LB_BAN_FILE:
		return "file";
	case LB_BAN_AUTO:
		return "fail2ban";
	default:
		return "lbctl";
	}
}

/* ---- the ban_list file ------------------------------------------------------ */

void ban_file_free(struct ban_file_ent *v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i].reason);
	free(v);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int ban_file_parse(const char *path, struct ban_file_ent **out, int *n, char *err, size_t errlen)
{
	struct ban_file_ent *v = NULL;
	int cnt = 0, cap = 0, lineno = 0, rc = 0;
	char *line = NULL;
	size_t lcap = 0;
	FILE *f = fopen(path, "re");

	*out = NULL;
	*n = 0;
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "open() \"%s\" failed (%d: %s)", path, errno,
			 strerror(errno));
		return rc;
	}
	while (getline(&line, &lcap, f) != -1) {
		char *hash, *word, *reason = NULL, msg[160];
		struct ban_cidr c;

		lineno++;
		hash = strchr(line, '#');
		if (hash) {
			*hash = '\0';
			reason = trim(hash + 1);
		}
		word = trim(line);
		if (!*word)
			continue;
		if (strpbrk(word, " \t")) {
			snprintf(err, errlen, "%s:%d: one CIDR per line, got \"%s\"", path, lineno,
				 word);
			rc = -EINVAL;
			break;
		}
		if (ban_cidr_parse(word, &c, msg, sizeof(msg))) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
			rc = -EINVAL;
			break;
		}
		if (cnt == cap) {
			struct ban_file_ent *nv;

			cap = cap ? cap * 2 : 64;
			nv = realloc(v, (size_t)cap * sizeof(*v));
			if (!nv) {
				rc = -ENOMEM;
				snprintf(err, errlen, "%s: out of memory", path);
				break;
			}
			v = nv;
		}
		v[cnt].cidr = c;
		v[cnt].reason = reason && *reason ? strdup(reason) : NULL;
		cnt++;
		if (cnt > 2 * BAN_MAX) {
			snprintf(err, errlen, "%s:%d: more than %d entries", path, lineno,
				 2 * BAN_MAX);
			rc = -ENOSPC;
			break;
		}
	}
	free(line);
	fclose(f);
	if (rc) {
		ban_file_free(v, cnt);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- snapshots ---------------------------------------------------------------- */

static int ent_cmp(const void *pa, const void *pb)
{
	const struct snap_ent *a = pa, *b = pb;

	if (a->c.plen != b->c.plen)
		return (int)b->c.plen - (int)a->c.plen;
	return memcmp(a->c.addr, b->c.addr, 16);
}

/* snap_build - a snapshot of V[0..N) (copied; sorted here). NULL on OOM. */
static struct snap *snap_build(const struct snap_ent *v, int n)
{
	struct snap *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->v = calloc(n ? (size_t)n : 1, sizeof(*s->v));
	if (!s->v) {
		free(s);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		s->v[i].c = v[i].c;
		s->v[i].v = v[i].v;
		atomic_init(&s->v[i].acc_hits,
			    atomic_load_explicit(&v[i].acc_hits, memory_order_relaxed));
	}
	s->n = n;
	qsort(s->v, (size_t)n, sizeof(*s->v), ent_cmp);
	for (int i = 0; i < n; i++) {
		if (i == 0 || s->v[i].c.plen != s->v[i - 1].c.plen) {
			s->glen[s->ngroups] = s->v[i].c.plen;
			s->gstart[s->ngroups++] = i;
		}
	}
	s->gstart[s->ngroups] = n;
	return s;
}

static void snap_free(struct snap *s)
{
	if (s)
		free(s->v);
	free(s);
}

/* snap_find - the entry for exactly C, or NULL. */
static struct snap_ent *snap_find(struct snap *s, const struct ban_cidr *c)
{
	struct snap_ent key = {.c = *c};

	if (!s || !s->n)
		return NULL;
	return bsearch(&key, s->v, (size_t)s->n, sizeof(*s->v), ent_cmp);
}

/* snap_match - the longest live entry containing ADDR (16 bytes), or NULL. */
static struct snap_ent *snap_match(struct snap *s, const uint8_t *addr, uint64_t now)
{
	for (int g = 0; s && g < s->ngroups; g++) {
		struct snap_ent key = {.c.plen = s->glen[g]}, *e;
		int lo = s->gstart[g];

		memcpy(key.c.addr, addr, 16);
		mask_addr(key.c.addr, key.c.plen);
		e = bsearch(&key, s->v + lo, (size_t)(s->gstart[g + 1] - lo), sizeof(*s->v),
			    ent_cmp);
		if (e && (!e->v.expires_ns || now < e->v.expires_ns))
			return e;
	}
	return NULL;
}

/* publish - make S the snapshot in *SLOT and free the one it replaces once
 * no worker can still be reading it. Called with mu held. */
static void publish(_Atomic(struct snap *) *slot, struct snap *s)
{
	struct snap *old = atomic_exchange(slot, s);

	if (slot == &cur_bans)
		atomic_store(&any_bans, s && s->n > 0);
	while (atomic_load(&readers) != 0)
		sched_yield(); /* a lookup is a few binary searches */
	snap_free(old);
}

/* with_change - publish the current bans plus ADD (may be NULL) minus the
 * entry equal to DEL (may be NULL). Called with mu held. */
static int with_change(const struct snap_ent *add, const struct ban_cidr *del)
{
	struct snap *s = atomic_load(&cur_bans), *ns;
	int n = s ? s->n : 0, k = 0;
	struct snap_ent *v = calloc((size_t)n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		if (del && ent_cmp(&s->v[i], &(struct snap_ent){.c = *del}) == 0)
			continue;
		if (add && ent_cmp(&s->v[i], add) == 0)
			continue;
		v[k].c = s->v[i].c;
		v[k].v = s->v[i].v;
		atomic_init(&v[k].acc_hits,
			    atomic_load_explicit(&s->v[i].acc_hits, memory_order_relaxed));
		k++;
	}
	if (add) {
		v[k].c = add->c;
		v[k].v = add->v;
		atomic_init(&v[k].acc_hits, 0);
		k++;
	}
	ns = snap_build(v, k);
	free(v);
	if (!ns)
		return -ENOMEM;
	publish(&cur_bans, ns);
	return 0;
}

/* ---- the store ------------------------------------------------------------------ */

/* map_key - the trie and key for C: returns the fd and fills K4 or K6. */
bool ban_cidr_key(const struct ban_cidr *c, struct lb_lpm4_key *k4, struct lb_lpm6_key *k6)
{
	if (c->v4) {
		k4->prefixlen = c->plen - 96u;
		memcpy(&k4->addr, c->addr + 12, 4);
		return true;
	}
	k6->prefixlen = c->plen;
	memcpy(k6->addr, c->addr, 16);
	return false;
}

static int map_key(const struct ban_cidr *c, struct lb_lpm4_key *k4, struct lb_lpm6_key *k6,
		   void **key)
{
	bool v4 = ban_cidr_key(c, k4, k6);

	*key = v4 ? (void *)k4 : (void *)k6;
	return v4 ? map4 : map6;
}

void ban_cidr_of_key4(const struct lb_lpm4_key *k, struct ban_cidr *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->addr, v4mapped, 12);
	memcpy(c->addr + 12, &k->addr, 4);
	c->plen = (uint8_t)(96 + k->prefixlen);
	c->v4 = true;
}

void ban_cidr_of_key6(const struct lb_lpm6_key *k, struct ban_cidr *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->addr, k->addr, 16);
	c->plen = (uint8_t)k->prefixlen;
}

/* map_each - every entry of the tries, through FN. */
static int map_each(int (*fn)(const struct ban_cidr *c, const struct lb_ban_val *v, void *arg),
		    void *arg)
{
	struct lb_lpm4_key k4, n4;
	struct lb_lpm6_key k6, n6;
	struct lb_ban_val v;
	struct ban_cidr c;
	int cnt = 0;

	if (map4 >= 0 && bpf_map_get_next_key(map4, NULL, &k4) == 0) {
		for (bool more = true; more; k4 = n4) {
			more = bpf_map_get_next_key(map4, &k4, &n4) == 0;
			if (bpf_map_lookup_elem(map4, &k4, &v))
				continue;
			ban_cidr_of_key4(&k4, &c);
			cnt++;
			if (fn(&c, &v, arg))
				return cnt;
		}
	}
	if (map6 >= 0 && bpf_map_get_next_key(map6, NULL, &k6) == 0) {
		for (bool more = true; more; k6 = n6) {
			more = bpf_map_get_next_key(map6, &k6, &n6) == 0;
			if (bpf_map_lookup_elem(map6, &k6, &v))
				continue;
			ban_cidr_of_key6(&k6, &c);
			cnt++;
			if (fn(&c, &v, arg))
				return cnt;
		}
	}
	return cnt;
}

/* struct collect - entries gathered from the maps. */
struct collect {
	struct snap_ent *v;
	int n, cap;
};

static int collect_one(const struct ban_cidr *c, const struct lb_ban_val *v, void *arg)
{
	struct collect *col = arg;

	if (col->n == col->cap) {
		int cap = col->cap ? col->cap * 2 : 256;
		struct snap_ent *nv = realloc(col->v, (size_t)cap * sizeof(*nv));

		if (!nv)
			return 1;
		col->v = nv;
		col->cap = cap;
	}
	memset(&col->v[col->n], 0, sizeof(col->v[col->n]));
	col->v[col->n].c = *c;
	col->v[col->n].v = *v;
	col->n++;
	return 0;
}

void ban_use_maps(int fd4, int fd6)
{
	struct collect col = {0};
	struct snap *s;

	pthread_mutex_lock(&mu);
	map4 = fd4;
	map6 = fd6;
	if (map4 >= 0 || map6 >= 0) {
		/* bans already in the tries (a restart, bpftool) are in force */
		map_each(collect_one, &col);
		s = snap_build(col.v, col.n);
		free(col.v);
		if (s)
			publish(&cur_bans, s);
	}
	pthread_mutex_unlock(&mu);
}

static int add_locked(const struct ban_cidr *c, int64_t ttl_ms, const char *reason,
		      enum lb_ban_origin origin)
{
	struct snap *s = atomic_load(&cur_bans);
	struct snap_ent e = {.c = *c}, *old = snap_find(s, c);
	uint64_t now = mono_ns();

	e.v.expires_ns = ttl_ms > 0 ? now + (uint64_t)ttl_ms * 1000000ull : 0;
	e.v.added_unix = (uint64_t)time(NULL);
	e.v.origin = origin;
	if (reason)
		snprintf(e.v.reason, sizeof(e.v.reason), "%s", reason);
	/* an entry whose TTL ran out but not yet lifted is replaced */
	if (old && (!old->v.expires_ns || now < old->v.expires_ns))
		return -EEXIST;
	if (!old && s && s->n >= 2 * BAN_MAX)
		return -ENOSPC;
	if (map4 >= 0 || map6 >= 0) {
		struct lb_lpm4_key k4;
		struct lb_lpm6_key k6;
		void *key;
		int fd = map_key(c, &k4, &k6, &key);

		if (bpf_map_update_elem(fd, key, &e.v, old ? BPF_ANY : BPF_NOEXIST)) {
			if (errno == EEXIST) {
				struct lb_ban_val cur;

				/* added behind our back (bpftool): live unless expired */
				if (bpf_map_lookup_elem(fd, key, &cur) == 0 &&
				    (!cur.expires_ns || now < cur.expires_ns))
					return -EEXIST;
				if (bpf_map_update_elem(fd, key, &e.v, BPF_ANY) == 0)
					goto ok;
			}
			return errno == E2BIG || errno == ENOSPC ? -ENOSPC : -errno;
		}
	} else if (!old && s) {
		int fam = 0;

		for (int i = 0; i < s->n; i++)
			fam += s->v[i].c.v4 == c->v4;
		if (fam >= BAN_MAX)
			return -ENOSPC;
	}
ok:
	return with_change(&e, NULL);
}

int ban_add(const struct ban_cidr *c, int64_t ttl_ms, const char *reason, enum lb_ban_origin origin)
{
	int rc;

	pthread_mutex_lock(&mu);
	rc = add_locked(c, ttl_ms, reason, origin);
	pthread_mutex_unlock(&mu);
	return rc;
}

static int del_locked(const struct ban_cidr *c)
{
	bool had = snap_find(atomic_load(&cur_bans), c) != NULL;

	if (map4 >= 0 || map6 >= 0) {
		struct lb_lpm4_key k4;
		struct lb_lpm6_key k6;
		void *key;
		int fd = map_key(c, &k4, &k6, &key);

		if (bpf_map_delete_elem(fd, key) == 0)
			had = true;
		else if (errno != ENOENT)
			return -errno;
	}
	if (!had)
		return -ENOENT;
	return with_change(NULL, c);
}

int ban_del(const struct ban_cidr *c)
{
	int rc;

	pthread_mutex_lock(&mu);
	rc = del_locked(c);
	pthread_mutex_unlock(&mu);
	return rc;
}

static int flush_one(const struct ban_cidr *c, const struct lb_ban_val *v, void *arg)
{
	struct lb_lpm4_key k4;
	struct lb_lpm6_key k6;
	void *key;
	int fd = map_key(c, &k4, &k6, &key);

	(void)v, (void)arg;
	bpf_map_delete_elem(fd, key);
	return 0;
}

int ban_flush(void)
{
	struct snap *s, *empty;
	int n;

	pthread_mutex_lock(&mu);
	s = atomic_load(&cur_bans);
	n = s ? s->n : 0;
	if (map4 >= 0 || map6 >= 0) {
		/* deleting while walking restarts the walk: collect, then delete */
		struct collect col = {0};

		n = map_each(collect_one, &col);
		for (int i = 0; i < col.n; i++)
			flush_one(&col.v[i].c, NULL, NULL);
		free(col.v);
	}
	empty = snap_build(NULL, 0);
	if (empty)
		publish(&cur_bans, empty);
	pthread_mutex_unlock(&mu);
	return n;
}

int ban_set_file(const struct ban_file_ent *v, int n)
{
	struct snap *s;
	int added = 0;

	pthread_mutex_lock(&mu);
	s = atomic_load(&cur_bans);
	/* file entries that left the file are lifted */
	for (int i = 0; s && i < s->n; i++) {
		bool keep = false;

		if (s->v[i].v.origin != LB_BAN_FILE)
			continue;
		for (int j = 0; j < n && !keep; j++)
			keep = ent_cmp(&s->v[i], &(struct snap_ent){.c = v[j].cidr}) == 0;
		if (!keep) {
			struct ban_cidr c = s->v[i].c;

			del_locked(&c);
			s = atomic_load(&cur_bans);
			i = -1; /* the snapshot changed: walk it again */
		}
	}
	for (int j = 0; j < n; j++) {
		int rc = add_locked(&v[j].cidr, 0, v[j].reason ? v[j].reason : "ban_list",
				    LB_BAN_FILE);
		char a[64];

		if (rc == 0) {
			added++;
		} else if (rc != -EEXIST) {
			ban_cidr_format(&v[j].cidr, a, sizeof(a));
			log_err("ban_list: cannot ban %s (%d: %s)", a, -rc, strerror(-rc));
			if (rc == -ENOSPC)
				break;
		}
	}
	pthread_mutex_unlock(&mu);
	return added;
}

/* struct list_ctx - ban_list walking the maps. */
struct list_ctx {
	int (*fn)(const struct ban_info *bi, void *arg);
	void *arg;
	struct snap *s;
};

static int list_one(const struct ban_cidr *c, const struct lb_ban_val *v, void *arg)
{
	struct list_ctx *lc = arg;
	struct ban_info bi = {.cidr = *c, .val = *v};
	struct snap_ent *e = snap_find(lc->s, c);

	if (e)
		bi.accept_hits = atomic_load_explicit(&e->acc_hits, memory_order_relaxed);
	return lc->fn(&bi, lc->arg);
}

int ban_list(int (*fn)(const struct ban_info *bi, void *arg), void *arg)
{
	struct list_ctx lc = {.fn = fn, .arg = arg};
	int n = 0;

	pthread_mutex_lock(&mu);
	lc.s = atomic_load(&cur_bans);
	if (map4 >= 0 || map6 >= 0) {
		n = map_each(list_one, &lc);
	} else {
		for (int i = 0; lc.s && i < lc.s->n; i++) {
			struct ban_info bi = {.cidr = lc.s->v[i].c, .val = lc.s->v[i].v};

			bi.accept_hits =
				atomic_load_explicit(&lc.s->v[i].acc_hits, memory_order_relaxed);
			n++;
			if (fn(&bi, arg))
				break;
		}
	}
	pthread_mutex_unlock(&mu);
	return n;
}

int ban_expire(void)
{
	uint64_t now = mono_ns();
	int lifted = 0;

	pthread_mutex_lock(&mu);
	for (;;) {
		struct snap *s = atomic_load(&cur_bans);
		struct lb_ban_val v;
		struct ban_cidr c;
		char a[64];
		int i, rc;

		for (i = 0; s && i < s->n; i++)
			if (s->v[i].v.expires_ns && now >= s->v[i].v.expires_ns)
				break;
		if (!s || i == s->n)
			break;
		c = s->v[i].c;
		v = s->v[i].v; /* del_locked frees the snapshot */
		ban_cidr_format(&c, a, sizeof(a));
		rc = del_locked(&c);
		if (rc)
			break; /* out of memory or the kernel refused: again in a second */
		log_notice("ban of %s expired (%s: %s)", a, ban_origin_name(v.origin), v.reason);
		lifted++;
	}
	pthread_mutex_unlock(&mu);
	return lifted;
}

void ban_set_allow(const struct ban_cidr *v, int n)
{
	struct snap_ent *e = calloc(n ? (size_t)n : 1, sizeof(*e));
	struct snap *s;

	if (!e)
		return;
	for (int i = 0; i < n; i++)
		e[i].c = v[i];
	s = snap_build(e, n);
	free(e);
	if (!s)
		return;
	pthread_mutex_lock(&mu);
	publish(&cur_allow, s);
	pthread_mutex_unlock(&mu);
}

bool ban_blocked(const struct sockaddr_storage *peer)
{
	struct snap_ent *e;
	struct ban_cidr c;
	uint64_t now;
	bool blocked = false;

	if (!atomic_load_explicit(&any_bans, memory_order_relaxed) || !ban_cidr_of(peer, &c))
		return false;
	now = mono_ns();
	atomic_fetch_add(&readers, 1);
	e = snap_match(atomic_load(&cur_bans), c.addr, now);
	if (e && !snap_match(atomic_load(&cur_allow), c.addr, 0)) {
		atomic_fetch_add_explicit(&e->acc_hits, 1, memory_order_relaxed);
		blocked = true;
	}
	atomic_fetch_sub(&readers, 1);
	return blocked;
}

bool ban_allowed(const struct ban_cidr *c)
{
	bool r;

	atomic_fetch_add(&readers, 1);
	r = snap_match(atomic_load(&cur_allow), c->addr, 0) != NULL;
	atomic_fetch_sub(&readers, 1);
	return r;
}

int ban_count(void)
{
	struct snap *s;
	int n;

	pthread_mutex_lock(&mu);
	s = atomic_load(&cur_bans);
	n = s ? s->n : 0;
	pthread_mutex_unlock(&mu);
	return n;
}

void ban_reset(void)
{
	pthread_mutex_lock(&mu);
	map4 = map6 = -1;
	publish(&cur_bans, NULL);
	publish(&cur_allow, NULL);
	pthread_mutex_unlock(&mu);
}
