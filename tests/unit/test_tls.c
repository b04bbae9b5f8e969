/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of tls.c and cfg_tls.c: the ssl_* directives through the real
 * configuration parser (nginx's messages with FILE:LINE for a missing file,
 * a mismatched key, a bad protocol, cipher list or cache), certbot's
 * options file, and a server session driven over a socketpair against an
 * OpenSSL client: handshake, SNI switching the certificate, and reads and
 * writes keeping the recv/writev/sendfile contracts (a short read means
 * drained, a write retried after EAGAIN with the bytes split differently).
 * Certificates are made here with OpenSSL.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cfg.h"
#include "lbd.h"
#include "tls.h"
#include "tls_vars.h"

#include "cfgtest.h"

/* ---- fixtures: certificates ------------------------------------------------ */

static char certdir[64];

/* A test RSA 2048 key, made once with `openssl genpkey`: Criterion runs
 * each test in its own process, and a new RSA key for each took most of
 * this suite's time (15 s of 17). ECDSA keys are made anew: that is fast. */
static const char rsa_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQC8bsmaUOub3ova\n"
	"+dQUEbJ/1tRD7yQG5Qw4p43WYd/dVxH3wn0zqr4LnHZEfRAFTxI0ZUWcs3A0iwzI\n"
	"jXKx6w2fhaPAdjSeSKJiEyHjWwXvxjBMr0r6JC8RTyPdg7CJKIhvEDrq0BHJo3y9\n"
	"UTFQb+dwOnyEbKADKMjYVRThWt80cZ/cuVDHumUmlUNKUMNMPfivlcyI+qDsMly7\n"
	"/yua0U7x9AwIx7Z3vDvm7w3HocjhiQfbfYkhENtuq1LsrxmJgd4GU6XcpRf+6XJk\n"
	"lXNXgcKufrXFam4dwjy7gTRgcGU9nGG5lUDqH3+78xoR79Qsv4M26GwpmJJfGqrk\n"
	"g5FVLWq/AgMBAAECggEAJVZmiDdkmDwexkMerONc1UwCP3vRTbRxGYDJ8CLwsvEf\n"
	"1FIrcONySOa14JhPZl3mo481nflIUIEFBXBRu8NxrZxTeD1z67FEy94yptRQdtR0\n"
	"mZ1aY/prgSiHWMtRXbw0XJ2AryqPe77zZqgB94hU+b39Elhb1IRuV790JbtV4xQR\n"
	"ZURgf/kqrNigaC8Z00lN359jCOSJ+HlZYvpAy1jd0gSBt+lEK9DB3ETlxJmz1RUm\n"
	"cSrkx5OktEM1paCUPXsrKfCCxxqD9MtXNd8AnRClJ/Q4p8p0r5EIpJmoMv2XM3pP\n"
	"Ap0piU3nWxkIkMTJtbuD/TsZdZd9VJwYDJrPwu18kQKBgQDtZiC/utanJVTp1QWV\n"
	"i9VtidJgmCUNCAndIjkuB/BizW8nmwJ4fCrLhaA8WrvQO8/DDDZuQiDRAYUA8/6r\n"
	"r/Qt4w+HOq/YHyCN9C6vacbr/vrWTfpCav5svHcOR/y2TR1fQ/QlNZiZD1OeaGxE\n"
	"Fm3GjLq1M4f5CEuU0VefD/bmowKBgQDLMnhwKUifkSJwY4WR7Zvk55n4iD4fDIFo\n"
	"xBX0ADdxHN0iovAtNHFuOxaODe3PCUwQrkpWym1ftYAEwbkvPQolh51KINkoEuVl\n"
	"5Mk0h/GZNPzxAujEyw64RLONGw7natkXQkCgkLLjgBoltwzWpsGEqeGRQVoSp3zy\n"
	"VxZpdqtZNQKBgF1b9XMRGgs/fiY7FOgbxsI+GhLMon1+dMqXA9+bVai1W4o6xnz1\n"
	"b6r8EOjLUeLxMqJk8h7oOJmZPGIEklmYZ7GIAvpOVQrsKtRIe/eV5Jm4e5K9tbZa\n"
	"91VxxGxEWRikOPHW+nOLoUhII70/GZypKWCUxXQvIMEJxxduQEQYdiN7AoGAJRHM\n"
	"Dwo5CYM8uSwuzfR/ID9wQ3r3ekqZwTckmiL/+k69uPfowRZ0Kxv0fW3lGIQlsFVb\n"
	"koHTekZuWG/PDOMh2r7m3wMnGrx3xSL74e17EewsyPsy49P3l35RE0kAaw9/E1Mu\n"
	"3xwGxqI0IvVGDlLVsxIa6Jj3ibesf7mLiSnxEJECgYBbo1D9vbTcbV0twVVBJgE8\n"
	"ZnMV5JvEWyC+Wdq46jkOuPqy32zVANafVjPdgOovqTP5Ap3IEdeLWcmmrKFL7tPO\n"
	"TDMocVqkNyw8UaduM5v7YX1DlPFP7KWmCsh+tr2g3p0csN0oSjtGQHOg7GtyLct1\n"
	"HadtzN310FMgQphn2I/1sQ==\n"
	"-----END PRIVATE KEY-----\n";

/* rsa_key - the test RSA key. */
static EVP_PKEY *rsa_key(void)
{
	BIO *b = BIO_new_mem_buf(rsa_key_pem, -1);
	EVP_PKEY *pk = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return pk;
}

/* make_cert - DIR/NAME.crt and DIR/NAME.key: self-signed for CN, ECDSA
 * P-256 or RSA 2048. */
