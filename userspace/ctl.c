/* SPDX-License-Identifier: MIT */
/*
 * The control socket (see include/ctl.h for the protocol): the command table
 * and its handlers (help, status, upstream list/set-weight/drain/disable/
 * enable, stats, reload, reopen), the carry-over of runtime upstream changes
 * across a reload, and a small non-blocking Unix socket server run by the
 * main thread. Every command runs on the main thread, which owns the
 * configuration pointer, so no command races another or a reload.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl.h"
#include "ban.h"
#include "cache.h"
#include "guard.h"
#include "hc.h"
#include "ksplice.h"
#include "lbd.h"
#include "log.h"
#include "ocsp.h"
#include "stats.h"
#include "tls.h"
#include "tunnel.h"
#include "steer.h"
#include "sups.h"
#include "ups.h"
#include "worker.h"

#define CTL_ARGS_MAX 16 /* words in one request */

/* ---- output buffer -------------------------------------------------------- */

void ctl_out_init(struct ctl_out *o)
{
	*o = (struct ctl_out){0};
}

void ctl_out_free(struct ctl_out *o)
{
	free(o->buf);
	ctl_out_init(o);
}

void ctl_out_reset(struct ctl_out *o)
{
	o->len = 0;
	o->truncated = false;
	if (o->buf)
		o->buf[0] = '\0';
}

static bool out_reserve(struct ctl_out *o, size_t more)
{
	size_t need = o->len + more + 1, cap;
	char *n;

	if (need <= o->cap)
		return true;
	if (need > CTL_OUT_MAX + 256) /* room for the terminating line */
		return false;
	cap = o->cap ? o->cap : 1024;
	while (cap < need)
		cap *= 2;
	n = realloc(o->buf, cap);
	if (!n)
		return false;
	o->buf = n;
	o->cap = cap;
	return true;
}

