/* test_hvrun_xen.c - the Xen backend's command lines (hypervisor-config/src/run_xen.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hvrun.h"

static void expect_argv(char **got, const char *const *want)
{
	size_t i;

	assert_non_null(got);
	for (i = 0; want[i]; i++) {
		assert_non_null(got[i]);
		assert_string_equal(got[i], want[i]);
	}
	assert_null(got[i]);
	hv_argv_free(got);
}

static void create_and_domid(void **state)
{
	const char *const create[] = { "xl", "create", "-p", "-F", "/run/vapp/hello/xl.cfg",
				       "name=\"vapp-hello\"", NULL };
	const char *const domid[] = { "xl", "domid", "hello", NULL };
	const char *const stop[] = { "xl", "shutdown", "-w", "hello", NULL };
	const char *const destroy[] = { "xl", "destroy", "hello", NULL };
	uint32_t id = 0;

	expect_argv(hv_xen_create_argv("/run/vapp/hello/xl.cfg", "vapp-hello"), create);
	expect_argv(hv_xen_domid_argv("hello"), domid);
	expect_argv(hv_xen_stop_argv("hello", 0), stop);
	expect_argv(hv_xen_stop_argv("hello", 1), destroy);
	/* Names that would need quoting in xl's syntax are refused. */
	assert_null(hv_xen_create_argv("/x.cfg", "a\"b"));
	assert_int_equal(errno, EINVAL);
	assert_null(hv_xen_create_argv("/x.cfg", "Hello"));
	assert_null(hv_xen_domid_argv(""));
	assert_int_equal(hv_xen_parse_domid("5\n", &id), 0);
	assert_int_equal(id, 5);
	assert_int_equal(hv_xen_parse_domid("32751", &id), 0);
	assert_int_equal(hv_xen_parse_domid("32752", &id), -EINVAL);
	assert_int_equal(hv_xen_parse_domid("5 6", &id), -EINVAL);
	assert_int_equal(hv_xen_parse_domid("", &id), -EINVAL);
	assert_int_equal(hv_xen_parse_domid("-1", &id), -EINVAL);
	assert_int_equal(hv_xen_parse_domid("99999999999999999999", &id), -EINVAL);

	/* xl create -F's word that the domain is made, for our name only. */
	id = 0;
	assert_int_equal(hv_xen_parse_created("Parsing config from /r/xl.cfg\n", "vapp-hello", &id),
			 -ENOENT);
	assert_int_equal(hv_xen_parse_created("Parsing config from /r/xl.cfg\nWaiting for domain "
					      "vapp-hello (domid 7) to die [pid 130]\n",
					      "vapp-hello", &id), 0);
	assert_int_equal(id, 7);
	assert_int_equal(hv_xen_parse_created("Waiting for domain vapp-hello2 (domid 8) to die\n",
					      "vapp-hello", &id), -ENOENT);
	assert_int_equal(hv_xen_parse_created("xWaiting for domain vapp-hello (domid 8) to die\n",
					      "vapp-hello", &id), -ENOENT);
	assert_int_equal(hv_xen_parse_created("Waiting for domain vapp-hello (domid 8x) to die\n",
					      "vapp-hello", &id), -EINVAL);
	assert_int_equal(hv_xen_parse_created("Waiting for domain vapp-hello (domid 9", "vapp-hello",
					      &id), -ENOENT);
	assert_int_equal(hv_xen_parse_created("Waiting for domain vapp-hello (domid 9\n", "vapp-hello",
					      &id), -EINVAL);
	assert_int_equal(id, 7);
}

static void vchan_permissions(void **state)
{
	const char *const mk[] = { "xenstore-write", "/local/domain/3/data/vapp/rpc", "", NULL };
	const char *const ch[] = { "xenstore-chmod", "-r", "/local/domain/3/data/vapp/rpc",
				   "n3", "r7", NULL };

	expect_argv(hv_xen_vchan_mkdir_argv("/local/domain/3/data/vapp/rpc"), mk);
	expect_argv(hv_xen_vchan_chmod_argv("/local/domain/3/data/vapp/rpc", 3, 7), ch);
	/* dom0 as a party, one domain both ends, bad paths: refused. */
	assert_null(hv_xen_vchan_chmod_argv("/local/domain/3/x", 0, 7));
	assert_null(hv_xen_vchan_chmod_argv("/local/domain/3/x", 3, 0));
	assert_null(hv_xen_vchan_chmod_argv("/local/domain/3/x", 3, 3));
	assert_null(hv_xen_vchan_chmod_argv("/local/domain/3/x", 3, 40000));
	assert_null(hv_xen_vchan_mkdir_argv("relative/path"));
	assert_null(hv_xen_vchan_mkdir_argv("/a//b"));
	assert_null(hv_xen_vchan_mkdir_argv("/a b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_and_domid),
		cmocka_unit_test(vchan_permissions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
