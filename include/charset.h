/* SPDX-License-Identifier: MIT */
/*
 * The charset filter at run time: which responses get "; charset=NAME"
 * after their Content-Type, decided as nginx's charset header filter does
 * when it has nothing to recode.
 */
#ifndef LBD_CHARSET_H
#define LBD_CHARSET_H

#include <stdbool.h>

#include "charset-t.h"
#include "lbd.h"

struct conn;
struct cfg_loc;

/* charset_pick - the charset L appends to a response of STATUS whose
 * Content-Type is CT, or NULL. FROM_UPSTREAM: CT came from an upstream
 * (proxied or cached) and a "charset=" parameter in it keeps it as it is,
 * as nginx parses only those; lbd's own types (static files, return,
 * error pages) are matched whole. No charset on 301 and 302, none on an
 * empty type, none when L says off. */
const char *charset_pick(const struct cfg_loc *l, int status, struct lstr ct, bool from_upstream);

/* charset_ctype - CT with "; charset=NAME" appended when charset_pick
 * says so (the copy from C's request pool), else CT itself; CT too when
 * the pool is out of memory. */
struct lstr charset_ctype(struct conn *c, const struct cfg_loc *l, int status, struct lstr ct,
			  bool from_upstream);

#endif
