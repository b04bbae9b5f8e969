/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder for nginx's stream module: the `stream {}` block,
 * its `upstream` blocks (the HTTP group type and balancers, with the
 * methods nginx's stream module has), its `server` blocks, `map`,
 * `log_format`, `access_log` and `error_log`, and the stream variables
 * their values may use. A second directive table, searched by cfg.c's
 * find_dir beside its own; the stream contexts are C_STREAM, C_SSRV and
 * C_SUPS. Upstream names live in their own namespace, as in nginx.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "alog.h"
#include "cfg.h"
#include "cfg_int.h"
#include "geo.h"
#include "lbd.h"
#include "limit.h"
#include "log.h"
#include "slog.h"
#include "split.h"
#include "upbind.h"
#include "stream.h"
#include "ups.h"
#include "var.h"

/* nginx's stream variable names, indexed by enum svar. */
static const char *const svar_names[SV_COUNT] = {
	[SV_REMOTE_ADDR] = "remote_addr",
	[SV_REMOTE_PORT] = "remote_port",
	[SV_SERVER_ADDR] = "server_addr",
	[SV_SERVER_PORT] = "server_port",
	[SV_BINARY_REMOTE_ADDR] = "binary_remote_addr",
	[SV_UPSTREAM_ADDR] = "upstream_addr",
	[SV_BYTES_SENT] = "bytes_sent",
	[SV_BYTES_RECEIVED] = "bytes_received",
	[SV_UPSTREAM_BYTES_SENT] = "upstream_bytes_sent",
	[SV_UPSTREAM_BYTES_RECEIVED] = "upstream_bytes_received",
	[SV_SESSION_TIME] = "session_time",
	[SV_UPSTREAM_CONNECT_TIME] = "upstream_connect_time",
	[SV_STATUS] = "status",
	[SV_TIME_LOCAL] = "time_local",
	[SV_TIME_ISO8601] = "time_iso8601",
	[SV_MSEC] = "msec",
	[SV_PROTOCOL] = "protocol",
	[SV_CONNECTION] = "connection",
	[SV_PID] = "pid",
	[SV_HOSTNAME] = "hostname",
	[SV_SSL_PREREAD_SERVER_NAME] = "ssl_preread_server_name",
	[SV_SSL_PREREAD_ALPN_PROTOCOLS] = "ssl_preread_alpn_protocols",
	[SV_SSL_PREREAD_PROTOCOL] = "ssl_preread_protocol",
	[SV_PROXY_PROTOCOL_ADDR] = "proxy_protocol_addr",
	[SV_PROXY_PROTOCOL_PORT] = "proxy_protocol_port",
	[SV_PROXY_PROTOCOL_SERVER_ADDR] = "proxy_protocol_server_addr",
	[SV_PROXY_PROTOCOL_SERVER_PORT] = "proxy_protocol_server_port",
	[SV_REALIP_REMOTE_ADDR] = "realip_remote_addr",
	[SV_REALIP_REMOTE_PORT] = "realip_remote_port",
	[SV_LIMIT_CONN_STATUS] = "limit_conn_status",
	[SV_SSL_PROTOCOL] = "ssl_protocol",
	[SV_SSL_CIPHER] = "ssl_cipher",
	[SV_SSL_SERVER_NAME] = "ssl_server_name",
	[SV_SSL_SESSION_REUSED] = "ssl_session_reused",
	[SV_SSL_ALPN_PROTOCOL] = "ssl_alpn_protocol",
};

static void ssrv_unset(struct stream_srv *s)
{
	memset(s, 0, sizeof(*s));
	s->connect_timeout = CFG_UNSET;
	s->resolver_timeout = CFG_UNSET;
	s->timeout = CFG_UNSET;
	s->next_upstream = CFG_UNSET;
	s->next_tries = CFG_UNSET;
	s->next_timeout = CFG_UNSET;
	s->preread = CFG_UNSET;
	s->preread_timeout = CFG_UNSET;
	s->preread_size = CFG_UNSET;
	s->proxy_protocol = CFG_UNSET;
	s->pp_timeout = CFG_UNSET;
	s->half_close = CFG_UNSET;
	s->kernel_splice = CFG_UNSET;
	s->responses = CFG_UNSET;
	s->requests = CFG_UNSET;
	s->buffer_size = CFG_UNSET;
	s->lconn_log_level = CFG_UNSET;
	s->lconn_dry_run = CFG_UNSET;
	s->rate[0] = s->rate[1] = CFG_UNSET;
	cfg_stream_ssl_init(s);
}

/* find_setvar - the index of `set` variable NAME in ST, or -1. */
static int find_setvar(const struct cfg_stream *st, const char *name, size_t len)
{
	for (int i = 0; i < st->nsetvars; i++)
		if (strlen(st->setvars[i]) == len && strncasecmp(st->setvars[i], name, len) == 0)
			return i;
	return -1;
}

static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

static struct stream_map *find_map(struct cfg_stream *st, const char *name, size_t len)
{
	for (struct stream_map *m = st->maps; m; m = m->next)
		if (strlen(m->name) == len && strncasecmp(m->name, name, len) == 0)
			return m;
	return NULL;
}

/* sval_compile - TEXT with $name / ${name} stream variables into *OUT. */
static int sval_compile(struct build *b, struct cfg_node *n, struct cfg_stream *st,
			const char *text, struct stream_val *out)
{
	size_t tl = strlen(text);
	struct stream_part *pa = pool_zalloc(b->pool, (tl + 1) * sizeof(*pa));
	size_t i = 0;
	int np = 0;

	out->raw = pool_strdup(b->pool, text);
	if (!pa || !out->raw)
		return cfg_fail(b, n, "out of memory");
	while (i < tl) {
		const char *nm;
		size_t nl = 0, start = i;
		bool br;

		if (text[i] != '$') {
			while (i < tl && text[i] != '$')
				i++;
			pa[np++] = (struct stream_part){
				.kind = SP_LIT, .str = out->raw + start, .len = i - start};
			continue;
		}
		br = i + 1 < tl && text[i + 1] == '{';
		nm = text + i + (br ? 2 : 1);
		if (!br && *nm >= '1' && *nm <= '9') {
			/* nginx: $1..$9, one digit, the session's last regex */
			pa[np++] = (struct stream_part){.kind = SP_CAP, .var = *nm - '0'};
			i += 2;
			continue;
		}
		while (name_char(nm[nl]))
			nl++;
		if (nl == 0 || (br && nm[nl] != '}'))
			return cfg_fail(b, n, "invalid variable name \"%s\"", text + i);
		i = (size_t)(nm - text) + nl + (br ? 1 : 0);
		int v = -1;

		for (int k = 0; k < SV_COUNT; k++)
			if (strlen(svar_names[k]) == nl && strncasecmp(svar_names[k], nm, nl) == 0)
				v = k;
		if (v >= 0) {
			pa[np++] = (struct stream_part){.kind = SP_VAR, .var = v};
			continue;
		}
		struct stream_map *m = find_map(st, nm, nl);
		int sv = m ? -1 : find_setvar(st, nm, nl);

		if (sv >= 0) {
			pa[np++] = (struct stream_part){.kind = SP_SET, .var = sv};
			continue;
		}
		if (!m)
			return cfg_fail(b, n, "unknown \"%.*s\" variable", (int)nl, nm);
		pa[np++] = (struct stream_part){.kind = SP_MAP, .map = m};
	}
	out->parts = pa;
	out->nparts = np;
	return 0;
}

int cfg_stream_compile(struct build *b, struct cfg_node *n, struct cfg_stream *st, const char *text,
		       struct stream_val *out)
{
	return sval_compile(b, n, st, text, out);
}

static bool sval_literal(const struct stream_val *v)
{
	return v->nparts == 0 || (v->nparts == 1 && v->parts[0].kind == SP_LIT);
}

/* ---- stream {} ---------------------------------------------------------------- */

/* map_var - the variable a map, geo or split_clients block N defines, or
 * NULL for any other directive (or a wrong argument count, which the table
 * reports). */
static const char *map_var(const struct cfg_node *n)
{
	if ((strcmp(n->name, "map") == 0 || strcmp(n->name, "split_clients") == 0) && n->nargs == 2)
		return n->args[1];
	if (strcmp(n->name, "geo") == 0 && (n->nargs == 1 || n->nargs == 2))
		return n->args[n->nargs - 1];
	return NULL;
}

/* prepass_maps - create every map (and geo, split_clients) variable of
 * stream{} first, so that a value may use one defined later in the block,
 * as nginx allows. */
static int prepass_maps(struct build *b, struct cfg_node *blk, struct cfg_stream *st)
{
	for (size_t i = 0; i < blk->nchildren; i++) {
		struct cfg_node *n = &blk->children[i];
		const char *var = map_var(n);
		struct stream_map *m;

		if (!var)
			continue;
		if (var[0] != '$' || !var[1])
			return cfg_fail(b, n, "invalid variable name \"%s\"", var);
		if (find_map(st, var + 1, strlen(var + 1)))
			return cfg_fail(b, n, "the duplicate \"%s\" variable", var + 1);
		m = pool_zalloc(b->pool, sizeof(*m));
		if (!m || !(m->m = pool_zalloc(b->pool, sizeof(*m->m))))
			return cfg_fail(b, n, "out of memory");
		m->name = pool_strdup(b->pool, var + 1);
		m->m->name = m->name;
		m->setidx = -1;
		m->idx = st->nmaps++;
		m->next = st->maps;
		st->maps = m;
	}
	return 0;
}

/* prepass_sets - declare every `set` variable of the stream servers first:
 * nginx knows a variable by name wherever it is set, so a value may use one
 * set later or in another server (there it is not found). */
static int prepass_sets(struct build *b, struct cfg_node *blk, struct cfg_stream *st)
{
	for (size_t i = 0; i < blk->nchildren; i++) {
		struct cfg_node *srv = &blk->children[i];

		if (strcmp(srv->name, "server") != 0 || !srv->block)
			continue;
		for (size_t k = 0; k < srv->nchildren; k++) {
			struct cfg_node *n = &srv->children[k];
			struct stream_map *m;
			const char *nm;
			int idx;

			if (strcmp(n->name, "set") != 0 || n->nargs != 2)
				continue;
			if (n->args[0][0] != '$' || !n->args[0][1])
				return cfg_fail(b, n, "invalid variable name \"%s\"", n->args[0]);
			nm = n->args[0] + 1;
			for (int v = 0; v < SV_COUNT; v++)
				if (strcasecmp(svar_names[v], nm) == 0)
					return cfg_fail(b, n, "the duplicate \"%s\" variable", nm);
			/* a map (geo, split_clients) variable may be set too, as
			 * nginx: once set, the session sees the set value */
			m = find_map(st, nm, strlen(nm));
			idx = find_setvar(st, nm, strlen(nm));
			if (idx < 0) {
				if (st->nsetvars == STREAM_SET_MAX)
					return cfg_fail(b, n,
							"more than %d \"set\" variables in stream",
							STREAM_SET_MAX);
				idx = st->nsetvars;
				st->setvars[st->nsetvars] = pool_strdup(b->pool, nm);
				if (!st->setvars[st->nsetvars++])
					return cfg_fail(b, n, "out of memory");
			}
			if (m)
				m->setidx = idx;
		}
	}
	return 0;
}

static int set_stream(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_stream *st;
	struct scope in = {0};

	(void)s, (void)d;
	if (b->cfg->stream)
		return cfg_fail(b, n, "\"stream\" directive is duplicate");
	st = pool_zalloc(b->pool, sizeof(*st));
	if (!st)
		return cfg_fail(b, n, "out of memory");
	ssrv_unset(&st->defaults);
	b->cfg->stream = st;
	if (prepass_maps(b, n, st) || prepass_sets(b, n, st))
		return -1;
	in.stream = st;
	in.ssrv = &st->defaults;
	in.ctx = C_STREAM;
	return cfg_block(b, n, &in);
}

static int set_server(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct stream_srv *srv, **slot;
	struct scope in = *s;

	(void)d;
	srv = pool_zalloc(b->pool, sizeof(*srv));
	slot = srv ? PUSH(b, s->stream->servers, s->stream->nservers) : NULL;
	if (!slot)
		return cfg_fail(b, n, "out of memory");
	*slot = srv;
	ssrv_unset(srv);
	srv->file = n->file;
	srv->line = n->line;
	in.ssrv = srv;
	in.ctx = C_SSRV;
	if (cfg_block(b, n, &in))
		return -1;
	if (!srv->pass && !srv->ret)
		return cfg_fail(b, n, "no handler for server");
	return 0;
}

static int set_listen(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct stream_srv *srv = s->ssrv;
	struct cfg_listen *l;
	bool backlog = false, keepalive = false;
	int rc;

	(void)d;
	l = PUSH(b, srv->listens, srv->nlistens);
	if (!l)
		return cfg_fail(b, n, "out of memory");
	l->backlog = 511;
	l->ipv6only = CFG_UNSET;
	l->file = n->file;
	l->line = n->line;
	l->text = pool_strdup(b->pool, n->args[0]);
	rc = cfg_parse_addr(n->args[0], 0, &l->addr, &l->addrlen, true);
	if (rc && strncmp(n->args[0], "unix:", 5) == 0)
		return cfg_fail(b, n, "%s in \"%s\" of the \"listen\" directive", cfg_unix_err(rc),
				n->args[0]);
	if (rc == -ERANGE || (rc == 0 && l->addr.ss_family != AF_UNIX &&
			      ((struct sockaddr_in *)&l->addr)->sin_port == 0))
		return cfg_fail(b, n, "invalid port in \"%s\" of the \"listen\" directive",
				n->args[0]);
	if (rc)
		return cfg_fail(b, n, "host not found in \"%s\" of the \"listen\" directive",
				n->args[0]);
	for (size_t i = 1; i < n->nargs; i++) {
		const char *a = n->args[i];

		if (strcmp(a, "reuseport") == 0) {
			l->reuseport = true;
		} else if (strncmp(a, "backlog=", 8) == 0) {
			char *end;
			long v = strtol(a + 8, &end, 10);

			if (end == a + 8 || *end || v < 1 || v > INT_MAX)
				return cfg_fail(b, n, "invalid backlog \"%s\"", a + 8);
			l->backlog = (int)v;
			backlog = true;
		} else if (strcmp(a, "ipv6only=on") == 0) {
			l->ipv6only = 1;
		} else if (strcmp(a, "ipv6only=off") == 0) {
			l->ipv6only = 0;
		} else if (strcmp(a, "proxy_protocol") == 0) {
			l->proxy_protocol = true; /* PROXY header first (pproto.c) */
		} else if (strcmp(a, "ssl") == 0) {
			l->ssl = true; /* TLS terminated here (stream_ssl.c) */
		} else if (strcmp(a, "udp") == 0) {
			l->udp = true; /* datagrams (stream_udp.c) */
		} else if (strncmp(a, "so_keepalive=", 13) == 0) {
			keepalive = true;
			cfg_warn(n, "listen parameter \"%s\" has no effect in lbd and is ignored",
				 a);
		} else if (strcmp(a, "bind") == 0) {
			cfg_warn(n, "listen parameter \"%s\" has no effect in lbd and is ignored",
				 a);
		} else {
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
		}
	}
	if (l->udp) {
		/* nginx's checks, in its order */
		const char *bad = backlog	      ? "backlog"
				  : keepalive	      ? "so_keepalive"
				  : l->ssl	      ? "ssl"
				  : l->proxy_protocol ? "proxy_protocol"
						      : NULL;

		if (bad)
			return cfg_fail(
				b, n,
				"\"listen\" directive \"%s\" parameter is incompatible with "
				"\"udp\"",
				bad);
		srv->udp = true;
	}
	/* nginx: one address, one stream server (TCP and UDP apart) */
	for (int k = 0; k < s->stream->nservers; k++) {
		struct stream_srv *o = s->stream->servers[k];

		for (int j = 0; j < o->nlistens; j++) {
			struct cfg_listen *x = &o->listens[j];

			if (x != l && x->udp == l->udp && x->addrlen == l->addrlen &&
			    memcmp(&x->addr, &l->addr, l->addrlen) == 0)
				return cfg_fail(b, n, "duplicate \"%s\" address and port pair",
						n->args[0]);
		}
	}
	return 0;
}

static int set_proxy_pass(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct stream_val *v;

	(void)d;
	if (s->ssrv->pass)
		return cfg_fail(b, n, "\"proxy_pass\" directive is duplicate");
	v = pool_zalloc(b->pool, sizeof(*v));
	if (!v)
		return cfg_fail(b, n, "out of memory");
	if (sval_compile(b, n, s->stream, n->args[0], v))
		return -1;
	if (strncmp(n->args[0], "unix:", 5) == 0 && !strchr(n->args[0], '$')) {
		/* nginx checks the path here, at the directive's line */
		struct sockaddr_storage ss;
		socklen_t sl;
		int rc = cfg_parse_unix(n->args[0] + 5, strlen(n->args[0] + 5), &ss, &sl);

		if (rc)
			return cfg_fail(b, n, "%s in upstream \"%s\"", cfg_unix_err(rc),
					n->args[0]);
	}
	s->ssrv->pass = v;
	s->ssrv->ret_last = false; /* nginx: the last handler set wins */
	return 0;
}

/* set_return - nginx's stream return: VALUE (variables) is sent to the
 * client, then the session ends; it and proxy_pass both set the server's
 * handler, the later one wins. */
static int set_return(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct stream_val *v;

	(void)d;
	if (s->ssrv->ret)
		return cfg_fail(b, n, "\"return\" directive is duplicate");
	v = pool_zalloc(b->pool, sizeof(*v));
	if (!v)
		return cfg_fail(b, n, "out of memory");
	if (sval_compile(b, n, s->stream, n->args[0], v))
		return -1;
	s->ssrv->ret = v;
	s->ssrv->ret_last = true;
	return 0;
}

/* set_set - `set $NAME VALUE` (ngx_stream_set_module): evaluated in
 * order when the session starts (nginx's preaccess phase). */
static int set_set(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct stream_set *e;
	int idx;

	(void)d;
	if (n->args[0][0] != '$' || !n->args[0][1])
		return cfg_fail(b, n, "invalid variable name \"%s\"", n->args[0]);
	idx = find_setvar(s->stream, n->args[0] + 1, strlen(n->args[0] + 1));
	e = idx >= 0 ? PUSH(b, s->ssrv->sets, s->ssrv->nsets) : NULL;
	if (!e)
		return cfg_fail(b, n, "out of memory");
	e->idx = idx;
	return sval_compile(b, n, s->stream, n->args[1], &e->val);
}

/* set_limit_conn_zone - `limit_conn_zone KEY zone=NAME:SIZE` (stream):
 * the checks and zone names are http's (cfg_limit.c), the key a stream
 * value; stream zones are their own names, as nginx's stream module. */
static int set_limit_conn_zone(struct build *b, struct cfg_node *n, struct scope *s,
			       const struct dir *d)
{
	struct cfg_stream *st = s->stream;
	struct stream_czone *cz;
	struct rl_zone_conf *z;
	struct stream_val key;
	const char *name = NULL;
	size_t len = 0;
	int64_t size = 0;

	(void)d;
	if (sval_compile(b, n, st, n->args[0], &key))
		return -1;
	for (size_t i = 1; i < n->nargs; i++) {
		if (strncmp(n->args[i], "zone=", 5) != 0)
			return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[i]);
		if (cfg_rl_zone_param(b, n, n->args[i], &name, &len, &size))
			return -1;
	}
	if (len == 0)
		return cfg_fail(b, n, "\"%s\" must have \"zone\" parameter", n->name);
	z = cfg_rl_zone_use(b, n, &st->rl_zones, name, len, RL_KIND_SCONN, size);
	if (!z)
		return -1;
	if (z->bound)
		return cfg_fail(b, n, "%s \"%s\" is already bound to key \"%s\"", n->name, z->name,
				z->key_text);
	z->key_text = pool_strdup(b->pool, n->args[0]);
	z->bound = true;
	cz = z->key_text ? PUSH(b, st->czones, st->nczones) : NULL;
	if (!cz)
		return cfg_fail(b, n, "out of memory");
	cz->zc = z;
	cz->key = key;
	return 0;
}

