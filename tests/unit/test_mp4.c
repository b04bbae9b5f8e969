/* SPDX-License-Identifier: MIT */
/* The mp4 module's cutting (mp4.c) on the synthetic file the integration
 * tests use (tests/integ/mp4kit.py, saved as a fuzz seed): start/end as
 * nginx reads them, the cut's tables and offsets, and its errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp4.h"

#define SEED "tests/fuzz/corpus/mp4/start_moov_first"

struct file {
	unsigned char *p;
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

static struct file load(void)
{
	FILE *fp = fopen(SEED, "rb");
	static unsigned char buf[65536];
	size_t n;

	cr_assert(fp, "%s", SEED);
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	cr_assert(n > 4);
	return (struct file){buf + 4, n - 4}; /* the fuzz input's 4 control bytes */
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static enum mp4_rc cut(struct file *f, uint64_t start, uint64_t length, bool key, int64_t maxbuf,
		       struct mp4_result *res)
{
	struct mp4_conf cf = {maxbuf < 512 * 1024 ? 1024 : 512 * 1024, maxbuf, key};
	struct mp4_io io = {mem_pread, f};

	return mp4_rebuild(&io, (int64_t)f->n, "f.mp4", start, length, &cf, res);
}

/* find - the Nth atom named NAME in H[0..N): its header's offset, or -1. */
static long find(const unsigned char *h, size_t n, const char *name, int nth)
{
	for (size_t i = 4; i + 4 <= n; i++)
		if (memcmp(h + i, name, 4) == 0 && nth-- == 0)
			return (long)i - 4;
	return -1;
}

