/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the configuration reader (userspace/cfg_ast.c).
 * Each input is parsed twice, as a file and as -g text, with `include`
 * forbidden (no conf prefix) so the fuzzer never touches the filesystem.
 * Beyond the sanitizers, it traps when a tree breaks its invariants or an
 * error message lacks nginx's location suffix.
 */
#include "cfg_ast.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* include_kept - whether an `include` node C may stay in the tree under a
 * block named PARENT: in map and geo only `include FILE;` includes (any
 * other word count is an entry whose key is "include"), in split_clients
 * never (cfg_ast.c's INC_TWO_WORDS, INC_NONE). */
static bool include_kept(const struct cfg_node *c, const char *parent)
{
	if (!parent)
		return false;
	if (strcmp(parent, "split_clients") == 0)
		return true;
	return (strcmp(parent, "map") == 0 || strcmp(parent, "geo") == 0) && c->nargs != 1;
}

static void check_nodes(const struct cfg_node *v, size_t n, int max_line, bool cmdline,
			const char *parent)
{
	for (size_t i = 0; i < n; i++) {
		const struct cfg_node *c = &v[i];

		if (!c->name || (strcmp(c->name, "include") == 0 && !include_kept(c, parent)))
			__builtin_trap();
		/* -g text has no file and cannot hold blocks */
		if (cmdline != (c->file == NULL) || (cmdline && c->block))
			__builtin_trap();
		if (c->line < 1 || c->end_line < c->line || c->end_line > max_line)
			__builtin_trap();
		if (c->block && (c->close_line < c->end_line || c->close_line > max_line))
			__builtin_trap();
		if (!c->block && (c->nchildren || c->close_line))
			__builtin_trap();
		if (c->nargs >= CFG_MAX_ARGS)
			__builtin_trap();
		for (size_t j = 0; j < c->nargs; j++)
			if (!c->args[j] || c->quoted[j] > 1)
				__builtin_trap();
		check_nodes(c->children, c->nchildren, max_line, cmdline, c->name);
	}
}

static void check_error(const char *err, bool cmdline)
{
	const char *suffix = cmdline ? " in command line" : " in fuzz.conf:";
	const char *at = strstr(err, suffix);

	if (!at)
		__builtin_trap();
	if (!cmdline && at[strlen(suffix)] == '\0')
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct cfg_tree t;
	char err[512];
	int max_line = 1;
	int rc;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	for (size_t i = 0; i < size; i++)
		max_line += data[i] == '\n';

	for (int cmdline = 0; cmdline < 2; cmdline++) {
		cfg_tree_init(&t);
		rc = cfg_tree_parse_mem(&t, (const char *)data, size, cmdline ? NULL : "fuzz.conf",
					NULL, err, sizeof(err));
		if (rc == CFG_OK) {
			check_nodes(t.root.children, t.root.nchildren, max_line, cmdline, NULL);
			if (devnull)
				cfg_tree_dump(&t, devnull);
		} else if (rc == CFG_ESYNTAX || rc == CFG_ELIMIT) {
			check_error(err, cmdline);
		} else if (rc != CFG_ENOMEM) {
			__builtin_trap();
		}
		cfg_tree_free(&t);
	}
	return 0;
}
