/* SPDX-License-Identifier: MIT */
/*
 * Event loop: epoll (edge-triggered) plus a timer min-heap and a list of
 * deferred calls. One loop per worker thread; nothing here is shared.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "ev.h"
#include "lbd.h"
#include "log.h"

#define EV_BATCH 256 /* events fetched per epoll_wait */

int ev_loop_init(struct ev_loop *loop)
{
	memset(loop, 0, sizeof(*loop));
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd == -1)
		return -errno;
	loop->now = lbd_now_ms();
	return 0;
}

void ev_loop_fini(struct ev_loop *loop)
{
	if (loop->epfd >= 0)
		close(loop->epfd);
	free(loop->heap);
	free(loop->defers);
	loop->epfd = -1;
	loop->heap = NULL;
	loop->defers = NULL;
}

int64_t ev_now(const struct ev_loop *loop)
{
	return loop->now;
}

void ev_update_time(struct ev_loop *loop)
{
	loop->now = lbd_now_ms();
}

void ev_io_init(struct ev_io *io, int fd, ev_io_cb cb, void *data)
{
	io->fd = fd;
	io->cb = cb;
	io->data = data;
	io->active = false;
}

/* epoll keys a registration on the open file; closing its only
 * descriptor removes it (nginx and HAProxy skip the EPOLL_CTL_DEL too).
 * Events of this round already fetched are skipped: active is false. */
void ev_io_close(struct ev_io *io)
{
	io->active = false;
	close(io->fd);
}

int ev_io_start(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};

	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev) == -1)
		return -errno;
	io->active = true;
	return 0;
}

int ev_io_modify(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};

	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) == -1)
		return -errno;
	return 0;
}

/* ev_io_stop - unregister; events already fetched for this io in the
 * current round are skipped because active is false. */
void ev_io_stop(struct ev_loop *loop, struct ev_io *io)
{
	if (io->active)
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->active = false;
}

void ev_timer_init(struct ev_timer *t, ev_timer_cb cb, void *data)
{
	t->when = 0;
	t->cb = cb;
	t->data = data;
	t->heap_idx = -1;
}

static void heap_swap(struct ev_loop *loop, int a, int b)
{
	struct ev_timer *t = loop->heap[a];

	loop->heap[a] = loop->heap[b];
	loop->heap[b] = t;
	loop->heap[a]->heap_idx = a;
	loop->heap[b]->heap_idx = b;
}

static void heap_up(struct ev_loop *loop, int i)
{
	while (i > 0) {
		int p = (i - 1) / 2;

		if (loop->heap[p]->when <= loop->heap[i]->when)
			break;
		heap_swap(loop, p, i);
		i = p;
	}
}

static void heap_down(struct ev_loop *loop, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;

		if (l < loop->nheap && loop->heap[l]->when < loop->heap[m]->when)
			m = l;
		if (r < loop->nheap && loop->heap[r]->when < loop->heap[m]->when)
			m = r;
		if (m == i)
			return;
		heap_swap(loop, i, m);
		i = m;
	}
}

void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t)
{
	int i = t->heap_idx;

	if (i < 0)
		return;
	loop->nheap--;
	if (i != loop->nheap) {
		loop->heap[i] = loop->heap[loop->nheap];
		loop->heap[i]->heap_idx = i;
		heap_down(loop, i);
		heap_up(loop, i);
	}
	t->heap_idx = -1;
}

/* ev_timer_start - (re)arm T to fire after_ms from the loop's now. */
int ev_timer_start(struct ev_loop *loop, struct ev_timer *t, int64_t after_ms)
{
	int64_t when = loop->now + after_ms;

	if (t->heap_idx >= 0) {
		int64_t old = t->when;

		t->when = when;
		if (when < old)
			heap_up(loop, t->heap_idx);
		else
			heap_down(loop, t->heap_idx);
		return 0;
	}
	if (loop->nheap == loop->capheap) {
		int cap = loop->capheap ? loop->capheap * 2 : 256;
		struct ev_timer **h = realloc(loop->heap, (size_t)cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		loop->heap = h;
		loop->capheap = cap;
	}
	t->when = when;
	t->heap_idx = loop->nheap;
	loop->heap[loop->nheap++] = t;
	heap_up(loop, t->heap_idx);
	return 0;
}

int ev_defer(struct ev_loop *loop, ev_defer_cb fn, void *arg)
{
	if (loop->ndefers == loop->capdefers) {
		int cap = loop->capdefers ? loop->capdefers * 2 : 64;
		struct ev_defer *d = realloc(loop->defers, (size_t)cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		loop->defers = d;
		loop->capdefers = cap;
	}
	loop->defers[loop->ndefers++] = (struct ev_defer){fn, arg};
	return 0;
}

static void run_defers(struct ev_loop *loop)
{
	/* A deferred call may defer more; run until the list is empty. */
	for (int i = 0; i < loop->ndefers; i++)
		loop->defers[i].fn(loop->defers[i].arg);
	loop->ndefers = 0;
}

static void run_timers(struct ev_loop *loop)
{
	while (loop->nheap > 0 && loop->heap[0]->when <= loop->now) {
		struct ev_timer *t = loop->heap[0];

		ev_timer_stop(loop, t);
		t->cb(loop, t);
	}
}

/* ev_run - dispatch until ev_stop-like loop->stop is set. Returns 0 or
 * -errno when epoll itself fails. */
int ev_run(struct ev_loop *loop)
{
	struct epoll_event evs[EV_BATCH];
	int batch = loop->batch > 0 && loop->batch < EV_BATCH ? loop->batch : EV_BATCH;

	while (!loop->stop) {
		int timeout = -1, n;

		if (loop->nheap > 0) {
			int64_t d = loop->heap[0]->when - loop->now;

			timeout = d < 0 ? 0 : (int)LBD_MIN(d, 60000);
		}
		n = epoll_wait(loop->epfd, evs, batch, timeout);
		if (n == -1 && errno != EINTR)
			return -errno;
		ev_update_time(loop);
		for (int i = 0; i < n; i++) {
			struct ev_io *io = evs[i].data.ptr;

			if (io->active)
				io->cb(loop, io, evs[i].events);
		}
		/* Writes queued by the callbacks go out together: peers woken
		 * once find many sockets ready. */
		if (loop->flush)
			loop->flush(loop);
		run_timers(loop);
		run_defers(loop);
	}
	return 0;
}
