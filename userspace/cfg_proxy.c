/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, second half: the proxy module's directives
 * (proxy_pass and the upstream groups it names, headers, timeouts, retries,
 * redirects), the `upstream` block and its balancing methods, and `map`.
 * The table that points here is in cfg.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "cfg_int.h"
#include "hc.h"
#include "lbd.h"
#include "log.h"
#include "ups.h"
#include "var.h"

/* ---- proxy ------------------------------------------------------------------ */

static struct ups_group *find_group(struct build *b, const char *name, size_t len)
{
	for (int i = 0; i < b->ngroups; i++) {
		struct ups_group *g = b->groups[i];

		if (!g->implicit && strlen(g->name) == len && memcmp(g->name, name, len) == 0)
			return g;
	}
	return NULL;
}

static int add_group(struct build *b, struct ups_group *g)
{
	struct ups_group **slot = PUSH(b, b->groups, b->ngroups);

	if (!slot)
		return -ENOMEM;
	*slot = g;
	return 0;
}

/* has_port - whether HOST (a URL's host part) names a port. */
static bool has_port(const char *host)
{
	const char *p = host[0] == '[' ? strchr(host, ']') : host;

	return p && strchr(p, ':') != NULL;
}

int cfg_set_proxy_pass(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct proxy_pass *pp;
	const char *url = n->args[0], *hp, *slash;
	size_t hlen;

	(void)d;
	if (s->loc->proxy)
		return cfg_fail(b, n, "\"proxy_pass\" directive is duplicate");
	if (!s->loc->is_location)
		return cfg_fail(b, n, "\"proxy_pass\" directive is not allowed here");
	s->loc->empty_gif = false; /* the last content handler written wins (nginx) */
	if (strchr(url, '$')) {
		/* evaluated per request (proxy_dyn.c); nginx takes a URI part
		 * in any location then, and checks the scheme at run time */
		pp = pool_zalloc(b->pool, sizeof(*pp));
		if (!pp)
			return cfg_fail(b, n, "out of memory");
		pp->dynamic = true;
		if (cfg_compile(b, n, url, &pp->url))
			return -1;
		s->loc->proxy = pp;
		return 0;
	}
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return cfg_fail(b, n, "invalid URL prefix in \"%s\"", url);
	pp = pool_zalloc(b->pool, sizeof(*pp));
	if (!pp)
		return cfg_fail(b, n, "out of memory");
	pp->ssl = strncasecmp(url, "https://", 8) == 0; /* upssl.c */
	hp = url + (pp->ssl ? 8 : 7);
	if (strncasecmp(hp, "unix:", 5) == 0) {
		/* nginx: the path ends at the first ':', the URI part follows it */
		const char *colon = strchr(hp + 5, ':');
		struct sockaddr_storage ss;
		socklen_t sl;
		int rc;

		hlen = colon ? (size_t)(colon - hp) : strlen(hp);
		rc = cfg_parse_unix(hp + 5, hlen - 5, &ss, &sl);
		if (rc)
			return cfg_fail(b, n, "%s in upstream \"%s\"", cfg_unix_err(rc), hp);
		pp->unix_sock = true;
		pp->host = "localhost";
		pp->addr = pool_strndup(b->pool, hp, hlen);
		slash = colon && colon[1] ? colon + 1 : NULL;
	} else {
		slash = strchr(hp, '/');
		hlen = slash ? (size_t)(slash - hp) : strlen(hp);
		if (hlen == 0)
			return cfg_fail(b, n, "no host in \"%s\" of the \"proxy_pass\" directive",
					url);
		pp->host = pool_strndup(b->pool, hp, hlen);
		pp->addr = pp->host;
		if (pp->ssl && pp->host && !has_port(pp->host)) {
			/* https's own default port, in the implicit group's name
			 * too (so that http://H and https://H are two groups) */
			char *a = pool_alloc(b->pool, hlen + 5);

			if (a)
				snprintf(a, hlen + 5, "%s:443", pp->host);
			pp->addr = a;
		}
	}
	if (!pp->host || !pp->addr)
		return cfg_fail(b, n, "out of memory");
	if (slash) {
		pp->has_uri = true;
		pp->uri = pool_strdup(b->pool, slash);
		pp->urilen = strlen(slash);
	}
	if (cfg_compile(b, n, url, &pp->url))
		return -1;
	if ((s->loc->match == LOC_NAMED || s->ctx == C_IF) && pp->has_uri)
		return cfg_fail(
			b, n,
			"\"proxy_pass\" cannot have URI part in location given by regular expression, or inside named location, or inside \"if\" statement, or inside \"limit_except\" block");
	if ((s->loc->match == LOC_REGEX || s->loc->match == LOC_REGEX_CASELESS) && pp->has_uri)
		return cfg_fail(
			b, n,
			"\"proxy_pass\" cannot have URI part in location given by regular expression, or inside named location, or inside \"if\" statement, or inside \"limit_except\" block");
	s->loc->proxy = pp;
	return 0;
}

