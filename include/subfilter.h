/* SPDX-License-Identifier: MIT */
/*
 * nginx's sub filter at run time: which responses have their body
 * substituted, the header edits, and the streaming substitution of
 * proxied bodies (before gzip). The matcher (subf_find) is pure and
 * exported for the unit tests and the fuzz target.
 */
#ifndef LBD_SUBFILTER_H
#define LBD_SUBFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h1.h"
#include "lbd.h"
#include "subfilter-t.h"

struct conn;

/* subf_tables_build - fill S's search tables from its patterns (which
 * must be lowercased, 1..SUBF_MAX_LEN bytes, 1..SUBF_MAX_PATTERNS). */
void subf_tables_build(struct subf_set *s);

enum subf_found {
	SUBF_MATCH = 1, /* *which matches whole at *at */
	SUBF_HOLD,	/* no start before *at matches; from *at on, undecided */
};

/* subf_find - the first decision in T[0..n) at a start >= FROM, as nginx
 * decides: the leftmost start where a pattern (skipping those set in
 * APPLIED, a 256-bit set, unless NULL) matches, case ignored; at one
 * start the first in configuration order wins. A start where a pattern
 * matches up to the end of T but is longer (or fewer than S->min bytes
 * remain) is undecided: SUBF_HOLD there, those bytes are to be kept for
 * more input (at the end of the body nginx sends them as they are). */
enum subf_found subf_find(const struct subf_set *s, const uint64_t *applied, const char *t,
			  size_t n, size_t from, size_t *at, int *which);

/* subfilter_begin_h1 - the header filter for an upstream (or stored)
 * response head: STATUS and its N headers H. Decides as nginx (a
 * sub_filter list, a type in sub_filter_types, no Content-Length: 0) and,
 * beyond nginx, leaves alone an answer with a Content-Encoding and a
 * 1xx, 204 or 304. For a body, takes a context. 1 substitute (or HEAD
 * with the head edited), 0 not, -ENOMEM. Call before gzip_begin_h1. */
int subfilter_begin_h1(struct conn *c, int status, const struct h1_header *h, size_t n);

/* subfilter_begin_stored - subfilter_begin_h1 for a cache hit, whose
 * stored head has no Content-Length: the body is LENGTH bytes. */
int subfilter_begin_stored(struct conn *c, int status, const struct h1_header *h, size_t n,
			   int64_t length);

/* subfilter_begin - the same for a response of STATUS whose type is CT
 * (NULL: none), of LENGTH bytes (-1 unknown), ENCODED when it has a
 * Content-Encoding: a static file or a cache hit. */
int subfilter_begin(struct conn *c, int status, struct lstr ct, int64_t length, bool encoded);

/* subfilter_begin_len - subfilter_begin for an answer whose caller keeps
 * its Content-Length (and a static file's ranges) when the filter only
 * recodes one byte for one, as nginx does: c->req.sf.sb is set then,
 * subfilter_start frames nothing, subfilter_header keeps the length (the
 * _h1 and _stored forms do the same for a known length). A static file
 * or a return text, an error page; see subfilter_take_sb for files. */
int subfilter_begin_len(struct conn *c, int status, struct lstr ct, int64_t length, bool encoded);

/* subfilter_take_sb - after gzip decided not to compress: when the
 * charset filter only recodes single bytes (c->req.sf.sb), end the filter
 * and return that table, for the caller to recode the file's bytes
 * itself (c->req.rc_sb: sendfile's path with ranges, http_flush); else
 * NULL, the filter stays. */
const struct recode_table *subfilter_take_sb(struct conn *c);

/* subfilter_drops_validators - the filter's edits remove Last-Modified
 * and ETag (it is on, without sub_filter_last_modified). */
bool subfilter_drops_validators(const struct conn *c);

/* subfilter_start - after gzip decided: framing of the output (raw into
 * gzip, chunks for HTTP/1.1, else until close). */
void subfilter_start(struct conn *c);

/* subfilter_header - while the head is copied: 1 when NAME: VALUE was
 * dropped (Content-Length; Last-Modified and ETag unless
 * sub_filter_last_modified on) or written here (ETag made weak), 0 when
 * the caller copies it, -ENOMEM. */
int subfilter_header(struct conn *c, struct h1_str name, struct h1_str value);

/* subfilter_head_add - Transfer-Encoding when the output is chunked by
 * this filter. 0 or -ENOMEM. */
int subfilter_head_add(struct conn *c);

/* subfilter_relay - body: *span and *len are decoded body bytes (possibly
 * none), which the filter takes (they must stay put until subfilter_busy
 * says otherwise); *span and *len become the next output (chunk-framed
 * when the filter frames), or empty when it has none yet. LAST: the body
 * is complete. 0, or -1 (out of memory). */
int subfilter_relay(struct conn *c, const char **span, size_t *len, bool last);

/* subfilter_mem - a whole body P[0..N) in memory (lbd's own pages and
 * `return` texts): substituted (then gzipped when gzip is on), framed onto
 * c->out; *wrote: bytes added. 0 or -1. */
int subfilter_mem(struct conn *c, const char *p, size_t n, size_t *wrote);

/* subfilter_send_file - static file or stored body: substitute
 * c->file_fd's range (then gzip it when gzip is on) and write it to the
 * client. 1 done, 0 again later, -errno. */
int subfilter_send_file(struct conn *c);

/* subfilter_busy - the filter still holds input or output, or (LAST) has
 * not ended its output: subfilter_relay must run before more is read. */
bool subfilter_busy(const struct conn *c, bool last);

/* subfilter_req_end - give the request's context back. */
void subfilter_req_end(struct conn *c);

/* subfilter_worker_free - free this thread's cached contexts. */
void subfilter_worker_free(void);

#endif
