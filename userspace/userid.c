/* SPDX-License-Identifier: MIT */
/*
 * userid (userid on|v1|log): the client's identifier cookie, read once per
 * request into its pool (userid_req), made when none valid came (or
 * $uid_reset asks), and put on every main request's head by
 * http_head_finish as nginx's header filter does. The encoding is nginx's
 * to the byte: a cookie made by one reads back in the other.
 *
 * Owns the worker's sequences (thread-local, as nginx's are per process).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "cfg-t.h"
#include "http.h"
#include "pool.h"
#include "userid.h"
#include "var.h"

static __thread struct userid_seq worker_seq = {0, 1, 0x03030302};

void userid_encode(const uint32_t uid[4], int mark, char *out)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char in[16];
	size_t o = 0;

	memcpy(in, uid, 16);
	for (size_t i = 0; i < 15; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	/* the 16th byte: two characters and the padding */
	out[o++] = b64[in[15] >> 2];
	out[o++] = b64[(in[15] & 3) << 4];
	out[o++] = mark ? (char)mark : '=';
	out[o] = '=';
}

int userid_decode(const char *s, size_t n, uint32_t uid[4])
{
	unsigned char buf[18] = {0};
	size_t got;

	if (n < 22)
		return -EINVAL;
	/* nginx decodes 22 characters: a mark may follow, or old garbage */
	if (!auth_b64_decode(s, 22, buf, &got))
		return -EILSEQ;
	memcpy(uid, buf, 16);
	return 0;
}

void userid_make(uint32_t uid[4], int mode, int64_t service, const struct sockaddr *local,
		 uint32_t now, struct userid_seq *s)
{
	if (mode == USERID_V1) {
		uid[0] = service == CFG_UNSET ? 0 : (uint32_t)service;
		uid[1] = now;
		uid[2] = s->start;
		uid[3] = s->v1;
		s->v1 += 0x100;
		return;
	}
	if (service != CFG_UNSET)
		uid[0] = htonl((uint32_t)service);
	else if (local && local->sa_family == AF_INET6)
		memcpy(&uid[0], ((const struct sockaddr_in6 *)local)->sin6_addr.s6_addr + 12, 4);
	else if (local && local->sa_family == AF_INET)
		uid[0] = ((const struct sockaddr_in *)local)->sin_addr.s_addr;
	else
		uid[0] = 0; /* a unix socket */
	uid[1] = htonl(now);
	uid[2] = htonl(s->start);
	uid[3] = htonl(s->v2);
	s->v2 += 0x100;
	if (s->v2 < 0x03030302)
		s->v2 = 0x03030302;
}

int userid_hex(struct conn *c, const char *name, const uint32_t uid[4], struct lstr *out)
{
	size_t nl = strlen(name);
	char *p = pool_alloc(&c->pool, nl + 1 + 32 + 1);

	if (!p)
		return -ENOMEM;
	snprintf(p, nl + 34, "%s=%08X%08X%08X%08X", name, uid[0], uid[1], uid[2], uid[3]);
	*out = (struct lstr){p, nl + 33};
	return 0;
}

size_t userid_cookie_time(char *out, int64_t t)
{
	static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;
	int year, k;

	gmtime_r(&tt, &tm);
	year = tm.tm_year + 1900;
	/* nginx: two digits up to 2037 (old browsers), four after */
	k = snprintf(out, 40,
		     year > 2037 ? "%s, %02d-%s-%d %02d:%02d:%02d GMT"
				 : "%s, %02d-%s-%02d %02d:%02d:%02d GMT",
		     wd[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], year > 2037 ? year : year % 100,
		     tm.tm_hour, tm.tm_min, tm.tm_sec);
	return k < 0 ? 0 : (size_t)LBD_MIN(k, 39);
}

/* conf - the userid settings for C's request. */
static const struct userid_loc *conf(const struct conn *c)
{
	const struct cfg_loc *l = c->req.loc ? c->req.loc : c->req.srv ? &c->req.srv->loc : NULL;

	return l ? &l->userid : NULL;
}

/* get - the request's state, the cookie read on first use (nginx's
 * ngx_http_userid_get_uid, with its two log lines). NULL on OOM. */
static struct userid_req *get(struct conn *c, const struct userid_loc *u)
{
	struct userid_req *q = c->req.uid;
	struct lstr v, line;
	int rc;

	if (q)
		return q;
	q = pool_zalloc(&c->pool, sizeof(*q));
	if (!q)
		return NULL;
	c->req.uid = q;
	if (var_cookie_line(c, u->name, strlen(u->name), &v, &line) != 0)
		return q;
	q->value = v.p;
	q->value_len = v.len;
	rc = userid_decode(v.p, v.len, q->got);
	if (rc == -EINVAL)
		http_log(c, NULL, LOG_ERR, "client sent too short userid cookie \"%.*s\"",
			 (int)line.len, line.p);
	else if (rc)
		http_log(c, NULL, LOG_ERR, "client sent invalid userid cookie \"%.*s\"",
			 (int)line.len, line.p);
	if (rc)
		memset(q->got, 0, sizeof(q->got));
	return q;
}

