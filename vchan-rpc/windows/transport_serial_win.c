/*
 * transport_serial_win.c - "serial:NAME" in a Windows guest: the
 * virtio-serial port NAME, which the vioserial driver exposes as the file
 * \\.\Global\NAME. (The POSIX serial transport is another file.) A NAME
 * that is already a device path (starts with \\.\, say a named pipe
 * \\.\pipe\X for tests) is opened as it is. Empty on POSIX.
 *
 * The handle is opened for overlapped I/O, so that read() and write() never
 * block, as the engine expects: one read is kept in flight into rbuf and
 * its bytes handed out when it completes; a write copies the caller's bytes
 * into wbuf, starts the write, and says they are written; the next write
 * waits (-EAGAIN) until that one completes. A wait is on the two
 * OVERLAPPED events (serial_win_handles()).
 */
#ifdef _WIN32
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"

#define SERIAL_BUF 16384
#define SERIAL_PREFIX "\\\\.\\Global\\"
#define SERIAL_PATH_MAX 260 /* MAX_PATH */

struct serial_win {
	struct win_transport w;
	HANDLE h;
	OVERLAPPED rov, wov;  /* each with its own manual-reset event */
	bool rpending, wpending;
	DWORD rpos, rlen;     /* rbuf[rpos, rlen): read, not yet handed out */
	DWORD wlen;           /* bytes of wbuf the write in flight carries */
	int err;              /* a failed write, reported by the next call */
	uint8_t rbuf[SERIAL_BUF];
	uint8_t wbuf[SERIAL_BUF];
};

/* Starts a read into rbuf if none is in flight. @return 0 or -errno. */
static int serial_start_read(struct serial_win *sw)
{
	if (sw->rpending || sw->rpos < sw->rlen)
		return 0;
	/* Completed at once or pending: either way the result comes from
	 * GetOverlappedResult(), and the event is set when it is there. */
	if (!ReadFile(sw->h, sw->rbuf, sizeof(sw->rbuf), NULL, &sw->rov) &&
	    GetLastError() != ERROR_IO_PENDING)
		return compat_win_errno(GetLastError());
	sw->rpending = true;
	return 0;
}

/* Collects the read in flight if it is done. @return 0 (done, or still in
 * flight: rpending says which), or -errno. */
static int serial_reap_read(struct serial_win *sw)
{
	DWORD n;

	if (!sw->rpending)
		return 0;
	if (!GetOverlappedResult(sw->h, &sw->rov, &n, FALSE)) {
		DWORD e = GetLastError();

		if (e == ERROR_IO_INCOMPLETE)
			return 0;
		sw->rpending = false;
		return compat_win_errno(e);
	}
	sw->rpending = false;
	/* The count is the kernel's word, but check it against our buffer. */
	if (n > sizeof(sw->rbuf))
		return -EIO;
	sw->rpos = 0;
	sw->rlen = n;
	return 0;
}

static ssize_t serial_win_read(struct vrpc_transport *t, void *buf, size_t len)
{
	struct serial_win *sw = (struct serial_win *)t;
	size_t n;
	int err = serial_reap_read(sw);

	if (err)
		return err == -EPIPE ? 0 : err; /* the other end closed */
	if (sw->rpos == sw->rlen) {
		err = serial_start_read(sw);
		if (err)
			return err == -EPIPE ? 0 : err;
		err = serial_reap_read(sw);
		if (err)
			return err == -EPIPE ? 0 : err;
		if (sw->rpos == sw->rlen)
			return -EAGAIN;
	}
	n = sw->rlen - sw->rpos;
	if (n > len)
		n = len;
	memcpy(buf, sw->rbuf + sw->rpos, n);
	sw->rpos += (DWORD)n;
	return (ssize_t)n;
}

/* Collects the write in flight if it is done; resubmits a short one.
 * @return 0 (wpending says whether one is still in flight) or -errno. */
static int serial_reap_write(struct serial_win *sw)
{
	DWORD n;

	if (!sw->wpending)
		return 0;
	if (!GetOverlappedResult(sw->h, &sw->wov, &n, FALSE)) {
		DWORD e = GetLastError();

		if (e == ERROR_IO_INCOMPLETE)
			return 0;
		sw->wpending = false;
		return compat_win_errno(e);
	}
	sw->wpending = false;
	if (n >= sw->wlen)
		return 0;
	memmove(sw->wbuf, sw->wbuf + n, sw->wlen - n);
	sw->wlen -= n;
	if (!WriteFile(sw->h, sw->wbuf, sw->wlen, NULL, &sw->wov) &&
	    GetLastError() != ERROR_IO_PENDING)
		return compat_win_errno(GetLastError());
	sw->wpending = true;
	return 0;
}

static ssize_t serial_win_write(struct vrpc_transport *t, const void *buf, size_t len)
{
	struct serial_win *sw = (struct serial_win *)t;
	int err = sw->err ? sw->err : serial_reap_write(sw);

	if (err) {
		sw->err = err;
		return err;
	}
	if (sw->wpending)
		return -EAGAIN;
	if (len > sizeof(sw->wbuf))
		len = sizeof(sw->wbuf);
	memcpy(sw->wbuf, buf, len);
	sw->wlen = (DWORD)len;
	if (!WriteFile(sw->h, sw->wbuf, sw->wlen, NULL, &sw->wov) &&
	    GetLastError() != ERROR_IO_PENDING)
		return compat_win_errno(GetLastError());
	sw->wpending = true;
	return (ssize_t)len;
}

