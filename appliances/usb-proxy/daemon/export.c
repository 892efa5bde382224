/*
 * export.c - a device handed to the kernel's usbip-host and back.
 *
 * Out, as usbip's own tools do it: the busid added to usbip-host's
 * match_busid (so that only this device is taken), the device unbound from
 * its driver and bound to usbip-host, then one end of a socketpair written
 * to the device's usbip_sockfd: from then on the kernel sends and reads
 * USB/IP on it, and the daemon only moves bytes between the other end and
 * the guest. Back: usbip_sockfd -1 (the kernel lets go of the socket),
 * unbound from usbip-host, the busid deleted from match_busid, and the
 * device probed again so its own driver has it. The daemon closes its end
 * of the socket only after that (service.c): its close would start the
 * kernel's error path while the unbind runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vapp_util.h"
#include "usbd.h"

#define BUS "/sys/bus/usb"

bool usb_export_available(void)
{
	return access(BUS "/drivers/usbip-host/bind", W_OK) == 0;
}

int usb_export_start(const struct usb_dev *d, int *fd, char *why, size_t whylen)
{
	char path[256], line[64];
	int sv[2], err;

	if (!usb_busid_ok(d->busid))
		return -EINVAL;
	snprintf(line, sizeof(line), "add %s", d->busid);
	if ((err = vapp_write_text(BUS "/drivers/usbip-host/match_busid", line))) {
		snprintf(why, whylen, "usbip-host: match_busid: %s", strerror(-err));
		return err;
	}
	snprintf(path, sizeof(path), BUS "/devices/%s/driver/unbind", d->busid);
	if (access(path, F_OK) == 0 && (err = vapp_write_text(path, d->busid)) && err != -ENODEV) {
		snprintf(why, whylen, "unbinding %s from %s: %s", d->busid, d->driver, strerror(-err));
		goto undo;
	}
	if ((err = vapp_write_text(BUS "/drivers/usbip-host/bind", d->busid))) {
		snprintf(why, whylen, "binding %s to usbip-host: %s", d->busid, strerror(-err));
		goto undo;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		err = -errno;
		snprintf(why, whylen, "socketpair: %s", strerror(errno));
		goto undo;
	}
	snprintf(path, sizeof(path), BUS "/devices/%s/usbip_sockfd", d->busid);
	snprintf(line, sizeof(line), "%d", sv[1]);
	err = vapp_write_text(path, line);
	close(sv[1]); /* the kernel holds its own reference */
	if (err) {
		close(sv[0]);
		snprintf(why, whylen, "usbip_sockfd of %s: %s", d->busid, strerror(-err));
		goto undo;
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK)) {
		err = -errno;
		close(sv[0]);
		usb_export_stop(d->busid);
		return err;
	}
	*fd = sv[0];
	return 0;
undo:
	usb_export_stop(d->busid);
	return err;
}

/* usbip_status: 1 available, 2 used (a connection), 3 error. */
static int status_of(const char *busid)
{
	char path[256], buf[8] = "";
	int fd, n;

	snprintf(path, sizeof(path), BUS "/devices/%s/usbip_status", busid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

/* The way back is in three steps, so that service.c can wait between them
 * on its loop's timers rather than in a sleep that would stop every other
 * guest's calls: the kernel's own way down first, then (once its event
 * handler has shut the connection and reset the device, and a moment more)
 * the unbind. Unbinding while that handler runs crashes Debian 12's
 * usbip-host (an oops in usbip_core's event_handler, seen here when a
 * guest let go). */
void usb_export_release(const char *busid)
{
	char path[256];

	if (!usb_busid_ok(busid))
		return;
	snprintf(path, sizeof(path), BUS "/devices/%s/usbip_sockfd", busid);
	vapp_write_text(path, "-1"); /* fails when never given one, or the device is gone */
}

bool usb_export_busy(const char *busid)
{
	return usb_busid_ok(busid) && status_of(busid) == 2;
}

void usb_export_rebind(const char *busid)
{
	char line[64];

	if (!usb_busid_ok(busid))
		return;
	vapp_write_text(BUS "/drivers/usbip-host/unbind", busid);
	snprintf(line, sizeof(line), "del %s", busid);
	vapp_write_text(BUS "/drivers/usbip-host/match_busid", line);
	vapp_write_text(BUS "/drivers_probe", busid);
}

void usb_export_stop(const char *busid)
{
	usb_export_release(busid);
	for (int i = 0; i < USB_RETURN_WAIT_MS / USB_RETURN_POLL_MS && usb_export_busy(busid); i++)
		usleep(USB_RETURN_POLL_MS * 1000);
	usleep(USB_RETURN_SETTLE_MS * 1000);
	usb_export_rebind(busid);
}
