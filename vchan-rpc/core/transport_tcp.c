/*
 * transport_tcp.c - "tcp:HOST:PORT" on POSIX sockets (transport_tcp_win.c is
 * the winsock twin). For development and tests only, never a manifest
 * default: TCP carries no identity a policy could trust, so the peer is just
 * VRPC_PEER_HOST (address in label, port in aux).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "hostport.h"
#include "sock.h"

/* getaddrinfo()'s EAI_* codes as the -errno the transport interface speaks. */
static int gai_errno(int rc)
{
	switch (rc) {
	case EAI_NONAME:
	case EAI_FAIL:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
	case EAI_ADDRFAMILY:
		return -EHOSTUNREACH;
	case EAI_AGAIN:
		return -ETIMEDOUT; /* not -EAGAIN, which means "poll and retry" */
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_SYSTEM:
		return -errno;
	default:
		return -EINVAL;
	}
}

static int resolve(const char *rest, int passive, struct addrinfo **res)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0),
	};
	struct hostport hp;
	int rc = hostport_parse(rest, &hp);

	if (rc)
		return rc;
	rc = getaddrinfo(hp.host, hp.port, &hints, res);
	return rc ? gai_errno(rc) : 0;
}

/*
 * Who is at the other end, and no Nagle: a vrpc frame is a header and a
 * payload written back to back, and a call waits for its reply, which is the
 * pattern Nagle's algorithm delays by a round trip.
 */
static void tcp_fill_peer(struct vrpc_transport *t)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1;

	setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (getpeername(t->fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, t->peer.label, sizeof(t->peer.label));
		t->peer.aux = ntohs(sin->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, t->peer.label, sizeof(t->peer.label));
		t->peer.aux = ntohs(sin6->sin6_port);
	} else {
		return;
	}
	t->peer.kind = VRPC_PEER_HOST;
}

/* Tries each address in turn, all within the one timeout. */
static int tcp_connect(const char *rest, int timeout_ms, struct vrpc_transport **out)
{
	struct addrinfo *res, *ai;
	long deadline = vrpc_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int fd = -1, err = resolve(rest, 0, &res);

	if (err)
		return err;
	err = -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		long left = deadline - vrpc_now_ms();

		if (timeout_ms > 0 && left <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		err = sock_connect(fd, ai->ai_addr, ai->ai_addrlen,
				   timeout_ms > 0 ? (int)left : 0);
		if (!err)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (err)
		return err;
	*out = sock_transport_new(&vrpc_transport_tcp, fd);
	if (!*out) {
		close(fd);
		return -ENOMEM;
	}
	tcp_fill_peer(*out);
	return 0;
}

static int tcp_listen(const char *rest, struct vrpc_listener **out)
{
	struct addrinfo *res;
	int one = 1, fd, err = resolve(rest, 1, &res);

	if (err)
		return err;
	/* The first address only: a name that resolves to several addresses
	 * is not something a development listener needs to serve. */
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    res->ai_protocol);
	if (fd < 0) {
		err = -errno;
		goto err_res;
	}
	/* A restarted server may bind while old connections sit in TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		err = -errno;
		goto err_fd;
	}
	*out = sock_listener_new(fd, &vrpc_transport_tcp, tcp_fill_peer);
	if (!*out) {
		err = -ENOMEM;
		goto err_fd;
	}
	freeaddrinfo(res);
	return 0;
err_fd:
	close(fd);
err_res:
	freeaddrinfo(res);
	return err;
}

const struct vrpc_transport_ops vrpc_transport_tcp = {
	.scheme = "tcp",
	.connect = tcp_connect,
	.listen = tcp_listen,
	.read = sock_read,
	.write = sock_write,
	.close = sock_close,
};
