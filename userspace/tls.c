/* SPDX-License-Identifier: MIT */
/*
 * TLS through OpenSSL 3. Owns the server contexts (one SSL_CTX per server
 * block with certificates, built when a configuration is loaded so that
 * `lbd -t` and a reload see a bad certificate before anything serves it)
 * and the TLS session of each client connection: the non-blocking
 * handshake, the SNI switch to the named server's context, and reads and
 * writes that keep the plain socket calls' contracts, so the HTTP code
 * drives TLS and plaintext connections through the same loops.
 * Certificates chosen by variables (or "data:" PEM) are evaluated and
 * loaded during each handshake through the caller's tls_eval_fn.
 *
 * Contexts are shared by every worker thread: OpenSSL locks the session
 * cache inside, so `ssl_session_cache shared:...` is one in-process cache.
 * The error queue is per thread; every failing call empties it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cfg-t.h"
#include "kfeat.h"
#include "lbd.h"
#include "log.h"
#include "ocsp.h"
#include "ocsp_client.h"
#include "tls.h"
#include "tls_client.h"
#include "tls_ticket.h"

/* One TLS record's worth of plaintext: the unit of every SSL_write, so
 * that a write retried after WANT_WRITE is never shorter than the record
 * OpenSSL still holds (it refuses a shorter retry with "bad length"). */
#define TLS_CHUNK 16384

/* ssl_password_file: at most this many bytes and passwords */
#define TLS_PASSWORDS_MAX 65536
#define TLS_PASSWORDS_N	  64

/* struct tls_conn - one client's TLS session. */
struct tls_conn {
	SSL *ssl;	 /* the session (owns its reference to the context) */
	tls_sni_fn sni;	 /* server lookup for the SNI name */
	void *arg;	 /* its argument (the connection) */
	bool done;	 /* handshake complete */
	bool failed;	 /* fatal error seen: no close_notify at the end */
	bool shut;	 /* close_notify already sent */
	bool offer_h2;	 /* ALPN may choose h2 (the address has http2) */
	bool reject;	 /* the default server has ssl_reject_handshake on */
	bool rejected;	 /* ssl_reject_handshake refused it (logged once) */
	void *first_ctx; /* the default server's context: OpenSSL's session_ctx */
	bool file_said;	 /* the file path in use was logged (debug) */
	bool quiet;	 /* an upstream session (tls_conn_new_client): the caller
			  * logs failures with its request's context */
	char *err;	 /* quiet: nginx's text of the last failed SSL_read or
			  * SSL_write (malloc, made on the first failure) */
	int err_level;	 /* its enum log_level, as nginx picks it */
	tls_eval_fn ev;	 /* evaluates certificates chosen by variables */
	void *ev_arg;	 /* its argument (the connection or session) */
	char client[48]; /* peer address, for log lines */

	/* client sessions' log lines and upstream resets */
	char server[120];	   /* the listening address's text (tls_conn_log_ctx), or "" */
	unsigned long long number; /* the connection's *N in log lines, 0: none */
	tls_log_fn log_fn;	   /* logs a failed read or write after the handshake
				    * with the owner's context (tls_conn_set_log), or NULL */
	void *log_arg;		   /* its argument */
	bool sock_gone;		   /* the last read failed at the socket with no OpenSSL
				    * error queued (tls_recv_reset_closes) */
	bool read_failed;	   /* a bad record after good ones was logged when
				    * read: the next tls_recv fails (EPROTO) */

	/* TLS 1.3 0-RTT (ssl_early_data on). OpenSSL hands early data out
	 * only through SSL_read_early_data, which must be the first call on
	 * the session and is used until it says FINISH; replies go out
	 * through SSL_write_early_data until the handshake completes. */
	bool early_try;	    /* the context takes early data, handshake not begun */
	bool early;	    /* reads through SSL_read_early_data (FINISH not seen) */
	bool half;	    /* early data was accepted: writes are 0.5-RTT data
			     * (SSL_write_early_data) until the handshake is done */
	bool held_n;	    /* HELD holds the first early byte, not yet read */
	unsigned char held; /* the byte tls_handshake read to see early data */
};

/* Gather buffer for small iovecs and file reads; OpenSSL copies the
 * plaintext into its own record buffer before SSL_write returns. */
static __thread char tls_bounce[TLS_CHUNK];

/* 0-RTT figures (`lbctl stats`, lbd_metrics): each thread that counts
 * claims a slot of its own at its first count and bumps only that one
 * (its own cache line: no lock, no line shared between workers); the
 * reader sums the slots. Threads past TLS_STAT_SLOTS (never, with at
 * most 64 workers) share the last one: still exact, relaxed atomics. */
#define TLS_STAT_SLOTS 64
enum { TLS_ST_ACCEPTED, TLS_ST_REJECTED, TLS_ST_REQUESTS, TLS_ST_N };
struct tls_stat_slot {
	_Atomic uint64_t v[TLS_ST_N]; /* by the enum above */
} __attribute__((aligned(64)));
static struct tls_stat_slot tls_slots[TLS_STAT_SLOTS + 1];
static _Atomic unsigned tls_nslots;		/* slots claimed so far */
static __thread struct tls_stat_slot *tls_slot; /* this thread's */

static void early_count(int which)
{
	struct tls_stat_slot *s = tls_slot;

	if (unlikely(!s)) {
		unsigned i = atomic_fetch_add_explicit(&tls_nslots, 1, memory_order_relaxed);

		s = tls_slot = &tls_slots[i < TLS_STAT_SLOTS ? i : TLS_STAT_SLOTS];
	}
	atomic_fetch_add_explicit(&s->v[which], 1, memory_order_relaxed);
}

void tls_early_stats(struct tls_early_stats *out)
{
	uint64_t sum[TLS_ST_N] = {0};

	for (int i = 0; i <= TLS_STAT_SLOTS; i++)
		for (int k = 0; k < TLS_ST_N; k++)
			sum[k] += atomic_load_explicit(&tls_slots[i].v[k], memory_order_relaxed);
	out->accepted = sum[TLS_ST_ACCEPTED];
	out->rejected = sum[TLS_ST_REJECTED];
	out->requests = sum[TLS_ST_REQUESTS];
}

void tls_note_request(const struct tls_conn *t)
{
	if (unlikely(tls_conn_in_early(t)))
		early_count(TLS_ST_REQUESTS);
}

static int tls_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		    const unsigned char *in, unsigned int inlen, void *arg);

/* ---- messages ----------------------------------------------------------------- */

/* tls_fail - ERR = nginx's ngx_ssl_error text: the message, then the
 * queued OpenSSL errors as " (SSL: e1 e2)", then " in FILE:LINE" of AT.
 * Empties the error queue. Returns -EINVAL. */
static int tls_fail(char *err, size_t errlen, const struct tls_where *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int tls_fail(char *err, size_t errlen, const struct tls_where *at, const char *fmt, ...)
{
	size_t o = 0;
	va_list ap;
	int k;

#define TLS_ADVANCE(k)                                                         \
	do {                                                                   \
		if ((k) > 0)                                                   \
			o = LBD_MIN(o + (size_t)(k), errlen ? errlen - 1 : 0); \
	} while (0)

	if (!errlen)
		goto out;
	va_start(ap, fmt);
	k = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	TLS_ADVANCE(k);
	if (ERR_peek_error()) {
		const char *sep = " (SSL:";

		for (;;) {
			const char *data = NULL;
			int flags = 0;
			unsigned long e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);
			char one[256];

			if (!e)
				break;
			ERR_error_string_n(e, one, sizeof(one));
			k = snprintf(err + o, errlen - o, "%s %s%s%s", sep, one,
				     data && *data && (flags & ERR_TXT_STRING) ? ":" : "",
				     data && *data && (flags & ERR_TXT_STRING) ? data : "");
			TLS_ADVANCE(k);
			sep = "";
		}
		k = snprintf(err + o, errlen - o, ")");
		TLS_ADVANCE(k);
	}
	if (at && at->line)
		snprintf(err + o, errlen - o, " in %s:%d", at->file ? at->file : "command line",
			 at->line);
out:
	ERR_clear_error();
	return -EINVAL;
#undef TLS_ADVANCE
}

