/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the chunked body decoder (h1_parse_chunked). The
 * input is a body; the first byte, when the input is long enough, picks how
 * it is cut into pieces. The decoder must agree with a second, deliberately
 * naive decoder written here from the contract in include/h1.h (a whole
 * buffer, one pass, no state machine): same outcome and error code, same
 * body bytes, same end offset. It must also agree with itself fed whole and
 * in pieces, so a message split by TCP differently cannot be framed
 * differently (the root of every smuggling bug).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fz_util.h"
#include "h1.h"

/* struct fz_out - what a decoding produced. */
struct fz_out {
	int rc;	       /* H1_CHUNK_DONE, H1_INCOMPLETE or an H1_ERR_CHUNK_* */
	size_t end;    /* offset after the body (DONE) or of the bad byte */
	uint64_t hash; /* FNV-1a of the body bytes */
	size_t nbytes; /* body bytes */
};

static void fz_hash(struct fz_out *o, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		o->hash = (o->hash ^ p[i]) * 1099511628211ULL;
	o->nbytes += n;
}

static int fz_hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* fz_eol - at s[*i], a line end (CRLF or LF). Returns 0 and moves past it,
 * H1_INCOMPLETE at the end of input, H1_ERR_CHUNK_CRLF for a CR alone and
 * BAD (passed by the caller) for anything else. */
static int fz_eol(const uint8_t *s, size_t n, size_t *i, int bad)
{
	if (*i == n)
		return H1_INCOMPLETE;
	if (s[*i] == '\n') {
		(*i)++;
		return 0;
	}
	if (s[*i] != '\r')
		return bad;
	if (++*i == n)
		return H1_INCOMPLETE;
	if (s[*i] != '\n')
		return H1_ERR_CHUNK_CRLF;
	(*i)++;
	return 0;
}

/* fz_reference - the naive decoder: s[0..n) is the whole body so far. */
static void fz_reference(const uint8_t *s, size_t n, struct fz_out *o)
{
	size_t i = 0;
	int rc;

	for (;;) {
		uint64_t v = 0;
		size_t digits = 0, line;

		while (i < n && fz_hex(s[i]) >= 0) {
			if (digits && v >= H1_CHUNK_SIZE_LIMIT / 16) {
				rc = H1_ERR_CHUNK_OVERFLOW;
				goto out;
			}
			if (digits + 1 > H1_CHUNK_EXT_MAX) {
				rc = H1_ERR_CHUNK_SIZE;
				goto out;
			}
			v = v * 16 + (uint64_t)fz_hex(s[i]);
			digits++;
			i++;
		}
		if (i == n) {
			rc = H1_INCOMPLETE;
			goto out;
		}
		if (!digits) {
			rc = H1_ERR_CHUNK_SIZE;
			goto out;
		}
		line = digits;
		/* ";", or SP/HTAB (nginx), starts the extension */
		if (s[i] == ';' || s[i] == ' ' || s[i] == '\t') {
			line++;
			for (i++; i < n && s[i] != '\r' && s[i] != '\n'; i++) {
				bool ok = s[i] == '\t' || (s[i] >= ' ' && s[i] != 0x7f);

				if (!ok || ++line > H1_CHUNK_EXT_MAX) {
					rc = H1_ERR_CHUNK_EXT;
					goto out;
				}
			}
		}
		rc = fz_eol(s, n, &i, H1_ERR_CHUNK_SIZE);
		if (rc)
			goto out;
		if (v == 0)
			break;
		if (n - i < v) {
			fz_hash(o, s + i, n - i);
			i = n;
			rc = H1_INCOMPLETE;
			goto out;
		}
		fz_hash(o, s + i, (size_t)v);
		i += (size_t)v;
		rc = fz_eol(s, n, &i, H1_ERR_CHUNK_CRLF);
		if (rc)
			goto out;
	}
	/* trailer section: lines skipped up to an empty one, every byte counted */
	for (size_t start = i, bol = 1;;) {
		uint8_t c;

		if (i == n) {
			rc = H1_INCOMPLETE;
			goto out;
		}
		if (i - start + 1 > H1_CHUNK_TRAILER_MAX) {
			rc = H1_ERR_CHUNK_TRAILER;
			goto out;
		}
		c = s[i];
		if (c == '\r') {
			if (++i == n) {
				rc = H1_INCOMPLETE;
				goto out;
			}
			if (i - start + 1 > H1_CHUNK_TRAILER_MAX) {
				rc = H1_ERR_CHUNK_TRAILER;
				goto out;
			}
			if (s[i] != '\n') {
				rc = H1_ERR_CHUNK_CRLF;
				goto out;
			}
			c = '\n';
		}
		i++;
		if (c == '\n' && bol) {
			rc = H1_CHUNK_DONE;
			goto out;
		}
		bol = c == '\n';
	}
out:
	o->rc = rc;
	o->end = rc == H1_INCOMPLETE ? n : i;
}

