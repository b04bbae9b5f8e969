/* SPDX-License-Identifier: MIT */
/*
 * Active health checks, the verdict of a `match` block on one response:
 * its status and header conditions on the parsed head, its body
 * conditions on the first HC_MATCH_BODY_MAX bytes of the (decoded) body.
 * Runs on the checker thread only; a check is paced by its interval, so
 * the PCRE2 match data is made per call rather than kept.
 */
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "hc-t.h"
#include "hc.h"

/* re_hit - whether RE matches somewhere in P (N bytes); a matching error
 * (say, the match limit) counts as no match. */
static bool re_hit(void *re, const char *p, size_t n)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	int rc;

	if (!md)
		return false;
	rc = pcre2_match(re, (PCRE2_SPTR)(p ? p : ""), n, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

static bool status_in(const struct hc_cond *k, int status)
{
	for (int i = 0; i < k->nranges; i++)
		if (status >= k->ranges[i].lo && status <= k->ranges[i].hi)
			return true;
	return false;
}

/* header_holds - condition K on the N fields at H. */
static bool header_holds(const struct hc_cond *k, const struct h1_header *h, size_t n)
{
	size_t nlen = strlen(k->name);
	bool seen = false, hit = false;

	for (size_t i = 0; i < n; i++) {
		const struct h1_str *v = &h[i].value;

		if (h[i].name.len != nlen || strncasecmp(h[i].name.p, k->name, nlen) != 0)
			continue;
		seen = true;
		switch (k->op) {
		case HC_HDR_EQ:
		case HC_HDR_NE:
			hit |= v->len == strlen(k->value) && memcmp(v->p, k->value, v->len) == 0;
			break;
		case HC_HDR_RE:
		case HC_HDR_NRE:
			hit |= re_hit(k->re, v->p, v->len);
			break;
		default:
			break;
		}
	}
	switch (k->op) {
	case HC_HDR_EXISTS:
		return seen;
	case HC_HDR_ABSENT:
		return !seen;
	case HC_HDR_EQ:
	case HC_HDR_RE:
		return hit;
	default: /* != and !~: no field of that name has it (none at all holds) */
		return !hit;
	}
}

bool hc_match_head(const struct hc_match *m, int status, const struct h1_header *h, size_t n)
{
	for (int i = 0; i < m->nconds; i++) {
		const struct hc_cond *k = &m->conds[i];

		if (k->kind == HC_COND_STATUS && status_in(k, status) == k->neg)
			return false;
		if (k->kind == HC_COND_HEADER && !header_holds(k, h, n))
			return false;
	}
	return true;
}

bool hc_match_body(const struct hc_match *m, const char *body, size_t len)
{
	for (int i = 0; i < m->nconds; i++) {
		const struct hc_cond *k = &m->conds[i];

		if (k->kind == HC_COND_BODY && re_hit(k->re, body, len) == k->neg)
			return false;
	}
	return true;
}
