/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, referers: valid_referers, referer_hash_max_size
 * and referer_hash_bucket_size with nginx's contexts, checks and
 * messages; the merge (a level without valid_referers takes its parent's
 * whole set) and nginx's merge-time checks (`none`/`blocked` alone, the
 * server's names conflicting with a listed host). The table that points
 * here is in cfg.c; matching is referer.c's.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cfg.h"
#include "cfg_int.h"
#include "referer.h"

/* add_key - host ARG (no URI) with URI (NULL: none) into RC, nginx's
 * checks and messages. */
static int add_key(struct build *b, struct cfg_node *n, struct referer_conf *rc, const char *arg,
		   size_t len, const char *uri)
{
	struct referer_key k = {0}, *slot;
	/* nginx lowercases the key in place: its messages show it so */
	char *low = pool_strndup(b->pool, arg, len), *text = pool_strndup(b->pool, arg, len);

	if (!low || !text)
		return cfg_fail(b, n, "out of memory");
	for (char *p = low; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	if (referer_key_parse(&k, low))
		return cfg_fail(b, n, "invalid hostname or wildcard \"%s\"", text);
	memcpy(text, low, len);
	for (int i = 0; i < rc->nkeys; i++)
		if (referer_key_conflict(&rc->keys[i], &k))
			return cfg_fail(b, n, "conflicting parameter \"%s\"", text);
	if (uri && uri[0]) {
		k.uri = pool_strdup(b->pool, uri);
		if (!k.uri)
			return cfg_fail(b, n, "out of memory");
		k.urilen = strlen(uri);
	}
	k.text = text;
	slot = PUSH(b, rc->keys, rc->nkeys);
	if (!slot)
		return cfg_fail(b, n, "out of memory");
	*slot = k;
	return 0;
}

int cfg_set_valid_referers(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	struct referer_conf *rc = &s->loc->referer;

	(void)d;
	rc->set = true;
	rc->srv = s->srv;
	for (size_t i = 0; i < n->nargs; i++) {
		const char *a = n->args[i], *slash;

		if (!a[0])
			return cfg_fail(b, n, "invalid referer \"%s\"", a);
		if (strcmp(a, "none") == 0) {
			rc->none = true;
		} else if (strcmp(a, "blocked") == 0) {
			rc->blocked = true;
		} else if (strcmp(a, "server_names") == 0) {
			rc->server_names = true;
			rc->sn_re_srv = s->srv;
		} else if (a[0] == '~') {
			void *re, **slot;

			if (!a[1])
				return cfg_fail(b, n, "empty regex in \"%s\"", a);
			re = cfg_compile_re(b, n, a + 1, true);
			if (!re)
				return -1;
			slot = PUSH(b, rc->re, rc->nre);
			if (!slot) {
				pcre2_code_free(re);
				return cfg_fail(b, n, "out of memory");
			}
			*slot = re;
			rc->own_re = true;
		} else {
			slash = strchr(a, '/');
			if (add_key(b, n, rc, a, slash ? (size_t)(slash - a) : strlen(a), slash))
				return -1;
		}
	}
	return 0;
}

int cfg_set_referer_hash(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct referer_conf *rc = &s->loc->referer;
	int *f = strcmp(n->name, "referer_hash_max_size") == 0 ? &rc->hash_max : &rc->hash_bucket;
	char *end;
	long v;

	(void)d;
	if (*f)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	v = strtol(n->args[0], &end, 10);
	if (!n->args[0][0] || *end || n->args[0][0] == '-' || n->args[0][0] == '+' || v > INT_MAX)
		return cfg_fail(b, n, "\"%s\" directive invalid number", n->name);
	*f = (int)v + 1;
	return 0;
}

void cfg_referer_merge(struct referer_conf *rc, const struct referer_conf *p)
{
	if (!p)
		return;
	if (rc->set) {
		/* nginx merges the regex lists even under a valid_referers */
		if (!rc->nre) {
			rc->re = p->re;
			rc->nre = p->nre;
		}
		if (!rc->sn_re_srv)
			rc->sn_re_srv = p->sn_re_srv;
		return;
	}
	*rc = *p;
	rc->set = false; /* the parent owns the regexes and made the checks */
	rc->own_re = false;
}

/* sn_key - server name SN as a referer key (regex names are not keys). */
static struct referer_key sn_key(struct build *b, const struct server_name *sn)
{
	struct referer_key k = {.name = sn->name, .len = sn->len, .kind = sn->kind};
	const char *pre = sn->kind == 1 ? "*" : "", *post = sn->kind == 2 ? "*" : "";
	size_t tl = strlen(pre) + sn->len + strlen(post) + 1;
	char *t = pool_alloc(b->pool, tl);

	if (t) {
		memcpy(t, pre, strlen(pre));
		memcpy(t + strlen(pre), sn->name, sn->len);
		memcpy(t + strlen(pre) + sn->len, post, strlen(post) + 1);
	}
	k.text = t ? t : sn->name;
	return k;
}

int cfg_referer_check(struct build *b, struct referer_conf *rc)
{
	const struct cfg_srv *srv = rc->srv;
	int nkeys = rc->nkeys;

	if (!rc->set)
		return 0;
	if (rc->server_names) {
		/* nginx adds the server's names to the level's hash here: a name
		 * already listed (or listed twice) is a conflict */
		int nn = srv && srv->nnames ? srv->nnames : 1;

		for (int i = 0; i < nn; i++) {
			struct server_name none = {.name = "", .len = 0, .kind = 0};
			const struct server_name *sn = srv && srv->nnames ? &srv->names[i] : &none;
			struct referer_key k;

			if (sn->kind == 3)
				continue;
			k = sn_key(b, sn);
			for (int j = 0; j < rc->nkeys; j++)
				if (referer_key_conflict(&rc->keys[j], &k))
					return cfg_fail(b, &b->http_end,
							"conflicting parameter \"%s\"", k.text);
			for (int j = 0; j < i; j++) {
				struct referer_key o;

				if (srv->names[j].kind == 3)
					continue;
				o = sn_key(b, &srv->names[j]);
				if (referer_key_conflict(&o, &k))
					return cfg_fail(b, &b->http_end,
							"conflicting parameter \"%s\"", k.text);
			}
			nkeys++;
		}
	}
	if ((rc->none || rc->blocked) && !nkeys)
		/* nginx's message names no line; lbd adds the http block's end */
		return cfg_fail(b, &b->http_end,
				"the \"none\" or \"blocked\" referers are specified in the "
				"\"valid_referers\" directive without any valid referer");
	return 0;
}

void cfg_referer_release(struct referer_conf *rc)
{
	if (!rc->own_re)
		return;
	for (int i = 0; i < rc->nre; i++)
		pcre2_code_free(rc->re[i]);
}
