/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder tests: the exact message and line of each error
 * class, nginx's defaults and merging, listen grouping, location
 * classification, upstream parsing.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <criterion/parameterized.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"
#include "cfgtest.h"
#include "lbd.h"
#include "resolver.h"
#include "log.h"

static char dir[64];
static char path[128];

static void write_conf(const char *text)
{
	FILE *f;

	strcpy(dir, "/tmp/lbd-cfg-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/logs", dir);
	cr_assert_eq(mkdir(path, 0755), 0); /* nginx's default access_log goes there */
	snprintf(path, sizeof(path), "%s/nginx.conf", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static struct cfg *load_text(const char *text, char *err, size_t errlen)
{
	char prefix[80];
	struct cfg_opts o;

	write_conf(text);
	snprintf(prefix, sizeof(prefix), "%s/", dir);
	o = (struct cfg_opts){.conf_file = path, .prefix = prefix};
	err[0] = '\0';
	return cfg_load(&o, err, errlen);
}

static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (dir[0] && system(cmd) != 0)
		cr_log_warn("cleanup of %s failed", dir);
}

#define HTTP_HEAD "events {}\nhttp {\n"

/* Strings inline: Criterion runs each parameter in a new process, where
 * pointers into the parent's image are not valid. */
struct err_case {
	char text[200];
	char msg[200]; /* message without " in FILE:LINE"; "" = only check FILE:LINE */
	int line;
};

#define A10  "aaaaaaaaaa"
#define A107 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 "aaaaaaa"

static struct err_case err_cases[] = {
	{HTTP_HEAD "foo bar;\n}\n", "unknown directive \"foo\"", 3},
	{HTTP_HEAD "proxy_pass http://127.0.0.1:1;\n}\n",
	 "\"proxy_pass\" directive is not allowed here", 3},
	{HTTP_HEAD "server {\nlisten;\n}\n}\n",
	 "invalid number of arguments in \"listen\" directive", 4},
	{HTTP_HEAD "server {\nlisten 80;\nlocation / {}\nlocation / {}\n}\n}\n",
	 "duplicate location \"/\"", 6},
	{HTTP_HEAD "upstream u {\nserver 127.0.0.1:1 weight=0;\n}\n}\n",
	 "invalid parameter \"weight=0\"", 4},
	{HTTP_HEAD "upstream u {\n}\n}\n", "no servers are inside upstream", 3},
	{HTTP_HEAD "access_log /dev/null nosuch;\n}\n", "unknown log format \"nosuch\"", 3},
	{HTTP_HEAD "server {\nlisten 80;\nreturn 200 $nosuchvar;\n}\n}\n",
	 "unknown \"nosuchvar\" variable", 0},
	{HTTP_HEAD
	 "server {\nlisten 127.0.0.1:80 default_server;\n}\nserver {\nlisten 127.0.0.1:80 default_server;\n}\n}\n",
	 "a duplicate default server for 127.0.0.1:80", 7},
	{HTTP_HEAD "server {\nlisten 99999;\n}\n}\n",
	 "invalid port in \"99999\" of the \"listen\" directive", 4},
	{HTTP_HEAD "server {\nlocation ~ ( {}\n}\n}\n", "", 4},
	{HTTP_HEAD "keepalive_timeout abc;\n}\n", "invalid value \"abc\"", 3},
	{HTTP_HEAD "server {\nlisten 80;\nlocation @x {\nlocation /y {}\n}\n}\n}\n",
	 "location \"/y\" cannot be inside the named location \"@x\"", 6},
	{HTTP_HEAD "sendfile maybe;\n}\n",
	 "invalid value \"maybe\" in \"sendfile\" directive, it must be \"on\" or \"off\"", 3},
	{HTTP_HEAD "upstream u {\nleast_conn;\nip_hash;\nserver 127.0.0.1:1;\n}\n}\n",
	 "load balancing method redefined", 5},
	{"events {}\nhttp {\nserver {\nlisten 80;\nlocation / {\nproxy_pass ftp://x;\n}\n}\n}\n",
	 "invalid URL prefix in \"ftp://x\"", 6},
	{"events {}\nhttp {\nserver {\nlisten 80;\nlocation / {\nproxy_pass http://u;\nproxy_pass http://u;\n}\n}\n}\n",
	 "\"proxy_pass\" directive is duplicate", 7},
	{HTTP_HEAD "server {\nlisten 80;\nlocation / {\nroot /a;\nalias /b;\n}\n}\n}\n",
	 "\"alias\" directive is duplicate, \"root\" directive was specified earlier", 7},
	{"reuseport_steering maybe;\nevents {}\n",
	 "invalid value \"maybe\" in \"reuseport_steering\" directive, it must be \"on\" or "
	 "\"off\"",
	 1},
	{"reuseport_steering on;\nreuseport_steering off;\nevents {}\n",
	 "\"reuseport_steering\" directive is duplicate", 2},
	{HTTP_HEAD "reuseport_steering off;\n}\n",
	 "\"reuseport_steering\" directive is not allowed here", 3},
	/* worker_priority and worker_cpu_affinity, nginx's messages */
	{"worker_priority abc;\nevents {}\n", "\"worker_priority\" directive invalid number", 1},
	{"worker_priority -;\nevents {}\n", "\"worker_priority\" directive invalid number", 1},
	{"worker_priority 4294967295;\nevents {}\n", /* -1 as nginx's int: its error */
	 "\"worker_priority\" directive invalid number", 1},
	{"worker_priority 99999999999999999999;\nevents {}\n",
	 "\"worker_priority\" directive invalid number", 1},
	{"worker_priority 1;\nworker_priority 2;\nevents {}\n",
	 "\"worker_priority\" directive is duplicate", 2},
	{"worker_cpu_affinity 0102;\nevents {}\n",
	 "invalid character \"2\" in \"worker_cpu_affinity\"", 1},
	{"worker_cpu_affinity auto 01 10;\nevents {}\n",
	 "invalid number of arguments in \"worker_cpu_affinity\" directive", 1},
	{"worker_cpu_affinity 01;\nworker_cpu_affinity 10;\nevents {}\n",
	 "\"worker_cpu_affinity\" directive is duplicate", 2},
	{"worker_cpu_affinity "
	 "10000000000000000000000000000000000000000000000000000000000000000;\nevents {}\n",
	 "\"worker_cpu_affinity\" supports up to 64 CPUs only", 1},
	{HTTP_HEAD "proxy_buffers 1 4k;\n}\n", "there must be at least 2 \"proxy_buffers\"", 3},
	{HTTP_HEAD "proxy_buffers 8 4x;\n}\n", "\"proxy_buffers\" directive invalid value", 3},
	{HTTP_HEAD "proxy_max_temp_file_size big;\n}\n",
	 "\"proxy_max_temp_file_size\" directive invalid value", 3},
	/* levels as nginx: each positive, their digits and slashes within 10 + their number */
	{HTTP_HEAD "proxy_temp_path /a 0;\n}\n", "\"proxy_temp_path\" directive invalid value", 3},
	{HTTP_HEAD "client_body_temp_path /a 5 6;\n}\n",
	 "\"client_body_temp_path\" directive invalid value", 3},
	{HTTP_HEAD "client_body_temp_path /a 1 x;\n}\n",
	 "\"client_body_temp_path\" directive invalid value", 3},
	{HTTP_HEAD "client_body_temp_path /a 1 2 3 4;\n}\n",
	 "invalid number of arguments in \"client_body_temp_path\" directive", 3},
	/* nginx checks the buffer sizes when merging: at the http block's "}" */
	{HTTP_HEAD "server {\nlocation / {\nproxy_busy_buffers_size 64k;\n}\n}\n}\n",
	 "\"proxy_busy_buffers_size\" must be less than the size of all \"proxy_buffers\" minus "
	 "one buffer",
	 8},
	{HTTP_HEAD "proxy_buffer_size 32k;\n}\n",
	 "\"proxy_busy_buffers_size\" must be less than the size of all \"proxy_buffers\" minus "
	 "one buffer",
	 4},
	{HTTP_HEAD "proxy_busy_buffers_size 1k;\n}\n",
	 "\"proxy_busy_buffers_size\" must be equal to or greater than the maximum of the value "
	 "of \"proxy_buffer_size\" and one of the \"proxy_buffers\"",
	 4},
	{HTTP_HEAD "proxy_temp_file_write_size 1k;\n}\n",
	 "\"proxy_temp_file_write_size\" must be equal to or greater than the maximum of the "
	 "value of \"proxy_buffer_size\" and one of the \"proxy_buffers\"",
	 4},
	{HTTP_HEAD "proxy_temp_path /a;\nproxy_temp_path /b;\n}\n",
	 "\"proxy_temp_path\" directive is duplicate", 4},
	{HTTP_HEAD "server {\nclient_body_temp_path /a;\nclient_body_temp_path /b;\n}\n}\n",
	 "\"client_body_temp_path\" directive is duplicate", 5},
	{HTTP_HEAD "upstream u {\nhash $remote_addr;\nserver 127.0.0.1:1 backup;\n}\n}\n",
	 "balancing method does not support parameter \"backup\"", 5},
	/* unix sockets: nginx's ngx_parse_unix_domain_url texts; sun_path holds 107
	 * bytes and the NUL: "/" A107 is one too many */
	{HTTP_HEAD "upstream u {\nserver unix:;\n}\n}\n",
	 "no path in the unix domain socket in upstream \"unix:\"", 4},
	{HTTP_HEAD "upstream u {\nserver unix:/" A107 ";\n}\n}\n",
	 "too long path in the unix domain socket in upstream \"unix:/" A107 "\"", 4},
	{HTTP_HEAD "upstream u {\nserver unix:/a.sock bogus=1;\n}\n}\n",
	 "invalid parameter \"bogus=1\"", 4},
	{"events {}\nhttp {\nserver {\nlisten 80;\nlocation / {\nproxy_pass http://unix::/x;\n}\n}\n}\n",
	 "no path in the unix domain socket in upstream \"unix::/x\"", 6},
	/* charset_map (cfg_charset.c): nginx's messages and lines */
	{HTTP_HEAD "charset_map koi8-r utf-8 {\nC0 D18E;\nC1 D1;\n}\n}\n", "invalid value \"D1\"",
	 5},
	{HTTP_HEAD "charset_map a b {\nC0 1C1;\n}\n}\n", "invalid value \"1C1\"", 4},
	{HTTP_HEAD "charset_map a b {\nC0;\n}\n}\n", "invalid parameters number", 4},
	{HTTP_HEAD "charset_map a A {\n}\n}\n",
	 "\"charset_map\" between the same charsets \"a\" and \"A\"", 3},
	{HTTP_HEAD "charset_map a b {\n}\ncharset_map b a {\n}\n}\n",
	 "duplicate \"charset_map\" between \"b\" and \"a\"", 5},
	{HTTP_HEAD "server {\nlisten 80;\ncharset b;\nsource_charset a;\n}\n}\n",
	 "no \"charset_map\" between the charsets \"a\" and \"b\"", 6},
	{HTTP_HEAD "server {\nlisten unix:/" A107 ";\n}\n}\n",
	 "too long path in the unix domain socket in \"unix:/" A107
	 "\" of the \"listen\" directive",
	 4},
};

ParameterizedTestParameters(cfg, errors)
{
	return cr_make_param_array(struct err_case, err_cases, ARRAY_SIZE(err_cases));
}

ParameterizedTest(struct err_case *tc, cfg, errors)
{
	char err[1024], want[1024];
	struct cfg *c = load_text(tc->text, err, sizeof(err));

	cr_assert_null(c, "expected an error for:\n%s", tc->text);
	if (tc->msg[0] && tc->line)
		snprintf(want, sizeof(want), "%s in %s:%d", tc->msg, path, tc->line);
	else if (tc->msg[0])
		snprintf(want, sizeof(want), "%s", tc->msg);
	else
		snprintf(want, sizeof(want), "%s:%d", path, tc->line);
	if (tc->msg[0])
		cr_expect_str_eq(err, want);
	else
		cr_expect(strstr(err, want) != NULL, "got \"%s\", want it to contain \"%s\"", err,
			  want);
	cleanup();
}

/* reuseport_steering: on unless turned off (steer_init gets != 0). */
Test(cfg, reuseport_steering)
{
	static const struct {
		const char *text; /* main context */
		bool on;	  /* steering requested */
	} cases[] = {
		{"events {}\n", true},
		{"reuseport_steering on;\nevents {}\n", true},
		{"reuseport_steering off;\nevents {}\n", false},
	};
	char err[1024];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cfg *c = load_text(cases[i].text, err, sizeof(err));

		cr_assert_not_null(c, "%s", err);
		cr_expect_eq(c->reuseport_steering != 0, cases[i].on, "%s", cases[i].text);
		cfg_unref(c);
		cleanup();
	}
}

