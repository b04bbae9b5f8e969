/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, access phase: auth_basic, auth_basic_user_file,
 * satisfy and limit_except with nginx's contexts, checks, messages and
 * merge. auth_basic's realm and the user file are complex values (a
 * relative file name is taken from the configuration's directory, as
 * nginx's conf_prefix). limit_except makes a nameless configuration inside
 * the location that inherits from it, as nginx's; only the access-phase
 * directives (allow, deny, auth_basic*) are allowed in it. The table that
 * points here is in cfg.c; the request side is auth.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "cfg.h"
#include "cfg_int.h"

void cfg_auth_init(struct auth_loc *a)
{
	memset(a, 0, sizeof(*a));
	a->satisfy = CFG_UNSET;
}

void cfg_auth_merge(struct auth_loc *a, const struct auth_loc *p)
{
	if (!a->realm && p)
		a->realm = p->realm;
	if (!a->user_file && p)
		a->user_file = p->user_file;
	if (a->satisfy == CFG_UNSET)
		a->satisfy = p ? p->satisfy : AUTH_SATISFY_ALL;
	if (!a->req_uri && p)
		a->req_uri = p->req_uri; /* auth_request (cfg_authreq.c) */
	if (!a->nreq_sets && p) {
		a->req_sets = p->req_sets;
		a->nreq_sets = p->nreq_sets;
	}
}

int cfg_set_auth_basic(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct auth_loc *a = &s->loc->auth;
	struct cval *cv;

	(void)d;
	if (a->realm)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	cv = pool_zalloc(b->pool, sizeof(*cv));
	if (!cv)
		return cfg_fail(b, n, "out of memory");
	if (cfg_compile(b, n, n->args[0], cv))
		return -1;
	a->realm = cv;
	return 0;
}

int cfg_set_auth_user_file(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	struct auth_loc *a = &s->loc->auth;
	const char *f = n->args[0], *pre = b->cfg->conf_prefix;
	struct cval *cv;
	char *text;

	(void)d;
	if (a->user_file)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	cv = pool_zalloc(b->pool, sizeof(*cv));
	if (!cv)
		return cfg_fail(b, n, "out of memory");
	/* nginx's conf_prefix: a name not starting with '/' is relative to
	 * the directory of the main configuration file */
	if (f[0] != '/' && pre && pre[0]) {
		size_t pl = strlen(pre), fl = strlen(f);

		text = pool_alloc(b->pool, pl + fl + 2);
		if (!text)
			return cfg_fail(b, n, "out of memory");
		memcpy(text, pre, pl);
		if (pre[pl - 1] != '/')
			text[pl++] = '/';
		memcpy(text + pl, f, fl + 1);
		f = text;
	}
	if (cfg_compile(b, n, f, cv))
		return -1;
	a->user_file = cv;
	return 0;
}

int cfg_set_satisfy(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct auth_loc *a = &s->loc->auth;

	(void)d;
	if (a->satisfy != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (strcmp(n->args[0], "all") == 0)
		a->satisfy = AUTH_SATISFY_ALL;
	else if (strcmp(n->args[0], "any") == 0)
		a->satisfy = AUTH_SATISFY_ANY;
	else
		return cfg_fail(b, n, "invalid value \"%s\"", n->args[0]);
	return 0;
}

/* The method names limit_except takes (nginx's list), each its bit. */
static const struct {
	const char *name;
	uint32_t bit;
} lmt_methods[] = {
	{"GET", AUTH_M_GET},	       {"HEAD", AUTH_M_HEAD},		{"POST", AUTH_M_POST},
	{"PUT", AUTH_M_PUT},	       {"DELETE", AUTH_M_DELETE},	{"MKCOL", AUTH_M_MKCOL},
	{"COPY", AUTH_M_COPY},	       {"MOVE", AUTH_M_MOVE},		{"OPTIONS", AUTH_M_OPTIONS},
	{"PROPFIND", AUTH_M_PROPFIND}, {"PROPPATCH", AUTH_M_PROPPATCH}, {"LOCK", AUTH_M_LOCK},
	{"UNLOCK", AUTH_M_UNLOCK},     {"PATCH", AUTH_M_PATCH},
};

uint32_t auth_method_bit(const char *m, size_t len)
{
	for (size_t i = 0; i < sizeof(lmt_methods) / sizeof(lmt_methods[0]); i++)
		if (strlen(lmt_methods[i].name) == len && memcmp(lmt_methods[i].name, m, len) == 0)
			return lmt_methods[i].bit;
	return AUTH_M_UNKNOWN;
}

int cfg_set_limit_except(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_loc *l = s->loc, *in;
	struct scope sc = *s;
	uint32_t m = 0;

	(void)d;
	if (l->auth.lmt)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	for (size_t i = 0; i < n->nargs; i++) {
		uint32_t bit = 0;

		for (size_t k = 0; k < sizeof(lmt_methods) / sizeof(lmt_methods[0]); k++)
			if (strcasecmp(n->args[i], lmt_methods[k].name) == 0)
				bit = lmt_methods[k].bit;
		if (!bit)
			return cfg_fail(b, n, "invalid method \"%s\"", n->args[i]);
		if (bit == AUTH_M_GET)
			bit |= AUTH_M_HEAD; /* GET implies HEAD, as nginx */
		m |= bit;
	}
	in = pool_zalloc(b->pool, sizeof(*in));
	if (!in)
		return cfg_fail(b, n, "out of memory");
	cfg_loc_init(in);
	in->parent = l;
	in->srv = l->srv;
	in->file = n->file;
	in->line = n->line;
	l->auth.lmt = in;
	l->auth.lmt_methods = m;
	sc.loc = in;
	sc.ctx = C_LMT;
	return cfg_block(b, n, &sc);
}
