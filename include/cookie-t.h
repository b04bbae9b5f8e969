/* SPDX-License-Identifier: MIT */
/*
 * nginx's proxy_cookie_domain, proxy_cookie_path and proxy_cookie_flags:
 * the rewrites of one configuration level. Types only.
 */
#ifndef LBD_COOKIE_T_H
#define LBD_COOKIE_T_H

#include "var-t.h"

/* struct cookie_rewrite - one `proxy_cookie_domain|path FROM TO`. */
struct cookie_rewrite {
	struct cval from; /* string form: domain without its leading dot, or path prefix */
	struct cval to;	  /* replacement (variables; $1.. from a regex form) */
	void *re;	  /* pcre2_code * of a ~ (~* for paths) form, else NULL */
};

/* struct cookie_flags - one `proxy_cookie_flags COOKIE FLAG...`. */
struct cookie_flags {
	struct cval name;   /* cookie name (compared without case), unless re */
	void *re;	    /* pcre2_code * of a ~ form (without case), else NULL */
	struct cval *flags; /* secure, nosecure, httponly, nohttponly, samesite=strict|lax|none,
			      * nosamesite (variables allowed; others ignored, as nginx) */
	int nflags;
};

/* enum cookie_mode - how a level set one of the three directives. */
enum cookie_mode {
	COOKIE_UNSET = 0, /* inherited from the enclosing level */
	COOKIE_OFF,	  /* `off`: none here, none inherited */
	COOKIE_LIST,	  /* the rewrites given at this level */
};

/* struct cookie_loc - a level's Set-Cookie rewrites (inherited as a whole). */
struct cookie_loc {
	struct cookie_rewrite *domains; /* proxy_cookie_domain, in order */
	int ndomains;
	enum cookie_mode domain_mode;
	struct cookie_rewrite *paths; /* proxy_cookie_path, in order */
	int npaths;
	enum cookie_mode path_mode;
	struct cookie_flags *flags; /* proxy_cookie_flags, in order (the first match applies) */
	int nflags;
	enum cookie_mode flags_mode;
};

#endif
