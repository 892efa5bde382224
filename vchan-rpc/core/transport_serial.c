/*
 * transport_serial.c - "serial:PATH": a virtio-serial port.
 *
 * PATH is either the port itself, a character device inside the guest
 * (/dev/virtio-ports/NAME), or on the host the unix socket of QEMU's
 * `-chardev socket,path=PATH,server=on,wait=off` behind
 * `-device virtserialport,chardev=...,name=NAME`. The peer is known only by
 * the port's name: VRPC_PEER_LABEL with the basename of PATH.
 *
 * What a port does, measured with Debian's 6.1 cloud kernel (virtio_console)
 * under QEMU 7.2 (see tests/integration/serial_guest.sh); the kernel side is
 * drivers/char/virtio_console.c, port_fops_read/write/poll:
 *
 *  - The port has no EOF. While the host side is not connected (nobody on
 *    the chardev socket yet, or the host closed it) read() returns 0 once no
 *    data is left, every time, and poll() reports POLLIN|POLLHUP at once,
 *    every time: a poll loop spins. When the host connects, poll() turns to
 *    POLLOUT and read() to -EAGAIN; nothing else marks the new session.
 *  - write() while the host is away fails with EAGAIN (a blocking write
 *    blocks): the guest loses nothing, it just cannot send. But what the
 *    guest wrote before the host left and the host had not read is lost
 *    with that connection, though write() had accepted it (measured: 1.2 MB
 *    accepted while the host read 20 KB and left; the next connection got
 *    none of it). Nothing of an old session reaches the next host.
 *  - Bytes the guest had not read when the host left are still returned
 *    before read() returns 0. If the host comes back before the guest
 *    looked, the guest never sees the 0: the old session's tail and the new
 *    session's first bytes arrive as one stream (measured: close + connect
 *    1 ms apart went unnoticed). The engine must therefore also treat a
 *    HELLO in the middle of a session as a new session.
 *  - Only one process may have the port open (EBUSY). When the guest closes
 *    it the host sees nothing: no EOF on the socket, and QEMU stops reading
 *    the socket, so what the host sends meanwhile waits in the socket buffer
 *    (send() succeeds until it is full) and is delivered when the guest opens
 *    the port again. The guest's close() discards what it had not read.
 *  - The host sees EOF only when QEMU itself goes away.
 *
 * So the guest side learns that the host went away from read() == 0, and
 * that it came back from the wake-up the port's wait queue gets on every
 * connection change. poll() cannot wait for that wake-up (POLLHUP is level),
 * but an edge-triggered epoll can: the port sits alone in a private epoll
 * set with EPOLLIN|EPOLLOUT|EPOLLET, which reports each wake-up of the port
 * once (data in, room out, host gone, host back) and is quiet in between.
 * That epoll fd is t->fd, readable when the port has news, so
 * poll_events() is always POLLIN: no retry timer, no spinning on POLLHUP,
 * and a returning host is seen at once. Edge-triggered is also what keeps a
 * paused server (one that stops reading until its replies drain) from
 * spinning on unread requests; it relies on the engine reading and writing
 * until -EAGAIN after each wake-up, or stopping only while it waits for room
 * to write, whose arrival is itself a wake-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sock.h"

struct serial_port {
	struct vrpc_transport t; /* t.fd: the epoll set holding port_fd */
	int port_fd;
	bool present;            /* the host side was connected when last seen */
};

static const struct vrpc_transport_ops serial_sock_ops;

static void serial_label(struct vrpc_transport *t, const char *path)
{
	const char *slash = strrchr(path, '/');

	t->peer.kind = VRPC_PEER_LABEL;
	snprintf(t->peer.label, sizeof(t->peer.label), "%s", slash ? slash + 1 : path);
}

static void port_close(struct vrpc_transport *t)
{
	struct serial_port *sp = (struct serial_port *)t;

	if (!sp)
		return;
	if (sp->port_fd >= 0)
		close(sp->port_fd);
	if (t->fd >= 0)
		close(t->fd);
	free(sp);
}

/* t->fd is the epoll set: readable when port_fd has news, whatever the
 * caller waits for. Never 0, so nobody falls back to a retry timer. */
static short port_poll_events(struct vrpc_transport *t, int want_write)
{
	return POLLIN;
}

/* Consumes the epoll set's pending report, so t->fd stops being readable
 * until the port has news again. */
static void port_poll_done(struct vrpc_transport *t)
{
	struct epoll_event ev[2];

	while (epoll_wait(t->fd, ev, 2, 0) < 0 && errno == EINTR)
		;
}

