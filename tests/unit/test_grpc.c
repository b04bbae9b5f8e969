/* SPDX-License-Identifier: MIT */
/*
 * grpc.c and cfg_grpc.c. The codec against a real nghttp2 server session
 * on the other end of a socketpair: the request's HEADERS fields and its
 * DATA with END_STREAM; an answer of HEADERS, two DATA frames and trailers
 * read back as an HTTP/1.1 head, two chunks and the trailers in the last
 * chunk (read whole and one byte at a time); a Trailers-Only answer as a
 * head with Content-Length: 0; RST_STREAM and a close mid-answer; a
 * second request on a kept session (stream 3), and no reuse after GOAWAY;
 * full duplex (an answer read while the request's stream is open, its
 * next message sent after); RST_STREAM CANCEL for a call left half-way. The
 * configuration: grpc_pass's forms (grpcs:// with grpc_ssl_*, not
 * proxy_ssl_*), the grpc_* twins in a grpc_pass
 * location only (buffering off both ways), grpc_set_header's inheritance,
 * exact error texts with FILE:LINE.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "cfgtest.h"
#include "grpc.h"
#include "lbd.h"

/* ---- the codec ------------------------------------------------------------------- */

/* struct peer - the upstream's side: an nghttp2 server session on sv[1]. */
struct peer {
	int sv[2];	     /* [0] the codec's socket, [1] the server's */
	nghttp2_session *ss; /* server session */
	char fields[1024];   /* the request's fields, "name=value;" each */
	char body[256];	     /* its DATA payload */
	size_t body_len;     /* bytes in body */
	bool end_stream;     /* its END_STREAM seen */
	int32_t sid;	     /* its stream */
};

static ssize_t peer_send(nghttp2_session *ss, const uint8_t *d, size_t n, int flags, void *ud)
{
	struct peer *p = ud;

	(void)ss, (void)flags;
	cr_assert_eq(write(p->sv[1], d, n), (ssize_t)n);
	return (ssize_t)n;
}

static int peer_header(nghttp2_session *ss, const nghttp2_frame *f, const uint8_t *name,
		       size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct peer *p = ud;
	size_t l = strlen(p->fields);

	(void)ss, (void)flags;
	p->sid = f->hd.stream_id;
	snprintf(p->fields + l, sizeof(p->fields) - l, "%.*s=%.*s;", (int)nlen, name, (int)vlen,
		 value);
	return 0;
}

static int peer_data(nghttp2_session *ss, uint8_t flags, int32_t id, const uint8_t *d, size_t n,
		     void *ud)
{
	struct peer *p = ud;

	(void)ss, (void)flags, (void)id;
	cr_assert_leq(p->body_len + n, sizeof(p->body));
	memcpy(p->body + p->body_len, d, n);
	p->body_len += n;
	return 0;
}

static int peer_frame(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	struct peer *p = ud;

	(void)ss;
	if (f->hd.stream_id && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		p->end_stream = true;
	return 0;
}

static void peer_init(struct peer *p)
{
	nghttp2_session_callbacks *cb;

	memset(p, 0, sizeof(*p));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p->sv), 0);
	cr_assert_eq(fcntl(p->sv[0], F_SETFL, O_NONBLOCK), 0);
	cr_assert_eq(nghttp2_session_callbacks_new(&cb), 0);
	nghttp2_session_callbacks_set_send_callback(cb, peer_send);
	nghttp2_session_callbacks_set_on_header_callback(cb, peer_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, peer_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, peer_frame);
	cr_assert_eq(nghttp2_session_server_new(&p->ss, cb, p), 0);
	nghttp2_session_callbacks_del(cb);
	cr_assert_eq(nghttp2_submit_settings(p->ss, NGHTTP2_FLAG_NONE, NULL, 0), 0);
	cr_assert_eq(nghttp2_session_send(p->ss), 0);
}

