/*
 * test_direct.c - vrpc_server_watch_direct (vchan-rpc/core/direct.c) on
 * unix sockets: a grant file opens a listener whose peer is the name in
 * the file (WhoAmI says label:NAME, whatever the socket's uid), the
 * services it lists are the only ones a HELLO there gets (any other is
 * EACCES, the server's other listeners unchanged), a file written while
 * the server runs opens its listener, a file removed closes it while a
 * connection made before goes on, a changed file replaces its listener,
 * and malformed files (no service, a bad name, a NUL byte, a too-long
 * file, a symlink, a FIFO) open nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "echo_service.h"
#include "vrpc.h"

struct rig {
	char dir[64], grants[80], main_addr[96];
	struct vrpc_loop *loop;
	struct vrpc_server *srv;
	struct echo_service echo;
	pthread_t thread;
	int stop_fd;
};

static void on_stop(void *ud, int fd, short revents)
{
	vrpc_loop_quit(ud);
}

static void *run(void *arg)
{
	vrpc_loop_run(((struct rig *)arg)->loop);
	return NULL;
}

/* Writes DIR/grants/NAME as vapp-init does: a temporary, then renamed. */
static void grant(struct rig *r, const char *name, const char *text, size_t len)
{
	char tmp[160], path[160];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.%s", r->grants, name);
	snprintf(path, sizeof(path), "%s/%s", r->grants, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	assert_int_equal(rename(tmp, path), 0);
}

/* ADDR, LABEL and REST (the services, each line ended) as the file. */
static void grant_text(struct rig *r, const char *name, const char *addr, const char *label,
		       const char *rest)
{
	char text[512];
	int n = snprintf(text, sizeof(text), "%s\n%s\n%s", addr, label, rest);

	grant(r, name, text, (size_t)n);
}

static void ungrant(struct rig *r, const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", r->grants, name);
	assert_int_equal(unlink(path), 0);
}

static void sock_addr(struct rig *r, const char *name, char *out, size_t len)
{
	snprintf(out, len, "unix:%s/%s.sock", r->dir, name);
}

/* Starts the server with the grants already in @p setup. */
static void rig_start(struct rig *r, void (*setup)(struct rig *r))
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/vrpc-direct.XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->grants, sizeof(r->grants), "%s/grants", r->dir);
	assert_int_equal(mkdir(r->grants, 0755), 0);
	snprintf(r->main_addr, sizeof(r->main_addr), "unix:%s/main.sock", r->dir);
	if (setup)
		setup(r);
	r->loop = vrpc_loop_new();
	r->srv = vrpc_server_new(NULL);
	r->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_non_null(r->loop);
	assert_non_null(r->srv);
	echo_service_init(&r->echo, r->loop);
	assert_int_equal(vrpc_server_add_service(r->srv, &r->echo.base.base, echo_streaming), 0);
	assert_int_equal(vrpc_server_listen(r->srv, r->main_addr), 0);
	assert_int_equal(vrpc_server_watch_direct(r->srv, r->grants), 0);
	assert_int_equal(vrpc_loop_add_server(r->loop, r->srv), 0);
	assert_int_equal(vrpc_loop_add_fd(r->loop, r->stop_fd, POLLIN, on_stop, r->loop), 0);
	assert_int_equal(pthread_create(&r->thread, NULL, run, r), 0);
}

