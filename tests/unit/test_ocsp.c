/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of ocsp.c's responder URLs (ssl_stapling_responder,
 * ssl_ocsp_responder and the certificates' own): what nginx 1.22 takes
 * (plain http:// with a host, a port 1-65535, IPv6 in brackets) and its
 * words for the rest, with the piece of the URL its message quotes.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lbd.h"
#include "ocsp.h"

struct url_case {
	char url[64];  /* as written */
	char bad[32];  /* nginx's words, "" when taken */
	char part[64]; /* the piece quoted, or the host taken */
	char port[8];  /* the port taken */
	char path[32]; /* the path taken */
};

static struct url_case url_cases[] = {
	{"http://127.0.0.1:8080/ocsp", "", "127.0.0.1", "8080", "/ocsp"},
	{"http://ocsp.example.com", "", "ocsp.example.com", "80", "/"},
	{"HTTP://ocsp.example.com/", "", "ocsp.example.com", "80", "/"},
	{"http://[::1]:8080/", "", "::1", "8080", "/"},
	{"https://ocsp.example.com/", "invalid URL prefix in", "https://ocsp.example.com/", "", ""},
	{"ftp://x/", "invalid URL prefix in", "ftp://x/", "", ""},
	{"foo", "invalid URL prefix in", "foo", "", ""},
	{"http://", "invalid URL prefix in", "http://", "", ""},
	{"http://x:99999/", "invalid port in", "x:99999/", "", ""},
	{"http://x:0/", "invalid port in", "x:0/", "", ""},
	{"http://x:ab/", "invalid port in", "x:ab/", "", ""},
};

ParameterizedTestParameters(ocsp, parse_url)
{
	return cr_make_param_array(struct url_case, url_cases, ARRAY_SIZE(url_cases));
}

ParameterizedTest(struct url_case *tc, ocsp, parse_url)
{
	char *host = NULL, *port = NULL, *path = NULL;
	const char *part = NULL;
	const char *bad = ocsp_parse_url(tc->url, &host, &port, &path, &part);

	if (tc->bad[0]) {
		cr_assert_not_null(bad, "%s taken", tc->url);
		cr_expect_str_eq(bad, tc->bad);
		cr_expect_str_eq(part, tc->part);
	} else {
		cr_assert_null(bad, "%s: %s", tc->url, bad);
		cr_expect_str_eq(host, tc->part);
		cr_expect_str_eq(port, tc->port);
		cr_expect_str_eq(path, tc->path);
	}
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
}
