/* SPDX-License-Identifier: MIT */
/*
 * `map` at run time and at configuration time: a map's value for a request
 * (exact keys, nginx's `hostnames` wildcards, then regexes; kept for the
 * rest of the request unless `volatile`), `set` on a map's variable, the
 * stream module's key matching, and the checks of a map's entries as they
 * are added. geo and split_clients blocks are evaluated here too, under
 * the same guard against maps that name themselves.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "geo.h"
#include "split.h"
#include "http.h"
#include "var.h"
#include "var_int.h"

#define VAR_MAP_DEPTH 16 /* maps evaluating maps: more is a loop */

/* ------------------------------------------------------------------ */
/* maps                                                                 */

static __thread int var_map_depth;

/* Kinds of keys in a `hostnames` map, read from the stored key text. */
enum map_key_kind {
	MAP_K_EXACT = 0, /* "www.example.com" */
	MAP_K_DOT,	 /* ".example.com": the name and all below it */
	MAP_K_HEAD,	 /* "*.example.com": only names below it */
	MAP_K_TAIL,	 /* "www.example.*" */
};

static enum map_key_kind map_key_kind(const char *k, size_t len)
{
	if (len > 1 && k[0] == '.')
		return MAP_K_DOT;
	if (len > 2 && k[0] == '*' && k[1] == '.')
		return MAP_K_HEAD;
	if (len > 2 && k[len - 2] == '.' && k[len - 1] == '*')
		return MAP_K_TAIL;
	return MAP_K_EXACT;
}

/* map_find_host - nginx's ngx_hash_find_combined: exact name, then the
 * longest matching "*." / "." suffix, then the longest ".*" prefix. */
static const struct map_entry *map_find_host(const struct cfg_map *m, const char *v, size_t len)
{
	const struct map_entry *best = NULL;
	size_t bestlen = 0;

	for (int i = 0; i < m->nexact; i++) {
		const struct map_entry *e = &m->exact[i];

		if (e->keylen == len && map_key_kind(e->key, e->keylen) == MAP_K_EXACT &&
		    memcmp(e->key, v, len) == 0)
			return e;
	}
	if (len == 0)
		return NULL;
	for (int i = 0; i < m->nexact; i++) {
		const struct map_entry *e = &m->exact[i];
		enum map_key_kind k = map_key_kind(e->key, e->keylen);
		size_t skip = k == MAP_K_DOT ? 1 : 2, sl = e->keylen - skip;
		const char *s = e->key + skip;
		bool match;

		if (k != MAP_K_DOT && k != MAP_K_HEAD)
			continue;
		match = len > sl && v[len - sl - 1] == '.' && memcmp(v + len - sl, s, sl) == 0;
		if (!match && k == MAP_K_DOT)
			match = len == sl && memcmp(v, s, sl) == 0;
		if (match && (!best || sl > bestlen)) {
			best = e;
			bestlen = sl;
		}
	}
	if (best)
		return best;
	for (int i = 0; i < m->nexact; i++) {
		const struct map_entry *e = &m->exact[i];
		size_t pl = e->keylen - 2;

		if (map_key_kind(e->key, e->keylen) != MAP_K_TAIL)
			continue;
		if (len > pl + 1 && v[pl] == '.' && memcmp(v, e->key, pl) == 0 &&
		    (!best || pl > bestlen)) {
			best = e;
			bestlen = pl;
		}
	}
	return best;
}

static int map_eval_now(const struct cfg_map *m, struct conn *c, struct lstr *out);

/* map_kept - the slot of M's value in the request on C (NULL: a stream
 * map, or no memory). A `volatile` map's slot holds only a `set` value. */
static struct var_mapval *map_kept(const struct cfg_map *m, struct conn *c)
{
	struct http_req *r = &c->req;
	int n = c->cfg && c->cfg->http ? c->cfg->http->nmaps : 0;

	if (m->idx <= 0 || m->idx > n)
		return NULL;
	if (!r->mapvals)
		r->mapvals = pool_zalloc(&c->pool, (size_t)n * sizeof(*r->mapvals));
	return r->mapvals ? &r->mapvals[m->idx - 1] : NULL;
}

/* map_eval - M's value for the request on C into *OUT. Evaluated once per
 * request and kept (nginx's variable cache, kept across internal
 * redirects too), unless the map is `volatile`. */
int map_eval(const struct cfg_map *m, struct conn *c, struct lstr *out)
{
	struct var_mapval *kept = map_kept(m, c);
	int rc;

	if (kept && kept->set) {
		*out = kept->v;
		return 0;
	}
	rc = map_eval_now(m, c, out);
	if (rc == 0 && kept && !m->volatile_) {
		char *p = out->len ? pool_alloc(&c->pool, out->len) : NULL;

		if (out->len && !p)
			return 0; /* not kept: evaluated again next time */
		if (p)
			memcpy(p, out->p, out->len);
		kept->v = p ? (struct lstr){p, out->len} : var_empty;
		kept->set = true;
		*out = kept->v;
	}
	return rc;
}

