/* SPDX-License-Identifier: MIT */
/*
 * Body recoding as nginx's charset filter does it: the tables of one
 * `charset_map` (single-byte <-> single-byte, single-byte <-> UTF-8), built
 * once at configuration time, and a streaming recoder whose state is a few
 * bytes (a UTF-8 sequence cut between two reads). Pure: no I/O, no
 * allocation after the tables are built.
 */
#ifndef LBD_RECODE_H
#define LBD_RECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pool;

#define RECODE_UTF_LEN	4  /* longest UTF-8 sequence nginx decodes */
#define RECODE_UNIT_MAX 10 /* most bytes one input character becomes: "&#1114111;" */
/* RECODE_GROWTH - output bytes per input byte at most (a 2-byte UTF-8
 * sequence as "&#2047;" is 3.5); the first character of a call may add
 * RECODE_UNIT_MAX more (it completes a sequence held from the last call). */
#define RECODE_GROWTH 4

enum recode_kind {
	RECODE_SB = 1,	  /* single-byte to single-byte: one byte for one */
	RECODE_TO_UTF8,	  /* single-byte to UTF-8: 1..3 bytes for one */
	RECODE_FROM_UTF8, /* UTF-8 to single-byte: unmapped as "&#N;", invalid as "?" */
};

/* struct recode_table - one direction of a charset_map. */
struct recode_table {
	enum recode_kind kind;
	uint8_t *sb;	 /* RECODE_SB: 256 bytes, byte -> byte */
	uint8_t *to8;	 /* RECODE_TO_UTF8: 256 x {length 1..3, UTF-8 bytes} */
	uint8_t **from8; /* RECODE_FROM_UTF8: 256 pages (NULL: none) of 256 bytes by code
			  * point (< 0x10000), 0 = no mapping */
};

/* struct recode_pair - both directions of one `charset_map A B { }`. */
struct recode_pair {
	struct recode_table fwd;  /* A to B */
	struct recode_table back; /* B to A */
	bool utf8;		  /* B is utf-8 */
};

/* struct recode_state - one body being recoded; zero it, then set t. */
struct recode_state {
	const struct recode_table *t;
	uint8_t saved[RECODE_UTF_LEN]; /* FROM_UTF8: a sequence's first bytes, waiting */
	uint8_t nsaved;		       /* count (0..3) */
};

/* recode_pair_init - P as nginx starts a map: ASCII maps to itself, every
 * other byte to "?" (and no code point back). UTF8: B is utf-8. Tables
 * from POOL. 0 or -ENOMEM. */
int recode_pair_init(struct recode_pair *p, bool utf8, struct pool *pool);

enum recode_add_rc {
	RECODE_ADD_OK = 0,
	RECODE_ADD_BAD_SRC = -1, /* the first value is not hex 00..FF */
	RECODE_ADD_BAD_DST = -2, /* the second is not hex 00..FF (a UTF-8 one: not 2..3
				  * bytes of one code point 0x80..0xFFFF) */
	RECODE_ADD_NOMEM = -3,
};

/* recode_pair_add - one line `SRC DST` of the map's block, hex as nginx
 * reads it (ngx_hextoi: 1+ hex digits, any case). A later line for the
 * same byte or code point replaces the earlier one. */
enum recode_add_rc recode_pair_add(struct recode_pair *p, const char *src, const char *dst,
				   struct pool *pool);

/* recode_utf8_decode - nginx's UTF-8 decoder over *p[0..n), n >= 1, *p[0]
 * >= 0x80: the code point 0x80..0x10FFFF, above that an invalid one,
 * 0xFFFFFFFF an error, 0xFFFFFFFE incomplete (more bytes needed; *p kept).
 * *p moves past what was read (an error after a lead byte takes the
 * offending byte too). */
uint32_t recode_utf8_decode(const uint8_t **p, size_t n);

/* recode_run - recode IN[0..n) into OUT[0..cap): returns the bytes
 * written, *used the input bytes taken (all of them when cap >=
 * RECODE_GROWTH * n + RECODE_UNIT_MAX; at least one character's worth
 * when cap >= RECODE_UNIT_MAX). A UTF-8 sequence that n leaves cut is
 * kept in S (counted as used) and finished by the next call; the output
 * does not depend on how the input is cut. What is held at the end of the
 * body is dropped, as nginx does. */
size_t recode_run(struct recode_state *s, const char *in, size_t n, size_t *used, char *out,
		  size_t cap);

/* recode_sb - recode P[0..n) in place through T, a RECODE_SB table (one
 * byte for one: the length stays, so any slice of a body recodes alone,
 * as nginx recodes a byte range of a file). */
void recode_sb(const struct recode_table *t, char *p, size_t n);

#endif
