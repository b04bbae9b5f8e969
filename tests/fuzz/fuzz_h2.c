/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the HTTP/2 glue (userspace/h2.c) with the real
 * request code behind it: each input is what one client sends on an h2c
 * connection (the preface is prepended, so inputs are frames), through a
 * socketpair to a connection accepted by http_accept() on a worker loop
 * run here. The configuration answers from `return` locations and a
 * static file, so no network is used; streams run routing, rewrites, the
 * access phase, error pages and the access log as they would. Every
 * connection must be gone (and its memory with it) once the client side
 * is closed: leaks are findings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "fz_util.h"
#include "h2.h"
#include "http.h"
#include "worker.h"

static char fz_dir[64];
static struct cfg *fz_cfg;
static struct worker fz_w;

static const char fz_conf_text[] = "error_log stderr crit;\n"
				   "events { worker_connections 64; }\n"
				   "http {\n"
				   "  access_log off;\n"
				   "  server {\n"
				   "    listen 127.0.0.1:8080 http2;\n"
				   "    http2_max_concurrent_streams 16;\n"
				   "    large_client_header_buffers 4 1k;\n"
				   "    client_max_body_size 64k;\n"
				   "    root %s;\n"
				   "    location = / { return 200 \"ok\\n\"; }\n"
				   "    location /r { rewrite ^/r(.*)$ /x$1 last; }\n"
				   "    location /x { return 302 /; }\n"
				   "    location /f { try_files $uri =404; }\n"
				   "    location /e { error_page 404 = /; return 404; }\n"
				   "  }\n"
				   "}\n";

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char conf[96], prefix[80], file[96], err[1024];
	struct cfg_opts o = {.conf_file = conf, .prefix = prefix};
	FILE *f;

	fz_scratch("h2", fz_dir, sizeof(fz_dir));
	snprintf(conf, sizeof(conf), "%s/nginx.conf", fz_dir);
	snprintf(prefix, sizeof(prefix), "%s/", fz_dir);
	snprintf(file, sizeof(file), "%s/f.txt", fz_dir);
	f = fopen(file, "w");
	fz_check(f);
	for (int i = 0; i < 4000; i++)
		fputs("static file line\n", f);
	fz_check(fclose(f) == 0);
	f = fopen(conf, "w");
	fz_check(f);
	fprintf(f, fz_conf_text, fz_dir);
	fz_check(fclose(f) == 0);
	fz_cfg = cfg_load(&o, err, sizeof(err));
	if (!fz_cfg) {
		fprintf(stderr, "fuzz_h2: %s\n", err);
		abort();
	}
	fz_check(ev_loop_init(&fz_w.loop) == 0);
	fz_w.cfg = fz_cfg;
	fz_sandbox(fz_dir, *argc, *argv);
	return 0;
}

static bool fz_stopped;

static void fz_stop(struct ev_loop *loop, struct ev_timer *t)
{
	(void)t;
	loop->stop = true;
	fz_stopped = true;
}

/* fz_round - one pass of the worker loop over what is ready now. */
static void fz_round(void)
{
	struct ev_timer t;

	ev_timer_init(&t, fz_stop, NULL);
	ev_timer_start(&fz_w.loop, &t, 0);
	fz_w.loop.stop = false;
	ev_run(&fz_w.loop);
	ev_timer_stop(&fz_w.loop, &t);
}

static void fz_drain(int fd)
{
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage peer = {.ss_family = AF_INET};
	int sv[2];
	size_t off = 0;

	fz_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	http_accept(&fz_w, sv[0], &fz_cfg->http->lgroups[0], &peer, sizeof(struct sockaddr_in),
		    false);
	fz_check(write(sv[1], H2_PREFACE, H2_PREFACE_LEN) == H2_PREFACE_LEN);
	/* the input in a few pieces, the server's answers read in between */
	for (int i = 0; i < 16 && off < size; i++) {
		size_t n = size - off < 4096 ? size - off : 4096;
		ssize_t w = write(sv[1], data + off, n);

		if (w > 0)
			off += (size_t)w;
		fz_round();
		fz_drain(sv[1]);
	}
	for (int i = 0; i < 4; i++) {
		fz_round();
		fz_drain(sv[1]);
	}
	close(sv[1]);
	for (int i = 0; i < 8 && fz_w.conns; i++)
		fz_round();
	/* whatever still lives (a stream waiting on a timer) goes now */
	while (fz_w.conns)
		conn_close(fz_w.conns);
	fz_round();
	return 0;
}
