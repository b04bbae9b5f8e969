/* SPDX-License-Identifier: MIT */
/*
 * Per-thread size-class free lists for nghttp2's small allocations (see
 * h2mem.h). A block is a 16-byte header (its class) followed by the
 * caller's bytes; classes are powers of two from 32 to 4096 bytes of
 * payload, anything bigger is a plain malloc marked as such.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h2mem.h"

#ifdef H2MEM_PASSTHROUGH

/* AddressSanitizer build: plain malloc, so that each block's lifetime is
 * checked */
void *h2mem_alloc(size_t n)
{
	return malloc(n ? n : 1);
}

void h2mem_free(void *p)
{
	free(p);
}

void *h2mem_realloc(void *p, size_t n)
{
	return realloc(p, n ? n : 1);
}

void h2mem_thread_free(void)
{
}

size_t h2mem_cached(void)
{
	return 0;
}

#else

#define H2MEM_MIN_SHIFT	 5	       /* smallest class: 32 bytes */
#define H2MEM_CLASSES	 8	       /* 32 .. 4096 */
#define H2MEM_BIG	 H2MEM_CLASSES /* class of a block from plain malloc */
/* Free blocks kept per class and thread: H2MEM_KEEP_SMALL for the classes
 * up to H2MEM_SMALL (256 bytes), of which nghttp2 holds several per stream
 * (h2load's 500 streams in flight have over 512 live: beyond the bound each
 * stream went to malloc), H2MEM_KEEP above. At worst some 5 MiB a thread. */
#define H2MEM_KEEP	 512
#define H2MEM_KEEP_SMALL 2048
#define H2MEM_SMALL	 3
#define H2MEM_HDR	 16 /* header size: keeps the payload 16-aligned */

/* union h2mem_hdr - what precedes each payload: the class while the block
 * is in use, the next free block while it is on a list. */
union h2mem_hdr {
	struct {
		uint32_t cls; /* 0..H2MEM_CLASSES-1, or H2MEM_BIG */
	};
	union h2mem_hdr *next;	      /* free list link */
	unsigned char pad[H2MEM_HDR]; /* size of the header */
};

_Static_assert(sizeof(union h2mem_hdr) == H2MEM_HDR, "h2mem header size");

static __thread union h2mem_hdr *free_list[H2MEM_CLASSES]; /* per class */
static __thread unsigned nfree[H2MEM_CLASSES];		   /* their lengths */

/* size_class - the class for N payload bytes, or H2MEM_BIG. */
static unsigned size_class(size_t n)
{
	unsigned c = 0;

	while (c < H2MEM_CLASSES && ((size_t)1 << (c + H2MEM_MIN_SHIFT)) < n)
		c++;
	return c;
}

static size_t class_size(unsigned c)
{
	return (size_t)1 << (c + H2MEM_MIN_SHIFT);
}

void *h2mem_alloc(size_t n)
{
	unsigned c = size_class(n);
	union h2mem_hdr *h;

	if (c < H2MEM_CLASSES && free_list[c]) {
		h = free_list[c];
		free_list[c] = h->next;
		nfree[c]--;
	} else {
		if (c == H2MEM_BIG && n > SIZE_MAX - H2MEM_HDR)
			return NULL;
		h = malloc(H2MEM_HDR + (c < H2MEM_CLASSES ? class_size(c) : n));
		if (!h)
			return NULL;
	}
	h->next = NULL;
	h->cls = c;
	return (unsigned char *)h + H2MEM_HDR;
}

void h2mem_free(void *p)
{
	union h2mem_hdr *h;
	unsigned c;

	if (!p)
		return;
	h = (union h2mem_hdr *)((unsigned char *)p - H2MEM_HDR);
	c = h->cls;
	if (c >= H2MEM_CLASSES || nfree[c] >= (c <= H2MEM_SMALL ? H2MEM_KEEP_SMALL : H2MEM_KEEP)) {
		free(h);
		return;
	}
	h->next = free_list[c];
	free_list[c] = h;
	nfree[c]++;
}

void *h2mem_realloc(void *p, size_t n)
{
	union h2mem_hdr *h;
	size_t have;
	void *q;

	if (!p)
		return h2mem_alloc(n);
	h = (union h2mem_hdr *)((unsigned char *)p - H2MEM_HDR);
	if (h->cls == H2MEM_BIG) {
		if (size_class(n) == H2MEM_BIG) {
			if (n > SIZE_MAX - H2MEM_HDR)
				return NULL;
			h = realloc(h, H2MEM_HDR + n);
			return h ? (unsigned char *)h + H2MEM_HDR : NULL;
		}
		have = n; /* shrinking into a class: N bytes are all that fit */
	} else {
		have = class_size(h->cls);
		if (n <= have)
			return p;
	}
	q = h2mem_alloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, have < n ? have : n);
	h2mem_free(p);
	return q;
}

void h2mem_thread_free(void)
{
	for (unsigned c = 0; c < H2MEM_CLASSES; c++) {
		while (free_list[c]) {
			union h2mem_hdr *h = free_list[c];

			free_list[c] = h->next;
			free(h);
		}
		nfree[c] = 0;
	}
}

size_t h2mem_cached(void)
{
	size_t n = 0;

	for (unsigned c = 0; c < H2MEM_CLASSES; c++)
		n += nfree[c];
	return n;
}

#endif /* H2MEM_PASSTHROUGH */

void *h2mem_calloc(size_t nmemb, size_t size)
{
	void *p;

	if (size && nmemb > SIZE_MAX / size)
		return NULL;
	p = h2mem_alloc(nmemb * size);
	if (p)
		memset(p, 0, nmemb * size);
	return p;
}
