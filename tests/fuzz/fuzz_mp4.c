/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the MP4 cutter (userspace/mp4.c): the input's
 * first 4 bytes choose start and end (and mp4_start_key_frame), the rest
 * is the file, read through the io callback from a copy of exactly its
 * size so that ASan sees any read past it. Checked: an answer's data
 * span lies inside the file, its head holds ftyp+moov+mdat header whose
 * atom sizes add up, and the mdat header's size matches the span.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mp4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct file {
	const uint8_t *p;
	size_t n;
};

static ssize_t mem_pread(void *ctx, void *buf, size_t len, int64_t off)
{
	const struct file *f = ctx;

	if (off < 0 || (uint64_t)off > f->n)
		return -1;
	if (len > f->n - (size_t)off)
		len = f->n - (size_t)off;
	memcpy(buf, f->p + off, len);
	return (ssize_t)len;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp4_conf cf = {512 * 1024, 10 * 1024 * 1024, false};
	struct mp4_result res;
	struct file f;
	struct mp4_io io = {mem_pread, &f};
	uint64_t start, length;
	uint8_t *copy;

	if (size < 4)
		return 0;
	start = (uint64_t)data[0] * 40; /* 0 .. 10.2 s */
	length = (uint64_t)(data[1] & 0x7f) * 40;
	cf.start_key_frame = data[1] & 0x80;
	cf.buffer_size = data[2] & 1 ? 1024 : 512 * 1024;
	cf.max_buffer_size = data[3] & 1 ? 2048 : 10 * 1024 * 1024;
	copy = malloc(size - 4 ? size - 4 : 1);
	if (!copy)
		abort();
	memcpy(copy, data + 4, size - 4);
	f = (struct file){copy, size - 4};
	if (mp4_rebuild(&io, (int64_t)f.n, "fuzz", start, length, &cf, &res) == MP4_OK) {
		size_t h = res.head_len, ftyp, moov;

		if (res.data_start < 0 || res.data_end < res.data_start ||
		    (uint64_t)res.data_end > f.n || h < 16)
			abort();
		ftyp = memcmp(res.head + 4, "ftyp", 4) == 0 ? be32(res.head) : 0;
		if (ftyp + 16 > h || memcmp(res.head + ftyp + 4, "moov", 4) != 0)
			abort();
		moov = be32(res.head + ftyp);
		if (ftyp + moov + 8 != h && ftyp + moov + 16 != h)
			abort();
		if (memcmp(res.head + ftyp + moov + 4, "mdat", 4) != 0)
			abort();
		if (ftyp + moov + 8 == h &&
		    be32(res.head + ftyp + moov) != 8 + (uint64_t)(res.data_end - res.data_start))
			abort();
		mp4_result_free(&res);
	}
	free(copy);
	return 0;
}
