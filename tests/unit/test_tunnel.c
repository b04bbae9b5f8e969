/* SPDX-License-Identifier: MIT */
/*
 * Byte tunnels (userspace/tunnel.c) between two Unix socket pairs standing
 * for the client and upstream connections: bytes read before the tunnel go
 * first and in order, a FIN is forwarded behind the data, both FINs end
 * the tunnel, a vanished peer resets it, a stalled reader stops the
 * reading side (what is held is bounded by one pipe), and a paced
 * direction reads only its rate's budget.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tunnel.h"

/* struct rig - the tunnel's ends ([1] of each pair) and the test's ends. */
struct rig {
	int client[2];	 /* [0] the test acts as the client, [1] the tunnel's */
	int upstream[2]; /* [0] the tunnel's, [1] the test acts as the upstream */
	bool c_rd, c_wr, u_rd, u_wr;
	struct tunnel t;
};

static void rig_init(struct rig *r, const char *up_pre, const char *down_pre)
{
	/* splice(2) has no MSG_NOSIGNAL: lbd ignores SIGPIPE, so do we */
	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, r->client), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, r->upstream), 0);
	fcntl(r->client[1], F_SETFL, O_NONBLOCK);
	fcntl(r->upstream[0], F_SETFL, O_NONBLOCK);
	r->c_rd = r->c_wr = r->u_rd = r->u_wr = true;
	cr_assert_eq(
		tunnel_init(&r->t, (struct tunnel_side){r->client[1], &r->c_rd, &r->c_wr, NULL},
			    (struct tunnel_side){r->upstream[0], &r->u_rd, &r->u_wr, NULL}, up_pre,
			    up_pre ? strlen(up_pre) : 0, down_pre, down_pre ? strlen(down_pre) : 0),
		0);
}

static void rig_fini(struct rig *r)
{
	tunnel_free(&r->t);
	for (int i = 0; i < 2; i++) {
		close(r->client[i]);
		close(r->upstream[i]);
	}
}

/* run - events say everything may be ready again (edge-triggered: the
 * tunnel clears the flags it found blocked). */
static int run(struct rig *r)
{
	bool moved;

	r->c_rd = r->c_wr = r->u_rd = r->u_wr = true;
	return tunnel_run(&r->t, &moved);
}

static void read_all(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(fd, buf + got, n - got);

		cr_assert_gt(k, 0, "short: %zu of %zu", got, n);
		got += (size_t)k;
	}
	buf[got] = '\0';
}

Test(tunnel, early_bytes_first_then_stream)
{
	struct rig r;
	char buf[64];

	rig_init(&r, "early-up|", "HTTP/1.1 101 ...\r\n\r\nhello|");
	cr_assert_eq(write(r.client[0], "frame1", 6), 6);
	cr_assert_eq(write(r.upstream[1], "frame2", 6), 6);
	cr_assert_eq(run(&r), TUN_OPEN);
	read_all(r.upstream[1], buf, 15);
	cr_assert_str_eq(buf, "early-up|frame1");
	read_all(r.client[0], buf, 32);
	cr_assert_str_eq(buf, "HTTP/1.1 101 ...\r\n\r\nhello|frame2");
	cr_assert_eq(r.t.bytes[TUN_UP], 15);
	cr_assert_eq(r.t.bytes[TUN_DOWN], 32);
	rig_fini(&r);
}

Test(tunnel, half_close_both_ways_ends_it)
{
	struct rig r;
	char buf[64];

	rig_init(&r, NULL, NULL);
	cr_assert_eq(write(r.client[0], "bye", 3), 3);
	shutdown(r.client[0], SHUT_WR);
	cr_assert_eq(run(&r), TUN_OPEN, "one direction still open");
	read_all(r.upstream[1], buf, 3);
	cr_assert_str_eq(buf, "bye");
	cr_assert_eq(read(r.upstream[1], buf, 1), 0, "the FIN follows the data");
	/* the other way keeps flowing after the client's FIN */
	cr_assert_eq(write(r.upstream[1], "last words", 10), 10);
	shutdown(r.upstream[1], SHUT_WR);
	cr_assert_eq(run(&r), TUN_DONE);
	read_all(r.client[0], buf, 10);
	cr_assert_str_eq(buf, "last words");
	cr_assert_eq(read(r.client[0], buf, 1), 0);
	rig_fini(&r);
}

