/* SPDX-License-Identifier: MIT */
/*
 * Syslog targets: nginx's `syslog:server=ADDR[,facility=F][,severity=S]
 * [,tag=T][,nohostname]` log destinations, used by error_log and
 * access_log (http and stream). Messages are RFC 3164 datagrams, as nginx
 * sends them:
 *   <PRI>Mmm dd hh:mm:ss HOSTNAME TAG: MESSAGE
 * over a non-blocking, connect()ed UDP or unix datagram socket shared by
 * every thread (datagram sends are atomic: no lock).
 */
#ifndef LBD_SLOG_H
#define LBD_SLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#define SLOG_TAG_MAX	  32  /* RFC 3164's limit on TAG, as nginx enforces it */
#define SLOG_HOST_MAX	  256 /* hostname bytes kept, NUL included */
#define SLOG_HDR_MAX	  320 /* "<255>Mmm dd hh:mm:ss " + host + " " + tag + ": " */
#define SLOG_DEF_FACILITY 23  /* local7 */
#define SLOG_DEF_SEVERITY 6   /* info */

/* struct slog_peer - one syslog destination. Parsed at config time
 * (slog_parse), its socket made by slog_open and closed by slog_close. */
struct slog_peer {
	struct sockaddr_storage addr; /* server address (AF_INET, AF_INET6, AF_UNIX) */
	socklen_t addrlen;	      /* bytes of addr in use */
	char server[128];	      /* server= as written, for messages */
	unsigned facility;	      /* 0..23 */
	unsigned severity;	      /* 0..7: access logs; error_log uses each line's level */
	char tag[SLOG_TAG_MAX + 1];   /* tag= (default "nginx"), may be empty */
	bool nohostname;	      /* leave the HOSTNAME field out */
	int fd;			      /* SOCK_DGRAM, non-blocking; -1 before slog_open */
	_Atomic bool connected;	      /* connect() succeeded since the last failure */
	_Atomic int64_t err_sec;      /* when a send error was last reported (s) */
};

/* slog_parse - parse SPEC, the text after "syslog:", into P (no socket
 * yet). Returns 0, or -EINVAL with nginx's message in ERR. Resolves a host
 * name (the first address is used, as nginx does). */
int slog_parse(const char *spec, struct slog_peer *p, char *err, size_t errlen);

/* slog_open - make P's socket and try to connect it (a collector that is
 * not up yet is not an error: sends retry the connect). 0 or -errno. */
int slog_open(struct slog_peer *p);
/* slog_close - close P's socket. */
void slog_close(struct slog_peer *p);

/* slog_header - write the PRI and HEADER parts ("<PRI>Mmm dd hh:mm:ss
 * HOST TAG: ", HOST left out when NULL) for local time TM into BUF (at
 * least SLOG_HDR_MAX bytes). Returns the bytes written. Pure. */
size_t slog_header(char *buf, unsigned pri, const struct tm *tm, const char *host, const char *tag);

/* slog_hostname - this machine's name, lower-cased as nginx writes it. */
const char *slog_hostname(void);

/* slog_send - send MSG (LEN bytes, no newline) with SEVERITY (0..7) to P
 * as one datagram; never blocks. A failed send is retried once after
 * reconnecting (the collector may have restarted); errors are reported to
 * the error log at most once a minute per peer. A send started while this
 * thread is already inside slog_send (reporting its own error to a syslog
 * error_log) is dropped. */
void slog_send(struct slog_peer *p, unsigned severity, const char *msg, size_t len);

#endif
