/* SPDX-License-Identifier: MIT */
/*
 * Referer checks: nginx's ngx_http_referer_module behind $invalid_referer.
 * Owns the matching of a Referer value against one level's valid_referers
 * (struct referer_conf, built by cfg_referer.c): the scheme test, the host
 * lookup in nginx's order (exact, longest leading wildcard, longest
 * trailing wildcard) over the listed hosts and, with `server_names`, the
 * server's names, the URI prefix of the host found, then the server's
 * regex names on the host and the `~regex` entries on the whole value.
 * nginx keeps hashes; the lists here are short and scanned.
 */
#include <pthread.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cfg-t.h"
#include "referer.h"

#define REFERER_HOST_MAX 256 /* nginx's buffer: a longer host is invalid */

/* one match block per thread, freed when the thread exits */
static __thread pcre2_match_data *referer_md;
static pthread_key_t referer_md_key;
static pthread_once_t referer_md_once = PTHREAD_ONCE_INIT;

static void referer_md_free(void *md)
{
	pcre2_match_data_free(md);
}

static void referer_md_init(void)
{
	pthread_key_create(&referer_md_key, referer_md_free);
}

int referer_key_parse(struct referer_key *k, char *low)
{
	size_t len = strlen(low);
	int stars = 0;

	for (size_t i = 0; i < len; i++) {
		if (low[i] == '*' && ++stars > 1)
			return -1;
		if (low[i] == '.' && low[i + 1] == '.')
			return -1;
	}
	k->name = low;
	k->len = len;
	k->kind = 0;
	if (len > 1 && low[0] == '.') {
		k->kind = 4;
	} else if (len > 2 && low[0] == '*' && low[1] == '.') {
		k->kind = 1;
		k->name = low + 1;
		k->len = len - 1;
	} else if (len > 2 && low[len - 2] == '.' && low[len - 1] == '*') {
		k->kind = 2;
		k->len = len - 1;
	} else if (stars) {
		return -1;
	}
	return 0;
}

/* slot_eq - the names A and B (A_LEN, B_LEN bytes) are equal. */
static bool slot_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

bool referer_key_conflict(const struct referer_key *a, const struct referer_key *b)
{
	/* exact names: "x" and the "x" that ".x" holds */
	bool ax = a->kind == 0 || a->kind == 4, bx = b->kind == 0 || b->kind == 4;
	size_t ao = a->kind == 4, bo = b->kind == 4;

	if (ax && bx && slot_eq(a->name + ao, a->len - ao, b->name + bo, b->len - bo))
		return true;
	/* leading wildcards: "*.x" and ".x" both hold ".x" */
	if ((a->kind == 1 || a->kind == 4) && (b->kind == 1 || b->kind == 4) &&
	    slot_eq(a->name, a->len, b->name, b->len))
		return true;
	return a->kind == 2 && b->kind == 2 && slot_eq(a->name, a->len, b->name, b->len);
}

/* struct found - the best key for a host so far, in nginx's order. */
struct found {
	int rank;	 /* 0 none, 3 exact, 2 leading wildcard, 1 trailing wildcard */
	size_t len;	 /* the wildcard's length: longer wins */
	bool any;	 /* matched and valid whatever the path */
	const char *uri; /* else the path prefix it needs */
	size_t urilen;
};

/* consider - NAME (LEN bytes, KIND of struct referer_key) against HOST;
 * F keeps the best match with its URI (NULL: none needed). */
static void consider(struct found *f, const char *name, size_t len, int kind, const char *uri,
		     size_t urilen, const char *host, size_t hlen)
{
	int rank = 0;

	switch (kind) {
	case 0:
		rank = slot_eq(name, len, host, hlen) ? 3 : 0;
		break;
	case 4:
		if (slot_eq(name + 1, len - 1, host, hlen)) {
			rank = 3;
			break;
		}
		/* fallthrough */
	case 1:
		rank = hlen > len && memcmp(host + hlen - len, name, len) == 0 ? 2 : 0;
		break;
	case 2:
		rank = hlen >= len && memcmp(host, name, len) == 0 ? 1 : 0;
		break;
	default:
		return;
	}
	if (!rank || rank < f->rank || (rank == f->rank && (rank == 3 || len <= f->len)))
		return;
	*f = (struct found){rank, len, !uri, uri, urilen};
}

static bool re_match(const void *re, const char *s, size_t len)
{
	if (!referer_md) {
		pthread_once(&referer_md_once, referer_md_init);
		referer_md = pcre2_match_data_create(1, NULL);
		if (!referer_md)
			return false;
		pthread_setspecific(referer_md_key, referer_md);
	}
	return pcre2_match(re, (PCRE2_SPTR)(s ? s : ""), len, 0, 0, referer_md, NULL) >= 0;
}

bool referer_valid(const struct referer_conf *rc, const char *ref, size_t len)
{
	const struct cfg_srv *srv = rc->server_names ? rc->srv : NULL, *rsrv = rc->sn_re_srv;
	char host[REFERER_HOST_MAX];
	struct found f = {0};
	size_t hlen = 0, i;

	if (!rc->nkeys && !rc->nre && !rc->server_names && !rsrv)
		return true;
	if (!ref)
		return rc->none;
	if (len >= sizeof("http://i.ru") - 1 && strncasecmp(ref, "http://", 7) == 0) {
		ref += 7, len -= 7;
	} else if (len >= sizeof("https://i.ru") - 1 && strncasecmp(ref, "https://", 8) == 0) {
		ref += 8, len -= 8;
	} else {
		return rc->blocked;
	}
	for (i = 0; i < len && ref[i] != '/' && ref[i] != ':'; i++) {
		if (hlen == sizeof(host))
			return false;
		host[hlen++] = (char)(ref[i] >= 'A' && ref[i] <= 'Z' ? ref[i] + 32 : ref[i]);
	}
	for (int k = 0; k < rc->nkeys; k++) {
		const struct referer_key *key = &rc->keys[k];

		consider(&f, key->name, key->len, key->kind, key->uri, key->urilen, host, hlen);
	}
	for (int k = 0; srv && k < srv->nnames; k++)
		consider(&f, srv->names[k].name, srv->names[k].len, srv->names[k].kind, NULL, 0,
			 host, hlen);
	if (srv && !srv->nnames) /* no server_name: nginx's name "" */
		consider(&f, "", 0, 0, NULL, 0, host, hlen);
	if (f.rank) {
		if (f.any)
			return true;
		while (i < len && ref[i] != '/')
			i++;
		return len - i >= f.urilen && memcmp(ref + i, f.uri, f.urilen) == 0;
	}
	for (int k = 0; rsrv && k < rsrv->nnames; k++)
		if (rsrv->names[k].kind == 3 && re_match(rsrv->names[k].re, host, hlen))
			return true;
	for (int k = 0; k < rc->nre; k++)
		if (re_match(rc->re[k], ref, len))
			return true;
	return false;
}
