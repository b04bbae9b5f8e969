/* SPDX-License-Identifier: MIT */
/*
 * Subrequest answers put into the main request's answer (see embed.h):
 * the run of one main request (its phases, the sources in turn, the
 * bytes the socket did not take), the decoding of each source's HTTP/1.1
 * output, and nginx's addition module on it (which answers, the head
 * edits, the two subrequests), and SSI's (ssi.c): the main body passes
 * through the SSI parser, whose `include` runs a subrequest in the middle
 * of the main body.
 *
 * Phases, in order; a phase whose URI is "" is skipped:
 *   BEFORE  the add_before_body subrequest writes; the main body waits
 *   MAIN    the main request's body flows (through SSI when on)
 *   INSERT  an SSI include's subrequest writes; the main body waits, then
 *           MAIN again (the SSI parser goes on where it stopped)
 *   AFTER   the main answer is done; the add_after_body subrequest writes
 *   TAIL    the last chunk is written
 *   DONE    all written: the main request goes on (log, keep-alive)
 *
 * Levels: the sources form a stack (struct embed_lvl): level 0 the main
 * request, level 1 an addition's subrequest or an include of the main
 * body, level k+1 an include of level k's body (an included page with
 * ssi on). Only the top level writes; those below are refused until it
 * ends. SSI on a level: its body's bytes are taken into its `hold` (one
 * piece at a time: while it is not empty its writes are refused) and
 * pumped through ssi_next; what comes out (text, an echo, an error
 * message) is written piece by piece from `outq`; an include pushes a
 * level and stops the pump until that level ended (its stub block, if
 * it answered nothing usable, is then parsed before the rest of `hold`;
 * with set= its body goes into the variable instead). A subrequest that
 * closed with SSI output not yet written keeps its level until it is.
 *
 * Slices (slice.h): the main request's answer is the upstream's 206 for
 * its first slice; its head becomes the client's 200 or 206 (with a
 * Content-Length: the body goes unframed), then AFTER repeats: one level-1
 * subrequest per following slice, each checked (206, the slice asked for,
 * the first's ETag) and its body cut to the client's range.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "authreq.h"
#include "cfg.h"
#include "embed.h"
#include "gzip.h"
#include "http.h"
#include "log.h"
#include "pool.h"
#include "range.h"
#include "slice.h"
#include "ssi.h"
#include "worker.h"

enum embed_phase {
	EP_BEFORE = 0,
	EP_MAIN,
	EP_INSERT,
	EP_AFTER,
	EP_TAIL,
	EP_DONE,
};

/* struct embed_src - the decoding of one source's output: HTTP/1.1 bytes,
 * a head then a body (chunked or as it is). */
struct embed_src {
	struct h1_chunked ch; /* chunked: the decoder */
	uint8_t eoh;	      /* bytes of "\r\n\r\n" matched: 4 once in the body */
	bool chunked;	      /* the body is chunk-framed */
	bool body_done;	      /* chunked: the last chunk came; what follows is dropped */
};

#define EMBED_DEPTH 51 /* nested subrequests at most (nginx 1.22: the 52nd is refused) */

/* struct embed_lvl - one source of the run: level 0 is the main request,
 * level k > 0 the subrequest that level k-1 started (an SSI include) or
 * an addition's (level 1). Only the top level's source writes; the
 * levels below wait where they stopped. */
struct embed_lvl {
	struct conn *c;	       /* its request; NULL once a subrequest closed */
	struct embed_src src;  /* the decoding of its output */
	struct ssi_ctx *ssi;   /* SSI on its body (ssi.c), NULL without */
	char *hold;	       /* SSI: EMBED_PIECE bytes of its body (main pool) */
	size_t hold_off;       /* hold[hold_off, hold_off + hold_len) is unparsed */
	size_t hold_len;       /* ... bytes */
	struct lstr outq;      /* SSI output not written yet (hold, main pool, config) */
	struct lstr stub_in;   /* a stub block's text, parsed before hold */
	struct ssi_action ins; /* the include that started it (ins.uri.p NULL: an addition) */
	size_t bytes;	       /* body bytes it produced */
	bool drop;	       /* its answer is not used: a stub stands for it (not 2xx) */
	bool loc_ssi;	       /* its location has ssi on: a stub standing for it is parsed */
	bool closed;	       /* a subrequest that closed (SSI output of it may remain) */
	bool blocked;	       /* its subrequest was refused a write: wake it when on top */
	bool stubbed;	       /* its stub went in (or is being parsed): it ends after */
	const char *up_text;   /* its answer's upstream for log lines (main pool), or NULL */
	struct conn *kept;     /* its closed subrequest, kept while its stub is parsed in
				* its request (nginx's variables: $uri...); freed with
				* http_sub_release at its level's end */
	char *set_buf;	       /* include set=: its body (main pool) */
	size_t set_len;	       /* ... bytes */
};

/* struct embed_slice - a slice run (slice.h): the main request's body is
 * the first slice, each following one a subrequest (level 1, one after
 * the other); all entity offsets, [from, to) the client's bytes. */
struct embed_slice {
	int64_t size;	  /* slice SIZE */
	int64_t total;	  /* the entity's length (the first Content-Range's) */
	int64_t pos;	  /* entity offset of the next body byte to come */
	int64_t want;	  /* the running subrequest's slice start */
	int64_t next;	  /* the next slice's start */
	int64_t end;	  /* slices are fetched while next < end (the client's to) */
	int64_t from;	  /* the client's first byte */
	int64_t to;	  /* the client's end (exclusive) */
	struct lstr etag; /* the first slice's ETag (main pool), NULL if none */
	struct lstr page; /* a 416's page, written instead of the first body bytes */
};

/* struct embed_run - one main request's run (its pool). */
struct embed_run {
	struct conn *c;		     /* the main request's connection */
	const char *before;	     /* add_before_body URI, "" none */
	const char *after;	     /* add_after_body URI, "" none */
	enum embed_phase phase;	     /* see above */
	struct embed_lvl *lv;	     /* the levels 0..depth (lv0, or a pool array) */
	int depth;		     /* the top level, whose source writes */
	int cap;		     /* lv's entries */
	struct ssi_ctx *ssi_shared;  /* the first SSI context: variables, blocks */
	struct ev_timer kick;	     /* wakes writers and starts subrequests, from the loop */
	bool chunk_out;		     /* the assembled body goes in chunks (else until close) */
	bool start;		     /* the kick starts the top level's subrequest */
	bool main_blocked;	     /* the main request was refused a write */
	bool main_done;		     /* the main answer is done (http_response_done) */
	bool waiting;		     /* the main request waits in CS_EMBED */
	bool failed;		     /* a source broke off: no last chunk, the connection closes */
	bool aborting;		     /* the main request ends: no more wake-ups */
	bool slice;		     /* a slice run: sl applies, level 1 fetches slices */
	bool stop;		     /* include set= overflowed: nothing more is written */
	uint64_t sent;		     /* bytes the socket took (head, body, chunk framing) */
	uint64_t head_len;	     /* ... of them the main request's head */
	struct embed_slice sl;	     /* the slice run's state */
	const char *action;	     /* nginx's log action of the connection, which SSI's
				      * lines end with: a static file's "sending response
				      * to client", a proxied answer's "sending to client"
				      * (set by the last source that began to answer),
				      * NULL from a subrequest's start */
	struct embed_lvl lv0[2];     /* the main request and one subrequest */
	struct gzip_req gz;	     /* gzip of the assembled body (gz.ctx NULL: none) */
	char *pend;		     /* pbuf, or a larger pool buffer (gzip's output) */
	size_t pend_cap;	     /* pend's bytes */
	size_t pend_off;	     /* pend[pend_off, pend_off + pend_len) is unsent */
	size_t pend_len;	     /* ... bytes */
	char pbuf[EMBED_PIECE + 32]; /* one chunk (or head piece) the socket did not take */
};

