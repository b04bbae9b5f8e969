/* SPDX-License-Identifier: MIT */
/*
 * Private to the configuration builder (cfg.c and every cfg_*.c but
 * cfg_ast.c, the syntax tree's reader): the state of one build, the scope
 * of the directive being applied, the directive table's entry type, the
 * helpers the files share, and the setters, merges and checks each file
 * offers the table in cfg.c and the build's steps (cfg_load.c,
 * cfg_finish.c). Not for other modules.
 */
#ifndef LBD_CFG_INT_H
#define LBD_CFG_INT_H

#include "cfg-t.h"
#include "cfg_ast.h"
#include "pool.h"
#include "var.h"

enum {
	C_MAIN = 1 << 0,
	C_EVENTS = 1 << 1,
	C_HTTP = 1 << 2,
	C_SRV = 1 << 3,
	C_LOC = 1 << 4,
	C_UPS = 1 << 5,
	C_IF = 1 << 6,
	C_STREAM = 1 << 7, /* stream {} (cfg_stream.c) */
	C_SSRV = 1 << 8,   /* server {} of stream */
	C_SUPS = 1 << 9,   /* upstream {} of stream */
	C_SIF = 1 << 10,   /* if {} of a server (C_IF: of a location) */
	C_LMT = 1 << 11,   /* limit_except {} of a location (cfg_auth.c) */
};
#define C_HSL (C_HTTP | C_SRV | C_LOC)
#define C_SL  (C_SRV | C_LOC)

#define ARGS_ANY 64

enum dir_base {
	B_NONE = 0,
	B_MAIN,
	B_LOC,
	B_SRV,
	B_TLS,	/* the level's struct tls_conf */
	B_SSRV, /* the stream server (or stream{} defaults): struct stream_srv */
};

struct cfg_stream;
struct stream_srv;

/* struct scope - the blocks enclosing the directive being applied. */
struct scope {
	struct cfg_http *http;
	struct cfg_srv *srv;
	struct cfg_loc *loc; /* http, server or location level conf */
	struct ups_group *ups;
	struct cfg_stream *stream; /* stream {} (cfg_stream.c) */
	struct stream_srv *ssrv;   /* its server, or its defaults */
	unsigned ctx;		   /* C_* of the current block */
};

struct build;
struct dir;
typedef int (*dir_fn)(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);

/* struct dir - one directive: where it may appear, how many arguments it
 * takes, and how it is set (a generic setter through base + offset, or a
 * handler of its own). */
struct dir {
	const char *name;
	unsigned ctx;	    /* C_* bits where allowed */
	int min, max;	    /* argument count range */
	bool block;	    /* takes a { } block */
	dir_fn fn;	    /* setter */
	enum dir_base base; /* struct the offset applies to */
	size_t off;	    /* field offset for generic setters */
};

/* struct build - state while building one configuration. */
struct build {
	struct cfg *cfg;
	struct pool *pool;
	struct cval_ctx cv;
	char *err;
	size_t errlen;
	struct ups_group **groups; /* every group, named first */
	int ngroups, capgroups;
	struct cfg_node http_end; /* the http block's "}": where nginx reports merge errors */
};

