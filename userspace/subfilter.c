/* SPDX-License-Identifier: MIT */
/*
 * Body substitution as nginx 1.22's sub filter (ngx_http_sub_module)
 * does it: which responses are filtered, the header edits, and the
 * streaming search and replace.
 *
 * Matching: the leftmost start where one of the location's search strings
 * matches (ASCII case ignored), the first in configuration order at one
 * start; the scan goes on after the match; sub_filter_once skips a string
 * once it was replaced. The scan is nginx's: a Horspool skip over the
 * shortest string's length. A start whose string runs past the bytes at
 * hand is undecided: those bytes (fewer than the longest string) are held
 * until more arrive, and sent as they are at the end of the body (nginx's
 * behaviour too, so the output never depends on how the body was cut).
 *
 * Recoding: the charset filter (charset.c decides, recode.c recodes) runs
 * after sub_filter and before gzip in nginx; here it is this filter's
 * last step, every byte copied to the output buffer going through the
 * recoder, with no patterns when only the charset filter is on.
 *
 * Streaming: the filter takes each span of body bytes as the proxy relays
 * it and copies the output (plain bytes, replacements, held bytes) into a
 * buffer of its own, which goes out as one chunk (HTTP/1.1), raw into gzip
 * (which runs after it, as in nginx), or until close (HTTP/1.0). Nothing
 * new is read while a span is not taken whole. Contexts come from a
 * per-thread free list; replacements with variables are evaluated once per
 * request into the request pool.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cfg.h"
#include "charset.h"
#include "gunzip.h"
#include "gzip.h"
#include "http.h"
#include "pool.h"
#include "recode.h"
#include "subfilter.h"
#include "var.h"

#define SF_PREFIX	   12	       /* room for a chunk-size line before the data */
#define SF_OUT_SIZE	   (16 * 1024) /* output bytes per span */
#define SF_SUFFIX	   8	       /* "\r\n" after a chunk, then "0\r\n\r\n" */
#define SF_IN_SIZE	   (16 * 1024) /* file bytes read per step */
#define SF_FREE_PER_THREAD 4	       /* contexts a thread keeps */

/* struct subf_ctx - one response being substituted. */
struct subf_ctx {
	struct subf_ctx *next;	    /* free list */
	const struct subf_set *set; /* the location's strings */
	const char *in;		    /* the caller's span being taken */
	size_t in_len;		    /* its length */
	size_t in_pos;		    /* bytes of it emitted or held */
	struct {
		const char *p; /* input, a replacement: stable until taken */
		size_t n;
	} q[2];		     /* pieces still to copy to out, in order */
	int nq;		     /* count */
	struct lstr *subs;   /* replacements evaluated (request pool), NULL until the first */
	uint64_t applied[4]; /* sub_filter_once: strings replaced already */
	int napplied;	     /* count of those */
	bool once;	     /* sub_filter_once on */
	bool passthru;	     /* once: every string replaced, the rest goes as it is */
	bool chunked;	     /* output is chunk-framed */
	bool finished;	     /* the last output (held bytes, chunk end) is out */
	size_t hold_len;     /* undecided bytes kept from earlier spans (< set->max) */
	size_t out_len;	     /* data bytes in out after the prefix */
	const char *pend;    /* file body: output not yet written */
	size_t pend_len;     /* its length */
	char hold[2 * SUBF_MAX_LEN];		       /* held bytes, then room to join new ones */
	char out[SF_PREFIX + SF_OUT_SIZE + SF_SUFFIX]; /* output of one span */
	char inbuf[SF_IN_SIZE];			       /* file body input */

	/* charset recoding of the output (set by begin, not zeroed by ctx_get) */
	struct recode_state rc; /* rc.t NULL: none */
};

static __thread struct subf_ctx *sf_free;
static __thread int sf_nfree;

static inline uint8_t lc(uint8_t ch)
{
	return ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + 32) : ch;
}

/* ---- matcher ---------------------------------------------------------------------- */

