/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the inflate step (userspace/gunzip.c). Input: one
 * byte picking the piece size (1..64 input bytes per feed) and one the
 * output span (64..4096 bytes), then the body as it would come from an
 * upstream. The body fed whole and fed in those pieces must give the same
 * answer (the same bytes, or both refused), and what is accepted must be
 * what zlib's own gzip reader makes of it, member after member.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gunzip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CAP (1 << 20)

/* reference - zlib alone: members back to back until the input ends;
 * -1 on anything else. */
static int64_t reference(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	z_stream zs = {0};
	int64_t total = -1;
	int rc;

	if (!n || inflateInit2(&zs, MAX_WBITS + 16) != Z_OK)
		return -1;
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	for (;;) {
		rc = inflate(&zs, Z_FINISH);
		if (rc != Z_STREAM_END)
			break;
		if (!zs.avail_in) {
			total = (int64_t)(cap - zs.avail_out);
			break;
		}
		if (inflateReset(&zs) != Z_OK)
			break;
	}
	inflateEnd(&zs);
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t a[FZ_CAP], b[FZ_CAP], r[FZ_CAP];
	size_t piece, span;
	int64_t na, nb, nr;

	if (size < 2 || size > 65536)
		return 0;
	piece = 1 + data[0] % 64;
	span = 64 + (size_t)data[1] * 16;
	data += 2;
	size -= 2;
	na = gunzip_inflate(data, size, size, a, FZ_CAP, span);
	nb = gunzip_inflate(data, size, piece, b, FZ_CAP, span);
	nr = reference(data, size, r, FZ_CAP);
	if (na != nb || (na > 0 && memcmp(a, b, (size_t)na) != 0))
		abort();
	/* the reference's Z_FINISH needs all output room: compare when it fit */
	if (nr >= 0 && nr < FZ_CAP && (na != nr || memcmp(a, r, (size_t)nr) != 0))
		abort();
	return 0;
}
