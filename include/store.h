/* SPDX-License-Identifier: MIT */
/*
 * The store (nginx's proxy_store and its FastCGI, uwsgi and SCGI twins):
 * a complete 200 answer from the upstream is written, as its bytes pass
 * on the way to the client, to a temp file in the module's temp path,
 * then renamed to the file name the location gives (root/alias + URI, or
 * the STRING with variables), intermediate directories made, its mode
 * from *_store_access and its mtime from the upstream's Last-Modified.
 * nginx's mirror on demand: the next request for that file finds it.
 */
#ifndef LBD_STORE_H
#define LBD_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "store-t.h"

struct conn;
struct h1_response;

/* store_begin - the upstream's head RESP arrived for the request on C and
 * goes out with a body (BUFFERED: the answer is buffered, as nginx stores
 * only then): when the location stores and RESP is a 200, open the temp
 * file. A failure is logged and leaves the answer unstored. */
void store_begin(struct conn *c, const struct h1_response *resp, bool buffered);
/* store_tee - body bytes P..P+N as they came from the upstream; CHUNKED:
 * still in the upstream's chunked framing (decoded here). */
void store_tee(struct conn *c, const char *p, size_t n, bool chunked);
/* store_active - whether C's answer is being stored (its client may go
 * away: the answer is then read on for the file alone). */
bool store_active(const struct conn *c);
/* store_end - the answer came whole: the file is renamed into place. */
void store_end(struct conn *c);
/* store_cleanup - the request ends: an unfinished temp file is removed. */
void store_cleanup(struct conn *c);

/* store_open_temp - a new named file (0600, read-write) in DIR, named as
 * nginx names its temp files (ten digits, counted from 1; in the level
 * subdirectories of LEVELS (3, 0: none; NULL: none) as nginx's hashed
 * names), DIR and those made (0700) when missing: its fd and its name in
 * *NAME (C's pool), or -1 with errno. For the store,
 * client_body_in_file_only and $request_body_file. */
int store_open_temp(struct conn *c, const char *dir, const uint8_t *levels, char **name);

/* store_access_parse - one *_store_access argument ("user:rw", "group:r",
 * "all:rw") into *MODE's bits; 0, or -1 for an invalid value. */
int store_access_parse(const char *arg, int *mode);

#endif