Test(cfg, lingering_time_inherited)
{
	char err[1024];
	struct cfg *c =
		load_text(HTTP_HEAD "lingering_time 10s;\nserver {\nlisten 127.0.0.1:8080;\n"
				    "location / {}\nlocation /b { lingering_time 2; }\n}\n}\n",
			  err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	/* prefix[] is sorted longest first: /b, then / */
	cr_expect_eq(c->http->servers[0]->loc.prefix[0]->lingering_time, 2000); /* "2": seconds */
	cr_expect_eq(c->http->servers[0]->loc.prefix[1]->lingering_time, 10000);
	cfg_unref(c);
	cleanup();
}

Test(cfg, defaults_as_nginx)
{
	char err[1024];
	struct cfg *c =
		load_text(HTTP_HEAD "server {\nlisten 127.0.0.1:8080;\nlocation / {}\n}\n}\n", err,
			  sizeof(err));
	struct cfg_loc *l;

	cr_assert_not_null(c, "%s", err);
	l = c->http->servers[0]->loc.prefix[0];
	cr_expect_eq(l->proxy_http_version, 10);
	cr_expect_eq(l->proxy_connect_timeout, 60000);
	cr_expect_eq(l->proxy_read_timeout, 60000);
	cr_expect_eq(l->proxy_next_upstream, NU_ERROR | NU_TIMEOUT);
	cr_expect_eq(l->client_max_body_size, 1024 * 1024);
	cr_expect_eq(l->keepalive_timeout, 75000);
	cr_expect_eq(l->keepalive_requests, 1000);
	cr_expect_eq(l->lingering_timeout, 5000);
	cr_expect_eq(l->lingering_time, 30000);
	cr_expect_eq(l->server_tokens, 1);
	cr_expect_eq(l->proxy_buffer_size, 4096);
	cr_expect_eq(c->http->servers[0]->client_header_timeout, 60000);
	cr_expect_eq(c->http->servers[0]->large_header_num, 4);
	cr_expect_eq(c->http->servers[0]->large_header_size, 8192);
	cr_expect_str_eq(l->default_type, "text/plain");
	cr_expect_eq(c->workers, 1);
	cfg_unref(c);
	cleanup();
}

Test(cfg, proxy_set_header_inherits_only_when_unset)
{
	char err[1024];
	struct cfg *c = load_text(HTTP_HEAD "proxy_set_header X-A a;\n"
					    "server {\nlisten 127.0.0.1:8080;\n"
					    "location /inherit {}\n"
					    "location /own { proxy_set_header X-B b; }\n"
					    "}\n}\n",
				  err, sizeof(err));
	struct cfg_loc *inh = NULL, *own = NULL;
	struct cfg_srv *s;

	cr_assert_not_null(c, "%s", err);
	s = c->http->servers[0];
	for (int i = 0; i < s->loc.nprefix; i++) {
		if (strcmp(s->loc.prefix[i]->pattern, "/inherit") == 0)
			inh = s->loc.prefix[i];
		else
			own = s->loc.prefix[i];
	}
	cr_assert(inh && own);
	cr_expect_eq(inh->proxy_headers.n, 1);
	cr_expect_str_eq(inh->proxy_headers.v[0].name, "X-A");
	cr_expect_eq(own->proxy_headers.n, 1);
	cr_expect_str_eq(own->proxy_headers.v[0].name, "X-B");
	cfg_unref(c);
	cleanup();
}

Test(cfg, add_header_and_error_page_merge)
{
	char err[1024];
	struct cfg *c = load_text(
		HTTP_HEAD "add_header X-Frame-Options SAMEORIGIN always;\n"
			  "error_page 502 503 /e.html;\n"
			  "server {\nlisten 127.0.0.1:8080;\n"
			  "location / {}\n"
			  "location /x { add_header X-Other 1; error_page 404 =200 /n.html; }\n"
			  "}\n}\n",
		err, sizeof(err));
	struct cfg_srv *s;
	struct cfg_loc *root = NULL, *x = NULL;

	cr_assert_not_null(c, "%s", err);
	s = c->http->servers[0];
	for (int i = 0; i < s->loc.nprefix; i++) {
		if (strcmp(s->loc.prefix[i]->pattern, "/") == 0)
			root = s->loc.prefix[i];
		else
			x = s->loc.prefix[i];
	}
	cr_assert(root && x);
	cr_expect_eq(root->add_headers.n, 1);
	cr_expect(root->add_headers.v[0].always);
	cr_expect_eq(root->nerror_pages, 2);
	cr_expect_eq(root->error_pages[1].status, 503);
	cr_expect_eq(x->add_headers.n, 1);
	cr_expect_str_eq(x->add_headers.v[0].name, "X-Other");
	cr_expect_eq(x->nerror_pages, 1);
	cr_expect_eq(x->error_pages[0].overwrite, 200);
	cfg_unref(c);
	cleanup();
}

/* add_trailer: add_header's list rules (a level with lines of its own
 * replaces the outer list; an if's too), `always` kept, the value
 * compiled (variables read when the body ends), and nginx's -t errors. */
Test(cfg, add_trailer_merge)
{
	char err[1024];
	struct cfg *c = load_text(HTTP_HEAD "add_trailer X-Http 1;\n"
					    "server {\nlisten 127.0.0.1:8080;\n"
					    "add_trailer X-Srv $request_time always;\n"
					    "location / {}\n"
					    "location /x {\n"
					    "    add_trailer X-Loc 1;\n"
					    "    add_trailer X-Two $bytes_sent;\n"
					    "    if ($arg_a) { add_trailer X-If 1; }\n"
					    "    if ($arg_b) { set $v 1; }\n"
					    "}\n"
					    "}\n}\n",
				  err, sizeof(err));
	const struct cfg_loc *root, *x, *a, *b;

	cr_assert_not_null(c, "%s", err);
	root = cfgtest_prefix_loc(c, "/");
	x = cfgtest_prefix_loc(c, "/x");
	cr_assert(root && x);
	cr_expect_eq(root->add_trailers.n, 1, "the server's list, not the http one's too");
	cr_expect_str_eq(root->add_trailers.v[0].name, "X-Srv");
	cr_expect(root->add_trailers.v[0].always);
	cr_expect_eq(root->add_headers.n, 0, "trailers are not headers");
	cr_expect_eq(x->add_trailers.n, 2);
	cr_expect_str_eq(x->add_trailers.v[1].name, "X-Two");
	cr_expect_eq(x->add_trailers.v[1].namelen, 5);
	cr_expect_not(x->add_trailers.v[1].always);
	cr_assert_eq(x->nrewrites, 2);
	a = x->rewrites[0].cond->body;
	b = x->rewrites[1].cond->body;
	cr_expect_eq(a->add_trailers.n, 1);
	cr_expect_str_eq(a->add_trailers.v[0].name, "X-If");
	cr_expect_eq(b->add_trailers.n, 2, "an if without lines keeps the location's");
	cfg_unref(c);
	cleanup();
	cfgtest_location_error("add_trailer a b c;", "invalid parameter \"c\"");
	cfgtest_location_error("add_trailer a b never;", "invalid parameter \"never\"");
	cfgtest_location_error("add_trailer a;",
			       "invalid number of arguments in \"add_trailer\" directive");
	cfgtest_location_error("add_trailer a b always x;",
			       "invalid number of arguments in \"add_trailer\" directive");
}

Test(cfg, listen_groups_and_default_server)
{
	char err[1024];
	struct cfg *c = load_text(
		HTTP_HEAD "server { listen 127.0.0.1:8080; server_name a.test; }\n"
			  "server { listen 127.0.0.1:8080 default_server; server_name b.test; }\n"
			  "server { listen 127.0.0.1:8081; server_name c.test; }\n"
			  "}\n",
		err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(c->http->nlgroups, 2);
	cr_expect_eq(c->http->lgroups[0].nservers, 2);
	cr_expect_str_eq(c->http->lgroups[0].default_srv->names[0].name, "b.test");
	cr_expect_eq(c->http->lgroups[1].nservers, 1);
	cfg_unref(c);
	cleanup();
}

/* `proxy_protocol` belongs to the address, as in nginx 1.22: one listen
 * of it saying so is enough, whatever the server. */
Test(cfg, listen_proxy_protocol_per_address)
{
	char err[1024];
	struct cfg *c = load_text(
		HTTP_HEAD "server { listen 127.0.0.1:8080; server_name a.test; }\n"
			  "server { listen 127.0.0.1:8080 proxy_protocol; server_name b.test; }\n"
			  "server { listen 127.0.0.1:8081 proxy_protocol http2; }\n"
			  "server { listen 127.0.0.1:8082; server_name d.test; }\n"
			  "}\n",
		err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(c->http->nlgroups, 3);
	cr_expect(c->http->lgroups[0].proxy_protocol);
	cr_expect(c->http->lgroups[1].proxy_protocol);
	cr_expect_not(c->http->lgroups[2].proxy_protocol);
	cfg_unref(c);
	cleanup();
}

Test(cfg, locations_classified_longest_prefix_first)
{
	char err[1024];
	struct cfg *c = load_text(
		HTTP_HEAD "server { listen 127.0.0.1:8080;\n"
			  "location / {}\nlocation /api/ {}\nlocation /api/v2/ {}\n"
			  "location = /exact {}\nlocation ~ \\.php$ {}\nlocation ~* \\.JPG$ {}\n"
			  "location ^~ /static/ {}\nlocation @fallback {}\n}\n}\n",
		err, sizeof(err));
	struct cfg_loc *l;

	cr_assert_not_null(c, "%s", err);
	l = &c->http->servers[0]->loc;
	cr_assert_eq(l->nprefix, 4);
	cr_expect_str_eq(l->prefix[0]->pattern, "/api/v2/");
	cr_expect_str_eq(l->prefix[3]->pattern, "/");
	cr_expect_eq(l->nexact, 1);
	cr_expect_eq(l->nregex, 2);
	cr_expect_str_eq(l->regex[0]->pattern, "\\.php$");
	cr_expect_eq(l->regex[1]->match, LOC_REGEX_CASELESS);
	cr_expect_eq(l->nnamed, 1);
	cfg_unref(c);
	cleanup();
}

Test(cfg, upstream_servers_and_methods)
{
	char err[1024];
	struct cfg *c = load_text(
		HTTP_HEAD
		"upstream app {\nleast_conn;\n"
		"server 127.0.0.1:3001 weight=5 max_fails=3 fail_timeout=30s;\n"
		"server 127.0.0.1:3003 max_conns=10;\n"
		"server 127.0.0.1:3004 backup;\nserver 127.0.0.1:3005 down;\n"
		"keepalive 32;\n}\n"
		"upstream h { hash $request_uri consistent; server 127.0.0.1:1; }\n"
		"server { listen 127.0.0.1:8080; location / { proxy_pass http://app; } }\n"
		"}\n",
		err, sizeof(err));
	struct ups_group *g = NULL, *h = NULL;

	cr_assert_not_null(c, "%s", err);
	for (int i = 0; i < c->http->nupstreams; i++) {
		if (strcmp(c->http->upstreams[i]->name, "app") == 0)
			g = c->http->upstreams[i];
		if (strcmp(c->http->upstreams[i]->name, "h") == 0)
			h = c->http->upstreams[i];
	}
	cr_assert(g && h);
	cr_expect_eq(g->method, UPS_M_LEAST_CONN);
	cr_expect_eq(g->nservers, 4);
	cr_expect_eq(g->servers[0].weight, 5);
	cr_expect_eq(g->servers[0].max_fails, 3);
	cr_expect_eq(g->servers[0].fail_timeout_ms, 30000);
	cr_expect_eq(g->servers[1].max_conns, 10);
	cr_expect(g->servers[2].backup);
	cr_expect(g->servers[3].down);
	cr_expect_eq(g->keepalive, 32);
	cr_expect_eq(h->method, UPS_M_HASH);
	cr_expect(h->hash_consistent);
	cr_expect_eq(c->http->servers[0]->loc.prefix[0]->proxy->group, g);
	cfg_unref(c);
	cleanup();
}

Test(cfg, implicit_upstream_and_uri_part)
{
	char err[1024];
	struct cfg *c =
		load_text(HTTP_HEAD "server { listen 127.0.0.1:8080;\n"
				    "location /api/ { proxy_pass http://127.0.0.1:3002/; }\n"
				    "location / { proxy_pass http://127.0.0.1:3001; }\n}\n}\n",
			  err, sizeof(err));
	struct cfg_loc *api, *root;

	cr_assert_not_null(c, "%s", err);
	api = c->http->servers[0]->loc.prefix[0];
	root = c->http->servers[0]->loc.prefix[1];
	cr_expect(api->proxy->has_uri);
	cr_expect_str_eq(api->proxy->uri, "/");
	cr_expect_str_eq(api->proxy->host, "127.0.0.1:3002");
	cr_expect_not(root->proxy->has_uri);
	cr_expect(root->proxy->group->implicit);
	cfg_unref(c);
	cleanup();
}

/* proxy_pass http://unix:PATH[:URI] and `server unix:PATH`: the path ends at
 * the first ':', $proxy_host is "localhost", the server address a sockaddr_un. */
Test(cfg, unix_upstreams)
{
	char err[1024];
	struct cfg *c = load_text(
		HTTP_HEAD "upstream app { server unix:/run/a.sock weight=3 max_fails=2 backup; "
			  "server 127.0.0.1:1; }\n"
			  "server { listen 127.0.0.1:8080;\n"
			  "location /api/ { proxy_pass http://unix:/run/g.sock:/base/; }\n"
			  "location /app/ { proxy_pass http://app; }\n"
			  "location / { proxy_pass http://unix:/run/g.sock; }\n}\n}\n",
		err, sizeof(err));
	struct cfg_loc *api, *app, *root;
	const struct sockaddr_un *un;
	struct ups_server *srv;

	cr_assert_not_null(c, "%s", err);
	api = c->http->servers[0]->loc.prefix[0];
	app = c->http->servers[0]->loc.prefix[1];
	root = c->http->servers[0]->loc.prefix[2];
	cr_expect(api->proxy->unix_sock);
	cr_expect(api->proxy->has_uri);
	cr_expect_str_eq(api->proxy->uri, "/base/");
	cr_expect_str_eq(api->proxy->host, "localhost");
	cr_expect_str_eq(api->proxy->addr, "unix:/run/g.sock");
	cr_expect_not(root->proxy->has_uri);
	/* one implicit group for both locations naming the socket */
	cr_expect_eq(root->proxy->group, api->proxy->group);
	srv = &root->proxy->group->servers[0];
	cr_expect_str_eq(srv->name, "unix:/run/g.sock");
	un = (const struct sockaddr_un *)&srv->addr;
	cr_expect_eq(un->sun_family, AF_UNIX);
	cr_expect_str_eq(un->sun_path, "/run/g.sock");
	cr_expect_eq(srv->addrlen, offsetof(struct sockaddr_un, sun_path) + 12);
	cr_expect_not(app->proxy->unix_sock);
	srv = &app->proxy->group->servers[0];
	cr_expect_str_eq(srv->name, "unix:/run/a.sock");
	cr_expect_eq(srv->addr.ss_family, AF_UNIX);
	cr_expect_eq(srv->weight, 3);
	cr_expect_eq(srv->max_fails, 2);
	cr_expect(srv->backup);
	cfg_unref(c);
	cleanup();
}

/* Response buffering (pbuf.c): nginx's defaults (8 4k, 1024m, PREFIX/proxy_temp),
 * values set at one level inherited below it. */
Test(cfg, buffering_defaults_and_inheritance)
{
	char err[1024], want[128];
	struct cfg *c =
		load_text(HTTP_HEAD "proxy_temp_path tmp/p 1 2;\nserver {\n"
				    "listen 127.0.0.1:8080;\nlocation / {\nproxy_buffers 4 16k;\n"
				    "proxy_max_temp_file_size 0;\n}\nlocation /off {\n"
				    "proxy_buffering off;\n}\n}\n}\n",
			  err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	const struct cfg_loc *srv = &c->http->servers[0]->loc, *l = srv->prefix[0],
			     *o = srv->prefix[1];

	if (strcmp(l->pattern, "/") != 0) {
		const struct cfg_loc *x = l;

		l = o;
		o = x;
	}
	snprintf(want, sizeof(want), "%s/tmp/p", dir);
	cr_expect_eq(l->proxy_buffering, 1);
	cr_expect_eq(l->proxy_buffers_num, 4);
	cr_expect_eq(l->proxy_buffers_size, 16384);
	cr_expect_eq(l->proxy_max_temp_file_size, 0);
	cr_expect_str_eq(l->proxy_temp_path, want);
	cr_expect_eq(o->proxy_buffering, 0);
	cr_expect_eq(o->proxy_buffers_num, 8);
	cr_expect_eq(o->proxy_buffers_size, 4096);
	cr_expect_eq(o->proxy_max_temp_file_size, (int64_t)1024 << 20);
	cr_expect_str_eq(o->proxy_temp_path, want);
	cfg_unref(c);
	cleanup();
	c = load_text(HTTP_HEAD "server {\nlisten 127.0.0.1:8080;\n}\n}\n", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	snprintf(want, sizeof(want), "%s/proxy_temp", dir);
	cr_expect_str_eq(c->http->servers[0]->loc.proxy_temp_path, want);
	cfg_unref(c);
	cleanup();
}

/* client_body_temp_path (reqbody.c): nginx's PREFIX/client_body_temp by
 * default, relative to the prefix, inherited, set per location. */
Test(cfg, client_body_temp_path)
{
	char err[1024], want[128], want2[128];
	struct cfg *c =
		load_text(HTTP_HEAD "client_body_temp_path tmp/b 1 2;\nserver {\n"
				    "listen 127.0.0.1:8080;\nlocation / {\n}\nlocation /o {\n"
				    "client_body_temp_path /x/y;\n}\n}\n}\n",
			  err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	const struct cfg_loc *srv = &c->http->servers[0]->loc, *l = srv->prefix[0],
			     *o = srv->prefix[1];

	if (strcmp(l->pattern, "/") != 0) {
		const struct cfg_loc *x = l;

		l = o;
		o = x;
	}
	snprintf(want, sizeof(want), "%s/tmp/b", dir);
	cr_expect_str_eq(srv->client_body_temp_path, want);
	cr_expect_str_eq(l->client_body_temp_path, want);
	cr_expect_str_eq(o->client_body_temp_path, "/x/y");
	/* the levels go with the path they were given with */
	cr_expect_arr_eq(l->body_temp_lv, ((uint8_t[]){1, 2, 0}), 3);
	cr_expect_arr_eq(o->body_temp_lv, ((uint8_t[]){0, 0, 0}), 3);
	/* no $request_body_file: spooled bodies keep having no name */
	cr_expect_not(c->http->body_file_var);
	cfg_unref(c);
	cleanup();
	c = load_text(HTTP_HEAD "server {\nlisten 127.0.0.1:8080;\n}\n}\n", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	snprintf(want2, sizeof(want2), "%s/client_body_temp", dir);
	cr_expect_str_eq(c->http->servers[0]->loc.client_body_temp_path, want2);
	cfg_unref(c);
	cleanup();
	/* $request_body_file anywhere (here a log format) names them */
	c = load_text(HTTP_HEAD "log_format f \"$request_body_file\";\n"
				"server {\nlisten 127.0.0.1:8080;\n}\n}\n",
		      err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect(c->http->body_file_var);
	cfg_unref(c);
	cleanup();
}

Test(cfg, ignored_directives_are_accepted)
{
	char err[1024];
	struct cfg *c = load_text("worker_processes 2;\nevents { worker_connections 768; }\n"
				  "http {\ntypes_hash_max_size 2048;\nfastcgi_temp_path /tmp/x;\n"
				  "server_names_hash_bucket_size 64;\n"
				  "connection_pool_size 512;\n"
				  "request_pool_size 4k;\nuninitialized_variable_warn off;\n}\n",
				  err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(c->workers, 2);
	cr_expect_eq(c->worker_connections, 768);
	cfg_unref(c);
	cleanup();
}

/* which CPUs each worker gets, as nginx's ngx_get_cpu_affinity picks them */
Test(cfg, worker_priority_and_cpu_affinity)
{
	char err[1024];
	struct cfg *c = load_text("worker_processes 3;\nworker_priority -5;\n"
				  "worker_cpu_affinity 0001 0 1 00;\nevents {}\n",
				  err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(c->worker_priority, -5);
	cr_expect_eq(cfg_worker_cpus(c, 0), 0x1);
	cr_expect_eq(cfg_worker_cpus(c, 1), 0x0); /* "0": empty, left unbound */
	cr_expect_eq(cfg_worker_cpus(c, 2), 0x1);
	cr_expect_eq(cfg_worker_cpus(c, 3), 0x0); /* past the masks: the last one */
	cfg_unref(c);
	c = load_text("worker_priority 0;\nworker_priority +3;\nworker_cpu_affinity 1 1 0;\n"
		      "events {}\n",
		      err, sizeof(err));
	cr_assert_not_null(c, "%s", err); /* after a 0, as nginx: not a duplicate */
	cr_expect_eq(c->worker_priority, 3);
	cr_expect_eq(cfg_worker_cpus(c, 1), 0x1);
	cr_expect_eq(cfg_worker_cpus(c, 7), 0x0);
	cfg_unref(c);
	/* auto: the I-th CPU of the mask, round and round */
	c = load_text("worker_cpu_affinity auto 1 010 100;\nevents {}\n", err, sizeof(err));
	cr_assert_null(c, "two masks after auto");
	c = load_text("worker_cpu_affinity auto 1010;\nevents {}\n", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(cfg_worker_cpus(c, 0), 0x2);
	cr_expect_eq(cfg_worker_cpus(c, 1), 0x8);
	cr_expect_eq(cfg_worker_cpus(c, 2), 0x2);
	cfg_unref(c);
	c = load_text("worker_cpu_affinity auto;\nevents {}\n", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(cfg_worker_cpus(c, 0), 0x1);
	cr_expect_eq(cfg_worker_cpus(c, 5), 0x20);
	cfg_unref(c);
	c = load_text("worker_priority 99999999999;\nevents {}\n", err, sizeof(err));
	cr_assert_not_null(c, "%s", err); /* nginx keeps the low 32 bits */
	cr_expect_eq(c->worker_priority, (int)(uint32_t)UINT64_C(99999999999));
	cfg_unref(c);
	/* none: unbound, priority unchanged */
	c = load_text("events {}\n", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(c->worker_priority, 0);
	cr_expect_eq(cfg_worker_cpus(c, 0), 0);
	cfg_unref(c);
	cleanup();
}

Test(cfg, command_line_directives)
{
	char err[1024], prefix[80];
	struct cfg_opts o;
	struct cfg *c;

	write_conf(HTTP_HEAD "}\n");
	snprintf(prefix, sizeof(prefix), "%s/", dir);
	o = (struct cfg_opts){.conf_file = path,
			      .prefix = prefix,
			      .directives = "worker_processes 3; pid /tmp/x.pid;"};
	c = cfg_load(&o, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(c->workers, 3);
	cr_expect_str_eq(c->pid_file, "/tmp/x.pid");
	cfg_unref(c);
	cleanup();
}

Test(cfg, time_and_size_units)
{
	int64_t v;

	cr_expect_eq(cfg_parse_time("30s", &v), 0);
	cr_expect_eq(v, 30000);
	cr_expect_eq(cfg_parse_time("1m30s", &v), 0);
	cr_expect_eq(v, 90000);
	cr_expect_eq(cfg_parse_time("500ms", &v), 0);
	cr_expect_eq(v, 500);
	cr_expect_eq(cfg_parse_time("86400", &v), 0);
	cr_expect_eq(v, 86400000);
	cr_expect_neq(cfg_parse_time("s", &v), 0);
	cr_expect_neq(cfg_parse_time("10x", &v), 0);
	/* past 2^63 ms: refused, not wrapped (fuzz_ctl found the overflow) */
	cr_expect_neq(cfg_parse_time("5050000000y", &v), 0);
	cr_expect_neq(cfg_parse_time("292471208y1y", &v), 0);
	cr_expect_eq(cfg_parse_time("292471207y", &v), 0);
	cr_expect_eq(cfg_parse_size("10m", &v), 0);
	cr_expect_eq(v, 10 * 1024 * 1024);
	cr_expect_eq(cfg_parse_size("8k", &v), 0);
	cr_expect_eq(v, 8192);
	cr_expect_neq(cfg_parse_size("-1", &v), 0);
	cr_expect_neq(cfg_parse_size("1q", &v), 0);
}

Test(cfg, long_lists_keep_every_entry_in_order)
{
	static char text[65536];
	char err[1024];
	size_t n = 0;
	struct cfg *c;

	/* past several powers of two: the arrays grow by doubling */
	n += (size_t)snprintf(text + n, sizeof(text) - n, HTTP_HEAD "upstream u {\n");
	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "server 127.0.0.1:%d;\n",
				      2000 + i);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "}\nserver { listen 127.0.0.1:8080;\n");
	for (int i = 0; i < 130; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "server_name h%d.test;\n", i);
	for (int i = 0; i < 33; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "location = /l%d { return 200 x; }\n", i);
	snprintf(text + n, sizeof(text) - n, "}\n}\n");
	c = load_text(text, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	struct ups_group *g = NULL;

	for (int i = 0; i < c->http->nupstreams; i++)
		if (strcmp(c->http->upstreams[i]->name, "u") == 0)
			g = c->http->upstreams[i];
	cr_assert_not_null(g);
	cr_assert_eq(g->nservers, 70);
	for (int i = 0; i < 70; i++) {
		char want[32];

		snprintf(want, sizeof(want), "127.0.0.1:%d", 2000 + i);
		cr_expect_str_eq(g->servers[i].name, want);
	}
	struct cfg_srv *s = c->http->servers[0];

	cr_assert_eq(s->nnames, 130);
	for (int i = 0; i < 130; i++) {
		char want[32];

		snprintf(want, sizeof(want), "h%d.test", i);
		cr_expect_str_eq(s->names[i].name, want);
	}
	cr_expect_eq(s->loc.nexact, 33);
	cfg_unref(c);
	cleanup();
}

static int count_fds(void)
{
	char p[64];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		n += access(p, F_OK) == 0;
	}
	return n;
}

/* A load that fails after opening logs must close them (fuzz_cfgload found
 * the same path leaking the regexes compiled before the error). */
Test(cfg, failed_load_releases_what_it_opened)
{
	char err[1024], want[256];
	struct cfg *c;
	int before;

	c = load_text(HTTP_HEAD "access_log logs/a.log;\n"
				"server { listen 127.0.0.1:8080; server_name ~^w(\\d+)$;\n"
				"location ~ \\.png$ { return 204; }\n}\nbogus;\n}\n",
		      err, sizeof(err));
	cr_assert_null(c);
	snprintf(want, sizeof(want), "unknown directive \"bogus\" in %s:7", path);
	cleanup();
	cr_assert_str_eq(err, want);
	before = count_fds();
	for (int i = 0; i < 4; i++) {
		c = load_text(HTTP_HEAD "access_log logs/a.log;\naccess_log logs/b.log;\n"
					"bogus;\n}\n",
			      err, sizeof(err));
		cleanup();
		cr_assert_null(c);
	}
	cr_assert_eq(count_fds(), before, "log files left open by failed loads");
}

/* Server settings given in http{} are every server's default; a server's
 * own value wins (fuzz_cfgload found `http { client_header_timeout 5s; }`
 * crashing the loader). */
Test(cfg, server_settings_at_http_level)
{
	char err[1024];
	struct cfg *c;

	c = load_text(HTTP_HEAD "client_header_timeout 5s;\nmerge_slashes off;\n"
				"underscores_in_headers on;\nclient_header_buffer_size 2k;\n"
				"large_client_header_buffers 2 4k;\n"
				"server { listen 127.0.0.1:8080; }\n"
				"server { listen 127.0.0.1:8081; client_header_timeout 7s;\n"
				"merge_slashes on; large_client_header_buffers 8 16k; }\n}\n",
		      err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	struct cfg_srv *a = c->http->servers[0], *b = c->http->servers[1];

	cr_expect_eq(a->client_header_timeout, 5000);
	cr_expect_eq(a->merge_slashes, 0);
	cr_expect_eq(a->underscores_in_headers, 1);
	cr_expect_eq(a->ignore_invalid_headers, 1);
	cr_expect_eq(a->client_header_buffer_size, 2048);
	cr_expect_eq(a->large_header_num, 2);
	cr_expect_eq(a->large_header_size, 4096);
	cr_expect_eq(b->client_header_timeout, 7000);
	cr_expect_eq(b->merge_slashes, 1);
	cr_expect_eq(b->underscores_in_headers, 1);
	cr_expect_eq(b->large_header_num, 8);
	cr_expect_eq(b->large_header_size, 16384);
	cfg_unref(c);
	cleanup();
	c = load_text(HTTP_HEAD "merge_slashes off;\nmerge_slashes on;\n}\n", err, sizeof(err));
	cr_assert_null(c);
	cr_expect(strstr(err, "\"merge_slashes\" directive is duplicate in ") != NULL, "%s", err);
	cleanup();
}

Test(cfg, resolver_checked_as_nginx)
{
	char err[1024];
	struct cfg *c = load_text(HTTP_HEAD "resolver 127.0.0.1 valid=x;\n}\n", err, sizeof(err));

	cr_assert_null(c);
	cr_expect(strstr(err, "invalid parameter: valid=x") != NULL, "%s", err);
	cleanup();
	c = load_text(HTTP_HEAD "resolver_timeout soon;\n}\n", err, sizeof(err));
	cr_assert_null(c);
	cr_expect(strstr(err, "\"resolver_timeout\" directive invalid value") != NULL, "%s", err);
	cleanup();
	c = load_text(HTTP_HEAD "resolver 127.0.0.1 ipv4=off ipv6=off;\n}\n", err, sizeof(err));
	cr_assert_null(c);
	cr_expect(strstr(err, "cannot both be \"off\"") != NULL, "%s", err);
	cleanup();
}

Test(cfg, resolver_parsed_and_inherited)
{
	char err[1024];
	struct cfg *c = load_text(HTTP_HEAD "resolver 127.0.0.1 [::1]:5353 valid=300s ipv6=off;\n"
					    "resolver_timeout 5s;\n"
					    "server { listen 127.0.0.1:8080; location / { } }\n"
					    "server { listen 127.0.0.1:8081; resolver 10.0.0.1;\n"
					    "  location / { } }\n}\n",
				  err, sizeof(err));
	const struct cfg_loc *l, *m;
	const struct sockaddr_in6 *s6;

	cr_assert_not_null(c, "%s", err);
	l = c->http->servers[0]->loc.prefix[0];
	cr_assert_not_null(l->resolver);
	cr_expect_eq(l->resolver->naddr, 2);
	cr_expect_eq(l->resolver->valid_ms, 300000);
	cr_expect(l->resolver->ipv4 && !l->resolver->ipv6);
	cr_expect_eq(l->resolver_timeout, 5000);
	s6 = (const struct sockaddr_in6 *)&l->resolver->addr[1];
	cr_expect_eq(s6->sin6_family, AF_INET6);
	cr_expect_eq(ntohs(s6->sin6_port), 5353);
	cr_expect_eq(ntohs(((const struct sockaddr_in *)&l->resolver->addr[0])->sin_port), 53);
	m = c->http->servers[1]->loc.prefix[0];
	cr_expect_eq(m->resolver->naddr, 1);
	cr_expect(m->resolver->ipv6, "a server's own resolver: the defaults");
	cr_expect_eq(m->resolver_timeout, 5000, "the timeout still inherited");
	cfg_unref(c);
	cleanup();
}
