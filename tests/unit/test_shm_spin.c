/*
 * test_shm_spin.c - how the shm transport waits: a waiter spins for its
 * peer only while that pays, so on a busy machine (the peer on our own
 * CPU) it sleeps at once; an idle server sleeps; and a peer that floods the
 * server's eventfd costs the server no more CPU than it spends itself.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "server_thread.h"
#include "shm_ring.h"

enum { M_ECHO };

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* CPU time of @p clock in microseconds. */
static double cpu_us(clockid_t clock)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(clock, &ts), 0);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static clockid_t server_clock(struct server_thread *st)
{
	clockid_t c;

	assert_int_equal(pthread_getcpuclockid(st->thread, &c), 0);
	return c;
}

static void start(struct server_thread *st, const char *name)
{
	char addr[128];

	snprintf(addr, sizeof(addr), "shm:@vrpc-test-shm-spin-%s-%d", name, (int)getpid());
	assert_int_equal(server_thread_start(st, addr, NULL), 0);
}

static struct vrpc_client *open_echo(struct server_thread *st)
{
	struct vrpc_client *cli = vrpc_client_open(st->addr, &vrpc__test__echo__descriptor, NULL);

	assert_non_null(cli);
	return cli;
}

static void call_echo(struct vrpc_client *cli)
{
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply;

	req.text = "x";
	assert_int_equal(vrpc_client_call(cli, M_ECHO, &req.base, &reply, 5000, NULL), VRPC_OK);
	protobuf_c_message_free_unpacked(reply, NULL);
}

/* ---- the hints themselves, on a malloc'd page ---- */

static void test_hints(void **state)
{
	size_t len = shm_ring_region_size(12, 12);
	uint8_t *mem = calloc(1, len);
	struct shm_ring srv, cli;
	uint32_t *hint;

	assert_non_null(mem);
	hint = (uint32_t *)(mem + SHM_RING_HINT_OFFSET);
	assert_int_equal(shm_ring_init_server(&srv, mem, len, 12, 12), 0);
	assert_int_equal(shm_ring_attach_client(&cli, mem, len), 0);
	/* Nothing said yet: no sharing assumed. */
	assert_false(vrpc_shm_ring_peer_shares_cpu(&srv));
	/* Both sides on this thread, so on one CPU. */
	assert_true(vrpc_shm_ring_peer_shares_cpu(&cli));
	assert_true(vrpc_shm_ring_peer_shares_cpu(&srv));
	assert_int_equal(hint[0], (uint32_t)sched_getcpu() + 1);
	assert_int_equal(hint[1], (uint32_t)sched_getcpu() + 1);
	/* A peer that says another CPU, or garbage, is only not sharing. */
	hint[1] = hint[0] + 1;
	assert_false(vrpc_shm_ring_peer_shares_cpu(&srv));
	hint[1] = 0xffffffffu;
	assert_false(vrpc_shm_ring_peer_shares_cpu(&srv));
	/* The hints sit outside the vchan layout: the rings still work. */
	{
		bool kick;
		char out[4];

		assert_int_equal(shm_ring_write(&cli, "abc", 3, &kick), 3);
		assert_int_equal(shm_ring_read(&srv, out, sizeof(out), &kick), 3);
		assert_memory_equal(out, "abc", 3);
	}
	free(mem);
}

/* ---- a busy machine: the peer and a CPU hog on our CPU ---- */

static volatile int hog_stop;

static void *hog(void *arg)
{
	while (!hog_stop)
		;
	return NULL;
}

