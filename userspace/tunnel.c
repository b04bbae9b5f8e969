/* SPDX-License-Identifier: MIT */
/*
 * Byte tunnels through splice(2) (see include/tunnel.h).
 *
 * Per direction the order is strict: bytes read before the tunnel, then
 * the pipe, then — only with the pipe empty — the next splice from the
 * source, so a byte never overtakes another and a FIN is forwarded only
 * behind all the bytes that preceded it. Reading only into an empty pipe
 * also makes EAGAIN from the source unambiguous (no data, not "pipe
 * full").
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ksplice.h"
#include "lbd.h"
#include "sockaddr.h"
#include "tls.h"
#include "tunnel.h"

#define TUN_KBUF (64 * 1024) /* lbd's relay buffer per direction, kernel mode */
#define TUN_DRAIN_MAX \
	(1024 * 1024)			   /* early bytes read before sockmap: past this,
				     * stop at the first short read */
#define TUN_DRAIN_HARD (2 * TUN_DRAIN_MAX) /* ... and at this, whatever the read */
#define TUN_DRAIN_READ (256 * 1024)	   /* a drain read past TUN_DRAIN_MAX */
/* SO_RCVBUF of a socket entering the sockmap (the kernel counts twice it) */
#define TUN_SPLICE_RCVBUF (256 * 1024)

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tunnel *reg_head; /* open tunnels, newest first */

/* Tunnels closed in this thread since its last heap trim (tunnel_tick). */
static __thread unsigned closed_since_trim;
#define TUN_TRIM_AFTER 256

#define TUN_CHUNK (64 * 1024) /* bytes per splice: a default pipe */

/* Relay buffers (TUN_KBUF, sockmap and TLS paths). A direction holds one
 * only while lbd relays it (the program paused it, or a TLS leg has bytes)
 * and gives it back once drained, so 2,000 quiet sockmap streams hold
 * none. They are mmap'd, not malloc'd: 2,000 streams' malloc'd 64 KiB
 * buffers stayed in the heap after the streams closed (lbd's RSS +67 MiB
 * for good, test_2000_streams_fds_and_rss_back); an unmapped one is back
 * with the kernel. A few stay cached per thread (at most
 * TUN_BUF_CACHE * TUN_KBUF each), so a bulk direction that pauses and
 * resumes makes no syscall for its buffer. */
#define TUN_BUF_CACHE 8
static __thread char *buf_cache[TUN_BUF_CACHE];
static __thread int buf_cached;

