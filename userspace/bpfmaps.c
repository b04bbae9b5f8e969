/* SPDX-License-Identifier: MIT */
/*
 * Pinned BPF maps. Loads bpf/maps.bpf.c through its skeleton with libbpf
 * pinning by name under the configured directory, so a restarted lbd finds
 * the same maps (same ids) and `bpftool map dump pinned DIR/<map>` prints
 * them with BTF. Mirrors the upstream table into lb_upstreams: called by
 * the main thread once a second and after control commands (never on the
 * request path); the only writer.
 */
#include <errno.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfmaps.h"
#include "cfg-t.h"
#include "lbd.h"
#include "lbd_bpf.h"
#include "log.h"
#include "skel/maps.skel.h"
#include "ups.h"

#define BPFFS "/sys/fs/bpf"

static struct maps_bpf *skel; /* open maps, NULL until the first success */
static char skel_dir[256];    /* pin directory they were opened under */
static int last_err;	      /* error already logged (log once) */

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

int bpfmaps_ensure_dir(const char *dir)
{
	struct statfs fs;

	if (strncmp(dir, BPFFS "/", sizeof(BPFFS)) == 0 &&
	    (statfs(BPFFS, &fs) == -1 || fs.f_type != BPF_FS_MAGIC) &&
	    mount("bpf", BPFFS, "bpf", 0, "mode=0700") == -1)
		return -errno;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -errno;
	return 0;
}

int bpfmaps_pin(int fd, const char *path)
{
	if (unlink(path) == -1 && errno != ENOENT)
		return -errno;
	return bpf_obj_pin(fd, path) ? -errno : 0;
}

static int open_maps(const char *dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = dir);
	libbpf_print_fn_t old;
	struct maps_bpf *s;
	int rc;

	rc = bpfmaps_ensure_dir(dir);
	if (rc)
		return rc;
	old = libbpf_set_print(quiet_print);
	s = maps_bpf__open_opts(&opts);
	rc = s ? maps_bpf__load(s) : -errno;
	libbpf_set_print(old);
	if (rc) {
		maps_bpf__destroy(s);
		return rc < 0 ? rc : -EINVAL;
	}
	skel = s;
	snprintf(skel_dir, sizeof(skel_dir), "%s", dir);
	return 0;
}

static void key_of(struct lb_ups_key *k, const struct ups_group *g, const struct ups_server *s)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->upstream, sizeof(k->upstream), "%s", g->name);
	snprintf(k->server, sizeof(k->server), "%s", s->name);
}

static __u32 state_of(const struct ups_server *s, int64_t now)
{
	int admin = atomic_load_explicit(&s->admin, memory_order_relaxed);

	if (s->down)
		return LB_UPS_DOWN;
	if (admin == UPS_ADMIN_DRAIN)
		return LB_UPS_DRAINING;
	if (admin == UPS_ADMIN_DISABLED)
		return LB_UPS_DISABLED;
	if (!ups_server_usable(s, now))
		return LB_UPS_FAILED;
	return s->backup ? LB_UPS_BACKUP : LB_UPS_UP;
}

static void val_of(struct lb_ups_val *v, const struct ups_server *s, int64_t now, __u64 ns)
{
	memset(v, 0, sizeof(*v));
	v->family = s->addr.ss_family;
	if (s->addr.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&s->addr;

		memcpy(v->addr, &in->sin_addr, 4);
		v->port = ntohs(in->sin_port);
	} else if (s->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&s->addr;

		memcpy(v->addr, &in6->sin6_addr, 16);
		v->port = ntohs(in6->sin6_port);
	}
	v->weight = (__u32)atomic_load_explicit(&s->eff_weight, memory_order_relaxed);
	v->state = state_of(s, now);
	v->active = (__u32)atomic_load_explicit(&s->active, memory_order_relaxed);
	v->requests = atomic_load_explicit(&s->requests, memory_order_relaxed);
	v->failures = atomic_load_explicit(&s->failures, memory_order_relaxed);
	v->updated_ns = ns;
}

static bool in_cfg(const struct cfg *cfg, const struct lb_ups_key *k)
{
	struct lb_ups_key t;

	for (int i = 0; cfg->http && i < cfg->http->nupstreams; i++) {
		const struct ups_group *g = cfg->http->upstreams[i];

		for (int j = 0; j < g->nservers; j++) {
			key_of(&t, g, &g->servers[j]);
			if (memcmp(&t, k, sizeof(t)) == 0)
				return true;
		}
	}
	return false;
}

int bpfmaps_sync(const struct cfg *cfg)
{
	struct lb_ups_key k, next;
	struct lb_ups_val v;
	struct timespec ts;
	int fd, rc;
	int64_t now = lbd_now_ms();
	__u64 ns;

	if (!cfg->bpf_pin_path)
		return 0;
	if (skel && strcmp(skel_dir, cfg->bpf_pin_path) != 0)
		bpfmaps_close(); /* the directory changed on reload */
	if (!skel) {
		rc = open_maps(cfg->bpf_pin_path);
		if (rc) {
			if (rc != last_err)
				log_warn(
					"BPF maps under %s not available (%d: %s): lb_upstreams is not mirrored",
					cfg->bpf_pin_path, -rc, strerror(-rc));
			last_err = rc;
			return rc;
		}
		last_err = 0;
		log_notice("BPF maps pinned under %s", cfg->bpf_pin_path);
	}
	fd = bpf_map__fd(skel->maps.lb_upstreams);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	for (int i = 0; cfg->http && i < cfg->http->nupstreams; i++) {
		const struct ups_group *g = cfg->http->upstreams[i];

		for (int j = 0; j < g->nservers; j++) {
			key_of(&k, g, &g->servers[j]);
			val_of(&v, &g->servers[j], now, ns);
			if (bpf_map_update_elem(fd, &k, &v, BPF_ANY) && errno != last_err) {
				last_err = errno;
				log_warn("lb_upstreams update failed (%d: %s)", errno,
					 strerror(errno));
			}
		}
	}
	/* Servers no longer configured leave the map. */
	if (bpf_map_get_next_key(fd, NULL, &k) == 0) {
		for (;;) {
			bool more = bpf_map_get_next_key(fd, &k, &next) == 0;

			if (!in_cfg(cfg, &k))
				bpf_map_delete_elem(fd, &k);
			if (!more)
				break;
			k = next;
		}
	}
	return 0;
}

void bpfmaps_close(void)
{
	maps_bpf__destroy(skel); /* the pins stay: the maps outlive lbd */
	skel = NULL;
	skel_dir[0] = '\0';
}
