/* SPDX-License-Identifier: MIT */
/*
 * Upstream types: an `upstream {}` group, its servers, and the ops table
 * through which balancing algorithms plug in. Types only.
 *
 * Runtime state that every worker thread reads and writes (active counts,
 * failures, requests) lives in the server itself and is only touched with
 * C11 atomics: there is no lock on the request path.
 */
#ifndef LBD_UPS_T_H
#define LBD_UPS_T_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define UPS_MAX_SERVERS 256 /* servers per group; bitmap size in bal_ctx */
/* Upper bounds (us) of the response-time histogram buckets of a server;
 * the last bucket is +Inf. Prometheus-style, for lbd_metrics. */
#define UPS_LAT_BUCKETS 12
#define UPS_LAT_BOUNDS_US                                                                     \
	{                                                                                     \
		5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, \
			10000000                                                              \
	}

struct ups_group;
struct bal_rr; /* round-robin schedules, private to bal_rr.c */

/*
 * Administrative state of a server, set at runtime from the control socket
 * (ctl.c). Any state but UP stops new requests; requests in flight finish.
 * Transitions: any state -> any state (`upstream drain|disable|enable`).
 * DRAIN and DISABLED differ only in what `upstream list` shows: a draining
 * server becomes "drained" once its active count reaches 0.
 */
enum ups_admin {
	UPS_ADMIN_UP = 0,   /* takes requests (the configured state) */
	UPS_ADMIN_DRAIN,    /* no new requests; in-flight ones finish */
	UPS_ADMIN_DISABLED, /* no new requests (maintenance) */
};

/*
 * Active health (hc.c) of a server. Only the health-check thread writes it;
 * every picker reads it. Transitions: UP -> DOWN after hc.fails consecutive
 * failed checks, DOWN -> UP after hc.passes consecutive passed checks. A
 * server starts UP (nginx Plus: healthy until a check fails), and stays UP
 * forever in a group without `health_check`.
 */
enum ups_health {
	UPS_HEALTH_UP = 0, /* takes requests (the initial state) */
	UPS_HEALTH_DOWN,   /* failed its checks: no new requests */
};

/* Outcome of the last active check of a server (hc.c names them). */
enum ups_hc_result {
	UPS_HC_NONE = 0, /* no check finished yet */
	UPS_HC_OK,	 /* passed: connected (tcp) or status in range (http) */
	UPS_HC_REFUSED,	 /* connect() failed (refused, unreachable...) */
	UPS_HC_TIMEOUT,	 /* no verdict within hc.timeout_ms */
	UPS_HC_STATUS,	 /* an HTTP status out of the accepted range */
	UPS_HC_BAD,	 /* the response did not start with a status line */
	UPS_HC_CLOSED,	 /* the server closed before a status line */
	UPS_HC_ERROR,	 /* local failure (socket(), out of fds...) */
	UPS_HC_TLS,	 /* the TLS handshake failed (detail 0: the log line has the reason) */
	UPS_HC_VERIFY,	 /* proxy_ssl_verify: the certificate failed (detail: X509 code,
			  * -1 when the name does not match) */
	UPS_HC_MATCH,	 /* a status, header or body condition of match= failed
			  * (detail: the status) */
};

/* struct ups_server - one `server` line of an upstream block. */
struct ups_server {
	char *name;		      /* address as written: "127.0.0.1:3001" */
	struct sockaddr_storage addr; /* resolved address */
	socklen_t addrlen;	      /* length of addr */
	int index;		      /* position in group->servers */
	int weight;		      /* configured weight= (>= 1, default 1) */
	int max_fails;		      /* max_fails= (default 1; 0 = never fail) */
	int fail_timeout_ms;	      /* fail_timeout= in ms (default 10000) */
	int max_conns;		      /* max_conns= (0 = unlimited) */
	int slow_start_ms;	      /* slow_start= in ms (0 = off; ignored when sole) */
	bool backup;		      /* only used when every primary is down */
	bool down;		      /* marked `down` in the config */

