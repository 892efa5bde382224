/*
 * transport_xen.c - "xen:DOMID:PATH[:RECV[:SEND]]": a real vchan, libxenvchan.
 *
 * DOMID is the peer domain (decimal, below DOMID_FIRST_RESERVED), PATH the
 * xenstore directory holding the vchan's ring-ref and event-channel. When
 * listening, RECV and SEND are the minimum sizes in bytes (suffix K or M
 * allowed) of the ring this server reads and of the one it writes, each at
 * most 1M; SEND defaults to RECV, both to 64K. The server chooses the rings,
 * so a client address carries no sizes.
 *
 * PATH: xenstore characters only ([A-Za-z0-9_@/-]) and at most 49 of them,
 * because libxenvchan formats "PATH/event-channel" into a 64-byte buffer and
 * would silently cut a longer one (init.c).
 *
 * One vchan is one connection: libxenvchan_server_init() grants the ring to
 * DOMID alone and serves a single client. So once a client has mapped the
 * ring the listener hands that vchan to a transport and publishes a fresh
 * one at the same path for DOMID's next client (an appliance's channel
 * outlives each connection vappd makes to it): the taken vchan keeps its
 * grants and event channel, and its xenstore keys are overwritten by the
 * new ones, which the listener removes when it closes. If the fresh vchan
 * cannot be made the listener is spent (its fd stays quiet), which is said.
 * The calls of one client are multiplexed on its connection.
 *
 * The peer identity is VRPC_PEER_DOMID, the configured DOMID: Xen itself
 * enforces it, since only that domain can map the grants and bind the event
 * channel.
 *
 * Waking: libxenvchan_fd_for_select() is the event channel's fd, readable
 * when the peer notified us; libxenvchan_wait() then reads the pending port
 * and unmasks it (tools/libs/vchan/io.c). That read BLOCKS when no event is
 * pending, so wait() is called only after a zero-timeout poll saw the fd
 * readable. The evtchn fd always reports POLLOUT: we never ask for it; a
 * write that found the ring full has asked the reader to notify on
 * consumption, which arrives as POLLIN. The transport's fd is an epoll over
 * the event channel fd and an eventfd "kick" that starts signalled: the
 * listener may have consumed the connect event while the client already
 * wrote, so the engine must look at the ring once before trusting the fd.
 * The epoll also keeps the listener's and the transport's fds distinct.
 *
 * libxenvchan does not set ->blocking in either init function: we clear it.
 *
 * The peer's indices: libxenvchan bounds prod - cons by the ring, and when
 * the peer's indices are further apart than that it reports an empty ring
 * (or a full one) for ever: "We have no way to return errors. Locking up
 * the ring is better than the alternatives." (io.c). A connection would
 * hang there until some timeout. So each read and write checks the
 * indices first, and a ring whose indices are apart by more than its size
 * is the peer lying: -EPROTO, as the shm transport answers (struct
 * vchan_interface is the same layout), and the engine drops that
 * connection at once. No request asks for more than the ring holds
 * either, so the copies stay inside it whatever the indices say.
 *
 * Tested on the host for address parsing and clean failures without a
 * hypervisor (test_transport_xen), and against a fake library
 * (test_transport_xen_fake); end to end under real Xen (Xen 4.17 booted
 * under QEMU TCG, tests/integration/xen_vchan.sh) against Xen's own
 * vchan-socket-proxy in both roles, and a lying peer. Known hazard: when
 * libxenvchan_server_init() fails after opening gntalloc (bad DOMID, say),
 * libxenvchan_close() reads the uninitialised ->xs_path and ring buffers of
 * its own malloc'd struct; validate DOMID before listening in vappd.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libxenvchan.h>
#include <xentoollog.h>

#include "sock.h" /* sock_parse_u32 */

#define XEN_DOMID_LIMIT 0x7ff0 /* DOMID_FIRST_RESERVED */
#define XEN_RING_MAX (1u << 20) /* libxenvchan's MAX_RING_SIZE */
#define XEN_RING_DEFAULT (64u << 10)

struct xen_addr {
	uint32_t domid;
	char path[XEN_PATH_MAX + 1];
	size_t recv_min, send_min;
	int sized; /* sizes were given */
};

struct xen_transport {
	struct vrpc_transport t; /* t.fd: epoll over evfd and kick */
	struct libxenvchan *ctrl;
	int evfd;                /* the event channel's; ctrl owns it */
	int kick;
};

