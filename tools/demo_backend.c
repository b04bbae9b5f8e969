/* SPDX-License-Identifier: MIT */
/*
 * demo_backend — the origin server behind `make run`, the integration tests
 * and bench/run.sh. It owns nothing of lbd: one file, libc and pthreads only.
 *
 * It must be fast enough that a benchmark measures the proxy, not this
 * server: N threads, each with its own epoll loop and its own SO_REUSEPORT
 * listener per address, edge-triggered non-blocking sockets, keep-alive and
 * pipelining, responses written with one writev(2) and large bodies streamed
 * from one static buffer. It must also be a useful test double: every answer
 * carries `X-Backend: NAME`, the JSON echo says which listener port saw which
 * method and path, and a few paths produce sizes, statuses and delays on
 * demand:
 *
 *   /              (and any other path) JSON echo, 200
 *   /headers       JSON echo plus the request headers as received
 *   /health        {"status":"healthy"}
 *   /bench         a fixed 100-byte text body
 *   /size/N        exactly N bytes (N <= 1 GiB) of application/octet-stream
 *   /status/N      JSON echo with status N (200..599)
 *   /slow/MS       JSON echo after MS milliseconds (<= 600000), on a timer
 *
 * Request bodies (Content-Length or chunked) are read and discarded; the JSON
 * echo reports how many body bytes arrived ("body_bytes"). The header section
 * is bounded (431 beyond DB_HEAD_MAX), malformed requests get 400 and a close,
 * and a connection is never freed inside its own event handling: it is moved
 * to a dead list and freed after the epoll batch.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define DB_MAX_LISTEN  16
#define DB_MAX_THREADS 64
#define DB_IN_CAP      16384	    /* per-connection input buffer, bytes */
#define DB_HEAD_MAX    8192	    /* request line + headers, bytes; more is 431 */
#define DB_MAX_HEADERS 100	    /* header lines per request; more is 431 */
#define DB_LINE_MAX    4096	    /* chunk-size line, bytes */
#define DB_OUT_HIGH    65536	    /* stop answering pipelined requests above this */
#define DB_SIZE_MAX    (1ULL << 30) /* largest /size/N */
#define DB_SLOW_MAX_MS 600000	    /* largest /slow/MS */
#define DB_LINGER_MS   5000	    /* how long a closing connection drains input */
#define DB_FILL_LEN    65536	    /* static body buffer */
#define DB_STREAM_IOV  16	    /* static chunks per writev: 1 MiB */
#define DB_FREE_MAX    256	    /* recycled connections kept per thread */
#define DB_EVENTS      256	    /* epoll_wait batch */
#define DB_NAME_MAX    64	    /* backend name, bytes */
#define DB_LOG_MAX     256	    /* access-log line, bytes */

/* What an epoll registration points at: the first member of each object. */
enum db_tag {
	DB_TAG_LISTEN, /* a struct db_lsock */
	DB_TAG_WAKE,   /* the worker's eventfd (stop request) */
	DB_TAG_CONN,   /* a struct db_conn */
};

/*
 * Connection states. HEAD -> BODY -> READY -> (WAIT ->) HEAD for keep-alive,
 * or -> DONE when the answer closes the connection; DONE -> LINGER once the
 * output is flushed and the write side shut down. Any state may die.
 */
enum db_state {
	DB_ST_HEAD,   /* waiting for a complete request head */
	DB_ST_BODY,   /* discarding a request body */
	DB_ST_READY,  /* request complete, answer not yet queued */
	DB_ST_WAIT,   /* /slow: answer queued when the timer fires */
	DB_ST_DONE,   /* last answer queued, no more requests parsed */
	DB_ST_LINGER, /* write side shut, reading until EOF or timeout */
};

/* Chunked request body decoder states. */
enum db_chunk {
	DB_CH_SIZE,	/* expecting a chunk-size line */
	DB_CH_DATA,	/* inside chunk data, body_left bytes to go */
	DB_CH_DATA_END, /* expecting the CRLF after chunk data */
	DB_CH_TRAILER,	/* expecting trailer lines up to an empty line */
};

enum db_parse {
	DB_PARSE_OK,	    /* complete and valid */
	DB_PARSE_AGAIN,	    /* more bytes needed */
	DB_PARSE_BAD,	    /* malformed: 400 */
	DB_PARSE_TOO_LARGE, /* header limits exceeded: 431 */
	DB_PARSE_VERSION,   /* HTTP major version other than 1: 505 */
};

/* One growable byte buffer; `oom` is sticky so callers check once. */
struct db_buf {
	char *p;    /* storage, NULL until first use */
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
	bool oom;   /* an append failed; contents are incomplete */
};

/* One -l argument, resolved. Read-only once workers start. */
struct db_listen {
	struct sockaddr_storage addr;	  /* bind address; port filled in after bind */
	socklen_t addrlen;		  /* sizeof the address family's sockaddr */
	unsigned port;			  /* actual port (ephemeral one resolved) */
	char text[INET6_ADDRSTRLEN + 16]; /* "ADDR:PORT" or "[ADDR]:PORT" */
};

/* One worker's listening socket for one db_listen. */
struct db_lsock {
	enum db_tag tag;	      /* DB_TAG_LISTEN; must stay first */
	int fd;			      /* listening socket, -1 when unused */
	const struct db_listen *spec; /* the address it serves */
};

/* A view of one request header inside the input buffer. */
struct db_hdr {
	const char *name; /* header name, not NUL-terminated */
	size_t nlen;	  /* name length */
	const char *val;  /* value without surrounding whitespace */
	size_t vlen;	  /* value length */
};

/* A parsed request head: views into the connection's input buffer. */
struct db_req {
	const char *method;		   /* request method token */
	size_t mlen;			   /* method length */
	const char *target;		   /* request-target as sent */
	size_t tlen;			   /* target length */
	int minor;			   /* HTTP/1.minor */
	struct db_hdr hdr[DB_MAX_HEADERS]; /* header lines in order */
	unsigned nhdr;			   /* entries used in hdr */
};

struct db_worker;

struct db_conn {
	enum db_tag tag;	      /* DB_TAG_CONN; must stay first */
	int fd;			      /* client socket, -1 once closed */
	const struct db_listen *spec; /* listener that accepted it */
	enum db_state state;	      /* see enum db_state */
	bool readable;		      /* edge seen and no EAGAIN since */
	bool writable;		      /* edge seen and no EAGAIN since */
	bool peer_eof;		      /* read returned 0 */
	bool rdhup;		      /* the peer's FIN (or an error) was signalled */
	bool dead;		      /* closed, waiting on the dead list */
	bool in_timer;		      /* linked on the worker's timer list */