static bool peer_reason(int r);

/* conn_log - a line about client session T at LEVEL, in nginx's shape
 * before a request: "*N MSG while ACTION, client: A, server: S" (the
 * number and the server when tls_conn_log_ctx gave them). */
static void conn_log(const struct tls_conn *t, enum log_level level, const char *action,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void conn_log(const struct tls_conn *t, enum log_level level, const char *action,
		     const char *fmt, ...)
{
	char msg[1024], num[32] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (t->number)
		snprintf(num, sizeof(num), "*%llu ", t->number);
	log_emit(NULL, level, "%s%s while %s, client: %s%s%s", num, msg, action, t->client,
		 t->server[0] ? ", server: " : "", t->server);
}

/* ssl_failed_text - a call WHAT that failed with OpenSSL's errors
 * queued: "WHAT (SSL: ...)" into BUF, and the level nginx's
 * ngx_ssl_connection_error gives it: info when the first error blames the
 * client's bytes (peer_reason), crit otherwise. Empties the queue. */
static enum log_level ssl_failed_text(const char *what, char *buf, size_t len)
{
	enum log_level level = peer_reason(ERR_GET_REASON(ERR_peek_error())) ? LOG_INFO : LOG_CRIT;

	tls_fail(buf, len, NULL, "%s", what);
	return level;
}

/* conn_log_ssl - client session T's call WHAT failed with OpenSSL's
 * errors queued: logged with T's context (ssl_failed_text). */
static void conn_log_ssl(const struct tls_conn *t, const char *what, const char *action)
{
	char buf[1024];
	enum log_level level = ssl_failed_text(what, buf, sizeof(buf));

	conn_log(t, level, action, "%s", buf);
}

/* owner_log_ssl - the same line handed to the owner's tls_conn_set_log
 * hook, which knows what the connection was doing. */
static void owner_log_ssl(const struct tls_conn *t, const char *what)
{
	char buf[1024];
	enum log_level level = ssl_failed_text(what, buf, sizeof(buf));

	t->log_fn(t->log_arg, level, buf);
}

/* ---- contexts ------------------------------------------------------------------- */

static const struct {
	const char *name; /* as ssl_protocols spells it */
	int bit;	  /* enum tls_proto */
	int version;	  /* OpenSSL's version number, 0 = not available */
} tls_protos[] = {
	{"SSLv2", TLS_PROTO_SSLV2, 0},
	{"SSLv3", TLS_PROTO_SSLV3, SSL3_VERSION},
	{"TLSv1", TLS_PROTO_TLSV1, TLS1_VERSION},
	{"TLSv1.1", TLS_PROTO_TLSV1_1, TLS1_1_VERSION},
	{"TLSv1.2", TLS_PROTO_TLSV1_2, TLS1_2_VERSION},
	{"TLSv1.3", TLS_PROTO_TLSV1_3, TLS1_3_VERSION},
};

int tls_parse_protocol(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(tls_protos); i++)
		if (strcasecmp(tls_protos[i].name, name) == 0)
			return tls_protos[i].bit;
	return 0;
}

/* set_protocols - the enabled versions as a min..max range with the holes
 * switched off, as nginx does with SSL_OP_NO_*. */
static int set_protocols(SSL_CTX *ctx, int bits, char *err, size_t errlen,
			 const struct tls_where *at)
{
	static const struct {
		int bit;     /* enum tls_proto */
		uint64_t op; /* SSL_OP_NO_* for a hole */
	} holes[] = {
		{TLS_PROTO_SSLV3, SSL_OP_NO_SSLv3},	{TLS_PROTO_TLSV1, SSL_OP_NO_TLSv1},
		{TLS_PROTO_TLSV1_1, SSL_OP_NO_TLSv1_1}, {TLS_PROTO_TLSV1_2, SSL_OP_NO_TLSv1_2},
		{TLS_PROTO_TLSV1_3, SSL_OP_NO_TLSv1_3},
	};
	int lo = 0, hi = 0;

	for (size_t i = 0; i < ARRAY_SIZE(tls_protos); i++) {
		if (!(bits & tls_protos[i].bit) || !tls_protos[i].version)
			continue;
		if (!lo)
			lo = tls_protos[i].version;
		hi = tls_protos[i].version;
	}
	if (!lo)
		return tls_fail(err, errlen, at, "no protocol of \"ssl_protocols\" is available");
	if (!SSL_CTX_set_min_proto_version(ctx, lo) || !SSL_CTX_set_max_proto_version(ctx, hi))
		return tls_fail(err, errlen, at, "SSL_CTX_set_min_proto_version() failed");
	for (size_t i = 0; i < ARRAY_SIZE(holes); i++)
		if (!(bits & holes[i].bit))
			SSL_CTX_set_options(ctx, holes[i].op);
	return 0;
}

/* struct tls_passwords - ssl_password_file's lines, tried in order. */
struct tls_passwords {
	char buf[TLS_PASSWORDS_MAX]; /* the file, lines NUL-terminated */
	const char *pw[TLS_PASSWORDS_N];
	int n;
};

/* no_tty_password - OpenSSL's password hook: PW (NULL: none) instead of
 * OpenSSL's default, which would ask the terminal. */
static int no_tty_password(char *buf, int size, int rwflag, void *pw)
{
	size_t n = pw ? strlen(pw) : 0;

	(void)rwflag;
	if (!pw || n > (size_t)size)
		return 0;
	memcpy(buf, pw, n);
	return (int)n;
}

/* read_passwords - ssl_password_file into P: one password a line (a
 * trailing CR dropped, empty lines skipped), as nginx. */
static int read_passwords(const struct tls_conf *t, struct tls_passwords *p, char *err,
			  size_t errlen)
{
	FILE *f = fopen(t->password_file, "re");
	size_t len;
	char *s;

	p->n = 0;
	if (!f)
		return tls_fail(err, errlen, &t->password_at, "open() \"%s\" failed (%d: %s)",
				t->password_file, errno, strerror(errno));
	len = fread(p->buf, 1, sizeof(p->buf) - 1, f);
	if (!feof(f)) {
		fclose(f);
		return tls_fail(err, errlen, &t->password_at, "\"%s\" is too long",
				t->password_file);
	}
	fclose(f);
	p->buf[len] = '\0';
	for (s = p->buf; *s;) {
		char *e = strchr(s, '\n'), *next = e ? e + 1 : s + strlen(s);

		if (e)
			*e = '\0';
		if (e > s && e[-1] == '\r')
			e[-1] = '\0';
		if (*s) {
			if (p->n == TLS_PASSWORDS_N)
				break;
			p->pw[p->n++] = s;
		}
		s = next;
	}
	if (!p->n)
		return tls_fail(err, errlen, &t->password_at, "empty file \"%s\"",
				t->password_file);
	return 0;
}

/* read_key - the private key in BIO, trying each password of PW (none:
 * an encrypted key fails rather than asking the terminal). */
static EVP_PKEY *read_key(BIO *bio, const struct tls_passwords *pw)
{
	EVP_PKEY *pk = NULL;

	if (!pw || !pw->n)
		return PEM_read_bio_PrivateKey(bio, NULL, no_tty_password, NULL);
	for (int i = 0; i < pw->n && !pk; i++) {
		if (i) {
			if (BIO_reset(bio) < 0)
				break;
			ERR_clear_error();
		}
		pk = PEM_read_bio_PrivateKey(bio, NULL, no_tty_password, (void *)pw->pw[i]);
	}
	return pk;
}

/* pem_bio - a BIO over NAME: the PEM text after "data:", else the file. */
static BIO *pem_bio(const char *name)
{
	if (strncmp(name, "data:", 5) == 0)
		return BIO_new_mem_buf(name + 5, -1);
	return BIO_new_file(name, "r");
}