static void out_add(struct ctl_out *o, const char *p, size_t n)
{
	if (o->truncated)
		return;
	if (o->len + n > CTL_OUT_MAX || !out_reserve(o, n)) {
		o->truncated = true;
		return;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void out_printf(struct ctl_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out_printf(struct ctl_out *o, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		out_add(o, small, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->truncated = true;
		return;
	}
	out_add(o, big, (size_t)n);
	free(big);
}

/* out_json_str - S as a JSON string literal. */
static void out_json_str(struct ctl_out *o, const char *s)
{
	out_add(o, "\"", 1);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			out_printf(o, "\\%c", c);
		else if (c < 0x20)
			out_printf(o, "\\u%04x", c);
		else
			out_add(o, (const char *)&c, 1);
	}
	out_add(o, "\"", 1);
}

/* ---- requests and the command table --------------------------------------- */

/* struct ctl_req - one parsed request while its handler runs. */
struct ctl_req {
	const struct ctl_env *env; /* daemon facts, may be NULL */
	struct cfg *cfg;	   /* generation in force, may be NULL */
	char *argv[CTL_ARGS_MAX];  /* words after the command keywords */
	int argc;		   /* entries in argv */
	bool json;		   /* --json given */
	struct ctl_out *out;	   /* response body */
	char err[256];		   /* message of the ERR line */
};

struct ctl_cmd {
	const char *word; /* first keyword */
	const char *sub;  /* second keyword, or NULL */
	const char *args; /* argument synopsis for help */
	int min, max;	  /* argument count range (after the keywords) */
	int (*fn)(struct ctl_req *r);
	const char *help; /* one line */
};

static int req_fail(struct ctl_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int req_fail(struct ctl_req *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int cmd_help(struct ctl_req *r);
static int cmd_status(struct ctl_req *r);
static int cmd_ups_list(struct ctl_req *r);
static int cmd_ups_weight(struct ctl_req *r);
static int cmd_ups_drain(struct ctl_req *r);
static int cmd_ups_disable(struct ctl_req *r);
static int cmd_ups_enable(struct ctl_req *r);
static int cmd_stats(struct ctl_req *r);
static int cmd_reload(struct ctl_req *r);
static int cmd_reopen(struct ctl_req *r);
static int cmd_ban_add(struct ctl_req *r);
static int cmd_ban_del(struct ctl_req *r);
static int cmd_ban_list(struct ctl_req *r);
static int cmd_ban_flush(struct ctl_req *r);
static int cmd_kernel_stats(struct ctl_req *r);
static int cmd_conns(struct ctl_req *r);
static int cmd_cache_list(struct ctl_req *r);
static int cmd_cache_purge(struct ctl_req *r);

static const struct ctl_cmd ctl_cmds[] = {
	{"help", NULL, "", 0, 0, cmd_help, "list the commands"},
	{"status", NULL, "", 0, 0, cmd_status,
	 "version, pid, uptime, configuration, workers, kernel features"},
	{"upstream", "list", "[UPSTREAM]", 0, 1, cmd_ups_list,
	 "servers of every named http and stream upstream (or of UPSTREAM) with weight, "
	 "state, counters; UPSTREAM may be stream:NAME or http:NAME"},
	{"upstream", "set-weight", "UPSTREAM SERVER WEIGHT", 3, 3, cmd_ups_weight,
	 "set the weight in force (0 takes no new requests; max 10000)"},
	{"upstream", "drain", "UPSTREAM SERVER", 2, 2, cmd_ups_drain,
	 "no new requests; in-flight ones finish (\"drained\" once idle)"},
	{"upstream", "disable", "UPSTREAM SERVER", 2, 2, cmd_ups_disable,
	 "no new requests (maintenance)"},
	{"upstream", "enable", "UPSTREAM SERVER", 2, 2, cmd_ups_enable,
	 "take requests again after drain or disable"},
	{"stats", NULL, "", 0, 0, cmd_stats,
	 "traffic totals, per-upstream figures, per-worker connections"},
	{"reload", NULL, "", 0, 0, cmd_reload, "reload the configuration (as SIGHUP)"},
	{"reopen", NULL, "", 0, 0, cmd_reopen, "reopen the log files (as SIGUSR1)"},
	{"ban", "add", "CIDR [--ttl DURATION] [--reason TEXT]", 1, CTL_ARGS_MAX - 2, cmd_ban_add,
	 "drop a client or network (XDP, and at accept time)"},
	{"ban", "del", "CIDR", 1, 1, cmd_ban_del, "lift a ban"},
	{"ban", "list", "", 0, 0, cmd_ban_list, "bans with expiry, origin, reason and hit counts"},
	{"ban", "flush", "", 0, 0, cmd_ban_flush, "lift every ban"},
	{"conns", NULL, "", 0, 0, cmd_conns,
	 "open upgraded streams (WebSockets): client, upstream, age, bytes each way"},
	{"kernel", "stats", "", 0, 0, cmd_kernel_stats,
	 "XDP guard: interfaces, SYN limit, packets passed and dropped by reason"},
	{"cache", "list", "[ZONE]", 0, 1, cmd_cache_list,
	 "proxy cache zones: size, entries, hits, misses, hit ratio"},
	{"cache", "purge", "ZONE KEY|PREFIX*", 2, 2, cmd_cache_purge,
	 "remove the entry of KEY (or every key starting with PREFIX) from ZONE"},
};

static int cmd_help(struct ctl_req *r)
{
	if (r->json) {
		out_add(r->out, "{\"commands\":[", 13);
		for (size_t i = 0; i < ARRAY_SIZE(ctl_cmds); i++) {
			const struct ctl_cmd *c = &ctl_cmds[i];
			char syn[128];

			snprintf(syn, sizeof(syn), "%s%s%s%s%s", c->word, c->sub ? " " : "",
				 c->sub ? c->sub : "", c->args[0] ? " " : "", c->args);
			out_add(r->out, i ? "," : "", i ? 1 : 0);
			out_add(r->out, "{\"usage\":", 9);
			out_json_str(r->out, syn);
			out_add(r->out, ",\"help\":", 8);
			out_json_str(r->out, c->help);
			out_add(r->out, "}", 1);
		}
		out_add(r->out, "]}\n", 3);
		return 0;
	}
	out_printf(r->out, "commands (add --json for JSON output):\n");
	for (size_t i = 0; i < ARRAY_SIZE(ctl_cmds); i++) {
		const struct ctl_cmd *c = &ctl_cmds[i];
		char syn[128];

		snprintf(syn, sizeof(syn), "%s%s%s%s%s", c->word, c->sub ? " " : "",
			 c->sub ? c->sub : "", c->args[0] ? " " : "", c->args);
		out_printf(r->out, "  %-40s %s\n", syn, c->help);
	}
	return 0;
}

static const char *yesno(bool b)
{
	return b ? "yes" : "no";
}

static int cmd_status(struct ctl_req *r)
{
	const struct ctl_env *e = r->env;
	int64_t up = e ? (lbd_now_ms() - e->start_ms) / 1000 : 0;
	long pid = e ? (long)e->pid : (long)getpid();
	int workers = e ? e->workers : 0;
	const char *conf = r->cfg ? r->cfg->conf_file : "";
	const char *prefix = r->cfg ? r->cfg->prefix : "";
	bool fk = e && e->feat_known;
	int stapled, certs;
	char g[160];

	if (r->json) {
		out_printf(r->out, "{\"version\":\"%s\",\"pid\":%ld,\"uptime\":%lld,", LBD_VERSION,
			   pid, (long long)up);
		out_add(r->out, "\"config\":", 9);
		out_json_str(r->out, conf);
		out_add(r->out, ",\"prefix\":", 10);
		out_json_str(r->out, prefix);
		out_printf(r->out, ",\"workers\":%d,\"features\":", workers);
		if (!fk) {
			out_add(r->out, "null}\n", 6);
			return 0;
		}
		out_printf(r->out,
			   "{\"bpf\":%s,\"xdp\":%s,\"sockmap\":%s,\"ktls\":%s,\"btf\":%s,\"why\":",
			   e->feat.bpf ? "true" : "false", e->feat.xdp ? "true" : "false",
			   e->feat.sockmap ? "true" : "false", e->feat.ktls ? "true" : "false",
			   e->feat.btf ? "true" : "false");
		out_json_str(r->out, e->feat.why);
		guard_describe(g, sizeof(g));
		out_printf(r->out, "},\"guard\":");
		out_json_str(r->out, g);
		out_printf(r->out, ",\"splice\":\"%s\",\"splice_why\":",
			   ksplice_ready() ? "sockmap" : "splice");
		out_json_str(r->out, ksplice_why());
		ocsp_counts(&stapled, &certs);
		out_printf(r->out, ",\"ocsp_stapled\":%d,\"ocsp_certificates\":%d}\n", stapled,
			   certs);
		return 0;
	}
	out_printf(r->out, "version: %s/%s\n", LBD_NAME, LBD_VERSION);
	out_printf(r->out, "pid: %ld\n", pid);
	out_printf(r->out, "uptime: %lld s\n", (long long)up);
	out_printf(r->out, "config: %s\n", conf);
	out_printf(r->out, "prefix: %s\n", prefix);
	out_printf(r->out, "workers: %d\n", workers);
	if (!fk) {
		out_printf(r->out, "features: unknown\n");
		return 0;
	}
	out_printf(r->out, "features: bpf=%s xdp=%s sockmap=%s ktls=%s btf=%s\n",
		   yesno(e->feat.bpf), yesno(e->feat.xdp), yesno(e->feat.sockmap),
		   yesno(e->feat.ktls), yesno(e->feat.btf));
	if (!e->feat.bpf && e->feat.why[0])
		out_printf(r->out, "features-why: %s\n", e->feat.why);
	guard_describe(g, sizeof(g));
	out_printf(r->out, "guard: %s\n", g);
	out_printf(r->out, "upgraded streams: %s%s%s\n",
		   ksplice_ready() ? "sockmap (in the kernel)" : "splice(2) relay",
		   ksplice_ready() ? "" : ": ", ksplice_why());
	ocsp_counts(&stapled, &certs);
	if (certs)
		out_printf(r->out, "ocsp stapling: %d of %d certificates have an answer\n", stapled,
			   certs);
	return 0;
}

static const char *method_name(const struct ups_group *g)
{
	switch (g->method) {
	case UPS_M_RR:
		return "round-robin";
	case UPS_M_LEAST_CONN:
		return "least_conn";
	case UPS_M_IP_HASH:
		return "ip_hash";
	case UPS_M_HASH:
		return g->hash_consistent ? "hash-consistent" : "hash";
	case UPS_M_RANDOM:
		return g->random_two ? "random-two" : "random";
	}
	return "unknown";
}

/* server_state - the word `upstream list` shows, most important first:
 * an operator's action beats the configuration, which beats active health
 * checks, which beat passive health, which beats a slow start. */
static const char *server_state(const struct ups_server *s, int64_t now_ms)
{
	int admin = atomic_load_explicit(&s->admin, memory_order_relaxed);
	int active = atomic_load_explicit(&s->active, memory_order_relaxed);

	if (admin == UPS_ADMIN_DISABLED)
		return "disabled";
	if (admin == UPS_ADMIN_DRAIN)
		return active > 0 ? "draining" : "drained";
	if (s->down)
		return "down";
	if (atomic_load_explicit(&s->health, memory_order_relaxed) != UPS_HEALTH_UP)
		return "unhealthy";
	if (s->max_conns > 0 && active >= s->max_conns)
		return "full";
	if (!ups_server_usable(s, now_ms))
		return "failed";
	/* usable, but its weight still ramps after a recovery */
	if (ups_server_ramp(s, now_ms) < UPS_RAMP_FULL)
		return "slow-start";
	return s->backup ? "backup" : "up";
}

/* lookup - UPSTREAM and SERVER words (argv[0], argv[1]) to a server; the
 * first server of that name when the name repeats. UPSTREAM may say its
 * kind: "stream:NAME", "http:NAME" (sups_find). */
static int lookup(struct ctl_req *r, struct ups_group **gp, struct ups_server **sp)
{
	struct ups_group *g = sups_find(r->cfg, r->argv[0]);

	if (!g)
		return req_fail(r, "unknown upstream \"%s\"", r->argv[0]);
	for (int i = 0; i < g->nservers; i++) {
		if (strcmp(g->servers[i].name, r->argv[1]) == 0) {
			*gp = g;
			*sp = &g->servers[i];
			return 0;
		}
	}
	return req_fail(r, "no server \"%s\" in %supstream \"%s\"", r->argv[1],
			g->stream ? "stream " : "", g->name);
}

/* list_health_json - the active-check fields of S (its group has
 * health_check): health, consecutive counters, last result and its age. */
static void list_health_json(struct ctl_req *r, const struct ups_server *s, int64_t now)
{
	int64_t at = atomic_load(&s->hc_last_ms);
	char last[128];

	out_printf(r->out,
		   ",\"health\":\"%s\",\"checks\":%llu,\"health_changes\":%llu,"
		   "\"check_fails\":%d,\"check_passes\":%d,\"last_check\":",
		   atomic_load(&s->health) == UPS_HEALTH_UP ? "up" : "unhealthy",
		   (unsigned long long)atomic_load(&s->hc_checks),
		   (unsigned long long)atomic_load(&s->hc_changes), atomic_load(&s->hc_fails),
		   atomic_load(&s->hc_passes));
	out_json_str(r->out, hc_result_text(s, last, sizeof(last)));
	if (at)
		out_printf(r->out, ",\"last_check_age_ms\":%lld", (long long)(now - at));
	else
		out_add(r->out, ",\"last_check_age_ms\":null", 25);
}

static void list_group(struct ctl_req *r, const struct ups_group *g, bool *first, int64_t now)
{
	if (r->json) {
		out_add(r->out, *first ? "{\"upstream\":" : ",{\"upstream\":", *first ? 12 : 13);
		*first = false;
		out_json_str(r->out, g->name);
		out_printf(r->out,
			   ",\"kind\":\"%s\",\"method\":\"%s\",\"implicit\":%s,\"servers\":[",
			   sups_kind_name(g), method_name(g), g->implicit ? "true" : "false");
		for (int i = 0; i < g->nservers; i++) {
			const struct ups_server *s = &g->servers[i];

			out_add(r->out, i ? ",{\"name\":" : "{\"name\":", i ? 9 : 8);
			out_json_str(r->out, s->name);
			out_printf(
				r->out,
				",\"weight\":%d,\"config_weight\":%d,\"state\":\"%s\",\"backup\":%s,"
				"\"active\":%d,\"requests\":%llu,\"failures\":%llu",
				ups_server_weight_now(s, now), s->weight, server_state(s, now),
				s->backup ? "true" : "false", atomic_load(&s->active),
				(unsigned long long)atomic_load(&s->requests),
				(unsigned long long)atomic_load(&s->failures));
			if (g->stream)
				out_printf(r->out, ",\"bytes_sent\":%llu,\"bytes_received\":%llu",
					   (unsigned long long)atomic_load(&s->bytes_up),
					   (unsigned long long)atomic_load(&s->bytes_down));
			if (g->hc.enabled)
				list_health_json(r, s, now);
			out_add(r->out, "}", 1);
		}
		out_add(r->out, "]}", 2);
		return;
	}
	/* a stream group says so first; its counts are sessions, and it
	 * has two more columns: bytes sent to and received from the server */
	out_printf(r->out, "%supstream %s %s%s\n", g->stream ? "stream " : "", g->name,
		   method_name(g), g->implicit ? " implicit" : "");
	/* groups with health_check get two more columns: checks, last check */
	out_printf(r->out, "  %-28s %6s %-9s %6s %8s %10s %10s%s%s\n", "server", "weight", "state",
		   "backup", "active", g->stream ? "sessions" : "requests", "failures",
		   g->stream ? "         sent     received" : "",
		   g->hc.enabled ? "     checks last-check" : "");
	for (int i = 0; i < g->nservers; i++) {
		const struct ups_server *s = &g->servers[i];
		char last[128];

		out_printf(r->out, "  %-28s %6d %-9s %6s %8d %10llu %10llu", s->name,
			   ups_server_weight_now(s, now), server_state(s, now), yesno(s->backup),
			   atomic_load(&s->active), (unsigned long long)atomic_load(&s->requests),
			   (unsigned long long)atomic_load(&s->failures));
		if (g->stream)
			out_printf(r->out, " %12llu %12llu",
				   (unsigned long long)atomic_load(&s->bytes_up),
				   (unsigned long long)atomic_load(&s->bytes_down));
		if (g->hc.enabled)
			out_printf(r->out, " %10llu %s",
				   (unsigned long long)atomic_load(&s->hc_checks),
				   hc_result_text(s, last, sizeof(last)));
		out_add(r->out, "\n", 1);
	}
}

static int cmd_ups_list(struct ctl_req *r)
{
	int64_t now = lbd_now_ms();
	bool first = true;
	int n = 0, ng = sups_ngroups(r->cfg);

	if (r->argc == 1 && !sups_find(r->cfg, r->argv[0]))
		return req_fail(r, "unknown upstream \"%s\"", r->argv[0]);
	if (r->json)
		out_add(r->out, "{\"upstreams\":[", 14);
	/* http groups, then stream ones; a bare name lists both kinds */
	for (int i = 0; i < ng; i++) {
		const struct ups_group *g = sups_group_at(r->cfg, i);

		if (r->argc == 1 ? !sups_match(g, r->argv[0]) : g->implicit)
			continue;
		list_group(r, g, &first, now);
		n++;
	}
	if (r->json)
		out_add(r->out, "]}\n", 3);
	else if (n == 0)
		out_printf(r->out, "  (no upstream blocks)\n");
	return 0;
}

static int cmd_ups_weight(struct ctl_req *r)
{
	struct ups_group *g;
	struct ups_server *s;
	char *end;
	long w;
	int err;

	if (lookup(r, &g, &s))
		return -EINVAL;
	errno = 0;
	w = strtol(r->argv[2], &end, 10);
	if (r->argv[2][0] < '0' || r->argv[2][0] > '9' || *end || errno || w > CTL_WEIGHT_MAX)
		return req_fail(r, "invalid weight \"%s\" (0..%d)", r->argv[2], CTL_WEIGHT_MAX);
	err = ups_server_set_weight(g, s, (int)w);
	if (err)
		return req_fail(r, "set-weight failed: %s", strerror(-err));
	log_notice("control: %supstream %s server %s weight %ld", g->stream ? "stream " : "",
		   g->name, s->name, w);
	return 0;
}

static int set_admin(struct ctl_req *r, int admin, const char *what)
{
	struct ups_group *g;
	struct ups_server *s;

	if (lookup(r, &g, &s))
		return -EINVAL;
	/* back from drain or disable: its slow start begins */
	if (atomic_exchange_explicit(&s->admin, admin, memory_order_acq_rel) != UPS_ADMIN_UP &&
	    admin == UPS_ADMIN_UP)
		ups_server_recovered(s, lbd_now_ms());
	log_notice("control: %supstream %s server %s %s", g->stream ? "stream " : "", g->name,
		   s->name, what);
	return 0;
}

static int cmd_ups_drain(struct ctl_req *r)
{
	return set_admin(r, UPS_ADMIN_DRAIN, "draining");
}

static int cmd_ups_disable(struct ctl_req *r)
{
	return set_admin(r, UPS_ADMIN_DISABLED, "disabled");
}

static int cmd_ups_enable(struct ctl_req *r)
{
	return set_admin(r, UPS_ADMIN_UP, "enabled");
}

/* stats_workers - the end of `stats`: each worker's open client
 * connections (what steering balances) and the steering decisions. */
static void stats_workers(struct ctl_req *r)
{
	struct steer_info si;
	int n = worker_count();

	steer_get_info(&si);
	if (r->json) {
		out_printf(r->out, "],\"workers\":[");
		for (int i = 0; i < n; i++)
			out_printf(r->out, "%s{\"id\":%d,\"active\":%d}", i ? "," : "", i,
				   worker_conns(i));
		out_printf(r->out,
			   "],\"steering\":{\"on\":%s,\"picked\":%llu,\"no_slot\":%llu,"
			   "\"no_socket\":%llu,\"why\":",
			   si.on ? "true" : "false", (unsigned long long)si.picked,
			   (unsigned long long)si.no_slot, (unsigned long long)si.no_socket);
		out_json_str(r->out, si.why);
		out_add(r->out, "}", 1); /* the caller closes the object */
		return;
	}
	if (si.on)
		out_printf(r->out,
			   "steering: on: least-loaded picked %llu, kernel hash %llu (unknown "
			   "listener %llu, socket missing %llu)\n",
			   (unsigned long long)si.picked,
			   (unsigned long long)(si.no_slot + si.no_socket),
			   (unsigned long long)si.no_slot, (unsigned long long)si.no_socket);
	else
		out_printf(r->out, "steering: off (%s): the kernel's reuseport hash\n", si.why);
	for (int i = 0; i < n; i++)
		out_printf(r->out, "worker %d: active %d\n", i, worker_conns(i));
}

/* stats_server_stream - the figures of S, a server of a stream group, for
 * `stats`: sessions, failures, active sessions, weight, usable, healthy,
 * bytes each way. */
static void stats_server_stream(struct ctl_req *r, struct ups_server *s, int64_t now)
{
	unsigned long long ses = stats_ld(&s->requests), fail = stats_ld(&s->failures),
			   up = stats_ld(&s->bytes_up), down = stats_ld(&s->bytes_down);
	bool usable = ups_server_usable(s, now) && atomic_load(&s->eff_weight) > 0,
	     healthy = atomic_load(&s->health) == UPS_HEALTH_UP;

	if (r->json) {
		out_add(r->out, "{\"name\":", 8);
		out_json_str(r->out, s->name);
		out_printf(r->out,
			   ",\"weight\":%d,\"state\":\"%s\",\"up\":%s,\"healthy\":%s,"
			   "\"active\":%d,\"sessions\":%llu,\"failures\":%llu,"
			   "\"bytes_sent\":%llu,\"bytes_received\":%llu}",
			   ups_server_weight_now(s, now), server_state(s, now),
			   usable ? "true" : "false", healthy ? "true" : "false",
			   atomic_load(&s->active), ses, fail, up, down);
		return;
	}
	out_printf(r->out,
		   "  server %s: weight %d state %s up %s healthy %s active %d sessions %llu "
		   "failures %llu sent %llu received %llu\n",
		   s->name, ups_server_weight_now(s, now), server_state(s, now), yesno(usable),
		   yesno(healthy), atomic_load(&s->active), ses, fail, up, down);
}

/* stats_stream - the stream part of `stats`: session totals, then each
 * stream group (implicit ones too) with its servers. FIRST: no upstream
 * entry was written to the JSON array yet (the totals come at the end of
 * the JSON object, from cmd_stats). */
static void stats_stream(struct ctl_req *r, bool first)
{
	bool st = r->cfg && r->cfg->stream;
	unsigned long long acc = stats_ld(&sups_totals.accepted);
	long long open = stats_lds(&sups_totals.active);
	int64_t now = lbd_now_ms();

	if (!r->json && st)
		out_printf(r->out, "stream: sessions accepted %llu active %lld\n", acc, open);
	for (int i = 0; i < sups_ngroups(r->cfg); i++) {
		const struct ups_group *g = sups_group_at(r->cfg, i);
		unsigned long long ses = 0, fail = 0, up = 0, down = 0;
		long long act = 0;
		int usable = 0;

		if (!g->stream)
			continue;
		for (int j = 0; j < g->nservers; j++) {
			struct ups_server *s = &g->servers[j];

			ses += stats_ld(&s->requests);
			fail += stats_ld(&s->failures);
			up += stats_ld(&s->bytes_up);
			down += stats_ld(&s->bytes_down);
			act += atomic_load(&s->active);
			usable += ups_server_usable(s, now) && atomic_load(&s->eff_weight) > 0;
		}
		if (r->json) {
			out_add(r->out,
				first ? "{\"upstream\":" : ",{\"upstream\":", first ? 12 : 13);
			first = false;
			out_json_str(r->out, g->name);
			out_printf(r->out,
				   ",\"kind\":\"stream\",\"implicit\":%s,\"servers\":%d,"
				   "\"usable\":%d,\"active\":%lld,\"sessions\":%llu,"
				   "\"failures\":%llu,\"bytes_sent\":%llu,\"bytes_received\":%llu,"
				   "\"per_server\":[",
				   g->implicit ? "true" : "false", g->nservers, usable, act, ses,
				   fail, up, down);
		} else {
			out_printf(
				r->out,
				"stream upstream %s%s: servers %d usable %d active %lld sessions "
				"%llu failures %llu sent %llu received %llu\n",
				g->name, g->implicit ? " (implicit)" : "", g->nservers, usable, act,
				ses, fail, up, down);
		}
		for (int j = 0; j < g->nservers; j++) {
			if (r->json && j)
				out_add(r->out, ",", 1);
			stats_server_stream(r, &g->servers[j], now);
		}
		if (r->json)
			out_add(r->out, "]}", 2);
	}
}

static int cmd_stats(struct ctl_req *r)
{
	struct lbd_stats *st = &lbd_stats;
	int ngroups = r->cfg && r->cfg->http ? r->cfg->http->nupstreams : 0;
	bool first = true; /* no upstream entry written yet */

	/* one snapshot, two renderings */
	const char *const fmt =
		r->json ? "{\"connections\":{\"accepted\":%llu,\"handled\":%llu,\"active\":%lld},"
			  "\"requests\":%llu,\"responses\":{\"1xx\":%llu,\"2xx\":%llu,\"3xx\":%llu,"
			  "\"4xx\":%llu,\"5xx\":%llu,\"other\":%llu},\"bytes_in\":%llu,"
			  "\"bytes_out\":%llu,\"upstreams\":["
			: "connections: accepted %llu handled %llu active %lld\n"
			  "requests: %llu\n"
			  "responses: 1xx %llu 2xx %llu 3xx %llu 4xx %llu 5xx %llu other %llu\n"
			  "bytes: in %llu out %llu\n";
	unsigned long long cls[6];
	struct tls_early_stats early;

	tls_early_stats(&early);
	for (int i = 0; i < 6; i++)
		cls[i] = (unsigned long long)stats_ld(&st->status[i]);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral" /* fmt is one of the two literals above */
	out_printf(r->out, fmt, (unsigned long long)stats_ld(&st->accepted),
		   (unsigned long long)stats_ld(&st->handled), (long long)atomic_load(&st->active),
		   (unsigned long long)stats_ld(&st->requests), cls[1], cls[2], cls[3], cls[4],
		   cls[5], cls[0], (unsigned long long)stats_ld(&st->bytes_in),
		   (unsigned long long)stats_ld(&st->bytes_out));
#pragma GCC diagnostic pop
	if (!r->json) {
		out_printf(r->out, "tls: early data accepted %llu rejected %llu requests %llu\n",
			   (unsigned long long)early.accepted, (unsigned long long)early.rejected,
			   (unsigned long long)early.requests);
		out_printf(r->out, "batched sends: %llu upstream requests in %llu system calls\n",
			   (unsigned long long)stats_ld(&st->batch_sends),
			   (unsigned long long)stats_ld(&st->batch_calls));
	}
	for (int i = 0; i < ngroups; i++) {
		const struct ups_group *g = r->cfg->http->upstreams[i];
		unsigned long long req = 0, fail = 0, resp[6] = {0}, lat_n = 0, lat_us = 0;
		long long act = 0;
		int usable = 0;
		int64_t now = lbd_now_ms();

		for (int j = 0; j < g->nservers; j++) {
			struct ups_server *s = &g->servers[j];

			req += stats_ld(&s->requests);
			fail += stats_ld(&s->failures);
			act += atomic_load(&s->active);
			usable += ups_server_usable(s, now) && atomic_load(&s->eff_weight) > 0;
			for (int c = 0; c < 6; c++)
				resp[c] += stats_ld(&s->resp_class[c]);
			for (int b = 0; b < UPS_LAT_BUCKETS; b++)
				lat_n += stats_ld(&s->lat_hist[b]);
			lat_us += stats_ld(&s->lat_sum_us);
		}
		if (r->json) {
			if (!first)
				out_add(r->out, ",", 1);
			out_add(r->out, "{\"upstream\":", 12);
			out_json_str(r->out, g->name);
			out_printf(
				r->out,
				",\"kind\":\"http\",\"implicit\":%s,\"servers\":%d,\"usable\":%d,"
				"\"active\":%lld,\"requests\":%llu,\"failures\":%llu,",
				g->implicit ? "true" : "false", g->nservers, usable, act, req,
				fail);
			out_printf(r->out,
				   "\"responses\":{\"1xx\":%llu,\"2xx\":%llu,\"3xx\":%llu,"
				   "\"4xx\":%llu,\"5xx\":%llu,\"other\":%llu},"
				   "\"response_time\":{\"count\":%llu,\"sum_us\":%llu}}",
				   resp[1], resp[2], resp[3], resp[4], resp[5], resp[0], lat_n,
				   lat_us);
		} else {
			out_printf(
				r->out,
				"upstream %s%s: servers %d usable %d active %lld requests %llu failures %llu\n",
				g->name, g->implicit ? " (implicit)" : "", g->nservers, usable, act,
				req, fail);
			out_printf(
				r->out,
				"upstream %s responses: 1xx %llu 2xx %llu 3xx %llu 4xx %llu 5xx %llu "
				"other %llu; response time: count %llu avg %.3f s\n",
				g->name, resp[1], resp[2], resp[3], resp[4], resp[5], resp[0],
				lat_n, lat_n ? (double)lat_us / (double)lat_n / 1e6 : 0.0);
		}
		first = false;
	}
	stats_stream(r, first);
	stats_workers(r);
	if (r->json)
		out_printf(
			r->out,
			",\"stream\":{\"accepted\":%llu,\"active\":%lld},"
			"\"tls\":{\"early_data\":{\"accepted\":%llu,\"rejected\":%llu,"
			"\"requests\":%llu}},\"batched_sends\":{\"sends\":%llu,\"calls\":%llu}}\n",
			(unsigned long long)stats_ld(&sups_totals.accepted),
			(long long)stats_lds(&sups_totals.active),
			(unsigned long long)early.accepted, (unsigned long long)early.rejected,
			(unsigned long long)early.requests,
			(unsigned long long)stats_ld(&st->batch_sends),
			(unsigned long long)stats_ld(&st->batch_calls));
	return 0;
}

static int post(struct ctl_req *r, int sig, const char *what)
{
	int err;

	if (!r->env || !r->env->post_signal)
		return req_fail(r, "%s is not available here", what);
	err = r->env->post_signal(sig);
	if (err)
		return req_fail(r, "%s failed: %s", what, strerror(-err));
	out_printf(r->out, "%s: started (see the error log for the outcome)\n", what);
	return 0;
}

static int cmd_reload(struct ctl_req *r)
{
	return post(r, SIGHUP, "reload");
}

static int cmd_reopen(struct ctl_req *r)
{
	return post(r, SIGUSR1, "reopen");
}

/* ---- ban list and the XDP guard ------------------------------------------------ */

static int cidr_arg(struct ctl_req *r, const char *w, struct ban_cidr *c)
{
	char msg[160];

	if (ban_cidr_parse(w, c, msg, sizeof(msg)))
		return req_fail(r, "%s", msg);
	return 0;
}

static int cmd_ban_add(struct ctl_req *r)
{
	char reason[LB_BAN_REASON] = "", a[64];
	struct ban_cidr c;
	int64_t ttl = 0;
	size_t off = 0;
	int rc;

	if (cidr_arg(r, r->argv[0], &c))
		return -EINVAL;
	for (int i = 1; i < r->argc; i++) {
		if (strcmp(r->argv[i], "--ttl") == 0 && i + 1 < r->argc) {
			if (cfg_parse_time(r->argv[++i], &ttl) || ttl <= 0)
				return req_fail(r,
						"invalid duration \"%s\" (e.g. 90s, 10m, 1h, 7d)",
						r->argv[i]);
		} else if (strcmp(r->argv[i], "--reason") == 0 && i + 1 < r->argc) {
			/* the rest of the line, up to another option */
			for (i++; i < r->argc && strcmp(r->argv[i], "--ttl") != 0; i++) {
				int n = snprintf(reason + off, sizeof(reason) - off, "%s%s",
						 off ? " " : "", r->argv[i]);

				if (n < 0 || (size_t)n >= sizeof(reason) - off)
					return req_fail(r, "reason longer than %d bytes",
							LB_BAN_REASON - 1);
				off += (size_t)n;
			}
			i--;
		} else {
			return req_fail(
				r,
				"unexpected \"%s\" (usage: ban add CIDR [--ttl DURATION] [--reason TEXT])",
				r->argv[i]);
		}
	}
	ban_cidr_format(&c, a, sizeof(a));
	rc = ban_add(&c, ttl, reason[0] ? reason : NULL, LB_BAN_CTL);
	if (rc == -EEXIST)
		return req_fail(r, "%s is already banned", a);
	if (rc == -ENOSPC)
		return req_fail(r, "the ban list is full (%d entries per address family)", BAN_MAX);
	if (rc)
		return req_fail(r, "cannot ban %s (%d: %s)", a, -rc, strerror(-rc));
	if (ttl)
		log_notice("ban %s added by lbctl for %llds, reason: %s", a,
			   (long long)(ttl / 1000), reason[0] ? reason : "-");
	else
		log_notice("ban %s added by lbctl, no expiry, reason: %s", a,
			   reason[0] ? reason : "-");
	if (r->json)
		out_printf(r->out, "{\"banned\":\"%s\",\"ttl\":%lld}\n", a,
			   (long long)(ttl / 1000));
	else
		out_printf(r->out, "banned %s%s\n", a, ttl ? "" : " (no expiry)");
	return 0;
}

static int cmd_ban_del(struct ctl_req *r)
{
	struct ban_cidr c;
	char a[64];
	int rc;

	if (cidr_arg(r, r->argv[0], &c))
		return -EINVAL;
	ban_cidr_format(&c, a, sizeof(a));
	rc = ban_del(&c);
	if (rc == -ENOENT)
		return req_fail(r, "%s is not banned", a);
	if (rc)
		return req_fail(r, "cannot lift the ban on %s (%d: %s)", a, -rc, strerror(-rc));
	log_notice("ban %s lifted by lbctl", a);
	if (r->json)
		out_printf(r->out, "{\"lifted\":\"%s\"}\n", a);
	else
		out_printf(r->out, "lifted %s\n", a);
	return 0;
}

/* struct list_out - cmd_ban_list's state while entries stream in. */
struct list_out {
	struct ctl_req *r;
	uint64_t now_ns; /* CLOCK_MONOTONIC */
	int n;		 /* entries written */
};

static int list_row(const struct ban_info *bi, void *arg)
{
	struct list_out *lo = arg;
	struct ctl_req *r = lo->r;
	long long left = -1;
	char a[64], exp[32];

	ban_cidr_format(&bi->cidr, a, sizeof(a));
	if (bi->val.expires_ns)
		left = bi->val.expires_ns > lo->now_ns
			       ? (long long)((bi->val.expires_ns - lo->now_ns + 999999999ull) /
					     1000000000ull)
			       : 0;
	if (r->json) {
		out_add(r->out, lo->n ? "," : "", lo->n ? 1 : 0);
		out_printf(r->out, "{\"cidr\":\"%s\",\"expires_in\":", a);
		if (left < 0)
			out_add(r->out, "null", 4);
		else
			out_printf(r->out, "%lld", left);
		out_printf(
			r->out,
			",\"origin\":\"%s\",\"added\":%llu,\"xdp_hits\":%llu,\"accept_hits\":%llu,\"reason\":",
			ban_origin_name(bi->val.origin), (unsigned long long)bi->val.added_unix,
			(unsigned long long)bi->val.hits, (unsigned long long)bi->accept_hits);
		out_json_str(r->out, bi->val.reason);
		out_add(r->out, "}", 1);
	} else {
		if (left < 0)
			snprintf(exp, sizeof(exp), "never");
		else
			snprintf(exp, sizeof(exp), "%llds", left);
		out_printf(r->out, "  %-43s %-10s %-9s %10llu %10llu  %s\n", a, exp,
			   ban_origin_name(bi->val.origin), (unsigned long long)bi->val.hits,
			   (unsigned long long)bi->accept_hits, bi->val.reason);
	}
	lo->n++;
	return r->out->truncated;
}

static int cmd_ban_list(struct ctl_req *r)
{
	struct list_out lo = {.r = r};
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	lo.now_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (r->json)
		out_add(r->out, "{\"bans\":[", 9);
	else
		out_printf(r->out, "bans %s\n  %-43s %-10s %-9s %10s %10s  %s\n",
			   guard_loaded() ? "(XDP and accept time)" : "(accept time: no BPF)",
			   "CIDR", "EXPIRES", "ORIGIN", "XDP-HITS", "REFUSED", "REASON");
	ban_list(list_row, &lo);
	if (r->json)
		out_printf(r->out, "],\"count\":%d,\"xdp\":%s}\n", lo.n,
			   guard_loaded() ? "true" : "false");
	else
		out_printf(r->out, "  %d entr%s\n", lo.n, lo.n == 1 ? "y" : "ies");
	return 0;
}

static int cmd_ban_flush(struct ctl_req *r)
{
	int n = ban_flush();

	log_notice("ban list flushed by lbctl (%d entr%s)", n, n == 1 ? "y" : "ies");
	if (r->json)
		out_printf(r->out, "{\"lifted\":%d}\n", n);
	else
		out_printf(r->out, "lifted %d ban%s\n", n, n == 1 ? "" : "s");
	return 0;
}

static int cmd_kernel_stats(struct ctl_req *r)
{
	static const char *const names[LB_XDP_NREASONS] = {
		[LB_XDP_PASS] = "passed",
		[LB_XDP_PASS_ALLOWED] = "passed_allowed",
		[LB_XDP_PASS_UNPARSED] = "passed_unparsed",
		[LB_XDP_DROP_BANNED] = "dropped_banned",
		[LB_XDP_DROP_SYN] = "dropped_syn_limit",
	};
	uint64_t st[LB_XDP_NREASONS];
	struct guard_if gi[32];
	uint32_t rate, burst;
	int n = guard_ifs(gi, 32);
	bool loaded = guard_stats(st) == 0;

	guard_syn_limit(&rate, &burst);
	if (r->json) {
		out_printf(r->out, "{\"xdp\":%s,\"syn_limit\":", loaded ? "true" : "false");
		if (rate)
			out_printf(r->out, "{\"rate\":%.3f,\"burst\":%u}", rate / 1000.0, burst);
		else
			out_add(r->out, "null", 4);
		out_printf(r->out, ",\"interfaces\":[");
		for (int i = 0; i < n; i++) {
			out_printf(r->out, "%s{\"name\":", i ? "," : "");
			out_json_str(r->out, gi[i].name);
			out_printf(r->out,
				   ",\"ifindex\":%d,\"mode\":\"%s\",\"prog_id\":%u,\"error\":",
				   gi[i].ifindex, gi[i].mode, gi[i].prog_id);
			out_json_str(r->out, gi[i].error);
			out_add(r->out, "}", 1);
		}
		out_printf(r->out, "],\"packets\":{");
		for (int k = 0; k < LB_XDP_NREASONS; k++)
			out_printf(r->out, "%s\"%s\":%llu", k ? "," : "", names[k],
				   (unsigned long long)st[k]);
		out_printf(r->out, "},\"bans\":%d}\n", ban_count());
		return 0;
	}
	out_printf(r->out, "xdp: %s\n",
		   loaded ? "loaded" : "not loaded (no BPF: bans enforced at accept time)");
	if (rate)
		out_printf(r->out, "syn_limit: %.3g/s burst %u\n", rate / 1000.0, burst);
	else
		out_printf(r->out, "syn_limit: off\n");
	for (int i = 0; i < n; i++)
		out_printf(r->out, "interface %s: ifindex %d, mode %s, prog %u%s%s\n", gi[i].name,
			   gi[i].ifindex, gi[i].mode, gi[i].prog_id, gi[i].error[0] ? ", " : "",
			   gi[i].error);
	for (int k = 0; k < LB_XDP_NREASONS; k++)
		out_printf(r->out, "%s: %llu\n", names[k], (unsigned long long)st[k]);
	out_printf(r->out, "bans: %d\n", ban_count());
	return 0;
}

/* ---- streams ------------------------------------------------------------------ */

/* struct conns_out - cmd_conns while rows stream in. */
struct conns_out {
	struct ctl_req *r;
	int n; /* rows written */
};

static int conns_row(const struct tunnel_info *ti, void *arg)
{
	struct conns_out *co = arg;
	struct ctl_req *r = co->r;

	if (r->json) {
		out_add(r->out, co->n ? "," : "", co->n ? 1 : 0);
		out_add(r->out, "{\"client\":", 10);
		out_json_str(r->out, ti->client);
		out_add(r->out, ",\"upstream\":", 12);
		out_json_str(r->out, ti->upstream);
		out_printf(r->out, ",\"path\":\"%s\"", ti->path);
		out_printf(r->out,
			   ",\"age_ms\":%lld,\"bytes_up\":%llu,\"bytes_down\":%llu,\"worker\":%d}",
			   (long long)ti->age_ms, (unsigned long long)ti->bytes_up,
			   (unsigned long long)ti->bytes_down, ti->worker);
	} else {
		out_printf(r->out, "  %-47s %-32s %-8s %8llds %12llu %12llu %6d\n", ti->client,
			   ti->upstream, ti->path, (long long)(ti->age_ms / 1000),
			   (unsigned long long)ti->bytes_up, (unsigned long long)ti->bytes_down,
			   ti->worker);
	}
	co->n++;
	return r->out->truncated;
}

static int cmd_conns(struct ctl_req *r)
{
	struct conns_out co = {.r = r};

	if (r->json)
		out_add(r->out, "{\"conns\":[", 10);
	else
		out_printf(r->out, "streams\n  %-47s %-32s %-8s %9s %12s %12s %6s\n", "CLIENT",
			   "UPSTREAM", "PATH", "AGE", "BYTES-UP", "BYTES-DOWN", "WORKER");
	tunnel_list(conns_row, &co);
	if (r->json)
		out_printf(r->out, "],\"count\":%d}\n", co.n);
	else
		out_printf(r->out, "  %d stream%s\n", co.n, co.n == 1 ? "" : "s");
	return 0;
}

/* split - LINE (a private, NUL-terminated copy) into words in WORDS. */
static int split(char *line, char **words, int max, int *n)
{
	char *save = NULL, *w;

	*n = 0;
	for (w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (*n == max)
			return -E2BIG;
		words[(*n)++] = w;
	}
	return 0;
}

static int dispatch(struct ctl_req *r, char **words, int n)
{
	const struct ctl_cmd *c = NULL;
	bool word_known = false;
	int used = 1;

	if (n == 0)
		return req_fail(r, "empty command (try: help)");
	if (n == 1 && strcmp(words[0], "upstream") == 0)
		return req_fail(
			r,
			"\"upstream\" needs a subcommand: list, set-weight, drain, disable, enable");
	for (size_t i = 0; i < ARRAY_SIZE(ctl_cmds) && !c; i++) {
		if (strcmp(ctl_cmds[i].word, words[0]) != 0)
			continue;
		word_known = true;
		if (!ctl_cmds[i].sub)
			c = &ctl_cmds[i];
		else if (n > 1 && strcmp(ctl_cmds[i].sub, words[1]) == 0)
			c = &ctl_cmds[i], used = 2;
	}
	if (!c && word_known)
		return req_fail(r, "unknown \"%s\" subcommand \"%s\" (try: help)", words[0],
				n > 1 ? words[1] : "");
	if (!c)
		return req_fail(r, "unknown command \"%s\" (try: help)", words[0]);
	r->argc = n - used;
	for (int i = 0; i < r->argc; i++)
		r->argv[i] = words[used + i];
	if (r->argc < c->min || r->argc > c->max)
		return req_fail(r, "usage: %s%s%s%s%s", c->word, c->sub ? " " : "",
				c->sub ? c->sub : "", c->args[0] ? " " : "", c->args);
	return c->fn(r);
}

enum ctl_rc ctl_exec(const struct ctl_env *env, struct cfg *cfg, const char *line, size_t len,
		     struct ctl_out *out)
{
	struct ctl_req r = {.env = env, .cfg = cfg, .out = out};
	char *words[CTL_ARGS_MAX + 1], *copy = NULL;
	int n = 0, k = 0, err;

	if (len && line[len - 1] == '\r')
		len--;
	if (len > CTL_LINE_MAX) {
		err = req_fail(&r, "line too long (max %d bytes)", CTL_LINE_MAX);
		goto done;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t') {
			err = req_fail(&r, "invalid byte 0x%02x in command",
				       (unsigned char)line[i]);
			goto done;
		}
	}
	copy = strndup(line, len);
	if (!copy) {
		err = req_fail(&r, "out of memory");
		goto done;
	}
	if (split(copy, words, CTL_ARGS_MAX + 1, &n)) {
		err = req_fail(&r, "too many words (max %d)", CTL_ARGS_MAX);
		goto done;
	}
	/* --json may sit anywhere: take it out of the words */
	for (int i = 0; i < n; i++) {
		if (strcmp(words[i], "--json") == 0)
			r.json = true;
		else
			words[k++] = words[i];
	}
	err = dispatch(&r, words, k);
done:
	free(copy);
	if (out->truncated) {
		/* a response is all or nothing: never a cut table */
		ctl_out_reset(out);
		snprintf(r.err, sizeof(r.err), "response too large or out of memory");
		err = -ENOMEM;
	}
	if (err) {
		out_printf(out, "ERR %s\n", r.err[0] ? r.err : "failed");
		return CTL_RC_ERR;
	}
	out_add(out, "OK\n", 3);
	return CTL_RC_OK;
}

/* ---- reload carry-over ---------------------------------------------------- */

static const struct ups_server *old_twin(const struct ups_group *og, const struct ups_group *ng,
					 int idx)
{
	const char *name = ng->servers[idx].name;
	int rank = 0;

	/* servers may repeat an address: pair the k-th of a name with the k-th */
	for (int i = 0; i < idx; i++)
		rank += strcmp(ng->servers[i].name, name) == 0;
	for (int i = 0; i < og->nservers; i++) {
		if (strcmp(og->servers[i].name, name) == 0 && rank-- == 0)
			return &og->servers[i];
	}
	return NULL;
}

int ctl_carry_over(const struct cfg *old, struct cfg *new_cfg)
{
	int changed = 0;

	if (!old || !new_cfg)
		return 0;
	/* http and stream groups alike, each paired with its own kind */
	for (int i = 0; i < sups_ngroups(new_cfg); i++) {
		struct ups_group *ng = sups_group_at(new_cfg, i);
		const struct ups_group *og = sups_twin(old, ng);

		if (!og)
			continue;
		for (int j = 0; j < ng->nservers; j++) {
			struct ups_server *ns = &ng->servers[j];
			const struct ups_server *os = old_twin(og, ng, j);
			int w, admin;
			bool hit = false;

			if (!os)
				continue;
			w = atomic_load(&os->eff_weight);
			admin = atomic_load(&os->admin);
			if (w != os->weight && ups_server_set_weight(ng, ns, w) == 0)
				hit = true;
			if (admin != UPS_ADMIN_UP) {
				atomic_store(&ns->admin, admin);
				hit = true;
			}
			/* what the active checks learned, while both generations
			 * check the group: counted when it keeps a server out */
			if (og->hc.enabled && ng->hc.enabled) {
				hc_carry_server(ns, os);
				hit |= atomic_load(&ns->health) != UPS_HEALTH_UP;
			}
			/* a ramp in progress goes on; transitions counted before
			 * the reload are not new recoveries */
			atomic_store(&ns->ramp_hc_seen, atomic_load(&ns->hc_changes));
			if (atomic_load(&ns->health) != UPS_HEALTH_UP)
				atomic_store(&ns->ramp_hc_seen, atomic_load(&os->ramp_hc_seen));
			atomic_store(&ns->ramp_ms, atomic_load(&os->ramp_ms));
			changed += hit;
		}
	}
	return changed;
}

/* ---- the socket server ---------------------------------------------------- */

/* struct ctl_client - one connected control client. */
struct ctl_client {
	int fd;			   /* non-blocking stream socket */
	char in[CTL_LINE_MAX + 2]; /* unparsed request bytes ("\r\n" included) */
	size_t inlen;		   /* bytes in `in` */
	struct ctl_out out;	   /* responses not yet written */
	size_t outoff;		   /* bytes of out already written */
	int64_t last_ms;	   /* last read or write progress */
	bool eof;		   /* peer shut its side: finish writing, close */
	bool skipping;		   /* dropping the rest of a too-long line */
	bool want_out;		   /* registered for EPOLLOUT (else EPOLLIN) */
};

/* struct ctl_server - the listener and its clients. */
struct ctl_server {
	int lfd;						/* listening socket */
	int epfd;						/* epoll of lfd and clients */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* socket file */
	struct ctl_client *clients[CTL_CLIENTS_MAX];		/* NULL = free slot */
};

int ctl_server_fd(const struct ctl_server *s)
{
	return s->epfd;
}

static int sock_alive(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	memcpy(a.sun_path, path, strlen(path) + 1);
	rc = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return rc;
}

int ctl_server_open(const struct cfg *cfg, struct ctl_server **out, char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN};
	struct ctl_server *s = NULL;
	const char *path = cfg->ctl_socket;
	struct stat st;
	mode_t old_mask;
	int rc;

	*out = NULL;
	if (!path)
		return 0;
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "control socket path \"%s\" is too long (max %zu bytes)",
			 path, sizeof(a.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "control socket \"%s\" exists and is not a socket",
				 path);
			return -EEXIST;
		}
		if (sock_alive(path) == 1) {
			snprintf(err, errlen, "control socket \"%s\" is in use by a running daemon",
				 path);
			return -EADDRINUSE;
		}
		unlink(path); /* stale: left by a daemon that died */
	}
	{
		/* /run/lbd/ and the like: create the directory (0755) when it
		 * is missing, as a service manager would */
		char dir[sizeof(s->path)];
		char *slash;

		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
				snprintf(err, errlen, "mkdir() \"%s\" failed (%d: %s)", dir, errno,
					 strerror(errno));
				return -errno;
			}
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->epfd = -1;
	memcpy(s->path, path, strlen(path) + 1);
	memcpy(a.sun_path, path, strlen(path) + 1);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd == -1)
		goto sys_fail;
	/* the file is born owner-only: no window where others may connect */
	old_mask = umask(0177);
	rc = bind(s->lfd, (struct sockaddr *)&a, sizeof(a));
	umask(old_mask);
	if (rc == -1)
		goto sys_fail;
	if (cfg->ctl_socket_group) {
		struct group *gr = getgrnam(cfg->ctl_socket_group);

		if (!gr) {
			rc = -ENOENT;
			snprintf(err, errlen, "control socket: unknown group \"%s\"",
				 cfg->ctl_socket_group);
			goto fail;
		}
		if (chown(path, (uid_t)-1, gr->gr_gid) == -1)
			goto sys_fail;
	}
	if (chmod(path, (mode_t)cfg->ctl_socket_mode) == -1 || listen(s->lfd, 16) == -1)
		goto sys_fail;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.data.ptr = NULL; /* NULL: the listener */
	if (s->epfd == -1 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev) == -1)
		goto sys_fail;
	*out = s;
	return 0;
