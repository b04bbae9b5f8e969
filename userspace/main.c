/* SPDX-License-Identifier: MIT */
/*
 * lbd's command line (nginx 1.22's flags) and the main thread: load the
 * configuration, bind, start the workers, then serve signals: HUP reload,
 * USR1 reopen, TERM/INT fast stop, QUIT graceful stop. The process started
 * stays in the foreground and is the master. The main thread also serves the
 * control socket (ctl.c), polled together with the signal fd: control
 * commands run where the configuration pointer is owned, off the workers.
 * It starts and stops the active health-check thread (hc.c), which runs on
 * the configuration in force: a reload replaces it. Everything that needs
 * root at start (bind, control socket, BPF maps, pid file, logs) happens
 * before the switch to the `user` (priv.c), and that switch happens before
 * any thread exists, since capabilities are per thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "alog.h"
#include "bpfmaps.h"
#include "cache.h"
#include "cfg.h"
#include "ctl.h"
#include "guard.h"
#include "hc.h"
#include "ksplice.h"
#include "kfeat.h"
#include "lbd.h"
#include "log.h"
#include "notify.h"
#include "priv.h"
#include "sups.h"
#include "tmpdir.h"
#include "worker.h"

#define DEFAULT_PREFIX "/etc/lbd/"
#define DEFAULT_CONF   "lbd.conf"

struct opts {
	const char *prefix;
	const char *conf;
	const char *directives;
	const char *signal;
	const char *error_log;
	bool test, dump, quiet, version, version_full, help;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: lbd [-?hvVtTq] [-s signal] [-p prefix]\n"
		   "           [-e filename] [-c filename] [-g directives]\n\n"
		   "Options:\n"
		   "  -?,-h         : this help\n"
		   "  -v            : show version and exit\n"
		   "  -V            : show version, build options and kernel features, then exit\n"
		   "  -t            : test configuration and exit\n"
		   "  -T            : test configuration, dump it and exit\n"
		   "  -q            : suppress non-error messages during configuration testing\n"
		   "  -s signal     : send signal to the daemon: stop, quit, reopen, reload\n"
		   "  -p prefix     : set prefix path (default: " DEFAULT_PREFIX ")\n"
		   "  -e filename   : set error log file (default: stderr)\n"
		   "  -c filename   : set configuration file (default: " DEFAULT_CONF ")\n"
		   "  -g directives : set global directives out of configuration file\n");
}

/* parse_args - nginx's option syntax: flags may be grouped ("-tq"), and an
 * option's value may be attached ("-cfile") or the next word. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *p = argv[i];

		if (*p++ != '-') {
			fprintf(stderr, "lbd: invalid option: \"%s\"\n", argv[i]);
			return -1;
		}
		while (*p) {
			char f = *p++;
			const char **dst = NULL;

			switch (f) {
			case '?':
			case 'h':
				o->help = true;
				break;
			case 'v':
				o->version = true;
				break;
			case 'V':
				o->version = o->version_full = true;
				break;
			case 't':
				o->test = true;
				break;
			case 'T':
				o->test = o->dump = true;
				break;
			case 'q':
				o->quiet = true;
				break;
			case 'p':
				dst = &o->prefix;
				break;
			case 'c':
				dst = &o->conf;
				break;
			case 'g':
				dst = &o->directives;
				break;
			case 's':
				dst = &o->signal;
				break;
			case 'e':
				dst = &o->error_log;
				break;
			default:
				fprintf(stderr, "lbd: invalid option: \"%c\"\n", f);
				return -1;
			}
			if (!dst)
				continue;
			if (*p) {
				*dst = p;
			} else if (i + 1 < argc) {
				*dst = argv[++i];
			} else {
				fprintf(stderr, "lbd: option \"-%c\" requires %s\n", f,
					f == 'p'   ? "directory name"
					: f == 'g' ? "parameter"
					: f == 's' ? "parameter"
						   : "file name");
				return -1;
			}
			break;
		}
	}
	if (o->signal && strcmp(o->signal, "stop") && strcmp(o->signal, "quit") &&
	    strcmp(o->signal, "reopen") && strcmp(o->signal, "reload")) {
		fprintf(stderr, "lbd: invalid option: \"-s %s\"\n", o->signal);
		return -1;
	}
	return 0;
}

static char *with_slash(const char *p)
{
	size_t n = strlen(p);
	char *r = malloc(n + 2);

	if (!r)
		return NULL;
	memcpy(r, p, n);
	if (n == 0 || p[n - 1] != '/')
		r[n++] = '/';
	r[n] = '\0';
	return r;
}

/* absolute_prefix - PREFIX (relative, ending in '/') from the current
 * directory, malloc'd; NULL without memory or a current directory. For
 * working_directory: lbd leaves the directory a relative prefix means,
 * and a reload reads the configuration again. */
