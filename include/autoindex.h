/* SPDX-License-Identifier: MIT */
/*
 * nginx's autoindex: the listing of a directory whose URI ends in '/'
 * and that has no index file, as html, xml, json or jsonp.
 */
#ifndef LBD_AUTOINDEX_H
#define LBD_AUTOINDEX_H

#include <stdbool.h>

struct conn;

/* autoindex_format values (cfg_loc.autoindex_format) */
enum autoindex_fmt {
	AUTOINDEX_HTML = 0,
	AUTOINDEX_JSON,
	AUTOINDEX_JSONP,
	AUTOINDEX_XML,
};

/* autoindex_serve - answer C (GET or HEAD of a URI ending in '/') with the
 * listing of directory DIR (as mapped, with its trailing '/'): the entries
 * are read, sorted and counted first, the head says their length, and the
 * body is rendered into c->out a batch at a time by autoindex_next. Errors
 * answer as nginx (404/403/500 for opendir, 400 for a bad jsonp callback)
 * with nginx's log line. */
void autoindex_serve(struct conn *c, const char *dir);

/* autoindex_next - called by http_flush when c->out is empty and a
 * listing is being sent: appends the next batch of it. True when it
 * appended bytes (flush again), false when the listing is complete. */
bool autoindex_next(struct conn *c);

#endif
