/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, compression: the directives of nginx's gzip
 * filter, its gzip_static module and the gzip_* directives of its core
 * module (gzip_vary, gzip_proxied, gzip_disable, gzip_http_version), with
 * nginx's contexts, defaults, checks and messages, and the merge down the
 * levels. The table that points here is in cfg.c.
 *
 * gzip_disable regexes are compiled into the configuration's pool (a
 * pcre2 general context over it), so they go with the generation and
 * need no release of their own.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cfg.h"
#include "cfg_int.h"

static struct gzip_loc *gz_base(struct scope *s)
{
	return &s->loc->gzip;
}

void cfg_gzip_init(struct gzip_loc *g)
{
	memset(g, 0, sizeof(*g));
	g->enable = CFG_UNSET;
	g->comp_level = CFG_UNSET;
	g->vary = CFG_UNSET;
	g->proxied = CFG_UNSET;
	g->http_version = CFG_UNSET;
	g->min_length = CFG_UNSET;
	g->buffers_num = CFG_UNSET;
	g->buffers_size = CFG_UNSET;
	g->static_mode = CFG_UNSET;
	g->wbits = CFG_UNSET;
	g->mem_level = CFG_UNSET;
	g->postpone = CFG_UNSET;
	g->no_buffer = CFG_UNSET;
	g->msie6 = CFG_UNSET;
	g->gunzip = CFG_UNSET;
	g->gunzip_num = CFG_UNSET;
	g->gunzip_size = CFG_UNSET;
}

void cfg_gzip_merge(struct gzip_loc *g, const struct gzip_loc *p)
{
#define GZ_MERGE(f, def)                         \
	do {                                     \
		if (g->f == CFG_UNSET)           \
			g->f = p ? p->f : (def); \
	} while (0)
	GZ_MERGE(enable, 0);
	GZ_MERGE(comp_level, 1);
	GZ_MERGE(vary, 0);
	GZ_MERGE(proxied, GZ_PROXIED_OFF);
	GZ_MERGE(http_version, 11);
	GZ_MERGE(min_length, 20);
	GZ_MERGE(buffers_num, 32); /* nginx: 32 4k (one page) */
	GZ_MERGE(buffers_size, 4096);
	GZ_MERGE(static_mode, GZ_STATIC_OFF);
	GZ_MERGE(wbits, 15);	/* gzip_window 32k */
	GZ_MERGE(mem_level, 8); /* gzip_hash 64k */
	GZ_MERGE(postpone, 0);
	GZ_MERGE(no_buffer, 0);
	GZ_MERGE(msie6, 0);
	GZ_MERGE(gunzip, 0);
	GZ_MERGE(gunzip_num, 32); /* nginx: 32 4k (one page), as gzip_buffers */
	GZ_MERGE(gunzip_size, 4096);
#undef GZ_MERGE
	if (!g->types_set && p) {
		g->types = p->types;
		g->ntypes = p->ntypes;
		g->types_any = p->types_any;
	}
	if (!g->disable_set && p) {
		g->disable = p->disable;
		g->ndisable = p->ndisable;
	}
}

