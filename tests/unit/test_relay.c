/* test_relay.c - the broker: per-method policy, the caller's identity taken
 * from the gate it used (and carried to the appliance), streams, cancels,
 * an appliance that goes away and comes back. The appliance end is an
 * attached endpoint, as a virtio-serial port is. */
#include <errno.h>
#include <fcntl.h>
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

#include "echo_service.h"
#include "relay_rig.h"
#include "server.h"
#include "sock.h"
#include "vrpc_relay.h"
#include "wire.h"
#include "vchan-rpc/proto/vrpc/v1/hello.pb-c.h"

enum { M_ECHO, M_COUNT, M_SLEEP, M_FAIL, M_WHOAMI };

/* ---- the broker ---- */

static int checks;

/* guest-b may not call WhoAmI; everything else is allowed. */
static int check(void *ud, const char *guest, const char *service, const char *method,
		 const char *appliance, char *why, size_t whylen)
{
	checks++;
	if (method && !strcmp(guest, "guest-b") && !strcmp(method, "WhoAmI")) {
		snprintf(why, whylen, "policy denies %s calling %s.%s on %s", guest, service, method,
			 appliance);
		return VRPC_PERMISSION_DENIED;
	}
	return VRPC_OK;
}

static void relay_ready(void *ud, int fd, short revents)
{
	vrpc_relay_process(ud);
}

struct rig {
	char dir[64];
	char gate_a[128], gate_b[128], up[128];
	struct appliance app;
	struct runner rn;
	struct vrpc_relay *relay;
};

static int setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));

	snprintf(r->dir, sizeof(r->dir), "/tmp/vrpc-relay-XXXXXX");
	if (!mkdtemp(r->dir))
		return -1;
	snprintf(r->gate_a, sizeof(r->gate_a), "unix:%s/guest-a.sock", r->dir);
	snprintf(r->gate_b, sizeof(r->gate_b), "unix:%s/guest-b.sock", r->dir);
	if (appliance_start(&r->app, r->dir))
		return -1;
	snprintf(r->up, sizeof(r->up), "unix:%s", r->app.path);
	r->relay = vrpc_relay_new(check, NULL, NULL);
	if (!r->relay || vrpc_relay_listen(r->relay, r->gate_a, "guest-a") ||
	    vrpc_relay_listen(r->relay, r->gate_b, "guest-b") ||
	    vrpc_relay_set_upstream(r->relay, "vrpc.test.Echo", "echo-appliance", r->up, 2000))
		return -1;
	r->rn.loop = vrpc_loop_new();
	vrpc_loop_add_fd(r->rn.loop, vrpc_relay_fd(r->relay), POLLIN, relay_ready, r->relay);
	if (runner_start(&r->rn))
		return -1;
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct rig *r = *state;
	char path[128];

	runner_stop(&r->rn);
	vrpc_loop_free(r->rn.loop);
	vrpc_relay_free(r->relay);
	appliance_stop(&r->app);
	snprintf(path, sizeof(path), "%s/guest-a.sock", r->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/guest-b.sock", r->dir);
	unlink(path);
	rmdir(r->dir);
	free(r);
	return 0;
}

static struct vrpc_client *guest(const char *gate)
{
	struct vrpc_client *cli = vrpc_client_open(gate, &vrpc__test__echo__descriptor, NULL);

	assert_non_null(cli);
	return cli;
}

static int call(struct vrpc_client *cli, unsigned method, const char *text, char *out,
		size_t outlen)
{
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply;
	char *msg = NULL;
	int status;

	req.text = (char *)text;
	status = vrpc_client_call(cli, method, &req.base, &reply, 3000, &msg);
	if (out && status == VRPC_OK)
		snprintf(out, outlen, "%s", method == M_WHOAMI ? ((Vrpc__Test__EchoReply *)reply)->peer :
				       ((Vrpc__Test__EchoReply *)reply)->text);
	else if (out)
		snprintf(out, outlen, "%s", msg ? msg : "");
	if (status == VRPC_OK)
		protobuf_c_message_free_unpacked(reply, NULL);
	free(msg);
	return status;
}

