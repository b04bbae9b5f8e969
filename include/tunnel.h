/* SPDX-License-Identifier: MIT */
/*
 * A byte tunnel between a client and an upstream socket, once the HTTP
 * exchange is over (a WebSocket after 101). Bytes move with splice(2)
 * through one pipe per direction, so they never enter lbd's memory, and
 * each direction reads only when its pipe is empty: a slow reader holds
 * at most a pipe and the socket buffers of its stream (backpressure, not
 * drops). A FIN is forwarded as shutdown(SHUT_WR) once everything before
 * it is written; a reset on either side resets the other.
 *
 * The tunnel does not own the sockets or their event registrations: the
 * caller (proxy.c) feeds readiness in and acts on the result.
 */
#ifndef LBD_TUNNEL_H
#define LBD_TUNNEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct tls_conn;

/* Directions: index of struct tunnel's per-direction state. */
enum tunnel_dir {
	TUN_UP = 0,   /* client -> upstream */
	TUN_DOWN = 1, /* upstream -> client */
};

/* Results of tunnel_run. */
enum tunnel_rc {
	TUN_OPEN = 0, /* waiting on readiness */
	TUN_DONE,     /* both directions ended with a FIN: close quietly */
	TUN_RESET,    /* a side reset or failed: the other was reset */
};

/* struct tunnel_side - one socket and its edge-triggered readiness (the
 * flags live in the caller's connection objects). */
struct tunnel_side {
	int fd;
	bool *readable;
	bool *writable;
	struct tls_conn *tls; /* a TLS leg (bytes go through OpenSSL), or NULL */
};

/* struct tunnel - both directions of one stream. */
struct tunnel {
	struct tunnel_side side[2]; /* [0] client, [1] upstream */
	int pipe[2][2];		    /* per direction: [0] read end, [1] write end */
	size_t inpipe[2];	    /* bytes waiting in each pipe */
	char *pre[2];		    /* bytes read before the tunnel (malloc), per direction */
	size_t pre_len[2], pre_off[2];
	_Atomic uint64_t bytes[2]; /* bytes delivered per direction (read by lbctl conns) */
	bool eof[2];		   /* the direction's source sent FIN */
	bool shut[2];		   /* the direction's destination got shutdown(SHUT_WR) */
	int err;		   /* errno of the failure that reset the tunnel */

	/* sockmap path (tunnel_init_kernel): the kernel moves the bytes while
	 * a direction is resumed; lbd relays (recv/send) while it is paused */
	bool kernel;		/* this tunnel is in lb_splice */
	bool udp;		/* only listed: a `listen ... udp` session (stream_udp.c) */
	bool copy;		/* relayed through lbd\'s buffers: a TLS leg, which neither sockmap
		    * nor splice(2) can carry */
	uint32_t kid;		/* its stream id in the maps */
	uint64_t cookies[2];	/* client, upstream socket cookies */
	uint64_t user[2];	/* bytes each direction's destination had been sent
			   * before the tunnel (lbd's own since then: bytes[]) */
	uint64_t resumed_at[2]; /* passed count last published, UINT64_MAX = never */
	uint64_t consumed[2];	/* bytes read from each direction's source before it
				 * entered the map (lb_stream_ctl.consumed) */
	bool need_order[2];	/* bytes may have been redirected: check that they
				    * reached the destination before lbd writes */
	unsigned pokes[2];	/* sockmap: pokes that left bytes in the receive queue */
	uint64_t pread[2];	/* sockmap: passed bytes lbd has read, per direction */
	uint64_t cuts_done[2];	/* sockmap: repeats (struct lb_cut) lbd has dropped */
	uint64_t cut_left[2];	/* sockmap: bytes of the current repeat still to drop */
	uint64_t cut_bytes[2];	/* sockmap: bytes dropped as repeats */
	char *buf[2];		/* lbd's relay buffer per direction (kernel mode) */
	size_t buf_len[2], buf_off[2];
	bool retry;	      /* a direction waits for redirected bytes to land */
	uint64_t seen_kbytes; /* kernel-moved bytes at the last activity check */
	int64_t last_ms;      /* last byte moved (lbd_now_ms), for the idle timer */

	/* pacing (tunnel_set_rate; the splice(2) path only) */
	uint64_t rate[2];      /* bytes per second per direction, 0 = unlimited */
	uint64_t rate_read[2]; /* bytes read from each direction's source since */
	int64_t rate_start_ms; /* ... the pacing began */
	int64_t wake_ms[2];    /* a paced direction may read again then (0: not waiting) */

	/* the registry behind `lbctl conns` (tunnel_register) */
	bool registered;		    /* in the list */
	struct tunnel *reg_prev, *reg_next; /* list links, under the registry lock */
	char client[64];		    /* client address:port */
	char upstream[72];		    /* upstream server as configured */
	int64_t start_ms;		    /* lbd_now_ms() when it began */
	int worker;			    /* worker thread id */
};

