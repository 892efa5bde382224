/*
 * devices.c - the devices on the appliance's buses, from sysfs
 * (/sys/bus/usb/devices/BUSID/: idVendor, idProduct, bDeviceClass, busnum,
 * devnum, speed, manufacturer, product, serial, and an entry BUSID:C.I per
 * interface with its bInterfaceClass).
 *
 * The numbers are the kernel's; the strings are the device's own, read
 * from its descriptors, and a hostile device chooses them: each is cut to
 * USB_STRING_MAX - 1 bytes and anything but printable ASCII becomes '?',
 * so no control character, escape sequence or invalid UTF-8 reaches a log,
 * a terminal or a protobuf string.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "usbip_line.h"
#include "usbd.h"

bool usb_busid_ok(const char *s)
{
	size_t n = strlen(s);
	bool digit = false;

	if (n == 0 || n >= USB_BUSID_MAX || s[0] < '1' || s[0] > '9')
		return false;
	while (*s >= '0' && *s <= '9')
		s++;
	if (*s++ != '-')
		return false;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digit = true;
		else if (*s == '.' && digit)
			digit = false;
		else
			return false;
	}
	return digit;
}

/* The first line of DIR/NAME, without its newline. @return 0 or -1. */
static int read_attr(const char *dir, const char *name, char *out, size_t len)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	n = read(fd, out, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static int read_hex(const char *dir, const char *name, unsigned long max, unsigned long *v)
{
	char buf[32], *end;

	if (read_attr(dir, name, buf, sizeof(buf)) || !buf[0])
		return -1;
	*v = strtoul(buf, &end, 16);
	return *end || *v > max ? -1 : 0;
}

static int read_dec(const char *dir, const char *name, unsigned long max, unsigned long *v)
{
	char buf[32], *end;

	if (read_attr(dir, name, buf, sizeof(buf)) || !buf[0])
		return -1;
	*v = strtoul(buf, &end, 10);
	return *end || *v > max ? -1 : 0;
}

/* A device's string, made harmless (empty when it has none). */
static void read_string(const char *dir, const char *name, char *out)
{
	if (read_attr(dir, name, out, USB_STRING_MAX)) {
		out[0] = '\0';
		return;
	}
	for (char *p = out; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
}

static void read_driver(const char *dir, char *out, size_t len)
{
	char path[600], target[256];
	const char *name;
	ssize_t n;

	out[0] = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%s/driver", dir) >= sizeof(path))
		return;
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	name = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (strlen(name) < len)
		memcpy(out, name, strlen(name) + 1);
}

/* The interfaces: entries BUSID:C.I of the same folder. */
static void read_interfaces(const char *root, struct usb_dev *d)
{
	size_t bl = strlen(d->busid);
	struct dirent *e;
	DIR *dir = opendir(root);

	d->n_if = 0;
	while (dir && (e = readdir(dir)) && d->n_if < USB_MAX_INTERFACES) {
		char path[512];
		unsigned long cls;

		if (strncmp(e->d_name, d->busid, bl) || e->d_name[bl] != ':')
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, e->d_name);
		if (!read_hex(path, "bInterfaceClass", 0xff, &cls))
			d->if_classes[d->n_if++] = (uint8_t)cls;
	}
	if (dir)
		closedir(dir);
}

static int read_device(const char *root, const char *busid, struct usb_dev *d)
{
	char dir[512], speed[16];
	unsigned long vid, pid, cls, bus, dev;

	memset(d, 0, sizeof(*d));
	snprintf(d->busid, sizeof(d->busid), "%s", busid);
	snprintf(dir, sizeof(dir), "%s/%s", root, busid);
	if (read_hex(dir, "idVendor", 0xffff, &vid) || read_hex(dir, "idProduct", 0xffff, &pid) ||
	    read_hex(dir, "bDeviceClass", 0xff, &cls) || read_dec(dir, "busnum", 255, &bus) ||
	    read_dec(dir, "devnum", 127, &dev))
		return -1;
	d->vendor = (uint16_t)vid;
	d->product = (uint16_t)pid;
	d->dev_class = (uint8_t)cls;
	d->busnum = (uint32_t)bus;
	d->devnum = (uint32_t)dev;
	d->speed = read_attr(dir, "speed", speed, sizeof(speed)) ? 0 : usbip_speed_of(speed);
	read_string(dir, "manufacturer", d->manufacturer);
	read_string(dir, "product", d->product_name);
	read_string(dir, "serial", d->serial);
	read_driver(dir, d->driver, sizeof(d->driver));
	read_interfaces(root, d);
	return 0;
}

static int by_busid(const void *a, const void *b)
{
	return strcmp(((const struct usb_dev *)a)->busid, ((const struct usb_dev *)b)->busid);
}

int usb_scan(const char *root, struct usb_dev *out, int max)
{
	DIR *dir = opendir(root);
	struct dirent *e;
	int n = 0;

	if (!dir)
		return -errno;
	while ((e = readdir(dir)) && n < max)
		if (usb_busid_ok(e->d_name) && !read_device(root, e->d_name, &out[n]))
			n++;
	closedir(dir);
	qsort(out, (size_t)n, sizeof(*out), by_busid);
	return n;
}

bool usb_has_class(const struct usb_dev *d, uint8_t cls)
{
	if (d->dev_class == cls)
		return true;
	for (int i = 0; i < d->n_if; i++)
		if (d->if_classes[i] == cls)
			return true;
	return false;
}
