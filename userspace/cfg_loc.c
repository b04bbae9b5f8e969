/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, what a level does with a request: static files
 * (root, alias, try_files, expires, types), the rewrite module (return,
 * rewrite, break, set; `if` is cfg_if.c's), error_page, stub_status and
 * lbd_metrics, internal, allow and deny (whose rule parser stream uses
 * too), and keepalive_timeout. The table that points here is in cfg.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "pool.h"
#include "var.h"

#include "cfg_int.h"

/* ---- static files ---------------------------------------------------------- */

int cfg_set_root(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	bool alias = strcmp(n->name, "alias") == 0;

	(void)d;
	if (s->loc->root)
		return cfg_fail(
			b, n,
			"\"%s\" directive is duplicate, \"%s\" directive was specified earlier",
			n->name, s->loc->root_is_alias == 1 ? "alias" : "root");
	if (alias && s->loc->match == LOC_NAMED)
		return cfg_fail(b, n,
				"\"alias\" directive cannot be used inside the named location");
	s->loc->root = pool_zalloc(b->pool, sizeof(struct cval));
	if (!s->loc->root)
		return cfg_fail(b, n, "out of memory");
	s->loc->root_is_alias = alias;
	const char *p = n->args[0];

	if (p[0] != '/' && p[0] != '$')
		p = cfg_full_path(b, b->cfg->prefix, p);
	return cfg_compile(b, n, p, s->loc->root);
}

int cfg_set_try_files(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	if (s->loc->try_files)
		return cfg_fail(b, n, "\"try_files\" directive is duplicate");
	s->loc->try_files = pool_zalloc(b->pool, n->nargs * sizeof(struct cval));
	if (!s->loc->try_files)
		return cfg_fail(b, n, "out of memory");
	s->loc->ntry_files = (int)n->nargs;
	for (size_t i = 0; i < n->nargs; i++)
		if (cfg_compile(b, n, n->args[i], &s->loc->try_files[i]))
			return -1;
	return 0;
}

int cfg_expires_parse(const char *a, int *mode, int64_t *secs)
{
	int64_t ms;
	bool neg = false;

	if (strcmp(a, "off") == 0) {
		*mode = 4;
		return 0;
	}
	if (strcmp(a, "epoch") == 0) {
		*mode = 2;
		return 0;
	}
	if (strcmp(a, "max") == 0) {
		*mode = 3;
		return 0;
	}
	if (a[0] == '@') {
		/* a time of day: seconds after midnight, under a day */
		if (cfg_parse_time(a + 1, &ms) || ms >= 86400000)
			return -EINVAL;
		*mode = 7;
		*secs = ms / 1000;
		return 0;
	}
	if (a[0] == '+')
		a++;
	else if (a[0] == '-')
		neg = true, a++;
	if (cfg_parse_time(a, &ms))
		return -EINVAL;
	*mode = 1;
	*secs = (neg ? -ms : ms) / 1000;
	return 0;
}

int cfg_set_expires(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	if (strchr(n->args[0], '$')) {
		/* nginx: a value with variables is evaluated per response
		 * (the `map $sent_http_content_type $expires` idiom) */
		s->loc->expires_var = pool_zalloc(b->pool, sizeof(*s->loc->expires_var));
		if (!s->loc->expires_var)
			return cfg_fail(b, n, "out of memory");
		s->loc->expires_mode = 5;
		return cfg_compile(b, n, n->args[0], s->loc->expires_var);
	}
	const char *a = n->args[n->nargs - 1];

	if (n->nargs == 2) {
		/* `expires modified TIME`: from the answer's Last-Modified */
		if (strcmp(n->args[0], "modified") != 0)
			return cfg_fail(b, n, "\"expires\" directive invalid value");
		if (a[0] == '@')
			return cfg_fail(b, n,
					"\"expires\" directive daily time cannot be used with "
					"\"modified\" parameter");
		if (cfg_expires_parse(a, &s->loc->expires_mode, &s->loc->expires) ||
		    s->loc->expires_mode != 1)
			return cfg_fail(b, n, "\"expires\" directive invalid value");
		s->loc->expires_mode = 6;
		return 0;
	}
	if (cfg_expires_parse(a, &s->loc->expires_mode, &s->loc->expires)) {
		int64_t ms;

		if (a[0] == '@' && cfg_parse_time(a + 1, &ms) == 0)
			return cfg_fail(b, n,
					"\"expires\" directive daily time value must be less "
					"than 24 hours");
		return cfg_fail(b, n, "\"expires\" directive invalid value");
	}
	return 0;
}

int cfg_set_types(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct mime_types *mt = pool_zalloc(b->pool, sizeof(*mt));

	(void)d;
	if (!mt)
		return cfg_fail(b, n, "out of memory");
	for (size_t i = 0; i < n->nchildren; i++) {
		struct cfg_node *c = &n->children[i];

		if (c->block)
			return cfg_fail(b, c, "unexpected \"{\"");
		for (size_t k = 0; k < c->nargs; k++) {
			struct mime_type *t = PUSH(b, mt->v, mt->n);

			if (!t)
				return cfg_fail(b, c, "out of memory");
			t->type = pool_strdup(b->pool, c->name);
			t->ext = pool_strdup(b->pool, c->args[k]);
			for (char *p = t->ext; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		}
	}
	s->loc->types = mt;
	return 0;
}

/* ---- rewrite module --------------------------------------------------------- */

static struct rewrite *add_rewrite(struct build *b, struct cfg_node *n, struct scope *s,
				   enum rw_kind k)
{
	struct rewrite *r = PUSH(b, s->loc->rewrites, s->loc->nrewrites);

	if (!r) {
		cfg_fail(b, n, "out of memory");
		return NULL;
	}
	r->kind = k;
	r->file = n->file;
	r->line = n->line;
	return r;
}

int cfg_set_return(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct rewrite *r = add_rewrite(b, n, s, RW_RETURN);
	char *end;
	long code;

	(void)d;
	if (!r)
		return -1;
	code = strtol(n->args[0], &end, 10);
	if (*end || end == n->args[0]) {
		if (n->nargs != 1 || (strncmp(n->args[0], "http://", 7) &&
				      strncmp(n->args[0], "https://", 8) && n->args[0][0] != '$'))
			return cfg_fail(b, n, "invalid return code \"%s\"", n->args[0]);
		r->code = 302;
		return cfg_compile(b, n, n->args[0], &r->repl);
	}
	if (code < 0 || code > 999)
		return cfg_fail(b, n, "invalid return code \"%s\"", n->args[0]);
	r->code = (int)code;
	if (n->nargs == 2 && cfg_compile(b, n, n->args[1], &r->repl))
		return -1;
	if (s->loc->is_location || s->ctx & C_SRV)
		s->loc->has_return = true;
	return 0;
}

int cfg_set_rewrite(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct rewrite *r = add_rewrite(b, n, s, RW_REWRITE);

	(void)d;
	if (!r)
		return -1;
	r->re = cfg_compile_re(b, n, n->args[0], false);
	r->re_src = pool_strdup(b->pool, n->args[0]);
	if (!r->re || !r->re_src || cfg_compile(b, n, n->args[1], &r->repl))
		return -1;
	if (n->nargs == 3) {
		const char *f = n->args[2];

		if (strcmp(f, "last") == 0)
			r->flag = RW_F_LAST;
		else if (strcmp(f, "break") == 0)
			r->flag = RW_F_BREAK;
		else if (strcmp(f, "redirect") == 0)
			r->flag = RW_F_REDIRECT;
		else if (strcmp(f, "permanent") == 0)
			r->flag = RW_F_PERMANENT;
		else
			return cfg_fail(b, n, "invalid parameter \"%s\"", f);
	}
	return 0;
}

int cfg_set_break(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	return add_rewrite(b, n, s, RW_BREAK) ? 0 : -1;
}

int cfg_set_set(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct rewrite *r = add_rewrite(b, n, s, RW_SET);

	(void)d;
	if (!r)
		return -1;
	if (n->args[0][0] != '$')
		return cfg_fail(b, n, "invalid variable name \"%s\"", n->args[0]);
	if (var_builtin_index(n->args[0] + 1, strlen(n->args[0] + 1)) >= 0 &&
	    strcmp(n->args[0] + 1, "limit_rate") != 0) /* the one settable (ratelimit.c) */
		return cfg_fail(b, n, "the duplicate \"%s\" variable", n->args[0] + 1);
	r->code = 0;
	r->flag = RW_F_NONE;
	/* The variable name goes in repl.raw; the value is compiled. */
	if (cfg_compile(b, n, n->args[1], &r->repl))
		return -1;
	r->repl.raw = pool_strdup(b->pool, n->args[0] + 1);
	/* a map's variable: its value for the request (nginx's `set` fills
	 * the variable's cache), found here rather than by name per request */
	if (strcmp(n->args[0] + 1, "limit_rate") != 0) /* the request's own, first */
		r->map = map_find(b->cv.maps, n->args[0] + 1, strlen(n->args[0] + 1));
	return 0;
}

int cfg_set_error_page(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	size_t last = n->nargs - 1, ncodes = last;
	int overwrite = 0;

	(void)d;
	if (n->nargs < 2)
		return cfg_fail(b, n, "invalid number of arguments in \"error_page\" directive");
	if (n->args[last - 1][0] == '=') {
		const char *o = n->args[last - 1] + 1;

		overwrite = *o ? atoi(o) : -1;
		ncodes--;
	}
	if (!s->loc->error_pages_set) {
		s->loc->error_pages = NULL;
		s->loc->nerror_pages = 0;
	}
	s->loc->error_pages_set = true;
	for (size_t i = 0; i < ncodes; i++) {
		char *end;
		long code = strtol(n->args[i], &end, 10);
		struct error_page *ep;

		if (*end || code < 300 || code > 599)
			return cfg_fail(b, n, "value \"%s\" must be between 300 and 599",
					n->args[i]);
		ep = PUSH(b, s->loc->error_pages, s->loc->nerror_pages);
		if (!ep)
			return cfg_fail(b, n, "out of memory");
		ep->status = (int)code;
		ep->overwrite = overwrite;
		if (cfg_compile(b, n, n->args[last], &ep->uri))
			return -1;
	}
	return 0;
}

/* stub_status [on] / lbd_metrics: content handlers of lbd itself. */
int cfg_set_status_page(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	if (n->nargs == 1 && strcmp(n->args[0], "on") != 0)
		return cfg_fail(b, n, "invalid parameter \"%s\"", n->args[0]);
	if (strcmp(n->name, "stub_status") == 0)
		s->loc->stub_status = true;
	else
		s->loc->lbd_metrics = true;
	return 0;
}

int cfg_set_internal(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)b, (void)n, (void)d;
	s->loc->internal = true;
	return 0;
}

/* cfg_access_add - an allow/deny rule N (the directive's name says which)
 * appended to *RULES (*NRULES entries), for http and stream alike. */
int cfg_access_add(struct build *b, struct cfg_node *n, struct access_rule **rules, int *nrules)
{
	struct access_rule *r;
	const char *a = n->args[0];
	char addr[64];
	const char *slash;
	int bits = -1;

	r = PUSH(b, *rules, *nrules);
	if (!r)
		return cfg_fail(b, n, "out of memory");
	r->deny = strcmp(n->name, "deny") == 0;
	if (strcmp(a, "all") == 0) {
		r->all = true;
		return 0;
	}
	if (strcmp(a, "unix:") == 0) {
		r->family = AF_UNIX;
		return 0;
	}
	slash = strchr(a, '/');
	snprintf(addr, sizeof(addr), "%.*s", slash ? (int)(slash - a) : (int)strlen(a), a);
	if (slash) {
		char *end;

		bits = (int)strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1)
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
	}
	if (inet_pton(AF_INET, addr, r->addr) == 1) {
		r->family = AF_INET;
		if (bits < 0)
			bits = 32;
		if (bits > 32)
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
	} else if (inet_pton(AF_INET6, addr, r->addr) == 1) {
		r->family = AF_INET6;
		if (bits < 0)
			bits = 128;
		if (bits > 128)
			return cfg_fail(b, n, "invalid parameter \"%s\"", a);
	} else {
		return cfg_fail(b, n, "invalid parameter \"%s\"", a);
	}
	for (int i = 0; i < 16; i++) {
		int k = bits - i * 8;

		r->mask[i] = k >= 8 ? 0xff : k <= 0 ? 0 : (uint8_t)(0xff << (8 - k));
		if ((r->addr[i] & ~r->mask[i]) != 0) {
			cfg_warn(n, "low address bits of %s are meaningless", a);
			r->addr[i] &= r->mask[i];
		}
	}
	return 0;
}

int cfg_set_access(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	(void)d;
	s->loc->access_set = true;
	return cfg_access_add(b, n, &s->loc->access, &s->loc->naccess);
}

int cfg_set_keepalive_timeout(struct build *b, struct cfg_node *n, struct scope *s,
			      const struct dir *d)
{
	(void)d;
	if (cfg_parse_time(n->args[0], &s->loc->keepalive_timeout))
		return cfg_fail(b, n, "invalid value \"%s\"", n->args[0]);
	return 0;
}
