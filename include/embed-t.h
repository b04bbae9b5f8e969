/* SPDX-License-Identifier: MIT */
/*
 * Subrequests whose answer body goes into the main request's answer
 * (nginx's addition module; the mechanism SSI's `include virtual` needs):
 * the addition settings of one level. Types only; the request side is
 * embed.h.
 */
#ifndef LBD_EMBED_T_H
#define LBD_EMBED_T_H

#include <stdbool.h>

struct embed_run;

/* struct add_loc - add_before_body, add_after_body, addition_types of one
 * http/server/location level (cfg_addition.c). Unset strings are NULL
 * until merged; "" is "none" (nginx's default). */
struct add_loc {
	const char *before; /* add_before_body URI (config pool) */
	const char *after;  /* add_after_body URI */
	char **types;	    /* addition_types, lowercased; text/html always matches */
	int ntypes;
	bool types_any; /* addition_types * */
	bool types_set; /* addition_types given at this level */
	bool on;	/* merged: a before or after URI is set */
};

#endif
