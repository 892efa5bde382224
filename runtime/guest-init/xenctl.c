/*
 * xenctl.c - vapp.ctl under Xen: the same lines as the virtio-serial port,
 * carried by xenstore keys in the appliance's own domain directory, spoken
 * to /dev/xen/xenbus directly (xenstore's wire protocol, docs/misc/xenstore.txt
 * in Xen: a 16-byte header, then the payload), so PID 1 stays static with
 * no Xen library.
 *
 *   vapp/in/N   host -> appliance, N = 0, 1, ...: each a piece of the byte
 *               stream the port would carry; vappd writes them (before the
 *               domain runs, and poweroff later), vapp-init reads each in
 *               order and removes it
 *   vapp/out/N  appliance -> host: each one or more whole lines
 *
 * A watch on vapp/in tells of new pieces (and fires once when set, for
 * those written before). The directory is vappd's, made by it and readable
 * by this domain and dom0 only.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

/* xenstore's wire protocol (xen/io/xs_wire.h): the types used here. */
enum { XS_READ = 2, XS_WATCH = 4, XS_WRITE = 11, XS_RM = 13, XS_WATCH_EVENT = 15,
       XS_ERROR = 16 };
#define XS_PAYLOAD_MAX 4096
#define XS_HDR 16
#define WATCH_TOKEN "vapp-in"

struct msg {
	uint32_t type, req_id, tx_id, len;
};

static struct {
	int fd;
	uint32_t req_id;
	uint32_t in_next, out_next;
	bool poked;  /* a watch event came: read vapp/in again */
	/* bytes read from the device not yet taken as messages */
	unsigned char buf[2 * (XS_HDR + XS_PAYLOAD_MAX)];
	size_t len;
} xs = { .fd = -1 };

/* One whole message out of the buffer, reading the device (waiting) as
 * needed. @return 0, or -errno (-EPROTO: a message no xenstored sends). */
static int xs_next(struct msg *m, char *payload)
{
	for (;;) {
		if (xs.len >= XS_HDR) {
			memcpy(m, xs.buf, XS_HDR);
			if (m->len > XS_PAYLOAD_MAX)
				return -EPROTO;
			if (xs.len >= XS_HDR + m->len) {
				memcpy(payload, xs.buf + XS_HDR, m->len);
				payload[m->len] = 0;
				xs.len -= XS_HDR + m->len;
				memmove(xs.buf, xs.buf + XS_HDR + m->len, xs.len);
				return 0;
			}
		}
		ssize_t n = read(xs.fd, xs.buf + xs.len, sizeof(xs.buf) - xs.len);
		struct pollfd p = { .fd = xs.fd, .events = POLLIN };

		if (n < 0 && errno == EAGAIN) {
			/* A reply is owed: xenstored always answers. */
			poll(&p, 1, -1);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		xs.len += (size_t)n;
	}
}

/* A request and its answer; watch events met on the way are noted.
 * @return the answer's payload length, or -errno (xenstore's own error,
 * "ENOENT" and such, is mapped to its number where it matters). */
static int xs_call(uint32_t type, const char *a, size_t alen, const char *b, size_t blen,
		   char *reply)
{
	unsigned char out[XS_HDR + XS_PAYLOAD_MAX];
	struct msg m = { .type = type, .req_id = ++xs.req_id, .len = (uint32_t)(alen + blen) };
	int rc;

	if (alen + blen > XS_PAYLOAD_MAX)
		return -E2BIG;
	memcpy(out, &m, XS_HDR);
	memcpy(out + XS_HDR, a, alen);
	if (blen)
		memcpy(out + XS_HDR + alen, b, blen);
	if (write(xs.fd, out, XS_HDR + alen + blen) != (ssize_t)(XS_HDR + alen + blen))
		return -EIO;
	for (;;) {
		struct msg r;

		if ((rc = xs_next(&r, reply)) < 0)
			return rc;
		if (r.type == XS_WATCH_EVENT) {
			xs.poked = true;
			continue;
		}
		if (r.req_id != m.req_id)
			continue; /* not ours: nothing else is asked on this device */
		if (r.type == XS_ERROR)
			return !strcmp(reply, "ENOENT") ? -ENOENT : -EIO;
		return (int)r.len;
	}
}

/* A path and its NUL, as xenstore's requests take it. */
static size_t key(char *out, size_t len, const char *dir, uint32_t n)
{
	int k = snprintf(out, len, "vapp/%s/%u", dir, n);

	return k > 0 && (size_t)k < len ? (size_t)k + 1 : 0;
}

int xenctl_open(void)
{
	static const char w[] = "vapp/in\0" WATCH_TOKEN;
	char reply[XS_PAYLOAD_MAX + 1];
	int rc;

	/* Non-blocking: what a reply brings with it (a watch event read in
	 * the same read()) waits in xs.buf, and the caller comes for it
	 * without the device being readable. */
	xs.fd = open("/dev/xen/xenbus", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (xs.fd < 0)
		return -errno;
	if ((rc = xs_call(XS_WATCH, w, sizeof(w), NULL, 0, reply)) < 0) {
		close(xs.fd);
		xs.fd = -1;
		return rc;
	}
	xs.poked = true; /* what was written before the watch */
	return xs.fd;
}

/* Takes the watch events waiting (the device is readable), then the host's
 * new pieces in order into @p out (at most @p len bytes, which must hold
 * one whole piece). @return bytes, 0 when nothing new, or -errno. */
int xenctl_read(char *out, size_t len, bool device_readable)
{
	char k[32], reply[XS_PAYLOAD_MAX + 1];
	size_t used = 0, kl;
	int n;

	struct msg m;

	if (device_readable) {
		ssize_t r = read(xs.fd, xs.buf + xs.len, sizeof(xs.buf) - xs.len);

		if (r > 0)
			xs.len += (size_t)r;
	}
	/* Every whole message buffered is a watch event here (no request is
	 * under way); what is left is a part of one. */
	while (xs.len >= XS_HDR && (memcpy(&m, xs.buf, XS_HDR), m.len <= XS_PAYLOAD_MAX) &&
	       xs.len >= XS_HDR + m.len) {
		if (m.type == XS_WATCH_EVENT)
			xs.poked = true;
		xs.len -= XS_HDR + m.len;
		memmove(xs.buf, xs.buf + XS_HDR + m.len, xs.len);
	}
	if (!xs.poked)
		return 0;
	xs.poked = false;
	while (used + XS_PAYLOAD_MAX <= len) {
		if (!(kl = key(k, sizeof(k), "in", xs.in_next)))
			return -EINVAL;
		n = xs_call(XS_READ, k, kl, NULL, 0, reply);
		if (n == -ENOENT)
			break;
		if (n < 0)
			return n;
		memcpy(out + used, reply, (size_t)n);
		used += (size_t)n;
		xs.in_next++;
		xs_call(XS_RM, k, kl, NULL, 0, reply); /* its quota back */
	}
	if (used + XS_PAYLOAD_MAX > len)
		xs.poked = true; /* more may wait: the caller comes back */
	return (int)used;
}

bool xenctl_more(void)
{
	return xs.poked;
}

int xenctl_write(const char *buf, size_t len)
{
	char k[32], reply[XS_PAYLOAD_MAX + 1];
	size_t kl = key(k, sizeof(k), "out", xs.out_next);
	int n;

	if (!kl)
		return -EINVAL;
	n = xs_call(XS_WRITE, k, kl, buf, len, reply);
	if (n < 0)
		return n;
	xs.out_next++;
	return 0;
}
