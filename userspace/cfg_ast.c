/* SPDX-License-Identifier: MIT */
/*
 * Configuration reader: nginx configuration text to a syntax tree.
 *
 * The lexer reproduces nginx 1.22's ngx_conf_read_token() state by state,
 * because users compare our errors with nginx's: the same input must fail
 * at the same byte with the same words. That includes its quirks: a word
 * is only "quoted" if the quote opens it; "${" does not end a word; a
 * closing quote must be followed by blank, ";", "{" or ")"; a comment is
 * a word for the 4 KiB limit ("too long parameter \"#...\" started"); a
 * backslash escapes the next byte while scanning and only \" \' \\ \t \r
 * \n are rewritten when the word is copied.
 *
 * The parser mirrors ngx_conf_parse(): a file, a block and -g text differ
 * only in what ends them. `include` is handled here (it is the one
 * directive every context has): the named files are parsed into the
 * current block in place; in map and geo blocks only a two-word one, in
 * split_clients none, as their nginx handlers read it. Each file is read once, whole, into memory and
 * kept for `lbd -T`. Nodes and strings go into an arena owned by the tree;
 * the per-block vectors used while parsing are copied there when the
 * block closes.
 */
#include "cfg_ast.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_CHUNK_SIZE (64 * 1024) /* arena chunk; larger requests get their own */

/* struct cfg_chunk - one arena block; the newest is first. */
struct cfg_chunk {
	struct cfg_chunk *next; /* older chunk */
	size_t size;		/* usable bytes in data */
	size_t used;		/* bytes handed out from data */
	max_align_t data[];	/* storage, aligned for any type */
};

/* What ended the words collected by lex_directive(). */
enum lex_end {
	LEX_SEMI,  /* ";": a simple directive */
	LEX_OPEN,  /* "{": a block directive, contents follow */
	LEX_CLOSE, /* "}" with no words before it */
	LEX_EOF,   /* end of text with no words pending */
};

/* What is being parsed: decides what may end it (ngx_conf_parse's type). */
enum parse_ctx {
	PARSE_FILE,  /* a file: ends at EOF, "}" is an error */
	PARSE_BLOCK, /* inside { }: ends at "}", EOF is an error */
	PARSE_PARAM, /* -g text: ends at EOF, blocks refused */
};

/* struct cfg_lexer - position in one text (a file or the -g string). */
struct cfg_lexer {
	const char *buf;  /* text */
	size_t len;	  /* bytes in buf */
	size_t pos;	  /* next byte to read */
	int line;	  /* line of buf[pos] (counts "\n" read so far, from 1) */
	const char *file; /* interned path for messages; NULL = command line */
};

/* struct node_vec - growable node array for the block being parsed. */
struct node_vec {
	struct cfg_node *v; /* nodes */
	size_t n;	    /* used */
	size_t cap;	    /* allocated */
};

/* struct cfg_parser - state of one cfg_tree_parse_* call. */
struct cfg_parser {
	struct cfg_tree *t;    /* tree receiving nodes and files */
	char *prefix;	       /* include base, "" or ending in '/'; NULL = no include */
	char *err;	       /* caller's message buffer (may be NULL) */
	size_t errlen;	       /* its size */
	char *text;	       /* words of the current directive, unescaped, NUL-separated */
	size_t textlen;	       /* bytes used in text */
	size_t textcap;	       /* bytes allocated for text */
	size_t *off;	       /* offset in text of each word */
	unsigned char *quoted; /* per word: opened by a quote */
	size_t nwords;	       /* words collected */
	size_t wordcap;	       /* entries allocated in off and quoted */
	int first_line;	       /* line where the first word started */
	int include_depth;     /* files open inside each other */
	int block_depth;       /* blocks open, across files */
	int inc;	       /* INC_*: what `include` is in the innermost block */
};

/* What `include` is inside a block. nginx reads map, geo and split_clients
 * blocks with a handler of their own, which sees `include` as one more
 * line: map and geo take a two-word one as an include (any other is a bad
 * line of theirs), split_clients has none (a bad percent). */
enum {
	INC_ALL,       /* every block: the directive */
	INC_TWO_WORDS, /* map, geo: `include FILE;` only */
	INC_NONE,      /* split_clients: a line of the block */
};

/*
 * arena_alloc - @size bytes, aligned for any type, that live until
 * cfg_tree_free(). Returns NULL when out of memory.
 */
