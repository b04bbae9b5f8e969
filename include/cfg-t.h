/* SPDX-License-Identifier: MIT */
/*
 * Configuration types: the immutable result of parsing a configuration
 * file. A `struct cfg` is one generation; it is reference-counted and a
 * connection keeps the generation it started with (reload swaps in a new
 * one). Types only.
 *
 * Merging follows nginx: http, server and location levels each hold a
 * struct cfg_loc; values left unset (CFG_UNSET / NULL) in a level inherit
 * from the enclosing level when the configuration is finalized.
 */
#ifndef LBD_CFG_T_H
#define LBD_CFG_T_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "auth-t.h"
#include "ban-t.h"
#include "charset-t.h"
#include "cookie-t.h"
#include "gzip-t.h"
#include "ratelimit-t.h"
#include "cache-t.h"
#include "limit-t.h"
#include "dav-t.h"
#include "mirror-t.h"
#include "realip-t.h"
#include "subfilter-t.h"
#include "ssi-t.h"
#include "embed-t.h"
#include "referer-t.h"
#include "browser-t.h"
#include "securelink-t.h"
#include "store-t.h"
#include "tls-t.h"
#include "ups-t.h"
#include "upssl-t.h"
#include "var-t.h"

#define CFG_UNSET (-1)

struct cfg_srv;
struct cfg_stream;
struct upbind;
struct f2b_jail;
struct log_target;
struct alog;

enum loc_match {
	LOC_PREFIX = 0,	    /* location /path */
	LOC_EXACT,	    /* location = /path */
	LOC_PREFIX_NOREGEX, /* location ^~ /path */
	LOC_REGEX,	    /* location ~ re */
	LOC_REGEX_CASELESS, /* location ~* re */
	LOC_NAMED,	    /* location @name */
};

/* struct hdr_set - `proxy_set_header NAME VALUE` / `add_header N V [always]`
 * / `add_trailer N V [always]`. */
struct hdr_set {
	char *name;	   /* header name as written */
	size_t namelen;	   /* length of name */
	struct cval value; /* value; an empty value removes the header */
	bool always;	   /* add_header / add_trailer ... always */
};

struct hdr_list {
	struct hdr_set *v; /* entries in order */
	int n;		   /* count */
	bool set;	   /* set at this level (else inherited) */
};

struct str_list {
	char **v; /* strings */
	int n;	  /* count */
	bool set; /* set at this level (else inherited) */
};

/* struct access_rule - allow/deny. */
struct access_rule {
	bool deny;		    /* deny (else allow) */
	bool all;		    /* `all` */
	int family;		    /* AF_INET, AF_INET6 or AF_UNIX */
	uint8_t addr[16], mask[16]; /* network and mask, network byte order */
};

/* struct error_page - `error_page CODE... [=[RESP]] URI`. */
struct error_page {
	int status;	 /* the status this entry catches */
	int overwrite;	 /* =RESP: status to answer with; 0 = keep; -1 = `=` alone */
	struct cval uri; /* URI, @named location or absolute redirect */
};

/* struct rewrite - one rewrite-module step, in order. */
enum rw_kind {
	RW_REWRITE = 0, /* rewrite REGEX REPLACEMENT [flag] */
	RW_RETURN,	/* return CODE [TEXT|URL] | return URL */
	RW_BREAK,	/* break */
	RW_SET,		/* set $var value */
	RW_IF,		/* if (cond) { ... } */
};

enum rw_flag {
	RW_F_NONE = 0,
	RW_F_LAST,
	RW_F_BREAK,
	RW_F_REDIRECT,
	RW_F_PERMANENT,
};

/* struct rw_if - the condition and block of `if (CONDITION) { ... }`
 * (parsed in cfg_if.c, tested in http_if.c). */
enum rw_if_op {
	RWIF_VAR = 0, /* ($v): true unless empty or "0" */
	RWIF_EQ,      /* ($v = s), ($v != s) with neg */
	RWIF_RE,      /* ($v ~ re), ~*, !~, !~* (neg) */
	RWIF_FILE,    /* (-f s), -d, -e, -x, !-f... (neg) */
};

