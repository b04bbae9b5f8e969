/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: `include` inside map, geo and split_clients blocks (http and
 * stream) as nginx's block handlers read it, stream geo without `proxy`,
 * and `proxy_cache $variable` (the zone chosen per request), each error
 * with nginx's text and the FILE:LINE it names, inside an included file
 * too.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "cfgtest.h"
#include "lbd.h"

/* Strings inline: Criterion runs each parameter in a new process. */
struct inc_case {
	char text[300]; /* nginx.conf; "@" stands for the temporary directory */
	char inc[120];	/* DIR/inc.conf */
	char msg[120];	/* the error without " in FILE:LINE" */
	char file[16];	/* "nginx.conf" or "inc.conf" */
	int line;
};

#define HTTP   "events {}\nhttp {\n"
#define STREAM "events {}\nstream {\n"

static struct inc_case inc_cases[] = {
	/* a bad line of an included map file names that file and line */
	{HTTP "map $uri $m {\ninclude @/inc.conf;\n}\n}\n", "a 1;\nb 2;\nc\n 3 4;\n",
	 "invalid number of the map parameters", "inc.conf", 4},
	/* map and geo take a two-word include only; any other is their line */
	{HTTP "map $uri $m {\ninclude a b;\n}\n}\n", "", "invalid number of the map parameters",
	 "nginx.conf", 4},
	{HTTP "geo $g {\ninclude a b;\n}\n}\n", "", "invalid number of the geo parameters",
	 "nginx.conf", 4},
	{HTTP "geo $g {\ninclude @/inc.conf;\n}\n}\n", "10.0.0.0/8 a;\nnope b;\n",
	 "invalid network \"nope\"", "inc.conf", 2},
	/* nginx's split_clients has no include */
	{HTTP "split_clients $uri $s {\ninclude @/inc.conf;\n}\n}\n", "50% a;\n",
	 "invalid percent value \"include\"", "nginx.conf", 4},
	/* an include inside an included map file is still the map's */
	{HTTP "map $uri $m {\ninclude @/inc.conf;\n}\n}\n", "include @/inc.conf;\n",
	 "include of \"@/inc.conf\" nested too deep", "", 0},
	{STREAM "map $remote_addr $m {\ninclude @/inc.conf;\n}\n}\n", "a 1;\n~( 2;\n", "",
	 "inc.conf", 2},
	{STREAM "split_clients $remote_addr $s {\ninclude @/inc.conf;\n}\n}\n", "50% a;\n",
	 "invalid percent value \"include\"", "nginx.conf", 4},
	/* stream's geo has no proxy: nginx's readings of those lines */
	{STREAM "geo $g {\nproxy 127.0.0.1;\n}\n}\n", "", "invalid network \"proxy\"", "nginx.conf",
	 4},
	{STREAM "geo $g {\nproxy_recursive;\n}\n}\n", "", "invalid number of the geo parameters",
	 "nginx.conf", 4},
	/* proxy_cache $variable: the variable must exist; store excludes it */
	{HTTP "server {\nlocation / {\nproxy_cache $nosuch;\n}\n}\n}\n", "",
	 "unknown \"nosuch\" variable", "", 0},
	{HTTP "server {\nlocation / {\nproxy_store on;\nproxy_cache $uri;\n}\n}\n}\n", "",
	 "\"proxy_cache\" directive is incompatible with \"proxy_store\"", "nginx.conf", 6},
};

