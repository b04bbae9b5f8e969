/* SPDX-License-Identifier: MIT */
/*
 * Configuration builder, TLS: the directives of nginx's
 * ngx_http_ssl_module (http and server levels) with their checks and
 * messages, the merge of the settings from http down to each server with
 * lbd's safe defaults, and, once the configuration is complete, the check
 * that every server on a `listen ... ssl` address has a certificate and
 * the build of each server's OpenSSL context (tls.c), so that a missing or
 * mismatched key fails `lbd -t` and a reload before anything serves it.
 * The table that points here is in cfg.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"
#include "log.h"
#include "ocsp.h"
#include "stream.h"
#include "tls.h"

/* nginx's estimate: a 1 MiB shared cache holds about 4000 sessions. */
#define TLS_SESSION_BYTES   256
#define TLS_BUILTIN_DEFAULT 20480      /* sessions of a bare `builtin` */
#define TLS_SHARED_MIN	    (8 * 4096) /* nginx: 8 pages */
#define TLS_TIMEOUT_DEFAULT 300000     /* ms: nginx's 5m */
#define TLS_BUFFER_DEFAULT  16384      /* nginx's ssl_buffer_size */
#define TLS_BUFFER_MIN	    512	       /* OpenSSL's smallest max_send_fragment */

void cfg_tls_init(struct tls_conf *t)
{
	memset(t, 0, sizeof(*t));
	t->protocols = CFG_UNSET;
	t->prefer_server_ciphers = CFG_UNSET;
	t->cache = CFG_UNSET;
	t->session_timeout = CFG_UNSET;
	t->session_tickets = CFG_UNSET;
	t->stapling = CFG_UNSET;
	t->stapling_verify = CFG_UNSET;
	t->reject_handshake = CFG_UNSET;
	t->buffer_size = CFG_UNSET;
	t->early_data = CFG_UNSET;
	t->verify_client = CFG_UNSET;
	t->verify_depth = CFG_UNSET;
	t->ocsp.mode = CFG_UNSET;
	t->ocsp.cache = CFG_UNSET;
}

struct tls_conf *cfg_tls_base(struct scope *s)
{
	if (s->ssrv) /* stream {} or one of its servers (cfg_stream_ssl.c) */
		return &s->ssrv->tls;
	return s->srv ? &s->srv->tls : &s->http->tls;
}

char *cfg_conf_path(struct build *b, const char *p)
{
	const char *pre = b->cfg->conf_prefix;
	size_t lp = strlen(pre), ln = strlen(p);
	char *r;

	if (p[0] == '/')
		return pool_strdup(b->pool, p);
	r = pool_alloc(b->pool, lp + ln + 1);
	if (r) {
		memcpy(r, pre, lp);
		memcpy(r + lp, p, ln + 1);
	}
	return r;
}

static int64_t parse_count(const char *s);

static struct tls_where here(const struct cfg_node *n)
{
	return (struct tls_where){n->file, n->line};
}

/* push_file - one more path of N's (made absolute; a "data:" value or
 * one with variables as written) in LIST[*CNT], with where it was written
 * in AT, for the level T; VALS (NULL: the list has none) gets VAL, the
 * compiled value of one with variables (NULL: fixed). */
static int push_file(struct build *b, struct cfg_node *n, struct tls_conf *t, char ***list,
		     struct tls_where **at, int *cnt, void ***vals, void *val)
{
	int k = *cnt, j = *cnt;
	char **slot = PUSH(b, *list, *cnt);
	struct tls_where *w = slot ? PUSH(b, *at, k) : NULL;
	void **v = w && vals ? PUSH(b, *vals, j) : NULL;

	if (!w || (vals && !v))
		return cfg_fail(b, n, "out of memory");
	if (v)
		*v = val;
	if (val || strncmp(n->args[0], "data:", 5) == 0)
		*slot = pool_strdup(b->pool, n->args[0]);
	else
		*slot = cfg_conf_path(b, n->args[0]);
	if (!*slot)
		return cfg_fail(b, n, "out of memory");
	*w = here(n);
	t->touched = true;
	return 0;
}

/* cfg_set_tls_file - ssl_certificate, ssl_certificate_key: one more entry
 * of the level's list (several pairs, e.g. ECDSA and RSA). A value with
 * variables is compiled (http's or stream's variables) and makes the
 * level's pairs load at each handshake, as nginx 1.15.9+; "data:PEM"
 * is the PEM text itself. */
