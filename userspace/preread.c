/* SPDX-License-Identifier: MIT */
/*
 * TLS ClientHello pre-reading (see include/preread.h).
 *
 * The handshake bytes of the leading records are gathered into a bounded
 * stack buffer (a ClientHello may be split over records, as nginx
 * allows), then the message is walked with a cursor whose every read is
 * checked against the bytes left: a length field never sends a read past
 * its enclosing field.
 */
#include <string.h>

#include "preread.h"

#define REC_HDR		5
#define REC_MAX		(16384 + 2048) /* TLSCiphertext bound (RFC 8446 5.2) */
#define HS_CLIENT_HELLO 1
#define EXT_SNI		0
#define EXT_ALPN	16
#define EXT_VERSIONS	43

/* struct rd - a cursor over [p, p + n). */
struct rd {
	const uint8_t *p;
	size_t n;
};

static int rd_u8(struct rd *r, unsigned *v)
{
	if (r->n < 1)
		return -1;
	*v = r->p[0];
	r->p++, r->n--;
	return 0;
}

static int rd_u16(struct rd *r, unsigned *v)
{
	if (r->n < 2)
		return -1;
	*v = (unsigned)r->p[0] << 8 | r->p[1];
	r->p += 2, r->n -= 2;
	return 0;
}

/* rd_sub - the next LEN bytes as their own cursor. */
static int rd_sub(struct rd *r, size_t len, struct rd *sub)
{
	if (r->n < len)
		return -1;
	sub->p = r->p;
	sub->n = len;
	r->p += len, r->n -= len;
	return 0;
}

/* rd_vec8 / rd_vec16 - a vector with a 1- / 2-byte length prefix. */
static int rd_vec8(struct rd *r, struct rd *sub)
{
	unsigned l;

	return rd_u8(r, &l) ? -1 : rd_sub(r, l, sub);
}

static int rd_vec16(struct rd *r, struct rd *sub)
{
	unsigned l;

	return rd_u16(r, &l) ? -1 : rd_sub(r, l, sub);
}

static const char *version_name(unsigned v)
{
	switch (v) {
	case 0x0300:
		return "SSLv3";
	case 0x0301:
		return "TLSv1";
	case 0x0302:
		return "TLSv1.1";
	case 0x0303:
		return "TLSv1.2";
	case 0x0304:
		return "TLSv1.3";
	default:
		return NULL;
	}
}

/* parse_sni - server_name extension (RFC 6066 3): the first host_name. */
static int parse_sni(struct rd e, struct preread_info *out)
{
	struct rd list;

	if (rd_vec16(&e, &list) || e.n || list.n == 0)
		return -1;
	while (list.n) {
		unsigned type;
		struct rd name;

		if (rd_u8(&list, &type) || rd_vec16(&list, &name))
			return -1;
		if (type != 0)
			continue;
		if (out->sni_len || name.n == 0 || name.n > PREREAD_NAME_MAX)
			return -1; /* a second host_name, an empty or too long one */
		for (size_t i = 0; i < name.n; i++)
			if (name.p[i] < 0x21 || name.p[i] > 0x7e)
				return -1;
		memcpy(out->sni, name.p, name.n);
		out->sni[name.n] = '\0';
		out->sni_len = name.n;
	}
	return 0;
}

/* parse_alpn - application_layer_protocol_negotiation (RFC 7301 3.1). */
static int parse_alpn(struct rd e, struct preread_info *out)
{
	struct rd list;

	if (rd_vec16(&e, &list) || e.n || list.n < 2)
		return -1;
	while (list.n) {
		struct rd proto;
		size_t need;

		if (rd_vec8(&list, &proto) || proto.n == 0)
			return -1;
		need = proto.n + (out->alpn_len ? 1 : 0);
		if (out->alpn_len + need > PREREAD_ALPN_MAX)
			return -1;
		for (size_t i = 0; i < proto.n; i++)
			if (proto.p[i] < 0x21 || proto.p[i] > 0x7e || proto.p[i] == ',')
				return -1;
		if (out->alpn_len)
			out->alpn[out->alpn_len++] = ',';
		memcpy(out->alpn + out->alpn_len, proto.p, proto.n);
		out->alpn_len += proto.n;
		out->alpn[out->alpn_len] = '\0';
	}
	return 0;
}

