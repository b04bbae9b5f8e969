/* SPDX-License-Identifier: MIT */
/*
 * OCSP checks of client certificates (see include/ocsp_client.h).
 *
 * Ownership: a context's settings (struct occonf) live in the SSL_CTX's
 * ex_data and die with it. A check (struct ocjob) lives in the SSL's
 * ex_data and has two owners while its thread runs: the SSL (dropped when
 * it is freed, after the worker stopped watching the eventfd, through
 * ev_defer so that an event of the current batch never sees freed
 * memory) and the thread (dropped after it wrote the eventfd); the last
 * one closes the eventfd and frees it. The thread gets its own
 * references and copies of everything it reads. Cache zones are
 * process-wide and never freed (nginx keeps its shared zones across
 * reloads too); their entries are guarded by a mutex, taken only on
 * handshakes whose server has ssl_ocsp.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lbd.h"
#include "log.h"
#include "ocsp.h"
#include "ocsp_client.h"

#define OC_MAX_PAIRS   8    /* certificates of one chain checked at most */
#define OC_ENTRY_BYTES 64   /* a zone of SIZE bytes keeps SIZE/64 answers */
#define OC_NO_NEXT_S   3600 /* an answer without nextUpdate is kept an hour */
#define OC_MAX_RUNNING 256  /* checks in flight in the process at most */
#define OC_ERR_REVOKED "certificate revoked"
#define OC_ERR_UNKNOWN "certificate status unknown"
#define OC_ERR_REQUEST "certificate status request failed"

/* struct ocentry - one cached answer: the certificate's SHA-256, its
 * status (V_OCSP_CERTSTATUS_*) and until when (wall-clock seconds). */
struct ocentry {
	unsigned char key[32];
	int status;
	time_t until; /* 0: empty slot */
};

/* struct occache - an ssl_ocsp_cache zone: a direct-mapped table (a new
 * answer replaces whatever had its slot). */
struct occache {
	char *name;
	size_t nslots;
	struct ocentry *slots;
	pthread_mutex_t mu;
	struct occache *next; /* the process's zones */
};

/* struct occonf - one context's ssl_ocsp settings. */
struct occonf {
	int mode;		  /* TLS_OCSP_ON or TLS_OCSP_LEAF */
	char *host, *port, *path; /* ssl_ocsp_responder, NULL: each certificate's */
	struct occache *cache;	  /* NULL: ssl_ocsp_cache off */
};

/* struct ocpair - a certificate and its issuer (references). */
struct ocpair {
	X509 *cert, *issuer;
};

/* struct ocjob - the check of one handshake's client chain. */
struct ocjob {
	_Atomic int refs;      /* the SSL's and the thread's */
	_Atomic bool finished; /* the thread is done: err is final */
	bool watching;	       /* io is registered with loop */
	int efd;	       /* eventfd the thread writes once, or -1 */
	struct ev_io io;       /* the worker's watch of efd */
	struct ev_loop *loop;  /* the worker's loop */
	void (*cb)(void *arg); /* the connection's continuation */
	void *arg;	       /* its argument */
	const char *err;       /* the verdict: NULL (good) or OC_ERR_* */
	int npairs;	       /* pairs[] in use, leaf first */
	struct ocpair pairs[OC_MAX_PAIRS];
	STACK_OF(X509) * chain;	  /* the verified chain, for answers' signers */
	X509_STORE *store;	  /* the context's CAs (a reference) */
	char *host, *port, *path; /* ssl_ocsp_responder (copies), or NULL */
	struct occache *cache;	  /* NULL: no cache */
};

static pthread_mutex_t zones_mu = PTHREAD_MUTEX_INITIALIZER;
static struct occache *zones;
static _Atomic int running;
static int ix_conf = -1, ix_job = -1;
static pthread_once_t ix_once = PTHREAD_ONCE_INIT;

/* ---- jobs ------------------------------------------------------------------------ */

