/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x codec: the request and response head parsers, the chunked body
 * decoder and the field-value helpers declared in h1.h.
 *
 * The head parsers walk the buffer once, left to right, with byte classes
 * from one 256-entry table and, where SSE2 exists, 16 bytes at a time over
 * targets and field values (the long parts of a real head). Each line is
 * scanned only up to its limit, so an over-long line is refused when the
 * limit is reached, not when its end finally arrives, and every decision
 * depends only on the bytes before it: a prefix of any input parses to
 * H1_INCOMPLETE or to the error of the whole input.
 *
 * The chunked decoder is a byte-at-a-time state machine, resumable at any
 * byte, that hands out chunk data as views of the input. It takes nginx's
 * leniencies (bare LF line ends, trailer lines skipped unparsed) and no
 * others: it is only safe because the proxy re-frames every decoded body.
 *
 * Positions are kept as offsets, never as pointers past the buffer, and no
 * load ever reaches past buf[len - 1].
 */
#include "h1.h"

#include <limits.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Byte classes; a byte may be in several. */
enum {
	H1_C_TCHAR = 1 << 0,   /* RFC 9110 tchar: may appear in a field name */
	H1_C_UNDERSC = 1 << 1, /* '_': tchar that nginx drops by default */
	H1_C_SYMBOL = 1 << 2,  /* tchar punctuation other than '-' and '_' */
	H1_C_ODD = 1 << 3,     /* visible byte outside tchar: name flagged invalid */
	H1_C_NSTOP = 1 << 4,   /* ends a field name: ':', SP, CTL, DEL */
	H1_C_VSTOP = 1 << 5,   /* ends a field value or reason: CTL except HTAB, DEL */
	H1_C_TSTOP = 1 << 6,   /* ends a request-target: CTL, SP, DEL */
	H1_C_METHOD = 1 << 7,  /* what nginx allows in a method: [A-Z_-] */
};

#define H1_SYM	 (H1_C_TCHAR | H1_C_SYMBOL)
#define H1_ALNUM H1_C_TCHAR
#define H1_UPPER (H1_C_TCHAR | H1_C_METHOD)
#define H1_ODD	 H1_C_ODD

/* h1_cls - class bits of every byte (GNU range designators). */
static const uint8_t h1_cls[256] = {
	[0x00 ... 0x08] = H1_C_NSTOP | H1_C_VSTOP | H1_C_TSTOP,
	['\t'] = H1_C_NSTOP | H1_C_TSTOP,
	[0x0a ... 0x1f] = H1_C_NSTOP | H1_C_VSTOP | H1_C_TSTOP,
	[' '] = H1_C_NSTOP | H1_C_TSTOP,
	['!'] = H1_SYM,
	['"'] = H1_ODD,
	['#'] = H1_SYM,
	['$'] = H1_SYM,
	['%'] = H1_SYM,
	['&'] = H1_SYM,
	['\''] = H1_SYM,
	['('] = H1_ODD,
	[')'] = H1_ODD,
	['*'] = H1_SYM,
	['+'] = H1_SYM,
	[','] = H1_ODD,
	['-'] = H1_C_TCHAR | H1_C_METHOD,
	['.'] = H1_SYM,
	['/'] = H1_ODD,
	['0' ... '9'] = H1_ALNUM,
	[':'] = H1_C_NSTOP,
	[';'] = H1_ODD,
	['<'] = H1_ODD,
	['='] = H1_ODD,
	['>'] = H1_ODD,
	['?'] = H1_ODD,
	['@'] = H1_ODD,
	['A' ... 'Z'] = H1_UPPER,
	['['] = H1_ODD,
	['\\'] = H1_ODD,
	[']'] = H1_ODD,
	['^'] = H1_SYM,
	['_'] = H1_C_TCHAR | H1_C_UNDERSC | H1_C_METHOD,
	['`'] = H1_SYM,
	['a' ... 'z'] = H1_ALNUM,
	['{'] = H1_ODD,
	['|'] = H1_SYM,
	['}'] = H1_ODD,
	['~'] = H1_SYM,
	[0x7f] = H1_C_NSTOP | H1_C_VSTOP | H1_C_TSTOP,
	[0x80 ... 0xff] = H1_ODD,
};

#define H1_METHOD_MAX 32 /* longest method accepted (nginx has no fixed bound) */

/*
 * struct h1_cur - the buffer a head parser walks. len is cut at the total
 * head limit; capped says it was, so that running into len is an error
 * rather than a wait for more bytes.
 */
struct h1_cur {
	const unsigned char *s; /* the input */
	size_t len;		/* bytes that may be looked at */
	bool capped;		/* len is the total limit, not the end of the input */
};

/* h1_bound - where the scan of the line starting at ls must stop. */
static inline size_t h1_bound(const struct h1_cur *c, size_t ls, size_t max_line)
{
	return max_line < c->len - ls ? ls + max_line : c->len;
}

/*
 * h1_ran_out - what reaching bound without a line end means for the line
 * starting at ls: its limit is passed (line_err), the head's limit is
 * passed, or more bytes are needed.
 */
