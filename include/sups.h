/* SPDX-License-Identifier: MIT */
/*
 * Stream upstreams as first-class citizens of the operations tools: the one
 * view of every upstream group of a configuration (http{} groups first,
 * then stream{} ones) that the control socket, the metrics page, the
 * health checker and the reload carry-over walk; the `stream:NAME` /
 * `http:NAME` words that tell two groups of the same name apart; and the
 * stream session counters (totals, and bytes per upstream server) that
 * stream.c bumps at a session's start and end.
 *
 * Names: nginx allows `upstream app` in http{} and in stream{} at once. A
 * control-socket word `stream:app` means the stream group, `http:app` the
 * http one, and a bare `app` the http group when there is one (what it
 * meant before stream groups were listed), else the stream group.
 */
#ifndef LBD_SUPS_H
#define LBD_SUPS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ups-t.h"

struct cfg;

/* Which kind of upstream a name word asks for. */
enum sups_kind {
	SUPS_ANY = 0, /* a bare name: http first, then stream */
	SUPS_HTTP,    /* "http:NAME" */
	SUPS_STREAM,  /* "stream:NAME" */
};

/* struct sups_totals - stream sessions of the process, all workers. */
struct sups_totals {
	_Atomic uint64_t accepted; /* sessions accepted (taken by a worker) */
	_Atomic int64_t active;	   /* sessions open now */
};

extern struct sups_totals sups_totals;

/* sups_ngroups - upstream groups of CFG, http and stream together (implicit
 * ones included). CFG may be NULL (0). */
int sups_ngroups(const struct cfg *cfg);

/* sups_group_at - the I-th of them: CFG's http groups in order, then its
 * stream groups; NULL when I is out of range. */
struct ups_group *sups_group_at(const struct cfg *cfg, int i);

/* sups_kind_name - "stream" for a group of stream{}, else "http". */
const char *sups_kind_name(const struct ups_group *g);

/* sups_parse_name - split a name word: "stream:NAME" and "http:NAME" set
 * *KIND and return NAME (a pointer into WORD); any other word is a bare
 * name (SUPS_ANY) returned whole. */
const char *sups_parse_name(const char *word, enum sups_kind *kind);

/*
 * sups_find - the group a control-socket word names (see the file comment):
 * "stream:NAME" the stream group, "http:NAME" the http one, a bare NAME the
 * http group if there is one, else the stream group. Implicit groups (named
 * by their address) are found too. NULL when none matches or CFG is NULL.
 */
struct ups_group *sups_find(const struct cfg *cfg, const char *word);

/* sups_twin - the group of CFG of the same kind, name and implicitness as
 * G (a reload pairs old and new groups with it), or NULL. */
struct ups_group *sups_twin(const struct cfg *cfg, const struct ups_group *g);

/* sups_match - whether the `upstream list WORD` filter selects G: same kind
 * when WORD has a prefix, any kind for a bare name. */
bool sups_match(const struct ups_group *g, const char *word);

/* sups_session_open - a worker took a stream session (stream.c). */
void sups_session_open(void);

/*
 * sups_session_close - the session ends: one session less open, and when it
 * had a server (US, else NULL), UP bytes sent to it and DOWN bytes received
 * from it are added to the server's totals. Relaxed atomics: any worker.
 */
void sups_session_close(struct ups_server *us, uint64_t up, uint64_t down);

#endif
