/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the whole configuration loader (cfg_load): the
 * reader, every directive table and setter, merging and the checks after
 * it. Each input is written to nginx.conf in a scratch directory (the
 * prefix) and loaded; a success is dumped and released, an error must carry
 * a message. Loading may open log files anywhere the text says and resolve
 * host names, so the target runs sandboxed (tests/fuzz/fz_util.h): writes
 * only under the scratch directory, no network. The scratch directory is
 * emptied after each input, so a file one input created can't change how
 * the next one loads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "fz_util.h"

static char fz_dir[64];	 /* scratch directory: the prefix */
static char fz_conf[96]; /* fz_dir/nginx.conf */
static FILE *fz_null;	 /* /dev/null, opened before the sandbox */

static int fz_rm_below(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

/* fz_reset - the scratch directory back to holding only logs/. */
static void fz_reset(void)
{
	char logs[96];

	nftw(fz_dir, fz_rm_below, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(logs, sizeof(logs), "%s/logs", fz_dir);
	fz_check(mkdir(logs, 0755) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_scratch("cfgload", fz_dir, sizeof(fz_dir));
	snprintf(fz_conf, sizeof(fz_conf), "%s/nginx.conf", fz_dir);
	fz_null = fopen("/dev/null", "w");
	fz_check(fz_null);
	fz_sandbox(fz_dir, *argc, *argv);
	fz_reset();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_opts o = {.conf_file = fz_conf};
	char prefix[80], err[1024];
	struct cfg *cfg;
	FILE *f;

	f = fopen(fz_conf, "w");
	fz_check(f);
	fz_check(fwrite(data, 1, size, f) == size);
	fz_check(fclose(f) == 0);
	snprintf(prefix, sizeof(prefix), "%s/", fz_dir);
	o.prefix = prefix;
	err[0] = '\0';
	cfg = cfg_load(&o, err, sizeof(err));
	if (cfg) {
		cfg_dump(cfg, fz_null);
		cfg_unref(cfg);
	} else {
		fz_check(err[0] && memchr(err, '\0', sizeof(err)));
	}
	fz_reset();
	return 0;
}
