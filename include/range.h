/* SPDX-License-Identifier: MIT */
/*
 * Byte ranges (nginx's range filter): the Range parser, the decision a
 * 200 with a known length gets (whole, 206 with one or several parts,
 * 416), and the multipart/byteranges framing. range.c is pure (it takes
 * client bytes and is fuzzed); range_send.c puts a decision on the wire
 * for static files and proxy cache hits.
 */
#ifndef LBD_RANGE_H
#define LBD_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lbd.h"

/* struct range_part - bytes [start, end) of the entity. */
struct range_part {
	int64_t start;
	int64_t end;
};

/* What a response gets (range_parse, range_decide). */
enum range_rc {
	RANGE_WHOLE = 0,     /* the whole 200, with Accept-Ranges: bytes */
	RANGE_OFF,	     /* the whole 200, without Accept-Ranges (max_ranges 0) */
	RANGE_PARTIAL,	     /* 206: the parts */
	RANGE_UNSATISFIABLE, /* 416 with Content-Range: bytes * /LEN */
};

/* Width of a multipart boundary: nginx prints a counter zero-padded to
 * the length of a 64-bit atomic's decimal form. */
#define RANGE_BOUNDARY_LEN 20

/* struct range_set - a 206's plan (request pool). */
struct range_set {
	struct range_part *v; /* the parts, in the request's order */
	size_t n;	      /* how many (>= 1) */
	int64_t len;	      /* the entity's length (Content-Range's /LEN) */
	int64_t body_len;     /* the 206's Content-Length */
	struct lstr ctype;    /* the entity's Content-Type (parts' header), may be empty */
	char boundary[RANGE_BOUNDARY_LEN + 1];
	/* sending (range_send.c) */
	char *scratch;	    /* a part header is formatted here (request pool) */
	size_t scratch_len; /* its size */
	int64_t base;	    /* file offset of the entity's byte 0 */
	size_t next;	    /* the next part to queue; n: the closing boundary is queued */
	bool finished;	    /* everything is queued */
	int64_t seen;	    /* a proxied body (range_clip): entity bytes gone by */
};

/* range_count_max - an upper bound on the parts of Range value V (its
 * commas plus one), for sizing the array range_parse fills. */
size_t range_count_max(struct lstr v);

/* range_parse - nginx's ngx_http_range_parse over V, the value after
 * "bytes=", for an entity of LEN bytes: comma-separated "S-E", "S-" and
 * "-N" with spaces around the numbers; a range starting past the end is
 * skipped, one ending past it clipped. Fills OUT[0..CAP) and *N.
 * RANGE_PARTIAL: ranges to send; RANGE_UNSATISFIABLE: bad syntax, an
 * overflowing number or nothing inside the entity; RANGE_WHOLE: more
 * than MAX ranges (or CAP), ranges adding up to more than LEN, or a range
 * that starts at 0 but is empty (an empty entity). */
enum range_rc range_parse(struct lstr v, int64_t len, size_t max, struct range_part *out,
			  size_t cap, size_t *n);

/* range_if_range - nginx's If-Range test: a value ending in '"' is an
 * entity tag compared byte for byte with ETAG (never matches without
 * one); otherwise a date equal to LM_TIME (-1: none, never matches). */
bool range_if_range(struct lstr if_range, struct lstr etag, int64_t lm_time);

/* range_value - the byte ranges of a Range header value RANGE (nginx:
 * at least 7 bytes, "bytes=" in any case), or an empty string. */
struct lstr range_value(struct lstr range);

/* range_format_head - the multipart part header before part I of S
 * (CRLF, "--BOUNDARY", Content-Type if any, Content-Range, blank line)
 * into DST[0..CAP); its length, or 0 if it does not fit. I == S->n: the
 * closing boundary (CRLF "--BOUNDARY--" CRLF). */
size_t range_format_head(const struct range_set *s, size_t i, char *dst, size_t cap);

/* range_multipart_len - the multipart body length of S (parts, their
 * headers and the closing boundary), as its Content-Length. */
int64_t range_multipart_len(const struct range_set *s);

/* range_boundary - a fresh boundary into DST (RANGE_BOUNDARY_LEN digits
 * and a NUL): a per-thread counter from a random start, as nginx's
 * ngx_next_temp_number. */
void range_boundary(char dst[RANGE_BOUNDARY_LEN + 1]);

/* ---- on the wire (range_send.c) ---- */

struct conn;

/* range_start - nginx's range header filter for a 200 of LEN bytes that C
 * is about to send, with validators ETAG (may be empty) and LM_TIME (-1:
 * none) and type CTYPE (may be empty): reads Range and If-Range and the
 * location's max_ranges (SINGLE: at most one range, nginx's single_range). RANGE_PARTIAL: *OUT is the plan (request pool);
 * RANGE_UNSATISFIABLE: c->req.resp_content_range is set for the 416. */
enum range_rc range_start(struct conn *c, int64_t len, struct lstr etag, int64_t lm_time,
			  struct lstr ctype, bool single, struct range_set **out);
/* range_head_add - a 206's Content-Length and Content-Range (one part) or
 * multipart Content-Type and Content-Length (several). 0 or -ENOMEM. */
int range_head_add(struct conn *c, const struct range_set *s);
/* range_body - send S from file FD (owned by C from now on) whose byte 0
 * of the entity is at offset BASE: one part as the file's slice, several
 * with their part headers in between (range_next). */
void range_body(struct conn *c, struct range_set *s, int fd, int64_t base);
/* range_next - http_flush reached the end of a slice: queue the next part
 * header (and set the next slice) or the closing boundary. false when
 * there is nothing more. */
bool range_next(struct conn *c);
/* range_proxied - nginx's range filter on an upstream's answer of STATUS
 * with headers H[0..N) and LEN body bytes (-1: not known, or compressed):
 * -1 = not applicable (pass the upstream's Accept-Ranges), else an enum
 * range_rc as range_start with one range at most; a plan goes to *OUT and
 * c->req.rng, whose body range_clip cuts. */
struct h1_header;
int range_proxied(struct conn *c, const struct h1_header *h, size_t n, int status, int64_t len,
		  struct range_set **out);
/* range_clip - narrow the next span (*P, *N bytes) of a proxied body to S's range. */
void range_clip(struct range_set *s, const char **p, size_t *n);

#endif
