/* SPDX-License-Identifier: MIT */
/*
 * realip: the client address behind trusted proxies, as nginx's realip
 * module finds it. When the connecting peer is in set_real_ip_from and the
 * configured header names an address, that address replaces the
 * connection's peer (c->peer) for the rest of the request, as nginx
 * replaces c->sockaddr: $remote_addr, $binary_remote_addr, $remote_port,
 * the access and error logs, allow/deny, limit_req/limit_conn keys,
 * ip_hash, $proxy_add_x_forwarded_for and fail2ban all see it. The TCP peer
 * is kept for $realip_remote_addr/$realip_remote_port and is put back when
 * the request ends. What stays on the TCP peer: the accept-time ban check,
 * the XDP guard and client_conns_per_ip (they run before any request).
 */
#ifndef LBD_REALIP_H
#define LBD_REALIP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "lbd.h"
#include "realip-t.h"

struct conn;
struct cfg_loc;
struct h1_header;

/* realip_parse_addr - nginx's ngx_parse_addr_port on TEXT[0..LEN):
 * "1.2.3.4", "::1", "1.2.3.4:80", "[::1]:80" into SS (port 0 when none).
 * Returns true, or false for anything else (names, junk, bad ports). */
bool realip_parse_addr(const char *text, size_t len, struct sockaddr_storage *ss, socklen_t *sl);

/* realip_trusted - whether SS matches one of FROM[0..N) (IPv4-mapped IPv6
 * peers match IPv4 networks, as ngx_cidr_match). */
bool realip_trusted(const struct sockaddr_storage *ss, const struct realip_cidr *from, int n);

/* realip_find - ngx_http_get_forwarded_addr: starting from the peer in
 * *SS, walk VALS[0..NVALS) (the header values in the order received; for
 * X-Forwarded-For every header, else one) from the end. Each step needs
 * the current address trusted; it takes the last address of the list
 * (and with RECURSIVE, goes on leftwards while the address found is a
 * trusted one too). Returns true with *SS and *SL replaced when an address
 * was taken, false (unchanged) otherwise. Malformed entries stop the walk. */
bool realip_find(struct sockaddr_storage *ss, socklen_t *sl, const struct lstr *vals, int nvals,
		 const struct realip_cidr *from, int nfrom, bool recursive);

/* realip_forwarded - the address C's X-Forwarded-For headers give when
 * its peer is one of FROM[0..NFROM) (realip_find's walk; the geo module's
 * `proxy`): true with *SS and *SL set, false (*SS the peer) otherwise. */
bool realip_forwarded(const struct conn *c, const struct realip_cidr *from, int nfrom,
		      bool recursive, struct sockaddr_storage *ss, socklen_t *sl);

/* realip_apply - run realip for the request on C with the settings of L
 * (the server level after the server is chosen, then the location at the
 * preaccess phase); once the address is replaced, later calls do nothing
 * until the request ends. A real address that is banned gets 403 (the
 * ban could not be enforced at accept time or in XDP: the TCP peer is the
 * proxy). Returns true when the request was answered. */
bool realip_apply(struct conn *c, const struct cfg_loc *l);

/* realip_applied - whether C's peer is a real address from a header now. */
bool realip_applied(const struct conn *c);

/* realip_orig - the TCP peer of C ($realip_remote_addr), and its length. */
const struct sockaddr_storage *realip_orig(const struct conn *c, socklen_t *len);

/* realip_restore - the request is over: put the TCP peer back. Call
 * before the request's pool is reset. */
void realip_restore(struct conn *c);

#endif
