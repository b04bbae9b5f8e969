/* SPDX-License-Identifier: MIT */
/*
 * proxy_pass with variables, as nginx 1.22 evaluates it per request: the
 * URL (http:// or https://) is built from the request, its host names an `upstream` block (when
 * the URL has no port), an upstream that another proxy_pass created for the
 * same address, or a literal address; a name that is none of these would
 * need a resolver, which lbd does not run on the request path: 502 and
 * nginx's "no resolver defined to resolve NAME". A URI part in the URL is
 * sent as it is, arguments only if it has them (nginx); without one the
 * client's URI goes as for a proxy_pass without a URI.
 *
 * Literal addresses get a one-server group of the worker's own, made once
 * and kept for the worker's life (at most DYN_MAX per worker; they hold
 * no configuration, so a reload keeps them): round robin of one, no
 * keep-alive pool and no failure accounting that could make it unusable,
 * as nginx's per-request peer.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg_int.h"
#include "http.h"
#include "log.h"
#include "pool.h"
#include "proxy_dyn.h"
#include "resolver.h"
#include "sockaddr.h"
#include "ups.h"
#include "upssl.h"
#include "var.h"
#include "worker.h"

#define DYN_MAX 256 /* literal-address groups per worker */

/* numeric_host - whether HOST (LEN bytes, "[v6]" or IPv4) is an address. */
static bool numeric_host(const char *host, size_t len)
{
	char b[INET6_ADDRSTRLEN + 2];
	unsigned char a[16];

	if (len == 0 || len >= sizeof(b))
		return false;
	if (host[0] == '[') {
		if (len < 3 || host[len - 1] != ']')
			return false;
		memcpy(b, host + 1, len - 2);
		b[len - 2] = '\0';
		return inet_pton(AF_INET6, b, a) == 1;
	}
	memcpy(b, host, len);
	b[len] = '\0';
	return inet_pton(AF_INET, b, a) == 1;
}

/* named_group - an upstream of C's configuration for the URL's host HP
 * (NAMELEN bytes): an `upstream` block of that name when the URL gave no
 * port (NOPORT), else one that a proxy_pass made for ADDR ("host:port"). */
static struct ups_group *named_group(const struct conn *c, const char *hp, size_t namelen,
				     bool noport, const char *addr)
{
	const struct cfg_http *h = c->cfg->http;
	size_t al = strlen(addr);

	for (int i = 0; h && i < h->nupstreams; i++) {
		struct ups_group *g = h->upstreams[i];
		size_t gl = strlen(g->name);

		if (!g->implicit && noport && gl == namelen &&
		    strncasecmp(g->name, hp, namelen) == 0)
			return g;
		if (g->implicit && gl == al && strncasecmp(g->name, addr, al) == 0)
			return g;
	}
	return NULL;
}

/* dyn_server - a per-request peer's settings, as nginx's: weight 1, one
 * failure in 10 s. */
static void dyn_server(struct ups_server *s, int index)
{
	s->index = index;
	s->weight = 1;
	s->max_fails = 1;
	s->fail_timeout_ms = 10000;
}

/* dyn_register - G (its servers set) made usable and kept by worker W:
 * nginx's keep-alive defaults, the balancer. 0, or -1. */
static int dyn_register(struct worker *w, struct ups_group *g)
{
	g->implicit = true;
	g->keepalive_requests = 1000;
	g->keepalive_timeout_ms = 60000;
	g->keepalive_time_ms = 3600000;
	if (ups_group_init(g))
		return -1;
	w->dyn_groups[w->ndyn_groups++] = g;
	return 0;
}

/* literal_group - the worker's one-server group for ADDR (host[:port] or
 * unix:PATH), made on first use; NULL when it cannot be made. */
static struct ups_group *literal_group(struct worker *w, const char *addr)
{
	struct ups_group *g;
	struct ups_server *s;

