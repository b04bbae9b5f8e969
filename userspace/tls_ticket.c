/* SPDX-License-Identifier: MIT */
/*
 * ssl_session_ticket_key (see tls_ticket.h). The keys of a context live in
 * its ex_data and are wiped and freed with it; the ticket callback finds
 * them on the context the session started with (the default server's),
 * which is where OpenSSL looks for tickets whatever SNI selects.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "tls.h"
#include "tls_ticket.h"

struct ticket_key {
	int size; /* 48 or 80 (the file's) */
	unsigned char name[16];
	unsigned char aes[32];
	unsigned char hmac[32];
};

struct ticket_keys {
	int n;
	struct ticket_key k[];
};

static int keys_index = -1;
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void keys_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct ticket_keys *ks = ptr;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (ks) {
		OPENSSL_cleanse(ks->k, sizeof(ks->k[0]) * (size_t)ks->n);
		free(ks);
	}
}

static void keys_init(void)
{
	keys_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, keys_free);
}

/* read_key - one key file, exactly 48 or 80 bytes. */
static int read_key(const char *path, const struct tls_where *at, struct ticket_key *k, char *err,
		    size_t errlen)
{
	unsigned char buf[81];
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	const char *file = at->file ? at->file : "command line";

	if (fd < 0) {
		snprintf(err, errlen, "open() \"%s\" failed (%d: %s) in %s:%d", path, errno,
			 strerror(errno), file, at->line);
		return -EINVAL;
	}
	do {
		n = read(fd, buf, sizeof(buf));
	} while (n < 0 && errno == EINTR);
	close(fd);
	if (n != 48 && n != 80) {
		OPENSSL_cleanse(buf, sizeof(buf));
		snprintf(err, errlen, "\"%s\" must be 48 or 80 bytes in %s:%d", path, file,
			 at->line);
		return -EINVAL;
	}
	k->size = (int)n;
	memcpy(k->name, buf, 16);
	if (n == 48) {
		memcpy(k->aes, buf + 16, 16);
		memcpy(k->hmac, buf + 32, 16);
	} else {
		memcpy(k->hmac, buf + 16, 32);
		memcpy(k->aes, buf + 48, 32);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

/* ticket_cb - OpenSSL's ticket hook: seal with the first key; open with
 * the key the ticket names (0: unknown, a full handshake follows), asking
 * for a fresh ticket when that is not the first key. */
static int ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *ectx,
		     EVP_MAC_CTX *hctx, int enc)
{
	struct tls_conn *t = SSL_get_app_data(ssl);
	SSL_CTX *ctx = t ? tls_conn_session_ctx(t) : SSL_get_SSL_CTX(ssl);
	struct ticket_keys *ks = ctx ? SSL_CTX_get_ex_data(ctx, keys_index) : NULL;
	const struct ticket_key *k = NULL;
	OSSL_PARAM params[3];
	int i = 0;

	if (!ks || !ks->n)
		return -1;
	if (enc) {
		k = &ks->k[0];
		if (RAND_bytes(iv, 16) != 1)
			return -1;
		memcpy(name, k->name, 16);
	} else {
		for (i = 0; i < ks->n && !k; i++)
			if (memcmp(name, ks->k[i].name, 16) == 0)
				k = &ks->k[i];
		if (!k)
			return 0;
		i--;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac,
						      k->size == 48 ? 16 : 32);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_CTX_set_params(hctx, params))
		return -1;
	if (enc)
		return EVP_EncryptInit_ex(ectx,
					  k->size == 48 ? EVP_aes_128_cbc() : EVP_aes_256_cbc(),
					  NULL, k->aes, iv) == 1
			       ? 1
			       : -1;
	if (EVP_DecryptInit_ex(ectx, k->size == 48 ? EVP_aes_128_cbc() : EVP_aes_256_cbc(), NULL,
			       k->aes, iv) != 1)
		return -1;
	/* as nginx: renew under TLS 1.3 and for a key that no longer encrypts */
	return i != 0 || SSL_version(ssl) == TLS1_3_VERSION ? 2 : 1;
}

int tls_ticket_setup(void *vctx, const struct tls_conf *t, char *err, size_t errlen)
{
	SSL_CTX *ctx = vctx;
	struct ticket_keys *ks;

	pthread_once(&keys_once, keys_init);
	if (keys_index < 0) {
		snprintf(err, errlen, "SSL_CTX_get_ex_new_index() failed");
		return -ENOMEM;
	}
	ks = calloc(1, sizeof(*ks) + sizeof(ks->k[0]) * (size_t)t->nticket_keys);
	if (!ks) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < t->nticket_keys; i++) {
		int rc = read_key(t->ticket_keys[i], &t->ticket_key_at[i], &ks->k[i], err, errlen);

		if (rc) {
			keys_free(NULL, ks, NULL, 0, 0, NULL);
			return rc;
		}
		ks->n = i + 1;
	}
	if (!SSL_CTX_set_ex_data(ctx, keys_index, ks)) {
		keys_free(NULL, ks, NULL, 0, 0, NULL);
		snprintf(err, errlen, "SSL_CTX_set_ex_data() failed");
		return -ENOMEM;
	}
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
	return 0;
}
