/* SPDX-License-Identifier: MIT */
/*
 * nginx's sub filter (ngx_http_sub_module) types: the patterns of one
 * configuration level with their search tables, the level's settings,
 * and what one request holds. The streaming state (struct subf_ctx) is
 * private to subfilter.c. Types only.
 */
#ifndef LBD_SUBFILTER_T_H
#define LBD_SUBFILTER_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "var-t.h"

#define SUBF_MAX_PATTERNS 255  /* nginx: "number of search patterns exceeds 255" */
#define SUBF_MAX_LEN	  1024 /* lbd's limit on one search string (bytes) */

struct subf_ctx;
struct recode_table;

/* struct subf_pat - one `sub_filter STRING REPLACEMENT`. */
struct subf_pat {
	char *s;	   /* the search string, ASCII-lowercased as nginx does */
	size_t len;	   /* its length, 1..SUBF_MAX_LEN */
	struct cval repl;  /* the replacement (may hold variables) */
	struct cval match; /* dyn: the search string, evaluated per response */
	bool dyn;	   /* the search string holds variables (s is NULL) */
};

/* struct subf_set - the sub_filter list of one level and its search
 * tables (a Horspool skip over the shortest pattern's length, as nginx's
 * ngx_http_sub_init_tables). Built once at configuration time, or per
 * response (in the request's pool) when a search string has variables. */
struct subf_set {
	struct subf_pat *pats; /* in configuration order */
	int n;		       /* count, 1..SUBF_MAX_PATTERNS */
	size_t min, max;       /* shortest and longest search string */
	bool built;	       /* tables below filled */
	bool dyn;	       /* a search string holds variables: the tables
				* are built per response (subfilter.c) */
	uint8_t shift[256];    /* skip for a byte at the window's last place */
	uint8_t idx[257];      /* patterns whose byte at min-1 is c: order[idx[c], idx[c+1]) */
	uint8_t order[SUBF_MAX_PATTERNS]; /* pattern numbers by that byte, ties in config order */
};

/* struct subf_loc - the sub_filter settings of one http/server/location
 * level. Integers are -1 until merged; the list and the types come whole
 * from the enclosing level when this level sets none. */
struct subf_loc {
	struct subf_set *set; /* sub_filter list; NULL: none */
	bool set_here;	      /* sub_filter given at this level */
	int once;	      /* sub_filter_once on|off, default on */
	int last_modified;    /* sub_filter_last_modified on|off, default off */
	char **types;	      /* sub_filter_types, lowercased; text/html always matches */
	int ntypes;
	bool types_any; /* sub_filter_types * */
	bool types_set; /* set at this level */
};

/* struct subf_req - what one request holds. Zeroed with the request. */
struct subf_req {
	struct subf_ctx *ctx; /* substituting this response's body, NULL otherwise */
	bool active;	      /* the head is edited as the filter's (also for HEAD) */
	bool keep_lm;	      /* sub_filter_last_modified on: Last-Modified kept, ETag weak */
	bool cs_only;	      /* only the charset filter recodes (charset.c): the
			       * validators stay as they are, Content-Length goes
			       * (unless sb) */
	const struct recode_table *sb; /* cs_only with a single-byte table and a known
					* length: the length stays, so Content-Length
					* and ranges do, as nginx's (no chunks) */
};

#endif
