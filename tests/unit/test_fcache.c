/* SPDX-License-Identifier: MIT */
/*
 * The FastCGI, uwsgi and SCGI caches' configuration (cfg_fcache.c):
 * *_cache_path and the fastcgi_cache*, uwsgi_cache* and scgi_cache*
 * directives with nginx 1.22's messages, their defaults and inheritance,
 * each module's kept apart from the others' and from proxy_cache*'s (a
 * location's handler picks one set), zones that belong to one module, and
 * the missing key (a warning, the empty key) as nginx -t has them.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "cfg.h"
#include "cfgtest.h"
#include "lbd.h"

#define HEAD "events {}\nhttp {\n"

struct err_case {
	char conf[240];
	char msg[120];
};

static struct err_case config_errors_cases[] = {
	{"fastcgi_cache_path /tmp/x levels=1:2;\n",
	 "\"fastcgi_cache_path\" must have \"keys_zone\" parameter in"},
	{"fastcgi_cache_path /tmp/x levels=3 keys_zone=a:1m;\n", "invalid \"levels\" \"levels=3\""},
	{"server { listen 127.0.0.1:8080; location / { fastcgi_cache nope; } }\n",
	 "\"fastcgi_cache\" zone \"nope\" is unknown in"},
	/* nginx: a zone belongs to the module that named it first */
	{"proxy_cache_path /tmp/x keys_zone=z:1m;\n"
	 "server { listen 127.0.0.1:8080; location / { fastcgi_cache z; } }\n",
	 "the shared memory zone \"z\" is already declared for a different use in"},
	{"fastcgi_cache_path /tmp/x keys_zone=z:1m;\n"
	 "server { listen 127.0.0.1:8080; location / { proxy_cache z; } }\n",
	 "the shared memory zone \"z\" is already declared for a different use in"},
	{"proxy_cache_path /tmp/x keys_zone=z:1m;\nfastcgi_cache_path /tmp/y keys_zone=z:1m;\n",
	 "the shared memory zone \"z\" is already declared for a different use in"},
	{"fastcgi_cache_path /tmp/x keys_zone=z:1m;\nfastcgi_cache_path /tmp/y keys_zone=z:1m;\n",
	 "duplicate zone \"z\""},
	{"fastcgi_cache_valid 200 abc;\n", "invalid time value \"abc\""},
	{"fastcgi_cache_valid 99 1m;\n", "invalid status \"99\""},
	{"fastcgi_cache_methods GET PUT;\n", "invalid value \"PUT\""},
	{"fastcgi_cache_use_stale error off;\n", "invalid value \"off\""},
	{"fastcgi_cache_use_stale bogus;\n", "invalid value \"bogus\""},
	{"fastcgi_cache_lock maybe;\n", "invalid value \"maybe\""},
	{"fastcgi_cache_min_uses x;\n", "invalid"},
	{"fastcgi_cache_max_range_offset x;\n",
	 "\"fastcgi_cache_max_range_offset\" directive invalid value"},
	{"fastcgi_cache off; fastcgi_cache off;\n", "\"fastcgi_cache\" directive is duplicate"},
	{"fastcgi_cache_key $uri; fastcgi_cache_key $uri;\n",
	 "\"fastcgi_cache_key\" directive is duplicate"},
	{"fastcgi_cache_methods GET; fastcgi_cache_methods GET;\n",
	 "\"fastcgi_cache_methods\" directive is duplicate"},
	/* nginx 1.22 has no fastcgi twin of proxy_cache_convert_head */
	{"fastcgi_cache_convert_head on;\n", "unknown directive \"fastcgi_cache_convert_head\""},
	{"server { listen 127.0.0.1:8080; location / { fastcgi_cache_path /tmp/x "
	 "keys_zone=a:1m; } }\n",
	 "\"fastcgi_cache_path\" directive is not allowed here"},
	/* uwsgi's and scgi's: the same directives, messages and zone rules */
	{"uwsgi_cache_path /tmp/x levels=1:2;\n",
	 "\"uwsgi_cache_path\" must have \"keys_zone\" parameter in"},
	{"server { listen 127.0.0.1:8080; location / { uwsgi_cache nope; } }\n",
	 "\"uwsgi_cache\" zone \"nope\" is unknown in"},
	{"server { listen 127.0.0.1:8080; location / { scgi_cache nope; } }\n",
	 "\"scgi_cache\" zone \"nope\" is unknown in"},
	{"uwsgi_cache_path /tmp/x keys_zone=z:1m;\n"
	 "server { listen 127.0.0.1:8080; location / { scgi_cache z; } }\n",
	 "the shared memory zone \"z\" is already declared for a different use in"},
	{"fastcgi_cache_path /tmp/x keys_zone=z:1m;\n"
	 "server { listen 127.0.0.1:8080; location / { uwsgi_cache z; } }\n",
	 "the shared memory zone \"z\" is already declared for a different use in"},
	{"scgi_cache_path /tmp/x keys_zone=z:1m;\nproxy_cache_path /tmp/y keys_zone=z:1m;\n",
	 "the shared memory zone \"z\" is already declared for a different use in"},
	{"uwsgi_cache_valid 99 1m;\n", "invalid status \"99\""},
	{"scgi_cache_methods GET PUT;\n", "invalid value \"PUT\""},
	{"uwsgi_cache_use_stale error off;\n", "invalid value \"off\""},
	{"scgi_cache_lock maybe;\n", "invalid value \"maybe\""},
	{"uwsgi_cache_max_range_offset x;\n",
	 "\"uwsgi_cache_max_range_offset\" directive invalid value"},
	{"scgi_cache off; scgi_cache off;\n", "\"scgi_cache\" directive is duplicate"},
	{"uwsgi_cache_key $uri; uwsgi_cache_key $uri;\n",
	 "\"uwsgi_cache_key\" directive is duplicate"},
	{"uwsgi_cache_convert_head on;\n", "unknown directive \"uwsgi_cache_convert_head\""},
	{"scgi_cache_convert_head on;\n", "unknown directive \"scgi_cache_convert_head\""},
};

