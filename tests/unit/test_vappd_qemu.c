/* test_vappd_qemu.c - vappd's pure helpers: qemu.args split, check and
 * expansion (runtime/vappd/qemu.c), the manifest's runtime facts
 * (image.c), and console tails (console.c). */
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
#include "qemu.h"
#include "vappd.h"

#define GOOD "qemu-system-x86_64\n-M\nmicrovm\n-accel\n${ACCEL}\n-kernel\n${IMAGE_DIR}/kernel\n" \
	"-initrd\n${IMAGE_DIR}/initramfs.cpio.gz\n-append\nconsole=ttyS0 quiet\n"         \
	"-chardev\nsocket,id=ch0,path=${RUN_DIR}/vapp.rpc.sock,server=on,wait=off\n"        \
	"-drive\nfile=${RUN_DIR}/state.img,format=raw,if=none,id=state\n"                   \
	"-netdev\ntap,id=n0,ifname=${TAP_eth0},script=no\n"

void vappd_log(const char *fmt, ...)
{
}

static int check(const char *text, char *err, size_t len)
{
	char **argv;
	int rc = qemu_args_split(text, strlen(text), &argv);

	assert_int_equal(rc, 0);
	rc = qemu_args_check(argv, "console=ttyS0 quiet", err, len);
	qemu_argv_free(argv);
	return rc;
}

static void args_check(void **state)
{
	char err[512];

	assert_int_equal(check(GOOD, err, sizeof(err)), 0);
	/* Another kernel, a changed command line, firmware, a host file. */
	assert_int_equal(check("q\n-kernel\n/boot/vmlinuz\n-initrd\n${IMAGE_DIR}/initramfs.cpio.gz\n"
			       "-append\nconsole=ttyS0 quiet\n", err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "-kernel"));
	assert_int_equal(check("q\n-kernel\n${IMAGE_DIR}/kernel\n-initrd\n${IMAGE_DIR}/initramfs.cpio.gz\n"
			       "-append\nconsole=ttyS0 init=/bin/sh\n", err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "measured cmdline"));
	assert_int_equal(check(GOOD "-bios\nx.bin\n", err, sizeof(err)), -EPERM);
	assert_int_equal(check(GOOD "-drive\nfile=/etc/shadow,if=virtio\n", err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "outside ${RUN_DIR}"));
	assert_int_equal(check(GOOD "-drive\nfile=${RUN_DIR}/../../etc/shadow\n", err, sizeof(err)),
			 -EPERM);
	assert_int_equal(check(GOOD "-kernel\n${IMAGE_DIR}/kernel\n", err, sizeof(err)), -EPERM);
	assert_int_equal(check("q\n-M\nmicrovm\n", err, sizeof(err)), -EPERM);
	/* Each of these reaches a host file, device, program or a monitor. */
	static const char *const attacks[] = {
		"-pidfile\n/etc/passwd\n",
		"-D\n/etc/passwd\n",
		"-netdev\ntap,id=t,script=/tmp/x.sh\n",
		"-blockdev\ndriver=raw,file.driver=host_device,file.filename=/dev/sda,node-name=d\n",
		"-drive\nfile.filename=/dev/sda,if=virtio\n",
		"-blockdev\n{\"driver\":\"file\",\"filename\":\"/etc/shadow\"}\n",
		"-object\nmemory-backend-file,id=m,size=1M,mem-path=/etc\n",
		"-acpitable\ndata=/etc/shadow\n",
		"-netdev\nuser,id=u,tftp=/\n",
		"-monitor\ntcp:127.0.0.1:4444,server,nowait\n",
		"-qmp\ntcp:127.0.0.1:4444,server,nowait\n",
		"-device\nloader,file=/etc/shadow\n",
		"-device\nloader,data=0x1,addr=0x1000\n",
		"-device\nvfio-pci,host=00:02.0\n",
		NULL,
	};
	for (size_t i = 0; attacks[i]; i++) {
		char text[1024];

		snprintf(text, sizeof(text), "%s%s", GOOD, attacks[i]);
		assert_int_equal(check(text, err, sizeof(err)), -EPERM);
	}
}

static void args_expand(void **state)
{
	struct manifest_var vars[] = {
		{ "IMAGE_DIR", "/run/vapp/hello/image" }, { "RUN_DIR", "/run/vapp/hello" },
		{ "ACCEL", "tcg" }, { NULL, NULL },
	};
	struct manifest_var bad[] = { { "RUN_DIR", "/tmp/a,b" }, { NULL, NULL } };
	char **argv, **out, err[256];

	assert_int_equal(qemu_args_split(GOOD, strlen(GOOD), &argv), 0);
	out = qemu_args_expand(argv, vars, "vphellon", err, sizeof(err));
	assert_non_null(out);
	assert_string_equal(out[4], "tcg");
	assert_string_equal(out[6], "/run/vapp/hello/image/kernel");
	assert_string_equal(out[16], "tap,id=n0,ifname=vphellon0,script=no");
	qemu_argv_free(out);
	/* A value that would change the meaning of a comma-separated option. */
	assert_null(qemu_args_expand(argv, bad, "vp", err, sizeof(err)));
	qemu_argv_free(argv);
	assert_int_equal(qemu_args_split("", 0, &argv), -EINVAL);
	assert_int_equal(qemu_args_split("a\0b", 3, &argv), -EINVAL);
}

static void manifest_facts(void **state)
{
	static const char yaml[] = "name: hello\nstate:\n  size: 16M\n  mount: /x\n"
				   "daemon:\n  restart: on-failure\nservices:\n"
				   "  - name: vapp.hello.v1.Greeter\n    channel: vapp.rpc\n    proto: h.proto\n";
	struct image_info info;
	char err[256];

	assert_int_equal(image_info_parse(yaml, strlen(yaml), &info, err, sizeof(err)), 0);
	assert_string_equal(info.name, "hello");
	assert_int_equal(info.state_mib, 16);
	assert_int_equal(info.restart, MANIFEST_RESTART_ON_FAILURE);
	assert_string_equal(info.service, "vapp.hello.v1.Greeter");
	assert_string_equal(info.channel, "vapp.rpc");
	image_info_free(&info);
	assert_int_equal(image_info_parse("name: a\nstate: {size: 2G}\n", 26, &info, err,
					  sizeof(err)), 0);
	assert_int_equal(info.state_mib, 2048);
	assert_null(info.service);
	image_info_free(&info);
	assert_int_equal(image_info_parse("state: {size: 2}\n", 17, &info, err, sizeof(err)), -EINVAL);
	assert_int_equal(image_info_parse("name: a\nstate: {size: 2T}\n", 26, &info, err,
					  sizeof(err)), -EINVAL);
	assert_int_equal(image_info_parse("name: [a\n", 9, &info, err, sizeof(err)), -EINVAL);
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
	snprintf(p, sizeof(p), "%s/initramfs.cpio.gz", src);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(ftruncate(fd, (off_t)10 << 30), 0);
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(image_copy(src, dst, err, sizeof(err)), -EFBIG);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	unlink(p);
	snprintf(p, sizeof(p), "%s/initramfs.cpio.gz", dst);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "rm -rf '%s' '%s'", src, dst);
	assert_int_equal(system(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(args_check),
		cmocka_unit_test(args_expand),
		cmocka_unit_test(manifest_facts),
		cmocka_unit_test(tail),
		cmocka_unit_test(copy_attacks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
