/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, what is done once http {} is read: the default
 * access log, the servers' settings from http {}, the merge (cfg_merge.c),
 * proxy_pass bound to its upstream, the checks nginx makes when it merges,
 * listening addresses grouped (a socket each, with its servers, default
 * server and request parser bounds), the modules' own finishing (health
 * checks, TLS, limits, cache) and the upstream groups set up; then, for
 * the whole configuration, that every variable name left unresolved is a
 * `set` variable or a named capture somewhere, as nginx checks.
 */

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "alog.h"
#include "lbd.h"
#include "pool.h"
#include "sockaddr.h"
#include "ups.h"
#include "var.h"

#include "cfg_int.h"

static int bind_tree(struct build *b, struct cfg_loc *l)
{
	struct cfg_loc **lists[] = {l->exact, l->prefix, l->regex, l->named};
	int counts[] = {l->nexact, l->nprefix, l->nregex, l->nnamed};

	if (l->proxy && (!l->parent || l->proxy != l->parent->proxy) &&
	    cfg_bind_proxy_pass(b, l->proxy, l->file, l->line))
		return -1;
	for (int i = 0; i < l->nrewrites; i++)
		if (cfg_if_body(l, i, true) && bind_tree(b, cfg_if_body(l, i, true)))
			return -1;
	for (int k = 0; k < 4; k++)
		for (int i = 0; i < counts[k]; i++)
			if (bind_tree(b, lists[k][i]))
				return -1;
	return 0;
}

static bool same_addr(const struct cfg_listen *a, const struct cfg_listen *c)
{
	return a->addrlen == c->addrlen && memcmp(&a->addr, &c->addr, a->addrlen) == 0;
}

static int group_listens(struct build *b, struct cfg_http *h)
{
	static struct cfg_listen def80;

	for (int i = 0; i < h->nservers; i++) {
		struct cfg_srv *srv = h->servers[i];

		if (srv->nlistens == 0) {
			struct sockaddr_in *in = (struct sockaddr_in *)&def80.addr;

			in->sin_family = AF_INET;
			in->sin_port = htons(80);
			def80.addrlen = sizeof(*in);
			def80.backlog = 511;
			def80.ipv6only = CFG_UNSET;
			def80.text = "*:80";
			srv->listens = &def80;
			srv->nlistens = 1;
		}
		for (int k = 0; k < srv->nlistens; k++) {
			struct cfg_listen *ls = &srv->listens[k];
			struct listen_group *g = NULL;
			struct cfg_node where = {.file = ls->file, .line = ls->line};

			for (int j = 0; j < h->nlgroups; j++)
				if (same_addr(h->lgroups[j].listen, ls))
					g = &h->lgroups[j];
			if (!g) {
				g = PUSH(b, h->lgroups, h->nlgroups);
				if (!g)
					return cfg_fail(b, &where, "out of memory");
				g->listen = ls;
			}
			/* as nginx 1.22: one listen of the address saying so is enough */
			g->proxy_protocol |= ls->proxy_protocol;
			for (int j = 0; j < g->nservers; j++)
				if (g->servers[j] == srv)
					goto next;
			struct cfg_srv **slot = PUSH(b, g->servers, g->nservers);

			if (!slot)
				return cfg_fail(b, &where, "out of memory");
			*slot = srv;
			if (ls->default_server) {
				if (g->default_srv && g->listen->default_server &&
				    g->default_srv != srv)
					return cfg_fail(b, &where,
							"a duplicate default server for %s",
							ls->text);
				g->default_srv = srv;
				g->listen = ls;
			}
next:;
		}
	}
	for (int j = 0; j < h->nlgroups; j++) {
		struct listen_group *g = &h->lgroups[j];

		if (!g->default_srv)
			g->default_srv = g->servers[0];
		char text[LBD_SA_TEXT_MAX];

		lbd_sa_text(&g->listen->addr, 0, LBD_SA_PORT, text, sizeof(text));
		if (!(g->text = pool_strdup(b->pool, text)))
			return cfg_fail(b, NULL, "out of memory");
		/* the request parser's bound: Host may choose any of them */
		int64_t num = 0, size = 0;

		for (int i = 0; i < g->nservers; i++) {
			const struct cfg_srv *s = g->servers[i];

			g->max_headers = LBD_MAX(g->max_headers, s->max_headers);
			num = LBD_MAX(num, (int64_t)s->large_header_num);
			size = LBD_MAX(size, s->large_header_size);
		}
		g->head_max = (size_t)(g->default_srv->client_header_buffer_size + num * size);
	}
	return 0;
}

