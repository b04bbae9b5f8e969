/* SPDX-License-Identifier: MIT */
/*
 * Status pages served by lbd itself: nginx's `stub_status` (exact format)
 * and `lbd_metrics` (Prometheus text exposition of the same counters plus
 * per-upstream-server figures).
 */
#ifndef LBD_STATUS_H
#define LBD_STATUS_H

struct conn;

/* status_stub - answer the request with nginx's stub_status page. */
void status_stub(struct conn *c);
/* status_metrics - answer the request with the Prometheus metrics. */
void status_metrics(struct conn *c);

#endif
