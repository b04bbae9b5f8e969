/* SPDX-License-Identifier: MIT */
/*
 * The proxy's response body (part of proxy.c's module, see there): the
 * relay from the upstream to the client with backpressure, through
 * proxy_buffering, proxy_limit_rate, the chunked and memcached framings,
 * and the cache and proxy_store tees; the response's end (accounting,
 * release of the upstream); and after a 101, the upgraded connection's
 * tunnel both ways.
 */

#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "gunzip.h"
#include "subfilter.h"
#include "cache.h"
#include "ksplice.h"
#include "pbuf.h"
#include "range.h"
#include "ratelimit.h"
#include "tunnel.h"
#include "memc.h"
#include "store.h"
#include "proxy_int.h"

/* fcgi_stderr - an FCGI_STDERR piece: logged as nginx logs it. */
static void fcgi_stderr(void *arg, const char *p, size_t len)
{
	struct uconn *u = arg;

	len = fcgi_stderr_trim(p, len);
	if (len)
		up_log(u, LOG_ERR, "FastCGI sent in stderr: \"%.*s\" while %s", (int)len, p,
		       u->state == US_RELAY ? "reading upstream"
					    : "reading response header from upstream");
	/* fastcgi_catch_stderr: before the head only, in the piece as logged
	 * (nginx's) */
	const struct str_list *cs = &u->c->req.loc->fcgi.catch_stderr;

	for (int i = 0; i < cs->n && u->state != US_RELAY && !u->fc.caught; i++)
		if (memmem(p, len, cs->v[i], strlen(cs->v[i])))
			u->fc.caught = true;
}

/* fcgi_recv - N bytes received at P from a FastCGI upstream: decoded in
 * place, the stdout bytes' count returned; -1 (logged) when the records
 * are broken. */
long fcgi_recv(struct uconn *u, char *p, size_t n)
{
	long k = fcgi_decode(&u->fc.d, p, n, fcgi_stderr, u);

	if (k < 0)
		up_log(u, LOG_ERR, "upstream sent %s while reading %s",
		       k == FCGI_DEC_BAD_VERSION ? "unsupported FastCGI protocol version"
		       : k == FCGI_DEC_BAD_ID	 ? "invalid FastCGI request id"
						 : "invalid FastCGI record type",
		       u->state == US_RELAY ? "upstream" : "response header from upstream");
	return k;
}

/* ---- relay ------------------------------------------------------------------------------ */

/* uncork - send what MSG_MORE held in the client socket, before the relay
 * waits for the upstream (the held bytes would otherwise leave only with
 * the next ACK, or the probe timer when none is due). */
static void uncork(struct uconn *u)
{
	if (u->corked) {
		u->corked = false;
		http_push(u->c);
	}
}

/* chunk_data_len - the data bytes in P[0..N), the next bytes of a chunked
 * body decoded by ST (its framing and trailers not counted). */
static size_t chunk_data_len(struct h1_chunked *st, const char *p, size_t n)
{
	size_t sum = 0;

	while (n) {
		struct h1_str d = {0};
		size_t used = 0;

		if (h1_parse_chunked(st, p, n, &used, &d) != H1_CHUNK_DATA)
			break;
		sum += d.len;
		p += used;
		n -= used;
	}
	return sum;
}

/* write_pending - c->out, then span, then suffix. 1 all written, 0 EAGAIN,
 * -1 client error. A buffered response (pbuf.c) sends what it holds first,
 * and what the client cannot take goes to the buffers: 1 then means all
 * written or buffered, 0 that the buffers are full too. */
