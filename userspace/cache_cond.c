/* SPDX-License-Identifier: MIT */
/*
 * Proxy cache, the pieces that read the client's request against a stored
 * response: nginx's not_modified filter (If-None-Match, If-Modified-Since,
 * If-Match, If-Unmodified-Since on a 200) and the variant key
 * of a response that names request headers in Vary. Pure functions of
 * their arguments (cache.c and proxy.c apply them; the unit tests call
 * them directly).
 */
#include <string.h>
#include <strings.h>

#include "cache.h"

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
	int64_t t = lm.len ? h1_http_time(lm.p, lm.len) : -1;

	if (status != 200)
		return 0;
	if (q->ius.len && (t < 0 || h1_http_time(q->ius.p, q->ius.len) < t))
		return 412;
	if (q->im.len && !cache_etag_match(q->im, etag, false))
		return 412;
	if (!q->ims.len && !q->inm.len)
		return 0;
	if (q->ims.len) {
		int64_t ims = h1_http_time(q->ims.p, q->ims.len);

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
