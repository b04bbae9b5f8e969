/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, mirror (nginx's ngx_http_mirror_module): `mirror
 * URI | off`, several per level, and its merge; mirror_request_body is a
 * flag set through the table in cfg.c. As nginx: `off` and a URI in one
 * level are "is duplicate" whichever comes first, a level with its own
 * list (or off) does not inherit its parent's, and the URI is a literal
 * (no variables). The request side is mirror.c.
 */
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"

void cfg_mirror_init(struct mirror_loc *m)
{
	memset(m, 0, sizeof(*m));
	m->request_body = CFG_UNSET;
}

void cfg_mirror_merge(struct mirror_loc *m, const struct mirror_loc *p)
{
	if (!m->set && p) {
		m->uris = p->uris;
		m->nuris = p->nuris;
		m->set = p->set;
	}
	if (m->request_body == CFG_UNSET)
		m->request_body = p ? p->request_body : 1;
	if (!m->post_action)
		m->post_action = p && p->post_action ? p->post_action : "";
}

/* cfg_set_post_action - `post_action URI|@name|off` (http, server,
 * location, location's if): one per level. nginx 1.22 takes "off" as a
 * location name; lbd as the documented off. */
int cfg_set_post_action(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct mirror_loc *m = &s->loc->mirror;

	(void)d;
	if (m->post_action)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	m->post_action = strcmp(n->args[0], "off") ? pool_strdup(b->pool, n->args[0]) : "";
	return m->post_action ? 0 : cfg_fail(b, n, "out of memory");
}

int cfg_set_mirror(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct mirror_loc *m = &s->loc->mirror;
	const char *arg = n->args[0];
	const char **v;

	(void)d;
	if (strcmp(arg, "off") == 0) {
		if (m->set)
			return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
		m->set = true;
		return 0;
	}
	if (m->set && !m->nuris) /* after `mirror off` */
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	v = pool_alloc(b->pool, (size_t)(m->nuris + 1) * sizeof(*v));
	if (!v)
		return cfg_fail(b, n, "out of memory");
	if (m->nuris)
		memcpy(v, m->uris, (size_t)m->nuris * sizeof(*v));
	v[m->nuris] = pool_strdup(b->pool, arg);
	if (!v[m->nuris])
		return cfg_fail(b, n, "out of memory");
	m->uris = v;
	m->nuris++;
	m->set = true;
	return 0;
}