/* buf_get - a TUN_KBUF relay buffer, or NULL. */
static char *buf_get(void)
{
	void *p;

	if (buf_cached)
		return buf_cache[--buf_cached];
	p = mmap(NULL, TUN_KBUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* buf_put - give back a buffer from buf_get (NULL is fine). */
static void buf_put(char *p)
{
	if (!p)
		return;
	if (buf_cached < TUN_BUF_CACHE)
		buf_cache[buf_cached++] = p;
	else
		munmap(p, TUN_KBUF);
}

/* init_common - sides, early bytes (copied), and per direction a pipe
 * (PIPES: the splice(2) path); the sockmap and TLS paths take a relay
 * buffer when they need one (buf_get). */
static int init_common(struct tunnel *t, struct tunnel_side client, struct tunnel_side upstream,
		       const char *up_pre, size_t up_pre_len, const char *down_pre,
		       size_t down_pre_len, bool pipes)
{
	const char *pre[2] = {up_pre, down_pre};
	size_t len[2] = {up_pre_len, down_pre_len};

	memset(t, 0, sizeof(*t));
	t->side[0] = client;
	t->side[1] = upstream;
	t->pipe[0][0] = t->pipe[0][1] = t->pipe[1][0] = t->pipe[1][1] = -1;
	for (int d = 0; d < 2; d++) {
		int rc = 0;

		t->resumed_at[d] = UINT64_MAX;
		if (pipes && pipe2(t->pipe[d], O_NONBLOCK | O_CLOEXEC) == -1)
			rc = -errno;
		else if (len[d] && !(t->pre[d] = malloc(len[d])))
			rc = -ENOMEM;
		if (rc) {
			tunnel_free(t);
			return rc;
		}
		if (len[d])
			memcpy(t->pre[d], pre[d], len[d]);
		t->pre_len[d] = len[d];
	}
	return 0;
}

int tunnel_init(struct tunnel *t, struct tunnel_side client, struct tunnel_side upstream,
		const char *up_pre, size_t up_pre_len, const char *down_pre, size_t down_pre_len)
{
	return init_common(t, client, upstream, up_pre, up_pre_len, down_pre, down_pre_len, true);
}

void tunnel_register(struct tunnel *t, const struct sockaddr_storage *client, const char *upstream,
		     int worker)
{
	/* "a:port", "[a]:port"; any other family "unix:" (no path) */
	if (client->ss_family == AF_INET || client->ss_family == AF_INET6)
		lbd_sa_text(client, 0, LBD_SA_PORT, t->client, sizeof(t->client));
	else
		snprintf(t->client, sizeof(t->client), "unix:");
	snprintf(t->upstream, sizeof(t->upstream), "%s", upstream ? upstream : "-");
	t->start_ms = lbd_now_ms();
	t->worker = worker;
	pthread_mutex_lock(&reg_mu);
	t->reg_prev = NULL;
	t->reg_next = reg_head;
	if (reg_head)
		reg_head->reg_prev = t;
	reg_head = t;
	t->registered = true;
	pthread_mutex_unlock(&reg_mu);
}

void tunnel_unlist(struct tunnel *t)
{
	if (!t->registered)
		return;
	pthread_mutex_lock(&reg_mu);
	if (t->reg_prev)
		t->reg_prev->reg_next = t->reg_next;
	else
		reg_head = t->reg_next;
	if (t->reg_next)
		t->reg_next->reg_prev = t->reg_prev;
	t->registered = false;
	pthread_mutex_unlock(&reg_mu);
	closed_since_trim++;
}

void tunnel_list_udp(struct tunnel *t, const struct sockaddr_storage *client, const char *upstream,
		     int worker)
{
	memset(t, 0, sizeof(*t));
	t->udp = true;
	for (int d = 0; d < 2; d++)
		t->pipe[d][0] = t->pipe[d][1] = -1;
	tunnel_register(t, client, upstream, worker);
}

int tunnel_list(int (*fn)(const struct tunnel_info *ti, void *arg), void *arg)
{
	int64_t now = lbd_now_ms();
	int n = 0;

	pthread_mutex_lock(&reg_mu);
	for (struct tunnel *t = reg_head; t; t = t->reg_next) {
		struct tunnel_info ti;

		memcpy(ti.client, t->client, sizeof(ti.client));
		memcpy(ti.upstream, t->upstream, sizeof(ti.upstream));
		ti.age_ms = now - t->start_ms;
		ti.bytes_up = atomic_load_explicit(&t->bytes[TUN_UP], memory_order_relaxed);
		ti.bytes_down = atomic_load_explicit(&t->bytes[TUN_DOWN], memory_order_relaxed);
		ti.path = t->kernel ? "sockmap" : t->copy ? "tls-copy" : t->udp ? "udp" : "splice";
		if (t->kernel) {
			struct lb_stream st;

			/* counted in BPF: what the kernel moved, beside lbd's bytes */
			if (ksplice_get(t->kid, &st) == 0) {
				ti.bytes_up += st.redirected[TUN_UP];
				ti.bytes_down += st.redirected[TUN_DOWN];
			}
		}
		ti.worker = t->worker;
		n++;
		if (fn(&ti, arg))
			break;
	}
	pthread_mutex_unlock(&reg_mu);
	return n;
}

void tunnel_free(struct tunnel *t)
{
	if (t->kernel) {
		ksplice_close(t->kid, t->cookies);
		t->kernel = false;
	}
	for (int d = 0; d < 2; d++) {
		buf_put(t->buf[d]);
		t->buf[d] = NULL;
	}
	tunnel_unlist(t);
	for (int d = 0; d < 2; d++) {
		for (int k = 0; k < 2; k++)
			if (t->pipe[d][k] >= 0)
				close(t->pipe[d][k]);
		t->pipe[d][0] = t->pipe[d][1] = -1;
		free(t->pre[d]);
		t->pre[d] = NULL;
	}
}

void tunnel_reset(struct tunnel *t)
{
	struct linger rst = {.l_onoff = 1, .l_linger = 0};

	for (int s = 0; s < 2; s++)
		setsockopt(t->side[s].fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
}

/* io_fail - a tunnel syscall returned -1: 1 retry (EINTR), 0 blocked (the
 * side's READY flag is cleared: edge-triggered, wait for the event), or
 * -errno. */
static int io_fail(bool *ready)
{
	if (errno == EINTR)
		return 1;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		*ready = false;
		return 0;
	}
	return -errno;
}

/* moved_bytes - N bytes reached direction D's destination. */
static void moved_bytes(struct tunnel *t, int d, size_t n, bool *moved)
{
	atomic_fetch_add_explicit(&t->bytes[d], (uint64_t)n, memory_order_relaxed);
	*moved = true;
}

/* forward_fin - direction D's source sent FIN and everything before it
 * reached DST: pass the FIN on (after a close_notify on a TLS leg). */
static int forward_fin(struct tunnel *t, int d, struct tunnel_side *dst)
{
	if (t->shut[d])
		return 0;
	t->shut[d] = true;
	if (dst->tls)
		tls_conn_shutdown(dst->tls);
	if (shutdown(dst->fd, SHUT_WR) == -1 && errno != ENOTCONN)
		return -errno;
	return 0;
}

/* side_send - a leg's bytes out, through OpenSSL for a TLS leg. */
static ssize_t side_send(struct tunnel_side *sd, const void *p, size_t n)
{
	if (sd->tls) {
		struct iovec iov = {(void *)p, n};

		return tls_writev(sd->tls, &iov, 1);
	}
	return send(sd->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* side_recv - a leg's bytes in, through OpenSSL for a TLS leg. A TLS
 * leg's reset (a socket error with no OpenSSL error queued) reads as its
 * end, as nginx's SSL_read takes it ("peer shutdown SSL cleanly"): the
 * bytes read before it are delivered and the other side gets a FIN, not
 * a reset. */
static ssize_t side_recv(struct tunnel_side *sd, void *buf, size_t n)
{
	if (sd->tls)
		return tls_recv_reset_closes(sd->tls, buf, n);
	return recv(sd->fd, buf, n, MSG_DONTWAIT);
}

/* deliver - send [P, P+N) to DST, advancing *OFF: 1 all sent, 0 blocked,
 * -errno. */
static int deliver(struct tunnel *t, int d, struct tunnel_side *dst, const char *p, size_t n,
		   size_t *off, bool *moved)
{
	while (*off < n) {
		ssize_t w;
		int rc;

		if (!*dst->writable)
			return 0;
		w = side_send(dst, p + *off, n - *off);
		if (w == -1) {
			if ((rc = io_fail(dst->writable)) > 0)
				continue;
			return rc;
		}
		*off += (size_t)w;
		moved_bytes(t, d, (size_t)w, moved);
	}
	return 1;
}

/* pre_done - direction D delivered its early bytes: give them back (a
 * busy stream's drain can hold megabytes; they are not kept for the
 * stream's life). */
static void pre_done(struct tunnel *t, int d)
{
	if (!t->pre[d])
		return;
	free(t->pre[d]);
	t->pre[d] = NULL;
	t->pre_len[d] = t->pre_off[d] = 0;
}

void tunnel_set_rate(struct tunnel *t, uint64_t up, uint64_t down)
{
	t->rate[TUN_UP] = up;
	t->rate[TUN_DOWN] = down;
	t->rate_read[TUN_UP] = t->rate_read[TUN_DOWN] = 0;
	t->rate_start_ms = lbd_now_ms();
}

int64_t tunnel_wake_ms(const struct tunnel *t)
{
	int64_t w = t->wake_ms[0];

	if (t->wake_ms[1] && (!w || t->wake_ms[1] < w))
		w = t->wake_ms[1];
	return w;
}

/* rate_budget - bytes paced direction D may read now: nginx's stream
 * budget, RATE per second since the pacing began plus one second's worth
 * (`rate * (elapsed + 1) - received`), counted in ms. Under a quantum
 * (an eighth of a second's worth, at most a chunk) it waits instead: 0,
 * with t->wake_ms[d] when the quantum is there, so a slow rate costs a
 * few reads a second, never a busy loop or a read per byte. */
static size_t rate_budget(struct tunnel *t, int d)
{
	uint64_t r = t->rate[d], q = r / 8, have = 0;
	int64_t now = lbd_now_ms(), el = now - t->rate_start_ms;
	unsigned __int128 allow = (unsigned __int128)r * (uint64_t)(el + 1000) / 1000;

	if (q > TUN_CHUNK)
		q = TUN_CHUNK;
	if (q == 0)
		q = 1;
	if (allow > t->rate_read[d])
		have = allow - t->rate_read[d] > TUN_CHUNK ? TUN_CHUNK
							   : (uint64_t)(allow - t->rate_read[d]);
	if (have >= q)
		return (size_t)have;
	/* ceil((q - have) / r) seconds, in ms */
	t->wake_ms[d] = now + (int64_t)(((q - have) * 1000 + r - 1) / r);
	return 0;
}

/* step - move direction D (splice(2) path) as far as it goes; a paced
 * direction (tunnel_set_rate) reads only its budget. 0 blocked, waiting
 * or finished, -errno on failure. */
static int step(struct tunnel *t, int d, bool *moved)
{
	struct tunnel_side *src = &t->side[d == TUN_UP ? 0 : 1];
	struct tunnel_side *dst = &t->side[d == TUN_UP ? 1 : 0];
	size_t want = TUN_CHUNK;
	int rc;

	t->wake_ms[d] = 0;

	/* 1. bytes read before the tunnel existed */
	rc = deliver(t, d, dst, t->pre[d], t->pre_len[d], &t->pre_off[d], moved);
	if (rc <= 0)
		return rc;
	pre_done(t, d);
	for (;;) {
		ssize_t n;

		/* 2. the pipe, to the destination */
		while (t->inpipe[d]) {
			if (!*dst->writable)
				return 0;
			n = splice(t->pipe[d][0], NULL, dst->fd, NULL, t->inpipe[d],
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n == -1) {
				if ((rc = io_fail(dst->writable)) > 0)
					continue;
				return rc;
			}
			t->inpipe[d] -= (size_t)n;
			moved_bytes(t, d, (size_t)n, moved);
		}
		/* 3. a FIN behind everything before it */
		if (t->eof[d])
			return forward_fin(t, d, dst);
		/* 4. the source, into the empty pipe: what the pace allows,
		 * the rest stays in the kernel and holds the sender back */
		if (!*src->readable)
			return 0;
		if (t->rate[d] && !(want = rate_budget(t, d)))
			return 0;
		n = splice(src->fd, NULL, t->pipe[d][1], NULL, want,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n == -1) {
			if ((rc = io_fail(src->readable)) > 0)
				continue;
			return rc;
		}
		if (n == 0)
			t->eof[d] = true;
		t->inpipe[d] = (size_t)n;
		t->rate_read[d] += (uint64_t)n;
		*moved = true;
	}
}

/* ---- the sockmap path ---------------------------------------------------------- */

/* dst_total - bytes ever queued to socket FD: acknowledged + still queued. */
static int dst_total(int fd, uint64_t *out)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int outq = 0;

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    ioctl(fd, SIOCOUTQ, &outq) == -1)
		return -errno;
	*out = ti.tcpi_bytes_acked + (uint64_t)outq;
	return 0;
}

int tunnel_init_copy(struct tunnel *t, struct tunnel_side client, struct tunnel_side upstream,
		     const char *up_pre, size_t up_pre_len, const char *down_pre,
		     size_t down_pre_len)
{
	int rc =
		init_common(t, client, upstream, up_pre, up_pre_len, down_pre, down_pre_len, false);

	if (!rc)
		t->copy = true;
	return rc;
}

/* drain - read direction D's source until the kernel holds nothing for
 * it, behind the early bytes: the socket must enter the sockmap with no
 * segment half read, because the verdict reader takes whole segments off
 * the receive queue and would deliver a half-read one again. A read that
 * returns less than asked emptied the queue (no segment is half read
 * then), so past TUN_DRAIN_MAX the first such read ends it: a peer that
 * keeps sending is caught between two segments, not inside one (before,
 * the drain stopped at 1 MiB wherever it was, and the program had to take
 * the half-read segment's repeat off, up to a whole coalesced segment of
 * 100+ KiB: test_sockmap_short_message_after_repeat). 1 drained, 0 at
 * TUN_DRAIN_HARD with every read full (too busy to switch cleanly),
 * -errno. The early bytes are given back once delivered (pre_done). */
static int drain(struct tunnel *t, int d, int fd)
{
	char *scratch = buf_get(), *big = NULL;
	int rc;

	if (!scratch)
		return -ENOMEM;
	/* read into a scratch buffer and keep exactly what came: most
	 * streams bring nothing, and growing pre[] by a buffer per try left
	 * 64 KiB allocations behind for every stream */
	for (;;) {
		size_t len = t->pre_len[d], want = TUN_KBUF;
		char *p, *into = scratch;
		ssize_t n;

		if (len >= TUN_DRAIN_HARD) {
			rc = 0;
			break;
		}
		/* a busy peer: bigger reads empty the queue sooner than it
		 * fills (beside two CPU-bound loops, 64 KiB reads stayed full
		 * up to 2 MiB in 5 of 11 runs of the 256 MiB duplex test) */
		if (len >= TUN_DRAIN_MAX && (big || (big = malloc(TUN_DRAIN_READ))))
			into = big, want = TUN_DRAIN_READ;
		n = recv(fd, into, want, MSG_DONTWAIT);
		if (n > 0) {
			if (!(p = realloc(t->pre[d], len + (size_t)n))) {
				rc = -ENOMEM;
				break;
			}
			memcpy(p + len, into, (size_t)n);
			t->pre[d] = p;
			t->pre_len[d] += (size_t)n;
			if (t->pre_len[d] >= TUN_DRAIN_MAX && (size_t)n < want) {
				rc = 1; /* the queue is empty: nothing half read */
				break;
			}
			continue;
		}
		if (n == 0) {
			t->eof[d] = true;
			rc = 1;
			break;
		}
		if (errno == EINTR)
			continue;
		rc = errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -errno;
		break;
	}
	buf_put(scratch);
	free(big);
	return rc;
}

/* consumed_of - bytes read so far from socket FD (received minus still
 * queued), sampled until no segment arrived in between: an early sample
 * would make the program cut stream bytes, a late one repeat them. */
static int consumed_of(int fd, uint64_t *out)
{
	for (int tries = 0; tries < 100; tries++) {
		struct tcp_info a, b;
		socklen_t la = sizeof(a), lb = sizeof(b);
		int inq = 0;

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &a, &la) == -1 ||
		    ioctl(fd, SIOCINQ, &inq) == -1 ||
		    getsockopt(fd, IPPROTO_TCP, TCP_INFO, &b, &lb) == -1)
			return -errno;
		if (a.tcpi_bytes_received == b.tcpi_bytes_received) {
			*out = a.tcpi_bytes_received - (uint64_t)inq;
			return 0;
		}
	}
	return -EAGAIN;
}

