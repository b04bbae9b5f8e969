/* SPDX-License-Identifier: MIT */
/*
 * Tests of the stream {} configuration (userspace/cfg_stream.c): a full
 * block builds the servers with nginx's defaults merged, binds proxy_pass
 * to named and implicit groups (map address values included), reuses the
 * HTTP balancers; stream maps match by var_map.c's rules; errors name the
 * exact text and FILE:LINE.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "cfgtest.h"
#include "log.h"
#include "stream.h"
#include "stream_udp.h"
#include "ups.h"
#include "var.h"

#define HEAD "events {}\n"

static struct cfgtest ct;

static void fini(void)
{
	cfgtest_cleanup(&ct);
}

TestSuite(cfg_stream, .fini = fini);

Test(cfg_stream, full_block)
{
	static const char text[] =
		HEAD "load_module /usr/share/nginx/modules/ngx_stream_module.so;\n"
		     "stream {\n"
		     "  proxy_timeout 5m;\n"
		     "  upstream u { hash $remote_addr consistent; server 127.0.0.1:81 weight=2;"
		     " server 127.0.0.1:82; }\n"
		     "  map $ssl_preread_server_name $be { a.test u; b.test 127.0.0.1:9000;"
		     " default 127.0.0.1:9001; }\n"
		     "  server { listen 127.0.0.1:7001; proxy_pass u; proxy_protocol on; }\n"
		     "  server { listen 7002 reuseport backlog=10; ssl_preread on;"
		     " proxy_pass $be; proxy_timeout 3s; kernel_splice on; }\n"
		     "}\n";
	char err[512];
	struct cfg *c = cfgtest_load(&ct, text, err, sizeof(err));
	struct cfg_stream *st;
	const struct stream_srv *s1, *s2;

	cr_assert_not_null(c, "%s", err);
	st = c->stream;
	cr_assert_not_null(st);
	cr_assert_eq(st->nservers, 2);
	s1 = st->servers[0], s2 = st->servers[1];
	cr_assert_eq(s1->timeout, 300000);
	cr_assert_eq(s2->timeout, 3000);
	cr_assert_eq(s1->connect_timeout, 60000);
	cr_assert_eq(s1->next_upstream, 1);
	cr_assert_eq(s1->proxy_protocol, 1);
	cr_assert_eq(s2->proxy_protocol, 0);
	cr_assert_eq(s2->preread, 1);
	cr_assert_eq(s2->preread_size, 16384);
	cr_assert_eq(s2->kernel_splice, 1);
	cr_assert(s2->listens[0].reuseport);
	cr_assert_eq(s2->listens[0].backlog, 10);
	cr_assert_not_null(s1->group);
	cr_assert_str_eq(s1->group->name, "u");
	cr_assert_eq(s1->group->method, UPS_M_HASH);
	cr_assert(s1->group->hash_consistent);
	cr_assert_not_null(s1->group->ops, "the HTTP balancer is set up");
	cr_assert_null(s2->group, "a proxy_pass with variables is resolved per session");
	/* u, and the two address values of the map */
	cr_assert_eq(st->ngroups, 3);
	cr_assert_str_eq(st->groups[1]->name, "127.0.0.1:9000");
	cr_assert(st->groups[1]->implicit);
	/* the listen addresses, for the workers */
	cr_assert_not_null(stream_listen_at(c, 1));
	cr_assert_null(stream_listen_at(c, 2));
	cr_assert_eq(stream_find_server(c, &s2->listens[0].addr, s2->listens[0].addrlen, NULL), s2);
	/* map lookups */
	const struct stream_map *m = st->maps;
	const struct map_entry *e = map_match(m->m, "B.TEST", 6);

	cr_assert_not_null(e);
	cr_assert_str_eq(e->value.parts[0].str, "127.0.0.1:9000");
	cr_assert_null(map_match(m->m, "c.test", 6));
	cfg_unref(c);
}

/* `listen ... proxy_protocol`: per listen; proxy_protocol_timeout and
 * set_real_ip_from inherited from stream {}. */
