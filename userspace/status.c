/* SPDX-License-Identifier: MIT */
/*
 * Status pages lbd serves itself: `stub_status` with nginx's exact text,
 * and `lbd_metrics`, the same counters and the upstream servers' figures in
 * the Prometheus text format (version 0.0.4). Both read relaxed atomics
 * only: no lock, no effect on the request path of other connections.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "lbd.h"
#include "stats.h"
#include "status.h"
#include "sups.h"
#include "tls.h"
#include "ups.h"

/* struct page - the body being built, in the request pool. */
struct page {
	char *p;
	size_t len, cap;
	struct conn *c;
	bool oom;
};

static void page_printf(struct page *pg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void page_printf(struct page *pg, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = pg->cap - pg->len;

		va_start(ap, fmt);
		n = vsnprintf(pg->p ? pg->p + pg->len : NULL, pg->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			pg->oom = true;
			return;
		}
		if (pg->p && (size_t)n < room) {
			pg->len += (size_t)n;
			return;
		}
		size_t cap = pg->cap ? pg->cap * 2 : 4096;
		char *np;

		while (cap - pg->len <= (size_t)n)
			cap *= 2;
		np = pool_alloc(&pg->c->pool, cap);
		if (!np) {
			pg->oom = true;
			return;
		}
		if (pg->len)
			memcpy(np, pg->p, pg->len);
		pg->p = np;
		pg->cap = cap;
	}
}

static void send_page(struct conn *c, struct page *pg, const char *type)
{
	struct http_req *r = &c->req;

	if (pg->oom) {
		http_finalize(c, 500);
		return;
	}
	if (http_head_start(c, 200) ||
	    http_head_addf(c, "Content-Type: %s\r\nContent-Length: %zu\r\n", type, pg->len) ||
	    http_head_finish(c, true) || (!r->head && http_out_append(c, pg->p, pg->len))) {
		conn_close(c);
		return;
	}
	if (!r->head)
		r->body_bytes_sent = pg->len;
	http_send_body(c);
}

static bool get_or_head(struct conn *c)
{
	if (c->req.head || lstr_eq(c->req.method, LSTR("GET")))
		return true;
	http_finalize(c, 405);
	return false;
}

/* status_stub - nginx's page, byte for byte:
 *   Active connections: 1
 *   server accepts handled requests
 *    10 10 12
 *   Reading: 0 Writing: 1 Waiting: 0
 * (each number line ends with a space before the newline, as nginx's). */
void status_stub(struct conn *c)
{
	struct page pg = {.c = c};
	/* stream sessions are active connections but neither reading, writing
	 * nor waiting, as in nginx (its waiting counts idle HTTP ones) */
	int64_t active = stats_lds(&lbd_stats.active), reading = stats_lds(&lbd_stats.reading),
		writing = stats_lds(&lbd_stats.writing),
		waiting = active - reading - writing - stats_lds(&sups_totals.active);

	if (!get_or_head(c))
		return;
	if (waiting < 0)
		waiting = 0;
	page_printf(&pg, "Active connections: %lld \n", (long long)active);
	page_printf(&pg, "server accepts handled requests\n");
	page_printf(&pg, " %llu %llu %llu \n", (unsigned long long)stats_ld(&lbd_stats.accepted),
		    (unsigned long long)stats_ld(&lbd_stats.handled),
		    (unsigned long long)stats_ld(&lbd_stats.requests));
	page_printf(&pg, "Reading: %lld Writing: %lld Waiting: %lld \n", (long long)reading,
		    (long long)writing, (long long)waiting);
	send_page(c, &pg, "text/plain");
}

/* label - a Prometheus label value: backslash, quote and newline escaped. */
static void label(struct page *pg, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			page_printf(pg, "\\%c", *s);
		else if (*s == '\n')
			page_printf(pg, "\\n");
		else
			page_printf(pg, "%c", *s);
	}
}

