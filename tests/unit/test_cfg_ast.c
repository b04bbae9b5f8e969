/* SPDX-License-Identifier: MIT */
/*
 * Tests for the configuration reader (userspace/cfg_ast.c): tree shape for
 * a table of inputs, every syntax error with nginx 1.22's exact words and
 * line (the texts were checked against the nginx binary), the 4 KiB token
 * limit at its edges, -g text, include (globs in order, prefix, missing
 * files, recursion, include bombs), the -T dump, limits, overreads, and
 * Debian's stock nginx.conf.
 */
#include "cfg_ast.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------ */

/* put_word - a word for shape strings: control bytes spelled <TAB> etc. */
static void put_word(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\t')
			fputs("<TAB>", f);
		else if (*s == '\r')
			fputs("<CR>", f);
		else if (*s == '\n')
			fputs("<LF>", f);
		else
			fputc(*s, f);
	}
}

/*
 * shape_nodes - render nodes as `name@LINE arg "quoted" {child@LINE;}`,
 * siblings separated by one space.
 */
static void shape_nodes(FILE *f, const struct cfg_node *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(' ', f);
		put_word(f, v[i].name);
		fprintf(f, "@%d", v[i].line);
		for (size_t j = 0; j < v[i].nargs; j++) {
			fputc(' ', f);
			if (v[i].quoted[j])
				fputc('"', f);
			put_word(f, v[i].args[j]);
			if (v[i].quoted[j])
				fputc('"', f);
		}
		if (v[i].block) {
			fputs(" {", f);
			shape_nodes(f, v[i].children, v[i].nchildren);
			fputc('}', f);
		} else {
			fputc(';', f);
		}
	}
}

static char *shape(const struct cfg_tree *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	shape_nodes(f, t->root.children, t->root.nchildren);
	fclose(f);
	return buf;
}

static const struct cfg_node *child(const struct cfg_node *parent, const char *name)
{
	for (size_t i = 0; i < parent->nchildren; i++)
		if (strcmp(parent->children[i].name, name) == 0)
			return &parent->children[i];
	return NULL;
}

static bool has_include(const struct cfg_node *n)
{
	for (size_t i = 0; i < n->nchildren; i++)
		if (strcmp(n->children[i].name, "include") == 0 || has_include(&n->children[i]))
			return true;
	return false;
}