Test(cfg_stream, listen_proxy_protocol)
{
	static const char text[] =
		HEAD "stream {\n"
		     "  set_real_ip_from 10.0.0.0/8;\n"
		     "  proxy_protocol_timeout 5s;\n"
		     "  server { listen 127.0.0.1:7001 proxy_protocol; listen 127.0.0.1:7003;"
		     " proxy_pass 127.0.0.1:1; }\n"
		     "  server { listen 7002; proxy_pass 127.0.0.1:1; set_real_ip_from ::1;"
		     " proxy_protocol_timeout 1s; }\n"
		     "}\n";
	char err[512];
	struct cfg *c = cfgtest_load(&ct, text, err, sizeof(err));
	const struct stream_srv *s1, *s2;
	const struct cfg_listen *ls = NULL;

	cr_assert_not_null(c, "%s", err);
	s1 = c->stream->servers[0], s2 = c->stream->servers[1];
	cr_assert(s1->listens[0].proxy_protocol);
	cr_assert_not(s1->listens[1].proxy_protocol);
	cr_assert_eq(stream_find_server(c, &s1->listens[1].addr, s1->listens[1].addrlen, &ls), s1);
	cr_assert_eq(ls, &s1->listens[1]);
	cr_assert_eq(s1->pp_timeout, 5000);
	cr_assert_eq(s2->pp_timeout, 1000);
	cr_assert_eq(s1->realip.nfrom, 1);
	cr_assert_eq(s1->realip.from[0].family, AF_INET);
	cr_assert_eq(s2->realip.nfrom, 1);
	cr_assert_eq(s2->realip.from[0].family, AF_INET6);
	cfg_unref(c);
}

/* `listen ... udp`: a UDP and a TCP listener on one address are two, each
 * found by its own lookup; proxy_responses/proxy_requests/proxy_buffer_size
 * with nginx's defaults (any number of answers, no request limit, 16k). */
Test(cfg_stream, listen_udp)
{
	static const char text[] =
		HEAD "stream {\n"
		     "  proxy_requests 3;\n"
		     "  server { listen 127.0.0.1:7001 udp reuseport; listen 127.0.0.1:7002;"
		     " proxy_pass 127.0.0.1:53; proxy_responses 2; proxy_buffer_size 4k; }\n"
		     "  server { listen 127.0.0.1:7002 udp; listen [::1]:7002 udp;"
		     " proxy_pass 127.0.0.1:53; proxy_responses 0; }\n"
		     "  server { listen 127.0.0.1:7003; proxy_pass 127.0.0.1:53; }\n"
		     "}\n";
	char err[512];
	struct cfg *c = cfgtest_load(&ct, text, err, sizeof(err));
	const struct stream_srv *s1, *s2, *s3;

	cr_assert_not_null(c, "%s", err);
	s1 = c->stream->servers[0], s2 = c->stream->servers[1], s3 = c->stream->servers[2];
	cr_assert(s1->udp && s2->udp && !s3->udp);
	cr_assert(s1->listens[0].udp && s1->listens[0].reuseport);
	cr_assert_not(s1->listens[1].udp);
	cr_assert_eq(s1->responses, 2);
	cr_assert_eq(s1->requests, 3);
	cr_assert_eq(s1->buffer_size, 4096);
	cr_assert_eq(s2->responses, 0);
	cr_assert_eq(s2->requests, 3, "inherited from stream{}");
	cr_assert_eq(s3->requests, 3);
	cr_assert_eq(s2->buffer_size, 16384);
	cr_assert_eq(s3->responses, INT_MAX, "unset: any number of answers");
	/* 127.0.0.1:7002: TCP is s1's, UDP is s2's */
	cr_assert_eq(stream_find_server(c, &s1->listens[1].addr, s1->listens[1].addrlen, NULL), s1);
	cr_assert_eq(stream_udp_server(c, &s2->listens[0].addr, s2->listens[0].addrlen), s2);
	cr_assert_eq(stream_udp_server(c, &s2->listens[1].addr, s2->listens[1].addrlen), s2);
	cr_assert_null(stream_find_server(c, &s1->listens[0].addr, s1->listens[0].addrlen, NULL));
	cr_assert_null(stream_udp_server(c, &s3->listens[0].addr, s3->listens[0].addrlen));
	cr_assert_not_null(stream_listen_at(c, 4));
	cr_assert_null(stream_listen_at(c, 5));
	cfg_unref(c);
}

/* The session lookup key: family, address and port only (the rest of a
 * sockaddr - sin_zero, flow info - is noise), and the listener. */
