/* SPDX-License-Identifier: MIT */
/*
 * Small-block allocator for the HTTP/2 sessions of a worker thread: the
 * nghttp2_mem that h2.c hands to nghttp2. nghttp2 allocates a handful of
 * small objects per stream (the stream, its outbound frames, header
 * buffers) and frees them when the stream closes; with a stream per
 * request that is several malloc/free pairs per request. Here freed blocks
 * go to per-thread free lists by size class and are reused, bounded per
 * class; larger blocks go to malloc. Each worker thread keeps its own
 * lists (no locks); a block freed on another thread than it came from is
 * simply kept there. Sanitizer builds pass everything to malloc, so that
 * ASan still sees each block's lifetime.
 */
#ifndef LBD_H2MEM_H
#define LBD_H2MEM_H

#include <stddef.h>

/* H2MEM_PASSTHROUGH - defined in AddressSanitizer builds: no free lists */
#if defined(__SANITIZE_ADDRESS__)
#define H2MEM_PASSTHROUGH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define H2MEM_PASSTHROUGH 1
#endif
#endif

/* h2mem_alloc - N bytes (N may be 0), 16-byte aligned. NULL on no memory. */
void *h2mem_alloc(size_t n);

/* h2mem_calloc - NMEMB * SIZE zeroed bytes; NULL on overflow or no memory. */
void *h2mem_calloc(size_t nmemb, size_t size);

/* h2mem_realloc - P (from this allocator, or NULL) resized to N bytes, its
 * contents kept up to the smaller size. NULL on no memory (P untouched). */
void *h2mem_realloc(void *p, size_t n);

/* h2mem_free - give back P (from this allocator, or NULL). */
void h2mem_free(void *p);

/* h2mem_thread_free - free the calling thread's cached blocks (at the end
 * of a worker thread). */
void h2mem_thread_free(void);

/* h2mem_cached - blocks held in the calling thread's free lists (tests). */
size_t h2mem_cached(void);

#endif