static void write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert_neq(fd, -1, "open %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static char *tmp_dir; /* per test process: made by dir_setup, removed by dir_teardown */

/* dfile - write TEXT to tmp_dir/NAME; returns the full path (malloc'd). */
static char *dfile(const char *name, const char *text)
{
	char *path;

	cr_assert_neq(asprintf(&path, "%s/%s", tmp_dir, name), -1);
	write_file(path, text, strlen(text));
	return path;
}

static void dsubdir(const char *name)
{
	char *path;

	cr_assert_neq(asprintf(&path, "%s/%s", tmp_dir, name), -1);
	cr_assert_eq(mkdir(path, 0755), 0);
	free(path);
}

/* dpath - tmp_dir/NAME in a static buffer, for expected messages */
static const char *dpath(const char *name)
{
	static char buf[4][512];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", tmp_dir, name);
	return b;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void dir_setup(void)
{
	char tmpl[] = "/tmp/test_cfg_ast_XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	tmp_dir = strdup(tmpl);
}

static void dir_teardown(void)
{
	if (tmp_dir)
		nftw(tmp_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(tmp_dir);
	tmp_dir = NULL;
}

/* parse TEXT as file "t.conf", includes forbidden; returns the rc */
static int parse(struct cfg_tree *t, const char *text, char *err, size_t errlen)
{
	cfg_tree_init(t);
	return cfg_tree_parse_string(t, text, "t.conf", NULL, err, errlen);
}

/* ---- tree shape --------------------------------------------------------- */

/* Strings inline: Criterion copies parameters into each test process. */
struct shape_case {
	char in[96];   /* configuration text */
	char want[96]; /* shape() of the tree */
};

ParameterizedTestParameters(cfg_ast, shapes)
{
	static struct shape_case cases[] = {
		{"", ""},
		{"  \n# only a comment\n\n", ""},
		{"a;", "a@1;"},
		{"a b c;", "a@1 b c;"},
		{" \t a \t b\r\n\r\n c \n ; d;", "a@1 b c; d@4;"},
		{"a\n b\n c\n;", "a@1 b c;"},
		{"a;b;c;", "a@1; b@1; c@1;"},
		{"a \"b c\" 'd e';", "a@1 \"b c\" \"d e\";"},
		{"a \"\" '';", "a@1 \"\" \"\";"},
		/* quote escapes; \m is not one, so the backslash stays */
		{"a \"x\\\"y\\'z\\\\w\\tv\\rq\\nk\\m\";", "a@1 \"x\"y'z\\w<TAB>v<CR>q<LF>k\\m\";"},
		{"a 'x\\'y\\\"z';", "a@1 \"x'y\"z\";"},
		/* outside quotes a backslash protects the next byte and stays */
		{"a b\\;c d\\ e f\\{;", "a@1 b\\;c d\\ e f\\{;"},
		{"a b\\\"c;", "a@1 b\"c;"},
		{"a b\\tc;", "a@1 b<TAB>c;"},
		{"a b\\\nc;", "a@1 b\\<LF>c;"},
		/* a quote only quotes when it opens the word */
		{"a b\"c d\";", "a@1 b\"c d\";"},
		{"a (\"a\");", "a@1 (\"a\");"},
		/* variables: "${" does not end a word, "}" never does */
		{"set $x ${y}z;", "set@1 $x ${y}z;"},
		{"a x${y;", "a@1 x${y;"},
		{"a ${{{b;", "a@1 ${{{b;"},
		{"a}b c};", "a}b@1 c};"},
		{"a $ {}", "a@1 $ {}"},
		/* comments start only where a word may start */
		{"a; # c ; { }\nb;", "a@1; b@2;"},
		{"a b#c;", "a@1 b#c;"},
		{"a # x\n b;", "a@1 b;"},
		{"a \"#\";", "a@1 \"#\";"},
		/* blocks */
		{"events {}", "events@1 {}"},
		{"events{}", "events@1 {}"},
		{"http { server { listen 80; } }", "http@1 {server@1 {listen@1 80;}}"},
		{"a {b;}c;", "a@1 {b@1;} c@1;"},
		{"location \"/x\"{ }", "location@1 \"/x\" {}"},
		{"location '/x' {\n}\n", "location@1 \"/x\" {}"},
		{"if ($a = \"b\") {\n return 404;\n}", "if@1 ($a = \"b\" ) {return@2 404;}"},
		{"if ($a = 'b'){}", "if@1 ($a = \"b\" ) {}"},
		{"\"quoted name\" x;", "quoted name@1 x;"},
		{"a \"b\"\n;", "a@1 \"b\";"},
		{"a\r;b;", "a@1; b@1;"},
		{"a \xc3\xa9;", "a@1 \xc3\xa9;"},
		{"log_format main '$remote_addr - \"$request\"' \"$status\";",
		 "log_format@1 main \"$remote_addr - \"$request\"\" \"$status\";"},
	};

	return cr_make_param_array(struct shape_case, cases, ARRAY_LEN(cases));
}

ParameterizedTest(struct shape_case *c, cfg_ast, shapes)
{
	struct cfg_tree t;
	char err[256] = "";
	char *got;

	cr_assert_eq(parse(&t, c->in, err, sizeof(err)), CFG_OK, "input %s: %s", c->in, err);
	got = shape(&t);
	cr_expect_str_eq(got, c->want, "input: %s", c->in);
	free(got);
	cfg_tree_free(&t);
}

Test(cfg_ast, lines_and_files)
{
	struct cfg_tree t;
	char err[256];
	const struct cfg_node *http, *server;

	cr_assert_eq(parse(&t,
			   "# head\n"
			   "user\n"
			   "  www-data\n"
			   "  ;\n"
			   "http {\n"
			   "  server\n"
			   "  {\n"
			   "    listen \"80\n"
			   "\"; }\n"
			   "}\n",
			   err, sizeof(err)),
		     CFG_OK, "%s", err);
	cr_assert_eq(t.root.nchildren, 2);
	cr_expect_eq(t.root.children[0].line, 2);
	cr_expect_eq(t.root.children[0].end_line, 4);
	cr_expect_eq(t.root.children[0].close_line, 0);
	cr_expect_str_eq(t.root.children[0].file, "t.conf");
	http = child(&t.root, "http");
	cr_assert_not_null(http);
	cr_expect(http->block);
	cr_expect_eq(http->line, 5);
	cr_expect_eq(http->end_line, 5);
	cr_expect_eq(http->close_line, 10);
	server = child(http, "server");
	cr_assert_not_null(server);
	cr_expect_eq(server->line, 6);
	cr_expect_eq(server->end_line, 7);
	cr_expect_eq(server->close_line, 9);
	cr_assert_eq(server->nchildren, 1);
	cr_expect_eq(server->children[0].line, 8);
	cr_expect_eq(server->children[0].end_line, 9);
	cr_expect_str_eq(server->children[0].args[0], "80\n");
	cr_expect_eq(server->children[0].quoted[0], 1);
	/* one interned name for every node of a file */
	cr_expect_eq(server->children[0].file, t.root.children[0].file);
	cfg_tree_free(&t);
}

/* ---- errors ------------------------------------------------------------- */

struct err_case {
	char in[32];   /* text, parsed as file "t.conf" */
	char want[96]; /* exact message */
	int rc;	       /* expected return code */
};

ParameterizedTestParameters(cfg_ast, errors)
{
	static struct err_case cases[] = {
		{"}", "unexpected \"}\" in t.conf:1", CFG_ESYNTAX},
		{"a;\n\n}", "unexpected \"}\" in t.conf:3", CFG_ESYNTAX},
		{"a }", "unexpected \"}\" in t.conf:1", CFG_ESYNTAX},
		{"a {\n b }\n}", "unexpected \"}\" in t.conf:2", CFG_ESYNTAX},
		{";", "unexpected \";\" in t.conf:1", CFG_ESYNTAX},
		{"a;\n ;", "unexpected \";\" in t.conf:2", CFG_ESYNTAX},
		{"{", "unexpected \"{\" in t.conf:1", CFG_ESYNTAX},
		{"a { { } }", "unexpected \"{\" in t.conf:1", CFG_ESYNTAX},
		{"a", "unexpected end of file, expecting \";\" or \"}\" in t.conf:1", CFG_ESYNTAX},
		{"a b\n\n", "unexpected end of file, expecting \";\" or \"}\" in t.conf:3",
		 CFG_ESYNTAX},
		{"a \"b", "unexpected end of file, expecting \";\" or \"}\" in t.conf:1",
		 CFG_ESYNTAX},
		{"a \"b\n\n", "unexpected end of file, expecting \";\" or \"}\" in t.conf:3",
		 CFG_ESYNTAX},
		{"a \"b\"", "unexpected end of file, expecting \";\" or \"}\" in t.conf:1",
		 CFG_ESYNTAX},
		{"a \\", "unexpected end of file, expecting \";\" or \"}\" in t.conf:1",
		 CFG_ESYNTAX},
		{"a {", "unexpected end of file, expecting \"}\" in t.conf:1", CFG_ESYNTAX},
		{"a {\n b;\n", "unexpected end of file, expecting \"}\" in t.conf:3", CFG_ESYNTAX},
		{"a { b { c; }\n", "unexpected end of file, expecting \"}\" in t.conf:2",
		 CFG_ESYNTAX},
		{"a \"b\"c;", "unexpected \"c\" in t.conf:1", CFG_ESYNTAX},
		{"a 'it''s';", "unexpected \"'\" in t.conf:1", CFG_ESYNTAX},
		{"a \"b\"#;", "unexpected \"#\" in t.conf:1", CFG_ESYNTAX},
		{"a \"b\"\\ ;", "unexpected \"\\\" in t.conf:1", CFG_ESYNTAX},
		{"a\n\"b\"}", "unexpected \"}\" in t.conf:2", CFG_ESYNTAX},
		{"include;", "invalid number of arguments in \"include\" directive in t.conf:1",
		 CFG_ESYNTAX},
		{"include a\n b;",
		 "invalid number of arguments in \"include\" directive in t.conf:2", CFG_ESYNTAX},
		{"include a {\n}", "directive \"include\" is not terminated by \";\" in t.conf:1",
		 CFG_ESYNTAX},
		{"http {\n include mime.types;\n}",
		 "\"include\" directive is not allowed here in t.conf:2", CFG_ESYNTAX},
	};

	return cr_make_param_array(struct err_case, cases, ARRAY_LEN(cases));
}

ParameterizedTest(struct err_case *c, cfg_ast, errors)
{
	struct cfg_tree t;
	char err[256] = "";

	cr_expect_eq(parse(&t, c->in, err, sizeof(err)), c->rc, "input: %s", c->in);
	cr_expect_str_eq(err, c->want, "input: %s", c->in);
	cr_expect_eq(t.root.nchildren, 0, "a failed parse must not touch the tree");
	cfg_tree_free(&t);
}

/* nginx reads files through a 4 KiB buffer: words and comments are bounded */
Test(cfg_ast, token_length_limit)
{
	struct {
		const char *head; /* before the long run */
		char fill;	  /* byte repeated */
		size_t n;	  /* how many */
		const char *tail; /* after it */
		const char *want; /* message, or NULL = parses */
	} cases[] = {
		{"a ", 'x', 4095, ";", NULL},
		{"a ", 'x', 4096, ";", "too long parameter \"xxxxxxxxxx...\" started in t.conf:1"},
		{"a\n\n ", 'x', 5000, ";",
		 "too long parameter \"xxxxxxxxxx...\" started in t.conf:3"},
		/* the span of a quoted word includes its closing quote */
		{"a \"", 'q', 4094, "\";", NULL},
		/* the quote closed, but the word is still the one being read */
		{"a \"", 'q', 4095, "\";",
		 "too long parameter \"qqqqqqqqqq...\" started in t.conf:1"},
		{"a \"", 'q', 4096, "\";",
		 "too long parameter, probably missing terminating \"\"\" character in t.conf:1"},
		{"a\n'", 'q', 5000, "",
		 "too long parameter, probably missing terminating \"'\" character in t.conf:2"},
		/* a comment counts from its '#' */
		{"#", 'c', 4094, "\na;", NULL},
		{"#", 'c', 4095, "\na;",
		 "too long parameter \"#ccccccccc...\" started in t.conf:1"},
		/* at the very end of the file the buffer never refills: EOF wins */
		{"a ", 'x', 4096, "",
		 "unexpected end of file, expecting \";\" or \"}\" in t.conf:1"},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		size_t hl = strlen(cases[i].head), tl = strlen(cases[i].tail);
		char *text = malloc(hl + cases[i].n + tl + 1);
		struct cfg_tree t;
		char err[256] = "";
		int rc;

		memcpy(text, cases[i].head, hl);
		memset(text + hl, cases[i].fill, cases[i].n);
		memcpy(text + hl + cases[i].n, cases[i].tail, tl + 1);
		rc = parse(&t, text, err, sizeof(err));
		if (cases[i].want) {
			cr_expect_eq(rc, CFG_ESYNTAX, "case %zu", i);
			cr_expect_str_eq(err, cases[i].want, "case %zu", i);
		} else {
			cr_expect_eq(rc, CFG_OK, "case %zu: %s", i, err);
		}
		cfg_tree_free(&t);
		free(text);
	}
}

Test(cfg_ast, nul_bytes)
{
	struct cfg_tree t;
	char err[256];

	cfg_tree_init(&t);
	cr_expect_eq(cfg_tree_parse_mem(&t, "a b\0c;", 6, "t.conf", NULL, err, sizeof(err)),
		     CFG_ESYNTAX);
	cr_expect_str_eq(err, "unexpected NUL byte in t.conf:1");
	/* inside a comment a NUL is harmless */
	cr_expect_eq(cfg_tree_parse_mem(&t, "# \0\na;", 6, "t.conf", NULL, err, sizeof(err)),
		     CFG_OK, "%s", err);
	cr_expect_eq(t.root.nchildren, 1);
	cfg_tree_free(&t);
}

/* ---- -g text ------------------------------------------------------------ */

Test(cfg_ast, command_line_text)
{
	static const struct {
		const char *in;
		const char *want;
	} bad[] = {
		{"daemon off", "unexpected end of parameter, expecting \";\" in command line"},
		{"env 'a'", "unexpected end of parameter, expecting \";\" in command line"},
		{"events {}", "block directives are not supported in -g option in command line"},
		{"daemon off; }", "unexpected \"}\" in command line"},
		{";", "unexpected \";\" in command line"},
		{"daemon \"off\"x;", "unexpected \"x\" in command line"},
		{"include;",
		 "invalid number of arguments in \"include\" directive in command line"},
	};
	struct cfg_tree t;
	char err[256];
	char *big;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		cfg_tree_init(&t);
		cr_expect_eq(cfg_tree_parse_string(&t, bad[i].in, NULL, "/nonexistent/", err,
						   sizeof(err)),
			     CFG_ESYNTAX, "%s", bad[i].in);
		cr_expect_str_eq(err, bad[i].want);
		cfg_tree_free(&t);
	}

	/* -g directives come first, then the file's, in one main context */
	cfg_tree_init(&t);
	cr_assert_eq(
		cfg_tree_parse_string(&t, "daemon off; pid /x.pid;", NULL, NULL, err, sizeof(err)),
		CFG_OK, "%s", err);
	cr_assert_eq(cfg_tree_parse_string(&t, "worker_processes 2;", "main.conf", NULL, err,
					   sizeof(err)),
		     CFG_OK, "%s", err);
	cr_assert_eq(t.root.nchildren, 3);
	cr_expect_str_eq(t.root.children[0].name, "daemon");
	cr_expect_null(t.root.children[0].file);
	cr_expect_str_eq(t.root.children[2].name, "worker_processes");
	cr_expect_str_eq(t.root.children[2].file, "main.conf");
	cr_expect_eq(t.nfiles, 1, "-g text is not a file for the dump");
	cr_expect_eq(cfg_node_error(&t.root.children[0], err, sizeof(err), "\"%s\" is duplicate",
				    "daemon"),
		     CFG_EINVAL);
	cr_expect_str_eq(err, "\"daemon\" is duplicate in command line");
	cr_expect_eq(cfg_node_error(&t.root.children[2], err, sizeof(err), "invalid value"),
		     CFG_EINVAL);
	cr_expect_str_eq(err, "invalid value in main.conf:1");

	/* a failed parse leaves the main context as it was */
	cr_expect_eq(cfg_tree_parse_string(&t, "a; b {", "x.conf", NULL, err, sizeof(err)),
		     CFG_ESYNTAX);
	cr_expect_eq(t.root.nchildren, 3);
	cfg_tree_free(&t);

	/* no 4 KiB limit on the command line, as in nginx */
	big = malloc(10000);
	memcpy(big, "env ", 4);
	memset(big + 4, 'v', 9000);
	strcpy(big + 9004, ";");
	cfg_tree_init(&t);
	cr_expect_eq(cfg_tree_parse_string(&t, big, NULL, NULL, err, sizeof(err)), CFG_OK, "%s",
		     err);
	cr_expect_eq(strlen(t.root.children[0].args[0]), 9000);
	cfg_tree_free(&t);
	free(big);
}

/* ---- limits ------------------------------------------------------------- */

Test(cfg_ast, limits)
{
	struct cfg_tree t;
	char err[256];
	char *text;
	size_t n;

	/* arguments per directive */
	text = malloc(2 * CFG_MAX_ARGS + 8);
	text[0] = 'a';
	for (n = 0; n < CFG_MAX_ARGS - 1; n++)
		memcpy(text + 1 + 2 * n, " b", 2);
	strcpy(text + 1 + 2 * n, ";");
	cr_expect_eq(parse(&t, text, err, sizeof(err)), CFG_OK, "%s", err);
	cr_expect_eq(t.root.children[0].nargs, CFG_MAX_ARGS - 1);
	cfg_tree_free(&t);
	strcpy(text + 1 + 2 * n, " b;");
	cr_expect_eq(parse(&t, text, err, sizeof(err)), CFG_ELIMIT);
	cr_expect_str_eq(err, "too many parameters (more than 8191) in t.conf:1");
	cfg_tree_free(&t);
	free(text);

	/* block nesting */
	text = malloc(4 * (CFG_MAX_BLOCK_DEPTH + 1) + 8);
	for (n = 0; n < CFG_MAX_BLOCK_DEPTH; n++)
		memcpy(text + 3 * n, "a {", 3);
	memset(text + 3 * n, '}', CFG_MAX_BLOCK_DEPTH);
	text[4 * n] = '\0';
	cr_expect_eq(parse(&t, text, err, sizeof(err)), CFG_OK, "%s", err);
	cfg_tree_free(&t);
	memcpy(text + 3 * n, "a {", 3);
	text[3 * n + 3] = '\0';
	cr_expect_eq(parse(&t, text, err, sizeof(err)), CFG_ELIMIT);
	cr_expect_str_eq(err, "blocks nested too deep (more than 100 levels) in t.conf:1");
	cfg_tree_free(&t);
	free(text);

	/* size of one text */
	n = CFG_MAX_FILE_SIZE + 1;
	text = malloc(n);
	memset(text, ' ', n);
	cfg_tree_init(&t);
	cr_expect_eq(cfg_tree_parse_mem(&t, text, n, "t.conf", NULL, err, sizeof(err)), CFG_ELIMIT);
	cr_expect_str_eq(err,
			 "configuration text is too large (16777217 bytes, more than 16777216)");
	cr_expect_eq(cfg_tree_parse_mem(&t, text, n - 1, "t.conf", NULL, err, sizeof(err)), CFG_OK,
		     "%s", err);
	cfg_tree_free(&t);
	free(text);
}

/* The lexer must never read past the end of its input. */
Test(cfg_ast, no_overread)
{
	static const char *inputs[] = {
		"a",	"a \"b", "a 'b\\", "a \\",    "a b\\", "#",	   "a $",
		"a ${", "a {",	 "a;",	   "a \"b\"", "}",     "x { y; }",
	};
	long pg = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(map, MAP_FAILED);
	cr_assert_eq(mprotect(map + pg, pg, PROT_NONE), 0);
	for (size_t i = 0; i < ARRAY_LEN(inputs); i++) {
		for (int named = 0; named < 2; named++) {
			size_t len = strlen(inputs[i]);
			char *text = map + pg - len;
			struct cfg_tree t;
			char err[256];

			memcpy(text, inputs[i], len);
			cfg_tree_init(&t);
			cfg_tree_parse_mem(&t, text, len, named ? "t.conf" : NULL, NULL, err,
					   sizeof(err));
			cfg_tree_free(&t);
		}
	}
	munmap(map, 2 * pg);
}

/* ---- include ------------------------------------------------------------ */

TestSuite(cfg_inc, .init = dir_setup, .fini = dir_teardown);

Test(cfg_inc, glob_sorted_in_place)
{
	struct cfg_tree t;
	char err[512];
	char *main_conf;
	const struct cfg_node *http;

	dsubdir("conf.d");
	free(dfile("conf.d/b.conf", "b1;\nb2;\n"));
	free(dfile("conf.d/a.conf", "a1 x;"));
	free(dfile("conf.d/c.conf", "\n\nc1 { c2; }"));
	free(dfile("conf.d/B.conf", "upper;"));
	free(dfile("conf.d/z.txt", "not_matched;"));
	free(dfile("conf.d/.hidden.conf", "hidden;"));
	main_conf = dfile("main.conf", "first;\n"
				       "include conf.d/*.conf;\n"
				       "http {\n"
				       "  include \"conf.d/[ab].conf\";\n"
				       "  include none/*.conf;\n"
				       "  include conf.d/nothing*;\n"
				       "}\n"
				       "last;\n");
	cfg_tree_init(&t);
	cr_assert_eq(cfg_tree_parse_file(&t, main_conf, NULL, err, sizeof(err)), CFG_OK, "%s", err);
	{
		char *got = shape(&t);

		/* byte order: "B" sorts before "a" as in nginx's C locale */
		cr_expect_str_eq(got, "first@1; upper@1; a1@1 x; b1@1; b2@2; c1@3 {c2@3;} "
				      "http@3 {a1@1 x; b1@1; b2@2;} last@8;");
		free(got);
	}
	cr_expect_str_eq(t.root.children[0].file, main_conf);
	cr_expect_str_eq(t.root.children[2].file, dpath("conf.d/a.conf"));
	http = child(&t.root, "http");
	cr_assert_not_null(http);
	/* the same file read twice is one interned name */
	cr_expect_eq(http->children[0].file, t.root.children[2].file);
	cr_expect_str_eq(t.root.children[6].file, main_conf);
	cr_expect_not(has_include(&t.root));
	cfg_tree_free(&t);
	free(main_conf);
}

Test(cfg_inc, prefix)
{
	struct cfg_tree t;
	char err[512];
	char *main_conf;

	dsubdir("etc");
	dsubdir("other");
	free(dfile("etc/inc.conf", "from_etc;"));
	free(dfile("other/inc.conf", "from_other;"));
	main_conf = dfile("etc/main.conf", "include inc.conf;");

	/* NULL prefix: the main file's directory, as nginx does */
	cfg_tree_init(&t);
	cr_assert_eq(cfg_tree_parse_file(&t, main_conf, NULL, err, sizeof(err)), CFG_OK, "%s", err);
	cr_expect_str_eq(t.root.children[0].name, "from_etc");
	cr_expect_str_eq(t.root.children[0].file, dpath("etc/inc.conf"));
	cfg_tree_free(&t);

	/* an explicit prefix, with or without the trailing slash */
	cfg_tree_init(&t);
	cr_assert_eq(cfg_tree_parse_file(&t, main_conf, dpath("other"), err, sizeof(err)), CFG_OK,
		     "%s", err);
	cr_expect_str_eq(t.root.children[0].name, "from_other");
	cr_expect_str_eq(t.root.children[0].file, dpath("other/inc.conf"));
	cfg_tree_free(&t);

	/* an absolute path ignores the prefix; -g text may include too */
	cfg_tree_init(&t);
	{
		char *g;

		cr_assert_neq(asprintf(&g, "include %s;", dpath("etc/inc.conf")), -1);
		cr_assert_eq(cfg_tree_parse_string(&t, g, NULL, dpath("other/"), err, sizeof(err)),
			     CFG_OK, "%s", err);
		free(g);
	}
	cr_expect_str_eq(t.root.children[0].name, "from_etc");
	cfg_tree_free(&t);
	free(main_conf);
}

Test(cfg_inc, file_errors)
{
	struct cfg_tree t;
	char err[512];
	char *main_conf, *want;

	/* the main file: no location, as nginx prints it */
	cfg_tree_init(&t);
	cr_expect_eq(cfg_tree_parse_file(&t, dpath("nope.conf"), NULL, err, sizeof(err)),
		     CFG_EFILE);
	cr_assert_neq(asprintf(&want, "open() \"%s\" failed (2: No such file or directory)",
			       dpath("nope.conf")),
		      -1);
	cr_expect_str_eq(err, want);
	free(want);
	cfg_tree_free(&t);

	/* a missing literal include: FILE:LINE of the include's ";" */
	main_conf = dfile("main.conf", "a;\n\ninclude\n  missing.conf;\n");
	cfg_tree_init(&t);
	cr_expect_eq(cfg_tree_parse_file(&t, main_conf, NULL, err, sizeof(err)), CFG_EFILE);
	cr_assert_neq(asprintf(&want, "open() \"%s\" failed (2: No such file or directory) in %s:4",
			       dpath("missing.conf"), main_conf),
		      -1);
	cr_expect_str_eq(err, want);
	cr_expect_eq(t.root.nchildren, 0);
	free(want);
	cfg_tree_free(&t);
	free(main_conf);

	/* a glob that matches a directory */
	dsubdir("d");
	dsubdir("d/sub.conf");
	main_conf = dfile("main2.conf", "include d/*.conf;");
	cfg_tree_init(&t);
	cr_expect_eq(cfg_tree_parse_file(&t, main_conf, NULL, err, sizeof(err)), CFG_EFILE);
	cr_assert_neq(asprintf(&want, "pread() \"%s\" failed (21: Is a directory) in %s:1",
			       dpath("d/sub.conf"), main_conf),
		      -1);
	cr_expect_str_eq(err, want);
	free(want);
	cfg_tree_free(&t);
	free(main_conf);

	/* a syntax error inside an included file names that file */
	free(dfile("bad.conf", "ok;\nbroken \"x\"y;\n"));
	main_conf = dfile("main3.conf", "include bad.conf;");
	cfg_tree_init(&t);
	cr_expect_eq(cfg_tree_parse_file(&t, main_conf, NULL, err, sizeof(err)), CFG_ESYNTAX);
	cr_assert_neq(asprintf(&want, "unexpected \"y\" in %s:2", dpath("bad.conf")), -1);
	cr_expect_str_eq(err, want);
	free(want);
	cfg_tree_free(&t);
	free(main_conf);

	/* blocks do not span files */
	free(dfile("open.conf", "events {\n"));
	free(dfile("close.conf", "}\n"));
	main_conf = dfile("main4.conf", "include open.conf;\n}\n");
	cfg_tree_init(&t);
	cr_expect_eq(cfg_tree_parse_file(&t, main_conf, NULL, err, sizeof(err)), CFG_ESYNTAX);
	cr_assert_neq(asprintf(&want, "unexpected end of file, expecting \"}\" in %s:2",
			       dpath("open.conf")),
		      -1);
	cr_expect_str_eq(err, want);
	free(want);
	cfg_tree_free(&t);
	free(main_conf);
	main_conf = dfile("main5.conf", "events {\ninclude close.conf;\n");
	cfg_tree_init(&t);
	cr_expect_eq(cfg_tree_parse_file(&t, main_conf, NULL, err, sizeof(err)), CFG_ESYNTAX);
	cr_assert_neq(asprintf(&want, "unexpected \"}\" in %s:1", dpath("close.conf")), -1);
	cr_expect_str_eq(err, want);
	free(want);
	cfg_tree_free(&t);
	free(main_conf);
}

Test(cfg_inc, recursion)
{
	struct cfg_tree t;
	char err[512];
	char *main_conf, *want, name[32], text[64];

	/* nginx itself overflows its stack here */
	main_conf = dfile("self.conf", "a;\ninclude self.conf;\n");
	cfg_tree_init(&t);
	cr_expect_eq(cfg_tree_parse_file(&t, main_conf, NULL, err, sizeof(err)), CFG_ELIMIT);
	cr_assert_neq(asprintf(&want,
			       "include of \"%s\" nested too deep (more than 32 levels) in %s:2",
			       main_conf, main_conf),
		      -1);
	cr_expect_str_eq(err, want);
	free(want);
	cfg_tree_free(&t);
	free(main_conf);

	/* a chain of exactly 32 files is fine, 33 is not */
	for (int i = 0; i < 33; i++) {
		snprintf(name, sizeof(name), "f%d.conf", i);
		snprintf(text, sizeof(text), "d%d;\ninclude f%d.conf;\n", i, i + 1);
		free(dfile(name, text));
	}
	free(dfile("f31.conf", "end;\n"));
	cfg_tree_init(&t);
	cr_expect_eq(cfg_tree_parse_file(&t, dpath("f0.conf"), NULL, err, sizeof(err)), CFG_OK,
		     "%s", err);
	cr_expect_eq(t.root.nchildren, 32);
	cr_expect_str_eq(t.root.children[31].name, "end");
	cfg_tree_free(&t);
	free(dfile("f31.conf", "d31;\ninclude f32.conf;\n"));
	free(dfile("f32.conf", "end;\n"));
	cfg_tree_init(&t);
	cr_expect_eq(cfg_tree_parse_file(&t, dpath("f0.conf"), NULL, err, sizeof(err)), CFG_ELIMIT);
	cfg_tree_free(&t);
}

Test(cfg_inc, include_bomb)
{
	struct cfg_tree t;
	char err[512], name[32], text[128];

	/* each level includes the next twice: 2^20 parses if nothing stops it */
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "b%d.conf", i);
		snprintf(text, sizeof(text), "include b%d.conf;\ninclude b%d.conf;\n", i + 1,
			 i + 1);
		free(dfile(name, text));
	}
	free(dfile("b20.conf", "\n"));
	cfg_tree_init(&t);
	cr_expect_eq(cfg_tree_parse_file(&t, dpath("b0.conf"), NULL, err, sizeof(err)), CFG_ELIMIT);
	cr_expect(strncmp(err, "too many included files (more than 65536) in ", 45) == 0, "%s",
		  err);
	cfg_tree_free(&t);

	/* a few big files included again and again: total bytes are bounded */
	{
		char *big = malloc((1 << 20) + 1);
		char *path, *inc = malloc(70 * 20 + 1);

		memset(big, ' ', 1 << 20);
		big[1 << 20] = '\0';
		free(dfile("big.conf", big));
		inc[0] = '\0';
		for (int i = 0; i < 70; i++)
			strcat(inc, "include big.conf;\n");
		path = dfile("many.conf", inc);
		cfg_tree_init(&t);
		cr_expect_eq(cfg_tree_parse_file(&t, path, NULL, err, sizeof(err)), CFG_ELIMIT);
		cr_expect(strncmp(err,
				  "configuration too large (more than 67108864 bytes in all "
				  "files) in ",
				  66) == 0,
			  "%s", err);
		cfg_tree_free(&t);
		free(path);
		free(inc);
		free(big);
	}
}

