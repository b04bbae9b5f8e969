/* SPDX-License-Identifier: MIT */
/*
 * Variables and complex values: compile "$scheme://$host$request_uri"
 * once at configuration time into parts, evaluate them per request into
 * the request pool, with the prefix variables and captures (var_cval.c);
 * the builtin variables (var.c). Also `map` evaluation (var_map.c).
 */
#ifndef LBD_VAR_H
#define LBD_VAR_H

#include <stddef.h>

#include "http-t.h"
#include "lbd.h"
#include "pool.h"
#include "var-t.h"

/*
 * struct cval_ctx - what cval_compile needs from the configuration being
 * built: the pool to allocate from, and the maps (bound by name). Names that
 * are neither builtin, prefix, capture nor map variables compile as
 * CVAL_NAMED and are recorded in unresolved[] so the configuration can check
 * them once it is complete (`set` variables and named captures may be
 * defined later in the file, as in nginx).
 */
struct cval_ctx {
	struct pool *pool;	       /* allocations of this configuration */
	struct cfg_map *maps;	       /* maps known (all of them: a pre-pass collects them) */
	struct cval_part **unresolved; /* CVAL_NAMED parts to check later */
	int nunresolved, capunresolved;
	const char *file; /* for messages */
	int line;
	bool body_file_used; /* $request_body_file was compiled (SSI's echo looks
			      * it up by name at run time: reqbody.c names the
			      * file under ssi on for that) */
};

/* cval_compile - compile TEXT (nginx syntax: $name, ${name}, $1..$9; a '$'
 * not followed by a name char is literal) into *out. Returns 0, or -EINVAL
 * with a message in err (e.g. `invalid variable name "..."`), -ENOMEM. */
int cval_compile(struct cval_ctx *ctx, const char *text, struct cval *out, char *err,
		 size_t errlen);

/* cval_eval - evaluate CV for the request on C. *out points into the
 * request pool (or into the configuration for a literal). Returns 0 or
 * -ENOMEM. An unset variable evaluates to the empty string. */
int cval_eval(const struct cval *cv, struct conn *c, struct lstr *out);

/* var_builtin_index - index of a builtin variable by name (without '$'),
 * or -1. var_prefix_index - for $http_ $arg_ $cookie_ $sent_http_
 * $upstream_http_ names: the prefix kind, with *suffix set. */
int var_builtin_index(const char *name, size_t len);
int var_prefix_index(const char *name, size_t len, size_t *suffix_off);

/* var_get_by_name - value of any variable by name (used by `if`, maps,
 * logs). Returns 0 and *out, or -ENOENT. */
int var_get_by_name(struct conn *c, const char *name, size_t len, struct lstr *out);

/* var_cookie_line - cookie NAME (LEN bytes, case ignored) of C's request,
 * as $cookie_NAME finds it, and the Cookie header line it is in (for
 * messages, as nginx's userid module logs it). 0 (found) or
 * VAR_NOT_FOUND. */
int var_cookie_line(struct conn *c, const char *name, size_t len, struct lstr *out,
		    struct lstr *line);

/* map_eval - value of a map for this request (kept for the rest of it
 * unless the map is `volatile`, as nginx keeps it). */
int map_eval(const struct cfg_map *m, struct conn *c, struct lstr *out);
/* map_set - `set $NAME VAL` when NAME[0..LEN) is a map, geo or
 * split_clients variable of the request on C: VAL (copied) is then its
 * value for the rest of the request (a `volatile` map's too), as nginx's
 * `set` fills the variable's cache. False when NAME is no such variable. */
bool map_set(struct conn *c, const char *name, size_t len, struct lstr val);
/* map_find - the map, geo or split_clients block of MAPS defining
 * NAME[0..LEN), or NULL (a `set` finds its map once, at load). */
const struct cfg_map *map_find(const struct cfg_map *maps, const char *name, size_t len);
/* map_set_value - map_set on M itself. */
bool map_set_value(struct conn *c, const struct cfg_map *m, struct lstr val);

/* map_match - the entry of M matching KEY[0..LEN) by map's rules (exact
 * keys without case, `hostnames` forms, then regexes), or NULL (default).
 * For stream maps, which have no request: captures are not kept. */
const struct map_entry *map_match(const struct cfg_map *m, const char *key, size_t len);

/* map_captures - right after map_match returned the regex entry E: its
 * captures $0..$(n-1) as offsets into the key, OV[2i] and OV[2i+1]
 * (SIZE_MAX both for a group that matched nothing), at most MAX. Returns
 * n (0 for an exact entry or NULL). */
