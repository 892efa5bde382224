/*
 * test_transport_hvsock.c - "hvsock:PATH:PORT" against a fake Firecracker.
 *
 * The fake muxer is a thread accepting on a unix socket as Firecracker does on
 * its uds_path: it reads the "CONNECT PORT\n" line, then answers as the test
 * case asks (a good reply, one split across writes, garbage, nothing at all,
 * a line too long, or a close), and for a good reply plays the guest: it
 * sends "hello" in the same write as the reply, then expects "world".
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "server_thread.h"
#include "transport.h"

enum mux_mode {
	MUX_OK, MUX_SPLIT, MUX_GARBAGE, MUX_CLOSE, MUX_SILENT, MUX_LONG, MUX_NOEOL,
	MUX_RELAY, /* as Firecracker: "guest" port N is the unix socket DIR/guest_N */
};

struct mux {
	enum mux_mode mode;
	char dir[64];
	char path[96];
	int lfd;
	int stop[2];         /* the test writes here to end a silent muxer */
	pthread_t thread;
	char line[64];       /* the request line as received */
	char from_guest[8];  /* what the "guest" read after its reply */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to 3 s for fd; every wait in a test is bounded. */
static int wait_in(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 3000) == 1;
}

static void write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* Copies bytes both ways until one side closes or the test stops us. */
static void mux_relay(struct mux *m, int a, int b)
{
	struct pollfd pfd[3] = {
		{ .fd = a, .events = POLLIN },
		{ .fd = b, .events = POLLIN },
		{ .fd = m->stop[0], .events = POLLIN },
	};
	char buf[4096];

	while (poll(pfd, 3, 5000) > 0 && !pfd[2].revents) {
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!pfd[i].revents)
				continue;
			n = recv(pfd[i].fd, buf, sizeof(buf), 0);
			if (n <= 0)
				return;
			write_all(pfd[1 - i].fd, buf, (size_t)n);
		}
	}
}

static int mux_connect_guest(struct mux *m)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	unsigned port;
	int fd;

	if (sscanf(m->line, "CONNECT %u\n", &port) != 1)
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/guest_%u", m->dir, port);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The stand-in for Hyper-V's socket multiplexer, as one loop (the protocol
 * it plays is short, and splitting it would hide the order of its steps). */
