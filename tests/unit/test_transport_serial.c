/*
 * test_transport_serial.c - "serial:PATH" without a VM: which PATH is which
 * side, the host side over a unix socket, and the port side over a pty (a
 * character device that, like a port, has no EOF while its other end is
 * open, and reads 0 once that end hangs up). What only a real virtio port
 * does is tested by tests/integration/serial_guest.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vrpc-serial-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* "serial:PATH" */
static const char *addr_of(const char *path)
{
	static char addr[160];

	snprintf(addr, sizeof(addr), "serial:%s", path);
	return addr;
}

static int attach(const char *path, struct vrpc_transport **t)
{
	return transport_attach(addr_of(path), t);
}

static void test_bad_paths(void **state)
{
	struct fixture *f = *state;
	struct vrpc_transport *t = NULL;
	struct vrpc_listener *l = NULL;
	int fd;

	assert_int_equal(transport_attach("serial:", &t), -EINVAL);
	assert_int_equal(transport_connect("serial:", 100, &t), -EINVAL);
	/* An abstract socket is the unix transport's; a port is a file. */
	assert_int_equal(transport_connect("serial:@vrpc0", 100, &t), -EINVAL);
	snprintf(f->path, sizeof(f->path), "%s/missing", f->dir);
	assert_int_equal(attach(f->path, &t), -ENOENT);
	/* Neither a character device nor a socket. */
	assert_int_equal(attach(f->dir, &t), -EINVAL);
	snprintf(f->path, sizeof(f->path), "%s/file", f->dir);
	fd = open(f->path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(attach(f->path, &t), -EINVAL);
	/* A port is opened in place, never listened on. */
	assert_int_equal(transport_listen("serial:/dev/virtio-ports/x", &l), -ENOTSUP);
	assert_null(t);
	assert_null(l);
}

static int unix_listen_at(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static ssize_t read_wait(struct vrpc_transport *t, void *buf, size_t len)
{
	ssize_t n;

	for (int i = 0; i < 50; i++) {
		n = t->ops->read(t, buf, len);
		if (n != -EAGAIN)
			return n;
		transport_wait(t, 0, 100);
	}
	return -ETIMEDOUT;
}

/* The host side: QEMU's chardev socket, named by the port's socket file. */
static void test_host_side_socket(void **state)
{
	struct fixture *f = *state;
	struct vrpc_transport *t = NULL, *t2 = NULL;
	char buf[16];
	int lfd, peer;

	snprintf(f->path, sizeof(f->path), "%s/vrpc0.sock", f->dir);
	lfd = unix_listen_at(f->path);
	assert_int_equal(attach(f->path, &t2), 0); /* outward, for a server */
	transport_close(t2);
	peer = accept(lfd, NULL, NULL);
	close(peer);

	assert_int_equal(transport_connect(addr_of(f->path), 1000, &t), 0);
	assert_int_equal(t->peer.kind, VRPC_PEER_LABEL);
	assert_string_equal(t->peer.label, "vrpc0.sock");
	peer = accept(lfd, NULL, NULL);
	assert_true(peer >= 0);
	assert_int_equal(t->ops->write(t, "ping", 4), 4);
	assert_int_equal(read(peer, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(t->ops->read(t, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(write(peer, "pong", 4), 4);
	assert_int_equal(read_wait(t, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pong", 4);
	/* QEMU gone: the one EOF the host side ever sees. */
	close(peer);
	assert_int_equal(read_wait(t, buf, sizeof(buf)), 0);
	transport_close(t);
	close(lfd);
}

/* A raw pty, so that bytes pass unchanged. @return the master; *name is
 * the slave's path. */
static int pty_open(char *name, size_t len)
{
	struct termios tio;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), s;

	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	assert_int_equal(ptsname_r(m, name, len), 0);
	s = open(name, O_RDWR | O_NOCTTY);
	assert_true(s >= 0);
	assert_int_equal(tcgetattr(s, &tio), 0);
	cfmakeraw(&tio);
	assert_int_equal(tcsetattr(s, TCSANOW, &tio), 0);
	close(s); /* the master keeps the pty and its settings */
	return m;
}

static void test_port_side_pty(void **state)
{
	struct vrpc_transport *t = NULL;
	char name[64], buf[16];
	int m = pty_open(name, sizeof(name));

	assert_int_equal(attach(name, &t), 0);
	assert_int_equal(t->peer.kind, VRPC_PEER_LABEL);
	assert_string_equal(t->peer.label, strrchr(name, '/') + 1);
	/* t->fd is an epoll set, not the device; waiting for it needs POLLIN only. */
	assert_int_equal(transport_poll_events(t, 1), POLLIN);
	assert_int_equal(fcntl(t->fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

	/* The first report is the state at open; then nothing is news. */
	transport_wait(t, 0, 0);
	assert_int_equal(t->ops->read(t, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(transport_wait(t, 0, 50), 0);

	assert_int_equal(write(m, "ping", 4), 4);
	assert_int_equal(transport_wait(t, 0, 2000), 1);
	assert_int_equal(t->ops->read(t, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(t->ops->write(t, "pong", 4), 4);
	assert_int_equal(read(m, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pong", 4);
	transport_close(t);
	close(m);
}

/*
 * The other end goes away: a hung-up pty reads 0 and polls POLLHUP for
 * ever, as a port whose host left does. The loss is reported once
 * (-ENOTCONN), then the transport waits quietly: its fd must not stay
 * readable, or every event loop on it would spin.
 */
static void test_port_peer_gone(void **state)
{
	struct vrpc_transport *t = NULL;
	char name[64], buf[16];
	int m = pty_open(name, sizeof(name));
	ssize_t n;

	assert_int_equal(attach(name, &t), 0);
	transport_wait(t, 0, 0);
	assert_int_equal(t->ops->read(t, buf, sizeof(buf)), -EAGAIN);
	close(m);
	assert_int_equal(transport_wait(t, 0, 2000), 1);
	n = t->ops->read(t, buf, sizeof(buf));
	if (n == -EIO)
		skip(); /* this kernel's hung-up pty says EIO, not 0 */
	assert_int_equal(n, -ENOTCONN);
	assert_int_equal(t->ops->read(t, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(t->ops->read(t, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(transport_wait(t, 0, 100), 0);
	assert_int_equal(transport_wait(t, 1, 100), 0);
	transport_close(t);
}

static void test_close_null(void **state)
{
	transport_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_side_socket, setup, teardown),
		cmocka_unit_test(test_port_side_pty),
		cmocka_unit_test(test_port_peer_gone),
		cmocka_unit_test(test_close_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
