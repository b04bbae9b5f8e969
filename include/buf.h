/* SPDX-License-Identifier: MIT */
/*
 * Growing a struct buf (http-t.h): room for more bytes at its end. The
 * response buffer of a request (http_out.c) and HTTP/2's per-stream and
 * per-connection buffers (h2.c) grow through this one function.
 */
#ifndef LBD_BUF_H
#define LBD_BUF_H

#include <stddef.h>

#include "http-t.h"

#define BUF_FIRST 1024 /* first size of an empty buffer that buf_reserve() grows */

/* buf_grow - room for NEED more bytes at B's end, B's storage malloc'ed
 * (or NULL). The room is counted from the live bytes [start, end): when
 * the storage holds them and NEED, they move to the front; else the
 * storage grows (to FIRST when empty, else doubling until live + NEED
 * fit) and they move to the front first, so the room after them is
 * never short of NEED. Pointers into the storage are invalid afterwards.
 * 0, or -ENOMEM (B still valid, its bytes kept). */
int buf_grow(struct buf *b, size_t need, size_t first);

/* buf_reserve - buf_grow() when B's end has no room for NEED more bytes:
 * the check inline, for the writers that nearly always have room. */
static inline int buf_reserve(struct buf *b, size_t need)
{
	return b->cap - b->end >= need ? 0 : buf_grow(b, need, BUF_FIRST);
}

#endif
