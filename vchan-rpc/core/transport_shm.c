/*
 * transport_shm.c - "shm:PATH[?order=N[,M]]": the vchan ring protocol
 * (shm_ring.c) between two processes on one host.
 *
 * Set-up, per accepted connection on the unix socket PATH: the server (the
 * allocating side, like libxenvchan_server_init) makes a sealed memfd laid
 * out as Xen's vchan page plus rings, and two eventfds (one per direction,
 * the event channel), and sends the three over the socket (SCM_RIGHTS) after
 * an 8-byte hello. The client checks and maps them. ORDER sets both rings'
 * size (2^N bytes, 10..20, default 16); "N,M" sets the left (client to
 * server) and right (server to client) rings apart; only the listening side
 * uses it, a client takes what the server's page says.
 *
 * The set-up socket is kept open for the transport's life: a process killed
 * by a signal never writes live 0 (under Xen the kernel's unmap notify does
 * it for a dying domain's vchan); here its socket's hang-up is the sign.
 * So t->fd is not the eventfd itself but an epoll set holding the eventfd and
 * the socket: a poller wakes on the peer's signal and on the peer's death
 * alike. It only ever reports POLLIN, whichever way we wait.
 *
 * Trust: a hostile peer holds the same memfd. The server seals its size (a
 * shrink would make our accesses SIGBUS); the client refuses a memfd without
 * that seal, and file descriptors that are not eventfds.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "shm_stream.h"
#include "sock.h"

#define SHM_HELLO_MAGIC 0x4d485356u /* "VSHM" little-endian */
#define SHM_HELLO_VERSION 1u
#define SHM_NFDS 3 /* memfd, server's eventfd, client's eventfd */

/* Sent once by the server with the descriptors, little-endian. */
struct shm_hello {
	uint32_t magic;
	uint32_t version;
};

struct shm_transport {
	struct shm_stream st; /* st.t.fd: epoll set of st.efd_in and sock */
	void *mem;
	size_t len;
	int sock;    /* set-up socket, kept to see the peer die */
	int efd_out; /* we signal it */
};

struct shm_listener {
	struct vrpc_listener l;
	unsigned left_order, right_order;
};

static const struct vrpc_listener_ops shm_listener_ops;

/* PATH[?order=N[,M]] -> socket address and ring orders. */
static int shm_addr(const char *rest, struct sockaddr_un *sun, socklen_t *slen,
		    unsigned *left, unsigned *right)
{
	const char *q = strchr(rest, '?');
	size_t n = q ? (size_t)(q - rest) : strlen(rest);

	*left = *right = SHM_RING_ORDER_DEFAULT;
	if (q && vrpc_shm_ring_parse_orders(q, left, right))
		return -EINVAL;
	if (n == 0 || n >= sizeof(sun->sun_path))
		return -EINVAL;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, rest, n);
	if (rest[0] == '@')
		sun->sun_path[0] = '\0';
	*slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (rest[0] != '@'));
	return 0;
}

static void shm_fill_peer(struct shm_transport *s)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(s->sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		s->st.t.peer.kind = VRPC_PEER_UID;
		s->st.t.peer.id = cred.uid;
		s->st.t.peer.aux = (uint32_t)cred.pid;
	}
}

static void shm_kick(struct shm_stream *st)
{
	struct shm_transport *s = (struct shm_transport *)st;
	uint64_t one = 1;

	/* EAGAIN: the counter is full, the peer has a wake-up pending anyway.
	 * Other errors: nothing to do, the peer will see live 0 or hang-up. */
	if (write(s->efd_out, &one, sizeof(one)) < 0)
		return;
}

/* Has the peer's end of the set-up socket gone (the peer died or closed)? */
static bool shm_peer_hung_up(struct shm_stream *st)
{
	struct shm_transport *s = (struct shm_transport *)st;
	struct pollfd pfd = { .fd = s->sock, .events = POLLRDHUP };

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static struct shm_transport *shm_new(int sock)
{
	struct shm_transport *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->st.t.ops = &vrpc_transport_shm;
	s->st.t.fd = -1;
	s->st.kick = shm_kick;
	s->st.peer_hung_up = shm_peer_hung_up;
	s->st.cpu_hints = true;
	s->sock = sock;
	s->st.efd_in = s->efd_out = -1;
	s->mem = MAP_FAILED;
	return s;
}

/* One pollable fd for the peer's signals and its death (see the top). */
static int shm_epoll(struct shm_transport *s)
{
	struct epoll_event ev = { .events = EPOLLIN };

	s->st.t.fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->st.t.fd < 0)
		return -errno;
	if (epoll_ctl(s->st.t.fd, EPOLL_CTL_ADD, s->st.efd_in, &ev) < 0)
		return -errno;
	/* Hang-up only: the socket carries nothing after set-up. */
	ev.events = EPOLLRDHUP;
	if (epoll_ctl(s->st.t.fd, EPOLL_CTL_ADD, s->sock, &ev) < 0)
		return -errno;
	return 0;
}

