/* SPDX-License-Identifier: MIT */
/*
 * `listen ... proxy_protocol` for HTTP: the PROXY header is read before
 * anything else on the connection (before the TLS handshake on an `ssl`
 * address), bounded by client_header_timeout armed at accept. The header
 * is taken from the socket and nothing after it (pproto_read), so TLS,
 * HTTP/2 by prior knowledge and the HTTP/1 parser see the stream as the
 * client sent it. The addresses live in c->pp for the connection's life:
 * $proxy_protocol_* and `real_ip_header proxy_protocol` (realip.c).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "cfg-t.h"
#include "http-t.h"
#include "http.h"
#include "log.h"
#include "pproto.h"

bool pproto_http_read(struct conn *c)
{
	struct pproto_info pi;
	char msg[256], client[INET6_ADDRSTRLEN] = "?";
	enum pproto_rc rc = pproto_read(c->io.fd, &pi, msg, sizeof(msg));

	switch (rc) {
	case PPROTO_OK:
		/* nginx reads a plain connection's header into its first
		 * buffer, with what came after it (TLS: peeked, no room) */
		if (pi.more && !c->lg->ssl)
			c->hb_room =
				(uint32_t)c->lg->default_srv->client_header_buffer_size - pi.len;
		if (!pi.has_addr)
			return true;		/* UNKNOWN, LOCAL: the TCP addresses stand */
		c->pp = malloc(sizeof(*c->pp)); /* once per connection */
		if (!c->pp) {
			conn_close(c);
			return false;
		}
		*c->pp = pi;
		return true;
	case PPROTO_AGAIN:
		if (!c->peer_hup) {
			c->readable = false;
			return false;
		}
		/* gone before a whole header */
		snprintf(msg, sizeof(msg), "client closed connection");
		break;
	case PPROTO_CLOSED:
		snprintf(msg, sizeof(msg), "client closed connection");
		break;
	default:
		break;
	}
	/* nginx: logged at error, closed without a response */
	if (c->peer.ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&c->peer)->sin_addr, client,
			  sizeof(client));
	else if (c->peer.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&c->peer)->sin6_addr, client,
			  sizeof(client));
	log_emit(c->lg->default_srv->loc.error_log,
		 rc == PPROTO_AGAIN || rc == PPROTO_CLOSED ? LOG_INFO : LOG_ERR,
		 "*%llu %s while reading PROXY protocol, client: %s, server: %s",
		 (unsigned long long)c->number, msg, client, c->lg->listen->text);
	conn_close(c);
	return false;
}
