/* SPDX-License-Identifier: MIT */
/*
 * HTTP request and client connection types. Types only.
 *
 * A client connection owns its input buffer, its per-request pool and the
 * request in progress. Parser output (method, target, header views) points
 * into the input buffer and stays valid until the next request starts:
 * the buffer is never moved while a request is in flight.
 */
#ifndef LBD_HTTP_T_H
#define LBD_HTTP_T_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cfg-t.h"
#include "ev.h"
#include "gunzip-t.h"
#include "gzip-t.h"
#include "h1.h"
#include "lbd.h"
#include "pool.h"
#include "ratelimit-t.h"

#define HTTP_MAX_HEADERS     100  /* request header lines in struct http_req itself */
#define HTTP_MAX_HEADERS_ALL 1000 /* nginx's cap on a request's header lines (400 past it) */
#define HTTP_MAX_CAPTURES    10	  /* $0..$9 */

struct worker;
struct range_set;
struct recode_table;
struct uconn;
struct tls_conn;
struct realip_state;
struct cache_req;
struct pbuf;
struct store_req;
struct rbody;
struct h2_conn;
struct h2_stream;
struct authreq;
struct mirror_run;
struct dns_waiter;
struct embed_run;

/* struct buf - a byte buffer: [start, end) holds data, cap is its size. */
struct buf {
	char *data;   /* storage (malloc'ed or pool) */
	size_t start; /* first unread byte */
	size_t end;   /* one past the last byte */
	size_t cap;   /* bytes allocated */
};

/* Parsed request-target and the request's current URI (after rewrites). */
struct http_uri {
	struct lstr uri;      /* decoded, normalized path ($uri), pool memory */
	struct lstr args;     /* query string without '?' ($args) */
	struct lstr unparsed; /* $request_uri: target as received */
	bool quoted;	      /* the path had a %XX escape (nginx's quoted_uri) */
};

/* struct http_captures - the last regex match ($1..$9, named). */
struct http_captures {
	const char *subject;		    /* matched string (pool copy) */
	size_t ovec[2 * HTTP_MAX_CAPTURES]; /* offsets pairs */
	int n;				    /* pairs set */
	void *re;			    /* pcre2_code * that matched (named lookups) */
};

enum http_body_kind {
	BODY_NONE = 0, /* no body */
	BODY_LENGTH,   /* Content-Length */
	BODY_CHUNKED,  /* Transfer-Encoding: chunked */
};

/* enum http_trl_mode - how an answer's add_trailer section goes out
 * (http_out.c), decided once by http_head_finish. HTTP_TRL_NONE is the only
 * state without add_trailer; the others do not change. */
enum http_trl_mode {
	HTTP_TRL_NONE = 0, /* no trailers */
	HTTP_TRL_CHUNK,	   /* HTTP/1.1, length known: its Content-Length became
			    * one chunk whose size line follows the head; the
			    * body's bytes go out as they would have */
	HTTP_TRL_FRAMED,   /* HTTP/1.1, the body is chunked by its writer (proxy,
			    * gzip, sub_filter, gunzip), which leaves the last
			    * chunk to http_trailers_end */
	HTTP_TRL_H2,	   /* HTTP/2: a trailing HEADERS frame (h2.c) */
};

/* struct var_mapval - one map's value kept for the rest of a request, as
 * nginx keeps a variable's value: the first one computed (not for a
 * `volatile` map), or one `set` gave it. */
struct var_mapval {
	struct lstr v; /* the value (request pool) */
	bool set;      /* evaluated already */
};

/* struct http_req - one request on a client connection. Lives in the
 * connection; reset between keep-alive requests. Pool memory is the
 * connection's request pool. */
