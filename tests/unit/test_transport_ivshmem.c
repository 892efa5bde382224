/*
 * test_transport_ivshmem.c - the ivshmem: transport. Anywhere: addresses
 * refused and a missing device said. In a VM that has two ivshmem-doorbell
 * devices on one memory (tests/integration/ivshmem_guest.sh sets
 * IVSHMEM_SERVER_DEV and IVSHMEM_CLIENT_DEV to their PCI addresses; the
 * device of each end is another VM's under vappd, the code cannot tell):
 * a stream both ways through real doorbells and MSI-X, a client that closes
 * and one that comes back to a fresh page, a client that lies about its
 * ring's index, which the server refuses (-EPROTO) and survives, and RPC
 * through the server and client of libvrpc. The live cases are skipped
 * elsewhere.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ivshmem_dev.h"
#include "server_thread.h"
#include "shm_ring.h"
#include "transport.h"

enum { M_ECHO };

static char srv_addr[64], cli_addr[64];
static const char *srv_dev, *cli_dev;

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

static bool live(void)
{
	if (!srv_dev) {
		skip();
		return false;
	}
	return true;
}

static void test_address(void **state)
{
	static const char *const bad[] = {
		"ivshmem:", "ivshmem:0000:00:05", "ivshmem:0000:00:05.0?order=9",
		"ivshmem:0000:00:05.0?size=1", "ivshmem:../../../x", "ivshmem:0000:00:05.0/..",
		"ivshmem:0000:0g:05.0",
	};
	struct vrpc_listener *l = NULL;
	struct vrpc_transport *t = NULL;
	const char *rest;

	(void)state;
	assert_ptr_equal(transport_find("ivshmem:0000:00:05.0", &rest), &vrpc_transport_ivshmem);
	assert_string_equal(rest, "0000:00:05.0");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(transport_listen(bad[i], &l), -EINVAL);
		assert_int_equal(transport_connect(bad[i], 100, &t), -EINVAL);
	}
	/* Well formed, but no such device here. */
	assert_int_equal(transport_connect("ivshmem:0000:fe:1f.7", 100, &t), -ENODEV);
	assert_int_equal(transport_listen("ivshmem:0000:fe:1f.7", &l), -ENODEV);
}

static struct vrpc_listener *listen_ok(void)
{
	struct vrpc_listener *l = NULL;

	assert_int_equal(transport_listen(srv_addr, &l), 0);
	return l;
}

static struct vrpc_transport *accept_ok(struct vrpc_listener *l)
{
	int64_t end = now_ms() + 10000;
	struct vrpc_transport *t = NULL;
	int e;

	do {
		struct pollfd pfd = { .fd = l->fd, .events = POLLIN };

		poll(&pfd, 1, 1000);
		e = l->ops->accept(l, &t);
	} while (e == -EAGAIN && now_ms() < end);
	assert_int_equal(e, 0);
	return t;
}

static struct vrpc_transport *connect_ok(void)
{
	struct vrpc_transport *t = NULL;

	assert_int_equal(transport_connect(cli_addr, 5000, &t), 0);
	return t;
}

struct connector {
	pthread_t th;
	struct vrpc_transport *t;
	int err;
};

static void *connect_main(void *arg)
{
	struct connector *c = arg;

	c->err = transport_connect(cli_addr, 10000, &c->t);
	return NULL;
}

/* A client connecting while this thread serves the listener, as the
 * appliance's loop does in its own VM: a client that finds no fresh page
 * knocks, and only the listener's accept lays one out. */
static struct vrpc_transport *connect_served(struct vrpc_listener *l,
					     struct vrpc_transport **server)
{
	struct connector c = { .err = -1 };

	assert_int_equal(pthread_create(&c.th, NULL, connect_main, &c), 0);
	*server = accept_ok(l);
	pthread_join(c.th, NULL);
	assert_int_equal(c.err, 0);
	return c.t;
}

/* Sends @p out bytes of stream @p sseed on @p a and receives them on @p b,
 * and the same from b to a at once: both directions busy together. */
static int pump2(struct vrpc_transport *a, struct vrpc_transport *b, uint64_t bytes)
{
	struct vrpc_transport *side[2] = { a, b };
	uint64_t sent[2] = { 0 }, got[2] = { 0 };
	int64_t end = now_ms() + 60000;
	uint8_t buf[5000];

	while (got[0] < bytes || got[1] < bytes) {
		for (int i = 0; i < 2; i++) {
			struct vrpc_transport *t = side[i];
			ssize_t n;

			if (sent[i] < bytes) {
				size_t k = 1 + (size_t)((sent[i] * 31 + 17) % sizeof(buf));

				if (k > bytes - sent[i])
					k = (size_t)(bytes - sent[i]);
				for (size_t j = 0; j < k; j++)
					buf[j] = pat((uint32_t)i, sent[i] + j);
				n = t->ops->write(t, buf, k);
				if (n > 0)
					sent[i] += (uint64_t)n;
				else if (n != -EAGAIN)
					return fprintf(stderr, "write %d: %zd\n", i, n), -1;
			}
			/* Side i reads what side 1 - i sent. */
			n = t->ops->read(t, buf, sizeof(buf));
			if (n > 0) {
				for (ssize_t j = 0; j < n; j++)
					if (buf[j] != pat((uint32_t)(1 - i), got[i] + (uint64_t)j))
						return fprintf(stderr, "byte %llu differs\n",
							       (unsigned long long)got[i]), -1;
				got[i] += (uint64_t)n;
			} else if (n != -EAGAIN) {
				return fprintf(stderr, "read %d: %zd\n", i, n), -1;
			}
		}
		if (now_ms() > end)
			return fprintf(stderr, "timed out\n"), -1;
	}
	return 0;
}

