/* SPDX-License-Identifier: MIT */
/*
 * TLS configuration types: the ssl_* directives of one http or server
 * level as written, merged down http -> server like nginx's
 * ngx_http_ssl_module, and the OpenSSL context built from them when the
 * configuration is loaded. The context (an SSL_CTX *) is opaque here so
 * that configuration headers need no OpenSSL header. Types only.
 */
#ifndef LBD_TLS_T_H
#define LBD_TLS_T_H

#include <stdbool.h>
#include <stdint.h>

/* Protocol bits of ssl_protocols. */
enum tls_proto {
	TLS_PROTO_SSLV2 = 1 << 0, /* accepted as nginx does, never enabled */
	TLS_PROTO_SSLV3 = 1 << 1,
	TLS_PROTO_TLSV1 = 1 << 2,
	TLS_PROTO_TLSV1_1 = 1 << 3,
	TLS_PROTO_TLSV1_2 = 1 << 4,
	TLS_PROTO_TLSV1_3 = 1 << 5,
};

/* Default protocols: safer than nginx 1.22 (which also enables TLSv1 and
 * TLSv1.1); issue 6 asks for TLS 1.2 and 1.3 only without tuning. */
#define TLS_PROTO_DEFAULT (TLS_PROTO_TLSV1_2 | TLS_PROTO_TLSV1_3)

/* Default TLS 1.2 suites: ECDHE key exchange and AEAD ciphers only, so
 * every suite is forward-secret (TLS 1.3 suites always are). */
#define TLS_CIPHERS_DEFAULT                                          \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* enum tls_cache - ssl_session_cache's kinds. */
enum tls_cache {
	TLS_CACHE_OFF = 0, /* `off`: sessions are never reused */
	TLS_CACHE_NONE,	   /* `none` (nginx's default): ids issued, nothing stored */
	TLS_CACHE_ON,	   /* builtin:N and/or shared:NAME:SIZE: one in-process cache */
};

/* enum tls_verify - ssl_verify_client's values. */
enum tls_verify {
	TLS_VERIFY_OFF = 0,	   /* no certificate asked for */
	TLS_VERIFY_ON,		   /* required and verified: 496 without, 495 when bad */
	TLS_VERIFY_OPTIONAL,	   /* asked for; verified when sent */
	TLS_VERIFY_OPTIONAL_NO_CA, /* asked for; not required to chain to a CA */
};

/* struct tls_where - where a directive was written, for messages. */
struct tls_where {
	const char *file; /* configuration file (NULL: command line) */
	int line;	  /* line in it */
};

/* enum tls_ocsp - ssl_ocsp's values. */
enum tls_ocsp {
	TLS_OCSP_OFF = 0, /* client certificates' status not asked */
	TLS_OCSP_ON,	  /* every certificate of the client's chain but the root */
	TLS_OCSP_LEAF,	  /* the client's own certificate only */
};

/* struct tls_ocsp_conf - ssl_stapling_file, ssl_stapling_responder and
 * the ssl_ocsp* directives of one level (ocsp.c, ocsp_client.c). */
struct tls_ocsp_conf {
	char *file;			  /* ssl_stapling_file (DER), NULL = none */
	struct tls_where file_at;	  /* where it was written (for messages) */
	char *stapling_url;		  /* ssl_stapling_responder, NULL = the certificate's */
	struct tls_where stapling_url_at; /* where it was written */
	int mode;			  /* ssl_ocsp, enum tls_ocsp, CFG_UNSET */
	struct tls_where mode_at;	  /* where it was written (for messages) */
	char *url;			  /* ssl_ocsp_responder, NULL = the certificate's */
	struct tls_where url_at;	  /* where it was written (for messages) */
	int64_t cache;			  /* ssl_ocsp_cache bytes, 0 = off, CFG_UNSET */
	char *cache_name;		  /* its shared:NAME */
	struct tls_where cache_at;	  /* where it was written (line 0: inherited) */
};

/* struct tls_conf - the ssl_* settings of one level. Integers use
 * CFG_UNSET and pointers NULL for "unset" until merged; configuration
 * pool memory except ctx. */
