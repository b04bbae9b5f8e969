/* SPDX-License-Identifier: MIT */
/*
 * The XDP guard in the daemon (see include/guard.h). Owns the loaded
 * guard skeleton, one bpf link per `xdp_attach` interface (pinned as
 * DIR/xdp_link_<ifname> so that it outlives lbd and a restarted lbd can
 * swap the program in it atomically), and a libnl socket on the link
 * group: any link event triggers a pass over the configured interfaces,
 * as does the one-second tick, so a missed event costs at most a second.
 *
 * xdp_syn_limit is compiled into the program (rodata), so changing it on
 * reload loads a new program beside the old one, on the same maps, and
 * updates every link to it: no packet sees the guard missing.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include "ban.h"
#include "bpfmaps.h"
#include "cfg-t.h"
#include "guard.h"
#include "log.h"
#include "skel/guard.skel.h"

#define GUARD_MAX_IFS 32
#define LINK_PREFIX   "xdp_link_"

/* struct gif - one configured interface and its link. */
struct gif {
	char name[IF_NAMESIZE];	 /* interface name */
	enum cfg_xdp_mode mode;	 /* requested mode */
	int ifindex;		 /* resolved index, 0 = absent */
	int link_fd;		 /* bpf link, -1 = not attached */
	uint32_t attached_flags; /* XDP_FLAGS_DRV_MODE or _SKB_MODE in force */
	char error[96];		 /* last attach failure, "" = none */
	bool logged_absent;	 /* "not present" said once */
};

static struct guard_bpf *skel;	       /* loaded program and maps, NULL = none */
static uint32_t skel_rate, skel_burst; /* rodata it was loaded with */
static char pin_dir[256];	       /* bpf_pin_path in force, "" = no pinning */
static struct gif ifs[GUARD_MAX_IFS];
static int nifs;
static struct nl_sock *nl_ev; /* link events */
static struct nl_sock *nl_q;  /* queries */
static bool nl_dirty;	      /* an event came: re-check the interfaces */
static int load_err;	      /* load failure already logged */

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

bool guard_loaded(void)
{
	return skel != NULL;
}

void guard_syn_limit(uint32_t *rate, uint32_t *burst)
{
	*rate = skel ? skel_rate : 0;
	*burst = skel ? skel_burst : 0;
}

/* ---- netlink --------------------------------------------------------------------- */

static int on_link_event(struct nl_msg *msg, void *arg)
{
	(void)msg, (void)arg;
	nl_dirty = true;
	return NL_OK;
}

static void nl_open(void)
{
	if (nl_q)
		return;
	nl_q = nl_socket_alloc();
	nl_ev = nl_socket_alloc();
	if (!nl_q || !nl_ev || nl_connect(nl_q, NETLINK_ROUTE) < 0)
		goto fail;
	nl_socket_disable_seq_check(nl_ev);
	nl_socket_modify_cb(nl_ev, NL_CB_VALID, NL_CB_CUSTOM, on_link_event, NULL);
	if (nl_connect(nl_ev, NETLINK_ROUTE) < 0 ||
	    nl_socket_add_membership(nl_ev, RTNLGRP_LINK) < 0 ||
	    nl_socket_set_nonblocking(nl_ev) < 0)
		goto fail;
	return;
fail:
	log_warn("netlink unavailable: interfaces are re-checked once a second only");
	if (nl_ev)
		nl_socket_free(nl_ev);
	nl_ev = NULL;
	if (nl_q && nl_socket_get_fd(nl_q) < 0) {
		nl_socket_free(nl_q);
		nl_q = NULL;
	}
}

/* resolve - the index of interface NAME through rtnetlink, 0 if absent. */
static int resolve(const char *name)
{
	struct rtnl_link *l = NULL;
	int idx;

	if (!nl_q)
		return (int)if_nametoindex(name);
	if (rtnl_link_get_kernel(nl_q, 0, name, &l) < 0 || !l)
		return 0;
	idx = rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	return idx;
}

int guard_nl_fd(void)
{
	return nl_ev ? nl_socket_get_fd(nl_ev) : -1;
}

/* ---- links ----------------------------------------------------------------------- */

static void link_path(const struct gif *g, char *buf, size_t len)
{
	snprintf(buf, len, "%.255s/" LINK_PREFIX "%.15s", pin_dir, g->name);
}

/* link_ifindex - the interface a link is attached to (0 once the
 * interface is gone: the kernel detaches it), or -errno. */
