/* SPDX-License-Identifier: MIT */
/*
 * Built-in fail2ban (see include/f2b.h). A table is F2B_SLOTS slots of
 * (client, count, window start) in F2B_STRIPES lock stripes; a client's
 * slot is found by linear probing inside its stripe's share of the table,
 * at most F2B_PROBE slots, and when none is free the slot whose window
 * started longest ago is reused (its client's count starts again: the
 * price of bounded memory under a spray of addresses).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ban.h"
#include "cfg-t.h"
#include "f2b.h"
#include "http.h"
#include "lbd.h"
#include "log.h"
#include "realip.h"

#define F2B_SLOTS   16384 /* counters per jail */
#define F2B_STRIPES 64	  /* locks per jail */
#define F2B_PROBE   8	  /* slots looked at for one client */

/* struct f2b_slot - one client's offences in the current window. */
struct f2b_slot {
	uint8_t addr[16]; /* client (IPv4 mapped) */
	int count;	  /* offences since start_ms */
	int64_t start_ms; /* window start, 0 = free slot */
};

/* struct f2b_table - the counters of one jail name. */
struct f2b_table {
	char *name;		/* jail name */
	struct f2b_table *next; /* registry list */
	pthread_mutex_t locks[F2B_STRIPES];
	struct f2b_slot slots[F2B_SLOTS];
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct f2b_table *registry;

struct f2b_table *f2b_table_get(const char *name)
{
	struct f2b_table *t;

	pthread_mutex_lock(&reg_mu);
	for (t = registry; t; t = t->next)
		if (strcmp(t->name, name) == 0)
			goto out;
	t = calloc(1, sizeof(*t));
	if (!t)
		goto out;
	t->name = strdup(name);
	if (!t->name) {
		free(t);
		t = NULL;
		goto out;
	}
	for (int i = 0; i < F2B_STRIPES; i++)
		pthread_mutex_init(&t->locks[i], NULL);
	t->next = registry;
	registry = t;
out:
	pthread_mutex_unlock(&reg_mu);
	return t;
}

void f2b_status_set(struct f2b_jail *j, int status)
{
	if (status >= 100 && status <= 599)
		j->statuses[(status - 100) / 64] |= UINT64_C(1) << ((status - 100) % 64);
}

bool f2b_status_is(const struct f2b_jail *j, int status)
{
	if (status < 100 || status > 599)
		return false;
	return j->statuses[(status - 100) / 64] >> ((status - 100) % 64) & 1;
}

static uint32_t addr_hash(const uint8_t *a)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (int i = 0; i < 16; i++)
		h = (h ^ a[i]) * 16777619u;
	return h;
}

bool f2b_offence(const struct f2b_jail *j, const uint8_t addr[16], int64_t now_ms)
{
	struct f2b_table *t = j->table;
	uint32_t h = addr_hash(addr);
	int stripe = (int)(h % F2B_STRIPES), per = F2B_SLOTS / F2B_STRIPES;
	struct f2b_slot *base = &t->slots[stripe * per], *s = NULL, *spare = NULL, *oldest = NULL;
	int first = (int)((h / F2B_STRIPES) % (uint32_t)per);
	bool fire = false;

	pthread_mutex_lock(&t->locks[stripe]);
	for (int i = 0; i < F2B_PROBE; i++) {
		struct f2b_slot *c = &base[(first + i) % per];

		if (c->start_ms && memcmp(c->addr, addr, 16) == 0) {
			s = c;
			break;
		}
		/* a free slot, or one whose window is over, is taken first;
		 * else the one whose window started longest ago */
		if (!c->start_ms || now_ms - c->start_ms > j->findtime_ms) {
			if (!spare)
				spare = c;
		} else if (!oldest || c->start_ms < oldest->start_ms) {
			oldest = c;
		}
	}
	if (s && now_ms - s->start_ms > j->findtime_ms)
		s->start_ms = 0; /* the window is over: a new one starts */
	if (!s)
		s = spare ? spare : oldest;
	if (!s->start_ms || memcmp(s->addr, addr, 16) != 0) {
		memcpy(s->addr, addr, 16);
		s->count = 0;
		s->start_ms = now_ms;
	}
	if (++s->count >= j->maxretry) {
		fire = true;
		s->start_ms = 0; /* counted out: the ban takes over */
	}
	pthread_mutex_unlock(&t->locks[stripe]);
	return fire;
}

void f2b_request_done(struct conn *c)
{
	const struct cfg_loc *l = c->req.loc;
	struct ban_cidr cidr;
	int64_t now;

	if (!l || !l->nf2b || !ban_cidr_of(&c->peer, &cidr) || ban_allowed(&cidr))
		return;
	now = lbd_now_ms();
	for (int i = 0; i < l->nf2b; i++) {
		const struct f2b_jail *j = l->f2b[i];
		bool limited = j->on_limit_req && c->req.limit_req_rejected;
		char why[128], a[64]; /* the map keeps the first 47 bytes of why */
		int rc;

		if (!limited && !f2b_status_is(j, c->req.status))
			continue;
		if (!f2b_offence(j, cidr.addr, now))
			continue;
		if (limited)
			snprintf(why, sizeof(why), "fail2ban %s: %d x limit_req in %llds", j->name,
				 j->maxretry, (long long)(j->findtime_ms / 1000));
		else
			snprintf(why, sizeof(why), "fail2ban %s: %d x status in %llds (last %d)",
				 j->name, j->maxretry, (long long)(j->findtime_ms / 1000),
				 c->req.status);
		rc = ban_add(&cidr, j->bantime_ms, why, LB_BAN_AUTO);
		ban_cidr_format(&cidr, a, sizeof(a));
		if (rc == 0)
			log_emit(l->error_log, LOG_WARN,
				 "fail2ban \"%s\": banned %s for %llds after %d %s within %llds",
				 j->name, a, (long long)(j->bantime_ms / 1000), j->maxretry,
				 limited ? "limit_req rejections" : "offending responses",
				 (long long)(j->findtime_ms / 1000));
		else if (rc != -EEXIST)
			log_emit(l->error_log, LOG_ERR, "fail2ban \"%s\": cannot ban %s (%d: %s)",
				 j->name, a, -rc, strerror(-rc));
		/* its next request would be refused anyway; but behind a trusted
		 * proxy (realip) the connection carries other clients too */
		if (!realip_applied(c))
			c->close_after = true;
		break;
	}
}
