/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, HTTPS upstreams: the proxy_ssl_* directives of
 * nginx's ngx_http_proxy_module (http, server and location levels), their
 * merge with nginx's defaults (lbd's protocols default is safer: TLSv1.2
 * TLSv1.3), and, for every location whose proxy_pass is https://, the
 * client OpenSSL context (tls.c), built once per distinct set of
 * settings so that a bad file fails `lbd -t` with its FILE:LINE (a
 * client certificate with variables is compiled here and loaded for each
 * connection by upssl.c). The table that points here is in cfg.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "cfg.h"
#include "cfg_int.h"
#include "stream.h"
#include "tls.h"
#include "ups.h"
#include "upssl.h"

/* struct upssl_built - one context built, with the settings it has. */
struct upssl_built {
	const struct upssl_conf *conf; /* the first level built with it */
	void *ctx;		       /* SSL_CTX * (one reference, ours) */
	struct upssl_built *next;
};

void cfg_upssl_init(struct upssl_conf *u)
{
	memset(u, 0, sizeof(*u));
	u->server_name = CFG_UNSET;
	u->verify = CFG_UNSET;
	u->verify_depth = CFG_UNSET;
	u->protocols = CFG_UNSET;
	u->session_reuse = CFG_UNSET;
}

void cfg_upssl_merge(struct upssl_conf *u, const struct upssl_conf *p)
{
#define UMERGE(f, def)                           \
	do {                                     \
		if (u->f == CFG_UNSET)           \
			u->f = p ? p->f : (def); \
	} while (0)
#define UMERGE_PTR(f, at)              \
	do {                           \
		if (!u->f && p) {      \
			u->f = p->f;   \
			u->at = p->at; \
		}                      \
	} while (0)
	UMERGE(server_name, 0);
	UMERGE(verify, 0);
	UMERGE(verify_depth, 1);
	if (u->protocols == CFG_UNSET) {
		if (p) {
			u->protocols = p->protocols;
			u->protocols_at = p->protocols_at;
		} else {
			u->protocols = TLS_PROTO_TLSV1_2 | TLS_PROTO_TLSV1_3;
		}
	}
	UMERGE(session_reuse, 1);
	if (!u->name && p)
		u->name = p->name;
	if (!u->cmds.n && p)
		u->cmds = p->cmds;
	UMERGE_PTR(trusted, trusted_at);
	UMERGE_PTR(ciphers, ciphers_at);
	if (!u->ciphers)
		u->ciphers = "DEFAULT";
	/* the certificate and its key are inherited each on its own, as
	 * nginx merges them: a level naming only the key pairs it with an
	 * outer certificate, and the other way round */
	if (!u->cert && p) {
		u->cert = p->cert;
		u->cert_at = p->cert_at;
		u->cert_val = p->cert_val;
	}
	if (!u->key && p) {
		u->key = p->key;
		u->key_at = p->key_at;
		u->key_val = p->key_val;
	}
	if (!u->prefix && p)
		u->prefix = p->prefix;
	UMERGE_PTR(password_file, password_at);
	UMERGE_PTR(crl, crl_at);
#undef UMERGE
#undef UMERGE_PTR
}

/* cfg_set_upssl - every proxy_ssl_* directive but the on|off flags (those
 * go through cfg_set_flag). */
int cfg_set_upssl(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	return cfg_upssl_set(b, n, &s->loc->upssl);
}

int cfg_upssl_set(struct build *b, struct cfg_node *n, struct upssl_conf *u)
{
	return cfg_upssl_set_in(b, n, u, NULL);
}

/* compile_file - the value A of N with variables: *VAL compiled with
 * stream ST's variables, or http's when ST is NULL; fixed text leaves
 * *VAL NULL. 0 or -1 (b->err). */
static int compile_file(struct build *b, struct cfg_node *n, struct cfg_stream *st, const char *a,
			void **val)
{
	if (!strchr(a, '$'))
		return 0;
	if (st) {
		struct stream_val *sv = pool_zalloc(b->pool, sizeof(*sv));

		if (!sv)
			return cfg_fail(b, n, "out of memory");
		if (cfg_stream_compile(b, n, st, a, sv))
			return -1;
		*val = sv;
	} else {
		struct cval *cv = pool_zalloc(b->pool, sizeof(*cv));

		if (!cv)
			return cfg_fail(b, n, "out of memory");
		if (cfg_compile(b, n, a, cv))
			return -1;
		/* "$" alone or "$$" stay literal: nothing to evaluate */
		*val = cv->literal || !cv->nparts ? NULL : cv;
	}
	return 0;
}

