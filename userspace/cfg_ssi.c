/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, server-side includes (nginx's
 * ngx_http_ssi_module): ssi_types (text/html always matches, `*` any) and
 * the merge of ssi, ssi_silent_errors, ssi_last_modified,
 * ssi_value_length, ssi_min_file_chunk and ssi_ignore_recycled_buffers
 * down the levels with nginx's defaults. The flags and sizes are set by
 * cfg.c's generic setters; the request side is ssi.c and embed.c.
 */
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"

void cfg_ssi_init(struct ssi_loc *s)
{
	memset(s, 0, sizeof(*s));
	s->on = CFG_UNSET;
	s->silent_errors = CFG_UNSET;
	s->last_modified = CFG_UNSET;
	s->ignore_recycled = CFG_UNSET;
	s->value_len = CFG_UNSET;
	s->min_file_chunk = CFG_UNSET;
}

int cfg_set_ssi_types(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct ssi_loc *a = &s->loc->ssi;

	(void)d;
	a->types_set = true; /* a second line adds to the list, as nginx */
	return cfg_types_list(b, n, &a->types, &a->ntypes, &a->types_any);
}

#define MERGE(f, def) ((s)->f = (s)->f != CFG_UNSET ? (s)->f : p ? p->f : (def))

void cfg_ssi_merge(struct ssi_loc *s, const struct ssi_loc *p)
{
	MERGE(on, 0);
	MERGE(silent_errors, 0);
	MERGE(last_modified, 0);
	MERGE(ignore_recycled, 0);
	MERGE(value_len, SSI_VALUE_LEN);
	MERGE(min_file_chunk, SSI_MIN_FILE_CHK);
	if (!s->types_set && p) {
		s->types = p->types;
		s->ntypes = p->ntypes;
		s->types_any = p->types_any;
	}
}
