/* SPDX-License-Identifier: MIT */
/*
 * The resolver, per worker, as nginx's: a name is asked of the
 * configured DNS servers over UDP (A, and AAAA unless `ipv6=off`, both at
 * once; a truncated answer is asked again over TCP; an alias answered
 * alone is followed), requests for a name being asked wait on it together, and the
 * answer is kept for its TTL (or `valid=`). No answer within 5 s: asked
 * again of the next server; none within `resolver_timeout`: every waiter
 * gets "timed out" (110). An error (NXDOMAIN, SERVFAIL, no address) goes
 * to the waiters and is not kept, as nginx. Answers are checked against
 * the query (ID, question, the server it went to) before they count.
 *
 * Bounds: RES_MAX_ENTRIES names per worker (expired ones are dropped to
 * make room; a full table of fresh names answers SERVFAIL), DNS_MAX_ADDR
 * addresses per name, no allocation per lookup of a cached name.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include "ev.h"
#include "lbd.h"
#include "log.h"
#include "resolver.h"
#include "worker.h"

#define RES_MAX_ENTRIES 256
#define RES_RESEND_MS	5000 /* nginx's resend_timeout */
#define RES_MAX_HOPS	8    /* CNAMEs followed for one name */

struct dns_tcp;

struct dns_ent {
	char name[DNS_MAX_NAME + 1];
	size_t len;
	bool ipv4, ipv6;	      /* what is asked (part of the key) */
	bool pending;		      /* asked, not answered yet */
	bool notifying;		      /* its waiters are being called: not to be freed
				  * (a callback may look the name up again) */
	bool want[2];		      /* [0] A, [1] AAAA: still waiting for it */
	char qn[2][DNS_MAX_NAME + 1]; /* the name each query asks: NAME, or the
				       * target of a CNAME answered alone */
	size_t qlen[2];
	int hops[2];		 /* CNAMEs followed */
	struct dns_tcp *tcp[2];	 /* a query asked again over TCP, or NULL */
	uint16_t id[2];		 /* their query IDs */
	int code[2];		 /* their answers' codes */
	uint32_t ttl;		 /* smallest TTL of the answers */
	int64_t valid_until;	 /* answered: kept until then (loop clock) */
	int64_t deadline;	 /* pending: resolver_timeout */
	struct dns_addrs addrs;	 /* answered */
	struct resolver_conf rc; /* the servers asked (a copy: a reload may
				   * free the configuration first) */
	int server;		 /* the server asked last */
	struct ev_timer timer;	 /* resend / deadline */
	struct dns_waiter *waiters;
	struct resolver_w *res;
};

struct resolver_w {
	struct worker *w;
	int fd[2]; /* UDP sockets, [0] IPv4, [1] IPv6 servers; -1 unused */
	struct ev_io io[2];
	struct dns_ent *ent[RES_MAX_ENTRIES];
	int nent;
	uint8_t buf[DNS_MAX_MSG + 1];
};

static uint16_t new_id(void)
{
	uint16_t id;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = (uint16_t)random();
	return id;
}

/* struct dns_tcp - a query asked again over TCP after a truncated answer
 * (as nginx): the query behind its 2-byte length out, then the answer's
 * length and the answer in. One per query at most; rare, so allocated. */
struct dns_tcp {
	struct ev_io io;
	struct dns_ent *e;
	int q;
	size_t outlen, sent; /* out: the framed query */
	size_t got, need;    /* in: need is 0 until the length is read */
	uint8_t out[2 + DNS_MAX_NAME + 32];
	uint8_t in[2 + 65535];
};

static void tcp_close(struct resolver_w *res, struct dns_tcp *t)
{
	ev_io_stop(&res->w->loop, &t->io);
	close(t->io.fd);
	t->e->tcp[t->q] = NULL;
	free(t);
}

