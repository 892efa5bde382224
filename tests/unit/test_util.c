/* test_util.c - libvapp-util's file reads as a reader of hostile folders
 * needs them: a size bound checked before a byte is read, and nothing but a
 * regular file read at all (a FIFO would block, a device never end). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vapp_util.h"

static void test_read_file_max(void **state)
{
	char dir[] = "/tmp/test_util.XXXXXX", path[64], fifo[64];
	struct vapp_buf b = { 0 };
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(vapp_write_all(fd, "0123456789", 10), 0);
	close(fd);
	assert_int_equal(vapp_read_file_max(path, 10, &b), 0);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.p, "0123456789", 10);
	vapp_buf_free(&b);
	assert_int_equal(vapp_read_file_max(path, 9, &b), -EFBIG);
	assert_int_equal(b.len, 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* No writer: a blocking open or read would hang the test here. */
	alarm(10);
	assert_int_equal(vapp_read_file_max(fifo, 10, &b), -EINVAL);
	alarm(0);
	assert_int_equal(vapp_read_file_max(dir, 10, &b), -EINVAL);
	assert_int_equal(vapp_read_file_max("/dev/zero", 1 << 20, &b), -EINVAL);
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(vapp_read_file_max(path, 10, &b), -ENOENT);
	vapp_buf_free(&b);
	assert_int_equal(vapp_rm_rf(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_file_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