/* nginx logs to logs/access.log in the combined format unless told
 * otherwise at the http level. */
static int default_access_log(struct build *b, struct cfg_http *h)
{
	struct alog *a, **slot, **all;
	int rc;

	if (h->loc.alog_set)
		return 0;
	a = pool_zalloc(b->pool, sizeof(*a));
	slot = a ? PUSH(b, h->loc.alogs, h->loc.nalogs) : NULL;
	all = slot ? PUSH(b, b->cfg->alogs, b->cfg->nalogs) : NULL;
	if (!all) {
		snprintf(b->err, b->errlen, "out of memory");
		return -1;
	}
	*slot = *all = a;
	a->path = cfg_full_path(b, b->cfg->prefix, "logs/access.log");
	a->fmt = alog_combined();
	rc = alog_open(a);
	if (rc) {
		b->cfg->nalogs--;
		snprintf(b->err, b->errlen, "open() \"%s\" failed (%d: %s)", a->path, -rc,
			 strerror(-rc));
		return -1;
	}
	return 0;
}

/* check_tree - the checks nginx makes when it merges a location (its
 * buffer sizes), for L and every location inside. 0 or -1. */
static int check_tree(struct build *b, struct cfg_loc *l)
{
	struct cfg_loc **lists[] = {l->exact, l->prefix, l->regex, l->named};
	int counts[] = {l->nexact, l->nprefix, l->nregex, l->nnamed};

	if (cfg_twin_cache_check(b, l))
		return -1;
	cfg_fastcgi_apply(l); /* a fastcgi_pass location reads the fastcgi_* twins */
	cfg_uwsgi_apply(l);   /* a uwsgi_pass (scgi_pass) one the uwsgi_* (scgi_*) twins */
	cfg_memc_apply(l);    /* a memcached_pass one the memcached_* twins */
	cfg_grpc_apply(l);    /* a grpc_pass one the grpc_* twins */
	if (cfg_proxy_bufs_check(b, l, &b->http_end) || cfg_charset_check(b, &l->charset) ||
	    cfg_upssl_check(b, l, &b->http_end) || cfg_hc_note_loc(b, l) ||
	    cfg_referer_check(b, &l->referer) || cfg_securelink_check(b, &l->seclink))
		return -1;
	for (int i = 0; i < l->nrewrites; i++)
		if (cfg_if_body(l, i, true) && check_tree(b, cfg_if_body(l, i, true)))
			return -1;
	for (int k = 0; k < 4; k++)
		for (int i = 0; i < counts[k]; i++)
			if (check_tree(b, lists[k][i]))
				return -1;
	return 0;
}

int cfg_finish_http(struct build *b, struct cfg_http *h)
{
	if (default_access_log(b, h))
		return -1;
	cfg_merge_loc(b, &h->loc, NULL);
	for (int i = 0; i < h->nservers; i++) {
		struct cfg_srv *srv = h->servers[i];

#define SMERGE(f, def)           \
	if (srv->f == CFG_UNSET) \
		srv->f = h->srv_http->f != CFG_UNSET ? h->srv_http->f : (def);
		SMERGE(client_header_timeout, 60000);
		SMERGE(client_header_buffer_size, 1024);
		SMERGE(large_header_num, 4);
		SMERGE(large_header_size, 8192);
		SMERGE(underscores_in_headers, 0);
		SMERGE(ignore_invalid_headers, 1);
		SMERGE(merge_slashes, 1);
		SMERGE(max_headers, HTTP_MAX_HEADERS_ALL);
		SMERGE(http2, 0);
		SMERGE(h2_max_streams, 128);
		SMERGE(h2_max_field, CFG_UNSET);
		SMERGE(h2_max_header, CFG_UNSET);
		SMERGE(h2_idle_timeout, CFG_UNSET);
		SMERGE(h2_recv_timeout, CFG_UNSET);
		SMERGE(h2_max_requests, CFG_UNSET);
#undef SMERGE
		cfg_merge_tree(b, &srv->loc, &h->loc);
		if (bind_tree(b, &srv->loc))
			return -1;
	}
	/* after every merge: a level's defaults are its own, not inherited */
	if (check_tree(b, &h->loc))
		return -1;
	for (int i = 0; i < h->nservers; i++)
		if (check_tree(b, &h->servers[i]->loc))
			return -1;
	if (group_listens(b, h) || cfg_hc_finish(b, h))
		return -1;
	if (cfg_tls_finish(b, h))
		return -1;
	if (cfg_limit_finish(b, h))
		return -1;
	if (cfg_cache_finish(b, h))
		return -1;
	h->upstreams = b->groups;
	h->nupstreams = b->ngroups;
	for (int i = 0; i < b->ngroups; i++) {
		struct ups_group *g = b->groups[i];
		struct cfg_node where = {.file = g->file, .line = g->line};

		if (ups_group_init(g))
			return cfg_fail(b, &where, "cannot initialize upstream \"%s\"", g->name);
	}
	return 0;
}

