/* SPDX-License-Identifier: MIT */
/*
 * HTTPS upstreams, configuration side (cfg_upssl.c, cfg_proxy.c): the
 * proxy_ssl_* defaults and their merge from http to location, https's
 * default port in the implicit group, one client context per distinct
 * set of settings, and the `-t` errors with their FILE:LINE.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cfg.h"
#include "cfgtest.h"
#include "hc-t.h"
#include "log.h"
#include "tls-t.h"
#include "tls.h"
#include "ups-t.h"

static struct cfgtest ct;

static void teardown(void)
{
	cfgtest_cleanup(&ct);
}

#define HEAD "events {}\nhttp {\n"

/* server 0's prefix location I */
static const struct cfg_loc *loc(const struct cfg *c, int i)
{
	return c->http->servers[0]->loc.prefix[i];
}

Test(upssl, defaults_and_merge, .fini = teardown)
{
	char err[512];
	struct cfg *c =
		cfgtest_load(&ct,
			     HEAD "proxy_ssl_server_name on;\n"
				  "server { listen 127.0.0.1:18001;\n"
				  "  proxy_ssl_protocols TLSv1.3;\n"
				  "  location /a/ { proxy_pass https://127.0.0.1:9443; }\n"
				  "  location /b/ { proxy_pass https://127.0.0.1:9443;\n"
				  "    proxy_ssl_session_reuse off; proxy_ssl_server_name off; }\n"
				  "  location /c/ { proxy_pass https://127.0.0.1:9443;\n"
				  "    proxy_ssl_ciphers HIGH; }\n"
				  "  location /d/ { proxy_pass http://127.0.0.1:9080; }\n"
				  "}\n}\n",
			     err, sizeof(err));
	const struct cfg_loc *a = NULL, *b = NULL, *cc = NULL, *d = NULL;

	cr_assert_not_null(c, "%s", err);
	/* prefix locations are sorted longest first; all are 3 bytes long */
	for (int i = 0; i < 4; i++) {
		const struct cfg_loc *l = loc(c, i);

		if (strcmp(l->pattern, "/a/") == 0)
			a = l;
		else if (strcmp(l->pattern, "/b/") == 0)
			b = l;
		else if (strcmp(l->pattern, "/c/") == 0)
			cc = l;
		else
			d = l;
	}
	cr_expect(a->proxy->ssl);
	cr_expect_eq(a->upssl.server_name, 1); /* from http{} */
	cr_expect_eq(a->upssl.verify, 0);
	cr_expect_eq(a->upssl.verify_depth, 1);
	cr_expect_eq(a->upssl.session_reuse, 1);
	cr_expect_eq(a->upssl.protocols, TLS_PROTO_TLSV1_3); /* from server{} */
	cr_expect_str_eq(a->upssl.ciphers, "DEFAULT");
	cr_expect_null(a->upssl.name); /* $proxy_host */
	cr_expect_eq(b->upssl.server_name, 0);
	cr_expect_eq(b->upssl.session_reuse, 0);
	/* same context settings: one context; other ciphers: another */
	cr_expect_not_null(a->upssl.ctx);
	cr_expect_eq(a->upssl.ctx, b->upssl.ctx);
	cr_expect_not_null(cc->upssl.ctx);
	cr_expect_neq(a->upssl.ctx, cc->upssl.ctx);
	/* a plain http:// location builds none */
	cr_expect_not(d->proxy->ssl);
	cr_expect_null(d->upssl.ctx);
	cfg_unref(c);
}

