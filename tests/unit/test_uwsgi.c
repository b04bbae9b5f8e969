/* SPDX-License-Identifier: MIT */
/*
 * uwsgi.c, scgi.c and cfg_uwsgi.c: the uwsgi packet head byte for byte
 * (modifiers, the little-endian sizes, empty values, uwsgi_string after
 * the vars, the 65535-byte bound), the SCGI netstring byte for byte, the answer's first-line test fed byte by byte, the
 * headers hidden by default; the configuration: uwsgi_param inheritance,
 * the modifiers' defaults and bounds, the uwsgi_* twins applied to a
 * uwsgi_pass location only (and apart from the fastcgi_* ones), suwsgi://
 * with uwsgi_ssl_* (not proxy_ssl_*), the warning directives, exact error
 * texts with FILE:LINE.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgtest.h"
#include "scgi.h"
#include "uwsgi.h"

/* ---- the packet ------------------------------------------------------------------ */

Test(uwsgi, packet_bytes)
{
	const struct fcgi_kv kv[] = {
		{"REQUEST_METHOD", "GET", 14, 3},
		{"E", "", 1, 0},
	};
	/* clang-format off */
	static const unsigned char want[] = {
		7, 26, 0, 200, /* modifier1, datasize 26 LE, modifier2 */
		14, 0, 'R', 'E', 'Q', 'U', 'E', 'S', 'T', '_', 'M', 'E', 'T', 'H', 'O', 'D',
		3, 0, 'G', 'E', 'T',
		1, 0, 'E', 0, 0, /* an empty value: its length only */
	};
	/* clang-format on */
	char buf[64];
	size_t n;

	cr_assert_eq(uwsgi_vars_len(kv, 2, 0), 26);
	n = uwsgi_packet_put(buf, 7, 200, kv, 2, NULL, 0);
	cr_assert_eq(n, sizeof(want));
	cr_expect_arr_eq(buf, want, sizeof(want));
}

Test(uwsgi, packet_modifier_low_byte_and_string)
{
	const struct fcgi_kv kv[] = {{"A", "b", 1, 1}};
	char buf[32];
	size_t n = uwsgi_packet_put(buf, 256 + 1, 0, kv, 1, "XYZ", 3);

	/* nginx writes the modifiers as one byte each; uwsgi_string follows
	 * the vars and counts in datasize */
	cr_assert_eq(n, 4 + 6 + 3);
	cr_expect_eq((unsigned char)buf[0], 1);
	cr_expect_eq((unsigned char)buf[1], 9);
	cr_expect_eq((unsigned char)buf[2], 0);
	cr_expect_eq(memcmp(buf + 10, "XYZ", 3), 0);
}

Test(uwsgi, packet_sizes_little_endian)
{
	static char v[65535 - 2 - 1 - 2];
	const struct fcgi_kv kv[] = {{"K", v, 1, sizeof(v)}};
	char *buf = malloc(4 + 65535);

	/* the largest packet: datasize 0xffff, the value's length 0xfffa */
	memset(v, 'v', sizeof(v));
	cr_assert_eq(uwsgi_vars_len(kv, 1, 0), 65535);
	cr_assert_eq(uwsgi_packet_put(buf, 0, 0, kv, 1, NULL, 0), 4 + 65535);
	cr_expect_eq((unsigned char)buf[1], 0xff);
	cr_expect_eq((unsigned char)buf[2], 0xff);
	cr_expect_eq((unsigned char)buf[4 + 3], 0xfa);
	cr_expect_eq((unsigned char)buf[4 + 4], 0xff);
	cr_expect_eq(buf[4 + 65534], 'v');
	/* one more byte does not fit: uwsgi_build_request refuses it */
	cr_expect_eq(uwsgi_vars_len(kv, 1, 1), UWSGI_VARS_MAX + 1);
	free(buf);
}

Test(uwsgi, scgi_netstring_bytes)
{
	const struct fcgi_kv kv[] = {{"SCGI", "1", 4, 1}, {"E", "", 1, 0}};
	/* CONTENT_LENGTH first with the body's length, each pair NUL-ended */
	static const char want[] = "28:CONTENT_LENGTH\0"
				   "12\0SCGI\0"
				   "1\0E\0\0,";
	char buf[64];

	cr_assert_eq(scgi_packet_len(kv, 2, 12), sizeof(want) - 1);
	cr_assert_eq(scgi_packet_put(buf, kv, 2, 12), sizeof(want) - 1);
	cr_expect_eq(memcmp(buf, want, sizeof(want) - 1), 0);
	/* no pairs, no body: "CONTENT_LENGTH\00\0" alone */
	cr_assert_eq(scgi_packet_put(buf, NULL, 0, 0), 21);
	cr_expect_eq(memcmp(buf,
			    "17:CONTENT_LENGTH\0"
			    "0\0,",
			    21),
		     0);
}