static void *arena_alloc(struct cfg_tree *t, size_t size)
{
	const size_t align = _Alignof(max_align_t);
	struct cfg_chunk *c = t->chunks;
	void *p;

	size = (size + align - 1) & ~(align - 1);
	if (size == 0)
		size = align;
	if (!c || c->size - c->used < size) {
		size_t want = size > CFG_CHUNK_SIZE / 4 ? size : CFG_CHUNK_SIZE;

		c = malloc(sizeof(*c) + want);
		if (!c)
			return NULL;
		c->size = want;
		c->used = 0;
		if (want == size && t->chunks) {
			/* a big request must not strand the free room of the current chunk */
			c->next = t->chunks->next;
			t->chunks->next = c;
		} else {
			c->next = t->chunks;
			t->chunks = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += size;
	return p;
}

/*
 * cfg_error - write a message to the caller's buffer, with nginx's location
 * suffix for @lx (none when @lx is NULL: nginx reports a failure to open
 * the main file bare). Returns @rc.
 */
static int cfg_error(struct cfg_parser *p, const struct cfg_lexer *lx, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int cfg_error(struct cfg_parser *p, const struct cfg_lexer *lx, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || p->errlen == 0)
		return rc;
	va_start(ap, fmt);
	n = vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= p->errlen || !lx)
		return rc;
	if (lx->file)
		snprintf(p->err + n, p->errlen - n, " in %s:%d", lx->file, lx->line);
	else
		snprintf(p->err + n, p->errlen - n, " in command line");
	return rc;
}

static int nomem(struct cfg_parser *p)
{
	return cfg_error(p, NULL, CFG_ENOMEM, "out of memory while reading the configuration");
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/*
 * push_word - copy buf[start, stop) of @lx as the next word, rewriting the
 * escapes nginx rewrites (\" \' \\ \t \r \n); any other backslash stays.
 */
static int push_word(struct cfg_parser *p, const struct cfg_lexer *lx, size_t start, size_t stop,
		     bool quoted, int line)
{
	const char *s = lx->buf + start, *e = lx->buf + stop;
	char *d;

	if (p->nwords >= CFG_MAX_ARGS)
		return cfg_error(p, lx, CFG_ELIMIT, "too many parameters (more than %d)",
				 CFG_MAX_ARGS - 1);
	if (p->nwords == p->wordcap) {
		size_t cap = p->wordcap ? p->wordcap * 2 : 16;
		size_t *off = realloc(p->off, cap * sizeof(*off));
		unsigned char *q;

		if (!off)
			return nomem(p);
		p->off = off;
		q = realloc(p->quoted, cap);
		if (!q)
			return nomem(p);
		p->quoted = q;
		p->wordcap = cap;
	}
	if (p->textcap - p->textlen < stop - start + 1) {
		size_t cap = p->textcap ? p->textcap : 256;
		char *text;

		while (cap - p->textlen < stop - start + 1)
			cap *= 2;
		text = realloc(p->text, cap);
		if (!text)
			return nomem(p);
		p->text = text;
		p->textcap = cap;
	}

	d = p->text + p->textlen;
	while (s < e) {
		if (*s == '\\' && s + 1 < e) {
			switch (s[1]) {
			case '"':
			case '\'':
			case '\\':
				s++;
				break;
			case 't':
				*d++ = '\t';
				s += 2;
				continue;
			case 'r':
				*d++ = '\r';
				s += 2;
				continue;
			case 'n':
				*d++ = '\n';
				s += 2;
				continue;
			default:
				break;
			}
		}
		*d++ = *s++;
	}
	*d++ = '\0';

	if (p->nwords == 0)
		p->first_line = line;
	p->off[p->nwords] = p->textlen;
	p->quoted[p->nwords] = quoted;
	p->nwords++;
	p->textlen = d - p->text;
	return CFG_OK;
}

/*
 * lex_directive - collect the words of the next directive of @lx into
 * p->text and report in @end what ended them. Mirrors ngx_conf_read_token()
 * including its error texts and the line each is reported on.
 */
static int lex_directive(struct cfg_parser *p, struct cfg_lexer *lx, enum lex_end *end)
{
	bool after_blank = true; /* the next byte may start a word */
	bool need_blank = false; /* a quoted word just closed */
	bool comment = false;	 /* skipping to end of line */
	bool escaped = false;	 /* previous byte was a backslash */
	bool dollar = false;	 /* inside "$...": a "{" does not end the word */
	char quote = 0;		 /* '"' or '\'' while inside a quoted word */
	size_t start = lx->pos;	 /* first byte of the current word (or comment) */
	int start_line = lx->line;
	int rc;

	p->nwords = 0;
	p->textlen = 0;

	for (;;) {
		char ch;

		if (lx->pos >= lx->len) {
			if (p->nwords > 0 || !after_blank) {
				if (!lx->file)
					return cfg_error(
						p, lx, CFG_ESYNTAX,
						"unexpected end of parameter, expecting \";\"");
				return cfg_error(
					p, lx, CFG_ESYNTAX,
					"unexpected end of file, expecting \";\" or \"}\"");
			}
			*end = LEX_EOF;
			return CFG_OK;
		}

		/*
		 * nginx reads files through a 4 KiB buffer and fails when one
		 * word (or comment) fills it while more of the file remains;
		 * -g text sits in memory whole and has no such limit.
		 */
		if (lx->file && lx->pos - start >= CFG_MAX_TOKEN) {
			lx->line = start_line;
			if (quote)
				return cfg_error(p, lx, CFG_ESYNTAX,
						 "too long parameter, probably missing terminating "
						 "\"%c\" character",
						 quote);
			return cfg_error(p, lx, CFG_ESYNTAX,
					 "too long parameter \"%.*s...\" started", 10,
					 lx->buf + start);
		}

		ch = lx->buf[lx->pos++];
		if (ch == '\n') {
			lx->line++;
			comment = false;
		}
		if (comment)
			continue;
		if (ch == '\0')
			return cfg_error(p, lx, CFG_ESYNTAX, "unexpected NUL byte");
		if (escaped) {
			escaped = false;
			continue;
		}

		if (need_blank) {
			if (is_blank(ch)) {
				after_blank = true;
				need_blank = false;
				continue;
			}
			if (ch == ';') {
				*end = LEX_SEMI;
				return CFG_OK;
			}
			if (ch == '{') {
				*end = LEX_OPEN;
				return CFG_OK;
			}
			/* nginx lets `if ($a = "b")` close a quoted word with ")" */
			if (ch != ')')
				return cfg_error(p, lx, CFG_ESYNTAX, "unexpected \"%c\"", ch);
			after_blank = true;
			need_blank = false;
		}

		if (after_blank) {
			start = lx->pos - 1;
			start_line = lx->line;
			if (is_blank(ch))
				continue;
			switch (ch) {
			case ';':
			case '{':
				if (p->nwords == 0)
					return cfg_error(p, lx, CFG_ESYNTAX, "unexpected \"%c\"",
							 ch);
				*end = ch == '{' ? LEX_OPEN : LEX_SEMI;
				return CFG_OK;
			case '}':
				if (p->nwords != 0)
					return cfg_error(p, lx, CFG_ESYNTAX, "unexpected \"}\"");
				*end = LEX_CLOSE;
				return CFG_OK;
			case '#':
				comment = true;
				continue;
			case '\\':
				escaped = true;
				break;
			case '"':
			case '\'':
				start++;
				quote = ch;
				break;
			case '$':
				dollar = true;
				break;
			default:
				break;
			}
			after_blank = false;
			continue;
		}

		if (ch == '{' && dollar)
			continue;
		dollar = false;
		if (ch == '\\') {
			escaped = true;
			continue;
		}
		if (ch == '$') {
			dollar = true;
			continue;
		}

		if (quote) {
			if (ch != quote)
				continue;
			quote = 0;
			need_blank = true;
			rc = push_word(p, lx, start, lx->pos - 1, true, start_line);
			if (rc)
				return rc;
			continue;
		}
		if (!is_blank(ch) && ch != ';' && ch != '{')
			continue;

		after_blank = true;
		rc = push_word(p, lx, start, lx->pos - 1, false, start_line);
		if (rc)
			return rc;
		if (ch == ';') {
			*end = LEX_SEMI;
			return CFG_OK;
		}
		if (ch == '{') {
			*end = LEX_OPEN;
			return CFG_OK;
		}
	}
}

static int vec_push(struct cfg_parser *p, struct node_vec *vec, const struct cfg_node *n)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 8;
		struct cfg_node *v = realloc(vec->v, cap * sizeof(*v));

		if (!v)
			return nomem(p);
		vec->v = v;
		vec->cap = cap;
	}
	vec->v[vec->n++] = *n;
	return CFG_OK;
}

