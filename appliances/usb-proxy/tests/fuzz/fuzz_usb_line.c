/* fuzz_usb_line.c - libFuzzer: the opening line of a device's data stream
 * as a hostile appliance (or whatever sits on the channel) could send it
 * to a guest. Whatever is taken must be a line of two numbers the guest's
 * kernel may be given, which formats back to the very bytes taken. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "usbip_line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char again[USBIP_LINE_MAX];
	uint32_t devid = 0;
	int speed = 0, n = usbip_line_parse((const char *)data, size, &devid, &speed);

	if (n == -EAGAIN || n == -EINVAL)
		return 0;
	if (n <= 0 || (size_t)n > size || n > USBIP_LINE_MAX)
		abort();
	if (usbip_line_format(devid, speed, again) != n || memcmp(again, data, (size_t)n))
		abort();
	return 0;
}