/* peer_read - what the codec wrote so far, into the server session. */
static void peer_read(struct peer *p)
{
	uint8_t buf[65536];
	ssize_t n;

	cr_assert_eq(fcntl(p->sv[1], F_SETFL, O_NONBLOCK), 0);
	while ((n = read(p->sv[1], buf, sizeof(buf))) > 0)
		cr_assert_eq(nghttp2_session_mem_recv(p->ss, buf, (size_t)n), n);
	cr_assert_eq(nghttp2_session_send(p->ss), 0);
}

static void peer_free(struct peer *p)
{
	nghttp2_session_del(p->ss);
	if (p->sv[0] >= 0)
		close(p->sv[0]);
	if (p->sv[1] >= 0)
		close(p->sv[1]);
}

static const struct grpc_field req_fields[] = {
	{":method", 7, "POST", 4},	   {":scheme", 7, "http", 4},
	{":path", 5, "/pkg.Svc/Call", 13}, {":authority", 10, "up:50051", 8},
	{"te", 2, "trailers", 8},	   {"x-user", 6, "bob", 3},
};

/* start - a session of req_fields with a body "hello" all sent. */
static struct grpc_up *start(struct peer *p)
{
	struct grpc_up *g;
	bool blocked;

	peer_init(p);
	g = grpc_up_new(req_fields, 6, true);
	cr_assert_not_null(g);
	cr_assert_eq(grpc_up_send(g, p->sv[0], NULL, "hel", 3, false, &blocked), 3);
	cr_expect(!blocked && !grpc_up_sent(g));
	cr_assert_eq(grpc_up_send(g, p->sv[0], NULL, "lo", 2, true, &blocked), 2);
	cr_expect(grpc_up_sent(g));
	peer_read(p);
	return g;
}

/* recv_all - the codec's answer until EOF, LEN bytes per call. */
static size_t recv_all(struct grpc_up *g, int fd, char *out, size_t cap, size_t len)
{
	size_t got = 0;

	for (int i = 0; i < 10000; i++) {
		ssize_t n = grpc_up_recv(g, fd, NULL, out + got, LBD_MIN(len, cap - got));

		if (n == 0)
			break;
		if (n == -1 && errno == EAGAIN)
			break;
		cr_assert_gt(n, 0, "errno %d", errno);
		got += (size_t)n;
	}
	return got;
}

Test(grpc, request_fields_and_body)
{
	struct peer p;
	struct grpc_up *g = start(&p);

	cr_expect_str_eq(p.fields, ":method=POST;:scheme=http;:path=/pkg.Svc/Call;"
				   ":authority=up:50051;te=trailers;x-user=bob;");
	cr_expect_eq(p.body_len, 5);
	cr_expect_eq(memcmp(p.body, "hello", 5), 0);
	cr_expect(p.end_stream);
	grpc_up_free(g);
	peer_free(&p);
}

