/* test_manifest.c - manifest_load() through its public API: the hello
 * appliance's manifest field by field, defaults, ${BUILD} expansion, the
 * diagnostics of a broken one, and (under SAN=1) no leak on any path. Run
 * from the top of the tree (tests/run.sh does). */
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

#include "manifest.h"
/* By its path: other libraries have a private.h of their own. */
#include "../../manifest/src/manifest_private.h"

/* A stand-in build folder holding bin/hello-server, so that the test does
 * not depend on what make has built. */
static char build_dir[64];

static int make_build_dir(void **state)
{
	char path[128];
	FILE *f;

	snprintf(build_dir, sizeof(build_dir), "/tmp/vapp-test-manifest.XXXXXX");
	if (!mkdtemp(build_dir))
		return -1;
	snprintf(path, sizeof(path), "%s/bin", build_dir);
	if (mkdir(path, 0755) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/bin/hello-server", build_dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("#!/bin/sh\n", f);
	fclose(f);
	return chmod(path, 0755);
}

static int remove_build_dir(void **state)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/bin/hello-server", build_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bin", build_dir);
	rmdir(path);
	rmdir(build_dir);
	return 0;
}

static void test_hello(void **state)
{
	const struct manifest_var vars[] = { { "BUILD", build_dir }, { NULL, NULL } };
	struct manifest_diag diag = { 0 };
	struct manifest *m;
	char want[128];

	m = manifest_load("examples/hello/manifest.yaml", vars, &diag);
	for (size_t i = 0; i < diag.n; i++)
		print_message("%s\n", diag.lines[i]);
	assert_non_null(m);
	assert_int_equal(diag.n, 0);
	assert_string_equal(m->file, "examples/hello/manifest.yaml");
	assert_string_equal(m->dir, "examples/hello");
	assert_string_equal(m->name, "hello");
	assert_non_null(m->version);
	assert_string_equal(m->kernel.package, "linux-image-cloud-amd64");
	assert_null(m->kernel.path);
	assert_int_equal(m->kernel.n_modules, 3);
	assert_string_equal(m->kernel.modules[1], "virtio_console");
	assert_null(m->kernel.modules[3]);
	assert_int_equal(m->vcpus, 1);
	assert_int_equal(m->memory_mib, 128);

	/* ${BUILD} expanded, taken as given (not under examples/hello/). */
	assert_int_equal(m->n_binaries, 1);
	snprintf(want, sizeof(want), "%s/bin/hello-server", build_dir);
	assert_string_equal(m->binaries[0].source, want);
	assert_string_equal(m->binaries[0].destination, "/usr/bin/hello-server");
	assert_int_equal(m->binaries[0].mode, 0755);
	assert_int_equal(m->n_files, 0);

	assert_int_equal(m->daemon.argc, 3);
	assert_string_equal(m->daemon.argv[0], "/usr/bin/hello-server");
	assert_string_equal(m->daemon.argv[1], "--attach");
	assert_string_equal(m->daemon.argv[2], "chan:vapp.rpc");
	assert_null(m->daemon.argv[3]);
	assert_int_equal(m->daemon.restart, MANIFEST_RESTART_ON_FAILURE);
	assert_int_equal(m->daemon.restart_delay_ms, 500);

	/* A relative path starts at the manifest's folder. */
	assert_int_equal(m->n_services, 1);
	assert_string_equal(m->services[0].proto, "examples/hello/hello.proto");
	assert_string_equal(m->services[0].name, "vapp.hello.v1.Greeter");
	assert_string_equal(m->services[0].channel, "vapp.rpc");
	assert_int_equal(m->n_channels, 1);
	assert_string_equal(m->channels[0].name, "vapp.rpc");

	assert_int_equal(m->n_nics, 0);
	assert_int_equal(m->n_pci, 0);
	assert_false(m->usb);
	assert_true(m->state.size_mib > 0);
	assert_non_null(m->state.mount);
	assert_int_equal(m->state.mount[0], '/');
	assert_null(m->signing_key);
	assert_int_equal(m->hv.xen_type, MANIFEST_XEN_PVH);
	assert_int_equal(m->hv.n_qemu_args, 0);
	assert_null(m->hv.libvirt_xml);
	manifest_free(m);
	manifest_diag_free(&diag);
}

static void test_defaults(void **state)
{
	struct manifest_diag diag = { 0 };
	struct manifest *m = manifest_load("tests/manifest/good/minimal.yaml", NULL, &diag);

	assert_non_null(m);
	assert_int_equal(diag.n, 0);
	assert_string_equal(m->kernel.package, "linux-image-cloud-amd64");
	assert_null(m->kernel.cmdline);
	assert_int_equal(m->vcpus, 1);
	assert_int_equal(m->memory_mib, 128);
	assert_int_equal(m->daemon.restart, MANIFEST_RESTART_ALWAYS);
	assert_int_equal(m->daemon.restart_delay_ms, 500);
	assert_int_equal(m->state.size_mib, 0);
	assert_null(m->state.mount);
	assert_null(m->version);
	assert_int_equal(m->n_binaries + m->n_files + m->n_services + m->n_channels, 0);
	manifest_free(m);

	/* usb without a package picks the kernel that has USB drivers; units. */
	m = manifest_load("tests/manifest/good/usb.yaml", NULL, &diag);
	assert_non_null(m);
	assert_string_equal(m->kernel.package, "linux-image-amd64");
	assert_true(m->usb);
	assert_int_equal(m->memory_mib, 96);
	assert_string_equal(m->nics[0].name, "eth0");
	assert_int_equal(m->nics[0].role, MANIFEST_NIC_GUEST);
	assert_string_equal(m->pci[0].address, "0000:00:14.0");
	manifest_free(m);

	/* A sound card too: the cloud kernel has no sound at all. */
	m = manifest_load("tests/manifest/good/sound.yaml", NULL, &diag);
	assert_non_null(m);
	assert_int_equal(diag.n, 0);
	assert_true(m->sound);
	assert_false(m->usb);
	assert_string_equal(m->kernel.package, "linux-image-amd64");
	manifest_free(m);
	manifest_diag_free(&diag);
}