static char *absolute_prefix(const char *prefix)
{
	char cwd[4096];
	char *r;

	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	r = malloc(strlen(cwd) + 1 + strlen(prefix) + 1);
	if (r)
		sprintf(r, "%s/%s", cwd, prefix);
	return r;
}

/* write_pid - write our pid into FD, opened as root before the privilege
 * drop since the pid file's directory is usually root's. The fd stays
 * open: at exit an unprivileged lbd cannot unlink the file but can empty
 * it, so `lbd -s` never signals a stale pid. */
static int write_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	return write(fd, buf, (size_t)n) == n ? 0 : -EIO;
}

static int send_signal(const struct cfg *c, const char *name)
{
	int sig = strcmp(name, "stop") == 0	? SIGTERM
		  : strcmp(name, "quit") == 0	? SIGQUIT
		  : strcmp(name, "reopen") == 0 ? SIGUSR1
						: SIGHUP;
	char buf[32] = "";
	FILE *f = fopen(c->pid_file, "r");
	long pid;

	if (!f) {
		fprintf(stderr, "lbd: [error] open() \"%s\" failed (%d: %s)\n", c->pid_file, errno,
			strerror(errno));
		return 1;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	pid = strtol(buf, NULL, 10);
	if (pid <= 0) {
		fprintf(stderr, "lbd: [error] invalid PID number \"%s\" in \"%s\"\n", buf,
			c->pid_file);
		return 1;
	}
	if (kill((pid_t)pid, sig) == -1) {
		fprintf(stderr, "lbd: [error] kill(%ld, %d) failed (%d: %s)\n", pid, sig, errno,
			strerror(errno));
		return 1;
	}
	return 0;
}

static void print_version(bool full)
{
	fprintf(stderr, "lbd version: " LBD_NAME "/" LBD_VERSION "\n");
	if (!full)
		return;
	fprintf(stderr, "built by gcc %s\n", __VERSION__);
	fprintf(stderr,
		"configure arguments: (Makefile) libbpf libelf openssl-3 nghttp2 pcre2 zlib\n");
	features_print(stderr);
}

static struct cfg *load(const struct opts *o, const char *prefix, char *err, size_t errlen)
{
	struct cfg_opts co = {
		.conf_file = o->conf ? o->conf : DEFAULT_CONF,
		.prefix = prefix,
		.directives = o->directives,
	};

	return cfg_load(&co, err, errlen);
}

static void apply_rlimit(const struct cfg *c)
{
	struct rlimit rl;

	if (c->worker_rlimit_nofile > 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)c->worker_rlimit_nofile;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit(RLIMIT_NOFILE, %d) failed (%d: %s)",
				 c->worker_rlimit_nofile, errno, strerror(errno));
	} else if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		/* Raise the soft limit to the hard one: each connection may
		 * need two or three fds (client, upstream, a spooled body). */
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* worker_priority: the threads started from here on inherit the nice
	 * value (Linux keeps one per thread), and raising it needs root,
	 * which the drop takes away: so here, before both */
	if (c->worker_priority && setpriority(PRIO_PROCESS, 0, c->worker_priority) == -1)
		log_emit(NULL, LOG_ALERT, "setpriority(%d) failed (%d: %s)", c->worker_priority,
			 errno, strerror(errno));
	/* worker_rlimit_core: the size of a core dump, as nginx sets it */
	if (c->worker_rlimit_core >= 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)c->worker_rlimit_core;
		if (setrlimit(RLIMIT_CORE, &rl) == -1)
			log_emit(NULL, LOG_ALERT, "setrlimit(RLIMIT_CORE, %lld) failed (%d: %s)",
				 (long long)c->worker_rlimit_core, errno, strerror(errno));
	}
}

/* The -e target at `error`: the error log once the configuration is
 * loaded without a main error_log, as nginx's default log (its start-up
 * lines came at notice), or NULL without -e. */
static struct log_target *elog_err;

/* use_error_log - the error log once C is loaded: its main error_log,
 * else the -e file at `error`; without either the one in use stays. */
static void use_error_log(const struct cfg *c)
{
	if (c->error_log)
		log_set_default(c->error_log);
	else if (elog_err)
		log_set_default(elog_err);
}