static int link_ifindex(int fd, uint32_t *prog_id)
{
	struct bpf_link_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type != BPF_LINK_TYPE_XDP)
		return -EINVAL;
	if (prog_id)
		*prog_id = info.prog_id;
	return (int)info.xdp.ifindex;
}

static uint32_t prog_id_of(int prog_fd)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return 0;
	return info.id;
}

/* attached_mode - XDP_FLAGS_DRV_MODE / _SKB_MODE of what IFINDEX runs. */
static uint32_t attached_mode(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return 0;
	if (q.attach_mode == XDP_ATTACHED_DRV)
		return XDP_FLAGS_DRV_MODE;
	if (q.attach_mode == XDP_ATTACHED_SKB)
		return XDP_FLAGS_SKB_MODE;
	return 0;
}

static bool mode_ok(const struct gif *g, uint32_t flags)
{
	if (g->mode == CFG_XDP_NATIVE)
		return flags == XDP_FLAGS_DRV_MODE;
	if (g->mode == CFG_XDP_GENERIC)
		return flags == XDP_FLAGS_SKB_MODE;
	return flags != 0;
}

static void drop_link(struct gif *g, bool detach)
{
	char path[320];

	if (g->link_fd >= 0) {
		if (detach)
			bpf_link_detach(g->link_fd);
		close(g->link_fd);
	}
	g->link_fd = -1;
	g->attached_flags = 0;
	if (pin_dir[0]) {
		link_path(g, path, sizeof(path));
		unlink(path);
	}
}

/* create_link - attach the program to G in the requested mode; pin it. */
static int create_link(struct gif *g)
{
	static const uint32_t native[] = {XDP_FLAGS_DRV_MODE}, generic[] = {XDP_FLAGS_SKB_MODE},
			      autom[] = {XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE};
	const uint32_t *tries = g->mode == CFG_XDP_NATIVE    ? native
				: g->mode == CFG_XDP_GENERIC ? generic
							     : autom;
	int ntries = g->mode == CFG_XDP_AUTO ? 2 : 1, fd = -1, rc = 0;
	int prog = bpf_program__fd(skel->progs.lb_guard);
	char path[320];

	for (int i = 0; i < ntries && fd < 0; i++) {
		LIBBPF_OPTS(bpf_link_create_opts, o, .flags = tries[i]);

		fd = bpf_link_create(prog, g->ifindex, BPF_XDP, &o);
		if (fd < 0)
			rc = -errno;
		else
			g->attached_flags = tries[i];
	}
	if (fd < 0) {
		snprintf(g->error, sizeof(g->error), "%s%s",
			 rc == -EBUSY ? "another XDP program is attached: " : "", strerror(-rc));
		return rc;
	}
	g->link_fd = fd;
	if (pin_dir[0]) {
		link_path(g, path, sizeof(path));
		if ((rc = bpfmaps_pin(fd, path)))
			log_warn("cannot pin the XDP link of %s at %s (%d: %s): it ends with lbd",
				 g->name, path, -rc, strerror(-rc));
	}
	return 0;
}

/* adopt_pinned - take over a link a previous lbd pinned for G, if it is
 * still attached to the same interface in an acceptable mode. */
