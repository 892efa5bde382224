/*
 * test_shm_transport.c - the shm transport between two real processes:
 * set-up over the unix socket, data through small rings, peer death, and
 * a hand-made hostile server that the client must refuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"

#define MiB (1u << 20)

static char addr[128];

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint8_t pat(uint32_t seed, uint64_t i)
{
	uint64_t x = (i + seed) * 0x9e3779b97f4a7c15ull;

	return (uint8_t)(x >> 56);
}

/* Fresh abstract socket name per test, so tests never collide. */
static void new_addr(const char *opts)
{
	static int n;

	snprintf(addr, sizeof(addr), "shm:@vrpc-test-shm-%d-%d%s", (int)getpid(), n++, opts);
}

static struct vrpc_listener *listen_ok(void)
{
	struct vrpc_listener *l = NULL;

	assert_int_equal(transport_listen(addr, &l), 0);
	assert_non_null(l);
	return l;
}

static struct vrpc_transport *accept_ok(struct vrpc_listener *l)
{
	struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
	struct vrpc_transport *t = NULL;

	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(l->ops->accept(l, &t), 0);
	assert_non_null(t);
	return t;
}

/* Waits for the child, killing it if it outlives @p ms. @return its status. */
static int reap(pid_t pid, int ms)
{
	int64_t end = now_ms() + ms;
	int status;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(5000);
	}
	return status;
}

/*
 * Sends @p out bytes of stream @p sseed and receives @p in bytes of stream
 * @p rseed at once, checking every byte received. @return 0, or -1 with a
 * message on stderr.
 */
static int pump(struct vrpc_transport *t, uint64_t out, uint32_t sseed,
		uint64_t in, uint32_t rseed, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	uint64_t sent = 0, got = 0;
	uint8_t buf[3000];

	while (sent < out || got < in) {
		bool progress = false;
		ssize_t n;

		if (sent < out) {
			/* Odd, varying sizes: the ring's wrap point moves. */
			size_t k = 1 + (size_t)((sent * 31 + 17) % sizeof(buf));

			if (k > out - sent)
				k = (size_t)(out - sent);

			for (size_t i = 0; i < k; i++)
				buf[i] = pat(sseed, sent + i);
			n = t->ops->write(t, buf, k);
			if (n > 0) {
				sent += (uint64_t)n;
				progress = true;
			} else if (n != -EAGAIN) {
				fprintf(stderr, "write: %zd\n", n);
				return -1;
			}
		}
		n = t->ops->read(t, buf, sizeof(buf));
		if (n > 0) {
			for (ssize_t i = 0; i < n; i++) {
				if (buf[i] != pat(rseed, got + (uint64_t)i)) {
					fprintf(stderr, "byte %llu differs\n",
						(unsigned long long)(got + (uint64_t)i));
					return -1;
				}
			}
			got += (uint64_t)n;
			if (got > in) {
				fprintf(stderr, "too many bytes\n");
				return -1;
			}
			progress = true;
		} else if (n != -EAGAIN) {
			fprintf(stderr, "read: %zd after %llu\n", n, (unsigned long long)got);
			return -1;
		}
		if (now_ms() > end) {
			fprintf(stderr, "timed out: sent %llu got %llu\n",
				(unsigned long long)sent, (unsigned long long)got);
			return -1;
		}
		if (!progress && transport_wait(t, sent < out, 1000) < 0)
			return -1;
	}
	return 0;
}

/* Reads until end of stream; @return what the last read returned. */
static ssize_t read_to_end(struct vrpc_transport *t, uint64_t *total, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	uint8_t buf[4096];
	ssize_t n;

	*total = 0;
	while ((n = t->ops->read(t, buf, sizeof(buf))) != 0) {
		if (n > 0) {
			*total += (uint64_t)n;
			continue;
		}
		if (n != -EAGAIN || now_ms() > end)
			return n;
		transport_wait(t, 0, 1000);
	}
	return 0;
}

/* One read, waiting up to @p ms for data. */
static ssize_t read_wait(struct vrpc_transport *t, void *buf, size_t len, int ms)
{
	int64_t end = now_ms() + ms;
	ssize_t n;

	while ((n = t->ops->read(t, buf, len)) == -EAGAIN && now_ms() < end)
		transport_wait(t, 0, 1000);
	return n;
}

static void test_address(void **state)
{
	static const char *const bad[] = {
		"shm:", "shm:/tmp/x?order=9", "shm:/tmp/x?order=16,21", "shm:/tmp/x?order=",
		"shm:/tmp/x?order=10,10", "shm:/tmp/x?size=12", "shm:/tmp/x?order=12x",
	};
	struct vrpc_listener *l = NULL;
	const char *rest;

	assert_ptr_equal(transport_find("shm:/tmp/s", &rest), &vrpc_transport_shm);
	assert_string_equal(rest, "/tmp/s");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(transport_listen(bad[i], &l), -EINVAL);
	new_addr("?order=10,20");
	l = listen_ok();
	listener_close(l);
}

