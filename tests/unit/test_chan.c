/*
 * test_chan.c - "chan:NAME" (vchan-rpc/core/chan.c): the virtio-serial port
 * when it is there, else a vchan listened on under Xen, else nothing; the
 * xenstore path dom0 connects to; names that cannot be either.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vrpc.h"
#include "chan.h"

static char dir[] = "/tmp/vrpc-chan.XXXXXX";
static char ports[64], type[64];

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int resolve(const char *name, char *addr, bool *listen)
{
	return vrpc_chan_resolve_in(name, ports, type, addr, 128, listen);
}

static void test_resolve(void **state)
{
	char addr[128], p[128];
	bool listen = true;

	(void)state;
	/* Neither a port nor Xen: nothing to serve on. */
	assert_int_equal(resolve("vapp.rpc", addr, &listen), -ENOENT);
	put(type, "kvm\n");
	assert_int_equal(resolve("vapp.rpc", addr, &listen), -ENOENT);

	/* Xen: a vchan for dom0 at the appliance's own data/vapp, '.' as '@'. */
	put(type, "xen\n");
	assert_int_equal(resolve("vapp.rpc", addr, &listen), 0);
	assert_true(listen);
	assert_string_equal(addr, "xen:0:data/vapp/vapp@rpc");

	/* The port, when there is one, whatever the hypervisor. */
	snprintf(p, sizeof(p), "%s/vapp.rpc", ports);
	put(p, "");
	assert_int_equal(resolve("vapp.rpc", addr, &listen), 0);
	assert_false(listen);
	snprintf(p, sizeof(p), "serial:%s/vapp.rpc", ports);
	assert_string_equal(addr, p);

	/* Names that are no port name: refused before anything is opened. */
	assert_int_equal(resolve("", addr, &listen), -EINVAL);
	assert_int_equal(resolve("../vapp.rpc", addr, &listen), -EINVAL);
	assert_int_equal(resolve("a/b", addr, &listen), -EINVAL);
	assert_int_equal(resolve("a@b", addr, &listen), -EINVAL);
	assert_int_equal(resolve(".hidden", addr, &listen), -EINVAL);
	/* Under Xen, a name whose path would not fit libxenvchan's buffers. */
	assert_int_equal(resolve("a-name-of-twenty-one", addr, &listen), -ENAMETOOLONG);
	assert_int_equal(resolve("nineteen-bytes-name", addr, &listen), 0);
}

static void test_xen_path(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(vrpc_chan_xen_path("vapp.rpc", 7, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/local/domain/7/data/vapp/vapp@rpc");
	assert_int_equal(vrpc_chan_xen_path("nineteen-bytes-name", 32767, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 49);
	assert_int_equal(vrpc_chan_xen_path("a-name-of-twenty-one", 1, buf, sizeof(buf)),
			 -ENAMETOOLONG);
	assert_int_equal(vrpc_chan_xen_path("a/b", 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(vrpc_chan_xen_path("vapp.rpc", 7, buf, 10), -ENAMETOOLONG);
}

/* vrpc_server_attach() takes the scheme; here there is no such port and
 * no Xen, so it says so. */
static void test_attach(void **state)
{
	struct vrpc_server *srv = vrpc_server_new(NULL);

	(void)state;
	assert_non_null(srv);
	if (access("/dev/virtio-ports/vrpc-test-none", F_OK) != 0 &&
	    access("/sys/hypervisor/type", F_OK) != 0)
		assert_int_equal(vrpc_server_attach(srv, "chan:vrpc-test-none"), -ENOENT);
	assert_int_equal(vrpc_server_attach(srv, "chan:../x"), -EINVAL);
	vrpc_server_free(srv);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(ports, sizeof(ports), "%s/ports", dir);
	snprintf(type, sizeof(type), "%s/type", dir);
	return mkdir(ports, 0755);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_xen_path),
		cmocka_unit_test(test_attach),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