static bool adopt_pinned(struct gif *g)
{
	char path[320];
	int fd;

	if (!pin_dir[0])
		return false;
	link_path(g, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	if (link_ifindex(fd, NULL) == g->ifindex && mode_ok(g, attached_mode(g->ifindex))) {
		g->link_fd = fd;
		g->attached_flags = attached_mode(g->ifindex);
		return true;
	}
	/* stale (interface recreated) or the wrong mode: replace it */
	bpf_link_detach(fd);
	close(fd);
	unlink(path);
	return false;
}

/* ensure - G attached to its interface and running the current program. */
static void ensure(struct gif *g)
{
	int prog = bpf_program__fd(skel->progs.lb_guard), idx = resolve(g->name);
	uint32_t want = prog_id_of(prog), have = 0;
	bool was = g->link_fd >= 0;

	if (idx <= 0) {
		if (g->link_fd >= 0)
			log_warn("interface %s is gone: XDP guard detached", g->name);
		drop_link(g, false);
		g->ifindex = 0;
		snprintf(g->error, sizeof(g->error), "interface not present");
		if (!g->logged_absent)
			log_warn("xdp_attach: interface %s not present: attached when it appears",
				 g->name);
		g->logged_absent = true;
		return;
	}
	g->logged_absent = false;
	if (g->link_fd >= 0 && (idx != g->ifindex || link_ifindex(g->link_fd, &have) != idx))
		drop_link(g, true); /* the interface was recreated under that name */
	g->ifindex = idx;
	if (g->link_fd < 0 && adopt_pinned(g))
		log_notice("XDP guard on %s: reusing the pinned link", g->name);
	if (g->link_fd >= 0) {
		link_ifindex(g->link_fd, &have);
		if (have != want && bpf_link_update(g->link_fd, prog, NULL)) {
			log_err("XDP guard on %s: replacing the program failed (%d: %s)", g->name,
				errno, strerror(errno));
			return;
		}
		g->error[0] = '\0';
		return;
	}
	if (create_link(g)) {
		log_err("XDP guard: cannot attach to %s (%s)", g->name, g->error);
		return;
	}
	g->error[0] = '\0';
	log_notice("XDP guard attached to %s (%s mode)%s", g->name,
		   g->attached_flags == XDP_FLAGS_DRV_MODE ? "native" : "generic",
		   was ? " again" : "");
}

/* sweep_pins - detach links pinned for interfaces no longer configured. */
static void sweep_pins(void)
{
	struct dirent *de;
	DIR *d;

	if (!pin_dir[0] || !(d = opendir(pin_dir)))
		return;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		bool ours = false;
		char path[320];
		int fd;

		if (strncmp(n, LINK_PREFIX, sizeof(LINK_PREFIX) - 1) != 0)
			continue;
		for (int i = 0; i < nifs && !ours; i++)
			ours = strcmp(ifs[i].name, n + sizeof(LINK_PREFIX) - 1) == 0;
		if (ours)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", pin_dir, n) >= sizeof(path))
			continue; /* not a pin of ours: too long for one */
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
		unlink(path);
		log_notice("XDP guard detached from %s (no longer in xdp_attach)",
			   n + sizeof(LINK_PREFIX) - 1);
	}
	closedir(d);
}

/* ---- loading ----------------------------------------------------------------------- */

/* drop_stale_pins - a map pinned by an older lbd with another layout
 * cannot be reused: remove its pin (its entries are lost; said once). */
static void drop_stale_pins(struct bpf_object *obj)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj)
	{
		struct bpf_map_info info;
		uint32_t len = sizeof(info);
		char path[320];
		int fd;

		if (!bpf_map__pin_path(m))
			continue;
		snprintf(path, sizeof(path), "%s", bpf_map__pin_path(m));
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    (info.type != bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
		     info.value_size != bpf_map__value_size(m) ||
		     info.max_entries != bpf_map__max_entries(m) ||
		     info.map_flags != bpf_map__map_flags(m))) {
			log_warn("pinned map %s has another layout (an older lbd): replaced", path);
			unlink(path);
		}
		close(fd);
	}
}

/* load - a new skeleton with CFG's SYN budget, on the maps of OLD (or the
 * pinned ones). NULL with -errno in *RC. */
static struct guard_bpf *load(const struct cfg *cfg, struct guard_bpf *old, int *rc)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir[0] ? pin_dir : NULL);
	libbpf_print_fn_t prev = libbpf_set_print(quiet_print);
	struct guard_bpf *s = guard_bpf__open_opts(&opts);

	*rc = 0;
	if (!s) {
		*rc = -errno;
		goto out;
	}
	s->rodata->syn_rate = cfg->xdp_syn_rate;
	s->rodata->syn_burst = cfg->xdp_syn_burst;
	if (!pin_dir[0]) {
		/* bpf_pin_path off: without a pin_root_path libbpf pins the
		 * LIBBPF_PIN_BY_NAME maps under /sys/fs/bpf itself, shared by
		 * every lbd started with "off" (bans leaked from one to the
		 * next); no pinning at all is what "off" means */
		struct bpf_map *m;

		bpf_object__for_each_map(m, s->obj)
		{
			bpf_map__set_pin_path(m, NULL);
		}
	}
	if (old && !pin_dir[0]) {
		/* unpinned maps live in the old object: share them */
		struct bpf_map *m, *om;

		bpf_object__for_each_map(m, s->obj)
		{
			om = bpf_object__find_map_by_name(old->obj, bpf_map__name(m));
			if (om && !bpf_map__is_internal(m))
				bpf_map__reuse_fd(m, bpf_map__fd(om));
		}
	}
	if (pin_dir[0])
		drop_stale_pins(s->obj);
	*rc = guard_bpf__load(s);
	if (*rc) {
		guard_bpf__destroy(s);
		s = NULL;
	}
