/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, the blocks of http: http {}, server {} and
 * location {} (a level with every inherited value unset, filed in its
 * parent's lists by kind of match, with nginx's nesting rules and
 * messages); listen and server_name; and the address parser (host:port,
 * [v6]:port, *:port, port, unix:PATH) that listen and resolver use and
 * cfg_proxy.c, cfg_stream.c and proxy_dyn.c share. The table that points
 * here is in cfg.c; the levels are merged by cfg_merge.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/un.h>

#include "pool.h"

#include "cfg_int.h"

static void loc_init(struct cfg_loc *l)
{
	memset(l, 0, sizeof(*l));
	l->proxy_http_version = CFG_UNSET;
	l->proxy_connect_timeout = CFG_UNSET;
	l->proxy_send_timeout = CFG_UNSET;
	l->proxy_read_timeout = CFG_UNSET;
	l->proxy_next_upstream = CFG_UNSET;
	l->proxy_next_upstream_tries = CFG_UNSET;
	l->proxy_next_upstream_timeout = CFG_UNSET;
	l->proxy_buffering = CFG_UNSET;
	l->proxy_buffer_size = CFG_UNSET;
	l->proxy_buffers_num = CFG_UNSET;
	l->proxy_buffers_size = CFG_UNSET;
	l->proxy_busy_buffers_size = CFG_UNSET;
	l->proxy_max_temp_file_size = CFG_UNSET;
	l->proxy_temp_file_write_size = CFG_UNSET;
	l->proxy_request_buffering = CFG_UNSET;
	l->redirect_mode = CFG_UNSET;
	l->proxy_intercept_errors = CFG_UNSET;
	l->proxy_pass_request_headers = CFG_UNSET;
	l->proxy_pass_request_body = CFG_UNSET;
	l->proxy_ignore_client_abort = CFG_UNSET;
	l->root_is_alias = CFG_UNSET;
	l->expires_mode = CFG_UNSET;
	l->sendfile = CFG_UNSET;
	l->absolute_redirect = CFG_UNSET;
	l->port_in_redirect = CFG_UNSET;
	l->server_name_in_redirect = CFG_UNSET;
	l->tcp_nopush = CFG_UNSET;
	l->tcp_nodelay = CFG_UNSET;
	l->autoindex = CFG_UNSET;
	l->autoindex_exact_size = CFG_UNSET;
	l->autoindex_localtime = CFG_UNSET;
	l->autoindex_format = CFG_UNSET;
	l->random_index = CFG_UNSET;
	l->mp4_buffer_size = l->mp4_max_buffer_size = CFG_UNSET;
	l->mp4_start_key_frame = CFG_UNSET;
	l->proxy_socket_keepalive = CFG_UNSET;
	cfg_fastcgi_init(&l->fcgi);
	cfg_uwsgi_init(&l->uwsgi);
	cfg_memc_init(&l->memc);
	cfg_userid_init(&l->userid);
	cfg_scgi_init(&l->scgi);
	cfg_grpc_init(&l->grpc);
	l->log_not_found = CFG_UNSET;
	l->rewrite_log = CFG_UNSET;
	l->etag = CFG_UNSET;
	l->disable_symlinks = CFG_UNSET;
	l->server_tokens = CFG_UNSET;
	l->recursive_error_pages = CFG_UNSET;
	l->client_max_body_size = CFG_UNSET;
	l->client_body_timeout = CFG_UNSET;
	l->resolver_timeout = CFG_UNSET;
	l->client_body_buffer_size = CFG_UNSET;
	l->body_in_file = l->body_single_buffer = CFG_UNSET;
	l->send_timeout = CFG_UNSET;
	l->keepalive_timeout = CFG_UNSET;
	l->keepalive_requests = CFG_UNSET;
	l->lingering_timeout = CFG_UNSET;
	l->lingering_time = CFG_UNSET;
	l->chunked_transfer_encoding = CFG_UNSET;
	l->max_ranges = CFG_UNSET;
	l->slice = CFG_UNSET;
	l->proxy_force_ranges = CFG_UNSET;
	cfg_store_init(&l->store);
	l->kernel_splice = CFG_UNSET;
	cfg_upssl_init(&l->upssl);
	cfg_limit_init(&l->rl);
	cfg_gzip_init(&l->gzip);
	cfg_subfilter_init(&l->subf);
	cfg_addition_init(&l->add);
	cfg_ssi_init(&l->ssi);
	cfg_realip_init(&l->realip);
	cfg_auth_init(&l->auth);
	l->auth_delay = CFG_UNSET;
	cfg_mirror_init(&l->mirror);
	cfg_dav_init(&l->dav);
	cfg_cache_init(&l->cache);
}

