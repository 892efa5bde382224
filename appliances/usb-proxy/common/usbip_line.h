/*
 * usbip_line.h - the one line that opens a device's data stream, from the
 * appliance to the guest, before the USB/IP traffic: "DEVID SPEED\n", both
 * decimal, what the guest's vhci-hcd attach wants beside the socket
 * (devid is busnum << 16 | devnum on the appliance's side; speed is the
 * kernel's enum usb_device_speed, 1 low to 6 super-plus). The guest trusts
 * nothing in it: a line that is not exactly that is refused, and the
 * numbers only ever reach the guest kernel's attach file after this check.
 */
#ifndef VAPP_USBIP_LINE_H
#define VAPP_USBIP_LINE_H

#include <stddef.h>
#include <stdint.h>

#define USBIP_LINE_MAX 24 /* "4294967295 6\n" with room to spare */

/** Writes the line for @p devid and @p speed into @p out (USBIP_LINE_MAX).
 * @return its length, or -EINVAL for numbers the guest would refuse. */
int usbip_line_format(uint32_t devid, int speed, char *out);

/** Reads the line from the first @p len bytes of @p buf.
 * @return the bytes it took (the USB/IP stream starts after them),
 *         -EAGAIN when no newline came yet and there is still room for one,
 *         -EINVAL for anything that is not a line of two valid numbers. */
int usbip_line_parse(const char *buf, size_t len, uint32_t *devid, int *speed);

/** The kernel's speed number for sysfs's speed file ("480" ...), 0 if none. */
int usbip_speed_of(const char *sysfs_speed);

#endif
