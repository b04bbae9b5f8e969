/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, secure links: secure_link, secure_link_md5 and
 * secure_link_secret with nginx's contexts and messages, the merge (a
 * level with secure_link_secret takes neither expression from its parent;
 * a level with an expression takes no secret) and nginx's merge-time
 * error when one level mixes them. The table that points here is in cfg.c;
 * the variables are securelink.c's.
 */
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"

int cfg_set_secure_link(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct securelink_loc *sl = &s->loc->seclink;
	bool md5 = strcmp(n->name, "secure_link_md5") == 0;
	struct cval **f = md5 ? &sl->md5 : &sl->link;

	(void)d;
	if (*f)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	*f = pool_alloc(b->pool, sizeof(**f));
	if (!*f)
		return cfg_fail(b, n, "out of memory");
	memset(*f, 0, sizeof(**f));
	return cfg_compile(b, n, n->args[0], *f);
}

int cfg_set_secure_link_secret(struct build *b, struct cfg_node *n, struct scope *s,
			       const struct dir *d)
{
	struct securelink_loc *sl = &s->loc->seclink;

	(void)d;
	if (sl->secret)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	sl->secret = pool_strdup(b->pool, n->args[0]);
	if (!sl->secret)
		return cfg_fail(b, n, "out of memory");
	sl->secretlen = strlen(sl->secret);
	return 0;
}

void cfg_securelink_merge(struct securelink_loc *sl, const struct securelink_loc *p)
{
	if (!p || sl->secret)
		return;
	if (!sl->link)
		sl->link = p->link;
	if (!sl->md5)
		sl->md5 = p->md5;
	if (!sl->link && !sl->md5) {
		sl->secret = p->secret;
		sl->secretlen = p->secretlen;
	}
}

int cfg_securelink_check(struct build *b, const struct securelink_loc *sl)
{
	if (sl->secret && (sl->link || sl->md5))
		/* nginx reports it where it merges: the end of http {} */
		return cfg_fail(b, &b->http_end,
				"\"secure_link_secret\" cannot be mixed with \"secure_link\" and "
				"\"secure_link_md5\"");
	return 0;
}