/* unlink - take E out of the table (a new lookup of its name asks anew). */
static void unlink_ent(struct resolver_w *res, struct dns_ent *e)
{
	for (int i = 0; i < res->nent; i++)
		if (res->ent[i] == e) {
			res->ent[i] = res->ent[--res->nent];
			break;
		}
	ev_timer_stop(&res->w->loop, &e->timer);
	for (int q = 0; q < 2; q++)
		if (e->tcp[q])
			tcp_close(res, e->tcp[q]);
}

/* notify - E is answered (CODE, and its addresses when 0): every waiter
 * gets it, one at a time (a waiter's callback may cancel another). */
static void notify(struct dns_ent *e, int code)
{
	struct dns_waiter *wt;

	e->notifying = true;
	while ((wt = e->waiters)) {
		e->waiters = wt->next;
		if (e->waiters)
			e->waiters->prev = NULL;
		wt->next = wt->prev = NULL;
		wt->ent = NULL;
		wt->code = code;
		if (!code)
			wt->addrs = e->addrs;
		wt->cb(wt);
	}
	e->notifying = false;
}

/* fail - E ends with CODE for its waiters, and is forgotten (errors are
 * not kept, as nginx). */
static void fail(struct resolver_w *res, struct dns_ent *e, int code)
{
	unlink_ent(res, e);
	notify(e, code);
	free(e);
}

static int sock_for(struct resolver_w *res, int fam)
{
	int i = fam == AF_INET6, rc;

	if (res->fd[i] >= 0)
		return res->fd[i];
	res->fd[i] = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (res->fd[i] < 0)
		return -errno;
	res->io[i].fd = res->fd[i];
	/* level-triggered: a read round stops after a budget of datagrams */
	rc = ev_io_start(&res->w->loop, &res->io[i], EPOLLIN);
	if (rc) {
		close(res->fd[i]);
		res->fd[i] = -1;
		return rc;
	}
	return res->fd[i];
}

/* query_msg - query Q of E (A or AAAA for its current name) into BUF;
 * its length, or -1 when it does not fit. */
static int query_msg(const struct dns_ent *e, int q, uint8_t *buf, size_t len)
{
	return dns_query(buf, len, e->id[q], e->qn[q], e->qlen[q], q ? DNS_AAAA : DNS_A);
}

/* send_query - one datagram: query Q of E to E's current server. 0, or
 * -errno (a lost datagram is resent by the entry's timer). */
static int send_query(struct resolver_w *res, struct dns_ent *e, int q)
{
	const struct sockaddr_storage *sa = &e->rc.addr[e->server];
	uint8_t msg[DNS_MAX_NAME + 32];
	int fd = sock_for(res, sa->ss_family), n;

	if (fd < 0)
		return fd;
	n = query_msg(e, q, msg, sizeof(msg));
	if (n < 0)
		return -EINVAL;
	if (sendto(fd, msg, (size_t)n, 0, (const struct sockaddr *)sa, e->rc.addrlen[e->server]) !=
	    n)
		return -errno;
	return 0;
}

/* send_queries - ask E's outstanding queries of its current server. */
static int send_queries(struct resolver_w *res, struct dns_ent *e)
{
	int rc = -EINVAL, sent = 0;

	for (int q = 0; q < 2; q++)
		if (e->want[q] && (rc = send_query(res, e, q)) == 0)
			sent++;
	return sent ? 0 : rc;
}

static void ent_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct dns_ent *e = t->data;
	struct resolver_w *res = e->res;
	int64_t now = ev_now(loop);

	if (now >= e->deadline) {
		fail(res, e, 110);
		return;
	}
	e->server = (e->server + 1) % e->rc.naddr;
	send_queries(res, e);
	ev_timer_start(loop, &e->timer, LBD_MIN(RES_RESEND_MS, e->deadline - now));
}

/* follow - an answer with an alias and no address (a resolver that does
 * not chase it): ask for the alias's target instead, as nginx does, up to
 * RES_MAX_HOPS deep. True when asked. */