static void job_unref(void *arg)
{
	struct ocjob *j = arg;

	if (atomic_fetch_sub(&j->refs, 1) != 1)
		return;
	if (j->efd >= 0)
		close(j->efd);
	for (int i = 0; i < j->npairs; i++) {
		X509_free(j->pairs[i].cert);
		X509_free(j->pairs[i].issuer);
	}
	sk_X509_pop_free(j->chain, X509_free);
	X509_STORE_free(j->store);
	free(j->host);
	free(j->port);
	free(j->path);
	free(j);
}

/* ssl_gone - the SSL's ex_data destructor: the worker lets go of its job
 * (after the current event batch: the eventfd may have an event in it). */
static void ssl_gone(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct ocjob *j = ptr;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (!j)
		return;
	if (j->watching) {
		ev_io_stop(j->loop, &j->io);
		j->watching = false;
	}
	if (!j->loop || ev_defer(j->loop, job_unref, j))
		job_unref(j);
}

static void conf_gone(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct occonf *cf = ptr;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (!cf)
		return;
	OPENSSL_free(cf->host);
	OPENSSL_free(cf->port);
	OPENSSL_free(cf->path);
	free(cf);
}

static void ix_init(void)
{
	ix_conf = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, conf_gone);
	ix_job = SSL_get_ex_new_index(0, NULL, NULL, NULL, ssl_gone);
}

/* ---- the cache --------------------------------------------------------------------- */

static bool cert_key(X509 *x, unsigned char key[32])
{
	unsigned int n = 0;

	if (!X509_digest(x, EVP_sha256(), key, &n) || n != 32) {
		ERR_clear_error();
		return false;
	}
	return true;
}

static struct ocentry *slot_of(struct occache *c, const unsigned char key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return &c->slots[h % c->nslots];
}

/* cache_get - X's cached status, or -1. */
static int cache_get(struct occache *c, X509 *x)
{
	unsigned char key[32];
	struct ocentry *e;
	int st = -1;

	if (!c || !cert_key(x, key))
		return -1;
	pthread_mutex_lock(&c->mu);
	e = slot_of(c, key);
	if (e->until > time(NULL) && memcmp(e->key, key, 32) == 0)
		st = e->status;
	pthread_mutex_unlock(&c->mu);
	return st;
}

static void cache_put(struct occache *c, X509 *x, int status, time_t until)
{
	unsigned char key[32];
	struct ocentry *e;

	if (!c || !cert_key(x, key))
		return;
	pthread_mutex_lock(&c->mu);
	e = slot_of(c, key);
	memcpy(e->key, key, 32);
	e->status = status;
	e->until = until;
	pthread_mutex_unlock(&c->mu);
}

/* zone - the cache zone NAME (made with room for SIZE bytes' worth of
 * answers the first time it is named; later sizes are not looked at). */
static struct occache *zone(const char *name, int64_t size)
{
	struct occache *c;

	pthread_mutex_lock(&zones_mu);
	for (c = zones; c && strcmp(c->name, name) != 0; c = c->next)
		;
	if (!c && (c = calloc(1, sizeof(*c)))) {
		c->nslots = (size_t)LBD_MAX(size / OC_ENTRY_BYTES, (int64_t)1);
		c->slots = calloc(c->nslots, sizeof(*c->slots));
		c->name = strdup(name);
		if (!c->slots || !c->name) {
			free(c->slots);
			free(c->name);
			free(c);
			c = NULL;
		} else {
			pthread_mutex_init(&c->mu, NULL);
			c->next = zones;
			zones = c;
		}
	}
	pthread_mutex_unlock(&zones_mu);
	return c;
}

/* ---- asking (the job's thread) ------------------------------------------------------ */

static const char *status_err(int status)
{
	return status == V_OCSP_CERTSTATUS_GOOD	     ? NULL
	       : status == V_OCSP_CERTSTATUS_REVOKED ? OC_ERR_REVOKED
						     : OC_ERR_UNKNOWN;
}

/* ask - P's status from its responder (J's, or the certificate's), the
 * answer checked as nginx does: successful, signed by the issuer or a
 * responder it delegated to, about P, current. The status, or -1 after
 * a logged error. *UNTIL: how long it may be kept. */
