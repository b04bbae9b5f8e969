/* SPDX-License-Identifier: MIT */
/*
 * SCGI (scgi_pass): the request is a netstring - "LEN:" then the headers,
 * each NAME NUL VALUE NUL, CONTENT_LENGTH first (the body's length, as
 * nginx), then scgi_param's and the client's headers as HTTP_* - then
 * ",", then the body raw. The answer is read as uwsgi's (an HTTP status
 * line or a CGI head, up to Content-Length or the close: proxy.c).
 */
#ifndef LBD_SCGI_H
#define LBD_SCGI_H

#include <stddef.h>
#include <stdint.h>

#include "fastcgi.h"
#include "lbd.h"

struct conn;

/* scgi_packet_len - the bytes of the netstring for the N pairs at KV and
 * a body of BODY_LEN bytes (its CONTENT_LENGTH pair included). */
size_t scgi_packet_len(const struct fcgi_kv *kv, size_t n, uint64_t body_len);

/* scgi_packet_put - the netstring at DST (scgi_packet_len() bytes).
 * Returns the bytes written. */
size_t scgi_packet_put(char *dst, const struct fcgi_kv *kv, size_t n, uint64_t body_len);

/* scgi_build_request - the netstring for C from its location's scgi_*
 * settings and a body of BODY_LEN bytes, in C's pool. 0 or -ENOMEM. */
int scgi_build_request(struct conn *c, uint64_t body_len, struct lstr *out);

#endif
