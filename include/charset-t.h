/* SPDX-License-Identifier: MIT */
/*
 * nginx's charset filter as lbd has it: the settings of one configuration
 * level (charset, source_charset, charset_types). Only the half of the
 * filter that names a charset in Content-Type; recoding is refused at -t.
 * Types only.
 */
#ifndef LBD_CHARSET_T_H
#define LBD_CHARSET_T_H

#include <stdbool.h>

/* struct charset_loc - one level's charset settings (inherited). */
struct charset_loc {
	const char *charset;  /* NULL unset, "" off, else the name as first written in the config */
	const char *source;   /* source_charset: NULL unset, "" off, else a name as above */
	const char *src_file; /* where source_charset was set (the -t error of a mismatch) */
	int src_line;
	char **types; /* charset_types, lowercased; NULL + !types_set: the default list */
	int ntypes;
	bool types_set;	    /* charset_types given at this level */
	bool types_any;	    /* charset_types * */
	bool override_seen; /* override_charset off given at this level */
};

#endif
