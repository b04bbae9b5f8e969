/* SPDX-License-Identifier: MIT */
/*
 * Kernel feature detection: the probe object really loads into this
 * kernel. The test suite runs as root on a kernel with BPF (see README);
 * without either, this test fails and says why rather than passing.
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "kfeat.h"

Test(kfeat, probe_loads_into_the_running_kernel)
{
	struct features f;

	features_detect(&f);
	cr_assert(f.btf, "no /sys/kernel/btf/vmlinux");
	cr_assert(f.bpf, "BPF probe did not load: %s (uid %d)", f.why, (int)getuid());
	cr_expect(f.xdp);
	cr_expect(f.sockmap);
}

Test(kfeat, print_lists_every_feature)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	features_print(f);
	fclose(f);
	cr_expect(strstr(buf, "XDP:") != NULL);
	cr_expect(strstr(buf, "sockmap:") != NULL);
	cr_expect(strstr(buf, "kTLS:") != NULL);
	free(buf);
}
