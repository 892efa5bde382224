/* test_shm_rpc.c - the RPC engine over the shm transport: calls through
 * rings smaller than a frame, many in flight, identity, and the server
 * going away. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "server_thread.h"

enum { M_ECHO, M_COUNT, M_SLEEP, M_FAIL, M_WHOAMI };

static struct server_thread st;

static int setup(void **state)
{
	char addr[128];

	/* 4 KiB rings: every frame larger than that crosses in pieces. */
	snprintf(addr, sizeof(addr), "shm:@vrpc-test-shm-rpc-%d?order=12", (int)getpid());
	return server_thread_start(&st, addr, NULL);
}

static int teardown(void **state)
{
	server_thread_stop(&st);
	return 0;
}

static struct vrpc_client *open_echo(void)
{
	struct vrpc_client *cli = vrpc_client_open(st.addr, &vrpc__test__echo__descriptor, NULL);

	assert_non_null(cli);
	return cli;
}

static void test_echo_large(void **state)
{
	struct vrpc_client *cli = open_echo();
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	Vrpc__Test__EchoReply *out;
	ProtobufCMessage *reply;
	uint8_t *data = malloc(300000);

	assert_non_null(data);
	for (size_t i = 0; i < 300000; i++)
		data[i] = (uint8_t)(i * 7);
	req.text = "big";
	req.data.data = data;
	req.data.len = 300000;
	assert_int_equal(vrpc_client_call(cli, M_ECHO, &req.base, &reply, 10000, NULL), VRPC_OK);
	out = (Vrpc__Test__EchoReply *)reply;
	assert_string_equal(out->text, "big");
	assert_int_equal(out->data.len, 300000);
	assert_memory_equal(out->data.data, data, 300000);
	protobuf_c_message_free_unpacked(reply, NULL);

	req.data.len = 0;
	req.reply_bytes = 1000000;
	assert_int_equal(vrpc_client_call(cli, M_ECHO, &req.base, &reply, 10000, NULL), VRPC_OK);
	out = (Vrpc__Test__EchoReply *)reply;
	assert_int_equal(out->data.len, 1000000);
	for (size_t i = 0; i < out->data.len; i += 4099)
		assert_int_equal(out->data.data[i], (uint8_t)i);
	protobuf_c_message_free_unpacked(reply, NULL);
	free(data);
	vrpc_client_close(cli);
}

struct async_result {
	int done, ok;
};

static void async_done(void *ud, const ProtobufCMessage *msg, bool done, int status,
		       const char *message)
{
	struct async_result *r = ud;

	if (!done)
		return;
	r->done++;
	if (status == VRPC_OK)
		r->ok++;
}

static void test_many_in_flight(void **state)
{
	struct vrpc_client *cli = open_echo();
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	struct async_result r = { 0 };

	req.text = "many";
	for (int i = 0; i < 2000; i++)
		assert_true(vrpc_client_call_async(cli, M_ECHO, &req.base, 10000, async_done, &r) > 0);
	while (r.done < 2000)
		assert_int_equal(vrpc_client_wait(cli, 5000), 0);
	assert_int_equal(r.ok, 2000);
	vrpc_client_close(cli);
}

struct sized_result {
	int done, ok;
	size_t want[8];
	uint8_t seed[8];
};

static void sized_done(void *ud, const ProtobufCMessage *msg, bool done, int status,
		       const char *message)
{
	struct sized_result *r = ud;
	const Vrpc__Test__EchoReply *out = (const Vrpc__Test__EchoReply *)msg;
	int slot = r->done % 8;
	bool same = status == VRPC_OK && out && out->data.len == r->want[slot];

	for (size_t i = 0; same && i < out->data.len; i++)
		same = out->data.data[i] == (uint8_t)(r->seed[slot] + i * 13);
	r->done++;
	r->ok += same;
}

/*
 * Frames of every size around the 4 KiB ring, 8 in flight: those the ring
 * has room for are packed straight into it, the others are packed aside and
 * streamed; both kinds interleave on one connection and every byte must
 * come back in order.
 */
