/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, split_clients: `split_clients STRING $variable {
 * PERCENT VALUE; ... * VALUE; }` in http, with nginx's readings (two
 * decimals at most, `*` for the rest) and errors (`invalid percent value`,
 * `percent total is greater than 100%` at the block's "}"). Each part's
 * bound is the running total scaled to 32 bits as nginx scales it. The
 * variable was made by the maps' pre-pass; split.c evaluates it.
 */
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"
#include "split.h"

/* cfg_split_block - the lines of split_clients block N into a new split
 * *OUT (http's and stream's alike). 0 or -1. */
int cfg_split_block(struct build *b, struct cfg_node *n, struct split **out)
{
	struct split *sp;
	uint64_t last = 0;
	uint32_t sum = 0;

	sp = pool_zalloc(b->pool, sizeof(*sp));
	if (!sp)
		return cfg_fail(b, n, "out of memory");
	for (size_t i = 0; i < n->nchildren; i++) {
		struct cfg_node *c = &n->children[i];
		struct split_part *part = PUSH(b, sp->parts, sp->nparts);
		int64_t pct = 0;

		if (!part)
			return cfg_fail(b, c, "out of memory");
		if (c->block)
			return cfg_fail(b, c, "invalid percent value \"%s\"", c->name);
		if (strcmp(c->name, "*") != 0 && (pct = split_percent(c->name)) < 0)
			return cfg_fail(b, c, "invalid percent value \"%s\"", c->name);
		/* nginx takes the word after the percentage, or none */
		part->value = lstr_c(c->nargs ? pool_strdup(b->pool, c->args[0]) : "");
		if (!part->value.p)
			return cfg_fail(b, c, "out of memory");
		sum = pct ? sum + (uint32_t)pct : 10000;
		if (sum > 10000) {
			struct cfg_node end = {.file = n->file, .line = n->close_line};

			return cfg_fail(b, &end, "percent total is greater than 100%%");
		}
		if (pct) {
			last += (uint64_t)pct * 0xffffffffULL / 10000;
			part->upto = (uint32_t)last;
		}
	}
	*out = sp;
	return 0;
}

int cfg_set_split_clients(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct cfg_map *m;

	(void)d;
	m = cfg_map_declared(b, n, s, n->args[1]);
	if (!m)
		return -1;
	if (cfg_compile(b, n, n->args[0], &m->src))
		return -1;
	return cfg_split_block(b, n, &m->split);
}