Test(cfg_stream, udp_session_key)
{
	struct sockaddr_storage a = {0}, b = {0}, c6 = {0};
	struct sockaddr_in *a4 = (struct sockaddr_in *)&a, *b4 = (struct sockaddr_in *)&b;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c6;

	a4->sin_family = b4->sin_family = AF_INET;
	a4->sin_port = b4->sin_port = htons(5353);
	inet_pton(AF_INET, "127.0.0.1", &a4->sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &b4->sin_addr);
	memset(b4->sin_zero, 0xAA, sizeof(b4->sin_zero));
	cr_assert(lbd_sockaddr_eq(&a, &b));
	cr_assert_eq(stream_udp_hash(7, &a), stream_udp_hash(7, &b));
	cr_assert_neq(stream_udp_hash(7, &a), stream_udp_hash(8, &a), "the listener counts");
	b4->sin_port = htons(5354);
	cr_assert_not(lbd_sockaddr_eq(&a, &b));
	cr_assert_neq(stream_udp_hash(7, &a), stream_udp_hash(7, &b));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(5353);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6->sin6_addr);
	cr_assert_not(lbd_sockaddr_eq(&a, &c6), "families apart");
	memcpy(&b, &c6, sizeof(b));
	((struct sockaddr_in6 *)&b)->sin6_flowinfo = 99;
	cr_assert(lbd_sockaddr_eq(&b, &c6));
	cr_assert_eq(stream_udp_hash(3, &b), stream_udp_hash(3, &c6));
}

struct bad {
	const char *body; /* inside stream {}, from line 3 */
	const char *msg;  /* expected message, without " in FILE:LINE" */
	int line;
};

