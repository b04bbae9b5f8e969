/* SPDX-License-Identifier: MIT */
/*
 * Stream sessions (see include/stream.h). One session per accepted
 * connection, owned by the worker thread that accepted it:
 *
 *	PPROTO     (`listen ... proxy_protocol`) read the PROXY header, bounded
 *	           by proxy_protocol_timeout; with set_real_ip_from trusting
 *	           the peer, its client becomes the session's ($remote_addr,
 *	           the balancers' key, an upstream PROXY header), as nginx's
 *	           stream realip module does
 *	HANDSHAKE  (`listen ... ssl`) the TLS handshake with the client,
 *	           bounded by ssl_handshake_timeout, then nginx's client
 *	           certificate verdict (stream_ssl.c)
 *	PREREAD    (ssl_preread on) peek at the ClientHello, bounded in size
 *	           (preread_buffer_size) and time (preread_timeout)
 *	CONNECTING a non-blocking connect to the picked server, bounded by
 *	           proxy_connect_timeout; a failure marks the server as HTTP
 *	           does and, with proxy_next_upstream, the next one is tried
 *	UPSSL      (proxy_ssl on) the TLS handshake with the upstream, bounded
 *	           by proxy_connect_timeout; a failure is the server's, as a
 *	           failed connect
 *	TUNNEL     tunnel.c moves the bytes (PROXY v1 header first) until
 *	           both FINs, a reset, or proxy_timeout without a byte
 *
 * A session keeps the configuration generation it started with, so a
 * reload cuts nothing. Sessions are never freed inside their own
 * callbacks: the loop frees them after the batch (ev_defer).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "alog.h"
#include "auth.h"
#include "cfg.h"
#include "ev.h"
#include "geo.h"
#include "ksplice.h"
#include "lbd.h"
#include "limit.h"
#include "log.h"
#include "pproto.h"
#include "preread.h"
#include "proxy_dyn.h"
#include "realip.h"
#include "resolver.h"
#include "sockaddr.h"
#include "split.h"
#include "stats.h"
#include "stream.h"
#include "stream_int.h"
#include "stream_ssl.h"
#include "stream_udp.h"
#include "sups.h"
#include "tunnel.h"
#include "upbind.h"
#include "ups.h"
#include "var.h"
#include "worker.h"

#define SESS_FREE_MAX 64   /* sessions kept for reuse per thread */
#define LINE_MAX_LEN  4096 /* longest access log line */

_Static_assert(PREREAD_BUFFER_MAX <= RELAY_BUF_SIZE, "a preread fits a relay buffer");
_Static_assert(STREAM_RETURN_MAX <= RELAY_BUF_SIZE, "a return value fits a relay buffer");
_Static_assert(STREAM_SET_MAX <= 32 && STREAM_SET_BIG < 65536, "set_mask and set_off sizes");
_Static_assert(STREAM_SET_BUF <= STREAM_SET_BIG, "set_big holds what set_buf held");

/* set_store - where the session's `set` values are: set_buf, or set_big
 * once they outgrew it. */
static inline char *set_store(const struct sess *s)
{
	return s->set_big ? s->set_big : (char *)s->set_buf;
}

static __thread struct sess *sessions; /* this worker's open sessions */
static __thread int nsessions;
static __thread struct sess *free_sess[SESS_FREE_MAX];
static __thread int nfree_sess;

static void finalize(struct sess *s, int status);
static void pick_connect(struct sess *s);
static void content(struct sess *s);
static void drive(struct sess *s);

int stream_active(void)
{
	return nsessions;
}

/* ---- lookups ------------------------------------------------------------------ */

const struct cfg_listen *stream_listen_at(const struct cfg *cfg, int i)
{
	const struct cfg_stream *st = cfg->stream;

	for (int k = 0; st && k < st->nservers; k++) {
		if (i < st->servers[k]->nlistens)
			return &st->servers[k]->listens[i];
		i -= st->servers[k]->nlistens;
	}
	return NULL;
}

struct stream_srv *stream_find_server(const struct cfg *cfg, const struct sockaddr_storage *addr,
				      socklen_t len, const struct cfg_listen **ls)
{
	const struct cfg_stream *st = cfg->stream;

	for (int k = 0; st && k < st->nservers; k++)
		for (int j = 0; j < st->servers[k]->nlistens; j++) {
			const struct cfg_listen *l = &st->servers[k]->listens[j];

			if (!l->udp && l->addrlen == len && memcmp(&l->addr, addr, len) == 0) {
				if (ls)
					*ls = l;
				return st->servers[k];
			}
		}
	return NULL;
}

static struct ups_group *group_named(const struct cfg_stream *st, const char *name, size_t len)
{
	struct ups_group *imp = NULL;

	for (int i = 0; i < st->ngroups; i++) {
		struct ups_group *g = st->groups[i];

		if (strlen(g->name) != len || memcmp(g->name, name, len) != 0)
			continue;
		if (!g->implicit)
			return g;
		imp = g;
	}
	return imp;
}

/* ---- variables ---------------------------------------------------------------- */

/* bytes - per direction, what the tunnel and the kernel moved. D: 0
 * client->upstream, 1 upstream->client. */
static uint64_t bytes(const struct sess *s, int d)
{
	if (s->ud.on) /* datagrams: what went to the upstream, what came from it */
		return d == TUN_UP ? s->ud.u_sent : s->ud.u_recv;
	if (!s->tun_on)
		return 0;
	return atomic_load_explicit(&s->tun.bytes[d], memory_order_relaxed) + s->kbytes[d];
}

static uint64_t client_received(const struct sess *s)
{
	uint64_t up = bytes(s, TUN_UP);

	if (s->ud.on)
		return s->ud.c_recv;
	return up > s->pp_len ? up - s->pp_len : 0;
}

/* var_value - value of stream variable V for S; TMP (CAP bytes) holds
 * computed text. Returns false when the variable is not found (logged as
 * "-"). */
static bool var_value(struct sess *s, int v, char *tmp, size_t cap, struct lstr *out)
{
	int port;
	int64_t now = lbd_now_ms();
	struct timespec ts;
	struct tm tm;
	size_t n = 0;

	out->p = tmp;
	out->len = 0;
	switch (v) {
	case SV_REMOTE_ADDR:
		n = lbd_sa_text(&s->peer, 0, 0, tmp, cap);
		break;
	case SV_REMOTE_PORT:
		port = lbd_sa_port(&s->peer);
		n = port ? (size_t)snprintf(tmp, cap, "%d", port) : 0; /* "" for unix */
		break;
	case SV_SERVER_ADDR:
		n = lbd_sa_text(&s->local, 0, 0, tmp, cap);
		break;
	case SV_SERVER_PORT:
		port = lbd_sa_port(&s->local);
		n = port ? (size_t)snprintf(tmp, cap, "%d", port) : 0;
		break;
	case SV_BINARY_REMOTE_ADDR:
		if (s->peer.ss_family == AF_INET) {
			memcpy(tmp, &((struct sockaddr_in *)&s->peer)->sin_addr, 4);
			n = 4;
		} else if (s->peer.ss_family == AF_INET6) {
			memcpy(tmp, &((struct sockaddr_in6 *)&s->peer)->sin6_addr, 16);
			n = 16;
		}
		break;
	case SV_UPSTREAM_ADDR:
		if (!s->upaddr_len)
			return false;
		out->p = s->upaddr;
		out->len = s->upaddr_len;
		return true;
	case SV_BYTES_SENT:
		n = (size_t)snprintf(
			tmp, cap, "%llu",
			(unsigned long long)(s->ud.on ? s->ud.c_sent
						      : bytes(s, TUN_DOWN) + s->ret_sent));
		break;
	case SV_BYTES_RECEIVED:
		n = (size_t)snprintf(tmp, cap, "%llu", (unsigned long long)client_received(s));
		break;
	case SV_UPSTREAM_BYTES_SENT:
		if (!s->tun_on && !s->ud.connected)
			return false;
		n = (size_t)snprintf(tmp, cap, "%llu", (unsigned long long)bytes(s, TUN_UP));
		break;
	case SV_UPSTREAM_BYTES_RECEIVED:
		if (!s->tun_on && !s->ud.connected)
			return false;
		n = (size_t)snprintf(tmp, cap, "%llu", (unsigned long long)bytes(s, TUN_DOWN));
		break;
	case SV_SESSION_TIME:
		n = (size_t)snprintf(tmp, cap, "%lld.%03lld", (long long)(now - s->start_ms) / 1000,
				     (long long)(now - s->start_ms) % 1000);
		break;
	case SV_UPSTREAM_CONNECT_TIME:
		if (!s->tun_on && !s->ud.connected)
			return false;
		n = (size_t)snprintf(tmp, cap, "%lld.%03lld", (long long)s->connect_ms / 1000,
				     (long long)s->connect_ms % 1000);
		break;
	case SV_STATUS:
		n = (size_t)snprintf(tmp, cap, "%03d", s->status ? s->status : 200);
		break;
	case SV_TIME_LOCAL:
	case SV_TIME_ISO8601:
	case SV_MSEC:
		clock_gettime(CLOCK_REALTIME, &ts);
		if (v == SV_MSEC) {
			n = (size_t)snprintf(tmp, cap, "%lld.%03ld", (long long)ts.tv_sec,
					     ts.tv_nsec / 1000000);
			break;
		}
		localtime_r(&ts.tv_sec, &tm);
		n = strftime(tmp, cap, v == SV_TIME_LOCAL ? "%d/%b/%Y:%H:%M:%S %z" : "%FT%T%z",
			     &tm);
		if (v == SV_TIME_ISO8601 && n >= 5 && n + 1 < cap) {
			/* +0000 -> +00:00 */
			memmove(tmp + n - 1, tmp + n - 2, 3);
			tmp[n - 2] = ':';
			n++;
		}
		break;
	case SV_PROTOCOL:
		n = (size_t)snprintf(tmp, cap, s->ud.on ? "UDP" : "TCP");
		break;
	case SV_CONNECTION:
		n = (size_t)snprintf(tmp, cap, "%llu", (unsigned long long)s->number);
		break;
	case SV_PID:
		n = (size_t)snprintf(tmp, cap, "%d", (int)getpid());
		break;
	case SV_HOSTNAME:
		if (gethostname(tmp, cap) == 0) {
			tmp[cap - 1] = '\0';
			n = strlen(tmp);
		}
		break;
	case SV_SSL_PREREAD_SERVER_NAME:
		if (s->have_pi) {
			out->p = s->pi.sni;
			out->len = s->pi.sni_len;
		}
		return true;
	case SV_SSL_PREREAD_ALPN_PROTOCOLS:
		if (s->have_pi) {
			out->p = s->pi.alpn;
			out->len = s->pi.alpn_len;
		}
		return true;
	case SV_SSL_PREREAD_PROTOCOL:
		if (s->have_pi && s->pi.version) {
			out->p = s->pi.version;
			out->len = strlen(s->pi.version);
		}
		return true;
	case SV_PROXY_PROTOCOL_ADDR:
	case SV_PROXY_PROTOCOL_PORT:
	case SV_PROXY_PROTOCOL_SERVER_ADDR:
	case SV_PROXY_PROTOCOL_SERVER_PORT:
		return pproto_var(s->have_pp ? &s->pp : NULL, v - SV_PROXY_PROTOCOL_ADDR, tmp, out);
	case SV_REALIP_REMOTE_ADDR:
		n = lbd_sa_text(s->realip ? &s->tcp_peer : &s->peer, 0, 0, tmp, cap);
		break;
	case SV_LIMIT_CONN_STATUS: {
		const char *st = rl_conn_status_name(s->lconn_status);

		if (!st)
			return false;
		out->p = st;
		out->len = strlen(st);
		return true;
	}
	case SV_SSL_PROTOCOL:
	case SV_SSL_CIPHER:
	case SV_SSL_SERVER_NAME:
	case SV_SSL_SESSION_REUSED:
	case SV_SSL_ALPN_PROTOCOL:
		return stream_ssl_var(s->ctls, (enum stream_ssl_var)(v - SV_SSL_PROTOCOL), out);
	case SV_REALIP_REMOTE_PORT:
		port = lbd_sa_port(s->realip ? &s->tcp_peer : &s->peer);
		n = (size_t)snprintf(tmp, cap, "%d", port);
		break;
	default:
		return false;
	}
	out->len = n < cap ? n : cap - 1;
	return true;
}

