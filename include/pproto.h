/* SPDX-License-Identifier: MIT */
/*
 * Inbound PROXY protocol (`listen ... proxy_protocol`, nginx's
 * ngx_proxy_protocol_read): the header a load balancer in front of lbd
 * (HAProxy `send-proxy`, AWS NLB, Cloudflare Spectrum) writes before the
 * client's first byte, naming the original client and the address it
 * connected to. Version 1 is one text line ("PROXY TCP4 SRC DST SPORT
 * DPORT\r\n", "PROXY UNKNOWN ...\r\n"), at most 107 bytes; version 2 a
 * 16-byte binary head (signature, version/command, family/transport,
 * length) and an address block, TLVs after it skipped.
 *
 * The parser is strict and bounded: it reads only inside the given bytes,
 * allocates nothing, tells "a valid beginning, more is needed" from
 * "broken", and refuses a header longer than PPROTO_MAX. It is given the
 * whole prefix again after each read (at most PPROTO_MAX bytes).
 */
#ifndef LBD_PPROTO_H
#define LBD_PPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PPROTO_V1_MAX	107  /* longest v1 line, CRLF included (the spec's limit) */
#define PPROTO_MAX	1024 /* longest v2 header, 16-byte head included (nginx's 1k buffer) */
#define PPROTO_ADDR_MAX 48   /* room for an address as text, NUL included */

/* Results of pproto_parse and pproto_read. */
enum pproto_rc {
	PPROTO_OK = 0,	  /* a whole header: *pi filled, *used its length */
	PPROTO_AGAIN,	  /* a valid beginning: more bytes are needed */
	PPROTO_BROKEN,	  /* not a PROXY header, or a malformed one */
	PPROTO_VERSION,	  /* v2 signature with a version other than 2 */
	PPROTO_TOO_LARGE, /* v2 length past PPROTO_MAX */
	PPROTO_CLOSED,	  /* pproto_read: the client closed or reset first */
};

/* struct pproto_info - what a PROXY header says. With has_addr false
 * (v1 UNKNOWN, v2 LOCAL, a v2 family or transport other than TCP over
 * IPv4/IPv6) the connection's own addresses stand, as in nginx. */
struct pproto_info {
	bool has_addr;		     /* the addresses below are set */
	uint8_t version;	     /* 1 or 2 */
	uint16_t src_port, dst_port; /* host order */
	uint8_t src_len, dst_len;    /* lengths of the texts */
	char src[PPROTO_ADDR_MAX];   /* client address, as text (NUL-terminated) */
	char dst[PPROTO_ADDR_MAX];   /* address the client connected to */
	uint16_t len;		     /* pproto_read: bytes of the header */
	bool more;		     /* pproto_read: bytes after it were in the socket
				      * already (nginx reads them into one buffer) */
};

/* pproto_parse - parse the PROXY header at the start of BUF (LEN bytes,
 * what the peer sent so far). Returns enum pproto_rc; on PPROTO_OK *PI is
 * filled and *USED is the header's length (the bytes after it belong to
 * the client's protocol). v1: "PROXY TCP4 " or "PROXY TCP6 ", two
 * addresses that inet_pton(3) reads in that family, two decimal ports
 * (0..65535, at most 5 digits), single spaces, CRLF; "PROXY UNKNOWN"
 * anything up to CRLF; all within 107 bytes. v2: version 2, command LOCAL
 * (0) or PROXY (1), the address block long enough for its family, TLVs
 * that fill the rest exactly. */
enum pproto_rc pproto_parse(const uint8_t *buf, size_t len, struct pproto_info *pi, size_t *used);

/* pproto_describe - nginx's error log text for a parse failure RC of BUF
 * (LEN bytes) into OUT: `broken header: "..."` (the bytes up to the first
 * CR or LF, non-printable ones as \xNN), `unknown PROXY protocol version:
 * N`, `header is too large`. */
void pproto_describe(enum pproto_rc rc, const uint8_t *buf, size_t len, char *out, size_t cap);

/* pproto_read - read a PROXY header from socket FD without taking a byte
 * past it: peek (MSG_PEEK) at most PPROTO_MAX bytes, parse, and on
 * PPROTO_OK consume exactly the header, so what follows stays in the
 * socket for TLS, HTTP or the stream tunnel. PPROTO_AGAIN: wait for the
 * next readable edge. On a parse failure MSG (CAP bytes) gets
 * pproto_describe's text; on PPROTO_CLOSED it is empty. */
enum pproto_rc pproto_read(int fd, struct pproto_info *pi, char *msg, size_t cap);

struct conn;
struct lstr;

/* pproto_http_read - an HTTP connection in CS_PROXY_PROTO is readable:
 * read its PROXY header (pproto_http.c). True: read, the addresses (if
 * any) in c->pp, the connection goes on to TLS or its request. False: wait
 * for more (c->readable cleared), or C was closed (a broken header is
 * logged at error as nginx does, nothing is answered). */
bool pproto_http_read(struct conn *c);

/* pproto_var - $proxy_protocol_addr (WHICH 0), _port (1), _server_addr
 * (2), _server_port (3) from PI into OUT, TMP (8 bytes or more) holding a
 * port's digits. False: not found (no PROXY header, or one without
 * addresses). A port of 0 is the empty string, as nginx. */
bool pproto_var(const struct pproto_info *pi, int which, char *tmp, struct lstr *out);

#endif