/* Groups for proxy_pass are bound once every upstream block is known. */
int cfg_bind_proxy_pass(struct build *b, struct proxy_pass *pp, const char *file, int line)
{
	struct cfg_node where = {.file = file, .line = line, .name = "proxy_pass"};
	struct ups_group *g;
	struct ups_server *srv;

	if (pp->dynamic)
		return 0; /* found per request */
	g = pp->unix_sock ? NULL : find_group(b, pp->host, strlen(pp->host));
	if (g) {
		pp->group = g;
		return 0;
	}
	for (int i = 0; i < b->ngroups; i++) {
		if (b->groups[i]->implicit && strcmp(b->groups[i]->name, pp->addr) == 0) {
			pp->group = b->groups[i];
			return 0;
		}
	}
	/* memcached_pass has no default port: a name without one must be an
	 * upstream block's */
	if (pp->memcached && !pp->unix_sock && !has_port(pp->addr))
		return cfg_fail(b, &where, "no port in upstream \"%s\"", pp->addr);
	g = pool_zalloc(b->pool, sizeof(*g));
	srv = pool_zalloc(b->pool, sizeof(*srv));
	if (!g || !srv)
		return cfg_fail(b, &where, "out of memory");
	g->name = pp->addr;
	g->implicit = true;
	g->file = file;
	g->line = line;
	g->servers = srv;
	g->nservers = 1;
	g->keepalive_requests = 1000;
	g->keepalive_timeout_ms = 60000;
	g->keepalive_time_ms = 3600000;
	srv->name = pp->addr;
	srv->weight = 1;
	srv->max_fails = 1;
	srv->fail_timeout_ms = 10000;
	if (cfg_parse_addr(pp->addr, 80, &srv->addr, &srv->addrlen, false))
		return cfg_fail(b, &where, "host not found in upstream \"%s\"", pp->addr);
	if (add_group(b, g))
		return cfg_fail(b, &where, "out of memory");
	pp->group = g;
	return 0;
}

int cfg_set_proxy_header(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct hdr_list *hl = (struct hdr_list *)((char *)s->loc + d->off);
	/* add_header and add_trailer take `always`, proxy_set_header not */
	bool add = strcmp(n->name, "proxy_set_header") != 0;
	struct hdr_set *h;

	if (n->nargs == 3 && (!add || strcmp(n->args[2], "always") != 0))
		return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[2]);
	h = PUSH(b, hl->v, hl->n);
	if (!h)
		return cfg_fail(b, n, "out of memory");
	hl->set = true;
	h->name = pool_strdup(b->pool, n->args[0]);
	h->namelen = strlen(h->name);
	h->always = n->nargs == 3;
	return cfg_compile(b, n, n->args[1], &h->value);
}

int cfg_set_http_version(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	if (strcmp(n->args[0], "1.0") == 0)
		s->loc->proxy_http_version = 10;
	else if (strcmp(n->args[0], "1.1") == 0)
		s->loc->proxy_http_version = 11;
	else
		return cfg_fail(b, n, "invalid value \"%s\" in \"%s\" directive", n->args[0],
				n->name);
	return 0;
}

