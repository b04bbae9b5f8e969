/* SPDX-License-Identifier: MIT */
/*
 * split_clients at run time: the block's string evaluated, hashed with
 * nginx's MurmurHash2 and looked up among the cumulative bounds the
 * configuration made (cfg_split.c), so a key lands in the same bucket as
 * with nginx. No memory per request.
 */
#include <errno.h>
#include <string.h>

#include "split.h"
#include "var.h"

uint32_t split_murmur2(const void *data, size_t len)
{
	const unsigned char *p = data;
	const uint32_t m = 0x5bd1e995;
	uint32_t h = (uint32_t)len, k;

	for (; len >= 4; p += 4, len -= 4) {
		k = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		    (uint32_t)p[3] << 24;
		k *= m;
		k ^= k >> 24;
		k *= m;
		h = h * m ^ k;
	}
	switch (len) {
	case 3:
		h ^= (uint32_t)p[2] << 16;
		/* fall through */
	case 2:
		h ^= (uint32_t)p[1] << 8;
		/* fall through */
	case 1:
		h ^= p[0];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return h;
}

int64_t split_percent(const char *s)
{
	size_t n = strlen(s);
	int64_t v = 0;
	int frac = -1; /* decimals seen after the dot, -1 before it */

	if (n < 2 || s[n - 1] != '%')
		return -1;
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] == '.') {
			if (frac >= 0)
				return -1;
			frac = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || frac == 2 || v > 0xffffffffLL)
			return -1;
		v = v * 10 + (s[i] - '0');
		if (frac >= 0)
			frac++;
	}
	for (int i = frac < 0 ? 0 : frac; i < 2; i++)
		v *= 10;
	return v == 0 || v > 0xffffffffLL ? -1 : v;
}

struct lstr split_pick(const struct split *s, uint32_t hash)
{
	for (int i = 0; i < s->nparts; i++)
		if (hash < s->parts[i].upto || s->parts[i].upto == 0)
			return s->parts[i].value;
	return (struct lstr){"", 0};
}

int split_eval(const struct cfg_map *m, struct conn *c, struct lstr *out)
{
	struct lstr key;

	if (cval_eval(&m->src, c, &key))
		return -ENOMEM;
	*out = split_pick(m->split, split_murmur2(key.p, key.len));
	return 0;
}
