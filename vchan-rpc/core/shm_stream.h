/*
 * shm_stream.h - private: the byte stream over a vchan ring (shm_ring.h),
 * shared by the transports whose memory is a ring: shm (two processes, a
 * memfd and eventfds) and ivshmem (two VMs, a PCI device's memory and its
 * doorbell). Each embeds a struct shm_stream first, sets how the peer is
 * signalled, and uses these functions as its vrpc_transport_ops.
 */
#ifndef VRPC_SHM_STREAM_H
#define VRPC_SHM_STREAM_H

#include <stdbool.h>
#include <sys/types.h>

#include "shm_ring.h"
#include "transport.h"

struct shm_stream {
	struct vrpc_transport t; /* t.fd: where the peer's signal wakes us */
	struct shm_ring ring;
	int efd_in;              /* the eventfd the peer's signal lands in */
	/* Signals the peer (its event channel, its doorbell). */
	void (*kick)(struct shm_stream *s);
	/* Asked when a wake-up came with no signal: did the peer die? NULL:
	 * the peer's death is told through the ring alone. */
	bool (*peer_hung_up)(struct shm_stream *s);
	/* Both ends run on one kernel, so the CPU words of the page mean
	 * something (shm_ring.h): false between two VMs. */
	bool cpu_hints;
	bool holding; /* see ops->hold */
};

ssize_t vrpc_shm_stream_read(struct vrpc_transport *t, void *buf, size_t len);
ssize_t vrpc_shm_stream_write(struct vrpc_transport *t, const void *buf, size_t len);
void vrpc_shm_stream_hold(struct vrpc_transport *t, bool on);
short vrpc_shm_stream_poll_events(struct vrpc_transport *t, int want_write);
void vrpc_shm_stream_poll_done(struct vrpc_transport *t);
int vrpc_shm_stream_arm(struct vrpc_transport *t, int want_write);
int vrpc_shm_stream_ready(struct vrpc_transport *t, int want_write);
size_t vrpc_shm_stream_room(struct vrpc_transport *t);

/* The stream's part of a struct vrpc_transport_ops. */
#define SHM_STREAM_OPS                                        \
	.read = vrpc_shm_stream_read,                         \
	.write = vrpc_shm_stream_write,                       \
	.poll_events = vrpc_shm_stream_poll_events,           \
	.poll_done = vrpc_shm_stream_poll_done,               \
	.ready = vrpc_shm_stream_ready,                       \
	.room = vrpc_shm_stream_room,                         \
	.hold = vrpc_shm_stream_hold,                         \
	.arm = vrpc_shm_stream_arm

#endif /* VRPC_SHM_STREAM_H */