static ssize_t port_read(struct vrpc_transport *t, void *buf, size_t len)
{
	struct serial_port *sp = (struct serial_port *)t;
	ssize_t n;

	do
		n = read(sp->port_fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		sp->present = true;
		return n;
	}
	if (n == 0) {
		/* The port's "no host connected" (there is no EOF): report the
		 * loss once, then wait quietly for the host's return. */
		if (!sp->present)
			return -EAGAIN;
		sp->present = false;
		return -ENOTCONN;
	}
	if (errno == EAGAIN) {
		/* Only a connected host makes an empty port say EAGAIN. */
		sp->present = true;
		return -EAGAIN;
	}
	return -errno; /* ENODEV: the port was unplugged */
}

static ssize_t port_write(struct vrpc_transport *t, const void *buf, size_t len)
{
	struct serial_port *sp = (struct serial_port *)t;
	ssize_t n;

	do
		n = write(sp->port_fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

static int port_open(const char *path, struct vrpc_transport **out)
{
	struct serial_port *sp = calloc(1, sizeof(*sp));
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET };
	struct pollfd pfd = { .events = POLLIN | POLLOUT };
	int err;

	if (!sp)
		return -ENOMEM;
	sp->t.ops = &vrpc_transport_serial;
	sp->t.fd = sp->port_fd = -1;
	sp->port_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (sp->port_fd < 0)
		goto err_errno;
	sp->t.fd = epoll_create1(EPOLL_CLOEXEC);
	if (sp->t.fd < 0)
		goto err_errno;
	/* Adding reports the port's state once, as a first edge. */
	ev.data.fd = sp->port_fd;
	if (epoll_ctl(sp->t.fd, EPOLL_CTL_ADD, sp->port_fd, &ev) < 0)
		goto err_errno;
	pfd.fd = sp->port_fd;
	if (poll(&pfd, 1, 0) < 0)
		goto err_errno;
	/* Known now, so an absent host at start is not reported as a loss. */
	sp->present = !(pfd.revents & POLLHUP);
	serial_label(&sp->t, path);
	*out = &sp->t;
	return 0;
err_errno:
	err = -errno;
	port_close(&sp->t);
	return err;
}

/* The host side: a unix socket QEMU listens on, so the unix transport's
 * connect, with the port's name as the peer's identity (the socket's
 * SO_PEERCRED would only name QEMU). */
static int sock_open(const char *path, int timeout_ms, struct vrpc_transport **out)
{
	int err = vrpc_transport_unix.connect(path, timeout_ms, out);

	if (err)
		return err;
	(*out)->ops = &serial_sock_ops;
	memset(&(*out)->peer, 0, sizeof((*out)->peer));
	serial_label(*out, path);
	return 0;
}

static int serial_open(const char *rest, int timeout_ms, struct vrpc_transport **out)
{
	struct stat st;

	/* "@name" would be the unix transport's abstract socket; a port is a
	 * file, so it must exist. */
	if (!rest[0] || rest[0] == '@')
		return -EINVAL;
	if (stat(rest, &st) < 0)
		return -errno;
	if (S_ISCHR(st.st_mode))
		return port_open(rest, out);
	if (S_ISSOCK(st.st_mode))
		return sock_open(rest, timeout_ms, out);
	return -EINVAL;
}

/* A client inside a guest opens the port as a server does: whether the host
 * is there shows when the HELLO can be written. */
static int serial_connect(const char *rest, int timeout_ms, struct vrpc_transport **out)
{
	return serial_open(rest, timeout_ms, out);
}

/* A server serves the port in place, or the host side of one (a connection
 * made outward to QEMU's socket). */
static int serial_attach(const char *rest, struct vrpc_transport **out)
{
	return serial_open(rest, 5000, out);
}

/* The host side's connection, made by another process (vappd's parent for
 * its broker); its name is not known here. */
static int serial_from_fd(int fd, struct vrpc_transport **out)
{
	int err = vrpc_sock_from_fd(fd, &serial_sock_ops, NULL, out);

	if (!err)
		serial_label(*out, "channel");
	return err;
}

static const struct vrpc_transport_ops serial_sock_ops = {
	.scheme = "serial",
	.read = sock_read,
	.write = sock_write,
	.close = sock_close,
};

const struct vrpc_transport_ops vrpc_transport_serial = {
	.scheme = "serial",
	.connect = serial_connect,
	.attach = serial_attach,
	.read = port_read,
	.write = port_write,
	.poll_events = port_poll_events,
	.poll_done = port_poll_done,
	.close = port_close,
	.from_fd = serial_from_fd,
};
