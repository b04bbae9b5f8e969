/* SPDX-License-Identifier: MIT */
/*
 * Tests of TLS in stream {} (userspace/cfg_stream_ssl.c, stream_ssl.c):
 * the ssl_* and proxy_ssl* settings merged from the stream level into its
 * servers with nginx's defaults, the contexts built only where a listen
 * says `ssl` or proxy_ssl is on, a bad key failing with its FILE:LINE,
 * the proxy_ssl_name host cut from its port, and the $ssl_* variables of
 * a plain session.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "cfgtest.h"
#include "stream.h"
#include "stream_ssl.h"
#include "tls.h"

static struct cfgtest ct;

static void fini(void)
{
	cfgtest_cleanup(&ct);
}

TestSuite(stream_ssl, .fini = fini);

/* make_cert - a self-signed ECDSA certificate in the test directory (made
 * by a first, empty load). */
static void make_cert(char *crt, char *key, size_t cap)
{
	char cmd[1024], err[256];
	struct cfg *c = cfgtest_load(&ct, "events {}\n", err, sizeof(err));

	if (c)
		cfg_unref(c); /* only its directory is wanted */
	snprintf(crt, cap, "%s/c.crt", ct.dir);
	snprintf(key, cap, "%s/c.key", ct.dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -nodes -days 2 -subj /CN=t.test -newkey ec -pkeyopt "
		 "ec_paramgen_curve:P-256 -keyout %s -out %s >/dev/null 2>&1",
		 key, crt);
	cr_assert_eq(system(cmd), 0, "openssl req");
}

