/*
 * test_modules.c - which module files go into an image: dependencies first
 * (whatever order modules.dep lists them in), each once, '-' and '_' the
 * same, compressed names understood, built-ins counted but not copied, an
 * unknown module an error that names it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "modules.h"
#include "vapp_util.h"

static char dir[] = "/tmp/test_modules.XXXXXX";

static void put(const char *name, const char *text)
{
	char *p = vapp_path_join(dir, name);

	assert_non_null(p);
	assert_int_equal(vapp_write_file_atomic(p, text, strlen(text), 0644), 0);
	free(p);
}

static int setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	/* c needs b and a; b needs a; depmod lists the whole set, here in an
	 * order that is not load order, to show it is not relied on. */
	put("modules.dep",
	    "kernel/a.ko:\n"
	    "kernel/x/b-mod.ko.xz: kernel/a.ko\n"
	    "kernel/c.ko.zst: kernel/a.ko kernel/x/b-mod.ko.xz\n"
	    "kernel/d.ko: kernel/c.ko.zst kernel/x/b-mod.ko.xz kernel/a.ko\n"
	    "kernel/lonely.ko:\n");
	put("modules.builtin", "kernel/fs/ext4/ext4.ko\nkernel/drivers/virtio/virtio.ko\n");
	return 0;
}

static int teardown(void **state)
{
	vapp_rm_rf(dir);
	return 0;
}

static void names(void **state)
{
	char out[64];

	module_name("kernel/drivers/net/virtio-net.ko.xz", out);
	assert_string_equal(out, "virtio_net");
	module_name("virtio_console", out);
	assert_string_equal(out, "virtio_console");
	module_name("a.ko.zst", out);
	assert_string_equal(out, "a");
	module_name("x.kop", out);
	assert_string_equal(out, "x.kop");
}

static void order(void **state)
{
	char *want[] = { "d", "b_mod", "ext4", "lonely" };
	static const char *const expect[] = { "kernel/a.ko", "kernel/x/b-mod.ko.xz",
					      "kernel/c.ko.zst", "kernel/d.ko", "kernel/lonely.ko" };
	struct mod_plan p;
	char err[256] = "";

	assert_int_equal(modules_resolve(dir, want, 4, &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 5);
	for (size_t i = 0; i < p.n; i++)
		assert_string_equal(p.paths[i], expect[i]);
	assert_int_equal(p.n_builtin, 1);
	mod_plan_free(&p);
}

static void unknown(void **state)
{
	char *want[] = { "a", "nosuch-mod" };
	struct mod_plan p;
	char err[256] = "";

	assert_int_equal(modules_resolve(dir, want, 2, &p, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "nosuch-mod"));
	assert_int_equal(p.n, 0);
	/* A dependency with no line of its own: a broken modules.dep. */
	put("modules.dep", "kernel/a.ko: kernel/gone.ko\n");
	assert_int_equal(modules_resolve(dir, want, 1, &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "gone.ko"));
	/* No modules.dep at all. */
	{
		char *dep = vapp_path_join(dir, "modules.dep");

		unlink(dep);
		free(dep);
	}
	assert_int_equal(modules_resolve(dir, want, 1, &p, err, sizeof(err)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(order),
		cmocka_unit_test(unknown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
