/* SPDX-License-Identifier: MIT */
/*
 * Private to the stream session code (stream.c, stream_udp.c): the session
 * object and the steps stream_udp.c drives. Not for other modules.
 */
#ifndef LBD_STREAM_INT_H
#define LBD_STREAM_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ev.h"
#include "limit.h"
#include "pool.h"
#include "pproto.h"
#include "preread.h"
#include "stream.h"
#include "stream_udp.h"
#include "tunnel.h"
#include "ups.h"

struct dns_waiter;

#define VAL_MAX	    512 /* longest evaluated value (map key, hash key) */
#define STREAM_CAPS 10	/* $0..$9 of a map regex */
#define UPADDR_MAX  256 /* $upstream_addr text */

enum sstate {
	SS_PREREAD = 0, /* peeking at the ClientHello */
	SS_PPROTO,	/* reading the PROXY header (before PREREAD) */
	SS_CONNECTING,	/* connect() to a server in progress */
	SS_TUNNEL,	/* bytes flow */
	SS_RETURN,	/* sending a `return` value (pbuf), then the end */
	SS_HANDSHAKE,	/* TLS handshake with the client (`listen ... ssl`) */
	SS_UPSSL,	/* TLS handshake with the upstream (proxy_ssl on) */
	SS_UDP,		/* `listen ... udp`: datagrams flow (stream_udp.c) */
	SS_RESOLVING,	/* proxy_pass's name asked of the `resolver` */
};

#define STREAM_DNS_WAIT (-1) /* s->status from pick_group: the name is being asked */

/* struct sess - one stream session. */
struct sess {
	struct worker *w;
	struct cfg *cfg;	/* generation (a ref) */
	struct stream_srv *srv; /* its server block */
	enum sstate state;
	int cfd, ufd;		     /* client, upstream sockets (-1: none) */
	struct ev_io cio, uio;	     /* their registrations */
	bool c_rd, c_wr, u_rd, u_wr; /* edge-triggered readiness */
	struct ev_timer timer;	     /* the state's one timer */
	struct sockaddr_storage peer, local;
	socklen_t peerlen, locallen;
	uint64_t number; /* $connection */
	int64_t start_ms;
	int64_t connect_start_ms, connect_ms; /* $upstream_connect_time */
	struct ups_group *g;
	struct ups_server *us; /* server holding our slot, or NULL */
	struct bal_ctx bctx;
	char key[VAL_MAX]; /* evaluated hash key */
	uint8_t *pbuf;	   /* preread buffer (a worker relay buffer while peeking) */
	bool have_pi;
	struct preread_info pi;
	char upaddr[UPADDR_MAX]; /* servers tried, ", " joined */
	size_t upaddr_len;
	size_t pp_len;		  /* PROXY header bytes sent ahead of the client's */
	size_t ret_len, ret_sent; /* SS_RETURN: the value in pbuf, bytes sent of it */
	uint8_t lconn_status;	  /* enum rl_conn_status ($limit_conn_status) */
	int nholds;		  /* limit_conn counts held (holds[]) */
	uint32_t set_mask;	  /* `set` variables that have a value (bit = index) */
	uint16_t set_used;	  /* bytes of the `set` values' buffer used */
	char *set_big;		  /* malloc'd STREAM_SET_BIG bytes holding the values
				   * once set_buf is too small (PEM), else NULL */
	uint16_t set_off[STREAM_SET_MAX], set_len[STREAM_SET_MAX]; /* their values */
	int ncap;			/* captures of the last map regex match (cap_ov) */
	size_t cap_ov[2 * STREAM_CAPS]; /* their offsets in cap_key */
	struct lstr *mapv;		/* per stream map (stream_map.idx): its value once computed
			    * (p NULL: not yet), as nginx keeps a variable's value for
			    * the session; in mpool, NULL until the first */
	int status;
	bool tun_on;
	bool have_pp;	 /* pp holds a PROXY header's addresses */
	bool realip;	 /* peer is pp's client (set_real_ip_from); tcp_peer the peer */
	bool ssl_listen; /* accepted on a `listen ... ssl` address */
	bool any_listen; /* its listen is a wildcard (0.0.0.0:P, [::]:P): log
			  * lines name it so, as nginx, not the local address */
	struct tls_conn *ctls, *utls; /* TLS with the client, the upstream (or NULL) */
	struct udp_sess ud;	      /* `listen ... udp` (stream_udp.c; ud.on) */
	struct dns_waiter *dns;	      /* proxy_pass's name being resolved (malloc) */
	bool dns_resumed;	      /* dns holds the answer pick_connect waited for */
	struct tunnel tun;	      /* from here on: not cleared at accept */
	struct pproto_info pp;
	struct pool mpool; /* the kept map values (reset at the end, kept for the next) */
	struct sockaddr_storage tcp_peer;	/* $realip_remote_addr when realip */
	char set_buf[STREAM_SET_BUF];		/* `set` values (set_off/set_len) */
	char cap_key[VAL_MAX];			/* the key the captures are in */
	struct rl_hold holds[STREAM_LCONN_MAX]; /* limit_conn counts, until the end */
	uint64_t kbytes[2];			/* bytes the kernel moved, read at the end */
	struct sess *prev, *next;
};

/* stream_sess_new - a session of SRV for PEER on LOCAL (NULL: the caller
 * fills s->local) with no socket yet (cfd, ufd -1), in this worker's list
 * and counted against worker_connections. NULL when the limit is reached
 * (logged) or out of memory. */
struct sess *stream_sess_new(struct worker *w, struct stream_srv *srv,
			     const struct sockaddr_storage *peer, socklen_t peerlen,
			     const struct sockaddr_storage *local, socklen_t locallen);

/* stream_sess_begin - run the phases of a new session: `set`, limit_conn,
 * allow/deny, then `return` or proxy_pass (which, for UDP, ends in
 * stream_udp_connected). S may be ended (and freed after the batch) on
 * return. */
void stream_sess_begin(struct sess *s);

/* stream_sess_end - end S with STATUS (logged, sockets closed, memory freed
 * after the batch). */
void stream_sess_end(struct sess *s, int status);

/* stream_sess_client - "ADDR" of S's client into BUF, for log lines. */
const char *stream_sess_client(struct sess *s, char *buf, size_t cap);

/* stream_sess_server - "ADDR:PORT" S was received on into BUF. */
const char *stream_sess_server(struct sess *s, char *buf, size_t cap);

#endif