/* marked - whether the received cookie carries U's mark after its 22
 * characters. */
static bool marked(const struct userid_req *q, const struct userid_loc *u)
{
	return q->value_len > 23 && q->value[22] == (char)u->mark && q->value[23] == '=';
}

/* create - what to set for the request (nginx's create_uid): nothing for
 * a valid cookie (marked as userid_mark wants), the cookie again to mark
 * it, or a new identifier (none valid came, or $uid_reset is set). */
static int create(struct conn *c, const struct userid_loc *u, struct userid_req *q)
{
	struct lstr r = {NULL, 0};

	if (q->made)
		return 0;
	q->made = true;
	if (q->got[3]) {
		if (var_get_by_name(c, "uid_reset", 9, &r) || !r.p)
			r = (struct lstr){NULL, 0};
		if (!r.len || (r.len == 1 && r.p[0] == '0')) {
			if (u->mark && !marked(q, u))
				memcpy(q->set, q->got, sizeof(q->set));
			return 0;
		}
		q->reset = true;
		if (r.len == 3 && memcmp(r.p, "log", 3) == 0)
			http_log(c, NULL, LOG_NOTICE,
				 "userid cookie \"%s=%08X%08X%08X%08X\" was reset", u->name,
				 q->got[0], q->got[1], q->got[2], q->got[3]);
	}
	if (!worker_seq.start) {
		struct timeval tv;

		gettimeofday(&tv, NULL);
		/* nginx's start value: the usec part that fits 16 bits, and the
		 * worker's id (a thread here, a process there) */
		worker_seq.start = (uint32_t)(tv.tv_usec / 20) << 16 | (uint32_t)gettid();
	}
	userid_make(q->set, u->enable, u->service, (const struct sockaddr *)conn_local(c),
		    (uint32_t)time(NULL), &worker_seq);
	return 0;
}

int userid_var_got(struct conn *c, struct lstr *out)
{
	const struct userid_loc *u = conf(c);
	struct userid_req *q;

	if (!u || u->enable == USERID_OFF)
		return VAR_NOT_FOUND;
	q = get(c, u);
	if (!q)
		return -ENOMEM;
	if (!q->got[3])
		return VAR_NOT_FOUND;
	return userid_hex(c, u->name, q->got, out);
}

int userid_var_set(struct conn *c, struct lstr *out)
{
	const struct userid_loc *u = conf(c);
	struct userid_req *q;

	if (!u || u->enable < USERID_V1)
		return VAR_NOT_FOUND;
	q = get(c, u);
	if (!q || create(c, u, q))
		return -ENOMEM;
	if (!q->set[3])
		return VAR_NOT_FOUND;
	return userid_hex(c, u->name, q->set, out);
}

int userid_head(struct conn *c)
{
	const struct userid_loc *u = conf(c);
	struct userid_req *q;
	char date[40], *v, *p;
	size_t len;

	if (!u || u->enable < USERID_V1 || c->sr_parent)
		return 0;
	q = get(c, u);
	if (!q || create(c, u, q))
		return -ENOMEM;
	if (!q->set[3])
		return 0;
	len = strlen(u->name) + 1 + USERID_B64_LEN + strlen(u->domain) + strlen(u->path) + 128;
	p = v = pool_alloc(&c->pool, len);
	if (!v)
		return -ENOMEM;
	p += sprintf(p, "%s=", u->name);
	if (!q->got[3] || q->reset) {
		userid_encode(q->set, u->mark, p);
		p += USERID_B64_LEN;
	} else {
		/* the received value marked: its 22 characters, the mark, '=' */
		memcpy(p, q->value, 22);
		p += 22;
		*p++ = (char)u->mark;
		*p++ = '=';
	}
	if (u->expires == USERID_MAX_EXPIRES) {
		p += sprintf(p, "; expires=Thu, 31-Dec-37 23:55:55 GMT");
	} else if (u->expires > 0) {
		userid_cookie_time(date, (int64_t)time(NULL) + u->expires);
		p += sprintf(p, "; expires=%s", date);
	}
	p += sprintf(p, "%s%s%s%s%s%s%s", u->domain, u->path,
		     u->flags & USERID_F_SECURE ? "; secure" : "",
		     u->flags & USERID_F_HTTPONLY ? "; httponly" : "",
		     u->flags & USERID_F_SAMESITE_STRICT ? "; samesite=strict" : "",
		     u->flags & USERID_F_SAMESITE_LAX ? "; samesite=lax" : "",
		     u->flags & USERID_F_SAMESITE_NONE ? "; samesite=none" : "");
	if (http_head_add(c, "Set-Cookie", 10, v, (size_t)(p - v)))
		return -ENOMEM;
	if (u->p3p[0] && http_head_add(c, "P3P", 3, u->p3p, strlen(u->p3p)))
		return -ENOMEM;
	return 0;
}
