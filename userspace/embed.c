/* SPDX-License-Identifier: MIT */
/*
 * Subrequest answers put into the main request's answer (see embed.h):
 * the run of one main request (its phases, the sources in turn, the
 * bytes the socket did not take), the decoding of each source's HTTP/1.1
 * output, and nginx's addition module on it (which answers, the head
 * edits, the two subrequests).
 *
 * Phases, in order; a phase whose URI is "" is skipped:
 *   BEFORE  the add_before_body subrequest writes; the main body waits
 *   MAIN    the main request's body flows
 *   AFTER   the main answer is done; the add_after_body subrequest writes
 *   TAIL    the last chunk is written
 *   DONE    all written: the main request goes on (log, keep-alive)
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
#include "worker.h"

enum embed_phase {
	EP_BEFORE = 0,
	EP_MAIN,
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

/* struct embed_run - one main request's run (its pool). */
struct embed_run {
	struct conn *c;		     /* the main request's connection */
	struct conn *sub;	     /* the subrequest running, NULL between them */
	const char *before;	     /* add_before_body URI, "" none */
	const char *after;	     /* add_after_body URI, "" none */
	enum embed_phase phase;	     /* see above */
	struct embed_src msrc;	     /* the main request's output */
	struct embed_src ssrc;	     /* the running subrequest's */
	struct ev_timer kick;	     /* wakes writers and starts subrequests, from the loop */
	bool chunk_out;		     /* the assembled body goes in chunks (else until close) */
	bool start;		     /* the kick starts the phase's subrequest */
	bool main_blocked;	     /* the main request was refused a write */
	bool sub_blocked;	     /* the subrequest was refused a write */
	bool main_done;		     /* the main answer is done (http_response_done) */
	bool waiting;		     /* the main request waits in CS_EMBED */
	bool failed;		     /* a source broke off: no last chunk, the connection closes */
	bool aborting;		     /* the main request ends: no more wake-ups */
	size_t pend_off;	     /* pend[pend_off, pend_off + pend_len) is unsent */
	size_t pend_len;	     /* ... bytes */
	char pend[EMBED_PIECE + 32]; /* one chunk (or head piece) the socket did not take */
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
		if (!e->pend_len && (e->sub_blocked || e->main_blocked || e->phase >= EP_TAIL))
			kick_arm(e); /* a writer refused meanwhile may go on */
	}
	e->pend_off = 0;
	return 1;
}

/* emit - P[0..N) (N <= EMBED_PIECE; nothing pending) to the client, as a
 * chunk when FRAMED and the output is chunked. Always taken: what the
 * socket does not take now is kept in pend. 0, or -1 (errno). */
static int emit(struct embed_run *e, const char *p, size_t n, bool framed)
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
static bool turn(const struct embed_run *e, const struct conn *c)
{
	return c == e->c ? e->phase == EP_MAIN : e->sub == c;
}