static void test_identity_comes_from_the_gate(void **state)
{
	struct rig *r = *state;
	struct vrpc_client *a = guest(r->gate_a);
	char out[128];

	assert_int_equal(call(a, M_ECHO, "through the broker", out, sizeof(out)), VRPC_OK);
	assert_string_equal(out, "through the broker");
	assert_int_equal(call(a, M_WHOAMI, "", out, sizeof(out)), VRPC_OK);
	assert_string_equal(out, "label:guest-a");
	vrpc_client_close(a);
}

static void test_policy_per_method(void **state)
{
	struct rig *r = *state;
	struct vrpc_client *a = guest(r->gate_a), *b = guest(r->gate_b);
	struct vrpc_relay_stats st;
	char out[128];

	assert_int_equal(call(b, M_WHOAMI, "", out, sizeof(out)), VRPC_PERMISSION_DENIED);
	assert_non_null(strstr(out, "policy denies guest-b calling vrpc.test.Echo.WhoAmI"));
	/* The same guest may still call what policy allows; the other is untouched. */
	assert_int_equal(call(b, M_ECHO, "b", out, sizeof(out)), VRPC_OK);
	assert_int_equal(call(a, M_WHOAMI, "", out, sizeof(out)), VRPC_OK);
	assert_string_equal(out, "label:guest-a");
	vrpc_relay_stats(r->relay, &st);
	assert_int_equal(st.denied, 1);
	vrpc_client_close(a);
	vrpc_client_close(b);
}

struct stream {
	int items, done, status;
};

static void on_item(void *ud, const ProtobufCMessage *msg, bool done, int status,
		    const char *message)
{
	struct stream *s = ud;

	if (done) {
		s->done = 1;
		s->status = status;
	} else {
		s->items++;
	}
}

static void test_stream_through_broker(void **state)
{
	struct rig *r = *state;
	struct vrpc_client *a = guest(r->gate_a);
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	struct stream s = { 0 };

	req.count = 200;
	assert_true(vrpc_client_call_async(a, M_COUNT, &req.base, 5000, on_item, &s) > 0);
	while (!s.done)
		assert_int_equal(vrpc_client_wait(a, 3000), 0);
	assert_int_equal(s.items, 200);
	assert_int_equal(s.status, VRPC_OK);
	vrpc_client_close(a);
}

static void test_deadline_cancels_upstream(void **state)
{
	struct rig *r = *state;
	struct vrpc_client *a = guest(r->gate_a);
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply;
	unsigned before = __atomic_load_n(&r->app.echo.cancelled, __ATOMIC_SEQ_CST);

	req.delay_ms = 300;
	assert_int_equal(vrpc_client_call(a, M_SLEEP, &req.base, &reply, 50, NULL),
			 VRPC_DEADLINE_EXCEEDED);
	usleep(500 * 1000);
	/* The guest's CANCEL reached the appliance through the broker. */
	assert_int_equal(__atomic_load_n(&r->app.echo.cancelled, __ATOMIC_SEQ_CST), before + 1);
	vrpc_client_close(a);
}

