/* SPDX-License-Identifier: MIT */
/*
 * mirror (nginx's ngx_http_mirror_module): the settings of one level. Types
 * only; the request side is mirror.h.
 */
#ifndef LBD_MIRROR_T_H
#define LBD_MIRROR_T_H

#include <stdbool.h>

/* struct mirror_loc - `mirror` and `mirror_request_body` of one level. */
struct mirror_loc {
	const char **uris;	 /* `mirror URI` list in order (config pool); NULL none */
	int nuris;		 /* entries in uris; 0 with set: `mirror off` */
	bool set;		 /* this level has `mirror` (a URI list or off): the list
			    * is inherited whole only by a level without one, as
			    * nginx merges its array pointer */
	int request_body;	 /* mirror_request_body: CFG_UNSET, 0 off, 1 on (default) */
	const char *post_action; /* post_action URI|@name (config pool); "" for off;
				  * NULL until merged (inherited) */
};

#endif
