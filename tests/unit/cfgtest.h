/* SPDX-License-Identifier: MIT */
/*
 * Unit-test helper: build a configuration from text with the real parser.
 * The text goes to DIR/nginx.conf in a temporary directory that also has
 * logs/ (nginx's default access_log goes there); cfgtest_cleanup removes it.
 */
#ifndef LBD_TEST_CFGTEST_H
#define LBD_TEST_CFGTEST_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfg.h"

/* struct cfgtest - one temporary configuration directory. */
struct cfgtest {
	char dir[64];	/* the directory ("" until the first load) */
	char path[128]; /* DIR/nginx.conf */
};

/* cfgtest_load - write TEXT and cfg_load() it; NULL with ERR set on failure. */
static inline struct cfg *cfgtest_load(struct cfgtest *t, const char *text, char *err,
				       size_t errlen)
{
	char prefix[80];
	struct cfg_opts o;
	FILE *f;

	if (!t->dir[0]) {
		strcpy(t->dir, "/tmp/lbd-cfgtest-XXXXXX");
		cr_assert_not_null(mkdtemp(t->dir));
		snprintf(t->path, sizeof(t->path), "%s/logs", t->dir);
		cr_assert_eq(mkdir(t->path, 0755), 0);
	}
	snprintf(t->path, sizeof(t->path), "%s/nginx.conf", t->dir);
	f = fopen(t->path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(prefix, sizeof(prefix), "%s/", t->dir);
	o = (struct cfg_opts){.conf_file = t->path, .prefix = prefix};
	err[0] = '\0';
	return cfg_load(&o, err, errlen);
}

static inline void cfgtest_cleanup(struct cfgtest *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	if (t->dir[0] && system(cmd) != 0)
		cr_log_warn("cleanup of %s failed", t->dir);
	t->dir[0] = '\0';
}

/* cfgtest_prefix_loc - the prefix location PATTERN of C's first server,
 * or NULL. */
static inline struct cfg_loc *cfgtest_prefix_loc(struct cfg *c, const char *pattern)
{
	struct cfg_srv *s = c->http->servers[0];

	for (int i = 0; i < s->loc.nprefix; i++)
		if (strcmp(s->loc.prefix[i]->pattern, pattern) == 0)
			return s->loc.prefix[i];
	return NULL;
}

/* cfgtest_server_error - BODY put in a server block (its first line is
 * line 4) must fail to load with MSG, "in FILE:LINE" after it when LINE
 * is not 0. */
static inline void cfgtest_server_error(const char *body, const char *msg, int line)
{
	struct cfgtest t = {0};
	char err[512], text[512], want[256];
	struct cfg *cfg;

	snprintf(text, sizeof(text),
		 "events {}\nhttp {\n server { listen 127.0.0.1:1;\n  %s\n }\n}\n", body);
	cfg = cfgtest_load(&t, text, err, sizeof(err));
	cr_assert_null(cfg, "accepted: %s", body);
	if (line)
		snprintf(want, sizeof(want), "%s in %s:%d", msg, t.path, line);
	else
		snprintf(want, sizeof(want), "%s", msg);
	cr_assert(strstr(err, want), "want %s, got %s", want, err);
	cfgtest_cleanup(&t);
}

/* cfgtest_location_error - BODY alone in a location (its line is 6) must
 * fail to load with exactly "MSG in FILE:6". */
static inline void cfgtest_location_error(const char *body, const char *msg)
{
	struct cfgtest t = {0};
	char text[512], err[1024], want[512];
	struct cfg *c;

	snprintf(text, sizeof(text),
		 "events {}\nhttp {\nserver {\nlisten 127.0.0.1:8080;\nlocation / {\n%s\n}\n}\n}\n",
		 body);
	c = cfgtest_load(&t, text, err, sizeof(err));
	cr_expect_null(c, "%s", body);
	snprintf(want, sizeof(want), "%s in %s:6", msg, t.path);
	cr_expect_str_eq(err, want, "%s", body);
	if (c)
		cfg_unref(c);
	cfgtest_cleanup(&t);
}

#endif
