/* SPDX-License-Identifier: MIT */
/*
 * wsbench - upgraded-stream (WebSocket) benchmark for bench/ws.sh.
 *
 *   wsbench server PORT
 *       answers every request with 101 and then serves the stream its path
 *       names: /echo echoes, /sink reads until EOF, /source/N sends N bytes
 *   wsbench pingpong PORT COUNT SIZE
 *       one stream to /echo: COUNT round trips of SIZE bytes; prints
 *       "p50_us p99_us"
 *   wsbench bulk PORT BYTES
 *       one stream to /source/BYTES: reads them all; prints "gbit_s"
 *   wsbench verify PORT BYTES
 *       one stream to /pattern/BYTES (each 8-byte word holds its own
 *       index): checks every byte arrived once and in order; prints
 *       "gbit_s" or the offset of the first wrong byte
 *
 * Plain blocking sockets and a thread per server connection: the tool
 * measures the proxy in between, not itself.
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

#define BUF (256 * 1024)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

/* read_head - read up to the end of an HTTP head; bytes after it stay in
 * the socket only if the peer had not sent them yet (the clients here
 * wait for the 101 before sending). Returns the head length or -1. */
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

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg, one = 1;
	static const char ok[] =
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
	char head[4096], *buf = malloc(BUF), path[256] = "";

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!buf || read_head(fd, head, sizeof(head)) < 0 || sscanf(head, "GET %255s", path) != 1 ||
	    write_all(fd, ok, sizeof(ok) - 1))
		goto out;
	if (strcmp(path, "/echo") == 0) {
		for (;;) {
			ssize_t r = read(fd, buf, BUF);

			if (r <= 0 || write_all(fd, buf, (size_t)r))
				break;
		}
	} else if (strncmp(path, "/pattern/", 9) == 0) {
		long long left = atoll(path + 9);
		uint64_t word = 0;

		while (left > 0) {
			size_t n = left > BUF ? BUF : (size_t)left;

			for (size_t i = 0; i < BUF / 8; i++, word++)
				memcpy(buf + i * 8, &word, 8);
			if (write_all(fd, buf, n))
				break;
			left -= (long long)n;
		}
		shutdown(fd, SHUT_WR);
		while (read(fd, buf, BUF) > 0)
			;
	} else if (strncmp(path, "/source/", 8) == 0) {
		long long left = atoll(path + 8);

		memset(buf, 'x', BUF);
		while (left > 0) {
			size_t n = left > BUF ? BUF : (size_t)left;

			if (write_all(fd, buf, n))
				break;
			left -= (long long)n;
		}
		shutdown(fd, SHUT_WR);
		while (read(fd, buf, BUF) > 0)
			;
	} else {
		while (read(fd, buf, BUF) > 0)
			;
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

static int dial(int port, const char *path)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char req[512], head[4096];
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		 path);
	if (write_all(fd, req, strlen(req)) || read_head(fd, head, sizeof(head)) < 0 ||
	    strncmp(head, "HTTP/1.1 101", 12) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
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
		double *rtt = calloc((size_t)count, sizeof(double));
		char *buf = malloc((size_t)size);

		if (fd < 0 || !rtt || !buf || count < 1)
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
		long long want = atoll(argv[3]), got = 0;
		char path[64], *buf = malloc(BUF);
		double t0;
		int fd;

		snprintf(path, sizeof(path), "/source/%lld", want);
		fd = dial(atoi(argv[2]), path);
		if (fd < 0 || !buf)
			return fprintf(stderr, "wsbench: no stream\n"), 1;
		t0 = now_s();
		while (got < want) {
			ssize_t r = read(fd, buf, BUF);

			if (r <= 0)
				break;
			got += r;
		}
		if (got != want)
			return fprintf(stderr, "wsbench: %lld of %lld bytes\n", got, want), 1;
		printf("%.2f\n", (double)want * 8 / (now_s() - t0) / 1e9);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "verify") == 0) {
		long long want = atoll(argv[3]), got = 0;
		char path[64], *buf = malloc(BUF);
		double t0;
		int fd;

		snprintf(path, sizeof(path), "/pattern/%lld", want);
		fd = dial(atoi(argv[2]), path);
		if (fd < 0 || !buf)
			return fprintf(stderr, "wsbench: no stream\n"), 1;
		t0 = now_s();
		for (;;) {
			ssize_t r = read(fd, buf, BUF);

			if (r <= 0)
				break;
			for (ssize_t i = 0; i < r; i++, got++) {
				uint64_t word = (uint64_t)got / 8;

				if (buf[i] != ((const char *)&word)[got % 8]) {
					uint64_t seen = 0;

					/* the word found there: its index tells a
					 * repeat (< expected) from a gap (>) */
					if (i + 16 <= r)
						memcpy(&seen, buf + i + (8 - got % 8) % 8, 8);
					fprintf(stderr,
						"wsbench: wrong byte at offset %lld (word %llu "
						"expected, %llu follows)",
						got, (unsigned long long)word,
						(unsigned long long)seen);
					got += r - i;
					while ((r = read(fd, buf, BUF)) > 0)
						got += r;
					return fprintf(stderr, "; %lld bytes in all\n", got), 1;
				}
			}
		}
		if (got != want)
			return fprintf(stderr, "wsbench: %lld of %lld bytes\n", got, want), 1;
		printf("%.2f\n", (double)want * 8 / (now_s() - t0) / 1e9);
		return 0;
	}
	fprintf(stderr,
		"usage: wsbench server PORT | pingpong PORT COUNT SIZE | bulk PORT BYTES | verify PORT BYTES\n");
	return 2;
}
