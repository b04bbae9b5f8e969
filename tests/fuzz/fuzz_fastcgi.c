/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the FastCGI record decoder (fcgi_decode). The input
 * is a responder's byte stream; the first byte, when there is one, picks
 * how it is cut into reads. The decoder must agree with itself fed whole
 * and in pieces (same stdout and stderr bytes, same end, same error), and
 * with a naive one-pass decoder written here from the FastCGI spec; it
 * never writes more stdout bytes than it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastcgi.h"
#include "fz_util.h"

/* struct fz_out - what one decoding produced. */
struct fz_out {
	long rc;	     /* 0, or the first error */
	bool ended;	     /* END_REQUEST seen */
	uint64_t out_hash;   /* FNV-1a of stdout bytes */
	size_t out_n;	     /* stdout bytes */
	uint64_t err_hash;   /* FNV-1a of stderr bytes */
	size_t err_n;	     /* stderr bytes */
	uint32_t app_status; /* END_REQUEST's appStatus */
};

static void fz_hash(uint64_t *h, size_t *n, const uint8_t *p, size_t len)
{
	if (!len)
		return;
	if (!*n)
		*h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++)
		*h = (*h ^ p[i]) * 1099511628211ULL;
	*n += len;
}

static void on_err(void *arg, const char *p, size_t len)
{
	struct fz_out *o = arg;

	fz_check(len > 0);
	fz_hash(&o->err_hash, &o->err_n, (const uint8_t *)p, len);
}

/* decode - DATA fed in reads of the sizes STEP picks (0: whole). */
static void decode(const uint8_t *data, size_t n, uint8_t step, struct fz_out *o)
{
	struct fcgi_dec d = {0};
	size_t off = 0, i = 0;

	memset(o, 0, sizeof(*o));
	while (off < n && !o->rc) {
		size_t k = step ? (size_t)((step >> (i++ % 4)) % 13) + 1 : n;
		char *buf;
		long r;

		k = k > n - off ? n - off : k;
		buf = malloc(k); /* exact size: ASan sees an overrun */
		fz_check(buf);
		memcpy(buf, data + off, k);
		r = fcgi_decode(&d, buf, k, on_err, o);
		if (r < 0) {
			o->rc = r;
		} else {
			fz_check((size_t)r <= k);
			fz_hash(&o->out_hash, &o->out_n, (const uint8_t *)buf, (size_t)r);
		}
		free(buf);
		off += k;
		if (d.ended)
			break;
	}
	o->ended = d.ended;
	o->app_status = d.app_status;
}

/* naive - the spec read in one pass over the whole input. */
static void naive(const uint8_t *p, size_t n, struct fz_out *o)
{
	size_t i = 0;

	memset(o, 0, sizeof(*o));
	while (n - i >= 8) {
		const uint8_t *h = p + i;
		size_t len = (size_t)(h[4] << 8 | h[5]), pad = h[6], take;

		if (h[0] != 1) {
			o->rc = FCGI_DEC_BAD_VERSION;
			return;
		}
		if (h[1] != FCGI_STDOUT && h[1] != FCGI_STDERR && h[1] != FCGI_END_REQUEST) {
			o->rc = FCGI_DEC_BAD_TYPE;
			return;
		}
		if ((h[2] << 8 | h[3]) != FCGI_REQUEST_ID) {
			o->rc = FCGI_DEC_BAD_ID;
			return;
		}
		i += 8;
		take = len < n - i ? len : n - i;
		if (h[1] == FCGI_STDOUT)
			fz_hash(&o->out_hash, &o->out_n, p + i, take);
		else if (h[1] == FCGI_STDERR)
			fz_hash(&o->err_hash, &o->err_n, p + i, take);
		if (take < len)
			return;
		const uint8_t *body = p + i;

		i += len;
		if (n - i < pad)
			return;
		i += pad;
		if (h[1] == FCGI_END_REQUEST) {
			o->ended = true;
			if (len >= 5) /* appStatus, then protocolStatus */
				o->app_status = (uint32_t)body[0] << 24 | (uint32_t)body[1] << 16 |
						(uint32_t)body[2] << 8 | body[3];
			return;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_out whole, cut, ref;
	uint8_t step = 0;

	if (size > 1) {
		step = data[0];
		data++;
		size--;
	}
	decode(data, size, 0, &whole);
	decode(data, size, step | 1, &cut);
	naive(data, size, &ref);
	fz_check(whole.rc == cut.rc && whole.ended == cut.ended);
	fz_check(whole.rc == ref.rc && whole.ended == ref.ended);
	if (!whole.rc) {
		fz_check(whole.out_n == cut.out_n && whole.out_hash == cut.out_hash);
		fz_check(whole.err_n == cut.err_n && whole.err_hash == cut.err_hash);
		fz_check(whole.out_n == ref.out_n && whole.out_hash == ref.out_hash);
		fz_check(whole.err_n == ref.err_n && whole.err_hash == ref.err_hash);
		fz_check(whole.app_status == cut.app_status && whole.app_status == ref.app_status);
	}
	return 0;
}