static void test_undefined_variable(void **state)
{
	struct manifest_diag diag = { 0 };
	const struct manifest_var other[] = { { "OUT", "/tmp" }, { NULL, NULL } };

	errno = 0;
	assert_null(manifest_load("examples/hello/manifest.yaml", other, &diag));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(diag.n, 1);
	assert_non_null(strstr(diag.lines[0], "undefined variable ${BUILD}"));
	assert_non_null(strstr(diag.lines[0], "(key: binaries[0].source)"));
	assert_int_equal(strncmp(diag.lines[0], "examples/hello/manifest.yaml:", 29), 0);
	manifest_diag_free(&diag);
	assert_null(diag.lines);
	assert_int_equal(diag.n, 0);
}

static unsigned line_of(const char *diag_line)
{
	const char *p = strchr(diag_line, ':');

	return p ? (unsigned)strtoul(p + 1, NULL, 10) : 0;
}

static void test_all_problems_sorted(void **state)
{
	struct manifest_diag diag = { 0 };

	assert_null(manifest_load("tests/manifest/bad/50-many-problems.yaml", NULL, &diag));
	assert_true(diag.n >= 5);
	for (size_t i = 1; i < diag.n; i++)
		assert_true(line_of(diag.lines[i - 1]) <= line_of(diag.lines[i]));
	manifest_diag_free(&diag);
}

static void test_unreadable(void **state)
{
	struct manifest_diag diag = { 0 };

	errno = 0;
	assert_null(manifest_load("tests/manifest/no-such-manifest.yaml", NULL, &diag));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(diag.n, 1);
	assert_non_null(strstr(diag.lines[0], "cannot read"));
	manifest_diag_free(&diag);

	/* A folder is not a manifest either. */
	assert_null(manifest_load("tests/manifest", NULL, &diag));
	assert_int_equal(diag.n, 1);
	manifest_diag_free(&diag);
}

/* What libcyaml logs when it refuses a document becomes a diagnostic at
 * the place the walk recorded for the key path of its backtrace. (The walk
 * itself catches this value first; libcyaml is asked directly here.) */
static void test_cyaml_log(void **state)
{
	static const char doc[] = "name: t\n"
				  "daemon: {command: [/bin/sh]}\n"
				  "devices:\n"
				  "  nics:\n"
				  "    - role: uplink\n"
				  "    - role: sideways\n";
	cyaml_config_t cfg = manifest_cyaml_config;
	struct mctx c = { .file = "x.yaml" };
	struct manifest_diag diag = { 0 };
	struct cylog log = { 0 };
	void *raw = NULL;

	assert_int_equal(pos_walk(&c, (const unsigned char *)doc, sizeof(doc) - 1), 0);
	assert_int_equal(c.n_d, 1); /* the walk's own report of the same value */
	free(c.d[0].text);
	c.n_d = 0;
	cfg.log_ctx = &log;
	assert_int_not_equal(cyaml_load_data((const uint8_t *)doc, sizeof(doc) - 1, &cfg,
					     &manifest_schema, &raw, NULL), CYAML_OK);
	assert_null(raw);
	cylog_report(&c, &log);
	free(log.text);
	assert_int_equal(diag_finish(&c, &diag), 0);
	assert_int_equal(diag.n, 1);
	print_message("%s\n", diag.lines[0]);
	assert_int_equal(strncmp(diag.lines[0], "x.yaml:6:13: ", 13), 0);
	assert_non_null(strstr(diag.lines[0], "sideways"));
	assert_non_null(strstr(diag.lines[0], "(key: devices.nics[1].role)"));
	manifest_diag_free(&diag);
	mctx_free(&c);
}

static void test_names_and_null(void **state)
{
	assert_string_equal(manifest_restart_name(MANIFEST_RESTART_ALWAYS), "always");
	assert_string_equal(manifest_restart_name(MANIFEST_RESTART_ON_FAILURE), "on-failure");
	assert_string_equal(manifest_restart_name(MANIFEST_RESTART_NEVER), "never");
	assert_string_equal(manifest_nic_role_name(MANIFEST_NIC_UPLINK), "uplink");
	assert_string_equal(manifest_nic_role_name(MANIFEST_NIC_GUEST), "guest");
	manifest_free(NULL);
	manifest_diag_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_undefined_variable),
		cmocka_unit_test(test_all_problems_sorted),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_cyaml_log),
		cmocka_unit_test(test_names_and_null),
	};

	return cmocka_run_group_tests(tests, make_build_dir, remove_build_dir);
}
