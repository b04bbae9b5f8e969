/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, small directives of their own: a complex value
 * set once per level (proxy_method, proxy_set_body), and the content
 * handlers and flags added with them. nginx's messages. The table that
 * points here is in cfg.c.
 */
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"
#include "upbind.h"

int cfg_set_cval_once(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cval **f = (struct cval **)((char *)s->loc + d->off);

	if (*f)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	*f = pool_alloc(b->pool, sizeof(**f));
	if (!*f)
		return cfg_fail(b, n, "out of memory");
	memset(*f, 0, sizeof(**f));
	return cfg_compile(b, n, n->args[0], *f);
}

int cfg_set_on(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)b, (void)n;
	*(bool *)((char *)s->loc + d->off) = true;
	return 0;
}

int cfg_set_proxy_bind(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct upbind *ub;
	const char *a = n->args[0];

	(void)d;
	if (s->loc->proxy_bind)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	ub = pool_zalloc(b->pool, sizeof(*ub));
	if (!ub)
		return cfg_fail(b, n, "out of memory");
	s->loc->proxy_bind = ub;
	if (n->nargs == 1 && strcmp(a, "off") == 0) {
		ub->off = true;
		return 0;
	}
	ub->text = pool_strdup(b->pool, a);
	if (!ub->text)
		return cfg_fail(b, n, "out of memory");
	if (strchr(a, '$')) {
		ub->var = pool_zalloc(b->pool, sizeof(*ub->var));
		if (!ub->var || cfg_compile(b, n, a, ub->var))
			return ub->var ? -1 : cfg_fail(b, n, "out of memory");
	} else if (upbind_parse(a, strlen(a), &ub->addr, &ub->addrlen)) {
		return cfg_fail(b, n, "invalid address \"%s\"", a);
	}
	if (n->nargs == 2) {
		if (strcmp(n->args[1], "transparent") != 0)
			return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[1]);
		/* IP_TRANSPARENT needs CAP_NET_RAW, kept after the drop */
		ub->transparent = true;
		b->cfg->bind_transparent = true;
	}
	return 0;
}

/* disable_symlinks off | on | if_not_owner [from=PART] (nginx's checks and
 * messages; PART may hold variables). */
int cfg_set_disable_symlinks(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d)
{
	struct cfg_loc *l = s->loc;
	int mode = CFG_UNSET;

	(void)d;
	if (l->disable_symlinks != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	for (size_t i = 0; i < n->nargs; i++) {
		const char *a = n->args[i];

		if (strcmp(a, "off") == 0) {
			mode = CFG_SYMLINKS_OFF;
		} else if (strcmp(a, "on") == 0) {
			mode = CFG_SYMLINKS_ON;
		} else if (strcmp(a, "if_not_owner") == 0) {
			mode = CFG_SYMLINKS_IF_NOT_OWNER;
		} else if (strncmp(a, "from=", 5) == 0 && !l->disable_symlinks_from) {
			if (!a[5])
				return cfg_fail(b, n, "invalid parameter \"%s\"", a);
			l->disable_symlinks_from = pool_alloc(b->pool, sizeof(struct cval));
			if (!l->disable_symlinks_from)
				return cfg_fail(b, n, "out of memory");
			memset(l->disable_symlinks_from, 0, sizeof(struct cval));
			if (cfg_compile(b, n, a + 5, l->disable_symlinks_from))
				return -1;
		} else {
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
		}
	}
	if (mode == CFG_UNSET)
		return cfg_fail(b, n, "\"off\", \"on\" or \"if_not_owner\" parameter expected");
	if (mode == CFG_SYMLINKS_OFF && l->disable_symlinks_from)
		return cfg_fail(b, n, "\"from=\" cannot be used with \"off\" parameter");
	l->disable_symlinks = mode;
	return 0;
}