/* parse_versions - supported_versions (RFC 8446 4.2.1): the highest known. */
static int parse_versions(struct rd e, struct preread_info *out)
{
	struct rd list;
	unsigned best = 0;

	if (rd_vec8(&e, &list) || e.n || list.n < 2 || list.n % 2)
		return -1;
	while (list.n) {
		unsigned v;

		rd_u16(&list, &v);
		if (version_name(v) && v > best)
			best = v;
	}
	if (best)
		out->version = version_name(best);
	return 0;
}

/* parse_hello - the ClientHello body (RFC 8446 4.1.2, and earlier forms
 * without extensions). 0 or -1. */
static int parse_hello(struct rd r, struct preread_info *out)
{
	struct rd skip, exts;
	unsigned legacy, seen = 0;

	if (rd_u16(&r, &legacy) || rd_sub(&r, 32, &skip) || rd_vec8(&r, &skip) || skip.n > 32)
		return -1;
	if (rd_vec16(&r, &skip) || skip.n < 2 || skip.n % 2) /* cipher suites */
		return -1;
	if (rd_vec8(&r, &skip) || skip.n < 1) /* compression methods */
		return -1;
	out->version = version_name(legacy);
	if (r.n == 0)
		return out->version ? 0 : -1;
	if (rd_vec16(&r, &exts) || r.n)
		return -1; /* extensions must end the message exactly */
	while (exts.n) {
		unsigned type, bit;
		struct rd e;

		if (rd_u16(&exts, &type) || rd_vec16(&exts, &e))
			return -1;
		bit = type == EXT_SNI ? 1 : type == EXT_ALPN ? 2 : type == EXT_VERSIONS ? 4 : 0;
		if (seen & bit)
			return -1; /* RFC 8446 4.2: no extension type twice */
		seen |= bit;
		if ((type == EXT_SNI && parse_sni(e, out)) ||
		    (type == EXT_ALPN && parse_alpn(e, out)) ||
		    (type == EXT_VERSIONS && parse_versions(e, out)))
			return -1;
	}
	return out->version ? 0 : -1;
}

int preread_parse(const uint8_t *buf, size_t len, struct preread_info *out)
{
	uint8_t hs[PREREAD_MAX_HELLO + 4];
	size_t hlen = 0, off = 0;

	if (len == 0)
		return PREREAD_AGAIN;
	if (buf[0] != 0x16 || (len > 1 && buf[1] != 3))
		return PREREAD_NOT_TLS;
	for (;;) {
		size_t rlen, take;

		if (len - off < REC_HDR) {
			/* a later record must be a handshake record too */
			if (off < len && buf[off] != 0x16)
				return PREREAD_BAD;
			return PREREAD_AGAIN;
		}
		if (buf[off] != 0x16 || buf[off + 1] != 3)
			return PREREAD_BAD;
		rlen = (size_t)buf[off + 3] << 8 | buf[off + 4];
		if (rlen == 0 || rlen > REC_MAX)
			return PREREAD_BAD;
		take = rlen < len - off - REC_HDR ? rlen : len - off - REC_HDR;
		if (take > sizeof(hs) - hlen)
			take = sizeof(hs) - hlen; /* the message length check below fails */
		memcpy(hs + hlen, buf + off + REC_HDR, take);
		hlen += take;
		if (hlen >= 4) {
			size_t mlen = (size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3];

			if (hs[0] != HS_CLIENT_HELLO || mlen > PREREAD_MAX_HELLO || mlen < 38)
				return PREREAD_BAD;
			if (hlen >= 4 + mlen) {
				struct rd r = {hs + 4, mlen};

				memset(out, 0, sizeof(*out));
				return parse_hello(r, out) ? PREREAD_BAD : PREREAD_OK;
			}
		}
		if (take < rlen)
			return PREREAD_AGAIN; /* the record is not all here */
		off += REC_HDR + rlen;
	}
}
