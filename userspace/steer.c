/* SPDX-License-Identifier: MIT */
/*
 * Connection steering, the userspace side of bpf/steer.bpf.c. Loads the
 * sk_reuseport program once at start (while privileged), puts every
 * worker's listening socket of each address into lb_steer_socks and
 * attaches the program to the address's SO_REUSEPORT group, and owns the
 * mapping of lb_workers through which the workers publish their load: an
 * atomic add per accept and per close, no syscall. Unlike lb_upstreams,
 * lb_workers describes this process's threads, so each start creates a
 * fresh map and its pin replaces the previous lbd's: reusing a pinned one
 * would inherit counts of connections that no longer exist (or another
 * live lbd's). Without BPF every function is a no-op.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfmaps.h"
#include "lbd_bpf.h"
#include "log.h"
#include "skel/steer.skel.h"
#include "steer.h"

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif

/* struct steer_pin - a map this process pinned, removed at exit if the
 * path still names it (a newer lbd may have replaced it). */
struct steer_pin {
	char path[PATH_MAX]; /* "" = not pinned */
	__u32 id;	     /* map id */
};

static struct steer_bpf *skel;	     /* loaded program and maps, NULL = off */
static struct lb_worker_load *loads; /* lb_workers mmap()ed, NULL = off */
static size_t loads_len;	     /* bytes mapped */
static int nw;			     /* workers steered between */
static bool tried;		     /* steer_init ran (it runs once) */
static int init_rc;		     /* what it returned */
static char off_why[160];	     /* why steering is off */
static struct steer_pin pins[4];     /* lb_workers, lb_steer_stats, _slots, _socks */

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

/* pin_one - pin MAP as DIR/<name>, replacing what is there. */
static void pin_one(struct bpf_map *map, const char *dir, struct steer_pin *p)
{
	int fd = bpf_map__fd(map);
	int n = snprintf(p->path, sizeof(p->path), "%s/%s", dir, bpf_map__name(map));

	if (n < 0 || (size_t)n >= sizeof(p->path)) {
		log_warn("cannot pin %s under %s: path too long", bpf_map__name(map), dir);
		p->path[0] = '\0';
		return;
	}
	if ((n = bpfmaps_pin(fd, p->path))) {
		log_warn("cannot pin %s (%d: %s): steering works, bpftool cannot show it", p->path,
			 -n, strerror(-n));
		p->path[0] = '\0';
		return;
	}
	p->id = map_id(fd);
}

static void unpin_ours(struct steer_pin *p)
{
	int fd;

	if (!p->path[0])
		return;
	fd = bpf_obj_get(p->path);
	if (fd >= 0) {
		if (map_id(fd) == p->id)
			unlink(p->path);
		close(fd);
	}
	p->path[0] = '\0';
}

static int load(int nworkers, const char *pin_dir)
{
	libbpf_print_fn_t old = libbpf_set_print(quiet_print);
	long page = sysconf(_SC_PAGESIZE);
	void *m;
	int rc;

	skel = steer_bpf__open();
	if (!skel) {
		rc = -errno;
		snprintf(off_why, sizeof(off_why), "cannot open the program (%d: %s)", -rc,
			 strerror(-rc));
		goto fail;
	}
	skel->rodata->nworkers = (__u32)nworkers;
	rc = steer_bpf__load(skel);
	if (rc) {
		snprintf(off_why, sizeof(off_why), "the kernel refused it (%d: %s)", -rc,
			 strerror(-rc));
		goto fail;
	}
	loads_len =
		(sizeof(*loads) * LB_STEER_MAX_WORKERS + (size_t)page - 1) & ~((size_t)page - 1);
	m = mmap(NULL, loads_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		 bpf_map__fd(skel->maps.lb_workers), 0);
	if (m == MAP_FAILED) {
		rc = -errno;
		snprintf(off_why, sizeof(off_why), "cannot map lb_workers (%d: %s)", -rc,
			 strerror(-rc));
		goto fail;
	}
	loads = m;
	libbpf_set_print(old);
	nw = nworkers;
	if (pin_dir) {
		rc = bpfmaps_ensure_dir(pin_dir);
		if (rc) {
			log_warn("cannot create %s (%d: %s): lb_workers is not pinned", pin_dir,
				 -rc, strerror(-rc));
		} else {
			pin_one(skel->maps.lb_workers, pin_dir, &pins[0]);
			pin_one(skel->maps.lb_steer_stats, pin_dir, &pins[1]);
			pin_one(skel->maps.lb_steer_slots, pin_dir, &pins[2]);
			pin_one(skel->maps.lb_steer_socks, pin_dir, &pins[3]);
		}
	}
	return 0;
fail:
	libbpf_set_print(old);
	steer_bpf__destroy(skel);
	skel = NULL;
	return rc < 0 ? rc : -EINVAL;
}

