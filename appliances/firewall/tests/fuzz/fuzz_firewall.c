/* fuzz_firewall.c - the firewall daemon's two readers of untrusted bytes:
 * the nflog packet parser (packets are the guest's) and the state file
 * (whatever is on the volume). The first input byte picks the reader. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[FW_REASON_LEN];
	struct fw_ruleset rs;
	struct fw_drop d;
	uint8_t *copy;

	if (size < 1)
		return 0;
	/* An exact-size copy, so ASan sees any read past the end. */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1) {
		fw_nflog_parse(copy, size - 1, &d);
	} else if (fw_store_parse(copy, size - 1, &rs, why, sizeof(why)) == 0) {
		fw_ruleset_fini(&rs);
	}
	free(copy);
	return 0;
}
