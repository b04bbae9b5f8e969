/* SPDX-License-Identifier: MIT */
/*
 * The XDP guard's life in the daemon (bpf/guard.bpf.c): loading it with
 * its maps pinned under bpf_pin_path (a restart reuses them: same ids,
 * bans kept), attaching it through pinned bpf links to the interfaces
 * `xdp_attach` names (a restarted lbd replaces the program atomically),
 * following link events through libnl so an interface that comes back is
 * re-attached, and reading its counters. Main thread only.
 *
 * Without BPF (no privilege, no kernel support) the guard says so once and
 * the ban list lives in lbd (ban.c), enforced at accept time.
 */
#ifndef LBD_GUARD_H
#define LBD_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lbd_bpf.h"

struct cfg;

/* guard_apply - bring the guard in line with CFG (start and each reload):
 * load or reload the program (xdp_syn_limit is compiled in), sync the
 * allow list and the ban_list file, attach to the configured interfaces
 * and detach from the others. Never fatal: problems are logged. */
void guard_apply(const struct cfg *cfg);

/* guard_tick - once a second: expire bans, re-check attachments. */
void guard_tick(void);

/* guard_nl_fd - the netlink socket to poll for link events, or -1. */
int guard_nl_fd(void);

/* guard_nl_run - read pending link events; re-attach where needed. */
void guard_nl_run(void);

/* guard_loaded - whether the XDP program and its maps are in use. */
bool guard_loaded(void);

/* guard_stats - packets by enum lb_xdp_reason, summed over CPUs. -errno
 * when the guard is not loaded. */
int guard_stats(uint64_t out[LB_XDP_NREASONS]);

/* struct guard_if - an xdp_attach interface as `kernel stats` shows it. */
struct guard_if {
	char name[16];	  /* interface */
	int ifindex;	  /* 0 = not present */
	const char *mode; /* "native", "generic", or "-" (not attached) */
	uint32_t prog_id; /* attached program id, 0 = none */
	char error[96];	  /* why not attached, "" when attached */
};

/* guard_ifs - up to MAX configured interfaces into OUT; returns count. */
int guard_ifs(struct guard_if *out, int max);

/* guard_describe - one line for `lbctl status` / the start log. */
void guard_describe(char *buf, size_t len);

/* guard_syn_limit - the SYN budget in force (thousandths/s, burst). */
void guard_syn_limit(uint32_t *rate, uint32_t *burst);

/* guard_close - at exit: close fds. Pinned links and maps stay, so the
 * ban list keeps dropping while lbd is down. */
void guard_close(void);

#endif
