/* SPDX-License-Identifier: MIT */
/*
 * Types of the store (nginx's proxy_store, fastcgi_store, uwsgi_store,
 * scgi_store): the settings a level holds. Types only.
 */
#ifndef LBD_STORE_T_H
#define LBD_STORE_T_H

struct cval;

/* client_body_in_file_only (cfg_loc.body_in_file): the request body always
 * to a named file in client_body_temp_path ($request_body_file), kept
 * after the request (ON) or removed (CLEAN); reqbody.c. */
enum {
	BODY_FILE_OFF = 0,
	BODY_FILE_ON,
	BODY_FILE_CLEAN,
};

/* struct store_conf - *_store and *_store_access of one level. */
struct store_conf {
	int on;		   /* CFG_UNSET, 0 off, 1 on (path or root/alias + URI) */
	struct cval *path; /* the STRING form (variables allowed), NULL: the
			    * location's root/alias + URI, as a static file */
	int access;	   /* *_store_access: file mode bits (0600 by default),
			    * CFG_UNSET until merged */
};

#endif
