/* SPDX-License-Identifier: MIT */
/*
 * userid (nginx's ngx_http_userid_filter_module): a cookie identifying the
 * client, NAME=BASE64 of four 32-bit words - service (userid_service or
 * the server's IPv4 address), time, the worker's start value ((usec/20)
 * << 16 | its id) and a sequence - in network byte order under `userid
 * on`, in host byte order under `v1`. A valid cookie received is not set
 * again (unless userid_mark asks for a marked one or $uid_reset for a new
 * one); $uid_got and $uid_set show the words as hex, NAME=... .
 */
#ifndef LBD_USERID_H
#define LBD_USERID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lbd.h"
#include "userid-t.h"

struct conn;

#define USERID_B64_LEN 24 /* base64 of 16 bytes, "==" included */

/* userid_encode - the 16 bytes of UID (as they are in memory) as base64
 * at OUT (USERID_B64_LEN bytes, no NUL), with the first pad character
 * replaced by MARK when not 0, as nginx writes a marked cookie. */
void userid_encode(const uint32_t uid[4], int mark, char *out);

/* userid_decode - the first 22 characters of the N at S (standard base64
 * alphabet, nginx's decoder) into UID. 0, -EINVAL (too short: N < 22) or
 * -EILSEQ (a character out of the alphabet). */
int userid_decode(const char *s, size_t n, uint32_t uid[4]);

/* struct userid_seq - a worker's sequences and start value. */
struct userid_seq {
	uint32_t start; /* (usec / 20) << 16 | id, set once */
	uint32_t v1;	/* next v1 sequence (from 1, by 0x100) */
	uint32_t v2;	/* next v2 sequence (from 0x03030302, by 0x100) */
};

/* userid_make - a new identifier into UID for MODE (USERID_V1 or
 * USERID_ON) as nginx makes it: SERVICE (CFG_UNSET: 0 under v1, else the
 * 4 last bytes of LOCAL's address, 0 for a unix socket), NOW, S's start
 * value and next sequence (S advanced). */
void userid_make(uint32_t uid[4], int mode, int64_t service, const struct sockaddr *local,
		 uint32_t now, struct userid_seq *s);

/* userid_hex - "NAME=" and the four words as 8 upper-case hex digits
 * each, as $uid_got and $uid_set show them, in C's pool. -ENOMEM. */
int userid_hex(struct conn *c, const char *name, const uint32_t uid[4], struct lstr *out);

/* userid_cookie_time - nginx's cookie date for T at OUT (40 bytes):
 * "Thu, 31-Dec-37 23:55:55 GMT", four digits past 2037. Its length. */
size_t userid_cookie_time(char *out, int64_t t);

/* userid_var_got, userid_var_set - $uid_got and $uid_set for C: 0 with
 * *OUT, VAR_NOT_FOUND, or -ENOMEM. */
int userid_var_got(struct conn *c, struct lstr *out);
int userid_var_set(struct conn *c, struct lstr *out);

/* userid_head - nginx's userid header filter: Set-Cookie (and P3P) on the
 * head being built for C when its location's `userid` is v1 or on and an
 * identifier is to be set. 0 or -ENOMEM. */
int userid_head(struct conn *c);

#endif
