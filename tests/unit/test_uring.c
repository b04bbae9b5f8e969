/* SPDX-License-Identifier: MIT */
/*
 * uring.c on real sockets: several sends in one submit, each result under
 * its tag; a full socket answers -EAGAIN at once (MSG_DONTWAIT: nothing
 * waits in the kernel after the call); a closed peer -EPIPE; a full ring
 * refuses; a dropped batch sends nothing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uring.h"

#define NRES 16

static struct {
	uint64_t tag[NRES];
	int res[NRES];
	int n;
} got;

static void done(void *arg, uint64_t tag, int res)
{
	(void)arg;
	cr_assert_lt(got.n, NRES);
	got.tag[got.n] = tag;
	got.res[got.n] = res;
	got.n++;
}

/* result - the result reported for TAG; fails if none or two */
static int result(uint64_t tag)
{
	int found = -1;

	for (int i = 0; i < got.n; i++)
		if (got.tag[i] == tag) {
			cr_assert_eq(found, -1, "tag %llu reported twice", (unsigned long long)tag);
			found = i;
		}
	cr_assert_neq(found, -1, "tag %llu not reported", (unsigned long long)tag);
	return got.res[found];
}

static void pair(int sv[2])
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}

static struct uring ring(unsigned n)
{
	struct uring r;
	int rc = uring_init(&r, n);

	cr_assert_eq(rc, 0, "io_uring_setup: %s (the kernel has io_uring)", strerror(-rc));
	cr_assert(uring_ok(&r));
	return r;
}

Test(uring, sends_in_one_submit)
{
	struct uring r = ring(8);
	int a[2], b[2], c[2];
	char h1[] = "GET /a HTTP/1.1\r\n\r\n", body[] = "hello", h2[] = "GET /b HTTP/1.1\r\n\r\n";
	char buf[64];
	struct iovec v1[2] = {{h1, strlen(h1)}, {body, 5}}, v2[1] = {{h2, strlen(h2)}};
	struct msghdr m1 = {.msg_iov = v1, .msg_iovlen = 2}, m2 = {.msg_iov = v2, .msg_iovlen = 1};

	pair(a), pair(b), pair(c);
	close(c[1]); /* its peer is gone: -EPIPE, no SIGPIPE (MSG_NOSIGNAL) */
	got.n = 0;
	cr_assert(uring_send(&r, a[0], &m1, 7));
	cr_assert(uring_send(&r, b[0], &m2, 9));
	cr_assert(uring_send(&r, c[0], &m2, 11));
	cr_assert_eq(uring_room(&r), r.entries - 3);
	cr_assert_eq(uring_submit(&r, done, NULL), 0);
	cr_assert_eq(got.n, 3);
	cr_assert_eq(result(7), (int)(strlen(h1) + 5));
	cr_assert_eq(result(9), (int)strlen(h2));
	cr_assert_eq(result(11), -EPIPE);
	cr_assert_eq(read(a[1], buf, sizeof(buf)), (ssize_t)(strlen(h1) + 5));
	cr_assert_eq(memcmp(buf, "GET /a HTTP/1.1\r\n\r\nhello", strlen(h1) + 5), 0);
	cr_assert_eq(read(b[1], buf, sizeof(buf)), (ssize_t)strlen(h2));
	cr_assert_eq(uring_room(&r), r.entries);
	/* the ring is used again: the second batch's results, not the first's */
	got.n = 0;
	cr_assert(uring_send(&r, b[0], &m2, 21));
	cr_assert(uring_send(&r, a[0], &m2, 22));
	cr_assert_eq(uring_submit(&r, done, NULL), 0);
	cr_assert_eq(got.n, 2);
	cr_assert_eq(result(21), (int)strlen(h2));
	cr_assert_eq(result(22), (int)strlen(h2));
	uring_fini(&r);
	cr_assert_not(uring_ok(&r));
}

Test(uring, full_socket_answers_eagain_at_once)
{
	struct uring r = ring(4);
	int a[2], b[2], sz = 4096;
	char fill[4096], msg[] = "x";
	struct iovec v = {msg, 1};
	struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};

	pair(a), pair(b);
	setsockopt(a[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	memset(fill, 'f', sizeof(fill));
	while (write(a[0], fill, sizeof(fill)) > 0)
		;
	cr_assert_eq(errno, EAGAIN);
	got.n = 0;
	cr_assert(uring_send(&r, a[0], &m, 1));
	cr_assert(uring_send(&r, b[0], &m, 2));
	cr_assert_eq(uring_submit(&r, done, NULL), 0);
	/* both reported by the time the call returned: nothing pending */
	cr_assert_eq(got.n, 2);
	cr_assert_eq(result(1), -EAGAIN);
	cr_assert_eq(result(2), 1);
	/* room on the socket later does not make the refused send happen */
	while (read(a[1], fill, sizeof(fill)) > 0)
		;
	got.n = 0;
	cr_assert_eq(uring_submit(&r, done, NULL), 0);
	cr_assert_eq(got.n, 0);
	uring_fini(&r);
}

Test(uring, full_ring_refuses_and_drop_sends_nothing)
{
	struct uring r = ring(2);
	int a[2];
	char msg[] = "y", buf[8];
	struct iovec v = {msg, 1};
	struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};

	pair(a);
	for (unsigned i = 0; i < r.entries; i++)
		cr_assert(uring_send(&r, a[0], &m, i));
	cr_assert_not(uring_send(&r, a[0], &m, 99));
	cr_assert_eq(uring_room(&r), 0);
	uring_drop(&r);
	cr_assert_eq(uring_room(&r), r.entries);
	got.n = 0;
	cr_assert_eq(uring_submit(&r, done, NULL), 0);
	cr_assert_eq(got.n, 0);
	cr_assert_eq(read(a[1], buf, sizeof(buf)), -1, "a dropped send went out");
	cr_assert_eq(errno, EAGAIN);
	/* and after the drop the ring still works */
	cr_assert(uring_send(&r, a[0], &m, 5));
	cr_assert_eq(uring_submit(&r, done, NULL), 0);
	cr_assert_eq(result(5), 1);
	cr_assert_eq(read(a[1], buf, sizeof(buf)), 1);
	uring_fini(&r);
}

Test(uring, zeroed_is_not_usable)
{
	struct uring r;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	memset(&r, 0, sizeof(r)); /* as in a zeroed struct worker */
	r.fd = p[0];		  /* whatever its fd field holds */
	cr_assert_not(uring_ok(&r));
	uring_fini(&r); /* closes nothing it did not open */
	cr_assert_neq(fcntl(p[0], F_GETFD), -1);
	cr_assert_eq(r.fd, -1);
}