static const struct bad bads[] = {
	{"upstream u { server 127.0.0.1; }\n", "no port in upstream \"127.0.0.1\"", 3},
	{"server { listen 1; proxy_pass nowhere; }\n", "no port in upstream \"nowhere\"", 3},
	{"server { listen 1; proxy_pass $nope; }\n", "unknown \"nope\" variable", 3},
	{"server { listen 1; }\n", "no handler for server", 3},
	{"server { proxy_pass 127.0.0.1:1; }\n", "no \"listen\" is defined for server", 3},
	{"server { listen 1 ssl; proxy_pass 127.0.0.1:1; }\n",
	 "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive", 3},
	{"ssl_certificate /x.crt;\nserver {\nlisten 1 ssl; proxy_pass 127.0.0.1:1; }\n",
	 "no \"ssl_certificate_key\" is defined for the \"listen ... ssl\" directive", 5},
	{"server { listen 1 udp ssl; proxy_pass 127.0.0.1:1; }\n",
	 "\"listen\" directive \"ssl\" parameter is incompatible with \"udp\"", 3},
	{"server { listen 1 proxy_protocol udp; proxy_pass 127.0.0.1:1; }\n",
	 "\"listen\" directive \"proxy_protocol\" parameter is incompatible with \"udp\"", 3},
	{"server { listen 1 udp backlog=511; proxy_pass 127.0.0.1:1; }\n",
	 "\"listen\" directive \"backlog\" parameter is incompatible with \"udp\"", 3},
	{"server { listen 1 udp; proxy_pass 127.0.0.1:1; }\nserver { listen 1 udp; proxy_pass "
	 "127.0.0.1:2; }\n",
	 "duplicate \"1\" address and port pair", 4},
	{"server { listen 1 udp; proxy_pass 127.0.0.1:1;\nproxy_responses 1x; }\n",
	 "\"proxy_responses\" directive invalid number", 4},
	{"server { listen 1 udp; proxy_pass 127.0.0.1:1; proxy_requests -2; }\n",
	 "\"proxy_requests\" directive invalid number", 3},
	{"server { listen 1 udp; proxy_pass 127.0.0.1:1; proxy_requests 1; proxy_requests 2; }\n",
	 "\"proxy_requests\" directive is duplicate", 3},
	{"server { listen 1; proxy_pass 127.0.0.1:1; proxy_ssl on; proxy_ssl_verify on; }\n",
	 "no proxy_ssl_trusted_certificate for proxy_ssl_verify", 3},
	{"server { listen 1; proxy_pass 127.0.0.1:1; proxy_ssl_certificate /x.crt; }\n"
	 "proxy_ssl on;\n",
	 "no \"proxy_ssl_certificate_key\" is defined for certificate \"/x.crt\"", 3},
	{"server { listen 1; proxy_pass 127.0.0.1:1; ssl_protocols TLSv1.2 TLSv9; }\n",
	 "invalid value \"TLSv9\"", 3},
	{"server { listen 1; proxy_pass 127.0.0.1:1; ssl_handshake_timeout x; }\n",
	 "invalid value \"x\" in \"ssl_handshake_timeout\" directive", 3},
	{"server { listen 1; proxy_pass 127.0.0.1:1; proxy_ssl_name a;\nproxy_ssl_name b; }\n",
	 "\"proxy_ssl_name\" directive is duplicate", 4},
	{"server { listen 1; proxy_pass 127.0.0.1:1; proxy_ssl_name $nope; }\n",
	 "unknown \"nope\" variable", 3},
	{"server { listen 1; proxy_pass 127.0.0.1:1; ssl_session_cache shared:x; }\n",
	 "invalid session cache \"shared:x\"", 3},
	{"server { listen 1; proxy_pass 127.0.0.1:1; ssl_verify_client maybe; }\n",
	 "invalid value \"maybe\"", 3},
	{"server { listen 1; proxy_pass 127.0.0.1:1; }\nserver { listen 1; proxy_pass "
	 "127.0.0.1:2; }\n",
	 "duplicate \"1\" address and port pair", 4},
	{"upstream u { ip_hash; server 127.0.0.1:1; }\n",
	 "\"ip_hash\" directive is not allowed here", 3},
	{"upstream u { server 127.0.0.1:1 slow_start=10s; }\n",
	 "invalid parameter \"slow_start=10s\"", 3},
	{"server { listen 1; proxy_pass 127.0.0.1:1; proxy_timeout x; }\n",
	 "invalid value \"x\" in \"proxy_timeout\" directive", 3},
	{"server { listen 1; proxy_pass 127.0.0.1:1; ssl_preread maybe; }\n",
	 "invalid value \"maybe\" in \"ssl_preread\" directive, it must be \"on\" or \"off\"", 3},
	{"server { listen 1; proxy_pass 127.0.0.1:1; access_log /tmp/x nofmt; }\n",
	 "unknown log format \"nofmt\"", 3},
	{"map $remote_addr $m {\n~^1 $remote_port;\ndefault $nope; }\n",
	 "unknown \"nope\" variable", 5},
	{"server { listen 1; proxy_pass 127.0.0.1:1;\nproxy_download_rate 1x; }\n",
	 "\"proxy_download_rate\" directive invalid value", 4},
	{"proxy_upload_rate 1k;\nproxy_upload_rate $remote_port;\n",
	 "\"proxy_upload_rate\" directive is duplicate", 4},
	{"proxy_bind 127.0.0.1; server { listen 1; proxy_pass 127.0.0.1:1;\nproxy_bind host; }\n",
	 "invalid address \"host\"", 4},
	{"proxy_bind 127.0.0.1 opaque;\n", "invalid parameter \"opaque\"", 3},
	{"server { listen 1; proxy_pass 127.0.0.1:1; proxy_set_header a b; }\n",
	 "\"proxy_set_header\" directive is not allowed here", 3},
	{"location / { }\n", "\"location\" directive is not allowed here", 3},
	{"server { listen 1 proxy_protocol; proxy_pass 127.0.0.1:1; set_real_ip_from nowhere; }\n",
	 "host not found in set_real_ip_from \"nowhere\"", 3},
	{"server { listen 1; proxy_pass 127.0.0.1:1; proxy_protocol_timeout x; }\n",
	 "invalid value \"x\" in \"proxy_protocol_timeout\" directive", 3},
	{"upstream u {\nhash $remote_addr;\nserver 127.0.0.1:1 backup;\n}\n",
	 "balancing method does not support parameter \"backup\"", 5},
	{"server { listen 1; return x; allow 10.0.0.0/33; }\n", "invalid parameter \"10.0.0.0/33\"",
	 3},
	{"upstream u { server 127.0.0.1:1; deny all; }\n", "\"deny\" directive is not allowed here",
	 3},
	{"return x;\n", "\"return\" directive is not allowed here", 3},
	{"server { listen 1;\nreturn x;\nreturn y; }\n", "\"return\" directive is duplicate", 5},
	{"server { listen 1; return x; proxy_pass 127.0.0.1:1;\nreturn y; }\n",
	 "\"return\" directive is duplicate", 4},
	{"server { listen 1; return x; set a 1; }\n", "invalid variable name \"a\"", 3},
	{"server { listen 1; return x; set $server_port 1; }\n",
	 "the duplicate \"server_port\" variable", 3},
	{"limit_conn_zone $remote_addr zone=z:1m;\nlimit_conn_zone $server_port zone=z:1m;\n",
	 "limit_conn_zone \"z\" is already bound to key \"$remote_addr\"", 4},
	{"limit_conn_zone $remote_addr zone=z:1m;\nserver { listen 1; return x; limit_conn z "
	 "65536; }\n",
	 "connection limit must be less 65536", 4},
	{"geo $g { 10.0.0.0/8 a; 1.2.3 b; }\n", "invalid network \"1.2.3\"", 3},
	{"split_clients $remote_addr $s { 1.234% a; }\n", "invalid percent value \"1.234%\"", 3},
};

