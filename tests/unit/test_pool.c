/* SPDX-License-Identifier: MIT */
/*
 * Arena allocator: alignment, large one-off allocations, strdup, and reset
 * keeping one chunk so a keep-alive connection allocates nothing again.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "pool.h"

Test(pool, aligned_distinct_and_writable)
{
	struct pool p;
	char *prev = NULL;

	pool_init(&p, 1024);
	for (int i = 1; i < 200; i++) {
		char *m = pool_alloc(&p, (size_t)i);

		cr_assert_not_null(m);
		cr_expect_eq((uintptr_t)m % 16, 0);
		memset(m, 0xab, (size_t)i);
		cr_expect_neq(m, prev);
		prev = m;
	}
	pool_destroy(&p);
}

Test(pool, large_allocation_keeps_current_chunk)
{
	struct pool p;
	char *a, *big, *b;

	pool_init(&p, 1024);
	a = pool_alloc(&p, 100);
	big = pool_alloc(&p, 100000);
	b = pool_alloc(&p, 100);
	cr_assert(a && big && b);
	memset(big, 1, 100000);
	/* b comes from the same chunk as a, right after it */
	cr_expect_eq(b - a, 112);
	pool_destroy(&p);
}

Test(pool, strdup_and_zalloc)
{
	struct pool p;
	char *s;
	unsigned char *z;

	pool_init(&p, 256);
	s = pool_strdup(&p, "hello");
	cr_expect_str_eq(s, "hello");
	s = pool_strndup(&p, "abcdef", 3);
	cr_expect_str_eq(s, "abc");
	z = pool_zalloc(&p, 64);
	for (int i = 0; i < 64; i++)
		cr_expect_eq(z[i], 0);
	pool_destroy(&p);
}

Test(pool, reset_reuses_first_chunk)
{
	struct pool p;
	char *first, *again;

	pool_init(&p, 4096);
	first = pool_alloc(&p, 64);
	for (int i = 0; i < 100; i++)
		cr_assert_not_null(pool_alloc(&p, 512)); /* several chunks */
	pool_reset(&p);
	again = pool_alloc(&p, 64);
	cr_assert_not_null(again);
	pool_reset(&p);
	cr_expect_eq(pool_alloc(&p, 64), again, "reset must keep one chunk for reuse");
	(void)first;
	pool_destroy(&p);
}