	size_t in_off; /* first unconsumed byte of in[] */
	size_t in_len; /* bytes held in in[] */
	size_t scan;   /* head-end search resumes here (relative to in_off) */

	/* the request being served */
	bool keepalive;		  /* connection stays open after this answer */
	bool http10;		  /* request was HTTP/1.0: echo keep-alive explicitly */
	bool head;		  /* HEAD: headers only */
	bool chunked;		  /* body is chunked */
	bool echo;		  /* append ,"body_bytes":N} to pend */
	enum db_chunk cst;	  /* chunked decoder state */
	uint64_t body_left;	  /* Content-Length or chunk bytes still to discard */
	uint64_t body_bytes;	  /* body bytes discarded so far */
	size_t trailer_bytes;	  /* trailer section size so far */
	int status;		  /* answer status code */
	const char *ctype;	  /* answer Content-Type */
	uint64_t stream_len;	  /* static-buffer bytes after pend (/size) */
	uint32_t slow_ms;	  /* delay before answering (/slow), 0 for none */
	struct db_buf pend;	  /* answer body prefix, built when the head is parsed */
	char logline[DB_LOG_MAX]; /* "NAME METHOD TARGET" when not quiet */

	struct db_buf out;    /* queued answer bytes */
	size_t out_off;	      /* bytes of out already written */
	uint64_t stream_left; /* static-buffer bytes to write after out */

	int64_t deadline;	       /* CLOCK_MONOTONIC ms when the timer fires */
	struct db_conn *tprev, *tnext; /* timer list links */
	struct db_conn *aprev, *anext; /* all-connections list links */
	struct db_conn *dnext;	       /* dead or free list link */

	char in[DB_IN_CAP]; /* request bytes */
};

struct db_worker {
	enum db_tag wake_tag;		      /* DB_TAG_WAKE; registered for wakefd */
	pthread_t tid;			      /* thread id once started */
	int epfd;			      /* this worker's epoll instance */
	int wakefd;			      /* eventfd written by main to stop the loop */
	int reserve_fd;			      /* spare fd freed to shed connections on EMFILE */
	struct db_lsock lsock[DB_MAX_LISTEN]; /* one per db_cfg.listen */
	struct db_conn *timers;		      /* conns waiting on a deadline (unsorted) */
	struct db_conn *all;		      /* every live connection, for shutdown */
	struct db_conn *dead;		      /* closed this batch, freed after it */
	struct db_conn *free;		      /* recycled connection objects */
	unsigned nfree;			      /* entries on the free list */
};

/* Command-line configuration; read-only once workers start. */
static struct {
	const char *name;			/* -n NAME */
	char name_json[DB_NAME_MAX * 6 + 1];	/* NAME escaped for JSON */
	bool quiet;				/* -q: no access log on stderr */
	unsigned nthreads;			/* -t THREADS */
	struct db_listen listen[DB_MAX_LISTEN]; /* -l ADDR:PORT */
	unsigned nlisten;			/* entries used in listen */
} db_cfg;

static struct db_worker db_workers[DB_MAX_THREADS];
static char db_fill[DB_FILL_LEN];
static atomic_bool db_stop;
static bool db_tchar_tab[256]; /* RFC 9110 tchar, filled by db_tchar_init() */

static void db_tchar_init(void)
{
	const char *punct = "!#$%&'*+-.^_`|~";
	int ch;

	for (ch = 0; ch < 256; ch++)
		db_tchar_tab[ch] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				   (ch >= '0' && ch <= '9') || (ch && strchr(punct, ch));
}

/* RFC 9110 tchar: the bytes allowed in methods and header names. */
static inline bool db_tchar(unsigned char ch)
{
	return db_tchar_tab[ch];
}

static int64_t db_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- growable buffer --------------------------------------------------- */

