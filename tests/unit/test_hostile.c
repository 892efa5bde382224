/* test_hostile.c - a peer that breaks the protocol gets a clear error, its
 * own connection at most is dropped, and every other connection carries on. */
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
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "conn.h"
#include "server_thread.h"
#include "wire.h"
#include "vchan-rpc/proto/vrpc/v1/hello.pb-c.h"

enum { M_ECHO, M_COUNT, M_SLEEP, M_FAIL, M_WHOAMI };

static struct server_thread st;

/* ---- a raw peer ---- */

static int raw_connect(const char *addr)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_true(!strncmp(addr, "unix:", 5));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr + 5);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static void raw_send(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	/* A blocking send may still be cut short by a signal: go on. */
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail_msg("send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

static void raw_frame(int fd, struct vrpc_hdr h, const void *payload, size_t len)
{
	uint8_t buf[VRPC_HDR_SIZE + 4096];

	assert_true(len <= 4096);
	if (!h.version)
		h.version = VRPC_VERSION;
	h.length = (uint32_t)len;
	wire_encode_header(&h, buf);
	if (len)
		memcpy(buf + VRPC_HDR_SIZE, payload, len);
	raw_send(fd, buf, VRPC_HDR_SIZE + len);
}

static void raw_message(int fd, uint8_t type, uint32_t id, uint16_t method,
			const ProtobufCMessage *msg)
{
	uint8_t payload[4096];
	size_t len = protobuf_c_message_pack(msg, payload);

	raw_frame(fd, (struct vrpc_hdr){ .type = type, .call_id = id, .method = method },
		  payload, len);
}

static void raw_hello(int fd, uint32_t vmin, uint32_t vmax, const char *service)
{
	Vrpc__V1__Hello hello = VRPC__V1__HELLO__INIT;

	hello.version_min = vmin;
	hello.version_max = vmax;
	hello.max_frame = 65536;
	hello.service = (char *)service;
	raw_message(fd, VRPC_T_HELLO, 0, 0, &hello.base);
}

/* Reads one frame within @p ms. @return its type, 0 at EOF, -1 on timeout. */
static int raw_read(int fd, struct vrpc_hdr *h, char *text, size_t textlen, int ms)
{
	uint8_t hdr[VRPC_HDR_SIZE];
	size_t have = 0, need = VRPC_HDR_SIZE;
	uint8_t *dst = hdr;
	static uint8_t payload[1 << 20];

	while (have < need) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, ms) <= 0)
			return -1;
		n = recv(fd, dst + have, need - have, 0);
		if (n <= 0)
			return 0;
		have += (size_t)n;
		if (dst == hdr && have == need) {
			assert_int_equal(wire_decode_header(hdr, 1 << 20, h), 0);
			dst = payload;
			have = 0;
			need = h->length;
		}
	}
	if (text) {
		size_t n = h->length < textlen - 1 ? h->length : textlen - 1;

		memcpy(text, payload, n);
		text[n] = '\0';
	}
	return h->type;
}

static int raw_handshake(const char *addr)
{
	int fd = raw_connect(addr);
	struct vrpc_hdr h;

	raw_hello(fd, VRPC_VERSION, VRPC_VERSION, vrpc__test__echo__descriptor.name);
	assert_int_equal(raw_read(fd, &h, NULL, 0, 2000), VRPC_T_HELLO_ACK);
	assert_int_equal(h.status, VRPC_OK);
	return fd;
}

/* The frame that ends a misbehaving connection, then EOF. */
static void expect_goaway(int fd, int status, const char *text_part)
{
	struct vrpc_hdr h;
	char text[256];
	int type = raw_read(fd, &h, text, sizeof(text), 2000);

	assert_true(type == VRPC_T_GOAWAY || type == VRPC_T_HELLO_ACK);
	assert_int_equal(h.status, status);
	assert_non_null(strstr(text, text_part));
	assert_int_equal(raw_read(fd, &h, NULL, 0, 2000), 0);
	close(fd);
}

static void expect_reply(int fd, uint32_t id, int status, const char *text_part)
{
	struct vrpc_hdr h;
	char text[256];

	assert_int_equal(raw_read(fd, &h, text, sizeof(text), 2000), VRPC_T_REPLY);
	assert_int_equal(h.call_id, id);
	assert_int_equal(h.status, status);
	if (text_part)
		assert_non_null(strstr(text, text_part));
}

