/* SPDX-License-Identifier: MIT */
/*
 * Ban list types: a CIDR in one form for both address families (IPv4 is
 * kept IPv4-mapped, ::ffff:a.b.c.d, with its prefix length plus 96), and
 * the entries read from a `ban_list` file. Types only.
 */
#ifndef LBD_BAN_T_H
#define LBD_BAN_T_H

#include <stdbool.h>
#include <stdint.h>

/* struct ban_cidr - a network: address with the host bits zero. */
struct ban_cidr {
	uint8_t addr[16]; /* IPv6, or IPv4 mapped (::ffff:0:0/96) */
	uint8_t plen;	  /* prefix length in the 128-bit form (IPv4: 96..128) */
	bool v4;	  /* written as IPv4 (plen - 96 is its IPv4 prefix) */
};

/* struct ban_file_ent - one line of a ban_list file. */
struct ban_file_ent {
	struct ban_cidr cidr; /* the network */
	char *reason;	      /* the line's trailing `# comment`, or NULL */
};

#endif