static bool db_buf_reserve(struct db_buf *b, size_t extra)
{
	size_t want, cap;
	char *p;

	if (b->oom)
		return false;
	if (b->cap - b->len >= extra)
		return true;
	want = b->len + extra;
	cap = b->cap ? b->cap : 1024;
	while (cap < want)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void db_buf_put(struct db_buf *b, const void *p, size_t n)
{
	if (!n || !db_buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void db_buf_puts(struct db_buf *b, const char *s)
{
	db_buf_put(b, s, strlen(s));
}

static size_t db_fmt_u64(char *dst, uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

static void db_buf_putu(struct db_buf *b, uint64_t v)
{
	char tmp[20];

	db_buf_put(b, tmp, db_fmt_u64(tmp, v));
}

/* Appends p[0..n) as the inside of a JSON string. Non-ASCII bytes become
 * \u00XX: not a faithful decoding, but always valid JSON. */
static void db_buf_put_json(struct db_buf *b, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0, i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		char esc[6];

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			continue;
		db_buf_put(b, p + run, i - run);
		run = i + 1;
		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			db_buf_put(b, esc, 2);
			continue;
		}
		memcpy(esc, "\\u00", 4);
		esc[4] = hex[ch >> 4];
		esc[5] = hex[ch & 15];
		db_buf_put(b, esc, 6);
	}
	db_buf_put(b, p + run, n - run);
}

static void db_buf_free(struct db_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* --- request parsing --------------------------------------------------- */

/*
 * db_head_end() looks for the empty line ending a request head in p[0..len),
 * resuming at *scan. It returns the head length including the empty line, or
 * 0 when it is not there yet (then *scan is where to resume). CRLF and bare
 * LF line ends are both accepted.
 */
static size_t db_head_end(const char *p, size_t len, size_t *scan)
{
	size_t i = *scan;

	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t k;

		if (!nl) {
			*scan = len;
			return 0;
		}
		k = (size_t)(nl - p) + 1;
		if (k < len && p[k] == '\n')
			return k + 1;
		if (k + 1 < len && p[k] == '\r' && p[k + 1] == '\n')
			return k + 2;
		if (k == len || (k + 1 == len && p[k] == '\r')) {
			/* the next byte(s) decide: look at this LF again */
			*scan = k - 1;
			return 0;
		}
		i = k;
	}
	*scan = i;
	return 0;
}

/* Returns the length of the line at p (excluding its LF and any CR) and sets
 * *next past the LF. The caller guarantees an LF before end. */
static size_t db_line(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n = (size_t)(nl - p);

	*next = nl + 1;
	if (n && p[n - 1] == '\r')
		n--;
	return n;
}

/*
 * db_parse_head() parses the complete head p[0..len) (as delimited by
 * db_head_end) into rq. It rejects anything RFC 9112 does not allow in a
 * request line or header line, including obs-fold and whitespace before the
 * colon, and returns a db_parse code.
 */
static enum db_parse db_parse_head(const char *p, size_t len, struct db_req *rq)
{
	const char *end = p + len, *next, *v;
	size_t n, i;

	n = db_line(p, end, &next);
	for (i = 0; i < n && db_tchar((unsigned char)p[i]); i++)
		;
	if (i == 0 || i > 32 || i == n || p[i] != ' ')
		return DB_PARSE_BAD;
	rq->method = p;
	rq->mlen = i;
	rq->target = p + i + 1;
	for (i++; i < n && p[i] > 0x20 && p[i] < 0x7f; i++)
		;
	rq->tlen = (size_t)(p + i - rq->target);
	if (rq->tlen == 0 || i == n || p[i] != ' ')
		return DB_PARSE_BAD;
	v = p + i + 1;
	if ((size_t)(p + n - v) != 8 || memcmp(v, "HTTP/", 5) || v[6] != '.' || v[5] < '0' ||
	    v[5] > '9' || v[7] < '0' || v[7] > '9')
		return DB_PARSE_BAD;
	if (v[5] != '1')
		return DB_PARSE_VERSION;
	rq->minor = v[7] - '0';

	rq->nhdr = 0;
	for (p = next; p < end; p = next) {
		struct db_hdr *h;
		size_t k;

		n = db_line(p, end, &next);
		if (n == 0)
			return DB_PARSE_OK;
		if (rq->nhdr == DB_MAX_HEADERS)
			return DB_PARSE_TOO_LARGE;
		for (i = 0; i < n && db_tchar((unsigned char)p[i]); i++)
			;
		if (i == 0 || i == n || p[i] != ':')
			return DB_PARSE_BAD;
		h = &rq->hdr[rq->nhdr++];
		h->name = p;
		h->nlen = i;
		for (i++; i < n && (p[i] == ' ' || p[i] == '\t'); i++)
			;
		while (n > i && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		for (k = i; k < n; k++) {
			unsigned char ch = (unsigned char)p[k];

			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return DB_PARSE_BAD;
		}
		h->val = p + i;
		h->vlen = n - i;
	}
	return DB_PARSE_BAD;
}

static bool db_hdr_is(const struct db_hdr *h, const char *name)
{
	return h->nlen == strlen(name) && !strncasecmp(h->name, name, h->nlen);
}

/* Parses 1..19 decimal digits no greater than max. */
static bool db_parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 19)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* True when the comma-separated header value v holds token tok (any case). */
static bool db_has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && !strncasecmp(v + s, tok, tl))
			return true;
	}
	return false;
}

/* True when the last transfer-coding listed is "chunked". */
static bool db_te_chunked(const char *v, size_t n)
{
	size_t s;

	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	s = n;
	while (s && v[s - 1] != ',')
		s--;
	while (s < n && (v[s] == ' ' || v[s] == '\t'))
		s++;
	return n - s == 7 && !strncasecmp(v + s, "chunked", 7);
}

/* --- answers ----------------------------------------------------------- */

static const char *db_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Status";
	}
}

/* Starts the JSON echo in pend; db_emit() closes it with body_bytes. */
static void db_echo_start(struct db_conn *c, const struct db_req *rq)
{
	struct db_buf *b = &c->pend;

	db_buf_puts(b, "{\"backend\":\"");
	db_buf_puts(b, db_cfg.name_json);
	db_buf_puts(b, "\",\"port\":");
	db_buf_putu(b, c->spec->port);
	db_buf_puts(b, ",\"method\":\"");
	db_buf_put_json(b, rq->method, rq->mlen);
	db_buf_puts(b, "\",\"path\":\"");
	db_buf_put_json(b, rq->target, rq->tlen);
	db_buf_puts(b, "\"");
	c->echo = true;
	c->ctype = "application/json";
}

static void db_echo_headers(struct db_conn *c, const struct db_req *rq)
{
	struct db_buf *b = &c->pend;
	unsigned i;

	db_buf_puts(b, ",\"headers\":{");
	for (i = 0; i < rq->nhdr; i++) {
		const struct db_hdr *h = &rq->hdr[i];
		size_t k;

		if (i)
			db_buf_puts(b, ",");
		db_buf_puts(b, "\"");
		/* names are tchar-only: lower-casing in place of escaping is safe */
		for (k = 0; k < h->nlen; k++) {
			char ch = h->name[k];

			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			db_buf_put(b, &ch, 1);
		}
		db_buf_puts(b, "\":\"");
		db_buf_put_json(b, h->val, h->vlen);
		db_buf_puts(b, "\"");
	}
	db_buf_puts(b, "}");
}

static bool db_prefix_num(const char *path, size_t plen, const char *prefix, uint64_t max,
			  uint64_t *out)
{
	size_t n = strlen(prefix);

	if (plen <= n || memcmp(path, prefix, n))
		return false;
	if (!db_parse_u64(path + n, plen - n, max, out))
		*out = UINT64_MAX;
	return true;
}

/*
 * db_route() decides the answer to a parsed request: status, content type,
 * body prefix in pend, streamed length and delay. An unusable number in
 * /size, /status or /slow is a 400.
 */
static void db_route(struct db_conn *c, const struct db_req *rq)
{
	const char *q = memchr(rq->target, '?', rq->tlen);
	size_t plen = q ? (size_t)(q - rq->target) : rq->tlen;
	const char *path = rq->target;
	uint64_t num;

	c->status = 200;
	if (plen == 6 && !memcmp(path, "/bench", 6)) {
		static const char body[] =
			"demo_backend fixed-size benchmark answer: "
			"one hundred bytes exactly, for the small responses table.\n";

		_Static_assert(sizeof(body) - 1 == 100, "/bench body must be 100 bytes");
		c->ctype = "text/plain";
		db_buf_put(&c->pend, body, sizeof(body) - 1);
	} else if (plen == 7 && !memcmp(path, "/health", 7)) {
		c->ctype = "application/json";
		db_buf_puts(&c->pend, "{\"status\":\"healthy\"}\n");
	} else if (db_prefix_num(path, plen, "/size/", DB_SIZE_MAX, &num)) {
		if (num == UINT64_MAX)
			goto bad;
		c->ctype = "application/octet-stream";
		c->stream_len = num;
	} else if (db_prefix_num(path, plen, "/status/", 599, &num)) {
		if (num < 200 || num > 599)
			goto bad;
		c->status = (int)num;
		db_echo_start(c, rq);
	} else if (db_prefix_num(path, plen, "/slow/", DB_SLOW_MAX_MS, &num)) {
		if (num == UINT64_MAX)
			goto bad;
		c->slow_ms = (uint32_t)num;
		db_echo_start(c, rq);
	} else {
		db_echo_start(c, rq);
		if ((plen == 8 || (plen > 8 && path[8] == '/')) && !memcmp(path, "/headers", 8))
			db_echo_headers(c, rq);
	}
	return;
bad:
	c->status = 400;
	c->ctype = "application/json";
	db_buf_puts(&c->pend, "{\"error\":\"bad number in path\"}\n");
}

