/* SPDX-License-Identifier: MIT */
/*
 * memcached (memcached_pass), nginx's ngx_http_memcached_module: the
 * request is one text-protocol line, "get KEY\r\n", KEY being
 * $memcached_key with spaces, '%' and control bytes percent-escaped. The
 * answer is "VALUE KEY FLAGS LENGTH\r\n", LENGTH bytes of value, then
 * "\r\nEND\r\n" - or "END\r\n" alone for a miss (404). proxy.c reads the
 * first line (memc_parse_line), puts a made-up HTTP head in its place
 * (memc_head_put: 200 with the value's length, the type of the URI's
 * extension, Content-Encoding: gzip under memcached_gzip_flag) and relays
 * the value as a Content-Length body: streamed, never held whole.
 */
#ifndef LBD_MEMC_H
#define LBD_MEMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lbd.h"
#include "memc-t.h"

struct conn;

/* memc_key_escape - KEY (N bytes) escaped as nginx escapes a memcached key
 * (' ', '%' and bytes below 0x20 as %XX, upper-case hex) into DST, which
 * holds memc_key_escape(NULL, ...) bytes. Returns the escaped length. */
size_t memc_key_escape(char *dst, const char *key, size_t n);

/* memc_build_request - "get KEY\r\n" for C from its location's
 * $memcached_key, in C's pool; *KEY: the escaped key inside it (for the
 * answer's check and the log). 0, -ENOMEM, or -ENOENT when the variable
 * is empty or unset (nginx: 500, "the "$memcached_key" variable is not
 * set"). */
int memc_build_request(struct conn *c, struct lstr *out, struct lstr *key);

/* enum memc_rc - what the answer's first line is. */
enum memc_rc {
	MEMC_MORE = 0,	 /* no LF yet */
	MEMC_HIT,	 /* VALUE: length and gzip set */
	MEMC_MISS,	 /* END: nginx's 404 */
	MEMC_BAD,	 /* "memcached sent invalid response" */
	MEMC_BAD_KEY,	 /* VALUE for another key */
	MEMC_BAD_FLAGS,	 /* flags not a number (under memcached_gzip_flag) */
	MEMC_BAD_LENGTH, /* length not a number */
};

/* struct memc_line - the first line, as memc_parse_line read it. */
struct memc_line {
	size_t len;	  /* its bytes, LF included: the value starts after */
	struct lstr text; /* the line for messages: without CR LF */
	uint64_t length;  /* MEMC_HIT: the value's bytes */
	bool gzip;	  /* MEMC_HIT: flags & memcached_gzip_flag */
};

/* memc_parse_line - the N bytes at P, an answer's start, for KEY (as
 * sent, escaped): as nginx reads it. The flags are read only when
 * GZIP_FLAG is not 0. */
enum memc_rc memc_parse_line(const char *p, size_t n, struct lstr key, unsigned gzip_flag,
			     struct memc_line *out);

/* memc_head_put - the HTTP head standing for an answer at DST (CAP bytes):
 * "HTTP/1.1 200 OK" with Content-Type CTYPE (NULL: none), Content-Length
 * LENGTH and, with GZIP, Content-Encoding: gzip; or, with MISS, a 404 of
 * no body. Returns its length, 0 when CAP is too small. */
size_t memc_head_put(char *dst, size_t cap, bool miss, uint64_t length, const char *ctype,
		     bool gzip);

/* memc_trailer_ok - whether the N bytes at P, read after the value whose
 * trailer's first OFF bytes were already seen, go on "\r\nEND\r\n". */
bool memc_trailer_ok(const char *p, size_t n, size_t off);

#define MEMC_TRAILER_LEN 7 /* "\r\nEND\r\n" */

#endif
