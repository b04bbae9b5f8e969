/* SPDX-License-Identifier: MIT */
/*
 * Temp file directories (client_body_temp_path, proxy_temp_path): when lbd
 * drops privileges, made at start and given to the `user`, as nginx makes
 * its temp paths, so that the unprivileged lbd can make its files there
 * even in a root-owned prefix. Otherwise (and for a path added by a
 * reload) reqbody.c and pbuf.c make a missing directory when first needed.
 */
#ifndef LBD_TMPDIR_H
#define LBD_TMPDIR_H

#include <sys/types.h>

struct cfg;

/* tmpdir_prepare_all - make every temp directory of C (mode 0700, the
 * parent must exist) and give it to UID with rwx for its owner (the group
 * stays), as nginx does at start. Run as root, before the privileges are dropped.
 * A directory that cannot be made or given is logged (warn) and left:
 * requests that need it get the error then. */
void tmpdir_prepare_all(const struct cfg *c, uid_t uid);

/* tmpdir_open - an unnamed temp file (O_TMPFILE, 0600) in DIR, making DIR
 * (0700) when it is missing, as nginx makes its temp paths when first
 * needed. The fd, or -1 with errno set. */
int tmpdir_open(const char *dir);

#endif
