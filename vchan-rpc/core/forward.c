/*
 * forward.c - bytes between two addresses, never parsed (vrpc.h's
 * vrpc_forward_*): a listening address, one connection at a time, each
 * joined to a fresh connection to the other address.
 *
 * It lets a process that speaks only one kind of channel reach another
 * kind: vappd's broker and its HELLO speak unix sockets, and under Xen a
 * forwarder in vappd joins them to vchans. Whoever forwards reads nothing
 * of what passes, so it decides nothing on a peer's word.
 *
 * One thread per forwarder, asleep in poll() on both sides and a stop
 * pipe. Each direction has one buffer: what one side sends waits there
 * until the other takes it, and while it is full that side is not read
 * (its own flow control holds it back). The far side is connected after
 * the near one is accepted and retried every FORWARD_RETRY_MS while the
 * near one stays: the far end may still be starting (a VM booting).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport.h"
#include "vrpc.h"

#define FORWARD_BUF (64 << 10)
#define FORWARD_RETRY_MS 100
#define FORWARD_CONNECT_MS 1000

struct dir {
	unsigned char buf[FORWARD_BUF];
	size_t off, len;
};

struct vrpc_forward {
	char *connect_addr;
	struct vrpc_listener *l;
	int stop[2];
	pthread_t thread;
	struct dir ab, ba; /* accepted -> connected, connected -> accepted */
};

static bool stopped(struct vrpc_forward *f)
{
	struct pollfd p = { .fd = f->stop[0], .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/* Moves what it can from @p from through @p d to @p to. @return 1 on
 * progress, 0 on none, -1 when either side has ended. */
static int move(struct vrpc_transport *from, struct dir *d, struct vrpc_transport *to)
{
	int progress = 0;
	ssize_t n;

	if (!d->len) {
		n = from->ops->read(from, d->buf, sizeof(d->buf));
		if (n == 0 || (n < 0 && n != -EAGAIN))
			return -1;
		if (n > 0) {
			d->off = 0;
			d->len = (size_t)n;
			progress = 1;
		}
	}
	while (d->len) {
		n = to->ops->write(to, d->buf + d->off, d->len);
		if (n == -EAGAIN)
			break;
		if (n <= 0)
			return -1;
		d->off += (size_t)n;
		d->len -= (size_t)n;
		progress = 1;
	}
	return progress;
}

/* Adds @p t's poll entry. A socket is not watched for reading while what
 * it sent still waits (it would wake us at once, again and again); the
 * shared-memory transports' fds are drained by poll_done, so they stay.
 * @return whether something is already there to do (its arm said so). */
static bool watch(struct pollfd *p, struct vrpc_transport *t, bool want_read, bool want_write)
{
	short ev = transport_poll_events(t, want_write);

	if (!want_read && vrpc_transport_is_socket(t))
		ev &= (short)~POLLIN;
	p->fd = ev ? t->fd : -1;
	p->events = ev;
	p->revents = 0;
	return ev && vrpc_transport_arm(t, want_write);
}

/* Before the far side is there: the near side is read (into f->ab, while
 * it has room) to see whether it leaves. @return 0 to try connecting
 * again, -1 to give up (it left, or the forwarder stops). */
static int wait_far(struct vrpc_forward *f, struct vrpc_transport *a)
{
	struct pollfd p[2] = { { .fd = f->stop[0], .events = POLLIN }, { .fd = -1 } };
	bool now = false;

	if (!f->ab.len) {
		ssize_t n = a->ops->read(a, f->ab.buf, sizeof(f->ab.buf));

		if (n == 0 || (n < 0 && n != -EAGAIN))
			return -1;
		if (n > 0) {
			f->ab.off = 0;
			f->ab.len = (size_t)n;
		}
	}
	if (!f->ab.len)
		now = watch(&p[1], a, true, false);
	else if (vrpc_transport_is_socket(a))
		p[1].fd = a->fd; /* no event asked: POLLHUP says it left */
	if (poll(p, 2, now ? 0 : FORWARD_RETRY_MS) < 0 && errno != EINTR)
		return -1;
	if (p[0].revents || (f->ab.len && (p[1].revents & (POLLHUP | POLLERR))))
		return -1;
	if (p[1].revents)
		transport_poll_done(a);
	return 0;
}

/* Copies both ways until a side ends or the forwarder stops. */
static void pump(struct vrpc_forward *f, struct vrpc_transport *a, struct vrpc_transport *b)
{
	for (;;) {
		struct pollfd p[3] = { { .fd = f->stop[0], .events = POLLIN } };
		int r1 = move(a, &f->ab, b), r2 = move(b, &f->ba, a);
		bool now;

		if (r1 < 0 || r2 < 0)
			return;
		if (r1 > 0 || r2 > 0)
			continue;
		now = watch(&p[1], a, !f->ab.len, f->ba.len > 0);
		now |= watch(&p[2], b, !f->ba.len, f->ab.len > 0);
		if (poll(p, 3, now ? 0 : (p[1].fd < 0 || p[2].fd < 0) ? VRPC_TRANSPORT_RETRY_MS : -1) <
			    0 &&
		    errno != EINTR)
			return;
		if (p[0].revents)
			return;
		if (p[1].revents)
			transport_poll_done(a);
		if (p[2].revents)
			transport_poll_done(b);
	}
}

static void serve_one(struct vrpc_forward *f, struct vrpc_transport *a)
{
	struct vrpc_transport *b = NULL;

	f->ab.len = f->ba.len = 0;
	while (!stopped(f)) {
		if (transport_connect(f->connect_addr, FORWARD_CONNECT_MS, &b) == 0) {
			pump(f, a, b);
			break;
		}
		b = NULL;
		/* Not there yet: keep the accepted side, and see whether it left. */
		if (wait_far(f, a) < 0)
			break;
	}
	transport_close(b);
	transport_close(a);
}

static void *forward_thread(void *arg)
{
	struct vrpc_forward *f = arg;

	while (!stopped(f)) {
		struct pollfd p[2] = { { .fd = f->stop[0], .events = POLLIN },
				       { .fd = f->l->fd, .events = POLLIN } };
		struct vrpc_transport *a = NULL;

		if (f->l->ops->accept(f->l, &a) == 0) {
			serve_one(f, a);
			continue;
		}
		if (poll(p, 2, VRPC_TRANSPORT_RETRY_MS) < 0 && errno != EINTR)
			break;
	}
	return NULL;
}

struct vrpc_forward *vrpc_forward_start(const char *listen_addr, const char *connect_addr)
{
	struct vrpc_forward *f = calloc(1, sizeof(*f));
	int err;

	if (!f)
		return NULL;
	f->stop[0] = f->stop[1] = -1;
	f->connect_addr = strdup(connect_addr);
	err = f->connect_addr ? transport_listen(listen_addr, &f->l) : -ENOMEM;
	if (!err && pipe2(f->stop, O_CLOEXEC) < 0)
		err = -errno;
	if (!err && (err = -pthread_create(&f->thread, NULL, forward_thread, f)) == 0)
		return f;
	if (f->stop[0] >= 0) {
		close(f->stop[0]);
		close(f->stop[1]);
	}
	listener_close(f->l);
	free(f->connect_addr);
	free(f);
	errno = -err;
	return NULL;
}

void vrpc_forward_stop(struct vrpc_forward *f)
{
	if (!f)
		return;
	if (write(f->stop[1], "x", 1) != 1)
		abort(); /* a pipe of our own: it cannot be full */
	pthread_join(f->thread, NULL);
	close(f->stop[0]);
	close(f->stop[1]);
	listener_close(f->l);
	free(f->connect_addr);
	free(f);
}