sys_fail:
	rc = -errno;
	snprintf(err, errlen, "control socket \"%s\": %s", path, strerror(errno));
fail:
	if (s->lfd != -1) {
		close(s->lfd);
		unlink(path);
	}
	if (s->epfd != -1)
		close(s->epfd);
	free(s);
	return rc;
}

static void client_close(struct ctl_server *s, int slot)
{
	struct ctl_client *c = s->clients[slot];

	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	ctl_out_free(&c->out);
	free(c);
	s->clients[slot] = NULL;
}

static void client_accept(struct ctl_server *s, int64_t now)
{
	for (int tries = 0; tries < CTL_CLIENTS_MAX; tries++) {
		struct epoll_event ev = {.events = EPOLLIN};
		struct ctl_client *c;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), slot = -1;

		if (fd == -1)
			return;
		for (int i = 0; i < CTL_CLIENTS_MAX && slot < 0; i++)
			if (!s->clients[i])
				slot = i;
		c = slot < 0 ? NULL : calloc(1, sizeof(*c));
		if (!c) {
			static const char busy[] = "ERR too many control clients\n";

			/* best effort: the socket buffer of a new connection is empty */
			if (write(fd, busy, sizeof(busy) - 1) == -1)
				(void)0;
			close(fd);
			continue;
		}
		c->fd = fd;
		c->last_ms = now;
		ev.data.ptr = c;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
			close(fd);
			free(c);
			continue;
		}
		s->clients[slot] = c;
	}
}

