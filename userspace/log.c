/* SPDX-License-Identifier: MIT */
/*
 * Error log. Owns every open error_log target (a small registry, walked on
 * reopen) and the default target used by messages that belong to no
 * request. Lines look like nginx's:
 *   2026/11/28 05:00:00 [error] 1234#1234: message
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lbd.h"
#include "log.h"
#include "priv.h"
#include "slog.h"

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",	[LOG_CRIT] = "crit", [LOG_ERR] = "error",
	[LOG_WARN] = "warn",   [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

static struct log_target stderr_target = {.fd = 2, .level = LOG_NOTICE};
static struct log_target *default_target = &stderr_target;
static struct log_target *registry;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER; /* open/reopen only */

bool lstr_ieq(struct lstr a, struct lstr b)
{
	return a.len == b.len && strncasecmp(a.p, b.p, a.len) == 0;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level l)
{
	return (unsigned)l < ARRAY_SIZE(level_names) ? level_names[l] : "?";
}

struct log_target *log_target_open(const char *path, enum log_level level)
{
	struct log_target *t;
	int fd;

	if (strcmp(path, "stderr") == 0 || strcmp(path, "/dev/stderr") == 0) {
		/* one per level, never freed: a reload must not allocate anew */
		static struct log_target stderr_levels[ARRAY_SIZE(level_names)];

		if ((unsigned)level >= ARRAY_SIZE(level_names))
			level = LOG_ERR;
		stderr_levels[level].fd = 2;
		stderr_levels[level].level = level;
		return &stderr_levels[level];
	}
	/* Targets live as long as lbd (configurations of every generation
	 * point at them): share one per path and level, so that reloads do
	 * not open the file again each time (an fd per reload, found by
	 * tests/integ/test_faults.py). */
	pthread_mutex_lock(&registry_lock);
	for (t = registry; t; t = t->next) {
		if (t->level == level && strcmp(t->path, path) == 0) {
			pthread_mutex_unlock(&registry_lock);
			return t;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t || !(t->path = strdup(path))) {
		free(t);
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	t->fd = fd;
	t->level = level;
	pthread_mutex_lock(&registry_lock);
	t->next = registry;
	registry = t;
	pthread_mutex_unlock(&registry_lock);
	return t;
}

struct log_target *log_target_syslog(const char *spec, enum log_level level, char *err,
				     size_t errlen)
{
	struct slog_peer *sl;
	struct log_target *t;
	int rc;

	/* Shared by text and level like files: a reload makes no new socket. */
	pthread_mutex_lock(&registry_lock);
	for (t = registry; t; t = t->next) {
		if (t->sl && t->level == level && strcmp(t->path, spec) == 0) {
			pthread_mutex_unlock(&registry_lock);
			return t;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	sl = calloc(1, sizeof(*sl));
	t = calloc(1, sizeof(*t));
	if (!sl || !t || !(t->path = strdup(spec))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (slog_parse(spec + 7, sl, err, errlen))
		goto fail;
	rc = slog_open(sl);
	if (rc) {
		snprintf(err, errlen, "socket() failed (%d: %s)", -rc, strerror(-rc));
		goto fail;
	}
	t->fd = -1;
	t->sl = sl;
	t->level = level;
	pthread_mutex_lock(&registry_lock);
	t->next = registry;
	registry = t;
	pthread_mutex_unlock(&registry_lock);
	return t;
fail:
	if (t)
		free(t->path);
	free(t);
	free(sl);
	return NULL;
}

struct log_target *log_target_both(struct log_target *a, struct log_target *b)
{
	const char *pa = a->path ? a->path : "stderr", *pb = b->path ? b->path : "stderr";
	struct log_target *t;
	size_t la = strlen(pa), lb = strlen(pb);
	char *key = malloc(la + lb + 2);

	if (!key) {
		errno = ENOMEM;
		return NULL;
	}
	/* A path has no newline: the key names only this pair. */
	memcpy(key, pa, la);
	key[la] = '\n';
	memcpy(key + la + 1, pb, lb + 1);
	pthread_mutex_lock(&registry_lock);
	for (t = registry; t; t = t->next) {
		if (t->fan[0] == a && t->fan[1] == b && strcmp(t->path, key) == 0) {
			pthread_mutex_unlock(&registry_lock);
			free(key);
			return t;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	t = calloc(1, sizeof(*t));
	if (!t) {
		free(key);
		errno = ENOMEM;
		return NULL;
	}
	t->path = key;
	t->fd = -1;
	t->fan[0] = a;
	t->fan[1] = b;
	/* The most verbose of the two: each member filters again. */
	t->level = LBD_MAX(a->level, b->level);
	pthread_mutex_lock(&registry_lock);
	t->next = registry;
	registry = t;
	pthread_mutex_unlock(&registry_lock);
	return t;
}

void log_set_default(struct log_target *t)
{
	default_target = t ? t : &stderr_target;
}

struct log_target *log_default(void)
{
	return default_target;
}

/* log_reopen_all - reopen every file target in place (USR1). The new file
 * is dup2'ed over the old fd so concurrent writers keep a valid fd. */
int log_reopen_all(void)
{
	int rc = 0;

	pthread_mutex_lock(&registry_lock);
	for (struct log_target *t = registry; t; t = t->next) {
		int fd;

		if (t->sl || t->fan[0])
			continue;
		fd = open(t->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

		if (fd == -1) {
			rc = -errno;
			continue;
		}
		if (dup3(fd, t->fd, O_CLOEXEC) == -1)
			rc = -errno;
		close(fd);
	}
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

/* log_chown_all - give every open log file to UID:GID (before the privilege
 * drop, while still root), as nginx does for its workers' logs. */
int log_chown_all(uid_t uid, gid_t gid)
{
	int rc = 0;

	pthread_mutex_lock(&registry_lock);
	for (struct log_target *t = registry; t; t = t->next)
		if (!t->sl && !t->fan[0] && fchown(t->fd, uid, gid) == -1)
			rc = -errno;
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

/* write_line - one line of LEVEL into T (the default target when NULL),
 * whatever T's level; for several targets, into those whose level lets
 * it through (all of them when ANY). */
static void write_line(const struct log_target *t, enum log_level level, bool any, const char *fmt,
		       va_list ap)
{
	char line[2048];
	struct tm tm;
	time_t now;
	size_t n;
	int r;

	if (!t)
		t = default_target;
	if (t->fan[0]) {
		for (int i = 0; i < 2; i++) {
			va_list aq;

			if (!any && level > t->fan[i]->level)
				continue;
			va_copy(aq, ap);
			write_line(t->fan[i], level, any, fmt, aq);
			va_end(aq);
		}
		return;
	}
	now = time(NULL);
	localtime_r(&now, &tm);
	n = strftime(line, sizeof(line), "%Y/%m/%d %H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, " [%s] %d#%ld: ", log_level_name(level),
		     (int)getpid(), (long)syscall(SYS_gettid));
	if (r > 0)
		n += (size_t)r;
	r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (r > 0)
		n += LBD_MIN((size_t)r, sizeof(line) - n - 2);
	if (t->sl) {
		/* nginx sends its whole error line, time included, with the
		 * line's level as the syslog severity. */
		slog_send(t->sl, (unsigned)level, line, n);
		return;
	}
	line[n++] = '\n';
	/* One write per line; a short write to a log is not worth retrying. */
	if (write(t->fd, line, n) == -1)
		return;
}

bool log_wants(const struct log_target *t, enum log_level level)
{
	return level <= (t ? t : default_target)->level;
}

void log_vemit(const struct log_target *t, enum log_level level, const char *fmt, va_list ap)
{
	if (!log_wants(t, level))
		return;
	write_line(t, level, false, fmt, ap);
}

void log_emit_any(const struct log_target *t, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	write_line(t, level, true, fmt, ap);
	va_end(ap);
}

void log_emit(const struct log_target *t, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(t, level, fmt, ap);
	va_end(ap);
}
