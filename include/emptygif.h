/* SPDX-License-Identifier: MIT */
/*
 * Small content handlers of nginx (emptygif.c, randindex.c): empty_gif
 * and random_index.
 */
#ifndef LBD_EMPTYGIF_H
#define LBD_EMPTYGIF_H

#include <stdbool.h>
#include <stddef.h>

struct conn;

/* emptygif_bytes - nginx's 1x1 transparent GIF (43 bytes), in *LEN. */
const unsigned char *emptygif_bytes(size_t *len);

/* emptygif_handle - `empty_gif`: GET and HEAD get the GIF as image/gif
 * with nginx's fixed Last-Modified (and its 304/412 by the conditional
 * headers); any other method 405. */
void emptygif_handle(struct conn *c);

/* randindex_serve - `random_index on` for a URI ending in '/' whose
 * directory is DIR (NULL: not mapped): an internal redirect to a random
 * regular file there, names starting with '.' left out; 404/403/500 when
 * the directory cannot be opened (logged, as nginx). False when there is
 * no file, so the index module goes on. */
bool randindex_serve(struct conn *c, const char *dir);

#endif