static bool part_value(struct sess *s, const struct stream_part *p, char *tmp, size_t cap,
		       struct lstr *out, int depth);
static void maps_first(struct sess *s, const struct stream_val *v, int depth);

/* val_render - V (a map value with variables) for S into OUT (CAP bytes,
 * cut), as *RES. Each part is computed in place, in what is left of OUT:
 * the value is bounded by the caller's buffer (a PEM chain fits in a
 * certificate's), not by a fixed one here. */
static void val_render(struct sess *s, const struct stream_val *v, char *out, size_t cap,
		       struct lstr *res, int depth)
{
	size_t n = 0;

	maps_first(s, v, depth);
	for (int i = 0; i < v->nparts && n < cap; i++) {
		struct lstr pv;

		if (!part_value(s, &v->parts[i], out + n, cap - n, &pv, depth + 1))
			continue;
		if (pv.len > cap - n)
			pv.len = cap - n;
		memmove(out + n, pv.p, pv.len);
		n += pv.len;
	}
	res->p = out;
	res->len = n;
}

/* map_compute - a stream map's value for S: the matching entry's, whose
 * variables are evaluated now (nested maps at most 4 deep). False when
 * too deep (the value "" is not kept). */
static bool map_compute(struct sess *s, const struct stream_map *m, char *tmp, size_t cap,
			struct lstr *out, int depth)
{
	const struct map_entry *e;
	const struct cval *v;
	const struct stream_val *sv;
	size_t kl = 0;

	if (depth > 4 || cap < 2)
		return false;
	/* the key, rendered at the start of TMP: at most VAL_MAX bytes (its
	 * captures are kept in cap_key), whatever room TMP has for the value */
	size_t kcap = LBD_MIN(cap, (size_t)VAL_MAX);

	for (int i = 0; i < m->src.nparts && kl < kcap; i++) {
		struct lstr pv;

		if (!part_value(s, &m->src.parts[i], tmp + kl, kcap - kl, &pv, depth + 1))
			continue;
		if (pv.len > kcap - kl)
			pv.len = kcap - kl;
		memmove(tmp + kl, pv.p, pv.len);
		kl += pv.len;
	}
	if (m->m->geo) { /* a geo block: the key is the address */
		*out = geo_find(m->m->geo, tmp, kl);
		return true;
	}
	if (m->m->split) { /* split_clients: the key's MurmurHash2 */
		*out = split_pick(m->m->split, split_murmur2(tmp, kl));
		return true;
	}
	e = map_match(m->m, tmp, kl);
	if (e && e->re) {
		/* nginx keeps a regex's captures in the session: $1.. of this
		 * value and of any later one */
		int n = map_captures(e, s->cap_ov, STREAM_CAPS);

		if (n) {
			memcpy(s->cap_key, tmp, kl);
			s->ncap = n;
		}
	}
	v = e ? &e->value : &m->m->def;
	if (!e)
		sv = m->dval;
	else if (e->re)
		sv = m->rval ? m->rval[e - m->m->regex] : NULL;
	else
		sv = m->xval ? m->xval[e - m->m->exact] : NULL;
	if (sv) {
		val_render(s, sv, tmp, cap, out, depth);
		return true;
	}
	if (v->nparts >= 1 && v->parts[0].kind == CVAL_LIT) {
		out->p = v->parts[0].str;
		out->len = v->parts[0].len;
	}
	return true;
}

/* map_keep - V becomes S's value of map M for the rest of the session (a
 * copy in the session's pool; out of memory: not kept, computed again). */
static void map_keep(struct sess *s, const struct stream_map *m, struct lstr v)
{
	char *d;

	if (!s->mapv) {
		s->mapv = pool_zalloc(&s->mpool, (size_t)s->cfg->stream->nmaps * sizeof(*s->mapv));
		if (!s->mapv)
			return;
	}
	d = pool_alloc(&s->mpool, v.len + 1);
	if (!d)
		return;
	memcpy(d, v.p, v.len);
	s->mapv[m->idx] = (struct lstr){d, v.len};
}

/* map_value - a stream map's value for S: a `set` of the variable wins
 * (nginx keeps the set value), else the value computed at its first use
 * in the session, kept as nginx keeps a variable's value (its regex's
 * captures are not taken again either); a `volatile` map's at every use. */
static void map_value(struct sess *s, const struct stream_map *m, char *tmp, size_t cap,
		      struct lstr *out, int depth)
{
	out->p = "";
	out->len = 0;
	if (m->setidx >= 0 && (s->set_mask & (1u << m->setidx))) {
		out->p = set_store(s) + s->set_off[m->setidx];
		out->len = s->set_len[m->setidx];
		return;
	}
	if (m->m->volatile_) {
		map_compute(s, m, tmp, cap, out, depth);
		return;
	}
	if (s->mapv && s->mapv[m->idx].p) {
		*out = s->mapv[m->idx];
		return;
	}
	/* a value cut at CAP (computed into a small scratch, as maps_first's)
	 * is not kept: a later use with room computes it whole */
	if (map_compute(s, m, tmp, cap, out, depth) && out->len < cap)
		map_keep(s, m, *out);
}

/* maps_first - nginx evaluates a value in two passes (the lengths, then
 * the bytes): every map of V is computed (and kept) before any byte is
 * written, so a $1 in V reads the captures of V's last regex map, even
 * where it stands before that map. Done only for a value with a $N. */
static void maps_first(struct sess *s, const struct stream_val *v, int depth)
{
	char sub[VAL_MAX];
	bool cap = false;

	for (int i = 0; i < v->nparts && !cap; i++)
		cap = v->parts[i].kind == SP_CAP;
	if (!cap)
		return;
	for (int i = 0; i < v->nparts; i++) {
		struct lstr pv;

		if (v->parts[i].kind == SP_MAP)
			map_value(s, v->parts[i].map, sub, sizeof(sub), &pv, depth + 1);
	}
}

