/*
 * vhci.c - vhci-hcd through sysfs (vhci.h). The status file lists every
 * port: "hub port sta spd dev sockfd local_busid", hub "hs" or "ss", sta 4
 * (VDEV_ST_NULL) for a free one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vapp_util.h"
#include "vhci.h"

#define VHCI "/sys/devices/platform/vhci_hcd.0"
#define VDEV_ST_NULL 4

static int free_port(int speed)
{
	const char *want = speed >= 5 ? "ss" : "hs";
	FILE *f = fopen(VHCI "/status", "re");
	char line[256], hub[8];
	unsigned port, sta;
	int found = -EBUSY;

	if (!f)
		return -errno;
	while (found < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%7s %u %u", hub, &port, &sta) == 3 && !strcmp(hub, want) &&
		    sta == VDEV_ST_NULL)
			found = (int)port;
	fclose(f);
	return found;
}

int vhci_attach(int sockfd, uint32_t devid, int speed)
{
	char line[64];
	int port, err, tries = 0;

	do { /* another attach may take the port first: try the next */
		if ((port = free_port(speed)) < 0)
			return port;
		snprintf(line, sizeof(line), "%d %d %u %d", port, sockfd, devid, speed);
		err = vapp_write_text(VHCI "/attach", line);
	} while (err == -EINVAL && ++tries < 4);
	return err ? err : port;
}

int vhci_detach(int port)
{
	char line[16];

	snprintf(line, sizeof(line), "%d", port);
	return vapp_write_text(VHCI "/detach", line);
}
