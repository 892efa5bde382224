/*
 * test_forward.c - vrpc_forward_* (vchan-rpc/core/forward.c) between unix
 * sockets: bytes go both ways unread (not vrpc frames at all), the far
 * side may come up after the near one connected, a near side that left
 * before the far one came is never joined to it, a megabyte each way
 * under back-pressure arrives whole, and a stop with a live connection
 * returns at once.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vrpc.h"

static char dir[] = "/tmp/vrpc-fwd.XXXXXX";
static char near_path[64], far_path[64], near_addr[80], far_addr[80];

/* The far side: an echo server on its own thread, counting connections. */
struct echo {
	int lfd;
	pthread_t t;
	int accepted;
	volatile int quit;
};

static void *echo_thread(void *arg)
{
	struct echo *e = arg;
	char buf[8192];

	while (!e->quit) {
		struct pollfd p = { .fd = e->lfd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(e->lfd, NULL, NULL);
		if (c < 0)
			continue;
		__atomic_add_fetch(&e->accepted, 1, __ATOMIC_SEQ_CST);
		for (;;) {
			ssize_t n = read(c, buf, sizeof(buf));

			if (n <= 0)
				break;
			for (ssize_t off = 0; off < n;) {
				ssize_t w = write(c, buf + off, (size_t)(n - off));

				if (w <= 0)
					goto done;
				off += w;
			}
		}
done:
		close(c);
	}
	return NULL;
}

static struct echo *echo_start(void)
{
	struct echo *e = calloc(1, sizeof(*e));
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	assert_non_null(e);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", far_path);
	unlink(far_path);
	e->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(e->lfd >= 0);
	assert_int_equal(bind(e->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(e->lfd, 8), 0);
	assert_int_equal(pthread_create(&e->t, NULL, echo_thread, e), 0);
	return e;
}

static void echo_stop(struct echo *e)
{
	e->quit = 1;
	pthread_join(e->t, NULL);
	close(e->lfd);
	unlink(far_path);
	free(e);
}

static int dial(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", near_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static void read_all(int fd, void *buf, size_t len, int timeout_ms)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		assert_true(poll(&p, 1, timeout_ms) == 1);
		n = read(fd, (char *)buf + got, len - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(near_path, sizeof(near_path), "%s/near.sock", dir);
	snprintf(far_path, sizeof(far_path), "%s/far.sock", dir);
	snprintf(near_addr, sizeof(near_addr), "unix:%s", near_path);
	snprintf(far_addr, sizeof(far_addr), "unix:%s", far_path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(near_path);
	unlink(far_path);
	rmdir(dir);
	return 0;
}

/* Bytes that are no vrpc frame come back as they went. */
static void test_bytes_unread(void **state)
{
	struct echo *e = echo_start();
	struct vrpc_forward *f = vrpc_forward_start(near_addr, far_addr);
	unsigned char out[300], in[300];
	int fd;

	(void)state;
	assert_non_null(f);
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (unsigned char)(i * 7 + 3);
	fd = dial();
	assert_int_equal(write(fd, out, sizeof(out)), (ssize_t)sizeof(out));
	read_all(fd, in, sizeof(in), 3000);
	assert_memory_equal(in, out, sizeof(out));
	close(fd);
	/* The next connection is served too, joined to a fresh far one. */
	fd = dial();
	assert_int_equal(write(fd, "again", 5), 5);
	read_all(fd, in, 5, 3000);
	assert_memory_equal(in, "again", 5);
	close(fd);
	vrpc_forward_stop(f);
	assert_int_equal(__atomic_load_n(&e->accepted, __ATOMIC_SEQ_CST), 2);
	echo_stop(e);
}

/* The far side comes 400 ms after the near one connected and wrote. */
static void test_far_later(void **state)
{
	struct vrpc_forward *f = vrpc_forward_start(near_addr, far_addr);
	struct echo *e;
	char in[6];
	int fd;

	(void)state;
	unlink(far_path);
	assert_non_null(f);
	fd = dial();
	assert_int_equal(write(fd, "early!", 6), 6);
	usleep(400 * 1000);
	e = echo_start();
	read_all(fd, in, 6, 3000);
	assert_memory_equal(in, "early!", 6);
	close(fd);
	vrpc_forward_stop(f);
	echo_stop(e);
}

/* A near side that left before the far side came is dropped, not joined
 * to it: the far side sees only the one that stayed. */
static void test_left_before_far(void **state)
{
	struct vrpc_forward *f = vrpc_forward_start(near_addr, far_addr);
	struct echo *e;
	char in[4];
	int fd;

	(void)state;
	unlink(far_path);
	assert_non_null(f);
	fd = dial();
	assert_int_equal(write(fd, "gone", 4), 4);
	close(fd);
	usleep(300 * 1000);
	e = echo_start();
	fd = dial();
	assert_int_equal(write(fd, "stay", 4), 4);
	read_all(fd, in, 4, 3000);
	assert_memory_equal(in, "stay", 4);
	assert_int_equal(__atomic_load_n(&e->accepted, __ATOMIC_SEQ_CST), 1);
	close(fd);
	vrpc_forward_stop(f);
	echo_stop(e);
}

/* A megabyte through, more than the buffers and socket queues hold, while
 * the sender does not read: back-pressure, then all of it, in order. */
static void test_megabyte(void **state)
{
	struct echo *e = echo_start();
	struct vrpc_forward *f = vrpc_forward_start(near_addr, far_addr);
	size_t len = 1 << 20, sent = 0, got = 0;
	unsigned char *out = malloc(len), *in = malloc(len);
	int fd;

	(void)state;
	assert_non_null(f);
	assert_non_null(out);
	assert_non_null(in);
	for (size_t i = 0; i < len; i++)
		out[i] = (unsigned char)(i ^ (i >> 8) ^ (i >> 16));
	fd = dial();
	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0) };
		ssize_t n;

		assert_true(poll(&p, 1, 5000) > 0);
		if ((p.revents & POLLOUT) && sent < len) {
			n = send(fd, out + sent, len - sent < 65536 ? len - sent : 65536,
				 MSG_DONTWAIT);
			if (n > 0)
				sent += (size_t)n;
		}
		if (p.revents & POLLIN) {
			n = read(fd, in + got, len - got);
			assert_true(n > 0);
			got += (size_t)n;
		}
	}
	assert_memory_equal(in, out, len);
	close(fd);
	vrpc_forward_stop(f);
	echo_stop(e);
	free(in);
	free(out);
}

/* Stopping with a connection in the middle returns at once. */
static void test_stop_live(void **state)
{
	struct echo *e = echo_start();
	struct vrpc_forward *f = vrpc_forward_start(near_addr, far_addr);
	int64_t t0;
	char in[2];
	int fd;

	(void)state;
	assert_non_null(f);
	fd = dial();
	assert_int_equal(write(fd, "hi", 2), 2);
	read_all(fd, in, 2, 3000);
	t0 = now_ms();
	vrpc_forward_stop(f);
	assert_true(now_ms() - t0 < 1000);
	/* and the near side learns its peer is gone */
	assert_int_equal(read(fd, in, 1), 0);
	close(fd);
	echo_stop(e);
}

static void test_bad_listen(void **state)
{
	(void)state;
	errno = 0;
	assert_null(vrpc_forward_start("nosuch:x", far_addr));
	assert_true(errno != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_unread),    cmocka_unit_test(test_far_later),
		cmocka_unit_test(test_left_before_far), cmocka_unit_test(test_megabyte),
		cmocka_unit_test(test_stop_live),       cmocka_unit_test(test_bad_listen),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
