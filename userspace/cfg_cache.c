/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, proxy cache: nginx's proxy_cache_path and
 * proxy_cache_* directives with their contexts, defaults, checks and
 * messages; the merge of the cache settings down the levels; binding the
 * zones to their shared state (cache_zone.c) once the configuration is
 * complete, and giving them back when it is released. The table that
 * points here is in cfg.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cfg.h"
#include "cfg_int.h"
#include "log.h"

/* The cache directives' prefixes by module (CACHE_ZONE_*). */
static const char *const zone_mods[] = {
	[CACHE_ZONE_PROXY] = "proxy",
	[CACHE_ZONE_FASTCGI] = "fastcgi",
	[CACHE_ZONE_UWSGI] = "uwsgi",
	[CACHE_ZONE_SCGI] = "scgi",
};

/* zone_owner - the module directive N belongs to (CACHE_ZONE_*, by the
 * prefix of its name). */
static int zone_owner(const struct cfg_node *n)
{
	for (int i = CACHE_ZONE_FASTCGI; i < (int)ARRAY_SIZE(zone_mods); i++) {
		size_t k = strlen(zone_mods[i]);

		if (strncmp(n->name, zone_mods[i], k) == 0 && n->name[k] == '_')
			return i;
	}
	return CACHE_ZONE_PROXY;
}

/* zone_use - the configuration's cache zone NAME, created on first use;
 * NULL (failed) when another module's directive named it first. */
static struct cache_zone_conf *zone_use(struct build *b, struct cfg_node *n, struct cfg_http *h,
					const char *name)
{
	struct cache_zone_conf *z;

	for (z = h->cache_zones; z; z = z->next) {
		if (strcmp(z->name, name) != 0)
			continue;
		if (z->owner != zone_owner(n)) {
			cfg_fail(
				b, n,
				"the shared memory zone \"%s\" is already declared for a different use",
				name);
			return NULL;
		}
		return z;
	}
	z = pool_zalloc(b->pool, sizeof(*z));
	if (z)
		z->name = pool_strdup(b->pool, name);
	if (!z || !z->name) {
		cfg_fail(b, n, "out of memory");
		return NULL;
	}
	z->file = n->file;
	z->line = n->line;
	z->owner = zone_owner(n);
	z->next = h->cache_zones;
	h->cache_zones = z;
	return z;
}

/* full_path - P under the -p prefix unless absolute (pool memory). */
static char *full_path(struct build *b, const char *p)
{
	size_t pl, l;
	char *s;

	if (p[0] == '/')
		return pool_strdup(b->pool, p);
	pl = strlen(b->cfg->prefix);
	l = strlen(p);
	s = pool_alloc(b->pool, pl + l + 1);
	if (s) {
		memcpy(s, b->cfg->prefix, pl);
		memcpy(s + pl, p, l + 1);
	}
	return s;
}

/* cfg_set_cache_path - proxy_cache_path (and its fastcgi, uwsgi, scgi twins) PATH [levels=L[:L[:L]]]
 * keys_zone=NAME:SIZE [inactive=T] [max_size=S] [use_temp_path=on|off] and
 * nginx's other parameters (accepted, no effect). */