const struct cfg_map *map_find(const struct cfg_map *m, const char *name, size_t len)
{
	for (; m; m = m->next)
		if (m->name && strlen(m->name) == len && memcmp(m->name, name, len) == 0)
			return m;
	return NULL;
}

bool map_set(struct conn *c, const char *name, size_t len, struct lstr val)
{
	const struct cfg_map *m =
		map_find(c->cfg && c->cfg->http ? c->cfg->http->maps : NULL, name, len);

	return m && map_set_value(c, m, val);
}

bool map_set_value(struct conn *c, const struct cfg_map *m, struct lstr val)
{
	struct var_mapval *kept = map_kept(m, c);
	char *p;

	if (!kept)
		return false;
	p = val.len ? pool_alloc(&c->pool, val.len) : NULL;
	if (val.len && !p)
		return false;
	if (p)
		memcpy(p, val.p, val.len);
	kept->v = p ? (struct lstr){p, val.len} : var_empty;
	kept->set = true;
	return true;
}

/* map_eval_now - evaluate M for the request on C. */
static int map_eval_now(const struct cfg_map *m, struct conn *c, struct lstr *out)
{
	const struct map_entry *hit = NULL;
	struct lstr v, low;
	char *lp = NULL;
	int rc;

	*out = var_empty;
	if (var_map_depth >= VAR_MAP_DEPTH)
		return 0;
	var_map_depth++;
	/* geo and split_clients: under the same guard against self-reference */
	if (m->geo || m->split) {
		rc = m->geo ? geo_eval(m, c, out) : split_eval(m, c, out);
		goto out;
	}
	rc = cval_eval(&m->src, c, &v);
	if (rc < 0)
		goto out;
	if (m->hostnames && v.len && v.p[v.len - 1] == '.')
		v.len--;
	/* Keys are lowercase; compare a lowercase copy only if needed. */
	low = v;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] >= 'A' && v.p[i] <= 'Z') {
			lp = pool_alloc(&c->pool, v.len);
			if (!lp) {
				rc = -ENOMEM;
				goto out;
			}
			for (size_t k = 0; k < v.len; k++)
				lp[k] = var_lower(v.p[k]);
			low.p = lp;
			break;
		}
	}
	if (m->hostnames) {
		hit = map_find_host(m, low.p, low.len);
	} else {
		for (int i = 0; i < m->nexact && !hit; i++) {
			if (m->exact[i].keylen == low.len &&
			    memcmp(m->exact[i].key, low.p, low.len) == 0)
				hit = &m->exact[i];
		}
	}
	/* Regexes run on the value as is, and never on an empty one. */
	for (int i = 0; !hit && v.len && i < m->nregex; i++) {
		rc = var_regex_exec(c, m->regex[i].re, v.p, v.len);
		if (rc < 0)
			goto out;
		if (rc == 1)
			hit = &m->regex[i];
	}
	rc = cval_eval(hit ? &hit->value : &m->def, c, out);
out:
	var_map_depth--;
	return rc < 0 ? rc : 0;
}

/* map_match - the entry of M matching KEY (stream maps: no request, so
 * regex captures are not kept), or NULL for the default. */
const struct map_entry *map_match(const struct cfg_map *m, const char *key, size_t len)
{
	const struct map_entry *hit = NULL;
	char low[512];

	if (m->hostnames && len && key[len - 1] == '.')
		len--;
	if (len <= sizeof(low)) {
		for (size_t i = 0; i < len; i++)
			low[i] = var_lower(key[i]);
		if (m->hostnames) {
			hit = map_find_host(m, low, len);
		} else {
			for (int i = 0; i < m->nexact && !hit; i++)
				if (m->exact[i].keylen == len &&
				    memcmp(m->exact[i].key, low, len) == 0)
					hit = &m->exact[i];
		}
	}
	for (int i = 0; !hit && len && i < m->nregex; i++) {
		pcre2_match_data *md = var_match_data();

		if (md && pcre2_match(m->regex[i].re, (PCRE2_SPTR)key, len, 0, 0, md, NULL) >= 0)
			hit = &m->regex[i];
	}
	return hit;
}

int map_captures(const struct map_entry *e, size_t *ov, int max)
{
	pcre2_match_data *md = e && e->re ? var_match_data() : NULL;
	uint32_t groups = 0;
	const PCRE2_SIZE *v;
	int n;

	if (!md || pcre2_pattern_info(e->re, PCRE2_INFO_CAPTURECOUNT, &groups) != 0)
		return 0;
	v = pcre2_get_ovector_pointer(md);
	n = (int)LBD_MIN((uint32_t)groups + 1, pcre2_get_ovector_count(md));
	n = LBD_MIN(n, max);
	for (int i = 0; i < 2 * n; i++)
		ov[i] = v[i] == PCRE2_UNSET ? SIZE_MAX : (size_t)v[i];
	return n;
}

