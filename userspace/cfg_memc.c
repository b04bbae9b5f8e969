/* SPDX-License-Identifier: MIT */
/*
 * Configuration of ngx_http_memcached_module: memcached_pass (a proxy_pass
 * whose upstream speaks memcached's text protocol, memc.c), its
 * $memcached_key, memcached_next_upstream's own values, and the settings
 * nginx's module fixes whatever the proxy_* ones say. The other
 * memcached_* directives are twins of proxy_* ones: cfg.c table entries on
 * a struct fcgi_twins, merged and applied by cfg_fastcgi.c's functions.
 */
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"
#include "lbd.h"

int cfg_set_memc_pass(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	const char *a = n->args[0], *colon;
	struct cval *key;

	if (s->loc->proxy)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	/* nginx's memcached_pass takes no variables: "$v" is a host name */
	if (strchr(a, '$')) {
		colon = strrchr(a, ':');
		if (!colon)
			return cfg_fail(b, n, "no port in upstream \"%s\"", a);
		return cfg_fail(b, n, "host not found in upstream \"%.*s\"", (int)(colon - a), a);
	}
	if (cfg_pass_as_proxy(b, n, s, d, a))
		return -1;
	s->loc->proxy->memcached = true;
	key = pool_zalloc(b->pool, sizeof(*key));
	if (!key)
		return cfg_fail(b, n, "out of memory");
	s->loc->memc.key = key;
	/* as nginx: the variable must be defined somewhere ("unknown
	 * "memcached_key" variable" when no `set` names it) */
	return cfg_compile(b, n, "$memcached_key", key);
}

int cfg_set_memc_next_upstream(struct build *b, struct cfg_node *n, struct scope *s,
			       const struct dir *d)
{
	static const struct cfg_bit t[] = {
		{"error", NU_ERROR},
		{"timeout", NU_TIMEOUT},
		{"invalid_response", NU_INVALID_HEADER},
		{"not_found", NU_HTTP_404},
		{"off", NU_OFF},
	};
	struct fcgi_twins *tw = (struct fcgi_twins *)((char *)s->loc + d->off);
	int bits = 0;

	if (tw->next_upstream != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (cfg_parse_bits(b, n, t, ARRAY_SIZE(t), &bits))
		return -1;
	if ((bits & NU_OFF) && bits != NU_OFF)
		return cfg_fail(b, n, "invalid value \"off\"");
	tw->next_upstream = bits;
	return 0;
}

void cfg_memc_init(struct memc_loc *m)
{
	m->gzip_flag = CFG_UNSET;
	cfg_twins_init(&m->t);
}

void cfg_memc_merge(struct memc_loc *m, const struct memc_loc *p)
{
	cfg_twins_merge(&m->t, p ? &p->t : NULL);
	if (m->gzip_flag == CFG_UNSET)
		m->gzip_flag = p ? p->gzip_flag : 0;
	if (!m->key && p)
		m->key = p->key;
}

void cfg_memc_apply(struct cfg_loc *l)
{
	if (!l->proxy || !l->proxy->memcached)
		return;
	cfg_twins_apply(l, &l->memc.t);
	/* what nginx's module hard-codes */
	l->proxy_buffering = 0;
	l->proxy_intercept_errors = 1;
	l->proxy_pass_request_headers = 0;
	l->proxy_pass_request_body = 0;
	l->proxy_ignore_client_abort = 0;
	l->proxy_max_temp_file_size = 0;
	l->proxy_force_ranges = 1;
	l->cache.zc = NULL;
	l->cache.zvar = NULL;
	l->cache.on = 0;
}
