/*
 * test_transport_xen_fake.c - transport_xen.c's logic against a fake
 * libxenvchan, since this machine has no Xen.
 *
 * This program defines the libxenvchan functions itself; the linker takes
 * them before the shared library's, so transport_xen.c drives the fake. The
 * fake's "event channel fd" is an eventfd: a notification is a write to it,
 * and libxenvchan_wait() consumes one. The real wait() blocks in read() when
 * no event is pending (tools/libs/vchan/io.c): the fake counts every call
 * made while its fd is not readable, and the tests require none.
 *
 * Checked: ring sizes and path reach server_init; ->blocking is cleared; the
 * listener yields the vchan once the client is in, consumes spurious events,
 * and publishes a fresh one at the same path for the next client (the taken
 * one no longer removes the path when it closes; the listener does); a fresh transport wakes once (kick) so the engine looks
 * at the ring; return values map to -EAGAIN/EOF/-EPIPE/-errno; every ctrl is
 * closed exactly once; no read or write asks libxenvchan for more than its
 * ring holds, and indices a lying peer set further apart than the ring are
 * -EPROTO (libxenvchan would report an empty or full ring for ever).
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxenvchan.h>

#include "transport.h"

struct fake {
	struct libxenvchan ctrl; /* first: the library hands out &ctrl */
	int efd;
	int state;               /* what is_open() says: 2, 1 or 0 */
	char data[64];           /* bytes the peer wrote, waiting to be read */
	size_t len;
	size_t space;            /* room in the write ring */
	int read_error;          /* read() fails with the peer still there */
	char written[64];
	size_t wlen;
	struct ring_shared rd, wr; /* the shared indices, 64-byte rings */
};

/* What the last init was asked, and what the fake saw since. */
static struct {
	int domid;
	char path[64];
	size_t read_min, write_min;
	int server_inits, client_inits, closes;
	int path_removals;       /* closes that removed the xenstore path */
	int waits, bad_waits;
	int init_errno;          /* non-zero: the next init fails with it */
	int connect_in_wait;     /* the client comes in while wait() runs */
	size_t max_request;      /* the most a read or write asked for */
	struct fake *last;
} fk;

static int readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

static void notify(struct fake *f)
{
	uint64_t one = 1;

	assert_int_equal(write(f->efd, &one, sizeof(one)), sizeof(one));
}

static struct libxenvchan *fake_new(int domid, const char *path, int state)
{
	struct fake *f;