static bool part_value(struct sess *s, const struct stream_part *p, char *tmp, size_t cap,
		       struct lstr *out, int depth)
{
	switch (p->kind) {
	case SP_LIT:
		out->p = p->str;
		out->len = p->len;
		return true;
	case SP_VAR:
		return var_value(s, p->var, tmp, cap, out);
	case SP_MAP:
		map_value(s, p->map, tmp, cap, out, depth);
		return true;
	case SP_CAP:
		out->p = "";
		out->len = 0;
		if (p->var < s->ncap && s->cap_ov[2 * p->var] != SIZE_MAX) {
			out->p = s->cap_key + s->cap_ov[2 * p->var];
			out->len = s->cap_ov[2 * p->var + 1] - s->cap_ov[2 * p->var];
		}
		return true;
	case SP_SET:
		if (!(s->set_mask & (1u << p->var))) {
			out->p = ""; /* not set in this server: empty, as nginx */
			out->len = 0;
			return true;
		}
		out->p = set_store(s) + s->set_off[p->var];
		out->len = s->set_len[p->var];
		return true;
	}
	return false;
}

/* sval_eval - V for S into OUT (CAP bytes, truncated), escaped as a log
 * format asks (ESC: -1 none at all (values), 0 nginx default, 1 json,
 * 2 none). Returns the length. */
static size_t sval_eval_in(struct sess *s, const struct stream_val *v, char *out, size_t cap,
			   int esc, char *tmp, size_t tcap);

static size_t sval_eval(struct sess *s, const struct stream_val *v, char *out, size_t cap, int esc)
{
	char tmp[VAL_MAX];

	return sval_eval_in(s, v, out, cap, esc, tmp, sizeof(tmp));
}

/* big_scratch - this thread's STREAM_VAL_BIG bytes where a map value with
 * variables is computed for a `set` value or a certificate (sval_eval's
 * own is VAL_MAX on the stack); never used by two evaluations at once. */
static char *big_scratch(void)
{
	static __thread char buf[STREAM_VAL_BIG];

	return buf;
}

/* sval_eval_in - sval_eval with TMP (TCAP bytes) as the scratch where
 * variables and map values are computed before they are copied to OUT. */
static size_t sval_eval_in(struct sess *s, const struct stream_val *v, char *out, size_t cap,
			   int esc, char *tmp, size_t tcap)
{
	size_t n = 0;

	maps_first(s, v, 0);
	for (int i = 0; i < v->nparts; i++) {
		const struct stream_part *p = &v->parts[i];
		struct lstr pv;
		bool found = part_value(s, p, tmp, tcap, &pv, 0);

		/* an empty `set` value stays empty in a log line, as nginx */
		if (!found || (p->kind != SP_LIT && p->kind != SP_SET && pv.len == 0 && esc == 0)) {
			if (esc == 0 && n < cap)
				out[n++] = '-';
			continue;
		}
		for (size_t k = 0; k < pv.len && n < cap; k++) {
			unsigned char ch = (unsigned char)pv.p[k];

			if (p->kind != SP_LIT && esc == 0 &&
			    (ch < 0x20 || ch == '"' || ch == '\\' || ch >= 0x7f)) {
				if (n + 4 > cap)
					break;
				n += (size_t)snprintf(out + n, 5, "\\x%02X", ch);
			} else if (p->kind != SP_LIT && esc == 1 && (ch == '"' || ch == '\\')) {
				if (n + 2 > cap)
					break;
				out[n++] = '\\';
				out[n++] = (char)ch;
			} else {
				out[n++] = (char)ch;
			}
		}
	}
	return n;
}

/* ---- life of a session ---------------------------------------------------------- */

static const char *client_text(struct sess *s, char *buf, size_t cap)
{
	lbd_sa_text(&s->peer, 0, 0, buf, cap);
	return buf;
}

/* server_text - the "server:" of S's log lines and its "connected to":
 * nginx's text of the listen address the session came in on, so
 * "0.0.0.0:PORT" or "[::]:PORT" for a wildcard one (where $server_addr is
 * the connection's local address); a listen's family and port are the
 * local address's. */
static const char *server_text(struct sess *s, char *buf, size_t cap)
{
	struct sockaddr_storage any;

	if (!s->any_listen) {
		lbd_sa_text(&s->local, 0, LBD_SA_PORT, buf, cap);
		return buf;
	}
	memset(&any, 0, sizeof(any));
	any.ss_family = s->local.ss_family;
	if (any.ss_family == AF_INET)
		((struct sockaddr_in *)&any)->sin_port =
			((struct sockaddr_in *)&s->local)->sin_port;
	else if (any.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&any)->sin6_port =
			((struct sockaddr_in6 *)&s->local)->sin6_port;
	lbd_sa_text(&any, 0, LBD_SA_PORT, buf, cap);
	return buf;
}

static void sess_err(struct sess *s, enum log_level lvl, const char *what, int err)
{
	char c[64], sv[80], e[96] = "";

	if (err)
		snprintf(e, sizeof(e), " (%d: %s)", err, strerror(err));
	log_emit(s->srv->error_log, lvl,
		 "*%llu %s%s while connecting to upstream, client: %s, server: %s, "
		 "upstream: \"%s\", bytes from/to client:0/0, bytes from/to upstream:0/0",
		 (unsigned long long)s->number, what, e, client_text(s, c, sizeof(c)),
		 server_text(s, sv, sizeof(sv)), s->us ? s->us->name : "-");
}

static void write_logs(struct sess *s)
{
	char line[LINE_MAX_LEN];

	for (int i = 0; i < s->srv->nalogs; i++) {
		const struct stream_alog *sa = &s->srv->alogs[i];
		size_t n;

		if (sa->has_cond) {
			n = sval_eval(s, &sa->cond, line, sizeof(line) - 1, -1);
			if (n == 0 || (n == 1 && line[0] == '0'))
				continue;
		}
		n = sval_eval(s, &sa->fmt->fmt, line, sizeof(line) - 1, sa->fmt->escape);
		line[n++] = '\n';
		alog_write_line(sa->a, line, n);
	}
}

/* preread_done - give the preread buffer back to the worker's pool. */
static void preread_done(struct sess *s)
{
	if (s->pbuf)
		worker_relay_put(s->w, (char *)s->pbuf);
	s->pbuf = NULL;
}

static void sess_free(void *arg)
{
	struct sess *s = arg;

	if (nfree_sess < SESS_FREE_MAX) {
		pool_reset(&s->mpool); /* its first chunk serves the next session */
		free_sess[nfree_sess++] = s;
	} else {
		pool_destroy(&s->mpool);
		free(s);
	}
}

static void close_upstream(struct sess *s)
{
	if (s->ufd < 0)
		return;
	tls_conn_free(s->utls);
	s->utls = NULL;
	ev_io_stop(&s->w->loop, &s->uio);
	close(s->ufd);
	s->ufd = -1;
}

/* lconn_unhold - give back the limit_conn counts the session holds. */
static void lconn_unhold(struct sess *s)
{
	for (int i = 0; i < s->nholds; i++)
		rl_conn_release(s->holds[i].zone, s->holds[i].node);
	s->nholds = 0;
}

/* kbytes_update - the bytes the kernel moved for S's sockmap tunnel, into
 * s->kbytes (bytes() counts them). */
static void kbytes_update(struct sess *s)
{
	struct lb_stream st;

	if (s->tun_on && s->tun.kernel && ksplice_get(s->tun.kid, &st) == 0) {
		s->kbytes[0] = st.redirected[0];
		s->kbytes[1] = st.redirected[1];
	}
}

/* finalize - end the session with STATUS: log it, give the server slot
 * back, close both sockets; the memory goes after the batch. */
static void finalize(struct sess *s, int status)
{
	struct worker *w = s->w;

	if (!s->status)
		s->status = status;
	ev_timer_stop(&w->loop, &s->timer);
	kbytes_update(s);
	if (s->dns) {
		resolver_cancel(s->dns);
		free(s->dns);
		s->dns = NULL;
	}
	if (s->ud.on)
		stream_udp_end(s); /* out of the lookup table before anything else */
	write_logs(s);
	lconn_unhold(s);
	stats_conn_closed();
	sups_session_close(s->us, bytes(s, TUN_UP), bytes(s, TUN_DOWN));
	if (s->us) {
		/* a UDP upstream that answered with an error or not in time
		 * failed, as nginx's finalize counts it */
		if (ups_release_server(s->us, s->ud.failed, lbd_now_ms()))
			stream_udp_disabled(s);
		s->us = NULL;
	}
	if (s->tun_on) {
		tunnel_free(&s->tun);
		s->tun_on = false;
	}
	preread_done(s);
	close_upstream(s);
	tls_conn_free(s->ctls);
	s->ctls = NULL;
	free(s->set_big);
	s->set_big = NULL;
	ev_io_stop(&w->loop, &s->cio);
	if (s->cfd >= 0) /* a UDP session has none: it shares the listener's */
		close(s->cfd);
	if (s->prev)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	nsessions--;
	cfg_unref(s->cfg);
	if (ev_defer(&w->loop, sess_free, s)) {
		pool_destroy(&s->mpool);
		free(s); /* no event of it can follow: both ev_io were stopped */
	}
}

/* bytes_text - nginx's "bytes from/to client:R/S, bytes from/to
 * upstream:R/S" of S so far, into BUF. */
static const char *bytes_text(struct sess *s, char *buf, size_t cap)
{
	unsigned long long up = bytes(s, TUN_UP), down = bytes(s, TUN_DOWN);

	snprintf(buf, cap, "bytes from/to client:%llu/%llu, bytes from/to upstream:%llu/%llu",
		 (unsigned long long)client_received(s), down, down, up);
	return buf;
}

/* up_tls_failed - the tunnel ended on a failure: when the upstream TLS
 * leg's SSL_read or SSL_write failed (bad records), nginx's line for it,
 * at nginx's level (error, or crit for a failure not blamed on the peer). */