/* set_limit_conn - `limit_conn ZONE N` (stream, server). */
static int set_limit_conn(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct stream_srv *srv = s->ssrv;
	struct stream_climit *lim;
	struct rl_zone_conf *z;
	int v;

	(void)d;
	z = cfg_rl_zone_use(b, n, &s->stream->rl_zones, n->args[0], strlen(n->args[0]),
			    RL_KIND_SCONN, 0);
	if (!z)
		return -1;
	for (int i = 0; i < srv->nlconn; i++)
		if (srv->lconn[i].zc == z)
			return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	v = cfg_rl_conn_number(b, n);
	if (v < 0)
		return -1;
	if (srv->nlconn == STREAM_LCONN_MAX)
		return cfg_fail(b, n, "more than %d \"limit_conn\" in a stream server",
				STREAM_LCONN_MAX);
	lim = PUSH(b, srv->lconn, srv->nlconn);
	if (!lim)
		return cfg_fail(b, n, "out of memory");
	lim->zc = z;
	lim->conn = v;
	return 0;
}

static int set_limit_log_level(struct build *b, struct cfg_node *n, struct scope *s,
			       const struct dir *d)
{
	(void)d;
	return cfg_rl_log_level(b, n, &s->ssrv->lconn_log_level);
}

/* set_access - allow/deny (nginx's stream access module; the rule syntax
 * and its checks are http's). */
