/* SPDX-License-Identifier: MIT */
/*
 * TCP stream proxying: nginx's `stream {}` module. A stream server accepts
 * a connection, optionally pre-reads the TLS ClientHello (ssl_preread, for
 * SNI routing of TLS that lbd does not terminate), picks an upstream
 * server with the HTTP balancers (ups.c, bal_*.c), connects with a
 * timeout and proxy_next_upstream, sends a PROXY protocol v1 header if
 * asked, and hands both sockets to a tunnel (tunnel.c: splice(2), or
 * sockmap with `kernel_splice on`). With `listen ... ssl` it terminates
 * TLS first, with `proxy_ssl on` it speaks TLS to the upstream
 * (stream_ssl.c); a TLS leg is relayed through lbd's buffers. When the
 * session ends it writes the stream access log line.
 *
 * Types of the configuration (built by cfg_stream.c) and the worker
 * entry points (stream.c).
 */
#ifndef LBD_STREAM_H
#define LBD_STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cfg-t.h"
#include "realip-t.h"
#include "tls-t.h"
#include "upssl-t.h"

#define PREREAD_BUFFER_MAX 65536 /* largest preread_buffer_size: a worker relay buffer */
#define STREAM_RETURN_MAX  65536 /* longest `return` value sent (a worker relay buffer) */
#define STREAM_SET_MAX	   32	 /* distinct `set` variable names in stream{} */
#define STREAM_LCONN_MAX   8	 /* limit_conn directives of one stream server */
#define STREAM_SET_BUF	   1024	 /* bytes of `set` values a session holds inline */
#define STREAM_SET_BIG	   32768 /* ... and at most, on the heap past that (PEM) */
#define STREAM_VAL_BIG	   16384 /* longest `set` value, or map value in a certificate */

struct worker;
struct cfg_map;
struct access_rule;
struct rl_zone_conf;

/* Stream variables (nginx's ngx_stream_variables names). */
enum svar {
	SV_REMOTE_ADDR = 0,
	SV_REMOTE_PORT,
	SV_SERVER_ADDR,
	SV_SERVER_PORT,
	SV_BINARY_REMOTE_ADDR,
	SV_UPSTREAM_ADDR,
	SV_BYTES_SENT,	   /* to the client */
	SV_BYTES_RECEIVED, /* from the client */
	SV_UPSTREAM_BYTES_SENT,
	SV_UPSTREAM_BYTES_RECEIVED,
	SV_SESSION_TIME,
	SV_UPSTREAM_CONNECT_TIME,
	SV_STATUS,
	SV_TIME_LOCAL,
	SV_TIME_ISO8601,
	SV_MSEC,
	SV_PROTOCOL,
	SV_CONNECTION,
	SV_PID,
	SV_HOSTNAME,
	SV_SSL_PREREAD_SERVER_NAME,
	SV_SSL_PREREAD_ALPN_PROTOCOLS,
	SV_SSL_PREREAD_PROTOCOL,
	SV_PROXY_PROTOCOL_ADDR, /* these four in pproto_var's order */
	SV_PROXY_PROTOCOL_PORT,
	SV_PROXY_PROTOCOL_SERVER_ADDR,
	SV_PROXY_PROTOCOL_SERVER_PORT,
	SV_REALIP_REMOTE_ADDR, /* the TCP peer, when set_real_ip_from took a PROXY header's */
	SV_REALIP_REMOTE_PORT,
	SV_LIMIT_CONN_STATUS, /* PASSED, REJECTED, REJECTED_DRY_RUN; not found before */
	SV_SSL_PROTOCOL,      /* these four: `listen ... ssl` (stream_ssl.c), "" otherwise */
	SV_SSL_CIPHER,
	SV_SSL_SERVER_NAME,
	SV_SSL_SESSION_REUSED,
	SV_SSL_ALPN_PROTOCOL,
	SV_COUNT,
};

enum spart_kind {
	SP_LIT = 0, /* literal bytes */
	SP_VAR,	    /* an enum svar */
	SP_MAP,	    /* a stream `map` variable */
	SP_SET,	    /* a `set` variable */
	SP_CAP,	    /* $1..$9: a capture of the session's last map regex */
};

/* struct stream_part - one piece of a compiled stream value. */
struct stream_part {
	enum spart_kind kind;
	int var;		/* SP_VAR: enum svar; SP_SET: cfg_stream.setvars index;
				 * SP_CAP: the capture's number */
	const char *str;	/* SP_LIT bytes */
	size_t len;		/* their length */
	struct stream_map *map; /* SP_MAP */
};