/* expand - TEXT with each "@" replaced by DIR into OUT. */
static void expand(const char *text, const char *dir, char *out, size_t cap)
{
	size_t o = 0, dl = strlen(dir);

	for (const char *p = text; *p && o + dl + 1 < cap; p++) {
		if (*p == '@') {
			memcpy(out + o, dir, dl);
			o += dl;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

ParameterizedTestParameters(mapgeo, include_errors)
{
	return cr_make_param_array(struct inc_case, inc_cases, ARRAY_SIZE(inc_cases));
}

ParameterizedTest(struct inc_case *tc, mapgeo, include_errors)
{
	struct cfgtest t = {0};
	char err[1024], want[1024], text[1024], inc[512], p[160];
	struct cfg *c;
	FILE *f;

	/* the first load makes the directory; then write the included file */
	c = cfgtest_load(&t, "events {}\n", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cfg_unref(c);
	snprintf(p, sizeof(p), "%s/inc.conf", t.dir);
	expand(tc->inc, t.dir, inc, sizeof(inc));
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(inc, f);
	fclose(f);
	expand(tc->text, t.dir, text, sizeof(text));
	c = cfgtest_load(&t, text, err, sizeof(err));
	cr_assert_null(c, "accepted:\n%s", text);
	expand(tc->msg, t.dir, want, sizeof(want));
	cr_expect(strstr(err, want) != NULL, "got \"%s\", want \"%s\"", err, want);
	if (tc->line) {
		snprintf(want, sizeof(want), " in %s/%s:%d", t.dir, tc->file, tc->line);
		cr_expect(strstr(err, want) != NULL, "got \"%s\", want \"%s\"", err, want);
	}
	cfgtest_cleanup(&t);
}

/* A map's lines, `hostnames` and `default` may all come from included
 * files (a glob, in byte order), and geo's networks too. */
Test(mapgeo, include_fills_map_and_geo)
{
	struct cfgtest t = {0};
	char err[1024], text[1024], p[160];
	struct cfg_map *m, *g = NULL, *h = NULL;
	struct cfg *c;
	FILE *f;

	c = cfgtest_load(&t, "events {}\n", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cfg_unref(c);
	snprintf(p, sizeof(p), "%s/a.map", t.dir);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs("hostnames;\n.example.com ex;\ndefault d;\n", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/b.map", t.dir);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs("~^www\\.(?<n>.+)$ $n;\nvolatile;\n", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/nets.geo", t.dir);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs("10.0.0.0/8 ten;\n", f);
	fclose(f);
	snprintf(text, sizeof(text),
		 HTTP "map $host $h {\ninclude %s/*.map;\n}\ngeo $g {\ninclude nets.geo;\n}\n}\n",
		 t.dir);
	c = cfgtest_load(&t, text, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	for (m = c->http->maps; m; m = m->next) {
		if (strcmp(m->name, "h") == 0)
			h = m;
		if (strcmp(m->name, "g") == 0)
			g = m;
	}
	cr_assert(h && g);
	cr_expect(h->hostnames);
	cr_expect_eq(h->nregex, 1);
	cr_expect(h->def.literal && h->def.nparts == 1);
	cr_expect_not_null(g->geo);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

/* proxy_cache $variable keeps no fixed zone; the variable and the zone
 * list are inherited by an inner location; `off` there turns it off. */
Test(mapgeo, proxy_cache_by_variable)
{
	struct cfgtest t = {0};
	char err[1024];
	struct cfg_loc *l, *in, *off;
	struct cfg *c;

	c = cfgtest_load(&t,
			 HTTP
			 "proxy_cache_path c1 keys_zone=one:1m;\n"
			 "server {\nlisten 127.0.0.1:1;\n"
			 "location /a/ {\nproxy_cache $arg_z;\nproxy_pass http://127.0.0.1:2;\n"
			 "location /a/b/ {\nproxy_pass http://127.0.0.1:2;\n}\n"
			 "location /a/c/ {\nproxy_cache off;\nproxy_pass http://127.0.0.1:2;\n}\n"
			 "}\n}\n}\n",
			 err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	l = cfgtest_prefix_loc(c, "/a/");
	cr_assert_not_null(l);
	cr_expect_null(l->cache.zc);
	cr_assert_not_null(l->cache.zvar);
	cr_expect_str_eq(l->cache.zvar->raw, "$arg_z");
	cr_assert_not_null(l->cache.zones);
	cr_expect_str_eq((*l->cache.zones)->name, "one");
	in = NULL;
	off = NULL;
	for (int i = 0; i < l->nprefix; i++) {
		if (strcmp(l->prefix[i]->pattern, "/a/b/") == 0)
			in = l->prefix[i];
		if (strcmp(l->prefix[i]->pattern, "/a/c/") == 0)
			off = l->prefix[i];
	}
	cr_assert(in && off);
	cr_expect_eq(in->cache.zvar, l->cache.zvar);
	cr_expect_eq(in->cache.on, 1);
	cr_expect(!off->cache.zvar && off->cache.on == 0);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

/* fastcgi_cache $variable looks among fastcgi_cache_path zones. */
Test(mapgeo, fastcgi_cache_by_variable)
{
	struct cfgtest t = {0};
	char err[1024];
	struct cfg_loc *l;
	struct cfg *c;

	c = cfgtest_load(&t,
			 HTTP
			 "fastcgi_cache_path fc keys_zone=fz:1m;\n"
			 "server {\nlisten 127.0.0.1:1;\n"
			 "location /p/ {\nfastcgi_cache $arg_z;\nfastcgi_pass 127.0.0.1:2;\n}\n"
			 "}\n}\n",
			 err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	l = cfgtest_prefix_loc(c, "/p/");
	cr_assert_not_null(l);
	cr_assert_not_null(l->cache.zvar);
	cr_expect_null(l->cache.zc);
	cr_expect_eq(l->cache.zowner, CACHE_ZONE_FASTCGI);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}
