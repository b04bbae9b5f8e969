/* SPDX-License-Identifier: MIT */
/*
 * uwsgi (uwsgi_pass): the request packet - a 4-byte header (modifier1,
 * the vars' size as a little-endian u16, modifier2) and the vars, each a
 * little-endian u16 length and bytes for the name, then for the value;
 * the body follows raw. The answer is an HTTP/1.x status line and head
 * (what uWSGI sends), or a CGI head with `Status:`, then the body up to
 * Content-Length or the close: proxy.c reads it as an HTTP answer. The
 * pairs are FastCGI's (fcgi_kv_collect: uwsgi_param, then the client's
 * headers as HTTP_*).
 */
#ifndef LBD_UWSGI_H
#define LBD_UWSGI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fastcgi.h"
#include "h1.h"
#include "lbd.h"

struct conn;

#define UWSGI_VARS_MAX 65535 /* the header's u16: a bigger packet is refused (nginx) */

/* uwsgi_vars_len - the size of the vars block for the N pairs at KV and
 * EXTRA raw bytes after them (uwsgi_string): the header's datasize when
 * at most UWSGI_VARS_MAX. */
size_t uwsgi_vars_len(const struct fcgi_kv *kv, size_t n, size_t extra);

/* uwsgi_packet_put - the packet head at DST: the 4-byte header with
 * modifiers M1 and M2 (their low byte, as nginx), the N pairs, then EXTRA
 * (EXTRA_LEN bytes). DST holds 4 + uwsgi_vars_len() bytes, which must be
 * at most UWSGI_VARS_MAX + 4 (a name or value over 65535 bytes cannot fit
 * then either). Returns the bytes written. */
size_t uwsgi_packet_put(char *dst, int m1, int m2, const struct fcgi_kv *kv, size_t n,
			const char *extra, size_t extra_len);

/* uwsgi_build_request - the packet head for C from its location's
 * uwsgi_* settings, in C's pool. 0, -ENOMEM, or -E2BIG with *SIZE the
 * vars' size that does not fit (nginx: "uwsgi request is too big"). */
int uwsgi_build_request(struct conn *c, struct lstr *out, size_t *size);

/* enum uwsgi_head - what the first bytes of an answer are. */
enum uwsgi_head {
	UWSGI_HEAD_MORE = -1, /* too few bytes to tell */
	UWSGI_HEAD_CGI = 0,   /* a CGI head (Status:, Location:, else 200) */
	UWSGI_HEAD_HTTP = 1,  /* an HTTP/1.x status line */
};

/* uwsgi_head_kind - whether the N bytes at P start an HTTP status line
 * ("HTTP/") or a CGI head, as nginx's uwsgi module tells them apart. */
enum uwsgi_head uwsgi_head_kind(const char *p, size_t n);

/* uwsgi_hidden_by_default - answer headers nginx's uwsgi module hides
 * unless uwsgi_pass_header names them (the X-Accel-* ones). */
bool uwsgi_hidden_by_default(struct h1_str n);

#endif