/* struct tunnel_info - one open tunnel as `lbctl conns` shows it. */
struct tunnel_info {
	char client[64];     /* client address:port */
	char upstream[72];   /* upstream server */
	const char *path;    /* "sockmap" or "splice" */
	int64_t age_ms;	     /* since the tunnel began */
	uint64_t bytes_up;   /* client -> upstream */
	uint64_t bytes_down; /* upstream -> client */
	int worker;	     /* worker thread */
};

/* tunnel_init - set up T between CLIENT and UPSTREAM; UP_PRE/DOWN_PRE are
 * bytes already read from the client / the upstream (copied), to be
 * delivered first. 0, or -errno (pipes, memory). */
int tunnel_init(struct tunnel *t, struct tunnel_side client, struct tunnel_side upstream,
		const char *up_pre, size_t up_pre_len, const char *down_pre, size_t down_pre_len);

/* tunnel_init_kernel - as tunnel_init, on the sockmap path: both sockets
 * enter lb_splice and the kernel moves the bytes once lbd has delivered
 * the early ones. First it reads both sockets dry (into the early bytes,
 * up to 1 MiB each): a socket must enter the map with no segment half
 * read. 0 on the sockmap path; 1 when it read but could not switch (too
 * much pending, map full): T is then a splice(2) tunnel holding what it
 * read; -errno before anything was read when the kernel path is not
 * available (then call tunnel_init). */
int tunnel_init_kernel(struct tunnel *t, struct tunnel_side client, struct tunnel_side upstream,
		       const char *up_pre, size_t up_pre_len, const char *down_pre,
		       size_t down_pre_len);

/* tunnel_init_copy - as tunnel_init, for a stream with a TLS leg: bytes
 * go through lbd's buffers (recv/send, OpenSSL on the TLS side). */
int tunnel_init_copy(struct tunnel *t, struct tunnel_side client, struct tunnel_side upstream,
		     const char *up_pre, size_t up_pre_len, const char *down_pre,
		     size_t down_pre_len);

/* tunnel_set_rate - pace T (from tunnel_init) to UP / DOWN bytes per
 * second (0: unlimited), as nginx's stream proxy_upload_rate and
 * proxy_download_rate: a direction reads no more from its source than
 * the rate allows since now, plus one second's worth, so the sender is
 * held back by TCP itself and lbd holds at most a pipe per direction. */
void tunnel_set_rate(struct tunnel *t, uint64_t up, uint64_t down);

/* tunnel_wake_ms - when a paced direction of T may read again (lbd_now_ms
 * time; 0: none waits): the caller runs tunnel_run then, as no socket
 * event will come for bytes already waiting. */
int64_t tunnel_wake_ms(const struct tunnel *t);

/* tunnel_kernel_moved - bytes the kernel moved both ways so far (0 off
 * the sockmap path); the idle timer asks it before closing a stream. */
uint64_t tunnel_kernel_moved(struct tunnel *t);

/* tunnel_kernel_bytes - add the bytes the kernel moved per direction (BPF
 * counts; nothing off the sockmap path) to MOVED[TUN_UP], [TUN_DOWN]. */
void tunnel_kernel_bytes(struct tunnel *t, uint64_t moved[2]);

/* tunnel_run - move bytes both ways until everything would block.
 * Returns enum tunnel_rc; *MOVED tells whether any byte moved (for the
 * idle timer). */
int tunnel_run(struct tunnel *t, bool *moved);

/* tunnel_reset - end the tunnel by resetting both sockets (SO_LINGER 0):
 * the caller closes them next. */
void tunnel_reset(struct tunnel *t);

/* tunnel_register - list T for `lbctl conns` (client address, upstream
 * name, worker). tunnel_free unlists it. One lock, taken once per tunnel
 * start and end, never per byte. */
void tunnel_register(struct tunnel *t, const struct sockaddr_storage *client, const char *upstream,
		     int worker);

/* tunnel_list_udp - list UDP session T (whose bytes stream_udp.c counts
 * in t->bytes) in `lbctl conns` as path "udp"; tunnel_unlist takes it out. */
void tunnel_list_udp(struct tunnel *t, const struct sockaddr_storage *client, const char *upstream,
		     int worker);
void tunnel_unlist(struct tunnel *t);

/* tunnel_list - every open tunnel, through FN; returns the count. */
int tunnel_list(int (*fn)(const struct tunnel_info *ti, void *arg), void *arg);

/* tunnel_tick - once a second per worker: after many tunnels of this
 * thread closed, give the heap pages they left free back to the kernel. */
void tunnel_tick(void);

/* tunnel_free - release the pipes and buffers (not the sockets). */
void tunnel_free(struct tunnel *t);

#endif