void subf_tables_build(struct subf_set *s)
{
	size_t min = SIZE_MAX, max = 0, w;
	int k = 0;

	for (int i = 0; i < s->n; i++) {
		min = LBD_MIN(min, s->pats[i].len);
		max = LBD_MAX(max, s->pats[i].len);
	}
	s->min = min;
	s->max = max;
	w = LBD_MIN(min, (size_t)255);
	memset(s->shift, (int)w, sizeof(s->shift));
	for (int i = 0; i < s->n; i++)
		for (size_t j = 0; j < w; j++) {
			uint8_t c = (uint8_t)s->pats[i].s[min - 1 - j];

			if (j < s->shift[c])
				s->shift[c] = (uint8_t)j;
		}
	/* candidates by their byte at min-1; within one byte, configuration
	 * order, which is the order nginx tries them in */
	for (int c = 0; c < 256; c++) {
		s->idx[c] = (uint8_t)k;
		for (int i = 0; i < s->n; i++)
			if ((uint8_t)s->pats[i].s[min - 1] == c)
				s->order[k++] = (uint8_t)i;
	}
	s->idx[256] = (uint8_t)k;
	s->built = true;
}

enum subf_found subf_find(const struct subf_set *s, const uint64_t *applied, const char *t,
			  size_t n, size_t from, size_t *at, int *which)
{
	const uint8_t *u = (const uint8_t *)t;
	size_t min = s->min, off = from + min - 1;

	while (off < n) {
		uint8_t c = lc(u[off]);
		size_t st = off - (min - 1);

		if (s->shift[c]) {
			off += s->shift[c];
			continue;
		}
		for (int k = s->idx[c]; k < s->idx[c + 1]; k++) {
			int i = s->order[k];
			const struct subf_pat *p = &s->pats[i];
			size_t m = LBD_MIN(p->len, n - st), j = 0;

			if (applied && ((applied[i >> 6] >> (i & 63)) & 1))
				continue;
			while (j < m && lc(u[st + j]) == (uint8_t)p->s[j])
				j++;
			if (j < m)
				continue;
			*at = st;
			if (m < p->len)
				return SUBF_HOLD; /* matches as far as T goes */
			*which = i;
			return SUBF_MATCH;
		}
		off++;
	}
	/* a skip overshoots n by less than min: this is at most n */
	*at = off - (min - 1);
	return SUBF_HOLD;
}

/* ---- the response's head ------------------------------------------------------------ */

/* type_ok - CT (a Content-Type value) in G's sub_filter_types: the type
 * before a "; charset=" parameter, case ignored, as nginx's
 * ngx_http_test_content_type sees an upstream's type; text/html always. */
static bool type_ok(const struct subf_loc *g, struct lstr ct)
{
	return gzip_types_match(g->types_any, g->types, g->ntypes, ct);
}

static struct subf_ctx *ctx_get(void)
{
	struct subf_ctx *x = sf_free;

	if (x) {
		sf_free = x->next;
		sf_nfree--;
	} else {
		x = malloc(sizeof(*x));
		if (!x)
			return NULL;
	}
	/* everything but the two buffers */
	memset(x, 0, offsetof(struct subf_ctx, hold));
	return x;
}

static void ctx_put(struct subf_ctx *x)
{
	if (sf_nfree >= SF_FREE_PER_THREAD) {
		free(x);
		return;
	}
	x->next = sf_free;
	sf_free = x;
	sf_nfree++;
}

void subfilter_worker_free(void)
{
	while (sf_free) {
		struct subf_ctx *x = sf_free;

		sf_free = x->next;
		free(x);
	}
	sf_nfree = 0;
}

void subfilter_req_end(struct conn *c)
{
	if (c->req.sf.ctx)
		ctx_put(c->req.sf.ctx);
	c->req.sf.ctx = NULL;
	c->req.sf.active = false;
	c->req.sf.cs_only = false;
	c->req.sf.sb = NULL;
}

static int begin(struct conn *c, int status, struct lstr ct, int64_t length, bool encoded,
		 const struct recode_table *rt, bool keep_len);

/* begin_h1 - subfilter_begin_h1 with the body's LENGTH (-1: unknown, -2:
 * read from H's Content-Length). */
