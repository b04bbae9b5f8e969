/* SPDX-License-Identifier: MIT */
/*
 * Upstream servers and balancers: server usability and passive health
 * (max_fails / fail_timeout / max_conns), the per-request pick with backup
 * fallback, and the balancing algorithms behind struct bal_ops. All of it is
 * callable from every worker thread at once, with no lock: C11 atomics only.
 *
 * Life of a request:
 *
 *	struct bal_ctx ctx = { .client = sa, .key = k, .keylen = n,
 *			       .now_ms = lbd_now_ms() };
 *	s = ups_pick(g, &ctx);            // NULL: 502, nothing usable
 *	... connect, proxy ...
 *	ups_release_server(s, failed, lbd_now_ms());
 *	// proxy_next_upstream: call ups_pick(g, &ctx) again with the same ctx,
 *	// servers already tried are skipped
 */
#ifndef LBD_UPS_H
#define LBD_UPS_H

#include <stdbool.h>
#include <stdint.h>

#include "ups-t.h"

/* nginx's bound on rehashing (ip_hash, hash, random) before round robin. */
#define BAL_HASH_TRIES 20

/* Longest precomputed round-robin cycle (sum of weights); beyond it the cycle
 * is walked through a stride permutation instead of a listed schedule. */
#define BAL_RR_SCHED_MAX 65536

/* --- ups.c: servers, groups, the pick ------------------------------------ */

/* ups_method_ops - the algorithm for METHOD, or NULL for an unknown one. */
const struct bal_ops *ups_method_ops(enum ups_method method);

/*
 * ups_group_init - prepare a configured group for picking: numbers the
 * servers (index), resets their runtime state (eff_weight = weight, no
 * active requests, no failures, healthy with no check made), marks a lone
 * server `sole`, sets g->ops from g->method, builds the round-robin
 * schedules (g->rr) and the algorithm's own state (g->bal). Rejects an
 * empty group or one of more than UPS_MAX_SERVERS servers (-EINVAL), an
 * unknown method (-EINVAL), a consistent-hash group
 * whose primaries weigh more than 65536 in all (-E2BIG: 160 ring points per
 * unit). Returns 0 or -errno; on error nothing is left allocated.
 */
int ups_group_init(struct ups_group *g);

/* ups_group_release - free what ups_group_init() built (g->bal, g->rr and
 * every schedule retired by a weight change). No pick may be running. */
void ups_group_release(struct ups_group *g);

/*
 * ups_server_usable - may S take a new request at NOW_MS? Not when it is
 * `down`, drained or disabled (admin != UPS_ADMIN_UP), unhealthy by its
 * active health checks (health != UPS_HEALTH_UP, hc.c), when max_conns is
 * reached, or when max_fails failures are counted and the last failure or
 * probe (checked_ms) is at most fail_timeout old.
 * A `sole` server ignores failures, as nginx ignores them for a single server.
 */
bool ups_server_usable(const struct ups_server *s, int64_t now_ms);

/* ups_server_resting - taken out by passive health: max_fails failures and
 * still inside fail_timeout of the last failure or probe. */
bool ups_server_resting(const struct ups_server *s, int64_t now_ms);

/* ups_server_pickable - usable, not yet tried by this request, and weight
 * in force > 0 (a weight of 0 set at runtime takes no new requests). */
bool ups_server_pickable(const struct ups_server *s, const struct bal_ctx *ctx);

/*
 * ups_server_fail - count one failure of S at NOW_MS, as nginx's
 * free_round_robin_peer does: fails++, last failure = last check = now,
 * and (max_fails > 0) weight / max_fails more weight_debt, which lowers the
 * server's effective weight in round robin's live step (bal_rr.c).
 * Failures are never forgotten by time alone: they reset only when a request
 * picked after fail_timeout (the probe) succeeds, see ups_server_success().
 * Returns true when this failure reached max_fails (nginx logs "upstream
 * server temporarily disabled" then). A `sole` server only counts failures.
 */
bool ups_server_fail(struct ups_server *s, int64_t now_ms);

