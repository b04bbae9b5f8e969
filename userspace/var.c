/* SPDX-License-Identifier: MIT */
/*
 * Variables: the table of builtin variables, one getter per variable,
 * reached by index at run time (no name lookups on the request path).
 * Complex values, which name them, are compiled and evaluated in
 * var_cval.c, with the variables resolved by name at run time (the prefix
 * ones: $http_, $arg_, $cookie_...; captures, `set` variables); `map` and
 * its kin are var_map.c's.
 *
 * Semantics and formats are nginx 1.22's, including its "not found" flag:
 * a getter returns VAR_NOT_FOUND where nginx sets not_found (absent header,
 * no query string, no upstream...), which the access log writes as "-".
 * Values are views: into the request's input buffer, the request pool, the
 * configuration or static memory, all valid until the request ends.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/un.h>
#include <unistd.h>

#include "browser.h"
#include "gzip.h"
#include "cache.h"
#include "http.h"
#include "limit.h"
#include "pproto.h"
#include "realip.h"
#include "referer.h"
#include "securelink.h"
#include "slice.h"
#include "tls.h"
#include "auth.h"
#include "tls_client.h"
#include "tls_vars.h"
#include "h2.h"
#include "ratelimit.h"
#include "userid.h"
#include "sockaddr.h"
#include "var.h"
#include "var_int.h"
#include "fastcgi.h"

/* ------------------------------------------------------------------ */
/* small helpers                                                        */

static int var_u64(struct conn *c, struct lstr *out, uint64_t v)
{
	char *p = pool_alloc(&c->pool, 20);

	if (!p)
		return -ENOMEM;
	return var_set(out, p, lbd_u64toa(p, v));
}

/* var_copy - a pool copy of buf[0..len), as the value. */
static int var_copy(struct conn *c, struct lstr *out, const char *buf, size_t len)
{
	char *p = pool_alloc(&c->pool, len ? len : 1);

	if (!p)
		return -ENOMEM;
	memcpy(p, buf, len);
	return var_set(out, p, len);
}

/* ------------------------------------------------------------------ */
/* clocks (injectable for tests)                                        */

static bool var_fixed;
static struct timespec var_fixed_wall;
static int64_t var_fixed_mono;

/* struct var_tcache - this thread's formatted times of one second. */
struct var_tcache {
	time_t sec;	  /* second formatted, -1 when empty */
	char local[64];	  /* $time_local */
	size_t local_len; /* its length */
	char iso[64];	  /* $time_iso8601 */
	size_t iso_len;	  /* its length */
};

static __thread struct var_tcache var_tc = {.sec = -1};

void var_time_set(const struct timespec *wall, int64_t mono_us)
{
	var_fixed = wall != NULL;
	if (wall)
		var_fixed_wall = *wall;
	var_fixed_mono = mono_us;
	var_tc.sec = -1;
}

static void var_wall(struct timespec *ts)
{
	if (var_fixed)
		*ts = var_fixed_wall;
	else
		clock_gettime(CLOCK_REALTIME, ts);
}

static int64_t var_mono_us(void)
{
	return var_fixed ? var_fixed_mono : lbd_now_us();
}

static const char var_months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* var_times - this thread's $time_local / $time_iso8601 for the current
 * second, formatted once per second: localtime_r takes a global lock. */
