/* fuzz_firewall.c - the firewall daemon's readers of untrusted bytes: the
 * nflog packet parser (packets are the guest's), the state file (whatever
 * is on the volume) and DNS answers (the network's). The first input byte
 * picks the reader: odd nflog, 2 mod 4 a DNS answer (to a query with id
 * 0x1234 for "web.test", A then AAAA), else the state file. */
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
	} else if ((data[0] & 3) == 2) {
		struct fw_dns_result r;

		if (fw_dns_answer(copy, size - 1, 0x1234, "web.test", AF_INET, &r) == 0 &&
		    r.n > FW_DNS_MAX_ADDRS)
			abort();
		if (fw_dns_answer(copy, size - 1, 0x1234, "web.test", AF_INET6, &r) == 0 &&
		    r.n > FW_DNS_MAX_ADDRS)
			abort();
	} else if (fw_store_parse(copy, size - 1, &rs, why, sizeof(why)) == 0) {
		fw_ruleset_fini(&rs);
	}
	free(copy);
	return 0;
}