int cfg_set_tls_file(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct tls_conf *t = cfg_tls_base(s);
	bool key = strcmp(n->name, "ssl_certificate_key") == 0;
	void *val = NULL;

	(void)d;
	if (strchr(n->args[0], '$')) {
		if (s->ssrv) {
			struct stream_val *sv = pool_zalloc(b->pool, sizeof(*sv));

			if (!sv)
				return cfg_fail(b, n, "out of memory");
			if (cfg_stream_compile(b, n, s->stream, n->args[0], sv))
				return -1;
			val = sv;
		} else {
			struct cval *cv = pool_zalloc(b->pool, sizeof(*cv));

			if (!cv)
				return cfg_fail(b, n, "out of memory");
			if (cfg_compile(b, n, n->args[0], cv))
				return -1;
			/* "$" alone or "$$" stay literal: nothing to evaluate */
			val = cv->literal || !cv->nparts ? NULL : cv;
		}
	}
	if (val) {
		t->dynamic = true;
		t->prefix = b->cfg->conf_prefix;
	}
	return key ? push_file(b, n, t, &t->keys, &t->key_at, &t->nkeys, &t->key_vals, val)
		   : push_file(b, n, t, &t->certs, &t->cert_at, &t->ncerts, &t->cert_vals, val);
}

/* cfg_set_tls_ticket_key - ssl_session_ticket_key FILE: one more key
 * (read when the context is built, so a reload reads it again). */
int cfg_set_tls_ticket_key(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	struct tls_conf *t = cfg_tls_base(s);

	(void)d;
	return push_file(b, n, t, &t->ticket_keys, &t->ticket_key_at, &t->nticket_keys, NULL, NULL);
}

/* cfg_set_tls_path - ssl_dhparam, ssl_trusted_certificate,
 * ssl_client_certificate, ssl_crl, ssl_password_file, ssl_stapling_file:
 * one file. */
int cfg_set_tls_path(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct tls_conf *t = cfg_tls_base(s);
	char **f;
	struct tls_where *at;

	(void)d;
	if (strcmp(n->name, "ssl_dhparam") == 0)
		f = &t->dhparam, at = &t->dhparam_at;
	else if (strcmp(n->name, "ssl_client_certificate") == 0)
		f = &t->client_ca, at = &t->client_ca_at;
	else if (strcmp(n->name, "ssl_crl") == 0)
		f = &t->crl, at = &t->crl_at;
	else if (strcmp(n->name, "ssl_password_file") == 0)
		f = &t->password_file, at = &t->password_at;
	else if (strcmp(n->name, "ssl_stapling_file") == 0)
		f = &t->ocsp.file, at = &t->ocsp.file_at;
	else
		f = &t->trusted, at = &t->trusted_at;
	if (*f)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	*f = cfg_conf_path(b, n->args[0]);
	if (!*f)
		return cfg_fail(b, n, "out of memory");
	*at = here(n);
	t->touched = true;
	return 0;
}

/* cfg_set_tls_verify - ssl_verify_client on | off | optional |
 * optional_no_ca. */
