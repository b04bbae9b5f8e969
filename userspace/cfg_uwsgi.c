/* SPDX-License-Identifier: MIT */
/*
 * Configuration of ngx_http_uwsgi_module's and ngx_http_scgi_module's own
 * directives: uwsgi_pass and scgi_pass (a proxy_pass whose upstream
 * speaks uwsgi or SCGI), uwsgi_param, scgi_param, uwsgi_modifier1/2, and
 * their inheritance; the warning for the modules' directives lbd does not
 * implement. Their twins of proxy_* settings (timeouts, retries, buffers,
 * headers) are cfg.c table entries on a struct fcgi_twins, set, merged
 * and applied by cfg_fastcgi.c's twin functions.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "cfg_int.h"
#include "lbd.h"

/* cfg_pass_as_proxy - uwsgi_pass / scgi_pass / memcached_pass ADDR: an
 * address (host:port, unix:PATH), an upstream name or variables, written
 * as the http:// URL proxy_pass parses, as fastcgi_pass does. */
int cfg_pass_as_proxy(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d,
		      const char *a)
{
	struct cfg_node pn = *n;
	char *url, *args[1];
	size_t al = strlen(a);

	if (!a[0])
		return cfg_fail(b, n, "invalid URL prefix in \"%s\"", n->args[0]);
	url = pool_alloc(b->pool, al + 8);
	if (!url)
		return cfg_fail(b, n, "out of memory");
	memcpy(url, "http://", 7);
	memcpy(url + 7, a, al + 1);
	if (!strchr(a, '$') && strncmp(a, "unix:", 5) != 0 && strchr(a, '/'))
		return cfg_fail(b, n, "invalid host in upstream \"%s\"", a);
	args[0] = url;
	pn.args = args;
	return cfg_set_proxy_pass(b, &pn, s, d);
}

int cfg_set_uwsgi_pass(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	const char *a = n->args[0];

	if (s->loc->proxy)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	/* nginx: an optional uwsgi:// scheme; suwsgi:// is uwsgi over TLS */
	if (strncasecmp(a, "suwsgi://", 9) == 0)
		return cfg_fail(b, n,
				"\"suwsgi://\" in \"%s\" is not supported by this lbd build yet",
				n->name);
	if (strncasecmp(a, "uwsgi://", 8) == 0)
		a += 8;
	if (cfg_pass_as_proxy(b, n, s, d, a))
		return -1;
	s->loc->proxy->uwsgi = true;
	return 0;
}

int cfg_set_scgi_pass(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	if (s->loc->proxy)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (cfg_pass_as_proxy(b, n, s, d, n->args[0]))
		return -1;
	s->loc->proxy->scgi = true;
	return 0;
}

int cfg_set_uwsgi_param(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct uwsgi_loc *u = &s->loc->uwsgi;

	(void)d;
	return cfg_param_add(b, n, &u->params, &u->nparams, &u->params_set, &u->http_params);
}

int cfg_set_scgi_param(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct scgi_loc *g = &s->loc->scgi;

	(void)d;
	return cfg_param_add(b, n, &g->params, &g->nparams, &g->params_set, &g->http_params);
}

/* uwsgi_modifier1/2 N: a number nginx bounds to a byte. */
int cfg_set_uwsgi_modifier(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	int *f = (int *)((char *)s->loc + d->off);
	const char *a = n->args[0];
	char *end;
	long v;

	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	v = (*a >= '0' && *a <= '9') ? strtol(a, &end, 10) : -1;
	if (v < 0 || *end || v > INT_MAX)
		return cfg_fail(b, n, "\"%s\" directive invalid number", n->name);
	if (v > 255)
		return cfg_fail(b, n, "value must be between 0 and 255");
	*f = (int)v;
	return 0;
}

/* The rest of ngx_http_uwsgi_module (uwsgi_ssl_*): accepted, said. */
int cfg_set_uwsgi_unsupported(struct build *b, struct cfg_node *n, struct scope *s,
			      const struct dir *d)
{
	(void)b, (void)s, (void)d;
	cfg_warn(n, "\"%s\" directive is not supported by this lbd build yet and is ignored",
		 n->name);
	return 0;
}

void cfg_uwsgi_init(struct uwsgi_loc *u)
{
	u->modifier1 = u->modifier2 = CFG_UNSET;
	cfg_twins_init(&u->t);
}

void cfg_uwsgi_merge(struct uwsgi_loc *u, const struct uwsgi_loc *p)
{
	cfg_twins_merge(&u->t, p ? &p->t : NULL);
	if (u->modifier1 == CFG_UNSET)
		u->modifier1 = p ? p->modifier1 : 0;
	if (u->modifier2 == CFG_UNSET)
		u->modifier2 = p ? p->modifier2 : 0;
	if (!p)
		return;
	if (!u->params_set) {
		u->params = p->params;
		u->nparams = p->nparams;
		u->http_params = p->http_params;
	}
	if (!u->string)
		u->string = p->string;
}

void cfg_scgi_init(struct scgi_loc *g)
{
	cfg_twins_init(&g->t);
}

void cfg_scgi_merge(struct scgi_loc *g, const struct scgi_loc *p)
{
	cfg_twins_merge(&g->t, p ? &p->t : NULL);
	if (p && !g->params_set) {
		g->params = p->params;
		g->nparams = p->nparams;
		g->http_params = p->http_params;
	}
}

void cfg_uwsgi_apply(struct cfg_loc *l)
{
	if (l->proxy && l->proxy->uwsgi)
		cfg_twins_apply(l, &l->uwsgi.t);
	else if (l->proxy && l->proxy->scgi)
		cfg_twins_apply(l, &l->scgi.t);
}