static int begin_h1(struct conn *c, int status, const struct h1_header *h, size_t n, int64_t length)
{
	const struct cfg_loc *l = c->req.loc;
	struct lstr ct = {NULL, 0};
	bool encoded = false, te = false, read_cl = length == -2;

	subfilter_req_end(c); /* nothing left of an answer before an internal redirect */
	if (!l || (!l->subf.set && !l->charset.charset))
		return 0;
	if (read_cl)
		length = -1;
	for (size_t i = 0; i < n; i++) {
		if (H1_IS(h[i].name, "content-length")) {
			uint64_t cl;

			if (read_cl && h1_parse_content_length(h[i].value, &cl) == 0 &&
			    cl <= INT64_MAX)
				length = (int64_t)cl;
		} else if (H1_IS(h[i].name, "transfer-encoding")) {
			te = true; /* chunks: a Content-Length beside them means nothing */
		} else if (H1_IS(h[i].name, "content-type")) {
			/* the last one, as lbd sends (proxy.c) */
			ct = (struct lstr){h[i].value.p ? h[i].value.p : "", h[i].value.len};
		} else if (H1_IS(h[i].name, "content-encoding") && h[i].value.len) {
			encoded = !c->req.gu.active; /* gunzip inflates it first */
		}
	}
	if (te && read_cl)
		length = -1;
	return begin(c, status, ct, length, encoded,
		     charset_recoder(c, l, status, ct, true, encoded), true);
}

int subfilter_begin_h1(struct conn *c, int status, const struct h1_header *h, size_t n)
{
	return begin_h1(c, status, h, n, -2);
}

int subfilter_begin_stored(struct conn *c, int status, const struct h1_header *h, size_t n,
			   int64_t length)
{
	return begin_h1(c, status, h, n, length);
}

/* loc_of - the configuration level of the response: the location, or the
 * server's for answers given before one was chosen; NULL without either. */
static const struct cfg_loc *loc_of(const struct conn *c)
{
	return c->req.loc ? c->req.loc : c->req.srv ? &c->req.srv->loc : NULL;
}

/* dyn_set - the response's own copy of list S, its search strings with
 * variables evaluated and lowercased, tables built, in the request's
 * pool. A string that comes out empty (or over SUBF_MAX_LEN) is left out,
 * as an empty one finds nothing in nginx. NULL on no memory; *none when
 * no string is left. */
static const struct subf_set *dyn_set(struct conn *c, const struct subf_set *s, bool *none)
{
	struct subf_set *d = pool_alloc(&c->pool, sizeof(*d));
	struct subf_pat *p = pool_alloc(&c->pool, (size_t)s->n * sizeof(*p));

	if (!d || !p)
		return NULL;
	memset(d, 0, sizeof(*d));
	d->pats = p;
	for (int i = 0; i < s->n; i++) {
		struct subf_pat q = s->pats[i];

		if (q.dyn) {
			struct lstr v;
			char *low;

			if (cval_eval(&q.match, c, &v))
				return NULL;
			if (!v.len || v.len > SUBF_MAX_LEN)
				continue;
			low = pool_alloc(&c->pool, v.len);
			if (!low)
				return NULL;
			for (size_t j = 0; j < v.len; j++)
				low[j] = (char)lc((uint8_t)v.p[j]);
			q.s = low;
			q.len = v.len;
		}
		p[d->n++] = q;
	}
	*none = d->n == 0;
	if (d->n)
		subf_tables_build(d);
	return d;
}

/* begin - subfilter_begin with RT, the charset filter's recoding table
 * (NULL: none). KEEP_LEN: the caller keeps Content-Length (and ranges)
 * when the filter only recodes one byte for one (c->req.sf.sb). */
static int begin(struct conn *c, int status, struct lstr ct, int64_t length, bool encoded,
		 const struct recode_table *rt, bool keep_len)
{
	const struct cfg_loc *l = loc_of(c);
	const struct subf_loc *g = l ? &l->subf : NULL;
	const struct subf_set *set = NULL;
	bool sub = g && g->set && length != 0 && !encoded && (ct.p ? type_ok(g, ct) : g->types_any);

	subfilter_req_end(c);
	if (status < 200 || status == 204 || status == 304)
		return 0;
	/* compressed bytes: nothing to find (lbd, not nginx), unless gunzip
	 * inflates them first (the callers clear ENCODED then); an empty
	 * answer: nothing to change, it keeps its Content-Length: 0, but for
	 * a recoding to or from UTF-8, whose length nginx drops before it
	 * sees the body (an empty chunked answer then) */
	if (length == 0 && rt && rt->kind == RECODE_SB)
		rt = NULL;
	if (sub) {
		set = g->set;
		if (set->dyn && !c->req.head) {
			bool none;

			set = dyn_set(c, set, &none);
			if (!set)
				return -ENOMEM;
			sub = !none; /* nothing to find: the answer goes as it is */
		}
	}
	if (!sub && !rt)
		return 0;
	c->req.sf.active = true;
	c->req.sf.cs_only = !sub;
	c->req.sf.keep_lm = sub ? g->last_modified == 1 : true;
	/* nginx keeps the length of a single-byte recoding (not of what
	 * gunzip inflates: LENGTH is the compressed one then) */
	if (keep_len && !sub && rt && rt->kind == RECODE_SB && length > 0 && !c->req.gu.active)
		c->req.sf.sb = rt;
	if (c->req.head)
		return 1;
	c->req.sf.ctx = ctx_get();
	if (!c->req.sf.ctx)
		return -ENOMEM;
	c->req.sf.ctx->set = sub ? set : NULL;
	c->req.sf.ctx->passthru = !sub;
	c->req.sf.ctx->once = g && g->once != 0;
	c->req.sf.ctx->rc = (struct recode_state){.t = rt};
	if (c->req.gu.ctx)
		gunzip_feeds_filter(c);
	return 1;
}

