/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the referer checks (userspace/referer.c): keys as
 * valid_referers reads them and the matching of a Referer value. The
 * input's first line holds space-separated keys ("host[/uri]", wildcards;
 * "none" and "blocked" set those flags), the rest is the Referer value.
 * Keys the parser refuses, or that conflict with an earlier one, are left
 * out as nginx would refuse the directive. Checked: a key kept is one of
 * the four kinds with its name inside the text; the answer does not
 * depend on the case of the host (nginx lowercases it); a missing header
 * is valid exactly with `none`.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fz_util.h"
#include "referer.h"

#define FZ_MAX_KEYS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct referer_key keys[FZ_MAX_KEYS];
	struct referer_conf rc = {.set = true, .keys = keys};
	const char *nl = memchr(data, '\n', size);
	size_t klen = nl ? (size_t)(nl - (const char *)data) : size;
	char *text = malloc(klen + 1), *save = NULL, *tok;
	char *ref, *upper;
	size_t rlen;
	bool v;

	if (!text)
		return 0;
	memcpy(text, data, klen);
	text[klen] = '\0';
	for (tok = strtok_r(text, " ", &save); tok && rc.nkeys < FZ_MAX_KEYS;
	     tok = strtok_r(NULL, " ", &save)) {
		struct referer_key k = {0};
		char *slash = strchr(tok, '/');

		if (strcmp(tok, "none") == 0) {
			rc.none = true;
			continue;
		}
		if (strcmp(tok, "blocked") == 0) {
			rc.blocked = true;
			continue;
		}
		if (slash) { /* the key is the part before; the URI keeps its '/' */
			k.uri = strdup(slash);
			k.urilen = strlen(slash);
			*slash = '\0';
		}
		for (char *p = tok; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (referer_key_parse(&k, tok)) {
			free(k.uri);
			continue;
		}
		fz_check(k.kind == 0 || k.kind == 1 || k.kind == 2 || k.kind == 4);
		fz_check(k.name >= tok && k.name + k.len <= tok + strlen(tok) + 1);
		bool clash = false;

		for (int i = 0; i < rc.nkeys && !clash; i++)
			clash = referer_key_conflict(&keys[i], &k);
		if (clash) {
			free(k.uri);
			continue;
		}
		keys[rc.nkeys++] = k;
	}
	rlen = nl ? size - klen - 1 : 0;
	ref = fz_strdup(nl ? (const uint8_t *)nl + 1 : data, rlen);
	upper = fz_strdup(nl ? (const uint8_t *)nl + 1 : data, rlen);
	if (ref && upper) {
		/* the host (after "://", up to '/' or ':') in upper case */
		const char *sep = rlen >= 3 ? memmem(upper, rlen < 8 ? rlen : 8, "://", 3) : NULL;

		for (size_t i = sep ? (size_t)(sep - upper) + 3 : rlen;
		     i < rlen && upper[i] != '/' && upper[i] != ':'; i++)
			upper[i] = (char)toupper((unsigned char)upper[i]);
		v = referer_valid(&rc, ref, rlen);
		fz_check(v == referer_valid(&rc, upper, rlen));
		fz_check(referer_valid(&rc, NULL, 0) == (rc.nkeys ? rc.none : true));
	}
	free(ref);
	free(upper);
	for (int i = 0; i < rc.nkeys; i++)
		free(keys[i].uri);
	free(text);
	return 0;
}