ParameterizedTestParameters(fcache, config_errors)
{
	return cr_make_param_array(struct err_case, config_errors_cases,
				   ARRAY_SIZE(config_errors_cases));
}

ParameterizedTest(struct err_case *e, fcache, config_errors)
{
	struct cfgtest t = {0};
	char conf[1024], err[512];
	struct cfg *c;

	snprintf(conf, sizeof(conf), HEAD "%s}\n", e->conf);
	c = cfgtest_load(&t, conf, err, sizeof(err));
	cr_expect_null(c, "accepted: %s", e->conf);
	cr_expect(strstr(err, e->msg) != NULL, "\"%s\" not in \"%s\"", e->msg, err);
	if (c)
		cfg_unref(c);
	cfgtest_cleanup(&t);
}

static struct cfg_loc *loc_named(struct cfg_srv *srv, char ch)
{
	for (int i = 0; i < srv->loc.nprefix; i++)
		if (srv->loc.prefix[i]->pattern[1] == ch)
			return srv->loc.prefix[i];
	cr_assert_fail("no location /%c", ch);
	return NULL;
}

/* The fastcgi_cache settings reach fastcgi_pass locations only, inherited
 * on their own; the proxy_cache settings reach proxy_pass locations only;
 * a zone of each module. */
Test(fcache, defaults_inheritance_and_apart)
{
	struct cfgtest t = {0};
	char err[512], conf[2048], dir[64] = "/tmp/lbd-fcache-ut-XXXXXX";
	struct cfg *c;
	struct cfg_srv *srv;
	struct cfg_loc *a, *b, *p, *o;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf),
		 HEAD "fastcgi_cache_path %s/f levels=1:2 keys_zone=php:1m inactive=2m;\n"
		      "proxy_cache_path %s/p keys_zone=web:1m;\n"
		      "fastcgi_cache php;\n"
		      "fastcgi_cache_key $scheme$request_method$host$request_uri;\n"
		      "fastcgi_cache_valid 200 5m;\n"
		      "proxy_cache web;\n"
		      "proxy_cache_valid 200 1m;\n"
		      "proxy_cache_methods POST;\n"
		      "if_modified_since before;\n"
		      "server {\nlisten 127.0.0.1:8080;\n"
		      "location /a { fastcgi_pass 127.0.0.1:9; }\n"
		      "location /b { fastcgi_pass 127.0.0.1:9; fastcgi_cache_methods POST; "
		      "fastcgi_cache_lock on; fastcgi_cache_lock_timeout 2s; "
		      "fastcgi_cache_lock_age 3s; fastcgi_cache_min_uses 3; "
		      "fastcgi_cache_use_stale error http_500 updating; "
		      "fastcgi_ignore_headers Set-Cookie Cache-Control; "
		      "fastcgi_cache_revalidate on; fastcgi_cache_valid 404 1m; "
		      "fastcgi_cache_bypass $cookie_x; fastcgi_no_cache $cookie_x $arg_y; "
		      "fastcgi_cache_background_update on; }\n"
		      "location /p { proxy_pass http://127.0.0.1:9; }\n"
		      "location /o { fastcgi_pass 127.0.0.1:9; fastcgi_cache off; }\n"
		      "}\n}\n",
		 dir, dir);
	c = cfgtest_load(&t, conf, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	srv = c->http->servers[0];
	a = loc_named(srv, 'a');
	b = loc_named(srv, 'b');
	p = loc_named(srv, 'p');
	o = loc_named(srv, 'o');
	/* /a: the http level's fastcgi_cache, nginx's defaults */
	cr_assert_not_null(a->cache.zc);
	cr_expect_str_eq(a->cache.zc->name, "php");
	cr_expect_eq(a->cache.zc->owner, CACHE_ZONE_FASTCGI);
	cr_expect_eq(a->cache.zc->inactive_ms, 120000);
	cr_expect_not_null(a->cache.zc->zone);
	cr_expect(a->cache.key_set);
	cr_expect_eq(a->cache.nvalid, 1);
	cr_expect_eq(a->cache.valid[0].secs, 300);
	cr_expect_eq(a->cache.methods, CACHE_M_GET | CACHE_M_HEAD); /* not proxy's POST */
	cr_expect_eq(a->cache.min_uses, 1);
	cr_expect_eq(a->cache.lock, 0);
	cr_expect_eq(a->cache.lock_timeout, 5000);
	cr_expect_eq(a->cache.lock_age, 5000);
	cr_expect_eq(a->cache.use_stale, 0);
	cr_expect_eq(a->cache.revalidate, 0);
	cr_expect_eq(a->cache.ignore, 0);
	cr_expect_eq(a->cache.background_update, 0);
	cr_expect_eq(a->cache.convert_head, 0);		   /* nginx's fastcgi module has none */
	cr_expect_eq(a->cache.ims_mode, CACHE_IMS_BEFORE); /* the core's, kept */
	/* /b: its own values */
	cr_expect_eq(b->cache.zc, a->cache.zc);
	cr_expect_eq(b->cache.methods, CACHE_M_GET | CACHE_M_HEAD | CACHE_M_POST);
	cr_expect_eq(b->cache.lock, 1);
	cr_expect_eq(b->cache.lock_timeout, 2000);
	cr_expect_eq(b->cache.lock_age, 3000);
	cr_expect_eq(b->cache.min_uses, 3);
	cr_expect_eq(b->cache.use_stale,
		     CACHE_STALE_ERROR | CACHE_STALE_500 | CACHE_STALE_UPDATING);
	cr_expect_eq(b->cache.ignore, CACHE_IGN_SET_COOKIE | CACHE_IGN_CACHE_CONTROL);
	cr_expect_eq(b->cache.revalidate, 1);
	cr_expect_eq(b->cache.background_update, 1);
	cr_expect_eq(b->cache.nvalid, 1);
	cr_expect_eq(b->cache.valid[0].status, 404);
	cr_expect_eq(b->cache.nbypass, 1);
	cr_expect_eq(b->cache.nno_cache, 2);
	/* /p: the proxy's settings, untouched by fastcgi_cache* */
	cr_assert_not_null(p->cache.zc);
	cr_expect_str_eq(p->cache.zc->name, "web");
	cr_expect_eq(p->cache.zc->owner, CACHE_ZONE_PROXY);
	cr_expect_eq(p->cache.methods, CACHE_M_GET | CACHE_M_HEAD | CACHE_M_POST);
	cr_expect_eq(p->cache.valid[0].secs, 60);
	cr_expect_eq(p->cache.convert_head, 1);
	cr_expect_eq(p->cache.nbypass, 0);
	/* /o: fastcgi_cache off; the http level's proxy_cache does not apply */
	cr_expect_null(o->cache.zc);
	cfg_unref(c);
	cfgtest_cleanup(&t);
	snprintf(conf, sizeof(conf), "rm -rf %s", dir);
	cr_expect_eq(system(conf), 0);
}

