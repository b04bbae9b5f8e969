/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, access logs: log_format (compiled by alog.c) and
 * access_log (a file under the prefix or syslog:, with buffer=, flush=,
 * if= and gzip), opened as it is read and listed in the generation's logs,
 * which its release closes. nginx's default logs/access.log is opened by
 * cfg_finish.c. The table that points here is in cfg.c.
 */

#include <string.h>

#include "alog.h"
#include "cfg.h"
#include "pool.h"
#include "slog.h"

#include "cfg_int.h"

int cfg_set_log_format(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct log_format *f;
	char msg[256];
	int escape = 0;
	size_t first = 1;

	(void)d;
	for (int i = 0; i < s->http->nformats; i++)
		if (strcmp(s->http->formats[i].name, n->args[0]) == 0)
			return cfg_fail(b, n, "duplicate \"log_format\" name \"%s\"", n->args[0]);
	if (n->nargs > 1 && strncmp(n->args[1], "escape=", 7) == 0) {
		const char *e = n->args[1] + 7;

		if (strcmp(e, "json") == 0)
			escape = 1;
		else if (strcmp(e, "none") == 0)
			escape = 2;
		else if (strcmp(e, "default") != 0)
			return cfg_fail(b, n, "unknown log format escaping \"%s\"", e);
		first = 2;
	}
	if (n->nargs <= first)
		return cfg_fail(b, n, "invalid number of arguments in \"log_format\" directive");
	f = PUSH(b, s->http->formats, s->http->nformats);
	if (!f)
		return cfg_fail(b, n, "out of memory");
	f->name = pool_strdup(b->pool, n->args[0]);
	b->cv.file = n->file;
	b->cv.line = n->line;
	if (alog_format_compile(&b->cv, n->args + first, (int)(n->nargs - first), escape, f, msg,
				sizeof(msg)))
		return cfg_fail(b, n, "%s", msg);
	return 0;
}

int cfg_set_access_log(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct alog *a, **slot;
	const char *fmtname = "combined";

	(void)d;
	if (strcmp(n->args[0], "off") == 0) {
		s->loc->alog_off = true;
		s->loc->alog_set = true;
		return 0;
	}
	a = pool_zalloc(b->pool, sizeof(*a));
	slot = a ? PUSH(b, s->loc->alogs, s->loc->nalogs) : NULL;
	if (!slot)
		return cfg_fail(b, n, "out of memory");
	*slot = a;
	s->loc->alog_set = true;
	if (strncmp(n->args[0], "syslog:", 7) == 0) {
		struct slog_peer sl;
		char msg[256];

		if (slog_parse(n->args[0] + 7, &sl, msg, sizeof(msg)))
			return cfg_fail(b, n, "%s", msg);
		a->path = pool_strdup(b->pool, n->args[0]);
	} else {
		a->path = strcmp(n->args[0], "/dev/stdout") && strcmp(n->args[0], "/dev/stderr")
				  ? cfg_full_path(b, b->cfg->prefix, n->args[0])
				  : pool_strdup(b->pool, n->args[0]);
	}
	for (size_t i = 1; i < n->nargs; i++) {
		const char *p = n->args[i];

		if (strncmp(p, "buffer=", 7) == 0) {
			int64_t v;

			if (cfg_parse_size(p + 7, &v))
				return cfg_fail(b, n, "invalid buffer size \"%s\"", p + 7);
			a->buffer = (size_t)v;
		} else if (strncmp(p, "flush=", 6) == 0) {
			if (cfg_parse_time(p + 6, &a->flush_ms))
				return cfg_fail(b, n, "invalid flush time \"%s\"", p + 6);
		} else if (strncmp(p, "if=", 3) == 0) {
			a->cond = pool_zalloc(b->pool, sizeof(*a->cond));
			if (!a->cond || cfg_compile(b, n, p + 3, a->cond))
				return -1;
		} else if (i > 1 && strncmp(p, "gzip", 4) == 0 && (p[4] == '\0' || p[4] == '=')) {
			if (alog_parse_gzip(p, a))
				return cfg_fail(b, n, "invalid compression level \"%s\"", p + 5);
		} else if (i == 1) {
			fmtname = p;
		} else {
			return cfg_fail(b, n, "invalid parameter \"%s\"", p);
		}
	}
	if (strcmp(fmtname, "combined") == 0) {
		a->fmt = alog_combined();
	} else {
		for (int i = 0; i < s->http->nformats; i++)
			if (strcmp(s->http->formats[i].name, fmtname) == 0)
				a->fmt = &s->http->formats[i];
	}
	if (!a->fmt)
		return cfg_fail(b, n, "unknown log format \"%s\"", fmtname);
	if (a->flush_ms && !a->buffer)
		return cfg_fail(b, n, "no buffer is defined for access_log \"%s\"", n->args[0]);
	if (a->buffer && strncmp(a->path, "syslog:", 7) == 0)
		return cfg_fail(b, n, "logs to syslog cannot be buffered");
	if (alog_conflicts(b->cfg->alogs, b->cfg->nalogs, a))
		return cfg_fail(b, n,
				"access_log \"%s\" already defined with conflicting parameters",
				n->args[0]);
	int rc = alog_open(a);

	if (rc)
		return cfg_fail(b, n, "open() \"%s\" failed (%d: %s)", a->path, -rc, strerror(-rc));
	struct alog **all = PUSH(b, b->cfg->alogs, b->cfg->nalogs);

	if (!all)
		return cfg_fail(b, n, "out of memory");
	*all = a;
	return 0;
}
