/* SPDX-License-Identifier: MIT */
/*
 * systemd notification: the datagram reaches $NOTIFY_SOCKET (path and
 * abstract forms), nothing happens without it, a bad value is refused.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

static int listen_dgram(const char *path, bool abstract)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	cr_assert_geq(fd, 0);
	memcpy(sa.sun_path + (abstract ? 1 : 0), path, len);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa,
			  (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
				      (abstract ? 1 : 0))),
		     0);
	return fd;
}

Test(notify, path_socket_gets_the_state)
{
	char path[64], buf[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/tmp/lbd-notify-%d", (int)getpid());
	unlink(path);
	fd = listen_dgram(path, false);
	setenv("NOTIFY_SOCKET", path, 1);
	cr_assert_eq(notify_systemd("READY=1"), 0);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	cr_assert_eq(n, 7);
	buf[n] = '\0';
	cr_expect_str_eq(buf, "READY=1");
	close(fd);
	unlink(path);
}

Test(notify, abstract_socket_gets_the_state)
{
	char name[64], env[66], buf[64];
	int fd;
	ssize_t n;

	snprintf(name, sizeof(name), "lbd-notify-abs-%d", (int)getpid());
	fd = listen_dgram(name, true);
	snprintf(env, sizeof(env), "@%s", name);
	setenv("NOTIFY_SOCKET", env, 1);
	cr_assert_eq(notify_systemd("STOPPING=1"), 0);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	cr_assert_eq(n, 10);
	buf[n] = '\0';
	cr_expect_str_eq(buf, "STOPPING=1");
	close(fd);
}

Test(notify, without_socket_nothing_and_bad_value_refused)
{
	unsetenv("NOTIFY_SOCKET");
	cr_expect_eq(notify_systemd("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	cr_expect_lt(notify_systemd("READY=1"), 0);
	unsetenv("NOTIFY_SOCKET");
}
