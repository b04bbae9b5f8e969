/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The one definition of every struct shared by BPF programs/maps and the
 * daemon. Included by bpf/ (after vmlinux.h) and by userspace (which gets
 * the __u* types from <linux/types.h>). Sizes are checked on both sides.
 */
#ifndef LBD_LBD_BPF_H
#define LBD_LBD_BPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define LB_NAME_UPS 32 /* upstream name bytes in a map key (NUL padded) */
#define LB_NAME_SRV 64 /* server name bytes in a map key (NUL padded) */

/* struct lb_ups_key - key of lb_upstreams: names as in the configuration. */
struct lb_ups_key {
	char upstream[LB_NAME_UPS]; /* upstream group name */
	char server[LB_NAME_SRV];   /* server address as written */
};

/* Server state values (lb_ups_val.state), as `lbctl upstream list` says. */
enum lb_ups_state {
	LB_UPS_UP = 0,	     /* may be picked */
	LB_UPS_DOWN = 1,     /* `down` in the configuration */
	LB_UPS_DRAINING = 2, /* lbctl drain: no new requests */
	LB_UPS_DISABLED = 3, /* lbctl disable */
	LB_UPS_FAILED = 4,   /* passive or active health says unusable */
	LB_UPS_BACKUP = 5,   /* a usable backup server */
};

/* struct lb_ups_val - one server of an upstream group, mirrored by lbd. */
struct lb_ups_val {
	__u8 addr[16];	  /* IPv4 in the first 4 bytes, or IPv6 */
	__u16 family;	  /* AF_INET (2) or AF_INET6 (10) */
	__u16 port;	  /* host byte order */
	__u32 weight;	  /* weight in force */
	__u32 state;	  /* enum lb_ups_state */
	__u32 active;	  /* requests in flight */
	__u64 requests;	  /* requests sent */
	__u64 failures;	  /* failed tries counted */
	__u64 updated_ns; /* CLOCK_MONOTONIC of the last mirror pass */
};

/* ---- XDP guard (bpf/guard.bpf.c) ---- */

/* struct lb_lpm4_key / lb_lpm6_key - LPM trie keys: prefix length in bits,
 * then the address in network byte order (lb_ban4/6, lb_allow4/6). */
struct lb_lpm4_key {
	__u32 prefixlen; /* 0..32 */
	__u8 addr[4];	 /* IPv4, network order (bytes: bpftool prints them) */
};

struct lb_lpm6_key {
	__u32 prefixlen; /* 0..128 */
	__u8 addr[16];	 /* IPv6 */
};

/* Where a ban came from (lb_ban_val.origin): a reload replaces the
 * LB_BAN_FILE entries with the file's new contents and leaves the others. */
enum lb_ban_origin {
	LB_BAN_CTL = 0,	 /* lbctl ban add (or bpftool by hand) */
	LB_BAN_FILE = 1, /* ban_list FILE */
	LB_BAN_AUTO = 2, /* fail2ban: repeated offences */
};

#define LB_BAN_REASON 48 /* reason bytes in a ban entry (NUL padded) */

/* struct lb_ban_val - one banned CIDR. The XDP program reads expires_ns
 * and bumps hits; the rest is for `lbctl ban list` and bpftool readers. */
struct lb_ban_val {
	__u64 expires_ns;	    /* CLOCK_MONOTONIC (bpf_ktime_get_ns) deadline; 0 = never */
	__u64 hits;		    /* packets dropped by this entry */
	__u64 added_unix;	    /* wall-clock seconds when it was added */
	__u32 origin;		    /* enum lb_ban_origin */
	__u32 pad;		    /* zero */
	char reason[LB_BAN_REASON]; /* why, as given (NUL padded) */
};

/* struct lb_addr_key - a source address, IPv4 mapped into IPv6. */
struct lb_addr_key {
	__u8 addr[16];
};

/* struct lb_syn_bucket - per-source SYN token bucket, in thousandths of
 * a SYN so that rates below one per second (Nr/m) refill smoothly. */
struct lb_syn_bucket {
	__u64 tokens;  /* SYNs still allowed now, x1000 */
	__u64 last_ns; /* last refill */
};

/* enum lb_xdp_reason - slots of lb_xdp_stats (packets, per CPU). */
enum lb_xdp_reason {
	LB_XDP_PASS = 0,      /* passed: nothing against it */
	LB_XDP_PASS_ALLOWED,  /* passed: source on the allow list */
	LB_XDP_PASS_UNPARSED, /* passed: too short or not parsed (the stack decides) */
	LB_XDP_DROP_BANNED,   /* dropped: source in the ban list */
	LB_XDP_DROP_SYN,      /* dropped: SYN over the per-source budget */
	LB_XDP_NREASONS,
};

/* ---- connection steering (bpf/steer.bpf.c) ---- */

#define LB_STEER_MAX_WORKERS 64 /* worker ids 0..63 (MAX_WORKERS in worker.c) */
#define LB_STEER_MAX_SLOTS   64 /* listening addresses steered at once */