static int h1_ran_out(const struct h1_cur *c, size_t ls, size_t bound, size_t max_line,
		      int line_err)
{
	if (bound - ls >= max_line)
		return line_err;
	return c->capped ? H1_ERR_HEADER_TOO_LARGE : H1_INCOMPLETE;
}

/* h1_scan_target - offset of the first byte in s[i..bound) that ends a target. */
static inline size_t h1_scan_target(const unsigned char *s, size_t i, size_t bound)
{
#ifdef __SSE2__
	const __m128i sp = _mm_set1_epi8(' ');
	const __m128i del = _mm_set1_epi8(0x7f);

	while (bound - i >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(s + i));
		/* unsigned x <= 0x20 is min(x, 0x20) == x */
		__m128i stop = _mm_cmpeq_epi8(_mm_min_epu8(x, sp), x);
		int m;

		stop = _mm_or_si128(stop, _mm_cmpeq_epi8(x, del));
		m = _mm_movemask_epi8(stop);
		if (m)
			return i + (size_t)__builtin_ctz((unsigned)m);
		i += 16;
	}
#endif
	while (i < bound && !(h1_cls[s[i]] & H1_C_TSTOP))
		i++;
	return i;
}

/* h1_scan_value - offset of the first byte in s[i..bound) that ends a value. */
static inline size_t h1_scan_value(const unsigned char *s, size_t i, size_t bound)
{
#ifdef __SSE2__
	const __m128i us = _mm_set1_epi8(0x1f);
	const __m128i tab = _mm_set1_epi8('\t');
	const __m128i del = _mm_set1_epi8(0x7f);

	while (bound - i >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(s + i));
		__m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, us), x);
		int m;

		/* HTAB is a CTL that values may hold */
		ctl = _mm_andnot_si128(_mm_cmpeq_epi8(x, tab), ctl);
		ctl = _mm_or_si128(ctl, _mm_cmpeq_epi8(x, del));
		m = _mm_movemask_epi8(ctl);
		if (m)
			return i + (size_t)__builtin_ctz((unsigned)m);
		i += 16;
	}
#endif
	while (i < bound && !(h1_cls[s[i]] & H1_C_VSTOP))
		i++;
	return i;
}

/*
 * h1_line_end - at s[*pi], expect CRLF or LF. Returns 0 and moves *pi past
 * it, H1_ERR_BAD, or 1 when the bytes end first (the caller decides whether
 * that is a wait or a limit).
 */
static inline int h1_line_end(const unsigned char *s, size_t *pi, size_t bound)
{
	size_t i = *pi;

	if (s[i] == '\n') {
		*pi = i + 1;
		return 0;
	}
	if (s[i] != '\r')
		return H1_ERR_BAD;
	if (i + 1 >= bound)
		return 1;
	if (s[i + 1] != '\n')
		return H1_ERR_BAD;
	*pi = i + 2;
	return 0;
}

/*
 * h1_version - parse "HTTP/" DIGIT "." DIGIT at s[*pi]. HTTP/1.0 gives 10,
 * any other 1.x gives 11. Returns 0, 1 when the bytes end first, H1_ERR_BAD,
 * or H1_ERR_VERSION (with *version 9 for major 0, else major * 10) as soon as
 * the major digit is read.
 */
static int h1_version(const unsigned char *s, size_t *pi, size_t bound, int *version)
{
	static const char prefix[] = "HTTP/1.";
	size_t i = *pi;
	size_t k;

	for (k = 0; k < sizeof(prefix) - 1; k++, i++) {
		if (i >= bound)
			return 1;
		if (s[i] == (unsigned char)prefix[k])
			continue;
		if (k == 5 && s[i] >= '0' && s[i] <= '9') {
			*version = s[i] == '0' ? 9 : (s[i] - '0') * 10;
			return H1_ERR_VERSION;
		}
		return H1_ERR_BAD;
	}
	if (i >= bound)
		return 1;
	if (s[i] < '0' || s[i] > '9')
		return H1_ERR_BAD;
	*version = s[i] == '0' ? 10 : 11;
	*pi = i + 1;
	return 0;
}

/*
 * h1_req_version - a request line's version, as nginx reads it: "HTTP/",
 * a major of one or two digits that does not start with 0 (over 1:
 * H1_ERR_VERSION, 505), ".", a minor of one to three digits (HTTP/1.01 is
 * 1.1, HTTP/1.10 is 1.10). *version 10 for 1.0, 11 for any later 1.x;
 * returns as h1_version.
 */
