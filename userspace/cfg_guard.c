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
#include "cfg_int.h"

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
