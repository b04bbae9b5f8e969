/* SPDX-License-Identifier: MIT */
/*
 * Worker threads and listening sockets. The main thread binds one
 * SO_REUSEPORT socket per worker per listening address (so the kernel
 * spreads new connections and a reload can keep every socket), publishes
 * the set, and posts commands (reload, quit, stop, reopen) through an
 * atomic word and an eventfd. Each worker owns its loop, its listeners
 * and its connections; nothing on the request path takes a lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "alog.h"
#include "cfg.h"
#include "http.h"
#include "lbd.h"
#include "lbd_bpf.h"
#include "log.h"
#include "steer.h"
#include "stream.h"
#include "stream_udp.h"
#include "tunnel.h"
#include "worker.h"

#define MAX_WORKERS    64
#define ACCEPT_BATCH   64
#define ACCEPT_RECLAIM 32 /* idle connections closed at once when full (nginx: 32) */

_Static_assert(MAX_WORKERS <= LB_STEER_MAX_WORKERS, "every worker has a steering slot");

_Atomic uint64_t lbd_conn_counter;

/* struct lsock - one listening address: a socket per worker. */
struct lsock {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	bool udp; /* a stream `listen ... udp` datagram socket (stream_udp.c) */
	int fds[MAX_WORKERS];
	int slot; /* steering slot (lb_steer_socks), -1 = none; kept with the sockets */
};

/* struct lset - the published set of listening sockets. */
struct lset {
	struct lsock *v;
	int n;
};

static struct worker workers[MAX_WORKERS];
static int nworkers;
static struct lset *cur_set;	       /* owned by the main thread */
static struct lset *retired;	       /* previous set, freed once workers moved on */
static _Atomic(struct lset *) pub_set; /* what workers adopt on reload */
static _Atomic int acks;	       /* workers that adopted pub_set */
static int steering = -1;	       /* reuseport_steering at start (1/0), -1 = not yet */

int worker_count(void)
{
	return nworkers;
}

static bool same(const struct sockaddr_storage *a, socklen_t al, const struct sockaddr_storage *b,
		 socklen_t bl)
{
	return al == bl && memcmp(a, b, al) == 0;
}

/* unix_path - the file of a unix listening address, or NULL for others. */
static const char *unix_path(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_UNIX ? ((const struct sockaddr_un *)a)->sun_path : NULL;
}

/* close_lsock - close the N sockets of a listening address this process
 * made, and remove its file if it is a unix one (nginx at exit, and for an
 * address a reload drops: "deleting socket PATH"). */
static void close_lsock(struct lsock *ls, int n, bool say)
{
	const char *path = unix_path(&ls->addr);

	for (int k = 0; k < n; k++)
		close(ls->fds[k]);
	if (path) {
		if (say)
			log_warn("deleting socket %s", path);
		if (unlink(path) == -1 && errno != ENOENT)
			log_emit(NULL, LOG_EMERG, "unlink() %s failed (%d: %s)", path, errno,
				 strerror(errno));
	}
}

/* bind_unix - the one listening socket of a unix address, world-writable as
 * nginx makes it (every worker gets a dup of it: unix sockets have no
 * SO_REUSEPORT groups). A file already there is an error, as in nginx. */
