/*
 * shm_ring.h - private: the vchan ring protocol over a mapped
 * struct vchan_interface, with no system calls (the shm transport adds the
 * memfd, the eventfds and the set-up socket; unit tests and the fuzzer drive
 * this directly on a malloc'd buffer).
 *
 * Layout of the shared region (a memfd for transport_shm.c), as Xen's
 * libxenvchan lays out its granted pages:
 *
 *   offset 0     struct vchan_interface (xen/io/libxenvchan.h), one page
 *   offset 1024  a ring of order 10, if either ring has order 10
 *   offset 2048  a ring of order 11, if either ring has order 11
 *   offset 4096  the left ring if its order is >= 12, then the right ring
 *                if its order is >= 12 (Xen's grant list order: left, right)
 *
 * "left" is client write / server read, "right" is client read / server
 * write. grants[] is left zero: here the rings' place follows from the orders.
 *
 * Trust: the page is shared with a peer that may be hostile. Each side keeps
 * its own index and both orders in local variables, reads the peer's index
 * once per call, checks it against what it has seen, and reports any
 * impossible state as -EPROTO, for good (the ring is then "broken").
 */
#ifndef VRPC_SHM_RING_H
#define VRPC_SHM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Debian libxen-dev's header, used for the layout itself; it has no include
 * guard, so only this header includes it. */
#include <xen/io/libxenvchan.h>

#define SHM_RING_PAGE 4096u
#define SHM_RING_ORDER_MIN 10u
#define SHM_RING_ORDER_MAX 20u
#define SHM_RING_ORDER_DEFAULT 16u

/* One direction, as seen from this side. */
struct shm_ring_dir {
	struct ring_shared *idx; /* in the shared page */
	uint8_t *buf;            /* 1 << order bytes in the shared region */
	uint32_t order;          /* local copy, fixed at set-up */
	uint32_t size;
	uint32_t mine;           /* my index: cons when reading, prod when writing */
	uint32_t seen;           /* the peer's index as last read and accepted */
	uint32_t held;           /* writing: bytes copied past mine, not yet published */
};

struct shm_ring {
	struct vchan_interface *shr;
	struct shm_ring_dir rd, wr;
	uint16_t left_order, right_order; /* as set up, to spot changes */
	uint8_t *my_notify;   /* bits the peer asks me to honour: I clear them */
	uint8_t *peer_notify; /* where I ask the peer to wake me: I set bits */
	uint8_t *my_live, *peer_live;
	uint8_t peer_live_seen;
	uint32_t *my_cpu, *peer_cpu; /* the CPU hints (SHM_RING_HINT_OFFSET) */
	uint32_t my_cpu_said;        /* what *my_cpu last got from us */
	bool is_server;
	bool peer_gone; /* the transport learnt the peer died (socket hang-up) */
	bool broken;    /* the peer corrupted the page: -EPROTO from now on */
	bool closed;
};

/** @return 0 if a pair of orders is valid (10..20, not both in the same
 *  in-page slot), else -EINVAL. */
int shm_ring_check_orders(unsigned left_order, unsigned right_order);

/** An address's "?order=N[,M]" (@p opt from the '?') into the left and
 *  right orders (N alone: both). @return 0, or -EINVAL for anything else
 *  or orders shm_ring_check_orders() refuses. */
int vrpc_shm_ring_parse_orders(const char *opt, unsigned *left, unsigned *right);

/** @return bytes of shared region the orders need (valid orders only). */
size_t shm_ring_region_size(unsigned left_order, unsigned right_order);

/**
 * Server side (the allocating side, as libxenvchan_server_init): writes a
 * fresh page into @p mem (@p len bytes, zeroed by the caller or not) with
 * srv_live 1, cli_live 2 and cli_notify asking to hear of client writes.
 * @return 0, or -EINVAL for bad orders or a region too small.
 */
int shm_ring_init_server(struct shm_ring *r, void *mem, size_t len,
			 unsigned left_order, unsigned right_order);

/**
 * Client side: reads the orders from the page once, checks them against
 * @p len, then sets cli_live 1 and asks to hear of server writes.
 * @return 0, or -EPROTO when the page does not describe a valid layout.
 */
int shm_ring_attach_client(struct shm_ring *r, void *mem, size_t len);

/**
 * Reads up to @p len bytes. Sets *@p kick when the peer asked to be told of
 * freed space (VCHAN_NOTIFY_READ), i.e. when its event channel must be
 * signalled. @return bytes (> 0), 0 at end of stream (peer not live and the
 * ring empty), -EAGAIN (after asking the peer for a wake-up), -EPROTO.
 */
ssize_t shm_ring_read(struct shm_ring *r, void *buf, size_t len, bool *kick);

/**
 * Writes up to @p len bytes (short when the ring is nearly full). *@p kick as
 * for read, for VCHAN_NOTIFY_WRITE. @return bytes (> 0, or 0 if @p len is
 * 0), -EAGAIN (after asking for a wake-up), -EPIPE (peer gone), -EPROTO.
 */
ssize_t shm_ring_write(struct shm_ring *r, const void *buf, size_t len, bool *kick);

/**
 * Copies up to @p len bytes into the ring after those already held, without
 * publishing them: the peer sees nothing until vrpc_shm_ring_publish() (or
 * the next shm_ring_write()). @return bytes (short when the ring is nearly
 * full), -EAGAIN (after asking for a wake-up), -EPIPE, -EPROTO.
 */
ssize_t vrpc_shm_ring_hold(struct shm_ring *r, const void *buf, size_t len);

/** Publishes the held bytes. *@p kick as for shm_ring_write(). */
void vrpc_shm_ring_publish(struct shm_ring *r, bool *kick);

/** @return bytes ready to read, or -EPROTO. Asks for no notification. */
int shm_ring_data_ready(struct shm_ring *r);
/** @return bytes of free space to write into, or -EPROTO. */
int shm_ring_space(struct shm_ring *r);

/**
 * Before sleeping: asks the peer to signal its next write (and, with
 * @p want_write, its next read), then looks again. @return 1 when there is
 * already something to do (data, room to write, a peer gone, a broken
 * page): do not sleep; 0 when the peer will signal.
 */
int vrpc_shm_ring_arm(struct shm_ring *r, bool want_write);

/*
 * Where each side last ran: one word per side at SHM_RING_HINT_OFFSET of the
 * page (the server's, then the client's), bytes that Xen's layout leaves
 * unused before its first in-page ring. Each holds the CPU number + 1 (0:
 * not known). Only the decision to spin reads them: a peer that lies about
 * its CPU changes how long we spin, never what we read or write.
 */
#define SHM_RING_HINT_OFFSET 512u

/** Publishes the CPU this thread runs on (a store only when it changed). */
void vrpc_shm_ring_note_cpu(struct shm_ring *r);

/** Notes our CPU, then @return whether the peer last ran on it: spinning
 *  for it would only keep it from running. */
bool vrpc_shm_ring_peer_shares_cpu(struct shm_ring *r);

/** @return 1 if the peer is live (or not yet connected), 0 if not, -EPROTO. */
int shm_ring_peer_live(struct shm_ring *r);

/** The transport learnt by other means that the peer died. */
void shm_ring_set_peer_gone(struct shm_ring *r);

/** Marks this side not live. The caller then signals the peer. */
void shm_ring_close(struct shm_ring *r);

#endif /* VRPC_SHM_RING_H */
