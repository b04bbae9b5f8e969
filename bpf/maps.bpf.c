// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Maps lbd pins under its bpf_pin_path (default /sys/fs/bpf/lbd) so that
 * `bpftool map dump pinned /sys/fs/bpf/lbd/<map>` shows lbd's state with
 * readable keys and values (BTF). No program: the daemon fills them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "lbd_bpf.h"

/* lb_upstreams - every server of every upstream group, as lbctl shows it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct lb_ups_key);
	__type(value, struct lb_ups_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_upstreams SEC(".maps");

char LICENSE[] SEC("license") = "Dual MIT/GPL";
