/* SPDX-License-Identifier: MIT */
/*
 * Event loop: timers fire in deadline order and only once, re-arming and
 * stopping work, deferred calls run after the round, a stopped io gets no
 * more callbacks in the same round, edge-triggered readiness is reported.
 */
#include <criterion/criterion.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"

static int order[16], norder;

static void record(struct ev_loop *loop, struct ev_timer *t)
{
	order[norder++] = (int)(intptr_t)t->data;
	if (norder >= 5)
		loop->stop = true;
}

Test(ev, timers_fire_in_deadline_order_once)
{
	struct ev_loop loop;
	struct ev_timer t[5];
	int64_t after[5] = {30, 10, 20, 0, 40};

	cr_assert_eq(ev_loop_init(&loop), 0);
	norder = 0;
	for (int i = 0; i < 5; i++) {
		ev_timer_init(&t[i], record, (void *)(intptr_t)i);
		cr_assert_eq(ev_timer_start(&loop, &t[i], after[i]), 0);
	}
	cr_assert_eq(ev_run(&loop), 0);
	cr_assert_eq(norder, 5);
	int want[5] = {3, 1, 2, 0, 4};

	for (int i = 0; i < 5; i++)
		cr_expect_eq(order[i], want[i], "position %d", i);
	for (int i = 0; i < 5; i++)
		cr_expect_not(ev_timer_armed(&t[i]));
	ev_loop_fini(&loop);
}

static void record_until_two(struct ev_loop *loop, struct ev_timer *t)
{
	order[norder++] = (int)(intptr_t)t->data;
	if (norder >= 2)
		loop->stop = true;
}

Test(ev, restart_moves_and_stop_cancels)
{
	struct ev_loop loop;
	struct ev_timer a, b, c;

	cr_assert_eq(ev_loop_init(&loop), 0);
	norder = 0;
	ev_timer_init(&a, record_until_two, (void *)(intptr_t)1);
	ev_timer_init(&b, record_until_two, (void *)(intptr_t)2);
	ev_timer_init(&c, record_until_two, (void *)(intptr_t)3);
	ev_timer_start(&loop, &a, 5);
	ev_timer_start(&loop, &b, 10);
	ev_timer_start(&loop, &c, 15);
	ev_timer_start(&loop, &a, 50); /* a moves behind the others */
	ev_timer_stop(&loop, &b);      /* b never fires */
	ev_timer_stop(&loop, &b);      /* stopping twice is harmless */
	cr_expect_not(ev_timer_armed(&b));
	cr_assert_eq(loop.nheap, 2);
	cr_assert_eq(ev_run(&loop), 0);
	cr_expect_eq(norder, 2);
	cr_expect_eq(order[0], 3);
	cr_expect_eq(order[1], 1);
	ev_loop_fini(&loop);
}

static int deferred;
static int io_calls;
static struct ev_io *victim;

static void defer_fn(void *arg)
{
	deferred += (int)(intptr_t)arg;
}

static void io_cb(struct ev_loop *loop, struct ev_io *io, uint32_t ev)
{
	(void)ev;
	io_calls++;
	/* the first callback of the round stops the other io: it must not
	 * be called in this round even though epoll reported it */
	if (io != victim)
		ev_io_stop(loop, victim);
	else
		ev_io_stop(loop, io);
	cr_expect_eq(deferred, 0, "deferred call ran inside the round");
	ev_defer(loop, defer_fn, (void *)(intptr_t)1);
	loop->stop = true;
}

Test(ev, stopped_io_skipped_and_defers_after_round)
{
	struct ev_loop loop;
	struct ev_io a, b;
	int sa[2], sb[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	cr_assert_eq(ev_loop_init(&loop), 0);
	ev_io_init(&a, sa[0], io_cb, NULL);
	ev_io_init(&b, sb[0], io_cb, NULL);
	cr_assert_eq(ev_io_start(&loop, &a, EPOLLIN | EPOLLET), 0);
	cr_assert_eq(ev_io_start(&loop, &b, EPOLLIN | EPOLLET), 0);
	cr_assert_eq(write(sa[1], "x", 1), 1);
	cr_assert_eq(write(sb[1], "y", 1), 1);
	victim = &b;
	deferred = 0;
	io_calls = 0;
	cr_assert_eq(ev_run(&loop), 0);
	/* exactly one of a/b ran: whichever ran first stopped the other (or
	 * itself, when b came first, and then a ran and stopped b again) */
	cr_expect(io_calls >= 1 && io_calls <= 2);
	cr_expect_not(b.active);
	cr_expect_eq(deferred, io_calls, "each callback's deferred call ran once");
	ev_loop_fini(&loop);
	close(sa[0]), close(sa[1]), close(sb[0]), close(sb[1]);
}
