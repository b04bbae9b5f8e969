/* SPDX-License-Identifier: MIT */
/*
 * Where a request goes: the server block its Host (or the request line's
 * host) names, the location its URI matches in nginx's order, named
 * locations, the rewrite phase (rewrite, return, set, if), internal and
 * named redirects, and the answers of that phase (`return` texts and
 * redirects, auto_redirect's 301, Location made absolute). The phases after
 * the location is chosen are http.c's; the TLS handshake's SNI choice is
 * made there with http_find_server_host().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "cfg.h"
#include "charset.h"
#include "gzip.h"
#include "http.h"
#include "log.h"
#include "ratelimit.h"
#include "sockaddr.h"
#include "subfilter.h"
#include "var.h"
#include "http_int.h"

/* ---- server and location -------------------------------------------------------- */

static bool name_match(const struct server_name *sn, struct lstr host, struct conn *c)
{
	switch (sn->kind) {
	case 0:
		return host.len == sn->len && memcmp(host.p, sn->name, sn->len) == 0;
	case 1: /* ".example.com" from "*.example.com": needs a label before */
		return host.len > sn->len &&
		       memcmp(host.p + host.len - sn->len, sn->name, sn->len) == 0;
	case 2: /* "www.example." */
		return host.len > sn->len && memcmp(host.p, sn->name, sn->len) == 0;
	case 4: /* ".example.com": the name itself or any subdomain */
		if (host.len == sn->len - 1 && memcmp(host.p, sn->name + 1, sn->len - 1) == 0)
			return true;
		return host.len > sn->len &&
		       memcmp(host.p + host.len - sn->len, sn->name, sn->len) == 0;
	case 3:
		/* the host is pool memory: valid for the whole request */
		return var_regex_exec(c, sn->re, host.p, host.len) == 1;
	}
	return false;
}

/* http_find_server_host - the server block named HOST (lowercased) on the
 * connection's address. */
struct cfg_srv *http_find_server_host(struct conn *c, struct lstr host)
{
	struct listen_group *lg = c->lg;
	int kinds[] = {0, 4, 1, 2, 3};

	if (!host.len)
		return lg->default_srv;
	/* nginx order: exact, longest leading wildcard, trailing wildcard,
	 * then regexes in order. Leading wildcards: longest wins. */
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		struct cfg_srv *best = NULL;
		size_t bestlen = 0;

		for (int i = 0; i < lg->nservers; i++) {
			struct cfg_srv *s = lg->servers[i];

			for (int j = 0; j < s->nnames; j++) {
				const struct server_name *sn = &s->names[j];

				if (sn->kind != kinds[k] || !name_match(sn, host, c))
					continue;
				if (kinds[k] == 3 || kinds[k] == 0)
					return s;
				if (!best || sn->len > bestlen) {
					best = s;
					bestlen = sn->len;
				}
			}
		}
		if (best)
			return best;
	}
	return lg->default_srv;
}

struct cfg_srv *http_find_server(struct conn *c)
{
	return http_find_server_host(c, c->req.host);
}

static bool regex_loc_match(struct conn *c, struct cfg_loc *l, struct lstr uri)
{
	return var_regex_exec(c, l->re, uri.p, uri.len) == 1;
}

/* find_location - nginx's order: exact; else the longest prefix, searched
 * further inside it; then (unless exact or ^~) regexes in order. *final is
 * set when no regex may override the result. */
struct cfg_loc *http_find_location(struct conn *c, struct cfg_loc *level, struct lstr uri,
				   bool *final)
{
	struct cfg_loc *best = NULL;

	*final = false;
	for (int i = 0; i < level->nexact; i++) {
		struct cfg_loc *l = level->exact[i];

		if (l->patlen == uri.len && memcmp(l->pattern, uri.p, uri.len) == 0) {
			*final = true;
			return l;
		}
	}
	/* nginx's auto_redirect: "/api" for a proxied "location /api/" is
	 * answered 301 to "/api/". */
	for (int i = 0; i < level->nprefix; i++) {
		struct cfg_loc *l = level->prefix[i];

		if (l->proxy && l->patlen == uri.len + 1 && l->pattern[uri.len] == '/' &&
		    memcmp(l->pattern, uri.p, uri.len) == 0) {
			*final = true;
			return HTTP_LOC_AUTO_REDIRECT;
		}
	}
	for (int i = 0; i < level->nprefix; i++) {
		struct cfg_loc *l = level->prefix[i];

		if (l->patlen <= uri.len && memcmp(l->pattern, uri.p, l->patlen) == 0) {
			best = l;
			break;
		}
	}
	if (best) {
		bool inner_final = false;
		struct cfg_loc *inner = NULL;

		if (best->nexact || best->nprefix || best->nregex)
			inner = http_find_location(c, best, uri, &inner_final);
		if (inner == HTTP_LOC_AUTO_REDIRECT)
			return inner;
		if (inner) {
			if (inner_final || inner->match == LOC_REGEX ||
			    inner->match == LOC_REGEX_CASELESS) {
				*final = true;
				return inner;
			}
			if (inner->match == LOC_PREFIX_NOREGEX) {
				*final = true;
				return inner;
			}
			best = inner;
		}
		if (best->match == LOC_PREFIX_NOREGEX) {
			*final = true;
			return best;
		}
	}
	for (int i = 0; i < level->nregex; i++)
		if (regex_loc_match(c, level->regex[i], uri))
			return level->regex[i];
	return best;
}

