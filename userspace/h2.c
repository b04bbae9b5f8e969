/* SPDX-License-Identifier: MIT */
/*
 * HTTP/2 glue: an nghttp2 server session per client connection, each
 * stream's request mapped straight into its request connection's struct
 * http_req (map_request(): what the HTTP/1 parser would have made of it as
 * HTTP/1.1 text, limits and checks included), its body fed to that
 * connection's reads, and the HTTP/1.1 response the connection writes
 * split into HEADERS and DATA (see h2.h for the model). Owns the session,
 * the per-stream buffers, and the connection-level defences: header list
 * and header block limits (HPACK bomb, CONTINUATION flood), RST_STREAM,
 * SETTINGS and PING budgets (rapid reset, control floods), the idle, header
 * and send timeouts.
 *
 * nghttp2 callbacks never run request code: they queue the stream on
 * h->runq, which h2_conn_run() drains after nghttp2_session_mem_recv()
 * returns. Frames are produced with nghttp2_session_mem_send() into h->out
 * and written in batches; a send is scheduled with ev_defer() so that the
 * writes of many streams in one event round go out together. DATA payloads
 * are not copied by nghttp2: send_data() appends them to h->out from the
 * stream's buffer. nghttp2's own small allocations come from h2mem.c's
 * per-thread free lists.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "buf.h"
#include "cfg.h"
#include "h2.h"
#include "mirror.h"
#include "h2mem.h"
#include "http.h"
#include "log.h"
#include "sockaddr.h"
#include "stats.h"
#include "worker.h"

#define H2_TX_MAX	 (64 * 1024) /* response body bytes buffered per stream, at most */
#define H2_TX_MIN	 (16 * 1024) /* and when the client's windows are shut */
#define H2_OUT_BATCH	 (64 * 1024) /* frames gathered before one write */
#define H2_CONN_WINDOW	 (1 << 20)   /* connection receive window (bytes) */
#define H2_READ_CHUNK	 16384	     /* bytes read from the socket at a time */
#define H2_READS_PER_RUN 32	     /* reads per event before yielding to others */
#define H2_RST_BUDGET	 200	     /* RST_STREAM frames a client may send per second */
#define H2_CTRL_BUDGET	 1000	     /* SETTINGS, PING, PRIORITY, empty DATA per second */
#define H2_MAX_CONT	 64	     /* CONTINUATION frames in one header block */
#define H2_HEAD_MAX	 (64 * 1024) /* response head from the request code */
#define H2_SPARE_STREAMS 16	     /* freed streams a connection keeps for reuse */
#define H2_SPARE_BUF	 (16 * 1024) /* a buffer bigger than this is not kept */
#define H2_SEND_ROUNDS	 16	     /* send/wake rounds per flush */
#define H2_BUF_FIRST	 256	     /* first size of a stream's buffer (most hold a few fields) */

/* struct h2_stream - one stream: the request's connection and the bytes
 * between it and the session. Freed when nghttp2 closed the stream and
 * the request connection is gone, whichever comes last. */
struct h2_stream {
	struct h2_conn *h;	       /* owning session */
	struct conn *c;		       /* the request connection, NULL once closed */
	int32_t id;		       /* stream id */
	struct buf rx;		       /* request body bytes (chunked when no content-length)
					* not yet read by c */
	size_t rx_data;		       /* DATA payload in rx not yet given back to the windows */
	struct buf hdrs;	       /* regular fields: {u32 name len, u32 value len, name,
					* value} each; c->req's views point here */
	struct buf cookie;	       /* cookie crumbs joined with "; " (a view too) */
	struct buf pseudo;	       /* :method, :path, :authority values, NUL separated,
					* then the request line (views) */
	size_t m_off, p_off, a_off;    /* offsets+1 of those in pseudo (0: absent) */
	size_t hdr_bytes;	       /* header list size so far (RFC 9113 counting) */
	bool has_host;		       /* a host header was sent */
	bool has_cl;		       /* a content-length header was sent */
	bool rx_chunked;	       /* the body is framed as chunks in rx */
	bool rx_eof;		       /* END_STREAM received */
	bool started;		       /* the request head is built */
	bool pending_start;	       /* its request connection is yet to be made */
	bool closed;		       /* nghttp2 closed the stream */
	bool head_sent;		       /* response HEADERS submitted */
	bool no_body;		       /* the response has no body (HEAD, 204, 304,
					* Content-Length: 0) */
	bool empty;		       /* the head says Content-Length: 0: its HEADERS end
					* the stream, as nginx's (gRPC's Trailers-Only) */
	bool resp_chunked;	       /* the response body arrives chunked */
	bool tx_eof;		       /* the whole response is in tx */
	bool deferred;		       /* the data source returned DEFERRED */
	bool want_write;	       /* c was told EAGAIN: wake it when tx drains */
	bool queued;		       /* on h->runq */
	struct h1_chunked ch;	       /* response de-chunking state */
	struct buf head;	       /* response head; HEADERS point into it once sent */
	char status[3];		       /* :status digits (HEADERS point here too) */
	struct buf tx;		       /* response body bytes not yet sent */
	size_t tx_framed;	       /* of those, promised to a DATA frame being sent */
	struct buf trl;		       /* the chunked body's trailer section, as received
					* (sent as trailing HEADERS: grpc_pass) */
	bool trl_sent;		       /* those trailers were submitted */
	bool es_sent;		       /* our END_STREAM went out */
	bool cut;		       /* its request was told the client is gone
					* (http_stream_cut); it may go on */
	struct h2_stream *next, *prev; /* h->streams */
	struct h2_stream *qnext;       /* h->runq */
};

/* struct h2_conn - the session of one client connection. */
struct h2_conn {
	nghttp2_session *s;	      /* the session */
	struct conn *c;		      /* the client connection */
	struct h2_stream *streams;    /* all streams not yet freed */
	int nstreams;		      /* their count */
	struct h2_stream *runq;	      /* streams with news for their request connection */
	struct h2_stream **runq_tail; /* where to append */
	struct buf out;		      /* frames not yet written */
	size_t field_max;	      /* one header's name + value (bytes) */
	size_t list_max;	      /* whole header list, RFC 9113 counting */
	size_t blk_bytes;	      /* compressed bytes of the header block being read */
	int32_t blk_sid;	      /* its stream */
	int blk_frames;		      /* CONTINUATIONs in it */
	bool in_block;		      /* a header block is incomplete */
	uint32_t rx_left;	      /* client bytes to the end of its current frame
				       * (the preface's first) */
	uint32_t rx_len;	      /* the length field of the frame header being read */
	uint8_t rx_hdn;		      /* bytes of that header read (0..8) */
	uint8_t rx_type;	      /* the type of the frame being read */
	int64_t budget_sec;	      /* second of the counters below */
	int rst_count;		      /* RST_STREAM received this second */
	int ctrl_count;		      /* those of H2_CTRL_BUDGET this second */
	int requests;		      /* streams started */
	int max_requests;	      /* then GOAWAY */
	uint32_t fatal;		      /* error code to end the session with, 0 none */
	struct ev_timer yield;	      /* resumes reading after others had their turn */
	struct h2_stream *spare;      /* freed streams kept for reuse, buffers included */
	int nspare;		      /* their count */
	bool goaway;		      /* graceful GOAWAY submitted */
	bool sched;		      /* a deferred run is queued */
	bool gone;		      /* the client's side ended: nothing more is read or
				       * written; kept (socket too, as nginx keeps it)
				       * while a stream's request goes on without the
				       * client (proxy_ignore_client_abort) */
	bool dead;		      /* the client connection closed */
};

static void h2_schedule(struct h2_conn *h);
static void h2_flush(struct h2_conn *h);

/* ---- small helpers -------------------------------------------------------------- */

/* buf_put - append N bytes at P to B. 0, or -ENOMEM. Inline: it runs a few
 * times per header, nearly always with room to spare. */
static inline int buf_put(struct buf *b, const void *p, size_t n)
{
	if (!n)
		return 0;
	if (b->cap - b->end < n && buf_grow(b, n, H2_BUF_FIRST))
		return -ENOMEM;
	memcpy(b->data + b->end, p, n);
	b->end += n;
	return 0;
}

/* head_end - the end of the first empty line ("\r\n\r\n") in
 * p[from..len), searched from FROM (which may be inside it), or 0. A scan
 * for line feeds: cheaper than memmem for a head of a few short lines. */
static size_t head_end(const char *p, size_t from, size_t len)
{
	const char *q = p + from, *e = p + len;

	while (q < e && (q = memchr(q, '\n', (size_t)(e - q)))) {
		size_t at = (size_t)(q - p);

		if (at >= 3 && q[-1] == '\r' && q[-2] == '\n' && q[-3] == '\r')
			return at + 1;
		q++;
	}
	return 0;
}