Test(mp4, atofp)
{
	struct {
		const char *s;
		int64_t v;
	} c[] = {
		{"1", 1000},
		{"1.5", 1500},
		{"1.23456", 1234},
		{".5", 500},
		{"1.", 1000},
		{"0", 0},
		{"", -1},
		{"abc", -1},
		{"1.2.3", -1},
		{"-1", -1},
		{"+1", -1},
		{"1e3", -1},
		{"99999999999999999999", -1},
		{"9223372036854775.807", INT64_MAX},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		cr_assert_eq(mp4_atofp(c[i].s, strlen(c[i].s)), c[i].v, "%s", c[i].s);
}

static void times(const char *args, int64_t start, uint64_t length)
{
	int64_t s;
	uint64_t l;

	mp4_times((struct lstr){args, strlen(args)}, &s, &l);
	cr_assert(s == start && l == length, "%s: %lld %llu", args, (long long)s,
		  (unsigned long long)l);
}

Test(mp4, start_and_end_args)
{
	times("", -1, 0);
	times("x=1", -1, 0);
	times("start=1&end=3", 1000, 2000);
	times("START=1.5", 1500, 0);
	times("end=2", 0, 2000);
	times("end=0", -1, 0);
	times("start=3&end=2", 3000, 0);
	times("restart=2&start=1", 1000, 0);
	times("start=&end=1", 0, 1000);
	times("start=1&start=2", 1000, 0);
}

Test(mp4, cut_from_one_second)
{
	struct file f = load();
	struct mp4_result r;
	unsigned char *ans;
	size_t n;
	long a;

	cr_assert_eq(cut(&f, 1000, 0, false, 10 << 20, &r), MP4_OK, "%s", r.err);
	n = r.head_len + (size_t)(r.data_end - r.data_start);
	ans = malloc(n);
	memcpy(ans, r.head, r.head_len);
	memcpy(ans + r.head_len, f.p + r.data_start, (size_t)(r.data_end - r.data_start));
	/* the data starts with video sample 10 (chunk 3 after samples 8 and 9) */
	cr_assert(memcmp(ans + r.head_len, "V\x00\x0a", 3) == 0);
	/* mvhd's duration: 5000 - 1000 */
	a = find(r.head, r.head_len, "mvhd", 0);
	cr_assert(a > 0 && be32(r.head + a + 24) == 4000);
	/* video: 50 samples left, 5 key frames (11 21 31 41 51 -> 1 11 21 31 41) */
	a = find(r.head, r.head_len, "stsz", 0);
	cr_assert(a > 0 && be32(r.head + a + 16) == 50);
	a = find(r.head, r.head_len, "stss", 0);
	cr_assert(a > 0 && be32(r.head + a + 12) == 5 && be32(r.head + a + 16) == 1 &&
		  be32(r.head + a + 20) == 11);
	/* audio: 80 samples (sample 20 = 1 s at 8000 / 400) */
	a = find(r.head, r.head_len, "stsz", 1);
	cr_assert(a > 0 && be32(r.head + a + 16) == 80);
	/* every track's first chunk offset points at its first sample kept */
	a = find(r.head, r.head_len, "stco", 0);
	cr_assert(a > 0 && memcmp(ans + be32(r.head + a + 16), "V\x00\x0a", 3) == 0);
	a = find(r.head, r.head_len, "stco", 1);
	cr_assert(a > 0 && memcmp(ans + be32(r.head + a + 16), "A\x00\x14", 3) == 0);
	/* the trak's own edts and moov's udta are not kept */
	cr_assert_eq(find(r.head, r.head_len, "udta", 0), -1);
	cr_assert_eq(find(r.head, r.head_len, "edts", 0), -1);
	free(ans);
	mp4_result_free(&r);
}

Test(mp4, key_frame_start_gets_an_edit_list)
{
	struct file f = load();
	struct mp4_result r;
	long a;

	/* 1.5 s: video sample 15, key frame 11 (sample 10): 5 samples of 100 first */
	cr_assert_eq(cut(&f, 1500, 0, true, 10 << 20, &r), MP4_OK, "%s", r.err);
	a = find(r.head, r.head_len, "elst", 0);
	cr_assert(a > 0);
	cr_assert_eq(be32(r.head + a + 28), 500); /* media_time's low word */
	mp4_result_free(&r);
	cr_assert_eq(cut(&f, 1500, 0, false, 10 << 20, &r), MP4_OK, "%s", r.err);
	cr_assert_eq(find(r.head, r.head_len, "elst", 0), -1);
	mp4_result_free(&r);
}

Test(mp4, end_cuts_the_tail)
{
	struct file f = load();
	struct mp4_result r;
	long a;

	cr_assert_eq(cut(&f, 1000, 2000, false, 10 << 20, &r), MP4_OK, "%s", r.err);
	a = find(r.head, r.head_len, "stsz", 0);
	cr_assert(a > 0 && be32(r.head + a + 16) == 20); /* video samples 10..29 */
	a = find(r.head, r.head_len, "stsz", 1);
	cr_assert(a > 0 && be32(r.head + a + 16) == 40); /* audio samples 20..59 */
	mp4_result_free(&r);
}

Test(mp4, declined_and_errors)
{
	struct file f = load(), g;
	struct mp4_result r;
	unsigned char *copy;
	long a;

	cr_assert_eq(cut(&f, 0, 0, false, 10 << 20, &r), MP4_DECLINED);
	cr_assert_eq(cut(&f, 6000, 0, false, 10 << 20, &r), MP4_ERROR);
	cr_assert(strstr(r.err, "\"f.mp4\" mp4 start time exceeds file duration"), "%s", r.err);
	cr_assert_eq(cut(&f, 5000, 0, false, 10 << 20, &r), MP4_ERROR);
	cr_assert(strstr(r.err, "no mp4 trak atoms were found in \"f.mp4\""), "%s", r.err);
	cr_assert_eq(cut(&f, 1000, 0, false, 100, &r), MP4_ERROR);
	cr_assert(strstr(r.err, "mp4 moov atom is too large:"), "%s", r.err);
	/* a file cut inside moov */
	g = (struct file){f.p, 600};
	cr_assert_eq(cut(&g, 1000, 0, false, 10 << 20, &r), MP4_ERROR);
	cr_assert(strstr(r.err, "mp4 atom too large"), "%s", r.err);
	/* a table whose count runs past its atom */
	copy = malloc(f.n);
	memcpy(copy, f.p, f.n);
	a = find(copy, f.n, "stts", 0);
	cr_assert(a > 0);
	memset(copy + a + 12, 0xff, 4);
	g = (struct file){copy, f.n};
	cr_assert_eq(cut(&g, 1000, 0, false, 10 << 20, &r), MP4_ERROR);
	cr_assert(strstr(r.err, "mp4 stts atom too small"), "%s", r.err);
	/* a key frame numbered 0 must not walk stts before its start */
	memcpy(copy, f.p, f.n);
	a = find(copy, f.n, "stss", 0);
	memset(copy + a + 16, 0, 4);
	memset(copy + a + 20, 0, 4);
	cr_assert_eq(cut(&g, 1500, 0, true, 10 << 20, &r), MP4_ERROR);
	mp4_result_free(&r);
	free(copy);
}