/* Everyone else is still served. */
static void others_still_work(const char *addr)
{
	struct vrpc_client *cli = vrpc_client_open(addr, &vrpc__test__echo__descriptor, NULL);
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply;

	assert_non_null(cli);
	req.text = "still here";
	assert_int_equal(vrpc_client_call(cli, M_ECHO, &req.base, &reply, 2000, NULL), VRPC_OK);
	assert_string_equal(((Vrpc__Test__EchoReply *)reply)->text, "still here");
	protobuf_c_message_free_unpacked(reply, NULL);
	vrpc_client_close(cli);
}

static int setup(void **state)
{
	return server_thread_start(&st, NULL, NULL);
}

static int teardown(void **state)
{
	server_thread_stop(&st);
	return 0;
}

/* ---- the tests ---- */

static void test_oversized_claim(void **state)
{
	int fd = raw_handshake(st.addr);
	uint8_t hdr[VRPC_HDR_SIZE];
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_REQUEST, .call_id = 1,
			      .length = 1u << 30 };

	wire_encode_header(&h, hdr);
	raw_send(fd, hdr, sizeof(hdr));
	expect_goaway(fd, VRPC_RESOURCE_EXHAUSTED, "frame over the maximum");
	others_still_work(st.addr);
}

static void test_oversized_before_hello(void **state)
{
	int fd = raw_connect(st.addr);
	uint8_t hdr[VRPC_HDR_SIZE];
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_HELLO, .length = 0xffffffffu };

	wire_encode_header(&h, hdr);
	raw_send(fd, hdr, sizeof(hdr));
	expect_goaway(fd, VRPC_RESOURCE_EXHAUSTED, "frame over the maximum");
	others_still_work(st.addr);
}

static void test_truncated_frame(void **state)
{
	int fd = raw_handshake(st.addr);
	uint8_t hdr[VRPC_HDR_SIZE];
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_REQUEST, .call_id = 1,
			      .length = 100 };

	wire_encode_header(&h, hdr);
	raw_send(fd, hdr, 10);        /* half a header */
	others_still_work(st.addr);
	raw_send(fd, hdr + 10, sizeof(hdr) - 10);
	raw_send(fd, "abc", 3);       /* 3 of 100 payload bytes, then gone */
	close(fd);
	others_still_work(st.addr);
}

static void test_wrong_magic(void **state)
{
	int fd = raw_handshake(st.addr);

	raw_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
	expect_goaway(fd, VRPC_INVALID_ARGUMENT, "malformed frame header");
	others_still_work(st.addr);
}

static void test_old_version_header(void **state)
{
	int fd = raw_connect(st.addr);
	uint8_t hdr[VRPC_HDR_SIZE];
	struct vrpc_hdr h = { .version = 0, .type = VRPC_T_HELLO };

	wire_encode_header(&h, hdr);
	raw_send(fd, hdr, sizeof(hdr));
	expect_goaway(fd, VRPC_INVALID_ARGUMENT, "malformed frame header");
}

static void test_no_common_version(void **state)
{
	int fd = raw_connect(st.addr);

	raw_hello(fd, 5, 9, vrpc__test__echo__descriptor.name);
	expect_goaway(fd, VRPC_UNIMPLEMENTED, "no common protocol version");
	others_still_work(st.addr);
}

static void test_unknown_method(void **state)
{
	int fd = raw_handshake(st.addr);
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;

	raw_message(fd, VRPC_T_REQUEST, 1, 99, &req.base);
	expect_reply(fd, 1, VRPC_UNIMPLEMENTED, "no method number 99");
	/* The connection itself is fine. */
	req.text = "next";
	raw_message(fd, VRPC_T_REQUEST, 2, M_ECHO, &req.base);
	expect_reply(fd, 2, VRPC_OK, NULL);
	close(fd);
}

static void test_garbage_protobuf(void **state)
{
	int fd = raw_handshake(st.addr);
	/* Field 1 (string) claiming 100 bytes with 2 present. */
	static const uint8_t garbage[] = { 0x0a, 0x64, 'h', 'i' };

	raw_frame(fd, (struct vrpc_hdr){ .type = VRPC_T_REQUEST, .call_id = 3 }, garbage,
		  sizeof(garbage));
	expect_reply(fd, 3, VRPC_INVALID_ARGUMENT, "not a valid vrpc.test.EchoRequest");
	close(fd);
	others_still_work(st.addr);
}

