/* compat_win.c - the Windows side of compat.h. Empty on POSIX. */
#ifdef _WIN32
#include <errno.h>

#include "compat.h"

/* One case per Windows error: a table, long by nature. */
int compat_win_errno(DWORD err)
{
	switch (err) {
	case WSAEWOULDBLOCK:
	case WSAEINPROGRESS:
	case ERROR_IO_PENDING:
		return -EAGAIN; /* mingw's EWOULDBLOCK is not EAGAIN */
	case WSAECONNREFUSED:
	case ERROR_CONNECTION_REFUSED:
		return -ECONNREFUSED;
	case WSAETIMEDOUT:
	case ERROR_SEM_TIMEOUT:
		return -ETIMEDOUT;
	case WSAECONNRESET:
	case WSAENETRESET:
		return -ECONNRESET;
	case WSAECONNABORTED:
		return -ECONNABORTED;
	case WSAENOTCONN:
		return -ENOTCONN;
	case WSAESHUTDOWN:
	case ERROR_BROKEN_PIPE:
	case ERROR_NO_DATA:
	case ERROR_PIPE_NOT_CONNECTED:
		return -EPIPE;
	case WSAEHOSTUNREACH:
	case WSAHOST_NOT_FOUND:
	case WSANO_DATA:
		return -EHOSTUNREACH;
	case WSATRY_AGAIN:
		return -ETIMEDOUT; /* not -EAGAIN, which means "poll and retry" */
	case WSAENETUNREACH:
	case WSAENETDOWN:
		return -ENETUNREACH;
	case WSAEADDRINUSE:
		return -EADDRINUSE;
	case WSAEADDRNOTAVAIL:
		return -EADDRNOTAVAIL;
	case WSAEAFNOSUPPORT:
	case WSAEPFNOSUPPORT:
		return -EAFNOSUPPORT;
	case WSAENOBUFS:
		return -ENOBUFS;
	case WSAEMFILE:
	case ERROR_TOO_MANY_OPEN_FILES:
		return -EMFILE;
	case WSAEINTR:
		return -EINTR;
	case WSAEACCES:
	case ERROR_ACCESS_DENIED:
		return -EACCES;
	case WSAEINVAL:
	case ERROR_INVALID_PARAMETER:
	case ERROR_INVALID_NAME:
	case ERROR_BAD_PATHNAME:
		return -EINVAL;
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return -ENOENT;
	case ERROR_SHARING_VIOLATION:
	case ERROR_PIPE_BUSY:
		return -EBUSY;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return -ENOMEM;
	case ERROR_OPERATION_ABORTED:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

int compat_wsa_start(void)
{
	WSADATA wsa;
	int rc = WSAStartup(MAKEWORD(2, 2), &wsa);

	return rc ? compat_win_errno((DWORD)rc) : 0;
}

void compat_wsa_stop(void)
{
	WSACleanup();
}

int compat_win_ready_init(struct win_transport *w)
{
	w->ready = CreateEventA(NULL, TRUE, FALSE, NULL);
	return w->ready ? 0 : compat_win_errno(GetLastError());
}

int compat_win_ready_now(struct win_transport *w, HANDLE *out)
{
	SetEvent(w->ready);
	out[0] = w->ready;
	return 1;
}

/* transport.c's POSIX transport_wait() polls t->fd; here it waits on the
 * transport's event handles (see struct win_transport). */
int transport_wait(struct vrpc_transport *t, int want_write, int timeout_ms)
{
	struct win_transport *w = (struct win_transport *)t;
	short events = transport_poll_events(t, want_write);
	HANDLE h[WIN_MAX_HANDLES];
	DWORD rc;
	int n;

	if (!events) {
		/* Peer absent: nothing to wait on, look again a little later. */
		if (timeout_ms < 0 || timeout_ms > VRPC_TRANSPORT_RETRY_MS)
			timeout_ms = VRPC_TRANSPORT_RETRY_MS;
		Sleep((DWORD)timeout_ms);
		return 1;
	}
	n = w->handles(w, events, h);
	if (n <= 0)
		return n < 0 ? 1 : 0; /* an error: read() or write() reports it */
	rc = WaitForMultipleObjects((DWORD)n, h, FALSE,
				    timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
	if (rc == WAIT_TIMEOUT)
		return 0;
	if (rc >= WAIT_OBJECT_0 + (DWORD)n)
		return compat_win_errno(GetLastError());
	transport_poll_done(t);
	return 1;
}
#endif /* _WIN32 */
