/* SPDX-License-Identifier: MIT */
/*
 * OCSP stapling (see include/ocsp.h).
 *
 * Lifetime: a staple belongs to the SSL_CTX it was made for (a list in
 * the context's ex_data) and to the fetcher's registry. When the context
 * is freed (a reload released its configuration) its staples are only
 * marked dead; the fetcher thread unlinks and frees them, so it never
 * touches freed memory. An answer is an immutable blob: the fetcher
 * publishes a new one with an atomic store and frees the one before the
 * previous (an hour old by then), so a handshake copying the current one
 * never races with its free.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "lbd.h"
#include "log.h"
#include "ocsp.h"

#define OCSP_REFRESH_MS (3600 * 1000) /* a good answer is asked again after an hour */
#define OCSP_RETRY_MS	(300 * 1000)  /* a failed fetch is tried again after 5 min */
#define OCSP_IO_MS	10000	      /* connect, send and receive, in all */
#define OCSP_RESP_MAX	(256 * 1024)  /* bytes of an HTTP answer read at most */

struct ocsp_blob {
	size_t len;
	unsigned char der[];
};

struct staple {
	X509 *cert, *issuer;	  /* references */
	STACK_OF(X509) * chain;	  /* for verification (references) */
	X509_STORE *store;	  /* ssl_stapling_verify: the context's store (reference) */
	char *host, *port, *path; /* responder */
	char *cert_name;	  /* for messages */
	_Atomic(struct ocsp_blob *) resp;
	struct ocsp_blob *old;	 /* the previous answer, freed at the next update */
	int64_t due_ms;		 /* next fetch (monotonic) */
	_Atomic bool dead;	 /* its context is gone */
	bool file;		 /* ssl_stapling_file: resp fixed, never fetched */
	struct staple *ctx_next; /* the context's list */
	struct staple *next;	 /* the fetcher's registry */
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reg_cv = PTHREAD_COND_INITIALIZER;
static struct staple *reg_head;
static bool fetcher_started;
static int ex_index = -1;
static pthread_once_t ex_once = PTHREAD_ONCE_INIT;

static void staple_free(struct staple *s)
{
	X509_free(s->cert);
	X509_free(s->issuer);
	sk_X509_pop_free(s->chain, X509_free);
	X509_STORE_free(s->store);
	OPENSSL_free(s->host);
	OPENSSL_free(s->port);
	OPENSSL_free(s->path);
	free(s->cert_name);
	free(atomic_load(&s->resp));
	free(s->old);
	free(s);
}

/* ctx_gone - the SSL_CTX's ex_data destructor: its staples die (those
 * of ssl_stapling_file, which the fetcher never saw, are freed here). */
static void ctx_gone(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct staple *next;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	for (struct staple *s = ptr; s; s = next) {
		next = s->ctx_next;
		if (s->file)
			staple_free(s);
		else
			atomic_store(&s->dead, true);
	}
}

static void ex_init(void)
{
	ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ctx_gone);
}

