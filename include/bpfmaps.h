/* SPDX-License-Identifier: MIT */
/*
 * lbd's pinned BPF maps (bpf/maps.bpf.c): opened (or reused, same map ids
 * across restarts) under bpf_pin_path, and the upstream table mirrored into
 * lb_upstreams so that bpftool shows what `lbctl upstream list` shows.
 */
#ifndef LBD_BPFMAPS_H
#define LBD_BPFMAPS_H

struct cfg;

/* bpfmaps_sync - mirror CFG's upstream servers into lb_upstreams (opening
 * the maps on first use; bpffs is mounted at /sys/fs/bpf when missing).
 * Returns 0, or -errno once (then logs nothing more until it works). */
int bpfmaps_sync(const struct cfg *cfg);
void bpfmaps_close(void);

/* bpfmaps_ensure_dir - mount bpffs at /sys/fs/bpf when DIR is below it and
 * it is not there yet (as root, at start); then create DIR. 0 or -errno. */
int bpfmaps_ensure_dir(const char *dir);

/* bpfmaps_pin - pin the BPF object FD at PATH, replacing what is pinned
 * there. 0 or -errno. */
int bpfmaps_pin(int fd, const char *path);

#endif
