/*
 * test_transport_vsock.c - "vsock:CID:PORT": parsing, listening, and a live
 * exchange over loopback vsock (CID 1) when the kernel has vsock_loopback.
 *
 * Nothing here connects to a remote CID: without vsock_loopback even CID 1
 * would leave the machine through the guest-to-host transport, and the host
 * is not ours to poke. So parsing is checked through listen(), whose bind()
 * fails with EADDRNOTAVAIL, not EINVAL, for a well-formed foreign CID.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include <cmocka.h>

#include "server_thread.h"
#include "transport.h"

/* A port unlikely to be in use, different for concurrent runs. */
static unsigned test_port(unsigned n)
{
	return 0x40000000u + ((unsigned)getpid() << 4) + n;
}

static int have_vsock(void)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static void test_scheme(void **state)
{
	const char *rest = NULL;

	assert_ptr_equal(transport_find("vsock:2:52", &rest), &vrpc_transport_vsock);
	assert_string_equal(rest, "2:52");
}

static void test_bad_addresses(void **state)
{
	static const char *const bad[] = {
		"vsock:", "vsock:2", "vsock:2:", "vsock::52", "vsock:x:52",
		"vsock:2:x", "vsock:-1:52", "vsock:+2:52", "vsock:02:52", "vsock: 2:52",
		"vsock:2:52 ", "vsock:2:52:1", "vsock:2:-1", "vsock:2:4294967295",
		"vsock:2:4294967296", "vsock:4294967295:52", "vsock:4294967296:52",
		"vsock:hostx:52", "vsock:Host:52", "vsock:anyy:52", "vsock:loc:52",
	};
	struct vrpc_transport *t = NULL;
	struct vrpc_listener *l = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (transport_connect(bad[i], 500, &t) != -EINVAL)
			fail_msg("connect \"%s\" was not refused with EINVAL", bad[i]);
		if (transport_listen(bad[i], &l) != -EINVAL)
			fail_msg("listen \"%s\" was not refused with EINVAL", bad[i]);
	}
	/* "any" is where to listen, never whom to call. */
	assert_int_equal(transport_connect("vsock:any:52", 500, &t), -EINVAL);
	assert_null(t);
	assert_null(l);
}

/* Well-formed CIDs reach bind(): whatever it says, it is not EINVAL. */
static void test_good_addresses(void **state)
{
	static const char *const cids[] = { "host", "local", "0", "2", "3", "4294967294" };
	struct vrpc_listener *l = NULL;
	char addr[64];
	int err;

	for (size_t i = 0; i < sizeof(cids) / sizeof(cids[0]); i++) {
		snprintf(addr, sizeof(addr), "vsock:%s:%u", cids[i], test_port(1));
		err = transport_listen(addr, &l);
		if (err == -EINVAL)
			fail_msg("\"%s\" was refused as malformed", addr);
		if (!err) {
			listener_close(l);
			l = NULL;
		}
	}
}

static void test_listen_any(void **state)
{
	struct sockaddr_vm svm;
	socklen_t len = sizeof(svm);
	struct vrpc_listener *l = NULL, *l2 = NULL;
	struct vrpc_transport *t = NULL;
	char addr[64];

	snprintf(addr, sizeof(addr), "vsock:any:%u", test_port(2));
	assert_int_equal(transport_listen(addr, &l), 0);
	assert_int_equal(getsockname(l->fd, (struct sockaddr *)&svm, &len), 0);
	assert_int_equal(svm.svm_cid, VMADDR_CID_ANY);
	assert_int_equal(svm.svm_port, test_port(2));
	/* Nobody called: accept does not block. */
	assert_int_equal(l->ops->accept(l, &t), -EAGAIN);
	assert_null(t);
	/* The port is taken while we listen. */
	assert_int_equal(transport_listen(addr, &l2), -EADDRINUSE);
	assert_null(l2);
	listener_close(l);
}

static int have_loopback(void)
{
	return have_vsock() && access("/sys/module/vsock_loopback", F_OK) == 0;
}

static void test_loopback_exchange(void **state)
{
	struct vrpc_listener *l = NULL;
	struct vrpc_transport *c = NULL, *s = NULL;
	struct pollfd pfd;
	char addr[64], buf[8];
	ssize_t n;

	snprintf(addr, sizeof(addr), "vsock:any:%u", test_port(3));
	assert_int_equal(transport_listen(addr, &l), 0);
	snprintf(addr, sizeof(addr), "vsock:local:%u", test_port(3));
	assert_int_equal(transport_connect(addr, 2000, &c), 0);
	assert_int_equal(c->peer.kind, VRPC_PEER_CID);
	assert_int_equal(c->peer.id, VMADDR_CID_LOCAL);
	assert_int_equal(c->peer.aux, test_port(3));
	pfd = (struct pollfd){ .fd = l->fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 3000), 1);
	assert_int_equal(l->ops->accept(l, &s), 0);
	assert_int_equal(s->peer.kind, VRPC_PEER_CID);
	assert_int_equal(s->peer.id, VMADDR_CID_LOCAL);

	assert_int_equal(c->ops->write(c, "ping", 4), 4);
	assert_true(transport_wait(s, 0, 3000) > 0);
	assert_int_equal(s->ops->read(s, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	transport_close(c);
	do {
		assert_true(transport_wait(s, 0, 3000) > 0);
		n = s->ops->read(s, buf, sizeof(buf));
	} while (n == -EAGAIN);
	assert_int_equal(n, 0);
	transport_close(s);
	listener_close(l);
}

/* The RPC engine over loopback vsock: the server names its caller "cid:1". */
static void test_loopback_rpc(void **state)
{
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	struct server_thread st;
	struct vrpc_client *cli;
	ProtobufCMessage *reply = NULL;
	char addr[64];

	snprintf(addr, sizeof(addr), "vsock:any:%u", test_port(4));
	assert_int_equal(server_thread_start(&st, addr, NULL), 0);
	snprintf(addr, sizeof(addr), "vsock:local:%u", test_port(4));
	cli = vrpc_client_open(addr, &vrpc__test__echo__descriptor, NULL);
	assert_non_null(cli);
	req.text = "over vsock";
	for (int i = 0; i < 20; i++) {
		assert_int_equal(vrpc_client_call(cli, 0 /* Echo */, &req.base, &reply, 3000, NULL),
				 VRPC_OK);
		assert_string_equal(((Vrpc__Test__EchoReply *)reply)->text, "over vsock");
		protobuf_c_message_free_unpacked(reply, NULL);
	}
	assert_int_equal(vrpc_client_call(cli, 4 /* WhoAmI */, &req.base, &reply, 3000, NULL),
			 VRPC_OK);
	assert_string_equal(((Vrpc__Test__EchoReply *)reply)->peer, "cid:1");
	protobuf_c_message_free_unpacked(reply, NULL);
	vrpc_client_close(cli);
	server_thread_stop(&st);
}

/* A skipped cmocka case prints "not ok ... # SKIP", which tests/run.sh counts
 * as a failure: cases that cannot run here are left out, and we say why. */
int main(void)
{
	struct CMUnitTest tests[8];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_scheme);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bad_addresses);
	if (have_vsock()) {
		tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_good_addresses);
		tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_listen_any);
	} else {
		printf("# no AF_VSOCK in this kernel: listening not tested\n");
	}
	if (have_loopback()) {
		tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_loopback_exchange);
		tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_loopback_rpc);
	} else
		printf("# vsock_loopback is not loaded (no /sys/module/vsock_loopback): "
		       "live connect/accept not tested\n");
	return _cmocka_run_group_tests("test_transport_vsock", tests, n, NULL, NULL);
}
