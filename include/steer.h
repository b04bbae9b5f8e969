/* SPDX-License-Identifier: MIT */
/*
 * Connection steering (userspace side of bpf/steer.bpf.c): an sk_reuseport
 * program gives each new connection to the worker with the fewest active
 * client connections. The workers publish their counts in lb_workers, an
 * mmap()ed BPF array, with one atomic add per accept and per close.
 * Without BPF every call here is a no-op and the kernel's SO_REUSEPORT
 * hash spreads connections, as before.
 */
#ifndef LBD_STEER_H
#define LBD_STEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* struct steer_info - what `lbctl stats` shows about steering. */
struct steer_info {
	bool on;	    /* the program is loaded (steer_init succeeded) */
	uint64_t picked;    /* connections given to the least-loaded worker */
	uint64_t no_slot;   /* listener unknown to the program: kernel hash */
	uint64_t no_socket; /* worker socket missing from the array: kernel hash */
	char why[160];	    /* why it is off: "" when on */
};

/*
 * steer_init - load the steering program for NWORKERS workers (1..64),
 * once, at start, while privileged (later calls return what the first one
 * did). PIN_DIR: lb_workers and lb_steer_stats are pinned there, replacing
 * a previous lbd's (NULL: not pinned; a pin failure is a warning only).
 * ENABLED false (`reuseport_steering off`) loads nothing. Never fatal: on
 * failure it logs one notice and returns -errno; then every other steer_
 * call is a no-op. Returns 0 (also when disabled) or -errno.
 */
int steer_init(bool enabled, int nworkers, const char *pin_dir);

/* steer_enabled - whether the program is loaded. */
bool steer_enabled(void);

/*
 * steer_attach - steer one listening address ADDR: FDS[i] (i < N, N the
 * worker count) is worker i's listening socket, bound and listening with
 * SO_REUSEPORT. They go into slot SLOT (0..LB_STEER_MAX_SLOTS-1) of the
 * socket array, the address into lb_steer_slots, then the program is
 * attached to the group. A failure is logged and leaves that address on
 * the kernel's hash. Returns 0 (also when steering is off) or -errno.
 */
int steer_attach(int slot, const struct sockaddr_storage *addr, socklen_t addrlen, const int *fds,
		 int n);

/* steer_detach - forget ADDR (its listeners are going away): new
 * connections to it, if any still arrive, take the kernel's hash. */
void steer_detach(const struct sockaddr_storage *addr, socklen_t addrlen);

/* steer_conn_opened / steer_conn_closed - WORKER accepted / closed a
 * client connection. Called by the worker thread itself; lock-free. */
void steer_conn_opened(int worker);
void steer_conn_closed(int worker);

/* steer_get_info - fill OUT (counters summed over CPUs). */
void steer_get_info(struct steer_info *out);

/* steer_fini - unload; remove the pins if they are still this process's.
 * Call after the workers stopped. */
void steer_fini(void);

#endif
