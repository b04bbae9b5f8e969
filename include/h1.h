/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x codec: request and response head parsing, the chunked body
 * decoder, and the small field-value helpers the proxy needs to frame a body
 * without ambiguity (Content-Length, Transfer-Encoding, token lists).
 *
 * The head parsers are stateless: they take the bytes received so far and
 * return the size of the complete head, H1_INCOMPLETE, or a named error. The
 * caller re-parses from the start when more bytes arrive; a parse is one pass
 * with no allocation and no copying. Every string they return is a view into
 * the caller's buffer, valid until that buffer moves or is reused.
 *
 * Errors are decided strictly from left to right: a prefix of an input either
 * returns H1_INCOMPLETE or the same error as the whole input, so a caller
 * never waits for more bytes on a head that is already known to be bad.
 *
 * Grammar is RFC 9112, with the leniencies nginx 1.22 has and that cannot be
 * used to smuggle: bare LF line ends in the head, empty lines before a
 * request line, header names with odd (but visible) bytes flagged instead of
 * rejected, a field line with no colon taken as a name with an empty value.
 * The chunked decoder takes nginx's two leniencies and no other: a bare LF
 * may end any of its lines (a CR must still be followed by LF), and trailer
 * lines are skipped unparsed up to their line end. Both are harmless only
 * because the proxy decodes every chunked body and sends it on with a
 * Content-Length of its own, never the client's framing.
 */
#ifndef LBD_H1_H
#define LBD_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

/*
 * enum h1_rc - results of the parsers. Non-negative values are successes
 * (their meaning depends on the function); negative ones are named here. The
 * HTTP status to answer with is in each comment.
 */
enum h1_rc {
	H1_INCOMPLETE = -1,	      /* need more bytes; nothing is wrong yet */
	H1_ERR_BAD = -2,	      /* 400: malformed start line or field */
	H1_ERR_URI_TOO_LONG = -3,     /* 414: request line over max_request_line */
	H1_ERR_HEADER_TOO_LARGE = -4, /* 400 "Request Header Or Cookie Too Large" */
	H1_ERR_TOO_MANY_HEADERS = -5, /* 400 (same page as above in nginx) */
	H1_ERR_VERSION = -6,	      /* 505: HTTP/0.9, HTTP/2.0 or other major */
	H1_ERR_METHOD = -7,	      /* 400: method not 1..32 of [A-Z_-] */
	H1_ERR_CHUNK_SIZE = -8,	      /* 400: chunk size not 1*HEXDIG then ;, SP, HTAB, CR or LF */
	H1_ERR_CHUNK_OVERFLOW = -9,   /* 400: chunk size >= 2^62 */
	H1_ERR_CHUNK_EXT = -10,	      /* 400: chunk extension bad or over 4096 bytes */
	H1_ERR_CHUNK_CRLF = -11,      /* 400: CR not followed by LF, or data not by CR/LF */
	H1_ERR_CHUNK_TRAILER = -12,   /* 400: trailer section over 8192 bytes */
};

/* enum h1_chunk_rc - successes of h1_parse_chunked(). */
enum h1_chunk_rc {
	H1_CHUNK_DATA = 1, /* *data holds body bytes; call again after them */
	H1_CHUNK_DONE = 2, /* last chunk and trailers read; body complete */
};

/* Bounds of the chunked decoder (not configurable in nginx either). */
#define H1_CHUNK_EXT_MAX     4096		 /* bytes of a size line, line end excluded */
#define H1_CHUNK_TRAILER_MAX 8192		 /* bytes of the whole trailer section */
#define H1_CHUNK_SIZE_LIMIT  ((uint64_t)1 << 62) /* chunk sizes must be below */

/* struct h1_str - a view of bytes in the caller's buffer, never owned. */
struct h1_str {
	const char *p; /* first byte; not NUL-terminated; NULL only if len == 0 */
	size_t len;    /* bytes */
};

/*
 * struct h1_header - one field line of a head. The flags let the caller
 * apply nginx's ignore_invalid_headers (on by default: drop a field when
 * invalid or symbol is set, or underscore is set and underscores_in_headers
 * is off) without scanning the name again.
 */