struct rw_if {
	enum rw_if_op op;     /* kind of test */
	bool neg;	      /* !=, !~, !~*, !-f...: the result inverted */
	char ftest;	      /* RWIF_FILE: 'f', 'd', 'e' or 'x' */
	struct cval_part var; /* the variable tested (VAR, EQ, RE) */
	struct cval val;      /* EQ: the operand; FILE: the path */
	void *re;	      /* RWIF_RE: pcre2_code * (captures set $1..$9, names) */
	const char *re_src;   /* RWIF_RE: the regex as written (rewrite_log) */
	struct cfg_loc *body; /* the block: its rewrite steps; in a location also the
			       * configuration the request takes when the test holds */
	bool in_location;     /* a location's if (else the server's: no switch) */
};

struct rewrite {
	enum rw_kind kind;  /* what this step does */
	void *re;	    /* pcre2_code *, RW_REWRITE */
	const char *re_src; /* RW_REWRITE: the regex as written (rewrite_log) */
	struct cval repl;   /* replacement, return text/URL */
	enum rw_flag flag;  /* rewrite flag */
	int code;	    /* return code */
	const char *file;   /* where it was written */
	int line;
	struct rw_if *cond;	   /* RW_IF: condition and block */
	const struct cfg_map *map; /* RW_SET of a map, geo or split_clients variable */
};

/* struct proxy_pass - `proxy_pass URL`. */
struct proxy_pass {
	struct cval url;	 /* as written */
	struct ups_group *group; /* resolved upstream (named or implicit) */
	char *host;		 /* $proxy_host: host[:port] from the URL ("localhost"
				  * for a unix socket, as nginx) */
	char *addr;		 /* what the group is found by: host, or "unix:PATH" */
	bool unix_sock;		 /* the URL names a unix socket: http://unix:PATH[:URI] */
	char *uri;		 /* URI part, or NULL when the URL had none */
	size_t urilen;		 /* length of uri */
	bool has_uri;		 /* URL carried a URI part (even "/") */
	bool dynamic;		 /* the URL has variables: evaluated per request
				  * (proxy_dyn.c), no group here */
	bool ssl;		 /* https:// (upssl.c): TLS to the upstream */
	bool fastcgi;		 /* fastcgi_pass (fastcgi.c): FastCGI records, no URI */
	bool uwsgi;		 /* uwsgi_pass (uwsgi.c): a uwsgi packet, no URI */
	bool scgi;		 /* scgi_pass (scgi.c): an SCGI netstring, no URI */
	bool memcached;		 /* memcached_pass (memc.c): "get KEY", no URI */
	bool grpc;		 /* grpc_pass (grpc.c): HTTP/2 by prior knowledge, no URI */
	bool pass_scheme;	 /* grpc_pass or uwsgi_pass written with its scheme
				  * (grpc://, grpcs://, uwsgi://, suwsgi://): a
				  * variable's value is the host only (nginx strips
				  * one scheme from the whole) */
};

enum next_upstream_bits {
	NU_ERROR = 1 << 0,
	NU_TIMEOUT = 1 << 1,
	NU_INVALID_HEADER = 1 << 2,
	NU_HTTP_500 = 1 << 3,
	NU_HTTP_502 = 1 << 4,
	NU_HTTP_503 = 1 << 5,
	NU_HTTP_504 = 1 << 6,
	NU_HTTP_403 = 1 << 7,
	NU_HTTP_404 = 1 << 8,
	NU_HTTP_429 = 1 << 9,
	NU_NON_IDEMPOTENT = 1 << 10,
	NU_OFF = 1 << 11,
};

/* struct proxy_redirect - `proxy_redirect FROM TO`. */
struct proxy_redirect {
	struct cval from; /* prefix to replace (or `default`, expanded at merge) */
	struct cval to;	  /* replacement */
	void *re;	  /* pcre2_code * for ~ / ~* forms */
};

struct mime_type {
	char *ext;  /* extension, lowercase, no dot */
	char *type; /* content type */
};

struct mime_types {
	struct mime_type *v; /* sorted by ext for bsearch */
	int n;		     /* count */
};

#include "fastcgi-t.h" /* needs struct str_list */
#include "memc-t.h"
#include "userid-t.h"
#include "uwsgi-t.h"
#include "grpc-t.h"