static int bind_unix(const struct cfg_listen *l, char *err, size_t errlen)
{
	int fd = socket(AF_UNIX, (l->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);
	const char *path = unix_path(&l->addr);

	if (fd == -1) {
		snprintf(err, errlen, "socket() %s failed (%d: %s)", l->text, errno,
			 strerror(errno));
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == -1) {
		snprintf(err, errlen, "bind() to %s failed (%d: %s)", l->text, errno,
			 strerror(errno));
		close(fd);
		return -1;
	}
	if (chmod(path, 0666) == -1 ||
	    (!l->udp && listen(fd, l->backlog > 0 ? l->backlog : 511) == -1)) {
		snprintf(err, errlen, "listen() to %s failed (%d: %s)", l->text, errno,
			 strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

/* address_free - 0 when no other socket holds L's address, else the
 * errno of a plain bind (EADDRINUSE). lbd's own sockets all use
 * SO_REUSEPORT (one per worker), which would let them join another
 * process's reuseport group on the same port without a word, the two
 * then splitting the connections; nginx gets "Address already in use"
 * there unless `listen ... reuseport` asks for sharing. A bind without
 * SO_REUSEPORT (SO_REUSEADDR still passes TIME_WAIT leftovers) tells. */
static int address_free(const struct cfg_listen *l)
{
	int fd = socket(l->addr.ss_family, (l->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	int one = 1, e = 0;

	if (fd == -1)
		return 0; /* the real socket() reports it */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->addr.ss_family == AF_INET6) {
		int v6only = l->ipv6only == 0 ? 0 : 1;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	}
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == -1 && errno == EADDRINUSE)
		e = errno;
	close(fd);
	return e;
}

static unsigned port_of(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_port;
	if (a->ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)a)->sin6_port;
	return 0;
}

/* port_ours - a socket of set S (its first N entries) is on L's port and
 * protocol: a wildcard and a specific address of one port both bound by
 * lbd overlap, so a plain bind would find lbd's own socket there. */
static bool port_ours(const struct lset *s, int n, const struct cfg_listen *l)
{
	for (int k = 0; s && k < n; k++)
		if (s->v[k].udp == l->udp && port_of(&s->v[k].addr) == port_of(&l->addr))
			return true;
	return false;
}

/* bind_one - one listening socket of L (of a worker). FIRST: the first of
 * a new address on a port lbd holds no other socket on, checked for
 * another process holding it. */
static int bind_one(const struct cfg_listen *l, bool first, char *err, size_t errlen)
{
	int fd, one = 1, e;
	char addr[128];

	snprintf(addr, sizeof(addr), "%s", l->text);
	if (first && !l->reuseport && (e = address_free(l)) != 0) {
		snprintf(err, errlen, "bind() to %s failed (%d: %s)", addr, e, strerror(e));
		return -1;
	}
	fd = socket(l->addr.ss_family,
		    (l->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket() %s failed (%d: %s)", addr, errno, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (l->addr.ss_family == AF_INET6) {
		int v6only = l->ipv6only == 0 ? 0 : 1;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	}
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == -1) {
		snprintf(err, errlen, "bind() to %s failed (%d: %s)", addr, errno, strerror(errno));
		close(fd);
		return -1;
	}
	if (l->udp && !stream_udp_socket(fd, l)) {
		snprintf(err, errlen, "setsockopt(IP_PKTINFO) %s failed (%d: %s)", addr, errno,
			 strerror(errno));
		close(fd);
		return -1;
	}
	if (l->udp) /* datagrams: no listen() */
		return fd;
	if (listen(fd, l->backlog > 0 ? l->backlog : 511) == -1) {
		snprintf(err, errlen, "listen() to %s failed (%d: %s)", addr, errno,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* free_slot - the lowest steering slot that neither the current set nor
 * the new one (its first N entries) uses: a removed address's slot is
 * reused only once its sockets are gone. -1 when all are taken. */
static int free_slot(const struct lset *s, int n)
{
	uint64_t used = 0;

	_Static_assert(LB_STEER_MAX_SLOTS <= 64, "slots fit the bit set");
	for (int k = 0; cur_set && k < cur_set->n; k++)
		if (cur_set->v[k].slot >= 0)
			used |= UINT64_C(1) << cur_set->v[k].slot;
	for (int k = 0; k < n; k++)
		if (s->v[k].slot >= 0)
			used |= UINT64_C(1) << s->v[k].slot;
	for (int i = 0; i < LB_STEER_MAX_SLOTS; i++)
		if (!(used & (UINT64_C(1) << i)))
			return i;
	return -1;
}

static void free_set(struct lset *s)
{
	if (s) {
		free(s->v);
		free(s);
	}
}

/* worker_bind_listeners - build the listening set for CFG, keeping the
 * sockets of addresses the current set already has. On success the new
 * set is published (workers adopt it on WCMD_RELOAD); sockets of removed
 * addresses are closed by their workers. */
int worker_bind_listeners(struct cfg *cfg, int n, char *err, size_t errlen)
{
	struct cfg_http *h = cfg->http;
	struct lset *s = calloc(1, sizeof(*s));
	int nh = h ? h->nlgroups : 0, ng = nh;

	while (stream_listen_at(cfg, ng - nh)) /* stream servers' addresses follow */
		ng++;
	if (!s || !(s->v = calloc((size_t)(ng ? ng : 1), sizeof(*s->v)))) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* at start, while privileged: the program is loaded once */
	if (steering < 0) {
		steering = cfg->reuseport_steering != 0;
		steer_init(steering, n, cfg->bpf_pin_path);
	} else if (steering != (cfg->reuseport_steering != 0)) {
		log_warn("reuseport_steering changed: takes effect after a restart");
	}
	for (int i = 0; i < ng; i++) {
		const struct cfg_listen *l =
			i < nh ? h->lgroups[i].listen : stream_listen_at(cfg, i - nh);
		struct lsock *ls = &s->v[s->n++];
		struct lsock *old = NULL;

		memcpy(&ls->addr, &l->addr, l->addrlen);
		ls->addrlen = l->addrlen;
		ls->udp = l->udp;
		for (int k = 0; cur_set && k < cur_set->n; k++)
			if (cur_set->v[k].udp == l->udp &&
			    same(&cur_set->v[k].addr, cur_set->v[k].addrlen, &l->addr, l->addrlen))
				old = &cur_set->v[k];
		/* datagram sockets keep the kernel's reuseport hash (a client's
		 * datagrams reach one worker, where its session is) */
		ls->slot = old				   ? old->slot
			   : unix_path(&l->addr) || l->udp ? -1
							   : free_slot(s, s->n - 1);
		for (int w = 0; w < n; w++) {
			if (old) {
				ls->fds[w] = old->fds[w];
				continue;
			}
			if (!unix_path(&l->addr))
				ls->fds[w] = bind_one(
					l,
					w == 0 && !port_ours(s, s->n - 1, l) &&
						!port_ours(cur_set, cur_set ? cur_set->n : 0, l),
					err, errlen);
			else if (w == 0)
				ls->fds[w] = bind_unix(l, err, errlen);
			else if ((ls->fds[w] = fcntl(ls->fds[0], F_DUPFD_CLOEXEC, 0)) == -1)
				snprintf(err, errlen, "dup() %s failed (%d: %s)", l->text, errno,
					 strerror(errno));
			if (ls->fds[w] < 0) {
				/* close what this call created */
				if (w > 0)
					close_lsock(ls, w, false);
				for (int j = 0; j < s->n - 1; j++) {
					bool reused = false;

					for (int k = 0; cur_set && k < cur_set->n; k++)
						reused |= cur_set->v[k].udp == s->v[j].udp &&
							  same(&cur_set->v[k].addr,
							       cur_set->v[k].addrlen, &s->v[j].addr,
							       s->v[j].addrlen);
					if (!reused && !s->v[j].udp)
						steer_detach(&s->v[j].addr, s->v[j].addrlen);
					if (!reused)
						close_lsock(&s->v[j], n, false);
				}
				free(s->v);
				free(s);
				return -EADDRINUSE;
			}
		}
		if (!old && ls->slot >= 0)
			steer_attach(ls->slot, &ls->addr, ls->addrlen, ls->fds, n);
	}
	/* removed addresses: their sockets close as the workers adopt s */
	for (int k = 0; cur_set && k < cur_set->n; k++) {
		bool kept = false;

		for (int j = 0; j < s->n; j++)
			kept |= cur_set->v[k].udp == s->v[j].udp &&
				same(&cur_set->v[k].addr, cur_set->v[k].addrlen, &s->v[j].addr,
				     s->v[j].addrlen);
		if (!kept && !cur_set->v[k].udp)
			steer_detach(&cur_set->v[k].addr, cur_set->v[k].addrlen);
		if (!kept) /* its file only: the workers close the sockets as they adopt s */
			close_lsock(&cur_set->v[k], 0, true);
	}
	free_set(retired); /* a bind without a reload after it */
	retired = cur_set;
	cur_set = s;
	atomic_store(&pub_set, s);
	return 0;
}

char *worker_relay_get(struct worker *w)
{
	if (w->nrelay_free)
		return w->relay_free[--w->nrelay_free];
	return malloc(RELAY_BUF_SIZE);
}

void worker_relay_put(struct worker *w, char *b)
{
	if (w->nrelay_free < 64) {
		if (!w->relay_free) {
			w->relay_free = calloc(64, sizeof(char *));
			if (!w->relay_free) {
				free(b);
				return;
			}
		}
		w->relay_free[w->nrelay_free++] = b;
		return;
	}
	free(b);
}

/* ---- accepting ---------------------------------------------------------------- */

/* serves - whether W reads L. A unix datagram socket is one socket that
 * every worker holds a dup of (no SO_REUSEPORT group to split clients by):
 * worker 0 alone reads it, so a client's datagrams all reach the worker
 * that holds its session. */
static bool serves(const struct worker *w, const struct listener *l)
{
	return w->id == 0 || !l->udp || l->addr.ss_family != AF_UNIX;
}

static void pause_accept(struct worker *w, int64_t ms)
{
	if (w->accept_paused)
		return;
	w->accept_paused = true;
	for (int i = 0; i < w->nls; i++)
		ev_io_stop(&w->loop, &w->ls[i].io);
	ev_timer_start(&w->loop, &w->accept_timer, ms);
}

static void resume_accept(struct worker *w)
{
	if (!w->accept_paused || w->quitting)
		return;
	w->accept_paused = false;
	w->accept_nofd = false;
	for (int i = 0; i < w->nls; i++)
		if (serves(w, &w->ls[i]))
			ev_io_start(&w->loop, &w->ls[i].io, EPOLLIN);
}

void worker_fd_freed(struct worker *w)
{
	if (!w->accept_nofd || !w->accept_paused)
		return;
	ev_timer_stop(&w->loop, &w->accept_timer);
	resume_accept(w);
}

static void accept_timer_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct worker *w = t->data;

	(void)loop;
	if (w->nconns >= w->cfg->worker_connections && !http_reclaim(w, ACCEPT_RECLAIM)) {
		ev_timer_start(&w->loop, &w->accept_timer, 50);
		return;
	}
	resume_accept(w);
}

static struct listen_group *lg_for(struct worker *w, const struct listener *l)
{
	struct cfg_http *h = w->cfg->http;

	for (int i = 0; h && i < h->nlgroups; i++) {
		const struct cfg_listen *cl = h->lgroups[i].listen;

		if (same(&cl->addr, cl->addrlen, &l->addr, l->addrlen))
			return &h->lgroups[i];
	}
	return NULL;
}

/* listener_nodelay - give L's socket the TCP_NODELAY its connections want:
 * Linux copies it to each accepted socket, so one setsockopt serves them
 * all. Whether they have it now. */
static bool listener_nodelay(struct listener *l, const struct listen_group *lg)
{
	int want = lg->default_srv->loc.tcp_nodelay;

	if (likely(l->nodelay == want + 1))
		return true;
	if (l->addr.ss_family == AF_UNIX)
		return false;
	if (setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &want, sizeof(want)) == -1)
		return false;
	l->nodelay = (uint8_t)(want + 1);
	return true;
}

static void accept_cb(struct ev_loop *loop, struct ev_io *io, uint32_t ev)
{
	struct listener *l = io->data;
	struct worker *w = l->w;
	struct listen_group *lg = lg_for(w, l);
	bool nodelay = lg && listener_nodelay(l, lg);

	(void)loop, (void)ev;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int fd;

		if (w->nconns >= w->cfg->worker_connections) {
			if (http_reclaim(w, ACCEPT_RECLAIM)) {
				log_warn(
					"%d worker_connections are not enough, reusing connections",
					w->cfg->worker_connections);
			} else {
				log_warn("%d worker_connections are not enough",
					 w->cfg->worker_connections);
				pause_accept(w, 50);
				return;
			}
		}
		fd = accept4(l->fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_err("accept4() failed (%d: %s)", errno, strerror(errno));
				pause_accept(w, 100);
				w->accept_nofd = errno == EMFILE || errno == ENFILE;
			}
			return;
		}
		if (!lg) {
			const struct cfg_listen *sl;
			struct stream_srv *ss =
				stream_find_server(w->cfg, &l->addr, l->addrlen, &sl);

			if (ss)
				stream_accept(w, fd, ss, sl, &peer, pl);
			else
				close(fd);
			continue;
		}
		http_accept(w, fd, lg, &peer, pl, nodelay);
	}
}

/* adopt_set - take this worker's sockets from the published set; stop and
 * close those no longer in it. */
static void adopt_set(struct worker *w, struct lset *s)
{
	struct listener *nl = calloc((size_t)(s->n ? s->n : 1), sizeof(*nl));

	if (!nl) {
		log_err("out of memory adopting listeners; keeping the old ones");
		return;
	}
	for (int i = 0; i < w->nls; i++) {
		bool kept = false;

		for (int k = 0; k < s->n; k++)
			kept |= s->v[k].fds[w->id] == w->ls[i].fd;
		ev_io_stop(&w->loop, &w->ls[i].io);
		if (!kept && w->ls[i].udp)
			stream_udp_unlisten(w, w->ls[i].fd); /* its sessions end */
		if (!kept)
			close(w->ls[i].fd);
	}
	/* An accept event for an old listener may still be in this epoll
	 * batch (a reload command arrived with it): the loop reads its
	 * stopped ev_io after this callback, so the array must outlive the
	 * batch (ASan saw the use after free in ev_run). */
	if (ev_defer(&w->loop, free, w->ls))
		log_err("out of memory deferring a free: %d listeners leaked", w->nls);
	w->ls = nl;
	w->nls = s->n;
	for (int i = 0; i < s->n; i++) {
		struct listener *l = &nl[i];

		l->w = w;
		l->fd = s->v[i].fds[w->id];
		memcpy(&l->addr, &s->v[i].addr, s->v[i].addrlen);
		l->addrlen = s->v[i].addrlen;
		l->udp = s->v[i].udp;
		ev_io_init(&l->io, l->fd, l->udp ? stream_udp_read_cb : accept_cb, l);
		if (!w->accept_paused && !w->quitting && serves(w, l))
			ev_io_start(&w->loop, &l->io, EPOLLIN);
	}
}

/* ---- commands ------------------------------------------------------------------ */

static void stop_listening(struct worker *w)
{
	for (int i = 0; i < w->nls; i++) {
		ev_io_stop(&w->loop, &w->ls[i].io);
		if (w->ls[i].udp) /* its sessions end, as nginx's on shutdown */
			stream_udp_unlisten(w, w->ls[i].fd);
		close(w->ls[i].fd);
	}
	w->nls = 0;
}

static void check_quit(struct worker *w)
{
	if (w->quitting && w->nconns == 0 && stream_active() == 0)
		w->loop.stop = true;
}

static void cmd_cb(struct ev_loop *loop, struct ev_io *io, uint32_t ev)
{
	struct worker *w = io->data;
	uint64_t v;
	int cmd;

	(void)loop, (void)ev;
	while (read(w->evfd, &v, sizeof(v)) == sizeof(v))
		;
	cmd = atomic_exchange(&w->cmd, WCMD_NONE);
	if (cmd & WCMD_RELOAD) {
		struct cfg *n = atomic_exchange(&w->next_cfg, NULL);

		if (n) {
			cfg_unref(w->cfg);
			w->cfg = n;
		}
		adopt_set(w, atomic_load(&pub_set));
		/* idle keep-alive clients keep their generation until their
		 * next request; close them so new requests see the new one */
		http_close_idle(w);
		proxy_worker_cleanup(w);
		atomic_fetch_add(&acks, 1);
	}
	if (cmd & WCMD_REOPEN)
		alog_flush_thread();
	if (cmd & WCMD_STOP) {
		while (w->conns)
			conn_close(w->conns);
		stream_close_all(w);
		stop_listening(w);
		w->loop.stop = true;
		return;
	}
	if (cmd & WCMD_QUIT) {
		w->quitting = true;
		stop_listening(w);
		http_close_idle(w);
		proxy_worker_cleanup(w);
		check_quit(w);
	}
}

static void tick_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct worker *w = t->data;

	(void)loop;
	alog_flush_tick();
	tunnel_tick();
	if (w->quitting)
		http_close_idle(w);
	check_quit(w);
	ev_timer_start(&w->loop, &w->tick, w->quitting ? 100 : 1000);
}

/* bind_cpus - worker_cpu_affinity: bind W's thread to its CPUs before its
 * loop runs, and say which, as nginx's workers do. */
static void bind_cpus(struct worker *w)
{
	uint64_t m = cfg_worker_cpus(w->cfg, w->id);
	cpu_set_t set;
	int rc;

	if (!m) {
		/* an empty mask: nginx's call fails, and says so */
		if (w->cfg->cpu_affinity)
			log_emit(NULL, LOG_ALERT, "sched_setaffinity() failed (%d: %s)", EINVAL,
				 strerror(EINVAL));
		return;
	}
	CPU_ZERO(&set);
	for (int i = 0; i < 64; i++)
		if (m & (UINT64_C(1) << i)) {
			log_notice("sched_setaffinity(): using cpu #%d", i);
			CPU_SET(i, &set);
		}
	rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (rc)
		log_emit(NULL, LOG_ALERT, "sched_setaffinity() failed (%d: %s)", rc, strerror(rc));
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int rc;

	bind_cpus(w);
	proxy_worker_init(w);
	adopt_set(w, atomic_load(&pub_set));
	w->loop.flush = proxy_flush;
	ev_io_init(&w->evio, w->evfd, cmd_cb, w);
	ev_io_start(&w->loop, &w->evio, EPOLLIN);
	ev_timer_init(&w->accept_timer, accept_timer_cb, w);
	ev_timer_init(&w->tick, tick_cb, w);
	ev_timer_start(&w->loop, &w->tick, 1000);
	rc = ev_run(&w->loop);
	if (rc)
		log_err("worker %d: event loop failed (%d: %s)", w->id, -rc, strerror(-rc));
	while (w->conns)
		conn_close(w->conns);
	stream_close_all(w);
	proxy_worker_cleanup(w);
	stop_listening(w);
	/* run the deferred frees of the closes above */
	for (int i = 0; i < w->loop.ndefers; i++)
		w->loop.defers[i].fn(w->loop.defers[i].arg);
	w->loop.ndefers = 0;
	proxy_worker_free(w);
	http_worker_free();
	stream_worker_fini();
	alog_flush_thread();
	return NULL;
}

int worker_start_all(struct cfg *cfg, int n)
{
	sigset_t all, old;

	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int i = 0; i < n; i++) {
		struct worker *w = &workers[i];

		memset(w, 0, sizeof(*w));
		w->id = i;
		w->cfg = cfg;
		cfg_ref(cfg);
		if (ev_loop_init(&w->loop)) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			return -errno;
		}
		w->loop.data = w;
		w->loop.batch = cfg->epoll_events; /* epoll_events (CFG_UNSET: all) */
		w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->evfd == -1 || pthread_create(&w->thread, NULL, worker_main, w)) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			return -errno;
		}
		nworkers = i + 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* worker_post_all - post CMD (and, for reload, NEXT with one ref per
 * worker taken here) and wake every worker. For a reload, wait until all
 * workers adopted the new socket set (bounded), then free the old set. */