int cfg_set_tls_verify(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	static const char *const names[] = {"off", "on", "optional", "optional_no_ca"};
	struct tls_conf *t = cfg_tls_base(s);

	(void)d;
	if (t->verify_client != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (strcmp(n->args[0], names[i]) == 0)
			t->verify_client = i;
	if (t->verify_client == CFG_UNSET)
		return cfg_fail(b, n, "invalid value \"%s\"", n->args[0]);
	t->verify_at = here(n);
	t->touched = true;
	return 0;
}

/* cfg_set_tls_depth - ssl_verify_depth N. */
int cfg_set_tls_depth(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct tls_conf *t = cfg_tls_base(s);
	int64_t v = parse_count(n->args[0]);

	(void)d;
	if (t->verify_depth != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (v < 0 || v > 100)
		return cfg_fail(b, n, "invalid number \"%s\" in \"%s\" directive", n->args[0],
				n->name);
	t->verify_depth = (int)v;
	t->touched = true;
	return 0;
}

/* cfg_set_tls_str - ssl_ciphers, ssl_ecdh_curve, ssl_stapling_responder,
 * ssl_ocsp_responder: checked when the context is built (OpenSSL's
 * message names this line; a bad stapling responder URL is a warning
 * there, a bad ssl_ocsp_responder an error, as nginx's). */
int cfg_set_tls_str(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct tls_conf *t = cfg_tls_base(s);
	bool ciphers = strcmp(n->name, "ssl_ciphers") == 0;
	bool responder = strcmp(n->name, "ssl_stapling_responder") == 0;
	bool ocsp = strcmp(n->name, "ssl_ocsp_responder") == 0;
	char **f = ciphers     ? &t->ciphers
		   : responder ? &t->ocsp.stapling_url
		   : ocsp      ? &t->ocsp.url
			       : &t->ecdh_curve;

	(void)d;
	if (*f)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	*f = pool_strdup(b->pool, n->args[0]);
	if (!*f)
		return cfg_fail(b, n, "out of memory");
	if (ciphers)
		t->ciphers_at = here(n);
	else if (responder)
		t->ocsp.stapling_url_at = here(n);
	else if (ocsp)
		t->ocsp.url_at = here(n);
	else
		t->ecdh_curve_at = here(n);
	t->touched = true;
	return 0;
}

int cfg_tls_cmd_add(struct build *b, struct cfg_node *n, struct tls_cmds *c)
{
	const char **nm = pool_alloc(b->pool, (size_t)(c->n + 1) * sizeof(*nm));
	const char **v = pool_alloc(b->pool, (size_t)(c->n + 1) * sizeof(*v));
	struct tls_where *at = pool_alloc(b->pool, (size_t)(c->n + 1) * sizeof(*at));

	if (!nm || !v || !at)
		return cfg_fail(b, n, "out of memory");
	if (c->n) {
		memcpy(nm, c->name, (size_t)c->n * sizeof(*nm));
		memcpy(v, c->value, (size_t)c->n * sizeof(*v));
		memcpy(at, c->at, (size_t)c->n * sizeof(*at));
	}
	nm[c->n] = pool_strdup(b->pool, n->args[0]);
	v[c->n] = pool_strdup(b->pool, n->args[1]);
	at[c->n] = here(n);
	if (!nm[c->n] || !v[c->n])
		return cfg_fail(b, n, "out of memory");
	*c = (struct tls_cmds){.name = nm, .value = v, .at = at, .n = c->n + 1};
	return 0;
}

/* cfg_set_tls_conf_command - ssl_conf_command NAME VALUE: kept for
 * OpenSSL's SSL_CONF_cmd, which checks it when the context is built. */
int cfg_set_tls_conf_command(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d)
{
	struct tls_conf *t = cfg_tls_base(s);

	(void)d;
	t->touched = true;
	return cfg_tls_cmd_add(b, n, &t->cmds);
}

/* cfg_set_tls_flag - the on/off ssl_* directives (offset into tls_conf). */
int cfg_set_tls_flag(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct tls_conf *t = cfg_tls_base(s);
	int rc = cfg_set_flag(b, n, s, d);

	if (!rc && strcmp(n->name, "ssl_stapling") == 0)
		t->stapling_at = here(n);
	t->touched = true;
	return rc;
}

/* cfg_set_tls_protocols - ssl_protocols NAME...: nginx's bitmask slot
 * (case-insensitive, a repeated name only warned). */
int cfg_set_tls_protocols(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct tls_conf *t = cfg_tls_base(s);
	int bits = 0;

	(void)d;
	if (t->protocols != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	for (size_t i = 0; i < n->nargs; i++) {
		int bit = tls_parse_protocol(n->args[i]);

		if (!bit)
			return cfg_fail(b, n, "invalid value \"%s\"", n->args[i]);
		if (bits & bit)
			cfg_warn(n, "duplicate value \"%s\"", n->args[i]);
		bits |= bit;
	}
	t->protocols = bits;
	t->protocols_at = here(n);
	t->touched = true;
	return 0;
}

/* cfg_set_tls_timeout - ssl_session_timeout TIME. */
int cfg_set_tls_timeout(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct tls_conf *t = cfg_tls_base(s);

	(void)d;
	if (t->session_timeout != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (cfg_parse_time(n->args[0], &t->session_timeout) || t->session_timeout < 1000)
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	t->touched = true;
	return 0;
}

/* cfg_set_tls_buffer - ssl_buffer_size SIZE: the largest TLS record
 * lbd sends (OpenSSL's max_send_fragment, 512 bytes to 16k; nginx takes
 * any size and its records never exceed 16k either). */
int cfg_set_tls_buffer(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct tls_conf *t = cfg_tls_base(s);

	(void)d;
	if (t->buffer_size != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	if (cfg_parse_size(n->args[0], &t->buffer_size))
		return cfg_fail(b, n, "\"%s\" directive invalid value", n->name);
	if (t->buffer_size < TLS_BUFFER_MIN) {
		cfg_warn(n, "\"%s\" below %d is raised to %d", n->name, TLS_BUFFER_MIN,
			 TLS_BUFFER_MIN);
		t->buffer_size = TLS_BUFFER_MIN;
	}
	t->touched = true;
	return 0;
}

/* cfg_set_tls_early - ssl_early_data on|off: TLS 1.3 0-RTT (tls.c's
 * set_early_data says what protects against replays). */
int cfg_set_tls_early(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	int rc = cfg_set_flag(b, n, s, d);

	if (!rc)
		cfg_tls_base(s)->touched = true; /* the server's own context */
	return rc;
}

/* cfg_set_tls_ocsp - ssl_ocsp on | off | leaf. */
int cfg_set_tls_ocsp(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	static const char *const names[] = {"off", "on", "leaf"};
	struct tls_conf *t = cfg_tls_base(s);

	(void)d;
	if (t->ocsp.mode != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (strcmp(n->args[0], names[i]) == 0)
			t->ocsp.mode = i;
	if (t->ocsp.mode == CFG_UNSET)
		return cfg_fail(b, n, "invalid value \"%s\"", n->args[0]);
	t->ocsp.mode_at = here(n);
	t->touched = true;
	return 0;
}

/* cfg_set_tls_ocsp_cache - ssl_ocsp_cache off | shared:NAME:SIZE. One
 * process: the zone is one table of answers for every worker, kept
 * across reloads. */
int cfg_set_tls_ocsp_cache(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d)
{
	struct tls_conf *t = cfg_tls_base(s);
	const char *a = n->args[0], *name, *colon;
	int64_t size;

	(void)d;
	if (t->ocsp.cache != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	t->touched = true;
	if (strcmp(a, "off") == 0) {
		t->ocsp.cache = 0;
		return 0;
	}
	if (strncmp(a, "shared:", 7) != 0)
		return cfg_fail(b, n, "invalid OCSP cache \"%s\"", a);
	name = a + 7;
	colon = strchr(name, ':');
	if (!colon || colon == name || cfg_parse_size(colon + 1, &size) || size <= 0)
		return cfg_fail(b, n, "invalid OCSP cache \"%s\"", a);
	if (size < TLS_SHARED_MIN)
		return cfg_fail(b, n, "OCSP cache \"%s\" is too small", a);
	t->ocsp.cache_name = pool_alloc(b->pool, (size_t)(colon - name) + 1);
	if (!t->ocsp.cache_name)
		return cfg_fail(b, n, "out of memory");
	memcpy(t->ocsp.cache_name, name, (size_t)(colon - name));
	t->ocsp.cache_name[colon - name] = '\0';
	t->ocsp.cache = size;
	t->ocsp.cache_at = here(n);
	return 0;
}

/* parse_count - digits only, no overflow; -1 otherwise. */
static int64_t parse_count(const char *s)
{
	int64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* cfg_set_tls_cache - ssl_session_cache off | none | [builtin[:N]]
 * [shared:NAME:SIZE]. One process: the builtin and shared caches are the
 * same OpenSSL cache, shared by the workers; their sizes add up. */
int cfg_set_tls_cache(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d)
{
	struct tls_conf *t = cfg_tls_base(s);
	int64_t sessions = 0;
	int mode = CFG_UNSET;

	(void)d;
	if (t->cache != CFG_UNSET)
		return cfg_fail(b, n, "\"%s\" directive is duplicate", n->name);
	for (size_t i = 0; i < n->nargs; i++) {
		const char *a = n->args[i];

		if (strcmp(a, "off") == 0) {
			mode = TLS_CACHE_OFF;
		} else if (strcmp(a, "none") == 0) {
			mode = TLS_CACHE_NONE;
		} else if (strcmp(a, "builtin") == 0) {
			mode = TLS_CACHE_ON;
			sessions += TLS_BUILTIN_DEFAULT;
		} else if (strncmp(a, "builtin:", 8) == 0) {
			int64_t v = parse_count(a + 8);

			if (v < 0)
				return cfg_fail(b, n, "invalid session cache \"%s\"", a);
			mode = TLS_CACHE_ON;
			sessions += v;
		} else if (strncmp(a, "shared:", 7) == 0) {
			const char *name = a + 7, *colon = strchr(name, ':');
			int64_t size;

			if (!colon || colon == name || cfg_parse_size(colon + 1, &size) ||
			    size <= 0)
				return cfg_fail(b, n, "invalid session cache \"%s\"", a);
			if (size < TLS_SHARED_MIN)
				return cfg_fail(b, n, "session cache \"%s\" is too small", a);
			mode = TLS_CACHE_ON;
			sessions += size / TLS_SESSION_BYTES;
			t->cache_zone = pool_strndup(b->pool, name, (size_t)(colon - name));
			if (!t->cache_zone)
				return cfg_fail(b, n, "out of memory");
			t->cache_zone_at = here(n);
		} else {
			return cfg_fail(b, n, "invalid session cache \"%s\"", a);
		}
	}
	t->cache = mode;
	t->cache_sessions = sessions;
	t->touched = true;
	return 0;
}

/* merge - nginx's ngx_http_ssl_merge_srv_conf, with lbd's defaults. */
static void merge(struct tls_conf *l, const struct tls_conf *p)
{
#define TMERGE(f, def)                                                \
	do {                                                          \
		if (l->f == CFG_UNSET)                                \
			l->f = p && p->f != CFG_UNSET ? p->f : (def); \
	} while (0)
#define TMERGE_PTR(f, at)                 \
	do {                              \
		if (!l->f && p && p->f) { \
			l->f = p->f;      \
			l->at = p->at;    \
		}                         \
	} while (0)

	if (!l->ncerts && !l->nkeys && p) {
		l->certs = p->certs;
		l->cert_at = p->cert_at;
		l->ncerts = p->ncerts;
		l->keys = p->keys;
		l->key_at = p->key_at;
		l->nkeys = p->nkeys;
		l->cert_vals = p->cert_vals;
		l->key_vals = p->key_vals;
		l->dynamic = p->dynamic;
		l->prefix = p->prefix;
	}
	if (l->protocols == CFG_UNSET && p && p->protocols != CFG_UNSET)
		l->protocols_at = p->protocols_at;
	TMERGE(protocols, TLS_PROTO_DEFAULT);
	TMERGE_PTR(ciphers, ciphers_at);
	if (!l->ciphers)
		l->ciphers = TLS_CIPHERS_DEFAULT;
	TMERGE(prefer_server_ciphers, 0);
	if (l->cache == CFG_UNSET && p && p->cache != CFG_UNSET)
		l->cache_sessions = p->cache_sessions;
	TMERGE(cache, TLS_CACHE_NONE);
	TMERGE(session_timeout, TLS_TIMEOUT_DEFAULT);
	TMERGE(session_tickets, 1);
	TMERGE_PTR(dhparam, dhparam_at);
	TMERGE_PTR(ecdh_curve, ecdh_curve_at);
	TMERGE_PTR(trusted, trusted_at);
	if (l->stapling == CFG_UNSET && p && p->stapling != CFG_UNSET)
		l->stapling_at = p->stapling_at;
	TMERGE(stapling, 0);
	TMERGE(stapling_verify, 0);
	TMERGE_PTR(ocsp.file, ocsp.file_at);
	TMERGE_PTR(ocsp.stapling_url, ocsp.stapling_url_at);
	if (l->ocsp.mode == CFG_UNSET && p && p->ocsp.mode != CFG_UNSET)
		l->ocsp.mode_at = p->ocsp.mode_at;
	TMERGE(ocsp.mode, TLS_OCSP_OFF);
	TMERGE_PTR(ocsp.url, ocsp.url_at);
	if (l->ocsp.cache == CFG_UNSET && p && p->ocsp.cache != CFG_UNSET)
		l->ocsp.cache_name = p->ocsp.cache_name;
	TMERGE(ocsp.cache, 0);
	TMERGE(reject_handshake, 0);
	TMERGE(buffer_size, TLS_BUFFER_DEFAULT);
	TMERGE(early_data, 0);
	if (!l->nticket_keys && p) {
		l->ticket_keys = p->ticket_keys;
		l->ticket_key_at = p->ticket_key_at;
		l->nticket_keys = p->nticket_keys;
	}
	TMERGE_PTR(client_ca, client_ca_at);
	TMERGE_PTR(password_file, password_at);
	TMERGE_PTR(crl, crl_at);
	if (l->verify_client == CFG_UNSET && p && p->verify_client != CFG_UNSET)
		l->verify_at = p->verify_at;
	TMERGE(verify_client, TLS_VERIFY_OFF);
	TMERGE(verify_depth, 1);
	if (!l->cmds.n && p)
		l->cmds = p->cmds; /* a level's list replaces the outer one, as nginx */
#undef TMERGE
#undef TMERGE_PTR
}

/* build - the context of one level; nginx's pairing check first. */
static int build(struct build *b, struct tls_conf *t)
{
	if (t->nkeys < t->ncerts) {
		snprintf(b->err, b->errlen,
			 "no \"ssl_certificate_key\" is defined for certificate \"%s\" in %s:%d",
			 t->certs[t->ncerts - 1], t->cert_at[t->ncerts - 1].file,
			 t->cert_at[t->ncerts - 1].line);
		return -1;
	}
	if (t->nkeys > t->ncerts) {
		snprintf(b->err, b->errlen,
			 "no \"ssl_certificate\" is defined for key \"%s\" in %s:%d",
			 t->keys[t->nkeys - 1], t->key_at[t->nkeys - 1].file,
			 t->key_at[t->nkeys - 1].line);
		return -1;
	}
	/* nginx 1.22's check: a verified client needs the CAs to list (the
	 * CAs of ssl_trusted_certificate verify too, unlisted) */
	if ((t->verify_client == TLS_VERIFY_ON || t->verify_client == TLS_VERIFY_OPTIONAL) &&
	    !t->client_ca) {
		snprintf(b->err, b->errlen,
			 "no ssl_client_certificate for ssl_verify_client in %s:%d",
			 t->verify_at.file ? t->verify_at.file : "command line", t->verify_at.line);
		return -1;
	}
	/* ssl_ocsp (nginx 1.22's checks): a certificate that need not chain
	 * to a CA has no issuer to ask about; the responder URL must do */
	if (t->ocsp.mode != TLS_OCSP_OFF && t->verify_client == TLS_VERIFY_OPTIONAL_NO_CA) {
		snprintf(b->err, b->errlen,
			 "\"ssl_ocsp\" is incompatible with \"ssl_verify_client optional_no_ca\" "
			 "in %s:%d",
			 t->ocsp.mode_at.file ? t->ocsp.mode_at.file : "command line",
			 t->ocsp.mode_at.line);
		return -1;
	}
	if (t->ocsp.mode != TLS_OCSP_OFF && t->ocsp.url) {
		char *host = NULL, *port = NULL, *path = NULL;
		const char *part, *bad = ocsp_parse_url(t->ocsp.url, &host, &port, &path, &part);

		OPENSSL_free(host);
		OPENSSL_free(port);
		OPENSSL_free(path);
		if (bad) {
			snprintf(b->err, b->errlen,
				 "%s OCSP responder \"%s\" in \"ssl_ocsp_responder\" in %s:%d", bad,
				 part, t->ocsp.url_at.file ? t->ocsp.url_at.file : "command line",
				 t->ocsp.url_at.line);
			return -1;
		}
	}
	/* ssl_reject_handshake on needs no certificate: the context only
	 * answers every handshake with an unrecognized_name alert */
	if (!t->ncerts && t->reject_handshake != 1)
		return 0;
	return tls_ctx_build(t, b->err, b->errlen) ? -1 : 0;
}

/* ocsp_level - the ssl_ocsp settings of H's level I (-1: http itself). */
static const struct tls_ocsp_conf *ocsp_level(const struct cfg_http *h, int i)
{
	return i < 0 ? &h->tls.ocsp : &h->servers[i]->tls.ocsp;
}

/* ocsp_zones_agree - nginx's check of shared zones: one ssl_ocsp_cache
 * NAME has one size wherever it is written. */
static int ocsp_zones_agree(struct build *b, const struct cfg_http *h)
{
	for (int i = 0; i < h->nservers; i++) {
		const struct tls_ocsp_conf *o = ocsp_level(h, i);

		if (o->cache <= 0 || !o->cache_at.line)
			continue;
		for (int j = -1; j < i; j++) {
			const struct tls_ocsp_conf *e = ocsp_level(h, j);

			if (e->cache <= 0 || !e->cache_at.line || e->cache == o->cache ||
			    strcmp(e->cache_name, o->cache_name) != 0)
				continue;
			snprintf(
				b->err, b->errlen,
				"the size %lld of shared memory zone \"%s\" conflicts with already "
				"declared size %lld in %s:%d",
				(long long)o->cache, o->cache_name, (long long)e->cache,
				o->cache_at.file ? o->cache_at.file : "command line",
				o->cache_at.line);
			return -1;
		}
	}
	return 0;
}

/* written_before - whether A was read before B: the same file's lines in
 * order, else the level's (http's -1, then the servers'). */
static bool written_before(struct tls_where a, int la, struct tls_where b, int lb)
{
	if (a.file && b.file && strcmp(a.file, b.file) == 0)
		return a.line < b.line;
	return la < lb;
}

/* cache_zones_apart - nginx's shared zones are one name space: a
 * ssl_session_cache shared:NAME and a ssl_ocsp_cache shared:NAME are
 * refused at the later of the two. */
static int cache_zones_apart(struct build *b, const struct cfg_http *h)
{
	for (int i = -1; i < h->nservers; i++) {
		const struct tls_conf *s = i < 0 ? &h->tls : &h->servers[i]->tls;

		if (!s->cache_zone)
			continue;
		for (int j = -1; j < h->nservers; j++) {
			const struct tls_ocsp_conf *o = ocsp_level(h, j);
			struct tls_where at;

			if (o->cache <= 0 || !o->cache_at.line ||
			    strcmp(o->cache_name, s->cache_zone))
				continue;
			at = written_before(s->cache_zone_at, i, o->cache_at, j) ? o->cache_at
										 : s->cache_zone_at;
			snprintf(
				b->err, b->errlen,
				"the shared memory zone \"%s\" is already declared for a different "
				"use in %s:%d",
				s->cache_zone, at.file ? at.file : "command line", at.line);
			return -1;
		}
	}
	return 0;
}

static bool same_addr(const struct cfg_listen *a, const struct cfg_listen *c)
{
	return a->addrlen == c->addrlen && memcmp(&a->addr, &c->addr, a->addrlen) == 0;
}

int cfg_tls_finish(struct build *b, struct cfg_http *h)
{
	if (ocsp_zones_agree(b, h) || cache_zones_apart(b, h))
		return -1;
	merge(&h->tls, NULL);
	if (build(b, &h->tls))
		return -1;
	for (int i = 0; i < h->nservers; i++) {
		struct cfg_srv *srv = h->servers[i];

		merge(&srv->tls, &h->tls);
		if (!srv->tls.touched && h->tls.ctx) {
			/* nothing set here: the http level's context serves */
			tls_ctx_share(&srv->tls, &h->tls);
		} else if (build(b, &srv->tls)) {
			return -1;
		}
	}
	/* `ssl` belongs to the address: one listen of it saying so is enough */
	for (int j = 0; j < h->nlgroups; j++) {
		struct listen_group *g = &h->lgroups[j];

		for (int i = 0; i < g->nservers && !g->ssl; i++)
			for (int k = 0; k < g->servers[i]->nlistens; k++)
				if (g->servers[i]->listens[k].ssl &&
				    same_addr(&g->servers[i]->listens[k], g->listen))
					g->ssl = true;
		/* HTTP/2 likewise: `listen ... http2` on any server of the
		 * address, or `http2 on` in one of its servers (nginx 1.25) */
		for (int i = 0; i < g->nservers && !g->http2; i++) {
			g->http2 = g->servers[i]->http2 == 1;
			for (int k = 0; k < g->servers[i]->nlistens; k++)
				if (g->servers[i]->listens[k].http2 &&
				    same_addr(&g->servers[i]->listens[k], g->listen))
					g->http2 = true;
		}
		for (int i = 0; g->ssl && i < g->nservers; i++) {
			struct cfg_srv *srv = g->servers[i];

			if (!srv->tls.ctx) {
				snprintf(
					b->err, b->errlen,
					"no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive in %s:%d",
					srv->file ? srv->file : "command line", srv->line);
				return -1;
			}
		}
	}
	return 0;
}

int cfg_tls_merge_build(struct build *b, struct tls_conf *t, const struct tls_conf *parent)
{
	merge(t, parent);
	return parent ? build(b, t) : 0;
}

void cfg_tls_release(struct cfg_http *h)
{
	if (!h)
		return;
	for (int i = 0; i < h->nservers; i++)
		if (h->servers[i])
			tls_ctx_release(&h->servers[i]->tls);
	tls_ctx_release(&h->tls);
}
