/* SPDX-License-Identifier: MIT */
/*
 * gRPC upstreams (grpc_pass): an nghttp2 client session on one upstream
 * socket, one request at a time: a connection per request, or, with
 * `keepalive` in the upstream block, one request after the other on a
 * kept session (grpc_up_next).
 * proxy.c keeps driving the request as for an HTTP/1.1 upstream; this
 * module is the layer between it and the socket, as TLS is for https://:
 *
 *   request:  the fields proxy.c collected go out as HEADERS; the body it
 *             offers (grpc_up_send) goes out as DATA as it arrives, within
 *             the upstream's flow-control windows, END_STREAM after the
 *             last byte.
 *   answer:   the response HEADERS become an HTTP/1.1 head, each DATA
 *             frame one chunk of a chunked body, the trailing HEADERS
 *             (grpc-status, grpc-message) the trailer section of the last
 *             chunk: proxy.c's head parser and chunked relay need nothing
 *             new, and h2.c turns that trailer section into the client's
 *             trailing HEADERS. A HEADERS that ends the stream at once
 *             (gRPC's Trailers-Only) becomes a head with Content-Length: 0.
 *
 * Both directions run at once (gRPC's bidirectional streaming): proxy.c
 * offers body bytes and reads answer bytes in any order. The answer's DATA
 * are given back to the upstream's windows only as proxy.c reads them
 * (no automatic WINDOW_UPDATE), so the decoded bytes held here never pass
 * our windows (GRPC_WINDOW): a client that does not read stops the
 * upstream, whichever side reads the socket.
 *
 * Owns struct grpc_up (malloc): the session, the frames not yet written
 * and the decoded answer bytes not yet read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "grpc.h"
#include "http.h"
#include "upssl.h"

#define GRPC_WINDOW	 (1 << 20)   /* our receive windows (stream and connection) */
#define GRPC_READ_CHUNK	 16384	     /* socket bytes read at a time */
#define GRPC_OUT_MAX	 (64 * 1024) /* pending frames past which no more body is taken */
#define GRPC_MAX_HEADERS 200	     /* upstream fields in one header block */
#define GRPC_FEEDS	 64	     /* socket reads in one wait for a WINDOW_UPDATE */

/* struct gbuf - bytes [start, end) of a malloc'ed buffer of cap bytes. */
struct gbuf {
	char *data;
	size_t start, end, cap;
};

/* struct grpc_up - the session of one upstream request. */
struct grpc_up {
	nghttp2_session *ss; /* the client session */
	int32_t sid;	     /* our stream (1) */
	struct gbuf out;     /* frames not yet written to the socket */
	struct gbuf in;	     /* decoded answer bytes not yet read by proxy.c */
	size_t in_data;	     /* of them, DATA payload not yet given back to the windows */
	uint64_t sock_rx;    /* bytes read from the socket for this request */
	uint64_t sock_tx;    /* and written to it */
	struct gbuf trl;     /* trailer lines of the answer being collected */
	/* the body offered by the current grpc_up_send call */
	const char *body;
	size_t body_len, body_took;
	bool body_eof;	   /* no body byte follows body[] */
	bool has_body;	   /* the request has a DATA part */
	bool deferred;	   /* the data source returned DEFERRED */
	bool end_sent;	   /* our END_STREAM was framed */
	bool head_done;	   /* the final response head is in `in` */
	bool ended;	   /* the answer's END_STREAM was received */
	bool sock_eof;	   /* the upstream closed the connection */
	bool goaway;	   /* the upstream sent GOAWAY: no stream after this one */
	int fields;	   /* fields in the header block being read */
	int status;	   /* :status of the head being read */
	const char *error; /* what went wrong (static string), or NULL */
	char errbuf[96];   /* room for an error with a number */
};

/* gbuf_put - append N bytes; -1 when out of memory. */
static int gbuf_put(struct gbuf *b, const void *p, size_t n)
{
	if (!n)
		return 0;
	if (b->start && b->start == b->end)
		b->start = b->end = 0;
	if (b->end + n > b->cap) {
		size_t live = b->end - b->start, cap = b->cap ? b->cap : 1024;

		if (b->start) { /* slide the live bytes down first */
			memmove(b->data, b->data + b->start, live);
			b->start = 0;
			b->end = live;
		}
		while (cap < live + n)
			cap *= 2;
		if (cap > b->cap) {
			char *d = realloc(b->data, cap);

			if (!d)
				return -1;
			b->data = d;
			b->cap = cap;
		}
	}
	memcpy(b->data + b->end, p, n);
	b->end += n;
	return 0;
}

