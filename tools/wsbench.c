/* SPDX-License-Identifier: MIT */
/*
 * wsbench - upgraded-stream (WebSocket) and TCP-stream benchmark for
 * bench/ws.sh: the backend and the client.
 *
 *   wsbench server PORT
 *       serves each connection the stream its head names: an HTTP
 *       "GET PATH" head is answered 101 first (WebSocket), a bare
 *       "PATH\r\n\r\n" head (plain TCP, -t) is not answered. Paths: /echo
 *       echoes, /sink reads until EOF, /source/N sends N bytes, /pattern/N
 *       sends N bytes where each 8-byte word holds its own index
 *   wsbench [-t] pingpong PORT COUNT SIZE
 *       one stream to /echo: COUNT round trips of SIZE bytes; prints
 *       "p50_us p99_us"
 *   wsbench [-t] bulk PORT BYTES [STREAMS]
 *       STREAMS (1) streams at once from /source, BYTES in all; prints the
 *       total "gbit_s" (first connect to last byte)
 *   wsbench [-t] verify PORT BYTES
 *       one stream from /pattern/BYTES: checks every byte arrived once and
 *       in order; prints "gbit_s" or the offset of the first wrong byte
 *   wsbench [-t] slow PORT BYTES STALL_MS
 *       a slow reader: one stream from /pattern/BYTES, nothing read for
 *       STALL_MS, then 16 KiB per 10 ms for STALL_MS more, then the rest at
 *       full speed, every byte checked as in verify; prints "ok"
 *
 * -t: plain TCP, the head is a bare path line (for stream {} proxies),
 * else an HTTP/1.1 Upgrade request the client sends before waiting for the
 * 101. Every socket has a 30 s receive and send timeout, so a stalled
 * proxy ends a run with an error instead of hanging it. Plain blocking
 * sockets and a thread per connection: the tool measures the proxy in
 * between, not itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF	   (256 * 1024)
#define TIMEOUT_S  30
#define TRICKLE	   (16 * 1024) /* slow reader: bytes per TRICKLE_MS */
#define TRICKLE_MS 10

