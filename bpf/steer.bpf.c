// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Connection steering: the sk_reuseport program attached to every
 * listening address's SO_REUSEPORT group. For each new TCP connection it
 * picks the worker thread with the fewest active client connections (as
 * the workers publish them in lb_workers) and selects that worker's
 * listening socket from lb_steer_socks, so long-lived connections do not
 * pile up on one worker as they can with the kernel's 4-tuple hash.
 * Anything missing (an unknown listener, a socket not in the array) falls
 * back to the kernel's own hash selection: the program never drops.
 *
 * Which listening address a SYN is for: the program reads the listener the
 * kernel's lookup found, reuse_md->sk (a struct bpf_sock, kernels >= 5.14;
 * this host runs 6.18), and looks its bound address up in lb_steer_slots.
 * The TCP header behind reuse_md->data would give only the destination
 * port, which is ambiguous when two listen directives share a port on
 * different addresses (127.0.0.1:80 and [::1]:80); the listener's own
 * address is not, and it is the bound (possibly wildcard) address that
 * lbd knows, not whatever address the client dialed.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "lbd_bpf.h"

#define AF_INET_  2
#define AF_INET6_ 10

/* Workers running (worker_processes), set through rodata before load. */
const volatile __u32 nworkers = 1;

/* lb_workers - per-worker load, written by lbd (mmap, atomic adds). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_STEER_MAX_WORKERS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct lb_worker_load);
} lb_workers SEC(".maps");

/* lb_steer_slots - listening address -> slot in lb_steer_socks. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_STEER_MAX_SLOTS);
	__type(key, struct lb_listen_key);
	__type(value, __u32);
} lb_steer_slots SEC(".maps");

/* lb_steer_socks - every worker's listening socket of every steered
 * address: index slot * LB_STEER_MAX_WORKERS + worker id. */
struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, LB_STEER_MAX_SLOTS *LB_STEER_MAX_WORKERS);
	__type(key, __u32);
	__type(value, __u64);
} lb_steer_socks SEC(".maps");

/* lb_steer_stats - decisions by enum lb_steer_reason, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_STEER_NREASONS);
	__type(key, __u32);
	__type(value, __u64);
} lb_steer_stats SEC(".maps");

static __always_inline int count(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&lb_steer_stats, &reason);

	if (v)
		*v += 1; /* per CPU: no atomics needed */
	return SK_PASS;
}

/* listener_key - K from the listener's bound address. Verifier
 * workaround: struct bpf_sock allows only loads at constant offsets from
 * the socket pointer, and clang turns field reads done under a branch into
 * arithmetic on that pointer ("pointer arithmetic on sock prohibited"), so
 * every field is read unconditionally first. */
static __always_inline void listener_key(struct bpf_sock *sk, struct lb_listen_key *k)
{
	__u32 family = sk->family, port = sk->src_port, ip4 = sk->src_ip4;
	__u32 a[4] = {sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2], sk->src_ip6[3]};

	k->family = family;
	k->port = port;
	if (family == AF_INET_) {
		a[0] = ip4;
		a[1] = a[2] = a[3] = 0;
	}
	__builtin_memcpy(k->addr, a, sizeof(a));
}

SEC("sk_reuseport")
int lb_steer(struct sk_reuseport_md *md)
{
	struct lb_listen_key k = {};
	struct bpf_sock *sk = md->sk;
	__u64 best_load = ~0ull;
	__u32 n = nworkers, start, best = 0, idx, *slot;

	if (!sk || n == 0 || n > LB_STEER_MAX_WORKERS)
		return count(LB_STEER_NO_SLOT);
	listener_key(sk, &k);
	slot = bpf_map_lookup_elem(&lb_steer_slots, &k);
	if (!slot || *slot >= LB_STEER_MAX_SLOTS)
		return count(LB_STEER_NO_SLOT);
	/* Scan from a hash-chosen worker and keep the first strict minimum:
	 * equal loads (an idle daemon, a burst that arrives before the
	 * workers accept) then spread like the kernel's hash would. */
	start = md->hash % n;
	for (__u32 i = 0; i < LB_STEER_MAX_WORKERS; i++) {
		struct lb_worker_load *l;
		__u32 w;

		if (i >= n)
			break;
		w = start + i;
		if (w >= n)
			w -= n;
		l = bpf_map_lookup_elem(&lb_workers, &w);
		if (l && l->active < best_load) {
			best_load = l->active;
			best = w;
		}
	}
	idx = *slot * LB_STEER_MAX_WORKERS + best;
	if (bpf_sk_select_reuseport(md, &lb_steer_socks, &idx, 0))
		return count(LB_STEER_NO_SOCKET);
	return count(LB_STEER_PICKED);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
