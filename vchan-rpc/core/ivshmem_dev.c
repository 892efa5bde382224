/*
 * ivshmem_dev.c - an ivshmem-doorbell device opened through VFIO's no-IOMMU
 * mode, from inside a VM (ivshmem_dev.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ivshmem_dev.h"

#define REG_IVPOSITION 8
#define REG_DOORBELL 12
#define CFG_COMMAND 4
#define CMD_MEMORY 0x2
#define CMD_MASTER 0x4 /* QEMU sends no MSI-X message without it */

static int fail(const struct ivshmem_dev *d, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(const struct ivshmem_dev *d, int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vrpc ivshmem: %s: ", d->addr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return err;
}

/* DDDD:BB:SS.F in hex, nothing else: it becomes part of sysfs paths. */
static int valid_addr(const char *a)
{
	static const char shape[] = "xxxx:xx:xx.x";

	if (strlen(a) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'x' ? !isxdigit((unsigned char)a[i]) : a[i] != shape[i])
			return 0;
	return 1;
}

static int read_sysfs(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int write_sysfs(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* The name of the link @p dir/@p name points at (a driver, a group), or "". */
static void link_base(const char *dir, const char *name, char *out, size_t len)
{
	char path[128], target[256];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	n = readlink(path, target, sizeof(target) - 1);
	out[0] = '\0';
	if (n <= 0)
		return;
	target[n] = '\0';
	snprintf(out, len, "%s", basename(target));
}

/* The device is an ivshmem-doorbell and bound to vfio-pci (bound here if
 * it was not). Writes its IOMMU group's number into @p group. */
static int bind_vfio(struct ivshmem_dev *d, char *group, size_t glen)
{
	char dir[64], path[128], val[32];
	int e;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", d->addr);
	snprintf(path, sizeof(path), "%s/vendor", dir);
	if (read_sysfs(path, val, sizeof(val)))
		return fail(d, -ENODEV, "no such PCI device");
	if (strtoul(val, NULL, 16) != IVSHMEM_VENDOR)
		return fail(d, -ENODEV, "not an ivshmem device (vendor %s)", val);
	snprintf(path, sizeof(path), "%s/device", dir);
	if (read_sysfs(path, val, sizeof(val)) || strtoul(val, NULL, 16) != IVSHMEM_DEVICE)
		return fail(d, -ENODEV, "not an ivshmem device (device %s)", val);
	link_base(dir, "driver", val, sizeof(val));
	if (strcmp(val, "vfio-pci")) {
		if (access("/sys/bus/pci/drivers/vfio-pci", F_OK))
			return fail(d, -ENOENT, "vfio-pci is not loaded (modprobe vfio-pci)");
		e = write_sysfs("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "1");
		if (e)
			return fail(d, e, "cannot switch on VFIO's no-IOMMU mode: %s "
				    "(a kernel without CONFIG_VFIO_NOIOMMU?)", strerror(-e));
		snprintf(path, sizeof(path), "%s/driver_override", dir);
		e = write_sysfs(path, "vfio-pci");
		if (!e && val[0]) {
			snprintf(path, sizeof(path), "%s/driver/unbind", dir);
			e = write_sysfs(path, d->addr);
		}
		if (!e)
			e = write_sysfs("/sys/bus/pci/drivers_probe", d->addr);
		if (e)
			return fail(d, e, "cannot bind it to vfio-pci: %s", strerror(-e));
	}
	link_base(dir, "iommu_group", group, glen);
	if (!group[0])
		return fail(d, -ENOENT, "bound to vfio-pci but in no IOMMU group");
	return 0;
}

static int open_group(struct ivshmem_dev *d, const char *group)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];
	int e;

	d->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (d->container < 0)
		return fail(d, -errno, "/dev/vfio/vfio: %s", strerror(errno));
	if (ioctl(d->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(d->container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) <= 0)
		return fail(d, -ENOTSUP, "VFIO has no no-IOMMU mode here");
	snprintf(path, sizeof(path), "/dev/vfio/noiommu-%s", group);
	d->group = open(path, O_RDWR | O_CLOEXEC);
	if (d->group < 0)
		return fail(d, -errno, "%s: %s", path, strerror(errno));
	if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &st) < 0 ||
	    !(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return fail(d, -EBUSY, "its VFIO group is not usable");
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container) < 0 ||
	    ioctl(d->container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU) < 0) {
		e = -errno;
		return fail(d, e, "VFIO set-up: %s", strerror(-e));
	}
	d->device = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, d->addr);
	if (d->device < 0)
		return fail(d, -errno, "VFIO device: %s", strerror(errno));
	return 0;
}

static int region(struct ivshmem_dev *d, unsigned index, struct vfio_region_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->argsz = sizeof(*ri);
	ri->index = index;
	if (ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, ri) < 0)
		return -errno;
	return 0;
}

