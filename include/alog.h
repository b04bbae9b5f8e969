/* SPDX-License-Identifier: MIT */
/*
 * Access log: `log_format` and `access_log PATH [FORMAT] [buffer=SIZE]
 * [gzip[=LEVEL]] [flush=TIME] [if=COND]`, PATH a file or "syslog:..."
 * (slog.h). Each worker thread buffers its own lines (no
 * lock on the request path) and writes whole lines with one write(2);
 * files are opened once per configuration and reopened in place on USR1.
 */
#ifndef LBD_ALOG_H
#define LBD_ALOG_H

#include <sys/types.h>

#include "cfg-t.h"
#include "http-t.h"
#include "var.h"

/* struct alog - one access_log directive. Immutable after config. */
struct alog {
	char *path;		      /* file path ("/dev/stdout" allowed) */
	struct alog_file *file;	      /* shared open file (several directives may name one) */
	const struct log_format *fmt; /* format */
	size_t buffer;		      /* buffer= bytes (0 = write each line) */
	int64_t flush_ms;	      /* flush= (default: only when the buffer fills) */
	int gzip;		      /* gzip= level 1..9: each flush one gzip member; 0 = off */
	struct cval *cond;	      /* if=COND: skip when empty or "0" */
	int index;		      /* slot in each worker's per-thread buffer table */
};

/* alog_open - open (or share) the file or syslog socket of A; -errno.
 * Called at config time. */
int alog_open(struct alog *a);
/* alog_conflicts - whether A (buffered) and another buffered access_log
 * of ALL (N, one configuration's) name one file with different gzip
 * levels: nginx's "already defined with conflicting parameters". */
bool alog_conflicts(struct alog *const *all, int n, const struct alog *a);
/* alog_parse_gzip - access_log's parameter P ("gzip" or "gzip=LEVEL")
 * into A: the level (1 when none is given) and nginx's 64k buffer unless
 * buffer= came before. -EINVAL for a level outside 1..9. */
int alog_parse_gzip(const char *p, struct alog *a);
/* alog_close_all / alog_reopen_all - for config release and USR1. */
int alog_reopen_all(void);
/* alog_chown_all - hand every open access log file to UID:GID. */
int alog_chown_all(uid_t uid, gid_t gid);

/* alog_format_compile - build a log_format from its strings (joined as
 * nginx joins them). escape: 0 default, 1 json, 2 none. */
int alog_format_compile(struct cval_ctx *ctx, char **parts, int nparts, int escape,
			struct log_format *out, char *err, size_t errlen);

/* alog_write - log request C (called once per request, after the
 * response). Uses the per-thread buffer of each target. */
void alog_write(struct conn *c);

/* alog_write_line - write LINE (LEN bytes, newline included) rendered by
 * the caller (the stream access log) to A, through this thread's buffer
 * when A has one. */
void alog_write_line(struct alog *a, const char *line, size_t len);

/* alog_flush_thread - write out this thread's buffered lines (timer,
 * reopen, exit). */
void alog_flush_thread(void);

/* alog_flush_tick - the worker's one-second tick: alog_flush_thread but
 * for gzip'd logs, whose buffers go out when full, at flush=, on reopen
 * and at exit, as nginx's (a member a second would compress little). */
void alog_flush_tick(void);

/* alog_close - drop A's share of its file (closed with its last user) and
 * its buffer slot. Lines still buffered by threads are written first by
 * whichever thread flushes them. */
void alog_close(struct alog *a);

/* alog_combined - nginx's predefined `combined` format. */
const struct log_format *alog_combined(void);

/* alog_format_line - render one line of F for the request on C into the
 * request pool, without the newline: variables escaped per F->escape, a
 * "not found" variable written as "-" (escape=default) or nothing (json,
 * none). Returns 0 or -ENOMEM. */
int alog_format_line(const struct log_format *f, struct conn *c, struct lstr *out);

/* alog_flush_expired - write out this thread's buffers whose oldest line
 * is flush= old at NOW_MS (lbd_now_ms). Returns the ms until the next one
 * is due, or -1 when nothing waits on a flush= time. */
int64_t alog_flush_expired(int64_t now_ms);

#endif