static void *mux_main(void *arg)
{
	struct mux *m = arg;
	size_t len = 0;
	char c;
	int fd;

	if (!wait_in(m->lfd))
		return NULL;
	fd = accept(m->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	while (len < sizeof(m->line) - 1 && wait_in(fd) && recv(fd, &c, 1, 0) == 1) {
		m->line[len++] = c;
		if (c == '\n')
			break;
	}
	switch (m->mode) {
	case MUX_RELAY: {
		/* No guest listening on the port: Firecracker just closes. */
		int gfd = mux_connect_guest(m);

		if (gfd < 0)
			break;
		write_all(fd, "OK 1073741824\n", 14);
		mux_relay(m, fd, gfd);
		close(gfd);
		break;
	}
	case MUX_OK:
		/* The guest talks first, in the very write that carries the reply. */
		write_all(fd, "OK 1073741824\nhello", 19);
		for (len = 0; len < 5 && wait_in(fd); ) {
			ssize_t n = recv(fd, m->from_guest + len, 5 - len, 0);

			if (n <= 0)
				break;
			len += (size_t)n;
		}
		break;
	case MUX_SPLIT:
		write_all(fd, "O", 1);
		usleep(50 * 1000);
		write_all(fd, "K 10737", 7);
		usleep(50 * 1000);
		write_all(fd, "41824\n", 6);
		break;
	case MUX_GARBAGE:
		write_all(fd, "ERR no listener\n", 16);
		break;
	case MUX_CLOSE:
		break;
	case MUX_SILENT:
		wait_in(m->stop[0]);
		break;
	case MUX_LONG:
		/* A well-formed line, only far too long to be a reply. */
		write_all(fd, "OK 000000000000000000000000000000000000001\n", 43);
		wait_in(m->stop[0]);
		break;
	case MUX_NOEOL:
		/* Bytes that never end a line: the client must give up, not wait. */
		write_all(fd, "OKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOK", 52);
		wait_in(m->stop[0]);
		break;
	}
	close(fd);
	return NULL;
}

static void mux_start(struct mux *m, enum mux_mode mode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memset(m, 0, sizeof(*m));
	m->mode = mode;
	strcpy(m->dir, "/tmp/vrpc-hvsock-XXXXXX");
	assert_non_null(mkdtemp(m->dir));
	snprintf(m->path, sizeof(m->path), "%s/v.sock", m->dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", m->path);
	m->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(m->lfd >= 0);
	assert_int_equal(bind(m->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(m->lfd, 4), 0);
	assert_int_equal(pipe(m->stop), 0);
	assert_int_equal(pthread_create(&m->thread, NULL, mux_main, m), 0);
}

static void mux_stop(struct mux *m)
{
	/* A pipe: write(), not send(). */
	assert_int_equal(write(m->stop[1], "x", 1), 1);
	pthread_join(m->thread, NULL);
	close(m->stop[0]);
	close(m->stop[1]);
	close(m->lfd);
	unlink(m->path);
	rmdir(m->dir);
}

static int mux_connect(struct mux *m, unsigned port, int timeout_ms, struct vrpc_transport **t)
{
	char addr[128];

	snprintf(addr, sizeof(addr), "hvsock:%s:%u", m->path, port);
	return transport_connect(addr, timeout_ms, t);
}

/* Reads exactly @p len bytes from t within the usual bounds. */
static void read_exact(struct vrpc_transport *t, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = t->ops->read(t, buf + got, len - got);

		if (n == -EAGAIN) {
			assert_true(transport_wait(t, 0, 3000) > 0);
			continue;
		}
		assert_true(n > 0);
		got += (size_t)n;
	}
}

static void test_connect_ok(void **state)
{
	struct vrpc_transport *t = NULL;
	struct mux m;
	char buf[8] = "";
	ssize_t n;

	mux_start(&m, MUX_OK);
	assert_int_equal(mux_connect(&m, 52, 2000, &t), 0);
	/* Nothing the guest sent after the reply was eaten by the handshake. */
	read_exact(t, buf, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(t->ops->write(t, "world", 5), 5);
	/* The guest closes once it has read: end of stream, not an error. */
	do {
		assert_true(transport_wait(t, 0, 3000) > 0);
		n = t->ops->read(t, buf, sizeof(buf));
	} while (n == -EAGAIN);
	assert_int_equal(n, 0);
	assert_int_equal(t->peer.kind, VRPC_PEER_LABEL);
	assert_string_equal(t->peer.label, m.path);
	assert_int_equal(t->peer.aux, 52);
	transport_close(t);
	mux_stop(&m);
	assert_string_equal(m.line, "CONNECT 52\n");
	assert_memory_equal(m.from_guest, "world", 5);
}

static void test_connect_split_reply(void **state)
{
	struct vrpc_transport *t = NULL;
	struct mux m;

	mux_start(&m, MUX_SPLIT);
	assert_int_equal(mux_connect(&m, 4294967294u, 2000, &t), 0);
	transport_close(t);
	mux_stop(&m);
	assert_string_equal(m.line, "CONNECT 4294967294\n");
}

static void expect_refused(enum mux_mode mode, int expected)
{
	struct vrpc_transport *t = NULL;
	struct mux m;
	long long start;
	int err;

	mux_start(&m, mode);
	start = now_ms();
	err = mux_connect(&m, 1024, 500, &t);
	if (err != expected)
		fail_msg("mode %d: expected %d, got %d (%s)", mode, expected, err, strerror(-err));
	assert_null(t);
	/* Refusals are immediate; only a silent VMM costs the timeout. */
	if (expected != -ETIMEDOUT)
		assert_true(now_ms() - start < 400);
	mux_stop(&m);
	assert_string_equal(m.line, "CONNECT 1024\n");
}

static void test_connect_wrong_reply(void **state)
{
	expect_refused(MUX_GARBAGE, -ECONNREFUSED);
}

static void test_connect_closed(void **state)
{
	expect_refused(MUX_CLOSE, -ECONNREFUSED);
}

static void test_connect_oversized_reply(void **state)
{
	expect_refused(MUX_LONG, -ECONNREFUSED);
	expect_refused(MUX_NOEOL, -ECONNREFUSED);
}

static void test_connect_timeout(void **state)
{
	struct vrpc_transport *t = NULL;
	struct mux m;
	long long start, took;

	mux_start(&m, MUX_SILENT);
	start = now_ms();
	assert_int_equal(mux_connect(&m, 7, 300, &t), -ETIMEDOUT);
	took = now_ms() - start;
	assert_true(took >= 250 && took < 2000);
	assert_null(t);
	mux_stop(&m);
}

static void test_connect_no_vmm(void **state)
{
	struct vrpc_transport *t = NULL;

	assert_int_equal(transport_connect("hvsock:/nonexistent/v.sock:52", 500, &t), -ENOENT);
	assert_null(t);
}

static void test_bad_addresses(void **state)
{
	static const char *const bad[] = {
		"hvsock:", "hvsock:/v.sock", "hvsock::52", "hvsock:/v.sock:",
		"hvsock:/v.sock:x", "hvsock:/v.sock:-1", "hvsock:/v.sock:+1",
		"hvsock:/v.sock:052", "hvsock:/v.sock:52 ", "hvsock:/v.sock:4294967295",
		"hvsock:/v.sock:4294967296", "hvsock:/v.sock:52:",
	};
	char longpath[160];
	struct vrpc_transport *t = NULL;
	struct vrpc_listener *l = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (transport_connect(bad[i], 500, &t) != -EINVAL)
			fail_msg("connect \"%s\" was not refused with EINVAL", bad[i]);
		if (transport_listen(bad[i], &l) != -EINVAL)
			fail_msg("listen \"%s\" was not refused with EINVAL", bad[i]);
	}
	/* sun_path holds 107 characters; PATH_PORT must fit too when listening. */
	snprintf(longpath, sizeof(longpath), "hvsock:/%0104d:52", 0);
	assert_int_not_equal(transport_connect(longpath, 500, &t), -EINVAL);
	assert_int_equal(transport_listen(longpath, &l), -EINVAL);
	snprintf(longpath, sizeof(longpath), "hvsock:/%0107d:52", 0);
	assert_int_equal(transport_connect(longpath, 500, &t), -EINVAL);
	assert_null(t);
	assert_null(l);
}

/* Guest -> host: the VMM connects to PATH_PORT, then it is a plain stream. */
static void test_listen(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/vrpc-hvsock-XXXXXX", addr[96], buf[8];
	struct vrpc_listener *l = NULL;
	struct vrpc_transport *t = NULL;
	struct pollfd pfd;
	struct stat st;
	int vmm;

	assert_non_null(mkdtemp(dir));
	snprintf(addr, sizeof(addr), "hvsock:%s/v.sock:1234", dir);
	assert_int_equal(transport_listen(addr, &l), 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/v.sock_1234", dir);
	assert_int_equal(stat(sun.sun_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(l->ops->accept(l, &t), -EAGAIN);

	vmm = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(vmm, (struct sockaddr *)&sun, sizeof(sun)), 0);
	pfd = (struct pollfd){ .fd = l->fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 3000), 1);
	assert_int_equal(l->ops->accept(l, &t), 0);
	assert_int_equal(t->peer.kind, VRPC_PEER_LABEL);
	snprintf(addr, sizeof(addr), "%s/v.sock", dir);
	assert_string_equal(t->peer.label, addr);
	assert_int_equal(t->peer.aux, 1234);

	write_all(vmm, "ping", 4);
	read_exact(t, buf, 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(t->ops->write(t, "pong", 4), 4);
	assert_true(wait_in(vmm));
	assert_int_equal(recv(vmm, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "pong", 4);

	close(vmm);
	transport_close(t);
	listener_close(l);
	unlink(sun.sun_path);
	rmdir(dir);
}

enum { M_ECHO, M_COUNT, M_SLEEP, M_FAIL, M_WHOAMI };

static void echo_call(struct vrpc_client *cli, unsigned method, const char *text, char *peer,
		      size_t peer_len)
{
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	Vrpc__Test__EchoReply *reply;
	ProtobufCMessage *msg = NULL;
	char *err = NULL;

	req.text = (char *)text;
	assert_int_equal(vrpc_client_call(cli, method, &req.base, &msg, 3000, &err), VRPC_OK);
	assert_null(err);
	reply = (Vrpc__Test__EchoReply *)msg;
	if (method == M_ECHO)
		assert_string_equal(reply->text, text);
	if (peer)
		snprintf(peer, peer_len, "%s", reply->peer);
	protobuf_c_message_free_unpacked(msg, NULL);
}

/* Host -> guest: a vrpc client dials hvsock:PATH:PORT, the fake Firecracker
 * relays to the "guest" server; the RPC engine never knows. */
static void test_rpc_through_muxer(void **state)
{
	struct server_thread st;
	struct vrpc_client *cli;
	struct mux m;
	char addr[160], guest[128];

	mux_start(&m, MUX_RELAY);
	snprintf(addr, sizeof(addr), "unix:%s/guest_5000", m.dir);
	assert_int_equal(server_thread_start(&st, addr, NULL), 0);
	snprintf(addr, sizeof(addr), "hvsock:%s:5000", m.path);
	cli = vrpc_client_open(addr, &vrpc__test__echo__descriptor, NULL);
	assert_non_null(cli);
	for (int i = 0; i < 20; i++)
		echo_call(cli, M_ECHO, "through the muxer", NULL, 0);
	vrpc_client_close(cli);
	mux_stop(&m);
	server_thread_stop(&st);
	assert_string_equal(m.line, "CONNECT 5000\n");
	snprintf(guest, sizeof(guest), "%s/guest_5000", m.dir);
	unlink(guest);
	rmdir(m.dir);
}

/* Guest -> host: the server listens on hvsock PATH:PORT (the unix socket
 * PATH_PORT that Firecracker dials) and names its caller by PATH. */
static void test_rpc_listen_identity(void **state)
{
	struct server_thread st;
	struct vrpc_client *cli;
	char dir[] = "/tmp/vrpc-hvsock-XXXXXX", addr[160], peer[128], want[128];

	assert_non_null(mkdtemp(dir));
	snprintf(addr, sizeof(addr), "hvsock:%s/v.sock:6000", dir);
	assert_int_equal(server_thread_start(&st, addr, NULL), 0);
	/* The VMM's side of that connection is a plain unix stream. */
	snprintf(addr, sizeof(addr), "unix:%s/v.sock_6000", dir);
	cli = vrpc_client_open(addr, &vrpc__test__echo__descriptor, NULL);
	assert_non_null(cli);
	echo_call(cli, M_WHOAMI, "", peer, sizeof(peer));
	snprintf(want, sizeof(want), "label:%s/v.sock", dir);
	assert_string_equal(peer, want);
	vrpc_client_close(cli);
	server_thread_stop(&st);
	snprintf(addr, sizeof(addr), "%s/v.sock_6000", dir);
	unlink(addr);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_connect_no_vmm),
		cmocka_unit_test(test_connect_ok),
		cmocka_unit_test(test_connect_split_reply),
		cmocka_unit_test(test_connect_wrong_reply),
		cmocka_unit_test(test_connect_closed),
		cmocka_unit_test(test_connect_oversized_reply),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_rpc_through_muxer),
		cmocka_unit_test(test_rpc_listen_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
