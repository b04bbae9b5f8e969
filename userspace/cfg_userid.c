/* SPDX-License-Identifier: MIT */
/*
 * Configuration of ngx_http_userid_filter_module: userid, userid_service,
 * userid_name, userid_domain, userid_path, userid_p3p, userid_expires,
 * userid_mark, userid_flags, with nginx's messages and inheritance. The
 * cookie's attribute strings are made here once ("; domain=D"), as nginx
 * does, so that userid.c only copies them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"
#include "lbd.h"

#define FIELD(s, d, type) ((type *)((char *)(s)->loc + (d)->off))

int cfg_set_userid(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	static const char *const modes[] = {"off", "log", "v1", "on"};
	int *f = FIELD(s, d, int);

	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	for (int i = 0; i < (int)ARRAY_SIZE(modes); i++) {
		if (strcmp(n->args[0], modes[i]) == 0) {
			*f = i; /* enum userid_mode's order */
			return 0;
		}
	}
	return cfg_fail(b, n, "invalid value \"%s\"", n->args[0]);
}

/* userid_name, userid_domain, userid_path, userid_p3p: strings; the
 * domain and path kept as the cookie's attributes, "none" an empty one. */
int cfg_set_userid_str(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	char **f = FIELD(s, d, char *);
	const char *a = n->args[0], *pre = NULL;
	size_t len;

	if (*f)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (strcmp(n->name, "userid_domain") == 0)
		pre = strcmp(a, "none") == 0 ? NULL : "; domain=";
	else if (strcmp(n->name, "userid_path") == 0)
		pre = "; path=";
	if ((strcmp(n->name, "userid_domain") == 0 || strcmp(n->name, "userid_p3p") == 0) &&
	    strcmp(a, "none") == 0)
		a = "";
	len = (pre ? strlen(pre) : 0) + strlen(a) + 1;
	*f = pool_alloc(b->pool, len);
	if (!*f)
		return cfg_fail(b, n, "out of memory");
	snprintf(*f, len, "%s%s", pre ? pre : "", a);
	return 0;
}

int cfg_set_userid_service(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	int64_t *f = FIELD(s, d, int64_t);
	const char *a = n->args[0];
	int64_t v = 0;

	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (!*a)
		return cfg_fail(b, n, "\"%s\" directive invalid number", n->name);
	for (; *a; a++) {
		if (*a < '0' || *a > '9' || v > (INT64_MAX - (*a - '0')) / 10)
			return cfg_fail(b, n, "\"%s\" directive invalid number", n->name);
		v = v * 10 + (*a - '0');
	}
	*f = v;
	return 0;
}

int cfg_set_userid_expires(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	int64_t *f = FIELD(s, d, int64_t), ms;
	const char *a = n->args[0];

	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (strcmp(a, "max") == 0) {
		*f = USERID_MAX_EXPIRES;
		return 0;
	}
	if (strcmp(a, "off") == 0) {
		*f = 0;
		return 0;
	}
	/* seconds, as nginx's ngx_parse_time(, 1): no "ms" */
	if (strstr(a, "ms") || cfg_parse_time(a, &ms))
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	*f = ms / 1000;
	return 0;
}

int cfg_set_userid_mark(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int *f = FIELD(s, d, int);
	const char *a = n->args[0];

	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (strcmp(a, "off") == 0) {
		*f = 0;
		return 0;
	}
	if (strlen(a) != 1 || !((a[0] >= '0' && a[0] <= '9') || (a[0] >= 'A' && a[0] <= 'Z') ||
				(a[0] >= 'a' && a[0] <= 'z') || a[0] == '='))
		return cfg_fail(
			b, n,
			"\"%s\" directive value must be \"off\" or a single letter, digit or \"=\"",
			n->name);
	*f = a[0];
	return 0;
}

/* userid_flags: nginx's bitmask, so that a second directive adds to the
 * first. */
int cfg_set_userid_flags(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	static const struct cfg_bit t[] = {
		{"off", 0},
		{"secure", USERID_F_SECURE},
		{"httponly", USERID_F_HTTPONLY},
		{"samesite=strict", USERID_F_SAMESITE_STRICT},
		{"samesite=lax", USERID_F_SAMESITE_LAX},
		{"samesite=none", USERID_F_SAMESITE_NONE},
	};
	int *f = FIELD(s, d, int);

	*f |= USERID_F_SET;
	return cfg_parse_bits(b, n, t, ARRAY_SIZE(t), f);
}

void cfg_userid_init(struct userid_loc *u)
{
	u->enable = CFG_UNSET;
	u->service = CFG_UNSET;
	u->expires = CFG_UNSET;
	u->mark = CFG_UNSET;
}

void cfg_userid_merge(struct userid_loc *u, const struct userid_loc *p)
{
	if (u->enable == CFG_UNSET)
		u->enable = p ? p->enable : USERID_OFF;
	if (!u->flags && p)
		u->flags = p->flags;
	if (!u->name)
		u->name = p ? p->name : "uid";
	if (!u->domain)
		u->domain = p ? p->domain : "";
	if (!u->path)
		u->path = p ? p->path : "; path=/";
	if (!u->p3p)
		u->p3p = p ? p->p3p : "";
	if (u->service == CFG_UNSET && p)
		u->service = p->service;
	if (u->expires == CFG_UNSET)
		u->expires = p ? p->expires : 0;
	if (u->mark == CFG_UNSET)
		u->mark = p ? p->mark : 0;
}
