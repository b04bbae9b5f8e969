/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, the life of a generation: cfg_load() reads the
 * files (after the -g directives) into a syntax tree (cfg_ast.c), applies
 * the directive table (cfg.c) to it in a pool of its own and finishes it
 * (cfg_finish.c); cfg_ref() and cfg_unref() share it between the workers
 * and a reload, the last reference releasing what lives outside the pool
 * (regexes, upstream groups, zones, TLS contexts, open logs). A build that
 * fails half-way is released the same way.
 */

#define PCRE2_CODE_UNIT_WIDTH 8
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "alog.h"
#include "cfg.h"
#include "cfg_ast.h"
#include "lbd.h"
#include "log.h"
#include "pool.h"
#include "ups.h"

#include "cfg_int.h"

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path + 1) : 0;
	char *d = malloc(n + 3);

	if (!d)
		return NULL;
	if (n) {
		memcpy(d, path, n);
		d[n] = '\0';
	} else {
		strcpy(d, "./");
	}
	return d;
}

struct cfg *cfg_load(const struct cfg_opts *o, char *err, size_t errlen)
{
	struct build b = {.err = err, .errlen = errlen};
	struct cfg_tree *tree = NULL;
	struct pool *pool;
	struct cfg *c;
	struct scope top = {.ctx = C_MAIN};

	cfg_init_default_types();
	pool = calloc(1, sizeof(*pool));
	if (!pool) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pool_init(pool, 16384);
	c = pool_zalloc(pool, sizeof(*c));
	tree = calloc(1, sizeof(*tree));
	if (!c || !tree)
		goto oom;
	atomic_init(&c->refs, 1);
	c->arena = pool;
	c->tree = tree;
	c->workers = 1;
	c->worker_connections = 512;
	c->worker_rlimit_nofile = CFG_UNSET;
	c->worker_rlimit_core = CFG_UNSET;
	c->epoll_events = CFG_UNSET;
	c->reuseport_steering = CFG_UNSET;
	c->conns_per_ip = CFG_UNSET;
	c->bpf_pin_path = pool_strdup(pool, "/sys/fs/bpf/lbd");
	c->prefix = pool_strdup(pool, o->prefix);
	c->conf_file = cfg_full_path(&(struct build){.pool = pool}, o->prefix, o->conf_file);
	if (!c->prefix || !c->conf_file)
		goto oom;
	{
		char *d = dir_of(c->conf_file);

		if (!d)
			goto oom;
		c->conf_prefix = pool_strdup(pool, d);
		free(d);
	}
	b.cfg = c;
	b.pool = pool;
	b.cv.pool = pool;
	cfg_tree_init(tree);
	/* -g directives come first in the main context, as in nginx */
	if (o->directives && o->directives[0] &&
	    cfg_tree_parse_string(tree, o->directives, NULL, NULL, err, errlen))
		goto fail;
	if (cfg_tree_parse_file(tree, c->conf_file, c->conf_prefix, err, errlen))
		goto fail;
	if (cfg_block(&b, &tree->root, &top))
		goto fail;
	if (c->cpu_affinity && !c->cpu_affinity_auto && c->ncpu_affinity != 1 &&
	    c->ncpu_affinity != c->workers)
		log_warn("the number of \"worker_processes\" is not equal to the number of "
			 "\"worker_cpu_affinity\" masks, using last mask for remaining worker "
			 "processes");
	if (c->conns_per_ip == CFG_UNSET) /* one address never takes the whole box */
		c->conns_per_ip = LBD_MAX(16, c->workers * c->worker_connections / 4);
	if (c->http && cfg_finish_http(&b, c->http))
		goto fail;
	if (c->stream && cfg_stream_finish(&b, c->stream))
		goto fail;
	if (cfg_check_unresolved(&b))
		goto fail;
	if (c->http)
		c->http->body_file_var = b.cv.body_file_used;
	if (!c->pid_file)
		c->pid_file = cfg_full_path(&b, c->prefix, "logs/lbd.pid");
	if (!c->ctl_socket_set)
		c->ctl_socket = cfg_full_path(&b, c->prefix, "logs/lbd.sock");
	if (!c->ctl_socket_mode)
		c->ctl_socket_mode = 0600;
	return c;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	/*
	 * What was built before the error (regexes, upstream groups, limit
	 * zones, open logs) is released as for a finished generation: PUSH
	 * zeroes each entry it counts and the caller fills it at once, and a
	 * log is listed only once open, so a half-built generation is a
	 * valid, smaller one. (fuzz_cfgload found the regexes leaking.)
	 */
	if (c) {
		c->tree = tree;
		cfg_unref(c);
		return NULL;
	}
	if (tree) {
		cfg_tree_free(tree);
		free(tree);
	}
	pool_destroy(pool);
	free(pool);
	return NULL;
}

