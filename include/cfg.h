/* SPDX-License-Identifier: MIT */
/*
 * Configuration: directive tables applied to the syntax tree, nginx's
 * merging, and the life of a configuration generation.
 */
#ifndef LBD_CFG_H
#define LBD_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cfg-t.h"

/* struct cfg_opts - what the command line says. */
struct cfg_opts {
	const char *conf_file;	/* -c (absolute or relative to prefix) */
	const char *prefix;	/* -p, ends with '/' */
	const char *directives; /* -g */
};

/* cfg_load - parse and build a configuration generation. Returns it with
 * one reference, or NULL with the nginx-style message ("... in FILE:LINE")
 * in err. Warnings go to the error log. */
struct cfg *cfg_load(const struct cfg_opts *o, char *err, size_t errlen);
void cfg_ref(struct cfg *c);
void cfg_unref(struct cfg *c);
void cfg_dump(const struct cfg *c, FILE *out);
/* cfg_worker_cpus - worker_cpu_affinity: the CPUs (a bit each, CPU 0 the
 * lowest) worker I of C is bound to, as nginx picks them; 0 = unbound. */
uint64_t cfg_worker_cpus(const struct cfg *c, int i);

/* cfg_parse_time - nginx time ("30s", "1m", "500ms", "1h30m", bare = s)
 * to ms; cfg_parse_size - "8k", "1m", "10M", bare bytes. -EINVAL. */
int cfg_parse_time(const char *s, int64_t *ms);
/* cfg_expires_parse - an `expires` value A ("off", "epoch", "max",
 * [+-]TIME, "@TIME") into *MODE (1 relative, 2 epoch, 3 max, 4 off, 7 a
 * time of day) and *SECS; 0, or -EINVAL. (`expires modified TIME`, mode 6,
 * is the directive's two-argument form only, as nginx.) */
int cfg_expires_parse(const char *a, int *mode, int64_t *secs);

/* cfg_expires_sets - whether expires MODE writes Expires/Cache-Control. */
static inline int cfg_expires_sets(int mode)
{
	return (mode >= 1 && mode <= 3) || mode == 6 || mode == 7;
}
int cfg_parse_size(const char *s, int64_t *bytes);

#endif