/* ---- pure helpers -------------------------------------------------------------- */

size_t embed_chunk_head(char *buf, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	char tmp[16];
	size_t k = 0, len = 0;

	do
		tmp[k++] = hexd[n & 15];
	while (n >>= 4);
	while (k)
		buf[len++] = tmp[--k];
	buf[len++] = '\r';
	buf[len++] = '\n';
	return len;
}

/* name_is - the header line L (of LEN bytes, "Name: value") is NAME's. */
static bool name_is(const char *l, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && l[n] == ':' && strncasecmp(l, name, n) == 0;
}

/* line_value - the value of header line L[0..LEN) without the CRLF and
 * surrounding blanks. */
static struct lstr line_value(const char *l, size_t len)
{
	const char *p = memchr(l, ':', len), *e = l + len;

	if (!p)
		return (struct lstr){"", 0};
	p++;
	while (e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return (struct lstr){p, (size_t)(e - p)};
}

/* next_line - the length of the line at P (CRLF included) before E. */
static size_t next_line(const char *p, const char *e)
{
	const char *nl = memchr(p, '\n', (size_t)(e - p));

	return nl ? (size_t)(nl + 1 - p) : (size_t)(e - p);
}

/* head_find - the value of header NAME in head H[0..N) (status line
 * skipped); found or not. */
static bool head_find(const char *h, size_t n, const char *name, struct lstr *v)
{
	const char *p = h, *e = h + n;

	p += next_line(p, e); /* the status line */
	while (p < e) {
		size_t l = next_line(p, e);

		if (name_is(p, l, name)) {
			*v = line_value(p, l);
			return true;
		}
		p += l;
	}
	return false;
}

/* head_drop - the lines of header NAME removed from head H[0..*LEN). */
static void head_drop(char *h, size_t *len, const char *name)
{
	char *r = h, *w = h, *e = h + *len;
	size_t l = next_line(r, e);

	r += l;
	w += l;
	while (r < e) {
		l = next_line(r, e);
		if (!name_is(r, l, name)) {
			memmove(w, r, l);
			w += l;
		}
		r += l;
	}
	*len = (size_t)(w - h);
}

int embed_head_edit(char *h, size_t *len, size_t cap, bool chunk, bool *chunked)
{
	char *r = h, *w = h, *e = h + *len;
	size_t l = next_line(r, e);
	bool te = false;
	char etag[512];
	size_t etag_len = 0;

	r += l;
	w += l;
	while (r < e) {
		l = next_line(r, e);
		if (name_is(r, l, "content-length") || name_is(r, l, "accept-ranges")) {
			r += l;
			continue;
		}
		if (name_is(r, l, "transfer-encoding"))
			te = true;
		if (name_is(r, l, "etag")) {
			struct lstr v = line_value(r, l);

			if (v.len + 2 <= sizeof(etag) &&
			    !(v.len >= 2 && memcmp(v.p, "W/", 2) == 0)) {
				/* made weak at the end: the line grows */
				memcpy(etag, v.p, v.len);
				etag_len = v.len;
				r += l;
				continue;
			}
		}
		memmove(w, r, l);
		w += l;
		r += l;
	}
	*len = (size_t)(w - h);
	if (etag_len) {
		if (*len + 10 + etag_len > cap)
			return -ENOSPC;
		memcpy(h + *len, "ETag: W/", 8);
		memcpy(h + *len + 8, etag, etag_len);
		memcpy(h + *len + 8 + etag_len, "\r\n", 2);
		*len += 10 + etag_len;
	}
	if (chunk && !te) {
		if (*len + 28 > cap)
			return -ENOSPC;
		memcpy(h + *len, "Transfer-Encoding: chunked\r\n", 28);
		*len += 28;
	}
	*chunked = te;
	return 0;
}

/* ---- output -------------------------------------------------------------------- */

static void kick_arm(struct embed_run *e)
{
	if (!e->aborting)
		ev_timer_start(&e->c->w->loop, &e->kick, 0);
}

/* busy - level L's SSI has body bytes or output it has not written. */
static bool busy(const struct embed_lvl *L)
{
	return L->hold_len || L->outq.len || L->stub_in.len;
}

static struct embed_lvl *top(struct embed_run *e)
{
	return &e->lv[e->depth];
}

/* top_sub - the subrequest that may write now, or NULL. */
static struct conn *top_sub(struct embed_run *e)
{
	return e->depth ? e->lv[e->depth].c : NULL;
}

/* level_of - C's level in the run, or -1. */
static int level_of(const struct embed_run *e, const struct conn *c)
{
	for (int k = e->depth; k >= 0; k--)
		if (e->lv[k].c == c)
			return k;
	return -1;
}

/* pend_flush - write the pending bytes. 1 none left, 0 the socket is
 * full, -1 the client is gone (errno). */
static int pend_flush(struct embed_run *e)
{
	while (e->pend_len) {
		struct iovec v = {e->pend + e->pend_off, e->pend_len};
		ssize_t w = http_sock_writev(e->c, &v, 1);

		if (w == -1)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		e->pend_off += (size_t)w;
		e->pend_len -= (size_t)w;
		e->sent += (uint64_t)w;
		if (!e->pend_len &&
		    (top(e)->blocked || e->main_blocked || e->phase >= EP_TAIL || busy(top(e))))
			kick_arm(e); /* a writer refused meanwhile may go on */
	}
	e->pend_off = 0;
	return 1;
}

/* emit_raw - P[0..N) (N <= EMBED_PIECE; nothing pending) to the client, as a
 * chunk when FRAMED and the output is chunked. Always taken: what the
 * socket does not take now is kept in pend. 0, or -1 (errno). */
static int emit_raw(struct embed_run *e, const char *p, size_t n, bool framed)
{
	char hd[24];
	struct iovec v[3];
	int k = 0;
	size_t total = 0;
	ssize_t w;
	bool partial = true;

	if (!n)
		return 0;
	framed = framed && e->chunk_out;
	if (framed)
		v[k++] = (struct iovec){hd, embed_chunk_head(hd, n)};
	v[k++] = (struct iovec){(void *)(uintptr_t)p, n};
	if (framed)
		v[k++] = (struct iovec){"\r\n", 2};
	for (int i = 0; i < k; i++)
		total += v[i].iov_len;
	w = http_sock_writev(e->c, v, k);
	if (w == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		w = 0;
		partial = false; /* the refusal is registered: readiness comes */
	}
	e->sent += (uint64_t)w;
	/* the rest into pend, in order */
	for (int i = 0; i < k && (size_t)w < total; i++) {
		size_t skip = LBD_MIN((size_t)w, v[i].iov_len);

		w -= (ssize_t)skip;
		memcpy(e->pend + e->pend_len, (char *)v[i].iov_base + skip, v[i].iov_len - skip);
		e->pend_len += v[i].iov_len - skip;
		total -= skip;
	}
	/* Taken in part: write on until a refusal, so that the readiness
	 * event comes (an HTTP/2 stream asks for it only on EAGAIN). */
	if (partial && e->pend_len && pend_flush(e) < 0)
		return -1;
	return 0;
}

/* pend_room - room for NEED more bytes after the pending ones: moved to
 * the front, or into a larger pool buffer (gzip's output of one input
 * piece may exceed a chunk: zlib gives it out only whole). 0 or -1. */
static int pend_room(struct embed_run *e, size_t need)
{
	char *n;
	size_t cap;

	if (e->pend_off + e->pend_len + need <= e->pend_cap)
		return 0;
	memmove(e->pend, e->pend + e->pend_off, e->pend_len);
	e->pend_off = 0;
	if (e->pend_len + need <= e->pend_cap)
		return 0;
	cap = LBD_MAX(e->pend_cap * 2, e->pend_len + need);
	n = pool_alloc(&e->c->pool, cap);
	if (!n) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(n, e->pend, e->pend_len);
	e->pend = n;
	e->pend_cap = cap;
	return 0;
}

/* emit_any - emit_raw, also behind pending bytes (kept after them). */
static int emit_any(struct embed_run *e, const char *p, size_t n, bool framed)
{
	char hd[24];
	size_t hl = 0;

	if (!e->pend_len)
		return emit_raw(e, p, n, framed);
	if (!n)
		return 0;
	framed = framed && e->chunk_out;
	if (framed)
		hl = embed_chunk_head(hd, n);
	if (pend_room(e, hl + n + 2))
		return -1;
	char *w = e->pend + e->pend_off + e->pend_len;

	memcpy(w, hd, hl);
	memcpy(w + hl, p, n);
	if (framed)
		memcpy(w + hl + n, "\r\n", 2);
	e->pend_len += hl + n + (framed ? 2 : 0);
	return 0;
}

/* gz_put - body bytes P[0..N) through the run's compressor (LAST: the
 * end of the stream), its output to the client as chunks. All of it is
 * taken (zlib must not keep a view of P). 0, or -1 (errno). */
static int gz_put(struct embed_run *e, const char *p, size_t n, bool last)
{
	const char *o;
	size_t ol;
	int more;

	do {
		more = gzip_feed(&e->gz, p, n, last, &o, &ol);
		if (more < 0) {
			http_log(e->c, NULL, LOG_ERR, "deflate() failed");
			errno = EIO;
			return -1;
		}
		n = 0;
		if (ol && emit_any(e, o, ol, true))
			return -1;
	} while (more);
	return 0;
}

/* emit - emit_raw, body bytes (FRAMED) through gzip when the assembled
 * answer is compressed. */
static int emit(struct embed_run *e, const char *p, size_t n, bool framed)
{
	if (framed && e->gz.ctx)
		return n ? gz_put(e, p, n, false) : 0;
	return emit_raw(e, p, n, framed);
}

/* ---- SSI and the levels ------------------------------------------------------------ */

/* slice_put - body bytes P[0..N) of a slice (level K) at entity offset
 * sl.pos: the part inside the client's range goes out as it is (the
 * answer has a Content-Length). 0, or -1 (errno). */
static int slice_put(struct embed_run *e, int k, const char *p, size_t n)
{
	int64_t a = e->sl.pos, b = a + (int64_t)n;
	int64_t lo = LBD_MAX(a, e->sl.from), hi = LBD_MIN(b, e->sl.to);
	uint64_t out = lo < hi ? (uint64_t)(hi - lo) : 0;
	int rc = 0;

	e->sl.pos = b;
	if (e->sl.page.len) {
		struct lstr pg = e->sl.page;

		e->sl.page.len = 0;
		out = pg.len;
		rc = emit(e, pg.p, pg.len, false);
	} else if (out) {
		rc = emit(e, p + (lo - a), (size_t)out, e->gz.ctx != NULL);
	}
	if (rc)
		return -1;
	/* the counters say what the client got: a subrequest's bytes are
	 * added here; the main request's producer adds N once this write
	 * returns, so the part cut off is taken back first (modulo 2^64) */
	if (k) {
		e->c->req.body_bytes_sent += out;
		e->c->req.bytes_sent += out;
	} else {
		e->c->req.body_bytes_sent -= (uint64_t)n - out;
		e->c->req.bytes_sent -= (uint64_t)n - out;
	}
	return 0;
}

/* slice_more - a slice run has a following slice to fetch. */
static bool slice_more(const struct embed_run *e)
{
	return e->slice && !e->failed && e->sl.next < e->sl.end;
}

/* set_max - include set=: the most body bytes kept (nginx's
 * subrequest_output_buffer_size default, one page). */
#define SSI_SET_MAX 4096

/* push - a new top level for a subrequest started from the next kick:
 * INS the include that asks for it (NULL: an addition). 0, or -1 (too
 * deep, or out of memory). */
static int push(struct embed_run *e, const struct ssi_action *ins)
{
	struct embed_lvl *L;

	if (e->depth + 1 > EMBED_DEPTH)
		return -1;
	if (e->depth + 1 == e->cap) {
		int cap = LBD_MIN(e->cap * 2, EMBED_DEPTH + 1);
		struct embed_lvl *n = pool_alloc(&e->c->pool, (size_t)cap * sizeof(*n));

		if (!n)
			return -1;
		memcpy(n, e->lv, (size_t)e->cap * sizeof(*n));
		e->lv = n;
		e->cap = cap;
	}
	L = &e->lv[++e->depth];
	memset(L, 0, sizeof(*L));
	if (ins)
		L->ins = *ins;
	else
		L->ins.stub = -1;
	e->start = true;
	kick_arm(e);
	return 0;
}

/* put - body bytes P[0..N) (N <= EMBED_PIECE; nothing pending) of level
 * K, after its SSI if any: into the answer, into the include's set=
 * variable, or dropped (a stub stands for them). 0, or -1 (errno). */
static int put(struct embed_run *e, int k, const char *p, size_t n)
{
	struct embed_lvl *L = &e->lv[k];

	if (e->stop)
		return 0; /* the answer ended there */
	L->bytes += n;
	if (e->slice)
		return k && L->drop ? 0 : slice_put(e, k, p, n);
	if (!k)
		return emit(e, p, n, true);
	if (L->drop)
		return 0;
	if (L->ins.set) {
		if (L->set_len + n > SSI_SET_MAX) {
			/* nginx ends the answer there (its head and what came
			 * before may still be in its postpone buffer: then the
			 * client gets nothing), the connection closes */
			http_log(L->c ? L->c : e->c, NULL, LOG_ERR,
				 "too big subrequest response: %zu", L->set_len + n);
			e->stop = true;
			errno = EMSGSIZE;
			return -1;
		}
		if (!L->set_buf && !(L->set_buf = pool_alloc(&e->c->pool, SSI_SET_MAX)))
			return -1;
		memcpy(L->set_buf + L->set_len, p, n);
		L->set_len += n;
		return 0;
	}
	if (emit(e, p, n, true))
		return -1;
	e->c->req.body_bytes_sent += n;
	e->c->req.bytes_sent += n;
	return 0;
}

/* pump - run level K's SSI parser over its stub text and hold, writing
 * what comes out. 1 all done, 0 stopped (the socket is full, or an
 * include starts from the next kick), -1 the client is gone or out of
 * memory (errno). */
static int pump(struct embed_run *e, int k)
{
	for (;;) {
		struct embed_lvl *L = &e->lv[k];
		struct ssi_action act;
		enum ssi_act a;
		size_t used = 0;
		bool stub = L->stub_in.len > 0;

		while (L->outq.len) {
			int rc = pend_flush(e);
			size_t m = LBD_MIN(L->outq.len, (size_t)EMBED_PIECE);

			if (rc <= 0)
				return rc;
			if (put(e, k, L->outq.p, m))
				return -1;
			L->outq.p += m;
			L->outq.len -= m;
		}
		if (k != e->depth || (!k && e->phase != EP_MAIN))
			return 0;
		if (!stub && !L->hold_len)
			return 1;
		a = stub ? ssi_next(L->ssi, L->stub_in.p, L->stub_in.len, &used, &act)
			 : ssi_next(L->ssi, L->hold + L->hold_off, L->hold_len, &used, &act);
		if (stub) {
			L->stub_in.p += used;
			L->stub_in.len -= used;
			if (!L->stub_in.len)
				ssi_parser_reset(L->ssi); /* a stub's unfinished command ends */
		} else {
			L->hold_off += used;
			L->hold_len -= used;
		}
		switch (a) {
		case SSI_ACT_MORE:
			break;
		case SSI_ACT_OUT:
			L->outq = act.out;
			break;
		case SSI_ACT_INCLUDE:
			if (push(e, &act)) {
				ssi_log(L->ssi, LOG_ERR,
					"subrequests cycle while processing \"%.*s\"",
					(int)act.uri.len, act.uri.p);
				L->outq = ssi_error_out(L->ssi);
				break;
			}
			if (!k)
				e->phase = EP_INSERT;
			return 0; /* L may have moved: not used past push */
		case SSI_ACT_NOMEM:
			errno = ENOMEM;
			return -1;
		}
	}
}

/* body - body bytes P[0..N) (N <= EMBED_PIECE) of level K's source: into
 * its SSI (hold is empty), or on as they are. 0, or -1 (errno). */
static int body(struct embed_run *e, int k, const char *p, size_t n)
{
	struct embed_lvl *L = &e->lv[k];

	if (!L->ssi)
		return put(e, k, p, n);
	memcpy(L->hold, p, n);
	L->hold_off = 0;
	L->hold_len = n;
	return pump(e, k) < 0 ? -1 : 0;
}

/* eoh_step - the "\r\n\r\n" matcher: the state after byte CH. */
static uint8_t eoh_step(uint8_t st, char ch)
{
	if (ch == '\r')
		return st == 2 ? 3 : 1;
	if (ch == '\n')
		return st == 1 ? 2 : st == 3 ? 4 : 0;
	return 0;
}

/* turn - whether source C may write its body now. */
static bool turn(struct embed_run *e, const struct conn *c)
{
	return c == e->c ? e->phase == EP_MAIN : top_sub(e) == c;
}

ssize_t embed_writev(struct conn *c, const struct iovec *iov, int n)
{
	struct embed_run *e = c->req.emb;
	bool main = !c->sr_parent;
	int lvk = level_of(e, c);
	struct embed_src *s;
	size_t taken = 0;
	int rc;

	if (lvk < 0) {
		errno = EPIPE; /* a subrequest the run is done with */
		return -1;
	}
	s = &e->lv[lvk].src;

	for (int i = 0; i < n; i++) {
		const char *p = iov[i].iov_base;
		size_t len = iov[i].iov_len, k = 0;

		while (k < len) {
			s = &e->lv[lvk].src; /* lv moves when an include deepens the run */
			if (s->eoh < 4) {
				/* the head: the main request's goes out as it is
				 * (embed_head edited it), a subrequest's is dropped */
				size_t j = k;

				while (j < len && s->eoh < 4 && j - k < EMBED_PIECE)
					s->eoh = eoh_step(s->eoh, p[j++]);
				if (main) {
					rc = pend_flush(e);
					if (rc < 0)
						goto fail;
					if (!rc)
						goto refuse;
					if (emit(e, p + k, j - k, false))
						goto fail;
					e->head_len += j - k;
				}
				taken += j - k;
				k = j;
				continue;
			}
			if (s->body_done) {
				taken += len - k; /* after the last chunk: nothing */
				break;
			}
			if (!turn(e, c) || busy(&e->lv[lvk]))
				goto refuse;
			rc = pend_flush(e);
			if (rc < 0)
				goto fail;
			if (!rc)
				goto refuse;
			size_t m = LBD_MIN(len - k, (size_t)EMBED_PIECE);

			if (!s->chunked) {
				if (body(e, lvk, p + k, m))
					goto fail;
				taken += m;
				k += m;
				continue;
			}
			size_t used = 0;
			struct h1_str d;
			int prc = h1_parse_chunked(&s->ch, p + k, m, &used, &d);

			if (prc == H1_CHUNK_DATA) {
				if (body(e, lvk, d.p, d.len))
					goto fail;
			} else if (prc == H1_CHUNK_DONE) {
				s->body_done = true;
			} else if (prc == H1_INCOMPLETE) {
				used = m;
			} else {
				errno = EIO; /* our own framing: cannot happen */
				goto fail;
			}
			taken += used;
			k += used;
		}
	}
	return (ssize_t)taken;
refuse:
	if (taken)
		return (ssize_t)taken;
	if (main)
		e->main_blocked = true;
	else
		e->lv[lvk].blocked = true;
	c->writable = false;
	errno = EAGAIN;
	return -1;
fail:
	e->failed = true;
	if (taken)
		return (ssize_t)taken;
	return -1;
}

ssize_t embed_sendfile(struct conn *c, int fd, off_t *off, size_t n)
{
	char tmp[EMBED_PIECE];
	ssize_t r, w;

	if (n > sizeof(tmp))
		n = sizeof(tmp);
	do
		r = pread(fd, tmp, n, *off);
	while (r == -1 && errno == EINTR);
	if (r <= 0)
		return r;
	struct iovec v = {tmp, (size_t)r};

	w = embed_writev(c, &v, 1);
	if (w > 0)
		*off += w;
	return w;
}

/* ---- the run --------------------------------------------------------------------- */

/* advance - the main answer is done while its body flowed: on to the
 * add_after_body subrequest, or the last chunk. */
static void advance(struct embed_run *e)
{
	if (e->phase != EP_MAIN || !e->main_done || busy(&e->lv[0]))
		return;
	if ((e->after[0] || slice_more(e)) && !push(e, NULL)) {
		e->phase = EP_AFTER;
		return;
	}
	e->phase = EP_TAIL;
	kick_arm(e);
}

/* source_ended - level 1 ended (or could not start): on to the main
 * body, or to the last chunk. */
static void source_ended(struct embed_run *e)
{
	if (e->phase == EP_BEFORE) {
		e->phase = EP_MAIN;
		advance(e);
	} else if (e->phase == EP_INSERT) {
		e->phase = EP_MAIN;
	} else if (e->phase == EP_AFTER) {
		/* a slice run: the next slice, while the client wants more */
		if (!slice_more(e) || push(e, NULL))
			e->phase = EP_TAIL;
	}
	kick_arm(e); /* the main request, blocked behind it, goes on */
}

/* stub_begin - TEXT, the stub standing for level L's answer, is parsed
 * as that answer in L's kept subrequest (its SSI context, or a new one
 * with its location's settings). False (nothing done) without a kept
 * subrequest, for an empty stub, or out of memory. */
static bool stub_begin(struct embed_run *e, struct embed_lvl *L, struct lstr text)
{
	const struct cfg_loc *l = L->kept ? L->kept->req.loc : NULL;

	if (!l || !text.len)
		return false;
	if (L->ssi) {
		ssi_rebind(L->ssi, L->kept);
		ssi_parser_reset(L->ssi);
	} else {
		L->ssi = ssi_begin(L->kept, &e->c->pool, &l->ssi, e->ssi_shared);
		if (!L->ssi)
			return false;
		ssi_log_context(L->ssi, &e->action, L->up_text);
	}
	/* nginx runs the stub before it sets the status of a code's own
	 * page (a 404 of a missing file, `return 404`): $status says 000 */
	if (L->kept->req.code_page && !L->kept->req.status_first)
		L->kept->req.status = 0;
	L->stub_in = text;
	L->drop = false; /* what the stub gives goes in */
	return true;
}

/* level_end - the top level (a subrequest that closed, its SSI output
 * written) goes: its include's set= variable or stub to the level below,
 * which goes on. */
static void level_end(struct embed_run *e)
{
	struct embed_lvl *L = &e->lv[e->depth], *P = &e->lv[e->depth - 1];

	if (L->ins.uri.p && P->ssi && !L->stubbed) {
		if (L->ins.set) {
			ssi_set_value(P->ssi,
				      (struct lstr){L->set_buf ? L->set_buf : "", L->set_len});
		} else if (L->ins.stub >= 0 && (L->drop || !L->bytes) && !e->failed) {
			/* nginx writes the stub as the subrequest's answer: through
			 * SSI when the subrequest's location has it on, its
			 * commands in the subrequest's context */
			bool parse = L->loc_ssi && (L->drop || L->ssi);

			/* ... parsed as nginx's SSI filter takes it: for a code's
			 * page, the stub's own head; else when the subrequest's
			 * head was taken (not an empty answer's Content-Length: 0) */
			L->stubbed = true;
			if (parse && stub_begin(e, L, ssi_stub(P->ssi, L->ins.stub))) {
				kick_arm(e); /* the level stays until its stub is out */
				return;
			}
			if (parse)
				P->stub_in = ssi_stub(P->ssi, L->ins.stub);
			else
				P->outq = ssi_stub(P->ssi, L->ins.stub);
		}
	}
	if (L->kept) {
		http_sub_release(L->kept);
		L->kept = NULL;
	}
	e->depth--;
	if (!e->depth)
		source_ended(e);
	else
		kick_arm(e);
}

static struct lstr cstr(const char *s)
{
	return (struct lstr){s, strlen(s)};
}

/* sub_start - the subrequest of the phase, to URI. A subrequest that could
 * not be made ends the run's output (nginx would fail the request). */
static void sub_start(struct embed_run *e, struct lstr uri, struct lstr args)
{
	struct conn *c = e->c, *sc = http_sub_new(c);

	if (!sc || authreq_sub_init(sc, c)) {
		if (sc)
			conn_close(sc);
		e->failed = true;
		top(e)->closed = true;
		level_end(e);
		return;
	}
	/* nginx's subrequest asks with GET, for the body */
	sc->req.method = (struct lstr){"GET", 3};
	sc->req.head = false;
	sc->req.emb = e;
	if (e->slice) {
		/* its own $slice_range (so its own cache key) */
		sc->req.slice_start = e->sl.want;
		sc->req.slice_set = true;
	}
	top(e)->c = sc;
	e->action = NULL; /* nginx: a subrequest starts without one */
	/* it may end right here (a `return`, a small file): embed_sub_closed */
	http_internal_redirect(sc, uri, args);
}

static void kick(struct ev_loop *loop, struct ev_timer *t)
{
	struct embed_run *e = t->data;
	struct conn *c = e->c;

	(void)loop;
	if (e->aborting)
		return;
	if (e->start) {
		e->start = false;
		if (top(e)->ins.uri.p) {
			sub_start(e, top(e)->ins.uri, top(e)->ins.args);
		} else if (e->slice) {
			/* nginx: the main request's URI and arguments again */
			e->sl.want = e->sl.next;
			e->sl.next = e->sl.want + e->sl.size;
			e->sl.pos = e->sl.want;
			sub_start(e, c->req.u.uri, c->req.u.args);
		} else {
			sub_start(e, cstr(e->phase == EP_BEFORE ? e->before : e->after), cstr(""));
		}
		return;
	}
	if (e->phase == EP_TAIL) {
		int rc = pend_flush(e);

		if (rc < 0)
			e->failed = true;
		if (rc == 0)
			return; /* embed_writable kicks again */
		if (!e->failed && e->gz.ctx) {
			if (gz_put(e, NULL, 0, true))
				e->failed = true;
			c->req.gz.in = e->gz.in; /* $gzip_ratio */
			c->req.gz.out = e->gz.out;
		}
		if (!e->failed && e->chunk_out && emit_any(e, "0\r\n\r\n", 5, false))
			e->failed = true;
		e->phase = EP_DONE;
	}
	if (e->phase == EP_DONE) {
		if (e->pend_len && !e->failed) {
			int rc = pend_flush(e);

			if (rc < 0)
				e->failed = true;
			else if (rc == 0)
				return;
		}
		if (e->waiting) {
			/* the main request goes on from its own timer */
			e->waiting = false;
			ev_timer_start(&c->w->loop, &c->timer, 0);
		}
		return;
	}
	if (busy(top(e)) && (e->depth || e->phase == EP_MAIN)) {
		int rc = e->pend_len ? 0 : pump(e, e->depth);

		if (rc < 0) {
			/* the client is gone (or set= overflowed): the writers
			 * learn it on their next write */
			struct embed_lvl *L = top(e);

			e->failed = true;
			L->hold_len = L->outq.len = L->stub_in.len = 0;
		} else if (rc == 0) {
			return;
		}
	}
	if (e->depth && top(e)->closed) {
		level_end(e);
		return;
	}
	if (!e->depth && e->phase == EP_MAIN && e->main_done) {
		advance(e);
		return;
	}
	if (e->pend_len)
		return; /* the socket's readiness wakes them (embed_writable) */
	if (top(e)->blocked && top_sub(e)) {
		struct conn *sc = top_sub(e);

		top(e)->blocked = false;
		if (e->main_blocked)
			kick_arm(e);
		sc->writable = true;
		http_conn_run(sc);
		return;
	}
	if (e->main_blocked && e->phase == EP_MAIN && !e->main_done) {
		e->main_blocked = false;
		c->writable = true;
		http_conn_run(c);
	}
}

void embed_writable(struct conn *c)
{
	struct embed_run *e = c->req.emb;

	if (e->pend_len && pend_flush(e) < 0) {
		e->failed = true;
		if (e->waiting)
			kick_arm(e);
	}
}

bool embed_sub_closed(struct conn *sc)
{
	struct embed_run *e = sc->req.emb;
	struct embed_lvl *L;
	int k;

	if (!e || e->aborting || (k = level_of(e, sc)) <= 0)
		return false;
	L = &e->lv[k];
	L->c = NULL;
	L->closed = true;
	L->loc_ssi = sc->req.loc && sc->req.loc->ssi.on == 1;
	L->blocked = false;
	/* cut off in its body: the answer cannot be whole */
	if (!sc->req.completed || (L->src.chunked && !L->src.body_done && L->src.eoh == 4))
		e->failed = true;
	/* a stub that may stand for its answer is parsed in its request */
	if (L->ins.uri.p && L->ins.stub >= 0 && L->loc_ssi && !e->failed)
		L->kept = sc;
	if (L->ssi) {
		/* its SSI output may outlive it: nothing of its memory stays
		 * (but that of a kept one) */
		ssi_rebind(L->ssi, L->kept ? sc : e->c);
		if (L->outq.len) {
			char *d = pool_alloc(&e->c->pool, L->outq.len);

			if (d)
				memcpy(d, L->outq.p, L->outq.len);
			L->outq = d ? (struct lstr){d, L->outq.len} : (struct lstr){"", 0};
		}
	}
	/* a kept one is freed from the kick (level_end), not under its close */
	if (k == e->depth && !busy(L) && !L->kept)
		level_end(e);
	else
		kick_arm(e);
	return L->kept != NULL;
}

/* counts - $bytes_sent and $body_bytes_sent of C's assembled answer as
 * nginx counts them: what the socket took, the chunk framing included
 * (the producers counted their own bytes, before SSI, gzip, framing). */
static void counts(struct conn *c, const struct embed_run *e)
{
	c->req.bytes_sent = e->sent;
	c->req.body_bytes_sent = e->sent > e->head_len ? e->sent - e->head_len : 0;
}

bool embed_wait(struct conn *c)
{
	struct embed_run *e = c->req.emb;

	if (c->req.send_failed || (e->phase == EP_DONE && !e->pend_len && !e->waiting)) {
		if (e->failed || c->req.send_failed)
			c->close_after = true;
		counts(c, e);
		return false;
	}
	e->main_done = true;
	advance(e);
	e->waiting = true;
	c->state = CS_EMBED;
	ev_timer_start(&c->w->loop, &c->timer, c->req.loc ? c->req.loc->send_timeout : 60000);
	kick_arm(e);
	return true;
}

void embed_timer(struct conn *c)
{
	struct embed_run *e = c->req.emb;

	if (e && e->phase == EP_DONE && !e->waiting && (!e->pend_len || e->failed)) {
		c->state = CS_WRITE;
		if (e->failed)
			c->close_after = true;
		counts(c, e);
		http_response_done(c);
		return;
	}
	/* send_timeout while the subrequest's bytes wait for the client */
	http_log(c, NULL, LOG_INFO, "client timed out (110: Connection timed out)");
	c->close_after = true;
	conn_close(c);
}

void embed_req_end(struct conn *c)
{
	struct embed_run *e = c->req.emb;
	struct conn *sc;

	if (!e)
		return;
	c->req.emb = NULL;
	if (c->sr_parent)
		return;
	e->aborting = true;
	ev_timer_stop(&c->w->loop, &e->kick);
	gzip_gr_end(&e->gz);
	for (int k = e->depth; k > 0; k--) {
		sc = e->lv[k].c;
		if (sc) {
			e->lv[k].c = NULL;
			conn_close(sc);
		}
		if (e->lv[k].kept) {
			http_sub_release(e->lv[k].kept);
			e->lv[k].kept = NULL;
		}
	}
}

/* ---- nginx's slice module ---------------------------------------------------------- */

/* slice_check - nginx's checks of a slice's answer head H[0..N) on C:
 * its Content-Range is bytes [WANT, min(WANT + SIZE, total)) of a known
 * total (*TOTAL). 0, or -1 (logged). */
static int slice_check(struct conn *c, const char *h, size_t n, int64_t want, int64_t size,
		       int64_t *total)
{
	struct lstr v = {NULL, 0};
	int64_t s = 0, end = 0;
	enum slice_cr cr;

	head_find(h, n, "content-range", &v);
	cr = slice_content_range(v, &s, &end, total);
	if (cr == SLICE_CR_INVALID) {
		http_log(c, NULL, LOG_ERR, "invalid range in slice response");
		return -1;
	}
	if (cr == SLICE_CR_NO_TOTAL) {
		http_log(c, NULL, LOG_ERR, "no complete length in slice response");
		return -1;
	}
	if (s != want || end != LBD_MIN(want + size, *total)) {
		http_log(c, NULL, LOG_ERR, "unexpected range in slice response: %lld-%lld",
			 (long long)s, (long long)end);
		return -1;
	}
	return 0;
}

/* slice_sub_head - the head H[0..N) of slice subrequest C (level L of
 * run E): a 206 of the slice asked for, with the first slice's ETag;
 * otherwise logged, its body dropped and the answer cut off there (the
 * connection closes, as nginx's does). */
static void slice_sub_head(struct embed_run *e, struct embed_lvl *L, struct conn *c, const char *h,
			   size_t n)
{
	struct lstr v = {NULL, 0};
	int64_t total;
	bool has = head_find(h, n, "etag", &v);

	if (c->req.status != 206) {
		http_log(c, NULL, LOG_ERR, "unexpected status code %d in slice response",
			 c->req.status);
	} else if (e->sl.etag.p &&
		   (!has || v.len != e->sl.etag.len || memcmp(v.p, e->sl.etag.p, v.len) != 0)) {
		http_log(c, NULL, LOG_ERR, "etag mismatch in slice response");
	} else if (!slice_check(c, h, n, e->sl.want, e->sl.size, &total)) {
		return;
	}
	L->drop = true;
	e->failed = true;
}

/* slice_gzip - nginx's gzip header filter on the whole entity's 200 of
 * a slice run, head H[0..*N) being rewritten (room for 128 more bytes,
 * its Content-Length and Accept-Ranges not written yet): when compressed,
 * the ETag made weak, Content-Encoding and Transfer-Encoding added (and
 * Vary when due), the compressor in *GZ. 1 compressed, 0 not, -ENOMEM. */
static int slice_gzip(struct conn *c, char *h, size_t *n, struct gzip_resp *resp,
		      struct gzip_req *gz)
{
	const struct cfg_loc *l = c->req.loc;
	struct lstr v;
	bool te = false;
	int rc;

