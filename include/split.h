/* SPDX-License-Identifier: MIT */
/*
 * nginx's split_clients: a variable whose value is chosen by where the
 * MurmurHash2 of a string falls among percentages.
 */
#ifndef LBD_SPLIT_H
#define LBD_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "lbd.h"

struct conn;
struct cfg_map;

/* struct split_part - one `PERCENT VALUE;` line. */
struct split_part {
	uint32_t upto;	   /* the hash is below this (cumulative); 0 for `*` */
	struct lstr value; /* in the configuration's pool */
};

/* struct split - one split_clients block. */
struct split {
	struct split_part *parts; /* in order */
	int nparts;
};

/* split_murmur2 - nginx's ngx_murmur_hash2: MurmurHash2, seed 0, the
 * bytes read as little-endian words. */
uint32_t split_murmur2(const void *data, size_t len);

/* split_percent - nginx's reading of "12.34%" (ngx_atofp with two
 * decimals): hundredths of a percent, or -1 for anything else (no "%",
 * a third decimal, a sign, two dots, zero, over 32 bits). */
int64_t split_percent(const char *s);

/* split_pick - the value for HASH in S ("" when no part takes it). */
struct lstr split_pick(const struct split *s, uint32_t hash);

/* split_eval - the value of split_clients variable M for C. 0 or -ENOMEM. */
int split_eval(const struct cfg_map *m, struct conn *c, struct lstr *out);

#endif
