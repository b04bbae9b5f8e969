/* SPDX-License-Identifier: MIT */
/*
 * Tests of the PROXY protocol parser (userspace/pproto.c). Every header is
 * parsed whole, followed by request bytes that must not be taken, and as
 * each of its prefixes: a prefix of a valid header must give PPROTO_AGAIN,
 * a prefix of a broken one PPROTO_AGAIN or its final answer. Inputs end
 * right before a PROT_NONE page, so any read past them crashes. Then
 * pproto_read() on a socketpair: the header taken, the rest left.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lbd.h"
#include "pproto.h"

#define IN(lit) .in = (lit), .len = sizeof(lit) - 1

#define GUARD_ROOM (64 * 1024)
static uint8_t *guard_end;

/* guarded - a copy of IN[0..LEN) whose end touches a PROT_NONE page. */
static const uint8_t *guarded(const void *in, size_t len)
{
	if (!guard_end) {
		long page = sysconf(_SC_PAGESIZE);
		uint8_t *base = mmap(NULL, GUARD_ROOM + (size_t)page, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		cr_assert_neq(base, MAP_FAILED);
		cr_assert_eq(mprotect(base + GUARD_ROOM, (size_t)page, PROT_NONE), 0);
		guard_end = base + GUARD_ROOM;
	}
	cr_assert_leq(len, (size_t)GUARD_ROOM);
	memmove(guard_end - len, in, len);
	return guard_end - len;
}

/* V2 - a v2 head: signature, VC (version/command), FT (family/transport),
 * 16-bit length. */
#define SIG	      "\r\n\r\n\0\r\nQUIT\n"
#define V2(vc, ft, l) SIG vc ft l

struct pp_case {
	const char *name;
	const char *in; /* the header */
	size_t len;	/* its length */
	int rc;		/* enum pproto_rc of the whole */
	bool has_addr;
	const char *src, *dst;
	int sport, dport;
	const char *msg; /* pproto_describe's text for a failure, or NULL */
};

/* The table: parameters are indexes into it (a test runs in a new
 * process where the table's string pointers would not hold). */
static const struct pp_case cases[] = {
	/* v1 */
	{"tcp4", IN("PROXY TCP4 203.0.113.7 192.0.2.1 4321 443\r\n"), PPROTO_OK, true,
	 "203.0.113.7", "192.0.2.1", 4321, 443, NULL},
	{"tcp6", IN("PROXY TCP6 2001:db8::1 ::1 65535 0\r\n"), PPROTO_OK, true, "2001:db8::1",
	 "::1", 65535, 0, NULL},
	{"tcp6 mapped", IN("PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n"), PPROTO_OK, true,
	 "::ffff:1.2.3.4", "::1", 1, 2, NULL},
	{"unknown", IN("PROXY UNKNOWN\r\n"), PPROTO_OK, false, NULL, NULL, 0, 0, NULL},
	{"unknown+", IN("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n"), PPROTO_OK,
	 false, NULL, NULL, 0, 0, NULL},
	{"leading zeros", IN("PROXY TCP4 1.2.3.4 5.6.7.8 00080 0443\r\n"), PPROTO_OK, true,
	 "1.2.3.4", "5.6.7.8", 80, 443, NULL},
	{"not proxy", IN("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), PPROTO_BROKEN, false, NULL, NULL, 0,
	 0, "broken header: \"GET / HTTP/1.1\""},
	{"lowercase", IN("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), PPROTO_BROKEN},
	{"no space", IN("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n"), PPROTO_BROKEN},
	{"tcp5", IN("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"), PPROTO_BROKEN},
	{"udp4", IN("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), PPROTO_BROKEN},
	{"family mismatch", IN("PROXY TCP4 ::1 ::1 1 2\r\n"), PPROTO_BROKEN},
	{"family mismatch 6", IN("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"), PPROTO_BROKEN},
	{"bad octet", IN("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"), PPROTO_BROKEN},
	{"name", IN("PROXY TCP4 localhost 5.6.7.8 1 2\r\n"), PPROTO_BROKEN},
	{"empty addr", IN("PROXY TCP4  5.6.7.8 1 2\r\n"), PPROTO_BROKEN},
	{"two spaces", IN("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n"), PPROTO_BROKEN},
	{"port over", IN("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), PPROTO_BROKEN},
	{"port 6 digits", IN("PROXY TCP4 1.2.3.4 5.6.7.8 000001 2\r\n"), PPROTO_BROKEN},
	{"port sign", IN("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"), PPROTO_BROKEN},
	{"port empty", IN("PROXY TCP4 1.2.3.4 5.6.7.8  2\r\n"), PPROTO_BROKEN},
	{"dport empty", IN("PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n"), PPROTO_BROKEN},
	{"no dport", IN("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), PPROTO_BROKEN},
	{"extra field", IN("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), PPROTO_BROKEN},
	{"bare LF", IN("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), PPROTO_BROKEN},
	{"CR CR", IN("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n"), PPROTO_BROKEN},
	{"NUL", IN("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n"), PPROTO_BROKEN, false, NULL, NULL, 0, 0,
	 "broken header: \"PROXY TCP4 1.2.3.4\\x00 5.6.7.8 1 2\""},
	{"over long",
	 IN("PROXY UNKNOWN 0123456789012345678901234567890123456789012345"
	    "6789012345678901234567890123456789012345678901\r\n"),
	 PPROTO_BROKEN},
	{"just long enough",
	 IN("PROXY UNKNOWN 0123456789012345678901234567890123456789012345"
	    "678901234567890123456789012345678901234567890\r\n"),
	 PPROTO_OK},
	/* v2 */
	{"v2 tcp4",
	 IN(V2("\x21", "\x11", "\x00\x0c") "\xcb\x00\x71\x07"
					   "\xc0\x00\x02\x01"
					   "\x10\xe1\x01\xbb"),
	 PPROTO_OK, true, "203.0.113.7", "192.0.2.1", 4321, 443, NULL},
	{"v2 tcp6",
	 IN(V2("\x21", "\x21", "\x00\x24") "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
					   "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"
					   "\xff\xff\x00\x00"),
	 PPROTO_OK, true, "2001:db8::1", "::1", 65535, 0, NULL},
	{"v2 tcp4 tlvs",
	 IN(V2("\x21", "\x11", "\x00\x1a") "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02"
					   "\x04\x00\x00"	    /* NOOP */
					   "\xea\x00\x08vpce-123"), /* AWS */
	 PPROTO_OK, true, "1.2.3.4", "5.6.7.8", 1, 2, NULL},
	{"v2 local", IN(V2("\x20", "\x00", "\x00\x00")), PPROTO_OK, false},
	{"v2 local with block", IN(V2("\x20", "\x11", "\x00\x05") "\x01\x02\x03\x04\x05"),
	 PPROTO_OK, false},
	{"v2 udp4",
	 IN(V2("\x21", "\x12", "\x00\x0c") "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02"),
	 PPROTO_OK, false},
	{"v2 unspec", IN(V2("\x21", "\x00", "\x00\x00")), PPROTO_OK, false},
	{"v2 version 1",
	 IN(V2("\x11", "\x11", "\x00\x0c") "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02"),
	 PPROTO_VERSION, false, NULL, NULL, 0, 0, "unknown PROXY protocol version: 1"},
	{"v2 version 3", IN(V2("\x31", "\x11", "\x00\x00")), PPROTO_VERSION},
	{"v2 command 2", IN(V2("\x22", "\x11", "\x00\x00")), PPROTO_BROKEN},
	{"v2 family 4", IN(V2("\x21", "\x41", "\x00\x00")), PPROTO_BROKEN},
	{"v2 transport 3",
	 IN(V2("\x21", "\x13", "\x00\x0c") "\x01\x02\x03\x04\x05\x06\x07"
					   "\x08\x00\x01\x00\x02"),
	 PPROTO_BROKEN},
	{"v2 short inet",
	 IN(V2("\x21", "\x11", "\x00\x0b") "\x01\x02\x03\x04\x05\x06\x07\x08"
					   "\x00\x01\x00"),
	 PPROTO_BROKEN, false, NULL, NULL, 0, 0, "broken header: \"\""},
	{"v2 short inet6",
	 IN(V2("\x21", "\x21", "\x00\x0c") "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02"),
	 PPROTO_BROKEN},
	{"v2 tlv past end",
	 IN(V2("\x21", "\x11", "\x00\x10") "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02"
					   "\x04\x00\x02\x00"),
	 PPROTO_BROKEN},
	{"v2 tlv head cut",
	 IN(V2("\x21", "\x11", "\x00\x0e") "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02"
					   "\x04\x00"),
	 PPROTO_BROKEN},
	{"v2 length past the buffer", IN(V2("\x21", "\x11", "\xff\xff")), PPROTO_TOO_LARGE, false,
	 NULL, NULL, 0, 0, "header is too large"},
	{"v2 length just past", IN(V2("\x21", "\x11", "\x03\xf1")), PPROTO_TOO_LARGE},
	{"v2 bad signature", IN("\r\n\r\n\0\r\nQUIX\n\x21\x11\x00\x00"), PPROTO_BROKEN},
	{"binary", IN("\x16\x03\x01\x02\x00\x01"), PPROTO_BROKEN, false, NULL, NULL, 0, 0,
	 "broken header: \"\\x16\\x03\\x01\\x02\\x00\\x01\""},
};

ParameterizedTestParameters(pproto, parse)
{
	static size_t idx[ARRAY_SIZE(cases)];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, ARRAY_SIZE(cases));
}

ParameterizedTest(size_t *i, pproto, parse)
{
	const struct pp_case *c = &cases[*i];
	static const char tail[] = "GET / HTTP/1.1\r\n\r\n";
	uint8_t buf[2048];
	struct pproto_info pi;
	size_t used;
	int rc;

	/* whole, with the client's first bytes after it */
	memcpy(buf, c->in, c->len);
	memcpy(buf + c->len, tail, sizeof(tail) - 1);
	rc = pproto_parse(guarded(buf, c->len + sizeof(tail) - 1), c->len + sizeof(tail) - 1, &pi,
			  &used);
	cr_assert_eq(rc, c->rc, "%s: rc %d, want %d", c->name, rc, c->rc);
	if (rc == PPROTO_OK) {
		cr_assert_eq(used, c->len, "%s: used %zu of %zu", c->name, used, c->len);
		cr_assert_eq(pi.has_addr, c->has_addr, "%s", c->name);
	}
	if (rc == PPROTO_OK && c->has_addr) {
		cr_assert_str_eq(pi.src, c->src, "%s", c->name);
		cr_assert_str_eq(pi.dst, c->dst, "%s", c->name);
		cr_assert_eq(pi.src_len, strlen(c->src));
		cr_assert_eq(pi.src_port, c->sport, "%s", c->name);
		cr_assert_eq(pi.dst_port, c->dport, "%s", c->name);
	}
	if (c->msg) {
		char msg[256];

		pproto_describe(rc, buf, c->len, msg, sizeof(msg));
		cr_assert_str_eq(msg, c->msg, "%s", c->name);
	}
	/* the header alone, then each prefix of it */
	rc = pproto_parse(guarded(c->in, c->len), c->len, &pi, &used);
	cr_assert_eq(rc, c->rc, "%s alone: rc %d", c->name, rc);
	for (size_t n = 0; n < c->len; n++) {
		rc = pproto_parse(guarded(c->in, n), n, &pi, &used);
		if (c->rc == PPROTO_OK)
			cr_assert_eq(rc, PPROTO_AGAIN, "%s cut at %zu: rc %d", c->name, n, rc);
		else
			cr_assert(rc == PPROTO_AGAIN || rc == c->rc, "%s cut at %zu: rc %d",
				  c->name, n, rc);
	}
}

/* A v1 line that never ends: refused at 107 bytes, not waited for. */
Test(pproto, v1_limit)
{
	uint8_t buf[PPROTO_MAX];
	struct pproto_info pi;
	size_t used;

	memset(buf, '1', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	cr_assert_eq(pproto_parse(guarded(buf, PPROTO_V1_MAX - 1), PPROTO_V1_MAX - 1, &pi, &used),
		     PPROTO_AGAIN);
	cr_assert_eq(pproto_parse(guarded(buf, PPROTO_V1_MAX), PPROTO_V1_MAX, &pi, &used),
		     PPROTO_BROKEN);
	cr_assert_eq(pproto_parse(guarded(buf, sizeof(buf)), sizeof(buf), &pi, &used),
		     PPROTO_BROKEN);
	/* an address that runs on: broken before the limit */
	memcpy(buf, "PROXY TCP6 ", 11);
	cr_assert_eq(pproto_parse(guarded(buf, 80), 80, &pi, &used), PPROTO_BROKEN);
}

/* The largest v2 header accepted, and TLVs of it all. */
Test(pproto, v2_max)
{
	static uint8_t buf[PPROTO_MAX + 1];
	size_t plen = PPROTO_MAX - 16, used;
	struct pproto_info pi;

	memcpy(buf, SIG "\x21\x11", 14);
	buf[14] = (uint8_t)(plen >> 8);
	buf[15] = (uint8_t)plen;
	memset(buf + 16, 7, 12);
	buf[28] = 0x04; /* one NOOP TLV for the rest */
	buf[29] = (uint8_t)((plen - 15) >> 8);
	buf[30] = (uint8_t)(plen - 15);
	cr_assert_eq(pproto_parse(guarded(buf, PPROTO_MAX), PPROTO_MAX, &pi, &used), PPROTO_OK);
	cr_assert_eq(used, PPROTO_MAX);
	cr_assert_str_eq(pi.src, "7.7.7.7");
	cr_assert_eq(pproto_parse(guarded(buf, PPROTO_MAX - 1), PPROTO_MAX - 1, &pi, &used),
		     PPROTO_AGAIN);
	plen++;
	buf[14] = (uint8_t)(plen >> 8);
	buf[15] = (uint8_t)plen;
	cr_assert_eq(pproto_parse(guarded(buf, 16), 16, &pi, &used), PPROTO_TOO_LARGE);
}

/* pproto_read on a socket: the header is taken, the request stays. */
Test(pproto, read_leaves_the_rest)
{
	static const char v1[] = "PROXY TCP4 203.0.113.7 192.0.2.1 4321 443\r\nGET / HTTP/1.1\r\n";
	static const uint8_t v2[] = SIG "\x21\x11\x00\x0c\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01"
					"\x00\x02"
					"\x16\x03\x01";
	struct pproto_info pi;
	char msg[128], rest[64];
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* nothing yet, then half a header: wait */
	cr_assert_eq(pproto_read(sv[1], &pi, msg, sizeof(msg)), PPROTO_AGAIN);
	cr_assert_eq(write(sv[0], v1, 20), 20);
	cr_assert_eq(pproto_read(sv[1], &pi, msg, sizeof(msg)), PPROTO_AGAIN);
	cr_assert_eq(write(sv[0], v1 + 20, sizeof(v1) - 1 - 20), (ssize_t)(sizeof(v1) - 1 - 20));
	cr_assert_eq(pproto_read(sv[1], &pi, msg, sizeof(msg)), PPROTO_OK);
	cr_assert_str_eq(pi.src, "203.0.113.7");
	/* the request's bytes were there: nginx reads them with it */
	cr_expect(pi.len == 43 && pi.more, "%u %d", pi.len, pi.more);
	cr_assert_eq(read(sv[1], rest, sizeof(rest)), 16);
	cr_assert_eq(memcmp(rest, "GET / HTTP/1.1\r\n", 16), 0);
	/* v2, then a TLS record */
	cr_assert_eq(write(sv[0], v2, sizeof(v2) - 1), (ssize_t)(sizeof(v2) - 1));
	cr_assert_eq(pproto_read(sv[1], &pi, msg, sizeof(msg)), PPROTO_OK);
	cr_assert_str_eq(pi.dst, "5.6.7.8");
	cr_expect(pi.len == 28 && pi.more, "%u %d", pi.len, pi.more);
	cr_assert_eq(read(sv[1], rest, sizeof(rest)), 3);
	cr_assert_eq(rest[0], 0x16);
	/* a header alone: nothing came with it */
	cr_assert_eq(write(sv[0], v1, 43), 43);
	cr_assert_eq(pproto_read(sv[1], &pi, msg, sizeof(msg)), PPROTO_OK);
	cr_expect(pi.len == 43 && !pi.more, "%u %d", pi.len, pi.more);
	/* broken: described, nothing taken */
	cr_assert_eq(write(sv[0], "GET / HTTP/1.1\r\n", 16), 16);
	cr_assert_eq(pproto_read(sv[1], &pi, msg, sizeof(msg)), PPROTO_BROKEN);
	cr_assert_str_eq(msg, "broken header: \"GET / HTTP/1.1\"");
	cr_assert_eq(read(sv[1], rest, sizeof(rest)), 16);
	/* the peer gone */
	close(sv[0]);
	cr_assert_eq(pproto_read(sv[1], &pi, msg, sizeof(msg)), PPROTO_CLOSED);
	close(sv[1]);
}

/* The variables: a port of 0 is empty, no header is "not found". */
Test(pproto, vars)
{
	struct pproto_info pi;
	struct lstr v;
	char tmp[8];
	size_t used;
	static const char h[] = "PROXY TCP4 1.2.3.4 5.6.7.8 0 8443\r\n";

	cr_assert_not(pproto_var(NULL, 0, tmp, &v));
	cr_assert_eq(pproto_parse((const uint8_t *)h, sizeof(h) - 1, &pi, &used), PPROTO_OK);
	cr_assert(pproto_var(&pi, 0, tmp, &v));
	cr_assert_eq(v.len, 7);
	cr_assert(pproto_var(&pi, 1, tmp, &v));
	cr_assert_eq(v.len, 0);
	cr_assert(pproto_var(&pi, 2, tmp, &v));
	cr_assert_eq(memcmp(v.p, "5.6.7.8", 7), 0);
	cr_assert(pproto_var(&pi, 3, tmp, &v));
	cr_assert_eq(v.len, 4);
	cr_assert_eq(memcmp(v.p, "8443", 4), 0);
	pi.has_addr = false;
	cr_assert_not(pproto_var(&pi, 0, tmp, &v));
}
