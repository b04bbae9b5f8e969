/* SPDX-License-Identifier: MIT */
/*
 * Configuration of ngx_http_grpc_module's own directives: grpc_pass (a
 * proxy_pass whose upstream speaks HTTP/2 by prior knowledge, or over TLS
 * with ALPN "h2" for grpcs://), grpc_set_header, grpc_ssl_* (proxy_ssl_*'s
 * setter and checks on a struct upssl_conf of its own), and their
 * inheritance. The twins of proxy_* settings (timeouts, retries, header
 * lists, bind) are cfg.c table entries on a struct fcgi_twins, set,
 * merged and applied by cfg_fastcgi.c's twin functions, as uwsgi's are.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "cfg_int.h"
#include "lbd.h"

int cfg_set_grpc_pass(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_node pn = *n;
	const char *a = n->args[0];
	char *url, *args[1];
	bool ssl = false;
	size_t al;

	if (s->loc->proxy)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	/* nginx: grpc://, grpcs:// or no scheme; no URI part */
	if (strncasecmp(a, "grpcs://", 8) == 0) {
		a += 8;
		ssl = true;
	} else if (strncasecmp(a, "grpc://", 7) == 0) {
		a += 7;
	}
	al = strlen(a);
	if (!a[0])
		return cfg_fail(b, n, "invalid URL prefix in \"%s\"", n->args[0]);
	if (!strchr(a, '$') && strncmp(a, "unix:", 5) != 0 && strchr(a, '/'))
		return cfg_fail(b, n, "invalid host in upstream \"%s\"", a);
	/* proxy_pass's parser: http://, or https:// for TLS (ALPN "h2") */
	url = pool_alloc(b->pool, al + 9);
	if (!url)
		return cfg_fail(b, n, "out of memory");
	memcpy(url, ssl ? "https://" : "http://", ssl ? 8 : 7);
	memcpy(url + (ssl ? 8 : 7), a, al + 1);
	args[0] = url;
	pn.args = args;
	if (cfg_set_proxy_pass(b, &pn, s, d))
		return -1;
	s->loc->proxy->grpc = true;
	s->loc->proxy->pass_scheme = a != n->args[0];
	return 0;
}

/* grpc_ssl_* but the on|off flags: proxy_ssl_*'s setter on grpc.ssl. */
int cfg_set_grpc_ssl(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	return cfg_upssl_set(b, n, &s->loc->grpc.ssl);
}

void cfg_grpc_init(struct grpc_loc *g)
{
	cfg_twins_init(&g->t);
	cfg_upssl_init(&g->ssl);
}

void cfg_grpc_merge(struct grpc_loc *g, const struct grpc_loc *p)
{
	cfg_twins_merge(&g->t, p ? &p->t : NULL);
	cfg_upssl_merge(&g->ssl, p ? &p->ssl : NULL);
	if (!g->headers.set && p)
		g->headers = p->headers, g->headers.set = false;
}

void cfg_grpc_apply(struct cfg_loc *l)
{
	if (!l->proxy || !l->proxy->grpc)
		return;
	cfg_twins_apply(l, &l->grpc.t);
	/* nginx's grpc module reads the body unbuffered and relays the
	 * answer unbuffered: neither is a setting of its own */
	l->proxy_request_buffering = 0;
	l->proxy_buffering = 0;
	/* nor caches: an outer proxy_cache is the proxy module's */
	l->cache.zc = NULL;
	l->cache.zvar = NULL;
	l->cache.on = 0;
	/* grpcs://: grpc_ssl_*, its context made by cfg_upssl_check */
	l->upssl = l->grpc.ssl;
	l->upssl.ctx = NULL;
}