int cfg_parse_bits(struct build *b, struct cfg_node *n, const struct cfg_bit *t, size_t nt,
		   int *bits)
{
	for (size_t i = 0; i < n->nargs; i++) {
		size_t k;

		for (k = 0; k < nt; k++)
			if (strcmp(n->args[i], t[k].name) == 0)
				break;
		if (k == nt)
			return cfg_fail(b, n, "invalid value \"%s\"", n->args[i]);
		*bits |= t[k].bit;
	}
	return 0;
}

int cfg_set_next_upstream(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	static const struct cfg_bit t[] = {
		{"error", NU_ERROR},
		{"timeout", NU_TIMEOUT},
		{"invalid_header", NU_INVALID_HEADER},
		{"http_500", NU_HTTP_500},
		{"http_502", NU_HTTP_502},
		{"http_503", NU_HTTP_503},
		{"http_504", NU_HTTP_504},
		{"http_403", NU_HTTP_403},
		{"http_404", NU_HTTP_404},
		{"http_429", NU_HTTP_429},
		{"non_idempotent", NU_NON_IDEMPOTENT},
		{"off", NU_OFF},
	};
	int bits = 0;

	(void)d;
	if (cfg_parse_bits(b, n, t, ARRAY_SIZE(t), &bits))
		return -1;
	if ((bits & NU_OFF) && bits != NU_OFF)
		return cfg_fail(b, n, "invalid value \"off\"");
	s->loc->proxy_next_upstream = bits;
	return 0;
}

/* The sizes nginx compares the busy, temp file write and max temp file
 * sizes to: the larger of proxy_buffer_size and one proxy_buffers buffer
 * (the unit nginx reads the upstream in). */
#define BUFS_MSG \
	"the maximum of the value of \"proxy_buffer_size\" and one of the \"proxy_buffers\""

int cfg_proxy_bufs_check(struct build *b, struct cfg_loc *l, const struct cfg_node *where)
{
	int64_t size = LBD_MAX(l->proxy_buffer_size, l->proxy_buffers_size);

	if (l->proxy_busy_buffers_size == CFG_UNSET)
		l->proxy_busy_buffers_size = 2 * size;
	if (l->proxy_temp_file_write_size == CFG_UNSET)
		l->proxy_temp_file_write_size = 2 * size;
	if (l->proxy_busy_buffers_size < size)
		return cfg_fail(
			b, where,
			"\"proxy_busy_buffers_size\" must be equal to or greater than " BUFS_MSG);
	if (l->proxy_busy_buffers_size >
	    (int64_t)(l->proxy_buffers_num - 1) * l->proxy_buffers_size)
		return cfg_fail(
			b, where,
			"\"proxy_busy_buffers_size\" must be less than the size of all \"proxy_buffers\" minus one buffer");
	if (l->proxy_temp_file_write_size < size)
		return cfg_fail(
			b, where,
			"\"proxy_temp_file_write_size\" must be equal to or greater than " BUFS_MSG);
	if (l->proxy_max_temp_file_size != 0 && l->proxy_max_temp_file_size < size)
		return cfg_fail(
			b, where,
			"\"proxy_max_temp_file_size\" must be equal to zero to disable temporary files usage or must be equal to or greater than " BUFS_MSG);
	return 0;
}

/* proxy_buffers NUM SIZE: the memory of a buffered response (pbuf.c).
 * nginx's texts: "invalid value" for a bad number or size, and at least 2
 * buffers (nginx checks that at merge time). */
int cfg_set_proxy_buffers(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	char *end;
	long num = strtol(n->args[0], &end, 10);

	(void)d;
	if (*end || end == n->args[0] || num < 1 || num > 1024 ||
	    cfg_parse_size(n->args[1], &s->loc->proxy_buffers_size) ||
	    s->loc->proxy_buffers_size < 1 || num * s->loc->proxy_buffers_size > (64 << 20))
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	if (num < 2)
		return cfg_fail(b, n, "there must be at least 2 \"proxy_buffers\"");
	s->loc->proxy_buffers_num = (int)num;
	return 0;
}