static void test_reused_call_id(void **state)
{
	int fd = raw_handshake(st.addr);
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;

	req.delay_ms = 500;
	raw_message(fd, VRPC_T_REQUEST, 7, M_SLEEP, &req.base);
	raw_message(fd, VRPC_T_REQUEST, 7, M_ECHO, &req.base);
	expect_goaway(fd, VRPC_INVALID_ARGUMENT, "call id 7 reused");
	others_still_work(st.addr);
}

static void test_caller_label_from_a_listener(void **state)
{
	int fd = raw_handshake(st.addr);

	/* Only the broker at an attached endpoint may name the caller. */
	raw_frame(fd, (struct vrpc_hdr){ .type = VRPC_T_REQUEST, .call_id = 4, .method = M_WHOAMI,
					 .flags = VRPC_F_ORIGIN }, "\x05" "admin", 6);
	expect_reply(fd, 4, VRPC_PERMISSION_DENIED, "only from the host's broker");
	close(fd);
}

static void test_frame_before_hello(void **state)
{
	int fd = raw_connect(st.addr);
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;

	raw_message(fd, VRPC_T_REQUEST, 1, M_ECHO, &req.base);
	expect_goaway(fd, VRPC_INVALID_ARGUMENT, "before HELLO");
}

static void test_client_sends_reply(void **state)
{
	int fd = raw_handshake(st.addr);

	raw_frame(fd, (struct vrpc_hdr){ .type = VRPC_T_REPLY, .call_id = 1 }, NULL, 0);
	expect_goaway(fd, VRPC_INVALID_ARGUMENT, "does not send frames of type 4");
}

static void test_flood_of_unfinished_calls(void **state)
{
	struct vrpc_server_opts opts = { .max_inflight = 16 };
	struct server_thread own;
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	int fd, exhausted = 0, ok = 0;

	assert_int_equal(server_thread_start(&own, NULL, &opts), 0);
	fd = raw_handshake(own.addr);
	req.delay_ms = 300;
	for (uint32_t id = 1; id <= 20; id++)
		raw_message(fd, VRPC_T_REQUEST, id, M_SLEEP, &req.base);
	for (int i = 0; i < 20; i++) {
		struct vrpc_hdr h;

		assert_int_equal(raw_read(fd, &h, NULL, 0, 3000), VRPC_T_REPLY);
		if (h.status == VRPC_RESOURCE_EXHAUSTED) {
			assert_true(h.call_id > 16); /* the first 16 were taken */
			exhausted++;
		} else {
			assert_int_equal(h.status, VRPC_OK);
			ok++;
		}
	}
	assert_int_equal(exhausted, 4);
	assert_int_equal(ok, 16);
	close(fd);
	others_still_work(own.addr);
	server_thread_stop(&own);
}

/* Backpressure loses nothing: a peer that reads slowly gets every reply. */
static void test_peer_reads_slowly(void **state)
{
	struct vrpc_server_opts opts = { .max_send_queue = 256 * 1024 };
	struct server_thread own;
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	struct vrpc_hdr h;
	int fd, got = 0;

	assert_int_equal(server_thread_start(&own, NULL, &opts), 0);
	fd = raw_handshake(own.addr);
	req.reply_bytes = 16 * 1024;
	for (uint32_t id = 1; id <= 400; id++)
		raw_message(fd, VRPC_T_REQUEST, id, M_ECHO, &req.base);
	usleep(200 * 1000);
	while (got < 400 && raw_read(fd, &h, NULL, 0, 3000) == VRPC_T_REPLY) {
		assert_int_equal(h.status, VRPC_OK);
		assert_int_equal(h.call_id, (uint32_t)got + 1);
		got++;
	}
	assert_int_equal(got, 400);
	close(fd);
	server_thread_stop(&own);
}