struct http_req {
	/* as parsed */
	struct h1_request h1; /* views into the conn input buffer */
	struct h1_header
		*hdrs_big;  /* over HTTP_MAX_HEADERS lines: HTTP_MAX_HEADERS_ALL in the pool */
	size_t header_len;  /* bytes of the header block */
	struct lstr method; /* method */
	int version;	    /* 10 or 11 */
	struct lstr host;   /* Host without port, lowercased (pool) */
	struct lstr request_line; /* $request */
	struct http_uri u;	  /* URI state */
	/* a head being read: the server its Host line (or a host in its
	 * request line) named, once parsed, NULL before; head_sw its bytes up
	 * to the end of that line (head_named()) */
	struct cfg_srv *head_srv;
	size_t head_sw;
	int head_bad;		/* that host did not validate: enum head_bad (http_head.c) */
	struct lstr hdr_cookie; /* convenience views of common headers */
	struct lstr hdr_upgrade;
	struct lstr hdr_connection;
	struct lstr hdr_expect;
	bool head;	      /* HEAD: no body in the response */
	bool keepalive;	      /* the client wants keep-alive */
	bool pipelined;	      /* $pipe: its head was already read behind the last request's */
	unsigned h2_fields;   /* HTTP/2: the client's own fields (max_headers counts them) */
	unsigned h2_named_at; /* HTTP/2: of them, the one after which the server is known
			       * (0: :authority, before them all) */
	bool expect_continue; /* Expect: 100-continue pending */
	bool discarding;      /* the unread body is being read and dropped */

	/* body */
	enum http_body_kind body_kind; /* framing */
	uint64_t content_length;       /* BODY_LENGTH: declared */
	uint64_t body_received;	       /* bytes of body read (decoded) */
	struct h1_chunked chunked;     /* BODY_CHUNKED decoder state */
	int body_fd;		       /* spooled body (tmpfile) or -1 */
	struct buf body_mem;	       /* small bodies in memory */
	char *body_file;	       /* client_body_in_file_only: body_fd's name
					* ($request_body_file, request pool) */
	bool body_file_clean;	       /* ... removed when the request ends */
	bool body_preread;	       /* proxy_request_buffering off, read whole only
					* because it came with the head: nginx
					* streams it (no $request_body_file) */
	bool body_done;		       /* whole body read */
	int body_errno;		       /* the recv() error that ended the body
					* mid-way (REQBODY_GONE), 0: a FIN */
	char *in_prev;		       /* c->in's storage the head's views point into, when
					* reqbody_keep_rest() grew c->in; freed with the request */
	struct rbody *rbody;	       /* proxy_request_buffering off: the body
					* streamed upstream (proxy.c, request
					* pool), NULL when read whole first */