/* add_node - turn the collected words into a node appended to @out. */
static int add_node(struct cfg_parser *p, const struct cfg_lexer *lx, enum lex_end end,
		    struct node_vec *out)
{
	struct cfg_tree *t = p->t;
	struct cfg_node n = {0};
	char *text;
	size_t i;

	if (t->nnodes >= CFG_MAX_NODES)
		return cfg_error(p, lx, CFG_ELIMIT, "too many directives (more than %u)",
				 CFG_MAX_NODES);
	text = arena_alloc(t, p->textlen);
	if (!text)
		return nomem(p);
	memcpy(text, p->text, p->textlen);
	n.name = text;
	n.nargs = p->nwords - 1;
	if (n.nargs) {
		n.args = arena_alloc(t, n.nargs * sizeof(*n.args));
		n.quoted = arena_alloc(t, n.nargs);
		if (!n.args || !n.quoted)
			return nomem(p);
		for (i = 0; i < n.nargs; i++) {
			n.args[i] = text + p->off[i + 1];
			n.quoted[i] = p->quoted[i + 1];
		}
	}
	n.file = lx->file;
	n.line = p->first_line;
	n.end_line = lx->line;
	n.block = end == LEX_OPEN;
	t->nnodes++;
	return vec_push(p, out, &n);
}