Test(upssl, default_port_443, .fini = teardown)
{
	char err[512];
	struct cfg *c = cfgtest_load(&ct,
				     HEAD "server { listen 127.0.0.1:18001;\n"
					  "  location /s/ { proxy_pass https://127.0.0.1; }\n"
					  "  location /p/ { proxy_pass http://127.0.0.1; }\n"
					  "}\n}\n",
				     err, sizeof(err));
	const struct cfg_loc *s, *p;
	const struct sockaddr_in *in;

	cr_assert_not_null(c, "%s", err);
	s = strcmp(loc(c, 0)->pattern, "/s/") == 0 ? loc(c, 0) : loc(c, 1);
	p = s == loc(c, 0) ? loc(c, 1) : loc(c, 0);
	cr_assert_neq(s->proxy->group, p->proxy->group);
	in = (const struct sockaddr_in *)&s->proxy->group->servers[0].addr;
	cr_expect_eq(ntohs(in->sin_port), 443);
	cr_expect_str_eq(s->proxy->group->servers[0].name, "127.0.0.1:443");
	cr_expect_str_eq(s->proxy->host, "127.0.0.1"); /* Host and $proxy_host */
	in = (const struct sockaddr_in *)&p->proxy->group->servers[0].addr;
	cr_expect_eq(ntohs(in->sin_port), 80);
	cfg_unref(c);
}

/* each case: the location body, the message, and the line it names */
static const struct {
	const char *body;
	const char *msg;
	int line;
} bad[] = {
	{"proxy_pass https://127.0.0.1;\n proxy_ssl_trusted_certificate /nonexistent/ca.pem;\n"
	 " proxy_ssl_verify on;",
	 "SSL_CTX_load_verify_locations(\"/nonexistent/ca.pem\") failed", 5},
	{"proxy_pass https://127.0.0.1;\n proxy_ssl_verify on;",
	 "no proxy_ssl_trusted_certificate for proxy_ssl_verify", 0},
	{"proxy_pass https://127.0.0.1;\n proxy_ssl_certificate /x.crt;",
	 "no \"proxy_ssl_certificate_key\" is defined for certificate \"/x.crt\"", 0},
	{"proxy_pass https://127.0.0.1;\n proxy_ssl_protocols TLSv9;", "invalid value \"TLSv9\"",
	 5},
	{"proxy_pass https://127.0.0.1;\n proxy_ssl_verify_depth x;", "invalid number \"x\"", 5},
	{"proxy_pass https://127.0.0.1;\n proxy_ssl_verify on;\n proxy_ssl_verify off;",
	 "\"proxy_ssl_verify\" directive is duplicate", 6},
	{"proxy_pass https://127.0.0.1;\n proxy_ssl_ciphers NOPE-NOTHING;",
	 "SSL_CTX_set_cipher_list(\"NOPE-NOTHING\") failed", 5},
	/* the other files of proxy_ssl_* are fixed paths */
	{"proxy_pass https://127.0.0.1;\n proxy_ssl_trusted_certificate $x.pem;",
	 "\"proxy_ssl_trusted_certificate\" with variables or \"data:\" is not supported by lbd",
	 5},
	{"proxy_pass https://127.0.0.1;\n proxy_ssl_certificate \"${x\";\n"
	 " proxy_ssl_certificate_key /k;",
	 "the closing bracket in \"x\" variable is missing", 5},
	{"proxy_pass https://127.0.0.1;\n proxy_ssl_certificate $ssl_server_name.crt;",
	 "no \"proxy_ssl_certificate_key\" is defined for certificate \"$ssl_server_name.crt\"", 0},
	{"proxy_pass https://127.0.0.1;\n proxy_ssl_certificate data:nonsense;\n"
	 " proxy_ssl_certificate_key /k;",
	 "cannot load certificate \"data:nonsense\": PEM_read_bio_X509_AUX() failed", 5},
};

