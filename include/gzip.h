/* SPDX-License-Identifier: MIT */
/*
 * Response compression as nginx's gzip filter and gzip_static module do
 * it: whether a response is compressed (client, response and location
 * rules), the header edits, and the streaming deflate of proxied and
 * static bodies (zlib, gzip wrapper). Compressor state comes from a
 * per-worker free list.
 */
#ifndef LBD_GZIP_H
#define LBD_GZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "gzip-t.h"
#include "h1.h"
#include "lbd.h"

struct conn;

/* struct gzip_resp - the response facts the decision looks at (views;
 * an absent header is {NULL, 0}). */
struct gzip_resp {
	int status;
	int64_t length;		  /* Content-Length, -1 unknown */
	struct lstr content_type; /* as sent */
	struct lstr content_encoding;
	struct lstr expires;	   /* gzip_proxied expired */
	struct lstr cache_control; /* no-cache, no-store, private */
	bool has_expires;	   /* an Expires header is present (even empty) */
	bool has_cache_control;
	bool last_modified; /* no_last_modified */
	bool etag;	    /* no_etag */
};

/* gzip_accept_encoding - nginx's reading of Accept-Encoding: true when
 * "gzip" appears as a coding not given q=0 (its quirks kept: the first
 * "gzip" token decides, "gzip;q=0.000" refuses, junk after it refuses). */
bool gzip_accept_encoding(const char *p, size_t len);

/* gzip_msie6 - nginx's MSIE 4/5/6 (not 6 with SV1) test on User-Agent,
 * for `gzip_disable msie6`. */
bool gzip_msie6(const char *ua, size_t len);

/* gzip_proxied_ok - the gzip_proxied rules for a request that came with
 * Via: BITS against the response (AUTH: the request had Authorization;
 * NOW: the time Expires is compared with). */
bool gzip_proxied_ok(int bits, bool auth, const struct gzip_resp *resp, time_t now);

/* gzip_type_ok - whether CTYPE (a Content-Type value) is in G's
 * gzip_types: the type before a "; charset=" parameter, case ignored. */
bool gzip_type_ok(const struct gzip_loc *g, struct lstr ctype);

/* gzip_weak_etag - nginx's ngx_http_weak_etag: W/ kept, a quoted tag
 * gets W/ in front (into BUF of CAP bytes), anything else is dropped
 * (*out->len == 0). */
void gzip_weak_etag(struct lstr v, char *buf, size_t cap, struct lstr *out);
/* gzip_head_weak_etag - the header NAME: VALUE (an ETag) to C's head made
 * weak, as a body filter that changes the bytes sends it (gzip,
 * sub_filter). 1 (handled) or -ENOMEM. */
int gzip_head_weak_etag(struct conn *c, struct h1_str name, struct h1_str value);
/* gzip_types_match - nginx's ngx_http_test_content_type for a filter's
 * type list (gzip_types, sub_filter_types): CT without a "; charset="
 * parameter, case ignored, is text/html or one of TYPES; ANY: `*`. */
bool gzip_types_match(bool any, char *const *types, int ntypes, struct lstr ct);

/* gzip_begin - the header filter for the response RESP of the current
 * request: decides (setting c->req.gz.vary as nginx does) and, when the
 * response is to be compressed, takes a compressor and picks chunked or
 * close-delimited output. 1 compress, 0 not, -ENOMEM. */
int gzip_begin(struct conn *c, const struct gzip_resp *resp);

/* gzip_embed_begin - gzip_begin for the assembled answer of an SSI or
 * additions run (embed.c) of response RESP (no length: nginx's gzip runs
 * after those filters): the same decision (c->req.gz.vary and .encoded
 * set as nginx does), but the compressor goes into GR, whose output is
 * left unframed (the run frames it). 1 compress (GR->ctx NULL for a
 * HEAD), 0 not, -ENOMEM. */
int gzip_embed_begin(struct conn *c, const struct gzip_resp *resp, struct gzip_req *gr);

/* gzip_feed - one step of GR's compressor: P[0..N) is new input when N
 * > 0 (it must stay put until a call returns 0), LAST finishes the
 * stream. *O and *OLEN: the output of this step, unframed (may be
 * empty; valid until the next call). 1 call again (with N 0), 0 the input
 * is taken (and with LAST the stream ended), -1 zlib error. */
int gzip_feed(struct gzip_req *gr, const char *p, size_t n, bool last, const char **o,
	      size_t *olen);

/* gzip_gr_end - give GR's compressor back (gzip_embed_begin's). */
void gzip_gr_end(struct gzip_req *gr);

/* gzip_begin_h1 - gzip_begin for an upstream response head: STATUS and
 * its N headers H. */
int gzip_begin_h1(struct conn *c, int status, const struct h1_header *h, size_t n);

/* gzip_resp_h1 - RESP from an upstream (or cached) head: STATUS and its
 * N headers H (views into H). */
void gzip_resp_h1(struct gzip_resp *resp, int status, const struct h1_header *h, size_t n);

/* gzip_client_ok - nginx's ngx_http_gzip_ok for C's request (computed
 * once per request, as r->gzip_tested): may the client take gzip. RESP:
 * the response, for gzip_proxied; NULL before there is one. */
bool gzip_client_ok(struct conn *c, const struct gzip_resp *resp);

/* gzip_header - while the head is copied with a compressor taken: 1 when
 * the header NAME: VALUE was dropped (Content-Length, Accept-Ranges) or
 * written here (ETag made weak), 0 when the caller copies it, -ENOMEM. */
int gzip_header(struct conn *c, struct h1_str name, struct h1_str value);

/* gzip_head_add - Content-Encoding and Transfer-Encoding of a compressed
 * response, Vary where due. 0 or -ENOMEM. */
int gzip_head_add(struct conn *c);

/* gzip_relay - proxy body: *span and *len are decoded body bytes just framed
 * (possibly none), which the compressor takes (they must stay put until
 * gzip_busy says otherwise); *span and *len become the next compressed output
 * with its chunk framing, or empty when the compressor has nothing yet.
 * LAST: the body is complete. 0, or -1 on a zlib error. */
int gzip_relay(struct conn *c, const char **span, size_t *len, bool last);

/* gzip_busy - the compressor still holds input or output, or (LAST) has
 * not written its end yet: gzip_relay must run before more is read. */
bool gzip_busy(const struct conn *c, bool last);

/* gzip_mem - a whole body P[0..N) in memory (lbd's own pages), compressed
 * and framed onto c->out; *wrote: bytes added. 0 or -1. */
int gzip_mem(struct conn *c, const char *p, size_t n, size_t *wrote);

/* gzip_send_file - static body: compress c->file_fd's range and write it
 * to the client. 1 done, 0 again later, -errno. */
int gzip_send_file(struct conn *c);

/* gzip_static_open - gzip_static: the open FILE.gz for PATH when it is
 * to be sent (its stat in *st), else -1 (c->req.gz.vary set as nginx). */
int gzip_static_open(struct conn *c, const char *path, struct stat *st);

/* gzip_ratio - $gzip_ratio into BUF ("" when nothing was compressed). */
size_t gzip_ratio(const struct conn *c, char *buf, size_t cap);

/* gzip_req_end - give the request's compressor back. */
void gzip_req_end(struct conn *c);

/* gzip_worker_free - free this thread's cached compressors (worker exit). */
void gzip_worker_free(void);

#endif