static void db_log(const struct db_conn *c)
{
	char line[DB_LOG_MAX + 16];
	size_t n = strlen(c->logline);
	ssize_t r;

	memcpy(line, c->logline, n);
	line[n++] = ' ';
	n += db_fmt_u64(line + n, (uint64_t)c->status);
	line[n++] = '\n';
	/* one write per line keeps lines whole across threads */
	r = write(STDERR_FILENO, line, n);
	(void)r;
}

static void db_reset_request(struct db_conn *c)
{
	c->chunked = false;
	c->echo = false;
	c->head = false;
	c->body_left = 0;
	c->body_bytes = 0;
	c->trailer_bytes = 0;
	c->stream_len = 0;
	c->slow_ms = 0;
	c->pend.len = 0;
	c->scan = 0;
	c->logline[0] = '\0';
}

/*
 * db_emit() queues the answer for the current request on out: status line,
 * headers, pend and the echo tail, then arms stream_left for /size. The next
 * state is HEAD for keep-alive, DONE otherwise. Returns false on OOM.
 */
static bool db_emit(struct db_conn *c)
{
	struct db_buf *o = &c->out;
	bool nobody = c->status == 204 || c->status == 304;
	char tail[64];
	size_t tail_len = 0;
	uint64_t blen;

	if (c->echo) {
		memcpy(tail, ",\"body_bytes\":", 14);
		tail_len = 14 + db_fmt_u64(tail + 14, c->body_bytes);
		memcpy(tail + tail_len, "}\n", 2);
		tail_len += 2;
	}
	blen = nobody ? 0 : c->pend.len + tail_len + c->stream_len;

	if (c->status == 200) {
		db_buf_puts(o, "HTTP/1.1 200 OK\r\n");
	} else {
		db_buf_puts(o, "HTTP/1.1 ");
		db_buf_putu(o, (uint64_t)c->status);
		db_buf_puts(o, " ");
		db_buf_puts(o, db_reason(c->status));
		db_buf_puts(o, "\r\n");
	}
	if (!nobody) {
		db_buf_puts(o, "Content-Type: ");
		db_buf_puts(o, c->ctype);
		db_buf_puts(o, "\r\nContent-Length: ");
		db_buf_putu(o, blen);
		db_buf_puts(o, "\r\n");
	}
	db_buf_puts(o, "X-Backend: ");
	db_buf_puts(o, db_cfg.name);
	if (!c->keepalive)
		db_buf_puts(o, "\r\nConnection: close\r\n\r\n");
	else if (c->http10)
		db_buf_puts(o, "\r\nConnection: keep-alive\r\n\r\n");
	else
		db_buf_puts(o, "\r\n\r\n");
	if (!c->head && !nobody) {
		db_buf_put(o, c->pend.p, c->pend.len);
		db_buf_put(o, tail, tail_len);
		c->stream_left = c->stream_len;
	}
	if (o->oom)
		return false;
	if (!db_cfg.quiet)
		db_log(c);
	c->state = c->keepalive ? DB_ST_HEAD : DB_ST_DONE;
	db_reset_request(c);
	return true;
}

/* Queues an error answer that closes the connection. */
static bool db_emit_error(struct db_conn *c, int status, const char *msg)
{
	db_reset_request(c);
	c->status = status;
	c->keepalive = false;
	c->ctype = "application/json";
	db_buf_puts(&c->pend, "{\"error\":\"");
	db_buf_puts(&c->pend, msg);
	db_buf_puts(&c->pend, "\"}\n");
	if (!db_cfg.quiet)
		snprintf(c->logline, sizeof(c->logline), "%s - (%s)", db_cfg.name, msg);
	return db_emit(c);
}

/* --- connections and timers -------------------------------------------- */

static void db_timer_add(struct db_worker *w, struct db_conn *c, int64_t deadline)
{
	c->deadline = deadline;
	if (c->in_timer)
		return;
	c->in_timer = true;
	c->tprev = NULL;
	c->tnext = w->timers;
	if (w->timers)
		w->timers->tprev = c;
	w->timers = c;
}

static void db_timer_del(struct db_worker *w, struct db_conn *c)
{
	if (!c->in_timer)
		return;
	if (c->tprev)
		c->tprev->tnext = c->tnext;
	else
		w->timers = c->tnext;
	if (c->tnext)
		c->tnext->tprev = c->tprev;
	c->in_timer = false;
	c->tprev = c->tnext = NULL;
}

/* Closes c and parks it on the dead list; db_reap() frees it after the
 * current epoll batch, so later events of the batch can still test c->dead. */
static void db_conn_kill(struct db_worker *w, struct db_conn *c)
{
	if (c->dead)
		return;
	close(c->fd);
	c->fd = -1;
	c->dead = true;
	db_timer_del(w, c);
	if (c->aprev)
		c->aprev->anext = c->anext;
	else
		w->all = c->anext;
	if (c->anext)
		c->anext->aprev = c->aprev;
	c->dnext = w->dead;
	w->dead = c;
}

static void db_reap(struct db_worker *w)
{
	while (w->dead) {
		struct db_conn *c = w->dead;

		w->dead = c->dnext;
		if (w->nfree < DB_FREE_MAX) {
			/* keep the buffers: a recycled conn skips the first mallocs */
			c->dnext = w->free;
			w->free = c;
			w->nfree++;
			continue;
		}
		db_buf_free(&c->pend);
		db_buf_free(&c->out);
		free(c);
	}
}

static struct db_conn *db_conn_new(struct db_worker *w, int fd, const struct db_listen *spec)
{
	struct db_conn *c = w->free;
	struct db_buf pend = {0}, out = {0};

