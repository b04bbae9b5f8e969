/* SPDX-License-Identifier: MIT */
/*
 * nginx's referer module as lbd has it: one level's `valid_referers`
 * (server, location), read by $invalid_referer. Types only.
 */
#ifndef LBD_REFERER_T_H
#define LBD_REFERER_T_H

#include <stdbool.h>
#include <stddef.h>

/* struct referer_key - one host of valid_referers, with its URI prefix. */
struct referer_key {
	char *name; /* lowercased; as struct server_name: ".x" for "*.x" and ".x",
		     * "x." for "x.*", else the exact name */
	size_t len; /* length of name */
	int kind;   /* server_name's kinds: 0 exact, 1 "*.x", 2 "x.*", 4 ".x" */
	char *uri;  /* "/path" that the referer's path must start with, or NULL */
	size_t urilen;
	const char *text; /* as written without the URI (the conflict message) */
};

/* struct referer_conf - one level's valid_referers (all directives of the
 * level add up; a level without any inherits its parent's whole set). */
struct referer_conf {
	bool set;		  /* valid_referers given at this level (owns the regexes) */
	bool none;		  /* `none`: no Referer header is valid */
	bool blocked;		  /* `blocked`: a Referer without http:// or https:// is valid */
	bool server_names;	  /* `server_names`: the server's names count as keys */
	struct referer_key *keys; /* hosts in order */
	int nkeys;
	void **re; /* `~regex` (pcre2_code *, caseless) on the referer without its scheme;
		    * a level without any takes its parent's (nginx) */
	int nre;
	bool own_re;	 /* re written at this level (freed with it) */
	const void *srv; /* struct cfg_srv * whose names server_names adds (exact, wildcards) */
	const void *sn_re_srv; /* the server whose regex names are tried on the host: this
				* level's with server_names, else inherited as the regexes */
	int hash_max;	       /* referer_hash_max_size (accepted, no hash here), 0 unset */
	int hash_bucket;       /* referer_hash_bucket_size, likewise */
};

#endif
