/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder. Applies the directive table to the syntax tree
 * that cfg_ast.c reads, fills the typed configuration (cfg-t.h), merges
 * unset values down http -> server -> location as nginx does, groups
 * listening addresses, and resolves upstreams. Every error names FILE:LINE
 * with nginx's wording; directives that mean nothing to lbd are accepted
 * with a warning; anything else unknown is an error. The proxy, upstream
 * and map directives are in cfg_proxy.c, the request limits in
 * cfg_limit.c, TLS in cfg_tls.c (shared types in cfg_int.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "alog.h"
#include "autoindex.h"
#include "cfg.h"
#include "cfg_ast.h"
#include "lbd.h"
#include "log.h"
#include "pool.h"
#include "resolver.h"
#include "slog.h"
#include "sockaddr.h"
#include "stream.h"
#include "priv.h"
#include "ups.h"
#include "var.h"

#include "cfg_int.h"

int cfg_fail(struct build *b, const struct cfg_node *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(b->err, b->errlen, fmt, ap);
	va_end(ap);
	if (k >= 0 && (size_t)k < b->errlen && n)
		snprintf(b->err + k, b->errlen - (size_t)k, " in %s:%d",
			 n->file ? n->file : "command line", n->end_line ? n->end_line : n->line);
	return -1;
}

void cfg_warn(const struct cfg_node *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s in %s:%d", msg, n->file ? n->file : "command line", n->line);
}

void *cfg_grow(struct build *b, void *old, int n, size_t elem)
{
	void *m;

	/* Arrays only ever grow through PUSH, from empty, so their capacity
	 * is implied: the next power of two. Doubling keeps a configuration
	 * with thousands of entries linear; the pool frees it all at once. */
	if (old && n > 0 && (n & (n - 1)) != 0) {
		memset((char *)old + (size_t)n * elem, 0, elem);
		return old;
	}
	m = pool_alloc(b->pool, (size_t)(n ? 2 * n : 1) * elem);
	if (!m)
		return NULL;
	if (old && n)
		memcpy(m, old, (size_t)n * elem);
	memset((char *)m + (size_t)n * elem, 0, elem);
	return m;
}

/* ---- value parsing ------------------------------------------------------ */

int cfg_parse_time(const char *s, int64_t *ms)
{
	int64_t total = 0;
	const char *p = s;

	if (!*p)
		return -EINVAL;
	while (*p) {
		int64_t v = 0, mul;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (*p++ - '0');
			if (v > INT64_MAX / 1000000000)
				return -EINVAL;
		}
		if (strncmp(p, "ms", 2) == 0) {
			mul = 1;
			p += 2;
		} else {
			switch (*p) {
			case 'y':
				mul = 365LL * 86400000;
				break;
			case 'M':
				mul = 30LL * 86400000;
				break;
			case 'w':
				mul = 7LL * 86400000;
				break;
			case 'd':
				mul = 86400000;
				break;
			case 'h':
				mul = 3600000;
				break;
			case 'm':
				mul = 60000;
				break;
			case 's':
				mul = 1000;
				break;
			case '\0':
				mul = 1000;
				p--;
				break;
			default:
				return -EINVAL;
			}
			p++;
		}
		if (v > (INT64_MAX - total) / mul)
			return -EINVAL; /* "99999999y": past 2^63 ms */
		total += v * mul;
	}
	*ms = total;
	return 0;
}

int cfg_parse_size(const char *s, int64_t *bytes)
{
	char *end;
	long long v;
	int64_t mul = 1;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		mul = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		mul = 1024LL * 1024 * 1024, end++;
	if (*end || v > INT64_MAX / mul)
		return -EINVAL;
	*bytes = (int64_t)v * mul;
	return 0;
}

static int parse_flag(struct build *b, struct cfg_node *n, const char *a, int *out)
{
	if (strcasecmp(a, "on") == 0)
		*out = 1;
	else if (strcasecmp(a, "off") == 0)
		*out = 0;
	else
		return cfg_fail(
			b, n,
			"invalid value \"%s\" in \"%s\" directive, it must be \"on\" or \"off\"", a,
			n->name);
	return 0;
}

static void *base_ptr(struct build *b, struct scope *s, const struct dir *d)
{
	switch (d->base) {
	case B_MAIN:
		return b->cfg;
	case B_LOC:
		return s->loc;
	case B_SRV:
		/* a server directive in http{} sets the default of every server */
		return s->srv ? s->srv : s->http->srv_http;
	case B_TLS:
		return cfg_tls_base(s);
	case B_SSRV:
		return s->ssrv;
	default:
		return NULL;
	}
}

int cfg_set_flag(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int *f = (int *)((char *)base_ptr(b, s, d) + d->off);

	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	return parse_flag(b, n, n->args[0], f);
}

static int set_msec(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int64_t *f = (int64_t *)((char *)base_ptr(b, s, d) + d->off);

	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (cfg_parse_time(n->args[0], f))
		return cfg_fail(b, n, "invalid value \"%s\" in \"%s\" directive", n->args[0],
				n->name);
	return 0;
}

int cfg_set_size(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int64_t *f = (int64_t *)((char *)base_ptr(b, s, d) + d->off);

	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (cfg_parse_size(n->args[0], f))
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	return 0;
}

/* num_arg - A as a non-negative int (digits only), or -1. */
static int num_arg(const char *a)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*a))
		return -1;
	v = strtol(a, &end, 10);
	return *end || v > INT_MAX ? -1 : (int)v;
}

static int set_num(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int *f = (int *)((char *)base_ptr(b, s, d) + d->off);
	int v;

	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if ((v = num_arg(n->args[0])) < 0)
		return cfg_fail(b, n, "invalid number \"%s\" in \"%s\" directive", n->args[0],
				n->name);
	*f = v;
	return 0;
}

/* set_num_nginx - set_num with the message of nginx's ngx_conf_set_num_slot
 * (max_ranges). */
static int set_num_nginx(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int *f = (int *)((char *)base_ptr(b, s, d) + d->off);
	int v;

	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if ((v = num_arg(n->args[0])) < 0)
		return cfg_fail(b, n, "\"%s\" directive invalid number", n->name);
	*f = v;
	return 0;
}

static int set_str(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	char **f = (char **)((char *)base_ptr(b, s, d) + d->off);

	if (*f)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	*f = pool_strdup(b->pool, n->args[0]);
	return 0;
}

/* A directive lbd accepts and has no use for: warn, naming FILE:LINE. */
static int set_ignored(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)b, (void)s, (void)d;
	cfg_warn(n, "\"%s\" directive has no effect in lbd and is ignored", n->name);
	return 0;
}

/* `resolver ADDRESS ... [valid=TIME] [ipv4=on|off] [ipv6=on|off]
 * [status_zone=NAME]` and `resolver_timeout TIME`: nginx resolves OCSP
 * responders and run-time upstream names with it; lbd has no run-time
 * names and asks the system resolver for OCSP, so both are checked as
 * nginx checks them, then ignored with a warning (TLS hardening snippets
 * carry them). */
static int set_resolver(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	bool stream = s->ctx & (C_STREAM | C_SSRV);
	const struct resolver_conf **at = stream ? &s->ssrv->resolver : &s->loc->resolver;
	int64_t *tat = stream ? &s->ssrv->resolver_timeout : &s->loc->resolver_timeout;
	struct resolver_conf *rc;
	int64_t ms;

	(void)d;
	if (strcmp(n->name, "resolver_timeout") == 0) {
		if (cfg_parse_time(n->args[0], &ms))
			return cfg_fail(b, n, "\"resolver_timeout\" directive invalid value");
		if (*tat != CFG_UNSET)
			return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
		*tat = ms;
		return 0;
	}
	if (*at)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (!(rc = pool_zalloc(b->pool, sizeof(*rc))))
		return cfg_fail(b, n, "out of memory");
	rc->ipv4 = rc->ipv6 = true;
	for (size_t i = 0; i < n->nargs; i++) {
		const char *a = n->args[i];

		if (strncmp(a, "valid=", 6) == 0) {
			if (cfg_parse_time(a + 6, &ms))
				return cfg_fail(b, n, "invalid parameter: %s", a);
			rc->valid_ms = ms;
		} else if (strncmp(a, "ipv4=", 5) == 0 || strncmp(a, "ipv6=", 5) == 0) {
			bool on = strcmp(a + 5, "on") == 0;

			if (!on && strcmp(a + 5, "off") != 0)
				return cfg_fail(b, n, "invalid parameter: %s", a);
			if (a[3] == '4')
				rc->ipv4 = on;
			else
				rc->ipv6 = on;
		} else if (strncmp(a, "status_zone=", 12) == 0) {
			continue; /* nginx Plus: statistics only */
		} else if (!*a) {
			return cfg_fail(b, n, "invalid parameter: %s", a);
		} else {
			if (rc->naddr == RESOLVER_MAX_SERVERS)
				return cfg_fail(b, n, "too many addresses in resolver (at most %d)",
						RESOLVER_MAX_SERVERS);
			if (cfg_parse_addr(a, 53, &rc->addr[rc->naddr], &rc->addrlen[rc->naddr],
					   false))
				return cfg_fail(b, n, "host not found in resolver \"%s\"", a);
			rc->naddr++;
		}
	}
	if (!rc->ipv4 && !rc->ipv6)
		return cfg_fail(b, n, "\"ipv4\" and \"ipv6\" cannot both be \"off\"");
	if (!rc->naddr)
		return cfg_fail(b, n, "invalid number of arguments in \"resolver\" directive");
	*at = rc;
	return 0;
}

/* `load_module`: the stream module nginx configs load is built in (say
 * nothing); any other module has no effect in lbd (warn). */
static int set_load_module(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	if (strcmp(n->args[0], "/usr/share/nginx/modules/ngx_stream_module.so") == 0)
		return 0;
	return set_ignored(b, n, s, d);
}

/* `autoindex_format html|xml|json|jsonp` (nginx's enum slot). */
static int set_autoindex_format(struct build *b, struct cfg_node *n, struct scope *s,
				const struct dir *d)
{
	static const char *const names[] = {[AUTOINDEX_HTML] = "html",
					    [AUTOINDEX_JSON] = "json",
					    [AUTOINDEX_JSONP] = "jsonp",
					    [AUTOINDEX_XML] = "xml"};
	int *f = (int *)((char *)base_ptr(b, s, d) + d->off);

	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
		if (strcmp(n->args[0], names[i]) == 0) {
			*f = i;
			return 0;
		}
	}
	return cfg_fail(b, n, "invalid value \"%s\"", n->args[0]);
}

int cfg_compile(struct build *b, struct cfg_node *n, const char *text, struct cval *out)
{
	char msg[256];

	b->cv.file = n->file;
	b->cv.line = n->line;
	if (cval_compile(&b->cv, text, out, msg, sizeof(msg)))
		return cfg_fail(b, n, "%s", msg);
	return 0;
}

void *cfg_compile_re(struct build *b, struct cfg_node *n, const char *re, bool caseless)
{
	int errcode;
	PCRE2_SIZE erroff;
	pcre2_code *code;

	code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, caseless ? PCRE2_CASELESS : 0,
			     &errcode, &erroff, NULL);
	if (!code) {
		PCRE2_UCHAR buf[256];

		pcre2_get_error_message(errcode, buf, sizeof(buf));
		cfg_fail(b, n, "pcre2_compile() failed: %s in \"%s\" at \"%s\"", buf, re,
			 re + erroff);
		return NULL;
	}
	pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	return code;
}

/* ---- main and events ----------------------------------------------------- */

static int set_workers(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	char *end;
	long v;

	(void)s, (void)d;
	if (strcmp(n->args[0], "auto") == 0) {
		b->cfg->workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
		return 0;
	}
	v = strtol(n->args[0], &end, 10);
	if (*end || v < 1 || v > 256)
		return cfg_fail(b, n, "invalid value \"%s\" in \"%s\" directive", n->args[0],
				n->name);
	b->cfg->workers = (int)v;
	return 0;
}

/* set_user - `user USER [GROUP];` As nginx does, the names are checked
 * only when running as root (the only case where they are used): `lbd -t`
 * then reports an unknown user at its line. */
static int set_user(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct priv_ids ids;
	char err[256];

	(void)s, (void)d;
	if (geteuid() == 0 && priv_resolve(n->args[0], n->nargs > 1 ? n->args[1] : n->args[0], &ids,
					   err, sizeof(err)))
		return cfg_fail(b, n, "%s", err);
	b->cfg->user = pool_strdup(b->pool, n->args[0]);
	b->cfg->group = pool_strdup(b->pool, n->nargs > 1 ? n->args[1] : n->args[0]);
	return 0;
}

static int set_daemon(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int v = 0;

	(void)s, (void)d;
	if (parse_flag(b, n, n->args[0], &v))
		return -1;
	b->cfg->daemon = v;
	return 0;
}

