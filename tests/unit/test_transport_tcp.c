/* test_transport_tcp.c - "tcp:HOST:PORT": parsing, refusal, loopback exchange. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostport.h"
#include "transport.h"

static void test_parse_good(void **state)
{
	struct hostport hp;

	assert_int_equal(hostport_parse("127.0.0.1:7000", &hp), 0);
	assert_string_equal(hp.host, "127.0.0.1");
	assert_string_equal(hp.port, "7000");
	assert_int_equal(hostport_parse("localhost:1", &hp), 0);
	assert_string_equal(hp.host, "localhost");
	assert_string_equal(hp.port, "1");
	assert_int_equal(hostport_parse("[::1]:65535", &hp), 0);
	assert_string_equal(hp.host, "::1");
	assert_string_equal(hp.port, "65535");
	assert_int_equal(hostport_parse("[fe80::1%lo]:80", &hp), 0);
	assert_string_equal(hp.host, "fe80::1%lo");
	assert_int_equal(hostport_parse("voip-ui.example_1:443", &hp), 0);
	assert_string_equal(hp.host, "voip-ui.example_1");
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", ":", "host", "host:", ":80", "[]:80",
		"host:0", "host:65536", "host:99999", "host:123456", "host:-1",
		"host:+80", "host:80a", "host: 80", "host:0080", "host:8 0",
		"::1:80", "[::1:80", "[::1]80", "[::1]:", "[::1]:x", "[::1]]:80",
		"a b:80", "a/b:80", "a@b:80", "a\n:80", "a%b:80", "host:80:81",
	};
	char longhost[HOSTPORT_HOST_MAX + 8];
	struct hostport hp;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (hostport_parse(bad[i], &hp) != -EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
	}
	/* The longest host fits; one more character does not. */
	memset(longhost, 'a', HOSTPORT_HOST_MAX);
	strcpy(longhost + HOSTPORT_HOST_MAX, ":80");
	assert_int_equal(hostport_parse(longhost, &hp), 0);
	assert_int_equal(strlen(hp.host), HOSTPORT_HOST_MAX);
	memset(longhost, 'a', HOSTPORT_HOST_MAX + 1);
	strcpy(longhost + HOSTPORT_HOST_MAX + 1, ":80");
	assert_int_equal(hostport_parse(longhost, &hp), -EINVAL);
}

static void test_connect_bad_address(void **state)
{
	struct vrpc_transport *t = NULL;
	struct vrpc_listener *l = NULL;

	assert_int_equal(transport_connect("tcp:127.0.0.1:0", 1000, &t), -EINVAL);
	assert_int_equal(transport_connect("tcp:127.0.0.1", 1000, &t), -EINVAL);
	assert_int_equal(transport_connect("tcp:::1:80", 1000, &t), -EINVAL);
	assert_int_equal(transport_listen("tcp:[::1]:70000", &l), -EINVAL);
	assert_null(t);
	assert_null(l);
}

/* A port nobody listens on: bind one, learn its number, close it. */
static int free_port(int family)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int fd = socket(family, SOCK_STREAM, 0), port;

	if (fd < 0)
		return -1;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		return -1;
	}
	port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
				       : ((struct sockaddr_in6 *)&ss)->sin6_port);
	close(fd);
	return port;
}

static void test_connect_refused(void **state)
{
	struct vrpc_transport *t = NULL;
	char addr[64];
	int port = free_port(AF_INET);

	assert_true(port > 0);
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%d", port);
	assert_int_equal(transport_connect(addr, 1000, &t), -ECONNREFUSED);
	assert_null(t);
}

/* Waits for @p fd to be ready, bounded: a test never hangs. */
static void wait_fd(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	assert_int_equal(poll(&pfd, 1, 5000), 1);
}

/* Listens on @p host, connects, and sends a message each way. */
static void exchange(const char *host, int family, const char *want_label)
{
	struct vrpc_listener *l;
	struct vrpc_transport *c, *s;
	char addr[128], buf[64];
	int port = free_port(family), nodelay = 0;
	socklen_t len = sizeof(nodelay);
	ssize_t n;

	assert_true(port > 0);
	snprintf(addr, sizeof(addr), "tcp:%s:%d", host, port);
	assert_int_equal(transport_listen(addr, &l), 0);
	/* Nothing pending yet: a non-blocking accept says so. */
	assert_int_equal(l->ops->accept(l, &s), -EAGAIN);
	assert_int_equal(transport_connect(addr, 2000, &c), 0);
	wait_fd(l->fd, POLLIN);
	assert_int_equal(l->ops->accept(l, &s), 0);

	/* Both ends know who the other is, and both disabled Nagle. */
	assert_int_equal(c->peer.kind, VRPC_PEER_HOST);
	assert_string_equal(c->peer.label, want_label);
	assert_int_equal(c->peer.aux, port);
	assert_int_equal(s->peer.kind, VRPC_PEER_HOST);
	assert_string_equal(s->peer.label, want_label);
	assert_true(s->peer.aux > 0 && (int)s->peer.aux != port);
	assert_int_equal(getsockopt(c->fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &nodelay, &len), 0);
	assert_int_equal(nodelay, 1);
	assert_int_equal(getsockopt(s->fd, IPPROTO_TCP, 1, &nodelay, &len), 0);
	assert_int_equal(nodelay, 1);

	/* Non-blocking: an empty stream says -EAGAIN instead of waiting. */
	assert_int_equal(s->ops->read(s, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(c->ops->write(c, "ping", 4), 4);
	assert_int_equal(transport_wait(s, 0, 5000), 1);
	n = s->ops->read(s, buf, sizeof(buf));
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(s->ops->write(s, "pong!", 5), 5);
	assert_int_equal(transport_wait(c, 0, 5000), 1);
	assert_int_equal(c->ops->read(c, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "pong!", 5);

	/* The client goes away: the server reads the end of the stream. */
	transport_close(c);
	wait_fd(s->fd, POLLIN);
	assert_int_equal(s->ops->read(s, buf, sizeof(buf)), 0);
	transport_close(s);
	listener_close(l);
}

static void test_loopback_ipv4(void **state)
{
	exchange("127.0.0.1", AF_INET, "127.0.0.1");
}

static void test_loopback_name(void **state)
{
	/* "localhost" comes from /etc/hosts, no resolver traffic. It may be
	 * ::1 first; either way the peer is a loopback address. */
	struct vrpc_listener *l;
	struct vrpc_transport *c, *s;
	char addr[64];
	int port = free_port(AF_INET);

	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%d", port);
	assert_int_equal(transport_listen(addr, &l), 0);
	snprintf(addr, sizeof(addr), "tcp:localhost:%d", port);
	assert_int_equal(transport_connect(addr, 2000, &c), 0);
	assert_string_equal(c->peer.label, "127.0.0.1");
	wait_fd(l->fd, POLLIN);
	assert_int_equal(l->ops->accept(l, &s), 0);
	transport_close(s);
	transport_close(c);
	listener_close(l);
}

static void test_loopback_ipv6(void **state)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = in6addr_loopback };
	int ok = fd >= 0 && bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;

	if (fd >= 0)
		close(fd);
	if (!ok)
		skip(); /* no ::1 on this machine */
	exchange("[::1]", AF_INET6, "::1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_connect_bad_address),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_loopback_ipv4),
		cmocka_unit_test(test_loopback_name),
		cmocka_unit_test(test_loopback_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
