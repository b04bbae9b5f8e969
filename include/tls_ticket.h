/* SPDX-License-Identifier: MIT */
/*
 * ssl_session_ticket_key: session tickets sealed with keys from files, as
 * nginx (48-byte files: AES-128-CBC with HMAC-SHA256 keyed by 16 bytes;
 * 80-byte files: AES-256-CBC with a 32-byte HMAC key). The first key
 * encrypts, every key decrypts; a ticket of a later key is renewed. Keys
 * shared by several servers (or processes, nginx included) resume each
 * other's sessions.
 */
#ifndef LBD_TLS_TICKET_H
#define LBD_TLS_TICKET_H

#include <stddef.h>

#include "tls-t.h"

/* tls_ticket_setup - read T's key files and install them on CTX (an
 * SSL_CTX *; freed with it). 0, or -EINVAL with nginx's message and
 * " in FILE:LINE" in ERR. */
int tls_ticket_setup(void *ctx, const struct tls_conf *t, char *err, size_t errlen);

#endif