Test(cfg_inc, big_file)
{
	struct cfg_tree t;
	char err[512], *want;
	char *path = dfile("huge.conf", "");

	cr_assert_eq(truncate(path, CFG_MAX_FILE_SIZE + 1), 0);
	cfg_tree_init(&t);
	cr_expect_eq(cfg_tree_parse_file(&t, path, NULL, err, sizeof(err)), CFG_ELIMIT);
	cr_assert_neq(asprintf(&want,
			       "configuration file \"%s\" is too large (16777217 bytes, more "
			       "than 16777216)",
			       path),
		      -1);
	cr_expect_str_eq(err, want);
	free(want);
	cfg_tree_free(&t);
	free(path);
}

Test(cfg_inc, dump)
{
	struct cfg_tree t;
	char err[512];
	char *main_conf, *buf = NULL, *want;
	size_t len = 0;
	FILE *f;

	free(dfile("p.conf", "p;\n"));
	main_conf = dfile("main.conf", "include p.conf;\nhttp { include p.conf; }\n");
	cfg_tree_init(&t);
	cr_assert_eq(cfg_tree_parse_file(&t, main_conf, NULL, err, sizeof(err)), CFG_OK, "%s", err);
	cr_expect_eq(t.nfiles, 2);
	f = open_memstream(&buf, &len);
	cfg_tree_dump(&t, f);
	fclose(f);
	/* each file once, in first-open order, each followed by an extra "\n" */
	cr_assert_neq(asprintf(&want,
			       "# configuration file %s:\n"
			       "include p.conf;\nhttp { include p.conf; }\n\n"
			       "# configuration file %s:\n"
			       "p;\n\n",
			       main_conf, dpath("p.conf")),
		      -1);
	cr_expect_str_eq(buf, want);
	free(want);
	free(buf);
	cfg_tree_free(&t);
	free(main_conf);
}