static inline size_t buf_len(const struct buf *b)
{
	return b->end - b->start;
}

static void buf_drop(struct buf *b)
{
	free(b->data);
	*b = (struct buf){0};
}

int h2_preface_match(const char *buf, size_t len)
{
	size_t n = len < H2_PREFACE_LEN ? len : H2_PREFACE_LEN;

	if (memcmp(buf, H2_PREFACE, n) != 0)
		return -1;
	return len >= H2_PREFACE_LEN ? 1 : 0;
}

static const struct cfg_srv *h2_srv(const struct h2_conn *h)
{
	return h->c->lg->default_srv;
}

/* h2_enqueue - S has news for its request connection (or is to be freed). */
static void h2_enqueue(struct h2_stream *s)
{
	struct h2_conn *h = s->h;

	if (s->queued)
		return;
	s->queued = true;
	s->qnext = NULL;
	*h->runq_tail = s;
	h->runq_tail = &s->qnext;
}

/* stream_bufs - the buffers of S, for keeping or dropping them together. */
#define H2_STREAM_NBUFS 7 /* the buffers STREAM_BUFS lists */
#define STREAM_BUFS(s)                                                                            \
	{                                                                                         \
		&(s)->rx, &(s)->hdrs, &(s)->cookie, &(s)->pseudo, &(s)->head, &(s)->tx, &(s)->trl \
	}

/* stream_get - a zeroed stream for H: a spare one (its buffers kept,
 * emptied) when there is one, so a busy connection allocates nothing per
 * request. NULL on no memory. */
static struct h2_stream *stream_get(struct h2_conn *h)
{
	struct h2_stream *s = h->spare;
	struct buf keep[H2_STREAM_NBUFS];

	if (!s)
		return calloc(1, sizeof(*s));
	struct buf *b[] = STREAM_BUFS(s);

	h->spare = s->next;
	h->nspare--;
	for (int i = 0; i < H2_STREAM_NBUFS; i++)
		keep[i] = (struct buf){.data = b[i]->data, .cap = b[i]->cap};
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < H2_STREAM_NBUFS; i++)
		*b[i] = keep[i];
	return s;
}

static void stream_free(struct h2_stream *s)
{
	struct h2_conn *h = s->h;
	struct buf *b[] = STREAM_BUFS(s);
	bool keep = h->nspare < H2_SPARE_STREAMS;

	if (s->prev)
		s->prev->next = s->next;
	else
		h->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h->nstreams--;
	for (int i = 0; i < H2_STREAM_NBUFS; i++)
		if (!keep || b[i]->cap > H2_SPARE_BUF)
			buf_drop(b[i]); /* a big one is not kept around */
	if (!keep) {
		free(s);
		return;
	}
	s->next = h->spare;
	h->spare = s;
	h->nspare++;
}

/* h2_budget - count one frame against a per-second budget. True: over. */
static bool h2_budget(struct h2_conn *h, int *count, int max)
{
	int64_t now = lbd_now_ms() / 1000;

	if (now != h->budget_sec) {
		h->budget_sec = now;
		h->rst_count = h->ctrl_count = 0;
	}
	return ++*count > max;
}

static void h2_client_text(const struct h2_conn *h, char *buf, size_t len)
{
	const struct sockaddr_storage *p = &h->c->peer;

	snprintf(buf, len, "?");
	if (p->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)p)->sin_addr, buf, (socklen_t)len);
	else if (p->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)p)->sin6_addr, buf,
			  (socklen_t)len);
}

/* h2_calm - end the session: GOAWAY ENHANCE_YOUR_CALM, logged as nginx's
 * "client ... flood detected" lines at info level. */
static int h2_calm(struct h2_conn *h, const char *what)
{
	char client[64];

	if (!h->fatal) {
		h2_client_text(h, client, sizeof(client));
		log_info("%s, client: %s", what, client);
		h->fatal = NGHTTP2_ENHANCE_YOUR_CALM;
	}
	return NGHTTP2_ERR_CALLBACK_FAILURE;
}

/* ---- nghttp2 callbacks: requests ---------------------------------------------------- */

static int on_begin_frame(nghttp2_session *ss, const nghttp2_frame_hd *hd, void *ud)
{
	struct h2_conn *h = ud;

	(void)ss;
	if (hd->type == NGHTTP2_HEADERS) {
		h->in_block = !(hd->flags & NGHTTP2_FLAG_END_HEADERS);
		h->blk_bytes = hd->length;
		h->blk_sid = hd->stream_id;
		h->blk_frames = 0;
	} else if (hd->type == NGHTTP2_CONTINUATION) {
		h->blk_bytes += hd->length;
		h->in_block = !(hd->flags & NGHTTP2_FLAG_END_HEADERS);
		/* a header block is bounded in bytes and in frames, whatever
		 * HPACK makes of it (empty CONTINUATIONs cost work too) */
		if (++h->blk_frames > H2_MAX_CONT || h->blk_bytes > h->list_max + 4096)
			return h2_calm(h,
				       "client sent too long a header block (CONTINUATION flood)");
	} else if (hd->type == NGHTTP2_RST_STREAM) {
		if (h2_budget(h, &h->rst_count, H2_RST_BUDGET))
			return h2_calm(h, "client sent too many RST_STREAM frames (rapid reset)");
	} else if (((hd->type == NGHTTP2_PING || hd->type == NGHTTP2_SETTINGS) &&
		    !(hd->flags & NGHTTP2_FLAG_ACK)) ||
		   hd->type == NGHTTP2_PRIORITY ||
		   (hd->type == NGHTTP2_DATA && !hd->length &&
		    !(hd->flags & NGHTTP2_FLAG_END_STREAM))) {
		/* frames that cost work and carry nothing (CVE-2019-9512,
		 * -9513, -9518): one budget */
		if (h2_budget(h, &h->ctrl_count, H2_CTRL_BUDGET))
			return h2_calm(
				h,
				"client sent too many SETTINGS, PING, PRIORITY or empty DATA frames");
	}
	return 0;
}

static int on_begin_headers(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	struct h2_conn *h = ud;
	struct h2_stream *s;
	size_t pre;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	/* the block's bytes as nginx counts them (block_cut()): without the
	 * padding and the priority fields */
	pre = f->headers.padlen + (f->hd.flags & NGHTTP2_FLAG_PRIORITY ? 5 : 0);
	h->blk_bytes -= pre < h->blk_bytes ? pre : h->blk_bytes;
	s = stream_get(h);
	if (!s)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM: this one only */
	s->h = h;
	s->id = f->hd.stream_id;
	s->next = h->streams;
	if (h->streams)
		h->streams->prev = s;
	h->streams = s;
	h->nstreams++;
	nghttp2_session_set_stream_user_data(ss, s->id, s);
	return 0;
}

static bool token_ok(const uint8_t *p, size_t n, bool path)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] == 0x7f || (!path && p[i] == '/'))
			return false;
	return n > 0;
}

static int on_header(nghttp2_session *ss, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct h2_conn *h = ud;
	struct h2_stream *s;
	int rc = 0;

	(void)flags;
	if (f->hd.type != NGHTTP2_HEADERS)
		return 0;
	/* limits first: they bound the work an HPACK bomb can cause */
	if (nlen + vlen > h->field_max)
		return h2_calm(h, "client exceeded http2_max_field_size limit");
	s = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id);
	if (!s || s->started)
		return 0; /* trailers: not passed on */
	s->hdr_bytes += nlen + vlen + 32;
	if (s->hdr_bytes > h->list_max)
		return h2_calm(h, "client exceeded http2_max_header_size limit");
	if (nlen && name[0] == ':') {
		size_t *off = NULL;

		if (nlen == 7 && memcmp(name, ":method", 7) == 0) {
			if (!token_ok(value, vlen, false))
				return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
			off = &s->m_off;
		} else if (nlen == 5 && memcmp(name, ":path", 5) == 0) {
			if (!token_ok(value, vlen, true))
				return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
			off = &s->p_off;
		} else if (nlen == 10 && memcmp(name, ":authority", 10) == 0) {
			if (!token_ok(value, vlen, true))
				return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
			off = &s->a_off;
		}
		if (off) {
			*off = s->pseudo.end + 1;
			rc = buf_put(&s->pseudo, value, vlen) || buf_put(&s->pseudo, "", 1);
		}
	} else if (nlen == 6 && memcmp(name, "cookie", 6) == 0) {
		/* RFC 9113 8.2.3: crumbs are joined with "; " for HTTP/1.1 */
		if (buf_len(&s->cookie))
			rc = buf_put(&s->cookie, "; ", 2);
		rc = rc || buf_put(&s->cookie, value, vlen);
	} else {
		/* te too (only "trailers" gets here, nghttp2 checks): kept, as
		 * nginx keeps it, for grpc_pass's TE ($grpc_internal_trailers);
		 * proxy_pass does not pass it on */
		uint32_t len[2] = {(uint32_t)nlen, (uint32_t)vlen};

		if (nlen == 4 && memcmp(name, "host", 4) == 0)
			s->has_host = true;
		else if (nlen == 14 && memcmp(name, "content-length", 14) == 0)
			s->has_cl = true;
		rc = buf_put(&s->hdrs, len, sizeof(len)) || buf_put(&s->hdrs, name, nlen) ||
		     buf_put(&s->hdrs, value, vlen);
	}
	return rc ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

