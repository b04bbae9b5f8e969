/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, auth_request and auth_request_set (nginx's
 * ngx_http_auth_request_module) with nginx's contexts, checks and
 * messages. The URI is a literal ("off" turns an inherited one off); a
 * level without auth_request_set inherits its parent's list whole, as
 * nginx merges the module's array. The variable an auth_request_set names
 * is declared by it (cfg_finish.c's unresolved-variable check asks
 * cfg_authreq_declares). The table that points here is in cfg.c; the
 * request side is authreq.c.
 */
#include <string.h>

#include "auth.h"
#include "cfg.h"
#include "cfg_int.h"
#include "var.h"

int cfg_set_auth_request(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct auth_loc *a = &s->loc->auth;

	(void)d;
	if (a->req_uri)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	a->req_uri = strcmp(n->args[0], "off") == 0 ? "" : pool_strdup(b->pool, n->args[0]);
	if (!a->req_uri)
		return cfg_fail(b, n, "out of memory");
	return 0;
}

int cfg_set_auth_request_set(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d)
{
	struct auth_loc *a = &s->loc->auth;
	const char *name = n->args[0];
	struct authreq_set *v;
	struct cval *cv;

	(void)d;
	if (name[0] != '$')
		return cfg_fail(b, n, "invalid variable name \"%s\"", name);
	name++;
	/* nginx: only a changeable variable may be set (ngx_http_add_variable);
	 * lbd's one settable builtin, $limit_rate, is `set`'s only */
	if (var_builtin_index(name, strlen(name)) >= 0)
		return cfg_fail(b, n, "the duplicate \"%s\" variable", name);
	v = pool_alloc(b->pool, (size_t)(a->nreq_sets + 1) * sizeof(*v));
	cv = pool_zalloc(b->pool, sizeof(*cv));
	if (!v || !cv)
		return cfg_fail(b, n, "out of memory");
	if (cfg_compile(b, n, n->args[1], cv))
		return -1;
	if (a->nreq_sets)
		memcpy(v, a->req_sets, (size_t)a->nreq_sets * sizeof(*v));
	v[a->nreq_sets].name = pool_strdup(b->pool, name);
	v[a->nreq_sets].value = cv;
	if (!v[a->nreq_sets].name)
		return cfg_fail(b, n, "out of memory");
	a->req_sets = v;
	a->nreq_sets++;
	return 0;
}

bool cfg_authreq_declares(const struct auth_loc *a, const char *name, size_t len)
{
	for (int i = 0; i < a->nreq_sets; i++)
		if (strlen(a->req_sets[i].name) == len &&
		    strncasecmp(a->req_sets[i].name, name, len) == 0)
			return true;
	return false;
}