struct xen_listener {
	struct vrpc_listener l; /* l.fd: epoll over the current vchan's evfd */
	struct libxenvchan *ctrl; /* the vchan waiting for a client; NULL: spent */
	int evfd;
	struct xen_addr a;
};

/* ---- logging: libxen's messages go to stderr only when VRPC_DEBUG is set */

static void xen_log_vmessage(struct xentoollog_logger *logger, xentoollog_level level,
			     int errnoval, const char *context, const char *format,
			     va_list al) __attribute__((format(printf, 5, 0)));

static void xen_log_vmessage(struct xentoollog_logger *logger, xentoollog_level level,
			     int errnoval, const char *context, const char *format,
			     va_list al)
{
	/* Looked up each time: messages come only with failures. */
	if (!getenv("VRPC_DEBUG"))
		return;
	fprintf(stderr, "vrpc xen: %s: ", context ? context : "libxen");
	vfprintf(stderr, format, al);
	if (errnoval >= 0)
		fprintf(stderr, ": %s", strerror(errnoval));
	fputc('\n', stderr);
}

static void xen_log_destroy(struct xentoollog_logger *logger)
{
	/* static: nothing to free */
}

/* Without a logger of ours, each libxen handle would make one printing
 * errors to stderr: a library must not talk unless asked. */
static struct xentoollog_logger xen_logger = {
	.vmessage = xen_log_vmessage,
	.destroy = xen_log_destroy,
};

/* Our own failures go the same way: libxenvchan's init says nothing of why. */
static void xen_log(int errnoval, const char *format, ...)
	__attribute__((format(printf, 2, 3)));
static void xen_log(int errnoval, const char *format, ...)
{
	va_list al;

	va_start(al, format);
	xen_logger.vmessage(&xen_logger, XTL_ERROR, errnoval, "vrpc", format, al);
	va_end(al);
}

/* ---- addresses */

/* "N", "NK" or "NM" bytes, 1 .. XEN_RING_MAX. */
static int xen_parse_size(const char *s, size_t len, size_t *out)
{
	uint32_t v, unit = 1;

	if (len > 0 && (s[len - 1] == 'K' || s[len - 1] == 'k'))
		unit = 1u << 10;
	else if (len > 0 && (s[len - 1] == 'M' || s[len - 1] == 'm'))
		unit = 1u << 20;
	if (unit != 1)
		len--;
	if (sock_parse_u32(s, len, XEN_RING_MAX / unit, &v) || v == 0)
		return -EINVAL;
	*out = (size_t)v * unit;
	return 0;
}

static int xen_path_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '@' || c == '/';
}

/* Parses "DOMID:PATH[:RECV[:SEND]]". @return 0, -EINVAL, -ENAMETOOLONG. */
static int xen_parse(const char *rest, struct xen_addr *a)
{
	const char *p = strchr(rest, ':'), *end, *colon;
	size_t len;

	memset(a, 0, sizeof(*a));
	a->recv_min = a->send_min = XEN_RING_DEFAULT;
	if (!p || sock_parse_u32(rest, (size_t)(p - rest), XEN_DOMID_LIMIT - 1, &a->domid))
		return -EINVAL;
	p++;
	end = strchr(p, ':');
	len = end ? (size_t)(end - p) : strlen(p);
	if (len == 0)
		return -EINVAL;
	if (len > XEN_PATH_MAX)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < len; i++)
		if (!xen_path_char(p[i]))
			return -EINVAL;
	memcpy(a->path, p, len);
	if (!end)
		return 0;
	a->sized = 1;
	p = end + 1;
	colon = strchr(p, ':');
	len = colon ? (size_t)(colon - p) : strlen(p);
	if (xen_parse_size(p, len, &a->recv_min))
		return -EINVAL;
	a->send_min = a->recv_min;
	if (colon && xen_parse_size(colon + 1, strlen(colon + 1), &a->send_min))
		return -EINVAL; /* also catches a third size: it is not a number */
	return 0;
}

/* libxen sets errno on most failures, not all (a NULL for a bad size, say). */
static int xen_errno(void)
{
	return errno ? -errno : -EIO;
}

/* ---- the transport */