static int serial_win_handles(struct win_transport *w, short events, HANDLE *out)
{
	struct serial_win *sw = (struct serial_win *)w;
	int n = 0;

	if (events & POLLIN) {
		if (sw->rpos < sw->rlen || serial_start_read(sw))
			return compat_win_ready_now(w, out); /* read() has it */
		out[n++] = sw->rov.hEvent;
	}
	if (events & POLLOUT) {
		if (!sw->wpending)
			return compat_win_ready_now(w, out);
		out[n++] = sw->wov.hEvent;
	}
	ResetEvent(w->ready);
	return n ? n : compat_win_ready_now(w, out);
}

static void serial_win_close(struct vrpc_transport *t)
{
	struct serial_win *sw = (struct serial_win *)t;
	DWORD n;

	if (!sw)
		return;
	if (sw->h != INVALID_HANDLE_VALUE) {
		/* The kernel owns rbuf and wbuf until the I/O in flight ends:
		 * cancel it and wait for that before freeing them. */
		CancelIoEx(sw->h, NULL);
		if (sw->rpending)
			GetOverlappedResult(sw->h, &sw->rov, &n, TRUE);
		if (sw->wpending)
			GetOverlappedResult(sw->h, &sw->wov, &n, TRUE);
		CloseHandle(sw->h);
	}
	if (sw->rov.hEvent)
		CloseHandle(sw->rov.hEvent);
	if (sw->wov.hEvent)
		CloseHandle(sw->wov.hEvent);
	if (sw->w.ready)
		CloseHandle(sw->w.ready);
	free(sw);
}

/* A port that the system drives as a COM port (a character device: a real
 * or emulated UART, or wine's mapping of a pty) ends a read only when the
 * whole buffer is full, unless told otherwise. A read interval of 1 ms and
 * no total timeout: a read waits as long as it takes for the first byte,
 * then ends when the line has been quiet for 1 ms, as a virtio-serial port
 * and a pipe return what has come. (MAXDWORD/MAXDWORD/constant, "return at
 * once when a byte is there", is the documented way, but wine takes the
 * MAXDWORD as a 49-day interval and the read never ends.) Not a COM port
 * (vioser, a pipe): SetCommTimeouts fails, and nothing changes. */
static void serial_no_wait_for_full_reads(HANDLE h)
{
	COMMTIMEOUTS t = { .ReadIntervalTimeout = 1 };

	if (GetFileType(h) == FILE_TYPE_CHAR)
		SetCommTimeouts(h, &t);
}

/* "NAME" -> "\\.\Global\NAME"; a "\\.\..." path stays as it is. */
static int serial_path(const char *rest, char *path, size_t len)
{
	size_t n = strlen(rest);

	if (!strncmp(rest, "\\\\.\\", 4)) {
		if (n < 5 || n >= len)
			return -EINVAL;
		memcpy(path, rest, n + 1);
		return 0;
	}
	if (n == 0 || n + strlen(SERIAL_PREFIX) >= len)
		return -EINVAL;
	/* A port name, not a path: no separators, no control characters. */
	for (size_t i = 0; i < n; i++)
		if (rest[i] == '\\' || rest[i] == '/' || rest[i] == ':' ||
		    (unsigned char)rest[i] < 0x20)
			return -EINVAL;
	memcpy(path, SERIAL_PREFIX, strlen(SERIAL_PREFIX));
	memcpy(path + strlen(SERIAL_PREFIX), rest, n + 1);
	return 0;
}

static int serial_win_open(const char *rest, struct vrpc_transport **out)
{
	char path[SERIAL_PATH_MAX];
	struct serial_win *sw;
	int err = serial_path(rest, path, sizeof(path));

	if (err)
		return err;
	sw = calloc(1, sizeof(*sw));
	if (!sw)
		return -ENOMEM;
	sw->w.t.ops = &vrpc_transport_serial;
	sw->w.t.fd = -1;
	sw->w.handles = serial_win_handles;
	sw->h = INVALID_HANDLE_VALUE;
	sw->rov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
	sw->wov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
	if (!sw->rov.hEvent || !sw->wov.hEvent || compat_win_ready_init(&sw->w)) {
		err = compat_win_errno(GetLastError());
		goto err_sw;
	}
	sw->h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
			    FILE_FLAG_OVERLAPPED, NULL);
	if (sw->h == INVALID_HANDLE_VALUE) {
		err = compat_win_errno(GetLastError());
		goto err_sw;
	}
	serial_no_wait_for_full_reads(sw->h);
	/* The channel's configured name is all a guest knows of its peer. */
	sw->w.t.peer.kind = VRPC_PEER_LABEL;
	snprintf(sw->w.t.peer.label, sizeof(sw->w.t.peer.label), "%.63s", rest);
	*out = &sw->w.t;
	return 0;
err_sw:
	serial_win_close(&sw->w.t);
	return err;
}

static int serial_win_connect(const char *rest, int timeout_ms, struct vrpc_transport **out)
{
	return serial_win_open(rest, out);
}

const struct vrpc_transport_ops vrpc_transport_serial = {
	.scheme = "serial",
	.connect = serial_win_connect,
	.attach = serial_win_open,
	.read = serial_win_read,
	.write = serial_win_write,
	.close = serial_win_close,
};
#endif /* _WIN32 */
