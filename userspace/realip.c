/* SPDX-License-Identifier: MIT */
/*
 * realip: nginx's ngx_http_realip_module. Owns the trust decision (is the
 * connecting peer a configured proxy?), the walk of X-Forwarded-For (or
 * X-Real-IP, or any named header) from the right, and the swap of the
 * connection's peer address for the request's life. See realip.h for
 * which features see the real address and which keep the TCP peer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "ban.h"
#include "cfg-t.h"
#include "http-t.h"
#include "http.h"
#include "log.h"
#include "pproto.h"
#include "realip.h"

/* struct realip_state - a request whose peer was replaced: the TCP peer,
 * put back at the end of the request. Request pool memory. */
struct realip_state {
	struct sockaddr_storage tcp; /* the connecting peer */
	socklen_t tcplen;
};

/* inet4 - ngx_inet_addr: digits and exactly three dots, octets <= 255
 * (an empty octet is 0, as nginx reads it); 255.255.255.255 is
 * INADDR_NONE there, so refused here too. */
static bool inet4(const char *s, size_t len, struct in_addr *out)
{
	uint32_t addr = 0, octet = 0;
	int dots = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (ch >= '0' && ch <= '9') {
			octet = octet * 10 + (uint32_t)(ch - '0');
			if (octet > 255)
				return false;
		} else if (ch == '.') {
			addr = (addr << 8) + octet;
			octet = 0;
			if (++dots > 3)
				return false;
		} else {
			return false;
		}
	}
	if (dots != 3)
		return false;
	addr = (addr << 8) + octet;
	if (addr == 0xffffffffu)
		return false;
	out->s_addr = htonl(addr);
	return true;
}

/* parse_addr - ngx_parse_addr: an IPv4 or IPv6 address, nothing else. */
static bool parse_addr(const char *s, size_t len, struct sockaddr_storage *ss, socklen_t *sl)
{
	char buf[INET6_ADDRSTRLEN + 1];

	memset(ss, 0, sizeof(*ss));
	if (inet4(s, len, &((struct sockaddr_in *)ss)->sin_addr)) {
		ss->ss_family = AF_INET;
		*sl = sizeof(struct sockaddr_in);
		return true;
	}
	if (len == 0 || len >= sizeof(buf) || !memchr(s, ':', len))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, &((struct sockaddr_in6 *)ss)->sin6_addr) != 1)
		return false;
	ss->ss_family = AF_INET6;
	*sl = sizeof(struct sockaddr_in6);
	return true;
}

bool realip_parse_addr(const char *text, size_t len, struct sockaddr_storage *ss, socklen_t *sl)
{
	const char *last = text + len, *colon;
	size_t plen, alen;
	int port = 0;

	if (parse_addr(text, len, ss, sl))
		return true;
	if (len && text[0] == '[') {
		const char *rb = memchr(text, ']', len);

		if (!rb || rb == last - 1 || rb[1] != ':')
			return false;
		colon = rb + 1;
		text++;
		alen = (size_t)(rb - text);
	} else {
		colon = memchr(text, ':', len);
		if (!colon)
			return false;
		alen = (size_t)(colon - text);
	}
	plen = (size_t)(last - colon - 1);
	if (plen == 0 || plen > 5)
		return false;
	for (size_t i = 0; i < plen; i++) {
		if (colon[1 + i] < '0' || colon[1 + i] > '9')
			return false;
		port = port * 10 + (colon[1 + i] - '0');
	}
	if (port < 1 || port > 65535 || !parse_addr(text, alen, ss, sl))
		return false;
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	return true;
}

bool realip_trusted(const struct sockaddr_storage *ss, const struct realip_cidr *from, int n)
{
	struct ban_cidr a; /* the peer in the 16-byte form the entries use */
	bool have = ban_cidr_of(ss, &a);

	for (int i = 0; i < n; i++) {
		const struct realip_cidr *f = &from[i];
		bool m = true;

		if (f->family == AF_UNIX) {
			if (ss->ss_family == AF_UNIX)
				return true;
			continue;
		}
		/* an IPv6 network never matches an IPv4 socket (ngx_cidr_match
		 * compares families; only mapped IPv6 peers meet IPv4 networks) */
		if (!have || (f->family == AF_INET6 && ss->ss_family != AF_INET6))
			continue;
		for (int k = 0; k < 16 && m; k++) {
			int bits = f->plen - k * 8;
			uint8_t mask = bits >= 8   ? 0xff
				       : bits <= 0 ? 0
						   : (uint8_t)(0xff << (8 - bits));

			m = (a.addr[k] & mask) == f->addr[k];
		}
		if (m)
			return true;
	}
	return false;
}

enum fwd_rc { FWD_DECLINED, FWD_OK, FWD_DONE };

/* fwd_one - ngx_http_get_forwarded_addr_internal on one header value
 * X[0..LEN): the current address must be trusted; take the rightmost
 * entry; with RECURSIVE, go on to its left while trusted. */
static enum fwd_rc fwd_one(struct sockaddr_storage *ss, socklen_t *sl, const char *x, size_t len,
			   const struct realip_cidr *from, int nfrom, bool recursive)
{
	struct sockaddr_storage pa;
	socklen_t pl;
	size_t p;

	if (len == 0 || !realip_trusted(ss, from, nfrom))
		return FWD_DECLINED;
	/* trailing separators are not part of the last entry */
	for (p = len - 1; p > 0 && (x[p] == ' ' || x[p] == ','); p--)
		len--;
	for (; p > 0; p--) {
		if (x[p] == ' ' || x[p] == ',') {
			p++;
			break;
		}
	}
	if (!realip_parse_addr(x + p, len - p, &pa, &pl))
		return FWD_DECLINED;
	*ss = pa;
	*sl = pl;
	if (recursive && p > 0) {
		enum fwd_rc rc = fwd_one(ss, sl, x, p - 1, from, nfrom, true);

		return rc == FWD_DECLINED ? FWD_DONE : rc;
	}
	return FWD_OK;
}

