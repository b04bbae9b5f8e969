/* SPDX-License-Identifier: MIT */
/*
 * Variable types: compiled "complex values" (strings with $variables,
 * evaluated per request) and `map` blocks. Types only.
 */
#ifndef LBD_VAR_T_H
#define LBD_VAR_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg_map;
struct geo;
struct split;

enum cval_kind {
	CVAL_LIT = 0, /* literal bytes */
	CVAL_VAR,     /* builtin variable, by index into the builtin table */
	CVAL_PREFIX,  /* $http_NAME, $arg_NAME, $cookie_NAME, $sent_http_NAME... */
	CVAL_MAP,     /* a variable defined by `map` */
	CVAL_CAPTURE, /* $1..$9 of the last regex match */
	CVAL_NAMED,   /* a name bound at run time: a `set` variable or a
			 * (?<name>...) capture of the last regex match */
};

/* struct cval_part - one piece of a compiled string. */
struct cval_part {
	enum cval_kind kind; /* what this piece is */
	int idx;	     /* builtin var / prefix kind / capture number */
	char *str;	     /* literal bytes, or the NAME of a prefix/named var */
	size_t len;	     /* length of str */
	struct cfg_map *map; /* CVAL_MAP: the map that defines it */
};

/* struct cval - a compiled complex value: "$scheme://$host$request_uri". */
struct cval {
	struct cval_part *parts; /* pieces in order */
	int nparts;		 /* count */
	bool literal;		 /* no variables: parts[0] (if any) is the value */
	char *raw;		 /* the source text, for messages and -T */
};

/* struct map_entry - one `key value;` line of a map. */
struct map_entry {
	char *key;	   /* exact key (lowercased with `hostnames`) */
	size_t keylen;	   /* length */
	void *re;	   /* pcre2_code * for ~ and ~* keys, else NULL */
	struct cval value; /* value (may contain variables) */
};

/* struct cfg_map - `map $src $dst { ... }`. */
struct cfg_map {
	char *name;		 /* "$dst" without the $ */
	struct cval src;	 /* source expression */
	struct map_entry *exact; /* exact keys (linear; maps are small) */
	int nexact;
	struct map_entry *regex; /* regex keys, in order */
	int nregex;
	struct cval def;      /* default value (empty unless set) */
	bool hostnames;	      /* `hostnames` flag: .example.com, *.x forms */
	struct split *split;  /* a `split_clients` block (split.c; src is its string), else NULL */
	struct geo *geo;      /* a `geo` block's networks (geo.c; src is its address), else NULL */
	struct cfg_map *next; /* all maps of the config */
	/* http: 1 + the index of its value in a request's cache
	 * (http_req.mapvals), 0 = never kept (stream); `volatile`: evaluated
	 * at every use */
	int idx;
	bool volatile_;
};

#endif
