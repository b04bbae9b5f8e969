/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder: the directive table and what drives it. For each
 * node of the syntax tree cfg_ast.c reads, cfg_block() finds the entry
 * (name, contexts, argument count, setter), checks the node against it
 * with nginx's wording and runs the setter; every error names FILE:LINE,
 * directives that mean nothing to lbd are accepted with a warning, any
 * other unknown one is an error. Also here: what every cfg_*.c shares
 * (errors, arrays, times and sizes, paths, variables and regexes) and the
 * generic setters that write a field through the entry's offset. The rest
 * of the builder, one file per concern (shared types in cfg_int.h):
 *   cfg_load.c    a generation: load, references, release
 *   cfg_main.c    the main and events contexts
 *   cfg_http.c    http, server and location blocks, listen, server_name
 *   cfg_loc.c     static files, rewrites, error pages, access rules
 *   cfg_alog.c    log_format, access_log
 *   cfg_merge.c   unset values inherited http -> server -> location
 *   cfg_finish.c  after http {}: checks, upstreams, listen groups
 *   cfg_proxy.c (proxy, upstream, map), cfg_limit.c, cfg_tls.c and the
 *   other cfg_MODULE.c: one module's directives each; cfg_stream.c: the
 *   stream module, with a second table.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "autoindex.h"
#include "cfg.h"
#include "lbd.h"
#include "log.h"
#include "pool.h"
#include "resolver.h"
#include "stream.h"
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

int cfg_parse_flag(struct build *b, struct cfg_node *n, const char *a, int *out)
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
	return cfg_parse_flag(b, n, n->args[0], f);
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