Test(upssl, certificate_with_variables, .fini = teardown)
{
	char err[512];
	struct cfg *c = cfgtest_load(
		&ct,
		HEAD "proxy_ssl_certificate $arg_c.crt;\n"
		     "proxy_ssl_certificate_key data:$http_k;\n"
		     "server { listen 127.0.0.1:18001;\n"
		     "  location /a/ { proxy_pass https://127.0.0.1:9443; }\n"
		     "  grpc_ssl_certificate /c/$arg_c; grpc_ssl_certificate_key /c/$arg_c;\n"
		     "  location /g/ { grpc_pass grpcs://127.0.0.1:9443; }\n"
		     "}\n}\n",
		err, sizeof(err));
	const struct upssl_conf *a, *g;

	/* evaluated per connection: the context has no certificate, and
	 * relative names are under the configuration's directory then */
	cr_assert_not_null(c, "%s", err);
	a = strcmp(loc(c, 0)->pattern, "/a/") == 0 ? &loc(c, 0)->upssl : &loc(c, 1)->upssl;
	g = a == &loc(c, 0)->upssl ? &loc(c, 1)->upssl : &loc(c, 0)->upssl;
	cr_assert_not_null(a->ctx);
	cr_expect_not_null(a->cert_val);
	cr_expect_not_null(a->key_val);
	cr_expect_str_eq(a->cert, "$arg_c.crt");
	cr_expect_str_eq(a->key, "data:$http_k");
	cr_expect_str_eq(a->prefix, c->conf_prefix);
	cr_expect_null(SSL_CTX_get0_certificate(a->ctx));
	/* grpc_ssl_* share the code: the same per-connection pair */
	cr_assert_not_null(g->ctx);
	cr_expect_not_null(g->cert_val);
	cr_expect_str_eq(g->cert, "/c/$arg_c");
	cfg_unref(c);
}

Test(upssl, t_errors, .fini = teardown)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[1024], err[1024], at[64];
		struct cfg *c;

		snprintf(text, sizeof(text),
			 HEAD "server { listen 127.0.0.1:18001;\nlocation / { %s }\n}\n}\n",
			 bad[i].body);
		c = cfgtest_load(&ct, text, err, sizeof(err));
		cr_expect_null(c, "case %zu loaded", i);
		if (c)
			cfg_unref(c);
		cr_expect(strstr(err, bad[i].msg) != NULL, "case %zu: %s", i, err);
		if (bad[i].line) {
			snprintf(at, sizeof(at), "nginx.conf:%d", bad[i].line);
			cr_expect(strstr(err, at) != NULL, "case %zu: %s", i, err);
		}
	}
}

