/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Range parser (userspace/range.c). Input: one
 * byte picking max_ranges (1..16), one picking the entity length (from a
 * table of edge sizes), then the Range header value, which goes through
 * range_value and range_parse as a request's would, and through
 * range_if_range as an If-Range. Every accepted plan must lie inside the
 * entity, respect max_ranges, add up to at most the length, and frame
 * (multipart) to exactly the Content-Length computed for it (lengths up
 * to 2^62: a file's).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fz_util.h"
#include "range.h"

#define FZ_MAX_PARTS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t lens[] = {0, 1, 2, 10, 1000, 65536, 1LL << 40, INT64_MAX};
	struct range_part parts[FZ_MAX_PARTS];
	struct range_set s = {.ctype = LSTR("text/plain")};
	size_t max, cap, n = 0;
	int64_t len, sum = 0, framed = 0;
	enum range_rc rc;
	struct lstr v;
	char *val;

	if (size < 2)
		return 0;
	max = 1 + data[0] % FZ_MAX_PARTS;
	len = lens[data[1] % (sizeof(lens) / sizeof(lens[0]))];
	val = fz_strdup(data + 2, size - 2); /* exact size: ASan sees an overread */
	v = range_value((struct lstr){val, size - 2});
	(void)range_if_range((struct lstr){val, size - 2}, LSTR("\"1-2\""), 1700000000);
	if (!v.len) {
		free(val);
		return 0;
	}
	cap = LBD_MIN(range_count_max(v), max);
	rc = range_parse(v, len, max, parts, cap, &n);
	fz_check(rc == RANGE_WHOLE || rc == RANGE_PARTIAL || rc == RANGE_UNSATISFIABLE);
	fz_check(n <= cap);
	if (rc == RANGE_PARTIAL) {
		fz_check(n >= 1);
		for (size_t i = 0; i < n; i++) {
			fz_check(parts[i].start >= 0 && parts[i].start < parts[i].end);
			fz_check(parts[i].end <= len);
			sum += parts[i].end - parts[i].start;
		}
		fz_check(sum <= len);
		/* framing: for lengths a file can have (the part headers
		 * would overflow an int64_t near INT64_MAX) */
		if (len > (1LL << 62)) {
			free(val);
			return 0;
		}
		s.v = parts;
		s.n = n;
		s.len = len;
		strcpy(s.boundary, "00000000000000000001");
		for (size_t i = 0; i <= n; i++) {
			char head[160];
			size_t k = range_format_head(&s, i, head, sizeof(head));

			fz_check(k > 0);
			framed += (int64_t)k + (i < n ? parts[i].end - parts[i].start : 0);
		}
		fz_check(framed == range_multipart_len(&s));
	}
	free(val);
	return 0;
}
