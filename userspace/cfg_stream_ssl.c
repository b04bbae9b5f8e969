/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, TLS in stream {}: nginx 1.22's
 * ngx_stream_ssl_module (`listen ... ssl` and the ssl_* directives of the
 * stream and server levels) and the stream proxy's proxy_ssl* directives.
 * The directives share their setters with http's (cfg_tls.c,
 * cfg_upssl.c): cfg_tls_base() answers the stream level's tls_conf while a
 * stream block is read. Once the stream block is complete, every server
 * with a `listen ... ssl` gets its server context and every server with
 * `proxy_ssl on` its client context, so a bad certificate or key fails
 * `lbd -t` (and a reload) with the FILE:LINE of the directive at fault.
 * As in nginx 1.22, stream has no server_name: the server is the one on
 * the address, whatever SNI names (it is only logged, $ssl_server_name).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>

#include "cfg.h"
#include "cfg_int.h"
#include "stream.h"
#include "tls.h"
#include "stream_ssl.h"
#include "ups.h"
#include "upssl.h"

#define SSL_HANDSHAKE_TIMEOUT 60000 /* ms: nginx's ssl_handshake_timeout */

void cfg_stream_ssl_init(struct stream_srv *srv)
{
	cfg_tls_init(&srv->tls);
	cfg_upssl_init(&srv->upssl);
	srv->hs_timeout = CFG_UNSET;
	srv->proxy_ssl = CFG_UNSET;
}

/* cfg_stream_set_alpn - ssl_alpn PROTOCOL...: the list in ALPN's wire
 * format (a length byte before each name). */
int cfg_stream_set_alpn(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct stream_srv *srv = s->ssrv;
	size_t len = 0, o = 0;

	(void)d;
	if (srv->alpn)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	for (size_t i = 0; i < n->nargs; i++) {
		size_t k = strlen(n->args[i]);

		if (k == 0 || k > 255)
			return cfg_fail(b, n, "protocol too long");
		len += k + 1;
	}
	srv->alpn = pool_alloc(b->pool, len);
	if (!srv->alpn)
		return cfg_fail(b, n, "out of memory");
	for (size_t i = 0; i < n->nargs; i++) {
		size_t k = strlen(n->args[i]);

		srv->alpn[o++] = (unsigned char)k;
		memcpy(srv->alpn + o, n->args[i], k);
		o += k;
	}
	srv->alpn_len = len;
	return 0;
}

int cfg_stream_set_proxy_ssl(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d)
{
	struct stream_srv *srv = s->ssrv;

	(void)d;
	if (strcmp(n->name, "proxy_ssl_name") != 0)
		return cfg_upssl_set_in(b, n, &srv->upssl, s->stream);
	if (srv->ssl_name)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	srv->ssl_name = pool_zalloc(b->pool, sizeof(*srv->ssl_name));
	if (!srv->ssl_name)
		return cfg_fail(b, n, "out of memory");
	return cfg_stream_compile(b, n, s->stream, n->args[0], srv->ssl_name);
}

/* client_ctx - the proxy_ssl context of SRV (merged), after nginx's
 * checks. 0 or -1 (b->err). */
static int client_ctx(struct build *b, struct stream_srv *srv)
{
	struct upssl_conf *u = &srv->upssl;
	struct cfg_node where = {.file = srv->file, .line = srv->line};

	if (u->cert && !u->key)
		return cfg_fail(
			b, &where,
			"no \"proxy_ssl_certificate_key\" is defined for certificate \"%s\"",
			u->cert);
	if (u->key && !u->cert)
		cfg_upssl_drop_key(u); /* nginx 1.22 accepts it and sends no certificate */
	if (u->verify == 1 && !u->trusted)
		return cfg_fail(b, &where, "no proxy_ssl_trusted_certificate for proxy_ssl_verify");
	if (cfg_upssl_ctx(b, u, &u->ctx))
		return -1;
	return 0;
}

int cfg_stream_ssl_finish(struct build *b, struct cfg_stream *st)
{
	struct stream_srv *def = &st->defaults;

	if (cfg_tls_merge_build(b, &def->tls, NULL))
		return -1;
	cfg_upssl_merge(&def->upssl, NULL);
	for (int i = 0; i < st->nservers; i++) {
		struct stream_srv *srv = st->servers[i];
		const struct cfg_listen *ssl_at = NULL;

		if (srv->hs_timeout == CFG_UNSET)
			srv->hs_timeout = def->hs_timeout != CFG_UNSET ? def->hs_timeout
								       : SSL_HANDSHAKE_TIMEOUT;
		if (srv->proxy_ssl == CFG_UNSET)
			srv->proxy_ssl = def->proxy_ssl != CFG_UNSET ? def->proxy_ssl : 0;
		if (!srv->ssl_name)
			srv->ssl_name = def->ssl_name;
		if (!srv->alpn) {
			srv->alpn = def->alpn;
			srv->alpn_len = def->alpn_len;
		}
		cfg_upssl_merge(&srv->upssl, &def->upssl);
		for (int k = 0; k < srv->nlistens && !ssl_at; k++)
			if (srv->listens[k].ssl)
				ssl_at = &srv->listens[k];
		srv->ssl = ssl_at != NULL;
		if (srv->ssl) {
			const struct tls_conf *m;

			/* nginx 1.22's stream checks name the listen line */
			m = srv->tls.ncerts || srv->tls.nkeys ? &srv->tls : &def->tls;
			if (!m->ncerts || m->nkeys < m->ncerts) {
				snprintf(
					b->err, b->errlen,
					"no \"%s\" is defined for the \"listen ... ssl\" directive "
					"in %s:%d",
					m->ncerts ? "ssl_certificate_key" : "ssl_certificate",
					ssl_at->file ? ssl_at->file : "command line", ssl_at->line);
				return -1;
			}
			/* only a TLS server loads its certificates, as nginx */
			if (cfg_tls_merge_build(b, &srv->tls, &def->tls))
				return -1;
			stream_ssl_ctx_setup(srv);
		}
		if (srv->proxy_ssl == 1 && client_ctx(b, srv))
			return -1;
	}
	return 0;
}

void cfg_stream_ssl_release(struct cfg_stream *st)
{
	for (int i = 0; i < st->nservers; i++) {
		struct stream_srv *srv = st->servers[i];

		if (!srv)
			continue;
		tls_ctx_release(&srv->tls);
		SSL_CTX_free(srv->upssl.ctx);
		srv->upssl.ctx = NULL;
	}
	tls_ctx_release(&st->defaults.tls);
	for (int i = 0; i < st->ngroups; i++) {
		struct ups_group *g = st->groups[i];

		for (int k = 0; g && k < g->nservers; k++)
			upssl_session_drop(&g->servers[k]);
	}
}
