/* SPDX-License-Identifier: MIT */
/*
 * Routing tests: server_name selection (exact, wildcards, regex, default)
 * and nginx's location order (exact, longest prefix, ^~, regex in order,
 * nested), on configurations built by the real parser.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "http.h"

static struct cfg *cfg;
static char dir[64];

static void setup(void)
{
	static const char text[] =
		"events {}\nhttp {\n"
		"server { listen 127.0.0.1:8080; server_name first.test; }\n"
		"server { listen 127.0.0.1:8080; server_name exact.test www.exact.test; }\n"
		"server { listen 127.0.0.1:8080; server_name *.wild.test; }\n"
		"server { listen 127.0.0.1:8080; server_name *.deep.wild.test; }\n"
		"server { listen 127.0.0.1:8080; server_name www.tail.*; }\n"
		"server { listen 127.0.0.1:8080; server_name ~^(?<sub>[a-z]+)\\.re\\.test$; }\n"
		"server { listen 127.0.0.1:8080 default_server; server_name dflt.test;\n"
		"  location / { return 200 root; }\n"
		"  location = / { return 200 exact-root; }\n"
		"  location /api/ { return 200 api;\n"
		"    location /api/v2/ { return 200 v2; }\n"
		"    location ~ \\.json$ { return 200 api-json; }\n"
		"  }\n"
		"  location ^~ /static/ { return 200 static; }\n"
		"  location ~ \\.(png|jpg)$ { return 200 image; }\n"
		"  location ~* \\.PDF$ { return 200 pdf; }\n"
		"  location ~ \\.jpg$ { return 200 never; }\n"
		"}\n"
		"}\n";
	char path[128], prefix[80];
	char err[1024];
	FILE *f;

	strcpy(dir, "/tmp/lbd-route-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/logs", dir);
	cr_assert_eq(mkdir(path, 0755), 0); /* nginx's default access_log goes there */
	snprintf(path, sizeof(path), "%s/nginx.conf", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(prefix, sizeof(prefix), "%s/", dir);
	cfg = cfg_load(&(struct cfg_opts){.conf_file = path, .prefix = prefix}, err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
}

static void teardown(void)
{
	char cmd[128];

	cfg_unref(cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		cr_log_warn("cleanup failed");
}

static void conn_for(struct conn *c, const char *host)
{
	memset(c, 0, sizeof(*c));
	pool_init(&c->pool, 1024);
	c->cfg = cfg;
	c->lg = &cfg->http->lgroups[0];
	c->req.host = lstr_c(host);
}

/* Strings inline: each parameter runs in a new process. */
struct srv_case {
	char host[40];
	char want[48]; /* first server_name of the chosen server */
};

static struct srv_case srv_cases[] = {
	{"exact.test", "exact.test"},
	{"www.exact.test", "exact.test"},
	{"a.wild.test", ".wild.test"},
	{"x.deep.wild.test", ".deep.wild.test"},
	{"wild.test", "dflt.test"},
	{"www.tail.org", "www.tail."},
	{"abc.re.test", "^(?<sub>[a-z]+)\\.re\\.test$"},
	{"123.re.test", "dflt.test"},
	{"unknown.test", "dflt.test"},
	{"", "dflt.test"},
};

ParameterizedTestParameters(route, server_name)
{
	return cr_make_param_array(struct srv_case, srv_cases, ARRAY_SIZE(srv_cases));
}

ParameterizedTest(struct srv_case *tc, route, server_name, .init = setup, .fini = teardown)
{
	struct conn c;
	struct cfg_srv *s;

	conn_for(&c, tc->host);
	s = http_find_server(&c);
	cr_assert_not_null(s);
	cr_expect_str_eq(s->names[0].name, tc->want, "host %s", tc->host);
	pool_destroy(&c.pool);
}

struct loc_case {
	char uri[40];
	char want[24]; /* the `return` text of the chosen location */
};

static struct loc_case loc_cases[] = {
	{"/", "exact-root"},	 {"/index.html", "root"},	 {"/api/users", "api"},
	{"/api/v2/x", "v2"},	 {"/api/data.json", "api-json"}, {"/static/a.png", "static"},
	{"/img/a.png", "image"}, {"/img/a.jpg", "image"},	 {"/doc/A.pdf", "pdf"},
	{"/api/a.png", "image"},
};

ParameterizedTestParameters(route, location)
{
	return cr_make_param_array(struct loc_case, loc_cases, ARRAY_SIZE(loc_cases));
}

ParameterizedTest(struct loc_case *tc, route, location, .init = setup, .fini = teardown)
{
	struct conn c;
	struct cfg_srv *s;
	struct cfg_loc *l;
	bool final;

	conn_for(&c, "dflt.test");
	s = http_find_server(&c);
	l = http_find_location(&c, &s->loc, lstr_c(tc->uri), &final);
	cr_assert_not_null(l, "no location for %s", tc->uri);
	cr_assert_gt(l->nrewrites, 0);
	cr_expect_str_eq(l->rewrites[0].repl.raw, tc->want, "uri %s", tc->uri);
	pool_destroy(&c.pool);
}