/* start_checks - run the active health checks of C; a failure leaves the
 * servers healthy (unchecked) and says so. */
static struct hc_checker *start_checks(struct cfg *c)
{
	struct hc_checker *hc = NULL;
	int n = sups_ngroups(c), err = 0;
	/* http and stream groups together (the checker keeps no array) */
	struct ups_group **gs = n ? calloc((size_t)n, sizeof(*gs)) : NULL;

	if (n && !gs)
		err = -ENOMEM;
	for (int i = 0; gs && i < n; i++)
		gs[i] = sups_group_at(c, i);
	if (gs)
		err = hc_start(gs, n, &hc);
	free(gs);
	if (err)
		log_err("cannot start health checks (%d: %s): servers stay healthy unchecked", -err,
			strerror(-err));
	return hc;
}

static int reload(const struct opts *o, const char *prefix, struct cfg **cur,
		  struct hc_checker **hc)
{
	char err[1024];
	struct cfg *n = load(o, prefix, err, sizeof(err));

	if (!n) {
		log_emit(NULL, LOG_EMERG, "%s", err);
		log_err("reload failed: the old configuration keeps serving");
		return -1;
	}
	if (!n->http && !n->stream) {
		log_err("reload failed: no \"http\" block; the old configuration keeps serving");
		cfg_unref(n);
		return -1;
	}
	if (n->worker_priority != (*cur)->worker_priority)
		log_warn("worker_priority changed from %d to %d: takes effect after a restart",
			 (*cur)->worker_priority, n->worker_priority);
	for (int i = 0; i < worker_count(); i++)
		if (cfg_worker_cpus(n, i) != cfg_worker_cpus(*cur, i)) {
			log_warn("worker_cpu_affinity changed: takes effect after a restart");
			break;
		}
	if (n->workers != (*cur)->workers)
		log_warn("worker_processes changed from %d to %d: takes effect after a restart",
			 (*cur)->workers, n->workers);
	if (worker_bind_listeners(n, worker_count(), err, sizeof(err))) {
		log_emit(NULL, LOG_EMERG, "%s", err);
		log_err("reload failed: the old configuration keeps serving");
		cfg_unref(n);
		return -1;
	}
	use_error_log(n);
	/* the old checker stops first: its last verdicts are carried over */
	hc_stop(*hc);
	*hc = NULL;
	/* weights, drain/disable set through the control socket and health
	 * survive */
	if (ctl_carry_over(*cur, n) > 0)
		log_notice("runtime upstream changes carried over to the new configuration");
	if (strcmp(n->ctl_socket ? n->ctl_socket : "",
		   (*cur)->ctl_socket ? (*cur)->ctl_socket : ""))
		log_warn("control_socket changed: takes effect after a restart");
	if (strcmp(n->user ? n->user : "", (*cur)->user ? (*cur)->user : "") ||
	    strcmp(n->group ? n->group : "", (*cur)->group ? (*cur)->group : ""))
		log_warn("\"user\" changed: takes effect after a restart");
	worker_post_all(WCMD_RELOAD, n);
	cfg_unref(*cur);
	*cur = n;
	*hc = start_checks(n);
	guard_apply(n);
	log_notice("configuration reloaded from %s", n->conf_file);
	return 0;
}

/* bpf_gated - whether this kernel refuses bpf(2) on an open map fd to a
 * process without CAP_BPF (see priv_bpf_gated). */
static bool bpf_gated(void)
{
	FILE *f = fopen("/proc/sys/kernel/unprivileged_bpf_disabled", "r");
	struct utsname u;
	int v = 1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 1;
		fclose(f);
	}
	return priv_bpf_gated(uname(&u) == 0 ? u.release : NULL, v);
}

/* drop_privileges - switch to the `user` of C, keeping only the
 * capabilities priv_caps_keep names. Without `user`, a root lbd stays
 * root: nginx drops its workers to nobody by default, but lbd is one
 * process, and silently running as nobody would break configs whose logs
 * or documents only root may use. Returns 0, or -errno (logged). */
