/* SPDX-License-Identifier: MIT */
/*
 * TLS in stream {} sessions (see include/stream_ssl.h). The sessions are
 * tls.c's; the upstream side reuses upssl.c (per-server session
 * resumption, verification and nginx's messages), so the stream proxy and
 * the http proxy speak TLS to their upstreams the same way.
 */
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "stream.h"
#include "stream_ssl.h"
#include "tls_client.h"
#include "tls.h"
#include "upssl.h"

struct tls_conn *stream_ssl_accept(const struct stream_srv *srv, int fd, const char *client)
{
	/* stream has no server_name in nginx 1.22: SNI selects nothing */
	return tls_conn_new(&srv->tls, fd, NULL, NULL, client);
}

enum tls_hs stream_ssl_handshake(const struct stream_srv *srv, struct tls_conn *t, uint64_t num,
				 const char *client, const char *server)
{
	enum tls_hs hs = tls_handshake(t);
	int mode = srv->tls.verify_client;
	SSL *ssl;
	long rc;

	if (hs != TLS_HS_DONE || mode <= TLS_VERIFY_OFF)
		return hs;
	/* nginx's ngx_stream_ssl_handler: the verdict ends the session (no
	 * error page to give in stream) */
	ssl = tls_conn_ssl(t);
	rc = SSL_get_verify_result(ssl);
	if (rc != X509_V_OK &&
	    (mode != TLS_VERIFY_OPTIONAL_NO_CA || !tls_client_optional_error(rc))) {
		log_emit(srv->error_log, LOG_INFO,
			 "*%llu client SSL certificate verify error: (%ld:%s) while SSL "
			 "handshaking, client: %s, server: %s",
			 (unsigned long long)num, rc, X509_verify_cert_error_string(rc), client,
			 server);
		SSL_CTX_remove_session(SSL_get_SSL_CTX(ssl), SSL_get0_session(ssl));
		return TLS_HS_FAILED;
	}
	if (mode == TLS_VERIFY_ON && !SSL_get0_peer_certificate(ssl)) {
		log_emit(srv->error_log, LOG_INFO,
			 "*%llu client sent no required SSL certificate while SSL handshaking, "
			 "client: %s, server: %s",
			 (unsigned long long)num, client, server);
		SSL_CTX_remove_session(SSL_get_SSL_CTX(ssl), SSL_get0_session(ssl));
		return TLS_HS_FAILED;
	}
	return TLS_HS_DONE;
}

/* alpn_select - OpenSSL's ALPN hook for a stream server (ARG): its own
 * list decides the order, as nginx's ngx_stream_ssl_alpn_select. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	const struct stream_srv *srv = arg;
	unsigned char *sel;

	(void)ssl;
	if (SSL_select_next_proto(&sel, outlen, srv->alpn, (unsigned int)srv->alpn_len, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

void stream_ssl_ctx_setup(struct stream_srv *srv)
{
	if (srv->alpn)
		SSL_CTX_set_alpn_select_cb(srv->tls.ctx, alpn_select, srv);
	else
		SSL_CTX_set_alpn_select_cb(srv->tls.ctx, NULL, NULL);
}

struct tls_conn *stream_ssl_connect(const struct stream_srv *srv, int fd, struct ups_server *us,
				    const char *name)
{
	const struct upssl_conf *u = &srv->upssl;

	/* not resumed with a certificate chosen by variables (upssl_start) */
	return upssl_client_new(u->ctx, fd, u->server_name == 1 ? name : NULL,
				u->session_reuse == 1 && !u->cert_val && !u->key_val ? us : NULL);
}

enum tls_hs stream_ssl_up_handshake(const struct stream_srv *srv, struct tls_conn *t,
				    const char *name, char *err, size_t errlen)
{
	return upssl_client_handshake(t, srv->upssl.verify == 1, name && *name ? name : NULL, err,
				      errlen);
}

void stream_ssl_host(const char *name, size_t len, char *out, size_t cap)
{
	const char *end = name + len, *p = name, *colon;

	if (len && *p == '[') {
		const char *rb = memchr(p, ']', len);

		p = rb ? rb : name;
	}
	colon = memchr(p, ':', (size_t)(end - p));
	if (colon)
		len = (size_t)(colon - name);
	if (len >= cap)
		len = cap - 1;
	memcpy(out, name, len);
	out[len] = '\0';
}

bool stream_ssl_var(const struct tls_conn *t, enum stream_ssl_var which, struct lstr *out)
{
	const char *v = NULL;

	if (!t)
		return false;
	switch (which) {
	case STREAM_SSL_PROTOCOL:
		v = tls_conn_protocol(t);
		break;
	case STREAM_SSL_CIPHER:
		v = tls_conn_cipher(t);
		break;
	case STREAM_SSL_SERVER_NAME:
		v = tls_conn_server_name(t);
		break;
	case STREAM_SSL_SESSION_REUSED:
		v = SSL_session_reused(tls_conn_ssl(t)) ? "r" : ".";
		break;
	case STREAM_SSL_ALPN_PROTOCOL: {
		const unsigned char *p;
		unsigned int n;

		SSL_get0_alpn_selected(tls_conn_ssl(t), &p, &n);
		if (!n)
			return false;
		out->p = (const char *)p;
		out->len = n;
		return true;
	}
	}
	if (!v || !*v)
		return false;
	out->p = v;
	out->len = strlen(v);
	return true;
}
