/* SPDX-License-Identifier: MIT */
/*
 * nginx's slice module (ngx_http_slice_filter_module): `slice SIZE` and
 * $slice_range. Asking for $slice_range (proxy_set_header Range
 * $slice_range) starts a slice run on the main request: the first slice
 * is the one holding the start of the client's Range; embed.c then turns
 * the upstream's 206 into the client's answer (200 of the whole length,
 * or the client's own 206) and fetches the following slices as
 * subrequests, one after another, each with its own $slice_range, their
 * bodies appended (embed.h). This file holds the variable and the pure
 * pieces (the start a Range asks for, a Content-Range's numbers).
 */
#ifndef LBD_SLICE_H
#define LBD_SLICE_H

#include <stdbool.h>
#include <stdint.h>

#include "lbd.h"

struct conn;

/* slice_req_start - nginx's slice start of a request: the first byte a
 * Range value RANGE asks for ("bytes=N-..." with one range), else 0 (no
 * header, an If-Range (IF_RANGE), several ranges, a suffix range, a
 * number that overflows). Pure. */
int64_t slice_req_start(struct lstr range, bool if_range);

/* Content-Range parse outcomes (slice_content_range). */
enum slice_cr {
	SLICE_CR_OK = 0,
	SLICE_CR_INVALID,  /* "invalid range in slice response" */
	SLICE_CR_NO_TOTAL, /* "bytes S-E/ *": "no complete length in slice response" */
};

/* slice_content_range - a 206's Content-Range value V, "bytes S-E/T"
 * (spaces allowed around the numbers, as nginx): *START, *END (exclusive:
 * E + 1) and *TOTAL. Pure. */
enum slice_cr slice_content_range(struct lstr v, int64_t *start, int64_t *end, int64_t *total);

/* slice_range_var - $slice_range of C: "bytes=S-E" of its slice (a main
 * request with slice on computes it on first use, from its Range header,
 * and the slice run then applies to its answer; a slice subrequest has
 * its own). VAR_NOT_FOUND when slice is off (or for another subrequest);
 * -ENOMEM. */
int slice_range_var(struct conn *c, struct lstr *out);

#endif