/* client_lines - execute every complete line in c->in, up to the first
 * output that cannot be written at once (responses stay in order and the
 * output of one client stays bounded: we stop reading while it is pending). */
static void client_lines(struct ctl_client *c, const struct ctl_env *env, struct cfg *cfg)
{
	size_t start = 0;

	while (c->out.len == c->outoff) {
		char *nl = memchr(c->in + start, '\n', c->inlen - start);
		size_t n;

		if (c->skipping) {
			/* the ERR was sent: drop bytes up to the end of that line */
			start = nl ? (size_t)(nl - c->in) + 1 : c->inlen;
			c->skipping = !nl;
			if (!nl)
				break;
			continue;
		}
		if (!nl) {
			if (c->inlen - start > CTL_LINE_MAX + 1 ||
			    (c->inlen - start == CTL_LINE_MAX + 1 && c->in[c->inlen - 1] != '\r')) {
				/* ctl_exec answers the length error without reading */
				ctl_exec(env, cfg, c->in + start, c->inlen - start, &c->out);
				c->skipping = true;
				start = c->inlen;
			} else if (c->eof && c->inlen > start) {
				/* a last command without newline */
				ctl_exec(env, cfg, c->in + start, c->inlen - start, &c->out);
				start = c->inlen;
			}
			break;
		}
		n = (size_t)(nl - (c->in + start));
		if (c->outoff == c->out.len) {
			ctl_out_reset(&c->out);
			c->outoff = 0;
		}
		ctl_exec(env, cfg, c->in + start, n, &c->out);
		start += n + 1;
	}
	memmove(c->in, c->in + start, c->inlen - start);
	c->inlen -= start;
}