/* nginx 1.22: fastcgi_cache without fastcgi_cache_key loads (a warning at
 * each level below http) and keys with the empty string; a proxy_pass
 * location keeps proxy_cache's default key. */
Test(fcache, missing_key_is_empty)
{
	struct cfgtest t = {0};
	char err[512], conf[1024], dir[64] = "/tmp/lbd-fcache-ut-XXXXXX";
	struct cfg *c;
	struct cfg_loc *a;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf),
		 HEAD "fastcgi_cache_path %s/f keys_zone=php:1m;\n"
		      "server {\nlisten 127.0.0.1:8080;\n"
		      "location /a { fastcgi_pass 127.0.0.1:9; fastcgi_cache php; }\n"
		      "}\n}\n",
		 dir);
	c = cfgtest_load(&t, conf, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	a = c->http->servers[0]->loc.prefix[0];
	cr_assert_not_null(a->cache.zc);
	cr_expect(a->cache.key_set);
	cr_expect(a->cache.key.nparts <= 1);
	cfg_unref(c);
	cfgtest_cleanup(&t);
	snprintf(conf, sizeof(conf), "rm -rf %s", dir);
	cr_expect_eq(system(conf), 0);
}

/* uwsgi_cache* and scgi_cache* reach their module's *_pass locations only,
 * each inherited on its own; a zone of each module; the key each module's;
 * a uwsgi_pass location in reach of fastcgi_cache and proxy_cache only
 * caches nothing. */