static int write_pending(struct uconn *u)
{
	struct conn *c = u->c;
	bool to_buf = false;
	/* More of the body follows: let the kernel fill whole segments
	 * (HAProxy sends with MSG_MORE likewise). Only on a TCP_NODELAY
	 * socket, where http_push and every ACK send what is held. */
	bool more = !u->done && u->fr != FR_NONE && c->lg && c->lg->default_srv->loc.tcp_nodelay;

	if (unlikely(u->orphan)) { /* nobody to send to: dropped */
		c->out.start = c->out.end = 0;
		u->span_len = u->suffix_len = u->suffix_off = 0;
		return 1;
	}
	if (c->req.pb) {
		int rc = pbuf_flush(c);

		if (rc < 0)
			return -1;
		to_buf = rc == 0;
	}
	for (;;) {
		struct iovec iov[3];
		int n = 0;
		size_t outl = c->out.end - c->out.start;
		ssize_t w;

		if (outl)
			iov[n++] = (struct iovec){c->out.data + c->out.start, outl};
		if (u->span_len)
			iov[n++] = (struct iovec){(void *)u->span, u->span_len};
		if (u->suffix_len > u->suffix_off)
			iov[n++] = (struct iovec){u->suffix + u->suffix_off,
						  u->suffix_len - u->suffix_off};
		if (!n) {
			c->out.start = c->out.end = 0;
			return 1;
		}
		if (to_buf) {
			w = (ssize_t)pbuf_putv(c, iov, n);
			if (!w)
				return 0;
		} else if (more) {
			w = http_writev_more(c, iov, n);
			u->corked |= w > 0;
		} else {
			w = http_writev(c, iov, n);
			u->corked &= w <= 0; /* a write without MSG_MORE pushes all */
		}
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!c->req.pb)
					return 0;
				to_buf = true;
				continue;
			}
			return -1;
		}
		size_t k = (size_t)w;

		/* buffered bytes count as sent: they leave without the relay */
		c->req.bytes_sent += k;
		size_t a = LBD_MIN(k, outl);

		c->out.start += a;
		k -= a;
		a = LBD_MIN(k, u->span_len);
		/* gRPC to HTTP/2: its messages, not lbd's chunk framing of them (h2.c
		 * sends the data alone), as nginx counts */
		c->req.body_bytes_sent +=
			unlikely(u->gr.on) && c->h2s && u->fr == FR_CHUNKED && !u->dechunk
				? chunk_data_len(&u->gr.bch, u->span, a)
				: a;
		u->span += a;
		u->span_len -= a;
		k -= a;
		u->suffix_off += k;
	}
}

/* memc_trailer - the N bytes at P read after a memcached value: nginx
 * logs what does not go on "\r\nEND\r\n" (the value is sent whole all
 * the same). */
void memc_trailer(struct uconn *u, const char *p, size_t n)
{
	bool first = u->mc.first;

	u->mc.first = false;
	if (!n || u->mc.trail > MEMC_TRAILER_LEN)
		return;
	if (memc_trailer_ok(p, n, u->mc.trail)) {
		u->mc.trail += n;
		return;
	}
	u->mc.trail = MEMC_TRAILER_LEN + 1; /* said once */
	up_log(u, LOG_ERR, "memcached sent invalid trailer while reading %s",
	       first ? "response header from upstream" : "upstream");
}

/* chunk_wrap - the span goes out as one chunk of ours: its size line
 * into c->out (written before the span), its CRLF as the suffix. */
static int chunk_wrap(struct uconn *u)
{
	static const char hexd[] = "0123456789abcdef";
	size_t n = u->span_len;
	char pre[24];
	int k = 0;

	if (!n)
		return 0;
	for (int sh = 60; sh >= 0; sh -= 4)
		if ((n >> sh) || k || sh == 0)
			pre[k++] = hexd[(n >> sh) & 15];
	pre[k++] = '\r';
	pre[k++] = '\n';
	if (http_out_append(u->c, pre, (size_t)k))
		return -1;
	memcpy(u->suffix, "\r\n", 2);
	u->suffix_len = 2;
	return 0;
}

/* trailer_start - where the trailer section of a chunked body starts in
 * P..P+N, which decoder state WAS read into the trailer section (or to
 * its end): OFF + its offset, or OFF when WAS was in it already. Once a
 * body, so the bytes are fed again one at a time. */
static size_t trailer_start(const struct h1_chunked *was, const char *p, size_t n, size_t off)
{
	struct h1_chunked st = *was;

	for (size_t i = 0; i < n && !h1_chunked_trailer(&st); i++) {
		struct h1_str d;
		size_t used = 0;

		h1_parse_chunked(&st, p + i, 1, &used, &d);
		if (h1_chunked_trailer(&st))
			return off + i + 1;
	}
	return off;
}