void cfg_ref(struct cfg *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

static void release_regexes(struct cfg_loc *l)
{
	struct cfg_loc **lists[] = {l->exact, l->prefix, l->regex, l->named};
	int counts[] = {l->nexact, l->nprefix, l->nregex, l->nnamed};

	if (l->re)
		pcre2_code_free(l->re);
	for (int i = 0; i < l->nrewrites; i++) {
		if (l->rewrites[i].re)
			pcre2_code_free(l->rewrites[i].re);
		if (cfg_if_body(l, i, false)) {
			if (l->rewrites[i].cond->re)
				pcre2_code_free(l->rewrites[i].cond->re);
			release_regexes(cfg_if_body(l, i, false));
		}
	}
	for (int i = 0; i < l->nredirects; i++)
		if (l->redirects[i].re && l->redirect_mode == 2 &&
		    (!l->parent || l->parent->redirects != l->redirects))
			pcre2_code_free(l->redirects[i].re);
	/* proxy_cookie_* regexes, at the level that wrote them (inherited
	 * lists are the parent's) */
	const struct cookie_loc *ck = &l->cookie, *pk = l->parent ? &l->parent->cookie : NULL;

	for (int i = 0; i < ck->ndomains; i++)
		if (ck->domains[i].re && (!pk || pk->domains != ck->domains))
			pcre2_code_free(ck->domains[i].re);
	for (int i = 0; i < ck->npaths; i++)
		if (ck->paths[i].re && (!pk || pk->paths != ck->paths))
			pcre2_code_free(ck->paths[i].re);
	for (int i = 0; i < ck->nflags; i++)
		if (ck->flags[i].re && (!pk || pk->flags != ck->flags))
			pcre2_code_free(ck->flags[i].re);
	cfg_referer_release(&l->referer);
	cfg_fastcgi_release(&l->fcgi);
	for (int k = 0; k < 4; k++)
		for (int i = 0; i < counts[k]; i++)
			release_regexes(lists[k][i]);
}

void cfg_unref(struct cfg *c)
{
	struct pool *pool;

	if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (c->http) {
		release_regexes(&c->http->loc); /* http-level proxy_redirect / proxy_cookie_* */
		for (int i = 0; i < c->http->nservers; i++) {
			struct cfg_srv *srv = c->http->servers[i];

			release_regexes(&srv->loc);
			for (int k = 0; k < srv->nnames; k++)
				if (srv->names[k].re)
					pcre2_code_free(srv->names[k].re);
		}
		for (struct cfg_map *m = c->http->maps; m; m = m->next)
			for (int k = 0; k < m->nregex; k++)
				pcre2_code_free(m->regex[k].re);
		for (int i = 0; i < c->http->nupstreams; i++)
			ups_group_release(c->http->upstreams[i]);
		cfg_limit_release(c->http);
		cfg_cache_release(c->http);
		cfg_tls_release(c->http);
		cfg_upssl_release(c->http);
		cfg_hc_release(c->http);
	}
	cfg_stream_release(c->stream);
	for (int i = 0; i < c->nalogs; i++)
		alog_close(c->alogs[i]);
	if (c->tree) {
		cfg_tree_free(c->tree);
		free(c->tree);
	}
	pool = c->arena;
	pool_destroy(pool);
	free(pool);
}

void cfg_dump(const struct cfg *c, FILE *out)
{
	cfg_tree_dump(c->tree, out);
}