void worker_post_all(int cmd, struct cfg *next)
{
	uint64_t one = 1;

	atomic_store(&acks, 0);
	for (int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		if (cmd & WCMD_RELOAD) {
			struct cfg *old;

			cfg_ref(next);
			old = atomic_exchange(&w->next_cfg, next);
			if (old)
				cfg_unref(old);
		}
		atomic_fetch_or(&w->cmd, cmd);
		if (write(w->evfd, &one, sizeof(one)) == -1)
			log_err("eventfd write failed (%d: %s)", errno, strerror(errno));
	}
	if (cmd & WCMD_RELOAD) {
		/* The old socket set is read by workers until they adopt the new
		 * one: free it once all have (bounded wait; leak it otherwise). */
		struct timespec ms = {0, 1000000};

		for (int i = 0; i < 2000 && atomic_load(&acks) < nworkers; i++)
			nanosleep(&ms, NULL);
		if (atomic_load(&acks) >= nworkers) {
			free_set(retired);
			retired = NULL;
		}
	}
}

void worker_join_all(void)
{
	for (int i = 0; i < nworkers; i++) {
		pthread_join(workers[i].thread, NULL);
		ev_loop_fini(&workers[i].loop);
		close(workers[i].evfd);
		cfg_unref(workers[i].cfg);
		free(workers[i].ls);
		for (int k = 0; k < workers[i].nrelay_free; k++)
			free(workers[i].relay_free[k]);
		free(workers[i].relay_free);
		free(workers[i].flushq);
	}
	nworkers = 0;
	/* the workers closed their sockets; a unix address's file goes now */
	for (int k = 0; cur_set && k < cur_set->n; k++)
		if (unix_path(&cur_set->v[k].addr))
			close_lsock(&cur_set->v[k], 0, false);
	free_set(retired);
	free_set(cur_set);
	retired = cur_set = NULL;
	steer_fini();
	steering = -1;
}

/* worker_conns - client connections open on worker ID (a relaxed read of
 * a count only that worker writes: for statistics). */
int worker_conns(int id)
{
	if (id < 0 || id >= nworkers)
		return 0;
	return __atomic_load_n(&workers[id].nconns, __ATOMIC_RELAXED);
}

int worker_active_conns(void)
{
	int n = 0;

	for (int i = 0; i < nworkers; i++)
		n += workers[i].nconns;
	return n;
}