int map_captures(const struct map_entry *e, size_t *ov, int max);

/* Prefix kinds of CVAL_PREFIX parts (cval_part.idx); str holds the NAME. */
enum var_prefix {
	VAR_PFX_HTTP = 0,	  /* $http_NAME: request header */
	VAR_PFX_ARG,		  /* $arg_NAME: query-string argument */
	VAR_PFX_COOKIE,		  /* $cookie_NAME: request cookie */
	VAR_PFX_SENT_HTTP,	  /* $sent_http_NAME (not supported yet) */
	VAR_PFX_UPSTREAM_HTTP,	  /* $upstream_http_NAME (not supported yet) */
	VAR_PFX_UPSTREAM_COOKIE,  /* $upstream_cookie_NAME (not supported yet) */
	VAR_PFX_UPSTREAM_TRAILER, /* $upstream_trailer_NAME (not supported yet) */
};

/* cval_part_eval's "not found" result: nginx's not_found flag. The value is
 * empty; the access log writes it as "-" (escape=default). */
#define VAR_NOT_FOUND 1

/* cval_part_eval - value of one part for the request on C. Returns 0 (found),
 * VAR_NOT_FOUND (*out is empty) or -ENOMEM. Values point into the request
 * pool, the input buffer, the configuration or static memory: all valid
 * until the request ends. */
int cval_part_eval(const struct cval_part *p, struct conn *c, struct lstr *out);

/* cval_resolve - bind variable NAME (len bytes, without '$'; any case: nginx
 * variable names are case-insensitive) into *p, which must be at its final
 * address (CVAL_NAMED parts are recorded in ctx->unresolved). Order as
 * nginx: builtin, map, prefix, else named. Returns 0, -EINVAL (message in
 * err: `variable "$sent_http_x" is not supported yet`) or -ENOMEM. */
int cval_resolve(struct cval_ctx *ctx, const char *name, size_t len, struct cval_part *p, char *err,
		 size_t errlen);

/* map_add_entry - add one `KEY VALUE;` line to map M, as ngx_http_map does:
 * `default`, `~re` / `~*re` regex keys (tried in order, after exact keys),
 * a leading '\' escaping the first character, exact keys matched without
 * case, and with M->hostnames set (set it before adding the keys it
 * governs, as nginx reads the block in order) the forms "*.example.com",
 * ".example.com" and "www.example.*". The entry arrays of M must only be
 * grown through this function. Returns 0, -EINVAL with nginx's message in
 * err ("duplicate default map parameter", "conflicting parameter \"k\"",
 * "invalid hostname or wildcard \"k\"", "pcre2_compile() failed: ...")
 * or -ENOMEM. Regex keys are pcre2_code * in m->regex[i].re, released with
 * pcre2_code_free(). */
int map_add_entry(struct cval_ctx *ctx, struct cfg_map *m, const char *key, const char *value,
		  char *err, size_t errlen);

/* var_regex_compile - compile PATTERN with PCRE2 (and its JIT when there is
 * one) into *out, a pcre2_code * to release with pcre2_code_free(). Returns
 * 0, -ENOMEM, or -EINVAL with nginx's message in err: `pcre2_compile()
 * failed: MSG in "RE" at "REST"` (without ` at ...` when the error is at
 * the end of RE). */
int var_regex_compile(const char *pattern, bool caseless, void **out, char *err, size_t errlen);

/* var_regex_exec - match RE (from var_regex_compile) against s[0..len) and,
 * on a match, make it the request's last match ($1..$9 and named
 * captures), as ngx_http_regex_exec does. s must stay valid for the whole
 * request (pool, input buffer or configuration memory). Returns 1 on a
 * match, 0 on none, -ENOMEM or -EINVAL (matching error). */
int var_regex_exec(struct conn *c, void *re, const char *s, size_t len);

/* var_regex_has_name - whether RE has a named group NAME (case ignored, as
 * the variable it defines): for checking cval_ctx.unresolved. */
bool var_regex_has_name(const void *re, const char *name, size_t len);

/* var_time_set - tests only: make "now" WALL (wall clock) and MONO_US
 * (monotonic, as lbd_now_us) for $time_local, $msec, $request_time...;
 * NULL restores the real clocks. Not thread-safe. */
void var_time_set(const struct timespec *wall, int64_t mono_us);

/* Set once a configuration uses $sent_http_* / $upstream_http_* or
 * $upstream_cookie_*: requests then keep a copy of the response head
 * sent (http_out.c) and of the upstream's (proxy.c) for them. */
extern bool var_wants_sent_head;
extern bool var_wants_upstream_head;

#endif
