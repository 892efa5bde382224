/*
 * test_vappd_ivshmem.c - a direct channel's host side (runtime/vappd/
 * ivshmem.c): the ivshmem-server protocol message by message as a client
 * reads it, the memory shared and sealed, a doorbell from one peer reaching
 * the other's vector and no other, a second connection on a side refused,
 * a peer's departure marked in the ring and its return reached through the
 * eventfds the other already holds (nothing is said to a QEMU after its
 * opening); then a real QEMU's ivshmem-doorbell device taking the memory
 * from it.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ivshmem.h"

/* The ring's page, as transport_ivshmem.c lays it out (no include guard). */
#include <xen/io/libxenvchan.h>

#define SIZE (64u * 1024)

static char dir[] = "/tmp/vappd-ivshmem.XXXXXX";
static char path0[128], path1[128];

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path0, sizeof(path0), "%s/appliance.sock", dir);
	snprintf(path1, sizeof(path1), "%s/guest.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int open_channel(struct vappd_ivshmem *c)
{
	const char *const paths[2] = { path0, path1 };
	char err[256] = "";
	int e = vappd_ivshmem_open(c, paths, SIZE, err, sizeof(err));

	if (e)
		print_message("open: %s\n", err);
	return e;
}

static int dial(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* One message as QEMU reads it: the value, and the fd or -1. 0, or -1 on
 * end of stream or nothing within 5 s. */
static int recv_msg(int sock, int64_t *v, int *fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	uint8_t le[8];
	struct iovec iov = { .iov_base = le, .iov_len = sizeof(le) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct pollfd p = { .fd = sock, .events = POLLIN };
	struct cmsghdr *c;
	uint64_t u = 0;

	*fd = -1;
	if (poll(&p, 1, 5000) != 1 || recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(le))
		return -1;
	for (int i = 0; i < 8; i++)
		u |= (uint64_t)le[i] << (8 * i);
	*v = (int64_t)u;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

static void expect(int sock, int64_t want, int with_fd, int *fd_out)
{
	int64_t v;
	int fd;

	assert_int_equal(recv_msg(sock, &v, &fd), 0);
	assert_int_equal(v, want);
	if (with_fd)
		assert_true(fd >= 0);
	else
		assert_int_equal(fd, -1);
	if (fd_out)
		*fd_out = fd;
	else if (fd >= 0)
		close(fd);
}

/* Nothing more within 100 ms. */
static void expect_quiet(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 100), 0);
}

/* The opening a client on @p side reads, whether the other side is
 * connected or not. Receives the memory and the eventfds. */
struct client {
	int sock, shm, peer_evt[VAPPD_IVSHMEM_VECTORS], own_evt[VAPPD_IVSHMEM_VECTORS];
};

static void opening(struct client *cl, int side)
{
	struct stat st;

	expect(cl->sock, 0, 0, NULL);    /* version */
	expect(cl->sock, side, 0, NULL); /* its ID */
	expect(cl->sock, -1, 1, &cl->shm);
	assert_int_equal(fstat(cl->shm, &st), 0);
	assert_int_equal(st.st_size, SIZE);
	for (int v = 0; v < VAPPD_IVSHMEM_VECTORS; v++)
		expect(cl->sock, 1 - side, 1, &cl->peer_evt[v]);
	for (int v = 0; v < VAPPD_IVSHMEM_VECTORS; v++)
		expect(cl->sock, side, 1, &cl->own_evt[v]);
}

static void client_close(struct client *cl)
{
	close(cl->sock);
	close(cl->shm);
	for (int v = 0; v < VAPPD_IVSHMEM_VECTORS; v++) {
		close(cl->peer_evt[v]);
		close(cl->own_evt[v]);
	}
}

static void test_sizes(void **state)
{
	static const size_t bad[] = { 0, 1000, 3 * 4096, 2048, VAPPD_IVSHMEM_MAX_SIZE * 2ul };
	const char *const paths[2] = { path0, path1 };
	struct vappd_ivshmem c;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(vappd_ivshmem_open(&c, paths, bad[i], err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "power of two"));
		assert_int_equal(c.shm_fd, -1);
		assert_int_equal(c.listen_fd[0], -1);
	}
	/* A socket path that does not fit sun_path: refused by name. */
	{
		char longp[200];
		const char *const lp[2] = { path0, longp };

		memset(longp, 'a', sizeof(longp) - 1);
		longp[0] = '/';
		longp[sizeof(longp) - 1] = '\0';
		assert_int_equal(vappd_ivshmem_open(&c, lp, SIZE, err, sizeof(err)), -ENAMETOOLONG);
		assert_non_null(strstr(err, "aaaa"));
		assert_int_equal(c.listen_fd[0], -1); /* the first side closed again */
	}
}

static void test_protocol(void **state)
{
	struct vappd_ivshmem c;
	struct client a, g, g2;
	uint64_t one = 1, got = 0;
	char *ma, *mg;
	int extra;

	(void)state;
	assert_int_equal(open_channel(&c), 0);
	/* The appliance first: it learns the guest's vectors all the same. */
	a.sock = dial(path0);
	assert_int_equal(vappd_ivshmem_accept(&c, VAPPD_IVSHMEM_APPLIANCE), 0);
	opening(&a, 0);
	expect_quiet(a.sock);
	/* The guest: the same opening; the appliance is told nothing. */
	g.sock = dial(path1);
	assert_int_equal(vappd_ivshmem_accept(&c, VAPPD_IVSHMEM_GUEST), 0);
	opening(&g, 1);
	expect_quiet(a.sock);
	expect_quiet(g.sock);

	/* One memory, seen by both; neither can resize it. */
	ma = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, a.shm, 0);
	mg = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, g.shm, 0);
	assert_true(ma != MAP_FAILED && mg != MAP_FAILED);
	assert_int_equal(mg[SIZE - 1], 0);
	strcpy(ma + 100, "from the appliance");
	assert_string_equal(mg + 100, "from the appliance");
	assert_int_equal(ftruncate(g.shm, SIZE * 2), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(a.shm, 4096), -1);
	assert_int_equal(errno, EPERM);

	/* The appliance rings the guest's vector 1: the guest's vector 1
	 * fires, its vector 0 and the appliance's own do not. */
	assert_int_equal(write(a.peer_evt[1], &one, sizeof(one)), sizeof(one));
	assert_int_equal(read(g.own_evt[1], &got, sizeof(got)), sizeof(got));
	assert_int_equal(got, 1);
	assert_int_equal(read(g.own_evt[0], &got, sizeof(got)), -1);
	assert_int_equal(errno, EAGAIN);
	for (int v = 0; v < VAPPD_IVSHMEM_VECTORS; v++) {
		assert_int_equal(read(a.own_evt[v], &got, sizeof(got)), -1);
		assert_int_equal(errno, EAGAIN);
	}
	/* And back. */
	assert_int_equal(write(g.peer_evt[0], &one, sizeof(one)), sizeof(one));
	assert_int_equal(read(a.own_evt[0], &got, sizeof(got)), sizeof(got));

	/* Another connection on the guest's side while the guest is there:
	 * closed unanswered, and nobody hears of it. */
	extra = dial(path1);
	assert_int_equal(vappd_ivshmem_accept(&c, VAPPD_IVSHMEM_GUEST), -EBUSY);
	assert_int_equal(read(extra, &got, sizeof(got)), 0);
	close(extra);
	expect_quiet(a.sock);
	expect_quiet(g.sock);

	/* The guest goes: the appliance is told nothing on its socket (QEMU
	 * would corrupt its heap when the ID came back). A VM that dies writes
	 * nothing: its side of the ring (the client's) is marked gone for it,
	 * and the appliance woken on both vectors. Something the appliance
	 * rang for the guest is not left for the next one. */
	ma[offsetof(struct vchan_interface, srv_live)] = 1;
	ma[offsetof(struct vchan_interface, cli_live)] = 1;
	assert_int_equal(write(a.peer_evt[0], &one, sizeof(one)), sizeof(one));
	vappd_ivshmem_drop(&c, VAPPD_IVSHMEM_GUEST);
	expect_quiet(a.sock);
	assert_int_equal(ma[offsetof(struct vchan_interface, cli_live)], 0);
	assert_int_equal(ma[offsetof(struct vchan_interface, srv_live)], 1);
	for (int v = 0; v < VAPPD_IVSHMEM_VECTORS; v++) {
		assert_int_equal(read(a.own_evt[v], &got, sizeof(got)), sizeof(got));
		assert_int_equal(got, 1);
	}
	/* It comes back: a full opening again, nothing pending, the
	 * appliance told nothing, and the vectors the appliance has had since
	 * its own opening reach the new guest. */
	g2.sock = dial(path1);
	assert_int_equal(vappd_ivshmem_accept(&c, VAPPD_IVSHMEM_GUEST), 0);
	opening(&g2, 1);
	assert_int_equal(read(g2.own_evt[0], &got, sizeof(got)), -1);
	assert_int_equal(errno, EAGAIN);
	expect_quiet(a.sock);
	for (int v = 0; v < VAPPD_IVSHMEM_VECTORS; v++) {
		assert_int_equal(write(a.peer_evt[v], &one, sizeof(one)), sizeof(one));
		assert_int_equal(read(g2.own_evt[v], &got, sizeof(got)), sizeof(got));
	}
	munmap(ma, SIZE);
	munmap(mg, SIZE);
	client_close(&a);
	client_close(&g);
	client_close(&g2);
	vappd_ivshmem_close(&c);
	assert_int_equal(c.shm_fd, -1);
	assert_int_equal(c.conn_fd[1], -1);
}

