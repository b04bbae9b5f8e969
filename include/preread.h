/* SPDX-License-Identifier: MIT */
/*
 * TLS ClientHello pre-reading for `ssl_preread on` (stream proxying): the
 * server name (SNI), the ALPN protocol list and the highest offered
 * protocol version, read from bytes the client sent but lbd did not
 * consume (MSG_PEEK), so the TLS session passes through untouched.
 *
 * The parser is strict and bounded: it reads only inside the given bytes,
 * checks every length against its enclosing one, follows a ClientHello
 * split over several handshake records, and refuses one longer than
 * PREREAD_MAX_HELLO. It allocates nothing.
 */
#ifndef LBD_PREREAD_H
#define LBD_PREREAD_H

#include <stddef.h>
#include <stdint.h>

#define PREREAD_MAX_HELLO 16384 /* bytes of ClientHello message accepted */
#define PREREAD_NAME_MAX  255	/* longest server name (RFC 6066: a DNS name) */
#define PREREAD_ALPN_MAX  255	/* room for the comma-joined ALPN list */

/* Results of preread_parse. */
enum preread_rc {
	PREREAD_OK = 0,	      /* a whole ClientHello was parsed: *out is filled */
	PREREAD_AGAIN = 1,    /* a valid beginning: more bytes are needed */
	PREREAD_NOT_TLS = -1, /* not a TLS handshake record (plain TCP) */
	PREREAD_BAD = -2,     /* TLS, but malformed or over a limit */
};

/* struct preread_info - what a ClientHello says. Strings are NUL-terminated. */
struct preread_info {
	char sni[PREREAD_NAME_MAX + 1];	 /* server_name host_name, "" if none */
	size_t sni_len;			 /* its length */
	char alpn[PREREAD_ALPN_MAX + 1]; /* ALPN protocols joined by ',', "" if none */
	size_t alpn_len;		 /* its length */
	const char *version;		 /* "TLSv1.3", "TLSv1.2"...: the highest offered */
};

/* preread_parse - parse the ClientHello at the start of BUF (LEN bytes:
 * what the client sent so far). Returns enum preread_rc; *OUT is filled
 * only on PREREAD_OK. A server name must be printable ASCII without
 * spaces, an ALPN protocol non-empty; anything else is PREREAD_BAD. */
int preread_parse(const uint8_t *buf, size_t len, struct preread_info *out);

#endif
