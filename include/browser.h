/* SPDX-License-Identifier: MIT */
/*
 * Browser classification (browser.c): nginx's ngx_http_browser_module,
 * the tests behind $modern_browser, $ancient_browser and $msie.
 */
#ifndef LBD_BROWSER_H
#define LBD_BROWSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "browser-t.h"

/* browser_kind_of - the browser modern_browser calls NAME (opera, msie,
 * gecko, safari, konqueror; any case), or -1. */
int browser_kind_of(const char *name);

/* browser_version_parse - S (digits and dots) as a version number (see
 * BROWSER_VERSION_NEVER); -1 on any other byte (nginx: "invalid browser
 * version"), else 0. */
int browser_version_parse(const char *s, uint64_t *out);

/* browser_is_modern - whether a client whose User-Agent is UA (LEN bytes;
 * UA NULL: no header) is modern under BC, as nginx decides it: the
 * modern_browser rules in order (a matching browser of a later or equal
 * version is modern; with rules and no match, ancient unless `unlisted`),
 * then netscape4, then the ancient_browser substrings, then `unlisted`. */
bool browser_is_modern(const struct browser_conf *bc, const char *ua, size_t len);

/* browser_msie - nginx's r->headers_in.msie for User-Agent UA: "MSIE "
 * with at least three more bytes, and not Opera. */
bool browser_msie(const char *ua, size_t len);

/* browser_value - $modern_browser (MODERN) or $ancient_browser for
 * User-Agent UA (LEN; NULL: none) under BC (merged): the level's value
 * when the verdict is that one, else "". */
const char *browser_value(const struct browser_conf *bc, bool modern, const char *ua, size_t len);

#endif