int cfg_set_proxy_redirect(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	struct proxy_redirect *r;

	(void)d;
	if (n->nargs == 1) {
		if (strcmp(n->args[0], "off") == 0) {
			s->loc->redirect_mode = 0;
			return 0;
		}
		if (strcmp(n->args[0], "default") == 0) {
			s->loc->redirect_mode = 1;
			return 0;
		}
		return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[0]);
	}
	r = PUSH(b, s->loc->redirects, s->loc->nredirects);
	if (!r)
		return cfg_fail(b, n, "out of memory");
	s->loc->redirect_mode = 2;
	if (n->args[0][0] == '~') {
		bool ci = n->args[0][1] == '*';

		r->re = cfg_compile_re(b, n, n->args[0] + (ci ? 2 : 1), ci);
		if (!r->re)
			return -1;
	} else if (cfg_compile(b, n, n->args[0], &r->from)) {
		return -1;
	}
	return cfg_compile(b, n, n->args[1], &r->to);
}

/* ---- upstream -------------------------------------------------------------- */

/* ups_reject_slow_start - fail on the first `server` line of block N that
 * has a slow_start= parameter (its method cannot ramp); 0 if there is none. */
static int ups_reject_slow_start(struct build *b, struct cfg_node *n)
{
	for (size_t k = 0; k < n->nchildren; k++) {
		struct cfg_node *sn = &n->children[k];

		if (strcmp(sn->name, "server") != 0)
			continue;
		for (size_t i = 1; i < sn->nargs; i++) {
			if (strncmp(sn->args[i], "slow_start=", 11) == 0)
				return cfg_fail(b, sn, "invalid parameter \"%s\"", sn->args[i]);
		}
	}
	return 0;
}

/* cfg_ups_block - fill upstream group G from block N in context CTX (http's
 * or stream's upstream): nginx's keep-alive defaults, the servers, and the
 * checks both modules make once the block is read. */
int cfg_ups_block(struct build *b, struct cfg_node *n, const struct scope *s, struct ups_group *g,
		  unsigned ctx)
{
	struct scope in = *s;

	g->name = pool_strdup(b->pool, n->args[0]);
	g->file = n->file;
	g->line = n->line;
	g->keepalive_requests = 1000;
	g->keepalive_timeout_ms = 60000;
	g->keepalive_time_ms = 3600000;
	in.ups = g;
	in.ctx = ctx;
	if (!g->name)
		return cfg_fail(b, n, "out of memory");
	if (cfg_block(b, n, &in))
		return -1;
	if (g->nservers == 0)
		return cfg_fail(b, n, "no servers are inside upstream");
	for (int i = 0; i < g->nservers; i++) {
		if (g->servers[i].backup && g->method != UPS_M_RR &&
		    g->method != UPS_M_LEAST_CONN) {
			for (size_t k = 0; k < n->nchildren; k++) {
				struct cfg_node *sn = &n->children[k];

				if (strcmp(sn->name, "server") == 0 && sn->nargs &&
				    strcmp(sn->args[0], g->servers[i].name) == 0)
					return cfg_fail(
						b, sn,
						"balancing method does not support parameter \"backup\"");
			}
			return cfg_fail(b, n,
					"balancing method does not support parameter \"backup\"");
		}
	}
	return 0;
}

int cfg_set_upstream(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct ups_group *g;

	(void)d;
	if (find_group(b, n->args[0], strlen(n->args[0])))
		return cfg_fail(b, n, "duplicate upstream \"%s\"", n->args[0]);
	g = pool_zalloc(b->pool, sizeof(*g));
	if (!g || add_group(b, g))
		return cfg_fail(b, n, "out of memory");
	if (cfg_ups_block(b, n, s, g, C_UPS))
		return -1;
	/* nginx Plus: slow_start is for round robin and least_conn only */
	if (g->method != UPS_M_RR && g->method != UPS_M_LEAST_CONN)
		return ups_reject_slow_start(b, n);
	return 0;
}

