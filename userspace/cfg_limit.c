/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, request limits: the directives of nginx's
 * limit_req and limit_conn modules with their contexts, defaults, checks
 * and messages; zone names as nginx's shared memory zones see them (a name
 * may be used before it is declared; one name, one module, one size); the
 * merge of the limit settings down the levels; binding the zones to their
 * shared state (limit.c) once the configuration is complete, and giving
 * them back when it is released. The table that points here is in cfg.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"
#include "limit.h"
#include "log.h"
#include "stream.h"

/* nginx_atoi - ngx_atoi: digits only, not empty, no overflow; else -1. */
static int64_t nginx_atoi(const char *s, size_t len)
{
	int64_t v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (INT64_MAX - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* foreign_zone - whether NAME is a limit zone of the other block (http's
 * or stream's) than the one whose list is ZONES: nginx's shared memory
 * zones are one name space, their modules differ. */
static bool foreign_zone(struct build *b, struct rl_zone_conf *const *zones, const char *name,
			 size_t len)
{
	struct rl_zone_conf *const *lists[] = {b->cfg->http ? &b->cfg->http->rl_zones : NULL,
					       b->cfg->stream ? &b->cfg->stream->rl_zones : NULL};

	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		for (const struct rl_zone_conf *z = lists[i] && lists[i] != zones ? *lists[i]
										  : NULL;
		     z; z = z->next)
			if (strlen(z->name) == len && memcmp(z->name, name, len) == 0)
				return true;
	return false;
}

/* cfg_rl_zone_use - ngx_shared_memory_add: the zone NAME for KIND in the
 * list *ZONES (http's or stream's), declared here with SIZE (0 = only used
 * here). Fails with nginx's words when the name belongs to the other
 * module or the sizes differ. */
struct rl_zone_conf *cfg_rl_zone_use(struct build *b, struct cfg_node *n,
				     struct rl_zone_conf **zones, const char *name, size_t len,
				     enum rl_kind kind, int64_t size)
{
	struct rl_zone_conf *z;

	for (z = *zones; z; z = z->next) {
		if (strlen(z->name) != len || memcmp(z->name, name, len) != 0)
			continue;
		if (z->kind != kind) {
			cfg_fail(
				b, n,
				"the shared memory zone \"%s\" is already declared for a different use",
				z->name);
			return NULL;
		}
		if (z->size == 0)
			z->size = size;
		if (size && size != z->size) {
			cfg_fail(
				b, n,
				"the size %lld of shared memory zone \"%s\" conflicts with already declared size %lld",
				(long long)size, z->name, (long long)z->size);
			return NULL;
		}
		return z;
	}
	if (foreign_zone(b, zones, name, len)) {
		cfg_fail(b, n,
			 "the shared memory zone \"%.*s\" is already declared for a different use",
			 (int)len, name);
		return NULL;
	}
	z = pool_zalloc(b->pool, sizeof(*z));
	if (z)
		z->name = pool_strndup(b->pool, name, len);
	if (!z || !z->name) {
		cfg_fail(b, n, "out of memory");
		return NULL;
	}
	z->kind = kind;
	z->size = size;
	z->next = *zones;
	*zones = z;
	return z;
}

static struct rl_zone_conf *zone_use(struct build *b, struct cfg_node *n, struct cfg_http *h,
				     const char *name, size_t len, enum rl_kind kind, int64_t size)
{
	return cfg_rl_zone_use(b, n, &h->rl_zones, name, len, kind, size);
}

/* cfg_rl_zone_param - `zone=NAME:SIZE` of the *_zone directives. */
int cfg_rl_zone_param(struct build *b, struct cfg_node *n, const char *arg, const char **name,
		      size_t *len, int64_t *size)
{
	const char *colon = strchr(arg + 5, ':');

	if (!colon)
		return cfg_fail(b, n, "invalid zone size \"%s\"", arg);
	*name = arg + 5;
	*len = (size_t)(colon - *name);
	if (cfg_parse_size(colon + 1, size))
		return cfg_fail(b, n, "invalid zone size \"%s\"", arg);
	if (*size < RL_ZONE_MIN_SIZE)
		return cfg_fail(b, n, "zone \"%s\" is too small", arg);
	return 0;
}

/* bind_zone - finish a *_zone directive: the name must not have a key yet. */
static int bind_zone(struct build *b, struct cfg_node *n, struct scope *s, enum rl_kind kind,
		     const struct cval *key, const char *name, size_t len, int64_t size,
		     int64_t rate)
{
	struct rl_zone_conf *z;

	if (len == 0)
		return cfg_fail(b, n, "\"%s\" must have \"zone\" parameter", n->name);
	z = zone_use(b, n, s->http, name, len, kind, size);
	if (!z)
		return -1;
	if (z->bound)
		return cfg_fail(b, n, "%s \"%s\" is already bound to key \"%s\"", n->name, z->name,
				z->key_text);
	z->key = *key;
	z->key_text = pool_strdup(b->pool, n->args[0]);
	z->rate = rate;
	z->bound = true;
	return z->key_text ? 0 : cfg_fail(b, n, "out of memory");
}

/* `limit_req_zone KEY zone=NAME:SIZE rate=RATE;` (http) */
int cfg_set_limit_req_zone(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	struct cval key;
	const char *name = NULL;
	size_t len = 0;
	int64_t size = 0, rate = 1, scale = 1;

	(void)d;
	/* nginx compiles the key first: its errors come before the others */
	if (cfg_compile(b, n, n->args[0], &key))
		return -1;
	for (size_t i = 1; i < n->nargs; i++) {
		const char *a = n->args[i];
		size_t alen = strlen(a);

		if (strncmp(a, "zone=", 5) == 0) {
			if (cfg_rl_zone_param(b, n, a, &name, &len, &size))
				return -1;
			continue;
		}
		if (strncmp(a, "rate=", 5) == 0) {
			scale = 1;
			if (alen >= 3 && strcmp(a + alen - 3, "r/s") == 0) {
				alen -= 3;
			} else if (alen >= 3 && strcmp(a + alen - 3, "r/m") == 0) {
				scale = 60;
				alen -= 3;
			}
			rate = alen >= 5 ? nginx_atoi(a + 5, alen - 5) : -1;
			if (rate <= 0)
				return cfg_fail(b, n, "invalid rate \"%s\"", a);
			continue;
		}
		return cfg_fail(b, n, "invalid parameter \"%s\"", a);
	}
	/* milli-requests per second, at least 1 (nginx would divide by 0) */
	rate = rate > INT64_MAX / 1000 ? INT64_MAX / 1000 : rate;
	rate = rate * 1000 / scale;
	return bind_zone(b, n, s, RL_KIND_REQ, &key, name, len, size, rate ? rate : 1);
}

/* `limit_conn_zone KEY zone=NAME:SIZE;` (http) */
int cfg_set_limit_conn_zone(struct build *b, struct cfg_node *n, struct scope *s,
			    const struct dir *d)
{
	struct cval key;
	const char *name = NULL;
	size_t len = 0;
	int64_t size = 0;

	(void)d;
	if (cfg_compile(b, n, n->args[0], &key))
		return -1;
	for (size_t i = 1; i < n->nargs; i++) {
		if (strncmp(n->args[i], "zone=", 5) != 0)
			return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[i]);
		if (cfg_rl_zone_param(b, n, n->args[i], &name, &len, &size))
			return -1;
	}
	return bind_zone(b, n, s, RL_KIND_CONN, &key, name, len, size, 0);
}

/* `limit_req zone=NAME [burst=N] [nodelay | delay=N];` (http, server, location) */
int cfg_set_limit_req(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct rl_loc *l = &s->loc->rl;
	struct rl_zone_conf *z = NULL;
	struct rl_req_limit *lim;
	int64_t burst = 0, delay = 0;

	(void)d;
	for (size_t i = 0; i < n->nargs; i++) {
		const char *a = n->args[i];

		if (strncmp(a, "zone=", 5) == 0) {
			z = zone_use(b, n, s->http, a + 5, strlen(a + 5), RL_KIND_REQ, 0);
			if (!z)
				return -1;
		} else if (strncmp(a, "burst=", 6) == 0) {
			burst = nginx_atoi(a + 6, strlen(a + 6));
			if (burst <= 0)
				return cfg_fail(b, n, "invalid burst value \"%s\"", a);
		} else if (strncmp(a, "delay=", 6) == 0) {
			delay = nginx_atoi(a + 6, strlen(a + 6));
			if (delay <= 0)
				return cfg_fail(b, n, "invalid delay value \"%s\"", a);
		} else if (strcmp(a, "nodelay") == 0) {
			delay = RL_NODELAY / 1000;
		} else {
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
		}
	}
	if (!z)
		return cfg_fail(b, n, "\"%s\" must have \"zone\" parameter", n->name);
	for (int i = 0; i < l->nreq; i++)
		if (l->req[i].zc == z)
			return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	lim = PUSH(b, l->req, l->nreq);
	if (!lim)
		return cfg_fail(b, n, "out of memory");
	lim->zc = z;
	lim->burst = burst > RL_NODELAY / 1000 ? RL_NODELAY : burst * 1000;
	lim->delay = delay > RL_NODELAY / 1000 ? RL_NODELAY : delay * 1000;
	return 0;
}

/* cfg_rl_conn_number - the N of `limit_conn NAME N` (1..65535), or -1
 * with nginx's message. */
int cfg_rl_conn_number(struct build *b, struct cfg_node *n)
{
	int64_t v = nginx_atoi(n->args[1], strlen(n->args[1]));

	if (v <= 0)
		return cfg_fail(b, n, "invalid number of connections \"%s\"", n->args[1]);
	if (v > 65535)
		return cfg_fail(b, n, "connection limit must be less 65536");
	return (int)v;
}

/* `limit_conn NAME N;` (http, server, location) */
int cfg_set_limit_conn(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct rl_loc *l = &s->loc->rl;
	struct rl_conn_limit *lim;
	struct rl_zone_conf *z;
	int64_t v;

	(void)d;
	z = zone_use(b, n, s->http, n->args[0], strlen(n->args[0]), RL_KIND_CONN, 0);
	if (!z)
		return -1;
	for (int i = 0; i < l->nconn; i++)
		if (l->conn[i].zc == z)
			return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	v = cfg_rl_conn_number(b, n);
	if (v < 0)
		return -1;
	lim = PUSH(b, l->conn, l->nconn);
	if (!lim)
		return cfg_fail(b, n, "out of memory");
	lim->zc = z;
	lim->conn = (int)v;
	return 0;
}

/* `limit_req_status CODE;` / `limit_conn_status CODE;` (400..599) */
int cfg_set_limit_status(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int *f = (int *)((char *)s->loc + d->off);
	int64_t v;

	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	v = nginx_atoi(n->args[0], strlen(n->args[0]));
	if (v < 0)
		return cfg_fail(b, n, "\"%s\" directive invalid number", n->name);
	if (v < 400 || v > 599)
		return cfg_fail(b, n, "value must be between 400 and 599");
	*f = (int)v;
	return 0;
}

/* cfg_rl_log_level - `*_log_level info|notice|warn|error` into *F (an
 * enum log_level, CFG_UNSET when not given yet), for http and stream. */
int cfg_rl_log_level(struct build *b, struct cfg_node *n, int *f)
{
	static const struct {
		const char *name;
		enum log_level level;
	} levels[] = {
		{"info", LOG_INFO},
		{"notice", LOG_NOTICE},
		{"warn", LOG_WARN},
		{"error", LOG_ERR},
	};

	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
		if (strcmp(n->args[0], levels[i].name) == 0) {
			*f = (int)levels[i].level;
			return 0;
		}
	}
	return cfg_fail(b, n, "invalid value \"%s\"", n->args[0]);
}

/* `limit_req_log_level info|notice|warn|error;` and limit_conn's. */
int cfg_set_limit_log_level(struct build *b, struct cfg_node *n, struct scope *s,
			    const struct dir *d)
{
	return cfg_rl_log_level(b, n, (int *)((char *)s->loc + d->off));
}

void cfg_limit_init(struct rl_loc *l)
{
	memset(l, 0, sizeof(*l));
	l->req_status = CFG_UNSET;
	l->req_log_level = CFG_UNSET;
	l->req_dry_run = CFG_UNSET;
	l->conn_status = CFG_UNSET;
	l->conn_log_level = CFG_UNSET;
	l->conn_dry_run = CFG_UNSET;
}

/* cfg_limit_merge - nginx's merge: the limit arrays come whole from the
 * enclosing level when this level has none. */
void cfg_limit_merge(struct rl_loc *l, const struct rl_loc *p)
{
	if (!l->req && p) {
		l->req = p->req;
		l->nreq = p->nreq;
	}
	if (!l->conn && p) {
		l->conn = p->conn;
		l->nconn = p->nconn;
	}
#define RL_MERGE(f, def)                         \
	do {                                     \
		if (l->f == CFG_UNSET)           \
			l->f = p ? p->f : (def); \
	} while (0)
	RL_MERGE(req_status, 503);
	RL_MERGE(req_log_level, LOG_ERR);
	RL_MERGE(req_dry_run, 0);
	RL_MERGE(conn_status, 503);
	RL_MERGE(conn_log_level, LOG_ERR);
	RL_MERGE(conn_dry_run, 0);
#undef RL_MERGE
}

/* cfg_rl_zones_bind - check the zone names of a list and bind them to
 * their shared state (http's and stream's lists alike). */
int cfg_rl_zones_bind(struct build *b, struct rl_zone_conf *zones)
{
	for (struct rl_zone_conf *z = zones; z; z = z->next) {
		/* as nginx, once the configuration is read and without a line */
		if (z->size == 0) {
			snprintf(b->err, b->errlen, "zero size shared memory zone \"%s\"", z->name);
			return -1;
		}
	}
	for (struct rl_zone_conf *z = zones; z; z = z->next)
		if (rl_zone_get(z->name, z->kind, z->size, z->key_text, &z->zone, b->err,
				b->errlen))
			return -1;
	return 0;
}

int cfg_limit_finish(struct build *b, struct cfg_http *h)
{
	return cfg_rl_zones_bind(b, h->rl_zones);
}

/* cfg_rl_zones_release - give a list's shared state back (safe half-bound). */
void cfg_rl_zones_release(struct rl_zone_conf *zones)
{
	for (struct rl_zone_conf *z = zones; z; z = z->next) {
		rl_zone_put(z->zone);
		z->zone = NULL;
	}
}

void cfg_limit_release(struct cfg_http *h)
{
	cfg_rl_zones_release(h ? h->rl_zones : NULL);
}