/* client_io - one readiness event: returns false when C must be closed. */
static bool client_io(struct ctl_server *s, struct ctl_client *c, const struct ctl_env *env,
		      struct cfg *cfg, int64_t now)
{
	struct epoll_event ev;
	bool want;

	if (!c->eof && c->out.len == c->outoff && c->inlen < sizeof(c->in)) {
		ssize_t n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);

		if (n > 0) {
			c->inlen += (size_t)n;
			c->last_ms = now;
		} else if (n == 0) {
			c->eof = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			return false;
		}
		client_lines(c, env, cfg);
	}
	while (c->outoff < c->out.len) {
		ssize_t n =
			send(c->fd, c->out.buf + c->outoff, c->out.len - c->outoff, MSG_NOSIGNAL);

		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return false;
		}
		c->outoff += (size_t)n;
		c->last_ms = now;
		if (c->outoff == c->out.len) {
			ctl_out_reset(&c->out);
			c->outoff = 0;
			/* more complete lines may wait behind that response */
			client_lines(c, env, cfg);
		}
	}
	if (c->out.len == c->outoff && c->eof)
		return false;
	want = c->outoff < c->out.len;
	if (want != c->want_out) {
		ev.events = want ? EPOLLOUT : EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1)
			return false;
		c->want_out = want;
	}
	return true;
}