static const char *bio_call(const char *name)
{
	return strncmp(name, "data:", 5) == 0 ? "BIO_new_mem_buf" : "BIO_new_file";
}

/* read_pair - the certificate CERT (a file, or "data:" and PEM) with the
 * rest of it as the chain, and the key KEY tried with PW's passwords
 * (NULL: none), the key checked against its own certificate (OpenSSL
 * alone would take an RSA key for an ECDSA certificate). ON names the
 * call in the mismatch message (nginx's). 0 with *X, *CHAIN, *PK ours to
 * free, or -EINVAL with the message in ERR (" in FILE:LINE" of CAT/KAT,
 * NULL at a handshake). */
static int read_pair(const char *cert, const struct tls_where *cat, const char *key,
		     const struct tls_where *kat, const struct tls_passwords *pw, const char *on,
		     X509 **xo, STACK_OF(X509) * *chaino, EVP_PKEY **pko, char *err, size_t errlen)
{
	X509 *x = NULL, *ca;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *pk = NULL;
	BIO *bio;
	int rc = -EINVAL;

	bio = pem_bio(cert);
	if (!bio)
		return tls_fail(err, errlen, cat, "cannot load certificate \"%s\": %s() failed",
				cert, bio_call(cert));
	x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
	if (!x) {
		tls_fail(err, errlen, cat,
			 "cannot load certificate \"%s\": PEM_read_bio_X509_AUX() failed", cert);
		goto out;
	}
	/* The rest of the file (fullchain.pem) is this certificate's chain. */
	chain = sk_X509_new_null();
	if (!chain) {
		tls_fail(err, errlen, cat,
			 "cannot load certificate \"%s\": sk_X509_new_null() failed", cert);
		goto out;
	}
	while ((ca = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (!sk_X509_push(chain, ca)) {
			X509_free(ca);
			tls_fail(err, errlen, cat,
				 "cannot load certificate \"%s\": sk_X509_push() failed", cert);
			goto out;
		}
	}
	/* the loop ends on "no start line" at the end of the file */
	ERR_clear_error();
	BIO_free(bio);
	bio = pem_bio(key);
	if (!bio) {
		tls_fail(err, errlen, kat, "cannot load certificate key \"%s\": %s() failed", key,
			 bio_call(key));
		goto out;
	}
	pk = read_key(bio, pw);
	if (!pk) {
		tls_fail(err, errlen, kat,
			 "cannot load certificate key \"%s\": PEM_read_bio_PrivateKey() failed",
			 key);
		goto out;
	}
	if (!X509_check_private_key(x, pk)) {
		tls_fail(err, errlen, kat, "%s(\"%s\") failed", on, key);
		goto out;
	}
	*xo = x, *chaino = chain, *pko = pk;
	x = NULL, chain = NULL, pk = NULL;
	rc = 0;
out:
	BIO_free(bio);
	X509_free(x);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(pk);
	return rc;
}

/* load_pair - certificate CERT (file or "data:") with its chain and key
 * KEY into CTX, or into the session SSL when CTX is NULL (a pair chosen
 * by variables), in the slot of the key's type (so ECDSA and RSA pairs
 * live side by side). PW: the passwords of an encrypted key (NULL:
 * none). 0 or -EINVAL with the message in ERR. */
static int load_pair(SSL_CTX *ctx, SSL *ssl, const char *cert, const struct tls_where *cat,
		     const char *key, const struct tls_where *kat, const struct tls_passwords *pw,
		     char *err, size_t errlen)
{
	X509 *x = NULL;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *pk = NULL;
	int rc = read_pair(cert, cat, key, kat, pw,
			   ctx ? "SSL_CTX_use_PrivateKey" : "SSL_use_PrivateKey", &x, &chain, &pk,
			   err, errlen);

	if (rc)
		return rc;
	/* the chain is taken with one more reference per certificate */
	if (ctx ? !SSL_CTX_use_cert_and_key(ctx, x, pk, chain, 1)
		: !SSL_use_cert_and_key(ssl, x, pk, chain, 1))
		rc = tls_fail(err, errlen, cat, "%s(\"%s\") failed",
			      ctx ? "SSL_CTX_use_certificate" : "SSL_use_certificate", cert);
	X509_free(x);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(pk);
	return rc;
}

static int load_dhparam(SSL_CTX *ctx, const struct tls_conf *t, char *err, size_t errlen)
{
	EVP_PKEY *dh;
	BIO *bio = BIO_new_file(t->dhparam, "r");

	if (!bio)
		return tls_fail(err, errlen, &t->dhparam_at, "BIO_new_file(\"%s\") failed",
				t->dhparam);
	dh = PEM_read_bio_Parameters(bio, NULL);
	BIO_free(bio);
	if (!dh)
		return tls_fail(err, errlen, &t->dhparam_at,
				"PEM_read_bio_Parameters(\"%s\") failed", t->dhparam);
	if (!SSL_CTX_set0_tmp_dh_pkey(ctx, dh)) {
		EVP_PKEY_free(dh);
		return tls_fail(err, errlen, &t->dhparam_at,
				"SSL_CTX_set0_tmp_dh_pkey(\"%s\") failed", t->dhparam);
	}
	return 0;
}

static int tls_servername(SSL *ssl, int *alert, void *arg);

static int set_session_cache(SSL_CTX *ctx, const struct tls_conf *t)
{
	switch (t->cache) {
	case TLS_CACHE_OFF:
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		break;
	case TLS_CACHE_NONE:
		/* nginx's default: session ids are issued but nothing is kept,
		 * so only tickets resume (some clients mishandle "no cache") */
		SSL_CTX_set_session_cache_mode(ctx,
					       SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
		SSL_CTX_sess_set_cache_size(ctx, 1);
		break;
	default:
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
		SSL_CTX_sess_set_cache_size(ctx, (long)LBD_MAX(t->cache_sessions, 1));
		break;
	}
	SSL_CTX_set_timeout(ctx, (long)(t->session_timeout / 1000));
	if (!t->session_tickets) {
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		/* TLS 1.3 would still send (stateful) tickets nobody can use */
		if (t->cache != TLS_CACHE_ON)
			SSL_CTX_set_num_tickets(ctx, 0);
	}
	return 0;
}

/* set_early_data - ssl_early_data on: TLS 1.3 0-RTT up to one record
 * (16k, nginx's limit); larger early data is skipped by OpenSSL and the
 * handshake goes on as 1-RTT. Replay protection: with a session cache
 * (builtin or shared: one in-process cache that every worker thread
 * shares) OpenSSL's anti-replay stays on, so TLS 1.3 tickets are session
 * ids in that cache, each taking 0-RTT once (removed when used); without
 * one there is nothing to remember tickets by, so, as nginx, tickets stay
 * stateless and early data may be replayed (the backend sees
 * Early-Data: 1 and may answer 425). */
static void set_early_data(SSL_CTX *ctx, const struct tls_conf *t)
{
	if (t->early_data != 1)
		return;
	SSL_CTX_set_max_early_data(ctx, TLS_CHUNK);
	if (t->cache != TLS_CACHE_ON)
		SSL_CTX_set_options(ctx, SSL_OP_NO_ANTI_REPLAY);
}

/* set_protocols_ciphers - ssl_protocols and ssl_ciphers (or their
 * proxy_ssl_* twins) of T on CTX. 0 or an error in ERR. */
static int set_protocols_ciphers(SSL_CTX *ctx, struct tls_conf *t, char *err, size_t errlen)
{
	int rc = set_protocols(ctx, t->protocols, err, errlen, &t->protocols_at);

	if (rc)
		return rc;
	if (!SSL_CTX_set_cipher_list(ctx, t->ciphers))
		return tls_fail(err, errlen, &t->ciphers_at,
				"SSL_CTX_set_cipher_list(\"%s\") failed", t->ciphers);
	return 0;
}

/* struct tls_dyn - what a context whose pairs are chosen by variables
 * keeps for its handshakes: the settings, and ssl_password_file's
 * passwords read once (nginx keeps them too). Owned by the context
 * (ex_data, freed with it). */
struct tls_dyn {
	const struct tls_conf *conf; /* server: the level's settings; client: NULL */
	struct tls_passwords *pw;    /* NULL: no password file */
};

/* the SSL_CTX ex_data slot of struct tls_dyn; made with the first such
 * context, while a configuration is built (main thread) */
static int tls_dyn_idx = -1;

static void dyn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct tls_dyn *dy = ptr;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (!dy)
		return;
	if (dy->pw) {
		OPENSSL_cleanse(dy->pw, sizeof(*dy->pw));
		free(dy->pw);
	}
	free(dy);
}

/* eval_name - the certificate or key name of one pair: TEXT as written
 * when VAL is NULL, else VAL evaluated by FN(ARG), relative paths under
 * PREFIX (nginx's conf prefix) and "data:" left as is. A malloc'ed
 * string (NULL: out of memory or evaluation failed); *EMPTY says the
 * value was empty. */
static char *eval_name(tls_eval_fn fn, void *arg, const void *val, const char *text,
		       const char *prefix, bool *empty)
{
	const char *p = text;
	size_t len = strlen(text), lp = 0;
	char *r;

	if (val) {
		if (!fn || fn(arg, val, &p, &len))
			return NULL;
		if (prefix && !(len >= 5 && memcmp(p, "data:", 5) == 0) && !(len && p[0] == '/'))
			lp = strlen(prefix);
	}
	*empty = len == 0;
	r = malloc(lp + len + 1);
	if (!r)
		return NULL;
	memcpy(r, prefix, lp);
	memcpy(r + lp, p, len);
	r[lp + len] = '\0';
	return r;
}

/* dotdot - whether file name P has a ".." segment. */
static bool dotdot(const char *p)
{
	for (const char *seg = p; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL)
		if (seg[0] == '.' && seg[1] == '.' && (seg[2] == '/' || seg[2] == '\0'))
			return true;
	return false;
}

/* climbs - whether the evaluated file NAME has a ".." segment that its
 * configured TEXT has not (one a variable brought in); "data:" never. */
static bool climbs(const char *name, const char *text)
{
	return strncmp(name, "data:", 5) != 0 && dotdot(name) && !dotdot(text);
}

/* use_pair - one pair chosen by variables into the session SSL (a
 * handshake's: cert_cb on the server side, before the ClientHello on the
 * client side). 0, 1 when the certificate is empty and OPTIONAL (an
 * upstream then gets none, as nginx), or -EINVAL with nginx's message in
 * ERR. Files are read whole each time (nginx 1.22 has no certificate
 * cache): local files, a few syscalls on the worker. */
static int use_pair(SSL *ssl, const struct tls_passwords *pw, tls_eval_fn fn, void *arg,
		    const void *cval, const char *ctext, const void *kval, const char *ktext,
		    const char *prefix, bool optional, char *err, size_t errlen)
{
	bool ce = false, ke = false;
	char *cert = eval_name(fn, arg, cval, ctext, prefix, &ce);
	char *key = cert && !(ce && optional) ? eval_name(fn, arg, kval, ktext, prefix, &ke) : NULL;
	int rc;

	if (cert && ce && optional) {
		free(cert);
		return 1;
	}
	if (!cert || !key) {
		free(cert);
		free(key);
		snprintf(err, errlen, "cannot evaluate the certificate or key of \"%s\"", ctext);
		return -ENOMEM;
	}
	if (climbs(cert, ctext) || climbs(key, ktext)) {
		/* $ssl_server_name is the client's: "../other" must not pick
		 * a file outside the configured directory (nginx 1.22 would) */
		snprintf(
			err, errlen,
			"cannot load certificate%s \"%s\": a \"..\" segment from variables is refused",
			climbs(cert, ctext) ? "" : " key", climbs(cert, ctext) ? cert : key);
		rc = -EINVAL;
	} else {
		rc = load_pair(NULL, ssl, cert, NULL, key, NULL, pw, err, errlen);
	}
	free(cert);
	free(key);
	return rc;
}

/* tls_cert_cb - OpenSSL's certificate hook of a server context whose
 * pairs have variables (ARG: its struct tls_dyn): with SNI known, every
 * pair of the level evaluated for this connection and loaded, as nginx's
 * ngx_http_ssl_certificate. A failure is logged at error and fails the
 * handshake. The hook of the context SNI selected is the one called. */
static int tls_cert_cb(SSL *ssl, void *arg)
{
	const struct tls_dyn *dy = arg;
	const struct tls_conf *c = dy->conf;
	struct tls_conn *t = SSL_get_app_data(ssl);
	char err[1024];

	if (!t)
		return 0;
	for (int i = 0; i < c->ncerts; i++) {
		int rc = use_pair(ssl, dy->pw, t->ev, t->ev_arg, c->cert_vals[i], c->certs[i],
				  c->key_vals[i], c->keys[i], c->prefix, false, err, sizeof(err));

		if (rc) {
			conn_log(t, LOG_ERR, "SSL handshaking", "%s", err);
			return 0;
		}
	}
	return 1;
}

/* keep_dynamic - CTX's pairs have variables: keep T (server side: SERVER)
 * and the passwords *PW (taken) for the handshakes. */
static int keep_dynamic(SSL_CTX *ctx, const struct tls_conf *t, bool server,
			struct tls_passwords **pw, char *err, size_t errlen)
{
	struct tls_dyn *dy;

	if (tls_dyn_idx < 0)
		tls_dyn_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, dyn_free);
	dy = calloc(1, sizeof(*dy));
	if (tls_dyn_idx < 0 || !dy || !SSL_CTX_set_ex_data(ctx, tls_dyn_idx, dy)) {
		free(dy);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	dy->conf = server ? t : NULL;
	dy->pw = *pw;
	*pw = NULL;
	if (server)
		SSL_CTX_set_cert_cb(ctx, tls_cert_cb, dy);
	return 0;
}

/* load_certs - the first N certificate/key pairs of T on CTX, encrypted
 * keys opened with ssl_password_file's passwords (wiped after); pairs
 * with variables (t->dynamic) are kept for the handshakes instead (SERVER:
 * a server context). 0 or an error in ERR. */
static int load_certs(SSL_CTX *ctx, struct tls_conf *t, int n, bool server, char *err,
		      size_t errlen)
{
	struct tls_passwords *pw = NULL;
	int rc = 0;

	if (t->password_file) {
		pw = calloc(1, sizeof(*pw));
		if (!pw) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		rc = read_passwords(t, pw, err, errlen);
	}
	if (!rc && t->dynamic)
		rc = keep_dynamic(ctx, t, server, &pw, err, errlen);
	for (int i = 0; !rc && !t->dynamic && i < n; i++)
		rc = load_pair(ctx, NULL, t->certs[i], &t->cert_at[i], t->keys[i], &t->key_at[i],
			       pw, err, errlen);
	if (pw) {
		OPENSSL_cleanse(pw, sizeof(*pw));
		free(pw);
	}
	return rc;
}

int tls_conn_use_pair(struct tls_conn *t, tls_eval_fn fn, void *arg, const void *cval,
		      const char *ctext, const void *kval, const char *ktext, const char *prefix,
		      char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_get_SSL_CTX(t->ssl);
	const struct tls_dyn *dy = tls_dyn_idx >= 0 ? SSL_CTX_get_ex_data(ctx, tls_dyn_idx) : NULL;
	int rc = use_pair(t->ssl, dy ? dy->pw : NULL, fn, arg, cval, ctext, kval, ktext, prefix,
			  true, err, errlen);

	return rc < 0 ? rc : 0;
}

void tls_conn_set_eval(struct tls_conn *t, tls_eval_fn fn, void *arg)
{
	t->ev = fn;
	t->ev_arg = arg;
}

bool tls_load_crl(void *vctx, const char *file)
{
	X509_STORE *st = SSL_CTX_get_cert_store((SSL_CTX *)vctx);
	X509_LOOKUP *lk = st ? X509_STORE_add_lookup(st, X509_LOOKUP_file()) : NULL;

	if (!lk || !X509_LOOKUP_load_file(lk, file, X509_FILETYPE_PEM))
		return false;
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	return true;
}

/* apply_cmds - T's ssl_conf_command list through SSL_CONF_cmd, as nginx
 * (after every other setting, so they override). FLAGS: the side. */
static int apply_cmds(SSL_CTX *ctx, const struct tls_conf *t, unsigned flags, char *err,
		      size_t errlen)
{
	SSL_CONF_CTX *cc;

	if (!t->cmds.n)
		return 0;
	cc = SSL_CONF_CTX_new();
	if (!cc)
		return tls_fail(err, errlen, &t->cmds.at[0], "SSL_CONF_CTX_new() failed");
	SSL_CONF_CTX_set_flags(cc, SSL_CONF_FLAG_FILE | flags | SSL_CONF_FLAG_CERTIFICATE |
					   SSL_CONF_FLAG_SHOW_ERRORS);
	SSL_CONF_CTX_set_ssl_ctx(cc, ctx);
	for (int i = 0; i < t->cmds.n; i++) {
		if (SSL_CONF_cmd(cc, t->cmds.name[i], t->cmds.value[i]) <= 0) {
			int rc = tls_fail(err, errlen, &t->cmds.at[i],
					  "SSL_CONF_cmd(\"%s\", \"%s\") failed", t->cmds.name[i],
					  t->cmds.value[i]);

			SSL_CONF_CTX_free(cc);
			return rc;
		}
	}
	if (!SSL_CONF_CTX_finish(cc)) {
		SSL_CONF_CTX_free(cc);
		return tls_fail(err, errlen, &t->cmds.at[0], "SSL_CONF_finish() failed");
	}
	SSL_CONF_CTX_free(cc);
	return 0;
}

int tls_ctx_build(struct tls_conf *t, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int rc;

	ERR_clear_error();
	t->ctx = NULL;
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return tls_fail(err, errlen, t->ncerts ? &t->cert_at[0] : NULL,
				"SSL_CTX_new() failed");
	/* Safe without tuning: no renegotiation (a client-driven CPU sink and
	 * an old attack surface), no compression (CRIME), a fresh ECDHE key
	 * per handshake, and a peer that drops TCP without close_notify is
	 * an end of stream, not an error (HTTP frames its own bodies). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					 SSL_OP_SINGLE_ECDH_USE | SSL_OP_SINGLE_DH_USE |
					 SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (t->prefer_server_ciphers == 1)
		SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* ssl_buffer_size: the largest record sent. Kernel TLS cuts its own
	 * records (16k), so a smaller size keeps the sends in OpenSSL. */
	SSL_CTX_set_max_send_fragment(ctx, (long)LBD_MIN(t->buffer_size, (int64_t)TLS_CHUNK));
#ifdef SSL_OP_ENABLE_KTLS
	/* kernel TLS where the kernel has it (OpenSSL turns it on per
	 * connection after the handshake when the cipher allows): files then
	 * go out with SSL_sendfile, see tls_sendfile() */
	if (features_ktls() && t->buffer_size >= TLS_CHUNK)
		SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
#endif
	/* Partial writes: SSL_write returns after each record, which gives
	 * writev's contract; the buffer may move between retries (callers
	 * present the same bytes from wherever they are now). Idle
	 * keep-alive connections give their record buffers back. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	rc = set_protocols_ciphers(ctx, t, err, errlen);
	if (rc)
		goto fail;
	if (t->ecdh_curve && strcmp(t->ecdh_curve, "auto") != 0 &&
	    !SSL_CTX_set1_curves_list(ctx, t->ecdh_curve)) {
		rc = tls_fail(err, errlen, &t->ecdh_curve_at,
			      "SSL_CTX_set1_curves_list(\"%s\") failed", t->ecdh_curve);
		goto fail;
	}
	rc = load_certs(ctx, t, t->ncerts, true, err, errlen);
	if (rc)
		goto fail;
	if (t->dhparam) {
		rc = load_dhparam(ctx, t, err, errlen);
		if (rc)
			goto fail;
	}
	if (t->trusted && !SSL_CTX_load_verify_locations(ctx, t->trusted, NULL)) {
		rc = tls_fail(err, errlen, &t->trusted_at,
			      "SSL_CTX_load_verify_locations(\"%s\") failed", t->trusted);
		goto fail;
	}
	rc = tls_client_setup(ctx, t, err, errlen);
	if (rc)
		goto fail;
	if ((rc = ocsp_client_setup(ctx, t))) {
		rc = tls_fail(err, errlen, &t->ocsp.mode_at, "ssl_ocsp: %s", strerror(-rc));
		goto fail;
	}
	if (t->nticket_keys && t->session_tickets) {
		rc = tls_ticket_setup(ctx, t, err, errlen);
		if (rc)
			goto fail;
	}
	set_session_cache(ctx, t);
	set_early_data(ctx, t);
	/* nginx staples for the certificates it loaded: none when they are
	 * chosen by variables */
	if (t->stapling == 1 && !t->dynamic) {
		const char *what;

		rc = ocsp_ctx_setup(ctx, t, &what);
		if (rc && what) {
			rc = tls_fail(err, errlen, &t->ocsp.file_at, "%s(\"%s\") failed", what,
				      t->ocsp.file);
			goto fail;
		}
		if (rc) {
			rc = tls_fail(err, errlen, &t->stapling_at, "ssl_stapling: %s",
				      strerror(-rc));
			goto fail;
		}
	}
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_servername);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn, NULL);
	if ((rc = apply_cmds(ctx, t, SSL_CONF_FLAG_SERVER, err, errlen)))
		goto fail;
	t->ctx = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return rc;
}

