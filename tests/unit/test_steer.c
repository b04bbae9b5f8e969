/* SPDX-License-Identifier: MIT */
/*
 * Connection steering (userspace/steer.c with bpf/steer.bpf.c) in the
 * running kernel: SO_REUSEPORT listeners on loopback with the program
 * attached, loads set through the worker counters, real connections, and
 * the listener that got each one. BPF_PROG_TEST_RUN does not run
 * sk_reuseport programs, so the kernel's own listener lookup runs it.
 * Needs root and a BPF kernel, like test_xdp (the suite runs as root).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "lbd_bpf.h"
#include "steer.h"

#define MAXW 4

/* struct group - one listening address: a socket per worker. */
struct group {
	struct sockaddr_storage addr; /* bound address, port filled in */
	socklen_t addrlen;
	int fds[MAXW]; /* worker i's listener */
	int n;	       /* workers */
};

static void group_bind(struct group *g, int family, int n, int port)
{
	memset(g, 0, sizeof(*g));
	g->n = n;
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&g->addr;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in->sin_port = htons((uint16_t)port);
		g->addrlen = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&g->addr;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		in6->sin6_port = htons((uint16_t)port);
		g->addrlen = sizeof(*in6);
	}
	for (int i = 0; i < n; i++) {
		int one = 1, fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		cr_assert_geq(fd, 0);
		cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
		if (family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		cr_assert_eq(bind(fd, (struct sockaddr *)&g->addr, g->addrlen), 0, "bind: %s",
			     strerror(errno));
		cr_assert_eq(listen(fd, 128), 0);
		if (i == 0) /* the others join the port the first one got */
			cr_assert_eq(getsockname(fd, (struct sockaddr *)&g->addr, &g->addrlen), 0);
		g->fds[i] = fd;
	}
}

/* group_accept - connect once to G and return the index of the listener
 * that got the connection (waits for it, bounded; fails on none or two). */
static int group_accept(const struct group *g)
{
	struct pollfd p[MAXW];
	int c = socket(g->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), got = -1, ready;

	cr_assert_geq(c, 0);
	cr_assert_eq(connect(c, (const struct sockaddr *)&g->addr, g->addrlen), 0, "connect: %s",
		     strerror(errno));
	for (int i = 0; i < g->n; i++)
		p[i] = (struct pollfd){.fd = g->fds[i], .events = POLLIN};
	ready = poll(p, (nfds_t)g->n, 5000);
	cr_assert_gt(ready, 0, "no listener got the connection");
	for (int i = 0; i < g->n; i++) {
		int a = accept4(g->fds[i], NULL, NULL, SOCK_CLOEXEC);

		if (a >= 0) {
			cr_assert_eq(got, -1, "two listeners got one connection");
			got = i;
			close(a);
		}
	}
	cr_assert_neq(got, -1, "readable but nothing to accept");
	close(c);
	return got;
}

static void group_close(struct group *g)
{
	for (int i = 0; i < g->n; i++)
		if (g->fds[i] >= 0)
			close(g->fds[i]);
}

static void init(int n)
{
	cr_assert_eq(steer_init(true, n, NULL), 0, "load (root and a BPF kernel needed)");
	cr_assert(steer_enabled());
}

static void load(int worker, int conns)
{
	for (int i = 0; i < conns; i++)
		steer_conn_opened(worker);
}

/* struct pick_case - loads of the workers and the one that must win. */
struct pick_case {
	int family;	  /* AF_INET or AF_INET6 */
	int n;		  /* workers */
	int active[MAXW]; /* connections open per worker */
	int expect;	  /* the least-loaded worker */
};