static struct cfg_loc *find_named(struct cfg_srv *s, struct lstr name)
{
	for (int i = 0; i < s->loc.nnamed; i++) {
		struct cfg_loc *l = s->loc.named[i];

		if (l->patlen == name.len && memcmp(l->pattern, name.p, name.len) == 0)
			return l;
	}
	return NULL;
}

/* ---- rewrite phase ---------------------------------------------------------------- */

void http_absolute_location(struct conn *c, struct lstr *v)
{
	const struct cfg_loc *l = c->req.loc ? c->req.loc : c->req.srv ? &c->req.srv->loc : NULL;
	char port[16] = "";
	struct lstr host = c->req.host;
	unsigned p;
	char *out;
	size_t n;

	if (!v->len || v->p[0] != '/' || (l && !l->absolute_redirect))
		return;
	if (!host.len || (l && l->server_name_in_redirect))
		host = c->req.srv && c->req.srv->nnames ? lstr_c(c->req.srv->names[0].name)
							: LSTR("localhost");
	p = lbd_sa_port(conn_local(c));
	if (p && p != (c->tls ? 443 : 80) && (!l || l->port_in_redirect))
		snprintf(port, sizeof(port), ":%u", p);
	n = (c->tls ? 8 : 7) + host.len + strlen(port) + v->len;
	out = pool_alloc(&c->pool, n + 1);
	if (!out)
		return;
	snprintf(out, n + 1, "%s://%.*s%s%.*s", c->tls ? "https" : "http", (int)host.len, host.p,
		 port, (int)v->len, v->p);
	*v = (struct lstr){out, n};
}

static void send_redirect(struct conn *c, int code, struct lstr loc)
{
	http_absolute_location(c, &loc);
	c->req.resp_location = loc;
	http_finalize(c, code);
}

/* text_not_modified - nginx's not_modified filter on a `return` text with
 * status 200: it has no validators, so "If-None-Match: *" is a 304, a failed
 * If-Match or any If-Unmodified-Since a 412. Whether it answered. */
static bool text_not_modified(struct conn *c, const struct cfg_loc *l)
{
	struct cache_cond q;
	int k;

	cache_cond_of(req_hdrs(&c->req), c->req.h1.nheaders, &q);
	k = cache_cond_eval(&q, 200, (struct lstr){NULL, 0}, (struct lstr){NULL, 0},
			    l->cache.ims_mode);
	if (k == 412) {
		http_finalize(c, 412);
	} else if (k == 304) {
		if (http_head_start(c, 304) || http_head_finish(c, true))
			conn_close(c);
		else
			http_send_body(c);
	}
	return k != 0;
}