static int h1_req_version(const unsigned char *s, size_t *pi, size_t bound, int *version)
{
	static const char prefix[] = "HTTP/";
	size_t i = *pi, k;
	int major = 0, minor = 0, nd;

	for (k = 0; k < sizeof(prefix) - 1; k++, i++) {
		if (i >= bound)
			return 1;
		if (s[i] != (unsigned char)prefix[k])
			return H1_ERR_BAD;
	}
	for (nd = 0;; nd++, i++) {
		if (i >= bound)
			return 1;
		if (s[i] == '.' && nd > 0)
			break;
		if (s[i] < '0' || s[i] > '9' || (nd == 0 && s[i] == '0'))
			return H1_ERR_BAD;
		major = major * 10 + (s[i] - '0');
		if (major > 1) {
			*version = major > 9 ? 90 : major * 10;
			return H1_ERR_VERSION;
		}
	}
	for (i++, nd = 0;; nd++, i++) {
		if (i >= bound)
			return 1;
		if (s[i] < '0' || s[i] > '9') {
			if (nd == 0)
				return H1_ERR_BAD;
			break;
		}
		minor = minor * 10 + (s[i] - '0');
		if (minor > 999)
			return H1_ERR_BAD;
	}
	*version = minor == 0 ? 10 : 11;
	*pi = i;
	return 0;
}

/*
 * h1_fields - parse field lines from s[*pi] through the empty line that ends
 * the head. Fills h[0..n) with at most cap entries. Returns 0 with *pi past
 * the empty line and *nh set, or a negative enum h1_rc.
 */
static int h1_fields(const struct h1_cur *c, size_t *pi, size_t max_line, size_t cap,
		     struct h1_header *h, size_t *nh)
{
	const unsigned char *s = c->s;
	size_t i = *pi;
	size_t n = 0;

	for (;;) {
		size_t ls = i, bound = h1_bound(c, ls, max_line);
		size_t ve, vs;
		unsigned acc = 0;
		int rc;

		if (i >= bound)
			goto out;
		if (s[i] == '\r' || s[i] == '\n') {
			rc = h1_line_end(s, &i, bound);
			if (rc > 0)
				goto out;
			if (rc < 0)
				goto bad;
			break;
		}
		if (n == cap) {
			*nh = n;
			return H1_ERR_TOO_MANY_HEADERS;
		}

		while (i < bound && !(h1_cls[s[i]] & H1_C_NSTOP))
			acc |= h1_cls[s[i++]];
		if (i >= bound)
			goto out;
		/*
		 * Also refuses obs-fold and whitespace before the first field
		 * (line starting with SP/HTAB), an empty name, and SP/CTL in
		 * a name (RFC 9112 5.1, nginx >= 1.21.1). A name running into
		 * the line end is nginx's field with no colon: it keeps it
		 * with an empty value (and forwards "Name: "). The name bytes
		 * passed the same scan as any name, so nothing can hide in it.
		 */
		if (i == ls || (s[i] != ':' && s[i] != '\r' && s[i] != '\n')) {
			rc = H1_ERR_BAD;
			goto bad;
		}
		h[n].name.p = (const char *)s + ls;
		h[n].name.len = i - ls;
		h[n].invalid = !!(acc & H1_C_ODD);
		h[n].underscore = !!(acc & H1_C_UNDERSC);
		h[n].symbol = !!(acc & H1_C_SYMBOL);
		if (s[i] == ':') {
			i++;
			while (i < bound && (s[i] == ' ' || s[i] == '\t'))
				i++;
		}
		vs = i;
		i = h1_scan_value(s, i, bound);
		if (i >= bound)
			goto out;
		ve = i;
		rc = h1_line_end(s, &i, bound);
		if (rc > 0)
			goto out;
		if (rc < 0)
			goto bad;
		while (ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
			ve--;
		h[n].value.p = (const char *)s + vs;
		h[n].value.len = ve - vs;
		n++;
		continue;
out:
		*nh = n; /* the complete lines so far, for a caller's log line */
		return h1_ran_out(c, ls, bound, max_line, H1_ERR_HEADER_TOO_LARGE);
bad:
		*pi = i; /* where the line went wrong (h1_response.err_off) */
		return rc;
	}
	*pi = i;
	*nh = n;
	return 0;
}

/* h1_cur_init - the view of buf[0..len) cut at the total limit. */
static void h1_cur_init(struct h1_cur *c, const char *buf, size_t len, size_t max_total)
{
	/* the head size is returned as an int */
	if (max_total == 0 || max_total > INT_MAX)
		max_total = INT_MAX;
	c->s = (const unsigned char *)buf;
	c->capped = len >= max_total;
	c->len = c->capped ? max_total : len;
}

int h1_parse_request(const char *buf, size_t len, const struct h1_limits *lim,
		     struct h1_request *req, size_t max_headers)
{
	static const struct h1_limits defaults = H1_LIMITS_DEFAULT;
	struct h1_cur c;
	const unsigned char *s;
	size_t i = 0, bound, m0, t0, max_rl, max_hl, cap;
	int rc;

	if (!lim)
		lim = &defaults;
	h1_cur_init(&c, buf, len, lim->max_total);
	s = c.s;
	max_rl = lim->max_request_line ? lim->max_request_line : SIZE_MAX;
	max_hl = lim->max_header_line ? lim->max_header_line : SIZE_MAX;
	cap = lim->max_headers && lim->max_headers < max_headers ? lim->max_headers : max_headers;
	bound = h1_bound(&c, 0, max_rl);
	req->nheaders = 0;

