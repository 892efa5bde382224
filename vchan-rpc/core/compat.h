/*
 * compat.h - private: what differs between POSIX and Windows (mingw-w64)
 * for the client half of libvrpc, which also builds for Windows guests (a
 * VoIP UI plugin; see vchan-rpc/windows/rules.mk). Everything else in that
 * half is plain C11 and needs nothing from here.
 *
 * On Windows no transport has a pollable fd (t->fd is -1): a socket is a
 * SOCKET, a virtio-serial port a HANDLE, and neither goes into one wait
 * call with the other. So each Windows transport embeds struct
 * win_transport and says how to wait for it; transport_wait() (compat_win.c)
 * calls that.
 */
#ifndef VRPC_COMPAT_H
#define VRPC_COMPAT_H

#ifdef _WIN32

/* winsock2.h before windows.h, or windows.h pulls in the old winsock.h. */
#include <winsock2.h> /* POLLIN, POLLOUT (WSAPoll's), SOCKET */
#include <windows.h>
#include <sys/types.h> /* ssize_t */

#include "transport.h"

struct win_transport {
	struct vrpc_transport t;
	/* Waits up to @p timeout_ms (-1: forever) for @p events (POLLIN,
	 * POLLOUT). @return > 0 ready, 0 timed out, -errno. */
	int (*wait)(struct win_transport *w, short events, int timeout_ms);
};

/* A Win32 or Winsock error code (GetLastError(), WSAGetLastError()) as a
 * negative errno value. */
int compat_win_errno(DWORD err);

/* WSAStartup()/WSACleanup(), counted by Winsock itself: every socket
 * transport calls the first before its first socket, the second when it is
 * closed. @return 0 or -errno. */
int compat_wsa_start(void);
void compat_wsa_stop(void);

#else /* POSIX */

#include <poll.h>
#include <sys/types.h>

#endif
#endif /* VRPC_COMPAT_H */
