/* SPDX-License-Identifier: MIT */
/*
 * HTTPS upstreams: the client side of TLS for proxy_pass https://, as
 * nginx's ngx_http_upstream_ssl_init_connection and friends do it.
 *
 * After the TCP connect, proxy.c asks upssl_start for a session and drives
 * upssl_handshake from its event callback until it is done; then the
 * request goes through up_io_writev / up_io_recv (upssl.h). The chain is
 * verified after the handshake (never during it), so that a bad
 * certificate gives nginx's "upstream SSL certificate verify error" line,
 * a 502 and the next server, not an anonymous handshake alert.
 *
 * Resumption: each upstream server keeps the last session OpenSSL handed
 * to the context's new-session hook (TLS 1.2 at the end of the handshake,
 * TLS 1.3 with the server's tickets), shared by every worker: a spin lock
 * guards the pointer swap and reference count, never a handshake.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cfg-t.h"
#include "log.h"
#include "ups.h"
#include "upssl.h"
#include "var.h"

/* The SSL ex_data slot holding the upstream server a session belongs to
 * (set only with proxy_ssl_session_reuse on). Made with the first
 * context, while the configuration is built (main thread). */
static int srv_idx = -1;

static void srv_lock(struct ups_server *s)
{
	while (atomic_flag_test_and_set_explicit(&s->tls_lock, memory_order_acquire))
		;
}

static void srv_unlock(struct ups_server *s)
{
	atomic_flag_clear_explicit(&s->tls_lock, memory_order_release);
}

/* new_session - OpenSSL's hook: SESS becomes the server's session to
 * resume (we keep OpenSSL's reference: 1). */
static int new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct ups_server *s = srv_idx >= 0 ? SSL_get_ex_data(ssl, srv_idx) : NULL;
	SSL_SESSION *old;

	if (!s)
		return 0;
	srv_lock(s);
	old = s->tls_session;
	s->tls_session = sess;
	srv_unlock(s);
	SSL_SESSION_free(old);
	return 1;
}

void upssl_ctx_setup(void *vctx)
{
	SSL_CTX *ctx = vctx;

	if (srv_idx < 0)
		srv_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	SSL_CTX_set_session_cache_mode(ctx,
				       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_session);
}

void upssl_session_drop(struct ups_server *s)
{
	SSL_SESSION *old;

	srv_lock(s);
	old = s->tls_session;
	s->tls_session = NULL;
	srv_unlock(s);
	SSL_SESSION_free(old);
}

/* ssl_name - proxy_ssl_name (default $proxy_host) of request C in L, its
 * port stripped as nginx does, NUL-terminated in OUT. 0 or -1 (empty, too
 * long, out of memory). */
static int ssl_name(struct conn *c, const struct cfg_loc *l, char *out, size_t outlen)
{
	struct lstr v;
	const char *p, *e;

	if (l->upssl.name) {
		if (cval_eval(l->upssl.name, c, &v))
			return -1;
	} else {
		/* $proxy_host of the proxy_pass in force (one with variables
		 * is evaluated per request) */
		const struct proxy_pass *pp = c->req.pp ? c->req.pp : l->proxy;

		v.p = pp && pp->host ? pp->host : "";
		v.len = strlen(v.p);
	}
	e = v.p + v.len;
	p = v.p;
	if (v.len && *p == '[') {
		p = memchr(p, ']', v.len);
		if (!p)
			p = v.p;
	}
	p = memchr(p, ':', (size_t)(e - p));
	if (p)
		v.len = (size_t)(p - v.p);
	if (!v.len || v.len >= outlen)
		return -1;
	memcpy(out, v.p, v.len);
	out[v.len] = '\0';
	return 0;
}

/* is_address - NAME is a literal IPv4 address or a [IPv6] one: no SNI
 * for it (RFC 6066), as nginx. */
static bool is_address(const char *name)
{
	struct in_addr a;

	return name[0] == '[' || inet_pton(AF_INET, name, &a) == 1;
}

struct tls_conn *upssl_client_new(void *ctx, int fd, const char *sni, struct ups_server *srv)
{
	struct tls_conn *t = tls_conn_new_client(ctx, fd);
	SSL *ssl;

	if (!t)
		return NULL;
	ssl = tls_conn_ssl(t);
	if (sni && *sni && !is_address(sni) && !SSL_set_tlsext_host_name(ssl, sni))
		ERR_clear_error();
	if (srv) {
		SSL_SESSION *sess;

		SSL_set_ex_data(ssl, srv_idx, srv);
		srv_lock(srv);
		sess = srv->tls_session;
		if (sess)
			SSL_SESSION_up_ref(sess);
		srv_unlock(srv);
		if (sess) {
			if (!SSL_set_session(ssl, sess))
				ERR_clear_error();
			SSL_SESSION_free(sess);
		}
	}
	return t;
}

int upssl_alpn_h2(struct tls_conn *t)
{
	static const unsigned char h2[] = {2, 'h', '2'};

	return SSL_set_alpn_protos(tls_conn_ssl(t), h2, sizeof(h2)) ? -ENOMEM : 0;
}

/* why the last upssl_start of this thread failed ("": out of memory) */
static __thread char start_err[1024];

/* http_eval - tls_eval_fn for a request's connection ARG: a struct cval
 * into the request pool. */