void cfg_loc_init(struct cfg_loc *l)
{
	loc_init(l);
}

/* srv_unset - the settings a server may inherit from http{}: unset. */
static void srv_unset(struct cfg_srv *srv)
{
	srv->client_header_timeout = CFG_UNSET;
	srv->client_header_buffer_size = CFG_UNSET;
	srv->large_header_num = CFG_UNSET;
	srv->large_header_size = CFG_UNSET;
	srv->underscores_in_headers = CFG_UNSET;
	srv->ignore_invalid_headers = CFG_UNSET;
	srv->merge_slashes = CFG_UNSET;
	srv->max_headers = CFG_UNSET;
	srv->http2 = CFG_UNSET;
	srv->h2_max_streams = CFG_UNSET;
	srv->h2_max_field = CFG_UNSET;
	srv->h2_max_header = CFG_UNSET;
	srv->h2_idle_timeout = CFG_UNSET;
	srv->h2_recv_timeout = CFG_UNSET;
	srv->h2_max_requests = CFG_UNSET;
}

int cfg_set_http(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_http *h;
	struct scope in = {0};

	(void)s, (void)d;
	if (b->cfg->http)
		return cfg_fail(b, n, "\"http\" directive is duplicate");
	h = pool_zalloc(b->pool, sizeof(*h));
	if (h)
		h->srv_http = pool_zalloc(b->pool, sizeof(*h->srv_http));
	if (!h || !h->srv_http)
		return cfg_fail(b, n, "out of memory");
	loc_init(&h->loc);
	srv_unset(h->srv_http);
	cfg_tls_init(&h->tls);
	b->cfg->http = h;
	b->http_end = (struct cfg_node){.file = n->file, .line = n->close_line};
	in.http = h;
	in.loc = &h->loc;
	in.ctx = C_HTTP;
	return cfg_block(b, n, &in);
}

int cfg_set_server(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_srv *srv, **slot;
	struct scope in = *s;

	(void)d;
	srv = pool_zalloc(b->pool, sizeof(*srv));
	slot = srv ? PUSH(b, s->http->servers, s->http->nservers) : NULL;
	if (!slot)
		return cfg_fail(b, n, "out of memory");
	*slot = srv;
	srv->index = s->http->nservers - 1;
	srv->file = n->file;
	srv->line = n->line;
	loc_init(&srv->loc);
	srv->loc.srv = srv;
	srv->loc.parent = &s->http->loc;
	srv_unset(srv);
	cfg_tls_init(&srv->tls);
	in.srv = srv;
	in.loc = &srv->loc;
	in.ctx = C_SRV;
	return cfg_block(b, n, &in);
}

static int add_child_loc(struct build *b, struct cfg_node *n, struct cfg_loc *parent,
			 struct cfg_loc *l)
{
	struct cfg_loc ***arr;
	int *cnt;

	switch (l->match) {
	case LOC_EXACT:
		arr = &parent->exact, cnt = &parent->nexact;
		break;
	case LOC_REGEX:
	case LOC_REGEX_CASELESS:
		arr = &parent->regex, cnt = &parent->nregex;
		break;
	case LOC_NAMED:
		arr = &parent->named, cnt = &parent->nnamed;
		break;
	default:
		arr = &parent->prefix, cnt = &parent->nprefix;
		break;
	}
	for (int i = 0; i < *cnt; i++) {
		struct cfg_loc *o = (*arr)[i];

		if (l->match != LOC_REGEX && l->match != LOC_REGEX_CASELESS &&
		    o->patlen == l->patlen && memcmp(o->pattern, l->pattern, l->patlen) == 0)
			return cfg_fail(b, n, "duplicate location \"%s\"", l->pattern);
	}
	struct cfg_loc **slot = PUSH(b, *arr, *cnt);

	if (!slot)
		return cfg_fail(b, n, "out of memory");
	*slot = l;
	return 0;
}