/* The ivshmem device's BAR2 line, whole, in @p out; or NULL. */
static const char *bar2_line(const char *out)
{
	const char *dev = strstr(out, "1af4:1110"), *bar = dev ? strstr(dev, "BAR2") : NULL;

	return bar && strchr(bar, '\n') ? bar : NULL;
}

/* Reads what the monitor on @p fd says until @p done says it has all, or
 * 10 s pass. */
static void read_monitor(int fd, char *out, size_t len, int (*done)(const char *))
{
	size_t n = 0;

	out[0] = '\0';
	while (n + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (done(out) || poll(&p, 1, 10000) != 1)
			break;
		r = read(fd, out + n, len - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		out[n] = '\0';
	}
}

static int prompted(const char *out)
{
	return strstr(out, "(qemu)") != NULL;
}

static int has_bar2(const char *out)
{
	return bar2_line(out) != NULL;
}

/* QEMU's own ivshmem-doorbell takes the memory from vappd's server: it
 * realizes the device only after reading the whole opening, and then
 * lists a 64 KiB BAR2 (unassigned while paused: its end is size - 2). */
static void test_qemu(void **state)
{
	char mon[100], arg[200], out[16384];
	struct vappd_ivshmem c;
	struct pollfd p;
	pid_t pid;
	int m = -1, status;

	(void)state;
	if (access("/usr/bin/qemu-system-x86_64", X_OK) < 0)
		skip();
	assert_int_equal(open_channel(&c), 0);
	snprintf(mon, sizeof(mon), "%s/mon.sock", dir);
	snprintf(arg, sizeof(arg), "socket,id=iv,path=%s", path0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char monarg[200];

		snprintf(monarg, sizeof(monarg), "unix:%s,server=on,wait=off", mon);
		execl("/usr/bin/qemu-system-x86_64", "qemu-system-x86_64", "-M", "pc", "-S",
		      "-accel", "tcg", "-nodefaults", "-no-user-config", "-display", "none",
		      "-chardev", arg, "-device", "ivshmem-doorbell,chardev=iv,vectors=2",
		      "-monitor", monarg, (char *)NULL);
		_exit(127);
	}
	p = (struct pollfd){ .fd = c.listen_fd[0], .events = POLLIN };
	assert_int_equal(poll(&p, 1, 20000), 1);
	assert_int_equal(vappd_ivshmem_accept(&c, VAPPD_IVSHMEM_APPLIANCE), 0);
	for (int i = 0; i < 200 && m < 0; i++) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", mon);
		m = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(m, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			close(m);
			m = -1;
			usleep(50000);
		}
	}
	assert_true(m >= 0);
	read_monitor(m, out, sizeof(out), prompted);
	assert_int_equal(write(m, "info pci\n", 9), 9);
	read_monitor(m, out, sizeof(out), has_bar2);
	if (!bar2_line(out) || !strstr(bar2_line(out), "[0x0000fffe]"))
		print_message("info pci said:\n%s\n", out);
	assert_non_null(bar2_line(out));
	/* 64 KiB: unassigned, its end is printed as size - 2 */
	assert_non_null(strstr(bar2_line(out), "[0x0000fffe]"));
	close(m);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* QEMU gone: its connection hangs up. */
	p = (struct pollfd){ .fd = c.conn_fd[0], .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	vappd_ivshmem_drop(&c, VAPPD_IVSHMEM_APPLIANCE);
	vappd_ivshmem_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_protocol),
		cmocka_unit_test(test_qemu),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
