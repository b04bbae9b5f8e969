/* SPDX-License-Identifier: MIT */
/*
 * ssl_early_data (TLS 1.3 0-RTT): the directive's values and messages, the
 * context it builds (early data limit, anti-replay by session cache), and
 * a server session (tls.c) reading a request sent as early data before
 * its handshake completes, answering as 0.5-RTT data, and going on after
 * the client's Finished; early data sent to a server saying `off` is
 * skipped and the handshake completes as 1-RTT. The client is OpenSSL on
 * the other end of a socketpair.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "cfg.h"
#include "lbd.h"
#include "tls.h"

#include "cfgtest.h"

static char certdir[64];

/* certs_setup - CERTDIR/a.crt and a.key: self-signed ECDSA for a.test. */
static void certs_setup(void)
{
	char path[128];
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *nm;
	FILE *f;

	strcpy(certdir, "/tmp/lbd-earlytest-XXXXXX");
	cr_assert_not_null(mkdtemp(certdir));
	cr_assert(pk && x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pk);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"a.test", -1, -1,
				   0);
	X509_set_issuer_name(x, nm);
	cr_assert(X509_sign(x, pk, EVP_sha256()) > 0);
	snprintf(path, sizeof(path), "%s/a.crt", certdir);
	f = fopen(path, "w");
	cr_assert(f && PEM_write_X509(f, x));
	fclose(f);
	snprintf(path, sizeof(path), "%s/a.key", certdir);
	f = fopen(path, "w");
	cr_assert(f && PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static void certs_teardown(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/a.crt", certdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/a.key", certdir);
	unlink(path);
	rmdir(certdir);
}

/* load - one TLS server with the certificate and EXTRA directives. */
static struct cfg *load(struct cfgtest *t, const char *extra, char *err, size_t errlen)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "events {}\nhttp {\nserver {\nlisten 127.0.0.1:1 ssl;\n"
		 "ssl_certificate %1$s/a.crt;\nssl_certificate_key %1$s/a.key;\n%2$s\n}\n}\n",
		 certdir, extra);
	return cfgtest_load(t, text, err, errlen);
}

/* ---- configuration ----------------------------------------------------------- */

struct ctx_case {
	char extra[128];     /* directives of the server */
	uint32_t max_early;  /* the context's early data limit */
	bool anti_replay_on; /* OpenSSL's anti-replay left on */
};

static struct ctx_case ctx_cases[] = {
	{"", 0, true},
	{"ssl_early_data off;", 0, true},
	/* no session cache (nginx's default "none"), or off: replays as nginx */
	{"ssl_early_data on;", 16384, false},
	{"ssl_early_data on;\nssl_session_cache off;", 16384, false},
	/* a cache: single-use tickets in it */
	{"ssl_early_data on;\nssl_session_cache shared:S:1m;", 16384, true},
	{"ssl_early_data on;\nssl_session_cache builtin:100;\nssl_session_tickets off;", 16384,
	 true},
};

ParameterizedTestParameters(tls_early, context)
{
	return cr_make_param_array(struct ctx_case, ctx_cases, ARRAY_SIZE(ctx_cases));
}

ParameterizedTest(struct ctx_case *tc, tls_early, context, .init = certs_setup,
		  .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024];
	struct cfg *c = load(&t, tc->extra, err, sizeof(err));
	SSL_CTX *ctx;

	cr_assert_not_null(c, "%s", err);
	ctx = c->http->servers[0]->tls.ctx;
	cr_assert_not_null(ctx);
	cr_expect_eq(SSL_CTX_get_max_early_data(ctx), tc->max_early, "%s", tc->extra);
	cr_expect_eq(!(SSL_CTX_get_options(ctx) & SSL_OP_NO_ANTI_REPLAY), tc->anti_replay_on, "%s",
		     tc->extra);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(tls_early, inherited_from_http, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024], text[2048];
	struct cfg *c;

	snprintf(text, sizeof(text),
		 "events {}\nhttp {\nssl_early_data on;\nssl_certificate %1$s/a.crt;\n"
		 "ssl_certificate_key %1$s/a.key;\n"
		 "server {\nlisten 127.0.0.1:1 ssl;\n}\n"
		 "server {\nlisten 127.0.0.1:2 ssl;\nssl_early_data off;\n}\n}\n",
		 certdir);
	c = cfgtest_load(&t, text, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(SSL_CTX_get_max_early_data(c->http->servers[0]->tls.ctx), 16384);
	cr_expect_eq(SSL_CTX_get_max_early_data(c->http->servers[1]->tls.ctx), 0);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

struct err_case {
	char extra[96]; /* directives of the server */
	char want[160]; /* the message, before " in FILE:LINE" */
	int line;	/* its line */
};

static struct err_case err_cases[] = {
	{"ssl_early_data maybe;",
	 "invalid value \"maybe\" in \"ssl_early_data\" directive, it must be \"on\" or \"off\"",
	 7},
	{"ssl_early_data on;\nssl_early_data on;", "\"ssl_early_data\" directive is duplicate", 8},
	{"ssl_early_data;", "invalid number of arguments in \"ssl_early_data\" directive", 7},
};

ParameterizedTestParameters(tls_early, errors)
{
	return cr_make_param_array(struct err_case, err_cases, ARRAY_SIZE(err_cases));
}

ParameterizedTest(struct err_case *tc, tls_early, errors, .init = certs_setup,
		  .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024], want[512];
	struct cfg *c = load(&t, tc->extra, err, sizeof(err));

	cr_assert_null(c, "expected an error for %s", tc->extra);
	snprintf(want, sizeof(want), "%s in %s:%d", tc->want, t.path, tc->line);
	cr_expect_str_eq(err, want);
	cfgtest_cleanup(&t);
}

