/* SPDX-License-Identifier: MIT */
/*
 * nginx's mp4 module (mp4.c, mp4_http.c): `?start=SEC&end=SEC` on an MP4
 * file answers a shorter MP4: ftyp, a rebuilt moov (each track's sample
 * tables cut to the samples kept, chunk offsets moved, durations cut),
 * then an mdat header and the kept span of the file's mdat. mp4.c is
 * pure (it reads the file through a callback and is fuzzed); mp4_http.c
 * is the content handler.
 */
#ifndef LBD_MP4_H
#define LBD_MP4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lbd.h"

/* What mp4_rebuild returns. */
enum mp4_rc {
	MP4_OK = 0,	  /* res holds the answer */
	MP4_DECLINED = 1, /* send the file as it is (moov first, whole file asked) */
	MP4_ERROR = -1,	  /* res->err says why (nginx's error log text) */
};

/* struct mp4_io - reads LEN bytes at OFF of the file into BUF: the count
 * read, -1 on error. */
struct mp4_io {
	ssize_t (*pread)(void *ctx, void *buf, size_t len, int64_t off);
	void *ctx;
};

/* struct mp4_conf - the location's mp4_* directives. */
struct mp4_conf {
	int64_t buffer_size;	 /* mp4_buffer_size (512k) */
	int64_t max_buffer_size; /* mp4_max_buffer_size (10m) */
	bool start_key_frame;	 /* mp4_start_key_frame (off) */
};

/* struct mp4_result - an answer: HEAD (malloc'd: ftyp, moov, mdat
 * header), then the file's bytes [DATA_START, DATA_END). */
struct mp4_result {
	unsigned char *head;
	size_t head_len;
	int64_t data_start;
	int64_t data_end;
	char err[320]; /* MP4_ERROR: the log line */
};

/* mp4_rebuild - nginx's ngx_http_mp4_process over a file of FSIZE bytes
 * named NAME (for messages): START and LENGTH in milliseconds (LENGTH 0:
 * to the end). Every table read is bounds-checked against the atoms. */
enum mp4_rc mp4_rebuild(const struct mp4_io *io, int64_t fsize, const char *name, uint64_t start,
			uint64_t length, const struct mp4_conf *cf, struct mp4_result *res);
/* mp4_result_free - frees RES->head. */
void mp4_result_free(struct mp4_result *res);

/* mp4_atofp - nginx's ngx_http_mp4_atofp(P, N, 3): seconds with a dot
 * as milliseconds, digits past the third decimal ignored; -1 when not a
 * number (empty, a sign, a second dot, overflow). */
int64_t mp4_atofp(const char *p, size_t n);

/* mp4_arg - nginx's ngx_http_arg: the value of the first NAME= (its name
 * without case) in ARGS into *VAL. */
bool mp4_arg(struct lstr args, const char *name, struct lstr *val);

/* mp4_times - the handler's reading of ARGS: *START in ms (-1: no cut),
 * *LENGTH in ms (0: to the end). */
void mp4_times(struct lstr args, int64_t *start, uint64_t *length);

struct conn;

/* mp4_handle - `mp4`: a GET or HEAD with a usable start/end gets the cut
 * MP4 (200, ranges on it, one at most); other methods 405; false when
 * the static handler is to send the file as it is (or say why not). */
bool mp4_handle(struct conn *c);

#endif
