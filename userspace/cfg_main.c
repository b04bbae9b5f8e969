/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, the main and events contexts: worker_processes,
 * user, daemon, error_log (at every level), bpf_pin_path, pid,
 * control_socket, worker_priority, worker_cpu_affinity, events {} and
 * worker_connections. Relative paths are
 * under the prefix. The table that points here is in cfg.c; the kernel
 * packet path's main directives are cfg_guard.c's, nginx's other main
 * and events directives cfg_compat.c's.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "pool.h"
#include "priv.h"

#include "cfg_int.h"

int cfg_set_workers(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	char *end;
	long v;

	(void)s, (void)d;
	if (strcmp(n->args[0], "auto") == 0) {
		b->cfg->workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
		return 0;
	}
	v = strtol(n->args[0], &end, 10);
	if (*end || v < 1 || v > 256)
		return cfg_fail(b, n, "invalid value \"%s\" in \"%s\" directive", n->args[0],
				n->name);
	b->cfg->workers = (int)v;
	return 0;
}

/* cfg_set_user - `user USER [GROUP];` As nginx does, the names are checked
 * only when running as root (the only case where they are used): `lbd -t`
 * then reports an unknown user at its line. */
int cfg_set_user(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct priv_ids ids;
	char err[256];

	(void)s, (void)d;
	if (geteuid() == 0 && priv_resolve(n->args[0], n->nargs > 1 ? n->args[1] : n->args[0], &ids,
					   err, sizeof(err)))
		return cfg_fail(b, n, "%s", err);
	b->cfg->user = pool_strdup(b->pool, n->args[0]);
	b->cfg->group = pool_strdup(b->pool, n->nargs > 1 ? n->args[1] : n->args[0]);
	return 0;
}

int cfg_set_daemon(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int v = 0;

	(void)s, (void)d;
	if (cfg_parse_flag(b, n, n->args[0], &v))
		return -1;
	b->cfg->daemon = v;
	return 0;
}

int cfg_set_error_log(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	enum log_level lvl = LOG_ERR;
	struct log_target *t;
	const char *path;

	(void)d;
	if (n->nargs > 1 && log_level_parse(n->args[1], &lvl))
		return cfg_fail(b, n, "invalid log level \"%s\"", n->args[1]);
	if (strncmp(n->args[0], "syslog:", 7) == 0) {
		char msg[256];

		t = log_target_syslog(n->args[0], lvl, msg, sizeof(msg));
		if (!t)
			return cfg_fail(b, n, "%s", msg);
		goto set;
	}
	if (strcmp(n->args[0], "stderr") == 0)
		path = "stderr";
	else
		path = cfg_full_path(b, b->cfg->prefix, n->args[0]);
	t = log_target_open(path, lvl);
	if (!t)
		return cfg_fail(b, n, "open() \"%s\" failed (%d: %s)", path, errno,
				strerror(errno));
set:
	/* Several error_log in one block: each gets the lines of its level. */
	{
		struct log_target **slot =
			s->ctx & C_MAIN ? &b->cfg->error_log : &s->loc->error_log;

		if (*slot && !(t = log_target_both(*slot, t)))
			return cfg_fail(b, n, "out of memory");
		*slot = t;
	}
	return 0;
}

int cfg_set_pin_path(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)s, (void)d;
	if (n->args[0][0] != '/' && strcmp(n->args[0], "off") != 0)
		return cfg_fail(b, n, "\"bpf_pin_path\" must be an absolute path on bpffs, or off");
	b->cfg->bpf_pin_path =
		strcmp(n->args[0], "off") == 0 ? NULL : pool_strdup(b->pool, n->args[0]);
	return 0;
}

int cfg_set_pid(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)s, (void)d;
	b->cfg->pid_file =
		strcmp(n->args[0], "off") ? cfg_full_path(b, b->cfg->prefix, n->args[0]) : NULL;
	return 0;
}

/* cfg_set_ctl_socket - `control_socket PATH|off [mode=OCTAL] [group=NAME];`:
 * the control socket of ctl.c. The mode must leave the owner read and
 * write; the group is resolved when the socket is created. */
int cfg_set_ctl_socket(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg *c = b->cfg;

	(void)s, (void)d;
	c->ctl_socket_set = true;
	if (strcmp(n->args[0], "off") == 0) {
		if (n->nargs > 1)
			return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[1]);
		c->ctl_socket = NULL;
		return 0;
	}
	c->ctl_socket = cfg_full_path(b, c->prefix, n->args[0]);
	for (size_t i = 1; i < n->nargs; i++) {
		const char *a = n->args[i];
		char *end;
		long m;

		if (strncmp(a, "mode=", 5) == 0) {
			m = strtol(a + 5, &end, 8);
			if (a[5] == '\0' || *end || m < 0 || m > 0777 || (m & 0600) != 0600)
				return cfg_fail(b, n, "invalid mode \"%s\" in \"%s\" directive",
						a + 5, n->name);
			c->ctl_socket_mode = (int)m;
		} else if (strncmp(a, "group=", 6) == 0 && a[6]) {
			c->ctl_socket_group = pool_strdup(b->pool, a + 6);
		} else {
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
		}
	}
	return 0;
}

