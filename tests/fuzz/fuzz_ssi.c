/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the SSI command parser (userspace/ssi.c): the
 * input (after its first byte) is a body, parsed once whole and once in
 * pieces whose size comes from the first byte. Checked: every call
 * consumes within its input and makes progress (a text event of no bytes
 * consumed changes the state), and both runs give the same events: the
 * same text, the same commands with the same parameters, the same
 * errors, at the same places.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssi.h"

#define VMAX 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* run - the events of IN[0..N) fed STEP bytes at a time, rendered into
 * OUT (malloc'd); its length. */
static size_t run(const char *in, size_t n, size_t step, char **out)
{
	static char store[(SSI_MAX_PARAMS + 1) * (VMAX + 1)];
	struct ssi_parser p;
	size_t cap = 4 * n + 4096, w = 0, off = 0;
	char *o = malloc(cap);

	if (!o)
		abort();
	ssi_parser_init(&p, store, VMAX);
	while (off < n) {
		size_t len = n - off < step ? n - off : step, k = 0;
		/* a copy of the piece alone, so that ASan sees an overread */
		char *piece = malloc(len);
		int idle = 0;

		if (!piece)
			abort();
		memcpy(piece, in + off, len);
		while (k < len) {
			struct lstr text = {0};
			size_t used = 0;
			enum ssi_ev ev = ssi_parse(&p, piece + k, len - k, &used, &text);

			if (used > len - k)
				abort();
			k += used;
			idle = used ? 0 : idle + 1;
			if (idle > 2)
				abort(); /* no progress */
			if (w + 1024 + text.len > cap) {
				cap = 2 * (w + 1024 + text.len);
				o = realloc(o, cap);
				if (!o)
					abort();
			}
			if (p.err[0]) {
				w += (size_t)snprintf(o + w, cap - w, "{E:%s}", p.err);
				p.err[0] = '\0';
			}
			if (ev == SSI_EV_TEXT) {
				memcpy(o + w, text.p, text.len);
				w += text.len;
			} else if (ev == SSI_EV_CMD) {
				w += (size_t)snprintf(o + w, cap - w, "{C:%s", p.command);
				for (int i = 0; i < p.nparams; i++)
					w += (size_t)snprintf(
						o + w, cap - w, " %s=%zu:%.*s", p.params[i].key,
						p.params[i].value_len, (int)p.params[i].value_len,
						p.params[i].value);
				w += (size_t)snprintf(o + w, cap - w, "}");
			} else if (ev == SSI_EV_ERR) {
				w += (size_t)snprintf(o + w, cap - w, "{ERR}");
			}
		}
		free(piece);
		off += len;
	}
	*out = o;
	return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *a, *b;
	size_t na, nb, step;

	if (size < 1 || size > 65536)
		return 0;
	step = (size_t)(data[0] % 13) + 1;
	na = run((const char *)data + 1, size - 1, size, &a);
	nb = run((const char *)data + 1, size - 1, step, &b);
	if (na != nb || memcmp(a, b, na) != 0)
		abort();
	free(a);
	free(b);
	return 0;
}