static int set_access(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	s->ssrv->access_set = true;
	return cfg_access_add(b, n, &s->ssrv->access, &s->ssrv->naccess);
}

static int64_t *msec_field(struct scope *s, const struct dir *d)
{
	return (int64_t *)((char *)s->ssrv + d->off);
}

static int set_msec(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int64_t *f = msec_field(s, d);

	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (cfg_parse_time(n->args[0], f))
		return cfg_fail(b, n, "invalid value \"%s\" in \"%s\" directive", n->args[0],
				n->name);
	return 0;
}

/* int_slot - the server's int field D names, or NULL (logged) when it is
 * set already. */
static int *int_slot(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int *f = (int *)((char *)s->ssrv + d->off);

	if (*f != CFG_UNSET) {
		cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
		return NULL;
	}
	return f;
}

static int set_num(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int *f = int_slot(b, n, s, d);
	char *end;
	long v;

	if (!f)
		return -1;
	v = strtol(n->args[0], &end, 10);
	if (*end || end == n->args[0] || v < 0 || v > INT_MAX)
		return cfg_fail(b, n, "invalid number \"%s\" in \"%s\" directive", n->args[0],
				n->name);
	*f = (int)v;
	return 0;
}

/* set_count - proxy_responses / proxy_requests: a number, nginx's text
 * when it is none. */