/* ---- the answer ------------------------------------------------------------------ */

Test(uwsgi, head_kind_byte_by_byte)
{
	const char *http = "HTTP/1.1 200 OK\r\n";
	const char *cgi = "Status: 404\r\n";

	cr_expect_eq(uwsgi_head_kind(http, 0), UWSGI_HEAD_MORE);
	for (size_t n = 1; n < 5; n++)
		cr_expect_eq(uwsgi_head_kind(http, n), UWSGI_HEAD_MORE, "%zu", n);
	for (size_t n = 5; n <= strlen(http); n++)
		cr_expect_eq(uwsgi_head_kind(http, n), UWSGI_HEAD_HTTP, "%zu", n);
	for (size_t n = 1; n <= strlen(cgi); n++)
		cr_expect_eq(uwsgi_head_kind(cgi, n), UWSGI_HEAD_CGI, "%zu", n);
	/* "HTTP" then anything but '/' is a header name, as in nginx */
	cr_expect_eq(uwsgi_head_kind("HTTPX: 1", 8), UWSGI_HEAD_CGI);
	cr_expect_eq(uwsgi_head_kind("http/1.1 200", 12), UWSGI_HEAD_CGI);
	cr_expect_eq(uwsgi_head_kind("HT", 2), UWSGI_HEAD_MORE);
	cr_expect_eq(uwsgi_head_kind("HX", 2), UWSGI_HEAD_CGI);
}

Test(uwsgi, hidden_by_default)
{
	static const char *hidden[] = {"X-Accel-Expires", "x-accel-redirect", "X-Accel-Limit-Rate",
				       "X-Accel-Buffering", "X-ACCEL-CHARSET"};
	static const char *shown[] = {"Status", "Date",		 "Server",
				      "X-Pad",	"X-Accel-Other", "X-Accel"};

	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		cr_expect(uwsgi_hidden_by_default((struct h1_str){hidden[i], strlen(hidden[i])}),
			  "%s", hidden[i]);
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		cr_expect_not(uwsgi_hidden_by_default((struct h1_str){shown[i], strlen(shown[i])}),
			      "%s", shown[i]);
}

/* ---- configuration --------------------------------------------------------------- */

#define HEAD "events {}\nhttp {\n"