static bool follow(struct resolver_w *res, struct dns_ent *e, int q, const struct dns_answer *ans)
{
	if (ans->rcode || ans->naddrs || !ans->cname_len || e->hops[q] >= RES_MAX_HOPS ||
	    !dns_name_ok(ans->cname, ans->cname_len))
		return false;
	e->hops[q]++;
	memcpy(e->qn[q], ans->cname, ans->cname_len);
	e->qlen[q] = ans->cname_len;
	if (ans->ttl < e->ttl)
		e->ttl = ans->ttl; /* the alias's lifetime bounds the answer's */
	e->id[q] = new_id();
	send_query(res, e, q); /* a lost datagram is resent by the entry's timer */
	return true;
}

/* answered - query Q of E came back (ANS). */
static void answered(struct resolver_w *res, struct dns_ent *e, int q, const struct dns_answer *ans)
{
	bool v6 = q == 1;

	if (follow(res, e, q, ans))
		return;
	e->want[q] = false;
	e->code[q] = ans->rcode;
	if (!ans->rcode) {
		if (ans->ttl < e->ttl)
			e->ttl = ans->ttl;
		for (int i = 0; i < ans->naddrs && e->addrs.n < DNS_MAX_ADDR; i++) {
			struct sockaddr_storage *ss = &e->addrs.addr[e->addrs.n];

			memset(ss, 0, sizeof(*ss));
			if (v6) {
				struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

				s6->sin6_family = AF_INET6;
				memcpy(&s6->sin6_addr, ans->addrs[i], 16);
				e->addrs.addrlen[e->addrs.n++] = sizeof(*s6);
			} else {
				struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

				s4->sin_family = AF_INET;
				memcpy(&s4->sin_addr, ans->addrs[i], 4);
				e->addrs.addrlen[e->addrs.n++] = sizeof(*s4);
			}
		}
	}
	if (e->want[0] || e->want[1])
		return;
	if (!e->addrs.n) {
		/* nginx: an error of either query, else no address at all is
		 * "Host not found" */
		fail(res, e, e->code[0] ? e->code[0] : e->code[1] ? e->code[1] : DNS_NXDOMAIN);
		return;
	}
	/* IPv4 addresses first, as nginx lists them */
	e->pending = false;
	ev_timer_stop(&res->w->loop, &e->timer);
	e->valid_until =
		ev_now(&res->w->loop) + (e->rc.valid_ms ? e->rc.valid_ms : (int64_t)e->ttl * 1000);
	notify(e, 0);
}

static void answered(struct resolver_w *res, struct dns_ent *e, int q,
		     const struct dns_answer *ans);

/* tcp_io - the TCP query's progress: the query out, then the answer in,
 * read and checked as a datagram's would be. A failure closes it: the
 * entry's resend timer asks again (and a truncated answer leads here
 * again) until resolver_timeout. */
