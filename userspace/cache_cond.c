/* SPDX-License-Identifier: MIT */
/*
 * Proxy cache, the pieces that read the client's request against a stored
 * response: nginx's not_modified filter (If-None-Match, If-Modified-Since,
 * If-Match, If-Unmodified-Since on a 200), HTTP dates, and the variant key
 * of a response that names request headers in Vary. Pure functions of
 * their arguments (cache.c and proxy.c apply them; the unit tests call
 * them directly).
 */
#include <string.h>
#include <strings.h>

#include "cache.h"

/* ---- HTTP dates ------------------------------------------------------------------------- */

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

int64_t cache_http_time(const char *p, size_t n)
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

/* ---- conditions ------------------------------------------------------------------------- */

bool cache_etag_match(struct lstr list, struct lstr etag, bool weak)
{
	const char *s = list.p, *e = list.p + list.len;

	if (list.len == 1 && list.p[0] == '*')
		return true;
	if (!etag.len)
		return false;
	if (weak && etag.len > 2 && etag.p[0] == 'W' && etag.p[1] == '/') {
		etag.p += 2;
		etag.len -= 2;
	}
	while (s < e) {
		if (weak && e - s > 2 && s[0] == 'W' && s[1] == '/')
			s += 2;
		if ((size_t)(e - s) >= etag.len && memcmp(s, etag.p, etag.len) == 0) {
			const char *t = s + etag.len;

			while (t < e && (*t == ' ' || *t == '\t'))
				t++;
			if (t == e || *t == ',')
				return true;
		}
		while (s < e && *s != ',')
			s++;
		while (s < e && (*s == ',' || *s == ' ' || *s == '\t'))
			s++;
	}
	return false;
}

int cache_cond_eval(const struct cache_cond *q, int status, struct lstr etag, struct lstr lm,
		    int ims_mode)
{
	int64_t t = lm.len ? cache_http_time(lm.p, lm.len) : -1;

	if (status != 200)
		return 0;
	if (q->ius.len && (t < 0 || cache_http_time(q->ius.p, q->ius.len) < t))
		return 412;
	if (q->im.len && !cache_etag_match(q->im, etag, false))
		return 412;
	if (!q->ims.len && !q->inm.len)
		return 0;
	if (q->ims.len) {
		int64_t ims = cache_http_time(q->ims.p, q->ims.len);

		/* modified: send it whole */
		if (t < 0 || ims_mode == CACHE_IMS_OFF)
			return 0;
		if (ims != t && (ims_mode == CACHE_IMS_EXACT || ims < t))
			return 0;
	}
	if (q->inm.len && !cache_etag_match(q->inm, etag, true))
		return 0;
	return 304;
}

bool cache_304_drops(struct h1_str n)
{
	return H1_IS(n, "content-type") || H1_IS(n, "content-length") ||
	       H1_IS(n, "content-encoding") || H1_IS(n, "accept-ranges") ||
	       H1_IS(n, "transfer-encoding");
}

void cache_cond_of(const struct h1_header *h, size_t n, struct cache_cond *q)
{
	memset(q, 0, sizeof(*q));
	for (size_t i = 0; i < n; i++) {
		struct h1_str nm = h[i].name;
		struct lstr v = {h[i].value.p, h[i].value.len};

		/* every name asked for starts with "If-" */
		if (nm.len < 8 || (nm.p[0] | 0x20) != 'i' || (nm.p[1] | 0x20) != 'f' ||
		    nm.p[2] != '-')
			continue;
		if (H1_IS(nm, "if-none-match"))
			q->inm = v;
		else if (H1_IS(nm, "if-modified-since"))
			q->ims = v;
		else if (H1_IS(nm, "if-match"))
			q->im = v;
		else if (H1_IS(nm, "if-unmodified-since"))
			q->ius = v;
	}
}

/* ---- Vary ------------------------------------------------------------------------------- */

bool cache_vary_star(struct lstr vary)
{
	for (size_t i = 0; i < vary.len; i++)
		if (vary.p[i] == '*')
			return true;
	return false;
}

int cache_variant_key(const uint8_t main[16], struct lstr vary, const struct h1_header *req,
		      size_t nreq, char *scratch, size_t cap, uint8_t out[16])
{
	size_t len = 0, i = 0;

	if (cap < 16 || cache_vary_star(vary))
		return -1;
	memcpy(scratch, main, 16);
	len = 16;
	/* each name of the list, lowercased, then the request's values of
	 * that header (all of them, in order); absent = empty */
	while (i < vary.len) {
		size_t s, e;

		while (i < vary.len && (vary.p[i] == ' ' || vary.p[i] == '\t' || vary.p[i] == ','))
			i++;
		s = i;
		while (i < vary.len && vary.p[i] != ',' && vary.p[i] != ' ' && vary.p[i] != '\t')
			i++;
		e = i;
		if (e == s)
			continue;
		if (len + (e - s) + 2 > cap)
			return -1;
		for (size_t k = s; k < e; k++)
			scratch[len++] =
				(char)(vary.p[k] >= 'A' && vary.p[k] <= 'Z' ? vary.p[k] + 32
									    : vary.p[k]);
		scratch[len++] = ':';
		for (size_t h = 0; h < nreq; h++) {
			if (req[h].name.len != e - s ||
			    strncasecmp(req[h].name.p, vary.p + s, e - s) != 0)
				continue;
			if (len + req[h].value.len + 1 > cap)
				return -1;
			memcpy(scratch + len, req[h].value.p, req[h].value.len);
			len += req[h].value.len;
			scratch[len++] = ',';
		}
		if (len + 1 > cap)
			return -1;
		scratch[len++] = '\n';
	}
	cache_md5(scratch, len, out);
	return 0;
}
