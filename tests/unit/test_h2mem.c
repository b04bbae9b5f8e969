/* SPDX-License-Identifier: MIT */
/*
 * The small-block allocator behind nghttp2: sizes and alignment of every
 * class and of big blocks, contents kept across realloc (within a class,
 * to a bigger class, to and from big blocks), calloc zeroing and overflow,
 * reuse of freed blocks, the per-class bound on what is kept, and the
 * thread's cleanup.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "h2mem.h"

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + seed);
}

static bool same(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 7 + seed))
			return false;
	return true;
}

Test(h2mem, sizes_aligned_and_writable)
{
	static const size_t sizes[] = {0,   1,	 15,  16,   17,	  31,	32,   33,    100,
				       255, 256, 257, 1000, 4095, 4096, 4097, 10000, 100000};
	void *p[sizeof(sizes) / sizeof(sizes[0])];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p[i] = h2mem_alloc(sizes[i]);
		cr_assert_not_null(p[i]);
		cr_expect_eq((uintptr_t)p[i] % 16, 0, "size %zu", sizes[i]);
		fill(p[i], sizes[i], (unsigned)i);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		cr_expect(same(p[i], sizes[i], (unsigned)i), "size %zu overwritten", sizes[i]);
		h2mem_free(p[i]);
	}
	h2mem_free(NULL);
	h2mem_thread_free();
}

Test(h2mem, realloc_keeps_contents)
{
	/* within a class, up a class, into a big block, growing big, back down */
	static const size_t steps[] = {10, 30, 200, 3000, 5000, 20000, 100, 0, 64};
	size_t have = 0;
	unsigned char *p = h2mem_realloc(NULL, 0);

	cr_assert_not_null(p);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t n = steps[i], keep = have < n ? have : n;

		p = h2mem_realloc(p, n);
		cr_assert_not_null(p);
		cr_expect(same(p, keep, 3), "step %zu: first %zu bytes changed", i, keep);
		fill(p, n, 3);
		have = n;
	}
	h2mem_free(p);
	h2mem_thread_free();
}

Test(h2mem, calloc_zeroes_and_refuses_overflow)
{
	unsigned char *p = h2mem_alloc(512);

	cr_assert_not_null(p);
	memset(p, 0xff, 512);
	h2mem_free(p); /* a dirty block on the list: calloc must still zero it */
	p = h2mem_calloc(16, 32);
	cr_assert_not_null(p);
	for (size_t i = 0; i < 512; i++)
		cr_assert_eq(p[i], 0, "byte %zu", i);
	h2mem_free(p);
	cr_expect_null(h2mem_calloc(SIZE_MAX / 2, 4));
	h2mem_thread_free();
}

Test(h2mem, freed_blocks_reused_and_bounded)
{
	void *blocks[3000];

#ifdef H2MEM_PASSTHROUGH
	cr_skip_test("sanitizer build: every block goes to malloc");
#endif
	h2mem_thread_free();
	void *a = h2mem_alloc(200);

	h2mem_free(a);
	cr_expect_eq(h2mem_cached(), 1);
	cr_expect_eq(h2mem_alloc(129), a, "a freed block of the class is reused");
	h2mem_free(a);
	/* big blocks are never kept */
	h2mem_free(h2mem_alloc(5000));
	cr_expect_eq(h2mem_cached(), 1);
	/* what a class keeps is bounded: 512 blocks over 256 bytes */
	for (int i = 0; i < 2000; i++)
		blocks[i] = h2mem_alloc(1000);
	for (int i = 0; i < 2000; i++)
		h2mem_free(blocks[i]);
	cr_expect_leq(h2mem_cached(), 1 + 512);
	cr_expect_geq(h2mem_cached(), 512);
	h2mem_thread_free();
	/* 2048 of the small classes (several per stream) */
	for (int i = 0; i < 3000; i++)
		blocks[i] = h2mem_alloc(100);
	for (int i = 0; i < 3000; i++)
		h2mem_free(blocks[i]);
	cr_expect_eq(h2mem_cached(), 2048);
	h2mem_thread_free();
	cr_expect_eq(h2mem_cached(), 0);
}