/* ---- fetching ----------------------------------------------------------------- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_fd - poll FD for EV until DEADLINE (monotonic ms). 0 ready, -1 not. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mono_ms();
		struct pollfd p = {.fd = fd, .events = ev};
		int n;

		if (left <= 0)
			return -1;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

unsigned char *ocsp_http_post(const char *host, const char *port, const char *path,
			      const unsigned char *req, size_t reqlen, size_t *outlen,
			      const char **why)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	int64_t deadline = mono_ms() + OCSP_IO_MS;
	char head[1024];
	unsigned char *buf = NULL, *body = NULL;
	size_t len = 0, cap = 0;
	int fd = -1, n;

	*why = "cannot resolve the responder";
	if (getaddrinfo(host, port, &hints, &ai) || !ai)
		return NULL;
	*why = "cannot connect to the responder";
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS)
		goto out;
	if (wait_fd(fd, POLLOUT, deadline)) {
		*why = "timed out connecting to the responder";
		goto out;
	}
	n = snprintf(
		head, sizeof(head),
		"POST %s HTTP/1.0\r\nHost: %s%s%s\r\nContent-Type: application/ocsp-request\r\n"
		"Content-Length: %zu\r\n\r\n",
		path, strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", reqlen);
	*why = "cannot send the request";
	if (n < 0 || (size_t)n >= sizeof(head))
		goto out;
	for (size_t off = 0, total = (size_t)n + reqlen; off < total;) {
		const void *p = off < (size_t)n ? (const void *)(head + off)
						: (const void *)(req + off - (size_t)n);
		size_t l = off < (size_t)n ? (size_t)n - off : total - off;
		ssize_t w = send(fd, p, l, MSG_NOSIGNAL);

		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EINTR) && !wait_fd(fd, POLLOUT, deadline))
			continue;
		goto out;
	}
	*why = "no complete answer from the responder";
	for (;;) {
		ssize_t r;

		if (len == cap) {
			unsigned char *nb;

			if (cap >= OCSP_RESP_MAX)
				goto out;
			cap = cap ? cap * 2 : 8192;
			if (!(nb = realloc(buf, cap)))
				goto out;
			buf = nb;
		}
		r = recv(fd, buf + len, cap - len, 0);
		if (r > 0) {
			len += (size_t)r;
			continue;
		}
		if (r == 0)
			break;
		if ((errno == EAGAIN || errno == EINTR) && !wait_fd(fd, POLLIN, deadline))
			continue;
		goto out;
	}
	/* "HTTP/1.x 200 ...", headers, empty line, the DER answer */
	*why = "the responder did not answer 200";
	if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || memcmp(buf + 8, " 200", 4) != 0)
		goto out;
	*why = "a malformed HTTP answer";
	for (size_t i = 0; i + 3 < len; i++) {
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			size_t blen = len - i - 4;

			if (!blen || !(body = malloc(blen)))
				goto out;
			memcpy(body, buf + i + 4, blen);
			*outlen = blen;
			break;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	free(buf);
	return body;
}

/* fetch - ask S's responder; on a good answer publish it. Milliseconds
 * until the next fetch. */
static int64_t fetch(struct staple *s)
{
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, s->cert, s->issuer);
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *basic = NULL;
	ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL;
	unsigned char *der = NULL, *body = NULL;
	const unsigned char *p;
	const char *why = "out of memory";
	size_t blen = 0;
	int dlen, status, reason, rc;
	int64_t next = OCSP_RETRY_MS;

	if (!id || !req || !OCSP_request_add0_id(req, id))
		goto fail;
	id = NULL; /* the request owns it */
	dlen = i2d_OCSP_REQUEST(req, &der);
	if (dlen <= 0)
		goto fail;
	if (!(body = ocsp_http_post(s->host, s->port, s->path, der, (size_t)dlen, &blen, &why)))
		goto fail;
	p = body;
	why = "the OCSP answer does not parse";
	if (!(resp = d2i_OCSP_RESPONSE(NULL, &p, (long)blen)))
		goto fail;
	rc = OCSP_response_status(resp);
	if (rc != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		log_err("OCSP responder sent error status \"%s\" for certificate \"%s\"",
			OCSP_response_status_str(rc), s->cert_name);
		goto done;
	}
	why = "no basic OCSP answer";
	if (!(basic = OCSP_response_get1_basic(resp)))
		goto fail;
	why = "the OCSP answer does not verify";
	if (s->store && OCSP_basic_verify(basic, s->chain, s->store, 0) <= 0)
		goto fail;
	why = "the OCSP answer has no status for the certificate";
	if (!(id = OCSP_cert_to_id(NULL, s->cert, s->issuer)) ||
	    !OCSP_resp_find_status(basic, id, &status, &reason, NULL, &thisupd, &nextupd))
		goto fail;
	if (status != V_OCSP_CERTSTATUS_GOOD) {
		log_err("certificate status \"%s\" in the OCSP response for \"%s\"",
			OCSP_cert_status_str(status), s->cert_name);
		goto done;
	}
	why = "the OCSP answer is not valid now";
	if (!OCSP_check_validity(thisupd, nextupd, 300, -1))
		goto fail;
	{
		struct ocsp_blob *b = malloc(sizeof(*b) + blen);

		why = "out of memory";
		if (!b)
			goto fail;
		b->len = blen;
		memcpy(b->der, body, blen);
		free(s->old);
		s->old = atomic_exchange(&s->resp, b);
	}
	next = OCSP_REFRESH_MS;
	if (nextupd) {
		int days = 0, secs = 0;

		/* before the answer expires, and not in a loop when it is close */
		if (ASN1_TIME_diff(&days, &secs, NULL, nextupd)) {
			int64_t left = ((int64_t)days * 86400 + secs) * 1000;

			if (left / 2 < next)
				next = LBD_MAX(left / 2, (int64_t)60 * 1000);
		}
	}
	goto done;
