/* SPDX-License-Identifier: MIT */
/*
 * HTTPS upstreams, types: the proxy_ssl_* settings of one http, server or
 * location level (nginx's ngx_http_proxy_module), merged downwards, and
 * the client OpenSSL context built from them where a location proxies to
 * an https:// URL. Integers use CFG_UNSET, pointers NULL for "unset".
 */
#ifndef LBD_UPSSL_T_H
#define LBD_UPSSL_T_H

#include <stdbool.h>

#include "tls-t.h"
#include "var-t.h"

/* struct upssl_conf - proxy_ssl_* of one level. */
struct upssl_conf {
	int server_name;	       /* proxy_ssl_server_name on|off (off): send SNI */
	struct cval *name;	       /* proxy_ssl_name, NULL = $proxy_host */
	int verify;		       /* proxy_ssl_verify on|off (off) */
	int verify_depth;	       /* proxy_ssl_verify_depth (1) */
	char *trusted;		       /* proxy_ssl_trusted_certificate file */
	struct tls_where trusted_at;   /* where it was written */
	int protocols;		       /* enum tls_proto bits (TLSv1.2 TLSv1.3) */
	struct tls_where protocols_at; /* where it was written */
	char *ciphers;		       /* proxy_ssl_ciphers (DEFAULT) */
	struct tls_where ciphers_at;   /* where it was written */
	int session_reuse;	       /* proxy_ssl_session_reuse on|off (on) */
	char *cert;		       /* proxy_ssl_certificate file (client certificate) */
	struct tls_where cert_at;      /* where it was written */
	char *key;		       /* proxy_ssl_certificate_key file */
	struct tls_where key_at;       /* where it was written */
	void *cert_val;		       /* proxy_ssl_certificate with variables: compiled
				       * (struct cval *, stream: struct stream_val *),
				       * evaluated per connection; NULL: fixed */
	void *key_val;		       /* the same for proxy_ssl_certificate_key */
	const char *prefix;	       /* configuration prefix (relative evaluated paths) */
	char *password_file;	       /* proxy_ssl_password_file */
	struct tls_where password_at;  /* where it was written */
	char *crl;		       /* proxy_ssl_crl file */
	struct tls_where crl_at;       /* where it was written */
	struct tls_cmds cmds;	       /* proxy_ssl_conf_command, applied last */
	void *ctx;		       /* SSL_CTX * (a location proxying to https://), shared
				       * between levels with the same settings; owned by
				       * the configuration's list (cfg_upssl.c) */
};

#endif