Test(upssl, http_health_check_of_an_https_upstream, .fini = teardown)
{
	char err[512];
	const struct hc_tls *ht;
	struct cfg *c = cfgtest_load(
		&ct,
		HEAD "upstream u { server 127.0.0.1:9443; health_check; }\n"
		     "server { listen 127.0.0.1:18001;\n"
		     "  location / { proxy_pass https://u; proxy_ssl_server_name on;\n"
		     "    proxy_ssl_name api.test:8443; proxy_ssl_session_reuse off; }\n"
		     "}\n}\n",
		err, sizeof(err));

	/* the checks follow the location's TLS settings: its context, SNI
	 * (port stripped), no verification, no session reuse */
	cr_assert_not_null(c, "%s", err);
	ht = c->http->upstreams[0]->hc.tls;
	cr_assert_not_null(ht);
	cr_expect_eq(ht->ctx, loc(c, 0)->upssl.ctx);
	cr_expect_str_eq(ht->sni, "api.test");
	cr_expect_null(ht->vname);
	cr_expect(!ht->verify && !ht->reuse);
	cfg_unref(c);
	/* a plain proxy_pass to the same group: the checks cannot speak both */
	c = cfgtest_load(&ct,
			 HEAD "upstream u { server 127.0.0.1:9443; health_check; }\n"
			      "server { listen 127.0.0.1:18001;\n"
			      "  location /a { proxy_pass http://u; }\n"
			      "  location /b { proxy_pass https://u; }\n"
			      "}\n}\n",
			 err, sizeof(err));
	cr_expect_null(c);
	cr_expect(strstr(err, "is used by both \"proxy_pass http://\" and \"proxy_pass "
			      "https://\"") != NULL,
		  "%s", err);
	cr_expect(strstr(err, "nginx.conf:6") != NULL && strstr(err, "nginx.conf:5") != NULL, "%s",
		  err);
	/* two https locations with other settings */
	c = cfgtest_load(&ct,
			 HEAD "upstream u { server 127.0.0.1:9443; health_check; }\n"
			      "server { listen 127.0.0.1:18001;\n"
			      "  location /a { proxy_pass https://u; }\n"
			      "  location /b { proxy_pass https://u; proxy_ssl_server_name on; }\n"
			      "}\n}\n",
			 err, sizeof(err));
	cr_expect_null(c);
	cr_expect(strstr(err, "with other proxy_ssl_* settings in") != NULL, "%s", err);
	/* proxy_ssl_name with variables cannot name a check */
	c = cfgtest_load(&ct,
			 HEAD "upstream u { server 127.0.0.1:9443; health_check; }\n"
			      "server { listen 127.0.0.1:18001;\n"
			      "  location / { proxy_pass https://u; proxy_ssl_name $host; }\n"
			      "}\n}\n",
			 err, sizeof(err));
	cr_expect_null(c);
	cr_expect(strstr(err, "\"proxy_ssl_name\" with variables cannot name the health checks") !=
				  NULL &&
			  strstr(err, "nginx.conf:5") != NULL,
		  "%s", err);
	/* type=tcp needs no TLS settings: both kinds of proxy_pass may use it */
	c = cfgtest_load(&ct,
			 HEAD "upstream u { server 127.0.0.1:9443; health_check type=tcp; }\n"
			      "server { listen 127.0.0.1:18001;\n"
			      "  location /a { proxy_pass http://u; }\n"
			      "  location /b { proxy_pass https://u; }\n"
			      "}\n}\n",
			 err, sizeof(err));
	cr_expect_not_null(c, "%s", err);
	if (c) {
		cr_expect_null(c->http->upstreams[0]->hc.tls);
		cfg_unref(c);
	}
	/* a plain group's checks stay plain */
	c = cfgtest_load(&ct,
			 HEAD "upstream u { server 127.0.0.1:9443; health_check; }\n"
			      "server { listen 127.0.0.1:18001;\n"
			      "  location / { proxy_pass http://u; }\n"
			      "}\n}\n",
			 err, sizeof(err));
	cr_expect_not_null(c, "%s", err);
	if (c) {
		cr_expect_null(c->http->upstreams[0]->hc.tls);
		cfg_unref(c);
	}
}

Test(upssl, certificate_key_without_certificate, .fini = teardown)
{
	static const char *const bodies[] = {
		"proxy_pass https://127.0.0.1:9443; proxy_ssl_certificate_key /nonexistent.key;",
		"grpc_pass grpcs://127.0.0.1:9443; grpc_ssl_certificate_key /nonexistent.key;",
		"uwsgi_pass suwsgi://127.0.0.1:9443; uwsgi_ssl_certificate_key data:$arg_k;",
	};

	/* nginx 1.22 accepts the key alone and sends no certificate: the
	 * key is not even read */
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		char text[1024], err[512];
		struct cfg *c;
		const struct upssl_conf *u;

		snprintf(text, sizeof(text),
			 HEAD "server { listen 127.0.0.1:18001;\nlocation / { %s }\n}\n}\n",
			 bodies[i]);
		c = cfgtest_load(&ct, text, err, sizeof(err));
		cr_assert_not_null(c, "case %zu: %s", i, err);
		u = &loc(c, 0)->upssl;
		cr_assert_not_null(u->ctx, "case %zu", i);
		cr_expect_null(u->cert, "case %zu", i);
		cr_expect_null(u->key, "case %zu", i);
		cr_expect_null(u->key_val, "case %zu", i);
		cr_expect_null(SSL_CTX_get0_certificate(u->ctx), "case %zu", i);
		cfg_unref(c);
	}
}

/* server_ctx - a server context with a fresh self-signed P-256
 * certificate, at most TLS version MAXV. */
