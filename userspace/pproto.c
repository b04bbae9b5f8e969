/* SPDX-License-Identifier: MIT */
/*
 * Inbound PROXY protocol v1 and v2 (see include/pproto.h): the parser, the
 * text nginx logs for a header it refuses, and the socket read that takes
 * the header and not one byte more. The HTTP and stream glue (http.c,
 * stream.c) call pproto_read() until it stops answering PPROTO_AGAIN.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "lbd.h"
#include "pproto.h"

#define V2_HEAD 16 /* signature (12), version/command, family/transport, length (2) */

static const uint8_t v2_sig[12] = {'\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};

/* Address block sizes by v2 family: UNSPEC, INET, INET6, UNIX. */
static const uint16_t v2_addr_size[4] = {0, 12, 36, 216};

/* struct cur - a read position in the bytes given so far. */
struct cur {
	const uint8_t *b; /* the bytes */
	size_t n;	  /* how many may be read (capped at the v1 limit) */
	size_t p;	  /* next to read */
};

/* Step results: the bytes end first (more may come), a mismatch, a match. */
enum step { STEP_SHORT = -1, STEP_BAD = 0, STEP_OK = 1 };

/* lit - the literal S at the position: STEP_OK (consumed), STEP_BAD, or
 * STEP_SHORT when the bytes end inside it with all of them matching. */
static enum step lit(struct cur *c, const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		if (c->p + i >= c->n)
			return STEP_SHORT;
		if (c->b[c->p + i] != (uint8_t)s[i])
			return STEP_BAD;
	}
	c->p += i;
	return STEP_OK;
}

/* v1_addr - an address of FAMILY up to a space (consumed), into OUT. The
 * characters are nginx's (hex digits, ':', '.'), then inet_pton(3) must
 * read them: "PROXY TCP4" with an IPv6 address is refused. */
static enum step v1_addr(struct cur *c, int family, char *out, uint8_t *olen)
{
	uint8_t bin[16];
	size_t k = 0;

