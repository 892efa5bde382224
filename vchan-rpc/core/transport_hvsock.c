/*
 * transport_hvsock.c - "hvsock:PATH:PORT": the host side of hybrid vsock.
 *
 * Firecracker and Cloud Hypervisor give a guest a virtio-vsock device with no
 * vhost-vsock in the host kernel: the VMM itself bridges the guest's AF_VSOCK
 * to unix sockets on the host (Firecracker docs/vsock.md), in both directions:
 *
 *   host -> guest  (connect): the VMM listens on its unix socket PATH (the
 *       device's uds_path). The host connects there, writes "CONNECT PORT\n"
 *       with the guest's vsock port in decimal, and the VMM answers
 *       "OK HOSTPORT\n" (the host-side port it allocated) once the guest
 *       accepted; it closes the socket if nobody listens on PORT. From then on
 *       the socket is a plain byte stream to the guest.
 *
 *   guest -> host  (listen): a guest connecting to CID 2 (host) port PORT
 *       makes the VMM connect to the unix socket "PATH_PORT". So listening
 *       here is listening on the unix socket named PATH, "_", PORT; there is
 *       no handshake on that side.
 *
 * PATH is the last ':' away from PORT, so it may itself hold a ':'. The peer
 * identity is VRPC_PEER_LABEL: the unix socket path (which names the VM, one
 * uds_path per VM), cut to fit, and the vsock port in aux. The guest's CID is
 * not known on this side: the VMM does not tell it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "sock.h"

/* "OK " + at most 10 digits + "\n" is 14 bytes; a VMM that says more than
 * this is not one we know, and we will not buffer its ramblings. */
#define HVSOCK_REPLY_MAX 32
/* The handshake is bounded even when the caller asked for no timeout. */
#define HVSOCK_DEFAULT_TIMEOUT_MS 5000

/* Splits "PATH:PORT" into @p sun (PATH, or PATH_PORT when @p listening) and
 * @p port. @return 0 or -EINVAL. */
static int hvsock_addr(const char *rest, int listening, struct sockaddr_un *sun,
		       uint32_t *port)
{
	const char *colon = strrchr(rest, ':');
	size_t plen;
	int n;

	if (!colon || colon == rest)
		return -EINVAL;
	plen = (size_t)(colon - rest);
	if (sock_parse_u32(colon + 1, strlen(colon + 1), UINT32_MAX - 1, port))
		return -EINVAL;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (listening)
		n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%.*s_%u",
			     (int)plen, rest, *port);
	else
		n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%.*s", (int)plen, rest);
	if (n < 0 || (size_t)n >= sizeof(sun->sun_path))
		return -EINVAL;
	return 0;
}

static void hvsock_set_peer(struct vrpc_transport *t, const char *path, uint32_t port)
{
	/* A longer path is cut: the label is for policy and logs, and the
	 * start of a path names the VM as well as its end. */
	size_t n = strnlen(path, sizeof(t->peer.label) - 1);

	t->peer.kind = VRPC_PEER_LABEL;
	memcpy(t->peer.label, path, n);
	t->peer.label[n] = '\0';
	t->peer.aux = port;
}

/* Waits for @p events on @p fd until @p deadline. @return 0 or -errno. */
static int hvsock_wait(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int n;

	do {
		left = deadline - vrpc_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
	} while ((n < 0 && errno == EINTR) || n == 0);
	return n < 0 ? -errno : 0;
}

static int hvsock_send_line(int fd, const char *line, size_t len, long long deadline)
{
	size_t off = 0;
	ssize_t n;
	int err;

	while (off < len) {
		n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		err = hvsock_wait(fd, POLLOUT, deadline);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Reads the VMM's reply a byte at a time: the guest may start talking right
 * after the VMM's "\n", and those bytes belong to the stream, not to us.
 * @return 0 for "OK <number>\n", -ECONNREFUSED for anything else (or EOF:
 * the VMM closes when no guest listens), -ETIMEDOUT, or -errno.
 */
static int hvsock_recv_reply(int fd, long long deadline)
{
	char line[HVSOCK_REPLY_MAX];
	size_t len = 0;
	uint32_t hostport;
	ssize_t n;
	int err;

	for (;;) {
		n = recv(fd, &line[len], 1, 0);
		if (n == 0)
			return -ECONNREFUSED;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			err = hvsock_wait(fd, POLLIN, deadline);
			if (err)
				return err;
			continue;
		}
		if (line[len++] == '\n')
			break;
		if (len == sizeof(line))
			return -ECONNREFUSED;
	}
	/* line[0 .. len-2] is "OK " then the port; line[len-1] is '\n'. */
	if (len < 5 || memcmp(line, "OK ", 3) != 0 ||
	    sock_parse_u32(line + 3, len - 4, UINT32_MAX, &hostport))
		return -ECONNREFUSED;
	return 0;
}

static int hvsock_connect(const char *rest, int timeout_ms, struct vrpc_transport **out)
{
	long long deadline;
	struct sockaddr_un sun;
	char line[sizeof("CONNECT 4294967295\n")];
	uint32_t port;
	int fd, n, err = hvsock_addr(rest, 0, &sun, &port);

	if (err)
		return err;
	if (timeout_ms <= 0)
		timeout_ms = HVSOCK_DEFAULT_TIMEOUT_MS;
	deadline = vrpc_now_ms() + timeout_ms;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = sock_connect(fd, (struct sockaddr *)&sun, sizeof(sun), timeout_ms);
	if (err)
		goto err_fd;
	n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	err = hvsock_send_line(fd, line, (size_t)n, deadline);
	if (err)
		goto err_fd;
	err = hvsock_recv_reply(fd, deadline);
	if (err)
		goto err_fd;
	*out = sock_transport_new(&vrpc_transport_hvsock, fd);
	if (!*out) {
		err = -ENOMEM;
		goto err_fd;
	}
	hvsock_set_peer(*out, sun.sun_path, port);
	return 0;
err_fd:
	close(fd);
	return err;
}

/* The listening socket is PATH_PORT: name the VM by PATH, as connect does. */
static void hvsock_fill_peer(struct vrpc_transport *t)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	char *under;
	uint32_t port;

	memset(&sun, 0, sizeof(sun));
	if (getsockname(t->fd, (struct sockaddr *)&sun, &len) < 0)
		return;
	sun.sun_path[sizeof(sun.sun_path) - 1] = '\0';
	under = strrchr(sun.sun_path, '_');
	if (!under || sock_parse_u32(under + 1, strlen(under + 1), UINT32_MAX - 1, &port))
		return;
	*under = '\0';
	hvsock_set_peer(t, sun.sun_path, port);
}

static int hvsock_listen(const char *rest, struct vrpc_listener **out)
{
	struct sockaddr_un sun;
	uint32_t port;
	int err = hvsock_addr(rest, 1, &sun, &port);

	if (err)
		return err;
	return sock_listen((struct sockaddr *)&sun, sizeof(sun), &vrpc_transport_hvsock,
			   hvsock_fill_peer, out);
}

const struct vrpc_transport_ops vrpc_transport_hvsock = {
	.scheme = "hvsock",
	.connect = hvsock_connect,
	.listen = hvsock_listen,
	.read = sock_read,
	.write = sock_write,
	.close = sock_close,
};