static void help(struct page *pg, const char *name, const char *type, const char *text)
{
	page_printf(pg, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* One metric family over every server of every upstream group. */
enum srv_metric {
	M_REQUESTS,
	M_FAILURES,
	M_ACTIVE,
	M_WEIGHT,
	M_USABLE,
	M_HEALTHY,
	M_HC_CHANGES,
	M_BYTES_UP,   /* stream servers only */
	M_BYTES_DOWN, /* stream servers only */
};

static const char *const srv_metric_names[] = {
	[M_REQUESTS] = "lbd_upstream_requests_total",
	[M_FAILURES] = "lbd_upstream_failures_total",
	[M_ACTIVE] = "lbd_upstream_active_requests",
	[M_WEIGHT] = "lbd_upstream_weight",
	[M_USABLE] = "lbd_upstream_up",
	[M_HEALTHY] = "lbd_upstream_healthy",
	[M_HC_CHANGES] = "lbd_upstream_health_changes_total",
	[M_BYTES_UP] = "lbd_upstream_bytes_sent_total",
	[M_BYTES_DOWN] = "lbd_upstream_bytes_received_total",
};

/* server_family - metric M of every server of every upstream group, http
 * ones first; a stream group's servers carry kind="stream" (http series
 * keep the label set they always had). Sessions count as requests there. */
static void server_family(struct page *pg, const struct cfg *cfg, enum srv_metric m, int64_t now)
{
	for (int i = 0; i < sups_ngroups(cfg); i++) {
		const struct ups_group *g = sups_group_at(cfg, i);

		if ((m == M_BYTES_UP || m == M_BYTES_DOWN) && !g->stream)
			continue;

		for (int k = 0; k < g->nservers; k++) {
			struct ups_server *s = &g->servers[k];
			long long v = 0;

			switch (m) {
			case M_REQUESTS:
				v = (long long)atomic_load_explicit(&s->requests,
								    memory_order_relaxed);
				break;
			case M_FAILURES:
				v = (long long)atomic_load_explicit(&s->failures,
								    memory_order_relaxed);
				break;
			case M_ACTIVE:
				v = atomic_load_explicit(&s->active, memory_order_relaxed);
				break;
			case M_WEIGHT:
				v = atomic_load_explicit(&s->eff_weight, memory_order_relaxed);
				break;
			case M_USABLE:
				v = ups_server_usable(s, now);
				break;
			case M_HEALTHY:
				v = atomic_load_explicit(&s->health, memory_order_relaxed) ==
				    UPS_HEALTH_UP;
				break;
			case M_HC_CHANGES:
				v = (long long)atomic_load_explicit(&s->hc_changes,
								    memory_order_relaxed);
				break;
			case M_BYTES_UP:
				v = (long long)stats_ld(&s->bytes_up);
				break;
			case M_BYTES_DOWN:
				v = (long long)stats_ld(&s->bytes_down);
				break;
			}
			page_printf(pg, "%s{upstream=\"", srv_metric_names[m]);
			label(pg, g->name);
			page_printf(pg, "\",server=\"");
			label(pg, s->name);
			page_printf(pg, "\"%s} %lld\n", g->stream ? ",kind=\"stream\"" : "", v);
		}
	}
}

static void server_labels(struct page *pg, const struct ups_group *g, const struct ups_server *s)
{
	page_printf(pg, "upstream=\"");
	label(pg, g->name);
	page_printf(pg, "\",server=\"");
	label(pg, s->name);
	page_printf(pg, "\"");
}

/* lbd_upstream_responses_total{upstream,server,class}: responses relayed. */
static void server_responses(struct page *pg, const struct cfg *cfg)
{
	static const char *const classes[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};

	help(pg, "lbd_upstream_responses_total", "counter",
	     "Responses relayed from the server, by status class.");
	for (int i = 0; cfg->http && i < cfg->http->nupstreams; i++) {
		const struct ups_group *g = cfg->http->upstreams[i];

		for (int k = 0; k < g->nservers; k++) {
			struct ups_server *s = &g->servers[k];

			for (int cl = 1; cl <= 6; cl++) {
				page_printf(pg, "lbd_upstream_responses_total{");
				server_labels(pg, g, s);
				page_printf(pg, ",class=\"%s\"} %llu\n", classes[cl % 6],
					    (unsigned long long)stats_ld(&s->resp_class[cl % 6]));
			}
		}
	}
}

/* lbd_upstream_response_seconds: histogram of full response times. */
static void server_latency(struct page *pg, const struct cfg *cfg)
{
	static const int64_t bounds[] = UPS_LAT_BOUNDS_US;

	help(pg, "lbd_upstream_response_seconds", "histogram",
	     "Time from sending the request to the last response byte.");
	for (int i = 0; cfg->http && i < cfg->http->nupstreams; i++) {
		const struct ups_group *g = cfg->http->upstreams[i];

		for (int k = 0; k < g->nservers; k++) {
			struct ups_server *s = &g->servers[k];
			uint64_t cum = 0;

			for (int b = 0; b < UPS_LAT_BUCKETS; b++) {
				cum += stats_ld(&s->lat_hist[b]);
				page_printf(pg, "lbd_upstream_response_seconds_bucket{");
				server_labels(pg, g, s);
				if (b < (int)ARRAY_SIZE(bounds))
					page_printf(pg, ",le=\"%g\"} %llu\n",
						    (double)bounds[b] / 1e6,
						    (unsigned long long)cum);
				else
					page_printf(pg, ",le=\"+Inf\"} %llu\n",
						    (unsigned long long)cum);
			}
			page_printf(pg, "lbd_upstream_response_seconds_sum{");
			server_labels(pg, g, s);
			page_printf(pg, "} %.6f\n", (double)stats_ld(&s->lat_sum_us) / 1e6);
			page_printf(pg, "lbd_upstream_response_seconds_count{");
			server_labels(pg, g, s);
			page_printf(pg, "} %llu\n", (unsigned long long)cum);
		}
	}
}

void status_metrics(struct conn *c)
{
	static const char *const classes[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
	struct page pg = {.c = c};
	struct tls_early_stats early;
	const struct cfg *cfg = c->cfg;
	int64_t now = lbd_now_ms(), active = stats_lds(&lbd_stats.active),
		reading = stats_lds(&lbd_stats.reading), writing = stats_lds(&lbd_stats.writing);

	if (!get_or_head(c))
		return;
	help(&pg, "lbd_connections_accepted_total", "counter", "Client connections accepted.");
	page_printf(&pg, "lbd_connections_accepted_total %llu\n",
		    (unsigned long long)stats_ld(&lbd_stats.accepted));
	help(&pg, "lbd_connections_active", "gauge", "Open client connections.");
	page_printf(&pg, "lbd_connections_active %lld\n", (long long)active);
	help(&pg, "lbd_connections", "gauge", "Open client connections by state.");
	page_printf(&pg, "lbd_connections{state=\"reading\"} %lld\n", (long long)reading);
	page_printf(&pg, "lbd_connections{state=\"writing\"} %lld\n", (long long)writing);
	page_printf(
		&pg, "lbd_connections{state=\"waiting\"} %lld\n",
		(long long)LBD_MAX(active - reading - writing - stats_lds(&sups_totals.active), 0));
	help(&pg, "lbd_http_requests_total", "counter", "HTTP requests read.");
	page_printf(&pg, "lbd_http_requests_total %llu\n",
		    (unsigned long long)stats_ld(&lbd_stats.requests));
	help(&pg, "lbd_http_responses_total", "counter", "HTTP responses by status class.");
	for (int i = 1; i <= 6; i++) {
		int k = i % 6; /* 1xx..5xx, then other */

		page_printf(&pg, "lbd_http_responses_total{class=\"%s\"} %llu\n", classes[k],
			    (unsigned long long)stats_ld(&lbd_stats.status[k]));
	}
	help(&pg, "lbd_bytes_sent_total", "counter", "Bytes sent to clients.");
	page_printf(&pg, "lbd_bytes_sent_total %llu\n",
		    (unsigned long long)stats_ld(&lbd_stats.bytes_out));
	help(&pg, "lbd_bytes_received_total", "counter", "Request bytes read from clients.");
	page_printf(&pg, "lbd_bytes_received_total %llu\n",
		    (unsigned long long)stats_ld(&lbd_stats.bytes_in));
	tls_early_stats(&early);
	help(&pg, "lbd_tls_early_data_total", "counter",
	     "TLS 1.3 handshakes whose 0-RTT data was accepted or rejected.");
	page_printf(&pg,
		    "lbd_tls_early_data_total{result=\"accepted\"} %llu\n"
		    "lbd_tls_early_data_total{result=\"rejected\"} %llu\n",
		    (unsigned long long)early.accepted, (unsigned long long)early.rejected);
	help(&pg, "lbd_tls_early_data_requests_total", "counter",
	     "Requests read from TLS 1.3 early data.");
	page_printf(&pg, "lbd_tls_early_data_requests_total %llu\n",
		    (unsigned long long)early.requests);
	help(&pg, "lbd_upstream_requests_total", "counter",
	     "Requests (stream: sessions) sent to the server.");
	server_family(&pg, cfg, M_REQUESTS, now);
	help(&pg, "lbd_upstream_failures_total", "counter",
	     "Failed tries counted against the server (passive health).");
	server_family(&pg, cfg, M_FAILURES, now);
	help(&pg, "lbd_upstream_active_requests", "gauge",
	     "Requests (stream: sessions) in flight to the server.");
	server_family(&pg, cfg, M_ACTIVE, now);
	help(&pg, "lbd_upstream_weight", "gauge", "Weight in force.");
	server_family(&pg, cfg, M_WEIGHT, now);
	help(&pg, "lbd_upstream_up", "gauge",
	     "1 when the balancer may pick the server now (not down, drained, failed or full).");
	server_family(&pg, cfg, M_USABLE, now);
	help(&pg, "lbd_upstream_healthy", "gauge",
	     "Active health: 1 healthy (or not checked), 0 failed its checks.");
	server_family(&pg, cfg, M_HEALTHY, now);
	help(&pg, "lbd_upstream_health_changes_total", "counter",
	     "Active health transitions (healthy <-> unhealthy).");
	server_family(&pg, cfg, M_HC_CHANGES, now);
	if (cfg->stream) {
		help(&pg, "lbd_upstream_bytes_sent_total", "counter",
		     "Bytes sent to the server by ended stream sessions.");
		server_family(&pg, cfg, M_BYTES_UP, now);
		help(&pg, "lbd_upstream_bytes_received_total", "counter",
		     "Bytes received from the server by ended stream sessions.");
		server_family(&pg, cfg, M_BYTES_DOWN, now);
		help(&pg, "lbd_stream_sessions_accepted_total", "counter",
		     "Stream sessions accepted.");
		page_printf(&pg, "lbd_stream_sessions_accepted_total %llu\n",
			    (unsigned long long)stats_ld(&sups_totals.accepted));
		help(&pg, "lbd_stream_sessions_active", "gauge", "Open stream sessions.");
		page_printf(&pg, "lbd_stream_sessions_active %lld\n",
			    (long long)stats_lds(&sups_totals.active));
	}
	server_responses(&pg, cfg);
	server_latency(&pg, cfg);
	send_page(c, &pg, "text/plain; version=0.0.4");
}