/* struct cfg_loc - location-level configuration (also the http and server
 * level defaults). Integers use CFG_UNSET, pointers NULL for "unset". */
/* disable_symlinks (nginx's ngx_http_core_module): which symbolic links a
 * static file's path may go through. */
enum cfg_symlinks {
	CFG_SYMLINKS_OFF = 0,	   /* any (the default) */
	CFG_SYMLINKS_ON,	   /* none */
	CFG_SYMLINKS_IF_NOT_OWNER, /* those owned as what they point to */
};

struct cfg_loc {
	/* identity */
	enum loc_match match; /* how the location matches */
	char *pattern;	      /* prefix, exact URI, regex source or @name */
	size_t patlen;	      /* length of pattern */
	void *re;	      /* pcre2_code * for regex locations */
	bool internal;	      /* `internal` */
	bool is_location;     /* a real location (not the http/server default) */
	const char *file;     /* where it was defined */
	int line;
	struct cfg_loc *parent; /* enclosing location, or the server's default */
	struct cfg_srv *srv;	/* server it belongs to */

	/* nested locations, classified for lookup */
	struct cfg_loc **exact; /* `=` */
	int nexact;
	struct cfg_loc **prefix; /* plain and ^~, longest pattern first */
	int nprefix;
	struct cfg_loc **regex; /* ~ and ~*, in config order */
	int nregex;
	struct cfg_loc **named; /* @name (server level only) */
	int nnamed;

	/* rewrite module (not inherited) */
	struct rewrite *rewrites; /* steps in order */
	int nrewrites;
	int rewrite_log; /* rewrite_log on|off (off): notice lines of the steps (inherited;
			  * a server's if body leaves it unset: the server's holds) */

	/* content (not inherited) */
	struct proxy_pass *proxy; /* proxy_pass */
	bool has_return;	  /* the location ends in `return` */

	/* proxy module (inherited) */
	struct hdr_list proxy_headers;	     /* proxy_set_header */
	int proxy_http_version;		     /* 10 or 11 */
	int64_t proxy_connect_timeout;	     /* ms */
	int64_t proxy_send_timeout;	     /* ms */
	int64_t proxy_read_timeout;	     /* ms */
	int proxy_next_upstream;	     /* NU_* bits */
	int proxy_next_upstream_tries;	     /* 0 = unlimited */
	int64_t proxy_next_upstream_timeout; /* ms, 0 = unlimited */
	int proxy_buffering;		     /* on/off (pbuf.c) */
	int64_t proxy_buffer_size;	     /* bytes: upstream header buffer */
	int proxy_buffers_num;		     /* proxy_buffers NUM SIZE */
	int64_t proxy_buffers_size;
	int64_t proxy_busy_buffers_size;

	/* response buffering temp files (pbuf.c) */
	int64_t proxy_max_temp_file_size;   /* bytes, 0 = no temp file */
	int64_t proxy_temp_file_write_size; /* bytes (accepted, fixed) */
	char *proxy_temp_path;		    /* directory */

	int proxy_request_buffering;	   /* on/off */
	struct str_list proxy_hide_header; /* extra headers hidden */
	struct str_list proxy_pass_header; /* default-hidden headers passed */
	struct proxy_redirect *redirects;  /* proxy_redirect list */
	int nredirects;
	int redirect_mode;	    /* CFG_UNSET, 0 off, 1 default, 2 list */
	int proxy_intercept_errors; /* on/off */
	int proxy_pass_request_headers;
	int proxy_pass_request_body;
	int proxy_ignore_client_abort;
	struct cval *proxy_method;   /* proxy_method: the method sent, NULL: the client's */
	struct cval *proxy_set_body; /* proxy_set_body: the body sent instead of the client's */
	struct upbind *proxy_bind;   /* proxy_bind (upbind.c), NULL unset */
	int proxy_socket_keepalive;  /* proxy_socket_keepalive: SO_KEEPALIVE upstream */
	struct cookie_loc cookie;    /* proxy_cookie_domain, proxy_cookie_path (cfg_cookie.c) */
	struct upssl_conf upssl;     /* proxy_ssl_* (cfg_upssl.c; inherited) */
	struct fcgi_loc fcgi;	     /* fastcgi_* of their own (cfg_fastcgi.c) */
	struct uwsgi_loc uwsgi;	     /* uwsgi_* of their own (cfg_uwsgi.c) */
	struct scgi_loc scgi;	     /* scgi_* of their own (cfg_uwsgi.c) */
	struct memc_loc memc;	     /* memcached_* of their own (cfg_memc.c) */
	struct userid_loc userid;    /* userid_* (cfg_userid.c, userid.c) */
	struct grpc_loc grpc;	     /* grpc_* of their own (cfg_grpc.c) */

