/* SPDX-License-Identifier: MIT */
/*
 * Stream upstreams in the operations tools (see include/sups.h): one walk
 * over the http and stream groups of a configuration, the `stream:`/`http:`
 * name prefixes, and the stream session counters. Nothing here takes a
 * lock: the walk reads the immutable configuration, the counters are
 * relaxed atomics bumped by the workers.
 */
#include <string.h>

#include "cfg.h"
#include "stream.h"
#include "sups.h"

#define RLX memory_order_relaxed

struct sups_totals sups_totals;

static int nhttp(const struct cfg *cfg)
{
	return cfg && cfg->http ? cfg->http->nupstreams : 0;
}

static int nstream(const struct cfg *cfg)
{
	return cfg && cfg->stream ? cfg->stream->ngroups : 0;
}

int sups_ngroups(const struct cfg *cfg)
{
	return nhttp(cfg) + nstream(cfg);
}

struct ups_group *sups_group_at(const struct cfg *cfg, int i)
{
	int nh = nhttp(cfg);

	if (i < 0)
		return NULL;
	if (i < nh)
		return cfg->http->upstreams[i];
	if (i - nh < nstream(cfg))
		return cfg->stream->groups[i - nh];
	return NULL;
}

const char *sups_kind_name(const struct ups_group *g)
{
	return g->stream ? "stream" : "http";
}

const char *sups_parse_name(const char *word, enum sups_kind *kind)
{
	*kind = SUPS_ANY;
	if (strncmp(word, "stream:", 7) == 0) {
		*kind = SUPS_STREAM;
		return word + 7;
	}
	if (strncmp(word, "http:", 5) == 0) {
		*kind = SUPS_HTTP;
		return word + 5;
	}
	return word;
}

static bool kind_ok(const struct ups_group *g, enum sups_kind kind)
{
	return kind == SUPS_ANY || (kind == SUPS_STREAM) == g->stream;
}

struct ups_group *sups_find(const struct cfg *cfg, const char *word)
{
	enum sups_kind kind;
	const char *name = sups_parse_name(word, &kind);
	int n = sups_ngroups(cfg);

	/* http groups come first in the walk: a bare name prefers them */
	for (int i = 0; i < n; i++) {
		struct ups_group *g = sups_group_at(cfg, i);

		if (kind_ok(g, kind) && strcmp(g->name, name) == 0)
			return g;
	}
	return NULL;
}

struct ups_group *sups_twin(const struct cfg *cfg, const struct ups_group *g)
{
	int n = sups_ngroups(cfg);

	for (int i = 0; i < n; i++) {
		struct ups_group *o = sups_group_at(cfg, i);

		if (o->stream == g->stream && o->implicit == g->implicit &&
		    strcmp(o->name, g->name) == 0)
			return o;
	}
	return NULL;
}

bool sups_match(const struct ups_group *g, const char *word)
{
	enum sups_kind kind;
	const char *name = sups_parse_name(word, &kind);

	return kind_ok(g, kind) && strcmp(g->name, name) == 0;
}

void sups_session_open(void)
{
	atomic_fetch_add_explicit(&sups_totals.accepted, 1, RLX);
	atomic_fetch_add_explicit(&sups_totals.active, 1, RLX);
}

void sups_session_close(struct ups_server *us, uint64_t up, uint64_t down)
{
	atomic_fetch_sub_explicit(&sups_totals.active, 1, RLX);
	if (!us)
		return;
	atomic_fetch_add_explicit(&us->bytes_up, up, RLX);
	atomic_fetch_add_explicit(&us->bytes_down, down, RLX);
}