ParameterizedTestParameters(steer, least_loaded)
{
	static struct pick_case cases[] = {
		{AF_INET, 2, {3, 0}, 1},       {AF_INET, 2, {0, 5}, 0},
		{AF_INET, 3, {2, 0, 1}, 1},    {AF_INET, 3, {5, 5, 4}, 2},
		{AF_INET, 4, {1, 1, 1, 0}, 3}, {AF_INET6, 2, {1, 0}, 1},
		{AF_INET6, 3, {0, 7, 7}, 0},
	};

	return cr_make_param_array(struct pick_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct pick_case *pc, steer, least_loaded)
{
	struct steer_info si;
	struct group g;

	init(pc->n);
	group_bind(&g, pc->family, pc->n, 0);
	cr_assert_eq(steer_attach(0, &g.addr, g.addrlen, g.fds, g.n), 0);
	for (int i = 0; i < pc->n; i++)
		load(i, pc->active[i]);
	/* the connections are accepted by the test, not counted: the
	 * loads stay as set, so every one goes to the same worker */
	for (int k = 0; k < 8; k++)
		cr_assert_eq(group_accept(&g), pc->expect, "connection %d", k);
	steer_get_info(&si);
	cr_assert_eq(si.picked, 8);
	cr_assert_eq(si.no_slot + si.no_socket, 0);
	group_close(&g);
}

Test(steer, load_follows_open_and_close)
{
	struct group g;

	init(2);
	group_bind(&g, AF_INET, 2, 0);
	cr_assert_eq(steer_attach(0, &g.addr, g.addrlen, g.fds, g.n), 0);
	load(0, 2);
	cr_assert_eq(group_accept(&g), 1);
	load(1, 3); /* 2 against 3 */
	cr_assert_eq(group_accept(&g), 0);
	steer_conn_closed(1);
	steer_conn_closed(1); /* 2 against 1 */
	cr_assert_eq(group_accept(&g), 1);
	group_close(&g);
}

Test(steer, equal_loads_spread)
{
	int got[2] = {0, 0};
	struct group g;

	init(2);
	group_bind(&g, AF_INET, 2, 0);
	cr_assert_eq(steer_attach(0, &g.addr, g.addrlen, g.fds, g.n), 0);
	load(0, 4);
	load(1, 4);
	/* ties go by the connection hash: 64 source ports all hashing to
	 * one worker has odds of 2^-63 */
	for (int k = 0; k < 64; k++)
		got[group_accept(&g)]++;
	cr_assert(got[0] > 0 && got[1] > 0, "got %d and %d", got[0], got[1]);
}

/* Two addresses on one port: each SYN must reach its own group's sockets
 * (a wrong slot would be refused by the kernel and counted no_socket). */
Test(steer, two_addresses_one_port)
{
	struct group g4, g6;
	struct steer_info si;
	int port;

	init(2);
	group_bind(&g4, AF_INET, 2, 0);
	port = ntohs(((struct sockaddr_in *)&g4.addr)->sin_port);
	group_bind(&g6, AF_INET6, 2, port);
	cr_assert_eq(steer_attach(0, &g4.addr, g4.addrlen, g4.fds, 2), 0);
	cr_assert_eq(steer_attach(1, &g6.addr, g6.addrlen, g6.fds, 2), 0);
	load(0, 1);
	for (int k = 0; k < 4; k++) {
		cr_assert_eq(group_accept(&g4), 1);
		cr_assert_eq(group_accept(&g6), 1);
	}
	steer_get_info(&si);
	cr_assert_eq(si.picked, 8);
	cr_assert_eq(si.no_slot + si.no_socket, 0);
}

Test(steer, unknown_listener_takes_the_hash)
{
	struct steer_info si;
	struct group g;

	init(2);
	group_bind(&g, AF_INET, 2, 0);
	cr_assert_eq(steer_attach(0, &g.addr, g.addrlen, g.fds, g.n), 0);
	steer_detach(&g.addr, g.addrlen);
	for (int k = 0; k < 4; k++)
		group_accept(&g); /* served, by whichever the hash says */
	steer_get_info(&si);
	cr_assert_eq(si.picked, 0);
	cr_assert_eq(si.no_slot, 4);
}

Test(steer, closed_socket_takes_the_hash)
{
	struct steer_info si;
	struct group g;

	init(2);
	group_bind(&g, AF_INET, 2, 0);
	cr_assert_eq(steer_attach(0, &g.addr, g.addrlen, g.fds, g.n), 0);
	load(0, 5);
	/* the least-loaded worker's socket closes: the kernel removes it
	 * from the array, the selection fails, the remaining one serves */
	close(g.fds[1]);
	g.n = 1;
	for (int k = 0; k < 3; k++)
		cr_assert_eq(group_accept(&g), 0);
	steer_get_info(&si);
	cr_assert_eq(si.no_socket, 3);
	cr_assert_eq(si.picked, 0);
}

Test(steer, wrong_worker_count_is_refused)
{
	struct group g;

	init(2);
	group_bind(&g, AF_INET, 3, 0);
	cr_assert_eq(steer_attach(0, &g.addr, g.addrlen, g.fds, 3), -ERANGE);
	cr_assert_eq(steer_attach(LB_STEER_MAX_SLOTS, &g.addr, g.addrlen, g.fds, 2), -ERANGE);
}

struct count_case {
	int n;	    /* worker_processes */
	int expect; /* steer_init result */
	bool on;    /* the program loaded */
};

ParameterizedTestParameters(steer, worker_counts)
{
	static struct count_case cases[] = {
		{0, -EINVAL, false},
		{1, 0, false}, /* nothing to steer: no program on each SYN */
		{2, 0, true},
		{LB_STEER_MAX_WORKERS, 0, true},
		{LB_STEER_MAX_WORKERS + 1, -EINVAL, false},
	};

	return cr_make_param_array(struct count_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct count_case *cc, steer, worker_counts)
{
	cr_assert_eq(steer_init(true, cc->n, NULL), cc->expect);
	cr_assert_eq(steer_enabled(), cc->on);
	/* the first call decides */
	cr_assert_eq(steer_init(true, 2, NULL), cc->expect);
}

Test(steer, counters_in_pinned_map)
{
	char dir[64], path[128];
	struct lb_worker_load v;
	__u32 key = 1;
	int fd;

	snprintf(dir, sizeof(dir), "/sys/fs/bpf/lbd-unit-%d", (int)getpid());
	cr_assert_eq(steer_init(true, 2, dir), 0);
	snprintf(path, sizeof(path), "%s/lb_workers", dir);
	load(1, 2);
	steer_conn_closed(1);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(bpf_map_lookup_elem(fd, &key, &v), 0);
	cr_assert_eq(v.active, 1);
	cr_assert_eq(v.accepted, 2);
	close(fd);
	steer_fini(); /* the pins are this process's: removed */
	cr_assert_eq(access(path, F_OK), -1);
	rmdir(dir);
}

Test(steer, disabled_is_plain_reuseport)
{
	struct steer_info si;
	struct group g;

	cr_assert_eq(steer_init(false, 2, NULL), 0);
	cr_assert_not(steer_enabled());
	group_bind(&g, AF_INET, 2, 0);
	cr_assert_eq(steer_attach(0, &g.addr, g.addrlen, g.fds, 2), 0);
	steer_conn_opened(0); /* no map: a no-op, not a crash */
	group_accept(&g);
	steer_get_info(&si);
	cr_assert_not(si.on);
	cr_assert_str_eq(si.why, "reuseport_steering off");
}

/* Without privilege the load fails; lbd goes on with plain reuseport. */
Test(steer, unprivileged_falls_back)
{
	struct steer_info si;
	struct group g;

	cr_assert_eq(setresuid(65534, 65534, 65534), 0, "setresuid: %s", strerror(errno));
	cr_assert_lt(steer_init(true, 2, NULL), 0);
	cr_assert_not(steer_enabled());
	group_bind(&g, AF_INET, 2, 0);
	cr_assert_eq(steer_attach(0, &g.addr, g.addrlen, g.fds, 2), 0);
	steer_conn_opened(1);
	group_accept(&g);
	steer_get_info(&si);
	cr_assert_not(si.on);
	cr_assert_not_null(strstr(si.why, "refused"), "%s", si.why);
}
