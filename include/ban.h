/* SPDX-License-Identifier: MIT */
/*
 * The ban list: CIDRs whose clients are refused, each with an optional
 * expiry, a reason and hit counts. The store is the pinned XDP maps
 * (lb_ban4 / lb_ban6) when the guard is loaded, else lbd's own table; in
 * both cases workers check new connections at accept time against an
 * immutable snapshot (no lock, no syscall), so a ban holds for traffic
 * that XDP does not see (loopback, interfaces without xdp_attach, no BPF).
 *
 * Writers (control socket, ban_list file, fail2ban) serialize on one
 * mutex, off the request path. Readers are the workers' accepts.
 */
#ifndef LBD_BAN_H
#define LBD_BAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ban-t.h"
#include "lbd_bpf.h"

#define BAN_MAX 65536 /* entries per family, as the XDP tries hold */

/* ban_cidr_parse - "ADDR" or "ADDR/LEN" (IPv4 or IPv6) into OUT. Host bits
 * must be zero (1.2.3.4/24 is refused: did the user mean 1.2.3.0/24?).
 * Returns 0, or -EINVAL with a message in ERR. */
int ban_cidr_parse(const char *s, struct ban_cidr *out, char *err, size_t errlen);

/* ban_cidr_format - C as the user writes it ("10.0.0.0/8", "2001:db8::/32",
 * a single host without "/32" or "/128"). */
void ban_cidr_format(const struct ban_cidr *c, char *buf, size_t len);

/* ban_cidr_of - the host CIDR (/32 or /128) of a socket address; false
 * for other families. */
bool ban_cidr_of(const struct sockaddr_storage *ss, struct ban_cidr *out);

/* ban_cidr_key - C as an LPM trie key: fills K4 and returns true for an
 * IPv4 network, else fills K6. */
bool ban_cidr_key(const struct ban_cidr *c, struct lb_lpm4_key *k4, struct lb_lpm6_key *k6);

/* ban_cidr_of_key4 / ban_cidr_of_key6 - an LPM trie key back to a CIDR. */
void ban_cidr_of_key4(const struct lb_lpm4_key *k, struct ban_cidr *c);
void ban_cidr_of_key6(const struct lb_lpm6_key *k, struct ban_cidr *c);

/* ban_file_parse - read a ban_list file: one CIDR per line, `#` starts a
 * comment (the comment after a CIDR becomes its reason), blank lines.
 * Returns a malloc'ed array (free with ban_file_free) in *OUT, or
 * -errno / -EINVAL with "FILE:LINE: message" in ERR. */
int ban_file_parse(const char *path, struct ban_file_ent **out, int *n, char *err, size_t errlen);
void ban_file_free(struct ban_file_ent *v, int n);

/* ban_use_maps - make the XDP tries (fds) the store, importing what they
 * already hold (a restart finds its bans); -1, -1 = lbd's own table.
 * Main thread. */
void ban_use_maps(int fd4, int fd6);

/* ban_add - ban C for TTL_MS (0 = until removed), with REASON (may be
 * NULL) and ORIGIN. Returns 0; -EEXIST when C is already banned; -ENOSPC
 * when the list is full; other -errno from the kernel. Any thread. */
int ban_add(const struct ban_cidr *c, int64_t ttl_ms, const char *reason,
	    enum lb_ban_origin origin);

/* ban_del - lift the ban on exactly C. 0, or -ENOENT. */
int ban_del(const struct ban_cidr *c);

/* ban_flush - lift every ban; returns how many were lifted. */
int ban_flush(void);

/* ban_set_file - make the LB_BAN_FILE entries exactly V[0..N) (a reload
 * of ban_list: lines gone are lifted, new ones added, entries of other
 * origins untouched). Returns entries added. */
int ban_set_file(const struct ban_file_ent *v, int n);

/* struct ban_info - one entry as `ban list` shows it. */
struct ban_info {
	struct ban_cidr cidr;  /* the network */
	struct lb_ban_val val; /* expiry (monotonic ns), XDP hits, origin, reason */
	uint64_t accept_hits;  /* connections refused at accept time */
};

/* ban_list - every entry, through FN (stop early by returning non-zero).
 * Returns the number of entries visited. */
int ban_list(int (*fn)(const struct ban_info *bi, void *arg), void *arg);

/* ban_expire - lift the entries whose TTL has passed (each logged).
 * Main thread, once a second. Returns how many were lifted. */
int ban_expire(void);

/* ban_set_allow - the allow list (xdp_allow), checked before bans at
 * accept time as the XDP program does. Main thread. */
void ban_set_allow(const struct ban_cidr *v, int n);

/* ban_blocked - whether a new connection from PEER must be refused
 * (banned and not allowed). Lock-free; any worker. */
bool ban_blocked(const struct sockaddr_storage *peer);

/* ban_allowed - whether the host C is on the allow list (never banned by
 * fail2ban). */
bool ban_allowed(const struct ban_cidr *c);

/* ban_count - entries in force. */
int ban_count(void);

/* ban_origin_name - "lbctl", "file" or "fail2ban". */
const char *ban_origin_name(uint32_t origin);

/* ban_reset - forget everything (tests; the maps are not touched). */
void ban_reset(void);

#endif