int subfilter_begin(struct conn *c, int status, struct lstr ct, int64_t length, bool encoded)
{
	encoded = encoded && !c->req.gu.active; /* gunzip inflates it first */
	return begin(c, status, ct, length, encoded,
		     charset_recoder(c, loc_of(c), status, ct, false, encoded), false);
}

int subfilter_begin_len(struct conn *c, int status, struct lstr ct, int64_t length, bool encoded)
{
	encoded = encoded && !c->req.gu.active;
	return begin(c, status, ct, length, encoded,
		     charset_recoder(c, loc_of(c), status, ct, false, encoded), true);
}

const struct recode_table *subfilter_take_sb(struct conn *c)
{
	const struct recode_table *t = c->req.sf.sb;

	if (t)
		subfilter_req_end(c);
	return t;
}

bool subfilter_drops_validators(const struct conn *c)
{
	return c->req.sf.active && !c->req.sf.keep_lm;
}

void subfilter_start(struct conn *c)
{
	struct subf_ctx *x = c->req.sf.ctx;

	if (!x || c->req.gz.ctx || c->req.sf.sb)
		return; /* gzip frames what comes out of here; sb: the length stays */
	x->chunked = c->req.version >= 11 && loc_of(c)->chunked_transfer_encoding;
	if (!x->chunked)
		c->close_after = true; /* the end of the body is the close */
}

int subfilter_header(struct conn *c, struct h1_str name, struct h1_str value)
{
	if (H1_IS(name, "content-length"))
		return !c->req.sf.sb;
	if (c->req.sf.cs_only)
		return 0; /* nginx's charset filter keeps the validators */
	if (!c->req.sf.keep_lm)
		return H1_IS(name, "last-modified") || H1_IS(name, "etag");
	if (!H1_IS(name, "etag"))
		return 0;
	return gzip_head_weak_etag(c, name, value);
}

int subfilter_head_add(struct conn *c)
{
	const struct subf_ctx *x = c->req.sf.ctx;

	if (x && x->chunked && http_out_append(c, "Transfer-Encoding: chunked\r\n", 28))
		return -ENOMEM;
	return 0;
}

/* ---- body ------------------------------------------------------------------------- */

static inline size_t out_room(const struct subf_ctx *x)
{
	return SF_OUT_SIZE - x->out_len;
}

/* out_reserve - room kept free for held bytes (fewer than SUBF_MAX_LEN),
 * which go to out whole: recoded, each may grow (recode.h). */
static inline size_t out_reserve(const struct subf_ctx *x)
{
	return x->rc.t ? RECODE_GROWTH * SUBF_MAX_LEN + 4 * RECODE_UNIT_MAX : SUBF_MAX_LEN;
}

/* out_take - copy what fits of P[0..n) to out, recoded when the charset
 * filter recodes; the input bytes taken (fewer than n: out is full). */
static size_t out_take(struct subf_ctx *x, const char *p, size_t n)
{
	size_t used = 0;

	if (!x->rc.t) {
		used = LBD_MIN(out_room(x), n);
		memcpy(x->out + SF_PREFIX + x->out_len, p, used);
		x->out_len += used;
		return used;
	}
	x->out_len += recode_run(&x->rc, p, n, &used, x->out + SF_PREFIX + x->out_len, out_room(x));
	return used;
}