int cfg_set_cache_path(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cache_zone_conf *z, tmp = {.inactive_ms = 600000, .use_temp_path = true};
	const char *zname = NULL;

	(void)d;
	for (size_t i = 1; i < n->nargs; i++) {
		const char *a = n->args[i];

		if (strncmp(a, "levels=", 7) == 0) {
			const char *p = a + 7;

			tmp.nlevels = 0;
			while (*p) {
				if (tmp.nlevels == CACHE_MAX_LEVELS ||
				    (p[0] != '1' && p[0] != '2') || (p[1] && p[1] != ':') ||
				    (p[1] == ':' && !p[2]))
					return cfg_fail(b, n, "invalid \"levels\" \"%s\"", a);
				tmp.levels[tmp.nlevels++] = p[0] - '0';
				p += p[1] ? 2 : 1;
			}
			if (!tmp.nlevels)
				return cfg_fail(b, n, "invalid \"levels\" \"%s\"", a);
		} else if (strncmp(a, "keys_zone=", 10) == 0) {
			char *colon = strchr(a + 10, ':');
			char *nm;

			if (!colon || colon == a + 10 || cfg_parse_size(colon + 1, &tmp.keys_size))
				return cfg_fail(b, n, "invalid keys zone size \"%s\"", a);
			if (tmp.keys_size < 8192)
				return cfg_fail(b, n, "zone \"%.*s\" is too small",
						(int)(colon - a - 10), a + 10);
			nm = pool_strndup(b->pool, a + 10, (size_t)(colon - a - 10));
			if (!nm)
				return cfg_fail(b, n, "out of memory");
			zname = nm;
		} else if (strncmp(a, "inactive=", 9) == 0) {
			if (cfg_parse_time(a + 9, &tmp.inactive_ms) || tmp.inactive_ms <= 0)
				return cfg_fail(b, n, "invalid inactive value \"%s\"", a);
		} else if (strncmp(a, "max_size=", 9) == 0) {
			if (cfg_parse_size(a + 9, &tmp.max_size))
				return cfg_fail(b, n, "invalid max_size value \"%s\"", a);
		} else if (strncmp(a, "use_temp_path=", 14) == 0) {
			if (strcmp(a + 14, "on") == 0)
				tmp.use_temp_path = true;
			else if (strcmp(a + 14, "off") == 0)
				tmp.use_temp_path = false;
			else
				return cfg_fail(
					b, n,
					"invalid use_temp_path value \"%s\", it must be \"on\" or \"off\"",
					a + 14);
		} else if (strncmp(a, "min_free=", 9) == 0 || strncmp(a, "manager_", 8) == 0 ||
			   strncmp(a, "loader_", 7) == 0) {
			cfg_warn(n, "\"%s\" has no effect in lbd and is ignored", a);
		} else {
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
		}
	}
	if (!zname)
		return cfg_fail(b, n, "\"%s\" must have \"keys_zone\" parameter", n->name);
	z = zone_use(b, n, s->http, zname);
	if (!z)
		return -1;
	if (z->path)
		return cfg_fail(b, n, "duplicate zone \"%s\"", zname);
	for (struct cache_zone_conf *o = s->http->cache_zones; o; o = o->next) {
		if (o->path && strcmp(o->path, n->args[0]) == 0)
			return cfg_fail(b, n, "duplicate \"%s\" path", n->args[0]);
	}
	z->path = full_path(b, n->args[0]);
	if (!z->path)
		return cfg_fail(b, n, "out of memory");
	/* nginx keeps no trailing slash */
	for (size_t l = strlen(z->path); l > 1 && z->path[l - 1] == '/'; l--)
		z->path[l - 1] = '\0';
	memcpy(z->levels, tmp.levels, sizeof(z->levels));
	z->nlevels = tmp.nlevels;
	z->keys_size = tmp.keys_size;
	z->max_size = tmp.max_size;
	z->inactive_ms = tmp.inactive_ms;
	z->use_temp_path = tmp.use_temp_path;
	z->file = n->file;
	z->line = n->line;
	return 0;
}