/* ---- Debian's stock nginx.conf ------------------------------------------ */

/* /etc/nginx/nginx.conf as Debian's nginx 1.22 package installs it */
static const char stock_nginx_conf[] =
	"user www-data;\n"
	"worker_processes auto;\n"
	"pid /run/nginx.pid;\n"
	"error_log /var/log/nginx/error.log;\n"
	"include /etc/nginx/modules-enabled/*.conf;\n"
	"\n"
	"events {\n"
	"\tworker_connections 768;\n"
	"\t# multi_accept on;\n"
	"}\n"
	"\n"
	"http {\n"
	"\n"
	"\t##\n"
	"\t# Basic Settings\n"
	"\t##\n"
	"\n"
	"\tsendfile on;\n"
	"\ttcp_nopush on;\n"
	"\ttypes_hash_max_size 2048;\n"
	"\t# server_tokens off;\n"
	"\n"
	"\t# server_names_hash_bucket_size 64;\n"
	"\t# server_name_in_redirect off;\n"
	"\n"
	"\tinclude /etc/nginx/mime.types;\n"
	"\tdefault_type application/octet-stream;\n"
	"\n"
	"\t##\n"
	"\t# SSL Settings\n"
	"\t##\n"
	"\n"
	"\tssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; # Dropping SSLv3, ref: POODLE\n"
	"\tssl_prefer_server_ciphers on;\n"
	"\n"
	"\t##\n"
	"\t# Logging Settings\n"
	"\t##\n"
	"\n"
	"\taccess_log /var/log/nginx/access.log;\n"
	"\n"
	"\t##\n"
	"\t# Gzip Settings\n"
	"\t##\n"
	"\n"
	"\tgzip on;\n"
	"\n"
	"\t# gzip_vary on;\n"
	"\t# gzip_proxied any;\n"
	"\t# gzip_comp_level 6;\n"
	"\t# gzip_buffers 16 8k;\n"
	"\t# gzip_http_version 1.1;\n"
	"\t# gzip_types text/plain text/css application/json application/javascript "
	"text/xml application/xml application/xml+rss text/javascript;\n"
	"\n"
	"\t##\n"
	"\t# Virtual Host Configs\n"
	"\t##\n"
	"\n"
	"\tinclude /etc/nginx/conf.d/*.conf;\n"
	"\tinclude /etc/nginx/sites-enabled/*;\n"
	"}\n"
	"\n"
	"\n"
	"#mail {\n"
	"#\t# See sample authentication script at:\n"
	"#\t# http://wiki.nginx.org/ImapAuthenticateWithApachePhpScript\n"
	"#\n"
	"#\t# auth_http localhost/auth.php;\n"
	"#\t# pop3_capabilities \"TOP\" \"USER\";\n"
	"#\t# imap_capabilities \"IMAP4rev1\" \"UIDPLUS\";\n"
	"#\n"
	"#\tserver {\n"
	"#\t\tlisten     localhost:110;\n"
	"#\t\tprotocol   pop3;\n"
	"#\t\tproxy      on;\n"
	"#\t}\n"
	"#\n"
	"#\tserver {\n"
	"#\t\tlisten     localhost:143;\n"
	"#\t\tprotocol   imap;\n"
	"#\t\tproxy      on;\n"
	"#\t}\n"
	"#}\n";

