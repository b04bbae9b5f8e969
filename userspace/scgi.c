/* SPDX-License-Identifier: MIT */
/*
 * SCGI requests (scgi_pass): the netstring head built from the request and
 * its location (scgi_param and the client's headers, collected as
 * FastCGI's PARAMS are, fcgi_kv_collect). proxy.c sends the body raw after
 * it and reads the answer as uwsgi's.
 *
 * Owns nothing beyond the request pool.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cfg-t.h"
#include "http.h"
#include "pool.h"
#include "scgi.h"

#define CL_NAME "CONTENT_LENGTH"

/* headers_len - the netstring's content: CONTENT_LENGTH's pair, then the
 * pairs, each with its two NULs. DIGITS: the body length's text. */
static size_t headers_len(const struct fcgi_kv *kv, size_t n, size_t digits)
{
	size_t len = sizeof(CL_NAME) + digits + 1;

	for (size_t i = 0; i < n; i++)
		len += kv[i].nl + 1 + kv[i].vl + 1;
	return len;
}

size_t scgi_packet_len(const struct fcgi_kv *kv, size_t n, uint64_t body_len)
{
	char num[24];
	size_t hl = headers_len(kv, n,
				(size_t)snprintf(num, sizeof(num), "%lu", (unsigned long)body_len));

	return (size_t)snprintf(num, sizeof(num), "%zu", hl) + 1 + hl + 1;
}

size_t scgi_packet_put(char *dst, const struct fcgi_kv *kv, size_t n, uint64_t body_len)
{
	char num[24], *d = dst;
	int nd = snprintf(num, sizeof(num), "%lu", (unsigned long)body_len);
	size_t hl = headers_len(kv, n, (size_t)nd);

	d += sprintf(d, "%zu:", hl);
	memcpy(d, CL_NAME, sizeof(CL_NAME)); /* with its NUL */
	d += sizeof(CL_NAME);
	memcpy(d, num, (size_t)nd + 1);
	d += nd + 1;
	for (size_t i = 0; i < n; i++) {
		memcpy(d, kv[i].n, kv[i].nl);
		d += kv[i].nl;
		*d++ = '\0';
		if (kv[i].vl)
			memcpy(d, kv[i].v, kv[i].vl);
		d += kv[i].vl;
		*d++ = '\0';
	}
	*d++ = ',';
	return (size_t)(d - dst);
}

int scgi_build_request(struct conn *c, uint64_t body_len, struct lstr *out)
{
	const struct scgi_loc *s = &c->req.loc->scgi;
	struct fcgi_kv *kv;
	size_t nkv, len;
	char *buf;

	if (fcgi_kv_collect(c, s->params, s->nparams, s->http_params, &kv, &nkv))
		return -ENOMEM;
	len = scgi_packet_len(kv, nkv, body_len);
	buf = pool_alloc(&c->pool, len + 1); /* sprintf's NUL */
	if (!buf)
		return -ENOMEM;
	*out = (struct lstr){buf, scgi_packet_put(buf, kv, nkv, body_len)};
	return 0;
}