static void test_guest_cannot_name_a_caller(void **state)
{
	struct rig *r = *state;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct vrpc_client *probe = guest(r->gate_a);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	uint8_t frame[VRPC_HDR_SIZE + 16], hdr[VRPC_HDR_SIZE];
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_HELLO };
	struct vrpc_hdr rq = { .version = VRPC_VERSION, .type = VRPC_T_REQUEST, .call_id = 1,
			       .method = M_WHOAMI, .flags = VRPC_F_ORIGIN, .length = 6 };
	static const uint8_t hello[] = { 0x08, 1, 0x10, 1, 0x18, 0x80, 0x20, 0x22, 14,
					 'v', 'r', 'p', 'c', '.', 't', 'e', 's', 't', '.',
					 'E', 'c', 'h', 'o' };
	struct vrpc_hdr got;

	vrpc_client_close(probe);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", r->gate_a + 5);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	h.length = sizeof(hello);
	wire_encode_header(&h, frame);
	assert_int_equal(send(fd, frame, VRPC_HDR_SIZE, 0), VRPC_HDR_SIZE);
	assert_int_equal(send(fd, hello, sizeof(hello), 0), sizeof(hello));
	assert_int_equal(recv(fd, hdr, VRPC_HDR_SIZE, MSG_WAITALL), VRPC_HDR_SIZE);
	assert_int_equal(wire_decode_header(hdr, 1 << 20, &got), 0);
	assert_int_equal(got.type, VRPC_T_HELLO_ACK);
	assert_int_equal(got.status, VRPC_OK);
	{
		uint8_t sink[4096];

		assert_int_equal(recv(fd, sink, got.length, MSG_WAITALL), (ssize_t)got.length);
	}
	/* "I am the admin", says the guest. */
	wire_encode_header(&rq, frame);
	memcpy(frame + VRPC_HDR_SIZE, "\x05" "admin", 6);
	assert_int_equal(send(fd, frame, VRPC_HDR_SIZE + 6, 0), VRPC_HDR_SIZE + 6);
	assert_int_equal(recv(fd, hdr, VRPC_HDR_SIZE, MSG_WAITALL), VRPC_HDR_SIZE);
	assert_int_equal(wire_decode_header(hdr, 1 << 20, &got), 0);
	assert_int_equal(got.type, VRPC_T_REPLY);
	assert_int_equal(got.status, VRPC_PERMISSION_DENIED);
	close(fd);
}

static void test_appliance_restart(void **state)
{
	struct rig *r = *state;
	struct vrpc_client *a = guest(r->gate_a);
	char out[128];

	assert_int_equal(call(a, M_ECHO, "before", out, sizeof(out)), VRPC_OK);
	appliance_stop(&r->app);
	/* The broker notices on its next read; calls meanwhile are unavailable. */
	for (int i = 0; i < 50 && call(a, M_ECHO, "x", out, sizeof(out)) == VRPC_OK; i++)
		usleep(20 * 1000);
	assert_int_equal(call(a, M_ECHO, "during", out, sizeof(out)), VRPC_UNAVAILABLE);
	/* The appliance is back (vappd would do this once it is ready). */
	assert_int_equal(appliance_start(&r->app, r->dir), 0);
	runner_stop(&r->rn);
	assert_int_equal(vrpc_relay_set_upstream(r->relay, "vrpc.test.Echo", "echo-appliance",
						 r->up, 2000), 0);
	assert_int_equal(runner_start(&r->rn), 0);
	/* The same guest connection works again. */
	assert_int_equal(call(a, M_ECHO, "after", out, sizeof(out)), VRPC_OK);
	assert_string_equal(out, "after");
	vrpc_client_close(a);
}

struct tally {
	int ok, exhausted, other;
};

static void tally_reply(void *ud, const ProtobufCMessage *msg, bool done, int status,
			const char *message)
{
	struct tally *t = ud;

	if (!done)
		return;
	if (status == VRPC_OK)
		t->ok++;
	else if (status == VRPC_RESOURCE_EXHAUSTED)
		t->exhausted++;
	else
		t->other++;
}

/* One guest floods the appliance from five connections: it gets its share
 * (1024 calls in flight over all of them) and no more, and another guest's
 * calls go through meanwhile, promptly. */
static void test_fair_share_per_label(void **state)
{
	struct rig *r = *state;
	struct vrpc_client *flood[5], *b = guest(r->gate_b);
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	struct tally t = { 0 };
	int64_t t0, took;
	char out[64];

	req.delay_ms = 3000;
	for (int c = 0; c < 5; c++) {
		flood[c] = guest(r->gate_a);
		for (int i = 0; i < 400; i++)
			assert_true(vrpc_client_call_async(flood[c], M_SLEEP, &req.base, 10000,
							   tally_reply, &t) > 0);
	}
	/* The refusals come back at once; the admitted calls sleep. */
	for (int round = 0; round < 50 && t.exhausted < 2000 - 1024; round++)
		for (int c = 0; c < 5; c++)
			vrpc_client_wait(flood[c], 10);
	assert_int_equal(t.exhausted, 2000 - 1024);
	assert_int_equal(t.other, 0);
	t0 = vrpc_now_ms();
	assert_int_equal(call(b, M_ECHO, "still served", out, sizeof(out)), VRPC_OK);
	took = vrpc_now_ms() - t0;
	print_message("guest-b's call while guest-a holds 1024: %lld ms\n", (long long)took);
	assert_true(took < 1000);
	assert_string_equal(out, "still served");
	for (int c = 0; c < 5; c++)
		vrpc_client_close(flood[c]);
	vrpc_client_close(b);
}

