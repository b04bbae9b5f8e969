/* SPDX-License-Identifier: MIT */
/*
 * Browser classification types (nginx's ngx_http_browser_module): the
 * settings of one http/server/location level behind $modern_browser and
 * $ancient_browser. Types only.
 */
#ifndef LBD_BROWSER_T_H
#define LBD_BROWSER_T_H

#include <stdbool.h>
#include <stdint.h>

/* The browsers modern_browser names, in the order nginx tests them
 * (Opera first: its User-Agent may say "MSIE" too). */
enum browser_kind {
	BROWSER_OPERA = 0,
	BROWSER_MSIE,
	BROWSER_GECKO,
	BROWSER_SAFARI,
	BROWSER_KONQUEROR,
	BROWSER_NKINDS,
};

/* A version X[.X[.X[.X]]] as one number: each part after the first is
 * worth a hundredth of the one before (4000.99.99.99 at most, nginx's
 * reading). Opera's "no version is modern enough" is past all of them. */
#define BROWSER_VERSION_NEVER 4001000000ULL

/* struct browser_modern - one `modern_browser BROWSER VERSION`. */
struct browser_modern {
	enum browser_kind kind; /* which browser */
	uint64_t version;	/* this version or a later one is modern */
};

/* struct browser_conf - one level's browser settings. The lists and the
 * values come whole from the enclosing level when this level sets none;
 * `modern_browser unlisted` and `ancient_browser netscape4` hold for
 * their own level only (nginx does not inherit them). */
struct browser_conf {
	struct browser_modern *modern; /* sorted by kind (Opera first) after merge */
	int nmodern;
	bool modern_set;      /* modern_browser BROWSER VERSION at this level */
	bool modern_merged;   /* Opera added and the list sorted (cfg_browser.c) */
	const char **ancient; /* ancient_browser substrings */
	int nancient;
	bool unlisted;		   /* modern_browser unlisted: what no rule names is modern */
	bool netscape4;		   /* ancient_browser netscape4: Mozilla/1..4 is ancient */
	const char *modern_value;  /* modern_browser_value ("1"), NULL until merged */
	const char *ancient_value; /* ancient_browser_value ("1"), NULL until merged */
};

#endif