/* to_pipes - turn a relay-buffer tunnel into a splice(2) one, keeping
 * what it read early. */
static int to_pipes(struct tunnel *t)
{
	for (int d = 0; d < 2; d++) {
		buf_put(t->buf[d]);
		t->buf[d] = NULL;
		if (pipe2(t->pipe[d], O_NONBLOCK | O_CLOEXEC) == -1)
			return -errno;
	}
	return 0;
}

int tunnel_init_kernel(struct tunnel *t, struct tunnel_side client, struct tunnel_side upstream,
		       const char *up_pre, size_t up_pre_len, const char *down_pre,
		       size_t down_pre_len)
{
	struct lb_stream_ctl ctl = {.limit = KSPLICE_LIMIT};
	int rc;

	if (!ksplice_ready() || client.tls || upstream.tls)
		return -ENOTSUP;
	rc = init_common(t, client, upstream, up_pre, up_pre_len, down_pre, down_pre_len, false);
	if (rc)
		return rc;
	ctl.resume_at[0] = ctl.resume_at[1] = UINT64_MAX;
	/* what each destination got so far (earlier HTTP exchanges included):
	 * the program's unacknowledged count starts from there */
	if ((rc = dst_total(upstream.fd, &t->user[TUN_UP])) ||
	    (rc = dst_total(client.fd, &t->user[TUN_DOWN]))) {
		tunnel_free(t);
		return rc;
	}
	ctl.user[TUN_UP] = t->user[TUN_UP];
	ctl.user[TUN_DOWN] = t->user[TUN_DOWN];
	/* from here on bytes are read: a failure relays them with splice(2).
	 * A peer that keeps sending (a backend pushing right after its 101)
	 * is never read dry: it is caught between two segments (drain), or,
	 * still filling every read at TUN_DRAIN_HARD, stays on splice(2).
	 * (Entering the map with a segment half read, its repeat left for
	 * the program to cut, stalled streams: test_sockmap_short_message_
	 * after_repeat.) */
	for (int d = 0; d < 2; d++) {
		int fd = d == TUN_UP ? client.fd : upstream.fd;

		rc = drain(t, d, fd);
		if (rc == 0) {
			/* too busy: the fast drain let the kernel autotune
			 * this socket's receive buffer up (MiBs), which a
			 * stalled reader would then leave full: cap it for the
			 * relay (test_slow_reader_bounded_both_ways) */
			int cap = TUN_DRAIN_MAX;

			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cap, sizeof(cap));
			goto pipes;
		}
		if (rc < 0 || (rc = consumed_of(fd, &t->consumed[d])))
			goto pipes;
		ctl.consumed[d] = t->consumed[d];
		/* The program's limit bounds what waits at the destination,
		 * not what a paused direction leaves queued on its source:
		 * that is the source's receive buffer, which the sockmap
		 * reader's full-speed reads let the kernel autotune up to
		 * tcp_rmem's max (32 MiB here: a stalled reader once left 22
		 * MiB in it, test_slow_reader_bounded_both_ways). A fixed one
		 * (TUN_SPLICE_RCVBUF) bounds it. */
		{
			int cap = TUN_SPLICE_RCVBUF;

			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cap, sizeof(cap));
		}
	}
	for (int d = 0; d < 2; d++)
		*t->side[d].readable = false; /* drained: the next edge says more */
	t->kid = ksplice_next_id();
	rc = ksplice_open(t->kid, client.fd, upstream.fd, &ctl, t->cookies);
	if (rc)
		goto pipes;
	t->kernel = true;
	/* Segments that arrived between the drain and the insertion sit in
	 * the receive queue unseen by the program, and lbd's reads would take
	 * them from there (in any size, possibly half a segment, which the
	 * program would then see again). Setting SO_RCVLOWAT signals the
	 * socket's data-ready, which hands them to the program now: paused,
	 * it leaves them to lbd through the sockmap's own queue. */
	for (int d = 0; d < 2; d++) {
		int one = 1;

		if (setsockopt(t->side[d].fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one)) == -1) {
			rc = -errno;
			tunnel_free(t);
			return rc;
		}
	}
	return 0;
