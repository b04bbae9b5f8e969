/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the ban list parsers (userspace/ban.c). Each input
 * is read as a ban_list file (through a memfd, so nothing touches the
 * disk), and its first line is given to ban_cidr_parse() alone. Every CIDR
 * accepted must have its host bits zero and survive a round trip through
 * ban_cidr_format(); a file's reasons must be trimmed; an error must say
 * which line, as "FILE:LINE: ".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ban.h"
#include "fz_util.h"

/* fz_cidr - the invariants of an accepted CIDR. */
static void fz_cidr(const struct ban_cidr *c)
{
	struct ban_cidr back;
	char text[80], err[256];

	fz_check(c->plen <= 128);
	if (c->v4)
		fz_check(c->plen >= 96);
	for (int bit = c->plen; bit < 128; bit++)
		fz_check(!(c->addr[bit / 8] & (0x80 >> (bit % 8))));
	ban_cidr_format(c, text, sizeof(text));
	fz_check(ban_cidr_parse(text, &back, err, sizeof(err)) == 0);
	fz_check(back.plen == c->plen && back.v4 == c->v4);
	fz_check(memcmp(back.addr, c->addr, 16) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct ban_file_ent *v = NULL;
	const uint8_t *nl = memchr(data, '\n', size);
	char err[512] = "", *line;
	struct ban_cidr c;
	int n = -1, rc;

	line = fz_strdup(data, nl ? (size_t)(nl - data) : size);
	err[0] = '\0';
	if (ban_cidr_parse(line, &c, err, sizeof(err)) == 0)
		fz_cidr(&c);
	else
		fz_check(err[0]);
	free(line);

	if (fd == -1) {
		fd = memfd_create("fuzz-ban-list", MFD_CLOEXEC);
		fz_check(fd != -1);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	fz_check(ftruncate(fd, 0) == 0);
	fz_check(pwrite(fd, data, size, 0) == (ssize_t)size);
	err[0] = '\0';
	rc = ban_file_parse(path, &v, &n, err, sizeof(err));
	if (rc == 0) {
		fz_check(n >= 0 && (n == 0 || v));
		for (int i = 0; i < n; i++) {
			const char *r = v[i].reason;

			fz_cidr(&v[i].cidr);
			if (r) {
				size_t len = strlen(r);

				fz_check(len > 0 && !strchr(r, '\n'));
				fz_check(r[0] != ' ' && r[0] != '\t');
				fz_check(r[len - 1] != ' ' && r[len - 1] != '\t' &&
					 r[len - 1] != '\r');
			}
		}
		ban_file_free(v, n);
	} else {
		fz_check(rc < 0 && v == NULL);
		fz_check(strncmp(err, path, strlen(path)) == 0 && err[strlen(path)] == ':');
	}
	return 0;
}
