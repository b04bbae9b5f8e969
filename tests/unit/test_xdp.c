/* SPDX-License-Identifier: MIT */
/*
 * The XDP guard (bpf/guard.bpf.c) loaded into the running kernel and run
 * with BPF_PROG_TEST_RUN on crafted frames: IPv4, IPv6, VLAN, truncated
 * frames, fragments, CIDR edges, ban expiry, the allow list, the SYN
 * budget, and the per-reason counters. Needs root and a BPF kernel (the
 * test suite runs as root; without them this fails and says why).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lbd_bpf.h"
#include "skel/guard.skel.h"

#define XDP_DROP_ 1
#define XDP_PASS_ 2

static struct guard_bpf *skel;

static void setup(void)
{
	struct bpf_map *m;

	skel = guard_bpf__open();
	cr_assert_not_null(skel, "open guard: %s", strerror(errno));
	skel->rodata->syn_rate = 1000; /* 1 SYN/s (thousandths) ... */
	skel->rodata->syn_burst = 3;   /* ... after a burst of 3 */
	/* tests use private maps: never the pinned ones of a running lbd */
	bpf_object__for_each_map(m, skel->obj) bpf_map__set_pin_path(m, NULL);
	cr_assert_eq(guard_bpf__load(skel), 0, "load guard (root and a BPF kernel needed): %s",
		     strerror(errno));
}

static void teardown(void)
{
	guard_bpf__destroy(skel);
}

/* frame builders --------------------------------------------------------- */

/* struct frame - a frame starting 2 bytes into an aligned buffer, so the
 * IP header after the 14-byte Ethernet header is 4-byte aligned (as the
 * kernel aligns received packets: NET_IP_ALIGN). */
struct frame {
	_Alignas(8) unsigned char raw[258];
	unsigned char *b; /* raw + 2 */
	size_t len;
};

static void eth(struct frame *f, int vlans, uint16_t proto)
{
	struct ethhdr *e;

	memset(f, 0, sizeof(*f));
	f->b = f->raw + 2;
	e = (struct ethhdr *)f->b;
	memset(e->h_dest, 0x11, 6);
	memset(e->h_source, 0x22, 6);
	f->len = sizeof(*e);
	if (vlans == 0) {
		e->h_proto = htons(proto);
		return;
	}
	e->h_proto = htons(vlans == 2 ? 0x88A8 : 0x8100);
	for (int i = 0; i < vlans; i++) {
		uint16_t *tag = (uint16_t *)(f->b + f->len);

		tag[0] = htons((uint16_t)(100 + i));
		tag[1] = htons(i + 1 < vlans ? 0x8100 : proto);
		f->len += 4;
	}
}

static void tcp(struct frame *f, bool syn, bool ack)
{
	struct tcphdr *t = (struct tcphdr *)(f->b + f->len);

	t->source = htons(40000);
	t->dest = htons(80);
	t->doff = 5;
	t->syn = syn;
	t->ack = ack;
	f->len += sizeof(*t);
}

static void ip4(struct frame *f, const char *src, int vlans, bool syn, bool ack, uint16_t frag)
{
	struct iphdr *ip;

	eth(f, vlans, ETH_P_IP);
	ip = (struct iphdr *)(f->b + f->len);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->frag_off = htons(frag);
	inet_pton(AF_INET, src, &ip->saddr);
	inet_pton(AF_INET, "192.0.2.1", &ip->daddr);
	f->len += sizeof(*ip);
	tcp(f, syn, ack);
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + sizeof(struct tcphdr)));
}

static void ip6(struct frame *f, const char *src, int vlans, bool syn)
{
	struct ipv6hdr *ip;

	eth(f, vlans, ETH_P_IPV6);
	ip = (struct ipv6hdr *)(f->b + f->len);
	ip->version = 6;
	ip->nexthdr = IPPROTO_TCP;
	ip->hop_limit = 64;
	ip->payload_len = htons(sizeof(struct tcphdr));
	inet_pton(AF_INET6, src, &ip->saddr);
	inet_pton(AF_INET6, "2001:db8:ffff::1", &ip->daddr);
	f->len += sizeof(*ip);
	tcp(f, syn, false);
}

