/*
 * test_transport_xen.c - "xen:DOMID:PATH": what can be checked without Xen.
 *
 * This machine has no hypervisor (no /dev/xen devices, no xenstore), so these tests
 * cover address parsing and the failure paths: libxenvchan's server and client
 * init must fail at once, with a meaningful -errno, leaving no fd or memory
 * behind (run with SAN=1 for the memory part) and printing nothing. On a Xen
 * dom0 the "no hypervisor" cases are skipped. A vchan end to end needs a
 * running Xen (dom0 and a domU), which no unit test can count on.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"

static int have_xen(void)
{
	return access("/dev/xen/gntalloc", F_OK) == 0 || access("/dev/xen/xenbus", F_OK) == 0 ||
	       access("/var/run/xenstored/socket", F_OK) == 0;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Both sides refuse a malformed address before touching libxen. */
static void test_bad_addresses(void **state)
{
	static const char *const bad[] = {
		"xen:", "xen:1", "xen:1:", "xen::/a", "xen:x:/a", "xen:1x:/a",
		"xen:-1:/a", "xen:+1:/a", "xen: 1:/a", "xen:01:/a",
		"xen:32752:/a",     /* DOMID_FIRST_RESERVED */
		"xen:4294967296:/a", "xen:99999999999:/a",
		"xen:1:/a b", "xen:1:/a\n", "xen:1:a.b", "xen:1:a,b", "xen:1:/a%",
		"xen:1:/a:", "xen:1:/a:0", "xen:1:/a:x", "xen:1:/a:2M",
		"xen:1:/a:1048577", "xen:1:/a:1025K", "xen:1:/a:64Q", "xen:1:/a:K",
		"xen:1:/a:64K:", "xen:1:/a:64K:0", "xen:1:/a:64K:64K:",
		"xen:1:/a:64K:64K:1", "xen:1:/a:64K:64K:64K",
	};
	struct vrpc_transport *t = NULL;
	struct vrpc_listener *l = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (transport_listen(bad[i], &l) != -EINVAL)
			fail_msg("listen \"%s\" was not refused with EINVAL", bad[i]);
		if (transport_connect(bad[i], 1000, &t) != -EINVAL)
			fail_msg("connect \"%s\" was not refused with EINVAL", bad[i]);
	}
	/* The server picks the rings: sizes in a client address are a mistake. */
	assert_int_equal(transport_connect("xen:0:data/vrpc:64K", 1000, &t), -EINVAL);
	assert_int_equal(transport_connect("xen:0:data/vrpc:4096:4096", 1000, &t), -EINVAL);
	assert_null(t);
	assert_null(l);
}

/* libxenvchan formats "PATH/event-channel" into 64 bytes: 49 is the most. */
static void test_path_length(void **state)
{
	char addr[80];
	struct vrpc_listener *l = NULL;
	struct vrpc_transport *t = NULL;
	int err;

	snprintf(addr, sizeof(addr), "xen:3:%.50s", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_int_equal(strlen(addr), 6 + 50);
	assert_int_equal(transport_listen(addr, &l), -ENAMETOOLONG);
	assert_int_equal(transport_connect(addr, 1000, &t), -ENAMETOOLONG);
	addr[strlen(addr) - 1] = '\0'; /* 49: parsed, then libxen decides */
	err = transport_listen(addr, &l);
	assert_int_not_equal(err, -ENAMETOOLONG);
	assert_int_not_equal(err, -EINVAL);
	if (!err)
		listener_close(l);
	err = transport_connect(addr, 1000, &t);
	assert_int_not_equal(err, -ENAMETOOLONG);
	assert_int_not_equal(err, -EINVAL);
	if (!err)
		transport_close(t);
}

/* Runs @p fn with stderr sent to a file, and returns what was written there. */
static long stderr_bytes_during(int (*fn)(void), int *ret)
{
	char tmpl[] = "/tmp/vrpc-xen-stderr-XXXXXX";
	int fd = mkstemp(tmpl), saved = dup(2);
	struct stat st;

	assert_true(fd >= 0 && saved >= 0);
	unlink(tmpl);
	fflush(stderr);
	dup2(fd, 2);
	*ret = fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	return (long)st.st_size;
}

static int listen_once(void)
{
	struct vrpc_listener *l = NULL;
	int err = transport_listen("xen:1:data/vrpc/test:256K:16K", &l);

	if (!err)
		listener_close(l);
	return err;
}

static int connect_once(void)
{
	struct vrpc_transport *t = NULL;
	int err = transport_connect("xen:0:/local/domain/0/data/vrpc/test", 1000, &t);

	if (!err)
		transport_close(t);
	return err;
}

static void check_init_fails(int (*fn)(void), const char *what)
{
	int fds = count_fds(), err = 0;
	long noise;

	noise = stderr_bytes_during(fn, &err);
	/* No gntalloc device, no xenstore: "no such file", as open() says it. */
	if (err != -ENOENT && err != -EACCES)
		fail_msg("%s: expected -ENOENT or -EACCES, got %d (%s)", what, err, strerror(-err));
	if (noise != 0)
		fail_msg("%s: libxen printed %ld bytes on stderr without VRPC_DEBUG", what, noise);
	/* Again and again: nothing accumulates. */
	for (int i = 0; i < 50; i++)
		assert_int_equal(fn(), err);
	assert_int_equal(count_fds(), fds);
}

static void test_server_init_fails_cleanly(void **state)
{
	check_init_fails(listen_once, "listen");
}

static void test_client_init_fails_cleanly(void **state)
{
	check_init_fails(connect_once, "connect");
}

/* With VRPC_DEBUG set the same failure is explained on stderr. */
static void test_debug_logging(void **state)
{
	int err = 0;
	long noise;

	setenv("VRPC_DEBUG", "1", 1);
	noise = stderr_bytes_during(listen_once, &err);
	unsetenv("VRPC_DEBUG");
	assert_true(err < 0);
	assert_true(noise > 0);
}

static void test_scheme(void **state)
{
	const char *rest = NULL;
	const struct vrpc_transport_ops *ops = transport_find("xen:7:data/vrpc/fw", &rest);

	assert_non_null(ops);
	assert_ptr_equal(ops, &vrpc_transport_xen);
	assert_string_equal(rest, "7:data/vrpc/fw");
	assert_non_null(ops->poll_done);
	assert_null(ops->attach);
}

/* A skipped cmocka case prints "not ok ... # SKIP", which tests/run.sh counts
 * as a failure: cases that cannot run here are left out, and we say why. */
int main(void)
{
	struct CMUnitTest tests[8];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_scheme);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bad_addresses);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_path_length);
	if (!have_xen()) {
		tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_server_init_fails_cleanly);
		tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_client_init_fails_cleanly);
		tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_debug_logging);
	} else {
		printf("# Xen is present: the no-hypervisor failure cases do not apply\n");
	}
	return _cmocka_run_group_tests("test_transport_xen", tests, n, NULL, NULL);
}
