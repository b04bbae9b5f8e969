/* SPDX-License-Identifier: MIT */
/*
 * Secure links (securelink.c): nginx's ngx_http_secure_link_module behind
 * $secure_link and $secure_link_expires, and its pure steps.
 */
#ifndef LBD_SECURELINK_H
#define LBD_SECURELINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lbd.h"
#include "securelink-t.h"

struct conn;

/* securelink_b64url - decode base64url SRC (LEN bytes; '-' and '_', a '='
 * ends it, as nginx's ngx_decode_base64url) into OUT (room for
 * (LEN + 3) / 4 * 3 bytes); the decoded length, or -1 for a byte outside
 * the alphabet or a length that leaves one lone character. */
int securelink_b64url(const char *src, size_t len, unsigned char *out);

/* securelink_time - nginx's ngx_atotm: the decimal number in P (LEN
 * bytes), or -1 when empty, not all digits, or over INT64_MAX. */
int64_t securelink_time(const char *p, size_t len);

/* securelink_md5 - the MD5 of A then B into OUT; 0 or -1. */
int securelink_md5(const void *a, size_t alen, const void *b, size_t blen, unsigned char out[16]);

/* securelink_secret_link - secure_link_secret's check of URI ($request_uri,
 * LEN bytes): "/PREFIX/HASH/LINK" where HASH is 32 hex digits of
 * MD5(LINK SECRET); true with *LINK (a view into URI) when it holds. */
bool securelink_secret_link(const char *uri, size_t len, const char *secret, size_t slen,
			    struct lstr *link);

/* securelink_var / securelink_expires_var - $secure_link ("1" valid, "0"
 * expired, not found otherwise; with secure_link_secret the link part) and
 * $secure_link_expires (the expiry text, found only once $secure_link
 * parsed one, as nginx); VAR_FOUND / VAR_NOT_FOUND / -ENOMEM. */
int securelink_var(struct conn *c, struct lstr *out);
int securelink_expires_var(struct conn *c, struct lstr *out);

#endif