static int set_count(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int *f = int_slot(b, n, s, d);
	char *end;
	long v;

	if (!f)
		return -1;
	v = strtol(n->args[0], &end, 10);
	if (*end || end == n->args[0] || n->args[0][0] == '-' || n->args[0][0] == '+' ||
	    v > INT_MAX - 1)
		return cfg_fail(b, n, "\"%s\" directive invalid number", n->name);
	*f = (int)v;
	return 0;
}

/* full_path - PATH relative to the prefix, as nginx resolves log paths. */
static char *full_path(struct build *b, const char *p)
{
	size_t lp, ln;
	char *r;

	if (p[0] == '/')
		return pool_strdup(b->pool, p);
	lp = strlen(b->cfg->prefix);
	ln = strlen(p);
	r = pool_alloc(b->pool, lp + ln + 1);
	if (r) {
		memcpy(r, b->cfg->prefix, lp);
		memcpy(r + lp, p, ln + 1);
	}
	return r;
}

static int set_error_log(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	enum log_level lvl = LOG_ERR;
	struct log_target *t;
	const char *path;

	(void)d;
	if (n->nargs > 1 && log_level_parse(n->args[1], &lvl))
		return cfg_fail(b, n, "invalid log level \"%s\"", n->args[1]);
	if (strncmp(n->args[0], "syslog:", 7) == 0) {
		char msg[256];

		t = log_target_syslog(n->args[0], lvl, msg, sizeof(msg));
		if (!t)
			return cfg_fail(b, n, "%s", msg);
		goto set;
	}
	path = strcmp(n->args[0], "stderr") == 0 ? "stderr" : full_path(b, n->args[0]);
	if (!path)
		return cfg_fail(b, n, "out of memory");
	t = log_target_open(path, lvl);
	if (!t)
		return cfg_fail(b, n, "open() \"%s\" failed (%d: %s)", path, errno,
				strerror(errno));
set:
	/* Several error_log in one block: each gets the lines of its level. */
	if (s->ssrv->error_log && !(t = log_target_both(s->ssrv->error_log, t)))
		return cfg_fail(b, n, "out of memory");
	s->ssrv->error_log = t;
	return 0;
}

static int set_log_format(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_stream *st = s->stream;
	struct stream_logfmt *f;
	size_t first = 1, total = 0;
	int escape = 0;
	char *joined;

	(void)d;
	for (int i = 0; i < st->nformats; i++)
		if (strcmp(st->formats[i].name, n->args[0]) == 0)
			return cfg_fail(b, n, "duplicate \"log_format\" name \"%s\"", n->args[0]);
	if (n->nargs > 1 && strncmp(n->args[1], "escape=", 7) == 0) {
		const char *e = n->args[1] + 7;

		if (strcmp(e, "json") == 0)
			escape = 1;
		else if (strcmp(e, "none") == 0)
			escape = 2;
		else if (strcmp(e, "default") != 0)
			return cfg_fail(b, n, "unknown log format escaping \"%s\"", e);
		first = 2;
	}
	if (n->nargs <= first)
		return cfg_fail(b, n, "invalid number of arguments in \"log_format\" directive");
	for (size_t i = first; i < n->nargs; i++)
		total += strlen(n->args[i]);
	joined = pool_alloc(b->pool, total + 1);
	f = joined ? PUSH(b, st->formats, st->nformats) : NULL;
	if (!f)
		return cfg_fail(b, n, "out of memory");
	joined[0] = '\0';
	for (size_t i = first; i < n->nargs; i++)
		strcat(joined, n->args[i]);
	f->name = pool_strdup(b->pool, n->args[0]);
	f->escape = escape;
	return sval_compile(b, n, st, joined, &f->fmt);
}

static int set_access_log(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct stream_srv *srv = s->ssrv;
	struct stream_alog *sa;
	struct alog *a, **all;
	int rc;

	(void)d;
	if (strcmp(n->args[0], "off") == 0) {
		if (n->nargs > 1)
			return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[1]);
		srv->alog_set = true;
		return 0;
	}
	if (n->nargs < 2)
		return cfg_fail(b, n, "invalid number of arguments in \"access_log\" directive");
	if (strncmp(n->args[0], "syslog:", 7) == 0) {
		struct slog_peer sl;
		char msg[256];

		if (slog_parse(n->args[0] + 7, &sl, msg, sizeof(msg)))
			return cfg_fail(b, n, "%s", msg);
	}
	a = pool_zalloc(b->pool, sizeof(*a));
	sa = a ? PUSH(b, srv->alogs, srv->nalogs) : NULL;
	if (!sa)
		return cfg_fail(b, n, "out of memory");
	srv->alog_set = true;
	sa->a = a;
	for (int i = 0; i < s->stream->nformats; i++)
		if (strcmp(s->stream->formats[i].name, n->args[1]) == 0)
			sa->fmt = &s->stream->formats[i];
	if (!sa->fmt)
		return cfg_fail(b, n, "unknown log format \"%s\"", n->args[1]);
	a->path = strcmp(n->args[0], "/dev/stdout") && strcmp(n->args[0], "/dev/stderr") &&
				  strncmp(n->args[0], "syslog:", 7)
			  ? full_path(b, n->args[0])
			  : pool_strdup(b->pool, n->args[0]);
	for (size_t i = 2; i < n->nargs; i++) {
		const char *p = n->args[i];
		int64_t v;

		if (strncmp(p, "buffer=", 7) == 0) {
			if (cfg_parse_size(p + 7, &v))
				return cfg_fail(b, n, "invalid buffer size \"%s\"", p + 7);
			a->buffer = (size_t)v;
		} else if (strncmp(p, "flush=", 6) == 0) {
			if (cfg_parse_time(p + 6, &a->flush_ms))
				return cfg_fail(b, n, "invalid flush time \"%s\"", p + 6);
		} else if (strncmp(p, "gzip", 4) == 0 && (p[4] == '\0' || p[4] == '=')) {
			if (alog_parse_gzip(p, a))
				return cfg_fail(b, n, "invalid compression level \"%s\"", p + 5);
		} else if (strncmp(p, "if=", 3) == 0) {
			if (sval_compile(b, n, s->stream, p + 3, &sa->cond))
				return -1;
			sa->has_cond = true;
		} else {
			return cfg_fail(b, n, "invalid parameter \"%s\"", p);
		}
	}
	if (a->flush_ms && !a->buffer)
		return cfg_fail(b, n, "no buffer is defined for access_log \"%s\"", n->args[0]);
	if (a->buffer && strncmp(a->path, "syslog:", 7) == 0)
		return cfg_fail(b, n, "logs to syslog cannot be buffered");
	if (alog_conflicts(b->cfg->alogs, b->cfg->nalogs, a))
		return cfg_fail(b, n,
				"access_log \"%s\" already defined with conflicting parameters",
				n->args[0]);
	rc = alog_open(a);
	if (rc)
		return cfg_fail(b, n, "open() \"%s\" failed (%d: %s)", a->path, -rc, strerror(-rc));
	all = PUSH(b, b->cfg->alogs, b->cfg->nalogs);
	if (!all)
		return cfg_fail(b, n, "out of memory");
	*all = a;
	return 0;
}