/* 10 MiB each way at once, through 1 KiB and 2 KiB rings. */
static void test_exchange(void **state)
{
	struct vrpc_listener *l;
	struct vrpc_transport *t;
	pid_t pid;

	new_addr("?order=10,11");
	l = listen_ok();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(60);
		if (transport_connect(addr, 5000, &t))
			_exit(2);
		if (pump(t, 10 * MiB, 1, 10 * MiB, 2, 50000))
			_exit(3);
		transport_close(t);
		_exit(0);
	}
	t = accept_ok(l);
	assert_int_equal(pump(t, 10 * MiB, 2, 10 * MiB, 1, 50000), 0);
	/* The client closes when done: end of stream. */
	{
		uint64_t total;

		assert_int_equal(read_to_end(t, &total, 10000), 0);
		assert_int_equal(total, 0);
	}
	assert_int_equal(reap(pid, 10000), 0);
	transport_close(t);
	listener_close(l);
}

/* The default rings, larger than the page. */
static void test_exchange_default(void **state)
{
	struct vrpc_listener *l;
	struct vrpc_transport *t;
	pid_t pid;

	new_addr("");
	l = listen_ok();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(60);
		if (transport_connect(addr, 5000, &t))
			_exit(2);
		_exit(pump(t, 3 * MiB, 5, 1 * MiB, 6, 50000) ? 3 : 0);
	}
	t = accept_ok(l);
	assert_int_equal(pump(t, 1 * MiB, 6, 3 * MiB, 5, 50000), 0);
	assert_int_equal(reap(pid, 10000), 0);
	transport_close(t);
	listener_close(l);
}

/* A client killed mid-stream: the server reads what it wrote, then EOF,
 * and writing fails with -EPIPE. */
static void test_client_dies(void **state)
{
	struct vrpc_listener *l;
	struct vrpc_transport *t;
	uint64_t total;
	pid_t pid;

	new_addr("?order=12");
	l = listen_ok();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t buf[1000] = { 0 };

		alarm(30);
		if (transport_connect(addr, 5000, &t) || t->ops->write(t, buf, 1000) != 1000)
			_exit(2);
		raise(SIGKILL); /* no close, no live 0: only the socket tells */
		_exit(3);
	}
	t = accept_ok(l);
	assert_int_equal(read_to_end(t, &total, 10000), 0);
	assert_int_equal(total, 1000);
	assert_int_equal(t->ops->write(t, "x", 1), -EPIPE);
	assert_int_equal(reap(pid, 10000) & 0x7f, SIGKILL);
	transport_close(t);
	listener_close(l);
}

/* The server dies while the client waits for data with its ring full. */
static void test_server_dies(void **state)
{
	struct vrpc_listener *l;
	struct vrpc_transport *t;
	uint8_t buf[8192] = { 0 };
	int64_t end;
	ssize_t n;
	pid_t pid;

	new_addr("?order=12");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vrpc_transport *st;
		struct pollfd pfd;

		alarm(30);
		l = listen_ok();
		pfd.fd = l->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 10000) != 1 || l->ops->accept(l, &st))
			_exit(2);
		usleep(200000);
		raise(SIGKILL);
		_exit(3);
	}
	/* Connect retries until the child listens. */
	end = now_ms() + 10000;
	while (transport_connect(addr, 1000, &t) != 0) {
		assert_true(now_ms() < end);
		usleep(10000);
	}
	/* Fill our write ring; then the next write waits for the dead peer. */
	while ((n = t->ops->write(t, buf, sizeof(buf))) > 0)
		;
	assert_int_equal(n, -EAGAIN);
	end = now_ms() + 10000;
	while ((n = t->ops->write(t, buf, 1)) == -EAGAIN) {
		assert_true(now_ms() < end);
		/* The wake-up comes from the socket's hang-up in the epoll set. */
		assert_int_equal(transport_wait(t, 1, 5000), 1);
	}
	assert_int_equal(n, -EPIPE);
	assert_int_equal(t->ops->read(t, buf, sizeof(buf)), 0);
	assert_int_equal(reap(pid, 10000) & 0x7f, SIGKILL);
	transport_close(t);
}

