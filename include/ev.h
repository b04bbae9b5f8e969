/* SPDX-License-Identifier: MIT */
/*
 * Event loop: one per worker thread. Edge-triggered epoll for fds, a binary
 * heap of timers, and a deferred-call list run after each dispatch round.
 *
 * Invariant: an object whose fd may still have an event in the current
 * epoll batch is never freed inside a callback; its owner stops its ev_io
 * (which marks it dead for the rest of the batch) and frees it through
 * ev_defer(), which runs after the batch.
 */
#ifndef LBD_EV_H
#define LBD_EV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct ev_loop;
struct ev_io;
struct ev_timer;

typedef void (*ev_io_cb)(struct ev_loop *loop, struct ev_io *io, uint32_t revents);
typedef void (*ev_timer_cb)(struct ev_loop *loop, struct ev_timer *t);
typedef void (*ev_defer_cb)(void *arg);

/* struct ev_io - interest in one fd. Registered edge-triggered for both
 * directions once; the owner tracks readiness itself. */
struct ev_io {
	int fd;	     /* watched fd, -1 when stopped */
	ev_io_cb cb; /* called with EPOLL* bits */
	void *data;  /* owner */
	bool active; /* registered with epoll */
};

/* struct ev_timer - a one-shot timer. */
struct ev_timer {
	int64_t when;	/* deadline, ms on the loop clock */
	ev_timer_cb cb; /* called once when due */
	void *data;	/* owner */
	int heap_idx;	/* position in the heap, -1 when not armed */
};

struct ev_defer {
	ev_defer_cb fn; /* function to call after the dispatch round */
	void *arg;	/* its argument */
};

/* struct ev_loop - epoll fd, timer heap, deferred calls. Owned by a thread. */
struct ev_loop {
	int epfd;			     /* epoll instance */
	int64_t now;			     /* ms, monotonic; refreshed each round */
	struct ev_timer **heap;		     /* min-heap on when */
	int nheap, capheap;		     /* heap size and capacity */
	struct ev_defer *defers;	     /* calls to run after the round */
	int ndefers, capdefers;		     /* count and capacity */
	bool stop;			     /* ev_run returns at the end of the round */
	int batch;			     /* events per epoll_wait (epoll_events), 0: all
					      * the room there is (EV_BATCH) */
	void *data;			     /* owner (the worker) */
	void (*flush)(struct ev_loop *loop); /* after the I/O events of a round */
};

int ev_loop_init(struct ev_loop *loop);
void ev_loop_fini(struct ev_loop *loop);
int ev_run(struct ev_loop *loop);
int64_t ev_now(const struct ev_loop *loop);
void ev_update_time(struct ev_loop *loop);

void ev_io_init(struct ev_io *io, int fd, ev_io_cb cb, void *data);
int ev_io_start(struct ev_loop *loop, struct ev_io *io, uint32_t events);
int ev_io_modify(struct ev_loop *loop, struct ev_io *io, uint32_t events);
void ev_io_stop(struct ev_loop *loop, struct ev_io *io);
/* ev_io_close - ev_io_stop() and close() the descriptor, one syscall: the
 * close drops the epoll registration, as lbd never duplicates a
 * connection's descriptor (no fork, no dup). */
void ev_io_close(struct ev_io *io);

void ev_timer_init(struct ev_timer *t, ev_timer_cb cb, void *data);
int ev_timer_start(struct ev_loop *loop, struct ev_timer *t, int64_t after_ms);
void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t);
static inline bool ev_timer_armed(const struct ev_timer *t)
{
	return t->heap_idx >= 0;
}

int ev_defer(struct ev_loop *loop, ev_defer_cb fn, void *arg);

#endif
