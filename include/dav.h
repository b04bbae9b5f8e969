/* SPDX-License-Identifier: MIT */
/*
 * WebDAV (nginx's ngx_http_dav_module): PUT, DELETE, MKCOL, COPY and MOVE
 * on the files of a location with `dav_methods`. See dav.c.
 */
#ifndef LBD_DAV_H
#define LBD_DAV_H

#include <stdbool.h>

struct conn;

/* dav_handle - the content phase of C for a method its location's
 * dav_methods names: answered (or its body being read, CS_DAV) and true;
 * false for any other method (the static handler goes on). */
bool dav_handle(struct conn *c);

/* dav_client_event - C is readable in CS_DAV: read more of the PUT body. */
void dav_client_event(struct conn *c);

/* dav_timer - C's timer fired in CS_DAV: client_body_timeout (408
 * logged, the connection closed, as nginx). */
void dav_timer(struct conn *c);

#endif
