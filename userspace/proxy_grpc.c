/* SPDX-License-Identifier: MIT */
/*
 * gRPC's full duplex (part of proxy.c's module, see there): while the
 * upstream's answer is relayed, the client's request body still goes up
 * as DATA frames (grpc_tx), with grpc_send_timeout, client_body_timeout
 * and the upstream's flow control; and cutting both sides when one fails.
 */

#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "h2.h"
#include "ratelimit.h"
#include "reqbody.h"
#include "proxy_int.h"

/* grpc_cut - a gRPC call whose answer is under way ends half-way: the
 * client reset its stream or timed out (CLIENT), or the upstream failed.
 * The upstream's stream is cancelled (up_release), the client's reset,
 * never ended as if whole; the log keeps the answer's status, as nginx's. */
void grpc_cut(struct uconn *u, bool client)
{
	struct conn *c = u->c;

	fmt_ms(c->req.up_resp_time, sizeof(c->req.up_resp_time), lbd_now_us() - u->try_us);
	try_bytes(u, true);
	u->keepalive = false;
	up_release(u, !client);
	http_request_cut(c);
}

/* grpc_tx - the send side of a grpc_pass request: the body, as far as it
 * is here, offered to the session (grpc.c), which frames it within the
 * upstream's windows and writes the frames. 1 the request is all sent
 * (END_STREAM written), 0 waiting (for the client's bytes, the socket or
 * the upstream's windows; or the answer ended first: nothing more goes),
 * -1 the request failed and U is no longer the request's. */
static int grpc_tx(struct uconn *u)
{
	struct conn *c = u->c;
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	bool body = r->body_kind != BODY_NONE && l->proxy_pass_request_body;
	bool rb = r->rbody != NULL; /* streamed as it arrives */

	u->gr.wwait = false;
	while (!grpc_up_sent(u->gr.s) && !grpc_up_done(u->gr.s)) {
		struct iovec iov = {NULL, 0};
		char tmp[16384];
		bool eof = true, blocked;
		long k;

		if (rb && !reqbody_unsent(c, NULL) && !r->body_done) {
			int rc = reqbody_read(c);

			if (rc && u->state == US_RELAY) {
				/* the client reset its stream (or broke its body)
				 * with the answer under way */
				up_log(u, LOG_INFO,
				       "client canceled stream %d while sending request to upstream",
				       (int)h2_stream_id(c));
				grpc_cut(u, true);
				return -1;
			}
			if (rc) {
				rbody_fail(u, rc);
				return -1;
			}
			if (reqbody_unsent(c, NULL) || r->body_done)
				u->gr.body_ms = ev_now(&c->w->loop);
		}
		if (body && rb) {
			reqbody_unsent(c, &iov);
			eof = r->body_done;
		} else if (body && r->body_fd < 0) {
			iov = (struct iovec){r->body_mem.data + u->body_off,
					     r->body_mem.end - u->body_off};
		} else if (body) {
			size_t want = (size_t)LBD_MIN(r->body_received - u->body_off, sizeof(tmp));
			ssize_t n = pread(r->body_fd, tmp, want, (off_t)u->body_off);

			if (n != (ssize_t)want) {
				up_log(u, LOG_CRIT,
				       "pread() failed while sending request to upstream");
				if (u->state == US_RELAY)
					grpc_cut(u, false);
				else
					up_fail_final(u, 500);
				return -1;
			}
			iov = (struct iovec){tmp, want};
			eof = u->body_off + want == r->body_received;
		}
		k = grpc_up_send(u->gr.s, u->io.fd, u->tls, iov.iov_base, iov.iov_len, eof,
				 &blocked);
		if (k < 0) {
			if (k == -EPROTO)
				up_log(u, LOG_ERR, "%s while sending request to upstream",
				       grpc_up_error(u->gr.s));
			else
				up_log(u, LOG_ERR,
				       "writev() failed (%ld: %s) while sending request to upstream",
				       -k, strerror((int)-k));
			if (u->state == US_RELAY)
				grpc_cut(u, false);
			else
				up_next(u, NU_ERROR);
			return -1;
		}
		u->sent_any = true;
		u->tx += (uint64_t)k;
		if (rb)
			reqbody_sent(c, (size_t)k);
		else
			u->body_off += (size_t)k;
		if (k)
			ev_timer_stop(&u->w->loop, &u->gr.wt);
		if (blocked) {
			u->writable = false;
			ev_timer_start(&u->w->loop, &u->gr.wt, l->proxy_send_timeout);
			return 0;
		}
		if (!k && !grpc_up_sent(u->gr.s)) {
			if (rb && !iov.iov_len && !r->body_done)
				return 0; /* the client is awaited */
			/* the upstream's windows are shut: its WINDOW_UPDATE
			 * comes as a readable event, or is read by the answer
			 * side (grpc_duplex sends again then) */
			u->gr.wwait = true;
			ev_timer_start(&u->w->loop, &u->gr.wt, l->proxy_send_timeout);
			return 0;
		}
	}
	ev_timer_stop(&u->w->loop, &u->gr.wt);
	return grpc_up_sent(u->gr.s);
}