	if (c) {
		w->free = c->dnext;
		w->nfree--;
		pend = c->pend;
		out = c->out;
	} else {
		c = malloc(sizeof(*c));
		if (!c)
			return NULL;
	}
	/* the header fields only: in[] needs no clearing */
	memset(c, 0, offsetof(struct db_conn, in));
	pend.len = out.len = 0;
	pend.oom = out.oom = false;
	c->pend = pend;
	c->out = out;
	c->tag = DB_TAG_CONN;
	c->fd = fd;
	c->spec = spec;
	c->state = DB_ST_HEAD;
	c->writable = true;
	c->anext = w->all;
	if (w->all)
		w->all->aprev = c;
	w->all = c;
	return c;
}

/*
 * db_body_step() discards request body bytes from in[]. Returns
 * DB_PARSE_OK when the body is complete, DB_PARSE_AGAIN when it needs more
 * bytes and DB_PARSE_BAD on malformed chunked framing.
 */
static enum db_parse db_body_step(struct db_conn *c)
{
	for (;;) {
		const char *p = c->in + c->in_off, *nl, *next;
		size_t avail = c->in_len - c->in_off, n, i;
		uint64_t size = 0;

		if (!c->chunked || c->cst == DB_CH_DATA) {
			uint64_t take = avail < c->body_left ? avail : c->body_left;

			c->in_off += take;
			c->body_left -= take;
			c->body_bytes += take;
			if (c->body_left)
				return DB_PARSE_AGAIN;
			if (!c->chunked)
				return DB_PARSE_OK;
			c->cst = DB_CH_DATA_END;
			continue;
		}
		nl = memchr(p, '\n', avail);
		if (!nl) {
			if (avail >= DB_LINE_MAX)
				return DB_PARSE_BAD;
			return DB_PARSE_AGAIN;
		}
		n = db_line(p, p + avail, &next);
		c->in_off += (size_t)(next - p);
		switch (c->cst) {
		case DB_CH_DATA_END:
			if (n)
				return DB_PARSE_BAD;
			c->cst = DB_CH_SIZE;
			break;
		case DB_CH_SIZE:
			for (i = 0; i < n && i < 16; i++) {
				char ch = p[i];
				int d;

				if (ch >= '0' && ch <= '9')
					d = ch - '0';
				else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
					d = (ch | 0x20) - 'a' + 10;
				else
					break;
				size = size * 16 + (uint64_t)d;
			}
			if (i == 0 || i == 16 ||
			    (i < n && p[i] != ';' && p[i] != ' ' && p[i] != '\t'))
				return DB_PARSE_BAD;
			c->body_left = size;
			c->cst = size ? DB_CH_DATA : DB_CH_TRAILER;
			break;
		case DB_CH_TRAILER:
			c->trailer_bytes += (size_t)(next - p);
			if (c->trailer_bytes > DB_HEAD_MAX)
				return DB_PARSE_BAD;
			if (n == 0)
				return DB_PARSE_OK;
			break;
		case DB_CH_DATA:
			break;
		}
	}
}

/*
 * db_head_step() parses one request head at in_off and prepares its answer.
 * Returns DB_PARSE_AGAIN when the head is incomplete, DB_PARSE_OK when a
 * request is set up (state BODY or READY), and on errors queues the error
 * answer itself and returns the error code (state DONE).
 */
static enum db_parse db_head_step(struct db_conn *c)
{
	struct db_req rq;
	const char *p;
	size_t avail, hlen;
	bool has_cl = false, has_te = false, conn_close = false, conn_ka = false;
	bool expect = false;
	uint64_t cl = 0;
	enum db_parse rc;
	unsigned i;

	/* RFC 9112 2.2: ignore empty lines before a request line */
	while (c->in_off < c->in_len && (c->in[c->in_off] == '\r' || c->in[c->in_off] == '\n'))
		c->in_off++;
	p = c->in + c->in_off;
	avail = c->in_len - c->in_off;
	hlen = db_head_end(p, avail, &c->scan);
	if (!hlen) {
		/* answer garbage now rather than after DB_HEAD_MAX bytes */
		for (i = 0; i < avail && i <= 32 && db_tchar((unsigned char)p[i]); i++)
			;
		if (i < avail && (i == 0 || i > 32 || p[i] != ' ')) {
			db_emit_error(c, 400, "malformed request");
			return DB_PARSE_BAD;
		}
		if (avail < DB_HEAD_MAX)
			return DB_PARSE_AGAIN;
		db_emit_error(c, 431, "request head too large");
		return DB_PARSE_TOO_LARGE;
	}
	if (hlen > DB_HEAD_MAX) {
		db_emit_error(c, 431, "request head too large");
		return DB_PARSE_TOO_LARGE;
	}
	rc = db_parse_head(p, hlen, &rq);
	if (rc == DB_PARSE_TOO_LARGE) {
		db_emit_error(c, 431, "too many header fields");
		return rc;
	}
	if (rc == DB_PARSE_VERSION) {
		db_emit_error(c, 505, "HTTP version not supported");
		return rc;
	}
	if (rc != DB_PARSE_OK) {
		db_emit_error(c, 400, "malformed request");
		return rc;
	}

	for (i = 0; i < rq.nhdr; i++) {
		const struct db_hdr *h = &rq.hdr[i];
		uint64_t v;

		if (db_hdr_is(h, "content-length")) {
			if (!db_parse_u64(h->val, h->vlen, UINT64_MAX >> 2, &v) ||
			    (has_cl && v != cl))
				goto bad;
			has_cl = true;
			cl = v;
		} else if (db_hdr_is(h, "transfer-encoding")) {
			has_te = true;
			c->chunked = db_te_chunked(h->val, h->vlen);
		} else if (db_hdr_is(h, "connection")) {
			conn_close |= db_has_token(h->val, h->vlen, "close");
			conn_ka |= db_has_token(h->val, h->vlen, "keep-alive");
		} else if (db_hdr_is(h, "expect")) {
			expect = db_has_token(h->val, h->vlen, "100-continue");
		}
	}
	/* a body length stated two ways, or a coding we cannot frame, is the
	 * stuff request smuggling is made of: refuse and close */
	if (has_te && (has_cl || !c->chunked || rq.minor == 0))
		goto bad;

