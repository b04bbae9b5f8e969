/* SPDX-License-Identifier: MIT */
/*
 * Access log. Owns log_format compilation (nginx's own `$` syntax for
 * formats, its escaping, the predefined `combined`), the registry of open
 * log files, and each worker thread's buffers.
 *
 * Files: one open file per path, shared by every access_log that names it
 * (refcounted; a mutex guards the registry, taken at open, close and reopen
 * only). USR1 reopens each file and dup3()s it over the old descriptor, so
 * a writer never sees a closed fd. Files are opened O_APPEND: a line
 * written with one write(2) never interleaves with another thread's.
 *
 * Buffers: with buffer=SIZE each thread keeps its own buffer per access_log
 * (slot a->index of a thread-local table), so the request path takes no
 * lock. A buffer is written out when the next line does not fit, when its
 * oldest line is flush= old (checked on the next line and by
 * alog_flush_expired), on alog_flush_thread(), and when the thread exits.
 * A buffer holding lines also holds a reference on their file, so a
 * configuration release cannot close the file under it.
 *
 * gzip: with gzip[=LEVEL] each buffer written out becomes one complete
 * gzip member, written with one write(2), so the file is a concatenation
 * of members that zcat reads whole (as nginx writes it). The deflate
 * state and its output buffer belong to the thread's buffer and are
 * reused (deflateReset) from one flush to the next.
 *
 * Syslog: a "syslog:..." path shares a struct alog_file too (by its text),
 * with a datagram socket (slog.c) instead of a file: each line is sent on
 * its own, without its newline; such logs are never buffered.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "alog.h"
#include "log.h"
#include "priv.h"
#include "slog.h"

#define ALOG_STACK_VALS 64 /* format parts evaluated without a pool array */

/* struct alog_file - one open log file, shared by path. */
struct alog_file {
	char *path;		 /* path as given (malloc) */
	int fd;			 /* stays the same number across reopen */
	_Atomic int refs;	 /* alog_open shares + thread buffers holding lines */
	bool reopen;		 /* false for /dev/stdout, /dev/stderr and syslog */
	struct slog_peer *sl;	 /* syslog destination (malloc), NULL for a file */
	bool buffered;		 /* a buffered access_log uses it: gzip below is set */
	int gzip;		 /* gzip level of its buffered access_logs (0 = none) */
	_Atomic int64_t err_sec; /* when a write error was last reported (s) */
	struct alog_file *next;	 /* registry link */
};

/* struct alog_tbuf - one thread's buffer for one access_log slot. */
struct alog_tbuf {
	struct alog_file *file; /* file of the buffered lines (a ref), NULL when empty */
	char *data;		/* buffer= bytes (malloc) */
	size_t cap;		/* size of data */
	size_t len;		/* bytes buffered */
	int64_t first_ms;	/* when the oldest line came in (lbd_now_ms) */
	int64_t flush_ms;	/* flush= of the lines' access_log, 0 = none */
	int gzip;		/* gzip level of the lines' access_log, 0 = none */
	z_stream *z;		/* deflate state for gzip (malloc), NULL until used */
	int zlevel;		/* level z was made with */
	char *zout;		/* compressed member (malloc) */
	size_t zcap;		/* size of zout */
};

/* struct alog_tls - a thread's buffer table, indexed by alog->index. */
struct alog_tls {
	int n;		     /* slots allocated */
	struct alog_tbuf *v; /* slots */
};

static pthread_mutex_t alog_lock = PTHREAD_MUTEX_INITIALIZER;
static struct alog_file *alog_files; /* registry, under alog_lock */
static unsigned char *alog_slots;    /* slot in use, under alog_lock */
static int alog_nslots;

static pthread_key_t alog_key;
static pthread_once_t alog_key_once = PTHREAD_ONCE_INIT;
static __thread struct alog_tls *alog_tls;

/* ------------------------------------------------------------------ */
/* files                                                                */

