/* SPDX-License-Identifier: MIT */
/*
 * Worker threads: each has its own event loop, its own SO_REUSEPORT
 * listener per listening address, its client connections, and its idle
 * upstream keep-alive connections. Nothing here is shared between workers
 * except through atomics (the current configuration pointer, counters).
 */
#ifndef LBD_WORKER_H
#define LBD_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cfg-t.h"
#include "ev.h"
#include "uring.h"

struct conn;
struct uconn;
struct resolver_w;

/* struct listener - one bound socket of one worker. */
struct listener {
	struct ev_io io;	      /* accept readiness */
	struct worker *w;	      /* owner */
	struct sockaddr_storage addr; /* bound address (identity across reloads) */
	socklen_t addrlen;
	int fd;	   /* listening socket */
	bool keep; /* still in the new config (reload marking) */
	bool udp;  /* a stream `listen ... udp` socket: datagrams (stream_udp.c) */
	/* TCP_NODELAY as set on the socket, which accepted ones inherit:
	 * 0 unknown, 1 off, 2 on */
	uint8_t nodelay;
};

/* struct worker - one worker thread. */
struct worker {
	int id; /* 0..n-1 */
	pthread_t thread;
	struct ev_loop loop; /* this thread's loop */
	struct cfg *cfg;     /* generation new connections get (a ref) */
	struct listener *ls; /* listeners */
	int nls;
	struct conn *conns; /* live client connections */
	int nconns;	    /* count, for worker_connections */
	struct uconn *idle; /* idle upstream keep-alive connections */
	int nidle;
	int evfd; /* eventfd: the main thread wakes us */
	struct ev_io evio;
	struct ev_timer accept_timer; /* resumes accepting after EMFILE or the limit */
	struct ev_timer tick;	      /* 1 s housekeeping (log flush) */
	bool accept_paused;
	bool accept_nofd;		/* paused by EMFILE/ENFILE: a close resumes it */
	bool quitting;			/* graceful stop: no accepts, drain */
	_Atomic int cmd;		/* WCMD_* posted by the main thread */
	_Atomic(struct cfg *) next_cfg; /* posted configuration for WCMD_RELOAD */
	char **relay_free;		/* free relay buffers */
	int nrelay_free;
	struct uconn *uconn_free; /* free uconn objects (proxy.c) */
	int nuconn_free;
	struct uconn **flushq; /* uconns with output to send after the round */
	int nflushq, capflushq;
	/* the round's plain upstream requests, sent in one system call */
	struct uring ur;
	struct msghdr *ur_msg; /* ur.entries each */
	struct iovec (*ur_iov)[2];
	struct ups_group **dyn_groups; /* proxy_pass with variables: literal
					* addresses' groups (proxy_dyn.c) */
	int ndyn_groups;
	struct resolver_w *dns; /* `resolver` lookups and their cache (resolver.c) */
};

enum worker_cmd {
	WCMD_NONE = 0,
	WCMD_RELOAD = 1 << 0, /* adopt next_cfg and its listeners */
	WCMD_QUIT = 1 << 1,   /* graceful: stop accepting, finish requests, exit */
	WCMD_STOP = 1 << 2,   /* fast: close everything, exit */
	WCMD_REOPEN = 1 << 3, /* flush access log buffers */
};

extern _Atomic uint64_t lbd_conn_counter; /* $connection numbers */

int worker_start_all(struct cfg *cfg, int n);
void worker_post_all(int cmd, struct cfg *next);
void worker_join_all(void);
int worker_count(void);
int worker_active_conns(void);
int worker_conns(int id);

/* Listening sockets are created by the main thread (while it may still be
 * privileged) and handed to the workers: one set per worker. */
int worker_bind_listeners(struct cfg *cfg, int nworkers, char *err, size_t errlen);

#define RELAY_BUF_SIZE (64 * 1024)
char *worker_relay_get(struct worker *w);
void worker_relay_put(struct worker *w, char *b);

/* worker_fd_freed - a client connection's fd was closed: when accepting
 * was paused for want of fds (EMFILE), resume now rather than when the
 * pause timer fires (the accept queue drains at the pace of closes, and
 * a client waiting behind dead connections is not held for timer rounds). */
void worker_fd_freed(struct worker *w);

#endif
