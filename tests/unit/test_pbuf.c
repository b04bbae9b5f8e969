/* SPDX-License-Identifier: MIT */
/*
 * Response buffering (pbuf.c) on a real socket pair: bytes come out in the
 * order they went in across the memory ring, its wrap-around and the temp
 * file (sent with sendfile(2), then the ring again once the file is full
 * and sent); the temp file never takes more than proxy_max_temp_file_size
 * in all; 0 means memory only; full buffers
 * take nothing more (the relay's backpressure); X-Accel-Buffering.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"
#include "pbuf.h"

static char tdir[64];

/* struct fixture - a client connection whose peer is a socket we read. */
struct fixture {
	struct conn c;
	struct cfg_loc loc;
	int peer;
};

static void setup(struct fixture *f, int nbufs, int64_t bufsize, int64_t fmax)
{
	int sv[2], small = 4096;

	memset(f, 0, sizeof(*f));
	strcpy(tdir, "/tmp/lbd-pbuf-XXXXXX");
	cr_assert_not_null(mkdtemp(tdir));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	f->peer = sv[1];
	f->c.io.fd = sv[0];
	f->c.file_fd = -1;
	pool_init(&f->c.pool, 4096);
	f->loc.proxy_buffering = 1;
	f->loc.proxy_buffers_num = nbufs;
	f->loc.proxy_buffers_size = bufsize;
	f->loc.proxy_max_temp_file_size = fmax;
	f->loc.proxy_temp_path = tdir; /* made by temp_open when missing: use it as is */
	f->c.req.loc = &f->loc;
	cr_assert_eq(pbuf_begin(&f->c), 0);
}

static void teardown(struct fixture *f)
{
	char cmd[96];

	pbuf_free(&f->c);
	pool_destroy(&f->c.pool);
	close(f->c.io.fd);
	close(f->peer);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tdir);
	cr_expect_eq(system(cmd), 0);
}

static unsigned char byte_at(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 11));
}

/* drain - read what the peer has; check it continues the sequence at *got. */
static void drain(struct fixture *f, size_t *got)
{
	unsigned char b[8192];
	ssize_t n;

	while ((n = read(f->peer, b, sizeof(b))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			cr_assert_eq(b[i], byte_at(*got + (size_t)i), "byte %zu", *got + (size_t)i);
		*got += (size_t)n;
	}
	cr_assert(n == -1 && errno == EAGAIN);
}

/* The whole path: put in odd-sized pieces (two iovecs each), flush and
 * read in between; everything arrives in order. */
static void run_order(int64_t fmax, size_t total)
{
	struct fixture f;
	char src[3001];
	size_t put = 0, got = 0;
	int rounds = 0;

	setup(&f, 2, 1000, fmax);
	while (got < total && rounds++ < 100000) {
		size_t n = LBD_MIN(sizeof(src), total - put);

		for (size_t i = 0; i < n; i++)
			src[i] = (char)byte_at(put + i);
		struct iovec iov[2] = {{src, n / 3}, {src + n / 3, n - n / 3}};
		size_t k = n ? pbuf_putv(&f.c, iov, 2) : 0;

		put += k;
		if (rounds % 3 == 0 || !k) {
			cr_assert_geq(pbuf_flush(&f.c), 0);
			drain(&f, &got);
		}
	}
	cr_expect_eq(got, total);
	cr_expect_eq(pbuf_flush(&f.c), 1);
	teardown(&f);
}

Test(pbuf, order_memory_and_file)
{
	run_order(1 << 20, 300000);
}

Test(pbuf, order_memory_only)
{
	run_order(0, 100000);
}

Test(pbuf, order_small_file)
{
	run_order(2500, 100000);
}

/* Nothing is read by the peer: the ring (2 x 1000) and the file (5000)
 * take 7000 bytes, then nothing. */
Test(pbuf, bounded)
{
	struct fixture f;
	char src[4000];
	struct iovec iov = {src, sizeof(src)};
	size_t got = 0, total = 0, k;

	setup(&f, 2, 1000, 5000);
	memset(src, 0, sizeof(src));
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)byte_at(i);
	k = pbuf_putv(&f.c, &iov, 1);
	cr_expect_eq(k, 4000);
	total += k;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)byte_at(total + i);
	k = pbuf_putv(&f.c, &iov, 1);
	cr_expect_eq(k, 3000);
	total += k;
	cr_expect_eq(pbuf_putv(&f.c, &iov, 1), 0);
	/* the socket takes some; the rest stays */
	while (got < total) {
		int rc = pbuf_flush(&f.c);

		cr_assert_geq(rc, 0);
		drain(&f, &got);
	}
	cr_expect_eq(got, 7000);
	teardown(&f);
}

