/* SPDX-License-Identifier: MIT */
/*
 * Browser classification: nginx's ngx_http_browser_module behind
 * $modern_browser and $ancient_browser, and the MSIE test behind $msie.
 * Owns the reading of a User-Agent value against one level's rules
 * (struct browser_conf, built and merged by cfg_browser.c): each
 * modern_browser rule looks for its browser's marker past a fixed offset
 * of the value (the start of nginx's sample strings) and compares the
 * version after it, part by part; then `ancient_browser netscape4`, the
 * ancient_browser substrings, and `modern_browser unlisted` decide.
 * Values are not NUL-terminated: every search is bounded by the length.
 */
#include <string.h>
#include <strings.h>

#include "browser.h"

/* struct marker - where a browser's version is: past SKIP bytes of the
 * value, the first MARK, then ADD bytes on (nginx's masks). */
struct marker {
	const char *name; /* as modern_browser names it */
	const char *mark; /* searched for */
	size_t skip;	  /* bytes of the value not searched */
	size_t add;	  /* from the mark to the version */
};

static const struct marker markers[BROWSER_NKINDS] = {
	/* "Opera/9.01 (X11; ...)", "Mozilla/4.0 (compatible; MSIE 6.0; ...) Opera 8.0" */
	[BROWSER_OPERA] = {"opera", "Opera", 0, sizeof("Opera ") - 1},
	/* "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)" */
	[BROWSER_MSIE] = {"msie", "MSIE ", sizeof("Mozilla/4.0 (compatible; ") - 1,
			  sizeof("MSIE ") - 1},
	/* "Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.0.0) Gecko/20020610" */
	[BROWSER_GECKO] = {"gecko", "rv:", sizeof("Mozilla/5.0 (") - 1, sizeof("rv:") - 1},
	/* "Mozilla/5.0 (Macintosh; ...) AppleWebKit/418 (KHTML, like Gecko) Safari/417.9.3" */
	[BROWSER_SAFARI] = {"safari", "Safari/", sizeof("Mozilla/5.0 (") - 1,
			    sizeof("Safari/") - 1},
	/* "Mozilla/5.0 (compatible; Konqueror/3.5; FreeBSD) KHTML/3.5.1 (like Gecko)" */
	[BROWSER_KONQUEROR] = {"konqueror", "Konqueror/", sizeof("Mozilla/5.0 (compatible; ") - 1,
			       sizeof("Konqueror/") - 1},
};

int browser_kind_of(const char *name)
{
	for (int k = 0; k < BROWSER_NKINDS; k++)
		if (strcasecmp(markers[k].name, name) == 0)
			return k;
	return -1;
}

int browser_version_parse(const char *s, uint64_t *out)
{
	uint64_t version = 0, ver = 0, scale = 1000000;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			ver = ver * 10 + (uint64_t)(*s - '0');
		} else if (*s == '.') {
			version += ver * scale;
			ver = 0;
			scale /= 100;
		} else {
			return -1;
		}
	}
	*out = version + ver * scale;
	return 0;
}

/* rule_says_modern - whether rule M finds its browser in UA..LAST at a
 * version as late as its own. */
static bool rule_says_modern(const struct browser_modern *m, const char *ua, const char *last)
{
	const struct marker *k = &markers[m->kind];
	const char *p = ua + k->skip;
	uint64_t version = 0, ver = 0, scale = 1000000;

	if (k->skip >= (size_t)(last - ua))
		return false;
	p = memmem(p, (size_t)(last - p), k->mark, strlen(k->mark));
	if (!p || k->add >= (size_t)(last - p))
		return false;
	for (p += k->add; p < last; p++) {
		if (*p >= '0' && *p <= '9') {
			ver = ver * 10 + (uint64_t)(*p - '0');
		} else if (*p == '.') {
			/* a part already past the rule's decides, whatever follows */
			version += ver * scale;
			if (version > m->version)
				return true;
			ver = 0;
			scale /= 100;
		} else {
			break;
		}
	}
	return version + ver * scale >= m->version;
}

bool browser_is_modern(const struct browser_conf *bc, const char *ua, size_t len)
{
	const char *last;

	if (!ua)
		return bc->unlisted;
	last = ua + len;
	if (bc->nmodern) {
		for (int i = 0; i < bc->nmodern; i++)
			if (rule_says_modern(&bc->modern[i], ua, last))
				return true;
		if (!bc->unlisted)
			return false;
	}
	if (bc->netscape4 && len > sizeof("Mozilla/4.72 ") - 1 && memcmp(ua, "Mozilla/", 8) == 0 &&
	    ua[8] > '0' && ua[8] < '5')
		return false;
	for (int i = 0; i < bc->nancient; i++)
		if (memmem(ua, len, bc->ancient[i], strlen(bc->ancient[i])))
			return false;
	return bc->unlisted;
}

bool browser_msie(const char *ua, size_t len)
{
	const char *m = memmem(ua, len, "MSIE ", 5);

	return m && m + 7 < ua + len && !memmem(ua, len, "Opera", 5);
}

const char *browser_value(const struct browser_conf *bc, bool modern, const char *ua, size_t len)
{
	if (browser_is_modern(bc, ua, len) != modern)
		return "";
	return modern ? bc->modern_value : bc->ancient_value;
}
