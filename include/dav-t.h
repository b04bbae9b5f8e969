/* SPDX-License-Identifier: MIT */
/*
 * WebDAV (nginx's ngx_http_dav_module): the settings of one level. Types
 * only; the request side is dav.h.
 */
#ifndef LBD_DAV_T_H
#define LBD_DAV_T_H

/* dav_methods bits */
enum {
	DAV_PUT = 1 << 0,
	DAV_DELETE = 1 << 1,
	DAV_MKCOL = 1 << 2,
	DAV_COPY = 1 << 3,
	DAV_MOVE = 1 << 4,
};

/* struct dav_loc - dav_methods, create_full_put_path, dav_access,
 * min_delete_depth of one level (cfg_dav.c; each inherited). */
struct dav_loc {
	int methods;		  /* DAV_* bits; CFG_UNSET; 0 `off` (default) */
	int create_full_put_path; /* CFG_UNSET, 0 off (default), 1 on */
	int access;		  /* file mode bits; CFG_UNSET; 0600 default */
	int min_delete_depth;	  /* CFG_UNSET; 0 default */
};

#endif
