/* SPDX-License-Identifier: MIT */
/*
 * Configuration of ngx_http_uwsgi_module's and ngx_http_scgi_module's own
 * directives: uwsgi_pass and scgi_pass (a proxy_pass whose upstream
 * speaks uwsgi or SCGI; suwsgi:// is uwsgi over TLS, an https:// one to
 * proxy_pass), uwsgi_param, scgi_param, uwsgi_modifier1/2, uwsgi_ssl_*
 * (proxy_ssl_*'s setter and checks on a struct upssl_conf of its own, as
 * grpc_ssl_*), and their inheritance. Their twins of proxy_* settings
 * (timeouts, retries, buffers, headers) are cfg.c table entries on a
 * struct fcgi_twins, set, merged and applied by cfg_fastcgi.c's twin
 * functions.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "cfg_int.h"
#include "lbd.h"

/* pass_as - ADDR written as the URL proxy_pass parses: http://ADDR, or
 * https://ADDR for uwsgi over TLS (SSL). */
static int pass_as(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d,
		   const char *a, bool ssl)
{
	const char *scheme = ssl ? "https://" : "http://";
	size_t al = strlen(a), sl = strlen(scheme);
	struct cfg_node pn = *n;
	char *url, *args[1];

	if (!a[0])
		return cfg_fail(b, n, "invalid URL prefix in \"%s\"", n->args[0]);
	url = pool_alloc(b->pool, sl + al + 1);
	if (!url)
		return cfg_fail(b, n, "out of memory");
	memcpy(url, scheme, sl);
	memcpy(url + sl, a, al + 1);
	if (!strchr(a, '$') && strncmp(a, "unix:", 5) != 0 && strchr(a, '/'))
		return cfg_fail(b, n, "invalid host in upstream \"%s\"", a);
	args[0] = url;
	pn.args = args;
	return cfg_set_proxy_pass(b, &pn, s, d);
}

/* cfg_pass_as_proxy - uwsgi_pass / scgi_pass / memcached_pass ADDR: an
 * address (host:port, unix:PATH), an upstream name or variables, written
 * as the http:// URL proxy_pass parses, as fastcgi_pass does. */
int cfg_pass_as_proxy(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d,
		      const char *a)
{
	return pass_as(b, n, s, d, a, false);
}

int cfg_set_uwsgi_pass(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	const char *a = n->args[0];
	bool ssl = false;

	if (s->loc->proxy)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	/* nginx: an optional uwsgi:// scheme; suwsgi:// is uwsgi over TLS
	 * (with variables, a value's own scheme is read per request:
	 * proxy_dyn.c) */
	if (strncasecmp(a, "suwsgi://", 9) == 0) {
		a += 9;
		ssl = true;
	} else if (strncasecmp(a, "uwsgi://", 8) == 0) {
		a += 8;
	}
	if (!a[0])
		return cfg_fail(b, n, "no host in upstream \"\"");
	if (pass_as(b, n, s, d, a, ssl))
		return -1;
	s->loc->proxy->uwsgi = true;
	s->loc->proxy->pass_scheme = a != n->args[0];
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

/* uwsgi_ssl_* but the on|off flags: proxy_ssl_*'s setter on uwsgi.ssl. */
int cfg_set_uwsgi_ssl(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	return cfg_upssl_set(b, n, &s->loc->uwsgi.ssl);
}

void cfg_uwsgi_init(struct uwsgi_loc *u)
{
	u->modifier1 = u->modifier2 = CFG_UNSET;
	cfg_twins_init(&u->t);
	cfg_upssl_init(&u->ssl);
}

void cfg_uwsgi_merge(struct uwsgi_loc *u, const struct uwsgi_loc *p)
{
	cfg_twins_merge(&u->t, p ? &p->t : NULL);
	cfg_upssl_merge(&u->ssl, p ? &p->ssl : NULL);
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
	if (l->proxy && l->proxy->uwsgi) {
		cfg_twins_apply(l, &l->uwsgi.t);
		/* suwsgi://: uwsgi_ssl_*, its context made by cfg_upssl_check */
		l->upssl = l->uwsgi.ssl;
		l->upssl.ctx = NULL;
	} else if (l->proxy && l->proxy->scgi)
		cfg_twins_apply(l, &l->scgi.t);
}