pipes:
	/* (a failed socket: the splice path meets the error itself) */
	if ((rc = to_pipes(t))) {
		tunnel_free(t);
		return rc;
	}
	t->kernel = false;
	return 1;
}

uint64_t tunnel_kernel_moved(struct tunnel *t)
{
	uint64_t moved[2] = {0, 0};

	tunnel_kernel_bytes(t, moved);
	return moved[0] + moved[1];
}

void tunnel_kernel_bytes(struct tunnel *t, uint64_t moved[2])
{
	struct lb_stream st;

	if (!t->kernel || ksplice_get(t->kid, &st))
		return;
	moved[TUN_UP] = st.redirected[TUN_UP];
	moved[TUN_DOWN] = st.redirected[TUN_DOWN];
}

/* user_of - bytes lbd wrote to direction D's destination since that
 * socket was created (what it held before, plus the tunnel's own). */
static uint64_t user_of(struct tunnel *t, int d)
{
	return t->user[d] + atomic_load_explicit(&t->bytes[d], memory_order_relaxed);
}

/* publish_ctl - tell the program what lbd wrote and where to resume. */
static int publish_ctl(struct tunnel *t)
{
	struct lb_stream_ctl ctl = {.limit = KSPLICE_LIMIT};

	for (int i = 0; i < 2; i++) {
		ctl.user[i] = user_of(t, i);
		ctl.resume_at[i] = t->resumed_at[i];
		ctl.consumed[i] = t->consumed[i];
	}
	return ksplice_set_ctl(t->kid, &ctl);
}