fail:
	log_err("OCSP stapling for \"%s\" failed: %s (responder %s:%s)", s->cert_name, why, s->host,
		s->port);
done:
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(basic);
	OPENSSL_free(der);
	free(body);
	return next;
}

static void *fetcher(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&reg_mu);
	for (;;) {
		int64_t now = mono_ms(), wake = now + OCSP_REFRESH_MS;
		struct staple **pp = &reg_head, *due = NULL;

		while (*pp) {
			struct staple *s = *pp;

			if (atomic_load(&s->dead)) {
				*pp = s->next;
				staple_free(s);
				continue;
			}
			if (!due && s->due_ms <= now)
				due = s;
			else if (s->due_ms < wake)
				wake = s->due_ms;
			pp = &s->next;
		}
		if (due) {
			/* the fetch runs unlocked; only this thread frees staples */
			pthread_mutex_unlock(&reg_mu);
			int64_t next = fetch(due);

			pthread_mutex_lock(&reg_mu);
			due->due_ms = mono_ms() + next;
			continue;
		}
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)((wake - now) / 1000);
		ts.tv_nsec += (long)((wake - now) % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&reg_cv, &reg_mu, &ts);
	}
	return NULL;
}

/* ---- handshakes --------------------------------------------------------------- */

/* status_cb - a client asked for the certificate's status: staple the
 * current answer for the certificate this handshake uses, if there is one. */
static int status_cb(SSL *ssl, void *arg)
{
	X509 *cert = SSL_get_certificate(ssl);
	struct staple *s = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index);
	struct ocsp_blob *b;
	unsigned char *copy;

	(void)arg;
	for (; s && s->cert != cert; s = s->ctx_next)
		;
	if (!s || !(b = atomic_load(&s->resp)))
		return SSL_TLSEXT_ERR_NOACK;
	if (!(copy = OPENSSL_malloc(b->len)))
		return SSL_TLSEXT_ERR_NOACK;
	memcpy(copy, b->der, b->len);
	if (!SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)b->len)) {
		OPENSSL_free(copy);
		return SSL_TLSEXT_ERR_NOACK;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* ---- setup ---------------------------------------------------------------------- */

/* find_issuer - X's issuer among CHAIN, else in STORE (a reference). */
static X509 *find_issuer(X509 *x, STACK_OF(X509) * chain, X509_STORE *store)
{
	X509 *issuer = NULL;
	X509_STORE_CTX *sc;

	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);

		if (X509_check_issued(c, x) == X509_V_OK && X509_up_ref(c))
			return c;
	}
	if (!store || !(sc = X509_STORE_CTX_new()))
		return NULL;
	if (X509_STORE_CTX_init(sc, store, NULL, NULL) &&
	    X509_STORE_CTX_get1_issuer(&issuer, sc, x) != 1)
		issuer = NULL;
	X509_STORE_CTX_free(sc);
	return issuer;
}

/* file_of - the ssl_certificate file whose certificate is X (messages name
 * the file, as nginx's do), into NAME. */
static void file_of(const struct tls_conf *t, X509 *x, char *name, size_t cap)
{
	X509_NAME_oneline(X509_get_subject_name(x), name, (int)cap);
	for (int i = 0; i < t->ncerts; i++) {
		BIO *b = BIO_new_file(t->certs[i], "r");
		X509 *c = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		bool same = c && X509_cmp(c, x) == 0;

		X509_free(c);
		BIO_free(b);
		if (same) {
			snprintf(name, cap, "%s", t->certs[i]);
			return;
		}
	}
	ERR_clear_error();
}

static void where(const struct tls_conf *t, const char **file, int *line)
{
	*file = t->stapling_at.file ? t->stapling_at.file : "command line";
	*line = t->stapling_at.line;
}

