/* SPDX-License-Identifier: MIT */
/*
 * Tests of the ClientHello pre-reader (userspace/preread.c): real
 * ClientHellos from Python's ssl (preread_vectors.h, see
 * gen_preread_vectors.py) parsed whole, as every prefix (AGAIN), and
 * re-framed over several records; hand-built hellos for each rule: no
 * SNI, truncated and oversized lengths, duplicate extensions, bad names,
 * garbage and plain text. Every parse reads an exact-size heap copy so
 * ASan sees any overread.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "preread.h"
#include "preread_vectors.h"

static int parse_copy(const uint8_t *b, size_t n, struct preread_info *pi)
{
	uint8_t *c = malloc(n ? n : 1);
	int rc;

	cr_assert(c);
	memcpy(c, b, n);
	rc = preread_parse(c, n, pi);
	free(c);
	return rc;
}

/* hello - a ClientHello record with extensions EXT (ELEN bytes), into
 * OUT; returns its length. */
static size_t hello(uint8_t *out, const uint8_t *ext, size_t elen)
{
	uint8_t body[4096];
	size_t n = 0;

	body[n++] = 3, body[n++] = 3;	     /* legacy_version */
	memset(body + n, 0x11, 32), n += 32; /* random */
	body[n++] = 0;			     /* session id */
	body[n++] = 0, body[n++] = 2;	     /* cipher suites */
	body[n++] = 0x13, body[n++] = 0x01;
	body[n++] = 1, body[n++] = 0; /* compression */
	if (ext) {
		body[n++] = (uint8_t)(elen >> 8), body[n++] = (uint8_t)elen;
		memcpy(body + n, ext, elen), n += elen;
	}
	out[0] = 0x16, out[1] = 3, out[2] = 1;
	out[3] = (uint8_t)((n + 4) >> 8), out[4] = (uint8_t)(n + 4);
	out[5] = 1, out[6] = 0, out[7] = (uint8_t)(n >> 8), out[8] = (uint8_t)n;
	memcpy(out + 9, body, n);
	return n + 9;
}

/* sni_ext - a server_name extension for NAME (LEN bytes) at P. */
static size_t sni_ext(uint8_t *p, const char *name, size_t len)
{
	size_t n = 0;

	p[n++] = 0, p[n++] = 0;
	p[n++] = (uint8_t)((len + 5) >> 8), p[n++] = (uint8_t)(len + 5);
	p[n++] = (uint8_t)((len + 3) >> 8), p[n++] = (uint8_t)(len + 3);
	p[n++] = 0;
	p[n++] = (uint8_t)(len >> 8), p[n++] = (uint8_t)len;
	memcpy(p + n, name, len);
	return n + len;
}

struct vec {
	const unsigned char *b;
	size_t n;
	const char *sni, *alpn, *version;
};

static const struct vec vecs[] = {
	{pv_sni_alpn, sizeof(pv_sni_alpn), "a.example.com", "h2,http/1.1", "TLSv1.3"},
	{pv_no_sni, sizeof(pv_no_sni), "", "", "TLSv1.3"},
	{pv_sni_only, sizeof(pv_sni_only), "b.test", "", "TLSv1.3"},
	{pv_tls12, sizeof(pv_tls12), "old.test", "http/1.1", "TLSv1.2"},
};

Test(preread, python_hellos_whole)
{
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		struct preread_info pi;

		cr_assert_eq(parse_copy(vecs[i].b, vecs[i].n, &pi), PREREAD_OK, "vector %zu", i);
		cr_assert_str_eq(pi.sni, vecs[i].sni);
		cr_assert_eq(pi.sni_len, strlen(vecs[i].sni));
		cr_assert_str_eq(pi.alpn, vecs[i].alpn);
		cr_assert_str_eq(pi.version, vecs[i].version);
	}
}

Test(preread, every_prefix_wants_more)
{
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		for (size_t k = 0; k < vecs[i].n; k++) {
			struct preread_info pi;

			cr_assert_eq(parse_copy(vecs[i].b, k, &pi), PREREAD_AGAIN,
				     "vector %zu prefix %zu", i, k);
		}
	}
}

Test(preread, trailing_bytes_ignored)
{
	uint8_t b[4096];
	struct preread_info pi;

	memcpy(b, pv_sni_alpn, sizeof(pv_sni_alpn));
	memcpy(b + sizeof(pv_sni_alpn), "\x17\x03\x03\x00\x05hello", 10);
	cr_assert_eq(parse_copy(b, sizeof(pv_sni_alpn) + 10, &pi), PREREAD_OK);
	cr_assert_str_eq(pi.sni, "a.example.com");
}

/* split - the handshake of V re-framed as records of at most CHUNK bytes. */
static size_t split(const unsigned char *v, size_t n, size_t chunk, uint8_t *out)
{
	size_t hl = n - 5, o = 0;

	for (size_t off = 0; off < hl; off += chunk) {
		size_t c = hl - off < chunk ? hl - off : chunk;

		out[o++] = 0x16, out[o++] = 3, out[o++] = 1;
		out[o++] = (uint8_t)(c >> 8), out[o++] = (uint8_t)c;
		memcpy(out + o, v + 5 + off, c);
		o += c;
	}
	return o;
}