static void up_tls_failed(struct sess *s)
{
	char c[64], sv[80], b[160];
	int level;
	const char *e = tls_conn_error(s->utls, &level);

	if (!e)
		return;
	log_emit(s->srv->error_log, (enum log_level)level,
		 "*%llu %s while proxying and %s upstream, client: %s, server: %s, upstream: "
		 "\"%s\", %s",
		 (unsigned long long)s->number, e,
		 strncmp(e, "SSL_read", 8) == 0 ? "reading from" : "sending to",
		 client_text(s, c, sizeof(c)), server_text(s, sv, sizeof(sv)),
		 s->us ? s->us->name : "-", bytes_text(s, b, sizeof(b)));
}

/* disconnected - nginx's info line for a session one side ended with its
 * close (a TLS leg's reset too: tunnel.c reads it as the close), named
 * after that side (the upstream when both closed), without the client and
 * server context, as nginx writes it. */
static void disconnected(struct sess *s)
{
	char b[160];

	if (!log_wants(s->srv->error_log, LOG_INFO))
		return; /* (no map lookup for a line nobody reads) */
	kbytes_update(s);
	log_emit(s->srv->error_log, LOG_INFO, "*%llu %s disconnected, %s",
		 (unsigned long long)s->number,
		 s->tun.eof[TUN_UP] && !s->tun.eof[TUN_DOWN] ? "client" : "upstream",
		 bytes_text(s, b, sizeof(b)));
}

static void drive(struct sess *s)
{
	bool moved;
	int rc = tunnel_run(&s->tun, &moved);
	int64_t left, wake;

	/* proxy_half_close off (nginx's default): the first side to finish,
	 * once its bytes are delivered, ends the session */
	if (rc != TUN_OPEN || (!s->srv->half_close && (s->tun.shut[0] || s->tun.shut[1]))) {
		if (rc == TUN_RESET && s->tun.err == EPROTO)
			up_tls_failed(s);
		else if (rc != TUN_RESET)
			disconnected(s);
		finalize(s, 200);
		return;
	}
	if (moved)
		s->tun.last_ms = lbd_now_ms();
	if (s->tun.retry) {
		ev_timer_start(&s->w->loop, &s->timer, 1);
		return;
	}
	left = s->srv->timeout - (lbd_now_ms() - s->tun.last_ms);
	wake = tunnel_wake_ms(&s->tun); /* a rate-limited direction's next read */
	if (wake && wake - lbd_now_ms() < left)
		left = wake - lbd_now_ms();
	ev_timer_start(&s->w->loop, &s->timer, left > 0 ? left : 1);
}

/* proxy_header - the PROXY protocol v1 line for S into BUF. */
static size_t proxy_header(struct sess *s, char *buf, size_t cap)
{
	char src[INET6_ADDRSTRLEN + 1], dst[INET6_ADDRSTRLEN + 1];

	if (s->peer.ss_family != s->local.ss_family ||
	    (s->peer.ss_family != AF_INET && s->peer.ss_family != AF_INET6))
		return (size_t)snprintf(buf, cap, "PROXY UNKNOWN\r\n");
	lbd_sa_text(&s->peer, 0, 0, src, sizeof(src));
	lbd_sa_text(&s->local, 0, 0, dst, sizeof(dst));
	return (size_t)snprintf(buf, cap, "PROXY %s %s %s %d %d\r\n",
				s->peer.ss_family == AF_INET ? "TCP4" : "TCP6", src, dst,
				lbd_sa_port(&s->peer), lbd_sa_port(&s->local));
}

/* eval_rate - a rate with variables for S: bytes per second, 0 (no limit)
 * when the value is empty or no size (logged, as nginx's
 * ngx_stream_complex_value_size). */
static uint64_t eval_rate(struct sess *s, const struct stream_val *v)
{
	char buf[VAL_MAX], c[64], sv[80];
	size_t n = sval_eval(s, v, buf, sizeof(buf) - 1, -1);
	int64_t r;

	buf[n] = '\0';
	if (cfg_parse_size(buf, &r) == 0 && r >= 0)
		return (uint64_t)r;
	log_emit(s->srv->error_log, LOG_ERR, "*%llu invalid size \"%s\", client: %s, server: %s",
		 (unsigned long long)s->number, buf, client_text(s, c, sizeof(c)),
		 server_text(s, sv, sizeof(sv)));
	return 0;
}

/* proxy_connected - nginx's info line once the upstream is connected (and
 * its TLS handshake done), before any byte goes: the address lbd
 * connected from, with its port, and the server's name. */
static void proxy_connected(struct sess *s)
{
	struct sockaddr_storage me;
	socklen_t ml = sizeof(me);
	char a[LBD_SA_TEXT_MAX];

	if (!log_wants(s->srv->error_log, LOG_INFO))
		return;
	if (getsockname(s->ufd, (struct sockaddr *)&me, &ml) == -1) {
		me.ss_family = AF_UNSPEC;
		ml = 0;
	}
	lbd_sa_text(&me, ml, LBD_SA_PORT, a, sizeof(a));
	log_emit(s->srv->error_log, LOG_INFO, "*%llu proxy %s connected to %s",
		 (unsigned long long)s->number, a, s->us->name);
}

/* tunnel_start - the bytes flow: through lbd's buffers when a leg is TLS,
 * else splice(2) or sockmap. PP (PP_LEN bytes) goes to the upstream first. */
static void tunnel_start(struct sess *s, const char *pp)
{
	struct tunnel_side cs = {s->cfd, &s->c_rd, &s->c_wr, s->ctls};
	struct tunnel_side us = {s->ufd, &s->u_rd, &s->u_wr, s->utls};
	uint64_t rate[2];
	int rc = -ENOTSUP;

	proxy_connected(s);
	/* proxy_upload_rate / proxy_download_rate: the kernel would move the
	 * bytes without lbd, so a paced session takes the splice(2) relay (or,
	 * with a TLS leg, the copy relay, paced the same way) */
	for (int d = 0; d < 2; d++) {
		rate[d] = (uint64_t)s->srv->rate[d];
		if (s->srv->rate_var[d])
			rate[d] = eval_rate(s, s->srv->rate_var[d]);
	}
	if (s->ctls || s->utls) {
		/* OpenSSL may hold bytes read during a handshake, which no edge
		 * will announce: look at both sides once */
		s->c_rd = s->c_wr = s->u_rd = s->u_wr = true;
		rc = tunnel_init_copy(&s->tun, cs, us, pp, s->pp_len, NULL, 0);
		if (!rc)
			tunnel_set_rate(&s->tun, rate[TUN_UP], rate[TUN_DOWN]);
		goto started;
	}
	/* The kernel takes a unix stream socket into a SOCKHASH, but lbd's
	 * sockmap path is TCP's: it counts bytes with TCP_INFO (EOPNOTSUPP on a
	 * unix socket) and its verdict program follows TCP sequences. A unix
	 * upstream or client goes to the splice(2) relay, without a warning. */
	if (s->srv->kernel_splice && ksplice_ready() && s->us->addr.ss_family != AF_UNIX &&
	    s->peer.ss_family != AF_UNIX && !rate[0] && !rate[1]) {
		rc = tunnel_init_kernel(&s->tun, cs, us, pp, s->pp_len, NULL, 0);
		if (rc > 0) /* read but could not switch: a splice(2) tunnel now */
			rc = 0;
		else if (rc)
			log_emit(s->srv->error_log, LOG_WARN,
				 "sockmap splicing refused (%d: %s): relaying with splice(2)", -rc,
				 strerror(-rc));
	}
	if (rc) {
		rc = tunnel_init(&s->tun, cs, us, pp, s->pp_len, NULL, 0);
		if (!rc)
			tunnel_set_rate(&s->tun, rate[TUN_UP], rate[TUN_DOWN]);
	}
started:
	if (rc) {
		log_emit(s->srv->error_log, LOG_ERR, "cannot start the stream (%d: %s)", -rc,
			 strerror(-rc));
		finalize(s, 500);
		return;
	}
	s->tun_on = true;
	tunnel_register(&s->tun, &s->peer, s->us->name, s->w->id);
	s->tun.last_ms = lbd_now_ms();
	s->state = SS_TUNNEL;
	drive(s);
}

static void connect_failed(struct sess *s, int err, bool timeout);
static void next_upstream(struct sess *s);

/* up_ssl_name - proxy_ssl_name for S (default: the proxy_pass host), its
 * port cut, into OUT. */
static void up_ssl_name(struct sess *s, char *out, size_t cap)
{
	char v[VAL_MAX];
	size_t n;

	if (s->srv->ssl_name) {
		n = sval_eval(s, s->srv->ssl_name, v, sizeof(v), -1);
		stream_ssl_host(v, n, out, cap);
	} else {
		stream_ssl_host(s->g->name, strlen(s->g->name), out, cap);
	}
}

/* up_handshake - advance the upstream TLS handshake; a failure is the
 * server's (next upstream), as nginx's ngx_stream_proxy_ssl_handshake. */