static void rig_stop(struct rig *r)
{
	uint64_t one = 1;
	char cmd[128];

	assert_int_equal(write(r->stop_fd, &one, sizeof(one)), sizeof(one));
	pthread_join(r->thread, NULL);
	vrpc_server_free(r->srv);
	echo_service_fini(&r->echo);
	vrpc_loop_free(r->loop);
	close(r->stop_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	assert_int_equal(system(cmd), 0);
}

static struct vrpc_client *open_echo(const char *addr)
{
	struct vrpc_client_opts o = { .connect_timeout_ms = 2000 };

	return vrpc_client_open(addr, &vrpc__test__echo__descriptor, &o);
}

/* Who the server says the caller is, or "" when the call failed. */
static void who(struct vrpc_client *cli, char *out, size_t len)
{
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;

	out[0] = '\0';
	req.text = "who";
	if (vrpc_client_call(cli, 4 /* WhoAmI */, &req.base, &reply, 3000, NULL) == VRPC_OK)
		snprintf(out, len, "%s", ((Vrpc__Test__EchoReply *)reply)->peer);
	protobuf_c_message_free_unpacked(reply, NULL);
}

/* Opens @p addr until it works (a file just written: the server has to
 * see it), for at most 3 s. */
static struct vrpc_client *open_soon(const char *addr)
{
	for (int i = 0; i < 60; i++) {
		struct vrpc_client *cli = open_echo(addr);

		if (cli)
			return cli;
		usleep(50 * 1000);
	}
	return NULL;
}

/* Until opening @p addr fails, for at most 3 s. @return its errno. */
static int refused_soon(const char *addr)
{
	for (int i = 0; i < 60; i++) {
		struct vrpc_client *cli = open_echo(addr);

		if (!cli)
			return errno;
		vrpc_client_close(cli);
		usleep(50 * 1000);
	}
	return 0;
}

static void carol_and_dave(struct rig *r)
{
	char a[128];

	sock_addr(r, "carol", a, sizeof(a));
	grant_text(r, "carol", a, "carol", "vrpc.test.Echo\n");
	sock_addr(r, "dave", a, sizeof(a));
	grant_text(r, "dave", a, "dave", "vrpc.test.Other\nvrpc.test.More\n");
	/* erin may call Echo but not its Fail or WhoAmI (a "!" names a method
	 * of the service before it); Sleep is denied for another service. */
	sock_addr(r, "erin", a, sizeof(a));
	grant_text(r, "erin", a, "erin",
		   "vrpc.test.Echo\n!Fail\n!WhoAmI\nvrpc.test.Other\n!Sleep\n");
}

static void test_granted_and_not(void **state)
{
	struct rig r;
	struct vrpc_client *cli;
	char a[128], peer[80];

	rig_start(&r, carol_and_dave);
	sock_addr(&r, "carol", a, sizeof(a));
	cli = open_echo(a);
	assert_non_null(cli);
	who(cli, peer, sizeof(peer));
	assert_string_equal(peer, "label:carol");
	vrpc_client_close(cli);

	/* dave is granted other services: Echo is refused at HELLO. */
	sock_addr(&r, "dave", a, sizeof(a));
	assert_null(open_echo(a));
	assert_int_equal(errno, EACCES);

	/* erin: the methods the policy denied her are refused by the server,
	 * the others answered. */
	sock_addr(&r, "erin", a, sizeof(a));
	cli = open_echo(a);
	assert_non_null(cli);
	{
		Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
		ProtobufCMessage *reply = NULL;
		char *msg = NULL;

		req.text = "hi";
		assert_int_equal(vrpc_client_call(cli, 0 /* Echo */, &req.base, &reply, 3000, NULL),
				 VRPC_OK);
		protobuf_c_message_free_unpacked(reply, NULL);
		reply = NULL;
		assert_int_equal(vrpc_client_call(cli, 4 /* WhoAmI */, &req.base, &reply, 3000, &msg),
				 VRPC_PERMISSION_DENIED);
		assert_null(reply);
		assert_non_null(msg);
		assert_string_equal(msg, "policy denies erin calling vrpc.test.Echo.WhoAmI");
		free(msg);
		/* Sleep is denied only on vrpc.test.Other: on Echo it answers. */
		assert_int_equal(vrpc_client_call(cli, 2 /* Sleep */, &req.base, &reply, 3000, NULL),
				 VRPC_OK);
		protobuf_c_message_free_unpacked(reply, NULL);
	}
	vrpc_client_close(cli);

	/* The server's own listener is as before: any service, the uid. */
	cli = open_echo(r.main_addr);
	assert_non_null(cli);
	who(cli, peer, sizeof(peer));
	assert_int_equal(strncmp(peer, "uid:", 4), 0);
	vrpc_client_close(cli);
	rig_stop(&r);
}

static void test_come_and_go(void **state)
{
	struct rig r;
	struct vrpc_client *before, *cli;
	char a[128], b[128], peer[80];

	rig_start(&r, NULL);
	sock_addr(&r, "erin", a, sizeof(a));
	assert_null(open_echo(a));

	grant_text(&r, "erin", a, "erin", "vrpc.test.Echo\n");
	before = open_soon(a);
	assert_non_null(before);
	who(before, peer, sizeof(peer));
	assert_string_equal(peer, "label:erin");

	/* Renamed by vappd's word: the new listener names the new peer. */
	sock_addr(&r, "erin2", b, sizeof(b));
	grant_text(&r, "erin", b, "erin-two", "vrpc.test.Echo\n");
	cli = open_soon(b);
	assert_non_null(cli);
	who(cli, peer, sizeof(peer));
	assert_string_equal(peer, "label:erin-two");
	vrpc_client_close(cli);

	/* Removed: nothing new is let in; what was made goes on, as itself. */
	ungrant(&r, "erin");
	assert_int_not_equal(refused_soon(b), 0);
	who(before, peer, sizeof(peer));
	assert_string_equal(peer, "label:erin");
	vrpc_client_close(before);
	rig_stop(&r);
}

static void bad_files(struct rig *r)
{
	char a[128], text[5000];

	sock_addr(r, "b1", a, sizeof(a));
	grant_text(r, "b1", a, "noservice", "");          /* no service */
	sock_addr(r, "b2", a, sizeof(a));
	grant_text(r, "b2", a, "bad name", "vrpc.test.Echo\n");
	sock_addr(r, "b3", a, sizeof(a));
	grant_text(r, "b3", a, "-dash", "vrpc.test.Echo\n");
	sock_addr(r, "b4", a, sizeof(a));
	{
		int n = snprintf(text, sizeof(text), "%s\nnul\nvrpc.test.Echo\n", a);

		text[n - 3] = '\0'; /* "Ec\0o" */
		grant(r, "b4", text, (size_t)n);
	}
	sock_addr(r, "b5", a, sizeof(a));
	{
		int n = snprintf(text, sizeof(text), "%s\nlong\n", a);

		memset(text + n, 'a', sizeof(text) - (size_t)n - 1);
		text[sizeof(text) - 2] = '\n';
		grant(r, "b5", text, sizeof(text) - 1); /* over 4 KiB */
	}
	sock_addr(r, "b6", a, sizeof(a));
	strcat(a, " extra");
	grant_text(r, "b6", a, "space", "vrpc.test.Echo\n");
	/* A symlink to a good grant is not followed. */
	sock_addr(r, "b7", a, sizeof(a));
	grant_text(r, ".good", a, "linked", "vrpc.test.Echo\n");
	{
		char path[160];

		snprintf(path, sizeof(path), "%s/b7", r->grants);
		assert_int_equal(symlink(".good", path), 0);
	}
	/* A FIFO: never waited on. */
	{
		char path[160];

		snprintf(path, sizeof(path), "%s/b8", r->grants);
		assert_int_equal(mkfifo(path, 0644), 0);
	}
	/* A denied method before any service, and one that is not a name. */
	sock_addr(r, "b9", a, sizeof(a));
	grant_text(r, "b9", a, "early", "!Fail\nvrpc.test.Echo\n");
	sock_addr(r, "b10", a, sizeof(a));
	grant_text(r, "b10", a, "dotted", "vrpc.test.Echo\n!vrpc.test.Echo.Fail\n");
}

static void test_bad_files(void **state)
{
	struct rig r;
	char a[128];

	rig_start(&r, bad_files);
	for (int i = 1; i <= 10; i++) {
		char name[8];

		snprintf(name, sizeof(name), "b%d", i);
		sock_addr(&r, name, a, sizeof(a));
		assert_null(open_echo(a));
	}
	/* The server still serves its own listener. */
	struct vrpc_client *cli = open_echo(r.main_addr);

	assert_non_null(cli);
	vrpc_client_close(cli);
	rig_stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_granted_and_not),
		cmocka_unit_test(test_come_and_go),
		cmocka_unit_test(test_bad_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