static void shm_close(struct vrpc_transport *t)
{
	struct shm_transport *s = (struct shm_transport *)t;

	if (!s)
		return;
	if (s->mem != MAP_FAILED) {
		shm_ring_close(&s->st.ring);
		if (s->efd_out >= 0)
			shm_kick(&s->st);
		munmap(s->mem, s->len);
	}
	if (s->st.t.fd >= 0)
		close(s->st.t.fd);
	if (s->st.efd_in >= 0)
		close(s->st.efd_in);
	if (s->efd_out >= 0)
		close(s->efd_out);
	if (s->sock >= 0)
		close(s->sock);
	free(s);
}

/* ---- server side ---- */

static int shm_send_fds(int sock, const int fds[SHM_NFDS])
{
	struct shm_hello hello = { htole32(SHM_HELLO_MAGIC), htole32(SHM_HELLO_VERSION) };
	union {
		char buf[CMSG_SPACE(sizeof(int) * SHM_NFDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = &hello, .iov_len = sizeof(hello) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	memset(&ctl, 0, sizeof(ctl));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * SHM_NFDS);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * SHM_NFDS);
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == sizeof(hello) ? 0 : -EIO;
}

static int shm_memfd(size_t len)
{
	int fd = memfd_create("vrpc-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	/* Sealed size: the peer can neither shrink the file under our
	 * mapping (SIGBUS) nor unseal it. */
	if (ftruncate(fd, (off_t)len) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* A fresh vchan for the accepted socket @p sock (owned by *out or closed). */
static int shm_server_new(int sock, unsigned left, unsigned right,
			  struct vrpc_transport **out)
{
	struct shm_transport *s = shm_new(sock);
	int fds[SHM_NFDS] = { -1, -1, -1 };
	int err;

	if (!s) {
		close(sock);
		return -ENOMEM;
	}
	s->len = shm_ring_region_size(left, right);
	fds[0] = shm_memfd(s->len);
	if (fds[0] < 0) {
		err = fds[0];
		goto err_close;
	}
	s->mem = mmap(NULL, s->len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	if (s->mem == MAP_FAILED) {
		err = -errno;
		goto err_memfd;
	}
	err = shm_ring_init_server(&s->st.ring, s->mem, s->len, left, right);
	if (err)
		goto err_memfd;
	s->st.efd_in = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->efd_out = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->st.efd_in < 0 || s->efd_out < 0) {
		err = -errno;
		goto err_memfd;
	}
	err = shm_epoll(s);
	if (err)
		goto err_memfd;
	fds[1] = s->st.efd_in;
	fds[2] = s->efd_out;
	err = shm_send_fds(sock, fds);
	if (err)
		goto err_memfd;
	close(fds[0]); /* the mapping keeps the memory */
	shm_fill_peer(s);
	*out = &s->st.t;
	return 0;
err_memfd:
	if (fds[0] >= 0)
		close(fds[0]);
err_close:
	shm_close(&s->st.t);
	return err;
}

static int shm_accept(struct vrpc_listener *l, struct vrpc_transport **out)
{
	struct shm_listener *sl = (struct shm_listener *)l;
	int fd;

	do
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return shm_server_new(fd, sl->left_order, sl->right_order, out);
}

static void shm_listener_close(struct vrpc_listener *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

static const struct vrpc_listener_ops shm_listener_ops = {
	.accept = shm_accept,
	.close = shm_listener_close,
};

static int shm_listen(const char *rest, struct vrpc_listener **out)
{
	struct shm_listener *sl;
	struct sockaddr_un sun;
	unsigned left, right;
	struct stat st;
	socklen_t len;
	int fd, err = shm_addr(rest, &sun, &len, &left, &right);

	if (err)
		return err;
	/* A stale socket left by a dead server is replaced; any other file is not. */
	if (sun.sun_path[0] && lstat(sun.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(sun.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, len) < 0 || listen(fd, 64) < 0) {
		err = -errno;
		goto err_fd;
	}
	sl = calloc(1, sizeof(*sl));
	if (!sl) {
		err = -ENOMEM;
		goto err_fd;
	}
	sl->l.ops = &shm_listener_ops;
	sl->l.fd = fd;
	sl->left_order = left;
	sl->right_order = right;
	*out = &sl->l;
	return 0;
err_fd:
	close(fd);
	return err;
}

/* ---- client side ---- */

/* Receives the hello and exactly SHM_NFDS descriptors into @p fds. */
static int shm_recv_fds(int sock, int fds[SHM_NFDS])
{
	struct shm_hello hello;
	union {
		char buf[CMSG_SPACE(sizeof(int) * SHM_NFDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = &hello, .iov_len = sizeof(hello) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	int nfds = 0, err = 0;
	ssize_t n;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* Take every descriptor we were given, so none leaks on error. */
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t k, got;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < got; k++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(fd));
			if (nfds < SHM_NFDS)
				fds[nfds++] = fd;
			else
				close(fd), err = -EPROTO;
		}
	}
	if (n == 0)
		err = -ECONNRESET;
	else if (!err && (n != sizeof(hello) || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) ||
			  nfds != SHM_NFDS || le32toh(hello.magic) != SHM_HELLO_MAGIC ||
			  le32toh(hello.version) != SHM_HELLO_VERSION))
		err = -EPROTO;
	if (err)
		while (nfds > 0)
			close(fds[--nfds]);
	return err;
}

/* Only a real eventfd may stand for the event channel: writing to, or
 * reading from, whatever else a hostile server passed could block or signal. */
static int shm_check_eventfd(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	if (strcmp(link, "anon_inode:[eventfd]"))
		return -EPROTO;
	return sock_set_nonblock(fd);
}

/* Maps the server's memfd after checking it cannot shrink under us. */
static int shm_map_client(struct shm_transport *s, int memfd)
{
	size_t max = shm_ring_region_size(SHM_RING_ORDER_MAX, SHM_RING_ORDER_MAX);
	struct stat st;
	int seals = fcntl(memfd, F_GET_SEALS);

	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return -EPROTO;
	if (fstat(memfd, &st) < 0)
		return -errno;
	if (st.st_size < SHM_RING_PAGE || (uint64_t)st.st_size > max)
		return -EPROTO;
	s->len = (size_t)st.st_size;
	s->mem = mmap(NULL, s->len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (s->mem == MAP_FAILED)
		return -errno;
	return shm_ring_attach_client(&s->st.ring, s->mem, s->len);
}

static int shm_client_setup(struct shm_transport *s, int timeout_ms)
{
	int64_t deadline = vrpc_now_ms() + (timeout_ms > 0 ? timeout_ms : 5000);
	struct pollfd pfd = { .fd = s->sock, .events = POLLIN };
	int fds[SHM_NFDS], err, n;

	/* Bounded wait for the server's hello. */
	do {
		int64_t left = deadline - vrpc_now_ms();

		n = poll(&pfd, 1, left > 0 ? (int)left : 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	err = shm_recv_fds(s->sock, fds);
	if (err)
		return err;
	/* The server's eventfd (fds[1]) is the one we signal, its "out" ours. */
	s->efd_out = fds[1];
	s->st.efd_in = fds[2];
	err = shm_check_eventfd(s->efd_out);
	if (!err)
		err = shm_check_eventfd(s->st.efd_in);
	if (!err)
		err = shm_map_client(s, fds[0]);
	close(fds[0]);
	if (err)
		return err;
	return shm_epoll(s);
}

static int shm_connect(const char *rest, int timeout_ms, struct vrpc_transport **out)
{
	struct shm_transport *s;
	struct sockaddr_un sun;
	unsigned left, right;
	socklen_t len;
	int fd, err = shm_addr(rest, &sun, &len, &left, &right);

	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	s = shm_new(fd);
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	err = sock_connect(fd, (struct sockaddr *)&sun, len, timeout_ms);
	if (!err)
		err = shm_client_setup(s, timeout_ms);
	if (err) {
		shm_close(&s->st.t);
		return err;
	}
	shm_fill_peer(s);
	/* Tell the server we are live. */
	shm_kick(&s->st);
	*out = &s->st.t;
	return 0;
}

const struct vrpc_transport_ops vrpc_transport_shm = {
	.scheme = "shm",
	.connect = shm_connect,
	.listen = shm_listen,
	SHM_STREAM_OPS,
	.close = shm_close,
};
