/*
 * transport_tcp_win.c - "tcp:HOST:PORT" on winsock, for the Windows build of
 * the client half (transport_tcp.c is the POSIX one). Connect only: no
 * vrpc server runs on Windows. Empty on POSIX.
 */
#ifdef _WIN32
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "compat.h"
#include "hostport.h"

#include <ws2tcpip.h>

struct tcp_win {
	struct win_transport w;
	SOCKET s;
	WSAEVENT ev; /* set by FD_READ, FD_WRITE, FD_CLOSE (WSAEventSelect) */
	int wsa; /* WSAStartup() done, WSACleanup() owed */
};

static int wsa_errno(void)
{
	return compat_win_errno((DWORD)WSAGetLastError());
}

static ssize_t tcp_win_read(struct vrpc_transport *t, void *buf, size_t len)
{
	struct tcp_win *tw = (struct tcp_win *)t;
	int n = recv(tw->s, buf, len > INT_MAX ? INT_MAX : (int)len, 0);

	return n == SOCKET_ERROR ? wsa_errno() : n;
}

static ssize_t tcp_win_write(struct vrpc_transport *t, const void *buf, size_t len)
{
	struct tcp_win *tw = (struct tcp_win *)t;
	int n = send(tw->s, buf, len > INT_MAX ? INT_MAX : (int)len, 0);

	/* Windows has no SIGPIPE: a peer gone is an error code here. */
	return n == SOCKET_ERROR ? wsa_errno() : n;
}

/* The event is reset first, then the socket looked at: what arrives after
 * the look sets the event again, so no wake-up is lost. */
static int tcp_win_handles(struct win_transport *w, short events, HANDLE *out)
{
	struct tcp_win *tw = (struct tcp_win *)w;
	WSANETWORKEVENTS ne;
	WSAPOLLFD pfd = { .fd = tw->s, .events = events };

	ResetEvent(w->ready);
	if (WSAEnumNetworkEvents(tw->s, tw->ev, &ne) == SOCKET_ERROR ||
	    WSAPoll(&pfd, 1, 0) != 0)
		/* Ready, or POLLHUP/POLLERR or an error: read() tells which. */
		return compat_win_ready_now(w, out);
	out[0] = tw->ev;
	return 1;
}

static void tcp_win_close(struct vrpc_transport *t)
{
	struct tcp_win *tw = (struct tcp_win *)t;

	if (!tw)
		return;
	if (tw->s != INVALID_SOCKET)
		closesocket(tw->s);
	if (tw->ev != WSA_INVALID_EVENT)
		WSACloseEvent(tw->ev);
	if (tw->w.ready)
		CloseHandle(tw->w.ready);
	if (tw->wsa)
		compat_wsa_stop();
	free(tw);
}

/*
 * Connects within @p timeout_ms. select() rather than WSAPoll() waits for
 * the connection: WSAPoll() before Windows 10 2004 never reports a refused
 * connect, select() reports it in the except set.
 */
static int tcp_win_connect_one(SOCKET s, const struct addrinfo *ai, int timeout_ms)
{
	u_long nonblock = 1;
	fd_set wfds, efds;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int err = 0, elen = sizeof(err), n;

	if (ioctlsocket(s, FIONBIO, &nonblock) == SOCKET_ERROR)
		return wsa_errno();
	if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) == 0)
		return 0;
	if (WSAGetLastError() != WSAEWOULDBLOCK)
		return wsa_errno();
	FD_ZERO(&wfds);
	FD_ZERO(&efds);
	FD_SET(s, &wfds);
	FD_SET(s, &efds);
	n = select(0, NULL, &wfds, &efds, timeout_ms > 0 ? &tv : NULL);
	if (n == SOCKET_ERROR)
		return wsa_errno();
	if (n == 0)
		return -ETIMEDOUT;
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &elen) == SOCKET_ERROR)
		return wsa_errno();
	return err ? compat_win_errno((DWORD)err) : 0;
}

static void tcp_win_fill_peer(struct tcp_win *tw)
{
	struct vrpc_peer *p = &tw->w.t.peer;
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	DWORD one = 1;

	/* No Nagle: see tcp_fill_peer() in transport_tcp.c. */
	setsockopt(tw->s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof(one));
	if (getpeername(tw->s, (struct sockaddr *)&ss, &len) == SOCKET_ERROR)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, p->label, sizeof(p->label));
		p->aux = ntohs(sin->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, p->label, sizeof(p->label));
		p->aux = ntohs(sin6->sin6_port);
	} else {
		return;
	}
	p->kind = VRPC_PEER_HOST;
}

static int tcp_win_connect(const char *rest, int timeout_ms, struct vrpc_transport **out)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL, *ai;
	ULONGLONG deadline = GetTickCount64() + (ULONGLONG)(timeout_ms > 0 ? timeout_ms : 0);
	struct hostport hp;
	struct tcp_win *tw;
	int err = hostport_parse(rest, &hp);

	if (err)
		return err;
	tw = calloc(1, sizeof(*tw));
	if (!tw)
		return -ENOMEM;
	tw->w.t.ops = &vrpc_transport_tcp;
	tw->w.t.fd = -1;
	tw->w.handles = tcp_win_handles;
	tw->s = INVALID_SOCKET;
	tw->ev = WSA_INVALID_EVENT;
	err = compat_win_ready_init(&tw->w);
	if (err)
		goto err_tw;
	err = compat_wsa_start();
	if (err)
		goto err_tw;
	tw->wsa = 1;
	err = getaddrinfo(hp.host, hp.port, &hints, &res);
	if (err) {
		err = compat_win_errno((DWORD)err);
		goto err_tw;
	}
	err = -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		ULONGLONG now = GetTickCount64();

		if (timeout_ms > 0 && now >= deadline) {
			err = -ETIMEDOUT;
			break;
		}
		tw->s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (tw->s == INVALID_SOCKET) {
			err = wsa_errno();
			continue;
		}
		err = tcp_win_connect_one(tw->s, ai, timeout_ms > 0 ? (int)(deadline - now) : 0);
		if (!err)
			break;
		closesocket(tw->s);
		tw->s = INVALID_SOCKET;
	}
	freeaddrinfo(res);
	if (err)
		goto err_tw;
	tw->ev = WSACreateEvent();
	if (tw->ev == WSA_INVALID_EVENT ||
	    WSAEventSelect(tw->s, tw->ev, FD_READ | FD_WRITE | FD_CLOSE) == SOCKET_ERROR) {
		err = wsa_errno();
		goto err_tw;
	}
	tcp_win_fill_peer(tw);
	*out = &tw->w.t;
	return 0;
err_tw:
	tcp_win_close(&tw->w.t);
	return err;
}

static int tcp_win_listen(const char *rest, struct vrpc_listener **out)
{
	return -ENOTSUP;
}

const struct vrpc_transport_ops vrpc_transport_tcp = {
	.scheme = "tcp",
	.connect = tcp_win_connect,
	.listen = tcp_win_listen,
	.read = tcp_win_read,
	.write = tcp_win_write,
	.close = tcp_win_close,
};
#endif /* _WIN32 */
