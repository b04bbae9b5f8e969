/* SPDX-License-Identifier: MIT */
/*
 * lbctl - control a running lbd through its control socket (see
 * include/ctl.h for the protocol): status, upstream list and changes,
 * stats, reload, reopen. The socket is -s PATH, or the configuration's
 * control_socket (default PREFIX/logs/lbd.sock) read with -p/-c. stop and
 * quit, and reload/reopen when the socket is unreachable, use the pid file
 * and signals as `lbd -s` does. Commands come from one table.
 *
 * Exit codes: 0 ok, 1 usage, 2 bad configuration, 3 no daemon running,
 * 4 permission denied, 5 the daemon answered ERR.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl.h"
#include "lbd.h"

#define LBCTL_TIMEOUT_MS 10000 /* the daemon answers within this, or exit 3 */

enum lbctl_exit {
	LBCTL_OK = 0,
	LBCTL_USAGE = 1,
	LBCTL_BAD_CONFIG = 2,
	LBCTL_NO_DAEMON = 3,
	LBCTL_DENIED = 4,
	LBCTL_REFUSED = 5, /* the daemon answered ERR */
};

/* struct lbctl_opts - the command line. */
struct lbctl_opts {
	const char *prefix; /* -p */
	const char *conf;   /* -c */
	const char *socket; /* -s, else from the configuration */
	bool json;	    /* --json */
	char **words;	    /* the command and its arguments */
	int nwords;	    /* entries in words */
};

/* struct lbctl_cmd - one command: sent to the socket, or run here. */
struct lbctl_cmd {
	const char *name; /* first word */
	const char *args; /* synopsis */
	const char *help; /* one line */
	int sig;	  /* signal for pid-file commands (or the fallback), 0 none */
	int (*fn)(const struct lbctl_opts *o, const struct lbctl_cmd *cmd);
};

static struct cfg *load(const struct lbctl_opts *o)
{
	char err[1024];
	char prefix[4096];
	struct cfg_opts co;
	struct cfg *c;
	size_t n = strlen(o->prefix);

	snprintf(prefix, sizeof(prefix), "%s%s", o->prefix,
		 n && o->prefix[n - 1] == '/' ? "" : "/");
	co = (struct cfg_opts){.conf_file = o->conf, .prefix = prefix};
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

static int send_sig(const struct lbctl_opts *o, const struct lbctl_cmd *cmd)
{
	struct cfg *c = load(o);
	long pid;
	int rc = LBCTL_OK;

	if (!c)
		return LBCTL_BAD_CONFIG;
	pid = read_pid(c);
	if (pid <= 0) {
		rc = LBCTL_NO_DAEMON;
	} else if (kill((pid_t)pid, cmd->sig) == -1) {
		fprintf(stderr, "lbctl: %s pid %ld: %s\n",
			errno == ESRCH ? "no daemon running with" : "cannot signal", pid,
			strerror(errno));
		rc = errno == EPERM ? LBCTL_DENIED : LBCTL_NO_DAEMON;
	} else {
		printf("%s: signal sent to lbd (pid %ld)\n", cmd->name, pid);
	}
	cfg_unref(c);
	return rc;
}

/* socket_path - -s, or the configuration's control_socket, into BUF. */
static int socket_path(const struct lbctl_opts *o, char *buf, size_t len)
{
	struct cfg *c;

	if (o->socket) {
		snprintf(buf, len, "%s", o->socket);
		return LBCTL_OK;
	}
	c = load(o);
	if (!c)
		return LBCTL_BAD_CONFIG;
	if (!c->ctl_socket) {
		fprintf(stderr, "lbctl: control_socket is off in %s\n", c->conf_file);
		cfg_unref(c);
		return LBCTL_NO_DAEMON;
	}
	snprintf(buf, len, "%s", c->ctl_socket);
	cfg_unref(c);
	return LBCTL_OK;
}

static int dial(const char *path, int *fdp)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "lbctl: socket path too long: %s\n", path);
		return LBCTL_USAGE;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1) {
		int e = errno;

		if (fd != -1)
			close(fd);
		if (e == EACCES || e == EPERM) {
			fprintf(stderr, "lbctl: permission denied on %s\n", path);
			return LBCTL_DENIED;
		}
		fprintf(stderr, "lbctl: no daemon running: connect() to %s failed (%d: %s)\n", path,
			e, strerror(e));
		return LBCTL_NO_DAEMON;
	}
	*fdp = fd;
	return LBCTL_OK;
}