	/* static files */
	struct cval *root;	/* root or alias path */
	int root_is_alias;	/* CFG_UNSET, 0 root, 1 alias */
	struct str_list index;	/* index files */
	struct cval *try_files; /* try_files entries (last is the fallback) */
	int ntry_files;
	int64_t expires;	     /* seconds; CFG_UNSET; INT64_MIN for off */
	bool expires_epoch_max;	     /* expires epoch / max */
	int expires_mode;	     /* 0 none, 1 relative, 2 epoch, 3 max, 4 off,
				      * 5 variables (expires_var, per request),
				      * 6 modified (after Last-Modified), 7 daily (@TIME) */
	struct cval *expires_var;    /* `expires $var`: evaluated as the head is made */
	int sendfile;		     /* on/off */
	int absolute_redirect;	     /* on/off (on): Location made absolute */
	int port_in_redirect;	     /* on/off (on): ... with a non-default port */
	int server_name_in_redirect; /* on/off (off): ... with server_name, not Host */
	int tcp_nopush;
	int tcp_nodelay;
	int autoindex;		  /* autoindex on|off (autoindex.c) */
	int autoindex_exact_size; /* on|off (on): html sizes in bytes, else K/M/G */
	int autoindex_localtime;  /* on|off (off): html dates in local time */
	int autoindex_format;	  /* enum autoindex_fmt (html) */
	struct mime_types *types; /* types {} (shared, owned by cfg) */
	char *default_type;
	int log_not_found;
	int etag; /* etag on|off: static files' ETag (and If-Match/If-None-Match/If-Range by it) */
	int disable_symlinks;		    /* enum cfg_symlinks, CFG_UNSET */
	struct cval *disable_symlinks_from; /* from=PART: not checked up to it, NULL: all */

	/* response headers and errors */
	struct hdr_list add_headers;  /* add_header */
	struct hdr_list add_trailers; /* add_trailer: sent after the body (http_out.c) */
	struct error_page *error_pages;
	int nerror_pages;
	bool error_pages_set;
	int server_tokens; /* on/off */
	int recursive_error_pages;

	/* client */
	int64_t client_max_body_size;	      /* bytes, 0 = unlimited */
	int64_t client_body_timeout;	      /* ms */
	const struct resolver_conf *resolver; /* `resolver` (NULL: none) */
	int64_t resolver_timeout;	      /* ms, default 30000 */
	int64_t client_body_buffer_size;
	char *client_body_temp_path; /* directory of spooled bodies (reqbody.c) */
	uint8_t body_temp_lv[3];     /* its levels L1 L2 L3 (0: none), for named files */
	int body_in_file;	     /* client_body_in_file_only: CFG_UNSET,
				      * BODY_FILE_OFF, _ON (kept), _CLEAN */
	int body_single_buffer;	     /* client_body_in_single_buffer (CFG_UNSET) */
	int64_t send_timeout;	     /* ms */
	int64_t keepalive_timeout;   /* ms, 0 = no keep-alive */
	int keepalive_requests;
	int64_t lingering_timeout;
	int64_t lingering_time; /* a discarded body or a lingering close, in all */
	int chunked_transfer_encoding;
	int max_ranges;		/* max_ranges: parts a Range may ask for, 0 = no ranges */
	int proxy_force_ranges; /* proxy_force_ranges: ranges on cache hits without Accept-Ranges */

