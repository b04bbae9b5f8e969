/* SPDX-License-Identifier: MIT */
/*
 * The streaming SSI command parser (see ssi.h): a byte-at-a-time state
 * machine over `<!--# command param="value" ... -->` with nginx's states,
 * limits and error messages; text is given back as views into the input.
 * Pure (no request, no allocation): the unit tests and the fuzz target
 * link it alone.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ssi.h"

static const char ssi_open[] = "<!--#"; /* what starts a command */

void ssi_parser_init(struct ssi_parser *p, char *store, size_t value_max)
{
	memset(p, 0, sizeof(*p));
	p->value_max = value_max;
	for (int i = 0; i <= SSI_MAX_PARAMS; i++)
		p->params[i].value = store + (size_t)i * (value_max + 1);
}

static bool blank(char ch)
{
	return ch == ' ' || ch == '\r' || ch == '\n' || ch == '\t';
}

static void perr(struct ssi_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void perr(struct ssi_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
}

/* cur - the parameter being read. */
static struct ssi_param *cur(struct ssi_parser *p)
{
	return &p->params[p->nparams - 1];
}

/* value_add - CH onto the current value, or the "too long" error. */
static void value_add(struct ssi_parser *p, char ch)
{
	struct ssi_param *a = cur(p);

	if (a->value_len == p->value_max) {
		perr(p, "too long \"%.*s%c...\" value of \"%s\" parameter in \"%s\" SSI command",
		     (int)a->value_len, a->value, ch, a->key, p->command);
		p->state = SSI_ST_ERROR;
		return;
	}
	a->value[a->value_len++] = ch;
	a->value[a->value_len] = '\0';
}

enum ssi_ev ssi_parse(struct ssi_parser *p, const char *in, size_t n, size_t *used,
		      struct lstr *text)
{
	size_t i = 0;

	while (i < n) {
		char ch = in[i];

		switch (p->state) {
		case SSI_ST_START: {
			const char *lt = memchr(in + i, '<', n - i);
			size_t k = lt ? (size_t)(lt - in) : n;

			if (k > i) {
				*text = (struct lstr){in + i, k - i};
				*used = k;
				return SSI_EV_TEXT;
			}
			p->state = SSI_ST_TAG;
			p->looked = 1;
			i++;
			continue;
		}
		case SSI_ST_TAG:
		case SSI_ST_COMMENT0:
		case SSI_ST_COMMENT1:
		case SSI_ST_SHARP:
			if (ch == ssi_open[p->looked]) {
				p->looked++;
				p->state = p->looked == 5 ? SSI_ST_PRECOMMAND : p->state + 1;
				if (p->looked == 5)
					p->looked = 0;
				i++;
				continue;
			}
			/* not a command: the bytes matched are text (this byte,
			 * maybe a '<', is looked at again from START) */
			*text = (struct lstr){ssi_open, p->looked};
			p->looked = 0;
			p->state = SSI_ST_START;
			*used = i;
			return SSI_EV_TEXT;
		case SSI_ST_PRECOMMAND:
			if (!blank(ch)) {
				p->command[0] = ch;
				p->command[1] = '\0';
				p->command_len = 1;
				p->nparams = 0;
				p->too_many = false;
				p->state = SSI_ST_COMMAND;
			}
			break;
		case SSI_ST_COMMAND:
			if (blank(ch)) {
				p->state = SSI_ST_PREPARAM;
			} else if (ch == '-') {
				p->state = SSI_ST_END0;
			} else if (p->command_len == SSI_COMMAND_LEN) {
				perr(p, "the \"%s%c...\" SSI command is too long", p->command, ch);
				p->state = SSI_ST_ERROR;
			} else {
				p->command[p->command_len++] = ch;
				p->command[p->command_len] = '\0';
			}
			break;
		case SSI_ST_PREPARAM:
			if (blank(ch))
				break;
			if (ch == '-') {
				p->state = SSI_ST_END0;
				break;
			}
			if (p->nparams == SSI_MAX_PARAMS + 1)
				p->too_many = true; /* the last slot is reused */
			else
				p->nparams++;
			cur(p)->key[0] = ch;
			cur(p)->key[1] = '\0';
			cur(p)->key_len = 1;
			cur(p)->value_len = 0;
			cur(p)->value[0] = '\0';
			p->state = SSI_ST_PARAM;
			break;
		case SSI_ST_PARAM: {
			struct ssi_param *a = cur(p);

			if (blank(ch)) {
				p->state = SSI_ST_PREEQUAL;
			} else if (ch == '=') {
				p->state = SSI_ST_PREVALUE;
			} else if (ch == '-') {
				a->key[a->key_len++] = ch; /* room: key has two spare bytes */
				a->key[a->key_len] = '\0';
				perr(p, "invalid \"%s\" parameter in \"%s\" SSI command", a->key,
				     p->command);
				p->state = SSI_ST_ERROR_END0;
			} else if (a->key_len == SSI_PARAM_LEN) {
				perr(p, "too long \"%s%c...\" parameter in \"%s\" SSI command",
				     a->key, ch, p->command);
				p->state = SSI_ST_ERROR;
			} else {
				a->key[a->key_len++] = ch;
				a->key[a->key_len] = '\0';
			}
			break;
		}
		case SSI_ST_PREEQUAL:
			if (blank(ch))
				break;
			if (ch == '=') {
				p->state = SSI_ST_PREVALUE;
				break;
			}
			perr(p,
			     "unexpected \"%c\" symbol after \"%s\" parameter in \"%s\" SSI command",
			     ch, cur(p)->key, p->command);
			p->state = ch == '-' ? SSI_ST_ERROR_END0 : SSI_ST_ERROR;
			break;
		case SSI_ST_PREVALUE:
			if (blank(ch))
				break;
			if (ch == '"' || ch == '\'') {
				p->state = ch == '"' ? SSI_ST_DQVALUE : SSI_ST_QVALUE;
				break;
			}
			perr(p,
			     "unexpected \"%c\" symbol before value of \"%s\" parameter in \"%s\" SSI "
			     "command",
			     ch, cur(p)->key, p->command);
			p->state = ch == '-' ? SSI_ST_ERROR_END0 : SSI_ST_ERROR;
			break;
		case SSI_ST_DQVALUE:
		case SSI_ST_QVALUE:
			if (ch == (p->state == SSI_ST_DQVALUE ? '"' : '\'')) {
				p->state = SSI_ST_POSTPARAM;
				break;
			}
			if (ch == '\\') {
				/* the backslash stays in the value; the next byte too */
				p->saved = p->state;
				p->state = SSI_ST_QSYMBOL;
			}
			value_add(p, ch);
			break;
		case SSI_ST_QSYMBOL:
			p->state = p->saved;
			value_add(p, ch);
			break;
		case SSI_ST_POSTPARAM:
			if (blank(ch)) {
				p->state = SSI_ST_PREPARAM;
			} else if (ch == '-') {
				p->state = SSI_ST_END0;
			} else {
				perr(p,
				     "unexpected \"%c\" symbol after \"%s\" value of \"%s\" parameter "
				     "in \"%s\" SSI command",
				     ch, cur(p)->value, cur(p)->key, p->command);
				p->state = SSI_ST_ERROR;
			}
			break;
		case SSI_ST_END0:
		case SSI_ST_END1:
			if (ch == (p->state == SSI_ST_END0 ? '-' : '>')) {
				if (p->state == SSI_ST_END0) {
					p->state = SSI_ST_END1;
					break;
				}
				p->state = SSI_ST_START;
				*used = i + 1;
				return SSI_EV_CMD;
			}
			perr(p, "unexpected \"%c\" symbol in \"%s\" SSI command", ch, p->command);
			p->state = SSI_ST_ERROR;
			break;
		case SSI_ST_ERROR:
			if (ch == '-')
				p->state = SSI_ST_ERROR_END0;
			break;
		case SSI_ST_ERROR_END0:
			p->state = ch == '-' ? SSI_ST_ERROR_END1 : SSI_ST_ERROR;
			break;
		case SSI_ST_ERROR_END1:
			if (ch == '>') {
				p->state = SSI_ST_START;
				*used = i + 1;
				return SSI_EV_ERR;
			}
			p->state = SSI_ST_ERROR;
			break;
		}
		i++;
	}
	*used = n;
	return SSI_EV_MORE;
}
