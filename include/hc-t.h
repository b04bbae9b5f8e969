/* SPDX-License-Identifier: MIT */
/*
 * Active health checks, types: a `match` block (the conditions an http
 * check's response must meet, nginx Plus's ngx_http_upstream_hc_module
 * syntax) and the TLS settings of checks over https. Both belong to the
 * configuration (its pool, its OpenSSL context list); hc.c only reads them.
 */
#ifndef LBD_HC_T_H
#define LBD_HC_T_H

#include <stdbool.h>
#include <stddef.h>

#define HC_MATCH_HEAD_MAX 8192	/* bytes of a response head read with match= */
#define HC_MATCH_BODY_MAX 16384 /* body bytes (decoded) that `body` conditions see */

/* enum hc_cond_kind - what one line of a match block tests. */
enum hc_cond_kind {
	HC_COND_STATUS = 0, /* status [!] CODE|LO-HI ...: the status in one of the ranges */
	HC_COND_HEADER,	    /* header [!] NAME [OP VALUE] */
	HC_COND_BODY,	    /* body ~|!~|~*|!~* REGEX */
};

/* enum hc_hdr_op - the comparison of a header condition. */
enum hc_hdr_op {
	HC_HDR_EXISTS = 0, /* header NAME: some field of that name */
	HC_HDR_ABSENT,	   /* header ! NAME: none */
	HC_HDR_EQ,	   /* = VALUE: some field equal to VALUE (case-sensitive) */
	HC_HDR_NE,	   /* != VALUE: no field equal to VALUE */
	HC_HDR_RE,	   /* ~ REGEX: some field matching */
	HC_HDR_NRE,	   /* !~ REGEX: no field matching */
};

/* struct hc_range - one passing status range, LO <= HI, 100..599. */
struct hc_range {
	int lo, hi;
};

/* struct hc_cond - one line of a match block. */
struct hc_cond {
	enum hc_cond_kind kind;	 /* what it tests */
	bool neg;		 /* status !, body !~: the condition inverted */
	struct hc_range *ranges; /* HC_COND_STATUS: the codes */
	int nranges;		 /* entries in ranges (>= 1) */
	enum hc_hdr_op op;	 /* HC_COND_HEADER: the comparison */
	char *name;		 /* HC_COND_HEADER: field name (compared case-insensitively) */
	char *value;		 /* HC_HDR_EQ/NE: the value */
	void *re;		 /* pcre2_code * (header ~/!~, body), owned by the match */
	int line;		 /* line of the condition, for messages */
};

/* struct hc_match - `match NAME { ... }` of the http block: every
 * condition must hold for a check to pass. */
struct hc_match {
	char *name;	       /* the block's name */
	const char *file;      /* where it was written */
	int line;	       /* its line */
	struct hc_cond *conds; /* the lines, in order */
	int nconds;	       /* entries in conds */
	bool body;	       /* some condition reads the body */
	struct hc_match *next; /* the http block's list (cfg_hc.c) */
};

/* struct hc_tls - how the checks of a group reach servers behind TLS: the
 * settings of the location(s) whose `proxy_pass https://` uses the group. */
struct hc_tls {
	void *ctx;	  /* SSL_CTX * of those locations (owned by the configuration) */
	char *sni;	  /* server name sent (proxy_ssl_server_name on), else NULL */
	char *vname;	  /* name the certificate must match (proxy_ssl_verify on) */
	bool verify;	  /* proxy_ssl_verify on */
	bool reuse;	  /* proxy_ssl_session_reuse on: resume the server's session */
	const char *file; /* the first such location, for messages */
	int line;	  /* its line */
};

#endif
