/* SPDX-License-Identifier: MIT */
/*
 * nginx's empty_gif: a location that answers every GET and HEAD with a
 * transparent 1x1 GIF, the same 43 bytes nginx sends, Last-Modified
 * fixed at nginx's 23349600 (Mon, 28 Sep 1970 06:00:00 GMT), so that
 * If-Modified-Since gets its 304 as there; no ETag, no ranges (nginx
 * sends it through ngx_http_send_response, which allows none).
 */
#include <string.h>

#include "cache.h"
#include "emptygif.h"
#include "http.h"

#define EMPTYGIF_LM "Mon, 28 Sep 1970 06:00:00 GMT"

/* GIF89a, 1x1, a two-colour global table (black, white), white made
 * transparent by a graphic control extension, one LZW-coded pixel. */
static const unsigned char emptygif[] = {
	'G',  'I',  'F',  '8',	'9',  'a',			    /* signature, version */
	0x01, 0x00, 0x01, 0x00,					    /* width 1, height 1 */
	0x80, 0x01, 0x00,					    /* global table of 2, bg 1 */
	0x00, 0x00, 0x00, 0xff, 0xff, 0xff,			    /* black, white */
	0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x01, 0x00,		    /* transparent index 1 */
	0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, /* image 1x1 at 0,0 */
	0x02, 0x02, 0x4c, 0x01, 0x00,				    /* LZW: clear, 1, end */
	0x3b,							    /* trailer */
};

_Static_assert(sizeof(emptygif) == 43, "nginx's empty GIF is 43 bytes");

const unsigned char *emptygif_bytes(size_t *len)
{
	*len = sizeof(emptygif);
	return emptygif;
}

void emptygif_handle(struct conn *c)
{
	struct http_req *r = &c->req;
	struct cache_cond q;
	int k;

	if (!r->head && !(r->method.len == 3 && memcmp(r->method.p, "GET", 3) == 0)) {
		http_finalize(c, 405);
		return;
	}
	cache_cond_of(req_hdrs(r), r->h1.nheaders, &q);
	k = cache_cond_eval(&q, 200, (struct lstr){NULL, 0}, LSTR(EMPTYGIF_LM),
			    r->loc->cache.ims_mode);
	if (k == 412) {
		http_finalize(c, 412);
		return;
	}
	if (http_head_start(c, k ? k : 200) ||
	    (!k && http_head_addf(c, "Content-Type: image/gif\r\nContent-Length: %zu\r\n",
				  sizeof(emptygif))) ||
	    http_head_addf(c, "Last-Modified: " EMPTYGIF_LM "\r\n") || http_head_finish(c, true) ||
	    (!k && !r->head && http_out_append(c, emptygif, sizeof(emptygif)))) {
		conn_close(c);
		return;
	}
	if (!k && !r->head)
		r->body_bytes_sent = sizeof(emptygif);
	http_send_body(c);
}
