/* SPDX-License-Identifier: MIT */
/*
 * Syslog targets (see slog.h). Owns parsing of the `syslog:` parameters,
 * the peer's datagram socket and the message header.
 *
 * The socket is made at config time and shared by every thread: a datagram
 * send is atomic, so lines never interleave and the request path takes no
 * lock. It is non-blocking: a collector that does not read fast enough
 * loses lines (EAGAIN) instead of stalling a worker. When a send fails
 * (collector down: ECONNREFUSED, a unix socket that was re-created, ...)
 * the socket is connect()ed again on the spot and the line sent once more,
 * so the first line after the collector comes back is not lost; the
 * failure is reported to the error log at most once a minute per peer.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "lbd.h"
#include "log.h"
#include "slog.h"

static const char *const slog_facilities[] = {
	"kern",	  "user",   "mail",	"daemon", "auth",   "intern", "lpr",	"news",
	"uucp",	  "clock",  "authpriv", "ftp",	  "ntp",    "audit",  "alert",	"cron",
	"local0", "local1", "local2",	"local3", "local4", "local5", "local6", "local7",
};

/* nginx's level names, not syslog's "err"/"warning". */
static const char *const slog_severities[] = {
	"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
};

static __thread bool slog_busy; /* inside slog_send on this thread */

/* slog_name_index - index of NAME (LEN bytes) in TABLE, or -1. */
static int slog_name_index(const char *const *table, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(table[i]) == len && memcmp(table[i], name, len) == 0)
			return (int)i;
	return -1;
}

/* slog_parse_port - "N" (1..65535) into *PORT; -1 when invalid. */
static int slog_parse_port(const char *s, size_t len, unsigned *port)
{
	unsigned v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

/* slog_parse_server - server=VALUE (LEN bytes) into P's address. */
static int slog_parse_server(struct slog_peer *p, const char *v, size_t len, char *err,
			     size_t errlen)
{
	char host[256];
	const char *colon = NULL;
	unsigned port = 514;
	size_t hlen;

	snprintf(p->server, sizeof(p->server), "%.*s", (int)len, v);
	if (len >= 5 && memcmp(v, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&p->addr;

		if (len == 5) {
			snprintf(err, errlen,
				 "no path in the unix domain socket in syslog server \"%.*s\"",
				 (int)len, v);
			return -EINVAL;
		}
		if (len - 5 >= sizeof(un->sun_path)) {
			snprintf(err, errlen,
				 "too long path in the unix domain socket in syslog server "
				 "\"%.*s\"",
				 (int)len, v);
			return -EINVAL;
		}
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, v + 5, len - 5);
		un->sun_path[len - 5] = '\0';
		p->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len - 5 + 1);
		return 0;
	}
	if (len && v[0] == '[') {
		const char *close = memchr(v, ']', len);

		if (!close) {
			snprintf(err, errlen, "invalid host in syslog server \"%.*s\"", (int)len,
				 v);
			return -EINVAL;
		}
		hlen = (size_t)(close - v - 1);
		memcpy(host, v + 1, LBD_MIN(hlen, sizeof(host) - 1));
		host[LBD_MIN(hlen, sizeof(host) - 1)] = '\0';
		if (close + 1 < v + len) {
			if (close[1] != ':') {
				snprintf(err, errlen, "invalid host in syslog server \"%.*s\"",
					 (int)len, v);
				return -EINVAL;
			}
			colon = close + 1;
		}
	} else {
		colon = memchr(v, ':', len);
		hlen = colon ? (size_t)(colon - v) : len;
		if (hlen >= sizeof(host)) {
			snprintf(err, errlen, "invalid host in syslog server \"%.*s\"", (int)len,
				 v);
			return -EINVAL;
		}
		memcpy(host, v, hlen);
		host[hlen] = '\0';
	}
	if (colon && slog_parse_port(colon + 1, (size_t)(v + len - colon - 1), &port)) {
		snprintf(err, errlen, "invalid port in syslog server \"%.*s\"", (int)len, v);
		return -EINVAL;
	}
	if (host[0] == '\0') {
		snprintf(err, errlen, "no host in syslog server \"%.*s\"", (int)len, v);
		return -EINVAL;
	}
	{
		struct sockaddr_in *in = (struct sockaddr_in *)&p->addr;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&p->addr;
		struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;

		if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
			in->sin_family = AF_INET;
			in->sin_port = htons((uint16_t)port);
			p->addrlen = sizeof(*in);
			return 0;
		}
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)port);
			p->addrlen = sizeof(*in6);
			return 0;
		}
		if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res ||
		    res->ai_addrlen > sizeof(p->addr)) {
			if (res)
				freeaddrinfo(res);
			snprintf(err, errlen, "host not found in syslog server \"%.*s\"", (int)len,
				 v);
			return -EINVAL;
		}
		memcpy(&p->addr, res->ai_addr, res->ai_addrlen);
		p->addrlen = res->ai_addrlen;
		freeaddrinfo(res);
		if (p->addr.ss_family == AF_INET)
			in->sin_port = htons((uint16_t)port);
		else
			in6->sin6_port = htons((uint16_t)port);
	}
	return 0;
}

