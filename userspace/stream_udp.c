/* SPDX-License-Identifier: MIT */
/*
 * UDP sessions of `stream {}` (see include/stream_udp.h). A UDP session is
 * a struct sess of stream.c without a client socket: stream.c runs its
 * phases, picks and connects the upstream and logs it at the end; this file
 * owns the datagrams. Per worker thread:
 *
 *	table	the sessions by (listening socket, client address and port):
 *		fixed buckets, chained through the sessions; a session stays in
 *		its chain until it ends (so a closing listener finds them all),
 *		`hashed` (findable) off once proxy_requests is reached
 *	rbuf	UDP_BATCH receive buffers of UDP_DGRAM_MAX bytes for recvmmsg()
 *		(and for upstream datagrams, cut at proxy_buffer_size: the
 *		two never run nested)
 *
 * Nothing is allocated per datagram; sessions come from stream.c's free
 * list and are capped by worker_connections. Each readiness event reads a
 * bounded number of datagrams so one busy client cannot starve the loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"
#include "lbd.h"
#include "log.h"
#include "sockaddr.h"
#include "stream.h"
#include "stream_int.h"
#include "stream_udp.h"
#include "worker.h"

_Static_assert((UDP_TABLE_SIZE & (UDP_TABLE_SIZE - 1)) == 0, "buckets: a power of two");

static __thread struct sess **table;	/* UDP_TABLE_SIZE chains */
static __thread char *rbuf;		/* UDP_BATCH * UDP_DGRAM_MAX */
static __thread struct sess *ended_now; /* the last session ended (compared, never read) */

/* ---- addresses --------------------------------------------------------------- */

bool stream_udp_socket(int fd, const struct cfg_listen *l)
{
	int one = 1;

	if (!lbd_sa_any(&l->addr))
		return true;
	if (l->addr.ss_family == AF_INET)
		return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) == 0;
	return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) == 0;
}

uint32_t stream_udp_hash(int fd, const struct sockaddr_storage *sa)
{
	const uint8_t *p = NULL;
	size_t n = 0;
	uint16_t port = 0;
	uint32_t h = 2166136261u ^ (uint32_t)fd;

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		p = (const uint8_t *)&in->sin_addr;
		n = 4;
		port = in->sin_port;
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		p = (const uint8_t *)&in6->sin6_addr;
		n = 16;
		port = in6->sin6_port;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	h = (h ^ (port & 0xff)) * 16777619u;
	h = (h ^ (port >> 8)) * 16777619u;
	return h ^ (h >> 15);
}

struct stream_srv *stream_udp_server(const struct cfg *cfg, const struct sockaddr_storage *addr,
				     socklen_t len)
{
	const struct cfg_stream *st = cfg->stream;

	for (int k = 0; st && k < st->nservers; k++)
		for (int j = 0; j < st->servers[k]->nlistens; j++) {
			const struct cfg_listen *l = &st->servers[k]->listens[j];

			if (l->udp && l->addrlen == len && memcmp(&l->addr, addr, len) == 0)
				return st->servers[k];
		}
	return NULL;
}

/* local_of - the address a datagram was sent to: the listener's, or on a
 * wildcard listener the one its IP(V6)_PKTINFO names (port: the
 * listener's). */
static socklen_t local_of(const struct listener *l, struct msghdr *m, struct sockaddr_storage *out)
{
	memcpy(out, &l->addr, l->addrlen);
	if (!lbd_sa_any(&l->addr))
		return l->addrlen;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    out->ss_family == AF_INET) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in *)out)->sin_addr = pi.ipi_addr;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   out->ss_family == AF_INET6) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in6 *)out)->sin6_addr = pi.ipi6_addr;
		}
	}
	return l->addrlen;
}

/* ---- the table ------------------------------------------------------------------ */

/* unix_name - the name bytes of a unix datagram client (LEN: its address
 * length): a path with its NUL as the kernel gives it, an abstract name,
 * or nothing for an unbound client. */
static size_t unix_name(socklen_t len)
{
	return len > offsetof(struct sockaddr_un, sun_path)
		       ? (size_t)len - offsetof(struct sockaddr_un, sun_path)
		       : 0;
}