void ctl_server_run(struct ctl_server *s, const struct ctl_env *env, struct cfg *cfg)
{
	struct epoll_event evs[CTL_CLIENTS_MAX + 1];
	int64_t now = lbd_now_ms();
	int n = epoll_wait(s->epfd, evs, (int)ARRAY_SIZE(evs), 0);

	for (int i = 0; i < n; i++) {
		struct ctl_client *c = evs[i].data.ptr;
		int slot = -1;

		if (!c) {
			client_accept(s, now);
			continue;
		}
		for (int k = 0; k < CTL_CLIENTS_MAX; k++)
			if (s->clients[k] == c)
				slot = k;
		/* a client closed earlier in this batch cannot be in clients[] */
		if (slot >= 0 && !client_io(s, c, env, cfg, now))
			client_close(s, slot);
	}
	for (int k = 0; k < CTL_CLIENTS_MAX; k++)
		if (s->clients[k] && now - s->clients[k]->last_ms > CTL_IDLE_MS)
			client_close(s, k);
}

void ctl_server_close(struct ctl_server *s)
{
	if (!s)
		return;
	for (int k = 0; k < CTL_CLIENTS_MAX; k++)
		if (s->clients[k])
			client_close(s, k);
	close(s->lfd);
	close(s->epfd);
	unlink(s->path);
	free(s);
}