/* order_ok - whether every byte the kernel redirected in direction D has
 * reached the destination socket's queue, so lbd's next write lands
 * behind them. 1 yes, 0 not yet, -errno. */
static int order_ok(struct tunnel *t, int d, int dst_fd)
{
	struct lb_stream st;
	uint64_t total;
	int rc = dst_total(dst_fd, &total);

	if (rc)
		return rc;
	if (ksplice_get(t->kid, &st))
		return -errno;
	return total >= user_of(t, d) + st.redirected[d];
}

/* poke - signal FD's data-ready (setting SO_RCVLOWAT does), so that the
 * sockmap's reader hands what waits in the receive queue to the program. */
static int poke(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one)) == -1 ? -errno : 0;
}

/* sockmap_queue_ready - whether a read of the sockmap socket FD would be
 * served from the sockmap's own queue (what the program passed), 1, or
 * find nothing, 0, or -errno (a reset). A read finding that queue empty falls back to the
 * socket's receive queue, behind the program's back: it may take half a
 * segment that the program later gets whole, so those bytes would go out
 * twice. So when the sockmap's queue is empty (FIONREAD counts only it)
 * but the receive queue is not (a peek sees bytes), poke the socket and
 * look again; an end of stream (peek returns 0) is read as usual.
 * *POKES counts pokes that did not help; after a few the read goes ahead
 * (kernels whose FIONREAD counts the receive queue too never get here). */
