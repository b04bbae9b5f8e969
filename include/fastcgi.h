/* SPDX-License-Identifier: MIT */
/*
 * FastCGI (fastcgi_pass): the request encoder (BEGIN_REQUEST, the PARAMS
 * stream, the STDIN records around the body) and the response decoder
 * (STDOUT records to the byte stream the proxy's head parser and body relay
 * read, STDERR to the error log, END_REQUEST). The proxy (proxy.c) drives
 * the connection; this module only turns bytes into records and back:
 * fastcgi.c builds the request head from the request and its location (and
 * has the variables), fastcgi_rec.c is the byte-level codec, which links
 * alone (unit tests, tests/fuzz/fuzz_fastcgi.c).
 */
#ifndef LBD_FASTCGI_H
#define LBD_FASTCGI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "cfg-t.h" /* and fastcgi-t.h, after struct str_list */
#include "h1.h"
#include "lbd.h"

struct conn;
struct cfg_loc;

#define FCGI_BEGIN_REQUEST 1
#define FCGI_ABORT_REQUEST 2
#define FCGI_END_REQUEST   3
#define FCGI_PARAMS	   4
#define FCGI_STDIN	   5
#define FCGI_STDOUT	   6
#define FCGI_STDERR	   7
#define FCGI_DATA	   8
#define FCGI_REQUEST_ID	   1	 /* the only request on a connection, as nginx */
#define FCGI_STDIN_REC	   32768 /* body bytes per STDIN record */
#define FCGI_PARAMS_REC	   32768 /* params bytes per PARAMS record */

/* The status line put before the CGI head, so that the HTTP response
 * parser reads it; fcgi_fix_status() then sets the real status. */
#define FCGI_HEAD_LINE	   "HTTP/1.1 200 OK\r\n"
#define FCGI_HEAD_LINE_LEN 17

/* fcgi_param_len - bytes of one name-value pair in the PARAMS stream. */
size_t fcgi_param_len(size_t nl, size_t vl);

/* fcgi_param_put - write one pair at DST (fcgi_param_len() bytes: 1-byte
 * lengths up to 127, else 4 bytes with the top bit set). Returns its length. */
size_t fcgi_param_put(char *dst, const char *n, size_t nl, const char *v, size_t vl);

/* fcgi_record_header - the 8-byte header of a record of TYPE with LEN
 * content bytes (no padding) into DST. */
void fcgi_record_header(uint8_t *dst, int type, size_t len);

/* struct fcgi_kv - one name-value pair to send upstream (views valid for
 * the request): FastCGI's PARAMS, uwsgi's vars, SCGI's headers. */
struct fcgi_kv {
	const char *n, *v; /* name, value */
	size_t nl, vl;	   /* their lengths */
};

/* fcgi_kv_collect - the pairs a CGI-like upstream gets for C, in order:
 * PARAMS (NPARAMS of them, evaluated; if_not_empty ones skipped when
 * empty), then, with *_pass_request_headers on, each client header as
 * HTTP_NAME (uppercased, '-' as '_'), but those a param HTTP_NAME names
 * (looked for only when HTTP_PARAMS). Shared by fastcgi_pass and
 * uwsgi_pass. *OUT in C's pool; 0 or -ENOMEM. */
int fcgi_kv_collect(struct conn *c, const struct fcgi_param *params, int nparams, bool http_params,
		    struct fcgi_kv **out, size_t *nout);

/* fcgi_build_request - the request head for C: BEGIN_REQUEST (KEEP_CONN
 * when KEEP), the PARAMS records (fastcgi_param, then the client's headers
 * as HTTP_*), the empty PARAMS record and, when BODY_LEN is 0, the empty
 * STDIN record. In C's pool. Returns 0 or -ENOMEM. */
int fcgi_build_request(struct conn *c, bool keep, uint64_t body_len, struct lstr *out);

/* fcgi_send_next - the body's STDIN framing at body offset OFF of TOTAL
 * bytes: *HDR is the header bytes to send before any body byte (maybe
 * none), and the return value how many body bytes may follow it (up to
 * the end of the current record). */
size_t fcgi_send_next(struct fcgi_send *s, uint64_t off, uint64_t total, struct iovec *hdr);

/* fcgi_send_sent - K bytes written after the head: consumes (and returns)
 * those that were framing; the rest were body bytes. */
size_t fcgi_send_sent(struct fcgi_send *s, size_t k);

typedef void (*fcgi_stderr_fn)(void *arg, const char *p, size_t len);

/* fcgi_decode - decode N received bytes at BUF in place: the STDOUT
 * content is moved to BUF's start and its length returned; STDERR content
 * goes to ERR (one call per contiguous piece); END_REQUEST sets d->ended
 * (bytes after it are dropped). Resumable at any byte. Returns the stdout
 * length, or an enum fcgi_dec_rc (negative) on a broken stream. */
long fcgi_decode(struct fcgi_dec *d, char *buf, size_t n, fcgi_stderr_fn err, void *arg);

/* fcgi_stderr_trim - the length of P without the trailing CR, LF, '.' and
 * spaces nginx strips before logging a stderr message. */
size_t fcgi_stderr_trim(const char *p, size_t len);

/* fcgi_fix_status - after the CGI head was parsed (behind FCGI_HEAD_LINE):
 * the status from `Status: NNN reason`, else 302 with a Location, else
 * 200. -1 when Status is not a number (nginx: invalid status). */
int fcgi_fix_status(struct h1_response *resp);

/* fcgi_hidden_by_default - response headers nginx's fastcgi module hides
 * unless fastcgi_pass_header names them (Status, X-Accel-*). */
bool fcgi_hidden_by_default(struct h1_str n);

/* fcgi_var_script_name, fcgi_var_path_info - $fastcgi_script_name and
 * $fastcgi_path_info of C (fastcgi_split_path_info against $uri, then
 * fastcgi_index after a trailing '/'). VAR_FOUND (0) or -ENOMEM. */
int fcgi_var_script_name(struct conn *c, struct lstr *out);
int fcgi_var_path_info(struct conn *c, struct lstr *out);

#endif