/* unix_hash - stream_udp_hash of a unix datagram client. */
static uint32_t unix_hash(int fd, const struct sockaddr_storage *sa, socklen_t len)
{
	const uint8_t *p = (const uint8_t *)((const struct sockaddr_un *)sa)->sun_path;
	uint32_t h = 2166136261u ^ (uint32_t)fd;

	for (size_t i = 0, n = unix_name(len); i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h ^ (h >> 15);
}

static bool peer_eq(const struct sess *s, const struct sockaddr_storage *peer, socklen_t len)
{
	if (peer->ss_family != AF_UNIX)
		return lbd_sockaddr_eq(&s->peer, peer);
	return s->peer.ss_family == AF_UNIX && s->peerlen == len &&
	       memcmp(((const struct sockaddr_un *)&s->peer)->sun_path,
		      ((const struct sockaddr_un *)peer)->sun_path, unix_name(len)) == 0;
}

static struct sess *lookup(int fd, const struct sockaddr_storage *peer, socklen_t len, uint32_t h)
{
	for (struct sess *s = table[h & (UDP_TABLE_SIZE - 1)]; s; s = s->ud.hnext)
		if (s->ud.hashed && s->ud.hash == h && s->ud.lfd == fd && peer_eq(s, peer, len))
			return s;
	return NULL;
}

static void unlink_sess(struct sess *s)
{
	struct sess **pp = &table[s->ud.hash & (UDP_TABLE_SIZE - 1)];

	for (; *pp; pp = &(*pp)->ud.hnext)
		if (*pp == s) {
			*pp = s->ud.hnext;
			break;
		}
	s->ud.hnext = NULL;
	s->ud.hashed = false;
}

/* ---- logging -------------------------------------------------------------------- */

/* info_on - S's error log takes info lines (else their text is not made). */
static bool info_on(const struct sess *s)
{
	const struct log_target *t = s->srv->error_log ? s->srv->error_log : log_default();

	return t->level >= LOG_INFO;
}

/* ctx - nginx's tail of a UDP session's error line into BUF. */
static const char *ctx(struct sess *s, char *buf, size_t cap)
{
	char c[128], sv[128];

	snprintf(buf, cap,
		 "udp client: %s, server: %s, upstream: \"%s\", bytes from/to client:%llu/%llu, "
		 "bytes from/to upstream:%llu/%llu",
		 stream_sess_client(s, c, sizeof(c)), stream_sess_server(s, sv, sizeof(sv)),
		 s->us ? s->us->name : "-", (unsigned long long)s->ud.c_recv,
		 (unsigned long long)s->ud.c_sent, (unsigned long long)s->ud.u_recv,
		 (unsigned long long)s->ud.u_sent);
	return buf;
}

/* counts - nginx's "packets from/to client" summary of S into BUF. */
static const char *counts(struct sess *s, char *buf, size_t cap)
{
	snprintf(buf, cap,
		 "packets from/to client:%u/%u, bytes from/to client:%llu/%llu, bytes from/to "
		 "upstream:%llu/%llu",
		 s->ud.requests, s->ud.responses, (unsigned long long)s->ud.c_recv,
		 (unsigned long long)s->ud.c_sent, (unsigned long long)s->ud.u_recv,
		 (unsigned long long)s->ud.u_sent);
	return buf;
}

void stream_udp_disabled(struct sess *s)
{
	char t[512];

	log_emit(s->srv->error_log, LOG_WARN,
		 "*%llu upstream server temporarily disabled while proxying connection, %s",
		 (unsigned long long)s->number, ctx(s, t, sizeof(t)));
}

/* ---- datagrams ------------------------------------------------------------------ */

/* send_level - the level of a failed send to a client, as nginx's
 * ngx_connection_error ranks it for a stream client: the network's own
 * errors at info, anything else at alert. */
static enum log_level send_level(int err)
{
	switch (err) {
	case ECONNREFUSED:
	case ECONNRESET:
	case EPIPE:
	case ENOTCONN:
	case ETIMEDOUT:
	case ENETDOWN:
	case ENETUNREACH:
	case EHOSTDOWN:
	case EHOSTUNREACH:
		return LOG_INFO;
	default:
		return LOG_ALERT;
	}
}

int stream_udp_reply(struct sess *s, const void *p, size_t n)
{
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = {(void *)p, n};
	struct msghdr m = {
		.msg_name = &s->peer, .msg_namelen = s->peerlen, .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t k;
	char t[512];
	int err;

	if (s->peer.ss_family == AF_UNIX && !unix_name(s->peerlen)) {
		/* an unbound unix client has no name to answer to. nginx sends
		 * to an all-zero (abstract) name in its place and the kernel
		 * refuses it: the same error here, without the syscall (and
		 * without a datagram for whoever might bind that name) */
		err = ECONNREFUSED;
		goto failed;
	}
	if (s->ud.pktinfo) {
		/* from the address the client wrote to, not the route's choice */
		struct cmsghdr *c;

		memset(&cb, 0, sizeof(cb));
		m.msg_control = cb.b;
		if (s->local.ss_family == AF_INET) {
			struct in_pktinfo pi = {0};

			pi.ipi_spec_dst = ((struct sockaddr_in *)&s->local)->sin_addr;
			m.msg_controllen = CMSG_SPACE(sizeof(pi));
			c = CMSG_FIRSTHDR(&m);
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		} else {
			struct in6_pktinfo pi = {0};

			pi.ipi6_addr = ((struct sockaddr_in6 *)&s->local)->sin6_addr;
			m.msg_controllen = CMSG_SPACE(sizeof(pi));
			c = CMSG_FIRSTHDR(&m);
			c->cmsg_level = IPPROTO_IPV6;
			c->cmsg_type = IPV6_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		}
	}
	do
		k = sendmsg(s->ud.lfd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (k == -1 && errno == EINTR);
	if (k >= 0) {
		s->ud.c_sent += (uint64_t)k;
		atomic_fetch_add_explicit(&s->tun.bytes[TUN_DOWN], (uint64_t)k,
					  memory_order_relaxed); /* lbctl conns */
		return 0;
	}
	/* a full socket buffer drops the datagram, as the network may */
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return 0;
	err = errno;
failed:
	if (send_level(err) != LOG_ALERT && !info_on(s))
		return -1;
	if (!s->ud.connected) { /* no upstream: `return`'s datagram */
		char cl[128], sv[128];

		log_emit(s->srv->error_log, send_level(err),
			 "*%llu sendmsg() failed (%d: %s) while returning text, udp client: %s, "
			 "server: %s",
			 (unsigned long long)s->number, err, strerror(err),
			 stream_sess_client(s, cl, sizeof(cl)),
			 stream_sess_server(s, sv, sizeof(sv)));
		return -1;
	}
	log_emit(s->srv->error_log, send_level(err),
		 "*%llu sendmsg() failed (%d: %s) while proxying and sending to client, %s",
		 (unsigned long long)s->number, err, strerror(err), ctx(s, t, sizeof(t)));
	return -1;
}

/* done - nginx's test for a finished UDP session: proxy_requests datagrams
 * came (when set) and proxy_responses answers per datagram went back.
 * True when S ended. */
static bool done(struct sess *s)
{
	const struct stream_srv *srv = s->srv;
	char t[256];

	if (srv->requests && s->ud.requests < (uint32_t)srv->requests)
		return false;
	if (srv->responses == INT_MAX ||
	    (uint64_t)s->ud.responses < (uint64_t)srv->responses * s->ud.requests)
		return false;
	if (info_on(s))
		log_emit(srv->error_log, LOG_INFO, "*%llu udp done, %s",
			 (unsigned long long)s->number, counts(s, t, sizeof(t)));
	stream_sess_end(s, 200);
	return true;
}

/* to_upstream - client datagram P (N bytes) of S to its server (its bytes
 * already counted when COUNTED: the session's first, seen by `return`). */
static void to_upstream(struct sess *s, const char *p, size_t n, bool counted)
{
	ssize_t k;

	s->ud.requests++;
	if (!counted)
		s->ud.c_recv += n;
	s->ud.last_ms = lbd_now_ms();
	do
		k = send(s->ufd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (k == -1 && errno == EINTR);
	if (k == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
		/* ECONNREFUSED here: an ICMP error of an earlier datagram */
		char t[512];
		int err = errno;

		log_emit(s->srv->error_log, LOG_ERR,
			 "*%llu send() failed (%d: %s) while proxying and sending to upstream, %s",
			 (unsigned long long)s->number, err, strerror(err), ctx(s, t, sizeof(t)));
		s->ud.failed = true;
		stream_sess_end(s, 200);
		return;
	}
	if (k > 0) {
		s->ud.u_sent += (uint64_t)k;
		atomic_fetch_add_explicit(&s->tun.bytes[TUN_UP], (uint64_t)k,
					  memory_order_relaxed); /* lbctl conns */
	}
	if (s->srv->requests && s->ud.requests >= (uint32_t)s->srv->requests)
		s->ud.hashed = false; /* the next datagram starts a new session */
	done(s);
}

/* datagram - one datagram P (N bytes) from PEER on listener L: to its
 * session, or a new one. */
static void datagram(struct listener *l, struct stream_srv **srvp, struct msghdr *m, const char *p,
		     size_t n)
{
	struct sockaddr_storage *peer = m->msg_name;
	uint32_t h;
	struct sess *s;
	struct sockaddr_storage local;
	socklen_t ll;
	char c[128], sv[128];

	if (l->addr.ss_family == AF_UNIX) {
		/* an unbound client has no name (length 0): "unix:", as nginx;
		 * a name the kernel gave without its NUL gets one (the storage
		 * is larger than any unix address) */
		if (m->msg_namelen < offsetof(struct sockaddr_un, sun_path))
			m->msg_namelen = offsetof(struct sockaddr_un, sun_path);
		if (m->msg_namelen >= sizeof(*peer))
			m->msg_namelen = sizeof(*peer) - 1;
		peer->ss_family = AF_UNIX;
		((char *)peer)[m->msg_namelen] = '\0';
		h = unix_hash(l->fd, peer, m->msg_namelen);
	} else {
		h = stream_udp_hash(l->fd, peer);
	}
	s = lookup(l->fd, peer, m->msg_namelen, h);
	if (s) {
		if (s->state == SS_UDP)
			to_upstream(s, p, n, false);
		return;
	}
	if (peer->ss_family != AF_INET && peer->ss_family != AF_INET6 && peer->ss_family != AF_UNIX)
		return;
	if (!*srvp)
		*srvp = stream_udp_server(l->w->cfg, &l->addr, l->addrlen);
	if (!*srvp)
		return;
	ll = local_of(l, m, &local);
	s = stream_sess_new(l->w, *srvp, peer, m->msg_namelen, &local, ll);
	if (!s)
		return; /* worker_connections (logged) or out of memory: dropped */
	s->ud.on = true;
	s->ud.lfd = l->fd;
	s->ud.pktinfo = lbd_sa_any(&l->addr);
	s->any_listen = s->ud.pktinfo;
	s->ud.hash = h;
	s->ud.hashed = true;
	s->ud.last_ms = lbd_now_ms();
	s->ud.c_recv = n; /* $bytes_received, also when `return` answers */
	s->ud.hnext = table[h & (UDP_TABLE_SIZE - 1)];
	table[h & (UDP_TABLE_SIZE - 1)] = s;
	if (info_on(s) && peer->ss_family == AF_UNIX)
		log_emit(s->srv->error_log, LOG_INFO, "*%llu udp client %s connected to %s",
			 (unsigned long long)s->number, stream_sess_client(s, c, sizeof(c)),
			 stream_sess_server(s, sv, sizeof(sv)));
	else if (info_on(s))
		log_emit(s->srv->error_log, LOG_INFO, "*%llu udp client %s:%d connected to %s",
			 (unsigned long long)s->number, stream_sess_client(s, c, sizeof(c)),
			 ntohs(peer->ss_family == AF_INET
				       ? ((const struct sockaddr_in *)peer)->sin_port
				       : ((const struct sockaddr_in6 *)peer)->sin6_port),
			 stream_sess_server(s, sv, sizeof(sv)));
	ended_now = NULL;
	stream_sess_begin(s); /* set, limit_conn, access, return or proxy_pass */
	if (ended_now != s && s->state == SS_RESOLVING) {
		/* kept for the upstream the resolver's answer gives (the ones
		 * that come meanwhile are dropped; a client's retry finds the
		 * session connected) */
		if ((s->ud.held = malloc(n ? n : 1))) {
			memcpy(s->ud.held, p, n);
			s->ud.held_len = n;
		}
		return;
	}
	if (ended_now == s || s->state != SS_UDP)
		return; /* denied, answered by `return`, or no upstream: logged */
	to_upstream(s, p, n, true);
}

static bool buffers(void)
{
	if (!table)
		table = calloc(UDP_TABLE_SIZE, sizeof(*table));
	if (!rbuf)
		rbuf = malloc((size_t)UDP_BATCH * UDP_DGRAM_MAX);
	return table && rbuf;
}

void stream_udp_read_cb(struct ev_loop *loop, struct ev_io *io, uint32_t ev)
{
	struct listener *l = io->data;
	struct stream_srv *srv = NULL; /* found once per event, for new clients */
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage peers[UDP_BATCH];
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
		       CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} cbuf[UDP_BATCH];
	bool wc = lbd_sa_any(&l->addr);

	(void)loop, (void)ev;
	if (!buffers()) {
		char b[1];

		log_err("out of memory for UDP buffers: a datagram dropped");
		(void)!recv(l->fd, b, sizeof(b), MSG_DONTWAIT);
		return;
	}
	for (int round = 0; round < UDP_ROUNDS; round++) {
		int n;

		for (int i = 0; i < UDP_BATCH; i++) {
			iov[i].iov_base = rbuf + (size_t)i * UDP_DGRAM_MAX;
			iov[i].iov_len = UDP_DGRAM_MAX;
			msgs[i].msg_hdr =
				(struct msghdr){.msg_name = &peers[i],
						.msg_namelen = sizeof(peers[i]),
						.msg_iov = &iov[i],
						.msg_iovlen = 1,
						.msg_control = wc ? cbuf[i].b : NULL,
						.msg_controllen = wc ? sizeof(cbuf[i].b) : 0};
			msgs[i].msg_len = 0;
		}
		n = recvmmsg(l->fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* EAGAIN: drained (level-triggered: the rest comes back) */
		for (int i = 0; i < n; i++)
			datagram(l, &srv, &msgs[i].msg_hdr, iov[i].iov_base, msgs[i].msg_len);
		if (n < UDP_BATCH)
			return;
	}
}

/* ---- hooks of stream.c ------------------------------------------------------------ */

/* log_connected - nginx's "udp proxy ... connected to" info line. */
static void log_connected(struct sess *s)
{
	struct sockaddr_storage me;
	socklen_t ml = sizeof(me);
	char a[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (getsockname(s->ufd, (struct sockaddr *)&me, &ml) == 0) {
		if (me.ss_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&me)->sin_addr, a, sizeof(a));
			port = ntohs(((struct sockaddr_in *)&me)->sin_port);
		} else if (me.ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&me)->sin6_addr, a, sizeof(a));
			port = ntohs(((struct sockaddr_in6 *)&me)->sin6_port);
		} else if (me.ss_family == AF_UNIX) {
			/* the kernel's abstract name: "unix:@NAME", as ss(8) shows it */
			const struct sockaddr_un *un = (const struct sockaddr_un *)&me;
			size_t k = unix_name(ml);

			log_emit(s->srv->error_log, LOG_INFO,
				 "*%llu udp proxy unix:%s%.*s connected to %s",
				 (unsigned long long)s->number, k && !un->sun_path[0] ? "@" : "",
				 k ? (int)k - 1 : 0, un->sun_path + (k && !un->sun_path[0]),
				 s->us->name);
			return;
		}
	}
	log_emit(s->srv->error_log, LOG_INFO, "*%llu udp proxy %s:%d connected to %s",
		 (unsigned long long)s->number, a, port, s->us->name);
}

/* send_held - the datagram kept while the name was asked, now that the
 * session is connected (S may end in it). */
static void send_held(struct sess *s)
{
	char *p = s->ud.held;

	if (!p)
		return;
	s->ud.held = NULL;
	to_upstream(s, p, s->ud.held_len, true);
	free(p);
}

void stream_udp_connected(struct sess *s)
{
	if (ev_io_start(&s->w->loop, &s->uio, EPOLLIN)) {
		stream_sess_end(s, 500);
		return;
	}
	s->ud.connected = true;
	s->state = SS_UDP;
	tunnel_list_udp(&s->tun, &s->peer, s->us->name, s->w->id);
	s->ud.last_ms = lbd_now_ms();
	ev_timer_start(&s->w->loop, &s->timer, s->srv->timeout);
	if (info_on(s))
		log_connected(s);
	send_held(s);
}

void stream_udp_upstream(struct sess *s, uint32_t ev)
{
	/* a datagram past proxy_buffer_size is cut there, as nginx's */
	size_t cap =
		s->srv->buffer_size < UDP_DGRAM_MAX ? (size_t)s->srv->buffer_size : UDP_DGRAM_MAX;
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];

	(void)ev;
	if (!buffers())
		return;
	for (int round = 0; round < UDP_UP_ROUNDS / UDP_BATCH; round++) {
		int n;

		for (int i = 0; i < UDP_BATCH; i++) {
			iov[i].iov_base = rbuf + (size_t)i * UDP_DGRAM_MAX;
			iov[i].iov_len = cap;
			msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
			msgs[i].msg_len = 0;
		}
		n = recvmmsg(s->ufd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1) {
			/* ECONNREFUSED: the server's host said nothing listens
			 * (ICMP). nginx counts it as an answer (an empty datagram
			 * goes to the client) and the server as failed, and reads
			 * no more from it */
			char t[512];
			int err = errno;

			log_emit(s->srv->error_log, LOG_ERR,
				 "*%llu recv() failed (%d: %s) while proxying and reading from "
				 "upstream, %s",
				 (unsigned long long)s->number, err, strerror(err),
				 ctx(s, t, sizeof(t)));
			s->ud.failed = true;
			s->ud.responses++;
			ev_io_stop(&s->w->loop, &s->uio);
			if (stream_udp_reply(s, rbuf, 0))
				stream_sess_end(s, 200); /* as nginx: no "udp done" */
			else
				done(s);
			return;
		}
		for (int i = 0; i < n; i++) {
			s->ud.responses++;
			s->ud.u_recv += msgs[i].msg_len;
			if (stream_udp_reply(s, iov[i].iov_base, msgs[i].msg_len)) {
				/* nginx ends a session whose client cannot be
				 * answered (status 200, no "udp done" line) */
				stream_sess_end(s, 200);
				return;
			}
			if (done(s))
				return;
		}
		s->ud.last_ms = lbd_now_ms();
		if (n < UDP_BATCH)
			return; /* drained (level-triggered: more comes back) */
	}
}

