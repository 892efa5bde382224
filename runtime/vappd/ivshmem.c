/*
 * ivshmem.c - the host side of a direct channel between two VMs: a sealed
 * memfd and the ivshmem-server protocol, served to the two QEMUs (ivshmem.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ivshmem.h"
#include "vapp_util.h"

/* The page's layout (libvrpc's ivshmem: transport lays it out as Xen's
 * vchan page); this header has no include guard, only this file reads it. */
#include <xen/io/libxenvchan.h>

/* One message: @p v as 8 little-endian bytes, with @p fd when >= 0. */
static int send_msg(int sock, int64_t v, int fd)
{
	uint8_t le[8];
	struct iovec iov = { .iov_base = le, .iov_len = sizeof(le) };
	ssize_t n;

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)((uint64_t)v >> (8 * i));
	n = vapp_send_fd(sock, &iov, 1, fd);
	if (n < 0)
		return (int)n;
	/* Eight bytes into a fresh unix socket's buffer: never short. */
	return n == (ssize_t)sizeof(le) ? 0 : -EIO;
}

/* Peer @p who's ID once per vector, each with the eventfd that interrupts
 * it: a connect notification, or (to @p who itself) its interrupt setup. */
static int send_vectors(const struct vappd_ivshmem *c, int sock, int who)
{
	int e = 0;

	for (int v = 0; v < VAPPD_IVSHMEM_VECTORS && !e; v++)
		e = send_msg(sock, who, c->evt[who][v]);
	return e;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, e = 0;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path));
	/* A socket left by a vappd that died is replaced; nothing else is. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 4) < 0)
		e = -errno;
	umask(old);
	if (e) {
		close(fd);
		return e;
	}
	return fd;
}

static int make_memory(size_t size)
{
	int fd = memfd_create("vapp-ivshmem", MFD_CLOEXEC | MFD_ALLOW_SEALING), e;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static void init_fds(struct vappd_ivshmem *c)
{
	c->shm_fd = -1;
	for (int i = 0; i < 2; i++) {
		c->listen_fd[i] = c->conn_fd[i] = -1;
		for (int v = 0; v < VAPPD_IVSHMEM_VECTORS; v++)
			c->evt[i][v] = -1;
	}
}

int vappd_ivshmem_open(struct vappd_ivshmem *c, const char *const path[2], size_t size,
		       char *err, size_t errlen)
{
	int e = 0;

	init_fds(c);
	c->size = size;
	if (size < VAPPD_IVSHMEM_MIN_SIZE || size > VAPPD_IVSHMEM_MAX_SIZE || (size & (size - 1))) {
		snprintf(err, errlen, "ivshmem: %zu bytes: the memory is a power of two from %u to %u",
			 size, VAPPD_IVSHMEM_MIN_SIZE, VAPPD_IVSHMEM_MAX_SIZE);
		return -EINVAL;
	}
	c->shm_fd = make_memory(size);
	if (c->shm_fd < 0) {
		e = c->shm_fd;
		snprintf(err, errlen, "ivshmem: the shared memory: %s", strerror(-e));
		goto fail;
	}
	for (int i = 0; i < 2; i++)
		for (int v = 0; v < VAPPD_IVSHMEM_VECTORS; v++) {
			c->evt[i][v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (c->evt[i][v] < 0) {
				e = -errno;
				snprintf(err, errlen, "ivshmem: eventfd: %s", strerror(-e));
				goto fail;
			}
		}
	for (int i = 0; i < 2; i++) {
		c->listen_fd[i] = listen_on(path[i]);
		if (c->listen_fd[i] < 0) {
			e = c->listen_fd[i];
			snprintf(err, errlen, "ivshmem: %s: %s", path[i], strerror(-e));
			goto fail;
		}
	}
	return 0;
fail:
	vappd_ivshmem_close(c);
	return e;
}

int vappd_ivshmem_accept(struct vappd_ivshmem *c, int side)
{
	int other = 1 - side, fd, e;

	if (side != 0 && side != 1)
		return -EINVAL;
	fd = accept4(c->listen_fd[side], NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (c->conn_fd[side] >= 0) {
		close(fd);
		return -EBUSY;
	}
	/* What was rung for this side while nobody was there is not for it. */
	for (int v = 0; v < VAPPD_IVSHMEM_VECTORS; v++) {
		uint64_t n;

		while (read(c->evt[side][v], &n, sizeof(n)) == (ssize_t)sizeof(n))
			;
	}
	e = send_msg(fd, 0, -1); /* the protocol's version */
	if (!e)
		e = send_msg(fd, side, -1);
	if (!e)
		e = send_msg(fd, -1, c->shm_fd);
	/* The other side's vectors whether its QEMU is there or not: they are
	 * this channel's eventfds, the same for every QEMU of that side. */
	if (!e)
		e = send_vectors(c, fd, other);
	if (!e)
		e = send_vectors(c, fd, side);
	if (e) {
		close(fd);
		return e;
	}
	c->conn_fd[side] = fd;
	return 0;
}

/* A VM that dies writes nothing: its side of the ring is marked gone here
 * (the appliance is the ring's server, the guest its client) and the other
 * woken on both vectors, as the dead side would have done closing. */
static void mark_gone(struct vappd_ivshmem *c, int side)
{
	uint8_t zero = 0;
	off_t at = side == VAPPD_IVSHMEM_APPLIANCE ? offsetof(struct vchan_interface, srv_live)
						   : offsetof(struct vchan_interface, cli_live);
	uint64_t one = 1;

	if (pwrite(c->shm_fd, &zero, 1, at) != 1)
		return;
	for (int v = 0; v < VAPPD_IVSHMEM_VECTORS; v++)
		if (write(c->evt[1 - side][v], &one, sizeof(one)) < 0) {
			/* EAGAIN: a wake-up is pending anyway. */
		}
}

void vappd_ivshmem_drop(struct vappd_ivshmem *c, int side)
{
	if ((side != 0 && side != 1) || c->conn_fd[side] < 0)
		return;
	close(c->conn_fd[side]);
	c->conn_fd[side] = -1;
	mark_gone(c, side);
}

void vappd_ivshmem_close(struct vappd_ivshmem *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->listen_fd[i] >= 0)
			close(c->listen_fd[i]);
		if (c->conn_fd[i] >= 0)
			close(c->conn_fd[i]);
		for (int v = 0; v < VAPPD_IVSHMEM_VECTORS; v++)
			if (c->evt[i][v] >= 0)
				close(c->evt[i][v]);
	}
	if (c->shm_fd >= 0)
		close(c->shm_fd);
	init_fds(c);
}
