/* SPDX-License-Identifier: MIT */
/*
 * Temp file directories made at start and handed to the `user` (see
 * tmpdir.h). Owns nothing after it returns: the paths belong to the
 * configuration.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "tmpdir.h"

/* prepare - make DIR when missing and give it to UID (owner rwx). */
static void prepare(const char *dir, uid_t uid)
{
	struct stat st;

	if (!dir)
		return;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("mkdir() \"%s\" failed (%d: %s)", dir, errno, strerror(errno));
		return;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_warn("\"%s\" is not a directory", dir);
		return;
	}
	/* as nginx: the owner changes, the group stays */
	if (st.st_uid != uid && chown(dir, uid, (gid_t)-1) == -1) {
		log_warn("chown(\"%s\", %d) failed (%d: %s)", dir, (int)uid, errno,
			 strerror(errno));
		return;
	}
	if ((st.st_mode & S_IRWXU) != S_IRWXU && chmod(dir, (st.st_mode & 07777) | S_IRWXU) == -1)
		log_warn("chmod() \"%s\" failed (%d: %s)", dir, errno, strerror(errno));
}

/* prepare_loc - L's directories, then those of the locations inside it.
 * A path inherited from the parent is the parent's pointer: skipped. */
static void prepare_loc(const struct cfg_loc *l, const struct cfg_loc *parent, uid_t uid)
{
	struct cfg_loc *const *lists[] = {l->exact, l->prefix, l->regex, l->named};
	const int counts[] = {l->nexact, l->nprefix, l->nregex, l->nnamed};

	if (!parent || l->client_body_temp_path != parent->client_body_temp_path)
		prepare(l->client_body_temp_path, uid);
	if (!parent || l->proxy_temp_path != parent->proxy_temp_path)
		prepare(l->proxy_temp_path, uid);
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < counts[i]; k++)
			prepare_loc(lists[i][k], l, uid);
}

void tmpdir_prepare_all(const struct cfg *c, uid_t uid)
{
	const struct cfg_http *h = c->http;

	if (!h)
		return;
	prepare_loc(&h->loc, NULL, uid);
	for (int i = 0; i < h->nservers; i++)
		prepare_loc(&h->servers[i]->loc, &h->loc, uid);
}

int tmpdir_open(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd == -1 && errno == ENOENT && (mkdir(dir, 0700) == 0 || errno == EEXIST))
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	return fd;
}
