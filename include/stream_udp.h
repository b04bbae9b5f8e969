/* SPDX-License-Identifier: MIT */
/*
 * UDP proxying in `stream {}` (`listen ... udp`), as nginx's stream proxy
 * does it: a session per client address and port on a listener. The first
 * datagram of a client runs the stream phases (set, limit_conn, allow/deny,
 * return or proxy_pass: stream.c), picks an upstream server with the TCP
 * stream's balancers and connects a datagram socket to it; then every
 * datagram either way is forwarded whole (boundaries kept), the replies go
 * out of the listening socket (from the address the client wrote to, with
 * IP_PKTINFO / IPV6_PKTINFO on a wildcard listener). The session ends after
 * proxy_responses answers per client datagram, after proxy_timeout without
 * a datagram, or when its listener closes; proxy_requests takes it out of
 * the lookup after that many client datagrams (the next one starts a new
 * session). An upstream that answers with an ICMP error, or not in time
 * when answers are expected, fails (max_fails), as nginx counts it.
 */
#ifndef LBD_STREAM_UDP_H
#define LBD_STREAM_UDP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cfg-t.h"
#include "ev.h"

#define UDP_BATCH      8     /* datagrams read per recvmmsg() call */
#define UDP_ROUNDS     8     /* recvmmsg() calls per readiness event (fairness) */
#define UDP_DGRAM_MAX  65536 /* the largest datagram read from a client */
#define UDP_UP_ROUNDS  64    /* upstream datagrams relayed per readiness event */
#define UDP_TABLE_SIZE 4096  /* session lookup buckets per worker (a power of 2) */

struct sess;
struct worker;
struct stream_srv;

/* struct udp_sess - the datagram part of a stream session (in struct sess). */
struct udp_sess {
	bool on;		 /* a UDP session */
	bool hashed;		 /* findable by its client (proxy_requests takes it out) */
	bool connected;		 /* its upstream socket is connected */
	bool failed;		 /* the upstream failed: ICMP error, or no answer in time */
	bool pktinfo;		 /* reply from s->local with IP(V6)_PKTINFO (wildcard listener) */
	int lfd;		 /* the listening socket it came on (the worker's; not owned) */
	uint32_t hash;		 /* of lfd and the client's address */
	struct sess *hnext;	 /* bucket chain */
	uint32_t requests;	 /* datagrams from the client */
	uint32_t responses;	 /* datagrams (and errors) from the upstream */
	uint64_t c_recv, c_sent; /* bytes from / to the client */
	uint64_t u_sent, u_recv; /* bytes to / from the upstream */
	int64_t last_ms;	 /* the last datagram either way (proxy_timeout) */
	char *held;		 /* the first datagram, while proxy_pass's name is
				  * asked of the resolver (malloc), and its length */
	size_t held_len;
};

/* stream_udp_socket - set up bound datagram socket FD of listen L
 * (wildcard: ask for the destination address of each datagram). false
 * with errno set on failure. */
bool stream_udp_socket(int fd, const struct cfg_listen *l);

/* stream_udp_read_cb - a worker's datagram listener is readable (io->data:
 * its struct listener): read a bounded batch and hand each datagram to its
 * session, making one for a new client. */
void stream_udp_read_cb(struct ev_loop *loop, struct ev_io *io, uint32_t ev);

/* stream_udp_unlisten - listener FD of W is closing: end its sessions. */
void stream_udp_unlisten(struct worker *w, int fd);

/* stream_udp_server - the stream server with a `listen ... udp` on ADDR
 * in CFG, or NULL. */
struct stream_srv *stream_udp_server(const struct cfg *cfg, const struct sockaddr_storage *addr,
				     socklen_t len);

/* Hooks for stream.c. */
void stream_udp_connected(struct sess *s);	       /* upstream socket connected */
void stream_udp_upstream(struct sess *s, uint32_t ev); /* upstream socket ready */
void stream_udp_timeout(struct sess *s);	       /* the session's timer fired */
void stream_udp_end(struct sess *s);		       /* finalize: out of the table */
void stream_udp_disabled(struct sess *s);	       /* its server was just disabled (log) */
/* stream_udp_reply - one datagram P (N bytes) to S's client (`return`).
 * 0: sent, or dropped for want of socket buffer (as the network may); -1:
 * the client cannot be answered (logged as nginx logs it: an unbound unix
 * client is "111: Connection refused", at info): the caller ends S. */
int stream_udp_reply(struct sess *s, const void *p, size_t n);
/* stream_udp_fini - free this thread's buffers and table (worker exit). */
void stream_udp_fini(void);

/* stream_udp_hash - the lookup hash of listener FD and client address SA
 * (LEN bytes); only family, address and port count. */
uint32_t stream_udp_hash(int fd, const struct sockaddr_storage *sa);

#endif