static int sockmap_queue_ready(int fd, unsigned *pokes)
{
	for (int tries = 0; tries < 2; tries++) {
		int inq = 0, rc;
		char b;
		ssize_t pk;

		if (ioctl(fd, FIONREAD, &inq) == -1)
			return -errno;
		if (inq > 0)
			return 1;
		pk = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (pk == 0)
			return 1; /* end of stream: the read says so */
		/* an error (a reset) is reported once, to this peek: pass it
		 * on, or the read after it would find a plain end of stream
		 * and the other side get a FIN instead of the reset
		 * (test_rst_propagated_both_ways) */
		if (pk < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0
											 : -errno;
		if ((rc = poke(fd)))
			return rc;
	}
	(*pokes)++;
	return 1;
}

/* drop_repeats - buf[0, *k) holds passed bytes [pread, pread + *k) of
 * direction D: take out those the program marked as repeats (struct
 * lb_cut). 0, or -EPROTO when more repeats came than the ring holds. */
static int drop_repeats(struct tunnel *t, int d, char *buf, size_t *k)
{
	struct lb_stream st;
	uint64_t at = t->pread[d];
	size_t in = 0, out = 0, n = *k;

	if (ksplice_get(t->kid, &st))
		return -errno;
	if (st.cut_n[d] - t->cuts_done[d] > LB_CUTS)
		return -EPROTO;
	while (in < n) {
		size_t keep = n - in;

		if (t->cut_left[d]) {
			size_t drop = (size_t)LBD_MIN((uint64_t)(n - in), t->cut_left[d]);

			in += drop;
			t->cut_left[d] -= drop;
			t->cut_bytes[d] += drop;
			continue;
		}
		if (t->cuts_done[d] < st.cut_n[d]) {
			const struct lb_cut *c = &st.cut[d][t->cuts_done[d] % LB_CUTS];

			if (c->at < at + in)
				return -EPROTO; /* behind what was read: lost track */
			if (c->at < at + n) {
				keep = (size_t)(c->at - (at + in));
				t->cut_left[d] = c->len;
				t->cuts_done[d]++;
			}
		}
		if (out != in)
			memmove(buf + out, buf + in, keep);
		out += keep;
		in += keep;
	}
	t->pread[d] += n;
	*k = out;
	return 0;
}

/* kstep - direction D on the sockmap path: while the program leaves bytes
 * to lbd (paused), relay them through lbd's buffer; when the source is
 * drained, resume the kernel path. 0 blocked or finished, -errno failed. */
static int kstep(struct tunnel *t, int d, bool *moved)
{
	struct tunnel_side *src = &t->side[d == TUN_UP ? 0 : 1];
	struct tunnel_side *dst = &t->side[d == TUN_UP ? 1 : 0];

	t->wake_ms[d] = 0;

	for (;;) {
		bool pending = t->pre_off[d] < t->pre_len[d] || t->buf_off[d] < t->buf_len[d];
		struct lb_stream st;
		ssize_t k;
		int rc;

		if (t->kernel && t->need_order[d] && (pending || (t->eof[d] && !t->shut[d]))) {
			rc = order_ok(t, d, dst->fd);
			if (rc < 0)
				return rc;
			if (!rc) {
				t->retry = true; /* they are on their way: soon */
				return 0;
			}
			t->need_order[d] = false;
		}
		rc = deliver(t, d, dst, t->pre[d], t->pre_len[d], &t->pre_off[d], moved);
		if (rc > 0) {
			pre_done(t, d);
			rc = deliver(t, d, dst, t->buf[d], t->buf_len[d], &t->buf_off[d], moved);
		}
		if (rc <= 0)
			return rc;
		if (t->eof[d])
			return forward_fin(t, d, dst);
		if (!*src->readable)
			return 0;
		/* the program's count before the read: if it passes a byte
		 * after the read, resume_at will not match and it keeps passing */
		if (t->kernel && ksplice_get(t->kid, &st))
			return -errno;
		if (t->kernel && (rc = sockmap_queue_ready(src->fd, &t->pokes[d])) <= 0) {
			if (rc < 0)
				return rc;
			*src->readable = false;
			goto drained;
		}
		if (!t->buf[d] && !(t->buf[d] = buf_get()))
			return -ENOMEM;
		size_t want = TUN_KBUF;

		/* a paced direction (tunnel_set_rate; only a TLS leg's copy
		 * relay gets here paced) reads its budget, the rest waits in
		 * the kernel */
		if (t->copy && t->rate[d] && !(want = LBD_MIN(rate_budget(t, d), TUN_KBUF)))
			return 0;
		k = side_recv(src, t->buf[d], want);
		if (k > 0 && t->copy)
			t->rate_read[d] += (uint64_t)k;
		if (k > 0 && t->kernel) {
			size_t kk = (size_t)k;

			if ((rc = drop_repeats(t, d, t->buf[d], &kk)))
				return rc;
			if (!kk)
				continue; /* all of it repeated */
			k = (ssize_t)kk;
		}
		if (k > 0) {
			t->buf_off[d] = 0;
			t->buf_len[d] = (size_t)k;
			*moved = true;
			continue;
		}
		if (k == 0) {
			t->eof[d] = true;
			t->need_order[d] = t->kernel; /* the FIN goes behind redirected bytes */
			*moved = true;
			continue;
		}
		if ((rc = io_fail(src->readable)) > 0)
			continue;
		if (rc < 0)
			return rc;
drained:
		/* drained and delivered: lbd holds nothing for it */
		buf_put(t->buf[d]);
		t->buf[d] = NULL;
		t->buf_off[d] = t->buf_len[d] = 0;
		/* hand the direction back to the kernel, once lbd has read
		 * every byte the program passed it: a passed skb can wait in
		 * the sockmap's backlog (its receive queue was over the
		 * socket's rcvbuf), unseen by FIONREAD; resumed then, the
		 * kernel's next bytes would overtake it (a gap, then the
		 * late bytes repeated, ~1 MiB each, in 1 of 2 runs of
		 * test_duplex_256mib_byte_exact) */
		if (t->kernel && t->resumed_at[d] != st.passed[d] && t->pread[d] < st.passed[d]) {
			t->retry = true; /* its data-ready wakes us too */
			return 0;
		}
		if (t->kernel && t->resumed_at[d] != st.passed[d]) {
			t->resumed_at[d] = st.passed[d];
			if ((rc = publish_ctl(t)))
				return rc;
			t->need_order[d] = true; /* from now on bytes may go around lbd */
		}
		return 0;
	}
}

int tunnel_run(struct tunnel *t, bool *moved)
{
	*moved = false;
	/* the directions share no state but the sockets' readiness, which
	 * only an event changes: one pass each, until it blocks */
	t->retry = false;
	for (int d = 0; d < 2; d++) {
		int rc = t->kernel || t->copy ? kstep(t, d, moved) : step(t, d, moved);

		if (rc < 0) {
			t->err = -rc;
			/* a TLS leg's bad records (EPROTO) end the stream with
			 * FINs, as nginx closes it; a socket error resets */
			if (rc != -EPROTO)
				tunnel_reset(t);
			return TUN_RESET;
		}
	}
	return t->shut[0] && t->shut[1] ? TUN_DONE : TUN_OPEN;
}

void tunnel_tick(void)
{
	/* A stream's connection, buffers and upstream are a few allocations
	 * of 4-64 KiB; once many streams closed, their pages sit free in the
	 * middle of the heap, where free() never gives them back (2,000
	 * closed streams kept lbd's RSS ~40 MiB up, growing each round:
	 * test_2000_streams_fds_and_rss_back). Trim then, from the worker's
	 * one-second tick, after the connections were freed. */
	if (closed_since_trim >= TUN_TRIM_AFTER) {
		closed_since_trim = 0;
		malloc_trim(0);
	}
}