/* The request of a stream as the HTTP/1 code takes it: what
 * h1_parse_request() would make of the HTTP/1.1 text the stream's fields
 * stand for, without writing that text and parsing it again. The text is
 *
 *     METHOD SP (:path, or :authority for CONNECT) SP "HTTP/1.1" CRLF
 *     ["Host: " :authority CRLF]           when no host field was sent
 *     name ": " value CRLF                 each regular field, in order
 *     ["Cookie: " crumbs joined "; " CRLF] RFC 9113 8.2.3
 *     ["Transfer-Encoding: chunked" CRLF]  a body without content-length
 *     CRLF
 *
 * and its size is $request_length's head part. The limits the parser
 * applies to it (large_client_header_buffers: each line, the whole head,
 * HTTP_MAX_HEADERS fields) and its byte checks (method, field values) are
 * applied to the lines as they would lie in it, so the verdict (414, 400
 * "Request Header Or Cookie Too Large", 400) is the one the text would
 * get. Names come checked by nghttp2 (lowercase tokens). */

/* struct vhead - the text's limits and where the walk is in it. */
struct vhead {
	size_t max_line;   /* one field line with its CRLF (bytes) */
	size_t clen;	   /* bytes of the text the parser may look at */
	size_t at;	   /* offset of the line being checked */
	size_t n;	   /* field lines so far */
	size_t nclient;	   /* of them the client's own fields (max_headers counts these) */
	size_t cap;	   /* max_headers: the client's fields allowed (the most of any server) */
	size_t host_at;	   /* nclient when the client's own host field came (0: none) */
	struct pool *pool; /* the request's: lines past HTTP_MAX_HEADERS */
};

/* vline - the parser's verdict on the line at v->at, LEN bytes with its
 * CRLF, whose first refused byte is at offset BAD in it (SIZE_MAX: none):
 * 0, or the enum h1_rc it returns (LINE_ERR: the line alone is too long).
 * Moves v->at past the line. */
static int vline(struct vhead *v, size_t len, size_t bad, size_t max_line, int line_err,
		 int bad_err)
{
	size_t ls = v->at;
	size_t bound = max_line < v->clen - ls ? ls + max_line : v->clen;

	v->at += len;
	if (bad != SIZE_MAX && ls + bad < bound)
		return bad_err;
	if (ls + len <= bound)
		return 0;
	return bound - ls >= max_line ? line_err : H1_ERR_HEADER_TOO_LARGE;
}

/* vfield - field line NAME: VALUE of the text into r->hdrs (value
 * trimmed of SP/HTAB as the parser does) and its verdict. OURS: a name of
 * our own (Host, Cookie...), whose flags are all clear. */
static int vfield(struct vhead *v, struct http_req *r, const char *name, size_t nlen,
		  const char *val, size_t vlen, bool ours)
{
	struct h1_header *h;
	size_t line = nlen + 2 + vlen + 2, lead = 0, span, bad = SIZE_MAX;

	if (v->at >= v->clen)
		return H1_ERR_HEADER_TOO_LARGE;
	/* max_headers, as nginx counts for HTTP/2: the client's fields, not
	 * :authority's Host nor the Cookie lbd joins */
	if (!ours && v->nclient++ == v->cap)
		return H1_ERR_TOO_MANY_HEADERS;
	if (!ours && !v->host_at && nlen == 4 && memcmp(name, "host", 4) == 0)
		v->host_at = v->nclient;
	if (v->n == HTTP_MAX_HEADERS && !r->hdrs_big) {
		/* as the HTTP/1 parser: up to max_headers lines (and ours) */
		r->hdrs_big = pool_alloc(v->pool, (v->cap + 3) * sizeof(*r->hdrs_big));
		if (!r->hdrs_big)
			return H1_ERR_TOO_MANY_HEADERS;
		memcpy(r->hdrs_big, r->hdrs, sizeof(r->hdrs));
		r->h1.headers = r->hdrs_big;
	}
	h = &r->h1.headers[v->n++];
	h->name = (struct h1_str){name, nlen};
	if (ours)
		h->invalid = h->underscore = h->symbol = 0;
	else if (!h1_name_flags(h))
		bad = 0;
	while (lead < vlen && (val[lead] == ' ' || val[lead] == '\t'))
		lead++;
	span = h1_value_span(val + lead, vlen - lead);
	if (lead + span < vlen && bad == SIZE_MAX)
		bad = nlen + 2 + lead + span;
	while (vlen > lead && (val[vlen - 1] == ' ' || val[vlen - 1] == '\t'))
		vlen--;
	h->value = (struct h1_str){val + lead, vlen - lead};
	return vline(v, line, bad, v->max_line, H1_ERR_HEADER_TOO_LARGE, H1_ERR_BAD);
}

/* map_request - stream S's request into c->req (see above): r->h1 and
 * r->hdrs set, *LINE the request line for $request. Returns the size of
 * the text, the negative enum h1_rc the parser would return for it, or
 * MAP_NOMEM. */
#define MAP_NOMEM INT_MIN
static int map_request(struct h2_stream *s, struct conn *c, struct lstr *line)
{
	const struct cfg_srv *ds = c->lg->default_srv;
	struct http_req *r = &c->req;
	size_t ml, pl, al = 0, at, total, mspan, mbad = SIZE_MAX, o;
	size_t max_rl = ds->large_header_size > 0 ? (size_t)ds->large_header_size : SIZE_MAX;
	size_t max_total = (size_t)(ds->large_header_num * ds->large_header_size);
	const char *m, *p, *a, *rl;
	bool host = false;
	struct vhead v;
	int rc;

	/* the request line, with the version $request shows, after the
	 * pseudo-header values (pseudo grows no more after this) */
	m = s->pseudo.data + s->m_off - 1;
	ml = strlen(m);
	pl = strlen(s->p_off   ? s->pseudo.data + s->p_off - 1
		    : s->a_off ? s->pseudo.data + s->a_off - 1
			       : "/");
	if (s->a_off)
		al = strlen(s->pseudo.data + s->a_off - 1);
	at = s->pseudo.end;
	if (s->pseudo.cap - at < ml + 1 + pl + 9 &&
	    buf_grow(&s->pseudo, ml + 1 + pl + 9, H2_BUF_FIRST))
		return MAP_NOMEM;
	m = s->pseudo.data + s->m_off - 1;
	p = s->p_off   ? s->pseudo.data + s->p_off - 1
	    : s->a_off ? s->pseudo.data + s->a_off - 1
		       : "/";
	a = s->a_off ? s->pseudo.data + s->a_off - 1 : NULL;
	rl = s->pseudo.data + at;
	memcpy((char *)rl, m, ml);
	((char *)rl)[ml] = ' ';
	memcpy((char *)rl + ml + 1, p, pl);
	memcpy((char *)rl + ml + 1 + pl, " HTTP/2.0", 9);
	s->pseudo.end = at + ml + 1 + pl + 9;
	*line = (struct lstr){rl, ml + 1 + pl + 9};
	r->h1.method = (struct h1_str){rl, ml};
	r->h1.target = (struct h1_str){rl + ml + 1, pl};
	r->h1.version = 11;
	r->h1.headers = r->hdrs;
	r->h1.nheaders = 0;

	/* the size of the text first: whether the parser would see all of
	 * it or stop at max_total decides how a long line fails */
	host = a && !s->has_host;
	total = ml + 1 + pl + 11 + (host ? 6 + al + 2 : 0) + 2;
	for (o = 0; o < s->hdrs.end;) {
		uint32_t len[2];

		memcpy(len, s->hdrs.data + o, sizeof(len));
		total += (size_t)len[0] + 2 + len[1] + 2;
		o += sizeof(len) + len[0] + len[1];
	}
	if (buf_len(&s->cookie))
		total += 8 + buf_len(&s->cookie) + 2;
	if (s->rx_chunked)
		total += 28;
	v = (struct vhead){
		.max_line = max_rl,
		.clen = max_total && total > max_total ? max_total : total,
		.pool = &c->pool,
		/* which server's max_headers applies is known once the
		 * server is (start_request()); here the most of any, and no
		 * more fields than the text can hold */
		.cap = LBD_MIN((size_t)c->lg->max_headers,
			       max_total ? max_total / 5 + 1 : SIZE_MAX),
	};

	/* the request line: a method of [A-Z_-] up to 32 bytes; the target
	 * has no byte the parser stops at (token_ok() saw to it) */
	mspan = h1_method_span(m, ml);
	if (mspan < ml)
		mbad = mspan < 32 ? mspan : 32;
	else if (ml > 32)
		mbad = 32;
	rc = vline(&v, ml + 1 + pl + 11, mbad, max_rl, H1_ERR_URI_TOO_LONG, H1_ERR_METHOD);
	if (!rc && host)
		rc = vfield(&v, r, "Host", 4, a, al, true);
	for (o = 0; !rc && o < s->hdrs.end;) {
		uint32_t len[2];
		const char *n;

		memcpy(len, s->hdrs.data + o, sizeof(len));
		n = s->hdrs.data + o + sizeof(len);
		rc = vfield(&v, r, n, len[0], n + len[0], len[1], false);
		o += sizeof(len) + len[0] + len[1];
	}
	if (!rc && buf_len(&s->cookie))
		rc = vfield(&v, r, "Cookie", 6, s->cookie.data + s->cookie.start,
			    buf_len(&s->cookie), true);
	if (!rc && s->rx_chunked)
		rc = vfield(&v, r, "Transfer-Encoding", 17, "chunked", 7, true);
	if (!rc)
		rc = vline(&v, 2, SIZE_MAX, max_rl, H1_ERR_HEADER_TOO_LARGE, H1_ERR_BAD);
	if (rc)
		return rc;
	r->h1.nheaders = v.n;
	r->h2_fields = (unsigned)v.nclient;
	r->h2_named_at = a ? 0 : (unsigned)(v.host_at ? v.host_at : v.nclient);
	return (int)total;
}