static void test_sizes_around_the_ring(void **state)
{
	struct vrpc_client *cli = open_echo();
	struct sized_result r = { 0 };
	static uint8_t data[8][10000];
	int sent = 0;

	while (r.done < 600) {
		while (sent < 600 && sent - r.done < 8) {
			Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
			int slot = sent % 8;
			size_t len = (size_t)(sent * 7919) % 9000;

			r.want[slot] = len;
			r.seed[slot] = (uint8_t)sent;
			for (size_t i = 0; i < len; i++)
				data[slot][i] = (uint8_t)(sent + i * 13);
			req.data.data = data[slot];
			req.data.len = len;
			assert_true(vrpc_client_call_async(cli, M_ECHO, &req.base, 10000, sized_done,
							   &r) > 0);
			sent++;
		}
		assert_int_equal(vrpc_client_wait(cli, 5000), 0);
	}
	assert_int_equal(r.ok, 600);
	vrpc_client_close(cli);
}

static void test_identity(void **state)
{
	struct vrpc_client *cli = open_echo();
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply;
	char want[32];

	snprintf(want, sizeof(want), "uid:%u", (unsigned)getuid());
	assert_int_equal(vrpc_client_call(cli, M_WHOAMI, &req.base, &reply, 2000, NULL), VRPC_OK);
	assert_string_equal(((Vrpc__Test__EchoReply *)reply)->peer, want);
	protobuf_c_message_free_unpacked(reply, NULL);
	vrpc_client_close(cli);
}

static void test_server_gone(void **state)
{
	struct server_thread own;
	struct vrpc_client *cli;
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	struct async_result r = { 0 };
	char addr[128];

	snprintf(addr, sizeof(addr), "shm:@vrpc-test-shm-rpc-gone-%d", (int)getpid());
	assert_int_equal(server_thread_start(&own, addr, NULL), 0);
	cli = vrpc_client_open(own.addr, &vrpc__test__echo__descriptor, NULL);
	assert_non_null(cli);
	req.delay_ms = 5000;
	assert_true(vrpc_client_call_async(cli, M_SLEEP, &req.base, 0, async_done, &r) > 0);
	assert_int_equal(vrpc_client_wait(cli, 100), 0);
	server_thread_stop(&own);
	while (!r.done)
		if (vrpc_client_wait(cli, 2000) < 0)
			break;
	assert_int_equal(r.done, 1);
	assert_int_equal(r.ok, 0);
	vrpc_client_close(cli);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A lost wake-up shows as a connection frozen for a whole wait: fresh
 * connections, each with 64 calls in flight at once, on the default ring
 * size. Each wait is 2 s; a connection whose calls take 1 s has lost one
 * (a scheduler, even a busy one, does not take that long).
 */
static void test_fresh_connections_never_stall(void **state)
{
	struct server_thread own;
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	char addr[128];
	int64_t worst = 0;

	snprintf(addr, sizeof(addr), "shm:@vrpc-test-shm-fresh-%d", (int)getpid());
	assert_int_equal(server_thread_start(&own, addr, NULL), 0);
	req.text = "x";
	for (int c = 0; c < 1000; c++) {
		struct vrpc_client *cli = vrpc_client_open(own.addr, &vrpc__test__echo__descriptor,
							   NULL);
		struct async_result r = { 0 };
		int64_t t0;

		assert_non_null(cli);
		t0 = now_ms();
		for (int i = 0; i < 64; i++)
			assert_true(vrpc_client_call_async(cli, M_ECHO, &req.base, 0, async_done, &r) >
				    0);
		while (r.done < 64)
			assert_int_equal(vrpc_client_wait(cli, 2000), 0);
		assert_int_equal(r.ok, 64);
		if (now_ms() - t0 > worst)
			worst = now_ms() - t0;
		vrpc_client_close(cli);
	}
	server_thread_stop(&own);
	print_message("1000 fresh connections x 64 calls in flight: the slowest took %lld ms\n",
		      (long long)worst);
	assert_true(worst < 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_large),
		cmocka_unit_test(test_many_in_flight),
		cmocka_unit_test(test_sizes_around_the_ring),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_server_gone),
		cmocka_unit_test(test_fresh_connections_never_stall),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