/* reframe - P[0..N), the next bytes of a chunked answer passed on whose
 * framing is not what nginx writes (bare LF line ends, extensions), u->ch
 * the decoder's state at P + K: P[0..K) as it came (well-formed), then the
 * same chunks in canonical form, become the span. The bytes before went
 * out as they came, up to a state the canonical form goes on from. nginx
 * decodes and chunks again, so its client never sees the upstream's
 * framing. */
static int reframe(struct uconn *u, const char *p, size_t k, size_t n)
{
	size_t used = 0, olen = 0;
	int rc;

	if (!u->canon && !(u->canon = pool_alloc(&u->c->pool, 2 * RELAY_BUF_SIZE)))
		return -1;
	/* n <= RELAY_BUF_SIZE: what rbuf holds; at most 2 bytes out for one in */
	memcpy(u->canon, p, k);
	rc = h1_chunked_canon(&u->ch, p + k, n - k, &used, u->canon + k, &olen);
	if (rc != H1_INCOMPLETE && rc != H1_CHUNK_DONE)
		return -1;
	if (rc == H1_CHUNK_DONE)
		u->done = true;
	if (k + used < n)
		u->keepalive = false;
	u->span = u->canon;
	u->span_len = k + olen;
	u->rstart = u->rend;
	return 0;
}

/* frame - turn bytes [rstart, rend) of rbuf into the next span. */
static int frame(struct uconn *u)
{
	size_t avail = u->rend - u->rstart;
	const char *p = u->rbuf + u->rstart;

	u->suffix_len = u->suffix_off = 0;
	switch (u->fr) {
	case FR_NONE:
		u->rstart = u->rend;
		return 0;
	case FR_LENGTH: {
		size_t n = (size_t)LBD_MIN((uint64_t)avail, u->remaining);

		u->span = p;
		u->span_len = n;
		u->remaining -= n;
		if (unlikely(u->mc.on))
			memc_trailer(u, p + n, avail - n);
		u->rstart = u->rend; /* bytes past Content-Length are discarded */
		if (u->remaining == 0)
			u->done = true;
		/* memcached: reusable once its trailer was read, exactly */
		if (unlikely(u->mc.on) ? u->remaining == 0 && u->mc.trail != MEMC_TRAILER_LEN
				       : avail > n)
			u->keepalive = false;
		return 0;
	}
	case FR_CLOSE:
		u->span = p;
		u->span_len = avail;
		u->rstart = u->rend;
		return u->chunk_out ? chunk_wrap(u) : 0;
	case FR_CHUNKED: {
		size_t off = 0;

		if (!u->dechunk) {
			/* pass the framing through, up to the end of the message */
			size_t cut = SIZE_MAX; /* where the upstream's trailer fields start */
			/* gRPC: h2.c sends them as its trailers; else nginx drops them */
			bool drop = !u->gr.on;

			if (unlikely(u->ch.odd) && drop)
				return reframe(u, p, 0, avail);
			while (off < avail) {
				struct h1_str d;
				size_t consumed = 0;
				struct h1_chunked was = u->ch;
				int rc = h1_parse_chunked(&u->ch, p + off, avail - off, &consumed,
							  &d);

				if (rc != H1_CHUNK_DATA && rc != H1_CHUNK_DONE &&
				    rc != H1_INCOMPLETE)
					return -1;
				if (unlikely(u->ch.odd) && drop) {
					/* not nginx's framing: from this parse on
					 * (and in later reads), the canonical form */
					u->ch = was;
					return reframe(u, p, off, avail);
				}
				if (drop && rc != H1_CHUNK_DATA && cut == SIZE_MAX &&
				    h1_chunked_trailer(&u->ch))
					cut = trailer_start(&was, p + off, consumed, off);
				off = rc == H1_INCOMPLETE ? avail : off + consumed;
				if (rc == H1_CHUNK_DONE) {
					u->done = true;
					break;
				}
			}
			u->span = p;
			u->span_len = LBD_MIN(off, cut);
			if (cut != SIZE_MAX && u->done) {
				/* the empty line alone ends the body */
				memcpy(u->suffix, "\r\n", 2);
				u->suffix_len = 2;
			}
			if (off < avail)
				u->keepalive = false;
			u->rstart = u->rend;
			return 0;
		}
		/* HTTP/1.0 client: one decoded span at a time */
		for (;;) {
			struct h1_str d;
			size_t consumed = 0;
			int rc = h1_parse_chunked(&u->ch, p, avail, &consumed, &d);

			if (rc == H1_CHUNK_DATA) {
				u->span = d.p;
				u->span_len = d.len;
				u->rstart += consumed;
				return u->chunk_out ? chunk_wrap(u) : 0;
			}
			if (rc == H1_CHUNK_DONE) {
				u->done = true;
				u->rstart = u->rend;
				return 0;
			}
			if (rc == H1_INCOMPLETE) {
				u->rstart = u->rend;
				return 0;
			}
			return -1;
		}
	}
	}
	return -1;
}