	if (!l->gzip.enable)
		return 0;
	head_find(h, *n, "content-type", &resp->content_type);
	resp->has_expires = head_find(h, *n, "expires", &resp->expires);
	resp->has_cache_control = head_find(h, *n, "cache-control", &resp->cache_control);
	resp->last_modified = head_find(h, *n, "last-modified", &v);
	resp->etag = head_find(h, *n, "etag", &v);
	rc = gzip_embed_begin(c, resp, gz);
	if (rc > 0 &&
	    embed_head_edit(h, n, *n + 128 - 28 - 47,
			    !c->req.head && c->req.version >= 11 && l->chunked_transfer_encoding,
			    &te))
		rc = -ENOMEM;
	if (rc < 0) {
		gzip_gr_end(gz);
		return rc;
	}
	if (rc) {
		memcpy(h + *n, "Content-Encoding: gzip\r\n", 24);
		*n += 24;
	}
	if (c->req.gz.vary && l->gzip.vary == 1) {
		memcpy(h + *n, "Vary: Accept-Encoding\r\n", 23);
		*n += 23;
	}
	return rc;
}

/* slice_main_head - nginx's slice header filter on main request C whose
 * $slice_range was used: the upstream's 206 for the first slice becomes
 * the client's answer (a 200 of the entity's length, or the client's one
 * range as a 206) and the run that appends the following slices starts;
 * any other status goes on as it is. 0, -ENOMEM, or -EPROTO (not the
 * slice asked for: logged; the connection closes as nginx's does). */
static int slice_main_head(struct conn *c)
{
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	char *h = c->out.data + r->head_at, *tmp;
	size_t n = c->out.end - r->head_at, cap, first;
	struct lstr etag = {NULL, 0}, ct = {NULL, 0}, v, page = {NULL, 0};
	struct range_set *rs = NULL;
	struct embed_run *e;
	int64_t total = 0, from, to;
	bool chunked = false, chunk = false;
	struct gzip_req gz = {0};
	int k, gzr = 0;

	if (r->status != 206 || !l || l->slice <= 0)
		return 0;
	if (slice_check(c, h, n, r->slice_start, l->slice, &total))
		return -EPROTO;
	if (head_find(h, n, "etag", &v)) {
		/* kept: the head is rewritten below */
		char *d = pool_alloc(&c->pool, v.len + 1);

		if (!d)
			return -ENOMEM;
		memcpy(d, v.p, v.len);
		etag = (struct lstr){d, v.len};
	}
	head_find(h, n, "content-type", &ct);
	if (head_find(h, n, "transfer-encoding", &v))
		chunked = h1_te_is_chunked((struct h1_str){v.p, v.len});
	int64_t lm = head_find(h, n, "last-modified", &v) ? h1_http_time(v.p, v.len) : -1;
	/* nginx's range filter on the whole entity, one range at most */
	enum range_rc rr = range_start(c, total, etag, lm, ct, true, &rs);

	if (rr == RANGE_UNSATISFIABLE) {
		/* nginx's 416 page instead of the body (no validators) */
		page.p = pool_alloc(&c->pool, 512);
		if (!page.p)
			return -ENOMEM;
		page.len = (size_t)snprintf(
			(char *)page.p, 512,
			"<html>\r\n<head><title>416 Requested Range Not Satisfiable</title></head>\r\n"
			"<body>\r\n<center><h1>416 Requested Range Not Satisfiable</h1></center>\r\n"
			"<hr><center>%s</center>\r\n</body>\r\n</html>\r\n",
			l->server_tokens ? LBD_NAME "/" LBD_VERSION : LBD_NAME);
		rs = NULL;
	}
	from = rs ? rs->v[0].start : 0;
	to = page.len ? 0 : rs ? rs->v[0].end : total;
	cap = n + 160 + 128;
	tmp = pool_alloc(&c->pool, cap);
	if (!tmp)
		return -ENOMEM;
	first = next_line(h, h + n);
	k = snprintf(tmp, cap, "HTTP/1.1 %s\r\n",
		     page.len ? "416 Requested Range Not Satisfiable"
		     : rs     ? "206 Partial Content"
			      : "200 OK");
	memcpy(tmp + k, h + first, n - first);
	n = (size_t)k + n - first;
	head_drop(tmp, &n, "content-length");
	head_drop(tmp, &n, "content-range");
	head_drop(tmp, &n, "accept-ranges");
	head_drop(tmp, &n, "transfer-encoding");
	if (!page.len && !rs) {
		/* nginx's gzip filter sees the whole entity's 200 (its length
		 * known: gzip_min_length applies) */
		struct gzip_resp resp = {.status = 200, .length = total};

		gzr = slice_gzip(c, tmp, &n, &resp, &gz);
		if (gzr < 0)
			return gzr;
		chunk = gzr && !r->head && r->version >= 11 && l->chunked_transfer_encoding;
	}
	if (page.len) {
		head_drop(tmp, &n, "content-type");
		head_drop(tmp, &n, "etag");
		head_drop(tmp, &n, "last-modified");
		k = snprintf(tmp + n, cap - n,
			     "Content-Type: text/html\r\nContent-Length: %zu\r\n"
			     "Content-Range: bytes */%lld\r\n",
			     page.len, (long long)total);
	} else if (rs)
		k = snprintf(tmp + n, cap - n,
			     "Content-Length: %lld\r\nContent-Range: bytes %lld-%lld/%lld\r\n",
			     (long long)(to - from), (long long)from, (long long)(to - 1),
			     (long long)total);
	else if (!gzr)
		k = snprintf(tmp + n, cap - n, "Content-Length: %lld\r\n%s", (long long)total,
			     rr == RANGE_OFF ? "" : "Accept-Ranges: bytes\r\n"); /* max_ranges 0 */
	else
		k = 0; /* compressed: no length, no ranges */
	n += (size_t)k;
	c->out.end = r->head_at;
	if (http_out_append(c, tmp, n))
		return -ENOMEM;
	r->status = page.len ? 416 : rs ? 206 : 200;
	if (r->head)
		return 0; /* the head only: no slices */
	if (gzr && !chunk)
		c->close_after = true; /* the end of the answer is the close */
	e = pool_zalloc(&c->pool, sizeof(*e));
	if (!e) {
		gzip_gr_end(&gz);
		return -ENOMEM;
	}
	e->c = c;
	e->gz = gz; /* given back by embed_req_end */
	e->chunk_out = chunk;
	e->before = e->after = "";
	e->lv = e->lv0;
	e->cap = 2;
	e->pend = e->pbuf;
	e->pend_cap = sizeof(e->pbuf);
	e->lv[0].c = c;
	e->lv[0].ins.stub = -1;
	e->lv[0].src.chunked = chunked;
	e->slice = true;
	e->sl.size = l->slice;
	e->sl.total = total;
	e->sl.pos = r->slice_start;
	e->sl.next = LBD_MIN(r->slice_start + l->slice, total);
	/* a range the first slice did not hold (a suffix): on from its slice */
	if (e->sl.next + l->slice <= from)
		e->sl.next = l->slice * (from / l->slice);
	e->sl.end = to;
	e->sl.from = from;
	e->sl.to = to;
	e->sl.etag = etag;
	e->sl.page = page;
	ev_timer_init(&e->kick, kick, e);
	e->phase = EP_MAIN;
	r->emb = e;
	return 0;
}

/* head_gzip - nginx's gzip header filter on the edited head H[0..*N)
 * (room for 64 more bytes) of main request C's assembled answer: when it
 * is compressed, Content-Encoding (and Vary when due) added and the
 * compressor in *GZ (none for a HEAD). 0, or -ENOMEM. */
static int head_gzip(struct conn *c, char *h, size_t *n, struct gzip_req *gz)
{
	const struct cfg_loc *l = c->req.loc;
	struct gzip_resp resp = {.status = c->req.status, .length = -1};
	struct lstr v;
	int rc;

	if (!l->gzip.enable)
		return 0;
	head_find(h, *n, "content-type", &resp.content_type);
	resp.has_expires = head_find(h, *n, "expires", &resp.expires);
	resp.has_cache_control = head_find(h, *n, "cache-control", &resp.cache_control);
	resp.last_modified = head_find(h, *n, "last-modified", &v);
	resp.etag = head_find(h, *n, "etag", &v);
	rc = gzip_embed_begin(c, &resp, gz);
	if (rc < 0)
		return rc;
	if (rc) {
		memcpy(h + *n, "Content-Encoding: gzip\r\n", 24);
		*n += 24;
	}
	if (c->req.gz.vary && l->gzip.vary == 1) {
		memcpy(h + *n, "Vary: Accept-Encoding\r\n", 23);
		*n += 23;
	}
	return 0;
}

/* src_logctx - source C (level L) begins its answer: nginx's log action
 * of the connection as its handler sets it, and its upstream for L's
 * log lines. */
static void src_logctx(struct embed_run *e, struct embed_lvl *L, struct conn *c)
{
	char buf[1024];

	if (proxy_log_upstream(c, buf, sizeof(buf))) {
		e->action = "sending to client";
		L->up_text = pool_strdup(&e->c->pool, buf);
	} else if (c->req.static_file) {
		e->action = "sending response to client";
	}
}

/* ---- nginx's addition module ------------------------------------------------------- */

int embed_head(struct conn *c)
{
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	char *h = c->out.data + r->head_at;
	size_t n = c->out.end - r->head_at, cap;
	struct lstr ct = {NULL, 0}, v;
	struct embed_run *e;
	bool chunked = false, chunk, add, ssi;
	struct gzip_req gz = {0};
	char *tmp;
	int gzr;

	if (c->sr_parent) {
		struct embed_lvl *L;
		int k;

		e = r->emb;
		if (!e || (k = level_of(e, c)) <= 0)
			return 0;
		/* a source of the run: how its body is framed */
		L = &e->lv[k];
		src_logctx(e, L, c);
		if (head_find(h, n, "transfer-encoding", &v))
			L->src.chunked = h1_te_is_chunked((struct h1_str){v.p, v.len});
		if (e->slice) {
			slice_sub_head(e, L, c, h, n);
			return 0;
		}
		/* an include with a stub: a code's own page is not used (nginx
		 * writes the stub before it makes the page); an answer with a
		 * body of its own is, whatever its status */
		if (L->ins.uri.p && L->ins.stub >= 0 && r->code_page)
			L->drop = true;
		/* its own SSI, as nginx's filter runs on a subrequest too */
		if (!L->drop && l && l->ssi.on == 1 && head_find(h, n, "content-type", &ct) &&
		    ssi_types_ok(&l->ssi, ct) &&
		    !(head_find(h, n, "content-length", &v) && v.len == 1 && v.p[0] == '0') &&
		    !(head_find(h, n, "content-encoding", &v) && v.len)) {
			L->ssi = ssi_begin(c, &e->c->pool, &l->ssi, e->ssi_shared);
			L->hold = pool_alloc(&e->c->pool, EMBED_PIECE);
			if (!L->ssi || !L->hold)
				return -ENOMEM;
			ssi_log_context(L->ssi, &e->action, L->up_text);
			if (!e->ssi_shared)
				e->ssi_shared = L->ssi;
		}
		return 0;
	}
	if (!r->emb && l && r->slice_set && l->slice > 0)
		return slice_main_head(c);
	if (r->emb || !l || (!l->add.on && l->ssi.on != 1))
		return 0;
	if (!head_find(h, n, "content-type", &ct))
		return 0;
	add = l->add.on && r->status == 200 &&
	      gzip_types_match(l->add.types_any, l->add.types, l->add.ntypes, ct);
	ssi = l->ssi.on == 1 &&
	      ssi_applies(c, r->status, ct,
			  head_find(h, n, "content-length", &v) && v.len == 1 && v.p[0] == '0'
				  ? 0
				  : -1);
	if (!add && !ssi)
		return 0;
	/* compressed bytes (gzip_static, an upstream's): nothing to add to
	 * nor to parse (lbd; nginx would add plain bytes to them) */
	if (head_find(h, n, "content-encoding", &v) && v.len)
		return 0;
	chunk = !r->head && r->version >= 11 && l->chunked_transfer_encoding;
	cap = n + 128 + 512;
	tmp = pool_alloc(&c->pool, cap);
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, h, n);
	if (ssi && l->ssi.last_modified != 1) {
		/* nginx's SSI: no validators (ssi_last_modified off) */
		head_drop(tmp, &n, "last-modified");
		head_drop(tmp, &n, "etag");
	}
	if (embed_head_edit(tmp, &n, cap, chunk, &chunked))
		return -ENOMEM;
	/* nginx's gzip filter comes after SSI and addition: the assembled
	 * answer, of no known length, compressed as any other */
	gzr = head_gzip(c, tmp, &n, &gz);
	if (gzr < 0)
		return gzr;
	c->out.end = r->head_at;
	if (http_out_append(c, tmp, n))
		return -ENOMEM;
	if (r->head)
		return 0; /* the head only: nothing to add */
	if (!chunk)
		c->close_after = true; /* the end of the answer is the close */
	e = pool_zalloc(&c->pool, sizeof(*e));
	if (!e) {
		gzip_gr_end(&gz);
		return -ENOMEM;
	}
	e->c = c;
	e->gz = gz; /* given back by embed_req_end */
	ev_timer_init(&e->kick, kick, e);
	r->emb = e;
	e->before = add ? l->add.before : "";
	e->after = add ? l->add.after : "";
	e->lv = e->lv0;
	e->cap = 2;
	e->pend = e->pbuf;
	e->pend_cap = sizeof(e->pbuf);
	e->lv[0].c = c;
	e->lv[0].ins.stub = -1;
	src_logctx(e, &e->lv[0], c);
	if (ssi) {
		e->lv[0].ssi = e->ssi_shared = ssi_begin(c, &c->pool, &l->ssi, NULL);
		e->lv[0].hold = pool_alloc(&c->pool, EMBED_PIECE);
		if (!e->lv[0].ssi || !e->lv[0].hold)
			return -ENOMEM;
		ssi_log_context(e->lv[0].ssi, &e->action, e->lv[0].up_text);
	}
	e->chunk_out = chunk;
	e->lv[0].src.chunked = chunked;
	e->phase = EP_MAIN;
	if (e->before[0] && !push(e, NULL))
		e->phase = EP_BEFORE;
	return 0;
}

bool embed_applies(const struct conn *c, int status, struct lstr ct)
{
	const struct cfg_loc *l = c->req.loc;

	if (c->sr_parent)
		return c->req.emb != NULL;
	if (l && l->ssi.on == 1 && ssi_applies(c, status, ct, -1))
		return true;
	return l && l->add.on && status == 200 && ct.p &&
	       gzip_types_match(l->add.types_any, l->add.types, l->add.ntypes, ct);
}
