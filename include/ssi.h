/* SPDX-License-Identifier: MIT */
/*
 * Server-side includes (nginx's ngx_http_ssi_module) at run time: the
 * streaming parser of `<!--# command param="value" ... -->` (pure, for
 * the unit tests and the fuzz target) and the commands run on one main
 * answer's body (echo, set, if/elif/else/endif, config, block/endblock,
 * include). The body flows through embed.c, which feeds it here piece by
 * piece and writes what comes out; an `include` hands it a URI to run as
 * a subrequest at that point of the answer.
 */
#ifndef LBD_SSI_H
#define LBD_SSI_H

#include <stdbool.h>
#include <stddef.h>

#include "lbd.h"
#include "log.h"
#include "ssi-t.h"

struct conn;
struct pool;
struct ssi_ctx;

/* enum ssi_ev - what ssi_parse found. */
enum ssi_ev {
	SSI_EV_MORE = 0, /* the input is used up; nothing to pass on */
	SSI_EV_TEXT,	 /* *text is body text to pass on */
	SSI_EV_CMD,	 /* a whole command: p->command and p->params */
	SSI_EV_ERR,	 /* a broken command, skipped through its "-->" */
};

/* ssi_parser_init - P ready for a body, values up to VALUE_MAX bytes in
 * STORE (SSI_MAX_PARAMS + 1 times VALUE_MAX + 1 bytes). */
void ssi_parser_init(struct ssi_parser *p, char *store, size_t value_max);

/* ssi_parse - the next event of IN[0..N) for P: *used bytes of IN are
 * consumed (possibly 0 when the state changed, e.g. text held from an
 * earlier call is given back). A TEXT event's *text points into IN or to
 * a constant ("<!--" matched in an earlier call and then not a command).
 * P->err is set to nginx's error message when one arises (the caller
 * logs it and clears it). Bytes of an unfinished command at the end of a
 * body are never given back (nginx drops them too). */
enum ssi_ev ssi_parse(struct ssi_parser *p, const char *in, size_t n, size_t *used,
		      struct lstr *text);

/* enum ssi_act - what ssi_next asks of its caller. */
enum ssi_act {
	SSI_ACT_MORE = 0, /* the input is used up */
	SSI_ACT_OUT,	  /* write act->out (points into the input or the pool) */
	SSI_ACT_INCLUDE,  /* run act->uri?act->args as a subrequest here */
	SSI_ACT_NOMEM,	  /* out of memory: the answer cannot go on */
};

/* struct ssi_action - ssi_next's request. */
struct ssi_action {
	struct lstr out;  /* OUT: bytes to write */
	struct lstr uri;  /* INCLUDE: the subrequest's URI (pool) */
	struct lstr args; /* and its arguments */
	int stub;	  /* INCLUDE: the stub block's number, -1 none */
	bool set;	  /* INCLUDE with set=: the body goes into ctx's variable */
};

/* ssi_begin - an SSI context for the body of C's answer (the main
 * request's or a subrequest's), with C's location's settings L, all its
 * memory from POOL (the main request's). SHARED: the run's first context,
 * whose variables, blocks and captures this one uses (nginx keeps them in
 * the main request), or NULL. NULL: out of memory. */
struct ssi_ctx *ssi_begin(struct conn *c, struct pool *pool, const struct ssi_loc *l,
			  struct ssi_ctx *shared);

/* ssi_rebind - X's request closed (a subrequest whose SSI output is not
 * all written): variables and log lines from C (the main request) now. */
void ssi_rebind(struct ssi_ctx *x, struct conn *c);

/* ssi_log_context - what X's error-log lines add after the message, as
 * nginx's: " while " and *ACTION (the connection's current action, owned
 * by the caller; NULL or *ACTION NULL: none), and UPSTREAM ("http://
 * PEER/URI" of a proxied answer, kept by the caller; NULL none). */
void ssi_log_context(struct ssi_ctx *x, const char *const *action, const char *upstream);

/* ssi_log - an error-log line about a command of X's body, with X's
 * log context (see ssi_log_context). */
void ssi_log(const struct ssi_ctx *x, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ssi_error_out - what a failed command writes: errmsg, or nothing with
 * ssi_silent_errors. */
struct lstr ssi_error_out(const struct ssi_ctx *x);

/* ssi_types_ok - CT (NULL none) is in L's ssi_types. */
bool ssi_types_ok(const struct ssi_loc *l, struct lstr ct);

/* ssi_next - the next step of the body IN[0..N): *used bytes consumed,
 * and what to do. Runs the commands (logging their errors as nginx). */
enum ssi_act ssi_next(struct ssi_ctx *x, const char *in, size_t n, size_t *used,
		      struct ssi_action *act);

/* ssi_stub - the text of stub block K (recorded between block and
 * endblock), to be parsed as body text. */
struct lstr ssi_stub(const struct ssi_ctx *x, int k);

/* ssi_set_value - the body V (pool) of an `include ... set=` subrequest
 * goes into its variable. */
void ssi_set_value(struct ssi_ctx *x, struct lstr v);

/* ssi_parser_reset - after a stub's text: back to plain text. */
void ssi_parser_reset(struct ssi_ctx *x);

/* ssi_applies - C's main answer of STATUS and type CT (NULL none), of
 * LENGTH bytes (-1 unknown) goes through SSI (ssi on, ssi_types). */
bool ssi_applies(const struct conn *c, int status, struct lstr ct, long long length);

#endif
