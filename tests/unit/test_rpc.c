/* test_rpc.c - the RPC engine end to end over a unix socket: unary, streamed,
 * failed, deadlines, cancellation, 1,000 calls in flight, identity, loss. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conn.h" /* vrpc_now_ms */
#include "server_thread.h"

enum { M_ECHO, M_COUNT, M_SLEEP, M_FAIL, M_WHOAMI };

static struct server_thread st;

static int setup(void **state)
{
	return server_thread_start(&st, NULL, NULL);
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

static void test_unary_blocking(void **state)
{
	struct vrpc_client *cli = open_echo();
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply;
	char *msg;

	req.text = "hello";
	assert_int_equal(vrpc_client_call(cli, M_ECHO, &req.base, &reply, 2000, &msg), VRPC_OK);
	assert_null(msg);
	assert_string_equal(((Vrpc__Test__EchoReply *)reply)->text, "hello");
	protobuf_c_message_free_unpacked(reply, NULL);
	vrpc_client_close(cli);
}

struct stub_result {
	struct vrpc_client *cli;
	int items, ends, status;
	char text[64];
	uint32_t last_seq;
};

static void stub_closure(const Vrpc__Test__EchoReply *reply, void *data)
{
	struct stub_result *r = data;

	if (reply) {
		r->items++;
		r->last_seq = reply->seq;
		strncpy(r->text, reply->text, sizeof(r->text) - 1);
		return;
	}
	r->ends++;
	r->status = vrpc_client_status(r->cli, NULL);
}

static void test_generated_stub_unary(void **state)
{
	struct stub_result r = { .cli = open_echo() };
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;

	req.text = "via stub";
	vrpc__test__echo__echo(vrpc_client_service(r.cli), &req, stub_closure, &r);
	while (r.items == 0 && r.ends == 0)
		assert_int_equal(vrpc_client_wait(r.cli, 2000), 0);
	assert_int_equal(r.items, 1);
	assert_string_equal(r.text, "via stub");
	vrpc_client_close(r.cli);
}

static void test_stream(void **state)
{
	struct stub_result r = { .cli = open_echo() };
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;

	req.text = "item";
	req.count = 100;
	vrpc__test__echo__count(vrpc_client_service(r.cli), &req, stub_closure, &r);
	while (r.ends == 0)
		assert_int_equal(vrpc_client_wait(r.cli, 2000), 0);
	assert_int_equal(r.items, 100);
	assert_int_equal(r.last_seq, 99);
	assert_int_equal(r.ends, 1);
	assert_int_equal(r.status, VRPC_OK);
	assert_int_equal(vrpc_client_inflight(r.cli), 0);
	vrpc_client_close(r.cli);
}

static void test_failure_status(void **state)
{
	struct vrpc_client *cli = open_echo();
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply;
	char *msg;

	req.text = "nope";
	req.fail_status = VRPC_PERMISSION_DENIED;
	assert_int_equal(vrpc_client_call(cli, M_FAIL, &req.base, &reply, 2000, &msg),
			 VRPC_PERMISSION_DENIED);
	assert_null(reply);
	assert_string_equal(msg, "asked to fail: nope");
	free(msg);
	vrpc_client_close(cli);
}

static void test_unknown_service(void **state)
{
	struct vrpc_client *cli;
	ProtobufCServiceDescriptor other = vrpc__test__echo__descriptor;

	other.name = "vrpc.test.NoSuchService";
	cli = vrpc_client_open(st.addr, &other, NULL);
	assert_null(cli);
	assert_int_equal(errno, ENOENT);
}

static void test_bad_address(void **state)
{
	assert_null(vrpc_client_open("nosuch:x", &vrpc__test__echo__descriptor, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(vrpc_client_open("unix:/nonexistent/sock", &vrpc__test__echo__descriptor, NULL));
	assert_int_equal(errno, ENOENT);
}

static void test_deadline(void **state)
{
	struct vrpc_client *cli = open_echo();
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply;
	int64_t start = vrpc_now_ms();
	char *msg;

	req.text = "slow";
	req.delay_ms = 3000;
	assert_int_equal(vrpc_client_call(cli, M_SLEEP, &req.base, &reply, 100, &msg),
			 VRPC_DEADLINE_EXCEEDED);
	free(msg);
	assert_in_range(vrpc_now_ms() - start, 90, 1500);
	/* The connection still works after a call gave up. */
	req.delay_ms = 0;
	assert_int_equal(vrpc_client_call(cli, M_ECHO, &req.base, &reply, 2000, NULL), VRPC_OK);
	protobuf_c_message_free_unpacked(reply, NULL);
	vrpc_client_close(cli);
}

struct async_result {
	int done, status, ok;
};

static void async_done(void *ud, const ProtobufCMessage *msg, bool done, int status,
		       const char *message)
{
	struct async_result *r = ud;

	if (!done)
		return;
	r->done++;
	r->status = status;
	if (status == VRPC_OK && msg)
		r->ok++;
}

static void test_cancel(void **state)
{
	struct vrpc_client *cli = open_echo();
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	struct async_result r = { 0 };
	int64_t id;

	req.text = "cancel me";
	req.delay_ms = 300;
	id = vrpc_client_call_async(cli, M_SLEEP, &req.base, 0, async_done, &r);
	assert_true(id > 0);
	assert_int_equal(vrpc_client_cancel(cli, id), 0);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.status, VRPC_CANCELLED);
	assert_int_equal(vrpc_client_cancel(cli, id), -ENOENT);
	/* The server's late reply to the cancelled call is ignored. */
	for (int64_t end = vrpc_now_ms() + 500; vrpc_now_ms() < end;)
		assert_int_equal(vrpc_client_wait(cli, 50), 0);
	assert_int_equal(r.done, 1);
	vrpc_client_close(cli);
}

static void test_thousand_in_flight(void **state)
{
	struct vrpc_client *cli = open_echo();
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	struct async_result r = { 0 };

	req.text = "many";
	req.delay_ms = 200;
	for (int i = 0; i < 1000; i++)
		assert_true(vrpc_client_call_async(cli, M_SLEEP, &req.base, 10000, async_done, &r) > 0);
	assert_int_equal(vrpc_client_inflight(cli), 1000);
	while (r.done < 1000)
		assert_int_equal(vrpc_client_wait(cli, 5000), 0);
	assert_int_equal(r.ok, 1000);
	vrpc_client_close(cli);
}

static void test_identity_from_transport(void **state)
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

static void test_wrong_request_type(void **state)
{
	struct vrpc_client *cli = open_echo();
	Vrpc__Test__EchoReply wrong = VRPC__TEST__ECHO_REPLY__INIT;
	ProtobufCMessage *reply;

	assert_int_equal(vrpc_client_call(cli, M_ECHO, &wrong.base, &reply, 2000, NULL),
			 VRPC_INVALID_ARGUMENT);
	assert_int_equal(vrpc_client_call(cli, 99, &wrong.base, &reply, 2000, NULL),
			 VRPC_INVALID_ARGUMENT);
	vrpc_client_close(cli);
}

static void test_server_gone(void **state)
{
	struct server_thread own;
	struct vrpc_client *cli;
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	struct async_result r = { 0 };

	assert_int_equal(server_thread_start(&own, NULL, NULL), 0);
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
	assert_int_equal(r.status, VRPC_UNAVAILABLE);
	assert_true(vrpc_client_process(cli) < 0);
	vrpc_client_close(cli);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unary_blocking),
		cmocka_unit_test(test_generated_stub_unary),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_failure_status),
		cmocka_unit_test(test_unknown_service),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_thousand_in_flight),
		cmocka_unit_test(test_identity_from_transport),
		cmocka_unit_test(test_wrong_request_type),
		cmocka_unit_test(test_server_gone),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