/* verify_later - every chain passes the handshake; the caller reads
 * SSL_get_verify_result afterwards and logs nginx's message. */
static int verify_later(int ok, X509_STORE_CTX *x)
{
	(void)ok, (void)x;
	return 1;
}

int tls_ctx_build_client(struct tls_conf *t, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int rc;

	ERR_clear_error();
	t->ctx = NULL;
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return tls_fail(err, errlen, NULL, "SSL_CTX_new() failed");
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					 SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	rc = set_protocols_ciphers(ctx, t, err, errlen);
	if (rc)
		goto fail;
	if (t->verify_client == TLS_VERIFY_ON)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_later);
	SSL_CTX_set_verify_depth(ctx, t->verify_depth);
	if (t->trusted && !SSL_CTX_load_verify_locations(ctx, t->trusted, NULL)) {
		rc = tls_fail(err, errlen, &t->trusted_at,
			      "SSL_CTX_load_verify_locations(\"%s\") failed", t->trusted);
		goto fail;
	}
	if (t->crl && !tls_load_crl(ctx, t->crl)) {
		rc = tls_fail(err, errlen, &t->crl_at, "X509_LOOKUP_load_file(\"%s\") failed",
			      t->crl);
		goto fail;
	}
	/* one client certificate (proxy_ssl_certificate) */
	rc = load_certs(ctx, t, t->ncerts ? 1 : 0, false, err, errlen);
	if (rc)
		goto fail;
	if ((rc = apply_cmds(ctx, t, SSL_CONF_FLAG_CLIENT, err, errlen)))
		goto fail;
	t->ctx = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return rc;
}