static int http_eval(void *arg, const void *val, const char **p, size_t *len)
{
	struct lstr v;

	if (cval_eval(val, arg, &v))
		return -1;
	*p = v.p;
	*len = v.len;
	return 0;
}

struct tls_conn *upssl_start(struct conn *c, const struct cfg_loc *l, struct ups_server *srv,
			     int fd)
{
	const struct upssl_conf *u = &l->upssl;
	char name[256];
	bool sni = u->server_name == 1 && ssl_name(c, l, name, sizeof(name)) == 0;
	bool dyn = u->cert_val || u->key_val;
	struct tls_conn *t;

	start_err[0] = '\0';
	/* a session made with one request's certificate is not resumed for
	 * another's: each connection shows its own (nginx would resume) */
	t = upssl_client_new(u->ctx, fd, sni ? name : NULL,
			     u->session_reuse == 1 && !dyn ? srv : NULL);
	if (t && dyn &&
	    tls_conn_use_pair(t, http_eval, c, u->cert_val, u->cert, u->key_val, u->key, u->prefix,
			      start_err, sizeof(start_err))) {
		tls_conn_free(t);
		return NULL;
	}
	return t;
}

const char *upssl_start_error(void)
{
	return start_err[0] ? start_err : NULL;
}

/* ssl_errors - ERR = MSG, then OpenSSL's queued errors as nginx prints
 * them, " (SSL: e1 e2)"; empties the queue. */
static void ssl_errors(char *err, size_t errlen, const char *msg)
{
	size_t o = (size_t)snprintf(err, errlen, "%s", msg);
	const char *sep = " (SSL:";
	unsigned long e;

	while ((e = ERR_get_error()) && o + 1 < errlen) {
		char one[256];
		int k;

		ERR_error_string_n(e, one, sizeof(one));
		k = snprintf(err + o, errlen - o, "%s %s", sep, one);
		if (k > 0)
			o = LBD_MIN(o + (size_t)k, errlen - 1);
		sep = "";
	}
	if (*sep == '\0' && o + 1 < errlen)
		snprintf(err + o, errlen - o, ")");
	ERR_clear_error();
}

/* verify - nginx's checks after the handshake with proxy_ssl_verify on:
 * the chain's result, then the certificate against NAME (NULL: none could
 * be made, a mismatch). */
static int verify(SSL *ssl, const char *name, char *err, size_t errlen)
{
	long rc = SSL_get_verify_result(ssl);
	X509 *x;
	int ok;

	if (rc != X509_V_OK) {
		snprintf(err, errlen, "upstream SSL certificate verify error: (%ld:%s)", rc,
			 X509_verify_cert_error_string(rc));
		return -1;
	}
	x = SSL_get1_peer_certificate(ssl);
	if (!x) {
		snprintf(err, errlen, "upstream sent no SSL certificate");
		return -1;
	}
	/* the name as a host name only, as nginx 1.22's ngx_ssl_check_host:
	 * an address is not looked for among the IP SANs */
	ok = name && X509_check_host(x, name, strlen(name), 0, NULL) == 1;
	X509_free(x);
	ERR_clear_error();
	if (!ok) {
		snprintf(err, errlen, "upstream SSL certificate does not match \"%s\"",
			 name ? name : "");
		return -1;
	}
	return 0;
}

bool upssl_idle_ok(struct tls_conn *t, int fd)
{
	SSL *ssl = tls_conn_ssl(t);
	char b;

	if ((SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) || SSL_has_pending(ssl))
		return false;
	return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == -1 &&
	       (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* forget_session - a session that failed verification is not resumed:
 * drop it from its server if it is the one kept there. */
static void forget_session(SSL *ssl)
{
	struct ups_server *s = srv_idx >= 0 ? SSL_get_ex_data(ssl, srv_idx) : NULL;
	SSL_SESSION *mine = SSL_get0_session(ssl), *old = NULL;

	if (!s || !mine)
		return;
	srv_lock(s);
	if (s->tls_session == mine) {
		old = s->tls_session;
		s->tls_session = NULL;
	}
	srv_unlock(s);
	SSL_SESSION_free(old);
}

enum tls_hs upssl_client_handshake(struct tls_conn *t, bool check, const char *name, char *err,
				   size_t errlen)
{
	enum tls_hs hs = tls_handshake(t);

	if (hs == TLS_HS_FAILED) {
		int e = errno;

		if (ERR_peek_error())
			ssl_errors(err, errlen, "SSL_do_handshake() failed");
		else if (e)
			snprintf(err, errlen, "SSL_do_handshake() failed (%d: %s)", e, strerror(e));
		else
			snprintf(err, errlen, "peer closed connection in SSL handshake");
		ERR_clear_error();
		return hs;
	}
	if (hs != TLS_HS_DONE)
		return hs;
	if (check && verify(tls_conn_ssl(t), name, err, errlen)) {
		forget_session(tls_conn_ssl(t));
		return TLS_HS_FAILED;
	}
	return TLS_HS_DONE;
}

enum tls_hs upssl_handshake(struct tls_conn *t, struct conn *c, const struct cfg_loc *l, char *err,
			    size_t errlen)
{
	char name[256];
	bool check = l->upssl.verify == 1;
	bool named = check && ssl_name(c, l, name, sizeof(name)) == 0;

	return upssl_client_handshake(t, check, named ? name : NULL, err, errlen);
}