/* ---- sessions over a socketpair ---------------------------------------------- */

/* struct pair - a server session and an OpenSSL client on a non-blocking
 * socketpair. */
struct pair {
	int fd[2];	      /* [0] server, [1] client */
	struct tls_conn *srv; /* server session (tls.c) */
	SSL *cli;	      /* client session */
};

static void pair_open(struct pair *p, const struct cfg *c, SSL_CTX *cctx, SSL_SESSION *sess)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fd), 0);
	p->srv = tls_conn_new(&c->http->servers[0]->tls, p->fd[0], NULL, NULL, "test");
	cr_assert_not_null(p->srv);
	p->cli = SSL_new(cctx);
	SSL_set_fd(p->cli, p->fd[1]);
	SSL_set_tlsext_host_name(p->cli, "a.test");
	if (sess)
		cr_assert_eq(SSL_set_session(p->cli, sess), 1);
	SSL_set_connect_state(p->cli);
}

static void pair_close(struct pair *p)
{
	tls_conn_free(p->srv);
	SSL_shutdown(p->cli);
	SSL_free(p->cli);
	close(p->fd[0]);
	close(p->fd[1]);
}

/* handshake - both sides in turns until both are done. */
static void handshake(struct pair *p)
{
	for (int i = 0; i < 100; i++) {
		enum tls_hs hs = tls_handshake(p->srv);
		int rc = SSL_do_handshake(p->cli);

		cr_assert_neq(hs, TLS_HS_FAILED);
		if (hs == TLS_HS_DONE && rc == 1)
			return;
		cr_assert(rc == 1 || SSL_get_error(p->cli, rc) == SSL_ERROR_WANT_READ);
	}
	cr_assert_fail("the handshake did not finish");
}

/* ticket - a full handshake; the client's session after it read the
 * server's tickets. */
static SSL_SESSION *ticket(const struct cfg *c, SSL_CTX *cctx)
{
	struct pair p;
	SSL_SESSION *s;
	char b;

	pair_open(&p, c, cctx, NULL);
	handshake(&p);
	cr_assert_eq(SSL_read(p.cli, &b, 1), -1); /* takes the tickets in */
	ERR_clear_error();
	s = SSL_get1_session(p.cli);
	cr_assert_not_null(s);
	pair_close(&p);
	return s;
}

static SSL_CTX *client_ctx(void)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());

	cr_assert_not_null(cctx);
	SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION);
	return cctx;
}

static const char req[] = "GET /early HTTP/1.1\r\nHost: a.test\r\n\r\n";

