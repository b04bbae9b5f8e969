/* SPDX-License-Identifier: MIT */
/*
 * xdpbench - ns per packet of the XDP guard (bpf/guard.bpf.c), measured by
 * the kernel with BPF_PROG_TEST_RUN and a repeat count, for its pass path
 * and its drop path (IPv4 and IPv6), on private (unpinned) maps holding a
 * given number of bans. Needs root. Usage: xdpbench [REPEAT] [BANS]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lbd_bpf.h"
#include "skel/guard.skel.h"

static size_t frame4(unsigned char *b, const char *src)
{
	struct ethhdr *e = (struct ethhdr *)b;
	struct iphdr *ip = (struct iphdr *)(e + 1);
	struct tcphdr *t = (struct tcphdr *)(ip + 1);

	memset(b, 0, 128);
	e->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->protocol = IPPROTO_TCP;
	inet_pton(AF_INET, src, &ip->saddr);
	t->doff = 5;
	t->ack = 1;
	return sizeof(*e) + sizeof(*ip) + sizeof(*t);
}

static size_t frame6(unsigned char *b, const char *src)
{
	struct ethhdr *e = (struct ethhdr *)b;
	struct ipv6hdr *ip = (struct ipv6hdr *)(e + 1);
	struct tcphdr *t = (struct tcphdr *)(ip + 1);

	memset(b, 0, 128);
	e->h_proto = htons(ETH_P_IPV6);
	ip->version = 6;
	ip->nexthdr = IPPROTO_TCP;
	inet_pton(AF_INET6, src, &ip->saddr);
	t->doff = 5;
	t->ack = 1;
	return sizeof(*e) + sizeof(*ip) + sizeof(*t);
}

static int measure(struct guard_bpf *s, const unsigned char *b, size_t len, __u32 repeat, __u32 *ns,
		   __u32 *ret)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = b, .data_size_in = (__u32)len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(bpf_program__fd(s->progs.lb_guard), &o))
		return -errno;
	*ns = o.duration; /* the kernel's average per run, ns */
	*ret = o.retval;
	return 0;
}

int main(int argc, char **argv)
{
	__u32 repeat = argc > 1 ? (__u32)strtoul(argv[1], NULL, 10) : 1000000;
	int bans = argc > 2 ? atoi(argv[2]) : 10000;
	static const struct {
		const char *name;
		bool v6;
		const char *src;
	} rows[] = {
		{"IPv4 pass", false, "172.16.0.1"},
		{"IPv4 drop (banned)", false, "10.1.2.3"},
		{"IPv6 pass", true, "2001:db9::1"},
		{"IPv6 drop (banned)", true, "2001:db8::1"},
	};
	struct guard_bpf *s = guard_bpf__open();
	struct bpf_map *m;

	if (!s)
		return perror("open"), 1;
	bpf_object__for_each_map(m, s->obj) bpf_map__set_pin_path(m, NULL);
	if (guard_bpf__load(s))
		return fprintf(stderr, "load: %s (root needed)\n", strerror(errno)), 1;
	/* BANS /24 entries in 10.0.0.0/8 (10.1.2.0/24 among them) and one /32 v6 net */
	for (int i = 0; i < bans; i++) {
		uint32_t net = htonl(0x0a000000u | ((unsigned)(i + 258) << 8));
		struct lb_lpm4_key k = {.prefixlen = 24};
		struct lb_ban_val v = {0};

		memcpy(k.addr, &net, 4);
		bpf_map__update_elem(s->maps.lb_ban4, &k, sizeof(k), &v, sizeof(v), 0);
	}
	{
		struct lb_lpm6_key k = {.prefixlen = 32};
		struct lb_ban_val v = {0};

		inet_pton(AF_INET6, "2001:db8::", k.addr);
		bpf_map__update_elem(s->maps.lb_ban6, &k, sizeof(k), &v, sizeof(v), 0);
	}
	printf("%-22s %10s %8s\n", "path", "ns/packet", "verdict");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		/* the IP header 4-byte aligned after the 14-byte Ethernet header */
		_Alignas(8) unsigned char raw[136];
		unsigned char *b = raw + 2;
		size_t len = rows[i].v6 ? frame6(b, rows[i].src) : frame4(b, rows[i].src);
		__u32 ns = 0, ret = 0;

		if (measure(s, b, len, repeat, &ns, &ret))
			return fprintf(stderr, "test run: %s\n", strerror(errno)), 1;
		printf("%-22s %10u %8s\n", rows[i].name, ns,
		       ret == 1	  ? "DROP"
		       : ret == 2 ? "PASS"
				  : "?");
	}
	printf("(%u runs each, %d IPv4 bans in the LPM trie)\n", repeat, bans);
	guard_bpf__destroy(s);
	return 0;
}