/* ups_server_success - a request to S succeeded: if a probe was made since
 * the last failure (checked_ms > fail_ms), the failure count restarts at 0.
 * Returns true when that ended a max_fails rest (a passive recovery). */
bool ups_server_success(struct ups_server *s);

/*
 * ups_pick - choose a server for one request (or one retry of it): asks the
 * group's algorithm among the primaries, falls back to the backups (smooth
 * weighted round robin among the usable ones; least_conn balances its backups
 * itself) only when no primary can be used, and takes a slot on the winner:
 * active++ (never past max_conns, even when workers race), requests++,
 * its bit in ctx->tried, ctx->tries++. A server in fail_timeout gets a
 * single probe request from all workers together. Returns NULL when no
 * server can take the request.
 */
struct ups_server *ups_pick(struct ups_group *g, struct bal_ctx *ctx);

/* ups_release_server - the request picked on S is over: active--, then the
 * failure accounting (FAILED: ups_server_fail, else ups_server_success; a
 * success that ends a max_fails rest starts S's slow start). True when
 * this failure just disabled S for fail_timeout (nginx logs that). */
bool ups_release_server(struct ups_server *s, bool failed, int64_t now_ms);

/*
 * ups_server_set_weight - change S's weight in force at runtime (lbctl
 * set-weight): round-robin schedules and the consistent-hash ring are rebuilt
 * and published atomically; the other methods read weights live. WEIGHT 0
 * stops new requests to S. Returns 0, -EINVAL (weight < 0, S not in G),
 * -E2BIG (consistent-hash ring too large) or -ENOMEM; on error the previous
 * weight stays in force.
 */
int ups_server_set_weight(struct ups_group *g, struct ups_server *s, int weight);

/* ups_primary_weight - sum of weights in force of the primaries, `down` ones
 * included (nginx's total_weight: marking a server down must not move the
 * hash of clients that were on other servers). */
int64_t ups_primary_weight(const struct ups_group *g);

/* ups_weighted_at - the primary owning position X of the weight line
 * (servers in config order, each as long as its weight): nginx's walk
 * "while (w >= peer->weight) w -= peer->weight". NULL when X is past the
 * end, which only happens if weights shrank since the total was taken. */
struct ups_server *ups_weighted_at(struct ups_group *g, int64_t x);

/*
 * Slow start (`server ... slow_start=TIME`, nginx Plus): after a recovery
 * the weight a server balances on ramps linearly from 1/1000 of its weight
 * in force to all of it over TIME. Recoveries: active checks passing again,
 * the probe after a max_fails rest succeeding, `lbctl upstream enable`. Only
 * round robin and least_conn use the ramp (the config rejects slow_start
 * with hash, ip_hash and random, as nginx Plus does); a sole server ignores
 * it. The ramp is a start stamp on the server (ramp_ms); every picker
 * computes the share from it and its own clock, so nothing is locked.
 */
#define UPS_RAMP_FULL 1000 /* ramp share of a server not in slow start, permille */

/* ups_server_recovered - S is usable again at NOW_MS: start its ramp. No-op
 * without slow_start or for a sole server. */
void ups_server_recovered(struct ups_server *s, int64_t now_ms);

/*
 * ups_server_ramp_notice - start S's ramp at NOW_MS if its active checks
 * brought it back since it was last seen healthy. hc.c only counts health
 * transitions (hc_changes), so the first picker that sees a healthy S with
 * a new count stamps it: the ramp begins with the first pick after the
 * recovery.
 */
void ups_server_ramp_notice(struct ups_server *s, int64_t now_ms);

/* ups_server_ramp - share of its weight S balances on at NOW_MS, in
 * permille: 1000 * elapsed / slow_start during the ramp (at least 1), else
 * UPS_RAMP_FULL. A recovery not yet noticed counts as a ramp at its start. */
int ups_server_ramp(const struct ups_server *s, int64_t now_ms);

/* ups_server_ramp_weight - weight in force times ups_server_ramp(): the
 * weight in 1/1000 units that round robin and least_conn balance on while
 * some server of the set ramps. */