/* struct lb_worker_load - one worker's load in lb_workers (index: worker
 * id). The map is mmap()ed by lbd: each worker changes its own entry with
 * an atomic add, no syscall; the program only reads. */
struct lb_worker_load {
	__u64 active;	/* client connections accepted and not yet closed */
	__u64 accepted; /* client connections accepted since lbd started */
};

/* struct lb_listen_key - a listening address as the program sees the
 * listener (reuse_md->sk): key of lb_steer_slots, whose value is the slot
 * (lb_steer_socks index = slot * LB_STEER_MAX_WORKERS + worker id). */
struct lb_listen_key {
	__u32 family;  /* AF_INET (2) or AF_INET6 (10) */
	__u32 port;    /* local port, host byte order */
	__u8 addr[16]; /* bound address, network order; IPv4 in the first 4
			* bytes, the rest zero; all zero for a wildcard bind */
};

/* enum lb_steer_reason - slots of lb_steer_stats (decisions, per CPU). */
enum lb_steer_reason {
	LB_STEER_PICKED = 0, /* the least-loaded worker's socket was selected */
	LB_STEER_NO_SLOT,    /* listener not in lb_steer_slots: kernel hash */
	LB_STEER_NO_SOCKET,  /* selection refused (socket gone): kernel hash */
	LB_STEER_NREASONS,
};

/* ---- sockmap splicing (bpf/splice.bpf.c) ---- */

/* Directions of a spliced stream: index of the per-direction fields. */
enum lb_splice_dir {
	LB_SPLICE_UP = 0,   /* client -> upstream */
	LB_SPLICE_DOWN = 1, /* upstream -> client */
};

/* struct lb_splice_peer - value of lb_splice_peer, keyed by a socket's
 * cookie (SO_COOKIE): where its bytes go. */
struct lb_splice_peer {
	__u64 peer;   /* the destination socket's cookie (its lb_splice key) */
	__u32 stream; /* lb_streams / lb_stream_ctl key */
	__u32 dir;    /* enum lb_splice_dir of the bytes this socket receives */
};

#define LB_CUTS 8 /* repeats a direction may hold before lbd reads past them */

/* struct lb_cut - bytes of a segment the socket had already received: lbd
 * drops LEN bytes of the passed stream starting at offset AT. */
struct lb_cut {
	__u64 at;
	__u64 len;
};

/* struct lb_stream - written by the verdict program only. */
struct lb_stream {
	__u64 redirected[2]; /* bytes moved in the kernel, per direction */
	__u64 passed[2];     /* bytes left to lbd (the direction was paused) */
	__u32 paused[2];     /* 1: lbd relays the direction (too much unacked, or
			      * lbd has not resumed it yet) */
	/* A retransmitted segment that overlaps bytes the socket already
	 * received is queued whole (its start before rcv_nxt), and the
	 * sockmap's reader hands it to the program whole: the program, which
	 * knows each segment's TCP sequence, passes such a segment to lbd and
	 * records which of its bytes are repeats. */
	__u32 next_seq[2];	       /* sequence the next segment should start at */
	__u32 seq_known[2];	       /* next_seq is set */
	__u64 cut_n[2];		       /* cuts recorded per direction */
	struct lb_cut cut[2][LB_CUTS]; /* ring, by cut_n % LB_CUTS */
	__u64 trimmed[2];	       /* repeats the program took off segments itself
			   * (the rest are cuts, which lbd drops) */
};

/* struct lb_stream_ctl - written by lbd only, read by the verdict. */
struct lb_stream_ctl {
	__u64 user[2];	    /* bytes lbd wrote to the direction's destination
			     * socket since it was created */
	__u64 resume_at[2]; /* resume redirecting when passed == resume_at */
	__u64 limit;	    /* unacknowledged bytes a direction may hold */
	__u64 consumed[2];  /* bytes lbd read from the direction's source socket
			     * before it entered the map (its first skb may
			     * begin with some of them: a half-read segment) */
};

_Static_assert(sizeof(struct lb_splice_peer) == 16, "lb_splice_peer layout");
_Static_assert(sizeof(struct lb_stream) == 344, "lb_stream layout");
_Static_assert(sizeof(struct lb_stream_ctl) == 56, "lb_stream_ctl layout");
_Static_assert(sizeof(struct lb_lpm4_key) == 8, "lb_lpm4_key layout");
_Static_assert(sizeof(struct lb_lpm6_key) == 20, "lb_lpm6_key layout");
_Static_assert(sizeof(struct lb_ban_val) == 80, "lb_ban_val layout");
_Static_assert(sizeof(struct lb_ups_key) == 96, "lb_ups_key layout");
_Static_assert(sizeof(struct lb_ups_val) == 56, "lb_ups_val layout");
_Static_assert(sizeof(struct lb_worker_load) == 16, "lb_worker_load layout");
_Static_assert(sizeof(struct lb_listen_key) == 24, "lb_listen_key layout");

#endif