	/* access */
	struct access_rule *access; /* allow/deny in order */
	int naccess;
	bool access_set;
	/* auth_basic*, satisfy, limit_except (cfg_auth.c, auth.c) */
	struct auth_loc auth;
	int64_t auth_delay;	  /* auth_delay ms (0): an access phase 401 waits this long */
	struct mirror_loc mirror; /* mirror, mirror_request_body (cfg_mirror.c, mirror.c) */
	struct dav_loc dav;	  /* dav_methods, dav_access, ... (cfg_dav.c, dav.c) */

	/* request limits: limit_req, limit_conn (cfg_limit.c; inherited) */
	struct rl_loc rl;
	struct cache_loc cache; /* proxy_cache_* (cfg_cache.c) */
	/* proxy_store, proxy_store_access (cfg_store.c) */
	struct store_conf store;

	/* response compression: gzip*, gzip_static (cfg_gzip.c; inherited) */
	struct gzip_loc gzip;
	/* charset, source_charset, charset_types (cfg_charset.c; inherited) */
	struct charset_loc charset;
	/* limit_rate, limit_rate_after, proxy_limit_rate (cfg_rate.c, ratelimit.c; inherited) */
	struct rate_loc rate;
	/* sub_filter* (cfg_subfilter.c; inherited) */
	struct subf_loc subf;
	/* add_before_body, add_after_body, addition_types (cfg_addition.c, embed.c) */
	struct add_loc add;
	/* ssi, ssi_types, ssi_* (cfg_ssi.c, ssi.c, embed.c; inherited) */
	struct ssi_loc ssi;
	/* slice: bytes per slice, 0 = off (slice.c, embed.c; inherited) */
	int64_t slice;
	/* set_real_ip_from, real_ip_header, real_ip_recursive (cfg_realip.c) */
	struct realip_conf realip;
	/* valid_referers (cfg_referer.c, referer.c): $invalid_referer */
	struct referer_conf referer;
	/* modern_browser, ancient_browser, *_browser_value (cfg_browser.c, browser.c) */
	struct browser_conf browser;
	/* secure_link, secure_link_md5, secure_link_secret (cfg_securelink.c, securelink.c) */
	struct securelink_loc seclink;

	/* logs */
	struct alog **alogs; /* access_log targets; NULL + alog_off for off */
	int nalogs;
	bool alog_set;
	bool alog_off;
	struct log_target *error_log; /* error_log at this level */

	/* fail2ban NAME... | off (array: inherited only when unset here) */
	struct f2b_jail **f2b; /* jails applied here */
	int nf2b;
	bool f2b_set;

	/* the rest of the proxy's content handlers */
	int kernel_splice; /* kernel_splice on|off: upgraded streams through sockmap */
	bool stub_status;  /* stub_status: nginx's status page */
	bool lbd_metrics;  /* lbd_metrics: Prometheus metrics */
	bool empty_gif;	   /* empty_gif (emptygif.c): written after any proxy_pass */
	bool flv;	   /* flv (flv.c): `?start=` offsets of static files */
	int random_index;  /* random_index on|off (randindex.c; inherited) */

	/* mp4 (mp4_http.c, mp4.c): `?start=&end=` cuts of MP4 files */
	bool mp4;
	int64_t mp4_buffer_size;     /* mp4_buffer_size (512k) */
	int64_t mp4_max_buffer_size; /* mp4_max_buffer_size (10m) */
	int mp4_start_key_frame;     /* mp4_start_key_frame on|off (off) */
};

/* struct cfg_listen - one `listen` directive. */
struct cfg_listen {
	struct sockaddr_storage addr; /* bound address */
	socklen_t addrlen;
	char *text; /* address as written, for messages */
	bool default_server;
	bool reuseport;
	int backlog;  /* default 511 as nginx */
	int ipv6only; /* CFG_UNSET or 0/1 */
	bool ssl;     /* `ssl`: TLS on this address (any listen of it says so) */
	bool http2;
	bool proxy_protocol; /* `proxy_protocol`: a PROXY header first (any listen of it says so) */
	bool udp;	     /* stream `listen ... udp`: a datagram socket (stream_udp.c) */
	const char *file;
	int line;
};

/* struct server_name - one server_name entry. */
struct server_name {
	char *name; /* lowercased name or regex source */
	size_t len; /* length */
	int kind;   /* 0 exact, 1 leading wildcard, 2 trailing wildcard, 3 regex */
	void *re;   /* pcre2_code * for regex names */
};