static void test_peer_stops_reading(void **state)
{
	struct vrpc_server_opts opts = { .max_send_queue = 256 * 1024, .stall_timeout_ms = 300 };
	struct server_thread own;
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	int fd, rcvbuf = 4096;
	size_t got = 0;
	struct vrpc_hdr h;
	int type;

	assert_int_equal(server_thread_start(&own, NULL, &opts), 0);
	fd = raw_handshake(own.addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* 400 requests each asking for 60 KB back (under the 64 KiB frame
	 * agreed at HELLO): 24 MB the peer never reads. */
	req.reply_bytes = 60000;
	for (uint32_t id = 1; id <= 400; id++) {
		uint8_t frame[VRPC_HDR_SIZE + 16];
		struct vrpc_hdr rq = { .version = VRPC_VERSION, .type = VRPC_T_REQUEST,
				       .call_id = id, .method = M_ECHO };

		rq.length = (uint32_t)protobuf_c_message_pack(&req.base, frame + VRPC_HDR_SIZE);
		wire_encode_header(&rq, frame);
		/* On a loaded machine the hog may be dropped while still sending. */
		if (send(fd, frame, VRPC_HDR_SIZE + rq.length, MSG_NOSIGNAL) < 0)
			break;
	}
	/* The writer never blocks: the server keeps serving others meanwhile. */
	others_still_work(own.addr);
	usleep(800 * 1000);
	/* The hog gets less than it asked for, then its connection ends. */
	while ((type = raw_read(fd, &h, NULL, 0, 3000)) > 0)
		got++;
	assert_int_equal(type, 0);
	assert_true(got < 400);
	close(fd);
	others_still_work(own.addr);
	server_thread_stop(&own);
}

static void test_disconnect_mid_call(void **state)
{
	int fd = raw_handshake(st.addr);
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	unsigned before = __atomic_load_n(&st.echo.cancelled, __ATOMIC_SEQ_CST);

	req.delay_ms = 200;
	raw_message(fd, VRPC_T_REQUEST, 1, M_SLEEP, &req.base);
	usleep(50 * 1000);
	close(fd);
	usleep(400 * 1000);
	/* The handler woke to find its caller gone, and said so. */
	assert_int_equal(__atomic_load_n(&st.echo.cancelled, __ATOMIC_SEQ_CST), before + 1);
	others_still_work(st.addr);
}

static void test_silent_peer_times_out(void **state)
{
	struct vrpc_server_opts opts = { .handshake_timeout_ms = 200 };
	struct server_thread own;
	struct vrpc_hdr h;
	int64_t start;
	int fd;

	assert_int_equal(server_thread_start(&own, NULL, &opts), 0);
	fd = raw_connect(own.addr);
	start = vrpc_now_ms();
	assert_int_equal(raw_read(fd, &h, NULL, 0, 3000), 0);
	assert_in_range(vrpc_now_ms() - start, 150, 2000);
	close(fd);
	server_thread_stop(&own);
}

/* ---- a lying server ---- */

struct liar {
	char path[108];
	int lfd;
	uint32_t claim; /* length the reply claims */
	int items;      /* instead: this many STREAM_ITEMs, then a REPLY */
	pthread_t thread;
};

/* Answers a request with l->items stream items and a reply. */
static void liar_items(int fd, const struct liar *l, uint32_t id)
{
	Vrpc__Test__EchoReply rep = VRPC__TEST__ECHO_REPLY__INIT;

	for (int i = 0; i < l->items; i++)
		raw_message(fd, VRPC_T_STREAM_ITEM, id, M_ECHO, &rep.base);
	raw_message(fd, VRPC_T_REPLY, id, M_ECHO, &rep.base);
}

static void *liar_run(void *arg)
{
	struct liar *l = arg;
	int fd = accept(l->lfd, NULL, NULL);
	Vrpc__V1__Hello ack = VRPC__V1__HELLO__INIT;
	struct vrpc_hdr h;
	uint8_t frame[VRPC_HDR_SIZE + 256];

	if (fd < 0)
		return NULL;
	/* Answer HELLO properly, then reply to the first request with a lie. */
	if (raw_read(fd, &h, NULL, 0, 2000) == VRPC_T_HELLO) {
		ack.version_min = ack.version_max = VRPC_VERSION;
		ack.max_frame = 4096;
		ack.service = (char *)vrpc__test__echo__descriptor.name;
		raw_message(fd, VRPC_T_HELLO_ACK, 0, 0, &ack.base);
	}
	if (raw_read(fd, &h, NULL, 0, 2000) == VRPC_T_REQUEST && l->items) {
		liar_items(fd, l, h.call_id);
	} else if (h.type == VRPC_T_REQUEST) {
		struct vrpc_hdr r = { .version = VRPC_VERSION, .type = VRPC_T_REPLY,
				      .call_id = h.call_id, .length = l->claim };

		wire_encode_header(&r, frame);
		memset(frame + VRPC_HDR_SIZE, 0xff, 256);
		send(fd, frame, sizeof(frame), MSG_NOSIGNAL);
	}
	usleep(300 * 1000);
	close(fd);
	return NULL;
}

static struct vrpc_client *liar_start(struct liar *l)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char addr[128];

	snprintf(l->path, sizeof(l->path), "%s/liar", st.dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", l->path);
	l->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(l->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(l->lfd, 1), 0);
	assert_int_equal(pthread_create(&l->thread, NULL, liar_run, l), 0);
	snprintf(addr, sizeof(addr), "unix:%s", l->path);
	return vrpc_client_open(addr, &vrpc__test__echo__descriptor, NULL);
}

static void liar_stop(struct liar *l)
{
	pthread_join(l->thread, NULL);
	close(l->lfd);
	unlink(l->path);
}

struct closure_count {
	int calls, status;
	struct vrpc_client *cli;
};

static void count_closure(const Vrpc__Test__EchoReply *rep, void *data)
{
	struct closure_count *c = data;

	c->calls++;
	c->status = vrpc_client_status(c->cli, NULL);
}

/* An appliance that answers a unary call with stream items: protoc-c's
 * stub closure must still run once (its caller frees what it was given),
 * and the call fails. */
static void test_stream_items_on_a_unary_call(void **state)
{
	struct liar l = { .items = 3 };
	struct vrpc_client *cli = liar_start(&l);
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	struct closure_count c = { .cli = cli };
	int64_t end = vrpc_now_ms() + 2000;

	assert_non_null(cli);
	vrpc__test__echo__echo(vrpc_client_service(cli), &req, count_closure, &c);
	while (vrpc_now_ms() < end && c.calls == 0 && vrpc_client_wait(cli, 100) >= 0)
		;
	/* And nothing more arrives for it: the reply after the items is dropped. */
	end = vrpc_now_ms() + 200;
	while (vrpc_now_ms() < end && vrpc_client_wait(cli, 50) >= 0)
		;
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.status, VRPC_INTERNAL);
	vrpc_client_close(cli);
	assert_int_equal(c.calls, 1);
	liar_stop(&l);
}