/* set_geo - `geo [$address] $variable { ... }` in stream: http's block
 * reading (cfg_geo.c), the address a stream value ($remote_addr when not
 * given). */
static int set_geo(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	const char *var = n->args[n->nargs - 1];
	struct stream_map *m = find_map(s->stream, var + 1, strlen(var + 1));

	(void)d;
	if (!m || m->defined)
		return cfg_fail(b, n, "the duplicate \"%s\" variable", var + 1);
	m->defined = true;
	if (n->nargs == 2 && n->args[0][0] != '$')
		return cfg_fail(b, n, "invalid variable name \"%s\"", n->args[0]);
	if (sval_compile(b, n, s->stream, n->nargs == 2 ? n->args[0] : "$remote_addr", &m->src))
		return -1;
	return cfg_geo_block(b, n, &m->m->geo, false);
}

/* set_split_clients - `split_clients STRING $variable { ... }` in stream
 * (cfg_split.c reads the block). */
static int set_split_clients(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d)
{
	struct stream_map *m = find_map(s->stream, n->args[1] + 1, strlen(n->args[1] + 1));

	(void)d;
	if (!m || m->defined)
		return cfg_fail(b, n, "the duplicate \"%s\" variable", n->args[1] + 1);
	m->defined = true;
	if (sval_compile(b, n, s->stream, n->args[0], &m->src))
		return -1;
	return cfg_split_block(b, n, &m->m->split);
}

static int set_map(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct stream_map *m = find_map(s->stream, n->args[1] + 1, strlen(n->args[1] + 1));
	char msg[256];

	(void)d;
	if (!m || m->defined)
		return cfg_fail(b, n, "the duplicate \"%s\" variable", n->args[1] + 1);
	m->defined = true;
	if (sval_compile(b, n, s->stream, n->args[0], &m->src))
		return -1;
	m->xval = pool_zalloc(b->pool, (n->nchildren + 1) * sizeof(*m->xval));
	m->rval = pool_zalloc(b->pool, (n->nchildren + 1) * sizeof(*m->rval));
	if (!m->xval || !m->rval)
		return cfg_fail(b, n, "out of memory");
	for (size_t i = 0; i < n->nchildren; i++) {
		struct cfg_node *c = &n->children[i];
		struct stream_val *sv = NULL;

		if (strcmp(c->name, "hostnames") == 0 && c->nargs == 0) {
			m->m->hostnames = true;
			continue;
		}
		if (strcmp(c->name, "volatile") == 0 && c->nargs == 0) {
			m->m->volatile_ = true; /* computed at every use */
			continue;
		}
		if (c->nargs != 1 || c->block)
			return cfg_fail(b, c, "invalid number of the map parameters");
		/* a value with variables is a stream value, evaluated per
		 * session; the entry (var_map.c: matching) holds "" */
		if (strchr(c->args[0], '$')) {
			sv = pool_zalloc(b->pool, sizeof(*sv));
			if (!sv)
				return cfg_fail(b, c, "out of memory");
			if (sval_compile(b, c, s->stream, c->args[0], sv))
				return -1;
		}
		b->cv.file = c->file;
		b->cv.line = c->line;
		if (map_add_entry(&b->cv, m->m, c->name, sv ? "" : c->args[0], msg, sizeof(msg)))
			return cfg_fail(b, c, "%s", msg);
		if (!sv)
			continue;
		if (strcmp(c->name, "default") == 0)
			m->dval = sv;
		else if (c->name[0] == '~')
			m->rval[m->m->nregex - 1] = sv;
		else
			m->xval[m->m->nexact - 1] = sv;
	}
	return 0;
}

/* ---- upstream ------------------------------------------------------------------ */

static struct ups_group *find_group(struct cfg_stream *st, const char *name, bool implicit)
{
	for (int i = 0; i < st->ngroups; i++)
		if (st->groups[i]->implicit == implicit && strcmp(st->groups[i]->name, name) == 0)
			return st->groups[i];
	return NULL;
}

static int add_group(struct build *b, struct cfg_stream *st, struct ups_group *g)
{
	struct ups_group **slot = PUSH(b, st->groups, st->ngroups);

	if (!slot)
		return -ENOMEM;
	*slot = g;
	return 0;
}

static int set_upstream(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct ups_group *g;

	(void)d;
	if (find_group(s->stream, n->args[0], false))
		return cfg_fail(b, n, "duplicate upstream \"%s\"", n->args[0]);
	g = pool_zalloc(b->pool, sizeof(*g));
	if (!g || add_group(b, s->stream, g))
		return cfg_fail(b, n, "out of memory");
	g->stream = true;
	return cfg_ups_block(b, n, s, g, C_SUPS);
}

/* has_port - whether an upstream address names its port (nginx's stream
 * module has no default port). */
static bool has_port(const char *a)
{
	const char *e = a[0] == '[' ? strchr(a, ']') : a;

	return e && strchr(e, ':') != NULL;
}

static int set_ups_server(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	if (strncmp(n->args[0], "unix:", 5) != 0 && !has_port(n->args[0]))
		return cfg_fail(b, n, "no port in upstream \"%s\"", n->args[0]);
	for (size_t i = 1; i < n->nargs; i++)
		if (strncmp(n->args[i], "slow_start=", 11) == 0)
			return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[i]);
	return cfg_set_ups_server(b, n, s, d);
}

/* `hash KEY [consistent]` with a stream value as the key; the other
 * methods are the HTTP ones. */
static int set_ups_hash(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct ups_group *g = s->ups;
	struct stream_val *key;

	(void)d;
	if (g->method != UPS_M_RR)
		return cfg_fail(b, n, "load balancing method redefined");
	if (n->nargs == 2 && strcmp(n->args[1], "consistent") != 0)
		return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[1]);
	key = pool_zalloc(b->pool, sizeof(*key));
	if (!key)
		return cfg_fail(b, n, "out of memory");
	if (sval_compile(b, n, s->stream, n->args[0], key))
		return -1;
	g->method = UPS_M_HASH;
	g->hash_consistent = n->nargs == 2;
	g->hash_key = key; /* a struct stream_val: stream groups never reach proxy.c */
	return 0;
}