/*
 * file_read - read the whole file @path and add it to the tree's file list
 * (*@out). Errors use nginx's words (open(), fstat(), pread()) located at
 * @lx, the including directive; over CFG_MAX_FILE_SIZE is CFG_ELIMIT.
 */
static int file_read(struct cfg_parser *p, const struct cfg_lexer *lx, const char *path,
		     struct cfg_file **out)
{
	struct cfg_tree *t = p->t;
	struct cfg_file *f = NULL;
	struct stat st;
	size_t size, got = 0;
	char *text = NULL;
	int fd, rc;

	/* O_NONBLOCK: a FIFO named by mistake must not hang start-up */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1)
		return cfg_error(p, lx, CFG_EFILE, "open() \"%s\" failed (%d: %s)", path, errno,
				 strerror(errno));
	if (fstat(fd, &st) == -1) {
		rc = cfg_error(p, lx, CFG_EFILE, "fstat() \"%s\" failed (%d: %s)", path, errno,
			       strerror(errno));
		goto out;
	}
	if (st.st_size > (off_t)CFG_MAX_FILE_SIZE) {
		rc = cfg_error(p, lx, CFG_ELIMIT,
			       "configuration file \"%s\" is too large (%lld bytes, more than %u)",
			       path, (long long)st.st_size, CFG_MAX_FILE_SIZE);
		goto out;
	}
	size = st.st_size > 0 ? (size_t)st.st_size : 0;
	text = malloc(size + 1);
	if (!text) {
		rc = nomem(p);
		goto out;
	}
	while (got < size) {
		ssize_t n = pread(fd, text + got, size - got, (off_t)got);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = cfg_error(p, lx, CFG_EFILE, "pread() \"%s\" failed (%d: %s)", path,
				       errno, strerror(errno));
			goto out;
		}
		if (n == 0) {
			rc = cfg_error(p, lx, CFG_EFILE,
				       "pread() returned only %zu bytes instead of %zu", got, size);
			goto out;
		}
		got += n;
	}
	text[size] = '\0';

	if (t->nfiles == t->files_cap) {
		size_t cap = t->files_cap ? t->files_cap * 2 : 8;
		struct cfg_file **files = realloc(t->files, cap * sizeof(*files));

		if (!files) {
			rc = nomem(p);
			goto out;
		}
		t->files = files;
		t->files_cap = cap;
	}
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path))) {
		rc = nomem(p);
		goto out;
	}
	f->text = text;
	f->len = size;
	text = NULL;
	t->files[t->nfiles++] = f;
	*out = f;
	f = NULL;
	rc = CFG_OK;
out:
	if (f)
		free(f->path);
	free(f);
	free(text);
	close(fd);
	return rc;
}

static int parse_body(struct cfg_parser *p, struct cfg_lexer *lx, enum parse_ctx ctx,
		      struct node_vec *out);