out:
	libbpf_set_print(prev);
	return s;
}

static void sync_allow(const struct cfg *cfg)
{
	int fd4 = bpf_map__fd(skel->maps.lb_allow4), fd6 = bpf_map__fd(skel->maps.lb_allow6);
	struct lb_lpm4_key k4, n4;
	struct lb_lpm6_key k6, n6;
	__u32 one = 1, kept = 0;

	/* add first, then remove what left the configuration: an address in
	 * both lists is never unprotected in between */
	for (int i = 0; i < cfg->nxdp_allow; i++) {
		if (ban_cidr_key(&cfg->xdp_allow[i], &k4, &k6))
			bpf_map_update_elem(fd4, &k4, &one, BPF_ANY);
		else
			bpf_map_update_elem(fd6, &k6, &one, BPF_ANY);
	}
	for (int pass = 0; pass < 2; pass++) {
		int fd = pass ? fd6 : fd4;
		void *k = pass ? (void *)&k6 : (void *)&k4, *nk = pass ? (void *)&n6 : (void *)&n4;
		size_t ks = pass ? sizeof(k6) : sizeof(k4);

		if (bpf_map_get_next_key(fd, NULL, k))
			continue;
		for (bool more = true; more; memcpy(k, nk, ks)) {
			struct ban_cidr c;
			bool keep = false;

			more = bpf_map_get_next_key(fd, k, nk) == 0;
			if (pass)
				ban_cidr_of_key6(&k6, &c);
			else
				ban_cidr_of_key4(&k4, &c);
			for (int i = 0; i < cfg->nxdp_allow && !keep; i++)
				keep = cfg->xdp_allow[i].plen == c.plen &&
				       memcmp(cfg->xdp_allow[i].addr, c.addr, 16) == 0;
			if (!keep)
				bpf_map_delete_elem(fd, k);
			else
				kept++;
		}
	}
	/* the program skips the allow lookups while this is 0 */
	skel->bss->allow_count = kept;
}

void guard_apply(const struct cfg *cfg)
{
	bool dir_changed = strcmp(pin_dir, cfg->bpf_pin_path ? cfg->bpf_pin_path : "") != 0;
	struct guard_bpf *old = NULL;
	int rc;

	ban_set_allow(cfg->xdp_allow, cfg->nxdp_allow);
	if (skel && dir_changed)
		log_warn("bpf_pin_path changed: the XDP guard keeps %s until a restart",
			 pin_dir[0] ? pin_dir : "unpinned maps");
	if (!skel) {
		snprintf(pin_dir, sizeof(pin_dir), "%s",
			 cfg->bpf_pin_path ? cfg->bpf_pin_path : "");
		if (pin_dir[0] && (rc = bpfmaps_ensure_dir(pin_dir))) {
			log_warn("cannot use %s (%d: %s): guard maps are not pinned", pin_dir, -rc,
				 strerror(-rc));
			pin_dir[0] = '\0';
		}
	}
	if (!skel || skel_rate != cfg->xdp_syn_rate || skel_burst != cfg->xdp_syn_burst) {
		struct guard_bpf *s = load(cfg, skel, &rc);

		if (!s) {
			if (!skel) {
				if (rc != load_err)
					log_warn(
						"XDP guard not loaded (%d: %s): bans are enforced at accept time%s",
						-rc, strerror(-rc),
						cfg->nxdp_ifs
							? ", xdp_attach and xdp_syn_limit do nothing"
							: "");
				load_err = rc;
				ban_use_maps(-1, -1);
				goto file;
			}
			log_err("XDP guard: loading the new program failed (%d: %s): the old one stays",
				-rc, strerror(-rc));
		} else {
			old = skel;
			skel = s;
			skel_rate = cfg->xdp_syn_rate;
			skel_burst = cfg->xdp_syn_burst;
			load_err = 0;
			if (!old) {
				ban_use_maps(bpf_map__fd(skel->maps.lb_ban4),
					     bpf_map__fd(skel->maps.lb_ban6));
				log_notice("XDP guard loaded, maps %s",
					   pin_dir[0] ? pin_dir : "unpinned");
			}
		}
	}
	sync_allow(cfg);
	/* interfaces: keep the ones still configured (and their links) */
	{
		struct gif next[GUARD_MAX_IFS];
		int nn = 0;

		for (int i = 0; i < cfg->nxdp_ifs && nn < GUARD_MAX_IFS; i++) {
			struct gif *g = &next[nn++];
			int j;

			memset(g, 0, sizeof(*g));
			g->link_fd = -1;
			for (j = 0; j < nifs; j++)
				if (strcmp(ifs[j].name, cfg->xdp_ifs[i].name) == 0)
					break;
			if (j < nifs) {
				*g = ifs[j];
				ifs[j].link_fd = -1; /* moved */
				if (g->mode != cfg->xdp_ifs[i].mode && g->link_fd >= 0)
					drop_link(g, true); /* mode changed: attach anew */
			}
			snprintf(g->name, sizeof(g->name), "%.15s", cfg->xdp_ifs[i].name);
			g->mode = cfg->xdp_ifs[i].mode;
		}
		for (int j = 0; j < nifs; j++)
			if (ifs[j].link_fd >= 0) {
				drop_link(&ifs[j], true);
				log_notice("XDP guard detached from %s", ifs[j].name);
			}
		memcpy(ifs, next, sizeof(next));
		nifs = nn;
	}
	if (nifs)
		nl_open();
	for (int i = 0; i < nifs; i++)
		ensure(&ifs[i]);
	sweep_pins();
	if (old)
		guard_bpf__destroy(old); /* the links hold the new program */
file:
	ban_set_file(cfg->ban_file, cfg->nban_file);
}

