/* SPDX-License-Identifier: MIT */
/*
 * The store's configuration (cfg_store.c): proxy_store on|off|STRING and
 * its fastcgi_/uwsgi_/scgi_ twins, *_store_access modes as nginx computes
 * them (user:rw implied unless a user: part is given), inheritance, the
 * twins applied to their locations, the clash with *_cache; with them
 * *_force_ranges, *_cache_max_range_offset, client_body_in_file_only and
 * client_body_in_single_buffer; the -t errors with FILE:LINE.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfgtest.h"
#include "http.h"
#include "lbd.h"
#include "pool.h"
#include "store.h"

/* store_open_temp: nginx's names, ten digits counted up, in the level
 * directories taken from the end of the number (made, 0700, with the
 * missing directory itself); a name taken is skipped. */
Test(store, temp_names_and_levels)
{
	static const uint8_t lv12[3] = {1, 2, 0}, lv3[3] = {3, 0, 0};
	char dir[64], want[160], *name = NULL, *name2 = NULL;
	struct conn c = {0};
	struct stat st;
	unsigned long n;
	int fd;

	strcpy(dir, "/tmp/lbd-store-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	pool_init(&c.pool, 4096);
	strcat(dir, "/t"); /* missing: made */
	fd = store_open_temp(&c, dir, lv12, &name);
	cr_assert_geq(fd, 0, "%s: %m", name);
	close(fd);
	n = strtoul(name + strlen(name) - 10, NULL, 10);
	snprintf(want, sizeof(want), "%s/%lu/%02lu/%010lu", dir, n % 10, n / 10 % 100, n);
	cr_expect_str_eq(name, want);
	cr_expect_eq(stat(dir, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0700);
	/* the next one: one up, without levels in the directory itself */
	fd = store_open_temp(&c, dir, NULL, &name2);
	cr_assert_geq(fd, 0, "%s: %m", name2);
	close(fd);
	snprintf(want, sizeof(want), "%s/%010lu", dir, n + 1);
	cr_expect_str_eq(name2, want);
	/* the one after that is taken: skipped */
	snprintf(want, sizeof(want), "%s/%03lu", dir, (n + 2) % 1000);
	cr_assert_eq(mkdir(want, 0700), 0);
	snprintf(want, sizeof(want), "%s/%03lu/%010lu", dir, (n + 2) % 1000, n + 2);
	fd = open(want, O_CREAT | O_EXCL | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	fd = store_open_temp(&c, dir, lv3, &name2);
	cr_assert_geq(fd, 0, "%s: %m", name2);
	close(fd);
	cr_expect_str_neq(name2, want);
	cr_expect_eq(strncmp(name2, dir, strlen(dir)), 0, "%s", name2);
	pool_destroy(&c.pool);
	snprintf(want, sizeof(want), "rm -rf %.*s", (int)(strlen(dir) - 2), dir);
	cr_expect_eq(system(want), 0);
}

Test(store, access_parse)
{
	static const struct {
		const char *arg;
		int mode; /* -1: invalid */
	} cases[] = {
		{"user:rw", 0600}, {"user:r", 0400},  {"group:rw", 060}, {"group:r", 040},
		{"all:rw", 06},	   {"all:r", 04},     {"user:rx", -1},	 {"user:", -1},
		{"user:rwr", -1},  {"bogus", -1},     {"User:rw", -1},	 {"all:w", -1},
		{"", -1},	   {"group:rw ", -1},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int m = 0, rc = store_access_parse(cases[i].arg, &m);

		if (cases[i].mode < 0) {
			cr_expect_eq(rc, -1, "%s accepted", cases[i].arg);
		} else {
			cr_expect_eq(rc, 0, "%s refused", cases[i].arg);
			cr_expect_eq(m, cases[i].mode, "%s: %o", cases[i].arg, m);
		}
	}
}

Test(store, directives_merge)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *cfg = cfgtest_load(
		&t,
		"events {}\nhttp {\n"
		" proxy_store_access group:rw all:r;\n"
		" fastcgi_store on;\n"
		" server {\n listen 127.0.0.1:1;\n"
		"  proxy_store on;\n"
		"  location /a/ {\n"
		"   proxy_store /data$uri;\n"
		"   proxy_store_access user:r;\n"
		"   location /a/b/ { proxy_store off; }\n"
		"  }\n"
		"  location /d/ { }\n"
		"  location /f/ { fastcgi_pass 127.0.0.1:9; fastcgi_store_access all:rw;\n"
		"   fastcgi_force_ranges on; fastcgi_cache_max_range_offset 1k; }\n"
		"  location /u/ { uwsgi_pass 127.0.0.1:9; uwsgi_store /u$uri;"
		" uwsgi_force_ranges on; }\n"
		"  location /s/ { scgi_pass 127.0.0.1:9; proxy_force_ranges on; }\n"
		"  location /c/ { client_body_in_file_only clean;"
		" client_body_in_single_buffer on; proxy_cache_max_range_offset 0; }\n"
		" }\n"
		" server { listen 127.0.0.1:2; client_body_in_file_only on; }\n"
		"}\n",
		err, sizeof(err));
	const struct cfg_loc *s, *a, *b, *d, *f, *u, *sc, *c, *s2;

	cr_assert_not_null(cfg, "%s", err);
	s = &cfg->http->servers[0]->loc;
	cr_assert_eq(s->store.on, 1);
	cr_assert_null(s->store.path, "on: root/alias + URI");
	cr_assert_eq(s->store.access, 0664, "user:rw implied: %o", s->store.access);
	a = cfgtest_prefix_loc(cfg, "/a/");
	d = cfgtest_prefix_loc(cfg, "/d/");
	f = cfgtest_prefix_loc(cfg, "/f/");
	u = cfgtest_prefix_loc(cfg, "/u/");
	sc = cfgtest_prefix_loc(cfg, "/s/");
	c = cfgtest_prefix_loc(cfg, "/c/");
	cr_assert(a && d && f && u && sc && c);
	b = a->prefix[0];
	cr_assert_eq(a->store.on, 1);
	cr_assert_not_null(a->store.path, "the STRING form");
	cr_assert_eq(a->store.access, 0400, "user: given replaces the implied rw");
	cr_assert_eq(b->store.on, 0);
	cr_assert_eq(b->store.access, 0400, "inherited");
	cr_assert_eq(d->store.on, 1, "inherited");
	/* a twin's location reads its module's settings, not the proxy's */
	cr_assert_eq(f->store.on, 1, "fastcgi_store from http");
	cr_assert_eq(f->store.access, 0606, "%o", f->store.access);
	cr_assert_eq(f->proxy_force_ranges, 1);
	cr_assert_eq(f->cache.max_range_offset, 1024);
	cr_assert_eq(u->store.on, 1);
	cr_assert_not_null(u->store.path);
	cr_assert_eq(u->store.access, 0600, "uwsgi_store_access: its own default");
	cr_assert_eq(u->proxy_force_ranges, 1);
	cr_assert_eq(sc->store.on, 0, "no scgi_store: the proxy's does not apply");
	cr_assert_eq(sc->proxy_force_ranges, 0, "proxy_force_ranges is the proxy's");
	cr_assert_eq(sc->cache.max_range_offset, INT64_MAX, "no limit by default");
	cr_assert_eq(c->body_in_file, BODY_FILE_CLEAN);
	cr_assert_eq(c->body_single_buffer, 1);
	cr_assert_eq(c->cache.max_range_offset, 0);
	cr_assert_eq(d->body_in_file, BODY_FILE_OFF);
	s2 = &cfg->http->servers[1]->loc;
	cr_assert_eq(s2->store.on, 0, "nginx's default: off");
	cr_assert_eq(s2->store.access, 0664, "inherited from http");
	cr_assert_eq(s2->body_in_file, BODY_FILE_ON);
	cfg_unref(cfg);
	cfgtest_cleanup(&t);
}

struct err_case {
	char body[112], msg[112];
};

ParameterizedTestParameters(store, location_errors)
{
	static struct err_case cases[] = {
		{"proxy_store on; proxy_store off;", "\"proxy_store\" directive is duplicate"},
		{"proxy_store on; proxy_store /x;", "\"proxy_store\" directive is duplicate"},
		{"proxy_store_access user:rw; proxy_store_access user:r;",
		 "\"proxy_store_access\" directive is duplicate"},
		{"proxy_store_access user:rx;", "invalid value \"user:rx\""},
		{"proxy_store_access all:r bogus;", "invalid value \"bogus\""},
		{"proxy_store_access user:;", "invalid value \"user:\""},
		{"proxy_store_access a b c d;",
		 "invalid number of arguments in \"proxy_store_access\" directive"},
		{"fastcgi_store_access all:q;", "invalid value \"all:q\""},
		{"uwsgi_store on; uwsgi_store on;", "\"uwsgi_store\" directive is duplicate"},
		{"scgi_store_access group:x;", "invalid value \"group:x\""},
		{"proxy_cache_max_range_offset 1x;",
		 "\"proxy_cache_max_range_offset\" directive invalid value"},
		{"proxy_cache_max_range_offset 1; proxy_cache_max_range_offset 2;",
		 "\"proxy_cache_max_range_offset\" directive is duplicate"},
		{"uwsgi_cache_max_range_offset -1;",
		 "\"uwsgi_cache_max_range_offset\" directive invalid value"},
		{"client_body_in_file_only yes;", "invalid value \"yes\""},
		{"client_body_in_file_only on; client_body_in_file_only off;",
		 "\"client_body_in_file_only\" directive is duplicate"},
		{"client_body_in_single_buffer 1;",
		 "invalid value \"1\" in \"client_body_in_single_buffer\" directive, it must be "
		 "\"on\" or \"off\""},
		{"fastcgi_force_ranges maybe;",
		 "invalid value \"maybe\" in \"fastcgi_force_ranges\" directive, it must be \"on\" "
		 "or \"off\""},
	};

	return cr_make_param_array(struct err_case, cases, ARRAY_SIZE(cases));
}

ParameterizedTest(struct err_case *e, store, location_errors)
{
	cfgtest_location_error(e->body, e->msg);
}

/* the clash with a cache: either order, in one level (nginx's -t lines) */
Test(store, cache_clash)
{
	static const struct {
		const char *body, *msg;
	} cases[] = {
		{"proxy_store on; proxy_cache c;",
		 "\"proxy_cache\" directive is incompatible with \"proxy_store\""},
		{"proxy_cache c; proxy_store /x$uri;",
		 "\"proxy_store\" directive is incompatible with \"proxy_cache\""},
		{"fastcgi_cache f; fastcgi_store on;",
		 "\"fastcgi_store\" directive is incompatible with \"fastcgi_cache\""},
		{"scgi_store on; scgi_cache f;",
		 "\"scgi_cache\" directive is incompatible with \"scgi_store\""},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cfgtest t = {0};
		char text[512], err[512], want[256];
		struct cfg *c;

		snprintf(text, sizeof(text),
			 "events {}\nhttp {\nproxy_cache_path /tmp/lbd-store-c keys_zone=c:1m;\n"
			 "fastcgi_cache_path /tmp/lbd-store-f keys_zone=f:1m;\n"
			 "server {\nlisten 127.0.0.1:8080;\nlocation / {\n%s\n}\n}\n}\n",
			 cases[i].body);
		c = cfgtest_load(&t, text, err, sizeof(err));
		cr_expect_null(c, "%s", cases[i].body);
		snprintf(want, sizeof(want), "%s in %s:8", cases[i].msg, t.path);
		cr_expect_str_eq(err, want, "%s", cases[i].body);
		if (c)
			cfg_unref(c);
		cfgtest_cleanup(&t);
	}
	/* proxy_cache off and proxy_store off go with anything */
	struct cfgtest t = {0};
	char err[512];
	struct cfg *c = cfgtest_load(&t,
				     "events {}\nhttp {\nserver {\nlisten 127.0.0.1:8080;\n"
				     "location / { proxy_cache off; proxy_store on; }\n"
				     "location /b/ { proxy_store off; }\n}\n}\n",
				     err, sizeof(err));

	cr_expect_not_null(c, "%s", err);
	if (c)
		cfg_unref(c);
	cfgtest_cleanup(&t);
}