	c->in_off += hlen;
	c->scan = 0;
	c->http10 = rq.minor == 0;
	c->keepalive = c->http10 ? conn_ka && !conn_close : !conn_close;
	c->head = rq.mlen == 4 && !memcmp(rq.method, "HEAD", 4);
	c->body_left = c->chunked ? 0 : cl;
	c->cst = DB_CH_SIZE;
	if (!db_cfg.quiet)
		snprintf(c->logline, sizeof(c->logline), "%s %.*s %.*s", db_cfg.name, (int)rq.mlen,
			 rq.method, (int)(rq.tlen > 160 ? 160 : rq.tlen), rq.target);
	db_route(c, &rq);
	if (expect && !c->http10 && (c->chunked || cl) && c->in_off == c->in_len)
		db_buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
	c->state = (c->chunked || cl) ? DB_ST_BODY : DB_ST_READY;
	return DB_PARSE_OK;
bad:
	db_emit_error(c, 400, "bad message framing");
	return DB_PARSE_BAD;
}

static bool db_out_pending(const struct db_conn *c)
{
	return c->out_off < c->out.len || c->stream_left;
}

/*
 * db_process() advances the request state machine over buffered input as
 * far as it can without I/O. Returns true if it consumed input or queued
 * output. Pipelined requests wait while DB_OUT_HIGH bytes or a stream are
 * queued, which bounds memory per connection.
 */
static bool db_process(struct db_worker *w, struct db_conn *c)
{
	size_t off0 = c->in_off, out0 = c->out.len;
	enum db_parse rc;

	for (;;) {
		switch (c->state) {
		case DB_ST_HEAD:
			if (c->stream_left || c->out.len - c->out_off >= DB_OUT_HIGH)
				goto out;
			rc = db_head_step(c);
			if (rc == DB_PARSE_AGAIN) {
				if (c->peer_eof) {
					/* nothing more will come: finish what is queued */
					c->state = DB_ST_DONE;
				}
				goto out;
			}
			if (rc != DB_PARSE_OK)
				goto out;
			break;
		case DB_ST_BODY:
			rc = db_body_step(c);
			if (rc == DB_PARSE_AGAIN) {
				if (c->peer_eof)
					db_conn_kill(w, c);
				goto out;
			}
			if (rc != DB_PARSE_OK) {
				db_emit_error(c, 400, "bad chunked body");
				goto out;
			}
			c->state = DB_ST_READY;
			break;
		case DB_ST_READY:
			if (c->slow_ms) {
				c->state = DB_ST_WAIT;
				db_timer_add(w, c, db_now_ms() + c->slow_ms);
				goto out;
			}
			if (!db_emit(c)) {
				db_conn_kill(w, c);
				goto out;
			}
			break;
		case DB_ST_WAIT:
		case DB_ST_DONE:
		case DB_ST_LINGER:
			goto out;
		}
	}
out:
	/* OOM on the data path fails this connection only */
	if (!c->dead && (c->out.oom || c->pend.oom))
		db_conn_kill(w, c);
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	return c->in_off != off0 || c->out.len != out0;
}

/* Writes out and then stream_left bytes of the static buffer. Returns 0 when
 * everything queued is written, -EAGAIN when the socket is full, -errno. */
static int db_flush(struct db_conn *c, bool *progress)
{
	while (db_out_pending(c)) {
		struct iovec iov[1 + DB_STREAM_IOV];
		uint64_t s = c->stream_left;
		size_t pending = c->out.len - c->out_off, done;
		int n = 0;
		ssize_t r;

		if (pending)
			iov[n++] = (struct iovec){c->out.p + c->out_off, pending};
		while (s && n < 1 + DB_STREAM_IOV) {
			size_t k = s < DB_FILL_LEN ? (size_t)s : DB_FILL_LEN;

			iov[n++] = (struct iovec){db_fill, k};
			s -= k;
		}
		r = writev(c->fd, iov, n);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				c->writable = false;
				return -EAGAIN;
			}
			return -errno;
		}
		*progress = true;
		done = (size_t)r;
		if (done < pending) {
			c->out_off += done;
			continue;
		}
		c->out_off = c->out.len = 0;
		c->stream_left -= done - pending;
	}
	return 0;
}

/* LINGER: discard input until EOF, error or the deadline. */
static void db_linger(struct db_worker *w, struct db_conn *c)
{
	while (c->readable) {
		ssize_t r = read(c->fd, c->in, sizeof(c->in));

		if (r > 0)
			continue;
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN) {
			c->readable = false;
			return;
		}
		db_conn_kill(w, c);
		return;
	}
}

/*
 * db_conn_run() moves a connection forward after an event or a timer: parse,
 * write, read, repeat while anything progresses. With edge-triggered epoll
 * it must go on until EAGAIN or until it deliberately stops reading (input
 * buffer full behind queued output); the readable/writable flags remember
 * the edges so that work resumes when the blocker clears.
 */
static void db_conn_run(struct db_worker *w, struct db_conn *c)
{
	bool progress = true;

	while (progress && !c->dead) {
		progress = false;
		if (c->state == DB_ST_LINGER) {
			db_linger(w, c);
			return;
		}
		progress |= db_process(w, c);
		if (c->dead)
			return;
		if (db_out_pending(c) && c->writable) {
			int rc = db_flush(c, &progress);

			if (rc && rc != -EAGAIN) {
				db_conn_kill(w, c);
				return;
			}
		}
		if (!db_out_pending(c) && c->state == DB_ST_DONE) {
			if (c->peer_eof) {
				db_conn_kill(w, c);
				return;
			}
			/* lingering close: a close() with unread input would
			 * reset the connection and could destroy the answer */
			shutdown(c->fd, SHUT_WR);
			c->state = DB_ST_LINGER;
			db_timer_add(w, c, db_now_ms() + DB_LINGER_MS);
			progress = true;
			continue;
		}
		if (c->readable && !c->peer_eof && c->state != DB_ST_DONE) {
			ssize_t r;

			if (c->in_off) {
				memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
				c->in_len -= c->in_off;
				c->in_off = 0;
			}
			if (c->in_len == sizeof(c->in))
				continue; /* full: wait for output to drain */
			r = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
			if (r > 0) {
				/* a short read emptied the receive queue: new
				 * bytes raise a new edge, so no read for EAGAIN
				 * (a FIN already signalled raises none: read on) */
				if ((size_t)r < sizeof(c->in) - c->in_len && !c->rdhup)
					c->readable = false;
				c->in_len += (size_t)r;
				progress = true;
			} else if (r == 0) {
				c->peer_eof = true;
				c->readable = false;
				progress = true;
			} else if (errno == EAGAIN) {
				c->readable = false;
			} else if (errno != EINTR) {
				db_conn_kill(w, c);
				return;
			} else {
				progress = true;
			}
		}
	}
}