/* frame_tee - frame, and give the body bytes to the cache as received
 * (before any transformation on the way to the client). */
static int frame_tee(struct uconn *u)
{
	int rc = frame(u);

	if (!rc && u->c->req.cache)
		cache_tee(u->c, u->span, u->span_len, u->fr == FR_CHUNKED && !u->dechunk);
	if (!rc && unlikely(u->c->req.store))
		store_tee(u->c, u->span, u->span_len, u->fr == FR_CHUNKED && !u->dechunk);
	if (u->sink)
		u->span_len = u->suffix_len = 0;
	else if (unlikely(u->c->req.rng))
		range_clip(u->c->req.rng, &u->span, &u->span_len);
	return rc;
}

static void finish(struct uconn *u)
{
	struct conn *c = u->c;
	int64_t us = lbd_now_us() - u->try_us;

	if (u->fc.on && !u->fc.d.ended)
		u->keepalive = false; /* its END_REQUEST would be read by the next request */
	if (u->gr.tx) {
		/* answered whole before the client's stream ended: the rest of
		 * its body is not read (an HTTP/2 stream is reset with
		 * NO_ERROR after the answer, h2.c; an HTTP/1.1 connection
		 * closes) */
		u->gr.tx = false;
		u->early = true;
		c->close_after = true;
	}
	if (u->early)
		u->keepalive = false; /* the request's body never all went */
	cache_store_end(c, true);
	if (unlikely(c->req.store))
		store_end(c);
	if (!c->req.trl_queued) /* else taken when the trailers were */
		fmt_ms(c->req.up_resp_time, sizeof(c->req.up_resp_time), us);
	try_bytes(u, true);
	if (u->srv)
		account(u->srv, u->resp.status, us);
	uncork(u);
	up_release(u, false);
	ev_timer_stop(&c->w->loop, &c->timer);
	pbuf_finish(c); /* the client may still drain buffered bytes */
}

/* filters_busy - sub_filter or gzip still holds bytes or owes its end. */
static bool filters_busy(const struct conn *c, bool done)
{
	return subfilter_busy(c, done) || gzip_busy(c, done) || gunzip_busy(c, done);
}

/* next_span - frame the buffered bytes into the next span; the body
 * filters take them in turn (sub_filter, then gzip) and the span is the
 * last one's output. While a filter still holds input, nothing new is
 * framed for it. */