struct h1_header {
	struct h1_str name;	 /* as received, case preserved, never empty */
	struct h1_str value;	 /* SP/HTAB trimmed; may be empty (always: line with no colon) */
	unsigned invalid : 1;	 /* name has a visible byte outside tchar ('@', '/', >= 0x80) */
	unsigned underscore : 1; /* name has '_' (a tchar, but nginx drops it by default) */
	unsigned symbol : 1;	 /* name has a tchar other than [A-Za-z0-9_-] ('.', '!'...) */
};

/*
 * struct h1_limits - size limits of a request head. A request that passes
 * a limit is refused as soon as that many bytes are seen, so a client can't
 * make us buffer more than the limit. 0 means no limit of that kind.
 */
struct h1_limits {
	size_t max_request_line; /* bytes, line end and empty lines before it included (nginx 8192) */
	size_t max_header_line; /* bytes of one field line, line end included (nginx 8192) */
	size_t max_headers;	/* field lines; the array capacity always applies too */
	size_t max_total;	/* bytes of the whole head, final empty line included */
};

/* What h1_parse_request() uses when given NULL limits: nginx's defaults. */
#define H1_LIMITS_DEFAULT                                                              \
	{                                                                              \
		.max_request_line = 8192, .max_header_line = 8192, .max_headers = 100, \
		.max_total = 4 * 8192,                                                 \
	}

/* struct h1_request - a parsed request head. */
struct h1_request {
	struct h1_str method; /* 1..32 of [A-Z_-] */
	struct h1_str target; /* request-target as received, no CTL/SP/DEL */
	int version;	      /* 10 or 11; on H1_ERR_VERSION 9 (HTTP/0.9, major 0) or major*10 */
	struct h1_header *headers; /* set by the caller: array filled by the parser */
	size_t nheaders;	   /* headers filled (see h1_parse_request()) */
};

/* struct h1_response - a parsed response head (from an upstream). */
struct h1_response {
	int version;		   /* 10 or 11; on H1_ERR_VERSION 9 (major 0) or major*10 */
	int status;		   /* 100..999 */
	struct h1_str reason;	   /* reason phrase as received, may be empty */
	struct h1_header *headers; /* set by the caller: array filled by the parser */
	size_t nheaders;	   /* headers filled; valid only on success */
	bool err_in_fields;	   /* on H1_ERR_*: the status line was good, a field line not */
	size_t err_off;		   /* ... and the offset of its bad byte */
};

/*
 * struct h1_chunked - state of one chunked body being decoded. Zero it (or
 * call h1_chunked_init()) before the first byte of the body. Opaque: only
 * the decoder reads the fields; h1_chunked_pending() is what remaining means
 * to a caller.
 */
struct h1_chunked {
	uint64_t remaining;   /* data bytes left in the current chunk, or the size being read */
	uint32_t line_len;    /* bytes seen of the current size line (extensions bound) */
	uint32_t trailer_len; /* bytes seen of the trailer section */
	uint8_t state;	      /* enum h1_chunk_state (h1.c) */
	int8_t err;	      /* sticky error code once state is the error state */
	uint8_t odd;	      /* sticky: a bare LF ended a size line or a chunk's data,
			       * or a size line had extensions (or BWS): the framing is
			       * not what nginx writes (h1_chunked_canon()) */
};

/*
 * h1_parse_request - parse a request head from buf[0..len). req->headers must
 * point to an array of max_headers entries. lim may be NULL for the nginx
 * defaults. Returns the bytes of the head (empty lines before it and the
 * final empty line included, > 0), H1_INCOMPLETE, or a negative enum h1_rc.
 * On success every field of *req is set and points into buf; on
 * H1_INCOMPLETE and H1_ERR_TOO_MANY_HEADERS nheaders counts the field
 * lines complete so far (a complete request line has its fields set).
 */
int h1_parse_request(const char *buf, size_t len, const struct h1_limits *lim,
		     struct h1_request *req, size_t max_headers);

/*
 * struct h1_bufs - the buffers nginx reads a request head into: one of
 * client_header_buffer_size, then up to large_client_header_buffers' NUM
 * of its SIZE. A line never spans two buffers: when a buffer fills in the
 * middle of a line, the line so far moves to the next buffer, so how much
 * a head may hold depends on where its lines fall, not only on its size.
 */
