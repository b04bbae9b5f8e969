/* SPDX-License-Identifier: MIT */
/*
 * Arena allocator: bump allocation in chunks, freed as a whole. Used for a
 * configuration generation and for per-request memory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

struct pool_chunk {
	struct pool_chunk *next;  /* older chunk */
	size_t size;		  /* payload bytes */
	size_t used;		  /* payload bytes handed out */
	_Alignas(16) char data[]; /* payload */
};

void pool_init(struct pool *p, size_t chunk_size)
{
	p->head = NULL;
	p->chunk_size = chunk_size ? chunk_size : 4096;
}

void *pool_alloc(struct pool *p, size_t n)
{
	struct pool_chunk *c = p->head;
	size_t need = (n + 15) & ~(size_t)15;

	if (need < n)
		return NULL;
	if (!c || c->size - c->used < need) {
		size_t sz = need > p->chunk_size ? need : p->chunk_size;

		c = malloc(sizeof(*c) + sz);
		if (!c)
			return NULL;
		c->size = sz;
		c->used = 0;
		/* A large one-off allocation goes behind the current chunk so
		 * the current chunk keeps serving small ones. */
		if (p->head && need > p->chunk_size) {
			c->next = p->head->next;
			p->head->next = c;
			c->used = need;
			return c->data;
		}
		c->next = p->head;
		p->head = c;
	}
	c->used += need;
	return c->data + c->used - need;
}

void *pool_zalloc(struct pool *p, size_t n)
{
	void *m = pool_alloc(p, n);

	if (m)
		memset(m, 0, n);
	return m;
}

char *pool_strndup(struct pool *p, const char *s, size_t n)
{
	char *d = pool_alloc(p, n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

char *pool_strdup(struct pool *p, const char *s)
{
	return pool_strndup(p, s, strlen(s));
}

/* pool_reset - free all but the oldest chunk and make it empty again. */
void pool_reset(struct pool *p)
{
	struct pool_chunk *c = p->head;

	if (!c)
		return;
	while (c->next) {
		struct pool_chunk *n = c->next;

		free(c);
		c = n;
	}
	if (c->size > p->chunk_size * 4) {
		free(c);
		p->head = NULL;
		return;
	}
	c->used = 0;
	p->head = c;
}

void pool_destroy(struct pool *p)
{
	struct pool_chunk *c = p->head;

	while (c) {
		struct pool_chunk *n = c->next;

		free(c);
		c = n;
	}
	p->head = NULL;
}