/* ---- cache ------------------------------------------------------------------ */

struct zone_names {
	char names[16][64];
	int n;
};

static void zone_name_add(const char *name, void *arg)
{
	struct zone_names *zn = arg;

	if (zn->n < (int)ARRAY_SIZE(zn->names))
		snprintf(zn->names[zn->n++], sizeof(zn->names[0]), "%s", name);
}

static int cmd_cache_list(struct ctl_req *r)
{
	struct zone_names zn = {0};
	int shown = 0;

	if (r->argc)
		zone_name_add(r->argv[0], &zn);
	else
		cache_zone_names(zone_name_add, &zn);
	if (!r->json)
		out_printf(r->out, "%-16s %12s %12s %9s %10s %10s %9s  %s\n", "zone", "size",
			   "max_size", "entries", "hits", "misses", "hit ratio", "path");
	else if (!r->argc)
		out_add(r->out, "[", 1);
	for (int i = 0; i < zn.n; i++) {
		struct cache_stats st;
		uint64_t total;
		double ratio;

		if (cache_zone_stats(zn.names[i], &st)) {
			if (r->argc)
				return req_fail(r, "no cache zone \"%s\"", zn.names[i]);
			continue;
		}
		total = st.hits + st.misses;
		ratio = total ? 100.0 * (double)st.hits / (double)total : 0.0;
		if (r->json) {
			out_printf(r->out, "%s{\"zone\":", shown ? "," : "");
			out_json_str(r->out, zn.names[i]);
			out_add(r->out, ",\"path\":", 8);
			out_json_str(r->out, st.path);
			out_printf(r->out,
				   ",\"size\":%llu,\"max_size\":%llu,\"entries\":%llu,"
				   "\"slots\":%llu,\"hits\":%llu,\"misses\":%llu,"
				   "\"hit_ratio\":%.4f,\"stores\":%llu,\"store_errors\":%llu}",
				   (unsigned long long)st.size, (unsigned long long)st.max_size,
				   (unsigned long long)st.entries, (unsigned long long)st.slots,
				   (unsigned long long)st.hits, (unsigned long long)st.misses,
				   ratio / 100.0, (unsigned long long)st.stores,
				   (unsigned long long)st.store_err);
		} else {
			out_printf(r->out, "%-16s %12llu %12llu %9llu %10llu %10llu %8.1f%%  %s\n",
				   zn.names[i], (unsigned long long)st.size,
				   (unsigned long long)st.max_size, (unsigned long long)st.entries,
				   (unsigned long long)st.hits, (unsigned long long)st.misses,
				   ratio, st.path);
		}
		shown++;
	}
	if (r->json)
		out_add(r->out, r->argc ? "\n" : "]\n", r->argc ? 1 : 2);
	return 0;
}

static int cmd_cache_purge(struct ctl_req *r)
{
	const char *key = r->argv[1];
	size_t len = strlen(key);
	bool prefix = len && key[len - 1] == '*';
	long n = cache_purge(r->argv[0], key, prefix ? len - 1 : len, prefix);

	if (n < 0)
		return req_fail(r, "no cache zone \"%s\"", r->argv[0]);
	log_notice("cache zone \"%s\": %ld entries purged by lbctl (\"%s\")", r->argv[0], n, key);
	if (r->json) {
		out_add(r->out, "{\"zone\":", 8);
		out_json_str(r->out, r->argv[0]);
		out_printf(r->out, ",\"purged\":%ld}\n", n);
	} else {
		out_printf(r->out, "%ld entries purged from %s\n", n, r->argv[0]);
	}
	return 0;
}
