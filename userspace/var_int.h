/* SPDX-License-Identifier: MIT */
/*
 * Private to variables (var.c, var_cval.c, var_map.c): the builtin table's
 * entry, the small helpers every part uses, and the functions one part
 * calls in another. Each function's comment is at its definition. Not for
 * other modules: their interface is var.h.
 */
#ifndef LBD_VAR_INT_H
#define LBD_VAR_INT_H

#include <stdbool.h>
#include <stddef.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "http.h"
#include "var.h"

#define VAR_FOUND 0

static const struct lstr var_empty = {"", 0};

typedef int (*var_get_fn)(struct conn *c, struct lstr *out);

/* struct var_def - one builtin variable: its name and its getter. */
struct var_def {
	const char *name; /* lowercase, without '$' */
	var_get_fn get;	  /* fills *out; VAR_FOUND, VAR_NOT_FOUND or -ENOMEM */
};

/* small helpers of every part */
static inline char var_lower(char ch)
{
	return (ch >= 'A' && ch <= 'Z') ? (char)(ch | 0x20) : ch;
}

static inline bool var_name_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

static inline struct lstr var_h1(struct h1_str s)
{
	return (struct lstr){s.p ? s.p : "", s.len};
}

static inline int var_set(struct lstr *out, const char *p, size_t len)
{
	out->p = p;
	out->len = len;
	return VAR_FOUND;
}

/* var.c */
/* VAR_NBUILTINS - the entries of var_builtins: a constant, so that the
 * bounds check on the request path (var_cval.c) is one compare with an
 * immediate. var.c does not compile with a table of another size: add one
 * here with each new variable. */
#define VAR_NBUILTINS 104
extern const struct var_def var_builtins[];

/* var_cval.c */
const struct h1_header *var_hdr_next(const struct conn *c, size_t *i, const char *name);
int var_hdr_joined(struct conn *c, struct lstr *out, const char *name, char sep);
pcre2_match_data *var_match_data(void);

/* var_hdr_first - the first kept header named NAME (case ignored), or NULL. */
static inline const struct h1_header *var_hdr_first(const struct conn *c, const char *name)
{
	size_t i = 0;

	return var_hdr_next(c, &i, name);
}

/* var_hdr_value - the value of the first kept header named NAME. */
static inline int var_hdr_value(struct conn *c, struct lstr *out, const char *name)
{
	const struct h1_header *h = var_hdr_first(c, name);

	if (!h)
		return VAR_NOT_FOUND;
	*out = var_h1(h->value);
	return VAR_FOUND;
}

#endif
