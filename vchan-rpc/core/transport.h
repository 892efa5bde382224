/*
 * transport.h - private: the byte stream every vrpc transport provides.
 *
 * A transport is a reliable, ordered, non-blocking byte stream with one
 * pollable fd. The RPC engine (conn.c) never knows which transport it drives:
 * it polls t->fd for transport_poll_events(), calls transport_poll_done()
 * after a wake-up, then reads and writes until -EAGAIN.
 *
 * Each transport is a `const struct vrpc_transport_ops` in its own file
 * (transport_unix.c, transport_shm.c, ...) and is listed in transport.c's
 * table, found by the scheme before the first ':' of an address.
 */
#ifndef VRPC_TRANSPORT_H
#define VRPC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "vrpc.h"

/* When poll_events() returns 0 the peer is absent (a virtio-serial port
 * whose host side went away): do not poll fd, call read() again after this
 * many milliseconds. */
#define VRPC_TRANSPORT_RETRY_MS 100

struct vrpc_transport;
struct vrpc_listener;

struct vrpc_transport_ops {
	const char *scheme; /* "unix", "shm", ... */

	/* Client side. @p rest is the address after "scheme:". Connecting may
	 * block, bounded by @p timeout_ms. The transport returned is
	 * non-blocking. @return 0 or -errno. */
	int (*connect)(const char *rest, int timeout_ms, struct vrpc_transport **out);
	/* Server side: bind and listen. @return 0 or -errno (-ENOTSUP if the
	 * transport has no listening side). */
	int (*listen)(const char *rest, struct vrpc_listener **out);
	/* A single-connection endpoint opened in place (a virtio-serial port
	 * in a guest). NULL if not supported. @return 0 or -errno. */
	int (*attach)(const char *rest, struct vrpc_transport **out);

	/* @return bytes read (> 0), 0 at end of stream, -EAGAIN when nothing
	 * is ready (the transport has then arranged to be woken through fd),
	 * -ENOTCONN when the peer went away but may come back (serial), or
	 * another -errno for a broken stream (-EPROTO: the peer corrupted
	 * shared state). */
	ssize_t (*read)(struct vrpc_transport *t, void *buf, size_t len);
	/* @return bytes written (> 0, may be short), -EAGAIN when full (woken
	 * through fd once there is room), or -errno (-EPIPE: peer gone). */
	ssize_t (*write)(struct vrpc_transport *t, const void *buf, size_t len);
	/* Events (POLLIN/POLLOUT) to wait for on t->fd, given whether the
	 * caller has bytes waiting to be written. 0: see VRPC_TRANSPORT_RETRY_MS.
	 * NULL means POLLIN, plus POLLOUT when want_write. */
	short (*poll_events)(struct vrpc_transport *t, int want_write);
	/* Called after poll reported t->fd ready, before read/write (drain an
	 * eventfd, say). NULL if nothing to do. */
	void (*poll_done)(struct vrpc_transport *t);
	/* Would read() return anything but -EAGAIN now, or, with
	 * @p want_write, would write() take bytes? Must be cheap and make no
	 * syscall and arm no wake-up: waiters call it in a short spin before
	 * sleeping (see transport_spin). 1: yes; 0: not yet; -1: not yet,
	 * and spinning cannot help (the peer runs on our CPU). NULL for
	 * transports where only a syscall can tell. */
	int (*ready)(struct vrpc_transport *t, int want_write);
	/* For a transport whose write() is a copy into shared memory: how
	 * many bytes write() would take now (no syscall). A frame that fits
	 * is packed straight into it (conn_queue). NULL for the others. */
	size_t (*room)(struct vrpc_transport *t);
	/* With room: between hold(t, true) and hold(t, false), what write()
	 * takes is shown to the peer a piece at a time, not a write at a
	 * time (the pieces of one frame packed field by field). */
	void (*hold)(struct vrpc_transport *t, bool on);
	/* Releases everything; t may be half-built. */
	void (*close)(struct vrpc_transport *t);
	/* A process that holds no address (a confined broker) is handed sockets
	 * already made by another: @p fd, a connected stream socket, becomes
	 * a transport (the host side of this scheme's connections); and a
	 * listening one becomes a listener. Both take @p fd, also on failure.
	 * NULL where the scheme has no such socket. @return 0 or -errno. */
	int (*from_fd)(int fd, struct vrpc_transport **out);
	/* Before the caller sleeps on t->fd: a transport whose peer signals
	 * only when asked (shm) asks now, then looks again; when there is
	 * already something to do it makes t->fd readable and returns 1.
	 * NULL where the fd alone tells (sockets). @return 1 or 0. */
	int (*arm)(struct vrpc_transport *t, int want_write);
	int (*listen_fd)(int fd, struct vrpc_listener **out);
};

