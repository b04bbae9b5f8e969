/* SPDX-License-Identifier: MIT */
/*
 * Configuration of ngx_http_fastcgi_module's own directives: fastcgi_pass
 * (a proxy_pass whose upstream speaks FastCGI), fastcgi_param,
 * fastcgi_index, fastcgi_split_path_info, fastcgi_keep_conn, and their
 * inheritance. The fastcgi_* twins of proxy_* settings (timeouts, retries,
 * buffers, headers, and *_cache*, whose setters are in cfg_fcache.c) are
 * a struct fcgi_twins that uwsgi_* and scgi_* share: its setters, merge
 * and apply are here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cfg.h"
#include "cfg_int.h"
#include "lbd.h"

int cfg_set_fastcgi_pass(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_node pn = *n;
	const char *a = n->args[0];
	char *url, *args[1];
	size_t al = strlen(a);

	if (s->loc->proxy)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (!a[0])
		return cfg_fail(b, n, "invalid URL prefix in \"%s\"", a);
	/* nginx takes an address (host:port, unix:PATH), an upstream name or
	 * variables: written here as the http:// URL proxy_pass parses */
	url = pool_alloc(b->pool, al + 8);
	if (!url)
		return cfg_fail(b, n, "out of memory");
	memcpy(url, "http://", 7);
	memcpy(url + 7, a, al + 1);
	if (!strchr(a, '$') && strncmp(a, "unix:", 5) != 0 && strchr(a, '/'))
		return cfg_fail(b, n, "invalid host in upstream \"%s\"", a);
	args[0] = url;
	pn.args = args;
	pn.name = "fastcgi_pass";
	if (cfg_set_proxy_pass(b, &pn, s, d))
		return -1;
	s->loc->proxy->fastcgi = true;
	return 0;
}

int cfg_param_add(struct build *b, struct cfg_node *n, struct fcgi_param **params, int *nparams,
		  bool *params_set, bool *http_params)
{
	struct fcgi_param *p;

	if (n->nargs == 3 && strcmp(n->args[2], "if_not_empty") != 0)
		return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[2]);
	if (!*params_set) { /* a level with params replaces the outer list */
		*params = NULL;
		*nparams = 0;
		*http_params = false;
		*params_set = true;
	}
	p = PUSH(b, *params, *nparams);
	if (!p)
		return cfg_fail(b, n, "out of memory");
	p->name = pool_strdup(b->pool, n->args[0]);
	if (!p->name)
		return cfg_fail(b, n, "out of memory");
	p->namelen = strlen(p->name);
	p->if_not_empty = n->nargs == 3;
	if (p->namelen > 5 && strncmp(p->name, "HTTP_", 5) == 0)
		*http_params = true;
	return cfg_compile(b, n, n->args[1], &p->value);
}

int cfg_set_fastcgi_param(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct fcgi_loc *f = &s->loc->fcgi;

	(void)d;
	return cfg_param_add(b, n, &f->params, &f->nparams, &f->params_set, &f->http_params);
}

int cfg_set_fastcgi_index(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	if (s->loc->fcgi.index)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	s->loc->fcgi.index = pool_strdup(b->pool, n->args[0]);
	return s->loc->fcgi.index ? 0 : cfg_fail(b, n, "out of memory");
}

int cfg_set_fastcgi_split(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct fcgi_loc *f = &s->loc->fcgi;
	uint32_t caps = 0;

	(void)d;
	if (f->split_own)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	f->split_re = cfg_compile_re(b, n, n->args[0], false);
	if (!f->split_re)
		return -1;
	f->split_own = true;
	pcre2_pattern_info(f->split_re, PCRE2_INFO_CAPTURECOUNT, &caps);
	if (caps != 2)
		return cfg_fail(b, n, "pattern \"%s\" must have 2 captures", n->args[0]);
	return 0;
}

/* The proxy_* setters that write fields of their own, run on the twin:
 * the twin swapped into the proxy field, the setter, swapped back. */
#define SWAP(a, b)                             \
	do {                                   \
		__typeof__(a) swap_tmp_ = (a); \
		(a) = (b);                     \
		(b) = swap_tmp_;               \
	} while (0)

/* TWINS - the struct fcgi_twins a twin directive's entry names (its
 * offset in struct cfg_loc: fcgi.t, uwsgi.t). */
#define TWINS(s, d) ((struct fcgi_twins *)((char *)(s)->loc + (d)->off))