int slog_parse(const char *spec, struct slog_peer *p, char *err, size_t errlen)
{
	bool have_server = false, have_fac = false, have_sev = false, have_tag = false;
	const char *s = spec;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->facility = SLOG_DEF_FACILITY;
	p->severity = SLOG_DEF_SEVERITY;
	strcpy(p->tag, "nginx");
	/* Comma-separated parameters; an empty one (a trailing comma, or
	 * nothing after "syslog:") is unknown, as in nginx. */
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		int i;

		if (len >= 7 && memcmp(s, "server=", 7) == 0) {
			if (have_server) {
				snprintf(err, errlen, "duplicate syslog \"server\"");
				return -EINVAL;
			}
			have_server = true;
			if (slog_parse_server(p, s + 7, len - 7, err, errlen))
				return -EINVAL;
		} else if (len >= 9 && memcmp(s, "facility=", 9) == 0) {
			if (have_fac) {
				snprintf(err, errlen, "duplicate syslog \"facility\"");
				return -EINVAL;
			}
			have_fac = true;
			i = slog_name_index(slog_facilities, ARRAY_SIZE(slog_facilities), s + 9,
					    len - 9);
			if (i < 0) {
				snprintf(err, errlen, "unknown syslog facility \"%.*s\"",
					 (int)(len - 9), s + 9);
				return -EINVAL;
			}
			p->facility = (unsigned)i;
		} else if (len >= 9 && memcmp(s, "severity=", 9) == 0) {
			if (have_sev) {
				snprintf(err, errlen, "duplicate syslog \"severity\"");
				return -EINVAL;
			}
			have_sev = true;
			i = slog_name_index(slog_severities, ARRAY_SIZE(slog_severities), s + 9,
					    len - 9);
			if (i < 0) {
				snprintf(err, errlen, "unknown syslog severity \"%.*s\"",
					 (int)(len - 9), s + 9);
				return -EINVAL;
			}
			p->severity = (unsigned)i;
		} else if (len >= 4 && memcmp(s, "tag=", 4) == 0) {
			if (have_tag) {
				snprintf(err, errlen, "duplicate syslog \"tag\"");
				return -EINVAL;
			}
			have_tag = true;
			if (len - 4 > SLOG_TAG_MAX) {
				snprintf(err, errlen, "syslog tag length exceeds %d", SLOG_TAG_MAX);
				return -EINVAL;
			}
			for (size_t k = 4; k < len; k++) {
				if (!isalnum((unsigned char)s[k]) && s[k] != '_') {
					snprintf(err, errlen,
						 "syslog \"tag\" only allows alphanumeric "
						 "characters and underscore");
					return -EINVAL;
				}
			}
			memcpy(p->tag, s + 4, len - 4);
			p->tag[len - 4] = '\0';
		} else if (len == 10 && memcmp(s, "nohostname", 10) == 0) {
			p->nohostname = true;
		} else {
			snprintf(err, errlen, "unknown syslog parameter \"%.*s\"", (int)len, s);
			return -EINVAL;
		}
		if (!comma)
			break;
		s = comma + 1;
	}
	if (!have_server) {
		snprintf(err, errlen, "no syslog server specified");
		return -EINVAL;
	}
	return 0;
}

