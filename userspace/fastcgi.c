/* SPDX-License-Identifier: MIT */
/*
 * FastCGI requests (fastcgi_pass): builds the request's BEGIN_REQUEST and
 * PARAMS records (fastcgi_param, fastcgi_cache's validators, the client's
 * headers as HTTP_*) from the request and its location (the pairs,
 * fcgi_kv_collect, also make uwsgi.c's vars and scgi.c's headers); the
 * variables $fastcgi_script_name and
 * $fastcgi_path_info. The byte-level codec (STDIN framing of the body, the
 * in-place decoder of STDOUT/STDERR/END_REQUEST records that proxy.c reads
 * as a CGI head and body) is in fastcgi_rec.c.
 *
 * Owns nothing beyond the request pool: the decoder state lives in the
 * upstream connection (struct fcgi_dec), the request head in C's pool.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cache.h"
#include "cfg-t.h"
#include "fastcgi.h"
#include "http.h"
#include "pool.h"
#include "var.h"

/* ---- the request head --------------------------------------------------------------- */

/* header_shadowed - whether a param HTTP_X of P (N of them) names client
 * header NAME (nginx: the param's tail lowercased, '_' read as '-'). */
static bool header_shadowed(const struct fcgi_param *p, int n, struct h1_str name)
{
	for (int i = 0; i < n; i++, p++) {
		if (p->namelen != name.len + 5 || strncmp(p->name, "HTTP_", 5) != 0)
			continue;
		size_t k = 0;

		for (; k < name.len; k++) {
			char a = p->name[5 + k], b = name.p[k];

			a = a == '_' ? '-' : (char)((a >= 'A' && a <= 'Z') ? a | 0x20 : a);
			b = (char)((b >= 'A' && b <= 'Z') ? b | 0x20 : b);
			if (a != b)
				break;
		}
		if (k == name.len)
			return true;
	}
	return false;
}

/* param_named - whether one of PARAMS (N of them) is NAME (nginx:
 * case-blind). */
static bool param_named(const struct fcgi_param *params, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcasecmp(params[i].name, name) == 0)
			return true;
	return false;
}

/* cache_params - fastcgi_cache's parameters after fastcgi_param's, as
 * nginx adds them unless a fastcgi_param names them: when an expired entry
 * is revalidated (fastcgi_cache_revalidate), its Last-Modified and ETag as
 * HTTP_IF_MODIFIED_SINCE and HTTP_IF_NONE_MATCH; never the client's
 * conditions and ranges (fcgi_kv_collect leaves those headers out). */
static size_t cache_params(struct conn *c, const struct fcgi_param *params, int nparams,
			   struct fcgi_kv *kv)
{
	struct lstr ims, inm;
	size_t n = 0;

	if (!cache_validators(c, &ims, &inm))
		return 0;
	if (ims.len && !param_named(params, nparams, "HTTP_IF_MODIFIED_SINCE"))
		kv[n++] = (struct fcgi_kv){"HTTP_IF_MODIFIED_SINCE", ims.p, 22, ims.len};
	if (inm.len && !param_named(params, nparams, "HTTP_IF_NONE_MATCH"))
		kv[n++] = (struct fcgi_kv){"HTTP_IF_NONE_MATCH", inm.p, 18, inm.len};
	return n;
}

int fcgi_kv_collect(struct conn *c, const struct fcgi_param *params, int nparams, bool http_params,
		    struct fcgi_kv **out, size_t *nout)
{
	struct http_req *r = &c->req;
	const struct cfg_loc *l = r->loc;
	size_t nkv = 0, cap = (size_t)nparams + 2;
	struct fcgi_kv *kv;