int cfg_set_twin_next_upstream(struct build *b, struct cfg_node *n, struct scope *s,
			       const struct dir *d)
{
	struct cfg_loc *l = s->loc;
	struct fcgi_twins *t = TWINS(s, d);
	int rc;

	if (t->next_upstream != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	SWAP(l->proxy_next_upstream, t->next_upstream);
	rc = cfg_set_next_upstream(b, n, s, d);
	SWAP(l->proxy_next_upstream, t->next_upstream);
	return rc;
}

int cfg_set_twin_buffers(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_loc *l = s->loc;
	struct fcgi_twins *t = TWINS(s, d);
	int rc;

	SWAP(l->proxy_buffers_num, t->buffers_num);
	SWAP(l->proxy_buffers_size, t->buffers_size);
	rc = cfg_set_proxy_buffers(b, n, s, d);
	SWAP(l->proxy_buffers_num, t->buffers_num);
	SWAP(l->proxy_buffers_size, t->buffers_size);
	return rc;
}

int cfg_set_twin_ignore_headers(struct build *b, struct cfg_node *n, struct scope *s,
				const struct dir *d)
{
	struct cfg_loc *l = s->loc;
	struct fcgi_twins *t = TWINS(s, d);
	int rc;

	SWAP(l->cache.ignore, t->cache.ignore);
	rc = cfg_set_ignore_headers(b, n, s, d);
	SWAP(l->cache.ignore, t->cache.ignore);
	return rc;
}

int cfg_set_twin_bind(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_loc *l = s->loc;
	struct fcgi_twins *t = TWINS(s, d);
	int rc;

	SWAP(l->proxy_bind, t->bind);
	rc = cfg_set_proxy_bind(b, n, s, d);
	SWAP(l->proxy_bind, t->bind);
	return rc;
}

int cfg_set_twin_limit_rate(struct build *b, struct cfg_node *n, struct scope *s,
			    const struct dir *d)
{
	struct cfg_loc *l = s->loc;
	struct fcgi_twins *t = TWINS(s, d);
	int rc;

	SWAP(l->rate.proxy_rate, t->limit_rate);
	SWAP(l->rate.proxy_rate_set, t->limit_rate_set);
	rc = cfg_set_proxy_limit_rate(b, n, s, d);
	SWAP(l->rate.proxy_rate, t->limit_rate);
	SWAP(l->rate.proxy_rate_set, t->limit_rate_set);
	return rc;
}

void cfg_twins_init(struct fcgi_twins *t)
{
	t->connect_timeout = t->send_timeout = t->read_timeout = CFG_UNSET;
	t->next_upstream = t->next_upstream_tries = CFG_UNSET;
	t->next_upstream_timeout = CFG_UNSET;
	t->buffering = t->request_buffering = CFG_UNSET;
	t->buffer_size = t->buffers_size = t->busy_buffers_size = CFG_UNSET;
	t->buffers_num = CFG_UNSET;
	t->max_temp_file_size = t->temp_file_write_size = CFG_UNSET;
	t->intercept_errors = t->pass_request_headers = t->pass_request_body = CFG_UNSET;
	t->ignore_client_abort = t->socket_keepalive = CFG_UNSET;
	cfg_cache_init(&t->cache);
	cfg_store_init(&t->store);
	t->force_ranges = CFG_UNSET;
}

void cfg_fastcgi_init(struct fcgi_loc *f)
{
	f->keep_conn = CFG_UNSET;
	cfg_twins_init(&f->t);
}

#define TMERGE(f, def)                             \
	do {                                       \
		if (t->f == CFG_UNSET)             \
			t->f = pt ? pt->f : (def); \
	} while (0)

void cfg_twins_merge(struct fcgi_twins *t, const struct fcgi_twins *pt)
{
	/* nginx's fastcgi/uwsgi defaults: those of proxy_* but the temp path */
	TMERGE(connect_timeout, 60000);
	TMERGE(send_timeout, 60000);
	TMERGE(read_timeout, 60000);
	TMERGE(next_upstream, NU_ERROR | NU_TIMEOUT);
	TMERGE(next_upstream_tries, 0);
	TMERGE(next_upstream_timeout, 0);
	TMERGE(buffering, 1);
	TMERGE(request_buffering, 1);
	TMERGE(buffer_size, 4096);
	TMERGE(buffers_num, 8);
	TMERGE(buffers_size, 4096);
	TMERGE(busy_buffers_size, CFG_UNSET); /* made from the sizes (cfg_proxy_bufs_check) */
	TMERGE(max_temp_file_size, (int64_t)1024 << 20);
	TMERGE(temp_file_write_size, CFG_UNSET);
	TMERGE(intercept_errors, 0);
	TMERGE(pass_request_headers, 1);
	TMERGE(pass_request_body, 1);
	TMERGE(ignore_client_abort, 0);
	TMERGE(socket_keepalive, 0);
	TMERGE(force_ranges, 0);
	cfg_cache_merge(&t->cache, pt ? &pt->cache : NULL);
	cfg_store_merge(&t->store, pt ? &pt->store : NULL);
	if (!pt)
		return;
	if (!t->hide_header.set)
		t->hide_header = pt->hide_header, t->hide_header.set = false;
	if (!t->pass_header.set)
		t->pass_header = pt->pass_header, t->pass_header.set = false;
	if (!t->temp_path)
		t->temp_path = pt->temp_path;
	if (!t->bind)
		t->bind = pt->bind;
	if (!t->limit_rate_set) {
		t->limit_rate = pt->limit_rate;
		t->limit_rate_set = pt->limit_rate_set;
	}
}

void cfg_fastcgi_merge(struct fcgi_loc *f, const struct fcgi_loc *p)
{
	cfg_twins_merge(&f->t, p ? &p->t : NULL);
	if (!p) {
		if (f->keep_conn == CFG_UNSET)
			f->keep_conn = 0;
		return;
	}
	if (!f->params_set) {
		f->params = p->params;
		f->nparams = p->nparams;
		f->http_params = p->http_params;
	}
	if (!f->index)
		f->index = p->index;
	if (!f->catch_stderr.set)
		f->catch_stderr = p->catch_stderr, f->catch_stderr.set = false;
	if (!f->split_re)
		f->split_re = p->split_re;
	if (f->keep_conn == CFG_UNSET)
		f->keep_conn = p->keep_conn;
}

void cfg_twins_apply(struct cfg_loc *l, const struct fcgi_twins *t)
{
	int ims_mode = l->cache.ims_mode; /* if_modified_since: the core module's */

	l->proxy_connect_timeout = t->connect_timeout;
	l->proxy_send_timeout = t->send_timeout;
	l->proxy_read_timeout = t->read_timeout;
	l->proxy_next_upstream = t->next_upstream;
	l->proxy_next_upstream_tries = t->next_upstream_tries;
	l->proxy_next_upstream_timeout = t->next_upstream_timeout;
	l->proxy_buffering = t->buffering;
	l->proxy_request_buffering = t->request_buffering;
	l->proxy_buffer_size = t->buffer_size;
	l->proxy_buffers_num = t->buffers_num;
	l->proxy_buffers_size = t->buffers_size;
	l->proxy_busy_buffers_size = t->busy_buffers_size;
	l->proxy_max_temp_file_size = t->max_temp_file_size;
	l->proxy_temp_file_write_size = t->temp_file_write_size;
	l->proxy_hide_header = t->hide_header;
	l->proxy_pass_header = t->pass_header;
	l->proxy_intercept_errors = t->intercept_errors;
	l->proxy_pass_request_headers = t->pass_request_headers;
	l->proxy_pass_request_body = t->pass_request_body;
	l->proxy_ignore_client_abort = t->ignore_client_abort;
	l->proxy_socket_keepalive = t->socket_keepalive;
	if (t->temp_path)
		l->proxy_temp_path = t->temp_path;
	l->proxy_bind = t->bind;
	l->rate.proxy_rate = t->limit_rate;
	l->rate.proxy_rate_set = t->limit_rate_set;
	/* the module's *_cache* in place of proxy_cache*; none of nginx's
	 * fastcgi, uwsgi and scgi modules has a convert_head (a HEAD goes as
	 * HEAD: REQUEST_METHOD is $request_method) */
	l->cache = t->cache;
	l->cache.ims_mode = ims_mode;
	l->cache.convert_head = 0;
	l->store = t->store;
	l->proxy_force_ranges = t->force_ranges;
	/* proxy_redirect, proxy_method, proxy_set_body and proxy_set_header
	 * are the proxy module's: none applies */
	l->redirect_mode = 0;
	l->proxy_method = NULL;
	l->proxy_set_body = NULL;
}

void cfg_fastcgi_apply(struct cfg_loc *l)
{
	if (l->proxy && l->proxy->fastcgi)
		cfg_twins_apply(l, &l->fcgi.t);
}

void cfg_fastcgi_release(struct fcgi_loc *f)
{
	if (f->split_own && f->split_re)
		pcre2_code_free(f->split_re);
	f->split_re = NULL;
	f->split_own = false;
}
