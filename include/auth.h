/* SPDX-License-Identifier: MIT */
/*
 * The access phase as nginx runs it after the location is chosen and its
 * rewrites ran: allow/deny (ngx_http_access_module) and HTTP basic
 * authentication (ngx_http_auth_basic_module) combined by `satisfy`, with
 * the block of `limit_except` for the methods it does not list. The user
 * file is read on every request (as nginx), so a changed file takes effect
 * at once. Password schemes: crypt(3) (libxcrypt: bcrypt, sha512/256-crypt,
 * yescrypt, md5-crypt, DES), $apr1$, {PLAIN}, {SHA}, {SSHA}.
 */
#ifndef LBD_AUTH_H
#define LBD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth-t.h"

struct conn;
struct cfg_loc;
struct access_rule;
struct sockaddr_storage;

/* Longest password field nginx reads from a user file line (its buffer). */
#define AUTH_LINE_MAX 2048

/* auth_access - the access phase of the request on C in location L.
 * Returns 0 to go on, the status to answer: 403, 401 (then the
 * request's WWW-Authenticate value is set), 500, or AUTH_AGAIN: an
 * auth_request subrequest runs and the phase is run again once it is done
 * (C is in CS_AUTH meanwhile). */
#define AUTH_AGAIN (-1)
int auth_access(struct conn *c, const struct cfg_loc *l);

/* auth_access_match - the first of NRULES allow/deny RULES matching PEER
 * (IPv4-mapped IPv6 as IPv4, "unix:" any unix-domain peer, "all"): 0 when it
 * allows, 1 when it denies, -1 when none matches. */
int auth_access_match(const struct access_rule *rules, int nrules,
		      const struct sockaddr_storage *peer);

/* auth_method_bit - the AUTH_M_* bit of METHOD (exact, upper case). */
uint32_t auth_method_bit(const char *m, size_t len);

/* auth_b64_decode - nginx's base64 decoding (ngx_decode_base64): the
 * standard alphabet, stops at the first '=', refuses other bytes and a
 * lone trailing character. DST holds (len + 3) / 4 * 3 bytes. true/false. */
bool auth_b64_decode(const char *s, size_t len, unsigned char *dst, size_t *outlen);

/* auth_apr1 - Apache's MD5 crypt of KEY with SETTING ("$apr1$SALT[$...]")
 * into OUT (at least 38 bytes): "$apr1$SALT$HASH". 0, or -EINVAL. */
int auth_apr1(const char *key, const char *setting, char *out, size_t outlen);

/* auth_check_password - whether KEY matches the user file's password
 * field HASH (NUL-terminated), any scheme nginx knows; compared in
 * constant time. 1 match, 0 mismatch, -EINVAL an unusable hash (crypt(3)
 * refused it: nginx answers 500). */
int auth_check_password(const char *key, const char *hash);

#endif
