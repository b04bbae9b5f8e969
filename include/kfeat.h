/* SPDX-License-Identifier: MIT */
/*
 * Kernel feature detection for `lbd -V` (and later `lbctl status`): BPF,
 * XDP, sockmap splicing, kernel TLS, SO_REUSEPORT.
 */
#ifndef LBD_KFEAT_H
#define LBD_KFEAT_H

#include <stdbool.h>
#include <stdio.h>

/* struct features - what this host supports. */
struct features {
	bool bpf;      /* a BPF program loads (needs privilege and a BPF kernel) */
	bool xdp;      /* an XDP program loads */
	bool sockmap;  /* a SOCKHASH map and an sk_skb verdict program load */
	bool ktls;     /* the "tls" TCP ULP is available */
	bool btf;      /* the kernel exposes BTF (/sys/kernel/btf/vmlinux) */
	char why[256]; /* why BPF is unavailable, when it is */
};

void features_detect(struct features *f);

/* features_ktls - the kernel has the "tls" TCP ULP (kernel TLS). Cheap:
 * one read of /proc, no BPF probe. */
bool features_ktls(void);
void features_print(FILE *out);

#endif
