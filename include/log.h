/* SPDX-License-Identifier: MIT */
/*
 * Error log: nginx's levels and line format, one write(2) per line so lines
 * from different threads never interleave. Log files are opened once and
 * reopened in place (dup2) on USR1, so writers never see a closed fd.
 */
#ifndef LBD_LOG_H
#define LBD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>

enum log_level {
	LOG_EMERG = 0,
	LOG_ALERT,
	LOG_CRIT,
	LOG_ERR,
	LOG_WARN,
	LOG_NOTICE,
	LOG_INFO,
	LOG_DEBUG,
};

struct slog_peer;

/* struct log_target - one error_log destination (file, stderr or syslog). */
struct log_target {
	char *path;		   /* file path or "syslog:..." text, NULL for stderr */
	int fd;			   /* open fd; stays valid across reopen; -1 for syslog */
	struct slog_peer *sl;	   /* syslog destination, NULL for a file */
	struct log_target *fan[2]; /* several error_logs of one block: both get lines */
	enum log_level level;	   /* messages above this level are dropped */
	struct log_target *next;   /* registry link, for reopen */
};

int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level l);

/* log_target_open - open (or share an already open) target for PATH;
 * "stderr" means standard error. Returns NULL with errno set. */
struct log_target *log_target_open(const char *path, enum log_level level);
/* log_target_syslog - the target for SPEC ("syslog:..."), shared like
 * files. NULL with nginx's message in ERR (bad parameters) or errno set. */
struct log_target *log_target_syslog(const char *spec, enum log_level level, char *err,
				     size_t errlen);
/* log_target_both - a target writing to A and B (several error_log
 * directives in one block, as nginx allows), each at its own level.
 * Shared and never freed like the others. NULL with errno set. */
struct log_target *log_target_both(struct log_target *a, struct log_target *b);
void log_set_default(struct log_target *t);
struct log_target *log_default(void);
int log_reopen_all(void);
/* log_chown_all - hand every open log file to UID:GID (before lbd drops
 * privileges, so USR1 reopen keeps working). 0 or -errno. */
int log_chown_all(uid_t uid, gid_t gid);

/* log_wants - whether a line at LEVEL to T (NULL: the default log) is
 * written: for callers that would format something for it first. */
bool log_wants(const struct log_target *t, enum log_level level);
void log_emit(const struct log_target *t, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vemit(const struct log_target *t, enum log_level level, const char *fmt, va_list ap);
/* log_emit_any - log_emit whatever T's level (debug_connection's clients:
 * the caller decided). */
void log_emit_any(const struct log_target *t, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_msg(lvl, ...) log_emit(NULL, (lvl), __VA_ARGS__)
#define log_err(...)	  log_emit(NULL, LOG_ERR, __VA_ARGS__)
#define log_warn(...)	  log_emit(NULL, LOG_WARN, __VA_ARGS__)
#define log_info(...)	  log_emit(NULL, LOG_INFO, __VA_ARGS__)
#define log_notice(...)	  log_emit(NULL, LOG_NOTICE, __VA_ARGS__)
#define log_debug(...)	  log_emit(NULL, LOG_DEBUG, __VA_ARGS__)

#endif
