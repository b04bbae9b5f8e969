/* SPDX-License-Identifier: MIT */
/*
 * auth: the password schemes of a user file ($apr1$ against `openssl
 * passwd -apr1` and Apache's documented vector, {PLAIN}, {SHA}, {SSHA},
 * crypt(3) schemes through libxcrypt), nginx's base64 decoding, the
 * limit_except method bits, and the directives' merge (auth_basic and
 * the user file inherited, satisfy's default, limit_except's block
 * inheriting the location's settings and not inherited below).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <crypt.h>
#include <errno.h>
#include <string.h>

#include "auth.h"
#include "cfgtest.h"

struct apr1_case { /* arrays, not pointers: criterion may run a case in a new process */
	char key[40], hash[64];
};

/* made with `openssl passwd -apr1 -salt SALT KEY`; the last is Apache's */
static struct apr1_case apr1_cases[] = {
	{"abc", "$apr1$xY1.zz$xQx0PRxS9wOw/8lDPJ74r/"},
	{"", "$apr1$xY1.zz$mYvmHJgeB41plu.5OLnTy1"},
	{"a longer password with spaces", "$apr1$xY1.zz$2g3xEnpsfBJCcUPJ6fQox/"},
	{"pw", "$apr1$saltsalt$x78Y39ym2RjUNQHTLgwHz/"},
	{"myPassword", "$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/"},
};

ParameterizedTestParameters(auth, apr1)
{
	return cr_make_param_array(struct apr1_case, apr1_cases,
				   sizeof(apr1_cases) / sizeof(apr1_cases[0]));
}

ParameterizedTest(struct apr1_case *tc, auth, apr1)
{
	char out[128];

	cr_assert_eq(auth_apr1(tc->key, tc->hash, out, sizeof(out)), 0);
	cr_assert_str_eq(out, tc->hash);
	cr_assert_eq(auth_check_password(tc->key, tc->hash), 1);
	cr_assert_eq(auth_check_password("wrong", tc->hash), 0);
}