/* `health_check` in a stream upstream: http's parameters (cfg_proxy.c), but
 * a bare check is a TCP connect, as a stream server need not speak HTTP;
 * `type=http` asks for the HTTP check. */
static int set_ups_health_check(struct build *b, struct cfg_node *n, struct scope *s,
				const struct dir *d)
{
	bool typed = false;

	for (size_t i = 0; i < n->nargs; i++)
		typed |= strncmp(n->args[i], "type=", 5) == 0;
	if (cfg_set_ups_health_check(b, n, s, d))
		return -1;
	if (!typed)
		s->ups->hc.tcp = true;
	return 0;
}

static int set_flag(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	return cfg_set_flag(b, n, s, d);
}

static int set_size(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	return cfg_set_size(b, n, s, d);
}

static int set_noop(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)b, (void)s, (void)d;
	cfg_warn(n, "\"%s\" directive has no effect in lbd and is ignored", n->name);
	return 0;
}

/* set_real_ip_from - nginx's stream realip: who may name the client in a
 * PROXY header (the list and its checks are http's, cfg_realip.c). */
static int set_real_ip_from(struct build *b, struct cfg_node *n, struct scope *s,
			    const struct dir *d)
{
	(void)d;
	return cfg_realip_from(b, n, &s->ssrv->realip);
}

/* set_rate - proxy_upload_rate / proxy_download_rate RATE (nginx 1.22: a
 * size, or a value with variables evaluated when the session starts). */
static int set_rate(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int dir = (int)d->off; /* 0 upload, 1 download */
	struct stream_srv *srv = s->ssrv;

	if (srv->rate[dir] != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (strchr(n->args[0], '$')) {
		srv->rate_var[dir] = pool_zalloc(b->pool, sizeof(*srv->rate_var[dir]));
		if (!srv->rate_var[dir])
			return cfg_fail(b, n, "out of memory");
		if (sval_compile(b, n, s->stream, n->args[0], srv->rate_var[dir]))
			return -1;
		srv->rate[dir] = 0;
		return 0;
	}
	if (cfg_parse_size(n->args[0], &srv->rate[dir]) || srv->rate[dir] < 0)
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	return 0;
}

/* set_bind - proxy_bind ADDRESS|off in stream (upbind.c's address forms;
 * variables evaluated per session; `transparent` as in http). */
static int set_bind(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct stream_bind *sb;
	const char *a = n->args[0];

	(void)d;
	if (s->ssrv->bind)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	sb = pool_zalloc(b->pool, sizeof(*sb));
	if (!sb)
		return cfg_fail(b, n, "out of memory");
	s->ssrv->bind = sb;
	if (n->nargs == 1 && strcmp(a, "off") == 0) {
		sb->off = true;
		return 0;
	}
	sb->text = pool_strdup(b->pool, a);
	if (!sb->text)
		return cfg_fail(b, n, "out of memory");
	if (strchr(a, '$')) {
		sb->var = pool_zalloc(b->pool, sizeof(*sb->var));
		if (!sb->var)
			return cfg_fail(b, n, "out of memory");
		if (sval_compile(b, n, s->stream, a, sb->var))
			return -1;
	} else if (upbind_parse(a, strlen(a), &sb->addr, &sb->addrlen)) {
		return cfg_fail(b, n, "invalid address \"%s\"", a);
	}
	if (n->nargs == 2) {
		if (strcmp(n->args[1], "transparent") != 0)
			return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[1]);
		sb->transparent = true;
		b->cfg->bind_transparent = true;
	}
	return 0;
}

#define SS(f)	B_SSRV, offsetof(struct stream_srv, f)
#define C_SS	(C_STREAM | C_SSRV)
#define STLS(f) B_TLS, offsetof(struct tls_conf, f)

