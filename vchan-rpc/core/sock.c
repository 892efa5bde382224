/* sock.c - the parts every socket transport shares (see sock.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"

struct sock_listener {
	struct vrpc_listener l;
	const struct vrpc_transport_ops *ops;
	void (*fill_peer)(struct vrpc_transport *t);
};

int sock_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int sock_parse_u32(const char *s, size_t len, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	/* At most 10 digits, so v cannot overflow before the check. */
	if (len == 0 || len > 10 || (s[0] == '0' && len > 1))
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

struct vrpc_transport *sock_transport_new(const struct vrpc_transport_ops *ops, int fd)
{
	struct vrpc_transport *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ops = ops;
	t->fd = fd;
	return t;
}

ssize_t sock_read(struct vrpc_transport *t, void *buf, size_t len)
{
	ssize_t n;

	do
		n = recv(t->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

ssize_t sock_write(struct vrpc_transport *t, const void *buf, size_t len)
{
	ssize_t n;

	/* MSG_NOSIGNAL: a peer that went away is -EPIPE here, not a SIGPIPE. */
	do
		n = send(t->fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

void sock_close(struct vrpc_transport *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

int sock_connect(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
	int err = sock_set_nonblock(fd);
	socklen_t elen = sizeof(err);
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int n;

	if (err)
		return err;
	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EAGAIN)
		return -errno;
	do
		n = poll(&pfd, 1, timeout_ms > 0 ? timeout_ms : -1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		return -errno;
	return -err;
}

static int sock_accept(struct vrpc_listener *l, struct vrpc_transport **out)
{
	struct sock_listener *sl = (struct sock_listener *)l;
	struct vrpc_transport *t;
	int fd;

	do
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	t = sock_transport_new(sl->ops, fd);
	if (!t) {
		close(fd);
		return -ENOMEM;
	}
	if (sl->fill_peer)
		sl->fill_peer(t);
	*out = t;
	return 0;
}

static void sock_listener_close(struct vrpc_listener *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

static const struct vrpc_listener_ops sock_listener_ops = {
	.accept = sock_accept,
	.close = sock_listener_close,
};

struct vrpc_listener *sock_listener_new(int fd, const struct vrpc_transport_ops *ops,
					void (*fill_peer)(struct vrpc_transport *t))
{
	struct sock_listener *sl = calloc(1, sizeof(*sl));

	if (!sl)
		return NULL;
	sl->l.ops = &sock_listener_ops;
	sl->l.fd = fd;
	sl->ops = ops;
	sl->fill_peer = fill_peer;
	return &sl->l;
}

int sock_listen(const struct sockaddr *sa, socklen_t len, const struct vrpc_transport_ops *ops,
		void (*fill_peer)(struct vrpc_transport *t), struct vrpc_listener **out)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
	struct stat st;
	int fd, err;

	/* A stale socket left by a dead server is replaced; any other file is not. */
	if (sa->sa_family == AF_UNIX && sun->sun_path[0] && lstat(sun->sun_path, &st) == 0 &&
	    S_ISSOCK(st.st_mode))
		unlink(sun->sun_path);
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, sa, len) < 0 || listen(fd, 64) < 0) {
		err = -errno;
		goto err_fd;
	}
	*out = sock_listener_new(fd, ops, fill_peer);
	if (!*out) {
		err = -ENOMEM;
		goto err_fd;
	}
	return 0;
err_fd:
	close(fd);
	return err;
}

bool vrpc_transport_is_socket(const struct vrpc_transport *t)
{
	return t && t->ops->read == sock_read && t->ops->write == sock_write;
}

/* @p fd is a stream socket, listening or not as @p listening says. */
static int stream_socket(int fd, bool listening)
{
	int type = 0, acc = 0;
	socklen_t len = sizeof(type), alen = sizeof(acc);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) < 0)
		return errno == ENOTSOCK ? -ENOTSOCK : -errno;
	if (type != SOCK_STREAM || !acc != !listening)
		return -ENOTSOCK;
	return sock_set_nonblock(fd);
}

int vrpc_sock_from_fd(int fd, const struct vrpc_transport_ops *ops,
		 void (*fill_peer)(struct vrpc_transport *t), struct vrpc_transport **out)
{
	int err = stream_socket(fd, false);

	if (!err && !(*out = sock_transport_new(ops, fd)))
		err = -ENOMEM;
	if (err) {
		close(fd);
		return err;
	}
	if (fill_peer)
		fill_peer(*out);
	return 0;
}

int vrpc_sock_listen_fd(int fd, const struct vrpc_transport_ops *ops,
		   void (*fill_peer)(struct vrpc_transport *t), struct vrpc_listener **out)
{
	int err = stream_socket(fd, true);

	if (!err && !(*out = sock_listener_new(fd, ops, fill_peer)))
		err = -ENOMEM;
	if (err)
		close(fd);
	return err;
}