int cfg_set_events(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct scope in = *s;

	(void)d;
	in.ctx = C_EVENTS;
	return cfg_block(b, n, &in);
}

int cfg_set_worker_conns(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	char *end;
	long v = strtol(n->args[0], &end, 10);

	(void)s, (void)d;
	if (*end || v < 1 || v > 1 << 20)
		return cfg_fail(b, n, "invalid number \"%s\"", n->args[0]);
	b->cfg->worker_connections = (int)v;
	return 0;
}

/* cfg_set_priority - `worker_priority [-|+]N;` as nginx 1.22 parses it:
 * digits into 64 bits (an overflow is an error), kept as a C int, where
 * -1 is its error value: so 4294967295 is refused and 99999999999 is
 * taken, as nginx does; the kernel clamps to -20..19. A second one is a
 * duplicate only after a non-zero first. lbd's workers are threads of one
 * process: main.c gives the value to the process before it starts them,
 * and they inherit it. */
int cfg_set_priority(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	const char *a = n->args[0], *p = a + (*a == '-' || *a == '+');
	uint64_t v = 0;
	int v32;

	(void)s, (void)d;
	if (b->cfg->worker_priority)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	for (const char *q = p; *q; q++) {
		if (*q < '0' || *q > '9' || v > ((uint64_t)INT64_MAX - (uint64_t)(*q - '0')) / 10)
			return cfg_fail(b, n, "\"%s\" directive invalid number", n->name);
		v = v * 10 + (uint64_t)(*q - '0');
	}
	v32 = (int)(uint32_t)v;
	if (!*p || v32 == -1)
		return cfg_fail(b, n, "\"%s\" directive invalid number", n->name);
	b->cfg->worker_priority = *a == '-' ? -v32 : v32;
	return 0;
}

/* cfg_set_cpu_affinity - `worker_cpu_affinity MASK...;` or
 * `worker_cpu_affinity auto [MASK];`, as nginx parses them: a mask is
 * binary, its last character CPU 0, spaces skipped. lbd holds 64 CPUs per
 * mask (nginx: CPU_SETSIZE, 1024). */
int cfg_set_cpu_affinity(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg *c = b->cfg;
	int first = 0;

	(void)s, (void)d;
	if (c->cpu_affinity)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (strcmp(n->args[0], "auto") == 0) {
		if (n->nargs > 2)
			return cfg_fail(b, n, "invalid number of arguments in \"%s\" directive",
					n->name);
		c->cpu_affinity_auto = true;
		first = 1;
	}
	c->ncpu_affinity = first == (int)n->nargs ? 1 : (int)n->nargs - first;
	c->cpu_affinity = pool_alloc(b->pool, (size_t)c->ncpu_affinity * sizeof(uint64_t));
	if (!c->cpu_affinity)
		return cfg_fail(b, n, "out of memory");
	c->cpu_affinity[0] = ~UINT64_C(0); /* auto without a mask: any CPU */
	for (int k = first; k < (int)n->nargs; k++) {
		const char *m = n->args[k];
		size_t len = strlen(m);
		uint64_t mask = 0;

		if (len > 64)
			return cfg_fail(b, n, "\"%s\" supports up to 64 CPUs only", n->name);
		for (size_t i = 0; i < len; i++) {
			char ch = m[len - 1 - i];

			if (ch == '1')
				mask |= UINT64_C(1) << i;
			else if (ch != '0' && ch != ' ')
				return cfg_fail(b, n, "invalid character \"%c\" in \"%s\"", ch,
						n->name);
		}
		c->cpu_affinity[k - first] = mask;
	}
	return 0;
}

/* cfg_worker_cpus - the CPUs worker I of C is bound to, as nginx picks
 * them: with auto, the I-th CPU of the mask (round and round), else the
 * I-th mask or the last one. 0 = unbound. */
uint64_t cfg_worker_cpus(const struct cfg *c, int i)
{
	uint64_t m;

	if (!c->cpu_affinity)
		return 0;
	if (!c->cpu_affinity_auto)
		return c->cpu_affinity[i < c->ncpu_affinity ? i : c->ncpu_affinity - 1];
	m = c->cpu_affinity[0];
	if (!m)
		return 0;
	for (int left = i % __builtin_popcountll(m);; left--) {
		uint64_t low = m & -m;

		if (!left)
			return low;
		m &= m - 1;
	}
}