static int ask(struct ocjob *j, const struct ocpair *p, time_t *until)
{
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, p->cert, p->issuer), *id2 = NULL;
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *basic = NULL;
	ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL;
	STACK_OF(OPENSSL_STRING) *urls = NULL;
	char *host = NULL, *port = NULL, *path = NULL;
	const char *h = j->host, *po = j->port, *pa = j->path, *why = "out of memory", *part;
	unsigned char *der = NULL, *body = NULL;
	const unsigned char *bp;
	size_t blen = 0;
	int dlen, status = -1, reason, rc;

	if (!h) {
		urls = X509_get1_ocsp(p->cert);
		why = "no OCSP responder URL in the certificate";
		if (!urls || sk_OPENSSL_STRING_num(urls) == 0)
			goto fail;
		why = ocsp_parse_url(sk_OPENSSL_STRING_value(urls, 0), &host, &port, &path, &part);
		if (why)
			goto fail;
		h = host, po = port, pa = path;
	}
	why = "out of memory";
	if (!id || !req || !OCSP_request_add0_id(req, id))
		goto fail;
	id = NULL; /* the request owns it */
	if ((dlen = i2d_OCSP_REQUEST(req, &der)) <= 0)
		goto fail;
	if (!(body = ocsp_http_post(h, po, pa, der, (size_t)dlen, &blen, &why)))
		goto fail;
	bp = body;
	why = "the OCSP response does not parse";
	if (!(resp = d2i_OCSP_RESPONSE(NULL, &bp, (long)blen)))
		goto fail;
	rc = OCSP_response_status(resp);
	if (rc != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		log_err("OCSP response not successful (%d: %s) while requesting certificate status, "
			"responder: %s",
			rc, OCSP_response_status_str(rc), h);
		goto out;
	}
	why = "no basic OCSP response";
	if (!(basic = OCSP_response_get1_basic(resp)))
		goto fail;
	why = "OCSP_basic_verify() failed";
	if (OCSP_basic_verify(basic, j->chain, j->store, 0) <= 0)
		goto fail;
	why = "certificate status not found in the OCSP response";
	if (!(id2 = OCSP_cert_to_id(NULL, p->cert, p->issuer)) ||
	    !OCSP_resp_find_status(basic, id2, &status, &reason, NULL, &thisupd, &nextupd)) {
		status = -1;
		goto fail;
	}
	why = "OCSP_check_validity() failed";
	if (!OCSP_check_validity(thisupd, nextupd, 300, -1)) {
		status = -1;
		goto fail;
	}
	*until = time(NULL) + OC_NO_NEXT_S;
	if (nextupd) {
		struct tm tm;

		if (ASN1_TIME_to_tm(nextupd, &tm))
			*until = timegm(&tm);
	}
	goto out;
fail:
	log_err("%s while requesting certificate status, responder: %s, peer: %s:%s", why,
		h ? h : "-", h ? h : "-", po ? po : "-");
out:
	ERR_clear_error();
	OCSP_CERTID_free(id);
	OCSP_CERTID_free(id2);
	OCSP_REQUEST_free(req);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(basic);
	X509_email_free(urls);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	OPENSSL_free(der);
	free(body);
	return status;
}

static void *job_run(void *arg)
{
	struct ocjob *j = arg;
	const char *err = NULL;
	uint64_t one = 1;

	for (int i = 0; i < j->npairs && !err; i++) {
		int st = cache_get(j->cache, j->pairs[i].cert);
		time_t until = 0;

		if (st < 0) {
			st = ask(j, &j->pairs[i], &until);
			if (st >= 0 && st != V_OCSP_CERTSTATUS_UNKNOWN)
				cache_put(j->cache, j->pairs[i].cert, st, until);
		}
		err = st < 0 ? OC_ERR_REQUEST : status_err(st);
	}
	j->err = err;
	atomic_store_explicit(&j->finished, true, memory_order_release);
	/* an eventfd write of 1 cannot block or fail short */
	if (write(j->efd, &one, sizeof(one)) != sizeof(one))
		log_err("ssl_ocsp: eventfd write failed (%d: %s)", errno, strerror(errno));
	atomic_fetch_sub(&running, 1);
	job_unref(j);
	return NULL;
}

