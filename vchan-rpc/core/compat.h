/*
 * compat.h - private: what differs between POSIX and Windows (mingw-w64)
 * for the client half of libvrpc, which also builds for Windows guests (a
 * VoIP UI plugin; see vchan-rpc/windows/rules.mk). Everything else in that
 * half is plain C11 and needs nothing from here.
 *
 * On Windows no transport has a pollable fd (t->fd is -1): a socket is a
 * SOCKET, a virtio-serial port a HANDLE. So each Windows transport embeds
 * struct win_transport and gives the event HANDLEs to wait on, which
 * transport_wait() (compat_win.c) and a GUI's MsgWaitForMultipleObjects()
 * (vrpc_client_handles()) wait on alike.
 */
#ifndef VRPC_COMPAT_H
#define VRPC_COMPAT_H

#ifdef _WIN32

/* winsock2.h before windows.h, or windows.h pulls in the old winsock.h. */
#include <winsock2.h> /* POLLIN, POLLOUT (WSAPoll's), SOCKET */
#include <windows.h>
#include <sys/types.h> /* ssize_t */

#include "transport.h"

#define WIN_MAX_HANDLES 2

struct win_transport {
	struct vrpc_transport t;
	/* Readies the transport for a wait on @p events (POLLIN, POLLOUT): a
	 * read put in flight, an event reset. Writes into @p out the events
	 * to wait on, any of which is set once one of @p events may be done;
	 * @p ready (a manual-reset event of the transport's, set here) when
	 * one may be done already. @return how many (1..WIN_MAX_HANDLES),
	 * or -errno. */
	int (*handles)(struct win_transport *w, short events, HANDLE *out);
	HANDLE ready;
};

/* The transport's ready event made (at open), set or cleared. */
int compat_win_ready_init(struct win_transport *w);
/* @return 1: @p w's ready event, set, in @p out. */
int compat_win_ready_now(struct win_transport *w, HANDLE *out);

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
