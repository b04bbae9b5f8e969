/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the HTTP/1.x codec (userspace/h1.c). Each input is
 * parsed as a request head (default and tight limits), a response head and a
 * chunked body. Heads must give the same answer for the input and its
 * prefixes (H1_INCOMPLETE or the same result), and their views must obey the
 * grammar; the chunked decoder must yield the same bytes and end whether fed
 * whole, one byte per call, or in uneven pieces, and h1_chunked_pending()
 * must announce exactly the data the next call returns. Every parse reads
 * from an exact-size heap copy so ASan sees any overread.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h1.h"

#define FZ_CAP 32 /* header array capacity */

/* fz_check - abort (a crash libFuzzer reports) when cond is false. */
#define fz_check(cond)           \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

/* fz_dup - an exact-size heap copy of data[0..n). */
static char *fz_dup(const uint8_t *data, size_t n)
{
	char *p = malloc(n ? n : 1);

	fz_check(p);
	memcpy(p, data, n);
	return p;
}

static bool fz_in(struct h1_str v, const char *buf, size_t len)
{
	return v.len == 0 || (v.p >= buf && v.len <= len && v.p - buf <= (ptrdiff_t)(len - v.len));
}

/* fz_headers - grammar of the fields a successful parse returned. */
static void fz_headers(const struct h1_header *h, size_t n, const char *buf, size_t len)
{
	size_t i, k;
	uint64_t cl;

	fz_check(n <= FZ_CAP);
	for (i = 0; i < n; i++) {
		fz_check(h[i].name.len > 0 && fz_in(h[i].name, buf, len));
		fz_check(fz_in(h[i].value, buf, len));
		for (k = 0; k < h[i].name.len; k++) {
			unsigned char c = (unsigned char)h[i].name.p[k];

			fz_check(c > ' ' && c != ':' && c != 0x7f);
		}
		for (k = 0; k < h[i].value.len; k++) {
			unsigned char c = (unsigned char)h[i].value.p[k];

			fz_check((c >= ' ' || c == '\t') && c != 0x7f);
		}
		if (h[i].value.len) {
			fz_check(h[i].value.p[0] != ' ' && h[i].value.p[0] != '\t');
			fz_check(h[i].value.p[h[i].value.len - 1] != ' ' &&
				 h[i].value.p[h[i].value.len - 1] != '\t');
		}
		if (h1_parse_content_length(h[i].value, &cl) == 0)
			fz_check(cl <= INT64_MAX);
		(void)h1_te_is_chunked(h[i].value);
		(void)h1_list_has_token(h[i].value, "close");
	}
	(void)h1_find_header(h, n, "host");
}

/* fz_request - parse a request head; check views on success. */
static int fz_request(const uint8_t *data, size_t len, const struct h1_limits *lim, bool check)
{
	struct h1_header hdrs[FZ_CAP];
	struct h1_request req = {.headers = hdrs};
	char *buf = fz_dup(data, len);
	int rc = h1_parse_request(buf, len, lim, &req, FZ_CAP);

	fz_check(rc >= H1_ERR_CHUNK_TRAILER && rc != 0 && (rc < 0 || (size_t)rc <= len));
	fz_check(rc != H1_ERR_CHUNK_SIZE && rc != H1_ERR_CHUNK_OVERFLOW && rc != H1_ERR_CHUNK_EXT &&
		 rc != H1_ERR_CHUNK_CRLF && rc != H1_ERR_CHUNK_TRAILER);
	if (rc > 0 && check) {
		fz_check(req.method.len >= 1 && req.method.len <= 32);
		fz_check(fz_in(req.method, buf, len) && fz_in(req.target, buf, len));
		fz_check(req.target.len > 0);
		fz_check(req.version == 10 || req.version == 11);
		fz_headers(hdrs, req.nheaders, buf, len);
	}
	free(buf);
	return rc;
}

static int fz_response(const uint8_t *data, size_t len, bool check)
{
	struct h1_header hdrs[FZ_CAP];
	struct h1_response resp = {.headers = hdrs};
	char *buf = fz_dup(data, len);
	int rc = h1_parse_response(buf, len, &resp, FZ_CAP);

	fz_check(rc >= H1_ERR_METHOD && rc != 0 && (rc < 0 || (size_t)rc <= len));
	if (rc > 0 && check) {
		fz_check(resp.status >= 100 && resp.status <= 999);
		fz_check(resp.version == 10 || resp.version == 11);
		fz_check(fz_in(resp.reason, buf, len));
		fz_headers(hdrs, resp.nheaders, buf, len);
	}
	free(buf);
	return rc;
}