static size_t gbuf_len(const struct gbuf *b)
{
	return b->end - b->start;
}

static void fail(struct grpc_up *g, const char *what)
{
	if (!g->error)
		g->error = what;
}

/* ---- nghttp2 callbacks ------------------------------------------------------------------ */

static ssize_t body_read(nghttp2_session *ss, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
			 nghttp2_data_source *src, void *ud)
{
	struct grpc_up *g = ud;
	size_t n = g->body_len - g->body_took;

	(void)ss, (void)id, (void)src;
	if (n > len)
		n = len;
	if (n)
		memcpy(buf, g->body + g->body_took, n);
	g->body_took += n;
	if (g->body_took == g->body_len) {
		if (g->body_eof) {
			*flags |= NGHTTP2_DATA_FLAG_EOF;
			g->end_sent = true;
		} else if (!n) {
			g->deferred = true;
			return NGHTTP2_ERR_DEFERRED;
		}
	}
	return (ssize_t)n;
}

static int on_begin_headers(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	struct grpc_up *g = ud;

	(void)ss;
	if (f->hd.stream_id == g->sid)
		g->fields = 0;
	return 0;
}

/* hop - fields an HTTP/1.1 head must not carry from an HTTP/2 answer (the
 * framing is ours: chunks or Content-Length: 0). */
static bool hop(const uint8_t *n, size_t len)
{
	return (len == 14 && memcmp(n, "content-length", 14) == 0) ||
	       (len == 17 && memcmp(n, "transfer-encoding", 17) == 0) ||
	       (len == 10 && memcmp(n, "connection", 10) == 0) ||
	       (len == 10 && memcmp(n, "keep-alive", 10) == 0);
}

/* field_ok - bytes that may go into an HTTP/1.1 field line unchanged. */
static bool field_ok(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
			return false;
	return true;
}