	for (int i = 0; i < w->ndyn_groups; i++)
		if (strcmp(w->dyn_groups[i]->name, addr) == 0)
			return w->dyn_groups[i];
	if (w->ndyn_groups >= DYN_MAX)
		return NULL;
	if (!w->dyn_groups && !(w->dyn_groups = calloc(DYN_MAX, sizeof(*w->dyn_groups))))
		return NULL;
	g = calloc(1, sizeof(*g));
	s = calloc(1, sizeof(*s));
	if (!g || !s || !(g->name = strdup(addr)))
		goto fail;
	if (cfg_parse_addr(addr, 80, &s->addr, &s->addrlen, false))
		goto fail;
	s->name = g->name;
	dyn_server(s, 0);
	g->servers = s;
	g->nservers = 1;
	if (dyn_register(w, g))
		goto fail;
	return g;
fail:
	if (g)
		free(g->name);
	free(g);
	free(s);
	return NULL;
}

/* same_servers - whether G's servers are exactly A's addresses on PORT. */
static bool same_servers(const struct ups_group *g, const struct dns_addrs *a, int port)
{
	if (g->nservers != a->n)
		return false;
	for (int i = 0; i < a->n; i++) {
		struct sockaddr_storage ss = a->addr[i];

		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		if (g->servers[i].addrlen != a->addrlen[i] ||
		    memcmp(&g->servers[i].addr, &ss, a->addrlen[i]) != 0)
			return false;
	}
	return true;
}

/* proxy_dyn_resolved_group - the worker's group for NAME ("host:port") over the
 * addresses it resolved to (A, on PORT), round robin among them with
 * failover, as nginx's per-request peers; made on first use of that set,
 * kept (a changed answer makes a new one: requests under way hold the
 * old), at most DYN_MAX groups per worker in all. */