/*
 * fz_prefixes - the head parse of every prefix (sampled when long) gives
 * H1_INCOMPLETE or the whole input's result.
 */
static void fz_prefixes(const uint8_t *data, size_t len, int whole, const struct h1_limits *lim,
			bool response)
{
	size_t k;

	for (k = 0; k < len; k++) {
		int rc;

		if (len > 512 && k > 64 && k + 64 < len && k % 37)
			continue;
		rc = response ? fz_response(data, k, false) : fz_request(data, k, lim, false);
		if (whole > 0)
			fz_check(rc == ((size_t)whole <= k ? whole : H1_INCOMPLETE));
		else
			fz_check(rc == H1_INCOMPLETE || rc == whole);
	}
}

/* struct fz_chunk_run - what one way of feeding a chunked body produced. */
struct fz_chunk_run {
	int rc;	       /* H1_CHUNK_DONE, an error or H1_INCOMPLETE */
	size_t off;    /* input offset of the end */
	uint64_t hash; /* FNV-1a of the body bytes */
	size_t nbytes; /* body bytes */
};

/* fz_chunked - decode data in pieces whose sizes cycle through steps[]. */
static void fz_chunked(const uint8_t *data, size_t len, const size_t *steps, size_t nsteps,
		       struct fz_chunk_run *r)
{
	struct h1_chunked st;
	size_t off = 0, s = 0;

	h1_chunked_init(&st);
	r->rc = H1_INCOMPLETE;
	r->hash = 14695981039346656037ULL;
	r->nbytes = 0;
	while (off < len) {
		size_t n = len - off < steps[s] ? len - off : steps[s], used = 0;
		char *p = fz_dup(data + off, n);

		s = (s + 1) % nsteps;
		for (;;) {
			struct h1_str d = {0};
			size_t c = SIZE_MAX, i;
			uint64_t pend = h1_chunked_pending(&st);

			fz_check(pend < H1_CHUNK_SIZE_LIMIT);
			r->rc = h1_parse_chunked(&st, p + used, n - used, &c, &d);
			fz_check(c <= n - used);
			/* announced data is the next thing returned, no more */
			if (pend && used < n)
				fz_check(r->rc == H1_CHUNK_DATA &&
					 d.len == (pend < n - used ? pend : n - used) &&
					 h1_chunked_pending(&st) == pend - d.len);
			used += c;
			if (r->rc != H1_CHUNK_DATA)
				break;
			fz_check(d.len > 0 && d.p + d.len == p + used);
			for (i = 0; i < d.len; i++)
				r->hash = (r->hash ^ (unsigned char)d.p[i]) * 1099511628211ULL;
			r->nbytes += d.len;
			if (used == n)
				break;
		}
		free(p);
		off += used;
		if (r->rc != H1_INCOMPLETE && r->rc != H1_CHUNK_DATA)
			break;
		fz_check(used == n);
	}
	if (r->rc == H1_CHUNK_DATA)
		r->rc = H1_INCOMPLETE;
	fz_check(r->rc == H1_INCOMPLETE || r->rc == H1_CHUNK_DONE ||
		 (r->rc <= H1_ERR_CHUNK_SIZE && r->rc >= H1_ERR_CHUNK_TRAILER));
	fz_check(h1_chunked_done(&st) == (r->rc == H1_CHUNK_DONE));
	if (r->rc != H1_INCOMPLETE)
		fz_check(h1_chunked_pending(&st) == 0);
	r->off = off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct h1_limits tight = {
		.max_request_line = 48,
		.max_header_line = 40,
		.max_headers = 4,
		.max_total = 160,
	};
	static const size_t whole[] = {SIZE_MAX}, one[] = {1}, uneven[] = {3, 1, 7, 2, 16};
	struct fz_chunk_run a, b, c;
	int rc;

	rc = fz_request(data, size, NULL, true);
	fz_prefixes(data, size, rc, NULL, false);
	rc = fz_request(data, size, &tight, true);
	fz_prefixes(data, size, rc, &tight, false);
	rc = fz_response(data, size, true);
	fz_prefixes(data, size, rc, NULL, true);

	fz_chunked(data, size, whole, 1, &a);
	fz_chunked(data, size, one, 1, &b);
	fz_chunked(data, size, uneven, 5, &c);
	fz_check(a.rc == b.rc && a.off == b.off && a.hash == b.hash && a.nbytes == b.nbytes);
	fz_check(a.rc == c.rc && a.off == c.off && a.hash == c.hash && a.nbytes == c.nbytes);
	return 0;
}