/* struct tls_cmds - ssl_conf_command (or proxy_ssl_conf_command) pairs
 * of one level, in order, for OpenSSL's SSL_CONF_cmd. */
struct tls_cmds {
	const char **name;
	const char **value;
	struct tls_where *at; /* where each was written */
	int n;
};

struct tls_conf {
	char **certs;			 /* ssl_certificate paths (absolute), in order */
	struct tls_where *cert_at;	 /* where each was written */
	int ncerts;			 /* count */
	char **keys;			 /* ssl_certificate_key paths, same order */
	struct tls_where *key_at;	 /* where each was written */
	int nkeys;			 /* count */
	void **cert_vals;		 /* per certs[i]: its compiled value with variables
					  * (struct cval *; stream: struct stream_val *),
					  * NULL when fixed (certs[i] is then as written) */
	void **key_vals;		 /* the same per keys[i] */
	bool dynamic;			 /* some pair has variables: every pair of the level
					  * is loaded at each handshake (tls_eval_fn) */
	const char *prefix;		 /* configuration prefix, for relative evaluated paths */
	int protocols;			 /* enum tls_proto bits, or CFG_UNSET */
	struct tls_where protocols_at;	 /* where it was written (for messages) */
	char *ciphers;			 /* ssl_ciphers (TLS 1.2 and below), NULL = unset */
	struct tls_where ciphers_at;	 /* where it was written (for messages) */
	int prefer_server_ciphers;	 /* on/off, CFG_UNSET */
	int cache;			 /* enum tls_cache, or CFG_UNSET */
	int64_t cache_sessions;		 /* cache capacity in sessions (ON) */
	char *cache_zone;		 /* its shared:NAME (one level's own), NULL none */
	struct tls_where cache_zone_at;	 /* where it was written */
	int64_t session_timeout;	 /* ms, CFG_UNSET */
	int session_tickets;		 /* on/off, CFG_UNSET */
	char *dhparam;			 /* ssl_dhparam file, NULL = none */
	struct tls_where dhparam_at;	 /* where it was written (for messages) */
	char *ecdh_curve;		 /* ssl_ecdh_curve list, NULL = unset ("auto") */
	struct tls_where ecdh_curve_at;	 /* where it was written (for messages) */
	int stapling;			 /* ssl_stapling on/off, CFG_UNSET */
	struct tls_where stapling_at;	 /* where it was written (for messages) */
	int stapling_verify;		 /* ssl_stapling_verify on/off, CFG_UNSET */
	struct tls_ocsp_conf ocsp;	 /* stapling file and responder, ssl_ocsp* */
	char *trusted;			 /* ssl_trusted_certificate file, NULL = none */
	struct tls_where trusted_at;	 /* where it was written (for messages) */
	int reject_handshake;		 /* ssl_reject_handshake on/off, CFG_UNSET */
	int64_t buffer_size;		 /* ssl_buffer_size bytes, CFG_UNSET (16k) */
	int early_data;			 /* ssl_early_data on/off (TLS 1.3 0-RTT), CFG_UNSET */
	char *client_ca;		 /* ssl_client_certificate file, NULL = none */
	struct tls_where client_ca_at;	 /* where it was written (for messages) */
	int verify_client;		 /* enum tls_verify, CFG_UNSET */
	struct tls_where verify_at;	 /* where ssl_verify_client was written */
	int verify_depth;		 /* ssl_verify_depth, CFG_UNSET (1) */
	char *crl;			 /* ssl_crl file, NULL = none */
	struct tls_where crl_at;	 /* where it was written (for messages) */
	char *password_file;		 /* ssl_password_file, NULL = none */
	struct tls_where password_at;	 /* where it was written (for messages) */
	char **ticket_keys;		 /* ssl_session_ticket_key files, first encrypts */
	struct tls_where *ticket_key_at; /* where each was written */
	int nticket_keys;		 /* count */
	struct tls_cmds cmds;		 /* ssl_conf_command, applied last */
	bool touched;			 /* some ssl_* directive was written at this level */
	/* SSL_CTX * built from the merged settings (one reference), NULL
	 * when this level has no certificate */
	void *ctx;
};

#endif
