/*
 * netif.c - an appliance's NICs from inside it: found by name or by MAC
 * (virtio probe order need not follow the command line's), brought up and
 * addressed with the classic ioctls (IPv4; IPv6 gets its link-local address
 * by itself), and the default route.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vapp_util.h"

static bool is_mac(const char *s)
{
	unsigned b[6];
	char end;

	return strlen(s) == 17 &&
	       sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		      &end) == 6;
}

int vapp_netif_find(const char *spec, char *ifname, size_t len)
{
	char path[300], addr[32];
	struct dirent *e;
	DIR *d;

	if (!is_mac(spec)) {
		if (strlen(spec) >= IF_NAMESIZE || !if_nametoindex(spec))
			return -ENODEV;
		snprintf(ifname, len, "%s", spec);
		return 0;
	}
	d = opendir("/sys/class/net");
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= IF_NAMESIZE)
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/address", e->d_name);
		if (vapp_read_line(path, addr, sizeof(addr)) == 0 && !strcasecmp(addr, spec)) {
			snprintf(ifname, len, "%s", e->d_name);
			closedir(d);
			return 0;
		}
	}
	closedir(d);
	return -ENODEV;
}

int vapp_netif_wait(const char *spec, char *ifname, size_t len, int timeout_ms)
{
	for (int waited = 0;; waited += 50) {
		int err = vapp_netif_find(spec, ifname, len);

		if (!err || waited >= timeout_ms)
			return err;
		usleep(50 * 1000);
	}
}

/* @p req on a datagram socket of @p family (interfaces, addresses and
 * routes are set through one). @return 0 or -errno. */
static int sock_ioctl(int family, unsigned long req, void *arg)
{
	int s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, req, arg) < 0)
		err = -errno;
	close(s);
	return err;
}

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	return sock_ioctl(AF_INET, req, ifr);
}

static void set_sin(struct sockaddr *sa, struct in_addr a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = a };

	memcpy(sa, &sin, sizeof(sin));
}

int vapp_cidr_parse(const char *cidr, int *family_out, void *addr, unsigned long *plen)
{
	int family = strchr(cidr, ':') ? AF_INET6 : AF_INET;
	unsigned long max = family == AF_INET ? 32 : 128;
	char buf[INET6_ADDRSTRLEN + 8], *slash;

	*family_out = family;
	*plen = max;
	if (strlen(cidr) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, cidr);
	if ((slash = strchr(buf, '/'))) {
		char *end;

		*slash = '\0';
		*plen = strtoul(slash + 1, &end, 10);
		if (end == slash + 1 || *end)
			return -EINVAL;
	}
	return inet_pton(family, buf, addr) == 1 && *plen <= max ? 0 : -EINVAL;
}

/* The kernel's struct in6_ifreq (linux/ipv6.h, which clashes with glibc's
 * netinet/in.h): SIOCSIFADDR on an AF_INET6 socket takes it. */
struct vapp_in6_ifreq {
	struct in6_addr addr;
	uint32_t prefixlen;
	int ifindex;
};

static int write_proc(const char *path, const char *val)
{
	FILE *f = fopen(path, "we");
	int err = 0;

	if (!f)
		return -errno;
	if (fputs(val, f) < 0)
		err = -EIO;
	if (fclose(f) != 0 && !err)
		err = -errno;
	return err;
}

/* An IPv6 address, usable at once: duplicate address detection is off on
 * this link (the appliance's NICs are its own, point to point), so the
 * address is never "tentative" for the first second. */
static int add_addr6(const char *ifname, const struct in6_addr *a, unsigned long plen)
{
	struct vapp_in6_ifreq r = { .addr = *a, .prefixlen = (uint32_t)plen };
	char path[96];
	int err;

	r.ifindex = (int)if_nametoindex(ifname);
	if (!r.ifindex)
		return -ENODEV;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/accept_dad", ifname);
	write_proc(path, "0");
	err = sock_ioctl(AF_INET6, SIOCSIFADDR, &r);
	return err == -EEXIST ? 0 : err;
}

int vapp_netif_up(const char *ifname, const char *cidr)
{
	struct ifreq ifr = { 0 };
	struct in_addr a, mask;
	struct in6_addr a6;
	unsigned long plen;
	int err, family = 0;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (cidr && vapp_cidr_parse(cidr, &family, &a6, &plen))
		return -EINVAL;
	if (family == AF_INET) {
		memcpy(&a, &a6, sizeof(a));
		mask.s_addr = plen ? htonl(~0u << (32 - plen)) : 0;
		set_sin(&ifr.ifr_addr, a);
		if ((err = ifreq_ioctl(SIOCSIFADDR, &ifr)))
			return err;
		set_sin(&ifr.ifr_netmask, mask);
		if ((err = ifreq_ioctl(SIOCSIFNETMASK, &ifr)))
			return err;
	}
	if ((err = ifreq_ioctl(SIOCGIFFLAGS, &ifr)))
		return err;
	ifr.ifr_flags |= IFF_UP;
	if ((err = ifreq_ioctl(SIOCSIFFLAGS, &ifr)))
		return err;
	/* After up: an interface that is down has no IPv6 addresses. */
	return family == AF_INET6 ? add_addr6(ifname, &a6, plen) : 0;
}

static int route_default6(const char *gateway)
{
	struct in6_rtmsg rt = { 0 };
	int err;

	if (inet_pton(AF_INET6, gateway, &rt.rtmsg_gateway) != 1)
		return -EINVAL;
	rt.rtmsg_flags = RTF_UP | RTF_GATEWAY;
	rt.rtmsg_metric = 1;
	err = sock_ioctl(AF_INET6, SIOCADDRT, &rt);
	return err == -EEXIST ? 0 : err;
}

int vapp_route_default(const char *gateway)
{
	struct rtentry rt = { 0 };
	struct in_addr gw, any = { 0 };
	int err;

	if (strchr(gateway, ':'))
		return route_default6(gateway);
	if (inet_pton(AF_INET, gateway, &gw) != 1)
		return -EINVAL;
	set_sin(&rt.rt_dst, any);
	set_sin(&rt.rt_genmask, any);
	set_sin(&rt.rt_gateway, gw);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	err = sock_ioctl(AF_INET, SIOCADDRT, &rt);
	return err == -EEXIST ? 0 : err;
}
