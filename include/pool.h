/* SPDX-License-Identifier: MIT */
/*
 * Arena allocator. Memory comes from chunks and is freed all at once
 * (pool_reset keeps the first chunk for reuse, so a per-request pool on a
 * keep-alive connection allocates nothing after its first request).
 */
#ifndef LBD_POOL_H
#define LBD_POOL_H

#include <stddef.h>

struct pool_chunk;

/* struct pool - chunks of bump-allocated memory. */
struct pool {
	struct pool_chunk *head; /* current chunk (newest first) */
	size_t chunk_size;	 /* default chunk payload size */
};

void pool_init(struct pool *p, size_t chunk_size);
void *pool_alloc(struct pool *p, size_t n);
void *pool_zalloc(struct pool *p, size_t n);
char *pool_strdup(struct pool *p, const char *s);
char *pool_strndup(struct pool *p, const char *s, size_t n);
void pool_reset(struct pool *p);
void pool_destroy(struct pool *p);

#endif