/* struct cfg_srv - a `server {}` block of http. */
struct cfg_srv {
	struct server_name *names; /* server_name entries in order */
	int nnames;
	struct cfg_listen *listens; /* listen directives */
	int nlistens;
	struct cfg_loc loc;	       /* server-level defaults + locations tree */
	int64_t client_header_timeout; /* ms */
	int64_t client_header_buffer_size;
	int large_header_num; /* large_client_header_buffers NUM SIZE */
	int64_t large_header_size;
	int underscores_in_headers;
	int ignore_invalid_headers;
	int merge_slashes;
	int max_headers;	 /* max_headers (Debian nginx 1.22): more lines are a 400 (1000) */
	int http2;		 /* `http2 on|off` (nginx 1.25), CFG_UNSET */
	int h2_max_streams;	 /* http2_max_concurrent_streams (128) */
	int64_t h2_max_field;	 /* http2_max_field_size, CFG_UNSET: large_client_header_buffers */
	int64_t h2_max_header;	 /* http2_max_header_size, CFG_UNSET: num * size of those */
	int64_t h2_idle_timeout; /* http2_idle_timeout ms, CFG_UNSET: keepalive_timeout */
	int64_t h2_recv_timeout; /* http2_recv_timeout ms, CFG_UNSET: client_header_timeout */
	int h2_max_requests;	 /* http2_max_requests, CFG_UNSET: keepalive_requests */
	struct tls_conf tls;	 /* ssl_* settings, merged, and their context */
	const char *file;
	int line;
	int index; /* position in http->servers */
};

/* struct listen_group - servers sharing one listening address. */
struct listen_group {
	struct cfg_listen *listen; /* the first listen directive for it */
	struct cfg_srv **servers;  /* servers on this address, config order */
	int nservers;
	struct cfg_srv *default_srv; /* default_server, or the first */
	int max_headers;	     /* the largest max_headers of its servers */
	size_t head_max;	     /* bytes: the most a request head may take here, the
				      * default server's first buffer and the most
				      * large_client_header_buffers NUM x SIZE of any
				      * server (Host may switch: h1_head_fit) */
	bool ssl;		     /* TLS: some listen of this address has `ssl` */
	bool http2;		     /* `listen ... http2` or `http2 on` on this address */
	bool proxy_protocol;	     /* `listen ... proxy_protocol` on this address (pproto.c) */
	const char *text;	     /* the address as nginx's connection lines print it
				      * ("127.0.0.1:443", "[::]:443", "unix:/path") */
};

/* struct log_format - `log_format NAME [escape=...] STRING...`. */
struct log_format {
	char *name;
	struct cval fmt; /* the joined format */
	int escape;	 /* 0 default, 1 json, 2 none */
};

/* struct cfg_http - the http {} block. */
struct cfg_http {
	struct cfg_loc loc;	  /* http-level defaults */
	bool body_file_var;	  /* $request_body_file is used: a spooled body
				   * gets a name (reqbody.c) */
	struct cfg_srv **servers; /* server blocks */
	int nservers;
	struct ups_group **upstreams; /* named and implicit upstream groups */
	int nupstreams;
	struct cfg_map *maps;	    /* map blocks */
	int nmaps;		    /* how many (cfg_map.idx up to this) */
	struct charset_main *cs;    /* charsets and maps (cfg_charset.c), or NULL */
	struct log_format *formats; /* log_format entries ("combined" first) */
	int nformats;
	struct listen_group *lgroups; /* distinct listen addresses */
	int nlgroups;
	struct mime_types *types; /* http-level types */
	struct cfg_srv *srv_http; /* server directives given in http{}: defaults of every server */
	int variables_hash_max_size;
	struct f2b_jail **jails; /* fail2ban_jail definitions */
	int njails;
	struct rl_zone_conf *rl_zones; /* limit_req_zone / limit_conn_zone names */
	struct tls_conf tls;	       /* http-level ssl_* settings (cfg_tls.c) */