static int drop_privileges(const struct cfg *c)
{
	struct priv_ids ids;
	char err[512], caps[128];
	uint64_t keep;
	int rc;

	if (geteuid() != 0) {
		if (c->user)
			log_warn(
				"the \"user\" directive makes sense only if lbd runs as root, ignored");
		return 0;
	}
	if (!c->user) {
		log_notice("running as root: set \"user\" to drop privileges after start");
		return 0;
	}
	rc = priv_resolve(c->user, c->group, &ids, err, sizeof(err));
	if (rc) {
		log_emit(NULL, LOG_EMERG, "%s", err);
		return rc;
	}
	if (ids.uid == 0) {
		log_notice("\"user %s\" is root: nothing to drop", c->user);
		return 0;
	}
	keep = priv_caps_keep(c->bpf_pin_path != NULL, bpf_gated());
	/* re-attaching XDP when an interface comes back, and loading a new
	 * program when xdp_syn_limit changes on reload */
	if (c->nxdp_ifs && guard_loaded())
		keep |= (UINT64_C(1) << CAP_NET_ADMIN) | (UINT64_C(1) << CAP_BPF);
	/* proxy_bind ... transparent: IP_TRANSPARENT on upstream sockets
	 * needs CAP_NET_RAW (or CAP_NET_ADMIN; the narrower one, as nginx's
	 * workers keep) */
	if (c->bind_transparent)
		keep |= UINT64_C(1) << CAP_NET_RAW;
	/* reopen on USR1 runs unprivileged: the files must be the user's */
	rc = log_chown_all(ids.uid, ids.gid);
	if (!rc)
		rc = alog_chown_all(ids.uid, ids.gid);
	if (!rc)
		rc = cache_chown_all(ids.uid, ids.gid); /* the workers write the cache */
	if (rc)
		log_warn("cannot give the log files to \"%s\" (%d: %s): reopening them may fail",
			 ids.name, -rc, strerror(-rc));
	tmpdir_prepare_all(c, ids.uid); /* the user makes its temp files there */
	rc = priv_drop(&ids, keep, err, sizeof(err));
	if (rc) {
		log_emit(NULL, LOG_EMERG, "%s", err);
		return rc;
	}
	priv_caps_format(keep, caps, sizeof(caps));
	log_notice("running as user \"%s\" (uid %d, gid %d%s), capabilities kept: %s", ids.name,
		   (int)ids.uid, (int)ids.gid, ids.group_pw ? ", the user's group" : "", caps);
	return 0;
}

/* reopen_logs - USR1. After the privilege drop a log file can be created
 * again only in a directory the user may write: say so instead of going
 * on silently with the renamed file. */
static void reopen_logs(void)
{
	int rc = log_reopen_all();

	if (rc)
		log_err("reopening the error log failed (%d: %s): it keeps its old file", -rc,
			strerror(-rc));
	rc = alog_reopen_all();
	if (rc)
		log_err("reopening an access log failed (%d: %s): it keeps its old file", -rc,
			strerror(-rc));
}

/* post_signal - `reload` and `reopen` from the control socket: queue the
 * signal to ourselves so the signal path below does the work. */
static int post_signal(int sig)
{
	return kill(getpid(), sig) == -1 ? -errno : 0;
}

/* A start-up error log file named by -e (not stderr): the configuration's
 * errors go there as well as to the console, as nginx writes them. */
static bool elog_file;

/* open_error_log - `-e NAME`: stderr ("stderr" or empty), else a file,
 * relative to PREFIX unless absolute, as nginx opens it. A name starting
 * with "syslog:" is a file name here too: nginx 1.22's -e takes no syslog
 * target. 0, or -1 with the error on stderr. */
static int open_error_log(const char *name, const char *prefix)
{
	struct log_target *t;
	char *path = NULL;

	if (name[0] == '\0')
		name = "stderr";
	if (name[0] != '/' && strcmp(name, "stderr") != 0) {
		path = malloc(strlen(prefix) + strlen(name) + 1);
		if (!path)
			return -1;
		sprintf(path, "%s%s", prefix, name);
		name = path;
	}
	/* at notice while the configuration loads, and the same file again
	 * at its own level for after (targets are shared per path and level:
	 * a server's error_log of this file keeps its own) */
	t = log_target_open(name, LOG_NOTICE);
	if (t)
		elog_err = log_target_open(name, LOG_ERR);
	if (!t || !elog_err) {
		fprintf(stderr,
			"lbd: [alert] could not open error log file: open() \"%s\" failed (%d: %s)\n",
			name, errno, strerror(errno));
		free(path);
		return -1;
	}
	elog_file = t->fd != 2;
	log_set_default(t);
	free(path);
	return 0;
}

/* load_failed - the configuration's error ERR, on stderr and in the -e
 * file. */
