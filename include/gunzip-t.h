/* SPDX-License-Identifier: MIT */
/*
 * Response decompression types (nginx's gunzip filter): what one request
 * holds. The settings live in struct gzip_loc (gzip-t.h) beside the other
 * gzip_* ones; the inflater itself (struct gunzip_ctx) is private to
 * gunzip.c. Types only.
 */
#ifndef LBD_GUNZIP_T_H
#define LBD_GUNZIP_T_H

#include <stdbool.h>

struct gunzip_ctx;

/* struct gunzip_req - what one request holds. Zeroed with the request. */
struct gunzip_req {
	struct gunzip_ctx *ctx; /* inflating this response's body, NULL otherwise */
	bool active;		/* the head is edited: no Content-Encoding (HEAD too) */
	bool chunked;		/* output is chunk-framed (else close-delimited) */
};

#endif