static int run(const struct frame *f)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = (__u32)f->len,
		    .repeat = 1);
	int err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.lb_guard), &o);

	cr_assert_eq(err, 0, "BPF_PROG_TEST_RUN: %s", strerror(errno));
	return (int)o.retval;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void ban4(const char *net, int bits, uint64_t expires)
{
	struct lb_lpm4_key k = {.prefixlen = (__u32)bits};
	struct lb_ban_val v = {.expires_ns = expires};

	inet_pton(AF_INET, net, &k.addr);
	cr_assert_eq(bpf_map__update_elem(skel->maps.lb_ban4, &k, sizeof(k), &v, sizeof(v), 0), 0);
}

static uint64_t reason(enum lb_xdp_reason r)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[256] = {0}, sum = 0;
	__u32 key = r;

	cr_assert(ncpu > 0 && ncpu <= 256);
	cr_assert_eq(bpf_map__lookup_elem(skel->maps.lb_xdp_stats, &key, sizeof(key), vals,
					  sizeof(uint64_t) * (size_t)ncpu, 0),
		     0);
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

/* tests ------------------------------------------------------------------ */

Test(xdp, ipv4_cidr_ban_and_edges, .init = setup, .fini = teardown)
{
	struct frame f;

	ip4(&f, "10.1.2.3", 0, false, true, 0);
	cr_expect_eq(run(&f), XDP_PASS_, "nothing banned yet");
	ban4("10.1.0.0", 16, 0);
	cr_expect_eq(run(&f), XDP_DROP_, "inside 10.1.0.0/16");
	ip4(&f, "10.1.255.255", 0, false, true, 0);
	cr_expect_eq(run(&f), XDP_DROP_, "last address of the /16");
	ip4(&f, "10.2.0.0", 0, false, true, 0);
	cr_expect_eq(run(&f), XDP_PASS_, "first address after the /16");
	ip4(&f, "10.0.255.255", 0, false, true, 0);
	cr_expect_eq(run(&f), XDP_PASS_, "last address before the /16");
	ban4("192.0.2.7", 32, 0);
	ip4(&f, "192.0.2.7", 0, false, true, 0);
	cr_expect_eq(run(&f), XDP_DROP_, "a /32");
	ip4(&f, "192.0.2.8", 0, false, true, 0);
	cr_expect_eq(run(&f), XDP_PASS_, "its neighbour");

	struct lb_lpm4_key k = {.prefixlen = 16};
	struct lb_ban_val v;

	inet_pton(AF_INET, "10.1.0.0", &k.addr);
	cr_assert_eq(bpf_map__lookup_elem(skel->maps.lb_ban4, &k, sizeof(k), &v, sizeof(v), 0), 0);
	cr_expect_eq(v.hits, 2, "hits counted per entry");
	cr_expect_eq(reason(LB_XDP_DROP_BANNED), 3);
}

Test(xdp, ban_expiry, .init = setup, .fini = teardown)
{
	struct frame f;

	ip4(&f, "198.51.100.9", 0, false, true, 0);
	ban4("198.51.100.0", 24, now_ns() - 1); /* expired */
	cr_expect_eq(run(&f), XDP_PASS_, "an expired ban no longer drops");
	ban4("198.51.100.0", 24, now_ns() + 60ull * 1000000000ull);
	cr_expect_eq(run(&f), XDP_DROP_, "an unexpired ban drops");
}

Test(xdp, allow_list_first, .init = setup, .fini = teardown)
{
	struct lb_lpm4_key k = {.prefixlen = 24};
	__u32 one = 1;
	struct frame f;

	ban4("203.0.113.0", 24, 0);
	inet_pton(AF_INET, "203.0.113.0", &k.addr);
	cr_assert_eq(
		bpf_map__update_elem(skel->maps.lb_allow4, &k, sizeof(k), &one, sizeof(one), 0), 0);
	ip4(&f, "203.0.113.5", 0, false, true, 0);
	/* the daemon says how many allow entries there are; with none the
	 * lookup is skipped */
	cr_expect_eq(run(&f), XDP_DROP_, "allow list announced empty: not consulted");
	skel->bss->allow_count = 1;
	cr_expect_eq(run(&f), XDP_PASS_, "allowed wins over banned");
	cr_expect_eq(reason(LB_XDP_PASS_ALLOWED), 1);
}