/*
 * parse_text - parse @f (already read) as a file into @out. @from is the
 * lexer of the including directive, for limit messages (NULL at the top).
 */
static int parse_text(struct cfg_parser *p, const struct cfg_lexer *from, const struct cfg_file *f,
		      struct node_vec *out)
{
	struct cfg_tree *t = p->t;
	struct cfg_lexer lx = {.buf = f->text, .len = f->len, .line = 1, .file = f->path};
	int rc;

	if (t->nparses >= CFG_MAX_INCLUDE_FILES)
		return cfg_error(p, from, CFG_ELIMIT, "too many included files (more than %u)",
				 CFG_MAX_INCLUDE_FILES);
	if (f->len > CFG_MAX_TOTAL_BYTES - t->total_bytes)
		return cfg_error(p, from, CFG_ELIMIT,
				 "configuration too large (more than %u bytes in all files)",
				 CFG_MAX_TOTAL_BYTES);
	t->nparses++;
	t->total_bytes += f->len;

	p->include_depth++;
	rc = parse_body(p, &lx, PARSE_FILE, out);
	p->include_depth--;
	return rc;
}

/*
 * include_file - parse the file at @path into @out. A file already read is
 * parsed again from memory (nginx rereads it; the text is the same and the
 * dump lists it once either way).
 */
static int include_file(struct cfg_parser *p, const struct cfg_lexer *from, const char *path,
			struct node_vec *out)
{
	struct cfg_tree *t = p->t;
	struct cfg_file *f = NULL;
	size_t i;
	int rc;

	/* nginx has no limit and dies of stack overflow on `include self;` */
	if (p->include_depth >= CFG_MAX_INCLUDE_DEPTH)
		return cfg_error(p, from, CFG_ELIMIT,
				 "include of \"%s\" nested too deep (more than %d levels)", path,
				 CFG_MAX_INCLUDE_DEPTH);
	for (i = 0; i < t->nfiles && !f; i++)
		if (strcmp(t->files[i]->path, path) == 0)
			f = t->files[i];
	if (!f) {
		rc = file_read(p, from, path, &f);
		if (rc)
			return rc;
	}
	return parse_text(p, from, f, out);
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * parse_include - handle `include PATTERN;` (words already collected):
 * resolve against the prefix, expand a glob in byte order (what nginx gets
 * from glob(3) in the C locale; a pattern matching nothing is fine), and
 * parse each file into @out in place of the directive.
 */
static int parse_include(struct cfg_parser *p, struct cfg_lexer *lx, enum lex_end end,
			 struct node_vec *out)
{
	const char *arg;
	char *path;
	glob_t gl;
	size_t i;
	int rc;

	if (end != LEX_SEMI)
		return cfg_error(p, lx, CFG_ESYNTAX,
				 "directive \"include\" is not terminated by \";\"");
	if (p->nwords != 2)
		return cfg_error(p, lx, CFG_ESYNTAX,
				 "invalid number of arguments in \"include\" directive");
	if (!p->prefix)
		return cfg_error(p, lx, CFG_ESYNTAX, "\"include\" directive is not allowed here");

	/* copy now: parsing the included file reuses p->text */
	arg = p->text + p->off[1];
	if (arg[0] == '/')
		path = strdup(arg);
	else if (asprintf(&path, "%s%s", p->prefix, arg) == -1)
		path = NULL;
	if (!path)
		return nomem(p);

	if (!strpbrk(path, "*?[")) {
		rc = include_file(p, lx, path, out);
		free(path);
		return rc;
	}