const char *ocsp_parse_url(const char *url, char **host, char **port, char **path,
			   const char **part)
{
	const char *rest = url + 7, *colon, *slash;
	int use_ssl = 0;
	char *low;
	size_t hl;

	*part = url;
	if (strncasecmp(url, "http://", 7) != 0 || !*rest || *rest == '/' || *rest == ':')
		return "invalid URL prefix in";
	slash = strchr(rest, '/');
	colon = rest[0] == '[' ? strstr(rest, "]:") : strchr(rest, ':');
	if (colon && rest[0] == '[')
		colon++;
	if (colon && (!slash || colon < slash)) {
		char *end;
		long pn = strtol(colon + 1, &end, 10);

		if (end == colon + 1 || (*end && *end != '/') || pn < 1 || pn > 65535) {
			*part = rest;
			return "invalid port in";
		}
	}
	/* OpenSSL's parser wants the scheme in lower case and keeps an IPv6
	 * address's brackets (which getaddrinfo does not take) */
	if (!(low = OPENSSL_malloc(strlen(url) + 1)))
		return "out of memory in";
	memcpy(low, "http://", 7);
	strcpy(low + 7, rest);
	if (!OCSP_parse_url(low, host, port, path, &use_ssl) || use_ssl) {
		OPENSSL_free(low);
		ERR_clear_error();
		return "invalid URL in";
	}
	OPENSSL_free(low);
	hl = strlen(*host);
	if (hl >= 2 && (*host)[0] == '[' && (*host)[hl - 1] == ']') {
		memmove(*host, *host + 1, hl - 2);
		(*host)[hl - 2] = '\0';
	}
	return NULL;
}

/* setup_one - a staple for the current certificate of CTX, or NULL (with
 * a warning when the certificate cannot be stapled). The checks go in
 * nginx's order: the issuer, then the responder URL. */
static struct staple *setup_one(SSL_CTX *ctx, X509 *x, const struct tls_conf *t, int *err)
{
	STACK_OF(OPENSSL_STRING) *urls = NULL;
	STACK_OF(X509) *chain = NULL;
	struct staple *s = NULL;
	char name[1024];
	const char *file, *url, *bad, *part;
	int line;

	where(t, &file, &line);
	file_of(t, x, name, sizeof(name));
	if (!(s = calloc(1, sizeof(*s))) || !(s->cert_name = strdup(name))) {
		*err = -ENOMEM;
		goto fail;
	}
	SSL_CTX_get0_chain_certs(ctx, &chain);
	s->issuer = find_issuer(x, chain, SSL_CTX_get_cert_store(ctx));
	if (!s->issuer) {
		log_warn("\"ssl_stapling\" ignored, issuer certificate not found for certificate "
			 "\"%s\" in %s:%d",
			 name, file, line);
		goto fail;
	}
	url = t->ocsp.stapling_url;
	if (!url) {
		urls = X509_get1_ocsp(x);
		if (!urls || sk_OPENSSL_STRING_num(urls) == 0) {
			log_warn("\"ssl_stapling\" ignored, no OCSP responder URL in the "
				 "certificate \"%s\" in %s:%d",
				 name, file, line);
			goto fail;
		}
		url = sk_OPENSSL_STRING_value(urls, 0);
	}
	if ((bad = ocsp_parse_url(url, &s->host, &s->port, &s->path, &part))) {
		log_warn("\"ssl_stapling\" ignored, %s OCSP responder \"%s\" in the certificate "
			 "\"%s\" in %s:%d",
			 bad, part, name, file, line);
		goto fail;
	}
	if (!X509_up_ref(x)) {
		*err = -ENOMEM;
		goto fail;
	}
	s->cert = x;
	s->chain = chain ? X509_chain_up_ref(chain) : sk_X509_new_null();
	if (!s->chain) {
		*err = -ENOMEM;
		goto fail;
	}
	if (t->stapling_verify == 1) {
		s->store = SSL_CTX_get_cert_store(ctx);
		if (!X509_STORE_up_ref(s->store)) {
			s->store = NULL;
			*err = -ENOMEM;
			goto fail;
		}
	}
	goto out;
fail:
	if (s)
		staple_free(s);
	s = NULL;
out:
	X509_email_free(urls);
	return s;
}

