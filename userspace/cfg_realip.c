/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, realip: set_real_ip_from, real_ip_header and
 * real_ip_recursive with nginx's contexts, checks, messages and merge (a
 * level with its own set_real_ip_from list does not inherit the enclosing
 * one; the header and the recursive flag inherit one by one). CIDRs are
 * read with ban.c's parser. The table that points here is in cfg.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ban.h"
#include "cfg.h"
#include "cfg_int.h"
#include "realip.h"

int cfg_set_real_ip_from(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	return cfg_realip_from(b, n, &s->loc->realip);
}

int cfg_realip_from(struct build *b, struct cfg_node *n, struct realip_conf *rc)
{
	const char *a = n->args[0], *slash = strchr(a, '/');
	struct realip_cidr *f;
	struct ban_cidr host;
	char addr[64], err[160];
	long bits = -1;
	bool masked = false;

	f = PUSH(b, rc->from, rc->nfrom);
	if (!f)
		return cfg_fail(b, n, "out of memory");
	if (strcmp(a, "unix:") == 0) {
		f->family = AF_UNIX;
		return 0;
	}
	snprintf(addr, sizeof(addr), "%.*s", slash ? (int)(slash - a) : (int)strlen(a), a);
	/* the address alone (a host, so never "host bits set"), then the
	 * prefix; what is not a CIDR nginx tries as a host name, and its
	 * message is the one of a failed lookup (lbd resolves no names) */
	if (strlen(addr) >= sizeof(addr) - 1 || ban_cidr_parse(addr, &host, err, sizeof(err)))
		return cfg_fail(b, n, "host not found in set_real_ip_from \"%s\"", a);
	if (slash) {
		char *end;

		bits = strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1 || bits < 0 || bits > (strchr(addr, ':') ? 128 : 32))
			return cfg_fail(b, n, "host not found in set_real_ip_from \"%s\"", a);
	}
	f->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	f->plen = (uint8_t)(bits < 0 ? 128 : f->family == AF_INET ? 96 + bits : bits);
	memcpy(f->addr, host.addr, 16);
	for (int k = 0; k < 16; k++) {
		int left = f->plen - k * 8;
		uint8_t mask = left >= 8 ? 0xff : left <= 0 ? 0 : (uint8_t)(0xff << (8 - left));

		masked |= (f->addr[k] & mask) != f->addr[k];
		f->addr[k] &= mask;
	}
	if (masked)
		cfg_warn(n, "low address bits of %s are meaningless", a);
	return 0;
}

int cfg_set_real_ip_header(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	struct realip_conf *rc = &s->loc->realip;
	const char *v = n->args[0];

	(void)d;
	/* exact spellings, as nginx: "x-forwarded-for" is a header like any
	 * other (its first occurrence only) */
	if (strcmp(v, "X-Real-IP") == 0) {
		rc->type = REALIP_X_REAL_IP;
	} else if (strcmp(v, "X-Forwarded-For") == 0) {
		rc->type = REALIP_XFF;
	} else if (strcmp(v, "proxy_protocol") == 0) {
		rc->type = REALIP_PROXY_PROTO;
	} else {
		rc->type = REALIP_HEADER;
		rc->header = pool_strndup(b->pool, v, strlen(v));
		if (!rc->header)
			return cfg_fail(b, n, "out of memory");
		rc->header_len = strlen(v);
	}
	return 0;
}

void cfg_realip_init(struct realip_conf *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->recursive = CFG_UNSET;
}

void cfg_realip_merge(struct realip_conf *rc, const struct realip_conf *p)
{
	if (!rc->from && p) {
		rc->from = p->from;
		rc->nfrom = p->nfrom;
	}
	if (rc->recursive == CFG_UNSET)
		rc->recursive = p ? p->recursive : 0;
	if (rc->type == REALIP_UNSET) {
		rc->type = p ? p->type : REALIP_X_REAL_IP;
		if (p) {
			rc->header = p->header;
			rc->header_len = p->header_len;
		}
	}
}