/* Reads until end of stream or an error, waiting on the doorbell. */
static ssize_t read_end(struct vrpc_transport *t)
{
	int64_t end = now_ms() + 10000;
	uint8_t buf[256];
	ssize_t n;

	while ((n = t->ops->read(t, buf, sizeof(buf))) != 0) {
		if (n > 0)
			continue;
		if (n != -EAGAIN || now_ms() > end)
			return n;
		transport_wait(t, 0, 1000);
	}
	return 0;
}

static void test_stream(void **state)
{
	struct vrpc_listener *l;
	struct vrpc_transport *c, *s;

	(void)state;
	if (!live())
		return;
	l = listen_ok();
	c = connect_ok();
	s = accept_ok(l);
	/* 3 MiB each way through rings the device's memory holds. */
	assert_int_equal(pump2(s, c, 3u << 20), 0);
	/* The client leaves: the server reads the end of the stream. */
	transport_close(c);
	assert_int_equal(read_end(s), 0);
	transport_close(s);
	/* And a client comes back to a fresh page. */
	c = connect_ok();
	s = accept_ok(l);
	assert_int_equal(pump2(s, c, 100000), 0);
	/* This time the server leaves first. */
	transport_close(s);
	assert_int_equal(read_end(c), 0);
	transport_close(c);
	listener_close(l);
}

/* A client that attaches by hand and says it wrote a quarter of 2^32 bytes
 * into a ring of a few KiB. */
static void test_lying_client(void **state)
{
	struct vrpc_listener *l;
	struct vrpc_transport *s, *c;
	struct ivshmem_dev liar;
	struct vchan_interface *shr;
	int64_t end;

	(void)state;
	if (!live())
		return;
	l = listen_ok();
	assert_int_equal(vrpc_ivshmem_dev_open(&liar, cli_dev), 0);
	shr = (struct vchan_interface *)liar.mem;
	end = now_ms() + 5000;
	while ((__atomic_load_n(&shr->srv_live, __ATOMIC_ACQUIRE) != 1 ||
		__atomic_load_n(&shr->cli_live, __ATOMIC_ACQUIRE) != 2) && now_ms() < end)
		usleep(10000);
	__atomic_store_n(&shr->left.prod, shr->left.cons + 0x40000000u, __ATOMIC_RELEASE);
	__atomic_store_n(&shr->cli_live, 1, __ATOMIC_RELEASE);
	vrpc_ivshmem_dev_ring(&liar, liar.id ^ 1u, IVSHMEM_VEC_CONN);
	vrpc_ivshmem_dev_ring(&liar, liar.id ^ 1u, IVSHMEM_VEC_RING);
	s = accept_ok(l);
	assert_int_equal(read_end(s), -EPROTO);
	transport_close(s);
	vrpc_ivshmem_dev_close(&liar);
	/* The liar left its live 1 behind: the server serves the next,
	 * honest client all the same. */
	c = connect_served(l, &s);
	assert_int_equal(pump2(s, c, 65536), 0);
	transport_close(c);
	transport_close(s);
	listener_close(l);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void test_rpc(void **state)
{
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	struct server_thread st;
	struct vrpc_client *cli;
	ProtobufCMessage *reply;
	uint64_t rtt[200];
	uint8_t *data;

	(void)state;
	if (!live())
		return;
	assert_int_equal(server_thread_start(&st, srv_addr, NULL), 0);
	for (int round = 0; round < 2; round++) {
		/* Twice: the second client comes after the first has closed. */
		cli = vrpc_client_open(cli_addr, &vrpc__test__echo__descriptor, NULL);
		assert_non_null(cli);
		data = malloc(300000);
		assert_non_null(data);
		for (size_t i = 0; i < 300000; i++)
			data[i] = (uint8_t)(i * 7);
		req.text = "big";
		req.data.data = data;
		req.data.len = 300000;
		assert_int_equal(vrpc_client_call(cli, M_ECHO, &req.base, &reply, 20000, NULL),
				 VRPC_OK);
		assert_int_equal(((Vrpc__Test__EchoReply *)reply)->data.len, 300000);
		assert_memory_equal(((Vrpc__Test__EchoReply *)reply)->data.data, data, 300000);
		protobuf_c_message_free_unpacked(reply, NULL);
		free(data);
		req.text = "ping";
		req.data.len = 0;
		for (int i = 0; i < 200; i++) {
			uint64_t t0 = now_us();

			assert_int_equal(vrpc_client_call(cli, M_ECHO, &req.base, &reply, 5000,
							  NULL), VRPC_OK);
			rtt[i] = now_us() - t0;
			protobuf_c_message_free_unpacked(reply, NULL);
		}
		qsort(rtt, 200, sizeof(rtt[0]), cmp_u64);
		printf("IVSHMEM-RTT-US p50 %llu p99 %llu\n", (unsigned long long)rtt[100],
		       (unsigned long long)rtt[198]);
		vrpc_client_close(cli);
	}
	assert_true(st.echo.calls >= 402);
	server_thread_stop(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_lying_client),
		cmocka_unit_test(test_rpc),
	};

	srv_dev = getenv("IVSHMEM_SERVER_DEV");
	cli_dev = getenv("IVSHMEM_CLIENT_DEV");
	if (srv_dev && cli_dev) {
		snprintf(srv_addr, sizeof(srv_addr), "ivshmem:%s", srv_dev);
		snprintf(cli_addr, sizeof(cli_addr), "ivshmem:%s", cli_dev);
	} else {
		srv_dev = cli_dev = NULL;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