char *cfg_full_path(struct build *b, const char *prefix, const char *p)
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
	*f = cfg_full_path(b, b->cfg->prefix, n->args[0]);
	return *f ? 0 : cfg_fail(b, n, "out of memory");
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
	{"worker_processes", C_MAIN, 1, 1, false, cfg_set_workers, B_NONE, 0},
	{"worker_connections", C_EVENTS, 1, 1, false, cfg_set_worker_conns, B_NONE, 0},
	{"events", C_MAIN, 0, 0, true, cfg_set_events, B_NONE, 0},
	{"http", C_MAIN, 0, 0, true, cfg_set_http, B_NONE, 0},
	{"pid", C_MAIN, 1, 1, false, cfg_set_pid, B_NONE, 0},
	{"bpf_pin_path", C_MAIN, 1, 1, false, cfg_set_pin_path, B_NONE, 0},
	{"reuseport_steering", C_MAIN, 1, 1, false, cfg_set_flag, B_MAIN,
	 offsetof(struct cfg, reuseport_steering)},
	{"control_socket", C_MAIN, 1, 3, false, cfg_set_ctl_socket, B_NONE, 0},
	{"xdp_attach", C_MAIN, 1, 2, false, cfg_set_xdp_attach, B_NONE, 0},
	{"client_conns_per_ip", C_MAIN, 1, 1, false, cfg_set_conns_per_ip, B_NONE, 0},
	{"xdp_syn_limit", C_MAIN, 1, 2, false, cfg_set_xdp_syn_limit, B_NONE, 0},
	{"xdp_allow", C_MAIN, 1, 1, false, cfg_set_xdp_allow, B_NONE, 0},
	{"ban_list", C_MAIN, 1, 1, false, cfg_set_ban_list, B_NONE, 0},
	{"fail2ban_jail", C_HTTP, 2, 6, false, cfg_set_f2b_jail, B_NONE, 0},
	{"fail2ban", C_HSL, 1, ARGS_ANY, false, cfg_set_f2b, B_NONE, 0},
	{"user", C_MAIN, 1, 2, false, cfg_set_user, B_NONE, 0},
	{"daemon", C_MAIN, 1, 1, false, cfg_set_daemon, B_NONE, 0},
	{"master_process", C_MAIN, 1, 1, false, set_ignored, B_NONE, 0},
	{"error_log", C_MAIN | C_HSL, 1, 2, false, cfg_set_error_log, B_NONE, 0},
	{"worker_rlimit_nofile", C_MAIN, 1, 1, false, set_num, B_MAIN,
	 offsetof(struct cfg, worker_rlimit_nofile)},
	{"load_module", C_MAIN, 1, 1, false, set_load_module, B_NONE, 0},
	{"pcre_jit", C_MAIN, 1, 1, false, set_ignored, B_NONE, 0},
	{"env", C_MAIN, 1, 1, false, set_ignored, B_NONE, 0},
	{"timer_resolution", C_MAIN, 1, 1, false, set_ignored, B_NONE, 0},
	{"worker_cpu_affinity", C_MAIN, 1, ARGS_ANY, false, cfg_set_cpu_affinity, B_NONE, 0},
	{"worker_priority", C_MAIN, 1, 1, false, cfg_set_priority, B_NONE, 0},
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
	{"server", C_HTTP, 0, 0, true, cfg_set_server, B_NONE, 0},
	{"location", C_SL, 1, 2, true, cfg_set_location, B_NONE, 0},
	{"listen", C_SRV, 1, ARGS_ANY, false, cfg_set_listen, B_NONE, 0},
	{"server_name", C_SRV, 1, ARGS_ANY, false, cfg_set_server_name, B_NONE, 0},
	{"root", C_HSL | C_IF, 1, 1, false, cfg_set_root, B_NONE, 0},
	{"alias", C_LOC, 1, 1, false, cfg_set_root, B_NONE, 0},
	{"index", C_HSL, 1, ARGS_ANY, false, set_str_list, LOC(index)},
	{"try_files", C_SL, 2, ARGS_ANY, false, cfg_set_try_files, B_NONE, 0},
	{"expires", C_HSL | C_IF, 1, 2, false, cfg_set_expires, B_NONE, 0},
	{"types", C_HSL, 0, 0, true, cfg_set_types, B_NONE, 0},
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
	{"error_page", C_HSL | C_IF, 2, ARGS_ANY, false, cfg_set_error_page, B_NONE, 0},
	{"recursive_error_pages", C_HSL, 1, 1, false, cfg_set_flag, LOC(recursive_error_pages)},
	{"internal", C_LOC, 0, 0, false, cfg_set_internal, B_NONE, 0},
	{"stub_status", C_SRV | C_LOC, 0, 1, false, cfg_set_status_page, B_NONE, 0},
	{"lbd_metrics", C_LOC, 0, 0, false, cfg_set_status_page, B_NONE, 0},
	{"client_max_body_size", C_HSL, 1, 1, false, cfg_set_size, LOC(client_max_body_size)},
	{"client_body_timeout", C_HSL, 1, 1, false, set_msec, LOC(client_body_timeout)},
	{"client_body_buffer_size", C_HSL, 1, 1, false, cfg_set_size, LOC(client_body_buffer_size)},
	{"client_body_in_file_only", C_HSL, 1, 1, false, cfg_set_body_in_file, B_NONE, 0},
	{"client_body_in_single_buffer", C_HSL, 1, 1, false, cfg_set_flag, LOC(body_single_buffer)},
	{"send_timeout", C_HSL, 1, 1, false, set_msec, LOC(send_timeout)},
	{"limit_rate", C_HSL | C_IF, 1, 1, false, cfg_set_limit_rate, B_NONE, 0},
	{"limit_rate_after", C_HSL | C_IF, 1, 1, false, cfg_set_limit_rate_after, B_NONE, 0},
	{"keepalive_timeout", C_HSL, 1, 2, false, cfg_set_keepalive_timeout, B_NONE, 0},
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
	{"allow", C_HSL | C_LMT, 1, 1, false, cfg_set_access, B_NONE, 0},
	{"deny", C_HSL | C_LMT, 1, 1, false, cfg_set_access, B_NONE, 0},
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
	{"access_log", C_HSL | C_IF, 1, ARGS_ANY, false, cfg_set_access_log, B_NONE, 0},
	{"log_format", C_HTTP, 2, ARGS_ANY, false, cfg_set_log_format, B_NONE, 0},
	{"map", C_HTTP, 2, 2, true, cfg_set_map, B_NONE, 0},
	{"geo", C_HTTP, 1, 2, true, cfg_set_geo, B_NONE, 0},
	{"split_clients", C_HTTP, 2, 2, true, cfg_set_split_clients, B_NONE, 0},
	{"upstream", C_HTTP, 1, 1, true, cfg_set_upstream, B_NONE, 0},
	{"match", C_HTTP, 1, 1, true, cfg_set_hc_match, B_NONE, 0},
	{"include", C_MAIN | C_HSL | C_UPS | C_EVENTS, 1, 1, false, set_include_in_block, B_NONE,
	 0},

	/* rewrite */
	{"return", C_SL | C_IF | C_SIF, 1, 2, false, cfg_set_return, B_NONE, 0},
	{"rewrite", C_SL | C_IF | C_SIF, 2, 3, false, cfg_set_rewrite, B_NONE, 0},
	{"break", C_SL | C_IF | C_SIF, 0, 0, false, cfg_set_break, B_NONE, 0},
	{"set", C_SL | C_IF | C_SIF, 2, 2, false, cfg_set_set, B_NONE, 0},
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