	/* routing */
	struct cfg_srv *srv;	    /* chosen server block */
	struct cfg_loc *loc;	    /* chosen location */
	struct http_captures cap;   /* last regex captures */
	int uri_changes;	    /* rewrite/internal redirect budget (nginx: 10) */
	bool internal;		    /* in an internal redirect */
	bool uri_changed;	    /* $uri rewritten: send it, not the original target */
	bool loc_rewrote;	    /* a rewrite changed $uri in this location pass */
	bool uri_break;		    /* ... and `break` kept the location: proxy_pass sends
				     * the whole $uri, its own URI part ignored (nginx) */
	bool error_page_done;	    /* an error_page already applied */
	bool static_file;	    /* static.c answers with a file (nginx's log action
				     * "sending response to client" from then on) */
	bool code_page;		    /* the answer is http_finalize's page for a code
				     * (nginx's special response, made after its
				     * post-subrequest handler: an SSI stub stands for
				     * it, and sees no status unless status_first) */
	bool status_first;	    /* `return` of a code under 400: nginx sets the
				     * status before any page of its own */
	int err_status;		    /* the code that error_page answers with (nginx's
				     * r->err_status): it replaces the handler's; 0 none */
	bool limit_req_rejected;    /* limit_req refused it (fail2ban counts it) */
	bool auth_delayed;	    /* auth_delay holds its 401 (CS_DELAY until the timer) */
	bool post_action_done;	    /* post_action started (mirror.c): once per request */
	struct lstr xar_ctype;	    /* X-Accel-Redirect: the upstream's Content-Type, kept */
	struct lstr *xar_hdrs;	    /* ... and its headers nginx keeps: name, value pairs */
	int nxar_hdrs;		    /* pairs in xar_hdrs */
	struct lstr *set_vars_name; /* `set` variables (names) */
	struct lstr *set_vars_val;  /* and values */
	int nset_vars;
	struct var_mapval *mapvals;   /* map values so far, by cfg_map.idx (pool), or NULL */
	struct rl_req_state rl;	      /* limit_req / limit_conn (limit.c) */
	struct rate_req rate;	      /* limit_rate (ratelimit.c) */
	struct authreq *authreq;      /* auth_request's exchange (authreq.c, pool), or NULL */
	struct mirror_run *mirror;    /* mirror's subrequests (mirror.c, the main request's
				      * pool; a mirror subrequest points to its main's), or NULL */
	struct dns_waiter *dns;	      /* proxy_pass's name being resolved (proxy_dyn.c, pool) */
	bool dns_resumed;	      /* dns holds the answer proxy_start waited for */
	struct lstr seclink_expires;  /* $secure_link parsed it (cleared by an internal redirect) */
	struct lstr seclink_exp_read; /* $secure_link_expires as first read: nginx keeps
				       * a read variable's value (found or not) */
	bool seclink_exp_done;	      /* ... it was read */
	int dav_state;		      /* CS_DAV: the enum conn_state it left (dav.c) */

	/* response */
	int status;		   /* status sent ($status) */
	bool header_sent;	   /* response header queued */
	bool completed;		   /* the answer was finished ($request_completion) */
	bool send_failed;	   /* a write to the client failed: not complete */
	uint64_t body_bytes_sent;  /* $body_bytes_sent */
	uint64_t bytes_sent;	   /* $bytes_sent */
	uint64_t request_length;   /* $request_length */
	struct lstr resp_location; /* Location header for redirects */
	struct lstr resp_www_auth; /* a 401's WWW-Authenticate value (auth.c) */
	struct lstr resp_content_type;
	struct lstr resp_content_range; /* a 416's Content-Range (range_send.c) */
	struct range_set *rng;		/* multipart byteranges being sent, or NULL */
	struct autoindex_run *ai;	/* directory listing being sent (autoindex.c), or NULL */
	struct userid_req *uid;		/* the userid cookie read and made (userid.c), or NULL */
	struct gzip_req gz;		/* response compression (gzip.c) */
	struct gunzip_req gu;		/* response decompression (gunzip.c) */
	struct subf_req sf;		/* sub_filter (subfilter.c) */
	bool cs_keep_type;		/* charset.c: an upstream answer the charset filter would
					 * recode but may not (Content-Encoding) keeps its type */
	bool cs_fail;			/* charset.c: a charset variable not found: nginx
					 * fails the request (http_head_finish) */
	const struct hdr_list *trl;	/* add_trailer lines this answer ends with, or
					 * NULL (the usual case): see http_trailers_end */
	uint64_t trl_chunk;		/* HTTP_TRL_CHUNK: the body's length, the size
					 * of the one chunk its bytes go out in */
	uint8_t trl_mode;		/* enum http_trl_mode */
	bool trl_queued;		/* the trailer section was queued */
	struct embed_run *emb;		/* subrequest answers put into this answer (embed.c,
					 * the main request's pool; a subrequest points to its
					 * main's), or NULL */
	size_t head_at;			/* c->out offset where the response head starts */
	int64_t slice_start;		/* $slice_range's start (slice.c), once slice_set */
	bool slice_set;			/* $slice_range was asked for: the slice run applies */
	/* charset.c: a file's bytes go through this single-byte table on their
	 * way out (static files, cache hits: http_flush, range_next), or NULL */
	const struct recode_table *rc_sb;

