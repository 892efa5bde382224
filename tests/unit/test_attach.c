/* test_attach.c - an attached endpoint (what a virtio-serial port is): bytes
 * of an older session are skipped up to the next HELLO, a HELLO mid-session
 * starts a new one without losing what follows it, and a stream that ends
 * for good closes the endpoint. Driven on a socketpair, no VM. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "echo_service.h"
#include "server.h"
#include "sock.h"
#include "wire.h"
#include "vchan-rpc/proto/vrpc/v1/hello.pb-c.h"

struct rig {
	struct vrpc_server *srv;
	struct echo_service echo;
	int peer; /* our end of the socketpair */
};

static size_t put_frame(uint8_t *out, uint8_t type, uint32_t id, const ProtobufCMessage *msg)
{
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = type, .call_id = id };

	h.length = msg ? (uint32_t)protobuf_c_message_pack(msg, out + VRPC_HDR_SIZE) : 0;
	wire_encode_header(&h, out);
	return VRPC_HDR_SIZE + h.length;
}

static size_t put_hello(uint8_t *out)
{
	Vrpc__V1__Hello hello = VRPC__V1__HELLO__INIT;

	hello.version_min = hello.version_max = VRPC_VERSION;
	hello.max_frame = 4096;
	hello.service = (char *)vrpc__test__echo__descriptor.name;
	return put_frame(out, VRPC_T_HELLO, 0, &hello.base);
}

static size_t put_echo(uint8_t *out, uint32_t id, const char *text)
{
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;

	req.text = (char *)text;
	return put_frame(out, VRPC_T_REQUEST, id, &req.base);
}

static int setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct vrpc_transport *t;
	int sv[2];

	if (!r || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -1;
	r->srv = vrpc_server_new(NULL);
	echo_service_init(&r->echo, NULL);
	vrpc_server_add_service(r->srv, &r->echo.base.base, echo_streaming);
	sock_set_nonblock(sv[0]);
	t = sock_transport_new(&vrpc_transport_unix, sv[0]);
	if (!t || server_adopt(r->srv, t, true, true))
		return -1;
	r->peer = sv[1];
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct rig *r = *state;

	vrpc_server_free(r->srv);
	echo_service_fini(&r->echo);
	close(r->peer);
	free(r);
	return 0;
}

static void serve(struct rig *r)
{
	for (int i = 0; i < 20; i++) {
		struct pollfd p = { .fd = vrpc_server_fd(r->srv), .events = POLLIN };

		if (poll(&p, 1, 20) <= 0)
			break;
		vrpc_server_process(r->srv);
	}
}

/* Reads the next frame's header and payload text. */
static void expect(struct rig *r, uint8_t type, uint32_t id, int status, const char *text)
{
	uint8_t buf[VRPC_HDR_SIZE + 512];
	struct vrpc_hdr h;

	assert_int_equal(recv(r->peer, buf, VRPC_HDR_SIZE, MSG_WAITALL), VRPC_HDR_SIZE);
	assert_int_equal(wire_decode_header(buf, 512, &h), 0);
	assert_int_equal(h.type, type);
	assert_int_equal(h.call_id, id);
	assert_int_equal(h.status, status);
	if (h.length)
		assert_int_equal(recv(r->peer, buf, h.length, MSG_WAITALL), (ssize_t)h.length);
	if (text) {
		Vrpc__Test__EchoReply *reply = vrpc__test__echo_reply__unpack(NULL, h.length, buf);

		assert_non_null(reply);
		assert_string_equal(reply->text, text);
		vrpc__test__echo_reply__free_unpacked(reply, NULL);
	}
}

static void test_stale_bytes_before_hello_are_skipped(void **state)
{
	struct rig *r = *state;
	uint8_t out[1024];
	size_t n = 0;

	/* The tail of an older session: half a frame, then noise. */
	n += put_echo(out, 9, "old") / 2;
	memcpy(out + n, "VRPCnoise", 9);
	n += 9;
	n += put_hello(out + n);
	n += put_echo(out + n, 1, "new");
	assert_int_equal(send(r->peer, out, n, 0), (ssize_t)n);
	serve(r);
	expect(r, VRPC_T_HELLO_ACK, 0, VRPC_OK, NULL);
	expect(r, VRPC_T_REPLY, 1, VRPC_OK, "new");
}

