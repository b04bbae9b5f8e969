// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * XDP guard: the packet path of DESIGN.md. For IPv4 and IPv6, behind up to
 * two VLAN tags: an allow list checked first (pass), a ban list of CIDRs
 * with expiry (drop), and a per-source budget of new TCP connections (SYN
 * token bucket; the excess is dropped). Everything else passes, including
 * what cannot be parsed (the kernel's own stack judges it). Per-CPU
 * counters by verdict and reason.
 *
 * Maps are pinned by name (lb_*), so bans outlive the daemon.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lbd_bpf.h"

#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86DD
#define ETH_P_8021Q  0x8100
#define ETH_P_8021AD 0x88A8
#define IPPROTO_TCP_ 6
#define IP_MF	     0x2000
#define IP_OFFMASK   0x1fff
#define NSEC	     1000000000ull

/* SYN budget, set through rodata before load (xdp_syn_limit RATE
 * burst=N): refill in thousandths of a SYN per second, and the bucket
 * size in SYNs; syn_rate 0 = no limit. */
const volatile __u32 syn_rate = 0;
const volatile __u32 syn_burst = 0;

/* Entries in lb_allow4 / lb_allow6, kept by the daemon: with none, the
 * allow-list lookups are skipped (most hosts have none). Not rodata: the
 * daemon updates it without reloading the program. */
volatile __u32 allow_count = 0;

#define MILLI	      1000ull
#define REFILL_CAP_NS (3600ull * NSEC) /* longer idle refills fully anyway */

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lb_lpm4_key);
	__type(value, struct lb_ban_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_ban4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lb_lpm6_key);
	__type(value, struct lb_ban_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_ban6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lb_lpm4_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_allow4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lb_lpm6_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_allow6 SEC(".maps");

/* lb_syn - per-source SYN token bucket (key: IPv4 mapped into IPv6). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072);
	__type(key, struct lb_addr_key);
	__type(value, struct lb_syn_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_syn SEC(".maps");

/* lb_xdp_stats - packets by enum lb_xdp_reason, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_XDP_NREASONS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_xdp_stats SEC(".maps");

static __always_inline int count(__u32 reason, int verdict)
{
	__u64 *c = bpf_map_lookup_elem(&lb_xdp_stats, &reason);

	if (c)
		*c += 1;
	return verdict;
}

/* banned - a ban entry applies while it has not expired (0 = never; the
 * clock is read only for entries that expire). */
static __always_inline bool banned(struct lb_ban_val *v)
{
	if (!v)
		return false;
	if (v->expires_ns && bpf_ktime_get_ns() >= v->expires_ns)
		return false;
	__sync_fetch_and_add(&v->hits, 1);
	return true;
}

/* syn_allowed - take one token from the source's bucket. */
static __always_inline bool syn_allowed(struct lb_addr_key *src)
{
	struct lb_syn_bucket *b, fresh;
	__u64 elapsed, add, now;

	if (!syn_rate)
		return true;
	now = bpf_ktime_get_ns();
	b = bpf_map_lookup_elem(&lb_syn, src);
	if (!b) {
		/* a new source starts with a full bucket, this SYN taken */
		fresh.tokens = syn_burst ? (syn_burst - 1) * MILLI : 0;
		fresh.last_ns = now;
		bpf_map_update_elem(&lb_syn, src, &fresh, BPF_ANY);
		return true;
	}
	/* refill: syn_rate thousandths per second, capped at the burst (racy
	 * across CPUs by design: a bucket is approximate, never locked); the
	 * idle time is capped so that elapsed * rate cannot overflow */
	elapsed = now > b->last_ns ? now - b->last_ns : 0;
	if (elapsed > REFILL_CAP_NS)
		elapsed = REFILL_CAP_NS;
	add = elapsed * syn_rate / NSEC;
	if (add) {
		__u64 t = b->tokens + add, cap = (__u64)syn_burst * MILLI;

		b->tokens = t > cap ? cap : t;
		b->last_ns = now;
	}
	if (b->tokens < MILLI)
		return false;
	b->tokens -= MILLI;
	return true;
}

SEC("xdp")
int lb_guard(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct lb_addr_key src = {};
	__u16 proto;
	void *l4;
	__u8 l4proto;

	if ((void *)(eth + 1) > end)
		return count(LB_XDP_PASS_UNPARSED, XDP_PASS);
	proto = eth->h_proto;
	l4 = eth + 1;
	/* up to two VLAN tags (802.1ad outer, 802.1Q inner) */
#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct vlan_hdr *vh = l4;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > end)
			return count(LB_XDP_PASS_UNPARSED, XDP_PASS);
		proto = vh->h_vlan_encapsulated_proto;
		l4 = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l4;
		struct lb_lpm4_key k4 = {.prefixlen = 32};

		if ((void *)(ip + 1) > end)
			return count(LB_XDP_PASS_UNPARSED, XDP_PASS);
		__builtin_memcpy(k4.addr, &ip->saddr, 4);
		if (allow_count && bpf_map_lookup_elem(&lb_allow4, &k4))
			return count(LB_XDP_PASS_ALLOWED, XDP_PASS);
		if (banned(bpf_map_lookup_elem(&lb_ban4, &k4)))
			return count(LB_XDP_DROP_BANNED, XDP_DROP);
		/* only first fragments carry the TCP header */
		if (ip->protocol != IPPROTO_TCP_ || (ip->frag_off & bpf_htons(IP_OFFMASK)))
			return count(LB_XDP_PASS, XDP_PASS);
		if (ip->ihl < 5)
			return count(LB_XDP_PASS_UNPARSED, XDP_PASS);
		l4 = (void *)ip + ip->ihl * 4;
		src.addr[10] = 0xff;
		src.addr[11] = 0xff;
		__builtin_memcpy(&src.addr[12], &ip->saddr, 4);
		l4proto = IPPROTO_TCP_;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l4;
		struct lb_lpm6_key k6 = {.prefixlen = 128};

		if ((void *)(ip6 + 1) > end)
			return count(LB_XDP_PASS_UNPARSED, XDP_PASS);
		__builtin_memcpy(k6.addr, &ip6->saddr, 16);
		if (allow_count && bpf_map_lookup_elem(&lb_allow6, &k6))
			return count(LB_XDP_PASS_ALLOWED, XDP_PASS);
		if (banned(bpf_map_lookup_elem(&lb_ban6, &k6)))
			return count(LB_XDP_DROP_BANNED, XDP_DROP);
		/* extension headers are not walked: TCP right after the header only */
		if (ip6->nexthdr != IPPROTO_TCP_)
			return count(LB_XDP_PASS, XDP_PASS);
		l4 = ip6 + 1;
		__builtin_memcpy(src.addr, &ip6->saddr, 16);
		l4proto = IPPROTO_TCP_;
	} else {
		return count(LB_XDP_PASS, XDP_PASS);
	}
	if (l4proto == IPPROTO_TCP_) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > end)
			return count(LB_XDP_PASS_UNPARSED, XDP_PASS);
		if (th->syn && !th->ack && !syn_allowed(&src))
			return count(LB_XDP_DROP_SYN, XDP_DROP);
	}
	return count(LB_XDP_PASS, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
