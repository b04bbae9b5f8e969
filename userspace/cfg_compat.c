/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, compatibility: nginx 1.22 directives that lbd
 * takes so that existing nginx files carry over, but that tune what lbd
 * does not have (aio, read-ahead, pool sizes, send low-water marks, the
 * debug build's hooks) or that nginx itself only keeps for old files
 * (stream's proxy_*stream_buffer). Each one is checked as nginx checks it
 * (context and argument count in the table in cfg.c or cfg_stream.c, the
 * value here, with nginx's messages), then ignored with a FILE:LINE
 * warning, or mapped to the directive that replaced it. Also the main
 * and events directives main.c, worker.c and http.c apply
 * (worker_rlimit_core, working_directory, epoll_events, debug_connection)
 * and auth_delay's setter.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "cfg.h"
#include "cfg_int.h"

/* warn_ignored - lbd's one warning for a directive it checked and ignores. */
static int warn_ignored(const struct cfg_node *n)
{
	cfg_warn(n, "\"%s\" directive has no effect in lbd and is ignored", n->name);
	return 0;
}

/* cfg_set_ignored_flag - an on|off directive with no use in lbd
 * (aio_write, open_file_cache_events): nginx's flag check, then a warning. */
int cfg_set_ignored_flag(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)s, (void)d;
	if (strcasecmp(n->args[0], "on") && strcasecmp(n->args[0], "off"))
		return cfg_fail(b, n,
				"invalid value \"%s\" in \"%s\" directive, it must be \"on\" or "
				"\"off\"",
				n->args[0], n->name);
	return warn_ignored(n);
}

/* cfg_set_ignored_size - a SIZE directive with no use in lbd
 * (directio_alignment, read_ahead, http2_pool_size): nginx's size check
 * (and http2_pool_size's bounds), then a warning. */
int cfg_set_ignored_size(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int64_t v;

	(void)s, (void)d;
	if (cfg_parse_size(n->args[0], &v))
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	if (strcmp(n->name, "http2_pool_size") == 0) {
		/* nginx's bounds for a memory pool of its own */
		if (v < 112)
			return cfg_fail(b, n, "the pool size must be no less than 112");
		if (v % 16)
			return cfg_fail(b, n, "the pool size must be a multiple of 16");
	}
	return warn_ignored(n);
}

/* cfg_set_lowat - proxy_send_lowat, fastcgi_send_lowat SIZE: nginx on
 * Linux checks the size and says it ignores it (no SO_SNDLOWAT for
 * sending there); lbd says the same. */
int cfg_set_lowat(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int64_t v;

	(void)s, (void)d;
	if (cfg_parse_size(n->args[0], &v))
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	cfg_warn(n, "\"%s\" is not supported, ignored", n->name);
	return 0;
}

/* cfg_set_deprecated_buffer - stream's proxy_downstream_buffer and
 * proxy_upstream_buffer SIZE: old names of proxy_buffer_size, which nginx
 * still takes with a warning and sets proxy_buffer_size from; so does
 * lbd (D points at the stream server's buffer_size). */
int cfg_set_deprecated_buffer(struct build *b, struct cfg_node *n, struct scope *s,
			      const struct dir *d)
{
	int64_t v;

	if (cfg_parse_size(n->args[0], &v))
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	cfg_warn(
		n,
		"the \"%s\" directive is deprecated, use the \"proxy_buffer_size\" directive instead",
		n->name);
	return cfg_set_size(b, n, s, d);
}

/* cfg_set_ignored_any - a directive whose value lbd cannot check the way
 * nginx does and has no use for (ssl_engine: an OpenSSL engine id;
 * lbd uses OpenSSL 3's providers as configured system-wide). */
int cfg_set_ignored_any(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)b, (void)s, (void)d;
	return warn_ignored(n);
}

/* cfg_set_debug_points - `debug_points abort|stop`: what nginx's debug
 * points do (abort, or SIGSTOP for a debugger) where it detects an inner
 * inconsistency; lbd has no debug points. */
int cfg_set_debug_points(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)s, (void)d;
	if (strcmp(n->args[0], "abort") && strcmp(n->args[0], "stop"))
		return cfg_fail(b, n, "invalid value \"%s\"", n->args[0]);
	return warn_ignored(n);
}

/* debug_net_add - network ADDR/BITS (an IPv4 one as IPv4-mapped IPv6)
 * into debug_connection's list; *LOW_BITS set when host bits were set
 * (cleared here). 0 or -ENOMEM. */