	if (fk.init_errno) {
		errno = fk.init_errno;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->state = state;
	f->space = sizeof(f->written);
	f->ctrl.read.shr = &f->rd;
	f->ctrl.write.shr = &f->wr;
	f->ctrl.read.order = f->ctrl.write.order = 6;
	/* The real server keeps its path, to remove it when it closes. */
	f->ctrl.xs_path = state == 2 ? strdup(path) : NULL;
	/* The real init leaves it unset: whatever malloc gave. */
	f->ctrl.blocking = 1;
	fk.domid = domid;
	snprintf(fk.path, sizeof(fk.path), "%s", path);
	fk.last = f;
	return &f->ctrl;
}

struct libxenvchan *libxenvchan_server_init(struct xentoollog_logger *logger, int domain,
					    const char *xs_path, size_t read_min,
					    size_t write_min)
{
	fk.server_inits++;
	fk.read_min = read_min;
	fk.write_min = write_min;
	return fake_new(domain, xs_path, 2);
}

struct libxenvchan *libxenvchan_client_init(struct xentoollog_logger *logger, int domain,
					    const char *xs_path)
{
	fk.client_inits++;
	return fake_new(domain, xs_path, 1);
}

void libxenvchan_close(struct libxenvchan *ctrl)
{
	struct fake *f = (struct fake *)ctrl;

	if (!f)
		return;
	fk.closes++;
	if (ctrl->xs_path) {
		fk.path_removals++;
		free(ctrl->xs_path);
	}
	close(f->efd);
	free(f);
}

int libxenvchan_fd_for_select(struct libxenvchan *ctrl)
{
	return ((struct fake *)ctrl)->efd;
}

int libxenvchan_wait(struct libxenvchan *ctrl)
{
	struct fake *f = (struct fake *)ctrl;
	uint64_t v;

	fk.waits++;
	if (!readable(f->efd)) {
		fk.bad_waits++; /* the real one would block here */
		return 0;
	}
	if (read(f->efd, &v, sizeof(v)) != sizeof(v))
		return -1;
	if (fk.connect_in_wait) {
		/* Its event folds into the one just consumed: no new one comes. */
		f->state = 1;
		memcpy(f->data, "hi", 2);
		f->len = 2;
	}
	return 0;
}

int libxenvchan_is_open(struct libxenvchan *ctrl)
{
	return ((struct fake *)ctrl)->state;
}

int libxenvchan_read(struct libxenvchan *ctrl, void *data, size_t size)
{
	struct fake *f = (struct fake *)ctrl;
	size_t n = size < f->len ? size : f->len;

	assert_false(ctrl->blocking);
	if (size > fk.max_request)
		fk.max_request = size;
	if (f->read_error) {
		errno = f->read_error;
		return -1;
	}
	if (n == 0)
		return f->state ? 0 : -1;
	memcpy(data, f->data, n);
	memmove(f->data, f->data + n, f->len - n);
	f->len -= n;
	return (int)n;
}

int libxenvchan_write(struct libxenvchan *ctrl, const void *data, size_t size)
{
	struct fake *f = (struct fake *)ctrl;
	size_t n = size < f->space ? size : f->space;

	assert_false(ctrl->blocking);
	if (size > fk.max_request)
		fk.max_request = size;
	if (!f->state)
		return -1;
	memcpy(f->written + f->wlen, data, n);
	f->wlen += n;
	f->space -= n;
	return (int)n;
}

static int setup(void **state)
{
	memset(&fk, 0, sizeof(fk));
	return 0;
}

static int teardown(void **state)
{
	/* Whatever a test did, init and close balance, and nobody blocked. */
	assert_int_equal(fk.closes, fk.server_inits + fk.client_inits);
	assert_int_equal(fk.bad_waits, 0);
	return 0;
}

static void test_listen_sizes(void **state)
{
	struct vrpc_listener *l = NULL;

	assert_int_equal(transport_listen("xen:5:data/vrpc/a", &l), 0);
	assert_int_equal(fk.domid, 5);
	assert_string_equal(fk.path, "data/vrpc/a");
	assert_int_equal(fk.read_min, 64 << 10);
	assert_int_equal(fk.write_min, 64 << 10);
	assert_false(fk.last->ctrl.blocking);
	listener_close(l);

	assert_int_equal(transport_listen("xen:32751:/local/domain/0/x:256K:4096", &l), 0);
	assert_int_equal(fk.domid, 32751);
	assert_int_equal(fk.read_min, 256 << 10);
	assert_int_equal(fk.write_min, 4096);
	listener_close(l);

	assert_int_equal(transport_listen("xen:1:a:1M", &l), 0);
	assert_int_equal(fk.read_min, 1 << 20);
	assert_int_equal(fk.write_min, 1 << 20);
	listener_close(l);
}

static void test_init_errno(void **state)
{
	struct vrpc_listener *l = NULL;

	fk.init_errno = EACCES;
	assert_int_equal(transport_listen("xen:1:a", &l), -EACCES);
	assert_null(l);
	fk.server_inits--; /* the failed one made nothing to close */
	fk.init_errno = 0;
}

static void test_accept(void **state)
{
	struct vrpc_listener *l = NULL;
	struct vrpc_transport *t = NULL, *t2 = NULL;
	struct fake *f;

	assert_int_equal(transport_listen("xen:7:data/vrpc/fw", &l), 0);
	f = fk.last;
	assert_int_not_equal(l->fd, f->efd); /* the server polls both, apart */

	/* No client: nothing pending, nothing waited on. */
	assert_false(readable(l->fd));
	assert_int_equal(l->ops->accept(l, &t), -EAGAIN);
	assert_int_equal(fk.waits, 0);

	/* An event with no client behind it is consumed, or poll would spin. */
	notify(f);
	assert_true(readable(l->fd));
	assert_int_equal(l->ops->accept(l, &t), -EAGAIN);
	assert_int_equal(fk.waits, 1);
	assert_false(readable(l->fd));

	/* The client maps the ring, says hello and notifies: one event for both. */
	f->state = 1;
	memcpy(f->data, "hello", 5);
	f->len = 5;
	notify(f);
	assert_true(readable(l->fd));
	assert_int_equal(l->ops->accept(l, &t), 0);
	assert_non_null(t);
	assert_int_equal(t->peer.kind, VRPC_PEER_DOMID);
	assert_int_equal(t->peer.id, 7);
	assert_int_equal(transport_poll_events(t, 1), POLLIN);

	/* A fresh vchan at the same path waits for the next client; the
	 * taken one's events no longer reach the listener. */
	assert_int_equal(fk.server_inits, 2);
	assert_ptr_not_equal(fk.last, f);
	assert_string_equal(fk.path, "data/vrpc/fw");
	assert_int_equal(l->ops->accept(l, &t2), -EAGAIN);
	assert_null(t2);
	notify(f);
	assert_false(readable(l->fd));
	fk.last->state = 1;
	notify(fk.last);
	assert_true(readable(l->fd));
	assert_int_equal(l->ops->accept(l, &t2), 0);
	assert_int_equal(t2->peer.id, 7);
	assert_int_equal(fk.server_inits, 3);
	listener_close(l);
	/* The third vchan with its path; the transports own theirs. */
	assert_int_equal(fk.closes, 1);
	assert_int_equal(fk.path_removals, 1);

	/* The transport wakes at once and the engine finds the hello. */
	assert_int_equal(transport_wait(t, 0, 0), 1);
	transport_close(t);
	transport_close(t2);
	assert_int_equal(fk.closes, 3);
	assert_int_equal(fk.path_removals, 1); /* the path was the listener's */
}

/* A client already in when accept first looks: no event needed. */
static void test_accept_without_event(void **state)
{
	struct vrpc_listener *l = NULL;
	struct vrpc_transport *t = NULL;

	assert_int_equal(transport_listen("xen:7:data/vrpc/fw", &l), 0);
	fk.last->state = 1;
	assert_int_equal(l->ops->accept(l, &t), 0);
	assert_int_equal(fk.waits, 0);
	transport_close(t);
	listener_close(l);
}

/* The client arrives just as accept consumes an event: the transport must
 * still wake once, or its first bytes would wait for a notify never sent. */
static void test_accept_race(void **state)
{
	struct vrpc_listener *l = NULL;
	struct vrpc_transport *t = NULL;
	char buf[8];

	assert_int_equal(transport_listen("xen:7:data/vrpc/fw", &l), 0);
	fk.connect_in_wait = 1;
	notify(fk.last);
	assert_int_equal(l->ops->accept(l, &t), 0);
	assert_int_equal(fk.waits, 1);
	assert_int_equal(transport_wait(t, 0, 0), 1);
	assert_int_equal(t->ops->read(t, buf, sizeof(buf)), 2);
	transport_close(t);
	listener_close(l);
}

static void test_read_write(void **state)
{
	struct vrpc_transport *t = NULL;
	struct fake *f;
	char buf[16];

	assert_int_equal(transport_connect("xen:0:/local/domain/0/data/vrpc/fw", 1000, &t), 0);
	f = fk.last;
	assert_int_equal(fk.client_inits, 1);
	assert_int_equal(fk.domid, 0);
	assert_string_equal(fk.path, "/local/domain/0/data/vrpc/fw");
	assert_false(f->ctrl.blocking);
	assert_int_equal(t->peer.kind, VRPC_PEER_DOMID);
	assert_int_equal(t->peer.id, 0);

	/* The first wake-up is the kick; no event was pending, so no wait(). */
	assert_true(readable(t->fd));
	transport_poll_done(t);
	assert_int_equal(fk.waits, 0);
	assert_false(readable(t->fd));
	assert_int_equal(t->ops->read(t, buf, sizeof(buf)), -EAGAIN);

	/* The peer writes and notifies. */
	memcpy(f->data, "abc", 3);
	f->len = 3;
	notify(f);
	assert_int_equal(transport_wait(t, 0, 1000), 1);
	assert_int_equal(fk.waits, 1);
	assert_false(readable(t->fd));
	assert_int_equal(t->ops->read(t, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(t->ops->read(t, buf, sizeof(buf)), -EAGAIN);

	/* A full ring is a short write, then -EAGAIN. */
	f->space = 4;
	assert_int_equal(t->ops->write(t, "vchan", 5), 4);
	assert_int_equal(t->ops->write(t, "n", 1), -EAGAIN);
	assert_memory_equal(f->written, "vcha", 4);

	/* A broken notify with the peer still there is an error, not EOF. */
	f->read_error = EBADF;
	assert_int_equal(t->ops->read(t, buf, sizeof(buf)), -EBADF);
	f->read_error = 0;

	/* The peer leaves after writing: its bytes first, then end of stream. */
	memcpy(f->data, "bye", 3);
	f->len = 3;
	f->state = 0;
	assert_int_equal(t->ops->read(t, buf, sizeof(buf)), 3);
	assert_int_equal(t->ops->read(t, buf, sizeof(buf)), 0);
	assert_int_equal(t->ops->write(t, "x", 1), -EPIPE);
	transport_close(t);
}

/* A peer that lies about the indices in the shared page. */
static void test_lying_peer(void **state)
{
	struct vrpc_transport *t = NULL;
	static char big[4096];
	struct fake *f;

	assert_int_equal(transport_connect("xen:0:/local/domain/0/data/vrpc/fw", 1000, &t), 0);
	f = fk.last;
	transport_poll_done(t);
	/* Never more than the 64-byte ring in one request, either way. */
	assert_int_equal(t->ops->write(t, big, sizeof(big)), 64);
	assert_int_equal(t->ops->read(t, big, sizeof(big)), -EAGAIN);
	assert_int_equal(fk.max_request, 64);
	/* prod - cons at the ring's size is a full ring, not a lie. */
	f->rd.cons = 0xfffffff0u;
	f->rd.prod = 0x30u;
	assert_int_equal(t->ops->read(t, big, sizeof(big)), -EAGAIN);
	/* One past it is, and so is a producer behind the consumer. */
	f->rd.prod = 0x31u;
	assert_int_equal(t->ops->read(t, big, sizeof(big)), -EPROTO);
	f->rd.prod = 0xffffffe0u;
	assert_int_equal(t->ops->read(t, big, sizeof(big)), -EPROTO);
	f->rd.prod = f->rd.cons;
	/* The reader of our ring claims to have consumed more than we wrote. */
	f->wr.prod = 100;
	f->wr.cons = 101;
	assert_int_equal(t->ops->write(t, "x", 1), -EPROTO);
	f->wr.cons = 100;
	f->space = 1;
	assert_int_equal(t->ops->write(t, "x", 1), 1);
	transport_close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_listen_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_errno, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_without_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lying_peer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