Test(tls_early, request_before_the_handshake_completes, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024], in[256];
	struct cfg *c = load(&t, "ssl_early_data on;", err, sizeof(err));
	SSL_CTX *cctx = client_ctx();
	SSL_SESSION *sess;
	struct pair p;
	size_t w;
	struct iovec iov = {(void *)"answer", 6};

	cr_assert_not_null(c, "%s", err);
	sess = ticket(c, cctx);
	cr_assert_eq(SSL_SESSION_get_max_early_data(sess), 16384);
	pair_open(&p, c, cctx, sess);
	cr_assert_eq(SSL_write_early_data(p.cli, req, sizeof(req) - 1, &w), 1);
	cr_assert_eq(w, sizeof(req) - 1);
	/* the server is "done" as soon as it has early data: the request can
	 * be served now, and $ssl_early_data says so */
	cr_assert_eq(tls_handshake(p.srv), TLS_HS_DONE);
	cr_expect(tls_conn_in_early(p.srv));
	cr_expect_str_eq(tls_conn_protocol(p.srv), "TLSv1.3");
	cr_expect_eq(tls_peek(p.srv, in, 1), 1);
	cr_expect_eq(in[0], 'G');
	cr_assert_eq(tls_recv(p.srv, in, sizeof(in)), (ssize_t)sizeof(req) - 1);
	cr_expect_eq(memcmp(in, req, sizeof(req) - 1), 0);
	cr_expect_eq(tls_recv(p.srv, in, sizeof(in)), -1);
	cr_expect_eq(errno, EAGAIN);
	cr_expect_eq(tls_peek(p.srv, in, 1), -1);
	cr_expect_eq(errno, EAGAIN);
	/* the answer goes out before the client's Finished (0.5-RTT) */
	cr_assert_eq(tls_writev(p.srv, &iov, 1), 6);
	cr_assert_eq(SSL_do_handshake(p.cli), 1);
	cr_expect_eq(SSL_get_early_data_status(p.cli), SSL_EARLY_DATA_ACCEPTED);
	cr_assert_eq(SSL_read(p.cli, in, sizeof(in)), 6);
	cr_expect_eq(memcmp(in, "answer", 6), 0);
	/* the next read takes the end of early data and the Finished */
	cr_expect(tls_conn_in_early(p.srv));
	cr_expect_eq(tls_recv(p.srv, in, sizeof(in)), -1);
	cr_expect_eq(errno, EAGAIN);
	cr_expect(!tls_conn_in_early(p.srv));
	/* and the connection goes on as usual, both ways */
	cr_assert_eq(SSL_write(p.cli, "more", 4), 4);
	cr_assert_eq(tls_recv(p.srv, in, sizeof(in)), 4);
	cr_expect_eq(memcmp(in, "more", 4), 0);
	iov = (struct iovec){(void *)"again", 5};
	cr_assert_eq(tls_writev(p.srv, &iov, 1), 5);
	cr_assert_eq(SSL_read(p.cli, in, sizeof(in)), 5);
	pair_close(&p);
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(tls_early, early_data_and_finished_in_one_read, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024], in[256];
	struct cfg *c = load(&t, "ssl_early_data on;", err, sizeof(err));
	SSL_CTX *cctx = client_ctx();
	SSL_SESSION *sess;
	struct pair p;
	size_t w;

	cr_assert_not_null(c, "%s", err);
	sess = ticket(c, cctx);
	pair_open(&p, c, cctx, sess);
	cr_assert_eq(SSL_write_early_data(p.cli, req, sizeof(req) - 1, &w), 1);
	cr_assert_eq(tls_handshake(p.srv), TLS_HS_DONE);
	/* the client finishes and sends more before the server reads on: one
	 * read returns the early bytes and what followed the handshake */
	cr_assert_eq(SSL_do_handshake(p.cli), 1);
	cr_assert_eq(SSL_write(p.cli, "tail", 4), 4);
	cr_assert_eq(tls_recv(p.srv, in, sizeof(in)), (ssize_t)sizeof(req) - 1 + 4);
	cr_expect_eq(memcmp(in, req, sizeof(req) - 1), 0);
	cr_expect_eq(memcmp(in + sizeof(req) - 1, "tail", 4), 0);
	cr_expect(!tls_conn_in_early(p.srv));
	pair_close(&p);
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(tls_early, single_use_tickets_with_a_cache, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024], in[256];
	struct cfg *c =
		load(&t, "ssl_early_data on;\nssl_session_cache shared:S:1m;", err, sizeof(err));
	SSL_CTX *cctx = client_ctx();
	SSL_SESSION *sess;
	int want[2] = {SSL_EARLY_DATA_ACCEPTED, SSL_EARLY_DATA_REJECTED};

	cr_assert_not_null(c, "%s", err);
	sess = ticket(c, cctx);
	for (int i = 0; i < 2; i++) {
		struct pair p;
		size_t w;

		pair_open(&p, c, cctx, sess);
		cr_assert_eq(SSL_write_early_data(p.cli, req, sizeof(req) - 1, &w), 1);
		handshake(&p);
		cr_expect_eq(SSL_get_early_data_status(p.cli), want[i], "connection %d", i);
		if (want[i] == SSL_EARLY_DATA_REJECTED) {
			/* skipped by the server: the request comes again after */
			cr_expect_eq(tls_recv(p.srv, in, sizeof(in)), -1);
			cr_assert_eq(SSL_write(p.cli, req, sizeof(req) - 1), (int)sizeof(req) - 1);
		}
		cr_expect_eq(tls_recv(p.srv, in, sizeof(in)), (ssize_t)sizeof(req) - 1);
		cr_expect(!tls_conn_in_early(p.srv));
		pair_close(&p);
	}
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(tls_early, off_skips_early_data, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024], in[256];
	struct cfg *on = load(&t, "ssl_early_data on;", err, sizeof(err));
	struct cfgtest t2 = {0};
	struct cfg *off;
	SSL_CTX *cctx = client_ctx();
	SSL_SESSION *sess;
	struct pair p;
	size_t w;

	cr_assert_not_null(on, "%s", err);
	sess = ticket(on, cctx);
	/* a ticket that allows early data, shown to a server saying off
	 * (same context: the session resumes, the early data is skipped) */
	SSL_CTX_set_max_early_data(on->http->servers[0]->tls.ctx, 0);
	pair_open(&p, on, cctx, sess);
	cr_assert_eq(SSL_write_early_data(p.cli, req, sizeof(req) - 1, &w), 1);
	handshake(&p);
	cr_expect_eq(SSL_get_early_data_status(p.cli), SSL_EARLY_DATA_REJECTED);
	cr_expect(SSL_session_reused(p.cli));
	cr_expect(!tls_conn_in_early(p.srv));
	cr_expect_eq(tls_recv(p.srv, in, sizeof(in)), -1);
	cr_assert_eq(SSL_write(p.cli, req, sizeof(req) - 1), (int)sizeof(req) - 1);
	cr_expect_eq(tls_recv(p.srv, in, sizeof(in)), (ssize_t)sizeof(req) - 1);
	pair_close(&p);
	/* and a server built with off sends tickets without early data */
	off = load(&t2, "ssl_early_data off;", err, sizeof(err));
	cr_assert_not_null(off, "%s", err);
	SSL_SESSION_free(sess);
	sess = ticket(off, cctx);
	cr_expect_eq(SSL_SESSION_get_max_early_data(sess), 0);
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);
	cfg_unref(off);
	cfg_unref(on);
	cfgtest_cleanup(&t2);
	cfgtest_cleanup(&t);
}