/* More connections than a label's share: the extra ones are closed at
 * once, and the label's other connections and other labels carry on. */
static void test_connections_per_label(void **state)
{
	struct rig *r = *state;
	struct vrpc_client *c[16], *b;
	struct vrpc_relay_stats st;
	char out[64];

	for (int i = 0; i < 16; i++)
		c[i] = guest(r->gate_a);
	assert_null(vrpc_client_open(r->gate_a, &vrpc__test__echo__descriptor, NULL));
	/* The relay's thread counts the refusal; on a loaded machine the
	 * client may have given up first. */
	for (int i = 0; i < 200; i++) {
		vrpc_relay_stats(r->relay, &st);
		if (st.refused >= 1)
			break;
		usleep(10 * 1000);
	}
	assert_true(st.refused >= 1);
	b = guest(r->gate_b);
	assert_int_equal(call(b, M_ECHO, "b", out, sizeof(out)), VRPC_OK);
	assert_int_equal(call(c[15], M_ECHO, "a", out, sizeof(out)), VRPC_OK);
	vrpc_client_close(c[0]);
	usleep(100 * 1000);
	/* A slot freed is a slot to take. */
	c[0] = guest(r->gate_a);
	for (int i = 0; i < 16; i++)
		vrpc_client_close(c[i]);
	vrpc_client_close(b);
}

/* A connection that starts a HELLO and never finishes it is closed at the
 * deadline (a slow-loris holding its label's slots and buffers). */
static void test_partial_hello_times_out(void **state)
{
	struct rig *r = *state;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct vrpc_relay_stats st;
	char buf[8];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	int64_t t0;
	ssize_t n;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", r->gate_a + 5);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(write(fd, "VRPC", 4), 4);
	t0 = vrpc_now_ms();
	struct pollfd p = { .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 15000), 1);
	n = read(fd, buf, sizeof(buf));
	assert_int_equal(n, 0); /* closed, not answered */
	assert_in_range(vrpc_now_ms() - t0, 9000, 12000);
	vrpc_relay_stats(r->relay, &st);
	assert_int_equal(st.hello_timeouts, 1);
	close(fd);
}

/* ---- an appliance that answers HELLO, then nothing ---- */

#define MUTE_SERVICE "vrpc.test.Mute"

struct mute {
	char path[108];
	int lfd, fd;
	pthread_t thread;
};

/* Reads one frame's header and payload, whatever it is. */
static void mute_read_frame(int fd)
{
	uint8_t hdr[VRPC_HDR_SIZE], skip[4096];
	struct vrpc_hdr h;

	assert_int_equal(recv(fd, hdr, sizeof(hdr), MSG_WAITALL), VRPC_HDR_SIZE);
	assert_int_equal(wire_decode_header(hdr, sizeof(skip), &h), 0);
	assert_true(h.length <= sizeof(skip));
	if (h.length)
		assert_int_equal(recv(fd, skip, h.length, MSG_WAITALL), (ssize_t)h.length);
}

static void *mute_run(void *arg)
{
	struct mute *m = arg;
	Vrpc__V1__Hello ack = VRPC__V1__HELLO__INIT;
	char *methods[] = { "Echo" };
	uint8_t buf[VRPC_HDR_SIZE + 512];
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_HELLO_ACK };

	m->fd = accept(m->lfd, NULL, NULL);
	mute_read_frame(m->fd);
	ack.version_min = ack.version_max = VRPC_VERSION;
	ack.max_frame = 65536;
	ack.service = MUTE_SERVICE;
	ack.methods = methods;
	ack.n_methods = 1;
	h.length = (uint32_t)protobuf_c_message_pack(&ack.base, buf + VRPC_HDR_SIZE);
	wire_encode_header(&h, buf);
	assert_int_equal(send(m->fd, buf, VRPC_HDR_SIZE + h.length, MSG_NOSIGNAL),
			 (ssize_t)(VRPC_HDR_SIZE + h.length));
	/* Then it reads nothing and answers nothing: the socket stays open. */
	return NULL;
}

