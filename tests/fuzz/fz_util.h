/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the libFuzzer targets: a checked abort, exact-size heap
 * copies (so ASan sees any overread), and the sandbox the targets that reach
 * the filesystem or the network enter before their first input. The sandbox
 * is what makes it safe to feed cfg_load() arbitrary text: an `access_log
 * /etc/x` or a `server name.example` must not write outside a scratch
 * directory or send a DNS query. It is a private network namespace (no
 * route anywhere: root only, skipped otherwise) and a Landlock ruleset that
 * allows writes only under the scratch directory and the directories
 * libFuzzer writes to (corpus and artifacts, taken from argv).
 */
#ifndef LBD_FZ_UTIL_H
#define LBD_FZ_UTIL_H

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <ftw.h>
#include <linux/landlock.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Older uapi headers lack it; the kernel has had it since 6.2 (ABI 3). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

/* fz_check - abort (a crash libFuzzer reports) when cond is false. */
#define fz_check(cond)           \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

/* fz_strdup - a NUL-terminated exact-size heap copy of data[0..n). */
static inline char *fz_strdup(const uint8_t *data, size_t n)
{
	char *p = malloc(n + 1);

	fz_check(p);
	memcpy(p, data, n);
	p[n] = '\0';
	return p;
}

static inline int fz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* fz_rmtree - remove PATH and everything below it, best effort. */
static inline void fz_rmtree(const char *path)
{
	nftw(path, fz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * fz_scratch - make a scratch directory /tmp/lbd-fuzz/NAME.PID into BUF.
 * The sandbox forbids removing it at exit (its parent is not writable), so
 * the directories of processes that are gone are removed here instead.
 */
static inline void fz_scratch(const char *name, char *buf, size_t len)
{
	const char *top = "/tmp/lbd-fuzz";
	struct dirent *e;
	DIR *d;

	if (mkdir(top, 0700) == -1 && errno != EEXIST)
		abort();
	d = opendir(top);
	fz_check(d);
	while ((e = readdir(d))) {
		const char *dot = strrchr(e->d_name, '.');
		char old[512];
		long pid;

		if (e->d_name[0] == '.' || !dot)
			continue;
		pid = strtol(dot + 1, NULL, 10);
		if (pid <= 0 || (kill((pid_t)pid, 0) == -1 && errno == ESRCH)) {
			snprintf(old, sizeof(old), "%s/%s", top, e->d_name);
			fz_rmtree(old);
		}
	}
	closedir(d);
	snprintf(buf, len, "%s/%s.%d", top, name, (int)getpid());
	fz_rmtree(buf);
	fz_check(mkdir(buf, 0700) == 0);
}

/* fz_allow_dir - let the ruleset RS write beneath the directory PATH. */
static inline void fz_allow_dir(int rs, const char *path, uint64_t access)
{
	struct landlock_path_beneath_attr pb = {.allowed_access = access};

	pb.parent_fd = open(path, O_PATH | O_CLOEXEC | O_DIRECTORY);
	if (pb.parent_fd == -1)
		return;
	if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0))
		fprintf(stderr, "fuzz: landlock rule for %s: %s\n", path, strerror(errno));
	close(pb.parent_fd);
}

/* fz_allow_parent - allow the directory holding the file prefix PFX
 * ("build/fuzz/crashes/x-" allows build/fuzz/crashes). */
static inline void fz_allow_parent(int rs, const char *pfx, uint64_t access)
{
	char dir[4096];
	const char *slash = strrchr(pfx, '/');

	if (!slash) {
		fz_allow_dir(rs, ".", access);
		return;
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - pfx + 1), pfx);
	fz_allow_dir(rs, dir, access);
}

/*
 * fz_sandbox - enter the sandbox described above, with SCRATCH (a
 * directory) writable. ARGV is libFuzzer's: every argument that names a
 * directory (corpora) stays writable, and so does the directory of
 * -artifact_prefix= (the current directory when absent). Exits when
 * Landlock is unavailable: fuzzing without it is not safe.
 */
static inline void fz_sandbox(const char *scratch, int argc, char **argv)
{
	const uint64_t write = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
			       LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
			       LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
			       LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
			       LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM |
			       LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE;
	struct landlock_ruleset_attr ra = {.handled_access_fs = write};
	bool artifacts = false;
	int rs;

	if (geteuid() == 0 && unshare(CLONE_NEWNET) == -1)
		fprintf(stderr, "fuzz: unshare(CLONE_NEWNET): %s\n", strerror(errno));
	rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0);
	if (rs == -1) {
		fprintf(stderr, "fuzz: landlock unavailable (%s): refusing to run\n",
			strerror(errno));
		exit(1);
	}
	fz_allow_dir(rs, scratch, write);
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (strncmp(argv[i], "-artifact_prefix=", 17) == 0) {
			fz_allow_parent(rs, argv[i] + 17, write);
			artifacts = true;
		} else if (strncmp(argv[i], "-exact_artifact_path=", 21) == 0) {
			fz_allow_parent(rs, argv[i] + 21, write);
			artifacts = true;
		} else if (argv[i][0] != '-' && stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			fz_allow_dir(rs, argv[i], write);
		}
	}
	if (!artifacts)
		fz_allow_dir(rs, ".", write);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    syscall(SYS_landlock_restrict_self, rs, 0) == -1) {
		fprintf(stderr, "fuzz: landlock_restrict_self: %s\n", strerror(errno));
		exit(1);
	}
	close(rs);
}

#endif /* LBD_FZ_UTIL_H */
