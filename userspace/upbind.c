/* SPDX-License-Identifier: MIT */
/*
 * proxy_bind: the local address an upstream connection is made from.
 * A fixed address is parsed once at configuration time; one with
 * variables is evaluated and parsed per connection (an empty value means
 * no bind, an unparsable one is logged and ignored, as nginx). A bind
 * without a port sets IP_BIND_ADDRESS_NO_PORT so that the kernel picks
 * the port at connect time with the whole 4-tuple in view, as nginx does.
 * `transparent` sets IP_TRANSPARENT first, so that the address may be
 * another host's (`proxy_bind $remote_addr transparent`); it needs
 * CAP_NET_RAW, which main.c keeps after dropping privileges when the
 * configuration asks for it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "realip.h"
#include "upbind.h"
#include "var.h"

int upbind_parse(const char *s, size_t len, struct sockaddr_storage *ss, socklen_t *sl)
{
	return realip_parse_addr(s, len, ss, sl) ? 0 : -1;
}

int upbind_transparent(int fd, int family, const char **what)
{
	int one = 1;

	if (family == AF_INET6) {
		*what = "setsockopt(IPV6_TRANSPARENT)";
		return setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof(one)) == -1
			       ? -errno
			       : 0;
	}
	*what = "setsockopt(IP_TRANSPARENT)";
	return setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one)) == -1 ? -errno : 0;
}

int upbind_apply(struct conn *c, const struct upbind *b, int fd, char *txt, size_t txtlen,
		 const char **opt)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	*opt = NULL;
	if (b->off)
		return 0;
	if (b->var) {
		struct lstr v;

		if (cval_eval(b->var, c, &v) < 0 || !v.len)
			return 0;
		if (upbind_parse(v.p, v.len, &ss, &sl)) {
			http_log(c, NULL, LOG_ERR, "invalid local address \"%.*s\"", (int)v.len,
				 v.p);
			return 0;
		}
		snprintf(txt, txtlen, "%.*s", (int)v.len, v.p);
	} else {
		ss = b->addr;
		sl = b->addrlen;
		snprintf(txt, txtlen, "%s", b->text);
	}
	if (b->transparent) {
		int rc = upbind_transparent(fd, ss.ss_family, opt);

		if (rc)
			return rc;
		*opt = NULL;
	}
	if (((struct sockaddr_in *)&ss)->sin_port == 0) /* same offset in sockaddr_in6 */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	return bind(fd, (struct sockaddr *)&ss, sl) == -1 ? -errno : 0;
}
