/* SPDX-License-Identifier: MIT */
/*
 * Directives of the kernel packet path (main context): `xdp_attach`,
 * `xdp_syn_limit`, `xdp_allow` and `ban_list`. The ban file is read here,
 * so `lbd -t` and a reload judge it like the rest of the configuration.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ban.h"
#include "cfg.h"
#include "cfg_int.h"
#include "f2b.h"

/* cfg_set_xdp_attach - `xdp_attach IFACE [mode=auto|native|generic];` */
int cfg_set_xdp_attach(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg *c = b->cfg;
	enum cfg_xdp_mode mode = CFG_XDP_AUTO;
	struct cfg_xdp_if *x;
	const char *name = n->args[0];

	(void)s, (void)d;
	if (!*name || strlen(name) >= IF_NAMESIZE || strpbrk(name, "/ \t:"))
		return cfg_fail(b, n, "invalid interface name \"%s\"", name);
	if (n->nargs == 2) {
		const char *m = n->args[1];

		if (strcmp(m, "mode=auto") == 0)
			mode = CFG_XDP_AUTO;
		else if (strcmp(m, "mode=native") == 0)
			mode = CFG_XDP_NATIVE;
		else if (strcmp(m, "mode=generic") == 0)
			mode = CFG_XDP_GENERIC;
		else
			return cfg_fail(b, n, "invalid parameter \"%s\" (mode=auto|native|generic)",
					m);
	}
	for (int i = 0; i < c->nxdp_ifs; i++)
		if (strcmp(c->xdp_ifs[i].name, name) == 0)
			return cfg_fail(b, n, "duplicate \"xdp_attach\" for \"%s\"", name);
	x = PUSH(b, c->xdp_ifs, c->nxdp_ifs);
	if (!x)
		return cfg_fail(b, n, "out of memory");
	x->name = pool_strdup(b->pool, name);
	x->mode = mode;
	return 0;
}

/* cfg_set_xdp_syn_limit - `xdp_syn_limit Nr/s|Nr/m [burst=N];` or `off`:
 * new TCP connections a source may open, refilled at the rate, with a
 * bucket of burst (default: one second's worth, at least 1). */
int cfg_set_xdp_syn_limit(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	const char *r = n->args[0];
	unsigned long rate, burst = 0;
	char *end;
	bool per_min;

	(void)s, (void)d;
	if (strcmp(r, "off") == 0 && n->nargs == 1) {
		b->cfg->xdp_syn_rate = 0;
		b->cfg->xdp_syn_burst = 0;
		return 0;
	}
	errno = 0;
	rate = strtoul(r, &end, 10);
	if (r[0] < '0' || r[0] > '9' || errno || (strcmp(end, "r/s") && strcmp(end, "r/m")) ||
	    rate == 0 || rate > 1000000)
		return cfg_fail(b, n, "invalid rate \"%s\" (Nr/s or Nr/m, 1..1000000)", r);
	per_min = strcmp(end, "r/m") == 0;
	if (n->nargs == 2) {
		const char *bs = n->args[1];

		if (strncmp(bs, "burst=", 6) != 0 || bs[6] < '0' || bs[6] > '9')
			return cfg_fail(b, n, "invalid parameter \"%s\"", bs);
		burst = strtoul(bs + 6, &end, 10);
		if (*end || burst == 0 || burst > 1000000)
			return cfg_fail(b, n, "invalid burst value \"%s\" (1..1000000)", bs);
	}
	b->cfg->xdp_syn_rate = (uint32_t)(per_min ? rate * 1000 / 60 : rate * 1000);
	if (b->cfg->xdp_syn_rate == 0)
		b->cfg->xdp_syn_rate = 1;
	b->cfg->xdp_syn_burst = (uint32_t)(burst ? burst : per_min ? 1 : rate);
	return 0;
}

/* cfg_set_xdp_allow - `xdp_allow CIDR;`: never dropped by the guard nor
 * refused at accept time, whatever the ban list says. */
int cfg_set_xdp_allow(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg *c = b->cfg;
	struct ban_cidr cidr, *e;
	char msg[160];

	(void)s, (void)d;
	if (ban_cidr_parse(n->args[0], &cidr, msg, sizeof(msg)))
		return cfg_fail(b, n, "%s", msg);
	e = PUSH(b, c->xdp_allow, c->nxdp_allow);
	if (!e)
		return cfg_fail(b, n, "out of memory");
	*e = cidr;
	return 0;
}

/* cfg_set_ban_list - `ban_list FILE;` (relative to the configuration's
 * directory, as `include`): read now, so a bad line fails the test. */
int cfg_set_ban_list(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg *c = b->cfg;
	struct ban_file_ent *v;
	const char *p = n->args[0];
	char msg[512], *path;
	int cnt, rc;

	(void)s, (void)d;
	if (c->ban_list)
		return cfg_fail(b, n, "\"ban_list\" directive is duplicate");
	if (p[0] == '/') {
		path = pool_strdup(b->pool, p);
	} else {
		size_t l = strlen(c->conf_prefix) + strlen(p) + 1;

		path = pool_alloc(b->pool, l);
		if (path)
			snprintf(path, l, "%s%s", c->conf_prefix, p);
	}
	if (!path)
		return cfg_fail(b, n, "out of memory");
	rc = ban_file_parse(path, &v, &cnt, msg, sizeof(msg));
	if (rc)
		return cfg_fail(b, n, "%s", msg);
	c->ban_list = path;
	c->ban_file = pool_zalloc(b->pool, (cnt ? (size_t)cnt : 1) * sizeof(*v));
	if (!c->ban_file) {
		ban_file_free(v, cnt);
		return cfg_fail(b, n, "out of memory");
	}
	for (int i = 0; i < cnt; i++) {
		c->ban_file[i].cidr = v[i].cidr;
		c->ban_file[i].reason = v[i].reason ? pool_strdup(b->pool, v[i].reason) : NULL;
	}
	c->nban_file = cnt;
	ban_file_free(v, cnt);
	return 0;
}