Test(preread, hello_over_several_records)
{
	static const size_t chunks[] = {1, 3, 50, 200};

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		static uint8_t b[8 * 8192];
		struct preread_info pi;
		size_t n = split(pv_sni_alpn, sizeof(pv_sni_alpn), chunks[i], b);

		cr_assert_eq(parse_copy(b, n, &pi), PREREAD_OK, "chunk %zu", chunks[i]);
		cr_assert_str_eq(pi.sni, "a.example.com");
		cr_assert_str_eq(pi.alpn, "h2,http/1.1");
		cr_assert_eq(parse_copy(b, n - 1, &pi), PREREAD_AGAIN);
		/* a record of another type in the middle is refused */
		b[5 + chunks[i]] = 0x17; /* the second record */
		cr_assert_eq(parse_copy(b, n, &pi), PREREAD_BAD, "chunk %zu", chunks[i]);
	}
}

Test(preread, not_tls)
{
	struct preread_info pi;

	cr_assert_eq(parse_copy((const uint8_t *)"GET / HTTP/1.1\r\n", 16, &pi), PREREAD_NOT_TLS);
	cr_assert_eq(parse_copy((const uint8_t *)"\x16\x02\x00", 3, &pi), PREREAD_NOT_TLS);
	cr_assert_eq(parse_copy((const uint8_t *)"SSH-2.0-x\r\n", 11, &pi), PREREAD_NOT_TLS);
	cr_assert_eq(parse_copy((const uint8_t *)"\x16", 1, &pi), PREREAD_AGAIN);
}

Test(preread, hand_built_rules)
{
	uint8_t b[8192], e[4096];
	struct preread_info pi;
	size_t el, n;

	/* no extensions at all: TLS 1.2 from legacy_version, no name */
	n = hello(b, NULL, 0);
	cr_assert_eq(parse_copy(b, n, &pi), PREREAD_OK);
	cr_assert_str_eq(pi.sni, "");
	cr_assert_str_eq(pi.version, "TLSv1.2");

	el = sni_ext(e, "x.test", 6);
	n = hello(b, e, el);
	cr_assert_eq(parse_copy(b, n, &pi), PREREAD_OK);
	cr_assert_str_eq(pi.sni, "x.test");

	/* the same extension twice */
	memcpy(e + el, e, el);
	n = hello(b, e, 2 * el);
	cr_assert_eq(parse_copy(b, n, &pi), PREREAD_BAD);

	/* a name with a control byte, a space, or empty */
	el = sni_ext(e, "x\ny", 3);
	cr_assert_eq(parse_copy(b, hello(b, e, el), &pi), PREREAD_BAD);
	el = sni_ext(e, "x y", 3);
	cr_assert_eq(parse_copy(b, hello(b, e, el), &pi), PREREAD_BAD);
	el = sni_ext(e, "", 0);
	cr_assert_eq(parse_copy(b, hello(b, e, el), &pi), PREREAD_BAD);

	/* a name longer than 255 */
	{
		char big[300];

		memset(big, 'a', sizeof(big));
		el = sni_ext(e, big, 256);
		cr_assert_eq(parse_copy(b, hello(b, e, el), &pi), PREREAD_BAD);
		el = sni_ext(e, big, 255);
		cr_assert_eq(parse_copy(b, hello(b, e, el), &pi), PREREAD_OK);
		cr_assert_eq(pi.sni_len, 255);
	}

	/* an inner length past its extension */
	el = sni_ext(e, "x.test", 6);
	e[5] += 1;
	cr_assert_eq(parse_copy(b, hello(b, e, el), &pi), PREREAD_BAD);

	/* extensions length not ending the message */
	el = sni_ext(e, "x.test", 6);
	n = hello(b, e, el);
	b[9 + 2 + 32 + 1 + 4 + 2 + 1] += 1; /* low byte of the extensions length */
	cr_assert_eq(parse_copy(b, n, &pi), PREREAD_BAD);

	/* empty ALPN protocol */
	{
		static const uint8_t alpn[] = {0, 16, 0, 5, 0, 3, 0, 1, 'x'};

		cr_assert_eq(parse_copy(b, hello(b, alpn, sizeof(alpn)), &pi), PREREAD_BAD);
	}
}

Test(preread, oversized_and_garbage)
{
	uint8_t b[64];
	struct preread_info pi;

	/* a record of length 0, and one over the TLS bound */
	memcpy(b, "\x16\x03\x01\x00\x00", 5);
	cr_assert_eq(parse_copy(b, 5, &pi), PREREAD_BAD);
	memcpy(b, "\x16\x03\x01\xff\xff", 5);
	cr_assert_eq(parse_copy(b, 5, &pi), PREREAD_BAD);
	/* a ClientHello announced at 1 MiB */
	memcpy(b, "\x16\x03\x01\x00\x10\x01\x10\x00\x00", 9);
	cr_assert_eq(parse_copy(b, 9, &pi), PREREAD_BAD);
	/* a handshake message that is not a ClientHello */
	memcpy(b, "\x16\x03\x01\x00\x10\x02\x00\x00\x40", 9);
	cr_assert_eq(parse_copy(b, 9, &pi), PREREAD_BAD);
	/* random bytes behind a handshake header never crash */
	srand(7);
	for (int i = 0; i < 20000; i++) {
		size_t n = 5 + (size_t)(rand() % 59);

		memcpy(b, "\x16\x03\x01", 3);
		b[3] = 0, b[4] = (uint8_t)(n - 5);
		for (size_t k = 5; k < n; k++)
			b[k] = (uint8_t)rand();
		b[5] = 1;
		int rc = parse_copy(b, n, &pi);

		cr_assert(rc == PREREAD_BAD || rc == PREREAD_AGAIN || rc == PREREAD_OK);
	}
}
