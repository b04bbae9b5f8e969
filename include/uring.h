/* SPDX-License-Identifier: MIT */
/*
 * uring - a small io_uring used for one thing: many sends in one system
 * call. A worker's end-of-round flush puts the round's plain upstream
 * requests in the submission ring and enters the kernel once; with
 * MSG_DONTWAIT each send is done (or refused with EAGAIN) before
 * io_uring_enter returns, so the caller reads every result right after,
 * as it would read writev's. Raw system calls, no liburing.
 */
#ifndef LBD_URING_H
#define LBD_URING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct io_uring_sqe;
struct io_uring_cqe;

/* struct uring - one ring, one thread. entries 0 (as zeroed): not
 * available. */
struct uring {
	int fd;
	unsigned entries; /* SQ entries */
	unsigned *sq_head, *sq_tail, sq_mask, *sq_array;
	unsigned *cq_head, *cq_tail, cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	void *sq_map, *cq_map;
	size_t sq_len, cq_len, sqes_len;
	unsigned queued; /* sends put in the ring, not yet entered */
};

/* uring_init - a ring of ENTRIES sends. 0, or -errno (the kernel or a
 * seccomp policy refuses io_uring, io_uring_disabled): R stays unusable
 * and callers send one by one. */
int uring_init(struct uring *r, unsigned entries);
void uring_fini(struct uring *r);

static inline bool uring_ok(const struct uring *r)
{
	return r->entries != 0;
}

/* uring_room - how many more sends fit before uring_submit(). */
static inline unsigned uring_room(const struct uring *r)
{
	return r->entries - r->queued;
}

/* uring_send - queue sendmsg(FD, MSG, MSG_DONTWAIT | MSG_NOSIGNAL) with
 * TAG; MSG and what it points to must stay until uring_submit() returns.
 * False when the ring is full. */
bool uring_send(struct uring *r, int fd, const struct msghdr *msg, uint64_t tag);

/* uring_drop - forget the queued sends, unsent. */
static inline void uring_drop(struct uring *r)
{
	r->queued = 0;
}

/* uring_submit - enter the kernel once for every queued send, then call
 * DONE(ARG, TAG, RES) for each result: bytes sent, or -errno (-EAGAIN:
 * the socket was full). 0, or -errno when the kernel took none (DONE is
 * then called with that error for each). */
int uring_submit(struct uring *r, void (*done)(void *arg, uint64_t tag, int res), void *arg);

#endif