struct h1_bufs {
	size_t first;  /* client_header_buffer_size (nginx 1024) */
	size_t large;  /* large_client_header_buffers SIZE (8192) */
	size_t num;    /* large_client_header_buffers NUM (4) */
	size_t sw;     /* 0, or the offset past the line that names another
			* server (Host): a buffer that fills from there on is
			* counted with that server's large and num below */
	size_t large2; /* that server's SIZE */
	size_t num2;   /* that server's NUM (the busy count goes on) */
	/* a pipelined request starting in the buffer the one before it ended
	 * in (first: the room left in it): */
	size_t busy0;	  /* large buffers busy at the start (that one: 0 or 1) */
	size_t nfree;	  /* the connection's free large buffers, taken first */
	size_t free_size; /* their size */
};

/*
 * h1_head_fit - whether the head in buf[0..len) (complete or not) still
 * fits nginx's buffers *bf, as nginx fills them byte by byte. Returns 0
 * while it fits (the head ends within them, or no buffer has filled past
 * what is allowed yet), else the point nginx gives up at: *at is the
 * offset where its last buffer filled and *line where the line it could
 * not move starts, with H1_ERR_URI_TOO_LONG (the request line: 414) or
 * H1_ERR_HEADER_TOO_LARGE (a field line, or the buffers filled exactly
 * at a line end: then *line is the last line begun, SIZE_MAX if none).
 * Syntax is not checked: parse buf[0..*at) to find an earlier error. With
 * bf->sw set, nginx's switch to the Host server's buffers is followed.
 */
int h1_head_fit(const char *buf, size_t len, const struct h1_bufs *bf, size_t *at, size_t *line);

/*
 * h1_head_end - where the whole head in buf[0..len) ended in nginx's
 * buffers *bf: *end is the offset where the buffer holding its last byte
 * ends (bf->first when that is the first one), *busy the large buffers
 * taken by then. For a pipelined request after it (h1_bufs.busy0...).
 */
void h1_head_end(const char *buf, size_t len, const struct h1_bufs *bf, size_t *end, size_t *busy);

/*
 * h1_parse_response - parse a response head from buf[0..len), like
 * h1_parse_request(). No line limits: the caller's buffer size
 * (proxy_buffer_size) bounds the head, as in nginx. Empty lines before the
 * status line are an error.
 */
int h1_parse_response(const char *buf, size_t len, struct h1_response *resp, size_t max_headers);

/* h1_chunked_init - ready *st for the first byte of a chunked body. */
void h1_chunked_init(struct h1_chunked *st);

/*
 * h1_parse_chunked - decode chunked framing from buf[0..len), resumable at
 * any byte. Framing bytes are consumed into *st. Returns:
 *   H1_CHUNK_DATA: *data is a non-empty span of body bytes inside buf, and
 *     *consumed counts the bytes up to its end; call again with the rest.
 *   H1_CHUNK_DONE: the last chunk and the trailer section (skipped) ended
 *     *consumed bytes in; bytes after that belong to the next message.
 *     Calling again returns H1_CHUNK_DONE with *consumed = 0.
 *   H1_INCOMPLETE: all len bytes were consumed; give the next bytes.
 *   H1_ERR_CHUNK_*: the body is malformed; *consumed is the offset of the
 *     bad byte. The error is sticky: later calls return it again.
 * Lines end with CRLF or a bare LF; a CR not followed by LF is an error. The
 * size is 1*HEXDIG below 2^62 with no sign or "0x"; a ";", SP or HTAB after
 * it starts the extensions (nginx), which hold visible bytes, SP and HTAB only. Trailer lines are skipped unparsed
 * (any byte but a bare CR), up to H1_CHUNK_TRAILER_MAX bytes for the whole
 * section, empty line included; an empty line ends the body.
 */
int h1_parse_chunked(struct h1_chunked *st, const char *buf, size_t len, size_t *consumed,
		     struct h1_str *data);

/*
 * h1_chunked_canon - decode buf[0..len) as h1_parse_chunked() does and
 * write the same chunks (same sizes and data) to out in the framing nginx
 * writes: CRLF line ends, no extensions, no trailer fields (the empty line
 * alone ends the body). out must have room for 2 * len bytes; *olen is
 * what was written. A CR is written when read and its LF after it, so a
 * body framed as it came up to a state the decoder is in may go on from
 * there in this form. Returns H1_CHUNK_DONE (*consumed: the bytes up to
 * the body's end), H1_INCOMPLETE (all consumed) or the decoder's error.
 */