static void xen_close(struct vrpc_transport *t)
{
	struct xen_transport *xt = (struct xen_transport *)t;

	if (!xt)
		return;
	if (xt->t.fd >= 0)
		close(xt->t.fd);
	if (xt->kick >= 0)
		close(xt->kick);
	/* Tells the peer we left (srv_live/cli_live = 0 and an event), and the
	 * server side removes its xenstore directory. */
	libxenvchan_close(xt->ctrl);
	free(xt);
}

static int epoll_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Wraps @p ctrl (always taken over, closed on failure) in a transport. */
static int xen_transport_new(struct libxenvchan *ctrl, uint32_t domid,
			     struct vrpc_transport **out)
{
	struct xen_transport *xt = calloc(1, sizeof(*xt));
	int err;

	if (!xt) {
		libxenvchan_close(ctrl);
		return -ENOMEM;
	}
	xt->t.ops = &vrpc_transport_xen;
	xt->ctrl = ctrl;
	xt->evfd = libxenvchan_fd_for_select(ctrl);
	xt->t.peer.kind = VRPC_PEER_DOMID;
	xt->t.peer.id = domid;
	/* Starts signalled: see "Waking" above. */
	xt->kick = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
	xt->t.fd = epoll_create1(EPOLL_CLOEXEC);
	if (xt->kick < 0 || xt->t.fd < 0) {
		err = -errno;
		goto err_xt;
	}
	err = epoll_add(xt->t.fd, xt->evfd);
	if (!err)
		err = epoll_add(xt->t.fd, xt->kick);
	if (err)
		goto err_xt;
	*out = &xt->t;
	return 0;
err_xt:
	xen_close(&xt->t);
	return err;
}

static int fd_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	do
		n = poll(&pfd, 1, 0);
	while (n < 0 && errno == EINTR);
	return n > 0 && (pfd.revents & POLLIN);
}

static void xen_poll_done(struct vrpc_transport *t)
{
	struct xen_transport *xt = (struct xen_transport *)t;
	uint64_t v;

	if (read(xt->kick, &v, sizeof(v)) < 0) {
		/* EAGAIN: no kick pending, nothing to drain */
	}
	/* wait() blocks in read() unless an event is pending. */
	if (fd_readable(xt->evfd))
		libxenvchan_wait(xt->ctrl);
}

static short xen_poll_events(struct vrpc_transport *t, int want_write)
{
	/* Room to write is announced by an event too: POLLIN covers both. */
	return POLLIN;
}

/* Checks @p r's indices (each read once) and bounds a request of *@p len
 * bytes by the ring's size: see "The peer's indices" above. @return 0, or
 * -EPROTO when the indices are further apart than the ring holds: a lie. */
static int xen_ring_bound(const struct libxenvchan_ring *r, size_t *len)
{
	uint32_t prod = __atomic_load_n(&r->shr->prod, __ATOMIC_ACQUIRE);
	uint32_t cons = __atomic_load_n(&r->shr->cons, __ATOMIC_ACQUIRE);
	size_t ring = (size_t)1 << r->order;

	if (prod - cons > ring)
		return -EPROTO;
	if (*len > ring)
		*len = ring;
	return 0;
}

static ssize_t xen_read(struct vrpc_transport *t, void *buf, size_t len)
{
	struct xen_transport *xt = (struct xen_transport *)t;
	int n;

	if (xen_ring_bound(&xt->ctrl->read, &len))
		return -EPROTO;
	errno = 0;
	n = libxenvchan_read(xt->ctrl, buf, len);
	if (n > 0)
		return n;
	/* 0: empty ring, and libxenvchan asked the writer to notify us. */
	if (n == 0)
		return -EAGAIN;
	/* -1 with the peer gone is its end of stream (data it wrote before
	 * closing was read first); otherwise notifying the peer failed. */
	if (!libxenvchan_is_open(xt->ctrl))
		return 0;
	return xen_errno();
}

static ssize_t xen_write(struct vrpc_transport *t, const void *buf, size_t len)
{
	struct xen_transport *xt = (struct xen_transport *)t;
	int n;

	if (xen_ring_bound(&xt->ctrl->write, &len))
		return -EPROTO;
	errno = 0;
	n = libxenvchan_write(xt->ctrl, buf, len);
	if (n > 0)
		return n;
	if (n == 0)
		return -EAGAIN; /* ring full; the reader will notify */
	if (!libxenvchan_is_open(xt->ctrl))
		return -EPIPE;
	return xen_errno();
}

