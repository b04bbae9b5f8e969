/* SPDX-License-Identifier: MIT */
/*
 * Subrequests whose answer body goes into the main request's answer, at
 * the place where they were started, in order and streaming: nginx's
 * addition module (add_before_body, add_after_body) and SSI (ssi.h: the
 * main body through the SSI parser, an `include` a subrequest in its
 * middle, included answers parsed in turn, up to nginx's depth) and
 * the slice module (slice.h: the following slices appended) on it.
 *
 * How: the main request and its subrequests produce their answers as
 * always (static files, proxy_pass, error pages, with their own filters),
 * as HTTP/1.1 bytes: head, then a body with a Content-Length, chunked, or
 * until the end. The main request's bytes, instead of going to the
 * socket, go through this layer (as an HTTP/2 stream's go through h2.c):
 * its head is edited once (Content-Length and Accept-Ranges dropped, ETag
 * made weak, Transfer-Encoding: chunked added, or the connection closed
 * at the end for HTTP/1.0), then its body is decoded and written as
 * chunks. A subrequest (the machinery of auth_request: a struct conn
 * without a socket, http_sub_new()) writes its answer the same way; its
 * head is dropped and its decoded body written as chunks of the main
 * answer. One source flows at a time: while the add_before_body
 * subrequest runs, the main request's writes are refused (EAGAIN, as a
 * full socket), so the producer (the upstream read, the file) waits;
 * once the main answer is done (http_response_done), the main request
 * waits in CS_EMBED for the add_after_body subrequest and the last chunk.
 *
 * Memory: one struct embed_run per main request (its pool) with one
 * buffer of EMBED_PIECE bytes for what the socket did not take; a
 * subrequest's writes are refused while it is not empty. With gzip on
 * (the assembled body compressed as it is written: gzip_embed_begin),
 * a compressor, and that buffer may grow (pool) to hold what zlib gives
 * out for one piece. With SSI, one
 * more such buffer per level of include (the body piece being parsed).
 * Nothing else is held: a subrequest's answer of any size flows through.
 *
 * Wake-ups: a writer refused by this layer is woken from a timer of the
 * run (never from another connection's stack): the main request when
 * the subrequest before it ended, a subrequest when the socket took the
 * pending bytes (noticed by embed_writable, which http_conn_run calls for
 * every readiness of the main connection).
 */
#ifndef LBD_EMBED_H
#define LBD_EMBED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "embed-t.h"
#include "lbd.h"

struct conn;

#define EMBED_PIECE (16 * 1024) /* body bytes framed into one chunk at most */

/* embed_head - at the start of http_head_finish (the head so far is in
 * c->out from c->req.head_at): for a main request whose location has
 * add_before_body or add_after_body and whose answer is a 200 of an
 * addition_types type, or ssi on and an answer SSI takes (ssi.h), edits
 * the head and starts the run (the add_before_body subrequest from the
 * loop's next round); for a subrequest of a run, notes the start of its
 * answer (its framing, whether its body is used, its own SSI). 0, or
 * -ENOMEM. */
int embed_head(struct conn *c);

/* embed_writev - the writes of C (a main request with a run, or one of its
 * subrequests): bytes of IOV[0..N) taken (>= 0), or -1 with errno
 * (EAGAIN: nothing taken now, c->writable cleared, C is woken later;
 * another errno: the client is gone). */
ssize_t embed_writev(struct conn *c, const struct iovec *iov, int n);

/* embed_sendfile - sendfile(2) of C through embed_writev (read into a
 * buffer). As sendfile: bytes taken, *OFF moved. */
ssize_t embed_sendfile(struct conn *c, int fd, off_t *off, size_t n);

/* embed_wait - main request C's answer is done (http_response_done):
 * true when the run has more to write (add_after_body, the last chunk);
 * C then waits in CS_EMBED and http_response_done runs again once it is
 * written. False: go on. */
bool embed_wait(struct conn *c);

/* embed_writable - the main connection C is writable again: the pending
 * bytes go out, and a subrequest refused meanwhile is woken. */
void embed_writable(struct conn *c);

/* embed_timer - C's timer in CS_EMBED: the run is written (the answer
 * goes on), or send_timeout passed (the connection closes). */
void embed_timer(struct conn *c);

/* embed_sub_closed - subrequest SC of a run closes: the next source.
 * True when the run keeps SC (closed, its request's memory and variables
 * alive) for an SSI stub parsed in its request, as nginx's; the run then
 * frees it with http_sub_release(), never from inside this call. */
bool embed_sub_closed(struct conn *sc);

/* embed_req_end - C's request ends (req_cleanup): a main request closes
 * the subrequest still running and stops its timer; a subrequest forgets
 * the run. */
void embed_req_end(struct conn *c);

/* embed_applies - C's answer of STATUS and type CT gets additions or SSI,
 * or C is a subrequest whose body goes into a main answer: its producer's
 * gzip leaves it alone (the run compresses the assembled answer, as
 * nginx's gzip filter comes after SSI and addition) and no byte range is
 * cut from it (nginx's addition clears the ranges). */
bool embed_applies(const struct conn *c, int status, struct lstr ct);

/* embed_chunk_head - the chunk-size line of N (> 0) bytes into BUF (at
 * least 20 bytes): its length. Pure, for the unit tests. */
size_t embed_chunk_head(char *buf, size_t n);

/* embed_head_edit - nginx's addition header filter on the head text
 * H[0..*LEN) (status line and header lines, no final empty line) in
 * place, BUF having room for CAP bytes: Content-Length and Accept-Ranges
 * lines removed, the ETag made weak, "Transfer-Encoding: chunked" added
 * when CHUNK and the head has none. *LEN is updated; *CHUNKED tells
 * whether the body as produced is chunked (the head had the line).
 * 0, or -ENOSPC. Pure, for the unit tests. */
int embed_head_edit(char *h, size_t *len, size_t cap, bool chunk, bool *chunked);

#endif