	struct cache_zone_conf *cache_zones; /* proxy_cache_path zones (cfg_cache.c) */
	struct hc_match *hc_matches;	     /* `match` blocks (cfg_hc.c) */
	struct upssl_built *upssl_ctxs;	     /* client TLS contexts built (cfg_upssl.c) */
};

/* enum cfg_xdp_mode - `xdp_attach IFACE mode=...`. */
enum cfg_xdp_mode {
	CFG_XDP_AUTO = 0, /* native where the driver has it, else generic */
	CFG_XDP_NATIVE,	  /* driver mode only (an error where unsupported) */
	CFG_XDP_GENERIC,  /* skb mode */
};

/* struct cfg_xdp_if - one `xdp_attach` directive. */
struct cfg_xdp_if {
	char *name;		/* interface name (resolved when attaching) */
	enum cfg_xdp_mode mode; /* attach mode */
};

/* struct cfg - one configuration generation. */
struct cfg {
	_Atomic int refs;	/* connections and the daemon hold refs */
	char *conf_file;	/* absolute path of the main file */
	char *prefix;		/* -p prefix (ends with '/') */
	char *conf_prefix;	/* directory of conf_file (ends with '/') */
	int workers;		/* worker_processes */
	int worker_connections; /* per worker */
	int worker_rlimit_nofile;
	int worker_priority;	/* worker_priority: nice of lbd's threads (0: unchanged) */
	uint64_t *cpu_affinity; /* worker_cpu_affinity masks, one per worker (the last
				       * serves the rest); NULL = none */
	int ncpu_affinity;
	bool cpu_affinity_auto;	      /* worker_cpu_affinity auto [MASK] */
	int64_t worker_rlimit_core;   /* worker_rlimit_core bytes (RLIMIT_CORE), CFG_UNSET */
	char *working_directory;      /* working_directory (main.c chdir), NULL = none */
	int epoll_events;	      /* epoll_events: events per epoll_wait, CFG_UNSET */
	struct ban_cidr *debug_conns; /* debug_connection networks (their lines at any level) */
	int ndebug_conns;
	bool debug_conn_unix;	      /* debug_connection unix: */
	char *pid_file;		      /* pid */
	char *user, *group;	      /* user */
	bool daemon;		      /* `daemon on` (lbd stays in the foreground) */
	struct log_target *error_log; /* main error_log */
	struct cfg_http *http;	      /* NULL without an http block */
	struct cfg_stream *stream;    /* NULL without a stream block (stream.h) */
	char *bpf_pin_path;	      /* bpf_pin_path: pinned maps directory, NULL = off */
	bool bind_transparent;	      /* some proxy_bind ... transparent: CAP_NET_RAW is
				       * kept when privileges are dropped */
	int reuseport_steering;	      /* reuseport_steering on|off: BPF picks each new
				       * connection's worker; CFG_UNSET = on */
	struct alog **alogs;	      /* every access_log opened (closed at release) */
	int nalogs;
	void *tree;		/* struct cfg_tree, kept for -T */
	void *arena;		/* all allocations of this generation */
	char *ctl_socket;	/* control_socket PATH (absolute), NULL = off;
					* default PREFIX/logs/lbd.sock */
	bool ctl_socket_set;	/* control_socket written in the config (a failure
					* to open it is then fatal, else a warning) */
	int ctl_socket_mode;	/* mode= permission bits (default 0600) */
	char *ctl_socket_group; /* group= owner group name, NULL = unchanged */

	/* kernel packet path (guard.c, ban.c) */
	struct cfg_xdp_if *xdp_ifs; /* xdp_attach, in order */
	int nxdp_ifs;
	uint32_t xdp_syn_rate;	    /* xdp_syn_limit: thousandths of a SYN/s, 0 = off */
	uint32_t xdp_syn_burst;	    /* bucket size in SYNs */
	struct ban_cidr *xdp_allow; /* xdp_allow networks */
	int nxdp_allow;
	int conns_per_ip;	       /* client_conns_per_ip: open connections one client address
			   * may hold (0 = off; unset = a quarter of workers x
			   * worker_connections) */
	char *ban_list;		       /* ban_list FILE (absolute), NULL = none */
	struct ban_file_ent *ban_file; /* its entries, read at load time */
	int nban_file;
};

#endif