static void answer(struct peer *p, bool trailers_only)
{
	static const nghttp2_nv head[] = {
		{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
		{(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, 0},
	};
	static const nghttp2_nv tonly[] = {
		{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
		{(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, 0},
		{(uint8_t *)"grpc-status", (uint8_t *)"3", 11, 1, 0},
		{(uint8_t *)"grpc-message", (uint8_t *)"bad", 12, 3, 0},
	};
	static const nghttp2_nv trl[] = {
		{(uint8_t *)"grpc-status", (uint8_t *)"0", 11, 1, 0},
		{(uint8_t *)"grpc-message", (uint8_t *)"fine", 12, 4, 0},
	};

	if (trailers_only) {
		cr_assert_eq(nghttp2_submit_headers(p->ss, NGHTTP2_FLAG_END_STREAM, p->sid, NULL,
						    tonly, 4, NULL),
			     0);
	} else {
		cr_assert_eq(nghttp2_submit_headers(p->ss, NGHTTP2_FLAG_NONE, p->sid, NULL, head, 2,
						    NULL),
			     0);
		cr_assert_eq(nghttp2_session_send(p->ss), 0);
		/* two DATA frames, written as frames by hand (no data provider) */
		cr_assert_eq(write(p->sv[1], "\0\0\3\0\0\0\0\0\1abc", 12), 12);
		cr_assert_eq(write(p->sv[1], "\0\0\2\0\0\0\0\0\1de", 11), 11);
		cr_assert_eq(nghttp2_submit_trailer(p->ss, p->sid, trl, 2), 0);
	}
	cr_assert_eq(nghttp2_session_send(p->ss), 0);
}

static const char want_answer[] = "HTTP/1.1 200 OK\r\n"
				  "content-type: application/grpc\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n"
				  "3\r\nabc\r\n"
				  "2\r\nde\r\n"
				  "0\r\ngrpc-status: 0\r\ngrpc-message: fine\r\n\r\n";

Test(grpc, answer_as_http11_with_trailers)
{
	for (size_t step = 1; step <= 4096; step *= 4096) {
		struct peer p;
		struct grpc_up *g = start(&p);
		char out[1024];
		size_t n;

		answer(&p, false);
		n = recv_all(g, p.sv[0], out, sizeof(out), step);
		cr_expect_eq(n, strlen(want_answer), "step %zu: %.*s", step, (int)n, out);
		cr_expect_eq(memcmp(out, want_answer, LBD_MIN(n, strlen(want_answer))), 0,
			     "step %zu: %.*s", step, (int)n, out);
		cr_expect(grpc_up_done(g));
		cr_expect_null(grpc_up_error(g));
		grpc_up_free(g);
		peer_free(&p);
	}
}

Test(grpc, trailers_only_answer)
{
	static const char want[] = "HTTP/1.1 200 OK\r\n"
				   "content-type: application/grpc\r\n"
				   "grpc-status: 3\r\ngrpc-message: bad\r\n"
				   "Content-Length: 0\r\n\r\n";
	struct peer p;
	struct grpc_up *g = start(&p);
	char out[1024];
	size_t n;

	answer(&p, true);
	n = recv_all(g, p.sv[0], out, sizeof(out), sizeof(out));
	cr_expect_eq(n, strlen(want), "%.*s", (int)n, out);
	cr_expect_eq(memcmp(out, want, LBD_MIN(n, strlen(want))), 0, "%.*s", (int)n, out);
	cr_expect(grpc_up_done(g));
	grpc_up_free(g);
	peer_free(&p);
}

Test(grpc, rst_stream_is_an_error)
{
	struct peer p;
	struct grpc_up *g = start(&p);
	char out[256];

	cr_assert_eq(nghttp2_submit_rst_stream(p.ss, NGHTTP2_FLAG_NONE, p.sid, NGHTTP2_CANCEL), 0);
	cr_assert_eq(nghttp2_session_send(p.ss), 0);
	cr_expect_eq(grpc_up_recv(g, p.sv[0], NULL, out, sizeof(out)), -1);
	cr_expect_eq(errno, EPROTO);
	cr_expect_str_eq(grpc_up_error(g), "upstream rejected request with error 8");
	grpc_up_free(g);
	peer_free(&p);
}

Test(grpc, close_mid_answer_is_eof_not_done)
{
	static const nghttp2_nv head[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0}};
	struct peer p;
	struct grpc_up *g = start(&p);
	char out[256];
	size_t n;

	cr_assert_eq(nghttp2_submit_headers(p.ss, NGHTTP2_FLAG_NONE, p.sid, NULL, head, 1, NULL),
		     0);
	cr_assert_eq(nghttp2_session_send(p.ss), 0);
	close(p.sv[1]);
	p.sv[1] = -1;
	n = recv_all(g, p.sv[0], out, sizeof(out), sizeof(out));
	cr_expect_gt(n, 0);
	cr_expect_eq(grpc_up_recv(g, p.sv[0], NULL, out, sizeof(out)), 0); /* EOF */
	cr_expect(!grpc_up_done(g)); /* but not a whole answer */
	grpc_up_free(g);
	peer_free(&p);
}

Test(grpc, next_request_on_a_kept_session)
{
	static const struct grpc_field f2[] = {
		{":method", 7, "POST", 4},
		{":scheme", 7, "http", 4},
		{":path", 5, "/pkg.Svc/Two", 12},
		{":authority", 10, "up", 2},
	};
	struct peer p;
	struct grpc_up *g = start(&p);
	char out[1024];
	bool blocked;
	size_t n;

	cr_expect(!grpc_up_reusable(g)); /* the answer is yet to come */
	answer(&p, false);
	n = recv_all(g, p.sv[0], out, sizeof(out), sizeof(out));
	cr_expect_eq(n, strlen(want_answer));
	cr_assert(grpc_up_reusable(g));
	p.fields[0] = '\0';
	p.end_stream = false;
	cr_assert_eq(grpc_up_next(g, f2, 4, false), 0);
	cr_expect(!grpc_up_done(g));
	/* no body: the HEADERS end the stream; nothing to offer */
	cr_assert_eq(grpc_up_send(g, p.sv[0], NULL, NULL, 0, true, &blocked), 0);
	cr_expect(grpc_up_sent(g));
	peer_read(&p);
	cr_expect_eq(p.sid, 3);
	cr_expect_str_eq(p.fields, ":method=POST;:scheme=http;:path=/pkg.Svc/Two;:authority=up;");
	cr_expect(p.end_stream);
	answer(&p, true);
	n = recv_all(g, p.sv[0], out, sizeof(out), sizeof(out));
	cr_expect_gt(n, 0);
	cr_expect_eq(memcmp(out, "HTTP/1.1 200 OK\r\n", 17), 0);
	cr_expect(grpc_up_done(g));
	grpc_up_free(g);
	peer_free(&p);
}

Test(grpc, goaway_ends_reuse)
{
	struct peer p;
	struct grpc_up *g = start(&p);
	char out[1024];

	answer(&p, false);
	cr_assert_eq(
		nghttp2_submit_goaway(p.ss, NGHTTP2_FLAG_NONE, p.sid, NGHTTP2_NO_ERROR, NULL, 0),
		0);
	cr_assert_eq(nghttp2_session_send(p.ss), 0);
	recv_all(g, p.sv[0], out, sizeof(out), sizeof(out));
	cr_expect(grpc_up_done(g));
	cr_expect_null(grpc_up_error(g)); /* our stream was served */
	cr_expect(!grpc_up_reusable(g));
	grpc_up_free(g);
	peer_free(&p);
}

/* peer_rst_code - the RST_STREAM code the peer got (peer_frame_rst), or -1. */
static int peer_rst_code = -1;

static int peer_frame_rst(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	if (f->hd.type == NGHTTP2_RST_STREAM)
		peer_rst_code = (int)f->rst_stream.error_code;
	return peer_frame(ss, f, ud);
}

Test(grpc, duplex_answer_while_request_streams)
{
	static const nghttp2_nv head[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0}};
	static const nghttp2_nv trl[] = {{(uint8_t *)"grpc-status", (uint8_t *)"0", 11, 1, 0}};
	struct peer p;
	struct grpc_up *g;
	char out[1024];
	bool blocked;
	size_t n;

	peer_init(&p);
	g = grpc_up_new(req_fields, 6, true);
	cr_assert_not_null(g);
	cr_assert_eq(grpc_up_send(g, p.sv[0], NULL, "ping1", 5, false, &blocked), 5);
	peer_read(&p);
	cr_expect(!p.end_stream);
	/* the answer's head and a message, the request's stream still open */
	cr_assert_eq(nghttp2_submit_headers(p.ss, NGHTTP2_FLAG_NONE, p.sid, NULL, head, 1, NULL),
		     0);
	cr_assert_eq(nghttp2_session_send(p.ss), 0);
	cr_assert_eq(write(p.sv[1], "\0\0\5\0\0\0\0\0\1pong1", 14), 14);
	n = recv_all(g, p.sv[0], out, sizeof(out), sizeof(out));
	cr_expect_eq(n,
		     strlen("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\npong1\r\n"),
		     "%.*s", (int)n, out);
	cr_expect(!grpc_up_sent(g) && !grpc_up_done(g));
	/* the next message after the answer, then the request's end */
	cr_assert_eq(grpc_up_send(g, p.sv[0], NULL, "ping2", 5, true, &blocked), 5);
	cr_expect(grpc_up_sent(g));
	peer_read(&p);
	cr_expect_eq(p.body_len, 10);
	cr_expect_eq(memcmp(p.body, "ping1ping2", 10), 0);
	cr_expect(p.end_stream);
	cr_assert_eq(nghttp2_submit_trailer(p.ss, p.sid, trl, 1), 0);
	cr_assert_eq(nghttp2_session_send(p.ss), 0);
	n = recv_all(g, p.sv[0], out, sizeof(out), sizeof(out));
	cr_expect_eq(n, strlen("0\r\ngrpc-status: 0\r\n\r\n"), "%.*s", (int)n, out);
	cr_expect(grpc_up_done(g) && grpc_up_reusable(g));
	grpc_up_free(g);
	peer_free(&p);
}

Test(grpc, cancel_half_way)
{
	struct peer p;
	struct grpc_up *g;
	nghttp2_session_callbacks *cb;
	bool blocked;

	peer_init(&p);
	/* the peer's session again, telling RST_STREAM frames */
	nghttp2_session_del(p.ss);
	cr_assert_eq(nghttp2_session_callbacks_new(&cb), 0);
	nghttp2_session_callbacks_set_send_callback(cb, peer_send);
	nghttp2_session_callbacks_set_on_header_callback(cb, peer_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, peer_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, peer_frame_rst);
	cr_assert_eq(nghttp2_session_server_new(&p.ss, cb, &p), 0);
	nghttp2_session_callbacks_del(cb);
	peer_rst_code = -1;
	g = grpc_up_new(req_fields, 6, true);
	cr_assert_not_null(g);
	cr_assert_eq(grpc_up_send(g, p.sv[0], NULL, "a", 1, false, &blocked), 1);
	grpc_up_cancel(g, p.sv[0], NULL);
	peer_read(&p);
	cr_expect_eq(peer_rst_code, NGHTTP2_CANCEL);
	cr_expect(!p.end_stream);
	cr_expect(!grpc_up_reusable(g));
	grpc_up_free(g);
	peer_free(&p);
}

/* ---- configuration --------------------------------------------------------------- */

#define HEAD "events {}\nhttp {\n"

Test(grpc, cfg_forms_twins_and_headers)
{
	struct cfgtest t = {0};
	char err[1024];
	struct cfg *c = cfgtest_load(
		&t,
		HEAD "grpc_read_timeout 5s;\n"
		     "proxy_cache_path cache keys_zone=z:1m;\n"
		     "proxy_cache z;\n"
		     "grpc_set_header X-A a;\n"
		     "upstream backs { server 127.0.0.1:9; }\n"
		     "server {\nlisten 127.0.0.1:8080 http2;\n"
		     "location /in { grpc_pass 127.0.0.1:9; }\n"
		     "location /own { grpc_set_header X-B b; grpc_hide_header X-H;\n"
		     "  grpc_send_timeout 2s; grpc_pass grpc://backs; }\n"
		     "location /unix { grpc_pass unix:/tmp/g.sock; }\n"
		     "location /tls { proxy_ssl_verify_depth 7; grpc_ssl_verify_depth 3;\n"
		     "  grpc_ssl_server_name on; grpc_pass grpcs://127.0.0.1:9; }\n"
		     "location /px { proxy_pass http://127.0.0.1:9; }\n"
		     "}\n}\n",
		err, sizeof(err));
	struct cfg_loc *in, *own, *ux, *px, *tls;

	cr_assert_not_null(c, "%s", err);
	in = cfgtest_prefix_loc(c, "/in");
	own = cfgtest_prefix_loc(c, "/own");
	ux = cfgtest_prefix_loc(c, "/unix");
	px = cfgtest_prefix_loc(c, "/px");
	tls = cfgtest_prefix_loc(c, "/tls");
	cr_assert(in && own && ux && px && tls);
	/* grpcs://: TLS, with grpc_ssl_* (not proxy_ssl_*) in effect */
	cr_expect(tls->proxy->grpc && tls->proxy->ssl && !in->proxy->ssl);
	cr_expect_eq(tls->upssl.verify_depth, 3);
	cr_expect_eq(tls->upssl.server_name, 1);
	cr_expect_not_null(tls->upssl.ctx);
	cr_expect(in->proxy->grpc && own->proxy->grpc && ux->proxy->grpc && !px->proxy->grpc);
	cr_expect_str_eq(in->proxy->host, "127.0.0.1:9");
	cr_expect_str_eq(own->proxy->host, "backs"); /* the grpc:// scheme dropped */
	cr_expect(ux->proxy->unix_sock);
	/* written with a scheme: a variable's value is the host only */
	cr_expect(own->proxy->pass_scheme && tls->proxy->pass_scheme);
	cr_expect(!in->proxy->pass_scheme && !ux->proxy->pass_scheme);
	/* the twins: grpc_* in a grpc_pass location, proxy_* elsewhere */
	cr_expect_eq(in->proxy_read_timeout, 5000);
	cr_expect_eq(in->proxy_send_timeout, 60000);
	cr_expect_eq(own->proxy_send_timeout, 2000);
	cr_expect_eq(own->proxy_hide_header.n, 1);
	cr_expect_eq(px->proxy_read_timeout, 60000);
	/* nginx's grpc module buffers neither way */
	cr_expect_eq(in->proxy_buffering, 0);
	cr_expect_eq(in->proxy_request_buffering, 0);
	cr_expect_eq(px->proxy_buffering, 1);
	/* and no caching: proxy_cache is the proxy module's */
	cr_expect_null(in->cache.zc);
	cr_expect_not_null(px->cache.zc);
	/* grpc_set_header: a level with its own replaces the list */
	cr_assert_eq(in->grpc.headers.n, 1);
	cr_expect_str_eq(in->grpc.headers.v[0].name, "X-A");
	cr_assert_eq(own->grpc.headers.n, 1);
	cr_expect_str_eq(own->grpc.headers.v[0].name, "X-B");
	cr_expect_eq(px->proxy_headers.n, 0);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

struct err_case {
	const char *conf; /* the location's body */
	const char *msg;  /* the error, with " in FILE:LINE" after it */
};

Test(grpc, cfg_errors)
{
	static const struct err_case cases[] = {
		{"grpc_pass 127.0.0.1:9; grpc_pass 127.0.0.1:8;",
		 "\"grpc_pass\" directive is duplicate"},
		{"grpc_pass grpc://127.0.0.1:9/x;", "invalid host in upstream \"127.0.0.1:9/x\""},
		{"grpc_pass grpc://;", "invalid URL prefix in \"grpc://\""},
		{"grpc_ssl_verify_depth 1; grpc_ssl_verify_depth 2; grpc_pass grpcs://127.0.0.1:9;",
		 "\"grpc_ssl_verify_depth\" directive is duplicate"},
		{"grpc_ssl_protocols TLSv9; grpc_pass grpcs://127.0.0.1:9;",
		 "invalid value \"TLSv9\""},
		{"grpc_next_upstream error; grpc_next_upstream timeout; grpc_pass 127.0.0.1:9;",
		 "\"grpc_next_upstream\" directive is duplicate"},
		{"grpc_pass 127.0.0.1:9; proxy_pass http://127.0.0.1:9;",
		 "\"proxy_pass\" directive is duplicate"},
		{"proxy_pass http://127.0.0.1:9; grpc_pass 127.0.0.1:9;",
		 "\"grpc_pass\" directive is duplicate"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cfgtest_location_error(cases[i].conf, cases[i].msg);
}
