/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for what lbd reads from an upstream: a response head
 * (h1_parse_response) and the body framing chosen from it, as the proxy
 * does (userspace/proxy.c process_head): one Content-Length value or
 * Transfer-Encoding exactly "chunked" on HTTP/1.1, never both. A chunked
 * body is decoded whole and one byte per call, and both must agree. Heads
 * must give the same answer for the input cut anywhere (H1_INCOMPLETE or
 * the same result), since an upstream's bytes arrive in any pieces. The
 * fuzz_h1 target covers the same parsers on request-shaped inputs; this one
 * starts from responses, so it reaches deeper into status lines and bodies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fz_util.h"
#include "h1.h"

#define FZ_CAP 32 /* header array capacity */

/* enum fz_framing - how the proxy would read the body. */
enum fz_framing {
	FZ_FR_INVALID, /* refused: 502 / next upstream */
	FZ_FR_NONE,    /* no body (204, 304, Content-Length: 0) */
	FZ_FR_LENGTH,  /* Content-Length bytes */
	FZ_FR_CHUNKED, /* chunked */
	FZ_FR_CLOSE,   /* until the upstream closes */
};

static int fz_head(const uint8_t *data, size_t len, struct h1_response *resp)
{
	char *buf = malloc(len ? len : 1);
	int rc;

	fz_check(buf);
	memcpy(buf, data, len);
	rc = h1_parse_response(buf, len, resp, FZ_CAP);
	fz_check(rc == H1_INCOMPLETE || rc < H1_INCOMPLETE || (rc > 0 && (size_t)rc <= len));
	if (rc > 0) {
		fz_check(resp->status >= 100 && resp->status <= 999);
		fz_check(resp->version == 10 || resp->version == 11);
		fz_check(resp->nheaders <= FZ_CAP);
		/* the views must not outlive this parse: checked by ASan on use */
		for (size_t i = 0; i < resp->nheaders; i++) {
			const struct h1_header *h = &resp->headers[i];

			fz_check(h->name.len > 0);
			fz_check(h->name.p >= buf && h->name.p + h->name.len <= buf + rc);
			fz_check(!h->value.len ||
				 (h->value.p >= buf && h->value.p + h->value.len <= buf + rc));
		}
	}
	free(buf);
	return rc;
}

/* fz_framing - the proxy's choice for a parsed head; *len for LENGTH. */
static enum fz_framing fz_framing(const struct h1_response *r, uint64_t *len)
{
	const struct h1_str *cl = NULL, *te = NULL;

	for (size_t i = 0; i < r->nheaders; i++) {
		const struct h1_header *h = &r->headers[i];

		if (H1_IS(h->name, "content-length")) {
			uint64_t v;

			if (h1_parse_content_length(h->value, &v) ||
			    (cl &&
			     (cl->len != h->value.len || memcmp(cl->p, h->value.p, cl->len) != 0)))
				return FZ_FR_INVALID;
			cl = &h->value;
			*len = v;
		} else if (H1_IS(h->name, "transfer-encoding")) {
			te = &h->value;
		}
	}
	if (te && (cl || !h1_str_ieq(*te, "chunked") || r->version < 11))
		return FZ_FR_INVALID;
	if (r->status == 204 || r->status == 304)
		return FZ_FR_NONE;
	if (te)
		return FZ_FR_CHUNKED;
	if (cl)
		return *len ? FZ_FR_LENGTH : FZ_FR_NONE;
	return FZ_FR_CLOSE;
}

/* fz_body - decode s[0..n) as chunked, STEP bytes per call; returns the
 * outcome and sets *end and *hash. */
static int fz_body(const uint8_t *s, size_t n, size_t step, size_t *end, uint64_t *hash)
{
	struct h1_chunked st;
	size_t off = 0;
	int rc = H1_INCOMPLETE;

	h1_chunked_init(&st);
	*hash = 14695981039346656037ULL;
	while (off < n) {
		size_t len = n - off < step ? n - off : step, used = 0;
		char *p = malloc(len);

		fz_check(p);
		memcpy(p, s + off, len);
		do {
			struct h1_str d = {0};
			size_t c;

			rc = h1_parse_chunked(&st, p + used, len - used, &c, &d);
			for (size_t i = 0; rc == H1_CHUNK_DATA && i < d.len; i++)
				*hash = (*hash ^ (unsigned char)d.p[i]) * 1099511628211ULL;
			used += c;
		} while (rc == H1_CHUNK_DATA && used < len);
		free(p);
		off += used;
		if (rc != H1_CHUNK_DATA && rc != H1_INCOMPLETE)
			break;
	}
	*end = off;
	return rc == H1_CHUNK_DATA ? H1_INCOMPLETE : rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct h1_header hdrs[FZ_CAP], h2[FZ_CAP];
	struct h1_response resp = {.headers = hdrs}, part = {.headers = h2};
	uint64_t len = 0, ha, hb;
	size_t ea, eb;
	int rc, ra, rb;

	rc = fz_head(data, size, &resp);
	/* cut points: every byte of short inputs, a sample of long ones */
	for (size_t k = 0; k<size; k += size> 256 ? 1 + k % 29 : 1) {
		int pr = fz_head(data, k, &part);

		if (rc > 0)
			fz_check(pr == ((size_t)rc <= k ? rc : H1_INCOMPLETE));
		else
			fz_check(pr == H1_INCOMPLETE || pr == rc);
	}
	if (rc <= 0)
		return 0;
	/* the views point into a freed copy now: re-parse over data itself */
	fz_check(h1_parse_response((const char *)data, size, &resp, FZ_CAP) == rc);
	if (fz_framing(&resp, &len) != FZ_FR_CHUNKED)
		return 0;
	ra = fz_body(data + rc, size - (size_t)rc, SIZE_MAX, &ea, &ha);
	rb = fz_body(data + rc, size - (size_t)rc, 1, &eb, &hb);
	fz_check(ra == rb && ea == eb && ha == hb);
	return 0;
}