static int on_frame_recv(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	struct h2_conn *h = ud;
	struct h2_stream *s = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id);
	bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;

	if (f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_CONTINUATION)
		h->in_block = false;
	if (!s || !f->hd.stream_id)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && !s->started) {
		if (!s->m_off)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		/* the head is mapped when its request connection starts */
		s->rx_chunked = !end && !s->has_cl;
		s->started = true;
		s->pending_start = true;
		if (end)
			s->rx_eof = true;
		h2_enqueue(s);
		return 0;
	}
	if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) && end && !s->rx_eof) {
		s->rx_eof = true; /* DATA's end, or trailers */
		if (s->rx_chunked && buf_put(&s->rx, "0\r\n\r\n", 5))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		h2_enqueue(s);
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *ss, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *ud)
{
	struct h2_stream *s = nghttp2_session_get_stream_user_data(ss, id);
	char sz[24];
	int rc = 0;

	(void)flags, (void)ud;
	if (!s || !s->started || (!s->c && !s->pending_start)) {
		/* nobody reads it any more: give the window back at once */
		nghttp2_session_consume(ss, id, len);
		return 0;
	}
	if (!len)
		return 0;
	if (s->rx_chunked) {
		int k = snprintf(sz, sizeof(sz), "%zx\r\n", len);

		rc = buf_put(&s->rx, sz, (size_t)k);
	}
	rc = rc || buf_put(&s->rx, data, len) || (s->rx_chunked && buf_put(&s->rx, "\r\n", 2));
	if (rc)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	s->rx_data += len;
	h2_enqueue(s);
	return 0;
}

static int on_stream_close(nghttp2_session *ss, int32_t id, uint32_t code, void *ud)
{
	struct h2_stream *s = nghttp2_session_get_stream_user_data(ss, id);

	(void)code, (void)ud;
	if (!s)
		return 0;
	s->closed = true;
	h2_enqueue(s);
	return 0;
}

/* on_frame_send - our END_STREAM went out: a stream whose request is
 * over while the client still sends (an answer before the body ended, as
 * a gRPC server may give) is reset with NO_ERROR, as nginx does, so that
 * the client stops sending. */
static int on_frame_send(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	struct h2_stream *s;

	(void)ud;
	if ((f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS) ||
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	s = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id);
	if (!s)
		return 0;
	s->es_sent = true;
	if (!s->c && !s->rx_eof && !s->closed)
		nghttp2_submit_rst_stream(ss, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
	return 0;
}

/* ---- responses ------------------------------------------------------------------ */

static int submit_trailers(struct h2_stream *s);

/* data_read - the next DATA frame of S: up to LEN bytes of s->tx, not
 * copied (NO_COPY): send_data() appends them to h->out behind the frame
 * header, so a response body is copied once on its way from the request
 * code to the TLS layer instead of twice. */
static ssize_t data_read(nghttp2_session *ss, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
			 nghttp2_data_source *src, void *ud)
{
	struct h2_stream *s = src->ptr;
	size_t n = buf_len(&s->tx) - s->tx_framed;

	(void)ss, (void)id, (void)buf, (void)ud;
	if (n > len)
		n = len;
	if (n == buf_len(&s->tx) - s->tx_framed) {
		if (s->tx_eof) {
			*flags |= NGHTTP2_DATA_FLAG_EOF;
			if (!s->trl_sent && submit_trailers(s) > 0)
				*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
		} else if (!n) {
			s->deferred = true;
			return NGHTTP2_ERR_DEFERRED;
		}
	}
	if (n) {
		*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
		s->tx_framed += n;
	}
	return (ssize_t)n;
}

/* send_data - the DATA frame data_read() sized: its header and LENGTH
 * bytes of the stream's tx into h->out. The stream is looked up by id, not
 * through SRC: nghttp2 finishes a frame it began even when a RST_STREAM
 * closed the stream meanwhile, and the stream may be gone by then; the
 * frame is then completed with zeros (the client discards DATA of a
 * stream it reset, and the connection window counts it either way). */
static int send_data(nghttp2_session *ss, nghttp2_frame *f, const uint8_t *framehd, size_t length,
		     nghttp2_data_source *src, void *ud)
{
	static const char zero[256];
	struct h2_conn *h = ud;
	struct h2_stream *s = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id);
	size_t pad = f->data.padlen;

	(void)src;
	if (buf_put(&h->out, framehd, 9))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	if (pad) {
		uint8_t pl = (uint8_t)(pad - 1);

		if (buf_put(&h->out, &pl, 1))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	if (s && s->tx_framed >= length && buf_len(&s->tx) >= length) {
		if (buf_put(&h->out, s->tx.data + s->tx.start, length))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		s->tx.start += length;
		s->tx_framed -= length;
		if (s->tx.start == s->tx.end)
			s->tx.start = s->tx.end = 0;
		if (s->want_write && s->c && buf_len(&s->tx) < H2_TX_MIN / 2)
			h2_enqueue(s);
	} else {
		for (size_t k = length; k;) {
			size_t z = k < sizeof(zero) ? k : sizeof(zero);

			if (buf_put(&h->out, zero, z))
				return NGHTTP2_ERR_CALLBACK_FAILURE;
			k -= z;
		}
	}
	for (size_t k = pad > 1 ? pad - 1 : 0; k;) {
		size_t z = k < sizeof(zero) ? k : sizeof(zero);

		if (buf_put(&h->out, zero, z))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		k -= z;
	}
	return 0;
}

/* tx_limit - how much response body stream S may hold: what the client's
 * windows let out next, between H2_TX_MIN and H2_TX_MAX, so that a client
 * that does not read costs 16 KiB per stream, not 64. */
static size_t tx_limit(const struct h2_stream *s)
{
	nghttp2_session *ss = s->h->s;
	int32_t w = nghttp2_session_get_stream_remote_window_size(ss, s->id);
	int32_t cw = nghttp2_session_get_remote_window_size(ss);
	size_t lim = (size_t)(w < cw ? (w > 0 ? w : 0) : (cw > 0 ? cw : 0));

	return lim < H2_TX_MIN ? H2_TX_MIN : lim > H2_TX_MAX ? H2_TX_MAX : lim;
}

static size_t tx_room(const struct h2_stream *s)
{
	size_t lim = tx_limit(s);

	return buf_len(&s->tx) < lim ? lim - buf_len(&s->tx) : 0;
}

static void resume(struct h2_stream *s)
{
	if (s->deferred && !s->closed && s->h->s) {
		s->deferred = false;
		nghttp2_session_resume_data(s->h->s, s->id);
	}
	h2_schedule(s->h);
}

/* hop_by_hop - NAME (lowercase) is a connection-specific field that
 * HTTP/2 does not carry (RFC 9113 8.2.2). Picked by length first: this
 * runs for every response header. */
static bool hop_by_hop(const char *n, size_t len)
{
	switch (len) {
	case 7:
		return memcmp(n, "upgrade", 7) == 0;
	case 10:
		return memcmp(n, "connection", 10) == 0 || memcmp(n, "keep-alive", 10) == 0;
	case 16:
		return memcmp(n, "proxy-connection", 16) == 0;
	case 17:
		return memcmp(n, "transfer-encoding", 17) == 0;
	default:
		return false;
	}
}

/* name_lower - lowercase the bytes from Q up to the first ':' or '\n'
 * before E, in place (s->head is our own copy); where that byte is, or E.
 * 16 bytes at a time where SSE2 exists: this is most of submit_head()'s
 * work. */
static char *name_lower(char *q, char *e)
{
#ifdef __SSE2__
	const __m128i colon = _mm_set1_epi8(':'), lf = _mm_set1_epi8('\n');
	const __m128i a1 = _mm_set1_epi8('A' - 1), z1 = _mm_set1_epi8('Z' + 1);
	const __m128i bit = _mm_set1_epi8(0x20);

	while (e - q >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)q);
		/* signed compares: bytes >= 0x80 are below 'A' */
		__m128i up = _mm_and_si128(_mm_cmpgt_epi8(x, a1), _mm_cmplt_epi8(x, z1));
		__m128i lo = _mm_or_si128(x, _mm_and_si128(up, bit));
		int m = _mm_movemask_epi8(
			_mm_or_si128(_mm_cmpeq_epi8(x, colon), _mm_cmpeq_epi8(x, lf)));

		if (m) {
			char tmp[16];
			int k = __builtin_ctz((unsigned)m);

			_mm_storeu_si128((__m128i *)tmp, lo);
			memcpy(q, tmp, (size_t)k);
			return q + k;
		}
		_mm_storeu_si128((__m128i *)q, lo);
		q += 16;
	}