const struct dir cfg_stream_dirs[] = {
	{"stream", C_MAIN, 0, 0, true, set_stream, B_NONE, 0},
	{"server", C_STREAM, 0, 0, true, set_server, B_NONE, 0},
	{"upstream", C_STREAM, 1, 1, true, set_upstream, B_NONE, 0},
	{"map", C_STREAM, 2, 2, true, set_map, B_NONE, 0},
	{"geo", C_STREAM, 1, 2, true, set_geo, B_NONE, 0},
	{"split_clients", C_STREAM, 2, 2, true, set_split_clients, B_NONE, 0},
	{"log_format", C_STREAM, 2, ARGS_ANY, false, set_log_format, B_NONE, 0},
	{"access_log", C_SS, 1, ARGS_ANY, false, set_access_log, B_NONE, 0},
	{"error_log", C_SS, 1, 2, false, set_error_log, B_NONE, 0},
	{"listen", C_SSRV, 1, ARGS_ANY, false, set_listen, B_NONE, 0},
	{"proxy_pass", C_SSRV, 1, 1, false, set_proxy_pass, B_NONE, 0},
	{"return", C_SSRV, 1, 1, false, set_return, B_NONE, 0},
	{"set", C_SSRV, 2, 2, false, set_set, B_NONE, 0},
	{"limit_conn_zone", C_STREAM, 2, 2, false, set_limit_conn_zone, B_NONE, 0},
	{"limit_conn", C_SS, 2, 2, false, set_limit_conn, B_NONE, 0},
	{"limit_conn_log_level", C_SS, 1, 1, false, set_limit_log_level, B_NONE, 0},
	{"limit_conn_dry_run", C_SS, 1, 1, false, set_flag, SS(lconn_dry_run)},
	{"allow", C_SS, 1, 1, false, set_access, B_NONE, 0},
	{"deny", C_SS, 1, 1, false, set_access, B_NONE, 0},
	{"proxy_connect_timeout", C_SS, 1, 1, false, set_msec, SS(connect_timeout)},
	{"proxy_timeout", C_SS, 1, 1, false, set_msec, SS(timeout)},
	{"proxy_next_upstream", C_SS, 1, 1, false, set_flag, SS(next_upstream)},
	{"proxy_next_upstream_tries", C_SS, 1, 1, false, set_num, SS(next_tries)},
	{"proxy_next_upstream_timeout", C_SS, 1, 1, false, set_msec, SS(next_timeout)},
	{"ssl_preread", C_SS, 1, 1, false, set_flag, SS(preread)},
	{"preread_timeout", C_SS, 1, 1, false, set_msec, SS(preread_timeout)},
	{"preread_buffer_size", C_SS, 1, 1, false, set_size, SS(preread_size)},
	{"proxy_protocol", C_SS, 1, 1, false, set_flag, SS(proxy_protocol)},
	{"proxy_protocol_timeout", C_SS, 1, 1, false, set_msec, SS(pp_timeout)},
	{"set_real_ip_from", C_SS, 1, 1, false, set_real_ip_from, B_NONE, 0},
	{"proxy_half_close", C_SS, 1, 1, false, set_flag, SS(half_close)},
	{"kernel_splice", C_SS, 1, 1, false, set_flag, SS(kernel_splice)},
	{"tcp_nodelay", C_SS, 1, 1, false, set_noop, B_NONE, 0},
	{"proxy_buffer_size", C_SS, 1, 1, false, set_size, SS(buffer_size)},
	{"proxy_downstream_buffer", C_SS, 1, 1, false, cfg_set_deprecated_buffer, SS(buffer_size)},
	{"proxy_upstream_buffer", C_SS, 1, 1, false, cfg_set_deprecated_buffer, SS(buffer_size)},
	{"proxy_responses", C_SS, 1, 1, false, set_count, SS(responses)},
	{"proxy_requests", C_SS, 1, 1, false, set_count, SS(requests)},
	{"proxy_upload_rate", C_SS, 1, 1, false, set_rate, B_NONE, 0},
	{"proxy_download_rate", C_SS, 1, 1, false, set_rate, B_NONE, 1},
	{"proxy_bind", C_SS, 1, 2, false, set_bind, B_NONE, 0},
	/* TLS (cfg_stream_ssl.c; the ssl_* setters are http's, cfg_tls.c) */
	{"ssl_certificate", C_SS, 1, 1, false, cfg_set_tls_file, B_NONE, 0},
	{"ssl_certificate_key", C_SS, 1, 1, false, cfg_set_tls_file, B_NONE, 0},
	{"ssl_protocols", C_SS, 1, ARGS_ANY, false, cfg_set_tls_protocols, B_NONE, 0},
	{"ssl_ciphers", C_SS, 1, 1, false, cfg_set_tls_str, B_NONE, 0},
	{"ssl_ecdh_curve", C_SS, 1, 1, false, cfg_set_tls_str, B_NONE, 0},
	{"ssl_conf_command", C_SS, 2, 2, false, cfg_set_tls_conf_command, B_NONE, 0},
	{"ssl_prefer_server_ciphers", C_SS, 1, 1, false, cfg_set_tls_flag,
	 STLS(prefer_server_ciphers)},
	{"ssl_session_cache", C_SS, 1, 2, false, cfg_set_tls_cache, B_NONE, 0},
	{"ssl_session_timeout", C_SS, 1, 1, false, cfg_set_tls_timeout, B_NONE, 0},
	{"ssl_session_tickets", C_SS, 1, 1, false, cfg_set_tls_flag, STLS(session_tickets)},
	{"ssl_session_ticket_key", C_SS, 1, 1, false, cfg_set_tls_ticket_key, B_NONE, 0},
	{"ssl_dhparam", C_SS, 1, 1, false, cfg_set_tls_path, B_NONE, 0},
	{"ssl_password_file", C_SS, 1, 1, false, cfg_set_tls_path, B_NONE, 0},
	{"ssl_trusted_certificate", C_SS, 1, 1, false, cfg_set_tls_path, B_NONE, 0},
	{"ssl_client_certificate", C_SS, 1, 1, false, cfg_set_tls_path, B_NONE, 0},
	{"ssl_crl", C_SS, 1, 1, false, cfg_set_tls_path, B_NONE, 0},
	{"ssl_verify_client", C_SS, 1, 1, false, cfg_set_tls_verify, B_NONE, 0},
	{"ssl_verify_depth", C_SS, 1, 1, false, cfg_set_tls_depth, B_NONE, 0},
	{"ssl_alpn", C_SS, 1, ARGS_ANY, false, cfg_stream_set_alpn, B_NONE, 0},
	{"ssl_handshake_timeout", C_SS, 1, 1, false, set_msec, SS(hs_timeout)},
	{"proxy_ssl", C_SS, 1, 1, false, set_flag, SS(proxy_ssl)},
	{"proxy_ssl_server_name", C_SS, 1, 1, false, set_flag, SS(upssl.server_name)},
	{"proxy_ssl_verify", C_SS, 1, 1, false, set_flag, SS(upssl.verify)},
	{"proxy_ssl_session_reuse", C_SS, 1, 1, false, set_flag, SS(upssl.session_reuse)},
	{"proxy_ssl_name", C_SS, 1, 1, false, cfg_stream_set_proxy_ssl, B_NONE, 0},
	{"proxy_ssl_verify_depth", C_SS, 1, 1, false, cfg_stream_set_proxy_ssl, B_NONE, 0},
	{"proxy_ssl_conf_command", C_SS, 2, 2, false, cfg_stream_set_proxy_ssl, B_NONE, 0},
	{"proxy_ssl_protocols", C_SS, 1, ARGS_ANY, false, cfg_stream_set_proxy_ssl, B_NONE, 0},
	{"proxy_ssl_ciphers", C_SS, 1, 1, false, cfg_stream_set_proxy_ssl, B_NONE, 0},
	{"proxy_ssl_trusted_certificate", C_SS, 1, 1, false, cfg_stream_set_proxy_ssl, B_NONE, 0},
	{"proxy_ssl_certificate", C_SS, 1, 1, false, cfg_stream_set_proxy_ssl, B_NONE, 0},
	{"proxy_ssl_certificate_key", C_SS, 1, 1, false, cfg_stream_set_proxy_ssl, B_NONE, 0},
	{"proxy_ssl_password_file", C_SS, 1, 1, false, cfg_stream_set_proxy_ssl, B_NONE, 0},
	{"proxy_ssl_crl", C_SS, 1, 1, false, cfg_stream_set_proxy_ssl, B_NONE, 0},
	{"server", C_SUPS, 1, ARGS_ANY, false, set_ups_server, B_NONE, 0},
	{"least_conn", C_SUPS, 0, 0, false, cfg_set_ups_method, B_NONE, 0},
	{"random", C_SUPS, 0, 2, false, cfg_set_ups_method, B_NONE, 0},
	{"hash", C_SUPS, 1, 2, false, set_ups_hash, B_NONE, 0},
	{"zone", C_SUPS, 1, 2, false, cfg_set_zone, B_NONE, 0},
	{"health_check", C_SUPS, 0, 7, false, set_ups_health_check, B_NONE, 0},
};
const size_t cfg_stream_ndirs = ARRAY_SIZE(cfg_stream_dirs);

/* ---- finishing ------------------------------------------------------------------ */

/* implicit_group - the one-server group for an ADDR:PORT proxy_pass value
 * (made once per address). NULL with b->err set when TEXT is no address. */
static struct ups_group *implicit_group(struct build *b, struct cfg_stream *st, const char *text,
					const char *file, int line, bool quiet)
{
	struct cfg_node where = {.file = file, .line = line, .name = "proxy_pass"};
	struct ups_group *g = find_group(st, text, true);
	struct ups_server *srv;
	int rc;

	if (g)
		return g;
	g = pool_zalloc(b->pool, sizeof(*g));
	srv = pool_zalloc(b->pool, sizeof(*srv));
	if (!g || !srv) {
		if (!quiet)
			cfg_fail(b, &where, "out of memory");
		return NULL;
	}
	if (strncmp(text, "unix:", 5) != 0 && !has_port(text)) {
		if (!quiet)
			cfg_fail(b, &where, "no port in upstream \"%s\"", text);
		return NULL;
	}
	rc = cfg_parse_addr(text, 0, &srv->addr, &srv->addrlen, false);
	if (rc) {
		if (!quiet && strncmp(text, "unix:", 5) == 0)
			cfg_fail(b, &where, "%s in upstream \"%s\"", cfg_unix_err(rc), text);
		else if (!quiet)
			cfg_fail(b, &where, "host not found in upstream \"%s\"", text);
		return NULL;
	}
	g->name = pool_strdup(b->pool, text);
	g->implicit = true;
	g->stream = true;
	g->file = file;
	g->line = line;
	g->servers = srv;
	g->nservers = 1;
	g->keepalive_requests = 1000;
	g->keepalive_timeout_ms = 60000;
	g->keepalive_time_ms = 3600000;
	srv->name = g->name;
	srv->weight = 1;
	srv->max_fails = 1;
	srv->fail_timeout_ms = 10000;
	if (add_group(b, st, g)) {
		if (!quiet)
			cfg_fail(b, &where, "out of memory");
		return NULL;
	}
	return g;
}

