/* SPDX-License-Identifier: MIT */
/*
 * FastCGI records (fastcgi.h): the byte-level codec with no request or
 * configuration in it, so that the fuzz target and the unit tests link it
 * alone: name-value pairs, record headers, the STDIN framing of a body,
 * the response decoder (in place, resumable at any byte), the CGI status.
 */
#include <string.h>
#include <strings.h>

#include "fastcgi.h"

/* ---- encoding ------------------------------------------------------------------ */

size_t fcgi_param_len(size_t nl, size_t vl)
{
	return (nl > 127 ? 4 : 1) + (vl > 127 ? 4 : 1) + nl + vl;
}

static char *put_len(char *d, size_t l)
{
	if (l > 127) {
		*d++ = (char)(0x80 | ((l >> 24) & 0x7f));
		*d++ = (char)((l >> 16) & 0xff);
		*d++ = (char)((l >> 8) & 0xff);
	}
	*d++ = (char)(l & 0xff);
	return d;
}

size_t fcgi_param_put(char *dst, const char *n, size_t nl, const char *v, size_t vl)
{
	char *d = put_len(dst, nl);

	d = put_len(d, vl);
	memcpy(d, n, nl);
	if (vl)
		memcpy(d + nl, v, vl);
	return (size_t)(d - dst) + nl + vl;
}

void fcgi_record_header(uint8_t *dst, int type, size_t len)
{
	dst[0] = 1; /* FCGI_VERSION_1 */
	dst[1] = (uint8_t)type;
	dst[2] = 0;
	dst[3] = FCGI_REQUEST_ID;
	dst[4] = (uint8_t)(len >> 8);
	dst[5] = (uint8_t)len;
	dst[6] = 0; /* no padding */
	dst[7] = 0;
}

size_t fcgi_send_next(struct fcgi_send *s, uint64_t off, uint64_t total, struct iovec *hdr)
{
	if (s->hoff == s->hlen && !s->closed) {
		if (off == s->next && off < total) {
			uint64_t k = LBD_MIN(total - off, (uint64_t)FCGI_STDIN_REC);

			fcgi_record_header(s->hdr, FCGI_STDIN, (size_t)k);
			s->hoff = 0;
			s->hlen = 8;
			s->next = off + k;
		} else if (off >= total && s->next != UINT64_MAX) {
			fcgi_record_header(s->hdr, FCGI_STDIN, 0);
			s->hoff = 0;
			s->hlen = 8;
			s->next = UINT64_MAX;
		}
	}
	*hdr = (struct iovec){s->hdr + s->hoff, (size_t)(s->hlen - s->hoff)};
	return s->next != UINT64_MAX && off < s->next ? (size_t)(s->next - off) : 0;
}

size_t fcgi_send_sent(struct fcgi_send *s, size_t k)
{
	size_t h = LBD_MIN(k, (size_t)(s->hlen - s->hoff));

	s->hoff = (uint8_t)(s->hoff + h);
	if (h && s->hoff == s->hlen && s->next == UINT64_MAX)
		s->closed = true;
	return h;
}

/* ---- decoding ------------------------------------------------------------------ */

long fcgi_decode(struct fcgi_dec *d, char *buf, size_t n, fcgi_stderr_fn err, void *arg)
{
	size_t in = 0, out = 0;

	while (in < n && !d->ended) {
		if (d->hlen < 8) {
			size_t k = LBD_MIN(n - in, (size_t)(8 - d->hlen));

			memcpy(d->hdr + d->hlen, buf + in, k);
			d->hlen = (uint8_t)(d->hlen + k);
			in += k;
			if (d->hlen < 8)
				break;
			if (d->hdr[0] != 1)
				return FCGI_DEC_BAD_VERSION;
			d->type = d->hdr[1];
			if (d->type != FCGI_STDOUT && d->type != FCGI_STDERR &&
			    d->type != FCGI_END_REQUEST)
				return FCGI_DEC_BAD_TYPE;
			if (((d->hdr[2] << 8) | d->hdr[3]) != FCGI_REQUEST_ID)
				return FCGI_DEC_BAD_ID;
			d->left = (uint32_t)((d->hdr[4] << 8) | d->hdr[5]);
			d->pad = d->hdr[6];
			d->end_got = 0;
			if (d->type == FCGI_STDOUT && !d->left)
				d->stdout_end = true;
		}
		if (d->left) {
			size_t k = LBD_MIN(n - in, (size_t)d->left);

			if (d->type == FCGI_STDOUT) {
				if (out != in)
					memmove(buf + out, buf + in, k);
				out += k;
			} else if (d->type == FCGI_STDERR) {
				if (err && k)
					err(arg, buf + in, k);
			} else { /* END_REQUEST's body */
				for (size_t i = 0; i < k; i++)
					if (d->end_got < sizeof(d->end_body))
						d->end_body[d->end_got++] = (uint8_t)buf[in + i];
			}
			in += k;
			d->left -= (uint32_t)k;
			if (d->left)
				break;
		}
		if (d->pad) {
			size_t k = LBD_MIN(n - in, (size_t)d->pad);

			in += k;
			d->pad = (uint16_t)(d->pad - k);
			if (d->pad)
				break;
		}
		/* the record is complete */
		if (d->type == FCGI_END_REQUEST) {
			d->ended = true;
			if (d->end_got >= 5) {
				d->app_status = (uint32_t)d->end_body[0] << 24 |
						(uint32_t)d->end_body[1] << 16 |
						(uint32_t)d->end_body[2] << 8 | d->end_body[3];
				d->proto_status = d->end_body[4];
			}
		}
		d->hlen = 0;
	}
	return (long)out;
}

size_t fcgi_stderr_trim(const char *p, size_t len)
{
	while (len &&
	       (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == '.' || p[len - 1] == ' '))
		len--;
	return len;
}

/* ---- the CGI head ------------------------------------------------------------------ */

int fcgi_fix_status(struct h1_response *resp)
{
	const struct h1_header *status = NULL, *loc = NULL;

	for (size_t i = 0; i < resp->nheaders; i++) {
		const struct h1_header *h = &resp->headers[i];

		if (!status && H1_IS(h->name, "status"))
			status = h;
		else if (!loc && H1_IS(h->name, "location"))
			loc = h;
	}
	if (status) {
		const char *v = status->value.p;
		int st = 0;

		if (status->value.len < 3)
			return -1;
		for (int i = 0; i < 3; i++) {
			if (v[i] < '0' || v[i] > '9')
				return -1;
			st = st * 10 + (v[i] - '0');
		}
		if (st < 100)
			return -1;
		resp->status = st;
		resp->reason = status->value.len > 4 ? (struct h1_str){v + 4, status->value.len - 4}
						     : (struct h1_str){v + 3, 0};
	} else if (loc) {
		resp->status = 302;
		resp->reason = (struct h1_str){"Moved Temporarily", 17};
	}
	return 0;
}

bool fcgi_hidden_by_default(struct h1_str n)
{
	return H1_IS(n, "status") ||
	       (n.len > 8 && strncasecmp(n.p, "x-accel-", 8) == 0 &&
		(H1_IS(n, "x-accel-expires") || H1_IS(n, "x-accel-redirect") ||
		 H1_IS(n, "x-accel-limit-rate") || H1_IS(n, "x-accel-buffering") ||
		 H1_IS(n, "x-accel-charset")));
}
