// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * In-kernel splicing of established streams (DESIGN.md, "Splicing"): an
 * sk_skb stream verdict on the SOCKHASH lb_splice redirects each socket's
 * bytes to its peer's egress, so they never reach lbd.
 *
 * Backpressure: sockmap alone has none (redirected bytes queue in kernel
 * memory). Before redirecting, the program computes what the direction
 * already holds unacknowledged at its destination — bytes lbd wrote there
 * plus bytes redirected, minus the destination's bytes_acked — and over
 * the stream's limit it pauses the direction: the skb and every later one
 * stay queued on the source socket for lbd (SK_PASS), whose receive window
 * then closes towards the sender. lbd relays them itself, after the
 * redirected bytes have reached the destination's queue (order), and
 * resumes the direction by publishing resume_at = passed once it has
 * consumed everything the program left it: the next skb goes back to the
 * kernel path only if nothing was passed in between.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "lbd_bpf.h"

/* the kernel's skb behind the context (kernel 6.3+; without it the
 * program does not look at sequences) */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;
/* a read-only view of a kernel object as TYPE (kernel 6.2+) */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* lb_splice - the spliced sockets, keyed by their own cookie. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} lb_splice SEC(".maps");

/* lb_splice_peer - socket cookie -> its peer, stream and direction. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct lb_splice_peer);
} lb_splice_peer SEC(".maps");

/* lb_streams - per stream, what the program did (bytes each way). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct lb_stream);
} lb_streams SEC(".maps");

/* lb_stream_ctl - per stream, what lbd tells the program. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct lb_stream_ctl);
} lb_stream_ctl SEC(".maps");

/* bpf_skb_adjust_room takes at most 4095 bytes off an sk_skb per call;
 * LB_TRIM_STEPS calls cover 256 KiB (a coalesced segment of the receive
 * queue can be bigger than one of 64 KiB). */
#define LB_TRIM_STEP  4095
#define LB_TRIM_STEPS 64

static __always_inline int pass(struct lb_stream *s, __u32 d, __u32 len)
{
	s->paused[d] = 1;
	__sync_fetch_and_add(&s->passed[d], len);
	return SK_PASS;
}

/* trim_front - take up to OLD bytes (repeats) off the front of SKB, whose
 * kernel skb is K: how many it took. Why: the kernel counts a segment the
 * program handles as read in full (copied_seq += skb->len, whatever part
 * of it was received before), so a whole repeat left in it puts the
 * socket's copied_seq ahead of rcv_nxt by its length, and from then on
 * the socket's data-ready fires only once more than that many new bytes
 * wait: a short message behind it (a WebSocket's last frame, the 40-byte
 * verdict of test_duplex_256mib_byte_exact) would sit in the receive
 * queue, unseen by the program and by lbd, until more came (README,
 * "Sizes and bounds"). A segment entirely old stays whole (lbd cuts it),
 * and so does a shared skb (the helpers' pull needs it unshared). */
static __always_inline __u32 trim_front(struct __sk_buff *skb, struct sk_buff *k,
					struct lb_stream *s, __u32 d, __u32 old)
{
	__u32 done = 0;

	if (old >= skb->len || k->users.refs.counter != 1)
		return 0;
	/* the repeat into the linear part at once: each adjust_room step
	 * then only moves the data pointer (pulling 4 KiB per step would
	 * grow the head by a reallocation each time) */
	if (bpf_skb_pull_data(skb, old))
		return 0;
	for (int i = 0; i < LB_TRIM_STEPS && done < old; i++) {
		__u32 n = old - done < LB_TRIM_STEP ? old - done : LB_TRIM_STEP;

		if (bpf_skb_adjust_room(skb, -(__s32)n, 0, 0))
			break;
		done += n;
	}
	s->trimmed[d] += done;
	return done;
}

SEC("sk_skb/stream_verdict")
int lb_splice_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb), acked = 0;
	struct lb_splice_peer *p = bpf_map_lookup_elem(&lb_splice_peer, &cookie);
	struct lb_stream_ctl *ctl;
	struct lb_stream *s;
	struct bpf_sock *peer;
	struct tcp_sock *tp;
	__u32 d;

	if (!p)
		return SK_PASS; /* not paired (yet): lbd reads it */
	/* a FIN arrives as an empty skb: redirected, it would reach the peer
	 * after lbd shut it down (lbd forwards FINs itself, behind the data) */
	if (!skb->len)
		return SK_PASS;
	s = bpf_map_lookup_elem(&lb_streams, &p->stream);
	ctl = bpf_map_lookup_elem(&lb_stream_ctl, &p->stream);
	if (!s || !ctl)
		return SK_PASS;
	d = p->dir & 1;
	if ((unsigned long)bpf_cast_to_kern_ctx) {
		struct sk_buff *k = bpf_cast_to_kern_ctx(skb);
		struct tcp_skb_cb *cb = (struct tcp_skb_cb *)&k->cb[0];
		__u32 seq = cb->seq, end = seq + skb->len;
		__s32 behind;

		if (!s->seq_known[d]) {
			/* the direction's first skb: its bytes before the
			 * stream start + what lbd consumed are repeats (a
			 * segment lbd read half of before the socket entered
			 * the map; rcv_nxt - bytes_received is that start,
			 * however many skbs are queued) */
			/* (k->sk is an RCU pointer, which bpf_skc_to_tcp_sock
			 * refuses: a read-only cast reads its fields) */
			struct tcp_sock *me =
				k->sk ? bpf_rdonly_cast(k->sk,
							bpf_core_type_id_kernel(struct tcp_sock))
				      : NULL;

			if (me) {
				s->next_seq[d] = me->rcv_nxt - (__u32)me->bytes_received +
						 (__u32)ctl->consumed[d];
				s->seq_known[d] = 1;
			}
		}
		behind = (__s32)(s->next_seq[d] - seq);

		if (s->seq_known[d] && behind > 0) {
			/* begins with bytes already received: take them off */
			__u32 old = (__u32)behind < skb->len ? (__u32)behind : skb->len;

			if ((__s32)(end - s->next_seq[d]) > 0)
				s->next_seq[d] = end;
			old -= trim_front(skb, k, s, d, old);
			if (old) {
				/* not all: lbd drops what is left of them */
				__u64 n = s->cut_n[d];
				struct lb_cut *c = &s->cut[d][n % LB_CUTS];

				c->at = s->passed[d];
				c->len = old;
				s->cut_n[d] = n + 1;
				return pass(s, d, skb->len);
			}
			/* only new bytes left: on like any segment */
		} else {
			s->next_seq[d] = end;
			s->seq_known[d] = 1;
		}
	}
	/* paused: only once lbd consumed all it was left, and nothing came
	 * since, may this skb go through the kernel again */
	if (s->paused[d] && ctl->resume_at[d] != s->passed[d])
		return pass(s, d, skb->len);
	peer = bpf_map_lookup_elem(&lb_splice, &p->peer);
	if (!peer)
		return pass(s, d, skb->len);
	tp = bpf_skc_to_tcp_sock(peer);
	if (tp)
		acked = tp->bytes_acked;
	bpf_sk_release(peer);
	if (!tp || ctl->user[d] + s->redirected[d] - acked > ctl->limit)
		return pass(s, d, skb->len);
	s->paused[d] = 0;
	__sync_fetch_and_add(&s->redirected[d], skb->len);
	return bpf_sk_redirect_hash(skb, &lb_splice, &p->peer, 0);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