static void make_cert(const char *name, const char *cn, bool rsa)
{
	char path[128];
	EVP_PKEY *pk = rsa ? rsa_key() : EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *nm;
	FILE *f;

	cr_assert(pk && x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(random() & 0x7fffffff));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pk);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, nm);
	cr_assert(X509_sign(x, pk, EVP_sha256()) > 0);
	snprintf(path, sizeof(path), "%s/%s.crt", certdir, name);
	f = fopen(path, "w");
	cr_assert(f && PEM_write_X509(f, x));
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.key", certdir, name);
	f = fopen(path, "w");
	cr_assert(f && PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static void certs_setup(void)
{
	strcpy(certdir, "/tmp/lbd-tlstest-XXXXXX");
	cr_assert_not_null(mkdtemp(certdir));
	make_cert("a", "a.test", false);
	make_cert("b", "b.test", false);
	make_cert("r", "a.test", true);
}

static void certs_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", certdir);
	if (system(cmd) != 0)
		cr_log_warn("cleanup of %s failed", certdir);
}

/* expand - IN with every "@D" replaced by the certificate directory. */
static void expand(char *out, size_t cap, const char *in)
{
	size_t o = 0, dl = strlen(certdir);

	for (; *in && o + dl + 1 < cap; in++) {
		if (in[0] == '@' && in[1] == 'D') {
			memcpy(out + o, certdir, dl);
			o += dl;
			in++;
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

/* conf - a configuration with one TLS server whose body is BODY ("@D" is
 * the certificate directory). Line 4 is the first line of BODY. */
static char *conf(const char *body)
{
	static char text[4096];
	char b[2048];

	expand(b, sizeof(b), body);
	snprintf(text, sizeof(text),
		 "events {}\nhttp {\nserver {\n%s\nlisten 127.0.0.1:1 ssl;\n}\n}\n", b);
	return text;
}

/* ---- configuration errors ------------------------------------------------- */

struct err_case {
	/* Arrays, not pointers: Criterion runs each case in a new process. */
	char body[200];	  /* server body ("@D": the certificate dir) */
	char prefix[200]; /* the message starts so ("@D": the certificate dir) */
	char suffix[64];  /* and ends so, before " in FILE:LINE" */
	int line;	  /* LINE, 0: no location */
};

#define PAIR "ssl_certificate @D/a.crt;\nssl_certificate_key @D/a.key;\n"

static struct err_case err_cases[] = {
	{"ssl_certificate @D/missing.crt;\nssl_certificate_key @D/a.key;",
	 "cannot load certificate \"@D/missing.crt\": BIO_new_file() failed (SSL: ",
	 "no such file)", 4},
	{"ssl_certificate @D/a.crt;\nssl_certificate_key @D/b.key;",
	 "SSL_CTX_use_PrivateKey(\"@D/b.key\") failed (SSL: error:05800074:x509 certificate "
	 "routines::key values mismatch)",
	 "", 5},
	/* an RSA key for an ECDSA certificate: OpenSSL alone would take it */
	{"ssl_certificate @D/a.crt;\nssl_certificate_key @D/r.key;",
	 "SSL_CTX_use_PrivateKey(\"@D/r.key\") failed (SSL: ", "key type mismatch)", 5},
	{"ssl_certificate @D/a.crt;\nssl_certificate_key @D/nokey.key;",
	 "cannot load certificate key \"@D/nokey.key\": BIO_new_file() failed", "", 5},
	{"ssl_certificate @D/a.key;\nssl_certificate_key @D/a.key;",
	 "cannot load certificate \"@D/a.key\": PEM_read_bio_X509_AUX() failed", "", 4},
	{"", "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive", "", 3},
	{"ssl_certificate @D/a.crt;\nssl_certificate_key @D/a.key;\n"
	 "ssl_certificate @D/r.crt;",
	 "no \"ssl_certificate_key\" is defined for certificate \"@D/r.crt\"", "", 6},
	{PAIR "ssl_protocols TLSv1.2 TLSv1.4;", "invalid value \"TLSv1.4\"", "", 6},
	{PAIR "ssl_protocols TLSv1.2;\nssl_protocols TLSv1.3;",
	 "\"ssl_protocols\" directive is duplicate", "", 7},
	{PAIR "ssl_ciphers NOSUCHCIPHER;",
	 "SSL_CTX_set_cipher_list(\"NOSUCHCIPHER\") failed (SSL: ", "no cipher match)", 6},
	{PAIR "ssl_ecdh_curve nosuchcurve;", "SSL_CTX_set1_curves_list(\"nosuchcurve\") failed", "",
	 6},
	{PAIR "ssl_session_cache shared:x;", "invalid session cache \"shared:x\"", "", 6},
	{PAIR "ssl_session_cache shared::1m;", "invalid session cache \"shared::1m\"", "", 6},
	{PAIR "ssl_session_cache builtin:x1;", "invalid session cache \"builtin:x1\"", "", 6},
	{PAIR "ssl_session_cache shared:S:1k;", "session cache \"shared:S:1k\" is too small", "",
	 6},
	{PAIR "ssl_session_cache sometimes;", "invalid session cache \"sometimes\"", "", 6},
	{PAIR "ssl_session_timeout forever;", "\"ssl_session_timeout\" directive invalid value", "",
	 6},
	{PAIR "ssl_session_tickets maybe;",
	 "invalid value \"maybe\" in \"ssl_session_tickets\" directive, it must be \"on\" or "
	 "\"off\"",
	 "", 6},
	{PAIR "ssl_dhparam @D/nodh.pem;", "BIO_new_file(\"@D/nodh.pem\") failed", "", 6},
	{PAIR "ssl_trusted_certificate @D/nosuch.pem;",
	 "SSL_CTX_load_verify_locations(\"@D/nosuch.pem\") failed", "", 6},
	/* pairs with variables: nginx's pairing check names them as written */
	{"ssl_certificate @D/$ssl_server_name.crt;",
	 "no \"ssl_certificate_key\" is defined for certificate \"@D/$ssl_server_name.crt\"", "",
	 4},
	{"ssl_certificate @D/a.crt;\nssl_certificate_key data:$ssl_server_name;\n"
	 "ssl_certificate_key @D/$ssl_server_name.key;",
	 "no \"ssl_certificate\" is defined for key \"@D/$ssl_server_name.key\"", "", 6},
	{"ssl_certificate \"@D/${ssl_server_name.crt\";\nssl_certificate_key @D/a.key;",
	 "the closing bracket in \"ssl_server_name\" variable is missing", "", 4},
	/* a fixed "data:" pair is loaded (and checked) at -t */
	{"ssl_certificate data:nonsense;\nssl_certificate_key @D/a.key;",
	 "cannot load certificate \"data:nonsense\": PEM_read_bio_X509_AUX() failed", "", 4},
	/* ssl_stapling_file: read (and named) only with ssl_stapling on */
	{PAIR "ssl_stapling on;\nssl_stapling_file @D/nosuch.der;",
	 "BIO_new_file(\"@D/nosuch.der\") failed (SSL: ", "no such file)", 7},
	{PAIR "ssl_stapling_file @D/a.crt;\nssl_stapling on;",
	 "d2i_OCSP_RESPONSE_bio(\"@D/a.crt\") failed", "", 6},
	{PAIR "ssl_stapling_file @D/x.der;\nssl_stapling_file @D/y.der;",
	 "\"ssl_stapling_file\" directive is duplicate", "", 7},
	{PAIR "ssl_stapling_responder http://a/;\nssl_stapling_responder http://b/;",
	 "\"ssl_stapling_responder\" directive is duplicate", "", 7},
	{PAIR "ssl_stapling_responder;",
	 "invalid number of arguments in \"ssl_stapling_responder\" directive", "", 6},
	/* ssl_ocsp, ssl_ocsp_responder, ssl_ocsp_cache: nginx 1.22's messages */
	{PAIR "ssl_ocsp maybe;", "invalid value \"maybe\"", "", 6},
	{PAIR "ssl_ocsp on;\nssl_ocsp leaf;", "\"ssl_ocsp\" directive is duplicate", "", 7},
	{PAIR "ssl_ocsp_cache shared:x;", "invalid OCSP cache \"shared:x\"", "", 6},
	{PAIR "ssl_ocsp_cache one:1m;", "invalid OCSP cache \"one:1m\"", "", 6},
	{PAIR "ssl_ocsp_cache shared:x:1k;", "OCSP cache \"shared:x:1k\" is too small", "", 6},
	{PAIR "ssl_ocsp_cache off;\nssl_ocsp_cache off;",
	 "\"ssl_ocsp_cache\" directive is duplicate", "", 7},
	{PAIR "ssl_ocsp_cache shared:x:1m shared:y:1m;",
	 "invalid number of arguments in \"ssl_ocsp_cache\" directive", "", 6},
	{PAIR "ssl_verify_client optional_no_ca;\nssl_ocsp on;",
	 "\"ssl_ocsp\" is incompatible with \"ssl_verify_client optional_no_ca\"", "", 7},
	{PAIR "ssl_client_certificate @D/a.crt;\nssl_verify_client on;\nssl_ocsp on;\n"
	      "ssl_ocsp_responder https://x/;",
	 "invalid URL prefix in OCSP responder \"https://x/\" in \"ssl_ocsp_responder\"", "", 9},
	{PAIR "ssl_client_certificate @D/a.crt;\nssl_verify_client on;\nssl_ocsp on;\n"
	      "ssl_ocsp_responder http://x:99999/;",
	 "invalid port in OCSP responder \"x:99999/\" in \"ssl_ocsp_responder\"", "", 9},
};

ParameterizedTestParameters(tls_cfg, errors)
{
	return cr_make_param_array(struct err_case, err_cases, ARRAY_SIZE(err_cases));
}

ParameterizedTest(struct err_case *tc, tls_cfg, errors, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[2048], prefix[512], suffix[512], where[256];
	struct cfg *c = cfgtest_load(&t, conf(tc->body), err, sizeof(err));
	size_t el = strlen(err), wl;

	cr_assert_null(c, "expected an error for:\n%s", conf(tc->body));
	expand(prefix, sizeof(prefix), tc->prefix);
	cr_expect(strncmp(err, prefix, strlen(prefix)) == 0, "got \"%s\"\nwant \"%s...\"", err,
		  prefix);
	snprintf(where, sizeof(where), " in %s:%d", t.path, tc->line);
	snprintf(suffix, sizeof(suffix), "%s%s", tc->suffix, where);
	wl = strlen(suffix);
	cr_expect(el >= wl && strcmp(err + el - wl, suffix) == 0, "got \"%s\"\nwant \"...%s\"", err,
		  suffix);
	cfgtest_cleanup(&t);
}

/* ---- good configurations -------------------------------------------------- */

/* certbot's /etc/letsencrypt/options-ssl-nginx.conf, verbatim */
static const char certbot_options[] =
	"# This file contains important security parameters. If you modify this file\n"
	"# manually, Certbot will be unable to automatically provide future security\n"
	"# updates. Instead, Certbot will print and log an error message with a path to\n"
	"# the up-to-date file that you will need to refer to when manually updating\n"
	"# this file. Contents are based on https://ssl-config.mozilla.org\n"
	"\n"
	"ssl_session_cache shared:le_nginx_SSL:10m;\n"
	"ssl_session_timeout 1440m;\n"
	"ssl_session_tickets off;\n"
	"\n"
	"ssl_protocols TLSv1.2 TLSv1.3;\n"
	"ssl_prefer_server_ciphers off;\n"
	"\n"
	"ssl_ciphers \"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
	"ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384\";\n";

static const struct cfg_srv *first_server(const struct cfg *c)
{
	cr_assert(c && c->http && c->http->nservers > 0);
	return c->http->servers[0];
}

Test(tls_cfg, certbot_options_load_unchanged, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024], path[128];
	const struct tls_conf *tc;
	struct cfg *c;
	FILE *f;

	snprintf(path, sizeof(path), "%s/options-ssl-nginx.conf", certdir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(certbot_options, f);
	fclose(f);
	c = cfgtest_load(&t, conf(PAIR "include @D/options-ssl-nginx.conf;"), err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	tc = &first_server(c)->tls;
	cr_expect_not_null(tc->ctx);
	cr_expect_eq(tc->cache, TLS_CACHE_ON);
	cr_expect_eq(tc->cache_sessions, 10 * 1024 * 1024 / 256);
	cr_expect_eq(tc->session_timeout, 1440LL * 60000);
	cr_expect_eq(tc->session_tickets, 0);
	cr_expect_eq(tc->protocols, TLS_PROTO_TLSV1_2 | TLS_PROTO_TLSV1_3);
	cr_expect_eq(tc->prefer_server_ciphers, 0);
	cr_expect(strncmp(tc->ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256:", 30) == 0);
	cr_expect(SSL_CTX_get_options(tc->ctx) & SSL_OP_NO_TICKET);
	cr_expect_eq(SSL_CTX_get_session_cache_mode(tc->ctx), SSL_SESS_CACHE_SERVER);
	cr_expect_eq(SSL_CTX_get_timeout(tc->ctx), 1440L * 60);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(tls_cfg, safe_defaults, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024];
	struct cfg *c = cfgtest_load(&t, conf(PAIR), err, sizeof(err));
	const struct tls_conf *tc;
	SSL_CTX *ctx;

	cr_assert_not_null(c, "%s", err);
	tc = &first_server(c)->tls;
	ctx = tc->ctx;
	cr_assert_not_null(ctx);
	cr_expect(c->http->lgroups[0].ssl);
	cr_expect_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	cr_expect_eq(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
	cr_expect(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION);
	cr_expect(SSL_CTX_get_options(ctx) & SSL_OP_NO_COMPRESSION);
	cr_expect(!(SSL_CTX_get_options(ctx) & SSL_OP_NO_TICKET));
	/* nginx's default cache: "none" */
	cr_expect_eq(SSL_CTX_get_session_cache_mode(ctx),
		     SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
	cr_expect_eq(SSL_CTX_get_timeout(ctx), 300);
	/* every TLS 1.2 suite: ECDHE and AEAD */
	STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);

	cr_assert(sk && sk_SSL_CIPHER_num(sk) > 0);
	for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
		const SSL_CIPHER *ci = sk_SSL_CIPHER_value(sk, i);

		if (strcmp(SSL_CIPHER_get_version(ci), "TLSv1.3") == 0)
			continue;
		cr_expect(SSL_CIPHER_is_aead(ci), "%s", SSL_CIPHER_get_name(ci));
		cr_expect_eq(SSL_CIPHER_get_kx_nid(ci), NID_kx_ecdhe, "%s",
			     SSL_CIPHER_get_name(ci));
	}
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(tls_cfg, http_level_settings_inherit, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024], text[2048];
	struct cfg *c;
	const struct cfg_srv *s1, *s2;

	snprintf(text, sizeof(text),
		 "events {}\nhttp {\nssl_certificate %1$s/a.crt;\nssl_certificate_key %1$s/a.key;\n"
		 "ssl_protocols TLSv1.3;\nssl_session_cache builtin:1000;\n"
		 "server {\nlisten 127.0.0.1:1 ssl;\n}\n"
		 "server {\nlisten 127.0.0.1:2 ssl;\nssl_certificate %1$s/b.crt;\n"
		 "ssl_certificate_key %1$s/b.key;\nssl_prefer_server_ciphers on;\n}\n}\n",
		 certdir);
	c = cfgtest_load(&t, text, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	s1 = c->http->servers[0];
	s2 = c->http->servers[1];
	/* nothing at the server level: the http level's context serves */
	cr_expect_eq(s1->tls.ctx, c->http->tls.ctx);
	cr_expect_neq(s2->tls.ctx, c->http->tls.ctx);
	cr_expect_eq(s2->tls.protocols, TLS_PROTO_TLSV1_3);
	cr_expect_eq(s2->tls.cache_sessions, 1000);
	cr_expect_eq(SSL_CTX_get_min_proto_version(s2->tls.ctx), TLS1_3_VERSION);
	cr_expect(SSL_CTX_get_options(s2->tls.ctx) & SSL_OP_CIPHER_SERVER_PREFERENCE);
	cr_expect(!(SSL_CTX_get_options(s1->tls.ctx) & SSL_OP_CIPHER_SERVER_PREFERENCE));
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

/* write_ocsp_der - DIR/NAME: a DER OCSP response ("try later": it parses,
 * which is all ssl_stapling_file asks of it, as nginx). */
static void write_ocsp_der(const char *dir, const char *name)
{
	OCSP_RESPONSE *r = OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, NULL);
	unsigned char *der = NULL;
	int len = r ? i2d_OCSP_RESPONSE(r, &der) : -1;
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	cr_assert(len > 0 && f && fwrite(der, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	OPENSSL_free(der);
	OCSP_RESPONSE_free(r);
}

Test(tls_cfg, stapling_file_and_responder, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024], text[2048], want[256];
	struct cfg *c;
	const struct cfg_srv *s1, *s2;
	int (*cb)(SSL *, void *) = NULL;

	/* relative to the configuration's directory (made on the first load) */
	snprintf(text, sizeof(text), "events {}\nhttp {\n}\n");
	c = cfgtest_load(&t, text, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cfg_unref(c);
	write_ocsp_der(t.dir, "ocsp.der");
	snprintf(text, sizeof(text),
		 "events {}\nhttp {\nssl_stapling_responder http://127.0.0.1:1/ocsp;\n"
		 "ssl_stapling_file ocsp.der;\n"
		 "server {\nlisten 127.0.0.1:1 ssl;\nssl_certificate %1$s/a.crt;\n"
		 "ssl_certificate_key %1$s/a.key;\nssl_stapling on;\n}\n"
		 "server {\nlisten 127.0.0.2:1 ssl;\nssl_certificate %1$s/b.crt;\n"
		 "ssl_certificate_key %1$s/b.key;\nssl_stapling_file nosuch.der;\n}\n}\n",
		 certdir);
	c = cfgtest_load(&t, text, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	s1 = c->http->servers[0];
	s2 = c->http->servers[1];
	snprintf(want, sizeof(want), "%s/ocsp.der", t.dir);
	cr_expect_str_eq(s1->tls.ocsp.file, want);
	cr_expect_str_eq(s1->tls.ocsp.stapling_url, "http://127.0.0.1:1/ocsp");
	cr_expect_eq(s1->tls.ocsp.file_at.line, 4);
	cr_expect_str_eq(s2->tls.ocsp.stapling_url, "http://127.0.0.1:1/ocsp");
	/* the file's answer is stapled: the status callback is installed */
	SSL_CTX_get_tlsext_status_cb((SSL_CTX *)s1->tls.ctx, &cb);
	cr_expect_not_null(cb);
	/* stapling off: the (missing) file is not read, nothing stapled */
	cb = NULL;
	SSL_CTX_get_tlsext_status_cb((SSL_CTX *)s2->tls.ctx, &cb);
	cr_expect_null(cb);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(tls_cfg, ocsp_cache_zone_sizes_agree, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024], text[2048], want[512];
	struct cfg *c;

	snprintf(text, sizeof(text),
		 "events {}\nhttp {\nssl_ocsp_cache shared:one:1m;\n"
		 "server {\nlisten 127.0.0.1:1 ssl;\nssl_certificate %1$s/a.crt;\n"
		 "ssl_certificate_key %1$s/a.key;\nssl_ocsp_cache shared:two:2m;\n}\n"
		 "server {\nlisten 127.0.0.2:1 ssl;\nssl_certificate %1$s/b.crt;\n"
		 "ssl_certificate_key %1$s/b.key;\nssl_ocsp_cache shared:one:2m;\n}\n}\n",
		 certdir);
	c = cfgtest_load(&t, text, err, sizeof(err));
	cr_assert_null(c);
	snprintf(want, sizeof(want),
		 "the size 2097152 of shared memory zone \"one\" conflicts with already declared "
		 "size 1048576 in %s:14",
		 t.path);
	cr_expect_str_eq(err, want);
	cfgtest_cleanup(&t);
}

Test(tls_cfg, ocsp_settings_merge, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024], text[2048];
	struct cfg *c;
	const struct cfg_srv *s1, *s2;

	snprintf(text, sizeof(text),
		 "events {}\nhttp {\nssl_ocsp leaf;\nssl_ocsp_cache shared:one:1m;\n"
		 "ssl_ocsp_responder http://127.0.0.1:1/;\nssl_client_certificate %1$s/a.crt;\n"
		 "ssl_verify_client on;\n"
		 "server {\nlisten 127.0.0.1:1 ssl;\nssl_certificate %1$s/a.crt;\n"
		 "ssl_certificate_key %1$s/a.key;\n}\n"
		 "server {\nlisten 127.0.0.2:1 ssl;\nssl_certificate %1$s/b.crt;\n"
		 "ssl_certificate_key %1$s/b.key;\nssl_ocsp off;\nssl_ocsp_cache off;\n}\n}\n",
		 certdir);
	c = cfgtest_load(&t, text, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	s1 = c->http->servers[0];
	s2 = c->http->servers[1];
	cr_expect_eq(s1->tls.ocsp.mode, TLS_OCSP_LEAF);
	cr_expect_eq(s1->tls.ocsp.cache, 1024 * 1024);
	cr_expect_str_eq(s1->tls.ocsp.cache_name, "one");
	cr_expect_str_eq(s1->tls.ocsp.url, "http://127.0.0.1:1/");
	cr_expect_eq(s2->tls.ocsp.mode, TLS_OCSP_OFF);
	cr_expect_eq(s2->tls.ocsp.cache, 0);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(tls_cfg, ssl_on_one_listen_makes_the_address_tls, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024], text[2048];
	struct cfg *c;

	snprintf(text, sizeof(text),
		 "events {}\nhttp {\n"
		 "server {\nlisten 127.0.0.1:1;\nssl_certificate %1$s/a.crt;\n"
		 "ssl_certificate_key %1$s/a.key;\n}\n"
		 "server {\nlisten 127.0.0.1:1 ssl;\nserver_name b;\nssl_certificate %1$s/b.crt;\n"
		 "ssl_certificate_key %1$s/b.key;\n}\n"
		 "server {\nlisten 127.0.0.1:2;\n}\n}\n",
		 certdir);
	c = cfgtest_load(&t, text, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(c->http->nlgroups, 2);
	cr_expect(c->http->lgroups[0].ssl);
	cr_expect(!c->http->lgroups[1].ssl);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

struct proto_case {
	char name[16]; /* as written */
	int bit;       /* expected enum tls_proto, 0 = refused */
};

static struct proto_case proto_cases[] = {
	{"SSLv2", TLS_PROTO_SSLV2},
	{"SSLv3", TLS_PROTO_SSLV3},
	{"TLSv1", TLS_PROTO_TLSV1},
	{"TLSv1.1", TLS_PROTO_TLSV1_1},
	{"TLSv1.2", TLS_PROTO_TLSV1_2},
	{"tlsv1.3", TLS_PROTO_TLSV1_3},
	{"TLSv1.4", 0},
	{"TLS", 0},
	{"", 0},
};

ParameterizedTestParameters(tls_cfg, protocols)
{
	return cr_make_param_array(struct proto_case, proto_cases, ARRAY_SIZE(proto_cases));
}

ParameterizedTest(struct proto_case *tc, tls_cfg, protocols)
{
	cr_expect_eq(tls_parse_protocol(tc->name), tc->bit, "%s", tc->name);
}

/* ---- sessions over a socketpair ---------------------------------------------- */

/* struct pair - a server session (tls.c) and an OpenSSL client on the
 * two ends of a non-blocking socketpair, driven in turns. */
struct pair {
	struct cfgtest t;     /* the configuration's directory */
	struct cfg *cfg;      /* its generation */
	int fd[2];	      /* [0] server, [1] client */
	struct tls_conn *srv; /* server session */
	SSL_CTX *cctx;	      /* client context */
	SSL *cli;	      /* client session */
	const char *sni_seen; /* what the SNI callback was given */
	char sni_buf[64];     /* its copy */
};

static const struct tls_conf *pick_b(void *arg, const char *name, size_t len)
{
	struct pair *p = arg;
	const struct cfg_http *h = p->cfg->http;

	snprintf(p->sni_buf, sizeof(p->sni_buf), "%.*s", (int)len, name);
	p->sni_seen = p->sni_buf;
	return strcmp(p->sni_buf, "b.test") == 0 ? &h->servers[1]->tls : NULL;
}

static void pair_open(struct pair *p, const char *sni, int sndbuf)
{
	char err[1024], text[2048];

	memset(p, 0, sizeof(*p));
	snprintf(text, sizeof(text),
		 "events {}\nhttp {\n"
		 "server {\nlisten 127.0.0.1:1 ssl;\nssl_certificate %1$s/a.crt;\n"
		 "ssl_certificate_key %1$s/a.key;\n}\n"
		 "server {\nlisten 127.0.0.1:1 ssl;\nserver_name b.test;\n"
		 "ssl_certificate %1$s/b.crt;\nssl_certificate_key %1$s/b.key;\n}\n}\n",
		 certdir);
	p->cfg = cfgtest_load(&p->t, text, err, sizeof(err));
	cr_assert_not_null(p->cfg, "%s", err);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fd), 0);
	if (sndbuf) {
		setsockopt(p->fd[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		setsockopt(p->fd[1], SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
	}
	p->srv = tls_conn_new(&p->cfg->http->servers[0]->tls, p->fd[0], pick_b, p, "test");
	cr_assert_not_null(p->srv);
	p->cctx = SSL_CTX_new(TLS_client_method());
	p->cli = SSL_new(p->cctx);
	SSL_set_fd(p->cli, p->fd[1]);
	if (sni)
		SSL_set_tlsext_host_name(p->cli, sni);
	SSL_set_connect_state(p->cli);
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

static void pair_close(struct pair *p)
{
	tls_conn_free(p->srv);
	SSL_free(p->cli);
	SSL_CTX_free(p->cctx);
	close(p->fd[0]);
	close(p->fd[1]);
	cfg_unref(p->cfg);
	cfgtest_cleanup(&p->t);
}

/* cli_read_all - drain what the client can read now into OUT. */
static size_t cli_read_all(struct pair *p, char *out, size_t cap)
{
	size_t got = 0, n;

	while (got < cap && SSL_read_ex(p->cli, out + got, cap - got, &n) == 1)
		got += n;
	ERR_clear_error();
	return got;
}

static X509 *load_crt(const char *name)
{
	char path[128];
	FILE *f;
	X509 *x;

	snprintf(path, sizeof(path), "%s/%s.crt", certdir, name);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

struct sni_case {
	char sent[32]; /* SNI the client sends, "" = none */
	char seen[32]; /* what the callback gets (lowercased), "" = not called */
	char cert[8];  /* certificate served */
};

static struct sni_case sni_cases[] = {
	{"b.test", "b.test", "b"},
	{"B.Test", "b.test", "b"},
	{"other.test", "other.test", "a"},
	{"", "", "a"},
};

ParameterizedTestParameters(tls_conn, sni)
{
	return cr_make_param_array(struct sni_case, sni_cases, ARRAY_SIZE(sni_cases));
}

ParameterizedTest(struct sni_case *tc, tls_conn, sni, .init = certs_setup, .fini = certs_teardown)
{
	struct pair p;
	X509 *want = load_crt(tc->cert), *got;

	pair_open(&p, tc->sent[0] ? tc->sent : NULL, 0);
	got = SSL_get1_peer_certificate(p.cli);
	cr_assert_not_null(got);
	cr_expect_eq(X509_cmp(got, want), 0, "served the wrong certificate");
	if (tc->seen[0])
		cr_expect_str_eq(p.sni_seen ? p.sni_seen : "(none)", tc->seen);
	else
		cr_expect_null(p.sni_seen);
	cr_expect_str_eq(tls_conn_protocol(p.srv), "TLSv1.3");
	cr_expect_not_null(tls_conn_cipher(p.srv));
	if (tc->sent[0])
		cr_expect_str_eq(tls_conn_server_name(p.srv), tc->sent);
	else
		cr_expect_null(tls_conn_server_name(p.srv));
	X509_free(got);
	X509_free(want);
	pair_close(&p);
}

Test(tls_conn, recv_drains_every_record, .init = certs_setup, .fini = certs_teardown)
{
	struct pair p;
	static char big[3 * 10000], in[65536];
	ssize_t n;

	pair_open(&p, NULL, 0);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	/* three records */
	for (int i = 0; i < 3; i++) {
		size_t w;

		cr_assert_eq(SSL_write_ex(p.cli, big + i * 10000, 10000, &w), 1);
	}
	/* a short count must mean "drained": all three records at once */
	n = tls_recv(p.srv, in, sizeof(in));
	cr_assert_eq(n, (ssize_t)sizeof(big));
	cr_expect_eq(memcmp(in, big, sizeof(big)), 0);
	n = tls_recv(p.srv, in, sizeof(in));
	cr_expect_eq(n, -1);
	cr_expect_eq(errno, EAGAIN);
	/* a buffer smaller than what is there: full, then the rest */
	for (int i = 0; i < 3; i++) {
		size_t w;

		cr_assert_eq(SSL_write_ex(p.cli, big + i * 10000, 10000, &w), 1);
	}
	cr_expect_eq(tls_recv(p.srv, in, 12345), 12345);
	cr_expect_eq(tls_peek(p.srv, in + 12345, 1), 1);
	cr_expect_eq(tls_recv(p.srv, in + 12345, sizeof(in) - 12345), (ssize_t)sizeof(big) - 12345);
	cr_expect_eq(memcmp(in, big, sizeof(big)), 0);
	/* the client's close_notify is an end of stream */
	SSL_shutdown(p.cli);
	cr_expect_eq(tls_recv(p.srv, in, sizeof(in)), 0);
	pair_close(&p);
}

Test(tls_conn, writev_retry_after_eagain, .init = certs_setup, .fini = certs_teardown)
{
	struct pair p;
	enum { TOTAL = 600000 };
	static char src[TOTAL], dst[TOTAL];
	size_t sent = 0, got = 0;
	int rounds = 0, eagains = 0;

	pair_open(&p, NULL, 4096);
	for (size_t i = 0; i < TOTAL; i++)
		src[i] = (char)(i * 13 + 1);
	while (got < TOTAL && rounds++ < 100000) {
		/* the unsent bytes, split differently each round: small pieces
		 * gathered into one record, a big one sent as it is */
		size_t left = TOTAL - sent, a = LBD_MIN(left, (size_t)(rounds % 7) * 3 + 1);
		size_t b = LBD_MIN(left - a, (size_t)(rounds % 5) * 1000);
		struct iovec iov[3] = {
			{src + sent, a}, {src + sent + a, b}, {src + sent + a + b, left - a - b}};
		ssize_t w = left ? tls_writev(p.srv, iov, 3) : 0;

		if (w == -1) {
			cr_assert_eq(errno, EAGAIN);
			eagains++;
		} else {
			sent += (size_t)w;
		}
		got += cli_read_all(&p, dst + got, TOTAL - got);
	}
	cr_assert_eq(got, (size_t)TOTAL);
	cr_expect_gt(eagains, 0, "the socket never filled: the retry path was not tested");
	cr_expect_eq(memcmp(src, dst, TOTAL), 0);
	pair_close(&p);
}

Test(tls_conn, sendfile_sends_the_range, .init = certs_setup, .fini = certs_teardown)
{
	struct pair p;
	enum { SIZE = 100000 };
	static char data[SIZE], dst[SIZE];
	char path[128];
	off_t off = 1000;
	size_t got = 0;
	int fd, rounds = 0;

	for (size_t i = 0; i < SIZE; i++)
		data[i] = (char)(i * 31);
	snprintf(path, sizeof(path), "%s/file.bin", certdir);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	cr_assert(fd >= 0 && write(fd, data, SIZE) == SIZE);
	pair_open(&p, NULL, 4096);
	while (got < SIZE - 2000 && rounds++ < 100000) {
		if (off < SIZE - 1000) {
			ssize_t w = tls_sendfile(p.srv, fd, &off, (size_t)(SIZE - 1000 - off));

			cr_assert(w > 0 || errno == EAGAIN);
		}
		got += cli_read_all(&p, dst + got, SIZE - got);
	}
	cr_assert_eq(got, (size_t)SIZE - 2000);
	cr_expect_eq(off, SIZE - 1000);
	cr_expect_eq(memcmp(dst, data + 1000, SIZE - 2000), 0);
	/* past the end of the file: 0, as sendfile(2) */
	off = SIZE;
	cr_expect_eq(tls_sendfile(p.srv, fd, &off, 10), 0);
	close(fd);
	pair_close(&p);
}

Test(tls_conn, plain_http_is_not_a_handshake)
{
	cr_expect(tls_looks_like_handshake(0x16));
	cr_expect(tls_looks_like_handshake(0x80));
	cr_expect(!tls_looks_like_handshake('G'));
	cr_expect(!tls_looks_like_handshake('P'));
	cr_expect(!tls_looks_like_handshake('\r'));
}

/* nginx's URI-component escape ($ssl_client_escaped_cert): a PEM's "+",
 * "/", "=", space and line ends escaped in upper-case hex, "-" and
 * alphanumerics kept; the counting pass agrees with the writing one. */
/* ---- certificates chosen by variables, data: ------------------------------- */

/* pem_of - the text of @D/NAME into OUT (CAP bytes). */
static void pem_of(const char *name, char *out, size_t cap)
{
	char path[128];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", certdir, name);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	n = fread(out, 1, cap - 1, f);
	fclose(f);
	out[n] = '\0';
}

Test(tls_cfg, certificate_with_variables_loads, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024], want[128];
	/* stapling has no certificate to staple for: no file is read */
	struct cfg *c = cfgtest_load(&t,
				     conf("ssl_certificate @D/$ssl_server_name.crt;\n"
					  "ssl_certificate_key data:$ssl_server_name;\n"
					  "ssl_stapling on;\nssl_stapling_file @D/nosuch.der;"),
				     err, sizeof(err));
	const struct tls_conf *tc;

	cr_assert_not_null(c, "%s", err);
	tc = &first_server(c)->tls;
	cr_assert_not_null(tc->ctx);
	cr_expect(tc->dynamic);
	cr_assert_eq(tc->ncerts, 1);
	cr_expect_not_null(tc->cert_vals[0]);
	cr_expect_not_null(tc->key_vals[0]);
	snprintf(want, sizeof(want), "%s/$ssl_server_name.crt", certdir);
	cr_expect_str_eq(tc->certs[0], want);
	cr_expect_str_eq(tc->keys[0], "data:$ssl_server_name");
	/* nothing loaded now: each handshake loads its own */
	cr_expect_null(SSL_CTX_get0_certificate(tc->ctx));
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(tls_cfg, fixed_data_pair_loads, .init = certs_setup, .fini = certs_teardown)
{
	struct cfgtest t = {0};
	char err[1024], crt[1500], key[600], body[2200];
	struct cfg *c;
	const struct tls_conf *tc;
	X509 *want = load_crt("a");

	pem_of("a.crt", crt, sizeof(crt));
	pem_of("a.key", key, sizeof(key));
	snprintf(body, sizeof(body),
		 "ssl_certificate \"data:%s\";\nssl_certificate_key \"data:%s\";", crt, key);
	c = cfgtest_load(&t, conf(body), err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	tc = &first_server(c)->tls;
	cr_expect(!tc->dynamic);
	cr_assert_not_null(tc->ctx);
	cr_expect_eq(X509_cmp(SSL_CTX_get0_certificate(tc->ctx), want), 0);
	X509_free(want);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

/* struct eval_state - what the fake evaluator answers for a handshake. */
struct eval_state {
	const struct tls_conf *tc; /* the server's settings */
	const char *cert, *key;	   /* values it gives */
	int calls;		   /* times asked */
};

static int fake_eval(void *arg, const void *val, const char **p, size_t *len)
{
	struct eval_state *e = arg;

	e->calls++;
	*p = val == e->tc->cert_vals[0] ? e->cert : e->key;
	*len = strlen(*p);
	return 0;
}

/* dyn_handshake - a server with ssl_certificate by variables, handshaking
 * with a client that sends SNI b.test; E answers the evaluation. Returns
 * the served certificate (NULL: the handshake failed). */
static X509 *dyn_handshake(struct eval_state *e)
{
	struct cfgtest t = {0};
	char err[1024];
	struct cfg *c = cfgtest_load(&t,
				     conf("ssl_certificate @D/$ssl_server_name.crt;\n"
					  "ssl_certificate_key @D/$ssl_server_name.key;"),
				     err, sizeof(err));
	struct tls_conn *srv;
	SSL_CTX *cctx;
	SSL *cli;
	X509 *got = NULL;
	int fd[2];

	cr_assert_not_null(c, "%s", err);
	e->tc = &first_server(c)->tls;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd), 0);
	srv = tls_conn_new(e->tc, fd[0], NULL, NULL, "test");
	cr_assert_not_null(srv);
	tls_conn_set_eval(srv, fake_eval, e);
	cctx = SSL_CTX_new(TLS_client_method());
	cli = SSL_new(cctx);
	SSL_set_fd(cli, fd[1]);
	SSL_set_tlsext_host_name(cli, "b.test");
	SSL_set_connect_state(cli);
	for (int i = 0; i < 100; i++) {
		enum tls_hs hs = tls_handshake(srv);
		int rc = SSL_do_handshake(cli);

		if (hs == TLS_HS_FAILED)
			break;
		if (hs == TLS_HS_DONE && rc == 1) {
			got = SSL_get1_peer_certificate(cli);
			break;
		}
	}
	ERR_clear_error();
	tls_conn_free(srv);
	SSL_free(cli);
	SSL_CTX_free(cctx);
	close(fd[0]);
	close(fd[1]);
	cfg_unref(c);
	cfgtest_cleanup(&t);
	return got;
}

Test(tls_conn, certificate_by_variables, .init = certs_setup, .fini = certs_teardown)
{
	char crt[128], key[128], pem[1500], data[1600];
	struct eval_state e = {.cert = crt, .key = key};
	X509 *want = load_crt("b"), *got;

	/* the evaluated names are loaded during the handshake */
	snprintf(crt, sizeof(crt), "%s/b.crt", certdir);
	snprintf(key, sizeof(key), "%s/b.key", certdir);
	got = dyn_handshake(&e);
	cr_assert_not_null(got, "the handshake failed");
	cr_expect_eq(X509_cmp(got, want), 0, "served the wrong certificate");
	cr_expect_eq(e.calls, 2);
	X509_free(got);
	/* "data:" values are the PEM text */
	pem_of("b.crt", pem, sizeof(pem));
	snprintf(data, sizeof(data), "data:%s", pem);
	e = (struct eval_state){.cert = data, .key = key};
	got = dyn_handshake(&e);
	cr_assert_not_null(got, "the handshake failed");
	cr_expect_eq(X509_cmp(got, want), 0, "served the wrong certificate");
	X509_free(got);
	/* a missing file or a key of another certificate fails that one */
	snprintf(crt, sizeof(crt), "%s/missing.crt", certdir);
	e = (struct eval_state){.cert = crt, .key = key};
	cr_expect_null(dyn_handshake(&e));
	snprintf(crt, sizeof(crt), "%s/a.crt", certdir);
	e = (struct eval_state){.cert = crt, .key = key};
	cr_expect_null(dyn_handshake(&e));
	/* a ".." a variable brought in is refused (the configured text has
	 * none), even where it would name a good file */
	snprintf(crt, sizeof(crt), "%s/../%s/b.crt", certdir, strrchr(certdir, '/') + 1);
	e = (struct eval_state){.cert = crt, .key = key};
	cr_expect_null(dyn_handshake(&e));
	X509_free(want);
}

Test(tls_vars, escape_component)
{
	static const char *in = "-----BEGIN CERTIFICATE-----\nAb+/9=\n";
	static const char *want = "-----BEGIN%20CERTIFICATE-----%0AAb%2B%2F9%3D%0A";
	char out[128];
	size_t n = tls_escape_component((const unsigned char *)in, strlen(in), NULL);

	cr_assert_eq(n, strlen(want));
	cr_assert_eq(tls_escape_component((const unsigned char *)in, strlen(in), out), n);
	out[n] = '\0';
	cr_expect_str_eq(out, want);
	/* the rest of nginx's set, and bytes it keeps */
	n = tls_escape_component((const unsigned char *)"a.b_c~d!*'()\x7f\xc3", 14, out);
	out[n] = '\0';
	cr_expect_str_eq(out, "a.b_c~d%21%2A%27%28%29%7F%C3");
}