static void test_server_lies_about_length(void **state)
{
	struct liar l = { .claim = 1u << 31 };
	struct vrpc_client *cli;
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	char *msg = NULL;

	cli = liar_start(&l);
	assert_non_null(cli);
	assert_int_equal(vrpc_client_call(cli, M_ECHO, &req.base, &reply, 2000, &msg),
			 VRPC_UNAVAILABLE);
	assert_null(reply);
	assert_non_null(strstr(msg, "connection lost"));
	free(msg);
	vrpc_client_close(cli);
	liar_stop(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oversized_claim),
		cmocka_unit_test(test_oversized_before_hello),
		cmocka_unit_test(test_truncated_frame),
		cmocka_unit_test(test_wrong_magic),
		cmocka_unit_test(test_old_version_header),
		cmocka_unit_test(test_no_common_version),
		cmocka_unit_test(test_unknown_method),
		cmocka_unit_test(test_garbage_protobuf),
		cmocka_unit_test(test_reused_call_id),
		cmocka_unit_test(test_caller_label_from_a_listener),
		cmocka_unit_test(test_frame_before_hello),
		cmocka_unit_test(test_client_sends_reply),
		cmocka_unit_test(test_flood_of_unfinished_calls),
		cmocka_unit_test(test_peer_reads_slowly),
		cmocka_unit_test(test_peer_stops_reading),
		cmocka_unit_test(test_disconnect_mid_call),
		cmocka_unit_test(test_silent_peer_times_out),
		cmocka_unit_test(test_server_lies_about_length),
		cmocka_unit_test(test_stream_items_on_a_unary_call),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