int h1_chunked_canon(struct h1_chunked *st, const char *buf, size_t len, size_t *consumed,
		     char *out, size_t *olen);

/* h1_chunked_done - whether the decoder has read the whole body. */
bool h1_chunked_done(const struct h1_chunked *st);

/* h1_chunked_trailer - whether the decoder is past the last chunk's size
 * line: in the trailer section (its empty line included) or done. */
bool h1_chunked_trailer(const struct h1_chunked *st);

/* h1_chunked_fresh - whether the decoder has not been given a byte yet. */
bool h1_chunked_fresh(const struct h1_chunked *st);

/*
 * h1_chunked_pending - data bytes of the current chunk not returned yet, once
 * its size line is complete; 0 in every other state, in particular while the
 * size digits are still being read (a half-read size is no size yet: it may
 * still grow, or overflow into H1_ERR_CHUNK_OVERFLOW). A body-size limit can
 * be enforced with it as soon as a chunk is declared, before its data comes.
 */
uint64_t h1_chunked_pending(const struct h1_chunked *st);

/*
 * h1_parse_content_length - parse a Content-Length value (already stripped
 * of OWS by the head parser): 1*DIGIT, at most 2^63-1. Returns 0 and sets
 * *out, or H1_ERR_BAD (sign, space, comma list, empty, overflow).
 */
int h1_parse_content_length(struct h1_str v, uint64_t *out);

/* h1_str_ieq - whether s equals the NUL-terminated lit, ASCII case ignored. */
bool h1_str_ieq(struct h1_str s, const char *lit);

/* H1_IS - h1_str_ieq for a string literal: the length is compared first, at
 * compile-time cost, which makes scans of header names against lists cheap. */
#define H1_IS(s, lit) \
	((s).len == sizeof(lit) - 1 && strncasecmp((s).p, (lit), sizeof(lit) - 1) == 0)

/*
 * h1_list_has_token - whether the comma-separated list v (Connection,
 * Upgrade...) has an element equal to tok, ASCII case ignored. Elements are
 * trimmed of OWS; empty elements are skipped.
 */
bool h1_list_has_token(struct h1_str v, const char *tok);

/*
 * h1_te_is_chunked - whether the Transfer-Encoding value v ends with the
 * chunked coding, applied once (RFC 9112 6.1: then the body is chunked;
 * otherwise a request must be refused with 400). nginx is stricter and
 * answers 501 unless the value is exactly "chunked": test that with
 * h1_str_ieq(v, "chunked").
 */
bool h1_te_is_chunked(struct h1_str v);

/*
 * h1_find_header - the first header named name (case ignored) that is not
 * flagged invalid, or NULL.
 */
const struct h1_header *h1_find_header(const struct h1_header *h, size_t n, const char *name);

/* h1_http_time - an HTTP date (IMF-fixdate, RFC 850 or asctime, as
 * nginx's ngx_parse_http_time: the weekday is skipped) to seconds since
 * the epoch; -1 if invalid. Used for If-Modified-Since and the like,
 * Expires (cache validity, gzip_proxied expired). */
int64_t h1_http_time(const char *p, size_t n);

/*
 * Checks for a head that did not come as HTTP/1 text (an HTTP/2 request
 * mapped onto struct h1_request), the same the head parser applies:
 * h1_method_span - how many bytes at p[0..n) are method bytes ([A-Z_-]).
 * h1_name_flags - set h's invalid/underscore/symbol flags from its name;
 *   false when the name could not be a field name at all (empty, or ':',
 *   SP, CTL or DEL in it).
 * h1_value_span - how many bytes at p[0..n) a field value may hold before
 *   one it may not (CTL other than HTAB, DEL); n when all may.
 */
size_t h1_method_span(const char *p, size_t n);
bool h1_name_flags(struct h1_header *h);
size_t h1_value_span(const char *p, size_t n);

/* h1_strerror - a short English description of an enum h1_rc value. */
const char *h1_strerror(int rc);

#endif /* LBD_H1_H */