/* grpc_tx_end - the request is all sent: the client's side is the
 * answer's alone now. */
static void grpc_tx_end(struct uconn *u)
{
	struct conn *c = u->c;

	u->gr.tx = false;
	if (u->gr.closing) {
		u->gr.closing = false;
		c->close_after = false;
	}
	if (c->req.rbody) {
		c->state = CS_UPSTREAM;
		if (!u->cblocked)
			ev_timer_stop(&c->w->loop, &c->timer);
	}
}

/* grpc_client_timer - while the request still goes up (u->gr.tx), the
 * client's deadline: send_timeout while the answer waits for the client
 * to take bytes (the relay armed it), else client_body_timeout from the
 * last body bytes while they are awaited, as nginx's timer on the client
 * stream's reads; none otherwise. */
static void grpc_client_timer(struct uconn *u)
{
	struct conn *c = u->c;
	struct http_req *r = &c->req;

	if (u->cblocked)
		return;
	if (r->rbody && !r->body_done && !reqbody_unsent(c, NULL) && !grpc_up_done(u->gr.s)) {
		int64_t left = u->gr.body_ms + r->loc->client_body_timeout - ev_now(&c->w->loop);

		conn_arm_timer(c, left > 0 ? left : 0);
		return;
	}
	ev_timer_stop(&c->w->loop, &c->timer);
}

/* grpc_duplex - a grpc_pass request once its HEADERS went up: the send
 * side (grpc_tx) and the answer side (up_read_head, then the relay) run
 * side by side, as nginx's grpc module is full duplex: the upstream's
 * answer reaches the client while the client's stream still goes up
 * (bidirectional streaming). ANSWER: run the answer side too (the
 * upstream is readable, or the client writable). Either side may end the
 * request; the send side goes again when the answer side read a
 * WINDOW_UPDATE it waited for. */
void grpc_duplex(struct uconn *u, bool answer)
{
	struct conn *c = u->c;
	int rc;

	if (u->gr.tx) {
		rc = grpc_tx(u);
		if (rc < 0)
			return;
		if (rc > 0)
			grpc_tx_end(u);
	}
	if (answer) {
		if (u->state == US_READ_HEAD && u->readable)
			up_read_head(u);
		else if (u->state == US_RELAY)
			relay(u);
		/* U may be over: its request then is too */
		if (c->req.up != u || u->c != c)
			return;
		if (u->gr.tx && u->gr.wwait) {
			rc = grpc_tx(u);
			if (rc < 0)
				return;
			if (rc > 0)
				grpc_tx_end(u);
		}
	}
	if (u->gr.tx)
		grpc_client_timer(u);
}

/* grpc_wtimeout - grpc_send_timeout passed with the upstream taking no
 * request bytes while the answer side runs. */
void grpc_wtimeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct uconn *u = t->data;

	(void)loop;
	if (!u->c || !u->gr.tx)
		return;
	up_log(u, LOG_ERR,
	       "upstream timed out (110: Connection timed out) while sending request to upstream");
	if (u->state == US_RELAY)
		grpc_cut(u, false);
	else
		up_next(u, NU_TIMEOUT);
}

/* up_send_grpc - up_send for grpc_pass: the HEADERS and what is here of
 * the body go up, then the answer side opens at once, whether the request
 * is all sent or not (grpc_duplex). */
void up_send_grpc(struct uconn *u)
{
	struct conn *c = u->c;
	int rc = grpc_tx(u);

	if (rc < 0)
		return;
	u->gr.tx = !rc;
	if (u->gr.tx) {
		u->gr.body_ms = ev_now(&c->w->loop);
		/* an HTTP/1.1 client's connection cannot go on after an answer
		 * that ended before its body did (grpc_tx_end undoes it) */
		if (!c->h2s && !c->close_after && !c->req.body_done) {
			u->gr.closing = true;
			c->close_after = true;
		}
	} else if (c->req.rbody) {
		c->state = CS_UPSTREAM;
		ev_timer_stop(&c->w->loop, &c->timer);
	}
	if (!await_head(u))
		return;
	u->readable = true; /* the session may hold answer bytes read meanwhile */
	grpc_duplex(u, true);
}
