/* SPDX-License-Identifier: MIT */
/*
 * nginx's secure_link module as lbd has it: one level's settings, read by
 * $secure_link and $secure_link_expires. Types only.
 */
#ifndef LBD_SECURELINK_T_H
#define LBD_SECURELINK_T_H

#include <stdbool.h>
#include <stddef.h>

#include "var-t.h"

/* struct securelink_loc - secure_link, secure_link_md5, secure_link_secret
 * of one level (merged as nginx: a secret level takes neither expression,
 * an expression level takes no secret). */
struct securelink_loc {
	struct cval *link;  /* secure_link EXPR: "HASH[,EXPIRES]"; NULL unset */
	struct cval *md5;   /* secure_link_md5 EXPR: what HASH is the MD5 of; NULL unset */
	const char *secret; /* secure_link_secret WORD; NULL unset */
	size_t secretlen;
	const char *file; /* where this level's secure_link_secret is (the mix error) */
	int line;
};

#endif