/* out_put - P[0..n) to out whole: held bytes, for which out_reserve kept room. */
static inline void out_put(struct subf_ctx *x, const char *p, size_t n)
{
	size_t used = out_take(x, p, n);

	(void)used; /* all of it: the room was kept */
}

static void queue(struct subf_ctx *x, const char *p, size_t n)
{
	if (n) {
		x->q[x->nq].p = p;
		x->q[x->nq].n = n;
		x->nq++;
	}
}

/* replaced - string I matched: queue its replacement (evaluated the first
 * time, as nginx) and note it for sub_filter_once. 0 or -ENOMEM. */
static int replaced(struct conn *c, struct subf_ctx *x, int i)
{
	const struct subf_set *s = x->set;

	if (!x->subs) {
		x->subs = pool_alloc(&c->pool, (size_t)s->n * sizeof(*x->subs));
		if (!x->subs)
			return -ENOMEM;
		memset(x->subs, 0, (size_t)s->n * sizeof(*x->subs));
	}
	if (!x->subs[i].p) {
		if (cval_eval(&s->pats[i].repl, c, &x->subs[i]))
			return -ENOMEM;
		if (!x->subs[i].p)
			x->subs[i] = (struct lstr){"", 0};
	}
	queue(x, x->subs[i].p, x->subs[i].len);
	if (x->once && !((x->applied[i >> 6] >> (i & 63)) & 1)) {
		x->applied[i >> 6] |= 1ULL << (i & 63);
		if (++x->napplied == s->n)
			x->passthru = true;
	}
	return 0;
}

/* stitch - decide the starts inside the held bytes, with the new input
 * joined behind them. 0 or -ENOMEM. */
static int stitch(struct conn *c, struct subf_ctx *x)
{
	size_t k = LBD_MIN(x->in_len - x->in_pos, (size_t)SUBF_MAX_LEN), h = x->hold_len, at;
	int w = 0;
	enum subf_found f;

	memcpy(x->hold + h, x->in + x->in_pos, k);
	f = subf_find(x->set, x->once ? x->applied : NULL, x->hold, h + k, 0, &at, &w);
	if (f == SUBF_MATCH && at < h) {
		size_t e = at + x->set->pats[w].len;

		out_put(x, x->hold, at);
		if (e <= h) {
			memmove(x->hold, x->hold + e, h - e);
			x->hold_len = h - e;
		} else {
			x->in_pos += e - h;
			x->hold_len = 0;
		}
		return replaced(c, x, w);
	}
	if (f == SUBF_HOLD && at < h) {
		/* undecided inside: only when all the input is joined (a
		 * string from there would end inside the next SUBF_MAX_LEN) */
		out_put(x, x->hold, at);
		memmove(x->hold, x->hold + at, h + k - at);
		x->hold_len = h + k - at;
		x->in_pos += k;
		return 0;
	}
	out_put(x, x->hold, h); /* no string starts in them */
	x->hold_len = 0;
	return 0;
}

/* fill - move what the filter has into out until it is full or the input
 * is taken. 0 or -ENOMEM. */
static int fill(struct conn *c, struct subf_ctx *x, bool last)
{
	for (;;) {
		size_t at;
		int w = 0;

		if (x->nq) {
			size_t m = out_take(x, x->q[0].p, x->q[0].n);

			x->q[0].p += m;
			x->q[0].n -= m;
			if (x->q[0].n)
				return 0; /* out is full */
			x->q[0] = x->q[1];
			x->nq--;
			continue;
		}
		/* held bytes go straight to out: keep room for them */
		if (out_room(x) < out_reserve(x))
			return 0;
		if (x->passthru) {
			out_put(x, x->hold, x->hold_len);
			x->hold_len = 0;
			queue(x, x->in + x->in_pos, x->in_len - x->in_pos);
			x->in_pos = x->in_len;
			if (x->nq)
				continue;
		} else if (x->hold_len && x->in_pos < x->in_len) {
			if (stitch(c, x))
				return -ENOMEM;
			continue;
		} else if (x->in_pos < x->in_len) {
			enum subf_found f = subf_find(x->set, x->once ? x->applied : NULL, x->in,
						      x->in_len, x->in_pos, &at, &w);

			queue(x, x->in + x->in_pos, at - x->in_pos);
			if (f == SUBF_MATCH) {
				x->in_pos = at + x->set->pats[w].len;
				if (replaced(c, x, w))
					return -ENOMEM;
			} else {
				memcpy(x->hold, x->in + at, x->in_len - at);
				x->hold_len = x->in_len - at;
				x->in_pos = x->in_len;
			}
			continue;
		}
		if (last && !x->finished) {
			/* the end: what is held goes as it is (nginx too) */
			out_put(x, x->hold, x->hold_len);
			x->hold_len = 0;
			x->finished = true;
		}
		return 0;
	}
}

