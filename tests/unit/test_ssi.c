/* SPDX-License-Identifier: MIT */
/*
 * ssi.c's parser and cfg_ssi.c: commands found whole and byte by byte
 * (the same events and text either way, each input placed right before
 * an unreadable page so an overread crashes), text that only looks like
 * a command, nginx's handling of malformed commands (the message, and
 * the skip to the next "-->"), the limits (32-byte names, value length),
 * and the ssi* directives: merge down the levels, defaults, -t errors.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cfgtest.h"
#include "ssi.h"

#define VMAX 16

static char store[(SSI_MAX_PARAMS + 1) * (VMAX + 1)];

/* render - the events of IN fed in pieces of STEP bytes (0: whole), as
 * text: body text as it is, a command as {cmd k=v ...}, an error as
 * {ERR}; *ERR collects the last message. */
static void render(const char *in, size_t step, char *out, size_t cap, char *err)
{
	struct ssi_parser p;
	size_t n = strlen(in), off = 0, w = 0;
	long pg = sysconf(_SC_PAGESIZE);
	/* each piece copied to the end of a page followed by an unmapped one */
	char *map = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);

	cr_assert(map != MAP_FAILED);
	cr_assert(mprotect(map + pg, (size_t)pg, PROT_NONE) == 0);
	ssi_parser_init(&p, store, VMAX);
	err[0] = '\0';
	while (off < n) {
		size_t len = step ? (n - off < step ? n - off : step) : n;
		char *piece = map + pg - len;
		size_t k = 0;

		cr_assert(len <= (size_t)pg);
		memcpy(piece, in + off, len);
		while (k < len) {
			struct lstr text = {0};
			size_t used = 0;
			enum ssi_ev ev = ssi_parse(&p, piece + k, len - k, &used, &text);

			cr_assert(used <= len - k);
			k += used;
			if (p.err[0]) {
				strcpy(err, p.err);
				p.err[0] = '\0';
			}
			if (ev == SSI_EV_TEXT) {
				cr_assert(w + text.len < cap);
				memcpy(out + w, text.p, text.len);
				w += text.len;
			} else if (ev == SSI_EV_CMD) {
				w += (size_t)snprintf(out + w, cap - w, "{%s", p.command);
				for (int i = 0; i < p.nparams; i++)
					w += (size_t)snprintf(out + w, cap - w, " %s=%s",
							      p.params[i].key, p.params[i].value);
				w += (size_t)snprintf(out + w, cap - w, "}");
			} else if (ev == SSI_EV_ERR) {
				w += (size_t)snprintf(out + w, cap - w, "{ERR}");
			} else {
				cr_assert(k == len);
			}
		}
		off += len;
	}
	out[w] = '\0';
	munmap(map, (size_t)pg * 2);
}

struct pcase {
	char in[200];
	char want[200];
	char err[200]; /* the last message, "" none */
};

static struct pcase pcases[] = {
	{"plain text", "plain text", ""},
	{"a<!--#echo var=\"x\" -->b", "a{echo var=x}b", ""},
	{"<!--#  echo\tvar='x'\r\ndefault=\"d\"-->", "{echo var=x default=d}", ""},
	{"<!--#endif-->", "{endif}", ""},
	{"<!-- comment --><!x <<!--#a -->", "<!-- comment --><!x <{a}", ""},
	{"<!--<!--#a-->", "<!--{a}", ""},
	{"x<!-", "x", ""},		/* an unfinished prefix at the end: nothing */
	{"x<!--#echo var=\"", "x", ""}, /* an unfinished command: nothing */
	{"<!--#set value=\"a\\\"b\\\\c\" -->", "{set value=a\\\"b\\\\c}", ""},
	{"<!--#echo var=u -->z", "{ERR}z",
	 "unexpected \"u\" symbol before value of \"var\" parameter in \"echo\" SSI command"},
	{"<!--# -->a-->b", "{ERR}b", "unexpected \">\" symbol in \"-\" SSI command"},
	{"<!--#echo var=\"x\"y -->z", "{ERR}z",
	 "unexpected \"y\" symbol after \"x\" value of \"var\" parameter in \"echo\" SSI command"},
	{"<!--#echo var -->z", "{ERR}z",
	 "unexpected \"-\" symbol after \"var\" parameter in \"echo\" SSI command"},
	{"<!--#echo var- -->z{", "{ERR}z{", "invalid \"var-\" parameter in \"echo\" SSI command"},
	{"<!--#echo var=\"x\" --->z-->y", "{ERR}y",
	 "unexpected \"-\" symbol in \"echo\" SSI command"},
	{"<!--#echo v=\"0123456789abcdef\" -->", "{echo v=0123456789abcdef}", ""},
	{"<!--#echo v=\"0123456789abcdefg\" -->.", "{ERR}.",
	 "too long \"0123456789abcdef"
	 "g...\" value of \"v\" parameter in \"echo\" SSI command"},
	{"<!--#0123456789abcdef0123456789abcdef -->", "{0123456789abcdef0123456789abcdef}", ""},
	{"<!--#0123456789abcdef0123456789abcdefX -->.", "{ERR}.",
	 "the \"0123456789abcdef0123456789abcdef"
	 "X...\" SSI command is too long"},
};