static const struct var_tcache *var_times(void)
{
	struct timespec ts;
	struct tm tm;
	long off, aoff;
	char sign;
	int n;

	var_wall(&ts);
	if (var_tc.sec == ts.tv_sec)
		return &var_tc;
	localtime_r(&ts.tv_sec, &tm);
	off = tm.tm_gmtoff / 60;
	sign = off < 0 ? '-' : '+';
	aoff = off < 0 ? -off : off;
	n = snprintf(var_tc.local, sizeof(var_tc.local), "%02d/%s/%d:%02d:%02d:%02d %c%02ld%02ld",
		     tm.tm_mday, var_months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, sign, aoff / 60, aoff % 60);
	var_tc.local_len = n > 0 ? LBD_MIN((size_t)n, sizeof(var_tc.local) - 1) : 0;
	n = snprintf(var_tc.iso, sizeof(var_tc.iso), "%4d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     sign, aoff / 60, aoff % 60);
	var_tc.iso_len = n > 0 ? LBD_MIN((size_t)n, sizeof(var_tc.iso) - 1) : 0;
	var_tc.sec = ts.tv_sec;
	return &var_tc;
}

/* var_sec_ms - "SEC.MMM" into the pool (nginx's "%T.%03M"). */
static int var_sec_ms(struct conn *c, struct lstr *out, int64_t sec, int64_t ms)
{
	char *p = pool_alloc(&c->pool, 32);
	size_t n;

	if (!p)
		return -ENOMEM;
	n = lbd_u64toa(p, (uint64_t)(sec < 0 ? 0 : sec));
	p[n++] = '.';
	p[n++] = (char)('0' + ms / 100 % 10);
	p[n++] = (char)('0' + ms / 10 % 10);
	p[n++] = (char)('0' + ms % 10);
	return var_set(out, p, n);
}

/* ------------------------------------------------------------------ */
/* addresses                                                            */

static int var_addr(struct conn *c, struct lstr *out, const struct sockaddr_storage *ss,
		    socklen_t sl)
{
	char buf[LBD_SA_TEXT_MAX];
	size_t n = lbd_sa_text(ss, sl, 0, buf, sizeof(buf));

	return var_copy(c, out, buf, n);
}

static int var_port(struct conn *c, struct lstr *out, const struct sockaddr_storage *ss)
{
	unsigned port = lbd_sa_port(ss);

	if (port == 0) {
		*out = var_empty;
		return VAR_FOUND;
	}
	return var_u64(c, out, port);
}

/* ------------------------------------------------------------------ */
/* configuration views                                                  */

static const struct cfg_srv *var_srv(const struct conn *c)
{
	if (c->req.srv)
		return c->req.srv;
	return c->lg ? c->lg->default_srv : NULL;
}

/* var_server_name - the server's first name as nginx keeps it in
 * cscf->server_name: ".example.com" without its dot, a regex with its '~',
 * "" when there is none. */
static int var_server_name_val(struct conn *c, struct lstr *out)
{
	const struct cfg_srv *s = var_srv(c);
	const struct server_name *sn;
	char *p;

	if (!s || s->nnames == 0 || !s->names[0].name) {
		*out = var_empty;
		return VAR_FOUND;
	}
	sn = &s->names[0];
	if (sn->kind == 3) {
		if (sn->name[0] == '~')
			return var_set(out, sn->name, sn->len);
		p = pool_alloc(&c->pool, sn->len + 1);
		if (!p)
			return -ENOMEM;
		p[0] = '~';
		memcpy(p + 1, sn->name, sn->len);
		return var_set(out, p, sn->len + 1);
	}
	if (sn->len > 1 && sn->name[0] == '.')
		return var_set(out, sn->name + 1, sn->len - 1);
	return var_set(out, sn->name, sn->len);
}

/* var_ssl - the request came over TLS (not merely to a TLS address:
 * plain HTTP answered 400 there is "http", as in nginx). */
static bool var_ssl(const struct conn *c)
{
	return c->tls != NULL;
}

static const struct proxy_pass *var_proxy(const struct conn *c)
{
	if (c->req.pp)
		return c->req.pp;
	return c->req.loc && c->req.loc->proxy && !c->req.loc->proxy->dynamic ? c->req.loc->proxy
									      : NULL;
}

/* ------------------------------------------------------------------ */
/* $remote_user                                                         */

static int vg_remote_user(struct conn *c, struct lstr *out)
{
	const struct h1_header *h = var_hdr_first(c, "authorization");
	const char *s;
	size_t len, dlen, user;
	char *d;

	if (!h || h->value.len < 6 || strncasecmp(h->value.p, "Basic ", 6) != 0)
		return VAR_NOT_FOUND;
	s = h->value.p + 6;
	len = h->value.len - 6;
	while (len && *s == ' ') {
		s++;
		len--;
	}
	if (len == 0)
		return VAR_NOT_FOUND;
	d = pool_alloc(&c->pool, (len + 3) / 4 * 3 + 1);
	if (!d)
		return -ENOMEM;
	if (!auth_b64_decode(s, len, (unsigned char *)d, &dlen))
		return VAR_NOT_FOUND;
	for (user = 0; user < dlen && d[user] != ':'; user++)
		;
	if (user == 0 || user == dlen)
		return VAR_NOT_FOUND;
	return var_set(out, d, user);
}

/* ------------------------------------------------------------------ */
/* $request_id: 128 bits, unpredictable, stable within a request        */

static uint64_t var_id_key[4];
static pthread_once_t var_id_once = PTHREAD_ONCE_INIT;

static void var_id_init(void)
{
	if (getrandom(var_id_key, sizeof(var_id_key), 0) != (ssize_t)sizeof(var_id_key)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		var_id_key[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
		var_id_key[1] = (uint64_t)ts.tv_sec * 0xc2b2ae3d27d4eb4fULL;
		var_id_key[2] = var_id_key[0] * 0x165667b19e3779f9ULL + 1;
		var_id_key[3] = var_id_key[1] ^ 0x27d4eb2f165667c5ULL;
	}
}

#define VAR_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static inline void var_sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = VAR_ROTL(v[1], 13);
	v[1] ^= v[0];
	v[0] = VAR_ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = VAR_ROTL(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = VAR_ROTL(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = VAR_ROTL(v[1], 17);
	v[1] ^= v[2];
	v[2] = VAR_ROTL(v[2], 32);
}

/* var_siphash - SipHash-2-4 of n 64-bit words under key k. */
static uint64_t var_siphash(const uint64_t k[2], const uint64_t *m, size_t n)
{
	uint64_t v[4] = {0x736f6d6570736575ULL ^ k[0], 0x646f72616e646f6dULL ^ k[1],
			 0x6c7967656e657261ULL ^ k[0], 0x7465646279746573ULL ^ k[1]};
	uint64_t b = (uint64_t)(n * 8) << 56;

	for (size_t i = 0; i < n; i++) {
		v[3] ^= m[i];
		var_sipround(v);
		var_sipround(v);
		v[0] ^= m[i];
	}
	v[3] ^= b;
	var_sipround(v);
	var_sipround(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		var_sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* vg_request_id - 32 hex digits derived, under a secret key, from what
 * identifies this request (connection address and number, request count,
 * start times): the same all through the request without storing it, and
 * different for every request. */
static int vg_request_id(struct conn *c, struct lstr *out)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t m[6], h[2];
	char *p = pool_alloc(&c->pool, 32);

	if (!p)
		return -ENOMEM;
	pthread_once(&var_id_once, var_id_init);
	m[0] = (uint64_t)(uintptr_t)c;
	m[1] = c->number;
	m[2] = (uint64_t)c->requests;
	m[3] = (uint64_t)c->req.start_us;
	m[4] = (uint64_t)c->req.start_wall.tv_sec;
	m[5] = (uint64_t)c->req.start_wall.tv_nsec;
	h[0] = var_siphash(var_id_key, m, ARRAY_SIZE(m));
	h[1] = var_siphash(var_id_key + 2, m, ARRAY_SIZE(m));
	for (int i = 0; i < 32; i++)
		p[i] = hex[(h[i / 16] >> (60 - 4 * (i % 16))) & 0xf];
	return var_set(out, p, 32);
}

/* ------------------------------------------------------------------ */
/* builtin getters                                                      */

static int vg_host(struct conn *c, struct lstr *out)
{
	if (c->req.host.len)
		return var_set(out, c->req.host.p, c->req.host.len);
	return var_server_name_val(c, out);
}

static int vg_server_name(struct conn *c, struct lstr *out)
{
	return var_server_name_val(c, out);
}

static int vg_remote_addr(struct conn *c, struct lstr *out)
{
	return var_addr(c, out, &c->peer, c->peerlen);
}

static int vg_remote_port(struct conn *c, struct lstr *out)
{
	return var_port(c, out, &c->peer);
}

static int vg_server_addr(struct conn *c, struct lstr *out)
{
	/* conn_local() fills locallen on first use: call it before reading it */
	const struct sockaddr_storage *ss = conn_local(c);

	return var_addr(c, out, ss, c->locallen);
}

static int vg_server_port(struct conn *c, struct lstr *out)
{
	return var_port(c, out, conn_local(c));
}

/* $realip_remote_addr, $realip_remote_port: the TCP peer (realip.c) */
static int vg_realip_remote_addr(struct conn *c, struct lstr *out)
{
	socklen_t sl;
	const struct sockaddr_storage *ss = realip_orig(c, &sl);

	return var_addr(c, out, ss, sl);
}

static int vg_realip_remote_port(struct conn *c, struct lstr *out)
{
	socklen_t sl;

	return var_port(c, out, realip_orig(c, &sl));
}

/* $proxy_protocol_addr, _port, _server_addr, _server_port (pproto.c) */
static int vg_pp(struct conn *c, struct lstr *out, int which)
{
	char tmp[8];
	struct lstr v;

	if (!pproto_var(c->pp, which, tmp, &v))
		return VAR_NOT_FOUND;
	return which & 1 ? var_copy(c, out, v.p, v.len) : var_set(out, v.p, v.len);
}

static int vg_pp_addr(struct conn *c, struct lstr *out)
{
	return vg_pp(c, out, 0);
}

static int vg_pp_port(struct conn *c, struct lstr *out)
{
	return vg_pp(c, out, 1);
}

static int vg_pp_server_addr(struct conn *c, struct lstr *out)
{
	return vg_pp(c, out, 2);
}

static int vg_pp_server_port(struct conn *c, struct lstr *out)
{
	return vg_pp(c, out, 3);
}

static int vg_binary_remote_addr(struct conn *c, struct lstr *out)
{
	if (c->peer.ss_family == AF_INET)
		return var_set(out, (const char *)&((struct sockaddr_in *)&c->peer)->sin_addr, 4);
	if (c->peer.ss_family == AF_INET6)
		return var_set(out, (const char *)&((struct sockaddr_in6 *)&c->peer)->sin6_addr,
			       16);
	if (c->peer.ss_family == AF_UNIX) /* nginx: the address text, "unix:" */
		return var_set(out, "unix:", 5);
	*out = var_empty;
	return VAR_FOUND;
}

/* vg_proxy_add_xff - every X-Forwarded-For value, then the client address,
 * joined by ", " (1.22's ngx_http_proxy_add_x_forwarded_for_variable). */
static int vg_proxy_add_xff(struct conn *c, struct lstr *out)
{
	const struct h1_header *h;
	struct lstr addr;
	size_t i = 0, len = 0;
	char *p, *q;
	int rc = vg_remote_addr(c, &addr);

	if (rc < 0)
		return rc;
	while ((h = var_hdr_next(c, &i, "x-forwarded-for")))
		len += h->value.len + 2;
	if (len == 0) {
		*out = addr;
		return VAR_FOUND;
	}
	p = pool_alloc(&c->pool, len + addr.len);
	if (!p)
		return -ENOMEM;
	q = p;
	i = 0;
	while ((h = var_hdr_next(c, &i, "x-forwarded-for"))) {
		if (h->value.len)
			memcpy(q, h->value.p, h->value.len);
		q += h->value.len;
		*q++ = ',';
		*q++ = ' ';
	}
	memcpy(q, addr.p, addr.len);
	return var_set(out, p, len + addr.len);
}

static int vg_http_cookie(struct conn *c, struct lstr *out)
{
	return var_hdr_joined(c, out, "cookie", ';');
}

static int vg_http_xff(struct conn *c, struct lstr *out)
{
	return var_hdr_joined(c, out, "x-forwarded-for", ',');
}

static int vg_content_type(struct conn *c, struct lstr *out)
{
	return var_hdr_value(c, out, "content-type");
}

static int vg_content_length(struct conn *c, struct lstr *out)
{
	if (var_hdr_value(c, out, "content-length") == VAR_FOUND)
		return VAR_FOUND;
	/* A chunked body: nginx counts the decoded bytes read so far. */
	if (c->req.body_kind == BODY_CHUNKED)
		return var_u64(c, out, c->req.body_received);
	return VAR_NOT_FOUND;
}

static int vg_scheme(struct conn *c, struct lstr *out)
{
	*out = var_ssl(c) ? LSTR("https") : LSTR("http");
	return VAR_FOUND;
}

static int vg_https(struct conn *c, struct lstr *out)
{
	*out = var_ssl(c) ? LSTR("on") : var_empty;
	return VAR_FOUND;
}

/* var_tls_str - a TLS session property; not found on plaintext. */
static int var_tls_str(struct lstr *out, const char *v)
{
	if (!v)
		return VAR_NOT_FOUND;
	*out = lstr_c(v);
	return VAR_FOUND;
}

static int vg_ssl_protocol(struct conn *c, struct lstr *out)
{
	return var_tls_str(out, tls_conn_protocol(c->tls));
}

static int vg_ssl_cipher(struct conn *c, struct lstr *out)
{
	return var_tls_str(out, tls_conn_cipher(c->tls));
}

static int vg_ssl_server_name(struct conn *c, struct lstr *out)
{
	return var_tls_str(out, tls_conn_server_name(c->tls));
}

/* $ssl_client_*: tls_client.c formats them into the request's pool */
static int var_tls_client(struct conn *c, enum tls_client_var which, struct lstr *out)
{
	const char *p;
	int n = tls_client_var(c->tls, which, &c->pool, &p);

	if (n < 0)
		return VAR_NOT_FOUND;
	*out = (struct lstr){p, (size_t)n};
	return VAR_FOUND;
}

static int vg_ssl_client_verify(struct conn *c, struct lstr *out)
{
	return var_tls_client(c, TLS_CV_VERIFY, out);
}

static int vg_ssl_client_s_dn(struct conn *c, struct lstr *out)
{
	return var_tls_client(c, TLS_CV_S_DN, out);
}

static int vg_ssl_client_i_dn(struct conn *c, struct lstr *out)
{
	return var_tls_client(c, TLS_CV_I_DN, out);
}

static int vg_ssl_client_serial(struct conn *c, struct lstr *out)
{
	return var_tls_client(c, TLS_CV_SERIAL, out);
}

static int vg_ssl_client_fingerprint(struct conn *c, struct lstr *out)
{
	return var_tls_client(c, TLS_CV_FINGERPRINT, out);
}

/* nginx's ngx_http_variable_request: found when the string was ever set. */
static int var_req_str(struct lstr s, struct lstr *out)
{
	if (!s.p)
		return VAR_NOT_FOUND;
	*out = s;
	return VAR_FOUND;
}

static int vg_request(struct conn *c, struct lstr *out)
{
	const char *p, *e;

	if (c->req.request_line.p)
		return var_req_str(c->req.request_line, out);
	/* a request refused while its line was read: the line's bytes as
	 * they came, up to CR or LF (nginx's $request then) */
	if (c->h2s || c->in.end <= c->in.start)
		return VAR_NOT_FOUND;
	p = c->in.data + c->in.start;
	e = p;
	while (e < c->in.data + c->in.end && *e != '\r' && *e != '\n')
		e++;
	return e > p ? var_set(out, p, (size_t)(e - p)) : VAR_NOT_FOUND;
}

static int vg_request_method(struct conn *c, struct lstr *out)
{
	if (c->req.method.p)
		return var_req_str(c->req.method, out);
	if (c->req.h1.method.len)
		return var_set(out, c->req.h1.method.p, c->req.h1.method.len);
	return VAR_NOT_FOUND;
}

static int vg_request_uri(struct conn *c, struct lstr *out)
{
	return var_req_str(c->req.u.unparsed, out);
}

static int vg_uri(struct conn *c, struct lstr *out)
{
	return var_req_str(c->req.u.uri, out);
}

/* vg_request_completion - "OK" once the whole answer went out, else
 * empty (a request cut short, as nginx). */
static int vg_request_completion(struct conn *c, struct lstr *out)
{
	*out = c->req.completed && !c->req.send_failed && c->req.status != 499 ? LSTR("OK")
									       : var_empty;
	return VAR_FOUND;
}

static int vg_args(struct conn *c, struct lstr *out)
{
	/* no arguments: "not found" ("-" in a log), '?' or not, as nginx */
	if (!c->req.u.args.len)
		return VAR_NOT_FOUND;
	return var_req_str(c->req.u.args, out);
}

/* has_trailers - "trailers" in P[0..N), in any case (nginx's strlcasestrn). */
static bool has_trailers(const char *p, size_t n)
{
	for (size_t i = 0; i + 8 <= n; i++)
		if (strncasecmp(p + i, "trailers", 8) == 0)
			return true;
	return false;
}

/* vg_grpc_internal_trailers - "trailers" when the client's TE names
 * trailers (grpc_pass sends it on as its default TE), else not found, as
 * nginx's grpc module. The first TE line counts, as nginx's. */
static int vg_grpc_internal_trailers(struct conn *c, struct lstr *out)
{
	const struct h1_header *h = req_hdrs(&c->req);

	*out = var_empty;
	for (size_t i = 0; i < c->req.h1.nheaders; i++) {
		if (!H1_IS(h[i].name, "te"))
			continue;
		if (!has_trailers(h[i].value.p, h[i].value.len))
			return VAR_NOT_FOUND;
		*out = LSTR("trailers");
		return VAR_FOUND;
	}
	return VAR_NOT_FOUND;
}

static int vg_is_args(struct conn *c, struct lstr *out)
{
	*out = c->req.u.args.len ? LSTR("?") : var_empty;
	return VAR_FOUND;
}

static int vg_server_protocol(struct conn *c, struct lstr *out)
{
	if (!c->h2s && !c->req.h1.version)
		return VAR_NOT_FOUND; /* refused before its version was read */
	if (c->req.version == 10)
		*out = LSTR("HTTP/1.0");
	else if (c->req.version == 11)
		*out = LSTR("HTTP/1.1");
	else if (c->req.version == 20)
		*out = LSTR("HTTP/2.0");
	else
		return VAR_NOT_FOUND;
	return VAR_FOUND;
}

static int vg_status(struct conn *c, struct lstr *out)
{
	char *p = pool_alloc(&c->pool, 24);
	unsigned st = c->req.status > 0 ? (unsigned)c->req.status : 0;
	size_t n;

	if (!p)
		return -ENOMEM;
	/* "%03ui": at least three digits. */
	if (st < 100) {
		p[0] = '0';
		p[1] = (char)('0' + st / 10);
		p[2] = (char)('0' + st % 10);
		n = 3;
	} else {
		n = lbd_u64toa(p, st);
	}
	return var_set(out, p, n);
}

static int vg_body_bytes_sent(struct conn *c, struct lstr *out)
{
	return var_u64(c, out, c->req.body_bytes_sent);
}

static int vg_bytes_sent(struct conn *c, struct lstr *out)
{
	return var_u64(c, out, c->req.bytes_sent);
}

static int vg_limit_rate(struct conn *c, struct lstr *out)
{
	return var_u64(c, out, (uint64_t)rate_value(c));
}

static int vg_request_length(struct conn *c, struct lstr *out)
{
	return var_u64(c, out, c->req.request_length);
}

static int vg_connection(struct conn *c, struct lstr *out)
{
	return var_u64(c, out, c->number);
}

static int vg_connection_requests(struct conn *c, struct lstr *out)
{
	return var_u64(c, out, (uint64_t)(c->requests > 0 ? c->requests : 0));
}

static int vg_request_time(struct conn *c, struct lstr *out)
{
	int64_t ms = (var_mono_us() - c->req.start_us) / 1000;

	if (ms < 0)
		ms = 0;
	return var_sec_ms(c, out, ms / 1000, ms % 1000);
}

static int vg_msec(struct conn *c, struct lstr *out)
{
	struct timespec ts;

	var_wall(&ts);
	return var_sec_ms(c, out, ts.tv_sec, ts.tv_nsec / 1000000);
}

static int vg_time_local(struct conn *c, struct lstr *out)
{
	const struct var_tcache *t = var_times();

	return var_copy(c, out, t->local, t->local_len);
}

static int vg_time_iso8601(struct conn *c, struct lstr *out)
{
	const struct var_tcache *t = var_times();

	return var_copy(c, out, t->iso, t->iso_len);
}

/* $date_local, $date_gmt outside SSI commands (ssi.c formats them with the
 * page's timefmt): the SSI module's default format, as nginx. */
static int var_date(struct conn *c, struct lstr *out, bool gmt)
{
	char buf[128];
	time_t now = time(NULL);
	struct tm tm;
	size_t n;

	if (gmt)
		gmtime_r(&now, &tm);
	else
		localtime_r(&now, &tm);
	n = strftime(buf, sizeof(buf), "%A, %d-%b-%Y %H:%M:%S %Z", &tm);
	return var_copy(c, out, buf, n);
}

static int vg_date_local(struct conn *c, struct lstr *out)
{
	return var_date(c, out, false);
}

static int vg_date_gmt(struct conn *c, struct lstr *out)
{
	return var_date(c, out, true);
}

/* Upstream strings filled by the proxy: empty means "no upstream". */
static int var_up_str(const char *s, struct lstr *out)
{
	if (!s[0])
		return VAR_NOT_FOUND;
	return var_set(out, s, strlen(s));
}

static int vg_upstream_addr(struct conn *c, struct lstr *out)
{
	return var_up_str(c->req.up_addrs, out);
}

static int vg_upstream_status(struct conn *c, struct lstr *out)
{
	return var_up_str(c->req.up_status, out);
}

static int vg_upstream_response_time(struct conn *c, struct lstr *out)
{
	return var_up_str(c->req.up_resp_time, out);
}

static int vg_upstream_response_length(struct conn *c, struct lstr *out)
{
	return var_up_str(c->req.up_resp_len, out);
}

static int vg_upstream_bytes_received(struct conn *c, struct lstr *out)
{
	return var_up_str(c->req.up_bytes_rx, out);
}

static int vg_upstream_bytes_sent(struct conn *c, struct lstr *out)
{
	return var_up_str(c->req.up_bytes_tx, out);
}

static int vg_upstream_connect_time(struct conn *c, struct lstr *out)
{
	return var_up_str(c->req.up_conn_time, out);
}

static int vg_upstream_header_time(struct conn *c, struct lstr *out)
{
	return var_up_str(c->req.up_hdr_time, out);
}

static int vg_proxy_host(struct conn *c, struct lstr *out)
{
	const struct proxy_pass *pp = var_proxy(c);

	if (!pp || !pp->host)
		return VAR_NOT_FOUND;
	return var_set(out, pp->host, strlen(pp->host));
}

/* vg_proxy_port - the port of proxy_pass's URL, or the scheme's default
 * ("80", "443"), as ngx_http_proxy_set_vars; "" for a unix socket. */
static int vg_proxy_port(struct conn *c, struct lstr *out)
{
	const struct proxy_pass *pp = var_proxy(c);
	const char *h, *colon, *url;

	if (!pp || !pp->host)
		return VAR_NOT_FOUND;
	h = pp->host;
	url = pp->url.raw ? pp->url.raw : "";
	if (strstr(url, "://unix:")) {
		*out = var_empty;
		return VAR_FOUND;
	}
	colon = h[0] == '[' ? strchr(h, ']') : h;
	colon = colon ? strrchr(colon, ':') : NULL;
	if (colon && colon[1])
		return var_set(out, colon + 1, strlen(colon + 1));
	*out = strncasecmp(url, "https://", 8) == 0 ? LSTR("443") : LSTR("80");
	return VAR_FOUND;
}

static int vg_nginx_version(struct conn *c, struct lstr *out)
{
	(void)c;
	*out = LSTR(LBD_VERSION);
	return VAR_FOUND;
}

static char var_hostname[256];
static size_t var_hostname_len;
static pthread_once_t var_hostname_once = PTHREAD_ONCE_INIT;

static void var_hostname_init(void)
{
	if (gethostname(var_hostname, sizeof(var_hostname) - 1) == -1)
		var_hostname[0] = '\0';
	var_hostname[sizeof(var_hostname) - 1] = '\0';
	for (char *p = var_hostname; *p; p++)
		*p = var_lower(*p);
	var_hostname_len = strlen(var_hostname);
}

static int vg_hostname(struct conn *c, struct lstr *out)
{
	(void)c;
	pthread_once(&var_hostname_once, var_hostname_init);
	return var_set(out, var_hostname, var_hostname_len);
}

static int vg_pid(struct conn *c, struct lstr *out)
{
	return var_u64(c, out, (uint64_t)getpid());
}

/* var_root - the location's root (or alias) made absolute against the
 * prefix; nginx's default root is "html". */
static int var_root(struct conn *c, struct lstr *out)
{
	const struct cfg_loc *loc = c->req.loc;
	const char *prefix = c->cfg && c->cfg->prefix ? c->cfg->prefix : "";
	struct lstr r = LSTR("html");
	size_t plen;
	char *p;
	int rc;

	if (loc && loc->root) {
		rc = cval_eval(loc->root, c, &r);
		if (rc < 0)
			return rc;
	}
	if ((r.len && r.p[0] == '/') || !prefix[0])
		return var_set(out, r.p, r.len);
	plen = strlen(prefix);
	p = pool_alloc(&c->pool, plen + r.len + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, prefix, plen);
	memcpy(p + plen, r.p, r.len);
	return var_set(out, p, plen + r.len);
}

static int vg_document_root(struct conn *c, struct lstr *out)
{
	return var_root(c, out);
}

static int vg_request_filename(struct conn *c, struct lstr *out)
{
	return static_request_filename(c, out);
}

static int vg_realpath_root(struct conn *c, struct lstr *out)
{
	struct lstr r;
	char *path, *real;
	int rc = var_root(c, &r);

	if (rc < 0)
		return rc;
	path = pool_strndup(&c->pool, r.p, r.len);
	if (!path)
		return -ENOMEM;
	real = realpath(path, NULL);
	if (!real)
		return VAR_NOT_FOUND;
	rc = var_copy(c, out, real, strlen(real));
	free(real);
	return rc;
}

/* $limit_req_status / $limit_conn_status: not found until the module ran. */
static int vg_limit_req_status(struct conn *c, struct lstr *out)
{
	const char *s = rl_req_status_name(c->req.rl.req_status);

	return s ? var_set(out, s, strlen(s)) : VAR_NOT_FOUND;
}

static int vg_upstream_cache_status(struct conn *c, struct lstr *out)
{
	const char *s = cache_status_of(c);

	return s ? var_set(out, s, strlen(s)) : VAR_NOT_FOUND;
}

static int vg_limit_conn_status(struct conn *c, struct lstr *out)
{
	const char *s = rl_conn_status_name(c->req.rl.conn_status);

	return s ? var_set(out, s, strlen(s)) : VAR_NOT_FOUND;
}

/* $gzip_ratio: not found unless the response was compressed. */
static int vg_gzip_ratio(struct conn *c, struct lstr *out)
{
	char buf[32];
	size_t n = gzip_ratio(c, buf, sizeof(buf));

	return n ? var_copy(c, out, buf, n) : VAR_NOT_FOUND;
}

/* $invalid_referer: "1" when the Referer fails the location's
 * valid_referers, else empty (ngx_http_referer_module). */
static int vg_invalid_referer(struct conn *c, struct lstr *out)
{
	const struct cfg_loc *loc = c->req.loc;
	const struct h1_header *h;

	if (!loc)
		return var_set(out, "", 0);
	h = var_hdr_first(c, "referer");
	if (referer_valid(&loc->referer, h ? (h->value.p ? h->value.p : "") : NULL,
			  h ? h->value.len : 0))
		return var_set(out, "", 0);
	return var_set(out, "1", 1);
}

/* $modern_browser, $ancient_browser: the level's value when the
 * User-Agent gets that verdict, else empty (ngx_http_browser_module);
 * $msie: "1" for an MSIE User-Agent (not Opera's). */
static int vg_browser(struct conn *c, struct lstr *out, bool modern)
{
	const struct cfg_loc *l = c->req.loc ? c->req.loc : c->req.srv ? &c->req.srv->loc : NULL;
	const struct h1_header *h = var_hdr_first(c, "user-agent");
	const char *v;

	if (!l)
		return var_set(out, "", 0);
	v = browser_value(&l->browser, modern, h ? (h->value.p ? h->value.p : "") : NULL,
			  h ? h->value.len : 0);
	return var_set(out, v, strlen(v));
}

static int vg_modern_browser(struct conn *c, struct lstr *out)
{
	return vg_browser(c, out, true);
}

static int vg_ancient_browser(struct conn *c, struct lstr *out)
{
	return vg_browser(c, out, false);
}

static int vg_msie(struct conn *c, struct lstr *out)
{
	const struct h1_header *h = var_hdr_first(c, "user-agent");

	if (h && h->value.len && browser_msie(h->value.p, h->value.len))
		return var_set(out, "1", 1);
	return var_set(out, "", 0);
}

static int vg_secure_link(struct conn *c, struct lstr *out)
{
	return securelink_var(c, out);
}

static int vg_secure_link_expires(struct conn *c, struct lstr *out)
{
	return securelink_expires_var(c, out);
}

static int vg_pipe(struct conn *c, struct lstr *out)
{
	*out = c->req.pipelined && !c->h2s ? LSTR("p") : LSTR(".");
	return VAR_FOUND;
}

static int vg_http2(struct conn *c, struct lstr *out)
{
	*out = !c->h2s ? var_empty : var_ssl(c) ? LSTR("h2") : LSTR("h2c");
	return VAR_FOUND;
}

/* $tcpinfo_*: the client socket's TCP_INFO, read for each use as nginx does */
static int var_tcpinfo(struct conn *c, struct lstr *out, int which)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int fd = c->h2s ? h2_stream_fd(c) : c->io.fd;
	uint32_t v;

	if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return VAR_NOT_FOUND;
	v = which == 0	 ? ti.tcpi_rtt
	    : which == 1 ? ti.tcpi_rttvar
	    : which == 2 ? ti.tcpi_snd_cwnd
			 : ti.tcpi_rcv_space;
	return var_u64(c, out, v);
}

static int vg_tcpinfo_rtt(struct conn *c, struct lstr *out)
{
	return var_tcpinfo(c, out, 0);
}

static int vg_tcpinfo_rttvar(struct conn *c, struct lstr *out)
{
	return var_tcpinfo(c, out, 1);
}

static int vg_tcpinfo_snd_cwnd(struct conn *c, struct lstr *out)
{
	return var_tcpinfo(c, out, 2);
}

static int vg_tcpinfo_rcv_space(struct conn *c, struct lstr *out)
{
	return var_tcpinfo(c, out, 3);
}

/* tls_vars.c's, in the request's pool */
static int var_tls_more(struct conn *c, enum tls_var which, struct lstr *out)
{
	const char *p;
	int n = tls_var(c->tls, which, &c->pool, &p);

	if (n <= 0)
		return VAR_NOT_FOUND;
	*out = (struct lstr){p, (size_t)n};
	return VAR_FOUND;
}

#define TLS_MORE(fn, which)                             \
	static int fn(struct conn *c, struct lstr *out) \
	{                                               \
		return var_tls_more(c, which, out);     \
	}
TLS_MORE(vg_ssl_session_reused, TLS_V_SESSION_REUSED)
TLS_MORE(vg_ssl_session_id, TLS_V_SESSION_ID)
TLS_MORE(vg_ssl_ciphers, TLS_V_CIPHERS)
TLS_MORE(vg_ssl_curves, TLS_V_CURVES)
TLS_MORE(vg_ssl_client_raw_cert, TLS_V_CLIENT_RAW_CERT)
TLS_MORE(vg_ssl_client_cert, TLS_V_CLIENT_CERT)
TLS_MORE(vg_ssl_client_escaped_cert, TLS_V_CLIENT_ESCAPED_CERT)
TLS_MORE(vg_ssl_client_v_start, TLS_V_CLIENT_V_START)
TLS_MORE(vg_ssl_client_v_end, TLS_V_CLIENT_V_END)
TLS_MORE(vg_ssl_client_v_remain, TLS_V_CLIENT_V_REMAIN)

/* $ssl_early_data: "1" while the request came as TLS 1.3 early data and
 * the handshake is not complete; not found otherwise (an empty value is
 * "not found" for nginx's TLS variables) */
static int vg_ssl_early_data(struct conn *c, struct lstr *out)
{
	if (!tls_conn_in_early(c->tls))
		return VAR_NOT_FOUND;
	*out = lstr_c("1");
	return VAR_FOUND;
}

/* $request_body: a body read whole into memory (as nginx: not one spooled
 * to a file, streamed upstream or never read) */
static int vg_request_body(struct conn *c, struct lstr *out)
{
	const struct http_req *r = &c->req;

	if (r->body_kind == BODY_NONE || !r->body_done || r->body_fd >= 0 || r->rbody ||
	    !r->body_mem.data)
		return VAR_NOT_FOUND;
	*out = (struct lstr){r->body_mem.data, r->body_mem.end};
	return VAR_FOUND;
}

/* $request_body_file: the name of the body's file: client_body_in_file_only's,
 * or a spooled body's when the configuration uses this variable (reqbody.c
 * names it then, else it has none) */
static int vg_request_body_file(struct conn *c, struct lstr *out)
{
	const char *f = c->req.body_file;

	if (!f || !c->req.body_done)
		return VAR_NOT_FOUND;
	*out = (struct lstr){f, strlen(f)};
	return VAR_FOUND;
}

/* The builtin table: CVAL_VAR parts hold an index into it. Sorted by name
 * for the reader; lookups happen at configuration time only. */
const struct var_def var_builtins[] = {
	{"ancient_browser", vg_ancient_browser},
	{"args", vg_args},
	{"binary_remote_addr", vg_binary_remote_addr},
	{"body_bytes_sent", vg_body_bytes_sent},
	{"bytes_sent", vg_bytes_sent},
	{"connection", vg_connection},
	{"connection_requests", vg_connection_requests},
	{"content_length", vg_content_length},
	{"content_type", vg_content_type},
	{"date_gmt", vg_date_gmt},
	{"date_local", vg_date_local},
	{"document_root", vg_document_root},
	{"document_uri", vg_uri},
	{"fastcgi_path_info", fcgi_var_path_info},
	{"fastcgi_script_name", fcgi_var_script_name},
	{"grpc_internal_trailers", vg_grpc_internal_trailers},
	{"gzip_ratio", vg_gzip_ratio},
	{"host", vg_host},
	{"hostname", vg_hostname},
	{"http2", vg_http2},
	{"http_cookie", vg_http_cookie},
	{"http_x_forwarded_for", vg_http_xff},
	{"https", vg_https},
	{"invalid_referer", vg_invalid_referer},
	{"is_args", vg_is_args},
	{"limit_conn_status", vg_limit_conn_status},
	{"limit_rate", vg_limit_rate},
	{"limit_req_status", vg_limit_req_status},
	{"modern_browser", vg_modern_browser},
	{"msec", vg_msec},
	{"msie", vg_msie},
	{"nginx_version", vg_nginx_version},
	{"pid", vg_pid},
	{"pipe", vg_pipe},
	{"proxy_add_x_forwarded_for", vg_proxy_add_xff},
	{"proxy_host", vg_proxy_host},
	{"proxy_port", vg_proxy_port},
	{"proxy_protocol_addr", vg_pp_addr},
	{"proxy_protocol_port", vg_pp_port},
	{"proxy_protocol_server_addr", vg_pp_server_addr},
	{"proxy_protocol_server_port", vg_pp_server_port},
	{"query_string", vg_args},
	{"realip_remote_addr", vg_realip_remote_addr},
	{"realip_remote_port", vg_realip_remote_port},
	{"realpath_root", vg_realpath_root},
	{"remote_addr", vg_remote_addr},
	{"remote_port", vg_remote_port},
	{"remote_user", vg_remote_user},
	{"request", vg_request},
	{"request_body", vg_request_body},
	{"request_body_file", vg_request_body_file},
	{"request_completion", vg_request_completion},
	{"request_filename", vg_request_filename},
	{"request_id", vg_request_id},
	{"request_length", vg_request_length},
	{"request_method", vg_request_method},
	{"request_time", vg_request_time},
	{"request_uri", vg_request_uri},
	{"scheme", vg_scheme},
	{"secure_link", vg_secure_link},
	{"secure_link_expires", vg_secure_link_expires},
	{"server_addr", vg_server_addr},
	{"server_name", vg_server_name},
	{"server_port", vg_server_port},
	{"server_protocol", vg_server_protocol},
	{"slice_range", slice_range_var},
	{"ssl_cipher", vg_ssl_cipher},
	{"ssl_ciphers", vg_ssl_ciphers},
	{"ssl_client_cert", vg_ssl_client_cert},
	{"ssl_client_escaped_cert", vg_ssl_client_escaped_cert},
	{"ssl_client_fingerprint", vg_ssl_client_fingerprint},
	{"ssl_client_i_dn", vg_ssl_client_i_dn},
	{"ssl_client_raw_cert", vg_ssl_client_raw_cert},
	{"ssl_client_s_dn", vg_ssl_client_s_dn},
	{"ssl_client_serial", vg_ssl_client_serial},
	{"ssl_client_v_end", vg_ssl_client_v_end},
	{"ssl_client_v_remain", vg_ssl_client_v_remain},
	{"ssl_client_v_start", vg_ssl_client_v_start},
	{"ssl_client_verify", vg_ssl_client_verify},
	{"ssl_curves", vg_ssl_curves},
	{"ssl_early_data", vg_ssl_early_data},
	{"ssl_protocol", vg_ssl_protocol},
	{"ssl_server_name", vg_ssl_server_name},
	{"ssl_session_id", vg_ssl_session_id},
	{"ssl_session_reused", vg_ssl_session_reused},
	{"status", vg_status},
	{"tcpinfo_rcv_space", vg_tcpinfo_rcv_space},
	{"tcpinfo_rtt", vg_tcpinfo_rtt},
	{"tcpinfo_rttvar", vg_tcpinfo_rttvar},
	{"tcpinfo_snd_cwnd", vg_tcpinfo_snd_cwnd},
	{"time_iso8601", vg_time_iso8601},
	{"time_local", vg_time_local},
	{"uid_got", userid_var_got},
	{"uid_set", userid_var_set},
	{"upstream_addr", vg_upstream_addr},
	{"upstream_bytes_received", vg_upstream_bytes_received},
	{"upstream_bytes_sent", vg_upstream_bytes_sent},
	{"upstream_cache_status", vg_upstream_cache_status},
	{"upstream_connect_time", vg_upstream_connect_time},
	{"upstream_header_time", vg_upstream_header_time},
	{"upstream_response_time", vg_upstream_response_time},
	{"upstream_response_length", vg_upstream_response_length},
	{"upstream_status", vg_upstream_status},
	{"uri", vg_uri},
};

_Static_assert(ARRAY_SIZE(var_builtins) == VAR_NBUILTINS,
	       "VAR_NBUILTINS (var_int.h) is the size of var_builtins");

int var_builtin_index(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(var_builtins); i++) {
		if (strlen(var_builtins[i].name) == len &&
		    strncasecmp(var_builtins[i].name, name, len) == 0)
			return (int)i;
	}
	return -1;
}