/* fz_decode - run h1_parse_chunked over s[0..n) cut in pieces whose sizes
 * cycle through steps[0..nsteps), each piece an exact-size heap copy. */
static void fz_decode(const uint8_t *s, size_t n, const size_t *steps, size_t nsteps,
		      struct fz_out *o)
{
	struct h1_chunked st;
	size_t off = 0, k = 0;

	h1_chunked_init(&st);
	o->rc = H1_INCOMPLETE;
	o->end = 0;
	while (off < n) {
		size_t len = n - off < steps[k] ? n - off : steps[k], used = 0;
		char *p = malloc(len);

		fz_check(p);
		memcpy(p, s + off, len);
		k = (k + 1) % nsteps;
		do {
			struct h1_str d = {0};
			size_t c = SIZE_MAX;

			o->rc = h1_parse_chunked(&st, p + used, len - used, &c, &d);
			fz_check(c <= len - used);
			if (o->rc == H1_CHUNK_DATA) {
				fz_check(d.len > 0 && d.p >= p + used &&
					 d.p + d.len == p + used + c);
				fz_hash(o, (const uint8_t *)d.p, d.len);
			}
			used += c;
		} while (o->rc == H1_CHUNK_DATA && used < len);
		free(p);
		off += used;
		if (o->rc != H1_CHUNK_DATA && o->rc != H1_INCOMPLETE)
			break;
	}
	if (o->rc == H1_CHUNK_DATA)
		o->rc = H1_INCOMPLETE;
	o->end = off;
	/* the outcome is sticky */
	if (o->rc != H1_INCOMPLETE) {
		size_t c = SIZE_MAX;
		struct h1_str d = {0};

		fz_check(h1_parse_chunked(&st, "0\r\n\r\n", 5, &c, &d) == o->rc && c == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t whole[] = {SIZE_MAX}, one[] = {1};
	struct fz_out ref = {.hash = 14695981039346656037ULL};
	struct fz_out a = ref, b = ref, c = ref;
	size_t steps[4];

	fz_reference(data, size, &ref);
	fz_decode(data, size, whole, 1, &a);
	fz_check(a.rc == ref.rc && a.end == ref.end);
	fz_check(a.hash == ref.hash && a.nbytes == ref.nbytes);
	fz_decode(data, size, one, 1, &b);
	fz_check(b.rc == ref.rc && b.end == ref.end && b.hash == ref.hash);
	/* the first byte picks uneven cuts: 1..16 bytes, four sizes in turn */
	if (size) {
		for (int i = 0; i < 4; i++)
			steps[i] = 1 + ((data[0] >> (2 * i)) & 3) * 5;
		fz_decode(data, size, steps, 4, &c);
		fz_check(c.rc == ref.rc && c.end == ref.end && c.hash == ref.hash);
	}
	return 0;
}
