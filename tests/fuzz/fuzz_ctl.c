/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the control protocol dispatcher (ctl_exec). Each
 * input is a session: up to FZ_LINES lines, each run as one request against
 * a configuration with two upstream groups, loaded afresh for every input so
 * runtime changes (weights, drains, bans) don't leak between inputs. Every
 * response must keep the protocol's framing: body lines never look like a
 * terminating line, the output ends with exactly one "OK" or "ERR <msg>"
 * line, and it agrees with the returned code.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ban.h"
#include "cfg.h"
#include "ctl.h"
#include "fz_util.h"

#define FZ_LINES 16 /* requests per input; more are ignored */

static char fz_dir[64];	 /* scratch directory (prefix of the configuration) */
static char fz_conf[96]; /* fz_dir/nginx.conf */

static int fz_post_signal(int sig)
{
	(void)sig;
	return 0;
}

static const struct ctl_env fz_env = {
	.pid = 4242,
	.workers = 2,
	.post_signal = fz_post_signal,
};

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char conf[] =
		"events {}\nhttp {\n"
		"upstream app { server 127.0.0.1:3001; server 127.0.0.1:3002 weight=2;\n"
		"  server 127.0.0.1:3003 backup; }\n"
		"upstream other { least_conn; server 127.0.0.1:4001; server 127.0.0.1:4002 down; }\n"
		"server { listen 127.0.0.1:8080; location / { proxy_pass http://app; }\n"
		"  location /o { proxy_pass http://other; } }\n}\n"
		/* stream groups, one sharing an http group's name (sups.c) */
		"stream {\n"
		"upstream app { server 127.0.0.1:5001; server 127.0.0.1:5002; }\n"
		"upstream db { health_check; server 127.0.0.1:6001; }\n"
		"server { listen 127.0.0.1:7001; proxy_pass app; }\n"
		"server { listen 127.0.0.1:7002; proxy_pass db; }\n}\n";
	char logs[96];
	FILE *f;

	fz_scratch("ctl", fz_dir, sizeof(fz_dir));
	snprintf(logs, sizeof(logs), "%s/logs", fz_dir);
	fz_check(mkdir(logs, 0755) == 0);
	snprintf(fz_conf, sizeof(fz_conf), "%s/nginx.conf", fz_dir);
	f = fopen(fz_conf, "w");
	fz_check(f);
	fputs(conf, f);
	fclose(f);
	fz_sandbox(fz_dir, *argc, *argv);
	return 0;
}

/* fz_framing - the invariant of the protocol (include/ctl.h) on o. */
static void fz_framing(const struct ctl_out *o, enum ctl_rc rc)
{
	const char *p = o->buf, *last = NULL;

	fz_check(p && o->len > 0 && strlen(p) == o->len);
	while (*p) {
		const char *nl = strchr(p, '\n');

		fz_check(nl);
		if (nl[1]) {
			fz_check(!(nl - p == 2 && strncmp(p, "OK", 2) == 0));
			fz_check(strncmp(p, "ERR", 3) != 0);
		}
		last = p;
		p = nl + 1;
	}
	fz_check(last);
	if (rc == CTL_RC_OK)
		fz_check(strcmp(last, "OK\n") == 0);
	else
		fz_check(rc == CTL_RC_ERR && strncmp(last, "ERR ", 4) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_opts o = {.conf_file = fz_conf};
	char prefix[80], err[512];
	struct ctl_out out;
	struct cfg *cfg;
	size_t off = 0;

	snprintf(prefix, sizeof(prefix), "%s/", fz_dir);
	o.prefix = prefix;
	cfg = cfg_load(&o, err, sizeof(err));
	fz_check(cfg);
	ctl_out_init(&out);
	for (int i = 0; i < FZ_LINES && off < size; i++) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - data) - off : size - off;
		/* an exact-size copy: ctl_exec gets a length, not a string */
		char *line = malloc(len ? len : 1);
		enum ctl_rc rc;

		fz_check(line);
		memcpy(line, data + off, len);
		ctl_out_reset(&out);
		rc = ctl_exec(&fz_env, cfg, line, len, &out);
		fz_framing(&out, rc);
		free(line);
		off += len + 1;
	}
	ctl_out_free(&out);
	cfg_unref(cfg);
	ban_reset();
	return 0;
}
