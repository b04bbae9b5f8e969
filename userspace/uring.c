/* SPDX-License-Identifier: MIT */
/*
 * uring - many sends in one system call (include/uring.h). The rings are
 * mapped as io_uring_setup(2) describes them; one thread owns a ring and
 * there is no kernel polling thread, so the kernel reads the submission
 * ring only inside io_uring_enter(), and a tail not yet entered can be
 * taken back.
 */
#include <errno.h>
#include <linux/io_uring.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uring.h"

static void *map(int fd, size_t len, off_t off)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

int uring_init(struct uring *r, unsigned entries)
{
	struct io_uring_params p;
	int rc;

	memset(r, 0, sizeof(*r));
	memset(&p, 0, sizeof(p));
	r->fd = (int)syscall(__NR_io_uring_setup, entries, &p);
	if (r->fd < 0) {
		rc = -errno;
		r->fd = -1;
		return rc;
	}
	r->entries = p.sq_entries;
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		r->sq_len = r->cq_len = r->sq_len > r->cq_len ? r->sq_len : r->cq_len;
	r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sq_map = map(r->fd, r->sq_len, IORING_OFF_SQ_RING);
	r->cq_map = !r->sq_map ? NULL
		    : p.features & IORING_FEAT_SINGLE_MMAP
			    ? r->sq_map
			    : map(r->fd, r->cq_len, IORING_OFF_CQ_RING);
	r->sqes = r->cq_map ? map(r->fd, r->sqes_len, IORING_OFF_SQES) : NULL;
	if (!r->sqes) {
		rc = -errno;
		uring_fini(r);
		return rc ? rc : -ENOMEM;
	}
	r->sq_head = (unsigned *)((char *)r->sq_map + p.sq_off.head);
	r->sq_tail = (unsigned *)((char *)r->sq_map + p.sq_off.tail);
	r->sq_mask = *(unsigned *)((char *)r->sq_map + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)((char *)r->sq_map + p.sq_off.array);
	r->cq_head = (unsigned *)((char *)r->cq_map + p.cq_off.head);
	r->cq_tail = (unsigned *)((char *)r->cq_map + p.cq_off.tail);
	r->cq_mask = *(unsigned *)((char *)r->cq_map + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)((char *)r->cq_map + p.cq_off.cqes);
	return 0;
}

void uring_fini(struct uring *r)
{
	if (r->sqes)
		munmap(r->sqes, r->sqes_len);
	if (r->cq_map && r->cq_map != r->sq_map)
		munmap(r->cq_map, r->cq_len);
	if (r->sq_map)
		munmap(r->sq_map, r->sq_len);
	if (r->entries)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

bool uring_send(struct uring *r, int fd, const struct msghdr *msg, uint64_t tag)
{
	unsigned tail = *r->sq_tail + r->queued, i = tail & r->sq_mask;
	struct io_uring_sqe *e = &r->sqes[i];

	if (r->queued >= r->entries)
		return false;
	memset(e, 0, sizeof(*e));
	e->opcode = IORING_OP_SENDMSG;
	e->fd = fd;
	e->addr = (uint64_t)(uintptr_t)msg;
	e->len = 1;
	/* with MSG_DONTWAIT a full socket completes with -EAGAIN at once
	 * instead of waiting in the kernel for room */
	e->msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL;
	e->user_data = tag;
	r->sq_array[i] = i;
	r->queued++;
	return true;
}

/* reap - hand every completion in the ring to DONE; how many there were. */
static unsigned reap(struct uring *r, void (*done)(void *arg, uint64_t tag, int res), void *arg)
{
	unsigned head = *r->cq_head, tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE), n = 0;

	for (; head != tail; head++, n++) {
		const struct io_uring_cqe *c = &r->cqes[head & r->cq_mask];

		done(arg, c->user_data, c->res);
	}
	__atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
	return n;
}

int uring_submit(struct uring *r, void (*done)(void *arg, uint64_t tag, int res), void *arg)
{
	unsigned n = r->queued, start = *r->sq_tail, have;
	long got;

	if (!n)
		return 0;
	r->queued = 0;
	__atomic_store_n(r->sq_tail, start + n, __ATOMIC_RELEASE);
	do
		got = syscall(__NR_io_uring_enter, r->fd, n, 0, 0, NULL, 0);
	while (got == -1 && errno == EINTR);
	if (got < 0 || (unsigned)got < n) {
		unsigned took = got < 0 ? 0 : (unsigned)got;
		int e = got < 0 ? errno : ECANCELED;

		/* what the kernel did not take is taken back: each is
		 * reported unsent, and the caller sends it itself */
		for (unsigned k = took; k < n; k++)
			done(arg, r->sqes[r->sq_array[(start + k) & r->sq_mask]].user_data,
			     -ECANCELED);
		__atomic_store_n(r->sq_tail, start + took, __ATOMIC_RELEASE);
		if (!took)
			return -e;
		n = took;
	}
	/* With MSG_DONTWAIT every taken send completes inside the call; a
	 * tag must never outlive this function, so any that did not is
	 * waited for. */
	have = reap(r, done, arg);
	while (have < n) {
		got = syscall(__NR_io_uring_enter, r->fd, 0, n - have, IORING_ENTER_GETEVENTS, NULL,
			      0);
		if (got < 0 && errno != EINTR)
			return -errno; /* cannot happen with a live ring */
		have += reap(r, done, arg);
	}
	return 0;
}
