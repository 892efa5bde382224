/* test_util.c - libvapp-util's file reads as a reader of hostile folders
 * needs them: a size bound checked before a byte is read, and nothing but a
 * regular file read at all (a FIFO would block, a device never end); its
 * atomic writes; the NIC helpers' refusals. */
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

/* An atomic write leaves the new content whole, with the mode asked for
 * whatever the umask, and no .tmp behind; a folder that is not there
 * fails without creating anything. */
static void test_write_file_atomic(void **state)
{
	char dir[] = "/tmp/test_util.XXXXXX", path[64], tmp[80], line[8];
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/accounts", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(vapp_write_file_atomic(path, "old\n", 4, 0644), 0);
	umask(077);
	assert_int_equal(vapp_write_file_atomic(path, "new\nmore", 8, 0640), 0);
	umask(022);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(st.st_size, 8);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(vapp_read_line(path, line, sizeof(line)), 0);
	assert_string_equal(line, "new");
	/* A line longer than the buffer is cut, never overrun. */
	assert_int_equal(vapp_write_file_atomic(path, "0123456789", 10, 0600), 0);
	assert_int_equal(vapp_read_line(path, line, 4), 0);
	assert_string_equal(line, "012");
	assert_int_equal(vapp_write_file_atomic(path, "", 0, 0600), 0);
	assert_int_equal(vapp_read_line(path, line, sizeof(line)), -EIO);
	snprintf(path, sizeof(path), "%s/no/such", dir);
	assert_int_equal(vapp_write_file_atomic(path, "x", 1, 0600), -ENOENT);
	assert_int_equal(vapp_rm_rf(dir), 0);
}

/* What a daemon is given on its command line: an address that is not one,
 * a NIC that is not there. (Changing a real NIC needs a namespace of its
 * own: the firewall and VoIP appliances' VM tests do that.) */
static void test_netif_refuses(void **state)
{
	char ifname[16];

	(void)state;
	assert_int_equal(vapp_netif_find("52:54:00:00:00:99", ifname, sizeof(ifname)), -ENODEV);
	assert_int_equal(vapp_netif_find("no-such-nic0", ifname, sizeof(ifname)), -ENODEV);
	assert_int_equal(vapp_netif_find("a-name-far-too-long-for-a-nic", ifname, sizeof(ifname)),
			 -ENODEV);
	assert_int_equal(vapp_netif_find("lo", ifname, sizeof(ifname)), 0);
	assert_string_equal(ifname, "lo");
	assert_int_equal(vapp_netif_up("lo", "10.0.0.300/24"), -EINVAL);
	assert_int_equal(vapp_netif_up("lo", "10.0.0.1/33"), -EINVAL);
	assert_int_equal(vapp_netif_up("lo", "not-an-address"), -EINVAL);
	assert_int_equal(vapp_netif_up("lo", "10.0.0.1/24x"), -EINVAL);
	assert_int_equal(vapp_netif_up("lo", "10.0.0.1/"), -EINVAL);
	assert_int_equal(vapp_netif_up("lo", "10.0.0.1/24 extra text that is far too long"), -EINVAL);
	assert_int_equal(vapp_route_default("10.0.0"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_file_max),
		cmocka_unit_test(test_write_file_atomic),
		cmocka_unit_test(test_netif_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