int cfg_set_location(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_loc *l;
	struct scope in = *s;
	const char *mod = NULL, *pat;

	(void)d;
	l = pool_zalloc(b->pool, sizeof(*l));
	if (!l)
		return cfg_fail(b, n, "out of memory");
	loc_init(l);
	l->is_location = true;
	l->file = n->file;
	l->line = n->line;
	l->parent = s->loc;
	l->srv = s->srv;
	if (n->nargs == 2) {
		mod = n->args[0];
		pat = n->args[1];
	} else {
		pat = n->args[0];
		if (pat[0] == '=' && pat[1]) {
			mod = "=";
			pat++;
		}
	}
	if (!mod) {
		l->match = pat[0] == '@' ? LOC_NAMED : LOC_PREFIX;
	} else if (strcmp(mod, "=") == 0) {
		l->match = LOC_EXACT;
	} else if (strcmp(mod, "^~") == 0) {
		l->match = LOC_PREFIX_NOREGEX;
	} else if (strcmp(mod, "~") == 0) {
		l->match = LOC_REGEX;
	} else if (strcmp(mod, "~*") == 0) {
		l->match = LOC_REGEX_CASELESS;
	} else {
		return cfg_fail(b, n, "invalid location modifier \"%s\"", mod);
	}
	if (l->match == LOC_NAMED && s->loc->is_location)
		return cfg_fail(b, n, "location \"%s\" cannot be inside the \"%s\" location", pat,
				s->loc->pattern);
	if (s->loc->is_location && s->loc->match == LOC_EXACT)
		return cfg_fail(b, n, "location \"%s\" cannot be inside the exact location \"%s\"",
				pat, s->loc->pattern);
	if (s->loc->is_location && s->loc->match == LOC_NAMED)
		return cfg_fail(b, n, "location \"%s\" cannot be inside the named location \"%s\"",
				pat, s->loc->pattern);
	l->pattern = pool_strdup(b->pool, pat);
	l->patlen = strlen(pat);
	if (l->match == LOC_REGEX || l->match == LOC_REGEX_CASELESS) {
		l->re = cfg_compile_re(b, n, pat, l->match == LOC_REGEX_CASELESS);
		if (!l->re)
			return -1;
	} else if (s->loc->is_location && l->match != LOC_NAMED &&
		   (s->loc->match == LOC_PREFIX || s->loc->match == LOC_PREFIX_NOREGEX) &&
		   strncmp(pat, s->loc->pattern, s->loc->patlen) != 0) {
		return cfg_fail(b, n, "location \"%s\" is outside location \"%s\"", pat,
				s->loc->pattern);
	}
	if (add_child_loc(b, n, s->loc->is_location || l->match != LOC_NAMED ? s->loc : s->loc, l))
		return -1;
	in.loc = l;
	in.ctx = C_LOC;
	return cfg_block(b, n, &in);
}

/* cfg_parse_unix - the PATH (LEN bytes) of a "unix:PATH" address into SS as a
 * struct sockaddr_un, as ngx_parse_unix_domain_url: -EINVAL for an empty
 * path, -ENAMETOOLONG when PATH and its NUL do not fit sun_path. */
int cfg_parse_unix(const char *path, size_t len, struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_un *un = (struct sockaddr_un *)ss;

	memset(ss, 0, sizeof(*ss));
	if (len == 0)
		return -EINVAL;
	if (len + 1 > sizeof(un->sun_path))
		return -ENAMETOOLONG;
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, path, len);
	*sslen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	return 0;
}

/* cfg_unix_err - nginx's text for a cfg_parse_unix() error code. */
const char *cfg_unix_err(int rc)
{
	return rc == -ENAMETOOLONG ? "too long path in the unix domain socket"
				   : "no path in the unix domain socket";
}