#endif
	for (; q < e && *q != ':' && *q != '\n'; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q + 32);
	return q;
}

/* submit_head - the request code's HTTP/1.1 response head (LEN bytes at
 * the start of s->head, its empty line included) as HEADERS. The head is
 * lbd's own text, not a peer's: a status line and "Name: value" lines that
 * http_out.c's head builders wrote (values from a parsed upstream head or our
 * own), so it is split, not parsed and checked again: each name
 * lowercased up to its colon (name_lower()), then the line end. The field
 * names and values are handed to nghttp2 without a copy: they point into
 * s->head, which is left alone until the stream is freed (nghttp2 packs
 * the frame only while the stream is open, i.e. before that). 0, or
 * -errno (a head that is not of that shape: the stream is reset). */
static int submit_lines(struct h2_stream *s, char *p, char *e, nghttp2_nv *nv, size_t cap,
			size_t *np, int *statusp);

static int submit_head(struct h2_stream *s, size_t len)
{
	nghttp2_nv nv_inline[HTTP_MAX_HEADERS + 1], *nv = nv_inline;
	nghttp2_data_provider dp = {.source.ptr = s, .read_callback = data_read};
	char *p = s->head.data, *e = p + len, *q;
	size_t n = 0, cap = HTTP_MAX_HEADERS + 1, lines = 0;
	int status = 0, rc;

	/* a head of more lines (an upstream's, up to its buffer): an array
	 * for this call only (nghttp2 copies it, not the strings) */
	for (q = p; q < e && (q = memchr(q, '\n', (size_t)(e - q))); q++)
		lines++;
	if (lines > cap) {
		nv = malloc(lines * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		cap = lines;
	}
	rc = submit_lines(s, p, e, nv, cap, &n, &status);
	if (!rc) {
		if (s->resp_chunked)
			h1_chunked_init(&s->ch);
		/* an empty body with add_trailer's trailers still needs its
		 * stream open after the HEADERS: they end it, as nginx's */
		s->no_body = (s->c && s->c->req.head) || status == 204 || status == 304 ||
			     (s->empty && !(s->c && s->c->req.trl_mode == HTTP_TRL_H2));
		rc = nghttp2_submit_response(s->h->s, s->id, nv, n, s->no_body ? NULL : &dp) ? -EIO
											     : 0;
	}
	if (nv != nv_inline)
		free(nv);
	if (!rc)
		s->head_sent = true;
	return rc;
}

/* field_value - the value of the head line whose ':' is at COLON and
 * whose '\n' is at LE: [*V, *VE) without the blanks around it and the
 * line's '\r'. */
static void field_value(char *colon, char *le, char **v, char **ve)
{
	char *a = colon + 1, *z = le > a && le[-1] == '\r' ? le - 1 : le;

	while (a < z && (*a == ' ' || *a == '\t'))
		a++;
	while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
		z--;
	*v = a;
	*ve = z;
}

/* submit_trailers - the trailer section S's chunked response body ended
 * with (s->trl: "name: value" lines, then the empty line), as trailing
 * HEADERS that end the stream: how gRPC's grpc-status and grpc-message
 * reach the client. The number of fields submitted (0: none, the last
 * DATA ends the stream), or -EIO. */
static int submit_trailers(struct h2_stream *s)
{
	nghttp2_nv nv[64];
	char *q, *e;
	size_t n = 0;

	s->trl_sent = true;
	if (!buf_len(&s->trl))
		return 0; /* none (no buffer either: no pointer arithmetic on NULL) */
	q = s->trl.data + s->trl.start;
	e = s->trl.data + s->trl.end;
	while (q < e && n < ARRAY_SIZE(nv)) {
		char *name = q, *v, *ve, *le = memchr(q, '\n', (size_t)(e - q));

		if (!le)
			break;
		q = name_lower(name, le);
		if (q == le || q == name) /* the empty line, or no name */
			break;
		field_value(q, le, &v, &ve);
		if (!hop_by_hop(name, (size_t)(q - name)))
			nv[n++] = (nghttp2_nv){(uint8_t *)name, (uint8_t *)v, (size_t)(q - name),
					       (size_t)(ve - v), NGHTTP2_NV_FLAG_NONE};
		q = le + 1;
	}
	if (!n)
		return 0;
	/* nghttp2 copies the fields: s->trl may go */
	return nghttp2_submit_trailer(s->h->s, s->id, nv, n) ? -EIO : (int)n;
}

/* submit_lines - the fields of head P..E into NV (CAP entries): *N of
 * them, *STATUS the status. 0 or -EIO. */
static int submit_lines(struct h2_stream *s, char *p, char *e, nghttp2_nv *nv, size_t cap,
			size_t *np, int *statusp)
{
	const uint8_t nocopy = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;
	size_t len = (size_t)(e - p), n = 0;
	char *q;
	int status;

	/* "HTTP/1.x NNN" then SP or the line end */
	if (len < 14 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' || p[9] < '1' || p[9] > '9' ||
	    p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' ||
	    (p[12] != ' ' && p[12] != '\r' && p[12] != '\n'))
		return -EIO;
	status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	memcpy(s->status, p + 9, 3);
	nv[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)s->status, 7, 3, nocopy};
	q = memchr(p + 12, '\n', (size_t)(e - p - 12));
	if (!q)
		return -EIO;
	for (q++; q < e;) {
		char *name = q, *v, *ve, *le;
		size_t nlen;

		q = name_lower(q, e);
		if (q == e)
			return -EIO;
		if (*q == '\n') {
			if (q == name || (q == name + 1 && *name == '\r'))
				break; /* the empty line: the end */
			return -EIO;
		}
		nlen = (size_t)(q - name);
		le = memchr(q, '\n', (size_t)(e - q));
		if (!nlen || !le)
			return -EIO;
		field_value(q, le, &v, &ve);
		q = le + 1;
		if (hop_by_hop(name, nlen)) {
			if (nlen == 17)
				s->resp_chunked = true;
			continue;
		}
		if (nlen == 14 && ve - v == 1 && *v == '0' &&
		    memcmp(name, "content-length", 14) == 0)
			s->empty = true;
		if (n == cap)
			return -EIO;
		nv[n++] =
			(nghttp2_nv){(uint8_t *)name, (uint8_t *)v, nlen, (size_t)(ve - v), nocopy};
	}
	*np = n;
	*statusp = status;
	return 0;
}