	struct lstr sent_head; /* the response head as sent, kept (pool) when
				* $sent_http_* is used */
	struct lstr up_head;   /* the (last) upstream's response head, kept
				* (pool) when $upstream_http_* / _cookie_* is */

	/* upstream */
	struct uconn *up;	     /* the upstream leg, NULL when not proxying */
	const struct proxy_pass *pp; /* proxy_pass in force: the location's, or
				      * one with variables evaluated (pool) */

	/* proxy_cache use (cache.c, request pool), or NULL */
	struct cache_req *cache;
	/* proxy_store use (store.c, request pool), or NULL */
	struct store_req *store;

	/* response buffering (pbuf.c, request pool), or NULL when streaming */
	struct pbuf *pb;

	/* timing */
	int64_t start_us;	    /* first byte of the request (monotonic) */
	struct timespec start_wall; /* wall clock at start, for $time_local */

	/* Below: not cleared between requests (the strings get their first
	 * byte reset, the parser fills hdrs). */
	char up_addrs[256];			 /* $upstream_addr (", "-separated tries) */
	char up_status[64];			 /* $upstream_status */
	char up_resp_time[64];			 /* $upstream_response_time */
	char up_conn_time[64];			 /* $upstream_connect_time */
	char up_hdr_time[64];			 /* $upstream_header_time */
	char up_resp_len[96];			 /* $upstream_response_length */
	char up_bytes_rx[96];			 /* $upstream_bytes_received */
	char up_bytes_tx[96];			 /* $upstream_bytes_sent */
	struct h1_header hdrs[HTTP_MAX_HEADERS]; /* header views */
};

/* Client connection states. Legal transitions:
 *   PROXY_PROTO -> TLS_HANDSHAKE | READ_HEAD (`listen ... proxy_protocol`: header read)
 *   TLS_HANDSHAKE -> READ_HEAD (established, or plain HTTP on a TLS port)
 *   READ_HEAD -> READ_BODY -> PROXY/STATIC/RESPOND -> WRITE -> (KEEPALIVE -> READ_HEAD) | CLOSE
 *   WRITE -> LINGER -> CLOSE when the client may still be sending (unread body)
 *   WRITE -> DISCARD -> KEEPALIVE | READ_HEAD: an unread body still coming is
 *   read and dropped (nginx's discarded body), then the connection goes on
 *   READ_BODY (or whatever state ran the phases) -> DELAY -> back to it when
 *   limit_req holds the request, or CLOSE when the client goes away meanwhile
 *   READ_BODY (idem) -> AUTH -> back to it when auth_request's subrequest is done
 *   READ_BODY (idem) -> MIRROR -> back to it once mirror read the whole body;
 *   WRITE (the answer done) -> MIRROR -> on as from WRITE when mirror's subrequests end
 *   WRITE (the answer done) -> EMBED -> on as from WRITE once the subrequests whose
 *   answers go into it (add_after_body) are written, or CLOSE on send_timeout
 */
enum conn_state {
	CS_READ_HEAD = 0, /* reading the request header */
	CS_READ_BODY,	  /* reading (spooling) the request body */
	CS_UPSTREAM,	  /* waiting on the upstream */
	CS_WRITE,	  /* writing a response */
	CS_KEEPALIVE,	  /* idle between requests */
	CS_LINGER,	  /* response sent; reading and dropping what the client still sends */
	CS_DISCARD,	  /* response sent; reading and dropping the rest of an unread
			   * request body, then the next request (keep-alive) */
	CS_CLOSING,	  /* lingering close / closed, freed by defer */
	CS_DELAY,	  /* held by limit_req until c->timer fires */
	CS_TLS_HANDSHAKE, /* `listen ... ssl`: waiting for or in the TLS handshake */
	CS_H2,		  /* an HTTP/2 connection: h2.c owns it until it closes */
	CS_PROXY_PROTO,	  /* `listen ... proxy_protocol`: reading the PROXY header (pproto.c) */
	CS_AUTH,	  /* the access phase waits on an auth_request subrequest
			   * (authreq.c); back to the state it left when it is done */
	CS_MIRROR,	  /* mirror reads the body first, or the answer is done and the
			   * connection waits for mirror's subrequests (mirror.c) */
	CS_DAV,		  /* a WebDAV PUT reads its body (dav.c); back to dav_state */
	CS_EMBED,	  /* the answer is done; the subrequests put into it (embed.c)
			   * still run or their bytes wait for the socket */
};