/* No pbuf: flush has nothing to do; putv takes nothing. */
Test(pbuf, absent)
{
	struct conn c;
	char b[4] = "abc";
	struct iovec iov = {b, 3};

	memset(&c, 0, sizeof(c));
	cr_expect_eq(pbuf_flush(&c), 1);
	cr_expect_eq(pbuf_putv(&c, &iov, 1), 0);
}

Test(pbuf, x_accel_buffering)
{
	struct cfg_loc loc = {.proxy_buffering = 1};
	struct conn c = {.req.loc = &loc};
	struct h1_header no[] = {{.name = {"X-Accel-Buffering", 17}, .value = {"No", 2}}};
	struct h1_header yes[] = {{.name = {"x-accel-buffering", 17}, .value = {"yes", 3}}};
	struct h1_header junk[] = {{.name = {"X-Accel-Buffering", 17}, .value = {"maybe", 5}}};

	cr_expect(pbuf_wanted(&c, NULL, 0));
	cr_expect_not(pbuf_wanted(&c, no, 1));
	cr_expect(pbuf_wanted(&c, junk, 1));
	loc.proxy_buffering = 0;
	cr_expect_not(pbuf_wanted(&c, NULL, 0));
	cr_expect(pbuf_wanted(&c, yes, 1));
	cr_expect_not(pbuf_wanted(&c, junk, 1));
}

/* file_size - bytes in the fixture's temp file (found through /proc: it
 * has no name), -1 when there is none. */
static long file_size(void)
{
	char link[64], target[256];
	struct stat st;

	for (int fd = 3; fd < 1024; fd++) {
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, tdir, strlen(tdir)) == 0 && fstat(fd, &st) == 0)
			return (long)st.st_size;
	}
	return -1;
}

/* put_seq - put N bytes of the sequence from *put on; bytes taken. */
static size_t put_seq(struct fixture *f, size_t *put, size_t n)
{
	char src[8192];
	struct iovec iov = {src, n};
	size_t k;

	cr_assert_leq(n, sizeof(src));
	for (size_t i = 0; i < n; i++)
		src[i] = (char)byte_at(*put + i);
	k = pbuf_putv(&f->c, &iov, 1);
	*put += k;
	return k;
}

/* proxy_busy_buffers_size: only that much memory waits for the client;
 * proxy_temp_file_write_size: the file is written in batches of that
 * size (nothing while less is staged). 8 x 1000 bytes, busy 2000, write
 * 3000: the ring takes 2000, the stage 3000 at a time. */
Test(pbuf, busy_and_write_size)
{
	struct fixture f;
	size_t put = 0, got = 0;

	setup(&f, 8, 1000, 1 << 20);
	f.loc.proxy_busy_buffers_size = 2000;
	f.loc.proxy_temp_file_write_size = 3000;
	pbuf_free(&f.c);
	cr_assert_eq(pbuf_begin(&f.c), 0);
	cr_expect_eq(put_seq(&f, &put, 2000), 2000); /* the ring */
	cr_expect_eq(file_size(), -1);
	cr_expect_eq(put_seq(&f, &put, 2999), 2999); /* staged */
	cr_expect_eq(file_size(), -1);
	cr_expect_eq(put_seq(&f, &put, 1), 1); /* the stage is full: one write */
	cr_expect_eq(file_size(), 3000);
	cr_expect_eq(put_seq(&f, &put, 7000),
		     7000); /* two writes straight from the input, 1000 staged */
	cr_expect_eq(file_size(), 9000);
	cr_expect_eq(put_seq(&f, &put, 500), 500);
	cr_expect_eq(file_size(), 9000);
	while (got < put) {
		cr_assert_geq(pbuf_flush(&f.c), 0);
		drain(&f, &got);
	}
	cr_expect_eq(got, 12500);
	cr_expect_eq(pbuf_flush(&f.c), 1);
	teardown(&f);
}

/* Order across ring, file and stage, the stage partly sent from memory
 * between puts. */
Test(pbuf, order_with_stage)
{
	struct fixture f;
	size_t put = 0, got = 0;
	int rounds = 0;

	setup(&f, 4, 1000, 1 << 20);
	f.loc.proxy_busy_buffers_size = 1000;
	f.loc.proxy_temp_file_write_size = 1500;
	pbuf_free(&f.c);
	cr_assert_eq(pbuf_begin(&f.c), 0);
	while (got < 300000 && rounds++ < 100000) {
		size_t n = LBD_MIN((size_t)(rounds * 37 % 5000), 300000 - put);
		size_t k = n ? put_seq(&f, &put, n) : 0;

		if (rounds % 3 == 0 || !k) {
			cr_assert_geq(pbuf_flush(&f.c), 0);
			drain(&f, &got);
		}
	}
	cr_expect_eq(got, 300000);
	teardown(&f);
}
