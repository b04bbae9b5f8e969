/* SPDX-License-Identifier: MIT */
/*
 * The control socket: a Unix stream socket on which lbctl (or any client)
 * sends one command per line and reads one response per command. The
 * dispatcher (ctl_exec) is a pure function of the configuration generation
 * and a line, so tests call it without a socket; the server part
 * (ctl_server_*) runs on the main thread, polled together with the signal
 * fd, never on a worker.
 *
 * Protocol: a request is one line (at most CTL_LINE_MAX bytes, "\n" or
 * "\r\n"); words are separated by spaces or tabs; a word "--json" anywhere
 * asks for JSON. A response is zero or more body lines, then exactly one
 * terminating line: "OK" or "ERR <message>". No body line is "OK" or starts
 * with "ERR", so a client reads lines until one of those. Human body lines
 * start with a keyword or two spaces; a JSON body is a single line that
 * starts with "{".
 */
#ifndef LBD_CTL_H
#define LBD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kfeat.h"

struct cfg;

#define CTL_LINE_MAX	4096	  /* longest request line, bytes without "\n" */
#define CTL_OUT_MAX	(1 << 20) /* largest response; beyond it: ERR */
#define CTL_CLIENTS_MAX 16	  /* control clients at once; more are refused */
#define CTL_IDLE_MS	30000	  /* a client idle (no read nor write progress) is closed */
#define CTL_WEIGHT_MAX	10000	  /* upper bound of `upstream set-weight` */

/* struct ctl_out - a growing response buffer, bounded by CTL_OUT_MAX. */
struct ctl_out {
	char *buf;	/* bytes, NUL-terminated when len > 0 */
	size_t len;	/* bytes used */
	size_t cap;	/* bytes allocated */
	bool truncated; /* output dropped: over CTL_OUT_MAX or out of memory */
};

/* struct ctl_env - what `status` and `reload` need beyond the configuration. */
struct ctl_env {
	pid_t pid;		     /* daemon pid */
	int64_t start_ms;	     /* lbd_now_ms() at start, for uptime */
	int workers;		     /* worker threads running */
	struct features feat;	     /* kernel features, detected once at start */
	bool feat_known;	     /* feat was filled (else reported "unknown") */
	int (*post_signal)(int sig); /* reload/reopen: queue SIGHUP/SIGUSR1 to the
				      * main loop; 0 or -errno. NULL: refused */
};

enum ctl_rc {
	CTL_RC_OK = 0, /* response ended with "OK" */
	CTL_RC_ERR,    /* response ended with "ERR <message>" */
};

void ctl_out_init(struct ctl_out *o);
void ctl_out_free(struct ctl_out *o);
void ctl_out_reset(struct ctl_out *o);

/*
 * ctl_exec - run the command in LINE (LEN bytes, no newline; "\r" at the end
 * tolerated) against CFG, appending the whole response, terminating line
 * included, to OUT. Rejects an empty or unknown command, bad arguments, a
 * line over CTL_LINE_MAX, NUL or control bytes. CFG may be NULL (then only
 * help and status work). Upstream commands change shared server state
 * (weights, admin state); the caller serialises calls (the main thread).
 */
enum ctl_rc ctl_exec(const struct ctl_env *env, struct cfg *cfg, const char *line, size_t len,
		     struct ctl_out *out);

/*
 * ctl_carry_over - after a reload, keep the runtime changes made through the
 * control socket: for every server of NEW whose upstream and server name
 * (and rank among same-named servers) exist in OLD, copy a weight changed at
 * runtime (eff_weight != weight), an admin state other than UP, and, when
 * the group has `health_check` in both, the active-check state (health,
 * counters, last result: hc_carry_server). NEW must not be serving yet nor
 * its checker running. Returns the number of servers changed (a carried
 * health state counts only when it is unhealthy).
 */
int ctl_carry_over(const struct cfg *old, struct cfg *new_cfg);

/* --- the socket server (main thread) ------------------------------------ */

struct ctl_server;

/*
 * ctl_server_open - listen on CFG's control_socket: a stale socket file (no
 * one accepting) is replaced, a live one is an error (-EADDRINUSE), as is a
 * path that exists and is not a socket (-EEXIST) or is too long
 * (-ENAMETOOLONG). The file gets ctl_socket_mode and ctl_socket_group. The
 * message goes to ERR. *OUT is NULL when control_socket is off.
 * Returns 0 or -errno.
 */
int ctl_server_open(const struct cfg *cfg, struct ctl_server **out, char *err, size_t errlen);

/* ctl_server_fd - an fd that polls readable when ctl_server_run has work. */
int ctl_server_fd(const struct ctl_server *s);

/* ctl_server_run - accept, read, execute, write without blocking; close
 * idle clients. CFG is the generation in force. Call when ctl_server_fd is
 * readable, and at least every second for the idle sweep. */
void ctl_server_run(struct ctl_server *s, const struct ctl_env *env, struct cfg *cfg);

/* ctl_server_close - close every client and the listener, remove the
 * socket file. NULL is a no-op. */
void ctl_server_close(struct ctl_server *s);

#endif