	rc = glob(path, GLOB_NOSORT, NULL, &gl);
	if (rc == GLOB_NOMATCH) {
		free(path);
		return CFG_OK;
	}
	if (rc == GLOB_NOSPACE) {
		free(path);
		return nomem(p);
	}
	if (rc != 0) {
		rc = cfg_error(p, lx, CFG_EFILE, "glob() \"%s\" failed (%d: %s)", path, errno,
			       strerror(errno));
		free(path);
		return rc;
	}
	qsort(gl.gl_pathv, gl.gl_pathc, sizeof(*gl.gl_pathv), cmp_path);
	rc = CFG_OK;
	for (i = 0; i < gl.gl_pathc && rc == CFG_OK; i++)
		rc = include_file(p, lx, gl.gl_pathv[i], out);
	globfree(&gl);
	free(path);
	return rc;
}

/* parse_block - parse the contents of the block just opened as out->v[idx]. */
static int parse_block(struct cfg_parser *p, struct cfg_lexer *lx, struct node_vec *out, size_t idx)
{
	struct node_vec kids = {0};
	struct cfg_node *n;
	int rc, saved_inc;

	if (p->block_depth >= CFG_MAX_BLOCK_DEPTH)
		return cfg_error(p, lx, CFG_ELIMIT, "blocks nested too deep (more than %d levels)",
				 CFG_MAX_BLOCK_DEPTH);
	saved_inc = p->inc;
	p->inc = INC_ALL;
	if (strcmp(out->v[idx].name, "map") == 0 || strcmp(out->v[idx].name, "geo") == 0)
		p->inc = INC_TWO_WORDS;
	else if (strcmp(out->v[idx].name, "split_clients") == 0)
		p->inc = INC_NONE;
	p->block_depth++;
	rc = parse_body(p, lx, PARSE_BLOCK, &kids);
	p->block_depth--;
	p->inc = saved_inc;
	if (rc)
		goto out;

	n = &out->v[idx];
	n->close_line = lx->line;
	n->nchildren = kids.n;
	if (kids.n) {
		n->children = arena_alloc(p->t, kids.n * sizeof(*kids.v));
		if (!n->children) {
			rc = nomem(p);
			goto out;
		}
		memcpy(n->children, kids.v, kids.n * sizeof(*kids.v));
	}
out:
	free(kids.v);
	return rc;
}

/* parse_body - the ngx_conf_parse() loop: directives until @ctx's end. */
static int parse_body(struct cfg_parser *p, struct cfg_lexer *lx, enum parse_ctx ctx,
		      struct node_vec *out)
{
	for (;;) {
		enum lex_end end = LEX_EOF;
		int rc = lex_directive(p, lx, &end);

		if (rc)
			return rc;
		if (end == LEX_CLOSE) {
			if (ctx != PARSE_BLOCK)
				return cfg_error(p, lx, CFG_ESYNTAX, "unexpected \"}\"");
			return CFG_OK;
		}
		if (end == LEX_EOF) {
			if (ctx == PARSE_BLOCK)
				return cfg_error(p, lx, CFG_ESYNTAX,
						 "unexpected end of file, expecting \"}\"");
			return CFG_OK;
		}
		if (end == LEX_OPEN && ctx == PARSE_PARAM)
			return cfg_error(p, lx, CFG_ESYNTAX,
					 "block directives are not supported in -g option");

		if (strcmp(p->text, "include") == 0 && p->inc != INC_NONE &&
		    (p->inc == INC_ALL || p->nwords == 2)) {
			rc = parse_include(p, lx, end, out);
		} else {
			rc = add_node(p, lx, end, out);
			if (!rc && end == LEX_OPEN)
				rc = parse_block(p, lx, out, out->n - 1);
		}
		if (rc)
			return rc;
	}
}

/* root_append - add a whole successful parse to the main context. */
static int root_append(struct cfg_parser *p, struct node_vec *top)
{
	struct cfg_tree *t = p->t;
	struct cfg_node *root = &t->root;

	if (top->n == 0)
		return CFG_OK;
	if (t->root_cap - root->nchildren < top->n) {
		size_t cap = t->root_cap ? t->root_cap : 8;
		struct cfg_node *v;

		while (cap - root->nchildren < top->n)
			cap *= 2;
		v = realloc(root->children, cap * sizeof(*v));
		if (!v)
			return nomem(p);
		root->children = v;
		t->root_cap = cap;
	}
	memcpy(root->children + root->nchildren, top->v, top->n * sizeof(*top->v));
	root->nchildren += top->n;
	return CFG_OK;
}

/*
 * parser_init - set up @p; @prefix NULL forbids include, otherwise it gets
 * a trailing '/' unless empty (empty = relative to the working directory).
 */
static int parser_init(struct cfg_parser *p, struct cfg_tree *t, const char *prefix, size_t plen,
		       char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->err = err;
	p->errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	if (!prefix)
		return CFG_OK;
	p->prefix = malloc(plen + 2);
	if (!p->prefix)
		return nomem(p);
	memcpy(p->prefix, prefix, plen);
	if (plen && prefix[plen - 1] != '/')
		p->prefix[plen++] = '/';
	p->prefix[plen] = '\0';
	return CFG_OK;
}

static void parser_fini(struct cfg_parser *p)
{
	free(p->prefix);
	free(p->text);
	free(p->off);
	free(p->quoted);
}

void cfg_tree_init(struct cfg_tree *t)
{
	memset(t, 0, sizeof(*t));
}

int cfg_tree_parse_file(struct cfg_tree *t, const char *path, const char *conf_prefix, char *err,
			size_t errlen)
{
	struct cfg_parser p;
	struct node_vec top = {0};
	const char *slash;
	int rc;

	if (conf_prefix) {
		rc = parser_init(&p, t, conf_prefix, strlen(conf_prefix), err, errlen);
	} else {
		slash = strrchr(path, '/');
		rc = parser_init(&p, t, path, slash ? (size_t)(slash - path + 1) : 0, err, errlen);
	}
	if (!rc)
		rc = include_file(&p, NULL, path, &top);
	if (!rc)
		rc = root_append(&p, &top);
	free(top.v);
	parser_fini(&p);
	return rc;
}

int cfg_tree_parse_mem(struct cfg_tree *t, const char *text, size_t len, const char *name,
		       const char *conf_prefix, char *err, size_t errlen)
{
	struct cfg_parser p;
	struct node_vec top = {0};
	struct cfg_file *f = NULL;
	int rc;

	rc = parser_init(&p, t, conf_prefix, conf_prefix ? strlen(conf_prefix) : 0, err, errlen);
	if (rc)
		goto out;
	if (len > CFG_MAX_FILE_SIZE) {
		rc = cfg_error(&p, NULL, CFG_ELIMIT,
			       "configuration text is too large (%zu bytes, more than %u)", len,
			       CFG_MAX_FILE_SIZE);
		goto out;
	}

	if (!name) {
		struct cfg_lexer lx = {.buf = text, .len = len, .line = 1, .file = NULL};

		rc = parse_body(&p, &lx, PARSE_PARAM, &top);
	} else {
		/* the text is registered like a file so that the dump shows it */
		if (t->nfiles == t->files_cap) {
			size_t cap = t->files_cap ? t->files_cap * 2 : 8;
			struct cfg_file **files = realloc(t->files, cap * sizeof(*files));

			if (!files) {
				rc = nomem(&p);
				goto out;
			}
			t->files = files;
			t->files_cap = cap;
		}
		f = calloc(1, sizeof(*f));
		if (!f || !(f->path = strdup(name)) || !(f->text = malloc(len + 1))) {
			if (f)
				free(f->path);
			free(f);
			rc = nomem(&p);
			goto out;
		}
		memcpy(f->text, text, len);
		f->text[len] = '\0';
		f->len = len;
		t->files[t->nfiles++] = f;
		rc = parse_text(&p, NULL, f, &top);
	}
	if (!rc)
		rc = root_append(&p, &top);
out:
	free(top.v);
	parser_fini(&p);
	return rc;
}

int cfg_tree_parse_string(struct cfg_tree *t, const char *text, const char *name,
			  const char *conf_prefix, char *err, size_t errlen)
{
	return cfg_tree_parse_mem(t, text, strlen(text), name, conf_prefix, err, errlen);
}

void cfg_tree_dump(const struct cfg_tree *t, FILE *out)
{
	size_t i;

	for (i = 0; i < t->nfiles; i++) {
		fprintf(out, "# configuration file %s:\n", t->files[i]->path);
		fwrite(t->files[i]->text, 1, t->files[i]->len, out);
		fputc('\n', out);
	}
}

void cfg_tree_free(struct cfg_tree *t)
{
	struct cfg_chunk *c, *next;
	size_t i;

	for (c = t->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	for (i = 0; i < t->nfiles; i++) {
		free(t->files[i]->path);
		free(t->files[i]->text);
		free(t->files[i]);
	}
	free(t->files);
	free(t->root.children);
	cfg_tree_init(t);
}

int cfg_node_error(const struct cfg_node *n, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (!err || errlen == 0)
		return CFG_EINVAL;
	va_start(ap, fmt);
	len = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= errlen)
		return CFG_EINVAL;
	if (n->file)
		snprintf(err + len, errlen - len, " in %s:%d", n->file, n->end_line);
	else
		snprintf(err + len, errlen - len, " in command line");
	return CFG_EINVAL;
}
