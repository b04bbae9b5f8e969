/* SPDX-License-Identifier: MIT */
/*
 * nginx's charset filter: the settings of one configuration level
 * (charset, source_charset, override_charset, charset_types) and the
 * http level's charsets and charset_map tables. Types only.
 */
#ifndef LBD_CHARSET_T_H
#define LBD_CHARSET_T_H

#include <stdbool.h>

#include "recode.h"

struct cval;

/* struct charset_loc - one level's charset settings (inherited). */
struct charset_loc {
	const char *charset;	      /* NULL unset, "" off, else the name as first written in
				     * the config (or the "$var" text with charset_v) */
	const struct cval *charset_v; /* charset $var: the name is evaluated per response */
	const char *source;	      /* source_charset: NULL unset, "" off, else a name as above */
	const struct cval *source_v;  /* source_charset $var */
	bool override_on;	      /* override_charset on (override_seen: given here or above) */
	const char *src_file; /* where source_charset was set (the -t error of a mismatch) */
	int src_line;
	char **types; /* charset_types, lowercased; NULL + !types_set: the default list */
	int ntypes;
	bool types_set;	    /* charset_types given at this level */
	bool types_any;	    /* charset_types * */
	bool override_seen; /* override_charset off given at this level */
};

/* struct charset_map - one `charset_map A B { ... }` (http level). */
struct charset_map {
	const char *a, *b;	 /* the two charsets (interned names, see charset_main) */
	struct recode_pair pair; /* pair.fwd recodes A to B, pair.back B to A */
};

/* struct charset_main - every charset the http block names (charset,
 * source_charset, charset_map), one spelling each (the first written: the
 * one sent), and the maps between them. A charset from a variable is
 * looked up here by name, case ignored. */
struct charset_main {
	const char **names;
	int nnames;
	struct charset_map *maps;
	int nmaps;
};

#endif