/* replace_all - @s with every @from replaced by @to (malloc'd) */
static char *replace_all(const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	const char *p;
	char *out, *d;

	for (p = s; (p = strstr(p, from)); p += fl)
		n++;
	out = malloc(strlen(s) + n * tl + 1);
	for (d = out, p = s;;) {
		const char *hit = strstr(p, from);

		if (!hit) {
			strcpy(d, p);
			break;
		}
		memcpy(d, p, hit - p);
		d += hit - p;
		memcpy(d, to, tl);
		d += tl;
		p = hit + fl;
	}
	return out;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * Parse the machine's /etc/nginx, copied to a temp dir with its absolute
 * paths pointed there (so the live system is only read); without
 * /etc/nginx, a stand-in built from the stock text above.
 */
Test(cfg_inc, debian_stock)
{
	struct cfg_tree t;
	char err[512], *conf, *text, *prefix, *cmd, *buf = NULL, *want;
	const struct cfg_node *n, *events, *http, *types;
	size_t len = 0;
	FILE *f;

	cr_assert_neq(asprintf(&prefix, "%s/", tmp_dir), -1);
	text = slurp("/etc/nginx/nginx.conf");
	if (text) {
		cr_assert_neq(asprintf(&cmd, "cp -rL /etc/nginx/. '%s' 2>/dev/null", tmp_dir), -1);
		(void)!system(cmd);
		free(cmd);
	} else {
		text = strdup(stock_nginx_conf);
		dsubdir("modules-enabled");
		dsubdir("conf.d");
		dsubdir("sites-enabled");
		free(dfile("mime.types",
			   "\ntypes {\n    text/html                             html "
			   "htm shtml;\n    text/css css;\n}\n"));
	}
	conf = replace_all(text, "/etc/nginx/", prefix);
	free(dfile("nginx.conf", conf));

	cfg_tree_init(&t);
	cr_assert_eq(cfg_tree_parse_file(&t, dpath("nginx.conf"), NULL, err, sizeof(err)), CFG_OK,
		     "%s", err);
	n = child(&t.root, "user");
	cr_assert_not_null(n);
	cr_expect_eq(n->nargs, 1);
	cr_expect_str_eq(n->args[0], "www-data");
	n = child(&t.root, "worker_processes");
	cr_assert_not_null(n);
	cr_expect_str_eq(n->args[0], "auto");
	events = child(&t.root, "events");
	cr_assert_not_null(events);
	cr_expect(events->block);
	n = child(events, "worker_connections");
	cr_assert_not_null(n);
	cr_expect_str_eq(n->args[0], "768");
	cr_expect_eq(n->line, 8);
	http = child(&t.root, "http");
	cr_assert_not_null(http);
	n = child(http, "ssl_protocols");
	cr_assert_not_null(n);
	cr_expect_eq(n->nargs, 4);
	cr_expect_str_eq(n->args[3], "TLSv1.3");
	n = child(http, "default_type");
	cr_assert_not_null(n);
	cr_expect_str_eq(n->args[0], "application/octet-stream");
	/* mime.types expanded in place: a types block from another file */
	types = child(http, "types");
	cr_assert_not_null(types);
	cr_expect_str_eq(types->file, dpath("mime.types"));
	n = child(types, "text/html");
	cr_assert_not_null(n);
	cr_expect_str_eq(n->args[0], "html");
	cr_expect_not(has_include(&t.root));
	cr_expect_null(child(&t.root, "mail"), "the commented-out mail block stays a comment");

	/* the dump starts with the main file, verbatim */
	f = open_memstream(&buf, &len);
	cfg_tree_dump(&t, f);
	fclose(f);
	cr_assert_neq(asprintf(&want, "# configuration file %s:\n%s\n", dpath("nginx.conf"), conf),
		      -1);
	cr_expect(strncmp(buf, want, strlen(want)) == 0);
	free(want);
	free(buf);
	cfg_tree_free(&t);
	free(conf);
	free(text);
	free(prefix);
}