int64_t ups_server_ramp_weight(const struct ups_server *s, int64_t now_ms);

/* ups_server_weight_now - the ramped weight rounded up to a whole weight
 * (what `lbctl upstream list` shows); the weight in force outside a ramp. */
int ups_server_weight_now(const struct ups_server *s, int64_t now_ms);

/* ups_group_ramping - notice recoveries among the primaries (BACKUP false)
 * or backups of G, then say whether one of them ramps at NOW_MS. False at
 * once for a group without slow_start. */
bool ups_group_ramping(struct ups_group *g, bool backup, int64_t now_ms);

static inline bool ups_ctx_tried(const struct bal_ctx *ctx, int index)
{
	return ctx->tried[index / 64] & (UINT64_C(1) << (index % 64));
}

static inline void ups_ctx_mark(struct bal_ctx *ctx, int index)
{
	ctx->tried[index / 64] |= UINT64_C(1) << (index % 64);
}

/* --- bal_rr.c: smooth weighted round robin ------------------------------- */

extern const struct bal_ops bal_rr_ops;

/* bal_rr_init - build g->rr (schedules of primaries and of backups) from the
 * weights in force. 0 or -ENOMEM. */
int bal_rr_init(struct ups_group *g);

/* bal_rr_release - free g->rr, its schedules and the retired ones. */
void bal_rr_release(struct ups_group *g);

/*
 * bal_rr_rebuild - rebuild both schedules from the weights in force and
 * publish them with an atomic pointer swap. Pickers still reading an old
 * schedule keep a valid one: replaced schedules go on a retire list freed
 * only by bal_rr_release() (a reload frees the group), so each weight change
 * costs up to 2 bytes per weight unit of memory until then. 0 or -ENOMEM
 * (the old schedules stay).
 */
int bal_rr_rebuild(struct ups_group *g);

/*
 * bal_rr_pick_set - next pickable server of the primaries (BACKUP false) or
 * backups (BACKUP true) in smooth weighted round robin order. Every worker
 * takes positions of one shared cycle with one atomic fetch_add, so the
 * workers together produce nginx's sequence and exact weights. A position
 * whose server cannot be picked passes on to the next position. Round robin
 * groups run nginx's step live instead while a server is tried by the
 * request, resting after max_fails or owing weight_debt (see bal_rr.c). NULL
 * when no server of the set can be picked. Takes no slot on the server
 * (ups_pick does).
 */
struct ups_server *bal_rr_pick_set(struct ups_group *g, struct bal_ctx *ctx, bool backup);

/*
 * bal_swrr_choose - nginx's smooth weighted round robin step among the N
 * candidates CAND (ties of least_conn, servers sharing a name in a
 * consistent-hash ring), on their shared cur_weight: each gains its weight,
 * the largest wins (first on ties) and loses the sum. N >= 1.
 */
struct ups_server *bal_swrr_choose(struct ups_server *const *cand, int n);

/* bal_swrr_choose_w - bal_swrr_choose() on the weights W[k] of CAND[k]
 * instead of their weights in force (slow start ramps). N >= 1. */
struct ups_server *bal_swrr_choose_w(struct ups_server *const *cand, const int64_t *w, int n);

/* --- bal_lc.c: least_conn ------------------------------------------------ */

extern const struct bal_ops bal_lc_ops;

/* --- bal_hash.c: ip_hash, hash KEY [consistent] -------------------------- */

extern const struct bal_ops bal_ip_hash_ops;
extern const struct bal_ops bal_hash_ops;

/* bal_chash_rebuild - rebuild the consistent-hash ring of G from the weights
 * in force and publish it atomically (the old ring is retired until
 * release). No-op for other methods. 0, -E2BIG or -ENOMEM. */
int bal_chash_rebuild(struct ups_group *g);

/* --- bal_random.c: random [two [least_conn]] ----------------------------- */

extern const struct bal_ops bal_random_ops;

/* bal_random_seed - set the calling thread's generator (tests replay a
 * sequence); unseeded threads seed themselves from getrandom(2). */
void bal_random_seed(uint64_t seed);

#endif