static void up_handshake(struct sess *s)
{
	char name[256], err[512], c[64], sv[80];
	enum tls_hs hs;

	up_ssl_name(s, name, sizeof(name));
	hs = stream_ssl_up_handshake(s->srv, s->utls, name, err, sizeof(err));
	if (hs == TLS_HS_WANT_READ || hs == TLS_HS_WANT_WRITE)
		return;
	if (hs == TLS_HS_DONE) {
		ev_timer_stop(&s->w->loop, &s->timer);
		tunnel_start(s, NULL);
		return;
	}
	log_emit(s->srv->error_log, LOG_ERR,
		 "*%llu %s while SSL handshaking to upstream, client: %s, server: %s, upstream: "
		 "\"%s\"",
		 (unsigned long long)s->number, err, client_text(s, c, sizeof(c)),
		 server_text(s, sv, sizeof(sv)), s->us->name);
	next_upstream(s);
}

/* stream_tls_eval - tls_eval_fn of session ARG: a stream value (a
 * certificate or key with variables) into a per-thread buffer, valid
 * until the next call (tls.c copies each value before the next). */
static int stream_tls_eval(void *arg, const void *val, const char **p, size_t *len)
{
	static __thread char buf[65536];

	*len = sval_eval_in(arg, val, buf, sizeof(buf), -1, big_scratch(), STREAM_VAL_BIG);
	*p = buf;
	return 0;
}

/* up_ssl_start - proxy_ssl on: the PROXY header goes out in the clear
 * first (nginx sends it before the handshake), then the handshake. */
static void up_ssl_start(struct sess *s, const char *pp)
{
	const struct upssl_conf *u = &s->srv->upssl;
	char name[256];

	if (s->pp_len) {
		ssize_t n = send(s->ufd, pp, s->pp_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		/* a fresh connection's send buffer takes 108 bytes */
		if (n != (ssize_t)s->pp_len) {
			connect_failed(s, n == -1 ? errno : EAGAIN, false);
			return;
		}
		s->pp_len = 0; /* not through the tunnel: not the client's bytes */
	}
	up_ssl_name(s, name, sizeof(name));
	s->utls = stream_ssl_connect(s->srv, s->ufd, s->us, name);
	if (!s->utls) {
		finalize(s, 500);
		return;
	}
	if (u->cert_val || u->key_val) {
		/* proxy_ssl_certificate with variables: nginx ends the
		 * session when it cannot be loaded */
		char err[1024], c[64], sv[80];

		if (tls_conn_use_pair(s->utls, stream_tls_eval, s, u->cert_val, u->cert, u->key_val,
				      u->key, u->prefix, err, sizeof(err))) {
			log_emit(s->srv->error_log, LOG_ERR,
				 "*%llu %s while connecting to upstream, client: %s, server: %s, "
				 "upstream: \"%s\"",
				 (unsigned long long)s->number, err, client_text(s, c, sizeof(c)),
				 server_text(s, sv, sizeof(sv)), s->us->name);
			finalize(s, 500);
			return;
		}
	}
	s->state = SS_UPSSL;
	ev_timer_start(&s->w->loop, &s->timer, s->srv->connect_timeout);
	up_handshake(s);
}

static void connected(struct sess *s)
{
	char pp[128];

	ev_timer_stop(&s->w->loop, &s->timer);
	s->connect_ms = lbd_now_ms() - s->connect_start_ms;
	s->pp_len = s->srv->proxy_protocol ? proxy_header(s, pp, sizeof(pp)) : 0;
	if (s->srv->proxy_ssl == 1) {
		up_ssl_start(s, pp);
		return;
	}
	tunnel_start(s, pp);
}

/* connect_failed - the attempt on s->us failed (ERR, or a timeout): mark
 * the server, then the next one or 502. */
static void connect_failed(struct sess *s, int err, bool timeout)
{
	sess_err(s, LOG_ERR, timeout ? "upstream timed out" : "connect() failed", err);
	next_upstream(s);
}

/* next_upstream - s->us failed: mark it, then the next server or 502. */
static void next_upstream(struct sess *s)
{
	const struct stream_srv *srv = s->srv;
	int64_t now = lbd_now_ms();

	close_upstream(s);
	ev_timer_stop(&s->w->loop, &s->timer);
	if (ups_release_server(s->us, true, now))
		sess_err(s, LOG_WARN, "upstream server temporarily disabled", 0);
	s->us = NULL;
	if (!srv->next_upstream || (srv->next_tries && s->bctx.tries >= srv->next_tries) ||
	    (srv->next_timeout && now - s->start_ms >= srv->next_timeout)) {
		finalize(s, 502);
		return;
	}
	pick_connect(s);
}

static void upstream_cb(struct ev_loop *loop, struct ev_io *io, uint32_t ev)
{
	struct sess *s = io->data;
	int err = 0;
	socklen_t el = sizeof(err);

	(void)loop;
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		s->u_rd = true;
	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		s->u_wr = true;
	if (s->state == SS_CONNECTING) {
		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(s->ufd, SOL_SOCKET, SO_ERROR, &err, &el) == -1)
			err = errno;
		if (err) {
			connect_failed(s, err, false);
			return;
		}
		connected(s);
		return;
	}
	if (s->state == SS_UDP)
		stream_udp_upstream(s, ev);
	else if (s->state == SS_UPSSL)
		up_handshake(s);
	else if (s->state == SS_TUNNEL)
		drive(s);
}

static void timer_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct sess *s = t->data;
	char c[64], sv[80];
	uint64_t k;

	(void)loop;
	switch (s->state) {
	case SS_PPROTO:
		log_emit(s->srv->error_log, LOG_INFO,
			 "*%llu client timed out (110: Connection timed out) while reading PROXY "
			 "protocol, client: %s, server: %s",
			 (unsigned long long)s->number, client_text(s, c, sizeof(c)),
			 server_text(s, sv, sizeof(sv)));
		finalize(s, 200);
		return;
	case SS_PREREAD:
		/* nginx goes on with what it has */
		preread_done(s);
		content(s);
		return;
	case SS_RETURN:
		log_emit(s->srv->error_log, LOG_INFO,
			 "*%llu connection timed out (110: Connection timed out), client: %s, "
			 "server: %s",
			 (unsigned long long)s->number, client_text(s, c, sizeof(c)),
			 server_text(s, sv, sizeof(sv)));
		finalize(s, 200);
		return;
	case SS_CONNECTING:
		connect_failed(s, ETIMEDOUT, true);
		return;
	case SS_RESOLVING:
		return; /* not armed: the resolver's own timeout ends the wait */
	case SS_UDP:
		stream_udp_timeout(s);
		return;
	case SS_UPSSL:
		log_emit(s->srv->error_log, LOG_ERR,
			 "*%llu upstream timed out (110: Connection timed out) while SSL "
			 "handshaking to upstream, client: %s, server: %s, upstream: \"%s\"",
			 (unsigned long long)s->number, client_text(s, c, sizeof(c)),
			 server_text(s, sv, sizeof(sv)), s->us->name);
		next_upstream(s);
		return;
	case SS_HANDSHAKE:
		/* nginx ends it as a failed handshake (500) */
		log_emit(s->srv->error_log, LOG_INFO,
			 "*%llu client timed out (110: Connection timed out) while SSL "
			 "handshaking, client: %s, server: %s",
			 (unsigned long long)s->number, client_text(s, c, sizeof(c)),
			 server_text(s, sv, sizeof(sv)));
		finalize(s, 500);
		return;
	case SS_TUNNEL:
		if (s->tun.retry) {
			drive(s);
			return;
		}
		k = tunnel_kernel_moved(&s->tun);
		if (k != s->tun.seen_kbytes) {
			s->tun.seen_kbytes = k;
			s->tun.last_ms = lbd_now_ms();
		}
		if (lbd_now_ms() - s->tun.last_ms < s->srv->timeout) {
			drive(s);
			return;
		}
		log_emit(s->srv->error_log, LOG_INFO,
			 "*%llu timed out (110: Connection timed out) while proxying connection, "
			 "client: %s, server: %s, upstream: \"%s\"",
			 (unsigned long long)s->number, client_text(s, c, sizeof(c)),
			 server_text(s, sv, sizeof(sv)), s->us ? s->us->name : "-");
		finalize(s, 200);
		return;
	}
}

#define NO_BYTES "bytes from/to client:0/0, bytes from/to upstream:0/0"

static void dns_done(struct dns_waiter *wt)
{
	struct sess *s = wt->data;

	s->dns_resumed = true;
	pick_connect(s);
}

/* resolve_group - HOST (HL bytes) of proxy_pass value NAME (N bytes)
 * through the server's `resolver`: the worker's group of its addresses on
 * PORT, or NULL with s->status STREAM_DNS_WAIT (asked: pick_connect runs
 * again with the answer) or 500 (nginx's "could not be resolved", logged). */