/* body_put - response body bytes from the request code into s->tx. */
static int body_put(struct h2_stream *s, const char *p, size_t len)
{
	if (s->no_body)
		return 0;
	if (!s->resp_chunked)
		return buf_put(&s->tx, p, len);
	while (len) {
		struct h1_str d;
		size_t used = 0;
		uint32_t t0 = s->ch.trailer_len;
		int rc = h1_parse_chunked(&s->ch, p, len, &used, &d);
		size_t end = rc == H1_INCOMPLETE ? len : used;

		/* the trailer bytes the decoder skipped are the last ones it
		 * consumed: kept, to go out as trailing HEADERS */
		if ((rc == H1_CHUNK_DONE || rc == H1_INCOMPLETE) && s->ch.trailer_len > t0 &&
		    buf_put(&s->trl, p + end - (s->ch.trailer_len - t0), s->ch.trailer_len - t0))
			return -ENOMEM;
		if (rc == H1_CHUNK_DATA) {
			if (buf_put(&s->tx, d.p, d.len))
				return -ENOMEM;
		} else if (rc == H1_CHUNK_DONE) {
			return 0;
		} else if (rc == H1_INCOMPLETE) {
			return 0;
		} else {
			return -EIO;
		}
		p += used;
		len -= used;
	}
	return 0;
}

ssize_t h2_writev(struct conn *c, const struct iovec *iov, int n)
{
	struct h2_stream *s = c->h2s;
	size_t total = 0;

	if (s->closed || !s->h->s) {
		errno = EPIPE;
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const char *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;

		if (!s->head_sent) {
			size_t have = buf_len(&s->head), hl;

			if (have + len > H2_HEAD_MAX || buf_put(&s->head, p, len)) {
				errno = EIO;
				return -1;
			}
			total += len;
			/* s->head.start is 0: nothing is consumed from it. The
			 * empty line may straddle two writes. */
			hl = head_end(s->head.data, have > 3 ? have - 3 : 0, s->head.end);
			if (!hl)
				continue;

			/* s->head stays as it is: HEADERS point into it */
			if (submit_head(s, hl) ||
			    body_put(s, s->head.data + hl, s->head.end - hl)) {
				errno = EIO;
				return -1;
			}
			continue;
		}
		size_t room = tx_room(s);
		size_t take = len < room ? len : room;

		if (!take)
			break;
		if (body_put(s, p, take)) {
			errno = EIO;
			return -1;
		}
		total += take;
		if (take < len)
			break;
	}
	if (!total) {
		size_t want = 0;

		for (int i = 0; i < n; i++)
			want += iov[i].iov_len;
		if (want) {
			s->want_write = true;
			c->writable = false;
			resume(s);
			errno = EAGAIN;
			return -1;
		}
	}
	resume(s);
	return (ssize_t)total;
}

ssize_t h2_sendfile(struct conn *c, int fd, off_t *off, size_t n)
{
	char tmp[16384];
	struct h2_stream *s = c->h2s;
	size_t room = tx_room(s);
	ssize_t r;

	if (!room) {
		s->want_write = true;
		c->writable = false;
		resume(s);
		errno = EAGAIN;
		return -1;
	}
	if (n > sizeof(tmp))
		n = sizeof(tmp);
	if (n > room)
		n = room;
	r = pread(fd, tmp, n, *off);
	if (r <= 0)
		return r;
	struct iovec iov = {tmp, (size_t)r};
	ssize_t w = h2_writev(c, &iov, 1);

	if (w > 0)
		*off += w;
	return w;
}

ssize_t h2_recv(struct conn *c, void *buf, size_t len, bool peek)
{
	struct h2_stream *s = c->h2s;
	size_t n = buf_len(&s->rx);

	if (n) {
		if (n > len)
			n = len;
		memcpy(buf, s->rx.data + s->rx.start, n);
		if (peek)
			return (ssize_t)n;
		s->rx.start += n;
		if (s->rx.start == s->rx.end)
			s->rx.start = s->rx.end = 0;
		if (s->rx_data && s->h->s) {
			/* framing bytes may be counted early: by a few bytes only */
			size_t k = n < s->rx_data ? n : s->rx_data;

			if (buf_len(&s->rx) == 0)
				k = s->rx_data;
			s->rx_data -= k;
			if (s->closed)
				nghttp2_session_consume_connection(s->h->s, k);
			else
				nghttp2_session_consume(s->h->s, s->id, k);
			h2_schedule(s->h);
		}
		return (ssize_t)n;
	}
	/* reset by the client (its body cut, or whole but our END_STREAM
	 * not sent: the request is not over), or its connection gone: as a
	 * close */
	if (s->closed && (!s->rx_eof || !s->es_sent))
		return 0;
	c->readable = false;
	errno = EAGAIN;
	return -1;
}

int h2_trailers_add(struct conn *c, const char *p, size_t len)
{
	struct h2_stream *s = c->h2s;
	size_t have = buf_len(&s->trl);
	const char *e = s->trl.data + s->trl.end;

	if (!len)
		return 0;
	/* a section already there ends with its empty line: ours go before it */
	if ((have == 2 && memcmp(e - 2, "\r\n", 2) == 0) ||
	    (have >= 4 && memcmp(e - 4, "\r\n\r\n", 4) == 0))
		s->trl.end -= 2;
	return buf_put(&s->trl, p, len) || buf_put(&s->trl, "\r\n", 2) ? -ENOMEM : 0;
}

void h2_stream_done(struct conn *c)
{
	struct h2_stream *s = c->h2s;

	s->tx_eof = true;
	resume(s);
}

void h2_stream_closed(struct conn *c)
{
	struct h2_stream *s = c->h2s;
	struct h2_conn *h = s->h;

	s->c = NULL;
	if (h->dead || !h->s) {
		return;
	}
	if (!s->closed) {
		if (!s->tx_eof || !s->head_sent)
			nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, s->id,
						  NGHTTP2_INTERNAL_ERROR);
		else if (s->rx_data)
			nghttp2_session_consume(h->s, s->id, s->rx_data);
		/* answered while the client still sends: NO_ERROR after our
		 * END_STREAM (now, or once it is sent: on_frame_send) */
		if (s->tx_eof && s->head_sent && s->es_sent && !s->rx_eof)
			nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
		s->rx_data = 0;
	}
	h2_enqueue(s); /* freed from the queue once nghttp2 closed it */
	h2_schedule(h);
}

/* stream_begin - the request of S (whose connection C was just made)
 * mapped and run. */
static void stream_begin(struct h2_stream *s, struct conn *c)
{
	struct lstr line = {0};
	int n = map_request(s, c, &line);

	if (n == MAP_NOMEM) {
		conn_close(c); /* resets the stream */
		return;
	}
	http_stream_request(c, n, line);
}

/* ---- the connection ------------------------------------------------------------- */

/* run_queue - give the queued streams' news to their request connections:
 * start new requests, feed bodies, wake writers, end reset ones. */
static void run_queue(struct h2_conn *h)
{
	while (h->runq && !h->dead) {
		struct h2_stream *s = h->runq;
		struct conn *c;

		h->runq = s->qnext;
		if (!h->runq)
			h->runq_tail = &h->runq;
		s->queued = false;
		if (s->pending_start) {
			s->pending_start = false;
			if (s->closed) {
				stream_free(s); /* reset before it began */
				continue;
			}
			if (h->goaway || h->fatal) {
				nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, s->id,
							  NGHTTP2_REFUSED_STREAM);
				continue;
			}
			c = http_stream_new(h->c, s);
			if (!c) {
				nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, s->id,
							  NGHTTP2_INTERNAL_ERROR);
				continue;
			}
			s->c = c;
			if (++h->requests >= h->max_requests && !h->goaway) {
				h->goaway = true;
				nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE, s->id,
						      NGHTTP2_NO_ERROR, NULL, 0);
			}
			c->readable = true;
			stream_begin(s, c);
			continue;
		}
		c = s->c;
		if (c && s->closed && mirror_waiting(c))
			continue; /* answered; its mirrors end it (mirror.c) */
		if (c && s->closed) {
			/* reset by the client (or ended by nghttp2): as a client
			 * that went away, logged as nginx's (499 before the
			 * answer); told once: a request may go on without its
			 * client (proxy_ignore_client_abort) */
			if (!s->cut) {
				s->cut = true;
				http_stream_cut(c);
			}
			continue;
		}
		if (c) {
			if (buf_len(&s->rx) || (s->rx_eof && c->state == CS_READ_BODY))
				c->readable = true;
			if (s->want_write && buf_len(&s->tx) < H2_TX_MIN / 2) {
				s->want_write = false;
				c->writable = true;
			}
			if (c->readable || c->writable)
				http_conn_run(c);
			continue;
		}
		if (s->closed)
			stream_free(s);
	}
}

/* h2_write_out - write h->out. 1 all written, 0 the socket is full,
 * -errno the client is gone. */
static int h2_write_out(struct h2_conn *h)
{
	struct conn *c = h->c;

	while (buf_len(&h->out)) {
		struct iovec iov = {h->out.data + h->out.start, buf_len(&h->out)};
		ssize_t w = http_writev(c, &iov, 1);

		if (w == -1)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		h->out.start += (size_t)w;
	}
	h->out.start = h->out.end = 0;
	return 1;
}