/* cfg_set_f2b_jail - `fail2ban_jail NAME [limit_req] [status=CODE,...]
 * [maxretry=N] [findtime=TIME] [bantime=TIME];` in http. Defaults are
 * fail2ban's: maxretry 5, findtime 10m, bantime 10m. */
int cfg_set_f2b_jail(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_http *h = s->http;
	struct f2b_jail *j, **slot;
	const char *name = n->args[0];

	(void)d;
	for (int i = 0; i < h->njails; i++)
		if (strcmp(h->jails[i]->name, name) == 0)
			return cfg_fail(b, n, "duplicate fail2ban_jail \"%s\"", name);
	if (strlen(name) > 32 || strpbrk(name, " \t=,"))
		return cfg_fail(b, n, "invalid fail2ban_jail name \"%s\"", name);
	j = pool_zalloc(b->pool, sizeof(*j));
	if (!j)
		return cfg_fail(b, n, "out of memory");
	j->name = pool_strdup(b->pool, name);
	j->maxretry = 5;
	j->findtime_ms = j->bantime_ms = 600000;
	for (size_t i = 1; i < n->nargs; i++) {
		const char *a = n->args[i];
		char *end;
		long v;

		if (strcmp(a, "limit_req") == 0) {
			j->on_limit_req = true;
		} else if (strncmp(a, "status=", 7) == 0) {
			for (const char *p = a + 7;; p = end + 1) {
				v = strtol(p, &end, 10);
				if (end == p || v < 100 || v > 599 || (*end && *end != ','))
					return cfg_fail(b, n, "invalid status list \"%s\"", a);
				f2b_status_set(j, (int)v);
				if (!*end)
					break;
			}
		} else if (strncmp(a, "maxretry=", 9) == 0) {
			v = strtol(a + 9, &end, 10);
			if (a[9] < '0' || a[9] > '9' || *end || v < 1 || v > 1000000)
				return cfg_fail(b, n, "invalid maxretry \"%s\" (1..1000000)", a);
			j->maxretry = (int)v;
		} else if (strncmp(a, "findtime=", 9) == 0) {
			if (cfg_parse_time(a + 9, &j->findtime_ms) || j->findtime_ms <= 0)
				return cfg_fail(b, n, "invalid findtime \"%s\"", a);
		} else if (strncmp(a, "bantime=", 8) == 0) {
			if (cfg_parse_time(a + 8, &j->bantime_ms) || j->bantime_ms < 1000)
				return cfg_fail(b, n, "invalid bantime \"%s\" (at least 1s)", a);
		} else {
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
		}
	}
	if (!j->on_limit_req && !j->statuses[0] && !j->statuses[1] && !j->statuses[2] &&
	    !j->statuses[3] && !j->statuses[4] && !j->statuses[5] && !j->statuses[6] &&
	    !j->statuses[7])
		return cfg_fail(b, n,
				"fail2ban_jail \"%s\" counts nothing: give limit_req and/or "
				"status=CODE[,CODE...]",
				name);
	j->table = f2b_table_get(name);
	if (!j->table)
		return cfg_fail(b, n, "out of memory");
	slot = PUSH(b, h->jails, h->njails);
	if (!slot)
		return cfg_fail(b, n, "out of memory");
	*slot = j;
	return 0;
}

/* cfg_set_f2b - `fail2ban NAME...;` or `fail2ban off;` in http, server or
 * location: the jails that count this level's requests. Like limit_req,
 * a level with its own fail2ban does not inherit the enclosing ones. */
int cfg_set_f2b(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_loc *l = s->loc;

	(void)d;
	if (l->f2b_set)
		return cfg_fail(b, n, "\"fail2ban\" directive is duplicate");
	l->f2b_set = true;
	if (n->nargs == 1 && strcmp(n->args[0], "off") == 0)
		return 0;
	for (size_t i = 0; i < n->nargs; i++) {
		struct f2b_jail *j = NULL, **slot;

		for (int k = 0; s->http && k < s->http->njails && !j; k++)
			if (strcmp(s->http->jails[k]->name, n->args[i]) == 0)
				j = s->http->jails[k];
		if (!j)
			return cfg_fail(
				b, n,
				"unknown fail2ban_jail \"%s\" (define it in http before using it)",
				n->args[i]);
		slot = PUSH(b, l->f2b, l->nf2b);
		if (!slot)
			return cfg_fail(b, n, "out of memory");
		*slot = j;
	}
	return 0;
}

/* cfg_set_conns_per_ip - `client_conns_per_ip N|off;`: how many open
 * connections one client address may hold (the rest are reset at accept),
 * so that a single host cannot fill worker_connections with slow
 * requests. lbd's; nginx has no default cap. */
int cfg_set_conns_per_ip(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	char *end;
	long v;

	(void)s, (void)d;
	if (strcmp(n->args[0], "off") == 0) {
		b->cfg->conns_per_ip = 0;
		return 0;
	}
	v = strtol(n->args[0], &end, 10);
	if (n->args[0][0] < '0' || n->args[0][0] > '9' || *end || v < 1 || v > 1000000)
		return cfg_fail(b, n, "invalid value \"%s\" (1..1000000 or off)", n->args[0]);
	b->cfg->conns_per_ip = (int)v;
	return 0;
}