Test(auth, apr1_salt_cut_and_bounds)
{
	char out[128], small[20];

	/* salts longer than 8 are cut, as openssl and Apache do */
	cr_assert_eq(auth_apr1("pw", "$apr1$saltsaltX$", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "$apr1$saltsalt$x78Y39ym2RjUNQHTLgwHz/");
	cr_assert_eq(auth_apr1("pw", "$1$saltsalt$", out, sizeof(out)), -EINVAL);
	cr_assert_eq(auth_apr1("pw", "$apr1$saltsalt$", small, sizeof(small)), -EINVAL);
}

struct pw_case {
	char key[16], hash[128];
	int want;
};

static struct pw_case pw_cases[] = {
	{"secret", "{PLAIN}secret", 1},
	{"secret", "{PLAIN}secreT", 0},
	{"secre", "{PLAIN}secret", 0},
	{"", "{PLAIN}", 1},
	/* {SHA}: base64(SHA-1("password")) */
	{"password", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", 1},
	{"passwore", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", 0},
	{"password", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9", 0}, /* cut short */
	{"password", "{SHA}!!!!", 0},
	/* {SSHA}: base64(SHA-1("password" + "salt") + "salt") */
	{"password", "{SSHA}yI6cZwQadOA1e+/f+T+H3eCQQhRzYWx0", 1},
	{"passwort", "{SSHA}yI6cZwQadOA1e+/f+T+H3eCQQhRzYWx0", 0},
	{"password", "{SSHA}c2FsdA==", 0}, /* shorter than a digest */
	/* crypt(3): DES, md5-crypt, sha256/512-crypt, bcrypt, yescrypt */
	{"p10", "abwFmSvPSKAog", 1},
	{"p10", "abwFmSvPSKAoh", 0},
	{"p5", "$1$rasmusle$nXMJA0qXZjUCPuO0zYUtf/", 0},
	{"password", "$5$saltstring$OH4IDuTlsuTYPdED1gsuiRMyTAwNlRWyA6Xr3I4/dQ5", 1},
	{"password",
	 "$6$saltstring$adDbXsJjcDlq2662QPgd.tkSOVmnG9Tt3oXl4HR60SusC3AGjirnDenVZp3DGwLwqy6iYKCzannhaX9DR72nN1",
	 1},
	{"password",
	 "$6$saltstring$adDbXsJjcDlq2662QPgd.tkSOVmnG9Tt3oXl4HR60SusC3AGjirnDenVZp3DGwLwqy6iYKCzannhaX9DR72nN2",
	 0},
	{"p8", "$2b$04$.I3qkYG/ixXUzgCA.dQmw.HwBnhtfqQldNYFYmpXvNWHTSa9E/nE6", 0},
	/* an unusable hash: libxcrypt's failure token never matches */
	{"x", "*", 0},
	{"x", "", 0},
};

ParameterizedTestParameters(auth, schemes)
{
	return cr_make_param_array(struct pw_case, pw_cases,
				   sizeof(pw_cases) / sizeof(pw_cases[0]));
}

ParameterizedTest(struct pw_case *tc, auth, schemes)
{
	int rc = auth_check_password(tc->key, tc->hash);

	cr_assert(rc == tc->want || (tc->want == 0 && rc == -EINVAL), "%s vs %s: %d", tc->key,
		  tc->hash, rc);
}

/* crypt(3) schemes made here (a random salt each): the right key matches,
 * another does not */
Test(auth, crypt_roundtrip)
{
	static const char *const prefixes[] = {"$2b$", "$y$", "$6$", "$5$", "$1$"};
	struct crypt_data cd;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		char salt[CRYPT_GENSALT_OUTPUT_SIZE], hash[CRYPT_OUTPUT_SIZE];
		const char *h;

		cr_assert_not_null(
			crypt_gensalt_rn(prefixes[i], i == 0 ? 4 : 0, NULL, 0, salt, sizeof(salt)));
		memset(&cd, 0, sizeof(cd));
		h = crypt_r("s3cret", salt, &cd);
		cr_assert(h && h[0] != '*', "%s", prefixes[i]);
		snprintf(hash, sizeof(hash), "%s", h);
		cr_assert_eq(auth_check_password("s3cret", hash), 1, "%s", hash);
		cr_assert_eq(auth_check_password("s3creT", hash), 0, "%s", hash);
		if (i == 0) { /* htpasswd -B writes $2y$: the same algorithm */
			hash[2] = 'y';
			cr_assert_eq(auth_check_password("s3cret", hash), 1, "%s", hash);
		}
	}
}

Test(auth, base64_as_nginx)
{
	unsigned char out[64];
	size_t n;

	cr_assert(auth_b64_decode("dTpwdw==", 8, out, &n));
	cr_assert_eq(n, 4);
	cr_assert_eq(memcmp(out, "u:pw", 4), 0);
	cr_assert(auth_b64_decode("dTpwdw", 6, out, &n)); /* padding optional */
	cr_assert_eq(n, 4);
	cr_assert(auth_b64_decode("", 0, out, &n));
	cr_assert_eq(n, 0);
	cr_assert_not(auth_b64_decode("dTpwd", 5, out, &n)); /* a lone last character */
	cr_assert_not(auth_b64_decode("dT-w", 4, out, &n));  /* not the alphabet */
	cr_assert_not(auth_b64_decode("dT w", 4, out, &n));
	cr_assert(auth_b64_decode("dTpw=garbage", 12, out, &n)); /* stops at '=' */
	cr_assert_eq(n, 3);
}

Test(auth, method_bits)
{
	cr_assert_eq(auth_method_bit("GET", 3), AUTH_M_GET);
	cr_assert_eq(auth_method_bit("PATCH", 5), AUTH_M_PATCH);
	cr_assert_eq(auth_method_bit("get", 3), AUTH_M_UNKNOWN);
	cr_assert_eq(auth_method_bit("TRACE", 5), AUTH_M_UNKNOWN);
	cr_assert_eq(auth_method_bit("GETX", 4), AUTH_M_UNKNOWN);
}

Test(auth, directives_merge)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *cfg = cfgtest_load(&t,
				       "events {}\nhttp {\n"
				       " auth_basic \"R\";\n"
				       " server {\n listen 127.0.0.1:1;\n"
				       "  auth_basic_user_file conf/ht;\n"
				       "  location /a/ {\n"
				       "   satisfy any;\n"
				       "   limit_except GET { auth_basic off; deny all; }\n"
				       "   location /a/b/ { }\n"
				       "  }\n"
				       " }\n}\n",
				       err, sizeof(err));
	const struct cfg_loc *s, *a, *b, *lmt;

	cr_assert_not_null(cfg, "%s", err);
	s = &cfg->http->servers[0]->loc;
	cr_assert_eq(s->auth.satisfy, AUTH_SATISFY_ALL, "default all");
	cr_assert_not_null(s->auth.realm, "inherited from http");
	cr_assert_not_null(s->auth.user_file);
	a = s->prefix[0];
	cr_assert_eq(a->auth.satisfy, AUTH_SATISFY_ANY);
	cr_assert_eq(a->auth.lmt_methods, AUTH_M_GET | AUTH_M_HEAD, "GET implies HEAD");
	lmt = a->auth.lmt;
	cr_assert_not_null(lmt);
	cr_assert_eq(lmt->auth.satisfy, AUTH_SATISFY_ANY, "the block inherits the location");
	cr_assert_eq(lmt->auth.user_file, s->auth.user_file);
	cr_assert_neq(lmt->auth.realm, s->auth.realm, "its own auth_basic");
	cr_assert_eq(lmt->naccess, 1);
	cr_assert_eq(a->naccess, 0);
	b = a->prefix[0];
	cr_assert_null(b->auth.lmt, "limit_except is the location's own");
	cr_assert_eq(b->auth.satisfy, AUTH_SATISFY_ANY);
	cfg_unref(cfg);
	cfgtest_cleanup(&t);
}