static void respond_text(struct conn *c, int code, struct lstr text)
{
	const struct cfg_loc *l = c->req.loc ? c->req.loc : &c->req.srv->loc;

	if (code == 200 && !c->req.xar_ctype.len && !c->sr_parent && text_not_modified(c, l))
		return;
	/* after X-Accel-Redirect the upstream's type stays; else the type of
	 * $uri's extension, as nginx types a `return` text (so a location
	 * "= /robots.txt" or "= /x.json" answers with its file's type) */
	struct lstr ctype =
		c->req.xar_ctype.len ? c->req.xar_ctype : lstr_c(static_mime_type(l, c->req.u.uri));
	int sf = subfilter_begin_len(c, code, ctype, (int64_t)text.len, false); /* before gzip */
	struct gzip_resp gr = {
		.status = code,
		.length = sf && !c->req.sf.sb ? -1 : (int64_t)text.len, /* sb: the length stays */
		.content_type = ctype};
	int gz = sf < 0 ? sf : gzip_begin(c, &gr);
	size_t sent = text.len;
	struct lstr ct = charset_ctype(c, l, code, gr.content_type, false);

	subfilter_start(c);
	if (gz < 0 || http_head_start(c, code) ||
	    http_head_addf(c, "Content-Type: %.*s\r\n", (int)ct.len, ct.p) ||
	    (!gz && (!sf || c->req.sf.sb) &&
	     http_head_addf(c, "Content-Length: %zu\r\n", text.len)) ||
	    gzip_head_add(c) || subfilter_head_add(c) || http_head_finish(c, true) ||
	    (!c->req.head && (c->req.sf.ctx   ? subfilter_mem(c, text.p, text.len, &sent)
			      : c->req.gz.ctx ? gzip_mem(c, text.p, text.len, &sent)
					      : http_out_append(c, text.p, text.len)))) {
		conn_close(c);
		return;
	}
	if (!c->req.head)
		c->req.body_bytes_sent = sent;
	http_send_body(c);
}

/* set_plain - `set $NAME VAL` of a variable that is no map's: $limit_rate
 * or a `set` variable of the request. */
static int set_plain(struct conn *c, const char *name, size_t nl, struct lstr val)
{
	struct http_req *r = &c->req;

	if (unlikely(nl == 10 && memcmp(name, "limit_rate", 10) == 0)) {
		rate_set_var(c, val); /* $limit_rate is the request's own */
		return 0;
	}
	for (int i = 0; i < r->nset_vars; i++) {
		if (r->set_vars_name[i].len == nl && memcmp(r->set_vars_name[i].p, name, nl) == 0) {
			r->set_vars_val[i] = val;
			return 0;
		}
	}
	if ((r->nset_vars & 7) == 0) {
		struct lstr *n = pool_alloc(&c->pool, (size_t)(r->nset_vars + 8) * sizeof(*n));
		struct lstr *v = pool_alloc(&c->pool, (size_t)(r->nset_vars + 8) * sizeof(*v));

		if (!n || !v)
			return -ENOMEM;
		if (r->nset_vars) {
			memcpy(n, r->set_vars_name, (size_t)r->nset_vars * sizeof(*n));
			memcpy(v, r->set_vars_val, (size_t)r->nset_vars * sizeof(*v));
		}
		r->set_vars_name = n;
		r->set_vars_val = v;
	}
	r->set_vars_name[r->nset_vars] = (struct lstr){name, nl};
	r->set_vars_val[r->nset_vars++] = val;
	return 0;
}

int http_set_var(struct conn *c, const char *name, struct lstr val)
{
	size_t nl = strlen(name);
	bool limit_rate = nl == 10 && memcmp(name, "limit_rate", 10) == 0;

	if (!limit_rate && c->cfg && c->cfg->http && c->cfg->http->nmaps &&
	    map_set(c, name, nl, val))
		return 0;
	return set_plain(c, name, nl, val);
}

/* set_rw - the `set` step RW with value VAL: its map's (found at load),
 * else a plain variable's (a map value that cannot be kept, out of
 * memory, goes there as http_set_var's does). */
static int set_rw(struct conn *c, const struct rewrite *rw, struct lstr val)
{
	if (rw->map && map_set_value(c, rw->map, val))
		return 0;
	return set_plain(c, rw->repl.raw, strlen(rw->repl.raw), val);
}

static void set_uri_from(struct conn *c, struct lstr v, bool keep_args)
{
	const char *q = memchr(v.p, '?', v.len);
	struct lstr old_args = c->req.u.args;

	if (!q) {
		c->req.u.uri = v;
		return;
	}
	c->req.u.uri = (struct lstr){v.p, (size_t)(q - v.p)};
	struct lstr na = {q + 1, v.len - (size_t)(q - v.p) - 1};

	if (keep_args && old_args.len && na.len) {
		char *m = pool_alloc(&c->pool, na.len + 1 + old_args.len);

		if (m) {
			memcpy(m, na.p, na.len);
			m[na.len] = '&';
			memcpy(m + na.len + 1, old_args.p, old_args.len);
			na = (struct lstr){m, na.len + 1 + old_args.len};
		}
	} else if (keep_args && !na.len) {
		na = old_args;
	}
	c->req.u.args = na;
}

/* run_rewrites_log - the rewrite steps of L; LOG: rewrite_log's notice
 * lines (nginx's texts) for each regex tried and each rewritten URI. */