int cfg_set_ups_server(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct ups_group *g = s->ups;
	struct ups_server *srv;
	int rc;

	(void)d;
	if (g->nservers >= UPS_MAX_SERVERS)
		return cfg_fail(b, n, "too many servers in upstream (at most %d)", UPS_MAX_SERVERS);
	srv = PUSH(b, g->servers, g->nservers);
	if (!srv)
		return cfg_fail(b, n, "out of memory");
	srv->name = pool_strdup(b->pool, n->args[0]);
	srv->weight = 1;
	srv->max_fails = 1;
	srv->fail_timeout_ms = 10000;
	rc = cfg_parse_addr(n->args[0], 80, &srv->addr, &srv->addrlen, false);
	if (rc && strncmp(n->args[0], "unix:", 5) == 0)
		return cfg_fail(b, n, "%s in upstream \"%s\"", cfg_unix_err(rc), n->args[0]);
	if (rc == -ERANGE)
		return cfg_fail(b, n, "invalid port in upstream \"%s\"", n->args[0]);
	if (rc)
		return cfg_fail(b, n, "host not found in upstream \"%s\"", n->args[0]);
	for (size_t i = 1; i < n->nargs; i++) {
		const char *a = n->args[i];
		char *end;

		if (strncmp(a, "weight=", 7) == 0) {
			srv->weight = (int)strtol(a + 7, &end, 10);
			if (*end || srv->weight < 1 || srv->weight > 1000)
				return cfg_fail(b, n, "invalid parameter \"%s\"", a);
		} else if (strncmp(a, "max_fails=", 10) == 0) {
			srv->max_fails = (int)strtol(a + 10, &end, 10);
			if (*end || srv->max_fails < 0)
				return cfg_fail(b, n, "invalid parameter \"%s\"", a);
		} else if (strncmp(a, "max_conns=", 10) == 0) {
			srv->max_conns = (int)strtol(a + 10, &end, 10);
			if (*end || srv->max_conns < 0)
				return cfg_fail(b, n, "invalid parameter \"%s\"", a);
		} else if (strncmp(a, "fail_timeout=", 13) == 0) {
			int64_t ms;

			if (cfg_parse_time(a + 13, &ms))
				return cfg_fail(b, n, "invalid parameter \"%s\"", a);
			srv->fail_timeout_ms = (int)ms;
		} else if (strncmp(a, "slow_start=", 11) == 0) {
			int64_t ms;

			if (cfg_parse_time(a + 11, &ms) || ms > INT_MAX)
				return cfg_fail(b, n, "invalid parameter \"%s\"", a);
			srv->slow_start_ms = (int)ms;
		} else if (strcmp(a, "backup") == 0) {
			srv->backup = true;
		} else if (strcmp(a, "down") == 0) {
			srv->down = true;
		} else {
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
		}
	}
	return 0;
}

int cfg_set_ups_method(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct ups_group *g = s->ups;

	(void)d;
	if (g->method != UPS_M_RR)
		return cfg_fail(b, n, "load balancing method redefined");
	if (strcmp(n->name, "least_conn") == 0) {
		g->method = UPS_M_LEAST_CONN;
	} else if (strcmp(n->name, "ip_hash") == 0) {
		g->method = UPS_M_IP_HASH;
	} else if (strcmp(n->name, "hash") == 0) {
		struct cval *key = pool_zalloc(b->pool, sizeof(*key));

		g->method = UPS_M_HASH;
		if (n->nargs == 2 && strcmp(n->args[1], "consistent") != 0)
			return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[1]);
		g->hash_consistent = n->nargs == 2;
		if (!key || cfg_compile(b, n, n->args[0], key))
			return -1;
		g->hash_key = key;
	} else {
		g->method = UPS_M_RANDOM;
		if (n->nargs >= 1) {
			if (strcmp(n->args[0], "two") != 0)
				return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[0]);
			g->random_two = true;
		}
		if (n->nargs == 2 && strcmp(n->args[1], "least_conn") != 0)
			return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[1]);
	}
	return 0;
}

