/*
 * chan.c - "chan:NAME", an appliance's channel NAME whichever hypervisor
 * runs it, for vrpc_server_attach() inside the appliance:
 *
 *   - under QEMU/KVM the channel is the virtio-serial port NAME, which
 *     vapp-init waits for before the daemon starts:
 *     serial:/dev/virtio-ports/NAME, attached;
 *   - under Xen (/sys/hypervisor/type says "xen") the appliance serves it
 *     as a vchan granted to dom0 at its own xenstore directory
 *     data/vapp/NAME' (NAME' is NAME with '.' written '@': xenstore takes
 *     no '.', a port name takes no '@'), listened on, so that each of
 *     vappd's connections gets a fresh vchan (transport_xen.c).
 *
 * vrpc_chan_xen_path() gives dom0 the same directory, absolute.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vrpc.h"
#include "chan.h"
#include "transport.h"

#define CHAN_XEN_DIR "data/vapp/"

static bool chan_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n && n <= 63 && name[0] != '.' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* data/vapp/NAME' into @p out. A name is refused when dom0's absolute
 * path to it, with the largest domid, would not fit: the same names work
 * in every domain. @return 0, -EINVAL, -ENAMETOOLONG. */
static int xen_rel(const char *name, char *out, size_t len)
{
	size_t n = strlen(CHAN_XEN_DIR);

	if (!chan_name_ok(name))
		return -EINVAL;
	if (n + strlen(name) + 1 > len ||
	    strlen("/local/domain/32767/") + n + strlen(name) > XEN_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(out, CHAN_XEN_DIR, n);
	for (const char *p = name; *p; p++)
		out[n++] = *p == '.' ? '@' : *p;
	out[n] = '\0';
	return 0;
}

int vrpc_chan_xen_path(const char *name, uint32_t domid, char *buf, size_t len)
{
	char rel[80];
	int n, err = xen_rel(name, rel, sizeof(rel));

	if (err)
		return err;
	n = snprintf(buf, len, "/local/domain/%u/%s", domid, rel);
	if (n < 0 || (size_t)n >= len || n > XEN_PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static bool on_xen(const char *type_file)
{
	char t[8] = "";
	int fd = open(type_file, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, t, sizeof(t) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n >= 3 && !strncmp(t, "xen", 3);
}

int vrpc_chan_resolve_in(const char *name, const char *ports_dir, const char *hv_type_file,
		    char *addr, size_t len, bool *listen)
{
	char path[256], rel[80];
	int err;

	if (!chan_name_ok(name))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s", ports_dir, name);
	if (access(path, F_OK) == 0) {
		*listen = false;
		return snprintf(addr, len, "serial:%s", path) < (int)len ? 0 : -ENAMETOOLONG;
	}
	if (!on_xen(hv_type_file))
		return -ENOENT;
	err = xen_rel(name, rel, sizeof(rel));
	if (err)
		return err;
	*listen = true;
	return snprintf(addr, len, "xen:0:%s", rel) < (int)len ? 0 : -ENAMETOOLONG;
}

int vrpc_chan_resolve(const char *name, char *addr, size_t len, bool *listen)
{
	return vrpc_chan_resolve_in(name, "/dev/virtio-ports", "/sys/hypervisor/type", addr, len,
			       listen);
}
