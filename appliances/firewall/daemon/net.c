/*
 * net.c - forwarding between the appliance's two NICs, switched through
 * /proc/sys - only ever after the ruleset is in force (main.c). The NICs
 * themselves are found and addressed with libvapp-util's vapp_netif_*.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fw.h"
#include "vapp_util.h"

static int write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		err = -errno;
	close(fd);
	return err;
}

int fw_net_forwarding(bool on)
{
	int err = write_sysctl("/proc/sys/net/ipv4/ip_forward", on ? "1" : "0");

	/* IPv6 may be absent (ipv6.disable=1): IPv4 forwarding is what counts. */
	write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", on ? "1" : "0");
	return err;
}

/* A router takes no advertisements or redirects (Linux ignores RAs when
 * forwarding anyway, unless accept_ra is 2): said here for every NIC, and
 * for those made later, before any address. */
void fw_net_no_ra(const char *const *ifs, size_t n)
{
	static const char *const keys[] = { "accept_ra", "accept_redirects" };
	char path[96];

	for (size_t k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/all/%s", keys[k]);
		write_sysctl(path, "0");
		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/default/%s", keys[k]);
		write_sysctl(path, "0");
		for (size_t i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", ifs[i], keys[k]);
			write_sysctl(path, "0");
		}
	}
}

int fw_net_prefix(const char *cidr, char *out, size_t len)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned char a[16];
	unsigned long plen;
	int family, max;

	if (vapp_cidr_parse(cidr, &family, a, &plen))
		return -EINVAL;
	max = family == AF_INET ? 32 : 128;
	for (int bit = (int)plen; bit < max; bit++)
		a[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
	inet_ntop(family, a, buf, sizeof(buf));
	return snprintf(out, len, "%s/%lu", buf, plen) < (int)len ? 0 : -EINVAL;
}

bool fw_net_forwarding_on(void)
{
	char buf[8];

	return vapp_read_line("/proc/sys/net/ipv4/ip_forward", buf, sizeof(buf)) == 0 && buf[0] == '1';
}
