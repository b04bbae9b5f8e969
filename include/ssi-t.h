/* SPDX-License-Identifier: MIT */
/*
 * Server-side includes (nginx's ngx_http_ssi_module): the settings of one
 * http/server/location level, and the streaming command parser's state.
 * Types only; the functions are ssi.h.
 */
#ifndef LBD_SSI_T_H
#define LBD_SSI_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSI_COMMAND_LEN	 32   /* nginx: a longer command name is an error */
#define SSI_PARAM_LEN	 32   /* ... a longer parameter name */
#define SSI_MAX_PARAMS	 16   /* ... more parameters: "too many SSI command parameters" */
#define SSI_VALUE_LEN	 255  /* ssi_value_length default (nginx's merge) */
#define SSI_MIN_FILE_CHK 1024 /* ssi_min_file_chunk default */
#define SSI_ERRLEN	 512  /* one parser error message */

/* struct ssi_loc - ssi, ssi_types, ssi_silent_errors, ssi_value_length,
 * ssi_last_modified, ssi_min_file_chunk, ssi_ignore_recycled_buffers of
 * one level (cfg_ssi.c). Ints are CFG_UNSET until merged. */
struct ssi_loc {
	int on;			/* ssi on|off, default off */
	int silent_errors;	/* ssi_silent_errors, default off */
	int last_modified;	/* ssi_last_modified: on keeps Last-Modified, ETag made weak */
	int ignore_recycled;	/* ssi_ignore_recycled_buffers (accepted, no effect in lbd) */
	int64_t value_len;	/* ssi_value_length, bytes, default 255 */
	int64_t min_file_chunk; /* ssi_min_file_chunk (accepted, no effect in lbd) */
	char **types;		/* ssi_types, lowercased; text/html always matches */
	int ntypes;
	bool types_any; /* ssi_types * */
	bool types_set; /* given at this level */
};

/* enum ssi_state - the parser's states (nginx's, in order). From START a
 * '<' goes to TAG, "<!--#" to PRECOMMAND; a command ends at "-->" in
 * COMMAND, PREPARAM or POSTPARAM (via END0, END1); a bad byte goes to
 * ERROR, which lasts to the next "-->". */
enum ssi_state {
	SSI_ST_START = 0,
	SSI_ST_TAG,	   /* "<" */
	SSI_ST_COMMENT0,   /* "<!" */
	SSI_ST_COMMENT1,   /* "<!-" */
	SSI_ST_SHARP,	   /* "<!--" */
	SSI_ST_PRECOMMAND, /* "<!--#", blanks */
	SSI_ST_COMMAND,	   /* in the command name */
	SSI_ST_PREPARAM,   /* blanks before a parameter */
	SSI_ST_PARAM,	   /* in a parameter name */
	SSI_ST_PREEQUAL,   /* blanks after the name */
	SSI_ST_PREVALUE,   /* after '=' */
	SSI_ST_DQVALUE,	   /* in a "value" */
	SSI_ST_QVALUE,	   /* in a 'value' */
	SSI_ST_QSYMBOL,	   /* after a backslash in a value */
	SSI_ST_POSTPARAM,  /* after the closing quote */
	SSI_ST_END0,	   /* "-" */
	SSI_ST_END1,	   /* "--" */
	SSI_ST_ERROR,	   /* skipping to "-->" */
	SSI_ST_ERROR_END0,
	SSI_ST_ERROR_END1,
};

/* struct ssi_param - one `name="value"` of a command. */
struct ssi_param {
	char key[SSI_PARAM_LEN + 2]; /* NUL-terminated; room for nginx's extra "-" */
	size_t key_len;
	char *value; /* value_len + 1 bytes of the parser's storage */
	size_t value_len;
};

/* struct ssi_parser - one body's parser. Everything it keeps between
 * calls is here: a command is complete only at its "-->". */
struct ssi_parser {
	enum ssi_state state;
	enum ssi_state saved; /* QSYMBOL: the value state to go back to */
	uint8_t looked;	      /* bytes of "<!--" matched (TAG..SHARP) */
	char command[SSI_COMMAND_LEN + 1];
	size_t command_len;
	struct ssi_param params[SSI_MAX_PARAMS + 1];
	int nparams;	      /* stored; a 17th makes the command "too many" */
	bool too_many;	      /* more than SSI_MAX_PARAMS + 1 were given */
	size_t value_max;     /* ssi_value_length */
	char err[SSI_ERRLEN]; /* a message to log (nginx logs at the byte), "" none */
};

#endif