static enum rw_result run_rewrites_log(struct conn *c, const struct cfg_loc *l, bool log)
{
	for (int i = 0; i < l->nrewrites; i++) {
		const struct rewrite *rw = &l->rewrites[i];
		struct lstr v = {"", 0};
		bool text;

		switch (rw->kind) {
		case RW_BREAK:
			return RWR_BREAK;
		case RW_SET:
			if (cval_eval(&rw->repl, c, &v) || set_rw(c, rw, v)) {
				http_finalize(c, 500);
				return RWR_DONE;
			}
			break;
		case RW_RETURN:
			/* nginx: a text written empty ("") is none (a code from
			 * 400 gets its page); one of variables is a text even
			 * when it comes out empty */
			text = rw->repl.raw && (rw->repl.raw[0] || !rw->repl.literal);
			/* $status in the text is the code it goes out with */
			if (rw->repl.raw && rw->code >= 200 && rw->code < 300)
				c->req.status = c->req.err_status ? c->req.err_status : rw->code;
			if (rw->repl.raw && cval_eval(&rw->repl, c, &v)) {
				http_finalize(c, 500);
				return RWR_DONE;
			}
			if (rw->code == 444) {
				http_finalize(c, 444); /* logged, then closed, as nginx */
				return RWR_DONE;
			}
			/* nginx's send_response (text, or a code under 400)
			 * discards the body, answering Expect first */
			if ((text || rw->code < 400) && !http_continue_discarded(c))
				return RWR_DONE;
			/* ... and sets the status before any page of its own */
			c->req.status_first = rw->code < 400;
			if (rw->code == 301 || rw->code == 302 || rw->code == 303 ||
			    rw->code == 307 || rw->code == 308) {
				send_redirect(c, rw->code, v);
			} else if (text) {
				respond_text(c, rw->code, v);
			} else if (rw->code >= 200 && rw->code < 400 && rw->code != 204 &&
				   rw->code != 304) {
				/* nginx: a code under 400 without text is an empty
				 * answer of the usual type, not a built-in page */
				respond_text(c, rw->code, (struct lstr){"", 0});
			} else {
				http_finalize(c, rw->code);
			}
			return RWR_DONE;
		case RW_REWRITE: {
			struct lstr uri = c->req.u.uri;

			bool hit = regex_loc_match(c, &(struct cfg_loc){.re = rw->re}, uri);

			if (log)
				http_log(c, NULL, LOG_NOTICE, "\"%s\" %s \"%.*s\"", rw->re_src,
					 hit ? "matches" : "does not match", (int)uri.len, uri.p);
			if (!hit)
				break;
			if (cval_eval(&rw->repl, c, &v)) {
				http_finalize(c, 500);
				return RWR_DONE;
			}
			bool ends_q = v.len && v.p[v.len - 1] == '?';
			bool absolute = (v.len > 7 && strncmp(v.p, "http://", 7) == 0) ||
					(v.len > 8 && strncmp(v.p, "https://", 8) == 0) ||
					(v.len > 1 && v.p[0] == '$');

			if (ends_q)
				v.len--;
			if (absolute || rw->flag == RW_F_REDIRECT || rw->flag == RW_F_PERMANENT) {
				if (!ends_q && c->req.u.args.len) {
					size_t n = v.len + 1 + c->req.u.args.len;
					char *m = pool_alloc(&c->pool, n);

					if (m) {
						memcpy(m, v.p, v.len);
						m[v.len] = memchr(v.p, '?', v.len) ? '&' : '?';
						memcpy(m + v.len + 1, c->req.u.args.p,
						       c->req.u.args.len);
						v = (struct lstr){m, n};
					}
				}
				if (log)
					http_log(c, NULL, LOG_NOTICE,
						 "rewritten redirect: \"%.*s\"", (int)v.len, v.p);
				send_redirect(c, rw->flag == RW_F_PERMANENT ? 301 : 302, v);
				return RWR_DONE;
			}
			set_uri_from(c, v, !ends_q);
			c->req.uri_changed = true;
			c->req.loc_rewrote = true;
			if (ends_q && !memchr(v.p, '?', v.len))
				c->req.u.args = (struct lstr){"", 0};
			if (log)
				http_log(c, NULL, LOG_NOTICE,
					 "rewritten data: \"%.*s\", args: \"%.*s\"",
					 (int)c->req.u.uri.len, c->req.u.uri.p,
					 (int)c->req.u.args.len, c->req.u.args.p);
			if (rw->flag == RW_F_LAST)
				return RWR_LAST;
			if (rw->flag == RW_F_BREAK)
				return RWR_BREAK;
			break;
		}
		case RW_IF: {
			/* the block's steps run here; in a location the request
			 * takes the block's configuration (nginx's nameless
			 * location), and the steps after the block still run */
			const struct cfg_loc *in = rw->cond->body;
			bool in_log = in->rewrite_log == CFG_UNSET ? log : in->rewrite_log == 1;
			int t = http_if_test(c, rw->cond, log);

			if (t < 0) {
				http_finalize(c, 500);
				return RWR_DONE;
			}
			if (!t)
				break;
			if (rw->cond->in_location)
				c->req.loc = rw->cond->body;
			enum rw_result rr = run_rewrites_log(c, in, in_log);

			if (rr != RWR_CONTINUE)
				return rr;
			break;
		}
		}
	}
	return RWR_CONTINUE;
}