Test(uwsgi, cfg_inheritance_and_twins)
{
	struct cfgtest t = {0};
	char err[1024];
	struct cfg *c = cfgtest_load(
		&t,
		HEAD "uwsgi_param A a;\n"
		     "uwsgi_read_timeout 5s;\n"
		     "fastcgi_read_timeout 7s;\n"
		     "uwsgi_modifier1 30;\n"
		     "server {\nlisten 127.0.0.1:8080;\n"
		     "location /in { uwsgi_pass 127.0.0.1:9; }\n"
		     "location /own { uwsgi_param B b; uwsgi_param C $uri if_not_empty;\n"
		     "  uwsgi_modifier2 4; uwsgi_hide_header X-A;\n"
		     "  uwsgi_pass uwsgi://127.0.0.1:9; }\n"
		     "location /px { proxy_pass http://127.0.0.1:9; }\n"
		     "location /fc { fastcgi_pass 127.0.0.1:9; }\n"
		     "}\n}\n",
		err, sizeof(err));
	struct cfg_loc *in, *own, *px, *fc;

	cr_assert_not_null(c, "%s", err);
	in = cfgtest_prefix_loc(c, "/in");
	own = cfgtest_prefix_loc(c, "/own");
	px = cfgtest_prefix_loc(c, "/px");
	fc = cfgtest_prefix_loc(c, "/fc");
	cr_assert(in && own && px && fc);
	cr_expect(in->proxy->uwsgi && !in->proxy->fastcgi);
	cr_expect(own->proxy->uwsgi);
	cr_expect_str_eq(own->proxy->addr, "127.0.0.1:9"); /* the uwsgi:// scheme dropped */
	cr_assert_eq(in->uwsgi.nparams, 1);
	cr_expect_str_eq(in->uwsgi.params[0].name, "A");
	cr_assert_eq(own->uwsgi.nparams, 2); /* a level with params replaces the list */
	cr_expect_str_eq(own->uwsgi.params[0].name, "B");
	cr_expect(own->uwsgi.params[1].if_not_empty);
	cr_expect_eq(in->uwsgi.modifier1, 30);
	cr_expect_eq(in->uwsgi.modifier2, 0);
	cr_expect_eq(own->uwsgi.modifier2, 4);
	/* the twins: uwsgi_* in a uwsgi_pass location, proxy_* elsewhere */
	cr_expect_eq(in->proxy_read_timeout, 5000);
	cr_expect_eq(own->proxy_hide_header.n, 1);
	cr_expect_eq(px->proxy_read_timeout, 60000);
	cr_expect_eq(fc->proxy_read_timeout, 7000);
	cr_expect_eq(in->proxy_hide_header.n, 0);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

struct err_case {
	const char *conf; /* the location's body */
	const char *msg;  /* the error, with " in FILE:LINE" after it */
};

Test(uwsgi, cfg_errors)
{
	static const struct err_case cases[] = {
		{"uwsgi_modifier1 256; uwsgi_pass 127.0.0.1:9;", "value must be between 0 and 255"},
		{"uwsgi_modifier1 -1; uwsgi_pass 127.0.0.1:9;",
		 "\"uwsgi_modifier1\" directive invalid number"},
		{"uwsgi_modifier2 1; uwsgi_modifier2 2; uwsgi_pass 127.0.0.1:9;",
		 "\"uwsgi_modifier2\" directive is duplicate"},
		{"uwsgi_param A b c; uwsgi_pass 127.0.0.1:9;", "invalid parameter \"c\""},
		{"uwsgi_pass 127.0.0.1:9; uwsgi_pass 127.0.0.1:8;",
		 "\"uwsgi_pass\" directive is duplicate"},
		{"uwsgi_pass 127.0.0.1:9/x;", "invalid host in upstream \"127.0.0.1:9/x\""},
		{"uwsgi_pass suwsgi://;", "no host in upstream \"\""},
		{"uwsgi_pass uwsgi://;", "no host in upstream \"\""},
		{"uwsgi_pass suwsgi://127.0.0.1:9/x;",
		 "invalid host in upstream \"127.0.0.1:9/x\""},
		{"uwsgi_ssl_verify_depth 1; uwsgi_ssl_verify_depth 2; uwsgi_pass suwsgi://127.0.0.1:9;",
		 "\"uwsgi_ssl_verify_depth\" directive is duplicate"},
		{"uwsgi_ssl_protocols TLSv9; uwsgi_pass suwsgi://127.0.0.1:9;",
		 "invalid value \"TLSv9\""},
		{"uwsgi_ssl_verify_depth x; uwsgi_pass suwsgi://127.0.0.1:9;",
		 "invalid number \"x\""},
		{"uwsgi_ssl_server_name yes; uwsgi_pass suwsgi://127.0.0.1:9;",
		 "invalid value \"yes\" in \"uwsgi_ssl_server_name\" directive, it must be \"on\" or "
		 "\"off\""},
		{"uwsgi_ssl_conf_command Foo bar; uwsgi_pass suwsgi://127.0.0.1:9;",
		 "SSL_CONF_cmd(\"Foo\", \"bar\") failed (SSL: error:0A000182:SSL routines::unknown cmd "
		 "name:cmd=Foo)"},
		{"uwsgi_next_upstream error; uwsgi_next_upstream timeout; uwsgi_pass 127.0.0.1:9;",
		 "\"uwsgi_next_upstream\" directive is duplicate"},
		{"uwsgi_pass 127.0.0.1:9; proxy_pass http://127.0.0.1:9;",
		 "\"proxy_pass\" directive is duplicate"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cfgtest_location_error(cases[i].conf, cases[i].msg);
}

/* The checks made once a suwsgi:// location is merged: at the http
 * block's end (line 6), nginx's texts with uwsgi_ in them; a plain
 * uwsgi_pass is not checked (nginx makes no context for it). */
Test(uwsgi, cfg_ssl_merge_errors)
{
	static const struct err_case cases[] = {
		{"location / { uwsgi_ssl_certificate /etc/x.pem; uwsgi_pass suwsgi://127.0.0.1:9; }",
		 "no \"uwsgi_ssl_certificate_key\" is defined for certificate \"/etc/x.pem\""},
		{"location / { uwsgi_ssl_verify on; uwsgi_pass suwsgi://127.0.0.1:9; }",
		 "no uwsgi_ssl_trusted_certificate for uwsgi_ssl_verify"},
		/* with variables the value may name suwsgi:// at run time */
		{"location / { uwsgi_ssl_verify on; uwsgi_pass $arg_u; }",
		 "no uwsgi_ssl_trusted_certificate for uwsgi_ssl_verify"},
		/* proxy_ssl_verify is the proxy module's, not uwsgi's */
		{"proxy_ssl_verify on; location / { uwsgi_ssl_verify on;\n"
		 " uwsgi_pass suwsgi://127.0.0.1:9; }",
		 "no uwsgi_ssl_trusted_certificate for uwsgi_ssl_verify"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cfgtest_server_error(cases[i].conf, cases[i].msg, i == 3 ? 7 : 6);
	cfgtest_server_error("location / { uwsgi_ssl_verify on; uwsgi_pass 127.0.0.1:9; }\n"
			     "location /p { proxy_ssl_verify on; proxy_pass https://127.0.0.1:9; }",
			     "no proxy_ssl_trusted_certificate for proxy_ssl_verify", 7);
}

/* suwsgi://: TLS with uwsgi_ssl_* in effect (inherited from the server
 * level), not proxy_ssl_*; an upstream block's name; a plain uwsgi_pass
 * makes no context. */
Test(uwsgi, cfg_suwsgi)
{
	struct cfgtest t = {0};
	char err[1024];
	struct cfg *c = cfgtest_load(
		&t,
		HEAD "upstream backs { server 127.0.0.1:9; }\n"
		     "server {\nlisten 127.0.0.1:8080;\n"
		     "uwsgi_ssl_verify_depth 4; proxy_ssl_verify_depth 9;\n"
		     "location /tls { uwsgi_ssl_server_name on; uwsgi_ssl_name n.test;\n"
		     "  uwsgi_ssl_session_reuse off; uwsgi_pass suwsgi://127.0.0.1:9; }\n"
		     "location /up { uwsgi_ssl_verify_depth 2; uwsgi_pass SUWSGI://backs; }\n"
		     "location /plain { uwsgi_pass uwsgi://127.0.0.1:9; }\n"
		     "location /var { uwsgi_pass $arg_u; }\n"
		     "location /px { proxy_pass https://127.0.0.1:9; }\n"
		     "}\n}\n",
		err, sizeof(err));
	struct cfg_loc *tls, *up, *plain, *var, *px;

	cr_assert_not_null(c, "%s", err);
	tls = cfgtest_prefix_loc(c, "/tls");
	up = cfgtest_prefix_loc(c, "/up");
	plain = cfgtest_prefix_loc(c, "/plain");
	var = cfgtest_prefix_loc(c, "/var");
	px = cfgtest_prefix_loc(c, "/px");
	cr_assert(tls && up && plain && var && px);
	cr_expect(tls->proxy->uwsgi && tls->proxy->ssl);
	cr_expect_str_eq(tls->proxy->addr, "127.0.0.1:9");
	cr_expect_eq(tls->upssl.verify_depth, 4);
	cr_expect_eq(tls->upssl.server_name, 1);
	cr_expect_eq(tls->upssl.session_reuse, 0);
	cr_expect_not_null(tls->upssl.name);
	cr_expect_not_null(tls->upssl.ctx);
	cr_expect(up->proxy->uwsgi && up->proxy->ssl);
	cr_expect_str_eq(up->proxy->host, "backs");
	cr_expect_eq(up->upssl.verify_depth, 2);
	cr_expect_eq(up->upssl.session_reuse, 1);
	cr_expect_not_null(up->upssl.ctx);
	cr_expect(plain->proxy->uwsgi && !plain->proxy->ssl);
	cr_expect_null(plain->upssl.ctx);
	/* with variables: a context, for a value that says suwsgi:// */
	cr_expect(var->proxy->uwsgi && var->proxy->dynamic);
	cr_expect_not_null(var->upssl.ctx);
	/* proxy_pass keeps proxy_ssl_* */
	cr_expect_eq(px->upssl.verify_depth, 9);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(uwsgi, cfg_unsupported_loads)
{
	struct cfgtest t = {0};
	char err[1024];
	struct cfg *c = cfgtest_load(&t,
				     HEAD "server {\nlisten 127.0.0.1:8080;\n"
					  "location / { uwsgi_store on; scgi_force_ranges on;\n"
					  "  uwsgi_ssl_verify on; uwsgi_temp_path /tmp/uwt 1 2;\n"
					  "  uwsgi_pass 127.0.0.1:9; }\n"
					  "}\n}\n",
				     err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}
