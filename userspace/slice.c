/* SPDX-License-Identifier: MIT */
/*
 * The slice module's variable and parsers (see slice.h); the run itself
 * (the head's rewrite, the following slices as subrequests, the client's
 * range cut from the assembled body) is in embed.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "h1.h"
#include "http.h"
#include "pool.h"
#include "slice.h"
#include "var.h"

/* digits - read decimal digits at *P (before E) into *V; false on
 * overflow. */
static bool digits(const char **p, const char *e, int64_t *v)
{
	*v = 0;
	while (*p < e && **p >= '0' && **p <= '9') {
		int d = **p - '0';

		if (*v > (INT64_MAX - d) / 10)
			return false;
		*v = *v * 10 + d;
		(*p)++;
	}
	return true;
}

static void blanks(const char **p, const char *e)
{
	while (*p < e && **p == ' ')
		(*p)++;
}

int64_t slice_req_start(struct lstr range, bool if_range)
{
	const char *p, *e;
	int64_t v;

	if (if_range || !range.p || range.len < 7 || strncasecmp(range.p, "bytes=", 6) != 0)
		return 0;
	p = range.p + 6;
	e = range.p + range.len;
	if (memchr(p, ',', (size_t)(e - p)))
		return 0;
	blanks(&p, e);
	if (p < e && *p == '-')
		return 0;
	if (!digits(&p, e, &v))
		return 0;
	return v;
}

enum slice_cr slice_content_range(struct lstr v, int64_t *start, int64_t *end, int64_t *total)
{
	const char *p, *e;
	int64_t s, t, n;

	if (!v.p || v.len < 7 || strncmp(v.p, "bytes ", 6) != 0)
		return SLICE_CR_INVALID;
	p = v.p + 6;
	e = v.p + v.len;
	blanks(&p, e);
	if (p == e || *p < '0' || *p > '9' || !digits(&p, e, &s))
		return SLICE_CR_INVALID;
	blanks(&p, e);
	if (p == e || *p++ != '-')
		return SLICE_CR_INVALID;
	blanks(&p, e);
	if (p == e || *p < '0' || *p > '9' || !digits(&p, e, &n) || n == INT64_MAX)
		return SLICE_CR_INVALID;
	blanks(&p, e);
	if (p == e || *p++ != '/')
		return SLICE_CR_INVALID;
	blanks(&p, e);
	if (p < e && *p == '*') {
		t = -1;
		p++;
	} else if (p == e || *p < '0' || *p > '9' || !digits(&p, e, &t)) {
		return SLICE_CR_INVALID;
	}
	blanks(&p, e);
	if (p != e)
		return SLICE_CR_INVALID;
	*start = s;
	*end = n + 1;
	*total = t;
	return t < 0 ? SLICE_CR_NO_TOTAL : SLICE_CR_OK;
}

/* req_header - the value of the request's header NAME, or {NULL, 0}. */
static struct lstr req_header(const struct conn *c, const char *name)
{
	for (size_t i = 0; i < c->req.h1.nheaders; i++)
		if (h1_str_ieq(req_hdrs(&c->req)[i].name, name))
			return (struct lstr){req_hdrs(&c->req)[i].value.p,
					     req_hdrs(&c->req)[i].value.len};
	return (struct lstr){NULL, 0};
}

int slice_range_var(struct conn *c, struct lstr *out)
{
	const struct cfg_loc *l = c->req.loc;
	struct http_req *r = &c->req;
	char *buf;
	int n;

	if (!r->slice_set) {
		if (c->sr_parent || !l || l->slice <= 0) {
			*out = (struct lstr){"", 0};
			return VAR_NOT_FOUND;
		}
		r->slice_start = l->slice * (slice_req_start(req_header(c, "range"),
							     req_header(c, "if-range").p != NULL) /
					     l->slice);
		r->slice_set = true;
	}
	buf = pool_alloc(&c->pool, 48);
	if (!buf)
		return -ENOMEM;
	n = snprintf(buf, 48, "bytes=%lld-%lld", (long long)r->slice_start,
		     (long long)(r->slice_start + (l ? l->slice : 0) - 1));
	*out = (struct lstr){buf, (size_t)n};
	return 0;
}