int cfg_upssl_set_in(struct build *b, struct cfg_node *n, struct upssl_conf *u,
		     struct cfg_stream *st)
{
	void **val = NULL;
	/* after "proxy_ssl_" (stream's too), "grpc_ssl_" or "uwsgi_ssl_" */
	const char *name = strstr(n->name, "ssl_") + 4;
	const char *a = n->args[0];
	struct tls_where at = {n->file, n->line};
	char **file = NULL;
	struct tls_where *file_at = NULL;

	if (strcmp(name, "conf_command") == 0)
		return cfg_tls_cmd_add(b, n, &u->cmds);
	if (strcmp(name, "name") == 0) {
		if (u->name)
			return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
		u->name = pool_zalloc(b->pool, sizeof(*u->name));
		if (!u->name)
			return cfg_fail(b, n, "out of memory");
		return cfg_compile(b, n, a, u->name);
	}
	if (strcmp(name, "verify_depth") == 0) {
		char *end;
		long v = strtol(a, &end, 10);

		if (u->verify_depth != CFG_UNSET)
			return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
		if (*end || end == a || v < 0 || v > 100)
			return cfg_fail(b, n, "invalid number \"%s\"", a);
		u->verify_depth = (int)v;
		return 0;
	}
	if (strcmp(name, "protocols") == 0) {
		int bits = 0;

		if (u->protocols != CFG_UNSET)
			return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
		for (size_t i = 0; i < n->nargs; i++) {
			int bit = tls_parse_protocol(n->args[i]);

			if (!bit)
				return cfg_fail(b, n, "invalid value \"%s\"", n->args[i]);
			bits |= bit;
		}
		u->protocols = bits;
		u->protocols_at = at;
		return 0;
	}
	if (strcmp(name, "ciphers") == 0) {
		if (u->ciphers)
			return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
		u->ciphers = pool_strdup(b->pool, a);
		u->ciphers_at = at;
		return u->ciphers ? 0 : cfg_fail(b, n, "out of memory");
	}
	if (strcmp(name, "trusted_certificate") == 0)
		file = &u->trusted, file_at = &u->trusted_at;
	else if (strcmp(name, "certificate") == 0)
		file = &u->cert, file_at = &u->cert_at, val = &u->cert_val;
	else if (strcmp(name, "certificate_key") == 0)
		file = &u->key, file_at = &u->key_at, val = &u->key_val;
	else if (strcmp(name, "password_file") == 0)
		file = &u->password_file, file_at = &u->password_at;
	else if (strcmp(name, "crl") == 0)
		file = &u->crl, file_at = &u->crl_at;
	else
		return cfg_fail(b, n, "unknown directive \"%s\"", n->name);
	if (*file)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	/* the certificate and its key: with variables (nginx 1.21.0) or
	 * "data:PEM"; the other files are fixed paths, as in nginx */
	if (!val && (strchr(a, '$') || strncmp(a, "data:", 5) == 0))
		return cfg_fail(b, n, "\"%s\" with variables or \"data:\" is not supported by lbd",
				n->name);
	if (val && compile_file(b, n, st, a, val))
		return -1;
	if (val && *val)
		u->prefix = b->cfg->conf_prefix;
	*file = (val && *val) || strncmp(a, "data:", 5) == 0 ? pool_strdup(b->pool, a)
							     : cfg_conf_path(b, a);
	*file_at = at;
	return *file ? 0 : cfg_fail(b, n, "out of memory");
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* same_ctx - whether contexts built from A and B would be the same. */
static bool same_ctx(const struct upssl_conf *a, const struct upssl_conf *b)
{
	return a->verify == b->verify && a->verify_depth == b->verify_depth &&
	       a->protocols == b->protocols && same_str(a->ciphers, b->ciphers) &&
	       same_str(a->trusted, b->trusted) && same_str(a->cert, b->cert) &&
	       same_str(a->key, b->key) && same_str(a->password_file, b->password_file) &&
	       same_str(a->crl, b->crl) && a->cmds.name == b->cmds.name;
}

/* cfg_upssl_drop_key - a certificate key without its certificate:
 * nginx 1.22 loads a client certificate only when the certificate is
 * given, so the key alone is accepted and unused (no certificate is
 * sent). */
void cfg_upssl_drop_key(struct upssl_conf *u)
{
	u->key = NULL;
	u->key_val = NULL;
}

/* cfg_upssl_check - for location L (merged) proxying to https://: nginx's
 * checks, then its context (shared with an earlier level of the same
 * settings). 0 or -1 with the message in b->err. */
int cfg_upssl_check(struct build *b, struct cfg_loc *l, const struct cfg_node *where)
{
	struct upssl_conf *u = &l->upssl;
	struct cfg_http *h = b->cfg->http;
	struct upssl_built *bt;

	/* (a proxy_pass with variables may name https:// at run time) */
	if (!l->proxy || !(l->proxy->ssl || l->proxy->dynamic) || u->ctx)
		return 0;
	/* grpc_pass, uwsgi_pass: their grpc_ssl_*, uwsgi_ssl_* were copied
	 * here (cfg_grpc_apply, cfg_uwsgi_apply) */
	const char *px = l->proxy->grpc ? "grpc" : l->proxy->uwsgi ? "uwsgi" : "proxy";

	if (u->cert && !u->key)
		return cfg_fail(b, where,
				"no \"%s_ssl_certificate_key\" is defined for certificate \"%s\"",
				px, u->cert);
	if (u->key && !u->cert)
		cfg_upssl_drop_key(u); /* nginx 1.22 accepts it and sends no certificate */
	if (u->verify == 1 && !u->trusted)
		return cfg_fail(b, where, "no %s_ssl_trusted_certificate for %s_ssl_verify", px,
				px);
	for (bt = h->upssl_ctxs; bt; bt = bt->next) {
		if (same_ctx(bt->conf, u)) {
			u->ctx = bt->ctx;
			return 0;
		}
	}
	bt = pool_zalloc(b->pool, sizeof(*bt));
	if (!bt)
		return cfg_fail(b, where, "out of memory");
	if (cfg_upssl_ctx(b, u, &bt->ctx))
		return -1;
	bt->conf = u;
	bt->next = h->upssl_ctxs;
	h->upssl_ctxs = bt;
	u->ctx = bt->ctx;
	return 0;
}

int cfg_upssl_ctx(struct build *b, struct upssl_conf *u, void **ctx)
{
	struct tls_conf t;
	char *certs[1], *keys[1];

	memset(&t, 0, sizeof(t));
	t.protocols = u->protocols;
	t.protocols_at = u->protocols_at;
	t.ciphers = u->ciphers;
	t.ciphers_at = u->ciphers_at;
	t.verify_client = u->verify == 1 ? TLS_VERIFY_ON : TLS_VERIFY_OFF;
	t.verify_depth = u->verify_depth;
	t.trusted = u->trusted;
	t.trusted_at = u->trusted_at;
	t.crl = u->crl;
	t.crl_at = u->crl_at;
	t.password_file = u->password_file;
	t.password_at = u->password_at;
	t.cmds = u->cmds;
	/* a pair with variables is loaded per connection (upssl_start);
	 * the context keeps the passwords for it */
	t.dynamic = u->cert_val || u->key_val;
	if (u->cert && !t.dynamic) {
		certs[0] = u->cert;
		keys[0] = u->key;
		t.certs = certs;
		t.keys = keys;
		t.cert_at = &u->cert_at;
		t.key_at = &u->key_at;
		t.ncerts = t.nkeys = 1;
	}
	if (tls_ctx_build_client(&t, b->err, b->errlen))
		return -1;
	upssl_ctx_setup(t.ctx);
	*ctx = t.ctx;
	return 0;
}

void cfg_upssl_release(struct cfg_http *h)
{
	for (struct upssl_built *bt = h->upssl_ctxs; bt; bt = bt->next) {
		SSL_CTX_free(bt->ctx);
		bt->ctx = NULL;
	}
	h->upssl_ctxs = NULL;
	for (int i = 0; i < h->nupstreams; i++) {
		struct ups_group *g = h->upstreams[i];

		for (int k = 0; g && k < g->nservers; k++)
			upssl_session_drop(&g->servers[k]);
	}
}
