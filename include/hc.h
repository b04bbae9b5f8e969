/* SPDX-License-Identifier: MIT */
/*
 * Active health checks (`health_check` in an upstream block), modeled on
 * nginx Plus `health_check` and HAProxy `check`. One dedicated thread with
 * its own event loop probes every server of every group that asks for it,
 * off the request path: every interval it connects (type=tcp) or sends
 * `GET URI HTTP/1.1` and reads the status line (type=http), or the head
 * and the body's start for a `match` block; over TLS (with the proxy's
 * proxy_ssl_* settings) when a `proxy_pass https://` uses the group. A server turns
 * unhealthy after `fails` consecutive failed checks and healthy again after
 * `passes` consecutive passes; ups_server_usable() skips unhealthy servers.
 *
 * Life cycle (main thread):
 *
 *	hc_start(cfg->http->upstreams, cfg->http->nupstreams, &hc);
 *	... on reload: hc_stop(hc); ctl_carry_over(old, new);   // keeps health
 *	               hc_start(new groups, &hc);
 *	hc_stop(hc);    // before the configuration is released
 */
#ifndef LBD_HC_H
#define LBD_HC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h1.h"
#include "hc-t.h"
#include "ups-t.h"

#define HC_DEFAULT_INTERVAL_MS 5000 /* nginx Plus interval=5s */
#define HC_DEFAULT_TIMEOUT_MS  1000 /* a check without a verdict by then fails */
#define HC_STATUS_LINE_MAX     256  /* bytes read while looking for the status line */
#define HC_MATCH_HEADERS_MAX   64   /* header fields of a response checked with match= */

struct hc_checker;

/* hc_defaults - the settings of a bare `health_check`: interval 5s, timeout
 * 1s, fails 1, passes 1, uri "/", status 200-399, type http; enabled. */
void hc_defaults(struct ups_hc *hc);

/*
 * hc_parse_status - the value of status=: one code ("200"), one range
 * ("200-399", LO <= HI) or a class ("2xx": 200-299); codes are 100..599.
 * Sets *LO and *HI. Returns 0 or -EINVAL (nothing set).
 */
int hc_parse_status(const char *text, int *lo, int *hi);

/*
 * hc_parse_status_line - the status of an HTTP response starting at BUF
 * (LEN bytes): "HTTP/x.y NNN". Returns 1 with *STATUS set, 0 when more bytes
 * are needed, -EBADMSG when BUF cannot start a status line.
 */
int hc_parse_status_line(const char *buf, size_t len, int *status);

/*
 * hc_result_text - the last check of S in words into BUF (LEN bytes, always
 * NUL-terminated): "-" (none yet), "ok" (tcp), "HTTP 200", "timeout",
 * "connect() failed (111: Connection refused)", "closed", "bad response".
 * Returns BUF.
 */
const char *hc_result_text(const struct ups_server *s, char *buf, size_t len);

/*
 * hc_report - record one finished check of S (a server of G) at NOW_MS:
 * RESULT (enum ups_hc_result) with DETAIL (the HTTP status for OK/STATUS,
 * an errno for REFUSED/ERROR, else 0). Updates the consecutive counters and
 * the health state by G's fails/passes thresholds, logs each transition at
 * warn level and counts it. Turning healthy again also clears the passive
 * failure count (max_fails), as a passed check proves the server answers. Only the checker thread (or a test) calls it.
 * Returns true when the health state changed.
 */
bool hc_report(const struct ups_group *g, struct ups_server *s, enum ups_hc_result result,
	       int detail, int64_t now_ms);

/* hc_report_why - hc_report, with WHY (when not NULL) as the reason the
 * "is unhealthy" line gives instead of the result's short text: the full
 * TLS error of a check over https, as nginx words it for a proxied request. */
bool hc_report_why(const struct ups_group *g, struct ups_server *s, enum ups_hc_result result,
		   int detail, const char *why, int64_t now_ms);

/* hc_match_head - whether the status and header conditions of M hold for
 * a response with STATUS and the N header fields at H (a parsed head). */
bool hc_match_head(const struct hc_match *m, int status, const struct h1_header *h, size_t n);

/* hc_match_body - whether the body conditions of M hold for the first
 * LEN bytes of the decoded body at BODY (at most HC_MATCH_BODY_MAX). */
bool hc_match_body(const struct hc_match *m, const char *body, size_t len);

/* hc_carry_server - copy the health state and check counters of OLD_S to
 * NEW_S (a reload keeps what the checks learned). NEW_S's checker must not
 * be running. */
void hc_carry_server(struct ups_server *new_s, const struct ups_server *old_s);

/*
 * hc_start - start the checker thread for the groups in GROUPS (NGROUPS)
 * that have `health_check`; servers marked `down` are not checked. The
 * groups must outlive hc_stop(). *OUT is NULL (and no thread runs) when no
 * group asks for checks. Returns 0 or -errno (nothing started).
 */
int hc_start(struct ups_group *const *groups, int ngroups, struct hc_checker **out);

/* hc_stop - stop and join the checker thread, close its sockets, free it.
 * A check in progress is abandoned without a verdict. NULL is a no-op. */
void hc_stop(struct hc_checker *c);

#endif
