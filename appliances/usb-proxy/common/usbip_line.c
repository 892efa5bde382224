/*
 * usbip_line.c - the data stream's opening line (usbip_line.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "usbip_line.h"

static int devid_ok(uint32_t devid)
{
	uint32_t bus = devid >> 16, dev = devid & 0xffff;

	/* USB addresses are 1-127; bus numbers are the kernel's, small. */
	return bus >= 1 && bus <= 255 && dev >= 1 && dev <= 127;
}

int usbip_line_format(uint32_t devid, int speed, char *out)
{
	if (!devid_ok(devid) || speed < 1 || speed > 6)
		return -EINVAL;
	return snprintf(out, USBIP_LINE_MAX, "%u %d\n", devid, speed);
}

/* A decimal number of at most 10 digits, no sign, no leading zero. */
static int number(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	if (s == end || *s < '0' || *s > '9' || (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9'))
		return -1;
	while (s < end && *s >= '0' && *s <= '9') {
		if (s - *p == 10)
			return -1;
		*v = *v * 10 + (uint64_t)(*s++ - '0');
	}
	*p = s;
	return 0;
}

int usbip_line_parse(const char *buf, size_t len, uint32_t *devid, int *speed)
{
	const char *nl = memchr(buf, '\n', len < USBIP_LINE_MAX ? len : USBIP_LINE_MAX);
	const char *p = buf;
	uint64_t d, s;

	if (!nl)
		return len < USBIP_LINE_MAX ? -EAGAIN : -EINVAL;
	if (number(&p, nl, &d) || p == nl || *p++ != ' ' || number(&p, nl, &s) || p != nl)
		return -EINVAL;
	if (d > UINT32_MAX || !devid_ok((uint32_t)d) || s < 1 || s > 6)
		return -EINVAL;
	*devid = (uint32_t)d;
	*speed = (int)s;
	return (int)(nl - buf + 1);
}

int usbip_speed_of(const char *v)
{
	static const struct { const char *s; int n; } t[] = {
		{ "1.5", 1 }, { "12", 2 }, { "480", 3 }, { "53.3", 4 },
		{ "5000", 5 }, { "10000", 6 }, { "20000", 6 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(v, t[i].s))
			return t[i].n;
	return 0;
}