/* The pollable fd wakes only when the peer signals; identities are uids. */
static void test_fd_and_peer(void **state)
{
	struct vrpc_listener *l;
	struct vrpc_transport *t;
	char buf[16];
	int sv[2];
	pid_t pid;

	new_addr("?order=11,10");
	l = listen_ok();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		int ok;

		alarm(30);
		close(sv[0]);
		if (transport_connect(addr, 5000, &t))
			_exit(2);
		ok = t->peer.kind == VRPC_PEER_UID && t->peer.id == getuid() &&
		     t->peer.aux == (uint32_t)getppid();
		/* Nothing sent yet: no wake-up. */
		ok = ok && transport_wait(t, 0, 200) == 0;
		if (write(sv[1], "g", 1) != 1)
			_exit(2);
		ok = ok && transport_wait(t, 0, 5000) == 1 && t->ops->read(t, buf, 16) == 5 &&
		     !memcmp(buf, "hello", 5);
		/* Wait for the parent to say it read our reply. */
		ok = ok && t->ops->write(t, "ok", 2) == 2 && read(sv[1], &c, 1) == 1;
		transport_close(t);
		_exit(ok ? 0 : 4);
	}
	close(sv[1]);
	t = accept_ok(l);
	assert_int_equal(t->peer.kind, VRPC_PEER_UID);
	assert_int_equal(t->peer.id, getuid());
	assert_int_equal(t->peer.aux, pid);
	/* Always POLLIN: an eventfd or epoll set is always writable. */
	assert_int_equal(transport_poll_events(t, 1), POLLIN);
	assert_int_equal(read(sv[0], buf, 1), 1);
	assert_int_equal(t->ops->write(t, "hello", 5), 5);
	assert_int_equal(read_wait(t, buf, sizeof(buf), 5000), 2);
	assert_memory_equal(buf, "ok", 2);
	assert_int_equal(write(sv[0], "d", 1), 1);
	assert_int_equal(reap(pid, 10000), 0);
	close(sv[0]);
	transport_close(t);
	listener_close(l);
}

/* ---- a hand-made hostile server ---- */

enum fake { FAKE_NO_FDS, FAKE_PIPES, FAKE_UNSEALED, FAKE_BAD_MAGIC, FAKE_TOO_MANY, FAKE_SILENT };

static void fake_send(int c, const int *fds, int nfds, uint32_t magic)
{
	uint32_t hello[2] = { magic, 1 };
	char ctl[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = { .iov_base = hello, .iov_len = sizeof(hello) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	memset(ctl, 0, sizeof(ctl));
	if (nfds) {
		msg.msg_control = ctl;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	if (sendmsg(c, &msg, 0) < 0)
		_exit(2);
}

static void fake_server(int lfd, enum fake kind)
{
	int c = accept(lfd, NULL, NULL), fds[4], p[2];
	char b;

	if (c < 0)
		_exit(2);
	fds[0] = memfd_create("fake", kind == FAKE_UNSEALED ? 0 : MFD_ALLOW_SEALING);
	if (fds[0] < 0 || ftruncate(fds[0], 4096 + 65536 * 2) < 0)
		_exit(2);
	if (kind != FAKE_UNSEALED && fcntl(fds[0], F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		_exit(2);
	fds[1] = eventfd(0, 0);
	fds[2] = eventfd(0, 0);
	fds[3] = eventfd(0, 0);
	if (kind == FAKE_PIPES) {
		if (pipe(p) < 0)
			_exit(2);
		fds[1] = p[0];
		fds[2] = p[1];
	}
	switch (kind) {
	case FAKE_NO_FDS: fake_send(c, fds, 0, 0x4d485356u); break;
	case FAKE_BAD_MAGIC: fake_send(c, fds, 3, 0x12345678u); break;
	case FAKE_TOO_MANY: fake_send(c, fds, 4, 0x4d485356u); break;
	case FAKE_SILENT: break;
	default: fake_send(c, fds, 3, 0x4d485356u); break;
	}
	/* Stay until the client gives up. */
	if (read(c, &b, 1) < 0)
		_exit(2);
	_exit(0);
}

static void test_hostile_server(void **state)
{
	static const struct { enum fake kind; int err; } cases[] = {
		{ FAKE_NO_FDS, -EPROTO },
		{ FAKE_PIPES, -EPROTO },
		{ FAKE_UNSEALED, -EPROTO },
		{ FAKE_BAD_MAGIC, -EPROTO },
		{ FAKE_TOO_MANY, -EPROTO },
		{ FAKE_SILENT, -ETIMEDOUT },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		struct vrpc_transport *t = NULL;
		int lfd;
		pid_t pid;

		new_addr("");
		/* "shm:@name" -> abstract "\0name" */
		strcpy(sun.sun_path + 1, addr + 5);
		lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_true(lfd >= 0);
		assert_int_equal(bind(lfd, (struct sockaddr *)&sun,
				      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(addr + 4))), 0);
		assert_int_equal(listen(lfd, 1), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			alarm(30);
			fake_server(lfd, cases[i].kind);
		}
		close(lfd);
		assert_int_equal(transport_connect(addr, 500, &t), cases[i].err);
		assert_null(t);
		assert_int_equal(reap(pid, 10000), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_exchange),
		cmocka_unit_test(test_exchange_default),
		cmocka_unit_test(test_client_dies),
		cmocka_unit_test(test_server_dies),
		cmocka_unit_test(test_fd_and_peer),
		cmocka_unit_test(test_hostile_server),
	};

	/* A dead peer's socket must be an error return, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