static int db_timer_timeout(struct db_worker *w)
{
	int64_t now, min = INT64_MAX;
	struct db_conn *c;

	if (!w->timers)
		return -1;
	now = db_now_ms();
	for (c = w->timers; c; c = c->tnext)
		if (c->deadline < min)
			min = c->deadline;
	if (min <= now)
		return 0;
	return min - now > 60000 ? 60000 : (int)(min - now);
}

static void db_timers_fire(struct db_worker *w)
{
	struct db_conn *c, *next, *due = NULL;
	int64_t now;

	if (!w->timers)
		return;
	now = db_now_ms();
	/* detach the due ones first: handling one may re-arm it */
	for (c = w->timers; c; c = next) {
		next = c->tnext;
		if (c->deadline > now)
			continue;
		db_timer_del(w, c);
		c->tnext = due;
		due = c;
	}
	for (c = due; c; c = next) {
		next = c->tnext;
		c->tnext = NULL;
		if (c->dead)
			continue;
		if (c->state == DB_ST_LINGER) {
			db_conn_kill(w, c);
			continue;
		}
		if (c->state == DB_ST_WAIT) {
			c->slow_ms = 0;
			if (!db_emit(c)) {
				db_conn_kill(w, c);
				continue;
			}
			db_conn_run(w, c);
		}
	}
}

static void db_accept(struct db_worker *w, struct db_lsock *ls)
{
	struct epoll_event ev;
	int i, one = 1;

	/* bounded per event: the listener is level-triggered, so the rest of
	 * the backlog comes back on the next epoll_wait */
	for (i = 0; i < 64; i++) {
		int fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct db_conn *c;

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && w->reserve_fd != -1) {
				/* shed one connection so the backlog does not spin */
				close(w->reserve_fd);
				fd = accept4(ls->fd, NULL, NULL, SOCK_CLOEXEC);
				if (fd != -1)
					close(fd);
				w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			}
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = db_conn_new(w, fd, ls->spec);
		if (!c) {
			close(fd);
			continue;
		}
		ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
		ev.data.ptr = c;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
			db_conn_kill(w, c);
	}
}

static void *db_worker_main(void *arg)
{
	struct db_worker *w = arg;
	struct epoll_event ev[DB_EVENTS];
	struct db_conn *c;
	unsigned i;

	while (!atomic_load_explicit(&db_stop, memory_order_relaxed)) {
		int n = epoll_wait(w->epfd, ev, DB_EVENTS, db_timer_timeout(w));
		int k;

		if (n == -1 && errno != EINTR) {
			perror("demo_backend: epoll_wait");
			break;
		}
		for (k = 0; k < n; k++) {
			enum db_tag *tag = ev[k].data.ptr;

			switch (*tag) {
			case DB_TAG_LISTEN:
				db_accept(w, (struct db_lsock *)tag);
				break;
			case DB_TAG_WAKE:
				/* db_stop is checked by the loop condition */
				break;
			case DB_TAG_CONN:
				c = (struct db_conn *)tag;
				if (c->dead)
					break;
				if (ev[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					c->readable = true;
				if (ev[k].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					c->rdhup = true;
				if (ev[k].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
					c->writable = true;
				db_conn_run(w, c);
				break;
			}
		}
		db_timers_fire(w);
		db_reap(w);
	}

	while (w->all)
		db_conn_kill(w, w->all);
	db_reap(w);
	while (w->free) {
		c = w->free;
		w->free = c->dnext;
		db_buf_free(&c->pend);
		db_buf_free(&c->out);
		free(c);
	}
	for (i = 0; i < db_cfg.nlisten; i++)
		close(w->lsock[i].fd);
	return NULL;
}

/* --- start-up ---------------------------------------------------------- */

static void db_usage(FILE *f)
{
	fprintf(f, "usage: demo_backend [-l ADDR:PORT]... [-n NAME] [-t THREADS] [-q]\n"
		   "  -l ADDR:PORT  listen address, repeatable; IPv6 as [ADDR]:PORT;\n"
		   "                port 0 picks a free port (default 127.0.0.1:0)\n"
		   "  -n NAME       name in X-Backend and the JSON answers (default backend)\n"
		   "  -t THREADS    worker threads, each with SO_REUSEPORT listeners (default 1)\n"
		   "  -q            no access log on stderr\n"
		   "Prints 'listening NAME ADDR:PORT' per listener on stdout once bound.\n"
		   "Paths: / (JSON echo), /headers, /health, /bench, /size/N, /status/N,\n"
		   "/slow/MS. SIGINT or SIGTERM stops it.\n");
}

/* Parses "A.B.C.D:PORT", "[V6]:PORT" or "localhost:PORT" into l. */
static int db_parse_listen(const char *arg, struct db_listen *l)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(arg, ':');
	size_t hl;
	uint64_t port;

	if (!colon || !db_parse_u64(colon + 1, strlen(colon + 1), 65535, &port))
		return -EINVAL;
	hl = (size_t)(colon - arg);
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, arg, hl);
	host[hl] = '\0';
	memset(l, 0, sizeof(*l));
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&l->addr;

		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		l->addrlen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&l->addr;

		if (!strcmp(host, "localhost"))
			strcpy(host, "127.0.0.1");
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		l->addrlen = sizeof(*s4);
	}
	l->port = (unsigned)port;
	return 0;
}

static void db_listen_text(struct db_listen *l)
{
	char ip[INET6_ADDRSTRLEN];

	if (l->addr.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&l->addr;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(l->text, sizeof(l->text), "[%s]:%u", ip, l->port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&l->addr;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(l->text, sizeof(l->text), "%s:%u", ip, l->port);
	}
}

/* Opens a TCP socket bound to l, listening if asked, and resolves an
 * ephemeral port into l. Returns the fd or -errno. */
static int db_socket(struct db_listen *l, bool reuseport, bool listening)
{
	int fd, one = 1, err;

	fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto fail;
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1)
		goto fail;
	if (l->addr.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&l->addr, l->addrlen) == -1)
		goto fail;
	if (listening && listen(fd, 4096) == -1)
		goto fail;
	if (l->port == 0) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
			goto fail;
		if (ss.ss_family == AF_INET6) {
			l->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
			((struct sockaddr_in6 *)&l->addr)->sin6_port = htons((uint16_t)l->port);
		} else {
			l->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
			((struct sockaddr_in *)&l->addr)->sin_port = htons((uint16_t)l->port);
		}
	}
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