static void alog_write_error(struct alog_file *f, int err, size_t done, size_t len)
{
	int64_t now = (int64_t)time(NULL);
	int64_t last = atomic_load(&f->err_sec);

	/* Once a minute per file, as nginx. */
	if (now - last < 60 || !atomic_compare_exchange_strong(&f->err_sec, &last, now))
		return;
	if (err)
		log_emit(NULL, LOG_ALERT, "write() to \"%s\" failed (%d: %s)", f->path, err,
			 strerror(err));
	else
		log_emit(NULL, LOG_ALERT, "write() to \"%s\" was incomplete: %zu of %zu", f->path,
			 done, len);
}

static void alog_file_write(struct alog_file *f, const char *buf, size_t len)
{
	size_t done = 0;

	if (f->sl) {
		/* One datagram per line, without its newline. */
		if (len && buf[len - 1] == '\n')
			len--;
		slog_send(f->sl, f->sl->severity, buf, len);
		return;
	}
	while (done < len) {
		ssize_t n = write(f->fd, buf + done, len - done);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			alog_write_error(f, n == -1 ? errno : 0, done, len);
			return;
		}
		done += (size_t)n;
	}
}

static void alog_file_unref(struct alog_file *f)
{
	struct alog_file **pp;

	if (atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	/* At zero nobody can take it back: alog_open skips dead files. */
	pthread_mutex_lock(&alog_lock);
	for (pp = &alog_files; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	pthread_mutex_unlock(&alog_lock);
	if (f->sl) {
		slog_close(f->sl);
		free(f->sl);
	} else {
		close(f->fd);
	}
	free(f->path);
	free(f);
}

static int alog_file_open(const char *path, bool *reopen)
{
	int fd;

	*reopen = true;
	if (strcmp(path, "/dev/stdout") == 0 || strcmp(path, "/dev/stderr") == 0) {
		/* A socket or a closed terminal cannot be opened by name. */
		*reopen = false;
		fd = fcntl(strcmp(path, "/dev/stdout") == 0 ? 1 : 2, F_DUPFD_CLOEXEC, 3);
		return fd == -1 ? -errno : fd;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	return fd == -1 ? -errno : fd;
}

/* alog_slot_get - a free buffer slot; under alog_lock. */
static int alog_slot_get(void)
{
	int old = alog_nslots, n;
	unsigned char *s;

	for (int i = 0; i < alog_nslots; i++) {
		if (!alog_slots[i]) {
			alog_slots[i] = 1;
			return i;
		}
	}
	n = old ? old * 2 : 16;
	s = realloc(alog_slots, (size_t)n);
	if (!s)
		return -ENOMEM;
	memset(s + old, 0, (size_t)(n - old));
	alog_slots = s;
	alog_nslots = n;
	alog_slots[old] = 1;
	return old;
}

int alog_open(struct alog *a)
{
	struct alog_file *f;
	int rc = 0, fd;
	bool reopen;

	if (!a->path)
		return -EINVAL;
	a->index = -1;
	pthread_mutex_lock(&alog_lock);
	for (f = alog_files; f; f = f->next) {
		/* A reload may change a file's gzip level while the old
		 * configuration still writes it: those get a file of their
		 * own (each member is whole, O_APPEND keeps them apart).
		 * In one configuration the config parser refuses that
		 * (alog_conflicts). */
		if (atomic_load(&f->refs) > 0 && strcmp(f->path, a->path) == 0 &&
		    !(a->buffer > 0 && f->buffered && f->gzip != a->gzip))
			break;
	}
	if (f) {
		atomic_fetch_add(&f->refs, 1);
	} else if (strncmp(a->path, "syslog:", 7) == 0) {
		char err[256];

		f = calloc(1, sizeof(*f));
		if (!f || !(f->sl = calloc(1, sizeof(*f->sl))) || !(f->path = strdup(a->path))) {
			rc = -ENOMEM;
			goto fail_sl;
		}
		/* Parsed (and its errors reported) by the config already. */
		if (slog_parse(a->path + 7, f->sl, err, sizeof(err))) {
			rc = -EINVAL;
			goto fail_sl;
		}
		rc = slog_open(f->sl);
		if (rc)
			goto fail_sl;
		f->fd = -1;
		f->reopen = false;
		atomic_init(&f->refs, 1);
		atomic_init(&f->err_sec, 0);
		f->next = alog_files;
		alog_files = f;
	} else {
		fd = alog_file_open(a->path, &reopen);
		if (fd < 0) {
			rc = fd;
			goto out;
		}
		f = calloc(1, sizeof(*f));
		if (!f || !(f->path = strdup(a->path))) {
			free(f);
			close(fd);
			rc = -ENOMEM;
			goto out;
		}
		f->fd = fd;
		f->reopen = reopen;
		atomic_init(&f->refs, 1);
		atomic_init(&f->err_sec, 0);
		f->next = alog_files;
		alog_files = f;
	}
	if (a->buffer > 0 && !f->buffered) {
		f->buffered = true;
		f->gzip = a->gzip;
	}
	if (a->buffer > 0) {
		a->index = alog_slot_get();
		if (a->index < 0) {
			rc = a->index;
			a->index = -1;
			pthread_mutex_unlock(&alog_lock);
			alog_file_unref(f);
			return rc;
		}
	}
	a->file = f;
out:
	pthread_mutex_unlock(&alog_lock);
	return rc;
fail_sl:
	pthread_mutex_unlock(&alog_lock);
	if (f) {
		free(f->sl);
		free(f->path);
	}
	free(f);
	return rc;
}

void alog_close(struct alog *a)
{
	pthread_mutex_lock(&alog_lock);
	if (a->index >= 0 && a->index < alog_nslots)
		alog_slots[a->index] = 0;
	a->index = -1;
	pthread_mutex_unlock(&alog_lock);
	if (a->file)
		alog_file_unref(a->file);
	a->file = NULL;
}

int alog_reopen_all(void)
{
	int rc = 0;

	/* nginx writes its buffers out before reopening; do so for ours. */
	alog_flush_thread();
	pthread_mutex_lock(&alog_lock);
	for (struct alog_file *f = alog_files; f; f = f->next) {
		int fd;

		if (!f->reopen || atomic_load(&f->refs) == 0)
			continue;
		fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd == -1) {
			rc = -errno;
			continue;
		}
		if (dup3(fd, f->fd, O_CLOEXEC) == -1)
			rc = -errno;
		close(fd);
	}
	pthread_mutex_unlock(&alog_lock);
	return rc;
}

/* alog_chown_all - give every reopenable access log to UID:GID before the
 * privilege drop; standard output and error are not ours to change. */
int alog_chown_all(uid_t uid, gid_t gid)
{
	int rc = 0;

	pthread_mutex_lock(&alog_lock);
	for (struct alog_file *f = alog_files; f; f = f->next)
		if (f->reopen && !f->sl && fchown(f->fd, uid, gid) == -1)
			rc = -errno;
	pthread_mutex_unlock(&alog_lock);
	return rc;
}

/* ------------------------------------------------------------------ */
/* per-thread buffers                                                   */

/* alog_gz_write - compress DATA (LEN bytes) into one gzip member at
 * LEVEL with TB's deflate state, and write it to F with one write. On a
 * zlib failure the lines are lost (and said so), never written raw into
 * a compressed file. */
static void alog_gz_write(struct alog_tbuf *tb, struct alog_file *f, int level, const char *data,
			  size_t len)
{
	size_t need;
	char *out;
	int rc;

	if (tb->z && tb->zlevel != level) {
		deflateEnd(tb->z);
		free(tb->z);
		tb->z = NULL;
	}
	if (!tb->z) {
		tb->z = calloc(1, sizeof(*tb->z));
		/* windowBits 15 + 16: a gzip header and trailer, as nginx. */
		if (!tb->z || deflateInit2(tb->z, level, Z_DEFLATED, 15 + 16, 8,
					   Z_DEFAULT_STRATEGY) != Z_OK) {
			free(tb->z);
			tb->z = NULL;
			goto fail;
		}
		tb->zlevel = level;
	} else if (deflateReset(tb->z) != Z_OK) {
		goto fail;
	}
	need = deflateBound(tb->z, (uLong)len);
	if (need > tb->zcap) {
		out = realloc(tb->zout, need);
		if (!out)
			goto fail;
		tb->zout = out;
		tb->zcap = need;
	}
	tb->z->next_in = (Bytef *)data;
	tb->z->avail_in = (uInt)len;
	tb->z->next_out = (Bytef *)tb->zout;
	tb->z->avail_out = (uInt)tb->zcap;
	rc = deflate(tb->z, Z_FINISH);
	if (rc != Z_STREAM_END)
		goto fail;
	alog_file_write(f, tb->zout, tb->zcap - tb->z->avail_out);
	return;
fail:
	log_emit(NULL, LOG_ALERT, "deflate() to \"%s\" failed: %zu bytes of log lost", f->path,
		 len);
}

static void alog_tb_flush(struct alog_tbuf *tb)
{
	if (!tb->len)
		return;
	if (tb->gzip)
		alog_gz_write(tb, tb->file, tb->gzip, tb->data, tb->len);
	else
		alog_file_write(tb->file, tb->data, tb->len);
	tb->len = 0;
	alog_file_unref(tb->file);
	tb->file = NULL;
}

static void alog_tls_free(void *p)
{
	struct alog_tls *t = p;

	for (int i = 0; i < t->n; i++) {
		alog_tb_flush(&t->v[i]);
		free(t->v[i].data);
		if (t->v[i].z) {
			deflateEnd(t->v[i].z);
			free(t->v[i].z);
		}
		free(t->v[i].zout);
	}
	free(t->v);
	free(t);
	alog_tls = NULL;
}

static void alog_key_init(void)
{
	pthread_key_create(&alog_key, alog_tls_free);
}

static struct alog_tbuf *alog_tbuf_get(int index)
{
	struct alog_tbuf *v;
	int n;

	if (!alog_tls) {
		pthread_once(&alog_key_once, alog_key_init);
		alog_tls = calloc(1, sizeof(*alog_tls));
		if (!alog_tls)
			return NULL;
		pthread_setspecific(alog_key, alog_tls);
	}
	if (index >= alog_tls->n) {
		n = LBD_MAX(index + 1, alog_tls->n * 2);
		v = realloc(alog_tls->v, (size_t)n * sizeof(*v));
		if (!v)
			return NULL;
		memset(v + alog_tls->n, 0, (size_t)(n - alog_tls->n) * sizeof(*v));
		alog_tls->v = v;
		alog_tls->n = n;
	}
	return &alog_tls->v[index];
}

void alog_flush_thread(void)
{
	if (!alog_tls)
		return;
	for (int i = 0; i < alog_tls->n; i++)
		alog_tb_flush(&alog_tls->v[i]);
}

void alog_flush_tick(void)
{
	if (!alog_tls)
		return;
	for (int i = 0; i < alog_tls->n; i++)
		if (!alog_tls->v[i].gzip)
			alog_tb_flush(&alog_tls->v[i]);
}

int64_t alog_flush_expired(int64_t now_ms)
{
	int64_t next = -1;

	if (!alog_tls)
		return -1;
	for (int i = 0; i < alog_tls->n; i++) {
		struct alog_tbuf *tb = &alog_tls->v[i];
		int64_t due = tb->first_ms + tb->flush_ms;

		if (!tb->len || tb->flush_ms <= 0)
			continue;
		if (now_ms >= due)
			alog_tb_flush(tb);
		else if (next < 0 || due - now_ms < next)
			next = due - now_ms;
	}
	return next;
}

/* ------------------------------------------------------------------ */
/* rendering                                                            */

/* struct alog_val - one evaluated part of a format. */
struct alog_val {
	struct lstr v; /* value */
	bool missing;  /* variable not found: "-" with escape=default */
};

/* alog_esc_default - bytes nginx's ngx_http_log_escape writes as \xXX:
 * controls, '"', '\\', DEL and every byte >= 0x80. */
static inline bool alog_esc_default(unsigned char ch)
{
	return ch < 0x20 || ch == '"' || ch == '\\' || ch >= 0x7f;
}

static size_t alog_esc_len(struct lstr v, int escape)
{
	size_t n = v.len;

	if (escape == 2)
		return n;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char ch = (unsigned char)v.p[i];

		if (escape == 0) {
			if (alog_esc_default(ch))
				n += 3;
		} else if (ch == '"' || ch == '\\') {
			n += 1;
		} else if (ch <= 0x1f) {
			n += (ch == '\n' || ch == '\r' || ch == '\t' || ch == '\b' || ch == '\f')
				     ? 1
				     : 5;
		}
	}
	return n;
}

static char *alog_esc(char *d, struct lstr v, int escape)
{
	static const char hex[] = "0123456789ABCDEF";

	if (escape == 2) {
		if (v.len)
			memcpy(d, v.p, v.len);
		return d + v.len;
	}
	for (size_t i = 0; i < v.len; i++) {
		unsigned char ch = (unsigned char)v.p[i];

		if (escape == 0) {
			if (alog_esc_default(ch)) {
				*d++ = '\\';
				*d++ = 'x';
				*d++ = hex[ch >> 4];
				*d++ = hex[ch & 0xf];
			} else {
				*d++ = (char)ch;
			}
			continue;
		}
		/* escape=json, as ngx_escape_json */
		if (ch == '"' || ch == '\\') {
			*d++ = '\\';
			*d++ = (char)ch;
		} else if (ch <= 0x1f) {
			*d++ = '\\';
			switch (ch) {
			case '\n':
				*d++ = 'n';
				break;
			case '\r':
				*d++ = 'r';
				break;
			case '\t':
				*d++ = 't';
				break;
			case '\b':
				*d++ = 'b';
				break;
			case '\f':
				*d++ = 'f';
				break;
			default:
				*d++ = 'u';
				*d++ = '0';
				*d++ = '0';
				*d++ = (char)('0' + (ch >> 4));
				*d++ = "0123456789abcdef"[ch & 0xf];
			}
		} else {
			*d++ = (char)ch;
		}
	}
	return d;
}

/* alog_eval - evaluate every part of F into vals; *len gets the line size
 * without its newline. Returns 0 or -ENOMEM. */
static int alog_eval(const struct log_format *f, struct conn *c, struct alog_val *vals, size_t *len)
{
	size_t total = 0;

	for (int i = 0; i < f->fmt.nparts; i++) {
		const struct cval_part *p = &f->fmt.parts[i];
		int rc;

		vals[i].missing = false;
		if (p->kind == CVAL_LIT) {
			vals[i].v = (struct lstr){p->str, p->len};
			total += p->len;
			continue;
		}
		rc = cval_part_eval(p, c, &vals[i].v);
		if (rc < 0)
			return rc;
		if (rc == VAR_NOT_FOUND) {
			vals[i].missing = true;
			total += f->escape == 0;
		} else {
			total += alog_esc_len(vals[i].v, f->escape);
		}
	}
	*len = total;
	return 0;
}

static char *alog_render(const struct log_format *f, const struct alog_val *vals, char *d)
{
	for (int i = 0; i < f->fmt.nparts; i++) {
		if (f->fmt.parts[i].kind == CVAL_LIT) {
			memcpy(d, vals[i].v.p, vals[i].v.len);
			d += vals[i].v.len;
		} else if (vals[i].missing) {
			if (f->escape == 0)
				*d++ = '-';
		} else {
			d = alog_esc(d, vals[i].v, f->escape);
		}
	}
	return d;
}

static struct alog_val *alog_vals(const struct log_format *f, struct conn *c,
				  struct alog_val *stackv)
{
	if (f->fmt.nparts <= ALOG_STACK_VALS)
		return stackv;
	return pool_alloc(&c->pool, (size_t)f->fmt.nparts * sizeof(struct alog_val));
}

int alog_format_line(const struct log_format *f, struct conn *c, struct lstr *out)
{
	struct alog_val stackv[ALOG_STACK_VALS], *vals = alog_vals(f, c, stackv);
	size_t len;
	char *buf;
	int rc;

	if (!vals)
		return -ENOMEM;
	rc = alog_eval(f, c, vals, &len);
	if (rc < 0)
		return rc;
	buf = pool_alloc(&c->pool, len + 1);
	if (!buf)
		return -ENOMEM;
	alog_render(f, vals, buf);
	out->p = buf;
	out->len = len;
	return 0;
}

/* tb_reserve - room for LEN bytes in this thread's buffer for A (flushed
 * first when it holds another file's lines or has no room): where to
 * write them, then tb_commit; NULL when A is unbuffered or the line does
 * not fit (it is written on its own then). */
static char *tb_reserve(struct alog *a, size_t len, struct alog_tbuf **out)
{
	struct alog_tbuf *tb;

	if (a->buffer <= 0 || a->index < 0 || !(tb = alog_tbuf_get(a->index)))
		return NULL;
	/* The slot may have served another access_log before. */
	if (tb->len && (tb->file != a->file || tb->cap != a->buffer || tb->gzip != a->gzip))
		alog_tb_flush(tb);
	if (tb->cap != a->buffer) {
		free(tb->data);
		tb->data = malloc(a->buffer);
		tb->cap = tb->data ? a->buffer : 0;
	}
	if (len > tb->cap - tb->len)
		alog_tb_flush(tb);
	if (len > tb->cap - tb->len)
		return NULL;
	if (tb->len == 0) {
		tb->file = a->file;
		atomic_fetch_add(&a->file->refs, 1);
		tb->flush_ms = a->flush_ms > 0 ? a->flush_ms : 0;
		tb->gzip = a->gzip;
		tb->first_ms = tb->flush_ms ? lbd_now_ms() : 0;
	}
	*out = tb;
	return tb->data + tb->len;
}

/* alog_write_direct - write BUF (LEN bytes, whole lines) to A's file
 * outside the buffer: a line longer than buffer=, or an unbuffered log.
 * A gzip log still gets a gzip member of its own. */
static void alog_write_direct(struct alog *a, const char *buf, size_t len)
{
	struct alog_tbuf *tb;

	if (!a->gzip) {
		alog_file_write(a->file, buf, len);
		return;
	}
	if (a->index >= 0 && (tb = alog_tbuf_get(a->index)))
		alog_gz_write(tb, a->file, a->gzip, buf, len);
}

/* tb_commit - LEN bytes were written where tb_reserve said. */
static void tb_commit(struct alog_tbuf *tb, size_t len)
{
	tb->len += len;
	if (tb->flush_ms && lbd_now_ms() - tb->first_ms >= tb->flush_ms)
		alog_tb_flush(tb);
}

/* alog_write_one - log C through A: into this thread's buffer when it has
 * one and the line fits, else with one write of its own. */
static void alog_write_one(struct alog *a, struct conn *c)
{
	const struct log_format *f = a->fmt ? a->fmt : alog_combined();
	struct alog_val stackv[ALOG_STACK_VALS], *vals;
	struct alog_tbuf *tb;
	struct lstr cond;
	size_t len;
	char *buf;

	if (a->cond) {
		if (cval_eval(a->cond, c, &cond) < 0)
			return;
		if (cond.len == 0 || (cond.len == 1 && cond.p[0] == '0'))
			return;
	}
	if (!a->file || !f)
		return;
	vals = alog_vals(f, c, stackv);
	if (!vals || alog_eval(f, c, vals, &len) < 0)
		return;
	len++; /* newline */
	if ((buf = tb_reserve(a, len, &tb))) {
		*alog_render(f, vals, buf) = '\n';
		tb_commit(tb, len);
		return;
	}
	buf = pool_alloc(&c->pool, len);
	if (!buf)
		return;
	alog_render(f, vals, buf)[0] = '\n';
	alog_write_direct(a, buf, len);
}

void alog_write_line(struct alog *a, const char *line, size_t len)
{
	struct alog_tbuf *tb;
	char *p;

	if (!a->file)
		return;
	if ((p = tb_reserve(a, len, &tb))) {
		memcpy(p, line, len);
		tb_commit(tb, len);
		return;
	}
	alog_write_direct(a, line, len);
}

void alog_write(struct conn *c)
{
	const struct cfg_loc *loc = c->req.loc;

	if (!loc || loc->alog_off)
		return;
	for (int i = 0; i < loc->nalogs; i++)
		alog_write_one(loc->alogs[i], c);
}

bool alog_conflicts(struct alog *const *all, int n, const struct alog *a)
{
	if (a->buffer == 0)
		return false;
	for (int i = 0; i < n; i++)
		if (all[i] != a && all[i]->buffer > 0 && all[i]->gzip != a->gzip &&
		    strcmp(all[i]->path, a->path) == 0)
			return true;
	return false;
}

int alog_parse_gzip(const char *p, struct alog *a)
{
	if (!a->buffer)
		a->buffer = 64 * 1024;
	if (p[4] == '\0') {
		a->gzip = 1;
		return 0;
	}
	p += 5;
	if (*p < '1' || *p > '9' || p[1])
		return -EINVAL;
	a->gzip = *p - '0';
	return 0;
}

/* ------------------------------------------------------------------ */
/* formats                                                              */

int alog_format_compile(struct cval_ctx *ctx, char **parts, int nparts, int escape,
			struct log_format *out, char *err, size_t errlen)
{
	size_t total = 0, ndollar = 0, off = 0;
	struct cval_part *pa;
	bool vars = false;
	char *raw;
	int n = 0, rc;

	for (int s = 0; s < nparts; s++) {
		total += strlen(parts[s]);
		for (const char *p = parts[s]; *p; p++)
			ndollar += *p == '$';
	}
	raw = pool_alloc(ctx->pool, total + 1);
	pa = pool_zalloc(ctx->pool, (2 * ndollar + (size_t)nparts + 1) * sizeof(*pa));
	if (!raw || !pa)
		return -ENOMEM;
	for (int s = 0; s < nparts; s++) {
		size_t l = strlen(parts[s]);

		memcpy(raw + off, parts[s], l);
		off += l;
	}
	raw[total] = '\0';

	/* ngx_http_log_compile_format: each string on its own, `$name` and
	 * `${name}` only (no $1), literals copied as they are. */
	off = 0;
	for (int s = 0; s < nparts; s++) {
		const char *v = raw + off;
		size_t l = strlen(parts[s]), i = 0;

		off += l;
		while (i < l) {
			size_t start = i, nlen = 0;
			bool bracket;

			if (v[i] != '$') {
				for (i++; i < l && v[i] != '$'; i++)
					;
				/* Strings are joined: literal runs merge across them. */
				if (n && pa[n - 1].kind == CVAL_LIT &&
				    pa[n - 1].str + pa[n - 1].len == v + start) {
					pa[n - 1].len += i - start;
				} else {
					pa[n++] = (struct cval_part){.kind = CVAL_LIT,
								     .str = (char *)v + start,
								     .len = i - start};
				}
				continue;
			}
			if (++i == l)
				goto invalid;
			bracket = v[i] == '{';
			if (bracket && ++i == l)
				goto invalid;
			{
				size_t name = i;

				for (; i < l; i++, nlen++) {
					char ch = v[i];

					if (ch == '}' && bracket) {
						i++;
						bracket = false;
						break;
					}
					if (!((ch >= 'A' && ch <= 'Z') ||
					      (ch >= 'a' && ch <= 'z') ||
					      (ch >= '0' && ch <= '9') || ch == '_'))
						break;
				}
				if (bracket) {
					snprintf(
						err, errlen,
						"the closing bracket in \"%.*s\" variable is missing",
						(int)nlen, v + name);
					return -EINVAL;
				}
				if (nlen == 0)
					goto invalid;
				rc = cval_resolve(ctx, v + name, nlen, &pa[n], err, errlen);
				if (rc)
					return rc;
				n++;
				vars = true;
			}
			continue;
invalid:
			snprintf(err, errlen, "invalid parameter \"%.*s\"", (int)(l - start),
				 v + start);
			return -EINVAL;
		}
	}
	out->fmt = (struct cval){.parts = pa, .nparts = n, .literal = !vars, .raw = raw};
	out->escape = escape;
	return 0;
}

static struct pool alog_comb_pool;
static struct log_format alog_comb;
static bool alog_comb_ok;
static pthread_once_t alog_comb_once = PTHREAD_ONCE_INIT;

static void alog_comb_init(void)
{
	static char text[] = "$remote_addr - $remote_user [$time_local] "
			     "\"$request\" $status $body_bytes_sent "
			     "\"$http_referer\" \"$http_user_agent\"";
	char *parts[] = {text};
	struct cval_ctx ctx = {.pool = &alog_comb_pool};
	char err[128];

	pool_init(&alog_comb_pool, 1024);
	alog_comb.name = pool_strdup(&alog_comb_pool, "combined");
	alog_comb_ok = alog_comb.name &&
		       alog_format_compile(&ctx, parts, 1, 0, &alog_comb, err, sizeof(err)) == 0;
}

const struct log_format *alog_combined(void)
{
	pthread_once(&alog_comb_once, alog_comb_init);
	return alog_comb_ok ? &alog_comb : NULL;
}