static int map_bars(struct ivshmem_dev *d)
{
	struct vfio_region_info ri;
	uint32_t pos;
	uint16_t cmd;
	void *p;

	if (region(d, VFIO_PCI_BAR0_REGION_INDEX, &ri) || ri.size < 16)
		return fail(d, -ENODEV, "no register BAR");
	d->regs_off = (off_t)ri.offset;
	/* A BAR smaller than a page can be mapped only when nothing else
	 * shares its page; else each doorbell is a pwrite. */
	if (ri.flags & VFIO_REGION_INFO_FLAG_MMAP) {
		p = mmap(NULL, (size_t)ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, d->device,
			 (off_t)ri.offset);
		if (p != MAP_FAILED)
			d->regs = p;
	}
	if (pread(d->device, &pos, sizeof(pos), d->regs_off + REG_IVPOSITION) != sizeof(pos))
		return fail(d, -EIO, "cannot read its peer number");
	d->id = pos;
	if (region(d, VFIO_PCI_BAR2_REGION_INDEX, &ri) || ri.size < 4096 ||
	    !(ri.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return fail(d, -ENODEV, "no shared-memory BAR (is the server connected?)");
	p = mmap(NULL, (size_t)ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, d->device,
		 (off_t)ri.offset);
	if (p == MAP_FAILED)
		return fail(d, -errno, "mapping its memory: %s", strerror(errno));
	d->mem = p;
	d->len = (size_t)ri.size;
	/* Memory decoding and bus mastering: QEMU delivers an MSI-X message
	 * only from a device that may master the bus. */
	if (region(d, VFIO_PCI_CONFIG_REGION_INDEX, &ri) ||
	    pread(d->device, &cmd, sizeof(cmd), (off_t)ri.offset + CFG_COMMAND) != sizeof(cmd))
		return fail(d, -EIO, "cannot read its command register");
	cmd |= CMD_MEMORY | CMD_MASTER;
	if (pwrite(d->device, &cmd, sizeof(cmd), (off_t)ri.offset + CFG_COMMAND) != sizeof(cmd))
		return fail(d, -EIO, "cannot enable it");
	return 0;
}

static int route_vectors(struct ivshmem_dev *d)
{
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX };
	union {
		struct vfio_irq_set s;
		char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t) * IVSHMEM_NVEC];
	} set;
	int32_t fds[IVSHMEM_NVEC];

	if (ioctl(d->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0 || ii.count < IVSHMEM_NVEC)
		return fail(d, -ENODEV, "fewer than %d MSI-X vectors (QEMU's vectors=)",
			    IVSHMEM_NVEC);
	for (int v = 0; v < IVSHMEM_NVEC; v++) {
		d->efd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->efd[v] < 0)
			return -errno;
		fds[v] = d->efd[v];
	}
	memset(&set, 0, sizeof(set));
	set.s.argsz = sizeof(set);
	set.s.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set.s.index = VFIO_PCI_MSIX_IRQ_INDEX;
	set.s.start = 0;
	set.s.count = IVSHMEM_NVEC;
	memcpy(set.s.data, fds, sizeof(fds));
	if (ioctl(d->device, VFIO_DEVICE_SET_IRQS, &set) < 0)
		return fail(d, -errno, "routing its MSI-X vectors: %s", strerror(errno));
	return 0;
}

int vrpc_ivshmem_dev_open(struct ivshmem_dev *d, const char *addr)
{
	char group[16];
	int e;

	memset(d, 0, sizeof(*d));
	d->container = d->group = d->device = -1;
	for (int v = 0; v < IVSHMEM_NVEC; v++)
		d->efd[v] = -1;
	snprintf(d->addr, sizeof(d->addr), "%s", addr);
	if (!valid_addr(addr))
		return fail(d, -EINVAL, "not a PCI address (DDDD:BB:SS.F)");
	e = bind_vfio(d, group, sizeof(group));
	if (!e)
		e = open_group(d, group);
	if (!e)
		e = map_bars(d);
	if (!e)
		e = route_vectors(d);
	if (e)
		vrpc_ivshmem_dev_close(d);
	return e;
}

void vrpc_ivshmem_dev_ring(struct ivshmem_dev *d, uint32_t peer, unsigned vector)
{
	uint32_t v = peer << 16 | vector;

	if (d->regs) {
		d->regs[REG_DOORBELL / 4] = v;
		return;
	}
	/* A failed doorbell loses one wake-up: the peer also looks at the
	 * ring when it next wakes for anything else. */
	if (pwrite(d->device, &v, sizeof(v), d->regs_off + REG_DOORBELL) != sizeof(v))
		return;
}

void vrpc_ivshmem_dev_close(struct ivshmem_dev *d)
{
	if (d->mem)
		munmap(d->mem, d->len);
	if (d->regs)
		munmap((void *)d->regs, 256);
	if (d->device >= 0) {
		/* Vectors back to nothing before their eventfds go. */
		struct vfio_irq_set off = {
			.argsz = sizeof(off),
			.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = VFIO_PCI_MSIX_IRQ_INDEX,
		};

		ioctl(d->device, VFIO_DEVICE_SET_IRQS, &off);
		close(d->device);
	}
	for (int v = 0; v < IVSHMEM_NVEC; v++)
		if (d->efd[v] >= 0)
			close(d->efd[v]);
	if (d->group >= 0)
		close(d->group);
	if (d->container >= 0)
		close(d->container);
	memset(d, 0, sizeof(*d));
	d->container = d->group = d->device = -1;
	for (int v = 0; v < IVSHMEM_NVEC; v++)
		d->efd[v] = -1;
}