/*
 * db_bind() opens one worker's listening socket for l; first is set for the
 * first worker. SO_REUSEPORT lets the workers share the port, but it would
 * also let another process of the same user join the port silently and
 * take a share of the connections, which makes "which backend answered"
 * tests lie. So a single-threaded server never sets it, and a multi-threaded
 * one first binds a probe without it, which fails with EADDRINUSE when the
 * port is taken (and picks the ephemeral port). Returns the fd or -errno.
 */
static int db_bind(struct db_listen *l, bool first)
{
	bool reuseport = db_cfg.nthreads > 1;

	if (first && reuseport) {
		int probe = db_socket(l, false, false);

		if (probe < 0)
			return probe;
		close(probe);
	}
	return db_socket(l, reuseport, true);
}

static int db_worker_init(struct db_worker *w)
{
	struct epoll_event ev;
	unsigned i;

	w->wake_tag = DB_TAG_WAKE;
	w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->epfd == -1 || w->wakefd == -1)
		return -errno;
	ev.events = EPOLLIN;
	ev.data.ptr = &w->wake_tag;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) == -1)
		return -errno;
	for (i = 0; i < db_cfg.nlisten; i++) {
		struct db_lsock *ls = &w->lsock[i];
		int fd = db_bind(&db_cfg.listen[i], w == &db_workers[0]);

		if (fd < 0) {
			db_listen_text(&db_cfg.listen[i]);
			fprintf(stderr, "demo_backend: bind %s: %s\n", db_cfg.listen[i].text,
				strerror(-fd));
			return fd;
		}
		ls->tag = DB_TAG_LISTEN;
		ls->fd = fd;
		ls->spec = &db_cfg.listen[i];
		ev.events = EPOLLIN;
		ev.data.ptr = ls;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
			return -errno;
	}
	return 0;
}

static int db_parse_args(int argc, char **argv)
{
	uint64_t v;
	size_t i;
	int opt;

	db_cfg.name = "backend";
	db_cfg.nthreads = 1;
	while ((opt = getopt(argc, argv, "l:n:t:qh")) != -1) {
		switch (opt) {
		case 'l':
			if (db_cfg.nlisten == DB_MAX_LISTEN) {
				fprintf(stderr, "demo_backend: at most %d -l\n", DB_MAX_LISTEN);
				return -EINVAL;
			}
			if (db_parse_listen(optarg, &db_cfg.listen[db_cfg.nlisten])) {
				fprintf(stderr, "demo_backend: bad -l '%s'\n", optarg);
				return -EINVAL;
			}
			db_cfg.nlisten++;
			break;
		case 'n':
			db_cfg.name = optarg;
			break;
		case 't':
			if (!db_parse_u64(optarg, strlen(optarg), DB_MAX_THREADS, &v) || !v) {
				fprintf(stderr, "demo_backend: -t wants 1..%d\n", DB_MAX_THREADS);
				return -EINVAL;
			}
			db_cfg.nthreads = (unsigned)v;
			break;
		case 'q':
			db_cfg.quiet = true;
			break;
		case 'h':
			db_usage(stdout);
			exit(0);
		default:
			db_usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		db_usage(stderr);
		return -EINVAL;
	}
	/* the name goes into a header value: visible ASCII only */
	for (i = 0; db_cfg.name[i]; i++)
		if (db_cfg.name[i] <= 0x20 || db_cfg.name[i] >= 0x7f)
			break;
	if (i == 0 || i > DB_NAME_MAX || db_cfg.name[i]) {
		fprintf(stderr, "demo_backend: -n wants 1..%d visible ASCII characters\n",
			DB_NAME_MAX);
		return -EINVAL;
	}
	if (!db_cfg.nlisten)
		db_parse_listen("127.0.0.1:0", &db_cfg.listen[db_cfg.nlisten++]);
	return 0;
}

int main(int argc, char **argv)
{
	struct db_buf nj = {0};
	struct rlimit rl;
	sigset_t sigs;
	unsigned i, started = 0;
	int sig, rc = 1;

	db_tchar_init();
	if (db_parse_args(argc, argv))
		return 2;
	db_buf_put_json(&nj, db_cfg.name, strlen(db_cfg.name));
	if (nj.oom || nj.len >= sizeof(db_cfg.name_json))
		return 1;
	memcpy(db_cfg.name_json, nj.p, nj.len);
	db_buf_free(&nj);
	memset(db_fill, 'x', sizeof(db_fill));

	/* benchmarks open many sockets: take the hard limit */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	/* workers inherit the mask; only main takes the stop signals */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	for (i = 0; i < DB_MAX_THREADS; i++) {
		unsigned k;

		db_workers[i].epfd = db_workers[i].wakefd = db_workers[i].reserve_fd = -1;
		for (k = 0; k < DB_MAX_LISTEN; k++)
			db_workers[i].lsock[k].fd = -1;
	}
	for (i = 0; i < db_cfg.nthreads; i++)
		if (db_worker_init(&db_workers[i]))
			goto out;
	for (i = 0; i < db_cfg.nlisten; i++) {
		db_listen_text(&db_cfg.listen[i]);
		printf("listening %s %s\n", db_cfg.name, db_cfg.listen[i].text);
	}
	fflush(stdout);

	for (started = 0; started < db_cfg.nthreads; started++) {
		int err = pthread_create(&db_workers[started].tid, NULL, db_worker_main,
					 &db_workers[started]);

		if (err) {
			fprintf(stderr, "demo_backend: pthread_create: %s\n", strerror(err));
			goto stop;
		}
	}
	do {
		sig = 0;
		if (sigwait(&sigs, &sig))
			break;
	} while (sig != SIGINT && sig != SIGTERM);
	rc = 0;
stop:
	atomic_store(&db_stop, true);
	for (i = 0; i < started; i++) {
		uint64_t one = 1;
		ssize_t r = write(db_workers[i].wakefd, &one, sizeof(one));

		(void)r;
	}
	for (i = 0; i < started; i++)
		pthread_join(db_workers[i].tid, NULL);
out:
	for (i = 0; i < db_cfg.nthreads; i++) {
		struct db_worker *w = &db_workers[i];
		unsigned k;

		if (i >= started)
			for (k = 0; k < db_cfg.nlisten; k++)
				if (w->lsock[k].fd != -1)
					close(w->lsock[k].fd);
		if (w->epfd != -1)
			close(w->epfd);
		if (w->wakefd != -1)
			close(w->wakefd);
		if (w->reserve_fd != -1)
			close(w->reserve_fd);
	}
	return rc;
}