static void test_hello_mid_session_starts_over(void **state)
{
	struct rig *r = *state;
	uint8_t out[1024];
	size_t n = 0;

	n += put_hello(out + n);
	n += put_echo(out + n, 1, "first");
	assert_int_equal(send(r->peer, out, n, 0), (ssize_t)n);
	serve(r);
	expect(r, VRPC_T_HELLO_ACK, 0, VRPC_OK, NULL);
	expect(r, VRPC_T_REPLY, 1, VRPC_OK, "first");
	/* The host came back so fast that the port never showed it leave:
	 * a new HELLO and a request in the same write. */
	n = put_hello(out);
	n += put_echo(out + n, 1, "second");
	assert_int_equal(send(r->peer, out, n, 0), (ssize_t)n);
	serve(r);
	expect(r, VRPC_T_HELLO_ACK, 0, VRPC_OK, NULL);
	expect(r, VRPC_T_REPLY, 1, VRPC_OK, "second");
}

static void test_garbage_in_session_resets_it(void **state)
{
	struct rig *r = *state;
	uint8_t out[1024];
	size_t n = put_hello(out);

	assert_int_equal(send(r->peer, out, n, 0), (ssize_t)n);
	serve(r);
	expect(r, VRPC_T_HELLO_ACK, 0, VRPC_OK, NULL);
	assert_int_equal(send(r->peer, "this is not a frame at all....", 30, 0), 30);
	serve(r);
	expect(r, VRPC_T_GOAWAY, 0, VRPC_INVALID_ARGUMENT, NULL);
	/* The endpoint stays: a new session works. */
	n = put_hello(out);
	n += put_echo(out + n, 2, "again");
	assert_int_equal(send(r->peer, out, n, 0), (ssize_t)n);
	serve(r);
	expect(r, VRPC_T_HELLO_ACK, 0, VRPC_OK, NULL);
	expect(r, VRPC_T_REPLY, 2, VRPC_OK, "again");
}

/* The broker's caller label: taken when well formed, refused otherwise. */
static void test_caller_label(void **state)
{
	struct rig *r = *state;
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	uint8_t out[512], body[64];
	size_t n = put_hello(out), len;
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_REQUEST, .call_id = 5,
			      .method = 4 /* WhoAmI */, .flags = VRPC_F_ORIGIN };

	len = protobuf_c_message_pack(&req.base, body);
	memcpy(out + n + VRPC_HDR_SIZE, "\x07guest-1", 8);
	memcpy(out + n + VRPC_HDR_SIZE + 8, body, len);
	h.length = (uint32_t)(8 + len);
	wire_encode_header(&h, out + n);
	n += VRPC_HDR_SIZE + h.length;
	/* A label with a space in it, and one longer than its frame. */
	h.call_id = 6;
	h.length = 6;
	wire_encode_header(&h, out + n);
	memcpy(out + n + VRPC_HDR_SIZE, "\x05" "a b c", 6);
	n += VRPC_HDR_SIZE + 6;
	h.call_id = 7;
	h.length = 3;
	wire_encode_header(&h, out + n);
	memcpy(out + n + VRPC_HDR_SIZE, "\x3f" "ab", 3);
	n += VRPC_HDR_SIZE + 3;
	assert_int_equal(send(r->peer, out, n, 0), (ssize_t)n);
	serve(r);
	expect(r, VRPC_T_HELLO_ACK, 0, VRPC_OK, NULL);
	{
		uint8_t buf[VRPC_HDR_SIZE + 512];
		Vrpc__Test__EchoReply *reply;

		assert_int_equal(recv(r->peer, buf, VRPC_HDR_SIZE, MSG_WAITALL), VRPC_HDR_SIZE);
		assert_int_equal(wire_decode_header(buf, 512, &h), 0);
		assert_int_equal(h.call_id, 5);
		assert_int_equal(h.status, VRPC_OK);
		assert_int_equal(recv(r->peer, buf, h.length, MSG_WAITALL), (ssize_t)h.length);
		reply = vrpc__test__echo_reply__unpack(NULL, h.length, buf);
		assert_non_null(reply);
		assert_string_equal(reply->peer, "label:guest-1");
		vrpc__test__echo_reply__free_unpacked(reply, NULL);
	}
	expect(r, VRPC_T_REPLY, 6, VRPC_INVALID_ARGUMENT, NULL);
	expect(r, VRPC_T_REPLY, 7, VRPC_INVALID_ARGUMENT, NULL);
}

static void test_stream_end_closes_for_good(void **state)
{
	struct rig *r = *state;

	shutdown(r->peer, SHUT_WR);
	serve(r);
	assert_int_equal(r->srv->n_conns, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stale_bytes_before_hello_are_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hello_mid_session_starts_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_in_session_resets_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caller_label, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_end_closes_for_good, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