/*
 * exchange - send LINE, print the body lines to stdout until the
 * terminating line; an "ERR msg" goes to stderr. Returns an exit code.
 */
static int exchange(int fd, const char *line)
{
	size_t len = strlen(line), off = 0, have = 0;
	static char buf[CTL_OUT_MAX + 4096];

	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "lbctl: send: %s\n", strerror(errno));
			return LBCTL_NO_DAEMON;
		}
		off += (size_t)n;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char *start = buf, *nl;
		ssize_t n;

		if (poll(&p, 1, LBCTL_TIMEOUT_MS) == 0) {
			fprintf(stderr, "lbctl: no answer from the daemon within %d s\n",
				LBCTL_TIMEOUT_MS / 1000);
			return LBCTL_NO_DAEMON;
		}
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "lbctl: the daemon closed the connection mid-answer\n");
			return LBCTL_NO_DAEMON;
		}
		have += (size_t)n;
		while ((nl = memchr(start, '\n', have - (size_t)(start - buf)))) {
			*nl = '\0';
			if (strcmp(start, "OK") == 0)
				return LBCTL_OK;
			if (strncmp(start, "ERR", 3) == 0) {
				fprintf(stderr, "lbctl: %s\n", start[3] ? start + 4 : "error");
				return LBCTL_REFUSED;
			}
			printf("%s\n", start);
			start = nl + 1;
		}
		have -= (size_t)(start - buf);
		memmove(buf, start, have);
		if (have == sizeof(buf) - 1) {
			fprintf(stderr, "lbctl: answer line too long\n");
			return LBCTL_NO_DAEMON;
		}
	}
}

/* cmd_socket - join the words (and --json) into one request line. */
static int cmd_socket(const struct lbctl_opts *o, const struct lbctl_cmd *cmd)
{
	char path[4096], line[CTL_LINE_MAX + 2];
	size_t off = 0;
	int rc, fd = -1;

	line[0] = '\0';
	for (int i = 0; i < o->nwords; i++) {
		const char *w = o->words[i];
		int n;

		/* spaces inside a word (a quoted --reason) become word breaks,
		 * which the daemon joins back for free text; a line break would
		 * end the request */
		if (!w[0] || strpbrk(w, "\r\n")) {
			fprintf(stderr, "lbctl: invalid word \"%s\" (empty, or a line break)\n", w);
			return LBCTL_USAGE;
		}
		n = snprintf(line + off, sizeof(line) - off, "%s%s", i ? " " : "", w);
		if (n < 0 || (size_t)n >= sizeof(line) - off) {
			fprintf(stderr, "lbctl: command too long\n");
			return LBCTL_USAGE;
		}
		off += (size_t)n;
	}
	if (o->json && off + 8 < sizeof(line)) {
		memcpy(line + off, " --json", 8);
		off += 7;
	}
	line[off++] = '\n';
	line[off] = '\0';
	rc = socket_path(o, path, sizeof(path));
	if (rc)
		return rc;
	rc = dial(path, &fd);
	if (rc == LBCTL_NO_DAEMON && cmd->sig && !o->socket) {
		fprintf(stderr, "lbctl: falling back to the pid file\n");
		return send_sig(o, cmd);
	}
	if (rc)
		return rc;
	rc = exchange(fd, line);
	close(fd);
	return rc;
}

static int cmd_test(const struct lbctl_opts *o, const struct lbctl_cmd *cmd)
{
	struct cfg *c = load(o);

	(void)cmd;
	if (!c)
		return LBCTL_BAD_CONFIG;
	printf("configuration %s is valid\n", c->conf_file);
	cfg_unref(c);
	return LBCTL_OK;
}

static int cmd_help(const struct lbctl_opts *o, const struct lbctl_cmd *cmd);

