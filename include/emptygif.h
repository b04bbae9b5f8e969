/* SPDX-License-Identifier: MIT */
/*
 * Small content handlers of nginx (emptygif.c, randindex.c, flv.c):
 * empty_gif, random_index and flv.
 */
#ifndef LBD_EMPTYGIF_H
#define LBD_EMPTYGIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lbd.h"

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

/* flv_start_arg - the offset in ARGS' first `start=` (its name without
 * case), as nginx reads it: 0 when there is none or it is not a decimal
 * number that fits. */
int64_t flv_start_arg(struct lstr args);

/* flv_handle - `flv`: a method other than GET or HEAD gets 405; a GET or
 * HEAD with a usable `?start=` (above 0, below the file's size) the FLV
 * header and the file from there (its ranges, 304 and 412 as nginx's
 * filters give them). False when the static file path answers instead:
 * no usable start, a URI ending in '/', a file that does not open (that
 * path logs why) or is not a regular file. */
bool flv_handle(struct conn *c);

#endif
