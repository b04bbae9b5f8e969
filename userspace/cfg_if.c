/* SPDX-License-Identifier: MIT */
/*
 * The rewrite module's `if (CONDITION) { ... }`: the condition parser,
 * with nginx's reading of the parenthesised words and its error texts, and
 * the block. The block's steps are a rewrite list of their own (struct
 * rw_if.body), run in place of the `if` step when the condition holds
 * (http_route.c). In a location the block is also nginx's nameless nested
 * location: a struct cfg_loc merged from the enclosing one (cfg_merge.c), which
 * the request takes when the condition holds; in a server it only holds
 * the steps, as nginx allows only the rewrite directives there (C_SIF).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "cfg_int.h"
#include "pool.h"
#include "var.h"

/* struct word - one word of the condition, as the parser trims it. */
struct word {
	const char *p;
	size_t len;
};

static int bad_cond(struct build *b, struct cfg_node *n, const struct word *w)
{
	return cfg_fail(b, n, "invalid condition \"%.*s\"", (int)w->len, w->p);
}

/* compile_word - W (a copy, NUL-terminated) compiled as a complex value. */
static int compile_word(struct build *b, struct cfg_node *n, const struct word *w, struct cval *out)
{
	char *t = pool_strndup(b->pool, w->p, w->len);

	if (!t)
		return cfg_fail(b, n, "out of memory");
	return cfg_compile(b, n, t, out);
}

static int compile_regex(struct build *b, struct cfg_node *n, const struct word *w, bool caseless,
			 struct rw_if *f)
{
	char *t = pool_strndup(b->pool, w->p, w->len);
	char err[512];
	int rc;

	if (!t)
		return cfg_fail(b, n, "out of memory");
	f->re_src = t;
	rc = var_regex_compile(t, caseless, &f->re, err, sizeof(err));
	if (rc == -ENOMEM)
		return cfg_fail(b, n, "out of memory");
	return rc ? cfg_fail(b, n, "%s", err) : 0;
}

/*
 * if_condition - read N's words into F as ngx_http_rewrite_if_condition
 * does: "(" may be a word of its own or start the first one, ")" may end
 * the last one or stand alone (after a quoted word nginx's lexer splits it
 * off); then `$var`, `$var OP value` or `-f value` and their `!` forms.
 * Returns 0, or -1 with nginx's message (`invalid condition "..."`,
 * `unexpected "..." in condition`, a regex or variable error).
 */
static int if_condition(struct build *b, struct cfg_node *n, struct rw_if *f)
{
	struct word *v = pool_alloc(b->pool, (n->nargs + 1) * sizeof(*v));
	size_t last = n->nargs, cur;
	const char *p;
	size_t len;
	char err[256];

	if (!v)
		return cfg_fail(b, n, "out of memory");
	/* v[1..last] are nginx's value[1..last]: the words after "if" */
	for (size_t i = 0; i < n->nargs; i++)
		v[i + 1] = (struct word){n->args[i], strlen(n->args[i])};
	if (v[1].len < 1 || v[1].p[0] != '(')
		return bad_cond(b, n, &v[1]);
	if (v[1].len == 1) {
		cur = 2;
	} else {
		cur = 1;
		v[1].p++;
		v[1].len--;
	}
	if (v[last].len < 1 || v[last].p[v[last].len - 1] != ')')
		return bad_cond(b, n, &v[last]);
	if (v[last].len == 1)
		last--;
	else
		v[last].len--;

	p = v[cur].p;
	len = v[cur].len;
	if (len > 1 && p[0] == '$') {
		if (cur != last && cur + 2 != last)
			return bad_cond(b, n, &v[cur]);
		if (cval_resolve(&b->cv, p + 1, len - 1, &f->var, err, sizeof(err)))
			return cfg_fail(b, n, "%s", err);
		if (cur == last) {
			f->op = RWIF_VAR;
			return 0;
		}
		cur++;
		p = v[cur].p;
		len = v[cur].len;
		if ((len == 1 && p[0] == '=') || (len == 2 && p[0] == '!' && p[1] == '=')) {
			f->op = RWIF_EQ;
			f->neg = p[0] == '!';
			return compile_word(b, n, &v[last], &f->val);
		}
		if ((len == 1 && p[0] == '~') || (len == 2 && p[0] == '~' && p[1] == '*') ||
		    (len == 2 && p[0] == '!' && p[1] == '~') ||
		    (len == 3 && p[0] == '!' && p[1] == '~' && p[2] == '*')) {
			f->op = RWIF_RE;
			f->neg = p[0] == '!';
			return compile_regex(b, n, &v[last], p[len - 1] == '*', f);
		}
		return cfg_fail(b, n, "unexpected \"%.*s\" in condition", (int)len, p);
	}
	if ((len == 2 && p[0] == '-') || (len == 3 && p[0] == '!' && p[1] == '-')) {
		char op = p[len - 1];

		if (cur + 1 != last)
			return bad_cond(b, n, &v[cur]);
		if (compile_word(b, n, &v[last], &f->val))
			return -1;
		if (op != 'f' && op != 'd' && op != 'e' && op != 'x')
			return bad_cond(b, n, &v[cur]);
		f->op = RWIF_FILE;
		f->neg = p[0] == '!';
		f->ftest = op;
		return 0;
	}
	return bad_cond(b, n, &v[cur]);
}

int cfg_set_if(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct rw_if *f = pool_zalloc(b->pool, sizeof(*f));
	struct cfg_loc *in = pool_zalloc(b->pool, sizeof(*in));
	struct scope sub = *s;
	struct rewrite *r;

	(void)d;
	if (!f || !in)
		return cfg_fail(b, n, "out of memory");
	cfg_loc_init(in);
	f->body = in;
	r = PUSH(b, s->loc->rewrites, s->loc->nrewrites);
	if (!r)
		return cfg_fail(b, n, "out of memory");
	/* listed before the condition is read: a regex compiled for it is
	 * released with the (half-built) configuration */
	r->kind = RW_IF;
	r->cond = f;
	r->file = n->file;
	r->line = n->line;
	in->parent = s->loc;
	in->srv = s->srv;
	in->file = n->file;
	in->line = n->line;
	if (s->loc->is_location) {
		/* nginx names the nested location as the enclosing one: a
		 * proxy_pass URI and alias replace the same prefix */
		f->in_location = true;
		in->is_location = true;
		in->match = s->loc->match;
		in->pattern = s->loc->pattern;
		in->patlen = s->loc->patlen;
		sub.ctx = C_IF;
	} else {
		sub.ctx = C_SIF;
	}
	if (if_condition(b, n, f))
		return -1;
	sub.loc = in;
	return cfg_block(b, n, &sub);
}