static const struct lbctl_cmd lbctl_cmds[] = {
	{"status", "", "version, pid, uptime, configuration, workers, kernel features", 0,
	 cmd_socket},
	{"upstream", "list [UPSTREAM]",
	 "servers with weight, state and counters (http and stream; UPSTREAM may be "
	 "stream:NAME or http:NAME when both kinds use a name)",
	 0, cmd_socket},
	{"upstream", "set-weight UPSTREAM SERVER WEIGHT", "change a weight at runtime (0..10000)",
	 0, cmd_socket},
	{"upstream", "drain|disable|enable UPSTREAM SERVER",
	 "stop new requests to a server (in-flight ones finish), or resume", 0, cmd_socket},
	{"stats", "", "traffic totals, per-upstream figures, per-worker connections", 0,
	 cmd_socket},
	{"reload", "", "reload the configuration (as SIGHUP)", SIGHUP, cmd_socket},
	{"reopen", "", "reopen the log files (as SIGUSR1)", SIGUSR1, cmd_socket},
	{"ban", "add CIDR [--ttl DURATION] [--reason TEXT]",
	 "drop a client or network (XDP, and at accept time)", 0, cmd_socket},
	{"ban", "del CIDR", "lift a ban", 0, cmd_socket},
	{"ban", "list", "bans with expiry, origin, reason and hit counts", 0, cmd_socket},
	{"ban", "flush", "lift every ban", 0, cmd_socket},
	{"cache", "list [ZONE]", "proxy cache zones: size, entries, hits, misses, hit ratio", 0,
	 cmd_socket},
	{"cache", "purge ZONE KEY|PREFIX*", "remove cached entries by key or key prefix", 0,
	 cmd_socket},
	{"conns", "", "open upgraded streams: client, upstream, age, bytes each way", 0,
	 cmd_socket},
	{"kernel", "stats", "XDP guard: interfaces, SYN limit, packets by verdict", 0, cmd_socket},
	{"stop", "", "stop at once (SIGTERM through the pid file)", SIGTERM, send_sig},
	{"quit", "", "finish in-flight requests, then stop (SIGQUIT)", SIGQUIT, send_sig},
	{"test", "", "check the configuration file", 0, cmd_test},
	{"help", "", "this list", 0, cmd_help},
};

static int cmd_help(const struct lbctl_opts *o, const struct lbctl_cmd *cmd)
{
	(void)o, (void)cmd;
	printf("usage: lbctl [-s SOCKET] [-p PREFIX] [-c CONF] [--json] COMMAND [ARGS...]\n\n"
	       "commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(lbctl_cmds); i++) {
		char syn[80];

		snprintf(syn, sizeof(syn), "%s%s%s", lbctl_cmds[i].name,
			 lbctl_cmds[i].args[0] ? " " : "", lbctl_cmds[i].args);
		printf("  %-44s %s\n", syn, lbctl_cmds[i].help);
	}
	printf("\nexit: 0 ok, 1 usage, 2 bad configuration, 3 no daemon running,\n"
	       "      4 permission denied, 5 the daemon refused the command\n");
	return LBCTL_OK;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct lbctl_opts o = {.prefix = "/etc/lbd/", .conf = "lbd.conf"};
	int opt;

	/* "+": options end at the command, whose own words pass through */
	while ((opt = getopt_long(argc, argv, "+p:c:s:h", longs, NULL)) != -1) {
		switch (opt) {
		case 'p':
			o.prefix = optarg;
			break;
		case 'c':
			o.conf = optarg;
			break;
		case 's':
			o.socket = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			return cmd_help(&o, NULL);
		default:
			cmd_help(&o, NULL);
			return LBCTL_USAGE;
		}
	}
	if (optind >= argc) {
		cmd_help(&o, NULL);
		return LBCTL_USAGE;
	}
	o.words = argv + optind;
	o.nwords = argc - optind;
	for (size_t i = 0; i < ARRAY_SIZE(lbctl_cmds); i++)
		if (strcmp(argv[optind], lbctl_cmds[i].name) == 0)
			return lbctl_cmds[i].fn(&o, &lbctl_cmds[i]);
	fprintf(stderr, "lbctl: unknown command \"%s\" (try: lbctl help)\n", argv[optind]);
	return LBCTL_USAGE;
}