int slog_open(struct slog_peer *p)
{
	p->fd = socket(p->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd == -1)
		return -errno;
	atomic_store(&p->connected, connect(p->fd, (struct sockaddr *)&p->addr, p->addrlen) == 0);
	return 0;
}

void slog_close(struct slog_peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

static const char slog_months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

size_t slog_header(char *buf, unsigned pri, const struct tm *tm, const char *host, const char *tag)
{
	int n;

	/* RFC 3164 TIMESTAMP: the day of month padded with a space. */
	n = snprintf(buf, SLOG_HDR_MAX, "<%u>%s %2d %02d:%02d:%02d %s%s%s: ", pri,
		     slog_months[(unsigned)tm->tm_mon % 12], tm->tm_mday, tm->tm_hour, tm->tm_min,
		     tm->tm_sec, host ? host : "", host ? " " : "", tag);
	if (n < 0)
		return 0;
	return LBD_MIN((size_t)n, SLOG_HDR_MAX - 1);
}

static char slog_host[SLOG_HOST_MAX];
static pthread_once_t slog_host_once = PTHREAD_ONCE_INIT;

static void slog_host_init(void)
{
	if (gethostname(slog_host, sizeof(slog_host) - 1) == -1)
		strcpy(slog_host, "localhost");
	slog_host[sizeof(slog_host) - 1] = '\0';
	for (char *c = slog_host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
}

const char *slog_hostname(void)
{
	pthread_once(&slog_host_once, slog_host_init);
	return slog_host;
}

/* slog_report - tell the error log about a failed OP on P, at most once a
 * minute per peer. Runs with slog_busy set: a syslog error_log does not
 * see it (it could be P itself), a file one does. */
static void slog_report(struct slog_peer *p, enum log_level lvl, const char *op, int err)
{
	int64_t now = (int64_t)time(NULL);
	int64_t last = atomic_load(&p->err_sec);

	if ((last && now - last < 60) || !atomic_compare_exchange_strong(&p->err_sec, &last, now))
		return;
	log_emit(NULL, lvl, "%s() failed (%d: %s) while logging to syslog, server: %s", op, err,
		 strerror(err), p->server);
}

/* slog_reconnect - connect P's socket again (a datagram socket may be
 * re-connected at any time; threads sending meanwhile are unharmed).
 * Returns true when it is connected. */
static bool slog_reconnect(struct slog_peer *p)
{
	if (connect(p->fd, (struct sockaddr *)&p->addr, p->addrlen) == -1) {
		atomic_store(&p->connected, false);
		slog_report(p, LOG_ALERT, "connect", errno);
		return false;
	}
	atomic_store(&p->connected, true);
	return true;
}

void slog_send(struct slog_peer *p, unsigned severity, const char *msg, size_t len)
{
	/* The timestamp is formatted once a second per thread. */
	static __thread time_t cached_sec = -1;
	static __thread struct tm cached_tm;
	char hdr[SLOG_HDR_MAX];
	struct iovec iov[2];
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	time_t now;
	ssize_t n;

	if (!p || p->fd < 0 || slog_busy)
		return;
	slog_busy = true;
	now = time(NULL);
	if (now != cached_sec) {
		localtime_r(&now, &cached_tm);
		cached_sec = now;
	}
	iov[0].iov_base = hdr;
	iov[0].iov_len = slog_header(hdr, p->facility * 8 + (severity & 7), &cached_tm,
				     p->nohostname ? NULL : slog_hostname(), p->tag);
	iov[1].iov_base = (void *)msg;
	iov[1].iov_len = len;
	if (!atomic_load(&p->connected) && !slog_reconnect(p))
		goto out;
	n = sendmsg(p->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == -1) {
		int err = errno;

		/* Said even when the retry below goes out: on UDP the error
		 * (ICMP port unreachable) is about an earlier line, now lost. */
		slog_report(p, LOG_ERR, "send", err);
		if (err == EAGAIN || err == EWOULDBLOCK || err == EMSGSIZE)
			goto out;
		/* Collector restarted or went away: connect anew, try once more. */
		if (slog_reconnect(p))
			(void)sendmsg(p->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
out:
	slog_busy = false;
}