/* An appliance that answered its HELLO and then ignores the broker: calls
 * to it end at their deadlines, while every other appliance and guest is
 * served as before, promptly; the broker's loop never waits on it. */
static void test_mute_appliance_stalls_nobody(void **state)
{
	struct rig *r = *state;
	struct mute m = { .fd = -1 };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	ProtobufCServiceDescriptor mute_desc = vrpc__test__echo__descriptor;
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	struct vrpc_client *a, *b;
	ProtobufCMessage *reply;
	char addr[140], out[64];
	int64_t t0, worst = 0;

	snprintf(m.path, sizeof(m.path), "%s/mute", r->dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", m.path);
	m.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(m.lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(m.lfd, 1), 0);
	assert_int_equal(pthread_create(&m.thread, NULL, mute_run, &m), 0);
	snprintf(addr, sizeof(addr), "unix:%s", m.path);
	/* As vappd does: the upstream is opened off the loop, adopted on it. */
	struct vrpc_relay_upstream *up;
	assert_int_equal(vrpc_relay_upstream_open(addr, MUTE_SERVICE, 2000, &up), 0);
	pthread_join(m.thread, NULL);
	runner_stop(&r->rn);
	assert_int_equal(vrpc_relay_adopt(r->relay, up, "mute-appliance"), 0);
	assert_int_equal(runner_start(&r->rn), 0);

	mute_desc.name = MUTE_SERVICE;
	a = vrpc_client_open(r->gate_a, &mute_desc, NULL);
	assert_non_null(a);
	b = guest(r->gate_b);
	for (int i = 0; i < 20; i++)
		assert_true(vrpc_client_call_async(a, 0, &req.base, 500, NULL, NULL) > 0);
	for (int i = 0; i < 20; i++) {
		t0 = vrpc_now_ms();
		assert_int_equal(call(b, M_ECHO, "echo", out, sizeof(out)), VRPC_OK);
		if (vrpc_now_ms() - t0 > worst)
			worst = vrpc_now_ms() - t0;
		vrpc_client_wait(a, 0);
	}
	print_message("other guest's worst call while an appliance is mute: %lld ms\n",
		      (long long)worst);
	assert_true(worst < 500);
	assert_int_equal(vrpc_client_call(a, 0, &req.base, &reply, 300, NULL),
			 VRPC_DEADLINE_EXCEEDED);
	vrpc_client_close(a);
	vrpc_client_close(b);
	close(m.fd);
	close(m.lfd);
	unlink(m.path);
}

static void test_unknown_service(void **state)
{
	struct rig *r = *state;
	ProtobufCServiceDescriptor other = vrpc__test__echo__descriptor;

	other.name = "vrpc.test.Nothing";
	assert_null(vrpc_client_open(r->gate_a, &other, NULL));
	assert_int_equal(errno, ENOENT);
}

/* An upstream proved ready in one process is relayed by another: the
 * socket and the handover blob are all that passes. */
static void test_upstream_handover(void **state)
{
	struct rig *r = *state;
	struct vrpc_relay_upstream *u, *back;
	struct vrpc_client *a;
	uint8_t *blob;
	size_t len;
	int fd;
	char out[128];

	assert_int_equal(vrpc_relay_upstream_open(r->up, "vrpc.test.Echo", 2000, &u), 0);
	assert_int_equal(vrpc_relay_upstream_export(u, &fd, &blob, &len), 0);
	assert_true(fd >= 0);
	assert_int_equal(vrpc_relay_upstream_import(fd, blob, len, &back), 0);
	free(blob);
	assert_string_equal(vrpc_relay_upstream_service(back), "vrpc.test.Echo");
	runner_stop(&r->rn);
	assert_int_equal(vrpc_relay_adopt(r->relay, back, "echo-appliance"), 0);
	assert_int_equal(runner_start(&r->rn), 0);
	a = guest(r->gate_a);
	assert_int_equal(call(a, M_ECHO, "handed over", out, sizeof(out)), VRPC_OK);
	assert_string_equal(out, "handed over");
	assert_int_equal(call(a, M_WHOAMI, "", out, sizeof(out)), VRPC_OK);
	assert_string_equal(out, "label:guest-a");
	vrpc_client_close(a);
}

static int import_copy(const uint8_t *blob, size_t len)
{
	struct vrpc_relay_upstream *u = NULL;
	int sp[2], err;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	err = vrpc_relay_upstream_import(sp[0], blob, len, &u);
	if (!err)
		vrpc_relay_upstream_free(u);
	else
		assert_null(u);
	close(sp[1]);
	return err;
}

/* The blob is hostile input to its receiver: each lie is refused and the
 * fd is closed (the fd count does not grow). */
static void test_handover_blob_lies(void **state)
{
	struct rig *r = *state;
	struct vrpc_relay_upstream *u;
	uint8_t *blob, *bad;
	size_t len, sl;
	int fd, fds_before = dup(0);

	close(fds_before);
	assert_int_equal(vrpc_relay_upstream_open(r->up, "vrpc.test.Echo", 2000, &u), 0);
	assert_int_equal(vrpc_relay_upstream_export(u, &fd, &blob, &len), 0);
	close(fd);
	sl = blob[4];
	bad = malloc(len + 70000);
	assert_int_equal(import_copy(blob, len), 0);
	for (size_t cut = 0; cut < 9 + sl; cut++) /* cut short */
		assert_int_equal(import_copy(blob, cut), -EBADMSG);
	memcpy(bad, blob, len);
	bad[0] = 'X'; /* not a handover */
	assert_int_equal(import_copy(bad, len), -EBADMSG);
	memcpy(bad, blob, len);
	bad[5] = 'x'; /* "xnix": no such transport */
	assert_int_equal(import_copy(bad, len), -EINVAL);
	memcpy(bad, blob, len);
	bad[5 + sl] += 1; /* the HELLO_ACK's length lies */
	assert_int_equal(import_copy(bad, len), -EBADMSG);
	memcpy(bad, blob, len);
	memset(bad + 9 + sl, 0xff, len - 9 - sl); /* not a HELLO_ACK */
	assert_int_equal(import_copy(bad, len), -EBADMSG);
	memcpy(bad, blob, len);
	memset(bad + len, 0, 70000); /* more left over than a read buffer */
	assert_int_equal(import_copy(bad, len + 70000), -EBADMSG);
	free(bad);
	free(blob);
	/* Not a socket, or not a connected stream one. */
	assert_int_equal(vrpc_relay_upstream_import(open("/dev/null", O_RDONLY), blob = NULL, 0, &u),
			 -EBADMSG);
	fd = dup(0);
	close(fd);
	assert_int_equal(fd, fds_before);
}

/* A gate handed over as a socket: only a listening stream socket is one. */
static void test_listen_fd(void **state)
{
	struct rig *r = *state;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct vrpc_client *c;
	char out[128];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	close(sp[1]);
	runner_stop(&r->rn);
	assert_int_equal(vrpc_relay_listen_fd(r->relay, "unix", sp[0], "guest-c"), -ENOTSOCK);
	assert_int_equal(vrpc_relay_listen_fd(r->relay, "unix", open("/dev/null", O_RDONLY),
					      "guest-c"), -ENOTSOCK);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/guest-c.sock", r->dir);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(vrpc_relay_listen_fd(r->relay, "unix", fd, "guest c"), -EINVAL);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	unlink(sun.sun_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(vrpc_relay_listen_fd(r->relay, "unix", fd, "guest-c"), 0);
	assert_int_equal(runner_start(&r->rn), 0);
	snprintf(out, sizeof(out), "unix:%s", sun.sun_path);
	c = guest(out);
	assert_int_equal(call(c, M_WHOAMI, "", out, sizeof(out)), VRPC_OK);
	assert_string_equal(out, "label:guest-c");
	vrpc_client_close(c);
	unlink(sun.sun_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_comes_from_the_gate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_per_method, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_through_broker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_cancels_upstream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_cannot_name_a_caller, setup, teardown),
		cmocka_unit_test_setup_teardown(test_appliance_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_service, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upstream_handover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handover_blob_lies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fair_share_per_label, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connections_per_label, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_hello_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mute_appliance_stalls_nobody, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