ParameterizedTestParameters(ssi, parse)
{
	return cr_make_param_array(struct pcase, pcases, sizeof(pcases) / sizeof(pcases[0]));
}

ParameterizedTest(struct pcase *c, ssi, parse)
{
	static const size_t steps[] = {0, 1, 2, 3, 7};
	char out[512], err[SSI_ERRLEN];

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		render(c->in, steps[i], out, sizeof(out), err);
		cr_assert_str_eq(out, c->want, "step %zu: %s", steps[i], c->in);
		cr_assert_str_eq(err, c->err, "step %zu: %s", steps[i], c->in);
	}
}

Test(ssi, too_many_params)
{
	char in[400], out[512], err[SSI_ERRLEN];
	size_t w = (size_t)sprintf(in, "<!--#echo");

	for (int i = 0; i < 20; i++)
		w += (size_t)sprintf(in + w, " p%d=\"%d\"", i, i);
	strcpy(in + w, " -->");
	for (size_t step = 0; step < 3; step++) {
		struct ssi_parser p;
		size_t used, off = 0, n = strlen(in);
		struct lstr text;
		enum ssi_ev ev = SSI_EV_MORE;

		(void)out, (void)err;
		ssi_parser_init(&p, store, VMAX);
		while (off < n) {
			ev = ssi_parse(&p, in + off, n - off, &used, &text);
			off += used;
		}
		/* the command comes whole; run() refuses it for its count */
		cr_assert(ev == SSI_EV_CMD);
		cr_assert(p.nparams == SSI_MAX_PARAMS + 1 && p.too_many);
	}
}

Test(ssi, config_merge)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *c =
		cfgtest_load(&t,
			     "events {}\nhttp {\n ssi on; ssi_types text/plain;\n"
			     " ssi_value_length 1k;\n"
			     " server { listen 127.0.0.1:1;\n"
			     "  location /in/ { }\n"
			     "  location /own/ { ssi off; ssi_types *; ssi_silent_errors on;\n"
			     "   ssi_last_modified on; ssi_min_file_chunk 2k;\n"
			     "   ssi_ignore_recycled_buffers on; }\n"
			     " }\n}\n",
			     err, sizeof(err));
	const struct cfg_loc *l;

	cr_assert_not_null(c, "%s", err);
	l = cfgtest_prefix_loc(c, "/in/");
	cr_assert(l && l->ssi.on == 1 && l->ssi.silent_errors == 0 && l->ssi.last_modified == 0);
	cr_assert(l->ssi.value_len == 1024 && l->ssi.min_file_chunk == 1024);
	cr_assert(l->ssi.ntypes == 1 && strcmp(l->ssi.types[0], "text/plain") == 0);
	l = cfgtest_prefix_loc(c, "/own/");
	cr_assert(l && l->ssi.on == 0 && l->ssi.types_any && l->ssi.silent_errors == 1);
	cr_assert(l->ssi.last_modified == 1 && l->ssi.min_file_chunk == 2048);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(ssi, config_defaults)
{
	struct cfgtest t = {0};
	char err[512];
	struct cfg *c = cfgtest_load(
		&t, "events {}\nhttp {\n server { listen 127.0.0.1:1;\n  location /d/ { }\n }\n}\n",
		err, sizeof(err));
	const struct cfg_loc *l;

	cr_assert_not_null(c, "%s", err);
	l = cfgtest_prefix_loc(c, "/d/");
	cr_assert(l && l->ssi.on == 0 && l->ssi.value_len == SSI_VALUE_LEN && !l->ssi.types_any &&
		  l->ssi.ntypes == 0);
	cfg_unref(c);
	cfgtest_cleanup(&t);
}

Test(ssi, config_errors)
{
	cfgtest_location_error("ssi maybe;",
			       "invalid value \"maybe\" in \"ssi\" directive, it must be \"on\" or "
			       "\"off\"");
	cfgtest_location_error("ssi on; ssi off;", "\"ssi\" directive is duplicate");
	cfgtest_location_error("ssi_types;",
			       "invalid number of arguments in \"ssi_types\" directive");
	cfgtest_location_error("ssi_value_length x;",
			       "\"ssi_value_length\" directive invalid value");
	cfgtest_location_error("if ($arg_x) { ssi_silent_errors on; }",
			       "\"ssi_silent_errors\" directive is not allowed here");
}