static int xen_connect(const char *rest, int timeout_ms, struct vrpc_transport **out)
{
	struct xen_addr a;
	struct libxenvchan *ctrl;
	int err = xen_parse(rest, &a);

	if (err)
		return err;
	if (a.sized)
		return -EINVAL;
	/* Not bounded by timeout_ms: client_init does not wait for anything,
	 * it fails at once when the server has not written PATH yet. */
	errno = 0;
	ctrl = libxenvchan_client_init(&xen_logger, (int)a.domid, a.path);
	if (!ctrl) {
		err = xen_errno();
		xen_log(-err, "libxenvchan_client_init(domid %u, %s) failed", a.domid, a.path);
		return err;
	}
	ctrl->blocking = 0;
	return xen_transport_new(ctrl, a.domid, out);
}

/* ---- the listener: one vchan, one connection */

static void xen_listener_close(struct vrpc_listener *l)
{
	struct xen_listener *xl = (struct xen_listener *)l;

	if (!xl)
		return;
	if (xl->l.fd >= 0)
		close(xl->l.fd);
	libxenvchan_close(xl->ctrl);
	free(xl);
}

/* Publishes a vchan at the listener's path for its domain's next client.
 * @return 0, or -errno. */
static int xen_listener_arm(struct xen_listener *xl)
{
	struct xen_addr *a = &xl->a;
	int err;

	/* libxenvchan's left ring is the one the server reads. */
	errno = 0;
	xl->ctrl = libxenvchan_server_init(&xen_logger, (int)a->domid, a->path, a->recv_min,
					   a->send_min);
	if (!xl->ctrl) {
		err = xen_errno();
		xen_log(-err, "libxenvchan_server_init(domid %u, %s) failed", a->domid, a->path);
		return err;
	}
	xl->ctrl->blocking = 0;
	xl->evfd = libxenvchan_fd_for_select(xl->ctrl);
	return epoll_add(xl->l.fd, xl->evfd);
}

static int xen_accept(struct vrpc_listener *l, struct vrpc_transport **out)
{
	struct xen_listener *xl = (struct xen_listener *)l;
	struct libxenvchan *ctrl = xl->ctrl;
	int err;

	if (!ctrl)
		return -EAGAIN; /* spent: see the top of this file */
	/* 2: no client yet. Any other value means the client mapped the ring
	 * (it may even have left already: the transport then reads EOF). */
	if (libxenvchan_is_open(ctrl) == 2) {
		/* Consume the event, or a level-triggered poll spins on it. */
		if (fd_readable(xl->evfd))
			libxenvchan_wait(ctrl);
		if (libxenvchan_is_open(ctrl) == 2)
			return -EAGAIN;
	}
	epoll_ctl(xl->l.fd, EPOLL_CTL_DEL, xl->evfd, NULL);
	xl->ctrl = NULL;
	/* The path is the listener's now: the taken vchan's close must not
	 * remove the keys of the one published next. */
	free(ctrl->xs_path);
	ctrl->xs_path = NULL;
	err = xen_listener_arm(xl);
	if (err)
		xen_log(-err, "%s: no vchan for the next client; this listener is spent",
			xl->a.path);
	return xen_transport_new(ctrl, xl->a.domid, out);
}

static const struct vrpc_listener_ops xen_listener_ops = {
	.accept = xen_accept,
	.close = xen_listener_close,
};

static int xen_listen(const char *rest, struct vrpc_listener **out)
{
	struct xen_listener *xl;
	struct xen_addr a;
	int err = xen_parse(rest, &a);

	if (err)
		return err;
	xl = calloc(1, sizeof(*xl));
	if (!xl)
		return -ENOMEM;
	xl->l.ops = &xen_listener_ops;
	xl->a = a;
	xl->l.fd = epoll_create1(EPOLL_CLOEXEC);
	if (xl->l.fd < 0) {
		err = -errno;
		goto err_xl;
	}
	err = xen_listener_arm(xl);
	if (err)
		goto err_xl;
	*out = &xl->l;
	return 0;
err_xl:
	xen_listener_close(&xl->l);
	return err;
}

const struct vrpc_transport_ops vrpc_transport_xen = {
	.scheme = "xen",
	.connect = xen_connect,
	.listen = xen_listen,
	.read = xen_read,
	.write = xen_write,
	.poll_events = xen_poll_events,
	.poll_done = xen_poll_done,
	.close = xen_close,
};