/* map_push - room for one more entry in *arr (n entries, grown by doubling
 * whenever n is a power of two, so no capacity field is needed). */
static struct map_entry *map_push(struct pool *pool, struct map_entry **arr, int *n)
{
	struct map_entry *e;

	if ((*n & (*n - 1)) == 0) {
		size_t cap = *n ? (size_t)*n * 2 : 2;

		e = pool_zalloc(pool, cap * sizeof(*e));
		if (!e)
			return NULL;
		if (*n)
			memcpy(e, *arr, (size_t)*n * sizeof(*e));
		*arr = e;
	}
	e = &(*arr)[(*n)++];
	memset(e, 0, sizeof(*e));
	return e;
}

/* map_conflict - whether key K (kind kk, lowercase) clashes with an entry
 * already in M, by nginx's rules: ".x" stands for both "x" and "*.x". */
static bool map_conflict(const struct cfg_map *m, const char *k, size_t len)
{
	enum map_key_kind kk = m->hostnames ? map_key_kind(k, len) : MAP_K_EXACT;

	for (int i = 0; i < m->nexact; i++) {
		const struct map_entry *e = &m->exact[i];
		enum map_key_kind ek = m->hostnames ? map_key_kind(e->key, e->keylen) : MAP_K_EXACT;
		struct lstr a = {k, len}, b = {e->key, e->keylen};

		/* Reduce both to what they claim: a name, a suffix or a prefix. */
		if (kk == MAP_K_TAIL || ek == MAP_K_TAIL) {
			if (kk == ek && lstr_eq(a, b))
				return true;
			continue;
		}
		if (kk == MAP_K_DOT || kk == MAP_K_HEAD)
			a = (struct lstr){k + (kk == MAP_K_DOT ? 1 : 2),
					  len - (kk == MAP_K_DOT ? 1 : 2)};
		if (ek == MAP_K_DOT || ek == MAP_K_HEAD)
			b = (struct lstr){e->key + (ek == MAP_K_DOT ? 1 : 2),
					  e->keylen - (ek == MAP_K_DOT ? 1 : 2)};
		if (!lstr_eq(a, b))
			continue;
		if (kk == ek || kk == MAP_K_DOT || ek == MAP_K_DOT)
			return true;
	}
	return false;
}

/* map_wildcard_ok - ngx_hash_add_key's check of a `hostnames` key: one '*'
 * at most, no "..", and a '*' only in "*.x" or "x.*". */
static bool map_wildcard_ok(const char *k, size_t len)
{
	int stars = 0;

	for (size_t i = 0; i < len; i++) {
		if (k[i] == '*' && ++stars > 1)
			return false;
		if (k[i] == '.' && i + 1 < len && k[i + 1] == '.')
			return false;
	}
	return stars == 0 || map_key_kind(k, len) != MAP_K_EXACT;
}

int map_add_entry(struct cval_ctx *ctx, struct cfg_map *m, const char *key, const char *value,
		  char *err, size_t errlen)
{
	struct map_entry *e;
	struct cval v;
	size_t len;
	char *k;
	int rc;

	rc = cval_compile(ctx, value, &v, err, errlen);
	if (rc)
		return rc;
	if (strcmp(key, "default") == 0) {
		if (m->def.raw) {
			snprintf(err, errlen, "duplicate default map parameter");
			return -EINVAL;
		}
		m->def = v;
		return 0;
	}
	if (key[0] == '~') {
		bool caseless = key[1] == '*';
		void *re;

		rc = var_regex_compile(key + 1 + caseless, caseless, &re, err, errlen);
		if (rc)
			return rc;
		e = map_push(ctx->pool, &m->regex, &m->nregex);
		if (!e)
			return -ENOMEM;
		e->key = pool_strdup(ctx->pool, key + 1 + caseless);
		if (!e->key)
			return -ENOMEM;
		e->keylen = strlen(e->key);
		e->re = re;
		e->value = v;
		return 0;
	}
	if (key[0] == '\\')
		key++;
	len = strlen(key);
	k = pool_strndup(ctx->pool, key, len);
	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++)
		k[i] = var_lower(k[i]);
	if (m->hostnames && !map_wildcard_ok(k, len)) {
		snprintf(err, errlen, "invalid hostname or wildcard \"%s\"", k);
		return -EINVAL;
	}
	if (map_conflict(m, k, len)) {
		snprintf(err, errlen, "conflicting parameter \"%s\"", k);
		return -EINVAL;
	}
	e = map_push(ctx->pool, &m->exact, &m->nexact);
	if (!e)
		return -ENOMEM;
	e->key = k;
	e->keylen = len;
	e->value = v;
	return 0;
}
