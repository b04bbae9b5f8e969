/* SPDX-License-Identifier: MIT */
/*
 * systemd readiness (Type=notify) without libsystemd: one datagram to
 * $NOTIFY_SOCKET. Does nothing when lbd is not started by systemd.
 */
#ifndef LBD_NOTIFY_H
#define LBD_NOTIFY_H

/* notify_systemd - send STATE ("READY=1", "RELOADING=1", "STOPPING=1"...).
 * Returns 0, or -errno; 0 too when there is no $NOTIFY_SOCKET. */
int notify_systemd(const char *state);

#endif