Test(fcache, uwsgi_scgi_apart)
{
	struct cfgtest t = {0};
	char err[512], conf[2048], dir[64] = "/tmp/lbd-fcache-ut-XXXXXX";
	struct cfg *c;
	struct cfg_srv *srv;
	struct cfg_loc *u, *s, *n, *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf),
		 HEAD "uwsgi_cache_path %s/u keys_zone=py:1m;\n"
		      "scgi_cache_path %s/s keys_zone=sc:1m inactive=3m;\n"
		      "fastcgi_cache_path %s/f keys_zone=php:1m;\n"
		      "proxy_cache_path %s/p keys_zone=web:1m;\n"
		      "uwsgi_cache py;\n"
		      "uwsgi_cache_key $uri;\n"
		      "uwsgi_cache_valid 200 5m;\n"
		      "scgi_cache_key $host$uri;\n"
		      "fastcgi_cache php;\n"
		      "fastcgi_cache_key $uri;\n"
		      "proxy_cache web;\n"
		      "server {\nlisten 127.0.0.1:8080;\n"
		      "location /u { uwsgi_pass 127.0.0.1:9; uwsgi_cache_methods POST; "
		      "uwsgi_cache_lock on; uwsgi_cache_lock_timeout 2s; uwsgi_cache_lock_age 3s; "
		      "uwsgi_cache_min_uses 2; uwsgi_cache_use_stale error updating; "
		      "uwsgi_ignore_headers Set-Cookie; uwsgi_cache_revalidate on; "
		      "uwsgi_cache_bypass $cookie_x; uwsgi_no_cache $arg_y $arg_z; "
		      "uwsgi_cache_background_update on; }\n"
		      "location /s { scgi_pass 127.0.0.1:9; scgi_cache sc; scgi_cache_valid 1m; }\n"
		      "location /n { scgi_pass 127.0.0.1:9; }\n"
		      "location /f { uwsgi_pass 127.0.0.1:9; uwsgi_cache off; }\n"
		      "}\n}\n",
		 dir, dir, dir, dir);
	c = cfgtest_load(&t, conf, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	srv = c->http->servers[0];
	u = loc_named(srv, 'u');
	s = loc_named(srv, 's');
	n = loc_named(srv, 'n');
	f = loc_named(srv, 'f');
	/* /u: the http level's uwsgi_cache, its own values */
	cr_assert_not_null(u->cache.zc);
	cr_expect_str_eq(u->cache.zc->name, "py");
	cr_expect_eq(u->cache.zc->owner, CACHE_ZONE_UWSGI);
	cr_expect_not_null(u->cache.zc->zone);
	cr_expect(u->cache.key_set);
	cr_expect_eq(u->cache.nvalid, 1);
	cr_expect_eq(u->cache.valid[0].secs, 300);
	cr_expect_eq(u->cache.methods, CACHE_M_GET | CACHE_M_HEAD | CACHE_M_POST);
	cr_expect_eq(u->cache.lock, 1);
	cr_expect_eq(u->cache.lock_timeout, 2000);
	cr_expect_eq(u->cache.lock_age, 3000);
	cr_expect_eq(u->cache.min_uses, 2);
	cr_expect_eq(u->cache.use_stale, CACHE_STALE_ERROR | CACHE_STALE_UPDATING);
	cr_expect_eq(u->cache.ignore, CACHE_IGN_SET_COOKIE);
	cr_expect_eq(u->cache.revalidate, 1);
	cr_expect_eq(u->cache.background_update, 1);
	cr_expect_eq(u->cache.nbypass, 1);
	cr_expect_eq(u->cache.nno_cache, 2);
	cr_expect_eq(u->cache.convert_head, 0); /* nginx's uwsgi module has none */
	/* /s: scgi's own zone, key and validity (no codes: 200 301 302) */
	cr_assert_not_null(s->cache.zc);
	cr_expect_str_eq(s->cache.zc->name, "sc");
	cr_expect_eq(s->cache.zc->owner, CACHE_ZONE_SCGI);
	cr_expect_eq(s->cache.zc->inactive_ms, 180000);
	cr_expect_eq(s->cache.nvalid, 3);
	cr_expect_eq(s->cache.key.nparts, 2);
	cr_expect_eq(s->cache.methods, CACHE_M_GET | CACHE_M_HEAD);
	cr_expect_eq(s->cache.lock, 0);
	cr_expect_eq(s->cache.ignore, 0);
	/* /n: scgi_pass without scgi_cache: neither uwsgi_cache, fastcgi_cache
	 * nor proxy_cache of the http level applies */
	cr_expect_null(n->cache.zc);
	/* /f: uwsgi_cache off */
	cr_expect_null(f->cache.zc);
	cfg_unref(c);
	cfgtest_cleanup(&t);
	snprintf(conf, sizeof(conf), "rm -rf %s", dir);
	cr_expect_eq(system(conf), 0);
}