static void tcp_io(struct ev_loop *loop, struct ev_io *io, uint32_t ev)
{
	struct dns_tcp *t = io->data;
	struct dns_ent *e = t->e;
	struct resolver_w *res = e->res;
	struct dns_answer ans;
	const char *why;
	ssize_t n;
	int q = t->q;

	(void)loop;
	if (t->sent < t->outlen) {
		if (ev & EPOLLERR)
			goto fail;
		n = send(io->fd, t->out + t->sent, t->outlen - t->sent, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			goto fail;
		t->sent += (size_t)n;
		if (t->sent == t->outlen && ev_io_modify(&res->w->loop, io, EPOLLIN))
			goto fail;
		return;
	}
	n = recv(io->fd, t->in + t->got, (t->need ? t->need : 2) - t->got, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		goto fail;
	t->got += (size_t)n;
	if (!t->need && t->got == 2) {
		t->need = 2 + ((size_t)t->in[0] << 8 | t->in[1]);
		if (t->need == 2)
			goto fail;
		return;
	}
	if (t->got < t->need)
		return;
	if (dns_parse(t->in + 2, t->need - 2, e->id[q], e->qn[q], e->qlen[q], q ? DNS_AAAA : DNS_A,
		      &ans, &why)) {
		log_err("%s for %s", why, e->name);
		goto fail;
	}
	tcp_close(res, t);
	answered(res, e, q, &ans); /* may free E */
	return;
fail:
	tcp_close(res, t);
}

/* tcp_start - query Q of E came back truncated: ask it again over TCP of
 * the same server. */
static void tcp_start(struct resolver_w *res, struct dns_ent *e, int q)
{
	const struct sockaddr_storage *sa = &e->rc.addr[e->server];
	struct dns_tcp *t;
	int fd, n;

	if (e->tcp[q])
		return; /* already on its way */
	t = calloc(1, sizeof(*t));
	if (!t)
		return;
	n = query_msg(e, q, t->out + 2, sizeof(t->out) - 2);
	fd = n > 0 ? socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
	if (fd < 0) {
		free(t);
		return;
	}
	if (connect(fd, (const struct sockaddr *)sa, e->rc.addrlen[e->server]) &&
	    errno != EINPROGRESS) {
		close(fd);
		free(t);
		return;
	}
	t->out[0] = (uint8_t)(n >> 8);
	t->out[1] = (uint8_t)n;
	t->outlen = 2 + (size_t)n;
	t->e = e;
	t->q = q;
	ev_io_init(&t->io, fd, tcp_io, t);
	if (ev_io_start(&res->w->loop, &t->io, EPOLLOUT)) {
		close(fd);
		free(t);
		return;
	}
	e->tcp[q] = t;
}

static void on_read(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct resolver_w *res = io->data;

	(void)loop, (void)revents;
	for (int budget = 0; budget < 256; budget++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(io->fd, res->buf, sizeof(res->buf), 0,
				     (struct sockaddr *)&from, &fl);
		int id;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN, or an ICMP error: the resend covers it */
		}
		if ((size_t)n > DNS_MAX_MSG || (id = dns_answer_id(res->buf, (size_t)n)) < 0)
			continue;
		for (int i = 0; i < res->nent; i++) {
			struct dns_ent *e = res->ent[i];
			struct dns_answer ans;
			const char *why;
			int q;

			if (!e->pending)
				continue;
			q = e->want[0] && e->id[0] == id   ? 0
			    : e->want[1] && e->id[1] == id ? 1
							   : -1;
			if (q < 0 || !lbd_sockaddr_eq(&from, &e->rc.addr[e->server]))
				continue;
			if (res->buf[2] & 0x02) { /* TC: the whole answer over TCP */
				tcp_start(res, e, q);
				break;
			}
			if (dns_parse(res->buf, (size_t)n, (uint16_t)id, e->qn[q], e->qlen[q],
				      q ? DNS_AAAA : DNS_A, &ans, &why)) {
				log_err("%s for %s", why, e->name);
				break;
			}
			answered(res, e, q, &ans);
			break;
		}
	}
}

static struct resolver_w *res_of(struct worker *w)
{
	struct resolver_w *res = w->dns;

	if (res)
		return res;
	res = calloc(1, sizeof(*res));
	if (!res)
		return NULL;
	res->w = w;
	for (int i = 0; i < 2; i++) {
		res->fd[i] = -1;
		ev_io_init(&res->io[i], -1, on_read, res);
	}
	w->dns = res;
	return res;
}

static struct dns_ent *find(struct resolver_w *res, const struct resolver_conf *rc,
			    const char *name, size_t len)
{
	for (int i = 0; i < res->nent; i++) {
		struct dns_ent *e = res->ent[i];

		if (e->len == len && e->ipv4 == rc->ipv4 && e->ipv6 == rc->ipv6 &&
		    strncasecmp(e->name, name, len) == 0)
			return e;
	}
	return NULL;
}

/* room - a free table slot: an expired answer is dropped for it. */
static bool room(struct resolver_w *res)
{
	int64_t now = ev_now(&res->w->loop);

	if (res->nent < RES_MAX_ENTRIES)
		return true;
	for (int i = 0; i < res->nent; i++) {
		struct dns_ent *e = res->ent[i];

		if (!e->pending && !e->notifying && e->valid_until <= now) {
			unlink_ent(res, e);
			free(e);
			return true;
		}
	}
	return false;
}

static void add_waiter(struct dns_ent *e, struct dns_waiter *wt)
{
	wt->ent = e;
	wt->prev = NULL;
	wt->next = e->waiters;
	if (e->waiters)
		e->waiters->prev = wt;
	e->waiters = wt;
}

int resolver_lookup(struct worker *w, const struct resolver_conf *rc, int64_t timeout_ms,
		    const char *name, size_t len, struct dns_waiter *wt)
{
	struct resolver_w *res = res_of(w);
	struct dns_ent *e;
	int rc2;

	wt->ent = NULL;
	wt->code = 0;
	if (!res)
		return -ENOMEM;
	if (len && name[len - 1] == '.')
		len--;
	if (!dns_name_ok(name, len) || rc->naddr == 0) {
		wt->code = DNS_FORMERR;
		return 0;
	}
	e = find(res, rc, name, len);
	/* (an answer being handed out counts as fresh: with a TTL of 0 it
	 * would otherwise be freed under its own callbacks) */
	if (e && !e->pending && (e->valid_until > ev_now(&w->loop) || e->notifying)) {
		wt->addrs = e->addrs;
		return 0;
	}
	if (e && e->pending) {
		add_waiter(e, wt);
		return 1;
	}
	if (e) { /* expired */
		unlink_ent(res, e);
		free(e);
	}
	if (!room(res)) {
		wt->code = DNS_SERVFAIL;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	memcpy(e->name, name, len);
	e->len = len;
	for (int q = 0; q < 2; q++) {
		memcpy(e->qn[q], name, len);
		e->qlen[q] = len;
	}
	e->ipv4 = rc->ipv4;
	e->ipv6 = rc->ipv6;
	e->pending = true;
	e->want[0] = rc->ipv4;
	e->want[1] = rc->ipv6;
	e->id[0] = new_id();
	e->id[1] = (uint16_t)(e->id[0] + 1);
	e->ttl = UINT32_MAX;
	e->rc = *rc;
	e->server = (int)(new_id() % (unsigned)rc->naddr);
	e->res = res;
	e->deadline = ev_now(&w->loop) + timeout_ms;
	ev_timer_init(&e->timer, ent_timer, e);
	res->ent[res->nent++] = e;
	if ((rc2 = send_queries(res, e)) < 0) {
		unlink_ent(res, e);
		free(e);
		return rc2;
	}
	ev_timer_start(&w->loop, &e->timer, LBD_MIN(RES_RESEND_MS, timeout_ms));
	add_waiter(e, wt);
	return 1;
}

void resolver_cancel(struct dns_waiter *wt)
{
	struct dns_ent *e = wt->ent;

	if (!e)
		return;
	if (wt->prev)
		wt->prev->next = wt->next;
	else
		e->waiters = wt->next;
	if (wt->next)
		wt->next->prev = wt->prev;
	wt->next = wt->prev = NULL;
	wt->ent = NULL;
	/* the query goes on: its answer is kept for the next request */
}

void resolver_worker_free(struct worker *w)
{
	struct resolver_w *res = w->dns;

	if (!res)
		return;
	while (res->nent) {
		struct dns_ent *e = res->ent[0];

		unlink_ent(res, e);
		free(e);
	}
	for (int i = 0; i < 2; i++)
		if (res->fd[i] >= 0) {
			ev_io_stop(&w->loop, &res->io[i]);
			close(res->fd[i]);
		}
	free(res);
	w->dns = NULL;
}
