/* SPDX-License-Identifier: MIT */
/*
 * Privilege dropping (the `user` directive). lbd starts as root, binds,
 * opens its logs, control socket, pid file and BPF maps, then switches to
 * the configured user and group and keeps only the capabilities the rest
 * of its life needs (see priv_caps_keep). Capabilities are per thread on
 * Linux: priv_drop refuses to run once a second thread exists.
 */
#ifndef LBD_PRIV_H
#define LBD_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* struct priv_ids - who lbd becomes. */
struct priv_ids {
	uid_t uid;     /* the user's uid */
	gid_t gid;     /* the group's gid (setgid target) */
	char name[64]; /* user name, for initgroups and messages */
	bool group_pw; /* the group fell back to the user's primary group */
};

/* priv_caps_keep - capability mask (bit n = capability n) to keep after
 * the drop. BPF_GATED: every bpf(2) command, even on an already open map
 * fd, is refused without CAP_BPF on this kernel (see priv_bpf_gated);
 * BPF_MAPS: lb_upstreams is mirrored (bpf_pin_path set). */
uint64_t priv_caps_keep(bool bpf_maps, bool bpf_gated);

/* priv_bpf_gated - whether bpf(2) on an open map fd needs CAP_BPF: kernels
 * before 6.5 check kernel.unprivileged_bpf_disabled (SYSCTL) for every
 * command; later ones only for map creation, program and BTF loads.
 * RELEASE is uname's release ("6.1.0-18-amd64"); unparsable = gated. */
bool priv_bpf_gated(const char *release, int sysctl);

/* priv_resolve - look up USER and GROUP (GROUP may be NULL: the user's
 * primary group). A GROUP equal to USER that names no group falls back to
 * the user's primary group, so `user nobody;` works where the group is
 * called nogroup. Returns 0, or -ENOENT / -errno with ERR set. */
int priv_resolve(const char *user, const char *group, struct priv_ids *out, char *err,
		 size_t errlen);

/* priv_caps_format - "cap_net_bind_service,cap_bpf" for MASK into BUF. */
void priv_caps_format(uint64_t mask, char *buf, size_t len);

/* priv_drop - become IDS (supplementary groups from initgroups, then gid,
 * then uid) keeping exactly the capabilities in KEEP, effective and
 * permitted, none inheritable; the process stays dumpable. Must run as
 * root in a single-threaded process. Returns 0, or -errno with ERR set;
 * on failure the process may be half-dropped and should exit. */
int priv_drop(const struct priv_ids *ids, uint64_t keep, char *err, size_t errlen);

#endif
