/* SPDX-License-Identifier: MIT */
/*
 * DNS messages for the resolver (resolver.c): an A or AAAA query, and a
 * strict parser of its answer. Pure functions over byte buffers (unit
 * tested, fuzzed).
 */
#ifndef LBD_DNS_H
#define LBD_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_A	     1
#define DNS_CNAME    5
#define DNS_AAAA     28
#define DNS_MAX_NAME 253 /* a name's text, without the final dot */
#define DNS_MAX_MSG  512 /* UDP answer without EDNS0 */
#define DNS_MAX_ADDR 16	 /* addresses kept of one answer */

/* nginx's resolver codes (ngx_resolver_strerror): the DNS RCODEs, and
 * ETIMEDOUT for no answer in time */
#define DNS_FORMERR  1
#define DNS_SERVFAIL 2
#define DNS_NXDOMAIN 3
#define DNS_NOTIMP   4
#define DNS_REFUSED  5

/* struct dns_answer - what one answer said. */
struct dns_answer {
	int rcode;			 /* the header's RCODE (0 = no error) */
	int naddrs;			 /* addresses in addrs */
	uint8_t addrs[DNS_MAX_ADDR][16]; /* 4 bytes each for A, 16 for AAAA */
	uint32_t ttl;			 /* smallest TTL of the records */
	int ncname;			 /* CNAME records seen (nginx follows a lone one) */
	char cname[DNS_MAX_NAME + 1];	 /* the first CNAME's target (cname_len bytes) */
	size_t cname_len;
};

/* dns_name_ok - whether NAME (LEN bytes, no trailing dot needed) is a
 * host name a query can carry: labels of 1-63 bytes of letters, digits,
 * '-' and '_', at most DNS_MAX_NAME bytes. */
int dns_name_ok(const char *name, size_t len);

/* dns_query - the query for NAME of QTYPE (DNS_A or DNS_AAAA) with ID,
 * recursion desired, into BUF (CAP bytes): its length, or -1 (a bad name
 * or too small a buffer). */
int dns_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, size_t len, uint16_t qtype);

/* dns_answer_id - the ID of message P (N bytes), or -1 if it is too short
 * to be one. */
int dns_answer_id(const uint8_t *p, size_t n);

/* dns_parse - read P (N bytes) as the answer to query ID for NAME/QTYPE
 * into OUT. 0, or -1 with *WHY saying what was wrong (not an answer, an
 * ID or question that is not ours, a short or malformed message, a
 * record of the wrong type: nginx's own words where it has them). */
int dns_parse(const uint8_t *p, size_t n, uint16_t id, const char *name, size_t len, uint16_t qtype,
	      struct dns_answer *out, const char **why);

/* dns_strerror - nginx's text for a resolver code. */
const char *dns_strerror(int code);

#endif