static char *full_path(struct build *b, const char *prefix, const char *p)
{
	size_t lp, ln;
	char *r;

	if (p[0] == '/')
		return pool_strdup(b->pool, p);
	lp = strlen(prefix);
	ln = strlen(p);
	r = pool_alloc(b->pool, lp + ln + 1);
	if (r) {
		memcpy(r, prefix, lp);
		memcpy(r + lp, p, ln + 1);
	}
	return r;
}

/* `proxy_temp_path` and `client_body_temp_path PATH [L1 [L2 [L3]]]`: the
 * directory of temp files (relative to the prefix). The levels are checked
 * as nginx checks them (each a positive number, their digits and slashes
 * within 10 + the number of levels); client_body_temp_path's are kept for
 * its named files (client_body_in_file_only, $request_body_file), the
 * others unused: those temp files have no name (O_TMPFILE). */
static int set_temp_path(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	char **f = (char **)((char *)base_ptr(b, s, d) + d->off);
	uint8_t lv[3] = {0};
	long len = 0;

	if (*f)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	for (size_t i = 1; i < n->nargs; i++) {
		const char *a = n->args[i];
		long v = 0;

		for (; *a >= '0' && *a <= '9' && v < 100; a++)
			v = v * 10 + (*a - '0');
		if (*a || a == n->args[i] || v == 0)
			return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
		len += v + 1;
		lv[i - 1] = (uint8_t)v;
	}
	if (len > 10 + (long)n->nargs - 1)
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	if (d->base == B_LOC && d->off == offsetof(struct cfg_loc, client_body_temp_path))
		memcpy(((struct cfg_loc *)base_ptr(b, s, d))->body_temp_lv, lv, sizeof(lv));
	*f = full_path(b, b->cfg->prefix, n->args[0]);
	return *f ? 0 : cfg_fail(b, n, "out of memory");
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
	if (strcmp(n->args[0], "stderr") == 0)
		path = "stderr";
	else
		path = full_path(b, b->cfg->prefix, n->args[0]);
	t = log_target_open(path, lvl);
	if (!t)
		return cfg_fail(b, n, "open() \"%s\" failed (%d: %s)", path, errno,
				strerror(errno));
set:
	/* Several error_log in one block: each gets the lines of its level. */
	{
		struct log_target **slot =
			s->ctx & C_MAIN ? &b->cfg->error_log : &s->loc->error_log;

		if (*slot && !(t = log_target_both(*slot, t)))
			return cfg_fail(b, n, "out of memory");
		*slot = t;
	}
	return 0;
}

static int set_pin_path(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)s, (void)d;
	if (n->args[0][0] != '/' && strcmp(n->args[0], "off") != 0)
		return cfg_fail(b, n, "\"bpf_pin_path\" must be an absolute path on bpffs, or off");
	b->cfg->bpf_pin_path =
		strcmp(n->args[0], "off") == 0 ? NULL : pool_strdup(b->pool, n->args[0]);
	return 0;
}

static int set_pid(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)s, (void)d;
	b->cfg->pid_file =
		strcmp(n->args[0], "off") ? full_path(b, b->cfg->prefix, n->args[0]) : NULL;
	return 0;
}

/* set_ctl_socket - `control_socket PATH|off [mode=OCTAL] [group=NAME];`:
 * the control socket of ctl.c. The mode must leave the owner read and
 * write; the group is resolved when the socket is created. */
static int set_ctl_socket(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg *c = b->cfg;

	(void)s, (void)d;
	c->ctl_socket_set = true;
	if (strcmp(n->args[0], "off") == 0) {
		if (n->nargs > 1)
			return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[1]);
		c->ctl_socket = NULL;
		return 0;
	}
	c->ctl_socket = full_path(b, c->prefix, n->args[0]);
	for (size_t i = 1; i < n->nargs; i++) {
		const char *a = n->args[i];
		char *end;
		long m;

		if (strncmp(a, "mode=", 5) == 0) {
			m = strtol(a + 5, &end, 8);
			if (a[5] == '\0' || *end || m < 0 || m > 0777 || (m & 0600) != 0600)
				return cfg_fail(b, n, "invalid mode \"%s\" in \"%s\" directive",
						a + 5, n->name);
			c->ctl_socket_mode = (int)m;
		} else if (strncmp(a, "group=", 6) == 0 && a[6]) {
			c->ctl_socket_group = pool_strdup(b->pool, a + 6);
		} else {
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
		}
	}
	return 0;
}

static int set_events(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct scope in = *s;

	(void)d;
	in.ctx = C_EVENTS;
	return cfg_block(b, n, &in);
}

static int set_worker_conns(struct build *b, struct cfg_node *n, struct scope *s,
			    const struct dir *d)
{
	char *end;
	long v = strtol(n->args[0], &end, 10);

	(void)s, (void)d;
	if (*end || v < 1 || v > 1 << 20)
		return cfg_fail(b, n, "invalid number \"%s\"", n->args[0]);
	b->cfg->worker_connections = (int)v;
	return 0;
}

/* ---- http, server, location ------------------------------------------------ */

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

