/* SPDX-License-Identifier: MIT */
/*
 * lbctl - control a running lbd. This first version drives the daemon the
 * way `lbd -s` does, through the pid file named by the configuration and
 * signals; the control socket (live weights, drain, bans, stats) replaces
 * it as that work lands. Commands come from one table.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "lbd.h"

struct ctl_opts {
	const char *prefix; /* -p */
	const char *conf;   /* -c */
};

struct ctl_cmd {
	const char *name;
	const char *help;
	int sig; /* signal to send, 0 for local commands */
	int (*fn)(const struct ctl_opts *o, const struct ctl_cmd *cmd);
};

static struct cfg *load(const struct ctl_opts *o)
{
	char err[1024];
	char prefix[4096];
	struct cfg_opts co;
	struct cfg *c;

	snprintf(prefix, sizeof(prefix), "%s%s", o->prefix,
		 o->prefix[strlen(o->prefix) - 1] == '/' ? "" : "/");
	co = (struct cfg_opts){ .conf_file = o->conf, .prefix = prefix };
	c = cfg_load(&co, err, sizeof(err));
	if (!c)
		fprintf(stderr, "lbctl: %s\n", err);
	return c;
}

static long read_pid(const struct cfg *c)
{
	char buf[32] = "";
	FILE *f = fopen(c->pid_file, "r");

	if (!f) {
		fprintf(stderr, "lbctl: no daemon running: open() \"%s\" failed (%d: %s)\n",
			c->pid_file, errno, strerror(errno));
		return -1;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strtol(buf, NULL, 10);
}

static int cmd_signal(const struct ctl_opts *o, const struct ctl_cmd *cmd)
{
	struct cfg *c = load(o);
	long pid;
	int rc = 0;

	if (!c)
		return 2;
	pid = read_pid(c);
	if (pid <= 0) {
		rc = 3;
	} else if (kill((pid_t)pid, cmd->sig) == -1) {
		fprintf(stderr, "lbctl: %s pid %ld: %s\n",
			errno == ESRCH ? "no daemon running with" : "cannot signal", pid,
			strerror(errno));
		rc = errno == EPERM ? 4 : 3;
	} else {
		printf("%s: signal sent to lbd (pid %ld)\n", cmd->name, pid);
	}
	cfg_unref(c);
	return rc;
}

static int cmd_status(const struct ctl_opts *o, const struct ctl_cmd *cmd)
{
	struct cfg *c = load(o);
	long pid;
	int rc = 0;

	(void)cmd;
	if (!c)
		return 2;
	pid = read_pid(c);
	if (pid <= 0 || kill((pid_t)pid, 0) == -1) {
		printf("lbd is not running (pid file %s)\n", c->pid_file);
		rc = 3;
	} else {
		printf("lbd is running: pid %ld, config %s, %d workers\n", pid, c->conf_file,
		       c->workers);
	}
	cfg_unref(c);
	return rc;
}

static int cmd_test(const struct ctl_opts *o, const struct ctl_cmd *cmd)
{
	struct cfg *c = load(o);

	(void)cmd;
	if (!c)
		return 2;
	printf("configuration %s is valid\n", c->conf_file);
	cfg_unref(c);
	return 0;
}

static int cmd_help(const struct ctl_opts *o, const struct ctl_cmd *cmd);

static const struct ctl_cmd cmds[] = {
	{ "reload", "reload the configuration (SIGHUP)", SIGHUP, cmd_signal },
	{ "reopen", "reopen the log files (SIGUSR1)", SIGUSR1, cmd_signal },
	{ "stop", "stop at once (SIGTERM)", SIGTERM, cmd_signal },
	{ "quit", "finish in-flight requests, then stop (SIGQUIT)", SIGQUIT, cmd_signal },
	{ "status", "is the daemon running, with which configuration", 0, cmd_status },
	{ "test", "check the configuration file", 0, cmd_test },
	{ "help", "this list", 0, cmd_help },
};

static int cmd_help(const struct ctl_opts *o, const struct ctl_cmd *cmd)
{
	(void)o, (void)cmd;
	printf("usage: lbctl [-p PREFIX] [-c CONF] COMMAND\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		printf("  %-8s %s\n", cmds[i].name, cmds[i].help);
	return 0;
}

int main(int argc, char **argv)
{
	struct ctl_opts o = { .prefix = "/etc/lbd/", .conf = "lbd.conf" };
	int opt;

	while ((opt = getopt(argc, argv, "p:c:h")) != -1) {
		switch (opt) {
		case 'p': o.prefix = optarg; break;
		case 'c': o.conf = optarg; break;
		default: return cmd_help(&o, NULL) ? 1 : 1;
		}
	}
	if (optind >= argc)
		return cmd_help(&o, NULL), 1;
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (strcmp(argv[optind], cmds[i].name) == 0)
			return cmds[i].fn(&o, &cmds[i]);
	fprintf(stderr, "lbctl: unknown command \"%s\" (try: lbctl help)\n", argv[optind]);
	return 1;
}