int cfg_parse_addr(const char *text, int default_port, struct sockaddr_storage *ss, socklen_t *len,
		   bool wildcard_ok)
{
	char host[256];
	const char *port = NULL;
	size_t hl;
	long p = default_port;
	struct addrinfo hints = {0}, *res = NULL;

	memset(ss, 0, sizeof(*ss));
	if (strncmp(text, "unix:", 5) == 0)
		return cfg_parse_unix(text + 5, strlen(text + 5), ss, len);
	if (text[0] == '[') {
		const char *e = strchr(text, ']');

		if (!e)
			return -EINVAL;
		hl = (size_t)(e - text - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, hl);
		host[hl] = '\0';
		if (e[1] == ':')
			port = e + 2;
		else if (e[1])
			return -EINVAL;
	} else {
		const char *c = strrchr(text, ':');
		bool all_digits = text[0] != '\0' && strspn(text, "0123456789") == strlen(text);

		if (all_digits) {
			port = text;
			strcpy(host, "*");
		} else {
			hl = c ? (size_t)(c - text) : strlen(text);
			if (hl >= sizeof(host))
				return -EINVAL;
			memcpy(host, text, hl);
			host[hl] = '\0';
			if (c)
				port = c + 1;
		}
	}
	if (port) {
		char *end;

		p = strtol(port, &end, 10);
		if (*end || end == port || p < 1 || p > 65535)
			return -ERANGE;
	}
	if (strcmp(host, "*") == 0 && wildcard_ok) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)p);
		in->sin_addr.s_addr = htonl(INADDR_ANY);
		*len = sizeof(*in);
		return 0;
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	char ps[24];

	snprintf(ps, sizeof(ps), "%ld", p);
	if (getaddrinfo(host, ps, &hints, &res) || !res)
		return -ENOENT;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int cfg_set_listen(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_listen *l;

	(void)d;
	l = PUSH(b, s->srv->listens, s->srv->nlistens);
	if (!l)
		return cfg_fail(b, n, "out of memory");
	l->backlog = 511;
	l->ipv6only = CFG_UNSET;
	l->file = n->file;
	l->line = n->line;
	l->text = pool_strdup(b->pool, n->args[0]);
	int rc = cfg_parse_addr(n->args[0], 80, &l->addr, &l->addrlen, true);

	if (rc && strncmp(n->args[0], "unix:", 5) == 0)
		return cfg_fail(b, n, "%s in \"%s\" of the \"listen\" directive", cfg_unix_err(rc),
				n->args[0]);
	if (rc == -ERANGE)
		return cfg_fail(b, n, "invalid port in \"%s\" of the \"listen\" directive",
				n->args[0]);
	if (rc)
		return cfg_fail(b, n, "host not found in \"%s\" of the \"listen\" directive",
				n->args[0]);
	for (size_t i = 1; i < n->nargs; i++) {
		const char *a = n->args[i];

		if (strcmp(a, "default_server") == 0 || strcmp(a, "default") == 0)
			l->default_server = true;
		else if (strcmp(a, "reuseport") == 0)
			l->reuseport = true;
		else if (strncmp(a, "backlog=", 8) == 0)
			l->backlog = atoi(a + 8);
		else if (strcmp(a, "ipv6only=on") == 0)
			l->ipv6only = 1;
		else if (strcmp(a, "ipv6only=off") == 0)
			l->ipv6only = 0;
		else if (strcmp(a, "ssl") == 0)
			l->ssl = true;
		else if (strcmp(a, "http2") == 0)
			l->http2 = true; /* h2 by ALPN, or by prior knowledge (h2.c) */
		else if (strcmp(a, "proxy_protocol") == 0)
			l->proxy_protocol = true; /* PROXY header first (pproto.c) */
		else if (strcmp(a, "bind") == 0 || strcmp(a, "deferred") == 0 ||
			 strncmp(a, "so_keepalive=", 13) == 0 || strncmp(a, "fastopen=", 9) == 0 ||
			 strncmp(a, "rcvbuf=", 7) == 0 || strncmp(a, "sndbuf=", 7) == 0)
			cfg_warn(n, "listen parameter \"%s\" has no effect in lbd and is ignored",
				 a);
		else
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
	}
	return 0;
}

int cfg_set_server_name(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	for (size_t i = 0; i < n->nargs; i++) {
		const char *a = n->args[i];
		struct server_name *sn = PUSH(b, s->srv->names, s->srv->nnames);

		if (!sn)
			return cfg_fail(b, n, "out of memory");
		if (a[0] == '~') {
			sn->kind = 3;
			sn->name = pool_strdup(b->pool, a + 1);
			sn->re = cfg_compile_re(b, n, a + 1, true);
			if (!sn->re)
				return -1;
		} else {
			char *low = pool_strdup(b->pool, a);

			for (char *p = low; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			sn->name = low;
			if (low[0] == '*' && low[1] == '.') {
				sn->kind = 1;
				sn->name = low + 1; /* ".example.com" */
			} else if (low[0] == '.') {
				sn->kind = 4; /* example.com and *.example.com */
			} else if (low[0] && low[strlen(low) - 1] == '*' && strlen(low) > 1 &&
				   low[strlen(low) - 2] == '.') {
				sn->kind = 2;
				low[strlen(low) - 1] = '\0'; /* "www.example." */
			} else if (strchr(low, '*')) {
				return cfg_fail(b, n, "invalid server name or wildcard \"%s\"", a);
			}
		}
		sn->len = strlen(sn->name);
	}
	return 0;
}