static int set_http(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
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

static int set_server(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
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

static int set_location(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
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

static int set_listen(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
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

static int set_server_name(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
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

static int set_str_list(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct str_list *sl = (struct str_list *)((char *)s->loc + d->off);

	for (size_t i = 0; i < n->nargs; i++) {
		char **slot = PUSH(b, sl->v, sl->n);

		if (!slot)
			return cfg_fail(b, n, "out of memory");
		*slot = pool_strdup(b->pool, n->args[i]);
	}
	sl->set = true;
	return 0;
}

/* ---- static files ---------------------------------------------------------- */

static int set_root(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	bool alias = strcmp(n->name, "alias") == 0;

	(void)d;
	if (s->loc->root)
		return cfg_fail(
			b, n,
			"\"%s\" directive is duplicate, \"%s\" directive was specified earlier",
			n->name, s->loc->root_is_alias == 1 ? "alias" : "root");
	if (alias && s->loc->match == LOC_NAMED)
		return cfg_fail(b, n,
				"\"alias\" directive cannot be used inside the named location");
	s->loc->root = pool_zalloc(b->pool, sizeof(struct cval));
	if (!s->loc->root)
		return cfg_fail(b, n, "out of memory");
	s->loc->root_is_alias = alias;
	const char *p = n->args[0];

	if (p[0] != '/' && p[0] != '$')
		p = full_path(b, b->cfg->prefix, p);
	return cfg_compile(b, n, p, s->loc->root);
}

static int set_try_files(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	if (s->loc->try_files)
		return cfg_fail(b, n, "\"try_files\" directive is duplicate");
	s->loc->try_files = pool_zalloc(b->pool, n->nargs * sizeof(struct cval));
	if (!s->loc->try_files)
		return cfg_fail(b, n, "out of memory");
	s->loc->ntry_files = (int)n->nargs;
	for (size_t i = 0; i < n->nargs; i++)
		if (cfg_compile(b, n, n->args[i], &s->loc->try_files[i]))
			return -1;
	return 0;
}

int cfg_expires_parse(const char *a, int *mode, int64_t *secs)
{
	int64_t ms;
	bool neg = false;

	if (strcmp(a, "off") == 0) {
		*mode = 4;
		return 0;
	}
	if (strcmp(a, "epoch") == 0) {
		*mode = 2;
		return 0;
	}
	if (strcmp(a, "max") == 0) {
		*mode = 3;
		return 0;
	}
	if (a[0] == '@') {
		/* a time of day: seconds after midnight, under a day */
		if (cfg_parse_time(a + 1, &ms) || ms >= 86400000)
			return -EINVAL;
		*mode = 7;
		*secs = ms / 1000;
		return 0;
	}
	if (a[0] == '+')
		a++;
	else if (a[0] == '-')
		neg = true, a++;
	if (cfg_parse_time(a, &ms))
		return -EINVAL;
	*mode = 1;
	*secs = (neg ? -ms : ms) / 1000;
	return 0;
}

static int set_expires(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	if (strchr(n->args[0], '$')) {
		/* nginx: a value with variables is evaluated per response
		 * (the `map $sent_http_content_type $expires` idiom) */
		s->loc->expires_var = pool_zalloc(b->pool, sizeof(*s->loc->expires_var));
		if (!s->loc->expires_var)
			return cfg_fail(b, n, "out of memory");
		s->loc->expires_mode = 5;
		return cfg_compile(b, n, n->args[0], s->loc->expires_var);
	}
	const char *a = n->args[n->nargs - 1];

	if (n->nargs == 2) {
		/* `expires modified TIME`: from the answer's Last-Modified */
		if (strcmp(n->args[0], "modified") != 0)
			return cfg_fail(b, n, "\"expires\" directive invalid value");
		if (a[0] == '@')
			return cfg_fail(b, n,
					"\"expires\" directive daily time cannot be used with "
					"\"modified\" parameter");
		if (cfg_expires_parse(a, &s->loc->expires_mode, &s->loc->expires) ||
		    s->loc->expires_mode != 1)
			return cfg_fail(b, n, "\"expires\" directive invalid value");
		s->loc->expires_mode = 6;
		return 0;
	}
	if (cfg_expires_parse(a, &s->loc->expires_mode, &s->loc->expires)) {
		int64_t ms;

		if (a[0] == '@' && cfg_parse_time(a + 1, &ms) == 0)
			return cfg_fail(b, n,
					"\"expires\" directive daily time value must be less "
					"than 24 hours");
		return cfg_fail(b, n, "\"expires\" directive invalid value");
	}
	return 0;
}

static int set_types(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct mime_types *mt = pool_zalloc(b->pool, sizeof(*mt));

	(void)d;
	if (!mt)
		return cfg_fail(b, n, "out of memory");
	for (size_t i = 0; i < n->nchildren; i++) {
		struct cfg_node *c = &n->children[i];

		if (c->block)
			return cfg_fail(b, c, "unexpected \"{\"");
		for (size_t k = 0; k < c->nargs; k++) {
			struct mime_type *t = PUSH(b, mt->v, mt->n);

			if (!t)
				return cfg_fail(b, c, "out of memory");
			t->type = pool_strdup(b->pool, c->name);
			t->ext = pool_strdup(b->pool, c->args[k]);
			for (char *p = t->ext; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		}
	}
	s->loc->types = mt;
	return 0;
}

/* ---- rewrite module --------------------------------------------------------- */

static struct rewrite *add_rewrite(struct build *b, struct cfg_node *n, struct scope *s,
				   enum rw_kind k)
{
	struct rewrite *r = PUSH(b, s->loc->rewrites, s->loc->nrewrites);

	if (!r) {
		cfg_fail(b, n, "out of memory");
		return NULL;
	}
	r->kind = k;
	r->file = n->file;
	r->line = n->line;
	return r;
}

static int set_return(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct rewrite *r = add_rewrite(b, n, s, RW_RETURN);
	char *end;
	long code;

	(void)d;
	if (!r)
		return -1;
	code = strtol(n->args[0], &end, 10);
	if (*end || end == n->args[0]) {
		if (n->nargs != 1 || (strncmp(n->args[0], "http://", 7) &&
				      strncmp(n->args[0], "https://", 8) && n->args[0][0] != '$'))
			return cfg_fail(b, n, "invalid return code \"%s\"", n->args[0]);
		r->code = 302;
		return cfg_compile(b, n, n->args[0], &r->repl);
	}
	if (code < 0 || code > 999)
		return cfg_fail(b, n, "invalid return code \"%s\"", n->args[0]);
	r->code = (int)code;
	if (n->nargs == 2 && cfg_compile(b, n, n->args[1], &r->repl))
		return -1;
	if (s->loc->is_location || s->ctx & C_SRV)
		s->loc->has_return = true;
	return 0;
}

static int set_rewrite(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct rewrite *r = add_rewrite(b, n, s, RW_REWRITE);

	(void)d;
	if (!r)
		return -1;
	r->re = cfg_compile_re(b, n, n->args[0], false);
	r->re_src = pool_strdup(b->pool, n->args[0]);
	if (!r->re || !r->re_src || cfg_compile(b, n, n->args[1], &r->repl))
		return -1;
	if (n->nargs == 3) {
		const char *f = n->args[2];

		if (strcmp(f, "last") == 0)
			r->flag = RW_F_LAST;
		else if (strcmp(f, "break") == 0)
			r->flag = RW_F_BREAK;
		else if (strcmp(f, "redirect") == 0)
			r->flag = RW_F_REDIRECT;
		else if (strcmp(f, "permanent") == 0)
			r->flag = RW_F_PERMANENT;
		else
			return cfg_fail(b, n, "invalid parameter \"%s\"", f);
	}
	return 0;
}

static int set_break(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	return add_rewrite(b, n, s, RW_BREAK) ? 0 : -1;
}

static int set_set(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct rewrite *r = add_rewrite(b, n, s, RW_SET);

	(void)d;
	if (!r)
		return -1;
	if (n->args[0][0] != '$')
		return cfg_fail(b, n, "invalid variable name \"%s\"", n->args[0]);
	if (var_builtin_index(n->args[0] + 1, strlen(n->args[0] + 1)) >= 0 &&
	    strcmp(n->args[0] + 1, "limit_rate") != 0) /* the one settable (ratelimit.c) */
		return cfg_fail(b, n, "the duplicate \"%s\" variable", n->args[0] + 1);
	r->code = 0;
	r->flag = RW_F_NONE;
	/* The variable name goes in repl.raw; the value is compiled. */
	if (cfg_compile(b, n, n->args[1], &r->repl))
		return -1;
	r->repl.raw = pool_strdup(b->pool, n->args[0] + 1);
	/* a map's variable: its value for the request (nginx's `set` fills
	 * the variable's cache), found here rather than by name per request */
	if (strcmp(n->args[0] + 1, "limit_rate") != 0) /* the request's own, first */
		r->map = map_find(b->cv.maps, n->args[0] + 1, strlen(n->args[0] + 1));
	return 0;
}

static int set_error_page(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	size_t last = n->nargs - 1, ncodes = last;
	int overwrite = 0;

	(void)d;
	if (n->nargs < 2)
		return cfg_fail(b, n, "invalid number of arguments in \"error_page\" directive");
	if (n->args[last - 1][0] == '=') {
		const char *o = n->args[last - 1] + 1;

		overwrite = *o ? atoi(o) : -1;
		ncodes--;
	}
	if (!s->loc->error_pages_set) {
		s->loc->error_pages = NULL;
		s->loc->nerror_pages = 0;
	}
	s->loc->error_pages_set = true;
	for (size_t i = 0; i < ncodes; i++) {
		char *end;
		long code = strtol(n->args[i], &end, 10);
		struct error_page *ep;

		if (*end || code < 300 || code > 599)
			return cfg_fail(b, n, "value \"%s\" must be between 300 and 599",
					n->args[i]);
		ep = PUSH(b, s->loc->error_pages, s->loc->nerror_pages);
		if (!ep)
			return cfg_fail(b, n, "out of memory");
		ep->status = (int)code;
		ep->overwrite = overwrite;
		if (cfg_compile(b, n, n->args[last], &ep->uri))
			return -1;
	}
	return 0;
}

/* stub_status [on] / lbd_metrics: content handlers of lbd itself. */
static int set_status_page(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	(void)d;
	if (n->nargs == 1 && strcmp(n->args[0], "on") != 0)
		return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[0]);
	if (strcmp(n->name, "stub_status") == 0)
		s->loc->stub_status = true;
	else
		s->loc->lbd_metrics = true;
	return 0;
}

static int set_internal(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)b, (void)n, (void)d;
	s->loc->internal = true;
	return 0;
}

/* cfg_access_add - an allow/deny rule N (the directive's name says which)
 * appended to *RULES (*NRULES entries), for http and stream alike. */
int cfg_access_add(struct build *b, struct cfg_node *n, struct access_rule **rules, int *nrules)
{
	struct access_rule *r;
	const char *a = n->args[0];
	char addr[64];
	const char *slash;
	int bits = -1;

	r = PUSH(b, *rules, *nrules);
	if (!r)
		return cfg_fail(b, n, "out of memory");
	r->deny = strcmp(n->name, "deny") == 0;
	if (strcmp(a, "all") == 0) {
		r->all = true;
		return 0;
	}
	if (strcmp(a, "unix:") == 0) {
		r->family = AF_UNIX;
		return 0;
	}
	slash = strchr(a, '/');
	snprintf(addr, sizeof(addr), "%.*s", slash ? (int)(slash - a) : (int)strlen(a), a);
	if (slash) {
		char *end;

		bits = (int)strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1)
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
	}
	if (inet_pton(AF_INET, addr, r->addr) == 1) {
		r->family = AF_INET;
		if (bits < 0)
			bits = 32;
		if (bits > 32)
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
	} else if (inet_pton(AF_INET6, addr, r->addr) == 1) {
		r->family = AF_INET6;
		if (bits < 0)
			bits = 128;
		if (bits > 128)
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
	} else {
		return cfg_fail(b, n, "invalid parameter \"%s\"", a);
	}
	for (int i = 0; i < 16; i++) {
		int k = bits - i * 8;

		r->mask[i] = k >= 8 ? 0xff : k <= 0 ? 0 : (uint8_t)(0xff << (8 - k));
		if ((r->addr[i] & ~r->mask[i]) != 0) {
			cfg_warn(n, "low address bits of %s are meaningless", a);
			r->addr[i] &= r->mask[i];
		}
	}
	return 0;
}

static int set_access(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	s->loc->access_set = true;
	return cfg_access_add(b, n, &s->loc->access, &s->loc->naccess);
}

static int set_keepalive_timeout(struct build *b, struct cfg_node *n, struct scope *s,
				 const struct dir *d)
{
	(void)d;
	if (cfg_parse_time(n->args[0], &s->loc->keepalive_timeout))
		return cfg_fail(b, n, "invalid value \"%s\"", n->args[0]);
	return 0;
}

/* ---- logs ------------------------------------------------------------------- */

static int set_log_format(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct log_format *f;
	char msg[256];
	int escape = 0;
	size_t first = 1;

	(void)d;
	for (int i = 0; i < s->http->nformats; i++)
		if (strcmp(s->http->formats[i].name, n->args[0]) == 0)
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
	f = PUSH(b, s->http->formats, s->http->nformats);
	if (!f)
		return cfg_fail(b, n, "out of memory");
	f->name = pool_strdup(b->pool, n->args[0]);
	b->cv.file = n->file;
	b->cv.line = n->line;
	if (alog_format_compile(&b->cv, n->args + first, (int)(n->nargs - first), escape, f, msg,
				sizeof(msg)))
		return cfg_fail(b, n, "%s", msg);
	return 0;
}

static int set_access_log(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct alog *a, **slot;
	const char *fmtname = "combined";

	(void)d;
	if (strcmp(n->args[0], "off") == 0) {
		s->loc->alog_off = true;
		s->loc->alog_set = true;
		return 0;
	}
	a = pool_zalloc(b->pool, sizeof(*a));
	slot = a ? PUSH(b, s->loc->alogs, s->loc->nalogs) : NULL;
	if (!slot)
		return cfg_fail(b, n, "out of memory");
	*slot = a;
	s->loc->alog_set = true;
	if (strncmp(n->args[0], "syslog:", 7) == 0) {
		struct slog_peer sl;
		char msg[256];

		if (slog_parse(n->args[0] + 7, &sl, msg, sizeof(msg)))
			return cfg_fail(b, n, "%s", msg);
		a->path = pool_strdup(b->pool, n->args[0]);
	} else {
		a->path = strcmp(n->args[0], "/dev/stdout") && strcmp(n->args[0], "/dev/stderr")
				  ? full_path(b, b->cfg->prefix, n->args[0])
				  : pool_strdup(b->pool, n->args[0]);
	}
	for (size_t i = 1; i < n->nargs; i++) {
		const char *p = n->args[i];

		if (strncmp(p, "buffer=", 7) == 0) {
			int64_t v;

			if (cfg_parse_size(p + 7, &v))
				return cfg_fail(b, n, "invalid buffer size \"%s\"", p + 7);
			a->buffer = (size_t)v;
		} else if (strncmp(p, "flush=", 6) == 0) {
			if (cfg_parse_time(p + 6, &a->flush_ms))
				return cfg_fail(b, n, "invalid flush time \"%s\"", p + 6);
		} else if (strncmp(p, "if=", 3) == 0) {
			a->cond = pool_zalloc(b->pool, sizeof(*a->cond));
			if (!a->cond || cfg_compile(b, n, p + 3, a->cond))
				return -1;
		} else if (i > 1 && strncmp(p, "gzip", 4) == 0 && (p[4] == '\0' || p[4] == '=')) {
			if (alog_parse_gzip(p, a))
				return cfg_fail(b, n, "invalid compression level \"%s\"", p + 5);
		} else if (i == 1) {
			fmtname = p;
		} else {
			return cfg_fail(b, n, "invalid parameter \"%s\"", p);
		}
	}
	if (strcmp(fmtname, "combined") == 0) {
		a->fmt = alog_combined();
	} else {
		for (int i = 0; i < s->http->nformats; i++)
			if (strcmp(s->http->formats[i].name, fmtname) == 0)
				a->fmt = &s->http->formats[i];
	}
	if (!a->fmt)
		return cfg_fail(b, n, "unknown log format \"%s\"", fmtname);
	if (a->flush_ms && !a->buffer)
		return cfg_fail(b, n, "no buffer is defined for access_log \"%s\"", n->args[0]);
	if (a->buffer && strncmp(a->path, "syslog:", 7) == 0)
		return cfg_fail(b, n, "logs to syslog cannot be buffered");
	if (alog_conflicts(b->cfg->alogs, b->cfg->nalogs, a))
		return cfg_fail(b, n,
				"access_log \"%s\" already defined with conflicting parameters",
				n->args[0]);
	int rc = alog_open(a);

	if (rc)
		return cfg_fail(b, n, "open() \"%s\" failed (%d: %s)", a->path, -rc, strerror(-rc));
	struct alog **all = PUSH(b, b->cfg->alogs, b->cfg->nalogs);

	if (!all)
		return cfg_fail(b, n, "out of memory");
	*all = a;
	return 0;
}

static int set_include_in_block(struct build *b, struct cfg_node *n, struct scope *s,
				const struct dir *d)
{
	(void)s, (void)d;
	/* cfg_ast expands include in place; reaching here means it did not. */
	return cfg_fail(b, n, "unexpected \"include\"");
}

/* ---- the table ---------------------------------------------------------------- */

#define LOC(f) B_LOC, offsetof(struct cfg_loc, f)
#define SRV(f) B_SRV, offsetof(struct cfg_srv, f)
#define TLS(f) B_TLS, offsetof(struct tls_conf, f)

/* TWIN_CACHE_DIRS - the entries of module P's (fastcgi, uwsgi, scgi)
 * cache directives, on the cache of its struct fcgi_twins at cfg_loc's
 * field F: the proxy_cache_* setters run on it (cfg_fcache.c), or the
 * generic ones write it. (clang-format would fold the rows of a macro.) */
/* clang-format off */
#define TWIN_CACHE_DIRS(p, f)                                                                     \
	{p "_cache_path", C_HTTP, 2, ARGS_ANY, false, cfg_set_cache_path, B_NONE, 0},             \
	{p "_cache", C_HSL, 1, 1, false, cfg_set_twin_cache, LOC(f.t)},                           \
	{p "_cache_key", C_HSL, 1, 1, false, cfg_set_twin_cache_key, LOC(f.t)},                   \
	{p "_cache_valid", C_HSL, 1, ARGS_ANY, false, cfg_set_twin_cache_valid, LOC(f.t)},        \
	{p "_cache_methods", C_HSL, 1, ARGS_ANY, false, cfg_set_twin_cache_methods, LOC(f.t)},    \
	{p "_cache_bypass", C_HSL, 1, ARGS_ANY, false, cfg_set_twin_cache_cond, LOC(f.t)},        \
	{p "_no_cache", C_HSL, 1, ARGS_ANY, false, cfg_set_twin_cache_cond, LOC(f.t)},            \
	{p "_cache_min_uses", C_HSL, 1, 1, false, set_num, LOC(f.t.cache.min_uses)},              \
	{p "_cache_lock", C_HSL, 1, 1, false, cfg_set_flag, LOC(f.t.cache.lock)},                 \
	{p "_cache_lock_timeout", C_HSL, 1, 1, false, set_msec, LOC(f.t.cache.lock_timeout)},     \
	{p "_cache_lock_age", C_HSL, 1, 1, false, set_msec, LOC(f.t.cache.lock_age)},             \
	{p "_cache_use_stale", C_HSL, 1, ARGS_ANY, false, cfg_set_twin_cache_use_stale,           \
	 LOC(f.t)},                                                                                \
	{p "_cache_background_update", C_HSL, 1, 1, false, cfg_set_flag,                          \
	 LOC(f.t.cache.background_update)},                                                        \
	{p "_cache_revalidate", C_HSL, 1, 1, false, cfg_set_flag, LOC(f.t.cache.revalidate)},     \
	{p "_cache_max_range_offset", C_HSL, 1, 1, false, cfg_set_twin_cache_range, LOC(f.t)}
/* clang-format on */

static const struct dir dirs[] = {
	/* main and events */
	{"worker_processes", C_MAIN, 1, 1, false, set_workers, B_NONE, 0},
	{"worker_connections", C_EVENTS, 1, 1, false, set_worker_conns, B_NONE, 0},
	{"events", C_MAIN, 0, 0, true, set_events, B_NONE, 0},
	{"http", C_MAIN, 0, 0, true, set_http, B_NONE, 0},
	{"pid", C_MAIN, 1, 1, false, set_pid, B_NONE, 0},
	{"bpf_pin_path", C_MAIN, 1, 1, false, set_pin_path, B_NONE, 0},
	{"reuseport_steering", C_MAIN, 1, 1, false, cfg_set_flag, B_MAIN,
	 offsetof(struct cfg, reuseport_steering)},
	{"control_socket", C_MAIN, 1, 3, false, set_ctl_socket, B_NONE, 0},
	{"xdp_attach", C_MAIN, 1, 2, false, cfg_set_xdp_attach, B_NONE, 0},
	{"client_conns_per_ip", C_MAIN, 1, 1, false, cfg_set_conns_per_ip, B_NONE, 0},
	{"xdp_syn_limit", C_MAIN, 1, 2, false, cfg_set_xdp_syn_limit, B_NONE, 0},
	{"xdp_allow", C_MAIN, 1, 1, false, cfg_set_xdp_allow, B_NONE, 0},
	{"ban_list", C_MAIN, 1, 1, false, cfg_set_ban_list, B_NONE, 0},
	{"fail2ban_jail", C_HTTP, 2, 6, false, cfg_set_f2b_jail, B_NONE, 0},
	{"fail2ban", C_HSL, 1, ARGS_ANY, false, cfg_set_f2b, B_NONE, 0},
	{"user", C_MAIN, 1, 2, false, set_user, B_NONE, 0},
	{"daemon", C_MAIN, 1, 1, false, set_daemon, B_NONE, 0},
	{"master_process", C_MAIN, 1, 1, false, set_ignored, B_NONE, 0},
	{"error_log", C_MAIN | C_HSL, 1, 2, false, set_error_log, B_NONE, 0},
	{"worker_rlimit_nofile", C_MAIN, 1, 1, false, set_num, B_MAIN,
	 offsetof(struct cfg, worker_rlimit_nofile)},
	{"load_module", C_MAIN, 1, 1, false, set_load_module, B_NONE, 0},
	{"pcre_jit", C_MAIN, 1, 1, false, set_ignored, B_NONE, 0},
	{"env", C_MAIN, 1, 1, false, set_ignored, B_NONE, 0},
	{"timer_resolution", C_MAIN, 1, 1, false, set_ignored, B_NONE, 0},
	{"worker_cpu_affinity", C_MAIN, 1, ARGS_ANY, false, set_ignored, B_NONE, 0},
	{"worker_priority", C_MAIN, 1, 1, false, set_ignored, B_NONE, 0},
	{"worker_shutdown_timeout", C_MAIN, 1, 1, false, set_ignored, B_NONE, 0},
	{"multi_accept", C_EVENTS, 1, 1, false, set_ignored, B_NONE, 0},
	{"use", C_EVENTS, 1, 1, false, set_ignored, B_NONE, 0},
	{"accept_mutex", C_EVENTS, 1, 1, false, set_ignored, B_NONE, 0},
	{"accept_mutex_delay", C_EVENTS, 1, 1, false, set_ignored, B_NONE, 0},
	{"worker_aio_requests", C_EVENTS, 1, 1, false, set_ignored, B_NONE, 0},
	{"thread_pool", C_MAIN, 1, 3, false, set_ignored, B_NONE, 0},
	{"lock_file", C_MAIN, 1, 1, false, set_ignored, B_NONE, 0},
	/* nginx 1.22's other main/events directives (cfg_compat.c) */
	{"worker_rlimit_core", C_MAIN, 1, 1, false, cfg_set_size, B_MAIN,
	 offsetof(struct cfg, worker_rlimit_core)},
	{"working_directory", C_MAIN, 1, 1, false, cfg_set_working_directory, B_NONE, 0},
	{"debug_points", C_MAIN, 1, 1, false, cfg_set_debug_points, B_NONE, 0},
	{"ssl_engine", C_MAIN, 1, 1, false, cfg_set_ignored_any, B_NONE, 0},
	{"epoll_events", C_EVENTS, 1, 1, false, cfg_set_epoll_events, B_NONE, 0},
	{"debug_connection", C_EVENTS, 1, 1, false, cfg_set_debug_connection, B_NONE, 0},

	/* http core */
	{"server", C_HTTP, 0, 0, true, set_server, B_NONE, 0},
	{"location", C_SL, 1, 2, true, set_location, B_NONE, 0},
	{"listen", C_SRV, 1, ARGS_ANY, false, set_listen, B_NONE, 0},
	{"server_name", C_SRV, 1, ARGS_ANY, false, set_server_name, B_NONE, 0},
	{"root", C_HSL | C_IF, 1, 1, false, set_root, B_NONE, 0},
	{"alias", C_LOC, 1, 1, false, set_root, B_NONE, 0},
	{"index", C_HSL, 1, ARGS_ANY, false, set_str_list, LOC(index)},
	{"try_files", C_SL, 2, ARGS_ANY, false, set_try_files, B_NONE, 0},
	{"expires", C_HSL | C_IF, 1, 2, false, set_expires, B_NONE, 0},
	{"types", C_HSL, 0, 0, true, set_types, B_NONE, 0},
	{"default_type", C_HSL, 1, 1, false, set_str, LOC(default_type)},
	{"etag", C_HSL, 1, 1, false, cfg_set_flag, LOC(etag)},
	{"disable_symlinks", C_HSL, 1, 2, false, cfg_set_disable_symlinks, B_NONE, 0},
	{"sendfile", C_HSL | C_IF, 1, 1, false, cfg_set_flag, LOC(sendfile)},
	{"absolute_redirect", C_HSL, 1, 1, false, cfg_set_flag, LOC(absolute_redirect)},
	{"port_in_redirect", C_HSL, 1, 1, false, cfg_set_flag, LOC(port_in_redirect)},
	{"server_name_in_redirect", C_HSL, 1, 1, false, cfg_set_flag, LOC(server_name_in_redirect)},
	{"tcp_nopush", C_HSL, 1, 1, false, cfg_set_flag, LOC(tcp_nopush)},
	{"tcp_nodelay", C_HSL, 1, 1, false, cfg_set_flag, LOC(tcp_nodelay)},
	{"autoindex", C_HSL, 1, 1, false, cfg_set_flag, LOC(autoindex)},
	{"autoindex_exact_size", C_HSL, 1, 1, false, cfg_set_flag, LOC(autoindex_exact_size)},
	{"autoindex_localtime", C_HSL, 1, 1, false, cfg_set_flag, LOC(autoindex_localtime)},
	{"autoindex_format", C_HSL, 1, 1, false, set_autoindex_format, LOC(autoindex_format)},
	{"log_not_found", C_HSL, 1, 1, false, cfg_set_flag, LOC(log_not_found)},
	{"rewrite_log", C_HSL | C_IF | C_SIF, 1, 1, false, cfg_set_flag, LOC(rewrite_log)},
	{"server_tokens", C_HSL, 1, 1, false, cfg_set_flag, LOC(server_tokens)},
	{"add_header", C_HSL | C_IF, 2, 3, false, cfg_set_proxy_header, LOC(add_headers)},
	{"error_page", C_HSL | C_IF, 2, ARGS_ANY, false, set_error_page, B_NONE, 0},
	{"recursive_error_pages", C_HSL, 1, 1, false, cfg_set_flag, LOC(recursive_error_pages)},
	{"internal", C_LOC, 0, 0, false, set_internal, B_NONE, 0},
	{"stub_status", C_SRV | C_LOC, 0, 1, false, set_status_page, B_NONE, 0},
	{"lbd_metrics", C_LOC, 0, 0, false, set_status_page, B_NONE, 0},
	{"client_max_body_size", C_HSL, 1, 1, false, cfg_set_size, LOC(client_max_body_size)},
	{"client_body_timeout", C_HSL, 1, 1, false, set_msec, LOC(client_body_timeout)},
	{"client_body_buffer_size", C_HSL, 1, 1, false, cfg_set_size, LOC(client_body_buffer_size)},
	{"client_body_in_file_only", C_HSL, 1, 1, false, cfg_set_body_in_file, B_NONE, 0},
	{"client_body_in_single_buffer", C_HSL, 1, 1, false, cfg_set_flag, LOC(body_single_buffer)},
	{"send_timeout", C_HSL, 1, 1, false, set_msec, LOC(send_timeout)},
	{"limit_rate", C_HSL | C_IF, 1, 1, false, cfg_set_limit_rate, B_NONE, 0},
	{"limit_rate_after", C_HSL | C_IF, 1, 1, false, cfg_set_limit_rate_after, B_NONE, 0},
	{"keepalive_timeout", C_HSL, 1, 2, false, set_keepalive_timeout, B_NONE, 0},
	{"keepalive_requests", C_HSL, 1, 1, false, set_num, LOC(keepalive_requests)},
	{"lingering_timeout", C_HSL, 1, 1, false, set_msec, LOC(lingering_timeout)},
	{"lingering_time", C_HSL, 1, 1, false, set_msec, LOC(lingering_time)},
	{"chunked_transfer_encoding", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(chunked_transfer_encoding)},
	{"max_ranges", C_HSL, 1, 1, false, set_num_nginx, LOC(max_ranges)},
	{"proxy_force_ranges", C_HSL, 1, 1, false, cfg_set_flag, LOC(proxy_force_ranges)},
	{"proxy_cache_max_range_offset", C_HSL, 1, 1, false, cfg_set_cache_range, B_NONE, 0},
	{"proxy_store", C_HSL, 1, 1, false, cfg_set_store, B_NONE, 0},
	{"proxy_store_access", C_HSL, 1, 3, false, cfg_set_store_access, B_NONE, 0},
	{"fastcgi_catch_stderr", C_HSL, 1, 1, false, set_str_list, LOC(fcgi.catch_stderr)},
	{"fastcgi_store", C_HSL, 1, 1, false, cfg_set_store, LOC(fcgi.t)},
	{"fastcgi_store_access", C_HSL, 1, 3, false, cfg_set_store_access, LOC(fcgi.t)},
	{"fastcgi_force_ranges", C_HSL, 1, 1, false, cfg_set_flag, LOC(fcgi.t.force_ranges)},
	{"kernel_splice", C_HSL, 1, 1, false, cfg_set_flag, LOC(kernel_splice)},
	{"client_header_timeout", C_HTTP | C_SRV, 1, 1, false, set_msec,
	 SRV(client_header_timeout)},
	{"client_header_buffer_size", C_HTTP | C_SRV, 1, 1, false, cfg_set_size,
	 SRV(client_header_buffer_size)},
	{"large_client_header_buffers", C_HTTP | C_SRV, 2, 2, false, NULL, B_NONE, 0},
	{"underscores_in_headers", C_HTTP | C_SRV, 1, 1, false, cfg_set_flag,
	 SRV(underscores_in_headers)},
	{"ignore_invalid_headers", C_HTTP | C_SRV, 1, 1, false, cfg_set_flag,
	 SRV(ignore_invalid_headers)},
	{"merge_slashes", C_HTTP | C_SRV, 1, 1, false, cfg_set_flag, SRV(merge_slashes)},
	{"max_headers", C_HTTP | C_SRV, 1, 1, false, set_num_nginx, SRV(max_headers)},
	/* HTTP/2 (h2.c): nginx 1.22's directives and 1.25's `http2 on` */
	{"http2", C_HTTP | C_SRV, 1, 1, false, cfg_set_flag, SRV(http2)},
	{"http2_max_concurrent_streams", C_HTTP | C_SRV, 1, 1, false, set_num, SRV(h2_max_streams)},
	{"http2_max_field_size", C_HTTP | C_SRV, 1, 1, false, cfg_set_size, SRV(h2_max_field)},
	{"http2_max_header_size", C_HTTP | C_SRV, 1, 1, false, cfg_set_size, SRV(h2_max_header)},
	{"http2_idle_timeout", C_HTTP | C_SRV, 1, 1, false, set_msec, SRV(h2_idle_timeout)},
	{"http2_recv_timeout", C_HTTP | C_SRV, 1, 1, false, set_msec, SRV(h2_recv_timeout)},
	{"http2_max_requests", C_HTTP | C_SRV, 1, 1, false, set_num, SRV(h2_max_requests)},
	{"http2_chunk_size", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"http2_body_preread_size", C_HTTP | C_SRV, 1, 1, false, set_ignored, B_NONE, 0},
	{"http2_recv_buffer_size", C_HTTP, 1, 1, false, set_ignored, B_NONE, 0},
	{"http2_streams_index_size", C_HTTP | C_SRV, 1, 1, false, set_ignored, B_NONE, 0},
	{"http2_max_concurrent_pushes", C_HTTP | C_SRV, 1, 1, false, set_ignored, B_NONE, 0},
	{"http2_push", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"http2_push_preload", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"allow", C_HSL | C_LMT, 1, 1, false, set_access, B_NONE, 0},
	{"deny", C_HSL | C_LMT, 1, 1, false, set_access, B_NONE, 0},
	/* auth_basic, satisfy, limit_except (cfg_auth.c) */
	{"auth_basic", C_HSL | C_LMT, 1, 1, false, cfg_set_auth_basic, B_NONE, 0},
	{"auth_basic_user_file", C_HSL | C_LMT, 1, 1, false, cfg_set_auth_user_file, B_NONE, 0},
	{"satisfy", C_HSL, 1, 1, false, cfg_set_satisfy, B_NONE, 0},
	{"auth_delay", C_HSL, 1, 1, false, cfg_set_auth_delay, B_NONE, 0},
	{"auth_request", C_HSL, 1, 1, false, cfg_set_auth_request, B_NONE, 0},
	{"auth_request_set", C_HSL, 2, 2, false, cfg_set_auth_request_set, B_NONE, 0},
	{"mirror", C_HSL, 1, 1, false, cfg_set_mirror, B_NONE, 0},
	{"mirror_request_body", C_HSL, 1, 1, false, cfg_set_flag, LOC(mirror.request_body)},
	{"post_action", C_HSL | C_IF, 1, 1, false, cfg_set_post_action, B_NONE, 0},
	{"dav_methods", C_HSL, 1, ARGS_ANY, false, cfg_set_dav_methods, B_NONE, 0},
	{"dav_access", C_HSL, 1, 3, false, cfg_set_dav_access, B_NONE, 0},
	{"create_full_put_path", C_HSL, 1, 1, false, cfg_set_flag, LOC(dav.create_full_put_path)},
	{"min_delete_depth", C_HSL, 1, 1, false, set_num_nginx, LOC(dav.min_delete_depth)},
	{"limit_except", C_LOC, 1, ARGS_ANY, true, cfg_set_limit_except, B_NONE, 0},
	{"access_log", C_HSL | C_IF, 1, ARGS_ANY, false, set_access_log, B_NONE, 0},
	{"log_format", C_HTTP, 2, ARGS_ANY, false, set_log_format, B_NONE, 0},
	{"map", C_HTTP, 2, 2, true, cfg_set_map, B_NONE, 0},
	{"geo", C_HTTP, 1, 2, true, cfg_set_geo, B_NONE, 0},
	{"split_clients", C_HTTP, 2, 2, true, cfg_set_split_clients, B_NONE, 0},
	{"upstream", C_HTTP, 1, 1, true, cfg_set_upstream, B_NONE, 0},
	{"match", C_HTTP, 1, 1, true, cfg_set_hc_match, B_NONE, 0},
	{"include", C_MAIN | C_HSL | C_UPS | C_EVENTS, 1, 1, false, set_include_in_block, B_NONE,
	 0},

	/* rewrite */
	{"return", C_SL | C_IF | C_SIF, 1, 2, false, set_return, B_NONE, 0},
	{"rewrite", C_SL | C_IF | C_SIF, 2, 3, false, set_rewrite, B_NONE, 0},
	{"break", C_SL | C_IF | C_SIF, 0, 0, false, set_break, B_NONE, 0},
	{"set", C_SL | C_IF | C_SIF, 2, 2, false, set_set, B_NONE, 0},
	{"if", C_SL, 1, ARGS_ANY, true, cfg_set_if, B_NONE, 0}, /* cfg_if.c; not nested, as nginx */

	/* proxy */
	{"proxy_pass", C_LOC | C_IF, 1, 1, false, cfg_set_proxy_pass, B_NONE, 0},
	{"proxy_set_header", C_HSL, 2, 2, false, cfg_set_proxy_header, LOC(proxy_headers)},
	{"proxy_http_version", C_HSL, 1, 1, false, cfg_set_http_version, B_NONE, 0},
	{"proxy_connect_timeout", C_HSL, 1, 1, false, set_msec, LOC(proxy_connect_timeout)},
	{"proxy_send_timeout", C_HSL, 1, 1, false, set_msec, LOC(proxy_send_timeout)},
	{"proxy_read_timeout", C_HSL, 1, 1, false, set_msec, LOC(proxy_read_timeout)},
	{"proxy_next_upstream", C_HSL, 1, ARGS_ANY, false, cfg_set_next_upstream, B_NONE, 0},
	{"proxy_next_upstream_tries", C_HSL, 1, 1, false, set_num, LOC(proxy_next_upstream_tries)},
	{"proxy_next_upstream_timeout", C_HSL, 1, 1, false, set_msec,
	 LOC(proxy_next_upstream_timeout)},
	{"proxy_buffering", C_HSL, 1, 1, false, cfg_set_flag, LOC(proxy_buffering)},
	{"proxy_limit_rate", C_HSL, 1, 1, false, cfg_set_proxy_limit_rate, B_NONE, 0},
	{"proxy_request_buffering", C_HSL, 1, 1, false, cfg_set_flag, LOC(proxy_request_buffering)},
	{"proxy_buffer_size", C_HSL, 1, 1, false, cfg_set_size, LOC(proxy_buffer_size)},
	{"proxy_buffers", C_HSL, 2, 2, false, cfg_set_proxy_buffers, B_NONE, 0},
	{"proxy_busy_buffers_size", C_HSL, 1, 1, false, cfg_set_size, LOC(proxy_busy_buffers_size)},
	{"proxy_max_temp_file_size", C_HSL, 1, 1, false, cfg_set_size,
	 LOC(proxy_max_temp_file_size)},
	{"proxy_temp_file_write_size", C_HSL, 1, 1, false, cfg_set_size,
	 LOC(proxy_temp_file_write_size)},
	{"proxy_hide_header", C_HSL, 1, 1, false, set_str_list, LOC(proxy_hide_header)},
	{"proxy_pass_header", C_HSL, 1, 1, false, set_str_list, LOC(proxy_pass_header)},
	{"proxy_redirect", C_HSL, 1, 2, false, cfg_set_proxy_redirect, B_NONE, 0},
	{"proxy_ssl_server_name", C_HSL, 1, 1, false, cfg_set_flag, LOC(upssl.server_name)},
	{"proxy_ssl_verify", C_HSL, 1, 1, false, cfg_set_flag, LOC(upssl.verify)},
	{"proxy_ssl_session_reuse", C_HSL, 1, 1, false, cfg_set_flag, LOC(upssl.session_reuse)},
	{"proxy_ssl_name", C_HSL, 1, 1, false, cfg_set_upssl, B_NONE, 0},
	{"proxy_ssl_verify_depth", C_HSL, 1, 1, false, cfg_set_upssl, B_NONE, 0},
	{"proxy_ssl_protocols", C_HSL, 1, ARGS_ANY, false, cfg_set_upssl, B_NONE, 0},
	{"proxy_ssl_ciphers", C_HSL, 1, 1, false, cfg_set_upssl, B_NONE, 0},
	{"proxy_ssl_trusted_certificate", C_HSL, 1, 1, false, cfg_set_upssl, B_NONE, 0},
	{"proxy_ssl_certificate", C_HSL, 1, 1, false, cfg_set_upssl, B_NONE, 0},
	{"proxy_ssl_certificate_key", C_HSL, 1, 1, false, cfg_set_upssl, B_NONE, 0},
	{"proxy_ssl_password_file", C_HSL, 1, 1, false, cfg_set_upssl, B_NONE, 0},
	{"proxy_ssl_crl", C_HSL, 1, 1, false, cfg_set_upssl, B_NONE, 0},
	{"proxy_ssl_conf_command", C_HSL, 2, 2, false, cfg_set_upssl, B_NONE, 0},
	{"proxy_cookie_domain", C_HSL, 1, 2, false, cfg_set_proxy_cookie, B_NONE, 0},
	{"proxy_cookie_path", C_HSL, 1, 2, false, cfg_set_proxy_cookie, B_NONE, 0},
	{"proxy_cookie_flags", C_HSL, 1, 8, false, cfg_set_proxy_cookie_flags, B_NONE, 0},
	{"proxy_intercept_errors", C_HSL, 1, 1, false, cfg_set_flag, LOC(proxy_intercept_errors)},
	{"proxy_pass_request_headers", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(proxy_pass_request_headers)},
	{"proxy_pass_request_body", C_HSL, 1, 1, false, cfg_set_flag, LOC(proxy_pass_request_body)},
	{"proxy_ignore_client_abort", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(proxy_ignore_client_abort)},
	/* ngx_http_fastcgi_module (cfg_fastcgi.c): its own settings, and the
	 * twins of proxy_* ones (struct fcgi_twins) */
	{"fastcgi_pass", C_LOC | C_IF, 1, 1, false, cfg_set_fastcgi_pass, B_NONE, 0},
	{"fastcgi_param", C_HSL, 2, 3, false, cfg_set_fastcgi_param, B_NONE, 0},
	{"fastcgi_index", C_HSL, 1, 1, false, cfg_set_fastcgi_index, B_NONE, 0},
	{"fastcgi_split_path_info", C_LOC, 1, 1, false, cfg_set_fastcgi_split, B_NONE, 0},
	{"fastcgi_keep_conn", C_HSL, 1, 1, false, cfg_set_flag, LOC(fcgi.keep_conn)},
	{"fastcgi_connect_timeout", C_HSL, 1, 1, false, set_msec, LOC(fcgi.t.connect_timeout)},
	{"fastcgi_send_timeout", C_HSL, 1, 1, false, set_msec, LOC(fcgi.t.send_timeout)},
	{"fastcgi_read_timeout", C_HSL, 1, 1, false, set_msec, LOC(fcgi.t.read_timeout)},
	{"fastcgi_next_upstream", C_HSL, 1, ARGS_ANY, false, cfg_set_twin_next_upstream,
	 LOC(fcgi.t)},
	{"fastcgi_next_upstream_tries", C_HSL, 1, 1, false, set_num,
	 LOC(fcgi.t.next_upstream_tries)},
	{"fastcgi_next_upstream_timeout", C_HSL, 1, 1, false, set_msec,
	 LOC(fcgi.t.next_upstream_timeout)},
	{"fastcgi_buffering", C_HSL, 1, 1, false, cfg_set_flag, LOC(fcgi.t.buffering)},
	{"fastcgi_request_buffering", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(fcgi.t.request_buffering)},
	{"fastcgi_buffer_size", C_HSL, 1, 1, false, cfg_set_size, LOC(fcgi.t.buffer_size)},
	{"fastcgi_buffers", C_HSL, 2, 2, false, cfg_set_twin_buffers, LOC(fcgi.t)},
	{"fastcgi_busy_buffers_size", C_HSL, 1, 1, false, cfg_set_size,
	 LOC(fcgi.t.busy_buffers_size)},
	{"fastcgi_max_temp_file_size", C_HSL, 1, 1, false, cfg_set_size,
	 LOC(fcgi.t.max_temp_file_size)},
	{"fastcgi_temp_file_write_size", C_HSL, 1, 1, false, cfg_set_size,
	 LOC(fcgi.t.temp_file_write_size)},
	{"fastcgi_hide_header", C_HSL, 1, 1, false, set_str_list, LOC(fcgi.t.hide_header)},
	{"fastcgi_pass_header", C_HSL, 1, 1, false, set_str_list, LOC(fcgi.t.pass_header)},
	{"fastcgi_ignore_headers", C_HSL, 1, ARGS_ANY, false, cfg_set_twin_ignore_headers,
	 LOC(fcgi.t)},
	{"fastcgi_intercept_errors", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(fcgi.t.intercept_errors)},
	{"fastcgi_pass_request_headers", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(fcgi.t.pass_request_headers)},
	{"fastcgi_pass_request_body", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(fcgi.t.pass_request_body)},
	{"fastcgi_ignore_client_abort", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(fcgi.t.ignore_client_abort)},
	{"fastcgi_socket_keepalive", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(fcgi.t.socket_keepalive)},
	{"fastcgi_bind", C_HSL, 1, 2, false, cfg_set_twin_bind, LOC(fcgi.t)},
	{"fastcgi_limit_rate", C_HSL, 1, 1, false, cfg_set_twin_limit_rate, LOC(fcgi.t)},
	/* ngx_http_uwsgi_module (cfg_uwsgi.c): its own settings, and the twins
	 * of proxy_* ones (a struct fcgi_twins, as FastCGI's) */
	{"uwsgi_pass", C_LOC | C_IF, 1, 1, false, cfg_set_uwsgi_pass, B_NONE, 0},
	{"uwsgi_param", C_HSL, 2, 3, false, cfg_set_uwsgi_param, B_NONE, 0},
	{"uwsgi_modifier1", C_HSL, 1, 1, false, cfg_set_uwsgi_modifier, LOC(uwsgi.modifier1)},
	{"uwsgi_modifier2", C_HSL, 1, 1, false, cfg_set_uwsgi_modifier, LOC(uwsgi.modifier2)},
	{"uwsgi_string", C_HSL, 1, 1, false, set_str, LOC(uwsgi.string)},
	{"uwsgi_connect_timeout", C_HSL, 1, 1, false, set_msec, LOC(uwsgi.t.connect_timeout)},
	{"uwsgi_send_timeout", C_HSL, 1, 1, false, set_msec, LOC(uwsgi.t.send_timeout)},
	{"uwsgi_read_timeout", C_HSL, 1, 1, false, set_msec, LOC(uwsgi.t.read_timeout)},
	{"uwsgi_next_upstream", C_HSL, 1, ARGS_ANY, false, cfg_set_twin_next_upstream,
	 LOC(uwsgi.t)},
	{"uwsgi_next_upstream_tries", C_HSL, 1, 1, false, set_num,
	 LOC(uwsgi.t.next_upstream_tries)},
	{"uwsgi_next_upstream_timeout", C_HSL, 1, 1, false, set_msec,
	 LOC(uwsgi.t.next_upstream_timeout)},
	{"uwsgi_buffering", C_HSL, 1, 1, false, cfg_set_flag, LOC(uwsgi.t.buffering)},
	{"uwsgi_request_buffering", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(uwsgi.t.request_buffering)},
	{"uwsgi_buffer_size", C_HSL, 1, 1, false, cfg_set_size, LOC(uwsgi.t.buffer_size)},
	{"uwsgi_buffers", C_HSL, 2, 2, false, cfg_set_twin_buffers, LOC(uwsgi.t)},
	{"uwsgi_busy_buffers_size", C_HSL, 1, 1, false, cfg_set_size,
	 LOC(uwsgi.t.busy_buffers_size)},
	{"uwsgi_max_temp_file_size", C_HSL, 1, 1, false, cfg_set_size,
	 LOC(uwsgi.t.max_temp_file_size)},
	{"uwsgi_temp_file_write_size", C_HSL, 1, 1, false, cfg_set_size,
	 LOC(uwsgi.t.temp_file_write_size)},
	{"uwsgi_hide_header", C_HSL, 1, 1, false, set_str_list, LOC(uwsgi.t.hide_header)},
	{"uwsgi_pass_header", C_HSL, 1, 1, false, set_str_list, LOC(uwsgi.t.pass_header)},
	{"uwsgi_ignore_headers", C_HSL, 1, ARGS_ANY, false, cfg_set_twin_ignore_headers,
	 LOC(uwsgi.t)},
	{"uwsgi_intercept_errors", C_HSL, 1, 1, false, cfg_set_flag, LOC(uwsgi.t.intercept_errors)},
	{"uwsgi_pass_request_headers", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(uwsgi.t.pass_request_headers)},
	{"uwsgi_pass_request_body", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(uwsgi.t.pass_request_body)},
	{"uwsgi_ignore_client_abort", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(uwsgi.t.ignore_client_abort)},
	{"uwsgi_socket_keepalive", C_HSL, 1, 1, false, cfg_set_flag, LOC(uwsgi.t.socket_keepalive)},
	{"uwsgi_bind", C_HSL, 1, 2, false, cfg_set_twin_bind, LOC(uwsgi.t)},
	{"uwsgi_limit_rate", C_HSL, 1, 1, false, cfg_set_twin_limit_rate, LOC(uwsgi.t)},
	{"uwsgi_store", C_HSL, 1, 1, false, cfg_set_store, LOC(uwsgi.t)},
	{"uwsgi_store_access", C_HSL, 1, 3, false, cfg_set_store_access, LOC(uwsgi.t)},
	{"uwsgi_force_ranges", C_HSL, 1, 1, false, cfg_set_flag, LOC(uwsgi.t.force_ranges)},
	{"uwsgi_ssl_session_reuse", C_HSL, 1, 1, false, cfg_set_flag, LOC(uwsgi.ssl.session_reuse)},
	{"uwsgi_ssl_protocols", C_HSL, 1, ARGS_ANY, false, cfg_set_uwsgi_ssl, B_NONE, 0},
	{"uwsgi_ssl_ciphers", C_HSL, 1, 1, false, cfg_set_uwsgi_ssl, B_NONE, 0},
	{"uwsgi_ssl_name", C_HSL, 1, 1, false, cfg_set_uwsgi_ssl, B_NONE, 0},
	{"uwsgi_ssl_server_name", C_HSL, 1, 1, false, cfg_set_flag, LOC(uwsgi.ssl.server_name)},
	{"uwsgi_ssl_verify", C_HSL, 1, 1, false, cfg_set_flag, LOC(uwsgi.ssl.verify)},
	{"uwsgi_ssl_verify_depth", C_HSL, 1, 1, false, cfg_set_uwsgi_ssl, B_NONE, 0},
	{"uwsgi_ssl_trusted_certificate", C_HSL, 1, 1, false, cfg_set_uwsgi_ssl, B_NONE, 0},
	{"uwsgi_ssl_crl", C_HSL, 1, 1, false, cfg_set_uwsgi_ssl, B_NONE, 0},
	{"uwsgi_ssl_certificate", C_HSL, 1, 1, false, cfg_set_uwsgi_ssl, B_NONE, 0},
	{"uwsgi_ssl_certificate_key", C_HSL, 1, 1, false, cfg_set_uwsgi_ssl, B_NONE, 0},
	{"uwsgi_ssl_password_file", C_HSL, 1, 1, false, cfg_set_uwsgi_ssl, B_NONE, 0},
	{"uwsgi_ssl_conf_command", C_HSL, 2, 2, false, cfg_set_uwsgi_ssl, B_NONE, 0},
	/* ngx_http_userid_filter_module (cfg_userid.c, userid.c) */
	{"userid", C_HSL, 1, 1, false, cfg_set_userid, LOC(userid.enable)},
	{"userid_service", C_HSL, 1, 1, false, cfg_set_userid_service, LOC(userid.service)},
	{"userid_name", C_HSL, 1, 1, false, cfg_set_userid_str, LOC(userid.name)},
	{"userid_domain", C_HSL, 1, 1, false, cfg_set_userid_str, LOC(userid.domain)},
	{"userid_path", C_HSL, 1, 1, false, cfg_set_userid_str, LOC(userid.path)},
	{"userid_p3p", C_HSL, 1, 1, false, cfg_set_userid_str, LOC(userid.p3p)},
	{"userid_expires", C_HSL, 1, 1, false, cfg_set_userid_expires, LOC(userid.expires)},
	{"userid_mark", C_HSL, 1, 1, false, cfg_set_userid_mark, LOC(userid.mark)},
	{"userid_flags", C_HSL, 1, 3, false, cfg_set_userid_flags, LOC(userid.flags)},
	/* ngx_http_memcached_module (cfg_memc.c): its pass and key, and the
	 * twins of proxy_* settings it has */
	{"memcached_pass", C_LOC | C_IF, 1, 1, false, cfg_set_memc_pass, B_NONE, 0},
	{"memcached_connect_timeout", C_HSL, 1, 1, false, set_msec, LOC(memc.t.connect_timeout)},
	{"memcached_send_timeout", C_HSL, 1, 1, false, set_msec, LOC(memc.t.send_timeout)},
	{"memcached_read_timeout", C_HSL, 1, 1, false, set_msec, LOC(memc.t.read_timeout)},
	{"memcached_buffer_size", C_HSL, 1, 1, false, cfg_set_size, LOC(memc.t.buffer_size)},
	{"memcached_next_upstream", C_HSL, 1, ARGS_ANY, false, cfg_set_memc_next_upstream,
	 LOC(memc.t)},
	{"memcached_next_upstream_tries", C_HSL, 1, 1, false, set_num,
	 LOC(memc.t.next_upstream_tries)},
	{"memcached_next_upstream_timeout", C_HSL, 1, 1, false, set_msec,
	 LOC(memc.t.next_upstream_timeout)},
	{"memcached_socket_keepalive", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(memc.t.socket_keepalive)},
	{"memcached_bind", C_HSL, 1, 2, false, cfg_set_twin_bind, LOC(memc.t)},
	{"memcached_gzip_flag", C_HSL, 1, 1, false, set_num_nginx, LOC(memc.gzip_flag)},
	/* ngx_http_grpc_module (cfg_grpc.c): its own settings, and the twins
	 * of proxy_* ones (a struct fcgi_twins, as FastCGI's) */
	{"grpc_pass", C_LOC | C_IF, 1, 1, false, cfg_set_grpc_pass, B_NONE, 0},
	{"grpc_set_header", C_HSL, 2, 2, false, cfg_set_proxy_header, LOC(grpc.headers)},
	{"grpc_connect_timeout", C_HSL, 1, 1, false, set_msec, LOC(grpc.t.connect_timeout)},
	{"grpc_send_timeout", C_HSL, 1, 1, false, set_msec, LOC(grpc.t.send_timeout)},
	{"grpc_read_timeout", C_HSL, 1, 1, false, set_msec, LOC(grpc.t.read_timeout)},
	{"grpc_next_upstream", C_HSL, 1, ARGS_ANY, false, cfg_set_twin_next_upstream, LOC(grpc.t)},
	{"grpc_next_upstream_tries", C_HSL, 1, 1, false, set_num, LOC(grpc.t.next_upstream_tries)},
	{"grpc_next_upstream_timeout", C_HSL, 1, 1, false, set_msec,
	 LOC(grpc.t.next_upstream_timeout)},
	{"grpc_buffer_size", C_HSL, 1, 1, false, cfg_set_size, LOC(grpc.t.buffer_size)},
	{"grpc_hide_header", C_HSL, 1, 1, false, set_str_list, LOC(grpc.t.hide_header)},
	{"grpc_pass_header", C_HSL, 1, 1, false, set_str_list, LOC(grpc.t.pass_header)},
	{"grpc_ignore_headers", C_HSL, 1, ARGS_ANY, false, cfg_set_twin_ignore_headers,
	 LOC(grpc.t)},
	{"grpc_intercept_errors", C_HSL, 1, 1, false, cfg_set_flag, LOC(grpc.t.intercept_errors)},
	{"grpc_socket_keepalive", C_HSL, 1, 1, false, cfg_set_flag, LOC(grpc.t.socket_keepalive)},
	{"grpc_bind", C_HSL, 1, 2, false, cfg_set_twin_bind, LOC(grpc.t)},
	{"grpc_ssl_session_reuse", C_HSL, 1, 1, false, cfg_set_flag, LOC(grpc.ssl.session_reuse)},
	{"grpc_ssl_protocols", C_HSL, 1, ARGS_ANY, false, cfg_set_grpc_ssl, B_NONE, 0},
	{"grpc_ssl_ciphers", C_HSL, 1, 1, false, cfg_set_grpc_ssl, B_NONE, 0},
	{"grpc_ssl_name", C_HSL, 1, 1, false, cfg_set_grpc_ssl, B_NONE, 0},
	{"grpc_ssl_server_name", C_HSL, 1, 1, false, cfg_set_flag, LOC(grpc.ssl.server_name)},
	{"grpc_ssl_verify", C_HSL, 1, 1, false, cfg_set_flag, LOC(grpc.ssl.verify)},
	{"grpc_ssl_verify_depth", C_HSL, 1, 1, false, cfg_set_grpc_ssl, B_NONE, 0},
	{"grpc_ssl_trusted_certificate", C_HSL, 1, 1, false, cfg_set_grpc_ssl, B_NONE, 0},
	{"grpc_ssl_crl", C_HSL, 1, 1, false, cfg_set_grpc_ssl, B_NONE, 0},
	{"grpc_ssl_certificate", C_HSL, 1, 1, false, cfg_set_grpc_ssl, B_NONE, 0},
	{"grpc_ssl_certificate_key", C_HSL, 1, 1, false, cfg_set_grpc_ssl, B_NONE, 0},
	{"grpc_ssl_password_file", C_HSL, 1, 1, false, cfg_set_grpc_ssl, B_NONE, 0},
	{"grpc_ssl_conf_command", C_HSL, 2, 2, false, cfg_set_grpc_ssl, B_NONE, 0},
	/* ngx_http_scgi_module (cfg_uwsgi.c): as the uwsgi one's */
	{"scgi_pass", C_LOC | C_IF, 1, 1, false, cfg_set_scgi_pass, B_NONE, 0},
	{"scgi_param", C_HSL, 2, 3, false, cfg_set_scgi_param, B_NONE, 0},
	{"scgi_connect_timeout", C_HSL, 1, 1, false, set_msec, LOC(scgi.t.connect_timeout)},
	{"scgi_send_timeout", C_HSL, 1, 1, false, set_msec, LOC(scgi.t.send_timeout)},
	{"scgi_read_timeout", C_HSL, 1, 1, false, set_msec, LOC(scgi.t.read_timeout)},
	{"scgi_next_upstream", C_HSL, 1, ARGS_ANY, false, cfg_set_twin_next_upstream, LOC(scgi.t)},
	{"scgi_next_upstream_tries", C_HSL, 1, 1, false, set_num, LOC(scgi.t.next_upstream_tries)},
	{"scgi_next_upstream_timeout", C_HSL, 1, 1, false, set_msec,
	 LOC(scgi.t.next_upstream_timeout)},
	{"scgi_buffering", C_HSL, 1, 1, false, cfg_set_flag, LOC(scgi.t.buffering)},
	{"scgi_request_buffering", C_HSL, 1, 1, false, cfg_set_flag, LOC(scgi.t.request_buffering)},
	{"scgi_buffer_size", C_HSL, 1, 1, false, cfg_set_size, LOC(scgi.t.buffer_size)},
	{"scgi_buffers", C_HSL, 2, 2, false, cfg_set_twin_buffers, LOC(scgi.t)},
	{"scgi_busy_buffers_size", C_HSL, 1, 1, false, cfg_set_size, LOC(scgi.t.busy_buffers_size)},
	{"scgi_max_temp_file_size", C_HSL, 1, 1, false, cfg_set_size,
	 LOC(scgi.t.max_temp_file_size)},
	{"scgi_temp_file_write_size", C_HSL, 1, 1, false, cfg_set_size,
	 LOC(scgi.t.temp_file_write_size)},
	{"scgi_hide_header", C_HSL, 1, 1, false, set_str_list, LOC(scgi.t.hide_header)},
	{"scgi_pass_header", C_HSL, 1, 1, false, set_str_list, LOC(scgi.t.pass_header)},
	{"scgi_ignore_headers", C_HSL, 1, ARGS_ANY, false, cfg_set_twin_ignore_headers,
	 LOC(scgi.t)},
	{"scgi_intercept_errors", C_HSL, 1, 1, false, cfg_set_flag, LOC(scgi.t.intercept_errors)},
	{"scgi_pass_request_headers", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(scgi.t.pass_request_headers)},
	{"scgi_pass_request_body", C_HSL, 1, 1, false, cfg_set_flag, LOC(scgi.t.pass_request_body)},
	{"scgi_ignore_client_abort", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(scgi.t.ignore_client_abort)},
	{"scgi_socket_keepalive", C_HSL, 1, 1, false, cfg_set_flag, LOC(scgi.t.socket_keepalive)},
	{"scgi_bind", C_HSL, 1, 2, false, cfg_set_twin_bind, LOC(scgi.t)},
	{"scgi_limit_rate", C_HSL, 1, 1, false, cfg_set_twin_limit_rate, LOC(scgi.t)},
	{"scgi_store", C_HSL, 1, 1, false, cfg_set_store, LOC(scgi.t)},
	{"scgi_store_access", C_HSL, 1, 3, false, cfg_set_store_access, LOC(scgi.t)},
	{"scgi_force_ranges", C_HSL, 1, 1, false, cfg_set_flag, LOC(scgi.t.force_ranges)},
	/* the *_cache* of the fastcgi, uwsgi and scgi modules (cfg_fcache.c) */
	TWIN_CACHE_DIRS("fastcgi", fcgi),
	TWIN_CACHE_DIRS("uwsgi", uwsgi),
	TWIN_CACHE_DIRS("scgi", scgi),

	/* request limits (cfg_limit.c) */
	{"limit_req_zone", C_HTTP, 3, 3, false, cfg_set_limit_req_zone, B_NONE, 0},
	{"limit_req", C_HSL, 1, 3, false, cfg_set_limit_req, B_NONE, 0},
	{"limit_req_status", C_HSL, 1, 1, false, cfg_set_limit_status, LOC(rl.req_status)},
	{"limit_req_log_level", C_HSL, 1, 1, false, cfg_set_limit_log_level, LOC(rl.req_log_level)},
	{"limit_req_dry_run", C_HSL, 1, 1, false, cfg_set_flag, LOC(rl.req_dry_run)},
	{"limit_conn_zone", C_HTTP, 2, 2, false, cfg_set_limit_conn_zone, B_NONE, 0},
	{"limit_conn", C_HSL, 2, 2, false, cfg_set_limit_conn, B_NONE, 0},
	{"limit_conn_status", C_HSL, 1, 1, false, cfg_set_limit_status, LOC(rl.conn_status)},
	{"limit_conn_log_level", C_HSL, 1, 1, false, cfg_set_limit_log_level,
	 LOC(rl.conn_log_level)},
	{"limit_conn_dry_run", C_HSL, 1, 1, false, cfg_set_flag, LOC(rl.conn_dry_run)},

	/* realip (cfg_realip.c) */
	{"set_real_ip_from", C_HSL, 1, 1, false, cfg_set_real_ip_from, B_NONE, 0},
	{"real_ip_header", C_HSL, 1, 1, false, cfg_set_real_ip_header, B_NONE, 0},
	{"real_ip_recursive", C_HSL, 1, 1, false, cfg_set_flag, LOC(realip.recursive)},
	/* proxy cache (cfg_cache.c) */
	{"proxy_cache_path", C_HTTP, 2, ARGS_ANY, false, cfg_set_cache_path, B_NONE, 0},
	{"proxy_cache", C_HSL, 1, 1, false, cfg_set_cache, B_NONE, 0},
	{"proxy_cache_key", C_HSL, 1, 1, false, cfg_set_cache_key, B_NONE, 0},
	{"proxy_cache_valid", C_HSL, 1, ARGS_ANY, false, cfg_set_cache_valid, B_NONE, 0},
	{"proxy_cache_methods", C_HSL, 1, ARGS_ANY, false, cfg_set_cache_methods, B_NONE, 0},
	{"proxy_cache_bypass", C_HSL, 1, ARGS_ANY, false, cfg_set_cache_cond, B_NONE, 0},
	{"proxy_no_cache", C_HSL, 1, ARGS_ANY, false, cfg_set_cache_cond, B_NONE, 0},
	{"proxy_ignore_headers", C_HSL, 1, ARGS_ANY, false, cfg_set_ignore_headers, B_NONE, 0},
	{"proxy_cache_min_uses", C_HSL, 1, 1, false, set_num, LOC(cache.min_uses)},
	{"proxy_cache_lock", C_HSL, 1, 1, false, cfg_set_flag, LOC(cache.lock)},
	{"proxy_cache_lock_timeout", C_HSL, 1, 1, false, set_msec, LOC(cache.lock_timeout)},
	{"proxy_cache_lock_age", C_HSL, 1, 1, false, set_msec, LOC(cache.lock_age)},
	{"proxy_cache_use_stale", C_HSL, 1, ARGS_ANY, false, cfg_set_cache_use_stale, B_NONE, 0},
	{"proxy_cache_background_update", C_HSL, 1, 1, false, cfg_set_flag,
	 LOC(cache.background_update)},
	{"proxy_cache_revalidate", C_HSL, 1, 1, false, cfg_set_flag, LOC(cache.revalidate)},
	{"proxy_cache_convert_head", C_HSL, 1, 1, false, cfg_set_flag, LOC(cache.convert_head)},
	{"if_modified_since", C_HSL, 1, 1, false, cfg_set_cache_ims, B_NONE, 0},

	/* TLS (cfg_tls.c) */
	{"ssl_certificate", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_file, B_NONE, 0},
	{"ssl_certificate_key", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_file, B_NONE, 0},
	{"ssl_protocols", C_HTTP | C_SRV, 1, ARGS_ANY, false, cfg_set_tls_protocols, B_NONE, 0},
	{"ssl_ciphers", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_str, B_NONE, 0},
	{"ssl_ecdh_curve", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_str, B_NONE, 0},
	{"ssl_conf_command", C_HTTP | C_SRV, 2, 2, false, cfg_set_tls_conf_command, B_NONE, 0},
	{"ssl_prefer_server_ciphers", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_flag,
	 TLS(prefer_server_ciphers)},
	{"ssl_session_cache", C_HTTP | C_SRV, 1, 2, false, cfg_set_tls_cache, B_NONE, 0},
	{"ssl_session_timeout", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_timeout, B_NONE, 0},
	{"ssl_session_tickets", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_flag,
	 TLS(session_tickets)},
	{"ssl_dhparam", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_path, B_NONE, 0},
	{"ssl_trusted_certificate", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_path, B_NONE, 0},
	{"ssl_stapling", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_flag, TLS(stapling)},
	{"ssl_stapling_verify", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_flag,
	 TLS(stapling_verify)},
	{"ssl_stapling_file", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_path, B_NONE, 0},
	{"ssl_stapling_responder", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_str, B_NONE, 0},
	{"ssl_ocsp", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_ocsp, B_NONE, 0},
	{"ssl_ocsp_responder", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_str, B_NONE, 0},
	{"ssl_ocsp_cache", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_ocsp_cache, B_NONE, 0},
	{"ssl_reject_handshake", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_flag,
	 TLS(reject_handshake)},
	{"ssl_client_certificate", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_path, B_NONE, 0},
	{"ssl_crl", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_path, B_NONE, 0},
	{"ssl_password_file", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_path, B_NONE, 0},
	{"ssl_verify_client", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_verify, B_NONE, 0},
	{"ssl_verify_depth", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_depth, B_NONE, 0},
	{"ssl_session_ticket_key", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_ticket_key, B_NONE, 0},
	{"ssl_buffer_size", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_buffer, B_NONE, 0},
	{"ssl_early_data", C_HTTP | C_SRV, 1, 1, false, cfg_set_tls_early, TLS(early_data)},

	/* upstream */
	{"server", C_UPS, 1, ARGS_ANY, false, cfg_set_ups_server, B_NONE, 0},
	{"least_conn", C_UPS, 0, 0, false, cfg_set_ups_method, B_NONE, 0},
	{"ip_hash", C_UPS, 0, 0, false, cfg_set_ups_method, B_NONE, 0},
	{"hash", C_UPS, 1, 2, false, cfg_set_ups_method, B_NONE, 0},
	{"random", C_UPS, 0, 2, false, cfg_set_ups_method, B_NONE, 0},
	{"keepalive", C_UPS, 1, 1, false, cfg_set_ups_keepalive, B_NONE, 0},
	{"keepalive_requests", C_UPS, 1, 1, false, cfg_set_ups_keepalive, B_NONE, 0},
	{"keepalive_timeout", C_UPS, 1, 1, false, cfg_set_ups_keepalive, B_NONE, 0},
	{"keepalive_time", C_UPS, 1, 1, false, cfg_set_ups_keepalive, B_NONE, 0},
	{"health_check", C_UPS, 0, 8, false, cfg_set_ups_health_check, B_NONE, 0},
	{"queue", C_UPS, 1, 2, false, cfg_set_ups_queue, B_NONE, 0},
	{"zone", C_UPS, 1, 2, false, cfg_set_zone, B_NONE, 0},

	/* accepted with a warning: meaningless in lbd */
	{"types_hash_max_size", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"resolver", C_HSL | C_STREAM | C_SSRV, 1, ARGS_ANY, false, set_resolver, B_NONE, 0},
	{"resolver_timeout", C_HSL | C_STREAM | C_SSRV, 1, 1, false, set_resolver, B_NONE, 0},
	{"types_hash_bucket_size", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"server_names_hash_max_size", C_HTTP, 1, 1, false, set_ignored, B_NONE, 0},
	{"server_names_hash_bucket_size", C_HTTP, 1, 1, false, set_ignored, B_NONE, 0},
	{"variables_hash_max_size", C_HTTP, 1, 1, false, set_ignored, B_NONE, 0},
	{"variables_hash_bucket_size", C_HTTP, 1, 1, false, set_ignored, B_NONE, 0},
	{"map_hash_max_size", C_HTTP, 1, 1, false, set_ignored, B_NONE, 0},
	{"map_hash_bucket_size", C_HTTP, 1, 1, false, set_ignored, B_NONE, 0},
	{"proxy_headers_hash_max_size", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"proxy_headers_hash_bucket_size", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"fastcgi_temp_path", C_HSL, 1, 4, false, set_temp_path, LOC(fcgi.t.temp_path)},
	{"uwsgi_temp_path", C_HSL, 1, 4, false, set_temp_path, LOC(uwsgi.t.temp_path)},
	{"scgi_temp_path", C_HSL, 1, 4, false, set_temp_path, LOC(scgi.t.temp_path)},
	{"proxy_temp_path", C_HSL, 1, 4, false, set_temp_path, LOC(proxy_temp_path)},
	{"client_body_temp_path", C_HSL, 1, 4, false, set_temp_path, LOC(client_body_temp_path)},
	{"sendfile_max_chunk", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"msie_refresh", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"keepalive_disable", C_HSL, 1, ARGS_ANY, false, set_ignored, B_NONE, 0},
	{"send_lowat", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"subrequest_output_buffer_size", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"log_subrequest", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"open_log_file_cache", C_HSL, 1, 4, false, set_ignored, B_NONE, 0},
	{"lingering_close", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"keepalive_time", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"reset_timedout_connection", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"connection_pool_size", C_HTTP | C_SRV, 1, 1, false, set_ignored, B_NONE, 0},
	{"request_pool_size", C_HTTP | C_SRV, 1, 1, false, set_ignored, B_NONE, 0},
	{"uninitialized_variable_warn", C_HSL | C_IF | C_SIF, 1, 1, false, set_ignored, B_NONE, 0},
	{"open_file_cache", C_HSL, 1, 2, false, set_ignored, B_NONE, 0},
	{"open_file_cache_valid", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"open_file_cache_min_uses", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"open_file_cache_errors", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"output_buffers", C_HSL, 2, 2, false, set_ignored, B_NONE, 0},
	{"postpone_output", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"aio", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"directio", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	{"msie_padding", C_HSL, 1, 1, false, set_ignored, B_NONE, 0},
	/* nginx 1.22's other tuning directives (cfg_compat.c) */
	{"aio_write", C_HSL, 1, 1, false, cfg_set_ignored_flag, B_NONE, 0},
	{"open_file_cache_events", C_HSL, 1, 1, false, cfg_set_ignored_flag, B_NONE, 0},
	{"directio_alignment", C_HSL, 1, 1, false, cfg_set_ignored_size, B_NONE, 0},
	{"read_ahead", C_HSL, 1, 1, false, cfg_set_ignored_size, B_NONE, 0},
	{"http2_pool_size", C_HTTP | C_SRV, 1, 1, false, cfg_set_ignored_size, B_NONE, 0},
	{"proxy_send_lowat", C_HSL, 1, 1, false, cfg_set_lowat, B_NONE, 0},
	{"fastcgi_send_lowat", C_HSL, 1, 1, false, cfg_set_lowat, B_NONE, 0},

	/* response compression (cfg_gzip.c) */
	{"gzip", C_HSL | C_IF, 1, 1, false, cfg_set_flag, LOC(gzip.enable)},
	{"gzip_vary", C_HSL, 1, 1, false, cfg_set_flag, LOC(gzip.vary)},
	{"gzip_proxied", C_HSL, 1, ARGS_ANY, false, cfg_set_gzip_proxied, B_NONE, 0},
	{"gzip_comp_level", C_HSL, 1, 1, false, cfg_set_gzip_level, B_NONE, 0},
	{"gzip_buffers", C_HSL, 2, 2, false, cfg_set_gzip_buffers, B_NONE, 0},
	{"gzip_http_version", C_HSL, 1, 1, false, cfg_set_gzip_http_version, B_NONE, 0},
	{"gzip_min_length", C_HSL, 1, 1, false, cfg_set_size, LOC(gzip.min_length)},
	{"gzip_types", C_HSL, 1, ARGS_ANY, false, cfg_set_gzip_types, B_NONE, 0},
	{"gzip_window", C_HSL, 1, 1, false, cfg_set_gzip_zlib, B_NONE, 0},
	{"gzip_hash", C_HSL, 1, 1, false, cfg_set_gzip_zlib, B_NONE, 0},
	{"postpone_gzipping", C_HSL, 1, 1, false, cfg_set_size, LOC(gzip.postpone)},
	{"gzip_no_buffer", C_HSL, 1, 1, false, cfg_set_flag, LOC(gzip.no_buffer)},
	/* ngx_http_browser_module (cfg_browser.c) */
	{"modern_browser", C_HSL, 1, 2, false, cfg_set_modern_browser, B_NONE, 0},
	{"ancient_browser", C_HSL, 1, ARGS_ANY, false, cfg_set_ancient_browser, B_NONE, 0},
	{"modern_browser_value", C_HSL, 1, 1, false, cfg_set_browser_value, B_NONE, 0},
	{"ancient_browser_value", C_HSL, 1, 1, false, cfg_set_browser_value, B_NONE, 0},
	/* ngx_http_referer_module (cfg_referer.c) */
	{"valid_referers", C_SL, 1, ARGS_ANY, false, cfg_set_valid_referers, B_NONE, 0},
	{"referer_hash_max_size", C_SL, 1, 1, false, cfg_set_referer_hash, B_NONE, 0},
	{"referer_hash_bucket_size", C_SL, 1, 1, false, cfg_set_referer_hash, B_NONE, 0},
	/* small directives (cfg_misc.c) */
	{"proxy_method", C_HSL, 1, 1, false, cfg_set_cval_once, LOC(proxy_method)},
	{"proxy_set_body", C_HSL, 1, 1, false, cfg_set_cval_once, LOC(proxy_set_body)},
	{"proxy_bind", C_HSL, 1, 2, false, cfg_set_proxy_bind, B_NONE, 0},
	{"proxy_socket_keepalive", C_HSL, 1, 1, false, cfg_set_flag, LOC(proxy_socket_keepalive)},
	{"empty_gif", C_LOC, 0, 0, false, cfg_set_on, LOC(empty_gif)},
	{"flv", C_LOC, 0, 0, false, cfg_set_on, LOC(flv)},
	{"mp4", C_LOC, 0, 0, false, cfg_set_on, LOC(mp4)},
	{"mp4_buffer_size", C_HSL, 1, 1, false, cfg_set_size, LOC(mp4_buffer_size)},
	{"mp4_max_buffer_size", C_HSL, 1, 1, false, cfg_set_size, LOC(mp4_max_buffer_size)},
	{"mp4_start_key_frame", C_HSL, 1, 1, false, cfg_set_flag, LOC(mp4_start_key_frame)},
	{"add_trailer", C_HSL | C_IF, 2, 3, false, cfg_set_proxy_header, LOC(add_trailers)},
	{"random_index", C_LOC, 1, 1, false, cfg_set_flag, LOC(random_index)},
	/* ngx_http_secure_link_module (cfg_securelink.c) */
	{"secure_link", C_HSL, 1, 1, false, cfg_set_secure_link, B_NONE, 0},
	{"secure_link_md5", C_HSL, 1, 1, false, cfg_set_secure_link, B_NONE, 0},
	{"secure_link_secret", C_HSL, 1, 1, false, cfg_set_secure_link_secret, B_NONE, 0},
	{"charset", C_HSL | C_IF, 1, 1, false, cfg_set_charset, B_NONE, 0},
	{"source_charset", C_HSL | C_IF, 1, 1, false, cfg_set_source_charset, B_NONE, 0},
	{"override_charset", C_HSL | C_IF, 1, 1, false, cfg_set_override_charset, B_NONE, 0},
	{"charset_types", C_HSL, 1, ARGS_ANY, false, cfg_set_charset_types, B_NONE, 0},
	{"charset_map", C_HTTP, 2, 2, true, cfg_set_charset_map, B_NONE, 0},
	{"gzip_disable", C_HSL, 1, ARGS_ANY, false, cfg_set_gzip_disable, B_NONE, 0},
	{"gzip_static", C_HSL, 1, 1, false, cfg_set_gzip_static, B_NONE, 0},
	{"gunzip", C_HSL, 1, 1, false, cfg_set_flag, LOC(gzip.gunzip)},
	{"gunzip_buffers", C_HSL, 2, 2, false, cfg_set_gunzip_buffers, B_NONE, 0},
	/* body substitution (cfg_subfilter.c) */
	{"sub_filter", C_HSL, 2, 2, false, cfg_set_sub_filter, B_NONE, 0},
	{"sub_filter_once", C_HSL, 1, 1, false, cfg_set_flag, LOC(subf.once)},
	{"sub_filter_last_modified", C_HSL, 1, 1, false, cfg_set_flag, LOC(subf.last_modified)},
	{"sub_filter_types", C_HSL, 1, ARGS_ANY, false, cfg_set_sub_filter_types, B_NONE, 0},
	/* additions (cfg_addition.c, embed.c) */
	{"add_before_body", C_HSL, 1, 1, false, cfg_set_addition_uri, B_NONE, 0},
	{"add_after_body", C_HSL, 1, 1, false, cfg_set_addition_uri, B_NONE, 0},
	{"addition_types", C_HSL, 1, ARGS_ANY, false, cfg_set_addition_types, B_NONE, 0},
	/* server-side includes (cfg_ssi.c, ssi.c, embed.c) */
	{"ssi", C_HSL | C_IF, 1, 1, false, cfg_set_flag, LOC(ssi.on)},
	{"ssi_silent_errors", C_HSL, 1, 1, false, cfg_set_flag, LOC(ssi.silent_errors)},
	{"ssi_last_modified", C_HSL, 1, 1, false, cfg_set_flag, LOC(ssi.last_modified)},
	{"ssi_ignore_recycled_buffers", C_HSL, 1, 1, false, cfg_set_flag, LOC(ssi.ignore_recycled)},
	{"ssi_value_length", C_HSL, 1, 1, false, cfg_set_size, LOC(ssi.value_len)},
	{"ssi_min_file_chunk", C_HSL, 1, 1, false, cfg_set_size, LOC(ssi.min_file_chunk)},
	/* slice (slice.c, embed.c) */
	{"slice", C_HSL, 1, 1, false, cfg_set_size, LOC(slice)},
	{"ssi_types", C_HSL, 1, ARGS_ANY, false, cfg_set_ssi_types, B_NONE, 0},
};

static const struct dir *find_dir(const char *name, unsigned ctx)
{
	const struct dir *any = NULL;

	/* Some names exist in two contexts (server, keepalive_*): prefer the
	 * entry allowed here. */
	for (size_t i = 0; i < ARRAY_SIZE(dirs) + cfg_stream_ndirs; i++) {
		const struct dir *e =
			i < ARRAY_SIZE(dirs) ? &dirs[i] : &cfg_stream_dirs[i - ARRAY_SIZE(dirs)];

		if (strcmp(e->name, name) != 0)
			continue;
		if (e->ctx & ctx)
			return e;
		any = e;
	}
	return any;
}

static int apply(struct build *b, struct cfg_node *n, struct scope *s)
{
	const struct dir *d = find_dir(n->name, s->ctx);

	if (!d)
		return cfg_fail(b, n, "unknown directive \"%s\"", n->name);
	if (!(d->ctx & s->ctx))
		return cfg_fail(b, n, "\"%s\" directive is not allowed here", n->name);
	if (d->block && !n->block)
		return cfg_fail(b, n, "directive \"%s\" has no opening \"{\"", n->name);
	if (!d->block && n->block)
		return cfg_fail(b, n, "\"%s\" directive is not terminated by \";\"", n->name);
	if ((int)n->nargs < d->min || (int)n->nargs > d->max)
		return cfg_fail(b, n, "invalid number of arguments in \"%s\" directive", n->name);
	if (!d->fn) {
		/* large_client_header_buffers NUM SIZE */
		struct cfg_srv *srv = s->srv ? s->srv : s->http->srv_http;
		int64_t sz;
		int num = atoi(n->args[0]);

		if (num < 1 || cfg_parse_size(n->args[1], &sz) || sz < 64)
			return cfg_fail(b, n, "invalid value \"%s %s\"", n->args[0], n->args[1]);
		srv->large_header_num = num;
		srv->large_header_size = sz;
		return 0;
	}
	return d->fn(b, n, s, d);
}

int cfg_block(struct build *b, struct cfg_node *n, struct scope *s)
{
	if (s->ctx == C_HTTP && cfg_prepass_maps(b, n, s->http))
		return -1;
	for (size_t i = 0; i < n->nchildren; i++)
		if (apply(b, &n->children[i], s))
			return -1;
	return 0;
}

/* ---- merging ------------------------------------------------------------------ */

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

static void merge_loc(struct build *b, struct cfg_loc *l, const struct cfg_loc *p)
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
		l->proxy_temp_path = full_path(b, b->cfg->prefix, "proxy_temp");
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
				    full_path(b, b->cfg->prefix, "html"), l->root);
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
		l->client_body_temp_path = full_path(b, b->cfg->prefix, "client_body_temp");
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

static void merge_tree(struct build *b, struct cfg_loc *l, const struct cfg_loc *p)
{
	merge_loc(b, l, p);
	if (l->auth.lmt) /* limit_except's block inherits the location's settings */
		merge_loc(b, l->auth.lmt, l);
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
		merge_tree(b, in, l);
	}
	for (int i = 0; i < l->nexact; i++)
		merge_tree(b, l->exact[i], l);
	for (int i = 0; i < l->nprefix; i++)
		merge_tree(b, l->prefix[i], l);
	for (int i = 0; i < l->nregex; i++)
		merge_tree(b, l->regex[i], l);
	for (int i = 0; i < l->nnamed; i++)
		merge_tree(b, l->named[i], l);
}

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
	a->path = full_path(b, b->cfg->prefix, "logs/access.log");
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

static int finish_http(struct build *b, struct cfg_http *h)
{
	if (default_access_log(b, h))
		return -1;
	merge_loc(b, &h->loc, NULL);
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
		merge_tree(b, &srv->loc, &h->loc);
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

static int check_unresolved(struct build *b)
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

static void init_default_types(void)
{
	static struct mime_type t[] = {
		{"gif", "image/gif"},	{"htm", "text/html"},  {"html", "text/html"},
		{"jpeg", "image/jpeg"}, {"jpg", "image/jpeg"},
	};

	default_types.v = t;
	default_types.n = ARRAY_SIZE(t);
}

/* ---- life of a generation ------------------------------------------------------ */

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

	init_default_types();
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
	c->conf_file = full_path(&(struct build){.pool = pool}, o->prefix, o->conf_file);
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
	if (c->conns_per_ip == CFG_UNSET) /* one address never takes the whole box */
		c->conns_per_ip = LBD_MAX(16, c->workers * c->worker_connections / 4);
	if (c->http && finish_http(&b, c->http))
		goto fail;
	if (c->stream && cfg_stream_finish(&b, c->stream))
		goto fail;
	if (check_unresolved(&b))
		goto fail;
	if (c->http)
		c->http->body_file_var = b.cv.body_file_used;
	if (!c->pid_file)
		c->pid_file = full_path(&b, c->prefix, "logs/lbd.pid");
	if (!c->ctl_socket_set)
		c->ctl_socket = full_path(&b, c->prefix, "logs/lbd.sock");
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