/* struct stream_val - "$remote_addr:$server_port" compiled. */
struct stream_val {
	struct stream_part *parts;
	int nparts;
	char *raw; /* source text */
};

/* struct stream_map - `map SRC $NAME { ... }` in stream{}: SRC is a stream
 * value, the entries are var_map.c's map entries (matching); a value with
 * variables is compiled as a stream value beside its entry (xval, rval,
 * dval; the entry itself then holds ""). */
struct stream_map {
	char *name;	       /* without '$' */
	struct stream_val src; /* source */
	struct cfg_map *m;     /* entries (var_map.c matching rules) */
	bool defined;	       /* its block was read (pre-pass made it) */
	int setidx;	       /* a `set` of this variable: its cfg_stream.setvars index, or -1 */
	struct stream_val **xval; /* per m->exact entry: its value with variables, or NULL */
	struct stream_val **rval; /* per m->regex entry: the same */
	struct stream_val *dval;  /* the default's, or NULL */
	struct stream_map *next;  /* all stream maps */
	int idx;		  /* its slot in a session's kept values (sess.mapv) */
};

/* struct stream_bind - proxy_bind of a stream level (upbind.c parses). */
struct stream_bind {
	bool off;		      /* proxy_bind off: no bind (overrides stream{}'s) */
	struct stream_val *var;	      /* an address with variables, evaluated per session */
	struct sockaddr_storage addr; /* else the address, port 0 = any */
	socklen_t addrlen;
	char *text;	  /* as written (messages) */
	bool transparent; /* `transparent`: IP_TRANSPARENT before the bind */
};

/* struct stream_logfmt - `log_format NAME STRING...` in stream{}. */
struct stream_logfmt {
	char *name;
	struct stream_val fmt;
	int escape; /* 0 default, 1 json, 2 none */
};

/* struct stream_alog - `access_log PATH FORMAT [buffer=] [flush=]`. */
struct stream_alog {
	struct alog *a;			 /* the file (alog.c) */
	const struct stream_logfmt *fmt; /* format */
	struct stream_val cond;		 /* if=COND: skip when empty or "0" */
	bool has_cond;			 /* if= given */
};

/* struct stream_set - one `set $NAME VALUE` of a stream server. */
struct stream_set {
	int idx;	       /* the variable (cfg_stream.setvars index) */
	struct stream_val val; /* value */
};

/* struct stream_climit - one `limit_conn ZONE N` of stream. */
struct stream_climit {
	struct rl_zone_conf *zc;      /* the zone (limit.c's shared state once bound) */
	int conn;		      /* sessions allowed per key, 1..65535 */
	const struct stream_val *key; /* the zone's key, found when the config is complete */
};

/* struct stream_czone - a `limit_conn_zone KEY zone=NAME:SIZE` of stream. */
struct stream_czone {
	struct rl_zone_conf *zc;
	struct stream_val key;
};

/* struct stream_srv - a `server {}` of stream (the stream{} level holds
 * the defaults in the same struct). Integers: CFG_UNSET until merged. */
struct resolver_conf;

struct stream_srv {
	struct cfg_listen *listens; /* listen directives */
	int nlistens;
	struct stream_val *pass;	      /* proxy_pass (NULL: none) */
	struct ups_group *group;	      /* proxy_pass without variables, bound */
	int64_t connect_timeout;	      /* proxy_connect_timeout, ms (60s) */
	const struct resolver_conf *resolver; /* `resolver` (NULL: none) */
	int64_t resolver_timeout;	      /* ms (30s) */
	int64_t timeout;		      /* proxy_timeout, ms (10m) */
	int next_upstream;		      /* proxy_next_upstream on|off (on) */
	int next_tries;			      /* proxy_next_upstream_tries (0: unlimited) */
	int64_t next_timeout;		      /* proxy_next_upstream_timeout, ms (0: unlimited) */
	int preread;			      /* ssl_preread on|off (off) */
	int64_t preread_timeout;	      /* preread_timeout, ms (30s) */
	int64_t preread_size;		      /* preread_buffer_size, bytes (16k) */
	int proxy_protocol;		      /* proxy_protocol on|off (off) */
	int half_close;		   /* proxy_half_close on|off (off: the first FIN ends it) */
	int kernel_splice;	   /* kernel_splice on|off (off, as http) */
	struct stream_alog *alogs; /* access_log entries */
	int nalogs;
	bool alog_set; /* access_log given here (or off) */
	struct log_target *error_log;
	const char *file; /* where the block is */
	int line;