static void pin(pthread_t t, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	assert_int_equal(pthread_setaffinity_np(t, sizeof(set), &set), 0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Client, server and a hog share CPU 0. A spin there only burns the time
 * slice the peer needs, and a sched_yield() in it hands the CPU to the hog
 * for a whole slice (milliseconds): one call in ten or more took about 4 ms
 * that way (p90 3975 us, p50 15 us). Sleeping at once, a call is two
 * context switches.
 */
static void test_peer_on_my_cpu(void **state)
{
	enum { CALLS = 2000 };
	static double s[CALLS];
	struct server_thread st;
	struct vrpc_client *cli;
	pthread_t h;
	cpu_set_t old;

	assert_int_equal(pthread_getaffinity_np(pthread_self(), sizeof(old), &old), 0);
	start(&st, "pinned");
	pin(st.thread, 0);
	pin(pthread_self(), 0);
	hog_stop = 0;
	assert_int_equal(pthread_create(&h, NULL, hog, NULL), 0);
	pin(h, 0);
	cli = open_echo(&st);
	for (int i = 0; i < CALLS; i++) {
		double t0 = now_us();

		call_echo(cli);
		s[i] = now_us() - t0;
	}
	hog_stop = 1;
	pthread_join(h, NULL);
	vrpc_client_close(cli);
	server_thread_stop(&st);
	assert_int_equal(pthread_setaffinity_np(pthread_self(), sizeof(old), &old), 0);
	qsort(s, CALLS, sizeof(double), cmp_double);
	print_message("one CPU for client, server and a hog: call p50 %.1f us, p90 %.1f us, "
		      "p99 %.1f us\n", s[CALLS / 2], s[CALLS * 9 / 10], s[CALLS * 99 / 100]);
	assert_true(s[CALLS * 9 / 10] < 1000);
}

/* ---- an idle server sleeps ---- */

static void test_idle_server_sleeps(void **state)
{
	struct server_thread st;
	struct vrpc_client *cli;
	double c0, used;

	start(&st, "idle");
	cli = open_echo(&st);
	for (int i = 0; i < 1000; i++)
		call_echo(cli); /* the server's spin budget is whole */
	c0 = cpu_us(server_clock(&st));
	usleep(1000000);
	used = cpu_us(server_clock(&st)) - c0;
	print_message("idle server with a client connected: %.0f us of CPU in 1 s\n", used);
	assert_true(used < 20000);
	call_echo(cli); /* and it still answers */
	vrpc_client_close(cli);
	server_thread_stop(&st);
}

/* ---- a peer that floods the server's eventfd ---- */

/* Plays the client's part of the set-up by hand: the server's three
 * descriptors (memfd, its eventfd, ours), the page mapped, live said. */
static int storm_connect(const char *addr, int fds[3], void **mem, size_t *len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = addr + strlen("shm:");
	char hello[8];
	union {
		char buf[CMSG_SPACE(sizeof(int) * 3)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = hello, .iov_len = sizeof(hello) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	int sock = socket(AF_UNIX, SOCK_STREAM, 0);
	socklen_t slen;

	assert_true(sock >= 0);
	memcpy(sun.sun_path, path, strlen(path));
	sun.sun_path[0] = '\0'; /* abstract: "@..." */
	slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	assert_int_equal(connect(sock, (struct sockaddr *)&sun, slen), 0);
	assert_int_equal(recvmsg(sock, &msg, 0), (ssize_t)sizeof(hello));
	memcpy(fds, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int) * 3);
	*len = shm_ring_region_size(SHM_RING_ORDER_DEFAULT, SHM_RING_ORDER_DEFAULT);
	*mem = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	assert_true(*mem != MAP_FAILED);
	((struct vchan_interface *)*mem)->cli_live = 1;
	return sock;
}

static void test_eventfd_storm(void **state)
{
	struct server_thread st;
	struct vrpc_client *cli;
	double s0, c0, server, stormer, t_end;
	uint64_t one = 1;
	long writes = 0;
	int fds[3], sock;
	size_t len;
	void *mem;

	start(&st, "storm");
	sock = storm_connect(st.addr, fds, &mem, &len);
	cli = open_echo(&st);
	call_echo(cli);
	s0 = cpu_us(server_clock(&st));
	c0 = cpu_us(CLOCK_THREAD_CPUTIME_ID);
	t_end = now_us() + 500000;
	while (now_us() < t_end) {
		for (int i = 0; i < 100; i++)
			assert_int_equal(write(fds[1], &one, sizeof(one)), (ssize_t)sizeof(one));
		writes += 100;
	}
	stormer = cpu_us(CLOCK_THREAD_CPUTIME_ID) - c0;
	server = cpu_us(server_clock(&st)) - s0;
	print_message("eventfd storm: %ld signals, %.0f us of the stormer's CPU, %.0f us of "
		      "the server's\n", writes, stormer, server);
	assert_true(server <= stormer * 1.25 + 10000);
	call_echo(cli); /* the other client is still served */
	vrpc_client_close(cli);
	munmap(mem, len);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	close(sock);
	server_thread_stop(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hints),
		cmocka_unit_test(test_peer_on_my_cpu),
		cmocka_unit_test(test_idle_server_sleeps),
		cmocka_unit_test(test_eventfd_storm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