int cfg_set_ups_keepalive(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	char *end;
	long v;

	(void)d;
	if (strcmp(n->name, "keepalive_timeout") == 0 || strcmp(n->name, "keepalive_time") == 0) {
		int64_t ms;

		if (cfg_parse_time(n->args[0], &ms))
			return cfg_fail(b, n, "invalid value \"%s\"", n->args[0]);
		if (strcmp(n->name, "keepalive_time") == 0)
			s->ups->keepalive_time_ms = ms;
		else
			s->ups->keepalive_timeout_ms = (int)ms;
		return 0;
	}
	v = strtol(n->args[0], &end, 10);
	if (*end || v < 1 || v > 65536)
		return cfg_fail(b, n, "invalid value \"%s\" in \"%s\" directive", n->args[0],
				n->name);
	if (strcmp(n->name, "keepalive") == 0)
		s->ups->keepalive = (int)v;
	else
		s->ups->keepalive_requests = (int)v;
	return 0;
}

/*
 * health_check [interval=T] [timeout=T] [fails=N] [passes=N] [uri=PATH]
 *              [status=CODE|LO-HI|Nxx] [type=http|tcp] [match=NAME]
 * Active checks of every server of the group (hc.c). nginx Plus puts the
 * directive in a location; lbd puts it in the upstream block, as HAProxy's
 * `check` belongs to its backend.
 */
/* `queue N [timeout=T]` (nginx Plus): requests that find no usable server
 * wait up to T (60s) for one, at most N at a time; proxy.c runs it. */
int cfg_set_ups_queue(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct ups_group *g = s->ups;
	char *end;
	long v;

	(void)d;
	if (g->queue_max)
		return cfg_fail(b, n, "\"queue\" directive is duplicate");
	v = strtol(n->args[0], &end, 10);
	if (end == n->args[0] || *end || v < 1 || v > 1000000)
		return cfg_fail(b, n, "invalid value \"%s\" in \"queue\" directive", n->args[0]);
	g->queue_max = (int)v;
	g->queue_timeout_ms = 60000;
	if (n->nargs == 2) {
		int64_t ms;

		if (strncmp(n->args[1], "timeout=", 8) != 0 ||
		    cfg_parse_time(n->args[1] + 8, &ms) || ms > INT_MAX)
			return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[1]);
		g->queue_timeout_ms = (int)ms;
	}
	return 0;
}

int cfg_set_ups_health_check(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d)
{
	struct ups_hc *hc = &s->ups->hc;

	(void)d;
	if (hc->enabled)
		return cfg_fail(b, n, "\"health_check\" directive is duplicate");
	hc_defaults(hc);
	hc->file = n->file;
	hc->line = n->line;
	for (size_t i = 0; i < n->nargs; i++) {
		const char *a = n->args[i], *eq = strchr(a, '=');
		const char *v = eq ? eq + 1 : "";
		size_t klen = eq ? (size_t)(eq - a) : strlen(a);
		int64_t ms;
		char *end;
		long num;

#define KEY(k) (klen == sizeof(k) - 1 && strncmp(a, k, klen) == 0)
		if (!eq) {
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
		} else if (KEY("interval") || KEY("timeout")) {
			if (cfg_parse_time(v, &ms) || ms <= 0 || ms > 86400000)
				return cfg_fail(b, n, "invalid value \"%s\"", a);
			if (KEY("interval"))
				hc->interval_ms = (int)ms;
			else
				hc->timeout_ms = (int)ms;
		} else if (KEY("fails") || KEY("passes")) {
			num = strtol(v, &end, 10);
			if (!*v || *end || num < 1 || num > 1000)
				return cfg_fail(b, n, "invalid value \"%s\"", a);
			if (KEY("fails"))
				hc->fails = (int)num;
			else
				hc->passes = (int)num;
		} else if (KEY("uri")) {
			if (v[0] != '/' || strpbrk(v, " \t\r\n"))
				return cfg_fail(b, n, "invalid value \"%s\"", a);
			hc->uri = pool_strdup(b->pool, v);
			if (!hc->uri)
				return cfg_fail(b, n, "out of memory");
		} else if (KEY("status")) {
			if (hc_parse_status(v, &hc->status_lo, &hc->status_hi))
				return cfg_fail(b, n, "invalid value \"%s\"", a);
		} else if (KEY("type")) {
			if (strcmp(v, "http") && strcmp(v, "tcp"))
				return cfg_fail(b, n, "invalid value \"%s\"", a);
			hc->tcp = strcmp(v, "tcp") == 0;
		} else if (KEY("match")) {
			/* resolved once the http block is read (cfg_hc.c) */
			if (s->ctx & C_SUPS)
				return cfg_fail(b, n, "\"match=\" is not supported in stream");
			hc->match_name = pool_strdup(b->pool, v);
			if (!*v || !hc->match_name)
				return cfg_fail(b, n, "invalid value \"%s\"", a);
		} else {
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
		}
#undef KEY
	}
	return 0;
}

