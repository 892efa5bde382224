/* test_vappd_qemu.c - vappd's pure helpers: the image copy and the facts of
 * its measured manifest (image.c), and console tails (console.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "image.h"
#include "hvrun.h"
#include "vappd.h"

void vappd_log(const char *fmt, ...)
{
}

static void put(const char *dir, const char *name, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* An image folder with hostile run files beside the measured ones: the
 * copy vappd boots from holds only what is measured and what proves it, so
 * no byte of qemu.args, xl.cfg or libvirt.xml can reach an argv. */
static void copy_takes_measured_only(void **state)
{
	static const char *const hostile[] = { "qemu.args", "xl.cfg", "libvirt.xml", "cmdline",
					       "services.extra", NULL };
	char src[] = "/tmp/vapp-onlyXXXXXX", dst[64], p[256], err[512];
	size_t n = 0;

	assert_non_null(mkdtemp(src));
	snprintf(dst, sizeof(dst), "%s.out", src);
	for (size_t i = 0; vappd_image_file(i); i++, n++)
		put(src, vappd_image_file(i), "x");
	for (size_t i = 0; hostile[i]; i++)
		put(src, hostile[i], "/bin/sh\n-c\ntouch /tmp/vapp-pwned\n");
	assert_int_equal(n, 10); /* seven measured parts, measurement, .sig, signer.pub */
	assert_int_equal(image_copy(src, dst, err, sizeof(err)), 0);
	for (size_t i = 0; hostile[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", dst, hostile[i]);
		assert_int_equal(access(p, F_OK), -1);
	}
	snprintf(p, sizeof(p), "%s/manifest.yaml", dst);
	assert_int_equal(access(p, F_OK), 0);
	/* An image of the old format (one cmdline) is told to rebuild. */
	snprintf(p, sizeof(p), "%s/cmdline.kvm", src);
	unlink(p);
	assert_int_equal(image_copy(src, dst, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cmdline.kvm: missing"));
	assert_non_null(strstr(err, "rebuild"));
	snprintf(p, sizeof(p), "rm -rf '%s' '%s'", src, dst);
	assert_int_equal(system(p), 0);
}

static void manifest_facts(void **state)
{
	/* As an image carries it: host paths with ${NAME}, .proto files that
	 * only the build host had. */
	static const char yaml[] = "name: hello\n"
				   "binaries:\n  - source: ${BUILD}/bin/hello-server\n"
				   "daemon:\n  command: [/usr/bin/hello-server]\n  restart: on-failure\n"
				   "services:\n  - name: vapp.hello.v1.Greeter\n    channel: vapp.rpc\n"
				   "    proto: h.proto\n"
				   "devices:\n  channels: [vapp.rpc]\n"
				   "state:\n  size: 16M\n  mount: /x\n";
	struct image_info info;
	char err[256];

	if (image_info_parse(yaml, strlen(yaml), &info, err, sizeof(err)))
		fail_msg("%s", err);
	assert_string_equal(info.name, "hello");
	assert_int_equal(info.state_mib, 16);
	assert_int_equal(info.restart, MANIFEST_RESTART_ON_FAILURE);
	assert_string_equal(info.service, "vapp.hello.v1.Greeter");
	assert_string_equal(info.channel, "vapp.rpc");
	assert_string_equal(info.m->binaries[0].source, "${BUILD}/bin/hello-server");
	image_info_free(&info);
	static const char small[] = "name: a\nbinaries: [{source: /x/d}]\n"
				    "daemon: {command: [/usr/bin/d]}\nstate: {size: 2G, mount: /s}\n";
	if (image_info_parse(small, strlen(small), &info, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(info.state_mib, 2048);
	assert_null(info.service);
	image_info_free(&info);
	assert_int_equal(image_info_parse("state: {size: 2}\n", 17, &info, err, sizeof(err)), -EINVAL);
	assert_int_equal(image_info_parse("name: a\nstate: {size: 2T}\n", 26, &info, err,
					  sizeof(err)), -EINVAL);
	assert_int_equal(image_info_parse("name: [a\n", 9, &info, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "manifest.yaml:"));
	assert_int_equal(image_info_parse("- a\n", 4, &info, err, sizeof(err)), -EINVAL);
}

static void tail(void **state)
{
	char path[] = "/tmp/test_vappd_tail.XXXXXX", out[256];
	int fd = mkstemp(path);
	static const char text[] = "one\ntwo\r\nthr\033[2Jee\nfour\n";

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	assert_int_equal(console_tail(path, 2, out, sizeof(out)), 2);
	assert_string_equal(out, "thr?[2Jee\nfour");
	assert_int_equal(console_tail(path, 20, out, sizeof(out)), 4);
	assert_string_equal(out, "one\ntwo\nthr?[2Jee\nfour");
	assert_int_equal(console_tail(path, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	unlink(path);
	assert_int_equal(console_tail(path, 3, out, sizeof(out)), 0);
}

/* Hostile image folders: a symlink to a root-only file, a FIFO, a sparse
 * 10 GiB file. Each is refused, fast, with nothing of the target echoed. */
static void copy_attacks(void **state)
{
	char src[] = "/tmp/vapp-copyXXXXXX", dst[64], p[256], err[512];
	struct timespec t0, t1;
	int fd;

	assert_non_null(mkdtemp(src));
	snprintf(dst, sizeof(dst), "%s.out", src);
	snprintf(p, sizeof(p), "%s/kernel", src);
	assert_int_equal(symlink("/etc/shadow", p), 0);
	assert_int_equal(image_copy(src, dst, err, sizeof(err)), -ELOOP);
	assert_null(strstr(err, "root:"));
	unlink(p);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(image_copy(src, dst, err, sizeof(err)), -EINVAL);
	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/initramfs", src);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(ftruncate(fd, (off_t)10 << 30), 0);
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(image_copy(src, dst, err, sizeof(err)), -EFBIG);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	unlink(p);
	snprintf(p, sizeof(p), "%s/initramfs", dst);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "rm -rf '%s' '%s'", src, dst);
	assert_int_equal(system(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(copy_takes_measured_only),
		cmocka_unit_test(manifest_facts),
		cmocka_unit_test(tail),
		cmocka_unit_test(copy_attacks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