static void load_failed(const char *err)
{
	fprintf(stderr, "lbd: [emerg] %s\n", err);
	if (elog_file)
		log_emit(NULL, LOG_EMERG, "%s", err);
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	char err[1024], *prefix;
	struct ctl_env env = {.post_signal = post_signal};
	struct ctl_server *ctl = NULL;
	struct hc_checker *hc = NULL;
	struct cfg *cfg;
	sigset_t set;
	int sfd, pid_fd = -1, rc = 0;
	int64_t last_tick = 0;

	if (parse_args(argc, argv, &o))
		return 1;
	if (o.help) {
		fprintf(stderr, "lbd version: " LBD_NAME "/" LBD_VERSION "\n");
		usage(stderr);
		return 0;
	}
	if (o.version) {
		print_version(o.version_full);
		if (!o.test && !o.signal)
			return 0;
	}
	prefix = with_slash(o.prefix ? o.prefix : DEFAULT_PREFIX);
	if (!prefix)
		return 1;
	if (o.error_log && open_error_log(o.error_log, prefix)) {
		free(prefix);
		return 1;
	}
	cfg = load(&o, prefix, err, sizeof(err));
	if (cfg && cfg->working_directory && prefix[0] != '/' && !o.test) {
		char *abs = absolute_prefix(prefix);

		/* the paths again from the prefix as an absolute one */
		if (abs) {
			cfg_unref(cfg);
			free(prefix);
			prefix = abs;
			cfg = load(&o, prefix, err, sizeof(err));
		}
	}
	if (o.test) {
		const char *file = cfg ? cfg->conf_file : (o.conf ? o.conf : DEFAULT_CONF);

		if (!cfg) {
			load_failed(err);
			/* the file's full name, as nginx prints it */
			fprintf(stderr, "lbd: configuration file %s%s test failed\n",
				file[0] == '/' ? "" : prefix, file);
			free(prefix);
			return 1;
		}
		if (!o.quiet) {
			fprintf(stderr, "lbd: the configuration file %s syntax is ok\n", file);
			fprintf(stderr, "lbd: configuration file %s test is successful\n", file);
		}
		if (o.dump)
			cfg_dump(cfg, stdout);
		cfg_unref(cfg);
		free(prefix);
		return 0;
	}
	if (!cfg) {
		load_failed(err);
		free(prefix);
		return 1;
	}
	if (o.signal) {
		rc = send_signal(cfg, o.signal);
		cfg_unref(cfg);
		free(prefix);
		return rc;
	}
	if (!cfg->http && !cfg->stream) {
		fprintf(stderr, "lbd: [emerg] no \"http\" block in %s: nothing to serve\n",
			cfg->conf_file);
		cfg_unref(cfg);
		free(prefix);
		return 1;
	}
	use_error_log(cfg);
	if (cfg->daemon)
		log_notice(
			"lbd stays in the foreground (\"daemon on\" is not used; run it under systemd or a supervisor)");
	apply_rlimit(cfg);
	signal(SIGPIPE, SIG_IGN);
	if (worker_bind_listeners(cfg, cfg->workers, err, sizeof(err))) {
		fprintf(stderr, "lbd: [emerg] %s\n", err);
		cfg_unref(cfg);
		free(prefix);
		return 1;
	}
	/* before the workers exist: the socket is created under a private umask */
	rc = ctl_server_open(cfg, &ctl, err, sizeof(err));
	if (rc && cfg->ctl_socket_set) {
		fprintf(stderr, "lbd: [emerg] %s\n", err);
		cfg_unref(cfg);
		free(prefix);
		return 1;
	}
	if (rc)
		log_warn("%s: running without a control socket", err);
	rc = 0;
	env.pid = getpid();
	env.start_ms = lbd_now_ms();
	env.workers = cfg->workers;
	features_detect(&env.feat);
	env.feat_known = true;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd == -1) {
		fprintf(stderr, "lbd: [emerg] signalfd() failed (%d: %s)\n", errno,
			strerror(errno));
		ctl_server_close(ctl);
		return 1;
	}
	/* the maps are created or opened while still root; later syncs only
	 * update them through their fds */
	bpfmaps_sync(cfg);
	guard_apply(cfg);
	if (ksplice_init(cfg->bpf_pin_path))
		log_notice("%s: upgraded streams use the splice(2) relay", ksplice_why());
	/* opened while still root; the pid goes in once the workers run */
	if (cfg->pid_file) {
		pid_fd = open(cfg->pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (pid_fd == -1) {
			log_emit(NULL, LOG_EMERG, "open() \"%s\" failed (%d: %s)", cfg->pid_file,
				 errno, strerror(errno));
			ctl_server_close(ctl);
			return 1;
		}
	}
	/* before any thread: capset(2) changes only the calling thread, and
	 * the workers and the health checker inherit the reduced set */
	if (drop_privileges(cfg)) {
		if (cfg->pid_file)
			unlink(cfg->pid_file);
		ctl_server_close(ctl);
		return 1;
	}
	/* working_directory: entered with the workers' privileges, as
	 * nginx's workers enter it (the prefix is absolute: see above) */
	if (cfg->working_directory && chdir(cfg->working_directory) == -1) {
		log_emit(NULL, LOG_ALERT, "chdir(\"%s\") failed (%d: %s)", cfg->working_directory,
			 errno, strerror(errno));
		if (cfg->pid_file)
			unlink(cfg->pid_file);
		ctl_server_close(ctl);
		free(prefix);
		return 1;
	}
	if (worker_start_all(cfg, cfg->workers)) {
		fprintf(stderr, "lbd: [emerg] cannot start workers (%d: %s)\n", errno,
			strerror(errno));
		if (cfg->pid_file)
			unlink(cfg->pid_file);
		ctl_server_close(ctl);
		return 1;
	}
	/* The pid holds once signals are handled (they queue on sfd until the
	 * loop below) and the drop is done: a script that waits for it may
	 * signal us right away. */
	if (pid_fd != -1 && write_pid(pid_fd)) {
		log_emit(NULL, LOG_EMERG, "write() \"%s\" failed (%d: %s)", cfg->pid_file, EIO,
			 strerror(EIO));
		worker_post_all(WCMD_STOP, NULL);
		worker_join_all();
		ctl_server_close(ctl);
		return 1;
	}
	hc = start_checks(cfg);
	log_notice("lbd/%s started, %d workers, pid %d", LBD_VERSION, cfg->workers, (int)getpid());
	notify_systemd("READY=1");
	for (;;) {
		struct pollfd pfd[3] = {{.fd = sfd, .events = POLLIN},
					{.fd = ctl ? ctl_server_fd(ctl) : -1, .events = POLLIN},
					{.fd = guard_nl_fd(), .events = POLLIN}};
		struct signalfd_siginfo si;
		ssize_t n;

		/* 1 s timeout: the control server closes idle clients, and the
		 * pinned upstream map is refreshed (also right after commands) */
		if (poll(pfd, 3, 1000) == -1 && errno != EINTR)
			break;
		if (ctl)
			ctl_server_run(ctl, &env, cfg);
		if (pfd[2].revents & POLLIN)
			guard_nl_run();
		bpfmaps_sync(cfg);
		if (lbd_now_ms() - last_tick >= 1000) {
			last_tick = lbd_now_ms();
			guard_tick();
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		n = read(sfd, &si, sizeof(si));
		if (n != sizeof(si)) {
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			break;
		}
		if (si.ssi_signo == SIGHUP) {
			log_notice("signal %d (SIGHUP) received, reconfiguring", SIGHUP);
			notify_systemd("RELOADING=1");
			reload(&o, prefix, &cfg, &hc);
			notify_systemd("READY=1");
		} else if (si.ssi_signo == SIGUSR1) {
			log_notice("signal %d (SIGUSR1) received, reopening logs", SIGUSR1);
			worker_post_all(WCMD_REOPEN, NULL);
			reopen_logs();
		} else if (si.ssi_signo == SIGQUIT) {
			log_notice("signal %d (SIGQUIT) received, shutting down gracefully",
				   SIGQUIT);
			notify_systemd("STOPPING=1");
			worker_post_all(WCMD_QUIT, NULL);
			break;
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_notice("signal %d received, exiting", si.ssi_signo);
			notify_systemd("STOPPING=1");
			worker_post_all(WCMD_STOP, NULL);
			break;
		} else {
			log_notice("signal %d ignored", si.ssi_signo);
		}
	}
	ctl_server_close(ctl);
	hc_stop(hc);
	worker_join_all();
	guard_close();
	bpfmaps_close();
	if (cfg->pid_file && unlink(cfg->pid_file) == -1 && pid_fd != -1 &&
	    ftruncate(pid_fd, 0) == -1)
		log_warn("cannot remove or empty the pid file \"%s\" (%d: %s)", cfg->pid_file,
			 errno, strerror(errno));
	if (pid_fd != -1)
		close(pid_fd);
	log_notice("exit");
	cfg_unref(cfg);
	free(prefix);
	close(sfd);
	return 0;
}