	/* RFC 9112 2.2: empty lines before a request line are ignored; as
	 * nginx, any CR or LF there, a lone CR too (http_head.c's head_blank and
	 * head_fit below count them the same way) */
	while (i < bound && (s[i] == '\r' || s[i] == '\n'))
		i++;

	m0 = i;
	while (i < bound && i - m0 <= H1_METHOD_MAX && (h1_cls[s[i]] & H1_C_METHOD))
		i++;
	if (i - m0 > H1_METHOD_MAX)
		return H1_ERR_METHOD;
	if (i >= bound)
		goto out;
	if (i == m0)
		return H1_ERR_METHOD;
	if (s[i] != ' ')
		/* "GET\r\n" has a method but no target */
		return s[i] == '\r' || s[i] == '\n' ? H1_ERR_BAD : H1_ERR_METHOD;
	req->method.p = buf + m0;
	req->method.len = i - m0;

	/* more than one SP between the parts is taken, as nginx takes it */
	while (i < bound && s[i] == ' ')
		i++;
	t0 = i;
	i = h1_scan_target(s, i, bound);
	if (i >= bound)
		goto out;
	if (i == t0)
		return H1_ERR_BAD;
	req->target.p = buf + t0;
	req->target.len = i - t0;
	if (s[i] != ' ') {
		/* "GET /\r\n" is an HTTP/0.9 request, which we do not serve */
		rc = h1_line_end(s, &i, bound);
		if (rc > 0)
			goto out;
		if (rc < 0)
			return rc;
		req->version = 9;
		return H1_ERR_VERSION;
	}
	while (i < bound && s[i] == ' ')
		i++;

	rc = h1_req_version(s, &i, bound, &req->version);
	if (rc > 0)
		goto out;
	if (rc < 0)
		return rc;
	while (i < bound && s[i] == ' ')
		i++;
	if (i >= bound)
		goto out;
	rc = h1_line_end(s, &i, bound);
	if (rc > 0)
		goto out;
	if (rc < 0)
		return rc;