static struct ups_group *resolve_group(struct sess *s, const char *name, size_t n, const char *host,
				       size_t hl, int port)
{
	char key[VAL_MAX], c[64], sv[80];
	struct ups_group *g;

	if (!s->dns_resumed) {
		int rc;

		if (!s->dns && !(s->dns = calloc(1, sizeof(*s->dns)))) {
			s->status = 500;
			return NULL;
		}
		s->dns->cb = dns_done;
		s->dns->data = s;
		rc = resolver_lookup(s->w, s->srv->resolver, s->srv->resolver_timeout, host, hl,
				     s->dns);
		if (rc == 1) {
			s->status = STREAM_DNS_WAIT;
			return NULL;
		}
		if (rc < 0) {
			log_emit(
				s->srv->error_log, LOG_ERR,
				"*%llu sendto() to resolver failed (%d: %s), client: %s, server: %s",
				(unsigned long long)s->number, -rc, strerror(-rc),
				client_text(s, c, sizeof(c)), server_text(s, sv, sizeof(sv)));
			s->status = 502;
			return NULL;
		}
	}
	s->dns_resumed = false;
	if (s->dns->code) {
		/* nginx 1.22's stream proxy ends it with 500 */
		log_emit(
			s->srv->error_log, LOG_ERR,
			"*%llu %.*s could not be resolved (%d: %s), client: %s, server: %s, " NO_BYTES,
			(unsigned long long)s->number, (int)hl, host, s->dns->code,
			dns_strerror(s->dns->code), client_text(s, c, sizeof(c)),
			server_text(s, sv, sizeof(sv)));
		s->status = 500;
		return NULL;
	}
	snprintf(key, sizeof(key), "%.*s", (int)n, name);
	g = proxy_dyn_resolved_group(s->w, key, &s->dns->addrs, port);
	if (!g) {
		log_emit(
			s->srv->error_log, LOG_ERR,
			"*%llu no upstream for \"%s\" (too many addresses), client: %s, server: %s",
			(unsigned long long)s->number, key, client_text(s, c, sizeof(c)),
			server_text(s, sv, sizeof(sv)));
		s->status = 502;
	}
	return g;
}

/* dyn_group - a proxy_pass value NAME (N bytes) that names no upstream, as
 * nginx 1.22's stream proxy takes it: an address with a port (or unix:)
 * gets the worker's one-server group (proxy_dyn.c, made once); without a
 * port it is "no port in upstream" (500); a host name would need a
 * resolver, which lbd does not run (nginx's message, and 500 as nginx
 * 1.22 ends it). NULL with s->status set and the error logged. */
static struct ups_group *dyn_group(struct sess *s, const char *name, size_t n)
{
	char host[INET6_ADDRSTRLEN + 2], c[64], sv[80];
	unsigned char a[16];
	const char *colon, *hs = name;
	size_t hl;
	struct ups_group *g;

	if (n > 5 && strncmp(name, "unix:", 5) == 0) {
		g = proxy_dyn_group(s->w, name);
		if (g)
			return g;
		log_emit(s->srv->error_log, LOG_ERR,
			 "*%llu no upstream for \"%s\", client: %s, server: %s, " NO_BYTES,
			 (unsigned long long)s->number, name, client_text(s, c, sizeof(c)),
			 server_text(s, sv, sizeof(sv)));
		s->status = 502;
		return NULL;
	}
	colon = memrchr(name, ':', n);
	if (n && name[0] == '[') { /* [v6]:port */
		const char *rb = memchr(name, ']', n);

		hs = name + 1;
		colon = rb && rb + 1 < name + n && rb[1] == ':' ? rb + 1 : NULL;
		hl = rb ? (size_t)(rb - hs) : n - 1;
	} else {
		hl = colon ? (size_t)(colon - name) : n;
	}
	if (!colon || colon + 1 == name + n) {
		log_emit(s->srv->error_log, LOG_ERR,
			 "*%llu no port in upstream \"%s\", client: %s, server: %s, " NO_BYTES,
			 (unsigned long long)s->number, name, client_text(s, c, sizeof(c)),
			 server_text(s, sv, sizeof(sv)));
		s->status = 500;
		return NULL;
	}
	if (!lbd_port_ok(colon + 1, (size_t)(name + n - colon - 1))) {
		log_emit(s->srv->error_log, LOG_ERR,
			 "*%llu invalid port in upstream \"%s\", client: %s, server: %s, " NO_BYTES,
			 (unsigned long long)s->number, name, client_text(s, c, sizeof(c)),
			 server_text(s, sv, sizeof(sv)));
		s->status = 500;
		return NULL;
	}
	if (hl < sizeof(host)) {
		memcpy(host, hs, hl);
		host[hl] = '\0';
	} else {
		host[0] = '\0';
	}
	if (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1) {
		g = proxy_dyn_group(s->w, name);
		if (g)
			return g;
		log_emit(s->srv->error_log, LOG_ERR,
			 "*%llu no upstream for \"%s\" (too many addresses), client: %s, "
			 "server: %s",
			 (unsigned long long)s->number, name, client_text(s, c, sizeof(c)),
			 server_text(s, sv, sizeof(sv)));
		s->status = 502;
		return NULL;
	}
	if (s->srv->resolver)
		return resolve_group(s, name, n, hs, hl,
				     atoi(colon + 1)); /* (lbd_port_ok: digits, then the end) */
	log_emit(s->srv->error_log, LOG_ERR,
		 "*%llu no resolver defined to resolve %.*s, client: %s, server: %s, " NO_BYTES,
		 (unsigned long long)s->number, (int)hl, hs, client_text(s, c, sizeof(c)),
		 server_text(s, sv, sizeof(sv)));
	s->status = 500; /* nginx 1.22: 500, not 502 */
	return NULL;
}

/* pick_group - the group proxy_pass names for S, or NULL (logged). */
static struct ups_group *pick_group(struct sess *s)
{
	char name[VAL_MAX];
	size_t n;
	struct ups_group *g;

	if (s->srv->group)
		return s->srv->group;
	n = sval_eval(s, s->srv->pass, name, sizeof(name) - 1, -1);
	name[n] = '\0';
	g = group_named(s->cfg->stream, name, n);
	if (!g)
		g = dyn_group(s, name, n);
	return g;
}

/* bind_local - proxy_bind for S's new upstream socket: nothing for `off`
 * or a value that evaluates empty or to no address (that one logged, as
 * nginx); IP_TRANSPARENT first with `transparent`;
 * IP_BIND_ADDRESS_NO_PORT when the port is any. 0, or -errno of a failed
 * bind, with the address in TXT (*OPT NULL), or of the failed transparent
 * option *OPT names. */