bool realip_find(struct sockaddr_storage *ss, socklen_t *sl, const struct lstr *vals, int nvals,
		 const struct realip_cidr *from, int nfrom, bool recursive)
{
	enum fwd_rc rc = FWD_DECLINED;
	bool found = false;

	/* the last header first: the nearest proxy appended it */
	for (int i = nvals - 1; i >= 0; i--) {
		rc = fwd_one(ss, sl, vals[i].p, vals[i].len, from, nfrom, recursive);
		if (!recursive)
			break;
		if (rc == FWD_DECLINED && found) {
			rc = FWD_DONE;
			break;
		}
		if (rc != FWD_OK)
			break;
		found = true;
	}
	return rc != FWD_DECLINED;
}

#define REALIP_MAX_VALS 16 /* X-Forwarded-For headers walked (nginx: no cap) */

/* collect - the values of request header WANT into VALS (the last
 * REALIP_MAX_VALS of them, in the order received; only the first with
 * FIRST): how many. */
static int collect(const struct http_req *r, struct lstr want, bool first, struct lstr *vals)
{
	int n = 0;

	for (size_t i = 0; i < r->h1.nheaders; i++) {
		const struct h1_header *h = &r->h1.headers[i];
		struct lstr name = {h->name.p, h->name.len};

		if (!lstr_ieq(name, want))
			continue;
		if (n == REALIP_MAX_VALS) /* keep the last ones: the walk starts there */
			memmove(vals, vals + 1, sizeof(vals[0]) * --n);
		vals[n++] = (struct lstr){h->value.p, h->value.len};
		if (first)
			break; /* the first one, as nginx */
	}
	return n;
}

bool realip_forwarded(const struct conn *c, const struct realip_cidr *from, int nfrom,
		      bool recursive, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct lstr vals[REALIP_MAX_VALS];
	int n = collect(&c->req, LSTR("X-Forwarded-For"), false, vals);

	memcpy(ss, &c->peer, sizeof(*ss));
	*sl = c->peerlen;
	return n && realip_find(ss, sl, vals, n, from, nfrom, recursive);
}

bool realip_apply(struct conn *c, const struct cfg_loc *l)
{
	const struct realip_conf *rc = &l->realip;
	struct http_req *r = &c->req;
	struct lstr vals[REALIP_MAX_VALS], want;
	struct sockaddr_storage ss;
	struct realip_state *st;
	socklen_t sl = c->peerlen;
	int n = 0;

	if (c->realip || !rc->from)
		return false;
	switch (rc->type) {
	case REALIP_XFF:
		want = LSTR("X-Forwarded-For");
		break;
	case REALIP_HEADER:
		want = (struct lstr){rc->header, rc->header_len};
		break;
	case REALIP_PROXY_PROTO:
		/* the PROXY header's client; none (or UNKNOWN/LOCAL): declined */
		if (!c->pp)
			return false;
		vals[n++] = (struct lstr){c->pp->src, c->pp->src_len};
		want = (struct lstr){NULL, 0};
		break;
	default:
		want = LSTR("X-Real-IP");
		break;
	}
	if (rc->type != REALIP_PROXY_PROTO)
		n = collect(r, want, rc->type != REALIP_XFF, vals);
	if (!n)
		return false;
	memcpy(&ss, &c->peer, sizeof(ss));
	if (!realip_find(&ss, &sl, vals, n, rc->from, rc->nfrom, rc->recursive == 1))
		return false;
	if (rc->type == REALIP_PROXY_PROTO && ss.ss_family == AF_INET) /* its port, as nginx */
		((struct sockaddr_in *)&ss)->sin_port = htons(c->pp->src_port);
	else if (rc->type == REALIP_PROXY_PROTO)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(c->pp->src_port);
	st = pool_alloc(&c->pool, sizeof(*st));
	if (!st)
		return false; /* no memory: this request keeps the TCP peer */
	memcpy(&st->tcp, &c->peer, sizeof(st->tcp));
	st->tcplen = c->peerlen;
	c->realip = st;
	memcpy(&c->peer, &ss, sizeof(ss));
	c->peerlen = sl;
	/* A ban on the real address: XDP and the accept-time check saw only
	 * the proxy, so it is enforced here, on the same table. */
	if (ban_blocked(&c->peer)) {
		char a[INET6_ADDRSTRLEN] = "?";
		struct ban_cidr cidr;

		if (ban_cidr_of(&c->peer, &cidr))
			ban_cidr_format(&cidr, a, sizeof(a));
		log_emit(l->error_log, LOG_ERR,
			 "access forbidden by ban list, client: %s, request: \"%.*s\"", a,
			 (int)r->request_line.len, r->request_line.p);
		http_finalize(c, 403);
		return true;
	}
	return false;
}

bool realip_applied(const struct conn *c)
{
	return c->realip != NULL;
}

const struct sockaddr_storage *realip_orig(const struct conn *c, socklen_t *len)
{
	if (c->realip) {
		*len = c->realip->tcplen;
		return &c->realip->tcp;
	}
	*len = c->peerlen;
	return &c->peer;
}

void realip_restore(struct conn *c)
{
	if (!c->realip)
		return;
	memcpy(&c->peer, &c->realip->tcp, sizeof(c->peer));
	c->peerlen = c->realip->tcplen;
	c->realip = NULL;
}