	if (l->proxy_pass_request_headers)
		cap += r->h1.nheaders;
	kv = pool_alloc(&c->pool, cap * sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	for (int i = 0; i < nparams; i++) {
		const struct fcgi_param *p = &params[i];
		struct lstr v;

		if (cval_eval(&p->value, c, &v))
			return -ENOMEM;
		if (p->if_not_empty && !v.len)
			continue;
		kv[nkv++] = (struct fcgi_kv){p->name, v.p, p->namelen, v.len};
	}
	nkv += cache_params(c, params, nparams, kv + nkv);
	if (l->proxy_pass_request_headers) {
		for (size_t i = 0; i < r->h1.nheaders; i++) {
			const struct h1_header *h = &r->hdrs[i];
			char *n;

			if (h->invalid || h->symbol)
				continue;
			if (h->underscore && !r->srv->underscores_in_headers)
				continue;
			if ((http_params && header_shadowed(params, nparams, h->name)) ||
			    cache_skip_request_header(c, h->name))
				continue;
			n = pool_alloc(&c->pool, h->name.len + 5);
			if (!n)
				return -ENOMEM;
			memcpy(n, "HTTP_", 5);
			for (size_t k = 0; k < h->name.len; k++) {
				char ch = h->name.p[k];

				n[5 + k] = ch >= 'a' && ch <= 'z' ? (char)(ch & ~0x20)
					   : ch == '-'		  ? '_'
								  : ch;
			}
			kv[nkv++] = (struct fcgi_kv){n, h->value.p, h->name.len + 5, h->value.len};
		}
	}
	*out = kv;
	*nout = nkv;
	return 0;
}

int fcgi_build_request(struct conn *c, bool keep, uint64_t body_len, struct lstr *out)
{
	const struct fcgi_loc *f = &c->req.loc->fcgi;
	size_t nkv = 0, plen = 0, total, nrec;
	struct fcgi_kv *kv;
	char *buf, *d;

	if (fcgi_kv_collect(c, f->params, f->nparams, f->http_params, &kv, &nkv))
		return -ENOMEM;
	for (size_t i = 0; i < nkv; i++)
		plen += fcgi_param_len(kv[i].nl, kv[i].vl);
	nrec = (plen + FCGI_PARAMS_REC - 1) / FCGI_PARAMS_REC;
	/* BEGIN_REQUEST, the PARAMS records, the empty PARAMS [, empty STDIN] */
	total = 16 + nrec * 8 + plen + 8 + (body_len ? 0 : 8);
	buf = pool_alloc(&c->pool, total + plen);
	if (!buf)
		return -ENOMEM;
	/* the stream first, after the records' room, then cut into records */
	char *stream = buf + total;

	d = stream;
	for (size_t i = 0; i < nkv; i++)
		d += fcgi_param_put(d, kv[i].n, kv[i].nl, kv[i].v, kv[i].vl);
	d = buf;
	fcgi_record_header((uint8_t *)d, FCGI_BEGIN_REQUEST, 8);
	memset(d + 8, 0, 8);
	d[9] = 1;	      /* FCGI_RESPONDER */
	d[10] = keep ? 1 : 0; /* FCGI_KEEP_CONN */
	d += 16;
	for (size_t off = 0; off < plen; off += FCGI_PARAMS_REC) {
		size_t k = LBD_MIN(plen - off, (size_t)FCGI_PARAMS_REC);

		fcgi_record_header((uint8_t *)d, FCGI_PARAMS, k);
		memcpy(d + 8, stream + off, k);
		d += 8 + k;
	}
	fcgi_record_header((uint8_t *)d, FCGI_PARAMS, 0);
	d += 8;
	if (!body_len) {
		fcgi_record_header((uint8_t *)d, FCGI_STDIN, 0);
		d += 8;
	}
	*out = (struct lstr){buf, (size_t)(d - buf)};
	return 0;
}

/* ---- variables --------------------------------------------------------------------- */

static pthread_key_t fcgi_md_key;
static pthread_once_t fcgi_md_once = PTHREAD_ONCE_INIT;
static __thread pcre2_match_data *fcgi_md;

static void fcgi_md_free(void *p)
{
	pcre2_match_data_free(p);
}

static void fcgi_md_init(void)
{
	pthread_key_create(&fcgi_md_key, fcgi_md_free);
}

/* split - $uri cut by fastcgi_split_path_info (nginx: script = $1, path
 * info = $2 on a match, else the whole $uri and nothing). Evaluated each
 * time against the $uri of the moment, as nginx's handler starts afresh
 * (try_files changing $uri leaves no path info: its ticket 321). */
static void split(struct conn *c, struct lstr *script, struct lstr *info)
{
	const struct http_req *r = &c->req;
	const void *re = r->loc ? r->loc->fcgi.split_re : NULL;
	struct lstr uri = {r->u.uri.p ? r->u.uri.p : "", r->u.uri.len};
	const PCRE2_SIZE *ov;

	*script = uri;
	*info = (struct lstr){"", 0};
	if (!re)
		return;
	if (!fcgi_md) {
		pthread_once(&fcgi_md_once, fcgi_md_init);
		fcgi_md = pcre2_match_data_create(10, NULL);
		if (!fcgi_md)
			return;
		pthread_setspecific(fcgi_md_key, fcgi_md);
	}
	if (pcre2_match(re, (PCRE2_SPTR)uri.p, uri.len, 0, 0, fcgi_md, NULL) < 3)
		return;
	ov = pcre2_get_ovector_pointer(fcgi_md);
	if (ov[2] == PCRE2_UNSET || ov[4] == PCRE2_UNSET)
		return;
	*script = (struct lstr){uri.p + ov[2], ov[3] - ov[2]};
	*info = (struct lstr){uri.p + ov[4], ov[5] - ov[4]};
}

int fcgi_var_script_name(struct conn *c, struct lstr *out)
{
	const char *index = c->req.loc ? c->req.loc->fcgi.index : NULL;
	struct lstr s, info;
	char *p;
	size_t il;

	split(c, &s, &info);
	if (!index || !s.len || s.p[s.len - 1] != '/') {
		*out = s;
		return 0;
	}
	il = strlen(index);
	p = pool_alloc(&c->pool, s.len + il);
	if (!p)
		return -ENOMEM;
	memcpy(p, s.p, s.len);
	memcpy(p + s.len, index, il);
	*out = (struct lstr){p, s.len + il};
	return 0;
}

int fcgi_var_path_info(struct conn *c, struct lstr *out)
{
	struct lstr s;

	split(c, &s, out);
	return 0;
}
