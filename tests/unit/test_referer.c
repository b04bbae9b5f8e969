/* SPDX-License-Identifier: MIT */
/*
 * referer.c: valid_referers keys as nginx's ngx_hash_add_key reads them
 * (kinds, invalid wildcards, conflicts) and referer_valid's answers
 * (none, blocked, the scheme's minimum length, exact before the longest
 * leading wildcard before the longest trailing one, the URI prefix of the
 * key found, the 256-byte host bound).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "referer.h"

struct key_case {
	char in[32];   /* lowercased key as written */
	int rc;	       /* referer_key_parse */
	int kind;      /* struct referer_key kind */
	char name[32]; /* the name kept */
};

ParameterizedTestParameters(referer, keys)
{
	static struct key_case cases[] = {
		{"a.com", 0, 0, "a.com"},
		{"*.a.com", 0, 1, ".a.com"},
		{".a.com", 0, 4, ".a.com"},
		{"www.a.*", 0, 2, "www.a."},
		{"", 0, 0, ""},
		{"a.com:80", 0, 0, "a.com:80"},
		{"*", -1, 0, ""},
		{"www.*.com", -1, 0, ""},
		{"a..com", -1, 0, ""},
		{"*.a.*", -1, 0, ""},
		{"a*", -1, 0, ""},
		{"*a.com", -1, 0, ""},
	};
	return cr_make_param_array(struct key_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct key_case *tc, referer, keys)
{
	struct referer_key k = {0};
	char buf[32];

	strcpy(buf, tc->in);
	cr_assert_eq(referer_key_parse(&k, buf), tc->rc, "%s", tc->in);
	if (tc->rc)
		return;
	cr_assert_eq(k.kind, tc->kind, "%s", tc->in);
	cr_assert_eq(k.len, strlen(tc->name), "%s", tc->in);
	cr_assert(memcmp(k.name, tc->name, k.len) == 0, "%s", tc->in);
}

/* keep - TEXT copied into static memory (the keys keep pointers). */
static char *keep(const char *text)
{
	static char arena[1024];
	static size_t used;
	char *p = arena + used;

	used += strlen(text) + 1;
	cr_assert(used <= sizeof(arena));
	return strcpy(p, text);
}

static struct referer_key key(const char *text, const char *uri)
{
	struct referer_key k = {0};

	cr_assert_eq(referer_key_parse(&k, keep(text)), 0, "%s", text);
	k.uri = uri ? keep(uri) : NULL;
	k.urilen = uri ? strlen(uri) : 0;
	return k;
}

Test(referer, conflicts)
{
	struct referer_key a = key("a.com", NULL), dot = key(".a.com", NULL),
			   star = key("*.a.com", NULL), tail = key("a.com.*", NULL),
			   other = key("b.com", NULL);

	cr_assert(referer_key_conflict(&a, &dot));
	cr_assert(referer_key_conflict(&dot, &a));
	cr_assert(referer_key_conflict(&star, &dot));
	cr_assert(!referer_key_conflict(&a, &star));
	cr_assert(!referer_key_conflict(&a, &tail));
	cr_assert(referer_key_conflict(&tail, &tail));
	cr_assert(!referer_key_conflict(&a, &other));
}

struct valid_case {
	const char *ref; /* NULL: no header */
	bool valid;
};

Test(referer, valid)
{
	struct referer_key keys[] = {
		key("*.example.com", NULL), key("*.deep.example.com", "/x"),
		key("good.org", "/img/"),   key("www.tail.*", NULL),
		key(".dot.net", NULL),
	};
	struct referer_conf rc = {.set = true, .keys = keys, .nkeys = 5};
	char longhost[300];
	struct valid_case cases[] = {
		{NULL, false},
		{"", false},
		{"http://a.example.com", true},
		{"http://example.com/", false},
		{"https://A.Example.COM:8443/p", true},
		{"http://q.deep.example.com/", false}, /* the longest wildcard decides */
		{"http://q.deep.example.com/xy", true},
		{"http://good.org/img/a.png", true},
		{"http://good.org:81/img/", true},
		{"http://good.org/im", false},
		{"http://www.tail.anything/", true},
		{"http://www.tail/", false},
		{"http://dot.net/", true},
		{"http://x.dot.net/", true},
		{"http://i.r", false},
		{"ftp://a.example.com/", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *r = cases[i].ref;

		cr_assert_eq(referer_valid(&rc, r, r ? strlen(r) : 0), cases[i].valid, "%s",
			     r ? r : "(none)");
	}
	rc.none = rc.blocked = true;
	cr_assert(referer_valid(&rc, NULL, 0));
	cr_assert(referer_valid(&rc, "ftp://a.example.com/", 20));
	cr_assert(referer_valid(&rc, "http://i.r", 10));
	/* a host of 256 bytes is looked up, 257 is invalid at once */
	memcpy(longhost, "http://", 7);
	memset(longhost + 7, 'h', 248);
	memcpy(longhost + 255, ".dot.net/", 10);
	cr_assert(referer_valid(&rc, longhost, strlen(longhost)));
	memmove(longhost + 8, longhost + 7, strlen(longhost + 7) + 1);
	cr_assert(!referer_valid(&rc, longhost, strlen(longhost)));
	/* no valid_referers: everything is valid */
	struct referer_conf empty = {0};

	cr_assert(referer_valid(&empty, NULL, 0));
	cr_assert(referer_valid(&empty, "junk", 4));
}