void guard_nl_run(void)
{
	if (!nl_ev)
		return;
	while (nl_recvmsgs_default(nl_ev) >= 0)
		;
	if (nl_dirty && skel)
		for (int i = 0; i < nifs; i++)
			ensure(&ifs[i]);
	nl_dirty = false;
}

void guard_tick(void)
{
	ban_expire();
	if (!skel)
		return;
	for (int i = 0; i < nifs; i++) {
		struct gif *g = &ifs[i];

		/* a link whose interface went away reads ifindex 0 */
		if (g->link_fd < 0 || link_ifindex(g->link_fd, NULL) != g->ifindex)
			ensure(g);
	}
}

int guard_stats(uint64_t out[LB_XDP_NREASONS])
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	uint64_t *v;

	memset(out, 0, sizeof(uint64_t) * LB_XDP_NREASONS);
	if (!skel)
		return -ENOENT;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	fd = bpf_map__fd(skel->maps.lb_xdp_stats);
	for (uint32_t r = 0; r < LB_XDP_NREASONS; r++) {
		if (bpf_map_lookup_elem(fd, &r, v))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[r] += v[c];
	}
	free(v);
	return 0;
}

int guard_ifs(struct guard_if *out, int max)
{
	int n = 0;

	for (int i = 0; i < nifs && n < max; i++, n++) {
		struct gif *g = &ifs[i];
		uint32_t pid = 0;

		memset(&out[n], 0, sizeof(out[n]));
		snprintf(out[n].name, sizeof(out[n].name), "%.15s", g->name);
		out[n].ifindex = g->ifindex;
		out[n].mode = "-";
		if (g->link_fd >= 0 && link_ifindex(g->link_fd, &pid) == g->ifindex && pid) {
			out[n].prog_id = pid;
			out[n].mode =
				g->attached_flags == XDP_FLAGS_DRV_MODE ? "native" : "generic";
		}
		snprintf(out[n].error, sizeof(out[n].error), "%s",
			 skel ? g->error : "XDP guard not loaded");
	}
	return n;
}

void guard_describe(char *buf, size_t len)
{
	size_t off;
	int up = 0;

	if (!skel) {
		snprintf(buf, len, "no BPF: bans enforced at accept time");
		return;
	}
	for (int i = 0; i < nifs; i++)
		up += ifs[i].link_fd >= 0;
	off = (size_t)snprintf(buf, len, "XDP guard loaded, attached to %d of %d interface%s", up,
			       nifs, nifs == 1 ? "" : "s");
	if (skel_rate && off < len)
		snprintf(buf + off, len - off, ", SYN limit %.3g/s burst %u", skel_rate / 1000.0,
			 skel_burst);
}

void guard_close(void)
{
	for (int i = 0; i < nifs; i++)
		if (ifs[i].link_fd >= 0)
			close(ifs[i].link_fd); /* pinned: stays attached */
	nifs = 0;
	ban_use_maps(-1, -1);
	guard_bpf__destroy(skel);
	skel = NULL;
	if (nl_ev)
		nl_socket_free(nl_ev);
	if (nl_q)
		nl_socket_free(nl_q);
	nl_ev = nl_q = NULL;
}