/* ---- the worker's side -------------------------------------------------------------- */

static void job_done(struct ev_loop *loop, struct ev_io *io, uint32_t ev)
{
	struct ocjob *j = io->data;
	uint64_t v;

	(void)ev;
	if (!atomic_load_explicit(&j->finished, memory_order_acquire))
		return;
	if (read(j->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_err("ssl_ocsp: eventfd read failed (%d: %s)", errno, strerror(errno));
	ev_io_stop(loop, io);
	j->watching = false;
	/* last: the continuation may free the SSL, and with it this job's
	 * worker reference (deferred, so J stays valid until the batch ends) */
	j->cb(j->arg);
}

/* rebuild_chain - the client's chain of a resumed session (OpenSSL keeps
 * only the verdict and the certificate), verified again against the
 * context's CAs as the handshake did; NULL when it does not verify now. */
static STACK_OF(X509) * rebuild_chain(SSL *ssl)
{
	X509_STORE *store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
	X509_STORE_CTX *sc = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = NULL;

	if (sc &&
	    X509_STORE_CTX_init(sc, store, SSL_get0_peer_certificate(ssl),
				SSL_get_peer_cert_chain(ssl)) &&
	    X509_verify_cert(sc) == 1)
		chain = X509_STORE_CTX_get1_chain(sc);
	X509_STORE_CTX_free(sc);
	ERR_clear_error();
	return chain;
}

/* job_new - a check of SSL's client chain (leaf first) as CF asks; its
 * chain NULL when there is none to check (a resumed session whose chain
 * does not verify again). NULL without memory. */
static struct ocjob *job_new(SSL *ssl, const struct occonf *cf)
{
	STACK_OF(X509) *vc = SSL_get0_verified_chain(ssl);
	struct ocjob *j = calloc(1, sizeof(*j));
	int n, want;

	if (!j)
		return NULL;
	j->efd = -1;
	atomic_init(&j->refs, 1);
	j->chain = sk_X509_num(vc) > 0 ? X509_chain_up_ref(vc) : rebuild_chain(ssl);
	if (!j->chain)
		return j;
	n = sk_X509_num(j->chain);
	/* the leaf and its issuers, the root (which nobody vouches for) left out */
	want = cf->mode == TLS_OCSP_LEAF ? 1 : n - 1;
	for (int i = 0; i < want && i + 1 < n && j->npairs < OC_MAX_PAIRS; i++) {
		X509 *c = sk_X509_value(j->chain, i), *iss = sk_X509_value(j->chain, i + 1);

		if (!X509_up_ref(c))
			goto fail;
		if (!X509_up_ref(iss)) {
			X509_free(c);
			goto fail;
		}
		j->pairs[j->npairs++] = (struct ocpair){c, iss};
	}
	return j;
fail:
	job_unref(j);
	return NULL;
}

/* job_start - J's thread; false when it cannot run (J is then answered
 * with a failed request, as an unreachable responder would be). */
static bool job_start(struct ocjob *j, SSL *ssl, const struct occonf *cf, struct ev_loop *loop)
{
	sigset_t all, old;
	pthread_t th;
	int rc;

	j->cache = cf->cache;
	j->store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
	if (!j->store || !X509_STORE_up_ref(j->store)) {
		j->store = NULL;
		return false;
	}
	if (cf->host && (!(j->host = strdup(cf->host)) || !(j->port = strdup(cf->port)) ||
			 !(j->path = strdup(cf->path))))
		return false;
	j->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (j->efd < 0)
		return false;
	j->loop = loop;
	ev_io_init(&j->io, j->efd, job_done, j);
	if (ev_io_start(loop, &j->io, EPOLLIN))
		return false;
	j->watching = true;
	if (atomic_fetch_add(&running, 1) >= OC_MAX_RUNNING) {
		atomic_fetch_sub(&running, 1);
		log_err("ssl_ocsp: %d certificate status requests already running", OC_MAX_RUNNING);
		return false;
	}
	atomic_fetch_add(&j->refs, 1); /* the thread's */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay with their threads */
	rc = pthread_create(&th, NULL, job_run, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		atomic_fetch_sub(&j->refs, 1);
		atomic_fetch_sub(&running, 1);
		return false;
	}
	pthread_detach(th);
	return true;
}

int ocsp_client_wait(void *vssl, struct ev_loop *loop, void (*cb)(void *arg), void *arg)
{
	SSL *ssl = vssl;
	const struct occonf *cf;
	struct ocjob *j;
	const char *err = NULL;
	bool all_cached = true;

	if (ix_conf < 0 || !(cf = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ix_conf)))
		return 0;
	if ((j = SSL_get_ex_data(ssl, ix_job)))
		return j->watching ? 1 : 0;
	/* nothing to ask: no certificate, or one that does not verify (the
	 * request's 495/496 tell). A resumed session is asked about again
	 * (answered from ssl_ocsp_cache when there is one): its ticket may
	 * outlive a revocation. */
	if (!SSL_get0_peer_certificate(ssl) || SSL_get_verify_result(ssl) != X509_V_OK)
		return 0;
	if (!(j = job_new(ssl, cf)))
		return 0; /* out of memory: no verdict to give either */
	if (!SSL_set_ex_data(ssl, ix_job, j)) {
		job_unref(j);
		return 0;
	}
	if (!j->chain) {
		log_err("ssl_ocsp: the client certificate of a resumed session does not verify "
			"again");
		j->err = OC_ERR_REQUEST;
		return 0;
	}
	/* every status known already: no thread */
	for (int i = 0; i < j->npairs && !err && all_cached; i++) {
		int st = cache_get(cf->cache, j->pairs[i].cert);

		if (st < 0)
			all_cached = false;
		else
			err = status_err(st);
	}
	if (err || all_cached) {
		j->err = err;
		return 0;
	}
	j->cb = cb;
	j->arg = arg;
	if (!job_start(j, ssl, cf, loop)) {
		if (j->watching) {
			ev_io_stop(loop, &j->io);
			j->watching = false;
		}
		j->err = OC_ERR_REQUEST;
		return 0;
	}
	return 1;
}

const char *ocsp_client_error(const void *vssl)
{
	struct ocjob *j;

	if (ix_job < 0 || !(j = SSL_get_ex_data((const SSL *)vssl, ix_job)) || j->watching)
		return NULL;
	return j->err;
}

int ocsp_client_setup(void *vctx, const struct tls_conf *t)
{
	SSL_CTX *ctx = vctx;
	struct occonf *cf;
	const char *part;

	if ((t->ocsp.mode != TLS_OCSP_ON && t->ocsp.mode != TLS_OCSP_LEAF) ||
	    (t->verify_client != TLS_VERIFY_ON && t->verify_client != TLS_VERIFY_OPTIONAL))
		return 0;
	pthread_once(&ix_once, ix_init);
	if (ix_conf < 0 || ix_job < 0 || !(cf = calloc(1, sizeof(*cf))))
		return -ENOMEM;
	cf->mode = t->ocsp.mode;
	/* checked when the configuration was built */
	if (t->ocsp.url && ocsp_parse_url(t->ocsp.url, &cf->host, &cf->port, &cf->path, &part)) {
		conf_gone(NULL, cf, NULL, 0, 0, NULL);
		return -EINVAL;
	}
	if (t->ocsp.cache > 0 && !(cf->cache = zone(t->ocsp.cache_name, t->ocsp.cache))) {
		conf_gone(NULL, cf, NULL, 0, 0, NULL);
		return -ENOMEM;
	}
	if (!SSL_CTX_set_ex_data(ctx, ix_conf, cf)) {
		conf_gone(NULL, cf, NULL, 0, 0, NULL);
		return -ENOMEM;
	}
	return 0;
}
