/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, browsers: nginx's ngx_http_browser_module
 * directives (modern_browser, ancient_browser, modern_browser_value,
 * ancient_browser_value) with nginx's contexts, checks and messages, and
 * the merge down the levels: a level that lists modern browsers gets
 * Opera added when it names none (Opera's User-Agent may say "MSIE"), at
 * a version no Opera reaches, and its rules in nginx's test order. The
 * table that points here is in cfg.c; the matching is browser.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "browser.h"
#include "cfg.h"
#include "cfg_int.h"

int cfg_set_modern_browser(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	struct browser_conf *bc = &s->loc->browser;
	struct browser_modern *m;
	uint64_t v;
	int k;

	(void)d;
	if (n->nargs == 1) {
		if (strcmp(n->args[0], "unlisted") == 0) {
			bc->unlisted = true;
			return 0;
		}
		/* nginx fails here without a message of its own */
		return cfg_fail(
			b, n,
			"invalid parameter \"%s\" in \"modern_browser\" directive, it must be "
			"\"unlisted\" or a browser and its version",
			n->args[0]);
	}
	k = browser_kind_of(n->args[0]);
	if (k < 0)
		return cfg_fail(b, n, "unknown browser name \"%s\"", n->args[0]);
	if (browser_version_parse(n->args[1], &v))
		return cfg_fail(b, n, "invalid browser version \"%s\"", n->args[1]);
	m = PUSH(b, bc->modern, bc->nmodern);
	if (!m)
		return cfg_fail(b, n, "out of memory");
	m->kind = (enum browser_kind)k;
	m->version = v;
	bc->modern_set = true;
	return 0;
}

int cfg_set_ancient_browser(struct build *b, struct cfg_node *n, struct scope *s,
			    const struct dir *d)
{
	struct browser_conf *bc = &s->loc->browser;

	(void)d;
	for (size_t i = 0; i < n->nargs; i++) {
		const char **a;

		if (strcmp(n->args[i], "netscape4") == 0) {
			bc->netscape4 = true;
			continue;
		}
		a = PUSH(b, bc->ancient, bc->nancient);
		if (!a || !(*a = pool_strdup(b->pool, n->args[i])))
			return cfg_fail(b, n, "out of memory");
	}
	return 0;
}

/* cfg_set_browser_value - modern_browser_value, ancient_browser_value
 * (the last one written at a level holds, as in nginx). */
int cfg_set_browser_value(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct browser_conf *bc = &s->loc->browser;
	const char *v = pool_strdup(b->pool, n->args[0]);

	(void)d;
	if (!v)
		return cfg_fail(b, n, "out of memory");
	if (n->name[0] == 'm')
		bc->modern_value = v;
	else
		bc->ancient_value = v;
	return 0;
}

void cfg_browser_merge(struct build *b, struct browser_conf *bc, const struct browser_conf *p)
{
	if (!bc->modern_set) {
		if (p) {
			bc->modern = p->modern;
			bc->nmodern = p->nmodern;
		}
	} else if (!bc->modern_merged) {
		bool opera = false;
		struct browser_modern *m;

		bc->modern_merged = true;
		for (int i = 0; i < bc->nmodern; i++)
			opera |= bc->modern[i].kind == BROWSER_OPERA;
		if (!opera && (m = PUSH(b, bc->modern, bc->nmodern))) {
			m->kind = BROWSER_OPERA;
			m->version = BROWSER_VERSION_NEVER;
		}
		/* nginx's test order (insertion sort: stable, the lists are short) */
		for (int i = 1; i < bc->nmodern; i++) {
			struct browser_modern x = bc->modern[i];
			int j = i;

			for (; j > 0 && bc->modern[j - 1].kind > x.kind; j--)
				bc->modern[j] = bc->modern[j - 1];
			bc->modern[j] = x;
		}
	}
	if (!bc->ancient && p) {
		bc->ancient = p->ancient;
		bc->nancient = p->nancient;
	}
	if (!bc->modern_value)
		bc->modern_value = p && p->modern_value ? p->modern_value : "1";
	if (!bc->ancient_value)
		bc->ancient_value = p && p->ancient_value ? p->ancient_value : "1";
}