struct vrpc_transport {
	const struct vrpc_transport_ops *ops;
	int fd;                 /* pollable; -1 where there is none (Windows);
				 * may be an epoll set of several fds (shm, xen) */
	struct vrpc_peer peer;  /* identity of the other end, as known here */
};

struct vrpc_listener_ops {
	/* @return 0 with *out set, -EAGAIN when no connection is pending, or -errno. */
	int (*accept)(struct vrpc_listener *l, struct vrpc_transport **out);
	void (*close)(struct vrpc_listener *l);
};

struct vrpc_listener {
	const struct vrpc_listener_ops *ops;
	int fd; /* pollable for POLLIN when a connection is pending */
};

/* transport.c: address parsing and the table of transports. */
const struct vrpc_transport_ops *transport_find(const char *addr, const char **rest);
int transport_connect(const char *addr, int timeout_ms, struct vrpc_transport **out);
int transport_listen(const char *addr, struct vrpc_listener **out);
int transport_attach(const char *addr, struct vrpc_transport **out);
short transport_poll_events(struct vrpc_transport *t, int want_write);
void transport_poll_done(struct vrpc_transport *t);
/* ops->arm, when the transport has one; else 0. */
int vrpc_transport_arm(struct vrpc_transport *t, int want_write);
void transport_close(struct vrpc_transport *t);
/* ops->from_fd and ops->listen_fd of @p scheme ("unix", ...); each takes
 * @p fd. @return 0, -EINVAL (no such scheme), -ENOTSUP, or -errno. */
int vrpc_transport_from_fd(const char *scheme, int fd, struct vrpc_transport **out);
int vrpc_transport_listen_fd(const char *scheme, int fd, struct vrpc_listener **out);
/* True when @p t is a plain socket (read and write are sock.h's), whose
 * fd may be handed to another process and taken back by from_fd. */
bool vrpc_transport_is_socket(const struct vrpc_transport *t);
void listener_close(struct vrpc_listener *l);

/* How long a waiter spins on a shared-memory ring before it sleeps: about
 * what a sleep and a wake-up cost. VRPC_SPIN_US in the environment changes
 * it (0: never spin, for a loaded machine). */
#define VRPC_SPIN_US_DEFAULT 50
int vrpc_spin_us(void);

/*
 * A spin that stops when it does not pay: each waiter keeps one. After a
 * spin that found nothing its budget halves (to none); after one that
 * found work it is whole again; with no budget a short spin is tried every
 * 64th wait, so a peer that became quick is noticed. With one CPU online
 * it never spins: the peer cannot run while we do.
 */
struct spin_ctl {
	int budget_us;    /* -1 before the first wait: the whole VRPC_SPIN_US */
	unsigned skipped; /* waits without a spin since the budget ran out */
};
/* Microseconds to spin before this wait (0: sleep at once). */
int vrpc_spin_budget(struct spin_ctl *s);
/* Whether that spin found work. */
void vrpc_spin_result(struct spin_ctl *s, bool found);

/* One step of a spin: tells the CPU (and a hyperthread sibling) we wait. No
 * sched_yield(): on a busy machine it hands the core to whatever else runs
 * there for a whole time slice; a peer on our own CPU is seen by ready()
 * instead, and the spin stops. */
static inline void vrpc_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Spins up to @p max_us microseconds for t->ops->ready(). A peer in shared
 * memory answers sooner than a sleep and a wake-up take.
 * @return 1 if ready, 0 if not (or the transport cannot tell, or the peer
 * needs our CPU). */
int transport_spin(struct vrpc_transport *t, int want_write, int max_us);

/* Waits up to @p timeout_ms for t to become ready for @p want_write.
 * @return > 0 ready, 0 timed out, -errno. */
int transport_wait(struct vrpc_transport *t, int want_write, int timeout_ms);

extern const struct vrpc_transport_ops vrpc_transport_unix;
extern const struct vrpc_transport_ops vrpc_transport_tcp;
extern const struct vrpc_transport_ops vrpc_transport_shm;
extern const struct vrpc_transport_ops vrpc_transport_serial;
extern const struct vrpc_transport_ops vrpc_transport_vsock;
extern const struct vrpc_transport_ops vrpc_transport_hvsock;
extern const struct vrpc_transport_ops vrpc_transport_xen;
extern const struct vrpc_transport_ops vrpc_transport_ivshmem;
/* The longest xenstore path a xen: address takes: libxenvchan formats
 * "PATH/event-channel" into 64 bytes and would cut a longer one. */
#define XEN_PATH_MAX 49

#endif /* VRPC_TRANSPORT_H */