void stream_udp_timeout(struct sess *s)
{
	int64_t idle = lbd_now_ms() - s->ud.last_ms;
	char t[512];

	if (idle < s->srv->timeout) {
		ev_timer_start(&s->w->loop, &s->timer, s->srv->timeout - idle);
		return;
	}
	if (s->srv->responses == INT_MAX ||
	    (uint64_t)s->ud.responses >= (uint64_t)s->srv->responses * s->ud.requests) {
		/* every answer expected came: a normal end */
		if (info_on(s))
			log_emit(s->srv->error_log, LOG_INFO, "*%llu udp timed out, %s",
				 (unsigned long long)s->number, counts(s, t, sizeof(t)));
		stream_sess_end(s, 200);
		return;
	}
	log_emit(s->srv->error_log, LOG_ERR,
		 "*%llu upstream timed out (110: Connection timed out) while proxying connection, "
		 "%s",
		 (unsigned long long)s->number, ctx(s, t, sizeof(t)));
	s->ud.failed = true;
	stream_sess_end(s, 502);
}

void stream_udp_end(struct sess *s)
{
	if (s->ud.connected)
		tunnel_unlist(&s->tun);
	free(s->ud.held);
	s->ud.held = NULL;
	if (table)
		unlink_sess(s);
	ended_now = s;
}

void stream_udp_unlisten(struct worker *w, int fd)
{
	(void)w;
	for (int i = 0; table && i < UDP_TABLE_SIZE; i++) {
		struct sess *nx;

		for (struct sess *s = table[i]; s; s = nx) {
			nx = s->ud.hnext;
			if (s->ud.lfd != fd)
				continue;
			log_emit(s->srv->error_log, LOG_INFO, "*%llu disconnected on shutdown",
				 (unsigned long long)s->number);
			stream_sess_end(s, 200);
		}
	}
}

void stream_udp_fini(void)
{
	free(table);
	free(rbuf);
	table = NULL;
	rbuf = NULL;
}
