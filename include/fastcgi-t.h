/* SPDX-License-Identifier: MIT */
/*
 * FastCGI types (fastcgi.c, cfg_fastcgi.c): the location's fastcgi_*
 * settings that have no proxy_* twin, and the per-connection record
 * decoder state. Types only.
 */
#ifndef LBD_FASTCGI_T_H
#define LBD_FASTCGI_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache-t.h"
#include "store-t.h"
#include "var-t.h"

/* Included by cfg-t.h after struct str_list. */

/* struct fcgi_param - `fastcgi_param NAME VALUE [if_not_empty]`. */
struct fcgi_param {
	char *name;	   /* as written (case kept: php reads it so) */
	size_t namelen;	   /* length of name */
	struct cval value; /* value, evaluated per request */
	bool if_not_empty; /* skipped when the value is empty */
};

struct upbind;

/* struct fcgi_twins - the fastcgi_* (uwsgi_*, scgi_*) directives that
 * have a proxy_* twin: kept apart (nginx's modules inherit each on its
 * own) and copied over the proxy_* fields of a location whose handler is
 * fastcgi_pass (uwsgi_pass, scgi_pass) by cfg_twins_apply, so that proxy.c
 * and cache.c read one set. CFG_UNSET/NULL: unset. Units and meanings as
 * the proxy_* fields of struct cfg_loc. */
struct fcgi_twins {
	int64_t connect_timeout, send_timeout, read_timeout; /* ms */
	int next_upstream;				     /* NU_* bits */
	int next_upstream_tries;
	int64_t next_upstream_timeout; /* ms */
	int buffering, request_buffering;
	int64_t buffer_size;
	int buffers_num;
	int64_t buffers_size, busy_buffers_size, max_temp_file_size, temp_file_write_size;
	struct str_list hide_header, pass_header;
	int intercept_errors, pass_request_headers, pass_request_body, ignore_client_abort;
	int socket_keepalive;
	char *temp_path;     /* fastcgi_temp_path */
	struct upbind *bind; /* fastcgi_bind */
	int64_t limit_rate;  /* fastcgi_limit_rate, bytes/s */
	bool limit_rate_set;
	struct cache_loc cache; /* fastcgi_cache* (cfg_fcache.c); its ignore:
				 * fastcgi_ignore_headers (CACHE_IGN_* bits) */
	/* fastcgi_store, fastcgi_store_access (cfg_store.c) */
	struct store_conf store;
	/* fastcgi_force_ranges (CFG_UNSET) */
	int force_ranges;
};

/* struct fcgi_loc - a level's FastCGI settings (inherited as nginx: a level
 * with any fastcgi_param replaces the outer list whole). */
struct fcgi_loc {
	struct fcgi_param *params; /* in order */
	int nparams;		   /* count */
	bool params_set;	   /* some fastcgi_param at this level */
	bool http_params;	   /* some name starts with "HTTP_": those client
				    * headers are not sent again */
	char *index;		   /* fastcgi_index, NULL unset */
	void *split_re;		   /* fastcgi_split_path_info: pcre2_code *, NULL unset */
	bool split_own;		   /* split_re was compiled at this level (freed here) */
	int keep_conn;		   /* fastcgi_keep_conn on|off (CFG_UNSET) */
	struct fcgi_twins t;	   /* the proxy_* twins, fastcgi_cache* among them */
	/* fastcgi_catch_stderr: a STDERR record holding one before the head
	 * makes the answer a bad one (502) */
	struct str_list catch_stderr;
};

/* enum fcgi_dec_rc - what fcgi_decode found besides stdout bytes. */
enum fcgi_dec_rc {
	FCGI_DEC_BAD_VERSION = -1, /* a record header with version != 1 */
	FCGI_DEC_BAD_TYPE = -2,	   /* a record type no responder sends */
	FCGI_DEC_BAD_ID = -3,	   /* a request id other than ours (1) */
};

/* struct fcgi_dec - the response record decoder: resumable at any byte.
 * Zero it (or fcgi_dec_init) before each response. */
struct fcgi_dec {
	uint8_t hdr[8];	      /* the record header being read */
	uint8_t hlen;	      /* bytes of it read, 8 = in content/padding */
	uint8_t type;	      /* current record's type */
	uint32_t left;	      /* content bytes of the current record still to come */
	uint16_t pad;	      /* padding bytes still to skip */
	bool stdout_end;      /* an empty FCGI_STDOUT record closed the stream */
	bool ended;	      /* FCGI_END_REQUEST read: nothing follows for us */
	uint32_t app_status;  /* END_REQUEST's appStatus */
	uint8_t proto_status; /* END_REQUEST's protocolStatus */
	uint8_t end_body[8];  /* END_REQUEST's body as it comes in */
	uint8_t end_got;      /* bytes of end_body read */
};

/* struct fcgi_send - where the body framing stands (STDIN records): a
 * record header of FCGI_STDIN_REC content bytes at each multiple of it,
 * and the empty record after the last byte. */
struct fcgi_send {
	uint8_t hdr[8]; /* the header being sent */
	uint8_t hoff;	/* bytes of it sent */
	uint8_t hlen;	/* its length: 0 none pending, 8 */
	uint64_t next;	/* body offset of the next header (UINT64_MAX: closed) */
	bool closed;	/* the empty STDIN record is out */
};

#endif
