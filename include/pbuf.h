/* SPDX-License-Identifier: MIT */
/*
 * Response buffering (`proxy_buffering on`, nginx's default): what the
 * client cannot take now is kept in proxy_buffers memory, then in a temp
 * file under proxy_temp_path, so the upstream is read at its own pace and
 * released as soon as its response is complete. See pbuf.c.
 */
#ifndef LBD_PBUF_H
#define LBD_PBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "h1.h"

struct conn;

/* pbuf_wanted - whether a response with headers H[0..n) is buffered:
 * proxy_buffering of C's location, overridden by X-Accel-Buffering. */
bool pbuf_wanted(const struct conn *c, const struct h1_header *h, size_t n);

/* pbuf_begin - buffer the response of C (after its head is built): the
 * buffer state comes from the request pool, the memory on first use.
 * 0, or -ENOMEM. */
int pbuf_begin(struct conn *c);

/* pbuf_flush - write buffered bytes to the client, oldest first. 1 when
 * nothing is left buffered (or C does not buffer), 0 when the client would
 * block with bytes still buffered, -1 when the client is gone. */
int pbuf_flush(struct conn *c);

/* pbuf_putv - append the bytes of IOV[0..n) in order, as many as memory
 * and the temp file can take. Returns the bytes taken (0: full). */
size_t pbuf_putv(struct conn *c, const struct iovec *iov, int n);

/* pbuf_finish - the upstream is done and released: send what is buffered
 * as the client drains, then end the request (http_response_done). Also
 * the client-event entry while draining. */
void pbuf_finish(struct conn *c);

/* pbuf_free - close the temp file (request cleanup; the memory is the
 * request pool's). */
void pbuf_free(struct conn *c);

#endif
