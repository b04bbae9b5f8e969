/* SPDX-License-Identifier: MIT */
/*
 * DNS messages (RFC 1035) for the resolver: the query lbd sends, and a
 * strict reader of the answer. Every length and pointer in the answer is
 * checked against the message; compression pointers may only point
 * backwards, so a loop cannot form.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "dns.h"

#define HDR 12

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int dns_name_ok(const char *name, size_t len)
{
	size_t label = 0;

	if (len && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_MAX_NAME)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum(ch) && ch != '-' && ch != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

int dns_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, size_t len, uint16_t qtype)
{
	size_t o = HDR, start = 0;

	if (!dns_name_ok(name, len))
		return -1;
	if (name[len - 1] == '.')
		len--;
	/* header + labels (len + 2 bytes) + type and class */
	if (cap < HDR + len + 2 + 4)
		return -1;
	memset(buf, 0, HDR);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;    /* QDCOUNT */
	for (size_t i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			buf[o++] = (uint8_t)(i - start);
			memcpy(buf + o, name + start, i - start);
			o += i - start;
			start = i + 1;
		}
	}
	buf[o++] = 0;
	buf[o++] = (uint8_t)(qtype >> 8);
	buf[o++] = (uint8_t)qtype;
	buf[o++] = 0;
	buf[o++] = 1; /* IN */
	return (int)o;
}

int dns_answer_id(const uint8_t *p, size_t n)
{
	return n < HDR ? -1 : (int)get16(p);
}

/* read_name - the name at *OFF of P (N bytes): its text (dotted, no final
 * dot) into OUT (OUTCAP bytes, *OUTLEN), *OFF moved past it where it
 * lies (a pointer ends it). 0, or -1 when malformed. OUT may be NULL (skip). */
static int read_name(const uint8_t *p, size_t n, size_t *off, char *out, size_t outcap,
		     size_t *outlen)
{
	size_t o = *off, len = 0, end = 0;
	int jumps = 0;

	for (;;) {
		unsigned l;

		if (o >= n)
			return -1;
		l = p[o];
		if ((l & 0xc0) == 0xc0) {
			size_t to;

			if (o + 1 >= n)
				return -1;
			to = (size_t)(l & 0x3f) << 8 | p[o + 1];
			if (!end)
				end = o + 2;
			/* backwards only: no loop can form */
			if (to >= o || ++jumps > 64)
				return -1;
			o = to;
			continue;
		}
		if (l & 0xc0)
			return -1; /* the extended label types */
		o++;
		if (l == 0)
			break;
		if (o + l > n || len + l + 1 > DNS_MAX_NAME + 1)
			return -1;
		if (out) {
			if (len + l + 1 > outcap)
				return -1;
			if (len)
				out[len] = '.';
			memcpy(out + len + (len ? 1 : 0), p + o, l);
		}
		len += l + (len ? 1 : 0);
		o += l;
	}
	*off = end ? end : o;
	if (outlen)
		*outlen = len;
	return 0;
}

int dns_parse(const uint8_t *p, size_t n, uint16_t id, const char *name, size_t len, uint16_t qtype,
	      struct dns_answer *out, const char **why)
{
	char qn[DNS_MAX_NAME + 2];
	size_t off = HDR, qlen = 0;
	unsigned qd, an;

	memset(out, 0, sizeof(*out));
	out->ttl = UINT32_MAX;
	*why = "short DNS response";
	if (n < HDR)
		return -1;
	if (get16(p) != id) {
		*why = "wrong ident";
		return -1;
	}
	if (!(p[2] & 0x80) || (p[2] & 0x78)) {
		*why = "invalid DNS response";
		return -1;
	}
	if (p[2] & 0x02) {
		*why = "truncated DNS response";
		return -1;
	}
	out->rcode = p[3] & 0x0f;
	qd = get16(p + 4);
	an = get16(p + 6);
	if (qd != 1) {
		*why = "invalid number of questions in DNS response";
		return -1;
	}
	if (len && name[len - 1] == '.')
		len--;
	if (read_name(p, n, &off, qn, sizeof(qn), &qlen) || off + 4 > n)
		return -1;
	if (qlen != len || strncasecmp(qn, name, len) != 0 || get16(p + off) != qtype ||
	    get16(p + off + 2) != 1) {
		*why = "unexpected response";
		return -1;
	}
	off += 4;
	if (out->rcode)
		return 0;
	for (unsigned i = 0; i < an; i++) {
		unsigned type, class, rdlen;
		uint32_t ttl;

		if (read_name(p, n, &off, NULL, 0, NULL) || off + 10 > n)
			return -1;
		type = get16(p + off);
		class = get16(p + off + 2);
		ttl = get32(p + off + 4);
		rdlen = get16(p + off + 8);
		off += 10;
		if (off + rdlen > n)
			return -1;
		if (class != 1) {
			*why = "unexpected RR class";
			return -1;
		}
		if (ttl > INT32_MAX)
			ttl = 0; /* RFC 2181: a TTL with its top bit set is 0 */
		if (ttl < out->ttl)
			out->ttl = ttl;
		if (type == DNS_A || type == DNS_AAAA) {
			unsigned want = type == DNS_A ? 4 : 16;

			if (type != qtype) {
				*why = type == DNS_A ? "unexpected A record in DNS response"
						     : "unexpected AAAA record in DNS response";
				return -1;
			}
			if (rdlen != want) {
				*why = type == DNS_A ? "invalid A record in DNS response"
						     : "invalid AAAA record in DNS response";
				return -1;
			}
			if (out->naddrs < DNS_MAX_ADDR)
				memcpy(out->addrs[out->naddrs++], p + off, want);
		} else if (type == DNS_CNAME) {
			size_t ro = off, tl = 0;

			/* the target, for a resolver that answers with the
			 * alias alone (it is asked for next) */
			if (read_name(p, off + rdlen, &ro, out->ncname ? NULL : out->cname,
				      sizeof(out->cname), &tl) ||
			    ro != off + rdlen) {
				*why = "invalid CNAME record in DNS response";
				return -1;
			}
			if (!out->ncname++)
				out->cname_len = tl;
		}
		off += rdlen;
	}
	if (out->ttl == UINT32_MAX)
		out->ttl = 0;
	return 0;
}

const char *dns_strerror(int code)
{
	switch (code) {
	case DNS_FORMERR:
		return "Format error";
	case DNS_SERVFAIL:
		return "Server failure";
	case DNS_NXDOMAIN:
		return "Host not found";
	case DNS_NOTIMP:
		return "Unimplemented";
	case DNS_REFUSED:
		return "Operation refused";
	case 110:
		return "Operation timed out";
	default:
		return "Unknown error";
	}
}