void tls_ctx_share(struct tls_conf *dst, const struct tls_conf *src)
{
	if (src->ctx && SSL_CTX_up_ref(src->ctx))
		dst->ctx = src->ctx;
}

void tls_ctx_release(struct tls_conf *t)
{
	if (t && t->ctx) {
		SSL_CTX_free(t->ctx);
		t->ctx = NULL;
	}
}

/* ---- sessions -------------------------------------------------------------------- */

/* tls_servername - OpenSSL's SNI hook: switch the session to the context
 * of the server block the name selects, as nginx does; the protocol
 * versions and session cache stay those of the default server's context
 * (OpenSSL has chosen them by then), the per-server options follow. */
static int tls_servername(SSL *ssl, int *alert, void *arg)
{
	struct tls_conn *t = SSL_get_app_data(ssl);
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	const struct tls_conf *conf = NULL;
	char low[256];
	size_t len = name ? strlen(name) : 0;

	(void)arg;
	if (!t)
		return SSL_TLSEXT_ERR_OK;
	if (t->sni && len && len < sizeof(low)) {
		for (size_t i = 0; i < len; i++)
			low[i] =
				(char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
		low[len] = '\0';
		conf = t->sni(t->arg, low, len);
	}
	/* ssl_reject_handshake on in the server the name selects, or in the
	 * default server when none is named: unrecognized_name, as nginx */
	if (conf ? conf->reject_handshake == 1 : t->reject) {
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		t->rejected = true;
		conn_log(t, LOG_INFO, "SSL handshaking", "client SSL handshake rejected");
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	if (!conf || !conf->ctx || conf->ctx == SSL_get_SSL_CTX(ssl))
		return SSL_TLSEXT_ERR_OK;
	/* 0-RTT is decided after this hook, by the session's own limit: a
	 * named server with ssl_early_data off refuses it (one with on,
	 * behind a default server with off, does not get it: the session
	 * did not start reading early data) */
	if (conf->early_data != 1)
		SSL_set_max_early_data(ssl, 0);
	SSL_set_SSL_CTX(ssl, conf->ctx);
	SSL_clear_options(ssl, SSL_get_options(ssl) & ~SSL_CTX_get_options(conf->ctx));
	SSL_set_options(ssl, SSL_CTX_get_options(conf->ctx));
	/* SSL_set_SSL_CTX keeps the session's own copies of these */
	SSL_set_max_send_fragment(ssl, (long)LBD_MIN(conf->buffer_size, (int64_t)TLS_CHUNK));
	tls_client_follow(ssl, conf->ctx);
	return SSL_TLSEXT_ERR_OK;
}

/* tls_alpn - OpenSSL's ALPN hook: the server's preference, h2 then
 * http/1.1 where the address serves HTTP/2, http/1.1 alone elsewhere; no
 * common protocol continues without ALPN, as nginx does. */
static int tls_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char both[] = "\x02h2\x08http/1.1";
	static const unsigned char h1[] = "\x08http/1.1";
	struct tls_conn *t = SSL_get_app_data(ssl);
	unsigned char *sel;

	(void)arg;
	if (t && t->offer_h2) {
		if (SSL_select_next_proto(&sel, outlen, both, sizeof(both) - 1, in, inlen) !=
		    OPENSSL_NPN_NEGOTIATED)
			return SSL_TLSEXT_ERR_NOACK;
	} else if (SSL_select_next_proto(&sel, outlen, h1, sizeof(h1) - 1, in, inlen) !=
		   OPENSSL_NPN_NEGOTIATED) {
		return SSL_TLSEXT_ERR_NOACK;
	}
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

void tls_conn_offer_h2(struct tls_conn *t, bool on)
{
	t->offer_h2 = on;
}

bool tls_conn_is_h2(const struct tls_conn *t)
{
	const unsigned char *p;
	unsigned int n;

	SSL_get0_alpn_selected(t->ssl, &p, &n);
	return n == 2 && p[0] == 'h' && p[1] == '2';
}

struct tls_conn *tls_conn_new(const struct tls_conf *tc, int fd, tls_sni_fn sni, void *arg,
			      const char *client)
{
	struct tls_conn *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ssl = SSL_new(tc->ctx);
	if (!t->ssl || !SSL_set_fd(t->ssl, fd)) {
		ERR_clear_error();
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	t->sni = sni;
	t->arg = arg;
	t->reject = tc->reject_handshake == 1;
	t->first_ctx = tc->ctx;
	t->early_try = SSL_CTX_get_max_early_data(tc->ctx) > 0;
	snprintf(t->client, sizeof(t->client), "%s", client ? client : "?");
	SSL_set_app_data(t->ssl, t);
	SSL_set_accept_state(t->ssl);
	return t;
}

struct tls_conn *tls_conn_new_client(void *ctx, int fd)
{
	struct tls_conn *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ssl = SSL_new(ctx);
	if (!t->ssl || !SSL_set_fd(t->ssl, fd)) {
		ERR_clear_error();
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	t->quiet = true;
	snprintf(t->client, sizeof(t->client), "upstream");
	SSL_set_connect_state(t->ssl);
	return t;
}

void tls_conn_shutdown(struct tls_conn *t)
{
	if (!t->done || t->failed || t->shut)
		return;
	t->shut = true;
	/* one non-blocking attempt: a full socket just loses the alert */
	if (SSL_shutdown(t->ssl) < 0)
		ERR_clear_error();
}

void tls_conn_free(struct tls_conn *t)
{
	if (!t)
		return;
	tls_conn_shutdown(t);
	SSL_free(t->ssl);
	free(t->err);
	free(t);
}

/* peer_reason - whether OpenSSL's reason R blames the peer's bytes (a
 * bad record, an alert, a protocol the other side got wrong): nginx's
 * list in ngx_ssl_connection_error, whose failures it logs at error
 * towards an upstream (info for clients) and everything else at crit.
 * The reasons are OpenSSL 3's numbers, as its ssl.h names them. */
static bool peer_reason(int r)
{
	static const int peer[] = {
		SSL_R_BAD_CHANGE_CIPHER_SPEC,
		SSL_R_NO_SUITABLE_KEY_SHARE,
		SSL_R_BLOCK_CIPHER_PAD_IS_WRONG,
		SSL_R_DIGEST_CHECK_FAILED,
		SSL_R_ERROR_IN_RECEIVED_CIPHER_LIST,
		SSL_R_EXCESSIVE_MESSAGE_SIZE,
		SSL_R_HTTPS_PROXY_REQUEST,
		SSL_R_HTTP_REQUEST,
		SSL_R_LENGTH_MISMATCH,
		SSL_R_NO_CIPHERS_SPECIFIED,
		SSL_R_NO_COMPRESSION_SPECIFIED,
		SSL_R_NO_SHARED_CIPHER,
		SSL_R_RECORD_LENGTH_MISMATCH,
		SSL_R_PARSE_TLSEXT,
		SSL_R_UNEXPECTED_MESSAGE,
		SSL_R_UNEXPECTED_RECORD,
		SSL_R_UNKNOWN_ALERT_TYPE,
		SSL_R_UNKNOWN_PROTOCOL,
		SSL_R_UNSUPPORTED_PROTOCOL,
		SSL_R_WRONG_VERSION_NUMBER,
		SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC,
		SSL_R_RENEGOTIATE_EXT_TOO_LONG,
		SSL_R_RENEGOTIATION_ENCODING_ERR,
		SSL_R_RENEGOTIATION_MISMATCH,
		SSL_R_UNSAFE_LEGACY_RENEGOTIATION_DISABLED,
		SSL_R_SCSV_RECEIVED_WHEN_RENEGOTIATING,
		SSL_R_INAPPROPRIATE_FALLBACK,
		SSL_R_VERSION_TOO_LOW,
		/* alerts the peer sent (1000 + the alert) */
		SSL_AD_REASON_OFFSET + SSL_AD_CLOSE_NOTIFY,
		SSL_R_SSLV3_ALERT_UNEXPECTED_MESSAGE,
		SSL_R_SSLV3_ALERT_BAD_RECORD_MAC,
		SSL_R_TLSV1_ALERT_DECRYPTION_FAILED,
		SSL_R_TLSV1_ALERT_RECORD_OVERFLOW,
		SSL_R_SSLV3_ALERT_DECOMPRESSION_FAILURE,
		SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE,
		SSL_R_SSLV3_ALERT_NO_CERTIFICATE,
		SSL_R_SSLV3_ALERT_BAD_CERTIFICATE,
		SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE,
		SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED,
		SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED,
		SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN,
		SSL_R_SSLV3_ALERT_ILLEGAL_PARAMETER,
		SSL_R_TLSV1_ALERT_UNKNOWN_CA,
		SSL_R_TLSV1_ALERT_ACCESS_DENIED,
		SSL_R_TLSV1_ALERT_DECODE_ERROR,
		SSL_R_TLSV1_ALERT_DECRYPT_ERROR,
		SSL_R_TLSV1_ALERT_EXPORT_RESTRICTION,
		SSL_R_TLSV1_ALERT_PROTOCOL_VERSION,
		SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY,
		SSL_R_TLSV1_ALERT_INTERNAL_ERROR,
		SSL_R_TLSV1_ALERT_USER_CANCELLED,
		SSL_R_TLSV1_ALERT_NO_RENEGOTIATION,
	};

	for (size_t i = 0; i < ARRAY_SIZE(peer); i++)
		if (peer[i] == r)
			return true;
	return false;
}

/* keep_error - an upstream session's read or write failed with OpenSSL
 * errors queued: keep nginx's text ("SSL_read() failed (SSL: ...)") and
 * level for the caller's log line (tls_conn_error), then empty the
 * queue. The level follows the first queued error, as nginx's. */
static void keep_error(struct tls_conn *t, const char *what)
{
	enum { ERR_TEXT = 512 };

	t->err_level = peer_reason(ERR_GET_REASON(ERR_peek_error())) ? LOG_ERR : LOG_CRIT;
	if (!t->err)
		t->err = malloc(ERR_TEXT);
	if (t->err)
		tls_fail(t->err, ERR_TEXT, NULL, "%s", what);
	ERR_clear_error();
}

const char *tls_conn_error(const struct tls_conn *t, int *level)
{
	if (!t || !t->err || !t->failed)
		return NULL;
	if (level)
		*level = t->err_level;
	return t->err;
}

/* io_error - map a failed SSL call to errno and the return value -1;
 * EAGAIN for WANT_READ/WANT_WRITE (a read that must write waits for the
 * peer's next bytes: only TLS 1.3 key updates do that, and the client's
 * own traffic wakes us again). */
static ssize_t io_error(struct tls_conn *t, int ret, bool reading)
{
	int e = SSL_get_error(t->ssl, ret);

	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		if (reading)
			return 0;
		errno = EPIPE;
		return -1;
	case SSL_ERROR_SYSCALL:
		t->failed = true;
		t->sock_gone = reading && !ERR_peek_error();
		ERR_clear_error();
		if (!errno)
			errno = reading ? ECONNRESET : EPIPE;
		return -1;
	default:
		t->failed = true;
		if (t->quiet)
			keep_error(t, reading ? "SSL_read() failed" : "SSL_write() failed");
		else if (t->log_fn)
			owner_log_ssl(t, reading ? "SSL_read() failed" : "SSL_write() failed");
		else
			conn_log_ssl(t, reading ? "SSL_read() failed" : "SSL_write() failed",
				     "processing a request");
		errno = EPROTO;
		return -1;
	}
}

/* hs_failed - the handshake step WHAT failed with OpenSSL's error E:
 * logged as nginx does (unless quiet), the session marked failed. */
static enum tls_hs hs_failed(struct tls_conn *t, int e, const char *what)
{
	t->failed = true;
	if (t->quiet)
		return TLS_HS_FAILED; /* errno and the error queue kept for the caller */
	if (t->rejected) {
		/* logged by tls_servername */
	} else if (e == SSL_ERROR_SYSCALL && !ERR_peek_error()) {
		if (errno)
			conn_log(t, LOG_INFO, "SSL handshaking", "%s failed (%d: %s)", what, errno,
				 strerror(errno));
		else
			conn_log(t, LOG_INFO, "SSL handshaking",
				 "peer closed connection in SSL handshake");
	} else {
		char msg[64];

		snprintf(msg, sizeof(msg), "%s failed", what);
		conn_log_ssl(t, msg, "SSL handshaking");
	}
	ERR_clear_error();
	return TLS_HS_FAILED;
}

/* try_early - the first handshake step of a session whose context takes
 * 0-RTT: SSL_read_early_data of one byte (kept in t->held) tells whether
 * the client sent early data. DONE when it did (the request is read from
 * it before the handshake completes), WANT_* to wait, or -1 when there
 * is none (or it was refused): the usual handshake follows. */
static int try_early(struct tls_conn *t)
{
	size_t n = 0;
	int rc, e;

	errno = 0;
	rc = SSL_read_early_data(t->ssl, &t->held, 1, &n);
	if (rc == SSL_READ_EARLY_DATA_SUCCESS) {
		t->early_try = false;
		t->early = t->half = t->done = true;
		t->held_n = n == 1;
		early_count(TLS_ST_ACCEPTED);
		return TLS_HS_DONE;
	}
	if (rc == SSL_READ_EARLY_DATA_FINISH) {
		t->early_try = false;
		return -1;
	}
	e = SSL_get_error(t->ssl, rc);
	if (e == SSL_ERROR_WANT_READ)
		return TLS_HS_WANT_READ;
	if (e == SSL_ERROR_WANT_WRITE)
		return TLS_HS_WANT_WRITE;
	t->early_try = false;
	return hs_failed(t, e, "SSL_read_early_data()");
}

enum tls_hs tls_handshake(struct tls_conn *t)
{
	int rc, e;

	if (unlikely(t->early_try)) {
		rc = try_early(t);
		if (rc >= 0)
			return (enum tls_hs)rc;
	}
	errno = 0;
	rc = SSL_do_handshake(t->ssl);
	if (rc == 1) {
		t->done = true;
		/* the client sent 0-RTT data that was skipped: ssl_early_data
		 * off, a ticket already used (anti-replay) */
		if (!t->quiet && SSL_get_early_data_status(t->ssl) == SSL_EARLY_DATA_REJECTED)
			early_count(TLS_ST_REJECTED);
		return TLS_HS_DONE;
	}
	e = SSL_get_error(t->ssl, rc);
	if (e == SSL_ERROR_WANT_READ)
		return TLS_HS_WANT_READ;
	if (e == SSL_ERROR_WANT_WRITE)
		return TLS_HS_WANT_WRITE;
	return hs_failed(t, e, "SSL_do_handshake()");
}

ssize_t tls_recv(struct tls_conn *t, void *buf, size_t len);

/* recv_early - tls_recv while the request comes as 0-RTT data: the byte
 * tls_handshake held back, then SSL_read_early_data until OpenSSL says
 * the early data ended; after that SSL_read completes the handshake and
 * goes on (so a short count still means "drained"). */
static ssize_t recv_early(struct tls_conn *t, void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t got = 0;

	if (t->held_n && len) {
		p[got++] = t->held;
		t->held_n = false;
	}
	while (t->early && got < len) {
		size_t n = 0;
		int rc, e;

		errno = 0;
		rc = SSL_read_early_data(t->ssl, p + got, len - got, &n);
		if (rc == SSL_READ_EARLY_DATA_SUCCESS) {
			got += n;
			continue;
		}
		if (rc == SSL_READ_EARLY_DATA_FINISH) {
			t->early = false;
			break;
		}
		if (!got)
			return io_error(t, rc, true);
		e = SSL_get_error(t->ssl, rc);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			ERR_clear_error(); /* repeats on the next call */
		return (ssize_t)got;
	}
	if (!t->early && got < len) {
		ssize_t more = tls_recv(t, p + got, len - got);

		if (more > 0)
			got += (size_t)more;
		else if (!got)
			return more;
	}
	return (ssize_t)got;
}

ssize_t tls_recv(struct tls_conn *t, void *buf, size_t len)
{
	size_t got = 0;

	if (unlikely(t->early || t->held_n))
		return recv_early(t, buf, len);
	if (unlikely(t->failed && (t->err || t->read_failed))) {
		errno = EPROTO; /* kept or logged after the bytes before it */
		return -1;
	}
	/* Keep reading until the buffer is full or OpenSSL needs the socket:
	 * a record is at most 16 KiB, and a short count must mean "drained"
	 * for edge-triggered callers, never "one record so far". */
	while (got < len) {
		size_t n = 0;
		int rc;

		errno = 0;
		rc = SSL_read_ex(t->ssl, (char *)buf + got, len - got, &n);
		if (rc == 1) {
			got += n;
			continue;
		}
		if (got) {
			/* the error (or EOF) repeats on the next call */
			int e = SSL_get_error(t->ssl, rc);

			if (e == SSL_ERROR_SSL && t->quiet) {
				/* a bad record after good ones: its text now,
				 * while OpenSSL's queue holds it; EPROTO next */
				t->failed = true;
				keep_error(t, "SSL_read() failed");
			} else if (e == SSL_ERROR_SSL && t->log_fn) {
				/* logged now, as nginx's read that met it, with
				 * the good bytes not yet the owner's */
				t->failed = t->read_failed = true;
				owner_log_ssl(t, "SSL_read() failed");
			} else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE &&
				   e != SSL_ERROR_ZERO_RETURN) {
				ERR_clear_error();
			}
			return (ssize_t)got;
		}
		return io_error(t, rc, true);
	}
	return (ssize_t)got;
}

ssize_t tls_peek(struct tls_conn *t, void *buf, size_t len)
{
	size_t n = 0;
	int rc;

	if (unlikely(t->early || t->held_n)) {
		/* SSL_peek refuses to run before the early data ends: the held
		 * byte, or "nothing yet" (the next read ends it) */
		if (t->held_n && len) {
			*(unsigned char *)buf = t->held;
			return 1;
		}
		errno = EAGAIN;
		return -1;
	}
	errno = 0;
	rc = SSL_peek_ex(t->ssl, buf, len, &n);
	if (rc == 1)
		return (ssize_t)n;
	return io_error(t, rc, true);
}

/* write_chunk - one SSL_write of at most a record. */
static ssize_t write_chunk(struct tls_conn *t, const void *p, size_t len)
{
	size_t n = 0;
	int rc;

	errno = 0;
	if (unlikely(t->half)) {
		/* 0.5-RTT: SSL_write would wait for the client's Finished */
		if (!SSL_is_init_finished(t->ssl))
			rc = SSL_write_early_data(t->ssl, p, len, &n);
		else {
			t->half = false;
			rc = SSL_write_ex(t->ssl, p, len, &n);
		}
	} else {
		rc = SSL_write_ex(t->ssl, p, len, &n);
	}
	if (rc == 1)
		return (ssize_t)n;
	return io_error(t, rc, false);
}

ssize_t tls_writev(struct tls_conn *t, const struct iovec *iov, int n)
{
	size_t done = 0, off = 0;
	int i = 0;

	for (;;) {
		const char *p;
		size_t len, avail;
		ssize_t w;

		while (i < n && off == iov[i].iov_len) {
			i++;
			off = 0;
		}
		if (i == n)
			break;
		avail = iov[i].iov_len - off;
		if (avail >= TLS_CHUNK || i == n - 1) {
			p = (const char *)iov[i].iov_base + off;
			len = LBD_MIN(avail, (size_t)TLS_CHUNK);
		} else {
			/* small pieces (a chunk header, CRLF): one record of them */
			size_t o = 0, k = off;

			for (int j = i; j < n && o < TLS_CHUNK; j++, k = 0) {
				size_t c = LBD_MIN(iov[j].iov_len - k, (size_t)TLS_CHUNK - o);

				memcpy(tls_bounce + o, (const char *)iov[j].iov_base + k, c);
				o += c;
			}
			p = tls_bounce;
			len = o;
		}
		w = write_chunk(t, p, len);
		if (w < 0)
			return done ? (ssize_t)done : -1;
		done += (size_t)w;
		/* advance the position by w bytes across the iovecs */
		for (size_t left = (size_t)w; left;) {
			size_t c = LBD_MIN(left, iov[i].iov_len - off);

			off += c;
			left -= c;
			if (off == iov[i].iov_len && left) {
				i++;
				off = 0;
			}
		}
	}
	return (ssize_t)done;
}

/* ktls_send - kernel TLS sends for T (OpenSSL set it up after the
 * handshake); the first time a file goes out on T, say which path in the
 * debug log. */
static bool ktls_send(struct tls_conn *t)
{
#ifdef OPENSSL_NO_KTLS
	bool on = false;
#else
	bool on = BIO_get_ktls_send(SSL_get_wbio(t->ssl));
#endif

	if (!t->file_said) {
		t->file_said = true;
		log_debug(
			"TLS file send to %s: %s", t->client,
			on ? "kernel TLS (SSL_sendfile)"
			   : "userspace TLS (pread + SSL_write, kTLS not active on this connection)");
	}
	return on;
}

ssize_t tls_sendfile(struct tls_conn *t, int fd, off_t *off, size_t n)
{
	size_t done = 0;

#ifndef OPENSSL_NO_KTLS
	/* no SSL_sendfile for 0.5-RTT data (before the client's Finished) */
	if ((likely(!t->half) || SSL_is_init_finished(t->ssl)) && ktls_send(t)) {
		ossl_ssize_t w;

		errno = 0;
		w = SSL_sendfile(t->ssl, fd, *off, n, 0);
		if (w < 0)
			return io_error(t, (int)w, false);
		*off += w;
		return (ssize_t)w;
	}
#else
	(void)ktls_send(t);
#endif

	while (done < n) {
		size_t want = LBD_MIN(n - done, (size_t)TLS_CHUNK);
		ssize_t r, w;

		do {
			r = pread(fd, tls_bounce, want, *off);
		} while (r == -1 && errno == EINTR);
		if (r == -1)
			return done ? (ssize_t)done : -1;
		if (r == 0)
			break; /* the file shrank: sendfile(2) returns short too */
		w = write_chunk(t, tls_bounce, (size_t)r);
		if (w < 0)
			return done ? (ssize_t)done : -1;
		*off += w;
		done += (size_t)w;
	}
	return (ssize_t)done;
}

const char *tls_conn_protocol(const struct tls_conn *t)
{
	return t && t->done ? SSL_get_version(t->ssl) : NULL;
}

const char *tls_conn_cipher(const struct tls_conn *t)
{
	return t && t->done ? SSL_get_cipher_name(t->ssl) : NULL;
}

const char *tls_conn_server_name(const struct tls_conn *t)
{
	return t ? SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name) : NULL;
}

bool tls_conn_in_early(const struct tls_conn *t)
{
	return t && t->half && !SSL_is_init_finished(t->ssl);
}

void *tls_conn_ssl(const struct tls_conn *t)
{
	return t->ssl;
}

const char *tls_conn_client(const struct tls_conn *t)
{
	return t->client;
}

ssize_t tls_recv_reset_closes(struct tls_conn *t, void *buf, size_t len)
{
	ssize_t n = tls_recv(t, buf, len);

	return n == -1 && t->failed && t->sock_gone ? 0 : n;
}

bool tls_conn_peer_closed(const struct tls_conn *t)
{
	return (SSL_get_shutdown(t->ssl) & SSL_RECEIVED_SHUTDOWN) != 0;
}

void tls_conn_log_ctx(struct tls_conn *t, unsigned long long number, const char *server)
{
	t->number = number;
	snprintf(t->server, sizeof(t->server), "%s", server ? server : "");
}

void tls_conn_set_log(struct tls_conn *t, tls_log_fn fn, void *arg)
{
	t->log_fn = fn;
	t->log_arg = arg;
}

void *tls_conn_session_ctx(const struct tls_conn *t)
{
	return t->first_ctx;
}