/* h2_arm - the one deadline of the connection in its current state. */
static void h2_arm(struct h2_conn *h)
{
	const struct cfg_srv *srv = h2_srv(h);
	struct conn *c = h->c;

	if (buf_len(&h->out))
		conn_arm_timer(c, srv->loc.send_timeout);
	else if (h->in_block)
		conn_arm_timer(c, srv->h2_recv_timeout != CFG_UNSET ? srv->h2_recv_timeout
								    : srv->client_header_timeout);
	else if (!h->nstreams)
		conn_arm_timer(c, srv->h2_idle_timeout != CFG_UNSET ? srv->h2_idle_timeout
								    : srv->loc.keepalive_timeout);
	else
		ev_timer_stop(&c->w->loop, &c->timer);
}

/* h2_busy - a stream of H still has its request connection. */
static bool h2_busy(const struct h2_conn *h)
{
	for (const struct h2_stream *s = h->streams; s; s = s->next)
		if (s->c)
			return true;
	return false;
}

/* block_cut - H ends in the middle of a header block (a HEADERS frame,
 * or before or in its CONTINUATIONs; the client's close, a protocol
 * error, a timeout): nginx made the stream's request at the block's start
 * and logs it then, with status 000, request "-", nothing sent and the
 * block's frame lengths (without padding and priority fields) as
 * $request_length; so does lbd, through a request connection made for
 * the line. */
static void block_cut(struct h2_conn *h)
{
	struct h2_stream *s;
	struct conn *c;

	if (!h->in_block &&
	    !(h->rx_left && (h->rx_type == NGHTTP2_HEADERS || h->rx_type == NGHTTP2_CONTINUATION)))
		return;
	for (s = h->streams; s && s->id != h->blk_sid; s = s->next)
		;
	if (!s || s->started || s->closed || s->c)
		return; /* none made yet, or trailers */
	c = http_stream_new(h->c, s);
	if (!c)
		return;
	s->c = c;
	s->closed = s->cut = true;
	stats_request_start();
	c->req.start_us = lbd_now_us();
	clock_gettime(CLOCK_REALTIME, &c->req.start_wall);
	c->req.request_length = h->blk_bytes;
	c->req.srv = c->lg->default_srv; /* its log, as nginx's: no Host known */
	c->req.loc = &c->req.srv->loc;
	http_request_cut(c); /* logged (its status 0: "000") and closed */
}

/* h2_lost - the client's side of H ended (its close, a failed read or
 * write): every stream's request is told, as at a reset (http_stream_cut:
 * 499 while it waits, its status while answered), and H closes, unless
 * one goes on without the client (proxy_ignore_client_abort). nginx keeps
 * its connection, socket included, until such a stream ends and reads or
 * writes nothing more on it meanwhile; so does H (h->gone), closed by
 * h2_flush() once the last of them ended. */
static void h2_lost(struct h2_conn *h)
{
	struct conn *c = h->c;

	h->gone = true;
	c->readable = false;
	ev_timer_stop(&c->w->loop, &h->yield);
	ev_timer_stop(&c->w->loop, &c->timer);
	block_cut(h);
	/* no stream is freed meanwhile (run_queue() alone frees them) */
	for (struct h2_stream *s = h->streams; s; s = s->next) {
		s->closed = true; /* its writes fail, its reads find the end */
		if (s->c && !s->cut) {
			s->cut = true;
			http_stream_cut(s->c);
		}
	}
	if (!h->dead && !h2_busy(h))
		conn_close(c);
}

/* h2_flush - frames out, writers woken, until nothing moves or the socket
 * is full; then close when the session is over. Once the client is gone
 * (h->gone): the streams that ended freed, and the connection closed when
 * none is left with a request. */
static void h2_flush(struct h2_conn *h)
{
	struct conn *c = h->c;

	if (h->gone) {
		run_queue(h);
		if (!h->dead && !h2_busy(h))
			conn_close(c);
		return;
	}
	for (int round = 0; round < H2_SEND_ROUNDS && !h->dead; round++) {
		int rc;

		if (c->w->quitting && !h->goaway && !h->fatal) {
			h->goaway = true;
			nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE,
					      nghttp2_session_get_last_proc_stream_id(h->s),
					      NGHTTP2_NO_ERROR, NULL, 0);
		}
		while (buf_len(&h->out) < H2_OUT_BATCH) {
			const uint8_t *p;
			ssize_t n = nghttp2_session_mem_send(h->s, &p);

			if (n < 0) {
				conn_close(c);
				return;
			}
			if (!n)
				break;
			if (buf_put(&h->out, p, (size_t)n)) {
				conn_close(c);
				return;
			}
		}
		rc = h2_write_out(h);
		if (rc < 0) {
			h2_lost(h);
			return;
		}
		if (!rc) {
			if (h->fatal) {
				conn_close(c); /* ending anyway: no waiting on a non-reader */
				return;
			}
			break; /* EPOLLOUT resumes */
		}
		if (!h->runq && !nghttp2_session_want_write(h->s))
			break;
		run_queue(h);
	}
	if (h->dead)
		return;
	if (!buf_len(&h->out) &&
	    (h->fatal || (!nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s)))) {
		conn_close(c);
		return;
	}
	h2_arm(h);
}

static void h2_deferred(void *arg)
{
	struct h2_conn *h = arg;

	h->sched = false;
	if (h->dead)
		return;
	if (h->c->readable && !buf_len(&h->out) && !h->fatal)
		h2_conn_run(h->c); /* reads left for later, and flushes */
	else
		h2_flush(h);
}

/* h2_schedule - flush after this event round (once). */
static void h2_schedule(struct h2_conn *h)
{
	if (h->sched || h->dead)
		return;
	h->sched = true;
	if (ev_defer(&h->c->w->loop, h2_deferred, h))
		h->sched = false; /* no memory: the next event flushes */
}

static void h2_yield_done(struct ev_loop *loop, struct ev_timer *t)
{
	struct h2_conn *h = t->data;

	(void)loop;
	if (!h->dead)
		h2_conn_run(h->c);
}

static void h2_free(void *arg)
{
	struct h2_conn *h = arg;

	while (h->streams)
		stream_free(h->streams);
	while (h->spare) {
		struct h2_stream *s = h->spare;
		struct buf *b[] = STREAM_BUFS(s);

		h->spare = s->next;
		for (int i = 0; i < H2_STREAM_NBUFS; i++)
			buf_drop(b[i]);
		free(s);
	}
	nghttp2_session_del(h->s);
	buf_drop(&h->out);
	free(h);
}

/* rx_track - follow the frame boundaries in the client's N bytes at P, so
 * that its close can tell whether it cut a frame (nginx's
 * state.incomplete): header bytes one by one, payloads skipped whole. */
static void rx_track(struct h2_conn *h, const uint8_t *p, size_t n)
{
	while (n) {
		if (h->rx_left) {
			size_t k = n < h->rx_left ? n : h->rx_left;

			h->rx_left -= (uint32_t)k;
			p += k;
			n -= k;
			continue;
		}
		if (h->rx_hdn < 3) /* the 24-bit length leads the 9 bytes */
			h->rx_len = h->rx_len << 8 | *p;
		else if (h->rx_hdn == 3)
			h->rx_type = *p;
		p++;
		n--;
		if (++h->rx_hdn == 9) {
			h->rx_left = h->rx_len;
			h->rx_len = 0;
			h->rx_hdn = 0;
		}
	}
}

/* client_gone - the client's side ended (N 0) or failed (N -1, ERR): nginx's
 * info line, with the connection's context. A close is silent at idle
 * (no stream open, no frame cut), as nginx's; a failed TLS read was
 * logged by the TLS layer. */
static void client_gone(struct h2_conn *h, ssize_t n, int err)
{
	const struct conn *c = h->c;
	const struct log_target *el = c->lg->default_srv->loc.error_log;
	char client[LBD_SA_TEXT_MAX], msg[64];

	if ((n == 0 && !h->nstreams && !h->rx_left && !h->rx_hdn) || (n == -1 && c->tls) ||
	    !log_wants(el, LOG_INFO))
		return;
	if (n == 0)
		snprintf(msg, sizeof(msg), "client prematurely closed connection");
	else
		snprintf(msg, sizeof(msg), "recv() failed (%d: %s)", err, strerror(err));
	lbd_sa_text(&c->peer, 0, 0, client, sizeof(client));
	log_emit(el, LOG_INFO,
		 "*%llu %s while processing HTTP/2 connection, client: %s, server: %s",
		 (unsigned long long)c->number, msg, client, c->lg->text);
}

/* h2_feed - bytes from the client into the session. 0, or -1 when the
 * session must end (h->fatal says how, 0: a protocol error nghttp2
 * already answered with GOAWAY). */