static int next_span(struct uconn *u)
{
	struct conn *c = u->c;
	bool sf = c->req.sf.ctx, gz = c->req.gz.ctx;

	if (c->req.gu.ctx) {
		/* the inflater, then sub_filter (nginx's order); gzip has
		 * nothing to do: the client does not take gzip */
		if (sf && subfilter_busy(c, false))
			return subfilter_relay(c, &u->span, &u->span_len,
					       u->done && !gunzip_busy(c, true));
		if (!gunzip_busy(c, false) && u->rstart < u->rend && !u->done && frame_tee(u))
			return -1;
		if (gunzip_relay(c, &u->span, &u->span_len, u->done))
			return -1;
		return sf ? subfilter_relay(c, &u->span, &u->span_len,
					    u->done && !gunzip_busy(c, true))
			  : 0;
	}
	if (gz && gzip_busy(c, false)) /* the compressor first: it may hold sub_filter's output */
		return gzip_relay(c, &u->span, &u->span_len, u->done && !subfilter_busy(c, true));
	if (!subfilter_busy(c, false) && u->rstart < u->rend && !u->done && frame_tee(u))
		return -1;
	if (sf && subfilter_relay(c, &u->span, &u->span_len, u->done))
		return -1;
	return gz ? gzip_relay(c, &u->span, &u->span_len, u->done && !subfilter_busy(c, true)) : 0;
}

/* relay - move the response body from upstream to client until one side
 * would block. Backpressure: nothing is read while a span is unsent. */
void relay(struct uconn *u)
{
	struct conn *c = u->c;
	const struct cfg_loc *l = c->req.loc;

	for (;;) {
		int rc;

		/* Frame what is buffered first, so the head and the first body
		 * bytes leave in one writev. */
		if (!u->span_len && next_span(u))
			goto bad;
		rc = write_pending(u);
		if (rc < 0 && unlikely(c->req.store) && !u->orphan && store_active(c)) {
			/* proxy_store: the answer is read to its end for the
			 * file, as nginx reads it once the client is gone */
			pbuf_free(c);
			c->out.start = c->out.end = 0;
			u->span_len = u->suffix_len = u->suffix_off = 0;
			u->sink = u->orphan = true;
			c->close_after = true;
			continue;
		}
		if (rc < 0) {
			/* client gone: abandon the upstream connection */
			c->close_after = true;
			u->keepalive = false;
			up_release(u, false);
			http_response_done(c);
			return;
		}
		if (rc == 0) {
			u->cblocked = true;
			conn_arm_timer(c, l->send_timeout);
			return;
		}
		u->cblocked = false;
		ev_timer_stop(&c->w->loop, &c->timer);
		if ((u->rstart < u->rend && !u->done) || filters_busy(c, u->done)) {
			if (next_span(u))
				goto bad;
			continue;
		}
		if (u->done) {
			if (unlikely(c->req.trl) && !c->req.trl_queued && !u->sink) {
				/* the last chunk and add_trailer's fields, which may
				 * read $upstream_response_time (nginx's is set by now) */
				fmt_ms(c->req.up_resp_time, sizeof(c->req.up_resp_time),
				       lbd_now_us() - u->try_us);
				if (http_trailers_end(c))
					goto bad;
				continue;
			}
			finish(u);
			return;
		}
		if (u->fc.on && u->fc.d.ended)
			u->readable = true; /* nothing more to wait for: see the recv */
		if (!u->readable) {
			uncork(u);
			ev_timer_start(&u->w->loop, &u->timer, l->proxy_read_timeout);
			return;
		}
		size_t want = RELAY_BUF_SIZE;

		if (unlikely(l->rate.proxy_rate) && c->req.pb) {
			/* proxy_limit_rate (buffered answers only, as nginx) */
			int64_t ms;

			want = rate_read_cap(l->rate.proxy_rate, u->try_us, u->rx, want, &ms);
			u->rate_wait = !want;
			if (!want) {
				uncork(u);
				ev_timer_start(&u->w->loop, &u->timer, ms);
				return;
			}
		}
		/* FastCGI: END_REQUEST read ends the response as a close would */
		ssize_t n = u->fc.on && u->fc.d.ended ? 0 : up_recv(u, u->rbuf, want);

		if (n > 0)
			u->rx += (uint64_t)n;

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				u->readable = false;
				uncork(u);
				ev_timer_start(&u->w->loop, &u->timer, l->proxy_read_timeout);
				return;
			}
			if (errno == EPROTO && up_tls_error(u, "reading upstream"))
				goto bad;
			/* a socket error: nginx's line (it reads a buffered
			 * answer with readv(2)) */
			if (errno == EPROTO && u->gr.s)
				up_log(u, LOG_ERR, "%s while reading upstream",
				       grpc_up_error(u->gr.s));
			else
				up_log(u, LOG_ERR, "%s() failed (%d: %s) while reading upstream",
				       c->req.pb ? "readv" : "recv", errno, strerror(errno));
			goto bad;
		}
		if (n == 0) {
			if (u->fc.on ? u->fc.d.ended && (u->fr != FR_LENGTH || !u->remaining)
				     : u->fr == FR_CLOSE) {
				u->done = true;
				if (u->chunk_out && !http_trailers_own_end(c) &&
				    http_out_append(c, "0\r\n\r\n", 5))
					goto bad;
				u->span_len = 0;
				continue;
			}
			up_log(u, LOG_ERR,
			       "upstream prematurely closed connection while reading upstream");
			goto bad;
		}
		if ((size_t)n < want && u->fr != FR_CLOSE && !u->rdhup)
			u->readable = false; /* drained (FR_CLOSE or a FIN seen: read on
					      * to EOF/EAGAIN) */
		if (u->fc.on && (n = fcgi_recv(u, u->rbuf, (size_t)n)) < 0)
			goto bad;
		u->rstart = 0;
		u->rend = (size_t)n;
	}
