/*
 * xen_disk.c - an appliance's state volume under Xen: a loop device vappd
 * attaches to the volume (RUN_DIR/state.img) and holds for as long as the
 * appliance is vappd's, given to each of its domains as disk xvda.
 *
 * dom0's hotplug script is not used (xl.cfg says script=/bin/true): the
 * loop device is made here, and once xl has made the domain (paused)
 * vappd writes blkback's physical-device itself, before the domain runs.
 * Debian's /etc/xen/scripts/block needs bash, flock and a full userland,
 * and did not finish within libxl's time in a BusyBox dom0 (measured in
 * the test dom0); vappd needs no script, and the device's life is its own:
 * the loop device is made with LO_FLAGS_AUTOCLEAR, so it goes when vappd
 * and blkback have let go of it, even when vappd dies.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <xenstore.h>

#include "appliance.h"

/* xl.cfg's vdev=xvda as Xen numbers it: (202 << 8) | disk 0. */
#define XVDA_DEVID 51712
#define LOOP_TRIES 8

static int attach(int file_fd, const char *img, char *dev, size_t len)
{
	struct loop_config cfg = { .fd = (unsigned)file_fd };
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC), n, fd = -1, tries;

	if (ctl < 0)
		return -errno;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", img);
	/* Another program may take the free device first: ask again. */
	for (tries = 0; tries < LOOP_TRIES; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			break;
		snprintf(dev, len, "/dev/loop%d", n);
		fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			break;
		if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0)
			break;
		close(fd);
		fd = -1;
		if (errno != EBUSY)
			break;
	}
	n = fd >= 0 ? fd : -errno;
	close(ctl);
	return n;
}

int vappd_xen_disk_attach(const char *img, char *dev, size_t len, char *err, size_t errlen)
{
	int file_fd = open(img, O_RDWR | O_CLOEXEC), fd;

	if (file_fd < 0) {
		snprintf(err, errlen, "state volume %s: %s", img, strerror(errno));
		return -errno;
	}
	fd = attach(file_fd, img, dev, len);
	close(file_fd);
	if (fd < 0)
		snprintf(err, errlen, "state volume %s: no loop device: %s%s", img, strerror(-fd),
			 fd == -ENOENT ? " (dom0's loop module not loaded?)" : "");
	return fd;
}

int vappd_xen_disk_connect(struct xs_handle *xs, uint32_t domid, int loop_fd, const char *dev,
			   char *err, size_t errlen)
{
	char dir[96], key[128], value[32], *params;
	unsigned int len;
	struct stat st;
	bool ours;

	snprintf(dir, sizeof(dir), "/local/domain/0/backend/vbd/%u/%u", domid, XVDA_DEVID);
	snprintf(key, sizeof(key), "%s/params", dir);
	/* The backend libxl made for this domain's xvda, for our device. */
	params = xs_read(xs, XBT_NULL, key, &len);
	ours = params && strcmp(params, dev) == 0;
	free(params);
	if (!ours) {
		snprintf(err, errlen, "state volume: %s is not %s's backend", dir, dev);
		return -ENOENT;
	}
	if (fstat(loop_fd, &st) < 0 || !S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "state volume: %s is not a block device", dev);
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "%s/physical-device", dir);
	snprintf(value, sizeof(value), "%x:%x", major(st.st_rdev), minor(st.st_rdev));
	if (!xs_write(xs, XBT_NULL, key, value, (unsigned)strlen(value))) {
		snprintf(err, errlen, "xenstore %s: %s", key, strerror(errno));
		return -errno;
	}
	snprintf(key, sizeof(key), "%s/physical-device-path", dir);
	xs_write(xs, XBT_NULL, key, dev, (unsigned)strlen(dev));
	return 0;
}
