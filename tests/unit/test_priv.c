/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for priv.c's pure parts: the capability set kept after the
 * drop, the kernel check deciding whether CAP_BPF is needed, user and
 * group resolution with its error messages, and the capability names.
 * The drop itself needs root and a fresh process: tests/integ/test_priv.py.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "priv.h"

#define BIT(c) (UINT64_C(1) << (c))

struct keep_case {
	bool maps;	 /* bpf_pin_path set */
	bool gated;	 /* the kernel gates bpf(2) on fds */
	uint64_t expect; /* mask kept */
};

ParameterizedTestParameters(priv, caps_keep)
{
	static struct keep_case cases[] = {
		{false, false, BIT(CAP_NET_BIND_SERVICE)},
		{false, true, BIT(CAP_NET_BIND_SERVICE)},
		{true, false, BIT(CAP_NET_BIND_SERVICE)},
		{true, true, BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_BPF)},
	};

	return cr_make_param_array(struct keep_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct keep_case *c, priv, caps_keep)
{
	uint64_t m = priv_caps_keep(c->maps, c->gated);

	cr_assert_eq(m, c->expect, "maps=%d gated=%d: %#llx", c->maps, c->gated,
		     (unsigned long long)m);
	/* never anything that reopens the file system to us */
	cr_assert_eq(m & (BIT(CAP_DAC_OVERRIDE) | BIT(CAP_SYS_ADMIN) | BIT(CAP_SETUID)), 0);
}

struct gated_case {
	char release[32]; /* uname release ("none": NULL is passed) */
	int sysctl;	  /* kernel.unprivileged_bpf_disabled */
	bool expect;	  /* CAP_BPF needed for fd operations */
};

ParameterizedTestParameters(priv, bpf_gated)
{
	static struct gated_case cases[] = {
		{"6.18.44-fc-v595", 2, false},
		{"6.5.0", 1, false},
		{"6.4.16", 2, true},
		{"6.1.0-18-amd64", 2, true},
		{"5.10.0-28-amd64", 1, true},
		{"5.10.0-28-amd64", 0, false},
		{"10.0", 2, false},
		{"garbage", 2, true},
		{"6", 2, true},
		{"", 2, true},
		{"none", 2, true},
		{"none", 0, false},
	};

	return cr_make_param_array(struct gated_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct gated_case *c, priv, bpf_gated)
{
	const char *r = strcmp(c->release, "none") ? c->release : NULL;

	cr_assert_eq(priv_bpf_gated(r, c->sysctl), c->expect, "%s sysctl=%d", c->release,
		     c->sysctl);
}

Test(priv, resolve_root)
{
	struct priv_ids ids;
	char err[256] = "";

	cr_assert_eq(priv_resolve("root", "root", &ids, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ids.uid, 0);
	cr_assert_eq(ids.gid, 0);
	cr_assert_str_eq(ids.name, "root");
	cr_assert(!ids.group_pw);
}

Test(priv, resolve_group_defaults_to_primary)
{
	struct priv_ids ids;
	char err[256] = "";
	struct passwd *pw = getpwnam("root");

	cr_assert_not_null(pw);
	cr_assert_eq(priv_resolve("root", NULL, &ids, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ids.gid, pw->pw_gid);
	cr_assert(ids.group_pw);
}

Test(priv, resolve_same_name_group_falls_back)
{
	struct priv_ids ids;
	char err[256] = "";
	struct passwd *pw = getpwnam("nobody");

	if (!pw || getgrnam("nobody"))
		cr_skip_test("needs a user nobody without a group nobody (Debian: nogroup)");
	/* `user nobody;` stores group "nobody", which does not exist */
	cr_assert_eq(priv_resolve("nobody", "nobody", &ids, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ids.uid, pw->pw_uid);
	cr_assert_eq(ids.gid, pw->pw_gid);
	cr_assert(ids.group_pw);
}

struct bad_case {
	char user[96];	/* user name */
	char group[32]; /* group name, "" = NULL: the primary group */
	int rc;		/* expected return */
	char msg[96];	/* substring of the error */
};

ParameterizedTestParameters(priv, resolve_errors)
{
	static struct bad_case cases[] = {
		{"lbd-no-such-user-x", "", -ENOENT,
		 "getpwnam(\"lbd-no-such-user-x\") failed: no such user"},
		{"root", "lbd-no-such-group-x", -ENOENT,
		 "getgrnam(\"lbd-no-such-group-x\") failed: no such group"},
		{"", "", -EINVAL, "empty user name"},
		{"a-user-name-that-is-far-too-long-to-be-a-real-one-in-any-passwd-file-x", "",
		 -ENAMETOOLONG, "too long"},
	};

	return cr_make_param_array(struct bad_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_case *c, priv, resolve_errors)
{
	struct priv_ids ids;
	char err[256] = "";

	cr_assert_eq(priv_resolve(c->user, c->group[0] ? c->group : NULL, &ids, err, sizeof(err)),
		     c->rc, "%s", err);
	cr_assert(strstr(err, c->msg), "error \"%s\" lacks \"%s\"", err, c->msg);
}

struct fmt_case {
	uint64_t mask;	 /* capabilities */
	char expect[64]; /* formatted */
};

ParameterizedTestParameters(priv, caps_format)
{
	static struct fmt_case cases[] = {
		{0, "none"},
		{BIT(CAP_NET_BIND_SERVICE), "cap_net_bind_service"},
		{BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_BPF), "cap_net_bind_service,cap_bpf"},
		{BIT(CAP_CHOWN) | BIT(CAP_BPF), "cap_bpf,cap_0"},
	};

	return cr_make_param_array(struct fmt_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct fmt_case *c, priv, caps_format)
{
	char buf[128];

	priv_caps_format(c->mask, buf, sizeof(buf));
	cr_assert_str_eq(buf, c->expect);
}

Test(priv, caps_format_truncates)
{
	char buf[8];

	priv_caps_format(BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_BPF), buf, sizeof(buf));
	cr_assert_eq(strlen(buf), 7);
}

static void *park(void *arg)
{
	char c;

	/* returns when the test closes the pipe's write end */
	return (void *)(intptr_t)read(*(int *)arg, &c, 1);
}

Test(priv, drop_refuses_with_threads)
{
	struct priv_ids ids = {.uid = 65534, .gid = 65534, .name = "nobody"};
	char err[256] = "";
	uid_t before = geteuid();
	pthread_t th;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(pthread_create(&th, NULL, park, &p[0]), 0);
	/* a second thread would keep every capability: refuse, change nothing */
	cr_assert_eq(priv_drop(&ids, 0, err, sizeof(err)), -EBUSY, "%s", err);
	cr_assert(strstr(err, "threads already run"), "%s", err);
	cr_assert_eq(geteuid(), before);
	close(p[1]);
	pthread_join(th, NULL);
	close(p[0]);
}