	/* shared runtime state, atomics only */
	_Atomic int eff_weight;		/* weight in force (lbctl may change it) */
	_Atomic int active;		/* requests in flight to this server */
	_Atomic int fails;		/* failures counted in the current window */
	_Atomic int64_t fail_ms;	/* time (ms, monotonic) of the last failure */
	_Atomic uint64_t requests;	/* requests sent */
	_Atomic uint64_t failures;	/* failures ever counted */
	_Atomic uint64_t resp_class[6]; /* responses by status class: [1]..[5], [0] other */
	_Atomic uint64_t lat_hist[UPS_LAT_BUCKETS]; /* full response times per bucket */
	_Atomic uint64_t lat_sum_us;		    /* sum of full response times, us */

	/* added by the balancers (ups.c, bal_*.c) */
	_Atomic int64_t checked_ms; /* nginx `checked`: last failure, or last pick made
				      * after fail_timeout (the probe); a success resets
				      * fails only when checked_ms > fail_ms */
	_Atomic int64_t cur_weight; /* smooth-WRR running weight, used live by the
				      * least_conn and same-name chash tie-breaks */
	_Atomic int weight_debt;    /* nginx effective_weight = eff_weight - this:
				      * each failure adds eff_weight / max_fails (up to
				      * eff_weight), each live round robin step that
				      * weighs the server pays back 1 */
	bool sole;		    /* only server of its group and no backups (nginx
				      * `single`): failures never make it unusable */

	/* added by upssl.c (https:// upstreams): the TLS session to resume
	 * (SSL_SESSION *, one reference), swapped under tls_lock, a spin
	 * lock held for a pointer swap or a reference count only */
	void *tls_session;
	atomic_flag tls_lock;

	/* added by the control socket (ctl.c) */
	_Atomic int admin; /* enum ups_admin; written by the main thread only,
				      * read by every picker */

	/* slow start (ups.c): written at a recovery by whoever notices it */
	_Atomic int64_t ramp_ms;       /* start of the current weight ramp (ms,
				      * monotonic), 0 = none ever */
	_Atomic uint64_t ramp_hc_seen; /* hc_changes last seen while healthy: a
					* different count on a healthy server is
					* a recovery by the active checks */

	/* added by the active health checks (hc.c): written by the checker
	 * thread only (and by a reload's carry-over before it starts), read
	 * by pickers and the control socket */
	_Atomic int health;	     /* enum ups_health */
	_Atomic int hc_fails;	     /* consecutive failed checks (0 after a pass) */
	_Atomic int hc_passes;	     /* consecutive passed checks (0 after a failure) */
	_Atomic int hc_last;	     /* enum ups_hc_result of the last check */
	_Atomic int hc_last_status;  /* HTTP status of the last check, 0 if none */
	_Atomic int64_t hc_last_ms;  /* when the last check ended (ms, monotonic), 0 never */
	_Atomic uint64_t hc_checks;  /* checks finished */
	_Atomic uint64_t hc_changes; /* health transitions (UP <-> DOWN) */

	/* added by stream sessions (sups.c), counted when a session ends */
	_Atomic uint64_t bytes_up;   /* bytes sent to the server */
	_Atomic uint64_t bytes_down; /* bytes received from the server */
};

/* struct bal_ctx - per-request input to a balancer's pick(). */
struct bal_ctx {
	const struct sockaddr *client;	      /* client address, for ip_hash */
	const char *key;		      /* evaluated `hash KEY`, for hash */
	size_t keylen;			      /* length of key */
	int64_t now_ms;			      /* monotonic now, ms */
	int tries;			      /* servers tried so far for this request */
	uint64_t tried[UPS_MAX_SERVERS / 64]; /* bitmap: servers already tried */
};

/*
 * struct bal_ops - a balancing algorithm. init() builds the algorithm's
 * state for a group at configuration time (it may allocate; 0 or -errno);
 * pick() chooses a usable, untried server for one request or returns NULL
 * when none is left; it must be lock-free and callable from any worker at
 * once; release() frees what init() built.
 */