/* cfg_fail - set b->err to the message plus " in FILE:LINE"; returns -1. */
int cfg_fail(struct build *b, const struct cfg_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* cfg_warn - log a warning naming FILE:LINE. */
void cfg_warn(const struct cfg_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cfg_grow - OLD (N elements, grown only by PUSH) with room for one more,
 * the new element zeroed: doubles when N is 0 or a power of two. */
void *cfg_grow(struct build *b, void *old, int n, size_t elem);

#define PUSH(b, arr, cnt)                                                         \
	({                                                                        \
		__typeof__(arr) _m = cfg_grow((b), (arr), (cnt), sizeof(*(arr))); \
		if (_m)                                                           \
			(arr) = _m;                                               \
		_m ? &(arr)[(cnt)++] : NULL;                                      \
	})

int cfg_compile(struct build *b, struct cfg_node *n, const char *text, struct cval *out);
void *cfg_compile_re(struct build *b, struct cfg_node *n, const char *re, bool caseless);
int cfg_parse_unix(const char *path, size_t len, struct sockaddr_storage *ss, socklen_t *sslen);
/* cfg_conf_path - file name P relative to the configuration's directory
 * (nginx's conf prefix) unless absolute, in the build's pool (ssl_*,
 * proxy_ssl_* files). NULL without memory. */
char *cfg_conf_path(struct build *b, const char *p);
const char *cfg_unix_err(int rc);
int cfg_parse_addr(const char *text, int default_port, struct sockaddr_storage *ss, socklen_t *len,
		   bool wildcard_ok);
int cfg_block(struct build *b, struct cfg_node *n, struct scope *s);
int cfg_set_flag(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_size(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
/* cfg_parse_flag - A, "on" or "off" (any case), into *OUT; nginx's
 * message for anything else. 0 or -1. */
int cfg_parse_flag(struct build *b, struct cfg_node *n, const char *a, int *out);
/* cfg_full_path - P under PREFIX unless absolute, in the build's pool;
 * NULL without memory. */
char *cfg_full_path(struct build *b, const char *prefix, const char *p);

/* cfg_main.c: the main and events contexts */
int cfg_set_workers(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_user(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_daemon(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_error_log(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_pin_path(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_pid(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_ctl_socket(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_events(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_worker_conns(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_priority(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_cpu_affinity(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);

/* cfg_http.c: http, server and location blocks, listen, server_name */
int cfg_set_http(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_server(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_location(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_listen(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_server_name(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
/* cfg_loc_init - L with every inherited value unset. */
void cfg_loc_init(struct cfg_loc *l);

/* cfg_loc.c: static files, the rewrite module, error_page, stub_status,
 * lbd_metrics, internal, allow, deny, keepalive_timeout */
int cfg_set_root(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_try_files(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_expires(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_types(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_return(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_rewrite(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_break(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_set(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_error_page(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_status_page(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_internal(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_access(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_keepalive_timeout(struct build *b, struct cfg_node *n, struct scope *s,
			      const struct dir *d);
/* cfg_access_add - an allow/deny rule appended to a list (http and stream) */
int cfg_access_add(struct build *b, struct cfg_node *n, struct access_rule **rules, int *nrules);

/* cfg_alog.c: log_format, access_log */
int cfg_set_log_format(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_access_log(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);

/* cfg_merge.c: cfg_merge_loc - L's unset values from its parent P (NULL:
 * nginx's defaults), then its MIME types and prefix locations sorted;
 * cfg_merge_tree - the same for L and every level inside it (its
 * limit_except block, its if blocks, its locations); cfg_init_default_types -
 * the types of a level without `types` (five built in). */
void cfg_merge_loc(struct build *b, struct cfg_loc *l, const struct cfg_loc *p);
void cfg_merge_tree(struct build *b, struct cfg_loc *l, const struct cfg_loc *p);
void cfg_init_default_types(void);

/* cfg_finish.c: cfg_finish_http - what is done once http {} is read (the
 * default access log, merge, proxy_pass bound, checks, listen groups, the
 * modules' finishing, upstream groups set up). 0 or -1 (b->err).
 * cfg_check_unresolved - every variable name compiled unresolved is a
 * `set` variable or a named capture somewhere; else -1 with nginx's
 * "unknown variable" message in b->err. */
int cfg_finish_http(struct build *b, struct cfg_http *h);
int cfg_check_unresolved(struct build *b);

/* cfg_compat.c: nginx directives lbd checks and ignores, or maps */
int cfg_set_ignored_flag(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_ignored_size(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_ignored_any(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_lowat(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_deprecated_buffer(struct build *b, struct cfg_node *n, struct scope *s,
			      const struct dir *d);
int cfg_set_debug_points(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_debug_connection(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d);
int cfg_set_auth_delay(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_epoll_events(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_working_directory(struct build *b, struct cfg_node *n, struct scope *s,
			      const struct dir *d);

int cfg_set_post_action(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
/* cfg_browser.c: modern_browser, ancient_browser and their values */
int cfg_set_modern_browser(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
int cfg_set_ancient_browser(struct build *b, struct cfg_node *n, struct scope *s,
			    const struct dir *d);
int cfg_set_browser_value(struct build *b, struct cfg_node *n, struct scope *s,
			  const struct dir *d);
void cfg_browser_merge(struct build *b, struct browser_conf *bc, const struct browser_conf *p);

/* cfg_if.c: the `if` directive */
int cfg_set_if(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
/* cfg_if_body - the block of L's step I when it is an `if`, else NULL;
 * with LOC_ONLY, only a location's if (a configuration of its own). */
static inline struct cfg_loc *cfg_if_body(const struct cfg_loc *l, int i, bool loc_only)
{
	const struct rewrite *r = &l->rewrites[i];

	if (r->kind != RW_IF || !r->cond || (loc_only && !r->cond->in_location))
		return NULL;
	return r->cond->body;
}

/* cfg_stream_ssl.c: TLS in stream {} (listen ... ssl, ssl_*, proxy_ssl*) */
struct stream_srv;
struct cfg_stream;
struct stream_val;
void cfg_stream_ssl_init(struct stream_srv *srv);
int cfg_stream_set_alpn(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_stream_set_proxy_ssl(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d);
/* cfg_stream_ssl_finish - merge every server's TLS settings and build the
 * contexts (servers with `listen ... ssl`, `proxy_ssl on`). 0 or -1. */
int cfg_stream_ssl_finish(struct build *b, struct cfg_stream *st);
void cfg_stream_ssl_release(struct cfg_stream *st);
/* cfg_stream_compile - TEXT with stream variables into OUT (cfg_stream.c). */
int cfg_stream_compile(struct build *b, struct cfg_node *n, struct cfg_stream *st, const char *text,
		       struct stream_val *out);

/* cfg_tls.c: ssl_conf_command (and proxy_ssl_conf_command's list) */
int cfg_tls_cmd_add(struct build *b, struct cfg_node *n, struct tls_cmds *c);
int cfg_set_tls_conf_command(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d);

/* cfg_upssl.c: proxy_ssl_* (HTTPS upstreams) */
int cfg_set_upssl(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
void cfg_upssl_init(struct upssl_conf *u);
void cfg_upssl_merge(struct upssl_conf *u, const struct upssl_conf *p);
/* cfg_upssl_set - one proxy_ssl_* directive N (not the on|off flags) into
 * U, with nginx's checks; proxy_ssl_name compiles http variables. */
int cfg_upssl_set(struct build *b, struct cfg_node *n, struct upssl_conf *u);
/* cfg_upssl_set_in - the same, a certificate with variables compiled
 * with stream ST's variables (NULL: http's). */
int cfg_upssl_set_in(struct build *b, struct cfg_node *n, struct upssl_conf *u,
		     struct cfg_stream *st);
/* cfg_upssl_check - a merged location proxying to https://: nginx's checks
 * (reported at WHERE) and its client context. 0 or -1. */
int cfg_upssl_check(struct build *b, struct cfg_loc *l, const struct cfg_node *where);
/* cfg_upssl_drop_key - forget U's certificate key given without a
 * certificate (nginx accepts it, unused). */
void cfg_upssl_drop_key(struct upssl_conf *u);
/* cfg_upssl_ctx - a client context (SSL_CTX *, session hooks set) from
 * U's merged settings: 0 with *CTX, or -1 with the message in b->err. */
int cfg_upssl_ctx(struct build *b, struct upssl_conf *u, void **ctx);
void cfg_upssl_release(struct cfg_http *h);

/* cfg_hc.c: `match` blocks, health_check match= and checks over TLS */
int cfg_set_hc_match(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
/* cfg_hc_note_loc - merged location L: when its proxy_pass names a group
 * with an http health_check, record whether the checks speak TLS and with
 * which settings (an error when two locations disagree). 0 or -1. */
int cfg_hc_note_loc(struct build *b, struct cfg_loc *l);
/* cfg_hc_finish - after every location: resolve match=NAME. 0 or -1. */
int cfg_hc_finish(struct build *b, struct cfg_http *h);
void cfg_hc_release(struct cfg_http *h);

/* struct cfg_bit - one word of a directive that takes a set of flags. */
struct cfg_bit {
	const char *name; /* the word */
	int bit;	  /* what it adds */
};

/* cfg_parse_bits - N's arguments, each a word of T[0..NT), OR'ed into
 * *BITS; nginx's `invalid value "WORD"` for any other. 0 or -1. */
int cfg_parse_bits(struct build *b, struct cfg_node *n, const struct cfg_bit *t, size_t nt,
		   int *bits);
/* cfg_proxy.c: proxy, upstream and map directives */
int cfg_set_proxy_pass(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_proxy_header(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_http_version(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_next_upstream(struct build *b, struct cfg_node *n, struct scope *s,
			  const struct dir *d);
/* cfg_proxy_bufs_check - nginx's merge-time checks of L's buffer sizes,
 * reported at WHERE; fills the unset busy/temp-file-write sizes. 0 or -1. */
int cfg_proxy_bufs_check(struct build *b, struct cfg_loc *l, const struct cfg_node *where);
int cfg_set_proxy_buffers(struct build *b, struct cfg_node *n, struct scope *s,
			  const struct dir *d);
int cfg_set_proxy_redirect(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
int cfg_set_upstream(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_ups_block(struct build *b, struct cfg_node *n, const struct scope *s, struct ups_group *g,
		  unsigned ctx);
int cfg_set_ups_server(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_ups_method(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_ups_keepalive(struct build *b, struct cfg_node *n, struct scope *s,
			  const struct dir *d);
int cfg_set_ups_health_check(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d);
int cfg_set_ups_queue(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_zone(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_map(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
/* cfg_map_declared - the variable VAR ("$name") that the pre-pass declared
 * for N (map, geo, split_clients), or NULL with nginx's duplicate error. */
struct cfg_map *cfg_map_declared(struct build *b, struct cfg_node *n, struct scope *s,
				 const char *var);
/* cfg_guard.c: kernel packet path (main context) */
int cfg_set_conns_per_ip(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_xdp_attach(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_xdp_syn_limit(struct build *b, struct cfg_node *n, struct scope *s,
			  const struct dir *d);
int cfg_set_xdp_allow(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_ban_list(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_f2b_jail(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_f2b(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_bind_proxy_pass(struct build *b, struct proxy_pass *pp, const char *file, int line);
int cfg_prepass_maps(struct build *b, struct cfg_node *http, struct cfg_http *h);

/* cfg_limit.c: limit_req and limit_conn directives */
int cfg_set_limit_req_zone(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
int cfg_set_limit_conn_zone(struct build *b, struct cfg_node *n, struct scope *s,
			    const struct dir *d);
int cfg_set_limit_req(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_limit_conn(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_limit_status(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_limit_log_level(struct build *b, struct cfg_node *n, struct scope *s,
			    const struct dir *d);
void cfg_limit_init(struct rl_loc *l);
/* cfg_cache.c: proxy_cache_path and proxy_cache_* directives */
int cfg_set_cache_path(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_cache(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_cache_range(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_cache_key(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_cache_valid(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_cache_cond(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_cache_methods(struct build *b, struct cfg_node *n, struct scope *s,
			  const struct dir *d);
int cfg_set_ignore_headers(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
int cfg_set_cache_use_stale(struct build *b, struct cfg_node *n, struct scope *s,
			    const struct dir *d);
int cfg_set_cache_ims(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
void cfg_cache_init(struct cache_loc *cl);
void cfg_cache_merge(struct cache_loc *l, const struct cache_loc *p);
int cfg_cache_finish(struct build *b, struct cfg_http *h);
void cfg_cache_release(struct cfg_http *h);
void cfg_limit_merge(struct rl_loc *l, const struct rl_loc *p);
/* cfg_limit_finish - check the zone names and bind them to shared state;
 * cfg_limit_release gives that state back (safe on a half-built http). */
int cfg_limit_finish(struct build *b, struct cfg_http *h);
void cfg_limit_release(struct cfg_http *h);
/* the same for stream's limit_conn (cfg_stream.c): zone lists, the checks */
struct rl_zone_conf *cfg_rl_zone_use(struct build *b, struct cfg_node *n,
				     struct rl_zone_conf **zones, const char *name, size_t len,
				     enum rl_kind kind, int64_t size);
int cfg_rl_zone_param(struct build *b, struct cfg_node *n, const char *arg, const char **name,
		      size_t *len, int64_t *size);
int cfg_rl_conn_number(struct build *b, struct cfg_node *n);
int cfg_rl_log_level(struct build *b, struct cfg_node *n, int *f);
int cfg_rl_zones_bind(struct build *b, struct rl_zone_conf *zones);
void cfg_rl_zones_release(struct rl_zone_conf *zones);

/* cfg_gzip.c: gzip* and gzip_static directives */
int cfg_set_gzip_level(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_gzip_http_version(struct build *b, struct cfg_node *n, struct scope *s,
			      const struct dir *d);
int cfg_set_gzip_static(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_gzip_proxied(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_gzip_buffers(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_gunzip_buffers(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
int cfg_set_gzip_zlib(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_gzip_types(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_gzip_disable(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
void cfg_gzip_init(struct gzip_loc *g);
void cfg_gzip_merge(struct gzip_loc *g, const struct gzip_loc *p);
/* cfg_realip.c: set_real_ip_from, real_ip_header, real_ip_recursive */
int cfg_set_real_ip_from(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
/* cfg_realip_from - one set_real_ip_from entry (N's argument) into RC:
 * http's and stream's (cfg_stream.c) directive alike. */
int cfg_realip_from(struct build *b, struct cfg_node *n, struct realip_conf *rc);
int cfg_set_real_ip_header(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
void cfg_realip_init(struct realip_conf *rc);
void cfg_realip_merge(struct realip_conf *rc, const struct realip_conf *p);

/* cfg_auth.c: auth_basic, auth_basic_user_file, satisfy, limit_except */
int cfg_set_auth_basic(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_auth_user_file(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
int cfg_set_satisfy(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_limit_except(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
void cfg_auth_init(struct auth_loc *a);
void cfg_auth_merge(struct auth_loc *a, const struct auth_loc *p);
/* cfg_authreq.c: auth_request, auth_request_set; cfg_authreq_declares -
 * whether A's auth_request_set list sets variable NAME (LEN bytes) */
int cfg_set_auth_request(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_auth_request_set(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d);
bool cfg_authreq_declares(const struct auth_loc *a, const char *name, size_t len);
/* cfg_mirror.c: mirror; init (unset) and merge of mirror_loc
 * (mirror_request_body is cfg_set_flag's) */
int cfg_set_mirror(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
void cfg_mirror_init(struct mirror_loc *m);
void cfg_mirror_merge(struct mirror_loc *m, const struct mirror_loc *p);

/* cfg_dav.c: dav_methods, dav_access; init (unset) and merge of dav_loc
 * (create_full_put_path and min_delete_depth are the table's) */
int cfg_set_dav_methods(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_dav_access(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
void cfg_dav_init(struct dav_loc *d);
void cfg_dav_merge(struct dav_loc *d, const struct dav_loc *p);

/* cfg_rate.c: limit_rate, limit_rate_after */
int cfg_set_limit_rate(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_limit_rate_after(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d);
int cfg_set_proxy_limit_rate(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d);
void cfg_rate_merge(struct rate_loc *r, const struct rate_loc *p);

/* cfg_types_add - one more MIME type T (lowercased) in TYPES[0..*NTYPES),
 * a duplicate warned about as nginx does (gzip_types, charset_types). */
int cfg_types_add(struct build *b, struct cfg_node *n, char ***types, int *ntypes, const char *t);
/* cfg_types_list - the arguments of a *_types line into TYPES (`*`: *ANY,
 * the rest of the line ignored; a later line adds to the list). */
int cfg_types_list(struct build *b, struct cfg_node *n, char ***types, int *ntypes, bool *any);

/* cfg_subfilter.c: sub_filter, sub_filter_types (sub_filter_once and
 * sub_filter_last_modified are flags in cfg.c's table) */
void cfg_subfilter_init(struct subf_loc *g);
int cfg_set_sub_filter(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_sub_filter_types(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d);
/* cfg_subfilter_merge - G's unset values from its parent P (NULL at http);
 * builds the search tables of the list it ends up with. */
void cfg_subfilter_merge(struct subf_loc *g, const struct subf_loc *p);

/* cfg_addition.c: add_before_body, add_after_body, addition_types */
void cfg_addition_init(struct add_loc *a);
int cfg_set_addition_uri(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_addition_types(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
/* cfg_addition_merge - A's unset values from its parent P (NULL at http). */
void cfg_addition_merge(struct add_loc *a, const struct add_loc *p);

/* cfg_ssi.c: ssi_types and the merge of the ssi* directives */
void cfg_ssi_init(struct ssi_loc *s);
int cfg_set_ssi_types(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
/* cfg_ssi_merge - S's unset values from its parent P (NULL at http). */
void cfg_ssi_merge(struct ssi_loc *s, const struct ssi_loc *p);

/* cfg_charset.c: charset, source_charset, charset_types, override_charset, charset_map */
int cfg_set_charset(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_source_charset(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
int cfg_set_override_charset(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d);
int cfg_set_charset_map(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_charset_types(struct build *b, struct cfg_node *n, struct scope *s,
			  const struct dir *d);
/* cfg_charset_merge - G's unset values from its parent P (NULL at http). */
void cfg_charset_merge(struct charset_loc *g, const struct charset_loc *p);
/* cfg_charset_check - after the merge: a source_charset other than the
 * charset would need recoding (nginx's error without a charset_map). 0 or -1. */
int cfg_charset_check(struct build *b, const struct charset_loc *g);

/* cfg_referer.c: valid_referers, referer_hash_max_size, referer_hash_bucket_size */
int cfg_set_valid_referers(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
int cfg_set_referer_hash(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
void cfg_referer_merge(struct referer_conf *rc, const struct referer_conf *p);
/* cfg_referer_check - nginx's merge-time checks of a level that set
 * valid_referers (server_names conflicts, `none`/`blocked` alone). 0 or -1. */
int cfg_referer_check(struct build *b, struct referer_conf *rc);
/* cfg_referer_release - free the regexes of a level that set them. */
void cfg_referer_release(struct referer_conf *rc);

/* cfg_securelink.c: secure_link, secure_link_md5, secure_link_secret */
int cfg_set_secure_link(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_secure_link_secret(struct build *b, struct cfg_node *n, struct scope *s,
			       const struct dir *d);
void cfg_securelink_merge(struct securelink_loc *sl, const struct securelink_loc *p);
/* cfg_securelink_check - nginx's merge-time error of a level mixing
 * secure_link_secret with the expressions. 0 or -1. */
int cfg_securelink_check(struct build *b, const struct securelink_loc *sl);

/* cfg_fastcgi.c: fastcgi_pass, fastcgi_param, fastcgi_index,
 * fastcgi_split_path_info; merge and release of struct fcgi_loc; the
 * setters, merge and apply of a struct fcgi_twins shared with cfg_uwsgi.c
 * (a twin setter's entry carries the twins' offset in struct cfg_loc) */
int cfg_set_fastcgi_pass(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_fastcgi_param(struct build *b, struct cfg_node *n, struct scope *s,
			  const struct dir *d);
int cfg_set_fastcgi_index(struct build *b, struct cfg_node *n, struct scope *s,
			  const struct dir *d);
int cfg_set_fastcgi_split(struct build *b, struct cfg_node *n, struct scope *s,
			  const struct dir *d);
/* cfg_param_add - `X_param NAME VALUE [if_not_empty]` into a list (a level
 * with any replaces the outer list whole); 0 or -1 (failed). */
int cfg_param_add(struct build *b, struct cfg_node *n, struct fcgi_param **params, int *nparams,
		  bool *params_set, bool *http_params);
int cfg_set_twin_next_upstream(struct build *b, struct cfg_node *n, struct scope *s,
			       const struct dir *d);
int cfg_set_twin_buffers(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_twin_ignore_headers(struct build *b, struct cfg_node *n, struct scope *s,
				const struct dir *d);
int cfg_set_twin_bind(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_twin_limit_rate(struct build *b, struct cfg_node *n, struct scope *s,
			    const struct dir *d);
/* cfg_twins_init - every twin unset; cfg_twins_merge - unset ones from PT
 * (NULL: nginx's defaults); cfg_twins_apply - T into L's proxy_* fields. */
void cfg_twins_init(struct fcgi_twins *t);
void cfg_twins_merge(struct fcgi_twins *t, const struct fcgi_twins *pt);
void cfg_twins_apply(struct cfg_loc *l, const struct fcgi_twins *t);
/* cfg_fastcgi_init - every setting of F unset (CFG_UNSET / NULL). */
void cfg_fastcgi_init(struct fcgi_loc *f);
void cfg_fastcgi_merge(struct fcgi_loc *f, const struct fcgi_loc *p);
/* cfg_fastcgi_apply - after every merge: a location whose handler is
 * fastcgi_pass gets the fastcgi_* twins in its proxy_* fields. */
void cfg_fastcgi_apply(struct cfg_loc *l);
void cfg_fastcgi_release(struct fcgi_loc *f);
/* cfg_fcache.c: fastcgi_cache*, uwsgi_cache*, scgi_cache*: the proxy cache
 * setters run on the cache of the struct fcgi_twins at the entry's offset */
int cfg_set_twin_cache(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_twin_cache_key(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
int cfg_set_twin_cache_valid(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d);
int cfg_set_twin_cache_methods(struct build *b, struct cfg_node *n, struct scope *s,
			       const struct dir *d);
int cfg_set_twin_cache_cond(struct build *b, struct cfg_node *n, struct scope *s,
			    const struct dir *d);
int cfg_set_twin_cache_use_stale(struct build *b, struct cfg_node *n, struct scope *s,
				 const struct dir *d);
int cfg_set_twin_cache_range(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d);
/* cfg_twin_cache_check - after every merge, before the twins are applied:
 * a level with fastcgi_cache (uwsgi_cache, scgi_cache) and no *_cache_key
 * is warned about (below http, as nginx) and keyed with the empty string,
 * as nginx does. 0 or -1. */
int cfg_twin_cache_check(struct build *b, struct cfg_loc *l);

/* cfg_store.c: *_store on|off|STRING, *_store_access (the proxy module's
 * at a table offset of 0, a twin module's at its struct fcgi_twins) */
int cfg_set_store(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_store_access(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_access_mode(struct build *b, struct cfg_node *n, int *out);
/* cfg_store_of - the store settings D's entry names in L (for the cache
 * setters' "incompatible" check too). */
struct store_conf *cfg_store_of(struct cfg_loc *l, const struct dir *d);
void cfg_store_init(struct store_conf *st);
/* cfg_set_body_in_file - client_body_in_file_only on|clean|off. */
int cfg_set_body_in_file(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
void cfg_store_merge(struct store_conf *st, const struct store_conf *p);

/* cfg_uwsgi.c: uwsgi_pass, uwsgi_param, uwsgi_modifier1/2, uwsgi_ssl_*,
 * scgi_pass, scgi_param; init, merge and apply of struct uwsgi_loc and scgi_loc */
int cfg_set_uwsgi_pass(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_uwsgi_param(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_scgi_pass(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_scgi_param(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_uwsgi_modifier(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
int cfg_set_uwsgi_ssl(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
void cfg_uwsgi_init(struct uwsgi_loc *u);
void cfg_uwsgi_merge(struct uwsgi_loc *u, const struct uwsgi_loc *p);
void cfg_scgi_init(struct scgi_loc *g);
void cfg_scgi_merge(struct scgi_loc *g, const struct scgi_loc *p);
/* cfg_uwsgi_apply - after every merge: a uwsgi_pass (scgi_pass) location
 * gets the uwsgi_* (scgi_*) twins in its proxy_* fields. */
void cfg_uwsgi_apply(struct cfg_loc *l);
/* cfg_pass_as_proxy - a *_pass ADDR (host:port, unix:PATH, an upstream
 * name or variables) set as the http:// URL proxy_pass takes: refuses a
 * path in ADDR ("invalid host in upstream"). 0 or -1. */
int cfg_pass_as_proxy(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d,
		      const char *a);

/* cfg_userid.c: the userid_* directives; init and merge of struct
 * userid_loc */
int cfg_set_userid(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_userid_str(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_userid_service(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
int cfg_set_userid_expires(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
int cfg_set_userid_mark(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_userid_flags(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
void cfg_userid_init(struct userid_loc *u);
void cfg_userid_merge(struct userid_loc *u, const struct userid_loc *p);

/* cfg_memc.c: memcached_pass, memcached_next_upstream; init, merge and
 * apply of struct memc_loc */
int cfg_set_memc_pass(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_memc_next_upstream(struct build *b, struct cfg_node *n, struct scope *s,
			       const struct dir *d);
void cfg_memc_init(struct memc_loc *m);
void cfg_memc_merge(struct memc_loc *m, const struct memc_loc *p);
/* cfg_memc_apply - after every merge: a memcached_pass location gets the
 * memcached_* twins in its proxy_* fields, and what nginx's module fixes
 * (no buffering, errors intercepted, no request headers or body, ranges
 * served from the value, no proxy_cache). */
void cfg_memc_apply(struct cfg_loc *l);

/* cfg_grpc.c: grpc_pass, grpc_ssl_*;
 * init, merge and apply of struct grpc_loc */
int cfg_set_grpc_pass(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_grpc_ssl(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
void cfg_grpc_init(struct grpc_loc *g);
void cfg_grpc_merge(struct grpc_loc *g, const struct grpc_loc *p);
/* cfg_grpc_apply - after every merge: a grpc_pass location gets the grpc_*
 * twins in its proxy_* fields, buffering off both ways. */
void cfg_grpc_apply(struct cfg_loc *l);

/* cfg_misc.c: small directives */
/* cfg_set_cval_once - a struct cval * at D's offset in the level's
 * cfg_loc, set once (nginx's "is duplicate"). */
int cfg_set_cval_once(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
/* cfg_set_proxy_bind - `proxy_bind ADDRESS|off` (variables allowed);
 * `transparent` refused. */
int cfg_set_proxy_bind(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
/* cfg_set_on - a directive without arguments that turns a bool of the
 * location on (empty_gif, flv: content handlers; repeating it is
 * harmless, as in nginx). */
int cfg_set_on(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_disable_symlinks(struct build *b, struct cfg_node *n, struct scope *s,
			     const struct dir *d);

/* cfg_geo.c: geo [$address] $variable { ... } */
struct geo;
int cfg_geo_block(struct build *b, struct cfg_node *n, struct geo **out, bool http);
int cfg_set_geo(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);

/* cfg_split.c: split_clients STRING $variable { ... } */
struct split;
int cfg_split_block(struct build *b, struct cfg_node *n, struct split **out);
int cfg_set_split_clients(struct build *b, struct cfg_node *n, struct scope *s,
			  const struct dir *d);

/* cfg_cookie.c: proxy_cookie_domain, proxy_cookie_path, proxy_cookie_flags */
int cfg_set_proxy_cookie(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_proxy_cookie_flags(struct build *b, struct cfg_node *n, struct scope *s,
			       const struct dir *d);
void cfg_cookie_merge(struct cookie_loc *k, const struct cookie_loc *p);

/* cfg_tls.c: ssl_* directives */
int cfg_set_tls_file(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_tls_path(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_tls_str(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_tls_flag(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_tls_protocols(struct build *b, struct cfg_node *n, struct scope *s,
			  const struct dir *d);
int cfg_set_tls_timeout(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_tls_verify(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_tls_depth(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_tls_ticket_key(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
int cfg_set_tls_buffer(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_tls_early(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_tls_cache(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_tls_ocsp(struct build *b, struct cfg_node *n, struct scope *s, const struct dir *d);
int cfg_set_tls_ocsp_cache(struct build *b, struct cfg_node *n, struct scope *s,
			   const struct dir *d);
void cfg_tls_init(struct tls_conf *t);
/* cfg_tls_base - the tls_conf of the level being built (B_TLS). */
struct tls_conf *cfg_tls_base(struct scope *s);
/* cfg_tls_finish - merge the settings, mark the `ssl` addresses, check
 * every server on them has a certificate, build the contexts;
 * cfg_tls_release drops them (safe on a half-built http). */
int cfg_tls_finish(struct build *b, struct cfg_http *h);
void cfg_tls_release(struct cfg_http *h);
/* cfg_tls_merge_build - merge T from PARENT (NULL: the top level, merged
 * with the defaults and not built) and build its context when it has a
 * certificate (stream servers: cfg_stream_ssl.c). 0 or -1 (b->err). */
int cfg_tls_merge_build(struct build *b, struct tls_conf *t, const struct tls_conf *parent);

/* cfg_stream.c: the stream {} module's directives (a second table) */
extern const struct dir cfg_stream_dirs[];
extern const size_t cfg_stream_ndirs;
/* cfg_stream_finish - merge, bind proxy_pass, init the groups; 0 or -1. */
int cfg_stream_finish(struct build *b, struct cfg_stream *st);
/* cfg_stream_release - free what the groups and maps hold (safe half-built). */
void cfg_stream_release(struct cfg_stream *st);

#endif
