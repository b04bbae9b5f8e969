/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, inheritance: once http {} is read, every value a
 * level (http, server, location, a location's if and limit_except blocks)
 * left unset takes its parent's, or nginx's default at the top, as nginx's
 * merge handlers do; a list is inherited whole unless the level set its
 * own. A module with a struct of its own merges it in its cfg_X_merge().
 * Also sorts a level's MIME types and prefix locations for lookup.
 * cfg_finish.c runs it.
 */

#define PCRE2_CODE_UNIT_WIDTH 8
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "autoindex.h"
#include "lbd.h"
#include "pool.h"

#include "cfg_int.h"

#define MERGE(f, def)                            \
	do {                                     \
		if (l->f == CFG_UNSET)           \
			l->f = p ? p->f : (def); \
	} while (0)
#define MERGE_PTR(f)                 \
	do {                         \
		if (!l->f && p)      \
			l->f = p->f; \
	} while (0)
#define MERGE_LIST(f)                                  \
	do {                                           \
		if (!l->f.set && p)                    \
			l->f = p->f, l->f.set = false; \
	} while (0)

static struct mime_types default_types;

static int cmp_mime(const void *a, const void *b)
{
	return strcmp(((const struct mime_type *)a)->ext, ((const struct mime_type *)b)->ext);
}

static int cmp_prefix_len(const void *a, const void *b)
{
	const struct cfg_loc *x = *(struct cfg_loc *const *)a, *y = *(struct cfg_loc *const *)b;

	return (int)y->patlen - (int)x->patlen;
}

void cfg_merge_loc(struct build *b, struct cfg_loc *l, const struct cfg_loc *p)
{
	MERGE(proxy_http_version, 10);
	MERGE(proxy_connect_timeout, 60000);
	MERGE(proxy_send_timeout, 60000);
	MERGE(proxy_read_timeout, 60000);
	MERGE(proxy_next_upstream, NU_ERROR | NU_TIMEOUT);
	MERGE(proxy_next_upstream_tries, 0);
	MERGE(proxy_next_upstream_timeout, 0);
	MERGE(proxy_buffering, 1);
	MERGE(proxy_buffer_size, 4096);
	MERGE(proxy_buffers_num, 8);
	MERGE(proxy_buffers_size, 4096);
	MERGE(proxy_busy_buffers_size, CFG_UNSET); /* cfg_proxy_bufs_check() */
	MERGE(proxy_max_temp_file_size, (int64_t)1024 << 20);
	MERGE(proxy_temp_file_write_size, CFG_UNSET);
	MERGE_PTR(proxy_temp_path);
	MERGE_PTR(proxy_method);
	MERGE_PTR(proxy_set_body);
	MERGE_PTR(proxy_bind);
	if (!l->proxy_temp_path)
		l->proxy_temp_path = cfg_full_path(b, b->cfg->prefix, "proxy_temp");
	MERGE(proxy_request_buffering, 1);
	MERGE(redirect_mode, 1);
	if (l->redirect_mode == 2 && !l->redirects && p) {
		l->redirects = p->redirects;
		l->nredirects = p->nredirects;
	}
	MERGE(proxy_intercept_errors, 0);
	MERGE(proxy_pass_request_headers, 1);
	MERGE(proxy_pass_request_body, 1);
	MERGE(proxy_ignore_client_abort, 0);
	MERGE_LIST(proxy_headers);
	MERGE_LIST(proxy_hide_header);
	MERGE_LIST(proxy_pass_header);
	if (!l->root && p) {
		l->root = p->root;
		l->root_is_alias = p->root_is_alias;
	}
	if (!l->root) {
		l->root = pool_zalloc(b->pool, sizeof(*l->root));
		if (l->root)
			cfg_compile(b, &(struct cfg_node){.file = "", .line = 0},
				    cfg_full_path(b, b->cfg->prefix, "html"), l->root);
		l->root_is_alias = 0;
	}
	MERGE_LIST(index);
	if (!l->index.n) {
		l->index.v = pool_alloc(b->pool, sizeof(char *));
		if (l->index.v) {
			l->index.v[0] = "index.html";
			l->index.n = 1;
		}
	}
	MERGE(expires_mode, 0);
	if (p && l->expires_mode == p->expires_mode && !l->expires)
		l->expires = p->expires;
	if (p && l->expires_mode == 5 && !l->expires_var)
		l->expires_var = p->expires_var;
	MERGE(sendfile, 0);
	MERGE(absolute_redirect, 1);
	MERGE(port_in_redirect, 1);
	MERGE(server_name_in_redirect, 0);
	MERGE(tcp_nopush, 0);
	MERGE(tcp_nodelay, 1);
	MERGE(autoindex, 0);
	MERGE(autoindex_exact_size, 1);
	MERGE(autoindex_localtime, 0);
	MERGE(autoindex_format, AUTOINDEX_HTML);
	MERGE(random_index, 0);
	MERGE(mp4_buffer_size, 512 * 1024);
	MERGE(mp4_max_buffer_size, 10 * 1024 * 1024);
	MERGE(mp4_start_key_frame, 0);
	MERGE(proxy_socket_keepalive, 0);
	MERGE(log_not_found, 1);
	MERGE(rewrite_log, 0);
	MERGE(auth_delay, 0);
	MERGE(etag, 1);
	if (l->disable_symlinks == CFG_UNSET) {
		/* the mode and its from= go together, as nginx merges them */
		l->disable_symlinks = p ? p->disable_symlinks : CFG_SYMLINKS_OFF;
		l->disable_symlinks_from = p ? p->disable_symlinks_from : NULL;
	}
	MERGE_PTR(types);
	if (!l->types)
		l->types = &default_types;
	MERGE_PTR(default_type);
	if (!l->default_type)
		l->default_type = "text/plain";
	MERGE_LIST(add_headers);
	MERGE_LIST(add_trailers);
	if (!l->error_pages_set && p) {
		l->error_pages = p->error_pages;
		l->nerror_pages = p->nerror_pages;
	}
	MERGE(server_tokens, 1);
	MERGE(recursive_error_pages, 0);
	MERGE(client_max_body_size, 1024 * 1024);
	MERGE(client_body_timeout, 60000);
	MERGE_PTR(resolver);
	MERGE(resolver_timeout, 30000);
	MERGE(client_body_buffer_size, 16384);
	MERGE(body_in_file, BODY_FILE_OFF);
	MERGE(body_single_buffer, 0);
	if (!l->client_body_temp_path && p) /* the levels go with the path */
		memcpy(l->body_temp_lv, p->body_temp_lv, sizeof(l->body_temp_lv));
	MERGE_PTR(client_body_temp_path);
	if (!l->client_body_temp_path)
		l->client_body_temp_path = cfg_full_path(b, b->cfg->prefix, "client_body_temp");
	MERGE(send_timeout, 60000);
	MERGE(keepalive_timeout, 75000);
	MERGE(keepalive_requests, 1000);
	MERGE(lingering_timeout, 5000);
	MERGE(lingering_time, 30000);
	MERGE(chunked_transfer_encoding, 1);
	MERGE(max_ranges, INT_MAX);
	MERGE(slice, 0);
	MERGE(proxy_force_ranges, 0);
	/* off by default until the sockmap path's duplicated bytes under load
	 * are understood (README, "WebSockets") */
	MERGE(kernel_splice, 1);
	if (!l->access_set && p) {
		l->access = p->access;
		l->naccess = p->naccess;
	}
	if (!l->f2b_set && p) {
		l->f2b = p->f2b;
		l->nf2b = p->nf2b;
	}
	if (!l->alog_set && p) {
		l->alogs = p->alogs;
		l->nalogs = p->nalogs;
		l->alog_off = p->alog_off;
	}
	MERGE_PTR(error_log);
	cfg_limit_merge(&l->rl, p ? &p->rl : NULL);
	cfg_gzip_merge(&l->gzip, p ? &p->gzip : NULL);
	cfg_store_merge(&l->store, p ? &p->store : NULL);
	cfg_browser_merge(b, &l->browser, p ? &p->browser : NULL);
	cfg_charset_merge(&l->charset, p ? &p->charset : NULL);
	cfg_rate_merge(&l->rate, p ? &p->rate : NULL);
	cfg_subfilter_merge(&l->subf, p ? &p->subf : NULL);
	cfg_addition_merge(&l->add, p ? &p->add : NULL);
	cfg_ssi_merge(&l->ssi, p ? &p->ssi : NULL);
	cfg_cookie_merge(&l->cookie, p ? &p->cookie : NULL);
	cfg_upssl_merge(&l->upssl, p ? &p->upssl : NULL);
	cfg_realip_merge(&l->realip, p ? &p->realip : NULL);
	cfg_referer_merge(&l->referer, p ? &p->referer : NULL);
	cfg_securelink_merge(&l->seclink, p ? &p->seclink : NULL);
	cfg_fastcgi_merge(&l->fcgi, p ? &p->fcgi : NULL);
	cfg_uwsgi_merge(&l->uwsgi, p ? &p->uwsgi : NULL);
	cfg_scgi_merge(&l->scgi, p ? &p->scgi : NULL);
	cfg_memc_merge(&l->memc, p ? &p->memc : NULL);
	cfg_userid_merge(&l->userid, p ? &p->userid : NULL);
	cfg_grpc_merge(&l->grpc, p ? &p->grpc : NULL);
	cfg_auth_merge(&l->auth, p ? &p->auth : NULL);
	cfg_mirror_merge(&l->mirror, p ? &p->mirror : NULL);
	cfg_dav_merge(&l->dav, p ? &p->dav : NULL);
	cfg_cache_merge(&l->cache, p ? &p->cache : NULL);
	if (l->types && l->types != &default_types && l->types->n && (!p || l->types != p->types))
		qsort(l->types->v, (size_t)l->types->n, sizeof(struct mime_type), cmp_mime);
	if (l->nprefix > 1)
		qsort(l->prefix, (size_t)l->nprefix, sizeof(*l->prefix), cmp_prefix_len);
}

void cfg_merge_tree(struct build *b, struct cfg_loc *l, const struct cfg_loc *p)
{
	cfg_merge_loc(b, l, p);
	if (l->auth.lmt) /* limit_except's block inherits the location's settings */
		cfg_merge_loc(b, l->auth.lmt, l);
	/* a location's if: nginx's nameless location inside it, whose content
	 * handler (proxy_pass, stub_status) stays the location's unless set */
	for (int i = 0; i < l->nrewrites; i++) {
		struct cfg_loc *in = cfg_if_body(l, i, true);

		if (!in)
			continue;
		if (!in->proxy) {
			in->empty_gif |= l->empty_gif;
			in->flv |= l->flv;
			in->mp4 |= l->mp4;
			in->proxy = l->proxy;
		}
		in->stub_status |= l->stub_status;
		in->lbd_metrics |= l->lbd_metrics;
		cfg_merge_tree(b, in, l);
	}
	for (int i = 0; i < l->nexact; i++)
		cfg_merge_tree(b, l->exact[i], l);
	for (int i = 0; i < l->nprefix; i++)
		cfg_merge_tree(b, l->prefix[i], l);
	for (int i = 0; i < l->nregex; i++)
		cfg_merge_tree(b, l->regex[i], l);
	for (int i = 0; i < l->nnamed; i++)
		cfg_merge_tree(b, l->named[i], l);
}

void cfg_init_default_types(void)
{
	static struct mime_type t[] = {
		{"gif", "image/gif"},	{"htm", "text/html"},  {"html", "text/html"},
		{"jpeg", "image/jpeg"}, {"jpg", "image/jpeg"},
	};

	default_types.v = t;
	default_types.n = ARRAY_SIZE(t);
}
