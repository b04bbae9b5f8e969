/* SPDX-License-Identifier: MIT */
/*
 * Kernel feature detection. Loads the probe object (bpf/probe.bpf.c,
 * through its generated skeleton) into the running kernel and reads what
 * the kernel advertises for TLS; nothing is attached or left behind.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "kfeat.h"
#include "skel/probe.skel.h"

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

static bool ulp_has_tls(void)
{
	char buf[256] = "";
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
	bool tls;

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	tls = strstr(buf, "tls") != NULL;
	return tls;
}

bool features_ktls(void)
{
	return ulp_has_tls();
}

void features_detect(struct features *f)
{
	libbpf_print_fn_t old = libbpf_set_print(quiet_print);
	struct probe_bpf *skel;
	int err;

	memset(f, 0, sizeof(*f));
	f->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	f->ktls = ulp_has_tls();
	skel = probe_bpf__open();
	if (!skel) {
		snprintf(f->why, sizeof(f->why), "cannot open the probe object (%d: %s)", errno,
			 strerror(errno));
		goto out;
	}
	err = probe_bpf__load(skel);
	if (err) {
		snprintf(f->why, sizeof(f->why), "the kernel refused the probe programs (%d: %s)",
			 -err, strerror(-err));
	} else {
		f->bpf = true;
		f->xdp = bpf_program__fd(skel->progs.lb_probe_xdp) >= 0;
		f->sockmap = bpf_program__fd(skel->progs.lb_probe_verdict) >= 0 &&
			     bpf_map__fd(skel->maps.lb_probe_sockhash) >= 0;
	}
	probe_bpf__destroy(skel);
out:
	libbpf_set_print(old);
}

void features_print(FILE *out)
{
	struct features f;

	features_detect(&f);
	fprintf(out, "kernel features:\n");
	fprintf(out, "  BPF:      %s%s%s\n", f.bpf ? "yes" : "no", f.bpf ? "" : " - ",
		f.bpf ? "" : f.why);
	fprintf(out, "  BTF:      %s\n", f.btf ? "yes" : "no");
	fprintf(out, "  XDP:      %s\n", f.xdp ? "yes" : "no");
	fprintf(out, "  sockmap:  %s\n", f.sockmap ? "yes" : "no");
	fprintf(out, "  kTLS:     %s\n", f.ktls ? "yes" : "no (the userspace TLS path is used)");
	fprintf(out, "  reuseport: yes\n");
}