bad:
	/* The head is out: the only honest signal left is to cut the client
	 * (logged with the answer's status, as nginx's). */
	u->keepalive = false;
	up_release(u, true);
	http_request_cut(c);
}

/* ---- upgraded connections -------------------------------------------------------------- */

/* tunnel_end - the stream is over (both FINs, a reset — then both sockets
 * already carry SO_LINGER 0 — or the idle timeout): account it as the 101
 * response it was, log it, close both. */
void tunnel_end(struct uconn *u)
{
	struct conn *c = u->c;
	struct http_req *r = &c->req;

	if (u->tun) {
		uint64_t moved[2] = {0, 0};

		tunnel_kernel_bytes(u->tun, moved); /* the program's counts */
		r->bytes_sent += u->tun->bytes[TUN_DOWN] + moved[TUN_DOWN];
		r->body_bytes_sent += u->tun->bytes[TUN_DOWN] + moved[TUN_DOWN];
		r->request_length += u->tun->bytes[TUN_UP] + moved[TUN_UP];
		if (u->tun->kernel) {
			struct lb_stream st;

			if (ksplice_get(u->tun->kid, &st) == 0)
				log_emit(
					c->req.loc->error_log, LOG_DEBUG,
					"sockmap stream done: down %llu by lbd, %llu redirected, %llu passed, %llu repeated; up %llu by lbd, %llu redirected, %llu passed, %llu repeated",
					(unsigned long long)u->tun->bytes[TUN_DOWN],
					(unsigned long long)st.redirected[TUN_DOWN],
					(unsigned long long)st.passed[TUN_DOWN],
					(unsigned long long)u->tun->cut_bytes[TUN_DOWN],
					(unsigned long long)u->tun->bytes[TUN_UP],
					(unsigned long long)st.redirected[TUN_UP],
					(unsigned long long)st.passed[TUN_UP],
					(unsigned long long)u->tun->cut_bytes[TUN_UP]);
		}
	}
	c->close_after = true;
	c->in.start = c->in.end = 0; /* consumed by the tunnel: nothing to linger for */
	finish(u);
}

/* tunnel_arm - the stream's one timer: soon when a direction waits for
 * redirected bytes to land, else proxy_read_timeout after the last byte. */
static void tunnel_arm(struct uconn *u)
{
	int64_t idle = u->c->req.loc->proxy_read_timeout, left;

	if (u->tun->retry) {
		ev_timer_start(&u->w->loop, &u->timer, 1);
		return;
	}
	left = idle - (lbd_now_ms() - u->tun->last_ms);
	ev_timer_start(&u->w->loop, &u->timer, left > 0 ? left : 1);
}

/* tunnel_drive - readiness on either socket: move bytes, re-arm the timer,
 * end the stream when it is over. */