	rc = h1_fields(&c, &i, max_hl, cap, req->headers, &req->nheaders);
	if (rc < 0)
		return rc;
	return (int)i;
out:
	return h1_ran_out(&c, 0, bound, max_rl, H1_ERR_URI_TOO_LONG);
}

/* head_take - a line moves on to another of nginx's large header buffers:
 * a free one (bf->free_size bytes; *NFREE of them left) first, else a new
 * one of LARGE bytes. Counts it in *NBUSY; returns its size. */
static inline size_t head_take(const struct h1_bufs *bf, size_t large, size_t *nfree, size_t *nbusy)
{
	size_t cap = *nfree ? bf->free_size : large;

	*nfree -= *nfree ? 1 : 0;
	(*nbusy)++;
	return cap;
}

/* head_fit - h1_head_fit(), and where a whole head ended: *end the
 * offset where the buffer it ended in ends, *busy the large buffers then
 * taken (end and busy may be NULL). */
static int head_fit(const char *buf, size_t len, const struct h1_bufs *bf, size_t *at, size_t *line,
		    size_t *end, size_t *busy)
{
	const char *s = buf, *lf;
	size_t b0 = 0, cap = bf->first ? bf->first : 1, nbusy = bf->busy0, m = 0, ls,
	       prev = SIZE_MAX, nfree = bf->nfree;

	/* the request line starts after the empty lines before it */
	while (m < len && (s[m] == '\r' || s[m] == '\n'))
		m++;
	lf = m < len ? memchr(s + m, '\n', len - m) : NULL;
	for (;;) {
		size_t e = b0 + cap;

		if (lf && (size_t)(lf - s) < e)
			break; /* the request line ends in this buffer */
		if (e > len)
			return 0;
		if (m >= e) {
			b0 = e; /* nothing but line ends: the buffer is used again */
			continue;
		}
		if (e - m >= bf->large || (!nfree && nbusy >= bf->num)) {
			*at = e;
			*line = m;
			return H1_ERR_URI_TOO_LONG;
		}
		/* the line so far moves to a large buffer: a free one first */
		cap = head_take(bf, bf->large, &nfree, &nbusy);
		b0 = m;
	}
	ls = (size_t)(lf - s) + 1;
	for (;;) {
		size_t e = b0 + cap, f, large = bf->large, num = bf->num;

		lf = ls < len ? memchr(s + ls, '\n', len - ls) : NULL;
		f = lf ? (size_t)(lf - s) : SIZE_MAX;
		if (f < e) {
			if (f == ls || (f == ls + 1 && s[ls] == '\r')) {
				/* the empty line: the head is whole */
				if (end)
					*end = e;
				if (busy)
					*busy = nbusy;
				return 0;
			}
			prev = ls;
			ls = f + 1;
			continue;
		}
		if (e > len)
			return 0;
		if (bf->sw && bf->sw <= e) {
			/* the line naming the server was parsed before this
			 * buffer filled: nginx asks that server's limits */
			large = bf->large2;
			num = bf->num2;
		}
		/* the buffer is full in the middle of line ls (or right
		 * before it: nothing to move then) */
		if ((!nfree && nbusy >= num) || (ls < e && e - ls >= large)) {
			*at = e;
			*line = ls < e ? ls : prev;
			return H1_ERR_HEADER_TOO_LARGE;
		}
		cap = head_take(bf, large, &nfree, &nbusy);
		b0 = ls;
	}
}

int h1_head_fit(const char *buf, size_t len, const struct h1_bufs *bf, size_t *at, size_t *line)
{
	if (len < (bf->first ? bf->first : 1))
		return 0; /* the first buffer is not full yet: nothing ran out */
	return head_fit(buf, len, bf, at, line, NULL, NULL);
}

void h1_head_end(const char *buf, size_t len, const struct h1_bufs *bf, size_t *end, size_t *busy)
{
	size_t at, line;

	*end = bf->first;
	*busy = bf->busy0;
	if (len >= bf->first)
		head_fit(buf, len, bf, &at, &line, end, busy);
}

int h1_parse_response(const char *buf, size_t len, struct h1_response *resp, size_t max_headers)
{
	struct h1_cur c;
	const unsigned char *s;
	size_t i = 0, r0, k;
	int rc;

	h1_cur_init(&c, buf, len, 0);
	s = c.s;
	resp->nheaders = 0;
	resp->status = 0;

	resp->err_off = 0;
	resp->err_in_fields = false;
	rc = h1_version(s, &i, c.len, &resp->version);
	if (rc > 0)
		goto out;
	if (rc < 0)
		return rc;
	if (i >= c.len)
		goto out;
	if (s[i++] != ' ')
		return H1_ERR_BAD;
	for (k = 0; k < 3; k++, i++) {
		if (i >= c.len)
			goto out;
		/* 3DIGIT, and 000..099 mean nothing */
		if (s[i] < (k ? '0' : '1') || s[i] > '9')
			return H1_ERR_BAD;
		resp->status = resp->status * 10 + (s[i] - '0');
	}
	if (i >= c.len)
		goto out;
	/* "HTTP/1.1 200\r\n" without the SP is common and harmless */
	if (s[i] == ' ')
		i++;
	else if (s[i] != '\r' && s[i] != '\n')
		return H1_ERR_BAD;
	r0 = i;
	i = h1_scan_value(s, i, c.len);
	if (i >= c.len)
		goto out;
	resp->reason.p = buf + r0;
	resp->reason.len = i - r0;
	rc = h1_line_end(s, &i, c.len);
	if (rc > 0)
		goto out;
	if (rc < 0)
		return rc;

	rc = h1_fields(&c, &i, SIZE_MAX, max_headers, resp->headers, &resp->nheaders);
	if (rc < 0) {
		resp->err_in_fields = true;
		resp->err_off = i;
		return rc;
	}
	return (int)i;
out:
	return h1_ran_out(&c, 0, c.len, SIZE_MAX, H1_ERR_HEADER_TOO_LARGE);
}

/*
 * enum h1_chunk_state - where h1_parse_chunked() is in the body. Legal
 * moves: SIZE_FIRST -> SIZE -> (EXT) -> (SIZE_LF) -> DATA -> DATA_END ->
 * (DATA_LF) -> SIZE_FIRST; after a 0 size the size line leads to
 * TRAILER_START -> (TRAILER_LINE -> (TRAILER_LF) -> TRAILER_START)* ->
 * (FINAL_LF) -> DONE. The states in parentheses are entered on a CR only:
 * a bare LF skips them. Any state -> ERROR. DONE and ERROR are final.
 */
enum h1_chunk_state {
	H1_CS_SIZE_FIRST = 0, /* first hex digit of a chunk size */
	H1_CS_SIZE,	      /* more hex digits, ';', SP/HTAB, CR or LF */
	H1_CS_EXT,	      /* extension bytes up to CR or LF */
	H1_CS_SIZE_LF,	      /* LF after the CR ending the size line */
	H1_CS_DATA,	      /* remaining bytes of chunk data (remaining > 0) */
	H1_CS_DATA_END,	      /* CR or LF after the data */
	H1_CS_DATA_LF,	      /* LF after the CR after the data */
	H1_CS_TRAILER_START,  /* start of a trailer line: CR or LF ends the body */
	H1_CS_TRAILER_LINE,   /* trailer line bytes, skipped up to CR or LF */
	H1_CS_TRAILER_LF,     /* LF after the CR ending a trailer line */
	H1_CS_FINAL_LF,	      /* LF after the CR of the empty line ending the body */
	H1_CS_DONE,	      /* body complete */
	H1_CS_ERROR,	      /* body malformed; err says how */
};

/* h1_hex - value of a hex digit, or -1. */
static inline int h1_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* h1_is_vchar_ws - HTAB, SP, VCHAR or obs-text: what extensions hold. */
static inline bool h1_is_vchar_ws(unsigned char c)
{
	return !(h1_cls[c] & H1_C_VSTOP);
}

void h1_chunked_init(struct h1_chunked *st)
{
	memset(st, 0, sizeof(*st));
}

bool h1_chunked_done(const struct h1_chunked *st)
{
	return st->state == H1_CS_DONE;
}

bool h1_chunked_trailer(const struct h1_chunked *st)
{
	return st->state >= H1_CS_TRAILER_START && st->state <= H1_CS_DONE;
}

bool h1_chunked_fresh(const struct h1_chunked *st)
{
	return st->state == H1_CS_SIZE_FIRST && !st->line_len;
}

uint64_t h1_chunked_pending(const struct h1_chunked *st)
{
	/* elsewhere remaining may be a size still being read: not a promise */
	return st->state == H1_CS_DATA ? st->remaining : 0;
}

/* h1_size_line_done - the state after the line end of a chunk-size line. */
static inline uint8_t h1_size_line_done(const struct h1_chunked *st)
{
	return st->remaining ? H1_CS_DATA : H1_CS_TRAILER_START;
}

int h1_parse_chunked(struct h1_chunked *st, const char *buf, size_t len, size_t *consumed,
		     struct h1_str *data)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0, n;
	int rc, d;

