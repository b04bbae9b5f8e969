/* SPDX-License-Identifier: MIT */
/*
 * sockmap splicing: the verdict program's life and its map operations
 * (see include/ksplice.h and bpf/splice.bpf.c). Maps are pinned by name
 * under bpf_pin_path so bpftool shows the streams; a restarted lbd creates
 * fresh ones (spliced sockets live only while their lbd holds them).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpfmaps.h"
#include "ksplice.h"
#include "log.h"
#include "skel/splice.skel.h"

static struct splice_bpf *skel;
static int fd_sock = -1, fd_peer = -1, fd_stream = -1, fd_ctl = -1;
static char why[160] = "not loaded";
static _Atomic uint32_t next_id;
static bool seq_ok; /* the program follows TCP sequences (bpf_cast_to_kern_ctx) */

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

/* pin_all - show this process's maps under DIR (replacing a previous
 * lbd's pins: spliced sockets live only while their lbd holds them). The
 * maps are created private first, never reused through the pins: two lbd
 * starting at once must not share streams. */
static void pin_all(const char *dir)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, skel->obj)
	{
		char path[512];

		if (bpf_map__is_internal(m))
			continue;
		int rc;

		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(m));
		if ((rc = bpfmaps_pin(bpf_map__fd(m), path)))
			log_warn("cannot pin %s (%d: %s): bpftool will not show it", path, -rc,
				 strerror(-rc));
	}
}

int ksplice_init(const char *pin_dir)
{
	libbpf_print_fn_t prev;
	struct bpf_map *m;
	int rc;

	if (skel)
		return 0;
	prev = libbpf_set_print(quiet_print);
	skel = splice_bpf__open();
	if (skel)
		bpf_object__for_each_map(m, skel->obj) bpf_map__set_pin_path(m, NULL);
	rc = skel ? splice_bpf__load(skel) : -errno;
	libbpf_set_print(prev);
	if (rc) {
		snprintf(why, sizeof(why), "sockmap program not loaded (%d: %s)", -rc,
			 strerror(-rc));
		splice_bpf__destroy(skel);
		skel = NULL;
		return rc < 0 ? rc : -EINVAL;
	}
	fd_sock = bpf_map__fd(skel->maps.lb_splice);
	fd_peer = bpf_map__fd(skel->maps.lb_splice_peer);
	fd_stream = bpf_map__fd(skel->maps.lb_streams);
	fd_ctl = bpf_map__fd(skel->maps.lb_stream_ctl);
	/* the verdict must be attached before any socket enters the map */
	if (bpf_prog_attach(bpf_program__fd(skel->progs.lb_splice_verdict), fd_sock,
			    BPF_SK_SKB_STREAM_VERDICT, 0)) {
		rc = -errno;
		snprintf(why, sizeof(why), "attaching the sockmap verdict failed (%d: %s)", -rc,
			 strerror(-rc));
		splice_bpf__destroy(skel);
		skel = NULL;
		return rc;
	}
	if (pin_dir && bpfmaps_ensure_dir(pin_dir) == 0)
		pin_all(pin_dir);
	/* the program's weak kfunc resolved iff the kernel has it */
	{
		struct btf *vb = btf__load_vmlinux_btf();

		seq_ok =
			vb && btf__find_by_name_kind(vb, "bpf_cast_to_kern_ctx", BTF_KIND_FUNC) > 0;
		btf__free(vb);
	}
	why[0] = '\0';
	return 0;
}

bool ksplice_follows_seq(void)
{
	return seq_ok;
}

bool ksplice_ready(void)
{
	return skel != NULL;
}

const char *ksplice_why(void)
{
	return why;
}

uint32_t ksplice_next_id(void)
{
	return atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed) + 1;
}

static int cookie_of(int fd, uint64_t *out)
{
	socklen_t len = sizeof(*out);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, out, &len) == -1 ? -errno : 0;
}

int ksplice_open(uint32_t id, int cfd, int ufd, const struct lb_stream_ctl *ctl,
		 uint64_t cookies[2])
{
	struct lb_stream st = {.paused = {1, 1}};
	struct lb_splice_peer pc, pu;
	int rc;

	if (!skel)
		return -ENOTSUP;
	if ((rc = cookie_of(cfd, &cookies[0])) || (rc = cookie_of(ufd, &cookies[1])))
		return rc;
	/* the client receives the upstream-bound bytes (UP) and vice versa */
	pc = (struct lb_splice_peer){.peer = cookies[1], .stream = id, .dir = LB_SPLICE_UP};
	pu = (struct lb_splice_peer){.peer = cookies[0], .stream = id, .dir = LB_SPLICE_DOWN};
	/* state before sockets: the program finds everything it needs, and
	 * both directions start paused (lbd resumes them) */
	if (bpf_map_update_elem(fd_ctl, &id, ctl, BPF_ANY) ||
	    bpf_map_update_elem(fd_stream, &id, &st, BPF_ANY) ||
	    bpf_map_update_elem(fd_peer, &cookies[0], &pc, BPF_ANY) ||
	    bpf_map_update_elem(fd_peer, &cookies[1], &pu, BPF_ANY)) {
		rc = -errno;
		goto fail;
	}
	/* the map's values are 8 bytes: the fd, widened */
	if (bpf_map_update_elem(fd_sock, &cookies[0], &(uint64_t){(uint64_t)cfd}, BPF_NOEXIST) ||
	    bpf_map_update_elem(fd_sock, &cookies[1], &(uint64_t){(uint64_t)ufd}, BPF_NOEXIST)) {
		rc = -errno;
		goto fail;
	}
	return 0;
fail:
	ksplice_close(id, cookies);
	return rc;
}

int ksplice_set_ctl(uint32_t id, const struct lb_stream_ctl *ctl)
{
	return bpf_map_update_elem(fd_ctl, &id, ctl, BPF_EXIST) ? -errno : 0;
}

int ksplice_get(uint32_t id, struct lb_stream *out)
{
	return bpf_map_lookup_elem(fd_stream, &id, out) ? -errno : 0;
}

void ksplice_close(uint32_t id, const uint64_t cookies[2])
{
	if (!skel)
		return;
	for (int i = 0; i < 2; i++) {
		bpf_map_delete_elem(fd_sock, &cookies[i]);
		bpf_map_delete_elem(fd_peer, &cookies[i]);
	}
	bpf_map_delete_elem(fd_stream, &id);
	bpf_map_delete_elem(fd_ctl, &id);
}
