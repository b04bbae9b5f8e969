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

_Static_assert(sizeof(struct lb_ups_key) == 96, "lb_ups_key layout");
_Static_assert(sizeof(struct lb_ups_val) == 56, "lb_ups_val layout");

#endif