	if (st->state == H1_CS_ERROR) {
		*consumed = 0;
		return st->err;
	}
	if (st->state == H1_CS_DONE) {
		*consumed = 0;
		return H1_CHUNK_DONE;
	}
	/*
	 * Line ends are CRLF or a bare LF, as in nginx: the body is decoded
	 * here and re-framed with a Content-Length upstream, so what ends a
	 * line cannot be read two ways. A CR must still be followed by LF.
	 */
	while (i < len) {
		unsigned char ch = s[i];

		switch (st->state) {
		case H1_CS_SIZE_FIRST:
			d = h1_hex(ch);
			if (d < 0) {
				rc = H1_ERR_CHUNK_SIZE;
				goto fail;
			}
			st->remaining = (uint64_t)d;
			st->line_len = 1;
			st->state = H1_CS_SIZE;
			break;
		case H1_CS_SIZE:
			d = h1_hex(ch);
			if (d >= 0) {
				/* keep the size below 2^62 after the shift */
				if (st->remaining >> 58) {
					rc = H1_ERR_CHUNK_OVERFLOW;
					goto fail;
				}
				if (++st->line_len > H1_CHUNK_EXT_MAX) {
					rc = H1_ERR_CHUNK_SIZE;
					goto fail;
				}
				st->remaining = st->remaining << 4 | (uint64_t)d;
			} else if (ch == ';' || ch == ' ' || ch == '\t') {
				/* RFC 9112's BWS before ";"; nginx also takes
				 * "5 " alone. The body is re-framed when forwarded,
				 * so this reading cannot differ from the next hop's */
				st->line_len++;
				st->state = H1_CS_EXT;
				st->odd = 1;
			} else if (ch == '\r') {
				st->state = H1_CS_SIZE_LF;
			} else if (ch == '\n') {
				st->state = h1_size_line_done(st);
				st->odd = 1;
			} else {
				rc = H1_ERR_CHUNK_SIZE;
				goto fail;
			}
			break;
		case H1_CS_EXT:
			if (ch == '\r') {
				st->state = H1_CS_SIZE_LF;
			} else if (ch == '\n') {
				st->state = h1_size_line_done(st);
				st->odd = 1;
			} else if (!h1_is_vchar_ws(ch) || ++st->line_len > H1_CHUNK_EXT_MAX) {
				rc = H1_ERR_CHUNK_EXT;
				goto fail;
			}
			break;
		case H1_CS_SIZE_LF:
			if (ch != '\n') {
				rc = H1_ERR_CHUNK_CRLF;
				goto fail;
			}
			st->state = h1_size_line_done(st);
			break;
		case H1_CS_DATA:
			n = len - i;
			if (n > st->remaining)
				n = (size_t)st->remaining;
			data->p = buf + i;
			data->len = n;
			st->remaining -= n;
			if (!st->remaining)
				st->state = H1_CS_DATA_END;
			*consumed = i + n;
			return H1_CHUNK_DATA;
		case H1_CS_DATA_END:
			if (ch == '\r') {
				st->state = H1_CS_DATA_LF;
			} else if (ch == '\n') {
				st->state = H1_CS_SIZE_FIRST;
				st->odd = 1;
			} else {
				/* the data is longer than its size said */
				rc = H1_ERR_CHUNK_CRLF;
				goto fail;
			}
			break;
		case H1_CS_DATA_LF:
			if (ch != '\n') {
				rc = H1_ERR_CHUNK_CRLF;
				goto fail;
			}
			st->state = H1_CS_SIZE_FIRST;
			break;
		case H1_CS_TRAILER_START:
		case H1_CS_TRAILER_LINE:
		case H1_CS_TRAILER_LF:
		case H1_CS_FINAL_LF:
			/*
			 * Trailers are skipped line by line, unparsed, as
			 * nginx does: they are never forwarded, so only their
			 * line ends matter. Even NUL or "GET / HTTP/1.1" is
			 * just a skipped line.
			 */
			if (++st->trailer_len > H1_CHUNK_TRAILER_MAX) {
				rc = H1_ERR_CHUNK_TRAILER;
				goto fail;
			}
			if (st->state == H1_CS_TRAILER_LF || st->state == H1_CS_FINAL_LF) {
				if (ch != '\n') {
					rc = H1_ERR_CHUNK_CRLF;
					goto fail;
				}
				if (st->state == H1_CS_TRAILER_LF) {
					st->state = H1_CS_TRAILER_START;
					break;
				}
				goto done;
			}
			if (ch == '\r') {
				st->state = st->state == H1_CS_TRAILER_START ? H1_CS_FINAL_LF
									     : H1_CS_TRAILER_LF;
			} else if (ch == '\n') {
				if (st->state == H1_CS_TRAILER_START)
					goto done;
				st->state = H1_CS_TRAILER_START;
			} else {
				st->state = H1_CS_TRAILER_LINE;
			}
			break;
		default:
			/* DONE and ERROR returned above; nothing else exists */
			rc = H1_ERR_BAD;
			goto fail;
		}
		i++;
	}
	*consumed = len;
	return H1_INCOMPLETE;
done:
	st->state = H1_CS_DONE;
	*consumed = i + 1;
	return H1_CHUNK_DONE;
fail:
	st->state = H1_CS_ERROR;
	st->err = (int8_t)rc;
	*consumed = i;
	return rc;
}