/* read_file - ssl_stapling_file's answer, re-encoded as DER (as nginx:
 * one OCSP response, not checked against anything). NULL with *WHAT the
 * failed call and OpenSSL's errors queued. */
static struct ocsp_blob *read_file(const char *path, const char **what)
{
	BIO *bio = BIO_new_file(path, "rb");
	OCSP_RESPONSE *resp = NULL;
	struct ocsp_blob *b = NULL;
	unsigned char *p;
	int len;

	*what = "BIO_new_file";
	if (!bio)
		return NULL;
	*what = "d2i_OCSP_RESPONSE_bio";
	if (!(resp = d2i_OCSP_RESPONSE_bio(bio, NULL)))
		goto out;
	*what = "i2d_OCSP_RESPONSE";
	if ((len = i2d_OCSP_RESPONSE(resp, NULL)) <= 0)
		goto out;
	if (!(b = malloc(sizeof(*b) + (size_t)len)))
		goto out;
	p = b->der;
	if (i2d_OCSP_RESPONSE(resp, &p) != len) {
		free(b);
		b = NULL;
		goto out;
	}
	b->len = (size_t)len;
out:
	OCSP_RESPONSE_free(resp);
	BIO_free(bio);
	return b;
}

/* setup_file - a staple of BLOB's copy for certificate X (ssl_stapling_file
 * stands for every certificate of the server, as nginx's). */
static struct staple *setup_file(X509 *x, const struct ocsp_blob *blob, int *err)
{
	struct staple *s = calloc(1, sizeof(*s));
	struct ocsp_blob *b = malloc(sizeof(*b) + blob->len);

	if (!s || !b || !X509_up_ref(x)) {
		free(s);
		free(b);
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(b, blob, sizeof(*b) + blob->len);
	s->cert = x;
	s->file = true;
	atomic_store(&s->resp, b);
	return s;
}

int ocsp_ctx_setup(SSL_CTX *ctx, const struct tls_conf *t, const char **what)
{
	struct staple *list = NULL, *tail = NULL;
	struct ocsp_blob *blob = NULL;
	int err = 0;

	*what = NULL;
	pthread_once(&ex_once, ex_init);
	if (ex_index < 0)
		return -ENOMEM;
	if (t->ocsp.file && !(blob = read_file(t->ocsp.file, what)))
		return -EINVAL;
	/* each certificate of the context (ECDSA and RSA live side by side) */
	for (int r = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST); r && !err;
	     r = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT)) {
		X509 *x = SSL_CTX_get0_certificate(ctx);
		struct staple *s = !x	  ? NULL
				   : blob ? setup_file(x, blob, &err)
					  : setup_one(ctx, x, t, &err);

		if (!s)
			continue;
		if (tail)
			tail->ctx_next = s;
		else
			list = s;
		tail = s;
	}
	free(blob);
	if (!err && list && !SSL_CTX_set_ex_data(ctx, ex_index, list))
		err = -ENOMEM;
	if (err) {
		while (list) {
			struct staple *n = list->ctx_next;

			staple_free(list);
			list = n;
		}
		return err;
	}
	if (!list)
		return 0;
	SSL_CTX_set_tlsext_status_cb(ctx, status_cb);
	if (t->ocsp.file)
		return 0; /* nothing to fetch: no responder is asked */
	pthread_mutex_lock(&reg_mu);
	for (struct staple *s = list; s; s = s->ctx_next) {
		s->due_ms = 0; /* at once */
		s->next = reg_head;
		reg_head = s;
	}
	if (!fetcher_started) {
		pthread_t th;
		sigset_t all, old;

		/* signals stay with the threads that handle them */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		if (pthread_create(&th, NULL, fetcher, NULL) == 0) {
			pthread_detach(th);
			fetcher_started = true;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_cond_signal(&reg_cv);
	pthread_mutex_unlock(&reg_mu);
	return 0;
}

void ocsp_counts(int *stapled, int *total)
{
	int n = 0, k = 0;

	pthread_mutex_lock(&reg_mu);
	for (struct staple *s = reg_head; s; s = s->next) {
		if (atomic_load(&s->dead))
			continue;
		n++;
		if (atomic_load(&s->resp))
			k++;
	}
	pthread_mutex_unlock(&reg_mu);
	*stapled = k;
	*total = n;
}
