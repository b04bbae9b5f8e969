/* SPDX-License-Identifier: MIT */
/*
 * Privilege dropping. Owns the switch from root to the `user` of the
 * configuration: name resolution, supplementary groups, gid and uid, and
 * the capability set kept afterwards (raw capset(2), no libcap). Called
 * once by the main thread after everything that needs root at start is
 * done and before any other thread exists, because capset(2) changes only
 * the calling thread; threads created afterwards inherit the reduced set.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lbd.h"
#include "priv.h"

#define PRIV_BIT(c) (UINT64_C(1) << (c))

uint64_t priv_caps_keep(bool bpf_maps, bool bpf_gated)
{
	/* binding a new port below 1024 on reload */
	uint64_t m = PRIV_BIT(CAP_NET_BIND_SERVICE);

	/* the maps are opened as root; updates go through their fds, which
	 * need no capability unless the kernel gates all of bpf(2) */
	if (bpf_maps && bpf_gated)
		m |= PRIV_BIT(CAP_BPF);
	return m;
}

bool priv_bpf_gated(const char *release, int sysctl)
{
	unsigned long major, minor;
	char *end;

	if (sysctl == 0)
		return false;
	if (!release)
		return true;
	major = strtoul(release, &end, 10);
	if (end == release || *end != '.')
		return true;
	release = end + 1;
	minor = strtoul(release, &end, 10);
	if (end == release)
		return true;
	return major < 6 || (major == 6 && minor < 5);
}

/* priv_lookup_err - getpw*_r and getgr*_r report "not found" as 0 with a
 * NULL result, and some NSS modules as ENOENT or ESRCH. */
static int priv_lookup_err(int rc)
{
	return rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM ? -ENOENT : -rc;
}

int priv_resolve(const char *user, const char *group, struct priv_ids *out, char *err,
		 size_t errlen)
{
	struct passwd pw, *pwr = NULL;
	struct group gr, *grr = NULL;
	char buf[4096];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!user || !*user) {
		snprintf(err, errlen, "\"user\": empty user name");
		return -EINVAL;
	}
	if (strlen(user) >= sizeof(out->name)) {
		snprintf(err, errlen, "\"user\": user name \"%s\" is too long", user);
		return -ENAMETOOLONG;
	}
	rc = getpwnam_r(user, &pw, buf, sizeof(buf), &pwr);
	if (!pwr) {
		rc = priv_lookup_err(rc);
		if (rc == -ENOENT)
			snprintf(err, errlen, "\"user\": getpwnam(\"%s\") failed: no such user",
				 user);
		else
			snprintf(err, errlen, "\"user\": getpwnam(\"%s\") failed (%d: %s)", user,
				 -rc, strerror(-rc));
		return rc;
	}
	out->uid = pw.pw_uid;
	out->gid = pw.pw_gid;
	snprintf(out->name, sizeof(out->name), "%s", user);
	if (!group) {
		out->group_pw = true;
		return 0;
	}
	rc = getgrnam_r(group, &gr, buf, sizeof(buf), &grr);
	if (grr) {
		out->gid = gr.gr_gid;
		return 0;
	}
	rc = priv_lookup_err(rc);
	if (rc == -ENOENT && strcmp(group, user) == 0) {
		out->group_pw = true; /* `user nobody;` where the group is nogroup */
		return 0;
	}
	if (rc == -ENOENT)
		snprintf(err, errlen, "\"user\": getgrnam(\"%s\") failed: no such group", group);
	else
		snprintf(err, errlen, "\"user\": getgrnam(\"%s\") failed (%d: %s)", group, -rc,
			 strerror(-rc));
	return rc;
}

void priv_caps_format(uint64_t mask, char *buf, size_t len)
{
	static const struct {
		int cap;	  /* capability number */
		const char *name; /* its name, as capsh prints it */
	} names[] = {
		{CAP_NET_BIND_SERVICE, "cap_net_bind_service"},
		{CAP_NET_ADMIN, "cap_net_admin"},
		{CAP_NET_RAW, "cap_net_raw"},
		{CAP_BPF, "cap_bpf"},
		{CAP_SYS_ADMIN, "cap_sys_admin"},
	};
	size_t n = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!(mask & PRIV_BIT(names[i].cap)))
			continue;
		mask &= ~PRIV_BIT(names[i].cap);
		n += (size_t)snprintf(buf + n, len - LBD_MIN(n, len), "%s%s", n ? "," : "",
				      names[i].name);
		if (n >= len)
			return;
	}
	for (int c = 0; c < 64 && n < len; c++)
		if (mask & PRIV_BIT(c))
			n += (size_t)snprintf(buf + n, len - n, "%scap_%d", n ? "," : "", c);
	if (n == 0)
		snprintf(buf, len, "none");
}

/* priv_threads - threads of this process, from /proc/self/task. */
static int priv_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int priv_fail(char *err, size_t errlen, const char *what, int e)
{
	snprintf(err, errlen, "%s failed (%d: %s)", what, e, strerror(e));
	return -e;
}

int priv_drop(const struct priv_ids *ids, uint64_t keep, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
	int n = priv_threads();

	if (n > 1) {
		snprintf(err, errlen, "cannot drop privileges: %d threads already run", n);
		return -EBUSY;
	}
	if (geteuid() != 0) {
		snprintf(err, errlen, "cannot drop privileges: not running as root");
		return -EPERM;
	}
	/* the permitted set survives setuid; the effective one is rebuilt */
	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) == -1)
		return priv_fail(err, errlen, "prctl(PR_SET_KEEPCAPS)", errno);
	if (initgroups(ids->name, ids->gid) == -1)
		return priv_fail(err, errlen, "initgroups()", errno);
	if (setresgid(ids->gid, ids->gid, ids->gid) == -1)
		return priv_fail(err, errlen, "setresgid()", errno);
	if (setresuid(ids->uid, ids->uid, ids->uid) == -1)
		return priv_fail(err, errlen, "setresuid()", errno);
	data[0].effective = data[0].permitted = (__u32)keep;
	data[1].effective = data[1].permitted = (__u32)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) == -1)
		return priv_fail(err, errlen, "capset()", errno);
	if (prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) == -1)
		return priv_fail(err, errlen, "prctl(PR_SET_KEEPCAPS, 0)", errno);
	/* setuid clears it: crashes of the unprivileged daemon still dump */
	if (prctl(PR_SET_DUMPABLE, 1L, 0L, 0L, 0L) == -1)
		return priv_fail(err, errlen, "prctl(PR_SET_DUMPABLE)", errno);
	/* a root uid left anywhere would let capabilities come back */
	if (setuid(0) == 0 || getuid() != ids->uid || geteuid() != ids->uid) {
		snprintf(err, errlen, "privileges were not dropped: root is still reachable");
		return -EPERM;
	}
	return 0;
}