static int bind_local(struct sess *s, char *txt, size_t cap, const char **opt)
{
	const struct stream_bind *b = s->srv->bind;
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	*opt = NULL;
	if (b->off)
		return 0;
	if (b->var) {
		char v[VAL_MAX], c[64], sv[80];
		size_t n = sval_eval(s, b->var, v, sizeof(v) - 1, -1);

		if (!n)
			return 0;
		if (upbind_parse(v, n, &ss, &sl)) {
			log_emit(s->srv->error_log, LOG_ERR,
				 "*%llu invalid local address \"%.*s\", client: %s, server: %s",
				 (unsigned long long)s->number, (int)n, v,
				 client_text(s, c, sizeof(c)), server_text(s, sv, sizeof(sv)));
			return 0;
		}
		snprintf(txt, cap, "%.*s", (int)n, v);
	} else {
		ss = b->addr;
		sl = b->addrlen;
		snprintf(txt, cap, "%s", b->text);
	}
	if (b->transparent) {
		int rc = upbind_transparent(s->ufd, ss.ss_family, opt);

		if (rc)
			return rc;
		*opt = NULL;
	}
	if (((struct sockaddr_in *)&ss)->sin_port == 0) /* same offset in sockaddr_in6 */
		setsockopt(s->ufd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	return bind(s->ufd, (struct sockaddr *)&ss, sl) == -1 ? -errno : 0;
}

/* bind_failed - the upstream socket could not be bound to AT, or OPT
 * (the option a transparent bind sets first, else NULL) failed (errno
 * ERR): nginx's crit line (alert for the option), and the session ends
 * with 500. */
static void bind_failed(struct sess *s, const char *opt, const char *at, int err)
{
	char what[VAL_MAX + 16];

	if (opt)
		snprintf(what, sizeof(what), "%s failed", opt);
	else
		snprintf(what, sizeof(what), "bind(%s) failed", at);
	sess_err(s, opt ? LOG_ALERT : LOG_CRIT, what, err);
	ups_release_server(s->us, false, lbd_now_ms());
	s->us = NULL;
	close(s->ufd);
	s->ufd = -1;
	finalize(s, 500);
}

/* start_connect - socket and connect() to s->us. */
static void start_connect(struct sess *s)
{
	const struct ups_server *us = s->us;
	int one = 1;
	size_t nl = strlen(us->name);

	if (s->upaddr_len + nl + 2 < sizeof(s->upaddr)) {
		if (s->upaddr_len) {
			memcpy(s->upaddr + s->upaddr_len, ", ", 2);
			s->upaddr_len += 2;
		}
		memcpy(s->upaddr + s->upaddr_len, us->name, nl);
		s->upaddr_len += nl;
	}
	s->connect_start_ms = lbd_now_ms();
	s->ufd = socket(us->addr.ss_family,
			(s->ud.on ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->ufd == -1) {
		int err = errno;

		sess_err(s, LOG_ALERT, "socket() failed", err);
		ups_release_server(s->us, false, lbd_now_ms());
		s->us = NULL;
		finalize(s, 500);
		return;
	}
	if (us->addr.ss_family != AF_UNIX && !s->ud.on) /* TCP only */
		setsockopt(s->ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (us->addr.ss_family == AF_UNIX && s->ud.on && !s->srv->bind) {
		/* a unix datagram socket without a name cannot be answered:
		 * the kernel gives it an abstract one (nginx's has none, so
		 * its unix datagram upstreams only ever listen) */
		sa_family_t af = AF_UNIX;

		if (bind(s->ufd, (const struct sockaddr *)&af, sizeof(af)) == -1) {
			bind_failed(s, NULL, "unix:", errno);
			return;
		}
	}
	if (s->srv->bind) {
		char at[VAL_MAX];
		const char *opt;
		int rc = bind_local(s, at, sizeof(at), &opt);

		if (rc) {
			bind_failed(s, opt, at, -rc);
			return;
		}
	}
	s->u_rd = s->u_wr = false;
	ev_io_init(&s->uio, s->ufd, upstream_cb, s);
	s->state = SS_CONNECTING;
	if (connect(s->ufd, (const struct sockaddr *)&us->addr, us->addrlen) == -1 &&
	    errno != EINPROGRESS) {
		connect_failed(s, errno, false);
		return;
	}
	if (s->ud.on) { /* a datagram socket is connected at once */
		s->connect_ms = lbd_now_ms() - s->connect_start_ms;
		stream_udp_connected(s);
		return;
	}
	if (ev_io_start(&s->w->loop, &s->uio, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
		connect_failed(s, ENOMEM, false);
		return;
	}
	ev_timer_start(&s->w->loop, &s->timer, s->srv->connect_timeout);
}

static void pick_connect(struct sess *s)
{
	ev_timer_stop(&s->w->loop, &s->timer);
	s->state = SS_CONNECTING;
	if (!s->g) {
		s->g = pick_group(s);
		if (!s->g && s->status == STREAM_DNS_WAIT) {
			/* the resolver calls back (its own timeout bounds it) */
			s->status = 0;
			s->state = SS_RESOLVING;
			return;
		}
		if (!s->g) {
			finalize(s, s->status ? s->status : 502);
			return;
		}
		s->bctx.client = (const struct sockaddr *)&s->peer;
		if (s->g->method == UPS_M_HASH && s->g->hash_key) {
			size_t n = sval_eval(s, s->g->hash_key, s->key, sizeof(s->key), -1);

			s->bctx.key = s->key;
			s->bctx.keylen = n;
		}
	}
	s->bctx.now_ms = lbd_now_ms();
	s->us = ups_pick(s->g, &s->bctx);
	if (!s->us) {
		char c[64], sv[80];

		if (s->bctx.tries == 0)
			log_emit(s->srv->error_log, LOG_ERR,
				 "*%llu no live upstreams while connecting to upstream, client: "
				 "%s, server: %s, upstream: \"%s\"",
				 (unsigned long long)s->number, client_text(s, c, sizeof(c)),
				 server_text(s, sv, sizeof(sv)), s->g->name);
		finalize(s, 502);
		return;
	}
	start_connect(s);
}

/* preread - peek at what the client sent: parse a ClientHello, or go on
 * when it is complete, not TLS, malformed, or the buffer is full. */
static void preread(struct sess *s)
{
	ssize_t n = recv(s->cfd, s->pbuf, (size_t)s->srv->preread_size, MSG_PEEK | MSG_DONTWAIT);
	int rc;

	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return; /* more comes with the next edge */
		finalize(s, 400);
		return;
	}
	rc = preread_parse(s->pbuf, (size_t)n, &s->pi);
	if (rc == PREREAD_AGAIN && n > 0 && n < s->srv->preread_size)
		return;
	s->have_pi = rc == PREREAD_OK;
	if (rc == PREREAD_AGAIN && n == s->srv->preread_size)
		log_emit(s->srv->error_log, LOG_ERR, "*%llu client preread buffer is full",
			 (unsigned long long)s->number);
	preread_done(s);
	content(s);
}

/* return_send - send the rest of the `return` value; the session ends
 * once it is all out (or the client is gone), as nginx's return module. */
static void return_send(struct sess *s)
{
	while (s->ret_sent < s->ret_len) {
		struct iovec iov = {s->pbuf + s->ret_sent, s->ret_len - s->ret_sent};
		/* over TLS on a `listen ... ssl` address */
		ssize_t n = s->ctls ? tls_writev(s->ctls, &iov, 1)
				    : send(s->cfd, iov.iov_base, iov.iov_len,
					   MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			s->c_wr = false;
			return; /* the next EPOLLOUT edge; the timer bounds the wait */
		}
		if (n == -1) {
			char c[64], sv[80];
			int err = errno;

			log_emit(s->srv->error_log, LOG_INFO,
				 "*%llu send() failed (%d: %s), client: %s, server: %s",
				 (unsigned long long)s->number, err, strerror(err),
				 client_text(s, c, sizeof(c)), server_text(s, sv, sizeof(sv)));
			finalize(s, 500);
			return;
		}
		s->ret_sent += (size_t)n;
	}
	finalize(s, 200);
}

/* do_return - the `return` handler: evaluate the value into a relay buffer
 * and send it, bounded by nginx's fixed 5 s for a slow reader. */
static void do_return(struct sess *s)
{
	ev_timer_stop(&s->w->loop, &s->timer);
	s->pbuf = (uint8_t *)worker_relay_get(s->w);
	if (!s->pbuf) {
		finalize(s, 500);
		return;
	}
	s->ret_len = sval_eval(s, s->srv->ret, (char *)s->pbuf, STREAM_RETURN_MAX, -1);
	s->ret_sent = 0;
	if (s->ud.on) { /* one datagram; a client that cannot get it: 500, as nginx */
		finalize(s, stream_udp_reply(s, s->pbuf, s->ret_len) ? 500 : 200);
		return;
	}
	s->state = SS_RETURN;
	ev_timer_start(&s->w->loop, &s->timer, 5000);
	return_send(s);
}

/* content - nginx's content phase: `return`, or proxy_pass. */
static void content(struct sess *s)
{
	if (s->srv->ret_last)
		do_return(s);
	else
		pick_connect(s);
}

/* access_phase - nginx's stream access phase: allow/deny against the client
 * (after realip), first match wins. false when the session was closed. */
static bool access_phase(struct sess *s)
{
	char c[64], sv[80];

	if (s->srv->naccess == 0 ||
	    auth_access_match(s->srv->access, s->srv->naccess, &s->peer) < 1)
		return true;
	log_emit(
		s->srv->error_log, LOG_ERR,
		"*%llu access forbidden by rule while initializing session, client: %s, server: %s",
		(unsigned long long)s->number, client_text(s, c, sizeof(c)),
		server_text(s, sv, sizeof(sv)));
	finalize(s, 403);
	return false;
}

/* run_sets - the server's `set` directives in order (nginx's preaccess
 * phase). The values share the session's set_buf, or set_big once they
 * outgrow it: what does not fit even there is cut. */
static void run_sets(struct sess *s)
{
	static __thread char val[STREAM_VAL_BIG];

	for (int i = 0; i < s->srv->nsets; i++) {
		const struct stream_set *e = &s->srv->sets[i];
		size_t n = sval_eval_in(s, &e->val, val, sizeof(val), -1, big_scratch(),
					STREAM_VAL_BIG);
		size_t room = (s->set_big ? STREAM_SET_BIG : STREAM_SET_BUF) - s->set_used;

		if (n > room && !s->set_big && (s->set_big = malloc(STREAM_SET_BIG))) {
			/* a PEM certificate: the session's values move to the
			 * heap (freed at its end), up to STREAM_SET_BIG */
			memcpy(s->set_big, s->set_buf, s->set_used);
			room = STREAM_SET_BIG - s->set_used;
		}
		n = LBD_MIN(n, room);
		memcpy(set_store(s) + s->set_used, val, n);
		s->set_off[e->idx] = s->set_used;
		s->set_len[e->idx] = (uint16_t)n;
		s->set_mask |= 1u << e->idx;
		s->set_used = (uint16_t)(s->set_used + n);
	}
}

/* limit_phase - nginx's stream limit_conn (preaccess, after `set`): one
 * count per key in each zone, held until the session ends; a key over its
 * limit closes the session at once (503), unless dry run. The counts live
 * in limit.c's zones, shared by every worker. false when closed. */
static bool limit_phase(struct sess *s)
{
	const struct stream_srv *srv = s->srv;
	char c[64], sv[80];

	for (int i = 0; i < srv->nlconn; i++) {
		const struct stream_climit *lim = &srv->lconn[i];
		char key[VAL_MAX];
		size_t n = sval_eval(s, lim->key, key, sizeof(key), -1);
		struct rl_node *node;
		int rc;

		if (n == 0)
			continue;
		if (n > RL_CONN_KEY_MAX) {
			log_emit(
				srv->error_log, LOG_ERR,
				"*%llu the value of the \"%s\" key is more than %d bytes: \"%.*s\" "
				"while initializing session, client: %s, server: %s",
				(unsigned long long)s->number, lim->zc->key_text, RL_CONN_KEY_MAX,
				(int)n, key, client_text(s, c, sizeof(c)),
				server_text(s, sv, sizeof(sv)));
			continue;
		}
		s->lconn_status = RL_CONN_PASSED;
		rc = rl_conn_acquire(lim->zc->zone, key, n, lim->conn, &node);
		if (rc == 0) {
			s->holds[s->nholds++] = (struct rl_hold){lim->zc->zone, node};
			continue;
		}
		if (rc == -EBUSY)
			log_emit(srv->error_log, (enum log_level)srv->lconn_log_level,
				 "*%llu limiting connections%s by zone \"%s\" while initializing "
				 "session, client: %s, server: %s",
				 (unsigned long long)s->number,
				 srv->lconn_dry_run ? ", dry run," : "", lim->zc->name,
				 client_text(s, c, sizeof(c)), server_text(s, sv, sizeof(sv)));
		else
			log_emit(srv->error_log, LOG_CRIT,
				 "*%llu could not allocate node in limit_conn_zone \"%s\"",
				 (unsigned long long)s->number, lim->zc->name);
		lconn_unhold(s);
		if (srv->lconn_dry_run) {
			s->lconn_status = RL_CONN_REJECTED_DRY_RUN;
			return true;
		}
		s->lconn_status = RL_CONN_REJECTED;
		finalize(s, 503);
		return false;
	}
	return true;
}

/* after_ssl - nginx's preread phase (ssl_preread), then the content
 * handler. */
static void after_ssl(struct sess *s)
{
	/* no ClientHello to read in a datagram session, nor inside TLS lbd
	 * terminated: nginx's preread finds "not a handshake" in the
	 * decrypted bytes and goes on with its variables empty (it waits for
	 * those first bytes; lbd does not) */
	if (s->srv->preread && !s->ud.on && !s->ctls) {
		s->pbuf = (uint8_t *)worker_relay_get(s->w);
		if (!s->pbuf) {
			finalize(s, 500);
			return;
		}
		s->state = SS_PREREAD;
		ev_timer_start(&s->w->loop, &s->timer, s->srv->preread_timeout);
		preread(s);
		return;
	}
	content(s);
}

/* client_handshake - advance the client's TLS handshake; a failure (or
 * nginx's client certificate verdict) ends the session with 500, as
 * nginx. */
static void client_handshake(struct sess *s)
{
	char c[64], sv[80];
	enum tls_hs hs =
		stream_ssl_handshake(s->srv, s->ctls, s->number, client_text(s, c, sizeof(c)),
				     server_text(s, sv, sizeof(sv)));

	if (hs == TLS_HS_WANT_READ || hs == TLS_HS_WANT_WRITE)
		return;
	ev_timer_stop(&s->w->loop, &s->timer);
	if (hs == TLS_HS_FAILED) {
		finalize(s, 500);
		return;
	}
	after_ssl(s);
}

/* begin - the client's bytes are next: `set`, limit_conn, the access
 * checks, the TLS handshake (`listen ... ssl`), then ssl_preread, or
 * straight to the content handler. */
static void begin(struct sess *s)
{
	if (s->srv->nsets)
		run_sets(s);
	if (s->srv->nlconn && !limit_phase(s))
		return;
	if (!access_phase(s))
		return;
	if (s->ssl_listen) {
		char c[64];

		s->ctls = stream_ssl_accept(s->srv, s->cfd, client_text(s, c, sizeof(c)));
		if (!s->ctls) {
			finalize(s, 500);
			return;
		}
		tls_conn_log_ctx(s->ctls, (unsigned long long)s->number,
				 server_text(s, c, sizeof(c)));
		tls_conn_set_eval(s->ctls, stream_tls_eval, s);
		s->state = SS_HANDSHAKE;
		ev_timer_start(&s->w->loop, &s->timer, s->srv->hs_timeout);
		client_handshake(s);
		return;
	}
	after_ssl(s);
}

/* pp_realip - nginx's stream realip: a trusted peer's PROXY header names
 * the client, port included. */
static void pp_realip(struct sess *s)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (!s->srv->realip.from ||
	    !realip_trusted(&s->peer, s->srv->realip.from, s->srv->realip.nfrom))
		return;
	if (!realip_parse_addr(s->pp.src, s->pp.src_len, &ss, &sl))
		return;
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(s->pp.src_port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(s->pp.src_port);
	s->tcp_peer = s->peer;
	s->realip = true;
	s->peer = ss;
	s->peerlen = sl;
}

/* pp_read - read the PROXY header (HUP: the client is gone or going). A
 * broken one is logged at error, a client gone first at info; either ends
 * the session with status 400 (logged), as nginx. */
static void pp_read(struct sess *s, bool hup)
{
	char msg[256], c[64], sv[80];
	enum pproto_rc rc = pproto_read(s->cfd, &s->pp, msg, sizeof(msg));

	if (rc == PPROTO_AGAIN && !hup)
		return;
	if (rc == PPROTO_OK) {
		ev_timer_stop(&s->w->loop, &s->timer);
		s->have_pp = s->pp.has_addr;
		if (s->have_pp)
			pp_realip(s);
		begin(s);
		return;
	}
	if (rc == PPROTO_AGAIN || rc == PPROTO_CLOSED)
		snprintf(msg, sizeof(msg), "client closed connection");
	log_emit(s->srv->error_log, rc == PPROTO_AGAIN || rc == PPROTO_CLOSED ? LOG_INFO : LOG_ERR,
		 "*%llu %s while reading PROXY protocol, client: %s, server: %s",
		 (unsigned long long)s->number, msg, client_text(s, c, sizeof(c)),
		 server_text(s, sv, sizeof(sv)));
	finalize(s, 400);
}

static void client_cb(struct ev_loop *loop, struct ev_io *io, uint32_t ev)
{
	struct sess *s = io->data;

	(void)loop;
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		s->c_rd = true;
	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		s->c_wr = true;
	if (s->state == SS_PPROTO && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		pp_read(s, ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR));
	else if (s->state == SS_PREREAD && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		preread(s);
	else if (s->state == SS_HANDSHAKE)
		client_handshake(s);
	else if (s->state == SS_TUNNEL)
		drive(s);
	else if (s->state == SS_RETURN && (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
		return_send(s);
}

void stream_accept(struct worker *w, int fd, struct stream_srv *srv, const struct cfg_listen *ls,
		   const struct sockaddr_storage *peer, socklen_t peerlen)
{
	struct sess *s = stream_sess_new(w, srv, peer, peerlen, NULL, 0);
	int one = 1;

	if (!s) {
		close(fd);
		return;
	}
	s->cfd = fd;
	s->ssl_listen = ls->ssl;
	s->any_listen = lbd_sa_any(&ls->addr);
	s->c_rd = s->c_wr = true; /* an edge may have come before we registered */
	s->locallen = sizeof(s->local);
	getsockname(fd, (struct sockaddr *)&s->local, &s->locallen);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (log_wants(srv->error_log, LOG_INFO)) {
		/* nginx's first line of a session, before any phase (the
		 * connection's peer, whatever a PROXY header says later) */
		char c[LBD_SA_TEXT_MAX], sv[LBD_SA_TEXT_MAX];

		lbd_sa_text(&s->peer, peerlen, LBD_SA_PORT, c, sizeof(c));
		log_emit(srv->error_log, LOG_INFO, "*%llu client %s connected to %s",
			 (unsigned long long)s->number, c, server_text(s, sv, sizeof(sv)));
	}
	ev_io_init(&s->cio, fd, client_cb, s);
	if (ev_io_start(&w->loop, &s->cio, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
		finalize(s, 500);
		return;
	}
	if (unlikely(ls->proxy_protocol)) {
		s->state = SS_PPROTO;
		ev_timer_start(&w->loop, &s->timer, srv->pp_timeout);
		pp_read(s, false);
		return;
	}
	begin(s);
}

void stream_worker_fini(void)
{
	stream_udp_fini();
	while (nfree_sess) {
		struct sess *s = free_sess[--nfree_sess];

		pool_destroy(&s->mpool);
		free(s);
	}
}

void stream_close_all(struct worker *w)
{
	(void)w;
	while (sessions) {
		struct sess *s = sessions;

		if (s->tun_on)
			tunnel_reset(&s->tun);
		finalize(s, 200);
	}
}

/* ---- for stream_udp.c ------------------------------------------------------------ */

struct sess *stream_sess_new(struct worker *w, struct stream_srv *srv,
			     const struct sockaddr_storage *peer, socklen_t peerlen,
			     const struct sockaddr_storage *local, socklen_t locallen)
{
	struct sess *s;

	if (nsessions >= w->cfg->worker_connections) {
		log_warn("%d worker_connections are not enough for stream sessions",
			 w->cfg->worker_connections);
		return NULL;
	}
	if (nfree_sess) {
		s = free_sess[--nfree_sess];
	} else {
		s = malloc(sizeof(*s));
		if (!s)
			return NULL;
		pool_init(&s->mpool, 1024);
	}
	memset(s, 0, offsetof(struct sess, tun));
	s->w = w;
	s->cfg = w->cfg;
	cfg_ref(s->cfg);
	s->srv = srv;
	s->cfd = -1;
	s->ufd = -1;
	memcpy(&s->peer, peer, peerlen);
	s->peerlen = peerlen;
	if (local) /* (TCP: the accepted socket's, set by the caller) */
		memcpy(&s->local, local, locallen);
	s->locallen = locallen;
	s->number = atomic_fetch_add(&lbd_conn_counter, 1) + 1;
	s->start_ms = lbd_now_ms();
	memset(s->kbytes, 0, sizeof(s->kbytes));
	ev_timer_init(&s->timer, timer_cb, s);
	s->next = sessions;
	s->prev = NULL;
	if (sessions)
		sessions->prev = s;
	sessions = s;
	nsessions++;
	sups_session_open();
	stats_conn_opened(); /* nginx's stub_status counts stream connections too */
	return s;
}

void stream_sess_begin(struct sess *s)
{
	begin(s);
}

void stream_sess_end(struct sess *s, int status)
{
	finalize(s, status);
}

const char *stream_sess_client(struct sess *s, char *buf, size_t cap)
{
	return client_text(s, buf, cap);
}

const char *stream_sess_server(struct sess *s, char *buf, size_t cap)
{
	return server_text(s, buf, cap);
}