static SSL_CTX *server_ctx(int maxv)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	SSL_CTX *s = SSL_CTX_new(TLS_server_method());

	cr_assert(k && x && s);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"t.test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	cr_assert(X509_sign(x, k, EVP_sha256()) > 0);
	cr_assert_eq(SSL_CTX_use_certificate(s, x), 1);
	cr_assert_eq(SSL_CTX_use_PrivateKey(s, k), 1);
	SSL_CTX_set_max_proto_version(s, maxv);
	X509_free(x);
	EVP_PKEY_free(k);
	return s;
}

/* A TLS upstream that sends good bytes, then bad ones (GARBAGE on the raw
 * socket): the client session returns the good bytes, then -1 EPROTO,
 * and tls_conn_error has nginx's text and level. */
struct bad_case {
	int maxv;	      /* the server's highest TLS version */
	char garbage[40];     /* raw bytes after "hello" (arrays: criterion copies the
			       * cases to the test's process, pointers would dangle) */
	size_t glen;	      /* their length */
	char text[160];	      /* tls_conn_error */
	enum log_level level; /* and its level */
};

static struct bad_case bad_cases[] = {
	{TLS1_3_VERSION, "HELLO WORLD\r\n\r\n", 15,
	 "SSL_read() failed (SSL: error:0A00010B:SSL routines::wrong version number)", LOG_ERR},
	{TLS1_3_VERSION, "\x17\x03\x03\x00\x20UUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUU", 37,
	 "SSL_read() failed (SSL: error:0A000119:SSL routines::decryption failed or bad record "
	 "mac)",
	 LOG_ERR},
	/* TLS 1.2: the provider's error comes first, not one nginx blames on
	 * the peer: crit */
	{TLS1_2_VERSION, "\x17\x03\x03\x00\x20UUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUU", 37,
	 "SSL_read() failed (SSL: error:1C800066:Provider routines::cipher operation failed "
	 "error:0A000119:SSL routines::decryption failed or bad record mac)",
	 LOG_CRIT},
};

ParameterizedTestParameters(upssl, bad_records)
{
	return cr_make_param_array(struct bad_case, bad_cases,
				   sizeof(bad_cases) / sizeof(bad_cases[0]));
}

ParameterizedTest(struct bad_case *bc, upssl, bad_records)
{
	SSL_CTX *sctx = server_ctx(bc->maxv), *cctx = SSL_CTX_new(TLS_client_method());
	int fd[2], level = -1;
	struct tls_conn *t;
	SSL *srv;
	char in[64];
	int i;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd), 0);
	t = tls_conn_new_client(cctx, fd[0]);
	srv = SSL_new(sctx);
	cr_assert(t && srv);
	SSL_set_fd(srv, fd[1]);
	SSL_set_accept_state(srv);
	for (i = 0; i < 100; i++) {
		enum tls_hs hs = tls_handshake(t);
		int rc = SSL_do_handshake(srv);

		cr_assert_neq(hs, TLS_HS_FAILED);
		if (hs == TLS_HS_DONE && rc == 1)
			break;
	}
	cr_assert_lt(i, 100, "the handshake did not finish");
	cr_expect_null(tls_conn_error(t, NULL));
	/* good bytes and the bad ones behind them, read in one call */
	cr_assert_eq(SSL_write(srv, "hello", 5), 5);
	cr_assert_eq(write(fd[1], bc->garbage, bc->glen), (ssize_t)bc->glen);
	cr_assert_eq(tls_recv(t, in, sizeof(in)), 5);
	cr_expect_eq(memcmp(in, "hello", 5), 0);
	cr_assert_eq(tls_recv(t, in, sizeof(in)), -1);
	cr_expect_eq(errno, EPROTO);
	cr_assert_not_null(tls_conn_error(t, &level));
	cr_expect_str_eq(tls_conn_error(t, &level), bc->text);
	cr_expect_eq(level, (int)bc->level);
	cr_expect_eq(ERR_peek_error(), 0, "the error queue is left empty");
	tls_conn_free(t);
	SSL_free(srv);
	close(fd[0]);
	close(fd[1]);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
}
