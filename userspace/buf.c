/* SPDX-License-Identifier: MIT */
/*
 * Growing a struct buf: see buf.h. One function for every buffer that is
 * read from its start and written at its end, so that the rule "count the
 * room from the live bytes, then move them to the front" lives in one
 * place (two copies of it differed once: one grew in place and left the
 * room after the live bytes short, a heap overflow for its writer).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int buf_grow(struct buf *b, size_t need, size_t first)
{
	size_t live = b->end - b->start, cap;
	char *d;

	if (b->cap - b->end >= need)
		return 0;
	if (need > SIZE_MAX / 4 - live)
		return -ENOMEM;
	if (b->start) {
		/* the unread gap before the live bytes is room too, and
		 * growing in place would leave it there */
		memmove(b->data, b->data + b->start, live);
		b->start = 0;
		b->end = live;
		if (b->cap - live >= need)
			return 0;
	}
	cap = b->cap ? b->cap : (first ? first : 1);
	while (cap - live < need)
		cap *= 2;
	d = realloc(b->data, cap);
	if (!d)
		return -ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}
