/* SPDX-License-Identifier: MIT */
/*
 * uwsgi requests (uwsgi_pass): the packet head built from the request and
 * its location (uwsgi_param and the client's headers, collected as
 * FastCGI's PARAMS are), the answer's first-line test and its hidden
 * headers. proxy.c drives the connection and sends the body raw after the
 * head; the answer is read by its HTTP head parser (a CGI head behind
 * FastCGI's made-up status line, fcgi_fix_status).
 *
 * Owns nothing beyond the request pool.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "cfg-t.h"
#include "http.h"
#include "pool.h"
#include "uwsgi.h"

size_t uwsgi_vars_len(const struct fcgi_kv *kv, size_t n, size_t extra)
{
	size_t len = extra;

	for (size_t i = 0; i < n; i++)
		len += 2 + kv[i].nl + 2 + kv[i].vl;
	return len;
}

/* put_u16 - V as two little-endian bytes at D. */
static char *put_u16(char *d, size_t v)
{
	d[0] = (char)(v & 0xff);
	d[1] = (char)((v >> 8) & 0xff);
	return d + 2;
}

size_t uwsgi_packet_put(char *dst, int m1, int m2, const struct fcgi_kv *kv, size_t n,
			const char *extra, size_t extra_len)
{
	size_t len = uwsgi_vars_len(kv, n, extra_len);
	char *d = dst;

	*d++ = (char)(m1 & 0xff);
	d = put_u16(d, len);
	*d++ = (char)(m2 & 0xff);
	for (size_t i = 0; i < n; i++) {
		d = put_u16(d, kv[i].nl);
		memcpy(d, kv[i].n, kv[i].nl);
		d += kv[i].nl;
		d = put_u16(d, kv[i].vl);
		if (kv[i].vl)
			memcpy(d, kv[i].v, kv[i].vl);
		d += kv[i].vl;
	}
	if (extra_len)
		memcpy(d, extra, extra_len);
	d += extra_len;
	return (size_t)(d - dst);
}

int uwsgi_build_request(struct conn *c, struct lstr *out, size_t *size)
{
	const struct uwsgi_loc *u = &c->req.loc->uwsgi;
	size_t nkv, len, sl = u->string ? strlen(u->string) : 0;
	struct fcgi_kv *kv;
	char *buf;

	if (fcgi_kv_collect(c, u->params, u->nparams, u->http_params, &kv, &nkv))
		return -ENOMEM;
	len = uwsgi_vars_len(kv, nkv, sl);
	if (len > UWSGI_VARS_MAX) {
		*size = len;
		return -E2BIG;
	}
	buf = pool_alloc(&c->pool, 4 + len);
	if (!buf)
		return -ENOMEM;
	*out = (struct lstr){
		buf, uwsgi_packet_put(buf, u->modifier1, u->modifier2, kv, nkv, u->string, sl)};
	return 0;
}

enum uwsgi_head uwsgi_head_kind(const char *p, size_t n)
{
	static const char http[] = "HTTP/";
	size_t k = LBD_MIN(n, sizeof(http) - 1);

	if (memcmp(p, http, k) != 0)
		return UWSGI_HEAD_CGI;
	return k < sizeof(http) - 1 ? UWSGI_HEAD_MORE : UWSGI_HEAD_HTTP;
}

bool uwsgi_hidden_by_default(struct h1_str n)
{
	return n.len > 8 && strncasecmp(n.p, "x-accel-", 8) == 0 &&
	       (H1_IS(n, "x-accel-expires") || H1_IS(n, "x-accel-redirect") ||
		H1_IS(n, "x-accel-limit-rate") || H1_IS(n, "x-accel-buffering") ||
		H1_IS(n, "x-accel-charset"));
}