int steer_init(bool enabled, int nworkers, const char *pin_dir)
{
	if (tried)
		return init_rc;
	tried = true;
	if (!enabled) {
		snprintf(off_why, sizeof(off_why), "reuseport_steering off");
		log_notice("reuseport_steering off: the kernel's SO_REUSEPORT hash spreads "
			   "connections over the workers");
		return init_rc = 0;
	}
	if (nworkers < 1 || nworkers > LB_STEER_MAX_WORKERS) {
		snprintf(off_why, sizeof(off_why), "%d workers (1..%d steered)", nworkers,
			 LB_STEER_MAX_WORKERS);
		log_notice("connection steering off: %s", off_why);
		return init_rc = -EINVAL;
	}
	if (nworkers == 1) {
		/* the program would run on every SYN to pick the only socket */
		snprintf(off_why, sizeof(off_why), "1 worker, nothing to steer");
		log_info("connection steering off: %s", off_why);
		return init_rc = 0;
	}
	init_rc = load(nworkers, pin_dir);
	if (init_rc)
		log_notice("connection steering off: %s; the kernel's SO_REUSEPORT hash spreads "
			   "connections over the workers",
			   off_why);
	else
		log_notice("connection steering on: new connections go to the least-loaded of "
			   "%d workers",
			   nworkers);
	return init_rc;
}

bool steer_enabled(void)
{
	return skel != NULL;
}

static int key_of(struct lb_listen_key *k, const struct sockaddr_storage *addr, socklen_t addrlen)
{
	memset(k, 0, sizeof(*k));
	k->family = addr->ss_family;
	if (addr->ss_family == AF_INET && addrlen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)addr;

		k->port = ntohs(in->sin_port);
		memcpy(k->addr, &in->sin_addr, 4);
		return 0;
	}
	if (addr->ss_family == AF_INET6 && addrlen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;

		k->port = ntohs(in6->sin6_port);
		memcpy(k->addr, &in6->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

int steer_attach(int slot, const struct sockaddr_storage *addr, socklen_t addrlen, const int *fds,
		 int n)
{
	struct lb_listen_key k;
	int socks, prog, rc;
	__u32 s = (__u32)slot;

	if (!skel)
		return 0;
	rc = key_of(&k, addr, addrlen);
	if (rc)
		return rc;
	if (slot < 0 || slot >= LB_STEER_MAX_SLOTS || n != nw) {
		rc = -ERANGE;
		goto fail;
	}
	socks = bpf_map__fd(skel->maps.lb_steer_socks);
	prog = bpf_program__fd(skel->progs.lb_steer);
	/* the array first, the address next, the program last: a SYN that
	 * sees the program finds the sockets (else it takes the hash) */
	for (int i = 0; i < n; i++) {
		__u32 idx = s * LB_STEER_MAX_WORKERS + (__u32)i;
		__u64 fd = (__u64)fds[i];

		if (bpf_map_update_elem(socks, &idx, &fd, BPF_ANY)) {
			rc = -errno;
			goto fail;
		}
	}
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.lb_steer_slots), &k, &s, BPF_ANY) ||
	    setsockopt(fds[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog, sizeof(prog)) == -1) {
		rc = -errno;
		goto fail;
	}
	return 0;
fail:
	log_warn("connection steering not set up for a listening address, port %u (%d: %s): "
		 "the kernel's hash spreads its connections",
		 (unsigned)k.port, -rc, strerror(-rc));
	return rc;
}

void steer_detach(const struct sockaddr_storage *addr, socklen_t addrlen)
{
	struct lb_listen_key k;

	if (skel && key_of(&k, addr, addrlen) == 0)
		bpf_map_delete_elem(bpf_map__fd(skel->maps.lb_steer_slots), &k);
}

/* Relaxed: the program reads a load that is stale by a few instructions
 * anyway; only the count itself must not lose updates. */
void steer_conn_opened(int worker)
{
	if (loads && worker >= 0 && worker < nw) {
		__atomic_fetch_add(&loads[worker].active, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&loads[worker].accepted, 1, __ATOMIC_RELAXED);
	}
}

void steer_conn_closed(int worker)
{
	if (loads && worker >= 0 && worker < nw)
		__atomic_fetch_sub(&loads[worker].active, 1, __ATOMIC_RELAXED);
}

void steer_get_info(struct steer_info *out)
{
	uint64_t *sum[LB_STEER_NREASONS];
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v;

	memset(out, 0, sizeof(*out));
	out->on = skel != NULL;
	if (!skel) {
		snprintf(out->why, sizeof(out->why), "%s", tried ? off_why : "not started");
		return;
	}
	sum[LB_STEER_PICKED] = &out->picked;
	sum[LB_STEER_NO_SLOT] = &out->no_slot;
	sum[LB_STEER_NO_SOCKET] = &out->no_socket;
	/* a per-CPU value is read as one slot per possible CPU */
	v = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*v)) : NULL;
	for (__u32 r = 0; v && r < LB_STEER_NREASONS; r++) {
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.lb_steer_stats), &r, v))
			continue;
		for (int c = 0; c < ncpu; c++)
			*sum[r] += v[c];
	}
	free(v);
}

void steer_fini(void)
{
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
		unpin_ours(&pins[i]);
	if (loads)
		munmap(loads, loads_len);
	loads = NULL;
	steer_bpf__destroy(skel);
	skel = NULL;
	nw = 0;
	tried = false;
	init_rc = 0;
	off_why[0] = '\0';
}