Test(stream_ssl, merge_and_contexts)
{
	char crt[128], key[128], text[2048], err[512];
	struct cfg *c;
	const struct stream_srv *a, *b;

	make_cert(crt, key, sizeof(crt));
	snprintf(text, sizeof(text),
		 "events {}\n"
		 "stream {\n"
		 "  ssl_protocols TLSv1.3;\n"
		 "  ssl_certificate %s; ssl_certificate_key %s;\n"
		 "  proxy_ssl on;\n"
		 "  server { listen 127.0.0.1:1 ssl; ssl_handshake_timeout 5s;"
		 " ssl_session_cache shared:s:1m; proxy_pass 127.0.0.1:2;"
		 " proxy_ssl_server_name on; proxy_ssl_name \"x.$server_port\"; }\n"
		 "  server { listen 127.0.0.1:3; proxy_pass 127.0.0.1:4; proxy_ssl off; }\n"
		 "}\n",
		 crt, key);
	c = cfgtest_load(&ct, text, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	a = c->stream->servers[0];
	b = c->stream->servers[1];
	cr_assert(a->ssl);
	cr_assert_not_null(a->tls.ctx);
	cr_assert_eq(a->tls.protocols, TLS_PROTO_TLSV1_3);
	cr_assert_eq(a->tls.cache, TLS_CACHE_ON);
	cr_assert_eq(a->hs_timeout, 5000);
	cr_assert_eq(a->proxy_ssl, 1);
	cr_assert_not_null(a->upssl.ctx);
	cr_assert_eq(a->upssl.server_name, 1);
	cr_assert_eq(a->upssl.session_reuse, 1, "nginx's default");
	cr_assert_eq(a->upssl.verify, 0);
	cr_assert_not_null(a->ssl_name);
	/* a plain server loads no certificate and builds no context */
	cr_assert(!b->ssl);
	cr_assert_null(b->tls.ctx);
	cr_assert_eq(b->hs_timeout, 60000);
	cr_assert_eq(b->proxy_ssl, 0);
	cr_assert_null(b->upssl.ctx);
	cfg_unref(c);
}

Test(stream_ssl, bad_key_names_its_line)
{
	char crt[128], key[128], text[2048], err[512], want[256];
	struct cfg *c;
	FILE *f;

	make_cert(crt, key, sizeof(crt));
	f = fopen(key, "w");
	cr_assert_not_null(f);
	fputs("not a key\n", f);
	fclose(f);
	snprintf(text, sizeof(text),
		 "events {}\n"
		 "stream {\n"
		 "  server { listen 127.0.0.1:1 ssl; proxy_pass 127.0.0.1:2;\n"
		 "    ssl_certificate %s;\n"
		 "    ssl_certificate_key %s; }\n"
		 "}\n",
		 crt, key);
	c = cfgtest_load(&ct, text, err, sizeof(err));
	cr_assert_null(c);
	snprintf(want, sizeof(want), " in %s:5", ct.path);
	cr_assert(strstr(err, "cannot load certificate key") && strstr(err, want), "%s", err);
}

Test(stream_ssl, certificates_with_variables)
{
	char text[1024], err[512];
	struct cfg *c;
	const struct stream_srv *a;

	snprintf(text, sizeof(text),
		 "events {}\n"
		 "stream {\n"
		 "  map $server_port $who { default c; }\n"
		 "  server { listen 127.0.0.1:1 ssl; proxy_pass 127.0.0.1:2;\n"
		 "    ssl_certificate /x/$ssl_server_name.crt;\n"
		 "    ssl_certificate_key /x/$ssl_server_name.key;\n"
		 "    proxy_ssl on; proxy_ssl_certificate /x/$who.crt;\n"
		 "    proxy_ssl_certificate_key data:$who; }\n"
		 "}\n");
	c = cfgtest_load(&ct, text, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	a = c->stream->servers[0];
	/* nothing read at load time: both sides evaluate per session */
	cr_assert_not_null(a->tls.ctx);
	cr_expect(a->tls.dynamic);
	cr_expect_not_null(a->tls.cert_vals[0]);
	cr_expect_str_eq(a->tls.certs[0], "/x/$ssl_server_name.crt");
	cr_assert_not_null(a->upssl.ctx);
	cr_expect_not_null(a->upssl.cert_val);
	cr_expect_not_null(a->upssl.key_val);
	cfg_unref(c);
}

Test(stream_ssl, unknown_variable_in_certificate)
{
	char text[512], err[512], want[256];
	struct cfg *c;

	snprintf(text, sizeof(text),
		 "events {}\n"
		 "stream {\n"
		 "  server { listen 127.0.0.1:1; proxy_pass 127.0.0.1:2; proxy_ssl on;\n"
		 "    proxy_ssl_certificate /x/$nosuch.crt; proxy_ssl_certificate_key /k; }\n"
		 "}\n");
	c = cfgtest_load(&ct, text, err, sizeof(err));
	cr_assert_null(c);
	snprintf(want, sizeof(want), "unknown \"nosuch\" variable in %s:4", ct.path);
	cr_expect(strstr(err, want), "%s", err);
}

struct host_case {
	char in[32];  /* proxy_ssl_name's value */
	char out[32]; /* the host sent as SNI / checked */
};

ParameterizedTestParameters(stream_ssl, host)
{
	static struct host_case cases[] = {
		{"backend.test", "backend.test"},
		{"backend.test:443", "backend.test"},
		{"127.0.0.1:5432", "127.0.0.1"},
		{"[::1]:443", "[::1]"},
		{"[::1]", "[::1]"},
		{"", ""},
		{"a:", "a"},
	};
	return cr_make_param_array(struct host_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct host_case *hc, stream_ssl, host)
{
	char out[64];

	stream_ssl_host(hc->in, strlen(hc->in), out, sizeof(out));
	cr_assert_str_eq(out, hc->out, "%s", hc->in);
}

Test(stream_ssl, host_cut_to_capacity)
{
	char out[4];

	stream_ssl_host("abcdefgh:1", 10, out, sizeof(out));
	cr_assert_str_eq(out, "abc");
}

Test(stream_ssl, plain_session_variables_not_found)
{
	struct lstr v;

	for (int i = STREAM_SSL_PROTOCOL; i <= STREAM_SSL_ALPN_PROTOCOL; i++)
		cr_assert(!stream_ssl_var(NULL, (enum stream_ssl_var)i, &v));
}

Test(stream_ssl, certificate_key_without_certificate)
{
	char err[512];
	struct cfg *c;
	const struct stream_srv *a;

	/* nginx 1.22 accepts the key alone (not even read) and sends no
	 * certificate */
	c = cfgtest_load(&ct,
			 "events {}\n"
			 "stream {\n"
			 "  server { listen 127.0.0.1:1; proxy_pass 127.0.0.1:2; proxy_ssl on;\n"
			 "    proxy_ssl_certificate_key /nonexistent/$server_port.key; }\n"
			 "}\n",
			 err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	a = c->stream->servers[0];
	cr_assert_not_null(a->upssl.ctx);
	cr_expect_null(a->upssl.key);
	cr_expect_null(a->upssl.key_val);
	cr_expect_null(SSL_CTX_get0_certificate(a->upssl.ctx));
	cfg_unref(c);
}
