/*
 * ivshmem.h - one direct channel between two VMs under QEMU/KVM, the host
 * side: a shared-memory object both QEMUs map as an ivshmem-doorbell
 * device's BAR2, and the ivshmem-server protocol (QEMU's
 * docs/specs/ivshmem-spec.txt) that hands each QEMU that memory, the
 * eventfds that interrupt it, and those that interrupt the other side.
 * Debian ships no ivshmem-server, so vappd speaks the protocol itself.
 * Inside the VMs, libvrpc's ivshmem: transport drives the ring
 * (vchan-rpc/core/transport_ivshmem.c): the appliance is its server.
 *
 * Who is who is fixed here, never by a VM: each side has a listening socket
 * of its own, and a connection on side i is peer i (VAPPD_IVSHMEM_APPLIANCE,
 * VAPPD_IVSHMEM_GUEST). A second connection on a side that has its peer is
 * closed at once. The memory is a sealed memfd made for this channel alone:
 * neither QEMU can grow or shrink it, and no other channel ever sees it.
 *
 * The protocol, server to client only, each message one little-endian
 * int64 with at most one fd (SCM_RIGHTS): version 0; the client's ID; -1
 * with the memory; the other peer's ID once per vector with the eventfd
 * that interrupts it; the client's own ID once per vector with the eventfd
 * it is interrupted on. Nothing after that opening. Each side's eventfds
 * are the channel's, the same for every QEMU that comes on that side, so a
 * QEMU learns its peer's at once, whether that peer is there yet or not,
 * and keeps them when the peer's QEMU is replaced: QEMU 7.2 must never be
 * told that a peer ID left and came back (its ivshmem then writes the new
 * eventfds into the array it freed: heap corruption, measured as "free():
 * corrupted unsorted chunks" on the next message), which QEMU's own
 * server avoids by never reusing an ID.
 */
#ifndef VAPPD_IVSHMEM_H
#define VAPPD_IVSHMEM_H

#include <stddef.h>
#include <stdint.h>

#define VAPPD_IVSHMEM_APPLIANCE 0
#define VAPPD_IVSHMEM_GUEST 1
/* Interrupt vectors per peer: 0 "the ring changed", 1 "a side attached or
 * left" (transport_ivshmem.c). */
#define VAPPD_IVSHMEM_VECTORS 2
/* The memory: a power of two (it is a PCI BAR) in this range. */
#define VAPPD_IVSHMEM_MIN_SIZE 4096
#define VAPPD_IVSHMEM_MAX_SIZE (64u << 20)

struct vappd_ivshmem {
	int listen_fd[2];   /* side i's unix socket, listening */
	int conn_fd[2];     /* peer i's connection, or -1 */
	int shm_fd;         /* the memory: memfd, sealed */
	size_t size;
	/* evt[i][v]: writing 1 interrupts peer i on vector v */
	int evt[2][VAPPD_IVSHMEM_VECTORS];
};

/**
 * Makes the memory (@p size bytes, zeroed) and the eventfds, and listens on
 * @p path[0] (the appliance's QEMU connects there) and @p path[1] (the
 * guest's). @return 0, or -errno with @p err saying what failed; -EINVAL
 * for a size that is not a power of two in range.
 */
int vappd_ivshmem_open(struct vappd_ivshmem *c, const char *const path[2], size_t size,
		       char *err, size_t errlen);
/**
 * Accepts a connection on side @p side (its listening socket is readable)
 * and sends it the opening messages; what was rung for that side before
 * is dropped. @return 0; -EBUSY when the side already has its peer (the
 * new connection is closed); -errno (the connection is closed).
 */
int vappd_ivshmem_accept(struct vappd_ivshmem *c, int side);
/** Peer @p side went away: its connection is closed, its side of the ring
 *  marked not live, and the other VM interrupted on both vectors. */
void vappd_ivshmem_drop(struct vappd_ivshmem *c, int side);
/** Closes everything; the paths are unlinked by the caller. */
void vappd_ivshmem_close(struct vappd_ivshmem *c);

#endif /* VAPPD_IVSHMEM_H */