	for (;;) {
		uint8_t ch;

		if (c->p >= c->n)
			return STEP_SHORT;
		ch = c->b[c->p++];
		if (ch == ' ')
			break;
		if (!(ch == ':' || ch == '.' || (ch >= '0' && ch <= '9') ||
		      ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')))
			return STEP_BAD;
		if (k + 1 >= PPROTO_ADDR_MAX)
			return STEP_BAD;
		out[k++] = (char)ch;
	}
	out[k] = '\0';
	if (k == 0 || inet_pton(family, out, bin) != 1)
		return STEP_BAD;
	*olen = (uint8_t)k;
	return STEP_OK;
}

/* v1_port - 1 to 5 digits, at most 65535, then SEP (consumed). */
static enum step v1_port(struct cur *c, uint8_t sep, uint16_t *port)
{
	uint32_t v = 0;
	int digits = 0;

	for (;;) {
		uint8_t ch;

		if (c->p >= c->n)
			return STEP_SHORT;
		ch = c->b[c->p++];
		if (ch == sep)
			break;
		if (ch < '0' || ch > '9' || ++digits > 5)
			return STEP_BAD;
		v = v * 10 + (uint32_t)(ch - '0');
	}
	if (digits == 0 || v > 65535)
		return STEP_BAD;
	*port = (uint16_t)v;
	return STEP_OK;
}

/* v1 - "PROXY ..." within PPROTO_V1_MAX bytes. */
static enum pproto_rc v1(const uint8_t *buf, size_t len, struct pproto_info *pi, size_t *used)
{
	struct cur c = {buf, len < PPROTO_V1_MAX ? len : PPROTO_V1_MAX, 0};
	enum step st;
	int family;

	memset(pi, 0, sizeof(*pi));
	pi->version = 1;
	st = lit(&c, "PROXY ");
	if (st != STEP_OK)
		goto out;
	if (c.p >= c.n) {
		st = STEP_SHORT;
		goto out;
	}
	if (buf[c.p] == 'U') {
		if ((st = lit(&c, "UNKNOWN")) != STEP_OK)
			goto out;
		/* the rest of the line says nothing we use */
		for (size_t q = c.p; q + 1 < c.n; q++)
			if (buf[q] == '\r' && buf[q + 1] == '\n') {
				*used = q + 2;
				return PPROTO_OK;
			}
		st = STEP_SHORT;
		goto out;
	}
	if ((st = lit(&c, "TCP")) != STEP_OK)
		goto out;
	if (c.p >= c.n) {
		st = STEP_SHORT;
		goto out;
	}
	if (buf[c.p] != '4' && buf[c.p] != '6') {
		st = STEP_BAD;
		goto out;
	}
	family = buf[c.p++] == '4' ? AF_INET : AF_INET6;
	if ((st = lit(&c, " ")) != STEP_OK ||
	    (st = v1_addr(&c, family, pi->src, &pi->src_len)) != STEP_OK ||
	    (st = v1_addr(&c, family, pi->dst, &pi->dst_len)) != STEP_OK ||
	    (st = v1_port(&c, ' ', &pi->src_port)) != STEP_OK ||
	    (st = v1_port(&c, '\r', &pi->dst_port)) != STEP_OK || (st = lit(&c, "\n")) != STEP_OK)
		goto out;
	pi->has_addr = true;
	*used = c.p;
	return PPROTO_OK;
out:
	/* out of bytes below the limit: a valid beginning; at it: too long */
	if (st == STEP_SHORT && len < PPROTO_V1_MAX)
		return PPROTO_AGAIN;
	return PPROTO_BROKEN;
}

/* v2_fill - the TCP over IPv4/IPv6 address block A of FAMILY (1, 2). */
static void v2_fill(const uint8_t *a, int family, struct pproto_info *pi)
{
	size_t alen = family == 1 ? 4 : 16;
	int af = family == 1 ? AF_INET : AF_INET6;
	const uint8_t *ports = a + 2 * alen;

	inet_ntop(af, a, pi->src, sizeof(pi->src));
	inet_ntop(af, a + alen, pi->dst, sizeof(pi->dst));
	pi->src_len = (uint8_t)strlen(pi->src);
	pi->dst_len = (uint8_t)strlen(pi->dst);
	pi->src_port = (uint16_t)(ports[0] << 8 | ports[1]);
	pi->dst_port = (uint16_t)(ports[2] << 8 | ports[3]);
	pi->has_addr = true;
}

/* v2 - the binary header; BUF starts with as much of the signature as LEN
 * holds. */
static enum pproto_rc v2(const uint8_t *buf, size_t len, struct pproto_info *pi, size_t *used)
{
	unsigned ver, cmd, fam, tr;
	size_t plen, off;

	memset(pi, 0, sizeof(*pi));
	pi->version = 2;
	if (len < V2_HEAD)
		return memcmp(buf, v2_sig, len < 12 ? len : 12) ? PPROTO_BROKEN : PPROTO_AGAIN;
	if (memcmp(buf, v2_sig, sizeof(v2_sig)) != 0)
		return PPROTO_BROKEN;
	ver = buf[12] >> 4;
	cmd = buf[12] & 0x0f;
	if (ver != 2)
		return PPROTO_VERSION;
	plen = (size_t)buf[14] << 8 | buf[15];
	if (V2_HEAD + plen > PPROTO_MAX)
		return PPROTO_TOO_LARGE;
	if (cmd > 1)
		return PPROTO_BROKEN;
	if (len < V2_HEAD + plen)
		return PPROTO_AGAIN;
	*used = V2_HEAD + plen;
	if (cmd == 0)
		return PPROTO_OK; /* LOCAL: a health check; the block is ignored */
	fam = buf[13] >> 4;
	tr = buf[13] & 0x0f;
	if (fam > 3 || tr > 2 || plen < v2_addr_size[fam])
		return PPROTO_BROKEN;
	/* TLVs (type, 16-bit length, value) fill the rest exactly */
	for (off = v2_addr_size[fam]; off < plen;) {
		if (plen - off < 3)
			return PPROTO_BROKEN;
		off += 3 + ((size_t)buf[V2_HEAD + off + 1] << 8 | buf[V2_HEAD + off + 2]);
		if (off > plen)
			return PPROTO_BROKEN;
	}
	/* UDP, UNIX or UNSPEC: nginx keeps the connection's own addresses */
	if (tr == 1 && (fam == 1 || fam == 2))
		v2_fill(buf + V2_HEAD, (int)fam, pi);
	return PPROTO_OK;
}

enum pproto_rc pproto_parse(const uint8_t *buf, size_t len, struct pproto_info *pi, size_t *used)
{
	*used = 0;
	if (len == 0)
		return PPROTO_AGAIN;
	if (buf[0] == '\r')
		return v2(buf, len, pi, used);
	return v1(buf, len, pi, used);
}

void pproto_describe(enum pproto_rc rc, const uint8_t *buf, size_t len, char *out, size_t cap)
{
	size_t k;
	int n;

	if (cap == 0)
		return;
	if (rc == PPROTO_VERSION && len > 12) {
		snprintf(out, cap, "unknown PROXY protocol version: %u", buf[12] >> 4);
		return;
	}
	if (rc == PPROTO_TOO_LARGE) {
		snprintf(out, cap, "header is too large");
		return;
	}
	n = snprintf(out, cap, "broken header: \"");
	k = n > 0 && (size_t)n < cap ? (size_t)n : cap - 1;
	for (size_t i = 0; i < len && i < PPROTO_V1_MAX && buf[i] != '\r' && buf[i] != '\n'; i++) {
		uint8_t ch = buf[i];

		if (k + 5 >= cap)
			break;
		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			out[k++] = (char)ch;
		else
			k += (size_t)snprintf(out + k, cap - k, "\\x%02X", ch);
	}
	snprintf(out + k, cap - k, "\"");
}

enum pproto_rc pproto_read(int fd, struct pproto_info *pi, char *msg, size_t cap)
{
	uint8_t buf[PPROTO_MAX + 1];
	size_t want = PPROTO_V1_MAX, used = 0;
	enum pproto_rc rc;
	ssize_t n;

	if (cap)
		msg[0] = '\0';
	for (;;) {
		/* one byte more: whether the client's next bytes came too */
		n = recv(fd, buf, want + 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return PPROTO_AGAIN;
		if (n <= 0)
			return PPROTO_CLOSED;
		rc = pproto_parse(buf, (size_t)n, pi, &used);
		/* a v2 header longer than the first look: peek at all of it */
		if (rc == PPROTO_AGAIN && (size_t)n >= want && n >= V2_HEAD && buf[0] == '\r') {
			size_t need = V2_HEAD + ((size_t)buf[14] << 8 | buf[15]);

			if (need > want && need <= PPROTO_MAX) {
				want = need;
				continue;
			}
		}
		break;
	}
	if (rc == PPROTO_OK) {
		pi->len = (uint16_t)used;
		pi->more = (size_t)n > used;
		/* the peeked header is in the socket: take exactly it */
		do
			n = recv(fd, buf, used, MSG_DONTWAIT);
		while (n == -1 && errno == EINTR);
		return n == (ssize_t)used ? PPROTO_OK : PPROTO_CLOSED;
	}
	if (rc != PPROTO_AGAIN)
		pproto_describe(rc, buf, (size_t)n, msg, cap);
	return rc;
}

bool pproto_var(const struct pproto_info *pi, int which, char *tmp, struct lstr *out)
{
	uint16_t port;

	if (!pi || !pi->has_addr)
		return false;
	switch (which) {
	case 0:
		*out = (struct lstr){pi->src, pi->src_len};
		return true;
	case 2:
		*out = (struct lstr){pi->dst, pi->dst_len};
		return true;
	default:
		port = which == 1 ? pi->src_port : pi->dst_port;
		out->p = tmp;
		out->len = port ? (size_t)snprintf(tmp, 8, "%u", port) : 0;
		return true;
	}
}