int h1_chunked_canon(struct h1_chunked *st, const char *buf, size_t len, size_t *consumed,
		     char *out, size_t *olen)
{
	size_t i = 0, o = 0;
	int rc = st->state == H1_CS_DONE ? H1_CHUNK_DONE : H1_INCOMPLETE;

	while (i < len && rc == H1_INCOMPLETE) {
		uint8_t was = st->state;
		unsigned char ch = (unsigned char)buf[i];
		struct h1_str d;
		size_t used = 0;

		if (was == H1_CS_DATA) {
			h1_parse_chunked(st, buf + i, len - i, &used, &d);
			memcpy(out + o, d.p, d.len);
			o += d.len;
			i += used;
			continue;
		}
		/* the framing a byte at a time: what it was read as decides */
		rc = h1_parse_chunked(st, buf + i, 1, &used, &d);
		if (rc != H1_INCOMPLETE && rc != H1_CHUNK_DONE)
			break;
		i++;
		switch (was) {
		case H1_CS_SIZE_FIRST:
		case H1_CS_SIZE:
		case H1_CS_EXT:
		case H1_CS_DATA_END:
		case H1_CS_TRAILER_START:
			if (st->state == H1_CS_SIZE) {
				out[o++] = (char)ch; /* a size digit */
			} else if (ch == '\r') {
				out[o++] = '\r';
			} else if (ch == '\n') {
				out[o++] = '\r';
				out[o++] = '\n';
			}
			break; /* extensions and trailer fields are not written */
		case H1_CS_SIZE_LF:
		case H1_CS_DATA_LF:
		case H1_CS_FINAL_LF:
			out[o++] = '\n';
			break;
		default:
			break;
		}
	}
	*consumed = i;
	*olen = o;
	return rc;
}