Test(xdp, ipv6_and_vlan, .init = setup, .fini = teardown)
{
	struct lb_lpm6_key k = {.prefixlen = 32};
	struct lb_ban_val v = {0};
	struct frame f;

	inet_pton(AF_INET6, "2001:db8::", k.addr);
	cr_assert_eq(bpf_map__update_elem(skel->maps.lb_ban6, &k, sizeof(k), &v, sizeof(v), 0), 0);
	ip6(&f, "2001:db8:1::42", 0, false);
	cr_expect_eq(run(&f), XDP_DROP_, "IPv6 inside 2001:db8::/32");
	ip6(&f, "2001:db9::1", 0, false);
	cr_expect_eq(run(&f), XDP_PASS_, "IPv6 outside");
	ip6(&f, "2001:db8:1::42", 1, false);
	cr_expect_eq(run(&f), XDP_DROP_, "IPv6 behind one VLAN tag");
	ban4("10.9.0.0", 16, 0);
	ip4(&f, "10.9.1.1", 1, false, true, 0);
	cr_expect_eq(run(&f), XDP_DROP_, "IPv4 behind 802.1Q");
	ip4(&f, "10.9.1.1", 2, false, true, 0);
	cr_expect_eq(run(&f), XDP_DROP_, "IPv4 behind 802.1ad + 802.1Q");
}

Test(xdp, truncated_frames_pass, .init = setup, .fini = teardown)
{
	struct frame f;
	size_t full;

	ban4("10.1.0.0", 16, 0);
	ip4(&f, "10.1.2.3", 0, false, true, 0);
	full = f.len;
	/* (the kernel's test run refuses frames shorter than an Ethernet
	 * header, so the shortest case here is a header alone) */
	f.len = sizeof(struct ethhdr) + 10; /* IPv4 header cut */
	cr_expect_eq(run(&f), XDP_PASS_);
	ip4(&f, "10.1.2.3", 1, false, true, 0);
	f.len = sizeof(struct ethhdr) + 2; /* VLAN tag cut */
	cr_expect_eq(run(&f), XDP_PASS_);
	cr_expect_eq(reason(LB_XDP_PASS_UNPARSED), 2);
	ip4(&f, "10.1.2.3", 0, false, true, 0);
	cr_expect_eq(f.len, full);
	cr_expect_eq(run(&f), XDP_DROP_, "the whole frame is judged");
}

Test(xdp, syn_budget, .init = setup, .fini = teardown)
{
	struct frame f;

	ip4(&f, "100.64.0.1", 0, true, false, 0);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(run(&f), XDP_PASS_, "SYN %d within the burst", i + 1);
	cr_expect_eq(run(&f), XDP_DROP_, "4th SYN over the burst (1/s refill)");
	ip4(&f, "100.64.0.1", 0, false, true, 0);
	cr_expect_eq(run(&f), XDP_PASS_, "an ACK is not a new connection");
	ip4(&f, "100.64.0.2", 0, true, false, 0);
	cr_expect_eq(run(&f), XDP_PASS_, "another source has its own budget");
	ip4(&f, "100.64.0.1", 0, true, false, 0x0005); /* non-first fragment */
	cr_expect_eq(run(&f), XDP_PASS_, "no TCP header in a later fragment");
	ip6(&f, "2001:db8:aaaa::1", 0, true);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(run(&f), XDP_PASS_, "IPv6 SYN %d", i + 1);
	cr_expect_eq(run(&f), XDP_DROP_, "IPv6 SYN over the burst");
	cr_expect_eq(reason(LB_XDP_DROP_SYN), 2);
}

Test(xdp, banned_fragments_dropped, .init = setup, .fini = teardown)
{
	struct frame f;

	ban4("10.1.0.0", 16, 0);
	ip4(&f, "10.1.0.1", 0, false, false, 0x2000 | 0x0010); /* MF + offset */
	cr_expect_eq(run(&f), XDP_DROP_, "every fragment of a banned source");
}