static void *note_many(void *arg)
{
	for (int i = 0; i < 1000; i++)
		tls_note_request(arg);
	return NULL;
}

Test(tls_early, counters, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024], in[256];
	struct cfg *c =
		load(&t, "ssl_early_data on;\nssl_session_cache shared:S:1m;", err, sizeof(err));
	SSL_CTX *cctx = client_ctx();
	struct tls_early_stats before, after;
	SSL_SESSION *sess;
	struct pair p;
	pthread_t th[2];
	size_t w;

	cr_assert_not_null(c, "%s", err);
	tls_early_stats(&before);
	sess = ticket(c, cctx);
	/* accepted: requests begun while in early data count, on any thread
	 * (each its own slot, summed) */
	pair_open(&p, c, cctx, sess);
	cr_assert_eq(SSL_write_early_data(p.cli, req, sizeof(req) - 1, &w), 1);
	cr_assert_eq(tls_handshake(p.srv), TLS_HS_DONE);
	cr_assert(tls_conn_in_early(p.srv));
	tls_note_request(p.srv);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, note_many, p.srv), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(SSL_do_handshake(p.cli), 1);
	cr_assert_eq(tls_recv(p.srv, in, sizeof(in)), (ssize_t)sizeof(req) - 1);
	cr_expect_eq(tls_recv(p.srv, in, sizeof(in)), -1);
	cr_assert(!tls_conn_in_early(p.srv));
	tls_note_request(p.srv); /* after the handshake: not counted */
	pair_close(&p);
	tls_early_stats(&after);
	cr_expect_eq(after.accepted - before.accepted, 1);
	cr_expect_eq(after.rejected - before.rejected, 0);
	cr_expect_eq(after.requests - before.requests, 2001);
	/* the same ticket again: single use, its early data skipped */
	pair_open(&p, c, cctx, sess);
	cr_assert_eq(SSL_write_early_data(p.cli, req, sizeof(req) - 1, &w), 1);
	handshake(&p);
	cr_expect_eq(SSL_get_early_data_status(p.cli), SSL_EARLY_DATA_REJECTED);
	pair_close(&p);
	/* a full handshake counts nothing */
	pair_open(&p, c, cctx, NULL);
	handshake(&p);
	pair_close(&p);
	tls_early_stats(&after);
	cr_expect_eq(after.accepted - before.accepted, 1);
	cr_expect_eq(after.rejected - before.rejected, 1);
	cr_expect_eq(after.requests - before.requests, 2001);
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}