Test(cfg_stream, errors)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		char text[1024], err[512], want[512];
		struct cfg *c;

		snprintf(text, sizeof(text), HEAD "stream {\n%s}\n", bads[i].body);
		c = cfgtest_load(&ct, text, err, sizeof(err));
		cr_assert_null(c, "case %zu loaded", i);
		snprintf(want, sizeof(want), "%s in %s:%d", bads[i].msg, ct.path, bads[i].line);
		cr_assert_str_eq(err, want, "case %zu", i);
	}
}

/* allow/deny (inherited whole, first match wins, unix: only for unix
 * peers), return vs proxy_pass (the later wins), set variables, limit_conn
 * (inherited whole) and geo/split_clients maps. */
Test(cfg_stream, access_return_set_limit_geo)
{
	static const char text[] = HEAD
		"stream {\n"
		"  deny 10.0.0.0/8; allow all;\n"
		"  limit_conn_zone $binary_remote_addr zone=a:1m;\n"
		"  limit_conn a 3;\n"
		"  geo $g { default d; 10.1.0.0/16 ten; }\n"
		"  split_clients $remote_addr $sp { 50% x; * y; }\n"
		"  server { listen 7001; return \"$g\"; proxy_pass 127.0.0.1:1; }\n"
		"  server { listen 7002; proxy_pass 127.0.0.1:1; return \"$sp$v\"; allow unix:;"
		" deny all; set $v 1; set $w \"$v$v\"; set $v 2; limit_conn_dry_run on; }\n"
		"}\n";
	char err[512];
	struct cfg *c = cfgtest_load(&ct, text, err, sizeof(err));
	const struct stream_srv *s1, *s2;
	struct sockaddr_storage in = {0}, un = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&in;

	cr_assert_not_null(c, "%s", err);
	s1 = c->stream->servers[0], s2 = c->stream->servers[1];
	cr_assert_not(s1->ret_last);
	cr_assert_not_null(s1->group);
	cr_assert(s2->ret_last);
	cr_assert_eq(s1->naccess, 2);
	cr_assert_eq(s2->naccess, 2);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x0a010203);
	un.ss_family = AF_UNIX;
	cr_assert_eq(auth_access_match(s1->access, s1->naccess, &in), 1);
	cr_assert_eq(auth_access_match(s1->access, s1->naccess, &un), 0);
	cr_assert_eq(auth_access_match(s2->access, s2->naccess, &in), 1);
	cr_assert_eq(auth_access_match(s2->access, s2->naccess, &un), 0);
	cr_assert_eq(auth_access_match(s2->access, 1, &in), -1);
	cr_assert_eq(c->stream->nsetvars, 2);
	cr_assert_eq(s2->nsets, 3);
	cr_assert_eq(s2->sets[0].idx, s2->sets[2].idx);
	cr_assert_eq(s1->nlconn, 1);
	cr_assert_eq(s1->lconn[0].conn, 3);
	cr_assert_not_null(s1->lconn[0].key);
	cr_assert_not_null(s1->lconn[0].zc->zone);
	cr_assert_eq(s2->lconn, s1->lconn);
	cr_assert_eq(s1->lconn_dry_run, 0);
	cr_assert_eq(s2->lconn_dry_run, 1);
	cr_assert_eq(s1->lconn_log_level, LOG_ERR);
	for (const struct stream_map *m = c->stream->maps; m; m = m->next)
		cr_assert(strcmp(m->name, "g") == 0 ? m->m->geo != NULL : m->m->split != NULL);
	cfg_unref(c);
}

/* proxy_upload_rate / proxy_download_rate (sizes, variables, inherited),
 * proxy_bind (address, off, variables, inherited), map values with
 * variables beside their entries, and `set` of a map variable. */