static int on_header(nghttp2_session *ss, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct grpc_up *g = ud;
	bool trailers = g->head_done;
	struct gbuf *b = trailers ? &g->trl : &g->in;
	char line[80];

	(void)ss, (void)flags;
	if (f->hd.stream_id != g->sid || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (++g->fields > GRPC_MAX_HEADERS) {
		fail(g, "upstream sent too many header fields");
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	if (!field_ok(name, nlen) || !field_ok(value, vlen)) {
		fail(g, "upstream sent invalid header");
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	if (nlen && name[0] == ':') {
		if (trailers || nlen != 7 || memcmp(name, ":status", 7) != 0 || vlen != 3 ||
		    value[0] < '1' || value[0] > '5' || value[1] < '0' || value[1] > '9' ||
		    value[2] < '0' || value[2] > '9') {
			fail(g, "upstream sent invalid status");
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		g->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
		/* nginx's own status line (its reason phrase), as for any
		 * upstream answer without one */
		snprintf(line, sizeof(line), "HTTP/1.1 %s\r\n", http_status_line(g->status));
		return gbuf_put(b, line, strlen(line)) ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
	}
	if (hop(name, nlen))
		return 0;
	if (gbuf_put(b, name, nlen) || gbuf_put(b, ": ", 2) || gbuf_put(b, value, vlen) ||
	    gbuf_put(b, "\r\n", 2))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return 0;
}

/* answer_end - the stream ended: the last chunk with the trailers, or,
 * when the head itself ended it, the head's end with an empty body. */
static int answer_end(struct grpc_up *g, bool in_head)
{
	g->ended = true;
	if (in_head)
		return gbuf_put(&g->in, "Content-Length: 0\r\n\r\n", 21);
	if (gbuf_put(&g->in, "0\r\n", 3) ||
	    gbuf_put(&g->in, g->trl.data + g->trl.start, gbuf_len(&g->trl)) ||
	    gbuf_put(&g->in, "\r\n", 2))
		return -1;
	return 0;
}

static int on_frame_recv(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	struct grpc_up *g = ud;
	bool es = f->hd.flags & NGHTTP2_FLAG_END_STREAM;

	(void)ss;
	switch (f->hd.type) {
	case NGHTTP2_HEADERS:
		if (f->hd.stream_id != g->sid)
			return 0;
		if (!g->head_done) {
			/* an interim (1xx) head is passed as such: the proxy skips it */
			if (g->status >= 100 && g->status < 200)
				return gbuf_put(&g->in, "\r\n", 2) ? NGHTTP2_ERR_CALLBACK_FAILURE
								   : 0;
			if (es)
				return answer_end(g, true) ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
			g->head_done = true;
			return gbuf_put(&g->in, "Transfer-Encoding: chunked\r\n\r\n", 30)
				       ? NGHTTP2_ERR_CALLBACK_FAILURE
				       : 0;
		}
		if (!es) {
			fail(g, "upstream sent trailer without end stream flag");
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		return answer_end(g, false) ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
	case NGHTTP2_DATA:
		if (f->hd.stream_id == g->sid && es && !g->ended)
			return answer_end(g, false) ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
		return 0;
	case NGHTTP2_RST_STREAM:
		if (f->hd.stream_id == g->sid && !g->ended) {
			snprintf(g->errbuf, sizeof(g->errbuf),
				 "upstream rejected request with error %u",
				 f->rst_stream.error_code);
			fail(g, g->errbuf);
		}
		return 0;
	case NGHTTP2_GOAWAY:
		g->goaway = true; /* no new stream on this session */
		if (f->goaway.last_stream_id < g->sid && !g->ended)
			fail(g, "upstream sent goaway");
		return 0;
	default:
		return 0;
	}
}

static int on_data_chunk(nghttp2_session *ss, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *ud)
{
	struct grpc_up *g = ud;
	char size[24];

	(void)ss, (void)flags;
	if (id != g->sid) { /* a stream of ours no more: nobody reads it */
		nghttp2_session_consume(ss, id, len);
		return 0;
	}
	if (!len)
		return 0;
	if (!g->head_done) {
		fail(g, "upstream sent data before headers");
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	snprintf(size, sizeof(size), "%zx\r\n", len);
	if (gbuf_put(&g->in, size, strlen(size)) || gbuf_put(&g->in, data, len) ||
	    gbuf_put(&g->in, "\r\n", 2))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	g->in_data += len; /* its window comes back as proxy.c reads it */
	return 0;
}

static int on_stream_close(nghttp2_session *ss, int32_t id, uint32_t code, void *ud)
{
	struct grpc_up *g = ud;

	(void)ss;
	if (id == g->sid && !g->ended) {
		snprintf(g->errbuf, sizeof(g->errbuf), "upstream rejected request with error %u",
			 code);
		fail(g, g->errbuf);
	}
	return 0;
}

/* ---- the session ------------------------------------------------------------------------ */

/* pump - the frames the session has to send, into g->out. 0 or -1. */
static int pump(struct grpc_up *g)
{
	for (;;) {
		const uint8_t *p;
		ssize_t n = nghttp2_session_mem_send(g->ss, &p);

		if (n < 0) {
			fail(g, "upstream session failed");
			return -1;
		}
		if (!n)
			return 0;
		if (gbuf_put(&g->out, p, (size_t)n)) {
			fail(g, "out of memory");
			return -1;
		}
	}
}

/* flush - write g->out to FD (through TLS when set). 1 all written, 0
 * FD full, -errno. After 0, the same bytes are presented again, as TLS
 * wants. */
static int flush(struct grpc_up *g, int fd, struct tls_conn *tls)
{
	while (gbuf_len(&g->out)) {
		struct iovec iov = {g->out.data + g->out.start, gbuf_len(&g->out)};
		/* MSG_NOSIGNAL: a closed upstream is an EPIPE, not a signal */
		ssize_t w = tls ? up_io_writev(fd, tls, &iov, 1)
				: send(fd, iov.iov_base, iov.iov_len, MSG_NOSIGNAL);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		g->out.start += (size_t)w;
		g->sock_tx += (size_t)w;
	}
	g->out.start = g->out.end = 0;
	return 1;
}

/* submit - the request of fields F[0..N) (BODY: DATA follows) as the next
 * stream of G's session, its first frames pumped. 0, or -1. */
static int submit(struct grpc_up *g, const struct grpc_field *f, size_t n, bool body)
{
	nghttp2_data_provider dp = {.read_callback = body_read};
	nghttp2_nv *nv = calloc(n ? n : 1, sizeof(*nv));

	if (!nv)
		return -1;
	for (size_t i = 0; i < n; i++)
		nv[i] = (nghttp2_nv){(uint8_t *)f[i].name, (uint8_t *)f[i].value, f[i].namelen,
				     f[i].valuelen, NGHTTP2_NV_FLAG_NONE};
	g->has_body = body;
	g->sid = nghttp2_submit_request(g->ss, NULL, nv, n, body ? &dp : NULL, NULL);
	free(nv); /* nghttp2 copied the fields */
	if (g->sid < 0)
		return -1;
	g->end_sent = !body;
	return pump(g);
}

struct grpc_up *grpc_up_new(const struct grpc_field *f, size_t n, bool body)
{
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	nghttp2_settings_entry iv[2] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
					{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, GRPC_WINDOW}};
	struct grpc_up *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	if (nghttp2_session_callbacks_new(&cb) || nghttp2_option_new(&opt))
		goto fail;
	/* windows given back as proxy.c reads the answer (grpc_up_recv) */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	if (nghttp2_session_client_new2(&g->ss, cb, g, opt))
		goto fail;
	/* the preface, SETTINGS and HEADERS, ready for the first write */
	if (nghttp2_submit_settings(g->ss, NGHTTP2_FLAG_NONE, iv, 2) ||
	    nghttp2_session_set_local_window_size(g->ss, NGHTTP2_FLAG_NONE, 0, GRPC_WINDOW) ||
	    submit(g, f, n, body))
		goto fail;
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	return g;
fail:
	if (cb)
		nghttp2_session_callbacks_del(cb);
	if (opt)
		nghttp2_option_del(opt);
	grpc_up_free(g);
	return NULL;
}

bool grpc_up_reusable(const struct grpc_up *g)
{
	/* a whole exchange, nothing pending either way, the session sound and
	 * far from the end of its stream ids */
	return g->ended && g->end_sent && !gbuf_len(&g->out) && !gbuf_len(&g->in) && !g->error &&
	       !g->sock_eof && !g->goaway && g->sid < (1 << 30) && nghttp2_session_want_read(g->ss);
}

int grpc_up_next(struct grpc_up *g, const struct grpc_field *f, size_t n, bool body)
{
	g->in.start = g->in.end = 0;
	g->in_data = 0;
	g->sock_rx = g->sock_tx = 0;
	g->trl.start = g->trl.end = 0;
	g->deferred = g->end_sent = g->head_done = g->ended = false;
	g->fields = g->status = 0;
	return submit(g, f, n, body) ? -ENOMEM : 0;
}

void grpc_up_free(struct grpc_up *g)
{
	if (!g)
		return;
	if (g->ss)
		nghttp2_session_del(g->ss);
	free(g->out.data);
	free(g->in.data);
	free(g->trl.data);
	free(g);
}

/* feed - read FD once into the session. 1 bytes were fed, 0 FD drained,
 * -1 (error set) on a socket or protocol error; an EOF sets sock_eof. */
static int feed(struct grpc_up *g, int fd, struct tls_conn *tls)
{
	uint8_t buf[GRPC_READ_CHUNK];
	ssize_t n;

	do
		n = up_io_recv(fd, tls, buf, sizeof(buf));
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		snprintf(g->errbuf, sizeof(g->errbuf), "recv() failed (%d: %s)", errno,
			 strerror(errno));
		fail(g, g->errbuf);
		return -1;
	}
	if (!n) {
		g->sock_eof = true;
		return 0;
	}
	g->sock_rx += (size_t)n;
	if (nghttp2_session_mem_recv(g->ss, buf, (size_t)n) < 0) {
		fail(g, "upstream sent invalid http2 frames");
		return -1;
	}
	if (g->error)
		return -1;
	if (pump(g))
		return -1;
	return 1;
}

/* forget_body - the offered body is the caller's again: a read of the
 * data source from elsewhere (a WINDOW_UPDATE fed by grpc_up_recv) finds
 * none and defers; what was not taken is offered again. */
static void forget_body(struct grpc_up *g)
{
	g->body = NULL;
	g->body_len = g->body_took = 0;
	g->body_eof = false;
}

long grpc_up_send(struct grpc_up *g, int fd, struct tls_conn *tls, const char *p, size_t n,
		  bool eof, bool *blocked)
{
	int rc;

	*blocked = false;
	g->body = p;
	g->body_len = n;
	g->body_took = 0;
	g->body_eof = eof;
	for (int round = 0; round < 2; round++) {
		if (g->deferred && (n || eof)) {
			g->deferred = false;
			nghttp2_session_resume_data(g->ss, g->sid);
		}
		if (gbuf_len(&g->out) < GRPC_OUT_MAX && pump(g))
			goto err;
		rc = flush(g, fd, tls);
		if (rc < 0) {
			forget_body(g);
			return rc;
		}
		if (!rc) {
			*blocked = true;
			break;
		}
		if (g->body_took || g->end_sent || g->ended || (!n && !eof))
			break;
		/* nothing taken: the windows may be shut; read what the
		 * upstream sent (WINDOW_UPDATE, SETTINGS) and try again. It
		 * may be behind answer DATA: those are decoded into g->in,
		 * which our windows bound. */
		for (int i = 0; i < GRPC_FEEDS && (rc = feed(g, fd, tls)) > 0; i++)
			;
		if (rc < 0)
			goto err;
		if (g->sock_eof && !g->ended) {
			fail(g, "upstream prematurely closed connection");
			goto err;
		}
	}
	n = g->body_took;
	forget_body(g);
	return (long)n;
err:
	forget_body(g);
	return -EPROTO;
}

bool grpc_up_sent(const struct grpc_up *g)
{
	return g->end_sent && !gbuf_len(&g->out);
}

void grpc_up_cancel(struct grpc_up *g, int fd, struct tls_conn *tls)
{
	if ((g->ended && g->end_sent) || g->error || g->sock_eof || g->sid <= 0)
		return;
	/* best effort: the connection is closed right after */
	if (!nghttp2_submit_rst_stream(g->ss, NGHTTP2_FLAG_NONE, g->sid, NGHTTP2_CANCEL) &&
	    !pump(g))
		flush(g, fd, tls);
}

ssize_t grpc_up_recv(struct grpc_up *g, int fd, struct tls_conn *tls, char *buf, size_t len)
{
	size_t got = 0;

	if (gbuf_len(&g->out) && flush(g, fd, tls) < 0 && !g->error)
		fail(g, "upstream connection failed while sending");
	while (got < len) {
		size_t have = gbuf_len(&g->in);

		if (have) {
			size_t k = have < len - got ? have : len - got;

			memcpy(buf + got, g->in.data + g->in.start, k);
			g->in.start += k;
			got += k;
			if (g->in_data) {
				/* framing bytes may count as DATA: by a few bytes */
				size_t d = gbuf_len(&g->in) ? LBD_MIN(k, g->in_data) : g->in_data;

				g->in_data -= d;
				nghttp2_session_consume(g->ss, g->sid, d);
			}
			continue;
		}
		if (g->ended || g->sock_eof)
			break;
		if (g->error) {
			if (got)
				break;
			errno = EPROTO;
			return -1;
		}
		int rc = feed(g, fd, tls);

		if (rc > 0) {
			if (gbuf_len(&g->out))
				flush(g, fd, tls);
			continue;
		}
		if (rc < 0)
			continue; /* the error is reported once the decoded bytes are read */
		if (g->sock_eof)
			continue;
		break;
	}
	/* the WINDOW_UPDATEs of what was read, out now (or with the next
	 * write when the socket is full) */
	if (got && nghttp2_session_want_write(g->ss) && !pump(g))
		flush(g, fd, tls);
	if (!got && !g->ended && !g->sock_eof) {
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t)got;
}

void grpc_up_bytes(const struct grpc_up *g, uint64_t *rx, uint64_t *tx)
{
	*rx = g->sock_rx;
	*tx = g->sock_tx;
}

bool grpc_up_done(const struct grpc_up *g)
{
	return g->ended;
}

const char *grpc_up_error(const struct grpc_up *g)
{
	return g->error;
}