	/* `listen ... proxy_protocol` (pproto.c) */
	int64_t pp_timeout;	   /* proxy_protocol_timeout, ms (30s) */
	struct realip_conf realip; /* set_real_ip_from (from/nfrom only) */

	/* `listen ... udp` (stream_udp.c) */
	int responses;	     /* proxy_responses: datagrams back per client one (INT_MAX: any) */
	int requests;	     /* proxy_requests: client datagrams per session (0: any) */
	int64_t buffer_size; /* proxy_buffer_size: longest upstream datagram passed on (16k) */
	bool udp;	     /* a listen of this server says `udp` */

	/* return (ngx_stream_return_module): the later of it and proxy_pass
	 * is the server's handler, as nginx */
	struct stream_val *ret; /* the value (NULL: none) */
	bool ret_last;		/* return came after any proxy_pass: it is the handler */
	/* allow/deny (ngx_stream_access_module), first match wins */
	struct access_rule *access;
	int naccess;
	bool access_set; /* given at this level (else inherited) */
	/* set $var value (ngx_stream_set_module), run in order */
	struct stream_set *sets;
	int nsets;
	/* limit_conn (ngx_stream_limit_conn_module); the list inherits whole */
	struct stream_climit *lconn;
	int nlconn;
	int lconn_log_level; /* limit_conn_log_level (enum log_level; error) */
	int lconn_dry_run;   /* limit_conn_dry_run on|off (off) */
	/* TLS from the client (ngx_stream_ssl_module; stream_ssl.c, cfg_stream_ssl.c) */
	struct tls_conf tls; /* ssl_* of this level, merged from stream{} */
	int64_t hs_timeout;  /* ssl_handshake_timeout, ms (60s) */
	bool ssl;	     /* a listen of this server says `ssl`: tls.ctx is built */
	unsigned char *alpn; /* ssl_alpn, wire format (NULL: ALPN not answered) */
	size_t alpn_len;     /* its bytes */
	/* TLS to the upstream (the stream proxy's proxy_ssl*) */
	int proxy_ssl;		     /* proxy_ssl on|off (off) */
	struct upssl_conf upssl;     /* proxy_ssl_* but the name; upssl.ctx built when on */
	struct stream_val *ssl_name; /* proxy_ssl_name (NULL: the proxy_pass host) */
	/* proxy_upload_rate [0], proxy_download_rate [1]: bytes per second per
	 * session and direction (0: unlimited; CFG_UNSET until merged) */
	int64_t rate[2];
	struct stream_val *rate_var[2]; /* the value has variables: evaluated per session */
	struct stream_bind *bind;	/* proxy_bind (NULL: none) */
};

/* struct cfg_stream - the stream {} block. */
struct cfg_stream {
	struct stream_srv defaults; /* stream-level settings */
	struct stream_srv **servers;
	int nservers;
	struct ups_group **groups; /* upstream blocks and implicit ADDR:PORT groups */
	int ngroups;
	struct stream_map *maps;
	int nmaps; /* of them: a session keeps a value per map */
	struct stream_logfmt *formats;
	int nformats;
	char *setvars[STREAM_SET_MAX]; /* `set` variable names (without '$') */
	int nsetvars;
	struct rl_zone_conf *rl_zones; /* limit_conn zone names (stream's own) */
	struct stream_czone *czones;   /* limit_conn_zone directives */
	int nczones;
};

/* stream_find_server - the stream server listening on TCP address ADDR in
 * CFG, or NULL; *LS (when LS is not NULL) its listen directive for ADDR
 * (UDP: stream_udp_server). */
struct stream_srv *stream_find_server(const struct cfg *cfg, const struct sockaddr_storage *addr,
				      socklen_t len, const struct cfg_listen **ls);

/* stream_listen_at - the I-th distinct listen address of CFG's stream
 * servers (NULL past the end), for worker_bind_listeners. */
const struct cfg_listen *stream_listen_at(const struct cfg *cfg, int i);

/* stream_accept - a worker accepted FD on a stream server's address.
 * Takes the fd (closed on any failure). */
void stream_accept(struct worker *w, int fd, struct stream_srv *srv, const struct cfg_listen *ls,
		   const struct sockaddr_storage *peer, socklen_t peerlen);

/* stream_close_all - close every session of this worker thread (fast stop). */
void stream_close_all(struct worker *w);

/* stream_active - sessions open on this worker thread. */
int stream_active(void);

/* stream_worker_fini - free this thread's spare session objects (exit). */
void stream_worker_fini(void);

#endif