Test(tunnel, vanished_peer_resets)
{
	struct rig r;

	rig_init(&r, NULL, NULL);
	close(r.upstream[1]);
	r.upstream[1] = -1;
	cr_assert_eq(write(r.client[0], "to nobody", 9), 9);
	cr_assert_eq(run(&r), TUN_RESET);
	cr_assert(r.t.err == EPIPE || r.t.err == ECONNRESET, "err %d", r.t.err);
	rig_fini(&r);
}

Test(tunnel, stalled_reader_bounds_what_is_held)
{
	static char big[4 << 20], sink[1 << 16];
	struct rig r;
	size_t wrote = 0, got = 0;
	int st;

	memset(big, 'x', sizeof(big));
	rig_init(&r, NULL, NULL);
	fcntl(r.client[0], F_SETFL, O_NONBLOCK);
	/* the client pushes until everything is full; nobody reads upstream */
	for (int round = 0; round < 64; round++) {
		ssize_t w = write(r.client[0], big + wrote, sizeof(big) - wrote);

		if (w > 0)
			wrote += (size_t)w;
		cr_assert_eq(run(&r), TUN_OPEN);
	}
	cr_assert_lt(wrote, sizeof(big), "a stalled stream took everything");
	cr_assert_leq(r.t.inpipe[TUN_UP], 64 * 1024, "more than a pipe held");
	cr_assert_not(r.u_wr, "the tunnel saw the upstream blocked");
	/* the reader wakes: every byte arrives */
	fcntl(r.upstream[1], F_SETFL, O_NONBLOCK);
	for (int round = 0; round < 100000 && got < sizeof(big); round++) {
		ssize_t k = read(r.upstream[1], sink, sizeof(sink));
		ssize_t w = wrote < sizeof(big)
				    ? write(r.client[0], big + wrote, sizeof(big) - wrote)
				    : 0;

		if (k > 0)
			got += (size_t)k;
		if (w > 0)
			wrote += (size_t)w;
		st = run(&r);
		cr_assert_eq(st, TUN_OPEN);
	}
	cr_assert_eq(got, sizeof(big));
	cr_assert_eq(r.t.bytes[TUN_UP], sizeof(big));
	rig_fini(&r);
}

/* A paced direction (proxy_download_rate) reads only its budget, one
 * second's worth at the start; the rest stays in the source socket (the
 * sender is held back) and the tunnel names when to run it again. The
 * other direction is not paced. */
Test(tunnel, paced_direction_reads_its_budget)
{
	static char big[65536], buf[65536];
	struct rig r;
	int queued = 0;

	rig_init(&r, NULL, NULL);
	tunnel_set_rate(&r.t, 0, 16384);
	memset(big, 'p', sizeof(big));
	cr_assert_eq(write(r.upstream[1], big, sizeof(big)), (ssize_t)sizeof(big));
	cr_assert_eq(write(r.client[0], big, 40000), 40000);
	cr_assert_eq(run(&r), TUN_OPEN);
	cr_assert_geq(r.t.bytes[TUN_DOWN], 16384);
	cr_assert_lt(r.t.bytes[TUN_DOWN], 32768, "read %llu",
		     (unsigned long long)r.t.bytes[TUN_DOWN]);
	cr_assert_eq(r.t.bytes[TUN_UP], 40000, "the upload is not paced");
	cr_assert_gt(tunnel_wake_ms(&r.t), 0, "a paced direction waits on a timer");
	cr_assert_eq(ioctl(r.upstream[0], FIONREAD, &queued), 0);
	cr_assert_gt(queued, 65536 - 32768, "the rest stays with the sender");
	read_all(r.client[0], buf, (size_t)r.t.bytes[TUN_DOWN]);
	cr_assert_eq(buf[0], 'p');
	rig_fini(&r);
}
