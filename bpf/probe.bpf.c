// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Feature probe: the smallest XDP program and sk_skb verdict program the
 * kernel must accept for lbd's packet path (XDP guard) and its in-kernel
 * splicing (sockmap). `lbd -V` loads this object to tell what the host
 * supports; it is never attached.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} lb_probe_sockhash SEC(".maps");

SEC("xdp")
int lb_probe_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("sk_skb/stream_verdict")
int lb_probe_verdict(struct __sk_buff *skb)
{
	__u32 key = 0;

	return bpf_sk_redirect_hash(skb, &lb_probe_sockhash, &key, 0);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