ssize_t embed_writev(struct conn *c, const struct iovec *iov, int n)
{
	struct embed_run *e = c->req.emb;
	bool main = !c->sr_parent;
	struct embed_src *s = main ? &e->msrc : &e->ssrc;
	size_t taken = 0;
	int rc;

	for (int i = 0; i < n; i++) {
		const char *p = iov[i].iov_base;
		size_t len = iov[i].iov_len, k = 0;

		while (k < len) {
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
				}
				taken += j - k;
				k = j;
				continue;
			}
			if (s->body_done) {
				taken += len - k; /* after the last chunk: nothing */
				break;
			}
			if (!turn(e, c))
				goto refuse;
			rc = pend_flush(e);
			if (rc < 0)
				goto fail;
			if (!rc)
				goto refuse;
			size_t m = LBD_MIN(len - k, (size_t)EMBED_PIECE);

			if (!s->chunked) {
				if (emit(e, p + k, m, true))
					goto fail;
				if (!main) {
					e->c->req.body_bytes_sent += m;
					e->c->req.bytes_sent += m;
				}
				taken += m;
				k += m;
				continue;
			}
			size_t used = 0;
			struct h1_str d;
			int prc = h1_parse_chunked(&s->ch, p + k, m, &used, &d);

			if (prc == H1_CHUNK_DATA) {
				if (emit(e, d.p, d.len, true))
					goto fail;
				if (!main) {
					e->c->req.body_bytes_sent += d.len;
					e->c->req.bytes_sent += d.len;
				}
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
		e->sub_blocked = true;
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
	if (e->phase != EP_MAIN || !e->main_done)
		return;
	if (e->after[0]) {
		e->phase = EP_AFTER;
		e->start = true;
	} else {
		e->phase = EP_TAIL;
	}
	kick_arm(e);
}

/* source_ended - the phase's subrequest ended (or could not start): on to
 * the main body, or to the last chunk. */
static void source_ended(struct embed_run *e)
{
	if (e->phase == EP_BEFORE) {
		e->phase = EP_MAIN;
		advance(e);
	} else if (e->phase == EP_AFTER) {
		e->phase = EP_TAIL;
	}
	kick_arm(e); /* the main request, blocked behind it, goes on */
}

/* sub_start - the subrequest of the phase, to URI. A subrequest that could
 * not be made ends the run's output (nginx would fail the request). */
static void sub_start(struct embed_run *e, const char *uri)
{
	struct conn *c = e->c, *sc = http_sub_new(c);

	if (!sc || authreq_sub_init(sc, c)) {
		if (sc)
			conn_close(sc);
		e->failed = true;
		source_ended(e);
		return;
	}
	/* nginx's subrequest asks with GET, for the body */
	sc->req.method = (struct lstr){"GET", 3};
	sc->req.head = false;
	sc->req.emb = e;
	memset(&e->ssrc, 0, sizeof(e->ssrc));
	e->sub = sc;
	e->sub_blocked = false;
	/* it may end right here (a `return`, a small file): embed_sub_closed */
	http_internal_redirect(sc, (struct lstr){uri, strlen(uri)}, (struct lstr){"", 0});
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
		sub_start(e, e->phase == EP_BEFORE ? e->before : e->after);
		return;
	}
	if (e->phase == EP_TAIL) {
		int rc = pend_flush(e);

		if (rc < 0)
			e->failed = true;
		if (rc == 0)
			return; /* embed_writable kicks again */
		if (!e->failed && e->chunk_out && emit(e, "0\r\n\r\n", 5, false))
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
	if (e->pend_len)
		return; /* the socket's readiness wakes them (embed_writable) */
	if (e->sub_blocked && e->sub) {
		struct conn *sc = e->sub;

		e->sub_blocked = false;
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

void embed_sub_closed(struct conn *sc)
{
	struct embed_run *e = sc->req.emb;

	if (!e || e->sub != sc || e->aborting)
		return;
	e->sub = NULL;
	e->sub_blocked = false;
	/* cut off in its body: the answer cannot be whole */
	if (!sc->req.completed || (e->ssrc.chunked && !e->ssrc.body_done && e->ssrc.eoh == 4))
		e->failed = true;
	source_ended(e);
}

bool embed_wait(struct conn *c)
{
	struct embed_run *e = c->req.emb;

	if (c->req.send_failed || (e->phase == EP_DONE && !e->pend_len && !e->waiting)) {
		if (e->failed || c->req.send_failed)
			c->close_after = true;
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
	sc = e->sub;
	if (sc) {
		e->sub = NULL;
		conn_close(sc);
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
	bool chunked = false, chunk;
	char *tmp;

	if (c->sr_parent) {
		/* a source of the run: how its body is framed */
		e = r->emb;
		if (e && e->sub == c && head_find(h, n, "transfer-encoding", &v))
			e->ssrc.chunked = h1_te_is_chunked((struct h1_str){v.p, v.len});
		return 0;
	}
	if (r->emb || !l || !l->add.on || r->status != 200)
		return 0;
	if (!head_find(h, n, "content-type", &ct) ||
	    !gzip_types_match(l->add.types_any, l->add.types, l->add.ntypes, ct))
		return 0;
	/* compressed bytes (gzip_static, an upstream's): nothing to add to
	 * (lbd; nginx would add plain bytes to them) */
	if (head_find(h, n, "content-encoding", &v) && v.len)
		return 0;
	chunk = !r->head && r->version >= 11 && l->chunked_transfer_encoding;
	cap = n + 64 + 512;
	tmp = pool_alloc(&c->pool, cap);
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, h, n);
	if (embed_head_edit(tmp, &n, cap, chunk, &chunked))
		return -ENOMEM;
	c->out.end = r->head_at;
	if (http_out_append(c, tmp, n))
		return -ENOMEM;
	if (r->head)
		return 0; /* the head only: nothing to add */
	if (!chunk)
		c->close_after = true; /* the end of the answer is the close */
	e = pool_zalloc(&c->pool, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->c = c;
	e->before = l->add.before;
	e->after = l->add.after;
	e->chunk_out = chunk;
	e->msrc.chunked = chunked;
	ev_timer_init(&e->kick, kick, e);
	if (e->before[0]) {
		e->phase = EP_BEFORE;
		e->start = true;
		kick_arm(e);
	} else {
		e->phase = EP_MAIN;
	}
	r->emb = e;
	return 0;
}

bool embed_applies(const struct conn *c, int status, struct lstr ct)
{
	const struct cfg_loc *l = c->req.loc;

	if (c->sr_parent)
		return c->req.emb != NULL;
	return l && l->add.on && status == 200 && ct.p &&
	       gzip_types_match(l->add.types_any, l->add.types, l->add.ntypes, ct);
}