static int h2_feed(struct h2_conn *h, const char *p, size_t n)
{
	ssize_t rc;

	rx_track(h, (const uint8_t *)p, n);
	rc = nghttp2_session_mem_recv(h->s, (const uint8_t *)p, n);

	if (rc >= 0)
		return 0;
	if (rc == NGHTTP2_ERR_FLOODED)
		h2_calm(h, "client does not read the answers to its SETTINGS or PING frames");
	else if (!h->fatal)
		h->fatal = NGHTTP2_PROTOCOL_ERROR;
	if (rc != NGHTTP2_ERR_BAD_CLIENT_MAGIC && rc != NGHTTP2_ERR_FLOODED)
		nghttp2_session_terminate_session(h->s, h->fatal);
	return rc == NGHTTP2_ERR_FLOODED || rc == NGHTTP2_ERR_BAD_CLIENT_MAGIC ? -2 : -1;
}

void h2_conn_run(struct conn *c)
{
	struct h2_conn *h = c->h2;
	char buf[H2_READ_CHUNK];
	int reads = 0;

	if (h->gone) {
		h2_flush(h); /* nothing is read any more */
		return;
	}
	if (buf_len(&h->out)) {
		int rc = h2_write_out(h);

		if (rc < 0) {
			h2_lost(h);
			return;
		}
	}
	/* a client that does not read its answers is not read either */
	while (c->readable && !buf_len(&h->out) && !h->fatal && reads++ < H2_READS_PER_RUN) {
		ssize_t n = conn_recv(c, buf, sizeof(buf));

		if (n == 0) {
			client_gone(h, 0, 0);
			h2_lost(h);
			return;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->readable = false;
				break;
			}
			client_gone(h, -1, errno);
			h2_lost(h);
			return;
		}
		/* A short read drained the socket, and edge-triggered epoll
		 * announces the next bytes; but not a FIN that came with these
		 * (a client's last frame and its close in one segment, as
		 * curl's SETTINGS ACK right before its close on a loaded
		 * machine): once the FIN was reported, read on to the end (as
		 * nginx's pending_eof), or the connection and its streams (a
		 * request whose mirror runs: its log line) wait for their
		 * timeouts. */
		if ((size_t)n < sizeof(buf) && !c->peer_hup)
			c->readable = false;
		int frc = h2_feed(h, buf, (size_t)n);

		if (frc == -2) {
			conn_close(c); /* nothing worth answering */
			return;
		}
		if (frc)
			break;
		run_queue(h);
		if (h->dead)
			return;
	}
	if (c->readable && !h->fatal && !buf_len(&h->out))
		/* more to read: after the other connections had their turn (a
		 * timer, not ev_defer: deferred calls run before epoll again) */
		ev_timer_start(&c->w->loop, &h->yield, 1);
	run_queue(h);
	if (!h->dead)
		h2_flush(h);
}

static void *mem_malloc(size_t n, void *ud)
{
	(void)ud;
	return h2mem_alloc(n);
}

static void mem_free(void *p, void *ud)
{
	(void)ud;
	h2mem_free(p);
}

static void *mem_calloc(size_t nmemb, size_t size, void *ud)
{
	(void)ud;
	return h2mem_calloc(nmemb, size);
}

static void *mem_realloc(void *p, size_t n, void *ud)
{
	(void)ud;
	return h2mem_realloc(p, n);
}

/* nghttp2's memory for its per-stream objects: from the worker thread's
 * free lists (a stream is one request) */
static nghttp2_mem h2_mem = {NULL, mem_malloc, mem_free, mem_calloc, mem_realloc};

void h2_worker_free(void)
{
	h2mem_thread_free();
}

int h2_conn_start(struct conn *c)
{
	const struct cfg_srv *srv = c->lg->default_srv;
	const struct cfg_loc *l = &srv->loc;
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	struct h2_conn *h = calloc(1, sizeof(*h));
	nghttp2_settings_entry iv[4];
	int rc = -ENOMEM;

	if (!h)
		goto fail;
	h->c = c;
	h->runq_tail = &h->runq;
	h->rx_left = NGHTTP2_CLIENT_MAGIC_LEN; /* the preface comes first */
	ev_timer_init(&h->yield, h2_yield_done, h);
	h->field_max = (size_t)(srv->h2_max_field != CFG_UNSET ? srv->h2_max_field
							       : srv->large_header_size);
	h->list_max = (size_t)(srv->h2_max_header != CFG_UNSET
				       ? srv->h2_max_header
				       : srv->large_header_num * srv->large_header_size);
	h->max_requests =
		srv->h2_max_requests != CFG_UNSET ? srv->h2_max_requests : l->keepalive_requests;
	if (h->max_requests <= 0)
		h->max_requests = 1;
	if (nghttp2_session_callbacks_new(&cb) || nghttp2_option_new(&opt))
		goto fail;
	nghttp2_session_callbacks_set_on_begin_frame_callback(cb, on_begin_frame);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_send_data_callback(cb, send_data);
	nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
	/* windows are given back as the request code reads, not on receipt */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	/* a client that never reads its ACKs and PONGs ends the session */
	nghttp2_option_set_max_outbound_ack(opt, 1000);
	nghttp2_option_set_max_settings(opt, 32);
	nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
	if (nghttp2_session_server_new3(&h->s, cb, h, opt, &h2_mem))
		goto fail;
	iv[0] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
					 (uint32_t)srv->h2_max_streams};
	iv[1] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 65535};
	iv[2] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
					 (uint32_t)h->list_max};
	/* no RFC 7540 priority tree: nghttp2 then keeps no closed streams
	 * and schedules by RFC 9218 urgency only, which is cheaper per
	 * stream */
	iv[3] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1};
	if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, 4) ||
	    nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW))
		goto fail;
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	cb = NULL;
	opt = NULL;
	c->h2 = h;
	c->state = CS_H2;
	if (buf_len(&c->in)) {
		int frc = h2_feed(h, c->in.data + c->in.start, buf_len(&c->in));

		c->in.start = c->in.end = 0;
		if (!frc)
			run_queue(h);
	}
	free(c->in.data);
	c->in = (struct buf){0};
	if (h->dead)
		return 0;
	h2_conn_run(c); /* the rest of the first flight may wait in the socket */
	return 0;
fail:
	if (cb)
		nghttp2_session_callbacks_del(cb);
	if (opt)
		nghttp2_option_del(opt);
	if (h && h->s)
		nghttp2_session_del(h->s);
	free(h);
	conn_close(c);
	return rc;
}

void h2_conn_timeout(struct conn *c)
{
	struct h2_conn *h = c->h2;

	if (h->gone)
		return; /* no timer of its own: its streams' bound them */
	if (buf_len(&h->out)) {
		conn_close(c); /* send_timeout: the client does not read */
		return;
	}
	if (h->in_block || !h->nstreams) {
		/* idle, or a header block left unfinished: GOAWAY and close */
		nghttp2_session_terminate_session(h->s, NGHTTP2_NO_ERROR);
		h->fatal = NGHTTP2_NO_ERROR;
		h2_flush(h);
		if (!h->dead)
			conn_close(c);
		return;
	}
	h2_arm(h);
}

void h2_conn_shutdown(struct conn *c)
{
	struct h2_conn *h = c->h2;

	if (!h->goaway && !h->fatal) {
		h->goaway = true;
		nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE,
				      nghttp2_session_get_last_proc_stream_id(h->s),
				      NGHTTP2_NO_ERROR, NULL, 0);
	}
	h2_flush(h);
}

void h2_conn_closed(struct conn *c)
{
	struct h2_conn *h = c->h2;

	h->dead = true;
	ev_timer_stop(&c->w->loop, &h->yield);
	block_cut(h); /* whatever ends the connection: a close, an error, a timeout */
	/* each stream's request ends as at its reset: logged as nginx's (499,
	 * or its status and what went out), or at its close once its
	 * mirrors are cut; closing detaches it (s->c becomes NULL) */
	for (struct h2_stream *s = h->streams; s; s = s->next) {
		if (s->c) {
			s->closed = true; /* its writes fail, its reads find the end */
			http_stream_cut(s->c);
		}
	}
	c->h2 = NULL;
	if (ev_defer(&c->w->loop, h2_free, h))
		h2_free(h);
}

bool h2_stream_can_outlive(const struct conn *c)
{
	return !c->h2s->h->dead;
}

int32_t h2_stream_id(const struct conn *c)
{
	const struct h2_stream *st = c->h2s;

	return st ? st->id : 0;
}

int h2_stream_fd(const struct conn *c)
{
	const struct h2_stream *st = c->h2s;

	return st && st->h && st->h->c ? st->h->c->io.fd : -1;
}