static int plain; /* -t: no HTTP upgrade, a bare path line */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* sock_setup - TCP_NODELAY and the send/receive timeouts on FD. */
static void sock_setup(int fd)
{
	struct timeval tv = {.tv_sec = TIMEOUT_S};
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0) {
			if (w == -1 && errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_exact(int fd, char *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);

		if (r <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* read_head - read up to the end of a head ("\r\n\r\n"), one byte at a
 * time so that bytes after it stay in the socket (a plain client sends
 * its first ping right behind its path line). Returns the head length or
 * -1. */
static int read_head(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n < cap - 1) {
		ssize_t r = read(fd, buf + n, 1);

		if (r <= 0)
			return -1;
		n++;
		if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0) {
			buf[n] = '\0';
			return (int)n;
		}
	}
	return -1;
}

/* send_stream - write LEFT bytes to FD, the index pattern or 'x's; then a
 * FIN, and read until the peer closes. */
static void send_stream(int fd, char *buf, long long left, int pattern)
{
	uint64_t word = 0;

	memset(buf, 'x', BUF);
	while (left > 0) {
		size_t n = left > BUF ? BUF : (size_t)left;

		for (size_t i = 0; pattern && i < BUF / 8; i++, word++)
			memcpy(buf + i * 8, &word, 8);
		if (write_all(fd, buf, n))
			break;
		left -= (long long)n;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, BUF) > 0)
		;
}

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	static const char ok[] =
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
	char head[4096], *buf = malloc(BUF), path[256] = "";

	sock_setup(fd);
	if (!buf || read_head(fd, head, sizeof(head)) < 0)
		goto out;
	if (strncmp(head, "GET ", 4) == 0) {
		if (sscanf(head, "GET %255s", path) != 1 || write_all(fd, ok, sizeof(ok) - 1))
			goto out;
	} else if (sscanf(head, "%255s", path) != 1) {
		goto out;
	}
	if (strcmp(path, "/echo") == 0) {
		for (;;) {
			ssize_t r = read(fd, buf, BUF);

			if (r <= 0 || write_all(fd, buf, (size_t)r))
				break;
		}
	} else if (strncmp(path, "/pattern/", 9) == 0) {
		send_stream(fd, buf, atoll(path + 9), 1);
	} else if (strncmp(path, "/source/", 8) == 0) {
		send_stream(fd, buf, atoll(path + 8), 0);
	} else {
		while (read(fd, buf, BUF) > 0)
			;
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

/* dial - a stream to PATH through PORT: the plain path line, or the
 * upgrade request and its 101. Returns the socket or -1. */
static int dial(int port, const char *path)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char req[512], head[4096];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	sock_setup(fd);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		goto fail;
	if (plain) {
		snprintf(req, sizeof(req), "%s\r\n\r\n", path);
		if (write_all(fd, req, strlen(req)))
			goto fail;
		return fd;
	}
	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		 path);
	if (write_all(fd, req, strlen(req)) || read_head(fd, head, sizeof(head)) < 0 ||
	    strncmp(head, "HTTP/1.1 101", 12) != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* check_chunk - whether the R bytes of BUF are the pattern's bytes from
 * offset *GOT on; advances *GOT past them, or reports the first wrong
 * byte on stderr and returns -1. */
static int check_chunk(const char *buf, ssize_t r, long long *got)
{
	for (ssize_t i = 0; i < r; i++, (*got)++) {
		uint64_t word = (uint64_t)*got / 8, seen = 0;

		if (buf[i] == ((const char *)&word)[*got % 8])
			continue;
		/* the word found there: its index tells a repeat
		 * (< expected) from a gap (>) */
		if (i + 16 <= r)
			memcpy(&seen, buf + i + (8 - *got % 8) % 8, 8);
		fprintf(stderr,
			"wsbench: wrong byte at offset %lld (word %llu expected, %llu follows)",
			*got, (unsigned long long)word, (unsigned long long)seen);
		*got += r - i;
		return -1;
	}
	return 0;
}

/* check_rest - read FD to its end, checking each byte from offset GOT on
 * (at most LIMIT bytes per read, a pause of PAUSE_MS after each read while
 * reads happen before UNTIL); 0 if exactly WANT bytes came, all right. */
static int check_rest(int fd, char *buf, long long got, long long want, size_t limit, long pause_ms,
		      double until)
{
	for (;;) {
		size_t cap = limit && now_s() < until ? limit : BUF;
		ssize_t r = read(fd, buf, cap);

		if (r <= 0)
			break;
		if (check_chunk(buf, r, &got)) {
			while ((r = read(fd, buf, BUF)) > 0)
				got += r;
			return fprintf(stderr, "; %lld bytes in all\n", got), -1;
		}
		if (pause_ms && now_s() < until)
			sleep_ms(pause_ms);
	}
	if (got != want)
		return fprintf(stderr, "wsbench: %lld of %lld bytes\n", got, want), -1;
	return 0;
}

struct bulk_arg {
	int port;	/* proxy (or backend) port */
	long long want; /* bytes this stream reads */
	long long got;	/* bytes it read */
	pthread_barrier_t *go;
};

static void *bulk_one(void *p)
{
	struct bulk_arg *b = p;
	char path[64], *buf = malloc(BUF);
	int fd;

	pthread_barrier_wait(b->go);
	snprintf(path, sizeof(path), "/source/%lld", b->want);
	fd = dial(b->port, path);
	if (fd < 0 || !buf)
		goto out;
	while (b->got < b->want) {
		ssize_t r = read(fd, buf, BUF);

		if (r <= 0)
			break;
		b->got += r;
	}
	close(fd);
out:
	free(buf);
	return NULL;
}

/* bulk - STREAMS streams at once, TOTAL bytes among them; 0 and the total
 * Gbit/s in *GBIT if every stream read its share. */
static int bulk(int port, long long total, int streams, double *gbit)
{
	struct bulk_arg *b = calloc((size_t)streams, sizeof(*b));
	pthread_t *th = calloc((size_t)streams, sizeof(*th));
	pthread_barrier_t go;
	long long got = 0;
	int started = 0, err = 0;
	double t0;

	if (!b || !th || pthread_barrier_init(&go, NULL, (unsigned)streams + 1))
		return fprintf(stderr, "wsbench: out of memory\n"), -1;
	for (; started < streams; started++) {
		b[started] = (struct bulk_arg){.port = port, .want = total / streams, .go = &go};
		if (started == streams - 1)
			b[started].want += total % streams;
		if (pthread_create(&th[started], NULL, bulk_one, &b[started]))
			break;
	}
	if (started < streams) {
		fprintf(stderr, "wsbench: %d of %d threads\n", started, streams);
		exit(1); /* the barrier would never open */
	}
	t0 = now_s();
	pthread_barrier_wait(&go);
	for (int i = 0; i < streams; i++) {
		pthread_join(th[i], NULL);
		got += b[i].got;
		if (b[i].got != b[i].want)
			err++;
	}
	*gbit = (double)got * 8 / (now_s() - t0) / 1e9;
	if (err)
		fprintf(stderr, "wsbench: %d of %d streams short, %lld of %lld bytes\n", err,
			streams, got, total);
	free(b);
	free(th);
	return err ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "-t") == 0) {
		plain = 1;
		argc--;
		argv++;
	}
	if (argc >= 3 && strcmp(argv[1], "server") == 0) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)atoi(argv[2]))};
		int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 512))
			return perror("bind"), 1;
		for (;;) {
			int fd = accept(ls, NULL, NULL);
			pthread_t th;

			if (fd < 0)
				continue;
			if (pthread_create(&th, NULL, serve, (void *)(intptr_t)fd))
				close(fd);
			else
				pthread_detach(th);
		}
	}
	if (argc >= 5 && strcmp(argv[1], "pingpong") == 0) {
		int count = atoi(argv[3]), size = atoi(argv[4]), fd = dial(atoi(argv[2]), "/echo");
		double *rtt = calloc((size_t)(count > 0 ? count : 1), sizeof(double));
		char *buf = malloc((size_t)(size > 0 ? size : 1));

		if (fd < 0 || !rtt || !buf || count < 1 || size < 1)
			return fprintf(stderr, "wsbench: no stream\n"), 1;
		memset(buf, 'p', (size_t)size);
		for (int i = 0; i < count; i++) {
			double t0 = now_s();

			if (write_all(fd, buf, (size_t)size) || read_exact(fd, buf, (size_t)size))
				return fprintf(stderr, "wsbench: stream broke\n"), 1;
			rtt[i] = (now_s() - t0) * 1e6;
		}
		qsort(rtt, (size_t)count, sizeof(double), cmp_d);
		printf("%.1f %.1f\n", rtt[count / 2], rtt[(int)(count * 0.99)]);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "bulk") == 0) {
		int streams = argc >= 5 ? atoi(argv[4]) : 1;
		double gbit;

		if (streams < 1 || streams > 10000)
			return fprintf(stderr, "wsbench: STREAMS 1..10000\n"), 2;
		if (bulk(atoi(argv[2]), atoll(argv[3]), streams, &gbit))
			return 1;
		printf("%.2f\n", gbit);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "verify") == 0) {
		long long want = atoll(argv[3]);
		char path[64], *buf = malloc(BUF);
		double t0;
		int fd;

		snprintf(path, sizeof(path), "/pattern/%lld", want);
		fd = dial(atoi(argv[2]), path);
		if (fd < 0 || !buf)
			return fprintf(stderr, "wsbench: no stream\n"), 1;
		t0 = now_s();
		if (check_rest(fd, buf, 0, want, 0, 0, 0))
			return 1;
		printf("%.2f\n", (double)want * 8 / (now_s() - t0) / 1e9);
		return 0;
	}
	if (argc >= 5 && strcmp(argv[1], "slow") == 0) {
		long long want = atoll(argv[3]);
		long stall = atol(argv[4]);
		char path[64], *buf = malloc(BUF);
		int fd;

		snprintf(path, sizeof(path), "/pattern/%lld", want);
		fd = dial(atoi(argv[2]), path);
		if (fd < 0 || !buf || stall < 0 || stall >= TIMEOUT_S * 1000)
			return fprintf(stderr, "wsbench: no stream\n"), 1;
		sleep_ms(stall);
		if (check_rest(fd, buf, 0, want, TRICKLE, TRICKLE_MS,
			       now_s() + (double)stall / 1e3))
			return 1;
		printf("ok\n");
		return 0;
	}
	fprintf(stderr, "usage: wsbench server PORT | [-t] pingpong PORT COUNT SIZE |\n"
			"       [-t] bulk PORT BYTES [STREAMS] | [-t] verify PORT BYTES |\n"
			"       [-t] slow PORT BYTES STALL_MS\n");
	return 2;
}