struct bal_ops {
	const char *name;
	int (*init)(struct ups_group *g);
	struct ups_server *(*pick)(struct ups_group *g, struct bal_ctx *ctx);
	void (*release)(struct ups_group *g);
};

struct hc_match;
struct hc_tls;

/* struct ups_hc - the `health_check` directive of a group (hc.c runs it). */
struct ups_hc {
	bool enabled;	 /* the group has `health_check` */
	bool tcp;	 /* type=tcp: a connect within timeout passes; else http */
	int interval_ms; /* interval=: pause between the end of a check and the
			  * start of the next (default 5000) */
	int timeout_ms;	 /* timeout=: connect + response bound (default 1000) */
	int fails;	 /* fails=: consecutive failures that make it DOWN (1) */
	int passes;	 /* passes=: consecutive passes that make it UP again (1) */
	char *uri;	 /* uri=: request target of the GET (default "/") */
	int status_lo;	 /* status=: lowest passing HTTP status (default 200) */
	int status_hi;	 /* highest passing HTTP status (default 399) */

	/* match= and checks over TLS (cfg_hc.c) */
	const struct hc_match *match; /* match=: the conditions, NULL: status= */
	const char *match_name;	      /* match=NAME as written, resolved at the end */
	const char *file;	      /* where the directive is, for messages */
	int line;		      /* its line */
	const struct hc_tls *tls;     /* settings of the https:// proxy_pass that uses
				       * the group; NULL: plain */
};

enum ups_method {
	UPS_M_RR = 0,	  /* default: smooth weighted round robin */
	UPS_M_LEAST_CONN, /* least_conn */
	UPS_M_IP_HASH,	  /* ip_hash */
	UPS_M_HASH,	  /* hash KEY [consistent] */
	UPS_M_RANDOM,	  /* random [two [least_conn]] */
};

/* struct ups_group - one `upstream NAME {}` block (or an implicit group for
 * `proxy_pass http://ADDR`). Immutable after configuration, except the
 * atomics in its servers and in the balancer state. */
struct ups_group {
	char *name;		    /* upstream name, or "ADDR" for implicit */
	const char *file;	    /* config file of the block, for messages */
	int line;		    /* line of the block */
	struct ups_server *servers; /* array, primaries and backups in config order */
	int nservers;		    /* entries in servers */
	enum ups_method method;	    /* balancing method */
	bool hash_consistent;	    /* `hash KEY consistent` */
	bool random_two;	    /* `random two` */
	void *hash_key;		    /* compiled `hash` KEY (struct cval *), owned by config */
	int keepalive;		    /* `keepalive N`: idle connections cached per worker */
	int keepalive_requests;	    /* default 1000 */
	int keepalive_timeout_ms;   /* default 60000 */
	int64_t keepalive_time_ms;  /* `keepalive_time`: a connection's whole
				      * life for reuse (default 1h) */
	const struct bal_ops *ops;  /* the algorithm */
	void *bal;		    /* algorithm state, owned by ops */
	bool implicit;		    /* created by proxy_pass with a literal address */
	bool stream;		    /* an upstream of stream{} (cfg_stream.c): it
				      * serves TCP sessions, not HTTP requests */
	struct bal_rr *rr;	    /* round-robin schedules for primaries and backups:
				      * every method falls back to them (backups, hash
				      * retries); built by ups_group_init() */
	struct ups_hc hc;	    /* active health checks (`health_check`) */
	bool slow_start;	    /* some server ramps (slow_start > 0, not sole):
				      * set by ups_group_init() */
	int queue_max;		    /* `queue N`: requests that may wait for a server,
				      * all workers together (0: no queue, fail at once) */
	int queue_timeout_ms;	    /* `queue N timeout=T`: longest wait (default 60000) */
	_Atomic int queued;	    /* requests waiting now (proxy.c); the one mutable
				      * field of a group besides server and balancer state */
};

#endif