/* cfg_set_cache - proxy_cache (fastcgi_cache, uwsgi_cache, scgi_cache) NAME | off. */
int cfg_set_cache(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cache_loc *cl = &s->loc->cache;

	if (cl->on != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (strcmp(n->args[0], "off") == 0) {
		cl->on = 0;
		return 0;
	}
	if (cfg_store_of(s->loc, d)->on == 1) /* nginx's check, either order */
		return cfg_fail(b, n, "\"%s\" directive is incompatible with \"%.*s_store\"",
				n->name, (int)(strlen(n->name) - strlen("_cache")), n->name);
	if (strchr(n->args[0], '$')) {
		/* nginx 1.7.9+: the value names the zone per request, among
		 * this module's proxy_cache_path zones (cache_start) */
		cl->zvar = pool_zalloc(b->pool, sizeof(*cl->zvar));
		if (!cl->zvar)
			return cfg_fail(b, n, "out of memory");
		if (cfg_compile(b, n, n->args[0], cl->zvar))
			return -1;
		if (!cl->zvar->literal) {
			cl->zowner = zone_owner(n);
			cl->zones = &s->http->cache_zones;
			cl->on = 1;
			return 0;
		}
		cl->zvar = NULL; /* "\$" and the like: a plain name after all */
	}
	cl->zc = zone_use(b, n, s->http, n->args[0]);
	if (!cl->zc)
		return -1;
	cl->on = 1;
	return 0;
}

/* cfg_set_cache_range - proxy_cache_max_range_offset NUMBER (an offset:
 * k, m, g suffixes), nginx's checks. */
int cfg_set_cache_range(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cache_loc *cl = &s->loc->cache;
	int64_t v;

	(void)d;
	if (cl->max_range_offset != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (cfg_parse_size(n->args[0], &v))
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	cl->max_range_offset = v;
	return 0;
}

int cfg_set_cache_key(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cache_loc *cl = &s->loc->cache;

	(void)d;
	if (cl->key_set)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (cfg_compile(b, n, n->args[0], &cl->key))
		return -1;
	cl->key_set = true;
	return 0;
}

/* cfg_set_cache_valid - proxy_cache_valid [code ...|any] time; nginx
 * without codes: 200 301 302. */
int cfg_set_cache_valid(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cache_loc *cl = &s->loc->cache;
	struct cache_valid *v;
	int64_t ms;
	size_t ncodes = n->nargs - 1;

	(void)d;
	if (cfg_parse_time(n->args[n->nargs - 1], &ms))
		return cfg_fail(b, n, "invalid time value \"%s\"", n->args[n->nargs - 1]);
	if (!ncodes) {
		static const int def[] = {200, 301, 302};

		for (int i = 0; i < 3; i++) {
			v = PUSH(b, cl->valid, cl->nvalid);
			if (!v)
				return cfg_fail(b, n, "out of memory");
			*v = (struct cache_valid){def[i], ms / 1000};
		}
		return 0;
	}
	for (size_t i = 0; i < ncodes; i++) {
		const char *a = n->args[i];
		char *end;
		long code = 0;

		if (strcmp(a, "any") != 0) {
			code = strtol(a, &end, 10);
			if (*end || end == a || code < 100 || code > 599)
				return cfg_fail(b, n, "invalid status \"%s\"", a);
		}
		v = PUSH(b, cl->valid, cl->nvalid);
		if (!v)
			return cfg_fail(b, n, "out of memory");
		*v = (struct cache_valid){(int)code, ms / 1000};
	}
	return 0;
}

/* The values of proxy_cache_bypass and proxy_no_cache (and their
 * fastcgi_*, uwsgi_*, scgi_* twins). */
int cfg_set_cache_cond(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cache_loc *cl = &s->loc->cache;
	bool bypass = strstr(n->name, "_cache_bypass") != NULL;
	struct cval **v = bypass ? &cl->bypass : &cl->no_cache;
	int *nv = bypass ? &cl->nbypass : &cl->nno_cache;

	(void)d;
	for (size_t i = 0; i < n->nargs; i++) {
		struct cval *e = cfg_grow(b, *v, *nv, sizeof(**v));

		if (!e)
			return cfg_fail(b, n, "out of memory");
		*v = e;
		if (cfg_compile(b, n, n->args[i], &(*v)[(*nv)++]))
			return -1;
	}
	return 0;
}

struct word_bit {
	const char *w;
	int bit;
};

static int word_bits(struct build *b, struct cfg_node *n, const struct word_bit *t, size_t nt,
		     int *out)
{
	int bits = 0;

	for (size_t i = 0; i < n->nargs; i++) {
		size_t k;

		for (k = 0; k < nt && strcmp(t[k].w, n->args[i]) != 0; k++)
			;
		if (k == nt)
			return cfg_fail(b, n, "invalid value \"%s\"", n->args[i]);
		bits |= t[k].bit;
	}
	*out = bits;
	return 0;
}

int cfg_set_cache_methods(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	static const struct word_bit t[] = {
		{"GET", CACHE_M_GET}, {"HEAD", CACHE_M_HEAD}, {"POST", CACHE_M_POST}};
	struct cache_loc *cl = &s->loc->cache;

	(void)d;
	if (cl->methods != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (word_bits(b, n, t, ARRAY_SIZE(t), &cl->methods))
		return -1;
	cl->methods |= CACHE_M_GET | CACHE_M_HEAD; /* nginx always adds them */
	return 0;
}

int cfg_set_ignore_headers(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	static const struct word_bit t[] = {
		{"X-Accel-Expires", CACHE_IGN_X_ACCEL_EXPIRES},
		{"Expires", CACHE_IGN_EXPIRES},
		{"Cache-Control", CACHE_IGN_CACHE_CONTROL},
		{"Set-Cookie", CACHE_IGN_SET_COOKIE},
		{"Vary", CACHE_IGN_VARY},
		{"X-Accel-Redirect", CACHE_IGN_XA_REDIRECT},
		{"X-Accel-Limit-Rate", CACHE_IGN_XA_LIMIT_RATE},
		{"X-Accel-Buffering", CACHE_IGN_OTHER},
		{"X-Accel-Charset", CACHE_IGN_OTHER},
	};
	struct cache_loc *cl = &s->loc->cache;

	(void)d;
	if (cl->ignore != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	return word_bits(b, n, t, ARRAY_SIZE(t), &cl->ignore);
}

int cfg_set_cache_use_stale(struct build *b, struct cfg_node *n, struct scope *s,
			    const struct dir *d)
{
	static const struct word_bit t[] = {
		{"error", CACHE_STALE_ERROR},
		{"timeout", CACHE_STALE_TIMEOUT},
		{"updating", CACHE_STALE_UPDATING},
		{"http_500", CACHE_STALE_500},
		{"http_502", CACHE_STALE_502},
		{"http_503", CACHE_STALE_503},
		{"http_504", CACHE_STALE_504},
		{"http_403", CACHE_STALE_403},
		{"http_404", CACHE_STALE_404},
		{"http_429", CACHE_STALE_429},
		{"invalid_header", CACHE_STALE_INVALID},
		{"off", CACHE_STALE_OFF},
	};
	struct cache_loc *cl = &s->loc->cache;

	(void)d;
	if (cl->use_stale != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (word_bits(b, n, t, ARRAY_SIZE(t), &cl->use_stale))
		return -1;
	if ((cl->use_stale & CACHE_STALE_OFF) && cl->use_stale != CACHE_STALE_OFF)
		return cfg_fail(b, n, "invalid value \"off\"");
	if (cl->use_stale == CACHE_STALE_OFF)
		cl->use_stale = 0;
	return 0;
}

/* if_modified_since off|exact|before (nginx's core directive: how a
 * cached 200's Last-Modified answers If-Modified-Since). */
int cfg_set_cache_ims(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	static const char *const w[] = {[CACHE_IMS_OFF] = "off",
					[CACHE_IMS_EXACT] = "exact",
					[CACHE_IMS_BEFORE] = "before"};
	struct cache_loc *cl = &s->loc->cache;

	(void)d;
	if (cl->ims_mode != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	for (int i = 0; i < (int)ARRAY_SIZE(w); i++) {
		if (strcmp(n->args[0], w[i]) == 0) {
			cl->ims_mode = i;
			return 0;
		}
	}
	return cfg_fail(b, n, "invalid value \"%s\"", n->args[0]);
}

void cfg_cache_init(struct cache_loc *cl)
{
	memset(cl, 0, sizeof(*cl));
	cl->on = CFG_UNSET;
	cl->methods = CFG_UNSET;
	cl->ignore = CFG_UNSET;
	cl->min_uses = CFG_UNSET;
	cl->lock = CFG_UNSET;
	cl->lock_timeout = CFG_UNSET;
	cl->lock_age = CFG_UNSET;
	cl->use_stale = CFG_UNSET;
	cl->background_update = CFG_UNSET;
	cl->revalidate = CFG_UNSET;
	cl->convert_head = CFG_UNSET;
	cl->ims_mode = CFG_UNSET;
	cl->max_range_offset = CFG_UNSET;
}

void cfg_cache_merge(struct cache_loc *l, const struct cache_loc *p)
{
	if (l->on == CFG_UNSET) {
		l->on = p ? p->on : 0;
		l->zc = p ? p->zc : NULL;
		l->zvar = p ? p->zvar : NULL;
		l->zowner = p ? p->zowner : 0;
		l->zones = p ? p->zones : NULL;
	}
	if (!l->key_set && p && p->key_set) {
		l->key = p->key;
		l->key_set = true;
	}
	if (!l->valid && p) {
		l->valid = p->valid;
		l->nvalid = p->nvalid;
	}
	if (!l->bypass && p) {
		l->bypass = p->bypass;
		l->nbypass = p->nbypass;
	}
	if (!l->no_cache && p) {
		l->no_cache = p->no_cache;
		l->nno_cache = p->nno_cache;
	}
#define CMERGE(f, def)                           \
	do {                                     \
		if (l->f == CFG_UNSET)           \
			l->f = p ? p->f : (def); \
	} while (0)
	CMERGE(methods, CACHE_M_GET | CACHE_M_HEAD);
	CMERGE(max_range_offset, INT64_MAX);
	CMERGE(ignore, 0);
	CMERGE(min_uses, 1);
	CMERGE(lock, 0);
	CMERGE(lock_timeout, 5000);
	CMERGE(lock_age, 5000);
	CMERGE(use_stale, 0);
	CMERGE(background_update, 0);
	CMERGE(revalidate, 0);
	CMERGE(convert_head, 1);
	CMERGE(ims_mode, CACHE_IMS_EXACT);
#undef CMERGE
}

int cfg_cache_finish(struct build *b, struct cfg_http *h)
{
	for (struct cache_zone_conf *z = h->cache_zones; z; z = z->next) {
		if (!z->path) {
			snprintf(b->err, b->errlen, "\"%s_cache\" zone \"%s\" is unknown in %s:%d",
				 zone_mods[z->owner], z->name, z->file, z->line);
			return -1;
		}
	}
	for (struct cache_zone_conf *z = h->cache_zones; z; z = z->next) {
		char err[256];

		if (cache_zone_get(z, &z->zone, err, sizeof(err))) {
			snprintf(b->err, b->errlen, "%s in %s:%d", err, z->file, z->line);
			return -1;
		}
	}
	return 0;
}

void cfg_cache_release(struct cfg_http *h)
{
	for (struct cache_zone_conf *z = h ? h->cache_zones : NULL; z; z = z->next) {
		cache_zone_put(z->zone);
		z->zone = NULL;
	}
}