void tunnel_drive(struct uconn *u)
{
	bool moved;
	int rc = tunnel_run(u->tun, &moved);

	if (rc == TUN_OPEN) {
		if (moved)
			u->tun->last_ms = lbd_now_ms();
		tunnel_arm(u);
		return;
	}
	if (rc == TUN_RESET)
		up_log(u, LOG_INFO, "upgraded connection reset (%d: %s)", u->tun->err,
		       strerror(u->tun->err));
	tunnel_end(u);
}

/* tunnel_timer - a retry, or maybe the idle timeout: bytes the kernel
 * moved (sockmap) count as activity though lbd saw none. */
bool tunnel_timer(struct uconn *u)
{
	uint64_t k;

	if (u->tun->retry) {
		tunnel_drive(u);
		return true;
	}
	k = tunnel_kernel_moved(u->tun);
	if (k != u->tun->seen_kbytes) {
		u->tun->seen_kbytes = k;
		u->tun->last_ms = lbd_now_ms();
	}
	if (lbd_now_ms() - u->tun->last_ms < u->c->req.loc->proxy_read_timeout) {
		tunnel_arm(u);
		return true;
	}
	return false;
}

/* tunnel_begin - the upstream answered 101 (its head is HEAD_LEN bytes of
 * u->rbuf, the client's head is in c->out): from now on the connection is
 * a byte stream both ways. What each side sent beyond its head goes first. */
void tunnel_begin(struct uconn *u, size_t head_len)
{
	struct conn *c = u->c;
	struct tunnel_side cs = {c->io.fd, &c->readable, &c->writable, c->tls};
	struct tunnel_side us = {u->io.fd, &u->readable, &u->writable, u->tls};
	size_t down_len = c->out.end - c->out.start + (u->rend - head_len);
	char *down = malloc(down_len ? down_len : 1);
	int rc = -ENOMEM;

	u->tun = malloc(sizeof(*u->tun));
	if (down && u->tun) {
		/* the client's 101 head, then the upstream's first bytes */
		memcpy(down, c->out.data + c->out.start, c->out.end - c->out.start);
		memcpy(down + (c->out.end - c->out.start), u->rbuf + head_len, u->rend - head_len);
		rc = -ENOTSUP;
		if (c->tls || u->tls) /* TLS legs: neither sockmap nor splice(2), lbd relays */
			rc = tunnel_init_copy(u->tun, cs, us, c->in.data + c->in.start,
					      c->in.end - c->in.start, down, down_len);
		else if (c->req.loc->kernel_splice && ksplice_ready() &&
			 u->srv->addr.ss_family != AF_UNIX &&
			 c->peer.ss_family != AF_UNIX) { /* TCP only: see stream.c */
			rc = tunnel_init_kernel(u->tun, cs, us, c->in.data + c->in.start,
						c->in.end - c->in.start, down, down_len);
			if (rc > 0) {
				log_emit(
					c->req.loc->error_log, LOG_INFO,
					"stream too busy to move to sockmap: relaying with splice(2)");
				rc = 0;
			} else if (rc)
				log_emit(
					c->req.loc->error_log, LOG_WARN,
					"sockmap splicing refused (%d: %s): relaying with splice(2)",
					-rc, strerror(-rc));
		}
		if (rc && !c->tls && !u->tls)
			rc = tunnel_init(u->tun, cs, us, c->in.data + c->in.start,
					 c->in.end - c->in.start, down, down_len);
	}
	free(down);
	if (rc) {
		free(u->tun);
		u->tun = NULL;
		up_log(u, LOG_ERR, "cannot start the upgraded connection (%d: %s)", -rc,
		       strerror(-rc));
		u->keepalive = false;
		up_release(u, false);
		conn_close(c);
		return;
	}
	c->out.start = c->out.end = 0;
	c->in.start = c->in.end = 0;
	/* the head is parsed and copied: the tunnel needs no 64 KiB relay buffer */
	worker_relay_put(u->w, u->rbuf);
	u->rbuf = NULL;
	tunnel_register(u->tun, &c->peer, u->srv->name, c->w->id);
	u->tun->last_ms = lbd_now_ms();
	u->state = US_TUNNEL;
	ev_timer_stop(&c->w->loop, &c->timer); /* the stream's timer is u->timer */
	tunnel_drive(u);
}