/* literal_target - a literal value TEXT (LEN bytes) that is an address gets
 * its implicit group now (no allocation at run time); a name stays one. */
static void literal_target(struct build *b, struct cfg_stream *st, const struct stream_srv *srv,
			   const char *text, size_t len)
{
	char name[256];

	if (len >= sizeof(name))
		return;
	memcpy(name, text, len);
	name[len] = '\0';
	if (!find_group(st, name, false))
		implicit_group(b, st, name, srv->file, srv->line, true);
}

/* map_targets - for a proxy_pass through maps or `set` variables: every
 * literal map value and literal `set` value that is an address gets its
 * implicit group now (no allocation at run time). */
static void map_targets(struct build *b, struct cfg_stream *st, const struct stream_srv *srv)
{
	for (int i = 0; i < st->nservers; i++)
		for (int k = 0; k < st->servers[i]->nsets; k++) {
			const struct stream_val *v = &st->servers[i]->sets[k].val;

			if (v->nparts == 1 && v->parts[0].kind == SP_LIT)
				literal_target(b, st, srv, v->parts[0].str, v->parts[0].len);
		}
	for (struct stream_map *m = st->maps; m; m = m->next) {
		const struct cfg_map *cm = m->m;
		const struct map_entry *lists[] = {cm->exact, cm->regex};
		int counts[] = {cm->nexact, cm->nregex};

		if (cm->geo) {
			for (int i = 0; i < cm->geo->nvalues; i++)
				literal_target(b, st, srv, cm->geo->values[i].p,
					       cm->geo->values[i].len);
			literal_target(b, st, srv, cm->geo->def.p, cm->geo->def.len);
			continue;
		}
		if (cm->split) {
			for (int i = 0; i < cm->split->nparts; i++)
				literal_target(b, st, srv, cm->split->parts[i].value.p,
					       cm->split->parts[i].value.len);
			continue;
		}

		for (int k = 0; k < 3; k++) {
			for (int i = 0; i < (k < 2 ? counts[k] : 1); i++) {
				const struct cval *v = k < 2 ? &lists[k][i].value : &cm->def;

				if (v->nparts == 1 && v->parts[0].kind == CVAL_LIT)
					literal_target(b, st, srv, v->parts[0].str,
						       v->parts[0].len);
			}
		}
	}
}

#define SMERGE(f, def)                                                                 \
	do {                                                                           \
		if (srv->f == CFG_UNSET)                                               \
			srv->f = st->defaults.f != CFG_UNSET ? st->defaults.f : (def); \
	} while (0)

int cfg_stream_finish(struct build *b, struct cfg_stream *st)
{
	for (int i = 0; i < st->nservers; i++) {
		struct stream_srv *srv = st->servers[i];

		SMERGE(connect_timeout, 60000);
		SMERGE(resolver_timeout, 30000);
		if (!srv->resolver)
			srv->resolver = st->defaults.resolver;
		SMERGE(timeout, 600000);
		SMERGE(next_upstream, 1);
		SMERGE(next_tries, 0);
		SMERGE(next_timeout, 0);
		SMERGE(preread, 0);
		SMERGE(preread_timeout, 30000);
		SMERGE(preread_size, 16384);
		SMERGE(proxy_protocol, 0);
		SMERGE(pp_timeout, 30000);
		if (!srv->realip.from) {
			srv->realip.from = st->defaults.realip.from;
			srv->realip.nfrom = st->defaults.realip.nfrom;
		}
		SMERGE(half_close, 0);
		SMERGE(kernel_splice, 1);
		SMERGE(responses, INT_MAX); /* nginx: unset is any number */
		SMERGE(requests, 0);
		SMERGE(buffer_size, 16384);
		if (!srv->alog_set) {
			srv->alogs = st->defaults.alogs;
			srv->nalogs = st->defaults.nalogs;
		}
		if (!srv->error_log)
			srv->error_log = st->defaults.error_log;
		SMERGE(lconn_log_level, LOG_ERR);
		SMERGE(lconn_dry_run, 0);
		if (!srv->lconn) {
			srv->lconn = st->defaults.lconn;
			srv->nlconn = st->defaults.nlconn;
		}
		if (!srv->access_set) {
			srv->access = st->defaults.access;
			srv->naccess = st->defaults.naccess;
		}
		for (int d = 0; d < 2; d++) {
			if (srv->rate[d] != CFG_UNSET)
				continue;
			srv->rate[d] = st->defaults.rate[d] != CFG_UNSET ? st->defaults.rate[d] : 0;
			srv->rate_var[d] = st->defaults.rate_var[d];
		}
		if (!srv->bind)
			srv->bind = st->defaults.bind;
		if (srv->nlistens == 0) {
			struct cfg_node where = {.file = srv->file, .line = srv->line};

			return cfg_fail(b, &where, "no \"listen\" is defined for server");
		}
		if (srv->preread_size > PREREAD_BUFFER_MAX) {
			struct cfg_node where = {.file = srv->file, .line = srv->line};

			return cfg_fail(b, &where, "\"preread_buffer_size\" is over %d",
					PREREAD_BUFFER_MAX);
		}
		if (!srv->pass) {
			/* `return` alone */
		} else if (sval_literal(srv->pass)) {
			const char *name = srv->pass->raw;

			srv->group = find_group(st, name, false);
			if (!srv->group)
				srv->group =
					implicit_group(b, st, name, srv->file, srv->line, false);
			if (!srv->group)
				return -1;
		} else {
			map_targets(b, st, srv);
		}
	}
	if (cfg_stream_ssl_finish(b, st))
		return -1;
	if (cfg_rl_zones_bind(b, st->rl_zones))
		return -1;
	for (int i = 0; i < st->nservers; i++) {
		struct stream_srv *srv = st->servers[i];

		for (int k = 0; k < srv->nlconn; k++)
			for (int j = 0; j < st->nczones; j++)
				if (st->czones[j].zc == srv->lconn[k].zc)
					srv->lconn[k].key = &st->czones[j].key;
	}
	for (int i = 0; i < st->ngroups; i++) {
		struct ups_group *g = st->groups[i];
		struct cfg_node where = {.file = g->file, .line = g->line};

		if (ups_group_init(g))
			return cfg_fail(b, &where, "cannot initialize upstream \"%s\"", g->name);
	}
	return 0;
}

void cfg_stream_release(struct cfg_stream *st)
{
	if (!st)
		return;
	cfg_rl_zones_release(st->rl_zones);
	cfg_stream_ssl_release(st);
	for (int i = 0; i < st->ngroups; i++)
		ups_group_release(st->groups[i]);
	for (struct stream_map *m = st->maps; m; m = m->next)
		for (int k = 0; k < m->m->nregex; k++)
			pcre2_code_free(m->m->regex[k].re);
}
