/* fuzz_voip_ctl.c - libFuzzer: what the SIP stack sends vapp-voipd (baresip's
 * ctrl_tcp: netstrings of JSON), fed in pieces sized by the data itself;
 * every message found is parsed. Nothing may crash, leak or read past. */
#include <stdint.h>
#include <stdlib.h>

#include "voip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse(void *ud, const char *msg, size_t len)
{
	struct bs_msg m;

	if (bs_parse(msg, len, &m) == 0 && m.event && !m.type[0])
		abort(); /* an event always has its type */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ns_reader r = { 0 };
	size_t off = 0;

	while (off < size) {
		size_t n = 1 + data[off] % 64;

		if (n > size - off)
			n = size - off;
		if (ns_feed(&r, (const char *)data + off, n, parse, NULL))
			break;
		off += n;
	}
	ns_reset(&r);
	return 0;
}