struct ups_group *proxy_dyn_resolved_group(struct worker *w, const char *name,
					   const struct dns_addrs *a, int port)
{
	struct ups_group *g;
	struct ups_server *s;

	for (int i = 0; i < w->ndyn_groups; i++)
		if (strcmp(w->dyn_groups[i]->name, name) == 0 &&
		    same_servers(w->dyn_groups[i], a, port))
			return w->dyn_groups[i];
	if (w->ndyn_groups >= DYN_MAX || a->n < 1)
		return NULL;
	if (!w->dyn_groups && !(w->dyn_groups = calloc(DYN_MAX, sizeof(*w->dyn_groups))))
		return NULL;
	g = calloc(1, sizeof(*g));
	s = calloc((size_t)a->n, sizeof(*s));
	if (!g || !s || !(g->name = strdup(name)))
		goto fail;
	g->servers = s;
	for (int i = 0; i < a->n; i++) {
		char host[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 16];
		struct sockaddr_storage *ss = &s[i].addr;

		*ss = a->addr[i];
		s[i].addrlen = a->addrlen[i];
		if (ss->ss_family == AF_INET) {
			((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
			inet_ntop(AF_INET, &((struct sockaddr_in *)ss)->sin_addr, host,
				  sizeof(host));
			snprintf(text, sizeof(text), "%s:%d", host, port);
		} else {
			((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ss)->sin6_addr, host,
				  sizeof(host));
			snprintf(text, sizeof(text), "[%s]:%d", host, port);
		}
		if (!(s[i].name = strdup(text)))
			goto fail;
		dyn_server(&s[i], i);
		g->nservers++;
	}
	if (dyn_register(w, g))
		goto fail;
	return g;
fail:
	if (g) {
		for (int i = 0; s && i < g->nservers; i++)
			free(s[i].name);
		free(g->name);
	}
	free(g);
	free(s);
	return NULL;
}

static void dns_resumed(struct dns_waiter *wt)
{
	struct conn *c = wt->data;

	c->req.dns_resumed = true;
	proxy_start(c);
}

/* resolve_name - PP's host HP (NAMELEN bytes) through the location's
 * resolver: 0 with PP's group set, PROXY_DYN_WAIT (asked: proxy_start
 * runs again with the answer), or 502 (nginx's "could not be resolved"). */
static int resolve_name(struct conn *c, struct proxy_pass *pp, const char *hp, size_t namelen,
			int port)
{
	const struct cfg_loc *l = c->req.loc;
	struct http_req *r = &c->req;
	struct dns_waiter *wt = r->dns;

	if (!(wt && r->dns_resumed)) {
		int rc;

		if (!wt && !(wt = r->dns = pool_zalloc(&c->pool, sizeof(*wt))))
			return 500;
		wt->cb = dns_resumed;
		wt->data = c;
		rc = resolver_lookup(c->w, l->resolver, l->resolver_timeout, hp, namelen, wt);
		if (rc == 1)
			return PROXY_DYN_WAIT;
		if (rc < 0) {
			http_log(c, NULL, LOG_ERR, "sendto() to resolver failed (%d: %s)", -rc,
				 strerror(-rc));
			return 502;
		}
	}
	r->dns_resumed = false;
	if (wt->code) {
		http_log(c, NULL, LOG_ERR, "%.*s could not be resolved (%d: %s)", (int)namelen, hp,
			 wt->code, dns_strerror(wt->code));
		return 502;
	}
	pp->group = proxy_dyn_resolved_group(c->w, pp->addr, &wt->addrs, port);
	if (!pp->group) {
		http_log(c, NULL, LOG_ERR, "no upstream for \"%s\" (more than %d addresses)",
			 pp->addr, DYN_MAX);
		return 502;
	}
	return 0;
}

int proxy_dyn_resolve(struct conn *c, const struct proxy_pass *tpl, const struct proxy_pass **out)
{
	struct proxy_pass *pp;
	struct lstr v;
	const char *hp, *end, *uri;
	size_t hlen, namelen;

	if (cval_eval(&tpl->url, c, &v))
		return 500;
	bool ssl = v.len >= 8 && strncasecmp(v.p, "https://", 8) == 0;

	if (!ssl && (v.len < 7 || strncasecmp(v.p, "http://", 7) != 0)) {
		http_log(c, NULL, LOG_ERR, "invalid URL prefix in \"%.*s\"", (int)v.len, v.p);
		return 500;
	}
	pp = pool_zalloc(&c->pool, sizeof(*pp));
	if (!pp)
		return 500;
	pp->url = tpl->url;
	pp->dynamic = true;
	pp->fastcgi = tpl->fastcgi; /* fastcgi_pass with variables */
	pp->uwsgi = tpl->uwsgi;	    /* uwsgi_pass with variables */
	pp->scgi = tpl->scgi;	    /* scgi_pass with variables */
	pp->grpc = tpl->grpc;	    /* grpc_pass with variables */
	hp = v.p + (ssl ? 8 : 7);
	end = v.p + v.len;
	/* uwsgi_pass and grpc_pass with variables: the value may carry the
	 * scheme (suwsgi:// and grpcs:// are TLS) when the directive has none
	 * (nginx's ngx_http_uwsgi_eval and ngx_http_grpc_eval strip one
	 * scheme from the whole) */
	if (tpl->uwsgi && !tpl->pass_scheme && !ssl && end - hp > 9 &&
	    strncasecmp(hp, "suwsgi://", 9) == 0)
		hp += 9, ssl = true;
	else if (tpl->uwsgi && !tpl->pass_scheme && !ssl && end - hp > 8 &&
		 strncasecmp(hp, "uwsgi://", 8) == 0)
		hp += 8;
	else if (tpl->grpc && !tpl->pass_scheme && !ssl && end - hp > 8 &&
		 strncasecmp(hp, "grpcs://", 8) == 0)
		hp += 8, ssl = true;
	else if (tpl->grpc && !tpl->pass_scheme && !ssl && end - hp > 7 &&
		 strncasecmp(hp, "grpc://", 7) == 0)
		hp += 7;
	/* what is left is a host: nginx's parse of it takes no URI part */
	if ((tpl->grpc || tpl->uwsgi) && !(end - hp > 5 && strncasecmp(hp, "unix:", 5) == 0) &&
	    (memchr(hp, '/', (size_t)(end - hp)) || memchr(hp, '?', (size_t)(end - hp)))) {
		http_log(c, NULL, LOG_ERR, "invalid host in upstream \"%.*s\"", (int)(end - hp),
			 hp);
		return 500;
	}
	pp->ssl = ssl;
	if (end - hp > 5 && strncasecmp(hp, "unix:", 5) == 0) {
		const char *colon = memchr(hp + 5, ':', (size_t)(end - hp - 5));

		hlen = colon ? (size_t)(colon - hp) : (size_t)(end - hp);
		uri = colon && colon + 1 < end ? colon + 1 : NULL;
		pp->unix_sock = true;
		pp->host = "localhost";
		namelen = hlen;
	} else {
		const char *sl = memchr(hp, '/', (size_t)(end - hp));
		const char *q = memchr(hp, '?', (size_t)(end - hp));
		const char *colon;

		uri = sl && (!q || sl < q) ? sl : q;
		hlen = uri ? (size_t)(uri - hp) : (size_t)(end - hp);
		colon = hlen && hp[0] == '[' ? memchr(hp, ']', hlen) : hp;
		colon = colon ? memchr(colon, ':', hlen - (size_t)(colon - hp)) : NULL;
		namelen = colon ? (size_t)(colon - hp) : hlen;
		if (namelen == 0) {
			http_log(c, NULL, LOG_ERR, "no host in \"%.*s\"", (int)v.len, v.p);
			return 500;
		}
		/* a port must be digits, 1..65535: nginx's line names all that
		 * followed the scheme (proxy_pass http://$v with a value of
		 * "http://x" is the host "http" with an empty port) */
		if (colon && !lbd_port_ok(colon + 1, hlen - namelen - 1)) {
			http_log(c, NULL, LOG_ERR, "invalid port in upstream \"%.*s\"",
				 (int)(end - hp), hp);
			return 500;
		}
		/* $proxy_host: without the port when it is the scheme's */
		pp->host = pool_strndup(
			&c->pool, hp,
			colon && ((!ssl && hlen - namelen == 3 && memcmp(colon, ":80", 3) == 0) ||
				  (ssl && hlen - namelen == 4 && memcmp(colon, ":443", 4) == 0))
				? namelen
				: hlen);
	}
	/* the group's name: https's own port made explicit, as for a
	 * literal https:// proxy_pass (http://H and https://H differ) */
	if (ssl && !pp->unix_sock && namelen == hlen) {
		char *a = pool_alloc(&c->pool, hlen + 5);

		if (a) {
			memcpy(a, hp, hlen);
			memcpy(a + hlen, ":443", 5);
		}
		pp->addr = a;
	} else {
		pp->addr = pool_strndup(&c->pool, hp, hlen);
	}
	if (!pp->host || !pp->addr)
		return 500;
	if (uri) {
		pp->has_uri = true;
		pp->uri = pool_strndup(&c->pool, uri, (size_t)(end - uri));
		pp->urilen = (size_t)(end - uri);
		if (!pp->uri)
			return 500;
	}
	pp->group = pp->unix_sock ? NULL : named_group(c, hp, namelen, namelen == hlen, pp->addr);
	if (!pp->group && (pp->unix_sock || numeric_host(hp, namelen)))
		pp->group = literal_group(c->w, pp->addr);
	if (!pp->group && c->req.loc->resolver) {
		int port = ssl ? 443 : 80, st;

		if (namelen < hlen) /* (checked above; hp is not terminated) */
			port = atoi(pp->addr + namelen + 1);
		if ((st = resolve_name(c, pp, hp, namelen, port)))
			return st;
	}
	if (!pp->group) {
		if (pp->unix_sock || numeric_host(hp, namelen))
			http_log(c, NULL, LOG_ERR,
				 "no upstream for \"%s\" (more than %d addresses)", pp->addr,
				 DYN_MAX);
		else
			http_log(c, NULL, LOG_ERR, "no resolver defined to resolve %.*s",
				 (int)namelen, hp);
		return 502;
	}
	*out = pp;
	return 0;
}

struct ups_group *proxy_dyn_group(struct worker *w, const char *addr)
{
	return literal_group(w, addr);
}

void proxy_dyn_worker_free(struct worker *w)
{
	for (int i = 0; i < w->ndyn_groups; i++) {
		struct ups_group *g = w->dyn_groups[i];

		ups_group_release(g);
		for (int j = 0; j < g->nservers; j++) {
			upssl_session_drop(&g->servers[j]); /* an https:// one's session */
			if (g->servers[j].name != g->name)
				free(g->servers[j].name);
		}
		free(g->servers);
		free(g->name);
		free(g);
	}
	free(w->dyn_groups);
	w->dyn_groups = NULL;
	w->ndyn_groups = 0;
	resolver_worker_free(w);
}