/* struct conn - a client connection. Owned by its worker's event loop. */
struct rl_node;

struct conn {
	struct ev_io io;	      /* client fd */
	struct rl_node *ip_slot;      /* client_conns_per_ip count held, or NULL */
	struct ev_timer timer;	      /* the one deadline in force for this state */
	struct worker *w;	      /* owning worker */
	struct cfg *cfg;	      /* configuration generation (a ref) */
	struct listen_group *lg;      /* listening address it came in on */
	struct sockaddr_storage peer; /* client address */
	socklen_t peerlen;
	struct realip_state *realip; /* set while peer is a real address from a header (realip.c) */
	struct pproto_info *pp; /* PROXY header's addresses, or NULL (owned; h2 streams borrow) */
	/* nginx's buffers the next request head starts in: hb_room bytes left
	 * in the one it starts in (0: a whole first buffer; less after a
	 * PROXY header read with it, or in the buffer a pipelined request
	 * starts in), hb_busy0 large buffers busy, hb_nfree free ones of
	 * hb_free_size; hb_end/hb_busy: where the last head ended
	 * (h1_head_end(), set when bytes followed it), hb_base/hb_inend:
	 * c->in's start and end then */
	uint32_t hb_room, hb_free_size, hb_end, hb_base, hb_inend;
	uint16_t hb_busy0, hb_nfree, hb_busy;
	struct sockaddr_storage local; /* local address ($server_addr): use conn_local() */
	socklen_t locallen;	       /* 0 until conn_local() looked it up */
	uint64_t number;	       /* $connection */
	int requests;		       /* $connection_requests */
	enum conn_state state;	       /* see above */
	bool readable, writable;       /* edge-triggered readiness */
	bool peer_closed;	       /* read side saw EOF */
	bool peer_hup;		       /* epoll reported RDHUP/HUP/ERR */
	bool lowat;		       /* TCP_NOTSENT_LOWAT set (http_lowat) */
	int stat_state;		       /* enum stats_conn_state, for stub_status */
	int64_t linger_start_ms;       /* CS_LINGER / CS_DISCARD since (monotonic ms) */
	bool close_after;	       /* close after the current response */
	bool dead;		       /* closed; freed after the event round */
	struct buf in;		       /* client input */
	struct buf out;		       /* client output not yet written */
	int file_fd;		       /* static file being sent, or -1 */
	off_t file_off, file_end;      /* range of file_fd still to send */
	struct pool pool;	       /* per-request memory */
	struct http_req req;	       /* request in progress */
	struct tls_conn *tls;	       /* TLS session (owned), NULL for plaintext */
	bool plain_on_tls;	       /* plain HTTP came to a TLS address: answer 400 */
	struct h2_conn *h2;	       /* CS_H2: the HTTP/2 session (owned), else NULL */
	/* An HTTP/2 stream's request connection (h2.h): no socket of its
	 * own (io.fd -1, not on the worker's list), client I/O through h2.c,
	 * tls borrowed from the client connection for $scheme and $ssl_*. */
	struct h2_stream *h2s;
	/* A subrequest (authreq.c, mirror.c, embed.c): no socket either, not
	 * on the worker's list, its response discarded (or, with req.emb,
	 * its body put into the main answer: embed.h), the main request's
	 * connection here (it outlives the subrequest: closing it aborts the
	 * subrequest first). NULL for any other connection. */
	struct conn *sr_parent;
	struct conn *next, *prev; /* worker's connection list */
};

#endif