/* Names compiled as CVAL_NAMED must be `set` variables or named captures
 * somewhere in the configuration; nginx checks this once all is parsed. */
static bool name_is_set_var(const struct cfg_loc *l, const char *name, size_t len)
{
	const struct cfg_loc *const *lists[] = {
		(const struct cfg_loc *const *)l->exact, (const struct cfg_loc *const *)l->prefix,
		(const struct cfg_loc *const *)l->regex, (const struct cfg_loc *const *)l->named};
	int counts[] = {l->nexact, l->nprefix, l->nregex, l->nnamed};

	if (cfg_authreq_declares(&l->auth, name, len))
		return true;
	for (int i = 0; i < l->nrewrites; i++)
		if (l->rewrites[i].kind == RW_SET && strlen(l->rewrites[i].repl.raw) == len &&
		    memcmp(l->rewrites[i].repl.raw, name, len) == 0)
			return true;
	for (int i = 0; i < l->nrewrites; i++)
		if (cfg_if_body(l, i, false) &&
		    name_is_set_var(cfg_if_body(l, i, false), name, len))
			return true;
	for (int k = 0; k < 4; k++)
		for (int i = 0; i < counts[k]; i++)
			if (name_is_set_var(lists[k][i], name, len))
				return true;
	return false;
}

static bool re_has_name(void *re, const char *name, size_t len)
{
	return re && var_regex_has_name(re, name, len);
}

static bool name_is_capture(const struct cfg_loc *l, const char *name, size_t len)
{
	const struct cfg_loc *const *lists[] = {(const struct cfg_loc *const *)l->prefix,
						(const struct cfg_loc *const *)l->regex};
	int counts[] = {l->nprefix, l->nregex};

	if (re_has_name(l->re, name, len))
		return true;
	for (int i = 0; i < l->nredirects; i++)
		if (re_has_name(l->redirects[i].re, name, len))
			return true;
	for (int i = 0; i < l->nrewrites; i++)
		if (re_has_name(l->rewrites[i].re, name, len) ||
		    (cfg_if_body(l, i, false) &&
		     (re_has_name(l->rewrites[i].cond->re, name, len) ||
		      name_is_capture(cfg_if_body(l, i, false), name, len))))
			return true;
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < counts[k]; i++)
			if (name_is_capture(lists[k][i], name, len))
				return true;
	return false;
}

int cfg_check_unresolved(struct build *b)
{
	struct cfg_http *h = b->cfg->http;

	for (int i = 0; i < b->cv.nunresolved; i++) {
		struct cval_part *pt = b->cv.unresolved[i];
		bool ok = false;

		for (int k = 0; h && k < h->nservers && !ok; k++) {
			struct cfg_srv *srv = h->servers[k];

			ok = name_is_set_var(&srv->loc, pt->str, pt->len) ||
			     name_is_capture(&srv->loc, pt->str, pt->len);
			for (int j = 0; j < srv->nnames && !ok; j++)
				ok = re_has_name(srv->names[j].re, pt->str, pt->len);
		}
		for (struct cfg_map *m = h ? h->maps : NULL; m && !ok; m = m->next)
			for (int j = 0; j < m->nregex && !ok; j++)
				ok = re_has_name(m->regex[j].re, pt->str, pt->len);
		if (!ok) {
			snprintf(b->err, b->errlen, "unknown \"%.*s\" variable", (int)pt->len,
				 pt->str);
			return -1;
		}
	}
	return 0;
}
