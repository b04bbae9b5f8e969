/* SPDX-License-Identifier: MIT */
/*
 * Referer checks (referer.c): nginx's ngx_http_referer_module, the test
 * behind $invalid_referer.
 */
#ifndef LBD_REFERER_H
#define LBD_REFERER_H

#include <stdbool.h>
#include <stddef.h>

#include "referer-t.h"

struct cfg_srv;

/* referer_valid - whether a request whose Referer header is REF (LEN
 * bytes; REF NULL: no header) is valid under RC, as nginx decides it:
 * no valid_referers at all is valid; no header needs `none`; a value not
 * starting with "http://" or "https://" (and a host part) needs `blocked`;
 * else the host (lowercased, up to '/' or ':', at most 256 bytes) must be
 * a key (exact, then the longest leading wildcard, then the longest
 * trailing one; the key's URI a prefix of the referer's path) or a name
 * of the server (server_names), or a `~regex` must match the value
 * without its scheme. */
bool referer_valid(const struct referer_conf *rc, const char *ref, size_t len);

/* referer_key_parse - K's name, len and kind from LOW (a lowercased host
 * or wildcard without its URI, kept by K), by nginx's ngx_hash_add_key
 * rules: "*.x", ".x" and "x.*" are the wildcards; more than one '*', a '*'
 * elsewhere, ".." or an empty key are -1 ("invalid hostname or
 * wildcard"); else 0. */
int referer_key_parse(struct referer_key *k, char *low);

/* referer_key_conflict - whether keys A and B claim the same name of
 * nginx's hashes (exact, leading or trailing wildcard): ".x" holds both
 * "x" and "*.x". */
bool referer_key_conflict(const struct referer_key *a, const struct referer_key *b);

#endif
