/* SPDX-License-Identifier: MIT */
/*
 * buf_grow / buf_reserve: the room is counted from the live bytes and is
 * all after them (the live bytes move to the front, moving alone when
 * that is enough), content kept, an empty buffer's first size. Run under
 * ASan (make SANITIZE=address,undefined units): a room short of NEED is
 * a heap overflow for the writer that fills it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* a buffer of CAP bytes whose live bytes are [START, END), each byte its
 * offset's low bits */
static struct buf buf_at(size_t cap, size_t start, size_t end)
{
	struct buf b = {.data = malloc(cap), .start = start, .end = end, .cap = cap};

	cr_assert_not_null(b.data);
	for (size_t i = 0; i < cap; i++)
		b.data[i] = (char)(i * 7);
	return b;
}

/* LIVE bytes at b's start are what [FROM, FROM + LIVE) of buf_at() held */
static void expect_live(const struct buf *b, size_t from, size_t live)
{
	cr_assert_eq(b->end - b->start, live);
	for (size_t i = 0; i < live; i++)
		cr_assert_eq(b->data[b->start + i], (char)((from + i) * 7), "byte %zu", i);
}

Test(buf, grows_with_the_live_bytes_moved_to_the_front)
{
	/* the case of session 16's overflow: room for 24 at the end, 924 in
	 * all; growing in place left 1048 after the live bytes */
	struct buf b = buf_at(1024, 900, 1000);

	cr_assert_eq(buf_reserve(&b, 1900), 0);
	cr_expect_eq(b.start, 0);
	cr_expect_eq(b.end, 100);
	cr_expect_geq(b.cap - b.end, 1900);
	expect_live(&b, 900, 100);
	memset(b.data + b.end, 'x', 1900); /* ASan: all of it is ours */
	b.end += 1900;
	free(b.data);
}

Test(buf, moves_without_growing_when_that_is_room_enough)
{
	struct buf b = buf_at(1024, 900, 1000);
	char *was = b.data;

	cr_assert_eq(buf_reserve(&b, 900), 0);
	cr_expect_eq(b.data, was);
	cr_expect_eq(b.cap, 1024);
	cr_expect_eq(b.start, 0);
	expect_live(&b, 900, 100);
	memset(b.data + b.end, 'x', 900);
	free(b.data);
}

Test(buf, room_at_the_end_leaves_it_alone)
{
	struct buf b = buf_at(1024, 100, 200);

	cr_assert_eq(buf_reserve(&b, 824), 0);
	cr_expect_eq(b.start, 100);
	cr_expect_eq(b.cap, 1024);
	expect_live(&b, 100, 100);
	free(b.data);
}

Test(buf, empty_buffer_first_size)
{
	struct buf b = {0};

	cr_assert_eq(buf_reserve(&b, 10), 0);
	cr_expect_eq(b.cap, BUF_FIRST);
	cr_assert_eq(buf_grow(&b, 5000, 256), 0);
	cr_expect_eq(b.cap, 8192); /* doubled from the size it had */
	free(b.data);

	b = (struct buf){0};
	cr_assert_eq(buf_grow(&b, 300, 256), 0);
	cr_expect_eq(b.cap, 512);
	memset(b.data, 'x', 300);
	free(b.data);
}

Test(buf, impossible_size_refused_content_kept)
{
	struct buf b = buf_at(1024, 10, 20);

	cr_expect_eq(buf_reserve(&b, SIZE_MAX - 8), -ENOMEM);
	cr_expect_eq(b.cap, 1024);
	expect_live(&b, 10, 10);
	free(b.data);
}
