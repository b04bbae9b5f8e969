/* SPDX-License-Identifier: MIT */
/*
 * Configuration reader: the nginx configuration language turned into a
 * syntax tree. This module owns the lexer (tokens, quotes, escapes,
 * comments), the block structure, `include` (expanded in place, globs in
 * sorted order), the list of files read (what `lbd -T` prints) and the
 * exact wording of nginx 1.22's syntax errors. It knows nothing of what a
 * directive means: a later stage walks the tree with the directive tables.
 *
 * Every string in the tree lives in an arena owned by the tree; nothing is
 * freed before cfg_tree_free(). Errors are written to a caller buffer with
 * nginx's words and location (" in FILE:LINE", or " in command line" for
 * -g text), without the "nginx: [emerg] " prefix.
 */
#ifndef LBD_CFG_AST_H
#define LBD_CFG_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Limits. CFG_MAX_TOKEN is nginx's own (its 4 KiB read buffer: a token or a
 * comment that fills it is "too long parameter"); the others are ours, so
 * that no input can exhaust memory or the stack.
 */
#define CFG_MAX_TOKEN	      4096	  /* bytes a token may span in a file */
#define CFG_MAX_FILE_SIZE     (16u << 20) /* bytes in one file */
#define CFG_MAX_TOTAL_BYTES   (64u << 20) /* bytes parsed, repeats included */
#define CFG_MAX_ARGS	      8192	  /* words in one directive, name included */
#define CFG_MAX_BLOCK_DEPTH   100	  /* nested { } across files */
#define CFG_MAX_INCLUDE_DEPTH 32	  /* files open inside each other */
#define CFG_MAX_NODES	      (1u << 20)  /* directives in one tree */
#define CFG_MAX_INCLUDE_FILES (1u << 16)  /* file parses, repeats included */

/*
 * enum cfg_rc - what the cfg_ functions return. Negative, so that callers
 * may test `rc < 0`; err always says more.
 */
enum cfg_rc {
	CFG_OK = 0,	     /* parsed */
	CFG_ESYNTAX = -1001, /* the text breaks the language (or `include` misused) */
	CFG_EFILE = -1002,   /* a file could not be opened, read or globbed */
	CFG_ELIMIT = -1003,  /* one of the CFG_MAX_ limits was hit */
	CFG_ENOMEM = -1004,  /* out of memory */
	CFG_EINVAL = -1005,  /* a directive was rejected (see cfg_node_error()) */
};

/*
 * struct cfg_node - one directive: words up to ";" or "{", and for a block
 * its contents. Includes are already replaced by the directives of the
 * files they name; no node is ever named "include".
 */
struct cfg_node {
	const char *name;	   /* first word, quotes removed, escapes done */
	char **args;		   /* the other words, processed the same way */
	unsigned char *quoted;	   /* per arg: 1 if written "..." or '...' */
	size_t nargs;		   /* entries in args and quoted */
	const char *file;	   /* interned path it came from; NULL = -g text */
	int line;		   /* line of the first character of the name */
	int end_line;		   /* line of the ";" or "{" (where nginx reports errors) */
	int close_line;		   /* blocks: line of the "}" (0 otherwise) */
	bool block;		   /* ended by "{" ... "}" (maybe empty) */
	struct cfg_node *children; /* block contents, in order */
	size_t nchildren;	   /* entries in children */
};

/* struct cfg_file - one file read, in the order nginx would dump it. */
struct cfg_file {
	char *path; /* as opened: prefix + name, or glob result */
	char *text; /* whole contents, NUL added after len bytes */
	size_t len; /* bytes in text */
};

struct cfg_chunk;

/*
 * struct cfg_tree - a parsed configuration. Zeroed (or cfg_tree_init())
 * it is empty; each parse call appends to root.children, so -g text then
 * the main file build one main context, as nginx does.
 */
struct cfg_tree {
	struct cfg_node root;	  /* only root.children, the main context, is used */
	size_t root_cap;	  /* allocated entries of root.children */
	struct cfg_file **files;  /* files read, each once, in first-open order */
	size_t nfiles;		  /* entries in files */
	size_t files_cap;	  /* allocated entries of files */
	struct cfg_chunk *chunks; /* arena holding every node and string */
	size_t nnodes;		  /* directives so far (CFG_MAX_NODES) */
	size_t nparses;		  /* file parses so far (CFG_MAX_INCLUDE_FILES) */
	size_t total_bytes;	  /* bytes parsed so far (CFG_MAX_TOTAL_BYTES) */
};

/* cfg_tree_init - make @t an empty tree (the same as zeroing it). */
void cfg_tree_init(struct cfg_tree *t);

/*
 * cfg_tree_parse_file - read the configuration file @path (and everything
 * it includes) and append its directives to @t's main context.
 *
 * @conf_prefix: directory that relative `include` paths resolve against;
 * nginx uses the directory of the main file (even with -p), which is what
 * NULL gives. A missing trailing '/' is added.
 * Returns CFG_OK, or a negative enum cfg_rc with the message in @err (a
 * failure to open @path itself carries no location, as in nginx). On
 * error the main context is left as it was, but @t must still be freed.
 */
int cfg_tree_parse_file(struct cfg_tree *t, const char *path, const char *conf_prefix, char *err,
			size_t errlen);

/*
 * cfg_tree_parse_mem - parse @len bytes of @text and append them to @t's
 * main context.
 *
 * @name: non-NULL: the text behaves as a file of that name (errors say
 * "in NAME:LINE", the token length limit applies, it is listed for the
 * dump). NULL: the text is nginx's -g parameter ("in command line",
 * "block directives are not supported in -g option", no length limit, not
 * dumped). @conf_prefix: as for cfg_tree_parse_file(); NULL forbids
 * `include` ("\"include\" directive is not allowed here"), which keeps
 * fuzzing away from the filesystem.
 * A NUL byte outside a comment is an error (nginx would silently cut the
 * word there). Returns as cfg_tree_parse_file().
 */
int cfg_tree_parse_mem(struct cfg_tree *t, const char *text, size_t len, const char *name,
		       const char *conf_prefix, char *err, size_t errlen);

/* cfg_tree_parse_string - cfg_tree_parse_mem() on a C string. */
int cfg_tree_parse_string(struct cfg_tree *t, const char *text, const char *name,
			  const char *conf_prefix, char *err, size_t errlen);

/*
 * cfg_tree_dump - write what `nginx -T` prints after the syntax check: for
 * each file read, "# configuration file PATH:\n", its text, then "\n".
 */
void cfg_tree_dump(const struct cfg_tree *t, FILE *out);

/* cfg_tree_free - release everything @t owns and leave it empty. */
void cfg_tree_free(struct cfg_tree *t);

/*
 * cfg_node_error - format a message about directive @n the way nginx does:
 * printf-style @fmt, then " in FILE:LINE" (LINE = n->end_line) or
 * " in command line". Returns CFG_EINVAL, so a handler can
 * `return cfg_node_error(n, err, errlen, "...", ...);`.
 */
int cfg_node_error(const struct cfg_node *n, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* LBD_CFG_AST_H */