static int debug_net_add(struct build *b, const void *addr, bool v4, int bits, bool *low_bits)
{
	struct ban_cidr *e = PUSH(b, b->cfg->debug_conns, b->cfg->ndebug_conns);

	if (!e)
		return -ENOMEM;
	memset(e, 0, sizeof(*e));
	if (v4) {
		e->addr[10] = e->addr[11] = 0xff;
		memcpy(e->addr + 12, addr, 4);
		bits += 96;
	} else {
		memcpy(e->addr, addr, 16);
	}
	e->plen = (uint8_t)bits;
	e->v4 = v4;
	for (int i = 0; i < 16; i++) {
		int k = bits - i * 8;
		uint8_t m = k >= 8 ? 0xff : k <= 0 ? 0 : (uint8_t)(0xff << (8 - k));

		if (e->addr[i] & ~m)
			*low_bits = true;
		e->addr[i] &= m;
	}
	return 0;
}

/* debug_addr_add - the clients A names, as nginx's debug_connection takes
 * them: "unix:", an address, a CIDR, or a host name (each address it
 * resolves to). 0, -ENOENT (nothing usable), -ENOMEM. */
static int debug_addr_add(struct build *b, const char *a, bool *low_bits)
{
	unsigned char buf[16];
	const char *slash = strchr(a, '/');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	char addr[64];
	int rc = 0;

	if (strcmp(a, "unix:") == 0) {
		b->cfg->debug_conn_unix = true;
		return 0;
	}
	if (slash) {
		size_t al = (size_t)(slash - a);
		char *end;
		long bits;

		if (al >= sizeof(addr) || !slash[1])
			return -ENOENT;
		memcpy(addr, a, al);
		addr[al] = '\0';
		bits = strtol(slash + 1, &end, 10);
		if (*end || bits < 0)
			return -ENOENT;
		if (inet_pton(AF_INET, addr, buf) == 1)
			return bits <= 32 ? debug_net_add(b, buf, true, (int)bits, low_bits)
					  : -ENOENT;
		if (inet_pton(AF_INET6, addr, buf) == 1 && bits <= 128)
			return debug_net_add(b, buf, false, (int)bits, low_bits);
		return -ENOENT;
	}
	if (inet_pton(AF_INET, a, buf) == 1)
		return debug_net_add(b, buf, true, 32, low_bits);
	if (inet_pton(AF_INET6, a, buf) == 1)
		return debug_net_add(b, buf, false, 128, low_bits);
	if (getaddrinfo(a, NULL, &hints, &res))
		return -ENOENT;
	for (struct addrinfo *r = res; r && !rc; r = r->ai_next) {
		if (r->ai_family == AF_INET)
			rc = debug_net_add(b, &((struct sockaddr_in *)r->ai_addr)->sin_addr, true,
					   32, low_bits);
		else if (r->ai_family == AF_INET6)
			rc = debug_net_add(b, &((struct sockaddr_in6 *)r->ai_addr)->sin6_addr,
					   false, 128, low_bits);
	}
	freeaddrinfo(res);
	return rc;
}

/* cfg_set_debug_connection - `debug_connection ADDRESS|CIDR|unix:` (events):
 * nginx's debug log for those clients; lbd writes every error log line
 * about their requests whatever the error_log's level (http.c,
 * http_log_wanted). A name must resolve, as in nginx. */
int cfg_set_debug_connection(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d)
{
	bool low_bits = false;
	int rc;

	(void)s, (void)d;
	rc = debug_addr_add(b, n->args[0], &low_bits);
	if (rc == -ENOMEM)
		return cfg_fail(b, n, "out of memory");
	if (rc)
		return cfg_fail(b, n, "host not found in debug_connection \"%s\"", n->args[0]);
	if (low_bits)
		cfg_warn(n, "low address bits of %s are meaningless", n->args[0]);
	return 0;
}

/* cfg_set_auth_delay - `auth_delay TIME` (http, server, location) with the
 * message of nginx's msec slot. */
int cfg_set_auth_delay(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int64_t *f = &s->loc->auth_delay;

	(void)d;
	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (cfg_parse_time(n->args[0], f))
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	return 0;
}

/* cfg_set_epoll_events - `epoll_events N` (events): events one worker
 * takes from each epoll_wait (worker.c; ev.c caps it at its batch). */
int cfg_set_epoll_events(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	const char *a = n->args[0];
	char *end;
	long v;

	(void)s, (void)d;
	if (b->cfg->epoll_events != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	v = strtol(a, &end, 10);
	if (!*a || *a == '-' || *a == '+' || *end || v > 0x7fffffff)
		return cfg_fail(b, n, "\"%s\" directive invalid number", n->name);
	b->cfg->epoll_events = (int)v;
	return 0;
}

/* cfg_set_working_directory - `working_directory PATH` (main): main.c
 * changes into it once the workers' privileges are set, as nginx's
 * workers do; a failure there stops lbd as it stops nginx. */
int cfg_set_working_directory(struct build *b, struct cfg_node *n, struct scope *s,
			      const struct dir *d)
{
	(void)s, (void)d;
	if (b->cfg->working_directory)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	b->cfg->working_directory = pool_strdup(b->pool, n->args[0]);
	return b->cfg->working_directory ? 0 : cfg_fail(b, n, "out of memory");
}
