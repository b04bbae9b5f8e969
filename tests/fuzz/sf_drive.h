/* SPDX-License-Identifier: MIT */
/*
 * Shared by tests/unit/test_subfilter.c and tests/fuzz/fuzz_subfilter.c:
 * a request set up for subfilter.c's streaming (a calloc'd conn whose
 * location holds the strings), a driver that feeds a body cut at given
 * places through subfilter_relay as the proxy does, and a plain reference
 * of nginx's substitution rule to compare with (every start tried, every
 * string compared: no tables, no carrying between buffers).
 */
#ifndef LBD_SF_DRIVE_H
#define LBD_SF_DRIVE_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "http.h"
#include "pool.h"
#include "subfilter.h"

#define SFD_MAX_PATS 8

/* struct sfd - one test request and its configuration. */
struct sfd {
	struct conn *c;
	struct cfg_loc *loc;
	struct subf_set set;
	struct subf_pat pats[SFD_MAX_PATS];
	struct cval_part parts[SFD_MAX_PATS]; /* the literal replacements */
	char s[SFD_MAX_PATS][64];	      /* the search strings (lowercased) */
};

static inline char sfd_lc(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
}

/* sfd_init - D with N strings S[i] (< 64 bytes, not empty) replaced by
 * R[i]; ONCE: sub_filter_once. */
static inline void sfd_init(struct sfd *d, int n, const char *const *s, const size_t *slen,
			    const char *const *r, const size_t *rlen, bool once)
{
	memset(d, 0, sizeof(*d));
	for (int i = 0; i < n; i++) {
		for (size_t k = 0; k < slen[i]; k++)
			d->s[i][k] = sfd_lc(s[i][k]);
		d->pats[i].s = d->s[i];
		d->pats[i].len = slen[i];
		d->parts[i] =
			(struct cval_part){.kind = CVAL_LIT, .str = (char *)r[i], .len = rlen[i]};
		d->pats[i].repl =
			(struct cval){.parts = &d->parts[i], .nparts = 1, .literal = true};
	}
	d->set.pats = d->pats;
	d->set.n = n;
	subf_tables_build(&d->set);
	d->loc = calloc(1, sizeof(*d->loc));
	d->c = calloc(1, sizeof(*d->c));
	if (!d->loc || !d->c)
		abort();
	d->loc->subf.set = &d->set;
	d->loc->subf.once = once;
	d->loc->subf.types_any = true;
	pool_init(&d->c->pool, 4096);
	d->c->req.loc = d->loc;
	d->c->req.version = 10; /* raw output: no chunk framing */
}

static inline void sfd_free(struct sfd *d)
{
	subfilter_req_end(d->c);
	pool_destroy(&d->c->pool);
	free(d->c);
	free(d->loc);
}

/* sfd_run - BODY[0..n) fed in pieces ending at CUTS (ascending, < n),
 * the last piece with the end; the output into OUT (CAP bytes). Returns
 * the output's length, or (size_t)-1 when it would not fit or a call
 * failed. */
static inline size_t sfd_run(struct sfd *d, const char *body, size_t n, const size_t *cuts,
			     int ncuts, char *out, size_t cap)
{
	static const struct h1_header h[] = {
		{.name = {"Content-Type", 12}, .value = {"text/html", 9}}};
	size_t o = 0, from = 0;

	d->c->req.sf.ctx = NULL;
	if (subfilter_begin_h1(d->c, 200, h, 1) != 1)
		return (size_t)-1;
	subfilter_start(d->c);
	for (int k = 0; k <= ncuts; k++) {
		size_t to = k < ncuts ? cuts[k] : n;
		bool last = k == ncuts;
		const char *span = body + from;
		size_t len = to - from;

		do {
			if (subfilter_relay(d->c, &span, &len, last))
				return (size_t)-1;
			if (o + len > cap)
				return (size_t)-1;
			memcpy(out + o, span, len);
			o += len;
			len = 0;
		} while (subfilter_busy(d->c, last));
		from = to;
	}
	subfilter_req_end(d->c);
	return o;
}

/* sfd_ref - the reference: BODY through D's strings into OUT. */
static inline size_t sfd_ref(const struct sfd *d, const char *body, size_t n, bool once, char *out,
			     size_t cap)
{
	size_t o = 0, pos = 0, s = 0, min = d->set.min;
	bool done[SFD_MAX_PATS] = {false};
	int ndone = 0;

#define SFD_PUT(p, len)                      \
	do {                                 \
		if (o + (len) > cap)         \
			return (size_t)-1;   \
		memcpy(out + o, (p), (len)); \
		o += (len);                  \
	} while (0)
	while (s + min <= n && !(once && ndone == d->set.n)) {
		int hit = -1;
		bool partial = false;

		for (int i = 0; i < d->set.n && hit < 0 && !partial; i++) {
			const struct subf_pat *p = &d->pats[i];
			size_t m = p->len < n - s ? p->len : n - s, j = 0;

			if (once && done[i])
				continue;
			while (j < m && sfd_lc(body[s + j]) == p->s[j])
				j++;
			if (j < m)
				continue;
			if (m < p->len)
				partial = true;
			else
				hit = i;
		}
		if (partial)
			break;
		if (hit < 0) {
			s++;
			continue;
		}
		SFD_PUT(body + pos, s - pos);
		SFD_PUT(d->parts[hit].str, d->parts[hit].len);
		if (!done[hit])
			ndone++;
		done[hit] = true;
		s = pos = s + d->pats[hit].len;
	}
	SFD_PUT(body + pos, n - pos);
#undef SFD_PUT
	return o;
}

#endif