/* zone: upstream state is always shared by every worker in lbd. */
int cfg_set_zone(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)b, (void)n, (void)s, (void)d;
	return 0;
}

/* ---- map -------------------------------------------------------------------- */

struct cfg_map *cfg_map_declared(struct build *b, struct cfg_node *n, struct scope *s,
				 const char *var)
{
	struct cfg_map *m = NULL;

	/* The pre-pass created the map so that uses before it compile. */
	for (struct cfg_map *it = s->http->maps; it; it = it->next)
		if (strcmp(it->name, var + 1) == 0 && !it->src.raw)
			m = it;
	if (!m)
		cfg_fail(b, n, "the duplicate \"%s\" variable", var + 1);
	return m;
}

int cfg_set_map(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_map *m = cfg_map_declared(b, n, s, n->args[1]);
	char msg[256];

	(void)d;
	if (!m)
		return -1;
	if (cfg_compile(b, n, n->args[0], &m->src))
		return -1;
	for (size_t i = 0; i < n->nchildren; i++) {
		struct cfg_node *c = &n->children[i];

		if (strcmp(c->name, "hostnames") == 0 && c->nargs == 0) {
			m->hostnames = true;
			continue;
		}
		if (strcmp(c->name, "volatile") == 0 && c->nargs == 0) {
			m->volatile_ = true;
			continue;
		}
		if (c->nargs != 1 || c->block)
			return cfg_fail(b, c, "invalid number of the map parameters");
		b->cv.file = c->file;
		b->cv.line = c->line;
		if (map_add_entry(&b->cv, m, c->name, c->args[0], msg, sizeof(msg)))
			return cfg_fail(b, c, "%s", msg);
	}
	return 0;
}

int cfg_prepass_maps(struct build *b, struct cfg_node *http, struct cfg_http *h)
{
	for (size_t i = 0; i < http->nchildren; i++) {
		struct cfg_node *n = &http->children[i];
		struct cfg_map *m;

		/* geo [$address] $variable (cfg_geo.c) and split_clients STRING
		 * $variable (cfg_split.c): maps of another kind */
		bool other = (strcmp(n->name, "geo") == 0 && (n->nargs == 1 || n->nargs == 2)) ||
			     (strcmp(n->name, "split_clients") == 0 && n->nargs == 2);
		const char *var = n->nargs ? n->args[n->nargs - 1] : "";

		if (!other && (strcmp(n->name, "map") != 0 || n->nargs != 2))
			continue;
		if (var[0] != '$')
			return cfg_fail(b, n, "invalid variable name \"%s\"", var);
		m = pool_zalloc(b->pool, sizeof(*m));
		if (!m)
			return cfg_fail(b, n, "out of memory");
		m->name = pool_strdup(b->pool, var + 1);
		m->idx = ++h->nmaps;
		m->next = h->maps;
		h->maps = m;
	}
	b->cv.maps = h->maps;
	return 0;
}