int subfilter_mem(struct conn *c, const char *p, size_t n, size_t *wrote)
{
	bool gz = c->req.gz.ctx, fed = false;

	*wrote = 0;
	for (;;) {
		const char *o = NULL;
		size_t ol = 0;

		if (gz && gzip_busy(c, false)) {
			if (gzip_relay(c, &o, &ol, !subfilter_busy(c, true)))
				return -1;
		} else {
			if (fed && !subfilter_busy(c, true) && !(gz && gzip_busy(c, true)))
				return 0;
			if (!fed) {
				o = p;
				ol = n;
				fed = true;
			}
			if (subfilter_relay(c, &o, &ol, true) ||
			    (gz && gzip_relay(c, &o, &ol, !subfilter_busy(c, true))))
				return -1;
		}
		if (ol && http_out_append(c, o, ol))
			return -1;
		*wrote += ol;
	}
}

int subfilter_send_file(struct conn *c)
{
	struct subf_ctx *x = c->req.sf.ctx;

	for (;;) {
		const char *span = NULL;
		size_t len = 0;
		bool gz = c->req.gz.ctx, gu = c->req.gu.ctx, last;

		if (x->pend_len) {
			int rc = http_send_pending(c, &x->pend, &x->pend_len);

			if (rc <= 0)
				return rc;
		}
		/* the input: the file, or what gunzip inflates from it */
		last = gu ? !gunzip_busy(c, true) : c->file_off >= c->file_end;
		if (gz && gzip_busy(c, false)) {
			if (gzip_relay(c, &x->pend, &x->pend_len, last && !subfilter_busy(c, true)))
				return -EIO;
			continue;
		}
		if (!subfilter_busy(c, false) && !last && gu) {
			int rc = gunzip_file_span(c, &span, &len);

			if (rc)
				return rc;
			last = !gunzip_busy(c, true);
		} else if (!subfilter_busy(c, false) && !last) {
			ssize_t n = http_file_read(c, x->inbuf, SF_IN_SIZE);

			if (n < 0)
				return (int)n;
			span = x->inbuf;
			len = (size_t)n;
			last = c->file_off >= c->file_end;
		}
		if (!len && !subfilter_busy(c, last) && !(gz && gzip_busy(c, last)))
			return 1;
		if (subfilter_relay(c, &span, &len, last))
			return -ENOMEM;
		if (gz && gzip_relay(c, &span, &len, last && !subfilter_busy(c, true)))
			return -EIO;
		x->pend = span;
		x->pend_len = len;
	}
}

bool subfilter_busy(const struct conn *c, bool last)
{
	const struct subf_ctx *x = c->req.sf.ctx;

	return x && (x->nq || x->in_pos < x->in_len || (last && !x->finished));
}

int subfilter_relay(struct conn *c, const char **span, size_t *len, bool last)
{
	static const char hexd[] = "0123456789abcdef";
	struct subf_ctx *x = c->req.sf.ctx;
	char *start = x->out + SF_PREFIX, *end;
	bool was_finished = x->finished;

	if (*len) {
		x->in = *span;
		x->in_len = *len;
		x->in_pos = 0;
	}
	x->out_len = 0;
	if (fill(c, x, last))
		return -1;
	end = start + x->out_len;
	if (x->chunked) {
		if (x->out_len) {
			size_t v = x->out_len;

			*--start = '\n';
			*--start = '\r';
			do
				*--start = hexd[v & 15];
			while (v >>= 4);
			*end++ = '\r';
			*end++ = '\n';
		}
		if (x->finished && !was_finished && !http_trailers_own_end(c)) {
			memcpy(end, "0\r\n\r\n", 5);
			end += 5;
		}
	}
	*span = start;
	*len = (size_t)(end - start);
	return 0;
}
