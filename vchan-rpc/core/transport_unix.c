/* transport_unix.c - "unix:PATH": unix stream sockets; "@NAME" is abstract. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"

static int unix_addr(const char *path, struct sockaddr_un *sun, socklen_t *len)
{
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(sun->sun_path))
		return -EINVAL;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n);
	if (path[0] == '@')
		sun->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] != '@'));
	return 0;
}

/* The peer's uid (and pid), as the kernel saw them at connect(). */
static void unix_fill_peer(struct vrpc_transport *t)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(t->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		t->peer.kind = VRPC_PEER_UID;
		t->peer.id = cred.uid;
		t->peer.aux = (uint32_t)cred.pid;
	}
}

static int unix_connect(const char *rest, int timeout_ms, struct vrpc_transport **out)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd, err = unix_addr(rest, &sun, &len);

	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = sock_connect(fd, (struct sockaddr *)&sun, len, timeout_ms);
	if (err)
		goto err_fd;
	*out = sock_transport_new(&vrpc_transport_unix, fd);
	if (!*out) {
		err = -ENOMEM;
		goto err_fd;
	}
	unix_fill_peer(*out);
	return 0;
err_fd:
	close(fd);
	return err;
}

static int unix_listen(const char *rest, struct vrpc_listener **out)
{
	struct sockaddr_un sun;
	socklen_t len;
	int err = unix_addr(rest, &sun, &len);

	if (err)
		return err;
	return sock_listen((struct sockaddr *)&sun, len, &vrpc_transport_unix, unix_fill_peer, out);
}

static int unix_from_fd(int fd, struct vrpc_transport **out)
{
	return vrpc_sock_from_fd(fd, &vrpc_transport_unix, unix_fill_peer, out);
}

static int unix_listen_fd(int fd, struct vrpc_listener **out)
{
	return vrpc_sock_listen_fd(fd, &vrpc_transport_unix, unix_fill_peer, out);
}

const struct vrpc_transport_ops vrpc_transport_unix = {
	.scheme = "unix",
	.connect = unix_connect,
	.listen = unix_listen,
	.read = sock_read,
	.write = sock_write,
	.close = sock_close,
	.from_fd = unix_from_fd,
	.listen_fd = unix_listen_fd,
};
