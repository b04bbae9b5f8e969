/* SPDX-License-Identifier: MIT */
/*
 * userid types (userid.c, cfg_userid.c): a level's userid_* settings and
 * a request's identifier state. Types only.
 */
#ifndef LBD_USERID_T_H
#define LBD_USERID_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* enum userid_mode - `userid`; the order is nginx's (>= V1 sets cookies). */
enum userid_mode {
	USERID_OFF = 0, /* nothing; $uid_got empty */
	USERID_LOG = 1, /* the cookie read for $uid_got, none set */
	USERID_V1 = 2,	/* cookies of version 1: words in host byte order */
	USERID_ON = 3,	/* cookies of version 2: words in network byte order */
};

/* userid_flags bits (nginx's bitmask, accumulated over the directives) */
enum userid_flag {
	USERID_F_SET = 1 << 0,		   /* some userid_flags at this level */
	USERID_F_SECURE = 1 << 2,	   /* "; secure" */
	USERID_F_HTTPONLY = 1 << 3,	   /* "; httponly" */
	USERID_F_SAMESITE_STRICT = 1 << 5, /* "; samesite=strict" */
	USERID_F_SAMESITE_LAX = 1 << 6,	   /* "; samesite=lax" */
	USERID_F_SAMESITE_NONE = 1 << 7,   /* "; samesite=none" */
};

#define USERID_MAX_EXPIRES 2145916555 /* userid_expires max: 31 Dec 2037 23:55:55 GMT */

/* struct userid_loc - a level's userid settings (CFG_UNSET / NULL unset;
 * merged from the outer level as nginx). */
struct userid_loc {
	int enable;	 /* enum userid_mode */
	int flags;	 /* USERID_F_* bits, 0 unset */
	int64_t service; /* userid_service, CFG_UNSET: the local address (on) or 0 (v1) */
	char *name;	 /* userid_name ("uid") */
	char *domain;	 /* "; domain=D", "" for none */
	char *path;	 /* "; path=P" ("; path=/") */
	char *p3p;	 /* P3P header value, "" for none */
	int64_t expires; /* seconds, 0 off, USERID_MAX_EXPIRES; CFG_UNSET */
	int mark;	 /* userid_mark: the character, 0 off, CFG_UNSET */
};

/* struct userid_req - a request's identifiers (request pool). */
struct userid_req {
	uint32_t got[4];   /* from the cookie, as decoded (got[3] == 0: none) */
	uint32_t set[4];   /* to set (set[3] == 0: none, or not made yet) */
	bool made;	   /* set[] was decided (userid_create ran) */
	bool reset;	   /* $uid_reset asked for a new one */
	const char *value; /* the cookie's value as received (marked check) */
	size_t value_len;
};

#endif