Test(cfg_stream, rate_bind_map_values)
{
	static const char text[] = HEAD
		"stream {\n"
		"  proxy_download_rate 512k; proxy_bind 127.0.0.2;\n"
		"  map $server_port $m { 1 a; 2 127.0.0.1:$remote_port; ~^3 $n; default $n$n; }\n"
		"  map $remote_addr $n { default 1k; }\n"
		"  server { listen 7001; proxy_pass $m; }\n"
		"  server { listen 7002; proxy_pass $m; proxy_upload_rate $n;"
		" proxy_download_rate 0; proxy_bind off; set $m 127.0.0.1:9; }\n"
		"  server { listen 7003; proxy_pass 127.0.0.1:1; proxy_bind $n; }\n"
		"}\n";
	char err[512];
	struct cfg *c = cfgtest_load(&ct, text, err, sizeof(err));
	const struct stream_srv *s1, *s2, *s3;
	const struct stream_map *m, *n;

	cr_assert_not_null(c, "%s", err);
	s1 = c->stream->servers[0], s2 = c->stream->servers[1], s3 = c->stream->servers[2];
	cr_assert_eq(s1->rate[1], 512 * 1024);
	cr_assert_eq(s1->rate[0], 0);
	cr_assert_null(s1->rate_var[0]);
	cr_assert_eq(s2->rate[1], 0);
	cr_assert_not_null(s2->rate_var[0]);
	cr_assert_not_null(s1->bind);
	cr_assert_not(s1->bind->off);
	cr_assert_eq(s1->bind->addr.ss_family, AF_INET);
	cr_assert(s2->bind->off);
	cr_assert_not_null(s3->bind->var);
	for (m = c->stream->maps; m && strcmp(m->name, "m"); m = m->next)
		;
	for (n = c->stream->maps; n && strcmp(n->name, "n"); n = n->next)
		;
	cr_assert_not_null(m);
	cr_assert_not_null(n);
	cr_assert_eq(m->m->nexact, 2);
	cr_assert_null(m->xval[0]);
	cr_assert_not_null(m->xval[1]);
	cr_assert_eq(m->xval[1]->nparts, 2);
	cr_assert_not_null(m->rval[0]);
	cr_assert_eq(m->rval[0]->parts[0].kind, SP_MAP);
	cr_assert_not_null(m->dval);
	cr_assert_eq(m->dval->nparts, 2);
	cr_assert_null(n->dval);
	cr_assert_geq(m->setidx, 0);
	cr_assert_eq(n->setidx, -1);
	cr_assert_eq(s2->sets[0].idx, m->setidx);
	cfg_unref(c);
}

/* every stream map has its own slot in a session's kept values (0..nmaps-1,
 * geo and split_clients too); `volatile` marks one computed at every use */
Test(cfg_stream, map_slots_and_volatile)
{
	static const char text[] = HEAD "stream {\n"
					"  map $remote_addr $a { volatile; default x; }\n"
					"  map $remote_addr $b { default y; }\n"
					"  geo $g { default 1; }\n"
					"  split_clients $remote_addr $s { 50% a; * b; }\n"
					"  server { listen 7001; return $a$b$g$s; }\n"
					"}\n";
	char err[512];
	struct cfg *c = cfgtest_load(&ct, text, err, sizeof(err));
	unsigned seen = 0;

	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(c->stream->nmaps, 4);
	for (const struct stream_map *m = c->stream->maps; m; m = m->next) {
		cr_assert(m->idx >= 0 && m->idx < 4);
		cr_assert_not(seen & (1u << m->idx), "slot %d twice", m->idx);
		seen |= 1u << m->idx;
		cr_assert_eq(m->m->volatile_, strcmp(m->name, "a") == 0, "%s", m->name);
	}
	cfg_unref(c);
}

/* a rate on a server with a TLS leg loads (the copy relay paces it) */
Test(cfg_stream, rate_with_tls_leg)
{
	char err[512];
	struct cfg *c = cfgtest_load(
		&ct,
		HEAD "stream {\n  proxy_download_rate 1m;\n"
		     "  server { listen 7001; proxy_pass 127.0.0.1:1; proxy_ssl on; }\n"
		     "}\n",
		err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(c->stream->servers[0]->rate[1], 1024 * 1024);
	cfg_unref(c);
}