int h1_parse_content_length(struct h1_str v, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	if (v.len == 0)
		return H1_ERR_BAD;
	for (i = 0; i < v.len; i++) {
		unsigned d = (unsigned char)v.p[i] - '0';

		/* the result must fit off_t */
		if (d > 9 || n > (uint64_t)(INT64_MAX - d) / 10)
			return H1_ERR_BAD;
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

/* h1_lower - ASCII lower case of c; other bytes unchanged. */
static inline unsigned char h1_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

/* h1_mem_ieq - whether a[0..n) and b[0..n) match, ASCII case ignored. */
static bool h1_mem_ieq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (h1_lower((unsigned char)a[i]) != h1_lower((unsigned char)b[i]))
			return false;
	return true;
}

bool h1_str_ieq(struct h1_str s, const char *lit)
{
	size_t n;

	/* Most calls compare a header name against a list of names: reject
	 * on the first byte before measuring the literal. */
	if (s.len == 0 || lit[0] == '\0')
		return s.len == 0 && lit[0] == '\0';
	if ((s.p[0] | 0x20) != (lit[0] | 0x20))
		return false;
	n = strlen(lit);
	return s.len == n && h1_mem_ieq(s.p, lit, n);
}

/*
 * h1_list_next - the next element of the comma-separated list v from *pos,
 * trimmed of OWS (possibly empty). Returns false when the list is done.
 */
static bool h1_list_next(struct h1_str v, size_t *pos, struct h1_str *elt)
{
	size_t i = *pos, b, e;

	if (i > v.len)
		return false;
	while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
		i++;
	b = i;
	while (i < v.len && v.p[i] != ',')
		i++;
	e = i;
	while (e > b && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
		e--;
	elt->p = v.p + b;
	elt->len = e - b;
	*pos = i + 1;
	return true;
}

bool h1_list_has_token(struct h1_str v, const char *tok)
{
	struct h1_str e;
	size_t pos = 0;

	while (h1_list_next(v, &pos, &e))
		if (h1_str_ieq(e, tok))
			return true;
	return false;
}

bool h1_te_is_chunked(struct h1_str v)
{
	struct h1_str e;
	size_t pos = 0;
	bool last = false;
	unsigned n = 0;

	while (h1_list_next(v, &pos, &e)) {
		if (!e.len)
			continue;
		last = h1_str_ieq(e, "chunked");
		n += last;
	}
	/* chunked twice is as ambiguous as chunked not last (RFC 9112 7) */
	return last && n == 1;
}

size_t h1_method_span(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && (h1_cls[(unsigned char)p[i]] & H1_C_METHOD))
		i++;
	return i;
}

bool h1_name_flags(struct h1_header *h)
{
	const unsigned char *s = (const unsigned char *)h->name.p;
	unsigned acc = 0;

	for (size_t i = 0; i < h->name.len; i++)
		acc |= h1_cls[s[i]];
	h->invalid = !!(acc & H1_C_ODD);
	h->underscore = !!(acc & H1_C_UNDERSC);
	h->symbol = !!(acc & H1_C_SYMBOL);
	return h->name.len && !(acc & H1_C_NSTOP);
}

size_t h1_value_span(const char *p, size_t n)
{
	return h1_scan_value((const unsigned char *)p, 0, n);
}

const struct h1_header *h1_find_header(const struct h1_header *h, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!h[i].invalid && h1_str_ieq(h[i].name, name))
			return &h[i];
	return NULL;
}

const char *h1_strerror(int rc)
{
	switch (rc) {
	case H1_INCOMPLETE:
		return "incomplete";
	case H1_ERR_BAD:
		return "malformed request or header line";
	case H1_ERR_URI_TOO_LONG:
		return "request line too long";
	case H1_ERR_HEADER_TOO_LARGE:
		return "header line or header too large";
	case H1_ERR_TOO_MANY_HEADERS:
		return "too many header lines";
	case H1_ERR_VERSION:
		return "unsupported HTTP version";
	case H1_ERR_METHOD:
		return "invalid method";
	case H1_ERR_CHUNK_SIZE:
		return "invalid chunk size";
	case H1_ERR_CHUNK_OVERFLOW:
		return "chunk size too large";
	case H1_ERR_CHUNK_EXT:
		return "invalid or too long chunk extension";
	case H1_ERR_CHUNK_CRLF:
		return "bare CR, or chunk data not followed by a line end";
	case H1_ERR_CHUNK_TRAILER:
		return "trailer section too large";
	default:
		return rc >= 0 ? "ok" : "unknown error";
	}
}

/* ---- HTTP dates ---- */

static int month_of(const char *p)
{
	static const char m[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int i = 0; i < 12; i++)
		if (strncmp(p, m + 3 * i, 3) == 0)
			return i;
	return -1;
}

/* digits - N decimal digits at P, or -1. */
static int digits(const char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* days_from_civil - days since 1970-01-01 of Y-M-D (M 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t h1_http_time(const char *p, size_t n)
{
	const char *e = p + n, *s;
	int day, mon, year, hh, mi, ss;

	/* the weekday is skipped, as nginx does */
	s = memchr(p, ' ', n);
	if (!s)
		return -1;
	s++;
	if (e - s >= 20 && s[2] == ' ' && s[6] == ' ' && s[11] == ' ') {
		/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
		day = digits(s, 2);
		mon = month_of(s + 3);
		year = digits(s + 7, 4);
		s += 12;
	} else if (e - s >= 18 && s[2] == '-' && s[6] == '-' && s[9] == ' ') {
		/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
		day = digits(s, 2);
		mon = month_of(s + 3);
		year = digits(s + 7, 2);
		year = year < 0 ? -1 : year + (year < 70 ? 2000 : 1900);
		s += 10;
	} else if (e - s >= 20 && s[3] == ' ' && s[6] == ' ') {
		/* asctime: "Sun Nov  6 08:49:37 1994" */
		mon = month_of(s);
		day = s[4] == ' ' ? digits(s + 5, 1) : digits(s + 4, 2);
		if (s[15] != ' ')
			return -1;
		year = digits(s + 16, 4);
		s += 7;
	} else {
		return -1;
	}
	if (e - s < 8 || s[2] != ':' || s[5] != ':')
		return -1;
	hh = digits(s, 2);
	mi = digits(s + 3, 2);
	ss = digits(s + 6, 2);
	if (day < 1 || day > 31 || mon < 0 || year < 1970 || hh < 0 || hh > 23 || mi < 0 ||
	    mi > 59 || ss < 0 || ss > 60)
		return -1;
	return days_from_civil(year, mon + 1, day) * 86400 + hh * 3600 + mi * 60 + ss;
}
