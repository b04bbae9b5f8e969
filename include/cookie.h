/* SPDX-License-Identifier: MIT */
/*
 * Rewriting an upstream's Set-Cookie as nginx's proxy module does with
 * proxy_cookie_domain and proxy_cookie_path.
 */
#ifndef LBD_COOKIE_H
#define LBD_COOKIE_H

#include "cookie-t.h"
#include "lbd.h"

struct conn;

/* cookie_active - whether K rewrites anything (a Set-Cookie needs a look). */
static inline bool cookie_active(const struct cookie_loc *k)
{
	return k->ndomains || k->npaths || k->nflags;
}

/* cookie_rewrite - the Set-Cookie value IN after K's rewrites, in *OUT:
 * the first rewrite that matches each Domain and Path attribute replaces
 * it, the first proxy_cookie_flags rule naming the cookie sets or drops
 * Secure, HttpOnly and SameSite (new ones at the end, in that order), and
 * then the whole cookie is written again as nginx writes it
 * ("name=value; Attr=value; Flag", spaces trimmed). A cookie without a
 * "name=value" first, or with nothing rewritten, stays as it came.
 * Memory from C's request pool. Returns 1 (rewritten), 0 (*OUT = IN) or
 * -ENOMEM. */
int cookie_rewrite(struct conn *c, const struct cookie_loc *k, struct lstr in, struct lstr *out);

#endif
