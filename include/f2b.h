/* SPDX-License-Identifier: MIT */
/*
 * Built-in fail2ban: jails (`fail2ban_jail NAME ...` in http) count a
 * client's offences — responses with chosen statuses, requests rejected by
 * limit_req — and after `maxretry` of them within `findtime` the client is
 * banned for `bantime` (ban.c: XDP and accept time). Jails are applied
 * with `fail2ban NAME...|off` in http, server or location.
 *
 * Offence counters are shared by all workers (one table per jail name,
 * kept across reloads), striped by client address so workers rarely
 * meet on a lock, and bounded: a full neighbourhood forgets its oldest
 * window.
 */
#ifndef LBD_F2B_H
#define LBD_F2B_H

#include <stdbool.h>
#include <stdint.h>

struct conn;
struct f2b_table;

/* struct f2b_jail - one fail2ban_jail directive. */
struct f2b_jail {
	char *name;		 /* jail name */
	bool on_limit_req;	 /* a limit_req rejection is an offence */
	uint64_t statuses[8];	 /* bit (status - 100): a response status that is an offence */
	int maxretry;		 /* offences that trigger the ban */
	int64_t findtime_ms;	 /* window in which they must happen */
	int64_t bantime_ms;	 /* ban duration */
	struct f2b_table *table; /* shared counters (from the registry, by name) */
};

/* f2b_table_get - the counters of jail NAME, created on first use and kept
 * for the life of the process (a reload keeps what was counted). NULL on
 * OOM. Configuration time only. */
struct f2b_table *f2b_table_get(const char *name);

/* f2b_status_set - mark STATUS (100..599) as an offence in J. */
void f2b_status_set(struct f2b_jail *j, int status);

/* f2b_status_is - whether STATUS is an offence in J. */
bool f2b_status_is(const struct f2b_jail *j, int status);

/* f2b_offence - count one offence of the client ADDR (16 bytes, IPv4
 * mapped) in J at NOW_MS; true when this one reached maxretry (the
 * counter then starts again). Any worker. */
bool f2b_offence(const struct f2b_jail *j, const uint8_t addr[16], int64_t now_ms);

/* f2b_request_done - at the end of a request: count it in the jails of its
 * location, ban the client when one of them says so (the connection then
 * closes after this response). */
void f2b_request_done(struct conn *c);

#endif
