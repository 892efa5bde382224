/* fuzz_usb_rules.c - libFuzzer: a device rules file, as an administrator's
 * typo or a hostile image folder could hold it. A bad file says where and
 * keeps nothing; a good one gives rules whose names and matches are all
 * well-formed. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "usbd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct usb_rules r;
	static const struct usb_dev d = { .busid = "1-2", .vendor = 0x0781, .product = 0x5567,
					  .if_classes = { 8 }, .n_if = 1 };
	char why[256];
	int err, rule;

	r.n = -1;
	err = usb_rules_parse((const char *)data, size, "f", &r, why, sizeof(why));
	if (err) {
		if (err != -EINVAL || r.n != -1 || strncmp(why, "f:", 2))
			abort();
		return 0;
	}
	if (r.n < 0 || r.n > USB_RULES_MAX)
		abort();
	for (int i = 0; i < r.n; i++)
		if (!r.r[i].guest[0] || (r.r[i].match == MATCH_BUSID && !usb_busid_ok(r.r[i].busid)))
			abort();
	usb_rules_allow(&r, "bob", &d, &rule);
	if (rule < 0 || rule > r.n)
		abort();
	return 0;
}
