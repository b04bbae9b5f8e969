/* SPDX-License-Identifier: MIT */
/*
 * In-kernel splicing through sockmap (bpf/splice.bpf.c): loading the
 * verdict program with its maps pinned under bpf_pin_path, and the map
 * operations a tunnel needs to put a stream in the kernel, steer it (pause
 * and resume per direction) and take it out. Loading happens once, on the
 * main thread while privileged; the rest is map updates through fds, from
 * the workers.
 */
#ifndef LBD_KSPLICE_H
#define LBD_KSPLICE_H

#include <stdbool.h>
#include <stdint.h>

#include "lbd_bpf.h"

#define KSPLICE_LIMIT (1 << 20) /* unacknowledged bytes a direction may hold */

/* ksplice_init - load and attach the verdict program (idempotent). 0, or
 * -errno (then streams use the splice(2) relay; said once). */
int ksplice_init(const char *pin_dir);

/* ksplice_ready - whether streams can be spliced in the kernel. */
bool ksplice_ready(void);

/* ksplice_why - why not, for `lbd -V` / `lbctl status` ("" when ready). */
const char *ksplice_why(void);

/* ksplice_open - put the stream ID of the client socket CFD and upstream
 * socket UFD in the kernel, both directions paused (lbd relays until it
 * resumes them). CTL is the initial control block. Fills COOKIES (client,
 * upstream). 0 or -errno (nothing left behind). */
int ksplice_open(uint32_t id, int cfd, int ufd, const struct lb_stream_ctl *ctl,
		 uint64_t cookies[2]);

/* ksplice_set_ctl - publish CTL for stream ID. 0 or -errno. */
int ksplice_set_ctl(uint32_t id, const struct lb_stream_ctl *ctl);

/* ksplice_get - what the program did for stream ID. 0 or -errno. */
int ksplice_get(uint32_t id, struct lb_stream *out);

/* ksplice_close - take stream ID out of the kernel (sockets and entries). */
void ksplice_close(uint32_t id, const uint64_t cookies[2]);

/* ksplice_follows_seq - whether the program follows each direction's TCP
 * sequence (kernel 6.3+): then a socket may enter the map with a segment
 * half read (lb_stream_ctl.consumed says how much), its repeated part is
 * cut. */
bool ksplice_follows_seq(void);

/* ksplice_next_id - a stream id unique in this process. */
uint32_t ksplice_next_id(void);

#endif
