/* SPDX-License-Identifier: MIT */
/*
 * Response compression types (nginx's gzip, gzip_static and the gzip_*
 * directives of its core module): the settings of one configuration level
 * and what one request holds. The compressor state itself (struct
 * gzip_ctx) is private to gzip.c. Types only.
 */
#ifndef LBD_GZIP_T_H
#define LBD_GZIP_T_H

#include <stdbool.h>
#include <stdint.h>

struct gzip_ctx;

/* gzip_proxied bits, as nginx names them. */
enum gzip_proxied_bits {
	GZ_PROXIED_OFF = 1 << 1,
	GZ_PROXIED_EXPIRED = 1 << 2,
	GZ_PROXIED_NO_CACHE = 1 << 3,
	GZ_PROXIED_NO_STORE = 1 << 4,
	GZ_PROXIED_PRIVATE = 1 << 5,
	GZ_PROXIED_NO_LM = 1 << 6,
	GZ_PROXIED_NO_ETAG = 1 << 7,
	GZ_PROXIED_AUTH = 1 << 8,
	GZ_PROXIED_ANY = 1 << 9,
};

/* gzip_static values. */
enum gzip_static_mode {
	GZ_STATIC_OFF = 0,
	GZ_STATIC_ON,	  /* FILE.gz when the client may take gzip */
	GZ_STATIC_ALWAYS, /* FILE.gz whatever the client says */
};

/* struct gzip_loc - the gzip settings of one http/server/location level.
 * Integers are CFG_UNSET (-1) until merged; the lists come whole from the
 * enclosing level when this level sets none. Configuration pool memory. */
struct gzip_loc {
	int enable;	    /* gzip on|off */
	int comp_level;	    /* 1..9, default 1 */
	int vary;	    /* gzip_vary on|off */
	int proxied;	    /* GZ_PROXIED_* bits; default off */
	int http_version;   /* 10 or 11 (default): older requests are not compressed */
	int64_t min_length; /* bytes; a known Content-Length below it is not compressed */
	int buffers_num;    /* gzip_buffers NUM SIZE: accepted, sizes nothing (see gzip.c) */
	int64_t buffers_size;
	int wbits;	  /* gzip_window SIZE as zlib's windowBits 9..15 (32k: 15) */
	int mem_level;	  /* gzip_hash SIZE as zlib's memLevel 1..9 (64k: 8) */
	int64_t postpone; /* postpone_gzipping SIZE: checked, no effect (see gzip.c) */
	int no_buffer;	  /* gzip_no_buffer on|off: checked, no effect (see gzip.c) */
	int static_mode;  /* enum gzip_static_mode */
	int gunzip;	  /* gunzip on|off (gunzip.c) */
	int gunzip_num;	  /* gunzip_buffers NUM SIZE: NUM*SIZE bytes of output in flight */
	int64_t gunzip_size;

	char **types;	  /* gzip_types, lowercased; text/html always matches */
	int ntypes;	  /* count */
	bool types_any;	  /* gzip_types * */
	bool types_set;	  /* set at this level */
	void **disable;	  /* gzip_disable regexes (pcre2_code *, pool memory) */
	int ndisable;	  /* count */
	int msie6;	  /* gzip_disable msie6 (CFG_UNSET, 0, 1; merged apart from the regexes) */
	bool disable_set; /* set at this level */
};

/* struct gzip_req - what one request holds. Zeroed with the request. */
struct gzip_req {
	struct gzip_ctx *ctx; /* compressing this response's body, NULL otherwise */
	bool encoded;	      /* the head says gzip (also for HEAD, which has no body) */
	bool vary;	      /* nginx's r->gzip_vary: "Vary: Accept-Encoding" is due */
	bool tested;	      /* ok below is computed (nginx's r->gzip_tested) */
	bool ok;	      /* the client may take gzip (nginx's r->gzip_ok) */
	bool chunked;	      /* output is chunk-framed (else close-delimited) */
	uint64_t in, out;     /* bytes in and out of the compressor ($gzip_ratio) */
};

#endif