enum rw_result http_run_rewrites(struct conn *c, const struct cfg_loc *l)
{
	return run_rewrites_log(c, l, l->rewrite_log == 1);
}

static void auto_redirect(struct conn *c)
{
	struct http_req *r = &c->req;
	size_t n = r->u.uri.len + 1 + (r->u.args.len ? 1 + r->u.args.len : 0);
	char *v = pool_alloc(&c->pool, n);

	if (!v) {
		http_finalize(c, 500);
		return;
	}
	memcpy(v, r->u.uri.p, r->u.uri.len);
	v[r->u.uri.len] = '/';
	if (r->u.args.len) {
		v[r->u.uri.len + 1] = '?';
		memcpy(v + r->u.uri.len + 2, r->u.args.p, r->u.args.len);
	}
	send_redirect(c, 301, (struct lstr){v, n});
}

/* http_find_config - location lookup, location rewrites, then content. Runs
 * again after `rewrite ... last` and internal redirects. */
void http_find_config(struct conn *c)
{
	struct http_req *r = &c->req;
	bool final;

	for (;;) {
		struct cfg_loc *l;

		if (r->uri_changes-- <= 0) {
			http_log(c, NULL, LOG_ERR,
				 "rewrite or internal redirection cycle while processing \"%.*s\"",
				 (int)r->u.uri.len, r->u.uri.p);
			http_finalize(c, 500);
			return;
		}
		l = http_find_location(c, &r->srv->loc, r->u.uri, &final);
		if (l == HTTP_LOC_AUTO_REDIRECT) {
			r->loc = &r->srv->loc;
			auto_redirect(c);
			return;
		}
		if (!l)
			l = &r->srv->loc; /* no location matched: the server's own settings */
		r->loc = l;
		if (l->internal && !r->internal) {
			http_finalize(c, 404);
			return;
		}
		if (l->client_max_body_size && r->body_kind == BODY_LENGTH &&
		    r->content_length > (uint64_t)l->client_max_body_size) {
			http_log(c, NULL, LOG_ERR,
				 "client intended to send too large body: %llu bytes",
				 (unsigned long long)r->content_length);
			c->close_after = true;
			http_finalize(c, 413);
			return;
		}
		r->loc_rewrote = false;
		enum rw_result rr = http_run_rewrites(c, l);

		if (rr == RWR_DONE)
			return;
		/* `last`, or a rewrite without a flag that changed $uri:
		 * the location is searched again (nginx's post-rewrite
		 * phase); `break` keeps this one */
		if (rr == RWR_LAST || (rr == RWR_CONTINUE && r->loc_rewrote))
			continue;
		r->uri_break = rr == RWR_BREAK && r->loc_rewrote;
		break;
	}
	http_run_content(c);
}

void http_internal_redirect(struct conn *c, struct lstr uri, struct lstr args)
{
	struct http_req *r = &c->req;

	r->internal = true;
	r->uri_changed = true;
	r->u.uri = uri;
	r->u.args = args;
	r->cap.n = 0;
	r->seclink_expires = (struct lstr){NULL, 0}; /* nginx clears module state */
	http_find_config(c);
}

void http_named_location(struct conn *c, struct lstr name)
{
	struct http_req *r = &c->req;
	struct cfg_loc *l = find_named(r->srv, name);

	if (!l) {
		http_log(c, NULL, LOG_ERR, "could not find named location \"%.*s\"", (int)name.len,
			 name.p);
		http_finalize(c, 500);
		return;
	}
	if (r->uri_changes-- <= 0) {
		http_finalize(c, 500);
		return;
	}
	r->internal = true;
	r->loc = l;
	r->seclink_expires = (struct lstr){NULL, 0}; /* nginx clears module state */
	if (http_run_rewrites(c, l) == RWR_DONE)
		return;
	http_run_content(c);
}
