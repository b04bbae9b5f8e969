/* SPDX-License-Identifier: MIT */
/*
 * The charset filter at run time, as nginx's: which responses get
 * "; charset=NAME" after their Content-Type, and which bodies are recoded
 * from the source charset (the answer's own or source_charset) to the
 * charset, with which charset_map table (recode.c).
 */
#ifndef LBD_CHARSET_H
#define LBD_CHARSET_H

#include <stdbool.h>
#include <stddef.h>

#include "charset-t.h"
#include "lbd.h"

struct conn;
struct cfg_loc;

/* charset_table - the table recoding charset FROM to charset TO (names as
 * interned in M), or NULL when no charset_map joins them. */
static inline const struct recode_table *charset_table(const struct charset_main *m,
						       const char *from, const char *to)
{
	for (int i = 0; m && i < m->nmaps; i++) {
		if (m->maps[i].a == from && m->maps[i].b == to)
			return &m->maps[i].pair.fwd;
		if (m->maps[i].a == to && m->maps[i].b == from)
			return &m->maps[i].pair.back;
	}
	return NULL;
}

/* charset_ctype - the Content-Type to send for a response of STATUS whose
 * type is CT under L: CT with "; charset=NAME" when nginx's filter names
 * one (the copy from C's request pool), else CT itself (also when the pool
 * is out of memory). FROM_UPSTREAM: CT came from an upstream (proxied or
 * cached), whose "charset=" parameter is the source charset (the answer is
 * left alone unless override_charset is on); lbd's own types are matched
 * whole. No charset on 301 and 302, none on an empty type, none when L
 * says off. Logs nginx's error when a recoding has no charset_map. A
 * charset or source_charset variable that is not found sets
 * c->req.cs_fail (CT is returned): nginx fails such a request, and
 * http_head_finish does. */
struct lstr charset_ctype(struct conn *c, const struct cfg_loc *l, int status, struct lstr ct,
			  bool from_upstream);

/* charset_ctype_encoded - charset_ctype for lbd's own answer whose body
 * goes with a Content-Encoding (a gzip_static file): its type is left as
 * it is when the charset filter would recode it, as nginx's. */
struct lstr charset_ctype_encoded(struct conn *c, const struct cfg_loc *l, int status,
				  struct lstr ct);

/* charset_recoder - the table to recode the body of that response with
 * (the same decision), or NULL. ENCODED: it has a Content-Encoding, which
 * nginx never recodes (for an upstream's, its type is then left as it
 * is: charset_ctype sees this through c->req.cs_keep_type). */
const struct recode_table *charset_recoder(struct conn *c, const struct cfg_loc *l, int status,
					   struct lstr ct, bool from_upstream, bool encoded);

#endif