int cfg_set_gzip_level(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct gzip_loc *g = gz_base(s);
	char *end;
	long v;

	(void)d;
	if (g->comp_level != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	v = strtol(n->args[0], &end, 10);
	if (!n->args[0][0] || *end || n->args[0][0] == '-' || n->args[0][0] == '+')
		return cfg_fail(b, n, "\"%s\" directive invalid number", n->name);
	if (v < 1 || v > 9)
		return cfg_fail(b, n, "value must be between 1 and 9");
	g->comp_level = (int)v;
	return 0;
}

/* cfg_set_gzip_zlib - `gzip_window SIZE` (512..32k) and `gzip_hash SIZE`
 * (512..128k), each a power of two, read as nginx reads them: zlib's
 * windowBits (512 is 9, 32k is 15) and memLevel (512 is 1, 128k is 9). */
int cfg_set_gzip_zlib(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct gzip_loc *g = gz_base(s);
	bool window = strcmp(n->name, "gzip_window") == 0;
	int *f = window ? &g->wbits : &g->mem_level;
	int64_t v;
	int bits = 0;

	(void)d;
	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (cfg_parse_size(n->args[0], &v))
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	while (bits < 30 && ((int64_t)512 << bits) < v)
		bits++;
	if (((int64_t)512 << bits) != v || bits > (window ? 6 : 8))
		return cfg_fail(b, n,
				window ? "\"gzip_window\" directive must be 512, 1k, 2k, 4k, 8k, "
					 "16k, or 32k"
				       : "\"gzip_hash\" directive must be 512, 1k, 2k, 4k, 8k, "
					 "16k, 32k, 64k, or 128k");
	*f = window ? 9 + bits : 1 + bits;
	return 0;
}

/* enum_arg - NAME among NAMES[] (index) for an nginx enum slot. */
static int enum_arg(struct build *b, struct cfg_node *n, int *f, const char *const *names,
		    int nnames)
{
	if (*f != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	for (int i = 0; i < nnames; i++) {
		if (strcasecmp(n->args[0], names[i]) == 0) {
			*f = i;
			return 0;
		}
	}
	return cfg_fail(b, n, "invalid value \"%s\"", n->args[0]);
}

int cfg_set_gzip_http_version(struct build *b, struct cfg_node *n, struct scope *s,
			      const struct dir *d)
{
	static const char *const names[] = {"1.0", "1.1"};
	struct gzip_loc *g = gz_base(s);

	(void)d;
	if (enum_arg(b, n, &g->http_version, names, 2))
		return -1;
	g->http_version += 10;
	return 0;
}

int cfg_set_gzip_static(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	/* index = enum gzip_static_mode */
	static const char *const names[] = {"off", "on", "always"};

	(void)d;
	return enum_arg(b, n, &gz_base(s)->static_mode, names, 3);
}

int cfg_set_gzip_proxied(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	static const struct {
		const char *name;
		int bit;
	} words[] = {
		{"off", GZ_PROXIED_OFF},	   {"expired", GZ_PROXIED_EXPIRED},
		{"no-cache", GZ_PROXIED_NO_CACHE}, {"no-store", GZ_PROXIED_NO_STORE},
		{"private", GZ_PROXIED_PRIVATE},   {"no_last_modified", GZ_PROXIED_NO_LM},
		{"no_etag", GZ_PROXIED_NO_ETAG},   {"auth", GZ_PROXIED_AUTH},
		{"any", GZ_PROXIED_ANY},
	};
	struct gzip_loc *g = gz_base(s);

	(void)d;
	if (g->proxied == CFG_UNSET)
		g->proxied = 0;
	for (size_t i = 0; i < n->nargs; i++) {
		size_t k = 0;

		while (k < ARRAY_SIZE(words) && strcasecmp(n->args[i], words[k].name) != 0)
			k++;
		if (k == ARRAY_SIZE(words))
			return cfg_fail(b, n, "invalid value \"%s\"", n->args[i]);
		if (g->proxied & words[k].bit)
			cfg_warn(n, "duplicate value \"%s\"", n->args[i]);
		g->proxied |= words[k].bit;
	}
	return 0;
}

/* bufs_arg - nginx's ngx_conf_set_bufs_slot: NUM SIZE into *num, *size. */
static int bufs_arg(struct build *b, struct cfg_node *n, int *num, int64_t *size)
{
	int64_t sz;
	char *end;
	long v;

	if (*num != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	v = strtol(n->args[0], &end, 10);
	if (!n->args[0][0] || *end || v < 1 || v > 65536 || cfg_parse_size(n->args[1], &sz) ||
	    sz < 1)
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	*num = (int)v;
	*size = sz;
	return 0;
}

int cfg_set_gzip_buffers(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct gzip_loc *g = gz_base(s);

	(void)d;
	return bufs_arg(b, n, &g->buffers_num, &g->buffers_size);
}

int cfg_set_gunzip_buffers(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	struct gzip_loc *g = gz_base(s);

	(void)d;
	return bufs_arg(b, n, &g->gunzip_num, &g->gunzip_size);
}

int cfg_types_add(struct build *b, struct cfg_node *n, char ***types, int *ntypes, const char *t)
{
	char **slot, *low;

	for (int k = 0; k < *ntypes; k++) {
		if (strcasecmp((*types)[k], t) == 0) {
			cfg_warn(n, "duplicate MIME type \"%s\"", t);
			return 0;
		}
	}
	low = pool_strdup(b->pool, t);
	slot = PUSH(b, *types, *ntypes);
	if (!low || !slot)
		return cfg_fail(b, n, "out of memory");
	for (char *p = low; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	*slot = low;
	return 0;
}

int cfg_types_list(struct build *b, struct cfg_node *n, char ***types, int *ntypes, bool *any)
{
	for (size_t i = 0; i < n->nargs && !*any; i++) {
		const char *t = n->args[i];

		if (strcmp(t, "*") == 0) {
			*any = true;
			break;
		}
		if (cfg_types_add(b, n, types, ntypes, t))
			return -1;
	}
	return 0;
}

int cfg_set_gzip_types(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct gzip_loc *g = gz_base(s);

	(void)d;
	g->types_set = true;
	return cfg_types_list(b, n, &g->types, &g->ntypes, &g->types_any);
}

static void *pool_malloc(PCRE2_SIZE n, void *pool)
{
	return pool_alloc(pool, n);
}

static void pool_free(void *p, void *pool)
{
	(void)p, (void)pool; /* freed with the generation */
}

int cfg_set_gzip_disable(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct gzip_loc *g = gz_base(s);
	pcre2_general_context *gc = NULL;
	pcre2_compile_context *cc = NULL;

	(void)d;
	g->disable_set = true; /* even msie6 alone: nginx then drops the inherited regexes */
	for (size_t i = 0; i < n->nargs; i++) {
		const char *re = n->args[i];
		PCRE2_SIZE off;
		pcre2_code *code;
		void **slot;
		int err;

		if (strcmp(re, "msie6") == 0) {
			g->msie6 = 1;
			continue;
		}
		if (strcmp(re, "degradation") == 0)
			continue; /* nginx: only on FreeBSD with a worker state lbd lacks */
		if (!gc) {
			gc = pcre2_general_context_create(pool_malloc, pool_free, b->pool);
			cc = gc ? pcre2_compile_context_create(gc) : NULL;
			if (!cc)
				return cfg_fail(b, n, "out of memory");
		}
		code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_CASELESS, &err,
				     &off, cc);
		if (!code) {
			PCRE2_UCHAR msg[256];

			pcre2_get_error_message(err, msg, sizeof(msg));
			if (off < strlen(re))
				return cfg_fail(b, n,
						"pcre2_compile() failed: %s in \"%s\" at \"%s\"",
						msg, re, re + off);
			return cfg_fail(b, n, "pcre2_compile() failed: %s in \"%s\"", msg, re);
		}
		slot = PUSH(b, g->disable, g->ndisable);
		if (!slot)
			return cfg_fail(b, n, "out of memory");
		*slot = code;
	}
	return 0;
}
