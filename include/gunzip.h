/* SPDX-License-Identifier: MIT */
/*
 * Response decompression as nginx's gunzip filter does it: an answer with
 * `Content-Encoding: gzip` (proxied, cached, or a gzip_static file) is
 * inflated for a client that may not take gzip (ngx_http_gzip_ok). The
 * inflater streams: each output span (at most gunzip_buffers NUM*SIZE
 * bytes) is made only once the previous one is sent, so a small body that
 * inflates to a huge one costs no memory. Inflaters come from a per-thread
 * free list.
 */
#ifndef LBD_GUNZIP_H
#define LBD_GUNZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gunzip-t.h"
#include "gzip.h"
#include "h1.h"
#include "lbd.h"

struct conn;

/* gunzip_begin - the header filter for a response of STATUS whose
 * Content-Encoding is CE ({NULL, 0}: none) and whose other facts are RESP
 * (for gzip_proxied): decides as nginx (sets c->req.gz.vary when it looks
 * at the client) and, for a body to inflate, takes an inflater and picks
 * chunked or close-delimited output. 1 inflate (or, for HEAD, edit the
 * head only), 0 not, -ENOMEM. */
int gunzip_begin(struct conn *c, int status, struct lstr ce, const struct gzip_resp *resp);

/* gunzip_begin_h1 - gunzip_begin for an upstream or cached head: STATUS
 * and its N headers H. */
int gunzip_begin_h1(struct conn *c, int status, const struct h1_header *h, size_t n);

/* gunzip_header - while the head is copied with gunzip active: 1 when the
 * header NAME: VALUE was dropped (Content-Encoding, Content-Length,
 * Accept-Ranges) or written here (ETag made weak), 0 when the caller
 * copies it, -ENOMEM. */
int gunzip_header(struct conn *c, struct h1_str name, struct h1_str value);

/* gunzip_head_add - Transfer-Encoding of an inflated body. 0 or -ENOMEM. */
int gunzip_head_add(struct conn *c);

/* gunzip_inflate - the relay's inflate step on its own (tests, fuzzing):
 * IN[0..N) (gzip members back to back) fed PIECE bytes at a time, output
 * spans of SPAN bytes at most, into OUT of CAP bytes. The output length,
 * or -1 on bad or truncated data or an output past CAP. */
int64_t gunzip_inflate(const void *in, size_t n, size_t piece, void *out, size_t cap, size_t span);

/* gunzip_relay - proxy body: *span and *len are compressed body bytes just
 * framed (possibly none), which the inflater takes (they must stay put
 * until gunzip_busy says otherwise); *span and *len become the next
 * inflated output with its chunk framing, or empty when there is nothing
 * yet. LAST: the body is complete. 0, or -1 (logged as nginx) on bad data. */
int gunzip_relay(struct conn *c, const char **span, size_t *len, bool last);

/* gunzip_busy - the inflater still holds input or output, or (LAST) has
 * not written its end yet: gunzip_relay must run before more is read. */
bool gunzip_busy(const struct conn *c, bool last);

/* gunzip_send_file - file body (gzip_static, cache hit): inflate
 * c->file_fd's range and write it to the client. 1 done, 0 again later,
 * -errno. */
int gunzip_send_file(struct conn *c);

/* gunzip_feeds_filter - the inflated body goes on into sub_filter (nginx's
 * filter order), which frames it: gunzip's output is left unframed. */
void gunzip_feeds_filter(struct conn *c);

/* gunzip_file_span - file body (gzip_static, cache hit) going on into
 * sub_filter: *span and *len the next inflated bytes (unframed; they stay
 * put until the next call), none once the end is reached (gunzip_busy(c,
 * true) then false). 0, or -errno (bad data logged as nginx). */
int gunzip_file_span(struct conn *c, const char **span, size_t *len);

/* gunzip_req_end - give the request's inflater back. */
void gunzip_req_end(struct conn *c);

/* gunzip_worker_free - free this thread's cached inflaters (worker exit). */
void gunzip_worker_free(void);

#endif
